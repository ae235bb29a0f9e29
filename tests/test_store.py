"""The workbook store: files, refusals, history, transactions, frames and health."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from support import CLOCK_START, StepClock, one_of_each_kind

from heron_research.errors import (
    HeronError,
    NewerWorkbookError,
    NotAWorkbookError,
    RecordNotFoundError,
    RecordValidationError,
    WorkbookBusyError,
    WorkbookCorruptError,
    WorkbookError,
    WorkbookExistsError,
    WorkbookNotFoundError,
    WorkbookReadOnlyError,
)
from heron_research.records import RECORD_TYPES, EmotionEpisode, Person, Record
from heron_research.workbook import SCHEMA_VERSION, Workbook, table_names
from heron_research.workbook.schema import APPLICATION_ID

pytestmark = pytest.mark.unit

MakeEpisode = Callable[..., EmotionEpisode]


def mode(path: Path | str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def user_version(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        return int(db.execute("PRAGMA user_version").fetchone()[0])
    finally:
        db.close()


def ids(stored: list[Any]) -> list[str]:
    return [s.id for s in stored]


def edited(record: Record, **changes: Any) -> Record:
    """A validated copy of ``record`` with ``changes``, as a form would make it."""
    return type(record).from_data({**record.to_data(), **changes})


# --- creating and opening ----------------------------------------------------------------


def test_create_makes_an_empty_workbook_at_the_current_schema(workbook_path: Path) -> None:
    with Workbook.create(workbook_path, clock=StepClock()) as wb:
        assert wb.schema_version == SCHEMA_VERSION
        assert wb.counts() == dict.fromkeys(RECORD_TYPES, 0)
        assert len(wb.id) == 32 and int(wb.id, 16) >= 0
        assert wb.created_at == CLOCK_START
        assert not wb.readonly
        workbook_id = wb.id

    assert user_version(workbook_path) == SCHEMA_VERSION
    with Workbook.open(workbook_path) as again:
        assert again.id == workbook_id
        assert again.schema_version == SCHEMA_VERSION


def test_create_takes_a_workbook_id(workbook_path: Path) -> None:
    with Workbook.create(workbook_path, workbook_id="client-0042") as wb:
        assert wb.id == "client-0042"


def test_the_file_is_marked_as_a_heron_workbook(workbook: Workbook) -> None:
    db = sqlite3.connect(workbook.path)
    try:
        application_id = db.execute("PRAGMA application_id").fetchone()[0]
        journal_mode = db.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        db.close()

    assert application_id == APPLICATION_ID
    assert journal_mode == "wal"


def test_create_makes_missing_folders_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "new-folder" / "client.heron"

    with Workbook.create(path):
        pass

    assert path.exists()
    assert mode(path.parent) == 0o700


def test_create_and_open_accept_text_paths(workbook_path: Path) -> None:
    Workbook.create(str(workbook_path)).close()

    with Workbook.open(str(workbook_path)) as wb:
        assert wb.path == workbook_path


@pytest.mark.parametrize("umask", [0o022, 0o000])
def test_file_and_its_wal_and_shm_are_owner_only(
    workbook_path: Path, make_episode: MakeEpisode, umask: int
) -> None:
    old = os.umask(umask)
    try:
        wb = Workbook.create(workbook_path)
        try:
            wb.save(make_episode())
            files = [workbook_path, Path(f"{workbook_path}-wal"), Path(f"{workbook_path}-shm")]
            assert all(f.exists() for f in files)
            modes = {f.name: oct(mode(f)) for f in files}
        finally:
            wb.close()
    finally:
        os.umask(old)

    assert modes == {f.name: "0o600" for f in files}
    assert mode(workbook_path) == 0o600


def _create_and_hang(path: str, signal_file: str) -> None:
    """In a child process: start creating ``path`` and never finish (killed by the test)."""
    import time

    def clock() -> datetime:  # create asks the clock for created_at part-way through
        Path(signal_file).touch()
        time.sleep(600)
        return datetime.now(UTC)

    Workbook.create(path, clock=clock)


def _partials(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f".{path.name}.*.creating*"))


def test_what_a_killed_create_left_is_swept_but_never_a_create_in_progress(
    tmp_path: Path,
) -> None:
    import multiprocessing
    import time

    path = tmp_path / "client.heron"
    started = tmp_path / "started"
    child = multiprocessing.get_context("spawn").Process(
        target=_create_and_hang, args=(str(path), str(started))
    )
    child.start()
    try:
        deadline = time.monotonic() + 60
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert started.exists(), "the child never reached the middle of create"
        in_progress = _partials(path)
        assert in_progress, "no partial file while the child creates"

        # another program makes the workbook meanwhile and opens it: the child's file,
        # still being built, is left alone
        Workbook.create(path).close()
        Workbook.open(path).close()
        assert _partials(path) == in_progress
    finally:
        child.kill()
        child.join(30)

    # the child was killed mid-create: its leftovers go at the next writable open
    Workbook.open(path, readonly=True).close()
    assert _partials(path) == in_progress  # a read-only open changes nothing
    with Workbook.open(path) as wb:
        assert wb.records("emotion_episode") == []
    assert _partials(path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["client.heron", "started"]


def test_a_second_name_left_by_a_killed_create_is_removed_and_the_workbook_kept(
    workbook_path: Path, make_episode: MakeEpisode
) -> None:
    """Killed between linking the finished file to its name and removing the temporary one."""
    with Workbook.create(workbook_path) as wb:
        wb.save(make_episode())
    second = workbook_path.with_name(f".{workbook_path.name}.0123456789ab.creating")
    os.link(workbook_path, second)

    with Workbook.open(workbook_path) as wb:
        assert len(wb.records("emotion_episode")) == 1
    assert not second.exists()
    with Workbook.open(workbook_path) as wb:
        assert len(wb.records("emotion_episode")) == 1
        assert wb.check().integrity == "ok"


def test_a_killed_creates_journal_goes_with_it_and_other_files_stay(workbook_path: Path) -> None:
    """Killed while SQLite had a rollback journal (before the switch to WAL)."""
    Workbook.create(workbook_path).close()
    folder = workbook_path.parent
    dead = folder / f".{workbook_path.name}.aaaaaaaaaaaa.creating"
    orphan = folder / f".{workbook_path.name}.bbbbbbbbbbbb.creating-journal"
    unrelated = [
        folder / f".{workbook_path.name}.cccccccccccc.creating-notes",
        folder / ".other.heron.dddddddddddd.creating",
        folder / "notes.creating",
    ]
    for file in [dead, Path(f"{dead}-journal"), orphan, *unrelated]:
        file.write_bytes(b"x")

    Workbook.open(workbook_path).close()

    assert sorted(p for p in folder.iterdir() if ".creating" in p.name) == sorted(unrelated)


def test_create_refuses_an_existing_file(workbook_path: Path) -> None:
    workbook_path.write_bytes(b"my precious notes")

    with pytest.raises(WorkbookExistsError) as caught:
        Workbook.create(workbook_path)

    err = caught.value
    assert isinstance(err, FileExistsError)
    assert isinstance(err, HeronError)
    assert str(err) == f"{workbook_path} already exists; choose another name"
    assert err.path == workbook_path
    assert workbook_path.read_bytes() == b"my precious notes"


def test_create_refuses_an_existing_workbook(workbook: Workbook, make_episode: MakeEpisode) -> None:
    episode = make_episode()
    workbook.save(episode)

    with pytest.raises(WorkbookExistsError):
        Workbook.create(workbook.path)

    assert workbook.get(episode.id) == episode
    assert workbook.counts()["emotion_episode"] == 1


# --- refused files -----------------------------------------------------------------------


def _missing(path: Path) -> None:
    pass


def _directory(path: Path) -> None:
    path.mkdir()


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _random_bytes(path: Path) -> None:
    path.write_bytes(bytes(range(256)) * 40)


def _text(path: Path) -> None:
    path.write_text("date,situation\n2025-03-14,meeting\n", encoding="utf-8")


def _foreign_sqlite(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE contacts (name TEXT, phone TEXT)")
    db.execute("INSERT INTO contacts VALUES ('Sam', '0123')")
    db.commit()
    db.close()


def _foreign_sqlite_other_app(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("PRAGMA application_id = 1234")
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()


def _empty_sqlite(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 1")  # writes a header, no tables
    db.commit()
    db.close()


def _newer(path: Path) -> None:
    Workbook.create(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()


def _truncated(path: Path) -> None:
    with Workbook.create(path) as wb:
        wb.save_many(
            EmotionEpisode(situation=f"s{i}" * 200, emotions=[{"emotion": "joy", "intensity": 1}])
            for i in range(40)
        )
    size = path.stat().st_size
    assert size > 16_384
    with path.open("r+b") as fh:
        fh.truncate(size // 2)


REFUSED: dict[str, tuple[Callable[[Path], None], type[WorkbookError], type[Exception], str]] = {
    "missing path": (_missing, WorkbookNotFoundError, FileNotFoundError, "no such workbook"),
    "a folder": (_directory, NotAWorkbookError, ValueError, "is a folder, not a workbook file"),
    "empty file": (_empty, NotAWorkbookError, ValueError, "it is not an SQLite database"),
    "random bytes": (_random_bytes, NotAWorkbookError, ValueError, "it is not an SQLite database"),
    "a text file": (_text, NotAWorkbookError, ValueError, "it is not an SQLite database"),
    "someone else's SQLite file": (
        _foreign_sqlite,
        NotAWorkbookError,
        ValueError,
        "is an SQLite database, but not a heron-research workbook",
    ),
    "another application's SQLite file": (
        _foreign_sqlite_other_app,
        NotAWorkbookError,
        ValueError,
        "is an SQLite database, but not a heron-research workbook",
    ),
    "an empty SQLite file": (
        _empty_sqlite,
        NotAWorkbookError,
        ValueError,
        "is an SQLite database, but not a heron-research workbook",
    ),
    "a newer workbook": (
        _newer,
        NewerWorkbookError,
        ValueError,
        f"uses workbook format {SCHEMA_VERSION + 1}, but this heron-research understands "
        f"formats up to {SCHEMA_VERSION}. Upgrade heron-research to open it; the file was "
        "not changed.",
    ),
    "a truncated workbook": (
        _truncated,
        WorkbookCorruptError,
        ValueError,
        "is damaged and cannot be read",
    ),
}


def _snapshot(path: Path) -> bytes | None:
    """The bytes of a file, or None where there is no such file."""
    return path.read_bytes() if path.is_file() else None


@pytest.mark.parametrize("readonly", [False, True], ids=["read-write", "read-only"])
@pytest.mark.parametrize("case", list(REFUSED))
def test_refused_files(tmp_path: Path, case: str, readonly: bool) -> None:
    make, error, builtin, words = REFUSED[case]
    path = tmp_path / "suspect.heron"
    make(path)
    before = _snapshot(path)

    with pytest.raises(error) as caught:
        Workbook.open(path, readonly=readonly)

    err = caught.value
    assert isinstance(err, builtin)
    assert isinstance(err, WorkbookError)
    assert str(path) in str(err)
    assert words in str(err)
    assert "\n" not in str(err)
    assert err.path == path
    assert _snapshot(path) == before, "a refused file must be left exactly as it was"
    wal = Path(f"{path}-wal")
    assert not wal.exists() or wal.stat().st_size == 0, "nothing may be written to it"


def test_newer_workbook_error_carries_the_versions(tmp_path: Path) -> None:
    path = tmp_path / "newer.heron"
    _newer(path)

    with pytest.raises(NewerWorkbookError) as caught:
        Workbook.open(path)

    assert (caught.value.found, caught.value.supported) == (SCHEMA_VERSION + 1, SCHEMA_VERSION)
    assert user_version(path) == SCHEMA_VERSION + 1


@pytest.mark.parametrize(
    "case", ["a truncated workbook", "a newer workbook", "someone else's SQLite file"]
)
def test_a_refused_file_leaves_no_connection_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    make, error, _, _ = REFUSED[case]
    path = tmp_path / "suspect.heron"
    make(path)
    opened: list[sqlite3.Connection] = []
    real_connect = sqlite3.connect

    def spy(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        db = real_connect(*args, **kwargs)
        opened.append(db)
        return db

    monkeypatch.setattr(sqlite3, "connect", spy)

    with pytest.raises(error):
        Workbook.open(path)

    assert opened, "the spy saw no connection"
    still_open = []
    for db in opened:
        try:
            db.execute("SELECT 1")
        except sqlite3.ProgrammingError:
            continue  # closed, as it should be
        still_open.append(db)
        db.close()
    assert not still_open, f"{len(still_open)} connection(s) to the refused file left open"


# --- writing: history, deletion, conflicts -----------------------------------------------


def test_save_and_get(workbook: Workbook, make_episode: MakeEpisode) -> None:
    episode = make_episode()

    stored = workbook.save(episode)

    assert stored.revision == 1
    assert stored.record == episode
    assert stored.created_at == stored.updated_at
    assert stored.deleted_at is None
    assert workbook.get(episode.id) == episode
    assert workbook.get_stored(episode.id).revision == 1


def test_edits_keep_every_earlier_version(workbook: Workbook, make_episode: MakeEpisode) -> None:
    first = make_episode(situation="first telling")
    workbook.save(first)
    second = edited(first, situation="second telling")
    third = edited(first, situation="third telling", sharing="practitioner")

    s2 = workbook.save(second)
    s3 = workbook.save(third)

    assert (s2.revision, s3.revision) == (2, 3)
    assert s3.created_at < s3.updated_at
    assert workbook.get(first.id).situation == "third telling"
    history = workbook.history(first.id)
    assert [r.revision for r in history] == [1, 2, 3]
    assert [r.data["situation"] for r in history] == [
        "first telling",
        "second telling",
        "third telling",
    ]
    assert [r.sharing for r in history] == ["private", "private", "practitioner"]
    assert [r.deleted for r in history] == [False, False, False]
    assert history[0].saved_at < history[1].saved_at < history[2].saved_at
    assert EmotionEpisode.from_data(history[0].data) == first


def test_delete_is_reversible(workbook: Workbook, make_episode: MakeEpisode) -> None:
    episode = make_episode()
    keep = make_episode(situation="another day")
    workbook.save_many([episode, keep])

    deleted = workbook.delete(episode.id)

    assert deleted.deleted_at is not None
    assert deleted.revision == 2
    assert ids(workbook.records("emotion_episode")) == [keep.id]
    assert workbook.counts()["emotion_episode"] == 1
    assert workbook.counts(include_deleted=True)["emotion_episode"] == 2
    assert set(workbook.frame("emotion_episode")["id"]) == {keep.id}
    assert workbook.get(episode.id) == episode  # the content is still there

    restored = workbook.restore(episode.id)

    assert restored.deleted_at is None
    assert restored.revision == 3
    assert set(ids(workbook.records("emotion_episode"))) == {episode.id, keep.id}
    assert [r.deleted for r in workbook.history(episode.id)] == [False, True, False]
    assert all(r.data == episode.to_data() for r in workbook.history(episode.id))


def test_deleting_twice_or_restoring_a_live_record_changes_nothing(
    workbook: Workbook, make_episode: MakeEpisode
) -> None:
    episode = make_episode()
    workbook.save(episode)

    workbook.restore(episode.id)
    workbook.delete(episode.id)
    again = workbook.delete(episode.id)

    assert again.revision == 2
    assert len(workbook.history(episode.id)) == 2


def test_deleting_an_unknown_record_is_refused(workbook: Workbook) -> None:
    with pytest.raises(RecordNotFoundError) as caught:
        workbook.delete("nope")

    assert isinstance(caught.value, KeyError)
    assert str(caught.value) == "no record with id nope"


@pytest.mark.parametrize("call", ["get", "get_stored", "history", "restore"])
def test_unknown_ids_are_refused(workbook: Workbook, call: str) -> None:
    with pytest.raises(RecordNotFoundError) as caught:
        getattr(workbook, call)("missing-id")

    assert "no record with id missing-id" in str(caught.value)


def test_expected_revision_guards_an_edit(workbook: Workbook, make_episode: MakeEpisode) -> None:
    episode = make_episode(situation="original")
    workbook.save(episode)
    workbook.save(edited(episode, situation="edited here"), expected_revision=1)
    stale = edited(episode, situation="edited elsewhere")

    with pytest.raises(WorkbookError) as caught:
        workbook.save(stale, expected_revision=1)

    message = str(caught.value)
    assert "was changed elsewhere since it was opened" in message
    assert "(revision 2, you had 1)" in message
    assert "Nothing was overwritten." in message
    assert workbook.get(episode.id).situation == "edited here"
    assert workbook.get_stored(episode.id).revision == 2
    assert len(workbook.history(episode.id)) == 2


def test_expected_revision_for_a_new_record(workbook: Workbook, make_episode: MakeEpisode) -> None:
    brand_new = make_episode()
    workbook.save(brand_new, expected_revision=0)
    ghost = make_episode()

    with pytest.raises(RecordNotFoundError):
        workbook.save(ghost, expected_revision=3)

    assert workbook.get_stored(brand_new.id).revision == 1
    assert ids(workbook.records("emotion_episode")) == [brand_new.id]


def test_an_id_cannot_change_kind(workbook: Workbook, make_episode: MakeEpisode) -> None:
    episode = make_episode()
    workbook.save(episode)

    with pytest.raises(WorkbookError) as caught:
        workbook.save(Person(id=episode.id, alias="Sam"))

    assert f"id {episode.id} belongs to a emotion_episode, not a person" in str(caught.value)
    assert workbook.get(episode.id) == episode
    assert workbook.counts()["person"] == 0


def test_save_takes_records_not_dicts(workbook: Workbook) -> None:
    with pytest.raises(TypeError) as caught:
        workbook.save({"situation": "x"})  # type: ignore[arg-type]

    assert "Record.from_data()" in str(caught.value)


def test_save_many_saves_everything_in_one_go(workbook: Workbook) -> None:
    records = one_of_each_kind()

    stored = workbook.save_many(records)

    assert [s.record for s in stored] == records
    assert workbook.counts() == dict.fromkeys(RECORD_TYPES, 1)
    for record in records:
        assert workbook.get(record.id) == record


def test_save_many_is_all_or_nothing_on_a_conflict(
    workbook: Workbook, make_episode: MakeEpisode
) -> None:
    existing = make_episode()
    workbook.save(existing)
    batch: list[Record] = [
        make_episode(situation="a"),
        make_episode(situation="b"),
        Person(id=existing.id, alias="clash"),  # this id is an episode
        make_episode(situation="c"),
    ]

    with pytest.raises(WorkbookError):
        workbook.save_many(batch)

    assert ids(workbook.records("emotion_episode")) == [existing.id]
    assert workbook.counts() == {**dict.fromkeys(RECORD_TYPES, 0), "emotion_episode": 1}
    assert workbook.check().revisions == 1


def test_save_many_is_all_or_nothing_on_an_invalid_record(
    workbook: Workbook, make_episode: MakeEpisode
) -> None:
    good = make_episode(situation="good")
    # ``model_copy(update=...)`` is how pydantic edits a model, and it does not validate
    spoiled = make_episode().model_copy(update={"emotions": []})

    with pytest.raises(RecordValidationError) as caught:
        workbook.save_many([good, spoiled])

    assert caught.value.for_field("emotions")
    assert workbook.counts()["emotion_episode"] == 0
    assert workbook.check().revisions == 0


@pytest.mark.parametrize(
    "change",
    [
        {"situation": ""},
        {"emotions": []},
        {"proportionality": 42},
        {"occurred_at": datetime(1066, 10, 14, tzinfo=UTC)},
    ],
    ids=["empty-situation", "no-emotions", "proportionality-42", "year-1066"],
)
def test_a_record_made_invalid_after_validation_is_not_saved(
    workbook: Workbook, make_episode: MakeEpisode, change: dict[str, Any]
) -> None:
    # Saving an invalid record stores data that can never be read back: every later read
    # of that kind (records, frames, export) would fail. The store must check again.
    kept = make_episode(situation="kept")
    workbook.save(kept)
    spoiled = make_episode().model_copy(update=change)

    with pytest.raises(RecordValidationError) as caught:
        workbook.save(spoiled)

    assert caught.value.for_field(next(iter(change)))
    assert ids(workbook.records("emotion_episode")) == [kept.id]


def test_an_edit_made_with_model_copy_is_saved_when_valid(
    workbook: Workbook, make_episode: MakeEpisode
) -> None:
    episode = make_episode()
    workbook.save(episode)

    workbook.save(episode.model_copy(update={"notes": "added later"}))

    assert workbook.get(episode.id).notes == "added later"
    assert workbook.get_stored(episode.id).revision == 2


# --- transactions ------------------------------------------------------------------------


class Boom(Exception):
    pass


def test_atomic_commits_everything_together(workbook: Workbook, make_episode: MakeEpisode) -> None:
    a, b = make_episode(situation="a"), make_episode(situation="b")

    with workbook.atomic():
        workbook.save(a)
        workbook.save(b)

    assert {s.id for s in workbook.records("emotion_episode")} == {a.id, b.id}


def test_atomic_rolls_back_everything_on_an_error(
    workbook: Workbook, make_episode: MakeEpisode
) -> None:
    a = make_episode(situation="a")
    workbook.save(a)

    with pytest.raises(Boom), workbook.atomic():
        workbook.save(make_episode(situation="b"))
        workbook.save(edited(a, situation="a edited"))
        workbook.delete(a.id)
        raise Boom

    assert workbook.get(a.id).situation == "a"
    assert workbook.get_stored(a.id).deleted_at is None
    assert len(workbook.history(a.id)) == 1
    assert ids(workbook.records("emotion_episode")) == [a.id]


def test_nested_atomic_rolls_back_only_the_inner_block(
    workbook: Workbook, make_episode: MakeEpisode
) -> None:
    outer_before, inner, outer_after = (make_episode(situation=s) for s in ("ob", "in", "oa"))

    with workbook.atomic():
        workbook.save(outer_before)
        with pytest.raises(Boom), workbook.atomic():
            workbook.save(inner)
            raise Boom
        workbook.save(outer_after)

    found = {s.record.situation for s in workbook.records("emotion_episode")}
    assert found == {"ob", "oa"}
    with pytest.raises(RecordNotFoundError):
        workbook.history(inner.id)


def test_nested_atomic_three_deep(workbook: Workbook, make_episode: MakeEpisode) -> None:
    saved = []
    with workbook.atomic():
        saved.append(workbook.save(make_episode(situation="1")).id)
        with workbook.atomic():
            saved.append(workbook.save(make_episode(situation="2")).id)
            with pytest.raises(Boom), workbook.atomic():
                workbook.save(make_episode(situation="3"))
                raise Boom
            saved.append(workbook.save(make_episode(situation="4")).id)

    assert {s.record.situation for s in workbook.records("emotion_episode")} == {"1", "2", "4"}
    assert set(ids(workbook.records("emotion_episode"))) == set(saved)


def test_an_outer_rollback_undoes_a_finished_inner_block(
    workbook: Workbook, make_episode: MakeEpisode
) -> None:
    with pytest.raises(Boom), workbook.atomic():
        with workbook.atomic():
            workbook.save(make_episode(situation="inner"))
        raise Boom

    assert workbook.records("emotion_episode") == []


def test_the_workbook_is_usable_after_a_rollback(
    workbook: Workbook, make_episode: MakeEpisode
) -> None:
    with pytest.raises(Boom), workbook.atomic():
        raise Boom

    later = make_episode()
    workbook.save(later)

    assert ids(workbook.records("emotion_episode")) == [later.id]


def test_other_connections_see_nothing_until_commit(
    workbook: Workbook, make_episode: MakeEpisode
) -> None:
    other = Workbook.open(workbook.path, readonly=True)
    try:
        with workbook.atomic():
            workbook.save(make_episode())
            assert other.records("emotion_episode") == []
        assert len(other.records("emotion_episode")) == 1
    finally:
        other.close()


# --- read-only ---------------------------------------------------------------------------


@pytest.fixture
def readonly_workbook(workbook_path: Path, make_episode: MakeEpisode) -> Iterator[Workbook]:
    with Workbook.create(workbook_path) as wb:
        wb.save(make_episode())
    wb = Workbook.open(workbook_path, readonly=True)
    yield wb
    wb.close()


WRITES: dict[str, Callable[[Workbook, EmotionEpisode], Any]] = {
    "save": lambda wb, ep: wb.save(ep),
    "save_many": lambda wb, ep: wb.save_many([ep]),
    "delete": lambda wb, ep: wb.delete(wb.records("emotion_episode")[0].id),
    "restore": lambda wb, ep: wb.restore(wb.records("emotion_episode")[0].id),
    "log_event": lambda wb, ep: wb.log_event("export"),
    "atomic": lambda wb, ep: wb.atomic().__enter__(),
}


@pytest.mark.parametrize("write", list(WRITES))
def test_readonly_refuses_writes(
    readonly_workbook: Workbook, make_episode: MakeEpisode, write: str
) -> None:
    wb = readonly_workbook
    before = wb.path.read_bytes()

    with pytest.raises(WorkbookReadOnlyError) as caught:
        WRITES[write](wb, make_episode())

    assert isinstance(caught.value, PermissionError)
    assert str(caught.value) == f"{wb.path} was opened read-only"
    assert wb.path.read_bytes() == before
    assert len(wb.records("emotion_episode")) == 1


def test_readonly_can_read(readonly_workbook: Workbook) -> None:
    wb = readonly_workbook

    assert wb.readonly
    assert len(wb.frame("emotion_episode")) == 1
    assert wb.check().ok
    assert wb.counts()["emotion_episode"] == 1


# --- misuse is explained -----------------------------------------------------------------


def test_a_closed_workbook_says_it_is_closed_not_damaged(
    workbook_path: Path, make_episode: MakeEpisode
) -> None:
    wb = Workbook.create(workbook_path)
    wb.close()

    with pytest.raises(WorkbookError) as caught:
        wb.save(make_episode())

    assert not isinstance(caught.value, WorkbookCorruptError)
    assert "closed" in str(caught.value)
    assert "damaged" not in str(caught.value)


def test_unknown_kind_is_refused(workbook: Workbook) -> None:
    with pytest.raises(ValueError) as caught:
        workbook.records("dream")

    assert "unknown record kind 'dream'; known kinds: consent, person" in str(caught.value)


def test_unknown_child_table_is_refused(workbook: Workbook) -> None:
    with pytest.raises(ValueError) as caught:
        workbook.frame("emotion_episode.colours")

    assert "emotion_episode has no list 'colours'" in str(caught.value)
    assert "emotion_episode.emotions" in str(caught.value)


# --- frames ------------------------------------------------------------------------------

CEST = timezone(timedelta(hours=2))


def test_episode_frame_types_and_values(workbook: Workbook, make_episode: MakeEpisode) -> None:
    episode = make_episode(
        occurred_at=datetime(2025, 6, 14, 18, 30, tzinfo=CEST), sharing="research"
    )
    workbook.save(episode)

    df = workbook.frame("emotion_episode")

    assert df["id"].dtype == "string"
    assert isinstance(df["sharing"].dtype, pd.CategoricalDtype)
    assert list(df["sharing"].cat.categories) == ["private", "practitioner", "research"]
    assert df["sharing"].cat.ordered
    assert str(df["occurred_at"].dtype) == "datetime64[ns, UTC]"
    assert str(df["occurred_at_local"].dtype) == "datetime64[ns]"
    assert str(df["created_at"].dtype) == "datetime64[ns, UTC]"
    assert df["situation"].dtype == "string"
    assert df["proportionality"].dtype == "Int64"
    assert df["revision"].dtype == "Int64"
    assert df["peak_intensity"].dtype == "Int64"
    row = df.iloc[0]
    assert row["id"] == episode.id
    assert row["sharing"] == "research"
    assert row["occurred_at"] == pd.Timestamp("2025-06-14 16:30", tz="UTC")
    assert row["occurred_at_local"] == pd.Timestamp("2025-06-14 18:30")
    assert row["peak_intensity"] == 7
    assert row["n_emotions"] == 2
    assert row["created_at"] == pd.Timestamp(workbook.get_stored(episode.id).created_at)
    assert "emotions" not in df.columns  # lists live in child tables


def test_emotion_child_table(workbook: Workbook, make_episode: MakeEpisode) -> None:
    first = make_episode(
        emotions=[
            {"emotion": "anger", "intensity": 7},
            {"emotion": "Weltschmerz", "intensity": 3},
            {"emotion": "fear", "intensity": 0},
        ]
    )
    second = make_episode(emotions=[{"emotion": "joy", "intensity": 9}])
    workbook.save_many([first, second])

    df = workbook.frame("emotion_episode.emotions").sort_values(["emotion_episode_id", "position"])

    assert list(df.columns) == ["emotion_episode_id", "position", "emotion", "intensity", "custom"]
    assert df["emotion_episode_id"].dtype == "string"
    assert df["position"].dtype == "Int64"
    assert df["emotion"].dtype == "string"
    assert df["intensity"].dtype == "Int64"
    assert df["custom"].dtype == "boolean"
    mine = df[df["emotion_episode_id"] == first.id]
    assert list(mine["position"]) == [0, 1, 2]
    assert list(mine["emotion"]) == ["anger", "Weltschmerz", "fear"]
    assert list(mine["intensity"]) == [7, 3, 0]
    assert list(mine["custom"]) == [False, True, False]
    assert len(df) == 4


def test_people_and_self_management_child_tables(
    workbook: Workbook, make_episode: MakeEpisode
) -> None:
    episode = make_episode(
        people=["p-1", "p-2"],
        self_management=[
            {"technique": "pausing before acting", "intensity_after": 4},
            {"technique": "shouting into a pillow", "skill": "catharsis", "intensity_after": 2},
        ],
    )
    workbook.save(episode)

    people = workbook.frame("emotion_episode.people")
    steps = workbook.frame("emotion_episode.self_management")

    assert list(people.columns) == ["emotion_episode_id", "position", "person_id"]
    assert list(people["person_id"]) == ["p-1", "p-2"]
    assert people["person_id"].dtype == "string"
    assert list(steps["technique"]) == ["pausing before acting", "shouting into a pillow"]
    assert isinstance(steps["skill"].dtype, pd.CategoricalDtype)
    assert list(steps["skill"].cat.categories) == [
        "expression",
        "control",
        "catharsis",
        "transmutation",
    ]
    assert list(steps["skill"].astype(str)) == ["control", "catharsis"]
    assert list(steps["intensity_before"]) == [7, 7]
    assert steps["intensity_after"].dtype == "Int64"
    assert list(steps["custom"]) == [False, True]


def test_check_in_frames(workbook: Workbook) -> None:
    from heron_research.records import CheckIn

    phq = CheckIn(
        taken_at=datetime(2025, 2, 1, 8, tzinfo=UTC),
        instrument="phq9",
        answers=[1, 2, 3, 0, 1, 2, 1, 1, 1],
    )
    gad = CheckIn(taken_at=datetime(2025, 2, 2, 8, tzinfo=UTC), instrument="gad7", answers=[0] * 7)
    workbook.save_many([phq, gad])

    df = workbook.frame("check_in").set_index("id")
    answers = workbook.frame("check_in.answers")

    assert isinstance(df["instrument"].dtype, pd.CategoricalDtype)
    assert list(df["instrument"].cat.categories) == ["phq9", "gad7", "wellbeing"]
    assert df["score"].dtype == "Float64"
    assert df["band"].dtype == "string"
    assert df["item9_flag"].dtype == "boolean"
    assert (df.loc[phq.id, "score"], df.loc[phq.id, "band"]) == (12.0, "moderate")
    assert bool(df.loc[phq.id, "item9_flag"]) is True
    assert (df.loc[gad.id, "score"], df.loc[gad.id, "band"]) == (0.0, "minimal")
    assert list(answers.columns) == ["check_in_id", "position", "answer"]
    assert answers["answer"].dtype == "Int64"
    mine = answers[answers["check_in_id"] == phq.id]
    assert list(mine["answer"]) == [1, 2, 3, 0, 1, 2, 1, 1, 1]
    assert list(mine["position"]) == list(range(9))
    assert len(answers) == 16


def test_nested_groups_become_prefixed_columns(workbook: Workbook) -> None:
    records = one_of_each_kind()
    workbook.save_many(records)

    cycle = workbook.frame("inquiry_cycle").iloc[0]
    review = workbook.frame("review_rating").iloc[0]
    evidence = workbook.frame("projection_hypothesis.evidence")
    confidence = workbook.frame("projection_hypothesis.confidence")

    assert cycle["reflection_experiential"] == "scary"
    assert cycle["reflection_practical"] == "I can do it briefly"
    assert cycle["started_on"] == pd.Timestamp("2025-03-20")
    assert (review["ratings_focus"], review["ratings_overall"]) == (7, 8)
    assert pd.isna(review["ratings_method"])
    assert str(evidence["added_on"].dtype) == "datetime64[ns]"
    assert list(confidence["confidence"]) == [40, 65]
    assert list(confidence["on"]) == [pd.Timestamp("2025-03-16"), pd.Timestamp("2025-04-02")]


@pytest.fixture(scope="module")
def populated_dtypes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    """Column dtypes of every table, from a workbook holding one record of each kind."""
    path = tmp_path_factory.mktemp("full") / "full.heron"
    with Workbook.create(path) as wb:
        wb.save_many(one_of_each_kind())
        return {t: {c: str(d) for c, d in wb.frame(t).dtypes.items()} for t in table_names()}


@pytest.mark.parametrize("table", table_names())
def test_an_empty_workbook_has_every_column_with_its_type(
    workbook: Workbook, populated_dtypes: dict[str, dict[str, str]], table: str
) -> None:
    df = workbook.frame(table)

    assert df.empty
    assert {c: str(d) for c, d in df.dtypes.items()} == populated_dtypes[table]
    assert "object" not in {str(d) for d in df.dtypes}, "untyped (object) columns"


@pytest.mark.parametrize("table", table_names())
def test_populated_tables_have_rows_and_no_object_columns(
    populated_dtypes: dict[str, dict[str, str]], table: str
) -> None:
    dtypes = populated_dtypes[table]

    assert dtypes, "no columns"
    assert "object" not in dtypes.values()


def test_table_names_cover_every_kind_and_list() -> None:
    names = table_names()

    assert [n for n in names if "." not in n] == list(RECORD_TYPES)
    assert {
        "emotion_episode.emotions",
        "emotion_episode.people",
        "emotion_episode.self_management",
        "projection_hypothesis.evidence",
        "projection_hypothesis.confidence",
        "inquiry_cycle.episode_ids",
        "check_in.answers",
    } <= set(names)
    assert table_names("check_in") == ["check_in", "check_in.answers"]


# --- health ------------------------------------------------------------------------------


def test_check_reports_a_healthy_workbook(workbook: Workbook, make_episode: MakeEpisode) -> None:
    records = one_of_each_kind()
    workbook.save_many(records)
    extra = make_episode()
    workbook.save(extra)
    workbook.save(edited(extra, notes="edited"))
    workbook.delete(records[1].id)  # the person

    health = workbook.check()

    assert health.ok
    assert health.integrity == "ok"
    assert health.path == workbook.path
    assert health.workbook_id == workbook.id
    assert health.schema_version == SCHEMA_VERSION
    assert health.counts == {
        **dict.fromkeys(RECORD_TYPES, 1),
        "emotion_episode": 2,
        "person": 0,
    }
    assert list(health.counts) == list(RECORD_TYPES)
    assert health.deleted == 1
    assert health.revisions == len(records) + 2 + 1
    assert health.file_mode == "0o600"


def test_check_on_an_empty_workbook(workbook: Workbook) -> None:
    health = workbook.check()

    assert health.ok
    assert health.counts == dict.fromkeys(RECORD_TYPES, 0)
    assert (health.deleted, health.revisions) == (0, 0)


def test_records_come_back_in_time_order(workbook: Workbook, make_episode: MakeEpisode) -> None:
    days = [date(2025, 3, d) for d in (20, 3, 11)]
    for day in days:
        workbook.save(make_episode(occurred_at=datetime(day.year, day.month, day.day, tzinfo=UTC)))

    found = [s.record.occurred_at.date() for s in workbook.records("emotion_episode")]

    assert found == sorted(days)


def test_the_workbook_clock_stamps_saves(workbook: Workbook, make_episode: MakeEpisode) -> None:
    first = workbook.save(make_episode())
    second = workbook.save(make_episode())

    assert first.created_at >= CLOCK_START
    assert second.created_at - first.created_at >= timedelta(seconds=1)
    assert workbook.now() > second.created_at


def test_frames_gives_every_table_of_a_kind_as_frame_does(
    workbook: Workbook, make_episode: Callable[..., EmotionEpisode]
) -> None:
    workbook.save_many([make_episode(situation=f"s{i}") for i in range(3)])
    frames = workbook.frames("emotion_episode", since=date(2025, 1, 1))
    assert list(frames) == table_names("emotion_episode")
    for name, frame in frames.items():
        pd.testing.assert_frame_equal(frame, workbook.frame(name, since=date(2025, 1, 1)))
    assert len(frames["emotion_episode.emotions"]) == 6


def test_stamps_round_trip() -> None:
    from heron_research.workbook.store import parse_stamp, stamp

    moment = datetime(2025, 3, 14, 18, 30, 5, 123456, tzinfo=UTC)
    assert parse_stamp(stamp(moment)) == moment
    assert parse_stamp(stamp(moment)).tzinfo is UTC


def test_opening_a_locked_workbook_says_busy_not_damaged(
    workbook_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import heron_research.workbook.store as store

    Workbook.create(workbook_path).close()
    monkeypatch.setattr(store, "BUSY_TIMEOUT_S", 0.2)
    holder = sqlite3.connect(workbook_path, isolation_level=None)
    try:
        holder.execute("PRAGMA locking_mode = EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("INSERT INTO meta (key, value) VALUES ('lock-test', 'x')")
        with pytest.raises(WorkbookBusyError, match="busy"):
            Workbook.open(workbook_path)
    finally:
        holder.close()
    Workbook.open(workbook_path).close()


def test_change_count_grows_with_every_change_from_any_connection(
    workbook: Workbook, make_episode: Callable[..., EmotionEpisode]
) -> None:
    start = workbook.change_count()
    stored = workbook.save(make_episode())
    after_save = workbook.change_count()
    workbook.delete(stored.id)
    after_delete = workbook.change_count()
    with Workbook.open(workbook.path) as other:
        other.restore(stored.id)
    assert start < after_save < after_delete < workbook.change_count()
