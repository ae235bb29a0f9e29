"""Daily life: what the emotion episodes say, as small tables.

Every function takes the typed frames of :mod:`heron_research.workbook.frames` (episodes,
``emotion_episode.emotions``, ``emotion_episode.people``, people) and returns a small
DataFrame, ready for a chart or a table. None of them reads a workbook.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING

from heron_research.vocab import PARTS_OF_DAY, lookup_emotion, part_of_day

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CONTEXTS",
    "OWN_WORDS",
    "PARTS_OF_DAY",
    "WEEKDAYS",
    "by_person",
    "emotion_family",
    "emotions_by_family",
    "episodes_per_week",
    "family_by_context_month",
    "month_label",
    "person_names",
    "proportionality",
    "situation_words",
    "strongest_episodes",
    "tokens",
    "when_episodes_happen",
]

#: The family given to an emotion in the client's own words (not in the vocabulary).
OWN_WORDS = "own words"
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
#: Where an episode happened, from the relationship of the people involved.
CONTEXTS = {
    "colleague": "at work",
    "manager": "at work",
    "partner": "at home",
    "parent": "with family",
    "sibling": "with family",
    "child": "at home",
    "friend": "with friends",
    "practitioner": "with my practitioner",
    "other": "with others",
}
PRIVATE_PERSON = "someone kept private"

# Common English words that say nothing about a situation (a short, fixed list).
_STOPWORD_TEXT = """
    a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each
    even ever every few for from further get got had has have having he her here hers
    herself him himself his how i if in into is it its itself just last like me more most
    my myself no nor not now of off on once only or other our ours ourselves out over own
    really same she should so some still such than that the their theirs them themselves
    then there these they this those through to too under until up us very was we were
    what when where which while who whom why will with would yet you your yours yourself
    yourselves asked said told went came going made make one two lot bit much
    didn't don't i'm it's i've i'd wasn't couldn't wouldn't
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def month_label(period: pd.Period) -> str:
    """``Period('2025-03', 'M')`` -> ``"March 2025"``."""
    return period.strftime("%B %Y")


def emotion_family(term: str) -> str:
    """The vocabulary family of an emotion (``"own words"`` for the client's own terms)."""
    known = lookup_emotion(term)
    return known.family if known is not None else OWN_WORDS


def _intensity_band(value: int) -> str:
    if value <= 3:
        return "mild (0-3)"
    if value <= 6:
        return "moderate (4-6)"
    return "strong (7-10)"


INTENSITY_BANDS = ("mild (0-3)", "moderate (4-6)", "strong (7-10)")


def episodes_per_week(episodes: pd.DataFrame) -> pd.DataFrame:
    """Episodes in each week (Monday first, local time), weeks without any included.

    Columns: ``week`` (the Monday), ``episodes``, ``mean_peak`` (mean peak intensity).
    """
    import pandas as pd

    if episodes.empty:
        return pd.DataFrame(
            {
                "week": pd.Series([], dtype="datetime64[ns]"),
                "episodes": pd.Series([], dtype="int64"),
                "mean_peak": pd.Series([], dtype="float64"),
            }
        )
    day = episodes["occurred_at_local"].dt.normalize()
    week = day - pd.to_timedelta(day.dt.day_of_week, unit="D")
    peak = episodes["peak_intensity"].astype("float64")
    grouped = pd.DataFrame({"week": week, "peak": peak}).groupby("week")["peak"]
    out = pd.DataFrame({"episodes": grouped.size(), "mean_peak": grouped.mean()})
    weeks = pd.date_range(week.min(), week.max(), freq="7D")
    out = out.reindex(weeks).rename_axis("week").reset_index()
    out["episodes"] = out["episodes"].fillna(0).astype("int64")
    return out


