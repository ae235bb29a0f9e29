"""Test tiers: which tests are fast, and a guard that keeps the fast tier fast.

A test is **slow** when it starts something outside plain Python in this process: another
process (``processes``), a Jupyter kernel (``kernel``: papermill, nbval, the reports), a
JupyterLab server (``lab``), a Dask cluster (``dask``); or when it belongs to the browser,
packaging or reliability tier. Every other test is **fast**. ``make test-fast`` runs
``pytest -m "not slow"``; ``make test`` runs them all.

Nobody has to remember the marker. At collection (:func:`classify`) a test gets the markers
that apply to it, and ``slow`` with them, from

1. the markers it already carries (``pytestmark``, decorators, a folder's conftest);
2. its folder under ``tests/`` (:data:`FOLDER_MARKERS`);
3. the names its code uses (:data:`STARTERS`), read from the compiled test function, every
   fixture it requests and every helper they call that is defined under ``tests/``
   (``support.run_nbval``, a module's ``Holder`` class, the ``scheduler`` fixture...).

The rest are marked ``fast``. What the names cannot show (a CLI command that writes a report
runs a kernel three calls down) is caught at run time: while a ``fast`` test runs (setup,
call and teardown), :class:`Guard` refuses to start a process, a kernel or a Dask cluster
and fails the test with a message naming the marker to add. The guard is active only for
tests classified fast, so it never fires in a correctly classified suite, whether the fast
tier runs alone or with everything else.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.abc
import importlib.machinery
import inspect
import multiprocessing.process
import sys
import threading
import types
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "FOLDER_MARKERS",
    "GUARD",
    "SLOW_MARKERS",
    "STARTERS",
    "Guard",
    "SlowInFastTierError",
    "TierPlugin",
    "classify",
    "names_used",
    "suite_roots",
    "tier_markers",
]

#: Markers that put a test in the slow tier (each implies ``slow``).
SLOW_MARKERS = ("processes", "kernel", "lab", "dask", "browser", "packaging", "reliability")

#: A test in one of these folders of ``tests/`` gets the marker.
FOLDER_MARKERS = {"browser": "browser", "reliability": "reliability"}

#: Names whose use in a test, its fixtures or its helpers means it starts something.
#: Attribute and imported names count too (``subprocess.run``, ``import multiprocessing``,
#: ``manager.start_kernel``), so the list is short and errs towards slow.
STARTERS: dict[str, frozenset[str]] = {
    "processes": frozenset(
        {
            "subprocess",
            "Popen",
            "multiprocessing",
            "ProcessPoolExecutor",
            "fork",
            "forkpty",
            "posix_spawn",
            "posix_spawnp",
        }
    ),
    "kernel": frozenset(
        {
            "run_nbval",
            "run_report",
            "run_reports",
            "run_cohort_report",
            "ReusedKernel",
            "execute_notebook",
            "start_kernel",
            "KernelManager",
            "AsyncKernelManager",
        }
    ),
    "lab": frozenset({"start_lab"}),
    "dask": frozenset({"run_batch", "dask_client", "LocalCluster", "SpecCluster"}),
}

# --- reading what a test uses ------------------------------------------------------------------


def _code_of(obj: Any) -> list[tuple[types.CodeType, dict[str, Any]]]:
    """The code objects (with their globals) of a function, or of every method of a class."""
    obj = inspect.unwrap(obj) if callable(obj) else obj
    if isinstance(obj, types.FunctionType):
        return [(obj.__code__, obj.__globals__)]
    if isinstance(obj, type):
        found: list[tuple[types.CodeType, dict[str, Any]]] = []
        for member in vars(obj).values():
            if isinstance(member, (staticmethod, classmethod)):
                member = member.__func__
            elif isinstance(member, property):
                member = member.fget
            if isinstance(member, types.FunctionType):
                found.append((member.__code__, member.__globals__))
        return found
    return []


def _defined_under(obj: Any, roots: Sequence[Path]) -> bool:
    """Whether ``obj`` (a function or class) is defined in a file under one of ``roots``."""
    module = sys.modules.get(getattr(obj, "__module__", None) or "")
    filename = getattr(module, "__file__", None)
    return bool(filename) and _under(filename, tuple(roots))


@functools.cache
def _under(filename: str, roots: tuple[Path, ...]) -> bool:
    path = Path(filename).resolve()
    return any(path.is_relative_to(root) for root in roots)


def names_used(objects: Sequence[Any], roots: Sequence[Path]) -> set[str]:
    """Every name the code of ``objects`` uses, following helpers defined under ``roots``.

    A name is a global, an attribute or an imported module (``co_names``); nested functions,
    lambdas and comprehensions are read too. A global that is a function or class defined
    under ``roots`` (the test suite, not the package or its dependencies) is read in turn.
    """
    names: set[str] = set()
    seen: set[int] = set()
    stack = [pair for obj in objects for pair in _code_of(obj)]
    while stack:
        code, namespace = stack.pop()
        if id(code) in seen:
            continue
        seen.add(id(code))
        for name in code.co_names:
            names.add(name)
            target = namespace.get(name)
            if isinstance(target, (types.FunctionType, type)) and _defined_under(target, roots):
                stack.extend(_code_of(target))
        stack.extend((const, namespace) for const in code.co_consts if inspect.iscode(const))
    return names


def _fixture_functions(item: pytest.Item) -> list[Callable[..., Any]]:
    """The functions of every fixture ``item`` uses (the ones that apply to it)."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return []
    functions = []
    for name in item.fixturenames:  # type: ignore[attr-defined]
        definitions = info.name2fixturedefs.get(name)
        if definitions:
            functions.append(definitions[-1].func)
    return functions


