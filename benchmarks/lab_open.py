"""How long from starting ``heron-research lab`` to the client's forms on screen?

In one run, interleaved so a busy machine slows both alike:

* **forms** (what the client gets): the lab started as ``heron-research lab`` starts it
  (:func:`heron_research.lab.prepare_lab`, then :func:`~heron_research.lab.start_lab`)
  on the one-year demo workbook (``heron-research demo``'s workbook: seed 7, one year,
  made for the occasion), then headless Chromium opening the address ``lab`` prints.
  Stops when the episode form is visible and the extension reports the run done (no
  click, no Run All).
* **baseline, one button**: the same server machinery and the same extension, on a
  notebook marked the same way that only displays one ``ipywidgets.Button``. Stops when
  the button is visible.

Both clocks start before ``prepare_lab`` (the client's notebook is made afresh each time)
and include the server's start, the page load, the kernel's start and the run. Each side
is run ``--runs`` times (default 5, at least 5); medians are compared. Target: the forms
open within 1.3x the time of the one-button notebook. Every process (server, kernel)
starts with ``PYTHONDONTWRITEBYTECODE`` as set in this environment: with it set, each
recompiles the package, as it does for a client who installed without bytecode.

Usage: python benchmarks/lab_open.py [--runs 5] [--years 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat

from heron_research.demo import generate_demo
from heron_research.lab import LabServer, prepare_lab, start_lab
from heron_research.workbook import Workbook

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the browser tests' Chromium
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

TARGET = 1.3
TIMEOUT_MS = 300_000

#: Injected into the page: the wall-clock time (ms) the extension's state first took each value.
_STATES_JS = """
window.__heronStates = {};
const note = () => {
  const panel = document.querySelector('.jp-NotebookPanel');
  const state = panel && panel.getAttribute('data-heron-autorun');
  if (state && !(state in window.__heronStates)) {
    window.__heronStates[state] = performance.timeOrigin + performance.now();
  }
  requestAnimationFrame(note);
};
requestAnimationFrame(note);
"""

#: The phases of one opening: server start, page and lab load until the notebook is read,
#: then the kernel's start, the run and the drawing of the widgets.
PHASES = ("server ready", "lab loaded, notebook read", "kernel start, run, drawn")


def button_notebook(path: Path) -> Path:
    """The baseline: a parameters cell and one cell displaying one Button, marked to run."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('workbook = ""')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        nbformat.v4.new_markdown_cell("# One button"),
        params,
        nbformat.v4.new_code_cell('import ipywidgets\n\nipywidgets.Button(description="baseline")'),
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["heron_research"] = {"autorun": True}
    nbformat.write(nb, path)
    return path


def time_open(
    browser: Any,
    workbook: Path,
    template: Path | None,
    visible: Callable[[Any], Any],
    logs: Path,
) -> tuple[float, tuple[float, float, float]]:
    """Seconds from prepare_lab to ``visible(page)`` being visible, and the three phases
    (:data:`PHASES`); the server is stopped."""
    notebook = workbook.with_suffix(".ipynb")
    notebook.unlink(missing_ok=True)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    server: LabServer | None = None
    try:
        start, wall = time.perf_counter(), time.time()
        plan = prepare_lab(workbook, template=template)
        server = start_lab(plan, open_browser=False, log=logs, log_level="WARN", timeout=120)
        ready = time.perf_counter() - start
        page = context.new_page()
        page.add_init_script(_STATES_JS)
        page.goto(server.notebook_url(), wait_until="domcontentloaded", timeout=TIMEOUT_MS)
        visible(page).wait_for(state="visible", timeout=TIMEOUT_MS)
        page.wait_for_function(
            "() => document.querySelector('.jp-NotebookPanel')"
            "?.getAttribute('data-heron-autorun') === 'done'",
            timeout=TIMEOUT_MS,
            polling=50,
        )
        total = time.perf_counter() - start
        states = page.evaluate("() => window.__heronStates")
        running = states["running"] / 1000 - wall
        return total, (ready, running - ready, total - running)
    finally:
        context.close()
        if server is not None:
            server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each side (at least 5)")
    parser.add_argument("--years", type=float, default=1.0, help="length of the demo")
    args = parser.parse_args(argv)
    runs = max(5, args.runs)
    if not CHROMIUM.is_file():
        print(f"Chromium not found at {CHROMIUM}; set HERON_CHROMIUM", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="heron-bench-lab-") as folder:
        root = Path(folder)
        (root / "demo").mkdir()
        (root / "button").mkdir()
        demo = root / "demo" / "demo.heron"
        generate_demo(demo, seed=7, years=args.years)
        with Workbook.open(demo, readonly=True) as wb:
            entries = sum(wb.counts().values())
        empty = root / "button" / "button.heron"
        Workbook.create(empty).close()
        template = button_notebook(root / "one-button.ipynb")
        print(f"demo workbook: {args.years:g} year(s), seed 7, {entries:,} entries")
        print(f"PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r}")

        forms: list[float] = []
        button: list[float] = []
        phases: dict[str, list[tuple[float, float, float]]] = {"forms": [], "button": []}
        with sync_playwright() as manager:
            browser = manager.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            try:
                # one untimed opening of each (first page load, first kernel start)
                time_open(
                    browser,
                    empty,
                    template,
                    lambda p: p.get_by_role("button", name="baseline"),
                    root / "warmup.log",
                )
                for i in range(runs):
                    total, parts = time_open(
                        browser,
                        demo,
                        None,
                        lambda p: p.locator(".heron-form-emotion_episode"),
                        root / "forms.log",
                    )
                    forms.append(total)
                    phases["forms"].append(parts)
                    total, parts = time_open(
                        browser,
                        empty,
                        template,
                        lambda p: p.get_by_role("button", name="baseline"),
                        root / "button.log",
                    )
                    button.append(total)
                    phases["button"].append(parts)
                    print(f"run {i + 1}: forms {forms[-1]:.2f} s, one button {button[-1]:.2f} s")
            finally:
                browser.close()

    f, b = statistics.median(forms), statistics.median(button)
    ratio = f / b
    print()
    print("| lab start to visible, headless Chromium | median | min | max |")
    print("|---|---|---|---|")
    print(f"| forms on the demo workbook | {f:.2f} s | {min(forms):.2f} s | {max(forms):.2f} s |")
    print(f"| one ipywidgets.Button | {b:.2f} s | {min(button):.2f} s | {max(button):.2f} s |")
    print(f"| ratio | {ratio:.2f}x | | |")
    print()
    print("| phase, median | forms | one button |")
    print("|---|---|---|")
    for i, name in enumerate(PHASES):
        mf = statistics.median(p[i] for p in phases["forms"])
        mb = statistics.median(p[i] for p in phases["button"])
        print(f"| {name} | {mf:.2f} s | {mb:.2f} s |")
    print(f"target <= {TARGET}x: {'met' if ratio <= TARGET else 'missed'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
