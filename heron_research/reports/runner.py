"""Run a report notebook with papermill and export it to one offline HTML page.

:func:`run_report` is what ``heron-research report`` calls, :func:`run_cohort_report` what
``heron-research cohort-report`` calls; both read the kind's entry in
:data:`~heron_research.reports.registry.REPORT_KINDS` (notebook, title, parameters,
audiences, default output name, the check of its source). In one process the runner

1. checks the parameters and opens the workbook (or dataset) read-only (clear errors before
   any kernel);
2. starts the notebook's kernel at once, asking it to import the report code while this
   process is still importing papermill (the two overlap instead of adding up);
3. executes the shipped notebook with :func:`papermill.execute_notebook` in a private
   temporary folder (kernel sockets there too) on the package's papermill engine
   (:mod:`~heron_research.reports.engine`, registered once), while a background thread prepares
   nbconvert's HTML exporter; the kernel is stopped as soon as the last cell has replied;
4. exports the executed notebook with nbconvert's ``HTMLExporter`` in this process (no
   second ``jupyter nbconvert`` process), checks that the page is self-contained, and
   writes it owner-only (0600); missing folders are created owner-only (0700), an existing
   folder keeps its mode.

A failing cell raises :class:`SectionFailedError` (a
:class:`~heron_research.errors.ReportError`) naming the report section and the error; the
partial notebook is kept beside the report (owner-only) for diagnosis. A kernel that dies in
a cell (a library aborting its process) is reported the same way, naming the section that
was running (:data:`~heron_research.reports.engine.KERNEL_DIED`).

:func:`run_reports` makes a practitioner's caseload in one go: one kernel (and one HTML
exporter) for every workbook, its user namespace cleared between notebooks, and a new
kernel only after one died. A workbook that cannot be reported is listed with its one-line
reason and the rest are made.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from importlib.resources import as_file
from pathlib import Path
from typing import TYPE_CHECKING, Any

from heron_research.errors import HeronError, ReportError, SectionFailedError
from heron_research.reports.context import parse_day
from heron_research.reports.html import REPORT_MIME
from heron_research.reports.registry import COHORT, WORKBOOK, ReportKind, report_kind
from heron_research.reports.warm import without_optional
from heron_research.resources import notebook_file
from heron_research.workbook.files import private_folder, write_private

if TYPE_CHECKING:
    from nbformat import NotebookNode

__all__ = [
    "CaseloadReport",
    "ReportResult",
    "SectionFailedError",
    "caseload",
    "default_out",
    "failed_section",
    "run_cohort_report",
    "run_report",
    "run_reports",
]

#: what the kernel imports while it starts (in the kernel's own process): the report
#: kind's section module is added by :func:`_start_kernel`
WARM_UP = "from heron_research.reports.warm import warm_up; warm_up({modules}); del warm_up"
#: what a shared kernel runs between two notebooks of a caseload: the last report's names
#: are forgotten (its modules stay imported) and chart ids start again, so each report is
#: the page a single ``heron-research report`` makes
RESET = (
    "get_ipython().reset(new_session=False)\n"
    "from heron_research.charts import restart_ids; restart_ids(); del restart_ids"
)
#: the files a folder given to :func:`caseload` contributes
WORKBOOK_GLOB = "*.heron"


@dataclass(frozen=True)
class ReportResult:
    """A written report."""

    path: Path
    kind: str
    audience: str
    since: date | None
    until: date
    fingerprint: str
    notebook: Path | None  # the executed notebook, when kept
    seconds: float


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


def default_out(source: Path, kind: str, until: date, audience: str) -> Path:
    """The report's default file beside its source, by the kind's ``out_name``:
    ``<workbook stem>-<kind>[-practitioner]-<until>.html`` for a workbook,
    ``<dataset>-cohort.html`` for a dataset."""
    return report_kind(kind).default_out(source, until, audience)


def _private_folder(folder: Path) -> None:
    """Make ``folder`` and missing parents owner-only; an existing folder is left as it is."""
    try:
        private_folder(folder)
    except FileExistsError:  # a file is in the way
        raise ReportError(f"{folder} is a file, not a folder; choose another --out") from None
    except OSError as exc:
        raise ReportError(f"cannot create {folder}: {exc.strerror}") from None


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` owner-only (0600), replacing it in one step."""
    try:
        write_private(path, data)
    except OSError as exc:
        raise ReportError(f"cannot write {path}: {exc.strerror}") from None


