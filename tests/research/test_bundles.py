"""Research bundles as batch inputs: the same dataset as from the workbooks, and refusals.

Clients share with the study (``share --to research``); the researcher batches the bundles
with the study's age key (``--identity-file``). The dataset made from the bundles is the
one made from the same workbooks directly, file by file: every Parquet table and the
codebook byte for byte, and the manifest apart from each input's reference and format
(an input is named by a keyed hash of its format and workbook id, and its format is
``bundle``). A bundle that cannot be used is listed with its reason and the batch goes on.
"""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from research_helpers import AS_OF, Participant, digests

from heron_research.cli import main
from heron_research.demo import generate_demo
from heron_research.errors import KeyFileError, KeyFileExposedError
from heron_research.exchange.bundle import FORMAT_VERSION, build_bundle, encrypt_bundle
from heron_research.exchange.keys import load_identity, new_identity
from heron_research.exchange.share import share
from heron_research.principles import current_principles
from heron_research.records import ConsentEntry
from heron_research.research import StudyIdentities, load_identities, run_batch
from heron_research.research.gate import EXCLUSION_REASONS, bundle_gate
from heron_research.research.keys import StudyKey
from heron_research.research.sources import ERROR_REASONS, sniff
from heron_research.research.tables import TABLES
from heron_research.visibility import Audience
from heron_research.workbook import Workbook
from heron_research.workbook.portable import write_export

DEMO_SEEDS = (7, 11, 23)
MANIFEST = "manifest.json"


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The study's age key file and its public recipient, which clients share to."""
    folder = tmp_path_factory.mktemp("study")
    path = folder / "study.agekey"
    return path, new_identity(path)


@pytest.fixture(scope="module")
def client_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("client") / "client.key"
    new_identity(path)
    return path


def _share(workbook: Path, out: Path, study: tuple[Path, str], client_key: Path, **kw: Any) -> Path:
    with Workbook.open(workbook) as wb:
        share(wb, kw.pop("to", "research"), out, recipient=study[1], identity=client_key, **kw)
    return out


@pytest.fixture(scope="module")
def cohort(
    tmp_path_factory: pytest.TempPathFactory, study: tuple[Path, str], client_key: Path
) -> Path:
    """Three demo workbooks (research consent in force, entries shared for research, one
    review with dissent) and a small programme whose episode names a person since deleted
    from the register; beside them, each one's research bundle without free text and with
    scrubbed free text."""
    from research_helpers import build_workbook, participant_records

    root = tmp_path_factory.mktemp("cohort")
    for sub in ("workbooks", "none", "scrubbed"):
        (root / sub).mkdir()
    for seed in DEMO_SEEDS:
        generate_demo(root / "workbooks" / f"demo{seed}.heron", seed=seed)
    records, people, _ = participant_records(notes="Call Sam on 07700 900123")
    helper = build_workbook(root / "workbooks" / "helper.heron", records)
    with Workbook.open(helper) as wb:
        wb.delete(people["boss"].id)  # still named by a shared episode and the hypothesis
    for workbook in sorted((root / "workbooks").glob("*.heron")):
        for mode in ("none", "scrubbed"):
            out = root / mode / f"{workbook.stem}.age"
            _share(workbook, out, study, client_key, free_text=mode)
    return root


