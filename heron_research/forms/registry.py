"""Which forms and pages each side's app shows: each registers itself, once.

A form builder (a function of a :class:`~heron_research.forms.core.FormContext` that returns
a :class:`~heron_research.forms.core.RecordForm`) declares where it belongs, once::

    @form_for(EMOTION_EPISODE, side=Side.CLIENT, tab="Today", order=10)
    def episode_form(context: FormContext) -> RecordForm: ...

The apps (:mod:`heron_research.forms.app`) build their tabs, the forms they hold and the
Recent tab's editors from these registrations; a tab's forms are built (``build(context)``)
when the tab is first shown, or one of its forms is first asked for. Tabs come in the order
of their first form; within a tab, forms come in ``order``. A form is in Recent (its entries
listed there and opened in it for editing) unless its registration says why not
(``not_in_recent``).

A tab that is not a record form (the client's Share tab) is a *page*: a builder that returns
a :class:`Page`, registered with its own tab and an ``order`` among the side's forms::

    @page_for(side=Side.CLIENT, tab="Share", order=90)
    def share_page(context: FormContext) -> Page: ...

A page is made when its app is made, but is told when its tab is shown
(:meth:`Page.show`), so it builds its contents then, not at app start.
:meth:`FormRegistry.layout` gives a side's tabs, forms and pages together, in order.

Registering is refused (ValueError) for a kind that the side does not write (per the kind's
:class:`~heron_research.records.facts.KindFacts`), for a second form of one kind on one
side, for an ``order`` a side already uses, and for a page whose tab is already taken.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import ipywidgets as W

from heron_research.forms.core import FormContext, RecordForm
from heron_research.records.base import Record, record_type
from heron_research.records.facts import Side

__all__ = [
    "FORMS",
    "FormBuilder",
    "FormRegistration",
    "FormRegistry",
    "Page",
    "PageBuilder",
    "PageRegistration",
    "form_for",
    "page_for",
]

FormBuilder = Callable[[FormContext], RecordForm]


class Page(Protocol):
    """A tab that is not a record form: its widget, and what to do when it is shown."""

    #: What the tab shows (it may start empty: :meth:`show` fills it).
    widget: W.Widget

    def show(self) -> None:
        """The tab was selected: build the contents the first time, refresh them after."""


PageBuilder = Callable[[FormContext], Page]


@dataclass(frozen=True)
class FormRegistration:
    """Where one form belongs: its kind, the side whose app shows it, its tab and place."""

    kind: str
    side: Side
    tab: str
    order: int
    build: FormBuilder
    #: Why entries of this kind are not opened from Recent (None: they are).
    not_in_recent: str | None = None

    @property
    def record_type(self) -> type[Record]:
        return record_type(self.kind)


@dataclass(frozen=True)
class PageRegistration:
    """Where one page belongs: the side whose app shows it, its own tab and its place."""

    side: Side
    tab: str
    order: int
    build: PageBuilder


class FormRegistry:
    """The registered forms and pages, checked as they register."""

    def __init__(self) -> None:
        self._forms: list[FormRegistration] = []
        self._pages: list[PageRegistration] = []

    def _check_order(self, side: Side, order: int, what: str) -> None:
        for known in self.forms(side):
            if known.order == order:
                raise ValueError(
                    f"the {side} forms for {known.record_type.facts.plural} and "
                    f"{what} both have order {order}"
                )
        for page in self.pages(side):
            if page.order == order:
                raise ValueError(f"the {side} page {page.tab!r} and {what} both have order {order}")

    def register(self, registration: FormRegistration) -> None:
        """Add a form; ValueError if its side may not write its kind, or it clashes."""
        side, kind = Side(registration.side), registration.kind
        facts = record_type(kind).facts
        if not facts.written_by(side):
            writers = " and ".join(sorted(facts.writers))
            raise ValueError(
                f"a {side} form for {facts.plural}: only the {writers} side writes them"
            )
        for known in self.forms(side):
            if known.kind == kind:
                raise ValueError(f"the {side} app already has a form for {facts.plural}")
        if any(page.tab == registration.tab for page in self.pages(side)):
            raise ValueError(f"the {side} tab {registration.tab!r} is a page's own tab")
        self._check_order(side, registration.order, facts.plural)
        self._forms.append(registration)

    def register_page(self, registration: PageRegistration) -> None:
        """Add a page; ValueError if its tab is already used or its order clashes."""
        side = Side(registration.side)
        tabs = {f.tab for f in self.forms(side)} | {p.tab for p in self.pages(side)}
        if registration.tab in tabs:
            raise ValueError(f"the {side} app already has a tab {registration.tab!r}")
        self._check_order(side, registration.order, f"the page {registration.tab!r}")
        self._pages.append(registration)

    def form_for(
        self, kind: str, *, side: Side, tab: str, order: int, not_in_recent: str | None = None
    ) -> Callable[[FormBuilder], FormBuilder]:
        """A decorator registering the form builder it decorates (returned unchanged)."""

        def register(build: FormBuilder) -> FormBuilder:
            self.register(FormRegistration(kind, Side(side), tab, order, build, not_in_recent))
            return build

        return register

    def page_for(self, *, side: Side, tab: str, order: int) -> Callable[[PageBuilder], PageBuilder]:
        """A decorator registering the page builder it decorates (returned unchanged)."""

        def register(build: PageBuilder) -> PageBuilder:
            self.register_page(PageRegistration(Side(side), tab, order, build))
            return build

        return register

    def pages(self, side: Side) -> list[PageRegistration]:
        """The pages of one side's app, in order."""
        return sorted((p for p in self._pages if p.side is Side(side)), key=lambda p: p.order)

    def forms(self, side: Side) -> list[FormRegistration]:
        """The forms of one side's app, in order."""
        return sorted((f for f in self._forms if f.side is Side(side)), key=lambda f: f.order)

    def tabs(self, side: Side) -> list[tuple[str, list[FormRegistration]]]:
        """One side's tabs of forms, each with its forms, in the order the app shows them."""
        tabs: dict[str, list[FormRegistration]] = {}
        for registration in self.forms(side):
            tabs.setdefault(registration.tab, []).append(registration)
        return list(tabs.items())

    def layout(self, side: Side) -> list[tuple[str, list[FormRegistration] | PageRegistration]]:
        """All of one side's tabs in the order the app shows them: a tab of forms (its
        forms, in order) or a page; tabs in the order of their first form or their page."""
        first = {title: forms[0].order for title, forms in self.tabs(side)}
        entries: list[tuple[int, str, list[FormRegistration] | PageRegistration]] = [
            (first[title], title, forms) for title, forms in self.tabs(side)
        ]
        entries += [(page.order, page.tab, page) for page in self.pages(side)]
        return [(title, content) for _, title, content in sorted(entries, key=lambda e: e[0])]


#: The forms and pages the apps show (registered by :mod:`heron_research.forms.kinds` and
#: :mod:`heron_research.forms.share` on import).
FORMS = FormRegistry()
form_for = FORMS.form_for
page_for = FORMS.page_for
