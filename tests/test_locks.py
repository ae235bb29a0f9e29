"""A workbook another process has open is seen as open, and the demo is not replaced under it.

A JupyterLab kernel keeps the client's workbook open between saves. If ``make demo`` (or
``heron-research demo``) replaced the file then, the kernel's later saves would go to the
replaced file and be lost. The check reads SQLite's own per-connection lock on the ``-shm``
file, so these tests hold the workbook open in a real second process.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from heron_research.cli import main
from heron_research.demo import DEMO_FILE, write_demo
from heron_research.errors import WorkbookBusyError
from heron_research.workbook import Workbook
from heron_research.workbook.locks import open_elsewhere

pytestmark = pytest.mark.processes

#: holds the workbook open (after one read, as a kernel does after showing its forms)
HOLDER = """
import sys
from heron_research.workbook import Workbook
wb = Workbook.open(sys.argv[1])
wb.counts()
print("open", flush=True)
sys.stdin.readline()
wb.close()
"""


class Holder:
    def __init__(self, path: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "open"

    def close(self) -> None:
        """Let the holder close the workbook and exit (or reap it, if it was killed)."""
        try:
            self.process.communicate(input="" if self.process.poll() is None else None, timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()

    def kill(self) -> None:
        self.process.kill()
        self.process.communicate()


@pytest.fixture
def hold() -> Iterator[Callable[[Path], Holder]]:
    made: list[Holder] = []

    def start(path: Path) -> Holder:
        holder = Holder(path)
        made.append(holder)
        return holder

    yield start
    for holder in made:
        holder.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_open_elsewhere_sees_another_process_and_not_a_closed_file(
    tmp_path: Path, hold: Callable[[Path], Holder]
) -> None:
    path = tmp_path / "client.heron"
    Workbook.create(path).close()
    assert not open_elsewhere(path)  # nobody has it open
    assert not open_elsewhere(tmp_path / "missing.heron")

    holder = hold(path)
    assert open_elsewhere(path)
    holder.close()
    assert not open_elsewhere(path)  # the lock went with the process


def test_a_killed_holder_leaves_no_lock(tmp_path: Path, hold: Callable[[Path], Holder]) -> None:
    path = tmp_path / "client.heron"
    Workbook.create(path).close()
    hold(path).kill()
    assert not open_elsewhere(path)


def test_the_demo_is_not_replaced_while_a_kernel_has_it_open(
    tmp_path: Path, hold: Callable[[Path], Holder], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "demo"
    write_demo(out, years=0.1)
    workbook = out / DEMO_FILE
    holder = hold(workbook)
    before = digest(workbook)

    with pytest.raises(WorkbookBusyError) as refused:
        write_demo(out, years=0.1, seed=8)
    assert str(workbook) in str(refused.value)
    assert "open in another program" in str(refused.value)

    with pytest.raises(SystemExit) as ended:
        main(["demo", "--out", str(out), "--years", "0.1"])
    _, err = capsys.readouterr()
    assert ended.value.code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "open in another program" in lines[0], lines
    assert digest(workbook) == before
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(DEMO_FILE)) == []

    holder.close()
    write_demo(out, years=0.1, seed=8)  # closed: now it may be replaced
    assert digest(workbook) != before
