"""The test tiers (``tests/tiers.py``): what is classified slow, and the fast tier's guard.

The guard is tested on a small suite of its own, run by a separate pytest: a test there
that starts a process without saying so must fail with the marker to add.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from tiers import FOLDER_MARKERS, SLOW_MARKERS, STARTERS, names_used

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


def test_every_tier_marker_is_declared(pytestconfig: pytest.Config) -> None:
    declared = {line.split(":", 1)[0].strip() for line in pytestconfig.getini("markers")}
    assert {"fast", "slow", *SLOW_MARKERS} <= declared
    assert set(STARTERS) <= set(SLOW_MARKERS)
    assert set(FOLDER_MARKERS.values()) <= set(SLOW_MARKERS)


def test_every_collected_test_is_fast_or_slow(request: pytest.FixtureRequest) -> None:
    for item in request.session.items:
        tiers = {name for name in ("fast", "slow") if item.get_closest_marker(name)}
        assert len(tiers) == 1, f"{item.nodeid}: {tiers or 'neither fast nor slow'}"
        reasons = {m.name for m in item.iter_markers() if m.name in SLOW_MARKERS}
        assert not (reasons and "fast" in tiers), f"{item.nodeid} is fast but marked {reasons}"


HELPERS = """
import multiprocessing

def start_workers():
    return multiprocessing.get_context("spawn").Pool(2)

class Holder:
    def hold(self):
        return start_workers()
"""

SAMPLE = """
from helpers import Holder

def test_holds():
    Holder().hold()

def test_pure():
    assert sum([1, 2]) == 3
"""


def _load(name: str, path: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module


def test_names_are_followed_into_helpers_of_the_suite_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "helpers.py").write_text(HELPERS, encoding="utf-8")
    (tmp_path / "sample.py").write_text(SAMPLE, encoding="utf-8")
    _load("helpers", tmp_path / "helpers.py", monkeypatch)
    sample = _load("sample", tmp_path / "sample.py", monkeypatch)

    # test -> class -> method -> function -> import multiprocessing, get_context
    used = names_used([sample.test_holds], [tmp_path])  # type: ignore[attr-defined]
    assert {"Holder", "hold", "start_workers", "multiprocessing", "get_context"} <= used
    assert not used & STARTERS["processes"] - {"multiprocessing"}
    assert "multiprocessing" not in names_used([sample.test_pure], [tmp_path])  # type: ignore[attr-defined]
    # helpers outside the suite (the package, dependencies) are not read
    assert "multiprocessing" not in names_used([sample.test_holds], [tmp_path / "elsewhere"])  # type: ignore[attr-defined]


# --- the guard, on a suite of its own ----------------------------------------------------------

CONFTEST = """
from tiers import TierPlugin

def pytest_configure(config):
    config.pluginmanager.register(TierPlugin(), "heron-tiers")
"""

#: outside the inner suite's testpaths: the names here are not read, so only the guard sees
LIB = """
import multiprocessing
import subprocess
import sys

def spawn():
    subprocess.run([sys.executable, "-c", "pass"], check=True)

def spawn_quietly():
    try:
        spawn()
    except BaseException:
        pass

def start_pool():
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        pool.map(abs, [1])

def start_cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, processes=False, dashboard_address=None):
        pass
"""

#: inside the suite: a helper the classification reads
SUITE_HELPER = """
import subprocess
import sys

def run_child():
    subprocess.run([sys.executable, "-c", "pass"], check=True)
"""

INNER_TESTS = """
import subprocess
import sys

import pytest
from hidden import spawn, spawn_quietly, start_cluster, start_pool
from suite_helper import run_child


def test_pure():
    assert sum([1, 2]) == 3


def test_names_subprocess():
    subprocess.run([sys.executable, "-c", "pass"], check=True)


def test_calls_a_suite_helper():
    run_child()


@pytest.fixture
def child():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    yield proc
    proc.wait()


