"""The two apps: the client's workbook (tabs of forms) and the practitioner's.

A notebook shows one with a single call, e.g. ``workbook_app("me.heron")``.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import ipywidgets as W

from heron_research.errors import WorkbookNotFoundError
from heron_research.forms import kinds  # its forms register themselves in FORMS
from heron_research.forms import share as _share  # noqa: F401  (registers the Share page)
from heron_research.forms.aria import aria_script
from heron_research.forms.core import FormContext, RecentEntries, RecordForm, shared_part
from heron_research.forms.registry import FORMS, FormRegistration, Page
from heron_research.records import RECORD_TYPES
from heron_research.records.facts import Side
from heron_research.visibility import Audience
from heron_research.workbook import Workbook

__all__ = ["App", "practitioner_app", "workbook_app"]

#: The apps' style sheet, and the script that adds the ARIA ipywidgets cannot (see
#: :mod:`heron_research.forms.aria`). A field's label (its input's ``description``) sits
#: above the input, in bold, and wraps; the tabs keep their whole titles (and wrap onto a
#: second line when the notebook is narrow), and buttons and checkboxes their whole words.
_STYLE = W.VBox(
    [
        W.HTML(
            "<style>"
            ".heron-error{color:#8a1c1c;font-size:0.95em}"
            ".heron-form h3{margin:4px 0}"
            ".heron-header{font-size:1.15em;margin:4px 0 0 0}"
            ".heron-row{border-left:3px solid #e0e0e0;padding-left:6px;margin-bottom:4px}"
            ".heron-share-preview ul{margin:2px 0 6px 0}"
            ".heron-labelled.widget-inline-hbox{flex-wrap:wrap;height:auto;align-items:center}"
            ".heron-labelled.widget-inline-hbox>.widget-label{flex:0 0 100%;width:auto!important;"
            "min-width:max-content;height:auto;"
            "max-width:none;text-align:left;font-weight:bold;white-space:normal;overflow:visible;"
            "line-height:1.3;margin:0 0 2px 0}"
            ".heron-labelled.widget-textarea>textarea,.heron-labelled.widget-text>input,"
            ".heron-labelled.widget-dropdown>select{flex:1 1 auto}"
            ".heron-labelled.widget-slider>.slider-container{flex:1 1 auto}"
            ".heron-app>.lm-TabBar{min-height:auto}"
            ".heron-app>.lm-TabBar .lm-TabBar-content{flex-wrap:wrap}"
            ".heron-app.jupyter-widget-tab>.lm-TabBar .lm-TabBar-tab{flex:0 0 auto;"
            "min-width:max-content;padding:0 12px}"
            ".heron-principles-text{max-height:24em;overflow:auto;border:1px solid #ddd;"
            "padding:0 8px}"
            ".heron-principles-text:focus{outline:2px solid #1976d2}"
            ".heron-app .jupyter-button{width:auto}"
            ".heron-app .widget-checkbox{width:auto;height:auto}"
            ".heron-app .widget-checkbox>.widget-label-basic,"
            ".heron-app .widget-checkbox>.widget-label-basic>span{white-space:normal;"
            "overflow:visible}"
            "</style>"
        ),
        aria_script(),
    ]
)


class _Forms(Mapping[str, RecordForm]):
    """The forms of an app by kind, each built with its tab the first time it is asked for.

    The keys are known from the registrations; looking a form up (``app.forms[kind]``, Recent's
    Edit, a test) builds its whole tab, once.
    """

    def __init__(self, kinds: Sequence[str], build: Callable[[str], None]) -> None:
        self._kinds = list(kinds)
        self._build = build
        self._built: dict[str, RecordForm] = {}

    def __getitem__(self, kind: str) -> RecordForm:
        if kind not in self._built:
            if kind not in self._kinds:
                raise KeyError(kind)
            self._build(kind)
        form = self._built[kind]
        form.catch_up()  # a form in a hidden tab: its choices brought up to date first
        return form

    def __iter__(self) -> Iterator[str]:
        return iter(self._kinds)

    def __len__(self) -> int:
        return len(self._kinds)

    def __contains__(self, kind: object) -> bool:
        return kind in self._kinds

    def built(self) -> list[str]:
        """The kinds whose forms are built so far."""
        return [k for k in self._kinds if k in self._built]


class _Subset(Mapping[str, RecordForm]):
    """Some of an app's forms (those Recent opens), built on access like the app's own."""

    def __init__(self, forms: Mapping[str, RecordForm], kinds: Sequence[str]) -> None:
        self._forms = forms
        self._kinds = list(kinds)

    def __getitem__(self, kind: str) -> RecordForm:
        if kind not in self._kinds:
            raise KeyError(kind)
        return self._forms[kind]

    def __iter__(self) -> Iterator[str]:
        return iter(self._kinds)

    def __len__(self) -> int:
        return len(self._kinds)

    def __contains__(self, kind: object) -> bool:
        return kind in self._kinds


class App:
    """Tabs of forms and pages bound to one workbook, with a Recent tab that opens entries
    for editing.

    ``tabs`` gives each tab's title and content: the registrations of its forms, or a page.
    A tab's forms are built when the tab is first shown (or a form of it is first looked up
    in ``forms``), so opening the app builds only the tab it opens on.

    ``forms`` maps a record kind (``EMOTION_EPISODE``) to its form (built on first access),
    ``pages`` a page's tab title to the page (told when its tab is shown, see
    :class:`~heron_research.forms.registry.Page`); ``tabs`` is the widget shown. ``recent``
    lists entries of the kinds whose registration keeps them in Recent, and opens them in
    their forms for editing; ``read_only`` are kinds Recent lists without editing (the other
    side's). :func:`workbook_app` and :func:`practitioner_app` build one from the
    registrations (:mod:`heron_research.forms.registry`).
    """

    def __init__(
        self,
        context: FormContext,
        tabs: Sequence[tuple[str, Sequence[FormRegistration] | Page]],
        header: str,
        *,
        read_only: list[str] | None = None,
    ) -> None:
        self.context = context
        self.pages: dict[str, Page] = {}
        children: list[W.Widget] = []
        titles: list[str] = []
        self._tab_of: dict[str, int] = {}
        self._registrations: dict[int, list[FormRegistration]] = {}
        self._page_at: dict[int, Page] = {}
        in_recent: list[str] = []
        for title, content in tabs:
            index = len(children)
            if isinstance(content, Sequence):
                for registration in content:
                    self._tab_of[registration.kind] = index
                    if registration.not_in_recent is None:
                        in_recent.append(registration.kind)
                self._registrations[index] = list(content)
                box: W.Widget = W.VBox([], layout=shared_part("layout", W.Layout))
            else:
                self.pages[title] = content
                self._page_at[index] = content
                box = content.widget
            children.append(box)
            titles.append(title)
        self._boxes = children
        self.forms: _Forms = _Forms(list(self._tab_of), self._build_tab_of)
        self.recent = RecentEntries(
            context,
            _Subset(self.forms, in_recent),
            describe=kinds.describe,
            on_edit=self._show_form,
            read_only=read_only or [],
            shown=False,
        )
        self._recent_at = len(children)
        children.append(self.recent.widget)
        titles.append("Recent")
        self.tabs = W.Tab(children=children, titles=titles)
        self.tabs.add_class("heron-app")
        self.tabs.observe(self._on_select, names="selected_index")
        self.widget = W.VBox([_STYLE, W.HTML(header), self.tabs])
        self._on_select({"new": self.tabs.selected_index})

    def _build_tab_of(self, kind: str) -> None:
        self._build_tab(self._tab_of[kind])

    def _build_tab(self, index: int) -> None:
        """Build the forms of tab ``index`` (once) and show them in it."""
        registrations = self._registrations.pop(index, None)
        if registrations is None:
            return
        forms = [r.build(self.context) for r in registrations]
        for registration, form in zip(registrations, forms, strict=True):
            self.forms._built[registration.kind] = form
            if index != self.tabs.selected_index:
                form.hide()
        self._boxes[index].children = tuple(f.widget for f in forms)

    def _show_form(self, form: RecordForm) -> None:
        self.tabs.selected_index = self._tab_of[form.record_type.kind]

    def _on_select(self, change: dict[str, object]) -> None:
        index = change["new"]
        if not isinstance(index, int):
            return
        for kind in self.forms.built():
            form = self.forms._built[kind]
            if self._tab_of[kind] != index:
                form.hide()
        if index == self._recent_at:
            self.recent.show()
            return
        self.recent.hide()
        if index in self._registrations:
            self._build_tab(index)
        for kind in self.forms.built():
            if self._tab_of[kind] == index:
                self.forms._built[kind].show()
        page = self._page_at.get(index)
        if page is not None:
            page.show()

    def _ipython_display_(self) -> None:  # pragma: no cover - display only
        from IPython.display import display

        display(self.widget)


def _header(workbook: Workbook, who: str) -> str:
    return (
        f'<h2 class="heron-header">{html.escape(who)}</h2>'
        f"<p>Workbook <code>{html.escape(workbook.path.name)}</code>"
        " · saved on this computer only, readable by you alone</p>"
    )


def _resolve(workbook: Workbook | str | Path) -> Workbook | Path:
    """The workbook to open: the one given, or ``$HERON_WORKBOOK`` when none is given."""
    if isinstance(workbook, Workbook):
        return workbook
    if str(workbook).strip():
        return Path(workbook).expanduser()
    fallback = os.environ.get("HERON_WORKBOOK", "").strip()
    if fallback:
        return Path(fallback).expanduser()
    raise WorkbookNotFoundError(
        "no workbook given: open this notebook with `heron-research lab PATH`, or set "
        "`workbook` in the first cell to the path of your workbook file"
    )


def _app(
    workbook: Workbook | str | Path, side: Side, who: str, *, received_from: Side | None = None
) -> App:
    """The app of one side: its registered forms and pages in their tabs, and Recent.

    With ``received_from``, Recent also lists (read-only) the kinds only that other side
    writes here, such as the practitioner's peer reviews in the client's workbook.
    """
    context = FormContext(_resolve(workbook), audience=Audience(side.value))
    tabs: list[tuple[str, Sequence[FormRegistration] | Page]] = []
    for tab, content in FORMS.layout(side):
        if isinstance(content, list):
            tabs.append((tab, content))
        else:
            tabs.append((tab, content.build(context)))
    shown = {r.kind for r in FORMS.forms(side)}
    read_only = [
        kind
        for kind, cls in RECORD_TYPES.items()
        if received_from is not None and kind not in shown and cls.facts.written_by(received_from)
    ]
    return App(context, tabs, _header(context.workbook, who), read_only=read_only)


def workbook_app(workbook: Workbook | str | Path = "") -> App:
    """The client's app: Today, Hypotheses, Inquiry, Review prep, Check-in, People,
    Consent, Co-counselling, Share and Recent (the client's forms and pages, as registered).
    Recent also lists what the practitioner wrote (received from them), marked as theirs
    and not editable.

    ``workbook`` is a workbook or its path; empty means ``$HERON_WORKBOOK``.
    """
    return _app(workbook, Side.CLIENT, "My workbook", received_from=Side.PRACTITIONER)


def practitioner_app(workbook: Workbook | str | Path = "") -> App:
    """The practitioner's app: decisions, peer review and agenda responses, own reactions,
    interventions, and Recent (the practitioner's forms, as registered). Shows only what
    the client shares with the practitioner."""
    return _app(workbook, Side.PRACTITIONER, "Practitioner")
