"""Mistake gallery for 05_checkpoint: broken checkpoint code that must fail, correct variants that must pass.

Each ``code`` is appended to a copy of solutions/05_checkpoint/checkpoint.py (whose imports it uses).
"""

SLOW = []  # tests a mutant runs only when its `fails` names them

MUTANTS = [
    {"name": "checkpoint without optimizer state",
     "also_fails": ["test_load_restores_optimizer"],
     "fails": ["test_save_checkpoint_contents", "test_resume_is_bit_exact"],
     "says": "holds no optimizer state", "also": ["restore the optimizer"], "code": '''
def save_checkpoint(model, optimizer, epoch, loss, accuracy, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"epoch": epoch, "model_state_dict": model.state_dict(), "loss": loss,
             "accuracy": accuracy, "model_architecture": str(model)}
    tmp = path.with_name(path.name + ".part")
    torch.save(state, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(path, model, optimizer=None, map_location="cpu"):
    path = Path(path)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:
        raise RuntimeError(f"cannot read checkpoint {path}") from exc
    model.load_state_dict(state["model_state_dict"])
    return {"epoch": state["epoch"], "loss": state["loss"], "accuracy": state["accuracy"]}
'''},
    {"name": "non-atomic save: torch.save straight onto path",
     "fails": "test_save_is_atomic", "says": "the write is not atomic", "code": '''
def save_checkpoint(model, optimizer, epoch, loss, accuracy, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"epoch": epoch, "model_state_dict": model.state_dict(),
                "optimizer_state_dict": optimizer.state_dict(), "loss": loss,
                "accuracy": accuracy, "model_architecture": str(model)}, path)
    return path
'''},
    {"name": "non-atomic save through an open file handle",
     "fails": "test_save_is_atomic", "says": "the write is not atomic", "code": '''
def save_checkpoint(model, optimizer, epoch, loss, accuracy, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        torch.save({"epoch": epoch, "model_state_dict": model.state_dict(),
                    "optimizer_state_dict": optimizer.state_dict(), "loss": loss,
                    "accuracy": accuracy, "model_architecture": str(model)}, f)
    return path
'''},
    {"name": "save swallows errors", "fails": "test_save_is_atomic", "says": "propagate", "code": '''
_atomic_save = save_checkpoint


def save_checkpoint(model, optimizer, epoch, loss, accuracy, path):
    try:
        return _atomic_save(model, optimizer, epoch, loss, accuracy, path)
    except Exception as exc:
        print("could not save checkpoint:", exc)
        return Path(path)
'''},
    {"name": "temporary file copied, not moved",
     "also_fails": ["test_save_is_atomic"],
     "fails": "test_save_leaves_no_temporary_files", "says": "folder holds more than the checkpoint", "also": ["the write is not atomic"], "code": '''
import shutil


def save_checkpoint(model, optimizer, epoch, loss, accuracy, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"epoch": epoch, "model_state_dict": model.state_dict(),
                "optimizer_state_dict": optimizer.state_dict(), "loss": loss,
                "accuracy": accuracy, "model_architecture": str(model)}, tmp)
    shutil.copyfile(tmp, path)
    return path
'''},
    {"name": "missing parent folder creation",
     "also_fails": ["test_resume_is_bit_exact"],
     "fails": "test_save_creates_parent_folders", "says": "parent folder", "code": '''
def save_checkpoint(model, optimizer, epoch, loss, accuracy, path):
    path = Path(path)
    tmp = path.with_suffix(".tmp")
    torch.save({"epoch": epoch, "model_state_dict": model.state_dict(),
                "optimizer_state_dict": optimizer.state_dict(), "loss": loss,
                "accuracy": accuracy, "model_architecture": str(model)}, tmp)
    os.replace(tmp, path)
    return path
'''},
    {"name": "returns the path as given (a str)", "fails": "test_save_returns_path", "says": "pathlib.Path",
     "code": '''
_save_as_path = save_checkpoint


def save_checkpoint(model, optimizer, epoch, loss, accuracy, path):
    _save_as_path(model, optimizer, epoch, loss, accuracy, path)
    return path
'''},
    {"name": "saves the whole model object (not loadable with weights_only)",
     "also_fails": ["test_save_leaves_no_temporary_files", "test_resume_is_bit_exact"],
     "fails": "test_save_checkpoint_contents", "says": "cannot be read with torch.load(path, weights_only=True)", "code": '''
def save_checkpoint(model, optimizer, epoch, loss, accuracy, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"epoch": epoch, "model": model, "optimizer": optimizer, "loss": loss,
                "accuracy": accuracy}, tmp)
    os.replace(tmp, path)
    return path
'''},
    {"name": "architecture stored as the class name", "fails": "test_save_checkpoint_contents",
     "says": "str(model)", "code": '''
def save_checkpoint(model, optimizer, epoch, loss, accuracy, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"epoch": epoch, "model_state_dict": model.state_dict(),
                "optimizer_state_dict": optimizer.state_dict(), "loss": loss,
                "accuracy": accuracy, "model_architecture": type(model).__name__}, tmp)
    os.replace(tmp, path)
    return path
'''},
    {"name": "weights_only=False", "fails": "test_load_refuses_pickled_code", "says": "ran code hidden inside an untrusted",
     "code": '''
def load_checkpoint(path, model, optimizer=None, map_location="cpu"):
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as exc:
        raise RuntimeError(f"cannot read checkpoint {path}") from exc
    model.load_state_dict(state["model_state_dict"])
    if optimizer is not None:
        optimizer.load_state_dict(state["optimizer_state_dict"])
    return {"epoch": state["epoch"], "loss": state["loss"], "accuracy": state["accuracy"]}
'''},
    {"name": "load ignores the optimizer",
     "fails": ["test_load_restores_optimizer", "test_resume_is_bit_exact"],
     "says": "restore the optimizer", "code": '''
def load_checkpoint(path, model, optimizer=None, map_location="cpu"):
    path = Path(path)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:
        raise RuntimeError(f"cannot read checkpoint {path}") from exc
    model.load_state_dict(state["model_state_dict"])
    return {"epoch": state["epoch"], "loss": state["loss"], "accuracy": state["accuracy"]}
'''},
    {"name": "load forgets the model",
     "also_fails": ["test_resume_is_bit_exact"], "fails": "test_load_restores_model_and_returns_info",
     "says": "did not restore the model", "code": '''
def load_checkpoint(path, model, optimizer=None, map_location="cpu"):
    path = Path(path)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:
        raise RuntimeError(f"cannot read checkpoint {path}") from exc
    if optimizer is not None:
        optimizer.load_state_dict(state["optimizer_state_dict"])
    return {"epoch": state["epoch"], "loss": state["loss"], "accuracy": state["accuracy"]}
'''},
    {"name": "error for a missing file does not name the path",
     "fails": ["test_load_missing_file_names_path", "test_load_corrupt_file_names_path"],
     "says": "does not name the path", "code": '''
def load_checkpoint(path, model, optimizer=None, map_location="cpu"):
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception:
        raise Exception("load failed")
    model.load_state_dict(state["model_state_dict"])
    if optimizer is not None:
        optimizer.load_state_dict(state["optimizer_state_dict"])
    return {"epoch": state["epoch"], "loss": state["loss"], "accuracy": state["accuracy"]}
'''},
    {"name": "torch.load errors passed on unwrapped (corrupt file not named)",
     "fails": "test_load_corrupt_file_names_path", "says": "let torch.load's own", "code": '''
def load_checkpoint(path, model, optimizer=None, map_location="cpu"):
    state = torch.load(path, map_location=map_location, weights_only=True)
    model.load_state_dict(state["model_state_dict"])
    if optimizer is not None:
        optimizer.load_state_dict(state["optimizer_state_dict"])
    return {"epoch": state["epoch"], "loss": state["loss"], "accuracy": state["accuracy"]}
'''},
    {"name": "inference model left in training mode", "fails": "test_load_model_for_inference",
     "says": "model.eval()", "code": '''
def load_model_for_inference(model, path, map_location="cpu"):
    model.load_state_dict(torch.load(path, map_location=map_location, weights_only=True))
    return model
'''},
    {"name": "prediction on an image never moved to the device",
     "also_fails": ["test_predict_single_image_mode"], "fails": "test_predict_single_image_values",
     "says": "went into the model", "code": '''
def predict_single_image(model, image, device="cpu"):
    model.eval()
    with torch.no_grad():
        probs = torch.softmax(model(image.unsqueeze(0)), dim=1)[0]
        predicted = int(probs.argmax().item())
        return predicted, float(probs[predicted].item() * 100.0)
'''},
    {"name": "probabilities turned into NumPy without .cpu()",
     "also_fails": ["test_predict_single_image_mode"], "fails": "test_predict_single_image_values",
     "says": "without .cpu()", "code": '''
def predict_single_image(model, image, device="cpu"):
    model.eval()
    with torch.no_grad():
        probs = torch.softmax(model(image.unsqueeze(0).to(device)), dim=1)[0].numpy()
        predicted = int(probs.argmax())
        return predicted, float(probs[predicted] * 100.0)
'''},
    {"name": "prediction without model.eval()", "fails": "test_predict_single_image_mode",
     "says": "model.eval()", "code": '''
def predict_single_image(model, image, device="cpu"):
    with torch.no_grad():
        probs = torch.softmax(model(image.unsqueeze(0).to(device)), dim=1)[0]
    cls = int(probs.argmax())
    return cls, float(probs[cls]) * 100
'''},
    {"name": "prediction tracks gradients", "fails": "test_predict_single_image_mode",
     "says": "no_grad", "code": '''
def predict_single_image(model, image, device="cpu"):
    model.eval()
    probs = torch.softmax(model(image.unsqueeze(0).to(device)), dim=1)[0]
    cls = int(probs.argmax())
    return cls, float(probs[cls]) * 100
'''},
    {"name": "confidence as a fraction",
     "also_fails": ["test_predict_single_image_mode"], "fails": "test_predict_single_image_values",
     "says": "is a fraction between 0 and 1", "code": '''
def predict_single_image(model, image, device="cpu"):
    model.eval()
    with torch.no_grad():
        probs = torch.softmax(model(image.unsqueeze(0).to(device)), dim=1)[0]
    cls = int(probs.argmax())
    return cls, float(probs[cls])
'''},
    {"name": "no batch dimension",
     "also_fails": ["test_predict_single_image_mode"], "fails": "test_predict_single_image_values",
     "says": "unsqueeze(0)", "code": '''
def predict_single_image(model, image, device="cpu"):
    model.eval()
    with torch.no_grad():
        probs = torch.softmax(model(image.to(device)), dim=-1).reshape(-1)
    cls = int(probs.argmax())
    return cls, float(probs[cls]) * 100
'''},
    {"name": "tensors returned instead of Python numbers",
     "also_fails": ["test_predict_single_image_mode"], "fails": "test_predict_single_image_values",
     "says": ".item()", "code": '''
def predict_single_image(model, image, device="cpu"):
    model.eval()
    with torch.no_grad():
        probs = torch.softmax(model(image.unsqueeze(0).to(device)), dim=1)[0]
    conf, cls = probs.max(dim=0)
    return cls, conf * 100
'''},
    {"name": "save through a temporary file copied onto path, then removed (not atomic)", "fails": "test_save_is_atomic",
     "says": "the write is not atomic", "code": '''
import shutil

def save_checkpoint(model, optimizer, epoch, loss, accuracy, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"epoch": epoch, "model_state_dict": model.state_dict(), "optimizer_state_dict": optimizer.state_dict(),
                "loss": loss, "accuracy": accuracy, "model_architecture": str(model)}, tmp)
    shutil.copy(tmp, path)
    os.remove(tmp)
    return path
'''},
    {"name": "load with weights_only=True that lets torch's error through (no path named)",
     "fails": "test_load_corrupt_file_names_path", "says": "let torch.load's own", "code": '''
def load_checkpoint(path, model, optimizer=None, map_location="cpu"):
    checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    model.load_state_dict(checkpoint["model_state_dict"])
    if optimizer is not None:
        optimizer.load_state_dict(checkpoint["optimizer_state_dict"])
    return {"epoch": checkpoint["epoch"], "loss": checkpoint["loss"], "accuracy": checkpoint["accuracy"]}
'''},
    {"name": "checkpoint without the epoch",
     "also_fails": ["test_resume_is_bit_exact"], "fails": "test_save_checkpoint_contents",
     "says": "missing the key(s) ['epoch']", "code": '''
def save_checkpoint(model, optimizer, epoch, loss, accuracy, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    checkpoint = {"model_state_dict": model.state_dict(), "optimizer_state_dict": optimizer.state_dict(),
                  "loss": loss, "accuracy": accuracy, "model_architecture": str(model)}
    tmp = path.with_name(path.name + ".tmp")
    torch.save(checkpoint, tmp)
    os.replace(tmp, path)
    return path
'''},
    {"name": "prediction confidence from the logits (no softmax)",
     "also_fails": ["test_predict_single_image_mode"], "fails": "test_predict_single_image_values",
     "says": "raw logit of the predicted class", "code": '''
def predict_single_image(model, image, device="cpu"):
    model.eval()
    with torch.no_grad():
        logits = model(image.unsqueeze(0).to(device))[0]
        predicted = int(logits.argmax().item())
        return predicted, float(logits[predicted].item())
'''},
    {"name": "temporary file made in the system's temp folder (mkstemp without dir)", "fails": "test_save_is_atomic",
     "says": "not in the checkpoint's folder", "code": '''
def save_checkpoint(model, optimizer, epoch, loss, accuracy, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".pth")
    with os.fdopen(fd, "wb") as f:
        torch.save({"epoch": epoch, "model_state_dict": model.state_dict(),
                    "optimizer_state_dict": optimizer.state_dict(), "loss": loss,
                    "accuracy": accuracy, "model_architecture": str(model)}, f)
    os.replace(tmp, path)
    return path
'''},
    {"name": "load_checkpoint calling torch.load without map_location",
     "fails": "test_load_restores_model_and_returns_info", "says": "called torch.load without map_location", "code": '''
def load_checkpoint(path, model, optimizer=None, map_location="cpu"):
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        state = torch.load(path, weights_only=True)
    except Exception as exc:
        raise RuntimeError(f"cannot read checkpoint {path}") from exc
    model.load_state_dict(state["model_state_dict"])
    if optimizer is not None:
        optimizer.load_state_dict(state["optimizer_state_dict"])
    return {"epoch": state["epoch"], "loss": state["loss"], "accuracy": state["accuracy"]}
'''},
    {"name": "load_model_for_inference calling torch.load without map_location",
     "fails": "test_load_model_for_inference", "says": "called torch.load without map_location", "code": '''
def load_model_for_inference(model, path, map_location="cpu"):
    model.load_state_dict(torch.load(path, weights_only=True))
    model.eval()
    return model
'''},
    {"name": "softmax over the batch dimension (dim=0)", "fails": "test_predict_single_image_values",
     "also_fails": ["test_predict_single_image_mode"], "says": "batch dimension (dim=0)", "code": '''
def predict_single_image(model, image, device="cpu"):
    model.eval()
    with torch.no_grad():
        logits = model(image.unsqueeze(0).to(device))
        probs = torch.softmax(logits, dim=0)
        confidence, predicted = probs.max(dim=1)
    return int(predicted.item()), float(confidence.item()) * 100
'''},
    {"name": "softmax over dim 0 with the class taken from the logits", "fails": "test_predict_single_image_values",
     "also_fails": ["test_predict_single_image_mode"], "says": "batch dimension (dim=0)", "code": '''
def predict_single_image(model, image, device="cpu"):
    model.eval()
    with torch.no_grad():
        logits = model(image.unsqueeze(0).to(device))
        predicted = int(logits.argmax(dim=1).item())
        return predicted, float(torch.softmax(logits, dim=0)[0, predicted].item()) * 100
'''},
    {"name": "checkpoint storing the next epoch's number (epoch + 1)", "fails": "test_save_checkpoint_contents",
     "also_fails": ["test_save_leaves_no_temporary_files"], "says": "should be the int 7", "code": '''
_save_epoch = save_checkpoint


def save_checkpoint(model, optimizer, epoch, loss, accuracy, path):
    return _save_epoch(model, optimizer, epoch + 1, loss, accuracy, path)
'''},
    {"name": "checkpoint storing model.state_dict without the call parentheses", "fails": "test_save_checkpoint_contents",
     "also_fails": ["test_save_leaves_no_temporary_files", "test_resume_is_bit_exact"], "says": "bound method",
     "also": ["cannot be read with torch.load(path, weights_only=True)"],
     "code": '''
def save_checkpoint(model, optimizer, epoch, loss, accuracy, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"epoch": epoch, "model_state_dict": model.state_dict, "optimizer_state_dict": optimizer.state_dict(),
                "loss": loss, "accuracy": accuracy, "model_architecture": str(model)}, tmp)
    os.replace(tmp, path)
    return path
'''},
    # walkthrough late2: argument and return orders, returned keys, text mode, defaults
    {"name": "save_checkpoint taking (epoch, accuracy, loss)", "fails": "test_save_checkpoint_contents",
     "says": "stored under the wrong keys", "code": '''
_contract_save = save_checkpoint


def save_checkpoint(model, optimizer, epoch, accuracy, loss, path):
    return _contract_save(model, optimizer, epoch, loss, accuracy, path)
'''},
    {"name": "load_checkpoint returning the whole checkpoint dict", "fails": "test_load_restores_model_and_returns_info",
     "says": "extra key(s)", "code": '''
_contract_load = load_checkpoint


def load_checkpoint(path, model, optimizer=None, map_location="cpu"):
    _contract_load(path, model, optimizer, map_location)
    return torch.load(path, map_location=map_location, weights_only=True)
'''},
    {"name": "load_checkpoint returning loss and accuracy swapped", "fails": "test_load_restores_model_and_returns_info",
     "says": "right numbers under the wrong keys", "code": '''
_contract_load = load_checkpoint


def load_checkpoint(path, model, optimizer=None, map_location="cpu"):
    info = _contract_load(path, model, optimizer, map_location)
    return {"epoch": info["epoch"], "loss": info["accuracy"], "accuracy": info["loss"]}
'''},
    {"name": "predict_single_image returning (confidence, class)",
     "fails": ["test_predict_single_image_values", "test_predict_single_image_mode"],
     "says": "returned (confidence, class)", "code": '''
_contract_predict = predict_single_image


def predict_single_image(model, image, device="cpu"):
    cls, confidence = _contract_predict(model, image, device)
    return confidence, cls
'''},
    {"name": "temporary file opened in text mode ('w')", "fails": "test_save_checkpoint_contents",
     "also_fails": ["test_save_creates_parent_folders", "test_save_returns_path", "test_save_is_atomic",
                    "test_save_leaves_no_temporary_files", "test_resume_is_bit_exact"],
     "says": "opened in text mode", "code": '''
def save_checkpoint(model, optimizer, epoch, loss, accuracy, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    checkpoint = {"epoch": epoch, "model_state_dict": model.state_dict(),
                  "optimizer_state_dict": optimizer.state_dict(), "loss": loss, "accuracy": accuracy,
                  "model_architecture": str(model)}
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        torch.save(checkpoint, f)
    os.replace(tmp, path)
    return path
'''},
    {"name": "load_checkpoint and predict_single_image with wrong defaults", "fails": "test_contract_defaults",
     "says": "the contract's is map_location='cpu'", "code": '''
_contract_load, _contract_predict = load_checkpoint, predict_single_image


def load_checkpoint(path, model, optimizer=None, map_location=None):
    return _contract_load(path, model, optimizer, map_location)


def predict_single_image(model, image, device="cuda"):
    return _contract_predict(model, image, device)
'''},
]

