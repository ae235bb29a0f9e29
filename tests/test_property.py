"""Property tests: whatever validates is stored and read back unchanged; validation never
raises anything but :class:`RecordValidationError`, and every problem names a field."""

from __future__ import annotations

import string
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from heron_research.errors import RecordValidationError
from heron_research.records import (
    RECORD_TYPES,
    CheckIn,
    EmotionEpisode,
    Person,
    ProjectionHypothesis,
    Record,
    validate_record,
)
from heron_research.records.models import RELATIONSHIPS
from heron_research.records.scoring import INSTRUMENTS
from heron_research.vocab import SKILLS, emotions, normalise_term, techniques
from heron_research.workbook import Workbook

pytestmark = pytest.mark.unit

ROUND_TRIP = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- text --------------------------------------------------------------------------------

FRAGMENTS = [
    "'; DROP TABLE records; --",
    'Robert"); DELETE FROM revisions WHERE 1=1; --',
    "<script>alert('x')</script>",
    "<b>bold</b> &amp; &lt;escaped&gt;",
    "{{ template }} ${injection} %s %(name)s",
    "\u202eright-to-left override\u202c",
    "שלום, מה שלומך?",
    "مرحبا بالعالم",
    "👩‍👩‍👧‍👦 🇳🇱 🧘🏽‍♀️",
    "e\u0301 (combining accent) ﬁ ligature",
    "\x00nul\x00",
    "\x1b[31mred\x1b[0m",
    "line one\r\nline two\n\ttabbed",
    "\u200b zero width \ufeff bom",
    "null",
    "None",
    "[]",
    '{"json": true}',
    "\\N \\u0000 \\\\",
]

# any character but lone surrogates (text must be valid Unicode to be text at all)
ANY_CHAR = st.characters(blacklist_categories=("Cs",))


def free_text(max_size: int = 200) -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(ANY_CHAR, max_size=max_size),
        st.sampled_from(FRAGMENTS),
        st.lists(st.sampled_from(FRAGMENTS) | st.text(ANY_CHAR, max_size=10), max_size=4).map(
            "".join
        ),
    ).map(lambda text: text[:max_size])


def filled_text(max_size: int = 200) -> st.SearchStrategy[str]:
    """Text that is not empty once surrounding white space is trimmed."""
    return st.tuples(st.sampled_from(string.ascii_letters + "éשم👩"), free_text(max_size - 2)).map(
        "".join
    )


ids = st.text(string.ascii_letters + string.digits + "-_", min_size=1, max_size=40)
sharing = st.sampled_from(["private", "practitioner", "research"])

# --- times -------------------------------------------------------------------------------

#: whole-minute offsets from -23:59 to +23:59, and zones that had only such offsets
WHOLE_MINUTE_ZONES = st.one_of(
    st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(lambda m: timezone(timedelta(minutes=m))),
    st.sampled_from([UTC, ZoneInfo("UTC")]),
)

times = st.datetimes(
    min_value=datetime(1900, 1, 2), max_value=datetime(2200, 12, 30), timezones=WHOLE_MINUTE_ZONES
)
days = st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31))

# --- records -----------------------------------------------------------------------------

emotion_terms = st.one_of(
    st.sampled_from(sorted(e.term for e in emotions().values())).flatmap(
        lambda term: st.sampled_from([term, term.upper(), f"  {term} ", term.title()])
    ),
    filled_text(55),
)
intensity = st.integers(0, 10)

emotion_ratings = st.lists(
    st.fixed_dictionaries({"emotion": emotion_terms, "intensity": intensity}),
    min_size=1,
    max_size=6,
    unique_by=lambda d: normalise_term(d["emotion"]),
)

known_technique = st.fixed_dictionaries(
    {
        "technique": st.sampled_from(sorted(t.technique for t in techniques().values())),
        "intensity_after": intensity,
    },
    optional={"skill": st.sampled_from(SKILLS), "intensity_before": intensity},
)
custom_technique = st.fixed_dictionaries(
    {
        "technique": filled_text(95),
        "skill": st.sampled_from(SKILLS),
        "intensity_after": intensity,
    },
    optional={"intensity_before": intensity},
)

