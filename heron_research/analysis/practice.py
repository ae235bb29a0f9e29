"""Self-management and peer support: which skills were used, what seemed to help.

Input frames are ``emotion_episode.self_management`` (one row per technique used, with the
intensity before and after) and ``co_counselling_session``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from heron_research.analysis.stats import paired_change
from heron_research.vocab import SKILLS

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CoCounselling",
    "co_counselling",
    "skills_used",
    "technique_effects",
    "what_works",
]

_EFFECT_COLUMNS = [
    "technique",
    "skill",
    "n",
    "mean_before",
    "mean_after",
    "mean_drop",
    "ci_low",
    "ci_high",
    "d_z",
    "enough",
    "size",
    "brief",
    "sentence",
]


def skills_used(self_management: pd.DataFrame) -> pd.DataFrame:
    """How often each skill and technique was used: ``skill``, ``technique``, ``uses``.

    Skills in Heron's order (expression, control, catharsis, transmutation); within a
    skill, the techniques used most first.
    """
    import pandas as pd

    if self_management.empty:
        return pd.DataFrame({"skill": [], "technique": [], "uses": []}).astype({"uses": "int64"})
    table = pd.DataFrame(
        {
            "skill": self_management["skill"].astype("string").fillna("unknown"),
            "technique": self_management["technique"].astype("string"),
        }
    )
    out = table.groupby(["skill", "technique"]).size().rename("uses").reset_index()
    out["_skill"] = out["skill"].map(lambda s: SKILLS.index(s) if s in SKILLS else len(SKILLS))
    out = out.sort_values(["_skill", "uses", "technique"], ascending=[True, False, True])
    return (
        out.drop(columns="_skill")
        .reset_index(drop=True)
        .astype({"skill": "object", "technique": "object", "uses": "int64"})
    )


def technique_effects(self_management: pd.DataFrame) -> pd.DataFrame:
    """Intensity before vs after, per technique, with a 95% interval and effect size.

    One row per technique: ``n`` pairs, means before and after, ``mean_drop`` (before -
    after: positive means the feeling eased), ``ci_low``/``ci_high`` (95% t interval of the
    mean drop), ``d_z`` (Cohen's d for paired data), ``enough`` (n >= MIN_PAIRS), ``size``
    in words, and for the reader a ``brief`` phrase (tables) and a whole ``sentence``.
    Techniques with enough data come first, largest drop first.
    """
    import pandas as pd

    if self_management.empty:
        return pd.DataFrame({c: [] for c in _EFFECT_COLUMNS})
    rows = []
    groups = self_management.groupby(["technique", "skill"], observed=True, dropna=False)
    for (technique, skill), group in groups:
        change = paired_change(
            group["intensity_before"].astype("float64").tolist(),
            group["intensity_after"].astype("float64").tolist(),
        )
        rows.append(
            {
                "technique": str(technique),
                "skill": "" if pd.isna(skill) else str(skill),
                "n": change.n,
                "mean_before": change.mean_before,
                "mean_after": change.mean_after,
                "mean_drop": change.mean_drop,
                "ci_low": change.ci_low,
                "ci_high": change.ci_high,
                "d_z": change.d_z,
                "enough": change.enough,
                "size": change.size,
                "brief": change.brief(),
                "sentence": change.sentence(),
            }
        )
    out = pd.DataFrame(rows, columns=_EFFECT_COLUMNS)
    out["_rank"] = out["mean_drop"].fillna(float("-inf"))
    out = out.sort_values(["enough", "_rank", "n"], ascending=[False, False, False])
    return out.drop(columns="_rank").reset_index(drop=True)


def what_works(self_management: pd.DataFrame) -> pd.DataFrame:
    """Techniques ranked by how much they eased the feeling, only those with enough data
    and a 95% interval entirely above zero (a clear easing). Largest effect first."""
    effects = technique_effects(self_management)
    if effects.empty:
        return effects
    clear = effects[effects["enough"] & (effects["ci_low"].astype("float64") > 0)].copy()
    clear["_d"] = clear["d_z"].astype("float64").fillna(float("inf"))
    clear = clear.sort_values(["_d", "mean_drop"], ascending=[False, False])
    return clear.drop(columns="_d").reset_index(drop=True)


@dataclass(frozen=True)
class CoCounselling:
    """Co-counselling so far."""

    sessions: int
    peers: int
    minutes_as_client: int
    minutes_as_counsellor: int
    first: pd.Timestamp | None
    last: pd.Timestamp | None
    by_contract: dict[str, int]

    @property
    def balance(self) -> str:
        """Whether time was shared equally, in words."""
        if self.sessions == 0:
            return "no sessions yet"
        diff = self.minutes_as_client - self.minutes_as_counsellor
        if abs(diff) <= max(10, 0.1 * max(self.minutes_as_client, self.minutes_as_counsellor)):
            return "time was shared about equally"
        more = "as client" if diff > 0 else "as counsellor"
        return f"{abs(diff)} more minutes {more}"


def co_counselling(sessions: pd.DataFrame) -> CoCounselling:
    """Totals of the co-counselling session log."""
    if sessions.empty:
        return CoCounselling(0, 0, 0, 0, None, None, {})
    contracts = sessions["contract"].astype("string").value_counts()
    return CoCounselling(
        sessions=len(sessions),
        peers=int(sessions["peer_alias"].str.casefold().nunique()),
        minutes_as_client=int(sessions["minutes_as_client"].sum()),
        minutes_as_counsellor=int(sessions["minutes_as_counsellor"].sum()),
        first=sessions["held_on"].min(),
        last=sessions["held_on"].max(),
        by_contract={str(k): int(v) for k, v in contracts.items()},
    )
