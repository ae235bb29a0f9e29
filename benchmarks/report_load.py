"""How long does the practitioner report take to read its workbook, with the withheld counts
done in SQL, against the old way?

In one run, on seeded demo workbooks made for the occasion (1 and 10 years by default):

* **sql** (what the package does): ``reports.context.load`` for audience practitioner, the
  peer-review report over the whole programme. Per kind, the entries withheld from the
  practitioner are counted by :meth:`Workbook.withheld_count`, in SQL: no entry is read.
* **baseline, client view** (the old way): the same ``load``, but each withheld count reads
  the client's whole view of the kind for the period with :meth:`Workbook.frames` (audience
  client, private text included) and counts the rows the practitioner may not see.

Each is run ``--runs`` times (default 7), interleaved so a busy machine slows both alike;
medians are compared, and both must give the same counts. Lower ratios are better.

Usage: python benchmarks/report_load.py [--runs 7] [--years 1 10]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from heron_research.demo import generate_demo
from heron_research.records.consent import ConsentState
from heron_research.reports.context import load
from heron_research.visibility import Audience, visible_levels
from heron_research.workbook import Workbook


def client_view_count(
    self: Workbook,
    kind: str,
    audience: Audience | str,
    *,
    since: date | None = None,
    until: date | None = None,
    consent: ConsentState | None = None,
) -> int:
    """The baseline: read the client's whole view of ``kind`` in the period (every entry
    parsed into a frame) and count what ``audience`` may not see."""
    levels = visible_levels(audience, consent if consent is not None else self.consent())
    table = self.frames(kind, since=since, until=until, audience=Audience.CLIENT)[kind]
    return int((~table["sharing"].astype(str).isin([s.value for s in levels])).sum())


@contextmanager
def counting_with(count: Callable[..., int]) -> Iterator[None]:
    sql = Workbook.withheld_count
    Workbook.withheld_count = count  # type: ignore[method-assign]
    try:
        yield
    finally:
        Workbook.withheld_count = sql  # type: ignore[method-assign]


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def measure(path: Path, until: date, runs: int) -> dict[str, Any]:
    def practitioner_load() -> dict[str, int]:
        return load(path, kind="review", until=until, audience="practitioner").withheld

    practitioner_load()  # warm: imports, the OS cache
    sql_times, old_times = [], []
    for _ in range(runs):
        seconds, sql_counts = _timed(practitioner_load)
        sql_times.append(seconds)
        with counting_with(client_view_count):
            seconds, old_counts = _timed(practitioner_load)
        old_times.append(seconds)
        if sql_counts != old_counts:
            sys.exit(f"the counts differ on {path}: {sql_counts} != {old_counts}")
    return {
        "sql": statistics.median(sql_times),
        "old": statistics.median(old_times),
        "withheld": sum(sql_counts.values()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--years", type=float, nargs="+", default=[1.0, 10.0])
    args = parser.parse_args(argv)
    print(f"practitioner report load, median of {args.runs} runs (lower is better)")
    print(f"{'workbook':<10}{'entries':>8}{'withheld':>10}{'sql':>10}{'baseline':>10}{'ratio':>8}")
    with tempfile.TemporaryDirectory(prefix="heron-bench-") as folder:
        for years in args.years:
            path = Path(folder) / f"demo-{years:g}y.heron"
            summary = generate_demo(path, seed=7, years=years)
            figures = measure(path, summary.period[1], args.runs)
            entries = sum(summary.counts.values())
            label = f"{years:g} year{'s' if years != 1 else ''}"
            print(
                f"{label:<10}{entries:>8}{figures['withheld']:>10}"
                f"{figures['sql']:>9.3f}s{figures['old']:>9.3f}s"
                f"{figures['sql'] / figures['old']:>8.2f}"
            )
    print("sql: withheld counted by Workbook.withheld_count (SQL, no entry read)")
    print("baseline: the client's whole view read with Workbook.frames(audience='client')")
    print("ratio: sql / baseline")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
