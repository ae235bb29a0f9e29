"""Leak scan (issue 6, case 8): after a full session, nothing of the client's is left about.

What is promised. After a user's whole session (``demo``, ``lab`` with the forms in a
browser, ``report``, ``batch``):

* every data file the session made is mode 0600 and its folders 0700;
* no IPython history is written;
* no workbook content (what the client typed, the demo's text, the workbook id) is in a
  log, a cache or Jupyter's state, and Jupyter's lasting state does not name the client's
  notebook or folder; nothing of the session is written outside the user's own folders;
* the JupyterLab server the CLI starts refuses requests without the token and listens on
  loopback only, and so do its kernels (Unix sockets in the lab's private folder) and the
  batch's Dask cluster;
* hostile markup typed into a form is saved verbatim and runs nothing in the lab page;
  Ctrl-C stops the lab cleanly and removes its private runtime folder;
* the client's saved notebook keeps no widget state and no typed text, and the notebooks
  in git keep no outputs, execution counts or widget state.

How it is checked. One module-scoped session runs the installed ``heron-research`` in
subprocesses, as a user would, with ``HOME``, ``TMPDIR`` and the XDG folders pointing into
a sandbox folder (and no inherited Jupyter/IPython settings), so every file the session
made is under the sandbox. The browser part is Debian's Chromium through Playwright on
the address the CLI printed. The episode's text carries a canary unique to the run. The
small tests below each check one promise on what the session left; each records its
figure (issue 6, case 8) before asserting. Files outside the sandbox (``/tmp``,
``/var/tmp`` and the real ``~/.jupyter``, ``~/.local/share/jupyter``, ``~/.ipython``,
``~/.cache``, ``~/.npm``, ``~/.config``) are compared before and after; as other tests may
run alongside, only new or changed files holding something of this run (its canary, its
sandbox path, its token) count.

What counts as data. Everything under the user's work folder (workbooks with their
-wal/-shm, the client's notebook and its checkpoints, reports, exports, the dataset, the
study key); and anywhere else, any SQLite database, any log, and any file that holds the
client's content. Jupyter's and IPython's own configuration and markers elsewhere are
exempt from the mode rule, and are searched for the client's content like everything else.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import nbformat
import pytest
from figures import Figures, Scale
from leaks import (
    Entry,
    Hit,
    Sandbox,
    changed_since,
    find_needles,
    history_files,
    history_rows,
    http_status,
    is_loopback,
    is_sqlite,
    listening_addresses,
    mode_problems,
    notebook_problems,
    process_tree,
    snapshot,
    unix_socket_paths,
    walk,
)

from heron_research.workbook import Workbook

#: The session (the first test's setup) takes about a minute; more at full scale.
pytestmark = [pytest.mark.reliability, pytest.mark.browser, pytest.mark.timeout(900)]

CASE = 8
REPO = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).with_name("heron-research")

#: Unmistakable, and unique to this run (so files of other runs never match).
CANARY = f"Canary-Thaddeus-Wimbourne-7731-{secrets.token_hex(4)}"
SCRIPT = "<script>window.__pwned=1</script>"
HOSTILE = '<img src=x onerror="window.__pwned=2"> <a href="javascript:window.__pwned=3">x</a>'
#: The script first: the Recent list shows the first 40 characters of a situation.
SITUATION = f"{SCRIPT} {CANARY} at the bus stop {HOSTILE}"

#: Seconds. A lab start is 10-15 s, Run All 15-25 s on a busy two-core machine.
LAB_START = 120
COMMAND = 300

#: Outside the sandbox: where a program might write for the real user.
OUTSIDE_HOME = (".jupyter", ".local/share/jupyter", ".ipython", ".cache", ".npm", ".config")
OUTSIDE_TMP = (Path("/tmp"), Path("/var/tmp"))
SHORT_TMP = "/tmp" if Path("/tmp").is_dir() else None
#: Changed files outside larger than this are not read (this session writes none).
OUTSIDE_READ_LIMIT = 16 * 1024 * 1024

#: In the page: anything the hostile markup would have made or run.
INJECTED_JS = """
() => ({
  pwned: typeof window.__pwned,
  images: document.querySelectorAll('img[src="x"]').length,
  links: [...document.querySelectorAll('a[href]')]
           .filter(a => a.getAttribute('href').trim().toLowerCase().startsWith('javascript:'))
           .length,
  scripts: [...document.scripts].filter(s => s.text.includes('__pwned')).length,
})
"""

_DIRTY_TAB = ".lm-TabBar-tab.jp-mod-current.jp-mod-dirty"


# --- the session ------------------------------------------------------------------------


@dataclass
class Session:
    """What the session did and left behind, for the tests to judge."""

    box: Sandbox
    captured: Path
    workbook: Path = Path()
    workbook_id: str = ""
    demo_texts: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    # the lab
    lab_pid: int = 0
    lab_url: str = ""
    token: str = ""
    statuses: dict[str, int] = field(default_factory=dict)
    lab_addresses: set[tuple[str, int]] = field(default_factory=set)
    lab_unix_sockets: set[str] = field(default_factory=set)
    lab_processes: list[int] = field(default_factory=list)
    kernels: int = 0
    runtime_dir: Path = Path()
    runtime_entries: list[Entry] = field(default_factory=list)
    runtime_hits: list[Hit] = field(default_factory=list)
    runtime_token_files: set[Path] = field(default_factory=set)
    dialogs: list[str] = field(default_factory=list)
    injected: dict[str, Any] = field(default_factory=dict)
    shown_as_text: bool = False
    saved_situation: str | None = None
    notebook_saved: bool = False
    recent_text: str = ""
    lab_exit: int | None = None
    lab_output: str = ""
    processes_left: list[int] = field(default_factory=list)
    # the batch
    batch_addresses: set[tuple[str, int]] = field(default_factory=set)
    # afterwards
    entries: list[Entry] = field(default_factory=list)
    outside_changed: list[Path] = field(default_factory=list)
    outside_hits: list[Hit] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def notebook(self) -> Path:
        return self.workbook.with_suffix(".ipynb")

    def content_needles(self) -> dict[str, str]:
        """What no log or state may hold: the client's words and the workbook's id."""
        needles = {"canary": CANARY, "workbook id": self.workbook_id}
        needles.update({f"demo text {i + 1}": text for i, text in enumerate(self.demo_texts)})
        return needles

    def name_needles(self) -> dict[str, str]:
        """What Jupyter's lasting state may not hold either: the client's file names."""
        return {
            "client notebook name": self.notebook.name,
            "client folder path": str(self.workbook.parent),
        }


class PrintedLab:
    """The lab as the CLI printed it (what the browser helpers need of a server)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def notebook_url(self, notebook: str | None = None) -> str:
        assert notebook is None, "only the client's notebook is opened"
        return self.url


