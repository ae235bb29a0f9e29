"""The portable JSON export: round trips, the published schema, and refused exports."""

from __future__ import annotations

import json
import stat
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from heron_research.errors import ExportFormatError
from heron_research.principles import current_principles
from heron_research.records import (
    CheckIn,
    ConsentEntry,
    EmotionEpisode,
    Person,
    ProjectionHypothesis,
)
from heron_research.resources import schema_file
from heron_research.workbook import Workbook
from heron_research.workbook.portable import (
    export_data,
    export_json,
    export_schema,
    import_json,
    import_text,
    write_export,
)


class Clock:
    """A deterministic clock for the workbook (each call one second later)."""

    def __init__(self) -> None:
        self.now = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def _filled(path: Path) -> Workbook:
    wb = Workbook.create(path, workbook_id="roundtrip", clock=Clock())
    wb.save(
        ConsentEntry(
            principles_version=current_principles().version,
            training=True,
            practitioner_sharing=True,
            research=True,
        )
    )
    robin = wb.save(Person(alias="Robin", relationship="partner", sharing="practitioner"))
    episode = EmotionEpisode(
        occurred_at=datetime(2025, 3, 1, 19, 30, tzinfo=UTC),
        situation='Dinner; he said "<b>fine</b>" & left',
        emotions=[{"emotion": "anger", "intensity": 7}, {"emotion": "zorn", "intensity": 3}],
        people=[robin.id],
        self_management=[{"technique": "slow breathing", "intensity_after": 4}],
        sharing="research",
    )
    wb.save(episode)
    wb.save(episode.model_copy(update={"notes": "edited later — ünïcødé ✓ שלום"}))
    wb.save(
        ProjectionHypothesis(
            person_id=robin.id,
            reaction="furious when ignored",
            echoes="my father hiding behind the newspaper",
            unprocessed_emotion="grief",
            evidence=[{"episode_id": episode.id, "direction": "supports"}],
            confidence=[{"on": date(2025, 3, 2), "confidence": 40}],
        )
    )
    gone = wb.save(CheckIn(instrument="gad7", answers=[1, 1, 2, 0, 1, 1, 0]))
    wb.delete(gone.id)
    return wb


def test_export_import_export_is_identical(tmp_path: Path) -> None:
    with _filled(tmp_path / "a.heron") as wb:
        text = export_json(wb)
        ids = {k: [s.id for s in wb.records(k)] for k in ("person", "emotion_episode")}
    with import_json(_write(tmp_path / "a.json", text), tmp_path / "b.heron") as copy:
        again = export_json(copy)
        assert {k: [s.id for s in copy.records(k)] for k in ids} == ids
        assert copy.id == "roundtrip"
        assert copy.counts(include_deleted=True)["check_in"] == 1
        assert copy.counts()["check_in"] == 0  # still deleted, still restorable
    assert again == text


def test_import_keeps_history_and_records_equal(tmp_path: Path) -> None:
    with _filled(tmp_path / "a.heron") as wb:
        episode = wb.records("emotion_episode")[0]
        history = wb.history(episode.id)
        copy = import_text(export_json(wb), tmp_path / "b.heron")
    with copy:
        assert copy.get(episode.id) == episode.record
        assert copy.history(episode.id) == history
        assert len(history) == 2


def test_export_matches_published_schema(tmp_path: Path) -> None:
    published = json.loads(schema_file("workbook-export.schema.json").read_text("utf-8"))
    assert published == export_schema(), "run `make schema` to publish the current schema"
    with _filled(tmp_path / "a.heron") as wb:
        jsonschema.validate(export_data(wb), published)


def test_export_file_is_owner_only(tmp_path: Path) -> None:
    with _filled(tmp_path / "a.heron") as wb:
        out = write_export(wb, tmp_path / "a.json")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: "not json {", "is not valid JSON"),
        (lambda d: json.dumps({"hello": 1}), "is not a heron-research workbook export"),
        (lambda d: json.dumps({**d, "format_version": 99}), "export format 99"),
        (
            lambda d: json.dumps(
                {
                    **d,
                    "records": [
                        {**d["records"][2], "data": {**d["records"][2]["data"], "situation": ""}}
                    ],
                }
            ),
            "Situation: please fill this in",
        ),
        (
            lambda d: json.dumps(
                {
                    **d,
                    "records": [
                        {
                            **d["records"][2],
                            "data": {**d["records"][2]["data"], "proportionality": "high"},
                        }
                    ],
                }
            ),
            "must be a whole number from 0 to 10",
        ),
        (lambda d: json.dumps({k: v for k, v in d.items() if k != "workbook"}), "workbook"),
        (
            lambda d: json.dumps({**d, "records": [{**d["records"][0], "revision": "two"}]}),
            "revision",
        ),
        (
            lambda d: json.dumps({**d, "records": [{**d["records"][0], "kind": "diary"}]}),
            "record 1",
        ),
        (
            lambda d: json.dumps(
                {**d, "workbook": {k: v for k, v in d["workbook"].items() if k != "id"}}
            ),
            "does not match the export format: workbook.id: Field required",
        ),
    ],
    ids=[
        "not-json",
        "foreign",
        "newer-format",
        "empty-field",
        "wrong-type",
        "missing",
        "bad-rev",
        "unknown-kind",
        "no-workbook-id",
    ],
)
def test_bad_exports_are_refused_and_leave_nothing(tmp_path: Path, mutate, expected: str) -> None:
    with _filled(tmp_path / "a.heron") as wb:
        doc = export_data(wb)
    # records sort by kind: [consent, check_in..., emotion_episode, ...]; find the episode
    doc["records"].sort(key=lambda r: r["kind"] != "emotion_episode")
    doc["records"].insert(2, doc["records"].pop(0))
    source = _write(tmp_path / "bad.json", mutate(doc))
    with pytest.raises(ExportFormatError) as caught:
        import_json(source, tmp_path / "new.heron")
    assert expected in str(caught.value)
    assert "\n" not in str(caught.value)
    assert not list(tmp_path.glob("new.heron*"))