def _comparable(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest without what names an input (its reference and format)."""
    inputs = sorted(
        ({k: v for k, v in e.items() if k not in ("input", "format")} for e in manifest["inputs"]),
        key=lambda e: json.dumps(e, sort_keys=True),
    )
    return {**manifest, "inputs": inputs}


def _manifest(folder: Path) -> dict[str, Any]:
    return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))


@pytest.mark.parametrize("free_text", ["none", "scrubbed"])
def test_the_dataset_from_research_bundles_is_the_one_from_the_workbooks(
    tmp_path: Path,
    cohort: Path,
    study: tuple[Path, str],
    scheduler: str,
    study_key: StudyKey,
    free_text: str,
) -> None:
    common: dict[str, Any] = {"key": study_key, "scheduler": scheduler, "as_of": AS_OF}
    direct = run_batch([cohort / "workbooks"], tmp_path / "direct", free_text=free_text, **common)
    from_bundles = run_batch(
        [cohort / free_text],
        tmp_path / "bundles",
        free_text=free_text,
        identities=load_identities([study[0]]),
        **common,
    )
    assert (
        direct.counts
        == from_bundles.counts
        == {
            "inputs": 4,
            "included": 4,
            "excluded": 0,
            "erred": 0,
        }
    )
    same, other = digests(tmp_path / "direct"), digests(tmp_path / "bundles")
    assert len(same) == len(TABLES) + 2  # the tables, the codebook and the manifest
    assert {n: d for n, d in same.items() if n != MANIFEST} == {
        n: d for n, d in other.items() if n != MANIFEST
    }
    a, b = _manifest(tmp_path / "direct"), _manifest(tmp_path / "bundles")
    assert _comparable(a) == _comparable(b)
    assert {e["format"] for e in a["inputs"]} == {"workbook"}
    assert {e["format"] for e in b["inputs"]} == {"bundle"}
    assert {e["input"] for e in a["inputs"]}.isdisjoint(e["input"] for e in b["inputs"])

    # what the bundle had to carry for that: a dissent recorded (its words left out) ...
    from heron_research.research import open_dataset

    dataset = open_dataset(tmp_path / "bundles")
    assert any(dataset.table("reviews")["has_dissent"].tolist())
    # ... while the cohort's people (practitioner-only and private) are referred to by no id
    # and no relationship, from the workbooks as from the bundles
    for name in ("episode_people", "hypotheses"):
        people = dataset.table(name)
        assert len(people) and people["person_id"].isna().all(), name
        assert people["relationship"].isna().all(), name
    if free_text == "scrubbed":
        notes = dataset.table("episodes")["notes"].tolist()
        assert "Call [manager] on [phone]" in notes


def _people_programme(folder: Path, n: int) -> list[Path]:
    """``n`` workbooks, each with a person shared for research, one shared with the
    practitioner only, one kept private and one shared for research since deleted, all
    referred to by a research episode and hypotheses; and own words naming the first."""
    from datetime import UTC, datetime

    from research_helpers import P, R, X, build_workbook, consent, episode

    from heron_research.records import Person, ProjectionHypothesis

    paths = []
    for i in range(n):
        friend = Person(alias="Zebedee Quartermaine", relationship="friend", sharing=R)
        sister = Person(alias="Philippa", relationship="sibling", sharing=P)
        partner = Person(alias="Bartholomew", relationship="partner", sharing=X)
        gone = Person(alias="Ottoline", relationship="colleague", sharing=R)
        people = [friend.id, sister.id, partner.id, gone.id]
        text = "Zebedee, Philippa, Bartholomew and Ottoline came round"
        records = [
            consent(datetime(2025, 1, 2, 9, 0, tzinfo=UTC)),
            friend,
            sister,
            partner,
            gone,
            episode(
                datetime(2025, 3, 3, 8, 15, tzinfo=UTC),
                situation=text,
                people=people,
                emotions=[{"emotion": "Zebedee blues", "intensity": 4}],
                self_management=[
                    {"technique": "texting Zebedee", "skill": "expression", "intensity_after": 2}
                ],
            ),
            *(
                ProjectionHypothesis(
                    sharing=R,
                    opened_on=date(2025, 3, 6),
                    person_id=person,
                    reaction=text,
                    echoes="an old story",
                    unprocessed_emotion="grief",
                )
                for person in people
            ),
        ]
        path = build_workbook(folder / f"people-{i}.heron", records)
        with Workbook.open(path) as wb:
            wb.delete(gone.id)
        paths.append(path)
    return paths


@pytest.mark.parametrize("free_text", ["none", "scrubbed"])
def test_people_and_own_words_from_research_bundles_are_those_from_the_workbooks(
    tmp_path: Path,
    study: tuple[Path, str],
    client_key: Path,
    scheduler: str,
    study_key: StudyKey,
    free_text: str,
) -> None:
    """The same workbooks batched directly and as research bundles: the same dataset, whose
    person columns hold the person shared for research (keyed id and relationship) and blank
    the others (practitioner only, private, deleted), and whose own words are scrubbed by
    the client's register in both roads (6 participants, k = 5: they are kept)."""
    import pyarrow.parquet as pq
    from canaries import Canaries, scan_dataset

    from heron_research.exchange.bundle import decrypt_bundle

    names = Canaries.of(anywhere=["zebedee", "quartermaine", "philippa", "bartholomew", "ottoline"])
    workbooks, bundles = tmp_path / "workbooks", tmp_path / "bundles"
    workbooks.mkdir()
    bundles.mkdir()
    for path in _people_programme(workbooks, 6):
        _share(path, bundles / f"{path.stem}.age", study, client_key, free_text=free_text)
    common: dict[str, Any] = {
        "key": study_key,
        "scheduler": scheduler,
        "as_of": AS_OF,
        "free_text": free_text,
        "k": 5,
    }
    direct = run_batch([workbooks], tmp_path / "direct", **common)
    read = run_batch([bundles], tmp_path / "read", identities=load_identities([study[0]]), **common)
    assert direct.counts == read.counts == {"inputs": 6, "included": 6, "excluded": 0, "erred": 0}
    same, other = digests(tmp_path / "direct"), digests(tmp_path / "read")
    assert {n: d for n, d in same.items() if n != MANIFEST} == {
        n: d for n, d in other.items() if n != MANIFEST
    }
    assert _comparable(_manifest(tmp_path / "direct")) == _comparable(_manifest(tmp_path / "read"))
    for out in (tmp_path / "direct", tmp_path / "read"):
        for name in ("episode_people", "hypotheses"):
            rows = pq.read_table(out / f"{name}.parquet").to_pylist()
            assert len(rows) == 6 * 4, name
            shown = [r for r in rows if r["person_id"] is not None]
            assert len(shown) == 6 and {r["relationship"] for r in shown} == {"friend"}, name
            assert {r["relationship"] for r in rows if r["person_id"] is None} == {None}, name
        episodes = pq.read_table(out / "episodes.parquet").to_pylist()
        assert [e["n_people"] for e in episodes] == [4] * 6
        techniques = pq.read_table(out / "episode_self_management.parquet")["technique"]
        assert set(techniques.to_pylist()) == {"texting [friend]"}
        emotions = pq.read_table(out / "episode_emotions.parquet")["emotion"]
        assert set(emotions.to_pylist()) == {"[friend] blues"}
        # no name in any Parquet value, statistic or the codebook
        assert scan_dataset(out, names).hits == []
    # nor in what left the clients' machines (the workbooks hold every one: not vacuous)
    planted = names.anywhere.found((workbooks / "people-0.heron").read_bytes().lower())
    assert len(planted) == 5
    for bundle in sorted(bundles.iterdir()):
        document = decrypt_bundle(bundle.read_bytes(), [load_identity(study[0])])
        assert names.anywhere_text.found(document.model_dump_json().lower()) == set()


def test_mixed_inputs_bundles_workbooks_and_exports(
    tmp_path: Path,
    cohort: Path,
    study: tuple[Path, str],
    scheduler: str,
    study_key: StudyKey,
) -> None:
    """One batch of a workbook, an export and bundles (one the copy of a workbook also
    given): the dataset of the four workbooks, the second copy listed as a duplicate."""
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    workbooks = sorted((cohort / "workbooks").glob("*.heron"))
    (mixed / "a.heron").write_bytes(workbooks[0].read_bytes())
    with Workbook.open(workbooks[1], readonly=True) as wb:
        write_export(wb, mixed / "b.json")
    for source in workbooks[2:]:
        (mixed / f"{source.stem}.age").write_bytes(
            (cohort / "none" / f"{source.stem}.age").read_bytes()
        )
    (mixed / "a-again.age").write_bytes((cohort / "none" / f"{workbooks[0].stem}.age").read_bytes())
    common: dict[str, Any] = {"key": study_key, "scheduler": scheduler, "as_of": AS_OF}
    direct = run_batch([cohort / "workbooks"], tmp_path / "direct", **common)
    report = run_batch([mixed], tmp_path / "ds", identities=load_identities([study[0]]), **common)
    assert report.counts == {"inputs": 5, "included": 4, "excluded": 1, "erred": 0}
    assert [(p.path.name, p.code) for p in report.problems] == [("a.heron", "duplicate")]
    formats = sorted(e["format"] for e in report.manifest["inputs"])
    assert formats == ["bundle", "bundle", "bundle", "export", "workbook"]
    assert direct.counts["included"] == 4
    strip = {MANIFEST}
    assert {n: d for n, d in digests(tmp_path / "direct").items() if n not in strip} == {
        n: d for n, d in digests(tmp_path / "ds").items() if n not in strip
    }


# --- refusals --------------------------------------------------------------------------------


def _sealed(document: dict[str, Any] | bytes, recipient: str) -> bytes:
    from heron_research.exchange.keys import parse_recipient

    data = document if isinstance(document, bytes) else json.dumps(document).encode()
    return encrypt_bundle(data, [parse_recipient(recipient)])


@pytest.fixture
def refusals(
    tmp_path: Path,
    cohort: Path,
    study: tuple[Path, str],
    client_key: Path,
    make_participant: Callable[..., Participant],
) -> Iterator[tuple[Path, dict[str, str]]]:
    """A folder of two good research bundles and one of each bundle the batch refuses,
    with the reason code each must be listed with."""
    folder = tmp_path / "refusals"
    folder.mkdir()
    good = (cohort / "none" / "demo7.age").read_bytes()
    (folder / "good.age").write_bytes(good)
    (folder / "good2.age").write_bytes((cohort / "none" / "demo11.age").read_bytes())
    expected: dict[str, str] = {}

    stranger = tmp_path / "stranger.key"
    elsewhere = new_identity(stranger)
    _share(
        cohort / "workbooks" / "demo23.heron",
        folder / "wrong-key.age",
        (stranger, elsewhere),
        client_key,
    )
    expected["wrong-key.age"] = "bundle_key"

    tampered = bytearray(good)
    tampered[-40] ^= 0x01
    (folder / "tampered.age").write_bytes(bytes(tampered))
    expected["tampered.age"] = "damaged_bundle"
    (folder / "truncated.age").write_bytes(good[: len(good) - 200])
    expected["truncated.age"] = "damaged_bundle"

    _share(
        cohort / "workbooks" / "demo23.heron",
        folder / "practitioner.age",
        study,
        client_key,
        to="practitioner",
    )
    expected["practitioner.age"] = "not_research_bundle"

    unconsented = make_participant("unconsented", research=False)
    _share(unconsented.path, folder / "no-consent.age", study, client_key)
    expected["no-consent.age"] = "research_not_in_force"

    with Workbook.open(cohort / "workbooks" / "helper.heron", readonly=True) as wb:
        document = build_bundle(wb, Audience.RESEARCH, sequence=1).document
    (folder / "newer.age").write_bytes(
        _sealed({**document, "format_version": FORMAT_VERSION + 1}, study[1])
    )
    expected["newer.age"] = "newer_format"
    (folder / "not-a-bundle.age").write_bytes(_sealed(b"just some words\n", study[1]))
    expected["not-a-bundle.age"] = "not_a_bundle"
    broken = {**document, "provenance": {**document["provenance"], "sequence": 0}}
    (folder / "invalid.age").write_bytes(_sealed(broken, study[1]))
    expected["invalid.age"] = "invalid_bundle"
    yield folder, expected


def test_each_refused_bundle_is_listed_with_its_reason_and_the_rest_included(
    tmp_path: Path,
    refusals: tuple[Path, dict[str, str]],
    study: tuple[Path, str],
    scheduler: str,
    study_key: StudyKey,
) -> None:
    folder, expected = refusals
    report = run_batch(
        [folder],
        tmp_path / "ds",
        key=study_key,
        identities=load_identities([study[0]]),
        scheduler=scheduler,
        as_of=AS_OF,
    )
    assert {p.path.name: p.code for p in report.problems} == expected
    assert report.counts == {
        "inputs": len(expected) + 2,
        "included": 2,
        "excluded": 1,
        "erred": len(expected) - 1,
    }
    manifest = report.manifest
    assert sorted(e["reason"] for e in manifest["inputs"]) == sorted(
        ["included", "included", *expected.values()]
    )
    assert manifest["excluded"] == {
        "research_not_in_force": {"reason": EXCLUSION_REASONS["research_not_in_force"], "count": 1}
    }
    assert {code: slot["reason"] for code, slot in manifest["erred"].items()} == {
        code: ERROR_REASONS[code] for code in set(expected.values()) - {"research_not_in_force"}
    }
    assert {e["format"] for e in manifest["inputs"] if "format" in e} == {"bundle"}
    lines = "\n".join(report.lines())
    assert "practitioner.age: a bundle for a practitioner, not for research" in lines
    assert "wrong-key.age: a bundle that none of the study's keys" in lines
    assert open_dataset_rows(tmp_path / "ds") == 2


def test_an_older_bundle_is_included_and_counted_in_the_manifest_and_the_summary(
    tmp_path: Path,
    cohort: Path,
    study: tuple[Path, str],
    scheduler: str,
    study_key: StudyKey,
) -> None:
    """A bundle of format 2 (its people and own words not prepared on the client's
    machine) is read with its people blank and own words 'other', and the researcher is
    told how many such bundles there were."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "current.age").write_bytes((cohort / "none" / "demo7.age").read_bytes())
    with Workbook.open(cohort / "workbooks" / "helper.heron", readonly=True) as wb:
        document = build_bundle(wb, Audience.RESEARCH, sequence=1).document
    (folder / "older.age").write_bytes(_sealed({**document, "format_version": 2}, study[1]))

    report = run_batch(
        [folder],
        tmp_path / "ds",
        key=study_key,
        identities=load_identities([study[0]]),
        scheduler=scheduler,
        as_of=AS_OF,
    )

    assert report.counts["included"] == 2
    manifest = report.manifest
    assert manifest["older_bundles"]["count"] == 1
    assert sorted(bool(e.get("older_bundle_format")) for e in manifest["inputs"]) == [False, True]
    assert (
        "Older bundles: 1 research bundles of an older format: their person references are "
        "blank and their own words 'other'" in "\n".join(report.lines())
    )


def open_dataset_rows(folder: Path) -> int:
    from heron_research.research import open_dataset

    return len(open_dataset(folder).table("participants"))


def test_a_bundle_without_the_study_key_is_listed_not_fatal(
    tmp_path: Path, cohort: Path, scheduler: str, study_key: StudyKey
) -> None:
    report = run_batch(
        [cohort / "none" / "demo7.age", cohort / "workbooks" / "demo11.heron"],
        tmp_path / "ds",
        key=study_key,
        scheduler=scheduler,
        as_of=AS_OF,
    )
    assert report.counts["included"] == 1
    assert [(p.path.name, p.code) for p in report.problems] == [("demo7.age", "bundle_key")]
    assert "--identity-file" in report.problems[0].detail


def test_the_gate_on_the_consent_a_bundle_carries() -> None:
    version = current_principles().version

    def entry(research: bool, principles: str = version) -> ConsentEntry:
        return ConsentEntry(
            recorded_at=AS_OF,
            principles_version=principles,
            training=True,
            practitioner_sharing=True,
            research=research,
        )

    assert bundle_gate(entry(True)).included
    assert bundle_gate(None).code == "no_consent"
    assert bundle_gate(entry(False)).code == "research_not_in_force"
    assert bundle_gate(entry(True, "sha256:older")).code == "principles_changed"


def test_a_bundle_is_recognised_by_its_first_bytes(cohort: Path, tmp_path: Path) -> None:
    renamed = tmp_path / "whatever.heron"
    renamed.write_bytes((cohort / "none" / "demo7.age").read_bytes())
    assert sniff(renamed) == "bundle"


# --- the study's age keys --------------------------------------------------------------------


def test_identities_from_several_files_or_one_file_with_several(tmp_path: Path) -> None:
    first, second = tmp_path / "a.key", tmp_path / "b.key"
    new_identity(first)
    new_identity(second)
    both = tmp_path / "both.key"
    both.write_text(first.read_text() + second.read_text())
    os.chmod(both, 0o600)
    wanted = sorted(str(load_identity(p).to_public()) for p in (first, second))
    assert sorted(load_identities([first, second]).recipients()) == wanted
    assert sorted(load_identities([both]).recipients()) == wanted
    assert len(load_identities([both, first])) == 2  # the same key once

    held = load_identities([both])
    secret = load_identity(first)
    assert str(secret) not in repr(held) and "AGE-SECRET" not in repr(held)
    assert sorted(pickle.loads(pickle.dumps(held)).recipients()) == wanted
    assert len(StudyIdentities()) == 0


def test_an_identity_file_others_can_read_or_without_a_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "study.agekey"
    new_identity(path)
    os.chmod(path, 0o644)
    with pytest.raises(KeyFileExposedError) as exposed:
        load_identities([path])
    assert "chmod 600" in str(exposed.value)
    empty = tmp_path / "empty.key"
    empty.write_text("# nothing here\n")
    os.chmod(empty, 0o600)
    with pytest.raises(KeyFileError) as missing:
        load_identities([empty])
    assert "no AGE-SECRET-KEY-1 line" in str(missing.value)


def test_cli_batch_of_bundles(
    tmp_path: Path,
    cohort: Path,
    study: tuple[Path, str],
    scheduler: str,
    key_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["batch", str(cohort / "none"), "--key-file", str(key_file), "--scheduler", scheduler]
    with pytest.raises(SystemExit) as ended:
        main([*args, "--identity-file", str(study[0]), "--out", str(tmp_path / "ds")])
    stdout, stderr = capsys.readouterr()
    assert ended.value.code == 0, stderr
    assert "included 4" in stdout

    exposed = tmp_path / "exposed.agekey"
    exposed.write_bytes(study[0].read_bytes())
    os.chmod(exposed, 0o640)
    with pytest.raises(SystemExit) as ended:
        main([*args, "--identity-file", str(exposed), "--out", str(tmp_path / "other")])
    stdout, stderr = capsys.readouterr()
    assert ended.value.code == 1
    assert len(stderr.strip().splitlines()) == 1
    assert "chmod 600" in stderr and "Traceback" not in stderr
    assert not (tmp_path / "other").exists()