episode_data = st.fixed_dictionaries(
    {"situation": filled_text(), "emotions": emotion_ratings},
    optional={
        "id": ids,
        "sharing": sharing,
        "occurred_at": times,
        "body_sensations": free_text(),
        "thoughts": free_text(),
        "people": st.lists(free_text(64), max_size=5),
        "what_i_did": free_text(),
        "proportionality": st.none() | intensity,
        "self_management": st.lists(known_technique | custom_technique, max_size=4),
        "notes": free_text(),
    },
)

person_data = st.fixed_dictionaries(
    {"alias": filled_text(80)},
    optional={
        "id": ids,
        "sharing": sharing,
        "relationship": st.sampled_from(RELATIONSHIPS),
        "notes": free_text(),
    },
)

evidence = st.fixed_dictionaries(
    {"episode_id": filled_text(64), "direction": st.sampled_from(["supports", "contradicts"])},
    optional={"note": free_text(), "added_on": days},
)
statuses = st.sampled_from(["open", "testing", "supported", "revised", "refuted", "resolved"])
confidence_points = st.lists(
    st.tuples(days, st.integers(0, 100), st.none() | statuses), max_size=6
).map(
    lambda points: [
        {"on": on, "confidence": c, "status": s} for on, c, s in sorted(points, key=lambda p: p[0])
    ]
)


@st.composite
def hypothesis_data(draw: st.DrawFn) -> dict[str, Any]:
    data: dict[str, Any] = {
        "reaction": draw(filled_text()),
        "echoes": draw(filled_text()),
        "unprocessed_emotion": draw(filled_text()),
        "evidence": draw(st.lists(evidence, max_size=4)),
        "confidence": draw(confidence_points),
        "status": draw(statuses),
        "opened_on": draw(days),
        "sharing": draw(sharing),
        "prediction": draw(free_text()),
    }
    target = draw(st.sampled_from(["person", "situation", "both"]))
    if target in ("person", "both"):
        data["person_id"] = draw(filled_text(64))
    if target in ("situation", "both"):
        data["situation"] = draw(filled_text())
    return data


@st.composite
def check_in_data(draw: st.DrawFn) -> dict[str, Any]:
    instrument = draw(st.sampled_from(sorted(INSTRUMENTS)))
    spec = INSTRUMENTS[instrument]
    answers = draw(
        st.lists(
            st.integers(spec.answer_min, spec.answer_max),
            min_size=spec.n_items,
            max_size=spec.n_items,
        )
    )
    return {
        "instrument": instrument,
        "answers": answers,
        "taken_at": draw(times),
        "sharing": draw(sharing),
    }


KIND_DATA: dict[str, tuple[type[Record], st.SearchStrategy[dict[str, Any]]]] = {
    "emotion_episode": (EmotionEpisode, episode_data),
    "person": (Person, person_data),
    "projection_hypothesis": (ProjectionHypothesis, hypothesis_data()),
    "check_in": (CheckIn, check_in_data()),
}


@pytest.fixture(scope="module")
def shared_workbook(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workbook]:
    """One workbook for every example (each example saves records with fresh ids)."""
    wb = Workbook.create(tmp_path_factory.mktemp("property") / "property.heron")
    yield wb
    wb.close()


#: ids already used in the shared workbook (generated ids may repeat across examples)
_USED_IDS: set[str] = set()


def fresh(cls: type[Record], record: Record) -> Record:
    """``record``, or a copy with a new id if its id is already in the shared workbook."""
    if record.id in _USED_IDS:
        record = validate_record(cls, {**record.to_data(), "id": f"{record.id}-{len(_USED_IDS)}"})
    _USED_IDS.add(record.id)
    return record


@pytest.mark.parametrize("kind", list(KIND_DATA))
def test_generated_records_round_trip(shared_workbook: Workbook, kind: str) -> None:
    cls, strategy = KIND_DATA[kind]
    saved: set[str] = set()

    @ROUND_TRIP
    @given(data=strategy)
    def check(data: dict[str, Any]) -> None:
        record = fresh(cls, validate_record(cls, data))

        stored = shared_workbook.save(record)
        saved.add(record.id)

        assert stored.revision == 1
        back = shared_workbook.get(record.id)
        assert back == record
        assert back.to_data() == record.to_data()
        assert validate_record(cls, back.to_data()) == record  # stable when validated again

    check()
    assert shared_workbook.counts()[kind] == len(saved)


