"""Printed from headless Chromium to A4: At a glance fits one page (the first), a month's
review of the demo is at most 8 pages, the whole year at most 16 (issue 14)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from heron_research.demo import generate_demo
from heron_research.reports import run_report

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = [pytest.mark.browser, pytest.mark.kernel]

_PAGE = re.compile(rb"/Type\s*/Page(?![s\w])")


def _pages(browser: Browser, report: Path, only: str | None = None) -> int:
    page = browser.new_page()
    try:
        page.goto(report.as_uri())
        if only is not None:  # print one section alone
            page.evaluate(
                "(keep) => { for (const s of document.querySelectorAll('section.report-section'))"
                " if (s.id !== keep) s.remove(); }",
                only,
            )
        return len(_PAGE.findall(page.pdf(format="A4")))
    finally:
        page.close()


def _cover_and_glance(browser: Browser, report: Path) -> int:
    """Pages taken by the cover and At a glance together."""
    page = browser.new_page()
    try:
        page.goto(report.as_uri())
        page.evaluate(
            "() => { for (const s of document.querySelectorAll('section.report-section'))"
            " if (!['cover', 'at-a-glance'].includes(s.id)) s.remove(); }"
        )
        return len(_PAGE.findall(page.pdf(format="A4")))
    finally:
        page.close()


@pytest.mark.parametrize(
    ("since", "until", "most"),
    [
        (None, "2026-01-04", 8),  # since the last review (27 Nov 2025)
        (None, "2025-10-30", 8),  # a month in the programme: review to review
        ("start", "2026-01-04", 16),  # the whole year
    ],
)
def test_review_report_page_counts(
    browser: Browser, tmp_path: Path, since: str | None, until: str, most: int
) -> None:
    book = tmp_path / "demo.heron"
    generate_demo(book, seed=7, years=1.0)
    report = run_report(book, since=since, until=until, out=tmp_path / "r.html").path

    pages = _pages(browser, report)
    glance = _pages(browser, report, only="at-a-glance")
    first = _cover_and_glance(browser, report)

    assert pages >= 3  # the count is real: a report is more than its first page
    assert pages <= most, f"{pages} A4 pages (at most {most})"
    assert glance == 1 and first == 1  # At a glance fits on the first page, with the cover