def tier_markers(item: pytest.Item, roots: Sequence[Path]) -> set[str]:
    """The slow-tier markers that apply to ``item`` (empty: it is a fast test)."""
    found = {mark.name for mark in item.iter_markers() if mark.name in SLOW_MARKERS}
    path = Path(str(item.path)).resolve()
    for root in roots:
        if path.is_relative_to(root):
            parts = path.relative_to(root).parts[:-1]
            found.update(FOLDER_MARKERS[part] for part in parts if part in FOLDER_MARKERS)
    function = getattr(item, "function", None)
    if function is not None:
        names = names_used([function, *_fixture_functions(item)], roots)
        found.update(marker for marker, starters in STARTERS.items() if names & starters)
    return found


def suite_roots(config: pytest.Config) -> list[Path]:
    """The folders the suite lives in: ``testpaths``, or the rootdir when there are none."""
    paths = [config.rootpath / p for p in config.getini("testpaths")] or [config.rootpath]
    return [path.resolve() for path in paths]


def classify(items: Sequence[pytest.Item], config: pytest.Config) -> None:
    """Mark every item ``slow`` (with why) or ``fast``."""
    roots = suite_roots(config)
    for item in items:
        if item.get_closest_marker("fast") is not None:
            raise pytest.UsageError(
                f"{item.nodeid}: the fast marker is given by tests/tiers.py, not by hand; "
                "a test is fast when nothing marks it slow"
            )
        markers = tier_markers(item, roots)
        have = {mark.name for mark in item.iter_markers()}
        for name in sorted(markers - have):
            item.add_marker(getattr(pytest.mark, name))
        if not markers and "slow" not in have:
            item.add_marker(pytest.mark.fast)
        elif "slow" not in have:
            item.add_marker(pytest.mark.slow)


# --- the guard ---------------------------------------------------------------------------------


class SlowInFastTierError(BaseException):
    """A fast test started a process, a kernel or a Dask cluster.

    A ``BaseException`` (as pytest's own outcomes are), so ``except Exception`` in the code
    under test does not hide it; the guard also fails the test at report time if it was.
    """


#: (module prefix, marker) for telling what a process is started for, innermost frame first.
_STACK_HINTS = (
    ("distributed", "dask"),
    ("dask", "dask"),
    ("heron_research.lab", "lab"),
    ("jupyter_server", "lab"),
    ("jupyterlab", "lab"),
    ("jupyter_client", "kernel"),
    ("nbclient", "kernel"),
    ("papermill", "kernel"),
    ("nbval", "kernel"),
)

_WHAT = {
    "processes": "a process",
    "kernel": "a Jupyter kernel",
    "lab": "a JupyterLab server",
    "dask": "a Dask cluster",
}


def _marker_from_stack() -> str:
    frame = sys._getframe(1)
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        for prefix, marker in _STACK_HINTS:
            if module == prefix or module.startswith(prefix + "."):
                return marker
        frame = frame.f_back
    return "processes"


