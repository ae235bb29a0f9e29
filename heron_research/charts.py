"""Chart builders: small tables from :mod:`heron_research.analysis` in, altair charts out.

Builders return ``alt.Chart`` objects (tested on ``chart.to_dict()``); :func:`to_svg`
renders one to a static SVG with vl-convert, so reports need no JavaScript and no network.
Charts only ever receive aggregated tables, never whole records: specs stay small.

Text on its way to vl-convert (values, labels, tooltips, sort orders, titles) passes through
:func:`heron_research.reports.html.xml_safe`, the reports' one sanitising step: vl-convert
aborts its whole process (the report's kernel) on a character XML forbids, such as a U+0001
pasted into a technique's name. :func:`to_svg` applies it to the finished spec as well, and
raises :class:`~heron_research.errors.ChartError` when a chart still cannot be rendered.
"""

from __future__ import annotations

import itertools
import math
import re
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import altair as alt
    import pandas as pd

__all__ = [
    "checkin_scores",
    "cohort_compliance",
    "cohort_decisions",
    "cohort_trajectory",
    "decision_share",
    "emotion_families",
    "episodes_over_time",
    "hypothesis_confidence",
    "intervention_agreement",
    "people",
    "proportionality",
    "restart_ids",
    "review_ratings",
    "situation_words",
    "skills_used",
    "start_warm_up",
    "technique_effects",
    "to_svg",
    "when_episodes_happen",
]

WIDTH = 560
#: lines with more points than this are drawn without a dot at each point
MAX_POINTS = 60
FONT = "Helvetica, Arial, sans-serif"
BAND_COLOURS = ("#bcd7ea", "#5b9bd0", "#1f4e89")
DECIDED_COLOURS = {"autonomy": "#2a7f62", "co-operation": "#8fbf73", "hierarchy": "#d9734e"}
SKILL_COLOURS = {
    "expression": "#3f7cac",
    "control": "#8d6cab",
    "catharsis": "#d9734e",
    "transmutation": "#2a7f62",
}
_counter = itertools.count(1)
_warm: threading.Thread | None = None


# --- helpers -----------------------------------------------------------------------------


def _json_value(value: Any) -> Any:
    """A value altair can put in a spec: no NaN, no pandas scalars, dates as ISO days, text
    without the characters XML forbids."""
    if value is None:
        return None
    if isinstance(value, str):
        return _safe(value)
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d")
    if hasattr(value, "item"):  # numpy / pandas scalar
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if value.__class__.__name__ in ("NAType", "NaTType"):
        return None
    return value


def _safe(text: str) -> str:
    from heron_research.reports.html import xml_safe

    return xml_safe(text)


def _safe_spec(spec: Any) -> Any:
    """``spec`` (a chart's dict) with every string in it, keys too, made XML-safe."""
    if isinstance(spec, str):
        return _safe(spec)
    if isinstance(spec, dict):
        return {_safe_spec(k): _safe_spec(v) for k, v in spec.items()}
    if isinstance(spec, list):
        return [_safe_spec(v) for v in spec]
    return spec


def _order(column: pd.Series) -> list[Any]:
    """A column's values in order, for ``sort=``: the same safe text as the chart's data."""
    return [_json_value(v) for v in column]


def _values(frame: pd.DataFrame, columns: list[str]) -> list[dict[str, Any]]:
    return [
        {c: _json_value(v) for c, v in zip(columns, row, strict=True)}
        for row in frame[columns].itertuples(index=False, name=None)
    ]


def _chart(values: list[dict[str, Any]], description: str) -> alt.Chart:
    import altair as alt

    return alt.Chart(alt.Data(values=values), description=description)


def _finish(chart: alt.Chart, height: int = 220) -> alt.Chart:
    # padding: browsers may draw labels a little wider than vl-convert measured them
    return (
        chart.properties(
            width=WIDTH, height=height, padding={"left": 24, "top": 6, "right": 12, "bottom": 6}
        )
        .configure(font=FONT)
        .configure_view(stroke=None)
        .configure_axis(labelFontSize=11, titleFontSize=12, grid=True, gridColor="#e6e6e6")
        .configure_legend(labelFontSize=11, titleFontSize=12, orient="bottom")
    )


def _month_axis(field: str) -> alt.X:
    import altair as alt

    return alt.X(
        f"utcyearmonth({field}):T",
        title=None,
        scale=alt.Scale(type="utc"),
        axis=alt.Axis(format="%b %Y", labelAngle=0, tickCount=6),
    )


