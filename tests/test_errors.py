"""One exception tree, written down and checked.

The tree drawn in ``heron_research/errors.py``'s docstring is parsed and compared with the
classes' real tree (names, parents, builtin bases), both ways; every exception class the
package defines lives in that module; the modules that used to define them still export
them; and the one table of batch reasons gives each error its reason.
"""

from __future__ import annotations

import errno
import importlib
import inspect
import pkgutil
import re
from pathlib import Path
from types import ModuleType

import pytest

import heron_research
from heron_research import errors
from heron_research.errors import (
    BATCH_REASONS,
    ChangedWhileReading,
    DatasetExistsError,
    ExportFormatError,
    HeronError,
    NewerWorkbookError,
    NoInputsError,
    NotAWorkbookError,
    OlderWorkbookError,
    RecordNotFoundError,
    RecordValidationError,
    StudyKeyExposedError,
    WorkbookBusyError,
    WorkbookCorruptError,
    WorkbookError,
    WorkbookExistsError,
    WorkbookNotFoundError,
    WorkbookReadOnlyError,
    batch_reason,
)

pytestmark = pytest.mark.unit

#: name -> (parent's name or None, names of the builtin bases)
Tree = dict[str, tuple[str | None, tuple[str, ...]]]

_ROW = re.compile(
    r"^(?P<lead>(?:[│ ]   )*)(?:(?P<branch>[├└]── ))?"
    r"(?P<name>[A-Z]\w*)(?: \((?P<bases>[\w, ]+)\))?(?:  .*)?$"
)


def _literal_blocks(doc: str) -> list[list[str]]:
    """The reStructuredText literal blocks (after a line ending ``::``), indent removed."""
    blocks: list[list[str]] = []
    lines = doc.splitlines()
    for i, line in enumerate(lines):
        if not line.rstrip().endswith("::"):
            continue
        block: list[str] = []
        for row in lines[i + 1 :]:
            if row.strip() and not row.startswith("    "):
                break
            if row.strip():
                block.append(row[4:])
        blocks.append(block)
    return blocks


def documented_tree(doc: str) -> Tree:
    """The tree the docstring draws: each row's parent is the row one level up above it."""
    tree: Tree = {}
    for block in _literal_blocks(doc):
        above: list[str] = []  # the last name seen at each depth
        for row in block:
            match = _ROW.match(row)
            assert match, f"not a row of the tree: {row!r}"
            depth = len(match["lead"]) // 4 + (1 if match["branch"] else 0)
            assert depth <= len(above), f"{match['name']} is indented under nothing"
            del above[depth:]
            name = match["name"]
            assert name not in tree, f"{name} is drawn twice"
            bases = tuple(b.strip() for b in (match["bases"] or "").split(",") if b.strip())
            tree[name] = (above[-1] if above else None, bases)
            above.append(name)
    return tree


def _import_every_module() -> list[ModuleType]:
    """Every module of the package (private ones too), so no subclass can hide."""
    modules = [heron_research]
    for info in pkgutil.walk_packages(heron_research.__path__, "heron_research."):
        modules.append(importlib.import_module(info.name))
    return modules


def _entry(cls: type[BaseException]) -> tuple[str | None, tuple[str, ...]]:
    ours = [b for b in cls.__bases__ if issubclass(b, HeronError)]
    assert len(ours) <= 1, f"{cls.__name__} has two HeronError parents: {ours}"
    builtins = tuple(b.__name__ for b in cls.__bases__ if not issubclass(b, HeronError))
    return (ours[0].__name__ if ours else None), builtins


def actual_tree() -> Tree:
    """HeronError and every subclass, plus the other exception classes errors.py defines."""
    _import_every_module()
    tree: Tree = {}
    todo: list[type[BaseException]] = [HeronError]
    while todo:
        cls = todo.pop()
        assert cls.__name__ not in tree, f"two error classes named {cls.__name__}"
        tree[cls.__name__] = _entry(cls)
        todo.extend(cls.__subclasses__())
    for cls in vars(errors).values():
        if inspect.isclass(cls) and issubclass(cls, BaseException):
            tree.setdefault(cls.__name__, _entry(cls))
    return tree


def test_the_parser_reads_a_small_tree() -> None:
    doc = """Errors::

        Root (Exception)
        ├── A (ValueError)    a description (with brackets)
        │   └── B (KeyError, OSError)
        └── C

    Other::

        D (Exception)  alone
    """
    assert documented_tree(inspect.cleandoc(doc)) == {
        "Root": (None, ("Exception",)),
        "A": ("Root", ("ValueError",)),
        "B": ("A", ("KeyError", "OSError")),
        "C": ("Root", ()),
        "D": (None, ("Exception",)),
    }


