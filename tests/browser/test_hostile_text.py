"""Hostile text end to end (issue 6, case 6): typed as text, stored as text, shown as text.

Promise: whatever a client (or practitioner) types (markup, ``javascript:`` links, template
and LaTeX syntax, SQL) is kept byte for byte in the workbook, and every report shows it as
the text it is. Nothing in it runs, opens a dialog, loads anything or touches the database,
and no report is refused because of it.

How it is checked, with the real parts only:

1. **Forms → workbook.** The client's app (``workbook_app``) and the practitioner's app
   (``practitioner_app``) are filled through their widgets, as ``tests/test_forms.py`` does:
   every free-text field of every form (episode with its emotion and technique rows, person
   and the episode form's quick add, hypothesis and its evidence note, inquiry and its
   reflection, agenda item, review rating, consent note, co-counselling; decision, peer
   review, agenda response, own reaction, intervention; the check-in has no free text) gets
   a hostile string, and Save is clicked. Entries are shared for research, with research consent, so
   every report may show them. Read back through a new connection, every typed value is
   byte-equal to what was typed; the tables are those of a new workbook, the row counts
   are the saves made, and ``PRAGMA integrity_check`` is ok (the SQL never ran).
2. **The forms' own HTML.** Every HTML widget that shows the text (save confirmations, the
   Recent lists, the edit banner and message, the quick-add message, the agenda item a
   practitioner answers) is put into a page in Chromium with ``innerHTML``, as ipywidgets
   shows it, checked like a report, and must show its words exactly.
3. **Every report** the CLI writes, each as its own ``heron-research`` process: the
   peer-review and hand-over reports, for the client and for the practitioner, and the
   cohort report (``batch --free-text scrubbed --k 1``, so the client's own technique names
   reach the dataset, then ``cohort-report``). None may be refused.
4. **In headless Chromium**, each report is opened from ``file://`` twice: as written, and as
   a copy without its Content-Security-Policy (so that the escaping is tested, not only the
   CSP). An init script traps ``alert``/``confirm``/``prompt`` and watches ``window.__pwned``
   (which every hostile script would set); every request but the page itself is counted and
   blocked; every link is clicked. Then: no dialog, ``__pwned`` never written, no page
   error, no element with an ``on*`` attribute, no ``javascript:`` URL in a link or source
   attribute (as the browser decoded it: entities, case and spaces undone), no script,
   frame, object, embed, image, form, base or link element, no CSP violation, and every
   hostile string in ``document.body.innerText``: verbatim, or in the cohort report as the
   dataset keeps own words (lower-cased). The review report must also name one in a chart.
5. **The checks can fail**: a control page with the strings *unescaped* trips every one, and
   the offline gate (``check_offline``) refuses real markup but not the same words as text.

Scale: ``test`` types the 12 core strings into 4 entries per form; ``full`` types 45 (the
core and more tricks: case, entities, comments, other elements, loads, SQL) into one entry
per string, so every field takes every string. Figures (case 6): hostile strings, fields
filled through forms, records saved, values stored verbatim, reports checked, and (must be
0) values changed in storage, reports refused, scripts executed, dialogs, event-handler
attributes, ``javascript:`` links, network requests, active elements, CSP violations.
"""

from __future__ import annotations

import html
import os
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as W
import pytest
from figures import Figures, Scale

from heron_research.forms import App, practitioner_app, workbook_app
from heron_research.forms.core import RecordForm
from heron_research.forms.fields import ListField
from heron_research.forms.kinds import describe
from heron_research.reports.html import check_offline
from heron_research.vocab import normalise_term
from heron_research.workbook import Workbook
from heron_research.workbook.store import StoredRecord

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

pytestmark = [pytest.mark.reliability, pytest.mark.browser]

CASE = 6

#: Every hostile script sets ``window.__pwned`` or opens a dialog; each is at most 60
#: characters (the shortest free-text limit, an emotion's own word) and has no surrounding
#: spaces (the models strip those).
CORE = (
    "<script>window.__pwned=1</script>",
    '<img src=x onerror="window.__pwned=2;alert(2)">',
    '<a href="javascript:window.__pwned=3">click</a>',
    "javascript:alert(4)",
    "[x](javascript:alert(5))",
    '<svg onload="window.__pwned=6;alert(6)">',
    '"><iframe srcdoc="<script>top.__pwned=7</script>">',
    "{{7*7}} ${7*7} <%= 7*7 %>",
    r"$\href{javascript:alert(8)}{x}$",
    "'); DROP TABLE records; --",
    '" OR 1=1 --',
    "Robert'); DELETE FROM revisions;--",
)

