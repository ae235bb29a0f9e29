"""The ``heron-research`` command: a thin layer over the library.

Each command parses its arguments, makes one or two library calls and prints the result.
Errors a user can cause (a missing file, a damaged workbook, a bad export) print one
line and exit 1, never a traceback.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from heron_research._version import __version__
from heron_research.errors import HeronError
from heron_research.exchange.cli import keys, receive, share

__all__ = ["cli", "main"]

_PATH = click.Path(path_type=Path, dir_okay=False)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="heron-research")
def cli() -> None:
    """An action-research workbook for peer-style psychotherapy (after John Heron).

    A workbook is one file per client, private to its owner. Start with `demo` to see
    one filled with a year of synthetic entries, or `new` to make your own.
    """


@cli.command()
@click.argument("path", type=_PATH)
def new(path: Path) -> None:
    """Create an empty workbook at PATH (readable only by you)."""
    from heron_research.workbook import Workbook

    with Workbook.create(path) as wb:
        click.echo(f"Created {wb.path} (only you can read it).")


@cli.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("demo"),
    show_default=True,
    help="Folder for the demo files.",
)
@click.option("--seed", type=int, default=7, show_default=True, help="Same seed, same workbook.")
@click.option(
    "--years", type=click.FloatRange(0.1, 20), default=1.0, show_default=True, help="Length."
)
@click.option(
    "--no-report",
    is_flag=True,
    help="Write the workbook only: no peer-review report (much quicker).",
)
def demo(out_dir: Path, seed: int, years: float, no_report: bool) -> None:
    """Write a synthetic demo workbook (a year of a client's programme), summarise it, and
    write its peer-review report (offline HTML) unless --no-report."""
    from heron_research.demo import write_demo

    summary = write_demo(out_dir, seed=seed, years=years)
    for line in summary.lines():
        click.echo(line)
    if no_report:
        return
    from heron_research.reports import run_report

    click.echo("Writing the peer-review report...")
    report = run_report(summary.path, until=summary.period[1])
    click.echo(f"Peer-review report: {report.path}")


@cli.command()
@click.argument("workbook", type=_PATH)
@click.option("--out", type=_PATH, help="Export file (default: WORKBOOK with .json).")
@click.option("--force", is_flag=True, help="Replace the export file if it exists.")
@click.option(
    "--encrypt",
    is_flag=True,
    help="Your own backup: encrypt the export with a passphrase you are asked for "
    "(age; default file WORKBOOK.json.age). Not for sharing: use `share` for that.",
)
def export(workbook: Path, out: Path | None, force: bool, encrypt: bool) -> None:
    """Export the whole workbook (every entry and its history) as portable JSON."""
    from heron_research.workbook import Workbook
    from heron_research.workbook.portable import write_export

    out = out or workbook.with_suffix(".json.age" if encrypt else ".json")
    if out.exists() and not force:
        raise click.ClickException(f"{out} already exists; use --force to replace it")
    secret = _passphrase(confirm=True) if encrypt else ""
    with Workbook.open(workbook) as wb:
        if encrypt:
            from heron_research.exchange.backup import write_backup

            write_backup(wb, out, secret)
        else:
            write_export(wb, out)
        wb.log_event("exported", out.name)
    sealed = ", encrypted with your passphrase" if encrypt else ""
    click.echo(f"Exported {workbook} to {out} (only you can read it{sealed}).")


def _passphrase(*, confirm: bool) -> str:
    """The backup passphrase, asked for without echo (read from standard input when it is
    not a terminal, one line, so a script can pipe it)."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("Passphrase", hide_input=True, confirmation_prompt=confirm))


@cli.command(name="import")
@click.argument("export_file", metavar="EXPORT", type=_PATH)
@click.argument("workbook", type=_PATH)
def import_(export_file: Path, workbook: Path) -> None:
    """Make a new WORKBOOK from a portable JSON EXPORT (or from your encrypted backup,
    asking for its passphrase)."""
    from heron_research.exchange.backup import AGE_MAGIC, import_backup
    from heron_research.workbook.portable import import_json

    try:
        with export_file.open("rb") as fh:
            encrypted = fh.read(len(AGE_MAGIC)) == AGE_MAGIC
    except OSError:
        encrypted = False  # import_json says what is wrong with the file
    opened = (
        import_backup(export_file, workbook, _passphrase(confirm=False))
        if encrypted
        else import_json(export_file, workbook)
    )
    with opened as wb:
        wb.log_event("imported", export_file.name)
        total = sum(wb.counts().values())
    click.echo(f"Imported {total} entries from {export_file} into {workbook}.")


@cli.command()
@click.argument("workbook", type=_PATH)
def check(workbook: Path) -> None:
    """Check a workbook: integrity, format version and what it holds."""
    from heron_research.workbook import Workbook

    with Workbook.open(workbook) as wb:
        health = wb.check()
    state = "healthy" if health.ok else f"DAMAGED ({health.integrity})"
    click.echo(f"{health.path}: {state}")
    click.echo(f"  workbook format {health.schema_version}, file mode {health.file_mode[2:]}")
    from heron_research.records import record_types

    for kind, n in health.counts.items():
        words = record_types()[kind].facts.plural if kind in record_types() else kind
        click.echo(f"  {words:<24}{n:>7}")
    click.echo(f"  {'deleted (restorable)':<24}{health.deleted:>7}")
    click.echo(f"  {'saved versions':<24}{health.revisions:>7}")
    if not health.ok:
        raise SystemExit(1)


@cli.command()
@click.argument("workbook", type=_PATH, required=False)
@click.option(
    "--port", type=click.IntRange(1, 65535), help="Port on 127.0.0.1 (default: a free one)."
)
@click.option("--no-browser", is_flag=True, help="Print the address; do not open a browser.")
def lab(workbook: Path | None, port: int | None, no_browser: bool) -> None:
    """Open JupyterLab on your notebook for WORKBOOK (default: demo/demo.heron).

    The notebook (WORKBOOK's name with .ipynb, beside it) is made on first use and never
    replaced. JupyterLab listens on 127.0.0.1 only and asks for the private key in the
    address printed here. Ctrl-C stops it.
    """
    from heron_research.lab import run_lab

    code = run_lab(workbook, port=port, open_browser=not no_browser, echo=click.echo)
    if code:
        raise SystemExit(code)


@cli.command()
@click.argument(
    "workbooks", metavar="WORKBOOK...", nargs=-1, required=True, type=click.Path(path_type=Path)
)
@click.option(
    "--since",
    metavar="YYYY-MM-DD",
    help="First day, or 'start' for the whole programme [default: for a review, the day "
    "after the last peer review; for a hand-over, the first entry]",
)
@click.option("--until", metavar="YYYY-MM-DD", help="Last day [default: today]")
@click.option(
    "--audience",
    type=click.Choice(["client", "practitioner"]),
    default="client",
    show_default=True,
    help="practitioner: only the entries the client shared with the practitioner.",
)
@click.option(
    "--kind",
    type=click.Choice(["review", "handover"]),
    default="review",
    show_default=True,
    help="review: for a peer-review session; handover: what works, for after the programme.",
)
@click.option("--out", type=_PATH, help="HTML file [default: beside WORKBOOK, by kind and date]")
@click.option(
    "--out-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder for the reports of several workbooks (made owner-only if new).",
)
@click.option("--keep-notebook", is_flag=True, help="Keep the executed notebook beside the report.")
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    help="Reports made at the same time for several workbooks [default: one per core, up to 2].",
)
def report(
    workbooks: tuple[Path, ...],
    since: str | None,
    until: str | None,
    audience: str,
    kind: str,
    out: Path | None,
    out_dir: Path | None,
    keep_notebook: bool,
    jobs: int | None,
) -> None:
    """Write an offline HTML report on WORKBOOK and print its path (only you can read it).

    Several workbooks, or a folder (its *.heron files), make a caseload in one go: one
    line per report, and a workbook that cannot be reported is named with the reason
    while the others are made (exit code 1 if any was not made).
    """
    from heron_research import reports

    options = {"kind": kind, "since": since, "until": until, "audience": audience}
    if len(workbooks) == 1 and out_dir is None and not workbooks[0].is_dir():
        result = reports.run_report(workbooks[0], **options, out=out, keep_notebook=keep_notebook)
        click.echo(str(result.path))
        return
    if out is not None:
        raise click.UsageError("--out names one report; use --out-dir for several")
    from heron_research.reports.caseload import sources

    with _Progress(len(sources(workbooks))) as progress:
        made = reports.run_reports(
            workbooks,
            **options,
            out_dir=out_dir,
            keep_notebook=keep_notebook,
            jobs=jobs,
            on_report=progress,
        )
    failed = sum(not item.ok for item in made)
    click.echo(f"{len(made) - failed} of {len(made)} reports made.")
    if failed:
        raise SystemExit(1)


