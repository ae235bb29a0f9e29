"""Errors of the research batch, under :class:`heron_research.errors.ResearchError`::

    ResearchError
    ├── StudyKeyError (ValueError)              the study key file is missing, empty or too short
    │   └── StudyKeyExposedError (PermissionError)  the key file can be read by other users
    ├── NoInputsError (FileNotFoundError)       an INPUT does not exist, or nothing to read in it
    └── DatasetExistsError (FileExistsError)    --out names a folder that is not empty

A single workbook that cannot be read never raises: the batch records it as erred, with
the reason, and goes on. These errors stop a batch before it starts.
"""

from __future__ import annotations

from heron_research.errors import ResearchError

__all__ = [
    "DatasetExistsError",
    "NoInputsError",
    "ResearchError",
    "StudyKeyError",
    "StudyKeyExposedError",
]


class StudyKeyError(ResearchError, ValueError):
    """The study key file cannot be used (missing, unreadable, empty or too short)."""


class StudyKeyExposedError(StudyKeyError, PermissionError):
    """The study key file can be read (or written) by users other than its owner."""


class NoInputsError(ResearchError, FileNotFoundError):
    """An INPUT path does not exist, or the inputs hold no workbook or export."""


class DatasetExistsError(ResearchError, FileExistsError):
    """The output folder already exists and is not empty."""
