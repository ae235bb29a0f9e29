"""Cohort analysis: pure functions over the research dataset's tables (pandas in, pandas out).

The dataset has no calendar dates: each participant's timeline is a day index since their
first record (day 0). Programme time here is the **programme week**, ``day // 7 + 1``
(week 1 is days 0-6), and trajectories group weeks into blocks of ``block_weeks`` (weeks
1-4, 5-8, ...).

Participants, not entries, are the unit of every interval: entries from one person are not
independent, so a participant's entries are first summarised into one value per participant
(per block, per technique), and the 95% interval is Student's t over those participant
values (:func:`mean_interval`). Fewer than :data:`MIN_PARTICIPANTS` participants: no
interval, "too few data". Rates (reliable change) carry a Wilson score interval (Wilson
1927, *JASA* 22:209-212).

Compliance follows the CREMAS checklist for ecological momentary assessment studies (Liao
et al. 2016, *J Med Internet Res* 18(6):e151): entries per participant per programme week,
over every week of each participant's observed span (weeks with no entry count as 0).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from heron_research.analysis.stats import MIN_PAIRS, t_quantile
from heron_research.analysis.vocabulary import DECIDED_BY, HYPOTHESIS_STATUSES
from heron_research.records import record_type
from heron_research.records.scoring import INSTRUMENTS, reliable_change
from heron_research.research.tables import COUNTED, table

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DECIDED_BY",
    "HYPOTHESIS_STATUSES",
    "MIN_PARTICIPANTS",
    "Compliance",
    "MeanInterval",
    "autonomy_share",
    "compliance",
    "family_summary",
    "hypothesis_outcomes",
    "intensity_trajectory",
    "mean_interval",
    "programme_week",
    "reliable_change_rates",
    "technique_effects",
    "volume",
    "wilson_interval",
]

#: fewer participants than this: "too few data", no interval
MIN_PARTICIPANTS = MIN_PAIRS
Z95 = 1.959963984540054


# --- small statistics ------------------------------------------------------------------------


@dataclass(frozen=True)
class MeanInterval:
    """The mean of ``n`` values with its 95% t interval (``low``/``high`` None when there
    are too few values; ``mean`` None when there are none)."""

    n: int
    mean: float | None
    low: float | None
    high: float | None


def mean_interval(values: Iterable[float], minimum: int = 2) -> MeanInterval:
    """Mean and 95% t interval of ``values`` (NaN and None skipped). With fewer than
    ``minimum`` values the interval is None (the mean is still given when n >= 1)."""
    xs = [float(v) for v in values if v is not None and v == v]
    n = len(xs)
    if n == 0:
        return MeanInterval(0, None, None, None)
    mean = sum(xs) / n
    if n < max(2, minimum):
        return MeanInterval(n, mean, None, None)
    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1))
    half = t_quantile(0.975, n - 1) * sd / math.sqrt(n)
    return MeanInterval(n, mean, mean - half, mean + half)


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float] | tuple[None, None]:
    """Wilson score interval for ``k`` successes in ``n`` trials ((None, None) if n = 0)."""
    if n <= 0:
        return None, None
    p = k / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    low = 0.0 if k == 0 else max(0.0, centre - half)  # exact at the ends, not 5e-17
    high = 1.0 if k == n else min(1.0, centre + half)
    return low, high


def _quartiles(values: Any) -> tuple[float | None, float | None, float | None]:
    """(25th, 50th, 75th) percentiles, linear interpolation (pandas' default)."""
    import pandas as pd

    series = pd.Series(values, dtype="float64").dropna()
    if series.empty:
        return None, None, None
    q = series.quantile([0.25, 0.5, 0.75]).tolist()
    return float(q[0]), float(q[1]), float(q[2])


def programme_week(day: Any) -> Any:
    """Programme week of a day index (scalar or Series): day 0-6 is week 1."""
    return day // 7 + 1


def _block(week: Any, block_weeks: int) -> Any:
    """First week of the block a week falls in (weeks 1-4 -> 1, 5-8 -> 5 with blocks of 4)."""
    return (week - 1) // block_weeks * block_weeks + 1


def _ints(series: pd.Series) -> pd.Series:
    return series.astype("float64").astype("int64")


# --- participants and data volume ------------------------------------------------------------

#: participants' count column of each kind's table -> what it counts ("emotion episodes")
_VOLUME = tuple(
    (column, record_type(str(table(name).kind)).facts.plural) for name, column in COUNTED.items()
)


def volume(participants: pd.DataFrame) -> pd.DataFrame:
    """Data volume per kind of entry: ``entries`` (total), ``participants`` (with at least
    one), ``median``, ``q1``, ``q3`` per participant. The first row is the days observed."""
    import pandas as pd

    rows = []
    columns = [("days_observed", "days observed"), *_VOLUME]
    for column, name in columns:
        values = participants[column].astype("float64") if column in participants else []
        q1, median, q3 = _quartiles(values)
        rows.append(
            {
                "what": name,
                "entries": int(sum(values)) if len(values) else 0,
                "participants": int((pd.Series(values) > 0).sum()) if len(values) else 0,
                "median": median,
                "q1": q1,
                "q3": q3,
            }
        )
    return pd.DataFrame(rows, columns=["what", "entries", "participants", "median", "q1", "q3"])


# --- compliance ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Compliance:
    """Entries per participant per programme week (see :func:`compliance`)."""

    weeks: pd.DataFrame  # participant_id, week, entries: every observed participant-week
    per_participant: pd.DataFrame  # participant_id, weeks, entries, per_week, share_active
    distribution: pd.DataFrame  # entries (0 .. cap, the last is "cap or more"), weeks, share
    median: float | None  # entries per participant-week
    q1: float | None
    q3: float | None
    share_active: float | None  # share of participant-weeks with at least one entry
    cap: int

    @property
    def participant_weeks(self) -> int:
        return len(self.weeks)


def compliance(participants: pd.DataFrame, entries: pd.DataFrame, cap: int = 7) -> Compliance:
    """CREMAS-style compliance: entries (rows of ``entries``, which needs ``participant_id``
    and ``day``) per participant per programme week.

    Each participant is observed for ``ceil(days_observed / 7)`` weeks (weeks with no entry
    count 0). ``distribution`` counts participant-weeks by their number of entries, the last
    bin holding ``cap`` or more.
    """
    import pandas as pd

    frames = []
    for row in participants[["participant_id", "days_observed"]].itertuples(index=False):
        n_weeks = max(1, math.ceil(int(row.days_observed) / 7))
        frames.append(
            pd.DataFrame({"participant_id": str(row.participant_id), "week": range(1, n_weeks + 1)})
        )
    grid = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame({"participant_id": pd.Series([], dtype=str), "week": []})
    )
    grid["week"] = grid["week"].astype("int64")
    if entries.empty:
        counts = pd.DataFrame({"participant_id": [], "week": [], "entries": []})
    else:
        counts = (
            pd.DataFrame(
                {
                    "participant_id": entries["participant_id"].astype(str),
                    "week": _ints(programme_week(entries["day"].astype("float64"))),
                }
            )
            .groupby(["participant_id", "week"])
            .size()
            .rename("entries")
            .reset_index()
        )
    counts = counts.astype({"participant_id": str, "week": "int64", "entries": "int64"})
    weeks = grid.merge(counts, on=["participant_id", "week"], how="left")
    weeks["entries"] = weeks["entries"].fillna(0).astype("int64")
    weeks = weeks.sort_values(["participant_id", "week"], ignore_index=True)

    per = (
        weeks.groupby("participant_id", sort=True)
        .agg(
            weeks=("week", "size"),
            entries=("entries", "sum"),
            active=("entries", lambda s: int((s > 0).sum())),
        )
        .reset_index()
    )
    per["per_week"] = per["entries"] / per["weeks"]
    per["share_active"] = per["active"] / per["weeks"]
    per = per.drop(columns="active")

    binned = weeks["entries"].clip(upper=cap)
    dist = pd.DataFrame({"entries": range(cap + 1)})
    dist["weeks"] = [int((binned == i).sum()) for i in range(cap + 1)]
    total = len(weeks)
    dist["share"] = dist["weeks"] / total if total else 0.0
    q1, median, q3 = _quartiles(weeks["entries"])
    share = float((weeks["entries"] > 0).mean()) if total else None
    return Compliance(weeks, per, dist, median, q1, q3, share, cap)


