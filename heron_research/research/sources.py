"""Inputs of a batch: finding them, reading them read-only, and saying why one cannot be read.

An input is a workbook file (SQLite), a portable JSON export or a research bundle (an
age-encrypted file a client made with ``share --to research``). A folder stands for every
``*.heron``, ``*.json`` and ``*.age`` file under it (hidden files and folders, and research
datasets made earlier, skipped). A file named directly is read whatever its name, and
recognised by its first bytes.

A workbook is opened with ``Workbook.open(path, readonly=True, immutable=True)``, which
creates nothing beside it (no ``-wal`` or ``-shm``; a read-only folder is fine), or, if its
``-wal`` file holds entries not yet in the main file, a private copy of both is read; an
export is validated straight to rows (:func:`heron_research.workbook.portable.read_export`,
the checks an import makes) and read like a read-only workbook by
:class:`~heron_research.workbook.rows.RowsReader`, with no SQLite file made; a bundle is
decrypted with the study's age identities, checked, and read the same way by
:class:`~heron_research.research.bundles.BundleReader`. Whatever the format, the input
file is checked before and after it is read (with the workbook's ``-wal`` file, where
committed entries may still wait) by its
:func:`~heron_research.workbook.snapshot.signature`: a file that changed in between
is not used.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

from heron_research.errors import (
    BATCH_REASONS,
    ChangedWhileReading,
    ExportFormatError,
    NotAWorkbookError,
    batch_reason,
)
from heron_research.records.consent import ConsentState
from heron_research.records.models import CONSENT
from heron_research.research.bundles import AGE_MAGIC, BundleReader, StudyIdentities
from heron_research.research.errors import NoInputsError
from heron_research.research.gate import GateDecision, consent_gate
from heron_research.visibility import Audience
from heron_research.workbook import Workbook
from heron_research.workbook.rows import RowsReader
from heron_research.workbook.snapshot import wal_file
from heron_research.workbook.stored import StoredRow

__all__ = [
    "ERROR_REASONS",
    "SUFFIXES",
    "ChangedWhileReading",
    "Inputs",
    "Source",
    "StoredRow",
    "classify_error",
    "consent_decision",
    "content_digest",
    "find_inputs",
    "list_inputs",
    "open_source",
    "sniff",
    "stored_rows",
]

#: file names a folder is searched for
SUFFIXES = (".heron", ".json", ".age")
_SQLITE_MAGIC = b"SQLite format 3\x00"
_COMPANIONS = ("-wal", "-shm", "-journal")

Format = Literal["workbook", "export", "bundle"]

#: Why an input could not be read, by code: the words the manifest uses (no paths, no
#: content). Derived from the one table of errors and reasons, :data:`BATCH_REASONS`.
ERROR_REASONS: dict[str, str] = {code: reason.words for code, reason in BATCH_REASONS.items()}


@dataclass(frozen=True)
class Inputs:
    """What :func:`list_inputs` found: the input files, and the files in the folders named
    that were skipped by name (not ``*.heron``, ``*.json`` or ``*.age``; hidden files,
    SQLite's files beside a workbook and earlier datasets are not counted)."""

    files: list[Path]
    skipped: list[Path] = field(default_factory=list)


def find_inputs(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Every input file named by ``paths`` (files, or folders searched for workbooks,
    exports and bundles), each once, in a fixed order. A path that does not exist stops the
    batch."""
    return list_inputs(paths).files


def list_inputs(paths: Iterable[str | os.PathLike[str]]) -> Inputs:
    """:func:`find_inputs`, with the files of the folders that were skipped by name."""
    paths = list(paths)
    found: dict[Path, None] = {}
    skipped: dict[Path, None] = {}
    for given in paths:
        path = Path(given)
        if path.is_dir():
            for candidate in sorted(path.rglob("*")):
                relative = candidate.relative_to(path).parts
                if any(part.startswith(".") for part in relative):
                    continue
                if not candidate.is_file() or _in_a_dataset(candidate):
                    continue
                if candidate.suffix.lower() in SUFFIXES:
                    found.setdefault(candidate.resolve(), None)
                elif not _beside_a_workbook(candidate):
                    skipped.setdefault(candidate.resolve(), None)
        elif path.exists():
            found.setdefault(path.resolve(), None)
        else:
            raise NoInputsError(f"{path}: no such file or folder")
    if not found:
        names = ", ".join(str(p) for p in paths) or "(none given)"
        other = f" ({len(skipped):,} other files skipped by name)" if skipped else ""
        raise NoInputsError(
            f"no workbooks (*.heron), exports (*.json) or bundles (*.age) found in {names}{other}"
        )
    return Inputs(sorted(found), sorted(p for p in skipped if p not in found))


def _beside_a_workbook(path: Path) -> bool:
    """Whether ``path`` is SQLite's own file beside an input (``-wal``, ``-shm``, ``-journal``)."""
    for companion in _COMPANIONS:
        if path.name.endswith(companion):
            main = path.with_name(path.name[: -len(companion)])
            return main.suffix.lower() in SUFFIXES
    return False


def _in_a_dataset(path: Path) -> bool:
    """Whether ``path`` is part of a research dataset (its codebook, manifest, tables)."""
    folder = path.parent
    return (folder / "manifest.json").is_file() and (folder / "datapackage.json").is_file()


def content_digest(path: Path) -> str:
    """SHA-256 of the file and of its ``-wal`` file if it has one with content."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        hashlib.file_digest(fh, lambda: digest)  # type: ignore[arg-type]
    wal = wal_file(path)
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


def sniff(path: Path) -> Format:
    """Whether the file is a workbook (SQLite), an export (JSON) or a bundle (age), from
    its first bytes."""
    with path.open("rb") as fh:
        head = fh.read(64)
    if head.startswith(_SQLITE_MAGIC):
        return "workbook"
    if head.startswith(AGE_MAGIC):
        return "bundle"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return "export"
    raise NotAWorkbookError(f"{path} is not a heron-research workbook or export", path)


#: What a batch reads an input through: the workbook itself, an export's rows, a bundle.
Source = Workbook | RowsReader | BundleReader


@contextmanager
def open_source(
    path: Path,
    fmt: Format,
    as_of: datetime,
    identities: StudyIdentities | None = None,
) -> Iterator[Source]:
    """The input, read-only, with a clock that reads ``as_of``: a workbook opened
    read-only, an export's rows validated as an import would (no file is written), or a
    research bundle decrypted with ``identities`` and checked."""

    def clock() -> datetime:
        return as_of

    if fmt == "workbook":
        with _private_copy_ifwal_file(path) as readable:
            immutable = readable == path
            with Workbook.open(readable, readonly=True, clock=clock, immutable=immutable) as wb:
                if not immutable:
                    wb.path = path  # errors and details name the input, not the copy
                yield wb
        return
    if fmt == "bundle":
        from heron_research.research.bundles import read_bundle

        yield read_bundle(path, identities or StudyIdentities(), clock=clock)
        return
    from heron_research.workbook.portable import read_export

    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ExportFormatError(f"{path} is not UTF-8 text") from None
    yield RowsReader(read_export(text, source=str(path)), clock=clock)


@contextmanager
def _private_copy_ifwal_file(path: Path) -> Iterator[Path]:
    """``path`` itself, read immutable (nothing is created beside it), or, when its ``-wal``
    file holds committed entries that an immutable open would not see, a copy of the file
    and its ``-wal`` in a private temporary folder (removed afterwards)."""
    wal = wal_file(path)
    try:
        has_wal = wal.stat().st_size > 0
    except FileNotFoundError:
        has_wal = False
    if not has_wal:
        yield path
        return
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory(prefix="heron-batch-") as folder:  # 0700
        copy = Path(folder) / "input.heron"
        shutil.copyfile(path, copy)
        shutil.copyfile(wal, wal_file(copy))
        yield copy


def stored_rows(
    wb: Source,
    kinds: Iterable[str],
    audience: Audience | str,
    *,
    consent: ConsentState | None = None,
    include_deleted: bool = False,
) -> list[StoredRow]:
    """The current version of every record of ``kinds`` that ``audience`` may see under
    ``consent`` (default: the consent in force at the source's clock), by kind and then in
    the store's order: :meth:`Workbook.raw_rows`, so
    :func:`heron_research.visibility.visible_levels` stays the one rule of who sees what.
    The client's own view (``Audience.CLIENT``) is for the consent gate and the scrubber,
    which need the consent ledger and the people register.

    Records are not validated again on the way out (re-validation is most of the cost of
    reading a workbook, which sets how fast a batch runs); extraction falls back to
    :meth:`StoredRow.validated` if stored JSON does not have the expected shape. A locked
    or damaged file raises the store's errors.
    """
    return wb.raw_rows(kinds, audience, consent=consent, include_deleted=include_deleted)


def consent_decision(wb: Source) -> GateDecision:
    """The consent gate for an open input: on a workbook's (or an export's) whole ledger at
    its clock's now, on a bundle's consent in force when it was made."""
    if isinstance(wb, BundleReader):
        return wb.gate()
    ledger = [s.record for s in wb.records(CONSENT)]
    return consent_gate(ledger, wb.now())  # type: ignore[arg-type]


def classify_error(exc: BaseException) -> str:
    """The ERROR_REASONS code for an exception raised while reading an input."""
    return batch_reason(exc)
