"""How fast is the research batch, and does its memory stay flat?

On ``--count`` one-year synthetic workbooks (default 1,000; made with
:func:`heron_research.demo.generate_demo`, seeds ``--seed`` upwards, and cached in
``benchmarks/.cache/`` so later runs skip the generation, which is timed on its own), in one
run:

1. **batch**: ``run_batch`` (free text off, k = 5) into a finished dataset (Parquet, codebook,
   manifest), on a local Dask cluster of ``--workers`` single-threaded processes (default 2).
   Timed twice: on a cluster already running (the main figure), and end to end as the CLI
   runs it, starting and stopping its own cluster.
2. **floor**: the same files merely read into DataFrames on the same running cluster, with
   the same chunks and windowed submission: each file is opened read-only with sqlite3 and
   its whole ``records`` table read with ``pandas.read_sql`` (every row, raw JSON text,
   no parsing, no consent check, nothing written).
3. **peer**: the naive way, on a sample of ``--naive`` workbooks (default 20): papermill
   runs a per-workbook notebook (open read-only, check consent, ``Workbook.frame`` per table
   for the research audience, hash ids, turn dates into day numbers, drop text, write one
   Parquet file per table), one workbook after another.
4. **memory** (``--memory 1000,4000``): each count run in a fresh process; peak resident
   memory of the process running the batch and of each worker process.

Targets: >= 100 workbooks/s on 2 cores; batch time <= 3x the floor; >= 200x the peer;
peak memory flat between the counts. Exits 1 if a speed target is missed.

    python benchmarks/batch_speed.py                       # 1,000 workbooks, everything
    python benchmarks/batch_speed.py --count 200 --naive 5 --memory ""   # a quick look
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

CACHE = Path(__file__).resolve().parent / ".cache"
KEY = b"benchmark-study-key-0123456789abcdef"
TARGET_RATE = 100.0
TARGET_FLOOR_RATIO = 3.0
TARGET_PEER_RATIO = 200.0


# --- the workbooks -----------------------------------------------------------------------


def _make_one(args: tuple[str, int, float]) -> float:
    from heron_research.demo import generate_demo

    final, seed, years = args
    path = Path(final)
    if path.exists():
        return 0.0
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{temporary}{suffix}").unlink(missing_ok=True)
    start = time.perf_counter()
    generate_demo(temporary, seed=seed, years=years)
    os.replace(temporary, path)
    return time.perf_counter() - start


def cache_folder(seed: int, years: float) -> Path:
    return CACHE / f"demo-seed{seed}-years{years:g}"


def ensure_workbooks(count: int, *, seed: int, years: float, jobs: int) -> tuple[list[Path], float]:
    """The first ``count`` cached workbooks, generating those missing; (paths, seconds)."""
    folder = cache_folder(seed, years)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    paths = [folder / f"wb-{i:05d}.heron" for i in range(count)]
    todo = [(str(p), seed + i, years) for i, p in enumerate(paths) if not p.exists()]
    start = time.perf_counter()
    if todo:
        print(f"generating {len(todo)} workbooks into {folder} ...", file=sys.stderr, flush=True)
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            for n, _ in enumerate(pool.map(_make_one, todo, chunksize=4), 1):
                if n % 100 == 0:
                    print(f"  {n}/{len(todo)}", file=sys.stderr, flush=True)
    return paths, time.perf_counter() - start


# --- the measurements --------------------------------------------------------------------


def read_floor(paths: list[str]) -> list[int]:
    """The floor's task: the whole records table of each workbook into a DataFrame."""
    import sqlite3

    import pandas as pd

    rows = []
    for path in paths:
        db = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
        try:
            rows.append(len(pd.read_sql("SELECT * FROM records", db)))
        finally:
            db.close()
    return rows


def drive(client: Any, fn: Callable[[list[str]], list[Any]], paths: Sequence[Path]) -> list[Any]:
    """Run ``fn`` over ``paths`` as the batch does: the same chunks per task, the same number
    of tasks in flight, results taken as they complete."""
    from distributed import as_completed

    from heron_research.research.batch import IN_FLIGHT_PER_THREAD, chunk_size

    threads = sum(client.nthreads().values())
    size = chunk_size(len(paths), threads)
    chunks = iter([str(p) for p in paths[i : i + size]] for i in range(0, len(paths), size))
    pending = as_completed(loop=client.loop)
    for _ in range(IN_FLIGHT_PER_THREAD * threads):
        with contextlib.suppress(StopIteration):
            pending.add(client.submit(fn, next(chunks), pure=False))
    results = []
    for future in pending:
        results.extend(future.result())
        future.release()
        with contextlib.suppress(StopIteration):
            pending.add(client.submit(fn, next(chunks), pure=False))
    return results


def _key() -> Any:
    from heron_research.research import StudyKey

    return StudyKey(KEY)


def _process_cpu() -> float:
    return time.process_time()


