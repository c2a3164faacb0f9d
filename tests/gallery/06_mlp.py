"""Mistake gallery for 06_mlp: broken MLPs that must fail, correct styles that must pass.

Each `code` is appended to a copy of solutions/06_mlp/mlp.py (which imports torch, nn, Sequence).
"""

ARCHITECTURE_TESTS = [
    "test_output_shape_for_images_and_vectors", "test_default_parameter_count", "test_default_arguments",
    "test_hidden_sizes_and_input_size_shape_the_network", "test_num_classes",
    "test_count_parameters", "test_dropout_in_training_mode", "test_no_dropout_in_eval_mode",
    "test_outputs_are_raw_logits", "test_hidden_layers_use_relu",
    "test_forward_runs_linear_relu_dropout_per_hidden_layer",
]
TRACE = "test_forward_runs_linear_relu_dropout_per_hidden_layer"

SLOW = ['test_mnist_accuracy']  # tests a mutant runs only when its `fails` names them

MUTANTS = [
    {"name": "dropout missing", "fails": "test_dropout_in_training_mode", "also_fails": [TRACE], "says": "no dropout is active",
     "code": '''
class MLP(nn.Module):
    def __init__(self, input_size=784, hidden_sizes=(128, 64), num_classes=10, dropout=0.2):
        super().__init__()
        layers, width = [], input_size
        for h in hidden_sizes:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        self.net = nn.Sequential(*layers, nn.Linear(width, num_classes))

    def forward(self, x):
        return self.net(x.view(x.size(0), -1))
'''},
    {"name": "dropout always on (F.dropout with training=True)", "fails": "test_no_dropout_in_eval_mode",
     "says": "dropout is still active", "code": '''
import torch.nn.functional as F

class MLP(nn.Module):
    def __init__(self, input_size=784, hidden_sizes=(128, 64), num_classes=10, dropout=0.2):
        super().__init__()
        widths = [input_size, *hidden_sizes]
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:]))
        self.out = nn.Linear(widths[-1], num_classes)
        self.p = dropout

    def forward(self, x):
        x = x.view(x.size(0), -1)
        for layer in self.hidden:
            x = F.dropout(F.relu(layer(x)), self.p, training=True)
        return self.out(x)
'''},
    {"name": "dropout argument ignored (always 0.2)", "fails": "test_dropout_in_training_mode",
     "says": "must set the dropout probability", "code": '''
class MLP(nn.Module):
    def __init__(self, input_size=784, hidden_sizes=(128, 64), num_classes=10, dropout=0.2):
        super().__init__()
        layers, width = [], input_size
        for h in hidden_sizes:
            layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(0.2)]
            width = h
        self.net = nn.Sequential(*layers, nn.Linear(width, num_classes))

    def forward(self, x):
        return self.net(x.flatten(1))
'''},
    {"name": "ReLU after the output layer", "fails": "test_outputs_are_raw_logits", "says": "follows the last Linear",
     "code": '''
_Reference = MLP

class MLP(_Reference):
    def forward(self, x):
        return torch.relu(super().forward(x))
'''},
    {"name": "softmax at the output", "fails": "test_outputs_are_raw_logits", "says": "there is a softmax at the output",
     "code": '''
_Reference = MLP

class MLP(_Reference):
    def forward(self, x):
        return torch.softmax(super().forward(x), dim=1)
'''},
    {"name": "no hidden ReLU (the MLP collapses to one linear map)", "fails": "test_hidden_layers_use_relu",
     "also_fails": [TRACE],
     "says": "linear function", "code": '''
class MLP(nn.Module):
    def __init__(self, input_size=784, hidden_sizes=(128, 64), num_classes=10, dropout=0.2):
        super().__init__()
        layers, width = [], input_size
        for h in hidden_sizes:
            layers += [nn.Linear(width, h), nn.Dropout(dropout)]
            width = h
        self.net = nn.Sequential(*layers, nn.Linear(width, num_classes))

    def forward(self, x):
        return self.net(x.flatten(1))
'''},
    {"name": "sigmoid instead of ReLU in the hidden layers", "fails": "test_hidden_layers_use_relu",
     "also_fails": [TRACE],
     "says": "the hidden activation is not ReLU", "code": '''
class MLP(nn.Module):
    def __init__(self, input_size=784, hidden_sizes=(128, 64), num_classes=10, dropout=0.2):
        super().__init__()
        layers, width = [], input_size
        for h in hidden_sizes:
            layers += [nn.Linear(width, h), nn.Sigmoid(), nn.Dropout(dropout)]
            width = h
        self.net = nn.Sequential(*layers, nn.Linear(width, num_classes))

    def forward(self, x):
        return self.net(x.flatten(1))
'''},
    {"name": "hidden_sizes ignored (always 128, 64)", "fails": "test_hidden_sizes_and_input_size_shape_the_network",
     "says": "per entry of hidden_sizes", "code": '''
class MLP(nn.Module):
    def __init__(self, input_size=784, hidden_sizes=(128, 64), num_classes=10, dropout=0.2):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(input_size, 128), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(128, 64), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(64, num_classes))

    def forward(self, x):
        return self.net(x.flatten(1))
'''},
    {"name": "num_classes ignored (always 10)", "fails": "test_num_classes", "says": "num_classes outputs",
     "code": '''
_Reference = MLP

class MLP(_Reference):
    def __init__(self, input_size=784, hidden_sizes=(128, 64), num_classes=10, dropout=0.2):
        super().__init__(input_size, hidden_sizes, 10, dropout)
'''},
    {"name": "images not flattened", "fails": "test_output_shape_for_images_and_vectors",
     "says": "works on flat (N, 784) input but fails on images",
     "code": '''
_Reference = MLP

class MLP(_Reference):
    def forward(self, x):
        return self.layers(x)
'''},
    {"name": "flattening the batch away (x.flatten())", "fails": "test_output_shape_for_images_and_vectors",
     "says": "merge the whole batch", "code": '''
_Reference = MLP

class MLP(_Reference):
    def forward(self, x):
        return self.layers(x.flatten())
'''},
    {"name": "layers in a plain Python list", "fails": "test_default_parameter_count", "says": "plain Python list",
     "also_fails": ["test_output_shape_for_images_and_vectors", "test_count_parameters"],
     "code": '''
class MLP(nn.Module):
    def __init__(self, input_size=784, hidden_sizes=(128, 64), num_classes=10, dropout=0.2):
        super().__init__()
        self.layers, width = [], input_size
        for h in hidden_sizes:
            self.layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(dropout)]
            width = h
        self.layers.append(nn.Linear(width, num_classes))

    def forward(self, x):
        x = x.flatten(1)
        for layer in self.layers:
            x = layer(x)
        return x
'''},
    {"name": "count_parameters counts weights only", "fails": "test_count_parameters", "says": "count only the weights",
     "code": '''
def count_parameters(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad and p.dim() > 1)
'''},
    {"name": "count_parameters counts frozen parameters", "fails": "test_count_parameters", "says": "count frozen parameters too",
     "code": '''
def count_parameters(model):
    return sum(p.numel() for p in model.parameters())
'''},
    {"name": "count_parameters counts the state_dict (buffers too)", "fails": "test_count_parameters",
     "says": "also holds buffers", "code": '''
def count_parameters(model):
    return sum(t.numel() for t in model.state_dict().values())
'''},
    {"name": "count_parameters counts tensors, not numbers", "fails": "test_count_parameters", "says": "count parameter tensors",
     "code": '''
def count_parameters(model):
    return len([p for p in model.parameters() if p.requires_grad])
'''},
    {"name": "count_parameters returns a tensor", "fails": "test_count_parameters", "says": "count_parameters returned Tensor",
     "code": '''
def count_parameters(model):
    return sum(torch.tensor(p.numel()) for p in model.parameters() if p.requires_grad)
'''},
    {"name": "F.dropout(x, p) without training=self.training (dropout on in eval mode)",
     "fails": "test_no_dropout_in_eval_mode", "says": "dropout is still active", "code": '''
import torch.nn.functional as F

class MLP(nn.Module):
    def __init__(self, input_size=784, hidden_sizes=(128, 64), num_classes=10, dropout=0.2):
        super().__init__()
        widths = [input_size, *hidden_sizes]
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:]))
        self.out = nn.Linear(widths[-1], num_classes)
        self.p = dropout

    def forward(self, x):
        x = x.view(x.size(0), -1)
        for layer in self.hidden:
            x = F.dropout(F.relu(layer(x)), self.p)
        return self.out(x)
'''},
    {"name": "log_softmax at the output", "fails": "test_outputs_are_raw_logits",
     "says": "something after the last Linear changes its values", "code": '''
_Reference = MLP

class MLP(_Reference):
    def forward(self, x):
        return torch.log_softmax(super().forward(x), dim=1)
'''},
    {"name": "tanh instead of ReLU in the hidden layers", "fails": "test_hidden_layers_use_relu",
     "also_fails": [TRACE],
     "says": "the hidden activation is not ReLU", "code": '''
class MLP(nn.Module):
    def __init__(self, input_size=784, hidden_sizes=(128, 64), num_classes=10, dropout=0.2):
        super().__init__()
        layers, width = [], input_size
        for h in hidden_sizes:
            layers += [nn.Linear(width, h), nn.Tanh(), nn.Dropout(dropout)]
            width = h
        self.net = nn.Sequential(*layers, nn.Linear(width, num_classes))

    def forward(self, x):
        return self.net(x.view(x.size(0), -1))
'''},
    {"name": "output layer without a bias", "fails": "test_default_parameter_count",
     "also_fails": ["test_num_classes", "test_outputs_are_raw_logits"],
     "says": "each with a bias", "code": '''
class MLP(nn.Module):
    def __init__(self, input_size=784, hidden_sizes=(128, 64), num_classes=10, dropout=0.2):
        super().__init__()
        layers, width = [], input_size
        for h in hidden_sizes:
            layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(dropout)]
            width = h
        self.net = nn.Sequential(*layers, nn.Linear(width, num_classes, bias=False))

    def forward(self, x):
        return self.net(x.view(x.size(0), -1))
'''},
    {"name": "no ReLU after the last hidden Linear", "fails": TRACE,
     "says": "after the 2nd hidden Linear no rectifier runs", "code": '''
class MLP(nn.Module):
    def __init__(self, input_size=784, hidden_sizes=(128, 64), num_classes=10, dropout=0.2):
        super().__init__()
        layers, width = [], input_size
        for i, h in enumerate(hidden_sizes):
            last = i == len(hidden_sizes) - 1
            layers += [nn.Linear(width, h)] + ([] if last else [nn.ReLU()]) + [nn.Dropout(dropout)]
            width = h
        self.net = nn.Sequential(*layers, nn.Linear(width, num_classes))

    def forward(self, x):
        return self.net(x.flatten(1))
'''},
    {"name": "an extra Dropout on the input", "fails": TRACE,
     "says": "dropout runs on the input, before the first Linear", "code": '''
_Reference = MLP

class MLP(_Reference):
    def __init__(self, input_size=784, hidden_sizes=(128, 64), num_classes=10, dropout=0.2):
        super().__init__(input_size, hidden_sizes, num_classes, dropout)
        self.layers = nn.Sequential(nn.Dropout(dropout), *self.layers)
'''},
    {"name": "Dropout(p=1 - dropout)", "fails": TRACE, "also_fails": ["test_dropout_in_training_mode"],
     "says": "multiplies the activations it keeps by 5", "code": '''
_Reference = MLP

class MLP(_Reference):
    def __init__(self, input_size=784, hidden_sizes=(128, 64), num_classes=10, dropout=0.2):
        super().__init__(input_size, hidden_sizes, num_classes, 1 - dropout)
'''},
    {"name": "dropout after the first hidden layer only", "fails": TRACE,
     "says": "no dropout runs after the 2nd hidden Linear", "code": '''
import torch.nn.functional as F

class MLP(nn.Module):
    def __init__(self, input_size=784, hidden_sizes=(128, 64), num_classes=10, dropout=0.2):
        super().__init__()
        widths = [input_size, *hidden_sizes]
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:]))
        self.out = nn.Linear(widths[-1], num_classes)
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        x = x.view(x.size(0), -1)
        for i, layer in enumerate(self.hidden):
            x = F.relu(layer(x))
            if i == 0:
                x = self.drop(x)
        return self.out(x)
'''},

    {"name": "Dropout on the logits too (after the output Linear)", "fails": TRACE,
     "says": "in training mode dropout runs after the last layer", "code": '\nclass MLP(nn.Module):\n    def __init__(self, input_size=784, hidden_sizes=(128, 64), num_classes=10, dropout=0.2):\n        super().__init__()\n        layers, width = [], input_size\n        for h in hidden_sizes:\n            layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(dropout)]\n            width = h\n        self.net = nn.Sequential(*layers, nn.Linear(width, num_classes), nn.Dropout(dropout))\n\n    def forward(self, x):\n        return self.net(x.flatten(1))\n'},
    {"name": "default dropout 0.5", "fails": "test_default_arguments", "also_fails": [TRACE],
     "says": "MLP's default is dropout=0.5; the contract's is dropout=0.2", "code": '\nclass MLP(nn.Module):\n    def __init__(self, input_size=784, hidden_sizes=(128, 64), num_classes=10, dropout=0.5):\n        super().__init__()\n        layers, width = [], input_size\n        for h in hidden_sizes:\n            layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(dropout)]\n            width = h\n        self.net = nn.Sequential(*layers, nn.Linear(width, num_classes))\n\n    def forward(self, x):\n        return self.net(x.flatten(1))\n'},
    {"name": "an extra BatchNorm1d after every hidden Linear", "fails": "test_default_parameter_count",
     "says": "native_batch_norm with parameters of shape (128,), (128,)", "also": ["each with a bias"],
     "code": '\nclass MLP(nn.Module):\n    def __init__(self, input_size=784, hidden_sizes=(128, 64), num_classes=10, dropout=0.2):\n        super().__init__()\n        layers, width = [], input_size\n        for h in hidden_sizes:\n            layers += [nn.Linear(width, h), nn.BatchNorm1d(h), nn.ReLU(), nn.Dropout(dropout)]\n            width = h\n        self.net = nn.Sequential(*layers, nn.Linear(width, num_classes))\n\n    def forward(self, x):\n        return self.net(x.flatten(1))\n'},
    {"name": "the layer loop stops one hidden layer early", "fails": "test_default_parameter_count",
     "says": "no layer with 64 outputs runs", "also": ["each with a bias"], "code": """
class MLP(nn.Module):
    def __init__(self, input_size=784, hidden_sizes=(128, 64), num_classes=10, dropout=0.2):
        super().__init__()
        sizes = [input_size, *hidden_sizes]
        layers = []
        for i in range(len(sizes) - 2):
            layers += [nn.Linear(sizes[i], sizes[i + 1]), nn.ReLU(), nn.Dropout(dropout)]
        self.net = nn.Sequential(*layers, nn.Linear(sizes[-2], num_classes))

    def forward(self, x):
        return self.net(x.view(x.size(0), -1))
"""},
    {"name": "LeakyReLU instead of ReLU", "fails": TRACE, "says": "a LeakyReLU runs where the contract has a ReLU",
     "code": '\nclass MLP(nn.Module):\n    def __init__(self, input_size=784, hidden_sizes=(128, 64), num_classes=10, dropout=0.2):\n        super().__init__()\n        layers, width = [], input_size\n        for h in hidden_sizes:\n            layers += [nn.Linear(width, h), nn.LeakyReLU(), nn.Dropout(dropout)]\n            width = h\n        self.net = nn.Sequential(*layers, nn.Linear(width, num_classes))\n\n    def forward(self, x):\n        return self.net(x.flatten(1))\n'},
    {"name": "ReLU before each Linear instead of after", "fails": TRACE,
     "says": "on the input, before the first Linear a ReLU runs",
     "code": '\nclass MLP(nn.Module):\n    def __init__(self, input_size=784, hidden_sizes=(128, 64), num_classes=10, dropout=0.2):\n        super().__init__()\n        layers, width = [], input_size\n        for h in hidden_sizes:\n            layers += [nn.ReLU(), nn.Linear(width, h), nn.Dropout(dropout)]\n            width = h\n        self.net = nn.Sequential(*layers, nn.Linear(width, num_classes))\n\n    def forward(self, x):\n        return self.net(x.flatten(1))\n'},
    {"name": "forward normalises its input again ((x - 0.1307) / 0.3081)", "fails": TRACE,
     "also_fails": ["test_hidden_layers_use_relu"], "says": "as (x - 0.1307) / 0.3081 does",
     "also": ["the hidden activation is not ReLU"],
     "code": '\nclass MLP(nn.Module):\n    def __init__(self, input_size=784, hidden_sizes=(128, 64), num_classes=10, dropout=0.2):\n        super().__init__()\n        layers, width = [], input_size\n        for h in hidden_sizes:\n            layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(dropout)]\n            width = h\n        self.net = nn.Sequential(*layers, nn.Linear(width, num_classes))\n\n    def forward(self, x):\n        return self.net(((x - 0.1307) / 0.3081).flatten(1))\n'},
    {"name": "inputs scaled by 255 in forward", "fails": TRACE, "also_fails": ["test_hidden_layers_use_relu"],
     "says": "multiplied by 255", "code": '\nclass MLP(nn.Module):\n    def __init__(self, input_size=784, hidden_sizes=(128, 64), num_classes=10, dropout=0.2):\n        super().__init__()\n        layers, width = [], input_size\n        for h in hidden_sizes:\n            layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(dropout)]\n            width = h\n        self.net = nn.Sequential(*layers, nn.Linear(width, num_classes))\n\n    def forward(self, x):\n        return self.net((x * 255).flatten(1))\n'},
]