def _day_axis(field: str, title: str) -> alt.X:
    import altair as alt

    return alt.X(
        f"{field}:T",
        title=title,
        scale=alt.Scale(type="utc"),
        axis=alt.Axis(format="%d %b %Y", labelAngle=0, tickCount=6),
    )


# --- daily life --------------------------------------------------------------------------


def episodes_over_time(weekly: pd.DataFrame) -> alt.Chart:
    """Episodes per week (bars), from :func:`analysis.daily.episodes_per_week`."""
    import altair as alt

    values = _values(weekly, ["week", "episodes", "mean_peak"])
    chart = (
        _chart(values, "Emotion episodes logged per week")
        .mark_bar(color="#5b9bd0")
        .encode(
            x=_day_axis("week", "Week"),
            y=alt.Y("episodes:Q", title="Episodes", axis=alt.Axis(tickMinStep=1)),
        )
    )
    return _finish(chart, 180)


def emotion_families(by_family: pd.DataFrame) -> alt.Chart:
    """Mentions of each family of emotion, split by intensity band (stacked bars)."""
    import altair as alt

    from heron_research.analysis.daily import INTENSITY_BANDS

    values = _values(by_family, ["family", "band", "mentions"])
    order = _order(by_family["family"].drop_duplicates())
    chart = (
        _chart(values, "How often each family of emotion was felt, and how strongly")
        .mark_bar()
        .encode(
            y=alt.Y("family:N", title=None, sort=order),
            x=alt.X("mentions:Q", title="Times felt", stack="zero"),
            color=alt.Color(
                "band:N",
                title="Intensity",
                scale=alt.Scale(domain=list(INTENSITY_BANDS), range=list(BAND_COLOURS)),
            ),
            order=alt.Order("band:N"),
        )
    )
    return _finish(chart, max(60, 22 * len(order)))


def people(by_person: pd.DataFrame) -> alt.Chart:
    """Episodes with each person (bars), shaded by the mean peak intensity."""
    import altair as alt

    values = _values(by_person, ["person", "relationship", "episodes", "mean_peak"])
    order = _order(by_person["person"])
    chart = (
        _chart(values, "Episodes with each person")
        .mark_bar()
        .encode(
            y=alt.Y("person:N", title=None, sort=order),
            x=alt.X("episodes:Q", title="Episodes", axis=alt.Axis(tickMinStep=1)),
            color=alt.Color(
                "mean_peak:Q",
                title="Mean peak intensity",
                scale=alt.Scale(domain=[0, 10], scheme="blues"),
            ),
        )
    )
    return _finish(chart, max(60, 22 * len(order)))


def situation_words(words: pd.DataFrame) -> alt.Chart:
    """Words that come up most in situations (bars)."""
    import altair as alt

    values = _values(words, ["word", "episodes"])
    order = _order(words["word"])
    chart = (
        _chart(values, "Words that come up most in the situations")
        .mark_bar(color="#8d6cab")
        .encode(
            y=alt.Y("word:N", title=None, sort=order),
            x=alt.X("episodes:Q", title="Situations", axis=alt.Axis(tickMinStep=1)),
        )
    )
    return _finish(chart, max(60, 20 * len(order)))


def when_episodes_happen(when: pd.DataFrame) -> alt.Chart:
    """Episodes by weekday and part of day (a heat map with counts)."""
    import altair as alt

    from heron_research.analysis.daily import PARTS_OF_DAY, WEEKDAYS

    values = _values(when, ["weekday", "part", "episodes"])
    parts = [p for p, _, _ in PARTS_OF_DAY]
    base = _chart(values, "When episodes happen: weekday and part of day").encode(
        x=alt.X(
            "weekday:O", title=None, sort=list(WEEKDAYS), axis=alt.Axis(labelAngle=0, grid=False)
        ),
        y=alt.Y("part:O", title=None, sort=parts, axis=alt.Axis(grid=False)),
    )
    top = max([v["episodes"] for v in values] or [0])
    heat = base.mark_rect().encode(
        color=alt.Color(
            "episodes:Q", title="Episodes", scale=alt.Scale(scheme="blues", domainMin=0)
        )
    )
    text = base.mark_text(fontSize=11).encode(
        text="episodes:Q",
        color=alt.condition(alt.datum.episodes > top / 2, alt.value("white"), alt.value("#333333")),
    )
    return _finish(alt.layer(heat, text), 140)  # type: ignore[arg-type]


