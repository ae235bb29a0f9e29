"""Inputs of a batch: finding them, reading them read-only, and saying why one cannot be read.

An input is a workbook file (SQLite) or a portable JSON export. A folder stands for every
``*.heron`` and ``*.json`` file under it (hidden files and folders, and research datasets
made earlier, skipped). A file named directly is read whatever its name, and recognised by
its first bytes.

A workbook is opened with ``Workbook.open(path, readonly=True)``; an export is validated by
the importer (:func:`heron_research.workbook.portable.import_text`) into a temporary workbook
that is deleted afterwards. Either way the input file is checked before and after it is
read (with the workbook's ``-wal`` file, where committed entries may still wait) by its
:func:`signature`: a file that changed in between is not used.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from heron_research.errors import (
    BATCH_REASONS,
    ChangedWhileReading,
    ExportFormatError,
    NotAWorkbookError,
    batch_reason,
)
from heron_research.records import Sharing, record_type
from heron_research.research.errors import NoInputsError
from heron_research.workbook import Workbook

__all__ = [
    "ERROR_REASONS",
    "SUFFIXES",
    "ChangedWhileReading",
    "StoredRow",
    "classify_error",
    "content_digest",
    "find_inputs",
    "open_source",
    "signature",
    "sniff",
    "stored_rows",
]

#: file names a folder is searched for
SUFFIXES = (".heron", ".json")
_SQLITE_MAGIC = b"SQLite format 3\x00"

Format = Literal["workbook", "export"]

#: Why an input could not be read, by code: the words the manifest uses (no paths, no
#: content). Derived from the one table of errors and reasons, :data:`BATCH_REASONS`.
ERROR_REASONS: dict[str, str] = {code: reason.words for code, reason in BATCH_REASONS.items()}


def find_inputs(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Every input file named by ``paths`` (files, or folders searched for workbooks and
    exports), each once, in a fixed order. A path that does not exist stops the batch."""
    found: dict[Path, None] = {}
    for given in paths:
        path = Path(given)
        if path.is_dir():
            for candidate in sorted(path.rglob("*")):
                relative = candidate.relative_to(path).parts
                if any(part.startswith(".") for part in relative):
                    continue
                if (
                    candidate.suffix.lower() in SUFFIXES
                    and candidate.is_file()
                    and not _in_a_dataset(candidate)
                ):
                    found.setdefault(candidate.resolve(), None)
        elif path.exists():
            found.setdefault(path.resolve(), None)
        else:
            raise NoInputsError(f"{path}: no such file or folder")
    if not found:
        names = ", ".join(str(p) for p in paths) or "(none given)"
        raise NoInputsError(f"no workbooks (*.heron) or exports (*.json) found in {names}")
    return sorted(found)


def _in_a_dataset(path: Path) -> bool:
    """Whether ``path`` is part of a research dataset (its codebook, manifest, tables)."""
    folder = path.parent
    return (folder / "manifest.json").is_file() and (folder / "datapackage.json").is_file()


def _wal(path: Path) -> Path:
    return path.with_name(path.name + "-wal")


