"""What each record kind declares about itself, once, on its class.

Every record class sets ``kind`` (its storage name) and ``facts`` (a :class:`KindFacts`);
:class:`~heron_research.records.base.Record` registers it when the class is made. Everything
that used to keep its own list of kinds (reports, the fingerprint, the dataset's coverage,
the manifest's ``not_exported``, labels in the CLI, errors and the demo summary, the exchange
between people) iterates the registry instead: adding a kind is one declaration.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["KindFacts", "ReportScope", "Side"]


class Side(StrEnum):
    """Who may create (and so edit) a record of a kind: each record has one writing side."""

    CLIENT = "client"
    PRACTITIONER = "practitioner"


class ReportScope(StrEnum):
    """Which entries of a kind a report reads."""

    PERIOD = "period"  # those dated in the report's period
    HISTORY = "history"  # everything up to the period's end (open items, series, past reviews)
    UNDATED = "undated"  # all of them (the people register)
    LEDGER = "ledger"  # none as entries: the report states the consent in force instead


@dataclass(frozen=True)
class KindFacts:
    """The facts of one record kind.

    ``label`` and ``plural`` are what people call it ("check-in", "check-ins"). ``writers``
    are the sides that may create it. ``report`` says which entries a report reads.
    ``research_table`` names the dataset table its entries go to, or ``not_exported`` says
    why it never enters the research dataset; exactly one of the two is set.
    """

    label: str
    plural: str
    writers: frozenset[Side]
    report: ReportScope
    research_table: str | None = None
    not_exported: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "writers", frozenset(Side(w) for w in self.writers))
        if not self.writers:
            raise ValueError(f"{self.label}: a kind needs at least one writing side")
        if (self.research_table is None) == (self.not_exported is None):
            raise ValueError(
                f"{self.label}: give either research_table or not_exported (exactly one)"
            )

    def words(self, count: int) -> str:
        """``count`` entries in words: "1 check-in", "2,417 emotion episodes"."""
        return f"{count:,} {self.label if count == 1 else self.plural}"

    def written_by(self, side: Side | str) -> bool:
        """Whether ``side`` may create records of this kind."""
        return Side(side) in self.writers
