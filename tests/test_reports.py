"""The report notebooks, run for real with papermill through :func:`run_report`.

Both notebooks run on: the demo workbook, an empty workbook, a workbook with one entry
(whose text tries to inject markup), and a workbook whose entries are all private (run for
the practitioner, who must see none of their content). Runs are shared between tests
(module-scoped cache): each costs a kernel start.

The sections expected, their order and their headings come from the registry
(:mod:`heron_research.reports.registry`), never from a list here: the notebooks must call
the sections in the registry's order, the pages must show them in it, and each section must
read what it declares and say its empty-state sentence when it has nothing to show.
"""

from __future__ import annotations

import dataclasses
import html as html_text
import json
import os
import re
import stat
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from importlib import import_module
from pathlib import Path
from typing import Any

import nbformat
import pytest
from support import run_nbval

from heron_research.cli import cli, main
from heron_research.demo import generate_demo
from heron_research.errors import ReportError
from heron_research.principles import current_principles
from heron_research.records import (
    AgendaItem,
    CheckIn,
    ConsentEntry,
    EmotionEpisode,
    Person,
    ProjectionHypothesis,
)
from heron_research.reports import ReportResult, SectionFailedError, run_report
from heron_research.reports import review as review_sections
from heron_research.reports.context import ReportContext
from heron_research.reports.html import Section, check_offline, note
from heron_research.reports.notebooks import notebook_text
from heron_research.reports.registry import (
    REPORT_KINDS,
    WORKBOOK,
    ReportKind,
    SectionSpec,
    sections,
)
from heron_research.reports.runner import default_out, failed_section
from heron_research.resources import notebook_file
from heron_research.workbook import Workbook

ROOT = Path(__file__).resolve().parent.parent
#: the kinds of report made from a workbook (the cohort report's run is in tests/research)
WORKBOOK_KINDS = [k for k in REPORT_KINDS.values() if k.source == WORKBOOK]
NOTEBOOKS = [ROOT / "notebooks" / k.notebook for k in WORKBOOK_KINDS]

XSS_SITUATION = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
#: distinctive text planted in private entries: a practitioner's report must not contain it
PRIVATE = {
    "situation": "PRIVATE-SITUATION-7f3a",
    "alias": "PRIVATE-ALIAS-19c2",
    "reaction": "PRIVATE-REACTION-5e88",
    "agenda": "PRIVATE-AGENDA-a41d",
    "thoughts": "PRIVATE-THOUGHT-0b6e",
}


def expected_headings(kind: ReportKind) -> list[tuple[str, str]]:
    """(id, heading) of each section of a ``kind`` report with the standard title, in the
    registry's order: the cover is headed by the report's title, the others by their own."""
    return [(s.slug, kind.title if s.cover else s.title) for s in sections(kind.name)]


_SECTION = re.compile(r'<section id="([^"]*)" class="report-section"><h([12])>(.*?)</h\2>', re.S)


def headings(page: str) -> list[tuple[str, str]]:
    """(id, heading) of each report section of ``page``, in the order of the page."""
    return [(slug, html_text.unescape(title)) for slug, _, title in _SECTION.findall(page)]


def _consent(at: datetime) -> ConsentEntry:
    return ConsentEntry(
        recorded_at=at,
        principles_version=current_principles().version,
        training=True,
        practitioner_sharing=True,
        research=False,
        sharing="practitioner",
    )


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("books")
    demo = root / "demo.heron"
    generate_demo(demo, seed=7, years=1.0)

    empty = root / "empty.heron"
    Workbook.create(empty).close()

    one = root / "one.heron"
    with Workbook.create(one) as wb:
        wb.save(
            EmotionEpisode(
                occurred_at=datetime(2025, 3, 14, 18, 30, tzinfo=UTC),
                situation=XSS_SITUATION,
                emotions=[{"emotion": "<b>anger</b>", "intensity": 7}],
                self_management=[
                    {"technique": "<i>x</i>", "skill": "control", "intensity_after": 3}
                ],
            )
        )

    private = root / "private.heron"
    with Workbook.create(private) as wb:
        wb.save(_consent(datetime(2025, 1, 2, 9, 0, tzinfo=UTC)))
        person = wb.save(
            Person(alias=PRIVATE["alias"], relationship="manager", sharing="private")
        ).record
        wb.save(
            EmotionEpisode(
                occurred_at=datetime(2025, 3, 14, 18, 30, tzinfo=UTC),
                situation=PRIVATE["situation"],
                thoughts=PRIVATE["thoughts"],
                emotions=[{"emotion": "anger", "intensity": 7}],
                people=[person.id],
                sharing="private",
            )
        )
        wb.save(
            ProjectionHypothesis(
                opened_on=date(2025, 3, 15),
                person_id=person.id,
                reaction=PRIVATE["reaction"],
                echoes="something",
                unprocessed_emotion="grief",
                sharing="private",
            )
        )
        wb.save(
            AgendaItem(
                raised_on=date(2025, 3, 16),
                item_type="request",
                text=PRIVATE["agenda"],
                sharing="private",
            )
        )
        wb.save(
            CheckIn(
                taken_at=datetime(2025, 3, 17, 9, 0, tzinfo=UTC),
                instrument="phq9",
                answers=[1, 1, 1, 1, 1, 1, 1, 1, 2],
                sharing="private",
            )
        )
    return {"demo": demo, "empty": empty, "one": one, "private": private}


