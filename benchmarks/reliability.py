"""Reliability figures (issue 6): run the reliability tier at full scale and print its figures.

    .venv/bin/python benchmarks/reliability.py                # all nine cases, full scale
    .venv/bin/python benchmarks/reliability.py --scale test   # the sizes `make test` uses
    .venv/bin/python benchmarks/reliability.py --case 1 --case 2
    .venv/bin/python benchmarks/reliability.py --markdown figures.md

The tests themselves measure: every test marked ``reliability`` (under ``tests/reliability``
and the Chromium ones under ``tests/browser``) picks its sizes from
``HERON_RELIABILITY_SCALE`` (``full`` here: 1,000+ kills, 4 x 5,000 concurrent saves, 500+
research workbooks, ...) and records what it measured (``tests/figures.py``). This script
runs them with pytest in a child process, then prints one table per case. A figure that the
promise says must be zero is marked, and the script exits 1 if any such figure is not zero or
any test failed, so the figures printed are never from a run that broke a promise silently.

Speed figures (case 2's save latency) are given as ratios against a baseline measured in the
same run (one writer alone), as everywhere under ``benchmarks/``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

CASES = {
    1: "Crash during save (SIGKILL at random points)",
    2: "Concurrent writers and a long reader",
    3: "Disk full and read-only",
    4: "Migrations killed at each step",
    5: "Fuzzing every record model and form",
    6: "Hostile text end to end (Chromium)",
    7: "Bad files through every command",
    8: "Leak scan after a full session",
    9: "Research outputs: canaries and a dictionary attack",
}

#: the test files that measure each case (for --case)
CASE_FILES = {
    1: ["tests/reliability/test_crash_and_concurrency.py"],
    2: ["tests/reliability/test_crash_and_concurrency.py"],
    3: ["tests/reliability/test_disk_full.py"],
    4: ["tests/reliability/test_upgrade_killed.py"],
    5: ["tests/reliability/test_fuzz.py"],
    6: ["tests/browser/test_hostile_text.py"],
    7: ["tests/reliability/test_bad_files.py"],
    8: ["tests/browser/test_leak_scan.py", "tests/test_lab.py"],
    9: ["tests/reliability/test_research_outputs.py"],
}


def _format(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _broken(figure: dict[str, Any]) -> bool:
    return bool(figure["must_be_zero"]) and figure["value"] not in (0, 0.0, "0")


def run_tier(scale: str, cases: list[int], extra: list[str]) -> tuple[int, list[dict[str, Any]]]:
    """Run the reliability tests; return pytest's exit code and the figures they recorded."""
    with tempfile.TemporaryDirectory(prefix="heron-reliability-") as tmp:
        figures_file = Path(tmp) / "figures.jsonl"
        env = dict(os.environ)
        env["HERON_RELIABILITY_SCALE"] = scale
        env["HERON_RELIABILITY_FIGURES"] = str(figures_file)
        targets = sorted({f for case in cases for f in CASE_FILES[case]}) or ["tests"]
        command = [sys.executable, "-m", "pytest", "-m", "reliability", "-q"]
        command += ["-p", "no:cacheprovider", "-o", "timeout=3600", *extra, *targets]
        print("$ " + " ".join(command), flush=True)
        code = subprocess.call(command, cwd=ROOT, env=env)
        text = figures_file.read_text(encoding="utf-8") if figures_file.exists() else ""
        lines = text.splitlines()
    return code, [json.loads(line) for line in lines if line.strip()]


def render(figures: list[dict[str, Any]], cases: list[int], markdown: bool) -> str:
    by_case: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for figure in figures:
        by_case[int(figure["case"])].append(figure)
    out: list[str] = []
    for case in cases:
        out.append(f"\n{'### ' if markdown else ''}Case {case}: {CASES[case]}\n")
        rows = by_case.get(case, [])
        if not rows:
            out.append("  (no figures: the tests for this case did not run or failed early)")
            continue
        if markdown:
            out.append("| figure | value |\n|---|---|")
        width = max(len(r["label"]) for r in rows)
        for r in rows:
            value = _format(r["value"])
            mark = "  <-- must be 0" if _broken(r) else ""
            note = f" ({r['note']})" if r.get("note") else ""
            if markdown:
                out.append(f"| {r['label']}{note} | {value}{' **(must be 0)**' if mark else ''} |")
            else:
                out.append(f"  {r['label']:<{width}}  {value}{note}{mark}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", choices=("full", "test"), default="full")
    parser.add_argument("--case", type=int, action="append", choices=sorted(CASES), default=[])
    parser.add_argument("--markdown", type=Path, help="also write the tables as Markdown here")
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest (after --)")
    args = parser.parse_args(argv)
    cases = sorted(set(args.case)) or sorted(CASES)

    started = time.perf_counter()
    code, figures = run_tier(args.scale, sorted(set(args.case)), args.pytest_args)
    elapsed = time.perf_counter() - started

    header = (
        f"heron-research reliability figures, {time.strftime('%Y-%m-%d')}, scale {args.scale}; "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"{os.cpu_count()} cores; {elapsed / 60:.1f} min"
    )
    text = render(figures, cases, markdown=False)
    print("\n" + header + text)
    broken = [f for f in figures if _broken(f)]
    missing = [case for case in cases if not any(int(f["case"]) == case for f in figures)]
    print()
    print(
        f"pytest exit code {code}; figures that must be 0 but are not: {len(broken)}; "
        f"cases with no figures: {missing or 'none'}"
    )
    if args.markdown:
        args.markdown.write_text(header + "\n" + render(figures, cases, markdown=True) + "\n")
        print(f"Markdown written to {args.markdown}")
    return 0 if code == 0 and not broken and not missing else 1


if __name__ == "__main__":
    sys.exit(main())
