"""Which forms each side's app shows: every form registers itself for its record kind.

A form builder (a function of a :class:`~heron_research.forms.core.FormContext` that returns
a :class:`~heron_research.forms.core.RecordForm`) declares where it belongs, once::

    @form_for(EMOTION_EPISODE, side=Side.CLIENT, tab="Today", order=10)
    def episode_form(context: FormContext) -> RecordForm: ...

The apps (:mod:`heron_research.forms.app`) build their tabs, the forms they hold and the
Recent tab's editors from these registrations. Tabs come in the order of their first form;
within a tab, forms come in ``order``. A form is in Recent (its entries listed there and
opened in it for editing) unless its registration says why not (``not_in_recent``).

Registering is refused (ValueError) for a kind that the side does not write (per the kind's
:class:`~heron_research.records.facts.KindFacts`), for a second form of one kind on one
side, and for an ``order`` a side already uses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from heron_research.forms.core import FormContext, RecordForm
from heron_research.records.base import Record, record_type
from heron_research.records.facts import Side

__all__ = ["FORMS", "FormBuilder", "FormRegistration", "FormRegistry", "form_for"]

FormBuilder = Callable[[FormContext], RecordForm]


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


class FormRegistry:
    """The registered forms, checked as they register."""

    def __init__(self) -> None:
        self._forms: list[FormRegistration] = []

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
            if known.order == registration.order:
                raise ValueError(
                    f"the {side} forms for {known.record_type.facts.plural} and "
                    f"{facts.plural} both have order {registration.order}"
                )
        self._forms.append(registration)

    def form_for(
        self, kind: str, *, side: Side, tab: str, order: int, not_in_recent: str | None = None
    ) -> Callable[[FormBuilder], FormBuilder]:
        """A decorator registering the form builder it decorates (returned unchanged)."""

        def register(build: FormBuilder) -> FormBuilder:
            self.register(FormRegistration(kind, Side(side), tab, order, build, not_in_recent))
            return build

        return register

    def forms(self, side: Side) -> list[FormRegistration]:
        """The forms of one side's app, in order."""
        return sorted((f for f in self._forms if f.side is Side(side)), key=lambda f: f.order)

    def tabs(self, side: Side) -> list[tuple[str, list[FormRegistration]]]:
        """One side's tabs, each with its forms, in the order the app shows them."""
        tabs: dict[str, list[FormRegistration]] = {}
        for registration in self.forms(side):
            tabs.setdefault(registration.tab, []).append(registration)
        return list(tabs.items())


#: The forms the apps show (registered by :mod:`heron_research.forms.kinds` on import).
FORMS = FormRegistry()
form_for = FORMS.form_for
