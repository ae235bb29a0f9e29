"""The two apps: the client's workbook (tabs of forms) and the practitioner's.

A notebook shows one with a single call, e.g. ``workbook_app("me.heron")``.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

import ipywidgets as W

from heron_research.errors import WorkbookNotFoundError
from heron_research.forms import kinds  # its forms register themselves in FORMS
from heron_research.forms import share as _share  # noqa: F401  (registers the Share page)
from heron_research.forms.aria import aria_script
from heron_research.forms.core import FormContext, RecentEntries, RecordForm
from heron_research.forms.registry import FORMS, Page
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


class App:
    """Tabs of forms and pages bound to one workbook, with a Recent tab that opens entries
    for editing.

    ``forms`` maps a record kind (``EMOTION_EPISODE``) to its form, ``pages`` a page's tab
    title to the page (told when its tab is shown, see
    :class:`~heron_research.forms.registry.Page`); ``tabs`` is the widget shown. ``recent``
    maps the kinds Recent opens for editing to their forms; ``read_only`` are kinds Recent
    lists without editing (the other side's). :func:`workbook_app` and
    :func:`practitioner_app` build one from the registrations
    (:mod:`heron_research.forms.registry`).
    """

    def __init__(
        self,
        context: FormContext,
        pages: list[tuple[str, list[RecordForm] | Page]],
        recent: dict[str, RecordForm],
        header: str,
        *,
        read_only: list[str] | None = None,
    ) -> None:
        self.context = context
        self.forms: dict[str, RecordForm] = {}
        self.pages: dict[str, Page] = {}
        children: list[W.Widget] = []
        titles: list[str] = []
        self._tab_of: dict[int, int] = {}
        self._page_at: dict[int, Page] = {}
        for title, content in pages:
            if isinstance(content, list):
                for form in content:
                    self.forms[form.record_type.kind] = form
                    self._tab_of[id(form)] = len(children)
                box: W.Widget = W.VBox([f.widget for f in content])
            else:
                self.pages[title] = content
                self._page_at[len(children)] = content
                box = content.widget
            children.append(box)
            titles.append(title)
        self.recent = RecentEntries(
            context,
            recent,
            describe=kinds.describe,
            on_edit=self._show_form,
            read_only=read_only or [],
        )
        children.append(self.recent.widget)
        titles.append("Recent")
        self.tabs = W.Tab(children=children, titles=titles)
        self.tabs.add_class("heron-app")
        self.tabs.observe(self._on_select, names="selected_index")
        self.widget = W.VBox([_STYLE, W.HTML(header), self.tabs])
        self._on_select({"new": self.tabs.selected_index})

    def _show_form(self, form: RecordForm) -> None:
        self.tabs.selected_index = self._tab_of[id(form)]

    def _on_select(self, change: dict[str, object]) -> None:
        index = change["new"]
        page = self._page_at.get(index) if isinstance(index, int) else None
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
    pages: list[tuple[str, list[RecordForm] | Page]] = []
    editable: dict[str, RecordForm] = {}
    for tab, content in FORMS.layout(side):
        if not isinstance(content, list):
            pages.append((tab, content.build(context)))
            continue
        forms = []
        for registration in content:
            forms.append(form := registration.build(context))
            if registration.not_in_recent is None:
                editable[registration.kind] = form
        pages.append((tab, forms))
    shown = {r.kind for r in FORMS.forms(side)}
    read_only = [
        kind
        for kind, cls in RECORD_TYPES.items()
        if received_from is not None and kind not in shown and cls.facts.written_by(received_from)
    ]
    return App(context, pages, editable, _header(context.workbook, who), read_only=read_only)


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