def test_generated_episodes_survive_the_frames(shared_workbook: Workbook) -> None:
    @settings(max_examples=30, deadline=None)
    @given(data=episode_data)
    def check(data: dict[str, Any]) -> None:
        record = fresh(EmotionEpisode, validate_record(EmotionEpisode, data))
        assert isinstance(record, EmotionEpisode)
        shared_workbook.save(record)

        episodes = shared_workbook.frame("emotion_episode").set_index("id")
        rated = shared_workbook.frame("emotion_episode.emotions")
        row = episodes.loc[record.id]
        mine = rated[rated["emotion_episode_id"] == record.id]

        assert row["situation"] == record.situation
        assert row["notes"] == record.notes
        assert row["occurred_at"] == record.occurred_at
        assert row["occurred_at_local"] == record.occurred_at.replace(tzinfo=None)
        assert list(mine["emotion"]) == [e.emotion for e in record.emotions]
        assert list(mine["intensity"]) == [e.intensity for e in record.emotions]

    check()


def test_an_offset_with_seconds_survives_a_save(tmp_path: Path) -> None:
    # Amsterdam kept its local mean time, UTC+00:19:32, until 1937. A time in such a zone
    # validates, but is stored with the offset cut to +00:19, so it reads back 32 s off.
    episode = EmotionEpisode(
        occurred_at=datetime(1930, 6, 1, 12, 0, tzinfo=ZoneInfo("Europe/Amsterdam")),
        situation="a grandparent's diary",
        emotions=[{"emotion": "sadness", "intensity": 4}],
    )
    with Workbook.create(tmp_path / "old-times.heron") as wb:
        wb.save(episode)
        back = wb.get(episode.id)

    assert isinstance(back, EmotionEpisode)
    assert back.occurred_at == episode.occurred_at


# --- validation never crashes ------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(FRAGMENTS),
    st.binary(max_size=20),
    st.dates(),
    st.datetimes(timezones=st.none() | st.just(UTC)),
    st.decimals(allow_nan=True),
    st.sampled_from(["", " ", "0", "-1", "11", "1e309", "nan", "2025-13-45", "yes", "private"]),
)
json_like = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


def field_names(cls: type[Record]) -> list[str]:
    return [*cls.model_fields, "emotion", "intensity", "technique", "skill", "on", "kind"]


@st.composite
def arbitrary_data(draw: st.DrawFn) -> tuple[type[Record], Any]:
    cls = draw(st.sampled_from(list(RECORD_TYPES.values())))
    keys = st.sampled_from(field_names(cls)) | st.text(max_size=12)
    return cls, draw(st.dictionaries(keys, json_like, max_size=8))


@st.composite
def perturbed_data(draw: st.DrawFn) -> tuple[type[Record], Any]:
    """Valid data with a few fields replaced by anything at all (reaches deeper rules)."""
    kind = draw(st.sampled_from(list(KIND_DATA)))
    cls, strategy = KIND_DATA[kind]
    data = dict(draw(strategy))
    for key in draw(st.lists(st.sampled_from(field_names(cls)), max_size=3)):
        data[key] = draw(json_like)
    return cls, data


def assert_refused_in_words(cls: type[Record], data: Any) -> None:
    try:
        record = validate_record(cls, data)
    except RecordValidationError as err:
        assert err.problems, "a refusal must say what is wrong"
        assert str(err).startswith("This ")
        for problem in err.problems:
            assert problem.label, f"problem without a field label: {problem!r}"
            assert problem.message.strip(), f"problem without words: {problem!r}"
            assert f"{problem.label}: {problem.message}" in str(err)
    else:
        assert isinstance(record, cls)
        assert validate_record(cls, record.to_data()) == record


@FUZZ
@given(case=arbitrary_data())
def test_validation_of_arbitrary_data_only_raises_validation_errors(
    case: tuple[type[Record], Any],
) -> None:
    assert_refused_in_words(*case)


@FUZZ
@given(case=perturbed_data())
def test_validation_of_nearly_valid_data_only_raises_validation_errors(
    case: tuple[type[Record], Any],
) -> None:
    assert_refused_in_words(*case)


@settings(max_examples=50, deadline=None)
@given(cls=st.sampled_from(list(RECORD_TYPES.values())), data=json_like)
def test_validation_of_data_that_is_not_a_dict(cls: type[Record], data: Any) -> None:
    assert_refused_in_words(cls, data)
