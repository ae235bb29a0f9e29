"""Upgrading a workbook made by the first schema version (``fixtures/workbook-v1.heron``)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from heron_research.errors import WorkbookError, WorkbookReadOnlyError
from heron_research.records import RECORD_TYPES, EmotionEpisode, Side
from heron_research.workbook import SCHEMA_VERSION, Workbook, store
from heron_research.workbook.schema import APPLICATION_ID, MIGRATIONS, Migration
from heron_research.workbook.store import parse_stamp

pytestmark = pytest.mark.unit

FIXTURE = Path(__file__).parent / "fixtures" / "workbook-v1.heron"
FIXTURE_ID = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
V1_RECORDS = (
    "id, kind, sharing, occurred_on, occurred_at, created_at, updated_at, deleted_at, revision,"
    " data"
)
V1_REVISIONS = "record_id, revision, kind, sharing, saved_at, deleted, data"


def raw(path: Path) -> dict[str, Any]:
    """Everything a workbook holds, read straight from SQLite."""
    db = sqlite3.connect(path)
    try:
        tables = {
            name for (name,) in db.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")
        }
        return {
            "user_version": db.execute("PRAGMA user_version").fetchone()[0],
            "application_id": db.execute("PRAGMA application_id").fetchone()[0],
            "tables": tables,
            "meta": dict(db.execute("SELECT key, value FROM meta").fetchall()),
            # the columns version 1 made (later versions add columns after them)
            "records": db.execute(f"SELECT {V1_RECORDS} FROM records ORDER BY id").fetchall(),
            "revisions": db.execute(
                f"SELECT {V1_REVISIONS} FROM revisions ORDER BY record_id, revision"
            ).fetchall(),
        }
    finally:
        db.close()


@pytest.fixture(scope="module")
def original() -> dict[str, Any]:
    """The fixture's contents, read before anything upgrades it."""
    return raw(FIXTURE)


@pytest.fixture
def v1_path(tmp_path: Path) -> Path:
    path = tmp_path / "old.heron"
    shutil.copyfile(FIXTURE, path)
    path.chmod(0o600)
    return path


def test_the_fixture_is_a_version_1_workbook(original: dict[str, Any]) -> None:
    assert original["user_version"] == 1
    assert original["application_id"] == APPLICATION_ID
    assert original["tables"] == {"meta", "records", "revisions"}
    assert original["meta"]["workbook_id"] == FIXTURE_ID
    assert len(original["records"]) == 6
    assert len(original["revisions"]) == 8
    assert not Path(f"{FIXTURE}-wal").exists()


def test_opening_upgrades_to_the_current_schema(v1_path: Path) -> None:
    with Workbook.open(v1_path) as wb:
        assert wb.schema_version == SCHEMA_VERSION

    after = raw(v1_path)
    assert after["user_version"] == SCHEMA_VERSION
    assert after["application_id"] == APPLICATION_ID
    assert "events" in after["tables"]
    assert len(MIGRATIONS) == SCHEMA_VERSION


def test_every_row_survives_the_upgrade(v1_path: Path, original: dict[str, Any]) -> None:
    Workbook.open(v1_path).close()

    after = raw(v1_path)

    assert after["records"] == original["records"]
    assert after["revisions"] == original["revisions"]
    assert after["meta"] == original["meta"]


