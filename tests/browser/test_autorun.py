"""The client's app is running when the lab opens: no Run All, no code, nothing unsaved.

The lab is started as ``heron-research lab`` starts it and the browser opens the address
it prints. Without any menu, key or click, the page says "Opening your workbook...",
then shows the forms: code cells never visible (not even for a frame), no unsaved
marker, the simple single-document interface. The client logs an episode, finding every
control by its role and accessible name as a screen reader does; the workbook
has it; the ``.ipynb`` on disk is byte for byte the one ``lab`` wrote, and after a save
the client asks for (Ctrl-S) it still holds no outputs and no widget state. The
practitioner's notebook opens the same way.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from heron_research.lab import LabServer
from heron_research.records import Side
from heron_research.workbook import Workbook

pytestmark = pytest.mark.browser

SITUATION = "Bus was late and I snapped at the driver"

#: Injected before the lab's own scripts: on every animation frame, note whether a code
#: cell's source was ever visible, whether the opening message was shown, and any error
#: text JupyterLab or the extension put on the page.
_WATCH_JS = """
window.__heron = {codeSeen: [], opening: false, states: []};
const look = () => {
  for (const input of document.querySelectorAll('.jp-CodeCell .jp-Cell-inputWrapper')) {
    if (input.checkVisibility({visibilityProperty: true, opacityProperty: true})) {
      window.__heron.codeSeen.push(input.textContent.slice(0, 80));
    }
  }
  const message = document.querySelector('.heron-autorun-message');
  if (message && message.textContent.includes('Opening your workbook...')) {
    window.__heron.opening = true;
  }
  const panel = document.querySelector('.jp-NotebookPanel');
  const state = panel && panel.getAttribute('data-heron-autorun');
  const states = window.__heron.states;
  if (state && states[states.length - 1] !== state) states.push(state);
  requestAnimationFrame(look);
};
requestAnimationFrame(look);
"""

_DIRTY = ".jp-mod-dirty"


def watch(page: Any) -> None:
    page.add_init_script(_WATCH_JS)


def watched(page: Any) -> dict[str, Any]:
    return dict(page.evaluate("() => window.__heron"))


def wait_for_file_change(path: Path, before_ns: int, timeout: float = 60) -> None:
    """Poll until ``path``'s modification time moves past ``before_ns`` (a save landed)."""
    deadline = time.monotonic() + timeout
    while path.stat().st_mtime_ns == before_ns:
        assert time.monotonic() < deadline, f"{path.name} was not saved within {timeout} s"
        time.sleep(0.1)


def assert_output_free(path: Path) -> dict[str, Any]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code, "the notebook has no code cells"
    assert [c["outputs"] for c in code] == [[]] * len(code)
    assert [c["execution_count"] for c in code] == [None] * len(code)
    assert "widgets" not in nb["metadata"]
    return nb