def test_the_docstring_tree_is_the_real_tree() -> None:
    drawn = documented_tree(errors.__doc__ or "")
    real = actual_tree()
    assert sorted(set(real) - set(drawn)) == [], "classes missing from the docstring tree"
    assert sorted(set(drawn) - set(real)) == [], "the docstring draws classes that do not exist"
    wrong = {name: (drawn[name], real[name]) for name in real if drawn[name] != real[name]}
    assert wrong == {}, "drawn (parent, builtins) differ from the real ones"
    assert {"LabError", "OlderWorkbookError", "FieldError", "ChangedWhileReading"} <= set(drawn)


def test_every_exception_class_lives_in_errors() -> None:
    elsewhere = sorted(
        f"{module.__name__}.{name}"
        for module in _import_every_module()
        for name, value in vars(module).items()
        if inspect.isclass(value)
        and issubclass(value, BaseException)
        and value.__module__ == module.__name__
        and module is not errors
    )
    assert elsewhere == []


def test_every_class_of_the_tree_is_exported_by_errors() -> None:
    assert set(documented_tree(errors.__doc__ or "")) <= set(errors.__all__)


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("heron_research.lab", "LabError"),
        ("heron_research.reports", "SectionFailedError"),
        ("heron_research.reports.runner", "SectionFailedError"),
        ("heron_research.records", "FieldError"),
        ("heron_research.records.base", "FieldError"),
        ("heron_research.research.sources", "ChangedWhileReading"),
        *(
            (where, name)
            for where in ("heron_research.research", "heron_research.research.errors")
            for name in (
                "DatasetExistsError",
                "NoInputsError",
                "ResearchError",
                "StudyKeyError",
                "StudyKeyExposedError",
            )
        ),
    ],
)
def test_moved_classes_are_still_exported_where_they_were(module: str, name: str) -> None:
    where = importlib.import_module(module)
    assert name in where.__all__
    assert getattr(where, name) is getattr(errors, name)


def test_an_older_workbook_opened_read_only_is_its_own_error() -> None:
    older = OlderWorkbookError("old.heron", 1, 3)
    assert isinstance(older, WorkbookReadOnlyError) and isinstance(older, PermissionError)
    assert (older.found, older.supported, older.path) == (1, 3, Path("old.heron"))
    assert str(older) == (
        "old.heron uses an older workbook format (1); open it once without read-only to upgrade it"
    )
    assert not isinstance(
        WorkbookReadOnlyError("ro.heron is on a read-only disk"), OlderWorkbookError
    )


# --- the one table of batch reasons ----------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ChangedWhileReading("a.heron"), "changed"),
        (WorkbookNotFoundError("a.heron: no such workbook"), "missing"),
        (FileNotFoundError(errno.ENOENT, "No such file", "a.heron"), "missing"),
        (NoInputsError("nothing"), "missing"),
        (NewerWorkbookError("a.heron", 9, 3), "newer_format"),
        (OlderWorkbookError("a.heron", 1, 3), "older_format"),
        (WorkbookReadOnlyError("a.heron is on a read-only disk"), "read_only"),
        (WorkbookCorruptError("damaged"), "corrupt"),
        (WorkbookBusyError("busy"), "busy"),
        (NotAWorkbookError("not one"), "not_a_workbook"),
        (ExportFormatError("bad export"), "invalid_export"),
        (WorkbookError("the disk reported an error"), "unreadable"),
        (WorkbookExistsError("there"), "unreadable"),
        (RecordNotFoundError("no such record"), "unreadable"),
        (PermissionError(errno.EACCES, "Permission denied", "a.heron"), "unreadable"),
        (StudyKeyExposedError("readable by others"), "unreadable"),
        (IsADirectoryError(errno.EISDIR, "Is a directory", "a.heron"), "unreadable"),
        (DatasetExistsError("not empty"), "unreadable"),
        (RecordValidationError("emotion_episode", []), "failed"),
        (ValueError("anything else"), "failed"),
        (KeyError("x"), "failed"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else v,
)
def test_each_error_has_its_batch_reason(error: BaseException, code: str) -> None:
    assert batch_reason(error) == code


def test_the_reason_table_is_complete_and_names_each_error_once() -> None:
    listed = [error for reason in BATCH_REASONS.values() for error in reason.errors]
    assert len(listed) == len(set(listed)), "an error is listed under two reasons"
    assert BATCH_REASONS["failed"].errors == ()
    for code, reason in BATCH_REASONS.items():
        assert reason.words and "\n" not in reason.words
        assert re.fullmatch(r"[a-z_]+", code), code
        for error in reason.errors:  # each listed error takes the reason it is listed under
            # an error that is also an OSError is laid out as one (BundleKeyError)
            blank = (OSError if issubclass(error, OSError) else error).__new__(error)
            assert batch_reason(blank) == code, (error, code)


def test_the_batch_uses_the_table() -> None:
    from heron_research.research.sources import ERROR_REASONS, classify_error

    assert {code: r.words for code, r in BATCH_REASONS.items()} == ERROR_REASONS
    assert classify_error(OlderWorkbookError("a", 1, 3)) == "older_format"
    assert classify_error(WorkbookReadOnlyError("a is read-only")) == "read_only"
