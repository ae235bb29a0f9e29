"""Report kinds and report sections: each declared once; the runner, the notebooks and the
tests iterate them (papermill's engine registry and jupytext's format table are the model).

Two registries:

* :data:`REPORT_KINDS`, one table with a :class:`ReportKind` per report the package makes::

      review    peer_review_report.ipynb  reads a workbook  for client | practitioner
      handover  handover_report.ipynb     reads a workbook  for client | practitioner
      cohort    cohort_report.ipynb       reads a dataset   for research

  Each entry holds the notebook, the title, the ordered slugs of its sections, the
  notebook's parameters, how its source is checked before a kernel starts, its audiences
  (the first is the default) and its default output name. The runner
  (:mod:`~heron_research.reports.runner`) and the notebook builder
  (:mod:`~heron_research.reports.notebooks`) read only this table.

* The sections. A section function registers itself, beside its code, with :func:`section`:
  its slug, title, the frames (tables) and ``ctx.extra`` keys it reads, and its
  empty-state sentence. The decorated name is a :class:`SectionSpec`; calling it with a
  report context renders the :class:`~heron_research.reports.html.Section`. The function
  returns the section's body (a list of parts) or ``None`` when it has nothing to show,
  and the spec then shows the empty-state sentence. :func:`sections` gives a kind's
  sections in report order.

Adding a section: write its function under ``@section(...)`` in the kind's module, add the
slug to the kind's ``sections`` below, and run ``python -m heron_research.reports.notebooks
--write``; a test fails until all three are done.

This module imports only the standard library and the package's light modules: the runner,
the CLI's tests and ``reports.context`` import it.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Generic, TypeVar

from heron_research.errors import ReportError
from heron_research.reports.html import Section, note

__all__ = [
    "COHORT",
    "DATASET",
    "HANDOVER",
    "REPORT_KINDS",
    "REVIEW",
    "WORKBOOK",
    "Body",
    "Parameter",
    "ReportKind",
    "SectionSpec",
    "report_kind",
    "section",
    "sections",
]

REVIEW = "review"
HANDOVER = "handover"
COHORT = "cohort"
#: what a report reads (its first parameter)
WORKBOOK = "workbook"
DATASET = "dataset"

#: what a section function returns: the parts of its body, or None for "nothing to show"
Body = Sequence[Any] | None
C = TypeVar("C")


@dataclass(frozen=True)
class SectionSpec(Generic[C]):
    """One report section, declared once with :func:`section`. Call it with a context."""

    kind: str
    slug: str  # the HTML id of the section
    title: str  # its heading ("Cover" for the cover, which is headed by the report's title)
    render: Callable[[C], Body]
    needs: tuple[str, ...] = ()  # the frames (tables) it reads through ``ctx.frame``
    extra: tuple[str, ...] = ()  # the ``ctx.extra`` keys it reads
    empty: str | None = None  # shown alone when ``render`` returns None
    #: a sentence saying why the section cannot show anything at all (shown alone), or None
    unavailable: Callable[[C], str | None] | None = None
    cover: bool = False  # the cover: headed by the report's title, carries ctx.summary()
    name: str = ""  # the section function's name in its module (the notebook calls it)

    @property
    def kinds(self) -> tuple[str, ...]:
        """The record kinds (or dataset tables) behind :attr:`needs`, in order."""
        return tuple(dict.fromkeys(table.split(".")[0] for table in self.needs))

    @property
    def cell_id(self) -> str:
        """The id of this section's cell in the report notebook."""
        return "section-" + re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-")

    def __call__(self, ctx: C) -> Section:
        reason = self.unavailable(ctx) if self.unavailable is not None else None
        parts: Sequence[Any] = ()
        if reason is None:
            body = self.render(ctx)
            if body is None:
                if self.empty is None:
                    raise TypeError(
                        f"the {self.slug!r} section returned nothing and has no empty-state "
                        "sentence"
                    )
                reason = self.empty
            else:
                parts = body
        if reason is not None:
            parts = [note(reason)]
        if self.cover:
            title = str(ctx.title)  # type: ignore[attr-defined]
            summary = ctx.summary()  # type: ignore[attr-defined]
            return Section(self.slug, title, *parts, data=summary, level=1)
        return Section(self.slug, self.title, *parts)


