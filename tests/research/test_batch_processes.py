"""The batch's own local cluster leaves no process behind (issue 15, item 5).

``run_batch`` without a scheduler starts a local Dask cluster whose workers are forked from
a server process that imported their modules once (see ``batch._fork_server``). While the
batch runs, those processes are this process's children; when ``run_batch`` returns or
raises, none of them may be left: not a worker, not a nanny's child, not the server.

The standard library's resource tracker (one per process, started by the first use of
``multiprocessing`` of any kind, Dask's default ``spawn`` included; it holds no data and
ends with this process) is the one child allowed to stay.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
from research_helpers import AS_OF, Participant, digests

from heron_research._worker_server import DASK_PRE_SPAWN_ENVIRON
from heron_research.errors import ResearchError
from heron_research.research import BatchProgress, run_batch
from heron_research.research.keys import StudyKey

pytestmark = [pytest.mark.processes, pytest.mark.dask]


def _children() -> dict[int, str]:
    """This process's descendants (pid -> command line), the resource tracker left out."""
    found = {}
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() == psutil.STATUS_ZOMBIE:
                continue
            line = " ".join(child.cmdline())
        except psutil.Error:
            continue  # it ended while we looked
        if "multiprocessing.resource_tracker" not in line:
            found[child.pid] = line
    return found


@pytest.fixture
def inputs(tmp_path: Path, make_participant: Callable[..., Participant]) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(3):
        person = make_participant(f"p{i}")
        person.path.rename(folder / person.path.name)
    return folder


def test_no_process_outlives_a_successful_batch(
    tmp_path: Path, inputs: Path, study_key: StudyKey
) -> None:
    before = _children()
    during: list[dict[int, str]] = []
    environ: list[dict[str, str]] = []

    def look(progress: BatchProgress) -> None:
        if progress.done == 1:
            during.append(_children())
            for pid in set(during[0]) - set(before):
                with contextlib.suppress(psutil.Error):
                    environ.append(psutil.Process(pid).environ())

    report = run_batch(
        [inputs], tmp_path / "ds", key=study_key, workers=2, as_of=AS_OF, on_progress=look
    )
    after = _children()
    assert report.counts["included"] == 3
    started = set(during[0]) - set(before)
    # the server the workers are forked from and the two workers were there...
    assert len(started) >= 3, during[0]
    assert any("forkserver" in during[0][pid] for pid in started), during[0]
    # ...and none of them is left
    assert not set(after) - set(before), after
    # each started with what a Dask nanny sets before it starts a worker
    assert environ and all(env.get("PYTHONHASHSEED") == "6640" for env in environ)
    assert all(env.get("MALLOC_TRIM_THRESHOLD_") for env in environ)


def test_dask_pre_spawn_defaults_are_dask_own() -> None:
    """The server starts before Dask's config is loaded here, with a copy of its defaults:
    the copy must still be Dask's."""
    import dask
    import distributed  # noqa: F401  (its defaults into dask.config)

    defaults = dask.config.get("distributed.nanny.pre-spawn-environ")
    assert {k: v for k, v in defaults.items() if v is not None} == DASK_PRE_SPAWN_ENVIRON


def test_no_process_outlives_a_failed_batch(
    tmp_path: Path, inputs: Path, study_key: StudyKey
) -> None:
    before = _children()
    during: list[dict[int, str]] = []

    def fail(progress: BatchProgress) -> None:
        during.append(_children())
        raise RuntimeError("the caller's progress display broke")

    with pytest.raises(RuntimeError, match="display broke"):
        run_batch([inputs], tmp_path / "ds", key=study_key, workers=2, on_progress=fail)
    after = _children()
    assert len(set(during[0]) - set(before)) >= 3, during[0]
    assert not set(after) - set(before), after
    assert not (tmp_path / "ds").exists()

    # refused before any input is read (the folder is taken): nothing started is left either
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "something").write_text("x")
    with pytest.raises(ResearchError, match="already exists"):
        run_batch([inputs], taken, key=study_key, workers=2)
    assert not set(_children()) - set(before)


def test_forked_workers_give_the_dataset_of_a_threads_cluster(
    tmp_path: Path, inputs: Path, study_key: StudyKey
) -> None:
    """The workers' start changes nothing in the data: the local cluster's dataset is the
    one an in-process (threads) cluster gives, byte for byte."""
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=1,
            processes=False,
            dashboard_address=None,
            scheduler_kwargs={"dashboard": False},
        ) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        run_batch(
            [inputs],
            tmp_path / "threads",
            key=study_key,
            client=client,
            free_text="scrubbed",
            as_of=AS_OF,
        )
    run_batch(
        [inputs], tmp_path / "forked", key=study_key, workers=2, free_text="scrubbed", as_of=AS_OF
    )
    assert digests(tmp_path / "forked") == digests(tmp_path / "threads")


