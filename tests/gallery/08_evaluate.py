"""Mistake gallery for 08_evaluate: broken implementations that must fail, and correct
alternative styles that must pass. Each ``code`` is appended to a copy of the solution module."""

SLOW = []  # tests a mutant runs only when its `fails` names them

MUTANTS = [
    # a GPU stops these; so does the CPU, with Unmoved batches and OnDevice outputs
    {"name": "batches never moved to the device", "fails": "test_collect_predictions_shapes_and_values",
     "also_fails": ["test_collect_predictions_uses_eval_mode", "test_collect_predictions_without_gradients"],
     "says": "went into the model", "code": '''
def collect_predictions(model, loader, device):
    model.eval()
    preds, labels, probs = [], [], []
    with torch.no_grad():
        for images, targets in loader:
            p = torch.softmax(model(images), dim=1)
            probs.append(p.cpu().numpy())
            preds.append(p.argmax(dim=1).cpu().numpy())
            labels.append(targets.numpy())
    return np.concatenate(preds), np.concatenate(labels), np.concatenate(probs)
'''},
    {"name": "predictions turned into NumPy without .cpu()", "fails": "test_collect_predictions_shapes_and_values",
     "also_fails": ["test_collect_predictions_uses_eval_mode", "test_collect_predictions_without_gradients"],
     "says": "without .cpu()", "code": '''
def collect_predictions(model, loader, device):
    model.eval()
    preds, labels, probs = [], [], []
    with torch.no_grad():
        for images, targets in loader:
            p = torch.softmax(model(images.to(device)), dim=1)
            probs.append(p.cpu().numpy())
            preds.append(p.argmax(dim=1).numpy())
            labels.append(targets.numpy())
    return np.concatenate(preds), np.concatenate(labels), np.concatenate(probs)
'''},
    {"name": "labels moved to the device, then turned into NumPy", "fails": "test_collect_predictions_shapes_and_values",
     "also_fails": ["test_collect_predictions_uses_eval_mode", "test_collect_predictions_without_gradients"],
     "says": "without .cpu()", "code": '''
def collect_predictions(model, loader, device):
    model.eval()
    preds, labels, probs = [], [], []
    with torch.no_grad():
        for images, targets in loader:
            images, targets = images.to(device), targets.to(device)
            p = torch.softmax(model(images), dim=1)
            probs.append(p.cpu().numpy())
            preds.append(p.argmax(dim=1).cpu().numpy())
            labels.append(targets.numpy())
    return np.concatenate(preds), np.concatenate(labels), np.concatenate(probs)
'''},
    {"name": "confusion matrix transposed (rows = predicted)", "fails": "test_confusion_matrix_rows_are_true_classes",
     "says": "your confusion matrix is transposed", "code": '''
def confusion_matrix(labels, preds, num_classes=10):
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(preds), np.asarray(labels)), 1)
    return cm
'''},
    {"name": "fancy-index += 1 counts repeated pairs once", "fails": "test_confusion_matrix_rows_are_true_classes",
     "says": "repeated (true, pred) pairs were lost", "code": '''
def confusion_matrix(labels, preds, num_classes=10):
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    cm[np.asarray(labels), np.asarray(preds)] += 1
    return cm
'''},
    {"name": "confusion matrix of floats", "fails": "test_confusion_matrix_rows_are_true_classes",
     "says": "integer", "code": '''
def confusion_matrix(labels, preds, num_classes=10):
    cm = np.zeros((num_classes, num_classes))
    np.add.at(cm, (np.asarray(labels), np.asarray(preds)), 1)
    return cm
'''},
    {"name": "confusion matrix sized by the classes present", "fails": "test_confusion_matrix_size_is_num_classes",
     "says": "num_classes", "code": '''
def confusion_matrix(labels, preds, num_classes=10):
    labels, preds = np.asarray(labels), np.asarray(preds)
    size = int(max(labels.max(), preds.max())) + 1
    cm = np.zeros((size, size), dtype=np.int64)
    np.add.at(cm, (labels, preds), 1)
    return cm
'''},
    {"name": "predictions with dropout on (no model.eval())", "fails": "test_collect_predictions_uses_eval_mode",
     "says": "model.eval()", "code": '''
def collect_predictions(model, loader, device):
    preds, labels, probs = [], [], []
    with torch.no_grad():
        for images, targets in loader:
            p = torch.softmax(model(images.to(device)), dim=1)
            probs.append(p.cpu().numpy())
            preds.append(p.argmax(dim=1).cpu().numpy())
            labels.append(targets.numpy())
    return np.concatenate(preds), np.concatenate(labels), np.concatenate(probs)
'''},
    {"name": "predictions with gradient tracking (no torch.no_grad())", "fails": "test_collect_predictions_without_gradients",
     "says": "no_grad", "code": '''
def collect_predictions(model, loader, device):
    model.eval()
    preds, labels, probs = [], [], []
    for images, targets in loader:
        p = torch.softmax(model(images.to(device)), dim=1).detach()
        probs.append(p.cpu().numpy())
        preds.append(p.argmax(dim=1).cpu().numpy())
        labels.append(targets.numpy())
    return np.concatenate(preds), np.concatenate(labels), np.concatenate(probs)
'''},
    {"name": "predictions returned as Python lists (the seed's extend)", "fails": "test_collect_predictions_shapes_and_values",
     "also_fails": ["test_collect_predictions_uses_eval_mode", "test_collect_predictions_without_gradients"],
     "says": "return NumPy arrays", "code": '''
def collect_predictions(model, loader, device):
    model.eval()
    preds, labels, probs = [], [], []
    with torch.no_grad():
        for images, targets in loader:
            p = torch.softmax(model(images.to(device)), dim=1)
            probs.extend(p.cpu().numpy())
            preds.extend(p.argmax(dim=1).cpu().numpy())
            labels.extend(targets.numpy())
    return preds, labels, probs
'''},
    {"name": "logits returned as probs (no softmax)", "fails": "test_collect_predictions_shapes_and_values",
     "also_fails": ["test_collect_predictions_uses_eval_mode"],
     "says": "probs are the raw logits", "code": '''
def collect_predictions(model, loader, device):
    model.eval()
    preds, labels, probs = [], [], []
    with torch.no_grad():
        for images, targets in loader:
            logits = model(images.to(device))
            probs.append(logits.cpu().numpy())
            preds.append(logits.argmax(dim=1).cpu().numpy())
            labels.append(targets.numpy())
    return np.concatenate(preds), np.concatenate(labels), np.concatenate(probs)
'''},
    {"name": "only the last batch kept", "fails": "test_collect_predictions_shapes_and_values",
     "also_fails": ["test_collect_predictions_uses_eval_mode"],
     "says": "the last batch only", "code": '''
def collect_predictions(model, loader, device):
    model.eval()
    with torch.no_grad():
        for images, targets in loader:
            p = torch.softmax(model(images.to(device)), dim=1)
    return p.argmax(dim=1).cpu().numpy(), targets.numpy(), p.cpu().numpy()
'''},
    {"name": "per-class accuracy divided by column sums", "fails": "test_per_class_accuracy_percent_of_true_class",
     "says": "row sums", "code": '''
def per_class_accuracy(cm):
    cm = np.asarray(cm)
    totals = cm.sum(axis=0)
    out = np.full(len(totals), np.nan)
    np.divide(100.0 * np.diag(cm), totals, out=out, where=totals > 0)
    return out
'''},
    {"name": "per-class accuracy as a fraction", "fails": "test_per_class_accuracy_percent_of_true_class",
     "says": "must be in percent (0..100), not a fraction", "code": '''
def per_class_accuracy(cm):
    cm = np.asarray(cm)
    totals = cm.sum(axis=1)
    out = np.full(len(totals), np.nan)
    np.divide(np.diag(cm), totals, out=out, where=totals > 0)
    return out
'''},
    {"name": "per-class accuracy warns on an empty class", "fails": "test_per_class_accuracy_empty_class_is_nan",
     "says": "RuntimeWarning", "code": '''
def per_class_accuracy(cm):
    cm = np.asarray(cm)
    return 100.0 * np.diag(cm) / cm.sum(axis=1)
'''},
    {"name": "per-class accuracy gives 0 for an empty class", "fails": "test_per_class_accuracy_empty_class_is_nan",
     "says": "must give NaN (its accuracy is undefined)", "code": '''
def per_class_accuracy(cm):
    cm = np.asarray(cm)
    totals = cm.sum(axis=1)
    out = np.zeros(len(totals))
    np.divide(100.0 * np.diag(cm), totals, out=out, where=totals > 0)
    return out
'''},
    {"name": "confidence of the true class", "fails": "test_find_errors_confidence_of_predicted_class",
     "says": "is the probability of the true class", "code": '''
def find_errors(preds, labels, probs):
    return [{"index": int(n), "true": int(labels[n]), "pred": int(preds[n]),
             "confidence": float(100 * probs[n, labels[n]])}
            for n in np.flatnonzero(preds != labels)]
'''},
    {"name": "confidence as a fraction", "fails": "test_find_errors_confidence_of_predicted_class",
     "says": "must be in percent (0..100), not a fraction", "code": '''
def find_errors(preds, labels, probs):
    return [{"index": int(n), "true": int(labels[n]), "pred": int(preds[n]),
             "confidence": float(probs[n, preds[n]])}
            for n in np.flatnonzero(preds != labels)]
'''},
    {"name": "errors sorted by confidence instead of index order", "fails": "test_find_errors_order_and_keys",
     "says": "in the wrong order", "code": '''
_find_errors = find_errors

def find_errors(preds, labels, probs):
    return sorted(_find_errors(preds, labels, probs), key=lambda e: -e["confidence"])
'''},
    {"name": "plot written without creating its folders", "fails": "test_plot_writes_png",
     "says": "missing folders", "code": '''
def _save(fig, path):
    fig.savefig(path)
    plt.close(fig)
    return Path(path)
'''},
    {"name": "plot folder created without exist_ok fails once it exists", "fails": "test_plot_writes_png",
     "says": "raised FileExistsError when its folder already exists",
     "also_fails": ["test_plot_training_history_panels", "test_plot_confusion_matrix_heat_map", "test_plot_error_cases_grid"], "code": '''
def _save(fig, path):
    path = Path(path)
    path.parent.mkdir(parents=True)
    fig.savefig(path)
    plt.close(fig)
    return path
'''},
    {"name": "plot returns nothing", "fails": "test_plot_writes_png", "says": "must return the path", "code": '''
_save_and_return = _save

def _save(fig, path):
    _save_and_return(fig, path)
'''},
    {"name": "training plot without best-epoch marker", "fails": "test_plot_training_history_panels",
     "says": "does not mark the best epoch", "code": '''
def plot_training_history(history, path):
    epochs = range(1, len(history["val_acc"]) + 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot(epochs, history["train_loss"], label="train")
    ax1.plot(epochs, history["val_loss"], label="val")
    ax2.plot(epochs, history["train_acc"], label="train")
    ax2.plot(epochs, history["val_acc"], label="val")
    ax1.legend(); ax2.legend()
    return _save(fig, path)
'''},
    {"name": "training plot marks the lowest val_loss only", "fails": "test_plot_training_history_panels",
     "says": "where val_loss is lowest (fine as an extra marker)", "also": ["does not mark the best epoch"], "code": '''
def plot_training_history(history, path):
    epochs = np.arange(1, len(history["val_acc"]) + 1)
    low = int(np.argmin(history["val_loss"]))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot(epochs, history["train_loss"], label="train")
    ax1.plot(epochs, history["val_loss"], label="val")
    ax1.plot(epochs[low], history["val_loss"][low], "ro")
    ax2.plot(epochs, history["train_acc"], label="train")
    ax2.plot(epochs, history["val_acc"], label="val")
    return _save(fig, path)
'''},
    {"name": "best-epoch marker one epoch off (0-based argmax on 1-based axes)", "fails": "test_plot_training_history_panels",
     "says": "one epoch before the best", "also": ["does not mark the best epoch"], "code": '''
def plot_training_history(history, path):
    epochs = np.arange(1, len(history["val_acc"]) + 1)
    best = int(np.argmax(history["val_acc"]))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot(epochs, history["train_loss"]); ax1.plot(epochs, history["val_loss"])
    ax2.plot(epochs, history["train_acc"]); ax2.plot(epochs, history["val_acc"])
    ax2.axvline(best, color="grey")
    return _save(fig, path)
'''},
    {"name": "loss and accuracy in one panel", "fails": "test_plot_training_history_panels",
     "says": "separate panels", "code": '''
def plot_training_history(history, path):
    fig, ax = plt.subplots()
    for key, values in history.items():
        ax.plot(range(1, len(values) + 1), values, label=key)
    ax.axvline(int(np.argmax(history["val_acc"])) + 1)
    return _save(fig, path)
'''},
    {"name": "heat map of the transposed matrix", "fails": "test_plot_confusion_matrix_heat_map",
     "says": "the heat map shows the matrix transposed", "code": '''
_plot_confusion_matrix = plot_confusion_matrix

def plot_confusion_matrix(cm, path):
    return _plot_confusion_matrix(np.asarray(cm).T, path)
'''},
    {"name": "heat map without count annotations", "fails": "test_plot_confusion_matrix_heat_map",
     "says": "annotate every cell", "code": '''
def plot_confusion_matrix(cm, path):
    fig, ax = plt.subplots()
    fig.colorbar(ax.imshow(cm, cmap="Blues"), ax=ax)
    ax.set_xlabel("predicted"); ax.set_ylabel("true")
    return _save(fig, path)
'''},
    {"name": "heat map counts written with ax.text(i, j) (transposed cells)", "fails": "test_plot_confusion_matrix_heat_map",
     "says": "wrong cells", "code": '''
def plot_confusion_matrix(cm, path):
    fig, ax = plt.subplots(figsize=(7, 7))
    ax.imshow(cm, cmap="Blues")
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            ax.text(i, j, str(cm[i, j]), ha="center", va="center")
    return _save(fig, path)
'''},
    {"name": "error grid titles missing confidence", "fails": "test_plot_error_cases_grid",
     "says": "must also show the confidence", "code": '''
def plot_error_cases(images, errors, path, num_cases=6):
    fig, axes = plt.subplots(2, 3, figsize=(9, 6))
    for ax in axes.ravel():
        ax.axis("off")
    for ax, e in zip(axes.ravel(), errors[:num_cases]):
        ax.imshow(images[e["index"]].squeeze(), cmap="gray")
        ax.set_title(f"true {e['true']}, predicted {e['pred']}")
    return _save(fig, path)
'''},
    {"name": "error grid takes images by list position, not by 'index'", "fails": "test_plot_error_cases_grid",
     "says": "not by its position", "code": '''
def plot_error_cases(images, errors, path, num_cases=6):
    fig, axes = plt.subplots(2, 3, figsize=(9, 6))
    for ax in axes.ravel():
        ax.axis("off")
    for k, (ax, e) in enumerate(zip(axes.ravel(), errors[:num_cases])):
        ax.imshow(images[k].squeeze(), cmap="gray")
        ax.set_title(f"true {e['true']}, predicted {e['pred']} ({e['confidence']:.1f}%)")
    return _save(fig, path)
'''},
    {"name": "error grid ignores num_cases", "fails": "test_plot_error_cases_grid", "says": "num_cases", "code": '''
_plot_error_cases = plot_error_cases

def plot_error_cases(images, errors, path, num_cases=6):
    return _plot_error_cases(images, errors, path, 6)
'''},
    {"name": "softmax over the batch (dim=0)", "fails": "test_collect_predictions_shapes_and_values",
     "also_fails": ["test_collect_predictions_uses_eval_mode"],
     "says": "softmax over the batch (dim=0)", "code": '''
def collect_predictions(model, loader, device):
    model.eval()
    preds, labels, probs = [], [], []
    with torch.no_grad():
        for images, targets in loader:
            p = torch.softmax(model(images.to(device)), dim=0)
            probs.append(p.cpu().numpy())
            preds.append(p.argmax(dim=1).cpu().numpy())
            labels.append(targets.numpy())
    return np.concatenate(preds), np.concatenate(labels), np.concatenate(probs)
'''},
    {"name": "collect_predictions returning (labels, preds, probs)", "fails": "test_collect_predictions_shapes_and_values",
     "says": "returned the labels first", "code": '''
_collect = collect_predictions

def collect_predictions(model, loader, device):
    preds, labels, probs = _collect(model, loader, device)
    return labels, preds, probs
'''},
    {"name": "find_errors numbering the errors instead of giving the sample's index",
     "fails": "test_find_errors_order_and_keys", "says": "numbers the errors 0, 1, 2", "code": '''
def find_errors(preds, labels, probs):
    wrong = [n for n in range(len(preds)) if preds[n] != labels[n]]
    return [{"index": k, "true": int(labels[n]), "pred": int(preds[n]), "confidence": 100.0 * float(probs[n, preds[n]])}
            for k, n in enumerate(wrong)]
'''},
    {"name": "find_errors with 'true' and 'pred' swapped", "fails": "test_find_errors_order_and_keys",
     "says": "'true' must be labels[", "code": '''
def find_errors(preds, labels, probs):
    return [{"index": n, "true": int(preds[n]), "pred": int(labels[n]), "confidence": 100.0 * float(probs[n, preds[n]])}
            for n in range(len(preds)) if preds[n] != labels[n]]
'''},
    {"name": "find_errors listing the right predictions", "fails": "test_find_errors_order_and_keys",
     "says": "one dict per wrong prediction", "code": '''
def find_errors(preds, labels, probs):
    return [{"index": n, "true": int(labels[n]), "pred": int(preds[n]), "confidence": 100.0 * float(probs[n, preds[n]])}
            for n in range(len(preds)) if preds[n] == labels[n]]
'''},
    {"name": "per-class accuracy divided by the total number of samples", "fails": "test_per_class_accuracy_percent_of_true_class",
     "says": "100 * diagonal / row sums", "code": '''
def per_class_accuracy(cm):
    cm = np.asarray(cm)
    return 100.0 * np.diag(cm) / cm.sum()
'''},
    {"name": "predictions by argmax over the batch (dim=0), every batch kept", "fails": "test_collect_predictions_shapes_and_values",
     "says": "argmax over the batch (dim=0)", "code": '''
def collect_predictions(model, loader, device):
    model.eval()
    preds, labels, probs = [], [], []
    with torch.no_grad():
        for images, targets in loader:
            p = torch.softmax(model(images.to(device)), dim=1)
            probs.append(p.cpu().numpy())
            preds.append(p.argmax(dim=0).cpu().numpy())
            labels.append(targets.cpu().numpy())
    return np.concatenate(preds), np.concatenate(labels), np.concatenate(probs)
'''},
    {"name": "predictions by argmax(0) of all logits at once", "fails": "test_collect_predictions_shapes_and_values",
     "says": "argmax over the batch (dim=0)", "code": '''
def collect_predictions(model, loader, device):
    model.eval()
    logits, labels = [], []
    with torch.no_grad():
        for images, targets in loader:
            logits.append(model(images.to(device)).cpu())
            labels.append(targets.cpu())
    logits = torch.cat(logits)
    return logits.argmax(0).numpy(), torch.cat(labels).numpy(), torch.softmax(logits, 1).numpy()
'''},
    {"name": "return inside the loop (first batch only)", "fails": "test_collect_predictions_shapes_and_values",
     "also_fails": ["test_collect_predictions_uses_eval_mode"],
     "says": "one batch only", "code": '''
def collect_predictions(model, loader, device):
    model.eval()
    with torch.no_grad():
        for images, targets in loader:
            p = torch.softmax(model(images.to(device)), dim=1)
            return p.argmax(dim=1).cpu().numpy(), targets.cpu().numpy(), p.cpu().numpy()
'''},
    {"name": "per-class accuracy with integer division (//)", "fails": "test_per_class_accuracy_percent_of_true_class",
     "says": "integer division", "also": ["the fractions were cut off", "integer division", "a cast to int", "integer", "row sums", "100 * diagonal / row sums"], "code": '''
def per_class_accuracy(cm):
    cm = np.asarray(cm)
    totals = cm.sum(axis=1)
    out = np.full(len(totals), np.nan)
    np.floor_divide(100 * np.diag(cm), totals, out=out, where=totals > 0)
    return out
'''},
    {"name": "per-class accuracy cast to int", "fails": "test_per_class_accuracy_percent_of_true_class",
     "says": "a cast to int", "also": ["the fractions were cut off", "integer division", "a cast to int", "integer", "row sums", "100 * diagonal / row sums"], "code": '''
def per_class_accuracy(cm):
    cm = np.asarray(cm)
    totals = cm.sum(axis=1)
    out = np.full(len(totals), np.nan)
    np.divide(100.0 * np.diag(cm), totals, out=out, where=totals > 0)
    return np.where(totals > 0, np.trunc(out), np.nan)
'''},
    {"name": "confidence cast to int", "fails": "test_find_errors_confidence_of_predicted_class",
     "says": "the fractions were cut off", "also": ["integer division", "a cast to int", "integer"], "code": '''
def find_errors(preds, labels, probs):
    return [{"index": int(n), "true": int(labels[n]), "pred": int(preds[n]),
             "confidence": int(100 * probs[n, preds[n]])}
            for n in np.flatnonzero(preds != labels)]
'''},
    {"name": "training plot: plt.close() before plt.savefig", "fails": "test_plot_training_history_panels",
     "also_fails": ["test_plot_writes_png"], "says": "saved an empty figure", "code": '''
def plot_training_history(history, path):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    epochs = range(1, len(history["val_acc"]) + 1)
    plt.figure(figsize=(10, 4))
    plt.subplot(1, 2, 1)
    plt.plot(epochs, history["train_loss"]); plt.plot(epochs, history["val_loss"])
    plt.subplot(1, 2, 2)
    plt.plot(epochs, history["train_acc"]); plt.plot(epochs, history["val_acc"])
    plt.axvline(int(np.argmax(history["val_acc"])) + 1)
    plt.close()
    plt.savefig(path)
    return path
'''},
    {"name": "heat map: plt.close() before plt.savefig", "fails": "test_plot_confusion_matrix_heat_map",
     "also_fails": ["test_plot_writes_png"], "says": "saved an empty figure", "code": '''
def plot_confusion_matrix(cm, path):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    plt.figure()
    plt.imshow(cm)
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            plt.text(j, i, str(cm[i, j]), ha="center", va="center")
    plt.close()
    plt.savefig(path)
    return path
'''},
    {"name": "probs from a sigmoid instead of a softmax", "fails": "test_collect_predictions_shapes_and_values",
     "also_fails": ["test_collect_predictions_uses_eval_mode"], "says": "the sigmoid of each logit", "code": '''
def collect_predictions(model, loader, device):
    model.eval()
    preds, labels, probs = [], [], []
    with torch.no_grad():
        for images, targets in loader:
            p = torch.sigmoid(model(images.to(device)))
            probs.append(p.cpu().numpy())
            preds.append(p.argmax(dim=1).cpu().numpy())
            labels.append(targets.cpu().numpy())
    return np.concatenate(preds), np.concatenate(labels), np.concatenate(probs)
'''},
    {"name": "probs from log_softmax", "fails": "test_collect_predictions_shapes_and_values",
     "also_fails": ["test_collect_predictions_uses_eval_mode"], "says": "log-probabilities", "code": '''
def collect_predictions(model, loader, device):
    model.eval()
    preds, labels, probs = [], [], []
    with torch.no_grad():
        for images, targets in loader:
            p = torch.log_softmax(model(images.to(device)), dim=1)
            probs.append(p.cpu().numpy())
            preds.append(p.argmax(dim=1).cpu().numpy())
            labels.append(targets.cpu().numpy())
    return np.concatenate(preds), np.concatenate(labels), np.concatenate(probs)
'''},
    {"name": "find_errors with 1-based indices", "fails": "test_find_errors_order_and_keys",
     "says": "every 'index' is one more than the sample's position", "code": '''
def find_errors(preds, labels, probs):
    return [{"index": n + 1, "true": int(labels[n]), "pred": int(preds[n]), "confidence": float(100 * probs[n, preds[n]])}
            for n in range(len(preds)) if preds[n] != labels[n]]
'''},
    {"name": "best epoch marked at the lowest val_acc (argmin)", "fails": "test_plot_training_history_panels",
     "says": "where val_acc is lowest (np.argmin)", "also": ["does not mark the best epoch"], "code": '''
def plot_training_history(history, path):
    epochs = np.arange(1, len(history["val_acc"]) + 1)
    best = int(np.argmin(history["val_acc"]))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot(epochs, history["train_loss"]); ax1.plot(epochs, history["val_loss"])
    ax2.plot(epochs, history["train_acc"]); ax2.plot(epochs, history["val_acc"])
    ax2.axvline(epochs[best], color="grey")
    return _save(fig, path)
'''},
    {"name": "best epoch marked at the last epoch", "fails": "test_plot_training_history_panels",
     "says": "the last epoch", "also": ["does not mark the best epoch"], "code": '''
def plot_training_history(history, path):
    epochs = np.arange(1, len(history["val_acc"]) + 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot(epochs, history["train_loss"]); ax1.plot(epochs, history["val_loss"])
    ax2.plot(epochs, history["train_acc"]); ax2.plot(epochs, history["val_acc"])
    ax2.axvline(epochs[-1], color="grey")
    return _save(fig, path)
'''},
    {"name": "confusion_matrix default num_classes 5", "fails": "test_defaults_match_the_contract",
     "also_fails": ["test_confusion_matrix_size_is_num_classes"], "says": "default is num_classes=5", "code": '''
_confusion_matrix = confusion_matrix

def confusion_matrix(labels, preds, num_classes=5):
    return _confusion_matrix(labels, preds, num_classes)
'''},
    {"name": "plot_error_cases default num_cases 9", "fails": "test_defaults_match_the_contract",
     "says": "default is num_cases=9", "code": '''
_plot_error_cases = plot_error_cases

def plot_error_cases(images, errors, path, num_cases=9):
    return _plot_error_cases(images, errors, path, num_cases)
'''},
]