def failed_section(nb: NotebookNode | dict[str, Any]) -> tuple[str, str]:
    """(section name, "ErrorName: message") of the first cell with an error output."""
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                section = cell.get("metadata", {}).get("heron", {}).get("section")
                if section is None:
                    tags = cell.get("metadata", {}).get("tags", [])
                    section = "parameters" if "injected-parameters" in tags else "an unnamed cell"
                line = f"{output.get('ename', 'Error')}: {output.get('evalue', '')}".strip()
                return str(section), line.rstrip(":")
    return "an unknown cell", "the notebook stopped"


def _keep_partial(source: Path, out: Path) -> Path | None:
    """Copy the partial executed notebook beside the report, owner-only."""
    if not source.exists():
        return None
    kept = out.with_name(f"{out.stem}.partial.ipynb")
    _write_private(kept, source.read_bytes())
    return kept


class _Background:
    """Run a callable in a thread; :meth:`result` waits and re-raises its error."""

    def __init__(self, work: Callable[[], Any], name: str) -> None:
        self._result: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(work,), name=name, daemon=True)
        self._thread.start()

    def _run(self, work: Callable[[], Any]) -> None:
        try:
            self._result = work()
        except BaseException as exc:  # handed to the caller in result()
            self._error = exc

    def result(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._result


def _start_kernel(cwd: Path, modules: tuple[str, ...] = ()) -> Any:
    """Start a python3 kernel that imports the report code (and ``modules``) while it
    starts up."""
    with without_optional():
        from jupyter_client.manager import AsyncKernelManager
        from jupyter_core.utils import run_sync

    if os.name == "posix":  # sockets in the private work folder: no port another user can reach
        km = AsyncKernelManager(kernel_name="python3", transport="ipc", ip=str(cwd / "kernel"))
    else:
        km = AsyncKernelManager(kernel_name="python3")
    run_sync(km.start_kernel)(
        cwd=str(cwd),
        extra_arguments=[
            f"--IPKernelApp.exec_lines={WARM_UP.format(modules=', '.join(map(repr, modules)))}",
            # no history of the report's code (it names the workbook) under ~/.ipython
            "--HistoryManager.enabled=False",
            "--HistoryManager.hist_file=:memory:",
        ],
    )
    return km


def _stop_kernel(km: Any) -> None:
    from jupyter_core.utils import run_sync

    try:
        if run_sync(km.is_alive)():
            run_sync(km.shutdown_kernel)(now=False)
    finally:
        run_sync(km.cleanup_resources)()


class _SharedKernel:
    """One kernel (and one HTML exporter) for the notebooks of a caseload run."""

    def __init__(self, modules: tuple[str, ...]) -> None:
        self.modules = modules
        self.work = Path(tempfile.mkdtemp(prefix="heron-caseload-"))
        self.km: Any = None
        self.used = False
        self.exporter = _Background(_make_exporter, "nbconvert exporter")

    def start(self) -> None:
        """Start the kernel (if there is none, or the last one died)."""
        from jupyter_core.utils import run_sync

        if self.km is not None and not run_sync(self.km.is_alive)():
            self.drop()
        if self.km is None:
            self.km = _start_kernel(self.work, self.modules)
            self.used = False

    def ready(self) -> Any:
        """The kernel, alive, with nothing left of the last notebook in its namespace."""
        self.start()
        if self.used and not _run_code(self.km, RESET):
            self.drop()
            self.start()
        self.used = True
        return self.km

    def drop(self) -> None:
        if self.km is not None:
            km, self.km = self.km, None
            _stop_kernel(km)

    def close(self) -> None:
        try:
            self.drop()
        finally:
            shutil.rmtree(self.work, ignore_errors=True)


def _run_code(km: Any, code: str) -> bool:
    """Run ``code`` in ``km``'s kernel; whether it ran without an error."""
    from jupyter_core.utils import run_sync

    kc = km.client()
    kc.start_channels()
    try:
        run_sync(kc.wait_for_ready)(timeout=60)
        reply = run_sync(kc.execute_interactive)(
            code, store_history=False, timeout=60, output_hook=lambda msg: None
        )
    except (RuntimeError, TimeoutError):
        return False
    finally:
        kc.stop_channels()
    return bool(reply.get("content", {}).get("status") == "ok")


def _summary(nb: NotebookNode) -> dict[str, Any]:
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if REPORT_MIME in data:
                return dict(data[REPORT_MIME])
    raise ReportError("the report notebook did not produce its cover; it may be damaged")


def run_report(
    workbook: str | os.PathLike[str],
    *,
    kind: str = "review",
    since: str | date | None = None,
    until: str | date | None = None,
    audience: str = "client",
    out: str | os.PathLike[str] | None = None,
    keep_notebook: bool = False,
    title: str | None = None,
    notebook: str | os.PathLike[str] | None = None,
) -> ReportResult:
    """Run the ``kind`` report on ``workbook`` and write it as one offline HTML file.

    ``kind`` is a report kind that reads a workbook (review, handover). ``since``/``until``
    bound the period (inclusive; ``until`` defaults to today, ``since`` to the day after
    the last peer review for a review and to the first entry for a hand-over).
    ``audience="practitioner"`` shows only entries the client shared with the
    practitioner. ``out`` defaults to :func:`default_out`. With ``keep_notebook`` the
    executed notebook is kept beside the report (``.ipynb``, owner-only). ``notebook``
    replaces the shipped notebook for ``kind`` with one of your own (same parameters; a
    cell's ``metadata.heron.section`` names it in errors).
    """
    started = time.monotonic()
    entry, start, end = _checked(kind, audience, since, until)
    source = Path(workbook)
    parameters = {
        "workbook": str(source.resolve()),
        "since": start.isoformat() if start else None,
        "until": end.isoformat(),
        "audience": audience,
        "title": title,
    }
    return _run(
        entry,
        source,
        parameters,
        since=start,
        until=end,
        audience=audience,
        out=out,
        keep_notebook=keep_notebook,
        title=title,
        notebook=notebook,
        started=started,
    )


def _checked(
    kind: str, audience: str, since: str | date | None, until: str | date | None
) -> tuple[ReportKind, date | None, date]:
    """The report kind (for a workbook) and the period, or :class:`ReportError` if the
    kind, the audience or the period is wrong."""
    entry = report_kind(kind, source=WORKBOOK)
    entry.check_audience(audience)
    start = parse_day(since, "since")
    end = parse_day(until, "until") or date.today()
    if start is not None and start > end:
        raise ReportError(f"the period starts ({start}) after it ends ({end})")
    return entry, start, end


def caseload(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The workbooks named by ``paths``: a file as given, a folder as its ``*.heron`` files
    (sorted by name); each once, in order."""
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        found.extend(sorted(path.glob(WORKBOOK_GLOB)) if path.is_dir() else [path])
    return list(dict.fromkeys(found))


def run_reports(
    workbooks: Iterable[str | os.PathLike[str]],
    *,
    out_dir: str | os.PathLike[str] | None = None,
    kind: str = "review",
    since: str | date | None = None,
    until: str | date | None = None,
    audience: str = "client",
    keep_notebook: bool = False,
    on_report: Callable[[CaseloadReport, int, int], None] | None = None,
) -> list[CaseloadReport]:
    """Run the ``kind`` report on each of ``workbooks`` (files, or folders of ``*.heron``
    files: see :func:`caseload`) with one kernel, and say how each went.

    Each report is the one :func:`run_report` makes with the same options, written to
    ``out_dir`` (created owner-only) under its default name, or beside its workbook. A
    workbook that cannot be reported (missing, damaged, a failing section) is listed with
    the reason and the rest are made. ``on_report(item, done, total)`` is called after each.
    Options that are wrong for every workbook (the period, the audience, two workbooks that
    would write the same file) raise :class:`ReportError` before anything runs.
    """
    entry, start, end = _checked(kind, audience, since, until)
    sources = caseload(workbooks)
    if not sources:
        raise ReportError("no workbooks to report on (a folder gives its *.heron files)")
    targets: dict[Path, Path] = {}
    for source in sources:
        target = entry.default_out(source, end, audience)
        target = Path(out_dir) / target.name if out_dir is not None else target
        if target in targets.values():
            first = next(s for s, t in targets.items() if t == target)
            raise ReportError(f"{first} and {source} would both be reported to {target}")
        targets[source] = target
    if out_dir is not None:
        _private_folder(Path(out_dir))
    shared = _SharedKernel((entry.module,))
    done: list[CaseloadReport] = []
    try:
        shared.start()  # starts while the first workbook is checked
        for source in sources:
            started = time.monotonic()
            parameters = {
                "workbook": str(source.resolve()),
                "since": start.isoformat() if start else None,
                "until": end.isoformat(),
                "audience": audience,
                "title": None,
            }
            try:
                result = _run(
                    entry,
                    source,
                    parameters,
                    since=start,
                    until=end,
                    audience=audience,
                    out=targets[source],
                    keep_notebook=keep_notebook,
                    title=None,
                    notebook=None,
                    started=started,
                    shared=shared,
                )
                item = CaseloadReport(source, result, None)
            except (HeronError, OSError) as exc:
                item = CaseloadReport(source, None, _one_line(exc))
            done.append(item)
            if on_report is not None:
                on_report(item, len(done), len(sources))
    finally:
        shared.close()
    return done


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror}"
    return " ".join(str(exc).split()) or type(exc).__name__


def run_cohort_report(
    dataset: str | os.PathLike[str],
    *,
    out: str | os.PathLike[str] | None = None,
    keep_notebook: bool = False,
    title: str | None = None,
    notebook: str | os.PathLike[str] | None = None,
) -> ReportResult:
    """Run the cohort report on a research ``dataset`` folder and write one offline HTML file.

    ``out`` defaults to ``<dataset>-cohort.html`` beside the folder. The dataset is opened
    (and its tables checked against the manifest) before any kernel starts. The result's
    ``kind`` is ``"cohort"``, its ``audience`` ``"research"`` and its ``until`` the day the
    report was made.
    """
    started = time.monotonic()
    entry = report_kind(COHORT)
    source = Path(dataset)
    parameters = {"dataset": str(source.resolve()), "title": title}
    return _run(
        entry,
        source,
        parameters,
        since=None,
        until=date.today(),
        audience=entry.audiences[0],
        out=out,
        keep_notebook=keep_notebook,
        title=title,
        notebook=notebook,
        started=started,
    )


def _run(
    entry: ReportKind,
    source: Path,
    parameters: dict[str, Any],
    *,
    since: date | None,
    until: date,
    audience: str,
    out: str | os.PathLike[str] | None,
    keep_notebook: bool,
    title: str | None,
    notebook: str | os.PathLike[str] | None,
    started: float,
    shared: _SharedKernel | None = None,
) -> ReportResult:
    """Check the source and the output, run the kind's notebook (on ``shared``'s kernel
    when given), and say what was written."""
    if tuple(parameters) != entry.parameter_names:
        raise ValueError(f"the {entry.name} notebook takes {entry.parameter_names}")
    entry.check(source)  # a clear error now, before any kernel
    target = Path(out) if out is not None else entry.default_out(source, until, audience)
    if target.suffix.lower() not in (".html", ".htm"):
        raise ReportError(f"{target} should end in .html")
    _private_folder(target.parent)
    title = title or entry.title
    summary, kept = _render(entry, parameters, target, title, notebook, keep_notebook, shared)
    return ReportResult(
        path=target,
        kind=entry.name,
        audience=audience,
        since=since,
        until=until,
        fingerprint=str(summary["fingerprint"]),
        notebook=kept,
        seconds=time.monotonic() - started,
    )


def _render(
    entry: ReportKind,
    parameters: dict[str, Any],
    target: Path,
    title: str,
    notebook: str | os.PathLike[str] | None,
    keep_notebook: bool,
    shared: _SharedKernel | None = None,
) -> tuple[dict[str, Any], Path | None]:
    """Execute the kind's notebook (or ``notebook``) with ``parameters`` and write
    ``target``: (cover summary, kept notebook or None). With ``shared``, on its kernel
    (left running for the next notebook) and with its exporter."""
    work = Path(tempfile.mkdtemp(prefix="heron-report-"))
    km = None
    try:
        if shared is None:
            km = _start_kernel(work, (entry.module,))
            kernel = km
        else:
            kernel = shared.ready()
        with without_optional():  # while the kernel starts; registers the engine once
            from heron_research.reports import engine  # noqa: F401

        # nbconvert's exporter is made while the notebook runs
        exporter = shared.exporter if shared else _Background(_make_exporter, "nbconvert exporter")
        executed = work / "report.ipynb"
        with as_file(notebook_file(entry.notebook)) as shipped:
            template = Path(notebook) if notebook is not None else shipped
            try:
                nb = _execute(
                    template, executed, parameters, kernel, target, keep_kernel=shared is not None
                )
            except SectionFailedError:
                raise  # a section failed: the kernel is still fine (or died, and says so)
            except BaseException:
                if shared is not None:  # stuck or gone: the next notebook gets a new one
                    shared.drop()
                raise
        km = None  # the engine shut it down (or, shared, left it for the next notebook)
        summary = _summary(nb)
        from heron_research.reports.export import to_html

        page = to_html(nb, title=title, exporter=exporter.result())
        _write_private(target, page.encode("utf-8"))
        kept = None
        if keep_notebook:
            kept = target.with_suffix(".ipynb")
            _write_private(kept, executed.read_bytes())
    finally:
        if km is not None:
            _stop_kernel(km)
        shutil.rmtree(work, ignore_errors=True)
    return summary, kept


def _make_exporter() -> Any:
    from heron_research.reports.export import make_exporter

    return make_exporter()


def _execute(
    template: Path,
    executed: Path,
    parameters: dict[str, Any],
    km: Any,
    target: Path,
    *,
    keep_kernel: bool = False,
) -> NotebookNode:
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from heron_research.reports.engine import ENGINE

    try:
        return papermill.execute_notebook(
            str(template),
            str(executed),
            parameters=parameters,
            engine_name=ENGINE,
            kernel_name="python3",
            km=km,
            progress_bar=False,
            request_save_on_cell_execute=False,
            log_output=False,
            cwd=str(executed.parent),
            start_timeout=120,
            keep_kernel=keep_kernel,
        )
    except PapermillExecutionError:
        import nbformat

        partial = nbformat.read(executed, as_version=4) if executed.exists() else {"cells": []}
        section, line = failed_section(partial)
        raise SectionFailedError(section, line, _keep_partial(executed, target)) from None
    except Exception as exc:  # the kernel died, timed out, or could not start
        kept = _keep_partial(executed, target)
        where = f"; the partial notebook is kept at {kept}" if kept else ""
        raise ReportError(f"the report notebook could not run: {exc}{where}") from None
