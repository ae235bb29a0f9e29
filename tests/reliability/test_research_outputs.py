"""Research outputs (issue 6, case 9): no planted identifier reaches a dataset, and the
pseudonyms cannot be linked to workbook ids without the study key.

What is promised: a research dataset, whether free text is left out or kept after
scrubbing, holds no name, address, number, date of birth, path, workbook id or key from the
workbooks it was made from, and nothing from workbooks without research consent; and its
pseudonyms are keyed: knowing every workbook id (and file path) does not let anyone find
which pseudonym is whose, while the study owner, with the key, can.

How it is checked:

1. A corpus (``corpus.py``) of N small synthetic workbooks with research consent (30 in
   ``make test``, 500 at full scale) and a few without, each carrying canaries of its own
   (made-up names in the people register, as a co-counselling peer and in free text with
   variants; an e-mail address, phone numbers, a date of birth three ways, paths, a
   postcode, a web address, its own path and id, the study key) beside ordinary records.
2. The real batch runs twice on one local Dask cluster of two worker processes (the
   cluster ``heron-research batch`` starts): free text left out, then scrubbed. Every
   consented workbook must be included in both, and the manifest must name the mode.
3. Every file of both datasets is scanned (``canaries.scan_dataset``, shared with
   ``tests/research/test_canary.py``): raw bytes and every decoded value, for every canary
   of every workbook, each workbook id (hexadecimal in any case, dashed, 16 raw bytes), the
   study key and the key derived from it. Hits must be 0. The same scanner must find each
   workbook's own canaries in that workbook's file and no other workbook's, so the canaries
   are really planted, unique, and seen when present.
4. Dictionary attack: for every workbook id (and record id, file path and name) the
   attacker tries unkeyed SHA-256, SHA-1, MD5, SHA-2/3 and BLAKE2 of the id as text (either
   case, dashed or not) and as raw bytes, with and without the prefixes an implementation
   might use (the package's own domain labels included), HMAC with an empty key, and the
   package's own pseudonym scheme under guessable keys, each truncated to the pseudonym's
   16 hex digits (first and last). Every 16-hex-digit string in the outputs is a target;
   matches must be 0. Controls: the same attack finds pseudonyms made the unkeyed way; the
   study key re-derives every participant pseudonym (N) and explains every pseudonym in the
   outputs; a wrong key matches none.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from canaries import Canaries, Needles, Scan, decoded_text, scan_dataset
from corpus import Planted, build_corpus
from figures import Figures, Scale
from research_helpers import AS_OF, KEY_TEXT

from heron_research.principles import current_principles
from heron_research.research import BatchReport, run_batch
from heron_research.research import keys as keys_module
from heron_research.research.batch import dask_client
from heron_research.research.keys import Pseudonymiser, StudyKey
from heron_research.research.tables import TABLES

FULL = Scale.from_env().full
pytestmark = [
    pytest.mark.reliability,
    pytest.mark.processes,
    pytest.mark.timeout(1800 if FULL else 300),
]

CASE = 9
MODES = ("none", "scrubbed")
FILES_PER_DATASET = len(TABLES) + 2  # the tables, the codebook and the manifest
WRONG_KEY = b"not-the-study-key-but-as-long-4Rt8Q"
#: what every workbook's paths and addresses have in common
GENERIC = ("/home/", "c:\\users", "/therapy/", ".example.org", "-mail.example")
#: type tokens every participant's scrubbed notes must show (the scrubbing really happened)
TOKENS = (
    "[manager]",
    "[partner]",
    "[peer]",
    "[email]",
    "[phone]",
    "[date]",
    "[path]",
    "[code]",
    "[url]",
    "[postcode]",
)
PSEUDONYM = re.compile(r"[0-9a-f]{16}")
HEX16 = re.compile(r"\b[0-9a-f]{16}\b")


@dataclass(frozen=True)
class Corpus:
    folder: Path
    planted: list[Planted]

    @property
    def consented(self) -> list[Planted]:
        return [p for p in self.planted if p.consented]

    @property
    def refused(self) -> list[Planted]:
        return [p for p in self.planted if not p.consented]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, scale: Scale) -> Corpus:
    folder = tmp_path_factory.mktemp("case9") / "workbooks"
    planted = build_corpus(
        folder,
        consented=scale.pick(test=30, full=500),
        refused=scale.pick(test=3, full=20),
        key_text=KEY_TEXT.decode(),
    )
    return Corpus(folder, planted)


@pytest.fixture(scope="module")
def datasets(corpus: Corpus, tmp_path_factory: pytest.TempPathFactory) -> dict[str, BatchReport]:
    """The batch run on the corpus in each free-text mode, on one two-process cluster."""
    out = tmp_path_factory.mktemp("case9-datasets")
    with dask_client(workers=2) as client:
        return {
            mode: run_batch(
                [corpus.folder],
                out / f"dataset-{mode}",
                key=StudyKey(KEY_TEXT),
                free_text=mode,  # type: ignore[arg-type]
                k=5,
                client=client,
                as_of=AS_OF,
            )
            for mode in MODES
        }


def _table(report: BatchReport, name: str, *columns: str) -> list[dict]:
    return pq.read_table(report.out / f"{name}.parquet", columns=list(columns)).to_pylist()


# --- nothing dropped ----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_every_consented_workbook_is_included(
    mode: str, corpus: Corpus, datasets: dict[str, BatchReport], figures: Figures
) -> None:
    report = datasets[mode]
    manifest = json.loads((report.out / "manifest.json").read_text(encoding="utf-8"))
    n, refused = len(corpus.consented), len(corpus.refused)
    figures.record(
        CASE,
        f"workbooks included (free text {mode})",
        manifest["counts"]["included"],
        note=f"of {n} consented; {refused} without consent excluded",
    )
    assert manifest == report.manifest
    assert manifest["counts"] == {
        "inputs": n + refused,
        "included": n,
        "excluded": refused,
        "erred": 0,
    }
    assert {code: e["count"] for code, e in manifest["excluded"].items()} == {
        "research_not_given": refused
    }
    assert manifest["parameters"]["free_text"] == manifest["free_text"]["mode"] == mode
    participants = [r["participant_id"] for r in _table(report, "participants", "participant_id")]
    assert len(set(participants)) == len(participants) == n

    text = {c.name for t in TABLES for c in t.by_role("text")}
    columns = {name for p in report.out.glob("*.parquet") for name in pq.read_schema(p).names}
    assert columns & text == (text if mode == "scrubbed" else set())


def test_scrubbed_text_is_kept_and_scrubbed(
    corpus: Corpus, datasets: dict[str, BatchReport]
) -> None:
    """The scrubbed dataset holds every participant's planted text, scrubbed: the canary scan
    of that dataset looks at text that is really there."""
    report = datasets["scrubbed"]
    n = len(corpus.consented)
    notes = [r["notes"] for r in _table(report, "episodes", "notes") if r["notes"]]
    assert len(notes) == n
    for note in notes:
        assert [t for t in TOKENS if t not in note] == [], note
    worked_on = [r["worked_on"] for r in _table(report, "co_counselling", "worked_on")]
    assert sorted(w for w in worked_on if w) == ["[peer] and I; [manager] ([email])"] * n
    agenda = [r["text"] for r in _table(report, "agenda_items", "text")]
    assert agenda.count("Should I tell [partner]? Read [url] or ring [phone]") == n


# --- the canary scan ----------------------------------------------------------------------------


def _id_canaries(corpus: Corpus) -> tuple[set[str], set[bytes]]:
    """Each workbook id as text (lower case: the scan ignores case) and as raw bytes."""
    text = {i.lower() for p in corpus.planted for i in p.all_ids()}
    return text, {r for p in corpus.planted for r in p.raw()}


def _canaries(corpus: Corpus, base: Path) -> Canaries:
    key = StudyKey(KEY_TEXT)
    derived = key.pseudonymiser()._key
    ids_text, ids_raw = _id_canaries(corpus)
    return Canaries.of(
        raw=[*ids_raw, KEY_TEXT, derived],
        anywhere=[
            *(c for p in corpus.planted for c in p.anywhere()),
            *ids_text,
            *GENERIC,
            KEY_TEXT.decode(),
            KEY_TEXT.hex(),
            derived.hex(),
            str(corpus.folder),
            str(base),
        ],
        in_words=[c for p in corpus.planted for c in p.in_words()],
    )


def test_no_canary_in_any_output(
    corpus: Corpus,
    datasets: dict[str, BatchReport],
    figures: Figures,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    canaries = _canaries(corpus, tmp_path_factory.getbasetemp())
    ids_text, ids_raw = _id_canaries(corpus)
    id_names = ids_text | {r.decode("utf-8", "replace") for r in ids_raw}
    scan = Scan()
    for mode in MODES:
        scan.add(scan_dataset(datasets[mode].out, canaries))
    id_hits = [h for h in scan.hits if h.canary in id_names]

    figures.record(
        CASE,
        "workbooks",
        len(corpus.consented),
        note=f"with research consent; +{len(corpus.refused)} without, scanned for too",
    )
    figures.record(CASE, "canaries planted", len(canaries), note="distinct strings looked for")
    figures.record(CASE, "output files scanned (both modes)", len(scan.files))
    figures.record(
        CASE,
        "bytes scanned",
        scan.bytes,
        note=f"raw file bytes; and {scan.characters:,} characters of decoded values",
    )
    figures.record(CASE, "canary hits", len(scan.hits) - len(id_hits), must_be_zero=True)
    figures.record(CASE, "workbook-id hits", len(id_hits), must_be_zero=True)

    assert len(scan.files) == len(MODES) * FILES_PER_DATASET
    assert scan.hits == []


def test_each_workbook_carries_its_own_canaries_and_no_other(corpus: Corpus) -> None:
    """The control for the scan: in each input file the same scanner finds every canary
    planted there, and none of another workbook's (so each canary names one workbook)."""
    owner: dict[bytes, Path] = {}
    for p in corpus.planted:
        for canary in {c.lower().encode() for c in p.anywhere()}:
            assert owner.setdefault(canary, p.path) == p.path, ("planted twice", canary)
    needles = Canaries.of(anywhere=[c for p in corpus.planted for c in p.anywhere()]).anywhere
    for p in corpus.planted:
        found = needles.found(p.path.read_bytes().lower())
        # (records are stored as JSON, where a backslash is written twice)
        planted = {c.lower().encode() for c in p.anywhere() if "\\" not in c}
        assert planted - found == set(), p.path.name
        assert {c for c in found if owner[c] != p.path} == set(), p.path.name


