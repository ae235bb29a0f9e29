"""What the forms say to assistive technology that ipywidgets cannot say by itself.

Most of it is ipywidgets' own: a field's label is its input's ``description``, a real
``<label for=...>`` (:func:`~heron_research.forms.fields.label_widget`). What follows has no
trait in ipywidgets 8, so the forms mark them with a CSS class (the one per-widget hook
ipywidgets offers, ``add_class``) and :data:`SCRIPT`, shown once with each app, turns each
class into its ARIA attributes whenever the page changes:

* a slider marked ``heron-labelled``: its handle is named by the slider's own label
  (``aria-labelledby``), so "Intensity (0-10), slider, 5";
* ``heron-form``: a form landmark named by its heading, so "Emotion episode, form" (and a
  test or a screen reader's landmark list finds each form by its name);
* ``heron-status`` and ``heron-recent-message``: a polite live region (``role=status``), so
  "Saved ...", "Not saved yet ..." and Recent's "Deleted ..." are announced;
* ``heron-fold-button``: ``aria-expanded``, and every other toggle button ``aria-pressed``,
  following the toggle's state (its ``mod-active`` class);
* ``heron-app`` (the tabs): ``data-lm-suppress-shortcuts``, and key presses go no further up
  than the app, so inside the forms the keys are the forms' (an arrow on a list picks the
  next choice instead of moving JupyterLab's cell selection; Enter does not edit a cell).

The script is static text (no user data goes into it); it only sets attributes and ids and
stops key presses at the app. The browser tests (``tests/browser/test_accessibility.py``)
check the result with axe-core and a keyboard-only episode.
"""

from __future__ import annotations

import ipywidgets as W

__all__ = ["SCRIPT", "aria_script"]

SCRIPT = r"""
(() => {
  if (window.heronAria) { window.heronAria(); return; }
  let next = 0, queued = false;
  const idOf = (el) => el.id || (el.id = `heron-aria-${++next}`);
  const put = (el, name, value) => {
    if (el.getAttribute(name) !== value) el.setAttribute(name, value);
  };
  const apply = () => {
    queued = false;
    for (const el of document.querySelectorAll('.heron-app')) {
      put(el, 'data-lm-suppress-shortcuts', 'true');
      if (!el.heronKeys) {  // nor do the notebook's own key handlers see them
        el.heronKeys = true;
        el.addEventListener('keydown', (event) => event.stopPropagation());
      }
    }
    for (const el of document.querySelectorAll('.heron-labelled.widget-slider')) {
      const label = el.querySelector(':scope > label.widget-label');
      if (!label) continue;
      for (const handle of el.querySelectorAll('.noUi-handle')) {
        put(handle, 'aria-labelledby', idOf(label));
      }
    }
    for (const el of document.querySelectorAll('.heron-form')) {
      const title = el.querySelector('h3');
      if (!title) continue;
      put(el, 'role', 'form');
      put(el, 'aria-labelledby', idOf(title));
    }
    for (const el of document.querySelectorAll('.heron-status, .heron-recent-message')) {
      put(el, 'role', 'status');
      put(el, 'aria-live', 'polite');
    }
    for (const el of document.querySelectorAll('.heron-app .widget-toggle-button')) {
      const on = el.classList.contains('mod-active') ? 'true' : 'false';
      put(el, el.classList.contains('heron-fold-button') ? 'aria-expanded' : 'aria-pressed', on);
    }
  };
  const later = () => { if (!queued) { queued = true; requestAnimationFrame(apply); } };
  new MutationObserver(later).observe(document.body, {
    subtree: true, childList: true, attributes: true, attributeFilter: ['class'],
  });
  window.heronAria = apply;
  apply();
})();
"""


def aria_script() -> W.Output:
    """An output that runs :data:`SCRIPT` where the app is shown (a widget's output is
    trusted, so JupyterLab runs it; elsewhere it is inert)."""
    out = W.Output(layout=W.Layout(display="none"))
    out.outputs = (
        {
            "output_type": "display_data",
            "data": {"application/javascript": SCRIPT, "text/plain": ""},
            "metadata": {},
        },
    )
    out.add_class("heron-aria")
    return out
