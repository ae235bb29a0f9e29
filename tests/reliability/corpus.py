"""A corpus of small synthetic workbooks, each carrying canaries of its own (issue 6, case 9).

Every workbook gets made-up names (two people in the register and a co-counselling peer),
an e-mail address, two phone numbers, a date of birth written three ways, two file paths, a
postcode, a web address, the workbook's own path and id, and the study key, all planted in
free text of entries shared for research (names with variants: the surname in capitals with
's, the first name with an accent), and two words written only in a practitioner-only and a
private entry; next to the ordinary records of ``research_helpers.participant_records``.
No two workbooks share a canary (none is even part of another's), so a canary found anywhere
names the workbook it came from.

Made-up words use only the consonants z, x, q, v, k, j and w, so they cannot be an English
word, a vocabulary term or a hexadecimal pseudonym. Canaries and workbook ids come from a
fixed seed: the same every run (record ids are new each run).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path

from canaries import notes_text
from research_helpers import R, build_workbook, episode, participant_records

from heron_research.records import AgendaItem, CoCounsellingSession, Record, Sharing

__all__ = ["MAX_WORKBOOKS", "Planted", "build_corpus"]

#: born in different months of 1940-2004
MAX_WORKBOOKS = 65 * 12

_CONSONANTS = "zxqvkjw"
_VOWELS = "aeiouy"
_ACCENTED = dict(zip("aeiouy", "áéíóúý", strict=True))


class _Maker:
    """Made-up values from one seeded generator, never the same one twice."""

    def __init__(self, seed: str) -> None:
        self.rng = random.Random(seed)
        self._taken: set[str] = set()

    def unique(self, make: Callable[[], str]) -> str:
        while True:
            value = make()
            if value not in self._taken:
                self._taken.add(value)
                return value

    def word(self) -> str:
        rng = self.rng
        return self.unique(
            lambda: "".join(rng.choice(_CONSONANTS) + rng.choice(_VOWELS) for _ in range(4))
        )

    def name(self) -> str:
        return f"{self.word().capitalize()} {self.word().capitalize()}"

    def digits(self, n: int) -> str:
        return self.unique(lambda: "".join(self.rng.choice("0123456789") for _ in range(n)))

    def postcode(self) -> str:
        letters = "ABDEFGHJLNPQRSTUWXYZ"
        rng = self.rng

        def make() -> str:
            a, b, c, d = (rng.choice(letters) for _ in range(4))
            return f"{a}{b}{rng.randrange(1, 10)} {rng.randrange(10)}{c}{d}"

        return self.unique(make)

    def birthday(self) -> date:
        """A date of birth in a month and year no other workbook has (so that no written
        date is part of another, as 7th January is of 17th January)."""
        rng = self.rng
        month = self.unique(lambda: f"{rng.randrange(1940, 2005)}-{rng.randrange(1, 13):02d}")
        return date.fromisoformat(f"{month}-{rng.randrange(1, 29):02d}")

    def workbook_id(self) -> str:
        return self.unique(lambda: uuid.UUID(int=self.rng.getrandbits(128), version=4).hex)


def _ordinal(day: int) -> str:
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _accented(word: str) -> str:
    """``word`` with its first vowel accented (Zaqi -> Záqi)."""
    at = next(i for i, ch in enumerate(word) if ch in _ACCENTED)
    return word[:at] + _ACCENTED[word[at]] + word[at + 1 :]


@dataclass(frozen=True)
class Planted:
    """One workbook of the corpus and every canary planted in it."""

    path: Path
    workbook_id: str
    consented: bool
    manager: str
    partner: str
    peer: str
    email: str
    phones: tuple[str, str]
    birthdays: tuple[str, str, str]
    paths: tuple[str, str]
    postcode: str
    url: str
    #: written only in a practitioner-only and a private entry
    hidden: tuple[str, str]
    #: the id of every record in the workbook (people included)
    record_ids: tuple[str, ...]

    @property
    def dashed_id(self) -> str:
        return str(uuid.UUID(self.workbook_id))

    @property
    def accented(self) -> str:
        """The manager's first name as written once in free text: with an accent."""
        return _accented(self.manager.split()[0])

    def names(self) -> list[str]:
        """Every made-up word (names, and those in addresses, paths and the file name)."""
        host = self.url.split("//www.")[1].split(".example")[0]
        return [
            *self.manager.split(),
            *self.partner.split(),
            *self.peer.split(),
            self.accented,
            *self.hidden,
            *host.split("-"),
            self.email.split("@")[1].split("-")[0],
            Path(self.paths[0]).stem,
            self.path.stem.split("-")[1],
        ]

    def anywhere(self) -> list[str]:
        """Canaries looked for in every output byte and decoded value (in any case)."""
        return [
            *self.names(),
            *self.all_ids(),
            self.email,
            *self.phones,
            *self.birthdays,
            *self.paths,
            self.postcode,
            self.url.split("//")[1].split("/")[0],
            str(self.path),
            self.path.name,
        ]

    def all_ids(self) -> list[str]:
        """The workbook id as text: hexadecimal (any case) and as a dashed UUID."""
        return [self.workbook_id, self.dashed_id]

    def in_words(self) -> list[str]:
        """Digits only, looked for in decoded values away from hexadecimal pseudonyms."""
        birthday = date.fromisoformat(self.birthdays[1])
        return [
            *("".join(ch for ch in phone if ch.isdigit()) for phone in self.phones),
            birthday.strftime("%d%m%Y"),
            birthday.strftime("%Y%m%d"),
        ]

    def raw(self) -> list[bytes]:
        """Exact bytes looked for in every output file: the workbook id as 16 raw bytes."""
        return [bytes.fromhex(self.workbook_id)]


