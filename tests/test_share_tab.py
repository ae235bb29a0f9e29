"""The client's Share tab and Recent's practitioner entries, driven through the real widgets.

As in ``test_forms.py``: widget values are set the way a browser sets them (the ``value``
trait) and buttons are clicked with ``Button.click()``; the workbook, the keys and the
bundle are real (age encryption by pyrage), and every bundle written is opened again.
"""

from __future__ import annotations

import html
import stat
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path

import ipywidgets as W
import pytest
from support import consent_entry, episode_data, one_of_each_kind

from heron_research.exchange.bundle import decrypt_bundle
from heron_research.exchange.keys import load_identity, new_identity
from heron_research.exchange.share import (
    IDENTITY_SETTING,
    preview_share,
    recipient_setting,
    sequence_setting,
)
from heron_research.forms import workbook_app
from heron_research.forms.app import App
from heron_research.forms.core import FROM_PRACTITIONER, _written_by_practitioner
from heron_research.forms.registry import FormRegistry
from heron_research.forms.share import KEY_FILE, SharePage, key_folder, share_page
from heron_research.records import (
    AGENDA_ITEM,
    CONSENT,
    EMOTION_EPISODE,
    PEER_REVIEW,
    RECORD_TYPES,
    AgendaItem,
    EmotionEpisode,
    Side,
    validate_record,
)
from heron_research.visibility import Audience
from heron_research.workbook import Workbook
from heron_research.workbook.store import StoredRecord

pytestmark = pytest.mark.unit

