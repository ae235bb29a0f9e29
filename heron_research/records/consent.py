"""The consent in force, read from the consent ledger.

The ledger is a list of :class:`ConsentEntry` records, each the full state of consent
from its time on. The entry in force at a moment is the latest one recorded at or before
it. Consent to research counts only while it was given to the principles text this
version of heron-research ships: when the text changes, the client is asked again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from heron_research.principles import current_principles
from heron_research.records.models import ConsentEntry

__all__ = ["ConsentState", "consent_state"]


@dataclass(frozen=True)
class ConsentState:
    """What the client has consented to at one moment."""

    entry: ConsentEntry | None  # the ledger entry in force, if any
    current_version: str  # the principles version this package ships

    @property
    def given(self) -> bool:
        return self.entry is not None

    @property
    def principles_current(self) -> bool:
        """Whether the consent in force was given to the current principles text."""
        return self.entry is not None and self.entry.principles_version == self.current_version

    @property
    def needs_renewal(self) -> bool:
        """True when the client should be asked (again): none given, or the text changed."""
        return not self.principles_current

    @property
    def training(self) -> bool:
        return self.entry is not None and self.entry.training

    @property
    def practitioner_sharing(self) -> bool:
        """Sharing with the practitioner is allowed (consent to it is in force)."""
        return self.entry is not None and self.entry.practitioner_sharing

    @property
    def research(self) -> bool:
        """Research use is allowed: consented, not withdrawn, and to the current principles."""
        return self.entry is not None and self.entry.research and self.principles_current

    def describe(self) -> str:
        """One sentence for reports: the consent in force."""
        if self.entry is None:
            return "No consent has been recorded."
        e = self.entry
        scopes = [
            name
            for name, on in (
                ("the training", e.training),
                ("sharing with the practitioner", e.practitioner_sharing),
                ("anonymised research", e.research),
            )
            if on
        ]
        what = ", ".join(scopes) if scopes else "nothing (all consent withdrawn)"
        version = (
            "the current principles"
            if self.principles_current
            else f"an earlier version of the principles ({e.principles_version}); renewal due"
        )
        return f"Consent recorded {e.recorded_at:%Y-%m-%d %H:%M} to {what}, under {version}."


def consent_state(
    ledger: Iterable[ConsentEntry],
    as_of: datetime | None = None,
    current_version: str | None = None,
) -> ConsentState:
    """The consent in force ``as_of`` (default: now) given the whole ledger."""
    version = current_version or current_principles().version
    entries = sorted(ledger, key=lambda e: e.recorded_at)
    if as_of is not None:
        as_of = as_of if as_of.tzinfo else as_of.astimezone()
        entries = [e for e in entries if e.recorded_at <= as_of]
    return ConsentState(entry=entries[-1] if entries else None, current_version=version)
