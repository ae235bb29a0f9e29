"""Emotion episodes: what the client notices each week, and each episode as they log it.

Three to six a week at times that fit them (work on weekdays, family at the weekend),
emotions from the vocabulary with the odd word of the client's own, intensities that fall
slowly, self-management that is used more and works better, and more clashes at work in
the hard month. A theme under inquiry is noticed more often. Along the way: a few edits,
a private entry shared later, a duplicate deleted, a deletion undone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from heron_research.demo.beats import beat
from heron_research.demo.clock import local
from heron_research.demo.stage import Logged, Stage
from heron_research.demo.story import ANGER_WITH_SELF_MANAGEMENT, Scene
from heron_research.records import EmotionEpisode, Sharing
from heron_research.vocab import emotions as emotion_vocabulary

__all__ = ["log_episode", "week_episodes"]


def clamp(value: float, lo: int, hi: int) -> int:
    return max(lo, min(hi, round(value)))


@dataclass(frozen=True)
class Attention:
    contexts: dict[date, list[float]]  # context weights for each day of the week
    scenes: dict[str, list[float]]  # scene weights within each context


def week_episodes(stage: Stage, week: int, per_week: tuple[int, int]) -> None:
    """The episodes of ``week``: the usual ones, the hard month's, and inquiry's."""
    rng, calendar, story = stage.rng, stage.calendar, stage.story
    monday = calendar.monday(week)
    days = [monday + timedelta(days=i) for i in range(7)]
    days = [d for d in days if d > calendar.first_day]  # the first day is the intake
    if not days:
        return
    attention = _attention(stage, monday, days)
    n = rng.randint(*per_week)
    for _ in range(n):
        log_episode(stage, rng.choice(days), attention)
    # the hard month at work: more clashes, and the client logs them
    clashes = [d for d in days if calendar.in_spike(d) and d.weekday() < 5]
    if clashes:
        for _ in range(round(n * 0.5 * len(clashes) / 5)):
            scene = rng.choice(story.spike_scenes)
            log_episode(stage, rng.choice(clashes), attention, scene)
    # an inquiry cycle under way: most weeks the client watches for, and logs, its moment
    for cycle in story.cycles:
        begins = calendar.day_at(cycle.start)
        ends = begins + timedelta(days=7 * calendar.cycle_weeks)
        if per_week[1] == 0 or not (begins <= days[-1] and monday <= ends):
            continue
        if rng.random() > 0.85:
            continue
        scenes = [sc for sc in story.scenes if sc.theme in cycle.themes]
        if not scenes:
            continue
        scene = rng.choice(scenes)
        context = story.context[scene.context]
        fitting = [
            d
            for d in days
            if context.day_weights[d.weekday()] > 0 and scene.fits(d) and begins <= d <= ends
        ]
        if fitting:
            log_episode(stage, rng.choice(fitting), attention, scene)


def _attention(stage: Stage, monday: date, days: list[date]) -> Attention:
    """What the client notices (and logs) this week, as weights for contexts and scenes.

    A theme under inquiry in a cycle is noticed four times as often; one a hypothesis
    is testing, twice as often; work looms larger in the hard month.
    """
    calendar, story = stage.calendar, stage.story
    sunday = monday + timedelta(days=6)
    boost: dict[str, float] = {}
    for h in story.hypotheses:
        if calendar.day_at(h.schedule[0][0]) <= sunday and monday <= calendar.day_at(h.end):
            for theme in h.themes:
                boost[theme] = max(boost.get(theme, 1.0), 2.0)
    for c in story.cycles:
        begins = calendar.day_at(c.start)
        if begins <= sunday and monday <= begins + timedelta(days=7 * calendar.cycle_weeks):
            for theme in c.themes:
                boost[theme] = 4.0
    scenes = {
        c.name: [boost.get(sc.theme, 1.0) for sc in story.scenes_by_context[c.name]]
        for c in story.contexts
    }
    contexts = {}
    for day in days:
        spike = calendar.in_spike(day)
        weights = []
        for c in story.contexts:
            w = c.day_weights[day.weekday()] * max(scenes[c.name]) ** 0.5
            if spike and c.spike != 1.0:
                w *= c.spike
            weights.append(w)
        contexts[day] = weights
    return Attention(contexts, scenes)


@beat(EmotionEpisode)
def log_episode(stage: Stage, day: date, attention: Attention, scene: Scene | None = None) -> None:
    """One episode on ``day``: of ``scene``, or of one the client's attention picks."""
    rng, story, words = stage.rng, stage.story, stage.story.episodes
    p = stage.calendar.progress(day)
    q = min(p, 1.0) + 0.1 * min(max(p - 1.0, 0.0), 1.0)  # learning, slowing after the end
    spike = stage.calendar.in_spike(day)
    weekday = day.weekday()
    if scene is None:
        context = rng.choices(story.contexts, attention.contexts[day])[0]
        scenes = story.scenes_by_context[context.name]
        weights = attention.scenes[context.name]
        weights = [w if sc.fits(day) else 0.0 for sc, w in zip(scenes, weights, strict=True)]
        scene = rng.choices(scenes, weights)[0]
    else:
        context = story.context[scene.context]
    if scene.hours is not None:
        lo, hi = scene.hours
    else:
        hours = context.weekend_hours if weekday >= 5 and context.weekend_hours else None
        lo, hi = rng.choice(hours or context.weekday_hours)
    occurred = stage.time(day, lo, hi)

    # emotions: the first is the strongest; intensities fall as the programme goes on
    terms = [t for t, _ in scene.emotions]
    weights = [w for _, w in scene.emotions]
    first = rng.choices(terms, weights)[0]
    if spike and context.work and not scene.pleasant and rng.random() < 0.7:
        first = "anger"
    others = [t for t in terms if t != first]
    chosen = [first, *rng.sample(others, k=rng.randint(0, len(others)))]
    if scene.pleasant:
        peak = 5.5 + 1.0 * q + scene.level + rng.gauss(0, 1.2)
    else:
        peak = 6.8 - 3.0 * q + scene.level + rng.gauss(0, 1.2)
        if spike and context.work:
            peak += 2.0
    ratings = [{"emotion": first, "intensity": clamp(peak, 1, 10)}]
    for term in chosen[1:]:
        ratings.append({"emotion": term, "intensity": clamp(peak - rng.uniform(1, 3), 1, 10)})
    if rng.random() < 0.04:
        word = rng.choice(words.custom_words)
        ratings.append({"emotion": word, "intensity": clamp(peak - rng.uniform(0, 2), 1, 10)})
    top = max(r["intensity"] for r in ratings)

    vocabulary = emotion_vocabulary()
    self_management: list[dict[str, Any]] = []
    if not scene.pleasant and rng.random() < 0.2 + 0.75 * min(q, 1.0):
        family = vocabulary[first].family if first in vocabulary else ""
        for _ in range(2 if rng.random() < 0.2 else 1):
            item = _self_management(stage, family, top, q, p)
            if all(item["technique"] != s["technique"] for s in self_management):
                self_management.append(item)

    if scene.pleasant:
        proportionality = clamp(rng.uniform(8, 10), 0, 10)
        thoughts = rng.choice(words.thoughts_pleasant)
        body = rng.choice(words.body_pleasant)
        did = rng.choice(words.did_pleasant)
    else:
        theme_penalty = 1.5 if scene.theme and q < 0.6 else 0.0
        proportionality = clamp(3.5 + 4.5 * min(q, 1.0) - theme_penalty + rng.gauss(0, 1.2), 0, 10)
        thoughts = rng.choice(context.thoughts)
        body = rng.choice(words.body)
        did = rng.choice(words.did_later if rng.random() < 0.15 + 0.65 * q else words.did_early)
    notes = ""
    if rng.random() < 0.08:
        notes = rng.choice(words.notes)
    elif scene.theme == words.echo_theme and p > 0.1 and rng.random() < 0.3:
        notes = words.echo_note

    delay = rng.random()
    if delay < 0.7:
        entered = occurred + timedelta(minutes=rng.randint(5, 90))
    elif delay < 0.95:
        entered = occurred + timedelta(minutes=rng.randint(120, 300))
    else:
        entered = local(day + timedelta(days=1), rng.randint(7 * 60 + 30, 9 * 60))
    entered = entered.astimezone(UTC)

    private = rng.random() < 0.03 + scene.private
    # the story needs a private entry to share later, and one to delete and restore
    if (p >= 0.3 and "shared_later" not in stage.happened) or (
        p >= 0.5 and "restored" not in stage.happened
    ):
        private = True
    sharing = Sharing.PRIVATE if private else stage.shared(entered, 0.22)
    episode = EmotionEpisode(
        id=stage.new_id(),
        sharing=sharing,
        occurred_at=occurred,
        situation=scene.text,
        emotions=ratings,
        body_sensations=body if rng.random() < 0.85 else "",
        thoughts=thoughts if rng.random() < 0.9 else "",
        people=[stage.people[a] for a in scene.people if a in stage.people],
        what_i_did=did,
        proportionality=proportionality if rng.random() < 0.92 else None,
        self_management=self_management,
        notes=notes,
    )
    stage.save(entered, episode)
    if _afterwards(stage, episode, entered, p):
        return  # duplicated or deleted: not used as evidence
    strengths = {r["emotion"]: r["intensity"] for r in ratings}
    logged = Logged(episode.id, entered, strengths)
    if scene.theme:
        stage.logged.setdefault(scene.theme, []).append(logged)
    if self_management and any(
        vocabulary[t].family == "anger" for t in strengths if t in vocabulary
    ):
        stage.logged.setdefault(ANGER_WITH_SELF_MANAGEMENT, []).append(logged)


