"""Stored records to typed pandas DataFrames.

Each record kind gives one table named after the kind (``emotion_episode``); each list
field gives a child table named ``kind.field`` (``emotion_episode.emotions``) with the
parent's id and the position in the list. Nested groups (a reflection, ratings) become
prefixed columns. Column types come from the record models, so an empty table still has
every column with its type:

* text -> ``string``; whole numbers -> ``Int64``; numbers -> ``Float64``; yes/no -> ``boolean``;
* a fixed choice -> ``category`` with every allowed value;
* a date -> ``datetime64[ns]``; a time -> ``datetime64[ns, UTC]`` plus ``<name>_local``,
  the wall-clock time where it was recorded (for time-of-day questions).
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from heron_research.records import RECORD_TYPES, record_type
from heron_research.records.base import Sharing

if TYPE_CHECKING:
    import pandas as pd

    from heron_research.workbook.stored import StoredRecord

__all__ = ["build_frame", "table_names"]

#: column name for the items of a list of plain values
_ITEM_COLUMN = {"people": "person_id", "episode_ids": "episode_id", "answers": "answer"}
_ENVELOPE = ("id", "sharing")


@dataclass(frozen=True)
class _Col:
    name: str
    kind: str  # string | int | float | bool | category | date | datetime
    path: tuple[str, ...]
    categories: tuple[str, ...] = ()


def _unwrap(annotation: Any) -> Any:
    """Strip Annotated[...] and Optional[...]: the type that is really stored."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _scalar(annotation: Any) -> tuple[str, tuple[str, ...]] | None:
    t = _unwrap(annotation)
    if typing.get_origin(t) is typing.Literal:
        return "category", tuple(str(a) for a in typing.get_args(t))
    if isinstance(t, type):
        if issubclass(t, Enum):
            return "category", tuple(str(m.value) for m in t)
        if issubclass(t, bool):
            return "bool", ()
        if issubclass(t, int):
            return "int", ()
        if issubclass(t, float):
            return "float", ()
        if issubclass(t, str):
            return "string", ()
        if issubclass(t, datetime):
            return "datetime", ()
        if issubclass(t, date):
            return "date", ()
    return None


def _list_item(annotation: Any) -> Any | None:
    t = _unwrap(annotation)
    if typing.get_origin(t) is list:
        return typing.get_args(t)[0]
    return None


def _model_columns(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> list[_Col]:
    cols: list[_Col] = []
    for name, info in model.model_fields.items():
        if not prefix and name in _ENVELOPE:
            continue
        path = (*prefix, name)
        scalar = _scalar(info.annotation)
        if scalar is not None:
            kind, cats = scalar
            cols.append(_Col("_".join(path), kind, path, cats))
            if kind == "datetime":
                cols.append(_Col("_".join(path) + "_local", "local", path))
            continue
        inner = _unwrap(info.annotation)
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            cols.extend(_model_columns(inner, path))
    return cols


def _list_fields(model: type[BaseModel]) -> dict[str, Any]:
    return {
        name: item
        for name, info in model.model_fields.items()
        if (item := _list_item(info.annotation)) is not None
    }


def table_names(kind: str | None = None) -> list[str]:
    """Every table name (for one kind, or for all kinds)."""
    kinds = [kind] if kind else list(RECORD_TYPES)
    out: list[str] = []
    for k in kinds:
        out.append(k)
        out.extend(f"{k}.{field}" for field in _list_fields(record_type(k)))
    return out


def _series(values: list[Any], col: _Col) -> pd.Series:
    import pandas as pd

    if col.kind == "string":
        return pd.Series(values, dtype="string")
    if col.kind == "int":
        return pd.Series(values, dtype="Int64")
    if col.kind == "float":
        return pd.Series(values, dtype="Float64")
    if col.kind == "bool":
        return pd.Series(values, dtype="boolean")
    if col.kind == "category":
        return pd.Series(values, dtype=pd.CategoricalDtype(list(col.categories)))
    if col.kind == "date":
        return pd.Series(pd.to_datetime(values), dtype="datetime64[ns]")
    if col.kind == "datetime":
        return pd.Series(pd.to_datetime(values, utc=True), dtype="datetime64[ns, UTC]")
    if col.kind == "local":
        naive = [v.replace(tzinfo=None) if v is not None else None for v in values]
        return pd.Series(pd.to_datetime(naive), dtype="datetime64[ns]")
    raise AssertionError(col.kind)


def _get(obj: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        obj = getattr(obj, part)
    if isinstance(obj, Enum):
        return obj.value
    return obj


def _frame(columns: dict[str, pd.Series]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(columns)


def build_frame(table: str, stored: list[StoredRecord]) -> pd.DataFrame:
    """The typed DataFrame for ``table`` from records of its kind."""
    import pandas as pd

    kind, _, field = table.partition(".")
    model = record_type(kind)
    if not field:
        cols = _model_columns(model)
        data: dict[str, pd.Series] = {
            "id": pd.Series([s.id for s in stored], dtype="string"),
            "sharing": pd.Series(
                [s.sharing.value for s in stored],
                dtype=pd.CategoricalDtype([s.value for s in Sharing], ordered=True),
            ),
            "created_at": pd.Series(
                pd.to_datetime([s.created_at for s in stored], utc=True),
                dtype="datetime64[ns, UTC]",
            ),
            "updated_at": pd.Series(
                pd.to_datetime([s.updated_at for s in stored], utc=True),
                dtype="datetime64[ns, UTC]",
            ),
            "revision": pd.Series([s.revision for s in stored], dtype="Int64"),
        }
        for col in cols:
            data[col.name] = _series([_get(s.record, col.path) for s in stored], col)
        derived = [s.record.derived() for s in stored]
        for name in model.derived_columns():
            dtype = model.derived_columns()[name]
            data[name] = pd.Series([d.get(name) for d in derived], dtype=dtype)
        return _frame(data)

    lists = _list_fields(model)
    if field not in lists:
        raise ValueError(f"{kind} has no list {field!r}; tables: {', '.join(table_names(kind))}")
    item = _unwrap(lists[field])
    parent_ids: list[str] = []
    positions: list[int] = []
    items: list[Any] = []
    for s in stored:
        for i, value in enumerate(getattr(s.record, field)):
            parent_ids.append(s.id)
            positions.append(i)
            items.append(value)
    data = {
        f"{kind}_id": pd.Series(parent_ids, dtype="string"),
        "position": pd.Series(positions, dtype="Int64"),
    }
    if isinstance(item, type) and issubclass(item, BaseModel):
        for col in _model_columns(item):
            data[col.name] = _series([_get(v, col.path) for v in items], col)
    else:
        kind_name, cats = _scalar(item) or ("string", ())
        col = _Col(_ITEM_COLUMN.get(field, "value"), kind_name, (), cats)
        data[col.name] = _series(items, col)
    return _frame(data)