Run = Callable[..., ReportResult]


@pytest.fixture(scope="module")
def report(books: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Run:
    """``report(book, kind="review", audience="client", since=None) -> ReportResult``, run
    once each (``since="start"``: the whole programme; None: the report's default period)."""
    cache: dict[tuple[str, str, str, str | None], ReportResult] = {}
    out = tmp_path_factory.mktemp("reports")

    def run(
        book: str, kind: str = "review", audience: str = "client", since: str | None = None
    ) -> ReportResult:
        key = (book, kind, audience, since)
        if key not in cache:
            name = f"{book}-{kind}-{audience}-{since or 'default'}"
            target = out / name / "report.html"  # folder made by the runner
            cache[key] = run_report(
                books[book],
                kind=kind,
                audience=audience,
                since=since,
                out=target,
                keep_notebook=True,
            )
        return cache[key]

    return run


def html(result: ReportResult) -> str:
    return result.path.read_text(encoding="utf-8")


CASES = [
    ("demo", "review", "client"),
    ("demo", "handover", "client"),
    ("empty", "review", "client"),
    ("empty", "handover", "client"),
    ("one", "review", "client"),
    ("one", "handover", "client"),
    ("private", "review", "practitioner"),
    ("private", "handover", "practitioner"),
]


@pytest.mark.parametrize(("book", "kind", "audience"), CASES)
def test_report_runs_and_writes_a_private_offline_page(
    report: Run, book: str, kind: str, audience: str
) -> None:
    result = report(book, kind, audience)

    page = html(result)
    assert page.startswith("<!DOCTYPE html>")
    assert headings(page) == expected_headings(REPORT_KINDS[kind])
    assert page.count("<section") == len(REPORT_KINDS[kind].sections)
    assert check_offline(page) == []
    assert "<script" not in page.lower()
    without_namespaces = re.sub(r'\sxmlns(?::\w+)?="[^"]*"', "", page)
    assert "http://" not in without_namespaces and "https://" not in without_namespaces
    assert stat.S_IMODE(result.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(result.path.parent.stat().st_mode) == 0o700
    assert result.notebook is not None
    assert stat.S_IMODE(result.notebook.stat().st_mode) == 0o600


@pytest.mark.parametrize(("book", "kind", "audience"), CASES)
def test_executed_notebook_has_no_errors_or_warnings(
    report: Run, book: str, kind: str, audience: str
) -> None:
    result = report(book, kind, audience)
    assert result.notebook is not None

    nb = nbformat.read(result.notebook, as_version=4)

    streams = [
        o.get("text", "")
        for cell in nb.cells
        for o in cell.get("outputs", [])
        if o.get("output_type") in ("stream", "error")
    ]
    assert streams == []


def test_cover_states_parameters_version_time_consent_and_fingerprint(report: Run) -> None:
    result = report("demo", since="start")

    page = html(result)
    assert "Peer-review report" in page
    assert "Consent in force" in page
    assert "Consent recorded" in page
    assert "heron-research" in page and "0." in page
    assert result.fingerprint[:12] in page
    assert len(result.fingerprint) == 64
    assert "from the first entry (6 Jan 2025)" in page
    assert "the client: everything in the workbook" in page
    assert result.until == date.today()


def test_a_review_covers_the_time_since_the_last_peer_review_by_default(report: Run) -> None:
    result = report("demo")
    page = html(result)

    # the demo's last review is on 27 Nov 2025 (and plans a follow-up review in January)
    assert "since the last peer review (27 Nov 2025): 28 Nov 2025 to" in page
    assert "Since the last review (27\u00a0Nov\u00a02025)" in page  # at a glance
    # the hand-over is about the whole programme
    assert "from the first entry (6 Jan 2025)" in html(report("demo", "handover"))


def test_demo_review_asks_about_the_march_anger_at_work(report: Run) -> None:
    page = html(report("demo", since="start"))

    assert "Anger at work rose in March 2025" in page
    assert "Continue, change, pause or end?" in page
    assert "<svg" in page  # charts are inline SVG
    assert "Please read:" in page  # the demo's one PHQ-9 item-9 answer above 0


def test_demo_handover_ranks_what_works(report: Run) -> None:
    page = html(report("demo", "handover"))

    assert "What works for me" in page
    assert "Ranked by effect size" in page
    assert "Co-counselling" in page


def test_empty_and_thin_sections_say_so_plainly(report: Run) -> None:
    empty = html(report("empty"))
    one = html(report("one"))

    assert "No emotion episodes were logged in this period." in empty
    assert "No check-ins yet." in empty
    assert "No consent has been recorded." in empty
    assert "1 emotion episode on 1 day" in one
    assert "too few" in one


def test_client_text_is_escaped_not_run(report: Run) -> None:
    page = html(report("one"))

    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page
    assert "<img" not in page.lower()
    assert "&lt;b&gt;anger&lt;/b&gt;" in page


def test_practitioner_sees_no_private_content(report: Run, books: dict[str, Path]) -> None:
    for kind in ("review", "handover"):
        result = report("private", kind, "practitioner")
        assert result.notebook is not None
        executed = result.notebook.read_text(encoding="utf-8")
        page = html(result)
        for text in PRIVATE.values():
            assert text not in page
            assert text not in executed
        assert "Please read:" not in page  # the private check-in's item-9 note is not shown
        assert "Withheld (kept private by the client)" in page
        assert "the practitioner: only entries the client shared" in page

    # control: the same sections do show them to the client
    ctx = review_sections.load(books["private"], audience="client")
    client_view = str(review_sections.daily_life(ctx)) + str(review_sections.agenda(ctx))
    assert PRIVATE["situation"] in client_view or PRIVATE["alias"] in client_view
    assert PRIVATE["agenda"] in client_view


def test_withheld_counts_are_numbers_only(report: Run) -> None:
    result = report("private", "review", "practitioner")
    nb = nbformat.read(result.notebook, as_version=4)  # type: ignore[arg-type]

    summary = next(
        o["data"]["application/vnd.heron-research.report+json"]
        for cell in nb.cells
        for o in cell.get("outputs", [])
        if "application/vnd.heron-research.report+json" in o.get("data", {})
    )
    assert summary["withheld"]["emotion_episode"] == 1
    assert summary["withheld"]["person"] == 1
    assert summary["included"]["emotion_episode"] == 0
    assert summary["included"]["check_in"] == 0
    assert summary["audience"] == "practitioner"


# --- failures and parameters ------------------------------------------------------------


def test_a_failing_section_is_named_and_its_notebook_kept(
    books: dict[str, Path], tmp_path: Path
) -> None:
    notebook = tmp_path / "broken.ipynb"
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                'workbook = ""\nsince = None\nuntil = None\naudience = "client"\ntitle = None',
                metadata={"tags": ["parameters"]},
            ),
            nbformat.v4.new_code_cell("x = 1", metadata={"heron": {"section": "Cover"}}),
            nbformat.v4.new_code_cell(
                "raise ValueError('the chart broke')", metadata={"heron": {"section": "Daily life"}}
            ),
        ],
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
    )
    nbformat.write(nb, notebook)
    out = tmp_path / "out" / "report.html"

    with pytest.raises(SectionFailedError) as caught:
        run_report(books["empty"], out=out, notebook=notebook)

    message = str(caught.value)
    partial = out.with_name("report.partial.ipynb")
    assert isinstance(caught.value, ReportError)
    assert (caught.value.section, caught.value.partial) == ("Daily life", partial)
    assert message == (
        "the 'Daily life' section failed: ValueError: the chart broke; the partial notebook "
        f"is kept at {partial}"
    )
    assert stat.S_IMODE(partial.stat().st_mode) == 0o600
    assert not out.exists()


