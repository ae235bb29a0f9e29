"""Forms (ipywidgets) for the client's workbook and the practitioner's notes.

One implementation of form behaviour (:mod:`heron_research.forms.core`), the fields it
is made of (:mod:`~heron_research.forms.fields`), the forms (:mod:`~heron_research.forms.kinds`)
and the two apps a notebook shows (:mod:`~heron_research.forms.app`)::

    from heron_research.forms import workbook_app
    workbook_app("me.heron")
"""

from heron_research.forms.app import App, practitioner_app, workbook_app
from heron_research.forms.core import FormContext, RecentEntries, RecordForm

__all__ = [
    "App",
    "FormContext",
    "RecentEntries",
    "RecordForm",
    "practitioner_app",
    "workbook_app",
]
