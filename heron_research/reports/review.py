"""The peer-review report: what the client brings to the session, their own agenda first.

``notebooks/peer_review_report.ipynb`` calls :func:`load` and then one section per cell, in
the order of the ``review`` entry of
:data:`~heron_research.reports.registry.REPORT_KINDS`. Each section is declared here with
:func:`~heron_research.reports.registry.section` (slug, title, the frames it reads, its
empty-state sentence) and returns a :class:`~heron_research.reports.html.Section`; a
section with nothing to show says so plainly.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from heron_research import charts
from heron_research.analysis import daily, practice, progress, questions
from heron_research.analysis.rounding import fixed, percent, score, signed
from heron_research.analysis.stats import MIN_PAIRS
from heron_research.records.models import (
    AGENDA_ITEM,
    AGENDA_RESPONSE,
    CHECK_IN,
    CO_COUNSELLING_SESSION,
    EMOTION_EPISODE,
    FOCUS_DECISION,
    INQUIRY_CYCLE,
    INTERVENTION,
    PEER_REVIEW,
    PERSON,
    PRACTITIONER_REACTION,
    PROJECTION_HYPOTHESIS,
    REVIEW_RATING,
)
from heron_research.records.scoring import INSTRUMENTS, SAFETY_NOTE
from heron_research.reports.common import (
    based_on_table,
    chart,
    cover_body,
    day,
    open_report,
    plural,
)
from heron_research.reports.context import ReportContext
from heron_research.reports.html import (
    Markup,
    definition_list,
    join,
    note,
    para,
    table,
    tag,
)
from heron_research.reports.registry import REVIEW, Body, section

__all__ = [
    "agenda",
    "at_a_glance",
    "check_ins",
    "closing",
    "co_counselling",
    "cover",
    "daily_life",
    "decisions",
    "hypotheses",
    "inquiries",
    "load",
    "my_notes",
    "past_reviews",
    "practitioner",
    "self_management",
    "trends",
]


def load(
    workbook: str | Path | None,
    *,
    since: str | date | None = None,
    until: str | date | None = None,
    audience: str = "client",
    title: str | None = None,
) -> ReportContext:
    """Read the workbook for a peer-review report (see :func:`common.open_report`)."""
    return open_report(
        workbook, kind=REVIEW, since=since, until=until, audience=audience, title=title
    )


def _cover(ctx: ReportContext) -> Body:
    """The cover, short, so that At a glance follows on the first page; what the report is
    based on closes it (see :func:`closing`)."""
    return cover_body(ctx, based_on=False)


cover = section(REVIEW, "cover", "Cover", extra=("sample",), cover=True, name="cover")(_cover)

_EPISODE_FRAMES = (
    EMOTION_EPISODE,
    f"{EMOTION_EPISODE}.emotions",
    f"{EMOTION_EPISODE}.people",
    PERSON,
)
_HYPOTHESIS_FRAMES = (
    PROJECTION_HYPOTHESIS,
    f"{PROJECTION_HYPOTHESIS}.evidence",
    f"{PROJECTION_HYPOTHESIS}.confidence",
    PERSON,
)
_NO_ITEMS_OF_MINE = (
    "No items of your own for this review yet. Satisfactions, dissatisfactions, "
    "requests and questions you add in the workbook appear here, first."
)


def _items_list(items: Any, *, show_response: bool = False) -> Markup:
    entries = []
    for row in items.itertuples(index=False):
        head = tag("span", str(row.item_type), class_=f"tag tag-{row.item_type}")
        meta = tag("span", f"raised {day(row.raised_on)}", class_="meta")
        body: list[Any] = [head, " ", tag("span", row.text, class_="item-text"), " ", meta]
        if show_response and str(row.response or ""):
            body.append(tag("div", "Response: ", row.response, class_="response"))
        entries.append(tag("li", *body))
    return tag("ul", *entries, class_="agenda")


def _answered_at_last_review(items: Any, responses: Any, reviews: Any) -> tuple[Any, Any]:
    """(the latest peer review held, the items answered there with those answers), the
    client's own items first; (None, empty) when there is no review or no answer."""
    if reviews.empty or responses.empty or items.empty:
        return None, items.iloc[:0]
    last = reviews.sort_values("held_on").iloc[-1]
    there = responses[responses["review_id"].astype(object) == last["id"]]
    there = there.sort_values("responded_on", kind="stable").drop_duplicates(
        "agenda_item_id", keep="last"
    )
    answers = there.set_index("agenda_item_id")["response"]
    shown = items[items["id"].isin(answers.index)].copy()
    shown["response"] = answers.reindex(shown["id"]).to_numpy()
    shown = shown.assign(_by=(shown["raised_by"].astype(str) != "client").astype(int))
    shown = shown.sort_values(["_by", "raised_on"], kind="stable").drop(columns="_by")
    return last, shown