#: kind -> slug -> spec, filled as the section modules are imported
_SECTIONS: dict[str, dict[str, SectionSpec[Any]]] = {}


def section(
    kind: str,
    slug: str,
    title: str,
    *,
    needs: Sequence[str] = (),
    extra: Sequence[str] = (),
    empty: str | None = None,
    unavailable: Callable[[C], str | None] | None = None,
    cover: bool = False,
    name: str | None = None,
) -> Callable[[Callable[[C], Body]], SectionSpec[C]]:
    """Declare and register a section of the ``kind`` report (see the module docstring)."""
    entry = report_kind(kind)
    if slug not in entry.sections:
        raise ValueError(f"{slug!r} is not among the {kind} report's sections in REPORT_KINDS")

    def register(render: Callable[[C], Body]) -> SectionSpec[C]:
        spec = SectionSpec(
            kind=kind,
            slug=slug,
            title=title,
            render=render,
            needs=tuple(dict.fromkeys(needs)),
            extra=tuple(dict.fromkeys(extra)),
            empty=empty,
            unavailable=unavailable,
            cover=cover,
            name=name or render.__name__,
        )
        registered = _SECTIONS.setdefault(kind, {})
        if slug in registered:
            raise ValueError(f"the {kind} report's {slug!r} section is declared twice")
        registered[slug] = spec
        return spec

    return register


def sections(kind: str) -> tuple[SectionSpec[Any], ...]:
    """The ``kind`` report's sections in report order (imports the module declaring them)."""
    entry = report_kind(kind)
    importlib.import_module(entry.module)
    registered = _SECTIONS.get(kind, {})
    missing = [slug for slug in entry.sections if slug not in registered]
    if missing:
        raise LookupError(f"{entry.module} declares no section {', '.join(missing)}")
    return tuple(registered[slug] for slug in entry.sections)


@dataclass(frozen=True)
class Parameter:
    """One parameter of a report notebook: its name, its default (as Python source) and the
    comment that explains it (None: explained with the one before)."""

    name: str
    default: str
    comment: str | None


@dataclass(frozen=True)
class ReportKind:
    """One kind of report: everything the runner and the notebook builder need."""

    name: str
    title: str  # the default title
    notebook: str  # the shipped notebook's file name
    module: str  # where the sections are declared; the notebook imports it
    sections: tuple[str, ...]  # the slugs of the sections, in report order
    source: str  # WORKBOOK or DATASET: what the first parameter names
    check: Callable[[Path], None]  # raises a clear error when the source cannot be read
    parameters: tuple[Parameter, ...]
    audiences: tuple[str, ...]  # who a report may be for; the first is the default
    #: the default output file name beside the source; fields: stem, name (of the source),
    #: kind, audience ("" for the default audience, else "-<audience>"), until
    out_name: str
    command: str  # the heron-research command that runs it
    about: str  # the notebook's opening text (markdown; left out of the report)

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)

    def check_audience(self, audience: str) -> None:
        if audience not in self.audiences:
            raise ReportError(
                f"unknown audience {audience!r}; choose {' or '.join(self.audiences)}"
            )

    def default_out(self, source: Path, until: date, audience: str) -> Path:
        who = "" if audience == self.audiences[0] else f"-{audience}"
        name = self.out_name.format(
            stem=source.stem,
            name=source.name,
            kind=self.name,
            audience=who,
            until=until.isoformat(),
        )
        return source.with_name(name)


def report_kind(name: str, source: str | None = None) -> ReportKind:
    """The table's entry for ``name`` (of ``source`` when given); ReportError if none."""
    entry = REPORT_KINDS.get(name)
    if entry is None or (source is not None and entry.source != source):
        names = [k for k, v in REPORT_KINDS.items() if source is None or v.source == source]
        raise ReportError(f"unknown report kind {name!r}; choose one of: {', '.join(names)}")
    return entry


def _check_workbook(path: Path) -> None:
    from heron_research.workbook.snapshot import read_quietly

    read_quietly(path, lambda wb: None)


def _check_dataset(path: Path) -> None:
    from heron_research.errors import ResearchError
    from heron_research.research.dataset import open_dataset

    if not path.exists():
        raise ResearchError(f"{path}: no such dataset folder")
    open_dataset(path)  # checks its tables against the manifest