def _self_management(stage: Stage, family: str, before: int, q: float, p: float) -> dict[str, Any]:
    """A technique the client has learned by ``q``, and the intensity after it."""
    rng, words = stage.rng, stage.story.episodes
    if rng.random() < 0.02:
        own = rng.choice(words.own_techniques)
        drop = own.drop
        item: dict[str, Any] = {"technique": own.technique, "skill": own.skill}
    else:
        names, weights = [], []
        for name, t in words.techniques.items():
            if (t.after_programme and p <= 1.0) or q < t.learned:
                continue
            familiarity = min(1.0, (q - t.learned) / 0.3)
            names.append(name)
            weights.append((1 + 2 * familiarity) * (3 if family in t.suits else 1))
        technique = rng.choices(names, weights)[0]
        drop = words.techniques[technique].drop
        item = {"technique": technique}
    effect = drop * (0.6 + 0.4 * min(1.0, q * 1.5)) + rng.gauss(0, 0.9)
    after = clamp(before - effect, 0, before)
    if after >= before and before > 0 and rng.random() < 0.8:
        after = before - 1
    item.update(intensity_before=before, intensity_after=after)
    return item


def _afterwards(stage: Stage, episode: EmotionEpisode, entered: datetime, p: float) -> bool:
    """What becomes of an entry: edits, shared later, a duplicate deleted, a deletion undone.

    True if the entry is not one to count as evidence (it was deleted).
    """
    rng = stage.rng
    if episode.sharing is Sharing.PRIVATE:
        if p >= 0.3 and stage.once("shared_later"):
            note = f"{episode.notes} {stage.story.episodes.shared_later_note}".strip()
            later = episode.model_copy(update={"sharing": Sharing.PRACTITIONER, "notes": note})
            stage.save(entered + timedelta(days=rng.randint(5, 12)), later)
            return False
        if p >= 0.5 and stage.once("restored"):
            gone = entered + timedelta(days=2, minutes=rng.randint(0, 120))
            stage.mark(gone, "delete", episode.id)
            stage.mark(gone + timedelta(minutes=rng.randint(3, 30)), "restore", episode.id)
            return True
        return False
    if p >= 0.33 and stage.once("duplicate"):
        twin = episode.model_copy(update={"id": stage.new_id()})
        stage.save(entered + timedelta(minutes=2), twin)
        stage.mark(entered + timedelta(days=1, minutes=rng.randint(0, 600)), "delete", twin.id)
        return False
    if rng.random() < 0.02:
        changes: dict[str, Any] = {"notes": rng.choice(stage.story.episodes.edit_notes)}
        if episode.proportionality is not None and episode.proportionality < 10:
            changes["proportionality"] = episode.proportionality + 1
        stage.save(entered + timedelta(days=rng.randint(1, 3)), episode.model_copy(update=changes))
    return False