def test_the_upgrade_gives_every_row_the_side_that_wrote_it(v1_path: Path) -> None:
    """Migration 3: stored rows are the client's, except kinds only the practitioner writes
    (the fixture has none: a peer review is added to the v2 file below, as v2 wrote it)."""
    db = sqlite3.connect(v1_path)
    review = {
        "id": "r0000000000000000000000000000001",
        "sharing": "practitioner",
        "held_on": "2025-01-20",
        "period_start": "2025-01-01",
        "period_end": "2025-01-20",
    }
    with db:
        db.execute(
            "INSERT INTO records VALUES (?, 'peer_review', 'practitioner', '2025-01-20', NULL,"
            " '2025-01-20T10:00:00.000000Z', '2025-01-20T10:00:00.000000Z', NULL, 1, ?)",
            (review["id"], json.dumps(review, sort_keys=True)),
        )
        db.execute(
            "INSERT INTO revisions VALUES (?, 1, 'peer_review', 'practitioner',"
            " '2025-01-20T10:00:00.000000Z', 0, ?)",
            (review["id"], json.dumps(review, sort_keys=True)),
        )
    db.close()
    with Workbook.open(v1_path) as wb:
        sides = {
            s.id: s.side for kind in RECORD_TYPES for s in wb.records(kind, include_deleted=True)
        }
        history = {v.side for rid in sides for v in wb.history(rid) if rid == review["id"]}
        assert wb.side is Side.CLIENT and not wb.is_practice
        assert wb.client_workbook_id == FIXTURE_ID
    assert sides.pop(review["id"]) is Side.PRACTITIONER and history == {Side.PRACTITIONER}
    assert set(sides.values()) == {Side.CLIENT} and len(sides) == 6


def test_every_record_reads_back_as_it_was_stored(v1_path: Path, original: dict[str, Any]) -> None:
    with Workbook.open(v1_path) as wb:
        for rid, kind, sharing, _day, _at, created, updated, deleted, revision, data in original[
            "records"
        ]:
            stored = wb.get_stored(rid)
            assert stored.kind == kind
            assert stored.sharing == sharing
            assert stored.revision == revision
            assert stored.created_at == parse_stamp(created)
            assert stored.updated_at == parse_stamp(updated)
            assert stored.deleted_at == (parse_stamp(deleted) if deleted else None)
            assert stored.record.to_data() == json.loads(data), rid
        counts = wb.counts(include_deleted=True)
        assert sum(counts.values()) == len(original["records"])
        assert wb.counts()["emotion_episode"] == 1  # the other one was deleted in v1
        assert wb.id == FIXTURE_ID


def test_history_survives_the_upgrade(v1_path: Path, original: dict[str, Any]) -> None:
    with Workbook.open(v1_path) as wb:
        edited = wb.history("e0000000000000000000000000000001")
        deleted = wb.history("e0000000000000000000000000000002")

        assert [r.revision for r in edited] == [1, 2]
        assert edited[0].data["situation"] == "Sam moved the deadline"
        assert edited[1].data["situation"] == "Sam moved the deadline, again"
        assert [r.deleted for r in deleted] == [False, True]

        restored = wb.restore("e0000000000000000000000000000002")
        assert restored.revision == 3
        assert restored.record.situation == "a bad night"


def test_the_upgraded_workbook_is_fully_usable(v1_path: Path) -> None:
    with Workbook.open(v1_path) as wb:
        episode = EmotionEpisode(situation="after", emotions=[{"emotion": "joy", "intensity": 2}])
        wb.save(episode)
        wb.log_event("export", "test")
        frame = wb.frame("emotion_episode")
        health = wb.check()

    assert set(frame["id"]) == {"e0000000000000000000000000000001", episode.id}
    assert health.ok
    assert health.schema_version == SCHEMA_VERSION
    assert health.revisions == 9


def test_the_upgraded_file_reopens(v1_path: Path, original: dict[str, Any]) -> None:
    Workbook.open(v1_path).close()

    with Workbook.open(v1_path) as again:
        assert again.schema_version == SCHEMA_VERSION
        assert again.check().ok
    with Workbook.open(v1_path, readonly=True) as readonly:
        assert readonly.schema_version == SCHEMA_VERSION
        assert len(readonly.records("emotion_episode", include_deleted=True)) == 2
    assert raw(v1_path)["records"] == original["records"]


def test_the_upgraded_workbook_uses_wal(v1_path: Path) -> None:
    Workbook.open(v1_path).close()

    db = sqlite3.connect(v1_path)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        db.close()


