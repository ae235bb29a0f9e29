"""Errors of the research batch, under :class:`heron_research.errors.ResearchError`.

They are defined, with the whole tree, in :mod:`heron_research.errors`, and re-exported
here where the research code has always imported them from.

A single workbook that cannot be read never raises: the batch records it as erred, with
the reason (:data:`heron_research.errors.BATCH_REASONS`), and goes on. These errors stop a
batch before it starts, or (:class:`ClusterLostError`) when its cluster is lost.
"""

from __future__ import annotations

from heron_research.errors import (
    ClusterLostError,
    DatasetExistsError,
    NoInputsError,
    ResearchError,
    StudyKeyError,
    StudyKeyExposedError,
)

__all__ = [
    "ClusterLostError",
    "DatasetExistsError",
    "NoInputsError",
    "ResearchError",
    "StudyKeyError",
    "StudyKeyExposedError",
]
