"""Controlled vocabularies: emotions, self-management techniques, intervention categories,
and the parts of the day.

The vocabularies are small CSV files we wrote ourselves (``data/vocab``). A term a
client types that is not in a vocabulary is kept as typed and flagged as custom: the
workbook never forces someone's experience into our words.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache

from heron_research.resources import data_file

__all__ = [
    "PARTS_OF_DAY",
    "SKILLS",
    "Emotion",
    "Intervention",
    "Technique",
    "emotions",
    "interventions",
    "lookup_emotion",
    "lookup_technique",
    "normalise_term",
    "part_of_day",
    "techniques",
]

#: Heron's four skills of emotional self-management.
SKILLS: tuple[str, ...] = ("expression", "control", "catharsis", "transmutation")

#: The parts of the day on the local clock: (name, first hour, last hour + 1). The reports
#: (time of day of episodes) and the research dataset (``part_of_day``) both use these.
PARTS_OF_DAY: tuple[tuple[str, int, int], ...] = (
    ("night", 0, 6),
    ("morning", 6, 12),
    ("afternoon", 12, 18),
    ("evening", 18, 24),
)
_PART_BY_HOUR = tuple(name for name, first, stop in PARTS_OF_DAY for _ in range(first, stop))


def part_of_day(hour: int) -> str:
    """The part of the day an hour (0-23) on the local clock falls in."""
    if not 0 <= hour < 24:
        raise ValueError(f"an hour is 0-23 (got {hour})")
    return _PART_BY_HOUR[hour]


@dataclass(frozen=True)
class Emotion:
    term: str
    family: str
    valence: str  # pleasant | unpleasant | neutral


@dataclass(frozen=True)
class Technique:
    skill: str
    technique: str
    description: str


@dataclass(frozen=True)
class Intervention:
    category: str
    group: str  # authoritative | facilitative
    description: str


def _rows(name: str) -> list[dict[str, str]]:
    text = data_file("vocab", name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def normalise_term(text: str) -> str:
    """Lower-case, trimmed, inner white space folded: how terms are compared."""
    return " ".join(text.split()).casefold()


@cache
def emotions() -> dict[str, Emotion]:
    """The emotion vocabulary, keyed by term."""
    return {r["term"]: Emotion(r["term"], r["family"], r["valence"]) for r in _rows("emotions.csv")}


@cache
def techniques() -> dict[str, Technique]:
    """Self-management techniques keyed by technique name, each under one of :data:`SKILLS`."""
    out = {}
    for r in _rows("techniques.csv"):
        if r["skill"] not in SKILLS:
            raise ValueError(f"techniques.csv: unknown skill {r['skill']!r}")
        out[r["technique"]] = Technique(r["skill"], r["technique"], r["description"])
    return out


@cache
def interventions() -> dict[str, Intervention]:
    """Heron's six categories of intervention, keyed by category."""
    return {
        r["category"]: Intervention(r["category"], r["group"], r["description"])
        for r in _rows("interventions.csv")
    }


@cache
def _emotion_index() -> dict[str, Emotion]:
    return {normalise_term(k): v for k, v in emotions().items()}


@cache
def _technique_index() -> dict[str, Technique]:
    return {normalise_term(k): v for k, v in techniques().items()}


def lookup_emotion(term: str) -> Emotion | None:
    """The vocabulary entry for ``term`` (any case and spacing), or ``None`` if custom."""
    return _emotion_index().get(normalise_term(term))


def lookup_technique(name: str) -> Technique | None:
    """The vocabulary entry for a technique (any case and spacing), or ``None`` if custom."""
    return _technique_index().get(normalise_term(name))
