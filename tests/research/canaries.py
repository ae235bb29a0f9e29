"""Canaries and the output scanner shared by the research canary tests.

A canary is a string planted in a workbook that must never appear in a research dataset.
:func:`scan_dataset` reads every file of a dataset folder and looks for three kinds:

* ``raw``: exact bytes (a key, a workbook id as 16 raw bytes) in each file's raw bytes;
* ``anywhere``: text, in any case, in each file's raw bytes (Parquet footers, page headers
  and statistics are not compressed) and in every decoded value (every Parquet value, every
  column chunk's statistics, the schema and key-value metadata, the JSON files);
* ``in_words``: text, in any case, in the decoded values with hexadecimal runs of 16 or more
  digits (pseudonyms, checksums, fingerprints) taken out: short numbers may occur in those
  by chance.

Thousands of canaries are looked for in one pass with a regular expression built as a trie
(:class:`Needles`); every occurrence of every canary is reported, overlapping ones too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

import pyarrow.parquet as pq

# --- the fixed canaries of test_canary ---------------------------------------------------------

NAMES = ("Zebedee Quartermaine", "Philippa Ollerenshaw")
PEER = "Ottoline Wetherspoon"
EMAIL = "zebedee.q@quartermaine-mail.example"
PHONES = ("+44 7700 900461", "07700-900-462")
BIRTHDAYS = ("14/02/1981", "1981-02-14", "14th February 1981")
PATHS = ("/home/zebedee/therapy/diary.txt", r"C:\Users\philippa\diary.docx")

#: found in no output byte, compressed or not (long enough not to occur by chance)
BYTE_CANARIES = (
    "zebedee",
    "quartermaine",
    "philippa",
    "ollerenshaw",
    "ottoline",
    "wetherspoon",
    EMAIL,
    "7700 900461",
    "900-462",
    "14/02/1981",
    "1981-02-14",
    "february 1981",
    "/home/",
    r"c:\users",
    "diary.txt",
    "canary-client",
)
# --- issue 15's forms: addresses, name spellings, own words, private people ------------------

#: a hyphenated, an accented and a private register name (the private one is referred to by
#: research records, and used in an own word)
FORM_NAMES = ("Marguerite-Anne Featherstonehaugh", "Zoë Pennyfeather", "Bartholomew Quince")
ADDRESSES = (
    "12 Acacia Avenue",
    "221B Baker Street",
    "Flat 4, 7 Primrose Hill Road",
    "48 Wisteria Lane",
    "3 Laburnum Close",
    "17 Juniper Crescent",
    "5 Sycamore Mews",
    "90 Hawthorn Terrace",
    "Apartment 3",
    "Apt 12B",
    "flat 2a",
    "Unit 9",
)
#: the names as written in free text: other spellings, parts, possessives, case, accents
NAME_FORMS = (
    "Marguerite Anne",
    "MargueriteAnne",
    "Marguerite",
    "MARGUERITE's",
    "Featherstonehaugh's",
    "Zoe Pennyfeather",
    "ZOË",
    "pennyfeather",
    "Bartholomew",
    "Quince's",
)
#: own words naming someone in the register (a technique and an emotion)
OWN_WORDS = ("texting Marguerite-Anne", "Bartholomew blues")
#: looked for in every byte and value (each long enough not to occur by chance)
FORM_CANARIES = (
    "acacia",
    "baker street",
    "221b",
    "primrose",
    "wisteria",
    "laburnum",
    "juniper",
    "sycamore",
    "hawthorn",
    "apartment 3",
    "apt 12b",
    "flat 2a",
    "flat 4",
    "unit 9",
    "marguerite",
    "featherstonehaugh",
    "pennyfeather",
    "zoë",
    "bartholomew",
    "quince",
)
#: looked for in decoded values with hex runs taken out
FORM_WORD_CANARIES = (*FORM_CANARIES, "zoe", "margueriteanne")


def forms_text() -> str:
    """Free text with every address and name form above."""
    return "; ".join(f"met {n} at {a}" for n, a in zip(NAME_FORMS, ADDRESSES, strict=False)) + (
        f"; then {ADDRESSES[-2]} and {ADDRESSES[-1]}."
    )


#: pseudonyms, checksums and fingerprints: taken out before short canaries are looked for
HEX = re.compile(r"\b[0-9a-f]{16,}\b")
#: also not in any decoded value
VALUE_CANARIES = (*BYTE_CANARIES, "1981", "7700", "14th")


def notes_text(
    names: tuple[str, str],
    peer: str,
    email: str,
    phones: tuple[str, str],
    birthdays: tuple[str, str, str],
    paths: tuple[str, str],
    key: str,
) -> str:
    """Free text naming people (with variants) and carrying identifiers of every kind."""
    first, last = names[0].split()
    return (
        f"{first} said {last.upper()}'s rule again; {names[1]} and {peer} rang. "
        f"Mail {email} or ring {phones[0]} / {phones[1]}. Born {birthdays[0]} "
        f"(that is {birthdays[1]}, the {birthdays[2]}). Diary at {paths[0]} and {paths[1]}. "
        f"Key: {key}"
    )


# --- finding many needles at once --------------------------------------------------------------

S = TypeVar("S", str, bytes)


def _trie_pattern(needles: Iterable[S], empty: S) -> S:
    """A regular expression matching any of ``needles``, as a trie (one pass over the text)."""
    trie: dict[S, dict] = {}
    for needle in needles:
        node = trie
        for i in range(len(needle)):
            node = node.setdefault(needle[i : i + 1], {})
        node[empty] = {}

    def build(node: dict[S, dict]) -> S:
        branches = [re.escape(ch) + build(node[ch]) for ch in sorted(k for k in node if k)]
        if not branches:
            return empty
        group = empty.join([_lit(empty, "(?:"), _lit(empty, "|").join(branches), _lit(empty, ")")])
        if empty in node:  # a needle ends here: what follows is optional
            return group + _lit(empty, "?")
        return branches[0] if len(branches) == 1 else group

    return build(trie)


def _lit(kind: S, text: str) -> S:
    return text.encode() if isinstance(kind, bytes) else text  # type: ignore[return-value]


@dataclass
class Needles(Generic[S]):
    """Many strings (or byte strings) looked for at once; :meth:`found` lists every one that
    occurs in a haystack, however they overlap."""

    needles: frozenset[S]
    _pattern: re.Pattern[S] | None = field(init=False, repr=False)
    _lengths: list[int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.needles = frozenset(n for n in self.needles if n)
        self._lengths = sorted({len(n) for n in self.needles})
        if not self.needles:
            self._pattern = None
            return
        empty = next(iter(self.needles))[:0]
        trie = _trie_pattern(sorted(self.needles), empty)
        self._pattern = re.compile(_lit(empty, "(?=") + trie + _lit(empty, ")"))

    def found(self, haystack: S) -> set[S]:
        """Every needle that occurs in ``haystack``."""
        if self._pattern is None:
            return set()
        hits: set[S] = set()
        for match in self._pattern.finditer(haystack):  # each place where some needle starts
            at = match.start()
            hits.update(
                piece
                for piece in (haystack[at : at + n] for n in self._lengths)
                if piece in self.needles
            )
        return hits


# --- scanning a dataset ------------------------------------------------------------------------


def decoded_values(path: Path) -> list[str]:
    """Every value and every statistic of a Parquet file, as text."""
    file = pq.ParquetFile(path)
    values = [str(v) for row in file.read().to_pylist() for v in row.values()]
    meta = file.metadata
    values.append(str(meta.metadata))
    values.append(str(file.schema_arrow))
    for g in range(meta.num_row_groups):
        for c in range(meta.num_columns):
            stats = meta.row_group(g).column(c).statistics
            if stats is not None and stats.has_min_max:
                values.extend([str(stats.min), str(stats.max)])
    return values


def decoded_text(path: Path) -> str:
    """A dataset file's content as text: Parquet values and statistics, or the JSON
    (re-encoded, so that escaped characters are compared as characters)."""
    if path.suffix == ".parquet":
        return "\n".join(decoded_values(path))
    if path.suffix == ".json":
        return json.dumps(json.loads(path.read_bytes()), ensure_ascii=False)
    return path.read_bytes().decode("utf-8", "replace")  # not expected in a dataset


@dataclass(frozen=True)
class Hit:
    file: str
    where: str  # "raw bytes" | "bytes" | "values" | "words"
    canary: str


@dataclass
class Scan:
    """What :func:`scan_dataset` looked at and found."""

    files: list[str] = field(default_factory=list)
    bytes: int = 0
    #: characters of decoded values (Parquet values and statistics, JSON) looked through
    characters: int = 0
    hits: list[Hit] = field(default_factory=list)

    def add(self, other: Scan) -> None:
        self.files += other.files
        self.bytes += other.bytes
        self.characters += other.characters
        self.hits += other.hits


@dataclass
class Canaries:
    """The three kinds of canary (see the module's docstring), prepared for scanning."""

    raw: Needles[bytes]
    anywhere: Needles[bytes]
    anywhere_text: Needles[str]
    in_words: Needles[str]

    @classmethod
    def of(
        cls,
        *,
        raw: Iterable[bytes] = (),
        anywhere: Iterable[str] = (),
        in_words: Iterable[str] = (),
    ) -> Canaries:
        folded = {c.lower() for c in anywhere}
        return cls(
            Needles(frozenset(raw)),
            Needles(frozenset(c.encode("utf-8") for c in folded)),
            Needles(frozenset(folded)),
            Needles(frozenset(folded | {c.lower() for c in in_words})),
        )

    def __len__(self) -> int:
        return len(self.raw.needles) + len(self.in_words.needles)


def scan_file(path: Path, canaries: Canaries) -> Scan:
    """Look for every canary in one dataset file, in its bytes and its decoded values."""
    raw = path.read_bytes()
    text = decoded_text(path).lower()
    found = [
        ("raw bytes", canaries.raw.found(raw)),
        ("bytes", canaries.anywhere.found(raw.lower())),
        ("values", canaries.anywhere_text.found(text)),
        ("words", canaries.in_words.found(HEX.sub(" ", text))),
    ]
    hits = [
        Hit(path.name, where, c.decode("utf-8", "replace") if isinstance(c, bytes) else c)
        for where, cs in found
        for c in sorted(cs)
    ]
    return Scan([path.name], len(raw), len(text), hits)


def scan_dataset(folder: Path, canaries: Canaries) -> Scan:
    """Look for every canary in every file of a dataset folder (sub-folders too)."""
    scan = Scan()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        scan.add(scan_file(path, canaries))
    return scan
