"""The research dataset's tables: every column, what it means, and where it comes from.

This is the one description of the dataset. The extraction step reads records through it,
the anonymiser steps act on columns by their :attr:`Column.role`, the Parquet schemas are
made from it, and so is the Frictionless codebook (``datapackage.json``).

Roles say what the anonymiser does with a column:

``participant``   the participant's pseudonym (filled in by the pseudonym step)
``id``            the record's own id: re-keyed with the study key
``ref``           an id of another exported record: re-keyed, or empty if that record is
                  not in the dataset (not shared for research)
``person``        an id from the client's people register: re-keyed (names never leave)
``day``           a calendar date: becomes the day index since the participant's first record
``weekday``       a calendar date: becomes the weekday (0 = Monday ... 6 = Sunday)
``part_of_day``   a clock time: becomes night, morning, afternoon or evening
``text``          free text: left out by default, or scrubbed (``--free-text scrubbed``)
``term``          a vocabulary term or the client's own word: own words used by fewer than
                  k participants become "other"
``value``         kept as it is (numbers, yes/no, fixed choices)
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache, lru_cache
from typing import Any, Literal

from pydantic import BaseModel

from heron_research.records import (
    RELATIONSHIPS,
    AgendaItem,
    CheckIn,
    CoCounsellingSession,
    EmotionEpisode,
    FocusDecision,
    InquiryCycle,
    PeerReview,
    ProjectionHypothesis,
)
from heron_research.records.models import (
    Evidence,
)
from heron_research.records.scoring import INSTRUMENTS, Score, score
from heron_research.vocab import SKILLS, lookup_emotion, lookup_technique, normalise_term

__all__ = [
    "PARTICIPANTS",
    "PARTS_OF_DAY",
    "TABLES",
    "Column",
    "Context",
    "Role",
    "Table",
    "ordinal",
    "table",
]

Role = Literal[
    "participant", "id", "ref", "person", "day", "weekday", "part_of_day", "text", "term", "value"
]
Kind = Literal["string", "integer", "number", "boolean"]

#: Parts of the day, by the hour they start.
PARTS_OF_DAY: tuple[tuple[int, str], ...] = (
    (0, "night"),
    (6, "morning"),
    (12, "afternoon"),
    (18, "evening"),
)
WEEKDAYS = (
    "0 = Monday, 1 = Tuesday, 2 = Wednesday, 3 = Thursday, 4 = Friday, 5 = Saturday, 6 = Sunday"
)


class Context:
    """What extraction needs besides the record: the people register (id -> relationship)."""

    __slots__ = ("_scores", "relationships")

    def __init__(self, relationships: dict[str, str] | None = None) -> None:
        self.relationships = relationships or {}
        self._scores: dict[str, Score] = {}

    def score(self, check_in: dict[str, Any]) -> Score:
        """A check-in's score, computed once for its three columns."""
        found = self._scores.get(check_in["id"])
        if found is None:
            found = score(check_in["instrument"], check_in["answers"])
            self._scores[check_in["id"]] = found
        return found

    def relationship(self, person_id: str | None) -> str | None:
        if person_id is None:
            return None
        return self.relationships.get(person_id, "unknown")


Getter = Callable[[Any, Any, Context], Any]


class RecordField:
    """A getter for a field of the record as stored (extraction reads it directly)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, record: dict[str, Any], item: Any, context: Context) -> Any:
        return record[self.name]


class ItemField(RecordField):
    """A getter for a field of a list item (child tables iterate (position, item) pairs)."""

    __slots__ = ()

    def __call__(self, record: dict[str, Any], item: Any, context: Context) -> Any:
        return item[1][self.name]


class Item:
    """A getter for a list item that is a plain value (an id, an answer)."""

    __slots__ = ()

    def __call__(self, record: dict[str, Any], item: Any, context: Context) -> Any:
        return item[1]


class Position(Item):
    """A getter for a list item's position in its list."""

    __slots__ = ()

    def __call__(self, record: dict[str, Any], item: Any, context: Context) -> Any:
        return item[0]


@dataclass(frozen=True)
class Column:
    """One column of a dataset table."""

    name: str
    kind: Kind
    description: str
    role: Role = "value"
    get: Getter | None = None  # (record, list item or None, context) -> raw value
    required: bool = False
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] | Callable[[], tuple[str, ...]] | None = None
    unit: str | None = None
    origin: bool = False  # this date places the record on the participant's timeline

    def allowed(self) -> tuple[str, ...] | None:
        """The allowed values of a fixed-choice column (vocabulary terms for terms)."""
        if self.choices is None:
            return None
        return self.choices() if callable(self.choices) else self.choices