def test_failed_section_reads_the_cell_metadata() -> None:
    nb = {
        "cells": [
            {"cell_type": "code", "metadata": {"heron": {"section": "Cover"}}, "outputs": []},
            {
                "cell_type": "code",
                "metadata": {"heron": {"section": "Check-ins"}},
                "outputs": [{"output_type": "error", "ename": "KeyError", "evalue": "'score'"}],
            },
        ]
    }

    assert failed_section(nb) == ("Check-ins", "KeyError: 'score'")
    assert failed_section({"cells": []}) == ("an unknown cell", "the notebook stopped")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "weekly"}, "unknown report kind 'weekly'"),
        ({"audience": "research"}, "unknown audience 'research'"),
        ({"since": "14/03/2025"}, "--since must be a date written like 2025-03-01"),
        ({"since": "2025-04-01", "until": "2025-03-01"}, "the period starts (2025-04-01) after"),
        ({"out": "report.pdf"}, "should end in .html"),
    ],
)
def test_bad_parameters_are_refused_before_any_kernel(
    books: dict[str, Path], kwargs: dict[str, str], message: str
) -> None:
    with pytest.raises(ReportError) as caught:
        run_report(books["empty"], **kwargs)  # type: ignore[arg-type]

    assert message in str(caught.value)


def test_default_out_is_beside_the_workbook(tmp_path: Path) -> None:
    book = tmp_path / "client.heron"

    assert default_out(book, "review", date(2025, 3, 31), "client") == (
        tmp_path / "client-review-2025-03-31.html"
    )
    assert default_out(book, "handover", date(2025, 3, 31), "practitioner") == (
        tmp_path / "client-handover-practitioner-2025-03-31.html"
    )
    assert default_out(tmp_path / "study-1", "cohort", date(2025, 3, 31), "research") == (
        tmp_path / "study-1-cohort.html"
    )


