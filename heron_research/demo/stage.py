"""The context every beat of the demo gets: what it may draw on and how it writes.

A beat (an episode, a session, a review, a look at a hypothesis) receives a :class:`Stage`
and nothing else: the one random source, the calendar, the story, the people registered
so far, the episodes logged so far by theme, a few things that happen once, and the ways
to write (``save``, ``mark``) and to schedule (``at``). Every random draw goes through
``stage.rng`` in the order the beats run, which is what makes a seed give one workbook.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from heron_research.demo.clock import Calendar, local
from heron_research.demo.story import Story
from heron_research.demo.timeline import Timeline
from heron_research.records import AgendaItem, Record, Sharing

__all__ = ["Logged", "Stage"]


@dataclass(slots=True)
class Logged:
    """What later beats need to know about a logged episode."""

    id: str
    entered: datetime  # UTC
    emotions: dict[str, int]


@dataclass
class Stage:
    rng: random.Random
    calendar: Calendar
    story: Story
    timeline: Timeline
    research_withdrawn_at: datetime  # UTC
    research_given_again_at: datetime  # UTC
    #: alias -> person id, as the client registers them
    people: dict[str, str] = field(default_factory=dict)
    #: theme -> the episodes of that theme logged so far (not duplicates or deleted ones)
    logged: dict[str, list[Logged]] = field(default_factory=dict)
    #: hypothesis key -> its id, once it has been saved
    hypotheses: dict[str, str] = field(default_factory=dict)
    #: agenda items raised and not yet resolved at a review
    agenda: list[AgendaItem] = field(default_factory=list)
    #: item id -> the review that first took it up, for items still open after it
    open_at: dict[str, str] = field(default_factory=dict)
    #: things that happen once ("item9", "duplicate", ...), once they have
    happened: set[str] = field(default_factory=set)
    #: (beat, record kind) for every record written, and the beats running now
    written: set[tuple[str, str]] = field(default_factory=set)
    running: list[str] = field(default_factory=list)

    # --- drawing -------------------------------------------------------------------

    def new_id(self) -> str:
        """A record id shaped like :func:`heron_research.records.new_id`, from the seed."""
        return f"{self.rng.getrandbits(128):032x}"

    def derived_id(self, *parts: str) -> str:
        """A record id shaped like :func:`heron_research.records.new_id`, from ``parts``
        (the ids a record belongs to): no random draw, so the story is unchanged."""
        return hashlib.sha256(":".join(parts).encode()).hexdigest()[:32]

    def time(self, day: date, lo: float, hi: float) -> datetime:
        """A random minute on ``day`` between hours ``lo`` and ``hi`` (London time)."""
        return local(day, self.rng.randint(round(lo * 60), round(hi * 60)))

    def once(self, what: str) -> bool:
        """True the first time ``what`` is asked for, False after."""
        if what in self.happened:
            return False
        self.happened.add(what)
        return True

    # --- sharing -------------------------------------------------------------------

    def research_on(self, at: datetime) -> bool:
        return not self.research_withdrawn_at <= at < self.research_given_again_at

    def shared(self, at: datetime, research_share: float) -> Sharing:
        """The sharing a client would choose: research sometimes, while consented."""
        if self.research_on(at) and self.rng.random() < research_share:
            return Sharing.RESEARCH
        return Sharing.PRACTITIONER

    def for_research(self, at: datetime, created: datetime | None = None) -> Sharing:
        """The sharing of a record the client always shares for research while consented
        (hypotheses, cycles, decisions, reviews): no random draw, so the story is unchanged."""
        if self.research_on(at) and self.research_on(created or at):
            return Sharing.RESEARCH
        return Sharing.PRACTITIONER

    # --- writing and scheduling ----------------------------------------------------

    def save(self, at: datetime, record: Record) -> None:
        self.written.add((self.running[-1] if self.running else "", record.kind))
        self.timeline.save(at, record)

    def mark(self, at: datetime, action: Literal["delete", "restore"], record_id: str) -> None:
        self.timeline.mark(at, action, record_id)

    def at(self, when: datetime, beat: Callable[..., None], *args: Any) -> None:
        """Run ``beat(stage, when, *args)`` when the story reaches ``when``."""
        self.timeline.schedule(when, beat, args)
