"""The whole programme in small multiples: one small line chart per measure, one above the
other, sharing the month axis (a review report's "The programme so far").

The spec is built here rather than in :mod:`heron_research.charts` only to keep this
change apart from the chart module's own; it is rendered by
:func:`heron_research.charts.to_svg` like every chart (through
:func:`heron_research.reports.common.chart`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import altair as alt
    import pandas as pd

__all__ = ["small_multiples"]

_WIDTH = 520
_PANEL_HEIGHT = 40


def _value(v: Any) -> Any:
    if hasattr(v, "strftime"):
        return v.strftime("%Y-%m-%d")
    if hasattr(v, "item"):
        v = v.item()
    return None if isinstance(v, float) and v != v else v


def small_multiples(trends: pd.DataFrame) -> alt.TopLevelMixin:
    """One panel per ``measure`` of :func:`heron_research.analysis.progress.programme_trends`
    (its own y scale), months along a shared x axis."""
    import altair as alt

    values = [
        {"start": _value(s), "measure": str(m), "value": _value(v)}
        for s, m, v in trends[["start", "measure", "value"]].itertuples(index=False, name=None)
    ]
    order = list(dict.fromkeys(str(m) for m in trends["measure"]))
    base = alt.Chart(alt.Data(values=values), description="The programme so far, by month")
    line = base.mark_line(point=True, color="#1f5f6b", strokeWidth=1.5).encode(
        x=alt.X(
            "utcyearmonth(start):T",
            title=None,
            scale=alt.Scale(type="utc"),
            axis=alt.Axis(format="%b %Y", labelAngle=0, tickCount=6),
        ),
        y=alt.Y("value:Q", title=None, axis=alt.Axis(tickCount=3), scale=alt.Scale(zero=False)),
    )
    return (
        line.properties(width=_WIDTH, height=_PANEL_HEIGHT)
        .facet(
            row=alt.Row(
                "measure:N",
                sort=order,
                title=None,
                header=alt.Header(
                    labelAngle=0,
                    labelAlign="left",
                    labelAnchor="start",
                    labelOrient="top",
                    labelFontSize=12,
                ),
            ),
            spacing=8,
        )
        .resolve_scale(y="independent")
        .configure(font="Helvetica, Arial, sans-serif")
        .configure_view(stroke=None)
        .configure_axis(labelFontSize=10, grid=True, gridColor="#e6e6e6")
    )