# --- the command ------------------------------------------------------------------------


def test_cli_report_makes_one_library_call(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    calls = []

    def fake(workbook: Path, **kwargs: object) -> ReportResult:
        calls.append((workbook, kwargs))
        return ReportResult(
            path=tmp_path / "r.html",
            kind="review",
            audience="practitioner",
            since=date(2025, 1, 1),
            until=date(2025, 3, 31),
            fingerprint="0" * 64,
            notebook=None,
            seconds=1.0,
        )

    monkeypatch.setattr("heron_research.reports.run_report", fake)
    args = ["report", "wb.heron", "--since", "2025-01-01", "--until", "2025-03-31"]
    args += ["--audience", "practitioner", "--kind", "handover", "--out", "r.html"]

    with pytest.raises(SystemExit) as exit_:
        main([*args, "--keep-notebook"])

    assert exit_.value.code == 0
    assert calls == [
        (
            Path("wb.heron"),
            {
                "kind": "handover",
                "since": "2025-01-01",
                "until": "2025-03-31",
                "audience": "practitioner",
                "out": Path("r.html"),
                "keep_notebook": True,
            },
        )
    ]
    assert capsys.readouterr().out == f"{tmp_path / 'r.html'}\n"


def test_cli_report_user_errors_are_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["report", str(tmp_path / "missing.heron")])

    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert err == f"heron-research: {tmp_path / 'missing.heron'}: no such workbook\n"


# --- the notebooks as shipped -----------------------------------------------------------


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_report_notebooks_hold_calls_not_logic(path: Path) -> None:
    nb = json.loads(path.read_text(encoding="utf-8"))

    for cell in nb["cells"]:
        if cell["cell_type"] != "code" or "parameters" in cell["metadata"].get("tags", []):
            continue
        lines = [ln for ln in "".join(cell["source"]).splitlines() if ln.strip()]
        assert len(lines) <= 2, lines
        assert cell["metadata"]["heron"]["section"]
        assert cell.get("outputs") == [] and cell.get("execution_count") is None


def test_report_notebooks_run_under_nbval(tmp_path: Path) -> None:
    """nbval runs the notebooks as committed: ``workbook = ""`` means $HERON_WORKBOOK, and
    without it a small synthetic sample made in a private temporary folder."""
    env = {k: v for k, v in os.environ.items() if k != "HERON_WORKBOOK"}
    done = run_nbval(NOTEBOOKS, tmp_path, env)

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    cells = sum(2 + len(k.sections) for k in WORKBOOK_KINDS)  # parameters, setup, sections
    assert f"{cells} passed" in done.stdout


