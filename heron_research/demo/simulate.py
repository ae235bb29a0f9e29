"""The simulation: :class:`DemoStory` plans the story's beats and runs them week by week.

Each week the client's episodes are generated first, then the week's beats run in time
order, then the writes of the week come out in time order. Everything comes from
``random.Random(seed)`` and the simulated calendar, so the same arguments give the same
writes on any machine and in any local time zone.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

from heron_research.demo import inquiry, reviews, sessions
from heron_research.demo.clock import DEFAULT_START, SUN, TUE, Calendar, first_of_next_month, local
from heron_research.demo.episodes import week_episodes
from heron_research.demo.load import demo_story
from heron_research.demo.stage import Stage
from heron_research.demo.timeline import DemoWrite, Timeline

__all__ = ["DemoStory"]


class DemoStory:
    """The pure generation step: the demo's writes, in time order, from a seed.

    ``DemoStory(seed=7).writes()`` yields :class:`DemoWrite` items; :func:`generate_demo`
    applies them to a new workbook whose clock replays their times. Iterate once.
    """

    def __init__(
        self,
        *,
        seed: int = 7,
        years: float = 1.0,
        episodes_per_week: tuple[int, int] = (3, 6),
        start: date = DEFAULT_START,
    ) -> None:
        lo, hi = (int(n) for n in episodes_per_week)
        if not 0 < years <= 100:
            raise ValueError(f"years must be more than 0 and at most 100 (got {years})")
        if not 0 <= lo <= hi:
            raise ValueError(
                f"episodes_per_week must be (fewest, most) with 0 <= fewest <= most "
                f"(got {episodes_per_week})"
            )
        if isinstance(start, datetime) or not isinstance(start, date):
            raise TypeError("start must be a date")
        self.seed = int(seed)
        self.years = float(years)
        self.episodes_per_week = (lo, hi)
        self.start = start
        self.calendar = calendar = Calendar.of(start, self.years)
        self._used = False
        withdrawn, given_again = (calendar.day_at(f) for f in (0.45, 0.7))
        self.stage = Stage(
            rng=random.Random(self.seed),
            calendar=calendar,
            story=demo_story(),
            timeline=Timeline(calendar),
            research_withdrawn_at=local(withdrawn, 20 * 60 + 15).astimezone(UTC),
            research_given_again_at=local(given_again, 19 * 60 + 40).astimezone(UTC),
        )
        self.workbook_id = self.stage.new_id()
        self.created_at = local(start, 9 * 60 + 50).astimezone(UTC)
        self.research_withdrawn_at = self.stage.research_withdrawn_at
        self.research_given_again_at = self.stage.research_given_again_at
        self.weeks = calendar.weeks
        self.first_day, self.last_day = calendar.first_day, calendar.last_day
        self.programme_weeks = calendar.programme_weeks
        self.programme_end = calendar.programme_end
        self.spike_month = calendar.spike_month

    def progress(self, day: date) -> float:
        """How far through the programme ``day`` is: 0 at the start, 1 at its end."""
        return self.calendar.progress(day)

    @property
    def written(self) -> set[tuple[str, str]]:
        """(beat, record kind) for each kind a beat has written so far."""
        return set(self.stage.written)

    def writes(self) -> Iterator[DemoWrite]:
        """Every write of the demo, in time order (the story is generated as it goes).

        The workbook is a snapshot at the end of the last day: what the client would
        have written later (a late entry, an edit a few days on) is left out.
        """
        if self._used:
            raise RuntimeError("a DemoStory can be iterated only once; make a new one")
        self._used = True
        stage, calendar = self.stage, self.calendar
        plan_story(stage)
        for week in range(calendar.weeks):
            week_episodes(stage, week, self.episodes_per_week)
            for at, _, beat, args in stage.timeline.due(week):
                beat(stage, at, *args)
            boundary = local(calendar.monday(week + 1), 0).astimezone(UTC)
            yield from stage.timeline.writes_before(boundary)
        stage.timeline.drop_the_rest()


def plan_story(stage: Stage) -> None:
    """Schedule every beat of the story (the order matters: it is the order of the draws)."""
    calendar, words = stage.calendar, stage.story.sessions
    stage.at(local(calendar.start, 10 * 60), sessions.intake)
    stage.at(stage.research_withdrawn_at, sessions.change_consent, False)
    stage.at(stage.research_given_again_at, sessions.change_consent, True)
    # weekly sessions (the intake is the first), practitioner reactions every sixth
    reactions = itertools.cycle(words.reactions)
    for week in range(1, calendar.programme_weeks):
        day = calendar.on_weekday(week, TUE)
        if day < calendar.programme_end:
            stage.at(local(day, 19 * 60 + 5), sessions.session)
            if week % 6 == 3:
                stage.at(local(day, 21 * 60 + 10), sessions.practitioner_reaction, reactions)
    final = iter([words.final_reaction])
    stage.at(local(calendar.programme_end, 21 * 60 + 40), sessions.practitioner_reaction, final)
    # fortnightly check-ins (the intake has the first)
    for week in range(1, calendar.weeks, 2):
        sunday = calendar.on_weekday(week, SUN)
        stage.at(stage.time(sunday, 19.5, 20.75), sessions.check_ins)
    reviews.plan_reviews(stage)
    inquiry.plan_hypotheses(stage)
    inquiry.plan_cycles(stage)
    stage.at(local(calendar.day_at(0.3), 21 * 60 + 5), sessions.edit_person)
    stage.at(local(calendar.day_at(0.8), 21 * 60 + 15), sessions.register_peer)
    # after the programme: co-counselling every fortnight, and the client's own decisions
    after = calendar.programme_end + timedelta(days=3)
    stage.at(local(after, 20 * 60 + 30), sessions.decision_after_programme)
    month = date(after.year, after.month, 1)
    while month <= calendar.last_day:
        first_sunday = month + timedelta(days=(SUN - month.weekday()) % 7)
        if after < first_sunday <= calendar.last_day:
            stage.at(stage.time(first_sunday, 19, 21), sessions.own_review)
        month = first_of_next_month(month)
    day = calendar.programme_end + timedelta(days=8)
    while day <= calendar.last_day:
        stage.at(stage.time(day, 18.5, 19.5), sessions.co_counselling)
        day += timedelta(days=14)
