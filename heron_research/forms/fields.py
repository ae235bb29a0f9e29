"""Form fields: one input widget each, with its label and a place for its problem.

A :class:`Field` turns a widget's value into the data a record model validates, and
back. Fields never validate: the record models do (see :mod:`heron_research.records`),
and a form puts each problem they report next to the field it names. Every field keeps
what the user typed until the user changes it; nothing here clears a value on error.

Each input carries the CSS class ``heron-field-<path>`` (``heron-field-emotions-0-intensity``)
so the browser tests, and people styling the notebook, can find it.

A field's visible label is its input's own label: the widget's ``description``, which
ipywidgets renders as a ``<label for=...>`` bound to the control, so a screen reader (and
Playwright's ``get_by_label``) finds the control by the words the client sees. The class
``heron-labelled`` puts that label above the control, in bold (the app's style sheet). A
field made of several controls (a list of rows, a group, a set of chips) has a visible
heading for the group instead, and each control inside names itself. A choice whose first
option means "not given" holds :data:`NOT_GIVEN` in the widget (never ``None``, which
ipywidgets shows as an empty box) and gives ``None`` to the record.

:func:`field_for` builds the field for a model field from the model itself: the widget from
its annotation, the label from its title, optional or required and the default from the
model. A form then names its fields and says only what the model cannot (a placeholder,
a hint, its own words for a choice).
"""

from __future__ import annotations

import html
import types
import typing
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Annotated, Any, Literal

import ipywidgets as W
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from heron_research.forms.closing import close_dropped, reachable
from heron_research.records.base import allowed_values

__all__ = [
    "NOT_GIVEN",
    "ChipsField",
    "ChoiceField",
    "ComboField",
    "DateField",
    "DateTimeField",
    "Field",
    "FlagField",
    "Fold",
    "GroupField",
    "ListField",
    "NumberField",
    "ScaleField",
    "TextField",
    "choice_words",
    "field_for",
    "fields_for",
]

Path = tuple[str | int, ...]

_WIDE = W.Layout(width="100%", max_width="42em")


def css_name(path: Path) -> str:
    return "-".join(str(p) for p in path).replace("_", "_")


class _NotGiven:
    """The value of a choice's "not given" option; false, like the ``None`` it stands for."""

    _instance: _NotGiven | None = None

    def __new__(cls) -> _NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


#: What a dropdown holds for "not given" (a real option, so its words always show).
NOT_GIVEN = _NotGiven()


def _given(value: Any) -> Any:
    return None if value is NOT_GIVEN else value


def label_widget(widget: W.Widget, label: str) -> None:
    """Make ``label`` the input's own label (its accessible name), shown above it."""
    widget.description = label
    widget.tooltip = ""  # no "null" title on the label
    widget.style.description_width = "initial"
    widget.add_class("heron-labelled")


def _group_label(label: str) -> W.HTML:
    """The visible heading of a field made of several controls (each names itself)."""
    heading = W.HTML(f"<b>{html.escape(label)}</b>")
    heading.add_class("heron-group-label")
    return heading


class Fold:
    """A section that opens and closes: a real button (reachable by Tab, opened with Space
    or Enter, its state in ``aria-expanded``) above the contents.

    ``selected_index`` is ``0`` when open and ``None`` when closed, as for an accordion;
    ``widget`` is what to show.
    """

    def __init__(self, children: Sequence[W.Widget], titles: Sequence[str]) -> None:
        [title] = titles
        self.button = W.ToggleButton(
            description=f"▸ {title}",
            value=False,
            layout=W.Layout(width="auto", align_self="flex-start"),
        )
        self.button.add_class("heron-fold-button")
        self.contents = W.VBox(list(children), layout=W.Layout(display="none"))
        self.contents.add_class("heron-fold-contents")
        self.title = title
        self.widget = W.VBox([self.button, self.contents])
        self.widget.add_class("heron-fold")
        self.button.observe(lambda _c: self._show(), names="value")

    def _show(self) -> None:
        is_open = self.button.value
        self.button.description = f"{'▾' if is_open else '▸'} {self.title}"
        self.contents.layout.display = None if is_open else "none"
        if is_open:
            self.button.add_class("heron-open")
        else:
            self.button.remove_class("heron-open")

    @property
    def selected_index(self) -> int | None:
        return 0 if self.button.value else None

    @selected_index.setter
    def selected_index(self, index: int | None) -> None:
        self.button.value = index is not None

    def add_class(self, name: str) -> None:
        self.widget.add_class(name)


