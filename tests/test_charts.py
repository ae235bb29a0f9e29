"""Chart builders, tested on their Vega-Lite spec (``chart.to_dict()``, validated by altair),
and the SVG renderer on what reaches the page."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import pytest

from heron_research import charts

pytestmark = pytest.mark.unit


def layers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return spec.get("layer", [spec])


def mark(spec: dict[str, Any]) -> str:
    m = spec["mark"]
    return m if isinstance(m, str) else m["type"]


def test_episodes_over_time() -> None:
    weekly = pd.DataFrame(
        {
            "week": pd.to_datetime(["2025-03-03", "2025-03-10"]),
            "episodes": [2, 0],
            "mean_peak": [6.5, float("nan")],
        }
    )

    spec = charts.episodes_over_time(weekly).to_dict()

    assert mark(spec) == "bar"
    assert spec["encoding"]["x"]["field"] == "week"
    assert spec["encoding"]["x"]["type"] == "temporal"
    assert spec["encoding"]["x"]["scale"] == {"type": "utc"}
    assert spec["encoding"]["y"]["field"] == "episodes"
    assert spec["data"]["values"] == [
        {"week": "2025-03-03", "episodes": 2, "mean_peak": 6.5},
        {"week": "2025-03-10", "episodes": 0, "mean_peak": None},
    ]


def test_emotion_families_stack_by_band_in_order() -> None:
    table = pd.DataFrame(
        {
            "family": ["anger", "anger", "fear"],
            "band": ["mild (0-3)", "strong (7-10)", "moderate (4-6)"],
            "mentions": [1, 1, 1],
        }
    )

    spec = charts.emotion_families(table).to_dict()

    enc = spec["encoding"]
    assert (enc["y"]["field"], enc["y"]["sort"]) == ("family", ["anger", "fear"])
    assert enc["x"]["field"] == "mentions"
    assert enc["color"]["scale"]["domain"] == ["mild (0-3)", "moderate (4-6)", "strong (7-10)"]
    assert len(spec["data"]["values"]) == 3


def test_when_heat_map_has_counts_on_top() -> None:
    when = pd.DataFrame(
        {"weekday": ["Mon", "Tue"], "part": ["morning", "evening"], "episodes": [3, 1]}
    )

    spec = charts.when_episodes_happen(when).to_dict()

    assert [mark(layer) for layer in layers(spec)] == ["rect", "text"]
    heat, text = spec["layer"]
    assert heat["encoding"]["x"]["sort"] == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    assert heat["encoding"]["y"]["sort"] == ["night", "morning", "afternoon", "evening"]
    assert heat["encoding"]["color"]["field"] == "episodes"
    assert text["encoding"]["text"]["field"] == "episodes"
    assert spec["data"]["values"][0] == {"weekday": "Mon", "part": "morning", "episodes": 3}


def test_technique_effects_show_only_techniques_with_enough_data() -> None:
    effects = pd.DataFrame(
        {
            "technique": ["slow breathing", "storming"],
            "skill": ["control", "catharsis"],
            "n": [5, 2],
            "mean_drop": [2.8, 5.0],
            "ci_low": [1.44, None],
            "ci_high": [4.16, None],
            "enough": [True, False],
        }
    )

    spec = charts.technique_effects(effects).to_dict()

    marks = [mark(layer) for layer in layers(spec)]
    assert marks == ["rule", "point", "rule"]
    interval = spec["layer"][0]["encoding"]
    assert (interval["x"]["field"], interval["x2"]["field"]) == ("ci_low", "ci_high")
    assert [v["technique"] for v in spec["layer"][0]["data"]["values"]] == ["slow breathing"]


def test_decision_share_is_a_normalised_stack_by_month() -> None:
    share = pd.DataFrame(
        {
            "month": ["January 2025"] * 3,
            "start": pd.to_datetime(["2025-01-01"] * 3),
            "decided_by": ["autonomy", "co-operation", "hierarchy"],
            "decisions": [1, 2, 1],
            "share": [0.25, 0.5, 0.25],
        }
    )

    spec = charts.decision_share(share).to_dict()

    assert spec["encoding"]["y"]["stack"] == "normalize"
    assert spec["encoding"]["x"]["timeUnit"] == "utcyearmonth"
    assert spec["encoding"]["color"]["scale"]["domain"] == ["autonomy", "co-operation", "hierarchy"]
    assert spec["data"]["values"][0]["start"] == "2025-01-01"


@pytest.mark.parametrize(
    ("builder", "table", "fields"),
    [
        (
            charts.situation_words,
            pd.DataFrame({"word": ["meeting", "late"], "episodes": [4, 2]}),
            {"y": "word", "x": "episodes"},
        ),
        (
            charts.skills_used,
            pd.DataFrame({"skill": ["control"], "technique": ["slow breathing"], "uses": [3]}),
            {"y": "technique", "x": "uses", "color": "skill"},
        ),
        (
            charts.proportionality,
            pd.DataFrame(
                {
                    "month": ["March 2025"],
                    "start": pd.to_datetime(["2025-03-01"]),
                    "rated": [2],
                    "mean": [4.0],
                }
            ),
            {"x": "start", "y": "mean"},
        ),
        (
            charts.hypothesis_confidence,
            pd.DataFrame(
                {
                    "hypothesis": ["H1: fury"],
                    "on": pd.to_datetime(["2025-03-01"]),
                    "confidence": [40],
                }
            ),
            {"x": "on", "y": "confidence", "color": "hypothesis"},
        ),
        (
            charts.checkin_scores,
            pd.DataFrame(
                {
                    "name": ["PHQ-9 (depression)"],
                    "taken_at": pd.to_datetime(["2025-03-01 08:00"]),
                    "score": [12.0],
                    "band": ["moderate"],
                }
            ),
            {"x": "taken_at", "y": "score", "color": "name"},
        ),
        (
            charts.review_ratings,
            pd.DataFrame(
                {"held_on": pd.to_datetime(["2025-03-01"]), "rating": ["focus"], "value": [7]}
            ),
            {"x": "held_on", "y": "value", "color": "rating"},
        ),
        (
            charts.people,
            pd.DataFrame(
                {
                    "person": ["Sam"],
                    "relationship": ["manager"],
                    "episodes": [4],
                    "mean_peak": [7.5],
                }
            ),
            {"y": "person", "x": "episodes", "color": "mean_peak"},
        ),
    ],
)
def test_builders_encode_their_fields(
    builder: Any, table: pd.DataFrame, fields: dict[str, str]
) -> None:
    spec = builder(table).to_dict()

    for channel, field in fields.items():
        assert spec["encoding"][channel]["field"] == field
    assert len(spec["data"]["values"]) == len(table)


def test_intervention_heat_map_lists_all_six_categories() -> None:
    pairs = pd.DataFrame(
        {"intended": ["catalytic"], "perceived": ["supportive"], "interventions": [2]}
    )

    spec = charts.intervention_agreement(pairs).to_dict()

    categories = [
        "prescriptive",
        "informative",
        "confronting",
        "cathartic",
        "catalytic",
        "supportive",
    ]
    heat = spec["layer"][0]["encoding"]
    assert (heat["x"]["field"], heat["y"]["field"]) == ("perceived", "intended")
    assert heat["x"]["scale"]["domain"] == categories
    assert heat["y"]["scale"]["domain"] == categories


def test_to_svg_escapes_client_text() -> None:
    words = pd.DataFrame(
        {
            "word": ["<script>window.__pwned=1</script>", '<img src=x onerror="alert(1)">', "a&b"],
            "episodes": [3, 2, 2],
        }
    )

    svg = charts.to_svg(charts.situation_words(words))

    assert svg.lstrip().startswith("<svg")
    assert "<script" not in svg.lower()
    assert "<img" not in svg.lower()
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in svg
    assert "a&amp;b" in svg


@pytest.mark.parametrize(
    "svg",
    [
        '<svg onload="alert(1)"></svg>',
        "<svg><script>alert(1)</script></svg>",
        '<svg><a href="javascript:alert(1)"><text>x</text></a></svg>',
        '<svg><image href="https://example.org/x.png"/></svg>',
        "<svg><foreignObject><p>x</p></foreignObject></svg>",
    ],
)
def test_to_svg_refuses_markup_that_could_run(monkeypatch: pytest.MonkeyPatch, svg: str) -> None:
    import vl_convert

    monkeypatch.setattr(vl_convert, "vegalite_to_svg", lambda *a, **k: svg)
    chart = charts.situation_words(pd.DataFrame({"word": ["x"], "episodes": [1]}))

    with pytest.raises(ValueError, match="could run"):
        charts.to_svg(chart)


def test_svg_ids_are_unique_across_charts() -> None:
    weekly = pd.DataFrame(
        {"week": pd.to_datetime(["2025-03-03"]), "episodes": [1], "mean_peak": [5.0]}
    )
    first = charts.to_svg(charts.episodes_over_time(weekly))
    second = charts.to_svg(charts.episodes_over_time(weekly))

    ids = re.findall(r'\bid="([^"]+)"', first + second)
    assert len(ids) == len(set(ids))
    for ref in re.findall(r"url\(#([^)]+)\)", first + second):
        assert ref in ids
