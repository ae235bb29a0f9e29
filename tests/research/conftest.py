"""Fixtures for the research tests: participant workbooks and a study key file."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from research_helpers import KEY_TEXT, Participant, build_workbook, key_file_in, participant_records

from heron_research.research.keys import StudyKey
from heron_research.workbook import Workbook


@pytest.fixture
def make_participant(tmp_path: Path) -> Callable[..., Participant]:
    """``make_participant("name", custom_emotion=..., notes=...)`` -> a workbook file."""

    def make(name: str = "client", **options: Any) -> Participant:
        records, people, shared = participant_records(**options)
        path = build_workbook(tmp_path / f"{name}.heron", records)
        with Workbook.open(path, readonly=True) as wb:
            wid = wb.id
        return Participant(path, wid, people, shared)

    return make


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    return key_file_in(tmp_path)


@pytest.fixture
def study_key() -> StudyKey:
    return StudyKey(KEY_TEXT)


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """A real Dask cluster for one test module, reached by its TCP scheduler address."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        protocol="tcp://",  # a real address a Client connects to, as to a remote cluster
        host="127.0.0.1",
        dashboard_address=None,
        scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
        silence_logs=logging.ERROR,
    ) as cluster:
        yield cluster.scheduler_address