@section(
    REVIEW,
    "agenda",
    "My agenda",
    needs=(AGENDA_ITEM, AGENDA_RESPONSE, PEER_REVIEW),
    empty=_NO_ITEMS_OF_MINE,
)
def agenda(ctx: ReportContext) -> Body:
    """The client's agenda first: items for this review, then open earlier items (with the
    practitioner's latest response), then what was answered at the last review."""
    items, responses = ctx.frame(AGENDA_ITEM), ctx.frame(AGENDA_RESPONSE)
    new, earlier = progress.agenda(items, responses)
    if new.empty and earlier.empty:
        return None
    parts: list[Any] = []
    mine = new[new["raised_by"].astype(str) == "client"] if not new.empty else new
    theirs = new[new["raised_by"].astype(str) != "client"] if not new.empty else new
    if mine.empty:
        parts.append(note(_NO_ITEMS_OF_MINE))
    else:
        parts += [tag("h3", "My items for this review"), _items_list(mine, show_response=True)]
    if not theirs.empty:
        parts += [
            tag("h3", "Items the practitioner raised"),
            _items_list(theirs, show_response=True),
        ]
    if not earlier.empty:
        parts += [
            tag("h3", "Still open from earlier reviews"),
            _items_list(earlier, show_response=True),
        ]
    last, answered = _answered_at_last_review(items, responses, ctx.frame(PEER_REVIEW))
    if not answered.empty:
        parts += [
            tag("h3", f"Answered at the last review ({day(last['held_on'])})"),
            _items_list(answered, show_response=True),
        ]
    return parts


def _felt_most_often(emotions: Any, top: int = 3) -> str:
    """The sentence on what was felt most: emotion families and words, by episodes."""
    families = daily.episodes_per_family(emotions).head(top)
    words = daily.episodes_per_word(emotions).head(top)
    if families.empty:
        return ""
    by_family = ", ".join(f"{r.family} ({r.episodes})" for r in families.itertuples())
    by_word = ", ".join(f"{r.emotion} ({r.episodes})" for r in words.itertuples())
    return (
        f"Emotion families felt most often, by episodes in which a word of the family was "
        f"rated: {by_family}. The words rated most often: {by_word}."
    )


def _strongest_moments(strongest: Any) -> list[Any]:
    """The strongest moments, each with the client's own words about it."""
    if strongest.empty:
        return []
    items = []
    for r in strongest.itertuples():
        words = [
            (label, text)
            for label, text in (
                ("What I did", r.what_i_did),
                ("Thoughts", r.thoughts),
                ("Body sensations", r.body_sensations),
                ("Notes", r.notes),
            )
            if str(text or "").strip()
        ]
        mine = tag(
            "div",
            *(part for label, text in words for part in (tag("em", label, ": "), text, ". ")),
            class_="own-words",
        )
        items.append(
            tag(
                "li",
                tag("strong", day(r.when)),
                " · ",
                tag("span", r.emotions, class_="meta"),
                " (0-10) · ",
                r.situation,
                mine,
            )
        )
    return [tag("h3", "The strongest moments"), tag("ul", *items, class_="moments")]


def _evidence(ctx: ReportContext) -> questions.Evidence:
    """What the questions for the session are drawn from."""
    return questions.Evidence(
        family_context=daily.family_by_context_month(
            ctx.frame(EMOTION_EPISODE),
            ctx.frame(f"{EMOTION_EPISODE}.emotions"),
            ctx.frame(f"{EMOTION_EPISODE}.people"),
            ctx.frame(PERSON),
        ),
        effects=practice.technique_effects(ctx.frame(f"{EMOTION_EPISODE}.self_management")),
        hypotheses=progress.hypotheses(
            ctx.frame(PROJECTION_HYPOTHESIS),
            ctx.frame(f"{PROJECTION_HYPOTHESIS}.evidence"),
            ctx.frame(f"{PROJECTION_HYPOTHESIS}.confidence"),
            ctx.frame(PERSON),
        ),
        measures=progress.checkin_summary(progress.checkins(ctx.frame(CHECK_IN))),
        decisions=progress.decision_share(ctx.frame(FOCUS_DECISION)),
        agreement=progress.intervention_agreement(ctx.frame(INTERVENTION))[1:],
        open_items=progress.agenda(ctx.frame(AGENDA_ITEM), ctx.frame(AGENDA_RESPONSE))[1],
    )


