"""Files shipped with the package: vocabularies, the principles text, schemas, notebooks.

In a wheel, ``data/``, ``schema/`` and ``notebooks/`` are mapped into the package as
``heron_research/_data`` etc. In a source checkout (editable install) they sit beside the
package. Either way they are found relative to the package, never the current directory.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

__all__ = ["data_file", "notebook_file", "schema_file"]

_CHECKOUT_ROOT = Path(__file__).resolve().parent.parent


def _folder(packaged: str, checkout: str) -> Traversable:
    inside = files("heron_research") / packaged
    if inside.is_dir():
        return inside
    beside = _CHECKOUT_ROOT / checkout
    if beside.is_dir():
        return beside
    raise FileNotFoundError(
        f"heron-research is installed without its {checkout!r} files; reinstall the package"
    )


def data_file(*parts: str) -> Traversable:
    """A file under the packaged ``data/`` folder, e.g. ``data_file("vocab", "emotions.csv")``."""
    node = _folder("_data", "data")
    for part in parts:
        node = node / part
    return node


def schema_file(name: str) -> Traversable:
    """A published JSON Schema, e.g. ``schema_file("workbook-export.schema.json")``."""
    return _folder("_schema", "schema") / name


def notebook_file(name: str) -> Traversable:
    """A shipped notebook template, e.g. ``notebook_file("workbook.ipynb")``."""
    return _folder("_notebooks", "notebooks") / name