# --- the dictionary attack ----------------------------------------------------------------------


def _unkeyed_hashes() -> list[tuple[str, Callable[[bytes], str]]]:
    """Hash functions an attacker would try, each giving hex digits."""
    hashes: list[tuple[str, Callable[[bytes], str]]] = []
    for name in ("md5", "sha1", "sha224", "sha256", "sha384", "sha512", "sha3_256", "sha3_512"):
        function = getattr(hashlib, name)
        hashes.append((name, lambda m, f=function: f(m).hexdigest()))
    for size in (8, 16, 32, 64):
        hashes.append(
            (f"blake2b-{size * 8}", lambda m, s=size: hashlib.blake2b(m, digest_size=s).hexdigest())
        )
    for size in (8, 32):
        hashes.append(
            (f"blake2s-{size * 8}", lambda m, s=size: hashlib.blake2s(m, digest_size=s).hexdigest())
        )
    for name in ("md5", "sha1", "sha256", "sha512"):
        hashes.append((f"hmac-{name}, empty key", lambda m, n=name: hmac.digest(b"", m, n).hex()))
    return hashes


HASHES = _unkeyed_hashes()
LABEL = keys_module._LABEL  # in the source: an attacker can read it
PREFIXES = (
    b"",
    b"participant",
    b"participant:",
    b"participant\x00",
    b"participant|",
    b"participant-",
    b"participant/",
    b"workbook:",
    b"input\x00workbook:",
    b"heron:",
    b"heron-research:",
    LABEL,
    LABEL + b"participant\x00",
)
SUFFIXES = (b"", b"\n")