#: More at ``full`` scale: case and entity tricks, breaking out of other contexts, more
#: elements with handlers, things that would load from elsewhere, more SQL.
EXTRA = (
    "<ScRiPt>window.__pwned=10</sCrIpT>",
    "<scr<script>ipt>window.__pwned=11</script>",
    '<a href="&#106;avascript:alert(12)">entity</a>',
    '<a href=" JaVaScRiPt:alert(13)">case</a>',
    '<a href="java&#x09;script:alert(14)">tab</a>',
    '<details open ontoggle="window.__pwned=15">',
    '<input autofocus onfocus="window.__pwned=16">',
    '<body onload="window.__pwned=17">',
    '<svg><a href="javascript:alert(18)"><text>x</text></a>',
    "<svg><animate onbegin=window.__pwned=19 attributeName=x>",
    '<math><mi xlink:href="javascript:alert(20)">m</mi></math>',
    '<iframe src="javascript:alert(21)"></iframe>',
    '<object data="javascript:alert(22)"></object>',
    '<embed src="javascript:alert(23)">',
    '<form action="javascript:alert(24)"><button>go</button>',
    '<meta http-equiv="refresh" content="0;url=//x.invalid/">',
    '<base href="//x.invalid/">',
    '<link rel=stylesheet href="//x.invalid/a.css">',
    '<style>@import "//x.invalid/b.css";</style>',
    '<div style="background:url(//x.invalid/c)">bg</div>',
    "</textarea><script>window.__pwned=25</script>",
    "--><script>window.__pwned=26</script><!--",
    "</style></title><script>window.__pwned=27</script>",
    "<x onclick=alert(28)>click me</x>",
    "<img src=x onerror=alert&#40;29&#41;>",
    "&lt;script&gt;alert(30)&lt;/script&gt;",
    "%3Cscript%3Ealert(31)%3C/script%3E",
    "'; alert(32); var x='",
    "{% raw %}{{ config }}{% endraw %}",
    "\u202e<b>rtl</b> مرحبا 😀",
    "' UNION SELECT data FROM records --",
    "1; DROP TABLE revisions",
    "Robert'); DROP TABLE meta;--",
)

#: A technique used in every episode, so that technique charts (SVG) carry hostile labels.
RECURRING = CORE[1]

#: seconds: one report command at most; a test that makes the workbook or the reports
#: (full scale: ~600 saves through the widgets, reports on ~45 entries of each kind)
REPORT_TIMEOUT = 600
TEST_TIMEOUT = 1200


def hostile_strings(scale: Scale) -> tuple[str, ...]:
    strings = scale.pick(test=CORE, full=CORE + EXTRA)
    assert len(set(strings)) == len(strings)
    assert all(len(s) <= 60 and s == s.strip() for s in strings)
    return strings


# --- forms -> workbook ---------------------------------------------------------------------------


@dataclass
class Typed:
    """A value typed into a widget, and where in the saved record it should be."""

    record_id: str
    path: tuple[str | int, ...]
    value: str


@dataclass
class Entered:
    """What the forms did: the workbook, what was typed, what each HTML widget showed."""

    workbook: Path
    strings: tuple[str, ...]
    #: entries made with each form
    entries: int
    typed: list[Typed] = field(default_factory=list)
    saves: list[StoredRecord] = field(default_factory=list)
    fields_filled: int = 0
    #: (where, the widget's HTML, text it must show)
    widget_html: list[tuple[str, str, str]] = field(default_factory=list)


class Typist:
    """Types hostile strings into widgets and saves, remembering what went where."""

    def __init__(self, entered: Entered) -> None:
        self.entered = entered
        self.strings = entered.strings
        self.entries = entered.entries
        self._pending: list[tuple[tuple[str | int, ...], str]] = []

    def pick(self, i: int, j: int) -> str:
        """Entry ``i``'s ``j``-th text. Field ``j`` of the form's entries gets strings
        ``j * entries`` onwards, so a form's first fields between them take every string
        (with as many entries as strings, every field takes every string)."""
        return self.strings[(i + j * self.entries) % len(self.strings)]

    def type(self, widget: W.Widget, path: tuple[str | int, ...], value: str) -> None:
        widget.value = value
        self._pending.append((path, value))
        self.entered.fields_filled += 1

    def texts(self, form: RecordForm, names: list[str], i: int, start: int = 0) -> None:
        for j, name in enumerate(names, start):
            self.type(form.field(name).widget, (name,), self.pick(i, j))

    def save(self, form: RecordForm, where: str) -> StoredRecord:
        form.save_button.click()
        stored = form.last_saved
        assert stored is not None and "✓ Saved" in form.status.value, (where, form.status.value)
        self.saved(stored, where)
        self.entered.widget_html.append(
            (f"{where}: confirmation", form.status.value, stored.record.describe())
        )
        return stored

    def saved(self, stored: StoredRecord, where: str) -> None:
        self.entered.saves.append(stored)
        self.entered.typed += [Typed(stored.id, path, value) for path, value in self._pending]
        self._pending = []


def rows(field_: Any, n: int) -> list[Any]:
    assert isinstance(field_, ListField)
    while len(field_.rows) < n:
        field_.add_button.click()
    return field_.rows


def row_widget(row: Any, name: str) -> W.Widget:
    return next(f.widget for f in row.fields if f.name == name)