@dataclass(frozen=True)
class Table:
    """One table: which records (and which list in them) give its rows, and its columns."""

    name: str
    title: str
    description: str
    kind: str | None  # the record kind read (None: built from the others)
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    items: str | None = None  # the list field whose items are the rows (child tables)
    foreign_keys: tuple[tuple[str, str, str], ...] = field(default=())  # column, table, column

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    def by_role(self, *roles: Role) -> list[Column]:
        return [c for c in self.columns if c.role in roles]


# --- helpers for getters and choices ---------------------------------------------------------


def ordinal(value: str | date | datetime | None) -> int | None:
    """The proleptic Gregorian ordinal of a date on the local calendar where it was recorded.

    Stored times are ISO 8601 text with the offset of the place they were recorded
    (``2025-03-03T08:15:00+01:00``): their first ten characters are the local date.
    """
    if value is None:
        return None
    if isinstance(value, str):
        return date.fromisoformat(value[:10]).toordinal()
    if isinstance(value, datetime):
        return value.date().toordinal()
    return value.toordinal()


def _minute(value: str) -> int:
    """Minutes since local midnight on the wall clock where the time was recorded."""
    return int(value[11:13]) * 60 + int(value[14:16])


def _choices(model: type[BaseModel], name: str) -> tuple[str, ...]:
    annotation = model.model_fields[name].annotation
    stack = [annotation]
    while stack:
        current = stack.pop()
        if typing.get_origin(current) is Literal:
            return tuple(str(a) for a in typing.get_args(current))
        stack.extend(typing.get_args(current))
    raise TypeError(f"{model.__name__}.{name} is not a fixed choice")


def _emotion_terms() -> tuple[str, ...]:
    from heron_research.vocab import emotions

    return (*sorted(emotions()), "other")


def _technique_terms() -> tuple[str, ...]:
    from heron_research.vocab import techniques

    return (*sorted(techniques()), "other")


def _families() -> tuple[str, ...]:
    from heron_research.vocab import emotions

    return tuple(sorted({e.family for e in emotions().values()}))


def _valences() -> tuple[str, ...]:
    from heron_research.vocab import emotions

    return tuple(sorted({e.valence for e in emotions().values()}))


def _bands() -> tuple[str, ...]:
    names: list[str] = []
    for spec in INSTRUMENTS.values():
        names.extend(name for _, name in spec.bands if name not in names)
    return tuple(names)


@lru_cache(maxsize=4096)
def _emotion_info(text: str) -> tuple[str, bool, str | None, str | None]:
    """(term, own word?, family, valence) for an emotion as written.

    Looked up again (as the record model does), so a word the vocabulary has since gained
    counts as a term; an own word is kept in lower case."""
    known = lookup_emotion(text)
    if known is None:
        return normalise_term(text), True, None, None
    return known.term, False, known.family, known.valence


@lru_cache(maxsize=4096)
def _technique_info(text: str) -> tuple[str, bool]:
    """(technique, own words?) for a technique as written."""
    known = lookup_technique(text)
    if known is None:
        return normalise_term(text), True
    return known.technique, False


def _count(items: list[dict[str, Any]], direction: str) -> int:
    return sum(1 for e in items if e["direction"] == direction)


def _confidence(points: list[dict[str, Any]], index: int) -> int | None:
    return points[index]["confidence"] if points else None


def _peak(record: dict[str, Any]) -> int:
    return max(e["intensity"] for e in record["emotions"])


# --- the columns every table shares ----------------------------------------------------------

PARTICIPANT = Column(
    "participant_id",
    "string",
    "The participant's pseudonym: an HMAC of the workbook's id under the study key. "
    "Stable within this study, unlinkable to other studies.",
    role="participant",
    required=True,
)


def _own_id(name: str, what: str) -> Column:
    return Column(
        name,
        "string",
        f"The {what}'s id, re-keyed with the study key.",
        role="id",
        get=RecordField("id"),
        required=True,
    )


def _day(name: str, what: str, getter: Getter, *, origin: bool = False) -> Column:
    return Column(
        name,
        "integer",
        f"{what}: days since the participant's first record in this dataset (day 0). "
        "Calendar dates never leave the workbook.",
        role="day",
        get=getter,
        unit="days",
        required=origin,
        origin=origin,
    )