# --- emotions --------------------------------------------------------------------------------


def _with_days(emotions: pd.DataFrame, episodes: pd.DataFrame) -> pd.DataFrame:
    days = episodes[["participant_id", "episode_id", "day"]]
    out = emotions.merge(days, on=["participant_id", "episode_id"], how="inner")
    out["participant_id"] = out["participant_id"].astype(str)
    out["intensity"] = out["intensity"].astype("float64")
    out["family"] = out["family"].astype(object).where(out["family"].notna(), "own words")
    out["family"] = out["family"].astype(str)
    return out


def family_summary(emotions: pd.DataFrame) -> pd.DataFrame:
    """Families of emotion: ``family``, ``mentions``, ``share`` of all mentions,
    ``participants`` naming it, and the mean intensity over participants (each
    participant's mean first) with its 95% interval (``mean``, ``ci_low``, ``ci_high``).
    Emotions in participants' own words (no family) are ``own words``. Most mentioned first."""
    import pandas as pd

    columns = ["family", "mentions", "share", "participants", "mean", "ci_low", "ci_high"]
    if emotions.empty:
        return pd.DataFrame({c: [] for c in columns})
    frame = emotions.assign(
        participant_id=emotions["participant_id"].astype(str),
        intensity=emotions["intensity"].astype("float64"),
        family=emotions["family"].astype(object).where(emotions["family"].notna(), "own words"),
    )
    total = len(frame)
    rows = []
    for family, group in frame.groupby("family", sort=True):
        per = group.groupby("participant_id")["intensity"].mean()
        est = mean_interval(per, MIN_PARTICIPANTS)
        rows.append(
            (str(family), len(group), len(group) / total, est.n, est.mean, est.low, est.high)
        )
    out = pd.DataFrame(rows, columns=columns)
    return out.sort_values(["mentions", "family"], ascending=[False, True], ignore_index=True)


