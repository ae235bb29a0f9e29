"""The record kinds a workbook holds, each declared once (see ARCHITECTURE.md, "The registries").

Each class validates its own fields and says what is allowed in words a client
understands. Field ``title`` is the label shown to people; a form shows problems next to
the field with that label.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Annotated, Any, ClassVar, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from heron_research.records import scoring
from heron_research.records.base import (
    FieldError,
    Record,
    Sharing,
    SubRecord,
    aware,
    check_year,
    short,
)
from heron_research.records.facts import KindFacts, ReportScope, Side
from heron_research.vocab import SKILLS, lookup_emotion, lookup_technique, normalise_term

__all__ = [
    "AGENDA_ITEM",
    "AGENDA_RESPONSE",
    "CHECK_IN",
    "CONSENT",
    "CO_COUNSELLING_SESSION",
    "EMOTION_EPISODE",
    "FOCUS_DECISION",
    "INQUIRY_CYCLE",
    "INTERVENTION",
    "PEER_REVIEW",
    "PERSON",
    "PRACTITIONER_REACTION",
    "PROJECTION_HYPOTHESIS",
    "RELATIONSHIPS",
    "REVIEW_RATING",
    "AgendaItem",
    "AgendaResponse",
    "CheckIn",
    "CoCounsellingSession",
    "ConfidencePoint",
    "ConsentEntry",
    "EmotionEpisode",
    "EmotionRating",
    "Evidence",
    "FocusDecision",
    "InquiryCycle",
    "Intervention",
    "PeerReview",
    "Person",
    "PractitionerReaction",
    "ProjectionHypothesis",
    "Ratings",
    "Reflection",
    "ReviewRating",
    "SelfManagement",
]

#: The kind names, as stored and exported. Use these, not string literals.
CONSENT = "consent"
PERSON = "person"
EMOTION_EPISODE = "emotion_episode"
PROJECTION_HYPOTHESIS = "projection_hypothesis"
INQUIRY_CYCLE = "inquiry_cycle"
FOCUS_DECISION = "focus_decision"
AGENDA_ITEM = "agenda_item"
AGENDA_RESPONSE = "agenda_response"
PEER_REVIEW = "peer_review"
REVIEW_RATING = "review_rating"
PRACTITIONER_REACTION = "practitioner_reaction"
INTERVENTION = "intervention"
CHECK_IN = "check_in"
CO_COUNSELLING_SESSION = "co_counselling_session"

CLIENT = frozenset({Side.CLIENT})
PRACTITIONER = frozenset({Side.PRACTITIONER})
EITHER = frozenset({Side.CLIENT, Side.PRACTITIONER})

Intensity = Annotated[int, Field(ge=0, le=10)]
ShortText = Annotated[str, Field(max_length=200)]

RELATIONSHIPS = (
    "partner",
    "parent",
    "sibling",
    "child",
    "friend",
    "colleague",
    "manager",
    "practitioner",
    "other",
)
Relationship = Literal[
    "partner",
    "parent",
    "sibling",
    "child",
    "friend",
    "colleague",
    "manager",
    "practitioner",
    "other",
]
Skill = Literal["expression", "control", "catharsis", "transmutation"]
assert set(Skill.__args__) == set(SKILLS)

#: How a field kept only for data written by older versions says so.
_LEGACY = "legacy: written by older versions"


def _whole_minute_offset(value: datetime) -> datetime:
    """``value`` at the same instant, with its UTC offset rounded to whole minutes."""
    offset = value.utcoffset()
    if offset is None or offset % timedelta(minutes=1) == timedelta(0):
        return value
    minutes = round(offset.total_seconds() / 60)
    return value.astimezone(timezone(timedelta(minutes=minutes)))


def _now() -> datetime:
    return datetime.now().astimezone().replace(microsecond=0)


class _Dated(Record):
    """Shared checks for records with date and datetime fields."""

    @field_validator("*", mode="after")
    @classmethod
    def _times(cls, value: Any) -> Any:
        if isinstance(value, datetime):
            check_year(value)
            return _whole_minute_offset(aware(value))
        if isinstance(value, date):
            check_year(value)
        return value


class _DatedPart(SubRecord):
    @field_validator("*", mode="after")
    @classmethod
    def _times(cls, value: Any) -> Any:
        if isinstance(value, datetime):
            check_year(value)
            return _whole_minute_offset(aware(value))
        if isinstance(value, date):
            check_year(value)
        return value


# --- consent ------------------------------------------------------------------------------


class ConsentEntry(_Dated):
    """One entry in the consent ledger: the full state of consent from this time on.

    Withdrawal is a new entry with the scope turned off; nothing is ever erased.
    """

    kind: ClassVar[str] = CONSENT
    facts: ClassVar[KindFacts] = KindFacts(
        label="consent entry",
        plural="consent entries",
        writers=CLIENT,
        report=ReportScope.LEDGER,
        not_exported="read by the consent gate only",
    )
    when_field: ClassVar[str | None] = "recorded_at"

    sharing: Sharing = Field(default=Sharing.PRACTITIONER, title="Sharing")
    recorded_at: datetime = Field(default_factory=_now, title="When")
    principles_version: str = Field(title="Principles version agreed", min_length=1, max_length=80)
    training: bool = Field(title="I consent to the training")
    practitioner_sharing: bool = Field(
        title="I consent to sharing entries I mark for my practitioner"
    )
    research: bool = Field(
        title="I consent to anonymised research use of entries I mark for research"
    )
    note: str = Field(default="", title="Note")

    def describe(self) -> str:
        return f"your consent of {self.recorded_at:%d %b %Y %H:%M}"


# --- people ------------------------------------------------------------------------------


class Person(Record):
    """Someone in the client's life, named as the client chooses (an alias)."""

    kind: ClassVar[str] = PERSON
    facts: ClassVar[KindFacts] = KindFacts(
        label="person",
        plural="people",
        writers=CLIENT,
        report=ReportScope.UNDATED,
        not_exported=(
            "names stay in the workbook; episodes and hypotheses carry re-keyed person ids "
            "and relationships"
        ),
    )

    alias: str = Field(title="Name or alias", min_length=1, max_length=80)
    relationship: Relationship = Field(default="other", title="Relationship")
    notes: str = Field(default="", title="Notes")

    def describe(self) -> str:
        return f"{self.alias} ({self.relationship})"


