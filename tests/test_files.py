"""The file helpers: private folders and the one owner-only atomic writer.

A write that fails or is killed part-way leaves the old file whole (never a partial file),
the new file is owner-only whatever the umask, and ``export --force`` replaces the export in
one step instead of truncating it in place.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from heron_research.cli import main
from heron_research.workbook import Workbook
from heron_research.workbook.files import private_folder, write_private
from heron_research.workbook.portable import import_json

pytestmark = pytest.mark.unit

OLD = b"the old file, whole\n" * 1000


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_a_write_failing_part_way_leaves_the_old_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "export.json"
    target.write_bytes(OLD)

    def chunks() -> Iterator[bytes]:
        yield b'{"format": "heron-research-workbook", '
        yield b"x" * 1_000_000  # more than any buffer: it reaches the disk
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        write_private(target, chunks())
    assert target.read_bytes() == OLD
    assert _leftovers(tmp_path) == []  # the temporary file went too


def test_a_write_killed_part_way_leaves_the_old_file_whole(tmp_path: Path) -> None:
    """SIGKILL in the middle of the stream: no cleanup runs, and still no partial file."""
    target = tmp_path / "export.json"
    target.write_bytes(OLD)
    script = (
        "import os, signal, sys\n"
        "from heron_research.workbook.files import write_private\n"
        "def chunks():\n"
        "    yield b'{' + b'x' * 1_000_000\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "    yield b'}'\n"
        "write_private(sys.argv[1], chunks())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(target)], capture_output=True, timeout=120
    )
    assert done.returncode == -signal.SIGKILL
    assert target.read_bytes() == OLD
    (left,) = _leftovers(tmp_path)  # what the killed writer had written, under its own name
    assert left.startswith(".export.json.") and _mode(tmp_path / left) == 0o600
    write_private(target, b"next")  # the next write to the name removes it
    assert target.read_bytes() == b"next"
    assert _leftovers(tmp_path) == []


def test_the_new_file_is_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_bytes(OLD)
    os.chmod(target, 0o644)
    before = target.stat().st_ino
    old_umask = os.umask(0)
    try:
        write_private(target, "new ✓")
    finally:
        os.umask(old_umask)
    assert target.read_text(encoding="utf-8") == "new ✓"
    assert _mode(target) == 0o600
    assert target.stat().st_ino != before  # a new file took the name: nothing was truncated


def test_without_replace_an_existing_file_stands(tmp_path: Path) -> None:
    target = tmp_path / "workbook.ipynb"
    write_private(target, b"first", replace=False)
    with pytest.raises(FileExistsError):
        write_private(target, b"second", replace=False)
    assert target.read_bytes() == b"first"
    assert _mode(target) == 0o600
    assert _leftovers(tmp_path) == []


def test_export_force_replaces_the_export_in_one_step(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A reader holding the old export keeps reading the old export, whole: ``--force``
    does not truncate the file in place (a killed export could then leave half of one)."""
    workbook = tmp_path / "client.heron"
    Workbook.create(workbook, workbook_id="force").close()
    out = tmp_path / "client.json"
    out.write_bytes(OLD)
    with out.open("rb") as reader:
        with pytest.raises(SystemExit) as ended:
            main(["export", str(workbook), "--out", str(out), "--force"])
        assert ended.value.code in (0, None)
        assert reader.read() == OLD
    assert _mode(out) == 0o600
    with import_json(out, tmp_path / "again.heron") as again:
        assert again.id == "force"
    assert _leftovers(tmp_path) == []
    capsys.readouterr()


def test_private_folder(tmp_path: Path) -> None:
    made = private_folder(tmp_path / "a" / "b")
    assert made.is_dir() and _mode(made) == 0o700
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    os.chmod(shared, 0o755)
    private_folder(shared)
    assert _mode(shared) == 0o755  # someone's existing folder is left as it is
    private_folder(shared, tighten=True)
    assert _mode(shared) == 0o700  # unless it is the package's own
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(FileExistsError):
        private_folder(tmp_path / "file")
