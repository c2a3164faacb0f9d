"""Static checks that keep the kit correct on a GPU without one: what passes on the CPU and
stops on CUDA, found in the source."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from grader.core import kit

EVERYWHERE = ("grader", "solutions", "exercises", "tests")
DEVICE_CODE = ("grader", "solutions")  # code that handles tensors which may live on the GPU


def calls(folders: tuple[str, ...]):
    for folder in folders:
        for path in sorted((kit.KIT_ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                    yield path.relative_to(kit.KIT_ROOT), node


def back_on_host(node: ast.AST) -> bool:
    """Whether a receiver chain passes through .cpu() or .to("cpu") (x.detach().cpu(), ...)."""
    while isinstance(node, (ast.Call, ast.Attribute, ast.Subscript)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and (
                node.func.attr == "cpu" or node.func.attr == "to" and node.args
                and isinstance(node.args[0], ast.Constant) and node.args[0].value == "cpu"):
            return True
        node = node.func if isinstance(node, ast.Call) else node.value
    return False


def where(found: list[tuple[Path, ast.Call]]) -> str:
    return ", ".join(f"{path}:{node.lineno}" for path, node in found)


def test_every_torch_load_names_map_location():
    found = [(p, n) for p, n in calls(EVERYWHERE) if n.func.attr == "load" and isinstance(n.func.value, ast.Name)
             and n.func.value.id == "torch" and not any(k.arg == "map_location" for k in n.keywords)]
    assert not found, f"torch.load without map_location (a GPU checkpoint fails to load on a CPU): {where(found)}"


def test_device_code_brings_tensors_back_before_numpy():
    found = [(p, n) for p, n in calls(DEVICE_CODE)
             if n.func.attr == "numpy" and not n.args and not back_on_host(n.func.value)]
    assert not found, f".numpy() without .cpu() (stops on a GPU): {where(found)}"


def test_no_pinned_memory():
    found = [(p, n) for p, n in calls(EVERYWHERE) if any(k.arg == "pin_memory" for k in n.keywords)]
    assert not found, f"pin_memory (needs a GPU, warns or fails on a CPU-only machine): {where(found)}"


@pytest.mark.parametrize("source, flagged", [
    ("t.numpy()", True),
    ("model(x).argmax(1).numpy()", True),
    ("t.cpu().numpy()", False),
    ("t.detach().cpu().numpy()", False),
    ("t.to('cpu').numpy()", False),
    ("probs[0].cpu()[1:].numpy()", False),
])
def test_the_numpy_check_reads_receiver_chains(source, flagged):
    call = ast.parse(source, mode="eval").body
    assert isinstance(call, ast.Call) and (not back_on_host(call.func.value)) == flagged