# --- emotion episodes --------------------------------------------------------------------


class EmotionRating(SubRecord):
    """One emotion felt in an episode, with its intensity."""

    emotion: str = Field(title="Emotion", min_length=1, max_length=60)
    intensity: Intensity = Field(title="Intensity (0-10)")
    #: True when the term is the client's own word rather than one from the vocabulary.
    custom: bool = Field(default=False, title="Own word")

    @model_validator(mode="after")
    def _vocabulary(self) -> EmotionRating:
        known = lookup_emotion(self.emotion)
        self.custom = known is None
        if known is not None:
            self.emotion = known.term
        return self


_REGEX_SPECIAL = frozenset("\\^$.|?*+()[]{}/")


def _any_case(word: str) -> str:
    """A regular expression for ``word`` in any case (JSON Schema patterns have no flags)."""
    out = []
    for ch in word:
        upper, lower = ch.upper(), ch.lower()
        if len(upper) == len(lower) == 1 and upper != lower:
            out.append(f"[{upper}{lower}]")
        else:
            out.append("\\" + ch if ch in _REGEX_SPECIAL else ch)
    return "".join(out)


def _custom_needs_skill(schema: dict[str, Any]) -> None:
    """State in the JSON Schema what :meth:`SelfManagement._vocabulary` enforces: a technique
    that is not in the vocabulary (in any case and spacing) needs its skill."""
    from heron_research.vocab import techniques

    known = "|".join(
        r"\s+".join(_any_case(w) for w in name.split()) for name in sorted(techniques())
    )
    schema["if"] = {"properties": {"technique": {"pattern": rf"^\s*(?:{known})\s*$"}}}
    schema["else"] = {
        "required": ["skill"],
        "properties": {"skill": {"enum": list(SKILLS)}},
        "description": "A technique of your own needs its skill",
    }