def test_uses_a_fixture_that_starts_a_process(child):
    assert child.pid


def test_hidden_process():
    spawn()


def test_hidden_process_swallowed():
    spawn_quietly()


@pytest.mark.processes
def test_hidden_process_marked():
    spawn()


def test_hidden_multiprocessing():
    start_pool()


def test_hidden_dask():
    start_cluster()
"""


def _inner_suite(root: Path) -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    markers = config["tool"]["pytest"]["ini_options"]["markers"]
    (root / "pytest.ini").write_text(
        "[pytest]\ntestpaths = tests\n"
        f"pythonpath = lib tests {TESTS}\n"
        "addopts = --strict-markers -p no:cacheprovider\n"
        "markers =\n" + "".join(f"    {line}\n" for line in markers),
        encoding="utf-8",
    )
    (root / "lib").mkdir()
    (root / "lib" / "hidden.py").write_text(LIB, encoding="utf-8")
    (root / "tests" / "browser").mkdir(parents=True)
    (root / "tests" / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    (root / "tests" / "suite_helper.py").write_text(SUITE_HELPER, encoding="utf-8")
    (root / "tests" / "test_sample.py").write_text(INNER_TESTS, encoding="utf-8")
    (root / "tests" / "browser" / "test_page.py").write_text(
        "def test_in_the_browser_folder():\n    pass\n", encoding="utf-8"
    )


def _pytest(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-c",
            str(root / "pytest.ini"),
            "--rootdir",
            str(root),
            *args,
        ],
        cwd=root,
        # no plugins from entry points (nbval's imports alone take seconds)
        env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_slow_tests_are_found_and_a_misclassified_one_fails(tmp_path: Path) -> None:
    _inner_suite(tmp_path)

    listed = _pytest(tmp_path, "--collect-only", "-q", "-m", "fast")
    fast = {line.split("::")[1] for line in listed.stdout.splitlines() if "::" in line}
    assert fast == {
        "test_pure",
        "test_hidden_process",
        "test_hidden_process_swallowed",
        "test_hidden_multiprocessing",
        "test_hidden_dask",
    }, listed.stdout + listed.stderr
    listed = _pytest(tmp_path, "--collect-only", "-q", "-m", "browser and slow")
    assert "tests/browser/test_page.py::test_in_the_browser_folder" in listed.stdout

    done = _pytest(tmp_path, "--junitxml", str(tmp_path / "results.xml"))
    cases = ET.parse(tmp_path / "results.xml").getroot().iter("testcase")
    problems = {
        case.get("name"): " ".join(
            (child.get("message") or "") + (child.text or "")
            for child in case
            if child.tag in {"failure", "error"}
        )
        for case in cases
    }
    assert set(problems) == {
        "test_pure",
        "test_names_subprocess",
        "test_calls_a_suite_helper",
        "test_uses_a_fixture_that_starts_a_process",
        "test_hidden_process",
        "test_hidden_process_swallowed",
        "test_hidden_process_marked",
        "test_hidden_multiprocessing",
        "test_hidden_dask",
        "test_in_the_browser_folder",
    }, done.stdout + done.stderr
    failed = {name: text for name, text in problems.items() if text}
    assert set(failed) == {
        "test_hidden_process",
        "test_hidden_process_swallowed",
        "test_hidden_multiprocessing",
        "test_hidden_dask",
    }, done.stdout + done.stderr
    expected = {
        "test_hidden_process": "processes",
        "test_hidden_process_swallowed": "processes",
        "test_hidden_multiprocessing": "processes",
        "test_hidden_dask": "dask",
    }
    for name, marker in expected.items():
        assert "SlowInFastTierError" in failed[name], failed[name]
        assert f"tests/test_sample.py::{name} is in the fast tier" in failed[name]
        assert f"Mark it @pytest.mark.{marker}" in failed[name], failed[name]
    assert done.returncode == 1
