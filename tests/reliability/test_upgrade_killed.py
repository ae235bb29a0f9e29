"""Migrations (issue 6, case 4): an upgrade killed at any step loses nothing; an older
package refuses a newer workbook.

The promise: whichever moment a process upgrading a workbook is killed, the file is
afterwards either fully at its old version or fully at a newer one (every row as it was,
SQLite's integrity check clean), and the package opens it again and finishes the upgrade
with every row still there. A workbook being created (version 0) is, after a kill, either
not there at all or a whole new workbook: never a half-made file that blocks the name. A
release that knows fewer formats refuses a newer workbook, in one line, changing nothing.

How it is checked, for every old version (0 up to the newest minus one, taken from
``MIGRATIONS``, so a new migration is covered without touching this file):

* the starting workbooks: at version 0, none (``Workbook.create`` runs every migration);
  at version 1, the committed fixture; and at every old version, a big workbook written by
  the package as that release (``MIGRATIONS`` cut to that version), whose last session was
  killed with its WAL not yet checkpointed, and a copy of it made with ``VACUUM INTO`` (a
  common backup), which is in rollback-journal mode: the package switches it to WAL when it
  opens it, so kills land during that switch too;
* a child process (forked from a warm server, see ``upgrades.py``) upgrades a copy with the
  real package and is SIGKILLed before its k-th SQL statement, for every k that an
  uninterrupted upgrade runs, then once after ``open`` returned (before ``close``), then at
  random moments within the time an uninterrupted upgrade takes;
* after each kill the file is compared, row for row, with what uninterrupted upgrades to
  each version make; then the package opens it again and the result must equal the
  uninterrupted upgrade to the newest version, in WAL mode, owner-only.

The older package is this package with ``MIGRATIONS`` (and so ``SCHEMA_VERSION``) cut
short in every module that holds them, in a process of its own, through the command line.
The git history holds no release with fewer migrations (``schema.py`` has had both since
the first commit), so there is no real older source to run instead.
"""

from __future__ import annotations

import hashlib
import random
import shutil
import sqlite3
import statistics
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from figures import Figures, Scale
from support import StepClock, episode_data, one_of_each_kind
from upgrades import (
    NEW_WORKBOOK_ID,
    Killer,
    Run,
    State,
    copy_workbook,
    fixed_clock,
    integrity,
    journal_mode,
    package_at,
    run_older,
    state,
)

from heron_research.errors import HeronError
from heron_research.records import EmotionEpisode, validate_record
from heron_research.workbook import SCHEMA_VERSION, Workbook
from heron_research.workbook.portable import write_export
from heron_research.workbook.schema import MIGRATIONS

pytestmark = [pytest.mark.reliability, pytest.mark.processes]

SCALE = Scale.from_env()
TIMEOUT = SCALE.pick(test=600, full=3600)
FIXTURE = Path(__file__).parents[1] / "fixtures" / "workbook-v1.heron"
SEED = 20250601

FULLY_OLD = "fully old"
BETWEEN = "fully at a version in between"
FULLY_NEW = "fully new"
HALF_MADE = "half-made"
AFTER_THE_END = "too late: the child had finished"


# --- the starting workbooks ------------------------------------------------------------------


@dataclass(frozen=True)
class Start:
    """A workbook as an older release left it (at version 0: none yet, it is being created)."""

    name: str
    short: str  # for the figures: "v1 fixture"
    version: int
    template: Path | None  # copied for every trial; None: Workbook.create makes the file
    #: the file an uninterrupted upgrade makes, for each version from ``version`` on
    expected: dict[int, State]

    @property
    def action(self) -> str:
        return "create" if self.template is None else "open"


def _scratch(folder: Path, name: str) -> Path:
    target = folder / name
    target.mkdir(parents=True)
    return target / "client.heron"


def _copy_of(template: Path, folder: Path) -> Path:
    path = _scratch(folder, "copy")
    copy_workbook(template, path)
    return path


