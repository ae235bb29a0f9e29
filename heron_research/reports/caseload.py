"""A practitioner's caseload in one go: the report of every workbook, on kernels reused
from one notebook to the next.

:func:`run_reports` (``heron-research report A.heron B.heron ... --out-dir DIR``) makes
each report exactly as :func:`~heron_research.reports.runner.run_report` would, on
``jobs`` lanes (default: one per core, at most two). A lane is a thread with its own
:class:`~heron_research.reports.kernels.ReusedKernel` and nbconvert exporter; lanes take
the next workbook as they finish one. The first lane starts at once; the others start
their kernels only once the first report is written, so the first report comes as soon as
a single ``heron-research report`` would make it, and later ones come about ``jobs``
times as often. Reports are announced in the order the workbooks were given, whichever
lane finished first.

A workbook that cannot be reported (missing, damaged, a failing section, a kernel that
died) is listed with its one-line reason and the rest are made. An interrupt (Ctrl-C), or
an error that is not about one workbook, stops every lane: their kernels are killed at
once, and the error is raised once the lanes have cleaned up.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from heron_research.errors import HeronError, ReportError
from heron_research.reports.kernels import Background, ReusedKernel, close_thread_loop
from heron_research.reports.registry import ReportKind
from heron_research.reports.runner import (
    ReportResult,
    _checked,
    _make_exporter,
    _private_folder,
    _run_on_workbook,
)
from heron_research.reports.warm import without_optional

__all__ = ["MAX_JOBS", "WORKBOOK_GLOB", "CaseloadReport", "default_jobs", "run_reports", "sources"]

#: the files a folder given to :func:`sources` contributes
WORKBOOK_GLOB = "*.heron"
#: most lanes :func:`default_jobs` gives: a report is one kernel's work, and more lanes
#: than cores only share the same cores
MAX_JOBS = 2


@dataclass(frozen=True)
class CaseloadReport:
    """One workbook of a caseload run: its report, or why there is none (one line)."""

    source: Path
    result: ReportResult | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.result is not None

    def line(self) -> str:
        """What the command prints for it: ``SOURCE -> REPORT`` or ``SOURCE: not made: WHY``."""
        if self.result is not None:
            return f"{self.source} -> {self.result.path}"
        return f"{self.source}: not made: {self.error}"


def sources(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The workbooks named by ``paths``: a file as given, a folder as its ``*.heron`` files
    (sorted by name); each once, in order."""
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        found.extend(sorted(path.glob(WORKBOOK_GLOB)) if path.is_dir() else [path])
    return list(dict.fromkeys(found))


