"""The workbook store: one SQLite file per client."""

from heron_research.workbook.frames import table_names
from heron_research.workbook.schema import SCHEMA_VERSION
from heron_research.workbook.store import Health, Revision, StoredRecord, Workbook

__all__ = ["SCHEMA_VERSION", "Health", "Revision", "StoredRecord", "Workbook", "table_names"]
