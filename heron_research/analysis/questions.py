"""Questions for the peer-review session, drawn from the data.

Each rule is a small function that looks at one table and returns a question or None;
:func:`closing_questions` runs them in order and always ends with the co-operative
question about continuing. Questions are plain text: the report escapes them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

from heron_research.analysis.daily import OWN_WORDS, month_label
from heron_research.analysis.progress import ACTIVE_STATUSES, short
from heron_research.analysis.rounding import fixed, percent, score
from heron_research.vocab import emotions as emotion_vocabulary

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CONTINUATION_QUESTION",
    "Evidence",
    "agenda_question",
    "closing_questions",
    "decision_question",
    "hypothesis_question",
    "intervention_question",
    "measure_question",
    "rising_emotion",
    "technique_question",
]

CONTINUATION_QUESTION = (
    "Continue, change, pause or end? What does each of us think, and what do we decide together?"
)
#: a month must have at least this many episodes, and this many more than the month
#: before, for a rise to be worth a question
MIN_EPISODES_IN_MONTH = 3
MIN_RISE = 2


@dataclass(frozen=True)
class Evidence:
    """The tables the questions are drawn from (any may be empty)."""

    family_context: pd.DataFrame | None = None  # daily.family_by_context_month
    effects: pd.DataFrame | None = None  # practice.technique_effects
    hypotheses: pd.DataFrame | None = None  # progress.hypotheses
    measures: pd.DataFrame | None = None  # progress.checkin_summary
    decisions: pd.DataFrame | None = None  # progress.decision_share
    agreement: tuple[float | None, int] = (None, 0)  # progress.intervention_agreement
    open_items: pd.DataFrame | None = None  # progress.agenda()[1]
    extra: tuple[str, ...] = field(default=())


@cache
def _valence() -> dict[str, str]:
    return {e.family: e.valence for e in emotion_vocabulary().values()}


def rising_emotion(evidence: Evidence, *, pleasant: bool = False) -> str | None:
    """The largest month-on-month rise of an (un)pleasant family of emotion in a context
    ("at work", "at home"...); over all episodes only when no context shows a rise."""
    table = evidence.family_context
    if table is None or table.empty:
        return None
    valence = _valence()
    wanted = "pleasant" if pleasant else "unpleasant"
    # (specific context?, rise, family, context, period, episodes the month before)
    best: tuple[bool, int, str, str, pd.Period, int] | None = None
    for (family, context), group in table.groupby(["family", "context"], sort=True):
        if family == OWN_WORDS or valence.get(str(family)) != wanted:
            continue
        series = group.set_index("period")["episodes"].sort_index()
        full = series.reindex(_months(series.index.min(), series.index.max()), fill_value=0)
        for before, (period, now) in zip(full.iloc[:-1], full.iloc[1:].items(), strict=True):
            rise = int(now) - int(before)
            if now < MIN_EPISODES_IN_MONTH or rise < MIN_RISE:
                continue
            candidate = (bool(context), rise, str(family), str(context), period, int(before))
            if best is None or candidate[:2] > best[:2]:
                best = candidate
    if best is None:
        return None
    _, rise, family, context, period, before = best
    where = f" {context}" if context else ""
    tail = "what made the difference?" if pleasant else "discuss?"
    return (
        f"{family.capitalize()}{where} rose in {month_label(period)} "
        f"(from {before} to {before + rise} episodes): {tail}"
    )


def _months(first: pd.Period, last: pd.Period) -> pd.PeriodIndex:
    import pandas as pd

    return pd.period_range(first, last, freq="M")


def technique_question(evidence: Evidence) -> str | None:
    """The technique that clearly eased feelings the most, or one that clearly did not."""
    effects = evidence.effects
    if effects is None or effects.empty:
        return None
    enough = effects[effects["enough"]]
    if enough.empty:
        return None
    helped = enough[enough["ci_low"].astype("float64") > 0]
    if not helped.empty:
        top = helped.sort_values("mean_drop", ascending=False).iloc[0]
        return (
            f"“{top['technique']}” eased feelings the most (by {fixed(top['mean_drop'])} points "
            "on average): use it more, or try it in new situations?"
        )
    worse = enough[enough["ci_high"].astype("float64") < 0]
    if not worse.empty:
        top = worse.sort_values("mean_drop").iloc[0]
        return f"Feelings were stronger after “{top['technique']}”: what is going on there?"
    return "No technique clearly eased feelings yet: which would you like to practise?"


def hypothesis_question(evidence: Evidence) -> str | None:
    """An active hypothesis with no evidence yet, or one whose confidence moved most."""
    table = evidence.hypotheses
    if table is None or table.empty:
        return None
    active = table[table["status"].isin(ACTIVE_STATUSES)]
    untested = active[(active["supports"] + active["contradicts"]) == 0]
    if not untested.empty:
        h = untested.iloc[0]
        return (
            f"{h['label']} (“{short(h['reaction'], 40)}”) has no evidence yet: how could you "
            "test it in daily life?"
        )
    moved = table.dropna(subset=["first_confidence", "latest_confidence"])
    if moved.empty:
        return None
    delta = (moved["latest_confidence"] - moved["first_confidence"]).astype("float64")
    i = delta.abs().idxmax()
    if abs(delta[i]) < 20:
        return None
    h = moved.loc[i]
    way = "grew" if delta[i] > 0 else "fell"
    return (
        f"Confidence in {h['label']} (“{short(h['reaction'], 40)}”) {way} from "
        f"{int(h['first_confidence'])} to {int(h['latest_confidence'])}: what does that tell you?"
    )


def measure_question(evidence: Evidence) -> str | None:
    """A reliable change in a standard measure since the first check-in."""
    table = evidence.measures
    if table is None or table.empty:
        return None
    for row in table.itertuples(index=False):
        if row.verdict == "reliable deterioration":
            return (
                f"Your {row.name} score rose reliably since the first check-in "
                f"({score(row.first)} to {score(row.latest)}): what has changed, and what support "
                "would help?"
            )
    for row in table.itertuples(index=False):
        if row.verdict == "reliable improvement":
            return (
                f"Your {row.name} score fell reliably since the first check-in "
                f"({score(row.first)} to {score(row.latest)}): what has helped?"
            )
    return None


def decision_question(evidence: Evidence) -> str | None:
    """How the client's say in decisions moved between the first and the latest month."""
    table = evidence.decisions
    if table is None or table.empty:
        return None
    periods = sorted(table["period"].unique())
    if len(periods) < 2:
        return None
    first = table[table["period"] == periods[0]].set_index("decided_by")["share"]
    last = table[table["period"] == periods[-1]].set_index("decided_by")["share"]
    if last["hierarchy"] - first["hierarchy"] >= 0.25:
        return (
            "More decisions were made by the practitioner lately "
            f"({percent(last['hierarchy'])} in {month_label(periods[-1])}): is that what you want?"
        )
    if last["autonomy"] - first["autonomy"] >= 0.25:
        return (
            f"You decided more on your own lately ({percent(last['autonomy'])} of decisions in "
            f"{month_label(periods[-1])}): what would you like to decide next?"
        )
    return None


def intervention_question(evidence: Evidence) -> str | None:
    """Interventions often perceived differently from how they were intended."""
    agreement, n = evidence.agreement
    if agreement is None or n < 4 or agreement >= 0.5:
        return None
    same = round(agreement * n)
    return (
        f"Only {same} of {n} interventions were perceived as intended: "
        "talk through the ones that landed differently?"
    )


def agenda_question(evidence: Evidence) -> str | None:
    """Items from earlier reviews still open."""
    items = evidence.open_items
    if items is None or items.empty:
        return None
    n = len(items)
    what = "item from an earlier review is" if n == 1 else "items from earlier reviews are"
    return f"{n} {what} still open: settle or drop?"


RULES: tuple[Callable[[Evidence], str | None], ...] = (
    agenda_question,
    rising_emotion,
    lambda e: rising_emotion(e, pleasant=True),
    technique_question,
    hypothesis_question,
    measure_question,
    decision_question,
    intervention_question,
)


def closing_questions(evidence: Evidence) -> list[str]:
    """Questions for the session, most specific first, ending with the continuation one."""
    questions = [q for rule in RULES if (q := rule(evidence))]
    questions.extend(evidence.extra)
    questions.append(CONTINUATION_QUESTION)
    return questions