def _id_messages(p: Planted) -> Iterator[bytes]:
    """The workbook id (and file path) in every form, with every prefix an implementation
    might use; and each record id with the workbook id, joined as one might."""
    dashed = p.dashed_id
    forms = [
        *(
            t.encode()
            for t in (
                p.workbook_id,
                p.workbook_id.upper(),
                dashed,
                dashed.upper(),
                f"urn:uuid:{dashed}",
                str(p.path),
                p.path.name,
                p.path.stem,
            )
        ),
        bytes.fromhex(p.workbook_id),
    ]
    for form in forms:
        for prefix in PREFIXES:
            for suffix in SUFFIXES:
                yield prefix + form + suffix
    wid = p.workbook_id.encode()
    for rid in (r.encode() for r in p.record_ids):
        yield from (rid, wid + rid, wid + b":" + rid, wid + b"/" + rid, wid + b"\x00" + rid)
        yield b"record\x00" + wid + b"\x00" + rid


def _guessed_keys(fingerprint: str) -> list[bytes]:
    """Keys an attacker might guess for the package's own scheme: empty, its labels, the
    key an empty study key would give, the public fingerprint."""
    return [
        b"",
        LABEL,
        LABEL + b"pseudonyms",
        b"heron-research",
        hmac.digest(b"", LABEL + b"pseudonyms", "sha256"),
        fingerprint.encode(),
        bytes.fromhex(fingerprint),
    ]