def _changes(ctx: ReportContext) -> list[str]:
    """Three to five changes in the period, each one sentence with its figure."""
    episodes = ctx.frame(EMOTION_EPISODE)
    emotions = ctx.frame(f"{EMOTION_EPISODE}.emotions")
    used = ctx.frame(f"{EMOTION_EPISODE}.self_management")
    decisions_ = ctx.frame(FOCUS_DECISION)
    changes: list[str] = []
    if not episodes.empty:
        days = max(1, (ctx.until - (ctx.since or ctx.first_day or ctx.until)).days + 1)
        families = daily.episodes_per_family(emotions)
        top = families.iloc[0] if not families.empty else None
        felt = (
            f"; the emotion family felt most often was {top['family']} "
            f"({plural(int(top['episodes']), 'episode')})"
            if top is not None
            else ""
        )
        changes.append(
            f"I logged {plural(len(episodes), 'emotion episode')} "
            f"({fixed(len(episodes) * 7 / days)} a week){felt}."
        )
    if not used.empty:
        before = used["intensity_before"].astype("float64").mean()
        after = used["intensity_after"].astype("float64").mean()
        n = used["emotion_episode_id"].nunique()
        changes.append(
            f"I used self-management in {n} of {plural(len(episodes), 'episode')}; "
            f"intensity went from {fixed(before)} before to {fixed(after)} after, on average."
        )
    scores = progress.checkins(ctx.frame(CHECK_IN))
    for r in progress.checkin_summary(scores).itertuples():
        if r.instrument not in ("phq9", "gad7"):
            continue
        earlier = scores[
            (scores["instrument"] == r.instrument)
            & scores["taken_at"].map(lambda t: ctx.since is not None and t.date() < ctx.since)
        ]
        if ctx.since is not None and not earlier.empty:
            then = float(earlier["score"].iloc[-1])
            changes.append(
                f"My latest {r.name} score is {score(r.latest)} ({r.latest_band}), "
                f"{signed(r.latest - then)} since the last check-in before this period "
                f"({score(then)})."
            )
        else:
            changes.append(
                f"My latest {r.name} score is {score(r.latest)} ({r.latest_band}), "
                f"{signed(r.change)} from my first ({score(r.first)})."
            )
    if not decisions_.empty:
        mine = int((decisions_["decided_by"].astype(str) == "autonomy").sum())
        changes.append(
            f"Of {plural(len(decisions_), 'decision')} about the work, I made "
            f"{mine} on my own ({percent(mine / len(decisions_))})."
        )
    return changes[:5]


@section(
    REVIEW,
    "at-a-glance",
    "At a glance",
    needs=(
        AGENDA_ITEM,
        AGENDA_RESPONSE,
        *_EPISODE_FRAMES,
        f"{EMOTION_EPISODE}.self_management",
        *_HYPOTHESIS_FRAMES,
        CHECK_IN,
        FOCUS_DECISION,
        INTERVENTION,
    ),
)
def at_a_glance(ctx: ReportContext) -> Body:
    """One page in the client's words: my items for this review, what changed since the
    last review (each with its figure), the questions for the session, and the
    co-operative continue / change / pause / end question."""
    new, _ = progress.agenda(ctx.frame(AGENDA_ITEM), ctx.frame(AGENDA_RESPONSE))
    mine = new[new["raised_by"].astype(str) == "client"] if not new.empty else new
    parts: list[Any] = [tag("h3", "My items for this review")]
    if mine.empty:
        parts.append(note(_NO_ITEMS_OF_MINE))
    else:
        parts.append(
            tag(
                "ul",
                *(
                    tag(
                        "li",
                        tag("span", str(r.item_type), class_=f"tag tag-{r.item_type}"),
                        " ",
                        tag("span", r.text, class_="item-text"),
                    )
                    for r in mine.itertuples(index=False)
                ),
                class_="agenda",
            )
        )
    since = (
        f"Since the last review ({day(ctx.last_review)})"
        if ctx.last_review is not None
        else f"In this period ({ctx.period_words})"
    )
    changes = _changes(ctx)
    parts.append(tag("h3", since))
    if changes:
        parts.append(tag("ul", *(tag("li", c) for c in changes), class_="changes"))
    else:
        parts.append(note("Nothing was logged in this period."))
    asked = questions.closing_questions(_evidence(ctx))
    parts.append(tag("h3", "Questions for the session"))
    parts.append(
        tag("ol", *(tag("li", q) for q in asked[:-1][:_GLANCE_QUESTIONS]), class_="questions")
    )
    parts.append(
        tag(
            "p",
            tag("strong", "For us to decide together: "),
            asked[-1],
            class_="notice",
        )
    )
    return parts


@section(
    REVIEW,
    "trends",
    "The programme so far",
    needs=(CHECK_IN, EMOTION_EPISODE, FOCUS_DECISION),  # the last two: ctx.programme, else
    empty="Nothing logged yet to show a trend.",
)
def trends(ctx: ReportContext) -> Body:
    """Whole-programme trends, month by month, as small multiples."""
    from heron_research.reports.trends import small_multiples

    if all(ctx.frame(k).empty for k in (CHECK_IN, EMOTION_EPISODE, FOCUS_DECISION)):
        return None  # nothing in this period: no trend to bring to the session
    programme = progress.programme_trends(
        ctx.programme.get(EMOTION_EPISODE, ctx.frame(EMOTION_EPISODE)),
        ctx.frame(CHECK_IN),
        ctx.programme.get(FOCUS_DECISION, ctx.frame(FOCUS_DECISION)),
    )
    if programme.empty:
        return None
    return [
        para(
            "Each panel is one measure, month by month from the first entry: lower PHQ-9 "
            "and GAD-7 scores mean fewer symptoms, higher wellbeing is better."
        ),
        chart(small_multiples, programme, "The programme so far, by month"),
    ]


