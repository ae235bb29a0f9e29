"""The hand-over report: for the end of the programme and peer self-help networks.

``notebooks/handover_report.ipynb`` calls :func:`load` and then one section per cell, in
the order of the ``handover`` entry of
:data:`~heron_research.reports.registry.REPORT_KINDS`; each section is declared here with
:func:`~heron_research.reports.registry.section`.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from heron_research import charts
from heron_research.analysis import practice, progress
from heron_research.analysis.rounding import score
from heron_research.records.models import (
    CHECK_IN,
    CO_COUNSELLING_SESSION,
    EMOTION_EPISODE,
    INQUIRY_CYCLE,
    PERSON,
    PROJECTION_HYPOTHESIS,
)
from heron_research.records.scoring import SAFETY_NOTE
from heron_research.reports.common import chart, cover_body, day, open_report, plural
from heron_research.reports.context import ReportContext
from heron_research.reports.html import definition_list, note, para, table, tag
from heron_research.reports.registry import HANDOVER, Body, section

__all__ = [
    "co_counselling",
    "cover",
    "learned",
    "load",
    "next_steps",
    "open_inquiries",
    "what_works",
    "where_i_am",
]

_LEARNED = ("supported", "resolved", "revised")


def load(
    workbook: str | Path | None,
    *,
    since: str | date | None = None,
    until: str | date | None = None,
    audience: str = "client",
    title: str | None = None,
) -> ReportContext:
    """Read the workbook for a hand-over report (see :func:`common.open_report`)."""
    return open_report(
        workbook, kind=HANDOVER, since=since, until=until, audience=audience, title=title
    )


cover = section(HANDOVER, "cover", "Cover", extra=("sample",), cover=True, name="cover")(cover_body)


@section(
    HANDOVER,
    "what-works",
    "What works for me",
    needs=(f"{EMOTION_EPISODE}.self_management",),
    empty="No self-management was recorded with emotion episodes yet.",
)
def what_works(ctx: ReportContext) -> Body:
    """Techniques ranked by how clearly they eased the feeling, then all techniques."""
    used = ctx.frame(f"{EMOTION_EPISODE}.self_management")
    if used.empty:
        return None
    ranked = practice.what_works(used)
    parts: list[Any] = []
    if ranked.empty:
        parts.append(
            para(
                "No technique has enough before-and-after ratings yet to say clearly that it "
                "eases the feeling (5 or more ratings, with a 95% interval above zero)."
            )
        )
    else:
        items = [
            tag(
                "li",
                tag("strong", r.technique),
                f" ({r.skill}): ",
                r.sentence,
            )
            for r in ranked.head(5).itertuples()
        ]
        parts += [
            para(
                "Ranked by effect size (how large and how steady the easing was), the "
                "techniques that most clearly eased the feeling:"
            ),
            tag("ol", *items),
        ]
    effects = practice.technique_effects(used)
    if bool(effects["enough"].any()):
        parts.append(
            chart(
                charts.technique_effects,
                effects,
                "Mean drop in intensity per technique, with 95% intervals",
            )
        )
    rows = [(r.technique, r.skill, r.n, r.brief) for r in effects.itertuples()]
    parts.append(
        table(
            rows,
            ["Technique", "Skill", "Times", "Intensity"],
            caption="Every technique I used",
            numeric=(2,),
        )
    )
    parts.append(
        note(
            "Effect sizes are Cohen's d for paired before-and-after ratings (0.2 small, 0.5 "
            "medium, 0.8 large); a fall may also be the feeling passing with time."
        )
    )
    return parts


@section(
    HANDOVER,
    "learned",
    "What I have learned about my reactions",
    needs=(
        PROJECTION_HYPOTHESIS,
        f"{PROJECTION_HYPOTHESIS}.evidence",
        f"{PROJECTION_HYPOTHESIS}.confidence",
        PERSON,
    ),
    empty="No projection hypothesis has been supported or resolved yet.",
)
def learned(ctx: ReportContext) -> Body:
    """Supported (and resolved or revised) projection hypotheses: what my reactions echo."""
    table_ = progress.hypotheses(
        ctx.frame(PROJECTION_HYPOTHESIS),
        ctx.frame(f"{PROJECTION_HYPOTHESIS}.evidence"),
        ctx.frame(f"{PROJECTION_HYPOTHESIS}.confidence"),
        ctx.frame(PERSON),
    )
    done = table_[table_["status"].isin(_LEARNED)] if not table_.empty else table_
    if done.empty:
        return None
    parts: list[Any] = []
    for h in done.itertuples():
        parts.append(
            tag(
                "div",
                tag("h3", h.reaction, " ", tag("span", h.status, class_="tag")),
                definition_list(
                    [
                        ("Reacting to", h.target),
                        ("It may echo", h.echoes),
                        ("Unprocessed emotion", h.unprocessed_emotion),
                        ("Evidence", f"{h.supports} for, {h.contradicts} against"),
                        (
                            "Confidence now",
                            ""
                            if h.latest_confidence != h.latest_confidence
                            else h.latest_confidence,
                        ),
                    ]
                ),
                class_="card",
            )
        )
    return parts


@section(
    HANDOVER,
    "open-inquiries",
    "Open inquiries",
    needs=(INQUIRY_CYCLE, f"{INQUIRY_CYCLE}.episode_ids"),
    empty="No inquiry is under way.",
)
def open_inquiries(ctx: ReportContext) -> Body:
    """Inquiry cycles still under way: the question and the next step."""
    cycles = progress.inquiries(ctx.frame(INQUIRY_CYCLE), ctx.frame(f"{INQUIRY_CYCLE}.episode_ids"))
    active = (
        cycles[~cycles["status"].astype(str).isin(["completed", "abandoned"])]
        if not cycles.empty
        else cycles
    )
    if active.empty:
        return None
    rows = [
        (c.question, c.status, day(c.started_on), c.next_step or c.plan)
        for c in active.itertuples()
    ]
    return [table(rows, ["Question", "Status", "Started", "Next step (or plan)"])]


@section(
    HANDOVER,
    "co-counselling",
    "Co-counselling",
    needs=(CO_COUNSELLING_SESSION,),
    empty="No co-counselling sessions logged yet. The log is in the workbook.",
)
def co_counselling(ctx: ReportContext) -> Body:
    """Co-counselling sessions so far: totals, balance of time, the latest sessions."""
    sessions = ctx.frame(CO_COUNSELLING_SESSION)
    summary = practice.co_counselling(sessions)
    if summary.sessions == 0:
        return None
    contracts = ", ".join(f"{k} {v}" for k, v in summary.by_contract.items() if v)
    parts: list[Any] = [
        para(
            f"{plural(summary.sessions, 'session')} with {plural(summary.peers, 'peer')} "
            f"from {day(summary.first)} to {day(summary.last)}: "
            f"{summary.minutes_as_client} minutes as client, {summary.minutes_as_counsellor} "
            f"as counsellor ({summary.balance}). Contracts: {contracts}."
        )
    ]
    recent = sessions.sort_values("held_on", ascending=False).head(10)
    rows = [
        (
            day(s.held_on),
            s.peer_alias,
            s.contract,
            s.minutes_as_client,
            s.worked_on,
            s.re_evaluation,
        )
        for s in recent.itertuples()
    ]
    parts.append(
        table(
            rows,
            ["Date", "Peer", "Contract", "Minutes as client", "Worked on", "Re-evaluation"],
            caption="The latest sessions",
            numeric=(3,),
        )
    )
    return parts


@section(HANDOVER, "where-i-am", "Where I am now", needs=(CHECK_IN,), empty="No check-ins yet.")
def where_i_am(ctx: ReportContext) -> Body:
    """The latest check-in scores and the change since the first."""
    table_ = progress.checkins(ctx.frame(CHECK_IN))
    if table_.empty:
        return None
    parts: list[Any] = []
    summary = progress.checkin_summary(table_)
    latest_phq = table_[table_["instrument"] == "phq9"].tail(1)
    if not latest_phq.empty and bool(latest_phq["item9_flag"].iloc[0]):
        parts.append(tag("div", tag("strong", "Please read: "), SAFETY_NOTE, class_="safety"))
    rows = [
        (
            r.name,
            score(r.first),
            f"{score(r.latest)} ({r.latest_band})",
            r.verdict if isinstance(r.verdict, str) else "no published figures",
        )
        for r in summary.itertuples()
    ]
    parts.append(table(rows, ["Measure", "First", "Latest (band)", "Reliable change"]))
    parts.append(chart(charts.checkin_scores, table_, "Check-in scores over time"))
    return parts


@section(
    HANDOVER,
    "next-steps",
    "Next steps",
    needs=(f"{EMOTION_EPISODE}.self_management", INQUIRY_CYCLE),
)
def next_steps(ctx: ReportContext) -> Body:
    """What to carry on with: the best technique, open questions, peer support."""
    steps: list[Any] = []
    ranked = practice.what_works(ctx.frame(f"{EMOTION_EPISODE}.self_management"))
    if not ranked.empty:
        steps.append(tag("li", "Keep using ", tag("strong", ranked["technique"].iloc[0]), "."))
    cycles = ctx.frame(INQUIRY_CYCLE)
    for c in cycles.itertuples():
        if str(c.status) not in ("completed", "abandoned") and str(c.next_step or ""):
            steps.append(tag("li", c.next_step))
    steps.append(
        tag(
            "li",
            "Keep a regular co-counselling session with a peer: equal time, the client in "
            "charge, free attention from the counsellor.",
        )
    )
    steps.append(
        tag(
            "li",
            "Go on logging episodes and reviewing them: the workbook works without a practitioner.",
        )
    )
    return [
        tag("ul", *steps),
        note(
            f"heron-research {ctx.version} · generated {ctx.generated_at:%d %b %Y %H:%M} · "
            f"data fingerprint {ctx.short_fingerprint}"
        ),
    ]
