"""A practitioner's caseload: one ``heron-research report`` call for many workbooks against
one call per workbook, in the same run.

It makes ``--workbooks`` (default 20) seeded one-year demo workbooks (seeds 1, 2, ...), then

(a) runs ``heron-research report W --out ...`` once per workbook, one after the other (the
    way a practitioner would without the caseload run);
(b) runs ``heron-research report W1 ... Wn --out-dir DIR`` once: one kernel for all of
    them, reading its output as it comes to time the first report's line.

Both as processes, as a user runs them (``PYTHONDONTWRITEBYTECODE=1`` as set: each process
compiles the package afresh). It prints the totals, the ratio b/a (target <= 0.25x), and the
time to the batch's first report against the median single call (target: no slower).
``--rounds`` repeats (a) and (b), interleaved, and reports medians.

Usage: python benchmarks/report_caseload.py [--workbooks 20] [--years 1] [--rounds 1] [--jobs N]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
TARGET_RATIO = 0.25


def _cli() -> str:
    found = BIN / "heron-research"
    return str(found) if found.exists() else "heron-research"


def _single(workbook: Path, until: str, out: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        [_cli(), "report", str(workbook), "--until", until, "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"the single report failed: {done.stderr}")
    return elapsed


def _batch(
    workbooks: list[Path], until: str, out_dir: Path, jobs: int | None
) -> tuple[float, float]:
    """(seconds to the first report's line, seconds in all)."""
    start = time.perf_counter()
    cmd = [_cli(), "report", *map(str, workbooks), "--until", until, "--out-dir", str(out_dir)]
    cmd += ["--jobs", str(jobs)] if jobs else []
    first = None
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            if first is None:
                first = time.perf_counter() - start
            if ": not made:" in line:
                sys.exit(f"the batch failed a workbook: {line.strip()}")
    total = time.perf_counter() - start
    if proc.returncode != 0 or first is None:
        sys.exit("the batch failed")
    return first, total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workbooks", type=int, default=20)
    parser.add_argument("--years", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--jobs", type=int, help="the caseload's --jobs [default: its own]")
    args = parser.parse_args()

    from heron_research.demo import generate_demo

    work = Path(tempfile.mkdtemp(prefix="heron-caseload-bench-"))
    try:
        books = []
        made = time.perf_counter()
        until = None
        for seed in range(1, args.workbooks + 1):
            summary = generate_demo(work / f"client-{seed:02d}.heron", seed=seed, years=args.years)
            books.append(summary.path)
            until = max(until or summary.period[1], summary.period[1])
        assert until is not None
        day = until.isoformat()
        print(
            f"{len(books)} demo workbooks of {args.years:g} year(s) made in "
            f"{time.perf_counter() - made:.0f} s; reports until {day}"
        )
        separate: list[float] = []
        singles: list[float] = []
        batch: list[float] = []
        firsts: list[float] = []
        for round_ in range(args.rounds):
            times = [
                _single(book, day, work / f"single-{round_}" / f"{book.stem}.html")
                for book in books
            ]
            singles.extend(times)
            separate.append(sum(times))
            first, total = _batch(books, day, work / f"batch-{round_}", args.jobs)
            firsts.append(first)
            batch.append(total)
        a, b = statistics.median(separate), statistics.median(batch)
        single, first = statistics.median(singles), statistics.median(firsts)
        print(f"(a) {len(books)} separate calls:      {a:7.1f} s  (median call {single:.2f} s)")
        from heron_research.reports.caseload import default_jobs

        jobs = args.jobs or default_jobs(len(books))
        print(
            f"(b) one caseload call, {jobs} lane(s): {b:7.1f} s  ({b / len(books):.2f} s a report)"
        )
        verdict = "met" if b / a <= TARGET_RATIO else "missed"
        print(f"ratio b/a: {b / a:.2f}x (target <= {TARGET_RATIO}x: {verdict})")
        verdict = "met" if first <= single else "missed"
        print(
            f"first report of the batch: {first:.2f} s against a single call {single:.2f} s "
            f"({first / single:.2f}x; target no slower: {verdict})"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