def _weekday(getter: Getter) -> Column:
    return Column(
        "weekday",
        "integer",
        f"Day of the week of the entry, on the participant's local calendar ({WEEKDAYS}).",
        role="weekday",
        get=getter,
        minimum=0,
        maximum=6,
        required=True,
    )


def _part_of_day(getter: Getter) -> Column:
    return Column(
        "part_of_day",
        "string",
        "Part of the day on the participant's local clock: night (00-06), morning "
        "(06-12), afternoon (12-18) or evening (18-24).",
        role="part_of_day",
        get=getter,
        choices=tuple(name for _, name in PARTS_OF_DAY),
        required=True,
    )


def _scale(name: str, description: str, getter: Getter, lo: int = 0, hi: int = 10) -> Column:
    return Column(name, "integer", description, get=getter, minimum=lo, maximum=hi, unit="points")


def _text(name: str, description: str, getter: Getter) -> Column:
    return Column(
        name,
        "string",
        f"{description} Free text: only present with --free-text scrubbed, after names, "
        "contact details, numbers and dates were replaced by tokens such as [partner] or "
        "[email]. Scrubbed text still carries a residual risk of re-identification.",
        role="text",
        get=getter,
    )


def _count_column(name: str, what: str, getter: Getter) -> Column:
    return Column(name, "integer", f"Number of {what}.", get=getter, minimum=0, unit="count")


def _position(what: str) -> Column:
    return Column(
        "position",
        "integer",
        f"Position of the {what} in the entry's list, from 0.",
        get=Position(),
        minimum=0,
        required=True,
    )


def _relationship(getter: Getter) -> Column:
    return Column(
        "relationship",
        "string",
        "The person's relationship to the participant, from the participant's people register "
        "('unknown' if the person is not in it). Names never leave the workbook.",
        get=getter,
        choices=(*RELATIONSHIPS, "unknown"),
    )


def _person(getter: Getter) -> Column:
    return Column(
        "person_id",
        "string",
        "The person (from the participant's people register), re-keyed with the study key: the "
        "same person has the same id within a participant.",
        role="person",
        get=getter,
    )


def _ref(name: str, what: str, getter: Getter) -> Column:
    return Column(
        name,
        "string",
        f"The {what} it refers to, re-keyed; empty if that {what} is not in the dataset.",
        role="ref",
        get=getter,
    )


# --- the tables ------------------------------------------------------------------------------

# Child tables iterate (position, item) pairs: the getters read ``i[1]``.

PARTICIPANTS = Table(
    name="participants",
    title="Participants",
    description="One row per participant whose workbook passed the consent gate.",
    kind=None,
    columns=(
        PARTICIPANT,
        Column(
            "days_observed",
            "integer",
            "Days from the participant's first to last dated record in this dataset, "
            "both included.",
            minimum=1,
            unit="days",
            required=True,
        ),
        *(
            Column(
                f"n_{name}",
                "integer",
                f"Number of rows for this participant in the {name} table.",
                minimum=0,
                unit="count",
                required=True,
            )
            for name in (
                "episodes",
                "hypotheses",
                "cycles",
                "decisions",
                "reviews",
                "agenda_items",
                "check_ins",
                "co_counselling",
            )
        ),
    ),
    primary_key=("participant_id",),
)

EPISODES = Table(
    name="episodes",
    title="Emotion episodes",
    description="Daily-life emotion episodes the participant logged and shared for research.",
    kind=EmotionEpisode.kind,
    columns=(
        PARTICIPANT,
        _own_id("episode_id", "episode"),
        _day(
            "day",
            "When the episode happened",
            lambda r, i, c: ordinal(r["occurred_at"]),
            origin=True,
        ),
        _weekday(lambda r, i, c: ordinal(r["occurred_at"])),
        _part_of_day(lambda r, i, c: _minute(r["occurred_at"])),
        _count_column(
            "n_emotions", "emotions rated in the episode", lambda r, i, c: len(r["emotions"])
        ),
        _scale(
            "peak_intensity",
            "The strongest emotion's intensity (0-10).",
            lambda r, i, c: _peak(r),
        ),
        _scale(
            "proportionality",
            "How proportionate the reaction felt (0 = far too strong, 10 = fitting); "
            "empty if not rated.",
            RecordField("proportionality"),
        ),
        _count_column("n_people", "people involved", lambda r, i, c: len(r["people"])),
        _count_column(
            "n_self_management",
            "self-management techniques used",
            lambda r, i, c: len(r["self_management"]),
        ),
        _text("situation", "The situation.", RecordField("situation")),
        _text("body_sensations", "Body sensations.", RecordField("body_sensations")),
        _text("thoughts", "Thoughts.", RecordField("thoughts")),
        _text("what_i_did", "What the participant did.", RecordField("what_i_did")),
        _text("notes", "Notes.", RecordField("notes")),
    ),
    primary_key=("episode_id",),
    foreign_keys=(("participant_id", "participants", "participant_id"),),
)