@pytest.mark.parametrize("app_open", [True, False], ids=["app-open", "closed"])
def test_a_report_reads_one_snapshot_of_the_workbook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, app_open: bool
) -> None:
    """While a practitioner's report reads, the client (another program) saves an episode
    and withdraws practitioner sharing. The report is built wholly from one snapshot,
    never a mix: with the client's app open, from before (one read transaction); with the
    workbook closed (read without leaving files beside it), the change is noticed and the
    report read again, wholly from after."""
    from contextlib import ExitStack

    from heron_research.reports import context

    path = tmp_path / "busy.heron"
    day = datetime(2025, 3, 14, 18, 30, tzinfo=UTC)

    def episode(situation: str) -> EmotionEpisode:
        return EmotionEpisode(
            occurred_at=day,
            situation=situation,
            emotions=[{"emotion": "anger", "intensity": 5}],
            sharing="practitioner",
        )

    with Workbook.create(path) as wb:
        wb.save(_consent(datetime(2025, 1, 2, 9, 0, tzinfo=UTC)))
        wb.save(episode("before"))

    frames = Workbook.frames
    written: list[str] = []

    def frames_while_the_client_saves(self: Workbook, kind: str, **kw: object) -> object:
        if not written:  # before the first kind is read, the client's save commits
            withdrawn = _consent(datetime(2025, 3, 15, 9, 0, tzinfo=UTC)).model_copy(
                update={"practitioner_sharing": False}
            )
            with Workbook.open(path) as client:
                client.save(episode("during"))
                client.save(withdrawn)
            written.append(kind)
        return frames(self, kind, **kw)

    monkeypatch.setattr(Workbook, "frames", frames_while_the_client_saves)
    with ExitStack() as stack:
        if app_open:
            stack.enter_context(Workbook.open(path))
        ctx = context.load(
            path, kind="review", audience="practitioner", since="2025-01-01", until="2025-12-31"
        )

    assert written == ["emotion_episode"], written
    assert ctx.consent.entry is not None
    if app_open:  # from before: sharing in force, the episode then
        assert ctx.consent.entry.practitioner_sharing
        assert list(ctx.frames["emotion_episode"]["situation"]) == ["before"]
    else:  # from after: sharing withdrawn, so nothing shown
        assert not ctx.consent.entry.practitioner_sharing
        assert list(ctx.frames["emotion_episode"]["situation"]) == []
    with Workbook.open(path, readonly=True) as wb:  # the client's saves did land
        assert len(wb.records("emotion_episode")) == 2
        assert not wb.consent().entry.practitioner_sharing


# --- the registries ---------------------------------------------------------------------

ALL_KINDS = list(REPORT_KINDS.values())


@pytest.mark.parametrize("kind", ALL_KINDS, ids=lambda k: k.name)
def test_every_report_kind_declares_all_of_it(kind: ReportKind) -> None:
    declared = sections(kind.name)
    module = import_module(kind.module)

    assert kind.title and kind.about.startswith("# ")
    assert notebook_file(kind.notebook).is_file()
    assert [s.slug for s in declared] == list(kind.sections)
    assert len(set(kind.sections)) == len(kind.sections)
    assert [s.cover for s in declared] == [True] + [False] * (len(declared) - 1)
    assert kind.parameter_names[0] == kind.source and "title" in kind.parameter_names
    assert kind.audiences
    for spec in declared:
        assert spec.kind == kind.name and spec.title
        assert getattr(module, spec.name) is spec, f"{kind.module}.{spec.name}"
        assert spec.name in module.__all__
        assert spec.render.__doc__, f"{spec.slug} has no docstring"
        assert spec.empty is None or spec.empty.endswith("."), spec.slug


def test_the_report_command_offers_every_workbook_report_kind() -> None:
    kind_option = next(p for p in cli.commands["report"].params if p.name == "kind")

    assert list(kind_option.type.choices) == [k.name for k in WORKBOOK_KINDS]  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", ALL_KINDS, ids=lambda k: k.name)
def test_shipped_notebook_is_the_one_the_registry_builds(kind: ReportKind) -> None:
    """The notebook as committed is exactly what the registry builds: change a section, its
    order or a parameter, and ``python -m heron_research.reports.notebooks --write``."""
    shipped = (ROOT / "notebooks" / kind.notebook).read_text(encoding="utf-8")

    assert shipped == notebook_text(kind), (
        f"notebooks/{kind.notebook} is out of date: "
        "run python -m heron_research.reports.notebooks --write"
    )


