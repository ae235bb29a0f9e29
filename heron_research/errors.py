"""The exceptions heron-research raises.

Every error the package raises on purpose derives from :class:`HeronError`, so a caller
(the CLI, a form, a notebook) can catch one thing. Each subclass is also the builtin a
caller would expect, so ``except ValueError`` keeps working::

    HeronError
    ├── RecordValidationError (ValueError)    a record failed validation; .problems lists each field
    ├── WorkbookError                          anything about a workbook file
    │   ├── WorkbookNotFoundError (FileNotFoundError)
    │   ├── WorkbookExistsError (FileExistsError)
    │   ├── NotAWorkbookError (ValueError)     not SQLite, or someone else's SQLite file
    │   ├── NewerWorkbookError (ValueError)    made by a newer heron-research
    │   ├── WorkbookCorruptError (ValueError)  fails SQLite's integrity check
    │   ├── WorkbookBusyError (TimeoutError)   another program held the lock too long
    │   ├── WorkbookReadOnlyError (PermissionError)
    │   └── RecordNotFoundError (KeyError)
    ├── ExportFormatError (ValueError)         a portable JSON export that does not match its schema
    ├── ReportError                            a report could not be made
    │   └── SectionFailedError                 (reports.runner) one section failed; names it
    └── ResearchError                          the research batch refused its inputs
        ├── StudyKeyError (ValueError)         (research.errors) a missing or weak study key
        │   └── StudyKeyExposedError (PermissionError)  the key file is readable by others
        ├── NoInputsError (FileNotFoundError)  nothing to read where the inputs were named
        └── DatasetExistsError (FileExistsError)  the output folder is not empty

The exchange between people (:mod:`heron_research.exchange`) has its own branch::

    HeronError
    └── ExchangeError                          keys and share bundles between people
        ├── KeyFileError (ValueError)          an identity file missing, unreadable or malformed
        │   ├── KeyFileExistsError (FileExistsError)  never overwrites a key file
        │   └── KeyFileExposedError (PermissionError)  readable by others; says the chmod
        ├── RecipientError (ValueError)        not a valid age recipient (age1...)
        ├── ShareError                         a bundle could not be made (no recipient or key)
        └── BundleError (ValueError)           a bundle that cannot be opened or used
            ├── NotABundleError                not an age file, or an age file but no bundle
            ├── BundleKeyError (PermissionError)  none of the keys given opens it
            ├── BundleDamagedError             cut short or changed after it was written
            ├── NewerBundleError               made by a newer heron-research
            └── BundleWorkbookError            meant for another workbook or audience

Errors carry the data a caller needs (the path, the field, the versions) and a message
that says what to do, written for the person who will read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ExportFormatError",
    "FieldProblem",
    "HeronError",
    "NewerWorkbookError",
    "NotAWorkbookError",
    "RecordNotFoundError",
    "RecordValidationError",
    "ReportError",
    "ResearchError",
    "WorkbookBusyError",
    "WorkbookCorruptError",
    "WorkbookError",
    "WorkbookExistsError",
    "WorkbookNotFoundError",
    "WorkbookReadOnlyError",
]


class HeronError(Exception):
    """Base class of every error heron-research raises on purpose."""


@dataclass(frozen=True)
class FieldProblem:
    """One thing wrong with one field of a record.

    ``field`` is the path to the field (``("emotions", 0, "intensity")``), ``label`` the
    words a person would use for it, and ``message`` what is allowed.
    """

    field: tuple[str | int, ...]
    label: str
    message: str

    @property
    def name(self) -> str:
        """The dotted field path, e.g. ``emotions.0.intensity``."""
        return ".".join(str(part) for part in self.field) or "(record)"

    def __str__(self) -> str:
        return f"{self.label}: {self.message}"


class RecordValidationError(HeronError, ValueError):
    """A record could not be saved because some fields are not allowed.

    ``problems`` lists every problem found, not just the first.
    """

    def __init__(self, kind: str, problems: list[FieldProblem], *, label: str = "") -> None:
        self.kind = kind
        self.problems = list(problems)
        lines = "; ".join(str(p) for p in self.problems)
        super().__init__(f"This {label or kind.replace('_', ' ')} was not saved. {lines}")

    def for_field(self, *path: str | int) -> list[FieldProblem]:
        """The problems whose field path starts with ``path``."""
        return [p for p in self.problems if p.field[: len(path)] == path]


class WorkbookError(HeronError):
    """Something is wrong with a workbook file, or with how it was used."""

    def __init__(self, message: str, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else None
        super().__init__(message)


class WorkbookNotFoundError(WorkbookError, FileNotFoundError):
    """There is no workbook at the given path."""


class WorkbookExistsError(WorkbookError, FileExistsError):
    """A new workbook was asked for where a file already exists."""


class NotAWorkbookError(WorkbookError, ValueError):
    """The file is not a heron-research workbook (not SQLite, or a foreign SQLite file)."""


class NewerWorkbookError(WorkbookError, ValueError):
    """The workbook was written by a newer version of heron-research."""

    def __init__(self, path: Path | str, found: int, supported: int) -> None:
        self.found = found
        self.supported = supported
        super().__init__(
            f"{path} uses workbook format {found}, but this heron-research understands "
            f"formats up to {supported}. Upgrade heron-research to open it; the file was "
            "not changed.",
            path,
        )


class WorkbookCorruptError(WorkbookError, ValueError):
    """The workbook file is damaged."""


class WorkbookBusyError(WorkbookError, TimeoutError):
    """Another program kept the workbook locked for longer than the busy timeout."""


class WorkbookReadOnlyError(WorkbookError, PermissionError):
    """The workbook cannot be written (opened read-only, or the file or disk refuses)."""


class RecordNotFoundError(WorkbookError, KeyError):
    """No record with that id (of that kind) is in the workbook."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ExportFormatError(HeronError, ValueError):
    """A portable JSON export does not match the documented format."""