EPISODE_EMOTIONS = Table(
    name="episode_emotions",
    title="Emotions in episodes",
    description="Each emotion rated in an episode, with its intensity (long format).",
    kind=EmotionEpisode.kind,
    items="emotions",
    columns=(
        PARTICIPANT,
        _own_id("episode_id", "episode"),
        _position("emotion"),
        Column(
            "emotion",
            "string",
            "The emotion: a term of heron-research's emotion vocabulary; a participant's own "
            "word (lower case) if at least k participants used it; otherwise 'other'.",
            role="term",
            get=lambda r, i, c: _emotion_info(i[1]["emotion"])[0],
            choices=_emotion_terms,
            required=True,
        ),
        Column(
            "custom",
            "boolean",
            "True when the participant used their own word rather than a vocabulary term.",
            get=lambda r, i, c: _emotion_info(i[1]["emotion"])[1],
            required=True,
        ),
        Column(
            "family",
            "string",
            "The emotion's family in the vocabulary; empty for the participant's own words.",
            get=lambda r, i, c: _emotion_info(i[1]["emotion"])[2],
            choices=_families,
        ),
        Column(
            "valence",
            "string",
            "The emotion's valence in the vocabulary; empty for the participant's own words.",
            get=lambda r, i, c: _emotion_info(i[1]["emotion"])[3],
            choices=_valences,
        ),
        _scale("intensity", "Intensity of the emotion (0-10).", ItemField("intensity")),
    ),
    primary_key=("episode_id", "position"),
    foreign_keys=(
        ("participant_id", "participants", "participant_id"),
        ("episode_id", "episodes", "episode_id"),
    ),
)

EPISODE_SELF_MANAGEMENT = Table(
    name="episode_self_management",
    title="Self-management in episodes",
    description="Each self-management technique used in an episode, with the intensity before "
    "and after (Heron's four skills: expression, control, catharsis, transmutation).",
    kind=EmotionEpisode.kind,
    items="self_management",
    columns=(
        PARTICIPANT,
        _own_id("episode_id", "episode"),
        _position("technique"),
        Column(
            "technique",
            "string",
            "The technique: a term of heron-research's technique vocabulary; a participant's "
            "own words (lower case) if at least k participants used them; otherwise 'other'.",
            role="term",
            get=lambda r, i, c: _technique_info(i[1]["technique"])[0],
            choices=_technique_terms,
            required=True,
        ),
        Column(
            "custom",
            "boolean",
            "True when the technique is the participant's own rather than a vocabulary term.",
            get=lambda r, i, c: _technique_info(i[1]["technique"])[1],
            required=True,
        ),
        Column(
            "skill",
            "string",
            "Which of Heron's four skills the technique belongs to.",
            get=ItemField("skill"),
            choices=SKILLS,
            required=True,
        ),
        _scale("intensity_before", "Intensity before (0-10).", ItemField("intensity_before")),
        _scale(
            "intensity_after",
            "Intensity afterwards (0-10).",
            ItemField("intensity_after"),
        ),
    ),
    primary_key=("episode_id", "position"),
    foreign_keys=(
        ("participant_id", "participants", "participant_id"),
        ("episode_id", "episodes", "episode_id"),
    ),
)

EPISODE_PEOPLE = Table(
    name="episode_people",
    title="People involved in episodes",
    description="Each person involved in an episode, as a re-keyed id and a relationship.",
    kind=EmotionEpisode.kind,
    items="people",
    columns=(
        PARTICIPANT,
        _own_id("episode_id", "episode"),
        _position("person"),
        _person(Item()),
        _relationship(lambda r, i, c: c.relationship(i[1])),
    ),
    primary_key=("episode_id", "position"),
    foreign_keys=(
        ("participant_id", "participants", "participant_id"),
        ("episode_id", "episodes", "episode_id"),
    ),
)