def enter_people(app: App, t: Typist) -> list[str]:
    form = app.forms["person"]
    ids = []
    for i in range(t.entries):
        t.texts(form, ["alias", "notes"], i)
        form.field("relationship").widget.value = ("partner", "manager", "friend")[i % 3]
        form.field("sharing").widget.value = "research"
        ids.append(t.save(form, "person").id)
    return ids


def quick_add_person(app: App, t: Typist) -> None:
    """The episode form's quick add (a private person, after the episodes: it is picked)."""
    people = app.forms["emotion_episode"].field("people")
    alias = f"quick {t.pick(0, 2)}"
    t.type(people.new_alias, ("alias",), alias)
    stored = people.add_person()
    assert stored is not None, people.new_message.value
    t.saved(stored, "quick add")
    t.entered.widget_html.append(("quick add message", people.new_message.value, alias))


def techniques(t: Typist, i: int) -> list[str]:
    """Episode ``i``'s techniques: the recurring one, and its share of all the others."""
    others = [s for s in t.strings if s != RECURRING]
    return [RECURRING, *others[i :: t.entries]]


def enter_episodes(app: App, t: Typist, people: list[str]) -> list[str]:
    form = app.forms["emotion_episode"]
    ids = []
    for i in range(t.entries):
        t.texts(form, ["situation", "body_sensations", "thoughts", "what_i_did", "notes"], i)
        [emotion] = rows(form.field("emotions"), 1)
        t.type(row_widget(emotion, "emotion"), ("emotions", 0, "emotion"), t.pick(i, 5))
        row_widget(emotion, "intensity").value = 8
        chips = form.field("people").widget.children
        next(c for c in chips if c.description == t.pick(i, 0)).value = True
        used = techniques(t, i)
        for k, (row, technique) in enumerate(
            zip(rows(form.field("self_management"), len(used)), used, strict=True)
        ):
            t.type(row_widget(row, "technique"), ("self_management", k, "technique"), technique)
            row_widget(row, "skill").value = ("control", "transmutation")[k % 2]
            row_widget(row, "intensity_after").value = 1 + (i + k) % 4
        form.field("proportionality").widget.value = 6
        form.field("sharing").widget.value = "research"
        stored = t.save(form, "episode")
        assert stored.record.people == [people[i]]  # type: ignore[attr-defined]
        ids.append(stored.id)
    return ids


def enter_hypotheses(app: App, t: Typist, people: list[str], episodes: list[str]) -> list[str]:
    form = app.forms["projection_hypothesis"]
    ids = []
    for i in range(t.entries):
        form.field("person_id").widget.value = people[i]
        t.texts(form, ["situation", "reaction", "echoes", "unprocessed_emotion", "prediction"], i)
        [evidence] = rows(form.field("evidence"), 1)
        row_widget(evidence, "episode_id").value = episodes[i]
        t.type(row_widget(evidence, "note"), ("evidence", 0, "note"), t.pick(i, 5))
        form.field("confidence").widget.value = 60
        form.field("status").widget.value = ("supported", "resolved", "revised")[i % 3]
        form.field("sharing").widget.value = "research"
        ids.append(t.save(form, "hypothesis").id)
    return ids


def enter_inquiries(app: App, t: Typist, hypotheses: list[str], episodes: list[str]) -> None:
    form = app.forms["inquiry_cycle"]
    knowing = ("experiential", "presentational", "propositional", "practical")
    for i in range(t.entries):
        t.texts(form, ["question", "next_step", "plan", "observations"], i)
        form.field("hypothesis_id").widget.value = hypotheses[i]
        [observed] = rows(form.field("episode_ids"), 1)
        row_widget(observed, "episode_id").value = episodes[i]
        reflection = form.field("reflection")
        for j, name in enumerate(knowing, 4):
            widget = next(f.widget for f in reflection.fields if f.name == name)
            t.type(widget, ("reflection", name), t.pick(i, j))
        t.texts(form, ["outcome"], i, start=8)
        form.field("status").widget.value = "acting"
        form.field("sharing").widget.value = "research"
        t.save(form, "inquiry")


def enter_simple(app: App, t: Typist, kind: str, texts: list[str], **values: Any) -> list[str]:
    """Forms with only text and fixed choices: each entry's texts, then Save. A tuple of
    values is taken in turn."""
    form = app.forms[kind]
    ids = []
    for i in range(t.entries):
        t.texts(form, texts, i)
        for name, value in values.items():
            chosen = value[i % len(value)] if isinstance(value, tuple) else value
            form.field(name).widget.value = chosen
        ids.append(t.save(form, kind).id)
    return ids


def answer_agenda(app: App, t: Typist) -> None:
    """The practitioner picks each item the client raised and answers it (a response of
    their own: the client's item is not edited)."""
    form = app.forms["agenda_response"]
    picker = form.field("agenda_item_id").widget
    [raised] = [w for w in form.widget.children if "heron-agenda-raised" in w._dom_classes]
    items = [value for _, value in picker.options if value]
    assert len(items) == t.entries
    for i, item in enumerate(items):
        picker.value = item
        text = app.context.workbook.get_stored(item).record.text  # type: ignore[attr-defined]
        t.entered.widget_html.append(("agenda item answered", raised.value, text))
        t.texts(form, ["response"], i, start=1)
        t.save(form, "agenda response")


