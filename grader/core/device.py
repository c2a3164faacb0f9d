"""Which torch device ``--device`` (auto, cpu or cuda) means on this machine (the grader, ``grader train``
and the test process all decide it here)."""
from __future__ import annotations

from pathlib import Path


def resolve_device(choice: str) -> str:
    """'cpu' or 'cuda' for --device; raises ValueError when CUDA is asked for and absent.

    Without an NVIDIA device node there is no CUDA, which spares importing torch (seconds).
    """
    if choice == "cpu" or (choice == "auto" and not any(Path("/dev").glob("nvidia[0-9]*")) and not Path("/dev/dxg").exists()):
        return "cpu"
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if choice == "cuda":
        raise ValueError("--device cuda: CUDA is not available on this machine (use --device cpu or auto)")
    return "cpu"