def default_jobs(n_workbooks: int) -> int:
    """Lanes for ``n_workbooks``: one per core, at most :data:`MAX_JOBS`, at most one per
    workbook."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(MAX_JOBS, cores or 1, n_workbooks))


def run_reports(
    workbooks: Iterable[str | os.PathLike[str]],
    *,
    out_dir: str | os.PathLike[str] | None = None,
    kind: str = "review",
    since: str | date | None = None,
    until: str | date | None = None,
    audience: str = "client",
    keep_notebook: bool = False,
    jobs: int | None = None,
    on_report: Callable[[CaseloadReport, int, int], None] | None = None,
) -> list[CaseloadReport]:
    """Run the ``kind`` report on each of ``workbooks`` (files, or folders of ``*.heron``
    files: see :func:`sources`) on ``jobs`` reused kernels (default :func:`default_jobs`),
    and say how each went, in the order given.

    Each report is the one :func:`~heron_research.reports.runner.run_report` makes with
    the same options, written to ``out_dir`` (created owner-only) under its default name,
    or beside its workbook. A workbook that cannot be reported (missing, damaged, a
    failing section) is listed with the reason and the rest are made.
    ``on_report(item, done, total)`` is called for each, in order, as soon as it and all
    before it are done. Options that are wrong for every workbook (the period, the
    audience, ``jobs``, two workbooks that would write the same file) raise
    :class:`ReportError` before anything runs.
    """
    entry, start, end = _checked(kind, audience, since, until)
    found = sources(workbooks)
    if not found:
        raise ReportError("no workbooks to report on (a folder gives its *.heron files)")
    if jobs is not None and jobs < 1:
        raise ReportError(f"jobs should be 1 or more, not {jobs}")
    targets: dict[Path, Path] = {}
    for source in found:
        target = entry.default_out(source, end, audience)
        target = Path(out_dir) / target.name if out_dir is not None else target
        if target in targets.values():
            first = next(s for s, t in targets.items() if t == target)
            raise ReportError(f"{first} and {source} would both be reported to {target}")
        targets[source] = target
    if out_dir is not None:
        _private_folder(Path(out_dir))
    job = _Job(entry, start, end, audience, keep_notebook, targets)
    return job.run(min(jobs or default_jobs(len(found)), len(found)), on_report)


class _Job:
    """The workbooks of one caseload run, the lanes that make their reports, and the
    results handed back in order."""

    def __init__(
        self,
        entry: ReportKind,
        start: date | None,
        end: date,
        audience: str,
        keep_notebook: bool,
        targets: dict[Path, Path],
    ) -> None:
        self.entry = entry
        self.start, self.end = start, end
        self.audience = audience
        self.keep_notebook = keep_notebook
        self.targets = targets
        self.todo: queue.SimpleQueue[tuple[int, Path]] = queue.SimpleQueue()
        for item in enumerate(targets):
            self.todo.put(item)
        self.results: queue.SimpleQueue[tuple[int, CaseloadReport | BaseException]] = (
            queue.SimpleQueue()
        )
        self.first_done = threading.Event()
        self.stop = threading.Event()
        self.kernels: list[ReusedKernel] = []
        self._lock = threading.Lock()

    def run(
        self, jobs: int, on_report: Callable[[CaseloadReport, int, int], None] | None
    ) -> list[CaseloadReport]:
        total = len(self.targets)
        lanes = [
            threading.Thread(
                target=self._lane, args=(i,), name=f"heron-caseload-{i + 1}", daemon=True
            )
            for i in range(jobs)
        ]
        for lane in lanes:
            lane.start()
        done: dict[int, CaseloadReport] = {}
        announced = 0
        failure: BaseException | None = None
        try:
            while len(done) < total:
                try:
                    index, got = self.results.get(timeout=0.5)  # Ctrl-C gets through
                except queue.Empty:
                    continue
                if isinstance(got, BaseException):  # not about one workbook: stop
                    failure = got
                    break
                done[index] = got
                while announced in done:
                    announced += 1
                    if on_report is not None:
                        on_report(done[announced - 1], announced, total)
        except BaseException as exc:  # an interrupt, or on_report failed
            failure = exc
        finally:
            self.stop.set()
            self.first_done.set()  # lanes still waiting to start: do not start
            if failure is not None:
                with self._lock:
                    for kernel in self.kernels:
                        kernel.kill()
            for lane in lanes:
                lane.join()
        if failure is not None:
            raise failure
        return [done[i] for i in range(total)]

    def _lane(self, number: int) -> None:
        """Make reports until there are none left (a thread: its kernel lives here). What
        goes wrong beyond one workbook is handed to the main thread, which stops the run."""
        if number > 0:
            self.first_done.wait()
        if self.stop.is_set():
            return
        kernel = ReusedKernel((self.entry.module,))
        with self._lock:
            self.kernels.append(kernel)
        try:
            # as a single report does: the kernel first (it imports the report code while
            # this process goes on), then papermill, then nbconvert's exporter beside them
            kernel.start()
            with without_optional():
                from heron_research.reports import engine  # noqa: F401
            exporter = Background(_make_exporter, "nbconvert exporter")
            while not self.stop.is_set():
                try:
                    index, source = self.todo.get_nowait()
                except queue.Empty:
                    return
                self.results.put((index, self._one(source, kernel, exporter)))
                self.first_done.set()
        except BaseException as exc:
            self.results.put((-1, exc))
        finally:
            try:
                kernel.close()
            finally:
                close_thread_loop()

    def _one(self, source: Path, kernel: ReusedKernel, exporter: Background) -> CaseloadReport:
        try:
            result = _run_on_workbook(
                self.entry,
                source,
                since=self.start,
                until=self.end,
                audience=self.audience,
                title=None,
                started=time.monotonic(),
                out=self.targets[source],
                keep_notebook=self.keep_notebook,
                notebook=None,
                kernel=kernel,
                exporter=exporter,
            )
        except (HeronError, OSError) as exc:
            if self.stop.is_set():  # killed because the run stops: not this workbook's fault
                raise
            return CaseloadReport(source, None, _one_line(exc))
        return CaseloadReport(source, result, None)


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror}"
    return " ".join(str(exc).split()) or type(exc).__name__
