"""The store's public row reads, and an export read as rows without an SQLite file.

* :meth:`Workbook.raw_rows` gives each audience exactly what :meth:`Workbook.records` gives
  it (the one visibility rule), without validating again.
* :meth:`Workbook.withheld_count` counts in SQL what an audience may not see, and reads no
  entry: a practitioner report loads even when a private entry cannot be parsed.
* :meth:`Workbook.export_rows` and :meth:`Workbook.import_rows` round-trip a workbook.
* :func:`read_export` + :class:`RowsReader` read an export as the workbook it came from.
"""

from __future__ import annotations

import itertools
import json
import shutil
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError
from support import consent_entry

from heron_research.demo import generate_demo
from heron_research.errors import ExportFormatError, WorkbookError
from heron_research.records import RECORD_TYPES
from heron_research.reports.context import load
from heron_research.visibility import Audience
from heron_research.workbook import Workbook
from heron_research.workbook.portable import export_json, import_text, read_export
from heron_research.workbook.rows import RowsReader

pytestmark = pytest.mark.unit

#: after everything in the demo: the consent added below is the one in force
NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
CONSENTS = list(itertools.product([True, False], [True, False]))  # (practitioner, research)
PERIODS = [(None, None), (date(2025, 3, 1), date(2025, 6, 30)), (None, date(2025, 4, 1))]


def clock() -> datetime:
    return NOW


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.heron"
    generate_demo(path, seed=7, years=0.5)
    return path


def _with_consent(demo: Path, folder: Path, practitioner: bool, research: bool) -> Path:
    """A copy of the demo with a later consent entry giving (or not) the two scopes."""
    copy = folder / f"p{practitioner:d}r{research:d}.heron"
    shutil.copyfile(demo, copy)
    with Workbook.open(copy, clock=clock) as wb:
        wb.save(
            consent_entry(
                datetime(2029, 12, 31, tzinfo=UTC),
                practitioner_sharing=practitioner,
                research=research,
            )
        )
    return copy


@pytest.mark.parametrize(("practitioner", "research"), CONSENTS)
def test_raw_rows_give_each_audience_what_records_gives_it(
    demo: Path, tmp_path: Path, practitioner: bool, research: bool
) -> None:
    path = _with_consent(demo, tmp_path, practitioner, research)
    with Workbook.open(path, readonly=True, clock=clock) as wb:
        seen = {}
        for audience in Audience:
            expected = []
            for kind in sorted(RECORD_TYPES):
                stored = wb.records(kind, audience=audience)
                rows = wb.raw_rows([kind], audience)
                assert [(r.kind, r.id, r.revision, r.data) for r in rows] == [
                    (s.kind, s.id, s.revision, s.record.to_data()) for s in stored
                ]
                expected.extend(rows)
            # several kinds at once: by kind, then each kind in the store's order
            assert wb.raw_rows(list(RECORD_TYPES), audience) == expected
            seen[audience] = len(expected)
    assert seen[Audience.CLIENT] > max(seen[Audience.PRACTITIONER], seen[Audience.RESEARCH])
    assert (seen[Audience.PRACTITIONER] > 0) == practitioner
    assert (seen[Audience.RESEARCH] > 0) == research


def test_deleted_rows_are_the_clients_alone(demo: Path) -> None:
    with Workbook.open(demo, readonly=True) as wb:
        every = wb.raw_rows(RECORD_TYPES, Audience.CLIENT, include_deleted=True)
        current = wb.raw_rows(RECORD_TYPES, Audience.CLIENT)
        assert len(every) == len(current) + wb.check().deleted > len(current)
        with pytest.raises(ValueError, match="only the client"):
            wb.raw_rows(["person"], Audience.PRACTITIONER, include_deleted=True)
        with pytest.raises(ValueError, match="unknown record kind"):
            wb.raw_rows(["no_such_kind"], Audience.CLIENT)


