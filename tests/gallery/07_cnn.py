"""Mistake gallery for 07_cnn: broken CNNs that must fail, correct styles that must pass.

Each `code` is appended to a copy of solutions/07_cnn/cnn.py (which imports torch and nn).
"""

ARCHITECTURE_TESTS = [
    "test_output_shape", "test_parameter_count", "test_default_arguments", "test_num_classes", "test_dropout_in_training_mode",
    "test_no_dropout_in_eval_mode", "test_outputs_are_raw_logits",
    "test_forward_runs_conv_relu_maxpool_blocks_then_the_classifier",
]
TRACE = "test_forward_runs_conv_relu_maxpool_blocks_then_the_classifier"

# A configurable CNN for the mutants below: every argument is one way of getting it wrong.
_BUILDER = '''
import torch.nn.functional as F

class _Configurable(nn.Module):
    def __init__(self, num_classes=10, dropout=0.25, c1=32, c2=64, kernel=3, padding=1, side=7,
                 out="none", use_dropout=True, dropout_always=False, flatten="batch"):
        super().__init__()
        self.conv1 = nn.Conv2d(1, c1, kernel, padding=padding)
        self.conv2 = nn.Conv2d(c1, c2, kernel, padding=padding)
        self.fc1 = nn.Linear(c2 * side * side, 128)
        self.fc2 = nn.Linear(128, num_classes)
        self.p, self.out, self.use_dropout, self.always, self.how = dropout, out, use_dropout, dropout_always, flatten

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.flatten() if self.how == "all" else x.view(x.size(0), -1)
        x = F.relu(self.fc1(x))
        if self.use_dropout:
            x = F.dropout(x, self.p) if self.always == "default" else F.dropout(
                x, self.p, training=True if self.always else self.training)
        x = self.fc2(x)
        if self.out == "relu":
            x = F.relu(x)
        elif self.out == "softmax":
            x = F.softmax(x, dim=1)
        elif self.out == "log_softmax":
            x = F.log_softmax(x, dim=1)
        return x
'''


def _mutant(**config) -> str:
    args = "".join(f", {k}={v!r}" for k, v in config.items())
    return _BUILDER + f'''
class SimpleCNN(_Configurable):
    def __init__(self, num_classes=10, dropout=0.25):
        super().__init__(num_classes, dropout{args})
'''


SLOW = ['test_mnist_accuracy']  # tests a mutant runs only when its `fails` names them

