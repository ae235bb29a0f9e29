"""What a report is about: the parameters, and the frames of the records it may show.

:func:`load` opens the workbook read-only and reads each record kind once, for the
report's audience only (:meth:`Workbook.frames` applies the sharing levels and the consent
in force). For a practitioner report it also counts, per kind, the entries withheld from
that audience; only the numbers leave that count, never content.

The fingerprint is a SHA-256 over the sorted ``kind:id:revision`` lines of every record
the report read: the same records in the same versions give the same fingerprint.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from heron_research._version import __version__
from heron_research.errors import ReportError
from heron_research.records.base import record_types
from heron_research.records.facts import ReportScope
from heron_research.records.models import EMOTION_EPISODE, FOCUS_DECISION, PEER_REVIEW
from heron_research.reports.registry import REPORT_KINDS, REVIEW, WORKBOOK
from heron_research.visibility import Audience

if TYPE_CHECKING:
    import pandas as pd

    from heron_research.records.consent import ConsentState

__all__ = [
    "FROM_THE_START",
    "KINDS",
    "PROGRAMME_KINDS",
    "THE_BEGINNING",
    "ReportContext",
    "kind_names",
    "kinds_in_scope",
    "load",
    "parse_day",
]

#: the notebooks and titles of the reports on a workbook, by report kind (views of the
#: report-kind table, :data:`~heron_research.reports.registry.REPORT_KINDS`)
KINDS = {k.name: k.notebook for k in REPORT_KINDS.values() if k.source == WORKBOOK}
TITLES = {k.name: k.title for k in REPORT_KINDS.values() if k.source == WORKBOOK}
#: the period kinds a review report also reads from the beginning, for its trends
PROGRAMME_KINDS = (EMOTION_EPISODE, FOCUS_DECISION)
#: the order a report reads scopes in, and the start of the period each is read from
_READ_SCOPES = (ReportScope.PERIOD, ReportScope.HISTORY, ReportScope.UNDATED)


def kinds_in_scope(scope: ReportScope) -> tuple[str, ...]:
    """The record kinds a report reads with ``scope``, in the registry's order.

    ``PERIOD`` kinds are read for the report's period only; ``HISTORY`` kinds from the
    beginning to the end of the period (open items, hypotheses and inquiries started earlier
    still matter, reliable change is from the first check-in, past reviews are history);
    ``UNDATED`` kinds whole.
    """
    return tuple(k for k, cls in record_types().items() if cls.facts.report is scope)


def kind_names() -> dict[str, str]:
    """What people call each kind a report counts, for the cover: dated kinds in the
    registry's order, then the undated ones."""
    read = [cls for cls in record_types().values() if cls.facts.report in _READ_SCOPES]
    read.sort(key=lambda cls: cls.facts.report is ReportScope.UNDATED)
    return {cls.kind: cls.facts.plural for cls in read}


def _day(value: date) -> str:
    return f"{value.day} {value:%b %Y}"


#: ``--since start``: from the first entry, whatever the report's default period. It is
#: read as :data:`THE_BEGINNING`, a day before any entry can be (entries are dated 1900 on),
#: so it passes through the runner and the notebook's parameters as a plain date.
FROM_THE_START = "start"
THE_BEGINNING = date(1900, 1, 1)


def parse_day(value: str | date | None, name: str) -> date | None:
    """A report date parameter: ``None``, a date, or text like ``2025-03-01`` (``"start"``,
    :data:`FROM_THE_START`, is :data:`THE_BEGINNING`: from the first entry)."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip() == FROM_THE_START:
        return THE_BEGINNING
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        also = " or start" if name == "since" else ""
        raise ReportError(
            f"--{name} must be a date written like 2025-03-01{also} (got {value!r})"
        ) from None


@dataclass
class ReportContext:
    """Everything the sections of a report need."""

    workbook: Path
    kind: str
    title: str
    audience: Audience
    since: date | None
    until: date
    generated_at: datetime
    consent: ConsentState
    frames: dict[str, pd.DataFrame]
    included: dict[str, int]
    withheld: dict[str, int]
    fingerprint: str
    first_day: date | None = None
    #: the day of the last peer review before the period, when the period starts after it
    #: by default (a review report with no ``since``)
    last_review: date | None = None
    #: the period kinds the whole-programme trends chart (:data:`PROGRAMME_KINDS`), read
    #: from the first entry to the end of the period (review reports only)
    programme: dict[str, pd.DataFrame] = field(default_factory=dict)
    version: str = __version__
    extra: dict[str, Any] = field(default_factory=dict)

    def frame(self, table: str) -> pd.DataFrame:
        """A loaded table by name, e.g. ``"emotion_episode.emotions"``."""
        return self.frames[table]

    @property
    def short_fingerprint(self) -> str:
        return self.fingerprint[:12]

    @property
    def period_words(self) -> str:
        """The period in words, e.g. "1 Mar 2025 to 31 May 2025"."""
        end = _day(self.until)
        if self.since is not None and self.last_review is not None:
            return (
                f"since the last peer review ({_day(self.last_review)}): "
                f"{_day(self.since)} to {end}"
            )
        if self.since is not None:
            return f"{_day(self.since)} to {end}"
        if self.first_day is not None:
            return f"from the first entry ({_day(self.first_day)}) to {end}"
        return f"everything up to {end}"

    def in_period(self, day: Any) -> bool:
        """Whether a date (or Timestamp) falls in the report's period."""
        if day is None or day != day:  # None or NaT
            return False
        d = day.date() if hasattr(day, "date") else day
        return (self.since is None or d >= self.since) and d <= self.until

    def summary(self) -> dict[str, Any]:
        """The facts the runner reads back from the executed notebook."""
        return {
            "kind": self.kind,
            "title": self.title,
            "audience": self.audience.value,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat(),
            "fingerprint": self.fingerprint,
            "included": self.included,
            "withheld": self.withheld,
            "version": self.version,
            "generated_at": self.generated_at.isoformat(timespec="seconds"),
        }


