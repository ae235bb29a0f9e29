"""Child-process writers for issue 6, cases 1 and 2: killed mid-save, and writing at once.

Everything a child does goes through the calls the forms make: the episode form builds a
record with ``EmotionEpisode.from_data(form_data)`` and calls ``Workbook.save(record)``
(``expected_revision=`` when editing); the Recent tab calls ``delete`` and ``restore``.

Children are made with ``os.fork()`` from the already-imported test process, so a child
starts in a millisecond instead of paying half a second of imports; that is what makes a
thousand kills take a minute. Rules that keep forking safe:

* the parent holds no SQLite connection when it forks (it opens one only between children,
  to check the file, and closes it again); each child opens the workbook itself;
* a child never returns into pytest: :func:`fork` ends it with ``os._exit`` on every path;
* a child tells the parent things only through a pipe (or a result file), never stdout.

Case 1 (:func:`crash_loop`, :func:`verify_after_crashes`): a child saves, edits, deletes and
restores episodes and writes each acknowledgement (id, revision, deleted) to a pipe *after*
the call returned; the parent reads a random number of them, waits a random sub-millisecond
time and sends SIGKILL, then drains what the child had written. Only lines the parent read
count as acknowledged. Case 2 (:func:`concurrent_run`): writers released together save
episodes and time each save; a reader reads like the report does, partly inside one long
read transaction; each child writes its results to a JSON file.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import select
import signal
import sqlite3
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas  # noqa: F401  (imported once here, not in every child: frames need it)

import heron_research.workbook.frames  # noqa: F401
from heron_research.errors import HeronError
from heron_research.records import EmotionEpisode
from heron_research.workbook import Workbook
from heron_research.workbook.store import StoredRecord

__all__ = [
    "Ack",
    "ConcurrentRun",
    "CrashRun",
    "CrashVerdict",
    "ReaderResult",
    "Tally",
    "WriterResult",
    "concurrent_run",
    "crash_loop",
    "fork",
    "percentile",
    "tally",
    "verify_after_crashes",
]

# --- what the children write: form data of varied size --------------------------------------

#: Mixed-script prose to cut episode text from (accents, right-to-left, emoji, markup).
_SENTENCE = "the meeting ran late and I felt my jaw tighten again when she said it"
_WORDS = [
    *_SENTENCE.split(" "),
    *["café", "naïve", "déjà", "שלום", "مرحبا", "😊", "🫠", "<b>not", "bold</b>", "' OR 1=1 --"],
]
_PROSE = " ".join(random.Random(6).choices(_WORDS, k=8_000))  # about 40,000 characters


def _text(rng: random.Random) -> str:
    """Episode text: mostly short, sometimes a few thousand characters, now and then near
    the 20,000-character limit (so the WAL grows past its checkpoint size often)."""
    roll = rng.random()
    if roll < 0.75:
        size = rng.randint(1, 300)
    elif roll < 0.95:
        size = rng.randint(1_000, 5_000)
    else:
        size = rng.randint(15_000, 19_900)
    start = rng.randrange(len(_PROSE) - size)
    return _PROSE[start : start + size].strip() or "x"


def form_data(record_id: str, rng: random.Random) -> dict[str, Any]:
    """What the episode form hands to ``from_data`` for a new entry."""
    return {
        "id": record_id,
        "occurred_at": f"2025-03-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:30:00+01:00",
        "situation": _text(rng),
        "emotions": [{"emotion": rng.choice(["anger", "fear", "grief"]), "intensity": 7}],
        "thoughts": "they never ask me",
        "people": [],
        "what_i_did": "said nothing",
        "proportionality": rng.randint(0, 10),
        "self_management": [],
        "notes": _text(rng) if rng.random() < 0.3 else "",
        "sharing": rng.choice(["private", "practitioner", "research"]),
    }


def save_new(wb: Workbook, record_id: str, rng: random.Random) -> StoredRecord:
    """Save a new episode the way the episode form does."""
    return wb.save(EmotionEpisode.from_data(form_data(record_id, rng)))


def edit_delete_or_restore(wb: Workbook, record_id: str, rng: random.Random) -> StoredRecord:
    """What the Recent tab does with an entry: restore it if deleted; else edit it in the
    form (saved with the revision it was loaded at) or delete it."""
    stored = wb.get_stored(record_id)
    if stored.deleted_at is not None:
        return wb.restore(record_id)
    if rng.random() < 0.25:
        return wb.delete(record_id)
    data = stored.record.to_data()
    data["situation"] = _text(rng)
    data["notes"] = f"edited from version {stored.revision}"
    return wb.save(EmotionEpisode.from_data(data), expected_revision=stored.revision)


# --- forking ---------------------------------------------------------------------------------


def fork(child: Callable[[], None]) -> int:
    """Run ``child()`` in a forked process and return its pid. The child ends with
    ``os._exit`` whatever happens (status 0 if ``child`` returned, 1 if it raised, after
    writing the traceback to fd 2), so it never runs on inside pytest."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid != 0:
        return pid
    status = 1
    try:
        child()
        status = 0
    except BaseException:  # anything at all: the child must not unwind into pytest
        with contextlib.suppress(BaseException):
            os.write(2, traceback.format_exc().encode())
    finally:
        os._exit(status)
    raise AssertionError("unreachable")  # pragma: no cover