MUTANTS = [
    {"name": "wrong conv channels (16 and 32)", "fails": "test_parameter_count", "says": "conv 1->16",
     "code": _mutant(c1=16, c2=32)},
    {"name": "1st conv with padding=2 (28 -> 30 -> 15 -> 7 keeps the 3136 features)", "fails": TRACE,
     "says": "turns a 28x28 input into 30x30", "code": _mutant() + '''
class SimpleCNN(SimpleCNN):
    def __init__(self, num_classes=10, dropout=0.25):
        super().__init__(num_classes, dropout)
        self.conv1 = nn.Conv2d(1, 32, kernel_size=3, padding=2)
'''},
    {"name": "no padding, Linear still 3136 inputs", "fails": "test_output_shape", "says": "as with: the 2nd conv 5x5 without padding; or the 1st conv without padding and the 2nd conv without padding",
     "code": _mutant(padding=0)},
    {"name": "no padding, Linear resized to 64*5*5", "fails": "test_parameter_count", "says": "a conv without padding shrinks the image",
     "code": _mutant(padding=0, side=5)},
    {"name": "5x5 kernels", "fails": "test_parameter_count", "says": "(5x5, padding 2)",
     "code": _mutant(kernel=5, padding=2)},
    {"name": "flattening the batch away (x.flatten())", "fails": "test_output_shape", "says": "flattening merged the batch",
     "code": _mutant(flatten="all")},
    {"name": "softmax at the output", "fails": "test_outputs_are_raw_logits", "says": "there is a softmax at the output",
     "code": _mutant(out="softmax")},
    {"name": "ReLU after the output layer", "fails": "test_outputs_are_raw_logits", "says": "follows the last Linear",
     "code": _mutant(out="relu")},
    {"name": "dropout missing", "fails": "test_dropout_in_training_mode", "also_fails": [TRACE], "says": "no dropout is active",
     "code": _mutant(use_dropout=False)},
    {"name": "dropout always on (F.dropout with training=True)", "fails": "test_no_dropout_in_eval_mode",
     "says": "dropout is still active", "code": _mutant(dropout_always=True)},
    {"name": "dropout argument ignored (always 0.25)", "fails": "test_dropout_in_training_mode",
     "says": "must set the dropout probability", "code": _BUILDER + '''
class SimpleCNN(_Configurable):
    def __init__(self, num_classes=10, dropout=0.25):
        super().__init__(num_classes, 0.25)
'''},
    {"name": "num_classes ignored (always 10)", "fails": "test_num_classes", "says": "num_classes outputs",
     "code": _BUILDER + '''
class SimpleCNN(_Configurable):
    def __init__(self, num_classes=10, dropout=0.25):
        super().__init__(10, dropout)
'''},
    {"name": "F.dropout(x, p) without training=self.training (dropout on in eval mode)",
     "fails": "test_no_dropout_in_eval_mode", "says": "dropout is still active", "code": _mutant(dropout_always="default")},
    {"name": "log_softmax at the output", "fails": "test_outputs_are_raw_logits",
     "says": "something after the last Linear changes its values", "code": _mutant(out="log_softmax")},
    {"name": "no max pooling, Linear resized to 64*28*28", "fails": "test_parameter_count",
     "says": "the first Linear takes 50,176 features", "code": '''
class SimpleCNN(nn.Module):
    def __init__(self, num_classes=10, dropout=0.25):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 64, 3, padding=1), nn.ReLU())
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(64 * 28 * 28, 128), nn.ReLU(), nn.Dropout(dropout),
                                        nn.Linear(128, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))
'''},
    {"name": "no ReLU after either convolution", "fails": TRACE,
     "says": "between the 1st and 2nd convolution no rectifier runs", "code": '''
class SimpleCNN(nn.Module):
    def __init__(self, num_classes=10, dropout=0.25):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.MaxPool2d(2),
                                      nn.Conv2d(32, 64, 3, padding=1), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Dropout(dropout),
                                        nn.Linear(128, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))
'''},
    {"name": "nn.AvgPool2d instead of nn.MaxPool2d", "fails": TRACE,
     "says": "2x2 average pooling runs where the contract has max pooling", "code": '''
class SimpleCNN(nn.Module):
    def __init__(self, num_classes=10, dropout=0.25):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),
                                      nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Dropout(dropout),
                                        nn.Linear(128, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))
'''},
    {"name": "dropout on the conv features too (nn.Dropout2d before flattening)", "fails": TRACE,
     "says": "dropout runs between the 2nd convolution and the first Linear, where the contract has no dropout",
     "code": '''
_Reference = SimpleCNN

class SimpleCNN(_Reference):
    def __init__(self, num_classes=10, dropout=0.25):
        super().__init__(num_classes, dropout)
        self.features.append(nn.Dropout2d(dropout))
'''},
    {"name": "MaxPool2d(2, stride=1), Linear still 3136 inputs", "fails": "test_output_shape",
     "says": "the 1st max-pool with stride 1 (MaxPool2d(2, stride=1)) and the 2nd max-pool with stride 1", "code": '''
_Reference = SimpleCNN

class SimpleCNN(_Reference):
    def __init__(self, num_classes=10, dropout=0.25):
        super().__init__(num_classes, dropout)
        self.features[2] = nn.MaxPool2d(2, stride=1)
        self.features[5] = nn.MaxPool2d(2, stride=1)
'''},
    {"name": "the 2nd conv without padding (Conv2d(32, 64, 3)), Linear still 3136 inputs", "fails": "test_output_shape",
     "says": "as with: the 2nd conv without padding; or the 1st conv without padding", "code": '''
_Reference = SimpleCNN

class SimpleCNN(_Reference):
    def __init__(self, num_classes=10, dropout=0.25):
        super().__init__(num_classes, dropout)
        self.features[3] = nn.Conv2d(32, 64, 3)
'''},

    {"name": "Dropout on the conv features, none in the classifier", "fails": TRACE,
     "says": "dropout runs between the 2nd convolution and the first Linear, where the contract has no dropout",
     "code": '\nclass SimpleCNN(nn.Module):\n    def __init__(self, num_classes=10, dropout=0.25):\n        super().__init__()\n        self.features = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(dropout))\n        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, num_classes))\n\n    def forward(self, x):\n        return self.classifier(self.features(x))\n'},
    {"name": "Dropout on the logits", "fails": TRACE,
     "says": "in training mode dropout runs after the last layer",
     "code": '\nclass SimpleCNN(nn.Module):\n    def __init__(self, num_classes=10, dropout=0.25):\n        super().__init__()\n        self.features = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))\n        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Dropout(dropout), nn.Linear(128, num_classes), nn.Dropout(dropout))\n\n    def forward(self, x):\n        return self.classifier(self.features(x))\n'},
    {"name": "default dropout 0.5", "fails": "test_default_arguments", "also_fails": [TRACE],
     "says": "SimpleCNN's default is dropout=0.5; the contract's is dropout=0.25", "code": '\nclass SimpleCNN(nn.Module):\n    def __init__(self, num_classes=10, dropout=0.5):\n        super().__init__()\n        self.features = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))\n        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Dropout(dropout), nn.Linear(128, num_classes))\n\n    def forward(self, x):\n        return self.classifier(self.features(x))\n'},
    {"name": "an extra BatchNorm2d after each convolution", "fails": "test_parameter_count",
     "says": "native_batch_norm with parameters of shape (32,), (32,)",
     "code": '\nclass SimpleCNN(nn.Module):\n    def __init__(self, num_classes=10, dropout=0.25):\n        super().__init__()\n        self.features = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2))\n        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Dropout(dropout), nn.Linear(128, num_classes))\n\n    def forward(self, x):\n        return self.classifier(self.features(x))\n'},
    {"name": "LeakyReLU after the convolutions", "fails": TRACE, "says": "a LeakyReLU runs where the contract has a ReLU",
     "code": '\nclass SimpleCNN(nn.Module):\n    def __init__(self, num_classes=10, dropout=0.25):\n        super().__init__()\n        self.features = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.LeakyReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1), nn.LeakyReLU(), nn.MaxPool2d(2))\n        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Dropout(dropout), nn.Linear(128, num_classes))\n\n    def forward(self, x):\n        return self.classifier(self.features(x))\n'},
    {"name": "no ReLU between the two Linear layers", "fails": TRACE,
     "says": "between the two Linear layers no rectifier runs", "code": '\nclass SimpleCNN(nn.Module):\n    def __init__(self, num_classes=10, dropout=0.25):\n        super().__init__()\n        self.features = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))\n        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(3136, 128), nn.Dropout(dropout), nn.Linear(128, num_classes))\n\n    def forward(self, x):\n        return self.classifier(self.features(x))\n'},
    {"name": "max-pool 3x3, stride 2, padding 1 (same 7x7 shapes)", "fails": TRACE,
     "says": "the pooling is max_pool2d_with_indices(kernel [3, 3], stride [2, 2], padding [1, 1])",
     "code": '\nclass SimpleCNN(nn.Module):\n    def __init__(self, num_classes=10, dropout=0.25):\n        super().__init__()\n        self.features = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, stride=2, padding=1), nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, stride=2, padding=1))\n        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Dropout(dropout), nn.Linear(128, num_classes))\n\n    def forward(self, x):\n        return self.classifier(self.features(x))\n'},
    {"name": "F.max_pool2d(x, 4, 2, 1) (same 7x7 shapes)", "fails": TRACE,
     "says": "the pooling is max_pool2d", "code": _mutant().replace("F.max_pool2d(F.relu(self.conv1(x)), 2)", "F.max_pool2d(F.relu(self.conv1(x)), 4, 2, 1)")},
]

