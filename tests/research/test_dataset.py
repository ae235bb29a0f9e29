"""The dataset on disk: private files, one row order, the codebook, the manifest, bad inputs.

These tests run the per-workbook task in this process and feed the writer directly; the
Dask path is in test_batch.py.
"""

from __future__ import annotations

import json
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from research_helpers import AS_OF, Participant, build_workbook, digests, episode, sha256

from heron_research.records import record_types
from heron_research.research.dataset import DatasetWriter
from heron_research.research.errors import DatasetExistsError
from heron_research.research.keys import StudyKey
from heron_research.research.tables import TABLES
from heron_research.research.task import SourceResult, TaskSettings, process_source
from heron_research.workbook import Workbook
from heron_research.workbook.portable import write_export

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _results(paths: list[Path], key: StudyKey, free_text: str = "none") -> list[SourceResult]:
    settings = TaskSettings(key.pseudonymiser(), free_text, AS_OF)  # type: ignore[arg-type]
    return [process_source(str(p), i, settings) for i, p in enumerate(paths)]


def _write(out: Path, results: list[SourceResult], key: StudyKey, **options: Any) -> dict[str, Any]:
    with DatasetWriter(out, key, **options) as writer:
        for result in results:
            writer.add(result)
        return writer.finish()


@pytest.fixture
def cohort(
    tmp_path: Path, make_participant: Callable[..., Participant]
) -> tuple[list[Path], list[Participant]]:
    people = [make_participant(f"p{i}") for i in range(3)]
    no_consent = build_workbook(tmp_path / "none.heron", [episode(AS_OF.replace(year=2025))])
    garbage = tmp_path / "notes.heron"
    garbage.write_text("not a workbook")
    return [p.path for p in people] + [no_consent, garbage], people


def test_dataset_is_complete_and_private(
    tmp_path: Path, cohort: tuple[list[Path], list[Participant]], study_key: StudyKey
) -> None:
    paths, people = cohort
    out = tmp_path / "out" / "dataset"
    manifest = _write(out, _results(paths, study_key), study_key)
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        [*(f"{t.name}.parquet" for t in TABLES), "datapackage.json", "manifest.json"]
    )
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in out.iterdir())
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no partial folder
    assert manifest == json.loads((out / "manifest.json").read_text())
    assert manifest["counts"] == {"inputs": 5, "included": 3, "excluded": 1, "erred": 1}
    assert manifest["excluded"]["no_consent"]["count"] == 1
    assert manifest["erred"]["not_a_workbook"]["count"] == 1
    assert manifest["key_fingerprint"] == study_key.fingerprint
    assert manifest["parameters"] == {"free_text": "none", "k": 5}
    assert manifest["not_exported"] == {  # each kind's own reason, from the registry
        kind: cls.facts.not_exported
        for kind, cls in record_types().items()
        if cls.facts.research_table is None
    }
    for name, info in manifest["tables"].items():
        table = pq.read_table(out / info["path"])
        assert table.num_rows == info["rows"]
        assert info["sha256"] == sha256(out / info["path"])
        assert (
            pq.ParquetFile(out / info["path"]).metadata.metadata is None
        )  # no pandas/arrow schema
        assert "participant_id" in table.column_names, name
    participants = pq.read_table(out / "participants.parquet").to_pylist()
    assert [p["participant_id"] for p in participants] == sorted(
        study_key.pseudonymiser().participant(p.workbook_id) for p in people
    )
    assert {p["n_episodes"] for p in participants} == {2}
    episodes = pq.read_table(out / "episodes.parquet")
    assert "situation" not in episodes.column_names  # free text is off by default
    assert episodes.num_rows == 6


def test_row_order_does_not_depend_on_arrival(
    tmp_path: Path, cohort: tuple[list[Path], list[Participant]], study_key: StudyKey
) -> None:
    paths, _ = cohort
    results = _results(paths, study_key, "scrubbed")
    _write(tmp_path / "a", results, study_key, free_text="scrubbed")
    _write(tmp_path / "b", results[::-1], study_key, free_text="scrubbed")
    assert digests(tmp_path / "a") == digests(tmp_path / "b")


