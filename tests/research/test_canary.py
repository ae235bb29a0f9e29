"""Canaries: planted identifiers must not appear in any byte of any output file.

Synthetic workbooks carry unusual names (in the people register, as a co-counselling peer
and in free text, with variants), an e-mail address, phone numbers, dates of birth, file
paths, the workbook files' own paths and the study key itself. The batch runs with free
text left out and with it scrubbed. Every output file is then searched: its raw bytes
(Parquet footers, page headers and statistics are not compressed), every decoded value of
every Parquet column, each column chunk's statistics, and the JSON files.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from research_helpers import AS_OF, KEY_TEXT, build_workbook, participant_records

from heron_research.records import CoCounsellingSession, Sharing
from heron_research.research import run_batch
from heron_research.research.keys import StudyKey

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
HEX = re.compile(r"\b[0-9a-f]{16,}\b")
#: also not in any decoded value
VALUE_CANARIES = (*BYTE_CANARIES, "1981", "7700", "14th")


def _notes(key: str) -> str:
    first, last = NAMES[0].split()
    return (
        f"{first} said {last.upper()}'s rule again; {NAMES[1]} and {PEER} rang. "
        f"Mail {EMAIL} or ring {PHONES[0]} / {PHONES[1]}. Born {BIRTHDAYS[0]} "
        f"(that is {BIRTHDAYS[1]}, the {BIRTHDAYS[2]}). Diary at {PATHS[0]} and {PATHS[1]}. "
        f"Key: {key}"
    )


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


def _decoded_values(path: Path) -> list[str]:
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


@pytest.mark.parametrize("free_text", ["none", "scrubbed"])
def test_no_canary_in_any_output_byte(
    tmp_path: Path,
    planted: tuple[Path, list[str]],
    scheduler: str,
    free_text: str,
) -> None:
    folder, _ = planted
    key = StudyKey(KEY_TEXT)
    out = tmp_path / f"dataset-{free_text}"
    report = run_batch(
        [folder], out, key=key, free_text=free_text, k=5, scheduler=scheduler, as_of=AS_OF
    )
    assert report.counts == {"inputs": 7, "included": 6, "excluded": 0, "erred": 1}
    secrets_ = [KEY_TEXT, KEY_TEXT.hex().encode(), key.pseudonymiser()._key]
    secrets_.append(key.pseudonymiser()._key.hex().encode())
    secrets_.append(str(tmp_path).encode())
    files = sorted(out.iterdir())
    assert len(files) == 18
    texts: list[str] = []
    for path in files:
        raw = path.read_bytes()
        for secret in secrets_:
            assert secret not in raw, (path.name, "a key or a path")
        lowered = raw.lower()
        for canary in BYTE_CANARIES:
            assert canary.lower().encode() not in lowered, (path.name, canary)
        if path.suffix == ".parquet":
            texts.extend(_decoded_values(path))
        else:
            texts.append(json.dumps(json.loads(raw), ensure_ascii=False))
    everything = "\n".join(texts).lower()
    assert KEY_TEXT.decode().lower() not in everything
    # pseudonyms, checksums and fingerprints are hex: "1981" or "7700" may occur in them
    # by chance, so the short canaries are looked for in everything else
    words = HEX.sub(" ", everything)
    for canary in VALUE_CANARIES:
        assert canary.lower() not in words, canary

    episodes = pq.read_table(out / "episodes.parquet").to_pylist()
    if free_text == "scrubbed":  # the text is there, scrubbed: the check above was not vacuous
        notes = [e["notes"] for e in episodes if e["notes"]]
        assert len(notes) == 6
        assert "[manager] said [manager] rule again; [partner] and [peer] rang" in notes[0]
        for token in ("[email]", "[phone]", "[date]", "[path]", "[code]"):
            assert token in notes[0], token
    else:
        assert "notes" not in episodes[0]
