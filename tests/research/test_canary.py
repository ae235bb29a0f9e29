"""Canaries: planted identifiers must not appear in any byte of any output file.

Synthetic workbooks carry unusual names (in the people register, as a co-counselling peer
and in free text, with variants), an e-mail address, phone numbers, dates of birth, file
paths, the workbook files' own paths and the study key itself. The batch runs with free
text left out and with it scrubbed. Every output file is then searched: its raw bytes
(Parquet footers, page headers and statistics are not compressed), every decoded value of
every Parquet column, each column chunk's statistics, and the JSON files.
"""

from __future__ import annotations

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

from heron_research.records import CoCounsellingSession, Sharing
from heron_research.research import run_batch
from heron_research.research.keys import StudyKey
from heron_research.research.tables import TABLES


def _notes(key: str) -> str:
    return notes_text(NAMES, PEER, EMAIL, PHONES, BIRTHDAYS, PATHS, key)


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


@pytest.mark.parametrize("free_text", ["none", "scrubbed"])
def test_no_canary_in_any_output_byte(
    tmp_path: Path,
    planted: tuple[Path, list[str]],
    scheduler: str,
    free_text: str,
) -> None:
    folder, paths = planted
    key = StudyKey(KEY_TEXT)
    out = tmp_path / f"dataset-{free_text}"
    report = run_batch(
        [folder], out, key=key, free_text=free_text, k=5, scheduler=scheduler, as_of=AS_OF
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
