"""The batch on a real Dask cluster, reached by its scheduler address, and the CLI command.

One LocalCluster (two single-threaded workers, see the ``scheduler`` fixture) is shared by
the module; one test also lets ``run_batch`` start its own one-process cluster, to compare
1 and 2 workers.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from research_helpers import AS_OF, Participant, digests, sha256

from heron_research.cli import main
from heron_research.research import BatchProgress, run_batch
from heron_research.research.keys import StudyKey
from heron_research.research.tables import TABLES
from heron_research.workbook import Workbook
from heron_research.workbook.portable import write_export


@pytest.fixture
def inputs(tmp_path: Path, make_participant: Callable[..., Participant]) -> Path:
    """A folder of three consented workbooks, one of them also exported, and one more
    participant given only as an export."""
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(3):
        person = make_participant(f"p{i}", custom_emotion="wobbly" if i else None)
        person.path.rename(folder / person.path.name)
    only_export = make_participant("exported")
    with Workbook.open(folder / "p0.heron") as wb:
        write_export(wb, folder / "p0-copy.json")
    with Workbook.open(only_export.path) as wb:
        write_export(wb, folder / "exported.json")
    only_export.path.unlink()
    (folder / ".hidden.heron").write_text("skipped: hidden")
    (folder / "readme.txt").write_text("skipped: not a workbook name")
    return folder


def _corrupt(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[4096 : 6 * 4096] = b"\x00\xff" * (5 * 4096 // 2)
    path.write_bytes(bytes(data))


class _Lock:
    """Another program holding an exclusive lock on a workbook while the batch runs (in its
    own process: POSIX locks are per process, and the batch reads without taking a lock)."""

    _CODE = (
        "import sqlite3, sys\n"
        "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "db.execute('PRAGMA locking_mode = EXCLUSIVE')\n"
        "db.execute('BEGIN EXCLUSIVE')\n"
        "db.execute('SELECT count(*) FROM sqlite_master').fetchone()\n"
        "print('locked', flush=True)\n"
        "sys.stdin.read()\n"
        "db.execute('ROLLBACK')\n"
    )

    def __init__(self, path: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", self._CODE, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "locked"

    def release(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=60)
        assert self.process.stdout is not None
        self.process.stdout.close()


def test_bad_files_are_reported_and_the_rest_processed(
    tmp_path: Path,
    inputs: Path,
    scheduler: str,
    study_key: StudyKey,
    make_participant: Callable[..., Participant],
) -> None:
    _corrupt(make_participant("corrupt").path.rename(inputs / "corrupt.heron"))
    locked = make_participant("locked").path.rename(inputs / "locked.heron")
    newer = make_participant("newer").path.rename(inputs / "newer.heron")
    with sqlite3.connect(newer) as db:
        db.execute("PRAGMA user_version = 7")
    db.close()
    (inputs / "foreign.heron").write_bytes(b"\x89PNG not a workbook")
    everything = sorted(p for p in inputs.rglob("*") if p.is_file())
    before = {p: sha256(p) for p in everything}
    seen: list[BatchProgress] = []
    lock = _Lock(locked)
    try:
        report = run_batch(
            [inputs],
            tmp_path / "ds",
            key=study_key,
            scheduler=scheduler,
            on_progress=seen.append,
            as_of=AS_OF,
        )
    finally:
        lock.release()
    assert {p: sha256(p) for p in everything} == before  # read-only: not a byte changed
    counts = report.counts
    assert counts == {"inputs": 9, "included": 4, "excluded": 1, "erred": 4}
    assert {p.path.name: p.code for p in report.problems} == {
        "p0-copy.json": "duplicate",
        "corrupt.heron": "corrupt",
        "locked.heron": "busy",
        "newer.heron": "newer_format",
        "foreign.heron": "not_a_workbook",
    }
    assert [s.done for s in seen] == list(range(1, 10))
    assert seen[-1] == BatchProgress(9, 9, 5, 0, 4)  # the duplicate is found at the end
    lines = "\n".join(report.lines())
    assert "locked.heron: another program kept the workbook locked" in lines


def test_same_dataset_every_run_and_with_one_or_two_workers(
    tmp_path: Path, inputs: Path, scheduler: str, study_key: StudyKey
) -> None:
    runs = {}
    for name, options in (
        ("first", {"scheduler": scheduler}),
        ("again", {"scheduler": scheduler}),
        ("one worker", {"workers": 1}),
    ):
        run_batch(
            [inputs], tmp_path / name, key=study_key, free_text="scrubbed", as_of=AS_OF, **options
        )
        runs[name] = digests(tmp_path / name)
    assert runs["first"] == runs["again"] == runs["one worker"]
    assert len(runs["first"]) == len(TABLES) + 2  # the tables, the codebook, the manifest


def test_cli_batch(
    tmp_path: Path,
    inputs: Path,
    scheduler: str,
    key_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "ds"
    args = ["batch", str(inputs), "--key-file", str(key_file)]
    with pytest.raises(SystemExit) as ended:
        main([*args, "--out", str(out), "--scheduler", scheduler, "--free-text", "scrubbed"])
    stdout, stderr = capsys.readouterr()
    assert ended.value.code == 0
    assert f"Dataset: {out}" in stdout
    assert "included 4" in stdout and "p0-copy.json" in stdout
    assert "Traceback" not in stderr
    assert (out / "manifest.json").exists()

    os.chmod(key_file, 0o644)
    for extra, message in (
        ([], "chmod 600"),
        (["--workers", "1", "--scheduler", scheduler], "not both"),
    ):
        with pytest.raises(SystemExit) as ended:
            main([*args, "--out", str(tmp_path / "other"), *extra])
        stdout, stderr = capsys.readouterr()
        assert ended.value.code == 1
        assert message in stderr
        assert len(stderr.strip().splitlines()) == 1
    os.chmod(key_file, 0o600)
    with pytest.raises(SystemExit) as ended:
        main([*args, "--out", str(out)])  # the dataset folder is not empty
    _, stderr = capsys.readouterr()
    assert ended.value.code == 1
    assert "already exists" in stderr


def test_read_only_input_folder_is_left_exactly_as_it_was(
    tmp_path: Path,
    inputs: Path,
    scheduler: str,
    key_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Nothing is created beside a workbook (no -wal, no -shm), not a byte or a modification
    time changes, a read-only folder is fine; files skipped by name are counted and printed;
    progress is printed as plain lines off a terminal, and no traceback."""

    def listing() -> dict[str, tuple[str, int]]:
        return {
            str(p.relative_to(inputs)): (sha256(p), p.stat().st_mtime_ns)
            for p in sorted(inputs.rglob("*"))
            if p.is_file()
        }

    before = listing()
    os.chmod(inputs, 0o555)
    try:
        with pytest.raises(SystemExit) as ended:
            args = ["batch", str(inputs), "--key-file", str(key_file)]
            main([*args, "--out", str(tmp_path / "ds"), "--scheduler", scheduler])
    finally:
        os.chmod(inputs, 0o755)
    stdout, stderr = capsys.readouterr()
    assert ended.value.code == 0, stderr
    assert listing() == before
    assert not [p for p in inputs.iterdir() if p.name.endswith(("-wal", "-shm"))]
    assert "included 4" in stdout
    assert "Skipped by name: 1 files" in stdout and "readme.txt" in stdout
    manifest = (tmp_path / "ds" / "manifest.json").read_text()
    assert '"skipped_by_name": {\n    "count": 1,' in manifest
    assert "Cluster: starting" in stderr and "Cluster: ready" in stderr
    assert "Inputs: 5/5 (100%)" in stderr and "Writing the dataset:" in stderr
    assert "Traceback" not in stderr
