"""Mistakes and correct styles for 02_xor."""

# The two tests that train ten seeds; every other mutant runs every fast test.
SLOW = ["test_xor_is_separable_with_a_hidden_nonlinearity", "test_linear_net_cannot_solve_xor"]

MUTANTS = [
    {"name": "linear net for every activation", "fails": "test_activation_makes_the_difference", "says": "behaves like a linear function", "code": '''
def make_xor_net(hidden=8, activation="tanh"):
    return nn.Sequential(nn.Linear(2, hidden), nn.Linear(hidden, 1))
'''},
    {"name": "collapse without the first bias", "fails": "test_collapse_linear", "says": "b = W2 @ b1 + b2", "code": '''
def collapse_linear(W1, b1, W2, b2):
    return W2 @ W1, b2
'''},
    {"name": "collapse in the wrong order", "fails": "test_collapse_linear", "says": "not W1 @ W2", "code": '''
def collapse_linear(W1, b1, W2, b2):
    return W1 @ W2, W2 @ b1 + b2
'''},
    {"name": "accuracy counts predictions instead of correct ones", "fails": "test_xor_accuracy", "says": "count predictions that equal the target", "code": '''
@torch.no_grad()
def xor_accuracy(model):
    return (model(XOR_X) > 0).float().mean().item()
'''},
    {"name": "training that never steps", "fails": "test_train_xor_follows_adam_on_bce", "says": "did not change the parameters", "code": '''
def train_xor(model, epochs=1000, lr=0.05):
    criterion = nn.BCEWithLogitsLoss()
    losses = []
    for _ in range(epochs):
        loss = criterion(model(XOR_X), XOR_Y)
        loss.backward()
        losses.append(loss.item())
    return losses
'''},
    {"name": "training without zero_grad", "fails": "test_train_xor_follows_adam_on_bce", "says": "add up across epochs", "code": '''
def train_xor(model, epochs=1000, lr=0.05):
    criterion = nn.BCEWithLogitsLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(epochs):
        loss = criterion(model(XOR_X), XOR_Y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
'''},
    {"name": "sigmoid before BCEWithLogitsLoss", "fails": "test_train_xor_follows_adam_on_bce", "says": "no sigmoid before it", "code": '''
def train_xor(model, epochs=1000, lr=0.05):
    criterion = nn.BCEWithLogitsLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = criterion(torch.sigmoid(model(XOR_X)), XOR_Y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
'''},
    {"name": 'Adam created inside the loop', "fails": 'test_train_xor_follows_adam_on_bce', "says": 'a new Adam every epoch', "code": '''
def train_xor(model, epochs=1000, lr=0.05):
    criterion = nn.BCEWithLogitsLoss()
    losses = []
    for _ in range(epochs):
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        optimizer.zero_grad()
        loss = criterion(model(XOR_X), XOR_Y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
'''},
    {"name": 'zero_grad between backward and step', "fails": 'test_train_xor_follows_adam_on_bce', "says": 'gradients were empty', "code": '''
def train_xor(model, epochs=1000, lr=0.05):
    criterion = nn.BCEWithLogitsLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(epochs):
        loss = criterion(model(XOR_X), XOR_Y)
        loss.backward()
        optimizer.zero_grad()
        optimizer.step()
        losses.append(loss.item())
    return losses
'''},
    {"name": 'Adam with its default lr instead of the argument', "fails": 'test_train_xor_follows_adam_on_bce', "says": 'not with the lr argument', "code": '''
def train_xor(model, epochs=1000, lr=0.05):
    criterion = nn.BCEWithLogitsLoss()
    optimizer = torch.optim.Adam(model.parameters())
    losses = []
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = criterion(model(XOR_X), XOR_Y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
'''},
    {"name": 'SGD instead of Adam', "fails": 'test_train_xor_follows_adam_on_bce', "says": 'steps a SGD', "code": '''
def train_xor(model, epochs=1000, lr=0.05):
    criterion = nn.BCEWithLogitsLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = criterion(model(XOR_X), XOR_Y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
'''},
    {"name": 'losses kept as tensors', "fails": 'test_train_xor_follows_adam_on_bce', "says": 'as Python floats (loss.item())', "code": '''
def train_xor(model, epochs=1000, lr=0.05):
    criterion = nn.BCEWithLogitsLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = criterion(model(XOR_X), XOR_Y)
        loss.backward()
        optimizer.step()
        losses.append(loss)
    return losses
'''},
    {"name": 'MSELoss instead of BCEWithLogitsLoss', "fails": 'test_train_xor_follows_adam_on_bce', "says": 'not MSELoss', "code": '''
def train_xor(model, epochs=1000, lr=0.05):
    criterion = nn.MSELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = criterion(model(XOR_X), XOR_Y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
'''},
    {"name": 'optimizer.step() once after the loop', "fails": 'test_train_xor_follows_adam_on_bce', "says": 'step once per epoch', "code": '''
def train_xor(model, epochs=1000, lr=0.05):
    criterion = nn.BCEWithLogitsLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = criterion(model(XOR_X), XOR_Y)
        loss.backward()
        losses.append(loss.item())
    optimizer.step()
    return losses
'''},
    {"name": 'sigmoid at the output of the net', "fails": 'test_make_xor_net_shapes', "says": 'does not return raw logits', "code": '''
def make_xor_net(hidden=8, activation="tanh"):
    middle = [_ACTIVATIONS[activation]()] if activation else []
    return nn.Sequential(nn.Linear(2, hidden), *middle, nn.Linear(hidden, 1), nn.Sigmoid())
'''},
    {"name": 'make_xor_net ignores hidden', "fails": 'test_make_xor_net_shapes', "says": 'ignores `hidden`', "code": '''
def make_xor_net(hidden=8, activation="tanh"):
    middle = [_ACTIVATIONS[activation]()] if activation else []
    return nn.Sequential(nn.Linear(2, 8), *middle, nn.Linear(8, 1))
'''},
    {"name": 'activation=None falls back to tanh', "fails": 'test_activation_makes_the_difference', "says": 'must be purely linear', "code": '''
def make_xor_net(hidden=8, activation="tanh"):
    act = _ACTIVATIONS.get(activation, nn.Tanh)
    return nn.Sequential(nn.Linear(2, hidden), act(), nn.Linear(hidden, 1))
'''},
    {"name": 'collapse with both matrices transposed', "fails": 'test_collapse_linear', "says": 'W must be (out, in)', "code": '''
def collapse_linear(W1, b1, W2, b2):
    return W1.T @ W2.T, W2 @ b1 + b2
'''},
    {"name": 'accuracy with logit >= 0', "fails": 'test_xor_accuracy', "says": 'not >= 0', "code": '''
@torch.no_grad()
def xor_accuracy(model):
    return ((model(XOR_X) >= 0).float() == XOR_Y).float().mean().item()
'''},
    {"name": 'accuracy as a percentage', "fails": 'test_xor_accuracy', "says": 'not a percentage', "code": '''
@torch.no_grad()
def xor_accuracy(model):
    return 100 * ((model(XOR_X) > 0).float() == XOR_Y).float().mean().item()
'''},
    {"name": 'accuracy as the count of correct points', "fails": 'test_xor_accuracy', "says": 'divide it by 4', "code": '''
@torch.no_grad()
def xor_accuracy(model):
    return ((model(XOR_X) > 0).float() == XOR_Y).float().sum().item()
'''},
]

