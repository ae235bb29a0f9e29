"""The programme's sessions: the intake, consent, people, check-ins, weekly sessions and
the practitioner's reactions; after the programme, the client's own reviews and
co-counselling.

Weekly sessions bring interventions (intended and perceived categories) and focus
decisions that move from hierarchy towards autonomy. Fortnightly PHQ-9, GAD-7 and
wellbeing check-ins improve (PHQ-9 item 9 above 0 exactly once, early on).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from heron_research.demo.beats import beat
from heron_research.demo.clock import TIME_ZONE
from heron_research.demo.episodes import clamp
from heron_research.demo.stage import Stage
from heron_research.demo.story import Decision, PersonEntry, Reaction
from heron_research.principles import current_principles
from heron_research.records import (
    CheckIn,
    CoCounsellingSession,
    ConsentEntry,
    FocusDecision,
    Intervention,
    Person,
    PractitionerReaction,
    Sharing,
)

__all__ = [
    "change_consent",
    "check_ins",
    "co_counselling",
    "decision_after_programme",
    "edit_person",
    "intake",
    "own_review",
    "practitioner_reaction",
    "register_peer",
    "session",
]


def _person(stage: Stage, entry: PersonEntry, *, same: str = "", notes: str = "") -> Person:
    """The person ``entry`` describes: new, or ``same`` id saved again with new ``notes``."""
    return Person(
        id=same or stage.new_id(),
        sharing=entry.sharing,
        alias=entry.alias,
        relationship=entry.relationship,
        notes=notes or entry.notes,
    )


def _decision(stage: Stage, at: datetime, decision: Decision, **extra: object) -> FocusDecision:
    return FocusDecision(
        id=stage.new_id(),
        decided_on=at.astimezone(TIME_ZONE).date(),
        topic=decision.topic,
        decision=decision.decision,
        proposed_by=decision.proposed_by,
        decided_by=decision.decided_by,
        **extra,
    )


@beat(ConsentEntry, Person, FocusDecision)
def intake(stage: Stage, at: datetime) -> None:
    """The first session: consent to everything, the people, how sessions will run."""
    words = stage.story.sessions
    stage.save(
        at + timedelta(minutes=6),
        ConsentEntry(
            id=stage.new_id(),
            sharing=Sharing.PRACTITIONER,
            recorded_at=(at + timedelta(minutes=5)).astimezone(TIME_ZONE),
            principles_version=current_principles().version,
            training=True,
            practitioner_sharing=True,
            research=True,
            note=words.intake_consent_note,
        ),
    )
    for i, entry in enumerate(stage.story.people):
        person = _person(stage, entry)
        stage.people[entry.alias] = person.id
        stage.save(at + timedelta(minutes=10 + i), person)
    stage.save(at + timedelta(minutes=40), _decision(stage, at, words.intake_decision))
    check_ins(stage, at + timedelta(minutes=30), first=True)


@beat(ConsentEntry)
def change_consent(stage: Stage, at: datetime, research: bool) -> None:
    """Research consent withdrawn (``research`` False) or given again."""
    words = stage.story.sessions
    stage.save(
        at + timedelta(minutes=1),
        ConsentEntry(
            id=stage.new_id(),
            sharing=Sharing.PRACTITIONER,
            recorded_at=at.astimezone(TIME_ZONE),
            principles_version=current_principles().version,
            training=True,
            practitioner_sharing=True,
            research=research,
            note=words.given_again_note if research else words.withdrawn_note,
        ),
    )


@beat(Person)
def edit_person(stage: Stage, at: datetime) -> None:
    """The client rewrites the notes on one person."""
    alias, notes = stage.story.person_edit
    entry = next(p for p in stage.story.people if p.alias == alias)
    stage.save(at, _person(stage, entry, same=stage.people[alias], notes=notes))


@beat(Person)
def register_peer(stage: Stage, at: datetime) -> None:
    """The co-counselling peer, met on the fundamentals course."""
    person = _person(stage, stage.story.peer)
    stage.people[person.alias] = person.id
    stage.save(at, person)


def _spread(stage: Stage, total: int, n: int, top: int) -> list[int]:
    answers = [0] * n
    for _ in range(min(total, n * top)):
        i = stage.rng.choice([k for k in range(n) if answers[k] < top])
        answers[i] += 1
    return answers


@beat(CheckIn)
def check_ins(stage: Stage, at: datetime, first: bool = False) -> None:
    """PHQ-9, GAD-7 and wellbeing, a few minutes apart."""
    rng = stage.rng
    day = at.astimezone(TIME_ZONE).date()
    q = min(stage.calendar.progress(day), 1.1)
    sharing = stage.shared(at, 1.0)
    phq = clamp(16 - 11 * q + rng.gauss(0, 1.3), 0, 24)
    item9 = 1 if not first and stage.once("item9") else 0
    phq9 = [*_spread(stage, phq - item9, 8, 3), item9]
    gad7 = _spread(stage, clamp(13 - 9.5 * q + rng.gauss(0, 1.2), 0, 21), 7, 3)
    wellbeing = [clamp(3.5 + 3.5 * q + rng.gauss(0, 0.9), 0, 10) for _ in range(4)]
    for i, (instrument, answers) in enumerate(
        (("phq9", phq9), ("gad7", gad7), ("wellbeing", wellbeing))
    ):
        taken = at + timedelta(minutes=3 * i)
        stage.save(
            taken + timedelta(minutes=2),
            CheckIn(
                id=stage.new_id(),
                sharing=sharing,
                taken_at=taken.astimezone(TIME_ZONE),
                instrument=instrument,
                answers=answers,
            ),
        )


def _decided_by(stage: Stage, q: float) -> tuple[str, str]:
    """How a decision is made at progress ``q``: hierarchy early, autonomy late."""
    rng = stage.rng
    autonomy = 0.02 + q**1.5
    hierarchy = 0.02 + (1 - q) ** 2
    roll = rng.random() * (autonomy + hierarchy + 0.25)
    if roll < hierarchy:
        return "hierarchy", "practitioner" if rng.random() < 0.85 else "both"
    if roll < hierarchy + autonomy:
        return "autonomy", "client"
    proposer = rng.choices(("practitioner", "both", "client"), (1 - q, 1, q))[0]
    return "co-operation", proposer


@beat(Intervention, FocusDecision)
def session(stage: Stage, at: datetime) -> None:
    """A weekly session: one to three interventions, and perhaps a focus decision."""
    rng, words = stage.rng, stage.story.sessions
    day = at.astimezone(TIME_ZONE).date()
    q = min(stage.calendar.progress(day), 1.0)
    categories = tuple(words.interventions)
    mix = [i.early + (i.late - i.early) * q for i in words.interventions.values()]
    for i in range(rng.randint(1, 3)):
        intended = rng.choices(categories, mix)[0]
        if rng.random() < 0.6 + 0.3 * q:
            perceived: str | None = intended
        else:
            misread = words.interventions[intended].misread_as
            perceived = misread if rng.random() < 0.85 else None
        record = Intervention(
            id=stage.new_id(),
            sharing=stage.shared(at, 0.3),
            session_on=day,
            description=rng.choice(words.interventions[intended].texts),
            intended=intended,
            perceived=perceived,
        )
        saved = at + timedelta(minutes=2 * i)
        if perceived is not None and rng.random() < 0.3:
            # the practitioner logs the intention; the client adds how it landed later
            stage.save(saved, record.model_copy(update={"perceived": None}))
            stage.save(saved + timedelta(hours=rng.randint(14, 40)), record)
        else:
            stage.save(saved, record)
    if rng.random() < 0.35 + 0.4 * q:  # the client brings more decisions as they go
        decided_by, proposed_by = _decided_by(stage, q)
        topic = rng.choice(tuple(words.decisions))
        decision = FocusDecision(
            id=stage.new_id(),
            sharing=stage.for_research(at),
            decided_on=day,
            topic=topic,
            decision=rng.choice(words.decisions[topic]),
            proposed_by=proposed_by,
            decided_by=decided_by,
        )
        stage.save(at + timedelta(minutes=8), decision)
        if decided_by == "autonomy" and stage.once("first_autonomy"):
            stage.save(
                at + timedelta(days=2, minutes=rng.randint(0, 200)),
                decision.model_copy(update={"notes": words.first_autonomy_note}),
            )


@beat(PractitionerReaction)
def practitioner_reaction(stage: Stage, at: datetime, reactions: Iterator[Reaction]) -> None:
    """The practitioner's note of their own reaction: the next of ``reactions``."""
    reaction = next(reactions)
    stage.save(
        at,
        PractitionerReaction(
            id=stage.new_id(),
            noted_on=at.astimezone(TIME_ZONE).date(),
            reaction=reaction.reaction,
            possible_source=reaction.possible_source,
            how_addressed=reaction.how_addressed,
        ),
    )


