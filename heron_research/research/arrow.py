"""Arrow for the research tables: their schemas, and participants' rows as record batches.

A worker turns each participant's columns into one serialised Arrow record batch per table
(:func:`to_batches`, for all the participants of a task at once); the bytes travel to the
dataset writer as they are, which reads them back with the same schema (:func:`read_batch`).
Both sides take the schema from :func:`arrow_schema`, so a table's columns and types are
declared once, in :mod:`heron_research.research.tables`.

Arrays are built from their buffers (:func:`heron_research.research.arrays.array`), not
with ``pyarrow.array``, which imports pandas.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from heron_research.research.anonymise import FreeText, ParticipantData
from heron_research.research.arrays import array
from heron_research.research.tables import TABLES, Column, Table

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["arrow_schema", "kept_columns", "read_batch", "record_batch", "to_batches"]

_ARROW_TYPES = {"string": "string", "integer": "int32", "number": "float64", "boolean": "bool_"}


def kept_columns(spec: Table, free_text: FreeText) -> list[Column]:
    """A table's columns in the dataset (free-text columns only when they are kept)."""
    return [c for c in spec.columns if free_text == "scrubbed" or c.role != "text"]


@cache
def arrow_schema(spec: Table, free_text: FreeText) -> pa.Schema:
    """The Arrow schema of a table (free-text columns only when they are kept)."""
    import pyarrow as pa

    return pa.schema(
        [
            pa.field(c.name, getattr(pa, _ARROW_TYPES[c.kind])(), nullable=not c.required)
            for c in kept_columns(spec, free_text)
        ]
    )


def record_batch(
    columns: Mapping[str, Sequence[Any]], spec: Table, free_text: FreeText
) -> pa.RecordBatch:
    """One table's rows as an Arrow record batch of its schema (see :func:`array`)."""
    import pyarrow as pa

    kept = kept_columns(spec, free_text)
    arrays = [array(columns[c.name], c.kind) for c in kept]
    return pa.RecordBatch.from_arrays(arrays, schema=arrow_schema(spec, free_text))


def to_batches(datas: Sequence[ParticipantData], free_text: FreeText) -> list[dict[str, bytes]]:
    """Each participant's non-empty tables, each as one serialised Arrow record batch.

    The participants of a task are converted together, one batch per table for them all,
    then sliced: Arrow's cost is mostly per array, and a participant has some 130 columns
    of a few rows each. Bytes travel from a worker to the writer without being rebuilt as
    Arrow objects on the way, and the writer appends them to its partition files as they
    are. Raises ``ValueError`` if a participant's columns are not all there or not all of
    one length (nothing is converted then: convert each participant alone to find which)."""
    out: list[dict[str, bytes]] = [{} for _ in datas]
    for spec in TABLES:
        names = [c.name for c in kept_columns(spec, free_text)]
        sizes = [_size(data, spec, names) for data in datas]
        if not any(sizes):
            continue
        merged: dict[str, list[Any]] = {name: [] for name in names}
        for data, size in zip(datas, sizes, strict=True):
            if size:
                columns = data.tables[spec.name]
                for name in names:
                    merged[name].extend(columns[name])
        batch = record_batch(merged, spec, free_text)
        start = 0
        for place, size in enumerate(sizes):
            if size:
                out[place][spec.name] = batch.slice(start, size).serialize().to_pybytes()
                start += size
    return out


def _size(data: ParticipantData, spec: Table, names: list[str]) -> int:
    """A participant's rows in a table, checking that every kept column has that many."""
    rows = data.rows(spec.name)
    if not rows:
        return 0
    columns = data.tables[spec.name]
    for name in names:
        if name not in columns or len(columns[name]) != rows:
            raise ValueError(
                f"table {spec.name}: column {name} has "
                f"{len(columns.get(name, ()))} values for {rows} rows"
            )
    return rows


def read_batch(message: bytes, table: str, free_text: FreeText) -> pa.RecordBatch:
    """A record batch serialised by :func:`to_batches`."""
    import pyarrow as pa

    spec = next(t for t in TABLES if t.name == table)
    return pa.ipc.read_record_batch(pa.py_buffer(message), arrow_schema(spec, free_text))
