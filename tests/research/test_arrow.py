"""Arrow without pandas, and a task's participants converted together (issue 15, item 5).

``arrays.array`` builds each column from its buffers instead of ``pyarrow.array`` (which
imports pandas to ask whether a list is a pandas object): it must give the same arrays and
refuse what ``pyarrow.array`` refuses. ``to_batches`` converts the participants of a task
together and slices: each participant's batch must read back as the one it would get alone,
and a participant whose rows cannot be converted is the only one to err.
"""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from research_helpers import AS_OF, KEY_TEXT, Participant

from heron_research.research import task as task_module
from heron_research.research.anonymise import ParticipantData
from heron_research.research.arrays import array
from heron_research.research.arrow import read_batch, to_batches
from heron_research.research.keys import StudyKey
from heron_research.research.tables import TABLES
from heron_research.research.task import TaskSettings, process_source, process_sources

TYPES = {
    "string": pa.string(),
    "integer": pa.int32(),
    "number": pa.float64(),
    "boolean": pa.bool_(),
}

VALUES: dict[str, list[list[Any]]] = {
    "string": [
        [],
        ["a"],
        ["", "x" * 10_000, "é\u0301 ñ 漢字 🙂", "\x00\x01\x1b[31m\u202e\r\n\t", None],
        [None, None],
        ["keep", None, "", None, "end"] * 40,
    ],
    "integer": [[], [0], [1, -1, 2**31 - 1, -(2**31), None], [None], [None, 3] * 50],
    "number": [
        [],
        [0.5, -0.0, 1e308, -1e-308, math.inf, None],
        [1, 2.5, None],  # an integer in a number column, as pyarrow takes it
        [None] * 9,
    ],
    "boolean": [[], [True], [False, None, True, True, None, False, False, True, True], [None]],
}


@pytest.mark.parametrize(
    ("kind", "values"),
    [(kind, values) for kind, cases in VALUES.items() for values in cases],
)
def test_array_equals_pyarrow_array(kind: str, values: list[Any]) -> None:
    built = array(values, kind)
    expected = pa.array(values, TYPES[kind])
    assert built.type == expected.type
    assert built.null_count == expected.null_count
    assert built.equals(expected), (built, expected)
    built.validate(full=True)
    # and survives the trip the batch makes (a record batch, serialised, read back)
    batch = pa.RecordBatch.from_arrays([built], names=["c"])
    back = pa.ipc.read_record_batch(batch.serialize(), batch.schema)
    assert back.column(0).to_pylist() == expected.to_pylist()


@pytest.mark.parametrize(
    ("kind", "values", "error"),
    [
        ("string", ["a", 3], TypeError),
        ("string", [b"bytes"], TypeError),
        ("integer", [1.5], TypeError),
        ("integer", [True], TypeError),
        ("integer", ["1"], TypeError),
        ("integer", [2**31], OverflowError),
        ("integer", [-(2**31) - 1], OverflowError),
        ("number", ["1.0"], TypeError),
        ("number", [True], TypeError),
        ("boolean", [1], TypeError),
        ("boolean", ["true"], TypeError),
    ],
)
def test_array_refuses_values_of_another_type(kind: str, values: list[Any], error: type) -> None:
    with pytest.raises(error):
        array(values, kind)


def _participants(
    make_participant: Callable[..., Participant], study_key: StudyKey, count: int
) -> tuple[list[str], TaskSettings]:
    settings = TaskSettings(study_key.pseudonymiser(), "scrubbed", AS_OF)
    paths = [str(make_participant(f"p{i}", notes=f"note {i}").path) for i in range(count)]
    return paths, settings


def _rows(result: task_module.SourceResult) -> dict[str, list[dict[str, Any]]]:
    return {name: result.batch(name).to_pylist() for name in sorted(result.tables)}