NOW = datetime(2025, 1, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def wb(tmp_path: Path) -> Iterator[Workbook]:
    """A client's workbook (real clock) with one record of every kind; research consent."""
    workbook = Workbook.create(tmp_path / "client" / "me.heron")
    workbook.save_many(one_of_each_kind())
    try:
        yield workbook
    finally:
        workbook.close()


@pytest.fixture
def practitioner_key(tmp_path: Path) -> tuple[Path, str]:
    """The practitioner's key (made on their computer; the client gets the public half)."""
    folder = tmp_path / "practitioner"
    folder.mkdir()
    path = folder / "practitioner.key"
    return path, new_identity(path)


def open_share_tab(app: App) -> SharePage:
    """Select the Share tab as a click on it would; its page."""
    app.tabs.selected_index = list(app.tabs.titles).index("Share")
    page = app.pages["Share"]
    assert isinstance(page, SharePage)
    return page


def entry_count(text: str) -> int:
    return text.count('<li class="heron-share-entry">')


def assert_preview_is(page: SharePage, wb: Workbook, audience: Audience) -> None:
    """The tab's preview for ``audience`` says exactly what ``preview_share`` says."""
    expected = preview_share(wb, audience)
    shown = page.previews[audience].value
    assert page.previews[audience].layout.display is None
    for kind, count in expected.counts.items():
        words = RECORD_TYPES[kind].facts.words(count)
        assert f"<summary>{html.escape(words)}</summary>" in shown, (kind, words)
    assert shown.count("<summary>") == len(expected.counts)
    assert entry_count(shown) == sum(expected.counts.values())
    for found in expected.contents.entries.values():
        for record in found:
            described = record.describe()
            assert html.escape(described[:1].upper() + described[1:]) in shown
    kept = ", ".join(RECORD_TYPES[k].facts.words(n) for k, n in expected.contents.withheld.items())
    assert f"Stays only with you: {html.escape(kept or 'nothing')}." in shown
    assert html.escape(expected.contents.consent.describe()) in shown
    assert f"Bundle {expected.sequence} would hold" in shown


# --- the tab: built when shown, the previews ------------------------------------------------


def test_the_share_tab_is_built_when_first_shown_not_at_app_start(wb: Workbook) -> None:
    app = workbook_app(wb)
    assert list(app.tabs.titles)[-2:] == ["Share", "Recent"]
    page = app.pages["Share"]
    assert isinstance(page, SharePage)
    assert not page.built and page.widget.children == ()
    assert app.tabs.children[list(app.tabs.titles).index("Share")] is page.widget
    open_share_tab(app)
    assert page.built and page.widget.children
    children = page.widget.children
    app.tabs.selected_index = 0
    open_share_tab(app)  # shown again: the same widgets, not new ones
    assert page.widget.children == children


def test_preview_counts_are_preview_shares_and_research_shows_with_research_consent(
    wb: Workbook,
) -> None:
    assert wb.consent().research
    page = open_share_tab(workbook_app(wb))
    assert_preview_is(page, wb, Audience.PRACTITIONER)
    assert_preview_is(page, wb, Audience.RESEARCH)
    assert "What would go to the study" in page.previews[Audience.RESEARCH].value
    assert "left out, so no names leave" in page.previews[Audience.RESEARCH].value
    assert [v for _, v in page.audience.widget.options] == ["practitioner", "research"]
    assert page.audience.box.layout.display is None


def test_research_is_hidden_without_research_consent_and_appears_when_given(
    wb: Workbook,
) -> None:
    wb.save(consent_entry(datetime(2025, 2, 1, tzinfo=UTC), research=False))
    assert not wb.consent().research
    app = workbook_app(wb)
    page = open_share_tab(app)
    assert_preview_is(page, wb, Audience.PRACTITIONER)
    research = page.previews[Audience.RESEARCH]
    assert research.value == "" and research.layout.display == "none"
    assert [v for _, v in page.audience.widget.options] == ["practitioner"]
    assert page.audience.box.layout.display == "none"

    # the client consents to research in the Consent tab: the Share tab follows
    form = app.forms[CONSENT]
    form.field("research").set(True)
    form.save_button.click()
    assert wb.consent().research
    assert_preview_is(page, wb, Audience.RESEARCH)
    assert [v for _, v in page.audience.widget.options] == ["practitioner", "research"]

    # choosing the study, then withdrawing: the choice goes back to the practitioner
    page.audience.widget.value = "research"
    form.field("research").set(False)
    form.save_button.click()
    assert page.previews[Audience.RESEARCH].layout.display == "none"
    assert page.audience.get() == "practitioner"
    assert [v for _, v in page.audience.widget.options] == ["practitioner"]


def test_the_preview_follows_the_workbook_and_escapes_what_was_written(wb: Workbook) -> None:
    app = workbook_app(wb)
    page = open_share_tab(app)
    before = preview_share(wb, Audience.PRACTITIONER).counts[EMOTION_EPISODE]
    hostile = "<script>alert('x')</script> & <b>bold</b>"
    form = app.forms[EMOTION_EPISODE]
    form.field("situation").set(hostile)
    form.field("emotions").rows[0].fields[0].widget.value = "anger"
    form.field("sharing").set("practitioner")
    form.save_button.click()
    assert "✓ Saved" in form.status.value, form.status.value
    assert preview_share(wb, Audience.PRACTITIONER).counts[EMOTION_EPISODE] == before + 1
    assert_preview_is(page, wb, Audience.PRACTITIONER)  # refreshed on the save
    shown = page.previews[Audience.PRACTITIONER].value
    assert "<script>" not in shown and "&lt;script&gt;" in shown


def test_a_change_made_by_another_program_shows_when_the_tab_is_shown_again(
    wb: Workbook,
) -> None:
    app = workbook_app(wb)
    page = open_share_tab(app)
    app.tabs.selected_index = 0
    with Workbook.open(wb.path) as other:  # say, the CLI, while the lab is open
        other.save(validate_record(EmotionEpisode, episode_data(sharing="practitioner")))
    open_share_tab(app)
    assert_preview_is(page, wb, Audience.PRACTITIONER)


def test_the_preview_is_one_widget_however_many_entries(tmp_path: Path) -> None:
    def widgets_for(episodes: int) -> int:
        with Workbook.create(tmp_path / f"wb{episodes}.heron") as wb:
            wb.save_many(
                validate_record(EmotionEpisode, episode_data(people=[], sharing="practitioner"))
                for _ in range(episodes)
            )
            page = share_page(workbook_app(wb).context)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                before = len(W.Widget.widgets)
                page.show()
                return len(W.Widget.widgets) - before

    assert widgets_for(3) == widgets_for(60) < 100


# --- writing the bundle ---------------------------------------------------------------------


def test_client_makes_a_key_and_writes_a_bundle_that_opens_with_it(
    wb: Workbook, practitioner_key: tuple[Path, str]
) -> None:
    their_key, their_recipient = practitioner_key
    page = open_share_tab(workbook_app(wb))
    folder = wb.path.resolve().parent
    assert page.folder.get() == str(folder)  # the workbook's folder by default
    assert page.recipient.get() == "" and page.identity.get() == ""
    assert page.make_key_button.layout.display is None

    page.make_key_button.click()
    key = key_folder(wb.path.resolve()) / KEY_FILE
    assert page.identity.get() == str(key)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    assert wb.get_setting(IDENTITY_SETTING) == str(key)  # remembered at once
    mine = str(load_identity(key).to_public())
    assert mine in page.key_info.value  # the public key to give the practitioner
    assert page.make_key_button.layout.display == "none"

    page.recipient.set(their_recipient)
    expected = preview_share(wb, Audience.PRACTITIONER)
    page.write_button.click()
    result = page.last_result
    assert result is not None, page.status.value
    out = folder / "me-for-practitioner-1.age"
    assert result.path == out and out.is_file()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # owner-only
    status = html.unescape(page.status.value)
    assert f"Wrote bundle 1 for your practitioner to {out}" in status
    total = sum(expected.counts.values())
    assert f"It holds {total:,} entries: " in status
    for kind, count in expected.counts.items():
        assert RECORD_TYPES[kind].facts.words(count) in status

    data = out.read_bytes()
    for identity in (load_identity(key), load_identity(their_key)):
        document = decrypt_bundle(data, [identity])
        assert document.provenance.audience == "practitioner"
        assert document.provenance.sequence == 1
        opened = len(document.records) + len(document.people)
        assert opened == total
    # remembered, and the preview moved on to the next bundle's number
    assert wb.get_setting(recipient_setting(Audience.PRACTITIONER)) == their_recipient
    assert wb.get_setting(sequence_setting(Audience.PRACTITIONER)) == "1"
    assert "Bundle 2 would hold" in page.previews[Audience.PRACTITIONER].value

    # next session: everything pre-filled from what the workbook remembers
    again = open_share_tab(workbook_app(wb))
    assert again.recipient.get() == their_recipient
    assert again.identity.get() == str(key)
    assert mine in again.key_info.value
    assert again.make_key_button.layout.display == "none"
    again.write_button.click()
    assert again.last_result is not None, again.status.value
    assert again.last_result.path == folder / "me-for-practitioner-2.age"


def test_a_research_bundle_goes_to_the_study(
    wb: Workbook, practitioner_key: tuple[Path, str], tmp_path: Path
) -> None:
    study_key, study_recipient = practitioner_key  # any key will do for the study's
    page = open_share_tab(workbook_app(wb))
    page.make_key_button.click()
    page.audience.widget.value = "research"
    page.recipient.set(study_recipient)
    chosen = tmp_path / "outbox"
    chosen.mkdir()
    page.folder.set(str(chosen))
    page.write_button.click()
    assert page.last_result is not None, page.status.value
    out = chosen / "me-for-study-1.age"
    assert out.is_file()
    document = decrypt_bundle(out.read_bytes(), [load_identity(study_key)])
    assert document.provenance.audience == "research"
    assert document.provenance.free_text == "none"
    assert document.people == []
    assert len(document.records) == sum(preview_share(wb, "research").counts.values())
    assert "for the study" in page.status.value
    # each audience has its own remembered recipient
    page.audience.widget.value = "practitioner"
    assert page.recipient.get() == ""
    page.audience.widget.value = "research"
    assert page.recipient.get() == study_recipient


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("hello there", "a public key starts with age1"),
        ("age1nope", "incomplete or has a typo"),
        ("", "please paste the public key your practitioner gave you"),
    ],
)
def test_a_bad_recipient_is_named_and_kept(
    wb: Workbook, tmp_path: Path, typed: str, says: str
) -> None:
    page = open_share_tab(workbook_app(wb))
    page.make_key_button.click()
    page.recipient.set(typed)
    page.write_button.click()
    assert page.last_result is None
    assert page.recipient.get() == typed  # kept
    assert says in html.unescape(page.recipient.error.value)
    assert page.recipient.error.layout.display == "block"
    assert page.folder.error.value == "" and page.identity.error.value == ""
    assert "Their public key: " in html.unescape(page.status.value)
    assert not list(wb.path.resolve().parent.glob("*.age"))
    assert wb.get_setting(sequence_setting(Audience.PRACTITIONER)) is None