class SelfManagement(SubRecord):
    """What the client did with the feeling: one of Heron's four skills and a technique."""

    model_config = ConfigDict(json_schema_extra=_custom_needs_skill)

    technique: str = Field(title="Technique", min_length=1, max_length=100)
    skill: Skill | None = Field(default=None, title="Skill")
    intensity_before: Intensity | None = Field(default=None, title="Intensity before (0-10)")
    intensity_after: Intensity = Field(title="Intensity afterwards (0-10)")
    custom: bool = Field(default=False, title="Own technique")

    @model_validator(mode="after")
    def _vocabulary(self) -> SelfManagement:
        known = lookup_technique(self.technique)
        self.custom = known is None
        if known is not None:
            self.technique = known.technique
            if self.skill is None:
                self.skill = known.skill  # type: ignore[assignment]
        elif self.skill is None:
            raise FieldError(
                "skill",
                "choose which skill this technique is: expression, control, catharsis "
                "or transmutation",
            )
        return self


class EmotionEpisode(_Dated):
    """A moment in daily life when an emotion was strong enough to notice."""

    kind: ClassVar[str] = EMOTION_EPISODE
    facts: ClassVar[KindFacts] = KindFacts(
        label="emotion episode",
        plural="emotion episodes",
        writers=CLIENT,
        report=ReportScope.PERIOD,
        research_table="episodes",
    )
    when_field: ClassVar[str | None] = "occurred_at"

    occurred_at: datetime = Field(default_factory=_now, title="When")
    situation: str = Field(title="Situation", min_length=1)
    emotions: list[EmotionRating] = Field(title="Emotions", min_length=1, max_length=20)
    body_sensations: str = Field(default="", title="Body sensations")
    thoughts: str = Field(default="", title="Thoughts")
    people: list[str] = Field(default_factory=list, title="People involved", max_length=50)
    what_i_did: str = Field(default="", title="What I did")
    proportionality: Intensity | None = Field(
        default=None,
        title="How proportionate the reaction felt (0 = far too strong, 10 = fitting)",
    )
    self_management: list[SelfManagement] = Field(
        default_factory=list, title="Self-management", max_length=20
    )
    notes: str = Field(default="", title="Notes")

    @field_validator("emotions", mode="before")
    @classmethod
    def _some_emotion(cls, value: Any) -> Any:
        if isinstance(value, list) and not value:
            raise ValueError("add at least one emotion you felt, with how strong it was")
        return value

    @model_validator(mode="after")
    def _before_defaults_to_peak(self) -> EmotionEpisode:
        peak = max(e.intensity for e in self.emotions)
        for item in self.self_management:
            if item.intensity_before is None:
                item.intensity_before = peak
        seen: set[str] = set()
        for i, rating in enumerate(self.emotions):
            key = normalise_term(rating.emotion)
            if key in seen:
                raise FieldError(
                    ("emotions", i, "emotion"),
                    f"{rating.emotion!r} is listed twice; give each emotion once",
                )
            seen.add(key)
        return self

    @property
    def peak_intensity(self) -> int:
        return max(e.intensity for e in self.emotions)

    @classmethod
    def derived_columns(cls) -> dict[str, str]:
        return {"peak_intensity": "Int64", "n_emotions": "Int64"}

    def derived(self) -> dict[str, Any]:
        return {"peak_intensity": self.peak_intensity, "n_emotions": len(self.emotions)}

    def describe(self) -> str:
        feelings = ", ".join(f"{e.emotion} {e.intensity}" for e in self.emotions[:3])
        when = self.occurred_at.strftime("%d %b %H:%M")
        return f"the episode of {when} ({feelings}): {short(self.situation, 40)}"


# --- projection hypotheses ---------------------------------------------------------------

HypothesisStatus = Literal["open", "testing", "supported", "revised", "refuted", "resolved"]


class Evidence(_DatedPart):
    """A logged episode that supports or contradicts a hypothesis."""

    episode_id: str = Field(title="Episode", min_length=1, max_length=64)
    direction: Literal["supports", "contradicts"] = Field(title="Supports or contradicts")
    note: str = Field(default="", title="Note")
    added_on: date = Field(default_factory=date.today, title="Added on")


class ConfidencePoint(_DatedPart):
    """How confident the client was in the hypothesis on a day (0-100)."""

    on: date = Field(title="Date")
    confidence: int = Field(title="Confidence (0-100)", ge=0, le=100)
    status: HypothesisStatus | None = Field(default=None, title="Status then")


