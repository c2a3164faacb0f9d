"""Mistake gallery for 04_train: each MUTANT is appended to a copy of the reference module
and must fail the named test with a message containing `says`; each CORRECT style must pass."""

# The seed's training loop, with one line changed per mutant (marked).
_SEED_TRAIN_EPOCH = '''
def train_epoch(model, loader, criterion, optimizer, device, progress=True):
    model.train()                                            # TRAIN
    total_loss = 0
    correct = 0
    total = 0
    for images, labels in tqdm(loader, desc="training", disable=not progress):
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad()                                # ZERO
        outputs = model(images)
        loss = criterion(outputs, labels)
        loss.backward()                                      # BACKWARD
        optimizer.step()                                     # STEP
        total_loss += loss.item()
        _, predicted = torch.max(outputs.data, 1)
        total += labels.size(0)
        correct += (predicted == labels).sum().item()
    return total_loss / len(loader), 100. * correct / total  # RETURN
'''

_SEED_VALIDATE = '''
def validate(model, loader, criterion, device):
    model.eval()                                             # EVAL
    total_loss = 0
    correct = 0
    total = 0
    with torch.no_grad():                                    # NO_GRAD
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            outputs = model(images)
            loss = criterion(outputs, labels)
            total_loss += loss.item()
            _, predicted = torch.max(outputs.data, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()
    return total_loss / len(loader), 100. * correct / total  # RETURN
'''


_FIT = '''
def fit(model, train_loader, val_loader, criterion, optimizer, device, epochs, early_stopping=None, best_path=None):
    history = {"train_loss": [], "train_acc": [], "val_loss": [], "val_acc": []}
    best_acc = float("-inf")
    for epoch in range(epochs):
        train_loss, train_acc = train_epoch(model, train_loader, criterion, optimizer, device)  # TRAIN
        val_loss, val_acc = validate(model, val_loader, criterion, device)                  # VALIDATE
        for key, value in zip(history, (train_loss, train_acc, val_loss, val_acc)):
            history[key].append(value)
        if best_path is not None and val_acc > best_acc:                                    # IS_BEST
            best_acc = val_acc                                                              # REMEMBER
            torch.save(model.state_dict(), best_path)                                       # SAVE
        if early_stopping is not None and early_stopping.step(val_loss):                    # STOP
            break                                                                           # BREAK
    return history
'''


def _change(code: str, marker: str, replacement: str) -> str:
    """Replace the line carrying ``# MARKER`` with ``replacement`` (same indentation)."""
    out = []
    for line in code.splitlines():
        if line.rstrip().endswith(f"# {marker}"):
            indent = line[: len(line) - len(line.lstrip())]
            if replacement:
                out.extend(indent + part for part in replacement.splitlines())
            continue
        out.append(line)
    return "\n".join(out) + "\n"


_EARLY_STOPPING = '''
class EarlyStopping:
    def __init__(self, patience=3, min_delta=0.0):
        self.patience, self.min_delta = patience, min_delta
        self.best, self.counter = float("inf"), 0

    def step(self, val_loss):
        if val_loss < self.best - self.min_delta:
            self.best, self.counter = val_loss, 0
        else:
            self.counter += 1
        return self.counter >= self.patience
'''

SLOW = ['test_loop_trains_mnist']  # tests a mutant runs only when its `fails` names them

