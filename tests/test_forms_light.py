"""The app stays light: few widgets at start, none built up by saving, lists updated in place.

Real widgets in plain pytest (no browser): every ipywidgets widget is a model in the kernel
and, once shown, in the browser, so the tests count live widget models the way other tests
count rows. The one-year demo workbook is the client's realistic load.
"""

from __future__ import annotations

import ctypes
import gc
import resource
import shutil
from collections.abc import Iterator
from pathlib import Path

import ipywidgets as W
import pytest
from ipywidgets.widgets.widget import _instances  # what Widget.widgets gives, without warning

from heron_research.demo import generate_demo
from heron_research.forms import App, workbook_app
from heron_research.forms.core import RecordForm
from heron_research.forms.record_fields import PeopleField, person_key
from heron_research.records import EMOTION_EPISODE, PERSON, PROJECTION_HYPOTHESIS, Person
from heron_research.workbook import Workbook

pytestmark = pytest.mark.unit

#: the issue's bound on the widget models the client's app shows when it opens
AT_FIRST_DISPLAY = 300
#: saves before the counts are taken: Recent's page of rows, the first rows of each list, and
#: the allocator and SQLite's page cache (bounded, 2 MB) settled (RSS grows ~1 MiB over them)
WARM_UP = 100


def live_widgets() -> int:
    """The live widget models in this process (``ipywidgets.Widget.widgets`` in 8.x)."""
    gc.collect()
    return len(_instances)


def rss_bytes() -> int:
    """This process's resident memory now (``/proc/self/statm``), after a collection."""
    gc.collect()
    ctypes.CDLL(None).malloc_trim(0)  # what the allocator keeps but does not use goes back
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


