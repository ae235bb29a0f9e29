"""The research batch on Dask: many workbooks (or their exports, or research bundles) in,
one anonymised dataset out.

:func:`run_batch` finds the inputs, then runs
:func:`heron_research.research.task.process_source` for each on a Dask cluster: a local one
sized to the machine (one single-threaded worker process per core, as the work holds the
GIL; the workers are forked from a server process that imported their modules once, see
:func:`heron_research._worker_server.worker_server`), or an existing cluster by its
scheduler address. Each task takes a few inputs (up to 16, fewer for small batches, so
Dask's own cost per task is spread); at most a few tasks per worker thread are in flight;
each result (a few kilobytes of Arrow data per workbook) is streamed to partition files as
it arrives, so memory stays flat however many workbooks there are. The combine step then
writes the dataset (see :mod:`heron_research.research.dataset`).

The study key stays in this process: workers receive a key derived from it, for pseudonyms.
The study's age identities, which open research bundles, go to the workers that read them.
On a remote cluster every worker must have heron-research installed and must be able to read
the input paths as given (a shared file system).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from heron_research._worker_server import available as forkserver_available
from heron_research._worker_server import worker_server
from heron_research.research.anonymise import FreeText
from heron_research.research.bundles import StudyIdentities
from heron_research.research.dataset import DatasetWriter
from heron_research.research.errors import ClusterLostError, NoInputsError, ResearchError
from heron_research.research.gate import EXCLUSION_REASONS
from heron_research.research.keys import StudyKey
from heron_research.research.sources import list_inputs
from heron_research.research.tables import TABLES
from heron_research.research.task import SourceResult, TaskSettings, process_sources

if TYPE_CHECKING:
    from distributed import Client

__all__ = [
    "LOST_WORKERS_TIMEOUT_S",
    "BatchProgress",
    "BatchReport",
    "BatchStage",
    "Problem",
    "dask_client",
    "run_batch",
]

#: tasks in flight per worker thread: enough to keep workers busy, few enough to stay small
IN_FLIGHT_PER_THREAD = 3
#: most inputs per task: several per task spread Dask's own cost (scheduling, messages)
MAX_CHUNK = 16
#: how long a batch waits with no Dask worker at all before it gives up (seconds)
LOST_WORKERS_TIMEOUT_S = 60.0
#: files skipped by name that the summary names (the rest are counted)
SKIPPED_SHOWN = 10
#: how often the batch looks at its cluster while no result arrives (seconds)
WATCH_TICK_S = 0.5


@dataclass(frozen=True)
class BatchProgress:
    """How far a batch has got (passed to the progress callback after each input)."""

    done: int
    total: int
    included: int
    excluded: int
    erred: int


@dataclass(frozen=True)
class BatchStage:
    """A step of the batch around the per-input work (passed to the stage callback):
    ``cluster`` (``done`` of ``total`` workers ready; a remote cluster counts as one) and
    ``write`` (``done`` of ``total`` dataset files written)."""

    stage: str
    done: int
    total: int


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
    #: files in the input folders skipped by name (for the terminal; the manifest counts them)
    skipped: list[Path] = field(default_factory=list)

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
        older = self.manifest.get("older_bundles", {}).get("count", 0)
        if older:
            lines.append(
                f"Older bundles: {older:,} research bundles of an older format: their person "
                "references are blank and their own words 'other' (ask for new bundles)"
            )
        if self.skipped:
            lines.append(
                f"Skipped by name: {len(self.skipped):,} files (not *.heron, *.json or *.age)"
            )
            lines.extend(f"  skipped: {path}" for path in self.skipped[:SKIPPED_SHOWN])
            if len(self.skipped) > SKIPPED_SHOWN:
                lines.append(f"  ... and {len(self.skipped) - SKIPPED_SHOWN:,} more")
        return lines


@contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None) -> Iterator[Client]:
    """A Dask client: on the cluster at ``scheduler``, or on a new local cluster of ``workers``
    single-threaded worker processes (default: one per core), shut down on exit. A local
    cluster's workers are forked from a server that imported their modules once (started
    here unless already running, stopped on exit with the cluster): no process is left."""
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
    # no statistical profiler in the workers: it samples the task's stack every 10 ms for a
    # dashboard this cluster does not have, and costs the work ~15%
    config: dict[str, Any] = {"distributed.worker.profile.enabled": False}
    if forkserver_available():  # workers forked from one process that imported their modules
        config["distributed.worker.multiprocessing-method"] = "forkserver"
        _skip_dask_preload()
    with (
        dask.config.set(config),
        worker_server(),
        LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            # no dashboard; the scheduler's small HTTP server on any free local port
            scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
            silence_logs=logging.CRITICAL,
        ) as cluster,
        # results straight from the workers, not relayed (and re-serialised) by the scheduler
        Client(cluster, set_as_default=False, direct_to_workers=True) as client,
    ):
        yield client


def _skip_dask_preload() -> None:
    """Keep Dask from importing, in this process, the modules it would have the fork server
    preload (numpy, pandas, lz4...: 0.3-0.5 s, as the first worker is about to start).

    The first time a nanny starts a worker with ``forkserver``, Dask imports its required and
    optional packages here to build a preload list for the server, then sets it; but
    :func:`~heron_research._worker_server.worker_server` has started the server already,
    with its own list, so Dask's list changes nothing. Dask keeps that it has done this in
    a module flag (there is no setting for it): set here, if this Dask has it."""
    import distributed.utils

    if hasattr(distributed.utils, "_forkserver_preload_set"):
        distributed.utils._forkserver_preload_set = True


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
    on_stage: Callable[[BatchStage], None] | None = None,
    as_of: datetime | None = None,
    lost_workers_timeout: float = LOST_WORKERS_TIMEOUT_S,
) -> BatchReport:
    """Anonymise every consented workbook in ``inputs`` into the dataset folder ``out``.

    ``inputs`` are workbooks, exports, research bundles (opened with ``identities``, see
    :func:`~heron_research.research.bundles.load_identities`) or folders of them.
    ``client`` runs on an existing Dask client; otherwise ``scheduler`` (an address such as
    ``tcp://host:8786``) or a new local cluster of ``workers`` processes, started while the
    inputs are listed. Consent is judged as of ``as_of`` (default: now). ``on_progress`` is
    called after each input, ``on_stage`` as the cluster starts and as the dataset's files
    are written. Dask's own log messages are kept off stderr while the batch runs.

    Raises :class:`~heron_research.errors.ResearchError` for problems that stop the batch
    before it starts (no inputs, ``out`` not empty), and
    :class:`~heron_research.errors.ClusterLostError` when the scheduler is lost, or every
    worker for longer than ``lost_workers_timeout`` seconds; either way nothing is left at
    ``out`` (the dataset is built in a private folder beside it and moved into place at
    the end), so the same command can be run again. An input that cannot be read is
    recorded as erred and the batch goes on. Inputs are left as they were: nothing is
    written or created beside them.
    """
    if free_text not in ("none", "scrubbed"):
        raise ValueError(f"free_text must be 'none' or 'scrubbed' (got {free_text!r})")
    settings = TaskSettings(
        key.pseudonymiser(), free_text, as_of or datetime.now(UTC), identities or StudyIdentities()
    )
    stage = on_stage or (lambda _: None)
    problems: list[Problem] = []
    try:
        with (
            # first: the workers' imports run beside this process's own
            worker_server() if client is None and scheduler is None else nullcontext(),
            _quiet_dask_logs(),
            ExitStack() as cluster,
            DatasetWriter(Path(out), key, free_text=free_text, k=k) as writer,
        ):
            starting = None if client is not None else _start(cluster, scheduler, workers, stage)
            try:
                listed = list_inputs(inputs)
            except PermissionError as exc:
                raise NoInputsError(f"cannot read {exc.filename}: {exc.strerror}") from None
            paths = listed.files
            writer.skipped_by_name = len(listed.skipped)
            own = client if starting is None else starting()
            _run(own, paths, settings, writer, problems, on_progress, lost_workers_timeout)
            stage(BatchStage("write", 0, len(TABLES) + 2))
            manifest = writer.finish(lambda done, total: stage(BatchStage("write", done, total)))
    except OSError as exc:  # the output side: disk full, permissions, a vanished folder
        if isinstance(exc, ResearchError):
            raise
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
    return BatchReport(Path(out), manifest, problems, listed.skipped)


def _start(
    stack: ExitStack,
    scheduler: str | None,
    workers: int | None,
    stage: Callable[[BatchStage], None],
) -> Callable[[], Client]:
    """Start (or connect to) the cluster in a thread; the returned call waits for it. The
    cluster is shut down when ``stack`` closes, whatever happened meanwhile."""
    import threading

    wanted = 1 if scheduler is not None else workers or os.cpu_count() or 1
    stage(BatchStage("cluster", 0, wanted))
    box: dict[str, Any] = {}
    inner = ExitStack()

    def start() -> None:
        try:
            box["client"] = inner.enter_context(dask_client(scheduler, workers))
        except BaseException as exc:  # handed to the waiting thread
            box["error"] = exc

    thread = threading.Thread(target=start, name="heron-batch-cluster", daemon=True)
    thread.start()

    def close() -> None:
        thread.join()
        inner.close()

    stack.callback(close)

    def wait() -> Client:
        thread.join()
        if "error" in box:
            raise box.pop("error")
        client: Client = box["client"]
        stage(BatchStage("cluster", wanted if scheduler is None else 1, wanted))
        return client

    return wait


@contextmanager
def _quiet_dask_logs() -> Iterator[None]:
    """Keep Dask's (and its network library's) log messages off stderr while the batch runs,
    the cluster's and the client's shutdown included: a worker's missed heartbeat or a
    closed connection is logged with a traceback, which says nothing to a researcher whose
    batch succeeded. What goes wrong is raised instead.

    Dask gives some child loggers (``distributed.client``...) levels and stderr handlers of
    their own, so every existing logger of these families is disabled, and the top ones'
    level keeps quiet any logger made meanwhile. Dask sets its loggers up as it is first
    imported, so it is imported here first."""
    import distributed  # noqa: F401  (its logging set up now, not under the quiet levels)

    names = ("distributed", "tornado", "bokeh")
    tops = [logging.getLogger(name) for name in names]
    family = [
        logger
        for name, logger in list(logging.root.manager.loggerDict.items())
        if isinstance(logger, logging.Logger) and name.startswith(tuple(f"{n}." for n in names))
    ]
    levels = [logger.level for logger in tops]
    disabled = [(logger, logger.disabled) for logger in [*tops, *family]]
    for logger in tops:
        logger.setLevel(logging.CRITICAL + 1)
    for logger, _ in disabled:
        logger.disabled = True
    try:
        yield
    finally:
        for logger, level in zip(tops, levels, strict=True):
            logger.setLevel(level)
        for logger, was in disabled:
            logger.disabled = was


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
    lost_workers_timeout: float,
) -> None:
    """Run every input's task and hand each result to ``writer`` as it arrives.

    Raises :class:`ClusterLostError` when the scheduler goes (its futures are cancelled) or
    no worker is left for longer than ``lost_workers_timeout`` seconds; a worker lost
    mid-task is Dask's to retry (on another worker, or on a new one a nanny starts)."""
    import queue

    from distributed.client import FutureCancelledError

    threads = sum(client.nthreads().values()) or 1
    size = chunk_size(len(paths), threads)
    chunks = iter(range(0, len(paths), size))
    tally = {"included": 0, "excluded": 0, "erred": 0}
    inflight: dict[Any, int] = {}
    finished: queue.SimpleQueue[Any] = queue.SimpleQueue()
    watch = _WorkerWatch(client, lost_workers_timeout)

    def submit() -> None:
        first = next(chunks)
        batch = [str(p) for p in paths[first : first + size]]
        future = client.submit(process_sources, batch, first, settings, pure=False)
        inflight[future] = first
        future.add_done_callback(finished.put)  # also when cancelled

    for _ in range(IN_FLIGHT_PER_THREAD * threads):
        with suppress(StopIteration):
            submit()
    done = 0
    while inflight:
        try:
            ready = [finished.get(timeout=WATCH_TICK_S)]
        except queue.Empty:
            ready = []
        if client.status != "running" or any(f.status == "cancelled" for f in ready):
            raise ClusterLostError(_lost_scheduler(client, done, len(paths)))
        if not ready:
            watch.check(done, len(paths))
            continue
        watch.seen_work()
        for future in ready:
            first = inflight.pop(future)
            try:
                results: list[SourceResult] = future.result()
            except FutureCancelledError:
                raise ClusterLostError(_lost_scheduler(client, done, len(paths))) from None
            except Exception as exc:
                results = _task_failed(exc, paths, first, size, settings)
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
                submit()


