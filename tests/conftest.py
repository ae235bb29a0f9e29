"""Shared fixtures: fresh workbooks, a controllable clock, and valid example records.

Also the test tiers (``tests/tiers.py``): every test is marked ``fast`` or ``slow`` at
collection, and a fast test that starts a process, a kernel or a Dask cluster fails.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from figures import Figures, Scale
from support import StepClock, consent_entry, episode_data, one_of_each_kind
from tiers import TierPlugin

from heron_research.records import (
    ConsentEntry,
    EmotionEpisode,
    Record,
    validate_record,
)
from heron_research.workbook import Workbook


@pytest.fixture
def clock() -> StepClock:
    return StepClock()


@pytest.fixture
def workbook_path(tmp_path: Path) -> Path:
    return tmp_path / "client.heron"


@pytest.fixture
def workbook(workbook_path: Path, clock: StepClock) -> Iterator[Workbook]:
    """A fresh, empty workbook in ``tmp_path`` on the step clock, closed afterwards."""
    wb = Workbook.create(workbook_path, clock=clock)
    try:
        yield wb
    finally:
        wb.close()


@pytest.fixture
def make_episode() -> Callable[..., EmotionEpisode]:
    """A factory: ``make_episode(sharing="research", situation=...)`` -> a valid episode."""

    def make(**overrides: Any) -> EmotionEpisode:
        return validate_record(EmotionEpisode, episode_data(**overrides))

    return make


@pytest.fixture
def make_consent() -> Callable[..., ConsentEntry]:
    """A factory for consent-ledger entries (to the current principles unless told)."""
    return consent_entry


@pytest.fixture
def every_kind() -> Callable[[], list[Record]]:
    """A factory for one valid record of every kind (fresh ids each call)."""
    return one_of_each_kind


@pytest.fixture
def local_timezone(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """Set this process's local time zone (``TZ``) for one test, restored afterwards."""

    def use(name: str) -> None:
        monkeypatch.setenv("TZ", name)
        time.tzset()

    yield use
    monkeypatch.undo()
    time.tzset()


@pytest.fixture(scope="session")
def scale() -> Scale:
    """The reliability tier's scale: ``test`` by default, ``full`` for the benchmark."""
    return Scale.from_env()


@pytest.fixture(scope="session")
def figures() -> Figures:
    """Where reliability tests record what they measured (see ``tests/figures.py``)."""
    return Figures.from_env()


def pytest_configure(config: pytest.Config) -> None:
    # the tiers (tests/tiers.py): every test marked fast or slow; fast ones guarded
    config.pluginmanager.register(TierPlugin(), "heron-tiers")
