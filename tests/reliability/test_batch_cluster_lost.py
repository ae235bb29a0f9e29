"""``heron-research batch`` on a real Dask cluster that is killed mid-batch (issue 15, item 2).

The scheduler and the workers are ``distributed``'s own command-line programs, each in a
process of its own; the batch is the CLI in another, given the scheduler's address. Each
case waits until the batch's progress lines say some inputs are done, then kills with
SIGKILL:

* the scheduler: the batch exits 1 with one line naming the lost scheduler, nothing at
  ``--out`` and nothing beside it; the same command on a fresh local cluster then succeeds
  into the same ``--out``;
* every worker, the scheduler alive, with ``--lost-workers-timeout 3``: the batch exits 1
  with one line saying no worker was left, nothing at ``--out``, within a generous bound
  (a hang would fail it).

Neither the failed runs nor a successful one on the same cluster may show a traceback or
a Dask log line on stderr (the client's close included). Before Dask was imported ahead of
quietening its loggers, the scheduler case showed ``distributed.client`` tracebacks.

The inputs are copies of one small workbook, enough of them (one single-threaded worker
reads them in order) that the batch is far from its end when the kill lands.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from research_helpers import build_workbook, key_file_in, participant_records

pytestmark = [pytest.mark.reliability, pytest.mark.processes, pytest.mark.dask]

CLI = "from heron_research.cli import main; import sys; main(sys.argv[1:])"
#: copies of the workbook given to the batch
COPIES = 400
#: generous bounds for a loaded 2-core machine: conditions are waited for, never slept on
START_S = 120.0
EXIT_S = 120.0


#: each process's stderr reader, joined before the pipe is closed
_READERS: dict[int, _Lines] = {}


class _Lines:
    """A process's stderr read line by line in a thread, to wait for a line or collect all."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        assert process.stderr is not None
        self.lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()  # None: the end
        self.seen: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(process.stderr,), daemon=True)
        self._thread.start()
        _READERS[process.pid] = self

    def _read(self, stream: Iterator[str]) -> None:
        for line in stream:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, wanted: Callable[[str], bool], timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no such line within {timeout:g} s; saw: {self.seen}")
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"the process ended; it wrote: {self.seen}")
            self.seen.append(line)
            if wanted(line):
                return line

    def rest(self) -> list[str]:
        self._thread.join(timeout=EXIT_S)
        while not self.lines.empty():
            line = self.lines.get()
            if line is not None:
                self.seen.append(line)
        return self.seen


