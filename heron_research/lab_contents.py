"""What the lab's server writes when a notebook is saved: no outputs in the client's app.

The notebooks ``heron-research lab`` opens are marked ``"heron_research": {"autorun":
true}`` in their metadata; the lab's extension (``labextension/``, built into the package) runs
them when they open. Their outputs are the forms, drawn afresh at every opening, and
the widgets' state holds what the client typed: neither belongs in the ``.ipynb``.
:func:`keep_outputs_out` is the server's ``ContentsManager.pre_save_hook`` (set by
:func:`heron_research.lab.server_command`), so even a save the client asks for
(Ctrl-S) writes a marked notebook without outputs, execution counts or widget state.
Other notebooks are saved as JupyterLab sends them.

Imported by the Jupyter server process: standard library only.
"""

from __future__ import annotations

from typing import Any

__all__ = ["AUTORUN_KEY", "is_autorun", "keep_outputs_out"]

#: The notebook metadata key our extension reads (``{"autorun": true}`` under it).
AUTORUN_KEY = "heron_research"


def is_autorun(notebook: dict[str, Any]) -> bool:
    """Whether a notebook (nbformat JSON) is marked to run when it opens in the lab."""
    meta = notebook.get("metadata")
    marker = meta.get(AUTORUN_KEY) if isinstance(meta, dict) else None
    return isinstance(marker, dict) and marker.get("autorun") is True


def keep_outputs_out(model: dict[str, Any], **_: Any) -> None:
    """A pre-save hook: a marked notebook is saved with no outputs and no widget state.

    Called by jupyter_server as ``hook(model=..., path=..., contents_manager=...)``;
    changes ``model`` in place. Anything that is not a marked notebook is untouched.
    """
    if model.get("type") != "notebook":
        return
    content = model.get("content")
    if not isinstance(content, dict) or not is_autorun(content):
        return
    content["metadata"].pop("widgets", None)
    for cell in content.get("cells") or []:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
