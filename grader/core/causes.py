"""Looking through an exception's chain of causes (``raise ... from``, or raised while handling)."""
from __future__ import annotations

from typing import TypeVar

E = TypeVar("E", bound=BaseException)


def find_cause(exc: BaseException | None, kind: type[E]) -> E | None:
    """The first exception of ``kind`` in ``exc``'s chain (``exc`` itself first), or None.

    A stub's NotImplementedError stays visible when the learner's code wraps it in another error."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, kind):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None
