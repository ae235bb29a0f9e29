"""The exceptions heron-research raises, and what the research batch calls each.

Every error the package raises on purpose derives from :class:`HeronError`, so a caller
(the CLI, a form, a notebook) can catch one thing. Each subclass is also the builtin a
caller would expect, so ``except ValueError`` keeps working. Every class lives in this
module (the modules that raise them re-export them); ``tests/test_errors.py`` checks
that this tree is the classes' real tree, names, parents and builtins, both ways::

    HeronError (Exception)
    ├── RecordValidationError (ValueError)  a record failed validation; .problems lists each field
    ├── WorkbookError                       anything about a workbook file; .path names it
    │   ├── WorkbookNotFoundError (FileNotFoundError)
    │   ├── WorkbookExistsError (FileExistsError)
    │   ├── NotAWorkbookError (ValueError)  not SQLite, or someone else's SQLite file
    │   ├── NewerWorkbookError (ValueError)  made by a newer heron-research; .found, .supported
    │   ├── WorkbookCorruptError (ValueError)  fails SQLite's integrity check
    │   ├── WorkbookBusyError (TimeoutError)  another program held the lock too long
    │   ├── WorkbookReadOnlyError (PermissionError)  opened read-only, or the file or disk refuses
    │   │   └── OlderWorkbookError           an older format, to upgrade, but opened read-only
    │   ├── OtherSideError (PermissionError)  a record the other side writes: only they change it
    │   └── RecordNotFoundError (KeyError)
    ├── ExportFormatError (ValueError)      a portable JSON export that does not match its schema
    ├── ReportError                         a report could not be made
    │   ├── SectionFailedError              one section failed (or the kernel died in it); names it
    │   └── ChartError (ValueError)         a chart could not be drawn; its section says so instead
    ├── ResearchError                       the research batch refused its inputs
    │   ├── StudyKeyError (ValueError)      a missing or weak study key
    │   │   └── StudyKeyExposedError (PermissionError)  the key file is readable by others
    │   ├── NoInputsError (FileNotFoundError)  nothing to read where the inputs were named
    │   ├── DatasetExistsError (FileExistsError)  the output folder is not empty
    │   └── ClusterLostError (ConnectionError)  the Dask scheduler, or every worker, was lost
    ├── DemoStoryError (ValueError)         a mistake in the demo story files; names file and entry
    ├── LabError                            JupyterLab could not be started (safely)
    └── ExchangeError                          keys and share bundles between people
        ├── KeyFileError (ValueError)          an identity file missing, unreadable or malformed
        │   ├── KeyFileExistsError (FileExistsError)  never overwrites a key file
        │   └── KeyFileExposedError (PermissionError)  readable by others; says the chmod
        ├── RecipientError (ValueError)        not a valid age recipient (age1...)
        ├── ShareError                         a bundle could not be made (no recipient or key)
        ├── BackupPassphraseError (ValueError)  too short, or it does not open the backup
        └── BundleError (ValueError)           a bundle that cannot be opened or used
            ├── NotABundleError                not an age file, or an age file but no bundle
            ├── BundleKeyError (PermissionError)  none of the keys given opens it
            ├── BundleDamagedError             cut short or changed after it was written
            ├── NewerBundleError               made by a newer heron-research
            └── BundleWorkbookError            meant for another workbook or audience

Two more are signals inside the package, each caught before it reaches a caller (so they
are not HeronErrors)::

    FieldError (ValueError)                 a model validator blames one field (a FieldProblem)
    ChangedWhileReading (Exception)         a batch input changed while it was being read

Errors carry the data a caller needs (the path, the field, the versions) and a message
that says what to do, written for the person who will read it.

A workbook the research batch cannot read does not stop the batch: it is listed with a
reason code, and :data:`BATCH_REASONS` (at the end of this module) is the one table from
the errors above to those codes and the words the manifest uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "BATCH_REASONS",
    "BackupPassphraseError",
    "BatchReason",
    "BundleDamagedError",
    "BundleError",
    "BundleKeyError",
    "BundleWorkbookError",
    "ChangedWhileReading",
    "ChartError",
    "ClusterLostError",
    "DatasetExistsError",
    "DemoStoryError",
    "ExchangeError",
    "ExportFormatError",
    "FieldError",
    "FieldProblem",
    "HeronError",
    "KeyFileError",
    "KeyFileExistsError",
    "KeyFileExposedError",
    "LabError",
    "NewerBundleError",
    "NewerWorkbookError",
    "NoInputsError",
    "NotABundleError",
    "NotAWorkbookError",
    "OlderWorkbookError",
    "OtherSideError",
    "RecipientError",
    "RecordNotFoundError",
    "RecordValidationError",
    "ReportError",
    "ResearchError",
    "SectionFailedError",
    "ShareError",
    "StudyKeyError",
    "StudyKeyExposedError",
    "WorkbookBusyError",
    "WorkbookCorruptError",
    "WorkbookError",
    "WorkbookExistsError",
    "WorkbookNotFoundError",
    "WorkbookReadOnlyError",
    "batch_reason",
]


class HeronError(Exception):
    """Base class of every error heron-research raises on purpose."""


# --- records --------------------------------------------------------------------------------


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


class FieldError(ValueError):
    """Raised by a model validator to blame one field (``field`` is relative to the model).

    A signal, not a :class:`HeronError`: pydantic wraps it, and ``validate_record`` turns it
    into a :class:`FieldProblem` of a :class:`RecordValidationError`.
    """

    def __init__(self, field: str | tuple[str | int, ...], message: str) -> None:
        self.field = (field,) if isinstance(field, str) else tuple(field)
        self.message = message
        super().__init__(message)


# --- workbooks ------------------------------------------------------------------------------


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


class OlderWorkbookError(WorkbookReadOnlyError):
    """The workbook is in an older format, and opening it would upgrade it (a write), but it
    was opened read-only. Opening it once without read-only upgrades it.

    A :class:`WorkbookReadOnlyError` (it is one: the upgrade is the write refused), so every
    ``except WorkbookReadOnlyError`` or ``except PermissionError`` still catches it; a caller
    that must tell the two apart (the research batch) checks this class first.
    """

    def __init__(self, path: Path | str, found: int, supported: int) -> None:
        self.found = found
        self.supported = supported
        super().__init__(
            f"{path} uses an older workbook format ({found}); open it once "
            "without read-only to upgrade it",
            path,
        )


class OtherSideError(WorkbookError, PermissionError):
    """A write a side may not make: a record the other side wrote (only its writer edits or
    deletes it; their next bundle brings their changes), a kind that side does not write,
    or a client entry written into a practice workbook."""


class RecordNotFoundError(WorkbookError, KeyError):
    """No record with that id (of that kind) is in the workbook."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ExportFormatError(HeronError, ValueError):
    """A portable JSON export does not match the documented format."""


