"""A research batch's progress for a person: what :func:`~heron_research.research.run_batch`
reports through its callbacks, shown on a stream the caller gives (the CLI's stderr).

The whole run is shown, step by step: the cluster starting, the inputs (counts and an
estimate of the time left) and the dataset's files being written. On a terminal each step is
one line redrawn in place; elsewhere (a log file, a pipe, CI) plain lines are written when a
step starts and ends, and every few seconds in between, so a log shows the batch is alive.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

from heron_research.research.batch import BatchProgress, BatchStage

__all__ = ["PLAIN_EVERY_S", "ProgressPrinter"]

#: seconds between plain progress lines when the stream is not a terminal
PLAIN_EVERY_S = 5.0


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


@dataclass
class ProgressPrinter:
    """Writes a batch's progress to ``stream``; pass :meth:`stage` and :meth:`progress` as
    ``run_batch``'s ``on_stage`` and ``on_progress``, and call :meth:`close` at the end."""

    stream: TextIO
    tty: bool = False
    every: float = PLAIN_EVERY_S
    clock: Callable[[], float] = time.monotonic
    _step: str = field(init=False, default="")
    _started: float = field(init=False, default=0.0)
    _last_line: float = field(init=False, default=0.0)
    _open_line: bool = field(init=False, default=False)

    def _begin(self, step: str) -> None:
        if self._step != step:
            self._end_line()
            self._step = step
            self._started = self._last_line = self.clock()

    def _show(self, text: str, *, final: bool = False, first: bool = False) -> None:
        now = self.clock()
        if self.tty:
            self.stream.write(f"\r\x1b[K{text}")
            self._open_line = True
            if final:
                self._end_line()
        elif first or final or now - self._last_line >= self.every:
            self.stream.write(text + "\n")
            self._last_line = now
        self.stream.flush()

    def _end_line(self) -> None:
        if self._open_line:
            self.stream.write("\n")
            self._open_line = False

    def stage(self, s: BatchStage) -> None:
        """A step around the per-input work: the cluster, the dataset's files."""
        first = self._step != s.stage
        self._begin(s.stage)
        took = self.clock() - self._started
        if s.stage == "cluster":
            if s.done < s.total:
                self._show(f"Cluster: starting ({s.total} worker(s))...", first=True)
            else:
                self._show(f"Cluster: ready in {took:.1f} s", final=True)
        elif s.stage == "write":
            done = s.done >= s.total
            text = f"Writing the dataset: {s.done}/{s.total} files"
            self._show(text + (f" in {took:.1f} s" if done else ""), first=first, final=done)

    def progress(self, p: BatchProgress) -> None:
        """One more input read (included, excluded or erred)."""
        first = self._step != "inputs"
        self._begin("inputs")
        took = self.clock() - self._started
        share = p.done / p.total if p.total else 1.0
        text = (
            f"Inputs: {p.done:,}/{p.total:,} ({share:.0%}); included {p.included:,}, "
            f"excluded {p.excluded:,}, erred {p.erred:,}"
        )
        if p.done >= p.total:
            self._show(f"{text}; {took:.1f} s", final=True)
            return
        left = took / p.done * (p.total - p.done) if p.done else 0.0
        self._show(f"{text}; about {_duration(left)} left", first=first)

    def close(self) -> None:
        """End a line left open on a terminal (after an error, say)."""
        self._end_line()
        self.stream.flush()
