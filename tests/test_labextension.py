"""The client's app runs when it opens: the notebooks are marked, their code is out of sight,
the lab loads our built extension and never saves outputs into a marked notebook.

No browser and no Node here: ``tests/browser/test_autorun.py`` drives the real thing, and
``tests/test_packaging.py`` checks the wheel ships the built extension.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest

from heron_research.lab import prepare_lab, server_command
from heron_research.lab_contents import is_autorun, keep_outputs_out
from heron_research.records import Side
from heron_research.workbook import Workbook

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "labextension"  # TypeScript; `make labextension` builds it into the package
BUILT = ROOT / "heron_research" / "labextension" / "heron-research-autorun"
FORM_NOTEBOOKS = [ROOT / "notebooks" / "workbook.ipynb", ROOT / "notebooks" / "practitioner.ipynb"]


def code_cells(nb: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


@pytest.mark.parametrize("path", FORM_NOTEBOOKS, ids=lambda p: p.name)
def test_form_notebooks_are_marked_and_their_code_is_hidden(path: Path) -> None:
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert nb["metadata"]["heron_research"] == {"autorun": True}
    assert is_autorun(nb)
    for cell in code_cells(nb):
        assert cell["metadata"]["jupyter"] == {"source_hidden": True, "outputs_hidden": False}
    intro = "".join(nb["cells"][0]["source"])
    assert "Run All" not in intro and "Run →" not in intro
    assert "by themselves" in intro


@pytest.mark.parametrize("side", [Side.CLIENT, Side.PRACTITIONER])
def test_the_notebook_lab_writes_is_marked_with_every_code_cell_hidden(
    tmp_path: Path, side: Side
) -> None:
    path = tmp_path / "wb.heron"
    client = "c" * 32 if side is Side.PRACTITIONER else None
    Workbook.create(path, side=side, client_workbook_id=client).close()
    plan = prepare_lab(path)
    nb = json.loads(plan.notebook.read_text(encoding="utf-8"))
    assert is_autorun(nb)
    cells = code_cells(nb)
    app = "practitioner_app" if side is Side.PRACTITIONER else "workbook_app"
    assert len(cells) == 3 and app in "".join(cells[-1]["source"])  # with papermill's cell
    assert ["injected-parameters" in c["metadata"].get("tags", []) for c in cells].count(True) == 1
    for cell in cells:
        assert cell["metadata"]["jupyter"]["source_hidden"] is True
        assert cell["metadata"]["jupyter"]["outputs_hidden"] is False
        assert cell["outputs"] == [] and cell["execution_count"] is None


def test_an_unmarked_template_stays_unmarked_and_visible(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('workbook = ""')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("print(workbook)")]
    template = tmp_path / "plain.ipynb"
    nbformat.write(nb, template)
    path = tmp_path / "wb.heron"
    Workbook.create(path).close()
    made = json.loads(prepare_lab(path, template=template).notebook.read_text(encoding="utf-8"))
    assert not is_autorun(made)
    assert all("jupyter" not in c["metadata"] for c in code_cells(made))


def _saved_model(marked: bool) -> dict[str, Any]:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("workbook_app(workbook)", execution_count=3)
    cell.outputs = [nbformat.v4.new_output("display_data", {"text/plain": "Tab(...)"})]
    nb.cells = [nbformat.v4.new_markdown_cell("# Mine"), cell]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    if marked:
        nb.metadata["heron_research"] = {"autorun": True}
    return {"type": "notebook", "format": "json", "content": json.loads(nbformat.writes(nb))}


def test_save_hook_keeps_outputs_and_widget_state_out_of_a_marked_notebook() -> None:
    model = _saved_model(marked=True)
    keep_outputs_out(model=model, path="client.ipynb", contents_manager=None)
    content = model["content"]
    [code] = code_cells(content)
    assert code["outputs"] == [] and code["execution_count"] is None
    assert "".join(code["source"]) == "workbook_app(workbook)"
    assert "widgets" not in content["metadata"]
    assert content["metadata"]["heron_research"] == {"autorun": True}
    nbformat.validate(nbformat.from_dict(content))


def test_save_hook_leaves_other_notebooks_and_files_alone() -> None:
    model = _saved_model(marked=False)
    before = json.dumps(model, sort_keys=True)
    keep_outputs_out(model=model, path="other.ipynb", contents_manager=None)
    assert json.dumps(model, sort_keys=True) == before
    text = {"type": "file", "format": "text", "content": '{"metadata": {}}'}
    keep_outputs_out(model=text, path="notes.txt", contents_manager=None)
    assert text["content"] == '{"metadata": {}}'


def test_the_lab_server_loads_our_extension_and_the_save_hook(tmp_path: Path) -> None:
    path = tmp_path / "wb.heron"
    Workbook.create(path).close()
    argv = server_command(prepare_lab(path))
    [extensions] = [a.split("=", 1)[1] for a in argv if "extra_labextensions_path" in a]
    assert Path(extensions) == BUILT.parent
    assert "--ContentsManager.pre_save_hook=heron_research.lab_contents.keep_outputs_out" in argv
    assert "--ServerApp.file_url_prefix=/doc/tree" in argv  # the browser opens simple mode


def test_the_built_extension_is_committed_and_matches_its_source() -> None:
    source = json.loads((SOURCE / "package.json").read_text(encoding="utf-8"))
    built = json.loads((BUILT / "package.json").read_text(encoding="utf-8"))
    assert built["name"] == source["name"] == BUILT.name
    assert built["version"] == source["version"]
    assert (SOURCE / "src" / "index.ts").is_file()
    entry = BUILT / built["jupyterlab"]["_build"]["load"]
    assert entry.is_file()
    # what the extension looks for is what the notebooks and the save hook use
    script = (SOURCE / "src" / "index.ts").read_text(encoding="utf-8")
    assert "METADATA_KEY = 'heron_research'" in script and "Opening your workbook..." in script
    chunks = "".join(p.read_text(encoding="utf-8") for p in (BUILT / "static").glob("*.js"))
    assert "Opening your workbook..." in chunks and "heron_research" in chunks
    rules = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    rules = [r.strip() for r in rules if r.strip() and not r.startswith("#")]
    assert not [r for r in rules if "heron_research" in r or r in {"*.js", "static/", "*.json"}]
    assert "/labextension/node_modules/" in rules  # never committed
