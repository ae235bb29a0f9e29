"""Bad files (issue 6, case 7): every CLI command refuses them in one clear line.

Each bad input (a truncated workbook, random bytes, a newer format, someone else's SQLite
file, a JSON export with wrong types or missing fields, a workbook another process holds
locked) is given to every command that reads one. The command must exit 1 with exactly one
line naming the file and what is wrong (no traceback), start nothing (no kernel, no
JupyterLab), and leave the bad file byte for byte as it was. A batch lists the bad inputs
as erred and still processes the good one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from figures import Figures
from support import StepClock, one_of_each_kind

import heron_research.workbook.store as store
from heron_research.cli import main
from heron_research.workbook import SCHEMA_VERSION, Workbook
from heron_research.workbook.portable import write_export

pytestmark = [pytest.mark.reliability, pytest.mark.unit]

#: refusals checked in this module, for the summary figure at the end
TRIED: Counter[str] = Counter()

KEY_TEXT = b"reliability-tier-study-key-7Qm2-not-for-real-use"

# A process that holds a workbook locked the way another program would, until stdin closes.
_HOLDER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA locking_mode = EXCLUSIVE")
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()
db.execute("ROLLBACK")
db.close()
"""


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as ended:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return int(ended.value.code or 0), out, err


@pytest.fixture(scope="module")
def originals(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A small real workbook (one record of each kind) and its real export, made once."""
    folder = tmp_path_factory.mktemp("originals")
    good = folder / "good.heron"
    with Workbook.create(good, clock=StepClock()) as wb:
        wb.save_many(one_of_each_kind())
        write_export(wb, folder / "good.json")
    return {"workbook": good, "export": folder / "good.json"}


# --- the bad inputs ----------------------------------------------------------------------


def _truncated(originals: dict[str, Path], path: Path) -> None:
    data = originals["workbook"].read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _truncated_header(originals: dict[str, Path], path: Path) -> None:
    path.write_bytes(originals["workbook"].read_bytes()[:100])


def _random(originals: dict[str, Path], path: Path) -> None:
    path.write_bytes(os.urandom(8192))


def _newer(originals: dict[str, Path], path: Path) -> None:
    shutil.copyfile(originals["workbook"], path)
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()


def _foreign(originals: dict[str, Path], path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    db.execute("INSERT INTO invoices (total) VALUES (12.5)")
    db.commit()
    db.close()


def _locked(originals: dict[str, Path], path: Path) -> None:
    shutil.copyfile(originals["workbook"], path)  # the holder is started by bad_file()


def _edited_export(
    edit: Callable[[dict[str, Any]], None],
) -> Callable[[dict[str, Path], Path], None]:
    def make(originals: dict[str, Path], path: Path) -> None:
        doc = json.loads(originals["export"].read_text(encoding="utf-8"))
        edit(doc)
        path.write_text(json.dumps(doc, indent=1), encoding="utf-8")

    return make


def _wrong_types(doc: dict[str, Any]) -> None:
    doc["workbook"]["schema_version"] = "two"
    doc["records"][0]["revision"] = "first"


def _missing_fields(doc: dict[str, Any]) -> None:
    del doc["workbook"]["id"]
    del doc["records"][0]["created_at"]


# name -> (file name, maker, what the message must say)
WORKBOOKS: dict[str, tuple[str, Callable[[dict[str, Path], Path], None], str]] = {
    "truncated": ("truncated.heron", _truncated, "damaged"),
    "truncated-header": ("header-only.heron", _truncated_header, "damaged"),
    "random-bytes": ("random.heron", _random, "not an SQLite database"),
    "newer-schema": ("newer.heron", _newer, f"uses workbook format {SCHEMA_VERSION + 1}"),
    "foreign-sqlite": ("foreign.heron", _foreign, "not a heron-research workbook"),
    "locked": ("locked.heron", _locked, "busy"),
}
EXPORTS: dict[str, tuple[str, Callable[[dict[str, Path], Path], None], str]] = {
    "export-wrong-types": (
        "wrong-types.json",
        _edited_export(_wrong_types),
        "should be a valid integer",
    ),
    "export-missing-fields": ("missing.json", _edited_export(_missing_fields), "Field required"),
}


class _Holder:
    """Another process holding ``path`` exclusively locked until :meth:`release`."""

    def __init__(self, path: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "locked"

    def release(self) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.close()
        self.process.wait(timeout=10)
        self.process.stdout.close()


@pytest.fixture
def bad_file(
    tmp_path: Path, originals: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[str], tuple[Path, str]]]:
    """``bad_file(name)`` -> (path, expected words); a locked one is held until the end."""
    monkeypatch.setattr(store, "BUSY_TIMEOUT_S", 0.2)  # the lock case takes 0.2 s, not 15
    holders: list[_Holder] = []

    def make(name: str, folder: Path = tmp_path) -> tuple[Path, str]:
        file_name, maker, expected = {**WORKBOOKS, **EXPORTS}[name]
        path = folder / file_name
        maker(originals, path)
        if name == "locked":
            holders.append(_Holder(path))
        return path, expected

    try:
        yield make
    finally:
        for holder in holders:
            holder.release()


@pytest.fixture
def nothing_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    """A refused file must stop a command before any kernel or JupyterLab is started."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("started a kernel or server for a bad file")

    monkeypatch.setattr("heron_research.lab.start_lab", refuse)
    monkeypatch.setattr("heron_research.reports.runner._render", refuse)


def assert_one_line(code: int, out: str, err: str, path: Path, expected: str) -> None:
    lines = (out + err).strip().splitlines()
    assert code == 1, (out, err)
    assert len(lines) == 1, lines
    assert "Traceback" not in out + err
    assert lines[0].startswith("heron-research: "), lines
    assert path.name in lines[0], lines
    assert expected in lines[0], lines


# --- every command that takes a workbook, then import --------------------------------------

WORKBOOK_COMMANDS: dict[str, Callable[[Path, Path], list[object]]] = {
    "check": lambda p, t: ["check", p],
    "export": lambda p, t: ["export", p, "--out", t / "out.json"],
    "report": lambda p, t: ["report", p, "--out", t / "report.html"],
    "lab": lambda p, t: ["lab", p, "--no-browser"],
}


@pytest.mark.parametrize("command", sorted(WORKBOOK_COMMANDS))
@pytest.mark.parametrize("bad", sorted(WORKBOOKS))
def test_workbook_commands_refuse_bad_workbooks(
    bad: str,
    command: str,
    tmp_path: Path,
    bad_file: Callable[[str], tuple[Path, str]],
    nothing_starts: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path, expected = bad_file(bad)
    before = sha256(path)
    TRIED["tried"] += 1
    code, out, err = run(capsys, *WORKBOOK_COMMANDS[command](path, tmp_path))
    assert_one_line(code, out, err, path, expected)
    assert sha256(path) == before
    assert not (tmp_path / "out.json").exists()
    assert not (tmp_path / "report.html").exists()
    assert not path.with_suffix(".ipynb").exists()  # lab made no notebook for it
    TRIED["clear"] += 1


@pytest.mark.parametrize("bad", sorted([*EXPORTS, "random-bytes", "truncated"]))
def test_import_refuses_bad_exports(
    bad: str,
    tmp_path: Path,
    bad_file: Callable[[str], tuple[Path, str]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    path, expected = bad_file(bad)
    if bad in WORKBOOKS:  # a workbook, or garbage, given where an export belongs
        expected = "cannot read"  # neither is UTF-8 text
    before = sha256(path)
    target = tmp_path / "new.heron"
    TRIED["tried"] += 1
    code, out, err = run(capsys, "import", path, target)
    assert_one_line(code, out, err, path, expected)
    if bad in EXPORTS:
        assert "does not match the export format" in err
    assert sha256(path) == before
    assert not target.exists()  # no half-made workbook left behind
    assert not list(tmp_path.glob("new.heron*"))
    TRIED["clear"] += 1


# --- batch: the bad ones are listed, the good one processed ---------------------------------


@pytest.fixture
def scheduler() -> Iterator[str]:
    """An in-process Dask cluster (threads), so the short busy timeout applies to its tasks."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=1,
        threads_per_worker=2,
        processes=False,
        protocol="tcp://",
        host="127.0.0.1",
        dashboard_address=None,
        scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
        silence_logs=logging.ERROR,
    ) as cluster:
        yield cluster.scheduler_address


def test_batch_lists_every_bad_input_and_goes_on(
    tmp_path: Path,
    originals: dict[str, Path],
    bad_file: Callable[..., tuple[Path, str]],
    scheduler: str,
    nothing_starts: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copyfile(originals["workbook"], inputs / "good.heron")
    bad = [bad_file(name, inputs)[0] for name in sorted({**WORKBOOKS, **EXPORTS})]
    before = {p: sha256(p) for p in bad}
    key = tmp_path / "study.key"
    key.write_bytes(KEY_TEXT + b"\n")
    key.chmod(0o600)
    out = tmp_path / "dataset"

    code, stdout, stderr = run(
        capsys, "batch", inputs, "--out", out, "--key-file", key, "--scheduler", scheduler
    )

    listed = [line.strip() for line in stdout.splitlines() if line.startswith("  ")]
    named = sum(1 for path in bad if sum(f"{path}:" in line for line in listed) == 1)
    TRIED["batch bad inputs"] = len(bad)
    TRIED["batch bad inputs named once with a reason"] = named
    TRIED["batch good inputs included"] = int("included 1," in stdout)
    assert code == 0, (stdout, stderr)
    assert "Traceback" not in stdout + stderr
    assert f"Inputs: {len(bad) + 1}; included 1, excluded 0, erred {len(bad)}" in stdout
    for path in bad:
        mine = [line for line in listed if f"{path}:" in line]
        assert len(mine) == 1, (path, listed)
        assert mine[0].startswith("erred: "), mine
        assert len(mine[0]) > len(f"erred: {path}: ") + 10, mine  # a reason is given
    assert {p: sha256(p) for p in bad} == before
    assert (out / "manifest.json").exists()

    # the dataset is fine; a damaged copy of it is refused by cohort-report, before a kernel
    broken = tmp_path / "broken"
    shutil.copytree(out, broken)
    table = sorted(broken.rglob("*.parquet"))[0]
    table.write_bytes(table.read_bytes()[:50])
    (tmp_path / "random").mkdir()
    (tmp_path / "random" / "manifest.json").write_bytes(os.urandom(512))
    (tmp_path / "empty").mkdir()
    TRIED["tried"] += 3
    for folder, expected in (
        (broken, table.name),
        (tmp_path / "random", "manifest.json"),
        (tmp_path / "empty", "not a research dataset"),
    ):
        sums = {p: sha256(p) for p in folder.rglob("*") if p.is_file()}
        code, stdout, stderr = run(capsys, "cohort-report", folder)
        lines = (stdout + stderr).strip().splitlines()
        assert code == 1, (stdout, stderr)
        assert len(lines) == 1 and "Traceback" not in lines[0], lines
        assert folder.name in lines[0] and expected in lines[0], lines
        assert {p: sha256(p) for p in folder.rglob("*") if p.is_file()} == sums
        assert not folder.with_name(f"{folder.name}-cohort.html").exists()
        TRIED["clear"] += 1


def test_zz_summary(figures: Figures) -> None:
    """Record the figures for RELIABILITY.md; runs last in this file."""
    figures.record(7, "bad input x command pairs tried", TRIED["tried"])
    figures.record(7, "refused with one clear line, input unchanged", TRIED["clear"])
    figures.record(
        7,
        "unclear refusals, tracebacks or changed inputs",
        TRIED["tried"] - TRIED["clear"],
        must_be_zero=True,
    )
    figures.record(
        7,
        "batch: bad inputs listed once with a reason / good input still included",
        f"{TRIED['batch bad inputs named once with a reason']} of {TRIED['batch bad inputs']}"
        f" / {TRIED['batch good inputs included']} of 1",
    )
    assert TRIED["tried"] == TRIED["clear"]
