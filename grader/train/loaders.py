"""The data of a ``grader train`` run: the official splits served in memory or through torchvision.

Data split: the official training split (or its first N images with ``--subset N``) is cut by
the learner's ``split_indices(n, (0.8, 0.2, 0.0), seed)`` into train / validation; the
official 10,000-image test split is the test set (the chapter cuts all 70,000 images 60/20/20
and validates on its test loader; keeping the official test set untouched makes the test
accuracy comparable with the grader's thresholds and published figures).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from grader.train.learner import Implementation, PipelineError, one_line

TRAIN_VAL_FRACTIONS = (0.8, 0.2, 0.0)  # of the official training split; the test set is the official one
NUM_CLASSES = 10
EVAL_BATCH_SIZE = 1000  # validation and test batches: results do not depend on it, speed does
LOADER_DESCRIPTIONS = {
    "memory": "in-memory tensors: each split decoded once into one normalised float32 tensor "
              "((x/255 - mean) / std), batches are tensor slices (the kit's fast path)",
    "torchvision": "torchvision {title} dataset, every image transformed on the fly "
                   "(PIL -> {transform}) in a DataLoader (num_workers=0): the chapter's pipeline",
}


class TensorLoader:
    """Mini-batches of in-memory tensors, like a DataLoader over a TensorDataset.

    ``len()`` is the number of batches; with ``seed`` the order is reshuffled on every pass
    (one torch.Generator, so a run is repeatable). ``.dataset`` and ``.batch_size`` exist for
    code written against DataLoader.
    """

    def __init__(self, images: Any, labels: Any, batch_size: int, seed: int | None = None) -> None:
        import torch
        from torch.utils.data import TensorDataset

        self.images, self.labels, self.batch_size = images, labels, batch_size
        self.dataset = TensorDataset(images, labels)
        self.generator = torch.Generator().manual_seed(seed) if seed is not None else None

    def __len__(self) -> int:
        return -(-len(self.labels) // self.batch_size)

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        import torch

        n = len(self.labels)
        order = torch.randperm(n, generator=self.generator).to(self.images.device) if self.generator else None
        for start in range(0, n, self.batch_size):
            if order is None:
                yield self.images[start:start + self.batch_size], self.labels[start:start + self.batch_size]
            else:
                idx = order[start:start + self.batch_size]
                yield self.images[idx], self.labels[idx]



@dataclass
class Data:
    """The three splits of one run, as the chosen loader path serves them."""

    kind: str  # "memory" | "torchvision"
    description: str
    n_source: int  # images of the official training split used (all, or --subset)
    n_train: int
    n_val: int
    n_test: int
    batch_size: int
    make_train: Callable[[int], Any]  # seed -> a freshly seeded, shuffling training loader
    val_loader: Any
    test_loader: Any
    display_images: Any  # test images in [0, 1], (N, 1, 28, 28), for plot_error_cases


def _check_split(result: Any, n: int) -> tuple[Any, Any]:
    import numpy as np

    def bad(why: str) -> PipelineError:
        return PipelineError(
            f"grader train stopped: 04_train.split_indices({n}, {TRAIN_VAL_FRACTIONS}, seed) {why}.\n"
            "Check it with: pytest exercises/04_train")

    try:
        train_idx, val_idx = (np.asarray(part, dtype=np.int64).ravel() for part in tuple(result)[:2])
    except Exception as exc:  # noqa: BLE001
        raise bad(f"returned something that is not (train, val, test) index arrays ({type(exc).__name__}: "
                  f"{one_line(exc)})") from None
    every = np.concatenate([train_idx, val_idx])
    if len(train_idx) == 0 or len(val_idx) == 0:
        raise bad(f"gave {len(train_idx)} training and {len(val_idx)} validation indices")
    if every.min() < 0 or every.max() >= n or len(np.unique(every)) != len(every):
        raise bad("returned indices outside range(n) or used an index twice")
    return train_idx, val_idx


def load_data(impl: Implementation, dataset: str, loader: str, batch_size: int, seed: int,
              subset: int | None, device: Any, data_dir: str | None) -> Data:
    """Read the dataset and build the loaders of the chosen path (memory or torchvision)."""
    import torch

    from grader.data import datasets

    title = datasets.TITLES[dataset]
    mean, std = datasets.NORMALIZATION[dataset]
    if loader == "memory":
        x_all, y_all = datasets.load_tensors(dataset, train=True, root=data_dir)
        n = min(subset or len(y_all), len(y_all))
        train_idx, val_idx = _check_split(impl.call("04_train", "split_indices", n, TRAIN_VAL_FRACTIONS, seed), n)
        x_train = x_all[torch.from_numpy(train_idx)].to(device)
        y_train = y_all[torch.from_numpy(train_idx)].to(device)
        x_val, y_val = x_all[torch.from_numpy(val_idx)].to(device), y_all[torch.from_numpy(val_idx)].to(device)
        x_test, y_test = datasets.load_tensors(dataset, train=False, root=data_dir)
        display = x_test * std + mean
        x_test, y_test = x_test.to(device), y_test.to(device)
        return Data("memory", LOADER_DESCRIPTIONS["memory"], n, len(train_idx), len(val_idx), len(y_test),
                    batch_size, lambda s: TensorLoader(x_train, y_train, batch_size, seed=s),
                    TensorLoader(x_val, y_val, EVAL_BATCH_SIZE), TensorLoader(x_test, y_test, EVAL_BATCH_SIZE),
                    display)

    from torch.utils.data import DataLoader, Subset

    if dataset == "mnist":
        transform = impl.call("04_train", "mnist_transform")
        transform_text = "your 04_train.mnist_transform(): ToTensor, Normalize((0.1307,), (0.3081,))"
    else:  # the learner's transform carries MNIST's constants; Fashion-MNIST has its own
        from torchvision import transforms

        transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((mean,), (std,))])
        transform_text = (f"ToTensor, Normalize(({mean},), ({std},)) built by the kit with Fashion-MNIST's "
                          "constants (mnist_transform() carries MNIST's)")
    train_set = datasets.torchvision_dataset(dataset, train=True, transform=transform, root=data_dir)
    test_set = datasets.torchvision_dataset(dataset, train=False, transform=transform, root=data_dir)
    n = min(subset or len(train_set), len(train_set))
    train_idx, val_idx = _check_split(impl.call("04_train", "split_indices", n, TRAIN_VAL_FRACTIONS, seed), n)
    train_part, val_part = Subset(train_set, train_idx.tolist()), Subset(train_set, val_idx.tolist())

    def make_train(s: int) -> DataLoader:
        return DataLoader(train_part, batch_size=batch_size, shuffle=True, generator=torch.Generator().manual_seed(s))

    display = test_set.data.unsqueeze(1).float().div(255)
    description = LOADER_DESCRIPTIONS["torchvision"].format(title=title, transform=transform_text)
    return Data("torchvision", description, n, len(train_idx), len(val_idx), len(test_set), batch_size,
                make_train, DataLoader(val_part, batch_size=EVAL_BATCH_SIZE, shuffle=False),
                DataLoader(test_set, batch_size=EVAL_BATCH_SIZE, shuffle=False), display)

