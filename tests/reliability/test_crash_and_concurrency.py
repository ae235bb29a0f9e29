"""Crash during save and concurrent writers (issue 6, cases 1 and 2).

Promised:

1. A process killed (SIGKILL) at any point while saving loses no save it had acknowledged,
   and never leaves a damaged file or a half-written entry. Checked by forking a writer
   that saves, edits, deletes and restores episodes through the calls the forms make,
   killing it after a random number of acknowledgements plus a random sub-millisecond
   wait, again and again (60 times here, 1,000 in the benchmark). SQLite's integrity check
   runs every few kills and at the end; then every acknowledged save must be there at its
   acknowledged revision or a later one, every record row must equal its newest revision,
   and the workbook must still open and save.
2. Several processes saving at once while a report-like reader reads lose no entry, save
   none twice, and never show the user a "busy" error; saving stays quick. Checked with
   four forked writers released together (150 saves each here, 5,000 in the benchmark) and
   a read-only reader that reads like the report, half its passes inside one long read
   transaction. Writers do not retry: any exception from ``save`` counts as reaching the
   user. Save latency (validation + save) is compared with one writer alone.

The harness is ``writers.py`` beside this file; sizes come from ``scale``.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from figures import Figures, Scale
from writers import (
    ConcurrentRun,
    concurrent_run,
    crash_loop,
    percentile,
    save_new,
    tally,
    verify_after_crashes,
)

from heron_research.workbook import Workbook
from heron_research.workbook.store import BUSY_TIMEOUT_S

pytestmark = [pytest.mark.reliability, pytest.mark.processes]

FULL = Scale.from_env().full


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


@pytest.mark.timeout(2400 if FULL else 300)
def test_a_writer_killed_at_random_points_loses_no_acknowledged_save(
    tmp_path: Path, scale: Scale, figures: Figures
) -> None:
    kills = scale.pick(test=60, full=1000)
    path = tmp_path / "killed.heron"
    Workbook.create(path).close()

    run = crash_loop(path, kills=kills, check_every=scale.pick(test=15, full=50), seed=20250614)
    verdict = verify_after_crashes(path, run.latest)
    integrity_failures = len(run.integrity_failures) + (verdict.integrity != "ok")

    figures.record(1, "kills", run.kills)
    figures.record(
        1, "acknowledged saves", run.acknowledged, note="new entries, edits, deletes, restores"
    )
    figures.record(1, "acknowledged saves lost", len(verdict.lost), must_be_zero=True)
    figures.record(1, "integrity failures", integrity_failures, must_be_zero=True)
    figures.record(1, "integrity checks run", run.integrity_checks + 1)
    figures.record(1, "entries half written", len(verdict.half_there), must_be_zero=True)
    figures.record(
        1,
        "saves committed, killed before acknowledging",
        verdict.unacknowledged_committed,
        note="kept; never acknowledged, so not counted above",
    )
    figures.record(1, "kills before the first acknowledgement", run.kills_before_first_ack)
    figures.record(1, "time taken (s)", round(run.seconds, 1))

    assert not run.writer_errors, run.writer_errors  # every child was killed, none crashed
    assert run.kills == kills
    assert run.acknowledged >= kills * 5, "too few saves between kills to test anything"
    assert not verdict.lost, verdict.lost[:5]
    assert not run.integrity_failures, run.integrity_failures
    assert verdict.integrity == "ok"
    assert not verdict.half_there, verdict.half_there[:5]

    with Workbook.open(path) as wb:  # the workbook still opens, checks and saves
        health = wb.check()
        after = save_new(wb, "after-the-kills", random.Random(0))
    with Workbook.open(path, readonly=True) as wb:
        assert wb.get_stored(after.id).revision == 1
    assert health.ok
    assert health.counts["emotion_episode"] + health.deleted == verdict.records
    assert health.revisions == verdict.revisions


def _fresh_run(folder: Path, *, writers: int, saves: int, reader: bool) -> ConcurrentRun:
    folder.mkdir()
    Workbook.create(folder / "shared.heron").close()  # closed again before any fork
    return concurrent_run(
        folder / "shared.heron", writers=writers, saves=saves, reader=reader, results=folder
    )


@pytest.mark.timeout(1800 if FULL else 300)
def test_four_writers_and_a_reader_lose_nothing_and_never_report_busy(
    tmp_path: Path, scale: Scale, figures: Figures
) -> None:
    writers, saves = 4, scale.pick(test=150, full=5000)
    alone = _fresh_run(
        tmp_path / "alone", writers=1, saves=scale.pick(test=150, full=1000), reader=False
    )
    together = _fresh_run(tmp_path / "together", writers=writers, saves=saves, reader=True)
    expected = {f"w{k}-{i:05d}" for k in range(writers) for i in range(saves)}
    rows = tally(tmp_path / "together" / "shared.heron", expected)
    reader = together.reader
    assert reader is not None
    times, alone_times = together.latencies, alone.latencies

    figures.record(2, "writers x saves", f"{writers} x {saves}")
    figures.record(
        2,
        "reader passes",
        reader.passes,
        note=f"{reader.long_transactions} in one long read transaction",
    )
    figures.record(2, "lost rows", len(rows.lost), must_be_zero=True)
    figures.record(2, "doubled rows", len(rows.doubled), must_be_zero=True)
    figures.record(
        2,
        "busy errors reaching the user",
        len(together.errors) + len(alone.errors),
        must_be_zero=True,
        note="any exception from save; the writers never retry",
    )
    figures.record(2, "reader errors", len(reader.errors), must_be_zero=True)
    p50, p99 = percentile(times, 0.5), percentile(times, 0.99)
    alone_p50, alone_p99 = percentile(alone_times, 0.5), percentile(alone_times, 0.99)
    figures.record(2, "save p50 (ms)", _ms(p50))
    figures.record(2, "save p99 (ms)", _ms(p99))
    figures.record(2, "save max (ms)", _ms(times[-1]), note=f"busy timeout {BUSY_TIMEOUT_S:.0f} s")
    figures.record(
        2, "alone: save p50 (ms)", _ms(alone_p50), note=f"1 writer x {len(alone_times)} saves"
    )
    figures.record(2, "alone: save p99 (ms)", _ms(alone_p99))
    figures.record(2, "p50 with 4 writers / alone", round(p50 / alone_p50, 1))
    figures.record(2, "p99 with 4 writers / alone", round(p99 / alone_p99, 1))
    figures.record(2, "wall time, 4 writers (s)", round(together.seconds, 1))

    assert together.exit_statuses == [0] * (writers + 1), "a child failed (see stderr)"
    assert alone.exit_statuses == [0]
    assert not together.errors and not alone.errors, (together.errors + alone.errors)[:5]
    assert not reader.errors, reader.errors[:5]
    assert not rows.lost, rows.lost[:5]
    assert not rows.doubled, rows.doubled[:5]
    assert rows.integrity == "ok"
    assert (rows.records, rows.revisions) == (writers * saves, writers * saves)
    assert len(times) == writers * saves

    # the run really was concurrent: all writers overlapped, and the reader read meanwhile
    spans = [(w.started, w.finished) for w in together.writers]
    assert max(s for s, _ in spans) < min(f for _, f in spans), "the writers did not overlap"
    assert reader.started < min(f for _, f in spans) and reader.finished > max(f for _, f in spans)
    assert reader.long_transactions >= 1 and reader.last_count > reader.first_count
    assert not reader.disagreements, reader.disagreements[:5]  # one snapshot per transaction
    assert not reader.went_back, reader.went_back[:5]
    assert reader.final_count == writers * saves