def snapshot_recent(app: App, t: Typist, who: str) -> None:
    """Every Recent list, and the banner and message shown when an entry is opened."""
    recent = app.recent
    for kind in recent.forms:
        recent.kind.value = kind
        entries = recent.entries()
        if not entries:  # check-ins: nothing typed, none saved
            continue
        for stored, row in zip(entries, recent.list.children, strict=True):
            label = row.children[0]
            t.entered.widget_html.append((f"{who} recent {kind}", label.value, describe(stored)))
        first = recent.list.children[0].children
        next(b for b in first if getattr(b, "description", "") == "Edit").click()
        form = recent.forms[kind]
        what = entries[0].record.describe()
        t.entered.widget_html.append((f"{who} edit banner {kind}", form.edit_banner.value, what))
        opened = describe(entries[0])
        t.entered.widget_html.append((f"{who} opened {kind}", recent.message.value, opened))
        form.cancel_button.click()


def fill_client_forms(app: App, t: Typist) -> None:
    yes = {"training": True, "practitioner_sharing": True, "research": True}
    enter_simple(app, t, "consent", ["note"], **yes)
    people = enter_people(app, t)
    episodes = enter_episodes(app, t, people)
    quick_add_person(app, t)
    hypotheses = enter_hypotheses(app, t, people, episodes)
    enter_inquiries(app, t, hypotheses, episodes)
    kinds = ("satisfaction", "dissatisfaction", "request", "question")
    enter_simple(app, t, "agenda_item", ["text"], item_type=kinds, sharing="research")
    rating = app.forms["review_rating"]
    for i in range(t.entries):
        rating.field("ratings").fields[3].widget.value = 7
        rating.field("client_view").widget.value = "continue"
        t.texts(rating, ["note"], i)
        rating.field("sharing").widget.value = "research"
        t.save(rating, "review rating")
    enter_simple(
        app,
        t,
        "co_counselling_session",
        ["peer_alias", "worked_on", "re_evaluation", "discharge"],
        minutes_as_client=40,
        minutes_as_counsellor=40,
        sharing="research",
    )
    snapshot_recent(app, t, "client")


def fill_practitioner_forms(app: App, t: Typist) -> None:
    enter_simple(
        app,
        t,
        "focus_decision",
        ["decision", "notes"],
        topic=("focus", "method", "homework"),
        proposed_by="both",
        decided_by=("autonomy", "co-operation"),
        sharing="research",
    )
    review = app.forms["peer_review"]
    for i in range(t.entries):
        review.field("period_start").widget.value = date.today() - timedelta(days=30)
        review.field("period_end").widget.value = date.today()
        for name in ("practitioner_view", "agreed_outcome"):
            review.field(name).widget.value = "continue"
        t.texts(review, ["reason", "dissent"], i)
        review.field("sharing").widget.value = "research"
        t.save(review, "peer review")
    answer_agenda(app, t)
    enter_simple(app, t, "practitioner_reaction", ["reaction", "possible_source", "how_addressed"])
    enter_simple(
        app,
        t,
        "intervention",
        ["description"],
        intended="catalytic",
        perceived="supportive",
        sharing="research",
    )
    snapshot_recent(app, t, "practitioner")


@pytest.fixture(scope="module")
def entered(tmp_path_factory: pytest.TempPathFactory, scale: Scale) -> Iterator[Entered]:
    """A workbook filled through both apps' widgets with hostile text, every field."""
    strings = hostile_strings(scale)
    path = tmp_path_factory.mktemp("hostile") / "client.heron"
    done = Entered(path, strings, entries=scale.pick(test=4, full=len(strings)))
    t = Typist(done)
    with Workbook.create(path) as wb:
        fill_client_forms(workbook_app(wb), t)
        fill_practitioner_forms(practitioner_app(wb), t)
    yield done


def value_at(data: Any, path: tuple[str | int, ...]) -> Any:
    for step in path:
        data = data[step]
    return data


def table_names(db: sqlite3.Connection) -> set[str]:
    rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {name for (name,) in rows}


