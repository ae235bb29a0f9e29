"""The anonymiser: a pipeline of small steps, each a plain function that can be tested alone.

A participant's research-visible records are first extracted into :class:`ParticipantData`
(one column list per dataset column, still holding ids, calendar dates and text as they are
in the workbook). Then, in order:

1. :func:`pseudonymise`: the participant id and every record id re-keyed with the study key;
   references to records that are not in the dataset emptied, and references to people the
   research audience may not see emptied with their relationship (the same rule);
2. :func:`shift_time`: calendar dates become the day index since the participant's first
   record, the weekday, and the part of the day; no date leaves;
3. :func:`drop_free_text` (the default) or :func:`scrub_free_text`: e-mail addresses, URLs,
   IP addresses, file paths, long codes, dates, phone numbers, postcodes, years and long
   numbers become type tokens (``[email]``, ``[date]`` ...), then names from the people
   register (and their obvious variants) become the relationship in brackets (``[partner]``);
4. own words: :func:`scrub_own_words` scrubs a participant's own words (custom emotions and
   techniques) with the same scrubber and register, in both free-text modes, before the
   k-rule counts them ("texting Zebedee" becomes "texting [friend]");
5. rare values: :func:`custom_terms` lists a participant's own words; once every participant
   is read, :func:`rare_terms` finds those used by fewer than k participants and
   :func:`generalise` turns them into "other".

The per-workbook data is small (tens to hundreds of rows), so the steps work on plain column
lists: at that size a list comprehension is several times faster than building pandas
objects, and the batch's speed is set by this per-workbook cost.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from heron_research.research.keys import Pseudonymiser
from heron_research.research.tables import COUNTED, PARTICIPANTS, TABLES, Table
from heron_research.vocab import PARTS_OF_DAY

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "FreeText",
    "ParticipantData",
    "Scrubber",
    "custom_terms",
    "drop_free_text",
    "generalise",
    "participant_row",
    "pseudonymise",
    "rare_terms",
    "scrub_free_text",
    "scrub_own_words",
    "shift_time",
]

FreeText = Literal["none", "scrubbed"]
Columns = dict[str, list[Any]]


@dataclass
class ParticipantData:
    """One participant's rows, table by table, as the steps pass them along."""

    workbook_id: str
    tables: dict[str, Columns]
    #: (name as the client wrote it, what to put instead, e.g. "partner") for scrubbing
    names: list[tuple[str, str]] = field(default_factory=list)
    #: ids of the records that are in the dataset (references to others are emptied)
    exported_ids: frozenset[str] = frozenset()
    #: ids of the people register's entries the research audience may see (under the same
    #: rule as the records): a reference to anyone else is emptied, with its relationship
    visible_people: frozenset[str] = frozenset()
    participant_id: str | None = None
    days_observed: int = 0
    #: the newest save among the records read (UTC): of two copies of one workbook, the
    #: newer is used. Never exported.
    last_saved: str = ""

    def rows(self, name: str) -> int:
        columns = self.tables.get(name)
        return max((len(values) for values in columns.values()), default=0) if columns else 0


def _specs(data: ParticipantData) -> Iterable[tuple[Table, Columns]]:
    for spec in TABLES:
        columns = data.tables.get(spec.name)
        if columns is not None:
            yield spec, columns


# --- 1. pseudonyms ---------------------------------------------------------------------------


def pseudonymise(data: ParticipantData, keys: Pseudonymiser) -> ParticipantData:
    """Re-key the participant and every id; empty references to records not in the dataset,
    and references to people not visible to research together with their relationship."""
    wid = data.workbook_id
    data.participant_id = participant = keys.participant(wid)
    cache: dict[str, str] = {}

    def rekey(value: str | None) -> str | None:
        if value is None:
            return None
        found = cache.get(value)
        if found is None:
            found = cache[value] = keys.record(wid, value)
        return found

    exported = data.exported_ids
    people = data.visible_people
    for spec, columns in _specs(data):
        n = data.rows(spec.name)
        persons = spec.by_role("person")
        hidden = [
            i
            for col in persons
            for i, v in enumerate(columns[col.name])
            if v is not None and v not in people
        ]
        for col in spec.columns:
            if col.role == "participant":
                columns[col.name] = [participant] * n
            elif col.role == "id":
                columns[col.name] = [rekey(v) for v in columns[col.name]]
            elif col in persons:
                columns[col.name] = [rekey(v) if v in people else None for v in columns[col.name]]
            elif col.role == "relationship" and hidden:
                values = columns[col.name]
                for i in hidden:
                    values[i] = None
            elif col.role == "ref":
                columns[col.name] = [rekey(v) if v in exported else None for v in columns[col.name]]
    return data