def upgraded_states(template: Path, version: int, folder: Path) -> dict[int, State]:
    """The file ``template`` as it is, and after an uninterrupted upgrade to each version."""
    expected = {}
    for target in range(version, SCHEMA_VERSION + 1):
        path = _scratch(folder, f"to-{target}")
        copy_workbook(template, path)
        if target > version:
            with package_at(target):
                Workbook.open(path).close()
        expected[target] = state(path)
    return expected


def created_states(folder: Path) -> dict[int, State]:
    """A new workbook as each release (1, 2, ...) creates it, with the children's id and clock."""
    expected = {}
    for target in range(1, SCHEMA_VERSION + 1):
        path = _scratch(folder, f"new-{target}")
        with package_at(target):
            Workbook.create(path, workbook_id=NEW_WORKBOOK_ID, clock=fixed_clock).close()
        expected[target] = state(path)
    return expected


def episode(n: int) -> EmotionEpisode:
    when = datetime(2025, 1, 1, 8, 0, tzinfo=UTC) + timedelta(hours=7 * n)
    return validate_record(
        EmotionEpisode,
        episode_data(
            occurred_at=when.isoformat(),
            situation=f"entry {n}: the deadline moved again and nobody asked me",
            notes=f"note {n} " * (n % 7),
        ),
    )


def build_old_workbook(version: int, folder: Path, entries: int, wal_bytes: int) -> Path:
    """A big workbook written by the release at ``version``, its last session killed.

    ``entries`` episodes saved one per transaction (as the forms save), every tenth deleted,
    then edits until about ``wal_bytes`` of them sit in the WAL, not yet checkpointed (the
    package checkpoints every 1,000 pages, about 4 MB): the template is the file and its
    WAL as a power cut would leave them. Also writes ``vacuumed.heron``, a ``VACUUM INTO``
    copy of the finished workbook (rollback-journal mode, no WAL). Returns the template.

    The rows are written by today's save code on the schema cut to ``version``: that is
    how the release wrote them while no migration changes the tables saves write to. If
    one does, write the old rows as that release did (see ``fixtures/make_v1_fixture.py``).
    """
    live, template = folder / "live.heron", folder / "template.heron"
    with package_at(version):
        wb = Workbook.create(live, clock=StepClock())
        try:
            wb.save_many(one_of_each_kind())
            saved = [wb.save(episode(n)).record for n in range(entries)]
            for record in saved[::10]:
                wb.delete(record.id)
            wb._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            wb._db.execute("PRAGMA wal_autocheckpoint = 0")  # from here on, all in the WAL
            wal = Path(f"{live}-wal")
            for n, record in enumerate(saved):
                if wal.stat().st_size >= wal_bytes:
                    break
                wb.save(record.model_copy(update={"notes": f"edited {n}"}))
            copy_workbook(live, template)  # taken while the session is still open
            assert Path(f"{template}-wal").stat().st_size >= min(wal_bytes, 100_000)
        finally:
            wb.close()
    db = sqlite3.connect(live)
    try:
        db.execute(f"VACUUM INTO '{folder / 'vacuumed.heron'}'")
    finally:
        db.close()
    return template


