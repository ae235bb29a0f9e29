"""How fast is ``share``, and how big is a bundle? (issue 12; receive is not built yet)

Writes a demo workbook (``--years``, default 1), then in the same run, alternating so the
machine's noise falls on both alike, measures ``--repeat`` times (default 5) each:

1. **export**: what ``heron-research export`` does (open the workbook, ``write_export``,
   note the event);
2. **share**: what ``heron-research share --to practitioner`` does (open the workbook,
   read the practitioner's view in one transaction, encrypt with age to two recipients,
   write the file owner-only and atomically).

Prints the medians, their ratio (target: share <= 1.5x export) and the bundle's size as a
share of the workbook file's (target: <= 0.5x).

    python benchmarks/exchange_speed.py
    python benchmarks/exchange_speed.py --years 10 --repeat 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    from heron_research.demo import write_demo
    from heron_research.exchange.keys import new_identity
    from heron_research.exchange.share import share
    from heron_research.workbook import Workbook
    from heron_research.workbook.portable import write_export

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        summary = write_demo(folder / "demo", seed=args.seed, years=args.years)
        path = summary.path
        to = new_identity(folder / "practitioner.key")
        new_identity(folder / "client.key")
        with Workbook.open(path) as wb:  # remember the keys once, as a client would
            share(
                wb,
                "practitioner",
                folder / "warm.age",
                recipient=to,
                identity=folder / "client.key",
            )

        def run_export(i: int) -> float:
            start = time.perf_counter()
            with Workbook.open(path) as wb:
                out = folder / f"export-{i}.json"
                write_export(wb, out)
                wb.log_event("exported", out.name)
            return time.perf_counter() - start

        def run_share(i: int) -> float:
            start = time.perf_counter()
            with Workbook.open(path) as wb:
                share(wb, "practitioner", folder / f"bundle-{i}.age")
            return time.perf_counter() - start

        exports, shares = [], []
        for i in range(args.repeat):
            exports.append(run_export(i))
            shares.append(run_share(i))
        export_s, share_s = statistics.median(exports), statistics.median(shares)
        file_size = path.stat().st_size
        bundle_size = (folder / "bundle-0.age").stat().st_size
        export_size = (folder / "export-0.json").stat().st_size
        with Workbook.open(path, readonly=True) as wb:
            entries = sum(wb.counts().values())

    print(f"demo: {args.years:g} year(s), seed {args.seed}, {entries:,} entries")
    print(f"export  median of {args.repeat}: {export_s * 1000:8.1f} ms")
    print(f"share   median of {args.repeat}: {share_s * 1000:8.1f} ms")
    print(f"share / export: {share_s / export_s:.2f}x (target <= 1.5x)")
    print(
        f"bundle {bundle_size:,} bytes / workbook file {file_size:,} bytes: "
        f"{bundle_size / file_size:.2f}x (target <= 0.5x); export file {export_size:,} bytes"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
