"""Tests of 04_train/train.py: EarlyStopping.

Each failure names the cause and the fix. "not started" means the test reached a stub's
NotImplementedError; "blocked" means a test it needs (see @needs) has not passed yet, so fix that one
first. Hints: `grader hint 04`.
"""
from __future__ import annotations

import pytest

GRADES = "train"

pytestmark = pytest.mark.usefixtures("one_thread")  # torch on one thread: these tensors are tiny


# --------------------------------------------------------------------------- EarlyStopping

def stop_signals(stopper, losses) -> list[bool]:
    return [bool(stopper.step(v)) for v in losses]


def first_stop(signals: list[bool]) -> int | None:
    return signals.index(True) if True in signals else None


def bad_in_a_row(losses, upto: int, min_delta: float = 0.0) -> int:
    """The contract's count of epochs without improvement after the call losses[upto]."""
    best, count = float("inf"), 0
    for v in losses[:upto + 1]:
        best, count = (v, 0) if v < best - min_delta else (best, count + 1)
    return count


def explain(losses, want, got, **settings) -> str:
    args = ", ".join(f"{k}={v}" for k, v in settings.items())
    return (f"EarlyStopping({args}) on val losses {losses}: step() should return {want}, got {got}. "
            "An epoch improves when val_loss < best - min_delta; the count of epochs without improvement "
            "resets to 0 on an improvement, and step() returns True once that count reaches patience.")


@pytest.mark.points(1)
def test_early_stopping_patience(mod):
    if mod.EarlyStopping(patience=1).step(0.5):
        below = "did" if not mod.EarlyStopping(patience=1).step(-1.0) else "did not"
        pytest.fail("a fresh EarlyStopping(patience=1) said stop at its first call, step(0.5): it did not count the first "
                    f"validation loss as an improvement (it {below} count step(-1.0) as one), so its best value starts "
                    "too low (0.0?). There is no best before the first epoch: start it at float('inf') (or None, and "
                    "take the first loss as the best).")
    cases = [
        ({}, [1.0, 1.1, 1.2, 1.3], [False, False, False, True]),
        ({}, [1.0, 1.0, 1.0, 1.0], [False, False, False, True]),  # equal is not better
        ({"patience": 1}, [0.5, 0.4, 0.45], [False, False, True]),
        ({"patience": 2}, [3.0, 2.0, 1.0, 0.5], [False, False, False, False]),
        ({}, [1.0, 2.0, 1.5, 1.2], [False, False, False, True]),  # better than the last epoch, not than the best
    ]
    for settings, losses, want in cases:
        got = stop_signals(mod.EarlyStopping(**settings), losses)
        if got == want:
            continue
        if losses == [1.0, 2.0, 1.5, 1.2] and not any(got):
            pytest.fail(f"EarlyStopping compared each loss with the previous epoch's instead of the best so far: on "
                        f"val losses {losses} step() gave {got}, expected {want}, since 1.5 and 1.2 never beat the "
                        "best 1.0. Keep the best loss and compare with it.")
        if losses == [1.0] * 4 and not any(got):
            pytest.fail("EarlyStopping counted an equal validation loss as an improvement: on val losses "
                        f"{losses} it never stopped. Only val_loss < best - min_delta (strictly less) improves.")
        stop, want_stop = first_stop(got), first_stop(want)
        if want_stop is not None and stop is None:
            pytest.fail(f"EarlyStopping never said stop: on val losses {losses} step() gave {got}, expected {want} "
                        f"(patience {settings.get('patience', 3)}). Return True as soon as the count of bad epochs "
                        "reaches patience: count >= patience, not count > patience.")
        if want_stop is not None and stop is not None and stop != want_stop:
            when, wrong = ("late", "> patience") if stop > want_stop else ("early", "patience - 1")
            patience = settings.get("patience", 3)
            pytest.fail(f"EarlyStopping stops {abs(stop - want_stop)} epoch(s) {when}: on val losses {losses} step() "
                        f"gave {got}, expected {want}; it said stop after {bad_in_a_row(losses, stop)} epoch(s) without "
                        f"improvement in a row, with patience {patience}. Say stop as soon as that count reaches "
                        f"patience: count >= patience (not {wrong}).")
        assert got == want, explain(losses, want, got, **settings)


@pytest.mark.points(2)
@pytest.mark.needs("test_early_stopping_patience")
def test_early_stopping_resets_on_improvement(mod):
    losses = [1.0, 1.1, 1.2, 0.9, 1.0, 1.0, 1.0]
    want = [False, False, False, False, False, False, True]
    got = stop_signals(mod.EarlyStopping(patience=3), losses)
    if got[:5] == [False, False, False, False, True]:
        pytest.fail(f"EarlyStopping never reset its counter: after the improvement to 0.9 it stopped one epoch later "
                    f"(step() gave {got}). Set the count of bad epochs back to 0 whenever val_loss improves.")
    assert got == want, explain(losses, want, got, patience=3)


@pytest.mark.points(1)
@pytest.mark.needs("test_early_stopping_patience", "test_early_stopping_resets_on_improvement")
def test_early_stopping_min_delta(mod):
    cases = [  # improvements smaller than min_delta do not count
        ({"patience": 2, "min_delta": 0.1}, [1.0, 0.95, 0.92], [False, False, True]),
        ({"patience": 2, "min_delta": 0.1}, [1.0, 0.95, 0.8, 0.79, 0.78], [False, False, False, False, True]),
        ({"patience": 1, "min_delta": 0.25}, [1.0, 0.75], [False, True]),  # by exactly min_delta is not more
    ]
    for settings, losses, want in cases:
        got = stop_signals(mod.EarlyStopping(**settings), losses)
        if losses == [1.0, 0.75] and got == [False, False]:
            pytest.fail("EarlyStopping(min_delta=0.25) counted a drop from 1.0 to 0.75, exactly min_delta, as an "
                        "improvement: only a drop by more than min_delta counts (val_loss < best - min_delta, "
                        "strictly less).")
        if got != want and got == stop_signals(mod.EarlyStopping(patience=settings["patience"]), losses):
            pytest.fail(f"EarlyStopping ignores min_delta: with min_delta=0.1 a drop from 1.0 to 0.95 is not an "
                        f"improvement (step() gave {got} on {losses}, expected {want}). "
                        "Count an improvement only when val_loss < best - min_delta.")
        assert got == want, explain(losses, want, got, **settings)
