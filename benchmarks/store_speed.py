"""How fast is the workbook store when it is big?

Builds a workbook holding ``--episodes`` emotion episodes (default 100,000) spread over
``--years`` years, then measures, each against plain SQLite doing the least the same job
needs, measured in the same run on the same disk:

1. **save**: validate one episode from form-like data (``EmotionEpisode.from_data``) and
   ``Workbook.save`` it (its own ``BEGIN IMMEDIATE`` transaction and commit). Baseline: one
   ``INSERT`` of a ``json.dumps``-ed dict plus commit into a plain SQLite file holding the same
   rows, with the store's pragmas (WAL, ``synchronous=FULL``, busy timeout). Target: a median
   of at most 5 ms.
2. **load a year**: ``Workbook.frames`` for the episode table and its three child tables
   (emotions, people, self-management) for one calendar year, as a notebook does. Baseline:
   ``SELECT data ... WHERE kind = ? AND occurred_on BETWEEN ...`` on the same file, ``json.loads``
   of each row and plain pandas DataFrames of the same four tables.

Times on a shared machine are noisy: only medians (and a p95) and ratios are printed.

    python benchmarks/store_speed.py                # or: make bench
    python benchmarks/store_speed.py --episodes 20000 --repeat 100 --keep /tmp/bench
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from heron_research.records import EmotionEpisode, Sharing
from heron_research.vocab import emotions, techniques
from heron_research.workbook import Workbook

TARGET_SAVE_MS = 5.0
CHILD_TABLES = ("emotions", "people", "self_management")
SITUATIONS = (
    "My manager moved the deadline forward in the team meeting",
    "My partner was late again and did not call",
    "A friend cancelled our plans at the last minute",
    "My sister criticised how I talk to the children",
    "A colleague took credit for my idea",
    "Stuck in traffic on the way to an appointment",
    "Someone praised my work in front of everyone",
    "Woke up at four and could not get back to sleep",
)
PEOPLE = tuple(f"p-{name}" for name in ("manager", "partner", "sister", "friend", "colleague"))
SHARING = (Sharing.PRIVATE, Sharing.PRACTITIONER, Sharing.RESEARCH)
ZONES = (timezone(timedelta(hours=1)), timezone(timedelta(hours=2)), UTC)


# --- synthetic data ----------------------------------------------------------------------


class Episodes:
    """Seeded, varied emotion-episode data between ``start`` and ``start + years``."""

    def __init__(self, seed: int, start: date, years: int) -> None:
        self.rng = random.Random(seed)
        self.start = datetime(start.year, start.month, start.day, tzinfo=UTC)
        self.span_s = int(
            (datetime(start.year + years, 1, 1, tzinfo=UTC) - self.start).total_seconds()
        )
        self.emotions = sorted(emotions())
        self.techniques = sorted(techniques())

    def form(self, moment: datetime | None = None) -> dict[str, Any]:
        """What an episode form hands to validation: JSON-ish values, as typed."""
        rng = self.rng
        if moment is None:
            moment = self.start + timedelta(seconds=rng.randrange(self.span_s))
        felt = rng.sample(self.emotions, rng.randint(1, 3))
        peak = 0
        ratings = []
        for term in felt:
            intensity = rng.randint(1, 10)
            peak = max(peak, intensity)
            ratings.append({"emotion": term, "intensity": intensity})
        managed = [
            {"technique": t, "intensity_after": rng.randint(0, peak)}
            for t in rng.sample(self.techniques, rng.randint(0, 2))
        ]
        return {
            "occurred_at": moment.astimezone(rng.choice(ZONES)).isoformat(timespec="minutes"),
            "sharing": rng.choice(SHARING).value,
            "situation": rng.choice(SITUATIONS),
            "emotions": ratings,
            "body_sensations": rng.choice(["", "tight jaw", "hot face", "knot in the stomach"]),
            "thoughts": rng.choice(["", "they never ask me", "I am not good enough"]),
            "people": rng.sample(PEOPLE, rng.randint(0, 2)),
            "what_i_did": rng.choice(["", "said nothing", "left the room", "breathed"]),
            "proportionality": rng.choice([None, *range(11)]),
            "self_management": managed,
            "notes": "",
        }

    def records(self, n: int) -> Iterator[EmotionEpisode]:
        for _ in range(n):
            yield EmotionEpisode(**self.form())


def build_workbook(path: Path, episodes: Episodes, n: int, batch: int) -> Workbook:
    wb = Workbook.create(path)
    progress = sys.stderr.isatty()
    made = 0
    while made < n:
        size = min(batch, n - made)
        wb.save_many(episodes.records(size))
        made += size
        if progress:
            print(f"\r  building workbook: {made:,}/{n:,} episodes", end="", file=sys.stderr)
    if progress:
        print(file=sys.stderr)
    return wb


def build_baseline(path: Path, workbook: Path) -> sqlite3.Connection:
    """A plain SQLite file, the store's pragmas, one table holding the workbook's rows."""
    db = sqlite3.connect(path, timeout=15.0, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute("PRAGMA busy_timeout = 15000")
    db.execute(
        "CREATE TABLE records (id TEXT PRIMARY KEY, kind TEXT NOT NULL, occurred_on TEXT,"
        " created_at TEXT NOT NULL, data TEXT NOT NULL) STRICT"
    )
    db.execute("CREATE INDEX records_by_kind_and_day ON records (kind, occurred_on)")
    db.execute("ATTACH DATABASE ? AS wb", (str(workbook),))  # only read from
    db.execute("BEGIN IMMEDIATE")
    db.execute("INSERT INTO records SELECT id, kind, occurred_on, created_at, data FROM wb.records")
    db.execute("COMMIT")
    db.execute("DETACH DATABASE wb")
    return db


# --- timing ------------------------------------------------------------------------------


def timed(fn: Callable[[], object], repeat: int, warmup: int = 3) -> list[float]:
    """Milliseconds per call of ``fn``, ``repeat`` times after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        out.append((time.perf_counter() - began) * 1000)
    return out


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def ms(value: float) -> str:
    return f"{value:.2f} ms" if value < 100 else f"{value:,.0f} ms"