def _end(pid: int) -> int:
    """SIGKILL our child ``pid`` (not yet reaped, so the pid cannot have been reused),
    reap it and return its wait status."""
    os.kill(pid, signal.SIGKILL)
    return os.waitpid(pid, 0)[1]


# --- case 1: a writer killed again and again ----------------------------------------------------


@dataclass(frozen=True)
class Ack:
    """A save (or delete/restore) the child reported after the call returned."""

    record_id: str
    revision: int
    deleted: bool


@dataclass
class CrashRun:
    """What :func:`crash_loop` did and saw."""

    kills: int = 0
    acknowledged: int = 0  # acknowledgement lines read (saves, edits, deletes, restores)
    latest: dict[str, Ack] = field(default_factory=dict)  # newest ack per record
    integrity_checks: int = 0
    integrity_failures: list[str] = field(default_factory=list)
    writer_errors: list[str] = field(default_factory=list)  # children that died by themselves
    kills_before_first_ack: int = 0
    seconds: float = 0.0


def _crash_writer(path: Path, out: int, tag: str, seed: int, known: list[str]) -> None:
    """The child: save, edit, delete, restore forever; acknowledge each on ``out``."""
    rng = random.Random(seed)
    wb = Workbook.open(path)
    n = 0
    while True:
        if known and rng.random() < 0.2:
            stored = edit_delete_or_restore(wb, rng.choice(known), rng)
        else:
            stored = save_new(wb, f"{tag}-{n:04d}", rng)
            known.append(stored.id)
            n += 1
        deleted = int(stored.deleted_at is not None)
        os.write(out, f"{stored.id} {stored.revision} {deleted}\n".encode())


def _parse_ack(line: bytes) -> Ack:
    record_id, revision, deleted = line.decode().split()
    return Ack(record_id, int(revision), deleted == "1")


def _kill_delay(rng: random.Random) -> None:
    """Nothing, a sub-millisecond spin, or a few milliseconds: kills land all over a save
    (validation, BEGIN IMMEDIATE, the inserts, COMMIT and its fsync, a checkpoint)."""
    roll = rng.random()
    if roll < 0.3:
        return
    wait = rng.uniform(0, 0.001) if roll < 0.8 else rng.uniform(0.001, 0.006)
    until = time.perf_counter() + wait
    while time.perf_counter() < until:
        pass


def integrity(path: Path) -> str:
    """``PRAGMA integrity_check`` through the package (``Workbook.check``), closed after;
    a workbook that no longer opens fails the check too."""
    try:
        with Workbook.open(path) as wb:
            return wb.check().integrity
    except HeronError as exc:
        return f"does not open: {exc}"


def _one_kill(path: Path, run: CrashRun, rng: random.Random, round_: int) -> None:
    """Fork a writer, read some acknowledgements, kill it, and keep what it acknowledged."""
    known = rng.sample(sorted(run.latest), min(20, len(run.latest)))
    wanted = rng.choice([0, 1, 2]) if rng.random() < 0.1 else rng.randint(1, 25)
    seed = rng.getrandbits(32)
    read_end, write_end = os.pipe()
    tag = f"k{round_:04d}"

    def child() -> None:
        os.close(read_end)
        _crash_writer(path, write_end, tag, seed, known)

    pid = fork(child)
    os.close(write_end)
    lines: list[bytes] = []
    status: int | None = None
    with os.fdopen(read_end, "rb") as pipe:
        try:
            while len(lines) < wanted:
                line = pipe.readline()
                if not line.endswith(b"\n"):
                    break  # the child ended by itself: reported below
                lines.append(line)
            _kill_delay(rng)
            status = _end(pid)
            # written before the kill, so acknowledged too; a torn last line is not
            rest = pipe.read().splitlines(keepends=True)
            lines.extend(line for line in rest if line.endswith(b"\n"))
        finally:
            if status is None:
                _end(pid)
    if not (os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL):
        run.writer_errors.append(f"round {round_}: writer ended by itself (status {status})")
    run.kills += 1
    run.kills_before_first_ack += not lines
    for line in lines:
        ack = _parse_ack(line)
        run.acknowledged += 1
        run.latest[ack.record_id] = ack