def test_import_refuses_existing_destination(tmp_path: Path) -> None:
    with _filled(tmp_path / "a.heron") as wb:
        text = export_json(wb)
    with pytest.raises(FileExistsError):
        import_text(text, tmp_path / "a.heron")


def test_import_of_a_binary_file_says_it_is_not_text(tmp_path: Path) -> None:
    source = tmp_path / "photo.json"
    source.write_bytes(b"\xff\xd8\xff\xe0 not text")
    with pytest.raises(ExportFormatError) as caught:
        import_json(source, tmp_path / "x.heron")
    assert str(caught.value) == (
        f"cannot read {source}: it is not text (byte 1 is not UTF-8), so it is not a "
        "heron-research export"
    )
    assert not list(tmp_path.glob("x.heron*"))


def test_import_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ExportFormatError) as caught:
        import_json(tmp_path / "nope.json", tmp_path / "x.heron")
    assert "no such file" in str(caught.value)


_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40
).filter(lambda s: s.strip() != "")
_episode = st.builds(
    lambda situation, feelings, when, sharing: EmotionEpisode(
        situation=situation,
        occurred_at=when,
        emotions=[
            {"emotion": f"{name} {i}", "intensity": n} for i, (name, n) in enumerate(feelings)
        ],
        sharing=sharing,
    ),
    _text,
    st.lists(st.tuples(_text, st.integers(0, 10)), min_size=1, max_size=4),
    st.datetimes(
        min_value=datetime(1950, 1, 1), max_value=datetime(2150, 1, 1), timezones=st.just(UTC)
    ),
    st.sampled_from(["private", "practitioner", "research"]),
)
_person = st.builds(
    lambda alias, rel: Person(alias=alias, relationship=rel),
    _text,
    st.sampled_from(["partner", "parent", "friend", "other"]),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(records=st.lists(st.one_of(_episode, _person), max_size=12), edits=st.integers(0, 3))
def test_round_trip_of_generated_workbooks(tmp_path: Path, records, edits: int) -> None:
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    with Workbook.create(folder / "a.heron", clock=Clock()) as wb:
        wb.save_many(records)
        for record in records[:edits]:
            wb.save(record)  # a second revision
        text = export_json(wb)
    with import_text(text, folder / "b.heron") as copy:
        assert export_json(copy) == text
        for record in records:
            assert copy.get(record.id) == record


def _import_in_child(source: str, dest: str, started: str) -> None:
    """In a child process: import ``source`` into ``dest`` (the test kills it part-way)."""
    Path(started).touch()
    import_json(source, dest).close()


def test_an_import_killed_part_way_leaves_no_workbook_or_a_whole_one(tmp_path: Path) -> None:
    import multiprocessing
    import os
    import signal
    import time

    from heron_research.demo import generate_demo

    demo = tmp_path / "demo.heron"
    generate_demo(demo, seed=3, years=1.0)
    with Workbook.open(demo, readonly=True) as wb:
        source = _write(tmp_path / "demo.json", export_json(wb))
        expected = wb.counts()
    began = time.monotonic()
    import_json(source, tmp_path / "timed.heron").close()
    took = time.monotonic() - began

    outcomes = {"no workbook": 0, "whole workbook": 0}
    killed = 0
    spawn = multiprocessing.get_context("spawn")
    for n in range(8):
        dest, started = tmp_path / f"copy-{n}.heron", tmp_path / f"started-{n}"
        child = spawn.Process(target=_import_in_child, args=(str(source), str(dest), str(started)))
        child.start()
        deadline = time.monotonic() + 60
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(took * (n + 0.5) / 8)  # spread over the import
        os.kill(child.pid, signal.SIGKILL)
        child.join(30)
        killed += child.exitcode == -signal.SIGKILL
        if not dest.exists():
            outcomes["no workbook"] += 1
            continue
        with Workbook.open(dest, readonly=True) as copy:
            assert copy.counts() == expected, f"kill {n}: a partly imported workbook"
            assert copy.check().integrity == "ok"
        outcomes["whole workbook"] += 1
    assert killed >= 4, f"only {killed} of 8 kills landed before the import ended ({took:.2f} s)"
    assert outcomes["no workbook"] >= 1, outcomes