@pytest.fixture(scope="module")
def year_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The one-year demo workbook (seed 7), made once for the module."""
    path = tmp_path_factory.mktemp("year") / "demo.heron"
    generate_demo(path)
    return path


@pytest.fixture
def demo(year_demo: Path, tmp_path: Path) -> Path:
    """A copy of the one-year demo that a test may write to."""
    copy = tmp_path / "demo.heron"
    shutil.copy2(year_demo, copy)
    return copy


@pytest.fixture
def app(demo: Path) -> Iterator[App]:
    opened = workbook_app(demo)
    try:
        yield opened
    finally:
        opened.context.workbook.close()


def save_episode(form: RecordForm, i: int, *, emotions: int = 1) -> None:
    """Type an episode as a client does and click Save (the button's own handlers)."""
    form.field("situation").widget.value = f"Episode {i}: the bus was late again"
    rows = form.field("emotions")
    while len(rows.rows) < emotions:
        rows.add_button.click()
    for n, row in enumerate(rows.rows):
        for f in row.fields:
            if f.name == "emotion":
                f.widget.value = ("irritation", "worry", "relief")[n % 3]
            elif f.name == "intensity":
                f.widget.value = 1 + (i + n) % 10
    form.save_button.click()
    assert "✓ Saved" in form.status.value, form.status.value


def select(app: App, title: str) -> None:
    app.tabs.selected_index = list(app.tabs.titles).index(title)


# --- counts at first display and across saves ----------------------------------------------


def test_the_client_app_opens_on_the_year_demo_with_at_most_300_widget_models(
    demo: Path,
) -> None:
    before = live_widgets()
    app = workbook_app(demo)
    shown = live_widgets() - before
    assert shown <= AT_FIRST_DISPLAY, shown
    # only the tab it opens on is built; the rest, and Recent, when first shown
    assert app.forms.built() == [EMOTION_EPISODE]
    assert app.recent.widget.children == ()
    assert all(box.children == () for box in app.tabs.children[1:])
    app.context.workbook.close()


def visit_recent_and_edit(app: App, i: int) -> None:
    """Open Recent, edit its newest entry from there, save the change, go back to Today."""
    form = app.forms[EMOTION_EPISODE]
    select(app, "Recent")
    row = app.recent.list.children[0]
    next(b for b in row.children if getattr(b, "description", "") == "Edit").click()
    assert app.tabs.selected_index == 0 and form.editing is not None
    form.field("situation").widget.value = f"Edited from Recent {i}"
    form.save_button.click()
    assert "earlier version is kept" in form.status.value


def warm_up(app: App) -> None:
    """Saves, a visit to Recent with an edit, another tab opened: what a session starts with."""
    form = app.forms[EMOTION_EPISODE]
    for i in range(WARM_UP):
        save_episode(form, i, emotions=1 + i % 3)
    visit_recent_and_edit(app, 0)
    # every tab opened once, as a session does: each tab's forms built (hidden while the
    # client logs episodes) and every kind read, so SQLite's page cache (2 MiB a
    # connection) is as full as it gets and what grows after it is the forms' doing
    for title in [app.tabs.get_title(i) for i in range(len(app.tabs.children))]:
        select(app, title)
    select(app, "Today")


@pytest.mark.slow  # 5 s on a quiet machine, 13-30 s with other suites on its two cores
def test_400_saves_leave_live_widgets_and_memory_flat(app: App) -> None:
    form = app.forms[EMOTION_EPISODE]
    wb = app.context.workbook
    chips = form.field("people").widget.children
    warm_up(app)
    start = wb.counts()[EMOTION_EPISODE]
    widgets, rss = live_widgets(), rss_bytes()

    for i in range(400):
        chips[i % len(chips)].value = i % 2 == 0  # someone picked in every other entry
        save_episode(form, i, emotions=1 + i % 3)  # one to three emotion rows, reset after

    assert wb.counts()[EMOTION_EPISODE] == start + 400
    assert live_widgets() == widgets  # flat: not one widget more or fewer after warm-up
    grown = rss_bytes() - rss
    print(f"RSS {rss / 2**20:.1f} -> +{grown / 2**20:.2f} MiB")
    assert grown <= 0.02 * rss, f"RSS grew {grown / 2**20:.1f} MiB of {rss / 2**20:.1f} MiB"


def test_editing_from_recent_again_and_again_leaves_live_widgets_flat(app: App) -> None:
    warm_up(app)
    widgets = live_widgets()
    for i in range(40):
        visit_recent_and_edit(app, i)
        save_episode(app.forms[EMOTION_EPISODE], i, emotions=2)
    assert live_widgets() == widgets


# --- built when first shown -------------------------------------------------------------------


def test_a_tabs_forms_are_built_when_it_is_first_shown_or_a_form_is_asked_for(
    app: App,
) -> None:
    hypotheses = list(app.tabs.titles).index("Hypotheses")
    assert app.tabs.children[hypotheses].children == ()
    before = live_widgets()
    select(app, "Hypotheses")
    assert live_widgets() > before
    assert app.forms.built() == [EMOTION_EPISODE, PROJECTION_HYPOTHESIS]
    assert app.tabs.children[hypotheses].children == (app.forms[PROJECTION_HYPOTHESIS].widget,)
    shown = live_widgets()
    select(app, "Today")
    select(app, "Hypotheses")  # shown again: nothing new
    assert live_widgets() == shown
    # a form asked for by kind (a test, Recent's Edit) builds its own tab
    assert (
        app.forms[PERSON].widget
        in app.tabs.children[list(app.tabs.titles).index("People")].children
    )


def test_a_form_in_a_hidden_tab_catches_up_when_shown(app: App) -> None:
    select(app, "Hypotheses")
    select(app, "Today")  # the hypothesis form is hidden now
    people = app.forms[EMOTION_EPISODE].field("people")
    assert isinstance(people, PeopleField)
    people.new_alias.value = "Aunt Jo"
    stored = people.add_person()
    assert stored is not None
    select(app, "Hypotheses")
    form = app.forms[PROJECTION_HYPOTHESIS]
    assert ("Aunt Jo", stored.id) in form.field("person_id").widget.options


# --- Recent: a page at a time, rows kept ------------------------------------------------------


def test_recent_shows_a_page_and_refills_its_rows_in_place(app: App) -> None:
    select(app, "Recent")
    recent = app.recent
    assert recent.kind.value == EMOTION_EPISODE
    episodes = app.context.records(EMOTION_EPISODE)
    assert len(episodes) > 2 * recent.limit
    rows = recent.list.children
    assert len(rows) == recent.limit == 20
    assert recent.newer.disabled and not recent.older.disabled
    assert recent.where.value == f"1-20 of {len(episodes)}"
    first = [r.children[0].value for r in rows]

    recent.older.click()
    assert recent.list.children == rows  # the same row widgets, other entries in them
    assert [r.children[0].value for r in rows] != first
    assert recent.where.value == f"21-40 of {len(episodes)}"
    assert [s.id for s in recent.entries()] == [
        s.id for s in sorted(episodes, key=lambda s: (s.updated_at, s.id), reverse=True)[20:40]
    ]
    recent.newer.click()
    assert [r.children[0].value for r in recent.list.children] == first

    before = live_widgets()
    row = recent.list.children[0]
    next(b for b in row.children if getattr(b, "description", "") == "Delete").click()
    assert "Deleted" in recent.message.value
    assert recent.list.children == rows and live_widgets() == before
    assert app.context.workbook.counts()[EMOTION_EPISODE] == len(episodes) - 1


def test_recent_message_is_cleared_by_the_next_save(app: App) -> None:
    select(app, "Recent")
    row = app.recent.list.children[0]
    next(b for b in row.children if getattr(b, "description", "") == "Edit").click()
    assert "Opened" in app.recent.message.value
    form = app.forms[EMOTION_EPISODE]
    form.save_button.click()
    assert "earlier version is kept" in form.status.value
    assert app.recent.message.value == ""


# --- closing what is replaced -----------------------------------------------------------------


def test_rows_not_needed_after_a_save_are_closed_and_the_first_is_kept(app: App) -> None:
    form = app.forms[EMOTION_EPISODE]
    save_episode(form, 0, emotions=3)
    rows = form.field("emotions").rows
    assert len(rows) == 1
    kept = rows[0]
    save_episode(form, 1, emotions=3)
    extra = form.field("emotions").rows[1:]
    assert len(extra) == 0
    assert form.field("emotions").rows[0] is kept
    # and the rows the client added for the last entry were closed with their fields
    form.field("emotions").add_button.click()
    added = form.field("emotions").rows[1]
    save_episode(form, 2)
    assert added.box.comm is None
    assert all(f.widget.comm is None for f in added.fields)
    assert kept.box.comm is not None


def test_a_row_added_and_removed_before_saving_is_closed_at_once(app: App) -> None:
    form = app.forms[EMOTION_EPISODE]
    emotions = form.field("emotions")
    save_episode(form, 0)  # the form's first sweep is behind it
    start = live_widgets()
    for _ in range(20):  # a client adding a row by mistake and taking it away again
        emotions.add_button.click()
        row = emotions.rows[-1]
        row.box.children[-1].click()  # the row's own remove button
        assert row not in emotions.rows
        assert row.box.comm is None
        assert all(f.widget.comm is None for f in row.fields)
    assert live_widgets() == start
    save_episode(form, 1)  # and the form still saves, its first row kept
    assert live_widgets() == start


# --- people: one checkbox each, kept; no one twice; messages cleared --------------------------


def people_field(app: App) -> PeopleField:
    field = app.forms[EMOTION_EPISODE].field("people")
    assert isinstance(field, PeopleField)
    return field


def test_each_person_is_a_checkbox_whose_state_is_its_own_and_is_kept(app: App) -> None:
    people = people_field(app)
    chips = list(people.widget.children)
    register = app.context.records(PERSON)
    assert [c.description for c in chips] == [s.record.alias for s in register]
    # a checkbox: the tick is the state, and the browser tells assistive technology
    # (a toggle button shows it only as a shade, with no aria-pressed)
    assert all(isinstance(c, W.Checkbox) for c in chips)
    chips[0].value = True
    people.new_alias.value = "Noor"
    stored = people.add_person()
    assert stored is not None
    now = list(people.widget.children)
    assert now[: len(chips)] == chips  # the same checkboxes, one added
    assert [c.description for c in now[len(chips) :]] == ["Noor"]
    assert people.get() == [register[0].id, stored.id]
    # a person deleted elsewhere: their checkbox goes and is closed
    app.context.workbook.delete(register[1].id)
    app.context.changed(PERSON)
    people.refresh()
    assert chips[1] not in people.widget.children and chips[1].comm is None


@pytest.mark.parametrize("typed", ["Sam", "sam", "  SAM ", "Sám", "S\u0061\u0301m"])
def test_the_same_person_is_not_added_twice(app: App, typed: str) -> None:
    people = people_field(app)
    wb = app.context.workbook
    wb.save(Person(alias="Sam", relationship="friend"))
    app.context.changed(PERSON)
    count = wb.counts()[PERSON]
    people.new_alias.value = typed
    assert people.add_person() is None
    assert "Sam is already in your people" in people.new_message.value
    assert people.new_alias.value == typed  # what was typed is kept
    assert wb.counts()[PERSON] == count


def test_names_compare_without_case_accents_or_spacing() -> None:
    assert person_key("  Zoé  Martin ") == person_key("zoe martin") == "zoe martin"
    assert person_key("Sam") != person_key("Samir")


def test_the_added_message_is_cleared_after_the_next_save(app: App) -> None:
    people = people_field(app)
    people.new_alias.value = "Rui"
    assert people.add_person() is not None
    assert "Added Rui to your people" in people.new_message.value
    save_episode(app.forms[EMOTION_EPISODE], 0)
    assert people.new_message.value == ""


def test_a_workbook_opened_twice_gives_two_apps_of_their_own(demo: Path) -> None:
    """Shared layouts and styles are shared safely: closing one app's rows leaves the other's."""
    first, second = workbook_app(demo), workbook_app(Workbook.open(demo))
    for i in range(3):
        save_episode(first.forms[EMOTION_EPISODE], i, emotions=2)
    for form in (first.forms[EMOTION_EPISODE], second.forms[EMOTION_EPISODE]):
        row = form.field("emotions").rows[0]
        assert row.box.comm is not None and row.box.layout.comm is not None
        assert all(f.widget.layout.comm is not None for f in row.fields)
    first.context.workbook.close()
    second.context.workbook.close()


def test_the_people_form_refuses_a_name_already_there_and_keeps_the_typing(app: App) -> None:
    form = app.forms[PERSON]
    known = app.context.records(PERSON)[0].record.alias
    count = app.context.workbook.counts()[PERSON]
    form.field("alias").widget.value = f"  {known.upper()} "
    form.field("notes").widget.value = "from the People tab"
    form.save_button.click()
    assert f"{known} is already in your people" in form.field("alias").error.value
    assert f"{known} is already in your people" in form.status.value
    assert form.field("alias").widget.value == f"  {known.upper()} "
    assert form.field("notes").widget.value == "from the People tab"
    assert app.context.workbook.counts()[PERSON] == count
    # editing someone keeps their own name
    form.edit(app.context.records(PERSON)[0])
    form.field("notes").widget.value = "still me"
    form.save_button.click()
    assert "earlier version is kept" in form.status.value
