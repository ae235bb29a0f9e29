"""The research batch end to end as the CLI runs it, and where its fixed cost goes (issue 15).

On ``--count`` quarter-year synthetic workbooks (default 800; made with
:func:`heron_research.demo.generate_demo` with ``years=0.25``, seeds ``--seed`` upwards, cached
in ``benchmarks/.cache/`` as ``batch_speed.py`` does), in one run, ``--repeat`` times
(default 3; medians are reported), alternating:

1. **end to end**: ``heron-research batch FILE... --out DIR --key-file KEY --workers 2`` as a
   subprocess, its own start (interpreter, imports), its local cluster's start and shutdown
   and the finished dataset included: wall time from ``Popen`` to exit.
2. **fixed cost**: the same command on the first 10 workbooks (their own work is a few
   hundredths of a second of it).
3. **floor**: the same ``--count`` files on a local Dask cluster of the same 2
   single-threaded worker processes (started once, warmed up, idle while the CLI runs):
   each file opened read-only with ``sqlite3`` and its whole ``records`` table read with
   ``pandas.read_sql`` (every row, JSON left as text), the same chunks of inputs per task
   and tasks in flight as the batch; wall time of that alone (no cluster start, nothing
   written).
4. **fixed cost, bytecode cache on**: step 2 with Python's bytecode cache on (in a private
   folder, written by a first run), as on a user's machine; the rest of the run keeps
   ``PYTHONDONTWRITEBYTECODE`` as the environment has it.
5. **baseline for the fixed cost**: a plain Dask program (``LocalCluster`` of the same number
   of process workers with Dask's defaults, one trivial task, shut down) as a subprocess,
   wall time from start to exit.
6. **on a standing cluster**: step 1 with ``--scheduler`` at the floor's own cluster (its
   2 workers, warm), as a researcher with a cluster kept running between batches runs it.
7. **split** (on unless ``--no-split``): ``run_batch`` in a fresh process on 10 and on
   ``--count`` workbooks, with the time of each step: importing the package, cluster start
   (from the first stage callback to workers ready), listing the inputs, the per-workbook
   phase (first to last result), the final write (Parquet, codebook, manifest, checks,
   rename) and the cluster's shutdown.

Targets: >= 150 workbooks/s end to end; end to end <= 1.5x the floor; fixed cost (the
10-workbook run, bytecode cache off) < 1 s. Exits 1 if one is missed.
``PYTHONDONTWRITEBYTECODE=1`` is kept as the environment has it (the package is compiled
afresh by every process) except in step 4; the header says whether it is set.

    python benchmarks/batch_fixed_cost.py                 # 800 workbooks, 3 rounds, the split
    python benchmarks/batch_fixed_cost.py --repeat 1 --no-split     # one round
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from batch_speed import KEY, drive, ensure_workbooks, read_floor

TARGET_RATE = 150.0
TARGET_FLOOR_RATIO = 1.5
TARGET_FIXED_S = 1.0
FIXED_COUNT = 10


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("heron-research")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from heron_research.cli import main; main()"]


def time_cli(
    paths: list[Path],
    out: Path,
    key_file: Path,
    workers: int | str,
    env: dict[str, str] | None = None,
) -> float:
    """Wall seconds of ``heron-research batch`` on ``paths`` into ``out``, as a user runs it:
    on a local cluster of ``workers`` processes, or on the running cluster at the scheduler
    address ``workers``."""
    shutil.rmtree(out, ignore_errors=True)
    args = [*_cli(), "batch", *map(str, paths), "--out", str(out), "--key-file", str(key_file)]
    where = ["--scheduler", workers] if isinstance(workers, str) else ["--workers", str(workers)]
    start = time.perf_counter()
    proc = subprocess.run([*args, *where], capture_output=True, text=True, check=False, env=env)
    seconds = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"the batch failed ({proc.returncode}):\n{proc.stderr}")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["inputs"] == len(paths), manifest["counts"]
    return seconds


#: a plain Dask program: a local cluster of process workers with Dask's defaults, one task
BARE_DASK = """
import logging
from distributed import Client, LocalCluster