HYPOTHESES = Table(
    name="hypotheses",
    title="Projection hypotheses",
    description="Projection hypotheses: a reaction that may echo unprocessed emotion from "
    "elsewhere, tested in daily life, with a status that changes over time.",
    kind=ProjectionHypothesis.kind,
    columns=(
        PARTICIPANT,
        _own_id("hypothesis_id", "hypothesis"),
        _day(
            "day",
            "When the hypothesis was started",
            lambda r, i, c: ordinal(r["opened_on"]),
            origin=True,
        ),
        _weekday(lambda r, i, c: ordinal(r["opened_on"])),
        _person(RecordField("person_id")),
        _relationship(lambda r, i, c: c.relationship(r["person_id"])),
        Column(
            "status",
            "string",
            "The hypothesis's current status.",
            get=RecordField("status"),
            choices=_choices(ProjectionHypothesis, "status"),
            required=True,
        ),
        _count_column(
            "n_supporting",
            "episodes logged as supporting evidence",
            lambda r, i, c: _count(r["evidence"], "supports"),
        ),
        _count_column(
            "n_contradicting",
            "episodes logged as contradicting evidence",
            lambda r, i, c: _count(r["evidence"], "contradicts"),
        ),
        _scale(
            "first_confidence",
            "The first confidence rating (0-100).",
            lambda r, i, c: _confidence(r["confidence"], 0),
            hi=100,
        ),
        _scale(
            "last_confidence",
            "The latest confidence rating (0-100).",
            lambda r, i, c: _confidence(r["confidence"], -1),
            hi=100,
        ),
        _text("situation", "The situation reacted to.", RecordField("situation")),
        _text("reaction", "The reaction.", RecordField("reaction")),
        _text("echoes", "What or whom it may echo.", RecordField("echoes")),
        _text(
            "unprocessed_emotion",
            "The unprocessed emotion suspected.",
            RecordField("unprocessed_emotion"),
        ),
        _text("prediction", "The prediction to test in daily life.", RecordField("prediction")),
    ),
    primary_key=("hypothesis_id",),
    foreign_keys=(("participant_id", "participants", "participant_id"),),
)

HYPOTHESIS_EVIDENCE = Table(
    name="hypothesis_evidence",
    title="Evidence for hypotheses",
    description="Episodes logged as supporting or contradicting a hypothesis.",
    kind=ProjectionHypothesis.kind,
    items="evidence",
    columns=(
        PARTICIPANT,
        _own_id("hypothesis_id", "hypothesis"),
        _position("evidence item"),
        _ref("episode_id", "episode", ItemField("episode_id")),
        Column(
            "direction",
            "string",
            "Whether the episode supports or contradicts the hypothesis.",
            get=ItemField("direction"),
            choices=_choices(Evidence, "direction"),
            required=True,
        ),
        _day("day", "When the evidence was added", lambda r, i, c: ordinal(i[1]["added_on"])),
        _text("note", "The note on the evidence.", ItemField("note")),
    ),
    primary_key=("hypothesis_id", "position"),
    foreign_keys=(
        ("participant_id", "participants", "participant_id"),
        ("hypothesis_id", "hypotheses", "hypothesis_id"),
    ),
)

HYPOTHESIS_CONFIDENCE = Table(
    name="hypothesis_confidence",
    title="Confidence in hypotheses over time",
    description="Each confidence rating of a hypothesis (0-100), in date order.",
    kind=ProjectionHypothesis.kind,
    items="confidence",
    columns=(
        PARTICIPANT,
        _own_id("hypothesis_id", "hypothesis"),
        _position("rating"),
        _day("day", "When the rating was made", lambda r, i, c: ordinal(i[1]["on"])),
        _scale(
            "confidence",
            "Confidence in the hypothesis (0-100).",
            ItemField("confidence"),
            hi=100,
        ),
        Column(
            "status",
            "string",
            "The hypothesis's status at the time; empty if not noted.",
            get=ItemField("status"),
            choices=_choices(ProjectionHypothesis, "status"),
        ),
    ),
    primary_key=("hypothesis_id", "position"),
    foreign_keys=(
        ("participant_id", "participants", "participant_id"),
        ("hypothesis_id", "hypotheses", "hypothesis_id"),
    ),
)