@pytest.mark.timeout(TEST_TIMEOUT)
def test_forms_store_hostile_text_verbatim_and_the_sql_never_runs(
    entered: Entered, figures: Figures, tmp_path: Path
) -> None:
    with Workbook.open(entered.workbook, readonly=True) as wb:
        current = {t.record_id: wb.get(t.record_id).to_data() for t in entered.typed}
        counts = wb.counts()
    changed = [t for t in entered.typed if value_at(current[t.record_id], t.path) != t.value]
    verbatim = [
        t
        for t in entered.typed
        if value_at(current[t.record_id], t.path).encode("utf-8") == t.value.encode("utf-8")
    ]
    ids = {s.id for s in entered.saves}
    expected: dict[str, int] = {}
    for stored in {s.id: s for s in entered.saves}.values():
        expected[stored.kind] = expected.get(stored.kind, 0) + 1
    fresh = tmp_path / "fresh.heron"
    Workbook.create(fresh).close()
    db = sqlite3.connect(f"file:{entered.workbook}?mode=ro", uri=True)
    clean = sqlite3.connect(f"file:{fresh}?mode=ro", uri=True)
    try:
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
        tables, fresh_tables = table_names(db), table_names(clean)
        records = db.execute("SELECT count(*) FROM records").fetchone()[0]
        revisions = db.execute("SELECT count(*) FROM revisions").fetchone()[0]
    finally:
        db.close()
        clean.close()

    figures.record(CASE, "hostile strings", len(entered.strings))
    figures.record(CASE, "fields filled through forms", entered.fields_filled)
    figures.record(CASE, "records saved through forms", len(entered.saves))
    figures.record(
        CASE, "typed values stored verbatim", len(verbatim), note=f"of {len(entered.typed)}"
    )
    figures.record(CASE, "typed values changed in storage", len(changed), must_be_zero=True)

    assert changed == []
    assert len(verbatim) == len(entered.typed) == entered.fields_filled
    assert set(entered.strings) <= {t.value for t in entered.typed}
    assert integrity == "ok"
    assert tables == fresh_tables and {"records", "revisions", "meta"} <= tables
    assert (records, revisions) == (len(ids), len(entered.saves))
    assert {k: v for k, v in counts.items() if v} == expected


# --- Chromium -------------------------------------------------------------------------------------

#: Runs before any of the page's own code, in every frame: traps dialogs, records every
#: write to ``window.__pwned`` and every CSP violation.
WATCHER = """
(() => {
  const seen = {writes: [], dialogs: [], violations: []};
  Object.defineProperty(window, '__heronSeen', {value: seen});
  let pwned;
  Object.defineProperty(window, '__pwned', {
    configurable: false,
    get() { return pwned; },
    set(v) { seen.writes.push(String(v)); pwned = v; },
  });
  for (const name of ['alert', 'confirm', 'prompt', 'print']) {
    window[name] = (...args) => { seen.dialogs.push(name + '(' + args.join(',') + ')'); };
  }
  document.addEventListener('securitypolicyviolation',
    (e) => seen.violations.push(e.violatedDirective + ' ' + e.blockedURI), true);
})();
"""

#: What is in the page: handlers, javascript: URLs, active elements, links.
SCAN = r"""
() => {
  const found = {handlers: [], jsUrls: [], elements: [], links: 0};
  const urlAttrs = ['href', 'xlink:href', 'src', 'action', 'formaction', 'data', 'srcdoc',
                    'poster', 'background', 'ping', 'codebase', 'cite', 'content'];
  const bare = (v) => v.replace(/[\u0000-\u0020\u007f-\u00a0]/g, '').toLowerCase();
  for (const el of document.querySelectorAll('*')) {
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      if (name.startsWith('on')) found.handlers.push(`${el.localName} ${name}`);
      if (urlAttrs.includes(name) && /(java|vb)script:/.test(bare(attr.value))) {
        found.jsUrls.push(`${el.localName} ${name}=${attr.value}`);
      }
    }
    if (typeof el.protocol === 'string' && el.protocol === 'javascript:') {
      found.jsUrls.push(`${el.localName} protocol javascript:`);
    }
  }
  const active = 'script, iframe, frame, frameset, object, embed, applet, img, image, video, '
    + 'audio, source, form, input, button, base, link, meta[http-equiv="refresh" i]';
  for (const el of document.querySelectorAll(active)) found.elements.push(el.localName);
  found.links = document.querySelectorAll('a[href], area[href]').length;
  found.chartLabels = [...document.querySelectorAll('svg [aria-label]')]
    .map((el) => el.getAttribute('aria-label'));
  return found;
}
"""

CLICK_LINKS = """
() => {
  const links = [...document.querySelectorAll('a[href], area[href]')];
  for (const a of links) a.click();
  return links.length;
}
"""

SEEN = "() => window.__heronSeen || {writes: [], dialogs: [], violations: []}"


@dataclass
class Inspection:
    """What Chromium saw of one page."""

    name: str
    requests: list[str] = field(default_factory=list)
    native_dialogs: list[str] = field(default_factory=list)
    writes: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    handlers: list[str] = field(default_factory=list)
    js_urls: list[str] = field(default_factory=list)
    elements: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    links_clicked: int = 0
    text: str = ""
    #: the aria-labels in the page's charts (where a chart names its data)
    chart_labels: list[str] = field(default_factory=list)
    pwned_type: str = "undefined"

    def problems(self) -> list[str]:
        return [
            f"{self.name}: {label}: {value}"
            for label, value in (
                ("requests", self.requests),
                ("dialogs", self.native_dialogs + self.dialogs),
                ("__pwned written", self.writes),
                ("CSP violations", self.violations),
                ("page errors", self.errors),
                ("on* attributes", self.handlers),
                ("javascript: URLs", self.js_urls),
                ("active elements", self.elements),
            )
            if value
        ] + (
            [f"{self.name}: typeof __pwned is {self.pwned_type}"]
            if self.pwned_type != "undefined"
            else []
        )