class ProjectionHypothesis(_Dated):
    """An idea that a strong reaction to someone echoes unprocessed emotion from elsewhere."""

    kind: ClassVar[str] = PROJECTION_HYPOTHESIS
    facts: ClassVar[KindFacts] = KindFacts(
        label="projection hypothesis",
        plural="projection hypotheses",
        writers=CLIENT,
        report=ReportScope.HISTORY,
        research_table="hypotheses",
    )
    when_field: ClassVar[str | None] = "opened_on"

    opened_on: date = Field(default_factory=date.today, title="Started on")
    person_id: str | None = Field(default=None, title="Person reacted to", max_length=64)
    situation: str = Field(default="", title="Situation reacted to")
    reaction: str = Field(title="My reaction", min_length=1)
    echoes: str = Field(title="What or whom it may echo", min_length=1)
    unprocessed_emotion: str = Field(title="Unprocessed emotion suspected", min_length=1)
    prediction: str = Field(default="", title="Prediction to test in daily life")
    evidence: list[Evidence] = Field(default_factory=list, title="Evidence")
    confidence: list[ConfidencePoint] = Field(default_factory=list, title="Confidence over time")
    status: HypothesisStatus = Field(default="open", title="Status")

    @model_validator(mode="after")
    def _target(self) -> ProjectionHypothesis:
        if not self.person_id and not self.situation:
            raise FieldError(
                "situation", "say who or what the reaction was to (a person or a situation)"
            )
        days = [p.on for p in self.confidence]
        if days != sorted(days):
            raise FieldError("confidence", "confidence ratings must be in date order")
        return self

    def describe(self) -> str:
        return f"the hypothesis '{short(self.reaction, 30)}' ({self.status})"


# --- inquiry cycles ----------------------------------------------------------------------


class Reflection(SubRecord):
    """A reflection in the four ways of knowing."""

    experiential: str = Field(default="", title="Experiential: what it was like")
    presentational: str = Field(default="", title="Presentational: an image, metaphor or story")
    propositional: str = Field(default="", title="Propositional: what I now think is true")
    practical: str = Field(default="", title="Practical: what I can now do")


class InquiryCycle(_Dated):
    """A piece of self-directed action research: plan, act, observe, reflect."""

    kind: ClassVar[str] = INQUIRY_CYCLE
    facts: ClassVar[KindFacts] = KindFacts(
        label="inquiry cycle",
        plural="inquiry cycles",
        writers=CLIENT,
        report=ReportScope.HISTORY,
        research_table="cycles",
    )
    when_field: ClassVar[str | None] = "started_on"

    question: str = Field(title="My question", min_length=1)
    plan: str = Field(default="", title="The plan")
    started_on: date = Field(default_factory=date.today, title="Start date")
    ends_on: date | None = Field(default=None, title="End date")
    hypothesis_id: str | None = Field(default=None, title="Linked hypothesis", max_length=64)
    episode_ids: list[str] = Field(default_factory=list, title="Episodes observed")
    observations: str = Field(default="", title="What I observed")
    reflection: Reflection = Field(default_factory=Reflection, title="Reflection")
    outcome: str = Field(default="", title="Outcome")
    next_step: str = Field(default="", title="Next step")
    status: Literal["planning", "acting", "observing", "reflecting", "completed", "abandoned"] = (
        Field(default="planning", title="Status")
    )

    @model_validator(mode="after")
    def _dates(self) -> InquiryCycle:
        if self.ends_on is not None and self.ends_on < self.started_on:
            raise FieldError("ends_on", "must be on or after the start date")
        return self

    def describe(self) -> str:
        return f"the inquiry '{short(self.question, 40)}' ({self.status})"


# --- decisions and reviews ---------------------------------------------------------------

DecisionTopic = Literal["focus", "structure", "method", "frequency", "homework", "continuation"]


