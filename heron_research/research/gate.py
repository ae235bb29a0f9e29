"""The consent gate: which workbooks may enter a research dataset, and why the others may not.

The rule itself lives in :mod:`heron_research.visibility`: the ``research`` audience sees
records shared at the research level, and only while research consent is in force (given,
not withdrawn, to the principles text this version ships). The gate asks that rule and
adds the reason a researcher and an ethics board need when a workbook is left out.

A research bundle carries the consent in force when the client made it, not the ledger:
:func:`bundle_gate` asks the same rule of that one entry (research given, to the principles
text this version ships). The bundle cannot say whether research consent was never given
or withdrawn, so its refusal has a reason of its own (``research_not_in_force``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from heron_research.records import ConsentEntry, ConsentState, Sharing, consent_state
from heron_research.visibility import Audience, visible_levels

__all__ = ["EXCLUSION_REASONS", "GateDecision", "bundle_gate", "consent_gate"]

#: Every reason a workbook is excluded, by code: the words the manifest uses.
EXCLUSION_REASONS: dict[str, str] = {
    "no_consent": "no consent has been recorded",
    "research_not_given": "consent to research use has not been given",
    "research_withdrawn": "consent to research use was withdrawn",
    "principles_changed": (
        "research consent was given to an earlier version of the principles and has not "
        "been renewed for the current one"
    ),
    "research_not_in_force": (
        "the research bundle says consent to research use was not in force when it was made "
        "(not given, withdrawn, or given to an earlier version of the principles)"
    ),
    "nothing_shared": "research consent is in force, but no entry is shared for research",
    "duplicate": "the same workbook was given more than once (as another file or export)",
}


@dataclass(frozen=True)
class GateDecision:
    """Whether a workbook passes the gate, the sharing levels research may see, and why not."""

    levels: frozenset[Sharing]
    code: str  # "included", or a key of EXCLUSION_REASONS
    state: ConsentState

    @property
    def included(self) -> bool:
        return bool(self.levels)

    @property
    def reason(self) -> str:
        return "research consent in force" if self.included else EXCLUSION_REASONS[self.code]


def consent_gate(
    ledger: Iterable[ConsentEntry],
    as_of: datetime,
    *,
    current_version: str | None = None,
) -> GateDecision:
    """Decide from the whole consent ledger whether research may see this workbook ``as_of``."""
    entries = list(ledger)
    state = consent_state(entries, as_of=as_of, current_version=current_version)
    levels = visible_levels(Audience.RESEARCH, state)
    if levels:
        return GateDecision(levels, "included", state)
    entry = state.entry
    if entry is None:
        code = "no_consent"
    elif not entry.research:
        earlier = [e for e in entries if e.recorded_at <= entry.recorded_at and e.research]
        code = "research_withdrawn" if earlier else "research_not_given"
    else:
        code = "principles_changed"
    return GateDecision(levels, code, state)


def bundle_gate(entry: ConsentEntry | None, *, current_version: str | None = None) -> GateDecision:
    """Decide whether research may see a research bundle, from the consent entry in force
    when it was made (``None``: the bundle says no consent was recorded)."""
    if entry is None:
        return consent_gate([], datetime.now().astimezone(), current_version=current_version)
    decision = consent_gate([entry], entry.recorded_at, current_version=current_version)
    if decision.code in ("research_not_given", "research_withdrawn"):
        return GateDecision(decision.levels, "research_not_in_force", decision.state)
    return decision
