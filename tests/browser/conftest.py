"""Browser tests: the real JupyterLab (started by ``heron_research.lab``) in Debian's Chromium.

Fixtures
--------
``chromium_path``       Debian's Chromium, or the test is skipped (and if playwright is missing).
``browser``             one headless Chromium for the session (Playwright sync API), closed.
``lab_workbook``        a fresh workbook ``<tmp>/client/client.heron``, Robin in its register.
``start_lab_server``    factory: ``start_lab_server(workbook, template=None) -> LabServer``;
                        every server it starts is stopped at teardown, pass or fail.
``lab_server``          JupyterLab on ``lab_workbook`` with the shipped ``workbook.ipynb``.
``page``                a new browser page (own context) for the test; on failure a
                        screenshot, the console log and the server log are kept.
``screenshot``          ``screenshot("name") -> Path``: a full-page screenshot, kept.
``jupyterlab``          ``JupyterLabUI`` for ``page`` and ``lab_server``: open_notebook(),
                        run_all_cells(), wait_for_kernel_idle(), save_notebook(),
                        cell_errors(), screenshot(name); ``.page`` and ``.server`` too.
                        open_notebook() also waits for heron-research's extension to
                        have run a notebook marked for it (the shipped ones), so the
                        forms are there without Run All.
``lab_ui``              ``lab_ui(server) -> JupyterLabUI`` for a server from ``start_lab_server``.

Test modules cannot import from this conftest (``tests/`` is not a package), so the
helpers reach tests through the fixtures above.

Artifacts (screenshots, logs) go to the test's ``tmp_path`` and are copied to
``test-artifacts/`` at the repository root (ignored by git), named after the test.

All waits poll the page's state (Playwright's auto-waiting or ``wait_for_function``);
there are no fixed sleeps. Kernel start on a busy two-core machine can take 10-20 s,
so the timeouts are generous.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from heron_research.lab import LabServer, prepare_lab, start_lab
from heron_research.records import Person
from heron_research.workbook import Workbook

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

#: Debian's Chromium (``.ci/run`` installs it); ``HERON_CHROMIUM`` may point elsewhere.
CHROMIUM = Path(os.environ.get("HERON_CHROMIUM", "/usr/bin/chromium"))

#: Flags for a quiet, offline, headless Chromium (also as root in a container).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

#: Where artifacts are copied for CI to keep (``/test-artifacts/`` is in .gitignore).
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

#: Milliseconds. Loading JupyterLab, starting a kernel, running a notebook.
LOAD_TIMEOUT = 60_000
KERNEL_TIMEOUT = 90_000
RUN_TIMEOUT = 180_000

_HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test in this folder is a ``browser`` test (``-m "not browser"`` skips them)."""
    for item in items:
        if _HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Remember each phase's report on the item, so fixtures can tell a failed test."""
    report = yield
    setattr(item, f"heron_report_{report.when}", report)
    return report


def _failed(request: pytest.FixtureRequest) -> bool:
    return any(
        getattr(getattr(request.node, f"heron_report_{when}", None), "failed", False)
        for when in ("setup", "call")
    )


def _artifact_name(request: pytest.FixtureRequest, suffix: str) -> str:
    test = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")
    return f"{test}-{suffix}"


def keep_artifact(request: pytest.FixtureRequest, path: Path) -> Path:
    """Copy ``path`` to ``test-artifacts/<test>-<name>``; the copy's path."""
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / _artifact_name(request, path.name)
    shutil.copyfile(path, target)
    return target


# --- the browser ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')"
    )
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.skip(f"Chromium not found at {CHROMIUM}; install Debian's chromium (see .ci/run)")
    return CHROMIUM


@pytest.fixture(scope="session")
def browser(chromium_path: Path) -> Iterator[Browser]:
    """One headless Chromium for the session, always closed (and Playwright stopped)."""
    from playwright.sync_api import sync_playwright

    manager = sync_playwright().start()
    try:
        chromium = manager.chromium.launch(
            executable_path=str(chromium_path), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        manager.stop()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Page]:
    """A fresh page in its own context; on failure its screenshot and console are kept."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    console: list[str] = []
    try:
        tab = context.new_page()
        tab.set_default_timeout(LOAD_TIMEOUT)
        tab.on("console", lambda msg: console.append(f"[{msg.type}] {msg.text}"))
        tab.on("pageerror", lambda exc: console.append(f"[pageerror] {exc}"))
        yield tab
        if _failed(request):
            shot = tmp_path / "failure.png"
            try:
                tab.screenshot(path=str(shot), full_page=True)
                keep_artifact(request, shot)
            except Exception as exc:  # the page may be gone; keep what we can
                console.append(f"[screenshot failed] {exc}")
            log = tmp_path / "browser-console.log"
            log.write_text("\n".join(console) + "\n", encoding="utf-8")
            keep_artifact(request, log)
    finally:
        context.close()


@pytest.fixture
def screenshot(page: Page, request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[str], Path]:
    """``screenshot("after-save")``: a full-page PNG in tmp_path, copied to test-artifacts/."""

    def take(name: str) -> Path:
        path = tmp_path / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return keep_artifact(request, path)

    return take


# --- the lab ----------------------------------------------------------------------------------


@pytest.fixture
def lab_workbook(tmp_path: Path) -> Path:
    """A fresh workbook (owner-only) whose register holds one person, Robin, the client's
    manager; closed: the lab's kernel opens it itself."""
    path = tmp_path / "client" / "client.heron"
    with Workbook.create(path) as wb:
        wb.save(Person(alias="Robin", relationship="manager"))
    return path


