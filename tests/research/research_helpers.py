"""Helpers for the research tests: small synthetic participant workbooks and file digests."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from heron_research.principles import current_principles
from heron_research.records import (
    AgendaItem,
    CheckIn,
    CoCounsellingSession,
    ConsentEntry,
    EmotionEpisode,
    FocusDecision,
    InquiryCycle,
    PeerReview,
    Person,
    PractitionerReaction,
    ProjectionHypothesis,
    Record,
    Sharing,
)
from heron_research.workbook import Workbook

R, P, X = Sharing.RESEARCH, Sharing.PRACTITIONER, Sharing.PRIVATE
#: consent in force is judged as of this moment in the tests
AS_OF = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
LONDON_SUMMER = timezone(timedelta(hours=1))


class Clock:
    """A workbook clock one second further on at every read."""

    def __init__(self, start: datetime = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def consent(when: datetime, *, research: bool = True, version: str | None = None) -> ConsentEntry:
    return ConsentEntry(
        recorded_at=when,
        principles_version=version or current_principles().version,
        training=True,
        practitioner_sharing=True,
        research=research,
    )


def episode(
    when: datetime,
    sharing: Sharing = R,
    *,
    situation: str = "A meeting ran late",
    emotions: list[dict[str, Any]] | None = None,
    people: list[str] | None = None,
    **fields: Any,
) -> EmotionEpisode:
    return EmotionEpisode(
        occurred_at=when,
        sharing=sharing,
        situation=situation,
        emotions=emotions or [{"emotion": "anger", "intensity": 6}],
        people=people or [],
        **fields,
    )


@dataclass
class Participant:
    """What was planted in a participant workbook (for assertions)."""

    path: Path
    workbook_id: str
    people: dict[str, Person]
    research_episodes: list[EmotionEpisode]


def participant_records(
    *,
    names: tuple[str, str] = ("Sam", "Priya Sharma"),
    custom_emotion: str | None = None,
    notes: str = "",
    research: bool = True,
) -> tuple[list[Record], dict[str, Person], list[EmotionEpisode]]:
    """A small but complete programme: every exported kind shared for research, plus private
    and practitioner-only entries that must never reach a dataset."""
    boss = Person(alias=names[0], relationship="manager", sharing=P)
    partner = Person(alias=names[1], relationship="partner", sharing=X)
    t0 = datetime(2025, 3, 3, 8, 15, tzinfo=UTC)  # a Monday, 08:15 UTC = 08:15 in London
    feelings = [{"emotion": "anger", "intensity": 7}, {"emotion": "fear", "intensity": 3}]
    if custom_emotion:
        feelings.append({"emotion": custom_emotion, "intensity": 5})
    shared = [
        episode(
            t0,
            situation=f"{names[0]} moved the deadline",
            emotions=feelings,
            people=[boss.id],
            notes=notes,
            self_management=[{"technique": "slow breathing", "intensity_after": 3}],
        ),
        episode(
            (t0 + timedelta(days=2, hours=11)).astimezone(LONDON_SUMMER),
            situation=f"Dinner with {names[1]}",
            emotions=[{"emotion": "joy", "intensity": 8}],
            people=[partner.id],
            proportionality=9,
        ),
    ]
    hypothesis = ProjectionHypothesis(
        sharing=R,
        opened_on=date(2025, 3, 6),
        person_id=boss.id,
        reaction=f"fury when {names[0]} changes plans",
        echoes="my father cancelling",
        unprocessed_emotion="grief",
        evidence=[
            {"episode_id": shared[0].id, "direction": "supports", "added_on": date(2025, 3, 7)}
        ],
        confidence=[{"on": date(2025, 3, 6), "confidence": 40, "status": "open"}],
        status="testing",
    )
    records: list[Record] = [
        consent(datetime(2025, 1, 2, 9, 0, tzinfo=UTC), research=research),
        boss,
        partner,
        *shared,
        episode(t0 + timedelta(days=1), P, situation=f"Practitioner only: {names[0]}"),
        episode(t0 + timedelta(days=3), X, situation=f"Private: {names[1]} and me"),
        hypothesis,
        InquiryCycle(
            sharing=R,
            question="What if I name it?",
            started_on=date(2025, 3, 10),
            ends_on=date(2025, 4, 10),
            hypothesis_id=hypothesis.id,
            episode_ids=[shared[0].id, "not-shared-episode"],
            status="acting",
        ),
        FocusDecision(
            sharing=R,
            decided_on=date(2025, 3, 4),
            topic="homework",
            decision="log daily",
            proposed_by="client",
            decided_by="autonomy",
        ),
        PeerReview(
            sharing=R,
            held_on=date(2025, 3, 20),
            period_start=date(2025, 3, 1),
            period_end=date(2025, 3, 19),
            ratings={"focus": 7, "overall": 8},
            agreed_outcome="continue",
            dissent="",
        ),
        AgendaItem(sharing=R, raised_on=date(2025, 3, 18), item_type="request", text="more time"),
        CheckIn(
            sharing=R,
            taken_at=datetime(2025, 3, 5, 21, 30, tzinfo=UTC),
            instrument="phq9",
            answers=[1, 2, 1, 0, 1, 2, 1, 0, 1],
        ),
        CoCounsellingSession(
            sharing=R,
            held_on=date(2025, 3, 22),
            peer_alias="Jo",
            minutes_as_client=30,
            minutes_as_counsellor=30,
        ),
        PractitionerReaction(sharing=R, noted_on=date(2025, 3, 5), reaction="impatience"),
    ]
    return records, {"boss": boss, "partner": partner}, shared


def build_workbook(path: Path, records: list[Record], workbook_id: str | None = None) -> Path:
    """A workbook file holding ``records`` (closed, so it is a single file)."""
    with Workbook.create(path, workbook_id=workbook_id, clock=Clock()) as wb:
        wb.save_many(records)
    return path


KEY_TEXT = b"kqV3T9-correct-horse-battery-staple-8Z1"


def key_file_in(folder: Path) -> Path:
    """The study key written to ``folder/study.key``, owner-only (as the batch demands)."""
    path = folder / "study.key"
    path.write_bytes(KEY_TEXT + b"\n")
    path.chmod(0o600)
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def digests(folder: Path) -> dict[str, str]:
    """File name -> SHA-256 for every file in a dataset folder."""
    return {p.name: sha256(p) for p in sorted(folder.iterdir())}