def browser_helpers(config: pytest.Config) -> ModuleType:
    """``tests/browser/conftest.py`` as loaded by pytest (its open/run/save helpers).

    Its helpers are exposed through function-scoped fixtures; the session here is
    module-scoped, so it takes the same functions from the loaded conftest plugin.
    """
    here = Path(__file__).with_name("conftest.py")
    for plugin in config.pluginmanager.get_plugins():
        if Path(getattr(plugin, "__file__", "") or "/") == here:
            return plugin
    raise LookupError(f"{here} is not loaded")


def run_cli(session: Session, name: str, *args: str, timeout: float = COMMAND) -> str:
    """Run ``heron-research ARGS`` as the sandboxed user; its stdout (checked exit 0)."""
    run_command(session, name, args, timeout=timeout)
    return (session.captured / f"{name}.out").read_text(encoding="utf-8", errors="replace")


def run_watching_sockets(session: Session, name: str, *args: str) -> set[tuple[str, int]]:
    """Run a command like :func:`run_cli`; every TCP address its processes listened on."""
    return run_command(session, name, args, watch=True)


def run_command(
    session: Session,
    name: str,
    args: tuple[str, ...],
    *,
    timeout: float = COMMAND,
    watch: bool = False,
) -> set[tuple[str, int]]:
    """``heron-research ARGS`` in the sandbox, output to ``NAME.out``/``.err`` (exit 0 checked).

    With ``watch``, the TCP addresses its processes listen on are read while it runs.
    """
    out = session.captured / f"{name}.out"
    err = session.captured / f"{name}.err"
    seen: set[tuple[str, int]] = set()
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(
            [str(CLI), *args],
            cwd=session.box.work,
            env=session.box.env(),
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
        )
        try:
            deadline = time.monotonic() + timeout
            while proc.poll() is None and time.monotonic() < deadline:
                if watch:
                    seen |= listening_addresses(process_tree(proc.pid))
                time.sleep(0.2 if watch else 0.05)
            code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    session.commands.append("heron-research " + " ".join(args))
    assert code == 0, (
        f"heron-research {' '.join(args)} exited {code}:\n"
        + out.read_text(encoding="utf-8", errors="replace")
        + "\n"
        + err.read_text(encoding="utf-8", errors="replace")
    )
    return seen