def _derive(keys: Pseudonymiser, p: Planted) -> Iterator[str]:
    """Every pseudonym the scheme gives for a workbook under ``keys``."""
    yield keys.participant(p.workbook_id)
    yield keys.input_ref(f"workbook:{p.workbook_id}")
    yield keys.input_ref(f"export:{p.workbook_id}")
    for rid in p.record_ids:
        yield keys.record(p.workbook_id, rid)


def _attack(planted: list[Planted], targets: set[str], fingerprint: str) -> tuple[int, list]:
    """Try every candidate against ``targets``: (candidates tried, matches)."""
    tried = 0
    matches: list[tuple[str, str, bytes | str, str]] = []
    guessed = [Pseudonymiser(k) for k in _guessed_keys(fingerprint)]
    for p in planted:
        for message in _id_messages(p):
            for name, digest in HASHES:
                full = digest(message)
                for candidate in {full[:16], full[-16:]}:
                    tried += 1
                    if candidate in targets:
                        matches.append((p.workbook_id, name, message, candidate))
        wid = p.workbook_id.encode()
        keyed_by_id = [hmac.digest(wid, m, "sha256").hex()[:16] for m in (b"", b"participant")]
        schemes = [c for keys in guessed for c in _derive(keys, p)]
        for candidate in (*keyed_by_id, *schemes):
            tried += 1
            if candidate in targets:
                matches.append((p.workbook_id, "keyed guess", "", candidate))
    return tried, matches


def _pseudonyms(report: BatchReport) -> set[str]:
    """Every value of every pseudonym column, and the manifest's input references."""
    found: set[str] = set()
    for spec in TABLES:
        names = [c.name for c in spec.columns if c.role in ("participant", "id", "person", "ref")]
        for row in _table(report, spec.name, *names):
            found.update(v for v in row.values() if v is not None)
    for entry in report.manifest["inputs"]:
        found.add(entry["input"])
        found.update([entry["participant_id"]] if "participant_id" in entry else [])
    return found


