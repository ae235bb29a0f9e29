"""How fast is ``heron-research report``, and how much memory does it take?

In one run, on seeded demo workbooks made for the occasion:

(a) ``heron-research report`` on a 1-year demo workbook (papermill + in-process HTML export);
(b) the floor: ``papermill`` on a notebook that only imports pandas and altair;
(c) the naive way: ``papermill`` on our notebook, then ``jupyter nbconvert --to html
    --no-input`` of the result (a second process).

Each is run ``--runs`` times (default 3), interleaved so a busy machine slows all three
alike; medians are compared. Targets: a/b <= 1.3 and a/c <= 0.6.

Then the peak memory of the report on a 10-year demo workbook: the resident set size of
the runner and its kernel, polled every 20 ms, summed over the process tree (and the
largest single process). Target: <= 400 MB.

Usage: python benchmarks/report_speed.py [--runs 3] [--years 1] [--rss-years 10]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
TARGET_FLOOR = 1.3
TARGET_NAIVE = 0.6
TARGET_RSS_MB = 400.0


def _tool(name: str) -> str:
    found = BIN / name
    return str(found) if found.exists() else name


def _run(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{done.stdout}\n{done.stderr}")
    return elapsed


def _floor_notebook(path: Path) -> None:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(
        cells=[new_code_cell("import pandas\nimport altair", id="imports")],
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
    )
    nbformat.write(nb, path)


def _tree_rss(pid: int) -> tuple[int, int]:
    """(sum, max) resident set size in bytes of ``pid`` and its descendants."""
    try:
        import psutil
    except ImportError:
        return _proc_tree_rss(pid)
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0, 0
    sizes = []
    for p in procs:
        with contextlib.suppress(psutil.Error):
            sizes.append(p.memory_info().rss)
    return sum(sizes), max(sizes, default=0)


def _proc_tree_rss(pid: int) -> tuple[int, int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    todo, sizes = [pid], []
    page = os.sysconf("SC_PAGE_SIZE")
    while todo:
        current = todo.pop()
        try:
            resident = int(Path(f"/proc/{current}/statm").read_text().split()[1]) * page
        except OSError:
            continue
        sizes.append(resident)
        todo.extend(children.get(current, []))
    return sum(sizes), max(sizes, default=0)


def _peak_rss(cmd: list[str], cwd: Path) -> tuple[float, float, float]:
    """Run ``cmd``; (seconds, peak summed RSS in MB, peak single-process RSS in MB)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak_sum = peak_one = 0
    while proc.poll() is None:
        total, largest = _tree_rss(proc.pid)
        peak_sum, peak_one = max(peak_sum, total), max(peak_one, largest)
        time.sleep(0.02)
    out, err = proc.communicate()
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{out.decode()}\n{err.decode()}")
    return time.perf_counter() - start, peak_sum / 2**20, peak_one / 2**20


def _verdict(value: float, target: float) -> str:
    return "ok" if value <= target else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--years", type=float, default=1.0)
    parser.add_argument("--rss-years", type=float, default=10.0)
    args = parser.parse_args()

    from heron_research.demo import generate_demo
    from heron_research.resources import notebook_file

    work = Path(tempfile.mkdtemp(prefix="heron-bench-"))
    try:
        small = work / "one-year.heron"
        generate_demo(small, seed=7, years=args.years)
        floor_nb = work / "floor.ipynb"
        _floor_notebook(floor_nb)
        ours = work / "peer_review_report.ipynb"
        shutil.copyfile(str(notebook_file("peer_review_report.ipynb")), ours)

        commands = {
            "a": [[_tool("heron-research"), "report", str(small), "--out", str(work / "a.html")]],
            "b": [[_tool("papermill"), "--no-progress-bar", str(floor_nb), str(work / "b.ipynb")]],
            "c": [
                [
                    _tool("papermill"),
                    "--no-progress-bar",
                    str(ours),
                    str(work / "c.ipynb"),
                    "-p",
                    "workbook",
                    str(small),
                ],
                [
                    _tool("jupyter"),
                    "nbconvert",
                    "--to",
                    "html",
                    "--no-input",
                    str(work / "c.ipynb"),
                ],
            ],
        }
        times: dict[str, list[float]] = {k: [] for k in commands}
        order = list(commands)
        for i in range(args.runs):
            for key in order[i % 3 :] + order[: i % 3]:  # rotate, so no variant always goes first
                times[key].append(sum(_run(cmd, work) for cmd in commands[key]))
        med = {k: statistics.median(v) for k, v in times.items()}

        print(
            f"heron-research report benchmark ({args.runs} runs each, medians; load "
            f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
        )
        labels = {
            "a": "(a) heron-research report",
            "b": "(b) papermill, pandas+altair only",
            "c": "(c) papermill + jupyter nbconvert",
        }
        for key, label in labels.items():
            runs = ", ".join(f"{t:.2f}" for t in times[key])
            print(f"  {label:<36} {med[key]:6.2f} s   ({runs})")
        floor = med["a"] / med["b"]
        naive = med["a"] / med["c"]
        print(f"  a/b = {floor:.2f}  (target <= {TARGET_FLOOR})  {_verdict(floor, TARGET_FLOOR)}")
        print(f"  a/c = {naive:.2f}  (target <= {TARGET_NAIVE})  {_verdict(naive, TARGET_NAIVE)}")

        if args.rss_years > 0:
            big = work / "ten-years.heron"
            summary = generate_demo(big, seed=7, years=args.rss_years)
            last = summary.period[1].isoformat()
            cmd = [
                _tool("heron-research"),
                "report",
                str(big),
                "--until",
                last,
                "--out",
                str(work / "big.html"),
            ]
            seconds, peak_sum, peak_one = _peak_rss(cmd, work)
            episodes = summary.counts["emotion_episode"]
            print(
                f"  peak RSS, {args.rss_years:g}-year workbook ({episodes:,} episodes, "
                f"{seconds:.1f} s): runner + kernel {peak_sum:.0f} MB (largest process "
                f"{peak_one:.0f} MB)  (target <= {TARGET_RSS_MB:.0f} MB)  "
                f"{'ok' if peak_sum <= TARGET_RSS_MB else 'MISSED'}"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
