"""Disk full and read-only (issue 6, case 3): every failed save reaches the user, nothing is lost.

Saves go to a workbook on a 1 MB tmpfs made (and removed) by the test, until the disk is
full. Every save either returns or raises a :class:`WorkbookError` that says the disk is
full; every acknowledged save is still there afterwards and the file passes SQLite's
integrity check. The same through the episode form: it says "Not saved" and keeps what
was typed. Then the same filesystem remounted read-only, and a workbook opened read-only;
and the research batch on a read-only disk, which must say so (not "upgrade it").

Mounting needs root (CAP_SYS_ADMIN); without it the tmpfs tests are skipped with a reason.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from figures import Figures
from research_helpers import KEY_TEXT, build_workbook, participant_records
from support import StepClock, episode_data

from heron_research.cli import main
from heron_research.errors import (
    BATCH_REASONS,
    HeronError,
    WorkbookError,
    WorkbookReadOnlyError,
)
from heron_research.forms import workbook_app
from heron_research.forms.core import RecordForm
from heron_research.records import EmotionEpisode, validate_record
from heron_research.workbook import Workbook

pytestmark = [pytest.mark.reliability, pytest.mark.unit]

BIG = 19_000  # characters of situation per episode (20,000 allowed): a 1 MB disk fills fast
MAX_SAVES = 500  # far more than fit: the loop must end in a refused save


def _mount(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mount", *args], capture_output=True, text=True, timeout=30, check=False)


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MB tmpfs mounted on a fresh folder, unmounted afterwards (skips if not allowed)."""
    where = tmp_path / "tiny"
    where.mkdir()
    try:
        mounted = _mount("-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(where))
    except FileNotFoundError:
        pytest.skip("no `mount` command: cannot make a size-limited tmpfs")
    if mounted.returncode != 0:
        pytest.skip(
            "cannot mount a 1 MB tmpfs (needs root with CAP_SYS_ADMIN): "
            + (mounted.stderr.strip() or f"mount exited {mounted.returncode}")
        )
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], capture_output=True, timeout=30, check=True)


def remount(where: Path, options: str) -> None:
    done = _mount("-o", f"remount,{options}", str(where))
    assert done.returncode == 0, done.stderr


