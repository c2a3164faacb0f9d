"""Before any data is read, every function a ``grader train`` run needs is called once on a tiny
synthetic batch, exercise by exercise in order, so an unfinished stub stops the command within
seconds with the first unfinished exercise named (exit 1)."""
from __future__ import annotations

import contextlib
import io
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from grader.train.learner import Implementation, predictions
from grader.train.loaders import NUM_CLASSES, TRAIN_VAL_FRACTIONS, TensorLoader

EVALUATE_FUNCTIONS = ("collect_predictions", "confusion_matrix", "per_class_accuracy", "find_errors",
                      "plot_training_history", "plot_confusion_matrix", "plot_error_cases")


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Swallow stdout and stderr (the learner's prints and tqdm bars during the preflight)."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield


def preflight(impl: Implementation, kinds: list[str], loader: str, dataset: str, device: Any) -> None:
    """Call every function the run needs once on a tiny synthetic batch, exercise by exercise in
    order (04, 05, 06, 07, 08), in a scratch folder that is deleted. The first stub or failure
    raises PipelineError naming it, before any dataset is read or any output written."""
    import numpy as np
    import torch
    from torch import nn

    from grader.train.harness import reference_mlp

    generator = torch.Generator().manual_seed(0)
    x = torch.randn(20, 1, 28, 28, generator=generator).to(device)
    y = (torch.arange(20) % NUM_CLASSES).to(device)
    tiny = TensorLoader(x, y, batch_size=10)
    with tempfile.TemporaryDirectory(prefix="grader-train-preflight-") as scratch, _quiet():
        scratch_dir = Path(scratch)
        # 04_train
        if loader == "torchvision" and dataset == "mnist":
            from PIL import Image

            transform = impl.call("04_train", "mnist_transform")
            impl.run("04_train", "mnist_transform", transform, Image.fromarray(np.zeros((28, 28), np.uint8)))
        impl.call("04_train", "split_indices", 20, TRAIN_VAL_FRACTIONS, 0)
        stopper = impl.call("04_train", "EarlyStopping", patience=3)
        model = reference_mlp(8).to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        impl.call("04_train", "fit", model, tiny, tiny, nn.CrossEntropyLoss(), optimizer, device, 1,
                  early_stopping=stopper, best_path=scratch_dir / "best_model.pth")
        # 05_checkpoint
        impl.call("05_checkpoint", "save_checkpoint", model, optimizer, 1, 0.5, 50.0, scratch_dir / "checkpoint.pth")
        # 06_mlp (count_parameters is needed by both models), then 07_cnn
        counted = model
        if "mlp" in kinds:
            counted = impl.call("06_mlp", "MLP")
            impl.run("06_mlp", "MLP.forward", lambda m: m.to(device)(x[:2]), counted)
        impl.call("06_mlp", "count_parameters", counted)
        if "cnn" in kinds:
            cnn = impl.call("07_cnn", "SimpleCNN")
            impl.run("07_cnn", "SimpleCNN.forward", lambda m: m.to(device)(x[:2]), cnn)
        # 08_evaluate
        for name in EVALUATE_FUNCTIONS:
            impl.get("08_evaluate", name)
        preds, labels, probs = predictions(impl, model, tiny, device)
        cm = impl.call("08_evaluate", "confusion_matrix", labels, preds, NUM_CLASSES)
        impl.call("08_evaluate", "per_class_accuracy", cm)
        impl.call("08_evaluate", "find_errors", preds, labels, probs)
        history = {"train_loss": [1.2, 0.6], "train_acc": [60.0, 80.0], "val_loss": [1.0, 0.7], "val_acc": [65.0, 78.0]}
        impl.call("08_evaluate", "plot_training_history", history, scratch_dir / "training_curves.png")
        impl.call("08_evaluate", "plot_confusion_matrix", cm, scratch_dir / "confusion_matrix.png")
        errors = [{"index": i, "true": i % NUM_CLASSES, "pred": (i + 1) % NUM_CLASSES, "confidence": 60.0}
                  for i in range(3)]
        impl.call("08_evaluate", "plot_error_cases", x.cpu(), errors, scratch_dir / "error_cases.png")