def crash_loop(path: Path, *, kills: int, check_every: int, seed: int) -> CrashRun:
    """Kill a writer ``kills`` times; run the integrity check every ``check_every`` kills
    (between children, with no child running). ``path`` must be an existing workbook."""
    rng = random.Random(seed)
    run = CrashRun()
    started = time.perf_counter()
    for round_ in range(kills):
        _one_kill(path, run, rng, round_)
        if (round_ + 1) % check_every == 0:
            run.integrity_checks += 1
            found = integrity(path)
            if found != "ok":
                run.integrity_failures.append(f"after kill {round_ + 1}: {found}")
    run.seconds = time.perf_counter() - started
    return run


@dataclass
class CrashVerdict:
    """What the file holds after the kills, compared with what was acknowledged."""

    integrity: str
    lost: list[str]  # acknowledged but missing, or older than acknowledged
    half_there: list[str]  # a record row that is not its newest revision, gaps, orphans
    unacknowledged_committed: int  # saves committed but killed before the ack was written
    records: int
    revisions: int


#: each record row beside its newest revision row, the same columns in the same order
_LATEST = """
SELECT r.id, r.revision, r.kind, r.sharing, r.deleted_at IS NOT NULL, r.data,
       v.revision, v.kind, v.sharing, v.deleted, v.data
FROM records r LEFT JOIN revisions v
  ON v.record_id = r.id AND v.revision = (SELECT max(revision) FROM revisions
                                          WHERE record_id = r.id)
"""


def _half_there(db: sqlite3.Connection) -> list[str]:
    """Rows a torn save would leave: a record that differs from its newest revision, a
    revision history with gaps, or revisions of a record that does not exist."""
    problems = []
    for row in db.execute(_LATEST):
        record_id, current, latest = row[0], row[1:6], row[6:]
        if current != latest:
            problems.append(f"{record_id}: record row is not its newest revision")
    gaps = db.execute(
        "SELECT record_id FROM revisions GROUP BY record_id"
        " HAVING min(revision) != 1 OR max(revision) != count(*)"
    ).fetchall()
    problems.extend(f"{r[0]}: revisions have gaps" for r in gaps)
    orphans = db.execute(
        "SELECT DISTINCT record_id FROM revisions WHERE record_id NOT IN (SELECT id FROM records)"
    ).fetchall()
    problems.extend(f"{r[0]}: revisions without a record" for r in orphans)
    return problems


def verify_after_crashes(path: Path, latest: dict[str, Ack]) -> CrashVerdict:
    """Compare the file (read with plain sqlite3, after every child is gone) with the
    acknowledgements: each acknowledged save there, at its revision or a later one."""
    db = sqlite3.connect(path)
    try:
        found = str(db.execute("PRAGMA integrity_check").fetchone()[0])
        stored = {
            r[0]: (r[1], bool(r[2]))
            for r in db.execute("SELECT id, revision, deleted_at IS NOT NULL FROM records")
        }
        revisions = {tuple(r) for r in db.execute("SELECT record_id, revision FROM revisions")}
        half = _half_there(db)
    finally:
        db.close()
    lost = []
    for record_id, ack in sorted(latest.items()):
        have = stored.get(record_id)
        if have is None or have[0] < ack.revision or (record_id, ack.revision) not in revisions:
            lost.append(f"{record_id}: acknowledged revision {ack.revision}, found {have}")
        elif have[0] == ack.revision and have[1] != ack.deleted:
            lost.append(f"{record_id}: acknowledged deleted={ack.deleted}, found {have[1]}")
    extra = sum(
        1 for rid, (rev, _) in stored.items() if rid not in latest or latest[rid].revision < rev
    )
    return CrashVerdict(found, lost, half, extra, len(stored), len(revisions))


