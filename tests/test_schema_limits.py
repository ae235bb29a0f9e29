"""The published export schema states every limit the validator enforces (issue 14).

The schema is generated from the models (:class:`~heron_research.records.base.LimitsSchema`,
:data:`~heron_research.workbook.stored.Stamp`); here the same values are given to both the
importer and a JSON Schema validator (with format checking, as the schema asks), and the
two must agree: times in the years the reports handle, real days and times, a time in a
record carrying its offset from UTC, the text limit, text that must not be empty (blank or
padded with white space), and a technique of the client's own needing its skill.

Where they differ, the schema is the stricter, and the tests say exactly where (never the
other way: a file the schema accepts is one the importer takes):

- **Padded text at the limit.** The importer trims white space at the ends of text before
  it checks lengths; a JSON Schema cannot trim, so it counts the padding and refuses text
  that is within :data:`TEXT_LIMIT` only once trimmed. The schema says lengths count after
  trimming (a ``$comment``); heron-research stores text trimmed, so no file it writes is
  padded. Blank text is refused by both (a pattern asking for a character not trimmed).
- **Other spellings of a time.** The importer (pydantic) also reads times RFC 3339 does not
  allow but whose moment is plain: a space between date and time, an offset without its
  colon (``+0100``), no seconds. The schema's ``date-time`` format refuses them (a
  lowercase ``t`` or ``z`` both accept, as RFC 3339 does). A time with no offset at all is
  refused by both: the importer would have to take it as the local time of the computer
  reading the file.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from pydantic import Field, ValidationError
from support import one_of_each_kind

from heron_research.errors import ExportFormatError, RecordValidationError
from heron_research.records import (
    CHECK_IN,
    CONSENT,
    EMOTION_EPISODE,
    PROJECTION_HYPOTHESIS,
    RECORD_TYPES,
    EmotionEpisode,
    validate_record,
)
from heron_research.records.base import (
    FIRST_YEAR,
    LAST_YEAR,
    NOT_BLANK,
    TEXT_LIMIT,
    SubRecord,
    year_pattern,
)
from heron_research.vocab import SKILLS, techniques
from heron_research.workbook import Workbook
from heron_research.workbook.portable import (
    export_data,
    export_schema,
    import_json,
    read_export,
)

pytestmark = pytest.mark.unit

FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@cache
def _document() -> dict[str, Any]:
    """A valid export holding one entry of every kind."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder, Workbook.create(Path(folder) / "w.heron") as wb:
        for record in one_of_each_kind():
            wb.save(record)
        return export_data(wb)


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(export_schema(), format_checker=Draft202012Validator.FORMAT_CHECKER)


def _agree(doc: dict[str, Any], *, schema_stricter: bool = False) -> bool:
    """Whether the importer accepts ``doc``, after checking the schema says the same; or,
    where the schema is known to be ``schema_stricter``, that it refuses what the importer
    accepts."""
    schema_ok = _validator().is_valid(doc)
    try:
        read_export(json.dumps(doc))
        imported = True
    except ExportFormatError as exc:
        imported = False
        assert "\n" not in str(exc)
    if schema_stricter:
        assert imported and not schema_ok, (
            f"expected the importer alone to accept it: importer {imported}, schema {schema_ok}"
        )
        return imported
    assert schema_ok == imported, (
        f"the schema {'accepts' if schema_ok else 'refuses'} what the importer "
        f"{'accepts' if imported else 'refuses'}: "
        + "; ".join(e.message[:200] for e in _validator().iter_errors(doc))
    )
    return imported