MUTANTS = [
    {"name": "forgetting optimizer.zero_grad()", "fails": "test_train_epoch_clears_gradients_every_step",
     "says": "gradients piled up", "code": _change(_SEED_TRAIN_EPOCH, "ZERO", "")},
    {"name": "forgetting zero_grad: the loop does not learn MNIST", "fails": "test_loop_trains_mnist",
     "says": "known-good MLP", "also": ["check the five steps"], "code": _change(_SEED_TRAIN_EPOCH, "ZERO", "")},
    {"name": "stepping before backward", "fails": "test_train_epoch_steps_once_per_batch_after_backward",
     "says": "before loss.backward()", "code": _change(_change(_SEED_TRAIN_EPOCH, "STEP", ""), "BACKWARD",
                                                       "optimizer.step()\nloss.backward()")},
    {"name": "a loop that never steps", "fails": "test_train_epoch_steps_once_per_batch_after_backward",
     "says": "never called optimizer.step()", "code": _change(_SEED_TRAIN_EPOCH, "STEP", "")},
    {"name": "a loop that never steps does not learn MNIST", "fails": "test_loop_trains_mnist",
     "says": "check the five steps", "also": ["known-good MLP"], "code": _change(_SEED_TRAIN_EPOCH, "STEP", "")},
    {"name": "no model.train() in train_epoch", "fails": "test_train_epoch_uses_training_mode",
     "says": "ran the model in evaluation mode", "code": _change(_SEED_TRAIN_EPOCH, "TRAIN", "")},
    {"name": "no model.eval() in validate", "fails": ["test_validate_uses_eval_mode",
                                                       "test_validate_leaves_parameters_untouched"],
     "says": "ran the model in training mode", "code": _change(_SEED_VALIDATE, "EVAL", "")},
    {"name": "no torch.no_grad() in validate", "fails": "test_validate_tracks_no_gradients",
     "says": "validate tracked gradients", "code": _change(_SEED_VALIDATE, "NO_GRAD", "if True:")},
    {"name": "accuracy as a fraction", "fails": "test_validate_units", "says": "a fraction: it must be a percentage",
     "code": _change(_SEED_VALIDATE, "RETURN", "return total_loss / len(loader), correct / total")},
    {"name": "accuracy as a fraction in train_epoch", "fails": "test_train_epoch_units", "says": "a fraction: it must be a percentage",
     "code": _change(_SEED_TRAIN_EPOCH, "RETURN", "return total_loss / len(loader), correct / total")},
    {"name": "summed loss: sum of batch losses not divided", "fails": "test_train_epoch_units",
     "says": "sum of the 6 batch losses",
     "code": _change(_SEED_TRAIN_EPOCH, "RETURN", "return total_loss, 100. * correct / total")},
    {"name": "batch-mean losses divided by the number of samples", "fails": "test_validate_units",
     "says": "already means",
     "code": _change(_SEED_VALIDATE, "RETURN", "return total_loss / total, 100. * correct / total")},
    {"name": "batches never moved to the device",
     "also_fails": ["test_train_epoch_steps_once_per_batch_after_backward", "test_train_epoch_uses_training_mode", "test_train_epoch_units", "test_train_epoch_progress_bar", "test_fit_history", "test_fit_saves_only_new_best", "test_fit_stops_early"], "fails": "test_train_epoch_moves_batches_to_device",
     "says": "images = images.to(device)",
     "code": _SEED_TRAIN_EPOCH.replace("images, labels = images.to(device), labels.to(device)", "pass")},
    {"name": "labels never moved to the device",
     "also_fails": ["test_validate_uses_eval_mode", "test_validate_tracks_no_gradients", "test_validate_units"], "fails": "test_validate_moves_batches_to_device",
     "says": "labels = labels.to(device)",
     "code": _SEED_VALIDATE.replace("images, labels = images.to(device), labels.to(device)",
                                    "images = images.to(device)")},
    # a GPU stops every loop test of these; so does the CPU, with Unmoved batches and OnDevice outputs
    {"name": "train_epoch moves only the images",
     "also_fails": ["test_train_epoch_steps_once_per_batch_after_backward", "test_train_epoch_uses_training_mode", "test_train_epoch_moves_batches_to_device", "test_train_epoch_progress_bar", "test_fit_history", "test_fit_saves_only_new_best", "test_fit_stops_early"], "fails": "test_train_epoch_units",
     "says": "labels = labels.to(device)",
     "code": _SEED_TRAIN_EPOCH.replace("images, labels = images.to(device), labels.to(device)",
                                       "images = images.to(device)")},
    {"name": "validate never moves the batches",
     "also_fails": ["test_validate_uses_eval_mode", "test_validate_tracks_no_gradients", "test_validate_moves_batches_to_device"], "fails": "test_validate_units",
     "says": "images = images.to(device)",
     "code": _SEED_VALIDATE.replace("images, labels = images.to(device), labels.to(device)", "pass")},
    {"name": "accuracy compares predictions brought back with .cpu() to labels on the device",
     "also_fails": ["test_train_epoch_steps_once_per_batch_after_backward", "test_train_epoch_uses_training_mode", "test_train_epoch_moves_batches_to_device", "test_train_epoch_progress_bar", "test_fit_history", "test_fit_saves_only_new_best", "test_fit_stops_early"],
     "fails": "test_train_epoch_units", "says": "preds.cpu() == labels.cpu()",
     "code": _SEED_TRAIN_EPOCH.replace("correct += (predicted == labels).sum().item()",
                                       "correct += (predicted.cpu() == labels).sum().item()")},
    {"name": "progress bar always shown", "fails": "test_train_epoch_progress_bar", "says": "progress=False",
     "code": _SEED_TRAIN_EPOCH.replace('disable=not progress', 'disable=False')},
    {"name": "progress bar never shown", "fails": "test_train_epoch_progress_bar", "says": "progress=True",
     "code": _SEED_TRAIN_EPOCH.replace('disable=not progress', 'disable=True')},
    {"name": "train_step that never steps",
     "also_fails": ["test_train_epoch_steps_once_per_batch_after_backward"], "fails": "test_train_step_updates_with_fresh_gradients",
     "says": "never called optimizer.step()", "code": '''
def train_step(model, images, labels, criterion, optimizer):
    optimizer.zero_grad()
    outputs = model(images)
    loss = criterion(outputs, labels)
    loss.backward()
    return loss.item(), (outputs.argmax(dim=1) == labels).sum().item()
'''},
    {"name": "train_step zeroing the gradients last", "fails": "test_train_step_updates_with_fresh_gradients",
     "says": "stale gradients", "code": '''
def train_step(model, images, labels, criterion, optimizer):
    outputs = model(images)
    loss = criterion(outputs, labels)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    return loss.item(), (outputs.argmax(dim=1) == labels).sum().item()
'''},
    {"name": "train_step returning tensors",
     "also_fails": ["test_train_epoch_units"], "fails": "test_train_step_returns_loss_and_correct",
     "says": "returned the loss as Tensor", "also": ["returned avg_loss as Tensor"], "code": '''
def train_step(model, images, labels, criterion, optimizer):
    optimizer.zero_grad()
    outputs = model(images)
    loss = criterion(outputs, labels)
    loss.backward()
    optimizer.step()
    return loss, (outputs.argmax(dim=1) == labels).sum()
'''},
    {"name": "wrong normalisation constants 0.5 / 0.5", "fails": "test_mnist_transform_values",
     "says": "0.5 / 0.5", "code": '''
def mnist_transform():
    return transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
'''},
    {"name": "Normalize without ToTensor scaling", "fails": "test_mnist_transform_values",
     "says": "not divided by 255", "code": '''
def mnist_transform():
    to_float = lambda image: torch.as_tensor(np.array(image), dtype=torch.float32).unsqueeze(0)
    return transforms.Compose([to_float, transforms.Normalize((MNIST_MEAN,), (MNIST_STD,))])
'''},
    {"name": "overlapping splits",
     "also_fails": ["test_split_indices_other_sizes"], "fails": ["test_split_indices_disjoint_and_covering",
                                             "test_split_indices_mnist_sizes"],
     "says": "scored on images it trained on", "code": '''
def split_indices(n, fractions=(0.6, 0.2, 0.2), seed=42):
    rng = np.random.default_rng(seed)
    n_train, n_val = int(n * fractions[0]), int(n * fractions[1])
    train = rng.choice(n, n_train, replace=False)
    val = rng.choice(n, n_val, replace=False)
    test = rng.choice(n, n - n_train - n_val, replace=False)
    return train, val, test
'''},
    {"name": "split without shuffling", "fails": "test_split_indices_seeded_and_shuffled",
     "says": "did not shuffle", "code": '''
def split_indices(n, fractions=(0.6, 0.2, 0.2), seed=42):
    order = np.arange(n)
    n_train, n_val = int(n * fractions[0]), int(n * fractions[1])
    return order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:]
'''},
    {"name": "split sizes rounded instead of truncated", "fails": "test_split_indices_other_sizes",
     "says": "rounded the sizes", "code": '''
def split_indices(n, fractions=(0.6, 0.2, 0.2), seed=42):
    order = np.random.default_rng(seed).permutation(n)
    n_train, n_val = round(n * fractions[0]), round(n * fractions[1])
    return order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:]
'''},
    {"name": "early stopping that never resets its counter", "fails": "test_early_stopping_resets_on_improvement",
     "says": "never reset", "code": '''
class EarlyStopping:
    def __init__(self, patience=3, min_delta=0.0):
        self.patience, self.min_delta = patience, min_delta
        self.best, self.counter = float("inf"), 0

    def step(self, val_loss):
        if val_loss < self.best - self.min_delta:
            self.best = val_loss
        else:
            self.counter += 1
        return self.counter >= self.patience
'''},
    {"name": "early stopping that ignores min_delta", "fails": "test_early_stopping_min_delta",
     "says": "ignores min_delta", "code": '''
class EarlyStopping:
    def __init__(self, patience=3, min_delta=0.0):
        self.patience, self.min_delta = patience, min_delta
        self.best, self.counter = float("inf"), 0

    def step(self, val_loss):
        if val_loss < self.best:
            self.best, self.counter = val_loss, 0
        else:
            self.counter += 1
        return self.counter >= self.patience
'''},
    {"name": "early stopping off by one (patience + 1 epochs)", "fails": "test_early_stopping_patience",
     "says": "stops 1 epoch late", "code": '''
class EarlyStopping:
    def __init__(self, patience=3, min_delta=0.0):
        self.patience, self.min_delta = patience, min_delta
        self.best, self.counter = float("inf"), 0

    def step(self, val_loss):
        if val_loss < self.best - self.min_delta:
            self.best, self.counter = val_loss, 0
        else:
            self.counter += 1
        return self.counter > self.patience
'''},
    {"name": "fit that saves the best model every epoch", "fails": "test_fit_saves_only_new_best",
     "says": "not the best epoch", "code": '''
def fit(model, train_loader, val_loader, criterion, optimizer, device, epochs, early_stopping=None, best_path=None):
    history = {"train_loss": [], "train_acc": [], "val_loss": [], "val_acc": []}
    for epoch in range(epochs):
        train_loss, train_acc = train_epoch(model, train_loader, criterion, optimizer, device)
        val_loss, val_acc = validate(model, val_loader, criterion, device)
        for key, value in zip(history, (train_loss, train_acc, val_loss, val_acc)):
            history[key].append(value)
        if best_path is not None:
            torch.save(model.state_dict(), best_path)
        if early_stopping is not None and early_stopping.step(val_loss):
            break
    return history
'''},
    {"name": "fit that saves the whole model object",
     "also_fails": ["test_fit_stops_early"], "fails": "test_fit_saves_only_new_best",
     "says": "not the model object", "code": '''
def fit(model, train_loader, val_loader, criterion, optimizer, device, epochs, early_stopping=None, best_path=None):
    history = {"train_loss": [], "train_acc": [], "val_loss": [], "val_acc": []}
    best = -1.0
    for epoch in range(epochs):
        train_loss, train_acc = train_epoch(model, train_loader, criterion, optimizer, device)
        val_loss, val_acc = validate(model, val_loader, criterion, device)
        for key, value in zip(history, (train_loss, train_acc, val_loss, val_acc)):
            history[key].append(value)
        if best_path is not None and val_acc > best:
            best = val_acc
            torch.save(model, best_path)
    return history
'''},
    {"name": "fit that ignores early stopping",
     "also_fails": ["test_fit_saves_only_new_best"], "fails": "test_fit_stops_early", "says": "break out of the epoch loop", "code": '''
def fit(model, train_loader, val_loader, criterion, optimizer, device, epochs, early_stopping=None, best_path=None):
    history = {"train_loss": [], "train_acc": [], "val_loss": [], "val_acc": []}
    for epoch in range(epochs):
        train_loss, train_acc = train_epoch(model, train_loader, criterion, optimizer, device)
        val_loss, val_acc = validate(model, val_loader, criterion, device)
        for key, value in zip(history, (train_loss, train_acc, val_loss, val_acc)):
            history[key].append(value)
        if early_stopping is not None:
            early_stopping.step(val_loss)
    return history
'''},
    {"name": "fit that always writes best_model.pth (the seed's fixed name)", "fails": "test_fit_history",
     "says": "best_path is None", "code": '''
def fit(model, train_loader, val_loader, criterion, optimizer, device, epochs, early_stopping=None, best_path=None):
    history = {"train_loss": [], "train_acc": [], "val_loss": [], "val_acc": []}
    best = 0.0
    for epoch in range(epochs):
        train_loss, train_acc = train_epoch(model, train_loader, criterion, optimizer, device)
        val_loss, val_acc = validate(model, val_loader, criterion, device)
        for key, value in zip(history, (train_loss, train_acc, val_loss, val_acc)):
            history[key].append(value)
        if val_acc > best:
            best = val_acc
            torch.save(model.state_dict(), best_path or "best_model.pth")
        if early_stopping is not None and early_stopping.step(val_loss):
            break
    return history
'''},
    {"name": "zero_grad between backward and step in train_step",
     "also_fails": ["test_train_epoch_steps_once_per_batch_after_backward"], "fails": "test_train_step_updates_with_fresh_gradients",
     "says": "wiped before the step", "code": '''
def train_step(model, images, labels, criterion, optimizer):
    outputs = model(images)
    loss = criterion(outputs, labels)
    loss.backward()
    optimizer.zero_grad()
    optimizer.step()
    return loss.item(), (outputs.argmax(dim=1) == labels).sum().item()
'''},
    {"name": "zero_grad between backward and step in train_epoch",
     "fails": "test_train_epoch_steps_once_per_batch_after_backward", "says": "wiped before the step",
     "code": _change(_change(_SEED_TRAIN_EPOCH, "ZERO", ""), "BACKWARD", "loss.backward()\noptimizer.zero_grad()")},
    {"name": "running loss summed as tensors (loss.item() forgotten, the graph is kept)", "fails": "test_train_epoch_units",
     "says": "returned avg_loss as Tensor",
     "code": _SEED_TRAIN_EPOCH.replace("total_loss += loss.item()", "total_loss += loss")},
    {"name": "correct counted as a tensor in validate", "fails": "test_validate_units",
     "says": "returned accuracy as Tensor",
     "code": _SEED_VALIDATE.replace("correct += (predicted == labels).sum().item()", "correct += (predicted == labels).sum()")},
    {"name": "train_step returning correct as a tensor",
     "also_fails": ["test_train_epoch_units"], "fails": "test_train_step_returns_loss_and_correct",
     "says": "returned correct as Tensor", "also": ["returned accuracy as Tensor"], "code": '''
def train_step(model, images, labels, criterion, optimizer):
    optimizer.zero_grad()
    outputs = model(images)
    loss = criterion(outputs, labels)
    loss.backward()
    optimizer.step()
    return loss.item(), (outputs.argmax(dim=1) == labels).sum()
'''},
    {"name": "train_step reporting the loss after the update",
     "also_fails": ["test_train_epoch_uses_training_mode"], "fails": "test_train_step_returns_loss_and_correct",
     "says": "before the update", "code": '''
def train_step(model, images, labels, criterion, optimizer):
    optimizer.zero_grad()
    outputs = model(images)
    loss = criterion(outputs, labels)
    loss.backward()
    optimizer.step()
    with torch.no_grad():
        after = criterion(model(images), labels).item()
    return after, int((outputs.argmax(dim=1) == labels).sum())
'''},
    {"name": "mnist_transform with mean and std swapped", "fails": "test_mnist_transform_values",
     "says": "mean and std swapped", "code": '''
def mnist_transform():
    return transforms.Compose([transforms.ToTensor(), transforms.Normalize((MNIST_STD,), (MNIST_MEAN,))])
'''},
    {"name": "split ignoring its seed (unseeded permutation)", "fails": "test_split_indices_seeded_and_shuffled",
     "says": "same seed must give the same split", "code": '''
def split_indices(n, fractions=(0.6, 0.2, 0.2), seed=42):
    order = np.random.permutation(n)
    n_train, n_val = int(n * fractions[0]), int(n * fractions[1])
    return order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:]
'''},
    {"name": "split ignoring fractions (always 60/20/20)", "fails": "test_split_indices_other_sizes",
     "says": "ignores its fractions argument", "code": '''
def split_indices(n, fractions=(0.6, 0.2, 0.2), seed=42):
    order = np.random.default_rng(seed).permutation(n)
    n_train, n_val = int(n * 0.6), int(n * 0.2)
    return order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:]
'''},
    {"name": "early stopping that counts an equal loss as an improvement (<=)", "fails": "test_early_stopping_patience",
     "says": "equal validation loss as an improvement", "code": '''
class EarlyStopping:
    def __init__(self, patience=3, min_delta=0.0):
        self.patience, self.min_delta = patience, min_delta
        self.best, self.counter = float("inf"), 0

    def step(self, val_loss):
        if val_loss <= self.best - self.min_delta:
            self.best, self.counter = val_loss, 0
        else:
            self.counter += 1
        return self.counter >= self.patience
'''},
    {"name": "early stopping comparing with the previous epoch, not the best", "fails": "test_early_stopping_patience",
     "says": "previous epoch", "code": '''
class EarlyStopping:
    def __init__(self, patience=3, min_delta=0.0):
        self.patience, self.min_delta = patience, min_delta
        self.last, self.counter = float("inf"), 0

    def step(self, val_loss):
        if val_loss < self.last - self.min_delta:
            self.counter = 0
        else:
            self.counter += 1
        self.last = val_loss
        return self.counter >= self.patience
'''},
    {"name": "early stopping one epoch early (counts after the check)", "fails": "test_early_stopping_patience",
     "says": "epoch(s) early", "code": '''
class EarlyStopping:
    def __init__(self, patience=3, min_delta=0.0):
        self.patience, self.min_delta = patience, min_delta
        self.best, self.counter = float("inf"), 0

    def step(self, val_loss):
        if val_loss < self.best - self.min_delta:
            self.best, self.counter = val_loss, 0
            return False
        self.counter += 1
        return self.counter >= self.patience - 1
'''},
    {"name": "fit that never remembers the new best", "fails": "test_fit_saves_only_new_best",
     "says": "not the best epoch", "code": '''
def fit(model, train_loader, val_loader, criterion, optimizer, device, epochs, early_stopping=None, best_path=None):
    history = {"train_loss": [], "train_acc": [], "val_loss": [], "val_acc": []}
    best = 0.0
    for epoch in range(epochs):
        train_loss, train_acc = train_epoch(model, train_loader, criterion, optimizer, device)
        val_loss, val_acc = validate(model, val_loader, criterion, device)
        for key, value in zip(history, (train_loss, train_acc, val_loss, val_acc)):
            history[key].append(value)
        if best_path is not None and val_acc > best:
            torch.save(model.state_dict(), best_path)
        if early_stopping is not None and early_stopping.step(val_loss):
            break
    return history
'''},
    {"name": "fit saving the model only once, after the last epoch", "fails": "test_fit_saves_only_new_best",
     "says": "not the best epoch", "code": '''
def fit(model, train_loader, val_loader, criterion, optimizer, device, epochs, early_stopping=None, best_path=None):
    history = {"train_loss": [], "train_acc": [], "val_loss": [], "val_acc": []}
    for epoch in range(epochs):
        train_loss, train_acc = train_epoch(model, train_loader, criterion, optimizer, device)
        val_loss, val_acc = validate(model, val_loader, criterion, device)
        for key, value in zip(history, (train_loss, train_acc, val_loss, val_acc)):
            history[key].append(value)
        if early_stopping is not None and early_stopping.step(val_loss):
            break
    if best_path is not None:
        torch.save(model.state_dict(), best_path)
    return history
'''},
    {"name": "fit recording the training accuracy as val_acc",
     "also_fails": ["test_fit_saves_only_new_best"], "fails": "test_fit_history",
     "says": "record validate's accuracy", "code": '''
def fit(model, train_loader, val_loader, criterion, optimizer, device, epochs, early_stopping=None, best_path=None):
    history = {"train_loss": [], "train_acc": [], "val_loss": [], "val_acc": []}
    for epoch in range(epochs):
        train_loss, train_acc = train_epoch(model, train_loader, criterion, optimizer, device)
        val_loss, val_acc = validate(model, val_loader, criterion, device)
        for key, value in zip(history, (train_loss, train_acc, val_loss, train_acc)):
            history[key].append(value)
        if early_stopping is not None and early_stopping.step(val_loss):
            break
    return history
'''},
    {"name": "fit giving early stopping the validation accuracy",
     "also_fails": ["test_fit_saves_only_new_best"], "fails": "test_fit_stops_early",
     "says": "not the epochs' validation losses", "code": '''
def fit(model, train_loader, val_loader, criterion, optimizer, device, epochs, early_stopping=None, best_path=None):
    history = {"train_loss": [], "train_acc": [], "val_loss": [], "val_acc": []}
    for epoch in range(epochs):
        train_loss, train_acc = train_epoch(model, train_loader, criterion, optimizer, device)
        val_loss, val_acc = validate(model, val_loader, criterion, device)
        for key, value in zip(history, (train_loss, train_acc, val_loss, val_acc)):
            history[key].append(value)
        if early_stopping is not None and early_stopping.step(val_acc):
            break
    return history
'''},
    {"name": "fit keeping the epoch with the lowest val_loss as the best", "fails": "test_fit_saves_only_new_best",
     "says": "the best model is the one with the highest validation accuracy", "also": ["not the best epoch"],
     "code": _change(_change(_FIT, "IS_BEST", "if best_path is not None and val_loss < best_acc:"),
                     "REMEMBER", "best_acc = val_loss").replace('best_acc = float("-inf")', 'best_acc = float("inf")')},
    {"name": "fit saving on a tie of the best val_acc (>=)", "fails": "test_fit_saves_only_new_best",
     "says": "a new best must be strictly higher", "also": ["not the best epoch"],
     "code": _change(_FIT, "IS_BEST", "if best_path is not None and val_acc >= best_acc:")},
    {"name": "fit validating on the training loader", "fails": "test_fit_history",
     "also_fails": ["test_fit_saves_only_new_best"], "says": "evaluated on train_loader",
     "code": _change(_FIT, "VALIDATE", "val_loss, val_acc = validate(model, train_loader, criterion, device)")},
    {"name": "fit with the loaders swapped", "fails": "test_fit_history",
     "also_fails": ["test_fit_saves_only_new_best"], "says": "swapped the loaders",
     "code": _change(_change(_FIT, "VALIDATE", "val_loss, val_acc = validate(model, train_loader, criterion, device)"),
                     "TRAIN", "train_loss, train_acc = train_epoch(model, val_loader, criterion, optimizer, device)")},
    {"name": "fit saving model.state_dict without the call parentheses", "fails": "test_fit_saves_only_new_best",
     "says": "bound method", "code": _change(_FIT, "SAVE", "torch.save(model.state_dict, best_path)")},
    {"name": "fit asking early stopping before saving the epoch's new best", "fails": "test_fit_saves_the_best_of_the_last_epoch",
     "says": "before breaking out of the loop",
     "code": _change(_change(_FIT, "STOP", ""), "BREAK", "").replace(
         "        if best_path is not None and val_acc > best_acc:",
         "        if early_stopping is not None and early_stopping.step(val_loss):\n            break\n"
         "        if best_path is not None and val_acc > best_acc:")},
    {"name": "EarlyStopping whose best starts at 0.0", "fails": "test_early_stopping_patience",
     "says": "its best value starts too low", "code": '''
class EarlyStopping:
    def __init__(self, patience=3, min_delta=0.0):
        self.patience, self.min_delta = patience, min_delta
        self.best, self.counter = 0.0, 0

    def step(self, val_loss):
        if val_loss < self.best - self.min_delta:
            self.best, self.counter = val_loss, 0
        else:
            self.counter += 1
        return self.counter >= self.patience
'''},
    # walkthrough late2: causes named, return orders and defaults
    {"name": "train_step counting correct with argmax(dim=0)", "fails": "test_train_step_returns_loss_and_correct",
     "says": "over the batch dimension", "code": """
def train_step(model, images, labels, criterion, optimizer):
    optimizer.zero_grad()
    outputs = model(images)
    loss = criterion(outputs, labels)
    loss.backward()
    optimizer.step()
    return loss.item(), int((outputs.argmax(dim=0) == labels).sum().item())
"""},
    {"name": "validate predicting with torch.max(outputs, 0)", "fails": "test_validate_units",
     "also_fails": ["test_validate_uses_eval_mode", "test_validate_tracks_no_gradients", "test_validate_moves_batches_to_device"],
     "says": "over the batch dimension", "code": _SEED_VALIDATE.replace("torch.max(outputs.data, 1)", "torch.max(outputs.data, 0)")},
    {"name": "train_step returning (correct, loss)", "fails": "test_train_step_returns_loss_and_correct",
     "says": "returned (correct, loss)", "code": """
def train_step(model, images, labels, criterion, optimizer):
    optimizer.zero_grad()
    outputs = model(images)
    loss = criterion(outputs, labels)
    loss.backward()
    optimizer.step()
    return int((outputs.argmax(dim=1) == labels).sum().item()), loss.item()
"""},
    {"name": "train_epoch returning (accuracy, loss)", "fails": "test_train_epoch_units", "says": "returned (accuracy, avg_loss)",
     "code": _change(_SEED_TRAIN_EPOCH, "RETURN", "return 100. * correct / total, total_loss / len(loader)")},
    {"name": "validate returning (accuracy, loss)", "fails": "test_validate_units", "says": "returned (accuracy, avg_loss)",
     "code": _change(_SEED_VALIDATE, "RETURN", "return 100. * correct / total, total_loss / len(loader)")},
    {"name": "split_indices returning (train, test, val)", "fails": "test_split_indices_other_sizes",
     "says": "returned its parts in the order (train, test, val)", "code": """
def split_indices(n, fractions=(0.6, 0.2, 0.2), seed=42):
    order = np.random.default_rng(seed).permutation(n)
    n_train, n_val = int(n * fractions[0]), int(n * fractions[1])
    return order[:n_train], order[n_train + n_val:], order[n_train:n_train + n_val]
"""},
    {"name": "split_indices giving the rest to val", "fails": "test_split_indices_other_sizes",
     "says": "gave the rest to val", "code": """
def split_indices(n, fractions=(0.6, 0.2, 0.2), seed=42):
    order = np.random.default_rng(seed).permutation(n)
    n_train, n_test = int(n * fractions[0]), int(n * fractions[2])
    return order[:n_train], order[n_train:n - n_test], order[n - n_test:]
"""},
    {"name": "EarlyStopping with default patience 5", "fails": ["test_early_stopping_patience", "test_contract_defaults"],
     "says": "default patience is wrong",
     "code": _EARLY_STOPPING.replace("patience=3", "patience=5")},
    {"name": "EarlyStopping ignoring the patience it is given (always 5)", "fails": "test_early_stopping_patience",
     "says": "Keep the patience it is given", "code": _EARLY_STOPPING.replace("self.patience, self.min_delta = patience, min_delta",
                                                                "self.patience, self.min_delta = 5, min_delta")},
    {"name": "EarlyStopping adding min_delta (sign flipped)", "fails": "test_early_stopping_min_delta",
     "says": "adds min_delta instead of subtracting it", "code": _EARLY_STOPPING.replace("self.best - self.min_delta", "self.best + self.min_delta")},
    {"name": "EarlyStopping with default min_delta 0.01", "fails": "test_contract_defaults",
     "says": "min_delta=0.01", "code": _EARLY_STOPPING.replace("min_delta=0.0", "min_delta=0.01")},
    {"name": "train_epoch with default progress=False", "fails": "test_contract_defaults", "says": "default is progress=False", "also": ["progress=True"],
     "code": _SEED_TRAIN_EPOCH.replace("progress=True", "progress=False")},
    {"name": "fit running epochs - 1 epochs (range(1, epochs))", "fails": "test_fit_history",
     "also_fails": ["test_fit_saves_only_new_best"], "says": "range(1, epochs) is one short",
     "code": _FIT.replace("for epoch in range(epochs):", "for epoch in range(1, epochs):")},
    {"name": "fit running one epoch too many", "fails": "test_fit_history",
     "also_fails": ["test_fit_saves_only_new_best"], "says": "1 time(s) too many",
     "code": _FIT.replace("for epoch in range(epochs):", "for epoch in range(epochs + 1):")},
]