@pytest.fixture(scope="module")
def starts(tmp_path_factory: pytest.TempPathFactory, scale: Scale) -> list[Start]:
    """Every starting point: a new file, and for each old version the workbooks above."""
    folder = tmp_path_factory.mktemp("starts")
    found = [Start("version 0: a new file being created", "new", 0, None, created_states(folder))]
    entries = scale.pick(test=200, full=3000)
    wal_bytes = scale.pick(test=500_000, full=4_000_000)
    for version in range(1, SCHEMA_VERSION):
        if version == 1:
            found.append(
                Start(
                    "version 1: the committed fixture",
                    "v1 fixture",
                    1,
                    FIXTURE,
                    upgraded_states(FIXTURE, 1, folder / "fixture"),
                )
            )
        built = folder / f"v{version}"
        built.mkdir()
        template = build_old_workbook(version, built, entries, wal_bytes)
        vacuumed = built / "vacuumed.heron"
        assert journal_mode(_copy_of(vacuumed, built / "probe")) == "delete"
        found.append(
            Start(
                f"version {version}: {entries} entries, last session's WAL not checkpointed",
                f"v{version} WAL",
                version,
                template,
                upgraded_states(template, version, built / "wal"),
            )
        )
        found.append(
            Start(
                f"version {version}: {entries} entries, rollback journal (a VACUUM INTO copy)",
                f"v{version} rollback",
                version,
                vacuumed,
                upgraded_states(vacuumed, version, built / "delete"),
            )
        )
    return found


@pytest.fixture(scope="module")
def killer() -> Iterator[Killer]:
    with Killer() as server:
        yield server


# --- one kill and what it left -------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    outcome: str  # FULLY_OLD, BETWEEN, FULLY_NEW or HALF_MADE
    integrity: str  # "ok", or SQLite's complaints
    rows_lost: int  # rows of the uninterrupted upgrade missing after the package reopened it
    reopened: str  # "ok", or what was wrong when the package opened the file again
    leftovers: tuple[str, ...]  # files beside the workbook that are not its own
    second_names: int  # of those, other names (hard links) of the workbook file itself
    left_after_reopen: tuple[str, ...]  # of those, what the package's next open left


def classify(start: Start, found: State) -> str:
    for version, expected in start.expected.items():
        if found == expected:
            if version == start.version:
                return FULLY_OLD
            return FULLY_NEW if version == SCHEMA_VERSION else BETWEEN
    return HALF_MADE


def reopen(start: Start, path: Path) -> tuple[str, State | None]:
    """Open the file again with the package (or create it, if a killed create left none)."""
    try:
        if start.template is None and not path.exists():
            Workbook.create(path, workbook_id=NEW_WORKBOOK_ID, clock=fixed_clock).close()
        else:
            with Workbook.open(path) as wb:
                health = wb.check()
            if not health.ok or health.schema_version != SCHEMA_VERSION:
                return f"check: {health.integrity}, format {health.schema_version}", None
    except HeronError as exc:
        return f"refused: {exc}", None
    final = state(path)
    if final != start.expected[SCHEMA_VERSION]:
        return "differs from an uninterrupted upgrade", final
    if (mode := journal_mode(path)) != "wal":
        return f"journal mode {mode}, not wal", final
    if (perms := path.stat().st_mode & 0o777) != 0o600:
        return f"file mode {perms:o}, not 600", final
    return "ok", final


def _beside(path: Path) -> list[Path]:
    """Files in the workbook's folder that are not the workbook or its -wal/-shm."""
    return [p for p in path.parent.iterdir() if not p.name.startswith(path.name)]


def judge(start: Start, path: Path) -> Verdict:
    others = _beside(path)
    leftovers = tuple(sorted(p.name for p in others))
    second_names = sum(path.exists() and p.samefile(path) for p in others)
    if not path.exists():
        outcome = FULLY_OLD if start.template is None else HALF_MADE  # the file vanished
        checked = "ok"
    else:
        checked = integrity(path)
        outcome = classify(start, state(path))
    reopened, final = reopen(start, path)
    newest = start.expected[SCHEMA_VERSION]
    if final is not None:
        lost = newest.rows_missing_from(final)
    else:  # the package cannot open it: everything in it is lost to its owner
        lost = 0 if start.template is None else start.expected[start.version].total_rows()
    after = tuple(sorted(p.name for p in _beside(path)))
    return Verdict(outcome, checked, lost, reopened, leftovers, second_names, after)


