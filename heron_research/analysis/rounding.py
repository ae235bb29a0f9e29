"""Numbers as the reports print them: one rounding rule, halves up (4.25 -> "4.3").

Python's ``format`` rounds a float's binary value half to even (``f"{4.25:.1f}"`` is
"4.2", ``f"{0.125:.0%}"`` style surprises too); a reader expects a half to go up. Every
number a report writes in words or tables goes through these helpers. Rounding is done in
decimal on the shortest repr of the float, so 2.675 (stored as 2.67499...) reads "2.68"
at two places, as it was written.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

__all__ = ["fixed", "percent", "score", "signed"]


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value != value


def _round(value: float, places: int) -> Decimal:
    step = Decimal(1).scaleb(-places)
    return Decimal(repr(float(value))).quantize(step, rounding=ROUND_HALF_UP)


def fixed(value: Any, places: int = 1) -> str:
    """``value`` with ``places`` decimals, halves up: ``fixed(4.25)`` -> "4.3"; "" if missing.
    Halves of negative numbers go away from zero (-4.25 -> "-4.3"), as a reader rounds."""
    if _missing(value):
        return ""
    text = f"{_round(value, places):f}"
    return "0" + text[2:] if text.startswith("-0") and not _round(value, places) else text


def percent(share: Any) -> str:
    """A share (0-1) as a whole percentage, halves up: ``percent(0.125)`` -> "13%"."""
    if _missing(share):
        return ""
    return f"{_round(float(share) * 100, 0):f}%"


def score(value: Any) -> str:
    """A score as it was scored: whole numbers without decimals ("12"), others with up to
    two ("7.5", "3.25"), halves up."""
    if _missing(value):
        return ""
    if float(value).is_integer():
        return str(int(value))
    return fixed(value, 2).rstrip("0").rstrip(".")


def signed(value: Any) -> str:
    """A change with its sign, as :func:`score`: "+3", "-6", "0", "+1.5"."""
    if _missing(value):
        return ""
    text = score(value)
    return text if text.startswith("-") or text == "0" else "+" + text
