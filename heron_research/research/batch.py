"""The research batch on Dask: many workbooks (or their exports, or research bundles) in,
one anonymised dataset out.

:func:`run_batch` finds the inputs, then runs :func:`heron_research.research.task.process_source`
for each on a Dask cluster: a local one sized to the machine (one single-threaded worker
process per core, as the work holds the GIL), or an existing cluster by its scheduler
address. Each task takes a few inputs (up to 16, fewer for small batches, so Dask's own
cost per task is spread); at most a few tasks per worker thread are in flight; each result
(a few kilobytes of Arrow data per workbook) is streamed to partition files as it arrives,
so memory stays flat however many workbooks there are. The combine step then writes the dataset (see
:mod:`heron_research.research.dataset`).

The study key stays in this process: workers receive a key derived from it, for pseudonyms.
The study's age identities, which open research bundles, go to the workers that read them.
On a remote cluster every worker must have heron-research installed and must be able to read
the input paths as given (a shared file system).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from heron_research.research.anonymise import FreeText
from heron_research.research.bundles import StudyIdentities
from heron_research.research.dataset import DatasetWriter
from heron_research.research.errors import NoInputsError, ResearchError
from heron_research.research.gate import EXCLUSION_REASONS
from heron_research.research.keys import StudyKey
from heron_research.research.sources import find_inputs
from heron_research.research.task import SourceResult, TaskSettings, process_sources

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["BatchProgress", "BatchReport", "Problem", "dask_client", "run_batch"]

#: tasks in flight per worker thread: enough to keep workers busy, few enough to stay small
IN_FLIGHT_PER_THREAD = 3
#: most inputs per task: several per task spread Dask's own cost (scheduling, messages)
MAX_CHUNK = 16


@dataclass(frozen=True)
class BatchProgress:
    """How far a batch has got (passed to the progress callback after each input)."""

    done: int
    total: int
    included: int
    excluded: int
    erred: int


@dataclass(frozen=True)
class Problem:
    """An input left out, for the researcher's terminal: ``path`` is never written anywhere."""

    path: Path
    status: str  # excluded | erred
    code: str
    reason: str
    detail: str


@dataclass
class BatchReport:
    """What a batch did: the dataset folder, its manifest, and every input left out."""

    out: Path
    manifest: dict[str, Any]
    problems: list[Problem] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return dict(self.manifest["counts"])

    def lines(self) -> list[str]:
        """A short summary for a person."""
        c = self.counts
        rows = sum(t["rows"] for t in self.manifest["tables"].values())
        lines = [
            f"Dataset: {self.out} (only you can read it)",
            f"Inputs: {c['inputs']:,}; included {c['included']:,}, excluded {c['excluded']:,}, "
            f"erred {c['erred']:,}",
            f"Rows: {rows:,} in {len(self.manifest['tables'])} tables; free text: "
            f"{self.manifest['parameters']['free_text']}; key fingerprint "
            f"{self.manifest['key_fingerprint']}",
        ]
        for p in self.problems:
            lines.append(f"  {p.status}: {p.path}: {p.reason}")
        return lines


@contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None) -> Iterator[Client]:
    """A Dask client: on the cluster at ``scheduler``, or on a new local cluster of ``workers``
    single-threaded worker processes (default: one per core), shut down on exit."""
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, set_as_default=False, timeout="15s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise ResearchError(
                f"cannot reach the Dask scheduler at {scheduler} ({exc}); is the cluster running?"
            ) from None
        with client:
            yield client
        return
    import dask

    n = workers or os.cpu_count() or 1
    with (
        # no statistical profiler in the workers: it samples the task's stack every 10 ms
        # for a dashboard this cluster does not have, and costs the work ~15%
        dask.config.set({"distributed.worker.profile.enabled": False}),
        LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            # no dashboard; the scheduler's small HTTP server on any free local port
            scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
            silence_logs=logging.ERROR,
        ) as cluster,
        # results straight from the workers, not relayed (and re-serialised) by the scheduler
        Client(cluster, set_as_default=False, direct_to_workers=True) as client,
    ):
        yield client


def _problem(path: Path, result: SourceResult) -> Problem:
    return Problem(path, result.status, result.code, result.reason, result.detail)


