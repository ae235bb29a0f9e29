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
from heron_research.forms.core import FormContext, RecentEntries, RecordForm
from heron_research.forms.registry import FORMS
from heron_research.records.facts import Side
from heron_research.visibility import Audience
from heron_research.workbook import Workbook

__all__ = ["App", "practitioner_app", "workbook_app"]

_STYLE = W.HTML(
    "<style>"
    ".heron-error{color:#8a1c1c;font-size:0.95em}"
    ".heron-form h3{margin:4px 0}"
    ".heron-row{border-left:3px solid #e0e0e0;padding-left:6px;margin-bottom:4px}"
    "</style>"
)


class App:
    """Tabs of forms bound to one workbook, with a Recent tab that opens entries for editing.

    ``forms`` maps a record kind (``EMOTION_EPISODE``) to its form; ``tabs`` is the widget
    shown. :func:`workbook_app` and :func:`practitioner_app` build one from the registered
    forms (:mod:`heron_research.forms.registry`).
    """

    def __init__(
        self,
        context: FormContext,
        pages: list[tuple[str, list[RecordForm] | W.Widget]],
        recent: dict[str, RecordForm],
        header: str,
    ) -> None:
        self.context = context
        self.forms: dict[str, RecordForm] = {}
        children: list[W.Widget] = []
        titles: list[str] = []
        self._tab_of: dict[int, int] = {}
        for title, content in pages:
            if isinstance(content, list):
                for form in content:
                    self.forms[form.record_type.kind] = form
                    self._tab_of[id(form)] = len(children)
                box: W.Widget = W.VBox([f.widget for f in content])
            else:
                box = content
            children.append(box)
            titles.append(title)
        self.recent = RecentEntries(
            context, recent, describe=kinds.describe, on_edit=self._show_form
        )
        children.append(self.recent.widget)
        titles.append("Recent")
        self.tabs = W.Tab(children=children, titles=titles)
        self.tabs.add_class("heron-app")
        self.widget = W.VBox([_STYLE, W.HTML(header), self.tabs])

    def _show_form(self, form: RecordForm) -> None:
        self.tabs.selected_index = self._tab_of[id(form)]

    def _ipython_display_(self) -> None:  # pragma: no cover - display only
        from IPython.display import display

        display(self.widget)


def _header(workbook: Workbook, who: str) -> str:
    return (
        f"<p><b>{html.escape(who)}</b> · workbook <code>{html.escape(workbook.path.name)}</code>"
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


def _app(workbook: Workbook | str | Path, side: Side, who: str) -> App:
    """The app of one side: its registered forms in their tabs, and Recent."""
    context = FormContext(_resolve(workbook), audience=Audience(side.value))
    pages: list[tuple[str, list[RecordForm] | W.Widget]] = []
    editable: dict[str, RecordForm] = {}
    for tab, registrations in FORMS.tabs(side):
        forms = []
        for registration in registrations:
            forms.append(form := registration.build(context))
            if registration.not_in_recent is None:
                editable[registration.kind] = form
        pages.append((tab, forms))
    return App(context, pages, editable, _header(context.workbook, who))


def workbook_app(workbook: Workbook | str | Path = "") -> App:
    """The client's app: Today, Hypotheses, Inquiry, Review prep, Check-in, People,
    Consent, Co-counselling and Recent (the client's forms, as registered).

    ``workbook`` is a workbook or its path; empty means ``$HERON_WORKBOOK``.
    """
    return _app(workbook, Side.CLIENT, "My workbook")


def practitioner_app(workbook: Workbook | str | Path = "") -> App:
    """The practitioner's app: decisions, peer review and agenda responses, own reactions,
    interventions, and Recent (the practitioner's forms, as registered). Shows only what
    the client shares with the practitioner."""
    return _app(workbook, Side.PRACTITIONER, "Practitioner")