class Field:
    """An input with a label and an error line. Subclasses say how values convert."""

    #: value used when the form is reset (a callable is called each time)
    default: Any = None

    def __init__(
        self,
        name: str,
        label: str,
        widget: W.Widget,
        *,
        hint: str = "",
        default: Any = None,
        required: bool = False,
    ) -> None:
        self.name = name
        self.label = label
        self.widget = widget
        self.required = required
        if default is not None:
            self.default = default
        self.error = W.HTML("", layout=W.Layout(display="none"))
        self.error.add_class("heron-error")
        parts: list[W.Widget] = [widget]
        if "description" in widget.trait_names():
            label_widget(widget, label)
        else:
            parts.insert(0, _group_label(label))
        if hint:
            parts.append(W.HTML(f"<small>{html.escape(hint)}</small>"))
        parts.append(self.error)
        self.box = W.VBox(parts, layout=W.Layout(margin="0 0 8px 0"))
        self._css: str | None = None
        self.bind((name,))
        self.reset()

    # -- naming --------------------------------------------------------------------------

    def bind(self, path: Path) -> None:
        """Give the input the CSS class for its full path in the record."""
        if self._css:
            self.widget.remove_class(self._css)
            self.error.remove_class(self._css + "-error")
        self._css = f"heron-field-{css_name(path)}"
        self.widget.add_class(self._css)
        self.error.add_class(self._css + "-error")

    # -- values --------------------------------------------------------------------------

    def get(self) -> Any:
        """The value for the record's data (``None`` when nothing was given)."""
        return self.widget.value

    def set(self, value: Any) -> None:
        self.widget.value = value

    def reset(self) -> None:
        self.set(self.default() if callable(self.default) else self.default)

    def blank(self) -> bool:
        """Whether the user gave nothing here (used to skip empty list rows)."""
        value = self.get()
        return value is None or value == "" or value == []

    # -- problems ------------------------------------------------------------------------

    def locate(self, path: Path) -> Field:
        """The field that should show a problem at ``path`` (relative to this field)."""
        return self

    def show_problem(self, message: str) -> None:
        current = self.error.value
        line = f"⚠ {html.escape(message)}"
        self.error.value = f"{current}<br>{line}" if current else line
        self.error.layout.display = "block"

    def clear_problems(self) -> None:
        self.error.value = ""
        self.error.layout.display = "none"

    def refresh(self) -> None:
        """Reload options that come from the workbook (people, episodes...)."""


class TextField(Field):
    def __init__(
        self,
        name: str,
        label: str,
        *,
        multiline: bool = False,
        placeholder: str = "",
        **kw: Any,
    ) -> None:
        if multiline:
            widget: W.Widget = W.Textarea(placeholder=placeholder, rows=3, layout=_WIDE)
        else:
            widget = W.Text(placeholder=placeholder, layout=_WIDE)
        super().__init__(name, label, widget, default="", **kw)

    def get(self) -> str:
        return str(self.widget.value or "")

    def set(self, value: Any) -> None:
        self.widget.value = "" if value is None else str(value)


class ComboField(Field):
    """Free text with suggestions (a vocabulary); the client's own words are kept."""

    def __init__(
        self,
        name: str,
        label: str,
        options: Sequence[str] | Callable[[], Sequence[str]],
        *,
        placeholder: str = "type or pick",
        **kw: Any,
    ) -> None:
        self._options = options
        widget = W.Combobox(
            options=list(self._current_options()),
            ensure_option=False,
            placeholder=placeholder,
            layout=W.Layout(width="16em"),
        )
        super().__init__(name, label, widget, default="", **kw)

    def _current_options(self) -> Sequence[str]:
        return self._options() if callable(self._options) else self._options

    def refresh(self) -> None:
        self.widget.options = list(self._current_options())

    def get(self) -> str:
        return str(self.widget.value or "")

    def set(self, value: Any) -> None:
        self.widget.value = "" if value is None else str(value)