CORRECT = [
    {"name": "the seed's train_epoch and validate (mean of batch losses, torch.max(outputs.data, 1))",
     "code": _SEED_TRAIN_EPOCH.replace('tqdm(loader, desc="training", disable=not progress)',
                                       '(tqdm(loader, desc="training") if progress else loader)')
     + _SEED_VALIDATE.replace("for images, labels in loader:",
                              "for images, labels in tqdm(loader, desc='validating'):")},
    {"name": "train_epoch wrapping the loader with tqdm(..., disable=not progress)", "code": _SEED_TRAIN_EPOCH},
    {"name": "moves with non_blocking=True and to the model's own device",
     "code": _SEED_TRAIN_EPOCH.replace(
         "images, labels = images.to(device), labels.to(device)",
         "images = images.to(device, non_blocking=True)\n"
         "        labels = labels.to(next(model.parameters()).device)")},
    {"name": "validate scoring on the host: outputs.cpu() against labels never moved, view_as",
     "code": '''
def validate(model, loader, criterion, device):
    model.eval()
    total_loss, correct, total = 0.0, 0, 0
    with torch.no_grad():
        for images, labels in loader:
            outputs = model(images.to(device)).cpu()
            total_loss += criterion(outputs, labels).item()
            pred = outputs.argmax(dim=1, keepdim=True)
            correct += pred.eq(labels.view_as(pred)).sum().item()
            total += labels.size(0)
    return total_loss / len(loader), 100.0 * correct / total
'''},
    {"name": "validate under torch.inference_mode()",
     "code": _change(_SEED_VALIDATE, "NO_GRAD", "with torch.inference_mode():")},
    {"name": "per-sample weighted losses over len(loader.dataset), zero_grad last, model.zero_grad()",
     "code": '''
def train_epoch(model, loader, criterion, optimizer, device, progress=True):
    model.train()
    running_loss, running_correct = 0.0, 0
    bar = tqdm(loader, leave=False, disable=not progress)
    for images, labels in bar:
        images = images.to(device)
        labels = labels.to(device)
        logits = model(images)
        loss = criterion(logits, labels)
        loss.backward()
        optimizer.step()
        model.zero_grad(set_to_none=False)
        running_loss += loss.item() * images.size(0)
        running_correct += int((logits.argmax(1) == labels).sum())
        bar.set_postfix(loss=f"{loss.item():.3f}")
    n = len(loader.dataset)
    return running_loss / n, running_correct / n * 100


@torch.no_grad()
def validate(model, loader, criterion, device):
    model.eval()
    running_loss, running_correct = 0.0, 0
    for images, labels in loader:
        images, labels = images.to(device, non_blocking=True), labels.to(device, non_blocking=True)
        logits = model(images)
        running_loss += criterion(logits, labels).item() * len(labels)
        running_correct += (logits.argmax(dim=1) == labels).sum().item()
    n = len(loader.dataset)
    return running_loss / n, 100.0 * running_correct / n
'''},
    {"name": "EarlyStopping counting with best - val_loss > min_delta", "code": '''
class EarlyStopping:
    def __init__(self, patience=3, min_delta=0.0):
        self.patience = patience
        self.min_delta = min_delta
        self.best_loss = None
        self.counter = 0
        self.early_stop = False

    def step(self, val_loss):
        if self.best_loss is None or self.best_loss - val_loss > self.min_delta:
            self.best_loss = val_loss
            self.counter = 0
        else:
            self.counter += 1
            if self.counter >= self.patience:
                self.early_stop = True
        return self.early_stop
'''},
    {"name": "split_indices with torch.randperm returning tensors", "code": '''
def split_indices(n, fractions=(0.6, 0.2, 0.2), seed=42):
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    a = int(n * fractions[0])
    b = a + int(n * fractions[1])
    return perm[:a], perm[a:b], perm[b:]
'''},
    {"name": "split_indices with np.random.seed and lists", "code": '''
def split_indices(n, fractions=(0.6, 0.2, 0.2), seed=42):
    np.random.seed(seed)
    order = np.random.permutation(n).tolist()
    n_train = int(n * fractions[0])
    n_val = int(n * fractions[1])
    return order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:]
'''},
    {"name": "mnist_transform with literal constants", "code": '''
def mnist_transform():
    return transforms.Compose([
        transforms.ToTensor(),
        transforms.Normalize((0.1307,), (0.3081,)),
    ])
'''},
    {"name": "fit in the seed's style with a best-accuracy variable and its own train step", "code": '''
def fit(model, train_loader, val_loader, criterion, optimizer, device, epochs, early_stopping=None, best_path=None):
    train_losses, train_accuracies, val_losses, val_accuracies = [], [], [], []
    best_val_acc = 0
    for epoch in range(epochs):
        print(f"Epoch [{epoch + 1}/{epochs}]")
        train_loss, train_acc = train_epoch(model, train_loader, criterion, optimizer, device, progress=False)
        train_losses.append(train_loss)
        train_accuracies.append(train_acc)
        val_loss, val_acc = validate(model, val_loader, criterion, device)
        val_losses.append(val_loss)
        val_accuracies.append(val_acc)
        if val_acc > best_val_acc:
            best_val_acc = val_acc
            if best_path:
                torch.save(model.state_dict(), best_path)
        if early_stopping and early_stopping.step(val_loss):
            print("Early stopping")
            break
    return {"train_loss": train_losses, "train_acc": train_accuracies,
            "val_loss": val_losses, "val_acc": val_accuracies}
'''},
    {"name": "train_step with model.zero_grad() and torch.max, EarlyStopping with a stop flag and >= patience",
     "code": '''
def train_step(model, images, labels, criterion, optimizer):
    model.zero_grad()
    logits = model(images)
    loss = criterion(logits, labels)
    loss.backward()
    optimizer.step()
    _, predicted = torch.max(logits, dim=1)
    return float(loss.detach()), int(predicted.eq(labels).sum())


class EarlyStopping:
    def __init__(self, patience=3, min_delta=0.0):
        self.patience, self.min_delta = patience, min_delta
        self.best, self.wait, self.stop = None, 0, False

    def step(self, val_loss):
        if self.best is None or val_loss < self.best - self.min_delta:
            self.best, self.wait = val_loss, 0
        else:
            self.wait += 1
            self.stop = self.stop or self.wait >= self.patience
        return self.stop
'''},
    {"name": "fit asking early stopping first, saving the new best, then breaking; best_acc starting at None",
     "code": '''
def fit(model, train_loader, val_loader, criterion, optimizer, device, epochs, early_stopping=None, best_path=None):
    history = {key: [] for key in ("train_loss", "train_acc", "val_loss", "val_acc")}
    best_acc = None
    for _ in range(epochs):
        results = train_epoch(model, train_loader, criterion, optimizer, device, progress=False)
        results += validate(model, val_loader, criterion, device)
        for key, value in zip(("train_loss", "train_acc", "val_loss", "val_acc"), results):
            history[key].append(value)
        stop = early_stopping.step(results[2]) if early_stopping else False
        if best_path and (best_acc is None or results[3] > best_acc):
            best_acc = results[3]
            torch.save({k: v.detach().clone() for k, v in model.state_dict().items()}, Path(best_path))
        if stop:
            break
    return history
'''},
    {"name": "EarlyStopping with best = math.inf and a wait counter compared with >= patience", "code": '''
import math


class EarlyStopping:
    def __init__(self, patience=3, min_delta=0.0):
        self.patience = patience
        self.min_delta = min_delta
        self.best = math.inf
        self.wait = 0

    def step(self, val_loss):
        improved = self.best - val_loss > self.min_delta
        self.best = val_loss if improved else self.best
        self.wait = 0 if improved else self.wait + 1
        return self.wait >= self.patience
'''},
    {"name": "split_indices returning a list of index lists; fit over range(1, epochs + 1); annotated defaults",
     "code": """
def split_indices(n: int, fractions: tuple = (0.6, 0.2, 0.2), seed: int = 42) -> list:
    idx = np.random.default_rng(seed).permutation(n).tolist()
    a, b = int(n * fractions[0]), int(n * fractions[0]) + int(n * fractions[1])
    return [idx[:a], idx[a:b], idx[b:]]


def fit(model, train_loader, val_loader, criterion, optimizer, device, epochs: int,
        early_stopping: "EarlyStopping | None" = None, best_path: "str | None" = None):
    history = {"train_loss": [], "train_acc": [], "val_loss": [], "val_acc": []}
    best = None
    for epoch in range(1, epochs + 1):
        tl, ta = train_epoch(model, train_loader, criterion, optimizer, device, progress=False)
        vl, va = validate(model, val_loader, criterion, device)
        for key, value in zip(("train_loss", "train_acc", "val_loss", "val_acc"), (tl, ta, vl, va)):
            history[key].append(value)
        if best_path is not None and (best is None or va > best):
            best = va
            torch.save(model.state_dict(), best_path)
        if early_stopping is not None and early_stopping.step(vl):
            break
    return history
"""},
    {"name": "EarlyStopping with a min_delta of 0 (int) default and an improvement flag", "code": """
class EarlyStopping:
    def __init__(self, patience=3, min_delta=0):
        self.patience, self.min_delta, self.best, self.bad = patience, min_delta, None, 0

    def step(self, val_loss):
        improved = self.best is None or val_loss < self.best - self.min_delta
        if improved:
            self.best = val_loss
        self.bad = 0 if improved else self.bad + 1
        return self.bad >= self.patience
"""},
]