def run_batch(
    inputs: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    key: StudyKey,
    identities: StudyIdentities | None = None,
    free_text: FreeText = "none",
    k: int = 5,
    scheduler: str | None = None,
    workers: int | None = None,
    client: Client | None = None,
    on_progress: Callable[[BatchProgress], None] | None = None,
    as_of: datetime | None = None,
) -> BatchReport:
    """Anonymise every consented workbook in ``inputs`` into the dataset folder ``out``.

    ``inputs`` are workbooks, exports, research bundles (opened with ``identities``, see
    :func:`~heron_research.research.bundles.load_identities`) or folders of them.
    ``client`` runs on an existing Dask client; otherwise ``scheduler`` (an address such as
    ``tcp://host:8786``) or a new local cluster of ``workers`` processes. Consent is judged
    as of ``as_of`` (default: now). Raises :class:`~heron_research.errors.ResearchError` for
    problems that stop the batch before it starts (no inputs, ``out`` not empty); an input
    that cannot be read is recorded as erred and the batch goes on.
    """
    if free_text not in ("none", "scrubbed"):
        raise ValueError(f"free_text must be 'none' or 'scrubbed' (got {free_text!r})")
    try:
        paths = find_inputs(inputs)
    except PermissionError as exc:
        raise NoInputsError(f"cannot read {exc.filename}: {exc.strerror}") from None
    settings = TaskSettings(
        key.pseudonymiser(), free_text, as_of or datetime.now(UTC), identities or StudyIdentities()
    )
    problems: list[Problem] = []
    try:
        with DatasetWriter(Path(out), key, free_text=free_text, k=k) as writer:
            if client is not None:
                _run(client, paths, settings, writer, problems, on_progress)
            else:
                with dask_client(scheduler, workers) as own:
                    _run(own, paths, settings, writer, problems, on_progress)
            manifest = writer.finish()
    except OSError as exc:  # the output side: disk full, permissions, a vanished folder
        where = exc.filename or out
        raise ResearchError(
            f"cannot write the dataset ({where}: {exc.strerror or exc}); nothing was left "
            "half-written"
        ) from None
    for index in writer.duplicates:
        problems.append(
            Problem(paths[index], "excluded", "duplicate", EXCLUSION_REASONS["duplicate"], "")
        )
    problems.sort(key=lambda p: (p.status, str(p.path)))
    return BatchReport(Path(out), manifest, problems)


def chunk_size(n_inputs: int, threads: int) -> int:
    """Inputs per task: up to :data:`MAX_CHUNK`, so that each thread still gets several."""
    return max(1, min(MAX_CHUNK, n_inputs // (threads * IN_FLIGHT_PER_THREAD * 2)))


def _run(
    client: Client,
    paths: list[Path],
    settings: TaskSettings,
    writer: DatasetWriter,
    problems: list[Problem],
    on_progress: Callable[[BatchProgress], None] | None,
) -> None:
    from distributed import as_completed

    threads = sum(client.nthreads().values()) or 1
    size = chunk_size(len(paths), threads)
    chunks = iter(range(0, len(paths), size))
    tally = {"included": 0, "excluded": 0, "erred": 0}
    first_of: dict[str, int] = {}

    def submit() -> Any:
        first = next(chunks)
        batch = [str(p) for p in paths[first : first + size]]
        future = client.submit(process_sources, batch, first, settings, pure=False)
        first_of[future.key] = first
        return future

    pending = as_completed(loop=client.loop)
    for _ in range(IN_FLIGHT_PER_THREAD * threads):
        with suppress(StopIteration):
            pending.add(submit())
    done = 0
    for future in pending:
        first = first_of.pop(future.key)
        try:
            results: list[SourceResult] = future.result()
        except Exception as exc:  # the worker died (e.g. killed for memory): record, go on
            results = [
                SourceResult(
                    index,
                    "erred",
                    "failed",
                    settings.keys.input_ref(f"path:{paths[index]}"),
                    detail=f"{paths[index]}: {type(exc).__name__}: {exc}",
                )
                for index in range(first, min(first + size, len(paths)))
            ]
        future.release()
        for result in results:
            writer.add(result)
            tally[result.status] += 1
            if result.status != "included":
                problems.append(_problem(paths[result.index], result))
            done += 1
            if on_progress is not None:
                on_progress(BatchProgress(done, len(paths), **tally))
        with suppress(StopIteration):
            pending.add(submit())