CYCLES = Table(
    name="cycles",
    title="Inquiry cycles",
    description="Self-directed action research: plan, act, observe, reflect.",
    kind=InquiryCycle.kind,
    columns=(
        PARTICIPANT,
        _own_id("cycle_id", "cycle"),
        _day(
            "day", "When the cycle started", lambda r, i, c: ordinal(r["started_on"]), origin=True
        ),
        _weekday(lambda r, i, c: ordinal(r["started_on"])),
        _day(
            "end_day",
            "When the cycle was planned to end (empty if open)",
            lambda r, i, c: ordinal(r["ends_on"]),
        ),
        _ref("hypothesis_id", "hypothesis", RecordField("hypothesis_id")),
        Column(
            "status",
            "string",
            "The cycle's status.",
            get=RecordField("status"),
            choices=_choices(InquiryCycle, "status"),
            required=True,
        ),
        _count_column(
            "n_episodes", "episodes observed in the cycle", lambda r, i, c: len(r["episode_ids"])
        ),
        _text("question", "The question.", RecordField("question")),
        _text("plan", "The plan.", RecordField("plan")),
        _text("observations", "What was observed.", RecordField("observations")),
        _text(
            "reflection_experiential",
            "Reflection: experiential.",
            lambda r, i, c: r["reflection"]["experiential"],
        ),
        _text(
            "reflection_presentational",
            "Reflection: presentational.",
            lambda r, i, c: r["reflection"]["presentational"],
        ),
        _text(
            "reflection_propositional",
            "Reflection: propositional.",
            lambda r, i, c: r["reflection"]["propositional"],
        ),
        _text(
            "reflection_practical",
            "Reflection: practical.",
            lambda r, i, c: r["reflection"]["practical"],
        ),
        _text("outcome", "The outcome.", RecordField("outcome")),
        _text("next_step", "The next step.", RecordField("next_step")),
    ),
    primary_key=("cycle_id",),
    foreign_keys=(("participant_id", "participants", "participant_id"),),
)

CYCLE_EPISODES = Table(
    name="cycle_episodes",
    title="Episodes observed in inquiry cycles",
    description="Each episode linked to an inquiry cycle.",
    kind=InquiryCycle.kind,
    items="episode_ids",
    columns=(
        PARTICIPANT,
        _own_id("cycle_id", "cycle"),
        _position("episode"),
        _ref("episode_id", "episode", Item()),
    ),
    primary_key=("cycle_id", "position"),
    foreign_keys=(
        ("participant_id", "participants", "participant_id"),
        ("cycle_id", "cycles", "cycle_id"),
    ),
)

DECISIONS = Table(
    name="decisions",
    title="Focus decisions",
    description="Decisions about the training: who proposed them and how they were decided "
    "(autonomy: by the client; co-operation: together; hierarchy: by the practitioner).",
    kind=FocusDecision.kind,
    columns=(
        PARTICIPANT,
        _own_id("decision_id", "decision"),
        _day(
            "day",
            "When the decision was made",
            lambda r, i, c: ordinal(r["decided_on"]),
            origin=True,
        ),
        _weekday(lambda r, i, c: ordinal(r["decided_on"])),
        Column(
            "topic",
            "string",
            "What the decision was about.",
            get=RecordField("topic"),
            choices=_choices(FocusDecision, "topic"),
            required=True,
        ),
        Column(
            "proposed_by",
            "string",
            "Who proposed it.",
            get=RecordField("proposed_by"),
            choices=_choices(FocusDecision, "proposed_by"),
            required=True,
        ),
        Column(
            "decided_by",
            "string",
            "How it was decided: autonomy (by the client), co-operation (together) or "
            "hierarchy (by the practitioner).",
            get=RecordField("decided_by"),
            choices=_choices(FocusDecision, "decided_by"),
            required=True,
        ),
        _text("decision", "What was decided.", RecordField("decision")),
        _text("notes", "Notes.", RecordField("notes")),
    ),
    primary_key=("decision_id",),
    foreign_keys=(("participant_id", "participants", "participant_id"),),
)

_OUTCOMES = _choices(PeerReview, "agreed_outcome")