_WORKBOOK_PARAMETERS = (
    Parameter(
        "workbook",
        '""',
        'workbook: path to a workbook file; "" means $HERON_WORKBOOK, or if unset a '
        "synthetic sample",
    ),
    Parameter(
        "since",
        "None",
        'since, until: the period, as "YYYY-MM-DD"; None: since the last review / up to today',
    ),
    Parameter("until", "None", None),
    Parameter(
        "audience",
        '"client"',
        'audience: "client" (everything) or "practitioner" (only what the client shared)',
    ),
    Parameter("title", "None", "title: None means the standard title"),
)
_FOR_A_CLIENT = ("client", "practitioner")
_WORKBOOK_OUT = "{stem}-{kind}{audience}-{until}.html"

REPORT_KINDS: dict[str, ReportKind] = {
    entry.name: entry
    for entry in (
        ReportKind(
            name=REVIEW,
            title="Peer-review report",
            notebook="peer_review_report.ipynb",
            module="heron_research.reports.review",
            sections=(
                "cover",
                "at-a-glance",
                "agenda",
                "trends",
                "daily-life",
                "my-notes",
                "self-management",
                "hypotheses",
                "inquiries",
                "my-say",
                "check-ins",
                "practitioner",
                "co-counselling",
                "past-reviews",
                "closing",
            ),
            source=WORKBOOK,
            check=_check_workbook,
            parameters=_WORKBOOK_PARAMETERS,
            audiences=_FOR_A_CLIENT,
            out_name=_WORKBOOK_OUT,
            command="report",
            about=(
                "# Peer-review report\n\n"
                "The report a client brings to a peer-review session. Run it with\n"
                "`heron-research report WORKBOOK` (add `--audience practitioner` for the "
                "practitioner's copy):\n"
                "that fills in the parameters below, runs each section and writes one offline "
                "HTML page.\n\n"
                "Each cell below is one section of the report; the code lives in "
                "`heron_research.reports.review`.\n"
                "With the default parameters the notebook uses a small synthetic sample workbook."
            ),
        ),
        ReportKind(
            name=HANDOVER,
            title="What works for me: a hand-over report",
            notebook="handover_report.ipynb",
            module="heron_research.reports.handover",
            sections=(
                "cover",
                "what-works",
                "learned",
                "open-inquiries",
                "co-counselling",
                "where-i-am",
                "next-steps",
            ),
            source=WORKBOOK,
            check=_check_workbook,
            parameters=_WORKBOOK_PARAMETERS,
            audiences=_FOR_A_CLIENT,
            out_name=_WORKBOOK_OUT,
            command="report",
            about=(
                "# Hand-over report: what works for me\n\n"
                "For the end of the programme and for peer self-help networks. Run it with\n"
                "`heron-research report WORKBOOK --kind handover`: that fills in the parameters "
                "below, runs each\n"
                "section and writes one offline HTML page.\n\n"
                "Each cell below is one section; the code lives in "
                "`heron_research.reports.handover`.\n"
                "With the default parameters the notebook uses a small synthetic sample workbook."
            ),
        ),
        ReportKind(
            name=COHORT,
            title="Cohort report",
            notebook="cohort_report.ipynb",
            module="heron_research.reports.cohort",
            sections=(
                "cover",
                "participants",
                "compliance",
                "emotions",
                "self-management",
                "hypotheses",
                "autonomy",
                "check-ins",
                "methods",
            ),
            source=DATASET,
            check=_check_dataset,
            parameters=(
                Parameter(
                    "dataset",
                    '""',
                    'dataset: path to a dataset folder; "" means $HERON_DATASET, or if unset a '
                    "synthetic sample",
                ),
                Parameter("title", "None", "title: None means the standard title"),
            ),
            audiences=("research",),
            out_name="{name}-{kind}.html",
            command="cohort-report",
            about=(
                "# Cohort report\n\n"
                "What an anonymised research dataset shows about the programme, across "
                "participants.\n"
                "Run it with `heron-research cohort-report DATASET --out cohort.html`: that "
                "fills in the\n"
                "parameters below, runs each section and writes one offline HTML page.\n\n"
                "Each cell below is one section of the report; the code lives in "
                "`heron_research.reports.cohort`\n"
                "and `heron_research.analysis.cohort`. With the default parameters the notebook "
                "uses\n"
                "`$HERON_DATASET`, or a small synthetic sample dataset made from a few demo "
                "workbooks."
            ),
        ),
    )
}