if __name__ == "__main__":
    with LocalCluster(n_workers={workers}, threads_per_worker=1, processes=True,
                      dashboard_address=None, silence_logs=logging.CRITICAL) as cluster:
        with Client(cluster) as client:
            assert client.submit(sum, [1, 2]).result() == 3
"""


def time_bare_dask(folder: Path, workers: int) -> float:
    """Wall seconds of a plain Dask program starting and stopping a local cluster of
    ``workers`` process workers (Dask's defaults) around one trivial task: the baseline for
    the batch's fixed cost, measured in the same run."""
    script = folder / "bare_dask.py"
    script.write_text(BARE_DASK.format(workers=workers))
    start = time.perf_counter()
    subprocess.run([sys.executable, str(script)], capture_output=True, check=True)
    return time.perf_counter() - start


def bytecode_env(folder: Path) -> dict[str, str]:
    """This environment with the bytecode cache on (in a private folder, warmed by a first
    run): as on a user's machine, where Python keeps the package compiled."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(folder / "pycache")
    return env


def split_run(count: int, seed: int, workers: int, out: Path) -> dict[str, float]:
    """In this fresh process: ``run_batch`` with the time of each step (seconds)."""
    begin = time.perf_counter()
    import heron_research.research.batch as batch_module
    from heron_research.research import StudyKey, run_batch

    imported = time.perf_counter()
    paths, _ = ensure_workbooks(count, seed=seed, years=0.25, jobs=1)
    marks: dict[str, float] = {}
    listing = batch_module.list_inputs

    def timed_listing(inputs: Any) -> Any:
        marks["list_start"] = time.perf_counter()
        listed = listing(inputs)
        marks["list_end"] = time.perf_counter()
        return listed

    batch_module.list_inputs = timed_listing

    def stage(s: Any) -> None:
        now = time.perf_counter()
        marks.setdefault(f"{s.stage}_start", now)
        if s.done == s.total:
            marks[f"{s.stage}_end"] = now

    def progress(p: Any) -> None:
        now = time.perf_counter()
        marks.setdefault("first_result", now)
        marks["last_result"] = now

    called = time.perf_counter()
    run_batch(paths, out, key=StudyKey(KEY), workers=workers, on_stage=stage, on_progress=progress)
    returned = time.perf_counter()
    return {
        "imports (heron_research.research)": imported - begin,
        "run_batch to the cluster's start": marks["cluster_start"] - called,
        "listing the inputs (in the cluster's start)": marks["list_end"] - marks["list_start"],
        "cluster start (to workers ready)": marks["cluster_end"] - marks["cluster_start"],
        "workers ready to the first result": marks["first_result"] - marks["cluster_end"],
        "first to last result": marks["last_result"] - marks["first_result"],
        "final write (Parquet, codebook, manifest, rename)": marks["write_end"]
        - marks["write_start"],
        "after the write: cluster shutdown, return": returned - marks["write_end"],
        "run_batch in all": returned - called,
    }


def _split(count: int, args: argparse.Namespace, folder: Path) -> dict[str, float]:
    proc = subprocess.run(
        [
            sys.executable,
            __file__,
            "--split-run",
            str(count),
            "--seed",
            str(args.seed),
            "--workers",
            str(args.workers),
            "--out",
            str(folder / f"split-{count}-{time.monotonic_ns()}"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=800, help="workbooks (default 800)")
    parser.add_argument("--seed", type=int, default=1000, help="first demo seed (default 1000)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (2)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds (3; medians)")
    parser.add_argument("--no-split", action="store_true", help="skip the step split")
    parser.add_argument("--jobs", type=int, default=2, help="processes generating workbooks")
    parser.add_argument("--split-run", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.split_run:
        print(json.dumps(split_run(args.split_run, args.seed, args.workers, args.out)))
        return 0

    from heron_research.research.batch import dask_client

    paths, generated = ensure_workbooks(args.count, seed=args.seed, years=0.25, jobs=args.jobs)
    size = sum(p.stat().st_size for p in paths) / len(paths) / 1e6
    bytecode = "not written" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "written"
    print(f"load average before: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    print(
        f"heron-research batch, end to end: Python {platform.python_version()}, "
        f"{os.cpu_count()} cores, {args.workers} workers, bytecode cache {bytecode} "
        f"(PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')})"
    )
    print(
        f"workbooks: {args.count:,} quarter-year demo workbooks ({size:.2f} MB each), "
        f"generated in {generated:.0f} s this run"
    )
    n = args.count
    with tempfile.TemporaryDirectory(prefix="heron-bench-") as tmp:
        folder = Path(tmp)
        key_file = folder / "study.key"
        key_file.write_bytes(KEY + b"\n")
        os.chmod(key_file, 0o600)
        ends, fixed, floors, cached, bare, standing = [], [], [], [], [], []
        cache_env = bytecode_env(folder)
        few = paths[:FIXED_COUNT]
        time_cli(few, folder / "ds10c", key_file, args.workers, cache_env)  # writes the cache
        with dask_client(workers=args.workers) as client:
            drive(client, read_floor, paths[: 4 * args.workers])  # warm the workers up
            for _ in range(args.repeat):
                start = time.perf_counter()
                drive(client, read_floor, paths)
                floors.append(time.perf_counter() - start)
                ends.append(time_cli(paths, folder / "ds", key_file, args.workers))
                fixed.append(time_cli(few, folder / "ds10", key_file, args.workers))
                cached.append(time_cli(few, folder / "ds10c", key_file, args.workers, cache_env))
                bare.append(time_bare_dask(folder, args.workers))
                address = client.scheduler.address  # the floor's cluster, idle meanwhile
                standing.append(time_cli(paths, folder / "dss", key_file, address))
        end, fix, floor = (statistics.median(x) for x in (ends, fixed, floors))
        fix_cached, bare_dask = statistics.median(cached), statistics.median(bare)
        on_standing = statistics.median(standing)

        def runs(xs: list[float]) -> str:
            return ", ".join(f"{x:.2f}" for x in xs)

        rate, ratio = n / end, end / floor
        print(
            f"floor (read_sql of every record, {args.workers} workers running): median "
            f"{floor:.2f} s = {n / floor:,.0f} workbooks/s (runs: {runs(floors)} s)"
        )
        print(
            f"end to end, `heron-research batch` on {n:,}: median {end:.2f} s = {rate:,.0f} "
            f"workbooks/s (runs: {runs(ends)} s); target >= {TARGET_RATE:g}: "
            f"{'met' if rate >= TARGET_RATE else 'MISSED'}"
        )
        print(
            f"ratio to the floor: {ratio:.2f}x (target <= {TARGET_FLOOR_RATIO:g}x: "
            f"{'met' if ratio <= TARGET_FLOOR_RATIO else 'MISSED'}); end to end minus the "
            f"floor: {end - floor:.2f} s"
        )
        print(
            f"fixed cost, `heron-research batch` on {FIXED_COUNT}: median {fix:.2f} s (runs: "
            f"{runs(fixed)} s); target < {TARGET_FIXED_S:g} s: "
            f"{'met' if fix < TARGET_FIXED_S else 'MISSED'}"
        )
        print(
            f"fixed cost with the bytecode cache on (as on a user's machine): median "
            f"{fix_cached:.2f} s (runs: {runs(cached)} s)"
        )
        print(
            f"baseline, a plain Dask program starting and stopping a local cluster of "
            f"{args.workers} process workers around one task: median {bare_dask:.2f} s "
            f"(runs: {runs(bare)} s); the batch's fixed cost against it: {fix / bare_dask:.2f}x "
            f"(bytecode cache on: {fix_cached / bare_dask:.2f}x)"
        )
        print(
            f"on a standing cluster (`--scheduler`, the floor's {args.workers} workers): "
            f"`heron-research batch` on {n:,}: median {on_standing:.2f} s = "
            f"{n / on_standing:,.0f} workbooks/s (runs: {runs(standing)} s); ratio to the "
            f"floor: {on_standing / floor:.2f}x"
        )
        print(f"load average now: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
        if not args.no_split:
            for count in (FIXED_COUNT, n):
                steps = _split(count, args, folder)
                print(f"split, run_batch on {count:,} in a fresh process (seconds):")
                for name, seconds in steps.items():
                    print(f"  {seconds:6.2f}  {name}")
    ok = rate >= TARGET_RATE and ratio <= TARGET_FLOOR_RATIO and fix < TARGET_FIXED_S
    print("all targets met" if ok else "a target was MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