def test_codebook_validates_with_frictionless(
    tmp_path: Path, cohort: tuple[list[Path], list[Participant]], study_key: StudyKey
) -> None:
    from frictionless import Package, Resource, Schema

    paths, _ = cohort
    out = tmp_path / "ds"
    _write(out, _results(paths, study_key, "scrubbed"), study_key, free_text="scrubbed")
    descriptor = json.loads((out / "datapackage.json").read_text())
    package = Package(str(out / "datapackage.json"))
    assert [r.name for r in package.resources] == [t.name for t in TABLES]
    every_field = [f for r in descriptor["resources"] for f in r["schema"]["fields"]]
    assert all(f["description"] for f in every_field)
    # 1. the whole package (types, constraints, primary and foreign keys) against the rows
    #    read by pyarrow
    inline = []
    for resource in descriptor["resources"]:
        table = pq.read_table(out / resource["path"])
        rows = [list(r.values()) for r in table.to_pylist()]
        schema = Schema.from_descriptor(resource["schema"])
        inline.append(
            Resource(name=resource["name"], data=[table.column_names, *rows], schema=schema)
        )
    report = Package(resources=inline).validate()
    assert report.valid, report.flatten(["resourceName", "rowNumber", "fieldName", "note"])
    # 2. frictionless reading the Parquet files itself. Its pandas reader turns an empty
    #    whole number into NaN and then refuses it (`value is np.nan` in
    #    frictionless/formats/pandas/parser.py), so tables with such cells are checked in 1.
    direct = [r["name"] for r in descriptor["resources"] if not _has_empty_numbers(out / r["path"])]
    assert "participants" in direct and "episode_emotions" in direct
    for name in direct:
        result = package.get_resource(name).validate()
        assert result.valid, (name, result.flatten(["rowNumber", "fieldName", "note"]))


def _has_empty_numbers(path: Path) -> bool:
    table = pq.read_table(path)
    return any(
        table.column(i).null_count
        for i, f in enumerate(table.schema)
        if str(f.type) in {"int32", "double"}
    )


def test_codebook_check_can_fail(
    tmp_path: Path, cohort: tuple[list[Path], list[Participant]], study_key: StudyKey
) -> None:
    from frictionless import Package

    paths, _ = cohort
    out = tmp_path / "ds"
    _write(out, _results(paths, study_key), study_key)
    descriptor = json.loads((out / "datapackage.json").read_text())
    emotions = next(r for r in descriptor["resources"] if r["name"] == "episode_emotions")
    field = next(f for f in emotions["schema"]["fields"] if f["name"] == "emotion")
    field["constraints"]["enum"] = ["joy"]
    (out / "datapackage.json").write_text(json.dumps(descriptor))
    report = Package(str(out / "datapackage.json")).get_resource("episode_emotions").validate()
    assert not report.valid
    assert {row[0] for row in report.flatten(["type"])} == {"constraint-error"}


def test_an_export_gives_the_same_participant_as_its_workbook(
    tmp_path: Path, make_participant: Callable[..., Participant], study_key: StudyKey
) -> None:
    person = make_participant("p")
    export = tmp_path / "p.json"
    with Workbook.open(person.path) as wb:
        write_export(wb, export)
    before = sha256(person.path), sha256(export)
    from_workbook, from_export = _results([person.path, export], study_key, "scrubbed")
    assert (sha256(person.path), sha256(export)) == before
    assert from_export.status == "included"
    assert from_export.source_format == "export"
    assert from_export.participant_id == from_workbook.participant_id
    assert from_export.tables.keys() == from_workbook.tables.keys()
    for name, batch in from_workbook.tables.items():
        assert from_export.batch(name).equals(from_workbook.batch(name)), name
        assert from_export.tables[name] == batch  # the same bytes
    manifest = _write(
        tmp_path / "ds", [from_export, from_workbook], study_key, free_text="scrubbed"
    )
    assert manifest["counts"]["included"] == 1
    assert manifest["excluded"] == {
        "duplicate": {
            "count": 1,
            "reason": "the same workbook was given more than once (as another file or export)",
        }
    }
    included = [e for e in manifest["inputs"] if e["status"] == "included"]
    assert included[0]["format"] == "workbook"  # the workbook is preferred to its export


