"""Peer reviews: monthly, on the last Thursday, with the agenda raised since the last one.

The client's own ratings and view on continuing (a review rating, linked to the review),
the practitioner's record of the review (their view, the agreed outcome), the
practitioner's response to each agenda item (most resolved, the rest followed up at the
next review), and the decision that comes out of it. One review near the middle has
dissent; the last ends the programme.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from heron_research.demo.beats import beat
from heron_research.demo.clock import THU, TIME_ZONE, first_of_next_month, local
from heron_research.demo.episodes import clamp
from heron_research.demo.stage import Stage
from heron_research.records import (
    AgendaItem,
    AgendaResponse,
    FocusDecision,
    PeerReview,
    ReviewRating,
)

__all__ = [
    "follow_up_day",
    "hold_review",
    "plan_reviews",
    "raise_follow_up_item",
    "raise_item",
    "raise_practitioner_item",
]


@dataclass(frozen=True)
class ReviewPlan:
    id: str
    held_on: date
    period_start: date
    next_review_on: date | None
    outcome: str  # continue, dissent or final (an entry of reviews.toml [outcome])

    @property
    def final(self) -> bool:
        return self.outcome == "final"


def review_days(stage: Stage) -> list[date]:
    """The last Thursday of each month, two weeks clear of either end, and the last day."""
    calendar = stage.calendar
    days: list[date] = []
    month = date(calendar.start.year, calendar.start.month, 1)
    while month <= calendar.programme_end:
        following = first_of_next_month(month)
        last_thursday = following - timedelta(days=(following.weekday() - THU) % 7 or 7)
        if last_thursday >= calendar.start + timedelta(
            days=14
        ) and last_thursday <= calendar.programme_end - timedelta(days=14):
            days.append(last_thursday)
        month = following
    days.append(calendar.programme_end)
    return days


def follow_up_day(stage: Stage) -> date:
    """The day of the follow-up review the last review plans: just after the last day."""
    return stage.calendar.last_day + timedelta(days=stage.story.reviews.follow_up_after)


def plan_reviews(stage: Stage) -> None:
    """Schedule the reviews, the agenda items raised in the weeks before each, and the
    client's items for the follow-up review after the last one."""
    rng = stage.rng
    days = review_days(stage)
    dissent = None
    if len(days) >= 3:
        dissent = min(days[1:-1], key=lambda d: abs(stage.calendar.progress(d) - 0.45))
    previous = stage.calendar.start
    for i, day in enumerate(days):
        window = (day - previous).days
        for _ in range(rng.randint(2, 3)):
            raised = previous + timedelta(days=rng.randint(1, max(1, window - 1)))
            stage.at(stage.time(raised, 19, 22), raise_item)
        if rng.random() < 0.4:
            raised = previous + timedelta(days=rng.randint(1, max(1, window - 1)))
            stage.at(stage.time(raised, 17, 18), raise_practitioner_item)
        final = i == len(days) - 1
        review = ReviewPlan(
            id=stage.new_id(),
            held_on=day,
            period_start=previous,
            next_review_on=days[i + 1] if i + 1 < len(days) else follow_up_day(stage),
            outcome="dissent" if day == dissent else "final" if final else "continue",
        )
        stage.at(local(day, 19 * 60 + 30), hold_review, review)
        previous = day + timedelta(days=1)
    # the follow-up review's agenda: fixed items (no random draw, so the story before is
    # unchanged), each after the last review and on or before the last day
    last_day, end = stage.calendar.last_day, stage.calendar.programme_end
    for n, (item_type, text, before) in enumerate(stage.story.reviews.follow_up):
        raised = min(last_day, max(end + timedelta(days=1 + n), last_day - timedelta(before)))
        item = AgendaItem(
            id=stage.derived_id(stage.calendar.start.isoformat(), review.id, "follow-up", str(n)),
            raised_on=raised,
            raised_by="client",
            item_type=item_type,
            text=text,
        )
        stage.at(local(raised, 20 * 60 + 45 + n), raise_follow_up_item, item)