class ReportError(HeronError):
    """A report could not be produced."""


class ResearchError(HeronError):
    """A research batch could not be produced."""


# --- exchange between people (issue 12): keys and share bundles -----------------------------

__all__ += [
    "BundleDamagedError",
    "BundleError",
    "BundleKeyError",
    "BundleWorkbookError",
    "ExchangeError",
    "KeyFileError",
    "KeyFileExistsError",
    "KeyFileExposedError",
    "NewerBundleError",
    "NotABundleError",
    "RecipientError",
    "ShareError",
]


class ExchangeError(HeronError):
    """A key or a share bundle could not be made, read or used."""

    def __init__(self, message: str, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else None
        super().__init__(message)


class KeyFileError(ExchangeError, ValueError):
    """An age identity file is missing, unreadable or not an identity."""


class KeyFileExistsError(KeyFileError, FileExistsError):
    """A new key was asked for where a file already exists (keys are never overwritten)."""


class KeyFileExposedError(KeyFileError, PermissionError):
    """An identity file can be read or changed by users other than its owner."""


class RecipientError(ExchangeError, ValueError):
    """Text that is not a valid age X25519 recipient (``age1...``)."""


class ShareError(ExchangeError):
    """A bundle could not be made (no recipient or key known, the output exists...)."""


class BundleError(ExchangeError, ValueError):
    """A share bundle that cannot be opened or used."""


class NotABundleError(BundleError):
    """Not an age-encrypted file, or one that holds no heron-research bundle."""


class BundleKeyError(BundleError, PermissionError):
    """None of the identities given opens the bundle (it was encrypted to someone else)."""


class BundleDamagedError(BundleError):
    """The bundle was cut short or changed after it was written."""


class NewerBundleError(BundleError):
    """The bundle uses a newer format than this heron-research reads."""

    def __init__(self, path: Path | str | None, found: int, supported: int) -> None:
        self.found = found
        self.supported = supported
        where = f"{path} uses" if path is not None else "this bundle uses"
        super().__init__(
            f"{where} bundle format {found}, but this heron-research reads formats up to "
            f"{supported}. Upgrade heron-research to open it; nothing was changed.",
            path,
        )


class BundleWorkbookError(BundleError):
    """The bundle is meant for another workbook or another audience."""
