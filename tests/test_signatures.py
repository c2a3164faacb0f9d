"""grader/checks/signatures.py: a wrong, missing or removed default is named; equal defaults pass."""
from __future__ import annotations

import pytest

from grader.checks.signatures import default_problems, started

CONTRACT = {"hidden": 8, "activation": "tanh", "lr": 0.05, "sizes": (128, 64)}


def right(hidden=8, activation="tanh", lr=0.05, sizes=(128, 64)):
    return hidden


def test_the_contracts_defaults_pass_in_any_spelling():
    def spelled(hidden: int = 8, activation: str | None = "tanh", lr=5e-2, sizes=[128, 64]):  # noqa: B006
        return hidden

    class Net:
        def __init__(self, hidden=8, activation="tanh", lr=0.05, sizes=(128, 64), extra=None):
            self.hidden = hidden

    for graded in (right, spelled, Net):
        assert default_problems(graded, "f", CONTRACT) == []


def test_each_wrong_default_is_named_with_both_values():
    def wrong(hidden=4, activation="relu", lr=0.05, sizes=(128, 64)):
        return hidden

    problems = default_problems(wrong, "make_xor_net", CONTRACT)
    assert problems == [
        "make_xor_net's default is hidden=4; the contract's is hidden=8 (a caller who leaves hidden out must get 8)",
        "make_xor_net's default is activation='relu'; the contract's is activation='tanh' (a caller who leaves "
        "activation out must get 'tanh')"]


def test_a_missing_parameter_or_default_and_an_unreadable_signature_are_named():
    def cut(hidden, activation="tanh", sizes=(128, 64)):
        return hidden

    problems = default_problems(cut, "f", CONTRACT)
    assert problems == ["f's hidden has no default: the contract's default is hidden=8",
                        "f has no parameter 'lr': keep the stub's signature (lr=0.05)"]
    assert default_problems(42, "f", {"x": 1}) == [
        "f has no signature Python can read: define it with def, as its stub does"]
    assert default_problems(lambda hidden=True: 0, "f", {"hidden": 1}) != []  # a bool is not the number 1


def test_started_leaves_a_stub_not_started_and_other_errors_to_other_tests():
    def stub():
        raise NotImplementedError("06_mlp.MLP.__init__: create the layers")

    def broken():
        raise ValueError("a bug the other tests name")

    with pytest.raises(NotImplementedError):
        started(stub)
    started(broken)  # no error: the defaults are still checked
