/**
 * heron-research's JupyterLab extension: the client's app runs when its notebook opens.
 *
 * A notebook whose metadata says `"heron_research": {"autorun": true}` (the notebooks
 * `heron-research lab` opens) is, once its kernel is ready, run from top to bottom
 * with no action by the person in front of it. Meanwhile the page says "Opening your
 * workbook..." and shows nothing of the notebook (no code, no empty cell, no half-drawn
 * form); the notebook appears when every cell has run and every widget has been drawn.
 * If a cell fails, or the kernel does not start, the page says so in words and shows
 * the error. After the run the notebook is marked clean: running it is not an unsaved
 * change (the server's save hook keeps outputs out of the file in any case).
 *
 * Every notebook is covered from the moment it is added until its file is read (its
 * metadata is not known before), so a marked notebook's cells never flash; an
 * unmarked notebook is shown as soon as it is read and is otherwise left alone.
 *
 * State, for tests and the benchmark: the panel's `data-heron-autorun` attribute is
 * `pending` (file not read yet), `off` (not marked), `running`, `done` or `failed`.
 */

import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  INotebookTracker,
  NotebookActions,
  NotebookPanel
} from '@jupyterlab/notebook';

const PLUGIN_ID = 'heron-research-autorun:plugin';
const METADATA_KEY = 'heron_research';
const STATE = 'data-heron-autorun';
const COVERED = 'heron-autorun-covered';
const MARKED = 'heron-autorun';

const OPENING = 'Opening your workbook...';
const NO_KERNEL =
  'Your workbook could not be opened: its Python kernel did not start. ' +
  'Close this page, stop heron-research lab (Ctrl-C) and start it again.';
const FAILED =
  'Your workbook could not be opened: a step failed while starting the forms. ' +
  'The message below says what went wrong; nothing was saved or changed.';
const WIDGETS_MISSING =
  'Your workbook opened, but some of its forms could not be drawn. ' +
  'Reload this page to try again; nothing was saved or changed.';

/** How long drawn widgets may take to appear after the run (ms) before we say so. */
const WIDGET_WAIT = 60_000;

const WIDGET_OUTPUT =
  '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.widget-view+json"]';

function isMarked(panel: NotebookPanel): boolean {
  const meta = panel.context.model?.getMetadata(METADATA_KEY) as
    | { autorun?: unknown }
    | undefined;
  return !!meta && meta.autorun === true;
}

/** The cover over a notebook: a live region saying what is happening. */
function cover(panel: NotebookPanel): HTMLElement {
  let node = panel.node.querySelector<HTMLElement>(':scope > .heron-autorun-message');
  if (!node) {
    node = document.createElement('div');
    node.className = 'heron-autorun-message';
    node.setAttribute('role', 'status');
    node.setAttribute('aria-live', 'polite');
    panel.node.appendChild(node);
  }
  return node;
}

function say(panel: NotebookPanel, text: string, failed = false): void {
  const node = cover(panel);
  node.textContent = text;
  node.classList.toggle('heron-autorun-failed', failed);
  if (failed) {
    node.setAttribute('role', 'alert');
  }
}

function setState(panel: NotebookPanel, state: string): void {
  panel.node.setAttribute(STATE, state);
}

/** Resolves true once every widget output of the notebook has drawn its view. */
function widgetsDrawn(panel: NotebookPanel, timeout: number): Promise<boolean> {
  const drawn = (): boolean =>
    Array.from(panel.content.node.querySelectorAll(WIDGET_OUTPUT)).every(
      output => output.childElementCount > 0 && !/Error displaying widget/.test(output.textContent ?? '')
    );
  return new Promise(resolve => {
    if (drawn()) {
      resolve(true);
      return;
    }
    const observer = new MutationObserver(() => {
      if (drawn()) {
        finish(true);
      }
    });
    const timer = window.setTimeout(() => finish(drawn()), timeout);
    function finish(ok: boolean): void {
      observer.disconnect();
      window.clearTimeout(timer);
      resolve(ok);
    }
    observer.observe(panel.content.node, { childList: true, subtree: true });
  });
}

async function autorun(panel: NotebookPanel): Promise<void> {
  await panel.context.ready;
  if (!isMarked(panel)) {
    panel.removeClass(COVERED);
    setState(panel, 'off');
    return;
  }
  panel.addClass(MARKED);
  setState(panel, 'running');
  say(panel, OPENING);

  const session = panel.sessionContext;
  try {
    await session.ready;
    const kernel = session.session?.kernel;
    if (!kernel) {
      throw new Error('no kernel');
    }
    await kernel.info; // connected: the widget manager hears every widget from here on
  } catch {
    setState(panel, 'failed');
    say(panel, NO_KERNEL, true);
    return;
  }

  let ran = false;
  try {
    ran = await NotebookActions.runAll(panel.content, session);
  } catch {
    ran = false;
  }
  const notebook = panel.content;
  if (notebook.widgets.length) {
    notebook.activeCellIndex = 0; // no cell left selected at the bottom of the page
    notebook.deselectAll();
  }
  panel.context.model.dirty = false; // running is not an unsaved change
  if (!ran) {
    setState(panel, 'failed');
    say(panel, FAILED, true);
    panel.removeClass(COVERED); // show the error under the message
    return;
  }
  const drawn = await widgetsDrawn(panel, WIDGET_WAIT);
  panel.context.model.dirty = false;
  if (!drawn) {
    setState(panel, 'failed');
    say(panel, WIDGETS_MISSING, true);
    panel.removeClass(COVERED);
    return;
  }
  cover(panel).remove();
  panel.removeClass(COVERED);
  setState(panel, 'done');
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'Runs the notebooks heron-research marks for it when they open, code out of sight.',
  autoStart: true,
  requires: [INotebookTracker],
  activate: (app: JupyterFrontEnd, tracker: INotebookTracker): void => {
    const watch = (panel: NotebookPanel): void => {
      panel.addClass(COVERED);
      setState(panel, 'pending');
      void autorun(panel).catch(() => {
        setState(panel, 'failed');
        say(panel, FAILED, true);
      });
    };
    tracker.forEach(watch); // opened before this plugin started (restored layout)
    tracker.widgetAdded.connect((_, panel) => watch(panel));
  }
};

export default plugin;