# --- case 2: writers at once, and a reader ------------------------------------------------------


@dataclass
class WriterResult:
    tag: str
    latencies: list[float]  # seconds, from_data + save, one per save that returned
    errors: list[str]  # every exception a save raised: what would reach the user
    started: float  # time.time() when released
    finished: float


@dataclass
class ReaderResult:
    passes: int
    long_transactions: int
    errors: list[str]
    disagreements: list[str]  # counts that changed inside one read transaction
    went_back: list[str]  # a later pass saw fewer episodes than an earlier one
    first_count: int
    last_count: int
    final_count: int  # read once more after the writers had all finished
    started: float
    finished: float


def _write_json(target: Path, value: dict[str, Any]) -> None:
    partial = target.with_suffix(".partial")
    partial.write_text(json.dumps(value), encoding="utf-8")
    os.replace(partial, target)


def _wait_for_go(ready: int, go: int) -> None:
    os.write(ready, b"r")
    while os.read(go, 1):  # the parent closes its end to release everyone at once
        pass


def _writer(path: Path, tag: str, saves: int, ready: int, go: int, out: Path) -> None:
    """Save ``saves`` new episodes like the form, timing each; never retry a failure."""
    rng = random.Random(tag)
    with Workbook.open(path) as wb:
        batch = [form_data(f"{tag}-{i:05d}", rng) for i in range(saves)]
        _wait_for_go(ready, go)
        started = time.time()
        latencies, errors = [], []
        for data in batch:
            begin = time.perf_counter()
            try:
                wb.save(EmotionEpisode.from_data(data))
            except Exception as exc:  # any failure would reach the user
                errors.append(f"{type(exc).__name__}: {exc}")
                continue
            latencies.append(time.perf_counter() - begin)
        finished = time.time()
    _write_json(out, WriterResult(tag, latencies, errors, started, finished).__dict__)


def _stopped(stop: int) -> bool:
    return bool(select.select([stop], [], [], 0)[0])  # readable = the parent closed it


def _read_like_report(wb: Workbook) -> int:
    """What a report reads: the consent in force, then the episodes' frames."""
    wb.consent()
    return len(wb.frames("emotion_episode")["emotion_episode"])


def _long_read(wb: Workbook, result: ReaderResult) -> int:
    """Several reads inside one read transaction, with pauses: all must agree."""
    with wb.atomic(write=False):
        counts = [_read_like_report(wb)]
        for _ in range(3):
            time.sleep(0.02)
            counts.append(len(wb.records("emotion_episode")))
    if len(set(counts)) != 1:
        result.disagreements.append(f"pass {result.passes}: {counts}")
    result.long_transactions += 1
    return counts[0]


def _reader(path: Path, ready: int, go: int, stop: int, out: Path) -> None:
    """Read like the report (read-only), every other pass inside one long read
    transaction, until the parent says stop; count every error."""
    result = ReaderResult(0, 0, [], [], [], -1, -1, -1, 0.0, 0.0)
    with Workbook.open(path, readonly=True) as wb:
        _wait_for_go(ready, go)
        result.started = time.time()
        while not _stopped(stop):
            try:
                long = result.passes % 2 == 1
                count = _long_read(wb, result) if long else _read_like_report(wb)
            except Exception as exc:  # any failure would reach the user
                result.errors.append(f"{type(exc).__name__}: {exc}")
                count = result.last_count
            if count < result.last_count:
                result.went_back.append(f"pass {result.passes}: {result.last_count} -> {count}")
            if result.first_count < 0:
                result.first_count = count
            result.last_count = count
            result.passes += 1
        result.finished = time.time()
        result.final_count = len(wb.records("emotion_episode"))
    _write_json(out, result.__dict__)


@dataclass
class ConcurrentRun:
    writers: list[WriterResult]
    reader: ReaderResult | None
    exit_statuses: list[int]  # 0 for each child that finished cleanly
    seconds: float

    @property
    def latencies(self) -> list[float]:
        return sorted(t for w in self.writers for t in w.latencies)

    @property
    def errors(self) -> list[str]:
        return [e for w in self.writers for e in w.errors]


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


#: how long the parent waits for a child to open the workbook and say it is ready
READY_TIMEOUT_S = 60