CORRECT = [
    {"name": "defaults spelled with keyword-only extras and annotations", "tests": ["test_defaults_match_the_contract"],
     "code": '''
_confusion_matrix, _plot_error_cases = confusion_matrix, plot_error_cases

def confusion_matrix(labels: np.ndarray, preds: np.ndarray, num_classes: int = 10, *, dtype=np.int64) -> np.ndarray:
    return _confusion_matrix(labels, preds, num_classes).astype(dtype)

def plot_error_cases(images, errors, path, num_cases: int = 6, *, cols: int = 3):
    return _plot_error_cases(images, errors, path, num_cases)
'''},
    {"name": "training plot saved once before drawing, then again after", "tests": ["test_plot_training_history_panels"],
     "code": '''
def plot_training_history(history, path):
    epochs = np.arange(1, len(history["val_acc"]) + 1)
    best = int(np.argmax(history["val_acc"]))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    _save_early = Path(path); _save_early.parent.mkdir(parents=True, exist_ok=True); fig.savefig(_save_early)
    ax1.plot(epochs, history["train_loss"]); ax1.plot(epochs, history["val_loss"])
    ax2.plot(epochs, history["train_acc"]); ax2.plot(epochs, history["val_acc"])
    ax2.plot(epochs[best], history["val_acc"][best], "r*")
    return _save(fig, path)
'''},
    {"name": "collect_predictions with torch.cat on the device, .to('cpu') and np.asarray at the end",
     "tests": ["test_collect_predictions_shapes_and_values", "test_collect_predictions_uses_eval_mode",
               "test_collect_predictions_without_gradients"], "code": '''
def collect_predictions(model, loader, device):
    model.eval()
    logits, labels = [], []
    with torch.inference_mode():
        for images, targets in loader:
            images, targets = images.to(device, non_blocking=True), targets.to(device)
            logits.append(model(images))
            labels.append(targets)
    logits, labels = torch.cat(logits), torch.cat(labels)
    probs = torch.softmax(logits, dim=1)
    return (np.asarray(probs.argmax(dim=1).to("cpu")), labels.detach().cpu().numpy(),
            probs.cpu().numpy())
'''},
    {"name": "confusion matrix with a Python loop", "tests": [
        "test_confusion_matrix_rows_are_true_classes", "test_confusion_matrix_matches_brute_force",
        "test_confusion_matrix_size_is_num_classes"], "code": '''
def confusion_matrix(labels, preds, num_classes=10):
    cm = np.zeros((num_classes, num_classes), dtype=int)
    for t, p in zip(labels, preds):
        cm[t, p] += 1
    return cm
'''},
    {"name": "confusion matrix with np.bincount", "tests": [
        "test_confusion_matrix_rows_are_true_classes", "test_confusion_matrix_matches_brute_force",
        "test_confusion_matrix_size_is_num_classes"], "code": '''
def confusion_matrix(labels, preds, num_classes=10):
    flat = np.asarray(labels) * num_classes + np.asarray(preds)
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)
'''},
    {"name": "seed-style collect: inference_mode, torch.max(outputs.data, 1), extend then np.array", "tests": [
        "test_collect_predictions_shapes_and_values", "test_collect_predictions_uses_eval_mode",
        "test_collect_predictions_without_gradients"], "code": '''
def collect_predictions(model, loader, device):
    model.eval()
    all_preds, all_labels, all_probs = [], [], []
    with torch.inference_mode():
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            outputs = model(images)
            probs = torch.nn.functional.softmax(outputs, dim=1)
            _, predicted = torch.max(outputs.data, 1)
            all_preds.extend(predicted.cpu().numpy())
            all_labels.extend(labels.cpu().numpy())
            all_probs.extend(probs.cpu().numpy())
    return np.array(all_preds), np.array(all_labels), np.array(all_probs)
'''},
    {"name": "per-class accuracy with np.errstate and np.where", "tests": [
        "test_per_class_accuracy_percent_of_true_class", "test_per_class_accuracy_empty_class_is_nan"], "code": '''
def per_class_accuracy(cm):
    cm = np.asarray(cm, dtype=float)
    totals = cm.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(totals > 0, 100 * np.diag(cm) / totals, np.nan)
'''},
    {"name": "seed-style find_errors: loop, max(probs) * 100", "tests": [
        "test_find_errors_order_and_keys", "test_find_errors_confidence_of_predicted_class"], "code": '''
def find_errors(preds, labels, probs):
    errors = []
    for i in range(len(preds)):
        if preds[i] != labels[i]:
            errors.append({"index": i, "true": labels[i], "pred": preds[i], "confidence": max(probs[i]) * 100})
    return errors
'''},
    {"name": "seed-style training plot: pyplot, points + annotations, plt.savefig, plt.close", "tests": [
        "test_plot_writes_png", "test_plot_training_history_panels"], "code": '''
def plot_training_history(history, path):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    plt.figure(figsize=(14, 5))
    epochs_range = range(1, len(history["train_loss"]) + 1)
    plt.subplot(1, 2, 1)
    plt.plot(epochs_range, history["train_loss"], "b-", label="train")
    plt.plot(epochs_range, history["val_loss"], "r-", label="val")
    low = int(np.argmin(history["val_loss"])) + 1
    plt.plot(low, history["val_loss"][low - 1], "ro", markersize=10)
    plt.legend()
    plt.subplot(1, 2, 2)
    plt.plot(epochs_range, history["train_acc"], "b-", label="train")
    plt.plot(epochs_range, history["val_acc"], "r-", label="val")
    best = int(np.argmax(history["val_acc"])) + 1
    plt.plot(best, history["val_acc"][best - 1], "go", markersize=10)
    plt.annotate(f"best {history['val_acc'][best - 1]:.2f}%", xy=(best, history["val_acc"][best - 1]),
                 xytext=(best - 2, history["val_acc"][best - 1] - 3), arrowprops=dict(arrowstyle="->"))
    plt.tight_layout()
    plt.savefig(path)
    plt.close()
    return path
'''},
    {"name": "training plot: implicit 0-based x, scatter marker on one panel, axvspan on the other", "tests": [
        "test_plot_writes_png", "test_plot_training_history_panels"], "code": '''
def plot_training_history(history, path):
    best = int(np.argmax(history["val_acc"]))
    fig, axes = plt.subplots(2, 1, sharex=True)
    axes[0].plot(history["train_loss"]); axes[0].plot(history["val_loss"])
    axes[0].axvspan(best - 0.2, best + 0.2, alpha=0.2)
    axes[1].plot(history["train_acc"]); axes[1].plot(history["val_acc"])
    axes[1].scatter([best], [history["val_acc"][best]], s=80, c="red", zorder=3)
    return _save(fig, path)
'''},
    {"name": "training plot: marker drawn with markevery on the val_acc line", "tests": [
        "test_plot_training_history_panels"], "code": '''
def plot_training_history(history, path):
    best = int(np.argmax(history["val_acc"]))
    epochs = list(range(1, len(history["val_acc"]) + 1))
    fig, (a, b) = plt.subplots(1, 2)
    a.plot(epochs, history["train_loss"]); a.plot(epochs, history["val_loss"])
    b.plot(epochs, history["train_acc"]); b.plot(epochs, history["val_acc"], marker="*", markersize=14, markevery=[best])
    return _save(fig, path)
'''},
    {"name": "heat map with pcolormesh, inverted y axis, counts at cell centres, pyplot savefig", "tests": [
        "test_plot_writes_png", "test_plot_confusion_matrix_heat_map"], "code": '''
def plot_confusion_matrix(cm, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    plt.figure(figsize=(8, 7))
    plt.pcolormesh(cm, cmap="viridis")
    plt.colorbar()
    plt.gca().invert_yaxis()
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            if cm[i, j]:
                plt.text(j + 0.5, i + 0.5, f"{cm[i, j]:d}", ha="center", va="center")
    plt.xlabel("predicted"); plt.ylabel("true")
    plt.savefig(str(path))
    plt.close()
    return str(path)
'''},
    {"name": "heat map coloured by row percentage, annotate() with count and percent, matshow", "tests": [
        "test_plot_confusion_matrix_heat_map"], "code": '''
def plot_confusion_matrix(cm, path):
    share = 100 * cm / cm.sum(axis=1, keepdims=True)
    fig, ax = plt.subplots(figsize=(9, 8))
    ax.matshow(share, cmap="Blues")
    for (i, j), count in np.ndenumerate(cm):
        ax.annotate(f"{count}\\n{share[i, j]:.0f}%", xy=(j, i), ha="center", va="center", fontsize=7)
    return _save(fig, path)
'''},
    {"name": "seed-style error grid: fixed 2x3 grid, random choice, de-normalised, rounded percent", "tests": [
        "test_plot_writes_png", "test_plot_error_cases_grid"], "code": '''
def plot_error_cases(images, errors, path, num_cases=6):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(2, 3, figsize=(12, 8))
    axes = axes.ravel()
    chosen = np.random.choice(len(errors), min(num_cases, len(errors)), replace=False)
    for idx, ax in enumerate(axes):
        if idx >= len(chosen):
            ax.axis("off")
            continue
        error = errors[chosen[idx]]
        img = images[error["index"]].squeeze() * 0.3081 + 0.1307
        ax.imshow(img.clamp(0, 1), cmap="gray")
        ax.set_title(f"True: {error['true']}, Pred: {error['pred']}\\nConf: {error['confidence']:.0f}%", color="red")
        ax.axis("off")
    plt.suptitle("Wrong predictions")
    plt.tight_layout()
    plt.savefig(path)
    plt.close(fig)
    return path
'''},
    {"name": "collect_predictions taking the arg-max of the logits, torch.cat then .numpy()", "code": '''
def collect_predictions(model, loader, device):
    model.eval()
    all_logits, all_labels = [], []
    with torch.inference_mode():
        for images, targets in loader:
            all_logits.append(model(images.to(device)).cpu())
            all_labels.append(targets)
    logits = torch.cat(all_logits)
    return logits.argmax(1).numpy(), torch.cat(all_labels).numpy(), torch.softmax(logits, 1).numpy()
'''},
    {"name": "figure closed with plt.close(fig) before fig.savefig (the figure keeps its drawing)", "tests": [
        "test_plot_writes_png", "test_plot_training_history_panels"], "code": '''
def plot_training_history(history, path):
    best = int(np.argmax(history["val_acc"]))
    fig, (a, b) = plt.subplots(1, 2)
    a.plot(history["train_loss"]); a.plot(history["val_loss"])
    b.plot(history["train_acc"]); b.plot(history["val_acc"]); b.axvline(best)
    plt.close(fig)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path
'''},
    {"name": "per-class accuracy from float true division with np.true_divide and np.errstate", "tests": [
        "test_per_class_accuracy_percent_of_true_class", "test_per_class_accuracy_empty_class_is_nan"], "code": '''
def per_class_accuracy(cm):
    cm = np.asarray(cm)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.true_divide(np.diag(cm) * 100, cm.sum(1))
'''},
]
