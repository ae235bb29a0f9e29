"""How a research dataset column is described, and how columns are drawn from the models.

A :class:`Table` lists its :class:`Column` s; each column says its type, constraints, what
the anonymiser does with it (its :attr:`Column.role`) and how extraction reads its raw value
from a stored record (its getter). :mod:`heron_research.research.tables` declares the tables.

The record models are the source of their fields' facts. A column of a model field
(:func:`fields`) takes from it its type, whether it may be empty, its minimum and maximum,
its allowed values (:func:`~heron_research.records.allowed_values`) and its description (the
field's title, and description if it has one); a field of free text is a ``text`` column. A
nested group (:func:`group`: the ratings, the reflection) gives one column per field, named
as in the frames (``ratings_focus``). A kind's table (:func:`kind_table`) is named by the
kind's ``facts.research_table`` and starts with the participant, the record's re-keyed id,
and its day and weekday (and part of the day, for a time) from the kind's ``when_field``; a
list field's table (:func:`list_table`) has a row per item, keyed by the parent's id and the
item's position.

Roles say what the anonymiser does with a column:

``participant``   the participant's pseudonym (filled in by the pseudonym step)
``id``            the record's own id: re-keyed with the study key
``ref``           an id of another exported record: re-keyed, or empty if that record is
                  not in the dataset (not shared for research)
``person``        an id from the client's people register: re-keyed (names never leave)
``day``           a calendar date: becomes the day index since the participant's first record
``weekday``       a calendar date: becomes the weekday (0 = Monday ... 6 = Sunday)
``part_of_day``   a clock time: becomes night, morning, afternoon or evening
``text``          free text: left out by default, or scrubbed (``--free-text scrubbed``)
``term``          a vocabulary term or the client's own word: own words used by fewer than
                  k participants become "other"
``value``         kept as it is (numbers, yes/no, fixed choices)
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from heron_research.records import Record, allowed_values, record_types
from heron_research.records.scoring import Score, score
from heron_research.vocab import PARTS_OF_DAY

__all__ = [
    "PARTICIPANT",
    "Column",
    "Context",
    "Getter",
    "Item",
    "ItemField",
    "Kind",
    "Position",
    "RecordField",
    "Role",
    "Spec",
    "Table",
    "day",
    "fields",
    "group",
    "kind_table",
    "list_table",
    "model_column",
    "ordinal",
    "ref",
]

Role = Literal[
    "participant",
    "id",
    "ref",
    "person",
    "relationship",
    "day",
    "weekday",
    "part_of_day",
    "text",
    "term",
    "value",
]
Kind = Literal["string", "integer", "number", "boolean"]

WEEKDAYS = (
    "0 = Monday, 1 = Tuesday, 2 = Wednesday, 3 = Thursday, 4 = Friday, 5 = Saturday, 6 = Sunday"
)
_FREE_TEXT = (
    " Free text: only present with --free-text scrubbed, after names, contact details, numbers "
    "and dates were replaced by tokens such as [partner] or [email]. Scrubbed text still "
    "carries a residual risk of re-identification."
)


class Context:
    """What extraction needs besides the record: the people register (id -> relationship),
    and the other records read (``records``: kind -> stored data, in the store's order),
    for a column taken from a linked record (an agenda item's latest response)."""

    __slots__ = ("_links", "_scores", "records", "relationships")

    def __init__(
        self,
        relationships: dict[str, str] | None = None,
        records: dict[str, list[dict[str, Any]]] | None = None,
    ) -> None:
        self.relationships = relationships or {}
        self.records = records or {}
        self._scores: dict[str, Score] = {}
        self._links: dict[tuple[str, str], dict[Any, list[dict[str, Any]]]] = {}

    def linked(self, kind: str, link: str, value: Any) -> list[dict[str, Any]]:
        """The records of ``kind`` whose field ``link`` is ``value``, in the store's order
        (by date, then as saved): the last is the latest."""
        index = self._links.get((kind, link))
        if index is None:
            index = {}
            for data in self.records.get(kind, ()):
                index.setdefault(data.get(link), []).append(data)
            self._links[(kind, link)] = index
        return index.get(value, []) if value is not None else []

    def score(self, check_in: dict[str, Any]) -> Score:
        """A check-in's score, computed once for its three columns."""
        found = self._scores.get(check_in["id"])
        if found is None:
            found = score(check_in["instrument"], check_in["answers"])
            self._scores[check_in["id"]] = found
        return found

    def relationship(self, person_id: str | None) -> str | None:
        if person_id is None:
            return None
        return self.relationships.get(person_id, "unknown")


Getter = Callable[[Any, Any, Context], Any]


class RecordField:
    """A getter for a field of the record as stored (extraction reads it directly)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, record: dict[str, Any], item: Any, context: Context) -> Any:
        return record[self.name]


class ItemField(RecordField):
    """A getter for a field of a list item (child tables iterate (position, item) pairs)."""

    __slots__ = ()

    def __call__(self, record: dict[str, Any], item: Any, context: Context) -> Any:
        return item[1][self.name]


class Item:
    """A getter for a list item that is a plain value (an id, an answer)."""

    __slots__ = ()

    def __call__(self, record: dict[str, Any], item: Any, context: Context) -> Any:
        return item[1]


class Position(Item):
    """A getter for a list item's position in its list."""

    __slots__ = ()

    def __call__(self, record: dict[str, Any], item: Any, context: Context) -> Any:
        return item[0]


@dataclass(frozen=True)
class Column:
    """One column of a dataset table."""

    name: str
    kind: Kind
    description: str
    role: Role = "value"
    get: Getter | None = None  # (record, list item or None, context) -> raw value
    required: bool = False
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] | Callable[[], tuple[str, ...]] | None = None
    unit: str | None = None
    origin: bool = False  # this date places the record on the participant's timeline

    def allowed(self) -> tuple[str, ...] | None:
        """The allowed values of a fixed-choice column (vocabulary terms for terms)."""
        if self.choices is None:
            return None
        return self.choices() if callable(self.choices) else self.choices


@dataclass(frozen=True)
class Table:
    """One table: which records (and which list in them) give its rows, and its columns."""

    name: str
    title: str
    description: str
    kind: str | None  # the record kind read (None: built from the others)
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    items: str | None = None  # the list field whose items are the rows (child tables)
    foreign_keys: tuple[tuple[str, str, str], ...] = field(default=())  # column, table, column

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    def by_role(self, *roles: Role) -> list[Column]:
        return [c for c in self.columns if c.role in roles]


# --- columns drawn from the models ----------------------------------------------------------

_KINDS: dict[Any, Kind] = {bool: "boolean", int: "integer", float: "number", str: "string"}


def model_column(
    model: type[BaseModel],
    name: str,
    get: Getter,
    *,
    column: str | None = None,
    describe: Callable[[str], str] | None = None,
    **override: Any,
) -> Column:
    """The column of the model's field ``name`` (see the module docstring): what its
    annotation says (``Annotated[int, Field(ge=0, le=10)] | None`` is a whole number from 0
    to 10 that may be empty), its title and description. ``describe`` makes the description
    from the title; ``override`` replaces anything."""
    info = model.model_fields[name]
    nullable = fixed = False
    kind: Kind | None = None
    metadata, stack = list(info.metadata), [info.annotation]
    while stack:
        current = stack.pop()
        origin = typing.get_origin(current)
        if current is type(None):
            nullable = True
        elif origin is typing.Annotated:
            inner, *extra = typing.get_args(current)
            stack.append(inner)
            for meta in extra:
                metadata.extend(meta.metadata if isinstance(meta, FieldInfo) else [meta])
        elif origin in (typing.Union, types.UnionType):
            stack.extend(typing.get_args(current))
        elif origin is Literal or current in _KINDS:
            fixed = origin is Literal
            kind = "string" if fixed else _KINDS[current]
        else:
            kind = None
            break
    if kind is None:
        raise TypeError(f"{model.__name__}.{name} is not a plain field: declare its column")
    low = [m.ge for m in metadata if getattr(m, "ge", None) is not None]
    high = [m.le for m in metadata if getattr(m, "le", None) is not None]
    title = info.title or name
    text = kind == "string" and not fixed
    if describe is not None:
        description = describe(title)
    elif text:
        description = f"What was written for “{title}”."
    else:
        description = f"{title} ({info.description})." if info.description else f"{title}."
    values: dict[str, Any] = {
        "name": column or name,
        "kind": kind,
        "description": description + (_FREE_TEXT if text else ""),
        "role": "text" if text else "value",
        "get": get,
        "required": not (nullable or text),
        "minimum": low[-1] if low else None,
        "maximum": high[-1] if high else None,
        "choices": allowed_values(model, name) if fixed else None,
        "unit": "points" if kind == "integer" and low and high else None,
    }
    return Column(**(values | override))


#: A column spec: made into columns once the table's model is known (is it a list item?)
Spec = Callable[[type[BaseModel], bool], tuple[Column, ...]]


def fields(*names: str, **override: Any) -> Spec:
    """The columns of plain fields of the table's model (a record, or a list item)."""

    def make(model: type[BaseModel], item: bool) -> tuple[Column, ...]:
        getter = ItemField if item else RecordField
        return tuple(model_column(model, n, getter(n), **override) for n in names)

    return make


def group(name: str, describe: Callable[[str], str]) -> Spec:
    """One column per field of the nested group ``name``, named ``<name>_<field>`` as in the
    frames; ``describe`` makes each description from the field's title."""

    def make(model: type[BaseModel], item: bool) -> tuple[Column, ...]:
        inner = model.model_fields[name].annotation
        if not (isinstance(inner, type) and issubclass(inner, BaseModel)):
            raise TypeError(f"{model.__name__}.{name} is not a group of fields")
        return tuple(
            model_column(
                inner,
                f,
                lambda r, i, c, f=f: r[name][f],
                column=f"{name}_{f}",
                describe=describe,
            )
            for f in inner.model_fields
        )

    return make


def day(name: str, source: str, description: str) -> Spec:
    """A day index column from the date field ``source`` (required unless it may be empty)."""

    def make(model: type[BaseModel], item: bool) -> tuple[Column, ...]:
        required = type(None) not in typing.get_args(model.model_fields[source].annotation)
        get = (lambda r, i, c: ordinal(i[1][source])) if item else _date_of(source)
        return (_day(name, description, get, required=required),)

    return make


def ref(name: str, what: str, get: Getter | None = None) -> Column:
    """A reference to another exported record (re-keyed, or empty if not exported)."""
    return Column(
        name,
        "string",
        f"The {what} it refers to, re-keyed; empty if that {what} is not in the dataset.",
        role="ref",
        get=get or RecordField(name),
    )


# --- helpers for getters and choices ---------------------------------------------------------


def ordinal(value: str | date | datetime | None) -> int | None:
    """The proleptic Gregorian ordinal of a date on the local calendar where it was recorded.

    Stored times are ISO 8601 text with the offset of the place they were recorded
    (``2025-03-03T08:15:00+01:00``): their first ten characters are the local date.
    """
    if value is None:
        return None
    if isinstance(value, str):
        return date.fromisoformat(value[:10]).toordinal()
    if isinstance(value, datetime):
        return value.date().toordinal()
    return value.toordinal()


# --- the columns tables share ----------------------------------------------------------------

PARTICIPANT = Column(
    "participant_id",
    "string",
    "The participant's pseudonym: an HMAC of the workbook's id under the study key. "
    "Stable within this study, unlinkable to other studies.",
    role="participant",
    required=True,
)
_TO_PARTICIPANTS = ("participant_id", "participants", "participant_id")


def _day(
    name: str, what: str, getter: Getter, *, origin: bool = False, required: bool = False
) -> Column:
    return Column(
        name,
        "integer",
        f"{what}: days since the participant's first record in this dataset (day 0). "
        "Calendar dates never leave the workbook.",
        role="day",
        get=getter,
        unit="days",
        required=origin or required,
        origin=origin,
    )


def _date_of(name: str) -> Getter:
    return lambda r, i, c: ordinal(r[name])


def _minute_of(name: str) -> Getter:
    """Minutes since local midnight on the wall clock where the time was recorded."""
    return lambda r, i, c: int(r[name][11:13]) * 60 + int(r[name][14:16])


def _part_names() -> str:
    parts = [f"{name} ({first:02d}-{stop:02d})" for name, first, stop in PARTS_OF_DAY]
    return ", ".join(parts[:-1]) + " or " + parts[-1]


def _dated(model: type[Record]) -> tuple[Column, ...]:
    """The day (the participant's timeline), weekday and, for a time, part of the day of
    the field that dates a record of the kind."""
    when = model.when_field
    if when is None:
        raise TypeError(f"{model.kind} has no date to place its records on the timeline")
    get = _date_of(when)
    title = model.model_fields[when].title
    columns = [
        _day("day", f"The {model.facts.label}'s “{title}”", get, origin=True),
        Column(
            "weekday",
            "integer",
            f"Day of the week of the entry, on the participant's local calendar ({WEEKDAYS}).",
            role="weekday",
            get=get,
            minimum=0,
            maximum=6,
            required=True,
        ),
    ]
    if model.model_fields[when].annotation is datetime:
        columns.append(
            Column(
                "part_of_day",
                "string",
                f"Part of the day on the participant's local clock: {_part_names()}.",
                role="part_of_day",
                get=_minute_of(when),
                choices=tuple(name for name, _, _ in PARTS_OF_DAY),
                required=True,
            )
        )
    return tuple(columns)


def _columns(specs: Iterable[Column | str | Spec], model: Any, item: bool) -> list[Column]:
    out: list[Column] = []
    for spec in specs:
        if isinstance(spec, Column):
            out.append(spec)
        else:
            out.extend((fields(spec) if isinstance(spec, str) else spec)(model, item))
    return out


def kind_table(
    model: type[Record], id_column: str, title: str, description: str, *specs: Column | str | Spec
) -> Table:
    """The table of a record kind (named by its ``facts.research_table``): one row per record.

    ``specs`` are columns, field names (see :func:`fields`) or column specs."""
    name = model.facts.research_table
    if name is None:
        raise TypeError(f"{model.kind} is not exported: {model.facts.not_exported}")
    own_id = Column(
        id_column,
        "string",
        f"The {model.facts.label}'s id, re-keyed with the study key.",
        role="id",
        get=RecordField("id"),
        required=True,
    )
    return Table(
        name=name,
        title=title,
        description=description,
        kind=model.kind,
        columns=(PARTICIPANT, own_id, *_dated(model), *_columns(specs, model, False)),
        primary_key=(id_column,),
        foreign_keys=(_TO_PARTICIPANTS,),
    )


def list_table(
    parent: Table,
    items: str,
    name: str,
    what: str,
    title: str,
    description: str,
    *specs: Column | str | Spec,
) -> Table:
    """A long-format table of the list field ``items`` of the parent's kind: one row per item,
    keyed by the parent's id and the item's ``position``."""
    model = record_types()[str(parent.kind)]
    (item_model,) = typing.get_args(model.model_fields[items].annotation)
    (parent_id,) = parent.primary_key
    position = Column(
        "position",
        "integer",
        f"Position of the {what} in the entry's list, from 0.",
        get=Position(),
        minimum=0,
        required=True,
    )
    return Table(
        name=name,
        title=title,
        description=description,
        kind=parent.kind,
        items=items,
        columns=(
            PARTICIPANT,
            parent.column(parent_id),
            position,
            *_columns(specs, item_model, True),
        ),
        primary_key=(parent_id, "position"),
        foreign_keys=(_TO_PARTICIPANTS, (parent_id, parent.name, parent_id)),
    )