def intensity_trajectory(
    emotions: pd.DataFrame,
    episodes: pd.DataFrame,
    *,
    block_weeks: int = 4,
    families: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Mean emotion intensity over programme time, overall (``series`` "all emotions") and
    for each family in ``families`` (default: every family).

    For each block of ``block_weeks`` programme weeks, each participant's mean intensity in
    the block is one value; ``mean`` is their mean over ``participants`` and ``ci_low`` /
    ``ci_high`` its 95% t interval (None with fewer than :data:`MIN_PARTICIPANTS`).
    Columns: ``series``, ``week`` (first week of the block), ``last_week``, ``mentions``,
    ``participants``, ``mean``, ``ci_low``, ``ci_high``.
    """
    import pandas as pd

    columns = [
        "series",
        "week",
        "last_week",
        "mentions",
        "participants",
        "mean",
        "ci_low",
        "ci_high",
    ]
    if emotions.empty or episodes.empty:
        return pd.DataFrame({c: [] for c in columns})
    frame = _with_days(emotions, episodes)
    frame["week"] = _block(_ints(programme_week(frame["day"].astype("float64"))), block_weeks)
    chosen = sorted(set(frame["family"])) if families is None else list(families)
    rows = []
    for series, subset in [("all emotions", frame)] + [
        (f, frame[frame["family"] == f]) for f in chosen
    ]:
        for week, group in subset.groupby("week", sort=True):
            per = group.groupby("participant_id")["intensity"].mean()
            est = mean_interval(per, MIN_PARTICIPANTS)
            rows.append(
                (
                    series,
                    int(week),
                    int(week) + block_weeks - 1,
                    len(group),
                    est.n,
                    est.mean,
                    est.low,
                    est.high,
                )
            )
    return pd.DataFrame(rows, columns=columns)


# --- self-management -------------------------------------------------------------------------


def technique_effects(
    self_management: pd.DataFrame, *, by: str = "technique", minimum: int = MIN_PARTICIPANTS
) -> pd.DataFrame:
    """Intensity before minus after, per technique (``by="technique"``) or per skill
    (``by="skill"``), over participants.

    Each participant's mean drop over their uses is one value; ``mean_drop`` is the mean
    over ``n`` participants with a 95% t interval, given only when ``n >= minimum``
    (``enough``). ``uses`` counts the ratings behind it; ``mean_before``/``mean_after`` are
    means of the participants' means. Columns: ``technique`` (the technique, or the skill),
    ``skill``, ``uses``, ``n``, ``mean_before``, ``mean_after``, ``mean_drop``, ``ci_low``,
    ``ci_high``, ``enough``. Most participants first.
    """
    import pandas as pd

    if by not in ("technique", "skill"):
        raise ValueError("by must be 'technique' or 'skill'")
    columns = [
        "technique",
        "skill",
        "uses",
        "n",
        "mean_before",
        "mean_after",
        "mean_drop",
        "ci_low",
        "ci_high",
        "enough",
    ]
    rated = self_management.dropna(subset=["intensity_before", "intensity_after"])
    if rated.empty:
        return pd.DataFrame({c: [] for c in columns}).astype({"enough": bool})
    frame = pd.DataFrame(
        {
            "participant_id": rated["participant_id"].astype(str),
            "technique": rated[by].astype(str),
            "skill": rated["skill"].astype(str),
            "before": rated["intensity_before"].astype("float64"),
            "after": rated["intensity_after"].astype("float64"),
        }
    )
    frame["drop"] = frame["before"] - frame["after"]
    rows = []
    for name, group in frame.groupby("technique", sort=True):
        per = group.groupby("participant_id")[["before", "after", "drop"]].mean()
        est = mean_interval(per["drop"], minimum)
        enough = est.n >= minimum
        rows.append(
            (
                str(name),
                str(group["skill"].mode().iloc[0]),
                len(group),
                est.n,
                float(per["before"].mean()),
                float(per["after"].mean()),
                est.mean,
                est.low if enough else None,
                est.high if enough else None,
                enough,
            )
        )
    out = pd.DataFrame(rows, columns=columns)
    return out.sort_values(
        ["n", "uses", "technique"], ascending=[False, False, True], ignore_index=True
    )


# --- hypotheses ------------------------------------------------------------------------------


def hypothesis_outcomes(hypotheses: pd.DataFrame) -> pd.DataFrame:
    """Hypotheses by current status (every status, in lifecycle order): ``status``,
    ``hypotheses``, ``share``, ``participants`` with at least one in that status."""
    import pandas as pd

    status = hypotheses["status"].astype(str) if not hypotheses.empty else pd.Series([], dtype=str)
    pids = hypotheses["participant_id"].astype(str) if not hypotheses.empty else status
    total = len(status)
    rows = []
    for name in HYPOTHESIS_STATUSES:
        mask = status == name
        n = int(mask.sum())
        rows.append((name, n, n / total if total else 0.0, int(pids[mask].nunique())))
    return pd.DataFrame(rows, columns=["status", "hypotheses", "share", "participants"])


# --- decisions -------------------------------------------------------------------------------


def autonomy_share(decisions: pd.DataFrame, *, block_weeks: int = 4) -> pd.DataFrame:
    """How focus decisions were made over programme time, per block of ``block_weeks``.

    Counts per way of deciding (``autonomy``, ``co-operation``, ``hierarchy``, ``decisions``)
    and the autonomy share over ``participants``: each participant's share of their decisions
    in the block made by autonomy is one value; ``mean`` with a 95% t interval (``ci_low``,
    ``ci_high``, clipped to 0-1; None with fewer than :data:`MIN_PARTICIPANTS`)."""
    import pandas as pd

    columns = [
        "week",
        "last_week",
        "decisions",
        *DECIDED_BY,
        "participants",
        "mean",
        "ci_low",
        "ci_high",
    ]
    if decisions.empty:
        return pd.DataFrame({c: [] for c in columns})
    frame = pd.DataFrame(
        {
            "participant_id": decisions["participant_id"].astype(str),
            "week": _block(_ints(programme_week(decisions["day"].astype("float64"))), block_weeks),
            "autonomous": (decisions["decided_by"].astype(str) == "autonomy").astype("float64"),
            "decided_by": decisions["decided_by"].astype(str),
        }
    )
    rows = []
    for week, group in frame.groupby("week", sort=True):
        per = group.groupby("participant_id")["autonomous"].mean()
        est = mean_interval(per, MIN_PARTICIPANTS)
        counts = group["decided_by"].value_counts()
        rows.append(
            (
                int(week),
                int(week) + block_weeks - 1,
                len(group),
                *(int(counts.get(name, 0)) for name in DECIDED_BY),
                est.n,
                est.mean,
                None if est.low is None else max(0.0, est.low),  # a share stays in [0, 1]
                None if est.high is None else min(1.0, est.high),
            )
        )
    return pd.DataFrame(rows, columns=columns)


# --- check-ins -------------------------------------------------------------------------------


def reliable_change_rates(check_ins: pd.DataFrame) -> pd.DataFrame:
    """Reliable improvement and deterioration from each participant's first to latest score,
    per instrument with published figures (PHQ-9, GAD-7), by
    :func:`heron_research.records.scoring.reliable_change` (Jacobson and Truax).

    Only participants with at least two check-ins of the instrument count (``participants``).
    Columns: ``instrument``, ``name``, ``participants``, ``improved``, ``deteriorated``,
    ``unchanged``, and for improvement and deterioration the rate and its Wilson 95%
    interval (``improved_rate``, ``improved_low``, ``improved_high``, ``deteriorated_rate``,
    ...).
    """
    import pandas as pd

    columns = [
        "instrument",
        "name",
        "participants",
        "improved",
        "deteriorated",
        "unchanged",
        "improved_rate",
        "improved_low",
        "improved_high",
        "deteriorated_rate",
        "deteriorated_low",
        "deteriorated_high",
    ]
    rows = []
    for key, spec in INSTRUMENTS.items():
        if spec.reliable_change_points is None:
            continue
        mine = (
            check_ins[check_ins["instrument"].astype(str) == key] if not check_ins.empty else None
        )
        verdicts: list[str] = []
        if mine is not None and not mine.empty:
            ordered = mine.assign(
                participant_id=mine["participant_id"].astype(str),
                day_=mine["day"].astype("float64"),
                score_=mine["score"].astype("float64"),
            ).sort_values(["participant_id", "day_", "check_in_id"], kind="stable")
            for _, group in ordered.groupby("participant_id", sort=True):
                if len(group) < 2:
                    continue
                first, latest = float(group["score_"].iloc[0]), float(group["score_"].iloc[-1])
                verdicts.append(str(reliable_change(key, first, latest).verdict))
        n = len(verdicts)
        improved = verdicts.count("reliable improvement")
        deteriorated = verdicts.count("reliable deterioration")
        rates: list[float | None] = []
        for k in (improved, deteriorated):
            low, high = wilson_interval(k, n)
            rates += [k / n if n else None, low, high]
        rows.append(
            (key, spec.name, n, improved, deteriorated, n - improved - deteriorated, *rates)
        )
    return pd.DataFrame(rows, columns=columns)