def test_periods_still_use_the_local_day_after_the_upgrade(v1_path: Path) -> None:
    from datetime import date

    with Workbook.open(v1_path) as wb:
        # recorded at 00:30 on the 17th, local time (23:30 on the 16th, UTC)
        on_17th = wb.records("emotion_episode", since=date(2025, 1, 17), until=date(2025, 1, 17))
        on_16th = wb.records("emotion_episode", since=date(2025, 1, 16), until=date(2025, 1, 16))

    assert [s.id for s in on_17th] == ["e0000000000000000000000000000001"]
    assert on_16th == []


def test_opening_an_old_workbook_read_only_is_refused(v1_path: Path) -> None:
    before = v1_path.read_bytes()

    with pytest.raises(WorkbookReadOnlyError) as caught:
        Workbook.open(v1_path, readonly=True)

    message = str(caught.value)
    assert str(v1_path) in message
    assert "uses an older workbook format (1)" in message
    assert "open it once without read-only to upgrade it" in message
    assert v1_path.read_bytes() == before
    assert raw(v1_path)["user_version"] == 1


BROKEN_STEP = Migration(
    SCHEMA_VERSION + 1,
    "a step that fails half-way",
    (
        "CREATE TABLE half_done (x INTEGER) STRICT",
        "INSERT INTO meta (key, value) VALUES ('half', 'done')",
        "THIS IS NOT SQL",
    ),
)


def test_a_failing_step_leaves_the_file_fully_at_the_old_version(
    v1_path: Path, original: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    broken_v2 = Migration(
        2,
        "version 2 that fails on its second statement",
        (MIGRATIONS[1].statements[0], "CREATE TABLE events (oops"),
    )
    monkeypatch.setattr(store, "MIGRATIONS", (MIGRATIONS[0], broken_v2))
    monkeypatch.setattr(store, "SCHEMA_VERSION", 2)

    with pytest.raises(WorkbookError) as caught:
        Workbook.open(v1_path)

    assert str(v1_path) in str(caught.value)
    after = raw(v1_path)
    assert after["user_version"] == 1
    assert after["tables"] == {"meta", "records", "revisions"}  # no half-made events table
    assert after["records"] == original["records"]
    assert after["revisions"] == original["revisions"]
    assert after["meta"] == original["meta"]

    monkeypatch.undo()
    with Workbook.open(v1_path) as wb:  # the real migrations still work afterwards
        assert wb.schema_version == SCHEMA_VERSION


def test_each_step_is_its_own_transaction(
    v1_path: Path, original: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "MIGRATIONS", (*MIGRATIONS, BROKEN_STEP))
    monkeypatch.setattr(store, "SCHEMA_VERSION", BROKEN_STEP.version)

    with pytest.raises(WorkbookError):
        Workbook.open(v1_path)

    after = raw(v1_path)
    assert after["user_version"] == SCHEMA_VERSION  # every real step was committed
    assert "events" in after["tables"]
    assert "half_done" not in after["tables"]  # the broken step left nothing
    assert "half" not in after["meta"]
    assert after["records"] == original["records"]


def test_a_failed_upgrade_leaves_no_connection_open(
    v1_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "MIGRATIONS", (*MIGRATIONS, BROKEN_STEP))
    monkeypatch.setattr(store, "SCHEMA_VERSION", BROKEN_STEP.version)
    opened: list[sqlite3.Connection] = []
    real_connect = sqlite3.connect

    def spy(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        db = real_connect(*args, **kwargs)
        opened.append(db)
        return db

    monkeypatch.setattr(sqlite3, "connect", spy)

    with pytest.raises(WorkbookError):
        Workbook.open(v1_path)

    still_open = []
    for db in opened:
        try:
            db.execute("SELECT 1")
        except sqlite3.ProgrammingError:
            continue
        still_open.append(db)
        db.close()
    assert opened
    assert not still_open, "the failed upgrade left its connection open"


def test_the_fixture_script_reproduces_the_committed_file(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "make_v1_fixture", FIXTURE.parent / "make_v1_fixture.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rebuilt = tmp_path / "rebuilt.heron"

    module.build(rebuilt)

    assert raw(rebuilt) == raw(FIXTURE)
