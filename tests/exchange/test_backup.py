"""Issue 12 point 1: passphrase encryption for a person's own backup (`export --encrypt`),
and `import` of that backup; never for bundles between people."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from support import one_of_each_kind

from heron_research.exchange.backup import AGE_MAGIC
from heron_research.workbook import Workbook

EXE = Path(sys.executable).with_name("heron-research")
SECRET = "a long enough passphrase"


def _cli(*args: object, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(EXE), *map(str, args)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def workbook(tmp_path: Path) -> Path:
    path = tmp_path / "me.heron"
    with Workbook.create(path) as wb:
        for record in one_of_each_kind():
            wb.save(record)
    return path


def test_an_encrypted_backup_holds_no_plain_text_and_imports_back(
    workbook: Path, tmp_path: Path
) -> None:
    made = _cli("export", workbook, "--encrypt", stdin=SECRET + "\n")
    assert made.returncode == 0, made.stderr
    backup = workbook.with_suffix(".json.age")
    assert "encrypted with your passphrase" in made.stdout
    data = backup.read_bytes()
    assert data.startswith(AGE_MAGIC)
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert b"heron-research-workbook" not in data and b"more time on work" not in data

    plain = tmp_path / "plain.json"
    assert _cli("export", workbook, "--out", plain).returncode == 0
    back = tmp_path / "back.heron"
    done = _cli("import", backup, back, stdin=SECRET + "\n")
    assert done.returncode == 0, done.stderr
    again = tmp_path / "again.json"
    assert _cli("export", back, "--out", again).returncode == 0
    assert again.read_bytes() == plain.read_bytes()


def test_a_wrong_passphrase_is_one_line_and_makes_nothing(workbook: Path, tmp_path: Path) -> None:
    assert _cli("export", workbook, "--encrypt", stdin=SECRET + "\n").returncode == 0
    back = tmp_path / "back.heron"
    done = _cli("import", workbook.with_suffix(".json.age"), back, stdin="not the passphrase\n")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "passphrase does not open" in done.stderr
    assert "Traceback" not in done.stderr
    assert not back.exists() and not any(p.name.startswith(".back") for p in tmp_path.iterdir())


def test_a_damaged_backup_is_reported_as_damaged(workbook: Path, tmp_path: Path) -> None:
    assert _cli("export", workbook, "--encrypt", stdin=SECRET + "\n").returncode == 0
    backup = workbook.with_suffix(".json.age")
    cut = tmp_path / "cut.json.age"
    cut.write_bytes(backup.read_bytes()[:-40])
    done = _cli("import", cut, tmp_path / "back.heron", stdin=SECRET + "\n")
    assert (done.returncode, done.stderr.count("\n")) == (1, 1)
    assert "damaged or cut short" in done.stderr


def test_a_short_passphrase_is_refused_before_anything_is_written(workbook: Path) -> None:
    done = _cli("export", workbook, "--encrypt", stdin="short\n")
    assert (done.returncode, done.stderr.count("\n")) == (1, 1)
    assert "too short" in done.stderr
    assert not workbook.with_suffix(".json.age").exists()
    assert os.listdir(workbook.parent) == [workbook.name]