def test_dictionary_attack_on_pseudonyms_matches_nothing(
    corpus: Corpus, datasets: dict[str, BatchReport], figures: Figures
) -> None:
    key = StudyKey(KEY_TEXT)
    pseudonyms = set().union(*(_pseudonyms(datasets[mode]) for mode in MODES))
    targets = {
        token
        for mode in MODES
        for path in sorted(datasets[mode].out.iterdir())
        for token in HEX16.findall(decoded_text(path).lower())
    }
    tried, matches = _attack(corpus.planted, targets, key.fingerprint)
    owner = {c for p in corpus.planted for c in _derive(key.pseudonymiser(), p)}
    stranger = {c for p in corpus.planted for c in _derive(StudyKey(WRONG_KEY).pseudonymiser(), p)}
    participants = {
        r["participant_id"] for r in _table(datasets["none"], "participants", "participant_id")
    }
    rederived = {key.pseudonymiser().participant(p.workbook_id) for p in corpus.consented}

    figures.record(CASE, "pseudonyms in the outputs", len(pseudonyms), note="both modes")
    figures.record(CASE, "dictionary candidates tried", tried)
    figures.record(CASE, "dictionary matches", len(matches), must_be_zero=True)
    figures.record(
        CASE,
        "keyed re-derivation matches",
        len(rederived & participants),
        note="participant pseudonyms the study owner re-derives with the key (= workbooks)",
    )
    figures.record(CASE, "wrong-key matches", len(stranger & targets), must_be_zero=True)

    assert all(PSEUDONYM.fullmatch(p) for p in pseudonyms)
    # every 16-hex-digit string in the outputs is a pseudonym, the key's fingerprint or the
    # short digest naming the principles text consent was given to
    principles = current_principles().version.removeprefix("sha256:")
    assert targets == pseudonyms | {key.fingerprint, principles}
    assert matches == []
    assert rederived == participants and len(participants) == len(corpus.consented)
    assert pseudonyms <= owner  # the study owner can explain every pseudonym
    assert not stranger & targets
    assert not {key.pseudonymiser().participant(p.workbook_id) for p in corpus.refused} & targets


def test_the_attack_finds_pseudonyms_made_without_a_key(corpus: Corpus) -> None:
    """The control for the attack: pseudonyms made the careless way (an unkeyed hash of the
    workbook id, truncated) are all found by the same code."""
    sample = corpus.planted[:10]
    careless = {hashlib.sha256(p.workbook_id.encode()).hexdigest()[:16] for p in sample[:5]} | {
        hashlib.md5(b"participant:" + p.workbook_id.upper().encode()).hexdigest()[-16:]
        for p in sample[5:]
    }
    _, matches = _attack(sample, careless, "0" * 16)
    assert {m[3] for m in matches} == careless


def test_the_scanner_finds_every_needle_that_occurs() -> None:
    """The scanner's one-pass search agrees with looking for each needle in turn, for
    needles that overlap, are prefixes of one another, or are arbitrary bytes."""
    rng = random.Random(9)
    for _ in range(200):
        alphabet = "ab\\.(*é"
        needles = {"".join(rng.choices(alphabet, k=rng.randint(1, 5))) for _ in range(8)}
        haystack = "".join(rng.choices(alphabet, k=60))
        assert Needles(frozenset(needles)).found(haystack) == {n for n in needles if n in haystack}
        raw = {rng.randbytes(rng.randint(1, 3)) for _ in range(8)}
        data = rng.randbytes(300)
        assert Needles(frozenset(raw)).found(data) == {n for n in raw if n in data}
    assert Needles(frozenset()).found("anything") == set()