def test_no_process_outlives_the_cli_batch(
    tmp_path: Path, inputs: Path, key_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command starts the workers' server before it imports the batch, and stops it
    when the command ends, whether the batch ran or was refused."""
    from heron_research.cli import main

    before = _children()
    args = ["batch", str(inputs), "--key-file", str(key_file), "--workers", "2"]
    outputs = []
    for out, code in ((tmp_path / "ds", 0), (tmp_path / "ds", 1)):  # the second: not empty
        with pytest.raises(SystemExit) as ended:
            main([*args, "--out", str(out)])
        outputs.append(capsys.readouterr())
        assert ended.value.code == code, outputs[-1]
        assert not set(_children()) - set(before)
    assert "included 3" in outputs[0].out
    assert "already exists" in outputs[1].err


def test_the_server_takes_the_users_dask_environment(tmp_path: Path) -> None:
    """The server is started without Dask's config, with a copy of Dask's defaults; its first
    preloaded module sets the user's ``pre-spawn-environ`` before anything else is imported
    there: a value of the user's config replaces a default, the command's own environment
    wins over both, and a null unsets a default. (Run here as the server runs it: a fresh
    interpreter importing the module with the environment the server starts with.)"""
    import json
    import os
    import subprocess
    import sys

    from heron_research._worker_server import DEFAULTED

    (tmp_path / "dask.yaml").write_text(
        "distributed:\n  nanny:\n    pre-spawn-environ:\n"
        "      OMP_NUM_THREADS: 3\n      MKL_NUM_THREADS: 4\n      OPENBLAS_NUM_THREADS: null\n"
        "      PYTHONHASHSEED: 7\n      HERON_TEST_ONLY: 'yes'\n"
    )
    names = [
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "PYTHONHASHSEED",
        "HERON_TEST_ONLY",
        DEFAULTED,
    ]
    env = {k: v for k, v in os.environ.items() if k not in names and not k.startswith("DASK_")}
    env |= {
        "DASK_CONFIG": str(tmp_path),
        "OMP_NUM_THREADS": "1",  # the three from Dask's defaults...
        "OPENBLAS_NUM_THREADS": "1",
        "PYTHONHASHSEED": "6640",
        DEFAULTED: "OMP_NUM_THREADS,OPENBLAS_NUM_THREADS,PYTHONHASHSEED",
        "MKL_NUM_THREADS": "5",  # ...and the command's own
    }
    code = (
        "import json, os, sys\n"
        "import heron_research._worker_environ\n"
        f"print(json.dumps({{n: os.environ.get(n) for n in {names!r}}}))\n"
        "print(json.dumps(sorted(m for m in ('numpy', 'distributed') if m in sys.modules)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    seen, imported = (json.loads(line) for line in proc.stdout.splitlines())
    assert seen == {
        "OMP_NUM_THREADS": "3",
        "MKL_NUM_THREADS": "5",
        "OPENBLAS_NUM_THREADS": None,
        "PYTHONHASHSEED": "6640",  # read as the interpreter starts: the one it started with
        "HERON_TEST_ONLY": "yes",
        DEFAULTED: None,
    }
    assert imported == []  # set before the libraries that read them


def test_workers_never_import_pandas(tmp_path: Path, inputs: Path, study_key: StudyKey) -> None:
    """pyarrow imports pandas (0.4 s of a worker's start) to ask whether a list is a pandas
    object; the task builds its arrays without asking, and the server does not preload it."""
    from heron_research.research.batch import dask_client

    with dask_client(workers=2) as client:
        report = run_batch([inputs], tmp_path / "ds", key=study_key, client=client, as_of=AS_OF)
        imported = client.run(eval, "'pandas' in __import__('sys').modules")
        seeds = client.run(__import__("os").getenv, "PYTHONHASHSEED")
    assert report.counts["included"] == 3
    assert len(imported) == 2 and not any(imported.values()), imported
    assert set(seeds.values()) == {"6640"}


def test_the_command_ends_at_once_with_everything_written(tmp_path: Path, inputs: Path) -> None:
    """Run as a program, ``heron-research batch`` ends without the interpreter's teardown
    once the dataset is written and the cluster stopped: its output is complete, nothing is
    reported on stderr, and no process it started is left (looked for by a mark in their
    environment, as none of them is this process's child once the command has ended)."""
    import os
    import subprocess
    import sys
    import time
    import uuid

    from research_helpers import key_file_in

    script = Path(sys.executable).with_name("heron-research")
    mark = uuid.uuid4().hex
    env = {**os.environ, "HERON_TEST_MARK": mark}
    key = key_file_in(tmp_path)
    runs = []
    for out in (tmp_path / "ds", tmp_path / "ds"):  # the second: refused, the folder is taken
        runs.append(
            subprocess.run(
                [str(script), "batch", str(inputs), "--out", str(out), "--key-file", str(key)],
                capture_output=True,
                text=True,
                env=env,
                timeout=120,
                check=False,
            )
        )
    done, refused = runs
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].startswith("Dataset: ")
    assert "included 3" in done.stdout and done.stdout.endswith("\n")
    assert "Traceback" not in done.stderr and "leaked" not in done.stderr, done.stderr
    assert (tmp_path / "ds" / "manifest.json").is_file()
    assert refused.returncode == 1 and "already exists" in refused.stderr
    assert "Traceback" not in refused.stderr

    def marked() -> list[int]:
        found = []
        for proc in psutil.process_iter():
            with contextlib.suppress(psutil.Error):
                if proc.environ().get("HERON_TEST_MARK") == mark:
                    found.append(proc.pid)
        return found

    deadline = time.monotonic() + 10  # the resource tracker ends as it sees its pipe close
    while marked() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not marked()


def test_the_server_preloads_only_what_a_worker_needs() -> None:
    """What the server imports (``WORKER_MODULES``, in a fresh interpreter) leaves out
    pandas and the batch's own driver and writer; and every public name of the research
    package (imported on first use) still resolves."""
    import json
    import subprocess
    import sys

    from heron_research._worker_server import WORKER_MODULES

    code = (
        "import importlib, json, sys\n"
        f"for name in {list(WORKER_MODULES)!r}: importlib.import_module(name)\n"
        "left_out = ['pandas', 'heron_research.research.batch', "
        "'heron_research.research.dataset', 'pyarrow.parquet']\n"
        "print(json.dumps([m for m in left_out if m in sys.modules]))\n"
        "import heron_research.research as r\n"
        "print(json.dumps([n for n in r.__all__ if getattr(r, n, None) is None]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    imported, unresolved = (json.loads(line) for line in proc.stdout.splitlines())
    assert imported == [] and unresolved == []
