"""Arrow for the research tables: their schemas, and a participant's rows as record batches.

A worker turns a participant's columns into one serialised Arrow record batch per table
(:func:`to_batches`); the bytes travel to the dataset writer as they are, which reads them
back with the same schema (:func:`read_batch`). Both sides take the schema from
:func:`arrow_schema`, so a table's columns and types are declared once, in
:mod:`heron_research.research.tables`.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from heron_research.research.anonymise import FreeText, ParticipantData
from heron_research.research.tables import TABLES, Column, Table

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["arrow_schema", "kept_columns", "read_batch", "to_batches"]

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


def to_batches(data: ParticipantData, free_text: FreeText) -> dict[str, bytes]:
    """The participant's non-empty tables, each as one serialised Arrow record batch.

    Bytes travel from a worker to the writer without being rebuilt as Arrow objects on the
    way, and the writer appends them to its partition files as they are."""
    import pyarrow as pa

    batches: dict[str, bytes] = {}
    for spec in TABLES:
        columns = data.tables.get(spec.name)
        if not columns or not data.rows(spec.name):
            continue
        schema = arrow_schema(spec, free_text)
        batch = pa.RecordBatch.from_pydict(
            {name: columns[name] for name in schema.names}, schema=schema
        )
        batches[spec.name] = batch.serialize().to_pybytes()
    return batches


def read_batch(message: bytes, table: str, free_text: FreeText) -> pa.RecordBatch:
    """A record batch serialised by :func:`to_batches`."""
    import pyarrow as pa

    spec = next(t for t in TABLES if t.name == table)
    return pa.ipc.read_record_batch(pa.py_buffer(message), arrow_schema(spec, free_text))