def trial(
    killer: Killer,
    start: Start,
    folder: Path,
    *,
    kill_at: int | None = None,
    kill_when_returned: bool = False,
    kill_after: float | None = None,
) -> tuple[Run, Verdict]:
    """Copy the start, run the child (killed as asked), judge the file, clean up."""
    folder.mkdir(parents=True)
    path = folder / "client.heron"
    if start.template is not None:
        copy_workbook(start.template, path)
    try:
        run = killer.run(
            start.action,
            path,
            kill_at=kill_at,
            kill_when_returned=kill_when_returned,
            kill_after=kill_after,
        )
        return run, judge(start, path)
    finally:
        shutil.rmtree(folder)


@dataclass
class Tally:
    """What every kill left, summed over all starts."""

    statement_kills: int = 0
    journal_switch_kills: int = 0
    random_tries: int = 0
    random_kills: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    by_start: dict[str, Counter[str]] = field(default_factory=dict)
    rows_lost: int = 0
    problems: list[str] = field(default_factory=list)  # half-made, damaged, not reopened
    integrity_failures: int = 0
    reopen_failures: int = 0
    leftovers: int = 0
    second_names: int = 0
    left_after_reopen: int = 0

    def add(self, start: Start, moment: str, run: Run, verdict: Verdict) -> None:
        where = f"{start.name}, killed {moment}"
        if run.error is not None:
            self.problems.append(f"{where}: the child failed: {run.error}")
        self.outcomes[verdict.outcome] += 1
        self.by_start.setdefault(start.short, Counter())[verdict.outcome] += 1
        self.rows_lost += verdict.rows_lost
        if not run.killed and moment != AFTER_THE_END:
            self.problems.append(f"{where}: the child was not killed")
        if verdict.leftovers and start.template is None:
            self.leftovers += 1  # a killed create's temporary file, beside the name
            self.second_names += verdict.second_names
        elif verdict.leftovers:
            self.problems.append(f"{where}: files left beside the workbook {verdict.leftovers}")
        if verdict.left_after_reopen:
            self.left_after_reopen += 1
            self.problems.append(
                f"{where}: still beside it after reopening: {verdict.left_after_reopen}"
            )
        if verdict.outcome == HALF_MADE:
            self.problems.append(f"{where}: half-made file")
        if verdict.integrity != "ok":
            self.integrity_failures += 1
            self.problems.append(f"{where}: integrity check: {verdict.integrity}")
        if verdict.reopened != "ok":
            self.reopen_failures += 1
            self.problems.append(f"{where}: reopened: {verdict.reopened}")
        if verdict.rows_lost:
            self.problems.append(f"{where}: {verdict.rows_lost} rows lost")


def whole_runs(killer: Killer, start: Start, folder: Path, times: int) -> list[Run]:
    """Uninterrupted upgrades of ``start``: each must end fully new."""
    runs = []
    for n in range(times):
        run, verdict = trial(killer, start, folder / f"whole-{n}")
        assert not run.killed and run.error is None, run
        assert verdict.outcome == FULLY_NEW and verdict.reopened == "ok", verdict
        runs.append(run)
    return runs


# --- the tests ------------------------------------------------------------------------------


@pytest.mark.timeout(TIMEOUT)
def test_the_children_see_every_step_of_every_upgrade(
    starts: list[Start], killer: Killer, tmp_path: Path
) -> None:
    """The trace counts real steps: every migration statement of every upgrade is among them,
    in its own transaction, and a rollback-journal file is switched to WAL."""
    assert [s.version for s in starts][:1] == [0]
    assert {s.version for s in starts} == set(range(SCHEMA_VERSION))
    for n, start in enumerate(starts):
        (run,) = whole_runs(killer, start, tmp_path / f"start-{n}", 1)
        seen = list(run.statements)  # whitespace collapsed, cut at 160 characters
        for migration in MIGRATIONS[start.version :]:
            for statement in migration.statements:
                assert " ".join(statement.split())[:160] in seen, (start.name, statement)
            assert f"PRAGMA user_version = {migration.version}" in seen, start.name
        begun = seen.count("BEGIN IMMEDIATE")
        assert begun >= len(MIGRATIONS) and seen.count("COMMIT") == begun, (start.name, seen)
        switches = seen.count("PRAGMA journal_mode = WAL")
        rollback = start.short.endswith("rollback")
        assert switches == (1 if start.template is None or rollback else 0), (start.name, seen)


