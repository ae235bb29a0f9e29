"""Read the demo's story from ``data/demo/`` (packaged in the wheel) into :class:`Story`.

Each file is checked as it is read, and the files against each other (every alias,
context, theme and hypothesis a file names exists): a mistake in the story fails with
the file and the entry, not later as a missing key in the middle of a simulation.
"""

from __future__ import annotations

import csv
import io
import tomllib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import cache
from importlib.resources.abc import Traversable
from typing import Any, TypeVar

from heron_research.demo.story import (
    ANGER_WITH_SELF_MANAGEMENT,
    Context,
    CyclePlan,
    Decision,
    EpisodeWords,
    EvidenceRule,
    HypothesisPlan,
    InterventionWords,
    Outcome,
    OwnTechnique,
    PersonEntry,
    Reaction,
    ReviewWords,
    Revision,
    Scene,
    SessionWords,
    Story,
    Technique,
)
from heron_research.errors import DemoStoryError
from heron_research.records import Sharing
from heron_research.resources import data_file
from heron_research.vocab import emotions, techniques

__all__ = ["demo_story", "read_story"]

T = TypeVar("T")
_ON_DAYS = {"sat": (5,), "sun": (6,), "weekend": (5, 6)}


@cache
def demo_story() -> Story:
    """The shipped story (read once)."""
    return read_story(data_file("demo"))


@contextmanager
def _reading(where: str) -> Iterator[None]:
    try:
        yield
    except DemoStoryError:
        raise
    except (KeyError, TypeError, ValueError) as e:
        detail = f"missing {e}" if isinstance(e, KeyError) else str(e)
        raise DemoStoryError(f"demo story, {where}: {detail}") from e


def _toml(folder: Traversable, name: str) -> dict[str, Any]:
    with _reading(name):
        return tomllib.loads((folder / name).read_text(encoding="utf-8"))


def _each(where: str, items: Iterable[T], make: Callable[[T], Any]) -> tuple[Any, ...]:
    out = []
    for i, item in enumerate(items):
        with _reading(f"{where} #{i + 1}"):
            out.append(make(item))
    return tuple(out)


def _hours(pairs: Iterable[Iterable[float]]) -> tuple[tuple[float, float], ...]:
    return tuple((lo, hi) for lo, hi in pairs)


def _people(doc: dict[str, Any]) -> tuple[tuple[PersonEntry, ...], tuple[str, str], PersonEntry]:
    def person(row: list[str]) -> PersonEntry:
        alias, relationship, notes, sharing = row
        return PersonEntry(alias, relationship, notes, Sharing(sharing))

    register = _each("people.toml register", doc["register"], person)
    with _reading("people.toml [edit], [peer]"):
        edit = (doc["edit"]["alias"], doc["edit"]["notes"])
        peer = doc["peer"]
        entry = PersonEntry(
            peer["alias"], peer["relationship"], peer["notes"], Sharing(peer["sharing"])
        )
    return register, edit, entry


def _contexts(doc: dict[str, Any]) -> tuple[Context, ...]:
    shared = doc["thoughts"]

    def context(item: tuple[str, dict[str, Any]]) -> Context:
        name, c = item
        thoughts = shared[c["shared_thoughts"]] if "shared_thoughts" in c else c["thoughts"]
        if len(c["days"]) != 7:
            raise ValueError("days needs seven weights, Monday first")
        return Context(
            name=name,
            day_weights=tuple(c["days"]),
            weekday_hours=_hours(c["weekday_hours"]),
            weekend_hours=_hours(c.get("weekend_hours", ())),
            thoughts=tuple(thoughts),
            work=c.get("work", False),
            spike=c.get("spike", 1.0),
        )

    return _each("contexts.toml context", doc["context"].items(), context)


def _scenes(text: str) -> tuple[Scene, ...]:
    def scene(row: dict[str, str]) -> Scene:
        options: dict[str, Any] = {"pleasant": row["pleasant"] == "yes"}
        if row["private"]:
            options["private"] = float(row["private"])
        if row["days"]:
            options["days"] = _ON_DAYS[row["days"]]
        if row["hours"]:
            lo, hi = row["hours"].split("-")
            options["hours"] = (float(lo), float(hi))
        pairs = (e.strip().rsplit(" ", 1) for e in row["emotions"].split(";"))
        return Scene(
            context=row["context"],
            text=row["situation"],
            people=tuple(a.strip() for a in row["people"].split(";") if a.strip()),
            emotions=tuple((term, int(weight)) for term, weight in pairs),
            level=float(row["level"]),
            theme=row["theme"],
            **options,
        )

    return _each("scenes.csv row", csv.DictReader(io.StringIO(text)), scene)


