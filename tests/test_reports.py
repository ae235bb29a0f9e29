"""The report notebooks, run for real with papermill through :func:`run_report`.

Both notebooks run on: the demo workbook, an empty workbook, a workbook with one entry
(whose text tries to inject markup), and a workbook whose entries are all private (run for
the practitioner, who must see none of their content). Runs are shared between tests
(module-scoped cache): each costs a kernel start.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import nbformat
import pytest
from support import run_nbval

from heron_research.cli import main
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
from heron_research.reports.html import check_offline
from heron_research.reports.runner import default_out, failed_section
from heron_research.workbook import Workbook

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = [
    ROOT / "notebooks" / "peer_review_report.ipynb",
    ROOT / "notebooks" / "handover_report.ipynb",
]

XSS_SITUATION = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
#: distinctive text planted in private entries: a practitioner's report must not contain it
PRIVATE = {
    "situation": "PRIVATE-SITUATION-7f3a",
    "alias": "PRIVATE-ALIAS-19c2",
    "reaction": "PRIVATE-REACTION-5e88",
    "agenda": "PRIVATE-AGENDA-a41d",
    "thoughts": "PRIVATE-THOUGHT-0b6e",
}
REVIEW_SECTIONS = [
    "cover",
    "agenda",
    "daily-life",
    "self-management",
    "hypotheses",
    "inquiries",
    "my-say",
    "check-ins",
    "practitioner",
    "past-reviews",
    "closing",
]
HANDOVER_SECTIONS = [
    "cover",
    "what-works",
    "learned",
    "open-inquiries",
    "co-counselling",
    "where-i-am",
    "next-steps",
]


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
    """``report(book, kind="review", audience="client") -> ReportResult``, run once each."""
    cache: dict[tuple[str, str, str], ReportResult] = {}
    out = tmp_path_factory.mktemp("reports")

    def run(book: str, kind: str = "review", audience: str = "client") -> ReportResult:
        key = (book, kind, audience)
        if key not in cache:
            target = out / f"{book}-{kind}-{audience}" / "report.html"  # folder made by the runner
            cache[key] = run_report(
                books[book], kind=kind, audience=audience, out=target, keep_notebook=True
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
    expected = REVIEW_SECTIONS if kind == "review" else HANDOVER_SECTIONS
    found = [s for s in expected if f'id="{s}"' in page]
    assert found == expected
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
    result = report("demo")

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


def test_demo_review_asks_about_the_march_anger_at_work(report: Run) -> None:
    page = html(report("demo"))

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
    assert f"{2 + 11 + 2 + 7} passed" in done.stdout


def test_a_report_reads_one_snapshot_of_the_workbook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a practitioner's report reads, the client (another program) saves an episode
    and withdraws practitioner sharing. The report is built wholly from before: the
    consent it states and the entries it shows come from one snapshot, never a mix."""
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
    ctx = context.load(
        path, kind="review", audience="practitioner", since="2025-01-01", until="2025-12-31"
    )

    assert written == ["emotion_episode"], written
    assert ctx.consent.entry is not None and ctx.consent.entry.practitioner_sharing
    assert list(ctx.frames["emotion_episode"]["situation"]) == ["before"]
    with Workbook.open(path, readonly=True) as wb:  # the client's saves did land
        assert len(wb.records("emotion_episode")) == 2
        assert not wb.consent().entry.practitioner_sharing