def test_a_task_converted_together_gives_each_participant_its_own_rows(
    make_participant: Callable[..., Participant], study_key: StudyKey
) -> None:
    paths, settings = _participants(make_participant, study_key, 4)
    together = process_sources(paths, 10, settings)
    alone = [process_source(path, 10 + i, settings) for i, path in enumerate(paths)]
    assert [r.status for r in together] == ["included"] * 4
    assert [r.index for r in together] == [10, 11, 12, 13]
    for joint, single in zip(together, alone, strict=True):
        assert joint.participant_id == single.participant_id
        assert set(joint.tables) == set(single.tables) and len(joint.tables) >= 5
        assert _rows(joint) == _rows(single)
    # the participants' rows differ (slices are not of one participant)
    assert len({str(_rows(r)) for r in together}) == 4


def test_one_participant_the_conversion_refuses_is_the_only_one_erred(
    make_participant: Callable[..., Participant],
    study_key: StudyKey,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    paths, settings = _participants(make_participant, study_key, 3)
    anonymised = task_module.anonymised
    broken = {}

    def break_second(data: ParticipantData, settings: TaskSettings) -> ParticipantData:
        data = anonymised(data, settings)
        if not broken:
            broken["id"] = data.participant_id
        if data.participant_id == broken["id"]:
            episodes = data.tables["episodes"]
            episodes["peak_intensity"] = ["high", *episodes["peak_intensity"][1:]]  # not an integer
        return data

    monkeypatch.setattr(task_module, "anonymised", break_second)
    results = process_sources(paths, 0, settings)
    assert [r.status for r in results] == ["erred", "included", "included"]
    assert results[0].code == "failed" and "integer" in results[0].detail
    for result in results[1:]:
        assert result.tables and result.batch("episodes").num_rows > 0


def test_columns_of_unequal_length_are_refused() -> None:
    spec = next(t for t in TABLES if t.name == "episodes")
    columns: dict[str, list[Any]] = {c.name: [None, None] for c in spec.columns}
    columns[spec.columns[0].name] = [None]
    data = ParticipantData(workbook_id="w", tables={"episodes": columns})
    with pytest.raises(ValueError, match="episodes"):
        to_batches([data], "none")


def test_a_serialised_slice_reads_back_as_its_rows() -> None:
    spec = next(t for t in TABLES if t.name == "participants")
    datas = []
    for i in range(3):
        row = {c.name: [None] for c in spec.columns}
        row["participant_id"] = [f"p-{i}"]
        row["days_observed"] = [i * 7]
        datas.append(ParticipantData(workbook_id=f"w{i}", tables={"participants": row}))
    out = to_batches(datas, "none")
    got = [read_batch(o["participants"], "participants", "none").to_pylist() for o in out]
    assert [g[0]["participant_id"] for g in got] == ["p-0", "p-1", "p-2"]
    assert [g[0]["days_observed"] for g in got] == [0, 7, 14]
    assert all(len(g) == 1 for g in got)


def test_the_task_and_the_writer_never_import_pandas(
    tmp_path: Path, make_participant: Callable[..., Participant], study_key: StudyKey
) -> None:
    """In a fresh process: reading, anonymising and writing a dataset imports no pandas."""
    paths = [str(make_participant(f"q{i}").path) for i in range(3)]
    key_file = tmp_path / "k.key"
    key_file.write_bytes(KEY_TEXT + b"\n")
    key_file.chmod(0o600)
    code = (
        "import sys, json\n"
        "from heron_research.research.dataset import DatasetWriter\n"
        "from heron_research.research.keys import load_study_key\n"
        "from heron_research.research.task import TaskSettings, process_sources\n"
        "from datetime import datetime, timezone\n"
        f"key = load_study_key({str(key_file)!r})\n"
        f"as_of = datetime.fromisoformat({AS_OF.isoformat()!r})\n"
        "for mode in ('none', 'scrubbed'):\n"
        "    s = TaskSettings(key.pseudonymiser(), mode, as_of)\n"
        f"    results = process_sources({paths!r}, 0, s)\n"
        f"    with DatasetWriter(__import__('pathlib').Path({str(tmp_path)!r}) / mode, key,"
        " free_text=mode, k=1) as w:\n"
        "        [w.add(r) for r in results]\n"
        "        m = w.finish()\n"
        "print(json.dumps([m['counts']['included'], 'pandas' in sys.modules]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[3, false]"
