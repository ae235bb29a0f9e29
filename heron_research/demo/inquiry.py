"""Projection hypotheses and inquiry cycles: the client's research on their own life.

A hypothesis is looked at again every few weeks: the episodes of its themes logged since
the last look are weighed as evidence (three at most each time), its confidence follows,
and its status moves on as ``hypotheses.toml`` schedules. An inquiry cycle goes through
its phases (plan, act, observe, reflect) and gathers the episodes of its themes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from heron_research.demo.beats import beat
from heron_research.demo.clock import SUN, TIME_ZONE, local
from heron_research.demo.episodes import clamp
from heron_research.demo.stage import Logged, Stage
from heron_research.demo.story import CyclePlan, HypothesisPlan
from heron_research.records import Evidence, InquiryCycle, ProjectionHypothesis, Sharing

__all__ = ["look_at_hypothesis", "plan_cycles", "plan_hypotheses", "step_cycle"]


@dataclass
class HypothesisState:
    """A hypothesis as it stands between looks."""

    plan: HypothesisPlan
    id: str
    opened_on: date
    evidence: list[Evidence] = field(default_factory=list)
    confidence: list[dict[str, Any]] = field(default_factory=list)
    supports: int = 0
    contradicts: int = 0
    last_update: datetime | None = None
    created_at: datetime | None = None
    revised: bool = False
    looked: bool = False
    used: set[str] = field(default_factory=set)


def plan_hypotheses(stage: Stage) -> None:
    """Schedule each hypothesis: opened, then looked at every few Sundays to its end."""
    calendar = stage.calendar
    for plan in stage.story.hypotheses:
        opened = calendar.day_at(plan.schedule[0][0])
        last = calendar.day_at(plan.end)
        first_week, last_week = calendar.week_of(opened), calendar.week_of(last)
        interval = max(2, round((last_week - first_week) / 12))
        weeks = set(range(first_week, last_week + 1, interval))
        weeks |= {calendar.week_of(calendar.day_at(f)) for f, _ in plan.schedule}
        weeks.add(last_week)
        state = HypothesisState(plan=plan, id=stage.new_id(), opened_on=opened)
        stage.at(stage.time(opened, 20.5, 21.5), look_at_hypothesis, state)
        for week in sorted(weeks):
            sunday = calendar.on_weekday(week, SUN)
            if sunday > opened:
                stage.at(stage.time(sunday, 21, 22), look_at_hypothesis, state)


def _weigh(stage: Stage, state: HypothesisState, at: datetime, day: date) -> None:
    """Add the evidence logged since the last look (three episodes at most)."""
    plan = state.plan
    assert state.last_update is not None
    # the first look also takes in the weeks before: the episodes that prompted it
    since = state.last_update - timedelta(days=0 if state.looked else 21)
    state.looked = True
    found: list[tuple[Logged, str, str]] = []
    for theme in plan.themes:
        for logged in stage.logged.get(theme, ()):
            if not since <= logged.entered < at or logged.id in state.used:
                continue
            strength = max((logged.emotions.get(t, 0) for t in plan.targets), default=0)
            rule = plan.weigh(theme, strength, state.revised)
            if rule is not None:
                found.append((logged, rule.direction, rule.note))
    found.sort(key=lambda f: (f[0].entered, f[0].id))
    picked = sorted(
        stage.rng.sample(found, k=min(3, len(found))), key=lambda f: (f[0].entered, f[0].id)
    )
    for logged, direction, note in picked:
        state.used.add(logged.id)
        state.evidence.append(
            Evidence(episode_id=logged.id, direction=direction, note=note, added_on=day)
        )
        if direction == "supports":
            state.supports += 1
        else:
            state.contradicts += 1


@beat(ProjectionHypothesis)
def look_at_hypothesis(stage: Stage, at: datetime, state: HypothesisState) -> None:
    """Open the hypothesis, or look at it again: evidence, confidence, status."""
    plan, calendar = state.plan, stage.calendar
    state.created_at = state.created_at or at
    day = at.astimezone(TIME_ZONE).date()
    p = calendar.progress(day)
    status = plan.schedule[0][1]
    for fraction, name in plan.schedule:
        if day >= calendar.day_at(fraction):
            status = name
    echoes, unprocessed, prediction = plan.echoes, plan.unprocessed, plan.prediction
    if plan.revision is not None and day >= calendar.day_at(plan.revision.at):
        revision = plan.revision
        echoes, unprocessed, prediction = revision.echoes, revision.unprocessed, revision.prediction
        if not state.revised:
            state.revised = True
            state.supports = state.contradicts = 0
    if state.last_update is not None:
        _weigh(stage, state, at, day)
    prior = 55 if state.revised else plan.prior
    confidence = clamp(
        (4 * prior + 100 * state.supports) / (4 + state.supports + state.contradicts), 5, 95
    )
    state.confidence.append({"on": day, "confidence": confidence, "status": status})
    state.last_update = at
    stage.hypotheses[plan.key] = state.id
    private = p < plan.private_until
    stage.save(
        at,
        ProjectionHypothesis(
            id=state.id,
            sharing=Sharing.PRIVATE if private else stage.for_research(at, state.created_at),
            opened_on=state.opened_on,
            person_id=stage.people.get(plan.person) if plan.person else None,
            situation=plan.situation,
            reaction=plan.reaction,
            echoes=echoes,
            unprocessed_emotion=unprocessed,
            prediction=prediction,
            evidence=list(state.evidence),
            confidence=list(state.confidence),
            status=status,
        ),
    )


@dataclass
class CycleRun:
    """An inquiry cycle under way."""

    plan: CyclePlan
    id: str
    start: date
    days: int
    created_at: datetime | None = None


def plan_cycles(stage: Stage) -> None:
    """Schedule each cycle's phases (an abandoned one stops half way)."""
    for plan in stage.story.cycles:
        start = stage.calendar.day_at(plan.start)
        days = 7 * stage.calendar.cycle_weeks
        cycle = CycleRun(plan=plan, id=stage.new_id(), start=start, days=days)
        phases = ["planning", "acting", "observing", "reflecting", "completed"]
        offsets = [0, 2, days // 2, days, days + 3]
        if plan.abandoned:
            phases, offsets = [*phases[:2], "abandoned"], [*offsets[:2], days // 2]
        for phase, offset in zip(phases, offsets, strict=True):
            day = start + timedelta(days=offset)
            stage.at(stage.time(day, 20, 22), step_cycle, cycle, phase)


@beat(InquiryCycle)
def step_cycle(stage: Stage, at: datetime, cycle: CycleRun, phase: str) -> None:
    """Save the cycle as it stands in ``phase``."""
    plan = cycle.plan
    begun = local(cycle.start, 0).astimezone(UTC)
    seen = sorted(
        (
            logged
            for theme in plan.themes
            for logged in stage.logged.get(theme, ())
            if begun <= logged.entered < at
        ),
        key=lambda logged: (logged.entered, logged.id),
    )
    limit = {"observing": 6, "abandoned": 4}.get(phase, 10)
    private = plan.sharing is Sharing.PRIVATE
    fields: dict[str, Any] = {
        "id": cycle.id,
        "sharing": plan.sharing if private else stage.for_research(at, cycle.created_at),
        "question": plan.question,
        "plan": plan.plan,
        "started_on": cycle.start,
        "status": phase,
    }
    hypothesis = stage.hypotheses.get(plan.hypothesis or "")
    if hypothesis is not None:
        fields["hypothesis_id"] = hypothesis
    if phase in ("observing", "reflecting", "completed", "abandoned"):
        fields["episode_ids"] = [logged.id for logged in seen[:limit]]
        fields["observations"] = (
            plan.observations if phase != "observing" else "So far: " + plan.observations
        )
    if phase in ("reflecting", "completed", "abandoned"):
        fields["reflection"] = {
            "experiential": plan.experiential,
            "presentational": plan.presentational,
            "propositional": plan.propositional,
            "practical": plan.practical,
        }
    if phase in ("completed", "abandoned"):
        fields["outcome"] = plan.outcome
        fields["next_step"] = plan.next_step
        fields["ends_on"] = at.astimezone(TIME_ZONE).date()
    else:
        fields["ends_on"] = cycle.start + timedelta(days=cycle.days)
    cycle.created_at = cycle.created_at or at
    stage.save(at, InquiryCycle(**fields))