def _entry(doc: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(r for r in doc["records"] if r["kind"] == kind)


def test_the_document_as_exported_passes_both() -> None:
    assert _agree(copy.deepcopy(_document()))


# --- times ------------------------------------------------------------------------------

digits = st.integers(0, 99).map(lambda n: f"{n:02d}")
#: stamps of the right shape whose parts range beyond what is real, and real ones
stamps = st.one_of(
    st.builds(
        lambda y, mo, d, h, mi, s, us: f"{y:04d}-{mo}-{d}T{h}:{mi}:{s}.{us:06d}Z",
        st.integers(0, 9999),
        digits,
        digits,
        digits,
        digits,
        digits,
        st.integers(0, 999_999),
    ),
    st.datetimes(
        min_value=dt.datetime(FIRST_YEAR - 5, 1, 1),
        max_value=dt.datetime(LAST_YEAR + 5, 12, 31),
    ).map(lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")),
    st.sampled_from(
        [
            "0001-01-01T00:00:00.000000Z",
            "9999-12-31T23:59:59.999999Z",
            "0000-13-45T99:99:99.000000Z",
            "2025-02-29T00:00:00.000000Z",
            "2024-02-29T00:00:00.000000Z",
            "2025-06-01T12:00:00.000000+00:00",
            "2025-06-01 12:00:00.000000Z",
        ]
    ),
)


@pytest.mark.parametrize(
    "place", ["workbook.created_at", "record.created_at", "record.deleted_at", "revision.saved_at"]
)
@FUZZ
@given(value=stamps)
def test_stamps_agree(place: str, value: str) -> None:
    doc = copy.deepcopy(_document())
    where, field = place.split(".")
    target = {"workbook": doc["workbook"], "record": doc["records"][0]}.get(where)
    (target if target is not None else doc["revisions"][0])[field] = value

    _agree(doc)


@pytest.mark.parametrize(
    "stamp",
    ["0001-01-01T00:00:00.000000Z", "9999-12-31T00:00:00.000000Z", "0000-13-45T99:99:99.000000Z"],
)
def test_impossible_stamps_are_refused_in_one_line_naming_the_field(stamp: str) -> None:
    doc = copy.deepcopy(_document())
    doc["records"][0]["created_at"] = stamp

    with pytest.raises(ExportFormatError) as refused:
        read_export(json.dumps(doc), source="x.json")

    assert str(refused.value) == (
        f"x.json does not match the export format: record 1 ({doc['records'][0]['kind']} "
        f"{doc['records'][0]['id']}): created_at: must be a real UTC time written "
        f"YYYY-MM-DDTHH:MM:SS.ffffffZ, in the years {FIRST_YEAR} to {LAST_YEAR} "
        f"(it is {stamp!r})"
    )


@FUZZ
@given(year=st.integers(0, 9999), month=st.integers(1, 12), day=st.integers(1, 31))
def test_record_dates_agree(year: int, month: int, day: int) -> None:
    doc = copy.deepcopy(_document())
    _entry(doc, PROJECTION_HYPOTHESIS)["data"]["opened_on"] = f"{year:04d}-{month:02d}-{day:02d}"
    _entry(doc, EMOTION_EPISODE)["data"]["occurred_at"] = (
        f"{year:04d}-{month:02d}-{day:02d}T18:30:00+01:00"
    )

    accepted = _agree(doc)

    assert accepted == (FIRST_YEAR <= year <= LAST_YEAR and _real_day(year, month, day))


def _real_day(year: int, month: int, day: int) -> bool:
    try:
        dt.date(year, month, day)
    except ValueError:
        return False
    return True


#: every time a record holds, from the models: (kind, field)
RECORD_TIMES = [
    (kind, name)
    for kind, cls in RECORD_TYPES.items()
    for name, info in cls.model_fields.items()
    if info.annotation is dt.datetime
]


@st.composite
def spelled_times(draw: st.DrawFn) -> tuple[str, str]:
    """(a time as a file might write it, which of "rfc3339", "naive" or "lenient" it is)."""
    moment = draw(
        st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2100, 1, 1))
    )
    seconds = draw(st.booleans()) or draw(st.booleans())
    clock = moment.strftime("%H:%M:%S") + draw(st.sampled_from(["", ".5", ".123456"]))
    clock = clock if seconds else moment.strftime("%H:%M")
    between = draw(st.sampled_from(["T", "T", " ", "t"]))
    offset = draw(
        st.sampled_from(["", "", "Z", "+01:00", "-05:30", "+00:00", "+23:59", "z", "+0100"])
    )
    text = f"{moment:%Y-%m-%d}{between}{clock}{offset}"
    if not offset:
        return text, "naive"
    lenient = between == " " or offset == "+0100" or not seconds
    return text, "lenient" if lenient else "rfc3339"