def cpu_seconds(client: Any) -> float:
    """CPU seconds used so far by this process (client, scheduler, writer) and the workers."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime + sum(client.run(_process_cpu).values())


def time_batch(paths: Sequence[Path], out: Path, *, client: Any = None, workers: int) -> float:
    from heron_research.research import run_batch

    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    report = run_batch(paths, out, key=_key(), client=client, workers=workers)
    seconds = time.perf_counter() - start
    assert report.counts["included"] + report.counts["excluded"] == len(paths), report.counts
    return seconds


def measure(client: Any, run: Callable[[], Any]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of every process) of ``run()``."""
    cpu = cpu_seconds(client)
    start = time.perf_counter()
    run()
    wall = time.perf_counter() - start
    return wall, cpu_seconds(client) - cpu


NAIVE_CELLS = [
    'workbook = ""\nout_dir = ""\nkey_file = ""',
    """import hashlib, hmac
from pathlib import Path

import pandas as pd

from heron_research.workbook import Workbook
from heron_research.workbook.frames import table_names

key = Path(key_file).read_bytes().strip()
skip = ("consent", "person", "practitioner_reaction", "intervention")
wb = Workbook.open(workbook, readonly=True)
written = 0
if wb.consent().research:
    wid = wb.id
    pid = hmac.new(key, wid.encode(), "sha256").hexdigest()[:16]

    def rekey(value):
        if value is None or value is pd.NA:
            return None
        return hmac.new(key, f"{wid}:{value}".encode(), "sha256").hexdigest()[:16]

    def naive_days(s):
        return s.dt.tz_localize(None) if s.dt.tz is not None else s

    tables = [t for t in table_names() if t.split(".")[0] not in skip]
    frames = {t: wb.frame(t, audience="research") for t in tables}
    times = [
        naive_days(f[c])
        for f in frames.values()
        for c in f.columns
        if str(f[c].dtype).startswith("datetime64") and len(f)
    ]
    origin = min(s.min() for s in times).normalize() if times else None
    for table, df in frames.items():
        df = df.copy()
        for column in list(df.columns):
            kind = str(df[column].dtype)
            if column == "id" or column.endswith("_id"):
                df[column] = df[column].map(rekey)
            elif kind.startswith("datetime64"):
                df[column] = (naive_days(df[column]).dt.normalize() - origin).dt.days
            elif kind in ("string", "str", "object"):
                df = df.drop(columns=column)
        df.insert(0, "participant_id", pid)
        df.to_parquet(Path(out_dir) / f"{pid}-{table}.parquet", index=False)
        written += 1
wb.close()
written""",
]


def time_naive(paths: Sequence[Path], folder: Path) -> float:
    """Papermill, one notebook run per workbook: (seconds for all)."""
    import nbformat
    import papermill

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(NAIVE_CELLS[0]),
        nbformat.v4.new_code_cell(NAIVE_CELLS[1]),
    ]
    nb.cells[0].metadata["tags"] = ["parameters"]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    template = folder / "naive.ipynb"
    nbformat.write(nb, template)
    key_file = folder / "study.key"
    key_file.write_bytes(KEY)
    os.chmod(key_file, 0o600)
    out = folder / "naive-out"
    out.mkdir()
    start = time.perf_counter()
    for i, path in enumerate(paths):
        papermill.execute_notebook(
            str(template),
            str(folder / f"run-{i}.ipynb"),
            parameters={"workbook": str(path), "out_dir": str(out), "key_file": str(key_file)},
            progress_bar=False,
            kernel_name="python3",
        )
    return time.perf_counter() - start


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_run(count: int, seed: int, years: float, workers: int) -> dict[str, Any]:
    """In this (fresh) process: a batch of ``count``; peak memory of it and of the workers."""
    from heron_research.research import run_batch
    from heron_research.research.batch import dask_client

    paths, _ = ensure_workbooks(count, seed=seed, years=years, jobs=1)
    with (
        tempfile.TemporaryDirectory(prefix="heron-bench-") as tmp,
        dask_client(workers=workers) as client,
    ):
        start = time.perf_counter()
        run_batch(paths, Path(tmp) / "ds", key=_key(), client=client)
        seconds = time.perf_counter() - start
        worker_peaks = client.run(_peak_mb)
    return {
        "count": count,
        "seconds": seconds,
        "batch_process_mb": _peak_mb(),
        "worker_mb": sorted(worker_peaks.values()),
    }