CORRECT = [
    {"name": "the chapter's style: attributes, one nn.ReLU / nn.MaxPool2d / nn.Dropout reused, x.view(-1, 64*7*7)",
     "tests": ARCHITECTURE_TESTS, "code": '''
class SimpleCNN(nn.Module):
    def __init__(self, num_classes=10, dropout=0.25):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, kernel_size=3, padding=1)
        self.pool = nn.MaxPool2d(2, 2)
        self.fc1 = nn.Linear(64 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, num_classes)
        self.relu = nn.ReLU()
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        x = self.pool(self.relu(self.conv1(x)))
        x = self.pool(self.relu(self.conv2(x)))
        x = x.view(-1, 64 * 7 * 7)
        x = self.dropout(self.relu(self.fc1(x)))
        return self.fc2(x)
'''},
    {"name": "functional: F.relu, F.max_pool2d, F.dropout(training=self.training), torch.flatten(x, 1)",
     "tests": ARCHITECTURE_TESTS, "code": '''
import torch.nn.functional as F

class SimpleCNN(nn.Module):
    def __init__(self, num_classes=10, dropout=0.25):
        super().__init__()
        self.head = nn.Linear(128, num_classes)  # registered first on purpose
        self.convs = nn.ModuleList([nn.Conv2d(1, 32, 3, padding=1), nn.Conv2d(32, 64, 3, padding=1)])
        self.hidden = nn.Linear(3136, 128)
        self.p = dropout

    def forward(self, x):
        for conv in self.convs:
            x = F.max_pool2d(F.relu(conv(x)), kernel_size=2)
        x = F.relu(self.hidden(torch.flatten(x, 1)))
        return self.head(F.dropout(x, p=self.p, training=self.training))
'''},
    {"name": "padding='same'", "tests": ARCHITECTURE_TESTS, "code": '''
class SimpleCNN(nn.Module):
    def __init__(self, num_classes=10, dropout=0.25):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding="same"), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding="same"), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Dropout(dropout), nn.Linear(128, num_classes))

    def forward(self, x):
        return self.net(x)
'''},
    {"name": "nn.LazyLinear(128) for the first Linear", "tests": ARCHITECTURE_TESTS, "code": '''
_Reference = SimpleCNN

class SimpleCNN(_Reference):
    def __init__(self, num_classes=10, dropout=0.25):
        super().__init__(num_classes, dropout)
        self.classifier[1] = nn.LazyLinear(128)
'''},
    {"name": "ReLU after the max-pool (in-place), clamp(min=0), a custom rectifier, channels-last flatten",
     "tests": ARCHITECTURE_TESTS, "code": '''
import torch.nn.functional as F

class Rectifier(nn.Module):
    def forward(self, x):
        return F.threshold(x, 0.0, 0.0)

class SimpleCNN(nn.Module):
    def __init__(self, num_classes=10, dropout=0.25):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 32, 3, padding=1), nn.Conv2d(32, 64, 3, padding=1)
        self.fc1, self.fc2 = nn.Linear(3136, 128), nn.Linear(128, num_classes)
        self.pool, self.act, self.drop = nn.MaxPool2d(kernel_size=2, stride=2), Rectifier(), nn.Dropout(p=dropout)

    def forward(self, x):
        x = F.relu(self.pool(self.conv1(x)), inplace=True)
        x = self.pool(self.conv2(x).clamp(min=0))
        x = x.permute(0, 2, 3, 1).reshape(x.size(0), -1)
        return self.fc2(self.drop(self.act(self.fc1(x))))
'''},
]
