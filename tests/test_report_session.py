"""Issue 14, items 2-5: the display rounding rule and the numbers a review states."""

from __future__ import annotations

import html as html_text
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from heron_research.analysis import daily
from heron_research.analysis.rounding import fixed, percent, score, signed
from heron_research.cli import main
from heron_research.demo import generate_demo
from heron_research.principles import current_principles
from heron_research.records import (
    AgendaItem,
    AgendaResponse,
    CoCounsellingSession,
    ConsentEntry,
    EmotionEpisode,
    FocusDecision,
    Intervention,
    Person,
)
from heron_research.reports import handover, review
from heron_research.reports.html import join
from heron_research.reports.registry import sections
from heron_research.workbook import Workbook


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


# The client's own words and who sees them (issue 14, item 3): the practitioner's audience
# sees them only in entries the client shared with the practitioner.

#: text planted in entries the client shared with the practitioner, by field
SHARED = {
    "thoughts": "SHARED-THOUGHT-4c1d",
    "body": "SHARED-BODY-9e20",
    "notes": "SHARED-NOTES-77ab",
    "person": "SHARED-PERSON-NOTE-3f5e",
    "worked_on": "SHARED-WORKED-ON-b802",
    "discharge": "SHARED-DISCHARGE-61c9",
    "re_evaluation": "SHARED-REEVAL-d4a7",
    "decision_notes": "SHARED-DECISION-NOTE-1a2b",
    "intervention": "SHARED-INTERVENTION-5d6e",
    "response": "SHARED-RESPONSE-0c3f",
}
#: the same fields, planted in private entries
KEPT = {field: text.replace("SHARED", "PRIVATE") for field, text in SHARED.items()}


def _plant(wb: Workbook, words: dict[str, str], sharing: str, day_: int) -> None:
    when = datetime(2025, 3, day_, 18, 30, tzinfo=UTC)
    person = wb.save(
        Person(alias=f"Alias {day_}", relationship="friend", notes=words["person"], sharing=sharing)
    ).record
    for hour in (9, 18):
        wb.save(
            EmotionEpisode(
                occurred_at=when.replace(hour=hour),
                situation=f"A moment on day {day_} at {hour}",
                emotions=[{"emotion": "anger", "intensity": 9}],
                thoughts=words["thoughts"],
                body_sensations=words["body"],
                notes=words["notes"],
                people=[person.id],
                self_management=[
                    {"technique": "breathing", "skill": "control", "intensity_after": 4}
                ],
                sharing=sharing,
            )
        )
    wb.save(
        CoCounsellingSession(
            held_on=when.date(),
            peer_alias=f"Peer {day_}",
            minutes_as_client=30,
            minutes_as_counsellor=30,
            contract="normal",
            worked_on=words["worked_on"],
            discharge=words["discharge"],
            re_evaluation=words["re_evaluation"],
            sharing=sharing,
        )
    )
    wb.save(
        FocusDecision(
            decided_on=when.date(),
            topic="homework",
            decision=f"Homework of day {day_}",
            proposed_by="client",
            decided_by="autonomy",
            notes=words["decision_notes"],
            sharing=sharing,
        )
    )
    wb.save(
        Intervention(
            session_on=when.date(),
            description=words["intervention"],
            intended="supportive",
            perceived="supportive",
            sharing=sharing,
        )
    )
    item = wb.save(
        AgendaItem(
            raised_on=when.date(),
            item_type="request",
            text=f"Request of day {day_}",
            sharing=sharing,
        )
    ).record
    wb.save(
        AgendaResponse(
            agenda_item_id=item.id,
            responded_on=when.date(),
            response=words["response"],
            resolved=False,
            sharing=sharing,
        )
    )


@pytest.fixture(scope="module")
def shared_and_private(tmp_path_factory: pytest.TempPathFactory) -> Path:
    book = tmp_path_factory.mktemp("audience") / "both.heron"
    with Workbook.create(book) as wb:
        wb.save(
            ConsentEntry(
                recorded_at=datetime(2025, 1, 2, 9, 0, tzinfo=UTC),
                principles_version=current_principles().version,
                training=True,
                practitioner_sharing=True,
                research=False,
                sharing="practitioner",
            )
        )
        _plant(wb, SHARED, "practitioner", 10)
        _plant(wb, KEPT, "private", 11)
    return book


def _whole(book: Path, kind: str, audience: str) -> str:
    """Every section of a ``kind`` report on ``book`` for ``audience``, as visible text."""
    module = review if kind == "review" else handover
    ctx = module.load(book, audience=audience, since="start", until="2025-12-31")
    return _text(join([spec(ctx) for spec in sections(kind)]))


@pytest.mark.parametrize("kind", ["review", "handover"])
def test_the_practitioner_sees_the_clients_words_only_where_shared(
    shared_and_private: Path, kind: str
) -> None:
    practitioner = _whole(shared_and_private, kind, "practitioner")
    client = _whole(shared_and_private, kind, "client")
    leaked = [text for text in KEPT.values() if text in practitioner]
    assert leaked == []
    if kind == "review":  # the client's review shows every field, shared or private
        for words in (SHARED, KEPT):
            missing = [field for field, text in words.items() if text not in client]
            assert missing == []
        missing = [field for field, text in SHARED.items() if text not in practitioner]
        assert missing == []
    else:  # the hand-over: whatever it shows the client of the shared entries, the
        # practitioner sees too, and none of the private ones
        seen = [t for t in SHARED.values() if t in practitioner]
        assert seen and seen == [t for t in SHARED.values() if t in client]
