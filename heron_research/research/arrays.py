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

    n = len(values)
    valid, nulls = _validity(values)
    if kind == "string":
        if nulls:
            values = ["" if v is None else v for v in values]
        if not all(type(v) is str for v in values):
            bad = next(v for v in values if type(v) is not str)
            raise TypeError(f"a string column holds {type(bad).__name__} {bad!r}")
        encoded = [v.encode("utf-8") for v in values]
        ends = np.fromiter(accumulate(map(len, encoded), initial=0), np.int32, count=n + 1)
        buffers = [valid, pa.py_buffer(ends), pa.py_buffer(b"".join(encoded))]
        return pa.Array.from_buffers(pa.string(), n, buffers, null_count=nulls)
    blank = _BLANK[kind]
    filled = [blank if v is None else v for v in values] if nulls else list(values)
    if not all(type(v) in _PYTHON_TYPES[kind] for v in filled):
        bad = next(v for v in filled if type(v) not in _PYTHON_TYPES[kind])
        raise TypeError(f"a{'n' if kind == 'integer' else ''} {kind} column holds {bad!r}")
    if kind == "boolean":
        data = np.packbits(np.array(filled, dtype=bool), bitorder="little")
        return pa.Array.from_buffers(pa.bool_(), n, [valid, pa.py_buffer(data)], null_count=nulls)
    dtype = np.int32 if kind == "integer" else np.float64
    data = np.array(filled, dtype=dtype)  # OverflowError for an integer out of range
    arrow_type = pa.int32() if kind == "integer" else pa.float64()
    return pa.Array.from_buffers(arrow_type, n, [valid, pa.py_buffer(data)], null_count=nulls)


#: what stands in the data buffer where a value is missing (the validity bitmap says so)
_BLANK: dict[str, Any] = {"integer": 0, "number": 0.0, "boolean": False}
#: the Python values each column kind takes (a boolean is not an integer here)
_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "integer": (int,),
    "number": (float, int),
    "boolean": (bool,),
}


def _validity(values: Sequence[Any]) -> tuple[pa.Buffer | None, int]:
    """The validity bitmap of ``values`` (None if no value is missing) and the null count."""
    import numpy as np
    import pyarrow as pa

    if not any(v is None for v in values):
        return None, 0
    present = np.fromiter((v is not None for v in values), bool, count=len(values))
    nulls = len(values) - int(present.sum())
    return pa.py_buffer(np.packbits(present, bitorder="little")), nulls