@pytest.mark.timeout(TIMEOUT)
def test_an_upgrade_killed_at_any_step_leaves_the_file_fully_old_or_fully_new(
    starts: list[Start], killer: Killer, tmp_path: Path, scale: Scale, figures: Figures
) -> None:
    rng = random.Random(SEED)
    random_kills = scale.pick(test=3, full=200)  # per starting workbook
    tally = Tally()
    for n, start in enumerate(starts):
        folder = tmp_path / f"start-{n}"
        folder.mkdir()
        runs = whole_runs(killer, start, folder, 2)
        statements = runs[0].statements
        for k, statement in enumerate(statements, start=1):
            run, verdict = trial(killer, start, folder / f"at-{k}", kill_at=k)
            tally.statement_kills += 1
            around = statements[max(k - 2, 0) : k]  # the statements just before and after
            tally.journal_switch_kills += any(s.startswith("PRAGMA journal_mode =") for s in around)
            tally.add(start, f"before statement {k} ({statement[:60]})", run, verdict)
        run, verdict = trial(killer, start, folder / "returned", kill_when_returned=True)
        tally.statement_kills += 1
        tally.add(start, f"after {start.action} returned", run, verdict)
        window = statistics.median(r.seconds for r in runs)
        for i in range(random_kills):
            delay = rng.uniform(0, window)
            run, verdict = trial(killer, start, folder / f"random-{i}", kill_after=delay)
            tally.random_tries += 1
            tally.random_kills += run.killed
            moment = f"after {delay * 1000:.1f} ms" if run.killed else AFTER_THE_END
            tally.add(start, moment, run, verdict)

    versions = sorted({s.version for s in starts})
    figures.record(
        4,
        "old versions covered",
        ", ".join(map(str, versions)),
        note=f"0 = a new file being created; newest is {SCHEMA_VERSION}",
    )
    figures.record(4, "starting workbooks", len(starts), note="; ".join(s.name for s in starts))
    figures.record(4, "kill points (statement-level)", tally.statement_kills)
    figures.record(
        4,
        "kills just before or after a journal-mode switch",
        tally.journal_switch_kills,
        note="statement-level; random-time kills can land inside one",
    )
    figures.record(
        4,
        "random-time kills",
        tally.random_kills,
        note=f"of {tally.random_tries} tries; the rest came after the child had finished",
    )
    for outcome in (FULLY_OLD, BETWEEN, FULLY_NEW):
        figures.record(4, f"outcome: {outcome}", tally.outcomes[outcome])
    figures.record(4, "half-migrated files", tally.outcomes[HALF_MADE], must_be_zero=True)
    figures.record(4, "rows lost", tally.rows_lost, must_be_zero=True)
    figures.record(4, "integrity failures", tally.integrity_failures, must_be_zero=True)
    figures.record(
        4, "files the package could not finish upgrading", tally.reopen_failures, must_be_zero=True
    )
    figures.record(
        4,
        "killed creates that left a temporary file",
        tally.leftovers,
        note="a hidden .NAME.*.creating beside the name, never at it; it holds no entries",
    )
    figures.record(
        4,
        "killed creates that left a second name for the new workbook",
        tally.second_names,
        note="killed between linking the finished file to its name and removing the temporary one",
    )
    figures.record(
        4,
        "leftovers still there after the next open or create",
        tally.left_after_reopen,
        must_be_zero=True,
        note="a writable open or a create of the name sweeps what killed creates left",
    )
    figures.record(
        4,
        "outcomes per starting workbook",
        "; ".join(
            f"{short} {outcomes[FULLY_OLD]}/{outcomes[BETWEEN]}/{outcomes[FULLY_NEW]}"
            for short, outcomes in tally.by_start.items()
        ),
        note="fully old / in between / fully new",
    )
    biggest = max(s.expected[s.version].total_rows() for s in starts if s.template is not None)
    figures.record(4, "rows in the biggest old workbook", biggest)

    assert not tally.problems, "\n".join(tally.problems[:30])
    for name, outcomes in tally.by_start.items():  # the kills landed on both sides
        assert outcomes[FULLY_OLD] and outcomes[FULLY_NEW], (name, outcomes)