REVIEWS = Table(
    name="reviews",
    title="Peer reviews",
    description="Peer-review sessions: the client's ratings, both views on continuing and the "
    "agreed outcome.",
    kind=PeerReview.kind,
    columns=(
        PARTICIPANT,
        _own_id("review_id", "review"),
        _day("day", "When the review was held", lambda r, i, c: ordinal(r["held_on"]), origin=True),
        _weekday(lambda r, i, c: ordinal(r["held_on"])),
        _day(
            "period_start_day",
            "Start of the period reviewed",
            lambda r, i, c: ordinal(r["period_start"]),
        ),
        _day(
            "period_end_day", "End of the period reviewed", lambda r, i, c: ordinal(r["period_end"])
        ),
        _day(
            "next_review_day",
            "The next review planned (empty if none)",
            lambda r, i, c: ordinal(r["next_review_on"]),
        ),
        _scale(
            "rating_focus",
            "The client's rating of the focus (0-10).",
            lambda r, i, c: r["ratings"]["focus"],
        ),
        _scale(
            "rating_method",
            "The client's rating of the method (0-10).",
            lambda r, i, c: r["ratings"]["method"],
        ),
        _scale(
            "rating_relationship",
            "The client's rating of the relationship (0-10).",
            lambda r, i, c: r["ratings"]["relationship"],
        ),
        _scale(
            "rating_my_say",
            "The client's rating of their say in decisions (0-10).",
            lambda r, i, c: r["ratings"]["my_say"],
        ),
        _scale(
            "rating_overall",
            "The client's overall rating (0-10).",
            lambda r, i, c: r["ratings"]["overall"],
        ),
        Column(
            "client_view",
            "string",
            "The client's view on continuing.",
            get=RecordField("client_view"),
            choices=_OUTCOMES,
        ),
        Column(
            "practitioner_view",
            "string",
            "The practitioner's view on continuing.",
            get=RecordField("practitioner_view"),
            choices=_OUTCOMES,
        ),
        Column(
            "agreed_outcome",
            "string",
            "The agreed outcome.",
            get=RecordField("agreed_outcome"),
            choices=_OUTCOMES,
        ),
        Column(
            "has_dissent",
            "boolean",
            "True when a dissent from the agreed outcome was recorded.",
            get=lambda r, i, c: bool(r["dissent"]),
            required=True,
        ),
        _text("reason", "The reason for the outcome.", RecordField("reason")),
        _text("dissent", "The dissent.", RecordField("dissent")),
    ),
    primary_key=("review_id",),
    foreign_keys=(("participant_id", "participants", "participant_id"),),
)

AGENDA_ITEMS = Table(
    name="agenda_items",
    title="Peer-review agenda items",
    description="Items raised for peer reviews: satisfaction, dissatisfaction, requests and "
    "questions, with who raised them and whether they were resolved.",
    kind=AgendaItem.kind,
    columns=(
        PARTICIPANT,
        _own_id("item_id", "agenda item"),
        _day(
            "day", "When the item was raised", lambda r, i, c: ordinal(r["raised_on"]), origin=True
        ),
        _weekday(lambda r, i, c: ordinal(r["raised_on"])),
        Column(
            "raised_by",
            "string",
            "Who raised it.",
            get=RecordField("raised_by"),
            choices=_choices(AgendaItem, "raised_by"),
            required=True,
        ),
        Column(
            "item_type",
            "string",
            "The kind of item.",
            get=RecordField("item_type"),
            choices=_choices(AgendaItem, "item_type"),
            required=True,
        ),
        Column(
            "resolved",
            "boolean",
            "Whether it was resolved.",
            get=RecordField("resolved"),
            required=True,
        ),
        _ref("review_id", "review", RecordField("review_id")),
        _text("text", "The item.", RecordField("text")),
        _text("response", "The response.", RecordField("response")),
    ),
    primary_key=("item_id",),
    foreign_keys=(("participant_id", "participants", "participant_id"),),
)

CHECK_INS = Table(
    name="check_ins",
    title="Check-ins",
    description="Standard measures (PHQ-9, GAD-7) and heron-research's own wellbeing items, "
    "with the score and severity band.",
    kind=CheckIn.kind,
    columns=(
        PARTICIPANT,
        _own_id("check_in_id", "check-in"),
        _day(
            "day",
            "When the check-in was taken",
            lambda r, i, c: ordinal(r["taken_at"]),
            origin=True,
        ),
        _weekday(lambda r, i, c: ordinal(r["taken_at"])),
        _part_of_day(lambda r, i, c: _minute(r["taken_at"])),
        Column(
            "instrument",
            "string",
            "The questionnaire: phq9 (PHQ-9, depression), gad7 (GAD-7, anxiety) or wellbeing "
            "(heron-research's own 0-10 items).",
            get=RecordField("instrument"),
            choices=tuple(INSTRUMENTS),
            required=True,
        ),
        Column(
            "score",
            "number",
            "The score: the sum of the answers (PHQ-9 0-27, GAD-7 0-21) or, for wellbeing, "
            "their mean (0-10).",
            get=lambda r, i, c: float(c.score(r).total),
            minimum=0,
            maximum=27,
            unit="points",
            required=True,
        ),
        Column(
            "band",
            "string",
            "The severity band of the score for its instrument.",
            get=lambda r, i, c: c.score(r).band,
            choices=_bands,
            required=True,
        ),
        Column(
            "item9_flag",
            "boolean",
            "PHQ-9 only: True when item 9 (thoughts of self-harm) was answered above 0.",
            get=lambda r, i, c: c.score(r).item9_flag,
            required=True,
        ),
    ),
    primary_key=("check_in_id",),
    foreign_keys=(("participant_id", "participants", "participant_id"),),
)

