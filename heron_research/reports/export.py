"""The executed report notebook to one self-contained HTML page, with nbconvert in-process.

The page uses the package's own template (``templates/heron_report``): code cells and
prompts hidden, only the HTML the report sections built, inline CSS, no script. nbconvert's
require.js and MathJax URLs are blanked as well, so nothing could point outside even if a
template asked for them. :func:`~heron_research.reports.html.check_offline` then refuses
anything that would reach the network.
"""

from __future__ import annotations

from importlib.resources import as_file, files
from typing import TYPE_CHECKING, Any

from heron_research._version import __version__
from heron_research.errors import ReportError
from heron_research.reports.html import check_offline

if TYPE_CHECKING:
    from nbconvert import HTMLExporter
    from nbformat import NotebookNode

__all__ = ["REMOVE_TAG", "make_exporter", "to_html"]

#: cells with this tag (the notebook's own explanations) are left out of the report
REMOVE_TAG = "remove-cell"
TEMPLATE = "heron_report"


def _templates() -> Any:
    return files("heron_research.reports") / "templates"


def _exporter_class() -> type[HTMLExporter]:
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter

    class ReportHTMLExporter(HTMLExporter):
        """HTMLExporter without its last pass, which re-parses the whole page with
        BeautifulSoup to add alternative text to images and tab stops to code cells. A
        report has neither, and re-parsing its inline SVG charts doubled the export time."""

        def from_notebook_node(  # type: ignore[override]
            self, nb: NotebookNode, resources: dict[str, Any] | None = None, **kw: Any
        ) -> tuple[str, dict[str, Any]]:
            return TemplateExporter.from_notebook_node(self, nb, resources, **kw)

    return ReportHTMLExporter


def make_exporter() -> HTMLExporter:
    """An HTMLExporter set up for reports (importing nbconvert takes a moment: the runner
    makes this in a background thread while the notebook runs)."""
    from traitlets.config import Config

    config = Config()
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_cell_tags = {
        REMOVE_TAG,
        "parameters",
        "injected-parameters",
    }
    with as_file(_templates()) as base:
        exporter = _exporter_class()(
            config=config,
            template_name=TEMPLATE,
            extra_template_basedirs=[str(base)],
            exclude_input=True,
            exclude_input_prompt=True,
            exclude_output_prompt=True,
            mathjax_url="",
            require_js_url="",
            sanitize_html=False,  # the sections escape every piece of client text themselves
            embed_images=False,
        )
        _ = exporter.template  # load and compile the template now, not at export time
    return exporter


def to_html(nb: NotebookNode, *, title: str, exporter: HTMLExporter | None = None) -> str:
    """The report page for an executed notebook; ReportError if it would not be offline."""
    exporter = exporter or make_exporter()
    css = (_templates() / TEMPLATE / "report.css").read_text(encoding="utf-8")
    resources = {"heron": {"title": title, "css": css, "version": __version__}}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    problems = check_offline(body)
    if problems:
        raise ReportError(
            "the report would load something from outside the file, so it was not written: "
            + "; ".join(problems[:3])
        )
    return body
