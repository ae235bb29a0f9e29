"""The demo's calendar and clocks: the programme's weeks, local times, and the replay clock.

Everything here is pure date arithmetic: no random draws, so it can be computed in any
order without changing the story.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

__all__ = ["DEFAULT_START", "SUN", "THU", "TIME_ZONE", "TUE", "Calendar", "ReplayClock", "local"]

#: The demo client lives in London; every local time in the demo is in this zone.
TIME_ZONE = ZoneInfo("Europe/London")
#: The programme starts on a Monday.
DEFAULT_START = date(2025, 1, 6)

TUE, THU, SUN = 1, 3, 6


def local(day: date, minute_of_day: int) -> datetime:
    """``day`` at ``minute_of_day`` minutes after midnight, London time."""
    return datetime(
        day.year, day.month, day.day, minute_of_day // 60, minute_of_day % 60, tzinfo=TIME_ZONE
    )


def first_of_next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


@dataclass(frozen=True)
class Calendar:
    """The demo's period: whole weeks from ``start``, the programme, then time after it.

    The programme ends at the peer review on the Thursday of its last week; roughly the
    last tenth of the period (two weeks at least, half at most) comes after it.
    """

    start: date
    weeks: int

    @classmethod
    def of(cls, start: date, years: float) -> Calendar:
        return cls(start, max(1, round(years * 365.25 / 7)))

    @property
    def first_day(self) -> date:
        return self.start

    @cached_property
    def last_day(self) -> date:
        return self.start + timedelta(days=7 * self.weeks - 1)

    @cached_property
    def programme_weeks(self) -> int:
        after = min(max(2, round(self.weeks * 0.1)), self.weeks // 2)
        return self.weeks - after

    @cached_property
    def programme_end(self) -> date:
        return self.on_weekday(self.programme_weeks - 1, THU)

    @cached_property
    def programme_days(self) -> int:
        return max(1, (self.programme_end - self.start).days)

    @cached_property
    def cycle_weeks(self) -> int:
        """How long an inquiry cycle runs."""
        return min(6, max(2, round(0.13 * self.programme_weeks)))

    @cached_property
    def spike_month(self) -> tuple[int, int]:
        """(year, month) of the hard month at work: the third calendar month."""
        spike = self.start + timedelta(days=56)
        return spike.year, spike.month

    def in_spike(self, day: date) -> bool:
        return (day.year, day.month) == self.spike_month

    def in_period(self, day: date) -> bool:
        return self.first_day <= day <= self.last_day

    def progress(self, day: date) -> float:
        """How far through the programme ``day`` is: 0 at the start, 1 at its end."""
        return (day - self.start).days / self.programme_days

    def day_at(self, fraction: float) -> date:
        """The day at ``fraction`` of the programme (see :meth:`progress`)."""
        return self.start + timedelta(days=round(fraction * self.programme_days))

    def week_of(self, day: date) -> int:
        return (day - self.start).days // 7

    def monday(self, week: int) -> date:
        return self.start + timedelta(days=7 * week)

    def on_weekday(self, week: int, weekday: int) -> date:
        monday = self.monday(week)
        return next(
            d for d in (monday + timedelta(days=i) for i in range(7)) if d.weekday() == weekday
        )


class ReplayClock:
    """The workbook's clock while the demo is written: each read gives the next write's time."""

    def __init__(self, start: datetime) -> None:
        self._times: deque[datetime] = deque()
        self._last = start

    def __call__(self) -> datetime:
        if self._times:
            self._last = self._times.popleft()
        return self._last

    def schedule(self, times: Sequence[datetime]) -> None:
        self._times.clear()
        self._times.extend(times)
