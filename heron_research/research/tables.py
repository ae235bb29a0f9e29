"""The research dataset's tables: every column, what it means, and where it comes from.

This is the one description of the dataset. The extraction step reads records through it,
the anonymiser steps act on columns by their role, the Parquet schemas are made from it, and
so is the Frictionless codebook (``datapackage.json``). Columns of a record's own fields are
drawn from its model (see :mod:`heron_research.research.columns`); what is not a plain field
(counts, vocabulary terms, scores, references, the participants table) is declared here.
Which kinds have a table and which are never exported is each kind's own declaration
(``facts.research_table`` or ``facts.not_exported``): :func:`kinds_read` and
:func:`not_exported` read the registry.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, lru_cache
from typing import Any

from pydantic import BaseModel

from heron_research.records import (
    AGENDA_RESPONSE,
    REVIEW_RATING,
    AgendaItem,
    AgendaResponse,
    CheckIn,
    CoCounsellingSession,
    ConfidencePoint,
    EmotionEpisode,
    EmotionRating,
    FocusDecision,
    InquiryCycle,
    PeerReview,
    Person,
    ProjectionHypothesis,
    Ratings,
    ReviewRating,
    allowed_values,
    record_types,
)
from heron_research.records.scoring import ANSWER_WORDS, INSTRUMENTS
from heron_research.research.columns import (
    PARTICIPANT,
    Column,
    Context,
    Getter,
    Item,
    ItemField,
    Position,
    RecordField,
    Role,
    Table,
    day,
    fields,
    group,
    kind_table,
    list_table,
    model_column,
    ordinal,
    ref,
)
from heron_research.vocab import (
    emotions,
    lookup_emotion,
    lookup_technique,
    normalise_term,
    techniques,
)

__all__ = [
    "COUNTED",
    "PARTICIPANTS",
    "TABLES",
    "Column",
    "Context",
    "Item",
    "ItemField",
    "Position",
    "RecordField",
    "Role",
    "Table",
    "kinds_read",
    "not_exported",
    "ordinal",
    "table",
]


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


def _confidence(points: list[dict[str, Any]], index: int) -> int | None:
    return points[index]["confidence"] if points else None


def _scale(
    name: str, description: str, get: Getter, like: tuple[type[BaseModel], str], **override: Any
) -> Column:
    """A computed number on the scale of a model's field (``like``: the model and field)."""
    return model_column(*like, get, column=name, description=description, **override)


def _term(
    name: str, own: str, info: Callable[[str], tuple], terms: Callable[[], tuple[str, ...]]
) -> tuple[Column, Column]:
    """A vocabulary term or a participant's own word(s), and whether it was their own."""
    pronoun = "them" if own.endswith("s") else "it"
    return (
        Column(
            name,
            "string",
            f"The {name}: a term of heron-research's {name} vocabulary; a participant's "
            f"own {own} (lower case) if at least k participants used {pronoun}; otherwise 'other'.",
            role="term",
            get=lambda r, i, c: info(i[1][name])[0],
            choices=terms,
            required=True,
        ),
        Column(
            "custom",
            "boolean",
            f"True when the participant used their own {own} rather than a vocabulary term.",
            get=lambda r, i, c: info(i[1][name])[1],
            required=True,
        ),
    )


def _count(name: str, what: str, get: Getter | str) -> Column:
    """A count of ``what``; ``get`` may name the list field whose length it is."""
    if isinstance(get, str):
        get = (lambda items: lambda r, i, c: len(r[items]))(get)
    return Column(name, "integer", f"Number of {what}.", get=get, minimum=0, unit="count")


def _relationship(getter: Getter) -> Column:
    return Column(
        "relationship",
        "string",
        "The person's relationship to the participant, from the participant's people register "
        "('unknown' if the person is not in it; empty if the person is not shared for "
        "research). Names never leave the workbook.",
        role="relationship",
        get=getter,
        choices=(*allowed_values(Person, "relationship"), "unknown"),
    )


def _person(getter: Getter) -> Column:
    return Column(
        "person_id",
        "string",
        "The person (from the participant's people register), re-keyed with the study key: the "
        "same person has the same id within a participant; empty if the person is not shared "
        "for research.",
        role="person",
        get=getter,
    )


# --- the tables ------------------------------------------------------------------------------