class FocusDecision(_Dated):
    """A decision about the training, with who proposed it and how it was decided."""

    kind: ClassVar[str] = FOCUS_DECISION
    facts: ClassVar[KindFacts] = KindFacts(
        label="focus decision",
        plural="focus decisions",
        writers=EITHER,
        report=ReportScope.PERIOD,
        research_table="decisions",
    )
    when_field: ClassVar[str | None] = "decided_on"

    sharing: Sharing = Field(default=Sharing.PRACTITIONER, title="Sharing")
    decided_on: date = Field(default_factory=date.today, title="Date")
    topic: DecisionTopic = Field(title="Topic")
    decision: str = Field(title="What was decided", min_length=1)
    proposed_by: Literal["client", "practitioner", "both"] = Field(title="Proposed by")
    decided_by: Literal["autonomy", "co-operation", "hierarchy"] = Field(
        title="How it was decided",
        description="autonomy: by the client; co-operation: together; hierarchy: by the "
        "practitioner",
    )
    notes: str = Field(default="", title="Notes")

    def describe(self) -> str:
        return f"the {self.topic} decision of {self.decided_on:%d %b} ({self.decided_by})"


class AgendaItem(_Dated):
    """Something raised for a peer review: the client's own items come first."""

    kind: ClassVar[str] = AGENDA_ITEM
    facts: ClassVar[KindFacts] = KindFacts(
        label="agenda item",
        plural="agenda items",
        writers=EITHER,
        report=ReportScope.HISTORY,
        research_table="agenda_items",
    )
    when_field: ClassVar[str | None] = "raised_on"

    sharing: Sharing = Field(default=Sharing.PRACTITIONER, title="Sharing")
    raised_on: date = Field(default_factory=date.today, title="Raised on")
    raised_by: Literal["client", "practitioner"] = Field(default="client", title="Raised by")
    item_type: Literal["satisfaction", "dissatisfaction", "request", "question"] = Field(
        title="Type"
    )
    text: str = Field(title="What I want to raise", min_length=1)
    # The practitioner's answer lived on the item before it had its own record (an
    # AgendaResponse). Kept so that older workbooks and exports stay readable; no form
    # writes these any more, and readers prefer the item's latest AgendaResponse.
    review_id: str | None = Field(
        default=None,
        title="Review where it was discussed",
        description=_LEGACY + "; now an agenda response's review",
    )
    response: str = Field(default="", title="Response", description=_LEGACY)
    resolved: bool = Field(default=False, title="Resolved", description=_LEGACY)

    def describe(self) -> str:
        return f"the {self.item_type} '{short(self.text, 40)}'"


class AgendaResponse(_Dated):
    """The practitioner's response to an agenda item, usually at the review that took it up.

    The item stays the words of whoever raised it; each response is a record of its own,
    written by the practitioner. An item is resolved when its latest response says so.
    """

    kind: ClassVar[str] = AGENDA_RESPONSE
    facts: ClassVar[KindFacts] = KindFacts(
        label="agenda response",
        plural="agenda responses",
        writers=PRACTITIONER,
        report=ReportScope.HISTORY,
        research_table="agenda_responses",
    )
    when_field: ClassVar[str | None] = "responded_on"

    sharing: Sharing = Field(default=Sharing.PRACTITIONER, title="Sharing")
    agenda_item_id: str = Field(title="Agenda item", min_length=1, max_length=64)
    responded_on: date = Field(default_factory=date.today, title="Date")
    response: str = Field(default="", title="Response")
    resolved: bool = Field(default=False, title="Resolved")
    review_id: str | None = Field(
        default=None, title="Review where it was discussed", max_length=64
    )

    def describe(self) -> str:
        state = "resolved" if self.resolved else "open"
        said = f": {short(self.response, 40)}" if self.response else ""
        return f"the response of {self.responded_on:%d %b} to an agenda item ({state}){said}"


Outcome = Literal["continue", "change", "pause", "end"]


class Ratings(SubRecord):
    """The client's ratings of the training so far (0-10)."""

    focus: Intensity | None = Field(default=None, title="Focus (0-10)")
    method: Intensity | None = Field(default=None, title="Method (0-10)")
    relationship: Intensity | None = Field(default=None, title="Relationship (0-10)")
    my_say: Intensity | None = Field(default=None, title="My say in decisions (0-10)")
    overall: Intensity | None = Field(default=None, title="Overall (0-10)")