@beat(AgendaItem)
def raise_item(stage: Stage, at: datetime) -> None:
    """The client puts an item on the next review's agenda."""
    rng, agenda = stage.rng, stage.story.reviews.client_agenda
    item_type = rng.choices(tuple(agenda), tuple(weight for weight, _ in agenda.values()))[0]
    item = AgendaItem(
        id=stage.new_id(),
        raised_on=at.astimezone(TIME_ZONE).date(),
        raised_by="client",
        item_type=item_type,
        text=rng.choice(agenda[item_type][1]),
    )
    stage.agenda.append(item)
    stage.save(at, item)


@beat(AgendaItem)
def raise_follow_up_item(stage: Stage, at: datetime, item: AgendaItem) -> None:
    """The client puts an item on the follow-up review's agenda (no random draw)."""
    stage.save(at, item)


@beat(AgendaItem)
def raise_practitioner_item(stage: Stage, at: datetime) -> None:
    """The practitioner puts an item of their own on the agenda."""
    item_type, text = stage.rng.choice(stage.story.reviews.practitioner_agenda)
    item = AgendaItem(
        id=stage.new_id(),
        raised_on=at.astimezone(TIME_ZONE).date(),
        raised_by="practitioner",
        item_type=item_type,
        text=text,
    )
    stage.agenda.append(item)
    stage.save(at, item)


@beat(PeerReview, ReviewRating, AgendaResponse, FocusDecision)
def hold_review(stage: Stage, at: datetime, plan: ReviewPlan) -> None:
    """The review: the practitioner's record and the client's ratings, each in their own
    words, responses to the agenda, the decision."""
    rng, words = stage.rng, stage.story.reviews
    q = min(stage.calendar.progress(plan.held_on), 1.0)

    def rate(base: float, gain: float) -> int:
        return clamp(base + gain * q + rng.gauss(0, 0.7), 0, 10)

    ratings = {
        "focus": rate(6.0, 2.5),
        "method": rate(5.5, 3.0),
        "relationship": rate(6.5, 2.0),
        "my_say": rate(3.0, 6.0),
        "overall": rate(5.5, 3.0),
    }
    outcome = words.outcomes[plan.outcome]
    review = PeerReview(
        id=plan.id,
        sharing=stage.for_research(at),
        held_on=plan.held_on,
        period_start=plan.period_start,
        period_end=plan.held_on,
        practitioner_view=outcome.practitioner_view,
        agreed_outcome=outcome.agreed,
        reason=outcome.reason,
        dissent=outcome.dissent,
        next_review_on=plan.next_review_on,
    )
    stage.save(at, review)
    # the client's part, in their own record: shared as the review is
    stage.save(
        at + timedelta(minutes=20),
        ReviewRating(
            id=stage.derived_id(plan.id, "rating"),
            sharing=stage.for_research(at),
            review_id=plan.id,
            rated_on=plan.held_on,
            ratings=ratings,
            client_view=outcome.client_view,
        ),
    )
    # the agenda raised since the last review: a response to each, most resolved
    carried: list[AgendaItem] = []
    for i, item in enumerate(stage.agenda):
        resolved = plan.final or rng.random() < 0.8
        response = rng.choice(words.responses[item.item_type])
        if item.id in stage.open_at:  # carried over: resolved at this, its second review
            response = f"Followed up from the last review: {response}"
            resolved = True
        stage.save(
            at + timedelta(minutes=1 + i),
            AgendaResponse(
                id=stage.derived_id(item.id, plan.id),
                sharing=item.sharing,  # the answer goes where the item goes
                agenda_item_id=item.id,
                responded_on=plan.held_on,
                response=response,
                resolved=resolved,
                review_id=plan.id,
            ),
        )
        if resolved:
            stage.open_at.pop(item.id, None)
        else:
            stage.open_at[item.id] = plan.id
            carried.append(item)
    stage.agenda = carried
    decision = outcome.decision
    stage.save(
        at + timedelta(minutes=30),
        FocusDecision(
            id=stage.new_id(),
            sharing=stage.for_research(at),
            decided_on=plan.held_on,
            topic=decision.topic,
            decision=decision.decision,
            proposed_by=decision.proposed_by,
            decided_by=decision.decided_by,
        ),
    )
