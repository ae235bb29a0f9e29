"""Several processes and one workbook: concurrent writers, and writers killed mid-save."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from heron_research.workbook import Workbook

pytestmark = pytest.mark.processes

#: A writer that waits for "go" on stdin, then saves N episodes, one transaction each.
CONCURRENT_WRITER = """
import sys, time
from heron_research.records import EmotionEpisode
from heron_research.workbook import Workbook

path, tag, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
with Workbook.open(path) as wb:
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.time()
    for i in range(n):
        wb.save(EmotionEpisode(
            id=f"{tag}-{i:05d}",
            situation=f"{tag} writes episode {i}",
            emotions=[{"emotion": "anger", "intensity": i % 11}],
        ))
    print(f"done {started} {time.time()}", flush=True)
"""

#: A writer that saves episodes forever, printing each id once ``save`` has returned.
ENDLESS_WRITER = """
import sys
from heron_research.records import EmotionEpisode
from heron_research.workbook import Workbook

path, tag = sys.argv[1], sys.argv[2]
wb = Workbook.open(path)
i = 0
while True:
    episode = EmotionEpisode(
        id=f"{tag}-{i:06d}",
        situation="x" * (1 + i % 3000),
        emotions=[{"emotion": "fear", "intensity": i % 11}],
    )
    wb.save(episode)
    sys.stdout.write(episode.id + "\\n")
    sys.stdout.flush()
    i += 1
"""


def start(code: str, *args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
    )


def integrity(path: Path) -> str:
    db = sqlite3.connect(path)
    try:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        db.close()


@pytest.mark.timeout(180)
def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "shared.heron"
    Workbook.create(path).close()
    n = 1000
    writers = [start(CONCURRENT_WRITER, str(path), tag, str(n), cwd=tmp_path) for tag in "ab"]
    try:
        for proc in writers:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready", proc.stderr and proc.stderr.read()
        for proc in writers:  # release both at (nearly) the same moment
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = [proc.communicate(timeout=150) for proc in writers]
    finally:
        for proc in writers:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    for proc, (out, err) in zip(writers, results, strict=True):
        assert proc.returncode == 0, err
        assert err == "", err
        assert out.startswith("done ")
    spans = [tuple(map(float, out.split()[1:3])) for out, _ in results]
    assert max(s[0] for s in spans) < min(s[1] for s in spans), "the writers did not overlap"

    with Workbook.open(path) as wb:
        found = wb.records("emotion_episode")
        health = wb.check()
    assert len(found) == 2 * n
    assert {s.id for s in found} == {f"{tag}-{i:05d}" for tag in "ab" for i in range(n)}
    assert all(s.revision == 1 for s in found)
    assert health.ok
    assert health.revisions == 2 * n
    assert integrity(path) == "ok"


@pytest.mark.timeout(180)
def test_a_writer_killed_again_and_again_loses_no_acknowledged_save(tmp_path: Path) -> None:
    path = tmp_path / "killed.heron"
    Workbook.create(path).close()
    rng = random.Random(20250314)
    acknowledged: list[str] = []

    for round_ in range(20):
        proc = start(ENDLESS_WRITER, str(path), f"r{round_:02d}", cwd=tmp_path)
        assert proc.stdout is not None
        try:
            for _ in range(rng.randint(5, 40)):
                line = proc.stdout.readline()
                assert line.endswith("\n"), proc.stderr and proc.stderr.read()
                acknowledged.append(line.strip())
            if rng.random() < 0.5:
                time.sleep(rng.random() / 500)  # land at varied points inside a save
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        # lines written before the kill were acknowledged too
        rest = proc.stdout.read()
        acknowledged.extend(line for line in rest.split("\n")[:-1] if line)
        assert proc.stderr is not None
        assert proc.stderr.read() == ""
        proc.stdout.close()
        proc.stderr.close()
        assert proc.stdin is not None
        proc.stdin.close()
        assert proc.returncode == -signal.SIGKILL

    assert len(acknowledged) >= 20 * 5
    assert integrity(path) == "ok"
    with Workbook.open(path) as wb:
        present = {s.id for s in wb.records("emotion_episode")}
        health = wb.check()
    missing = [i for i in acknowledged if i not in present]
    assert not missing, f"{len(missing)} acknowledged saves lost, e.g. {missing[:3]}"
    assert health.ok
    assert health.counts["emotion_episode"] == len(present)