# --- reports --------------------------------------------------------------------------------


class ReportError(HeronError):
    """A report could not be produced."""


class SectionFailedError(ReportError):
    """A cell of the report notebook failed: ``section`` names it, ``error`` is the
    exception's one line, ``partial`` the executed notebook kept for diagnosis (or None)."""

    def __init__(self, section: str, error: str, partial: Path | None) -> None:
        self.section = section
        self.error = error
        self.partial = partial
        where = f"; the partial notebook is kept at {partial}" if partial else ""
        super().__init__(f"the {section!r} section failed: {error}{where}")


class ChartError(ReportError, ValueError):
    """A chart could not be rendered (the renderer refused its spec, or its SVG held markup
    that could run); the report shows a one-line notice in its place."""


# --- research -------------------------------------------------------------------------------


class ResearchError(HeronError):
    """A research batch could not be produced."""


class StudyKeyError(ResearchError, ValueError):
    """The study key file cannot be used (missing, unreadable, empty or too short)."""


class StudyKeyExposedError(StudyKeyError, PermissionError):
    """The study key file can be read (or written) by users other than its owner."""


class NoInputsError(ResearchError, FileNotFoundError):
    """An INPUT path does not exist, or the inputs hold no workbook or export."""


class DatasetExistsError(ResearchError, FileExistsError):
    """The output folder already exists and is not empty."""


class ClusterLostError(ResearchError, ConnectionError):
    """The batch lost its Dask cluster: the scheduler, or every worker for longer than the
    batch's timeout. Nothing was written at the output folder; run the batch again."""