def episode(n: int) -> EmotionEpisode:
    text = (f"entry {n}: " + "the deadline moved again " * (BIG // 25))[:BIG]
    return validate_record(EmotionEpisode, episode_data(situation=text))


def fill_until_full(wb: Workbook) -> tuple[list[str], WorkbookError]:
    """Save big episodes until one is refused: (ids of acknowledged saves, the refusal)."""
    saved: list[str] = []
    for n in range(MAX_SAVES):
        record = episode(n)
        try:
            stored = wb.save(record)
        except HeronError as exc:
            assert isinstance(exc, WorkbookError), exc
            return saved, exc
        assert stored.id == record.id and stored.revision == 1
        saved.append(stored.id)
    pytest.fail(f"{MAX_SAVES} saves of {BIG:,} characters fitted on a 1 MB disk")


def assert_intact(path: Path, saved: list[str]) -> None:
    """Every acknowledged save is there, once, in a file SQLite finds healthy."""
    with Workbook.open(path) as wb:
        assert wb.check().integrity == "ok"
        stored = wb.records("emotion_episode")
        assert sorted(s.id for s in stored) == sorted(saved)
        for s in stored:
            assert len(s.record.situation) >= BIG
    db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        db.close()


def lost_saves(path: Path, saved: list[str]) -> int:
    """How many acknowledged saves are not in the workbook (read without upgrading it)."""
    db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        present = {rid for (rid,) in db.execute("SELECT id FROM records")}
    finally:
        db.close()
    return len(set(saved) - present)


def assert_full_message(exc: BaseException, path: Path) -> None:
    text = str(exc)
    assert "\n" not in text and "Traceback" not in text
    assert str(path) in text, text
    assert "full" in text and "not saved" in text, text


def fill_episode_form(form: RecordForm, situation: str) -> datetime:
    """Type a valid episode into the form's widgets; returns the time typed."""
    when = datetime(2025, 3, 14, 18, 30)
    form.field("occurred_at").widget.value = when
    form.field("situation").widget.value = situation
    emotions = form.field("emotions")
    if not emotions.rows:
        emotions.add_button.click()
    for f in emotions.rows[0].fields:
        f.widget.value = {"emotion": "anger", "intensity": 7}[f.name]
    return when


def test_saves_on_a_full_disk_fail_loudly_and_lose_nothing(
    tiny_disk: Path, figures: Figures
) -> None:
    path = tiny_disk / "client.heron"
    wb = Workbook.create(path, clock=StepClock())
    try:
        saved, refused = fill_until_full(wb)
        figures.record(3, "saves acknowledged before the 1 MB disk filled", len(saved))
        assert len(saved) >= 3, "the workbook should hold a few entries before the disk fills"
        assert_full_message(refused, path)
        refusals = [refused]
        for n in range(3):  # still full: every further save is refused too, none silently
            with pytest.raises(WorkbookError) as again:
                wb.save(episode(MAX_SAVES + n))
            refusals.append(again.value)
            assert_full_message(again.value, path)
        figures.record(3, "saves refused on the full disk, each saying so", len(refusals))
        # what was saved can still be read while the disk is full
        assert sorted(s.id for s in wb.records("emotion_episode")) == sorted(saved)
    finally:
        wb.close()

    remount(tiny_disk, "size=8m")  # space again: everything acknowledged is there
    lost = lost_saves(path, saved)
    figures.record(3, "silent failures (acknowledged saves missing)", lost, must_be_zero=True)
    assert_intact(path, saved)
    with Workbook.open(path) as wb:
        saved.append(wb.save(episode(-1)).id)
    assert_intact(path, saved)


def test_the_episode_form_says_not_saved_and_keeps_what_was_typed(
    tiny_disk: Path, figures: Figures
) -> None:
    path = tiny_disk / "client.heron"
    wb = Workbook.create(path)
    try:
        saved, _ = fill_until_full(wb)
        form = workbook_app(wb).forms["emotion_episode"]
        # longer than any save that fitted, so it cannot fit where a refused one did not
        typed = ("typed on a full disk: " + "the deadline moved again " * 1000)[:19_999]
        when = fill_episode_form(form, typed)

        form.save_button.click()

        status = form.status.value
        kept = form.field("situation").widget.value == typed
        figures.record(3, "form refused on a full disk, typing kept", "yes" if kept else "NO")
        assert "Not saved" in status and "full" in status, status
        assert form.field("situation").widget.value == typed
        assert form.field("occurred_at").widget.value == when
        assert sorted(s.id for s in wb.records("emotion_episode")) == sorted(saved)

        remount(tiny_disk, "size=8m")  # free space: the same click saves what was kept
        form.save_button.click()
        assert "✓ Saved" in form.status.value, form.status.value
        new = [s for s in wb.records("emotion_episode") if s.id not in saved]
        assert [s.record.situation for s in new] == [typed]
        saved.append(new[0].id)
    finally:
        wb.close()
    assert_intact(path, saved)


def test_a_read_only_disk_refuses_clearly(tiny_disk: Path, figures: Figures) -> None:
    path = tiny_disk / "client.heron"
    with Workbook.create(path) as wb:
        saved = [wb.save(episode(n)).id for n in range(3)]
    before = path.read_bytes()
    remount(tiny_disk, "ro")  # root cannot write here either (unlike a chmod 0400 file)
    try:
        for readonly in (False, True):
            try:
                wb = Workbook.open(path, readonly=readonly)
            except WorkbookError as exc:  # refused at opening: that must say why
                assert str(path) in str(exc), str(exc)
                assert isinstance(exc, WorkbookReadOnlyError), str(exc)
                assert "read-only" in str(exc), str(exc)
                continue
            try:
                with pytest.raises(WorkbookReadOnlyError, match="read-only"):
                    wb.save(episode(99))
                form = workbook_app(wb).forms["emotion_episode"]
                fill_episode_form(form, "typed on a read-only disk")
                form.save_button.click()
                assert "Not saved" in form.status.value, form.status.value
                assert "read-only" in form.status.value, form.status.value
                assert form.field("situation").widget.value == "typed on a read-only disk"
            finally:
                wb.close()
        unchanged = path.read_bytes() == before
        figures.record(3, "read-only disk: file unchanged, saves refused as read-only", unchanged)
        assert unchanged
    finally:
        remount(tiny_disk, "rw")
    assert_intact(path, saved)


def test_a_workbook_opened_read_only_refuses_saves(tmp_path: Path) -> None:
    path = tmp_path / "client.heron"
    with Workbook.create(path) as wb:
        saved = [wb.save(episode(n)).id for n in range(2)]
    before = path.read_bytes()
    path.chmod(0o400)  # root ignores this mode: the read-only open is what is tested
    with Workbook.open(path, readonly=True) as wb:
        with pytest.raises(WorkbookReadOnlyError) as refused:
            wb.save(episode(7))
        assert str(path) in str(refused.value) and "read-only" in str(refused.value)
        form = workbook_app(wb).forms["emotion_episode"]
        fill_episode_form(form, "typed into a read-only workbook")
        form.save_button.click()
        status = form.status.value
        assert "Not saved" in status and "read-only" in status, status
        assert form.field("situation").widget.value == "typed into a read-only workbook"
    assert path.read_bytes() == before
    path.chmod(0o600)
    assert_intact(path, saved)


def _batch(capsys: pytest.CaptureFixture[str], out: Path, key: Path, *inputs: Path) -> str:
    """Run ``heron-research batch`` on ``inputs``; its output, checked to be a clean run."""
    with pytest.raises(SystemExit) as ended:
        main(["batch", *map(str, inputs), "--out", str(out), "--key-file", str(key)])
    stdout, stderr = capsys.readouterr()
    assert ended.value.code == 0, stderr
    assert "Traceback" not in stderr
    return stdout


def test_the_batch_reads_a_workbook_on_a_read_only_disk_and_leaves_it_as_it_was(
    tiny_disk: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], figures: Figures
) -> None:
    """A current, consented workbook on a read-only disk is read (immutably: nothing is
    created beside it) and included; only a workbook of an older format is told to
    upgrade, which needs a disk that can be written."""
    current = build_workbook(tiny_disk / "current.heron", participant_records()[0])
    older = tmp_path / "older.heron"  # on a disk that can be written: it can be upgraded
    older.write_bytes((Path(__file__).parents[1] / "fixtures" / "workbook-v1.heron").read_bytes())
    key = tmp_path / "study.key"
    key.write_bytes(KEY_TEXT + b"\n")
    os.chmod(key, 0o600)
    before = current.read_bytes()
    listing = sorted(p.name for p in tiny_disk.iterdir())
    remount(tiny_disk, "ro")
    try:
        stdout = _batch(capsys, tmp_path / "ds", key, current, older)
    finally:
        remount(tiny_disk, "rw")
    assert current.read_bytes() == before
    assert sorted(p.name for p in tiny_disk.iterdir()) == listing  # no -wal, no -shm

    older_format = BATCH_REASONS["older_format"]
    assert f"erred: {older}: {older_format.words}" in stdout, stdout
    assert f"erred: {current}" not in stdout, stdout
    manifest = json.loads((tmp_path / "ds" / "manifest.json").read_text())
    assert manifest["counts"] == {"inputs": 2, "included": 1, "excluded": 0, "erred": 1}
    assert manifest["erred"] == {"older_format": {"count": 1, "reason": older_format.words}}
    figures.record(3, "batch on a read-only disk: workbook read and left as it was", True)
