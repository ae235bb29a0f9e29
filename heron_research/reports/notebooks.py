"""The report notebooks, built from the registry: a parameters cell and calls into the package.

:func:`build_notebook` makes a kind's notebook from its entry in
:data:`~heron_research.reports.registry.REPORT_KINDS` and the sections its module declares:
the opening text (left out of the report), the parameters cell, one cell that reads the
source and one cell per section, in report order, each named in ``metadata.heron.section``
(a failing cell's name in errors). The shipped files
under ``notebooks/`` are these, written by::

    python -m heron_research.reports.notebooks --write

and ``--check`` (what the tests do) says whether the shipped files are up to date.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from heron_research.reports.registry import REPORT_KINDS, ReportKind, sections

__all__ = ["build_notebook", "notebook_text", "stale_notebooks"]

_KERNEL = {
    "kernelspec": {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": "python3",
    },
    "language_info": {"name": "python"},
}


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _code(cell_id: str, source: str, metadata: dict[str, Any]) -> dict[str, Any]:
    return {
        "cell_type": "code",
        "execution_count": None,
        "id": cell_id,
        "metadata": metadata,
        "outputs": [],
        "source": _lines(source),
    }


def _parameters(kind: ReportKind) -> str:
    head = [
        f"# Parameters: `heron-research {kind.command}` (papermill) puts its values in a cell "
        "after this one."
    ]
    comments = [f"# {p.comment}" for p in kind.parameters if p.comment is not None]
    values = [f"{p.name} = {p.default}" for p in kind.parameters]
    return "\n".join(head + comments + values)


def build_notebook(kind: ReportKind) -> dict[str, Any]:
    """The report notebook for ``kind`` (an nbformat 4.5 document as plain data)."""
    package, alias = kind.module.rsplit(".", 1)
    first, *rest = kind.parameter_names
    arguments = ", ".join([first, *(f"{name}={name}" for name in rest)])
    cells = [
        {
            "cell_type": "markdown",
            "id": "about",
            "metadata": {"tags": ["remove-cell"]},
            "source": _lines(kind.about),
        },
        _code("parameters", _parameters(kind), {"tags": ["parameters"]}),
        _code(
            "setup",
            f"from {package} import {alias}\n\nreport = {alias}.load({arguments})",
            {"heron": {"section": f"Reading the {kind.source}"}},
        ),
    ]
    for spec in sections(kind.name):
        cells.append(
            _code(spec.cell_id, f"{alias}.{spec.name}(report)", {"heron": {"section": spec.title}})
        )
    return {"cells": cells, "metadata": _KERNEL, "nbformat": 4, "nbformat_minor": 5}


def notebook_text(kind: ReportKind) -> str:
    """:func:`build_notebook` as written to disk (nbformat's own layout)."""
    return json.dumps(build_notebook(kind), indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def _shipped(folder: Path, kind: ReportKind) -> Path:
    return folder / kind.notebook


def stale_notebooks(folder: Path) -> list[Path]:
    """The report notebooks in ``folder`` that differ from what the registry builds."""
    return [
        _shipped(folder, kind)
        for kind in REPORT_KINDS.values()
        if not _shipped(folder, kind).is_file()
        or _shipped(folder, kind).read_text(encoding="utf-8") != notebook_text(kind)
    ]


def main(argv: list[str] | None = None) -> int:
    """``--write`` the report notebooks into the checkout's ``notebooks/``, or ``--check``."""
    parser = argparse.ArgumentParser(prog="python -m heron_research.reports.notebooks")
    parser.add_argument("--folder", type=Path, default=Path(__file__).parents[2] / "notebooks")
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help="write the notebooks")
    action.add_argument("--check", action="store_true", help="exit 1 if any is out of date")
    args = parser.parse_args(argv)
    stale = stale_notebooks(args.folder)
    if args.check:
        for path in stale:
            print(f"{path} is out of date: run python -m heron_research.reports.notebooks --write")
        return 1 if stale else 0
    for kind in REPORT_KINDS.values():
        _shipped(args.folder, kind).write_text(notebook_text(kind), encoding="utf-8")
    for path in stale:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