@pytest.mark.parametrize("place", RECORD_TIMES, ids="{0[0]}.{0[1]}".format)
@FUZZ
@given(time=spelled_times())
def test_record_times_agree_and_need_their_offset(
    place: tuple[str, str], time: tuple[str, str]
) -> None:
    kind, field = place
    text, spelling = time
    doc = copy.deepcopy(_document())
    _entry(doc, kind)["data"][field] = text

    accepted = _agree(doc, schema_stricter=spelling == "lenient")

    assert accepted == (spelling != "naive")


def test_the_record_times_are_found() -> None:
    assert {
        (EMOTION_EPISODE, "occurred_at"),
        (CONSENT, "recorded_at"),
        (CHECK_IN, "taken_at"),
    } <= set(RECORD_TIMES)


def test_a_time_without_its_offset_is_refused_in_one_line_naming_the_field_and_nothing_is_made(
    tmp_path: Path,
) -> None:
    doc = copy.deepcopy(_document())
    episode = _entry(doc, EMOTION_EPISODE)
    episode["data"]["occurred_at"] = "2025-03-01T09:00:00"
    source = tmp_path / "naive.json"
    source.write_text(json.dumps(doc), encoding="utf-8")

    with pytest.raises(ExportFormatError) as refused:
        import_json(source, tmp_path / "imported.heron")

    assert str(refused.value) == (
        f"{source} does not match the export format: record "
        f"{doc['records'].index(episode) + 1} (emotion_episode {episode['id']}): When: a time "
        "needs its offset (Z or +hh:mm); it is '2025-03-01T09:00:00'"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["naive.json"]


def test_a_naive_time_given_on_this_computer_is_still_taken_as_local_time() -> None:
    naive = dt.datetime(2025, 3, 1, 9, 0)
    data = {**_entry(copy.deepcopy(_document()), EMOTION_EPISODE)["data"], "occurred_at": naive}

    made = validate_record(EmotionEpisode, data)
    with pytest.raises(RecordValidationError) as refused:
        validate_record(EmotionEpisode, data, document=True)

    assert made.occurred_at == naive.astimezone()
    assert made.occurred_at.tzinfo is not None
    assert [(p.name, p.message) for p in refused.value.problems] == [
        ("occurred_at", "a time needs its offset (Z or +hh:mm); it is '2025-03-01T09:00:00'")
    ]


def test_an_export_as_written_round_trips_its_times() -> None:
    doc = copy.deepcopy(_document())
    text = json.dumps(doc)

    rows = read_export(text)

    assert {r.kind for r in rows.records} >= {kind for kind, _ in RECORD_TIMES}
    assert all(
        _entry(doc, kind)["data"][field].endswith(("Z", "+00:00", "+01:00"))
        for kind, field in RECORD_TIMES
    )


# --- text -------------------------------------------------------------------------------


@FUZZ
@given(
    length=st.one_of(st.integers(0, 3), st.integers(TEXT_LIMIT - 3, TEXT_LIMIT + 3)),
    field=st.sampled_from(["situation", "thoughts", "notes"]),
)
def test_text_lengths_agree(length: int, field: str) -> None:
    doc = copy.deepcopy(_document())
    _entry(doc, EMOTION_EPISODE)["data"][field] = "x" * length

    accepted = _agree(doc)

    assert accepted == (length <= TEXT_LIMIT and (length > 0 or field != "situation"))


#: what pydantic trims from the ends of text (Unicode White_Space)
TRIMMED = "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B)))
TRIMMED += "\u2028\u2029\u202f\u205f\u3000"
#: white space to ECMA-262's or Python's ``\s``, or invisible, but kept by pydantic
KEPT = "\ufeff\x1c\x1f\u200b\u180e"


@FUZZ
@given(
    before=st.text(TRIMMED, max_size=3),
    core=st.one_of(
        st.just(""),
        st.text(KEPT, min_size=1, max_size=2),
        st.integers(1, 3).map("x".__mul__),
        st.integers(TEXT_LIMIT - 2, TEXT_LIMIT + 1).map("x".__mul__),
    ),
    after=st.text(TRIMMED, max_size=3),
    field=st.sampled_from(["situation", "thoughts", "notes"]),
)
def test_blank_and_padded_text_agree(before: str, core: str, after: str, field: str) -> None:
    doc = copy.deepcopy(_document())
    _entry(doc, EMOTION_EPISODE)["data"][field] = before + core + after
    fits = len(core) <= TEXT_LIMIT and (core != "" or field != "situation")
    # the schema counts the padding: padded text within the limit only once trimmed
    padded_past_the_limit = fits and len(before + core + after) > TEXT_LIMIT

    accepted = _agree(doc, schema_stricter=padded_past_the_limit)

    assert accepted == fits


class _Trimmed(SubRecord):
    text: str = Field(min_length=1)


def test_the_not_blank_pattern_refuses_exactly_what_pydantic_trims_to_nothing() -> None:
    pattern = re.compile(NOT_BLANK)
    disagree = []
    # every character but the surrogates (not text on their own: both refuse them)
    for code in [*range(0xD800), *range(0xE000, 0x10000), 0x1F600, 0xE0020]:
        try:
            _Trimmed(text=chr(code))
            kept = True
        except ValidationError:
            kept = False
        if kept != bool(pattern.search(chr(code))):
            disagree.append(hex(code))

    assert disagree == []
    assert "".join(c for c in map(chr, range(0x10000)) if not pattern.search(c)) == TRIMMED


def test_text_that_must_not_be_empty_asks_for_a_character_not_trimmed() -> None:
    trimmed = [s for s in _strings(export_schema()) if "$comment" in s]
    required = [s for s in trimmed if s.get("minLength", 0) >= 1]

    assert required
    assert all("trimmed" in s["$comment"] for s in trimmed)
    patterns = [[s.get("pattern"), *(p["pattern"] for p in s.get("allOf", []))] for s in required]
    assert all(NOT_BLANK in found for found in patterns), required[:3]
    # pydantic's own patterns are kept beside it
    assert any("^[A-Za-z0-9_-]+$" in found for found in patterns)


# --- a technique of the client's own needs its skill -------------------------------------


def _respelled(name: str, draw: st.DrawFn) -> str:
    words = name.split()
    cased = [
        "".join(c.upper() if draw(st.booleans()) else c.lower() for c in word) for word in words
    ]
    gaps = [draw(st.sampled_from([" ", "  ", "\t"])) for _ in words[1:]]
    inner = cased[0] + "".join(g + w for g, w in zip(gaps, cased[1:], strict=True))
    return draw(st.sampled_from(["", " "])) + inner + draw(st.sampled_from(["", " "]))


@st.composite
def technique_names(draw: st.DrawFn) -> tuple[str, bool]:
    """(a technique name as typed, whether the vocabulary knows it)."""
    if draw(st.booleans()):
        return _respelled(draw(st.sampled_from(sorted(techniques()))), draw), True
    words = draw(st.lists(st.text("abcdefghij", min_size=1, max_size=8), min_size=1, max_size=4))
    name = " ".join(words)
    known = " ".join(name.split()).casefold() in {t.casefold() for t in techniques()}
    return name, known


@FUZZ
@given(technique=technique_names(), skill=st.one_of(st.none(), st.sampled_from(SKILLS)))
def test_a_custom_technique_needs_a_skill_in_both(
    technique: tuple[str, bool], skill: str | None
) -> None:
    name, known = technique
    doc = copy.deepcopy(_document())
    used = _entry(doc, EMOTION_EPISODE)["data"]["self_management"][0]
    used["technique"] = name
    used["skill"] = skill

    accepted = _agree(doc)

    assert accepted == (known or skill is not None)


# --- the schema's limits come from the models --------------------------------------------


def _strings(node: Any) -> list[dict[str, Any]]:
    found = []
    if isinstance(node, dict):
        if node.get("type") == "string":
            found.append(node)
        for value in node.values():
            found.extend(_strings(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_strings(value))
    return found


def test_every_text_in_the_schema_has_a_length_limit_and_every_date_the_year_range() -> None:
    strings = _strings(export_schema())
    free = [s for s in strings if not {"enum", "const", "format"} & s.keys()]

    assert free
    assert all("maxLength" in s for s in free), [s for s in free if "maxLength" not in s][:3]
    dated = [s for s in strings if s.get("format") in ("date", "date-time")]
    assert dated
    years = f"^{year_pattern(FIRST_YEAR, LAST_YEAR)}-"
    assert all(s.get("pattern", "").startswith(years) for s in dated), dated[:3]