CORRECT = [
    {"name": "tempfile.NamedTemporaryFile + os.replace",
     "tests": ["test_save_checkpoint_contents", "test_save_creates_parent_folders", "test_save_returns_path",
               "test_save_is_atomic", "test_save_leaves_no_temporary_files", "test_resume_is_bit_exact"],
     "code": '''
def save_checkpoint(model, optimizer, epoch, loss, accuracy, path):
    path = Path(path)
    os.makedirs(path.parent, exist_ok=True)
    checkpoint = {
        "epoch": epoch,
        "model_state_dict": model.state_dict(),
        "optimizer_state_dict": optimizer.state_dict(),
        "loss": loss,
        "accuracy": accuracy,
        "model_architecture": str(model),
    }
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as handle:
        tmp_name = handle.name
        torch.save(checkpoint, handle)
    os.replace(tmp_name, path)
    return path
'''},
    {"name": "path.with_suffix('.tmp') + Path.replace",
     "tests": ["test_save_checkpoint_contents", "test_save_creates_parent_folders", "test_save_returns_path",
               "test_save_is_atomic", "test_save_leaves_no_temporary_files", "test_resume_is_bit_exact"],
     "code": '''
def save_checkpoint(model, optimizer, epoch, loss, accuracy, path):
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    torch.save({"epoch": epoch, "model_state_dict": model.state_dict(),
                "optimizer_state_dict": optimizer.state_dict(), "loss": loss,
                "accuracy": accuracy, "model_architecture": str(model)}, tmp)
    tmp.replace(target)
    return target
'''},
    {"name": "serialise into memory first, then write bytes and rename",
     "tests": ["test_save_checkpoint_contents", "test_save_is_atomic", "test_save_leaves_no_temporary_files"],
     "code": '''
import io


def save_checkpoint(model, optimizer, epoch, loss, accuracy, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save({"epoch": epoch, "model_state_dict": model.state_dict(),
                "optimizer_state_dict": optimizer.state_dict(), "loss": loss,
                "accuracy": accuracy, "model_architecture": str(model)}, buffer)
    tmp = path.parent / (path.name + ".partial")
    tmp.write_bytes(buffer.getvalue())
    os.rename(tmp, path)
    return path
'''},
    {"name": "torch.inference_mode and F.softmax(...).max(1) in predict",
     "tests": ["test_predict_single_image_values", "test_predict_single_image_mode"],
     "code": '''
import torch.nn.functional as F


def predict_single_image(model, image, device="cpu"):
    model.eval()
    with torch.inference_mode():
        batch = image.to(device).unsqueeze(0)
        confidence, predicted = F.softmax(model(batch), dim=1).max(dim=1)
    return predicted.item(), confidence.item() * 100
'''},
    {"name": "predict with argmax of the logits and view(1, 1, 28, 28)",
     "tests": ["test_predict_single_image_values", "test_predict_single_image_mode"],
     "code": '''
def predict_single_image(model, image, device="cpu"):
    model.eval()
    with torch.no_grad():
        logits = model(image.view(1, 1, 28, 28).to(device))
        predicted = torch.argmax(logits, dim=1)
        confidence = torch.max(torch.softmax(logits, dim=1)) * 100
    return predicted.item(), confidence.item()
'''},
    {"name": "map_location passed through; file opened by hand; errors re-raised with the path",
     "tests": ["test_load_restores_model_and_returns_info", "test_load_restores_optimizer",
               "test_load_refuses_pickled_code", "test_load_missing_file_names_path",
               "test_load_corrupt_file_names_path", "test_load_model_for_inference", "test_resume_is_bit_exact"],
     "code": '''
def load_checkpoint(path, model, optimizer=None, map_location="cpu"):
    try:
        with open(path, "rb") as handle:
            checkpoint = torch.load(handle, map_location=torch.device(map_location), weights_only=True)
    except FileNotFoundError:
        raise FileNotFoundError(f"checkpoint {path} does not exist") from None
    except Exception as exc:
        raise ValueError(f"{path} is not a readable checkpoint ({exc.__class__.__name__})") from exc
    model.load_state_dict(checkpoint["model_state_dict"])
    if optimizer:
        optimizer.load_state_dict(checkpoint["optimizer_state_dict"])
    return {key: checkpoint[key] for key in ("epoch", "loss", "accuracy")}


def load_model_for_inference(model, path, map_location="cpu"):
    model.load_state_dict(torch.load(path, map_location, weights_only=True))
    model.eval()
    return model
'''},
    {"name": "predict on the squeezed logits with softmax(dim=0); save moved with shutil.move from beside path",
     "tests": ["test_predict_single_image_values", "test_predict_single_image_mode", "test_save_is_atomic",
               "test_save_leaves_no_temporary_files", "test_save_checkpoint_contents"],
     "code": '''
import shutil


def predict_single_image(model, image, device="cpu"):
    model.eval()
    with torch.no_grad():
        logits = model(image[None].to(device)).squeeze(0)
        probs = logits.softmax(0)
    return int(probs.argmax()), 100.0 * float(probs.max())


def save_checkpoint(model, optimizer, epoch, loss, accuracy, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f"{path.stem}.saving"
    torch.save({"epoch": epoch, "model_state_dict": model.state_dict(), "optimizer_state_dict": optimizer.state_dict(),
                "loss": loss, "accuracy": accuracy, "model_architecture": str(model)}, str(tmp))
    shutil.move(str(tmp), str(path))
    return path
'''},
    {"name": "load_checkpoint returning a dict comprehension; torch.device('cpu') defaults", "code": '''
_contract_load, _contract_infer = load_checkpoint, load_model_for_inference


def load_checkpoint(path, model, optimizer=None, map_location=torch.device("cpu")):
    _contract_load(path, model, optimizer, map_location)
    checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    return {key: checkpoint[key] for key in ("epoch", "loss", "accuracy")}


def load_model_for_inference(model, path, map_location=torch.device("cpu")):
    return _contract_infer(model, path, map_location)
'''},
]