@section(
    REVIEW,
    "my-notes",
    "My notes",
    needs=(EMOTION_EPISODE, PERSON),
    empty="No notes were written with the episodes or people in this period.",
)
def my_notes(ctx: ReportContext) -> Body:
    """The client's own notes: with the episodes of the period, and about people."""
    episodes = ctx.frame(EMOTION_EPISODE)
    people = ctx.frame(PERSON)
    parts: list[Any] = []
    noted = (
        episodes[episodes["notes"].fillna("").astype(str).str.strip() != ""]
        if not episodes.empty
        else episodes
    )
    if not noted.empty:
        latest = noted.sort_values("occurred_at").tail(_NOTES_SHOWN)
        rows = [
            (day(r.occurred_at_local), progress.short(str(r.situation), 40), r.notes)
            for r in latest.itertuples()
        ]
        caption = (
            "Episodes with notes"
            if len(latest) == len(noted)
            else f"The latest {len(latest)} of {len(noted)} episodes with notes"
        )
        parts.append(table(rows, ["Date", "Situation", "Notes"], caption=caption))
    about = (
        people[people["notes"].fillna("").astype(str).str.strip() != ""]
        if not people.empty
        else people
    )
    if not about.empty:
        parts.append(
            table(
                [(r.alias, r.relationship, r.notes) for r in about.itertuples()],
                ["Person", "Relationship", "My notes"],
                caption="About the people in my life",
            )
        )
    return parts or None


@section(
    REVIEW,
    "daily-life",
    "Daily life",
    needs=_EPISODE_FRAMES,
    empty="No emotion episodes were logged in this period.",
)
def daily_life(ctx: ReportContext) -> Body:
    """Episodes over time, emotions by family and intensity, people, situation words,
    time of day and weekday, proportionality."""
    episodes = ctx.frame(EMOTION_EPISODE)
    emotions = ctx.frame(f"{EMOTION_EPISODE}.emotions")
    links = ctx.frame(f"{EMOTION_EPISODE}.people")
    people = ctx.frame(PERSON)
    if episodes.empty:
        return None
    days = episodes["occurred_at_local"].dt.normalize().nunique()
    parts: list[Any] = [
        para(
            f"{plural(len(episodes), 'emotion episode')} on {plural(days, 'day')}. "
            + _felt_most_often(emotions)
        )
    ]
    if ctx.since is None:  # a review of a period: the sentence above says it
        parts.append(
            chart(
                charts.emotion_families,
                daily.emotions_by_family(emotions),
                "Emotion families, by how strongly they were felt",
            )
        )
    parts += _strongest_moments(daily.strongest_episodes(episodes, emotions))
    with_people = daily.by_person(episodes, emotions, links, people)
    if not with_people.empty:
        parts.append(tag("h3", "With whom"))
        rows = [
            (r.person, r.relationship, r.episodes, fixed(r.mean_peak), r.main_family)
            for r in with_people.itertuples()
        ]
        parts.append(
            table(
                rows,
                ["Person", "Relationship", "Episodes", "Mean peak (0-10)", "Family felt most"],
                numeric=(2, 3),
            )
        )
    words = daily.situation_words(episodes)
    when = daily.when_episodes_happen(episodes)
    busiest = when.sort_values("episodes", ascending=False).iloc[0]
    about = (
        "Words that recur in the situations: "
        + ", ".join(f"{r.word} ({r.episodes})" for r in words.head(8).itertuples())
        + ". "
        if not words.empty
        else ""
    )
    parts.append(tag("h3", "What, when, and how proportionate"))
    parts.append(
        para(
            about + f"Most often on a {busiest['weekday']} {busiest['part']} "
            f"({plural(int(busiest['episodes']), 'episode')})."
        )
    )
    monthly = daily.proportionality(episodes)
    if monthly.empty:
        parts.append(note("No proportionality ratings in this period."))
    else:
        rated = int(monthly["rated"].sum())
        mean = float((monthly["mean"] * monthly["rated"]).sum() / rated)
        strong = int(monthly["far_too_strong"].sum())
        parts.append(
            para(
                f"How proportionate my reactions felt: rated {plural(rated, 'time')}; on "
                f"average {fixed(mean)} out of 10 (10 = fitting the situation). "
                f"{plural(strong, 'reaction')} felt far too strong (0-3)."
            )
        )
    if len(monthly) >= 3:  # a longer period: the pictures say more than the sentences
        parts.append(
            chart(charts.when_episodes_happen, when, "Episodes by weekday and time of day")
        )
    return parts


