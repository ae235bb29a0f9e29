"""What a demo workbook holds: :class:`DemoSummary`, and its few lines for people."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from heron_research.records import ReportScope, record_types

__all__ = ["DemoSummary"]


def kind_words() -> list[tuple[str, str, str]]:
    """Each record kind in the summary's order, with its word for one and for many: the
    kinds with dated entries in the registry's order, then the people and the consent
    ledger."""
    kinds = list(record_types().values())
    kinds.sort(key=lambda cls: cls.facts.report in (ReportScope.UNDATED, ReportScope.LEDGER))
    return [(cls.kind, cls.facts.label, cls.facts.plural) for cls in kinds]


@dataclass(frozen=True)
class DemoSummary:
    """What a demo workbook holds, and a short summary for people (:meth:`lines`)."""

    path: Path
    seed: int
    years: float
    episodes_per_week: tuple[int, int]
    workbook_id: str
    period: tuple[date, date]  # first and last day, inclusive
    programme_end: date  # the day of the last peer review
    counts: dict[str, int]  # records of each kind (not counting deleted ones)
    deleted: int  # deleted records (restorable)
    revisions: int  # saved versions, deletions and restores included
    private: int  # records only the client can see
    consent: tuple[str, ...]  # scopes in force at the end of the period
    principles_current: bool

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def lines(self) -> list[str]:
        """A few lines for a person: where the file is, what it holds, what to try."""
        first, last = self.period
        weeks = ((last - first).days + 1) // 7
        entries = ", ".join(
            f"{n:,} {one if n == 1 else many}"
            for kind, one, many in kind_words()
            if (n := self.counts.get(kind, 0))
        )
        consent = ", ".join(self.consent) if self.consent else "none"
        if self.consent and self.principles_current:
            consent += " (to the current principles)"
        deleted = f"{self.deleted:,} deleted (restorable)"
        return [
            f"Demo workbook: {self.path} (only you can read it)",
            f"Synthetic data for a fictional client (seed {self.seed}); no real people.",
            f"Period: {first.isoformat()} to {last.isoformat()} ({weeks} weeks; the "
            f"programme ended at the peer review on {self.programme_end.isoformat()})",
            *textwrap.wrap(
                f"Entries: {self.total:,} in all: {entries}",
                width=92,
                subsequent_indent="  ",
                break_on_hyphens=False,
            ),
            f"History: {self.revisions:,} saved versions, {deleted}; "
            f"{self.private:,} private entries only you can see",
            f"Consent in force: {consent}",
            f"Try: heron-research check {self.path}",
            f"     heron-research export {self.path}",
        ]