def test_a_missing_folder_and_key_file_are_named_and_kept(
    wb: Workbook, practitioner_key: tuple[Path, str], tmp_path: Path
) -> None:
    _key, recipient = practitioner_key
    page = open_share_tab(workbook_app(wb))
    missing = str(tmp_path / "no such folder")
    nokey = str(tmp_path / "nokey.txt")
    page.recipient.set(recipient)
    page.identity.set(nokey)
    page.folder.set(missing)
    page.write_button.click()
    assert page.last_result is None
    assert (page.recipient.get(), page.identity.get(), page.folder.get()) == (
        recipient,
        nokey,
        missing,
    )
    assert html.unescape(page.folder.error.value) == f"⚠ there is no folder {missing}"
    assert f"There is no file at {nokey}" in html.unescape(page.identity.error.value)
    assert page.recipient.error.value == ""
    status = html.unescape(page.status.value)
    assert "Not written yet" in status
    assert "Folder to write the bundle into: there is no folder" in status
    assert "Your key file: There is no file" in status

    # fixed one by one: the problems go, and the bundle is written
    page.make_key_button.click()
    assert page.identity.error.value == ""
    page.folder.set(str(tmp_path))
    page.write_button.click()
    assert page.last_result is not None, page.status.value
    assert page.folder.error.value == ""
    assert (tmp_path / "me-for-practitioner-1.age").is_file()


