"""How light and quick is the client's app on a year of entries?

Makes the one-year demo workbook (``heron_research.demo.generate_demo``, seed 7) and, in this
process, shows the client's app on it (``workbook_app``) as a notebook would, then measures:

1. **widget models at first display**: the live ``ipywidgets`` widgets (each one a model in
   the browser too) once the app is built, before any tab is opened. Target: at most 300.
2. **click latency**: ``Save`` on the episode form, clicked through the button's own handlers
   (``Button.click()``, what a browser's click runs in the kernel) after filling the form as a
   client does. p50 and p99 over ``--saves`` clicks, with one writer, then again with a second
   process saving episodes to the same workbook in a loop (two writers). Targets: p50 at most
   30 ms and p99 at most 150 ms with one writer; p99 at most 300 ms with two.
3. **flatness**: live widgets and the process's resident memory after a warm-up and after the
   ``--saves`` clicks (gc first): the app should neither grow nor leak.

Baseline, measured in the same run on the same workbook: ``Workbook.save`` of the same
episode (validated from the same form data), the store's own time for what the click saves;
each latency is printed with its ratio to it (one writer and two writers each against their
own baseline).

    python benchmarks/forms_speed.py                # or: make bench
    python benchmarks/forms_speed.py --saves 100 --keep /tmp/forms-bench

Times on a shared machine are noisy: only medians, percentiles and ratios are printed.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

TARGETS = {"widgets": 300, "p50": 30.0, "p99_one": 150.0, "p99_two": 300.0}
WARM_UP = 20


def live_widgets() -> int:
    """The live ipywidgets models in this process (``Widget.widgets`` without its warning)."""
    from ipywidgets.widgets import widget

    return len(widget._instances)


def live_widgets_after_gc() -> int:
    gc.collect()
    return live_widgets()


def rss_mib() -> float:
    """Resident memory of this process now (``/proc/self/statm``), in MiB."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def fill_episode(form, i: int) -> None:  # type: ignore[no-untyped-def]
    """Type an episode into the form as a client does: what happened and one emotion."""
    form.field("situation").widget.value = f"Benchmark episode {i}: the bus was late again"
    row = form.field("emotions").rows[0]
    for f in row.fields:
        if f.name == "emotion":
            f.widget.value = "irritation"
        elif f.name == "intensity":
            f.widget.value = 1 + i % 10


def timed(action: Callable[[], object], times: int) -> list[float]:
    """Milliseconds of each of ``times`` calls of ``action``."""
    out = []
    for _ in range(times):
        start = time.perf_counter()
        action()
        out.append((time.perf_counter() - start) * 1000)
    return out