@section(
    REVIEW,
    "self-management",
    "Self-management",
    needs=(f"{EMOTION_EPISODE}.self_management", EMOTION_EPISODE),
    empty="No self-management was recorded with the episodes in this period.",
)
def self_management(ctx: ReportContext) -> Body:
    """Skills and techniques used, and intensity before vs after per technique."""
    used = ctx.frame(f"{EMOTION_EPISODE}.self_management")
    episodes = ctx.frame(EMOTION_EPISODE)
    if used.empty:
        return None
    with_sm = used["emotion_episode_id"].nunique()
    skills = practice.skills_used(used)
    by_skill = skills.groupby("skill", sort=False)["uses"].sum()
    parts: list[Any] = [
        para(
            f"Self-management recorded in {with_sm} of {plural(len(episodes), 'episode')}: "
            + ", ".join(f"{skill} {n}" for skill, n in by_skill.items())
            + "."
        ),
        *(
            [chart(charts.skills_used, skills, "Techniques used, by skill")]
            if ctx.since is None  # a review of a period: the sentence says it
            else []
        ),
        tag("h3", "Did it help? Intensity before and after"),
        note(
            "Before: the intensity recorded just before the technique was used; where none "
            "was recorded, the episode's peak (its strongest emotion). After: the intensity "
            "recorded afterwards. Both 0-10; the table shows the mean of each."
        ),
    ]
    effects = practice.technique_effects(used)
    enough = bool(effects["enough"].any())
    rows = [
        (r.technique, r.skill, r.n, _before_after(r.mean_before, r.mean_after))
        + ((r.brief,) if enough else ())
        for r in effects.itertuples()
    ]
    headers = ["Technique", "Skill", "Times", "Before → after"] + (["Intensity"] if enough else [])
    parts.append(table(rows, headers, numeric=(2,)))
    if not enough:
        parts.append(note(f"Each technique has too few ratings to say more ({MIN_PAIRS} needed)."))
    if bool(effects["enough"].any()) and ctx.since is None:  # a period: the table says it
        parts.append(
            chart(
                charts.technique_effects,
                effects,
                "Mean drop in intensity per technique, with 95% intervals",
            )
        )
    parts.append(
        note(
            "A fall in intensity may also be the feeling passing with time; the 95% interval "
            "shows how sure these numbers can be. The effect size is Cohen's d for paired "
            "ratings (0.2 small, 0.5 medium, 0.8 large). Fewer than 5 ratings: too few to say."
        )
    )
    return parts


def _before_after(before: Any, after: Any) -> str:
    if before is None or before != before:
        return ""
    return f"{fixed(before)} → {fixed(after)}"


@section(
    REVIEW,
    "hypotheses",
    "Projection hypotheses",
    needs=_HYPOTHESIS_FRAMES,
    empty="No projection hypotheses yet.",
)
def hypotheses(ctx: ReportContext) -> Body:
    """Projection hypotheses: status, confidence over time, evidence for and against."""
    table_ = progress.hypotheses(
        ctx.frame(PROJECTION_HYPOTHESIS),
        ctx.frame(f"{PROJECTION_HYPOTHESIS}.evidence"),
        ctx.frame(f"{PROJECTION_HYPOTHESIS}.confidence"),
        ctx.frame(PERSON),
    )
    if table_.empty:
        return None
    counts = table_["status"].value_counts()
    parts: list[Any] = [
        para(
            plural(len(table_), "hypothesis", "hypotheses")
            + ": "
            + ", ".join(f"{n} {status}" for status, n in counts.items())
            + "."
        )
    ]
    confidence = progress.confidence_over_time(
        table_, ctx.frame(f"{PROJECTION_HYPOTHESIS}.confidence")
    )
    if not confidence.empty and ctx.since is None:  # a period: each card says it
        parts.append(
            chart(charts.hypothesis_confidence, confidence, "Confidence in each hypothesis (0-100)")
        )
    evidence = ctx.frame(f"{PROJECTION_HYPOTHESIS}.evidence")
    if not evidence.empty:
        evidence = evidence[evidence["added_on"].map(ctx.in_period)]
    settled = [
        h
        for h in table_.itertuples()
        if h.status not in progress.ACTIVE_STATUSES
        and not (evidence["projection_hypothesis_id"] == h.id).any()
    ]
    if settled:
        parts.append(
            table(
                [(h.label, h.reaction, h.status, day(h.opened_on)) for h in settled],
                ["", "Reaction", "Status", "Opened"],
                caption="Settled, with no new evidence in this period",
            )
        )
    settled_ids = {h.id for h in settled}
    for h in table_.itertuples():
        if h.id in settled_ids:
            continue
        mine = evidence[evidence["projection_hypothesis_id"] == h.id]
        if ctx.since is not None:  # a review of a period: one short card each
            parts.append(_hypothesis_brief(h, mine))
            continue
        confidence_text = (
            f"{int(h.first_confidence)} → {int(h.latest_confidence)}"
            if h.first_confidence == h.first_confidence and h.first_confidence is not None
            else "not rated"
        )
        body: list[Any] = [
            tag("h3", f"{h.label}: ", h.reaction, " ", tag("span", h.status, class_="tag")),
            definition_list(
                [
                    ("Reacting to", h.target),
                    ("May echo", h.echoes),
                    ("Unprocessed emotion suspected", h.unprocessed_emotion),
                    ("Prediction to test", h.prediction),
                    ("Opened", day(h.opened_on)),
                    ("Confidence", confidence_text),
                    ("Evidence", f"{h.supports} for, {h.contradicts} against"),
                ]
            ),
        ]
        if not mine.empty:
            latest = mine.sort_values("added_on").tail(_EVIDENCE_SHOWN)
            items = [
                tag(
                    "li",
                    tag("span", r.direction, class_=f"tag tag-{r.direction}"),
                    f" {day(r.added_on)} ",
                    r.note,
                )
                for r in latest.itertuples()
            ]
            if len(mine) > len(latest):
                items.insert(
                    0,
                    tag("li", f"{plural(len(mine) - len(latest), 'earlier note')}, then:"),
                )
            body.append(tag("ul", *items, class_="evidence"))
        parts.append(tag("div", *body, class_="card"))
    return parts


