"""Issue 14, items 1 and 6: reports never die on what a client typed, say where they stopped
when a kernel dies, and a practitioner's caseload is made in one go.

The control characters a client may paste (U+0000, 0001, 0002, 0007, 0008, 000E, 001B) made
vl-convert abort the report's kernel; here every report kind runs on a workbook holding each
of them in a hypothesis's reaction and a technique of the client's own, and the page must
hold no character XML forbids, parse (its charts as XML), and show a replacement mark where
each was. The workbook keeps the text as typed.
"""

from __future__ import annotations

import os
import re
import signal
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from importlib.resources import as_file
from pathlib import Path

import altair as alt
import nbformat
import pytest
from bs4 import BeautifulSoup
from support import consent_entry

from heron_research.charts import skills_used, to_svg
from heron_research.cli import main
from heron_research.errors import ChartError
from heron_research.records import EmotionEpisode, ProjectionHypothesis
from heron_research.reports import SectionFailedError, run_report, run_reports
from heron_research.reports import kernels as kernels_module
from heron_research.reports.common import chart
from heron_research.reports.engine import KERNEL_DIED
from heron_research.reports.html import REPLACEMENT, esc, tag, xml_safe
from heron_research.resources import notebook_file
from heron_research.workbook import Workbook

CONTROL = ["\x00", "\x01", "\x02", "\x07", "\x08", "\x0e", "\x1b"]
#: every character XML 1.0 forbids, as a regular expression
FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
UNTIL = date(2025, 6, 30)


# --- the sanitising step ------------------------------------------------------------------


@pytest.mark.parametrize("char", [*CONTROL, "\x0b", "\x0c", "\x1f", "\ufffe", "\uffff", "\ud800"])
def test_a_character_xml_forbids_becomes_a_visible_mark(char: str) -> None:
    assert xml_safe(f"Anger at Sam{char}!") == f"Anger at Sam{REPLACEMENT}!"
    assert str(esc(f"<b>{char}")) == f"&lt;b&gt;{REPLACEMENT}"
    assert str(tag("p", char, title=char)) == f'<p title="{REPLACEMENT}">{REPLACEMENT}</p>'


@pytest.mark.parametrize("text", ["tab\there", "two\nlines\r\n", "é ß 😀 \u007f \ufffd", ""])
def test_text_xml_allows_is_left_as_it_is(text: str) -> None:
    assert xml_safe(text) == text


@pytest.mark.parametrize("char", CONTROL, ids=lambda c: f"U+{ord(c):04X}")
def test_a_chart_of_a_technique_holding_a_control_character_renders(char: str) -> None:
    import pandas as pd

    skills = pd.DataFrame(
        {"skill": ["control"], "technique": [f"breathing{char} slowly"], "uses": [3]}
    )
    built = skills_used(skills)

    svg = to_svg(built)  # in this process: vl-convert would abort it on the raw character

    assert built.to_dict()["data"]["values"][0]["technique"] == f"breathing{REPLACEMENT} slowly"
    assert not FORBIDDEN.search(svg)
    assert f"breathing{REPLACEMENT} slowly" in svg
    ET.fromstring(svg)


def test_a_chart_the_renderer_refuses_is_a_one_line_notice() -> None:
    import pandas as pd

    def broken(data: pd.DataFrame) -> alt.Chart:
        return alt.Chart(alt.Data(values=[{"x": 1}])).mark_point().encode(x="x:Q")

    refused = alt.Chart(alt.Data(values=[{"x": 1}])).mark_point().encode(x="x:Q")
    refused.mark = "no-such-mark"  # type: ignore[assignment]
    with pytest.raises(ChartError) as raised:
        to_svg(refused)
    shown = chart(lambda data: refused, pd.DataFrame(), "Techniques used, by skill")

    assert "could not be drawn" in str(raised.value)
    assert "\n" not in str(raised.value)
    assert shown.startswith('<p class="notice">The chart “Techniques used, by skill” could not')
    assert "<svg" not in shown
    assert "<svg" in chart(broken, pd.DataFrame(), "fine")


# --- every report kind on a workbook full of control characters --------------------------