class ChoiceField(Field):
    """One choice from a list; ``optional`` adds a "not given" choice meaning ``None``."""

    def __init__(
        self,
        name: str,
        label: str,
        options: Sequence[tuple[str, Any]] | Callable[[], Sequence[tuple[str, Any]]],
        *,
        optional: bool = False,
        none_label: str = "(not given)",
        default: Any = None,
        **kw: Any,
    ) -> None:
        self._options = options
        self._optional = optional
        self._none_label = none_label
        widget = W.Dropdown(options=self._current_options(), layout=W.Layout(width="24em"))
        self._fallback_default = default
        super().__init__(name, label, widget, default=default, **kw)

    def _current_options(self) -> list[tuple[str, Any]]:
        opts = list(self._options() if callable(self._options) else self._options)
        opts = [(words, NOT_GIVEN if value is None else value) for words, value in opts]
        if self._optional:
            opts = [(self._none_label, NOT_GIVEN), *opts]
        return opts

    def get(self) -> Any:
        return _given(self.widget.value)

    def refresh(self) -> None:
        value = self.get()
        self.widget.options = self._current_options()
        self.set(value)

    def set(self, value: Any) -> None:
        value = NOT_GIVEN if value is None else value
        values = [v for _, v in self.widget.options]
        if value not in values:
            if value is NOT_GIVEN:
                value = values[0] if values else None
            else:  # a stored value no longer offered (a deleted person): keep it visible
                self.widget.options = [*self.widget.options, (str(value), value)]
        self.widget.value = value

    def reset(self) -> None:
        default = self._fallback_default
        self.set(default() if callable(default) else default)


class ScaleField(Field):
    """A whole number on a scale. Required: a slider. Optional: a list with "not rated"."""

    def __init__(
        self,
        name: str,
        label: str,
        *,
        lo: int = 0,
        hi: int = 10,
        optional: bool = False,
        default: int | None = None,
        **kw: Any,
    ) -> None:
        self.optional = optional
        if optional:
            widget: W.Widget = W.Dropdown(
                options=[("not rated", NOT_GIVEN)] + [(str(i), i) for i in range(lo, hi + 1)],
                layout=W.Layout(width="9em"),
            )
        else:
            widget = W.IntSlider(
                min=lo, max=hi, value=lo if default is None else default, continuous_update=False
            )
        self._lo = lo
        super().__init__(name, label, widget, default=default, **kw)

    def get(self) -> Any:
        return _given(self.widget.value)

    def set(self, value: Any) -> None:
        if value is None:
            value = NOT_GIVEN if self.optional else self._lo
        self.widget.value = value

    def reset(self) -> None:
        self.set(self.default)

    def blank(self) -> bool:
        return self.optional and self.widget.value is NOT_GIVEN


class NumberField(Field):
    def __init__(self, name: str, label: str, *, lo: int, hi: int, default: int = 0, **kw: Any):
        widget = W.BoundedIntText(min=lo, max=hi, value=default, layout=W.Layout(width="9em"))
        super().__init__(name, label, widget, default=default, **kw)


class FlagField(Field):
    def __init__(self, name: str, label: str, *, default: bool = False, **kw: Any) -> None:
        widget = W.Checkbox(description=label, indent=False, value=default)
        super().__init__(name, label, widget, default=default, **kw)
        widget.remove_class("heron-labelled")  # a checkbox's label sits beside it

    def set(self, value: Any) -> None:
        self.widget.value = bool(value)

    def reset(self) -> None:
        self.set(self.default)

    def blank(self) -> bool:
        return False


class DateField(Field):
    def __init__(self, name: str, label: str, *, optional: bool = False, **kw: Any) -> None:
        self.optional = optional
        widget = W.DatePicker(layout=W.Layout(width="14em"))
        default = None if optional else date.today
        super().__init__(name, label, widget, default=default, **kw)

    def reset(self) -> None:
        self.set(None if self.optional else date.today())

    def set(self, value: Any) -> None:
        if isinstance(value, str) and value:
            value = date.fromisoformat(value)
        self.widget.value = value or None


