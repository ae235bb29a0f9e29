"""Validated records: every kind a workbook holds, and the consent rules."""

from __future__ import annotations

from heron_research.records.base import (
    FieldError,
    Record,
    Sharing,
    SubRecord,
    new_id,
    validate_record,
)
from heron_research.records.consent import ConsentState, consent_state
from heron_research.records.models import (
    RELATIONSHIPS,
    AgendaItem,
    CheckIn,
    CoCounsellingSession,
    ConfidencePoint,
    ConsentEntry,
    EmotionEpisode,
    EmotionRating,
    Evidence,
    FocusDecision,
    InquiryCycle,
    Intervention,
    PeerReview,
    Person,
    PractitionerReaction,
    ProjectionHypothesis,
    Ratings,
    Reflection,
    SelfManagement,
)

#: Every record kind, by its storage name, in the order exports list them.
RECORD_TYPES: dict[str, type[Record]] = {
    cls.kind: cls
    for cls in (
        ConsentEntry,
        Person,
        EmotionEpisode,
        ProjectionHypothesis,
        InquiryCycle,
        FocusDecision,
        AgendaItem,
        PeerReview,
        PractitionerReaction,
        Intervention,
        CheckIn,
        CoCounsellingSession,
    )
}


def record_type(kind: str) -> type[Record]:
    """The record class for a kind name; ValueError naming the known kinds otherwise."""
    try:
        return RECORD_TYPES[kind]
    except KeyError:
        known = ", ".join(RECORD_TYPES)
        raise ValueError(f"unknown record kind {kind!r}; known kinds: {known}") from None


__all__ = [
    "RECORD_TYPES",
    "RELATIONSHIPS",
    "AgendaItem",
    "CheckIn",
    "CoCounsellingSession",
    "ConfidencePoint",
    "ConsentEntry",
    "ConsentState",
    "EmotionEpisode",
    "EmotionRating",
    "Evidence",
    "FieldError",
    "FocusDecision",
    "InquiryCycle",
    "Intervention",
    "PeerReview",
    "Person",
    "PractitionerReaction",
    "ProjectionHypothesis",
    "Ratings",
    "Record",
    "Reflection",
    "SelfManagement",
    "Sharing",
    "SubRecord",
    "consent_state",
    "new_id",
    "record_type",
    "validate_record",
]