def test_an_exposed_key_file_and_an_existing_bundle_are_refused_calmly(
    wb: Workbook, practitioner_key: tuple[Path, str]
) -> None:
    _key, recipient = practitioner_key
    page = open_share_tab(workbook_app(wb))
    key = page.make_key()
    assert key is not None
    page.recipient.set(recipient)
    key.chmod(0o644)
    page.write_button.click()
    assert page.last_result is None
    assert "chmod 600" in html.unescape(page.identity.error.value)
    key.chmod(0o600)
    clash = wb.path.resolve().parent / "me-for-practitioner-1.age"
    clash.write_text("someone else's file")
    page.write_button.click()
    assert page.last_result is None
    assert "already in this folder" in html.unescape(page.folder.error.value)
    assert clash.read_text() == "someone else's file"


def test_making_a_key_again_uses_the_one_made_before(wb: Workbook) -> None:
    first = open_share_tab(workbook_app(wb)).make_key()
    assert first is not None
    wb.set_setting(IDENTITY_SETTING, None)  # forgotten, but the file is still there
    page = open_share_tab(workbook_app(wb))
    assert page.make_key_button.layout.display is None
    again = page.make_key()
    assert again == first
    assert "Found the key you made earlier" in page.status.value


# --- Recent: the practitioner's entries -----------------------------------------------------


@dataclass(frozen=True)
class _Sided(StoredRecord):
    """A stored record that says which side wrote it (as the store does with authorship)."""

    side: Side | None = None


def with_side(stored: StoredRecord, side: Side) -> StoredRecord:
    values = {f.name: getattr(stored, f.name) for f in fields(StoredRecord)}
    values["side"] = side
    return _Sided(**values)


def test_written_by_practitioner_reads_the_stored_side(wb: Workbook) -> None:
    [stored] = wb.records(PEER_REVIEW)
    assert _written_by_practitioner(with_side(stored, Side.PRACTITIONER))
    assert not _written_by_practitioner(with_side(stored, Side.CLIENT))
    if not hasattr(stored, "side"):  # a store that keeps no side: the owner wrote it
        assert not _written_by_practitioner(stored)


