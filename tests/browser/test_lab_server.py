"""JupyterLab, started as ``heron-research lab`` starts it, works in Debian's Chromium.

A smoke test of the browser set-up itself: the lab loads with the token, a notebook's
cells run in a kernel, an ipywidget renders, the notebook saves, and a screenshot is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest

from heron_research.lab import LabServer
from heron_research.resources import notebook_file

pytestmark = pytest.mark.browser


def tiny_notebook(path: Path) -> Path:
    """A parameters cell, a cell that uses it and a cell that shows a widget."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('workbook = "CHANGE-ME.heron"')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Smoke test"),
        params,
        nbformat.v4.new_code_cell("print('workbook is', workbook)"),
        nbformat.v4.new_code_cell('import ipywidgets as w\nw.Button(description="hello-heron")'),
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


def test_lab_runs_a_notebook_with_a_widget_in_chromium(
    lab_ui: Callable[[LabServer], Any],
    lab_workbook: Path,
    start_lab_server: Callable[..., LabServer],
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    server = start_lab_server(lab_workbook, template=tiny_notebook(tmp_path / "tiny.ipynb"))
    lab = lab_ui(server)

    lab.open_notebook()
    lab.run_all_cells()

    expect(lab.page.get_by_role("button", name="hello-heron")).to_be_visible()
    expect(lab.page.get_by_text("workbook is client.heron")).to_be_visible()
    lab.save_notebook()
    kept = lab.screenshot("widget")
    assert kept.is_file()
    assert kept.stat().st_size > 10_000  # a real picture, not a blank page

    saved = nbformat.read(server.plan.notebook, as_version=4)
    printed, widget = [c for c in saved.cells if c.cell_type == "code"][-2:]
    assert printed.outputs[0]["text"] == "workbook is client.heron\n"
    assert "application/vnd.jupyter.widget-view+json" in widget.outputs[0]["data"]


def test_lab_sends_a_browser_without_the_token_to_login(
    page: Any,
    lab_workbook: Path,
    start_lab_server: Callable[..., LabServer],
    tmp_path: Path,
) -> None:
    server = start_lab_server(lab_workbook, template=tiny_notebook(tmp_path / "tiny.ipynb"))
    page.goto(server.notebook_url(with_token=False))
    page.wait_for_url("**/login**")
    assert page.locator(".jp-NotebookPanel").count() == 0


def test_the_client_notebook_runs_in_the_lab(request: pytest.FixtureRequest) -> None:
    """Opened, it runs by itself (no Run All): the forms are there, no cell raised."""
    from playwright.sync_api import expect

    if not notebook_file("workbook.ipynb").is_file():
        pytest.skip("notebooks/workbook.ipynb is not in this checkout yet")
    lab = request.getfixturevalue("jupyterlab")
    lab.open_notebook()
    expect(lab.page.locator(".heron-form-emotion_episode")).to_be_visible()
    lab.screenshot("client-notebook")
    assert lab.cell_errors() == []
