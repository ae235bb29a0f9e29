"""Closing the widgets a form no longer shows.

Every widget is a model in the kernel and in the browser until it is closed; a widget
dropped from the page but left open stays in both (ipywidgets keeps every open widget in
its registry). Forms therefore close what they stop showing: :func:`reachable` finds what
is shown under a widget, :func:`close_dropped` closes what is gone, keeping any layout or
style that a live widget still uses.
"""

from __future__ import annotations

import ipywidgets as W

__all__ = ["close_dropped", "reachable"]


def reachable(root: W.Widget) -> set[W.Widget]:
    """Every widget model shown under ``root``: it, its children, their layouts and styles."""
    seen: set[W.Widget] = set()
    todo = [root]
    while todo:
        widget = todo.pop()
        if widget in seen:
            continue
        seen.add(widget)
        for name in ("layout", "style"):
            part = getattr(widget, name, None)
            if isinstance(part, W.Widget):
                seen.add(part)
        todo.extend(c for c in getattr(widget, "children", ()) if isinstance(c, W.Widget))
    return seen


def close_dropped(dropped: set[W.Widget]) -> None:
    """Close widgets no longer shown, so neither the kernel nor the browser keeps them.

    A layout or style that a live widget outside ``dropped`` still uses (one layout shared
    by many fields, say) stays open.
    """
    parts = {w for w in dropped if _is_part(w)}
    if parts:
        from ipywidgets.widgets.widget import _instances  # Widget.widgets, without its warning

        for other in list(_instances.values()):
            if other not in dropped:
                for name in ("layout", "style"):
                    part = getattr(other, name, None)
                    if isinstance(part, W.Widget):
                        parts.discard(part)
    for widget in dropped:
        if widget in parts or not _is_part(widget):
            widget.close()


def _is_part(widget: W.Widget) -> bool:
    """Whether ``widget`` is a layout or a style (a part of other widgets, maybe shared)."""
    return isinstance(widget, W.Layout) or type(widget).__name__.endswith("Style")
