"""The published export schema states every limit the validator enforces (issue 14).

The schema is generated from the models (:class:`~heron_research.records.base.LimitsSchema`,
:data:`~heron_research.workbook.stored.Stamp`); here the same values are given to both the
importer and a JSON Schema validator (with format checking, as the schema asks), and the
two must agree: times in the years the reports handle, real days and times, the text limit,
and a technique of the client's own needing its skill.

One difference is known and kept out of the values: the importer trims white space at the
ends of text before it checks lengths, which a JSON Schema cannot say.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from support import one_of_each_kind

from heron_research.errors import ExportFormatError
from heron_research.records import EMOTION_EPISODE, PROJECTION_HYPOTHESIS
from heron_research.records.base import FIRST_YEAR, LAST_YEAR, TEXT_LIMIT, year_pattern
from heron_research.vocab import SKILLS, techniques
from heron_research.workbook import Workbook
from heron_research.workbook.portable import export_data, export_schema, read_export

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


def _agree(doc: dict[str, Any]) -> bool:
    """Whether the importer accepts ``doc``, after checking the schema says the same."""
    schema_ok = _validator().is_valid(doc)
    try:
        read_export(json.dumps(doc))
        imported = True
    except ExportFormatError as exc:
        imported = False
        assert "\n" not in str(exc)
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
