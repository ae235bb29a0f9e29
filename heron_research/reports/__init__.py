"""Reports: papermill-run notebooks exported to self-contained, printable HTML.

* :func:`run_report` (``heron-research report``): run the peer-review or hand-over
  notebook on a workbook and write one offline HTML page; :func:`run_cohort_report`
  (``heron-research cohort-report``) the same for a research dataset; see
  :mod:`heron_research.reports.runner`. :func:`run_reports`: a practitioner's caseload in
  one go, on reused kernels; see :mod:`heron_research.reports.caseload`.
* :mod:`~heron_research.reports.review` and :mod:`~heron_research.reports.handover`: the
  section functions the notebooks call, one per cell.
* :mod:`~heron_research.reports.html`: the one escaping rule, and the offline check.

Importing this package is light; the runner imports papermill and nbconvert when it runs.
"""

from __future__ import annotations

from heron_research.reports.caseload import CaseloadReport, run_reports
from heron_research.reports.runner import (
    ReportResult,
    SectionFailedError,
    run_cohort_report,
    run_report,
)

__all__ = [
    "CaseloadReport",
    "ReportResult",
    "SectionFailedError",
    "run_cohort_report",
    "run_report",
    "run_reports",
]