# --- the report --------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000, help="workbooks (default 1000)")
    parser.add_argument("--seed", type=int, default=1000, help="first demo seed (default 1000)")
    parser.add_argument("--years", type=float, default=1.0, help="years per workbook (1)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (2)")
    parser.add_argument("--naive", type=int, default=20, help="papermill sample (20; 0 skips)")
    parser.add_argument(
        "--memory", default="1000,4000", help="counts for the memory runs ('' skips)"
    )
    parser.add_argument("--jobs", type=int, default=2, help="processes generating workbooks")
    parser.add_argument("--memory-run", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--naive-run", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.memory_run:
        print(json.dumps(memory_run(args.memory_run, args.seed, args.years, args.workers)))
        return 0
    if args.naive_run:
        sample, _ = ensure_workbooks(args.naive_run, seed=args.seed, years=args.years, jobs=1)
        with tempfile.TemporaryDirectory(prefix="heron-bench-") as tmp:
            print(time_naive(sample, Path(tmp)))
        return 0

    from heron_research.research.batch import dask_client

    counts = [int(c) for c in args.memory.split(",") if c.strip()]
    needed = max([args.count, *counts])
    paths, generated = ensure_workbooks(needed, seed=args.seed, years=args.years, jobs=args.jobs)
    paths = paths[: args.count]
    size = sum(p.stat().st_size for p in paths) / len(paths) / 1e6
    print(f"load average before: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    print(
        f"heron-research research batch benchmark: {platform.python_version()}, "
        f"{os.cpu_count()} cores, {args.workers} workers"
    )
    print(
        f"workbooks: {args.count:,} one-year demo workbooks ({size:.2f} MB each), "
        f"generated in {generated:.0f} s this run (cached in {cache_folder(args.seed, args.years)})"
    )

    with tempfile.TemporaryDirectory(prefix="heron-bench-") as tmp:
        folder = Path(tmp)
        with dask_client(workers=args.workers) as client:
            drive(client, read_floor, paths[: 4 * args.workers])  # warm up the workers
            floor, batch = [], []
            for _ in range(2):
                floor.append(measure(client, lambda: drive(client, read_floor, paths)))
                batch.append(
                    measure(
                        client,
                        lambda: time_batch(
                            paths, folder / "ds", client=client, workers=args.workers
                        ),
                    )
                )
        end_to_end = time_batch(paths, folder / "ds-cli", workers=args.workers)
        (f, f_cpu), (b, b_cpu) = min(floor), min(batch)
        n = args.count
        rate = n / b
        print(
            f"floor (read_sql of every record, same cluster): {f:.2f} s = {n / f:,.0f} "
            f"workbooks/s; CPU {1e3 * f_cpu / n:.1f} ms a workbook (all processes)"
        )
        print(
            f"batch into the finished dataset, cluster running: {b:.2f} s = {rate:,.0f} "
            f"workbooks/s (runs: {', '.join(f'{w:.2f}' for w, _ in batch)} s); CPU "
            f"{1e3 * b_cpu / n:.1f} ms a workbook, i.e. {args.workers * n / b_cpu:,.0f} "
            f"workbooks/s if the {args.workers} cores were ours alone"
        )
        print(
            f"batch end to end, starting its own cluster: {end_to_end:.2f} s = "
            f"{n / end_to_end:,.0f} workbooks/s"
        )
        ratio_floor = b / f
        print(
            f"ratio to the floor: {ratio_floor:.2f}x wall, {b_cpu / f_cpu:.2f}x CPU "
            f"(target <= {TARGET_FLOOR_RATIO:g}x)"
        )
        ok = rate >= TARGET_RATE and ratio_floor <= TARGET_FLOOR_RATIO
        met = "met" if rate >= TARGET_RATE else "MISSED"
        print(f"rate target >= {TARGET_RATE:g} workbooks/s (wall): {met}")
        print(f"load average now: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")

        if args.naive:
            # in a child process: the kernels' own start-up chatter goes to its stderr
            proc = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--naive-run",
                    str(args.naive),
                    "--seed",
                    str(args.seed),
                    "--years",
                    str(args.years),
                ],
                capture_output=True,
                text=True,
            )
            if proc.returncode:
                print(proc.stderr, file=sys.stderr)
                raise SystemExit("the naive papermill run failed")
            naive = float(proc.stdout.strip().splitlines()[-1])
            naive_rate = args.naive / naive
            ratio_peer = rate / naive_rate
            print(
                f"naive papermill, one notebook per workbook, {args.naive} workbooks: "
                f"{naive:.1f} s = {naive_rate:.2f} workbooks/s; batch is {ratio_peer:,.0f}x "
                f"faster (target >= {TARGET_PEER_RATIO:g}x)"
            )
            ok = ok and ratio_peer >= TARGET_PEER_RATIO

    for count in counts:
        proc = subprocess.run(
            [
                sys.executable,
                __file__,
                "--memory-run",
                str(count),
                "--seed",
                str(args.seed),
                "--years",
                str(args.years),
                "--workers",
                str(args.workers),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        m = json.loads(proc.stdout.strip().splitlines()[-1])
        workers_mb = ", ".join(f"{w:.0f}" for w in m["worker_mb"])
        print(
            f"memory, {m['count']:,} workbooks ({m['seconds']:.1f} s): batch process peak "
            f"{m['batch_process_mb']:.0f} MB; workers peak {workers_mb} MB"
        )
    print("all targets met" if ok else "a target was MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
