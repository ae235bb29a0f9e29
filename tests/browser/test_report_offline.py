"""A written report in headless Chromium, offline: nothing fetched, nothing run.

The workbook puts markup where a client could type it (a situation, an agenda item, a
hypothesis, a person's alias, a technique). The report must show it as text: no script
runs, no dialog opens, no request leaves the file.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from heron_research.records import AgendaItem, EmotionEpisode, Person, ProjectionHypothesis
from heron_research.reports import ReportResult, run_report
from heron_research.workbook import Workbook

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

SCRIPT = "<script>window.__pwned=1</script>"
IMAGE = '<img src=x onerror="window.__pwned=2;alert(2)">'


@pytest.fixture(scope="module")
def hostile_workbook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workbook full of markup typed by the client."""
    root = tmp_path_factory.mktemp("hostile")
    path = root / "client.heron"
    with Workbook.create(path) as wb:
        person = wb.save(Person(alias=f"Sam{SCRIPT}", relationship="manager")).record
        for day in (3, 4, 5, 10, 11):
            wb.save(
                EmotionEpisode(
                    occurred_at=datetime(2025, 3, day, 18, 30, tzinfo=UTC),
                    situation=f"{SCRIPT}{IMAGE} meeting",
                    emotions=[{"emotion": "anger", "intensity": 7}],
                    people=[person.id],
                    what_i_did=IMAGE,
                    self_management=[
                        {"technique": SCRIPT, "skill": "control", "intensity_after": 3}
                    ],
                )
            )
        wb.save(AgendaItem(raised_on=date(2025, 3, 12), item_type="request", text=IMAGE))
        wb.save(
            ProjectionHypothesis(
                opened_on=date(2025, 3, 12),
                person_id=person.id,
                reaction=SCRIPT,
                echoes=IMAGE,
                unprocessed_emotion="grief",
                status="supported",
            )
        )
    return path


@pytest.fixture(scope="module")
def hostile_report(hostile_workbook: Path) -> ReportResult:
    """The peer-review report on the hostile workbook."""
    return run_report(hostile_workbook, out=hostile_workbook.parent / "out" / "report.html")


def assert_inert_offline(browser: Browser, report: Path) -> str:
    """Open ``report`` in Chromium: no request but the file, no script, no dialog, no
    image; returns the page's text."""
    context = browser.new_context(java_script_enabled=True)
    try:
        page = context.new_page()
        requests: list[str] = []
        failed: list[str] = []
        dialogs: list[str] = []
        errors: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.on("requestfailed", lambda r: failed.append(r.url))
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.on("pageerror", lambda e: errors.append(str(e)))
        url = report.as_uri()
        page.goto(url, wait_until="load")
        page.wait_for_load_state("networkidle")
        assert requests == [url]
        assert failed == []
        assert dialogs == []
        assert errors == []
        assert page.evaluate("typeof window.__pwned") == "undefined"
        assert page.locator("script").count() == 0
        assert page.locator("img").count() == 0
        return page.inner_text("body")
    finally:
        context.close()


def test_handover_report_shows_hostile_text_inert(browser: Browser, hostile_workbook: Path) -> None:
    report = run_report(
        hostile_workbook, kind="handover", out=hostile_workbook.parent / "out" / "handover.html"
    )
    body = assert_inert_offline(browser, report.path)
    assert SCRIPT in body  # the supported hypothesis's reaction, as typed


def test_report_opens_offline_with_no_request_and_no_script(
    browser: Browser, hostile_report: ReportResult
) -> None:
    body = assert_inert_offline(browser, hostile_report.path)
    assert SCRIPT in body  # shown as the text the client typed
    assert IMAGE in body
    assert hostile_report.path.read_text(encoding="utf-8").count("<svg") >= 3  # charts inline


def test_report_prints_with_a_page_per_section(
    browser: Browser, hostile_report: ReportResult, tmp_path: Path
) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(hostile_report.path.as_uri(), wait_until="load")
    page.emulate_media(media="print")

    breaks = page.eval_on_selector_all(
        "section.report-section",
        "els => els.map(e => [e.id, getComputedStyle(e).breakBefore])",
    )
    pdf = tmp_path / "report.pdf"
    page.pdf(path=str(pdf), format="A4", print_background=True)

    assert breaks[0] == ["cover", "avoid"]
    assert all(value == "page" for _, value in breaks[1:])
    assert pdf.read_bytes().startswith(b"%PDF")
    assert pdf.stat().st_size > 10_000
    context.close()