@pytest.fixture(scope="module")
def pasted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workbook whose hypotheses and own techniques hold each control character, all
    shared with the practitioner (consent given), so every audience's report shows them."""
    path = tmp_path_factory.mktemp("pasted") / "pasted.heron"
    start = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    with Workbook.create(path) as wb:
        wb.save(consent_entry(start - timedelta(days=1)))
        for n, char in enumerate(CONTROL):
            wb.save(
                ProjectionHypothesis(
                    opened_on=date(2025, 3, 1 + n),
                    situation=f"Sam at work{char}",
                    reaction=f"Anger at Sam{char}",
                    echoes=f"my father{char}",
                    unprocessed_emotion="fear",
                    confidence=[
                        {"on": date(2025, 3, 1 + n), "confidence": 40},
                        {"on": date(2025, 4, 1 + n), "confidence": 60},
                    ],
                    sharing="practitioner",
                )
            )
            for k in range(6):  # enough uses for the technique's effect to be charted
                wb.save(
                    EmotionEpisode(
                        occurred_at=start + timedelta(days=7 * n + k, hours=k),
                        situation=f"the meeting{char}",
                        emotions=[{"emotion": "anger", "intensity": 7}],
                        self_management=[
                            {
                                "technique": f"counting tiles{char}{n}",
                                "skill": "control",
                                "intensity_before": 7,
                                "intensity_after": 2 + k % 3,
                            }
                        ],
                        notes=f"note{char}",
                        sharing="practitioner",
                    )
                )
    return path


@pytest.mark.kernel
@pytest.mark.parametrize(
    ("kind", "audience"),
    [
        ("review", "client"),
        ("review", "practitioner"),
        ("handover", "client"),
        ("handover", "practitioner"),
    ],
)
def test_every_report_kind_survives_pasted_control_characters(
    pasted: Path, tmp_path: Path, kind: str, audience: str
) -> None:
    result = run_report(pasted, kind=kind, audience=audience, until=UNTIL, out=tmp_path / "r.html")
    page = result.path.read_text(encoding="utf-8")
    soup = BeautifulSoup(page, "html.parser")
    svgs = re.findall(r"<svg\b.*?</svg>", page, flags=re.DOTALL)

    assert not FORBIDDEN.search(page)
    assert soup.find("main") is not None
    text = soup.get_text()
    assert f"counting tiles{REPLACEMENT}0" in text  # the own technique, marked
    if kind == "review":
        assert f"Anger at Sam{REPLACEMENT}" in text  # the hypothesis, marked
    assert svgs, "the report drew no chart"
    for svg in svgs:
        ET.fromstring(svg)  # each chart is well-formed XML
    assert "could not be drawn" not in page
    assert any(f"counting tiles{REPLACEMENT}0" in svg for svg in svgs)  # and in a chart
    with Workbook.open(pasted, readonly=True) as wb:  # the text stays as typed
        reactions = {r.record.reaction for r in wb.records(ProjectionHypothesis.kind)}
    assert reactions == {f"Anger at Sam{c}" for c in CONTROL}


# --- a kernel that dies -------------------------------------------------------------------


def _dying_notebook(folder: Path, section: int) -> Path:
    """The shipped review notebook with cell ``section`` replaced by one that kills its
    own kernel (as vl-convert's abort did)."""
    with as_file(notebook_file("peer_review_report.ipynb")) as shipped:
        nb = nbformat.read(shipped, as_version=4)
    nb.cells[section].source = f"import os\nos.kill(os.getpid(), {int(signal.SIGKILL)})"
    path = folder / "dying.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.mark.kernel
def test_a_kernel_death_names_the_section_and_keeps_the_partial_notebook(
    pasted: Path, tmp_path: Path
) -> None:
    with as_file(notebook_file("peer_review_report.ipynb")) as shipped:
        cells = nbformat.read(shipped, as_version=4).cells
    index = next(i for i, c in enumerate(cells) if c.metadata.get("heron", {}).get("section"))
    index += 3  # a section after the cover, once the report has started
    section = cells[index].metadata["heron"]["section"]
    dying = _dying_notebook(tmp_path, index)

    with pytest.raises(SectionFailedError) as failed:
        run_report(pasted, until=UNTIL, notebook=dying, out=tmp_path / "out" / "r.html")

    assert failed.value.section == section
    assert failed.value.error.startswith(f"{KERNEL_DIED}: the report's kernel stopped")
    assert failed.value.partial == tmp_path / "out" / "r.partial.ipynb"
    assert os.stat(failed.value.partial).st_mode & 0o777 == 0o600
    partial = nbformat.read(failed.value.partial, as_version=4)
    assert any(
        c.metadata.get("heron", {}).get("section") == "Cover" and c.outputs for c in partial.cells
    )  # what ran before is kept
    assert not (tmp_path / "out" / "r.html").exists()


# --- a caseload in one go -----------------------------------------------------------------


