"""The demo's story as typed objects, read from the files in ``data/demo/``.

The files hold what happens (people, the contexts of the client's life and their scenes,
the hypotheses and inquiry cycles, the sessions and reviews) and the words for it; the
simulation (:mod:`heron_research.demo.simulate`) decides when and how strongly. Each file
describes its own fields in its opening comment; ``data/demo/README.md`` lists them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

from heron_research.records import Sharing

__all__ = [
    "ANGER_WITH_SELF_MANAGEMENT",
    "Context",
    "CyclePlan",
    "Decision",
    "EpisodeWords",
    "EvidenceRule",
    "HypothesisPlan",
    "InterventionWords",
    "Outcome",
    "OwnTechnique",
    "PersonEntry",
    "Reaction",
    "ReviewWords",
    "Revision",
    "Scene",
    "SessionWords",
    "Story",
    "Technique",
]

#: The theme of angry episodes the client managed (an inquiry cycle compares techniques).
ANGER_WITH_SELF_MANAGEMENT = "anger_sm"

Hours = tuple[float, float]


@dataclass(frozen=True)
class PersonEntry:
    alias: str
    relationship: str
    notes: str
    sharing: Sharing


@dataclass(frozen=True)
class Context:
    """A part of the client's life: when in the week and the day it comes up."""

    name: str
    day_weights: tuple[float, ...]  # Monday first
    weekday_hours: tuple[Hours, ...]
    weekend_hours: tuple[Hours, ...]
    thoughts: tuple[str, ...]
    work: bool = False
    spike: float = 1.0  # how much more often it comes up in the hard month at work


@dataclass(frozen=True)
class Scene:
    context: str
    text: str
    people: tuple[str, ...]
    emotions: tuple[tuple[str, int], ...]  # (term, weight): the first pick is the strongest
    level: float = 0.0  # intensity offset
    theme: str = ""  # what hypotheses and cycles look for
    pleasant: bool = False
    private: float = 0.0  # extra chance that the client keeps it private
    days: tuple[int, ...] = ()  # the weekdays it can happen on (Monday is 0); () any
    hours: Hours | None = None  # when in the day, if not the context's

    def fits(self, day: date) -> bool:
        return not self.days or day.weekday() in self.days


@dataclass(frozen=True)
class Technique:
    learned: float  # programme progress from which the client uses it
    drop: float  # mean drop in intensity
    suits: tuple[str, ...] = ()  # emotion families it suits best
    after_programme: bool = False


@dataclass(frozen=True)
class OwnTechnique:
    technique: str
    skill: str
    drop: float


@dataclass(frozen=True)
class EpisodeWords:
    custom_words: tuple[str, ...]
    body: tuple[str, ...]
    body_pleasant: tuple[str, ...]
    thoughts_pleasant: tuple[str, ...]
    did_early: tuple[str, ...]
    did_later: tuple[str, ...]
    did_pleasant: tuple[str, ...]
    notes: tuple[str, ...]
    edit_notes: tuple[str, ...]
    echo_theme: str
    echo_note: str
    shared_later_note: str
    own_techniques: tuple[OwnTechnique, ...]
    techniques: dict[str, Technique]


@dataclass(frozen=True)
class EvidenceRule:
    """An episode whose strength is within the bounds is evidence in this direction."""

    direction: str  # supports or contradicts
    note: str
    at_least: int | None = None
    at_most: int | None = None

    def holds(self, strength: int) -> bool:
        low = self.at_least is None or strength >= self.at_least
        return low and (self.at_most is None or strength <= self.at_most)


@dataclass(frozen=True)
class Revision:
    at: float
    echoes: str
    unprocessed: str
    prediction: str