def demo_texts(workbook: Path, count: int = 3) -> list[str]:
    """A few distinctive situations the demo wrote (plain ASCII: found as-is in any file)."""
    with Workbook.open(workbook, readonly=True) as wb:
        situations = {r.record.situation for r in wb.records("emotion_episode")}
    plain = sorted(
        (s for s in situations if re.fullmatch(r"[A-Za-z0-9 ,.:;-]{30,}", s or "")),
        key=lambda s: (-len(s), s),
    )
    assert len(plain) >= count, "the demo has too few plain situations to search for"
    return plain[:count]


def wait_for_address(proc: subprocess.Popen[bytes], out: Path, timeout: float) -> str:
    """The ``http://...?token=...`` line the lab prints, once it has printed it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = out.read_text(encoding="utf-8", errors="replace")
        match = re.search(r"http://\S+\?token=\S+", text)
        if match and "Ctrl-C" in text:
            return match.group(0)
        if proc.poll() is not None:
            raise AssertionError(f"heron-research lab exited {proc.returncode}:\n{text}")
        time.sleep(0.1)
    raise AssertionError(f"heron-research lab printed no address within {timeout} s")


def check_token(session: Session) -> None:
    """What the server answers with and without the token."""
    base = session.lab_url.split("/doc/tree/")[0]
    session.statuses = {
        "/lab without token": http_status(f"{base}/lab"),
        "/api/contents without token": http_status(f"{base}/api/contents"),
        "/api/contents with a wrong token": http_status(f"{base}/api/contents?token=x"),
        "/api/contents with the token": http_status(f"{base}/api/contents", token=session.token),
    }


def use_the_forms(session: Session, browser: Any, request: pytest.FixtureRequest) -> None:
    """Run All, save a hostile episode, look at the page, save the notebook (Ctrl+S)."""
    from playwright.sync_api import expect

    helpers = browser_helpers(request.config)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    console = (session.captured / "browser-console.log").open("a", encoding="utf-8")
    try:
        page = context.new_page()
        page.set_default_timeout(helpers.LOAD_TIMEOUT)

        def dialog(d: Any) -> None:
            session.dialogs.append(f"{d.type}: {d.message}")
            d.dismiss()

        page.on("dialog", dialog)
        page.on("console", lambda m: print(f"[{m.type}] {m.text}", file=console, flush=True))
        page.on("pageerror", lambda e: print(f"[pageerror] {e}", file=console, flush=True))
        try:
            helpers.open_notebook(page, PrintedLab(session.lab_url))
            helpers.run_all_cells(page)
            lab_sockets(session)

            form = page.locator(".heron-form-emotion_episode")
            expect(form).to_be_visible()
            form.locator(".heron-field-situation textarea").fill(SITUATION)
            form.locator(".heron-field-emotions-0-emotion input").fill("anger")
            form.locator(".heron-field-self_management-0-technique input").fill(
                "pausing before acting"
            )
            form.locator(".heron-save").click()
            expect(form.locator(".heron-status")).to_contain_text(
                "Saved the episode", timeout=30_000
            )
            page.get_by_role("tab", name="Recent").click()
            recent = page.locator(".heron-recent")
            # the entry's first 40 characters: the script (as text, or gone if it was
            # rendered as markup) and the start of the canary
            expect(recent).to_contain_text("Canar", timeout=30_000)
            session.recent_text = recent.inner_text()
            session.shown_as_text = SCRIPT in session.recent_text
            session.injected = page.evaluate(INJECTED_JS)

            # save as a client would: select a cell (command mode), then Ctrl+S
            page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell").first.click()
            page.keyboard.press("Escape")
            page.keyboard.press("Control+s")
            page.wait_for_function(
                f"() => !document.querySelector({_DIRTY_TAB!r})", timeout=30_000, polling=100
            )
        except BaseException:
            shot = session.captured / "failure.png"
            with contextlib.suppress(Exception):
                page.screenshot(path=str(shot), full_page=True)
                helpers.keep_artifact(request, shot)
            for name in ("lab.out", "lab.err", "browser-console.log"):
                with contextlib.suppress(OSError):
                    helpers.keep_artifact(request, session.captured / name)
            raise
    finally:
        context.close()
        console.close()


def lab_sockets(session: Session) -> None:
    """Where the lab's processes (server and kernels) can be reached, while they run."""
    import psutil

    session.lab_processes = process_tree(session.lab_pid)
    session.lab_addresses = listening_addresses(session.lab_processes)
    session.lab_unix_sockets = unix_socket_paths(session.lab_processes)
    kernels = 0
    for pid in session.lab_processes:
        try:
            cmdline = " ".join(psutil.Process(pid).cmdline())
        except psutil.Error:
            continue
        # the lab's Python kernels run heron_research.kernel_app (ipykernel's app)
        kernels += "heron_research.kernel_app" in cmdline or "ipykernel_launcher" in cmdline
    session.kernels = kernels