@beat(FocusDecision)
def decision_after_programme(stage: Stage, at: datetime) -> None:
    """The client's own plan for after the programme."""
    stage.save(at, _decision(stage, at, stage.story.sessions.after_programme))


@beat(FocusDecision)
def own_review(stage: Stage, at: datetime) -> None:
    """The client's monthly workbook review after the programme: their own call."""
    rng, words = stage.rng, stage.story.sessions
    topic = rng.choice(words.own_review_topics)
    stage.save(
        at,
        FocusDecision(
            id=stage.new_id(),
            decided_on=at.astimezone(TIME_ZONE).date(),
            topic=topic,
            decision=rng.choice(words.decisions[topic]),
            proposed_by="client",
            decided_by="autonomy",
            notes=words.own_review_note,
        ),
    )


@beat(CoCounsellingSession)
def co_counselling(stage: Stage, at: datetime) -> None:
    """A co-counselling session with the peer: equal time each way."""
    rng, words = stage.rng, stage.story.sessions
    minutes = rng.choice(words.co_counselling_minutes)
    contracts = words.contracts
    stage.save(
        at + timedelta(minutes=2 * minutes + 20),
        CoCounsellingSession(
            id=stage.new_id(),
            sharing=stage.shared(at, 0.5),
            held_on=at.astimezone(TIME_ZONE).date(),
            peer_alias=stage.story.peer.alias,
            minutes_as_client=minutes,
            minutes_as_counsellor=minutes,
            contract=rng.choices(tuple(contracts), tuple(contracts.values()))[0],
            worked_on=rng.choice(words.worked_on),
            discharge=rng.choice(words.discharge),
            re_evaluation=rng.choice(words.re_evaluation),
        ),
    )
