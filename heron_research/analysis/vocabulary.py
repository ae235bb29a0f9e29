"""The words analysis and reports group and order by, each drawn from the record models.

One ordered tuple per vocabulary, in the order of the model's ``Literal`` (read with
:func:`~heron_research.records.allowed_values`): a report that lists statuses, ways of
deciding or outcomes takes them from here, so two reports cannot order them differently and
a value added to a model appears everywhere. Where a report groups some values first (the
hypotheses still being worked on), the group is named here as a subset and the order is
derived: the group first, then the rest, each in the model's order.

Labels come from the models' field titles: the reflection in four ways of knowing and the
peer-review ratings are labelled as the form labels them. Vocabularies that are data, not
model fields (Heron's four skills, the parts of the day), are in :mod:`heron_research.vocab`.
"""

from __future__ import annotations

import re

from heron_research.records import (
    AgendaItem,
    FocusDecision,
    InquiryCycle,
    Intervention,
    PeerReview,
    ProjectionHypothesis,
    Ratings,
    Reflection,
    allowed_values,
)

__all__ = [
    "ACTIVE_STATUSES",
    "AGENDA_TYPES",
    "DECIDED_BY",
    "HYPOTHESIS_ORDER",
    "HYPOTHESIS_STATUSES",
    "INQUIRY_ORDER",
    "INQUIRY_STATUSES",
    "INQUIRY_UNDER_WAY",
    "INTERVENTION_CATEGORIES",
    "LEARNED_STATUSES",
    "OUTCOMES",
    "RATINGS",
    "REFLECTION",
    "first",
    "subset",
]


def subset(values: tuple[str, ...], *names: str) -> tuple[str, ...]:
    """``names`` in the order of ``values``; ValueError if one is not among them."""
    unknown = [n for n in names if n not in values]
    if unknown:
        raise ValueError(f"{', '.join(unknown)} not among {', '.join(values)}")
    return tuple(v for v in values if v in names)


def first(group: tuple[str, ...], values: tuple[str, ...]) -> tuple[str, ...]:
    """Every value of ``values``, those in ``group`` first, each part in ``values``' order."""
    chosen = subset(values, *group)
    return (*chosen, *(v for v in values if v not in chosen))


#: A projection hypothesis's statuses, in lifecycle order.
HYPOTHESIS_STATUSES = allowed_values(ProjectionHypothesis, "status")
#: Hypotheses still being worked on.
ACTIVE_STATUSES = subset(HYPOTHESIS_STATUSES, "open", "testing", "revised")
#: Hypotheses that taught the client something (the hand-over report lists them).
LEARNED_STATUSES = subset(HYPOTHESIS_STATUSES, "supported", "revised", "resolved")
#: The order hypotheses are listed in: the active ones first.
HYPOTHESIS_ORDER = first(ACTIVE_STATUSES, HYPOTHESIS_STATUSES)

#: An inquiry cycle's statuses, in the order of the cycle.
INQUIRY_STATUSES = allowed_values(InquiryCycle, "status")
#: Cycles under way (acting on the plan, observing, reflecting).
INQUIRY_UNDER_WAY = subset(INQUIRY_STATUSES, "acting", "observing", "reflecting")
#: The order inquiry cycles are listed in: the ones under way first.
INQUIRY_ORDER = first(INQUIRY_UNDER_WAY, INQUIRY_STATUSES)

#: How a focus decision was made: by the client, together, by the practitioner.
DECIDED_BY = allowed_values(FocusDecision, "decided_by")
#: The types of agenda item, in the order a review takes them.
AGENDA_TYPES = allowed_values(AgendaItem, "item_type")
#: Heron's six categories of intervention.
INTERVENTION_CATEGORIES = allowed_values(Intervention, "intended")
#: The outcomes of a peer review (and each side's view on continuing).
OUTCOMES = allowed_values(PeerReview, "agreed_outcome")


def _rating_label(title: str) -> str:
    """ "My say in decisions (0-10)" -> "my say in decisions"."""
    words = re.sub(r"\s*\([^)]*\)$", "", title)
    return words[:1].lower() + words[1:]


#: Frame column of each peer-review rating -> its label ("ratings_my_say" -> "my say in
#: decisions"), in the model's order.
RATINGS: dict[str, str] = {
    f"ratings_{name}": _rating_label(info.title or name)
    for name, info in Ratings.model_fields.items()
}
#: Frame column of each way of knowing in a reflection -> its title as the form shows it
#: ("reflection_experiential" -> "Experiential: what it was like").
REFLECTION: dict[str, str] = {
    f"reflection_{name}": info.title or name for name, info in Reflection.model_fields.items()
}