def _plant(make: _Maker, folder: Path, index: int, consented: bool) -> Planted:
    manager, partner, peer = make.name(), make.name(), make.name()
    first, last = manager.split()
    born = make.birthday()
    mobile, home = make.digits(9), make.digits(9)
    return Planted(
        path=folder / f"{index:04d}-{make.word()}.heron",
        workbook_id=make.workbook_id(),
        consented=consented,
        manager=manager,
        partner=partner,
        peer=peer,
        email=f"{first.lower()}.{last.lower()}@{make.word()}-mail.example",
        phones=(f"+44 7{mobile[:3]} {mobile[3:]}", f"07{home[:3]}-{home[3:6]}-{home[6:]}"),
        birthdays=(f"{born:%d/%m/%Y}", born.isoformat(), f"{_ordinal(born.day)} {born:%B %Y}"),
        paths=(
            f"/home/{first.lower()}/therapy/{make.word()}.txt",
            f"C:\\Users\\{last.lower()}\\diary.docx",
        ),
        postcode=make.postcode(),
        url=f"https://www.{make.word()}-{make.word()}.example.org/profile/{first.lower()}",
        hidden=(make.word(), make.word()),
        record_ids=(),
    )


def _records(planted: Planted, key_text: str) -> list[Record]:
    p = planted
    first = p.manager.split()[0]
    notes = notes_text(
        (p.manager, p.partner), p.peer, p.email, p.phones, p.birthdays, p.paths, key_text
    ) + (
        f" See {p.url}, or write to {p.postcode}. This file: {p.path}. Workbook {p.workbook_id} "
        f"({p.dashed_id}); {p.accented} again."
    )
    records, _, _ = participant_records(
        names=(p.manager, p.partner),
        custom_emotion=f"{first}-ish",
        notes=notes,
        research=p.consented,
    )
    when = datetime(2025, 3, 24, 18, 30, tzinfo=UTC)
    records += [
        CoCounsellingSession(
            sharing=R,
            held_on=when.date(),
            peer_alias=p.peer,
            minutes_as_client=20,
            minutes_as_counsellor=20,
            worked_on=f"{p.peer} and I; {p.manager} ({p.email})",
        ),
        AgendaItem(
            sharing=R,
            raised_on=when.date(),
            item_type="question",
            text=f"Should I tell {p.partner.split()[0]}? Read {p.url} or ring {p.phones[1]}",
        ),
        episode(when, Sharing.PRACTITIONER, situation=f"Practitioner only: {p.hidden[0]}"),
        episode(when, Sharing.PRIVATE, situation=f"Private: {p.hidden[1]} and {p.manager}"),
    ]
    return records


def build_corpus(
    folder: Path, *, consented: int, refused: int, key_text: str, threads: int = 4
) -> list[Planted]:
    """``consented`` workbooks whose research consent is in force and ``refused`` whose is
    not, in ``folder``; the key text is written into every one's free text.

    The canaries are drawn in order (the same corpus every run); the files are written by a
    few threads, as writing them mostly waits for the disk."""
    if consented + refused > MAX_WORKBOOKS:
        raise ValueError(f"at most {MAX_WORKBOOKS} workbooks (one month of birth each)")
    folder.mkdir(parents=True, exist_ok=True)
    make = _Maker("heron-research reliability case 9 corpus")
    corpus = []
    for index in range(consented + refused):
        planted = _plant(make, folder, index, consented=index < consented)
        records = _records(planted, key_text)
        corpus.append((replace(planted, record_ids=tuple(r.id for r in records)), records))
    with ThreadPoolExecutor(threads) as pool:
        done = pool.map(lambda job: build_workbook(job[0].path, job[1], job[0].workbook_id), corpus)
        assert len(list(done)) == len(corpus)
    return [planted for planted, _ in corpus]