@pytest.mark.kernel
def test_a_caseload_is_made_with_one_kernel_and_a_bad_workbook_is_named(
    pasted: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path / "caseload"
    folder.mkdir()
    for name in ("ana", "bo", "cy"):
        (folder / f"{name}.heron").write_bytes(pasted.read_bytes())
    (folder / "broken.heron").write_text("not a workbook", encoding="utf-8")
    (folder / "notes.txt").write_text("not a workbook either, and not a .heron", encoding="utf-8")
    started = []
    real_start = kernels_module.start_kernel

    def counted(*args: object) -> object:
        started.append(args)
        return real_start(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(kernels_module, "start_kernel", counted)
    out = tmp_path / "reports"

    with pytest.raises(SystemExit) as exit_:
        main(["report", f"{folder}", "--until", f"{UNTIL}", "--out-dir", f"{out}", "--jobs", "1"])

    lines = capsys.readouterr().out.splitlines()
    assert exit_.value.code == 1
    assert len(started) == 1
    assert lines == [
        f"{folder / 'ana.heron'} -> {out / 'ana-review-2025-06-30.html'}",
        f"{folder / 'bo.heron'} -> {out / 'bo-review-2025-06-30.html'}",
        f"{folder / 'broken.heron'}: not made: {folder / 'broken.heron'} is not a "
        "heron-research workbook (it is not an SQLite database)",
        f"{folder / 'cy.heron'} -> {out / 'cy-review-2025-06-30.html'}",
        "3 of 4 reports made.",
    ]
    assert sorted(p.name for p in out.iterdir()) == [
        "ana-review-2025-06-30.html",
        "bo-review-2025-06-30.html",
        "cy-review-2025-06-30.html",
    ]
    assert os.stat(out).st_mode & 0o777 == 0o700
    first, third = (
        (out / name).read_text(encoding="utf-8")
        for name in ("ana-review-2025-06-30.html", "cy-review-2025-06-30.html")
    )
    assert first.count("<svg") == third.count("<svg") > 0  # the third report is whole too
    # each report numbers its chart ids from 1, as a report made on its own does
    assert re.findall(r'id="(hr\d+)-', first)[:1] == re.findall(r'id="(hr\d+)-', third)[:1]


@pytest.mark.kernel
def test_a_caseload_goes_on_after_a_failing_section(pasted: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.heron"
    Workbook.create(empty).close()
    made = []

    items = run_reports(
        [pasted, tmp_path / "missing.heron", empty],
        out_dir=tmp_path / "out",
        kind="handover",
        until=UNTIL,
        on_report=lambda item, done, total: made.append((item.ok, done, total)),
    )

    assert made == [(True, 1, 3), (False, 2, 3), (True, 3, 3)]
    assert items[1].line() == (
        f"{tmp_path / 'missing.heron'}: not made: {tmp_path / 'missing.heron'}: no such workbook"
    )


def test_a_caseload_refuses_two_workbooks_with_one_report_name(tmp_path: Path) -> None:
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        Workbook.create(tmp_path / folder / "same.heron").close()

    with pytest.raises(Exception, match="would both be reported to") as raised:
        run_reports([tmp_path / "a", tmp_path / "b"], out_dir=tmp_path / "out", until=UNTIL)

    assert "same-review-2025-06-30.html" in str(raised.value)
    assert not (tmp_path / "out").exists()


def test_numbers_shown_raw_in_the_html_round_halves_up_too() -> None:
    """A float reaching esc() unformatted reads as the report's own numbers do."""
    from heron_research.reports.html import esc

    assert [str(esc(v)) for v in (4.25, 0.05, -0.04, float("nan"))] == ["4.3", "0.1", "0.0", ""]


def test_a_kernel_dead_before_the_first_section_names_no_section() -> None:
    """The engine marks the cell that was running when the kernel died; before any cell
    started there is none, and it says so (the runner then reports that the notebook could
    not run, rather than blaming a section or a damaged cover)."""
    from types import SimpleNamespace

    from heron_research.reports.engine import _mark_dead_kernel

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
    marked = []
    manager = SimpleNamespace(nb=nb, cell_exception=lambda cell, cell_index: marked.append(1))
    assert _mark_dead_kernel(manager, "gone") is False
    assert nb.cells[0].get("outputs") == [] and marked == []
    nb.cells[0].metadata["papermill"] = {"start_time": "2026-12-03T12:00:00"}
    assert _mark_dead_kernel(manager, "gone") is True
    assert nb.cells[0].outputs[0]["ename"] == KERNEL_DIED and marked == [1]