@pytest.fixture
def start_lab_server(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[..., LabServer]]:
    """A factory starting JupyterLab exactly as ``heron-research lab`` does (no browser).

    ``start_lab_server(workbook, template=None)`` -> a ready :class:`LabServer` (token,
    127.0.0.1, a free port) on the client's notebook for ``workbook``, made from
    ``template`` (the shipped ``workbook.ipynb`` by default). All are stopped at teardown;
    on failure the server log is kept.
    """
    started: list[LabServer] = []

    def start(workbook: Path, template: Traversable | Path | None = None) -> LabServer:
        plan = prepare_lab(workbook, template=template)
        log = tmp_path / f"jupyter-{len(started)}.log"
        server = start_lab(plan, open_browser=False, log=log, timeout=LOAD_TIMEOUT / 1000)
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop()
        if _failed(request):
            for log in tmp_path.glob("jupyter-*.log"):
                keep_artifact(request, log)


@pytest.fixture
def lab_server(lab_workbook: Path, start_lab_server: Callable[..., LabServer]) -> LabServer:
    """JupyterLab on the client's notebook (from the shipped template) for ``lab_workbook``."""
    return start_lab_server(lab_workbook)


# --- driving JupyterLab -----------------------------------------------------------------------

_NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden)"

#: True when the visible notebook's kernel is connected and idle: the status bar's kernel
#: item reads "<kernel> | Idle" (not "No Kernel") and the toolbar's indicator says idle.
_KERNEL_IDLE_JS = """
() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  if (!panel) return false;
  const indicator = panel.querySelector('.jp-Notebook-ExecutionIndicator');
  if (!indicator || indicator.getAttribute('data-status') !== 'idle') return false;
  const kernel = document.querySelector('.jp-StatusBar-TextItem[title^="Change kernel"]');
  const text = kernel ? kernel.textContent : '';
  return text.endsWith('| Idle') && !text.startsWith('No Kernel');
}
"""

#: True once every non-empty code cell of the visible notebook shows an execution count
#: (none is queued or running: ``[*]``) and the kernel is idle.
_ALL_RUN_JS = (
    """
() => {
  const kernelIdle = """
    + _KERNEL_IDLE_JS
    + """;
  if (!kernelIdle()) return false;
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  for (const cell of panel.querySelectorAll('.jp-CodeCell')) {
    const prompt = cell.querySelector('.jp-InputArea-prompt');
    const text = prompt ? prompt.textContent.trim() : '';
    if (text.includes('*')) return false;
    const source = cell.querySelector('.cm-content');
    const empty = !source || source.textContent.trim() === '';
    if (!empty && !/\\[\\d+\\]/.test(text)) return false;
  }
  return true;
}
"""
)

_PROMPTS = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputArea-prompt"


def open_notebook(page: Page, server: LabServer, notebook: str | None = None) -> None:
    """Open ``notebook`` (the client's by default) in JupyterLab; wait for an idle kernel.

    A notebook marked for heron-research's extension runs by itself when it opens: this
    also waits for that run to end (see :func:`wait_for_autorun`).
    """
    page.goto(server.notebook_url(notebook), wait_until="domcontentloaded")
    page.locator(_NOTEBOOK).first.wait_for(state="visible", timeout=LOAD_TIMEOUT)
    state = wait_for_autorun(page)
    assert state != "failed", (
        "the notebook did not open: " + page.locator(".heron-autorun-message").inner_text()
    )
    wait_for_kernel_idle(page)


#: The extension's state on the visible notebook panel (``data-heron-autorun``).
_AUTORUN_STATE_JS = """
() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  const state = panel ? panel.getAttribute('data-heron-autorun') : null;
  return ['off', 'done', 'failed'].includes(state) ? state : false;
}
"""