# Child tables iterate (position, item) pairs: the getters read ``i[1]``.

EPISODES = kind_table(
    EmotionEpisode,
    "episode_id",
    "Emotion episodes",
    "Daily-life emotion episodes the participant logged and shared for research.",
    _count("n_emotions", "emotions rated in the episode", "emotions"),
    _scale(
        "peak_intensity",
        "The strongest emotion's intensity (0-10).",
        lambda r, i, c: max(e["intensity"] for e in r["emotions"]),
        like=(EmotionRating, "intensity"),
    ),
    "proportionality",
    _count("n_people", "people involved", "people"),
    _count("n_self_management", "self-management techniques used", "self_management"),
    fields("situation", "body_sensations", "thoughts", "what_i_did", "notes"),
)

EPISODE_EMOTIONS = list_table(
    EPISODES,
    "emotions",
    "episode_emotions",
    "emotion",
    "Emotions in episodes",
    "Each emotion rated in an episode, with its intensity (long format).",
    *_term("emotion", "word", _emotion_info, lambda: (*sorted(emotions()), "other")),
    Column(
        "family",
        "string",
        "The emotion's family in the vocabulary; empty for the participant's own words.",
        get=lambda r, i, c: _emotion_info(i[1]["emotion"])[2],
        choices=lambda: tuple(sorted({e.family for e in emotions().values()})),
    ),
    Column(
        "valence",
        "string",
        "The emotion's valence in the vocabulary; empty for the participant's own words.",
        get=lambda r, i, c: _emotion_info(i[1]["emotion"])[3],
        choices=lambda: tuple(sorted({e.valence for e in emotions().values()})),
    ),
    "intensity",
)

EPISODE_SELF_MANAGEMENT = list_table(
    EPISODES,
    "self_management",
    "episode_self_management",
    "technique",
    "Self-management in episodes",
    "Each self-management technique used in an episode, with the intensity before "
    "and after (Heron's four skills: expression, control, catharsis, transmutation).",
    *_term("technique", "words", _technique_info, lambda: (*sorted(techniques()), "other")),
    # the model fills in the skill of a vocabulary technique, so it is never empty
    fields(
        "skill",
        required=True,
        description="Which of Heron's four skills the technique belongs to.",
    ),
    fields("intensity_before", "intensity_after"),
)

EPISODE_PEOPLE = list_table(
    EPISODES,
    "people",
    "episode_people",
    "person",
    "People involved in episodes",
    "Each person involved in an episode, as a re-keyed id and a relationship.",
    _person(Item()),
    _relationship(lambda r, i, c: c.relationship(i[1])),
)

HYPOTHESES = kind_table(
    ProjectionHypothesis,
    "hypothesis_id",
    "Projection hypotheses",
    "Projection hypotheses: a reaction that may echo unprocessed emotion from "
    "elsewhere, tested in daily life, with a status that changes over time.",
    _person(RecordField("person_id")),
    _relationship(lambda r, i, c: c.relationship(r["person_id"])),
    "status",
    *(
        _count(
            f"n_{name}",
            f"episodes logged as {name} evidence",
            lambda r, i, c, d=direction: sum(e["direction"] == d for e in r["evidence"]),
        )
        for name, direction in (("supporting", "supports"), ("contradicting", "contradicts"))
    ),
    _scale(
        "first_confidence",
        "The first confidence rating (0-100).",
        lambda r, i, c: _confidence(r["confidence"], 0),
        like=(ConfidencePoint, "confidence"),
        required=False,
    ),
    _scale(
        "last_confidence",
        "The latest confidence rating (0-100).",
        lambda r, i, c: _confidence(r["confidence"], -1),
        like=(ConfidencePoint, "confidence"),
        required=False,
    ),
    fields("situation", "reaction", "echoes", "unprocessed_emotion", "prediction"),
)

HYPOTHESIS_EVIDENCE = list_table(
    HYPOTHESES,
    "evidence",
    "hypothesis_evidence",
    "evidence item",
    "Evidence for hypotheses",
    "Episodes logged as supporting or contradicting a hypothesis.",
    ref("episode_id", "episode", ItemField("episode_id")),
    "direction",
    day("day", "added_on", "When the evidence was added"),
    "note",
)