@pytest.mark.parametrize("kind", ALL_KINDS, ids=lambda k: k.name)
def test_notebook_cells_call_the_sections_in_registry_order(kind: ReportKind) -> None:
    """Read from the committed file, independently of the builder: a parameters cell, the
    setup, then one call per section in the registry's order, named by the section title."""
    nb = json.loads((ROOT / "notebooks" / kind.notebook).read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    alias = kind.module.rsplit(".", 1)[1]

    assert code[0]["metadata"]["tags"] == ["parameters"]
    assert [c["id"] for c in code[1:2]] == ["setup"]
    names = re.findall(r"^(\w+) = ", "".join(code[0]["source"]), re.M)
    assert tuple(names) == kind.parameter_names
    calls = [("".join(c["source"]), c["metadata"]["heron"]["section"]) for c in code[2:]]
    assert calls == [(f"{alias}.{s.name}(report)", s.title) for s in sections(kind.name)]


class _Noting(dict[str, Any]):
    """``ctx.extra`` that notes the keys read."""

    def __init__(self, data: dict[str, Any], read: set[str]) -> None:
        super().__init__(data)
        self.read = read

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)


class _Reading(ReportContext):
    """A report context that notes every frame (and ``extra`` key) a section reads."""

    frames_read: set[str]
    extra_read: set[str]

    def frame(self, table: str) -> Any:
        self.frames_read.add(table)
        return super().frame(table)


def _reading(ctx: ReportContext) -> _Reading:
    copy = _Reading(**{f.name: getattr(ctx, f.name) for f in dataclasses.fields(ctx)})
    copy.frames_read, copy.extra_read = set(), set()
    copy.extra = _Noting(ctx.extra, copy.extra_read)
    return copy


@pytest.fixture(scope="module")
def contexts(books: dict[str, Path]) -> dict[tuple[str, str], ReportContext]:
    """(book, kind) -> the report context a notebook would read, made in this process."""
    return {
        (book, kind.name): import_module(kind.module).load(books[book])
        for book in ("demo", "empty")
        for kind in WORKBOOK_KINDS
    }


WORKBOOK_SECTIONS = [
    pytest.param(kind, spec, id=f"{kind.name}-{spec.slug}")
    for kind in WORKBOOK_KINDS
    for spec in sections(kind.name)
]


@pytest.mark.parametrize(("kind", "spec"), WORKBOOK_SECTIONS)
def test_each_section_reads_what_it_declares(
    contexts: dict[tuple[str, str], ReportContext], kind: ReportKind, spec: SectionSpec[Any]
) -> None:
    """On the demo workbook a section reads exactly the frames and extras it declares; on an
    empty one (where it stops early) no more than those."""
    demo = _reading(contexts[("demo", kind.name)])
    empty = _reading(contexts[("empty", kind.name)])

    shown = spec(demo)
    spec(empty)

    assert isinstance(shown, Section) and shown.slug == spec.slug
    assert (demo.frames_read, demo.extra_read) == (set(spec.needs), set(spec.extra))
    assert empty.frames_read <= set(spec.needs) and empty.extra_read <= set(spec.extra)
    assert set(spec.needs) <= set(demo.frames)  # the loader reads what the sections need


@pytest.mark.parametrize(("kind", "spec"), WORKBOOK_SECTIONS)
def test_a_section_with_nothing_to_show_says_its_empty_state_sentence(
    contexts: dict[tuple[str, str], ReportContext], kind: ReportKind, spec: SectionSpec[Any]
) -> None:
    """Every frame emptied (columns kept): a section that declares an empty-state sentence
    shows just that; the others still render."""
    demo = contexts[("demo", kind.name)]
    nothing = dataclasses.replace(demo, frames={k: v.iloc[:0] for k, v in demo.frames.items()})

    shown = spec(nothing)

    if spec.empty is not None:
        assert str(shown) == str(Section(spec.slug, spec.title, note(spec.empty)))
    else:
        assert shown.slug == spec.slug and str(shown.body)


def test_the_papermill_engine_is_registered_once_by_its_module(report: Run) -> None:
    from papermill.engines import papermill_engines

    from heron_research.reports import engine

    report("demo")
    report("demo", "handover")  # two runs in this process

    assert papermill_engines.get_engine(engine.ENGINE) is engine.PrestartedKernelEngine
    assert not hasattr(import_module("heron_research.reports.runner"), "_register_engine")
    fresh = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, heron_research.reports.runner as r;"
            "print(sorted(m for m in ('papermill', 'pandas') if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert fresh.stdout.strip() == "[]"  # the runner itself stays light