def wait_for_autorun(page: Page, timeout: float = RUN_TIMEOUT) -> str:
    """Wait until heron-research's extension is done with the visible notebook.

    Returns its state: ``off`` (not marked for it), ``done`` (ran, forms drawn) or
    ``failed`` (the page says why).
    """
    handle = page.wait_for_function(_AUTORUN_STATE_JS, timeout=timeout, polling=100)
    return str(handle.json_value())


def wait_for_kernel_idle(page: Page, timeout: float = KERNEL_TIMEOUT) -> None:
    """Wait until the visible notebook's kernel is connected and idle (it may be starting)."""
    page.wait_for_function(_KERNEL_IDLE_JS, timeout=timeout, polling=100)


def menu_command(page: Page, menu: str, label: str) -> None:
    """Click the main menu ``menu`` (e.g. "Run"), then its item labelled ``label``."""
    page.locator("#jp-MainMenu").get_by_role("menuitem", name=menu, exact=True).click()
    page.locator(".lm-Menu .lm-Menu-item:not(.lm-mod-disabled) .lm-Menu-itemLabel").filter(
        has_text=re.compile(f"^{re.escape(label)}$")
    ).first.click()


def run_all_cells(page: Page, timeout: float = RUN_TIMEOUT) -> None:
    """Run → Run All Cells in the visible notebook; return when all have run and it is idle.

    Fails, quoting the tracebacks, if a cell raised. A notebook heron-research's extension
    ran when it opened (the shipped ones; :func:`open_notebook` waited for it) has run all
    its cells already, and its code is hidden: then this only checks that none raised.
    """
    wait_for_kernel_idle(page)
    if page.evaluate(_AUTORUN_STATE_JS) == "done":
        errors = cell_errors(page)
        assert not errors, "a notebook cell raised:\n" + "\n---\n".join(errors)
        return
    page.evaluate(
        f"""() => document.querySelectorAll({_PROMPTS!r})
             .forEach(p => p.setAttribute('data-heron-before', p.textContent))"""
    )
    menu_command(page, "Run", "Run All Cells")
    # first see the run start (a prompt changes), then wait for everything to settle
    page.wait_for_function(
        f"""() => [...document.querySelectorAll({_PROMPTS!r})]
             .some(p => p.textContent !== p.getAttribute('data-heron-before'))""",
        timeout=timeout,
        polling=100,
    )
    page.wait_for_function(_ALL_RUN_JS, timeout=timeout, polling=100)
    errors = cell_errors(page)
    assert not errors, "a notebook cell raised:\n" + "\n---\n".join(errors)


def cell_errors(page: Page) -> list[str]:
    """The text of every traceback shown in the visible notebook's outputs."""
    outputs = page.locator(
        f'{_NOTEBOOK} .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
    )
    return [text for text in outputs.all_inner_texts() if "Traceback" in text]


def save_notebook(page: Page) -> None:
    """File → Save Notebook; wait until the tab is no longer marked unsaved."""
    menu_command(page, "File", "Save Notebook")
    page.wait_for_function(
        "() => !document.querySelector('.lm-TabBar-tab.jp-mod-current.jp-mod-dirty')",
        timeout=LOAD_TIMEOUT,
        polling=100,
    )


@dataclass
class JupyterLabUI:
    """The helpers above, bound to one page and one server (see the ``jupyterlab`` fixture)."""

    page: Page
    server: LabServer
    take_screenshot: Callable[[str], Path]
    notebook: str | None = None
    screenshots: list[Path] = field(default_factory=list)

    def open_notebook(self, notebook: str | None = None) -> None:
        self.notebook = notebook
        open_notebook(self.page, self.server, notebook)

    def wait_for_kernel_idle(self, timeout: float = KERNEL_TIMEOUT) -> None:
        wait_for_kernel_idle(self.page, timeout)

    def run_all_cells(self, timeout: float = RUN_TIMEOUT) -> None:
        run_all_cells(self.page, timeout)

    def save_notebook(self) -> None:
        save_notebook(self.page)

    def cell_errors(self) -> list[str]:
        return cell_errors(self.page)

    def screenshot(self, name: str) -> Path:
        path = self.take_screenshot(name)
        self.screenshots.append(path)
        return path


@pytest.fixture
def lab_ui(page: Page, screenshot: Callable[[str], Path]) -> Callable[[LabServer], JupyterLabUI]:
    """``lab_ui(server) -> JupyterLabUI``: drive any lab server through ``page``."""

    def bind(server: LabServer) -> JupyterLabUI:
        return JupyterLabUI(page=page, server=server, take_screenshot=screenshot)

    return bind


@pytest.fixture
def jupyterlab(lab_ui: Callable[[LabServer], JupyterLabUI], lab_server: LabServer) -> JupyterLabUI:
    """JupyterLab on the client's notebook for ``lab_workbook``, driven through ``page``."""
    return lab_ui(lab_server)