class PeerReview(_Dated):
    """A peer-review session as the practitioner records it: the period, the practitioner's
    view on continuing, the agreed outcome and any dissent. The client's ratings and view
    are the client's own record (a :class:`ReviewRating` linked to the review)."""

    kind: ClassVar[str] = PEER_REVIEW
    facts: ClassVar[KindFacts] = KindFacts(
        label="peer review",
        plural="peer reviews",
        writers=PRACTITIONER,
        report=ReportScope.HISTORY,
        research_table="reviews",
    )
    when_field: ClassVar[str | None] = "held_on"

    sharing: Sharing = Field(default=Sharing.PRACTITIONER, title="Sharing")
    held_on: date = Field(default_factory=date.today, title="Date of the review")
    period_start: date = Field(title="Period covered: from")
    period_end: date = Field(title="Period covered: to")
    # The client's part lived on the review before it had its own record (a ReviewRating).
    # Kept so that older workbooks and exports stay readable; no form writes these any
    # more, and readers prefer the client's own rating linked to the review.
    ratings: Ratings = Field(default_factory=Ratings, title="My ratings", description=_LEGACY)
    client_view: Outcome | None = Field(
        default=None, title="Client's view on continuing", description=_LEGACY
    )
    practitioner_view: Outcome | None = Field(
        default=None, title="Practitioner's view on continuing"
    )
    agreed_outcome: Outcome | None = Field(default=None, title="Agreed outcome")
    reason: str = Field(default="", title="Reason")
    dissent: str = Field(default="", title="Any dissent")
    next_review_on: date | None = Field(default=None, title="Next review date")

    @model_validator(mode="after")
    def _dates(self) -> PeerReview:
        if self.period_end < self.period_start:
            raise FieldError("period_end", "must be on or after the start of the period")
        if self.next_review_on is not None and self.next_review_on <= self.held_on:
            raise FieldError("next_review_on", "must be after the date of this review")
        return self

    def describe(self) -> str:
        return f"the peer review of {self.held_on:%d %b %Y}"


class ReviewRating(_Dated):
    """The client's own ratings of the training for a peer review, and their view on
    continuing. Linked to the review when the client picks it (they may rate before the
    practitioner has recorded it)."""

    kind: ClassVar[str] = REVIEW_RATING
    facts: ClassVar[KindFacts] = KindFacts(
        label="review rating",
        plural="review ratings",
        writers=CLIENT,
        report=ReportScope.HISTORY,
        research_table="review_ratings",
    )
    when_field: ClassVar[str | None] = "rated_on"

    sharing: Sharing = Field(default=Sharing.PRACTITIONER, title="Sharing")
    review_id: str | None = Field(default=None, title="The review it is for", max_length=64)
    rated_on: date = Field(default_factory=date.today, title="Date")
    ratings: Ratings = Field(default_factory=Ratings, title="My ratings")
    client_view: Outcome | None = Field(default=None, title="My view on continuing")
    note: str = Field(default="", title="Note")

    def describe(self) -> str:
        said = [f"overall {self.ratings.overall}"] if self.ratings.overall is not None else []
        said += [self.client_view] if self.client_view else []
        words = f" ({', '.join(said)})" if said else ""
        return f"your review ratings of {self.rated_on:%d %b %Y}{words}"


class PractitionerReaction(_Dated):
    """A practitioner's own reaction to the client. Always visible to the client."""

    kind: ClassVar[str] = PRACTITIONER_REACTION
    facts: ClassVar[KindFacts] = KindFacts(
        label="practitioner reaction",
        plural="practitioner reactions",
        writers=PRACTITIONER,
        report=ReportScope.PERIOD,
        not_exported=(
            "the practitioner's notes about their own reactions; not the participant's data "
            "to share"
        ),
    )
    when_field: ClassVar[str | None] = "noted_on"

    sharing: Sharing = Field(default=Sharing.PRACTITIONER, title="Sharing")
    noted_on: date = Field(default_factory=date.today, title="Date")
    reaction: str = Field(title="My reaction to the client", min_length=1)
    possible_source: str = Field(default="", title="Its possible source in me")
    how_addressed: str = Field(default="", title="How I am addressing it")

    def describe(self) -> str:
        return f"the reaction noted on {self.noted_on:%d %b}: {short(self.reaction, 40)}"


InterventionCategory = Literal[
    "prescriptive", "informative", "confronting", "cathartic", "catalytic", "supportive"
]


