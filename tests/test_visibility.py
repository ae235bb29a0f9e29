"""Who sees what: each audience under each consent state, alone and through the store."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from heron_research.principles import current_principles
from heron_research.records import ConsentEntry, EmotionEpisode, InquiryCycle, Person, Sharing
from heron_research.records.consent import consent_state
from heron_research.visibility import Audience, is_visible, visible_levels
from heron_research.workbook import Workbook

pytestmark = pytest.mark.unit

PRIVATE, PRACTITIONER, RESEARCH = Sharing.PRIVATE, Sharing.PRACTITIONER, Sharing.RESEARCH
ALL = frozenset(Sharing)
NONE: frozenset[Sharing] = frozenset()

T1 = datetime(2025, 1, 10, 9, 0, tzinfo=UTC)
T2 = datetime(2025, 4, 1, 9, 0, tzinfo=UTC)
LATER = datetime(2025, 5, 1, 9, 0, tzinfo=UTC)
OLD_PRINCIPLES = "sha256:0000000000000000"


def entry(
    at: datetime,
    *,
    practitioner_sharing: bool = True,
    research: bool = False,
    version: str | None = None,
) -> ConsentEntry:
    return ConsentEntry(
        recorded_at=at,
        principles_version=version or current_principles().version,
        training=True,
        practitioner_sharing=practitioner_sharing,
        research=research,
    )


CONSENT_CASES: dict[str, tuple[list[ConsentEntry], dict[str, frozenset[Sharing]]]] = {
    "no consent recorded": ([], {"client": ALL, "practitioner": NONE, "research": NONE}),
    "practitioner sharing on": (
        [entry(T1)],
        {"client": ALL, "practitioner": frozenset({PRACTITIONER, RESEARCH}), "research": NONE},
    ),
    "practitioner sharing off": (
        [entry(T1, practitioner_sharing=False)],
        {"client": ALL, "practitioner": NONE, "research": NONE},
    ),
    "research on": (
        [entry(T1, research=True)],
        {
            "client": ALL,
            "practitioner": frozenset({PRACTITIONER, RESEARCH}),
            "research": frozenset({RESEARCH}),
        },
    ),
    "research on, practitioner sharing off": (
        [entry(T1, practitioner_sharing=False, research=True)],
        {"client": ALL, "practitioner": NONE, "research": frozenset({RESEARCH})},
    ),
    "research withdrawn by a later entry": (
        [entry(T1, research=True), entry(T2, research=False)],
        {"client": ALL, "practitioner": frozenset({PRACTITIONER, RESEARCH}), "research": NONE},
    ),
    "research withdrawn, entries out of order": (
        [entry(T2, research=False), entry(T1, research=True)],
        {"client": ALL, "practitioner": frozenset({PRACTITIONER, RESEARCH}), "research": NONE},
    ),
    "research given again after a withdrawal": (
        [entry(T1, research=True), entry(T2, research=False), entry(LATER, research=True)],
        {
            "client": ALL,
            "practitioner": frozenset({PRACTITIONER, RESEARCH}),
            "research": frozenset({RESEARCH}),
        },
    ),
    "everything withdrawn": (
        [entry(T1, research=True), entry(T2, practitioner_sharing=False)],
        {"client": ALL, "practitioner": NONE, "research": NONE},
    ),
    "research consented to older principles": (
        [entry(T1, research=True, version=OLD_PRINCIPLES)],
        {"client": ALL, "practitioner": frozenset({PRACTITIONER, RESEARCH}), "research": NONE},
    ),
}


@pytest.mark.parametrize("audience", ["client", "practitioner", "research"])
@pytest.mark.parametrize("case", list(CONSENT_CASES))
def test_visible_levels_for_each_audience_and_consent(case: str, audience: str) -> None:
    ledger, expected = CONSENT_CASES[case]
    state = consent_state(ledger, as_of=LATER + timedelta(days=1))

    levels = visible_levels(audience, state)

    assert levels == expected[audience]
    for level in Sharing:
        assert is_visible(level, audience, state) is (level in expected[audience])
        assert is_visible(level.value, Audience(audience), state) is (level in expected[audience])


def test_consent_in_force_is_the_latest_entry_at_that_moment() -> None:
    ledger = [entry(T1, research=True), entry(T2, research=False)]

    before_any = consent_state(ledger, as_of=T1 - timedelta(seconds=1))
    between = consent_state(ledger, as_of=T2 - timedelta(seconds=1))
    at_withdrawal = consent_state(ledger, as_of=T2)

    assert visible_levels("research", before_any) == NONE
    assert visible_levels("practitioner", before_any) == NONE
    assert visible_levels("research", between) == {RESEARCH}
    assert visible_levels("research", at_withdrawal) == NONE


def test_older_principles_need_renewal() -> None:
    state = consent_state([entry(T1, research=True, version=OLD_PRINCIPLES)], as_of=LATER)

    assert state.given
    assert not state.principles_current
    assert state.needs_renewal
    assert not state.research
    assert "renewal due" in state.describe()
    assert OLD_PRINCIPLES in state.describe()


def test_consent_description_names_the_scopes() -> None:
    state = consent_state([entry(T1, research=True)], as_of=LATER)

    text = state.describe()

    assert "sharing with the practitioner" in text
    assert "anonymised research" in text
    assert "the current principles" in text
    assert consent_state([], as_of=LATER).describe() == "No consent has been recorded."


def test_unknown_audience_is_refused() -> None:
    with pytest.raises(ValueError) as caught:
        visible_levels("public", consent_state([], as_of=LATER))

    assert "public" in str(caught.value)


# --- through the store --------------------------------------------------------------------

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def shared_workbook(tmp_path: Any) -> Iterator[Seeded]:
    """A workbook (clock fixed at NOW) with one person and one episode at each sharing level."""
    wb = Workbook.create(tmp_path / "shared.heron", clock=lambda: NOW)
    ids: dict[str, dict[Sharing, str]] = {"person": {}, "emotion_episode": {}}
    for level in Sharing:
        person = Person(alias=f"{level.value} person", sharing=level)
        episode = EmotionEpisode(
            occurred_at=datetime(2025, 3, 14, 18, 30, tzinfo=UTC),
            situation=f"{level.value} episode",
            emotions=[{"emotion": "anger", "intensity": 5}, {"emotion": "fear", "intensity": 2}],
            people=[person.id],  # the practitioner sees a person only as an entry names them
            sharing=level,
        )
        wb.save_many([person, episode])
        ids["person"][level] = person.id
        ids["emotion_episode"][level] = episode.id
    yield Seeded(wb, ids)
    wb.close()


@dataclass
class Seeded:
    """A workbook and the ids of the records a fixture put in it."""

    wb: Workbook
    ids: dict[str, Any]


def visible_ids(wb: Workbook, kind: str, audience: str, **kwargs: Any) -> set[str]:
    return {s.id for s in wb.records(kind, audience=audience, **kwargs)}


def expected_ids(seeded: Seeded, kind: str, levels: set[Sharing]) -> set[str]:
    return {seeded.ids[kind][level] for level in levels}


LEDGERS: dict[str, list[ConsentEntry]] = {
    "none": [],
    "practitioner only": [entry(T1)],
    "practitioner off": [entry(T1, practitioner_sharing=False)],
    "research on": [entry(T1, research=True)],
    "research withdrawn": [entry(T1, research=True), entry(T2, research=False)],
    "older principles": [entry(T1, research=True, version=OLD_PRINCIPLES)],
    "consent recorded after now": [entry(NOW + timedelta(days=1), research=True)],
}

EXPECTED: dict[str, dict[str, set[Sharing]]] = {
    "none": {"client": set(Sharing), "practitioner": set(), "research": set()},
    "practitioner only": {
        "client": set(Sharing),
        "practitioner": {PRACTITIONER, RESEARCH},
        "research": set(),
    },
    "practitioner off": {"client": set(Sharing), "practitioner": set(), "research": set()},
    "research on": {
        "client": set(Sharing),
        "practitioner": {PRACTITIONER, RESEARCH},
        "research": {RESEARCH},
    },
    "research withdrawn": {
        "client": set(Sharing),
        "practitioner": {PRACTITIONER, RESEARCH},
        "research": set(),
    },
    "older principles": {
        "client": set(Sharing),
        "practitioner": {PRACTITIONER, RESEARCH},
        "research": set(),
    },
    "consent recorded after now": {
        "client": set(Sharing),
        "practitioner": set(),
        "research": set(),
    },
}


@pytest.mark.parametrize("ledger", list(LEDGERS))
@pytest.mark.parametrize("kind", ["person", "emotion_episode"])
def test_store_records_per_audience(shared_workbook: Seeded, ledger: str, kind: str) -> None:
    seeded = shared_workbook
    wb = seeded.wb
    wb.save_many(LEDGERS[ledger])

    for audience, levels in EXPECTED[ledger].items():
        assert visible_ids(wb, kind, audience) == expected_ids(seeded, kind, levels), audience
        assert wb.visible_levels(audience) == frozenset(levels), audience


def test_the_practitioner_sees_a_person_only_as_an_entry_they_see_names_them(
    shared_workbook: Seeded,
) -> None:
    wb = shared_workbook.wb
    wb.save(entry(T1))
    unnamed = wb.save(Person(alias="unnamed", sharing=Sharing.PRACTITIONER)).record
    named_privately = wb.save(Person(alias="private mention", sharing=Sharing.PRACTITIONER)).record
    wb.save(
        EmotionEpisode(
            situation="only me",
            emotions=[{"emotion": "joy", "intensity": 1}],
            people=[named_privately.id],
        )
    )
    shown = visible_ids(wb, "person", "practitioner")
    assert shown == expected_ids(shared_workbook, "person", {PRACTITIONER, RESEARCH})
    assert unnamed.id in visible_ids(wb, "person", "client")
    assert wb.withheld_count("person", "practitioner") == 3  # private, unnamed, named privately
    rows = {r.id for r in wb.raw_rows(["person"], "practitioner")}
    assert rows == shown


@pytest.mark.parametrize("ledger", list(LEDGERS))
def test_store_frames_per_audience(shared_workbook: Seeded, ledger: str) -> None:
    seeded = shared_workbook
    wb = seeded.wb
    wb.save_many(LEDGERS[ledger])

    for audience, levels in EXPECTED[ledger].items():
        wanted = expected_ids(seeded, "emotion_episode", levels)
        episodes = wb.frame("emotion_episode", audience=audience)
        emotions = wb.frame("emotion_episode.emotions", audience=audience)
        people = wb.frame("person", audience=audience)
        assert set(episodes["id"]) == wanted, audience
        assert set(episodes["sharing"].astype(str)) == {s.value for s in levels}, audience
        assert set(emotions["emotion_episode_id"]) == wanted, audience
        assert len(emotions) == 2 * len(wanted), audience
        assert set(people["id"]) == expected_ids(seeded, "person", levels), audience


def test_withdrawal_hides_research_records_from_then_on(shared_workbook: Seeded) -> None:
    seeded = shared_workbook
    wb = seeded.wb
    wb.save(entry(T1, research=True))
    assert visible_ids(wb, "emotion_episode", "research") == {
        seeded.ids["emotion_episode"][RESEARCH]
    }

    wb.save(entry(T2, research=False))

    assert visible_ids(wb, "emotion_episode", "research") == set()
    assert wb.frame("emotion_episode", audience="research").empty
    assert wb.consent().entry is not None and wb.consent().entry.recorded_at == T2


def test_deleting_the_withdrawal_brings_research_consent_back(shared_workbook: Seeded) -> None:
    seeded = shared_workbook
    wb = seeded.wb
    wb.save(entry(T1, research=True))
    withdrawal = entry(T2, research=False)
    wb.save(withdrawal)

    wb.delete(withdrawal.id)

    assert visible_ids(wb, "emotion_episode", "research") == {
        seeded.ids["emotion_episode"][RESEARCH]
    }


@pytest.mark.parametrize("audience", ["client", "practitioner", "research"])
def test_deleted_records_are_excluded_for_every_audience(
    shared_workbook: Seeded, audience: str
) -> None:
    seeded = shared_workbook
    wb = seeded.wb
    wb.save(entry(T1, research=True))
    research_episode = seeded.ids["emotion_episode"][RESEARCH]

    wb.delete(research_episode)

    assert research_episode not in visible_ids(wb, "emotion_episode", audience)
    assert research_episode not in set(wb.frame("emotion_episode", audience=audience)["id"])
    emotions = wb.frame("emotion_episode.emotions", audience=audience)
    assert research_episode not in set(emotions["emotion_episode_id"])


def test_only_the_client_may_ask_for_deleted_records(shared_workbook: Seeded) -> None:
    seeded = shared_workbook
    wb = seeded.wb
    wb.save(entry(T1, research=True))
    episode_id = seeded.ids["emotion_episode"][RESEARCH]
    wb.delete(episode_id)

    assert episode_id in visible_ids(wb, "emotion_episode", "client", include_deleted=True)
    with pytest.raises(ValueError) as caught:
        wb.records("emotion_episode", audience="research", include_deleted=True)

    assert "only the client's view" in str(caught.value)


# --- period filters ----------------------------------------------------------------------

CET = timezone(timedelta(hours=1))


@pytest.fixture
def dated_workbook(tmp_path: Any) -> Iterator[Seeded]:
    """Episodes either side of a local midnight, a dated inquiry cycle, and a person."""
    wb = Workbook.create(tmp_path / "dated.heron", clock=lambda: NOW)
    emotions = [{"emotion": "joy", "intensity": 3}]
    # late on the 14th, local time (UTC: 22:30 on the 14th)
    late = EmotionEpisode(
        occurred_at=datetime(2025, 3, 14, 23, 30, tzinfo=CET), situation="late", emotions=emotions
    )
    # just after local midnight on the 15th (UTC: 23:30 on the 14th)
    early = EmotionEpisode(
        occurred_at=datetime(2025, 3, 15, 0, 30, tzinfo=CET), situation="early", emotions=emotions
    )
    start = EmotionEpisode(
        occurred_at=datetime(2025, 3, 1, 0, 0, tzinfo=CET), situation="start", emotions=emotions
    )
    cycle = InquiryCycle(question="q", started_on=date(2025, 3, 10))
    person = Person(alias="Sam")
    wb.save_many([late, early, start, cycle, person])
    ids = {"late": late.id, "early": early.id, "start": start.id, "cycle": cycle.id}
    yield Seeded(wb, ids | {"person": person.id})
    wb.close()


@pytest.mark.parametrize(
    ("since", "until", "expected"),
    [
        (None, None, {"late", "early", "start"}),
        (None, date(2025, 3, 14), {"late", "start"}),
        (date(2025, 3, 15), None, {"early"}),
        (date(2025, 3, 14), date(2025, 3, 14), {"late"}),
        (date(2025, 3, 15), date(2025, 3, 15), {"early"}),
        (date(2025, 3, 1), date(2025, 3, 1), {"start"}),
        (date(2025, 3, 2), date(2025, 3, 13), set()),
        (date(2025, 3, 16), None, set()),
    ],
)
def test_period_filters_use_the_local_day_inclusively(
    dated_workbook: Seeded, since: date | None, until: date | None, expected: set[str]
) -> None:
    seeded = dated_workbook
    wb = seeded.wb
    wanted = {seeded.ids[name] for name in expected}

    found = visible_ids(wb, "emotion_episode", "client", since=since, until=until)
    frame = wb.frame("emotion_episode", since=since, until=until)

    assert found == wanted
    assert set(frame["id"]) == wanted


@pytest.mark.parametrize(
    ("since", "until", "included"),
    [
        (date(2025, 3, 10), date(2025, 3, 10), True),
        (date(2025, 3, 11), None, False),
        (None, date(2025, 3, 9), False),
    ],
)
def test_period_filters_dated_kinds(
    dated_workbook: Seeded, since: date | None, until: date | None, included: bool
) -> None:
    seeded = dated_workbook
    wb = seeded.wb

    found = visible_ids(wb, "inquiry_cycle", "client", since=since, until=until)

    assert (seeded.ids["cycle"] in found) is included


@pytest.mark.parametrize(
    ("since", "until"), [(date(2030, 1, 1), None), (None, date(1999, 1, 1)), (None, None)]
)
def test_undated_kinds_are_always_in_the_period(
    dated_workbook: Seeded, since: date | None, until: date | None
) -> None:
    seeded = dated_workbook
    wb = seeded.wb

    assert visible_ids(wb, "person", "client", since=since, until=until) == {seeded.ids["person"]}
    assert set(wb.frame("person", since=since, until=until)["id"]) == {seeded.ids["person"]}


def test_period_and_audience_combine(
    dated_workbook: Seeded, make_consent: Callable[..., Any]
) -> None:
    seeded = dated_workbook
    wb = seeded.wb
    wb.save(make_consent(T1, research=True))
    shared = EmotionEpisode(
        occurred_at=datetime(2025, 3, 14, 12, 0, tzinfo=CET),
        situation="shared",
        emotions=[{"emotion": "joy", "intensity": 3}],
        sharing="research",
    )
    wb.save(shared)

    found = visible_ids(
        wb, "emotion_episode", "research", since=date(2025, 3, 14), until=date(2025, 3, 14)
    )

    assert found == {shared.id}