class _Progress:
    """A report's line on standard output as it is made, under a progress bar on standard
    error when that is a terminal."""

    def __init__(self, total: int) -> None:
        self._total = total
        self._bar: click._termui_impl.ProgressBar[int] | None = None

    def __enter__(self) -> _Progress:
        if sys.stderr.isatty() and self._total:
            self._bar = click.progressbar(length=self._total, label="Reports", file=sys.stderr)
            self._bar.render_progress()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.render_finish()

    def __call__(self, item: Any, done: int, total: int) -> None:
        if self._bar is not None:
            sys.stderr.write("\r\x1b[K")  # the bar's line, cleared for the report's
            sys.stderr.flush()
        click.echo(item.line())
        if self._bar is not None:
            self._bar.update(1)
            self._bar.render_progress()


@cli.command()
@click.argument(
    "inputs", metavar="INPUT...", nargs=-1, required=True, type=click.Path(path_type=Path)
)
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Dataset folder (new or empty).",
)
@click.option(
    "--key-file", required=True, type=_PATH, help="The study key: a private file (chmod 600)."
)
@click.option(
    "--identity-file",
    "identity_files",
    multiple=True,
    type=_PATH,
    help="The study's age key, which opens research bundles (private; repeat for several).",
)
@click.option(
    "--scheduler", metavar="ADDRESS", help="Run on an existing Dask cluster, e.g. tcp://host:8786."
)
@click.option(
    "--workers", type=click.IntRange(1), help="Local worker processes [default: one per core]."
)
@click.option(
    "--free-text",
    type=click.Choice(["none", "scrubbed"]),
    default="none",
    show_default=True,
    help="scrubbed: keep free text after scrubbing (residual risk).",
)
@click.option(
    "--k",
    "k",
    type=click.IntRange(1),
    default=5,
    show_default=True,
    help="Own words used by fewer participants become 'other'.",
)
@click.option(
    "--lost-workers-timeout",
    type=click.FloatRange(0, min_open=True),
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="Stop (exit 1) when the cluster has had no worker for this long.",
)
def batch(
    inputs: tuple[Path, ...],
    out: Path,
    key_file: Path,
    identity_files: tuple[Path, ...],
    scheduler: str | None,
    workers: int | None,
    free_text: str,
    k: int,
    lost_workers_timeout: float,
) -> None:
    """Anonymise consented workbooks (files, JSON exports, research bundles or folders of
    them) into a research dataset.

    Only workbooks whose research consent is in force, and in them only entries shared for
    research, are used. Each input is read as it is, with nothing written beside it; one
    that cannot be read is listed and the batch goes on. Writes Parquet tables,
    datapackage.json and manifest.json, or, if the Dask cluster is lost, nothing (exit 1).
    """
    from heron_research._worker_server import worker_server

    if scheduler and workers:
        raise click.UsageError("use --scheduler or --workers, not both")
    if scheduler is None:  # a local cluster's workers import theirs while this process does
        click.get_current_context().with_resource(worker_server())
    _Ending.without_teardown = True
    from heron_research.research import load_identities, load_study_key, run_batch
    from heron_research.research.progress import ProgressPrinter

    key = load_study_key(key_file)
    identities = load_identities(identity_files)
    shown = ProgressPrinter(sys.stderr, tty=sys.stderr.isatty())
    try:
        report = run_batch(
            inputs,
            out,
            key=key,
            identities=identities,
            free_text="scrubbed" if free_text == "scrubbed" else "none",
            k=k,
            scheduler=scheduler,
            workers=workers,
            on_progress=shown.progress,
            on_stage=shown.stage,
            lost_workers_timeout=lost_workers_timeout,
        )
    finally:
        shown.close()
    for line in report.lines():
        click.echo(line)