def _start(args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.kill()
    process.wait(timeout=EXIT_S)
    reader = _READERS.pop(process.pid, None)
    if reader is not None:
        reader.rest()
    assert process.stderr is not None
    process.stderr.close()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cluster-lost") / "in"
    folder.mkdir()
    records, _, _ = participant_records()
    first = build_workbook(folder / "w0000.heron", records)
    for i in range(1, COPIES):
        shutil.copyfile(first, folder / f"w{i:04d}.heron")
    return folder


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    return key_file_in(tmp_path)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[dict[str, object]]:
    """A scheduler and one single-threaded worker (no nanny: a killed worker stays dead),
    each a process of its own; yields the address and the processes. Killed at the end."""
    file = tmp_path / "scheduler.json"
    scheduler = _start(
        [
            "-m",
            "distributed.cli.dask_scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-dashboard",
            "--scheduler-file",
            str(file),
        ]
    )
    processes = [scheduler]
    try:
        _Lines(scheduler).wait_for(lambda line: "Scheduler at:" in line, START_S)
        deadline = time.monotonic() + START_S
        while not file.exists() or not file.read_text().strip():  # written just after
            assert time.monotonic() < deadline and scheduler.poll() is None
            time.sleep(0.05)
        address = json.loads(file.read_text())["address"]
        worker = _start(
            [
                "-m",
                "distributed.cli.dask_worker",
                address,
                "--nthreads",
                "1",
                "--no-nanny",
                "--no-dashboard",
                "--host",
                "127.0.0.1",
            ]
        )
        processes.append(worker)
        _Lines(worker).wait_for(lambda line: "Registered to" in line, START_S)
        yield {"address": address, "scheduler": scheduler, "workers": [worker]}
    finally:
        for process in processes:
            _stop(process)


def _batch(inputs: Path, out: Path, key: Path, *options: str) -> subprocess.Popen[str]:
    return _start(
        ["-c", CLI, "batch", str(inputs), "--out", str(out), "--key-file", str(key), *options]
    )


def _mid_batch(lines: _Lines) -> None:
    """Wait until the batch's progress says some inputs, not all, are done."""
    lines.wait_for(
        lambda line: line.startswith("Inputs: ") and f"/{COPIES:,} (100%)" not in line, START_S
    )


def _ended(batch: subprocess.Popen[str], lines: _Lines) -> list[str]:
    """The batch's exit code checked (1) and its stderr lines after the progress lines."""
    code = batch.wait(timeout=EXIT_S)
    seen = lines.rest()
    errors = [line.rstrip("\n") for line in seen if line.startswith("heron-research:")]
    assert code == 1, seen
    assert "Traceback" not in "".join(seen), "".join(seen)
    assert len(errors) == 1, seen
    return errors


def test_scheduler_killed_mid_batch_exits_1_leaves_nothing_and_a_rerun_works(
    inputs: Path, cluster: dict[str, object], tmp_path: Path, key_file: Path
) -> None:
    outs = tmp_path / "outs"
    outs.mkdir()
    out = outs / "dataset"
    batch = _batch(inputs, out, key_file, "--scheduler", str(cluster["address"]))
    try:
        lines = _Lines(batch)
        _mid_batch(lines)
        scheduler = cluster["scheduler"]
        assert isinstance(scheduler, subprocess.Popen)
        os.kill(scheduler.pid, signal.SIGKILL)
        [line] = _ended(batch, lines)
    finally:
        _stop(batch)
    assert "lost the Dask scheduler" in line and str(cluster["address"]) in line, line
    assert "nothing was written" in line
    assert list(outs.iterdir()) == []  # no --out, no temporary folder beside it

    rerun = subprocess.run(
        [
            sys.executable,
            "-c",
            CLI,
            "batch",
            str(inputs),
            "--out",
            str(out),
            "--key-file",
            str(key_file),
            "--workers",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert rerun.returncode == 0, rerun.stderr
    assert "Traceback" not in rerun.stderr
    assert f"Inputs: {COPIES:,}" in rerun.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["inputs"] == COPIES
    assert [p.name for p in outs.iterdir()] == ["dataset"]


def test_every_worker_killed_mid_batch_exits_1_after_the_timeout(
    inputs: Path, cluster: dict[str, object], tmp_path: Path, key_file: Path
) -> None:
    outs = tmp_path / "outs"
    outs.mkdir()
    out = outs / "dataset"
    batch = _batch(
        inputs,
        out,
        key_file,
        "--scheduler",
        str(cluster["address"]),
        "--lost-workers-timeout",
        "3",
    )
    try:
        lines = _Lines(batch)
        _mid_batch(lines)
        workers = cluster["workers"]
        assert isinstance(workers, list)
        for worker in workers:
            os.kill(worker.pid, signal.SIGKILL)
        [line] = _ended(batch, lines)  # within EXIT_S: not a hang
    finally:
        _stop(batch)
    assert "no Dask worker for more than 3 s" in line, line
    assert "nothing was written" in line
    scheduler = cluster["scheduler"]
    assert isinstance(scheduler, subprocess.Popen)
    assert scheduler.poll() is None  # the scheduler was alive throughout
    assert list(outs.iterdir()) == []


def test_a_successful_batch_on_the_cluster_writes_no_traceback(
    inputs: Path, cluster: dict[str, object], tmp_path: Path, key_file: Path
) -> None:
    """The whole run, the client's close included, as the researcher's stderr shows it (a
    process of its own: Dask's log handlers write to the real stderr, which capsys misses)."""
    out = tmp_path / "dataset"
    batch = _batch(inputs, out, key_file, "--scheduler", str(cluster["address"]))
    try:
        lines = _Lines(batch)
        code = batch.wait(timeout=600)
        seen = "".join(lines.rest())
    finally:
        _stop(batch)
    assert code == 0, seen
    assert f"Inputs: {COPIES:,}/{COPIES:,} (100%)" in seen
    assert "Traceback" not in seen and "distributed." not in seen, seen
    assert json.loads((out / "manifest.json").read_text())["counts"]["inputs"] == COPIES
