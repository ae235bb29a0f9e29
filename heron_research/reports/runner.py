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

:func:`~heron_research.reports.caseload.run_reports` makes a practitioner's caseload in one
go on reused kernels (see :mod:`~heron_research.reports.caseload`); the kernels themselves
are started and stopped by :mod:`~heron_research.reports.kernels`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from importlib.resources import as_file
from pathlib import Path
from typing import TYPE_CHECKING, Any

from heron_research.errors import ReportError, SectionFailedError
from heron_research.reports.context import parse_day
from heron_research.reports.html import REPORT_MIME
from heron_research.reports.kernels import Background, ReusedKernel, start_kernel, stop_kernel
from heron_research.reports.registry import COHORT, WORKBOOK, ReportKind, report_kind
from heron_research.reports.warm import without_optional
from heron_research.resources import notebook_file
from heron_research.workbook.files import private_folder, write_private

if TYPE_CHECKING:
    from nbformat import NotebookNode

__all__ = [
    "ReportResult",
    "SectionFailedError",
    "default_out",
    "failed_section",
    "run_cohort_report",
    "run_report",
]


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
    return _run_on_workbook(
        entry,
        Path(workbook),
        since=start,
        until=end,
        audience=audience,
        out=out,
        keep_notebook=keep_notebook,
        title=title,
        notebook=notebook,
        started=started,
    )


def _run_on_workbook(
    entry: ReportKind,
    source: Path,
    *,
    since: date | None,
    until: date,
    audience: str,
    title: str | None,
    started: float,
    **options: Any,
) -> ReportResult:
    """:func:`_run` with a workbook kind's parameters (``options``: the rest of its)."""
    parameters = {
        "workbook": str(source.resolve()),
        "since": since.isoformat() if since else None,
        "until": until.isoformat(),
        "audience": audience,
        "title": title,
    }
    return _run(
        entry,
        source,
        parameters,
        since=since,
        until=until,
        audience=audience,
        title=title,
        started=started,
        **options,
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
    kernel: ReusedKernel | None = None,
    exporter: Background | None = None,
) -> ReportResult:
    """Check the source and the output, run the kind's notebook (on ``kernel``, reused,
    and with ``exporter`` when given), and say what was written."""
    if tuple(parameters) != entry.parameter_names:
        raise ValueError(f"the {entry.name} notebook takes {entry.parameter_names}")
    entry.check(source)  # a clear error now, before any kernel
    target = Path(out) if out is not None else entry.default_out(source, until, audience)
    if target.suffix.lower() not in (".html", ".htm"):
        raise ReportError(f"{target} should end in .html")
    _private_folder(target.parent)
    title = title or entry.title
    summary, kept = _render(
        entry, parameters, target, title, notebook, keep_notebook, kernel, exporter
    )
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
    reused: ReusedKernel | None = None,
    exporter: Background | None = None,
) -> tuple[dict[str, Any], Path | None]:
    """Execute the kind's notebook (or ``notebook``) with ``parameters`` and write
    ``target``: (cover summary, kept notebook or None). On ``reused``, its kernel is left
    running for the next notebook; ``exporter`` is nbconvert's, made beforehand."""
    work = Path(tempfile.mkdtemp(prefix="heron-report-"))
    km = None
    try:
        if reused is None:
            km = start_kernel(work, (entry.module,))
        with without_optional():  # while the kernel starts; registers the engine once
            from heron_research.reports import engine  # noqa: F401
        kernel, client = (km, None) if reused is None else reused.ready()

        # nbconvert's exporter is made while the notebook runs
        exporter = exporter or Background(_make_exporter, "nbconvert exporter")
        executed = work / "report.ipynb"
        with as_file(notebook_file(entry.notebook)) as shipped:
            template = Path(notebook) if notebook is not None else shipped
            try:
                nb = _execute(template, executed, parameters, kernel, target, client=client)
            except SectionFailedError:
                raise  # a section failed: the kernel is still fine (or died, and says so)
            except BaseException:
                if reused is not None:  # stuck or gone: the next notebook gets a new one
                    reused.drop()
                raise
        km = None  # the engine shut it down (or, reused, left it for the next notebook)
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
            stop_kernel(km)
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
    client: Any = None,
) -> NotebookNode:
    """Run the notebook on ``km``'s kernel: stopped at the end, or, with the open
    ``client`` of a reused kernel, left running. A reused kernel already runs in its own
    folder, so papermill is not asked to change the process's working directory (which
    would be a race between the threads of a caseload)."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from heron_research.reports.engine import ENGINE

    reused = {"kc": client, "keep_kernel": True} if client is not None else {}
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
            cwd=None if client is not None else str(executed.parent),
            start_timeout=120,
            **reused,
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
