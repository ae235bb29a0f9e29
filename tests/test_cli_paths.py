"""Every command that writes a file or folder, given a path the system refuses: one line on
stderr and exit code 1, never a traceback.

Three kinds of bad place: a folder that does not exist, a file where a folder should be,
and /proc (where nothing can be made, even by root). A missing folder is made by every
command but ``export`` (``new``, ``import``, the reports, ``batch`` and ``demo`` create
their output's folders, owner-only), so there the command must succeed instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from research_helpers import KEY_TEXT

from heron_research.cli import main

pytestmark = pytest.mark.unit


@dataclass(frozen=True)
class Inputs:
    """What the commands read: a small demo workbook, its export, a dataset, a study key."""

    workbook: Path
    until: str
    export: Path
    dataset: Path
    key: Path


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Inputs:
    from heron_research.demo import write_demo
    from heron_research.research import StudyKey, run_batch
    from heron_research.workbook import Workbook
    from heron_research.workbook.portable import write_export

    folder = tmp_path_factory.mktemp("inputs")
    summary = write_demo(folder / "demo", seed=7, years=0.1)
    export = folder / "demo.json"
    with Workbook.open(summary.path, readonly=True) as wb:
        write_export(wb, export)
    key = folder / "study.key"
    key.write_bytes(KEY_TEXT + b"\n")
    os.chmod(key, 0o600)
    dataset = folder / "dataset"
    run_batch([summary.path], dataset, key=StudyKey(KEY_TEXT), workers=1)
    return Inputs(summary.path, summary.period[1].isoformat(), export, dataset, key)


#: command -> its arguments, given the inputs and the output path to write
COMMANDS: dict[str, Callable[[Inputs, Path], list[str | Path]]] = {
    "new": lambda i, out: ["new", out],
    "export": lambda i, out: ["export", i.workbook, "--out", out],
    "import": lambda i, out: ["import", i.export, out],
    "report": lambda i, out: ["report", i.workbook, "--until", i.until, "--out", out],
    "batch": lambda i, out: [
        "batch",
        i.workbook,
        "--key-file",
        i.key,
        "--workers",
        "1",
        "--out",
        out,
    ],
    "cohort-report": lambda i, out: ["cohort-report", i.dataset, "--out", out],
    "demo": lambda i, out: ["demo", "--years", "0.1", "--out", out],
}

#: the commands that make a missing folder (all but export)
MAKE_FOLDERS = set(COMMANDS) - {"export"}

NAMES = {"new": "x.heron", "export": "x.json", "import": "x.heron", "batch": "ds", "demo": "d"}


def _out(where: str, tmp_path: Path, command: str) -> Path:
    name = NAMES.get(command, "x.html")
    if where == "missing":
        return tmp_path / "no" / "such" / name
    if where == "file":
        (tmp_path / "afile").write_text("a file, not a folder\n")
        return tmp_path / "afile" / name
    return Path("/proc") / f"heron-research-test-{os.getpid()}" / name


def run(capsys: pytest.CaptureFixture[str], args: list[str | Path]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as ended:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return int(ended.value.code or 0), out, err


@pytest.mark.parametrize("where", ["missing", "file", "proc"])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_refused_output_path_is_one_line_and_exit_1(
    inputs: Inputs, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, where: str
) -> None:
    out = _out(where, tmp_path, command)
    code, stdout, stderr = run(capsys, COMMANDS[command](inputs, out))
    assert "Traceback" not in stdout + stderr
    if where == "missing" and command in MAKE_FOLDERS:
        assert code == 0, stderr
        assert out.exists()
        return
    assert code == 1, stdout
    lines = [line for line in stderr.splitlines() if not line.startswith("Workbooks")]
    assert len(lines) == 1, stderr  # (batch's progress bar may have started on stderr)
    assert lines[0].startswith("heron-research: ")
    assert {"missing": "no/such", "file": "afile", "proc": "/proc"}[where] in lines[0]
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            lambda t: ["export", t / "a.heron", "--out", t / "missing" / "dir" / "x.json"],
            "heron-research: cannot use {t}/missing/dir/x.json: "
            "the folder {t}/missing/dir does not exist",
        ),
        (
            lambda t: ["demo", "--out", "/proc/x"],
            "heron-research: cannot use /proc/x: No such file or directory",
        ),
    ],
    ids=["export-missing-dir", "demo-proc"],
)
def test_the_installed_command_says_one_line(
    tmp_path: Path, args: Callable[[Path], list[str | Path]], line: str
) -> None:
    """Through the real entry point, in its own process: the line, nothing else."""
    exe = Path(sys.executable).with_name("heron-research")
    subprocess.run([str(exe), "new", str(tmp_path / "a.heron")], check=True, capture_output=True)
    done = subprocess.run(
        [str(exe), *map(str, args(tmp_path))],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (done.returncode, done.stderr, done.stdout) == (1, line.format(t=tmp_path) + "\n", "")
