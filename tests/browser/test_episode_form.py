"""A client logs an episode in the real notebook, in JupyterLab, in Chromium.

Open the shipped ``workbook.ipynb`` (it runs by itself); fill the episode form (two emotions
with intensities, a person, a technique); save; see the confirmation; find the episode
in the SQLite file. Then an invalid save (no emotion) shows the message and keeps the
typed situation. Screenshots are kept in ``test-artifacts/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from heron_research.workbook import Workbook

pytestmark = pytest.mark.browser

SITUATION = "Team meeting: Robin moved my deadline without asking"
UNSAVED = "Argument about the dishes, nobody listened"


def set_slider(page: Any, css: str, value: int) -> None:
    """Type a value into an ipywidgets slider's editable readout."""
    readout = page.locator(f"{css} .widget-readout")
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(str(value))
    page.keyboard.press("Enter")
    from playwright.sync_api import expect

    expect(readout).to_have_text(str(value))


def test_client_logs_an_episode_and_a_refused_one_keeps_the_typing(
    jupyterlab: Any, lab_workbook: Path
) -> None:
    from playwright.sync_api import expect

    page = jupyterlab.page
    jupyterlab.open_notebook()  # the notebook runs by itself when it opens (no Run All)
    form = page.locator(".heron-form-emotion_episode")
    expect(form).to_be_visible()

    form.locator(".heron-field-situation textarea").fill(SITUATION)
    form.locator(".heron-field-emotions-0-emotion input").fill("anger")
    set_slider(page, ".heron-form-emotion_episode .heron-field-emotions-0-intensity", 7)
    form.locator(".heron-add-emotions").click()
    form.locator(".heron-field-emotions-1-emotion input").fill("fear")
    set_slider(page, ".heron-form-emotion_episode .heron-field-emotions-1-intensity", 4)
    robin = form.locator(".heron-field-people").get_by_role("checkbox", name="Robin")
    robin.click()
    expect(robin).to_be_checked()  # the state is the control's own, not only a shade
    form.locator(".heron-field-self_management-0-technique input").fill("pausing before acting")
    set_slider(
        page, ".heron-form-emotion_episode .heron-field-self_management-0-intensity_after", 3
    )
    form.locator(".heron-save").click()

    status = form.locator(".heron-status")
    expect(status).to_contain_text("Saved the episode", timeout=30_000)
    jupyterlab.screenshot("episode-saved")

    with Workbook.open(lab_workbook, readonly=True) as wb:
        [stored] = wb.records("emotion_episode")
        [robin] = wb.records("person")
    episode = stored.record
    assert episode.situation == SITUATION
    assert [(e.emotion, e.intensity) for e in episode.emotions] == [("anger", 7), ("fear", 4)]
    assert episode.people == [robin.id]
    [used] = episode.self_management
    assert (used.technique, used.skill, used.intensity_after) == (
        "pausing before acting",
        "control",
        3,
    )

    # an invalid save: a situation but no emotion
    form.locator(".heron-field-situation textarea").fill(UNSAVED)
    form.locator(".heron-save").click()
    expect(status).to_contain_text("Not saved yet", timeout=30_000)
    expect(form.locator(".heron-field-emotions-error")).to_contain_text("add at least one emotion")
    expect(form.locator(".heron-field-situation textarea")).to_have_value(UNSAVED)
    jupyterlab.screenshot("episode-refused")
    with Workbook.open(lab_workbook, readonly=True) as wb:
        assert wb.counts()["emotion_episode"] == 1

    # and it shows under Recent
    page.get_by_role("tab", name="Recent").click()
    expect(page.locator(".heron-recent")).to_contain_text("Team meeting")