class DateTimeField(Field):
    """A date and time on this computer's clock (stored with its UTC offset)."""

    def __init__(self, name: str, label: str, **kw: Any) -> None:
        widget = W.NaiveDatetimePicker(layout=W.Layout(width="18em"))
        super().__init__(name, label, widget, **kw)

    def reset(self) -> None:
        self.set(datetime.now().replace(second=0, microsecond=0))

    def set(self, value: Any) -> None:
        if isinstance(value, str) and value:
            value = datetime.fromisoformat(value)
        if isinstance(value, datetime) and value.tzinfo is not None:
            value = value.astimezone().replace(tzinfo=None)
        self.widget.value = value or None


class ChipsField(Field):
    """Several picks from a short register (people), one toggle chip each, stored by id.

    ``options`` returns ``(name, id)`` pairs. One click picks or unpicks someone; ids no
    longer in the register (a deleted person) are kept and shown by their id.
    """

    def __init__(
        self,
        name: str,
        label: str,
        options: Callable[[], Sequence[tuple[str, str]]],
        *,
        empty_text: str = "(nobody in your list yet)",
        **kw: Any,
    ) -> None:
        self._options = options
        self._empty_text = empty_text
        self._chips: dict[str, W.ToggleButton] = {}
        widget = W.HBox([], layout=W.Layout(flex_flow="row wrap", max_width="42em"))
        super().__init__(name, label, widget, **kw)

    def _build(self, chosen: Sequence[str]) -> None:
        pairs = list(self._options())
        known = {ident for _, ident in pairs}
        pairs += [(ident, ident) for ident in chosen if ident not in known]
        self._chips = {}
        for label, ident in pairs:
            chip = W.ToggleButton(
                description=label,
                value=ident in chosen,
                tooltip=f"{label}: click to pick or unpick",
                layout=W.Layout(width="auto", margin="2px 4px 2px 0"),
            )
            chip.add_class("heron-chip")
            self._chips[ident] = chip
        children: list[W.Widget] = list(self._chips.values())
        if not children:
            children = [W.HTML(f"<i>{html.escape(self._empty_text)}</i>")]
        self.widget.children = tuple(children)

    def get(self) -> list[str]:
        return [ident for ident, chip in self._chips.items() if chip.value]

    def set(self, value: Any) -> None:
        self._build(list(value or []))

    def reset(self) -> None:
        self._build([])

    def refresh(self) -> None:
        self._build(self.get())

    def add_choice(self, ident: str) -> None:
        """Show a choice just added to the register, already picked."""
        self._build([*self.get(), ident])


class GroupField(Field):
    """A part of a record with fields of its own (a reflection, a set of ratings)."""

    def __init__(self, name: str, label: str, fields: Sequence[Field], **kw: Any) -> None:
        self.fields = list(fields)
        widget = W.VBox(
            [f.box for f in self.fields],
            layout=W.Layout(border="1px solid #ddd", padding="4px 8px"),
        )
        super().__init__(name, label, widget, **kw)

    def bind(self, path: Path) -> None:
        super().bind(path)
        for f in getattr(self, "fields", []):
            f.bind((*path, f.name))

    def get(self) -> dict[str, Any]:
        return {f.name: f.get() for f in self.fields}

    def set(self, value: Any) -> None:
        value = value or {}
        for f in self.fields:
            if f.name in value:
                f.set(value[f.name])
            else:
                f.reset()

    def reset(self) -> None:
        for f in getattr(self, "fields", []):
            f.reset()

    def blank(self) -> bool:
        return all(f.blank() for f in self.fields)

    def locate(self, path: Path) -> Field:
        if path and isinstance(path[0], str):
            for f in self.fields:
                if f.name == path[0]:
                    return f.locate(path[1:])
        return self

    def clear_problems(self) -> None:
        super().clear_problems()
        for f in getattr(self, "fields", []):
            f.clear_problems()

    def refresh(self) -> None:
        for f in self.fields:
            f.refresh()


class _Row:
    """One row of a :class:`ListField`: its fields, plus stored values the form doesn't show."""

    def __init__(self, fields: list[Field], remove: W.Button) -> None:
        self.fields = fields
        self.hidden: dict[str, Any] = {}
        self.box = W.HBox(
            [*(f.box for f in fields), remove],
            layout=W.Layout(flex_flow="row wrap", align_items="flex-end", grid_gap="12px"),
        )
        self.box.add_class("heron-row")

    def get(self) -> dict[str, Any]:
        return {**self.hidden, **{f.name: f.get() for f in self.fields}}