CORRECT = [
    {"name": "custom Module with functional activations", "code": '''
class _XorNet(nn.Module):
    def __init__(self, hidden, activation):
        super().__init__()
        self.fc1 = nn.Linear(2, hidden)
        self.fc2 = nn.Linear(hidden, 1)
        self.act = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid, None: lambda t: t}[activation]

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


def make_xor_net(hidden=8, activation="tanh"):
    return _XorNet(hidden, activation)
'''},
    {"name": "accuracy with sum over correct / len", "tests": ["test_xor_accuracy"], "code": '''
def xor_accuracy(model):
    with torch.no_grad():
        preds = (model(XOR_X) > 0).float()
    return float((preds == XOR_Y).sum().item() / len(XOR_Y))
'''},
    {"name": "train_xor with a closure passed to step() and model.zero_grad()", "tests": ["test_train_xor_follows_adam_on_bce"], "code": '''
def train_xor(model, epochs=1000, lr=0.05):
    criterion = nn.BCEWithLogitsLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []

    def closure():
        model.zero_grad()
        loss = criterion(model(XOR_X), XOR_Y)
        loss.backward()
        losses.append(loss.item())
        return loss

    for _ in range(epochs):
        optimizer.step(closure)
    return losses
'''},
    {"name": "identity for no activation, zero_grad(set_to_none=False)", "code": '''
def make_xor_net(hidden=8, activation="tanh"):
    act = {"relu": nn.ReLU(), "tanh": nn.Tanh(), "sigmoid": nn.Sigmoid(), None: nn.Identity()}[activation]
    return nn.Sequential(nn.Linear(2, hidden), act, nn.Linear(hidden, 1))

def train_xor(model, epochs=1000, lr=0.05):
    loss_fn = nn.BCEWithLogitsLoss()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    for epoch in range(epochs):
        opt.zero_grad(set_to_none=False)
        out = model(XOR_X)
        loss = loss_fn(out, XOR_Y)
        history.append(float(loss))
        loss.backward()
        opt.step()
    return history
'''},
]