def bench_save(wb: Workbook, base: sqlite3.Connection, episodes: Episodes, repeat: int) -> dict:
    forms = iter([episodes.form() for _ in range(repeat + 3)])
    validate_only = iter([episodes.form() for _ in range(repeat + 3)])
    payloads = iter([(f"base-{i}", json.dumps(episodes.form())) for i in range(repeat + 3)])

    def save() -> None:
        wb.save(EmotionEpisode.from_data(next(forms)))

    def validate() -> None:
        EmotionEpisode.from_data(next(validate_only))

    def plain_insert() -> None:
        rid, data = next(payloads)
        base.execute("BEGIN IMMEDIATE")
        base.execute(
            "INSERT INTO records (id, kind, occurred_on, created_at, data) VALUES (?,?,?,?,?)",
            (rid, "emotion_episode", "2020-06-01", "2025-01-01T00:00:00.000000Z", data),
        )
        base.execute("COMMIT")

    # one series after the other (not interleaved), the baseline right after the store
    return {
        "save": timed(save, repeat),
        "plain": timed(plain_insert, repeat),
        "validate": timed(validate, repeat),
    }


def plain_year(db: sqlite3.Connection, since: date, until: date) -> dict[str, Any]:
    import pandas as pd

    rows = db.execute(
        "SELECT id, data FROM records WHERE kind = 'emotion_episode'"
        " AND occurred_on BETWEEN ? AND ? AND deleted_at IS NULL"
        " ORDER BY occurred_on",
        (since.isoformat(), until.isoformat()),
    ).fetchall()
    parents = []
    children: dict[str, list[dict[str, Any]]] = {name: [] for name in CHILD_TABLES}
    for rid, text in rows:
        data = json.loads(text)
        for name in CHILD_TABLES:
            for i, item in enumerate(data.pop(name)):
                row = item if isinstance(item, dict) else {"value": item}
                children[name].append({"emotion_episode_id": rid, "position": i, **row})
        parents.append(data)
    frames = {"emotion_episode": pd.DataFrame(parents)}
    for name, items in children.items():
        frames[f"emotion_episode.{name}"] = pd.DataFrame(items)
    return frames


def store_year(wb: Workbook, since: date, until: date) -> dict[str, Any]:
    frames = wb.frames("emotion_episode", since=since, until=until, audience="client")
    return {"emotion_episode": frames["emotion_episode"]} | {
        f"emotion_episode.{name}": frames[f"emotion_episode.{name}"] for name in CHILD_TABLES
    }


