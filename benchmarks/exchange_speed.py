"""How fast are ``share`` and ``receive``, and how big is a bundle? (issue 12)

For each demo size (``--years``, default 1; several may be given), writes a demo workbook,
then in the same run, alternating so the machine's noise falls on all alike, measures
``--repeat`` times (default 5) each:

1. **export**: what ``heron-research export`` does (open the workbook, ``write_export``,
   note the event);
2. **share**: what ``heron-research share --to practitioner`` does (open the workbook,
   read the practitioner's view in one transaction, encrypt with age to two recipients,
   write the file owner-only and atomically);
3. **import**: what ``heron-research import`` does with that export (validate it, build a
   new workbook under a temporary name, put it in place);
4. **receive, first**: what ``heron-research receive`` does with that bundle into a path
   that does not exist (decrypt, validate, make the practice workbook in one go);
5. **receive, later**: a later bundle into the existing practice workbook (the client's
   entries replaced wholesale in one transaction, the WAL emptied).

Prints the medians and the ratios (targets: share <= 1.5x export, receive <= 2x import)
and the bundle's size as a share of the workbook file's (target: <= 0.5x).

    python benchmarks/exchange_speed.py
    python benchmarks/exchange_speed.py --years 1 10 --repeat 5
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
    parser.add_argument("--years", type=float, nargs="+", default=[1.0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    for years in args.years:
        measure(years, args.repeat, args.seed)
    return 0


def measure(years: float, repeat: int, seed: int) -> None:

    from heron_research.demo import write_demo
    from heron_research.exchange.keys import new_identity
    from heron_research.exchange.receive import receive
    from heron_research.exchange.share import share
    from heron_research.workbook import Workbook
    from heron_research.workbook.portable import import_json, write_export

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        summary = write_demo(folder / "demo", seed=seed, years=years)
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

        key = folder / "practitioner.key"
        receive(folder / "warm.age", folder / "practice.heron", identity=key)  # later: into it

        def run_import(i: int) -> float:
            start = time.perf_counter()
            import_json(folder / f"export-{i}.json", folder / f"imported-{i}.heron").close()
            return time.perf_counter() - start

        def run_first(i: int) -> float:
            start = time.perf_counter()
            receive(folder / f"bundle-{i}.age", folder / f"practice-{i}.heron", identity=key)
            return time.perf_counter() - start

        def run_later(i: int) -> float:  # bundle i is newer than the one received before it
            start = time.perf_counter()
            done = receive(folder / f"bundle-{i}.age", folder / "practice.heron")
            elapsed = time.perf_counter() - start
            assert done.applied
            return elapsed

        exports, shares, imports, firsts, laters = [], [], [], [], []
        for i in range(repeat):
            exports.append(run_export(i))
            shares.append(run_share(i))
            imports.append(run_import(i))
            firsts.append(run_first(i))
            laters.append(run_later(i))
        export_s, share_s = statistics.median(exports), statistics.median(shares)
        import_s, first_s = statistics.median(imports), statistics.median(firsts)
        later_s = statistics.median(laters)
        file_size = path.stat().st_size
        bundle_size = (folder / "bundle-0.age").stat().st_size
        export_size = (folder / "export-0.json").stat().st_size
        with Workbook.open(path, readonly=True) as wb:
            entries = sum(wb.counts().values())

    print(f"demo: {years:g} year(s), seed {seed}, {entries:,} entries")
    print(f"export  median of {repeat}: {export_s * 1000:8.1f} ms")
    print(f"share   median of {repeat}: {share_s * 1000:8.1f} ms")
    print(f"import  median of {repeat}: {import_s * 1000:8.1f} ms")
    print(
        f"receive median of {repeat}: {first_s * 1000:8.1f} ms (first: makes the practice workbook)"
    )
    print(f"receive median of {repeat}: {later_s * 1000:8.1f} ms (later: replaces their entries)")
    print(f"share / export: {share_s / export_s:.2f}x (target <= 1.5x)")
    print(
        f"receive / import: {first_s / import_s:.2f}x first, {later_s / import_s:.2f}x later "
        "(target <= 2x)"
    )
    print(
        f"bundle {bundle_size:,} bytes / workbook file {file_size:,} bytes: "
        f"{bundle_size / file_size:.2f}x (target <= 0.5x); export file {export_size:,} bytes"
    )


if __name__ == "__main__":
    sys.exit(main())
