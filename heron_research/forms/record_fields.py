"""Fields made for one kind of record: they know the workbook or the kind's own rules.

The choices drawn from the workbook (people, episodes, any kind's entries described in
their own words); :class:`PeopleField`, which picks people from the client's register and
adds someone new in one step; :class:`ConfidenceField`, a hypothesis's confidence kept as
a dated series; :class:`AnswersField`, the questions of the chosen questionnaire, and
:class:`CheckInResult`, the score it gives. The forms in :mod:`heron_research.forms.kinds`
use them beside the fields drawn from the models.
"""

from __future__ import annotations

import html
import unicodedata
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import ipywidgets as W
from ipywidgets.widgets.widget_bool import CheckboxStyle

from heron_research.errors import FieldProblem, HeronError
from heron_research.forms.core import FormContext, shared_part
from heron_research.forms.fields import ChipsField, ChoiceField, Field, choice_words, label_widget
from heron_research.records import EMOTION_EPISODE, PERSON, scoring
from heron_research.records import models as m
from heron_research.records.base import Record, allowed_values
from heron_research.workbook.store import StoredRecord

__all__ = [
    "AnswersField",
    "CheckInResult",
    "ConfidenceField",
    "PeopleField",
    "entry_choices",
    "episode_choice",
    "people_choices",
    "person_key",
    "person_not_twice",
    "same_person",
]


def people_choices(context: FormContext) -> list[tuple[str, str]]:
    """``(alias, id)`` for the people in the register."""
    return [(s.record.alias, s.id) for s in context.records(PERSON)]  # type: ignore[attr-defined]


def entry_choices(
    context: FormContext, kind: str, last: int | None = None
) -> list[tuple[str, str]]:
    """``(description, id)`` for entries of ``kind`` (the ``last`` ones, newest first)."""
    rows = context.records(kind)
    if last is not None:
        rows = list(reversed(rows[-last:]))
    return [(s.record.describe(), s.id) for s in rows]


def episode_choice(context: FormContext) -> ChoiceField:
    """A choice of one logged episode (the latest 200), for evidence and observations."""
    return ChoiceField(
        "episode_id",
        "Episode",
        lambda: entry_choices(context, EMOTION_EPISODE, last=200),
        optional=True,
        none_label="(choose a logged episode)",
    )


def person_key(alias: str) -> str:
    """A name as compared for sameness: case, accents and spacing aside ("  Zoé " is "zoe")."""
    decomposed = unicodedata.normalize("NFKD", alias)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.casefold().split())


def same_person(context: FormContext, alias: str, *, other_than: str | None = None) -> str | None:
    """The alias of someone already in the register under the same name as ``alias`` (see
    :func:`person_key`), or None; ``other_than`` is a person's own id (when editing them)."""
    key = person_key(alias)
    for stored in context.records(PERSON):
        known: str = stored.record.alias  # type: ignore[attr-defined]
        if stored.id != other_than and person_key(known) == key:
            return known
    return None


def person_not_twice(
    context: FormContext,
) -> Callable[[Record, StoredRecord | None], list[FieldProblem]]:
    """A form's ``check`` refusing a person whose name is already in the register (when
    editing someone, other than themselves): "Sam is already in your people"."""

    def check(record: Record, editing: StoredRecord | None) -> list[FieldProblem]:
        alias = str(getattr(record, "alias", ""))
        known = same_person(context, alias, other_than=editing.id if editing else None)
        if known is None:
            return []
        label = str(m.Person.model_fields["alias"].title)
        return [FieldProblem(("alias",), label, f"{known} is already in your people")]

    return check


def _chip_layout() -> W.Layout:
    return W.Layout(width="auto", margin="2px 12px 2px 0")


class PeopleField(ChipsField):
    """People involved, picked from the register with one click, and a quick way to add
    someone new.

    Each person is a checkbox named by their alias, so whether they are picked is shown by
    a tick and told to assistive technology by the control itself (ipywidgets' toggle
    button shows it only as a shade and sets no ``aria-pressed``). The checkboxes are kept
    as the register changes: a new person adds one, a removed one's is closed, and the rest
    are updated in place. Adding someone whose name is already in the register (case,
    accents and spacing aside) is refused in words, and what was typed is kept.
    """

    def __init__(self, context: FormContext, name: str = "people", label: str = "") -> None:
        self.context = context
        self._pool: dict[str, W.Checkbox] = {}
        self._empty = W.HTML("")
        super().__init__(
            name,
            label or str(m.EmotionEpisode.model_fields["people"].title),
            lambda: people_choices(context),
            hint="Tick the people who were involved; add someone new below.",
        )
        self.new_alias = W.Text(placeholder="someone new", layout=W.Layout(width="12em"))
        self.new_alias.add_class("heron-new-person-alias")
        self.new_relationship = W.Dropdown(
            options=choice_words(allowed_values(m.Person, "relationship")),
            value=m.Person.model_fields["relationship"].default,
            layout=W.Layout(width="10em"),
        )
        self.new_relationship.add_class("heron-new-person-relationship")
        label_widget(self.new_alias, "Someone new")
        label_widget(self.new_relationship, "Relationship")
        add = W.Button(description="Add person", icon="user-plus")
        add.add_class("heron-new-person-add")
        add.on_click(lambda _b: self.add_person())
        self.new_message = W.HTML("")
        self.new_message.add_class("heron-new-person-message")
        self.box.children = (
            *self.box.children,
            W.HBox(
                [self.new_alias, self.new_relationship, add], layout=shared_part("layout", W.Layout)
            ),
            self.new_message,
        )

    def _build(self, chosen: Sequence[str]) -> None:
        """Show one checkbox a person, ticked for those in ``chosen``, reusing the ones shown."""
        if not hasattr(self, "_pool"):  # called by the base class before __init__ is done
            self._pool, self._empty = {}, W.HTML("")
        pairs = list(self._options())
        known = {ident for _, ident in pairs}
        pairs += [(ident, ident) for ident in chosen if ident not in known]
        old, self._chips = self._pool, {}
        for label, ident in pairs:
            chip = old.pop(ident, None)
            if chip is None:
                chip = W.Checkbox(
                    indent=False,
                    layout=shared_part("chip", _chip_layout),
                    style=shared_part("chip-style", CheckboxStyle),
                )
                chip.add_class("heron-chip")
            chip.description = label
            chip.value = ident in chosen
            self._chips[ident] = chip
        for gone in old.values():
            gone.close()
        self._pool = dict(self._chips)
        self._empty.value = f"<i>{html.escape(self._empty_text)}</i>"
        self.widget.children = tuple(self._chips.values()) or (self._empty,)

    def reset(self) -> None:
        super().reset()
        if hasattr(self, "new_message"):
            self.new_message.value = ""  # "Added Sam..." is about the entry just saved

    def add_person(self) -> StoredRecord | None:
        """Save the person typed in the quick-add box (private) and pick them.

        Refused, with what was typed kept, for an empty name or one already in the register.
        """
        alias = self.new_alias.value.strip()
        known = same_person(self.context, alias) if alias else None
        if known is not None:
            self.new_message.value = _problem(f"{known} is already in your people")
            return None
        try:
            person = m.Person.from_data(
                {"alias": alias, "relationship": self.new_relationship.value}
            )
            stored = self.context.workbook.save(person, side=self.context.side)
        except HeronError as exc:
            self.new_message.value = _problem(str(exc))
            return None
        self.new_alias.value = ""
        self.new_message.value = f"Added {html.escape(alias)} to your people (private)."
        self.add_choice(stored.id)
        self.context.changed(PERSON)
        return stored