def emotions_by_family(emotions: pd.DataFrame) -> pd.DataFrame:
    """How often each family of emotions was felt, and how strongly.

    Columns: ``family``, ``band`` (mild / moderate / strong), ``mentions``; ordered by the
    families felt most often. Use :func:`family_totals` for one row per family.
    """
    import pandas as pd

    if emotions.empty:
        return pd.DataFrame(
            {"family": pd.Series([], dtype="object"), "band": [], "mentions": []}
        ).astype({"mentions": "int64"})
    table = pd.DataFrame(
        {
            "family": [emotion_family(str(t)) for t in emotions["emotion"]],
            "band": [_intensity_band(int(v)) for v in emotions["intensity"]],
        }
    )
    counts = table.groupby(["family", "band"]).size().rename("mentions").reset_index()
    order = table["family"].value_counts()
    counts["_order"] = counts["family"].map(lambda f: -order[f])
    counts["_band"] = counts["band"].map(INTENSITY_BANDS.index)
    counts = counts.sort_values(["_order", "family", "_band"]).drop(columns=["_order", "_band"])
    return counts.reset_index(drop=True).astype({"mentions": "int64"})


def family_totals(emotions: pd.DataFrame) -> pd.DataFrame:
    """One row per family: ``family``, ``mentions``, ``mean_intensity``, most often first."""
    import pandas as pd

    if emotions.empty:
        return pd.DataFrame({"family": [], "mentions": [], "mean_intensity": []}).astype(
            {"mentions": "int64", "mean_intensity": "float64"}
        )
    table = pd.DataFrame(
        {
            "family": [emotion_family(str(t)) for t in emotions["emotion"]],
            "intensity": emotions["intensity"].astype("float64"),
        }
    )
    out = table.groupby("family")["intensity"].agg(mentions="size", mean_intensity="mean")
    out = out.reset_index().sort_values(["mentions", "family"], ascending=[False, True])
    return out.reset_index(drop=True).astype({"mentions": "int64"})


def episodes_per_family(emotions: pd.DataFrame) -> pd.DataFrame:
    """Episodes in which any word of each emotion family was rated: ``family``,
    ``episodes``, most first (an episode rating two words of one family counts once)."""
    import pandas as pd

    if emotions.empty:
        return pd.DataFrame({"family": [], "episodes": []}).astype({"episodes": "int64"})
    table = pd.DataFrame(
        {
            "family": [emotion_family(str(t)) for t in emotions["emotion"]],
            "episode": emotions["emotion_episode_id"].astype(str),
        }
    )
    out = table.groupby("family")["episode"].nunique().rename("episodes").reset_index()
    out = out.sort_values(["episodes", "family"], ascending=[False, True])
    return out.reset_index(drop=True).astype({"episodes": "int64"})


def episodes_per_word(emotions: pd.DataFrame) -> pd.DataFrame:
    """Episodes in which each emotion word was rated: ``emotion``, ``episodes``, most first."""
    import pandas as pd

    if emotions.empty:
        return pd.DataFrame({"emotion": [], "episodes": []}).astype({"episodes": "int64"})
    table = pd.DataFrame(
        {
            "emotion": emotions["emotion"].astype(str),
            "episode": emotions["emotion_episode_id"].astype(str),
        }
    )
    out = table.groupby("emotion")["episode"].nunique().rename("episodes").reset_index()
    out = out.sort_values(["episodes", "emotion"], ascending=[False, True])
    return out.reset_index(drop=True).astype({"episodes": "int64"})


def strongest_episodes(
    episodes: pd.DataFrame, emotions: pd.DataFrame, *, top: int = 5
) -> pd.DataFrame:
    """The episodes with the highest peak intensity (the latest first at a tie).

    Columns: ``when`` (local time), ``situation``, ``emotions`` ("anger 8, fear 4", strongest
    first), ``peak``, ``what_i_did``, and the client's own words: ``thoughts``,
    ``body_sensations``, ``notes`` ("" where none).
    """
    import pandas as pd

    columns = [
        "when",
        "situation",
        "emotions",
        "peak",
        "what_i_did",
        "thoughts",
        "body_sensations",
        "notes",
    ]
    if episodes.empty:
        return pd.DataFrame({c: [] for c in columns})
    chosen = episodes.sort_values(
        ["peak_intensity", "occurred_at"], ascending=[False, False], kind="stable"
    ).head(top)
    felt: dict[str, list[tuple[int, str]]] = {}
    for eid, term, value in zip(
        emotions["emotion_episode_id"], emotions["emotion"], emotions["intensity"], strict=True
    ):
        felt.setdefault(str(eid), []).append((int(value), str(term)))
    rows = [
        (
            e.occurred_at_local,
            str(e.situation),
            ", ".join(f"{t} {v}" for v, t in sorted(felt.get(str(e.id), []), key=lambda x: -x[0])),
            int(e.peak_intensity),
            "" if pd.isna(e.what_i_did) else str(e.what_i_did),
            "" if pd.isna(e.thoughts) else str(e.thoughts),
            "" if pd.isna(e.body_sensations) else str(e.body_sensations),
            "" if pd.isna(e.notes) else str(e.notes),
        )
        for e in chosen.itertuples(index=False)
    ]
    return pd.DataFrame(rows, columns=columns)


