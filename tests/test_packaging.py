"""The wheel holds what the CLI needs, and works installed in a fresh virtual environment.

Builds the wheel once (``python -m build --wheel``, isolated: the build backend comes from
the package index), checks its contents against this checkout, installs it with its
dependencies into a new venv (no system or editable site-packages) and runs the installed
``heron-research`` from a folder outside the checkout. About a minute, most of it pip.

    python -m pytest -m packaging
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parent.parent

#: checkout folder -> where the wheel puts it (pyproject: tool.hatch...force-include)
MAPPED = {"data": "heron_research/_data", "schema": "heron_research/_schema"}
REQUIRED = (
    "heron_research/_data/vocab/emotions.csv",
    "heron_research/_data/vocab/techniques.csv",
    "heron_research/_data/vocab/interventions.csv",
    "heron_research/_data/principles.md",
    "heron_research/_schema/workbook-export.schema.json",
)


def _files(folder: Path, suffixes: tuple[str, ...] = ()) -> list[Path]:
    """Files under ``folder`` a build would ship (no caches, checkpoints or hidden files)."""
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and not any(
            part.startswith(".") or part == "__pycache__" for part in p.relative_to(folder).parts
        )
        and (not suffixes or p.suffix in suffixes)
    )


def _clean_env(venv: Path | None = None) -> dict[str, str]:
    """This process's environment without anything pointing at the checkout's .venv."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONSAFEPATH"}
        and not k.startswith("COVERAGE_")
    }
    if venv is not None:
        env["PATH"] = os.pathsep.join([str(venv / "bin"), os.defpath])
        env["VIRTUAL_ENV"] = str(venv)
    return env


def _run(
    args: list[str | Path], *, cwd: Path, timeout: float, venv: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=_clean_env(venv),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, (
        f"{' '.join(done.args)} exited {done.returncode}\n"
        f"--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"
    )
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    _ok(
        _run(
            [sys.executable, "-m", "build", "--wheel", "--outdir", out, ROOT],
            cwd=out,
            timeout=300,
        )
    )
    built = sorted(out.glob("heron_research-*.whl"))
    assert len(built) == 1, built
    return built[0]


@pytest.fixture(scope="module")
def wheel_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as zf:
        return set(zf.namelist())


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv (no system site-packages) with the wheel and its dependencies installed."""
    home = tmp_path_factory.mktemp("venv") / "env"
    _ok(_run([sys.executable, "-m", "venv", home], cwd=home.parent, timeout=120))
    python = home / "bin" / "python"
    _ok(
        _run(
            [python, "-m", "pip", "install", "--quiet", "--no-input", wheel],
            cwd=home.parent,
            timeout=480,
            venv=home,
        )
    )
    return home


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A working folder outside the checkout, so nothing is imported from it by accident."""
    assert ROOT not in tmp_path.resolve().parents
    return tmp_path


# --- the wheel's contents ------------------------------------------------------------------


def test_wheel_holds_the_vocabularies_principles_and_schema(wheel_names: set[str]) -> None:
    assert sorted(set(REQUIRED) - wheel_names) == []


def test_wheel_holds_every_data_and_schema_file_unchanged(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        for folder, inside in MAPPED.items():
            for path in _files(ROOT / folder):
                name = f"{inside}/{path.relative_to(ROOT / folder).as_posix()}"
                assert zf.read(name) == path.read_bytes(), f"{name} differs from {path}"


def test_wheel_holds_the_checkouts_notebooks(wheel_names: set[str]) -> None:
    shipped = {
        f"heron_research/_notebooks/{p.relative_to(ROOT / 'notebooks').as_posix()}"
        for p in _files(ROOT / "notebooks", (".ipynb", ".md"))
    }
    assert shipped, "notebooks/ holds no .ipynb or .md file"
    assert sorted(shipped - wheel_names) == []


#: The lab's JupyterLab extension as built in the checkout, and where the wheel installs it.
LABEXTENSION = ROOT / "heron_research" / "labextension" / "heron-research-autorun"
LABEXTENSION_SHARE = "data/share/jupyter/labextensions/heron-research-autorun"


def test_wheel_holds_the_built_lab_extension_for_jupyter(wheel: Path) -> None:
    """Where Jupyter finds extensions (``share/jupyter/labextensions``): a fresh machine needs
    no Node. Also in the package, where ``heron-research lab`` names it."""
    built = _files(LABEXTENSION)
    assert {p.name for p in built} >= {"package.json"}
    load = json.loads((LABEXTENSION / "package.json").read_text())["jupyterlab"]["_build"]["load"]
    assert LABEXTENSION / load in built
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        [data] = {n.split("/")[0] for n in names if n.split("/")[0].endswith(".data")}
        for path in built:
            rel = path.relative_to(LABEXTENSION).as_posix()
            shared = f"{data}/{LABEXTENSION_SHARE}/{rel}"
            assert zf.read(shared) == path.read_bytes(), f"{shared} differs from {path}"
            packaged = path.relative_to(ROOT).as_posix()
            assert zf.read(packaged) == path.read_bytes(), f"{packaged} differs from {path}"
    unbuilt = [n for n in names if "node_modules" in n or n.endswith((".ts", "tsconfig.json"))]
    assert unbuilt == []


def test_wheel_holds_every_module(wheel_names: set[str]) -> None:
    modules = {p.relative_to(ROOT).as_posix() for p in _files(ROOT / "heron_research", (".py",))}
    assert sorted(modules - wheel_names) == []


def test_wheel_holds_no_tests_caches_or_checkout_files(wheel_names: set[str]) -> None:
    unwanted = [
        name
        for name in wheel_names
        if name.split("/")[0] in {"tests", "benchmarks", "data", "schema", "notebooks", ".ci"}
        or "/tests/" in name
        or "__pycache__" in name
        or name.endswith((".pyc", ".heron"))
    ]
    assert unwanted == []


def test_wheel_declares_the_command(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        [entry_points] = [n for n in zf.namelist() if n.endswith(".dist-info/entry_points.txt")]
        text = zf.read(entry_points).decode()
    assert re.search(r"^heron-research\s*=\s*heron_research\.cli:main$", text, re.MULTILINE)


# --- installed in a fresh venv -----------------------------------------------------------


def test_installed_package_comes_from_the_venv(venv: Path, outside: Path) -> None:
    code = (
        "import heron_research, sys\n"
        "from heron_research.resources import data_file, notebook_file, schema_file\n"
        "from heron_research.vocab import emotions\n"
        "print(heron_research.__file__)\n"
        "print(data_file('vocab', 'emotions.csv'))\n"
        "print(schema_file('workbook-export.schema.json'))\n"
        "print(notebook_file('README.md'))\n"
        "print(len(emotions()))\n"
        "print(sys.prefix)\n"
    )
    out = _ok(_run([venv / "bin" / "python", "-c", code], cwd=outside, timeout=120, venv=venv))
    package, data, schema, notebook, n_emotions, prefix = out.splitlines()
    site = Path(
        sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)})
    ).resolve()
    assert Path(package).resolve() == site / "heron_research" / "__init__.py"
    assert Path(data).resolve() == site / "heron_research" / "_data" / "vocab" / "emotions.csv"
    assert Path(schema).resolve().parent == site / "heron_research" / "_schema"
    assert Path(notebook).resolve().parent == site / "heron_research" / "_notebooks"
    assert int(n_emotions) > 0
    assert Path(prefix).resolve() == venv.resolve()
    assert str(ROOT) not in out