def run_lab_session(session: Session, browser: Any, request: pytest.FixtureRequest) -> None:
    """``heron-research lab`` as a subprocess: token, sockets, the forms, then Ctrl-C."""
    out = session.captured / "lab.out"
    err = session.captured / "lab.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(
            [str(CLI), "lab", str(session.workbook.relative_to(session.box.work)), "--no-browser"],
            cwd=session.box.work,
            env=session.box.env(),
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            # Ctrl-C as from a terminal, even if this run was started where SIGINT is ignored
            # (a background job), which the command would inherit
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
    session.lab_pid = proc.pid
    session.commands.append("heron-research lab ... --no-browser")
    try:
        session.lab_url = wait_for_address(proc, out, LAB_START)
        session.token = session.lab_url.split("?token=", 1)[1]
        folders = sorted(session.box.tmp.glob("heron-lab-*"))
        assert len(folders) == 1, f"expected one private lab folder in TMPDIR, found {folders}"
        session.runtime_dir = folders[0]
        check_token(session)
        notebook_before = session.notebook.stat().st_mtime_ns
        use_the_forms(session, browser, request)
        session.notebook_saved = session.notebook.stat().st_mtime_ns != notebook_before
        # the private folder is removed at stop: look at it now
        session.runtime_entries = walk(session.runtime_dir, include_root=True)
        files = [e.path for e in session.runtime_entries if e.is_file]
        session.runtime_hits = find_needles(files, session.content_needles())
        session.runtime_token_files = {h.path for h in find_needles(files, {"t": session.token})}
        tree = process_tree(proc.pid)
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        session.lab_exit = proc.wait(timeout=60)
        time.sleep(0.2)
        session.processes_left = [pid for pid in tree if _alive(pid)]
    finally:
        if proc.poll() is None:
            for pid in reversed(process_tree(proc.pid)):
                _kill(pid)
            proc.wait(timeout=30)
        session.lab_output = out.read_text(errors="replace") + err.read_text(errors="replace")


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def write_study_key(path: Path) -> Path:
    """A study key the way the README makes one: 32 random bytes, base64, chmod 600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(base64.b64encode(secrets.token_bytes(32)) + b"\n")
    return path


def outside_roots() -> list[Path]:
    home = Path.home()
    return [*OUTSIDE_TMP, *(home / sub for sub in OUTSIDE_HOME)]


@pytest.fixture(scope="module")
def session(
    tmp_path_factory: pytest.TempPathFactory,
    browser: Any,
    scale: Scale,
    request: pytest.FixtureRequest,
) -> Iterator[Session]:
    """A user's whole session in a sandbox: demo, lab with the forms, report, batch."""
    pytest.importorskip("psutil", reason="the socket and process checks read them with psutil")

    captured = tmp_path_factory.mktemp("leak-scan-output")
    # A short root, like a real user's /tmp: the lab puts kernel sockets under TMPDIR only
    # when their paths fit the Unix limit (about 100 bytes), else kernels use TCP ports.
    box = Sandbox.create(Path(tempfile.mkdtemp(prefix="heron-leaks-", dir=SHORT_TMP)))
    try:
        yield from _run_session(Session(box=box, captured=captured), browser, scale, request)
    finally:
        shutil.rmtree(box.root, ignore_errors=True)


