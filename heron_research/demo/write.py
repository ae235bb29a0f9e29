"""Writing a demo workbook: :func:`generate_demo` at a new path, :func:`write_demo` into a
folder (replacing an earlier demo in one step)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from heron_research.demo.clock import DEFAULT_START, ReplayClock, local
from heron_research.demo.simulate import DemoStory
from heron_research.demo.summary import DemoSummary
from heron_research.demo.timeline import DemoWrite
from heron_research.errors import WorkbookBusyError, WorkbookError
from heron_research.records import AGENDA_ITEM, FOCUS_DECISION, Record, Sharing, Side
from heron_research.workbook.files import (
    open_elsewhere,
    private_folder,
    remove_workbook_files,
    sync_folder,
)
from heron_research.workbook.store import Workbook

__all__ = ["DEMO_FILE", "generate_demo", "write_demo"]

#: The file :func:`write_demo` writes in its folder.
DEMO_FILE = "demo.heron"


@dataclass
class _Tally:
    revisions: int = 0
    sharing: dict[str, Sharing] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)


def author(record: Record) -> Side:
    """Who writes ``record`` in the demo's story: a kind's only writer; the side that raised
    an agenda item (the practitioner answers the client's items in the client's words'
    record, as the forms do); a focus decision the client took alone (autonomy) is the
    client's to record, the others the practitioner records in the session."""
    writers = record.facts.writers
    if len(writers) == 1:
        return next(iter(writers))
    if record.kind == AGENDA_ITEM:
        return Side(getattr(record, "raised_by", Side.CLIENT))
    if record.kind == FOCUS_DECISION and getattr(record, "decided_by", "") != "autonomy":
        return Side.PRACTITIONER
    return Side.CLIENT


def _apply(wb: Workbook, clock: ReplayClock, writes: Iterator[DemoWrite], batch: int) -> _Tally:
    tally = _Tally()
    records: list[Record] = []
    times: list[datetime] = []
    side = Side.CLIENT  # the author of the records waiting in ``records``

    def flush() -> None:
        if records:
            clock.schedule(times)
            wb.save_many(records, side=side)
            records.clear()
            times.clear()

    for write in writes:
        tally.revisions += 1
        if write.action == "save":
            assert write.record is not None
            if author(write.record) is not side:
                flush()
                side = author(write.record)
            records.append(write.record)
            times.append(write.at)
            tally.sharing[write.record.id] = write.record.sharing
            if len(records) >= batch:
                flush()
            continue
        flush()
        clock.schedule([write.at])
        if write.action == "delete":
            wb.delete(write.record_id)
            tally.deleted.add(write.record_id)
        else:
            wb.restore(write.record_id)
            tally.deleted.discard(write.record_id)
    flush()
    return tally


def generate_demo(
    path: str | os.PathLike[str],
    *,
    seed: int = 7,
    years: float = 1.0,
    episodes_per_week: tuple[int, int] = (3, 6),
    start: date = DEFAULT_START,
    batch_size: int = 1000,
) -> DemoSummary:
    """Make a new demo workbook at ``path`` (refused if it exists) and summarise it.

    Deterministic: the same arguments give the same workbook, byte for byte in its export.
    ``years`` and ``episodes_per_week`` set the size (a benchmark can ask for ten years,
    or for a thousand episodes a week). The workbook is closed when this returns.
    """
    story = DemoStory(seed=seed, years=years, episodes_per_week=episodes_per_week, start=start)
    path = Path(path)
    clock = ReplayClock(story.created_at)
    wb = Workbook.create(path, workbook_id=story.workbook_id, clock=clock)
    try:
        tally = _apply(wb, clock, story.writes(), max(1, batch_size))
        counts = wb.counts()
        end = local(story.last_day, 23 * 60 + 59)
        state = wb.consent(as_of=end)
    except BaseException:
        wb.close()
        remove_workbook_files(path)
        raise
    wb.close()
    scopes = tuple(
        name
        for name, on in (
            ("training", state.training),
            ("practitioner sharing", state.practitioner_sharing),
            ("research", state.research),
        )
        if on
    )
    private = sum(
        1 for rid, s in tally.sharing.items() if s is Sharing.PRIVATE and rid not in tally.deleted
    )
    return DemoSummary(
        path=path,
        seed=story.seed,
        years=story.years,
        episodes_per_week=story.episodes_per_week,
        workbook_id=story.workbook_id,
        period=(story.first_day, story.last_day),
        programme_end=story.programme_end,
        counts=counts,
        deleted=len(tally.deleted),
        revisions=tally.revisions,
        private=private,
        consent=scopes,
        principles_current=state.principles_current,
    )


def _private_folder(folder: Path) -> None:
    """Make ``folder`` (and parents) if needed; make it owner-only if it is ours."""
    try:
        private_folder(folder, tighten=True)
    except FileExistsError:  # a file is in the way
        raise WorkbookError(
            f"{folder} is a file, not a folder; choose another --out", folder
        ) from None


def _refuse_if_open(workbook: Path) -> None:
    """Refuse to replace a demo workbook another process (a JupyterLab kernel) has open.

    Its later saves would go to the replaced file and be lost, so the old demo is kept.
    """
    if open_elsewhere(workbook):
        raise WorkbookBusyError(
            f"{workbook} is open in another program (a JupyterLab kernel?); shut that "
            "kernel down or close the program, then make the demo again",
            workbook,
        )


def write_demo(
    out_dir: str | os.PathLike[str],
    *,
    seed: int = 7,
    years: float = 1.0,
    episodes_per_week: tuple[int, int] = (3, 6),
) -> DemoSummary:
    """Write ``out_dir/demo.heron`` (replacing an earlier demo atomically) and summarise it.

    An earlier demo that another process still has open (a JupyterLab kernel) is not
    replaced: :class:`WorkbookBusyError` says so, and nothing is written.

    The folder is made owner-only (0700) and the workbook is owner-only (0600). The new
    workbook is written under a temporary name in the same folder, closed (so its WAL is
    checkpointed into the file) and then moved over the old one in one step.
    """
    folder = Path(out_dir)
    _private_folder(folder)
    final = folder / DEMO_FILE
    if final.is_dir():
        raise WorkbookError(f"{final} is a folder; remove it or choose another --out", final)
    _refuse_if_open(final)
    temporary = folder / f".{DEMO_FILE}.{os.getpid()}.tmp"
    remove_workbook_files(temporary)
    try:
        summary = generate_demo(
            temporary, seed=seed, years=years, episodes_per_week=episodes_per_week
        )
        if Path(f"{temporary}-wal").exists():
            raise WorkbookError(f"{temporary} was not closed cleanly; try again", temporary)
        # an old demo's -wal must not be replayed into the new file
        _refuse_if_open(final)  # again: a kernel may have opened it while the demo was made
        for suffix in ("-wal", "-shm", "-journal"):
            Path(f"{final}{suffix}").unlink(missing_ok=True)
        os.replace(temporary, final)
    except BaseException:
        remove_workbook_files(temporary)
        raise
    sync_folder(folder)
    return dataclasses.replace(summary, path=final)