def test_the_client_notebook_opens_running_and_logs_an_episode_without_run_all(
    page: Any,
    lab_workbook: Path,
    start_lab_server: Callable[..., LabServer],
    screenshot: Callable[[str], Path],
) -> None:
    from playwright.sync_api import expect

    server = start_lab_server(lab_workbook)
    written = server.plan.notebook.read_bytes()
    assert json.loads(written)["metadata"]["heron_research"] == {"autorun": True}
    watch(page)

    page.goto(server.notebook_url(), wait_until="domcontentloaded")  # the printed address
    # from here on the client's app is found as a screen reader finds it: by role and name
    form = page.get_by_role("form", name="An emotional episode")
    expect(form).to_be_visible(timeout=180_000)
    expect(page.locator(".jp-NotebookPanel")).to_have_attribute("data-heron-autorun", "done")
    screenshot("opened")

    seen = watched(page)
    assert seen["opening"], "the page never said 'Opening your workbook...'"
    assert seen["codeSeen"] == [], f"code was visible: {seen['codeSeen'][:3]}"
    assert seen["states"][-2:] == ["running", "done"], seen["states"]
    assert page.locator("#main").get_attribute("data-shell-mode") == "single-document"
    inputs = page.locator(".jp-CodeCell .jp-Cell-inputWrapper")
    expect(inputs).to_have_count(3)  # parameters, lab's parameters, the app: in the page,
    for code in inputs.all():  # out of sight
        expect(code).to_be_hidden()
    expect(page.get_by_text("workbook_app(workbook)")).to_be_hidden()
    expect(page.locator(_DIRTY)).to_have_count(0)
    expect(page.locator(".jp-OutputArea-output[data-mime-type*='stderr']")).to_have_count(0)
    expect(page.get_by_role("tab", name="Today", exact=True)).to_have_attribute(
        "aria-selected", "true"
    )

    # log an episode by the fields' accessible names alone (no class, no Run All)
    form.get_by_label("Situation").fill(SITUATION)
    form.get_by_label("Emotion", exact=True).fill("anger")
    robin = form.get_by_role("checkbox", name="Robin")  # at the page's left edge: nothing
    robin.click()  # of the hidden prompts lies over it
    expect(robin).to_be_checked()
    form.get_by_role("button", name=re.compile(r"\bSave$")).click()  # after its icon
    expect(form.get_by_role("status")).to_contain_text("Saved the episode", timeout=30_000)
    expect(page.locator(_DIRTY)).to_have_count(0)
    screenshot("episode-saved")

    with Workbook.open(lab_workbook, readonly=True) as wb:
        [stored] = wb.records("emotion_episode")
    assert stored.record.situation == SITUATION
    assert [e.emotion for e in stored.record.emotions] == ["anger"]
    assert len(stored.record.people) == 1
    assert server.plan.notebook.read_bytes() == written  # nothing was saved to the .ipynb

    # a save the client asks for writes the notebook without outputs or widget state
    before = server.plan.notebook.stat().st_mtime_ns
    page.locator(".jp-NotebookPanel .jp-MarkdownCell").first.click()
    page.keyboard.press("Control+s")
    wait_for_file_change(server.plan.notebook, before)
    saved = assert_output_free(server.plan.notebook)
    original = json.loads(written)
    assert [c["source"] for c in saved["cells"]] == [c["source"] for c in original["cells"]]
    assert saved["metadata"]["heron_research"] == {"autorun": True}
    expect(page.locator(_DIRTY)).to_have_count(0)


def test_the_practitioners_notebook_opens_running(
    page: Any,
    tmp_path: Path,
    start_lab_server: Callable[..., LabServer],
) -> None:
    from playwright.sync_api import expect

    path = tmp_path / "practice" / "practice.heron"
    Workbook.create(path, side=Side.PRACTITIONER, client_workbook_id="c" * 32).close()
    server = start_lab_server(path)
    written = server.plan.notebook.read_bytes()
    watch(page)

    page.goto(server.notebook_url(), wait_until="domcontentloaded")
    expect(page.locator(".jp-NotebookPanel")).to_have_attribute(
        "data-heron-autorun", "done", timeout=180_000
    )
    expect(page.get_by_role("tab").filter(has_text="Decision").first).to_be_visible()
    seen = watched(page)
    assert seen["opening"] and seen["codeSeen"] == [], seen
    expect(page.locator(_DIRTY)).to_have_count(0)
    expect(page.get_by_text("practitioner_app(workbook)")).to_be_hidden()
    assert server.plan.notebook.read_bytes() == written


def test_a_failing_notebook_says_so_in_words(
    page: Any,
    lab_workbook: Path,
    start_lab_server: Callable[..., LabServer],
    tmp_path: Path,
) -> None:
    """A marked notebook whose app cell raises: the page says it could not open, and why."""
    import nbformat
    from playwright.sync_api import expect

    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('workbook = ""')
    params.metadata["tags"] = ["parameters"]
    broken = nbformat.v4.new_code_cell("raise RuntimeError('the forms broke here')")
    nb.cells = [nbformat.v4.new_markdown_cell("# Broken"), params, broken]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nb.metadata["heron_research"] = {"autorun": True}
    template = tmp_path / "broken.ipynb"
    nbformat.write(nb, template)
    server = start_lab_server(lab_workbook, template=template)

    page.goto(server.notebook_url(), wait_until="domcontentloaded")
    expect(page.locator(".jp-NotebookPanel")).to_have_attribute(
        "data-heron-autorun", "failed", timeout=180_000
    )
    expect(page.get_by_role("alert")).to_contain_text("could not be opened")
    traceback = page.locator(".jp-OutputArea-output").filter(has_text="the forms broke here")
    expect(traceback).to_be_visible()
    expect(page.locator(_DIRTY)).to_have_count(0)