def person_names(people: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """person id -> (alias, relationship) from the people frame."""
    return {
        str(pid): (str(alias), str(rel))
        for pid, alias, rel in zip(
            people["id"], people["alias"], people["relationship"], strict=True
        )
    }


def by_person(
    episodes: pd.DataFrame,
    emotions: pd.DataFrame,
    links: pd.DataFrame,
    people: pd.DataFrame,
    *,
    top: int = 10,
) -> pd.DataFrame:
    """Episodes with each person: ``person``, ``relationship``, ``episodes``, ``mean_peak``,
    ``main_family`` (the family felt most often with them). Most episodes first.

    People whose entries the reader may not see are counted together as "someone kept
    private".
    """
    import pandas as pd

    columns = ["person", "relationship", "episodes", "mean_peak", "main_family"]
    if links.empty or episodes.empty:
        return pd.DataFrame({c: [] for c in columns}).astype({"episodes": "int64"})
    names = person_names(people)
    pairs = pd.DataFrame(
        {
            "episode": links["emotion_episode_id"].astype(str),
            "person": [names.get(str(p), (PRIVATE_PERSON, ""))[0] for p in links["person_id"]],
            "relationship": [names.get(str(p), ("", ""))[1] for p in links["person_id"]],
        }
    ).drop_duplicates()
    peak = pd.Series(
        episodes["peak_intensity"].astype("float64").to_numpy(), index=episodes["id"].astype(str)
    )
    pairs = pairs[pairs["episode"].isin(peak.index)]
    pairs["peak"] = pairs["episode"].map(peak)
    out = pairs.groupby(["person", "relationship"]).agg(
        episodes=("episode", "nunique"), mean_peak=("peak", "mean")
    )
    felt = pd.DataFrame(
        {
            "episode": emotions["emotion_episode_id"].astype(str),
            "family": [emotion_family(str(t)) for t in emotions["emotion"]],
        }
    ).drop_duplicates()
    joined = pairs[["episode", "person", "relationship"]].merge(felt, on="episode")
    main = (
        joined.groupby(["person", "relationship", "family"])
        .size()
        .rename("n")
        .reset_index()
        .sort_values(["n", "family"], ascending=[False, True])
        .drop_duplicates(["person", "relationship"])
        .set_index(["person", "relationship"])["family"]
    )
    out["main_family"] = main.reindex(out.index).fillna("")
    out = out.reset_index().sort_values(["episodes", "person"], ascending=[False, True])
    return out.head(top).reset_index(drop=True)[columns].astype({"episodes": "int64"})


def tokens(text: str) -> list[str]:
    """The words of a text worth counting: lower case, no stop words, three letters or more."""
    words = (w.casefold() for w in _WORD.findall(text))
    return [w for w in words if len(w) >= 3 and w not in _STOPWORDS]


def situation_words(
    episodes: pd.DataFrame, *, top: int = 12, min_episodes: int = 2
) -> pd.DataFrame:
    """Words that come up in situations: ``word``, ``episodes`` (how many situations use it).

    Only words in at least ``min_episodes`` situations are listed, most frequent first.
    """
    import pandas as pd

    counts: Counter[str] = Counter()
    for text in episodes["situation"].dropna():
        counts.update(set(tokens(str(text))))
    rows = [(w, n) for w, n in counts.items() if n >= min_episodes]
    rows.sort(key=lambda r: (-r[1], r[0]))
    return pd.DataFrame(rows[:top], columns=["word", "episodes"]).astype({"episodes": "int64"})


def when_episodes_happen(episodes: pd.DataFrame) -> pd.DataFrame:
    """Episodes by weekday and part of day (local time): ``weekday``, ``part``, ``episodes``.

    Every weekday and part of day is listed, with 0 where nothing happened.
    """
    import pandas as pd

    local = episodes["occurred_at_local"].dropna()
    counts = Counter((WEEKDAYS[int(t.weekday())], part_of_day(int(t.hour))) for t in local)
    rows = [
        (day, part, counts.get((day, part), 0)) for day in WEEKDAYS for part, _, _ in PARTS_OF_DAY
    ]
    return pd.DataFrame(rows, columns=["weekday", "part", "episodes"]).astype({"episodes": "int64"})


def proportionality(episodes: pd.DataFrame) -> pd.DataFrame:
    """How proportionate reactions felt, by month: ``month`` (label), ``start`` (its first
    day), ``rated``, ``mean``, ``far_too_strong`` (ratings 0-3). Unrated months left out."""
    import pandas as pd

    columns = ["month", "start", "rated", "mean", "far_too_strong"]
    rated = episodes.loc[
        episodes["proportionality"].notna(), ["occurred_at_local", "proportionality"]
    ]
    if rated.empty:
        return pd.DataFrame({c: [] for c in columns}).astype(
            {
                "start": "datetime64[ns]",
                "rated": "int64",
                "far_too_strong": "int64",
                "mean": "float64",
            }
        )
    month = rated["occurred_at_local"].dt.to_period("M")
    value = rated["proportionality"].astype("float64")
    table = pd.DataFrame({"period": month, "value": value, "low": value <= 3})
    out = table.groupby("period").agg(
        rated=("value", "size"), mean=("value", "mean"), far_too_strong=("low", "sum")
    )
    out = out.reset_index()
    out["month"] = [month_label(p) for p in out["period"]]
    out["start"] = out["period"].dt.to_timestamp()
    return out[columns].astype({"rated": "int64", "far_too_strong": "int64"})


def family_by_context_month(
    episodes: pd.DataFrame,
    emotions: pd.DataFrame,
    links: pd.DataFrame,
    people: pd.DataFrame,
) -> pd.DataFrame:
    """Episodes per month in which a family of emotion was felt in a context.

    Columns: ``period`` (a monthly ``Period``), ``family``, ``context`` ("at work", ...,
    or "" for all episodes), ``episodes``. An episode with people from two contexts counts
    in both; every episode counts once in the context "".
    """
    import pandas as pd

    columns = ["period", "family", "context", "episodes"]
    if episodes.empty:
        return pd.DataFrame({c: [] for c in columns}).astype({"episodes": "int64"})
    names = person_names(people)
    period = dict(zip(episodes["id"], episodes["occurred_at_local"].dt.to_period("M"), strict=True))
    contexts: dict[str, set[str]] = {str(e): {""} for e in episodes["id"]}
    for eid, pid in zip(links["emotion_episode_id"], links["person_id"], strict=True):
        if str(eid) in contexts and str(pid) in names:
            contexts[str(eid)].add(CONTEXTS.get(names[str(pid)][1], "with others"))
    seen: set[tuple[str, str, str]] = set()
    counts: Counter[tuple[pd.Period, str, str]] = Counter()
    for eid, term in zip(emotions["emotion_episode_id"], emotions["emotion"], strict=True):
        eid = str(eid)
        if eid not in period:
            continue
        family = emotion_family(str(term))
        for context in contexts[eid]:
            if (eid, family, context) in seen:
                continue
            seen.add((eid, family, context))
            counts[(period[eid], family, context)] += 1
    rows = [(p, f, c, n) for (p, f, c), n in counts.items()]
    out = pd.DataFrame(rows, columns=columns).astype({"episodes": "int64"})
    return out.sort_values(["period", "family", "context"]).reset_index(drop=True)