def proportionality(monthly: pd.DataFrame) -> alt.Chart:
    """Mean proportionality rating per month (0 far too strong, 10 fitting)."""
    import altair as alt

    values = _values(monthly, ["start", "month", "rated", "mean"])
    chart = (
        _chart(values, "How proportionate reactions felt, month by month")
        .mark_line(point=len(values) <= MAX_POINTS, color="#2a7f62")
        .encode(
            x=_month_axis("start"),
            y=alt.Y(
                "mean:Q",
                title="Mean rating (10 = fitting)",
                scale=alt.Scale(domain=[0, 10]),
            ),
        )
    )
    return _finish(chart, 180)


# --- self-management ---------------------------------------------------------------------


def skills_used(skills: pd.DataFrame) -> alt.Chart:
    """How often each technique was used, coloured by skill."""
    import altair as alt

    values = _values(skills, ["skill", "technique", "uses"])
    order = _order(skills["technique"])
    chart = (
        _chart(values, "Self-management techniques used, by skill")
        .mark_bar()
        .encode(
            y=alt.Y("technique:N", title=None, sort=order),
            x=alt.X("uses:Q", title="Times used", axis=alt.Axis(tickMinStep=1)),
            color=alt.Color(
                "skill:N",
                title="Skill",
                scale=alt.Scale(domain=list(SKILL_COLOURS), range=list(SKILL_COLOURS.values())),
            ),
        )
    )
    return _finish(chart, max(60, 20 * len(order)))


def technique_effects(effects: pd.DataFrame) -> alt.Chart:
    """Mean drop in intensity per technique with its 95% interval (only techniques with
    enough data)."""
    import altair as alt

    enough = effects[effects["enough"] & effects["ci_low"].notna()]
    values = _values(enough, ["technique", "skill", "n", "mean_drop", "ci_low", "ci_high"])
    order = _order(enough["technique"])
    base = _chart(values, "How much each technique eased the feeling (95% intervals)").encode(
        y=alt.Y("technique:N", title=None, sort=order)
    )
    interval = base.mark_rule(strokeWidth=2, color="#777777").encode(
        x=alt.X("ci_low:Q", title="Drop in intensity, before minus after (points)"),
        x2="ci_high:Q",
    )
    point = base.mark_point(filled=True, size=70).encode(
        x="mean_drop:Q",
        color=alt.Color(
            "skill:N",
            title="Skill",
            scale=alt.Scale(domain=list(SKILL_COLOURS), range=list(SKILL_COLOURS.values())),
        ),
    )
    zero = (
        _chart([{"x": 0}], "no change")
        .mark_rule(color="#333333", strokeDash=[4, 3])
        .encode(x="x:Q")
    )
    return _finish(alt.layer(interval, point, zero), max(60, 24 * len(order)))  # type: ignore[arg-type]


# --- hypotheses, decisions, check-ins, reviews, interventions ----------------------------


def hypothesis_confidence(confidence: pd.DataFrame) -> alt.Chart:
    """Confidence in each hypothesis over time (0-100), one line each."""
    import altair as alt

    values = _values(confidence, ["hypothesis", "on", "confidence"])
    chart = (
        _chart(values, "Confidence in each projection hypothesis over time")
        .mark_line(point=len(values) <= MAX_POINTS * 3)
        .encode(
            x=_day_axis("on", "Date"),
            y=alt.Y("confidence:Q", title="Confidence", scale=alt.Scale(domain=[0, 100])),
            color=alt.Color("hypothesis:N", title="Hypothesis", legend=alt.Legend(columns=1)),
        )
    )
    return _finish(chart, 200)


def _stacked_decisions(base: alt.Chart, x: Any) -> alt.Chart:
    """Bars of decision counts along ``x``, stacked to shares by how they were decided."""
    import altair as alt

    from heron_research.analysis.progress import DECIDED_BY

    return base.mark_bar().encode(
        x=x,
        y=alt.Y(
            "decisions:Q",
            title="Share of decisions",
            stack="normalize",
            axis=alt.Axis(format="%"),
        ),
        color=alt.Color(
            "decided_by:N",
            title="Decided by",
            scale=alt.Scale(domain=list(DECIDED_BY), range=list(DECIDED_COLOURS.values())),
        ),
        order=alt.Order("decided_by:N"),
    )


def decision_share(share: pd.DataFrame) -> alt.Chart:
    """Share of each month's decisions made by autonomy, co-operation and hierarchy."""

    values = _values(share, ["start", "month", "decided_by", "decisions", "share"])
    chart = _stacked_decisions(
        _chart(values, "How decisions were made, month by month"), _month_axis("start")
    )
    return _finish(chart, 180)


