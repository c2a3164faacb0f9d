"""Tests of 04_train/train.py: EarlyStopping.

Each failure names the cause and the fix. "not started" means the test reached a stub's
NotImplementedError; "blocked" means a test it needs (see @needs) has not passed yet, so fix that one
first. Hints: `grader hint 04`.
"""
from __future__ import annotations

import pytest

from grader.core import failures
from grader.core.failures import Failure

FAIL = failures.table(__file__)

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


def explain(losses, want, got, **settings) -> Failure:
    args = ", ".join(f"{k}={v}" for k, v in settings.items())
    return FAIL("stop_signals_wrong", args=args, losses=losses, want=want, got=got)


def waited(mod, **settings) -> int | None:
    """How many epochs without improvement in a row EarlyStopping(**settings) waits before saying stop."""
    return first_stop(stop_signals(mod.EarlyStopping(**settings), [1.0] + [2.0] * 12))


def waited_too_long(mod, settings: dict, losses, got, want) -> Failure:
    """Why EarlyStopping(**settings) said stop late (or never), told apart by how long it waits."""
    patience = settings.get("patience", 3)
    seen = FAIL("seen_signals", losses=losses, got=got, want=want, patience=patience)
    given = waited(mod, **settings)
    if "patience" not in settings and waited(mod, patience=3) == 3:
        return FAIL("default_patience_wrong", given=given, seen=seen)
    if given == patience + 1:
        return FAIL("stops_one_late", seen=seen)
    after = FAIL("never_said_stop") if given is None else FAIL("said_stop_after", given=given)
    return FAIL("patience_not_kept", patience=patience, after=after, seen=seen)


@pytest.mark.points(1)
def test_early_stopping_patience(mod):
    if mod.EarlyStopping(patience=1).step(0.5):
        below = FAIL("it_did") if not mod.EarlyStopping(patience=1).step(-1.0) else FAIL("it_did_not")
        raise FAIL("best_starts_too_low", below=below)
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
            raise FAIL("compared_with_previous", losses=losses, got=got, want=want)
        if losses == [1.0] * 4 and not any(got):
            raise FAIL("equal_counted_as_improvement", losses=losses)
        stop, want_stop = first_stop(got), first_stop(want)
        if want_stop is not None and (stop is None or stop > want_stop):
            raise waited_too_long(mod, settings, losses, got, want)
        if want_stop is not None and stop is not None and stop < want_stop:
            raise FAIL("stops_early", epochs=abs(stop - want_stop), losses=losses, got=got, want=want,
                       bad=bad_in_a_row(losses, stop), patience=settings.get("patience", 3))
        raise explain(losses, want, got, **settings)


@pytest.mark.points(2)
@pytest.mark.needs("test_early_stopping_patience")
def test_early_stopping_resets_on_improvement(mod):
    losses = [1.0, 1.1, 1.2, 0.9, 1.0, 1.0, 1.0]
    want = [False, False, False, False, False, False, True]
    got = stop_signals(mod.EarlyStopping(patience=3, min_delta=0.0), losses)
    if got[:5] == [False, False, False, False, True]:
        raise FAIL("counter_never_reset", got=got)
    if got != want:
        raise explain(losses, want, got, patience=3, min_delta=0.0)


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
        raise FAIL("min_delta_added", losses=MIN_DELTA_CASES[2][1], got=got[2], want=model(-1)[2])
    if got == model(-1, scale=0.0):
        raise FAIL("min_delta_ignored", got=got[0], losses=MIN_DELTA_CASES[0][1], want=model(-1)[0])
    (settings, losses), want, answer = next((c, w, g) for c, w, g in zip(MIN_DELTA_CASES, model(-1), got) if w != g)
    if losses == [1.0, 0.75] and answer == [False, False]:
        raise FAIL("exactly_min_delta_counted")
    raise explain(losses, want, answer, **settings)