def normal(text: str) -> str:
    return " ".join(text.split())


#: Waits until every image, frame and media element has loaded or failed (so any handler
#: on it has run).
SETTLE = """
() => Promise.all([...document.querySelectorAll('img, iframe, video, audio, object, embed')]
  .filter((el) => {
    if (el.localName === 'img') return !el.complete;
    if (el.localName !== 'iframe') return true;
    try { return el.contentDocument.readyState !== 'complete'; } catch (e) { return true; }
  })
  .map((el) => new Promise((done) => {
    el.addEventListener('load', done); el.addEventListener('error', done);
    setTimeout(done, 1000);  // at most: an element may never say
  })))
"""

#: Sets each value as the innerHTML of a new div, exactly as ipywidgets' HTML widget shows it.
FILL = """
(values) => { for (const value of values) {
  const div = document.createElement('div');
  document.body.appendChild(div);
  div.innerHTML = value;
} }
"""


@dataclass
class Watched:
    """A page opened with the watcher, every request but its own blocked."""

    context: BrowserContext
    page: Page
    seen: Inspection
    url: str


def watch(browser: Browser, url: str, name: str) -> Watched:
    seen = Inspection(name)
    context = browser.new_context(java_script_enabled=True)
    context.add_init_script(WATCHER)

    def route(r: Any) -> None:
        if r.request.url == url:
            r.continue_()
        else:
            seen.requests.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("request", lambda r: seen.requests.append(r.url) if r.url != url else None)
    page.on("dialog", lambda d: (seen.native_dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: seen.errors.append(str(e)))
    page.goto(url, wait_until="load")
    return Watched(context, page, seen, url)


def conclude(watched: Watched, fill: list[str] | None = None) -> Inspection:
    """Optionally ``fill`` the page; let it settle; scan it; click every link; collect."""
    page, seen = watched.page, watched.seen
    if fill is not None:
        page.evaluate(FILL, fill)
    page.evaluate(SETTLE)
    page.wait_for_load_state("networkidle")
    found = page.evaluate(SCAN)
    seen.handlers, seen.js_urls, seen.elements = (
        found["handlers"],
        found["jsUrls"],
        found["elements"],
    )
    seen.chart_labels = found["chartLabels"]
    seen.text = page.evaluate("() => document.body.innerText")
    seen.links_clicked = page.evaluate(CLICK_LINKS)
    if seen.links_clicked:
        page.evaluate(SETTLE)
    assert page.url.split("#")[0] == watched.url, f"a link left the page: {page.url}"
    seen.pwned_type = page.evaluate("() => typeof window.__pwned")
    for frame in page.frames:
        got = frame.evaluate(SEEN)
        seen.writes += got["writes"]
        seen.dialogs += got["dialogs"]
        seen.violations += got["violations"]
    seen.requests = sorted(set(seen.requests))
    return seen


def open_inert(browser: Browser, url: str, name: str, fill: list[str] | None = None) -> Inspection:
    """Open ``url`` with the watcher, optionally ``fill`` it, and report what was seen."""
    watched = watch(browser, url, name)
    try:
        return conclude(watched, fill)
    finally:
        watched.context.close()


CSP = re.compile(r'<meta http-equiv="Content-Security-Policy"[^>]*>\n?')


def without_csp(report: Path) -> Path:
    """A copy of ``report`` without its Content-Security-Policy: escaping alone must hold."""
    page = report.read_text(encoding="utf-8")
    stripped, n = CSP.subn("", page)
    assert n == 1, "the report should carry exactly one CSP meta element"
    copy = report.with_name(f"{report.stem}.no-csp.html")
    copy.write_text(stripped, encoding="utf-8")
    return copy


def inspect_reports(browser: Browser, reports: list[Path]) -> list[Inspection]:
    """Each report as written and without its CSP; all are opened first, so that the
    pages settle side by side."""
    pages = [(r.as_uri(), r.stem) for r in reports]
    pages += [(without_csp(r).as_uri(), f"{r.stem} without CSP") for r in reports]
    watched: list[Watched] = []
    try:
        for url, name in pages:
            watched.append(watch(browser, url, name))
        return [conclude(w) for w in watched]
    finally:
        for w in watched:
            w.context.close()


# --- reports ------------------------------------------------------------------------------------

KEY_TEXT = b"hostile-text-study-key-4Rt9-not-for-real-use"


#: the installed command (beside this Python), as a user runs it
COMMAND = Path(sys.executable).with_name("heron-research")


def heron(*args: object) -> tuple[str, float]:
    """Run ``heron-research ARGS`` as its own process: ("" if it succeeded, else the line it
    printed on stderr), and the seconds it took."""
    started = time.monotonic()
    done = subprocess.run(
        [str(COMMAND), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=REPORT_TIMEOUT,
        check=False,
    )
    problem = "" if done.returncode == 0 else done.stderr.strip() or f"exit {done.returncode}"
    return problem, time.monotonic() - started


@dataclass
class Reports:
    """The reports written (by name), those the CLI refused to write, and the time taken."""

    pages: dict[str, Path] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def write(self, name: str, out: Path, *args: object) -> bool:
        problem, self.seconds[name] = heron(*args, "--out", out)
        if problem:
            self.refused[name] = problem
        elif out.suffix == ".html":
            self.pages[name] = out
        return not problem

    def page(self, name: str) -> Path:
        assert name in self.pages, f"{name} was not written: {self.refused.get(name)}"
        return self.pages[name]


@pytest.fixture(scope="module")
def reports(entered: Entered) -> Reports:
    """Every report the CLI writes, on the hostile workbook: review and hand-over for the
    client and the practitioner, and the cohort report on a scrubbed-text dataset with
    k = 1 (so the client's own technique names are kept). The commands run side by side,
    one process each; a report the CLI refuses is noted, and the others are still made."""
    out = entered.workbook.parent / "reports"
    key = out / "study.key"
    out.mkdir(mode=0o700)
    key.write_bytes(KEY_TEXT + b"\n")
    os.chmod(key, 0o600)
    made = Reports()

    def cohort() -> None:
        if made.write(
            "dataset", out / "dataset", "batch", entered.workbook, "--key-file", key,
            "--workers", "1", "--free-text", "scrubbed", "--k", "1",
        ):  # fmt: skip
            made.write("cohort", out / "cohort.html", "cohort-report", out / "dataset")

    def report(kind: str, who: str) -> None:
        name = f"{kind}-{who}"
        args = ("report", entered.workbook, "--kind", kind, "--audience", who)
        made.write(name, out / f"{name}.html", *args)

    kinds = [(kind, who) for kind in ("review", "handover") for who in ("client", "practitioner")]
    jobs = [cohort, *(partial(report, kind, who) for kind, who in kinds)]
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 1)) as pool:
        for job in [pool.submit(job) for job in jobs]:
            job.result()
    made.pages = dict(sorted(made.pages.items()))
    return made


