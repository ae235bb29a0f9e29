"""Fuzzing (issue 6, case 5): hostile input to every record model and to the forms.

Hypothesis feeds each record kind dicts over its own field names (now and then with an
unknown key) whose values are hostile: NaN, infinities, huge and negative numbers, empty,
over-long and 1 MB strings, control characters, right-to-left marks, emoji, SQL and HTML
fragments, lone surrogates, dates in year 1 and 9999, naive and aware datetimes (odd
offsets included), None, lists and nested dicts. Half the inputs start from a valid record
with a few fields spoiled, so that accepted records are common enough to test saving too.

The promise: ``from_data`` either returns a record, which the workbook stores and gives
back unchanged, or raises ``RecordValidationError`` whose every problem has a label, a
message and a field path. No other exception. The forms, filled with hostile text and
saved, either save or say "Not saved" and keep what was typed.

Every run is derandomized (the same inputs each time) and counts the inputs it tried; the
summary test prints the figure ("inputs tried, crashes") and the record-level problems.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from figures import Figures, Scale
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from support import one_of_each_kind

from heron_research.errors import RecordValidationError
from heron_research.forms import workbook_app
from heron_research.forms.fields import ComboField, ListField, TextField
from heron_research.records import RECORD_TYPES, Record
from heron_research.workbook import Workbook

pytestmark = [pytest.mark.reliability, pytest.mark.unit]

#: examples per test: x1 in ``make test``, x5 for ``benchmarks/reliability.py`` (full scale)
TIMES = Scale.from_env().pick(test=1, full=5)

#: Inputs tried and their outcomes, across the whole module (printed by the summary test).
TRIED: Counter[str] = Counter()
#: Inputs whose rejection named no field (problem.field == ()): (kind, input, problem).
RECORD_LEVEL: list[tuple[str, str, str]] = []

# --- hostile values ---------------------------------------------------------------------

MEGABYTE = "x" * 1_000_000
MEGABYTE_EMOJI = "😀" * 250_000  # 1 MB of UTF-8
JUST_TOO_LONG = "a" * 20_001

HOSTILE_TEXTS = [
    "",
    " ",
    "\t\n\r ",
    "\x00",
    "a\x00b",
    "\x07\x08\x1b[31mred\x1b[0m",
    "\u202eevil\u202c",
    "\u200f\u05e9\u05dc\u05d5\u05dd",  # right-to-left mark + Hebrew
    "\u0645\u0631\u062d\u0628\u0627",  # Arabic
    "\ufeff",
    "\u200b",
    "😀",
    "👩\u200d👩\u200d👧\u200d👦",
    "🏳️\u200d🌈",
    "\ud800",  # a lone surrogate (not valid UTF-8)
    "'; DROP TABLE records; --",
    '" OR 1=1 --',
    "Robert'); DELETE FROM revisions;--",
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "javascript:alert(1)",
    "{{7*7}}",
    "${jndi:ldap://x}",
    "%s%s%n",
    "NaN",
    "inf",
    "-1",
    "1e309",
    "anger",
    "pausing before acting",
    "private",
    "research",
    "phq9",
    "0001-01-01",
    "9999-12-31",
    "9999-12-31T23:59:59+14:00",
    "0001-01-01T00:00:00",
    "2025-02-30",
    "2025-03-14T18:30:00+01:00",
    "2025-03-14T18:30:00",
    "2025-03-14T18:30:00+23:59:59",
    "2025-03-14",
    JUST_TOO_LONG,
]
HOSTILE_NUMBERS = [
    math.nan,
    -math.nan,
    math.inf,
    -math.inf,
    10**30,
    -(10**30),
    2**63,
    -(2**63) - 1,
    -1,
    0,
    1,
    -0.0,
    0.5,
    7.0,
    1e308,
    5e-324,
    True,
    False,
]
#: Offsets a person could never have, but a datetime can: seconds, microseconds, ±23:59.
ODD_ZONES = [
    UTC,
    timezone(timedelta(hours=14)),
    timezone(timedelta(hours=-12)),
    timezone(timedelta(hours=23, minutes=59)),
    timezone(-timedelta(hours=23, minutes=59)),
    timezone(timedelta(minutes=5, seconds=30)),
    timezone(timedelta(seconds=1, microseconds=1)),
]
HOSTILE_MOMENTS = [
    date(1, 1, 1),
    date(9999, 12, 31),
    date(1899, 12, 31),
    date(2201, 1, 1),
    date(1900, 1, 1),
    datetime(1, 1, 1),
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999999),
    datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(-timedelta(hours=23, minutes=59))),
    datetime(1900, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=14))),
    datetime(1900, 1, 1),
    datetime(2200, 12, 31, 23, 59, tzinfo=timezone(-timedelta(hours=12))),
    timedelta(days=1),
]

text_values = st.one_of(
    st.sampled_from(HOSTILE_TEXTS),
    st.text(max_size=30),
    st.text(
        st.characters(codec="utf-8", categories=["Cc", "Cf", "Zs", "Zl", "Zp", "So", "Mn"]),
        max_size=20,
    ),
)
#: A few of the inputs carry a megabyte of text: enough to test, few enough to stay fast.
huge_texts = st.sampled_from([MEGABYTE, MEGABYTE_EMOJI])
number_values = st.one_of(
    st.sampled_from(HOSTILE_NUMBERS),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.integers(min_value=-2, max_value=12),
    st.floats(allow_nan=True, allow_infinity=True),
)
moment_values = st.one_of(
    st.sampled_from(HOSTILE_MOMENTS),
    st.dates(),
    st.datetimes(timezones=st.none() | st.sampled_from(ODD_ZONES)),
)
scalar_values = st.one_of(
    st.none(),
    text_values,
    number_values,
    moment_values,
)
hostile_values = st.recursive(
    scalar_values,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(text_values, st.sampled_from(["emotion", "intensity"])), inner),
    ),
    max_leaves=8,
)


def _sub_model(annotation: Any) -> type[BaseModel] | None:
    """The model inside ``list[Model]`` / ``Model | None``, if there is one."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _sub_model(arg)
        if found is not None:
            return found
    return None


