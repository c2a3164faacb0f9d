"""The ``report.md`` of a ``grader train`` run, and the files each model leaves.

Output layout: one model -> the files directly in ``--out``; ``--model both`` -> ``report.md``
in ``--out`` and each model's files in the subfolders ``mlp/`` and ``cnn/``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from grader.train.fit_one import ERROR_CASES_SHOWN
from grader.train.loaders import EVAL_BATCH_SIZE, TRAIN_VAL_FRACTIONS

OUTPUT_FILES = (  # per model, with what each holds (printed at the end)
    ("history.json", "per-epoch losses, accuracies and seconds; test accuracy; per-class accuracy"),
    ("training_curves.png", "loss and accuracy per epoch, train vs validation, best epoch marked"),
    ("confusion_matrix.png", "test-set confusion matrix (rows true, columns predicted)"),
    ("error_cases.png", f"the {ERROR_CASES_SHOWN} most confident mistakes on the test set"),
    ("best_model.pth", "state_dict of the best validation epoch (what was tested)"),
    ("checkpoint.pth", "checkpoint after the last epoch (model + optimizer, to resume)"),
)


def write_report(folder: Path, rows: list[dict[str, Any]], subfolders: dict[str, str], info: dict[str, Any]) -> Path:
    """``report.md``: the setup, the comparison table (measured), and each model's plots."""
    from grader.data.datasets import TITLES

    first = rows[0]
    split = first["split"]
    subset_note = (f"the first {split['source_images']:,} images of the official training split (--subset)"
                   if info["subset"] else f"the official training split ({split['source_images']:,} images)")
    lines = [
        f"# Training run {info['started']}",
        "",
        f"- Command: `{info['command']}`",
        f"- Implementation: `{info['target']}`",
        f"- Dataset: {TITLES[first['dataset']]}. Split: {subset_note} cut by your "
        f"`04_train.split_indices(n, {TRAIN_VAL_FRACTIONS}, seed={first['seed']})` into {split['train']:,} "
        f"training / {split['val']:,} validation images; test: the official test split ({split['test']:,} "
        "images), never seen during training or model selection. (The chapter cuts all 70,000 images "
        "60/20/20 and validates on its test loader; keeping the official test split apart makes this test "
        "accuracy comparable with the grader's thresholds and published figures.)",
        f"- Data path: **{first['loader']}**: {info['loader_description']}.",
        f"- Training: your `04_train.fit`, Adam lr {first['lr']:g}, batch size {first['batch_size']} (validation and "
        f"test batches of {EVAL_BATCH_SIZE:,}: their results do not depend on it), cross-entropy, "
        f"up to {first['epochs_planned']} epoch(s), early stopping on the validation loss (patience "
        f"{first['patience']}), seed {first['seed']}, device {first['device']} ({first['threads']} torch "
        f"thread{'s' if first['threads'] != 1 else ''}).",
        "- Tested: the weights of the best validation epoch (`best_model.pth`); `checkpoint.pth` holds the "
        "last epoch with the optimizer state, for resuming.",
        f"- Whole run: {info['wall_seconds']:.1f} s of wall time.",
        "",
        "## Comparison",
        "",
        "| Model | Parameters | Test accuracy | Seconds per epoch | Epochs run | Best epoch (val acc) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        stopped = " (stopped early)" if row["stopped_early"] else ""
        lines.append(f"| {row['title']} | {row['parameters']:,} | {row['test_accuracy']:.2f}% | "
                     f"{row['seconds_per_epoch']:.1f} | {row['epochs_run']}{stopped} | "
                     f"{row['best_epoch']} ({row['best_val_acc']:.2f}%) |")
    lines += [
        "",
        "Seconds per epoch: measured in this run, the median over the epochs run of one epoch's wall time "
        "(training pass and validation pass) on this machine; the chapter's table quotes round figures instead.",
    ]
    if len(rows) == 2:
        mlp, cnn = rows
        lines.append(
            f"The CNN has {cnn['parameters'] / mlp['parameters']:.2f}x the parameters of the MLP, takes "
            f"{cnn['seconds_per_epoch'] / mlp['seconds_per_epoch']:.1f}x as long per epoch, and scores "
            f"{cnn['test_accuracy'] - mlp['test_accuracy']:+.2f} points of test accuracy.")
    for row in rows:
        prefix = subfolders.get(row["model"], "")
        lines += ["", f"## {row['title']}", ""]
        lines += [f"![training curves of {row['title']}]({prefix}training_curves.png)", "",
                  f"![confusion matrix of {row['title']}]({prefix}confusion_matrix.png)", "",
                  f"![most confident mistakes of {row['title']}]({prefix}error_cases.png)", ""]
        per_class = row["per_class_accuracy"]
        lines += ["Per-class test accuracy:", "",
                  "| " + " | ".join(str(c) for c in range(len(per_class))) + " |",
                  "|" + "---:|" * len(per_class),
                  "| " + " | ".join("n/a" if v is None else f"{v:.1f}%" for v in per_class) + " |", "",
                  f"Test errors: {row['test_errors']:,} of {row['split']['test']:,}. Per epoch (s): "
                  + ", ".join(f"{s:.1f}" for s in row["epoch_seconds"]) + ".", "",
                  "Files: " + ", ".join(f"`{prefix}{name}`" for name, _ in OUTPUT_FILES) + "."]
    path = folder / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path

