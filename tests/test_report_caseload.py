"""Issue 14, item 6: a practitioner's caseload in one go, on kernels reused from one report
to the next, two lanes at a time; each report is the page ``heron-research report`` makes
for that workbook alone, the lines come in the order given, and a kernel that dies in the
middle costs at most the report it was making."""

from __future__ import annotations

import os
import re
import signal
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from heron_research.cli import main
from heron_research.demo import generate_demo
from heron_research.reports import kernels as kernels_module
from heron_research.reports import run_report, run_reports
from heron_research.reports.caseload import CaseloadReport, default_jobs

pytestmark = pytest.mark.kernel

UNTIL = date(2026, 1, 4)
#: what differs between two makings of one report: the moment it was made
MADE_AT = re.compile(r"[^<>]*(UTC</dd>|· generated )[^<>]*")


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three short demo workbooks (their charts include gradients, which vl-convert numbers
    with a counter of its own across a process)."""
    folder = tmp_path_factory.mktemp("caseload")
    return [
        generate_demo(folder / f"client-{seed}.heron", seed=seed, years=0.4).path
        for seed in (3, 4, 5)
    ]


def _page(path: Path) -> str:
    return MADE_AT.sub("", path.read_text(encoding="utf-8"))


def _started(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The kernel managers the caseload starts, as they are started."""
    started: list[Any] = []
    real = kernels_module.start_kernel

    def counted(*args: Any) -> Any:
        km = real(*args)
        started.append(km)
        return km

    monkeypatch.setattr(kernels_module, "start_kernel", counted)
    return started


def test_two_lanes_make_the_pages_single_reports_make_and_say_so_in_order(
    books: list[Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    started = _started(monkeypatch)
    out = tmp_path / "reports"

    with pytest.raises(SystemExit) as exit_:
        main(
            [
                "report",
                *map(str, books),
                "--until",
                f"{UNTIL}",
                "--out-dir",
                f"{out}",
                "--jobs",
                "2",
            ]
        )

    assert exit_.value is None or exit_.value.code in (0, None)
    lines = capsys.readouterr().out.splitlines()
    names = [f"{b.stem}-review-{UNTIL}.html" for b in books]
    assert lines == [
        *(f"{b} -> {out / n}" for b, n in zip(books, names, strict=True)),
        "3 of 3 reports made.",
    ]
    assert len(started) == 2
    for book, name in zip(books, names, strict=True):
        alone = run_report(book, until=UNTIL, out=tmp_path / "alone" / name)
        assert _page(out / name) == _page(alone.path), name
    # reading the workbooks left nothing beside them (no -wal or -shm)
    assert sorted(p.name for p in books[0].parent.iterdir()) == sorted(b.name for b in books)


def test_one_lane_reuses_one_kernel_and_each_page_is_the_single_one(
    books: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = _started(monkeypatch)

    items = run_reports(books, out_dir=tmp_path / "out", until=UNTIL, jobs=1)

    assert len(started) == 1
    assert all(item.ok for item in items)
    last = items[-1].result
    assert last is not None
    alone = run_report(books[-1], until=UNTIL, out=tmp_path / "alone.html")
    assert _page(last.path) == _page(alone.path)  # vl-convert's ids do not run across reports


def test_a_kernel_killed_mid_caseload_costs_at_most_one_report(
    books: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = _started(monkeypatch)
    seen: list[tuple[bool, int]] = []

    def kill_after_first(item: CaseloadReport, done: int, total: int) -> None:
        seen.append((item.ok, done))
        if done == 1:  # the lane is on the second workbook by now: kill its kernel
            os.kill(started[0].provisioner.pid, signal.SIGKILL)

    items = run_reports(
        books, out_dir=tmp_path / "out", until=UNTIL, jobs=1, on_report=kill_after_first
    )

    assert [done for _, done in seen] == [1, 2, 3]
    assert items[0].ok and items[2].ok  # the third is made on a new kernel
    assert len(started) == 2
    if not items[1].ok:  # killed in a section (named), or before the first
        assert items[1].error is not None
        assert "kernel" in items[1].error.lower(), items[1].error
    assert sorted(p.suffix for p in (tmp_path / "out").iterdir() if p.suffix == ".html") == [
        ".html"
    ] * sum(item.ok for item in items)


def test_jobs_are_checked_before_anything_runs(books: list[Path], tmp_path: Path) -> None:
    with pytest.raises(Exception, match="jobs should be 1 or more"):
        run_reports(books, out_dir=tmp_path / "out", until=UNTIL, jobs=0)
    assert not (tmp_path / "out").exists()
    assert default_jobs(1) == 1
    assert 1 <= default_jobs(10) <= 2


@pytest.mark.processes
def test_ctrl_c_stops_a_caseload_promptly_and_leaves_no_kernel(
    books: list[Path], tmp_path: Path
) -> None:
    import subprocess
    import sys
    import time

    import psutil

    cli = Path(sys.executable).parent / "heron-research"
    command = [str(cli), "report", *map(str, books), "--until", f"{UNTIL}", "--jobs", "2"]
    proc = subprocess.Popen(
        [*command, "--out-dir", f"{tmp_path / 'out'}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp_path)},
        # Ctrl-C as at a terminal, though this test may run where SIGINT is ignored
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()  # the first report is written: both lanes are at work
    assert " -> " in first
    kernels = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signal.SIGINT)
    started = time.monotonic()
    rest, stderr = proc.communicate(timeout=120)  # and the pipes are closed
    code = proc.returncode

    took = time.monotonic() - started
    assert (code, stderr.split()) == (1, ["heron-research:", "aborted"]), rest
    assert took < 60
    _, alive = psutil.wait_procs(kernels, timeout=30)
    assert alive == []
    # the kernels' private folders and every report's work folder are removed
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("heron-")] == []
