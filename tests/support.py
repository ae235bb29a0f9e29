"""Plain helpers shared by the tests (import them with ``from support import ...``).

Kept out of ``conftest.py`` so that no test imports a conftest by name (there is more
than one conftest under ``tests/``).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from heron_research.principles import current_principles
from heron_research.records import (
    RECORD_TYPES,
    AgendaItem,
    AgendaResponse,
    CheckIn,
    CoCounsellingSession,
    ConsentEntry,
    EmotionEpisode,
    FocusDecision,
    InquiryCycle,
    Intervention,
    PeerReview,
    Person,
    PractitionerReaction,
    ProjectionHypothesis,
    Record,
    ReviewRating,
    validate_record,
)

#: The moment the controllable clock starts at (a Sunday in the programme's year).
CLOCK_START = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


class StepClock:
    """A workbook clock that moves one second forward every time it is read."""

    def __init__(self, start: datetime = CLOCK_START, step: timedelta = timedelta(seconds=1)):
        self.current = start
        self.step = step

    def __call__(self) -> datetime:
        now = self.current
        self.current += self.step
        return now


def episode_data(**overrides: Any) -> dict[str, Any]:
    """Form data for a valid emotion episode; ``overrides`` replace fields."""
    data: dict[str, Any] = {
        "occurred_at": "2025-03-14T18:30:00+01:00",
        "situation": "My manager moved the deadline forward in the team meeting",
        "emotions": [{"emotion": "anger", "intensity": 7}, {"emotion": "fear", "intensity": 4}],
        "body_sensations": "tight jaw",
        "thoughts": "they never ask me",
        "people": ["p-manager"],
        "what_i_did": "said nothing",
        "proportionality": 6,
        "self_management": [{"technique": "pausing before acting", "intensity_after": 4}],
        "notes": "",
    }
    data.update(overrides)
    return data


def consent_entry(
    recorded_at: datetime,
    *,
    practitioner_sharing: bool = True,
    research: bool = False,
    principles_version: str | None = None,
) -> ConsentEntry:
    return ConsentEntry(
        recorded_at=recorded_at,
        principles_version=principles_version or current_principles().version,
        training=True,
        practitioner_sharing=practitioner_sharing,
        research=research,
    )


def one_of_each_kind(*, complete: bool = True) -> list[Record]:
    """One valid record of every kind, with every list field populated."""
    episode = validate_record(EmotionEpisode, episode_data(sharing="research"))
    person = Person(alias="Sam", relationship="manager", notes="new this year")
    hypothesis = ProjectionHypothesis(
        opened_on=date(2025, 3, 16),
        person_id=person.id,
        reaction="fury when Sam changes plans",
        echoes="my father cancelling at the last minute",
        unprocessed_emotion="grief",
        prediction="I will react less when I name the echo",
        evidence=[{"episode_id": episode.id, "direction": "supports", "note": "same pattern"}],
        confidence=[
            {"on": date(2025, 3, 16), "confidence": 40, "status": "open"},
            {"on": date(2025, 4, 2), "confidence": 65},
        ],
        status="testing",
    )
    item = AgendaItem(raised_on=date(2025, 2, 20), item_type="request", text="more time on work")
    review = PeerReview(
        held_on=date(2025, 3, 1),
        period_start=date(2025, 2, 1),
        period_end=date(2025, 2, 28),
        practitioner_view="continue",
        agreed_outcome="continue",
        next_review_on=date(2025, 4, 1),
    )
    records: list[Record] = [
        consent_entry(datetime(2025, 1, 10, 9, 0, tzinfo=UTC), research=True),
        person,
        episode,
        hypothesis,
        InquiryCycle(
            question="What happens if I name my anger at work?",
            plan="Say it once a week",
            started_on=date(2025, 3, 20),
            ends_on=date(2025, 4, 20),
            hypothesis_id=hypothesis.id,
            episode_ids=[episode.id],
            reflection={"experiential": "scary", "practical": "I can do it briefly"},
            status="reflecting",
        ),
        FocusDecision(
            decided_on=date(2025, 2, 1),
            topic="homework",
            decision="log three episodes a week",
            proposed_by="client",
            decided_by="autonomy",
        ),
        item,
        review,
        AgendaResponse(
            agenda_item_id=item.id,
            responded_on=date(2025, 3, 1),
            response="agreed: the first half of each session",
            resolved=True,
            review_id=review.id,
        ),
        ReviewRating(
            review_id=review.id,
            rated_on=date(2025, 3, 1),
            ratings={"focus": 7, "overall": 8},
            client_view="continue",
            note="more say this month",
        ),
        PractitionerReaction(noted_on=date(2025, 2, 5), reaction="impatience"),
        Intervention(session_on=date(2025, 2, 5), intended="catalytic", perceived="supportive"),
        CheckIn(
            taken_at=datetime(2025, 2, 1, 8, 0, tzinfo=UTC),
            instrument="phq9",
            answers=[1, 2, 3, 0, 1, 2, 1, 1, 1],
        ),
        CoCounsellingSession(
            held_on=date(2025, 5, 1),
            peer_alias="Jo",
            minutes_as_client=30,
            minutes_as_counsellor=30,
        ),
    ]
    if complete:  # every kind has its example here
        assert sorted(r.kind for r in records) == sorted(RECORD_TYPES)
    return records


def run_nbval(
    notebooks: Sequence[Path], folder: Path, env: Mapping[str, str]
) -> subprocess.CompletedProcess[str]:
    """Run nbval (``--nbval-lax``) over ``notebooks`` in a separate pytest, from ``folder``.

    The inner pytest gets an empty config of its own so the project's settings (strict
    warnings, markers, test paths) do not apply to the notebooks' kernels.
    """
    (folder / "pytest.ini").write_text("[pytest]\n")
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-c",
            str(folder / "pytest.ini"),
            "--rootdir",
            str(folder),
            "-p",
            "no:cacheprovider",
            "--nbval-lax",
            *map(str, notebooks),
        ],
        cwd=folder,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