def checkin_scores(table: pd.DataFrame) -> alt.Chart:
    """Check-in scores over time, one line per measure."""
    import altair as alt

    values = _values(table, ["name", "taken_at", "score", "band"])
    chart = (
        _chart(values, "Check-in scores over time")
        .mark_line(point=len(values) <= MAX_POINTS * 3)
        .encode(
            x=_day_axis("taken_at", "Date"),
            y=alt.Y("score:Q", title="Score"),
            color=alt.Color("name:N", title="Measure"),
        )
    )
    return _finish(chart, 200)


def review_ratings(ratings: pd.DataFrame) -> alt.Chart:
    """The client's peer-review ratings over time (0-10), one line per rating."""
    import altair as alt

    values = _values(ratings, ["held_on", "rating", "value"])
    chart = (
        _chart(values, "My ratings at each peer review")
        .mark_line(point=len(values) <= MAX_POINTS * 3)
        .encode(
            x=_day_axis("held_on", "Review"),
            y=alt.Y("value:Q", title="Rating (0-10)", scale=alt.Scale(domain=[0, 10])),
            color=alt.Color("rating:N", title="Rating"),
        )
    )
    return _finish(chart, 200)


def intervention_agreement(pairs: pd.DataFrame) -> alt.Chart:
    """Intended vs perceived category of interventions (a heat map with counts)."""
    import altair as alt

    from heron_research.analysis.progress import INTERVENTION_CATEGORIES

    values = _values(pairs, ["intended", "perceived", "interventions"])
    cats = list(INTERVENTION_CATEGORIES)
    base = _chart(values, "Interventions: intended by the practitioner, perceived by me").encode(
        x=alt.X(
            "perceived:N",
            title="Perceived (client)",
            sort=cats,
            scale=alt.Scale(domain=cats),
            axis=alt.Axis(grid=False, labelAngle=-30),
        ),
        y=alt.Y(
            "intended:N",
            title="Intended (practitioner)",
            sort=cats,
            scale=alt.Scale(domain=cats),
            axis=alt.Axis(grid=False),
        ),
    )
    heat = base.mark_rect().encode(
        color=alt.Color("interventions:Q", title="Interventions", scale=alt.Scale(scheme="oranges"))
    )
    text = base.mark_text(fontSize=11).encode(text="interventions:Q")
    return _finish(alt.layer(heat, text), 200)  # type: ignore[arg-type]


# --- cohort (research dataset) -----------------------------------------------------------


def _week_axis(title: str = "Programme week") -> alt.X:
    import altair as alt

    return alt.X("week:Q", title=title, axis=alt.Axis(tickMinStep=1, format="d"))


def cohort_compliance(distribution: pd.DataFrame) -> alt.Chart:
    """Participant-weeks by number of entries (bars; the last bar is "cap or more")."""
    import altair as alt

    values = _values(distribution, ["label", "weeks", "share"])
    chart = (
        _chart(values, "Participant-weeks by number of entries")
        .mark_bar(color="#5b9bd0")
        .encode(
            x=alt.X(
                "label:N",
                title="Entries in the week",
                sort=_order(distribution["label"]),
                axis=alt.Axis(labelAngle=0),
            ),
            y=alt.Y("weeks:Q", title="Participant-weeks", axis=alt.Axis(tickMinStep=1)),
        )
    )
    return _finish(chart, 180)


def cohort_trajectory(
    trajectory: pd.DataFrame, y_title: str = "Mean intensity (0-10)"
) -> alt.Chart:
    """Mean over participants per block of programme weeks, one line per series, with the
    95% interval as a band (where there is one)."""
    import altair as alt

    values = _values(trajectory, ["series", "week", "mean", "ci_low", "ci_high", "participants"])
    base = _chart(values, f"{y_title} over programme weeks, with 95% intervals").encode(
        x=_week_axis(), color=alt.Color("series:N", title=None)
    )
    band = (
        base.transform_filter("isValid(datum.ci_low)")
        .mark_area(opacity=0.18)
        .encode(y=alt.Y("ci_low:Q", title=y_title), y2="ci_high:Q")
    )
    line = base.mark_line(point=True).encode(y=alt.Y("mean:Q", title=y_title))
    return _finish(alt.layer(band, line), 220)  # type: ignore[arg-type]


def cohort_decisions(share: pd.DataFrame) -> alt.Chart:
    """How focus decisions were made in each block of programme weeks (stacked shares)."""
    import altair as alt

    from heron_research.analysis.cohort import DECIDED_BY

    rows = [
        {"week": int(r["week"]), "decided_by": name, "decisions": int(r[name])}
        for _, r in share.iterrows()
        for name in DECIDED_BY
    ]
    chart = _stacked_decisions(
        _chart(rows, "How decisions were made over programme weeks"),
        alt.X("week:O", title="Programme weeks (first week of each block)"),
    )
    return _finish(chart, 180)


