"""heron-research: an action-research workbook for peer-style psychotherapy.

The names users import live here. Importing the package is light: it does not import
pandas, altair, papermill or ipywidgets (those load where they are used).
"""

from heron_research._version import __version__
from heron_research.errors import (
    HeronError,
    NewerWorkbookError,
    NotAWorkbookError,
    RecordValidationError,
    WorkbookError,
)
from heron_research.principles import current_principles
from heron_research.records import (
    RECORD_TYPES,
    AgendaItem,
    CheckIn,
    CoCounsellingSession,
    ConsentEntry,
    EmotionEpisode,
    FocusDecision,
    InquiryCycle,
    Intervention,
    PeerReview,
    Person,
    PractitionerReaction,
    ProjectionHypothesis,
    Sharing,
)
from heron_research.visibility import Audience
from heron_research.workbook import Workbook

__all__ = [
    "RECORD_TYPES",
    "AgendaItem",
    "Audience",
    "CheckIn",
    "CoCounsellingSession",
    "ConsentEntry",
    "EmotionEpisode",
    "FocusDecision",
    "HeronError",
    "InquiryCycle",
    "Intervention",
    "NewerWorkbookError",
    "NotAWorkbookError",
    "PeerReview",
    "Person",
    "PractitionerReaction",
    "ProjectionHypothesis",
    "RecordValidationError",
    "Sharing",
    "Workbook",
    "WorkbookError",
    "__version__",
    "current_principles",
]