@pytest.mark.timeout(TEST_TIMEOUT)
def test_form_widgets_show_hostile_text_escaped(
    browser: Browser, entered: Entered, tmp_path: Path
) -> None:
    blank = tmp_path / "widgets.html"
    blank.write_text(
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>widgets</title></head>'
        "<body></body></html>",
        encoding="utf-8",
    )
    values = [value for _, value, _ in entered.widget_html]
    seen = open_inert(browser, blank.as_uri(), "form widgets", fill=values)
    text = normal(seen.text)
    missing = [
        (where, shown) for where, _, shown in entered.widget_html if normal(shown) not in text
    ]

    assert len(entered.widget_html) > 3 * len(entered.strings)
    assert seen.problems() == []
    assert missing == []


def own_word_scrubber(workbook: Path) -> Callable[[str], str]:
    """The research batch's name scrub for this workbook's own words (its people register:
    the hostile strings are names there too, so an own word holding one is scrubbed)."""
    from datetime import UTC, datetime

    from heron_research.research.anonymise import Scrubber
    from heron_research.research.sources import open_source, sniff
    from heron_research.research.task import extract

    with open_source(workbook, sniff(workbook), datetime.now(UTC)) as wb:
        data, code = extract(wb, with_names=True)
    assert data is not None, code
    return Scrubber(data.names)


def as_shown(text: str, report: str, scrub: Callable[[str], str]) -> str:
    """How ``report`` shows ``text``: as typed, or in the cohort report as the research
    dataset keeps own words (names scrubbed, lower-cased, spaces folded, so that
    participants' words pool)."""
    return normalise_term(scrub(text)) if report.startswith("cohort") else normal(text)


