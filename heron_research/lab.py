"""``heron-research lab``: JupyterLab on the client's notebook for one workbook.

Three steps, each usable on its own (the CLI and the browser tests share them):

1. :func:`prepare_lab` checks the workbook and makes the client's own copy of the
   ``workbook.ipynb`` template next to it (``client.heron`` -> ``client.ipynb``, mode 0600),
   with papermill's injected-parameters cell pointing at the workbook. An existing copy
   is never overwritten: the client may have edited it.
2. :func:`start_lab` starts JupyterLab for that notebook as a child process and returns
   a :class:`LabServer` handle once the server answers with the token and refuses
   without it. The server listens on 127.0.0.1 only, always requires a token (a fresh
   random one, passed in the environment rather than on the world-readable command
   line), gets ``--allow-root`` only when running as root, runs with umask 077, keeps
   its runtime files (connection files, cookie secret, browser-open files) and
   JupyterLab's workspace state (the layout, which names the client's notebook) in a
   private per-session folder removed at stop, does not run npm to look for language
   servers (npm would log the notebook's folder under ``~/.npm``), starts kernels with
   IPython's history database disabled, and never drops kernel output on its way to the
   browser (:mod:`heron_research.lab_kernels`). It opens the notebook in JupyterLab's
   simple single-document interface (``/doc/tree/<notebook>``) with heron-research's
   extension (``labextension/``, built into the package), which runs a notebook marked for it
   (``metadata.heron_research.autorun``) as soon as its kernel is ready; the server
   saves such a notebook without outputs (:mod:`heron_research.lab_contents`).
3. :func:`run_lab` is the CLI: prepare, start, print the address with the token, wait
   until Ctrl-C (or SIGTERM/SIGHUP), then stop the server and its kernels.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from pathlib import Path
from types import FrameType
from typing import IO, Any
from urllib.parse import quote

from heron_research.errors import LabError, WorkbookNotFoundError
from heron_research.workbook.files import private_folder, write_private
from heron_research.workbook.snapshot import read_quietly

__all__ = [
    "DEFAULT_WORKBOOK",
    "LOOPBACK",
    "LabError",
    "LabPlan",
    "LabServer",
    "default_workbook",
    "notebook_for",
    "prepare_lab",
    "run_lab",
    "server_command",
    "start_lab",
]

#: The workbook ``heron-research lab`` opens when none is named (written by ``make demo``).
DEFAULT_WORKBOOK = Path("demo") / "demo.heron"

#: The only address the server listens on.
LOOPBACK = "127.0.0.1"

#: IPython configuration for the lab's kernels: no history database on disk.
_IPYTHON_KERNEL_CONFIG = """\
# Written by heron-research lab: a client's notebook input is not kept in a history file.
c.HistoryManager.enabled = False
c.HistoryManager.hist_file = ":memory:"
"""

#: JupyterLab settings defaults for the lab: nothing fetched from the internet, no prompt
#: asking to (the installation's own overrides.json still wins where it says otherwise).
#: Widget messages go to the kernel's main shell, not to subshells (JupyterLab 4.6's default
#: runs them in another thread, where the forms' workbook connection cannot be used).
_LAB_OVERRIDES: dict[str, dict[str, Any]] = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/apputils-extension:kernels-settings": {"commsOverSubshells": "disabled"},
}

#: Not listed in the lab's file browser (Jupyter's defaults, then the workbook's own files:
#: opening the SQLite file as text and saving it, or deleting its WAL, would lose entries).
_HIDDEN_FILES = (
    "__pycache__",
    "*.pyc",
    "*.pyo",
    ".DS_Store",
    "*~",
    "*.heron",
    "*.heron-wal",
    "*.heron-shm",
    "*.heron-journal",
)

#: Where the lab opens notebooks: JupyterLab's simple single-document interface.
_DOC_TREE = "doc/tree"

#: The folder holding our JupyterLab extension, built from ``labextension/`` into the
#: package (the wheel also installs it into ``share/jupyter/labextensions``; the lab names
#: the package's own copy so it is the one used, in a checkout too).
_LABEXTENSIONS = Path(__file__).resolve().parent / "labextension"

_TEMPLATE = "workbook.ipynb"
_PRACTICE_TEMPLATE = "practitioner.ipynb"  # a practice workbook opens the practitioner's app


# --- 1. the client's notebook -----------------------------------------------------------------


@dataclass(frozen=True)
class LabPlan:
    """What the lab opens: the workbook, the client's notebook for it, and the lab's root."""

    workbook: Path
    notebook: Path
    created: bool

    @property
    def root_dir(self) -> Path:
        """The folder JupyterLab serves (the notebook's folder)."""
        return self.notebook.parent

    @property
    def notebook_path(self) -> str:
        """The notebook's path inside the lab, as used in ``/doc/tree/<path>`` URLs."""
        return self.notebook.relative_to(self.root_dir).as_posix()


def default_workbook(cwd: Path | None = None) -> Path:
    """The workbook ``lab`` opens when none is given: ``demo/demo.heron`` if it exists."""
    candidate = (cwd or Path.cwd()) / DEFAULT_WORKBOOK
    if not candidate.is_file():
        raise WorkbookNotFoundError(
            f"no WORKBOOK given and {DEFAULT_WORKBOOK} does not exist; name one, create one "
            "with `heron-research new PATH`, or run `heron-research demo`",
            candidate,
        )
    return candidate


def notebook_for(workbook: Path, workdir: Path | None = None) -> Path:
    """Where the client's notebook for ``workbook`` lives: ``<workdir>/<stem>.ipynb``."""
    return (workdir or workbook.parent) / f"{workbook.stem}.ipynb"


def prepare_lab(
    workbook: str | os.PathLike[str],
    *,
    workdir: Path | None = None,
    template: Traversable | Path | None = None,
) -> LabPlan:
    """Check ``workbook`` and make sure the client's notebook for it exists.

    The notebook is ``<workdir>/<workbook stem>.ipynb`` (``workdir`` defaults to the
    workbook's folder). If missing it is made from ``template`` (the shipped
    ``workbook.ipynb`` by default) with papermill's parameterisation, ``workbook`` set to
    the workbook's path relative to the notebook (so the folder can be moved), and mode
    0600. An existing notebook is left exactly as it is.

    Raises :class:`~heron_research.errors.WorkbookNotFoundError` for a missing workbook
    and the workbook errors of :meth:`Workbook.open` for a file that is not one.
    """

    path = Path(workbook).expanduser()
    if not path.exists():
        raise WorkbookNotFoundError(
            f"{path}: no such workbook; create it with `heron-research new {path}`", path
        )
    path = path.resolve()
    # a clear error if it is not a workbook; nothing is left beside it
    practice = read_quietly(path, lambda wb: wb.is_practice)

    notebook = notebook_for(path, workdir.resolve() if workdir else None)
    if notebook.exists():
        if not notebook.is_file():
            raise LabError(f"{notebook} is in the way of the workbook's notebook; move it aside")
        return LabPlan(workbook=path, notebook=notebook, created=False)

    source = template or _shipped_template(_PRACTICE_TEMPLATE if practice else _TEMPLATE)
    text = _read_template(source)
    parameters = {"workbook": os.path.relpath(path, notebook.parent)}
    try:
        _write_private(notebook, _parameterised(text, parameters))
    except FileExistsError:  # made meanwhile (another `lab`): theirs stands
        return LabPlan(workbook=path, notebook=notebook, created=False)
    except OSError as exc:
        raise LabError(f"cannot create the notebook {notebook}: {exc.strerror}") from None
    return LabPlan(workbook=path, notebook=notebook, created=True)


def _shipped_template(name: str = _TEMPLATE) -> Traversable:
    from heron_research.resources import notebook_file

    try:
        return notebook_file(name)
    except FileNotFoundError as exc:
        raise LabError(str(exc)) from None


def _read_template(source: Traversable | Path) -> str:
    try:
        return source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LabError(
            f"the notebook template {source} is missing; reinstall heron-research"
        ) from None


def _parameterised(text: str, parameters: dict[str, Any]) -> str:
    """The template notebook with papermill's injected-parameters cell for ``parameters``."""
    import nbformat
    from papermill.parameterize import parameterize_notebook

    nb = nbformat.reads(text, as_version=4)
    untagged = [cell for cell in nb.cells if "tags" not in cell.metadata]
    for cell in untagged:  # papermill expects every cell to have tags (as its loader does)
        cell.metadata["tags"] = []
    had_papermill = "papermill" in nb.metadata
    nb.metadata.setdefault("papermill", {})
    spec = nb.metadata.get("kernelspec", {})
    nb = parameterize_notebook(
        nb,
        parameters,
        comment="Parameters: this notebook's workbook (set by heron-research lab)",
        kernel_name=spec.get("name", "python3"),
        language=spec.get("language", "python"),
        engine_name=None,
    )
    for cell in untagged:
        if not cell.metadata["tags"]:
            del cell.metadata["tags"]
    from heron_research.lab_contents import is_autorun

    if is_autorun(nb):  # the injected parameters cell is code out of sight like the rest
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.metadata.setdefault("jupyter", {})["source_hidden"] = True
                cell.metadata["jupyter"].setdefault("outputs_hidden", False)
    # papermill bookkeeping meant for executed copies, not for a notebook a person edits
    nb.metadata["papermill"].pop("parameters", None)
    if not had_papermill:
        del nb.metadata["papermill"]
    nbformat.validate(nb)
    return nbformat.writes(nb) + "\n"


def _write_private(path: Path, text: str) -> None:
    """Create ``path`` (never replacing a file) with mode 0600 and ``text``, in one step."""
    private_folder(path.parent)
    write_private(path, text, replace=False)


# --- 2. the server ----------------------------------------------------------------------------


def server_command(
    plan: LabPlan,
    *,
    port: int = 0,
    open_browser: bool = False,
    as_root: bool | None = None,
    log_level: str = "INFO",
    ipc: bool = False,
    app_settings_dir: Path | None = None,
    workspaces_dir: Path | None = None,
) -> list[str]:
    """The argv that starts JupyterLab for ``plan`` (no secrets: the token is in the env).

    ``port=0`` lets the system choose a free port. ``--allow-root`` is added only when
    ``as_root`` (by default: when this process runs as root). ``ipc`` makes kernels talk
    to the server over Unix sockets in the (private) runtime folder instead of TCP ports
    that every local user could connect to. ``workspaces_dir`` keeps JupyterLab's
    workspace files (the layout, naming the open notebooks) out of ``~/.jupyter``.
    """
    if as_root is None:
        as_root = hasattr(os, "geteuid") and os.geteuid() == 0
    argv = [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--ServerApp.ip={LOOPBACK}",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={plan.root_dir}",
        f"--ServerApp.open_browser={open_browser}",
        "--ServerApp.allow_remote_access=False",
        "--ServerApp.use_redirect_file=True",
        f"--ServerApp.file_url_prefix=/{_DOC_TREE}",
        f"--ContentsManager.hide_globs={list(_HIDDEN_FILES)!r}",
        "--PasswordIdentityProvider.hashed_password=",
        "--PasswordIdentityProvider.password_required=False",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        # jupyter-lsp's search for language servers runs `npm prefix -g`, whose debug log
        # in ~/.npm/_logs records the working folder (the client's notebook folder)
        "--LanguageServerManager.autodetect=False",
        # kernel output (every widget's comm_open) is never dropped on a busy machine
        "--ServerApp.kernel_manager_class=heron_research.lab_kernels.LosslessKernelManager",
        # the client's app runs when it opens; its outputs are never written to the .ipynb
        # (one folder, as a plain value: a list literal would be read as one odd path)
        f"--LabApp.extra_labextensions_path={_LABEXTENSIONS}",
        "--ContentsManager.pre_save_hook=heron_research.lab_contents.keep_outputs_out",
        f"--ServerApp.log_level={log_level}",
    ]
    if ipc:
        argv.append("--KernelManager.transport=ipc")
    if app_settings_dir is not None:
        argv.append(f"--LabApp.app_settings_dir={app_settings_dir}")
    if workspaces_dir is not None:
        argv.append(f"--LabApp.workspaces_dir={workspaces_dir}")
    if as_root:
        argv.append("--allow-root")
    argv.append(str(plan.notebook))
    return argv


@dataclass
class LabServer:
    """A running JupyterLab started by :func:`start_lab`. Always :meth:`stop` it."""

    plan: LabPlan
    process: subprocess.Popen[bytes]
    token: str
    port: int
    argv: list[str]
    state_dir: Path
    log_file: Path | None = None
    _stopped: bool = field(default=False, repr=False)

    @property
    def url(self) -> str:
        """The server's base URL (no token): ``http://127.0.0.1:<port>/``."""
        return f"http://{LOOPBACK}:{self.port}/"

    def notebook_url(self, notebook: str | None = None, *, with_token: bool = True) -> str:
        """The URL of a notebook in the lab (the client's by default), with the token.

        JupyterLab's simple single-document interface: ``/doc/tree/<notebook>``.
        """
        path = quote(notebook if notebook is not None else self.plan.notebook_path)
        url = f"{self.url}{_DOC_TREE}/{path}"
        return f"{url}?token={self.token}" if with_token else url

    def request(
        self, path: str, *, token: bool = True, method: str = "GET", timeout: float = 10
    ) -> tuple[int, bytes]:
        """An HTTP request to the server (``path`` like ``api/status``): status and body."""
        return _http(
            self.url + path.lstrip("/"),
            token=self.token if token else None,
            method=method,
            timeout=timeout,
        )

    def running(self) -> bool:
        """Whether the server process is still running."""
        return self.process.poll() is None

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the server to exit; its exit code."""
        return self.process.wait(timeout)

    def stop(self, timeout: float = 15) -> None:
        """Stop the server and its kernels, then remove the private runtime folder.

        SIGTERM first (the server shuts its kernels down), then SIGKILL for the server's
        process group and for any kernel still alive. Safe to call more than once.
        """
        if self._stopped:
            return
        self._stopped = True
        try:
            children = _descendants(self.process.pid)
            if self.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(timeout)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(self.process.pid, signal.SIGKILL)
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        self.process.wait(5)
            _kill_leftovers(children, grace=min(timeout, 5))
        finally:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def __enter__(self) -> LabServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_lab(
    plan: LabPlan,
    *,
    port: int | None = None,
    open_browser: bool = False,
    state_parent: Path | None = None,
    log: Path | int | IO[Any] | None = None,
    log_level: str = "INFO",
    timeout: float = 90,
) -> LabServer:
    """Start JupyterLab for ``plan`` and return once it is ready and safe.

    ``port=None`` takes a free port. Server output goes to ``log``: a file path (created
    0600), a file object or ``subprocess.DEVNULL``; ``None`` leaves it on this process's
    stdout/stderr. The private runtime folder (0700) is made under ``state_parent`` (the
    system's temporary folder by default: kernel socket paths must stay short) and
    removed by :meth:`LabServer.stop`.

    Ready means: the server answers ``/api/status`` with the token, and without it sends
    the browser to its login page. Anything else stops the server (and its kernels) and
    raises :class:`LabError`.
    """
    if port is not None:
        _check_port_free(port)
    token = secrets.token_urlsafe(32)
    state_dir = _private_state_dir(state_parent)
    runtime_dir = state_dir / "run"
    try:
        runtime_dir.mkdir(mode=0o700)
        (state_dir / "workspaces").mkdir(mode=0o700)
        _write_ipython_profile(state_dir / "ipython")
        argv = server_command(
            plan,
            port=port or 0,
            open_browser=open_browser,
            log_level=log_level,
            ipc=_ipc_fits(runtime_dir),
            app_settings_dir=_write_app_settings(state_dir / "lab-settings"),
            workspaces_dir=state_dir / "workspaces",
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED_ENV)}
        env.update(
            {
                "JUPYTER_TOKEN": token,
                "JUPYTER_RUNTIME_DIR": str(runtime_dir),
                "IPYTHONDIR": str(state_dir / "ipython"),
                "PYTHONUNBUFFERED": "1",
            }
        )
        log_file = Path(log) if isinstance(log, str | os.PathLike) else None
        with contextlib.ExitStack() as closing:
            out = None if isinstance(log, str | os.PathLike) else log
            if log_file is not None:
                fd = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                out = closing.enter_context(os.fdopen(fd, "ab"))
            process = subprocess.Popen(
                argv,
                env=env,
                cwd=plan.root_dir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT if out is not None else None,
                umask=0o077,
                process_group=0,  # Ctrl-C in the terminal reaches us; we stop the server
                preexec_fn=_die_with_parent(),
            )
    except BaseException:
        shutil.rmtree(state_dir, ignore_errors=True)
        raise

    server = LabServer(
        plan=plan,
        process=process,
        token=token,
        port=port or 0,
        argv=argv,
        state_dir=state_dir,
        log_file=log_file,
    )
    try:
        server.port = _wait_until_ready(server, runtime_dir, timeout)
    except BaseException:
        server.stop()
        raise
    return server


#: Settings a parent environment could use to weaken or redirect the server.
_SCRUBBED_ENV = ("JUPYTER_TOKEN", "JUPYTER_PORT", "JUPYTER_PORT_RETRIES", "JUPYTER_RUNTIME_DIR")


def _private_state_dir(parent: Path | None) -> Path:
    if parent is not None:
        parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = Path(tempfile.mkdtemp(prefix="heron-lab-", dir=parent))  # mode 0700
    os.chmod(path, 0o700)
    return path


#: Unix socket paths are limited (104 bytes on macOS, 108 on Linux, with the final NUL).
_SOCKET_PATH_LIMIT = 103


def _ipc_fits(runtime_dir: Path) -> bool:
    """Whether kernel sockets in ``runtime_dir`` fit the Unix socket path limit."""
    if os.name != "posix":
        return False
    longest = runtime_dir / f"kernel-{'0' * 36}-ipc-5"  # jupyter_client's naming
    return len(os.fsencode(longest)) <= _SOCKET_PATH_LIMIT


def _write_ipython_profile(ipython_dir: Path) -> None:
    profile = ipython_dir / "profile_default"
    profile.mkdir(parents=True, mode=0o700)
    os.chmod(ipython_dir, 0o700)
    for name in ("ipython_kernel_config.py", "ipython_config.py"):
        _write_private(profile / name, _IPYTHON_KERNEL_CONFIG)


def _write_app_settings(target: Path) -> Path:
    """JupyterLab's application settings folder with :data:`_LAB_OVERRIDES` merged in.

    A copy of this installation's folder (page_config.json, overrides.json), so what an
    administrator set there still applies.
    """
    source = Path(os.environ.get("JUPYTERLAB_DIR") or Path(sys.prefix, "share", "jupyter", "lab"))
    source = source / "settings"
    if source.is_dir():
        shutil.copytree(source, target)
    else:
        target.mkdir(mode=0o700)
    path = target / "overrides.json"
    try:
        overrides = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except ValueError:
        overrides = {}
    if not isinstance(overrides, dict):
        overrides = {}
    for plugin, values in _LAB_OVERRIDES.items():
        overrides[plugin] = {**values, **overrides.get(plugin, {})}
    path.write_text(json.dumps(overrides, indent=2), encoding="utf-8")
    return target


def _check_port_free(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            raise LabError(
                f"port {port} on {LOOPBACK} is in use; choose another with --port or leave "
                "--port out to take a free one"
            ) from None


def _die_with_parent() -> Callable[[], None] | None:
    """A pre-exec hook asking Linux to SIGTERM the server if its parent dies."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved before fork
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def hook() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM)

    return hook


def _wait_until_ready(server: LabServer, runtime_dir: Path, timeout: float) -> int:
    """Poll until the server is up; its port. Checks the token is enforced."""
    deadline = time.monotonic() + timeout
    port = 0
    while time.monotonic() < deadline:
        code = server.process.poll()
        if code is not None:
            hint = f"; is port {server.port} in use?" if server.port else ""
            raise LabError(
                f"JupyterLab stopped while starting (exit code {code}{hint}){_tail(server)}"
            )
        if not port:
            port = _port_from_info_file(runtime_dir, server.process.pid)
        if port:
            server.port = port
            with contextlib.suppress(OSError):
                status, _ = server.request("api/status", timeout=5)
                if status == 200:
                    break
        time.sleep(0.1)
    else:
        raise LabError(f"JupyterLab did not start within {timeout:.0f} s{_tail(server)}")
    # Without the token the lab must send the browser to its login page (a redirect,
    # which the server logs quietly, unlike a refused API call).
    status, _ = server.request("lab", token=False, timeout=5)
    if status not in (301, 302, 303, 307, 401, 403):
        raise LabError(
            f"JupyterLab answered a request without the token (HTTP {status}); a Jupyter "
            "configuration file is weakening authentication, so the lab was stopped"
        )
    return port


def _port_from_info_file(runtime_dir: Path, pid: int) -> int:
    info = runtime_dir / f"jpserver-{pid}.json"
    try:
        data = json.loads(info.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return 0
    if data.get("hostname") != LOOPBACK:
        raise LabError(f"JupyterLab is listening on {data.get('hostname')!r}, not {LOOPBACK}")
    return int(data.get("port") or 0)


def _tail(server: LabServer, lines: int = 15) -> str:
    if server.log_file is None:
        return ""
    try:
        text = server.log_file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    last = [line for line in text.splitlines() if line.strip()][-lines:]
    return (":\n" + "\n".join(last)) if last else ""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # report the redirect itself (an HTTPError with its status)


#: No proxy (the server is local), no following of redirects.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def _http(
    url: str, *, token: str | None, method: str = "GET", timeout: float = 10
) -> tuple[int, bytes]:
    """A request to the local server, never through a proxy nor redirected; status, body."""
    headers = {"Authorization": f"token {token}"} if token else {}
    request = urllib.request.Request(url, method=method, headers=headers)
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read()


def _descendants(pid: int) -> list[tuple[int, str]]:
    """Every process below ``pid`` (Linux /proc), as (pid, start time) pairs."""
    parents: dict[int, list[tuple[int, str]]] = {}
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        stat = _proc_stat(int(entry.name))
        if stat is not None:
            ppid, started = stat
            parents.setdefault(ppid, []).append((int(entry.name), started))
    found: list[tuple[int, str]] = []
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child[0])
    return found