# --- 2. time ---------------------------------------------------------------------------------

_PART_BY_HOUR = [name for name, first, stop in PARTS_OF_DAY for _ in range(first, stop)]


def part_of_day(minute_of_day: int) -> str:
    """The part of the day (:data:`~heron_research.vocab.PARTS_OF_DAY`) of a minute of it."""
    return _PART_BY_HOUR[minute_of_day // 60]


def shift_time(data: ParticipantData) -> ParticipantData:
    """Calendar dates (as ordinals) become day indexes since the first record, weekdays and
    parts of the day. Day 0 is the earliest local calendar day of any record's own date."""
    firsts = [
        min(v for v in columns[col.name] if v is not None)
        for spec, columns in _specs(data)
        for col in spec.columns
        if col.origin and any(v is not None for v in columns[col.name])
    ]
    origin = min(firsts) if firsts else 0
    last = origin
    for spec, columns in _specs(data):
        for col in spec.columns:
            values = columns[col.name]
            if col.role == "day":
                columns[col.name] = [None if v is None else v - origin for v in values]
                if col.origin and values:
                    last = max(last, *values)
            elif col.role == "weekday":
                # ordinal 1 (1 January of year 1) was a Monday
                columns[col.name] = [None if v is None else (v - 1) % 7 for v in values]
            elif col.role == "part_of_day":
                columns[col.name] = [None if v is None else _PART_BY_HOUR[v // 60] for v in values]
    data.days_observed = last - origin + 1 if firsts else 0
    return data


# --- 3. free text ----------------------------------------------------------------------------


def drop_free_text(data: ParticipantData) -> ParticipantData:
    """Leave every free-text column out (the default)."""
    for spec, columns in _specs(data):
        for col in spec.by_role("text"):
            columns.pop(col.name, None)
    return data


_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_ORD = r"(?:st|nd|rd|th)?"
#: (token, pattern), applied in this order: earlier patterns win where they overlap.
PATTERNS: tuple[tuple[str, str], ...] = (
    ("email", r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),
    ("url", r"\b(?:[a-z][a-z0-9+.-]*://|www\.)[^\s<>\"']+"),
    (
        "url",
        r"\b(?:[a-z0-9-]+\.)+(?:com|org|net|edu|gov|io|co|uk|de|fr|nl|eu|info|me|app)"
        r"\b(?:/[^\s<>\"']*)?",
    ),
    ("ip", r"\b(?:\d{1,3}\.){3}\d{1,3}\b"),
    ("ip", r"\b(?:[0-9a-f]{1,4}:){3,7}(?::|[0-9a-f]{1,4})\b"),
    ("path", r"(?<![\w/])(?:~|\.{1,2})?/[^\s/]+(?:/[^\s/]*)+"),
    ("path", r"(?<![\w/])~/[^\s]+"),
    ("path", r"\b[a-z]:\\[^\s]*"),
    ("path", r"\\\\[^\s\\]+\\[^\s]*"),
    # keys, passwords, account numbers: a long run of letters and digits with both in it
    ("code", r"(?<![\w+/=-])(?=[\w+/=-]*\d)(?=[\w+/=-]*[a-z])[\w+/=-]{16,}"),
    ("date", r"\b\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}\b"),
    ("date", rf"\b\d{{1,2}}{_ORD}\s+(?:of\s+)?{_MONTH}\b\.?(?:,?\s+\d{{2,4}}\b)?"),
    ("date", rf"\b{_MONTH}\b\.?\s+\d{{1,2}}{_ORD}\b(?:,?\s+\d{{2,4}}\b)?"),
    ("date", rf"\b{_MONTH}\b\.?\s+\d{{4}}\b"),
    ("phone", r"(?<![\w+])\+?\(?\d[\d\s().-]{5,}\d\b"),
    ("postcode", r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b"),  # UK
    ("postcode", r"\b[A-Z]\d[A-Z]\s?\d[A-Z]\d\b"),  # Canada
    ("postcode", r"\b\d{4}\s?[A-Z]{2}\b"),  # Netherlands
    # street addresses: a house number and capitalised words ending in a street word
    # ("12 Acacia Avenue", "221B Baker Street"), and flats ("Flat 4", "Apt 12B", "flat 2a")
    (
        "address",
        r"\b\d{1,4}[A-Za-z]?,?\s+(?:[A-Z][\w'’-]*\s+){1,3}(?:Street|St|Road|Rd|Avenue|Ave"
        r"|Lane|Ln|Close|Drive|Dr|Way|Crescent|Terrace|Place|Pl|Gardens|Hill|Grove|Court|Ct"
        r"|Square|Sq|Mews|Row|Walk|Parade|Rise|View|Park|Green|Boulevard|Blvd)\b\.?",
    ),
    ("address", r"\b(?:[Ff]lat|FLAT|[Aa]partment|[Aa]pt|APT|[Uu]nit)\.?\s*\d{1,4}[A-Za-z]?\b"),
    ("year", r"\b(?:1[89]|20)\d{2}\b"),
    ("number", r"\d{5,}"),
)
_FLAGS = {"postcode": 0, "address": 0}  # matched as written (capitals count)


def _compile_patterns() -> list[tuple[str, re.Pattern[str]]]:
    return [
        (token, re.compile(pattern, _FLAGS.get(token, re.IGNORECASE)))
        for token, pattern in PATTERNS
    ]


_COMPILED = _compile_patterns()


def _digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


def _folded(text: str) -> str:
    """``text`` without accents (Zoë -> Zoe)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def name_variants(name: str) -> set[str]:
    """The obvious variants of a name: as written, without a final full stop, without
    accents, and each capitalised word of a name of several words."""
    name = " ".join(name.split())
    found = {name, name.rstrip(".")}
    words = [w.strip(".,") for w in name.split()]
    if len(words) > 1:
        found.update(w for w in words if len(w) > 1 and w[:1].isupper())
    # hyphenated names: "Marguerite-Anne" is also written "Marguerite Anne",
    # "MargueriteAnne", and each part of at least 3 letters alone
    # (the whole name, and each hyphenated word of a longer name: "Marguerite-Anne Smith"
    # is also "MargueriteAnne")
    for whole in {name.rstrip("."), *(w for w in words if any(d in w for d in "-‐‑–"))}:
        parts = [p for p in re.split(r"[\s\-‐‑–]+", whole) if p]
        if len(parts) > 1 and any(d in whole for d in "-‐‑–"):
            found.update({" ".join(parts), "-".join(parts), "".join(parts)})
            found.update(p for p in parts if len(p.strip(".,")) >= 3)
    found |= {_folded(v) for v in found}
    return {v for v in found if v.strip()}


class Scrubber:
    """Scrubs one participant's free text: register names, then identifiers by pattern."""

    def __init__(self, names: Iterable[tuple[str, str]]) -> None:
        names = list(names)
        table: dict[str, str] = {}
        # longer names first, so "Ann Lee" is replaced whole before "Ann"
        for name, relation in sorted(names, key=lambda nr: (-len(nr[0]), nr[0], nr[1])):
            for variant in name_variants(name):
                table.setdefault(variant.casefold(), relation)
        self._relation = table

        # one- and two-letter names ("J", "M") only as written, and not after an apostrophe
        # (so "I'm" keeps its m); longer names in any case
        def longest_first(variants: Iterable[str]) -> list[str]:
            return sorted(set(variants), key=lambda v: (-len(v), v))

        long = longest_first(v for v in table if len(v) > 2)
        short = longest_first(v for n, _ in names for v in name_variants(n) if len(v) <= 2)
        self._patterns: list[re.Pattern[str]] = []
        if long:
            alternatives = "|".join(re.escape(v) for v in long)
            self._patterns.append(
                re.compile(rf"(?<!\w)({alternatives})(?:['’]s)?(?!\w)", re.IGNORECASE)
            )
        if short:
            alternatives = "|".join(re.escape(v) for v in short)
            self._patterns.append(re.compile(rf"(?<![\w'’])({alternatives})(?:['’]s)?(?!\w)"))

    def _name(self, match: re.Match[str]) -> str:
        return f"[{self._relation.get(match.group(1).casefold(), 'person')}]"

    def __call__(self, text: str | None) -> str | None:
        if not text:
            return text
        # identifiers first, so a name inside an e-mail address or a path goes with it
        for token, pattern in _COMPILED:
            if token == "phone":
                text = pattern.sub(
                    lambda m: "[phone]" if _digits(m.group()) >= 7 else m.group(), text
                )
            else:
                text = pattern.sub(f"[{token}]", text)
        for names in self._patterns:
            text = names.sub(self._name, text)
            folded = _folded(text)
            if folded != text and names.search(folded):
                # a name written with accents the register lacks: scrub the folded text
                text = names.sub(self._name, folded)
        return text


def scrub_free_text(data: ParticipantData) -> ParticipantData:
    """Keep free text after scrubbing it (``--free-text scrubbed``)."""
    scrub = Scrubber(data.names)
    for spec, columns in _specs(data):
        for col in spec.by_role("text"):
            columns[col.name] = [scrub(v) for v in columns[col.name]]
    return data


def free_text_step(mode: FreeText) -> Callable[[ParticipantData], ParticipantData]:
    """The free-text step for a mode."""
    if mode == "none":
        return drop_free_text
    if mode == "scrubbed":
        return scrub_free_text
    raise ValueError(f"free text must be 'none' or 'scrubbed' (got {mode!r})")


def scrub_own_words(data: ParticipantData) -> ParticipantData:
    """Scrub the participant's own words (custom emotions and techniques) with their people
    register, whatever the free-text mode: a name in an own word ("texting Zebedee") becomes
    the relationship before the k-rule counts own words, so no name reaches a term column,
    its Parquet statistics or the codebook's allowed values."""
    scrub: Scrubber | None = None
    for spec, columns in _specs(data):
        for col in spec.by_role("term"):
            values, own = columns[col.name], columns["custom"]
            if not any(own):
                continue
            if scrub is None:
                scrub = Scrubber(data.names)
            columns[col.name] = [
                scrub(v) if custom else v for v, custom in zip(values, own, strict=True)
            ]
    return data


# --- 5. rare values --------------------------------------------------------------------------


def term_columns() -> list[tuple[str, str]]:
    """(table, column) of every column holding vocabulary terms or own words."""
    return [(t.name, c.name) for t in TABLES for c in t.by_role("term")]


def custom_terms(data: ParticipantData) -> dict[str, frozenset[str]]:
    """This participant's own words, by ``table.column`` (a participant counts once)."""
    found: dict[str, frozenset[str]] = {}
    for table, column in term_columns():
        columns = data.tables.get(table)
        if not columns:
            continue
        words = {v for v, own in zip(columns[column], columns["custom"], strict=True) if own}
        if words:
            found[f"{table}.{column}"] = frozenset(words)
    return found


def rare_terms(
    per_participant: Iterable[Mapping[str, frozenset[str]]], k: int
) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    """Split own words into those used by at least ``k`` participants (kept) and the rest.

    Returns (kept, replaced), each ``{"table.column": {term: participants}}``.
    """
    counts: dict[str, Counter[str]] = {}
    for terms in per_participant:
        for key, words in terms.items():
            counts.setdefault(key, Counter()).update(words)
    kept = {
        key: {w: n for w, n in sorted(c.items()) if n >= k} for key, c in sorted(counts.items())
    }
    replaced = {
        key: {w: n for w, n in sorted(c.items()) if n < k} for key, c in sorted(counts.items())
    }
    return kept, replaced


def generalise(values: pa.Array, custom: pa.Array, kept: Iterable[str]) -> pa.Array:
    """Own words (``custom`` true) not in ``kept`` become "other"; vocabulary terms stay.

    Works on Arrow arrays: the combine step applies it to whole row groups."""
    import pyarrow.compute as pc

    from heron_research.research.arrays import array  # (not pyarrow.array: see there)

    allowed = array(sorted(kept), "string")
    keep = pc.or_(pc.invert(custom), pc.is_in(values, value_set=allowed))
    return pc.if_else(keep, values, array(["other"], "string")[0])


# --- the participants row --------------------------------------------------------------------


def participant_row(data: ParticipantData) -> ParticipantData:
    """Add the participant's row (after pseudonyms and time): days observed and row counts."""
    row: dict[str, list[Any]] = {
        "participant_id": [data.participant_id],
        "days_observed": [data.days_observed],
    }
    for name, column in COUNTED.items():
        row[column] = [data.rows(name)]
    assert list(row) == [c.name for c in PARTICIPANTS.columns]
    data.tables[PARTICIPANTS.name] = row
    return data