HYPOTHESIS_CONFIDENCE = list_table(
    HYPOTHESES,
    "confidence",
    "hypothesis_confidence",
    "rating",
    "Confidence in hypotheses over time",
    "Each confidence rating of a hypothesis (0-100), in date order.",
    day("day", "on", "When the rating was made"),
    "confidence",
    "status",
)

CYCLES = kind_table(
    InquiryCycle,
    "cycle_id",
    "Inquiry cycles",
    "Self-directed action research: plan, act, observe, reflect.",
    day("end_day", "ends_on", "When the cycle was planned to end (empty if open)"),
    ref("hypothesis_id", "hypothesis"),
    "status",
    _count("n_episodes", "episodes observed in the cycle", "episode_ids"),
    fields("question", "plan", "observations"),
    group("reflection", lambda title: f"The reflection written for “{title}”."),
    fields("outcome", "next_step"),
)

CYCLE_EPISODES = list_table(
    CYCLES,
    "episode_ids",
    "cycle_episodes",
    "episode",
    "Episodes observed in inquiry cycles",
    "Each episode linked to an inquiry cycle.",
    ref("episode_id", "episode", Item()),
)

DECISIONS = kind_table(
    FocusDecision,
    "decision_id",
    "Focus decisions",
    "Decisions about the training: who proposed them and how they were decided "
    "(autonomy: by the client; co-operation: together; hierarchy: by the practitioner).",
    fields("topic", "proposed_by", "decided_by", "decision", "notes"),
)


def _clients_part(path: tuple[str, ...]) -> Getter:
    """A review's client rating (``path``: ``("ratings", "focus")``) or view on continuing
    from the client's latest review rating linked to it and shared for research, or from the
    review itself if there is none (the review held them in workbooks written by older
    versions)."""

    def get(r: dict[str, Any], i: Any, c: Context) -> Any:
        linked = c.linked(REVIEW_RATING, "review_id", r["id"])
        value: Any = linked[-1] if linked else r
        for part in path:
            value = value[part]
        return value

    return get


_MINE = " From the client's own review rating linked to the review, if there is one."

REVIEWS = kind_table(
    PeerReview,
    "review_id",
    "Peer reviews",
    "Peer-review sessions: the client's ratings, both views on continuing and the agreed outcome.",
    day("period_start_day", "period_start", "Start of the period reviewed"),
    day("period_end_day", "period_end", "End of the period reviewed"),
    day("next_review_day", "next_review_on", "The next review planned (empty if none)"),
    *(
        model_column(
            Ratings,
            name,
            _clients_part(("ratings", name)),
            column=f"ratings_{name}",
            describe=lambda title: f"The client's rating “{title}”." + _MINE,
        )
        for name in Ratings.model_fields
    ),
    model_column(
        ReviewRating,
        "client_view",
        _clients_part(("client_view",)),
        description="The client's view on continuing." + _MINE,
    ),
    fields("practitioner_view", "agreed_outcome"),
    Column(
        "has_dissent",
        "boolean",
        "True when a dissent from the agreed outcome was recorded.",
        get=lambda r, i, c: bool(r["dissent"]),
        required=True,
    ),
    fields("reason", "dissent"),
)

REVIEW_RATINGS = kind_table(
    ReviewRating,
    "rating_id",
    "Review ratings",
    "The client's own ratings of the training (0-10) and view on continuing, each for a "
    "peer review (the reviews table takes its ratings from the latest linked to it).",
    ref("review_id", "review"),
    group("ratings", lambda title: f"The client's rating “{title}”."),
    fields("client_view", description="The client's view on continuing."),
    "note",
)


def _answer(name: str) -> Getter:
    """An agenda item's ``name`` from its latest response shared for research (``review_id``:
    from the latest linked to a review), or from the item itself if it has none (the item
    held the practitioner's answer in workbooks written by older versions)."""

    def get(r: dict[str, Any], i: Any, c: Context) -> Any:
        responses = c.linked(AGENDA_RESPONSE, "agenda_item_id", r["id"])
        if not responses:
            return r[name]
        if name == "review_id":
            return next((x[name] for x in reversed(responses) if x[name] is not None), None)
        return responses[-1][name]

    return get


_LATEST = " From the item's latest agenda response (shared for research), if it has one."

