"""Issue 11: a record kind is declared once, and everything else iterates the registry.

Every kind must declare all of its facts (labels, writing side, report scope, research
treatment, a one-line description), have a demo beat, a form for the sides that enter
it, an example in the tests and an entry in the published export schema. A throwaway kind
declared here shows that the rest of the package picks a new kind up without edits, and
that each omission is caught by :func:`omissions`.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import ClassVar

import pytest
from pydantic import Field
from support import one_of_each_kind

import heron_research
from heron_research.records import (
    RECORD_TYPES,
    KindFacts,
    Record,
    ReportScope,
    Side,
    record_type,
    record_types,
)
from heron_research.records.base import forget_kind

PACKAGE = Path(heron_research.__file__).parent
SCHEMA = PACKAGE.parent / "schema" / "workbook-export.schema.json"


def _demo_beats() -> dict[str, tuple[str, ...]]:
    from heron_research.demo import BEATS

    return dict(BEATS)


def _form_kinds() -> dict[Side, set[str]]:
    from heron_research.forms.registry import FORMS

    return {side: {r.kind for r in FORMS.forms(side)} for side in Side}


def _consts(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        if "const" in node and isinstance(node["const"], str):
            yield node["const"]
        for value in node.values():
            yield from _consts(value)
    elif isinstance(node, list):
        for value in node:
            yield from _consts(value)


def omissions(cls: type[Record]) -> list[str]:
    """What a kind has not declared or provided, in words (empty when complete)."""
    missing: list[str] = []
    facts = cls.__dict__.get("facts")
    if not isinstance(facts, KindFacts):
        return ["its KindFacts"]
    if not facts.label or not facts.plural:
        missing.append("a label and a plural")
    if facts.research_table is not None:
        from heron_research.research.tables import kinds_read

        if cls.kind not in kinds_read():
            missing.append(f"the research table {facts.research_table!r}")
    if type(cls).__dict__.get("describe") is None and "describe" not in cls.__dict__:
        missing.append("a one-line describe()")
    if cls.kind not in _demo_beats():
        missing.append("a demo beat")
    forms = _form_kinds()
    if not any(cls.kind in forms[side] for side in facts.writers):
        missing.append("a form for a side that writes it")
    if cls.kind not in {r.kind for r in one_of_each_kind(complete=False)}:
        missing.append("an example in tests/support.py")
    if cls.kind not in set(_consts(json.loads(SCHEMA.read_text(encoding="utf-8")))):
        missing.append("an entry in the generated export schema (make schema)")
    return missing


@pytest.mark.parametrize("kind", list(RECORD_TYPES))
def test_every_kind_declares_everything_and_is_provided_for(kind: str) -> None:
    assert omissions(record_type(kind)) == []


@pytest.mark.parametrize("record", one_of_each_kind(), ids=lambda r: r.kind)
def test_every_kind_describes_an_entry_in_one_line(record: Record) -> None:
    line = record.describe()
    assert line.strip() and "\n" not in line


def test_the_registry_is_in_export_order_and_every_scope_is_used() -> None:
    kinds = list(record_types())
    assert kinds[:2] == ["consent", "person"]
    assert {cls.facts.report for cls in record_types().values()} == set(ReportScope)
    assert all(cls.facts.writers for cls in record_types().values())


# --- a throwaway kind --------------------------------------------------------------------


@pytest.fixture
def gratitude() -> Iterator[type[Record]]:
    """A new kind, declared only here: a model, its facts and its description."""

    class GratitudeNote(Record):
        kind: ClassVar[str] = "gratitude_note"
        facts: ClassVar[KindFacts] = KindFacts(
            label="gratitude note",
            plural="gratitude notes",
            writers=frozenset({Side.CLIENT}),
            report=ReportScope.PERIOD,
            not_exported="a throwaway kind in a test",
        )
        when_field: ClassVar[str | None] = "noted_on"

        noted_on: date = Field(default_factory=date.today, title="Date")
        text: str = Field(title="What I am grateful for", min_length=1)

        def describe(self) -> str:
            return f"the gratitude note of {self.noted_on:%d %b}"

    try:
        yield GratitudeNote
    finally:
        forget_kind("gratitude_note")


def test_a_new_kind_is_picked_up_without_edits_elsewhere(
    gratitude: type[Record], tmp_path: Path
) -> None:
    from heron_research.reports.context import kind_names, kinds_in_scope, load
    from heron_research.research.tables import not_exported
    from heron_research.workbook import Workbook

    assert "gratitude_note" in record_types()
    assert kinds_in_scope(ReportScope.PERIOD)[-1] == "gratitude_note"
    assert kind_names()["gratitude_note"] == "gratitude notes"
    assert not_exported()["gratitude_note"] == "a throwaway kind in a test"
    path = tmp_path / "w.heron"
    with Workbook.create(path) as wb:
        wb.save(gratitude(noted_on=date(2025, 3, 1), text="the sun"))
        assert wb.counts()["gratitude_note"] == 1
        assert len(wb.frame("gratitude_note")) == 1
    ctx = load(path, until="2025-12-31")
    assert ctx.included["gratitude_note"] == 1


def test_each_omission_of_a_new_kind_fails_a_test(gratitude: type[Record]) -> None:
    """What the recipe in ARCHITECTURE.md asks for beyond the model, each caught."""
    assert omissions(gratitude) == [
        "a demo beat",
        "a form for a side that writes it",
        "an example in tests/support.py",
        "an entry in the generated export schema (make schema)",
    ]


# --- kind names are constants outside the registry -------------------------------------------

#: calls that take a kind (or a kind's table) as their first argument
_KIND_CALLS = {"records", "frame", "frames", "raw_rows", "stored_rows", "changed", "record_type"}


def _docstrings(tree: ast.AST) -> set[int]:
    """Docstrings and the names in ``__all__``: words, not kind names."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(getattr(t, "id", "") == "__all__" for t in targets):
                found.update(id(c) for c in ast.walk(node.value) if isinstance(c, ast.Constant))
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            found.add(id(first.value))
    return found


def _kind_literals(path: Path) -> Iterator[tuple[int, str]]:
    kinds = set(RECORD_TYPES)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _docstrings(tree)
    in_call: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            if name in _KIND_CALLS:
                in_call.add(id(node.args[0]))
        if isinstance(node, ast.Compare):
            for part in (node.left, *node.comparators):
                in_call.add(id(part))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
            continue
        if id(node) in skip:
            continue
        text = node.value
        head = text.split(".", 1)[0]
        if head not in kinds:
            continue
        # multi-word kinds and kind tables are unmistakable; one-word kinds ("person",
        # "consent", "intervention") only count where a kind is expected
        if "_" in head or "." in text or id(node) in in_call:
            yield node.lineno, text


def test_no_kind_name_is_written_as_a_literal_outside_the_models() -> None:
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {text!r}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.relative_to(PACKAGE).as_posix() != "records/models.py"
        for line, text in _kind_literals(path)
    ]
    assert found == []