def test_recent_marks_the_practitioners_entries_and_offers_no_edit(
    wb: Workbook, monkeypatch: pytest.MonkeyPatch
) -> None:
    theirs = wb.save(
        AgendaItem(
            raised_on=NOW.date(),
            raised_by="practitioner",
            item_type="request",
            text="your homework",
        )
    )
    app = workbook_app(wb)
    real = app.context.records

    def records(kind: str, **kw: bool) -> list[StoredRecord]:  # as received from them
        return [
            with_side(s, Side.PRACTITIONER)
            if s.id == theirs.id or s.kind == PEER_REVIEW
            else with_side(s, Side.CLIENT)
            for s in real(kind, **kw)
        ]

    monkeypatch.setattr(app.context, "records", records)
    recent = app.recent
    recent.kind.value = AGENDA_ITEM
    rows = {row.children[0].value: row for row in recent.list.children}
    [mine] = [text for text in rows if "more time on work" in text]
    [practitioners] = [text for text in rows if "your homework" in text]
    assert FROM_PRACTITIONER in practitioners and FROM_PRACTITIONER not in mine
    assert [b.description for b in rows[mine].children[1:]] == ["Edit", "Delete"]
    assert rows[practitioners].children[1:] == ()  # neither Edit nor Delete
    assert "heron-recent-theirs" in rows[practitioners]._dom_classes

    # a kind only the practitioner writes is listed in the client's Recent, read-only
    assert PEER_REVIEW in [k for _, k in recent.kind.options]
    recent.kind.value = PEER_REVIEW
    [row] = recent.list.children
    assert FROM_PRACTITIONER in row.children[0].value and row.children[1:] == ()


def test_the_practitioners_app_marks_nothing(wb: Workbook) -> None:
    from heron_research.forms import practitioner_app

    app = practitioner_app(wb)
    assert "Share" not in app.tabs.titles and not app.pages
    assert app.recent.read_only == []


# --- the page registry ----------------------------------------------------------------------


def test_pages_are_registered_with_their_own_tab_and_order() -> None:
    registry = FormRegistry()
    registry.page_for(side=Side.CLIENT, tab="Share", order=90)(share_page)
    from heron_research.forms import kinds

    registry.form_for(EMOTION_EPISODE, side=Side.CLIENT, tab="Today", order=10)(kinds.episode_form)
    layout = registry.layout(Side.CLIENT)
    assert [t for t, _ in layout] == ["Today", "Share"]  # in order, whatever came first
    assert [r.kind for r in layout[0][1]] == [EMOTION_EPISODE]  # type: ignore[union-attr]
    assert layout[1][1] == registry.pages(Side.CLIENT)[0]
    with pytest.raises(ValueError, match="already has a tab 'Share'"):
        registry.page_for(side=Side.CLIENT, tab="Share", order=91)(share_page)
    with pytest.raises(ValueError, match="already has a tab 'Today'"):
        registry.page_for(side=Side.CLIENT, tab="Today", order=92)(share_page)
    with pytest.raises(ValueError, match="both have order 10"):
        registry.page_for(side=Side.CLIENT, tab="Other", order=10)(share_page)
    with pytest.raises(ValueError, match="is a page's own tab"):
        registry.form_for(AGENDA_ITEM, side=Side.CLIENT, tab="Share", order=5)(
            kinds.agenda_item_form
        )
    # the other side's app may have a tab of that name
    registry.form_for(PEER_REVIEW, side=Side.PRACTITIONER, tab="Share", order=5)(
        kinds.peer_review_form
    )
    with pytest.raises(ValueError, match="the client page 'Share' and"):
        registry.form_for(AGENDA_ITEM, side=Side.CLIENT, tab="Prep", order=90)(
            kinds.agenda_item_form
        )
    assert [p.tab for p in registry.pages(Side.CLIENT)] == ["Share"]
    assert registry.pages(Side.PRACTITIONER) == []