class Intervention(_Dated):
    """An intervention in a session, tagged with Heron's six categories."""

    kind: ClassVar[str] = INTERVENTION
    facts: ClassVar[KindFacts] = KindFacts(
        label="intervention",
        plural="interventions",
        writers=PRACTITIONER,
        report=ReportScope.PERIOD,
        not_exported="the practitioner's session notes; not part of this dataset",
    )
    when_field: ClassVar[str | None] = "session_on"

    sharing: Sharing = Field(default=Sharing.PRACTITIONER, title="Sharing")
    session_on: date = Field(default_factory=date.today, title="Session date")
    description: str = Field(default="", title="What was said or done")
    intended: InterventionCategory | None = Field(default=None, title="Intended (practitioner)")
    perceived: InterventionCategory | None = Field(default=None, title="Perceived (client)")

    @model_validator(mode="after")
    def _some_category(self) -> Intervention:
        if self.intended is None and self.perceived is None:
            raise FieldError("intended", "choose the intended or the perceived category")
        return self

    def describe(self) -> str:
        return f"the intervention of {self.session_on:%d %b}: {short(self.description, 40)}"


# --- measures and peer support ---------------------------------------------------------


class CheckIn(_Dated):
    """A standard measure (PHQ-9, GAD-7) or our own wellbeing items, with item answers."""

    kind: ClassVar[str] = CHECK_IN
    facts: ClassVar[KindFacts] = KindFacts(
        label="check-in",
        plural="check-ins",
        writers=CLIENT,
        report=ReportScope.HISTORY,
        research_table="check_ins",
    )
    when_field: ClassVar[str | None] = "taken_at"

    taken_at: datetime = Field(default_factory=_now, title="When")
    instrument: Literal["phq9", "gad7", "wellbeing"] = Field(title="Questionnaire")
    answers: list[int] = Field(title="Answers")

    @model_validator(mode="after")
    def _answers(self) -> CheckIn:
        spec = scoring.INSTRUMENTS[self.instrument]
        if len(self.answers) != spec.n_items:
            raise FieldError(
                "answers",
                f"{spec.name} has {spec.n_items} questions; please answer all of them "
                f"({len(self.answers)} answered)",
            )
        for i, a in enumerate(self.answers):
            if not spec.answer_min <= a <= spec.answer_max:
                raise FieldError(
                    ("answers", i),
                    f"must be a whole number from {spec.answer_min} to {spec.answer_max} "
                    f"(you gave {a})",
                )
        return self

    def result(self) -> scoring.Score:
        return scoring.score(self.instrument, self.answers)

    @classmethod
    def derived_columns(cls) -> dict[str, str]:
        return {"score": "Float64", "band": "string", "item9_flag": "boolean"}

    def derived(self) -> dict[str, Any]:
        r = self.result()
        return {"score": float(r.total), "band": r.band, "item9_flag": r.item9_flag}

    def describe(self) -> str:
        r = self.result()
        name = scoring.INSTRUMENTS[self.instrument].name
        return f"the {name} check-in of {self.taken_at:%d %b} (score {r.total:g}, {r.band})"


class CoCounsellingSession(_Dated):
    """A co-counselling session with a peer: equal time, the client in charge."""

    kind: ClassVar[str] = CO_COUNSELLING_SESSION
    facts: ClassVar[KindFacts] = KindFacts(
        label="co-counselling session",
        plural="co-counselling sessions",
        writers=CLIENT,
        report=ReportScope.PERIOD,
        research_table="co_counselling",
    )
    when_field: ClassVar[str | None] = "held_on"

    held_on: date = Field(default_factory=date.today, title="Date")
    peer_alias: str = Field(title="Peer (alias)", min_length=1, max_length=80)
    minutes_as_client: int = Field(title="Minutes as client", ge=0, le=600)
    minutes_as_counsellor: int = Field(title="Minutes as counsellor", ge=0, le=600)
    contract: Literal["free attention", "normal", "intensive"] = Field(
        default="normal", title="Contract"
    )
    worked_on: str = Field(default="", title="What I worked on")
    discharge: str = Field(default="", title="Discharge noticed")
    re_evaluation: str = Field(default="", title="Re-evaluation")

    def describe(self) -> str:
        return f"the co-counselling session of {self.held_on:%d %b} with {self.peer_alias}"