def test_rare_own_words_become_other(
    tmp_path: Path, make_participant: Callable[..., Participant], study_key: StudyKey
) -> None:
    paths = [make_participant(f"z{i}", custom_emotion="Zoomy").path for i in range(5)]
    paths.append(make_participant("b", custom_emotion="blorp").path)
    out = tmp_path / "ds"
    manifest = _write(out, _results(paths, study_key), study_key, k=5)
    emotions = pq.read_table(out / "episode_emotions.parquet").to_pylist()
    words = {r["emotion"] for r in emotions if r["custom"]}
    assert words == {"zoomy", "other"}
    rare = manifest["rare_values"]
    assert rare["min_group_size"] == 5
    assert rare["columns"]["episode_emotions.emotion"] == {
        "own_words_seen": 2,
        "kept": 1,
        "replaced_by_other": 1,
        "smallest_group_kept": 5,
    }
    codebook = json.loads((out / "datapackage.json").read_text())
    resource = next(r for r in codebook["resources"] if r["name"] == "episode_emotions")
    enum = next(f for f in resource["schema"]["fields"] if f["name"] == "emotion")["constraints"]
    assert "zoomy" in enum["enum"] and "blorp" not in enum["enum"]
    assert b"blorp" not in b"".join(p.read_bytes() for p in out.iterdir())


def test_out_must_be_new_or_empty(tmp_path: Path, study_key: StudyKey) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(DatasetExistsError):
        DatasetWriter(tmp_path / "full", study_key)
    (tmp_path / "empty").mkdir()
    manifest = _write(tmp_path / "empty", [], study_key)
    assert manifest["counts"]["inputs"] == 0


def test_an_error_leaves_nothing_behind(
    tmp_path: Path, cohort: tuple[list[Path], list[Participant]], study_key: StudyKey
) -> None:
    paths, _ = cohort
    results = _results(paths, study_key)
    with pytest.raises(KeyboardInterrupt), DatasetWriter(tmp_path / "ds", study_key) as writer:
        writer.add(results[0])
        raise KeyboardInterrupt
    assert not (tmp_path / "ds").exists()
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]


# --- bad inputs ------------------------------------------------------------------------------