@dataclass
class Guard:
    """While :attr:`nodeid` is set (a fast test is running), starting anything is refused.

    Processes are seen through the interpreter's audit events (``subprocess.Popen``,
    ``os.fork``, ``os.posix_spawn``, ``os.system``...) and ``multiprocessing``'s
    ``Process.start`` (its spawn start method forks without an audit event); Dask through
    ``SpecCluster`` (``LocalCluster``) and ``Client``, wrapped when ``distributed`` is
    imported. Kernels and JupyterLab are processes; the stack tells which marker to name.
    """

    nodeid: str | None = None
    violations: dict[str, list[str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _installed: bool = False

    #: audit events that start a process
    EVENTS = frozenset(
        {"subprocess.Popen", "os.fork", "os.forkpty", "os.posix_spawn", "os.system", "os.spawn"}
    )

    def install(self) -> None:
        """Hook into the interpreter once (audit hooks cannot be removed; they check nodeid)."""
        if self._installed:
            return
        self._installed = True
        sys.addaudithook(self._audit)
        start = multiprocessing.process.BaseProcess.start

        def guarded_start(process: Any) -> None:
            self.refuse(_marker_from_stack(), f"multiprocessing {process.name}")
            start(process)

        multiprocessing.process.BaseProcess.start = guarded_start  # type: ignore[method-assign]
        if "distributed" in sys.modules:
            self._wrap_distributed()
        else:
            sys.meta_path.insert(0, _AfterImport("distributed", self._wrap_distributed))

    def _audit(self, event: str, args: tuple[Any, ...]) -> None:
        if self.nodeid is None or event not in self.EVENTS:
            return
        what = event
        if event == "subprocess.Popen" and len(args) > 1:
            command = args[1]
            what = " ".join(map(str, command)) if isinstance(command, (list, tuple)) else command
        self.refuse(_marker_from_stack(), str(what)[:120])

    def _wrap_distributed(self) -> None:
        from distributed import Client
        from distributed.deploy.spec import SpecCluster

        for cls in (SpecCluster, Client):
            cls.__init__ = self._guarded(cls.__init__)  # type: ignore[method-assign]

    def _guarded(self, init: Callable[..., None]) -> Callable[..., None]:
        def guarded_init(obj: Any, *args: Any, **kwargs: Any) -> None:
            self.refuse("dask", type(obj).__name__)
            init(obj, *args, **kwargs)

        return guarded_init

    def refuse(self, marker: str, what: str) -> None:
        """Raise (and remember, for the report) if a fast test is running."""
        nodeid = self.nodeid
        if nodeid is None:
            return
        message = (
            f"{nodeid} is in the fast tier but started {_WHAT[marker]} ({what}). "
            f"Mark it @pytest.mark.{marker} (or pytestmark = pytest.mark.{marker} for the "
            f"module), or name what starts it in STARTERS in tests/tiers.py so tests like "
            f"it are classified without a marker."
        )
        with self._lock:
            self.violations.setdefault(nodeid, []).append(message)
        raise SlowInFastTierError(message)

    @contextlib.contextmanager
    def watching(self, item: pytest.Item) -> Iterator[None]:
        """Guard one phase (setup, call or teardown) of ``item`` if it is a fast test."""
        if item.get_closest_marker("fast") is None:
            yield
            return
        self.nodeid = item.nodeid
        try:
            yield
        finally:
            self.nodeid = None


class _AfterImport(importlib.abc.MetaPathFinder):
    """Call ``then()`` right after the module ``name`` is first imported."""

    def __init__(self, name: str, then: Callable[[], None]) -> None:
        self.name = name
        self.then = then

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        exec_module = loader.exec_module
        then = self.then

        def exec_then_call(module: types.ModuleType) -> None:
            exec_module(module)
            then()

        loader.exec_module = exec_then_call  # type: ignore[method-assign]
        return spec


#: One guard for the interpreter: audit hooks cannot be removed, so there is never a second.
GUARD = Guard()


class TierPlugin:
    """The hooks: classify at collection, guard every phase of a fast test, fail it if it
    started something. ``tests/conftest.py`` registers it in ``pytest_configure``."""

    def __init__(self, guard: Guard = GUARD) -> None:
        self.guard = guard

    def pytest_configure(self, config: pytest.Config) -> None:
        self.guard.install()

    # plain (not trylast): a plugin registered at configure runs before pytest's own hook,
    # which deselects by -m; the folders' markers are applied here, not read from conftests
    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        classify(items, config)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Iterator[None]:
        with self.guard.watching(item):
            return (yield)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Iterator[None]:
        with self.guard.watching(item):
            return (yield)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Iterator[None]:
        with self.guard.watching(item):
            return (yield)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item) -> Iterator[pytest.TestReport]:
        """A fast test that started something fails, even if the code under test caught it."""
        report: pytest.TestReport = yield
        refused = self.guard.violations.pop(item.nodeid, None)
        if refused and not report.failed:
            report.outcome = "failed"
            report.longrepr = f"{SlowInFastTierError.__name__}: " + "\n".join(refused)
        return report