def _run_session(
    session: Session, browser: Any, scale: Scale, request: pytest.FixtureRequest
) -> Iterator[Session]:
    box = session.box
    started = time.monotonic()
    before = snapshot(outside_roots())

    run_cli(session, "demo", "demo", "--out", "demo")
    session.workbook = box.work / "demo" / "demo.heron"
    with Workbook.open(session.workbook, readonly=True) as wb:
        session.workbook_id = wb.id
    session.demo_texts = demo_texts(session.workbook)

    run_lab_session(session, browser, request)
    with Workbook.open(session.workbook, readonly=True) as wb:
        mine = [
            r.record.situation
            for r in wb.records("emotion_episode")
            if CANARY in (r.record.situation or "")
        ]
    session.saved_situation = mine[0] if len(mine) == 1 else None

    run_cli(session, "report", "report", "demo/demo.heron")
    write_study_key(box.work / "study.key")
    session.batch_addresses = run_watching_sockets(
        session,
        "batch",
        "batch",
        "demo/",
        "--out",
        "dataset",
        "--key-file",
        "study.key",
        "--free-text",
        "scrubbed",
    )
    if scale.full:  # the rest of what a user may do with the same files
        run_cli(session, "check", "check", "demo/demo.heron")
        run_cli(session, "handover", "report", "demo/demo.heron", "--kind", "handover")
        run_cli(
            session,
            "batch-none",
            "batch",
            "demo/demo.heron",
            "--out",
            "dataset-none",
            "--key-file",
            "study.key",
        )
        run_cli(session, "cohort", "cohort-report", "dataset", "--out", "cohort.html")
        run_cli(session, "export", "export", "demo/demo.heron")

    session.entries = walk(box.root)
    listing = session.captured / "sandbox-files.txt"  # kept by pytest for a look afterwards
    listing.write_text("".join(f"{e.mode:04o} {e.size:>9} {e.path}\n" for e in session.entries))
    after = snapshot(outside_roots())
    ours = (box.root, session.captured)  # the sandbox, and what the test itself captured
    session.outside_changed = [
        p for p in changed_since(before, after) if not any(o in p.parents for o in ours)
    ]
    readable = [p for p in session.outside_changed if _size(p) <= OUTSIDE_READ_LIMIT]
    session.outside_hits = find_needles(
        readable,
        {"canary": CANARY, "sandbox path": str(box.root), "lab token": session.token},
    )
    session.seconds = time.monotonic() - started
    yield session


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return OUTSIDE_READ_LIMIT + 1


# --- what counts as what --------------------------------------------------------------------


def client_data(session: Session, entry: Entry) -> bool:
    """The user's own files: may hold the client's content, must be private."""
    return session.box.work in entry.path.parents


def is_data(session: Session, entry: Entry) -> bool:
    """Files that must be 0600 in 0700 folders (see the module docstring)."""
    if client_data(session, entry):
        return True
    path = entry.path
    return (
        is_sqlite(path)
        or path.name.startswith("history.sqlite")
        or path.suffix == ".log"
        or path.parent.name.lower() in ("log", "logs", "_logs")
        or bool(find_needles([path], session.content_needles()))
    )


def state_files(session: Session) -> list[Path]:
    """Files the session left outside the user's work folder (Jupyter, IPython, caches)."""
    return [e.path for e in session.entries if e.is_file and not client_data(session, e)]


def captured_output(session: Session) -> list[Path]:
    """What the commands printed (the user's terminal, and the Jupyter server's log)."""
    return sorted(session.captured.glob("*.out")) + sorted(session.captured.glob("*.err"))


# --- the tests ------------------------------------------------------------------------------


def test_the_session_ran_every_command(session: Session, figures: Figures) -> None:
    figures.record(CASE, "session", "; ".join(session.commands))
    figures.record(CASE, "session time, s", round(session.seconds, 1))
    manifest = json.loads((session.box.work / "dataset" / "manifest.json").read_text())
    counts = manifest["counts"]
    figures.record(
        CASE,
        "batch after the lab: workbooks included",
        counts["included"],
        note=f"of {counts['inputs']}; erred {counts['erred']}",
    )
    assert session.workbook.is_file()
    assert session.notebook.is_file()
    # so the scan covers the Dask workers handling the client's text too
    assert counts["included"] == 1, (session.captured / "batch.out").read_text()