@pytest.mark.parametrize(("practitioner", "research"), CONSENTS)
def test_withheld_count_is_what_the_audience_may_not_see(
    demo: Path, tmp_path: Path, practitioner: bool, research: bool
) -> None:
    path = _with_consent(demo, tmp_path, practitioner, research)
    total = 0
    with Workbook.open(path, readonly=True, clock=clock) as wb:
        for audience, kind, (since, until) in itertools.product(
            (Audience.PRACTITIONER, Audience.RESEARCH, Audience.CLIENT), RECORD_TYPES, PERIODS
        ):
            everything = wb.records(kind, since=since, until=until)
            shown = wb.records(kind, since=since, until=until, audience=audience)
            count = wb.withheld_count(kind, audience, since=since, until=until)
            assert count == len(everything) - len(shown), (audience, kind, since, until)
            total += count
        assert wb.withheld_count("emotion_episode", Audience.CLIENT) == 0
    assert total > 0


def test_the_withheld_count_reads_no_entry(demo: Path, tmp_path: Path) -> None:
    """A private entry whose JSON no model accepts: the client's view cannot be read, the
    practitioner's report still loads and counts it as withheld, having parsed nothing."""
    path = tmp_path / "broken.heron"
    shutil.copyfile(demo, path)
    with Workbook.open(path, readonly=True) as wb:
        before = load(path, until="2025-07-06", audience="practitioner").withheld
        private = next(
            s
            for s in wb.records("emotion_episode", until=date(2025, 7, 6))
            if s.sharing.value == "private"
        )
    db = sqlite3.connect(path)
    with db:
        db.execute("UPDATE records SET data = '{}' WHERE id = ?", (private.id,))
    db.close()
    with Workbook.open(path, readonly=True) as wb, pytest.raises(ValidationError):
        wb.records("emotion_episode")  # the client's view parses every entry
    context = load(path, until="2025-07-06", audience="practitioner")
    assert context.withheld == before
    assert context.withheld["emotion_episode"] > 0


def test_export_rows_and_import_rows_round_trip(demo: Path, tmp_path: Path) -> None:
    with Workbook.open(demo, readonly=True) as wb:
        rows = wb.export_rows()
    assert rows.records and rows.revisions
    assert any(r.occurred_on is None for r in rows.records)  # people
    copy = Workbook.create(tmp_path / "copy.heron", fill=lambda new: new.import_rows(rows))
    with copy:
        assert copy.export_rows() == rows
        assert copy.id == rows.workbook_id
        with pytest.raises(WorkbookError, match="not empty"):
            copy.import_rows(rows)


@pytest.mark.parametrize(("practitioner", "research"), CONSENTS)
def test_an_export_reads_as_the_workbook_it_came_from(
    demo: Path, tmp_path: Path, practitioner: bool, research: bool
) -> None:
    path = _with_consent(demo, tmp_path, practitioner, research)
    with Workbook.open(path, readonly=True, clock=clock) as wb:
        reader = RowsReader(read_export(export_json(wb)), clock=clock)
        assert reader.id == wb.id
        assert reader.now() == wb.now()
        assert reader.consent() == wb.consent()
        assert reader.records("consent") == wb.records("consent")
        for audience in Audience:
            assert reader.raw_rows(RECORD_TYPES, audience) == wb.raw_rows(RECORD_TYPES, audience)
        assert reader.raw_rows(RECORD_TYPES, Audience.CLIENT, include_deleted=True) == (
            wb.raw_rows(RECORD_TYPES, Audience.CLIENT, include_deleted=True)
        )
        for row in wb.raw_rows(["person"], Audience.CLIENT, include_deleted=True):
            assert reader.history(row.id) == wb.history(row.id)
        with pytest.raises(KeyError):
            reader.history("no-such-id")


def test_an_export_listing_a_revision_twice_is_refused(demo: Path, tmp_path: Path) -> None:
    with Workbook.open(demo, readonly=True) as wb:
        doc = json.loads(export_json(wb))
    doc["revisions"].append(doc["revisions"][0])
    text = json.dumps(doc)
    with pytest.raises(ExportFormatError, match="revision of a record twice"):
        read_export(text)
    with pytest.raises(ExportFormatError, match="revision of a record twice"):
        import_text(text, tmp_path / "never.heron")
    assert not (tmp_path / "never.heron").exists()