class _Pipes:
    """The pipes of one concurrent run; each end closed exactly once."""

    def __init__(self) -> None:
        self.ready_r, self.ready_w = os.pipe()  # children say "ready"
        self.go_r, self.go_w = os.pipe()  # closed by the parent: everyone starts
        self.stop_r, self.stop_w = os.pipe()  # closed by the parent: the reader stops
        self.open = {self.ready_r, self.ready_w, self.go_r, self.go_w, self.stop_r, self.stop_w}

    def close(self, *fds: int) -> None:
        for fd in fds:
            if fd in self.open:
                self.open.discard(fd)
                os.close(fd)

    def keep_only(self, *fds: int) -> None:
        """In a child: close every end it does not use."""
        self.close(*(self.open - set(fds)))


def concurrent_run(
    path: Path, *, writers: int, saves: int, reader: bool, results: Path
) -> ConcurrentRun:
    """``writers`` forked writers (and a reader, if asked) on the existing workbook
    ``path``, released together; waits for the writers, then stops the reader."""
    pipes = _Pipes()
    outs = [results / f"writer-{k}.json" for k in range(writers)]
    reader_out = results / "reader.json"

    def writer(k: int) -> Callable[[], None]:
        def child() -> None:
            pipes.keep_only(pipes.ready_w, pipes.go_r)
            _writer(path, f"w{k}", saves, pipes.ready_w, pipes.go_r, outs[k])

        return child

    def reading() -> None:
        pipes.keep_only(pipes.ready_w, pipes.go_r, pipes.stop_r)
        _reader(path, pipes.ready_w, pipes.go_r, pipes.stop_r, reader_out)

    running: list[int] = []
    statuses: dict[int, int] = {}

    def reap(pid: int) -> None:
        statuses[pid] = os.waitpid(pid, 0)[1]
        running.remove(pid)

    try:
        children = [fork(writer(k)) for k in range(writers)]
        running.extend(children)
        if reader:
            children.append(fork(reading))
            running.append(children[-1])
        pipes.close(pipes.ready_w, pipes.go_r, pipes.stop_r)
        for _ in children:
            if not select.select([pipes.ready_r], [], [], READY_TIMEOUT_S)[0]:
                raise AssertionError(f"a child was not ready after {READY_TIMEOUT_S} s")
            if os.read(pipes.ready_r, 1) != b"r":
                raise AssertionError("a child ended before it was ready (see stderr)")
        started = time.perf_counter()
        pipes.close(pipes.go_w)  # go
        for pid in children[:writers]:
            reap(pid)
        seconds = time.perf_counter() - started
        pipes.close(pipes.stop_w)
        for pid in children[writers:]:
            reap(pid)
    finally:
        for pid in list(running):
            statuses[pid] = _end(pid)
            running.remove(pid)
        pipes.close(*pipes.open)
    if any(statuses.values()):
        raise AssertionError(f"children failed, wait statuses {statuses} (tracebacks on stderr)")
    done = [WriterResult(**json.loads(o.read_text(encoding="utf-8"))) for o in outs]
    seen = ReaderResult(**json.loads(reader_out.read_text(encoding="utf-8"))) if reader else None
    return ConcurrentRun(done, seen, [statuses[pid] for pid in children], seconds)


@dataclass(frozen=True)
class Tally:
    """Rows after a concurrent run, against the ids the writers were given."""

    integrity: str
    records: int
    revisions: int
    lost: list[str]  # given ids without a record row or without a revision row
    doubled: list[str]  # a second revision of a new record, or a row nobody asked for


def tally(path: Path, expected: set[str]) -> Tally:
    """Count the rows with plain sqlite3, after every child is gone."""
    db = sqlite3.connect(path)
    try:
        found = str(db.execute("PRAGMA integrity_check").fetchone()[0])
        records = dict(db.execute("SELECT id, revision FROM records").fetchall())
        revisions = dict(
            db.execute("SELECT record_id, count(*) FROM revisions GROUP BY record_id").fetchall()
        )
    finally:
        db.close()
    lost = [f"{i}: no record" for i in sorted(expected - records.keys())]
    lost += [f"{i}: no revision" for i in sorted(expected - revisions.keys())]
    doubled = [f"{i}: not asked for" for i in sorted(records.keys() - expected)]
    doubled += [f"{i}: revision {r}" for i, r in sorted(records.items()) if r != 1]
    doubled += [f"{i}: {n} revisions" for i, n in sorted(revisions.items()) if n != 1]
    return Tally(found, len(records), sum(revisions.values()), lost, doubled)
