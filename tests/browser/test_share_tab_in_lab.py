"""A client previews and writes a share bundle from the Share tab, in JupyterLab, in Chromium.

Run all cells of the shipped ``workbook.ipynb`` on a workbook with one entry of every
kind (research consent given); open the Share tab; see what would go to the practitioner
and to the study, counted as ``preview_share`` counts it; make a key; a mistyped public
key is refused next to its field and kept; with the practitioner's public key the bundle
is written, and the file on disk is owner-only and opens with the practitioner's key.
Screenshots are kept in ``test-artifacts/``.
"""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path
from typing import Any

import pytest
from support import one_of_each_kind

from heron_research.exchange.bundle import decrypt_bundle
from heron_research.exchange.keys import load_identity, new_identity
from heron_research.exchange.share import preview_share
from heron_research.records import RECORD_TYPES
from heron_research.workbook import Workbook

pytestmark = pytest.mark.browser


@pytest.fixture
def lab_workbook(tmp_path: Path) -> Path:
    """A workbook with one entry of every kind, closed (the kernel opens it)."""
    path = tmp_path / "client" / "client.heron"
    with Workbook.create(path) as wb:
        wb.save_many(one_of_each_kind())
    return path


def test_client_previews_and_writes_a_bundle_from_the_share_tab(
    jupyterlab: Any, lab_workbook: Path, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    practitioner_key = tmp_path / "practitioner.key"
    their_recipient = new_identity(practitioner_key)
    with Workbook.open(lab_workbook, readonly=True) as wb:
        expected = {a: preview_share(wb, a).counts for a in ("practitioner", "research")}

    page = jupyterlab.page
    jupyterlab.open_notebook()
    jupyterlab.run_all_cells()
    page.get_by_role("tab", name="Share").click()

    preview = page.locator(".heron-share-preview-practitioner")
    expect(preview).to_be_visible(timeout=30_000)
    total = sum(expected["practitioner"].values())
    expect(preview).to_contain_text(f"Bundle 1 would hold {total} entries")
    summaries = preview.locator("summary")
    words = [RECORD_TYPES[k].facts.words(n) for k, n in expected["practitioner"].items()]
    expect(summaries).to_have_text(words)
    expect(preview).to_contain_text("Stays only with you:")
    expect(preview).to_contain_text("Consent in force:")
    study = page.locator(".heron-share-preview-research")
    expect(study).to_be_visible()  # research consent is in force
    expect(study.locator("summary")).to_have_count(len(expected["research"]))
    # a line opens to show the entries themselves
    episodes = preview.locator(".heron-share-kind-emotion_episode")
    episodes.locator("summary").click()
    expect(episodes.locator(".heron-share-entry")).to_have_count(1)
    expect(episodes.locator(".heron-share-entry")).to_be_visible()
    jupyterlab.screenshot("share-preview")

    page.get_by_role("button", name="Make my key").click()
    expect(page.locator(".heron-key-info")).to_contain_text(
        re.compile(r"age1[0-9a-z]{58}"), timeout=30_000
    )
    key = lab_workbook.parent / ".client-keys" / "my-key.txt"
    expect(page.locator(".heron-share .heron-status")).to_contain_text(f"Made your key: {key}")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    status_code, body = jupyterlab.server.request("api/contents")  # the lab serves no key
    assert status_code == 200
    assert not [i["name"] for i in json.loads(body)["content"] if "key" in i["name"]]

    recipient = page.locator(".heron-field-recipient input")
    recipient.fill("hello")
    page.get_by_role("button", name="Write the bundle").click()
    expect(page.locator(".heron-field-recipient-error")).to_contain_text(
        "a public key starts with age1", timeout=30_000
    )
    expect(recipient).to_have_value("hello")
    jupyterlab.screenshot("share-refused")

    recipient.fill(their_recipient)
    page.get_by_role("button", name="Write the bundle").click()
    status = page.locator(".heron-share .heron-status")
    expect(status).to_contain_text("Wrote bundle 1 for your practitioner", timeout=30_000)
    out = lab_workbook.parent / "client-for-practitioner-1.age"
    expect(status).to_contain_text(str(out))
    expect(preview).to_contain_text("Bundle 2 would hold")
    jupyterlab.screenshot("share-written")

    assert out.is_file()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    for identity in (practitioner_key, key):  # theirs and the client's own
        document = decrypt_bundle(out.read_bytes(), [load_identity(identity)])
        assert document.provenance.sequence == 1
        assert len(document.records) + len(document.people) == total