# --- an older package -----------------------------------------------------------------------


def files_in(folder: Path) -> dict[str, str]:
    """Each file's SHA-256, except SQLite's index of the WAL (``-shm``) and an empty WAL:
    a read-only connection leaves both behind (reports and the lab open read-only)."""
    found = {}
    for p in sorted(folder.iterdir()):
        if p.name.endswith("-shm") or (p.name.endswith("-wal") and not p.stat().st_size):
            continue
        found[p.name] = hashlib.sha256(p.read_bytes()).hexdigest()
    return found


@pytest.mark.timeout(TIMEOUT)
def test_an_older_package_refuses_a_newer_workbook(tmp_path: Path, figures: Figures) -> None:
    home, out = tmp_path / "current", tmp_path / "out"
    home.mkdir()
    out.mkdir()
    path = home / "client.heron"
    with Workbook.create(path, clock=StepClock()) as wb:
        wb.save_many(one_of_each_kind())
        export = write_export(wb, home / "client.json")
        wb.log_event("exported", export.name)
    before = files_in(home)
    commands: dict[str, list[object]] = {
        "check": ["check", path],
        "export": ["export", path, "--out", out / "client.json"],
        "report": ["report", path, "--out", out / "report.html"],
        "lab": ["lab", path, "--no-browser"],
        "import": ["import", export, out / "imported.heron"],
    }
    tried, refused, problems = 0, 0, []
    for version in range(1, SCHEMA_VERSION):
        # the simulated release is a working one: it reads a workbook of its own format
        own = tmp_path / f"own-{version}" / "client.heron"
        with package_at(version), Workbook.create(own, clock=StepClock()) as wb:
            wb.save_many(one_of_each_kind())
        works = run_older(version, "check", own)
        assert works.returncode == 0, works
        assert f"workbook format {version}," in works.stdout, works.stdout
        assert state(own).user_version == version  # it did not upgrade it either

        for name, args in commands.items():
            done = run_older(version, *args)
            tried += 1
            lines = (done.stdout + done.stderr).strip().splitlines()
            expected = (
                f"comes from workbook format {SCHEMA_VERSION}; upgrade heron-research"
                if name == "import"
                else f"uses workbook format {SCHEMA_VERSION}, but this heron-research "
                f"understands formats up to {version}"
            )
            wrong = []
            if done.returncode != 1:
                wrong.append(f"exit {done.returncode}")
            if len(lines) != 1 or not lines[0].startswith("heron-research: "):
                wrong.append(f"not one line: {lines}")
            elif expected not in lines[0] or Path(str(args[1])).name not in lines[0]:
                wrong.append(f"message: {lines[0]}")
            if files_in(home) != before:
                wrong.append("the workbook folder changed")
            if list(out.iterdir()):
                wrong.append(f"wrote {sorted(p.name for p in out.iterdir())}")
            if wrong:
                problems.append(f"release {version}, {name}: " + "; ".join(wrong))
            else:
                refused += 1

    figures.record(4, "older-package refusals", f"{refused} of {tried}")
    assert not problems, "\n".join(problems)
    assert tried == len(commands) * (SCHEMA_VERSION - 1)
