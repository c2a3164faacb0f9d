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


def waited(mod, **settings) -> int | None:
    """How many epochs without improvement in a row EarlyStopping(**settings) waits before saying stop."""
    return first_stop(stop_signals(mod.EarlyStopping(**settings), [1.0] + [2.0] * 12))


def waited_too_long(mod, settings: dict, losses, got, want) -> str:
    """Why EarlyStopping(**settings) said stop late (or never), told apart by how long it waits."""
    patience = settings.get("patience", 3)
    seen = f"on val losses {losses} step() gave {got}, expected {want} (patience {patience})"
    given = waited(mod, **settings)
    if "patience" not in settings and waited(mod, patience=3) == 3:
        return (f"EarlyStopping() with no arguments waits {given} epochs without improvement before saying stop, "
                f"though EarlyStopping(patience=3) stops right: {seen}. Its default patience is wrong: the contract's "
                "is patience=3.")
    if given == patience + 1:
        return (f"EarlyStopping stops 1 epoch late: {seen}. Return True as soon as the count of bad epochs reaches "
                "patience: count >= patience, not count > patience.")
    after = "never said stop in 12" if given is None else f"said stop only after {given}"
    return (f"EarlyStopping(patience={patience}) {after} epochs without improvement in a row: {seen}. Keep the "
            "patience it is given (self.patience = patience) and return True once that count reaches it.")


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
        ({"patience": 1, "min_delta": 0.0}, [0.5, 0.4, 0.45], [False, False, True]),
        ({"patience": 2, "min_delta": 0.0}, [3.0, 2.0, 1.0, 0.5], [False, False, False, False]),
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
        if want_stop is not None and (stop is None or stop > want_stop):
            pytest.fail(waited_too_long(mod, settings, losses, got, want))
        if want_stop is not None and stop is not None and stop < want_stop:
            when, wrong = "early", "patience - 1"
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
    got = stop_signals(mod.EarlyStopping(patience=3, min_delta=0.0), losses)
    if got[:5] == [False, False, False, False, True]:
        pytest.fail(f"EarlyStopping never reset its counter: after the improvement to 0.9 it stopped one epoch later "
                    f"(step() gave {got}). Set the count of bad epochs back to 0 whenever val_loss improves.")
    assert got == want, explain(losses, want, got, patience=3, min_delta=0.0)


def contract_signals(losses, patience: int, min_delta: float, sign: int = -1) -> list[bool]:
    """step()'s answers when an epoch improves on val_loss < best + sign * min_delta (the contract: sign -1)."""
    best, count, out = float("inf"), 0, []
    for v in losses:
        best, count = (v, 0) if v < best + sign * min_delta else (best, count + 1)
        out.append(count >= patience)
    return out


MIN_DELTA_CASES = [  # improvements smaller than min_delta do not count
    ({"patience": 2, "min_delta": 0.1}, [1.0, 0.95, 0.92]),
    ({"patience": 2, "min_delta": 0.1}, [1.0, 0.95, 0.8, 0.79, 0.78]),
    ({"patience": 2, "min_delta": 0.1}, [1.0, 1.05, 1.08]),  # slightly worse: no improvement, with or without min_delta
    ({"patience": 1, "min_delta": 0.25}, [1.0, 0.75]),  # by exactly min_delta is not more
]


@pytest.mark.points(1)
@pytest.mark.needs("test_early_stopping_patience", "test_early_stopping_resets_on_improvement")
def test_early_stopping_min_delta(mod):
    got = [stop_signals(mod.EarlyStopping(**settings), losses) for settings, losses in MIN_DELTA_CASES]

    def model(min_delta_sign: int, scale: float = 1.0) -> list[list[bool]]:
        return [contract_signals(losses, s["patience"], scale * s["min_delta"], min_delta_sign)
                for s, losses in MIN_DELTA_CASES]

    if got == model(-1):
        return
    if got == model(+1):
        pytest.fail("EarlyStopping adds min_delta instead of subtracting it: it counted a slightly worse loss as an "
                    f"improvement (with min_delta=0.1, val losses {MIN_DELTA_CASES[2][1]} gave {got[2]}, expected "
                    f"{model(-1)[2]}). An improvement must beat the best by more than min_delta: "
                    "val_loss < best - min_delta.")
    if got == model(-1, scale=0.0):
        pytest.fail(f"EarlyStopping ignores min_delta: with min_delta=0.1 a drop from 1.0 to 0.95 is not an "
                    f"improvement (step() gave {got[0]} on {MIN_DELTA_CASES[0][1]}, expected {model(-1)[0]}). "
                    "Count an improvement only when val_loss < best - min_delta.")
    (settings, losses), want, answer = next((c, w, g) for c, w, g in zip(MIN_DELTA_CASES, model(-1), got) if w != g)
    if losses == [1.0, 0.75] and answer == [False, False]:
        pytest.fail("EarlyStopping(min_delta=0.25) counted a drop from 1.0 to 0.75, exactly min_delta, as an "
                    "improvement: only a drop by more than min_delta counts (val_loss < best - min_delta, "
                    "strictly less).")
    pytest.fail(explain(losses, want, answer, **settings))