class ChangedWhileReading(Exception):
    """A batch input's signature after reading differs from the one before.

    A signal, not a :class:`HeronError`: the batch's task catches it and lists the input
    with the reason ``changed``.
    """


# --- the demo ---------------------------------------------------------------------------------


class DemoStoryError(HeronError, ValueError):
    """A mistake in the demo's story files (``data/demo/``), naming the file and the entry."""


# --- the lab --------------------------------------------------------------------------------


class LabError(HeronError):
    """JupyterLab could not be started (or was not as safe as it must be) for a workbook."""


# --- exchange between people (issue 12): keys and share bundles -----------------------------


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


class BackupPassphraseError(ExchangeError, ValueError):
    """A backup's passphrase is too short, or does not open the backup."""


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


# --- why the research batch could not read an input -----------------------------------------


@dataclass(frozen=True)
class BatchReason:
    """Why the batch could not read one input: the words shown on the terminal and written
    in the manifest (no paths, no content), and the errors that mean it."""

    words: str
    errors: tuple[type[BaseException], ...] = ()


#: The one table from errors to the batch's reason codes (the manifest's ``reason``). An
#: error takes the code of the first of its classes, in method resolution order (itself,
#: then its bases), that is listed here; an error none of whose classes is listed is
#: ``failed``. So a subclass listed here wins over its base: an older workbook opened
#: read-only is ``older_format``, a current one on a read-only disk ``read_only``.
BATCH_REASONS: dict[str, BatchReason] = {
    "missing": BatchReason(
        "the file was not there when the batch came to read it",
        (WorkbookNotFoundError, FileNotFoundError),
    ),
    "unreadable": BatchReason(
        "the file could not be read (permissions or a disk error)", (WorkbookError, OSError)
    ),
    "read_only": BatchReason(
        "the workbook cannot be opened where it is: its disk or folder is read-only, and "
        "reading a workbook writes a file beside it; copy it somewhere you can write and run "
        "the batch again",
        (WorkbookReadOnlyError,),
    ),
    "not_a_workbook": BatchReason("not a heron-research workbook or export", (NotAWorkbookError,)),
    "corrupt": BatchReason(
        "the workbook file is damaged and cannot be read", (WorkbookCorruptError,)
    ),
    "newer_format": BatchReason(
        "made by a newer heron-research; upgrade heron-research to read it",
        (NewerWorkbookError, NewerBundleError),
    ),
    "older_format": BatchReason(
        "made by an older heron-research; open it once with heron-research (for example "
        "heron-research check) to upgrade it, then run the batch again",
        (OlderWorkbookError,),
    ),
    "busy": BatchReason(
        "another program kept the workbook locked; try again later", (WorkbookBusyError,)
    ),
    "invalid_export": BatchReason(
        "the JSON file is not a valid heron-research workbook export", (ExportFormatError,)
    ),
    "bundle_key": BatchReason(
        "a bundle that none of the study's keys (--identity-file) opens: it was shared to "
        "another recipient, or its header was damaged",
        (BundleKeyError,),
    ),
    "damaged_bundle": BatchReason(
        "the bundle is damaged: cut short or changed after it was written", (BundleDamagedError,)
    ),
    "not_a_bundle": BatchReason(
        "an age-encrypted file that holds no heron-research bundle", (NotABundleError,)
    ),
    "invalid_bundle": BatchReason(
        "the bundle's document does not match the bundle format", (BundleError,)
    ),
    "not_research_bundle": BatchReason(
        "a bundle for a practitioner, not for research: only bundles shared with the study "
        "(share --to research) enter a dataset",
        (BundleWorkbookError,),
    ),
    "changed": BatchReason(
        "the file changed while it was being read (is someone using it?); try again",
        (ChangedWhileReading,),
    ),
    "failed": BatchReason("the file could not be processed"),
}

_REASON_OF: dict[type[BaseException], str] = {
    error: code for code, reason in BATCH_REASONS.items() for error in reason.errors
}


def batch_reason(exc: BaseException) -> str:
    """The :data:`BATCH_REASONS` code for an error raised while the batch read an input."""
    return next((_REASON_OF[c] for c in type(exc).__mro__ if c in _REASON_OF), "failed")
