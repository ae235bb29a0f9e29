"""Issue 14, items 2-5: the display rounding rule and the numbers a review states."""

from __future__ import annotations

import html as html_text
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from heron_research.analysis import daily
from heron_research.analysis.rounding import fixed, percent, score, signed
from heron_research.cli import main
from heron_research.demo import generate_demo
from heron_research.reports import review


def test_halves_round_up_in_display() -> None:
    assert f"{4.25:.1f}" == "4.2"  # what Python does, and what the reports no longer print
    assert fixed(4.25) == "4.3"
    assert fixed(2.675, 2) == "2.68"
    assert fixed(-4.25) == "-4.3"
    assert fixed(float("nan")) == ""
    assert percent(0.125) == "13%"
    assert (score(12.0), score(3.25), signed(-6.0), signed(3.0), signed(0.0)) == (
        "12",
        "3.25",
        "-6",
        "+3",
        "0",
    )


def test_episodes_per_family_and_word_match_plain_pandas() -> None:
    emotions = pd.DataFrame(
        {
            "emotion_episode_id": ["a", "a", "b", "c", "c"],
            "emotion": ["anger", "irritation", "anger", "fear", "anger"],
            "intensity": [5, 3, 7, 2, 4],
        }
    )
    words = daily.episodes_per_word(emotions).set_index("emotion")["episodes"].to_dict()
    assert words == emotions.groupby("emotion")["emotion_episode_id"].nunique().to_dict()
    families = daily.episodes_per_family(emotions).set_index("family")["episodes"].to_dict()
    family = emotions["emotion"].map(daily.emotion_family)
    assert families == emotions.groupby(family)["emotion_episode_id"].nunique().to_dict()
    assert families[daily.emotion_family("anger")] == 3  # a, b, c: a counts once


# The numbers check (issue 14, item 4): the client's review of the demo, its sentences and
# tables against plain pandas on the workbook's export JSON.


@pytest.fixture(scope="module")
def demo_export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, pd.DataFrame]]:
    """The demo workbook and its export, one frame of record data per kind (live records)."""
    root = tmp_path_factory.mktemp("numbers")
    book = root / "demo.heron"
    generate_demo(book, seed=7, years=1.0)
    out = root / "demo.json"
    with pytest.raises(SystemExit) as done:
        main(["export", str(book), "--out", str(out)])
    assert done.value.code == 0
    exported = json.loads(out.read_text(encoding="utf-8"))
    rows: dict[str, list[dict[str, Any]]] = {}
    for record in exported["records"]:
        if record["deleted_at"] is None:
            rows.setdefault(record["kind"], []).append(record["data"])
    return book, {kind: pd.DataFrame(data) for kind, data in rows.items()}


def _text(shown: object) -> str:
    """A section's visible text, tags dropped and entities read, spaces collapsed."""
    return " ".join(html_text.unescape(re.sub(r"<[^>]+>", " ", str(shown))).split())


def _local_day(values: pd.Series) -> pd.Series:
    local = datetime.now().astimezone().tzinfo
    return pd.to_datetime(values, utc=True).dt.tz_convert(local).dt.date


def test_the_client_review_numbers_match_plain_pandas_on_the_export(
    demo_export: tuple[Path, dict[str, pd.DataFrame]],
) -> None:
    book, data = demo_export
    ctx = review.load(book, audience="client")
    assert ctx.since is not None  # the default period: since the last peer review
    in_period = ctx.in_period

    # Before and after per technique, in the episodes of the period.
    episodes = data["emotion_episode"]
    episodes = episodes[_local_day(episodes["occurred_at"]).map(in_period)]
    used = episodes[["id", "self_management"]].explode("self_management").dropna()
    used = pd.concat(
        [used["id"].reset_index(drop=True), pd.json_normalize(used["self_management"].tolist())],
        axis=1,
    )
    assert not used.empty
    per = used.groupby("technique").agg(
        n=("intensity_after", "size"),
        before=("intensity_before", "mean"),
        after=("intensity_after", "mean"),
    )
    shown = _text(review.self_management(ctx))
    assert f"Self-management recorded in {used['id'].nunique()} of {len(episodes)} episodes" in (
        shown
    )
    for technique, row in per.iterrows():
        assert re.search(
            re.escape(technique)
            + r" \w+ "
            + rf"{int(row.n)} {re.escape(fixed(row.before))} → {re.escape(fixed(row.after))}",
            shown,
        ), (technique, row.to_dict(), shown)

    # Decision shares, in the decisions of the period.
    decided = data["focus_decision"]
    decided = decided[pd.to_datetime(decided["decided_on"]).dt.date.map(in_period)]
    counts = decided["decided_by"].value_counts()
    assert len(decided) > 0
    assert (
        f"Of {len(decided)} decision{'s' if len(decided) != 1 else ''}: "
        f"{counts.get('autonomy', 0)} by me (autonomy), {counts.get('co-operation', 0)} "
        f"together (co-operation), {counts.get('hierarchy', 0)} by the practitioner "
        "(hierarchy)."
    ) in _text(review.decisions(ctx))

    # The latest check-in of each measure, up to the report's last day.
    checks = data["check_in"]
    checks = checks[_local_day(checks["taken_at"]) <= ctx.until].sort_values("taken_at")
    latest = checks.groupby("instrument").tail(1).set_index("instrument")
    firsts = checks.groupby("instrument").head(1).set_index("instrument")
    counted = checks["instrument"].value_counts()
    shown = _text(review.check_ins(ctx))
    for instrument, row in latest.iterrows():
        # PHQ-9 and GAD-7: the sum of the answers; wellbeing: their mean (0-10)
        plain = pd.Series.mean if instrument == "wellbeing" else pd.Series.sum
        total = float(plain(pd.Series(row.answers)))
        first = float(plain(pd.Series(firsts.loc[instrument, "answers"])))
        assert re.search(
            rf"{counted[instrument]} {re.escape(score(first))} {re.escape(score(total))} \(",
            shown,
        ), (instrument, total, shown)
