"""The course of the training: hypotheses, inquiries, decisions, check-ins, interventions,
peer reviews and the agenda. Pure functions over the typed frames; small tables out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from heron_research.analysis.daily import month_label, person_names
from heron_research.analysis.vocabulary import (
    ACTIVE_STATUSES,
    AGENDA_TYPES,
    DECIDED_BY,
    HYPOTHESIS_ORDER,
    INQUIRY_ORDER,
    INTERVENTION_CATEGORIES,
    RATINGS,
)
from heron_research.records import scoring

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ACTIVE_STATUSES",
    "AGENDA_TYPES",
    "DECIDED_BY",
    "INTERVENTION_CATEGORIES",
    "RATINGS",
    "agenda",
    "answered",
    "checkin_summary",
    "checkins",
    "confidence_over_time",
    "decision_share",
    "hypotheses",
    "inquiries",
    "intervention_agreement",
    "programme_trends",
    "rated",
    "review_decisions",
    "review_ratings",
    "short",
]


def short(text: str, limit: int = 48) -> str:
    """``text`` on one line, cut at a word boundary to at most ``limit`` characters."""
    flat = " ".join(str(text).split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1].rsplit(" ", 1)[0] or flat[: limit - 1]
    return cut + "…"


def _text(value: object) -> str:
    import pandas as pd

    return "" if value is None or pd.isna(value) else str(value)


# --- projection hypotheses ---------------------------------------------------------------


def hypotheses(
    hyps: pd.DataFrame,
    evidence: pd.DataFrame,
    confidence: pd.DataFrame,
    people: pd.DataFrame,
) -> pd.DataFrame:
    """One row per hypothesis, the active ones first.

    Columns: ``id``, ``label`` (H1, H2... in order of opening), ``target`` (the person's
    alias or the situation), ``reaction``, ``echoes``, ``unprocessed_emotion``,
    ``prediction``, ``status``, ``opened_on``, ``first_confidence``, ``latest_confidence``,
    ``supports``, ``contradicts``.
    """
    import pandas as pd

    columns = [
        "id",
        "label",
        "target",
        "reaction",
        "echoes",
        "unprocessed_emotion",
        "prediction",
        "status",
        "opened_on",
        "first_confidence",
        "latest_confidence",
        "supports",
        "contradicts",
    ]
    if hyps.empty:
        return pd.DataFrame({c: [] for c in columns})
    names = person_names(people)
    ordered = hyps.sort_values(["opened_on", "id"]).reset_index(drop=True)
    by_direction = (
        evidence.groupby(["projection_hypothesis_id", "direction"], observed=True).size()
        if not evidence.empty
        else pd.Series(dtype="int64")
    )
    conf = confidence.sort_values(["projection_hypothesis_id", "on", "position"])
    first = conf.groupby("projection_hypothesis_id")["confidence"].first()
    latest = conf.groupby("projection_hypothesis_id")["confidence"].last()
    rows = []
    for i, h in enumerate(ordered.itertuples(index=False), start=1):
        pid = _text(h.person_id)
        target = names[pid][0] if pid in names else _text(h.situation) or "someone kept private"
        rows.append(
            {
                "id": h.id,
                "label": f"H{i}",
                "target": target,
                "reaction": _text(h.reaction),
                "echoes": _text(h.echoes),
                "unprocessed_emotion": _text(h.unprocessed_emotion),
                "prediction": _text(h.prediction),
                "status": str(h.status),
                "opened_on": h.opened_on,
                "first_confidence": first.get(h.id),
                "latest_confidence": latest.get(h.id),
                "supports": int(by_direction.get((h.id, "supports"), 0)),
                "contradicts": int(by_direction.get((h.id, "contradicts"), 0)),
            }
        )
    out = pd.DataFrame(rows, columns=columns)
    out["_status"] = out["status"].map(HYPOTHESIS_ORDER.index)
    out = out.sort_values(["_status", "opened_on"], kind="stable").drop(columns="_status")
    return out.reset_index(drop=True)


def confidence_over_time(table: pd.DataFrame, confidence: pd.DataFrame) -> pd.DataFrame:
    """Confidence ratings in long form for a chart: ``hypothesis`` (label and a short
    reaction), ``on``, ``confidence``. ``table`` is the output of :func:`hypotheses`."""
    import pandas as pd

    if table.empty or confidence.empty:
        return pd.DataFrame(
            {"hypothesis": [], "on": pd.Series([], dtype="datetime64[ns]"), "confidence": []}
        )
    labels = {
        row.id: f"{row.label}: {short(row.reaction, 32)}" for row in table.itertuples(index=False)
    }
    out = confidence[confidence["projection_hypothesis_id"].isin(labels)]
    return (
        pd.DataFrame(
            {
                "hypothesis": out["projection_hypothesis_id"].map(labels),
                "on": out["on"],
                "confidence": out["confidence"].astype("int64"),
            }
        )
        .sort_values(["hypothesis", "on"])
        .reset_index(drop=True)
    )


# --- inquiry cycles ----------------------------------------------------------------------


def inquiries(cycles: pd.DataFrame, episode_links: pd.DataFrame) -> pd.DataFrame:
    """Inquiry cycles, the ones under way first: the question, plan, what was observed, the
    reflection in four ways of knowing, outcome and next step, and ``episodes`` observed."""
    import pandas as pd

    if cycles.empty:
        return cycles.assign(episodes=pd.Series([], dtype="int64"))
    counts = episode_links.groupby("inquiry_cycle_id").size() if not episode_links.empty else {}
    out = cycles.copy()
    out["episodes"] = [int(counts.get(i, 0)) for i in out["id"]]
    out["_status"] = out["status"].astype(str).map(INQUIRY_ORDER.index)
    out = out.sort_values(["_status", "started_on"], kind="stable").drop(columns="_status")
    return out.reset_index(drop=True)


# --- focus decisions ---------------------------------------------------------------------


def decision_share(decisions: pd.DataFrame) -> pd.DataFrame:
    """Decisions per month by how they were made, in long form.

    Columns: ``period`` (monthly ``Period``), ``month`` (label), ``start`` (its first day),
    ``decided_by`` (autonomy, co-operation, hierarchy), ``decisions`` and ``share`` of that
    month's decisions. Every way of deciding is listed for every month with a decision.
    """
    import pandas as pd

    columns = ["period", "month", "start", "decided_by", "decisions", "share"]
    if decisions.empty:
        return pd.DataFrame({c: [] for c in columns}).astype({"decisions": "int64"})
    period = decisions["decided_on"].dt.to_period("M")
    counts = (
        pd.DataFrame({"period": period, "decided_by": decisions["decided_by"].astype(str)})
        .groupby(["period", "decided_by"])
        .size()
    )
    periods = sorted(period.unique())
    rows = []
    for p in periods:
        total = sum(int(counts.get((p, d), 0)) for d in DECIDED_BY)
        for d in DECIDED_BY:
            n = int(counts.get((p, d), 0))
            rows.append((p, month_label(p), p.to_timestamp(), d, n, n / total))
    return pd.DataFrame(rows, columns=columns).astype({"decisions": "int64"})


# --- check-ins ---------------------------------------------------------------------------


def checkins(checks: pd.DataFrame) -> pd.DataFrame:
    """Every check-in with its band and the change from that measure's first score.

    Columns: ``instrument``, ``name``, ``taken_at`` (local time), ``score``, ``band``,
    ``change`` (from the first score), ``verdict`` (Jacobson & Truax reliable change, or
    None where the measure has no published figures), ``item9_flag``.
    """
    import pandas as pd

    columns = ["instrument", "name", "taken_at", "score", "band", "change", "verdict", "item9_flag"]
    if checks.empty:
        return pd.DataFrame({c: [] for c in columns})
    ordered = checks.sort_values(["instrument", "taken_at"])
    rows = []
    for instrument, group in ordered.groupby("instrument", observed=True):
        first = float(group["score"].iloc[0])
        for row in group.itertuples(index=False):
            rc = scoring.reliable_change(str(instrument), first, float(row.score))
            rows.append(
                (
                    str(instrument),
                    scoring.INSTRUMENTS[str(instrument)].name,
                    row.taken_at_local,
                    float(row.score),
                    str(row.band),
                    rc.change,
                    rc.verdict,
                    bool(row.item9_flag),
                )
            )
    return pd.DataFrame(rows, columns=columns)


def checkin_summary(table: pd.DataFrame) -> pd.DataFrame:
    """One row per measure from :func:`checkins`: ``name``, ``count``, ``first``,
    ``latest``, ``latest_band``, ``change``, ``verdict``."""
    import pandas as pd

    columns = ["instrument", "name", "count", "first", "latest", "latest_band", "change", "verdict"]
    if table.empty:
        return pd.DataFrame({c: [] for c in columns})
    rows = []
    for instrument, group in table.groupby("instrument", sort=False):
        last = group.iloc[-1]
        rows.append(
            (
                instrument,
                last["name"],
                len(group),
                float(group["score"].iloc[0]),
                float(last["score"]),
                last["band"],
                float(last["change"]),
                last["verdict"],
            )
        )
    return pd.DataFrame(rows, columns=columns)


# --- interventions -----------------------------------------------------------------------


def intervention_agreement(interventions: pd.DataFrame) -> tuple[pd.DataFrame, float | None, int]:
    """How the client perceived the practitioner's interventions.

    Returns (``pairs``, ``agreement``, ``n``): ``pairs`` has ``intended``, ``perceived``,
    ``interventions`` for interventions with both categories; ``agreement`` the share of
    those where both name the same category (None when there are none); ``n`` their number.
    """
    import pandas as pd

    both = interventions.dropna(subset=["intended", "perceived"])
    if both.empty:
        empty = pd.DataFrame({"intended": [], "perceived": [], "interventions": []})
        return empty.astype({"interventions": "int64"}), None, 0
    pairs = (
        pd.DataFrame(
            {"intended": both["intended"].astype(str), "perceived": both["perceived"].astype(str)}
        )
        .groupby(["intended", "perceived"])
        .size()
        .rename("interventions")
        .reset_index()
    )
    same = int((both["intended"].astype(str) == both["perceived"].astype(str)).sum())
    return pairs.astype({"interventions": "int64"}), same / len(both), len(both)


# --- peer reviews and the agenda ---------------------------------------------------------


def rated(reviews: pd.DataFrame, ratings: pd.DataFrame | None = None) -> pd.DataFrame:
    """``reviews`` with the client's ratings (``ratings_*``) and ``client_view`` from the
    client's own latest review rating linked to each review (``ratings``: the review-rating
    frame); a review with none keeps its own legacy fields (data written by older versions,
    when the practitioner recorded the client's ratings on the review)."""
    if reviews.empty or ratings is None or ratings.empty:
        return reviews
    latest = (
        ratings.dropna(subset=["review_id"])
        .sort_values("rated_on", kind="stable")
        .drop_duplicates("review_id", keep="last")
        .set_index("review_id")
    )
    has = reviews["id"].isin(latest.index)
    if not has.any():
        return reviews
    out = reviews.copy()
    ids = out.loc[has, "id"]
    for name in (*RATINGS, "client_view"):
        out.loc[has, name] = latest[name].reindex(ids).to_numpy()
    return out


def review_ratings(reviews: pd.DataFrame, ratings: pd.DataFrame | None = None) -> pd.DataFrame:
    """The client's ratings at each review, long form: ``held_on``, ``rating``, ``value``.

    Each review's ratings are the client's own (:func:`rated`); ratings the client has not
    linked to a review are placed on the day they were given."""
    import pandas as pd

    reviews = rated(reviews, ratings)
    wide = reviews[["held_on", *RATINGS]]
    if ratings is not None and not ratings.empty:
        loose = ratings[ratings["review_id"].isna()]
        if not loose.empty:
            loose = loose[["rated_on", *RATINGS]].rename(columns={"rated_on": "held_on"})
            wide = loose if wide.empty else pd.concat([wide, loose], ignore_index=True)
    if wide.empty:
        return pd.DataFrame(
            {"held_on": pd.Series([], dtype="datetime64[ns]"), "rating": [], "value": []}
        )
    long = wide.melt(id_vars="held_on", var_name="rating", value_name="value")
    long = long.dropna(subset=["value"])
    long["rating"] = long["rating"].map(RATINGS)
    long["value"] = long["value"].astype("int64")
    return long.sort_values(["held_on", "rating"]).reset_index(drop=True)


def review_decisions(reviews: pd.DataFrame, ratings: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each review's continuation views and agreed outcome, oldest first (the client's view
    their own, :func:`rated`)."""
    cols = ["held_on", "client_view", "practitioner_view", "agreed_outcome", "reason", "dissent"]
    reviews = rated(reviews, ratings)
    return reviews.sort_values("held_on")[cols].reset_index(drop=True)


def answered(items: pd.DataFrame, responses: pd.DataFrame | None = None) -> pd.DataFrame:
    """``items`` with ``response`` and ``resolved`` from each item's latest agenda response
    (the last by date, then in the order saved) and ``review_id`` from the latest one linked
    to a review. An item with no response keeps its own legacy fields (data written by older
    versions, when the practitioner's answer was kept on the item).
    """
    if items.empty or responses is None or responses.empty:
        return items
    ordered = responses.sort_values("responded_on", kind="stable")
    latest = ordered.drop_duplicates("agenda_item_id", keep="last").set_index("agenda_item_id")
    reviewed = (
        ordered.dropna(subset=["review_id"])
        .drop_duplicates("agenda_item_id", keep="last")
        .set_index("agenda_item_id")["review_id"]
    )
    has = items["id"].isin(latest.index)
    if not has.any():
        return items
    out = items.copy()
    ids = out.loc[has, "id"]
    out.loc[has, "response"] = latest["response"].reindex(ids).to_numpy()
    out.loc[has, "resolved"] = latest["resolved"].reindex(ids).to_numpy()
    out.loc[has, "review_id"] = reviewed.reindex(ids).to_numpy()
    return out


def agenda(
    items: pd.DataFrame, responses: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(items for this review, open items from earlier reviews).

    Items for this review are those not yet discussed at a review; the client's own items
    come first, then by type (satisfaction, dissatisfaction, request, question) and date.
    Open earlier items were discussed at a review but are not resolved; a resolved item is
    in neither. Whether an item was discussed, its response and whether it is resolved come
    from its agenda ``responses``, or from the item itself in data written by older
    versions (:func:`answered`).
    """
    if items.empty:
        return items, items
    items = answered(items, responses)
    ordered = items.assign(
        _by=(items["raised_by"].astype(str) != "client").astype(int),
        _type=items["item_type"].astype(str).map(AGENDA_TYPES.index),
    ).sort_values(["_by", "_type", "raised_on"], kind="stable")
    ordered = ordered.drop(columns=["_by", "_type"])
    resolved = ordered["resolved"].fillna(False).astype(bool)
    new = ordered[ordered["review_id"].isna() & ~resolved]
    earlier = ordered[ordered["review_id"].notna() & ~resolved]
    return new.reset_index(drop=True), earlier.reset_index(drop=True)


# --- the whole programme at a glance -----------------------------------------------------


def programme_trends(
    episodes: pd.DataFrame, checks: pd.DataFrame, decisions: pd.DataFrame
) -> pd.DataFrame:
    """Monthly trends over the whole programme, in long form for small multiples.

    Columns: ``start`` (the month's first day), ``measure`` (one panel each, in this
    order: "Episodes per week", "Mean peak intensity (0-10)", each check-in measure by
    name, "Decisions I made alone (%)"), ``value``. A month without data for a measure has
    no row for it.
    """
    import pandas as pd

    rows: list[tuple[Any, str, float]] = []
    if not episodes.empty:
        month = episodes["occurred_at_local"].dt.to_period("M")
        for period, group in episodes.groupby(month):
            days = period.days_in_month
            rows.append((period.to_timestamp(), "Episodes per week", len(group) * 7 / days))
            rows.append(
                (
                    period.to_timestamp(),
                    "Mean peak intensity (0-10)",
                    float(group["peak_intensity"].astype("float64").mean()),
                )
            )
    if not checks.empty:
        month = checks["taken_at_local"].dt.to_period("M")
        table = pd.DataFrame(
            {
                "period": month,
                "instrument": checks["instrument"].astype(str),
                "score": checks["score"].astype("float64"),
            }
        )
        for (period, instrument), group in table.groupby(["period", "instrument"]):
            name = scoring.INSTRUMENTS[instrument].name
            rows.append((period.to_timestamp(), name, float(group["score"].mean())))
    if not decisions.empty:
        share = decision_share(decisions)
        mine = share[share["decided_by"] == "autonomy"]
        rows += [
            (start, "Decisions I made alone (%)", 100 * float(value))
            for start, value in zip(mine["start"], mine["share"], strict=True)
        ]
    out = pd.DataFrame(rows, columns=["start", "measure", "value"])
    return out.reset_index(drop=True)