# --- rendering ---------------------------------------------------------------------------

_TAG = re.compile(r"<\s*(/?)\s*([A-Za-z][\w:.-]*)([^>]*)>")
_ATTRIBUTE = re.compile(r"""([^\s=/>]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")
#: elements that run, embed or fetch something
_UNSAFE_ELEMENTS = frozenset(
    {"script", "foreignobject", "iframe", "object", "embed", "image", "use", "a", "style"}
)


def _unsafe(svg: str) -> bool:
    """Whether any element of ``svg`` could run, embed or fetch something.

    Text and attribute values are escaped by vl-convert (``<`` becomes ``&lt;``, ``"``
    becomes ``&quot;``), so every ``<`` starts a real tag and every quote ends a value."""
    for _, name, rest in _TAG.findall(svg):
        if name.lower() in _UNSAFE_ELEMENTS:
            return True
        for attr, *quoted in _ATTRIBUTE.findall(rest):
            value = "".join(quoted).strip().lower()
            attr = attr.lower()
            if attr.startswith("on"):
                return True
            if attr.startswith("aria-"):  # escaped text for screen readers: cannot run
                continue
            if "javascript:" in value:
                return True
            if attr in ("href", "xlink:href", "src") and not value.startswith("#"):
                return True
            if "url(" in value and not re.fullmatch(r".*url\(\s*['\"]?#.*", value):
                return True
    return False


_ID = re.compile(r'\bid="([^"]+)"')


def restart_ids() -> None:
    """Number the next charts' ids from 1 again (a new report page: a kernel that makes
    several reports gives each the ids a report of its own would have)."""
    global _counter
    _counter = itertools.count(1)


_ID_USE = re.compile(r'(\bid="|url\(#|href="#)([^"()\s]+)')


def _unique_ids(svg: str) -> str:
    """Rename the SVG's ids so several charts can share one HTML page, and so a chart's
    bytes do not depend on what the process drew before: vl-convert numbers some ids
    (gradients, clip paths) by a counter of its own that runs across charts. Each id
    becomes ``hr<chart>-<kind><n>``, numbered in order of first use within the chart."""
    prefix = f"hr{next(_counter)}-"
    names: dict[str, str] = {}
    for name in _ID.findall(svg):
        if name not in names:
            kind = re.sub(r"[_\d]+$", "", name) or "id"
            names[name] = f"{prefix}{kind}{len(names) + 1}"

    def renamed(match: re.Match[str]) -> str:
        lead, name = match.groups()
        return lead + names.get(name, name)

    return _ID_USE.sub(renamed, svg)


def to_svg(chart: alt.TopLevelMixin) -> str:
    """Render a chart to a static SVG string (no script, no network).

    Every string in the spec is made XML-safe first (vl-convert would abort the process on
    a character XML forbids). vl-convert escapes the text it draws; as a second line of
    defence the result is refused if it contains anything that could run.
    :class:`~heron_research.errors.ChartError` when vl-convert refuses the spec or the SVG
    is refused.
    """
    import vl_convert

    from heron_research.errors import ChartError

    spec = _safe_spec(chart.to_dict(validate=False))
    try:
        svg = vl_convert.vegalite_to_svg(spec, allowed_base_urls=[])
    except ValueError as exc:  # what vl-convert raises for a spec it cannot draw
        raise ChartError(f"the chart could not be drawn ({_first_line(exc)})") from None
    if _unsafe(svg):
        raise ChartError("the rendered chart contains markup that could run; it was not used")
    return _unique_ids(svg)


def _first_line(exc: BaseException) -> str:
    """The renderer's message on one line: its first two lines (the second says why)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    line = " ".join(lines[:2]) or type(exc).__name__
    return line if len(line) <= 160 else line[:159] + "…"


def _warm_up() -> None:
    import vl_convert

    tiny = {"data": {"values": [{"x": 1}]}, "mark": "point", "encoding": {"x": {"field": "x"}}}
    vl_convert.vegalite_to_svg(tiny, allowed_base_urls=[])


def start_warm_up() -> None:
    """Start vl-convert's JavaScript engine in the background (it takes about a second),
    so the first chart does not wait for it. Safe to call more than once."""
    global _warm
    if _warm is None:
        _warm = threading.Thread(target=_warm_up, name="vl-convert warm-up", daemon=True)
        _warm.start()