#: the questions for the session shown at a glance (the rest close the report)
_GLANCE_QUESTIONS = 4
#: the evidence notes shown with each hypothesis: the latest (the count says how many more)
_EVIDENCE_SHOWN = 4
#: the episode notes shown in "My notes": the latest (the count says how many more)
_NOTES_SHOWN = 15
#: interventions listed with their descriptions, the most recent first: in a review of a
#: period (a month's fit whole), and in the whole programme (its counts carry the rest)
_INTERVENTIONS_SHOWN = 8
_INTERVENTIONS_SHOWN_WHOLE = 5


def _hypothesis_brief(h: Any, evidence: Any) -> Markup:
    """A hypothesis in a few lines: the reaction, what it may echo, confidence, and the
    evidence added in the period (the client's own notes)."""
    first, latest = h.first_confidence, h.latest_confidence
    rated = first == first and first is not None
    confidence = f"confidence {int(first)} → {int(latest)}" if rated else "confidence not rated"
    lines: list[Any] = [
        tag("strong", f"{h.label}: "),
        h.reaction,
        " ",
        tag("span", h.status, class_="tag"),
        tag(
            "div",
            f"Reacting to {h.target}; may echo: ",
            h.echoes,
            f"; {confidence}; evidence {h.supports} for, {h.contradicts} against.",
            class_="meta",
        ),
    ]
    if not evidence.empty:
        lines.append(
            tag(
                "ul",
                *(
                    tag(
                        "li",
                        tag("span", r.direction, class_=f"tag tag-{r.direction}"),
                        f" {day(r.added_on)} ",
                        r.note,
                    )
                    for r in evidence.sort_values("added_on").itertuples()
                ),
                class_="evidence",
            )
        )
    return tag("div", *lines, class_="card")


_KNOWING = (
    ("reflection_experiential", "Experiential (what it was like)"),
    ("reflection_presentational", "Presentational (an image, metaphor or story)"),
    ("reflection_propositional", "Propositional (what I now think is true)"),
    ("reflection_practical", "Practical (what I can now do)"),
)


@section(
    REVIEW,
    "inquiries",
    "Inquiry cycles",
    needs=(INQUIRY_CYCLE, f"{INQUIRY_CYCLE}.episode_ids"),
    empty="No inquiry cycles yet.",
)
def inquiries(ctx: ReportContext) -> Body:
    """Inquiry cycles: question, plan, what was observed, reflection, outcome."""
    cycles = progress.inquiries(ctx.frame(INQUIRY_CYCLE), ctx.frame(f"{INQUIRY_CYCLE}.episode_ids"))
    if cycles.empty:
        return None
    parts: list[Any] = []
    done = cycles["status"].astype(str).isin(("completed", "abandoned"))
    if ctx.since is not None:
        ended = cycles["ends_on"].map(lambda d: d == d and d is not None and not ctx.in_period(d))
        earlier = cycles[done & ended.astype(bool)]
    else:
        earlier = cycles.iloc[0:0]
    if not earlier.empty:
        parts.append(
            table(
                [(c.question, c.status, day(c.ends_on)) for c in earlier.itertuples()],
                ["Question", "Status", "Ended"],
                caption="Finished before this period (their outcomes are in the report on "
                "the whole programme)",
            )
        )
    for c in cycles.drop(index=earlier.index).itertuples():
        dates = day(c.started_on) + (f" to {day(c.ends_on)}" if c.ends_on == c.ends_on else "")
        ways = [(label, getattr(c, column)) for column, label in _KNOWING]
        ways = [(label, text) for label, text in ways if str(text or "").strip()]
        reflection = [
            (
                "Reflection",
                join(
                    part
                    for i, (label, text) in enumerate(ways)
                    for part in ((Markup("<br>") if i else ""), tag("em", label, ": "), text)
                )
                if ways
                else "",
            )
        ]
        parts.append(
            tag(
                "div",
                tag("h3", c.question, " ", tag("span", c.status, class_="tag")),
                definition_list(
                    [
                        ("Dates", dates),
                        ("Plan", c.plan),
                        ("Episodes observed", plural(c.episodes, "episode") if c.episodes else ""),
                        ("What I observed", c.observations),
                        *reflection,
                        ("Outcome", c.outcome),
                        ("Next step", c.next_step),
                    ]
                ),
                class_="card",
            )
        )
    return parts