def test_installed_jupyterlab_has_the_lab_extension(venv: Path, outside: Path) -> None:
    installed = venv / LABEXTENSION_SHARE.removeprefix("data/") / "package.json"
    assert installed.read_bytes() == (LABEXTENSION / "package.json").read_bytes()
    done = _run(
        [venv / "bin" / "jupyter", "labextension", "list"], cwd=outside, timeout=120, venv=venv
    )
    said = _ok(done) + done.stderr
    [line] = [ln for ln in said.splitlines() if "heron-research-autorun" in ln]
    assert "enabled" in line and "OK" in line, said


def test_installed_command_shows_help(venv: Path, outside: Path) -> None:
    out = _ok(
        _run([venv / "bin" / "heron-research", "--help"], cwd=outside, timeout=120, venv=venv)
    )
    assert out.startswith("Usage: heron-research")
    for command in ("new", "demo", "export", "import", "check"):
        assert re.search(rf"^\s+{command}\s", out, re.MULTILINE), command


def test_installed_demo_makes_a_healthy_workbook(venv: Path, outside: Path) -> None:
    said = _ok(
        _run(
            [venv / "bin" / "heron-research", "demo", "--out", "demo"],
            cwd=outside,
            timeout=300,
            venv=venv,
        )
    )
    assert "demo.heron" in said, f"the demo's summary does not name its workbook:\n{said}"
    made = outside / "demo" / "demo.heron"
    assert made.is_file()
    # the report runs from the packaged notebook, in the installed package's kernel
    report = outside / "demo" / "demo-review-2026-01-04.html"
    assert f"Peer-review report: {Path('demo') / report.name}" in said, said
    assert report.is_file() and "<svg" in report.read_text(encoding="utf-8")
    out = _ok(
        _run(
            [venv / "bin" / "heron-research", "check", "demo/demo.heron"],
            cwd=outside,
            timeout=120,
            venv=venv,
        )
    )
    assert "healthy" in out.splitlines()[0]
    assert "file mode 600" in out
    episodes = re.search(r"^\s+emotion episodes\s+(\d+)$", out, re.MULTILINE)
    assert episodes is not None, out
    assert int(episodes.group(1)) > 0
