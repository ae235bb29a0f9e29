"""Reading a workbook leaves nothing beside it (no ``-wal`` or ``-shm``) when nothing was
there, and still sees every committed entry when another program has it open or writes it
meanwhile (:mod:`heron_research.workbook.snapshot`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from heron_research.errors import NotAWorkbookError
from heron_research.records import EmotionEpisode
from heron_research.workbook import Workbook
from heron_research.workbook.snapshot import read_quietly

pytestmark = pytest.mark.unit


def _episode(n: int) -> EmotionEpisode:
    return EmotionEpisode(situation=f"at work {n}", emotions=[{"emotion": "joy", "intensity": 3}])


def _count(wb: Workbook) -> int:
    return len(wb.records("emotion_episode"))


@pytest.fixture
def closed(tmp_path: Path) -> Path:
    path = tmp_path / "w.heron"
    with Workbook.create(path) as wb:
        wb.save(_episode(1))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.heron"]
    return path


def test_a_closed_workbook_is_read_and_nothing_is_left_beside_it(closed: Path) -> None:
    before = closed.read_bytes()
    assert read_quietly(closed, _count) == 1
    assert sorted(p.name for p in closed.parent.iterdir()) == ["w.heron"]
    assert closed.read_bytes() == before


def test_a_workbook_open_in_another_program_shows_its_committed_entries(closed: Path) -> None:
    with Workbook.open(closed) as writer:  # the client's app, with entries in its -wal
        writer.save(_episode(2))
        assert (closed.parent / "w.heron-wal").stat().st_size > 0
        assert read_quietly(closed, _count) == 2


def test_a_workbook_written_during_the_read_is_read_again(closed: Path) -> None:
    calls: list[int] = []

    def read(wb: Workbook) -> int:
        calls.append(_count(wb))
        if len(calls) == 1:  # another program saves while this read is under way
            with Workbook.open(closed) as writer:
                writer.save(_episode(2))
        return calls[-1]

    assert read_quietly(closed, read) == 2
    assert calls == [1, 2]


def test_a_file_that_is_not_a_workbook_is_refused_as_before(tmp_path: Path) -> None:
    other = tmp_path / "notes.heron"
    other.write_text("not a workbook", encoding="utf-8")
    with pytest.raises(NotAWorkbookError, match="not an SQLite database"):
        read_quietly(other, _count)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.heron"]
