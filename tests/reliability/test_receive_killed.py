"""``heron-research receive`` killed with SIGKILL at random points (issue 12).

Promised: a receipt is all or nothing. Checked by running ``receive`` in a process of its
own and killing it after a random wait, from a third of the time an uninterrupted receipt
takes (the process starting up) to a little after it, again and again (12 times per case
here, 200 in the full tier), for both kinds of receipt that write:

* a later bundle into an existing practice workbook (the client's entries replaced
  wholesale): afterwards the workbook's export equals the one before or the one after an
  uninterrupted receipt, and SQLite's integrity check passes;
* a first bundle, making the practice workbook: afterwards there is no workbook at the
  path, or one whose export equals an uninterrupted receipt's (apart from the new
  workbook's own random id and creation time).

Then a receipt run to its end gives the uninterrupted result.
"""

from __future__ import annotations

import json
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from figures import Scale
from support import StepClock, consent_entry, episode_data

from heron_research.exchange.keys import load_identity, new_identity
from heron_research.exchange.share import share
from heron_research.records import EmotionEpisode, Sharing, validate_record
from heron_research.workbook import Workbook
from heron_research.workbook.portable import export_json
from heron_research.workbook.store import remove_workbook_files

pytestmark = [pytest.mark.reliability, pytest.mark.processes]

RECEIVE = "from heron_research.cli import main; import sys; main(sys.argv[1:])"


def _receive(
    bundle: Path, into: Path, key: Path, *, capture: bool = True
) -> subprocess.Popen[bytes]:
    command = ["receive", str(bundle), "--into", str(into), "--identity", str(key)]
    return subprocess.Popen(
        [sys.executable, "-c", RECEIVE, *command],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE if capture else subprocess.DEVNULL,
    )


def _state(path: Path) -> tuple[str, str] | None:
    """(integrity, export with a new workbook's own id and time blanked), or None."""
    if not path.exists():
        return None
    with Workbook.open(path) as wb:
        integrity = wb.check().integrity
        doc = json.loads(export_json(wb))
    doc["workbook"]["id"] = doc["workbook"]["created_at"] = ""
    return integrity, json.dumps(doc, sort_keys=True)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A client workbook, two bundles from it (the second after many changes), keys."""
    from heron_research.demo import generate_demo

    folder = tmp_path_factory.mktemp("receive-killed")
    client, practitioner = folder / "client.key", folder / "practitioner.key"
    new_identity(client)
    new_identity(practitioner)
    workbook = folder / "client.heron"
    generate_demo(workbook, seed=11)
    to = str(load_identity(practitioner).to_public())
    with Workbook.open(workbook, clock=StepClock()) as wb:
        wb.save(consent_entry(wb.now()))
        share(wb, "practitioner", folder / "b1.age", recipient=to, identity=client)
        episodes = wb.records("emotion_episode")
        changed = [s.record.model_copy(update={"sharing": Sharing.PRIVATE}) for s in episodes[::3]]
        added = [validate_record(EmotionEpisode, episode_data(people=[])) for _ in range(200)]
        shared = [a.model_copy(update={"sharing": Sharing.PRACTITIONER}) for a in added]
        wb.save_many([*changed, *shared])
        share(wb, "practitioner", folder / "b2.age", recipient=to, identity=client)
    return {"b1": folder / "b1.age", "b2": folder / "b2.age", "key": practitioner, "folder": folder}


def _finished(bundle: Path, into: Path, key: Path) -> float:
    started = time.monotonic()
    done = _receive(bundle, into, key)
    _, err = done.communicate(timeout=300)
    assert done.returncode == 0, err.decode()
    return time.monotonic() - started


def _kill_loop(
    bundle: Path,
    into: Path,
    key: Path,
    kills: int,
    span: float,
    fresh: Path | None,
    seed: int,
    sides: tuple[object, object] | None = None,
) -> list[tuple[str, str] | None]:
    """``kills`` receipts, each killed at a random point of ``span`` (a finished receipt's
    time). With ``sides`` (the state before, the state after), go on (up to 3x ``kills``)
    until kills have landed on both, moving the kill time towards the side not seen yet:
    on a loaded machine a receipt's time varies several-fold from the one measured."""
    rng = random.Random(seed)
    states: list[tuple[str, str] | None] = []
    factor = 1.0
    for attempt in range(3 * kills if sides else kills):
        if attempt >= kills and sides and all(side in states for side in sides):
            break
        remove_workbook_files(into)
        for partial in into.parent.glob(f".{into.name}.*"):
            partial.unlink()
        if fresh is not None:
            shutil.copyfile(fresh, into)
            into.chmod(0o600)
        running = _receive(bundle, into, key, capture=False)
        time.sleep(span * factor * rng.uniform(0.3, 1.1))  # mostly past the start-up
        running.send_signal(signal.SIGKILL)
        running.wait(timeout=60)
        states.append(_state(into))
        if sides and attempt >= kills - 1:
            if sides[0] not in states:
                factor *= 0.7  # every kill came after the receipt finished: earlier
            elif sides[1] not in states:
                factor *= 1.5  # every kill came before it committed: later
    return states


@pytest.mark.timeout(3600)
def test_receive_killed_at_random_points_is_all_or_nothing(
    setup: dict[str, Path], scale: Scale
) -> None:
    kills = scale.pick(test=12, full=200)
    folder, key = setup["folder"], setup["key"]

    # into an existing practice workbook: bundle 2 after bundle 1
    template = folder / "template.heron"
    remove_workbook_files(template)
    _finished(setup["b1"], template, key)
    before = _state(template)
    done = folder / "done.heron"
    shutil.copyfile(template, done)
    span = _finished(setup["b2"], done, key)
    after = _state(done)
    assert before is not None and after is not None and before != after
    into = folder / "killed.heron"
    states = _kill_loop(
        setup["b2"], into, key, kills, span, template, seed=20261203, sides=(before, after)
    )
    assert all(s is not None and s[0] == "ok" for s in states)
    assert all(s in (before, after) for s in states), "a receipt killed part-way left it half"
    assert before in states and after in states  # kills landed on both sides
    _finished(setup["b2"], into, key)
    assert _state(into) == after

    # the first receipt, making the practice workbook
    first = folder / "first.heron"
    remove_workbook_files(first)
    span = _finished(setup["b1"], first, key)
    made = _state(first)
    new = folder / "new.heron"
    states = _kill_loop(setup["b1"], new, key, kills, span, None, seed=20261204)
    assert all(s in (None, made) for s in states), "a half-made practice workbook was left"
    remove_workbook_files(new)
    _finished(setup["b1"], new, key)
    assert _state(new) == made
