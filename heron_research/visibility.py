"""Who may see what. This is the one place that decides; everything else asks it.

* ``client`` sees every record in their workbook.
* ``practitioner`` sees records shared at ``practitioner`` or ``research`` level, while the
  client's consent to sharing with the practitioner is in force.
* ``research`` sees records shared at ``research`` level, and only while research consent
  is in force (given, not withdrawn, to the current principles text).
"""

from __future__ import annotations

from enum import StrEnum

from heron_research.records.base import Sharing
from heron_research.records.consent import ConsentState

__all__ = ["Audience", "is_visible", "visible_levels"]


class Audience(StrEnum):
    CLIENT = "client"
    PRACTITIONER = "practitioner"
    RESEARCH = "research"


def visible_levels(audience: Audience | str, consent: ConsentState) -> frozenset[Sharing]:
    """The sharing levels ``audience`` may see under ``consent``."""
    audience = Audience(audience)
    if audience is Audience.CLIENT:
        return frozenset(Sharing)
    if audience is Audience.PRACTITIONER:
        if not consent.practitioner_sharing:
            return frozenset()
        return frozenset(s for s in Sharing if s.rank >= Sharing.PRACTITIONER.rank)
    if not consent.research:
        return frozenset()
    return frozenset({Sharing.RESEARCH})


def is_visible(sharing: Sharing | str, audience: Audience | str, consent: ConsentState) -> bool:
    """Whether a record shared at ``sharing`` may be shown to ``audience``."""
    return Sharing(sharing) in visible_levels(audience, consent)