def test_lab_refuses_requests_without_the_token(session: Session, figures: Figures) -> None:
    s = session.statuses
    figures.record(
        CASE,
        "lab without token: status code",
        f"{s['/lab without token']} for /lab, {s['/api/contents without token']} for /api/contents",
        note="302 is the redirect to the login page",
    )
    assert s["/lab without token"] in (302, 303, 307, 401, 403), s
    assert s["/api/contents without token"] == 403, s
    assert s["/api/contents with a wrong token"] == 403, s
    assert s["/api/contents with the token"] == 200, s
    assert session.lab_url.startswith("http://127.0.0.1:"), session.lab_url


def test_lab_and_batch_listen_on_loopback_only(session: Session, figures: Figures) -> None:
    lab = sorted(session.lab_addresses)
    batch = sorted(session.batch_addresses)
    exposed = [a for a in lab + batch if not is_loopback(a[0])]
    hosts = sorted({host for host, _ in lab + batch})
    figures.record(
        CASE,
        "listening addresses",
        (" and ".join(hosts) + " only") if hosts and not exposed else str(exposed),
        note=f"lab: {len(lab)} socket(s), {session.kernels} kernel(s); "
        f"batch: {len(batch)} socket(s)",
    )
    figures.record(CASE, "listening sockets not on loopback", len(exposed), must_be_zero=True)
    assert session.kernels >= 1, "no kernel was running when the sockets were read"
    assert lab, "the lab server had no listening socket"
    assert batch, "the batch's Dask cluster was never seen listening"
    assert not exposed, exposed


def test_kernel_sockets_are_in_the_private_folder(session: Session, figures: Figures) -> None:
    outside = sorted(
        path for path in session.lab_unix_sockets if session.runtime_dir not in Path(path).parents
    )
    figures.record(
        CASE, "kernel sockets outside the private folder", len(outside), must_be_zero=True
    )
    # ipc: no TCP port for kernels at all, every socket in the 0700 runtime folder
    kernel_sockets = [p for p in session.lab_unix_sockets if "kernel-" in Path(p).name]
    assert kernel_sockets, f"no kernel ipc sockets seen: {session.lab_unix_sockets}"
    assert not outside, outside


def test_hostile_text_is_saved_verbatim_and_runs_nothing(
    session: Session, figures: Figures
) -> None:
    injected = session.injected
    ran = (injected.get("pwned") != "undefined") + len(session.dialogs)
    made = injected.get("images", 0) + injected.get("links", 0) + injected.get("scripts", 0)
    figures.record(CASE, "hostile markup executed or injected", ran + made, must_be_zero=True)
    assert session.saved_situation == SITUATION, session.saved_situation
    assert injected.get("pwned") == "undefined", injected
    assert not session.dialogs, session.dialogs
    assert made == 0, injected
    assert session.shown_as_text, (
        f"the markup is not shown as text under Recent: {session.recent_text!r}"
    )


def test_ctrl_c_stops_the_lab_and_removes_its_folder(session: Session, figures: Figures) -> None:
    figures.record(
        CASE, "lab processes left after Ctrl-C", len(session.processes_left), must_be_zero=True
    )
    assert session.lab_exit == 0, session.lab_output
    assert "Stopping JupyterLab" in session.lab_output
    assert not session.runtime_dir.exists(), sorted(map(str, walk(session.runtime_dir)))
    assert not session.processes_left, session.processes_left
    # while it ran, its secrets (token, cookie secret, kernel keys) were private
    secret = [e for e in session.runtime_entries if e.is_file and holds_a_secret(session, e)]
    problems = mode_problems(
        session.runtime_entries,
        lambda e: holds_a_secret(session, e),
        stop_at=session.runtime_dir.parent,
    )
    assert len(secret) >= 3, "no server info, cookie secret or kernel connection file seen"
    assert not problems, problems


def holds_a_secret(session: Session, entry: Entry) -> bool:
    """Server info (the token), the cookie secret, kernel connection files (their keys)."""
    name = entry.path.name
    return (
        name == "jupyter_cookie_secret"
        or (name.startswith("kernel-") and name.endswith(".json"))
        or entry.path in session.runtime_token_files
    )