@dataclass(frozen=True)
class HypothesisPlan:
    key: str
    person: str | None
    situation: str
    reaction: str
    echoes: str
    unprocessed: str
    prediction: str
    themes: tuple[str, ...]
    targets: tuple[str, ...]  # emotions whose strength counts as evidence
    prior: int
    schedule: tuple[tuple[float, str], ...]  # (programme progress, status from then)
    end: float  # progress of the last update
    evidence: dict[str, tuple[EvidenceRule, ...]]
    revised_evidence: dict[str, tuple[EvidenceRule, ...]] = field(default_factory=dict)
    private_until: float = 0.0
    revision: Revision | None = None

    def weigh(self, theme: str, strength: int, revised: bool) -> EvidenceRule | None:
        """The rule an episode of ``theme`` at ``strength`` is evidence by, if any."""
        rules = (revised and self.revised_evidence.get(theme)) or self.evidence.get(theme, ())
        return next((rule for rule in rules if rule.holds(strength)), None)


@dataclass(frozen=True)
class CyclePlan:
    start: float
    hypothesis: str | None
    themes: tuple[str, ...]
    question: str
    plan: str
    observations: str
    experiential: str
    presentational: str
    propositional: str
    practical: str
    outcome: str
    next_step: str
    sharing: Sharing = Sharing.PRACTITIONER
    abandoned: bool = False


@dataclass(frozen=True)
class Decision:
    topic: str
    decision: str
    proposed_by: str
    decided_by: str


@dataclass(frozen=True)
class InterventionWords:
    early: float  # share among a session's interventions at the start of the programme
    late: float  # and at its end
    misread_as: str  # the category a client may take it for
    texts: tuple[str, ...]


@dataclass(frozen=True)
class Reaction:
    reaction: str
    possible_source: str
    how_addressed: str


@dataclass(frozen=True)
class SessionWords:
    intake_consent_note: str
    intake_decision: Decision
    withdrawn_note: str
    given_again_note: str
    decisions: dict[str, tuple[str, ...]]  # by topic
    first_autonomy_note: str
    interventions: dict[str, InterventionWords]  # by category
    reactions: tuple[Reaction, ...]
    final_reaction: Reaction
    after_programme: Decision
    own_review_topics: tuple[str, ...]
    own_review_note: str
    co_counselling_minutes: tuple[int, ...]
    contracts: dict[str, int]  # contract: weight
    worked_on: tuple[str, ...]
    discharge: tuple[str, ...]
    re_evaluation: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    client_view: str
    practitioner_view: str
    agreed: str
    reason: str
    dissent: str
    decision: Decision


@dataclass(frozen=True)
class ReviewWords:
    practitioner_agenda: tuple[tuple[str, str], ...]  # (item type, text)
    client_agenda: dict[str, tuple[int, tuple[str, ...]]]  # item type: (weight, texts)
    responses: dict[str, tuple[str, ...]]  # by item type
    outcomes: dict[str, Outcome]  # continue, dissent, final
    #: the follow-up review after the programme: (item type, text, days before the last day)
    follow_up: tuple[tuple[str, str, int], ...] = ()
    follow_up_after: int = 4  # the follow-up review's day, in days after the last day


@dataclass(frozen=True)
class Story:
    """Everything the demo tells, as read from ``data/demo/``."""

    people: tuple[PersonEntry, ...]
    person_edit: tuple[str, str]  # (alias, new notes)
    peer: PersonEntry
    contexts: tuple[Context, ...]
    scenes: tuple[Scene, ...]
    episodes: EpisodeWords
    hypotheses: tuple[HypothesisPlan, ...]
    cycles: tuple[CyclePlan, ...]
    sessions: SessionWords
    reviews: ReviewWords

    @cached_property
    def context(self) -> dict[str, Context]:
        return {c.name: c for c in self.contexts}

    @cached_property
    def scenes_by_context(self) -> dict[str, tuple[Scene, ...]]:
        return {c.name: tuple(s for s in self.scenes if s.context == c.name) for c in self.contexts}

    @cached_property
    def spike_scenes(self) -> tuple[Scene, ...]:
        """The clashes the hard month at work brings: unpleasant scenes it makes likelier."""
        return tuple(s for s in self.scenes if self.context[s.context].spike > 1 and not s.pleasant)
