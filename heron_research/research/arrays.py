"""Arrow arrays of Python values, built from their buffers: without importing pandas.

``pyarrow.array`` asks, for every list it is given, whether it is a pandas object, and
imports pandas to find out: 0.4 s of CPU in every process of a research batch that builds
an array (its workers and the dataset writer), which never use pandas otherwise. The
batch's arrays are of four kinds only, and :func:`array` builds those directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import accumulate
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["array"]


def array(values: Sequence[Any], kind: str) -> pa.Array:
    """An Arrow array of ``values`` (``None`` for a missing value) of a column ``kind``
    (``string``, ``integer``, ``number`` or ``boolean``), built from its buffers.

    Equal to ``pyarrow.array(values, type)``, without importing pandas; a value of another
    type raises ``TypeError`` (an integer out of the 32-bit range ``OverflowError``)."""
    import numpy as np
    import pyarrow as pa

    values = list(values)
    n = len(values)
    nulls = values.count(None)
    valid = None
    if nulls:
        present = np.array(values, dtype=object) != None  # noqa: E711 (element-wise)
        valid = pa.py_buffer(np.packbits(present, bitorder="little"))
        values = [_BLANK[kind] if v is None else v for v in values]
    allowed = _PYTHON_TYPES[kind]
    if not set(map(type, values)) <= allowed:
        bad = next(v for v in values if type(v) not in allowed)
        raise TypeError(f"a {kind} column holds {type(bad).__name__} {bad!r}")
    if kind == "string":
        encoded = [v.encode("utf-8") for v in values]
        ends = np.fromiter(accumulate(map(len, encoded), initial=0), np.int32, count=n + 1)
        buffers = [valid, pa.py_buffer(ends), pa.py_buffer(b"".join(encoded))]
        return pa.Array.from_buffers(pa.string(), n, buffers, null_count=nulls)
    if kind == "boolean":
        data = np.packbits(np.array(values, dtype=bool), bitorder="little")
        return pa.Array.from_buffers(pa.bool_(), n, [valid, pa.py_buffer(data)], null_count=nulls)
    dtype = np.int32 if kind == "integer" else np.float64
    data = np.array(values, dtype=dtype)  # OverflowError for an integer out of range
    arrow_type = pa.int32() if kind == "integer" else pa.float64()
    return pa.Array.from_buffers(arrow_type, n, [valid, pa.py_buffer(data)], null_count=nulls)


#: what stands in the data buffer where a value is missing (the validity bitmap says so)
_BLANK: dict[str, Any] = {"string": "", "integer": 0, "number": 0.0, "boolean": False}
#: the Python values each column kind takes (a boolean is not an integer here)
_PYTHON_TYPES: dict[str, frozenset[type]] = {
    "string": frozenset({str}),
    "integer": frozenset({int}),
    "number": frozenset({float, int}),
    "boolean": frozenset({bool}),
}
