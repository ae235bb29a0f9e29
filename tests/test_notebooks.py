"""The shipped notebooks: committed clean, and they run (nbval) against a real workbook."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from support import run_nbval

from heron_research.records import EmotionEpisode, Person
from heron_research.workbook import Workbook

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
FORM_NOTEBOOKS = [ROOT / "notebooks" / "workbook.ipynb", ROOT / "notebooks" / "practitioner.ipynb"]


def test_the_form_notebooks_ship() -> None:
    for path in FORM_NOTEBOOKS:
        assert path in NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_committed_without_outputs_or_widget_state(path: Path) -> None:
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"{path.name}: a cell has outputs"
            assert cell.get("execution_count") is None, f"{path.name}: execution count saved"
    assert "widgets" not in nb.get("metadata", {}), f"{path.name}: widget state saved"
    tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: needs exactly one cell tagged 'parameters'"


@pytest.mark.parametrize("path", FORM_NOTEBOOKS, ids=lambda p: p.name)
def test_form_notebook_holds_no_logic(path: Path) -> None:
    nb = json.loads(path.read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    lines = [ln for c in code for ln in "".join(c["source"]).splitlines() if ln.strip()]
    assert len(lines) <= 4, lines


def test_form_notebooks_run_under_nbval(tmp_path: Path) -> None:
    workbook = tmp_path / "client.heron"
    with Workbook.create(workbook) as wb:
        person = wb.save(Person(alias="Robin", relationship="manager", sharing="practitioner"))
        wb.save(
            EmotionEpisode(
                situation="team meeting",
                emotions=[{"emotion": "anger", "intensity": 6}],
                people=[person.id],
            )
        )
    env = {**os.environ, "HERON_WORKBOOK": str(workbook)}
    result = run_nbval(FORM_NOTEBOOKS, tmp_path, env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "passed" in result.stdout


def test_form_notebook_without_a_workbook_says_how_to_open_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from heron_research.errors import WorkbookNotFoundError
    from heron_research.forms import workbook_app

    monkeypatch.delenv("HERON_WORKBOOK", raising=False)
    with pytest.raises(WorkbookNotFoundError, match="heron-research lab"):
        workbook_app("")
