"""Research: many consented workbooks (or research bundles) into one anonymised dataset, on Dask.

The flow, one module per step::

    inputs (sources) -> consent gate (gate) -> extraction (task, tables)
        -> anonymiser steps (anonymise) -> partition files -> Parquet + codebook + manifest
           (dataset)                         [all driven on Dask by batch]

Typical use::

    from heron_research.research import load_study_key, run_batch

    report = run_batch(["workbooks/"], "dataset", key=load_study_key("study.key"))
    episodes = open_dataset("dataset").table("episodes")   # checked against the manifest

Importing this package does not import pandas, pyarrow or Dask.
"""

from heron_research.research.batch import BatchProgress, BatchReport, Problem, run_batch
from heron_research.research.bundles import StudyIdentities, load_identities
from heron_research.research.dataset import Dataset, open_dataset
from heron_research.research.errors import (
    DatasetExistsError,
    NoInputsError,
    ResearchError,
    StudyKeyError,
    StudyKeyExposedError,
)
from heron_research.research.keys import StudyKey, load_study_key

__all__ = [
    "BatchProgress",
    "BatchReport",
    "Dataset",
    "DatasetExistsError",
    "NoInputsError",
    "Problem",
    "ResearchError",
    "StudyIdentities",
    "StudyKey",
    "StudyKeyError",
    "StudyKeyExposedError",
    "load_identities",
    "load_study_key",
    "open_dataset",
    "run_batch",
]