def _first_day(kind: str, table: pd.DataFrame) -> date | None:
    """The earliest local day in a kind's table (None when empty or undated)."""
    field_name = record_types()[kind].when_field
    if field_name is None or table.empty:
        return None
    column = f"{field_name}_local" if f"{field_name}_local" in table else field_name
    earliest = table[column].min()
    return None if earliest != earliest else earliest.date()


def load(
    workbook: str | Path,
    *,
    kind: str = "review",
    since: str | date | None = None,
    until: str | date | None = None,
    audience: str = "client",
    title: str | None = None,
    now: datetime | None = None,
) -> ReportContext:
    """Read what a report of ``kind`` may show to ``audience`` for the period."""
    from heron_research.workbook.snapshot import read_quietly

    if kind not in KINDS:
        raise ReportError(f"unknown report kind {kind!r}; choose one of: {', '.join(KINDS)}")
    try:
        reader = Audience(audience)
    except ValueError:
        raise ReportError(f"unknown audience {audience!r}; choose client or practitioner") from None
    if reader is Audience.RESEARCH:
        raise ReportError("reports are for the client or the practitioner, not research")
    start = parse_day(since, "since")
    generated = now or datetime.now().astimezone().replace(microsecond=0)
    end = parse_day(until, "until") or generated.date()
    if start is not None and start > end:
        raise ReportError(f"the period starts ({start}) after it ends ({end})")
    by_default = kind == REVIEW and (since is None or since == "")
    if start is not None and start <= THE_BEGINNING:
        start = None  # from the first entry

    def read(wb: Any) -> tuple[Any, ...]:
        """Everything the report shows, in one read transaction: consent, every kind and
        the withheld counts come from one snapshot, so a save or a consent change made
        meanwhile is wholly in or wholly out. It only reads (it may run twice)."""
        frames: dict[str, pd.DataFrame] = {}
        included: dict[str, int] = {}
        withheld: dict[str, int] = {}
        lines: list[str] = []
        first_days: list[date] = []
        last_review: date | None = None
        begin = start
        with wb.atomic(write=False):
            consent = wb.consent()
            if by_default:  # a review report covers the time since the last review
                last_review = _last_review(wb, end, reader)
                begin = last_review + timedelta(days=1) if last_review is not None else None
            for scope in _READ_SCOPES:
                group_since = begin if scope is ReportScope.PERIOD else None
                for record_kind in kinds_in_scope(scope):
                    tables = wb.frames(record_kind, since=group_since, until=end, audience=reader)
                    frames.update(tables)
                    main = tables[record_kind]
                    included[record_kind] = len(main)
                    lines.extend(
                        f"{record_kind}:{rid}:{rev}"
                        for rid, rev in zip(main["id"], main["revision"], strict=True)
                    )
                    if scope is ReportScope.PERIOD and (day := _first_day(record_kind, main)):
                        first_days.append(day)
                    if reader is not Audience.CLIENT:
                        withheld[record_kind] = wb.withheld_count(  # in SQL: no content is read
                            record_kind, reader, since=group_since, until=end, consent=consent
                        )
            # the whole-programme trends of a review report read the period kinds they chart
            # from the beginning too (their records count in the fingerprint)
            programme: dict[str, pd.DataFrame] = {}
            if kind == REVIEW:
                for record_kind in PROGRAMME_KINDS:
                    if begin is None:
                        programme[record_kind] = frames[record_kind]
                        continue
                    whole = wb.frames(record_kind, since=None, until=end, audience=reader)
                    programme.update(whole)
                    main = whole[record_kind]
                    lines.extend(
                        f"{record_kind}:{rid}:{rev}"
                        for rid, rev in zip(main["id"], main["revision"], strict=True)
                    )
        return (
            consent,
            begin,
            last_review,
            frames,
            included,
            withheld,
            lines,
            first_days,
            programme,
        )

    # nothing is left beside the workbook (no -wal or -shm) when nothing was there
    (consent, start, last_review, frames, included, withheld, lines, first_days, programme) = (
        read_quietly(workbook, read)
    )
    digest = hashlib.sha256("\n".join(sorted(set(lines))).encode()).hexdigest()
    return ReportContext(
        workbook=Path(workbook),
        kind=kind,
        title=title or TITLES[kind],
        audience=reader,
        since=start,
        until=end,
        generated_at=generated,
        consent=consent,
        frames=frames,
        included=included,
        withheld=withheld,
        fingerprint=digest,
        first_day=min(first_days) if first_days else None,
        last_review=last_review,
        programme=programme,
    )


def _last_review(wb: Any, end: date, reader: Audience) -> date | None:
    """The day of the last peer review held before ``end`` that ``reader`` may see."""
    reviews = wb.frames(PEER_REVIEW, until=end, audience=reader)[PEER_REVIEW]
    held = reviews["held_on"][reviews["held_on"].dt.date < end] if not reviews.empty else []
    return None if len(held) == 0 else held.max().date()
