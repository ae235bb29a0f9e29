"""Research: many consented workbooks (or research bundles) into one anonymised dataset, on Dask.

The flow, one module per step::

    inputs (sources) -> consent gate (gate) -> extraction (task, tables)
        -> anonymiser steps (anonymise) -> partition files -> Parquet + codebook + manifest
           (dataset)                         [all driven on Dask by batch]

Typical use::

    from heron_research.research import load_study_key, run_batch

    report = run_batch(["workbooks/"], "dataset", key=load_study_key("study.key"))
    episodes = open_dataset("dataset").table("episodes")   # checked against the manifest

Importing this package does not import pandas, pyarrow or Dask, nor any of its modules:
each name is imported on first use.
"""

import typing as _typing

from heron_research import _lazy_names

if _typing.TYPE_CHECKING:
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

#: where each public name lives: imported on first use, so that a worker process, which
#: imports only the task (:mod:`heron_research.research.task`), pays for no more
_HOME = {
    "BatchProgress": "heron_research.research.batch",
    "BatchReport": "heron_research.research.batch",
    "Problem": "heron_research.research.batch",
    "run_batch": "heron_research.research.batch",
    "StudyIdentities": "heron_research.research.bundles",
    "load_identities": "heron_research.research.bundles",
    "Dataset": "heron_research.research.dataset",
    "open_dataset": "heron_research.research.dataset",
    "DatasetExistsError": "heron_research.research.errors",
    "NoInputsError": "heron_research.research.errors",
    "ResearchError": "heron_research.research.errors",
    "StudyKeyError": "heron_research.research.errors",
    "StudyKeyExposedError": "heron_research.research.errors",
    "StudyKey": "heron_research.research.keys",
    "load_study_key": "heron_research.research.keys",
}

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


__getattr__, __dir__ = _lazy_names(__name__, _HOME)