def _episodes(doc: dict[str, Any]) -> EpisodeWords:
    lists = ("custom_words", "body", "body_pleasant", "thoughts_pleasant")
    lists += ("did_early", "did_later", "did_pleasant", "notes", "edit_notes")
    techniques = {
        name: Technique(
            t["learned"], t["drop"], tuple(t.get("suits", ())), t.get("after_programme", False)
        )
        for name, t in doc["techniques"].items()
    }
    return EpisodeWords(
        **{name: tuple(doc[name]) for name in lists},
        echo_theme=doc["echo_note"]["theme"],
        echo_note=doc["echo_note"]["text"],
        shared_later_note=doc["shared_later_note"],
        own_techniques=tuple(OwnTechnique(*t) for t in doc["own_techniques"]),
        techniques=techniques,
    )


def _rules(table: dict[str, list[dict[str, Any]]]) -> dict[str, tuple[EvidenceRule, ...]]:
    return {theme: tuple(EvidenceRule(**rule) for rule in rules) for theme, rules in table.items()}


def _hypothesis(h: dict[str, Any]) -> HypothesisPlan:
    revision = h.get("revision")
    return HypothesisPlan(
        key=h["key"],
        person=h.get("person"),
        situation=h.get("situation", ""),
        reaction=h["reaction"],
        echoes=h["echoes"],
        unprocessed=h["unprocessed"],
        prediction=h["prediction"],
        themes=tuple(h["themes"]),
        targets=tuple(h["targets"]),
        prior=h["prior"],
        schedule=tuple((at, status) for at, status in h["schedule"]),
        end=h["end"],
        evidence=_rules(h["evidence"]),
        revised_evidence=_rules(h.get("revised_evidence", {})),
        private_until=h.get("private_until", 0.0),
        revision=Revision(**revision) if revision is not None else None,
    )


def _cycle(c: dict[str, Any]) -> CyclePlan:
    c = dict(c)
    c["themes"] = tuple(c["themes"])
    c["hypothesis"] = c.get("hypothesis")
    c["sharing"] = Sharing(c.get("sharing", Sharing.PRACTITIONER))
    return CyclePlan(**c)


def _sessions(doc: dict[str, Any]) -> SessionWords:
    after, coco = doc["after_programme"], doc["co_counselling"]
    return SessionWords(
        intake_consent_note=doc["intake"]["consent_note"],
        intake_decision=Decision(**doc["intake"]["decision"]),
        withdrawn_note=doc["consent"]["withdrawn_note"],
        given_again_note=doc["consent"]["given_again_note"],
        decisions={topic: tuple(texts) for topic, texts in doc["decisions"].items()},
        first_autonomy_note=doc["first_autonomy"]["note"],
        interventions={
            category: InterventionWords(i["early"], i["late"], i["misread_as"], tuple(i["texts"]))
            for category, i in doc["interventions"].items()
        },
        reactions=tuple(Reaction(**r) for r in doc["reaction"]),
        final_reaction=Reaction(**doc["final_reaction"]),
        after_programme=Decision(**after["decision"]),
        own_review_topics=tuple(after["own_review_topics"]),
        own_review_note=after["own_review_note"],
        co_counselling_minutes=tuple(coco["minutes"]),
        contracts=dict(coco["contracts"]),
        worked_on=tuple(coco["worked_on"]),
        discharge=tuple(coco["discharge"]),
        re_evaluation=tuple(coco["re_evaluation"]),
    )


def _reviews(doc: dict[str, Any]) -> ReviewWords:
    def outcome(o: dict[str, Any]) -> Outcome:
        client, practitioner, agreed = o["views"]
        decision = Decision(o["topic"], o["decision"], o["proposed_by"], "co-operation")
        return Outcome(client, practitioner, agreed, o["reason"], o["dissent"], decision)

    return ReviewWords(
        practitioner_agenda=tuple((kind, text) for kind, text in doc["agenda"]["practitioner"]),
        client_agenda={
            kind: (a["weight"], tuple(a["texts"])) for kind, a in doc["agenda"]["client"].items()
        },
        responses={kind: tuple(texts) for kind, texts in doc["responses"].items()},
        outcomes={name: outcome(o) for name, o in doc["outcome"].items()},
        follow_up=tuple(
            (kind, text, int(days)) for kind, text, days in doc["agenda"]["follow_up"]["items"]
        ),
        follow_up_after=int(doc["agenda"]["follow_up"]["review_after"]),
    )