@pytest.mark.timeout(TEST_TIMEOUT)
def test_every_report_shows_hostile_text_inert_in_chromium(
    browser: Browser, entered: Entered, reports: Reports, figures: Figures
) -> None:
    seen = inspect_reports(browser, list(reports.pages.values()))
    scrub = own_word_scrubber(entered.workbook)
    absent = {
        look.name: [
            s for s in entered.strings if as_shown(s, look.name, scrub) not in normal(look.text)
        ]
        for look in seen
    }
    shown = sum(len(entered.strings) - len(missing) for missing in absent.values())
    charted = {
        look.name: [
            s for s in entered.strings
            if any(as_shown(s, look.name, scrub) in normal(label) for label in look.chart_labels)
        ]
        for look in seen
        if not look.name.endswith("without CSP")
    }  # fmt: skip

    figures.record(
        CASE, "reports checked in Chromium", len(reports.pages), note=", ".join(reports.pages)
    )
    figures.record(
        CASE, "reports refused (not written)", len(reports.refused), must_be_zero=True,
        note="; ".join(f"{k}: {v}" for k, v in reports.refused.items()),
    )  # fmt: skip
    figures.record(
        CASE, "hostile strings shown verbatim", shown,
        note=f"of {len(entered.strings)} in each of {len(seen)} page loads (with and without CSP)",
    )  # fmt: skip
    figures.record(CASE, "scripts executed", sum(len(s.writes) for s in seen), must_be_zero=True)
    dialogs = sum(len(s.dialogs) + len(s.native_dialogs) for s in seen)
    figures.record(CASE, "dialogs", dialogs, must_be_zero=True)
    handlers = sum(len(s.handlers) for s in seen)
    figures.record(CASE, "event-handler attributes", handlers, must_be_zero=True)
    figures.record(CASE, "javascript: links", sum(len(s.js_urls) for s in seen), must_be_zero=True)
    requests = sum(len(s.requests) for s in seen)
    figures.record(CASE, "network requests", requests, must_be_zero=True)
    elements = sum(len(s.elements) for s in seen)
    figures.record(CASE, "script, iframe, img... elements", elements, must_be_zero=True)
    violations = sum(len(s.violations) for s in seen)
    figures.record(CASE, "CSP violations", violations, must_be_zero=True)
    figures.record(CASE, "links clicked", sum(s.links_clicked for s in seen))
    figures.record(
        CASE, "hostile strings named in charts", sum(map(len, charted.values())),
        note=", ".join(f"{name} {len(found)}" for name, found in charted.items()),
    )  # fmt: skip
    print(f"seconds per report: { {k: round(v, 1) for k, v in reports.seconds.items()} }")

    assert [p for s in seen for p in s.problems()] == []
    assert {name: missing for name, missing in absent.items() if missing} == {}
    assert reports.refused == {}
    assert reports.page("review-client").read_text(encoding="utf-8").count("<svg") >= 3
    assert charted["review-client"], "no chart in the review named a hostile string"


def test_the_checks_catch_unescaped_text(browser: Browser, tmp_path: Path) -> None:
    """The same checks on a page holding the strings *unescaped* find every kind of trouble
    (so a report passing them is not passing by accident)."""
    raw = tmp_path / "raw.html"
    raw.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>raw</title></head><body>"
        + "".join(f"<p>{s}</p>" for s in CORE)
        + "</body></html>",
        encoding="utf-8",
    )
    seen = open_inert(browser, raw.as_uri(), "raw")
    widgets = open_inert(browser, raw.as_uri(), "raw widgets", fill=list(CORE))

    for look in (seen, widgets):
        assert look.writes and look.dialogs and look.requests
        assert look.handlers and look.js_urls and look.pwned_type != "undefined"
        assert {"script", "img", "iframe"} <= set(look.elements)
        assert look.links_clicked >= 1


@pytest.mark.timeout(TEST_TIMEOUT)
def test_peer_review_report_prints_at_a_glance_whole_and_sections_flowing(
    browser: Browser, reports: Reports, tmp_path: Path
) -> None:
    """Printed, the review keeps "At a glance" in one piece after the short cover, and the
    other sections flow on (issue 14: a report that fits the session, not a page each)."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(reports.page("review-client").as_uri(), wait_until="load")
        page.emulate_media(media="print")
        breaks = page.eval_on_selector_all(
            "section.report-section",
            "els => els.map(e => [e.id, getComputedStyle(e).breakBefore,"
            " getComputedStyle(e).breakInside])",
        )
        pdf = tmp_path / "report.pdf"
        page.pdf(path=str(pdf), format="A4", print_background=True)
    finally:
        context.close()

    assert [b[0] for b in breaks[:2]] == ["cover", "at-a-glance"]
    assert breaks[1][2] == "avoid"
    assert [name for name, before, _ in breaks if before == "page"] == []
    assert pdf.read_bytes().startswith(b"%PDF")
    assert pdf.stat().st_size > 10_000


@pytest.mark.parametrize(
    "loads",
    [
        '<link rel="stylesheet" href="//x.invalid/a.css">',
        '<img src="https://x.invalid/p.png">',
        '<a href="&#47;&#47;x.invalid/">entity-encoded</a>',
        '<div style="background:url(//x.invalid/c)">x</div>',
        '<style>@import "//x.invalid/b.css";</style>',
        '<svg><image xlink:href="//x.invalid/i.png"/></svg>',
        "<script>1</script>",
        '<base href="/">',
    ],
)
def test_the_offline_gate_refuses_markup_but_not_the_same_as_text(loads: str) -> None:
    """``check_offline`` (the last gate before a report is written) refuses markup that
    loads something, and lets the same words through as a client's escaped text: in HTML,
    in a chart's SVG text (which keeps quotes as they are) and in a chart's aria-label."""
    as_text = html.escape(loads, quote=True)
    in_chart = loads.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    chart = f'<svg><text>{in_chart}</text><path aria-label="technique: {as_text}"/></svg>'
    page = "<!DOCTYPE html><html><body>{}</body></html>"

    assert check_offline(page.format(loads)) != []
    assert check_offline(page.format(f"<p>{as_text}</p>{chart}")) == []
