"""Imports stay light, and every public module's ``__all__`` names things that exist.

``import heron_research`` and ``heron-research --help`` must not load the heavy stack
(pandas, altair, papermill, ipywidgets, nbconvert, JupyterLab...): those are imported where
they are used. Each check runs in a fresh interpreter so this test process's own imports
(pandas via other tests, for instance) cannot hide or fake a result.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys
from types import ModuleType

import pytest

import heron_research
from heron_research.cli import cli

pytestmark = pytest.mark.unit

#: Top-level packages that must not be loaded by a plain import or by ``--help``.
HEAVY = frozenset(
    {
        "pandas",
        "altair",
        "papermill",
        "ipywidgets",
        "nbconvert",
        "jupyterlab",
        # what those bring along, each heavy on its own
        "numpy",
        "pyarrow",
        "vl_convert",
        "IPython",
        "jupyter_server",
        "dask",
        "distributed",
    }
)

_REPORT = """
import json, sys
heavy = {heavy!r}
print("@@" + json.dumps(sorted({{m for m in sys.modules if m.split('.')[0] in heavy}})))
"""


def _heavy_after(code: str) -> list[str]:
    """Heavy modules loaded once ``code`` has run in a fresh interpreter."""
    script = code + _REPORT.format(heavy=sorted(HEAVY))
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    line = [x for x in done.stdout.splitlines() if x.startswith("@@")][-1]
    return json.loads(line[2:])


@pytest.mark.parametrize("module", ["heron_research", "heron_research.cli"])
def test_importing_is_light(module: str) -> None:
    assert _heavy_after(f"import {module}") == []


def _help_args() -> list[list[str]]:
    return [["--help"], ["--version"]] + [[name, "--help"] for name in sorted(cli.commands)]


@pytest.mark.parametrize("args", _help_args(), ids=" ".join)
def test_help_is_light(args: list[str]) -> None:
    """``heron-research ... --help`` through the real entry point (``main``), not a mock."""
    code = (
        "from heron_research.cli import main\n"
        "try:\n"
        f"    main({args!r})\n"
        "except SystemExit as exc:\n"
        "    assert exc.code in (0, None), exc.code\n"
    )
    assert _heavy_after(code) == []


# --- declared public API -------------------------------------------------------------------


def _public_modules() -> list[str]:
    """Every module in the package whose dotted name has no part starting with ``_``."""
    names = ["heron_research"]
    for info in pkgutil.walk_packages(heron_research.__path__, "heron_research."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


PUBLIC_MODULES = _public_modules()


def test_the_walk_finds_the_package() -> None:
    assert {"heron_research.cli", "heron_research.workbook.store"} <= set(PUBLIC_MODULES)


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_every_public_module_declares_all(name: str) -> None:
    module: ModuleType = importlib.import_module(name)
    declared = getattr(module, "__all__", None)
    assert declared is not None, f"{name} has no __all__"
    assert all(isinstance(item, str) for item in declared)
    assert len(set(declared)) == len(declared), f"{name}.__all__ lists a name twice"
    missing = [item for item in declared if not hasattr(module, item)]
    assert missing == [], f"{name}.__all__ names what {name} does not define: {missing}"