def content_digest(path: Path) -> str:
    """SHA-256 of the file and of its ``-wal`` file if it has one with content."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        hashlib.file_digest(fh, lambda: digest)  # type: ignore[arg-type]
    wal = _wal(path)
    try:
        with wal.open("rb") as fh:
            first = fh.read(1 << 16)
            if first:
                digest.update(b"\x00-wal\x00")
                digest.update(first)
                while chunk := fh.read(1 << 20):
                    digest.update(chunk)
    except FileNotFoundError:
        pass
    return digest.hexdigest()


Signature = tuple[tuple[int, int, int, int, int] | None, ...]


def _stat(path: Path) -> tuple[int, int, int, int, int] | None:
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def signature(path: Path) -> Signature:
    """What changes whenever the file or its ``-wal`` file is written: device, inode, size,
    modification and change times (the change time is set by the system on every write and
    cannot be set back by a program)."""
    main = _stat(path)
    if main is None:
        raise FileNotFoundError(f"{path}: no such file")
    wal = _stat(_wal(path))
    # an empty -wal file holds nothing (SQLite makes one when a reader opens the workbook).
    # The -wal's change time is left out: SQLite run as root chowns the -wal on every open,
    # so the batch's own read would look like a change; its size and mtime still tell.
    return (main, (*wal[:4], 0) if wal is not None and wal[2] > 0 else None)


def sniff(path: Path) -> Format:
    """Whether the file is a workbook (SQLite) or an export (JSON), from its first bytes."""
    with path.open("rb") as fh:
        head = fh.read(64)
    if head.startswith(_SQLITE_MAGIC):
        return "workbook"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return "export"
    raise NotAWorkbookError(f"{path} is not a heron-research workbook or export", path)


@contextmanager
def open_source(path: Path, fmt: Format, as_of: datetime) -> Iterator[Workbook]:
    """The input as a read-only workbook whose clock reads ``as_of``.

    An export is first validated by the importer into a temporary workbook (deleted on exit).
    """

    def clock() -> datetime:
        return as_of

    if fmt == "workbook":
        with Workbook.open(path, readonly=True, clock=clock) as wb:
            yield wb
        return
    from heron_research.workbook.portable import import_text

    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ExportFormatError(f"{path} is not UTF-8 text") from None
    with tempfile.TemporaryDirectory(prefix="heron-research-") as folder:
        copy = Path(folder) / "import.heron"
        import_text(text, copy, source=str(path)).close()
        with Workbook.open(copy, readonly=True, clock=clock) as wb:
            yield wb


@dataclass(frozen=True)
class StoredRow:
    """A record as the workbook stores it: its JSON (validated when it was saved)."""

    kind: str
    id: str
    revision: int
    updated_at: str
    data: dict[str, Any]

    def validated(self) -> StoredRow:
        """The same record validated again by its model (as ``Workbook.records`` does) and
        written back as JSON: for JSON whose shape this version's models would not write."""
        data = record_type(self.kind).model_validate(self.data).to_data()
        return StoredRow(self.kind, self.id, self.revision, self.updated_at, data)


def stored_rows(
    wb: Workbook,
    kinds: Iterable[str],
    levels: Iterable[Sharing] | None,
    *,
    include_deleted: bool = False,
) -> list[StoredRow]:
    """The current version of every record of ``kinds`` shared at one of ``levels``, in the
    store's order (by kind, then as ``Workbook.records`` orders them).

    ``levels`` must come from :func:`heron_research.visibility.visible_levels`, the one rule
    of who sees what; ``None`` (every level) is for the client's own view, which the
    consent gate and the scrubber need for the consent ledger and the people register.

    This is ``Workbook.records`` without validating each record again on the way out: the
    store validated every record when it was saved (and the importer every exported one),
    and re-validation is most of the cost of reading a workbook, which sets how fast a
    batch runs. Extraction falls back to :meth:`StoredRow.validated` if stored JSON does
    not have the expected shape. It reads through the store's own connection and error
    handling, so a locked or damaged file raises the store's errors.
    """
    kinds = list(kinds)
    sql = [
        "SELECT kind, id, revision, updated_at, data FROM records",
        f"WHERE kind IN ({','.join('?' * len(kinds))})",
    ]
    args: list[str] = list(kinds)
    if levels is not None:
        values = sorted(Sharing(level).value for level in levels)
        if not values:
            return []
        sql.append(f"AND sharing IN ({','.join('?' * len(values))})")
        args.extend(values)
    if not include_deleted:
        sql.append("AND deleted_at IS NULL")
    sql.append("ORDER BY kind, occurred_on, occurred_at, created_at, id")
    with wb._errors():  # the store's mapping of SQLite errors (busy, damaged...)
        rows = wb._db.execute(" ".join(sql), args).fetchall()
    return [
        StoredRow(kind, rid, revision, updated, json.loads(data))
        for kind, rid, revision, updated, data in rows
    ]


def classify_error(exc: BaseException) -> str:
    """The ERROR_REASONS code for an exception raised while reading an input."""
    return batch_reason(exc)
