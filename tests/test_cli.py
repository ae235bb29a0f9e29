"""The command line: each command works, and user errors are one line with exit code 1."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from heron_research.cli import main

COMMANDS = ["new", "demo", "export", "import", "check"]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as ended:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return int(ended.value.code or 0), out, err


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for command in COMMANDS:
        assert command in out


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(capsys: pytest.CaptureFixture[str], command: str) -> None:
    code, out, _ = run(capsys, command, "--help")
    assert code == 0
    assert "Usage: heron-research" in out


def test_new_makes_an_owner_only_workbook(tmp_path: Path, capsys) -> None:
    target = tmp_path / "me" / "client.heron"
    code, out, _ = run(capsys, "new", target)
    assert code == 0
    assert "Created" in out
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
    code, out, _ = run(capsys, "check", target)
    assert code == 0
    assert "healthy" in out


def test_export_then_import_round_trip(tmp_path: Path, capsys) -> None:
    source = tmp_path / "a.heron"
    run(capsys, "new", source)
    code, out, _ = run(capsys, "export", source, "--out", tmp_path / "a.json")
    assert code == 0
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o600
    code, out, _ = run(capsys, "import", tmp_path / "a.json", tmp_path / "b.heron")
    assert code == 0
    assert "Imported 0 entries" in out
    code, _, err = run(capsys, "export", source, "--out", tmp_path / "a.json")
    assert code == 1
    assert "already exists" in err


def _garbage(path: Path) -> Path:
    path.write_bytes(os.urandom(4096))
    return path


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (lambda t: ["check", t / "missing.heron"], "no such workbook"),
        (lambda t: ["check", _garbage(t / "random.heron")], "not a heron-research workbook"),
        (lambda t: ["export", t / "missing.heron"], "no such workbook"),
        (lambda t: ["import", t / "missing.json", t / "x.heron"], "no such file"),
        (lambda t: ["import", _garbage(t / "bad.json"), t / "x.heron"], "cannot read"),
        (lambda t: ["new", _garbage(t / "taken.heron")], "already exists"),
        (lambda t: ["nonsense"], "No such command"),
        (lambda t: ["demo", "--seed", "many"], "'many' is not a valid integer"),
    ],
    ids=[
        "check-missing",
        "check-garbage",
        "export-missing",
        "import-missing",
        "import-garbage",
        "new-existing",
        "unknown-command",
        "bad-option",
    ],
)
def test_user_errors_are_one_line_and_exit_1(tmp_path: Path, capsys, args, expected) -> None:
    code, out, err = run(capsys, *args(tmp_path))
    assert code == 1
    assert expected in err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err + out


def test_installed_command_prints_no_traceback(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("heron-research")
    done = subprocess.run(
        [str(exe), "check", str(tmp_path / "nope.heron")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.strip() == f"heron-research: {tmp_path / 'nope.heron'}: no such workbook"
    assert done.stdout == ""