@section(
    REVIEW,
    "my-say",
    "My say in decisions",
    needs=(FOCUS_DECISION,),
    empty="No decisions were logged in this period.",
)
def decisions(ctx: ReportContext) -> Body:
    """The client's say: focus decisions by autonomy, co-operation, hierarchy over time."""
    frame = ctx.frame(FOCUS_DECISION)
    if frame.empty:
        return None
    counts = frame["decided_by"].astype(str).value_counts()
    parts: list[Any] = [
        para(
            f"Of {plural(len(frame), 'decision')}: {counts.get('autonomy', 0)} by me "
            f"(autonomy), {counts.get('co-operation', 0)} together (co-operation), "
            f"{counts.get('hierarchy', 0)} by the practitioner (hierarchy)."
        ),
    ]
    if ctx.since is None:  # a review of a period: the share is in "The programme so far"
        parts.append(
            chart(
                charts.decision_share,
                progress.decision_share(frame),
                "How decisions were made, by month",
            )
        )
    recent = frame.sort_values("decided_on", ascending=False).head(12)
    rows = [
        (day(r.decided_on), r.topic, _with_notes(r.decision, r.notes), r.proposed_by, r.decided_by)
        for r in recent.itertuples()
    ]
    caption = "Decisions" if len(frame) <= 12 else "The 12 most recent decisions"
    parts.append(
        table(rows, ["Date", "Topic", "Decision", "Proposed by", "Decided by"], caption=caption)
    )
    return parts


def _with_notes(text: Any, notes: Any) -> Markup:
    """A table cell: the entry's text, and its notes (the client's words) under it."""
    if not isinstance(notes, str) or not notes.strip():
        return join([text])
    return join([text, tag("div", "Notes: ", notes, class_="meta")])


@section(REVIEW, "check-ins", "Check-ins", needs=(CHECK_IN,), empty="No check-ins yet.")
def check_ins(ctx: ReportContext) -> Body:
    """Scores with bands, reliable change from the first score, the item-9 note where due."""
    table_ = progress.checkins(ctx.frame(CHECK_IN))
    if table_.empty:
        return None
    parts: list[Any] = []
    flagged = table_[table_["item9_flag"] & table_["taken_at"].map(ctx.in_period)]
    if not flagged.empty:
        dates = ", ".join(day(t) for t in flagged["taken_at"])
        parts.append(
            tag(
                "div",
                tag("strong", "Please read: "),
                SAFETY_NOTE,
                f" (PHQ-9 on {dates}.)",
                class_="safety",
            )
        )
    summary = progress.checkin_summary(table_)
    rows = [
        (
            r.name,
            r.count,
            score(r.first),
            f"{score(r.latest)} ({r.latest_band})",
            signed(r.change),
            r.verdict if isinstance(r.verdict, str) else "no published figures",
        )
        for r in summary.itertuples()
    ]
    parts.append(
        table(
            rows,
            ["Measure", "Check-ins", "First", "Latest (band)", "Change", "Reliable change"],
            numeric=(1, 2, 4),
        )
    )
    if ctx.since is None:  # a review of a period: the scores are in "The programme so far"
        parts.append(chart(charts.checkin_scores, table_, "Check-in scores over time"))
    cites = "; ".join(f"{i.name}: {i.citation}" for i in INSTRUMENTS.values())
    parts.append(
        note(
            "Lower PHQ-9 and GAD-7 scores mean fewer symptoms; higher wellbeing is better. "
            "Reliable change follows Jacobson & Truax (1991): 6 or more PHQ-9 points, 4 or "
            f"more GAD-7 points from the first score. Sources: {cites}."
        )
    )
    return parts


@section(
    REVIEW,
    "practitioner",
    "The practitioner and me",
    needs=(PRACTITIONER_REACTION, "intervention"),
)
def practitioner(ctx: ReportContext) -> Body:
    """Practitioner reactions (always visible to the client) and interventions, intended
    vs perceived, in Heron's six categories."""
    reactions = ctx.frame(PRACTITIONER_REACTION)
    interventions = ctx.frame(INTERVENTION)
    parts: list[Any] = [tag("h3", "The practitioner's reactions to me")]
    if reactions.empty:
        parts.append(note("No practitioner reactions were noted in this period."))
    else:
        rows = [
            (day(r.noted_on), r.reaction, r.possible_source, r.how_addressed)
            for r in reactions.sort_values("noted_on").itertuples()
        ]
        parts.append(table(rows, ["Date", "Reaction", "Possible source", "How it is addressed"]))
    parts.append(tag("h3", "Interventions"))
    if interventions.empty:
        parts.append(note("No interventions were logged in this period."))
        return parts
    pairs, agreement, n = progress.intervention_agreement(interventions)
    intended = interventions["intended"].astype(str).value_counts()
    perceived = interventions["perceived"].astype(str).value_counts()
    shown = _INTERVENTIONS_SHOWN if ctx.since is not None else _INTERVENTIONS_SHOWN_WHOLE
    listed_all = len(interventions) <= shown
    if ctx.since is None or not listed_all:  # a period listed whole: the list says it
        rows = [
            (category, int(intended.get(category, 0)), int(perceived.get(category, 0)))
            for category in progress.INTERVENTION_CATEGORIES
        ]
        parts.append(
            table(
                rows,
                ["Category", "Intended", "Perceived"],
                numeric=(1, 2),
                caption=plural(len(interventions), "intervention"),
            )
        )
    recent = interventions.sort_values("session_on", ascending=False, kind="stable")
    recent = recent.head(shown)
    parts.append(
        table(
            [
                (day(r.session_on), r.description, r.intended, r.perceived)
                for r in recent.itertuples()
            ],
            ["Session", "What the practitioner did", "Intended", "I perceived"],
            caption=plural(len(interventions), "intervention")
            if listed_all
            else f"The {shown} most recent of {plural(len(interventions), 'intervention')}",
        )
    )
    if agreement is None:
        parts.append(note("No intervention has both an intended and a perceived category yet."))
    else:
        parts.append(
            para(
                f"Where both were recorded ({plural(n, 'intervention')}), I perceived "
                f"{percent(agreement)} as the practitioner intended."
            )
        )
        if ctx.since is None:  # a review of a period: the sentence says it
            parts.append(
                chart(
                    charts.intervention_agreement, pairs, "Intended (rows) and perceived (columns)"
                )
            )
    return parts