def writer_loop(path: str) -> None:
    """The second writer: another process saving episodes to the same workbook until killed."""
    from heron_research.records import EmotionEpisode, Side
    from heron_research.workbook import Workbook

    wb = Workbook.open(path)
    i = 0
    while True:
        episode = EmotionEpisode.from_data(
            {"situation": f"Second writer {i}", "emotions": [{"emotion": "calm", "intensity": 2}]}
        )
        wb.save(episode, side=Side.CLIENT)
        i += 1
        time.sleep(0.005)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--saves", type=int, default=400, help="clicks on Save per series")
    parser.add_argument(
        "--warm-up", type=int, default=100, help="untimed saves before the counts are taken"
    )
    parser.add_argument("--years", type=float, default=1.0, help="size of the demo workbook")
    parser.add_argument("--keep", type=Path, help="make the demo here and leave it")
    parser.add_argument("--writer", help=argparse.SUPPRESS)  # the second writer's own mode
    args = parser.parse_args(argv)
    if args.writer:
        writer_loop(args.writer)
        return 0

    from heron_research.demo import generate_demo
    from heron_research.forms import workbook_app
    from heron_research.records import EMOTION_EPISODE, Side

    folder = args.keep or Path(tempfile.mkdtemp(prefix="heron-forms-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "demo.heron"
    if path.exists():
        path.unlink()
    start = time.perf_counter()
    generate_demo(path, years=args.years)
    made = time.perf_counter() - start

    from ipywidgets.widgets.widget import _instances

    workbook_app  # noqa: B018  (imported: its module-level widgets exist before counting)
    existing = set(_instances)
    before = live_widgets()
    start = time.perf_counter()
    app = workbook_app(path)
    built = (time.perf_counter() - start) * 1000
    at_display = live_widgets() - before
    counter = iter(range(10**9))

    def series(app) -> tuple[list[float], list[float]]:  # type: ignore[no-untyped-def]
        """``--saves`` timed clicks on Save, then as many timed saves by the store alone."""
        form = app.forms[EMOTION_EPISODE]

        def click() -> None:
            fill_episode(form, next(counter))
            form.save_button.click()
            assert "Saved" in form.status.value, form.status.value

        def store_save() -> None:
            fill_episode(form, next(counter))
            record = form.record_type.from_data(form.data())
            app.context.workbook.save(record, side=Side.CLIENT)

        clicks = timed(click, args.saves)
        return clicks, timed(store_save, args.saves)

    form = app.forms[EMOTION_EPISODE]
    for _ in range(args.warm_up):
        fill_episode(form, next(counter))
        form.save_button.click()
    warm_widgets, warm_rss = live_widgets_after_gc(), rss_mib()
    one, store_one = series(app)
    end_widgets, end_rss = live_widgets_after_gc(), rss_mib()
    app.context.workbook.close()

    # two writers: a fresh app (the first one's widgets closed), a second process saving
    for model_id in set(_instances) - existing:
        _instances[model_id].close()
    gc.collect()
    writer = subprocess.Popen(
        [sys.executable, __file__, "--writer", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        time.sleep(1.0)  # let it open the workbook and start writing
        app = workbook_app(path)
        for _ in range(WARM_UP):
            fill_episode(app.forms[EMOTION_EPISODE], next(counter))
            app.forms[EMOTION_EPISODE].save_button.click()
        two, store_two = series(app)
        if writer.poll() is not None:
            raise SystemExit(f"the second writer stopped: {writer.stderr.read().decode()}")
    finally:
        writer.terminate()
        writer.wait(timeout=30)
    app.context.workbook.close()
    if args.keep is None:
        shutil.rmtree(folder, ignore_errors=True)

    print(f"forms_speed: one-year demo ({args.years:g} y) made in {made:.1f} s; ", end="")
    print(f"Python {platform.python_version()}, {os.cpu_count()} cores")
    print(f"app built in {built:.0f} ms (workbook_app, this process)")
    print(
        f"widget models at first display: {at_display:,} "
        f"(target <= {TARGETS['widgets']}: {'met' if at_display <= 300 else 'MISSED'})"
    )
    growth = (end_widgets - warm_widgets) / warm_widgets * 100
    print(
        f"live widgets after {args.warm_up} saves {warm_widgets:,}, after {args.saves} more "
        f"{end_widgets:,} ({growth:+.1f}%)"
    )
    print(
        f"RSS after {args.warm_up} saves {warm_rss:.1f} MiB, after {args.saves} more "
        f"{end_rss:.1f} MiB ({(end_rss - warm_rss) / warm_rss * 100:+.1f}%)"
    )
    rows = [
        ("one writer", one, store_one, TARGETS["p99_one"]),
        ("two writers", two, store_two, TARGETS["p99_two"]),
    ]
    print(
        f"{'':12} {'click p50':>10} {'click p99':>10} {'store p50':>10} {'store p99':>10}"
        f" {'p50 ratio':>10} {'p99 ratio':>10}"
    )
    met = at_display <= TARGETS["widgets"]
    for name, clicks, store, p99_target in rows:
        c50, c99 = statistics.median(clicks), percentile(clicks, 99)
        s50, s99 = statistics.median(store), percentile(store, 99)
        print(
            f"{name:12} {c50:8.1f}ms {c99:8.1f}ms {s50:8.2f}ms {s99:8.2f}ms"
            f" {c50 / s50:9.1f}x {c99 / s99:9.1f}x"
        )
        ok = c99 <= p99_target and (name != "one writer" or c50 <= TARGETS["p50"])
        met = met and ok
    print(
        f"targets: click p50 <= {TARGETS['p50']:g} ms and p99 <= {TARGETS['p99_one']:g} ms (one "
        f"writer), p99 <= {TARGETS['p99_two']:g} ms (two): {'met' if met else 'MISSED'}"
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
