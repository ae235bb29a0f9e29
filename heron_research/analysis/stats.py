"""Small statistics for one person's data: paired change, a t interval, effect sizes in words.

No scipy: the only distribution needed is Student's t, and its quantile comes from the
regularised incomplete beta function (continued fraction, Lentz's method; Press et al.,
*Numerical Recipes*, 3rd ed., section 6.4) inverted by bisection. Tests check it against
published table values.

Effect sizes are Cohen's d_z for paired data (mean difference / SD of the differences;
Cohen 1988, *Statistical Power Analysis for the Behavioral Sciences*, 2nd ed., pp. 48-49),
put into words with Cohen's conventions: below 0.2 negligible, 0.2 small, 0.5 medium,
0.8 large.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from heron_research.analysis.rounding import fixed

__all__ = [
    "MIN_PAIRS",
    "PairedChange",
    "effect_words",
    "interval_words",
    "paired_change",
    "t_cdf",
    "t_quantile",
]

#: Fewer pairs than this and we say "too few data" instead of giving an interval.
MIN_PAIRS = 5


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 400):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def _regularised_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b), the regularised incomplete beta function."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_continued_fraction(a, b, x) / a
    return 1.0 - front * _beta_continued_fraction(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with ``df`` degrees of freedom."""
    if df <= 0:
        raise ValueError("degrees of freedom must be positive")
    tail = 0.5 * _regularised_beta(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t with ``df`` degrees of freedom (0 < p < 1)."""
    if not 0.0 < p < 1.0:
        raise ValueError("p must be between 0 and 1")
    if df <= 0:
        raise ValueError("degrees of freedom must be positive")
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    low, high = 0.0, 1.0
    while t_cdf(high, df) < p:
        low, high = high, high * 2.0
    for _ in range(200):
        mid = (low + high) / 2.0
        if t_cdf(mid, df) < p:
            low = mid
        else:
            high = mid
        if high - low < 1e-12 * max(1.0, high):
            break
    return (low + high) / 2.0


def effect_words(d: float | None) -> str:
    """Cohen's conventions in words for the size of a standardised effect."""
    if d is None or math.isnan(d):
        return "not measurable"
    size = abs(d)
    if size < 0.2:
        return "negligible"
    if size < 0.5:
        return "small"
    if size < 0.8:
        return "medium"
    return "large"


@dataclass(frozen=True)
class PairedChange:
    """Before-minus-after change over ``n`` pairs (positive: intensity went down)."""

    n: int
    mean_before: float | None
    mean_after: float | None
    mean_drop: float | None
    sd_drop: float | None
    d_z: float | None  # Cohen's d_z; None when too few pairs or no spread
    ci_low: float | None  # 95% interval of the mean drop (t distribution)
    ci_high: float | None

    @property
    def enough(self) -> bool:
        """Whether there are enough pairs for an interval (see :data:`MIN_PAIRS`)."""
        return self.n >= MIN_PAIRS

    @property
    def size(self) -> str:
        """The effect size in words ("large", "too few data", ...)."""
        if not self.enough:
            return "too few data"
        if self.d_z is None:
            return "the same change every time" if self.mean_drop else "no change"
        return effect_words(self.d_z)

    def brief(self) -> str:
        """The change in a few words for a table, e.g. "fell 2.8 (1.4 to 4.2): large"."""
        if self.n == 0:
            return "no ratings"
        if not self.enough:
            return f"too few ratings to say ({MIN_PAIRS} needed)"
        assert self.mean_drop is not None
        way = "fell" if self.mean_drop > 0 else "rose" if self.mean_drop < 0 else "no change"
        amount = f" by {fixed(abs(self.mean_drop))}" if self.mean_drop else ""
        if self.d_z is None:
            return f"{way}{amount} every time"
        assert self.ci_low is not None and self.ci_high is not None
        return (
            f"{way}{amount} (95% interval: {interval_words(self.ci_low, self.ci_high)}); "
            f"{self.size} effect"
        )

    def sentence(self) -> str:
        """One plain sentence about the change, saying when the data are too few."""
        if self.n == 0:
            return "No before-and-after ratings yet."
        assert self.mean_drop is not None
        times = "once" if self.n == 1 else f"{self.n} times"
        if not self.enough:
            return (
                f"Rated {times}: too few to say how well it works "
                f"({MIN_PAIRS} or more ratings needed)."
            )
        if self.mean_drop > 0:
            change = f"intensity fell by {fixed(self.mean_drop)} points on average"
        elif self.mean_drop < 0:
            change = f"intensity rose by {fixed(-self.mean_drop)} points on average"
        else:
            change = "intensity stayed the same on average"
        if self.d_z is None:
            return f"Rated {times}: {change}, the same every time."
        assert self.ci_low is not None and self.ci_high is not None
        interval = interval_words(self.ci_low, self.ci_high)
        return f"Rated {times}: {change} (95% interval: {interval}); a {self.size} effect."


def interval_words(low: float, high: float) -> str:
    """A 95% interval of a drop in intensity, in words."""
    if low > 0:
        return f"a fall of {fixed(low)} to {fixed(high)} points"
    if high < 0:
        return f"a rise of {fixed(-high)} to {fixed(-low)} points"
    return f"from a rise of {fixed(-low)} to a fall of {fixed(high)} points, so no clear change"


def paired_change(before: Sequence[float], after: Sequence[float]) -> PairedChange:
    """Summarise paired before/after ratings: mean drop, its 95% t interval and d_z."""
    pairs = [
        (float(b), float(a))
        for b, a in zip(before, after, strict=True)
        if b is not None and a is not None and not (math.isnan(b) or math.isnan(a))
    ]
    n = len(pairs)
    if n == 0:
        return PairedChange(0, None, None, None, None, None, None, None)
    drops = [b - a for b, a in pairs]
    mean_before = sum(b for b, _ in pairs) / n
    mean_after = sum(a for _, a in pairs) / n
    mean_drop = sum(drops) / n
    if n < 2:
        return PairedChange(n, mean_before, mean_after, mean_drop, None, None, None, None)
    sd = math.sqrt(sum((x - mean_drop) ** 2 for x in drops) / (n - 1))
    if n < MIN_PAIRS:
        return PairedChange(n, mean_before, mean_after, mean_drop, sd, None, None, None)
    half = t_quantile(0.975, n - 1) * sd / math.sqrt(n)
    d_z = mean_drop / sd if sd > 0 else None
    return PairedChange(
        n, mean_before, mean_after, mean_drop, sd, d_z, mean_drop - half, mean_drop + half
    )
