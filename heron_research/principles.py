"""The principles of the training, shipped as a text versioned by its content hash.

Consent records name the version they agreed to. When the text changes, the version
changes, and the client is asked again (see :func:`heron_research.records.consent_in_force`).
A client reads a version as its edition, a short name and a date ("first edition of
25 November 2026", :func:`edition_words`), listed for every text shipped in
``data/principles-editions.json``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from functools import cache

from heron_research.resources import data_file

__all__ = ["Principles", "current_principles", "edition_words", "principles_version"]


@dataclass(frozen=True)
class Principles:
    text: str
    version: str  # "sha256:" + first 16 hex digits of the UTF-8 text with normalised newlines


def principles_version(text: str) -> str:
    """The version id of a principles text: a short SHA-256 of its normalised content."""
    normalised = "\n".join(line.rstrip() for line in text.strip().splitlines()) + "\n"
    return "sha256:" + hashlib.sha256(normalised.encode("utf-8")).hexdigest()[:16]


@cache
def current_principles() -> Principles:
    """The principles text this version of heron-research ships, with its version."""
    text = data_file("principles.md").read_text(encoding="utf-8")
    return Principles(text=text, version=principles_version(text))


@cache
def _editions() -> dict[str, dict[str, str]]:
    data = json.loads(data_file("principles-editions.json").read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_")}


def edition_words(version: str) -> str | None:
    """A principles version in a client's words, "first edition of 25 November 2026";
    None for a version this package does not know."""
    found = _editions().get(version)
    if found is None:
        return None
    dated = date.fromisoformat(found["dated"])
    return f"{found['name']} of {dated.day} {dated:%B %Y}"
