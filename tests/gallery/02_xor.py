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
    {"name": "collapse in the wrong order", "fails": "test_collapse_linear", "says": "the product in the wrong order", "code": '''
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
    {"name": 'zero_grad between backward and step', "fails": 'test_train_xor_follows_adam_on_bce', "says": "they were cleared (zero_grad()) between backward() and step()", "code": '''
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
    {"name": "accuracy thresholding the logits at 0.5", "fails": "test_xor_accuracy", "says": "thresholds the logits at 0.5",
     "code": '''
@torch.no_grad()
def xor_accuracy(model):
    return ((model(XOR_X) > 0.5).float() == XOR_Y).float().mean().item()
'''},
    {"name": "accuracy with sigmoid applied to a probability", "fails": "test_xor_accuracy",
     "says": "predicting the same class for every point", "code": '''
@torch.no_grad()
def xor_accuracy(model):
    probs = torch.sigmoid(model(XOR_X))
    return ((torch.sigmoid(probs) > 0.5).float() == XOR_Y).float().mean().item()
'''},
    {"name": "accuracy comparing (4, 1) predictions with (4,) targets", "fails": "test_xor_accuracy",
     "says": "compared tensors whose shapes broadcast", "code": '''
@torch.no_grad()
def xor_accuracy(model):
    return ((model(XOR_X) > 0).float() == XOR_Y.squeeze()).float().mean().item()
'''},
    {"name": "CrossEntropyLoss on the single logit", "fails": "test_train_xor_follows_adam_on_bce",
     "says": "every gradient it computed was zero", "code": '''
def train_xor(model, epochs=1000, lr=0.05):
    criterion = nn.CrossEntropyLoss()
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
    {"name": "backward on a loss rebuilt from loss.item()", "fails": "test_train_xor_follows_adam_on_bce",
     "says": "no backward() had reached them", "code": '''
def train_xor(model, epochs=1000, lr=0.05):
    criterion = nn.BCEWithLogitsLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = torch.tensor(criterion(model(XOR_X), XOR_Y).item(), requires_grad=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
'''},
    {"name": "train_xor seeds torch itself", "fails": "test_train_xor_follows_adam_on_bce",
     "says": "train_xor seeds torch's random generator", "code": '''
_reference_train = train_xor
def train_xor(model, epochs=1000, lr=0.05):
    torch.manual_seed(42)
    return _reference_train(model, epochs, lr)
'''},
    {"name": "make_xor_net seeds torch itself", "fails": "test_make_xor_net_shapes",
     "says": "two calls of make_xor_net in a row built identical weights", "code": '''
_reference_make = make_xor_net
def make_xor_net(hidden=8, activation="tanh"):
    torch.manual_seed(0)
    return _reference_make(hidden, activation)
'''},
    {"name": "make_xor_net maps sigmoid to tanh", "fails": "test_activation_makes_the_difference",
     "says": "applies tanh between its layers", "code": '''
def make_xor_net(hidden=8, activation="tanh"):
    acts = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Tanh}
    middle = [acts[activation]()] if activation else []
    return nn.Sequential(nn.Linear(2, hidden), *middle, nn.Linear(hidden, 1))
'''},
    {"name": "make_xor_net with relu as the default", "fails": "test_activation_makes_the_difference",
     "says": "the default is tanh", "also_fails": ["test_defaults_are_the_contracts"], "code": '''
_reference_make = make_xor_net
def make_xor_net(hidden=8, activation="relu"):
    return _reference_make(hidden, activation)
'''},
    {"name": "collapse with the element-wise product", "fails": "test_collapse_linear", "says": "the element-wise product",
     "code": '''
def collapse_linear(W1, b1, W2, b2):
    return W2 * W1, W2 @ b1 + b2
'''},
    {"name": "collapse returning (b, W)", "fails": "test_collapse_linear", "says": "return them in the order (W, b)",
     "code": '''
def collapse_linear(W1, b1, W2, b2):
    return W2 @ b1 + b2, W2 @ W1
'''},
    {"name": "collapse with b1 as a column", "fails": "test_collapse_linear", "says": "broadcasts to", "code": '''
def collapse_linear(W1, b1, W2, b2):
    return W2 @ W1, W2 @ b1.reshape(-1, 1) + b2
'''},
    {"name": "make_xor_net always uses ReLU", "fails": "test_activation_makes_the_difference",
     "says": "make_xor_net(activation='tanh') applies relu", "code": '''
def make_xor_net(hidden=8, activation="tanh"):
    if activation is None:
        return nn.Sequential(nn.Linear(2, hidden), nn.Linear(hidden, 1))
    return nn.Sequential(nn.Linear(2, hidden), nn.ReLU(), nn.Linear(hidden, 1))
'''},
    {"name": "make_xor_net default hidden=4", "fails": "test_defaults_are_the_contracts",
     "says": "make_xor_net's default is hidden=4; the contract's is hidden=8",
     "also_fails": ["test_activation_makes_the_difference"], "also": ["the default is hidden=8"], "code": '''
def make_xor_net(hidden=4, activation="tanh"):
    middle = [_ACTIVATIONS[activation]()] if activation else []
    return nn.Sequential(nn.Linear(2, hidden), *middle, nn.Linear(hidden, 1))
'''},
    {"name": "train_xor default lr=0.01 and epochs=500", "fails": "test_defaults_are_the_contracts",
     "says": "train_xor's default is epochs=500", "code": '''
_reference_train = train_xor
def train_xor(model, epochs=500, lr=0.01):
    return _reference_train(model, epochs, lr)
'''},
    {"name": "xor_accuracy with argmax over the single logit", "fails": "test_xor_accuracy",
     "says": "every point is predicted class 0", "code": '''
@torch.no_grad()
def xor_accuracy(model):
    predictions = model(XOR_X).argmax(dim=1)
    return (predictions == XOR_Y.squeeze(1)).float().mean().item()
'''},
    {"name": "collapse bias b1 + b2", "fails": "test_collapse_linear", "says": "it equals b1 + b2",
     "also": ["b = W2 @ b1 + b2"], "code": '''
def collapse_linear(W1, b1, W2, b2):
    return W2 @ W1, b1 + b2
'''},
    {"name": "collapse W1 @ W2 with b1 + b2 (both wrong, shapes clash)", "fails": "test_collapse_linear",
     "says": "the product in the wrong order", "code": '''
def collapse_linear(W1, b1, W2, b2):
    return W1 @ W2, b1 + b2
'''},
]

CORRECT = [
    {"name": "annotated defaults spelled 1_000 and 5e-2, keyword-only activation", "code": '''
def make_xor_net(hidden: int = 8, *, activation: "str | None" = "tanh") -> nn.Module:
    layers = [nn.Linear(2, hidden)]
    if activation is not None:
        layers.append({"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}[activation]())
    return nn.Sequential(*layers, nn.Linear(hidden, 1))

_reference_train = train_xor
def train_xor(model: nn.Module, epochs: int = 1_000, lr: float = 5e-2) -> list:
    return _reference_train(model, epochs, lr)
'''},
    {"name": "accuracy as argmax over two columns [-logit, logit]", "tests": ["test_xor_accuracy"], "code": '''
@torch.no_grad()
def xor_accuracy(model):
    logits = model(XOR_X)
    predictions = torch.cat([-logits, logits], dim=1).argmax(dim=1)
    return (predictions == XOR_Y.view(-1).long()).float().mean().item()
'''},
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
    {"name": "accuracy with sigmoid > 0.5 on flattened tensors", "tests": ["test_xor_accuracy"], "code": '''
def xor_accuracy(model):
    with torch.no_grad():
        probs = torch.sigmoid(model(XOR_X)).view(-1)
    return ((probs > 0.5).float() == XOR_Y.view(-1)).float().mean().item()
'''},
    {"name": "accuracy in NumPy with rounded probabilities", "tests": ["test_xor_accuracy"], "code": '''
def xor_accuracy(model):
    with torch.no_grad():
        preds = torch.round(torch.sigmoid(model(XOR_X))).numpy().ravel()
    return float(np.mean(preds == XOR_Y.numpy().ravel()))
'''},
    {"name": "collapse with np.dot", "tests": ["test_collapse_linear"], "code": '''
def collapse_linear(W1, b1, W2, b2):
    return np.dot(W2, W1), np.dot(W2, b1) + b2
'''},
]