def _problem(text: str) -> str:
    return f'<span style="color:#8a1c1c">⚠ {html.escape(text)}</span>'


class ConfidenceField(Field):
    """Confidence today (0-100), kept as a dated series: a change adds a point."""

    def __init__(self) -> None:
        self.points: list[dict[str, Any]] = []
        widget = W.IntSlider(min=0, max=100, step=5, value=50, continuous_update=False)
        super().__init__(
            "confidence",
            "How confident am I in it today (0-100)",
            widget,
            hint="Each change is kept with its date, so you can see your confidence over time.",
        )

    def set(self, value: Any) -> None:
        self.points = [dict(p) for p in (value or [])]
        self.widget.value = int(self.points[-1]["confidence"]) if self.points else 50

    def reset(self) -> None:
        self.set([])

    def get(self) -> list[dict[str, Any]]:
        today = date.today().isoformat()
        points = [dict(p) for p in self.points]
        if points and str(points[-1]["on"]) == today:
            points[-1]["confidence"] = self.widget.value
        elif not points or points[-1]["confidence"] != self.widget.value:
            points.append({"on": today, "confidence": self.widget.value, "status": None})
        return points

    def blank(self) -> bool:
        return False


class AnswersField(Field):
    """The questions of the chosen questionnaire, each with its answer choices."""

    def __init__(self, instrument: ChoiceField) -> None:
        self.instrument = instrument
        self.items: list[W.Dropdown] = []
        self.item_errors: list[Field] = []
        super().__init__("answers", "Answers", W.VBox([]))
        instrument.widget.observe(lambda _c: self._build([]), names="value")
        self._build([])

    def _build(self, answers: Sequence[int | None]) -> None:
        spec = scoring.INSTRUMENTS[self.instrument.widget.value]
        if spec.answer_max == 3:
            words = ["not at all", "several days", "more than half the days", "nearly every day"]
            options = [(f"{i}: {w}", i) for i, w in enumerate(words)]
        else:
            options = [(str(i), i) for i in range(spec.answer_min, spec.answer_max + 1)]
        self.item_errors = []
        rows = []
        for i, question in enumerate(spec.items):
            value = answers[i] if i < len(answers) else None
            field = ChoiceField(
                str(i),
                f"{i + 1}. {question}",
                options,
                optional=True,
                none_label="(choose)",
                default=value,
            )
            field.bind(("answers", i))
            self.item_errors.append(field)
            rows.append(field.box)
        self.widget.children = tuple(rows)

    def get(self) -> list[int | None]:
        return [f.get() for f in self.item_errors]

    def set(self, value: Any) -> None:
        self._build(list(value or []))

    def reset(self) -> None:
        if hasattr(self, "instrument"):
            self._build([])

    def locate(self, path: tuple[str | int, ...]) -> Field:
        if path and isinstance(path[0], int) and path[0] < len(self.item_errors):
            return self.item_errors[path[0]]
        return self

    def clear_problems(self) -> None:
        super().clear_problems()
        for f in getattr(self, "item_errors", []):
            f.clear_problems()


class CheckInResult:
    """The score and band of a saved check-in, with the safety note when it applies."""

    def __init__(self) -> None:
        self.widget = W.HTML("")
        self.widget.add_class("heron-check-in-result")

    def show(self, stored: StoredRecord) -> None:
        record = stored.record
        assert isinstance(record, m.CheckIn)
        r = record.result()
        spec = scoring.INSTRUMENTS[record.instrument]
        parts = [
            f"<p><b>{html.escape(spec.name)}</b>: score {r.total:g}, {html.escape(r.band)}.</p>"
        ]
        if r.item9_flag:
            parts.append(
                '<div class="heron-safety-note" style="border-left:4px solid #5c6bc0;'
                f'padding:6px 10px;background:#f3f4fb">{html.escape(scoring.SAFETY_NOTE)}</div>'
            )
        self.widget.value = "".join(parts)