def _close_rows(rows: Sequence[_Row]) -> None:
    """Close the widgets of rows no longer shown (a removed row would otherwise stay a
    model in the kernel and the browser for as long as the app runs)."""
    if rows:
        close_dropped(set().union(*(reachable(r.box) for r in rows)))


class ListField(Field):
    """Rows of the same small set of fields (emotions, self-management, evidence).

    A row whose ``key`` field is left empty is skipped, so an untouched row costs nothing.
    With ``scalar=True`` the value is a plain list of the key field's values (a list of
    episode ids, say) rather than a list of dicts.
    """

    def __init__(
        self,
        name: str,
        label: str,
        make_row: Callable[[], list[Field]],
        *,
        key: str,
        add_label: str = "+ add another",
        start_rows: int = 1,
        scalar: bool = False,
        **kw: Any,
    ) -> None:
        self._scalar = scalar
        self._make_row = make_row
        self._key = key
        self._start_rows = start_rows
        self.rows: list[_Row] = []
        self._submitted: list[_Row] = []
        self._path: Path = (name,)
        self.add_button = W.Button(description=add_label, layout=W.Layout(width="auto"))
        self.add_button.add_class(f"heron-add-{name}")
        self.add_button.on_click(lambda _b: self.add_row())
        self._rows_box = W.VBox([])
        widget = W.VBox([self._rows_box, self.add_button])
        super().__init__(name, label, widget, **kw)

    def bind(self, path: Path) -> None:
        super().bind(path)
        self._path = path
        self._rebind()

    def _rebind(self) -> None:
        for i, row in enumerate(self.rows):
            for f in row.fields:
                f.bind((*self._path, i, f.name))

    def add_row(self, value: dict[str, Any] | None = None) -> _Row:
        fields = self._make_row()
        remove = W.Button(description="✕", tooltip="Remove this row", layout=W.Layout(width="3em"))
        row = _Row(fields, remove)
        remove.on_click(lambda _b, row=row: self.remove_row(row))
        if value:
            for f in fields:
                if f.name in value:
                    f.set(value[f.name])
            row.hidden = {k: v for k, v in value.items() if k not in {f.name for f in fields}}
        self.rows.append(row)
        self._rows_box.children = tuple(r.box for r in self.rows)
        self._rebind()
        return row

    def remove_row(self, row: _Row) -> None:
        self.rows.remove(row)
        self._submitted = [r for r in self._submitted if r is not row]
        self._rows_box.children = tuple(r.box for r in self.rows)
        self._rebind()
        _close_rows([row])

    def _is_blank(self, row: _Row) -> bool:
        return next(f for f in row.fields if f.name == self._key).blank()

    def get(self) -> list[Any]:
        self._submitted = [r for r in self.rows if not self._is_blank(r)]
        if self._scalar:
            return [r.get()[self._key] for r in self._submitted]
        return [r.get() for r in self._submitted]

    def set(self, value: Any) -> None:
        # the rows shown are kept and filled again (a new row is widgets made and sent to
        # the browser): only the rows not needed now go, only the rows missing are made
        items = [{self._key: item} if self._scalar else item for item in value or []]
        keep = len(items) or self._start_rows
        dropped, self.rows = self.rows[keep:], self.rows[:keep]
        self._submitted = [r for r in self._submitted if r not in dropped]
        for i, row in enumerate(self.rows):
            for f in row.fields:
                f.reset()
            row.hidden = {}
            if i < len(items) and items[i]:
                for f in row.fields:
                    if f.name in items[i]:
                        f.set(items[i][f.name])
                row.hidden = {
                    k: v for k, v in items[i].items() if k not in {f.name for f in row.fields}
                }
        self._rows_box.children = tuple(r.box for r in self.rows)
        _close_rows(dropped)
        for item in items[len(self.rows) :]:
            self.add_row(item)
        while len(self.rows) < self._start_rows:
            self.add_row()

    def reset(self) -> None:
        self.set([])

    def blank(self) -> bool:
        return all(self._is_blank(r) for r in self.rows)

    def locate(self, path: Path) -> Field:
        if path and isinstance(path[0], int) and path[0] < len(self._submitted):
            row = self._submitted[path[0]]
            if len(path) > 1 and not self._scalar:
                for f in row.fields:
                    if f.name == path[1]:
                        return f.locate(path[2:])
            return next(f for f in row.fields if f.name == self._key)
        return self

    def clear_problems(self) -> None:
        super().clear_problems()
        for row in self.rows:
            for f in row.fields:
                f.clear_problems()

    def refresh(self) -> None:
        for row in self.rows:
            for f in row.fields:
                f.refresh()


