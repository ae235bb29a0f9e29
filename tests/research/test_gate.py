"""The consent gate: who may enter a dataset, and only what they shared for research."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from research_helpers import AS_OF, build_workbook, consent, episode, participant_records

from heron_research.records import Sharing
from heron_research.research.gate import EXCLUSION_REASONS, consent_gate
from heron_research.research.task import extract
from heron_research.workbook import Workbook

T0 = datetime(2025, 1, 2, 9, 0, tzinfo=UTC)


def test_never_given() -> None:
    decision = consent_gate([], AS_OF)
    assert not decision.included
    assert decision.code == "no_consent"
    assert decision.reason == EXCLUSION_REASONS["no_consent"]


def test_given_to_the_current_principles() -> None:
    decision = consent_gate([consent(T0)], AS_OF)
    assert decision.included
    assert decision.levels == frozenset({Sharing.RESEARCH})


def test_research_never_given_but_other_consent_is() -> None:
    decision = consent_gate([consent(T0, research=False)], AS_OF)
    assert decision.code == "research_not_given"


def test_withdrawn() -> None:
    ledger = [consent(T0), consent(T0 + timedelta(days=30), research=False)]
    decision = consent_gate(ledger, AS_OF)
    assert not decision.included
    assert decision.code == "research_withdrawn"


def test_given_again_after_withdrawal() -> None:
    ledger = [
        consent(T0),
        consent(T0 + timedelta(days=30), research=False),
        consent(T0 + timedelta(days=60)),
    ]
    assert consent_gate(ledger, AS_OF).included
    # judged at a moment inside the withdrawal, the same ledger says no
    assert consent_gate(ledger, T0 + timedelta(days=40)).code == "research_withdrawn"


def test_changed_principles() -> None:
    ledger = [consent(T0, version="sha256:0000000000000000")]
    decision = consent_gate(ledger, AS_OF)
    assert not decision.included
    assert decision.code == "principles_changed"


def test_consent_recorded_after_the_batch_does_not_count() -> None:
    assert consent_gate([consent(AS_OF + timedelta(days=1))], AS_OF).code == "no_consent"


def _extract(path: Path) -> tuple[object, str]:
    with Workbook.open(path, readonly=True, clock=lambda: AS_OF) as wb:
        return extract(wb)


def test_only_entries_shared_for_research_are_read(tmp_path: Path) -> None:
    records, _, shared = participant_records()
    data, code = _extract(build_workbook(tmp_path / "w.heron", records))
    assert code == "included"
    episodes = data.tables["episodes"]  # type: ignore[attr-defined]
    assert sorted(episodes["episode_id"]) == sorted(e.id for e in shared)
    situations = " ".join(episodes["situation"])
    assert "Private" not in situations
    assert "Practitioner only" not in situations
    # a practitioner reaction shared at the research level is still not the client's data
    assert "impatience" not in repr(data.tables)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("ledger", "code"),
    [
        ([], "no_consent"),
        ([consent(T0), consent(T0 + timedelta(days=9), research=False)], "research_withdrawn"),
        ([consent(T0, version="sha256:1111111111111111")], "principles_changed"),
    ],
)
def test_excluded_workbooks_give_no_rows(tmp_path: Path, ledger: list, code: str) -> None:
    records = [*ledger, episode(T0 + timedelta(days=1))]
    data, found = _extract(build_workbook(tmp_path / "w.heron", records))
    assert data is None
    assert found == code


def test_consent_but_nothing_shared(tmp_path: Path) -> None:
    records = [consent(T0), episode(T0, Sharing.PRACTITIONER), episode(T0, Sharing.PRIVATE)]
    data, code = _extract(build_workbook(tmp_path / "w.heron", records))
    assert data is None
    assert code == "nothing_shared"


def test_demo_workbook_withdrawal_and_return(tmp_path: Path) -> None:
    from heron_research.demo import DemoStory, generate_demo

    path = tmp_path / "demo.heron"
    summary = generate_demo(path, seed=3, years=1.0)
    story = DemoStory(seed=3, years=1.0)
    during = story.research_withdrawn_at + timedelta(days=1)
    with Workbook.open(path, readonly=True, clock=lambda: during) as wb:
        _, code = extract(wb)
    with Workbook.open(path, readonly=True, clock=lambda: AS_OF) as wb:
        data, after = extract(wb)
        episodes = wb.records("emotion_episode")
    research_ids = {s.id for s in episodes if s.sharing is Sharing.RESEARCH}
    assert code == "research_withdrawn"
    assert after == "included"
    assert summary.private > 0
    assert set(data.tables["episodes"]["episode_id"]) == research_ids  # type: ignore[union-attr]
