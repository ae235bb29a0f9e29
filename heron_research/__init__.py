"""heron-research: an action-research workbook for peer-style psychotherapy.

The names users import live here. Importing the package is light: it does not import
pandas, altair, papermill or ipywidgets (those load where they are used), and each name
below is imported on first use, so a process that needs one module of the package (the
lab's kernel launcher, :mod:`heron_research.kernel_app`) pays for nothing else.
"""

import importlib as _importlib
import sys as _sys
import typing as _typing
from collections.abc import Callable as _Callable
from collections.abc import Mapping as _Mapping

if _typing.TYPE_CHECKING:
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

#: where each public name lives (imported on first use)
_HOME = {
    "__version__": "heron_research._version",
    "HeronError": "heron_research.errors",
    "NewerWorkbookError": "heron_research.errors",
    "NotAWorkbookError": "heron_research.errors",
    "RecordValidationError": "heron_research.errors",
    "WorkbookError": "heron_research.errors",
    "current_principles": "heron_research.principles",
    "RECORD_TYPES": "heron_research.records",
    "AgendaItem": "heron_research.records",
    "CheckIn": "heron_research.records",
    "CoCounsellingSession": "heron_research.records",
    "ConsentEntry": "heron_research.records",
    "EmotionEpisode": "heron_research.records",
    "FocusDecision": "heron_research.records",
    "InquiryCycle": "heron_research.records",
    "Intervention": "heron_research.records",
    "PeerReview": "heron_research.records",
    "Person": "heron_research.records",
    "PractitionerReaction": "heron_research.records",
    "ProjectionHypothesis": "heron_research.records",
    "Sharing": "heron_research.records",
    "Audience": "heron_research.visibility",
    "Workbook": "heron_research.workbook",
}


def _lazy_names(
    package: str, home: _Mapping[str, str]
) -> tuple[_Callable[[str], object], _Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``: each name in ``home`` is imported
    from the module ``home[name]`` when first asked for, then kept in the package's
    namespace (the next lookup is a plain one)."""

    def __getattr__(name: str) -> object:
        where = home.get(name)
        if where is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(_importlib.import_module(where), name)
        setattr(_sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        module = _sys.modules[package]
        return sorted({*vars(module), *getattr(module, "__all__", ())})

    return __getattr__, __dir__


__getattr__, __dir__ = _lazy_names(__name__, _HOME)