def test_data_files_are_private(session: Session, figures: Figures) -> None:
    data = [e for e in session.entries if e.is_file and is_data(session, e)]
    problems = mode_problems(session.entries, lambda e: e in data, stop_at=session.box.root)
    figures.record(CASE, "files the session left", sum(e.is_file for e in session.entries))
    figures.record(CASE, "data files checked", len(data))
    figures.record(CASE, "mode violations", len(problems), must_be_zero=True)
    assert {session.workbook, session.notebook} <= {e.path for e in data}
    assert not problems, "\n".join(problems)


def test_no_ipython_history(session: Session, figures: Figures) -> None:
    found = history_files(session.entries) + history_files(session.runtime_entries)
    rows = {str(p): history_rows(p) for p in found if p.suffix == ".sqlite" and p.exists()}
    figures.record(
        CASE, "IPython history files", len(found), must_be_zero=True, note=f"rows: {rows}"
    )
    assert not found, rows


def test_no_workbook_content_in_logs_or_state(session: Session, figures: Figures) -> None:
    needles = session.content_needles()
    hits = (
        find_needles(state_files(session), needles)
        + session.runtime_hits
        + find_needles(captured_output(session), needles)
    )
    runtime_files = sum(e.is_file for e in session.runtime_entries)
    scanned = len(state_files(session)) + runtime_files + len(captured_output(session))
    figures.record(
        CASE,
        "files scanned",
        scanned,
        note=f"{len(state_files(session))} left outside the work folder, {runtime_files} in "
        f"the lab's private folder while it ran, {len(captured_output(session))} outputs",
    )
    figures.record(
        CASE,
        "content found in logs/state",
        len(hits),
        must_be_zero=True,
        note=f"searched for the canary, {len(session.demo_texts)} demo texts, the workbook id",
    )
    assert not hits, "\n".join(map(str, hits))


def test_jupyter_keeps_no_client_file_names(session: Session, figures: Figures) -> None:
    """JupyterLab's workspaces, npm's and IPython's files must not name the client's files."""
    hits = find_needles(state_files(session), session.name_needles())
    workspaces = [
        e.path for e in session.entries if e.is_file and "workspaces" in e.path.parent.parts
    ]
    figures.record(CASE, "client file names left in Jupyter state", len(hits), must_be_zero=True)
    assert not workspaces, workspaces
    assert not hits, "\n".join(map(str, hits))


def test_nothing_of_the_session_outside_the_sandbox(session: Session, figures: Figures) -> None:
    figures.record(
        CASE,
        "files outside the sandbox with session content",
        len(session.outside_hits),
        must_be_zero=True,
        note=f"{len(session.outside_changed)} new or changed files outside searched",
    )
    assert not session.outside_hits, "\n".join(map(str, session.outside_hits))


def test_the_clients_notebook_keeps_no_widget_state_or_text(
    session: Session, figures: Figures
) -> None:
    """Saved in the lab after Run All and a save: outputs are widget views, nothing more."""
    nb = nbformat.read(session.notebook, as_version=4)
    widget_state = bool(nb.metadata.get("widgets")) + sum(
        bool(c.metadata.get("widgets")) for c in nb.cells
    )
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    kinds = sorted({kind for o in outputs for kind in o.get("data", {o.output_type: None})})
    copies = [session.notebook, *session.notebook.parent.glob(".ipynb_checkpoints/*.ipynb")]
    hits = find_needles(copies, session.content_needles())
    figures.record(
        CASE,
        "client's notebook: widget state or workbook content",
        widget_state + len(hits),
        must_be_zero=True,
        note=f"saved with {len(outputs)} output(s): {', '.join(kinds) or 'none'}",
    )
    assert session.notebook_saved, "Ctrl+S in the lab did not save the notebook"
    assert not widget_state, nb.metadata.get("widgets")
    assert not hits, "\n".join(map(str, hits))


def test_notebooks_in_git_carry_no_outputs_or_widget_state(figures: Figures) -> None:
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "*.ipynb"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.split()
    problems = {name: notebook_problems(REPO / name) for name in listed}
    bad = {name: p for name, p in problems.items() if p}
    figures.record(
        CASE,
        "git notebooks with outputs or widget state",
        len(bad),
        must_be_zero=True,
        note=f"of {len(listed)} notebooks",
    )
    assert listed, "git lists no notebooks"
    assert not bad, json.dumps(bad, indent=1)