def _proc_stat(pid: int) -> tuple[int, str] | None:
    """(parent pid, start time) of a process, from /proc/<pid>/stat."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rfind(")") + 2 :].split()
    return int(fields[1]), fields[19]


def _kill_leftovers(processes: list[tuple[int, str]], grace: float) -> None:
    """SIGTERM, then SIGKILL, the listed processes still alive (same pid and start time)."""

    def alive() -> list[int]:
        out = []
        for pid, started in processes:
            stat = _proc_stat(pid)
            if stat is not None and stat[1] == started:
                out.append(pid)
        return out

    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 2.0)):
        pids = alive()
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and alive():
            time.sleep(0.05)


# --- 3. the command ---------------------------------------------------------------------------


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP (terminal closed) into KeyboardInterrupt while running."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = {}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(ValueError, OSError):  # not in the main thread
            previous[sig] = signal.signal(sig, interrupt)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_lab(
    workbook: str | os.PathLike[str] | None = None,
    *,
    port: int | None = None,
    open_browser: bool = True,
    echo: Callable[[str], Any] = print,
) -> int:
    """``heron-research lab``: open JupyterLab on the client's notebook until Ctrl-C.

    Prints the notebook's address with the token (the way in; keep it to yourself) and
    lets JupyterLab open the browser unless ``open_browser`` is false. Returns the exit
    status: 0 after Ctrl-C, the server's code if it stopped by itself.
    """
    path = Path(workbook) if workbook is not None else default_workbook()
    plan = prepare_lab(path)
    if plan.created:
        echo(f"Made your notebook {plan.notebook} for {plan.workbook.name} (only you can read it).")
    with _stop_on_signals():
        server = start_lab(
            plan, port=port, open_browser=open_browser, log_level="WARN", timeout=120
        )
        try:
            echo(f"JupyterLab is open on {plan.notebook.name} for {plan.workbook}.")
            echo("Your private address (it holds the key; do not share it):")
            echo(f"    {server.notebook_url()}")
            echo("Press Ctrl-C here to stop JupyterLab (save your notebook first).")
            code = server.wait()
            echo(f"JupyterLab stopped (exit code {code}).")
            return code
        except KeyboardInterrupt:
            echo("Stopping JupyterLab...")
            return 0
        finally:
            server.stop()
