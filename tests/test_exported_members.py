"""The top level's ``__all__`` is the declared public API, checked both ways (after httpx's
``tests/test_exported_members.py``): every name it lists exists, and every public name the
package defines or imports at the top level is listed. Submodules are attributes of the
package once imported (``heron_research.cli``), but they are not names it exports.
"""

from __future__ import annotations

from types import ModuleType

import pytest

import heron_research

pytestmark = pytest.mark.unit

#: underscore names that are exported all the same
INCLUDED_PRIVATE = {"__version__"}


def _top_level_names(namespace: dict[str, object]) -> set[str]:
    return {
        name
        for name, value in namespace.items()
        if (not name.startswith("_") or name in INCLUDED_PRIVATE)
        and not isinstance(value, ModuleType)
    }


def test_all_lists_each_name_once() -> None:
    assert len(heron_research.__all__) == len(set(heron_research.__all__))


def test_every_name_in_all_exists() -> None:
    missing = [name for name in heron_research.__all__ if not hasattr(heron_research, name)]
    assert missing == []


def test_every_public_top_level_name_is_in_all() -> None:
    assert _top_level_names(vars(heron_research)) == set(heron_research.__all__)


def test_exported_errors_are_the_tree_s() -> None:
    from heron_research import errors

    exported_errors = {
        name
        for name in heron_research.__all__
        if isinstance(getattr(heron_research, name), type)
        and issubclass(getattr(heron_research, name), BaseException)
    }
    assert exported_errors <= set(errors.__all__)
    assert "HeronError" in exported_errors
