"""Fixtures for the exchange tests: keys on disk and a client workbook with canaries."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from exchange_helpers import Keys, fill_with_canaries
from support import StepClock

from heron_research.exchange.keys import new_identity
from heron_research.workbook import Workbook


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    folder = tmp_path / "keys"
    folder.mkdir()
    found = Keys(folder / "client.key", folder / "practitioner.key", folder / "stranger.key")
    for path in (found.client, found.practitioner, found.stranger):
        new_identity(path)
    return found


@pytest.fixture
def client_workbook(tmp_path: Path) -> Iterator[tuple[Workbook, dict[str, str]]]:
    """The test workbook (one record of each kind) with the canary entries added."""
    wb = Workbook.create(tmp_path / "client.heron", clock=StepClock())
    try:
        yield wb, fill_with_canaries(wb)
    finally:
        wb.close()
