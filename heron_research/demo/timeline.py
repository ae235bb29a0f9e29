"""The demo's timeline: beats waiting for their moment, and writes waiting to be applied.

A *beat* is a moment of the story (a session, a review, a hypothesis looked at again)
scheduled when the story is planned and run when the simulation reaches its week. What a
beat writes goes onto a heap and comes out in time order. One counter orders both, so
two things at the same moment keep the order in which they were made.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from heron_research.demo.clock import TIME_ZONE, Calendar
from heron_research.records import Record

__all__ = ["DemoWrite", "Timeline"]


@dataclass(frozen=True)
class DemoWrite:
    """One write to the workbook, at a simulated moment (UTC)."""

    at: datetime
    action: Literal["save", "delete", "restore"]
    record: Record | None = None
    record_id: str = ""


#: a scheduled beat: when (UTC), its place in the order, the function and its arguments
_Scheduled = tuple[datetime, int, Callable[..., None], tuple[Any, ...]]


class Timeline:
    def __init__(self, calendar: Calendar) -> None:
        self._calendar = calendar
        self._seq = itertools.count()
        self._writes: list[tuple[datetime, int, DemoWrite]] = []
        self._beats: dict[int, list[_Scheduled]] = {}

    def save(self, at: datetime, record: Record) -> None:
        at = at.astimezone(UTC)
        heapq.heappush(self._writes, (at, next(self._seq), DemoWrite(at, "save", record)))

    def mark(self, at: datetime, action: Literal["delete", "restore"], record_id: str) -> None:
        at = at.astimezone(UTC)
        write = DemoWrite(at, action, None, record_id)
        heapq.heappush(self._writes, (at, next(self._seq), write))

    def schedule(self, at: datetime, beat: Callable[..., None], args: tuple[Any, ...]) -> None:
        """Run ``beat(stage, at, *args)`` in ``at``'s week (dropped if after the period)."""
        day = at.astimezone(TIME_ZONE).date()
        if not self._calendar.in_period(day):
            return
        week = self._calendar.week_of(day)
        self._beats.setdefault(week, []).append((at.astimezone(UTC), next(self._seq), beat, args))

    def due(self, week: int) -> list[_Scheduled]:
        """The beats of ``week``, in time order (and the order they were planned)."""
        return sorted(self._beats.pop(week, []), key=lambda b: (b[0], b[1]))

    def writes_before(self, boundary: datetime) -> Iterator[DemoWrite]:
        while self._writes and self._writes[0][0] < boundary:
            yield heapq.heappop(self._writes)[2]

    def drop_the_rest(self) -> None:
        """Forget writes after the period (a late entry, an edit a few days on)."""
        self._writes.clear()
