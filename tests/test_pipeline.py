"""`grader train`: the chapter's pipeline run with an implementation (grader/cli/train.py, grader/train/).

REAL DATA: the runs read the real MNIST from the data folder (prepared on first use). They stay
quick with --subset (a few hundred training images) and --epochs 1-2; the test set is always
the whole official one, so each run still evaluates 10,000 images.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from grader.cli.main import main
from grader.core import kit
from grader.train import fit_one, loaders, staging

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PER_MODEL_FILES = ("history.json", "training_curves.png", "confusion_matrix.png", "error_cases.png",
                   "best_model.pth", "checkpoint.pth")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["train", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def copy_of_solutions(tmp_path: Path) -> Path:
    target = tmp_path / "handin"
    for exercise in ("04_train", "05_checkpoint", "06_mlp", "07_cnn", "08_evaluate"):
        shutil.copytree(kit.SOLUTIONS_DIR / exercise, target / exercise,
                        ignore=shutil.ignore_patterns("__pycache__"))
    return target


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def check_model_files(folder: Path, model_cls) -> dict:
    import torch

    for name in PER_MODEL_FILES:
        assert (folder / name).is_file(), f"{folder / name} missing"
    for name in ("training_curves.png", "confusion_matrix.png", "error_cases.png"):
        assert (folder / name).read_bytes()[:8] == PNG_MAGIC, f"{name} is not a PNG"
    history = json.loads((folder / "history.json").read_text())
    for key in ("train_loss", "train_acc", "val_loss", "val_acc", "epoch_seconds"):
        assert len(history[key]) == history["epochs_run"] >= 1, key
    assert 0 <= history["test_accuracy"] <= 100 and history["seconds_per_epoch"] > 0
    assert len(history["per_class_accuracy"]) == 10
    model = model_cls()
    model.load_state_dict(torch.load(folder / "best_model.pth", map_location="cpu", weights_only=True))
    checkpoint = torch.load(folder / "checkpoint.pth", map_location="cpu", weights_only=True)
    assert {"epoch", "model_state_dict", "optimizer_state_dict", "loss", "accuracy"} <= set(checkpoint)
    assert checkpoint["epoch"] == history["epochs_run"]
    return history


def test_solutions_run_writes_every_file(tmp_path, capsys):
    from grader.run.loader import load_module_file

    out = tmp_path / "runs" / "one"
    code, stdout, stderr = run(capsys, "--solutions", "--subset", "600", "--epochs", "2", "--out", str(out))
    assert code == 0, stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(PER_MODEL_FILES + ("report.md",))
    mlp = load_module_file(kit.SOLUTIONS_DIR / "06_mlp" / "mlp.py")
    history = check_model_files(out, mlp.MLP)
    assert history["model"] == "mlp" and history["loader"] == "memory" and history["parameters"] == 109386
    assert history["split"] == {"source_images": 600, "train": 480, "val": 120, "test": 10000}
    assert history["test_accuracy"] > 40, "an MLP trained on 480 images for 2 epochs should be far above chance"
    report = (out / "report.md").read_text()
    assert "| Model | Parameters | Test accuracy | Seconds per epoch |" in report
    assert f"| MLP | 109,386 | {history['test_accuracy']:.2f}% | {history['seconds_per_epoch']:.1f} |" in report
    for name in ("training_curves.png", "confusion_matrix.png", "error_cases.png"):
        assert f"]({name})" in report, f"report.md does not embed {name}"
    assert "memory" in report and "split_indices" in report and "10,000" in report
    assert str(out) in stdout or "one/" in stdout, "the command must end by saying where everything is"
    assert leftovers(out.parent) == ["one"], "a staging folder was left behind"


def test_stubs_exit_1_naming_04_train_and_write_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(staging, "RUNS_DIR", tmp_path / "runs")
    code, _, stderr = run(capsys)
    assert code == 1
    assert "grader train needs 04_train." in stderr and "not implemented yet" in stderr, stderr
    assert "pytest exercises/04_train" in stderr, stderr
    assert not (tmp_path / "runs").exists(), "a stub run must leave no runs/ folder behind"
    code, _, stderr = run(capsys, "--model", "both", "--out", str(tmp_path / "named"))
    assert code == 1 and "04_train" in stderr
    assert leftovers(tmp_path) == [], leftovers(tmp_path)


def test_first_unfinished_exercise_is_named_before_any_training(tmp_path, capsys):
    target = copy_of_solutions(tmp_path)
    for exercise, module in (("08_evaluate", "evaluate"), ("05_checkpoint", "checkpoint")):
        shutil.copy(kit.EXERCISES_DIR / exercise / f"{module}.py", target / exercise / f"{module}.py")
    out = tmp_path / "out"
    code, stdout, stderr = run(capsys, "--target", str(target), "--out", str(out))
    assert code == 1
    assert "grader train needs 05_checkpoint.save_checkpoint" in stderr, stderr
    assert f"pytest exercises/05_checkpoint --target {target}" in stderr, stderr
    assert "Loading the data" not in stdout, "the check must come before the data and the training"
    assert not out.exists()


def test_a_module_that_does_not_import_is_reported(tmp_path, capsys):
    target = copy_of_solutions(tmp_path)
    (target / "06_mlp" / "mlp.py").write_text("def MLP(:\n")
    code, _, stderr = run(capsys, "--target", str(target), "--out", str(tmp_path / "out"))
    assert code == 1
    assert "06_mlp/mlp.py" in stderr and "SyntaxError" in stderr and "line 1" in stderr, stderr
    assert not (tmp_path / "out").exists()


STUB_MID_RUN = '''
_real_fit = fit


def fit(model, train_loader, val_loader, criterion, optimizer, device, epochs, early_stopping=None, best_path=None):
    history = _real_fit(model, train_loader, val_loader, criterion, optimizer, device, 1,
                        early_stopping=early_stopping, best_path=best_path)
    if len(train_loader.dataset) > 100:  # the tiny preflight batch passes; the real run does not
        raise NotImplementedError("04_train.fit: more than one epoch is not written yet")
    return history
'''


def test_a_stub_hit_mid_run_leaves_no_half_filled_folder(tmp_path, capsys):
    target = copy_of_solutions(tmp_path)
    with open(target / "04_train" / "train.py", "a") as f:
        f.write(STUB_MID_RUN)
    out = tmp_path / "deep" / "runs" / "x"
    code, stdout, stderr = run(capsys, "--target", str(target), "--subset", "300", "--epochs", "2", "--out", str(out))
    assert code == 1
    assert "saved to" in stdout, "the broken fit should have written best_model.pth before failing"
    assert "grader train needs 04_train.fit (not implemented yet: more than one epoch" in stderr, stderr
    assert not (tmp_path / "deep").exists(), f"left behind: {list((tmp_path / 'deep').rglob('*'))}"


TWO_OUTPUTS = '''
_real_collect = collect_predictions


def collect_predictions(model, loader, device):
    preds, labels, _ = _real_collect(model, loader, device)
    return preds, labels
'''


def test_collect_predictions_of_the_wrong_shape_is_named_not_a_traceback(tmp_path, capsys):
    target = copy_of_solutions(tmp_path)
    with open(target / "08_evaluate" / "evaluate.py", "a") as f:
        f.write(TWO_OUTPUTS)
    out = tmp_path / "runs"
    code, stdout, stderr = run(capsys, "--target", str(target), "--subset", "300", "--epochs", "1", "--out", str(out))
    assert code == 1
    assert "08_evaluate.collect_predictions must return NumPy arrays (preds, labels, probs)" in stderr, stderr
    assert "(ValueError: not enough values to unpack" in stderr, "the real cause is named"
    assert "Traceback" not in stderr and not out.exists()


def test_interrupt_mid_run_writes_nothing(tmp_path, capsys, monkeypatch):
    def interrupted(*args, **kwargs):  # Ctrl-C right after fit has written best_model.pth
        raise KeyboardInterrupt

    monkeypatch.setattr(fit_one, "_check_history", interrupted)
    out = tmp_path / "out"
    out.mkdir()  # an empty folder named with --out is accepted, and stays as it was
    code, stdout, stderr = run(capsys, "--solutions", "--subset", "200", "--epochs", "1", "--out", str(out))
    assert code == 130 and "interrupted" in stderr
    assert "saved to" in stdout, "fit should have written best_model.pth before the interrupt"
    assert leftovers(tmp_path) == ["out"] and leftovers(out) == []


def test_torchvision_loader_on_a_subset(tmp_path, capsys):
    out = tmp_path / "tv"
    code, _, stderr = run(capsys, "--solutions", "--loader", "torchvision", "--subset", "300", "--epochs", "1",
                          "--out", str(out))
    assert code == 0, stderr
    history = json.loads((out / "history.json").read_text())
    assert history["loader"] == "torchvision" and history["split"]["train"] == 240
    report = (out / "report.md").read_text()
    assert "**torchvision**" in report and "mnist_transform()" in report


def test_both_models_side_by_side(tmp_path, capsys):
    from grader.run.loader import load_module_file

    out = tmp_path / "both"
    code, stdout, stderr = run(capsys, "--solutions", "--model", "both", "--subset", "300", "--epochs", "1",
                               "--out", str(out))
    assert code == 0, stderr
    assert sorted(p.name for p in out.iterdir()) == ["cnn", "mlp", "report.md"]
    check_model_files(out / "mlp", load_module_file(kit.SOLUTIONS_DIR / "06_mlp" / "mlp.py").MLP)
    cnn = check_model_files(out / "cnn", load_module_file(kit.SOLUTIONS_DIR / "07_cnn" / "cnn.py").SimpleCNN)
    assert cnn["parameters"] == 421642
    report = (out / "report.md").read_text()
    assert "| MLP | 109,386 |" in report and "| CNN (SimpleCNN) | 421,642 |" in report
    assert "](mlp/training_curves.png)" in report and "](cnn/error_cases.png)" in report
    assert "cnn/best_model.pth" in stdout


@pytest.mark.parametrize("argv", [
    ["--model", "rnn"], ["--epochs", "0"], ["--subset", "5"], ["--solutions", "--target", "."],
    ["--target", "/no/such/folder"], ["--lr", "-1"],
])
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train", *argv])
    assert exc.value.code == 2


def test_a_non_empty_out_folder_is_refused(tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(SystemExit) as exc:
        main(["train", "--solutions", "--out", str(tmp_path)])
    assert exc.value.code == 2 and "not an empty folder" in capsys.readouterr().err
    assert leftovers(tmp_path) == ["keep.txt"]


def test_tensor_loader_reshuffles_each_pass_and_repeats_by_seed():
    import torch

    x, y = torch.arange(10.0).reshape(10, 1), torch.arange(10)
    loader = loaders.TensorLoader(x, y, batch_size=4, seed=3)
    assert len(loader) == 3 and len(loader.dataset) == 10
    first, second = [torch.cat([b[1] for b in loader]) for _ in range(2)]
    assert sorted(first.tolist()) == sorted(second.tolist()) == list(range(10))
    assert first.tolist() != second.tolist(), "each epoch must see a new order"
    again = loaders.TensorLoader(x, y, batch_size=4, seed=3)
    assert torch.cat([b[1] for b in again]).tolist() == first.tolist()
    plain = loaders.TensorLoader(x, y, batch_size=4)
    assert torch.cat([b[1] for b in plain]).tolist() == list(range(10))