@section(
    REVIEW,
    "co-counselling",
    "Co-counselling",
    needs=(CO_COUNSELLING_SESSION,),
    empty="No co-counselling sessions in this period.",
)
def co_counselling(ctx: ReportContext) -> Body:
    """Co-counselling sessions of the period, each in the client's own words."""
    sessions = ctx.frame(CO_COUNSELLING_SESSION)
    summary = practice.co_counselling(sessions)
    if summary.sessions == 0:
        return None
    parts: list[Any] = [
        para(
            f"{plural(summary.sessions, 'session')} with {plural(summary.peers, 'peer')}: "
            f"{summary.minutes_as_client} minutes as client, {summary.minutes_as_counsellor} "
            f"as counsellor ({summary.balance})."
        )
    ]
    rows = [
        (
            day(s_.held_on),
            s_.peer_alias,
            s_.contract,
            f"{s_.minutes_as_client} / {s_.minutes_as_counsellor}",
            s_.worked_on,
            s_.discharge,
            s_.re_evaluation,
        )
        for s_ in sessions.sort_values("held_on").itertuples()
    ]
    parts.append(
        table(
            rows,
            [
                "Date",
                "Peer",
                "Contract",
                "Minutes (client / counsellor)",
                "Worked on",
                "Discharge",
                "Re-evaluation",
            ],
            numeric=(3,),
        )
    )
    return parts


@section(
    REVIEW,
    "past-reviews",
    "Past peer reviews",
    needs=(PEER_REVIEW, REVIEW_RATING),
    empty="This is the first peer review.",
)
def past_reviews(ctx: ReportContext) -> Body:
    """My ratings at earlier peer reviews (my own review ratings), and the continuation
    decisions."""
    reviews, mine = ctx.frame(PEER_REVIEW), ctx.frame(REVIEW_RATING)
    if reviews.empty:
        return None
    parts: list[Any] = []
    ratings = progress.review_ratings(reviews, mine)
    if not ratings.empty:
        parts.append(chart(charts.review_ratings, ratings, "My ratings at each review (0-10)"))
    decisions_ = progress.review_decisions(reviews, mine)
    rows = [
        (
            day(r.held_on),
            r.client_view,
            r.practitioner_view,
            r.agreed_outcome,
            join(
                [
                    r.reason,
                    Markup("<br>") if r.dissent else "",
                    f"Dissent: {r.dissent}" if r.dissent else "",
                ]
            ),
        )
        for r in decisions_.itertuples()
    ]
    shown = 2 if ctx.since is not None else len(rows)
    parts.append(
        table(
            rows[-shown:],
            ["Review", "My view", "Practitioner's view", "Agreed", "Reason"],
            caption="Continue, change, pause or end?"
            + (f" The last {shown} reviews." if len(rows) > shown else ""),
        )
    )
    nxt = reviews.sort_values("held_on")["next_review_on"].iloc[-1]
    if nxt == nxt and nxt is not None:
        parts.append(para(f"Next review planned for {day(nxt)}."))
    return parts


@section(
    REVIEW,
    "closing",
    "For the session",
    needs=(
        *_EPISODE_FRAMES,
        f"{EMOTION_EPISODE}.self_management",
        *_HYPOTHESIS_FRAMES,
        CHECK_IN,
        FOCUS_DECISION,
        "intervention",
        AGENDA_ITEM,
        AGENDA_RESPONSE,
    ),
)
def closing(ctx: ReportContext) -> Body:
    """Questions for the session, drawn from the data, ending with the continuation one."""
    asked = questions.closing_questions(_evidence(ctx))
    more = asked[:-1][_GLANCE_QUESTIONS:]
    parts: list[Any] = [
        para(
            "The questions for the session and the question we decide together are on the "
            "first page, under At a glance."
            + (" More questions drawn from the data:" if more else "")
        )
    ]
    if more:
        parts.append(
            tag(
                "ol",
                *(tag("li", q) for q in more),
                class_="questions",
                start=str(_GLANCE_QUESTIONS + 1),
            )
        )
    parts += [
        tag("div", tag("p", "Notes from the session"), class_="notes-box"),
        *based_on_table(ctx),
        note(
            f"heron-research {ctx.version} · generated {ctx.generated_at:%d %b %Y %H:%M} · "
            f"data fingerprint {ctx.short_fingerprint}"
        ),
    ]
    return parts