AGENDA_ITEMS = kind_table(
    AgendaItem,
    "item_id",
    "Peer-review agenda items",
    "Items raised for peer reviews: satisfaction, dissatisfaction, requests and "
    "questions, with who raised them and whether they were resolved.",
    fields("raised_by", "item_type"),
    model_column(
        AgendaResponse,
        "resolved",
        _answer("resolved"),
        description="Resolved: whether the item was resolved." + _LATEST,
    ),
    ref("review_id", "review", _answer("review_id")),
    "text",
    model_column(
        AgendaResponse,
        "response",
        _answer("response"),
        describe=lambda title: f"What was written for “{title}”." + _LATEST,
    ),
)

AGENDA_RESPONSES = kind_table(
    AgendaResponse,
    "response_id",
    "Responses to agenda items",
    "The practitioner's responses to agenda items, each with the review it was discussed "
    "at and whether it resolved the item; an item's latest response is its state (the "
    "agenda_items table's resolved, review_id and response columns).",
    ref("item_id", "agenda item", RecordField("agenda_item_id")),
    ref("review_id", "review"),
    fields("resolved", "response"),
)

CHECK_INS = kind_table(
    CheckIn,
    "check_in_id",
    "Check-ins",
    "Standard measures (PHQ-9, GAD-7) and heron-research's own wellbeing items, "
    "with the score and severity band.",
    fields(
        "instrument",
        description="The questionnaire: phq9 (PHQ-9, depression), gad7 (GAD-7, anxiety) or "
        "wellbeing (heron-research's own 0-10 items).",
    ),
    Column(
        "score",
        "number",
        "The score: the sum of the answers (PHQ-9 0-27, GAD-7 0-21) or, for wellbeing, "
        "their mean (0-10).",
        get=lambda r, i, c: float(c.score(r).total),
        minimum=0,
        maximum=max(spec.max_score for spec in INSTRUMENTS.values()),
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
)

CHECK_IN_ANSWERS = list_table(
    CHECK_INS,
    "answers",
    "check_in_answers",
    "item",
    "Check-in answers",
    "Each item's answer in a check-in (long format).",
    Column(
        "answer",
        "integer",
        "The answer: " + "; ".join(f"{key} {words}" for key, words in ANSWER_WORDS.items()) + ".",
        get=Item(),
        minimum=min(spec.answer_min for spec in INSTRUMENTS.values()),
        maximum=max(spec.answer_max for spec in INSTRUMENTS.values()),
        unit="points",
        required=True,
    ),
)

CO_COUNSELLING = kind_table(
    CoCounsellingSession,
    "session_id",
    "Co-counselling sessions",
    "Co-counselling sessions with a peer after (or alongside) the programme. The "
    "peer's name never leaves the workbook.",
    fields("minutes_as_client", "minutes_as_counsellor", unit="minutes"),
    fields("contract", "worked_on", "discharge", "re_evaluation"),
)

_BY_KIND: tuple[Table, ...] = (
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
    REVIEW_RATINGS,
    AGENDA_ITEMS,
    AGENDA_RESPONSES,
    CHECK_INS,
    CHECK_IN_ANSWERS,
    CO_COUNSELLING,
)

#: participants.n_<table> counts the rows of each kind's own table
COUNTED = {t.name: f"n_{t.name}" for t in _BY_KIND if t.items is None}

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
                column,
                "integer",
                f"Number of rows for this participant in the {name} table.",
                minimum=0,
                unit="count",
                required=True,
            )
            for name, column in COUNTED.items()
        ),
    ),
    primary_key=("participant_id",),
)

#: Every table, in the order the dataset lists them (participants first).
TABLES: tuple[Table, ...] = (PARTICIPANTS, *_BY_KIND)


@cache
def _by_name() -> dict[str, Table]:
    return {t.name: t for t in TABLES}


def table(name: str) -> Table:
    """The table called ``name``."""
    return _by_name()[name]


def kinds_read() -> tuple[str, ...]:
    """The record kinds extraction reads (those with a research table), in declared order."""
    return tuple(kind for kind, cls in record_types().items() if cls.facts.research_table)


def not_exported() -> dict[str, str]:
    """Record kinds a workbook holds that never enter the dataset, and why."""
    return {
        kind: cls.facts.not_exported
        for kind, cls in record_types().items()
        if cls.facts.not_exported is not None
    }