def read_story(folder: Traversable) -> Story:
    """Read and check the story in ``folder`` (``ValueError`` naming the file and entry)."""
    people, edit, peer = _people(_toml(folder, "people.toml"))
    with _reading("contexts.toml"):
        contexts = _contexts(_toml(folder, "contexts.toml"))
    scenes = _scenes((folder / "scenes.csv").read_text(encoding="utf-8"))
    with _reading("episodes.toml"):
        episodes = _episodes(_toml(folder, "episodes.toml"))
    hypotheses = _each(
        "hypotheses.toml hypothesis", _toml(folder, "hypotheses.toml")["hypothesis"], _hypothesis
    )
    cycles = _each("cycles.toml cycle", _toml(folder, "cycles.toml")["cycle"], _cycle)
    with _reading("sessions.toml"):
        sessions = _sessions(_toml(folder, "sessions.toml"))
    with _reading("reviews.toml"):
        reviews = _reviews(_toml(folder, "reviews.toml"))
    story = Story(
        people, edit, peer, contexts, scenes, episodes, hypotheses, cycles, sessions, reviews
    )
    _check(story)
    return story


def _check(story: Story) -> None:
    """The files agree with each other: every name one uses, another defines."""
    aliases = {p.alias for p in story.people}
    themes = {s.theme for s in story.scenes if s.theme}
    keys = {h.key for h in story.hypotheses}
    problems = [
        f"scenes.csv: {s.text!r} is in unknown context {s.context!r}"
        for s in story.scenes
        if s.context not in story.context
    ]
    problems += [
        f"scenes.csv: {s.text!r} names {a!r}, who is not in people.toml"
        for s in story.scenes
        for a in s.people
        if a not in aliases
    ]
    problems += (
        [f"people.toml: the edit is to {story.person_edit[0]!r}, who is not in the register"]
        if story.person_edit[0] not in aliases
        else []
    )
    for h in story.hypotheses:
        if h.person is not None and h.person not in aliases:
            problems.append(f"hypotheses.toml {h.key!r}: {h.person!r} is not in people.toml")
        problems += [
            f"hypotheses.toml {h.key!r}: no scene has theme {t!r}"
            for t in h.themes
            if t not in themes
        ]
        problems += [
            f"hypotheses.toml {h.key!r}: no evidence rules for theme {t!r}"
            for t in h.themes
            if t not in h.evidence
        ]
    for c in story.cycles:
        if c.hypothesis is not None and c.hypothesis not in keys:
            problems.append(f"cycles.toml {c.question!r}: no hypothesis {c.hypothesis!r}")
        problems += [
            f"cycles.toml {c.question!r}: no scene has theme {t!r}"
            for t in c.themes
            if t not in themes and t != ANGER_WITH_SELF_MANAGEMENT
        ]
    categories = story.sessions.interventions
    problems += [
        f"sessions.toml: {name!r} is misread as unknown category {i.misread_as!r}"
        for name, i in categories.items()
        if i.misread_as not in categories
    ]
    item_types = set(story.reviews.responses)
    problems += [
        f"reviews.toml: no responses for agenda items of type {kind!r}"
        for kind in {
            *story.reviews.client_agenda,
            *(k for k, _ in story.reviews.practitioner_agenda),
            *(k for k, _, _ in story.reviews.follow_up),
        }
        if kind not in item_types
    ]
    problems += _check_words(story)
    missing = {"continue", "dissent", "final"} - set(story.reviews.outcomes)
    problems += [f"reviews.toml: no [outcome.{name}]" for name in sorted(missing)]
    if problems:
        raise DemoStoryError("demo story: " + "; ".join(problems))


def _check_words(story: Story) -> list[str]:
    """Emotions and techniques are the vocabulary's, except the client's own words."""
    vocabulary, known = emotions(), techniques()
    families = {e.family for e in vocabulary.values()}
    problems = [
        f"scenes.csv: {s.text!r} has {term!r}, not in the emotion vocabulary"
        for s in story.scenes
        for term, _ in s.emotions
        if term not in vocabulary
    ]
    problems += [
        f"hypotheses.toml {h.key!r}: target {t!r} is not in the emotion vocabulary"
        for h in story.hypotheses
        for t in h.targets
        if t not in vocabulary
    ]
    problems += [
        f"episodes.toml: custom word {w!r} is in the vocabulary (so it is not the client's own)"
        for w in story.episodes.custom_words
        if w in vocabulary
    ]
    for name, technique in story.episodes.techniques.items():
        if name not in known:
            problems.append(f"episodes.toml: technique {name!r} is not in the vocabulary")
        problems += [
            f"episodes.toml: technique {name!r} suits unknown emotion family {f!r}"
            for f in technique.suits
            if f not in families
        ]
    return problems
