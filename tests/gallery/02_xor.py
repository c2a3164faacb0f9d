"""Mistakes and correct styles for 02_xor."""

MUTANTS = [
    {"name": "linear net for every activation", "fails": "test_activation_makes_the_difference", "says": "behaves like a linear function", "code": '''
def make_xor_net(hidden=8, activation="tanh"):
    return nn.Sequential(nn.Linear(2, hidden), nn.Linear(hidden, 1))
'''},
    {"name": "collapse without the first bias", "fails": "test_collapse_linear", "says": "b = W2 @ b1 + b2", "code": '''
def collapse_linear(W1, b1, W2, b2):
    return W2 @ W1, b2
'''},
    {"name": "collapse in the wrong order", "fails": "test_collapse_linear", "says": "W2 @ W1", "code": '''
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
    {"name": "training without zero_grad", "fails": "test_train_xor_follows_adam_on_bce", "says": "zero_grad", "code": '''
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
]
