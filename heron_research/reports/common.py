"""Pieces every report shares: loading for a notebook, the cover's body, and small helpers.

Notebook cells call :func:`open_report` once and then one section per cell; each section
(a :class:`~heron_research.reports.registry.SectionSpec`) returns a
:class:`~heron_research.reports.html.Section`, which Jupyter shows as HTML (and the HTML
export keeps). The review and hand-over reports each declare :func:`cover_body` as their
cover.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from heron_research.reports.context import ReportContext, kind_names, load
from heron_research.reports.html import (
    Markup,
    definition_list,
    figure,
    note,
    para,
    table,
    tag,
)
from heron_research.visibility import Audience

if TYPE_CHECKING:
    import altair as alt
    import pandas as pd

__all__ = [
    "SAMPLE_NOTE",
    "based_on_table",
    "chart",
    "cover_body",
    "day",
    "open_report",
    "plural",
    "sample_workbook",
    "withheld_heading",
]

SAMPLE_NOTE = (
    "No workbook was given, so this report was made from a small synthetic sample "
    "(a fictional client; no real person). Run heron-research report WORKBOOK for yours."
)


def plural(n: int, one: str, many: str | None = None) -> str:
    """``plural(1, "episode")`` -> "1 episode"; ``plural(3, "episode")`` -> "3 episodes"."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def day(value: Any) -> str:
    """A date as "14 Mar 2025", kept on one line ("" for a missing one)."""
    if value is None or value != value:
        return ""
    return f"{value.day}\u00a0{value:%b}\u00a0{value:%Y}"


def chart(
    build: Callable[[pd.DataFrame], alt.TopLevelMixin], data: pd.DataFrame, caption: str
) -> Markup:
    """Build and render one chart as an inline SVG figure (a one-line notice in its place
    when it cannot be drawn)."""
    from altair.utils.schemapi import debug_mode

    from heron_research.charts import to_svg
    from heron_research.errors import ChartError

    # the builders are validated by the tests; here, skip altair's per-object validation
    with debug_mode(False):
        try:
            return figure(to_svg(build(data)), caption)
        except ChartError as exc:
            return tag("p", f"The chart “{caption}” could not be drawn: {exc}.", class_="notice")


def sample_workbook() -> Path:
    """A small synthetic workbook in a private temporary folder, removed at exit.

    The report notebooks default to it (``workbook = ""``), so they run as committed:
    nbval, and anyone opening them to see what a report looks like.
    """
    from heron_research.demo import generate_demo

    folder = Path(tempfile.mkdtemp(prefix="heron-sample-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "sample.heron"
    generate_demo(path, seed=7, years=0.25)
    return path


def open_report(
    workbook: str | Path | None,
    *,
    kind: str,
    since: str | date | None = None,
    until: str | date | None = None,
    audience: str = "client",
    title: str | None = None,
) -> ReportContext:
    """Start a report in a notebook: warm up the chart renderer, read the workbook.

    ``workbook`` empty or None means ``$HERON_WORKBOOK`` (as in the form notebooks), or
    when that is not set either, the built-in sample (see :func:`sample_workbook`).
    """
    from heron_research.reports.warm import warm_up

    warm_up()
    chosen = str(workbook or "").strip() or os.environ.get("HERON_WORKBOOK", "").strip()
    sample = not chosen
    path = sample_workbook() if sample else Path(chosen)
    ctx = load(path, kind=kind, since=since, until=until, audience=audience, title=title)
    ctx.extra["sample"] = sample
    return ctx


def _audience_words(ctx: ReportContext) -> str:
    if ctx.audience is Audience.CLIENT:
        return "the client: everything in the workbook, private entries included"
    return "the practitioner: only entries the client shared with the practitioner"


def withheld_heading(ctx: ReportContext) -> str:
    """Why entries are withheld from this report's reader, as the cover's column heading:
    kept private by the client, or (consent to sharing withdrawn) every entry."""
    if ctx.audience is Audience.PRACTITIONER and not ctx.consent.practitioner_sharing:
        return "Withheld (consent to sharing with the practitioner withdrawn)"
    return "Withheld (kept private by the client)"


def cover_body(ctx: ReportContext, *, based_on: bool = True) -> list[Any]:
    """The cover (headed by the report's title): period, audience, consent in force, what is
    included and what is withheld (counts only, :func:`based_on`; left for the end of the
    report when ``based_on`` is False), version, generation time and the data fingerprint."""
    parts: list[Any] = [para(ctx.period_words, class_="subtitle")]
    if ctx.extra.get("sample"):
        parts.append(tag("p", SAMPLE_NOTE, class_="notice"))
    if ctx.audience is Audience.PRACTITIONER and not ctx.consent.practitioner_sharing:
        parts.append(
            tag(
                "p",
                "The client's consent to sharing with the practitioner is not in force, so "
                "this report shows no entries.",
                class_="notice",
            )
        )
    parts.append(
        definition_list(
            [
                ("Workbook", ctx.workbook.name),
                ("Period", ctx.period_words),
                ("For", _audience_words(ctx)),
                ("Consent in force", ctx.consent.describe()),
                ("Generated", f"{ctx.generated_at:%d %b %Y %H:%M %Z}".strip()),
                ("heron-research", ctx.version),
                (
                    "Data fingerprint",
                    tag("code", ctx.short_fingerprint, title=ctx.fingerprint),
                ),
            ]
        )
    )
    if based_on:
        parts += based_on_table(ctx)
    return parts


def based_on_table(ctx: ReportContext) -> list[Any]:
    """What the report is based on: entries included and withheld (counts only), by kind."""
    parts: list[Any] = []
    headers = ["Entries", "Included"]
    if ctx.audience is not Audience.CLIENT:
        headers.append(withheld_heading(ctx))
    rows = []
    for kind, name in kind_names().items():
        if kind not in ctx.included:
            continue
        row: list[Any] = [name.capitalize(), ctx.included[kind]]
        if ctx.audience is not Audience.CLIENT:
            row.append(ctx.withheld.get(kind, 0))
        rows.append(row)
    parts.append(table(rows, headers, caption="What this report is based on", numeric=(1, 2)))
    parts.append(
        note(
            "The fingerprint is a checksum of the entries (and their versions) this report "
            "used: the same fingerprint means the same data."
        )
    )
    return parts