CORRECT = [
    {"name": "attributes in a ModuleList, F.relu, F.dropout(training=self.training), x.view",
     "tests": ARCHITECTURE_TESTS, "code": '''
import torch.nn.functional as F

class MLP(nn.Module):
    def __init__(self, input_size=784, hidden_sizes=(128, 64), num_classes=10, dropout=0.2):
        super().__init__()
        widths = [input_size, *hidden_sizes]
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:]))
        self.out = nn.Linear(widths[-1], num_classes)
        self.p = dropout

    def forward(self, x):
        x = x.view(x.size(0), -1)
        for layer in self.hidden:
            x = F.dropout(F.relu(layer(x)), self.p, training=self.training)
        return self.out(x)

def count_parameters(model):
    total = 0
    for name, p in model.named_parameters():
        if p.requires_grad:
            total += int(torch.tensor(p.shape).prod())
    return total
'''},
    {"name": "output layer registered first, nn.Flatten inside nn.Sequential, one nn.Dropout module reused",
     "tests": ARCHITECTURE_TESTS, "code": '''
class MLP(nn.Module):
    def __init__(self, input_size=784, hidden_sizes=(128, 64), num_classes=10, dropout=0.2):
        super().__init__()
        self.head = nn.Linear(list(hidden_sizes)[-1] if len(hidden_sizes) else input_size, num_classes)
        self.drop = nn.Dropout(dropout)
        body, width = [nn.Flatten()], input_size
        for h in hidden_sizes:
            body += [nn.Linear(width, h), nn.ReLU(), self.drop]
            width = h
        self.body = nn.Sequential(*body)

    def forward(self, x):
        return self.head(self.body(x))

def count_parameters(model):
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))
'''},
    {"name": "the chapter's fixed two-layer style (fc1/fc2/fc3, x.view(-1, 784)) passes the default-size tests",
     "tests": ["test_output_shape_for_images_and_vectors", "test_default_parameter_count", "test_num_classes",
               "test_dropout_in_training_mode", "test_no_dropout_in_eval_mode", "test_outputs_are_raw_logits",
               "test_hidden_layers_use_relu"], "code": '''
class MLP(nn.Module):
    def __init__(self, input_size=784, hidden_sizes=(128, 64), num_classes=10, dropout=0.2):
        super().__init__()
        self.fc1 = nn.Linear(784, 128)
        self.fc2 = nn.Linear(128, 64)
        self.fc3 = nn.Linear(64, num_classes)
        self.relu = nn.ReLU()
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        x = x.view(-1, 784)
        x = self.dropout(self.relu(self.fc1(x)))
        x = self.dropout(self.relu(self.fc2(x)))
        return self.fc3(x)
'''},
    {"name": "clamp(min=0), where(x > 0, x, 0) and x * (x > 0) as ReLU; Linear -> Dropout -> ReLU; torch.flatten",
     "tests": ARCHITECTURE_TESTS, "code": '''
import torch.nn.functional as F

class MLP(nn.Module):
    def __init__(self, input_size=784, hidden_sizes=(128, 64), num_classes=10, dropout=0.2):
        super().__init__()
        widths = [input_size, *hidden_sizes, num_classes]
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:]))
        self.p = dropout

    def forward(self, x):
        x = torch.flatten(x, 1)
        rectifiers = [lambda v: v.clamp(min=0), lambda v: torch.where(v > 0, v, 0.0), lambda v: v * (v > 0)]
        for i, layer in enumerate(self.linears[:-1]):
            x = F.dropout(layer(x), self.p, training=self.training)
            x = rectifiers[i % 3](x)
        return self.linears[-1](x)
'''},
    {"name": "hand-made layers (x @ w.T + b), a custom rectifier module, in-place nn.ReLU, x.reshape",
     "tests": ARCHITECTURE_TESTS, "code": '''
class Rectifier(nn.Module):
    def forward(self, x):
        return torch.maximum(x, torch.zeros_like(x))

class Dense(nn.Module):
    def __init__(self, a, b):
        super().__init__()
        self.w = nn.Parameter(torch.randn(b, a) / a ** 0.5)
        self.b = nn.Parameter(torch.zeros(b))

    def forward(self, x):
        return x @ self.w.T + self.b

class MLP(nn.Module):
    def __init__(self, input_size=784, hidden_sizes=(128, 64), num_classes=10, dropout=0.2):
        super().__init__()
        layers, width = [], input_size
        for i, h in enumerate(hidden_sizes):
            layers += [Dense(width, h), Rectifier() if i % 2 else nn.ReLU(inplace=True), nn.Dropout(dropout)]
            width = h
        self.net = nn.Sequential(*layers, nn.Linear(width, num_classes))

    def forward(self, x):
        return self.net(x.reshape(x.shape[0], -1))
'''},
]