def _corrupt(path: Path) -> Path:
    data = bytearray(path.read_bytes())
    page = 4096
    data[page : 6 * page] = b"\xde\xad\xbe\xef" * (5 * page // 4)
    path.write_bytes(bytes(data))
    return path


def _newer(path: Path) -> Path:
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    db.close()
    return path


def _foreign(path: Path) -> Path:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    return path


def test_bad_inputs_are_reported_and_left_unchanged(
    tmp_path: Path, make_participant: Callable[..., Participant], study_key: StudyKey
) -> None:
    good = make_participant("good").path
    bad = {
        "corrupt": _corrupt(make_participant("corrupt").path),
        "newer_format": _newer(make_participant("newer").path),
        "not_a_workbook": _foreign(tmp_path / "foreign.heron"),
        "older_format": tmp_path / "old.heron",
        "invalid_export": tmp_path / "broken.json",
    }
    bad["older_format"].write_bytes((FIXTURES / "workbook-v1.heron").read_bytes())
    bad["invalid_export"].write_text('{"format": "heron-research-workbook", "format_version": 1}')
    paths = [good, *bad.values()]
    before = {p: sha256(p) for p in paths}
    results = _results(paths, study_key)
    assert {p: sha256(p) for p in paths} == before
    assert results[0].status == "included"
    assert [(r.status, r.code) for r in results[1:]] == [("erred", code) for code in bad]
    for result, path in zip(results[1:], bad.values(), strict=True):
        assert str(path) in result.detail or result.code == "corrupt"  # for the terminal
    manifest = _write(tmp_path / "ds", results, study_key)
    text = (tmp_path / "ds" / "manifest.json").read_text()
    assert str(tmp_path) not in text  # no paths in the dataset
    assert manifest["counts"] == {"inputs": 6, "included": 1, "excluded": 0, "erred": 5}
    assert set(manifest["erred"]) == set(bad)


def _edit_stored_json(path: Path, sql: str) -> None:
    """Change stored JSON behind the package's back (an older version's shape, or damage)."""
    db = sqlite3.connect(path)
    db.execute(sql)
    db.commit()
    db.close()


def test_stored_json_of_another_shape_is_validated_as_the_store_would(
    make_participant: Callable[..., Participant], study_key: StudyKey
) -> None:
    person = make_participant("older")
    _edit_stored_json(
        person.path,
        "UPDATE records SET data = json_remove(data, '$.notes', '$.emotions[0].custom')"
        " WHERE kind = 'emotion_episode' AND sharing = 'research'",
    )
    reference = make_participant("reference")
    older, same = _results([person.path, reference.path], study_key)
    assert older.status == "included"
    assert older.batch("episode_emotions").column("emotion").to_pylist() == (
        same.batch("episode_emotions").column("emotion").to_pylist()
    )


def test_a_record_the_models_refuse_makes_the_workbook_erred(
    make_participant: Callable[..., Participant], study_key: StudyKey
) -> None:
    person = make_participant("damaged")
    _edit_stored_json(
        person.path,
        "UPDATE records SET data = json_set(data, '$.emotions[0].intensity', 'very')"
        " WHERE kind = 'emotion_episode' AND sharing = 'research'",
    )
    (result,) = _results([person.path], study_key)
    assert (result.status, result.code) == ("erred", "failed")
    assert "ValidationError" in result.detail


def test_open_dataset_checks_the_manifest(
    tmp_path: Path, cohort: tuple[list[Path], list[Participant]], study_key: StudyKey
) -> None:
    from heron_research.errors import ResearchError
    from heron_research.research import open_dataset

    paths, _ = cohort
    out = tmp_path / "ds"
    _write(out, _results(paths, study_key), study_key)
    dataset = open_dataset(out)
    episodes = dataset.table("episodes")
    assert len(episodes) == dataset.manifest["tables"]["episodes"]["rows"]
    assert str(episodes["proportionality"].dtype) == "Int32"  # empty stays empty, not NaN
    (out / "episodes.parquet").write_bytes(b"PAR1 changed")
    with pytest.raises(ResearchError, match=r"episodes\.parquet is missing or differs"):
        open_dataset(out)
    with pytest.raises(ResearchError, match="not a research dataset"):
        open_dataset(tmp_path)


def test_finding_inputs(tmp_path: Path, study_key: StudyKey) -> None:
    from heron_research.research.errors import NoInputsError
    from heron_research.research.sources import find_inputs

    (tmp_path / "a" / "deeper").mkdir(parents=True)
    for name in ("a/one.heron", "a/deeper/two.json", "a/.hidden.heron", "a/notes.txt"):
        (tmp_path / name).write_text("x")
    _write(tmp_path / "a" / "old-dataset", [], study_key)  # a dataset made earlier
    named = tmp_path / "named.data"
    named.write_text("x")
    found = find_inputs([tmp_path / "a", named, tmp_path / "a" / "one.heron"])
    assert found == sorted(
        p.resolve() for p in (tmp_path / "a/one.heron", tmp_path / "a/deeper/two.json", named)
    )
    with pytest.raises(NoInputsError, match="no such file or folder"):
        find_inputs([tmp_path / "missing"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(NoInputsError, match="no workbooks"):
        find_inputs([tmp_path / "empty"])
