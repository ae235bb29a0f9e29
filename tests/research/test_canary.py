"""Canaries: planted identifiers must not appear in any byte of any output file.

Synthetic workbooks carry unusual names (in the people register, as a co-counselling peer
and in free text, with variants), an e-mail address, phone numbers, dates of birth, file
paths, the workbook files' own paths and the study key itself. The batch runs with free
text left out and with it scrubbed, on the workbooks and on the research bundles the
clients share of them (``road``: the bundle's decrypted bytes are searched too, for what
must not leave the client's machine). Every output file is then searched: its raw bytes
(Parquet footers, page headers and statistics are not compressed), every decoded value of
every Parquet column, each column chunk's statistics, and the JSON files.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from canaries import (
    BIRTHDAYS,
    BYTE_CANARIES,
    EMAIL,
    NAMES,
    PATHS,
    PEER,
    PHONES,
    VALUE_CANARIES,
    Canaries,
    notes_text,
    scan_dataset,
    scan_file,
)
from research_helpers import AS_OF, KEY_TEXT, build_workbook, participant_records

from heron_research.errors import HeronError
from heron_research.records import CoCounsellingSession, Sharing
from heron_research.research import StudyIdentities, load_identities, run_batch
from heron_research.research.keys import StudyKey
from heron_research.research.tables import TABLES


def _notes(key: str) -> str:
    return notes_text(NAMES, PEER, EMAIL, PHONES, BIRTHDAYS, PATHS, key)


@dataclass(frozen=True)
class Road:
    """What the batch reads: the workbooks themselves, or the research bundles of them."""

    folder: Path
    identities: StudyIdentities
    #: each bundle's decrypted document (empty on the workbook road)
    plaintexts: dict[str, bytes]


def _road(road: str, folder: Path, free_text: str, tmp_path: Path) -> Road:
    """``folder`` as it is, or each workbook in it shared for research (``free_text``) into
    a folder of bundles (with the folder's other ``.heron`` files beside them)."""
    if road == "workbook":
        return Road(folder, StudyIdentities(), {})
    from heron_research.exchange.bundle import build_bundle
    from heron_research.exchange.keys import new_identity
    from heron_research.exchange.share import share
    from heron_research.visibility import Audience
    from heron_research.workbook import Workbook

    keys = tmp_path / "keys"
    keys.mkdir()
    study, client = keys / "study.agekey", keys / "client.agekey"
    recipient = new_identity(study)
    new_identity(client)
    out = tmp_path / f"bundles-{free_text}"
    out.mkdir()
    plaintexts: dict[str, bytes] = {}
    for path in sorted(folder.glob("*.heron")):  # listed before any is opened
        try:
            wb = Workbook.open(path)
        except HeronError:
            shutil.copyfile(path, out / path.name)  # not a workbook: it goes as it is
            continue
        with wb:
            bundle = out / f"{path.stem}.age"
            share(wb, "research", bundle, recipient=recipient, identity=client, free_text=free_text)
            plaintexts[path.name] = build_bundle(
                wb, Audience.RESEARCH, sequence=1, free_text=free_text
            ).to_bytes()
    return Road(out, load_identities([study]), plaintexts)


@pytest.fixture
def planted(tmp_path: Path) -> tuple[Path, list[str]]:
    folder = tmp_path / "canary-client-files"
    folder.mkdir()
    paths = []
    for i in range(6):
        path = folder / f"canary-client-{i}.heron"
        records, _, _ = participant_records(
            names=NAMES,
            custom_emotion=f"{NAMES[0].split()[0]}-ish {i}",
            notes=_notes(KEY_TEXT.decode()) + f" This file: {path}",
        )
        records.append(
            CoCounsellingSession(
                sharing=Sharing.RESEARCH,
                held_on=AS_OF.date().replace(year=2025),
                peer_alias=PEER,
                minutes_as_client=20,
                minutes_as_counsellor=20,
                worked_on=f"{PEER} and I; {NAMES[0]}",
            )
        )
        paths.append(build_workbook(path, records))
    (folder / "canary-client-broken.heron").write_text(f"broken {NAMES[0]} {EMAIL}")
    return folder, [str(p) for p in paths]


@pytest.mark.parametrize("road", ["workbook", "bundle"])
@pytest.mark.parametrize("free_text", ["none", "scrubbed"])
def test_no_canary_in_any_output_byte(
    tmp_path: Path,
    planted: tuple[Path, list[str]],
    scheduler: str,
    free_text: str,
    road: str,
) -> None:
    folder, paths = planted
    key = StudyKey(KEY_TEXT)
    out = tmp_path / f"dataset-{free_text}"
    given = _road(road, folder, free_text, tmp_path)
    report = run_batch(
        [given.folder],
        out,
        key=key,
        free_text=free_text,
        k=5,
        scheduler=scheduler,
        as_of=AS_OF,
        identities=given.identities,
    )
    assert report.counts == {"inputs": 7, "included": 6, "excluded": 0, "erred": 1}
    secrets_ = [KEY_TEXT, KEY_TEXT.hex().encode(), key.pseudonymiser()._key]
    secrets_.append(key.pseudonymiser()._key.hex().encode())
    secrets_.append(str(tmp_path).encode())
    canaries = Canaries.of(
        raw=secrets_,
        anywhere=[*BYTE_CANARIES, KEY_TEXT.decode(), str(tmp_path)],
        # pseudonyms, checksums and fingerprints are hex: "1981" or "7700" may occur in them
        # by chance, so the short canaries are looked for in everything else
        in_words=VALUE_CANARIES,
    )
    scan = scan_dataset(out, canaries)
    assert len(scan.files) == len(list(out.iterdir())) == len(TABLES) + 2
    assert scan.hits == []
    # what leaves the client's machine: no name, contact detail or date in a bundle
    names = Canaries.of(anywhere=[c for c in BYTE_CANARIES if c != "canary-client"])
    assert len(given.plaintexts) == (6 if road == "bundle" else 0)
    for name, plaintext in given.plaintexts.items():
        assert names.anywhere.found(plaintext.lower()) == set(), name
    # the scanner finds what was planted (in the input's own bytes): the check is not vacuous
    found = scan_file(Path(paths[0]), canaries).hits
    planted_found = {h.canary for h in found if h.where == "bytes"}
    # (the workbook stores records as JSON, where a backslash is written twice)
    assert {c.lower() for c in BYTE_CANARIES if "\\" not in c} <= planted_found

    episodes = pq.read_table(out / "episodes.parquet").to_pylist()
    if free_text == "scrubbed":  # the text is there, scrubbed: the check above was not vacuous
        notes = [e["notes"] for e in episodes if e["notes"]]
        assert len(notes) == 6
        assert "[manager] said [manager] rule again; [partner] and [peer] rang" in notes[0]
        for token in ("[email]", "[phone]", "[date]", "[path]", "[code]"):
            assert token in notes[0], token
    else:
        assert "notes" not in episodes[0]


@pytest.mark.parametrize("road", ["workbook", "bundle"])
@pytest.mark.parametrize("free_text", ["none", "scrubbed"])
def test_no_address_name_form_own_word_or_private_person_reaches_the_dataset(
    tmp_path: Path, scheduler: str, free_text: str, road: str
) -> None:
    """Issue 15's forms: street addresses, every spelling of a registered name (hyphen,
    joined, parts, possessives, case, accents), own words naming someone (used by 6
    participants, k = 5), and the keyed ids of people not shared for research; on the
    bundle road, also not in what leaves the client's machine (their ids unkeyed, too)."""
    from datetime import UTC, date, datetime

    from canaries import (
        FORM_CANARIES,
        FORM_NAMES,
        FORM_WORD_CANARIES,
        OWN_WORDS,
        forms_text,
    )
    from research_helpers import P, R, X, consent, episode

    from heron_research.records import Person, ProjectionHypothesis
    from heron_research.workbook import Workbook

    key = StudyKey(KEY_TEXT)
    keys = key.pseudonymiser()
    folder = tmp_path / "forms"
    folder.mkdir()
    private_ids: list[str] = []
    unkeyed: list[str] = []  # the ids as in the workbook, of people not shared for research
    kept_ids: list[str] = []
    for n in range(6):
        shared = Person(alias=FORM_NAMES[0], relationship="friend", sharing=R)
        practitioner = Person(alias=FORM_NAMES[1], relationship="sibling", sharing=P)
        private = Person(alias=FORM_NAMES[2], relationship="partner", sharing=X)
        people = [shared.id, practitioner.id, private.id]
        records = [
            consent(datetime(2025, 1, 2, 9, 0, tzinfo=UTC)),
            shared,
            practitioner,
            private,
            episode(
                datetime(2025, 3, 3, 8, 15, tzinfo=UTC),
                situation=forms_text(),
                notes=forms_text(),
                people=people,
                emotions=[{"emotion": OWN_WORDS[1], "intensity": 4}],
                self_management=[
                    {"technique": OWN_WORDS[0], "skill": "expression", "intensity_after": 2}
                ],
            ),
            *(
                ProjectionHypothesis(
                    sharing=R,
                    opened_on=date(2025, 3, 6),
                    person_id=person,
                    reaction=forms_text(),
                    echoes="an old story",
                    unprocessed_emotion="grief",
                )
                for person in people
            ),
        ]
        path = build_workbook(folder / f"forms-{n}.heron", records)
        with Workbook.open(path, readonly=True) as wb:
            private_ids += [keys.record(wb.id, practitioner.id), keys.record(wb.id, private.id)]
            unkeyed += [practitioner.id, private.id]
            kept_ids.append(keys.record(wb.id, shared.id))
    out = tmp_path / f"dataset-{free_text}"
    given = _road(road, folder, free_text, tmp_path)
    report = run_batch(
        [given.folder],
        out,
        key=key,
        free_text=free_text,
        k=5,
        scheduler=scheduler,
        as_of=AS_OF,
        identities=given.identities,
    )
    assert report.counts == {"inputs": 6, "included": 6, "excluded": 0, "erred": 0}
    canaries = Canaries.of(anywhere=[*FORM_CANARIES, *private_ids], in_words=FORM_WORD_CANARIES)
    assert len(canaries) >= 20 + len(private_ids)
    scan = scan_dataset(out, canaries)
    assert scan.hits == [], f"{len(scan.hits)} hits of {len(canaries)} canaries: {scan.hits[:10]}"
    leaving = Canaries.of(anywhere=[*FORM_CANARIES, *unkeyed])
    assert len(given.plaintexts) == (6 if road == "bundle" else 0)
    for name, plaintext in given.plaintexts.items():
        assert leaving.anywhere.found(plaintext.lower()) == set(), name
    # not vacuous: the forms are in the inputs, and what is kept is there, as tokens
    planted = scan_file(folder / "forms-0.heron", Canaries.of(anywhere=FORM_CANARIES)).hits
    assert {h.canary for h in planted if h.where == "bytes"} == set(FORM_CANARIES)
    techniques = pq.read_table(out / "episode_self_management.parquet")["technique"]
    assert set(techniques.to_pylist()) == {"texting [friend]"}
    emotions = pq.read_table(out / "episode_emotions.parquet")["emotion"]
    assert set(emotions.to_pylist()) == {"[partner] blues"}
    hypotheses = pq.read_table(out / "hypotheses.parquet").to_pylist()
    assert sorted(h["person_id"] for h in hypotheses if h["person_id"]) == sorted(kept_ids)
    assert {h["relationship"] for h in hypotheses} == {"friend", None}
    if free_text == "scrubbed":
        notes = pq.read_table(out / "episodes.parquet")["notes"].to_pylist()
        assert notes[0].count("[address]") == 13, notes[0]  # "Flat 4, 7 ..." gives two
        assert notes[0].count("[friend]") == 5 and notes[0].count("[sibling]") == 3, notes[0]