# --- fields drawn from a record model -----------------------------------------------------


def choice_words(values: Sequence[str]) -> list[tuple[str, str]]:
    """``(words, value)`` pairs for a choice: ``"free attention"`` shows "Free attention"."""
    return [(v.replace("_", " ").capitalize(), v) for v in values]


def _annotation(info: Any) -> tuple[Any, bool, dict[str, Any]]:
    """A field's plain type, whether it may be None, and its limits (ge, le, max_length)."""
    limits: dict[str, Any] = {}

    def collect(metadata: Sequence[Any]) -> None:
        for meta in metadata:
            collect(getattr(meta, "metadata", ()) or ())  # a pydantic Field inside Annotated
            for name in ("ge", "le", "max_length"):
                if getattr(meta, name, None) is not None:
                    limits[name] = getattr(meta, name)

    collect(info.metadata)
    annotation = info.annotation
    union = typing.get_origin(annotation) in (typing.Union, types.UnionType)
    parts = typing.get_args(annotation) if union else (annotation,)
    optional = type(None) in parts
    [core] = [p for p in parts if p is not type(None)]
    while typing.get_origin(core) is Annotated:
        core, *metadata = typing.get_args(core)
        collect(metadata)
    return core, optional, limits


def field_for(
    model: type[BaseModel], name: str, cls: type[Field] | None = None, **overrides: Any
) -> Field:
    """The field for ``model``'s field ``name``, chosen from the model.

    The widget follows the annotation: text (one line when the model bounds its length,
    several lines otherwise), a fixed choice (``Literal``, offered in the model's order),
    a date, a date and time, a 0-10 scale, another bounded whole number, or a yes/no flag.
    The label is the field's title, the default the model's; a field the model lets be
    empty is optional, and a date or time it does not is required (a cleared date is
    refused, not quietly filled in with today).
    ``cls`` picks another field class (a choice of people for an id, say); ``overrides``
    (``label``, ``placeholder``, ``hint``, ``options``, ``default``...) replace what the model
    gives. TypeError when the model's type has no field of its own here.
    """
    info = model.model_fields[name]
    core, optional, limits = _annotation(info)
    default = None if info.default is PydanticUndefined else info.default
    label = overrides.pop("label", None) or info.title or name.replace("_", " ").capitalize()
    if cls is None:
        cls = _class_for(core, limits)
    if cls is None:
        raise TypeError(f"{model.__name__}.{name}: no field for {core!r}; give the field class")
    derived: dict[str, Any] = {}
    if cls is ChoiceField:
        derived = {"optional": optional, "default": default}
        if typing.get_origin(core) is Literal:
            derived["options"] = choice_words(allowed_values(model, name))
    elif cls is TextField:
        derived = {"multiline": "max_length" not in limits}
    elif cls in (ScaleField, NumberField):
        derived = {"lo": limits.get("ge", 0), "hi": limits.get("le", 10)}
        derived |= {"optional": optional} if cls is ScaleField else {}
        derived |= {"default": default} if default is not None else {}
    elif cls is FlagField:
        derived = {"default": bool(default)}
    elif cls is DateField:
        derived = {"optional": optional, "required": not optional}
    elif cls is DateTimeField:
        derived = {"required": not optional}
    return cls(name, label, **(derived | overrides))


def _class_for(core: Any, limits: dict[str, Any]) -> type[Field] | None:
    if typing.get_origin(core) is Literal:
        return ChoiceField
    if core is bool:
        return FlagField
    if core is int and "ge" in limits and "le" in limits:
        return ScaleField if (limits["ge"], limits["le"]) == (0, 10) else NumberField
    return {str: TextField, datetime: DateTimeField, date: DateField}.get(core)


def fields_for(model: type[BaseModel], *names: str) -> list[Field]:
    """The fields for ``names``, each as :func:`field_for` makes it."""
    return [field_for(model, name) for name in names]
