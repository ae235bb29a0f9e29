"""Which demo beat writes each record kind: :data:`BEATS`, filled by :func:`beat`.

Every function of the story that writes records is declared with the record classes it
writes, ``@beat(FocusDecision, Intervention)``. The declaration fills :data:`BEATS` (a
record kind to the beats that write it) when the demo's modules are imported, and is
checked while the story runs: each :meth:`Stage.save` notes the beat running, so a test
can compare what the beats declare with what they write.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from heron_research.demo.stage import Stage
from heron_research.records import Record

__all__ = ["BEATS", "beat"]

P = ParamSpec("P")
R = TypeVar("R")

#: record kind -> the beats that write it (``module.function``), in the order declared
BEATS: dict[str, tuple[str, ...]] = {}


def beat(
    *writes: type[Record],
) -> Callable[[Callable[Concatenate[Stage, P], R]], Callable[Concatenate[Stage, P], R]]:
    """Declare a beat of the story and the record classes it writes."""

    def register(fn: Callable[Concatenate[Stage, P], R]) -> Callable[Concatenate[Stage, P], R]:
        name = f"{fn.__module__.rsplit('.', 1)[-1]}.{fn.__name__}"
        for record in writes:
            BEATS[record.kind] = (*BEATS.get(record.kind, ()), name)

        @functools.wraps(fn)
        def run(stage: Stage, /, *args: P.args, **kwargs: P.kwargs) -> R:
            stage.running.append(name)
            try:
                return fn(stage, *args, **kwargs)
            finally:
                stage.running.pop()

        return run

    return register