CHECK_IN_ANSWERS = Table(
    name="check_in_answers",
    title="Check-in answers",
    description="Each item's answer in a check-in (long format).",
    kind=CheckIn.kind,
    items="answers",
    columns=(
        PARTICIPANT,
        _own_id("check_in_id", "check-in"),
        _position("item"),
        Column(
            "answer",
            "integer",
            "The answer (PHQ-9 and GAD-7: 0-3; wellbeing: 0-10).",
            get=Item(),
            minimum=0,
            maximum=10,
            unit="points",
            required=True,
        ),
    ),
    primary_key=("check_in_id", "position"),
    foreign_keys=(
        ("participant_id", "participants", "participant_id"),
        ("check_in_id", "check_ins", "check_in_id"),
    ),
)

CO_COUNSELLING = Table(
    name="co_counselling",
    title="Co-counselling sessions",
    description="Co-counselling sessions with a peer after (or alongside) the programme. The "
    "peer's name never leaves the workbook.",
    kind=CoCounsellingSession.kind,
    columns=(
        PARTICIPANT,
        _own_id("session_id", "session"),
        _day(
            "day", "When the session was held", lambda r, i, c: ordinal(r["held_on"]), origin=True
        ),
        _weekday(lambda r, i, c: ordinal(r["held_on"])),
        Column(
            "minutes_as_client",
            "integer",
            "Minutes the participant spent as client.",
            get=RecordField("minutes_as_client"),
            minimum=0,
            maximum=600,
            unit="minutes",
            required=True,
        ),
        Column(
            "minutes_as_counsellor",
            "integer",
            "Minutes the participant spent as counsellor.",
            get=RecordField("minutes_as_counsellor"),
            minimum=0,
            maximum=600,
            unit="minutes",
            required=True,
        ),
        Column(
            "contract",
            "string",
            "The contract for the session.",
            get=RecordField("contract"),
            choices=_choices(CoCounsellingSession, "contract"),
            required=True,
        ),
        _text("worked_on", "What the participant worked on.", RecordField("worked_on")),
        _text("discharge", "Discharge noticed.", RecordField("discharge")),
        _text("re_evaluation", "Re-evaluation.", RecordField("re_evaluation")),
    ),
    primary_key=("session_id",),
    foreign_keys=(("participant_id", "participants", "participant_id"),),
)

#: Every table, in the order the dataset lists them (participants first).
TABLES: tuple[Table, ...] = (
    PARTICIPANTS,
    EPISODES,
    EPISODE_EMOTIONS,
    EPISODE_SELF_MANAGEMENT,
    EPISODE_PEOPLE,
    HYPOTHESES,
    HYPOTHESIS_EVIDENCE,
    HYPOTHESIS_CONFIDENCE,
    CYCLES,
    CYCLE_EPISODES,
    DECISIONS,
    REVIEWS,
    AGENDA_ITEMS,
    CHECK_INS,
    CHECK_IN_ANSWERS,
    CO_COUNSELLING,
)

#: Record kinds a workbook holds that never enter the dataset, and why.
NOT_EXPORTED: dict[str, str] = {
    "consent": "read by the consent gate only",
    "person": "names stay in the workbook; episodes and hypotheses carry re-keyed person ids "
    "and relationships",
    "practitioner_reaction": "the practitioner's notes about their own reactions; not the "
    "participant's data to share",
    "intervention": "the practitioner's session notes; not part of this dataset",
}

#: participants.n_<table> counts these tables
COUNTED = {
    "episodes": "n_episodes",
    "hypotheses": "n_hypotheses",
    "cycles": "n_cycles",
    "decisions": "n_decisions",
    "reviews": "n_reviews",
    "agenda_items": "n_agenda_items",
    "check_ins": "n_check_ins",
    "co_counselling": "n_co_counselling",
}


@cache
def _by_name() -> dict[str, Table]:
    return {t.name: t for t in TABLES}


def table(name: str) -> Table:
    """The table called ``name``."""
    return _by_name()[name]


def kinds_read() -> tuple[str, ...]:
    """The record kinds extraction reads, in a fixed order."""
    seen: list[str] = []
    for t in TABLES:
        if t.kind is not None and t.kind not in seen:
            seen.append(t.kind)
    return tuple(seen)