def bench_year(wb: Workbook, path: Path, year: int, repeat: int) -> dict:
    since, until = date(year, 1, 1), date(year, 12, 31)
    plain_db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        ours = store_year(wb, since, until)
        theirs = plain_year(plain_db, since, until)
        for table, frame in ours.items():
            if len(frame) != len(theirs[table]):
                raise AssertionError(f"{table}: {len(frame)} rows, plain: {len(theirs[table])}")
        return {
            "rows": {t: len(f) for t, f in ours.items()},
            "store": timed(lambda: store_year(wb, since, until), repeat, warmup=1),
            "plain": timed(lambda: plain_year(plain_db, since, until), repeat, warmup=1),
        }
    finally:
        plain_db.close()


# --- the report --------------------------------------------------------------------------


def size_label(n: int) -> str:
    return f"{n / 1000:g}k" if n >= 1000 else str(n)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=100_000, help="workbook size")
    parser.add_argument("--years", type=int, default=10, help="years the episodes span")
    parser.add_argument("--repeat", type=int, default=200, help="timed saves")
    parser.add_argument("--frame-repeat", type=int, default=7, help="timed year loads")
    parser.add_argument("--batch", type=int, default=5_000, help="records per save_many")
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--keep", type=Path, help="build in DIR and keep the files there")
    args = parser.parse_args(argv)
    if args.episodes < 1 or args.repeat < 2 or args.frame_repeat < 1 or args.years < 1:
        parser.error("--episodes, --years and --frame-repeat must be >= 1, --repeat >= 2")

    if args.keep:
        folder = args.keep
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("bench.heron", "plain.sqlite"):
            for suffix in ("", "-wal", "-shm"):
                Path(folder, name + suffix).unlink(missing_ok=True)
    else:
        folder = Path(tempfile.mkdtemp(prefix="heron-bench-"))
    first_year = 2016
    episodes = Episodes(args.seed, date(first_year, 1, 1), args.years)
    size = size_label(args.episodes)
    print(
        f"heron-research store benchmark: {args.episodes:,} episodes over {args.years} years;"
        f" python {platform.python_version()}, SQLite {sqlite3.sqlite_version},"
        f" {os.cpu_count()} cores; files in {folder}",
        flush=True,
    )
    try:
        began = time.perf_counter()
        wb = build_workbook(folder / "bench.heron", episodes, args.episodes, args.batch)
        built = time.perf_counter() - began
        base = build_baseline(folder / "plain.sqlite", folder / "bench.heron")
        try:
            print(
                f"built the workbook in {built:.1f} s"
                f" ({built / args.episodes * 1e6:.0f} µs per episode with save_many)"
            )
            year = first_year + args.years // 2
            loads = bench_year(wb, folder / "bench.heron", year, args.frame_repeat)
            saves = bench_save(wb, base, episodes, args.repeat)
        finally:
            wb.close()
            base.close()
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)

    save_med = statistics.median(saves["save"])
    plain_med = statistics.median(saves["plain"])
    valid_med = statistics.median(saves["validate"])
    verdict = "met" if save_med <= TARGET_SAVE_MS else "MISSED"
    print(
        f"save one episode (validate+commit), {size}-episode workbook:"
        f" median {ms(save_med)} (p95 {ms(p95(saves['save']))});"
        f" plain sqlite insert+commit: {ms(plain_med)} (p95 {ms(p95(saves['plain']))});"
        f" ratio {save_med / plain_med:.1f}x; target <= {TARGET_SAVE_MS:g} ms: {verdict}"
    )
    print(f"  of which validating the form data alone: median {ms(valid_med)}")
    store_med = statistics.median(loads["store"])
    plain_load = statistics.median(loads["plain"])
    rows = loads["rows"]
    print(
        f"load one year's frames ({year}: {rows['emotion_episode']:,} episodes,"
        f" {sum(rows.values()) - rows['emotion_episode']:,} child rows in 3 tables),"
        f" {size}-episode workbook: median {ms(store_med)};"
        f" plain select+json.loads+DataFrame: {ms(plain_load)};"
        f" ratio {store_med / plain_load:.1f}x"
    )
    return 0 if verdict == "met" else 1


if __name__ == "__main__":
    sys.exit(main())