def model_dicts(
    model: type[BaseModel], depth: int = 0, max_size: int | None = None
) -> st.SearchStrategy[dict[str, Any]]:
    """Dicts over ``model``'s own field names with hostile values (nested models too)."""
    names = list(model.model_fields)
    values: dict[str, st.SearchStrategy[Any]] = {}
    for name, info in model.model_fields.items():
        inner = _sub_model(info.annotation)
        if inner is not None and depth < 2:
            nested = model_dicts(inner, depth + 1)
            values[name] = st.one_of(hostile_values, nested, st.lists(nested, max_size=3))
        else:
            values[name] = hostile_values
    pairs = st.sampled_from(names).flatmap(lambda n: st.tuples(st.just(n), values[n]))
    return st.lists(pairs, max_size=len(names) if max_size is None else max_size).map(dict)


EXTRA_KEYS = ["unknown", "'; DROP TABLE records; --", "__class__", "", "kind", "\u202e", "😀"]


@st.composite
def record_inputs(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    """Data for ``kind``: from scratch, a valid record spoiled, or one with hostile text."""
    model = RECORD_TYPES[kind]
    way = draw(st.sampled_from(["scratch", "spoiled", "hostile text"]))
    if way == "hostile text":  # a valid record whose free-text fields hold hostile text
        data = dict(VALID[kind])
        free_text = [n for n, info in model.model_fields.items() if info.annotation is str]
        for name in draw(st.lists(st.sampled_from(free_text), unique=True, min_size=1)):
            data[name] = draw(text_values)
    elif way == "spoiled":
        data = dict(VALID[kind])
        for name in draw(st.lists(st.sampled_from(sorted(data)), unique=True, max_size=2)):
            del data[name]
        data.update(draw(model_dicts(model, max_size=2)))
    else:
        data = draw(model_dicts(model))
    if draw(st.integers(0, 9)) == 0:  # a field of a megabyte, one input in ten
        data[draw(st.sampled_from(sorted(model.model_fields)))] = draw(huge_texts)
    if draw(st.integers(0, 4)) == 0:
        data[draw(st.sampled_from(EXTRA_KEYS))] = draw(hostile_values)
    return data


#: One valid record of every kind, as data (a starting point to spoil).
VALID: dict[str, dict[str, Any]] = {r.kind: r.to_data() for r in one_of_each_kind()}


def _short(data: Any) -> str:
    text = repr(data)
    return text if len(text) <= 300 else text[:297] + "..."


def check_from_data(kind: str, data: dict[str, Any]) -> Record | None:
    """``from_data`` either gives a record or a RecordValidationError naming each problem."""
    TRIED["record inputs"] += 1
    model = RECORD_TYPES[kind]
    try:
        record = model.from_data(data)
    except RecordValidationError as exc:
        TRIED["rejected"] += 1
        assert exc.problems, f"a rejection with no problems for {_short(data)}"
        for problem in exc.problems:
            assert isinstance(problem.field, tuple), problem
            assert all(isinstance(p, str | int) for p in problem.field), problem
            assert isinstance(problem.label, str) and problem.label.strip(), problem
            assert isinstance(problem.message, str) and problem.message.strip(), problem
            if not problem.field:
                RECORD_LEVEL.append((kind, _short(data), str(problem)))
        return None
    except Exception:
        TRIED["crashes"] += 1
        raise
    TRIED["accepted"] += 1
    assert isinstance(record, model)
    return record


# --- records ----------------------------------------------------------------------------


@pytest.fixture
def fuzz_workbook(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workbook]:
    """One workbook per test function (not per example), closed afterwards."""
    workbook = Workbook.create(tmp_path_factory.mktemp("fuzz") / "fuzz.heron")
    try:
        yield workbook
    finally:
        workbook.close()


@pytest.mark.parametrize("kind", list(RECORD_TYPES))
def test_hostile_data_is_a_record_or_a_named_rejection(kind: str, fuzz_workbook: Workbook) -> None:
    """Every kind: accepted data round-trips through the workbook, the rest is named."""

    @settings(
        derandomize=True,
        database=None,
        deadline=None,
        max_examples=50 * TIMES,
        # a 1 MB string is drawn whole from a list, not byte by byte; the few examples
        # that carry one are slow to validate and store, which is what they are here for
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(data=record_inputs(kind))
    def run(data: dict[str, Any]) -> None:
        record = check_from_data(kind, data)
        if record is None:
            return
        # a kind one side writes is saved (and saved again: edited) as that side
        writers = record.facts.writers
        side = next(iter(writers)) if len(writers) == 1 else None
        stored = fuzz_workbook.save(record, side=side)
        assert stored.record.to_data() == record.to_data()
        assert fuzz_workbook.get(record.id).to_data() == record.to_data()
        TRIED["round trips"] += 1

    run()


# --- forms ------------------------------------------------------------------------------

form_texts = st.one_of(text_values, st.just(MEGABYTE))


def _status(form: Any) -> str:
    return str(form.status.value)


def test_episode_form_saves_or_says_not_saved(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Hostile text in the episode form: saved, or "Not saved" with the typing kept."""
    workbook = Workbook.create(tmp_path_factory.mktemp("fuzz-form") / "form.heron")
    try:
        form = workbook_app(workbook).forms["emotion_episode"]

        @settings(
            derandomize=True,
            database=None,
            deadline=None,
            max_examples=30 * TIMES,
            # widgets are slow to build and redraw; the examples themselves are small
            suppress_health_check=[HealthCheck.too_slow],
        )
        @given(
            situation=form_texts,
            notes=form_texts,
            emotion=form_texts,
            technique=form_texts,
        )
        def run(situation: str, notes: str, emotion: str, technique: str) -> None:
            TRIED["form inputs"] += 1
            form.field("situation").widget.value = situation
            form.field("notes").widget.value = notes
            emotions = form.field("emotions")
            assert isinstance(emotions, ListField)
            next(f for f in emotions.rows[0].fields if f.name == "emotion").widget.value = emotion
            managed = form.field("self_management")
            assert isinstance(managed, ListField)
            next(
                f for f in managed.rows[0].fields if f.name == "technique"
            ).widget.value = technique
            try:
                form.save_button.click()
            except Exception:
                TRIED["crashes"] += 1
                raise
            status = _status(form)
            assert ("✓ Saved" in status) != ("Not saved" in status), status
            if "Not saved" in status:
                TRIED["form refusals"] += 1
                assert form.field("situation").widget.value == situation
            else:
                TRIED["form saves"] += 1

        run()
    finally:
        workbook.close()


def test_every_form_text_field_saves_or_says_not_saved(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Every client form: its text and combo fields filled with hostile text, then saved."""
    workbook = Workbook.create(tmp_path_factory.mktemp("fuzz-forms") / "forms.heron")
    try:
        forms = workbook_app(workbook).forms

        @settings(
            derandomize=True,
            database=None,
            deadline=None,
            max_examples=40 * TIMES,
            suppress_health_check=[HealthCheck.too_slow],  # widgets, as above
        )
        @given(name=st.sampled_from(sorted(forms)), texts=st.lists(text_values, min_size=12))
        def run(name: str, texts: list[str]) -> None:
            TRIED["form inputs"] += 1
            form = forms[name]
            typed: dict[str, str] = {}
            for field, text in zip(
                (f for f in form.fields if isinstance(f, TextField | ComboField)),
                texts,
                strict=False,
            ):
                field.widget.value = text
                typed[field.name] = text
            try:
                form.save_button.click()
            except Exception:
                TRIED["crashes"] += 1
                raise
            status = _status(form)
            assert ("✓ Saved" in status) != ("Not saved" in status), (name, status)
            if "Not saved" in status:
                TRIED["form refusals"] += 1
                for field_name, text in typed.items():
                    assert form.field(field_name).widget.value == text, (name, field_name)
            else:
                TRIED["form saves"] += 1

        run()
    finally:
        workbook.close()


# --- the figure -------------------------------------------------------------------------


def test_zz_summary(figures: Figures) -> None:
    """Record the figure for RELIABILITY.md (printed with ``-s``); runs last in this file."""
    tried = TRIED["record inputs"] + TRIED["form inputs"]
    figures.record(5, "record inputs tried (every kind)", TRIED["record inputs"])
    figures.record(5, "form inputs tried (every client form)", TRIED["form inputs"])
    figures.record(5, "crashes", TRIED["crashes"], must_be_zero=True)
    figures.record(
        5,
        "records accepted / round-tripped unchanged",
        f"{TRIED['accepted']} / {TRIED['round trips']}",
    )
    figures.record(5, "rejections naming no field", len(RECORD_LEVEL), must_be_zero=True)
    figures.record(
        5,
        "forms saved / refused with typing kept",
        f"{TRIED['form saves']} / {TRIED['form refusals']}",
    )
    print(
        f"\nfuzzing: {tried} inputs tried ({TRIED['record inputs']} record, "
        f"{TRIED['form inputs']} form), crashes ({TRIED['crashes']}); "
        f"records accepted {TRIED['accepted']}, round-tripped {TRIED['round trips']}, "
        f"rejected {TRIED['rejected']}; forms saved {TRIED['form saves']}, "
        f"refused {TRIED['form refusals']}; rejections naming no field: {len(RECORD_LEVEL)}"
    )
    for kind, data, problem in RECORD_LEVEL[:20]:
        print(f"  (record) {kind}: {problem} <- {data}")
    assert TRIED["crashes"] == 0
