"""Figures the reliability tier measures, and the scale it measures them at.

Every reliability test runs the same code at two scales: ``test`` (the default, small
enough for ``make test`` in CI) and ``full`` (what ``benchmarks/reliability.py`` asks for:
1,000 kills, 4 x 5,000 saves, 500 workbooks, ...). Tests pick their sizes with
``scale.pick(test=..., full=...)`` and report what they measured with
``figures.record(case, label, value)``.

When ``HERON_RELIABILITY_FIGURES`` names a file, each figure is appended to it as one JSON
line as soon as it is recorded; ``benchmarks/reliability.py`` reads that file and prints the
table. Without it, figures are only kept in memory (and shown with ``pytest -s``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["FIGURES_ENV", "SCALE_ENV", "Figure", "Figures", "Scale"]

SCALE_ENV = "HERON_RELIABILITY_SCALE"
FIGURES_ENV = "HERON_RELIABILITY_FIGURES"

T = TypeVar("T")


@dataclass(frozen=True)
class Scale:
    """``test`` (the default) or ``full``."""

    name: str = "test"

    @classmethod
    def from_env(cls) -> Scale:
        name = os.environ.get(SCALE_ENV, "test").strip() or "test"
        if name not in ("test", "full"):
            raise ValueError(f"{SCALE_ENV} must be 'test' or 'full', not {name!r}")
        return cls(name)

    @property
    def full(self) -> bool:
        return self.name == "full"

    def pick(self, *, test: T, full: T) -> T:
        return full if self.full else test


@dataclass(frozen=True)
class Figure:
    case: int
    label: str
    value: Any
    #: a figure the promise says must be zero (lost saves, crashes, leaks, ...)
    must_be_zero: bool = False
    note: str = ""


@dataclass
class Figures:
    """Collects figures; appends each to ``path`` (JSON lines) when one is given."""

    path: Path | None = None
    scale: Scale = field(default_factory=Scale)
    recorded: list[Figure] = field(default_factory=list)

    @classmethod
    def from_env(cls) -> Figures:
        target = os.environ.get(FIGURES_ENV)
        return cls(Path(target) if target else None, Scale.from_env())

    def record(
        self, case: int, label: str, value: Any, *, must_be_zero: bool = False, note: str = ""
    ) -> None:
        """Record one figure of issue 6's case ``case`` (1-9)."""
        figure = Figure(case, label, value, must_be_zero, note)
        self.recorded.append(figure)
        print(f"[case {case}] {label}: {value}" + (f" ({note})" if note else ""))
        if self.path is not None:
            line = json.dumps(
                {
                    "case": case,
                    "label": label,
                    "value": value,
                    "must_be_zero": must_be_zero,
                    "note": note,
                    "scale": self.scale.name,
                },
                default=str,
            )
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