def _task_failed(
    exc: Exception, paths: list[Path], first: int, size: int, settings: TaskSettings
) -> list[SourceResult]:
    """The inputs of a task that failed on the cluster. The task itself never raises for
    an input, so only a task whose workers kept dying while they ran it (Dask's
    ``KilledWorker``, after its retries: an input that takes more memory than a worker
    has, say) is the inputs' doing: they are listed as erred. Anything else is the
    cluster's doing (a worker without heron-research, say) and stops the batch."""
    from distributed.scheduler import KilledWorker

    if not isinstance(exc, KilledWorker):
        raise ClusterLostError(
            f"the Dask cluster could not run the batch ({type(exc).__name__}: {exc}); "
            "nothing was written; check that every worker has heron-research installed and "
            "can read the inputs"
        ) from None
    return [
        SourceResult(
            index,
            "erred",
            "failed",
            settings.keys.input_ref(f"path:{paths[index]}"),
            detail=f"{paths[index]}: the Dask workers that read it kept dying ({exc})",
        )
        for index in range(first, min(first + size, len(paths)))
    ]


def _lost_scheduler(client: Client, done: int, total: int) -> str:
    where = getattr(client.scheduler, "address", None) or "the scheduler"
    return (
        f"lost the Dask scheduler ({where}) after {done:,} of {total:,} inputs; nothing was "
        "written; run the batch again"
    )


class _WorkerWatch:
    """Whether the cluster has had no worker for longer than the timeout (from the client's
    view of the scheduler, refreshed every few seconds, so no call can hang)."""

    def __init__(self, client: Client, timeout: float) -> None:
        import time

        self._client = client
        self._timeout = timeout
        self._monotonic = time.monotonic
        self._since: float | None = None

    def seen_work(self) -> None:
        self._since = None

    def check(self, done: int, total: int) -> None:
        workers = self._client.scheduler_info().get("workers", {})
        if workers:
            self._since = None
            return
        now = self._monotonic()
        if self._since is None:
            self._since = now
        elif now - self._since > self._timeout:
            raise ClusterLostError(
                f"no Dask worker for more than {self._timeout:g} s (all were lost) after "
                f"{done:,} of {total:,} inputs; nothing was written; run the batch again"
            )