@cli.command(name="cohort-report")
@click.argument("dataset", type=click.Path(path_type=Path, file_okay=False))
@click.option("--out", type=_PATH, help="HTML file [default: beside DATASET, DATASET-cohort.html]")
@click.option("--keep-notebook", is_flag=True, help="Keep the executed notebook beside the report.")
def cohort_report(dataset: Path, out: Path | None, keep_notebook: bool) -> None:
    """Write the offline HTML cohort report on a research DATASET folder and print its path."""
    from heron_research.reports import run_cohort_report

    result = run_cohort_report(dataset, out=out, keep_notebook=keep_notebook)
    click.echo(str(result.path))


cli.add_command(keys)  # issue 12: exchange between people
cli.add_command(share)
cli.add_command(receive)


def _os_error_line(exc: OSError) -> str:
    """One line for an error the operating system gave: the path(s) and the reason."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.filename is None:
        return reason
    if exc.errno == errno.ENOENT and exc.filename2 is None:
        folder = Path(os.fsdecode(exc.filename)).parent
        if not folder.exists():
            reason = f"the folder {folder} does not exist"
    names = str(exc.filename) + (f" -> {exc.filename2}" if exc.filename2 is not None else "")
    return f"cannot use {names}: {reason}"


class _Ending:
    """How the program ends once its command is done (see :func:`main`)."""

    #: set by a command whose process holds Dask and Arrow: ending it with the interpreter's
    #: usual teardown (freeing every module and object one by one) takes 0.2-0.4 s
    without_teardown = False


def _exit_now(code: int) -> NoReturn:
    """End the process at once with ``code``, its output flushed, without the interpreter's
    teardown. Only for the program itself (not a caller of :func:`main`), after the command
    has closed everything it opened: its files are written and closed, its cluster and
    worker processes stopped. Objects left for the garbage collector are collected first, so
    that what they hold outside the process (a multiprocessing queue's semaphores, which the
    standard library's resource tracker otherwise reports as leaked) is released."""
    import gc

    gc.collect()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning every user error into one line and exit code 1."""
    try:
        code = cli.main(args=argv, prog_name="heron-research", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("heron-research: aborted", err=True)
        code = 1
    except click.ClickException as exc:
        click.echo(f"heron-research: {exc.format_message()}", err=True)
        code = 1
    except HeronError as exc:
        click.echo(f"heron-research: {exc}", err=True)
        code = 1
    except OSError as exc:  # a path the system refused (no such folder, not a folder, /proc)
        click.echo(f"heron-research: {_os_error_line(exc)}", err=True)
        code = 1
    except KeyboardInterrupt:
        code = 130
    code = code if isinstance(code, int) else 0
    if argv is None and _Ending.without_teardown:  # the program itself, not a caller
        _exit_now(code)
    sys.exit(code)


if __name__ == "__main__":
    main()
