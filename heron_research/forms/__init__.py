"""Forms (ipywidgets) for the client's workbook and the practitioner's notes.

One implementation of form behaviour (:mod:`heron_research.forms.core`), the fields it
is made of (:mod:`~heron_research.forms.fields`, drawn from the record models, and
:mod:`~heron_research.forms.record_fields` for the few a kind needs of its own), the forms
(:mod:`~heron_research.forms.kinds`), each registered for its record kind and side
(:mod:`~heron_research.forms.registry`), and the two apps a notebook shows, built from
those registrations (:mod:`~heron_research.forms.app`)::

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
