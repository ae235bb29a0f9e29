"""What every form shares: validate through the record model, save, confirm, edit.

There is one implementation of form behaviour, :class:`RecordForm`; the forms in
:mod:`heron_research.forms.kinds` only say which fields to show. The rules:

* validation comes from the record models; each problem is shown next to its field,
  in the model's words, and listed once more beside the Save button;
* nothing the user typed is cleared when saving fails, whatever the reason (a bad field,
  a busy or read-only workbook, an entry changed elsewhere);
* a saved entry is confirmed in words, and the form is ready for the next one;
* an existing entry can be loaded for editing (from :class:`RecentEntries`); saving it
  adds a revision and the earlier version is kept;
* a form never holds a database transaction open: each save is one short transaction,
  and reads happen only when the user asks for something;
* in the client's Recent, an entry the practitioner wrote says so and cannot be edited or
  deleted there: only the writing side edits a record.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import ipywidgets as W
from ipywidgets.widgets.widget_string import HTMLStyle

from heron_research.errors import FieldProblem, HeronError, RecordValidationError
from heron_research.forms.closing import close_dropped, reachable
from heron_research.forms.fields import ChoiceField, Field, Fold, label_widget
from heron_research.records.base import Record, Sharing, record_type
from heron_research.records.facts import Side
from heron_research.visibility import Audience
from heron_research.workbook import Workbook
from heron_research.workbook.store import StoredRecord

__all__ = [
    "FormContext",
    "RecentEntries",
    "RecordForm",
    "close_dropped",
    "reachable",
    "shared_part",
    "sharing_field",
]

SHARING_CHOICES = [
    ("Only me (private)", Sharing.PRIVATE.value),
    ("Me and my practitioner", Sharing.PRACTITIONER.value),
    ("Also anonymised research (while I consent)", Sharing.RESEARCH.value),
]


def sharing_field(model: type[Record]) -> ChoiceField:
    """The sharing level every record carries, chosen by the client; ``model``'s default."""
    return ChoiceField(
        "sharing",
        "Who may see this",
        SHARING_CHOICES,
        default=Sharing(model.model_fields["sharing"].default).value,
        hint="You can change this later; research use also needs your research consent.",
    )


class FormContext:
    """The workbook a set of forms writes to, and the forms to tell when something changed.

    The workbook connection stays open for the kernel's life, but no transaction does:
    :meth:`Workbook.save` is one short transaction and reads are single statements.
    """

    def __init__(
        self, workbook: Workbook | str | Path, *, audience: Audience | str = Audience.CLIENT
    ) -> None:
        self.workbook = workbook if isinstance(workbook, Workbook) else Workbook.open(workbook)
        self.audience = Audience(audience)
        #: who writes through these forms: the client's app writes as the client, the
        #: practitioner's as the practitioner (whichever workbook it is opened on)
        self.side = Side.PRACTITIONER if self.audience is Audience.PRACTITIONER else Side.CLIENT
        self._read: dict[tuple[str, bool], tuple[int, list[StoredRecord]]] = {}
        self._listeners: list[Callable[[str], None]] = []

    def on_change(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(kind)`` after any form saves, deletes or restores an entry."""
        self._listeners.append(listener)

    def changed(self, kind: str) -> None:
        for listener in list(self._listeners):
            listener(kind)

    def records(self, kind: str, *, include_deleted: bool = False) -> list[StoredRecord]:
        """Entries of ``kind`` this app's user may see (deleted ones only for the client)."""
        include_deleted = include_deleted and self.audience is Audience.CLIENT
        # option lists (people, episodes...) are asked for by many fields after each save:
        # read a kind again only when the workbook has changed since it was last read
        version = self.workbook.change_count()
        key = (kind, include_deleted)
        cached = self._read.get(key)
        if cached is None or cached[0] != version:
            rows = self.workbook.records(
                kind, audience=self.audience, include_deleted=include_deleted
            )
            cached = self._read[key] = (version, rows)
        return list(cached[1])


_PARTS: dict[str, W.Widget] = {}


def shared_part(name: str, make: Callable[[], W.Widget]) -> Any:
    """One layout or style (``make()``, made on first use) for all the widgets that name it.

    Every widget is a model in the kernel and in the browser, and so is each one's own
    layout and style: widgets whose layout and style never change share one.
    """
    part = _PARTS.get(name)
    if part is None or part.comm is None:
        part = _PARTS[name] = make()
    return part


def _plain() -> W.Layout:
    return shared_part("layout", W.Layout)


def _text() -> HTMLStyle:
    return shared_part("html-style", HTMLStyle)


def _status_html(kind: str, lines: Sequence[str]) -> str:
    colour = {"ok": "#1b5e20", "error": "#8a1c1c", "info": "#37474f"}[kind]
    body = "<br>".join(html.escape(line) for line in lines)
    return f'<div style="color:{colour};padding:4px 0">{body}</div>'


class RecordForm:
    """A form for one record kind: fields, Save, a status line, and edit support.

    ``fixed`` values are added to the data unasked (e.g. ``raised_by="client"``).
    ``prepare(data)`` may adjust the data before validation; ``describe(record)`` gives the
    words used to confirm a save (the record's own :meth:`~Record.describe` unless given);
    ``after_save(stored)`` runs after a successful save. ``check(record, editing)`` may
    refuse a valid record for what only the workbook knows (a name already in the register),
    returning the problems to show, as the model's own are shown.
    """

    def __init__(
        self,
        context: FormContext,
        record_type: type[Record],
        fields: Sequence[Field],
        *,
        title: str,
        intro: str = "",
        fixed: dict[str, Any] | None = None,
        prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        describe: Callable[[Record], str] | None = None,
        after_save: Callable[[StoredRecord], None] | None = None,
        extra: Sequence[W.Widget] = (),
        save_label: str = "Save",
        details: Sequence[Field] = (),
        details_title: str = "More detail (optional)",
        check: Callable[[Record, StoredRecord | None], list[FieldProblem]] | None = None,
    ) -> None:
        self.context = context
        self.record_type = record_type
        self.fields = [*fields, *details]
        self._details = list(details)
        self.fixed = dict(fixed or {})
        self._prepare = prepare
        self._describe = describe or (lambda record: record.describe())
        self._after_save = after_save
        self._check = check
        self.editing: StoredRecord | None = None
        self.last_saved: StoredRecord | None = None
        self.last_problems: list[FieldProblem] = []

        self.title = W.HTML(f"<h3>{html.escape(title)}</h3>", layout=_plain(), style=_text())
        self.intro = W.HTML(
            f"<p>{html.escape(intro)}</p>" if intro else "", layout=_plain(), style=_text()
        )
        self.edit_banner = W.HTML("")
        self.cancel_button = W.Button(description="Stop editing", layout=W.Layout(display="none"))
        self.cancel_button.add_class("heron-cancel-edit")
        self.cancel_button.on_click(lambda _b: self.new_entry())
        self.save_button = W.Button(description=save_label, button_style="primary", icon="check")
        self.save_button.add_class("heron-save")
        self.save_button.on_click(lambda _b: self.save())
        self.status = W.HTML("")
        self.status.add_class("heron-status")
        self.details = Fold(
            [W.VBox([f.box for f in details], layout=_plain())], titles=(details_title,)
        )
        self.details.add_class("heron-details")
        self.widget = W.VBox(
            [
                self.title,
                self.intro,
                W.HBox([self.edit_banner, self.cancel_button], layout=_plain()),
                *(f.box for f in fields),
                *extra,
                *([self.details.widget] if details else []),
                W.HBox([self.save_button], layout=_plain()),
                self.status,
            ],
            layout=W.Layout(max_width="60em"),
        )
        self.widget.add_class("heron-form")
        self.widget.add_class(f"heron-form-{record_type.kind}")
        self._nowhere: Field | None = None
        self._visible = True
        self._stale = False
        #: the widgets shown at the last sweep: those gone from the form since are closed
        self._shown = reachable(self.widget)
        context.on_change(self._on_change)

    def _ipython_display_(self) -> None:  # pragma: no cover - display only
        from IPython.display import display

        display(self.widget)

    # -- reading the fields -------------------------------------------------------------

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def data(self) -> dict[str, Any]:
        """The record data the fields hold now (plus stored values the form doesn't show)."""
        data: dict[str, Any] = {}
        if self.editing is not None:
            data.update(self.editing.record.to_data())
        data.update(self.fixed)
        for f in self.fields:
            data[f.name] = f.get()
        # a field left empty that the model requires: let the model say "please fill this in"
        for name, info in self.record_type.model_fields.items():
            if data.get(name, "") is None and info.is_required():
                del data[name]
        if self._prepare is not None:
            data = self._prepare(data)
        return data

    # -- saving -------------------------------------------------------------------------

    def save(self) -> StoredRecord | None:
        """Validate and save. On any failure the fields keep their values and say why."""
        self.catch_up()
        for f in self.fields:
            f.clear_problems()
        self.last_problems = []
        data = self.data()
        missing = self._missing_required(data)
        try:
            record = self.record_type.from_data(data)
        except RecordValidationError as exc:
            named = {p.field for p in exc.problems}
            self._show_problems([*(p for p in missing if p.field not in named), *exc.problems])
            return None
        if missing:
            self._show_problems(missing)
            return None
        refused = self._check(record, self.editing) if self._check is not None else []
        if refused:  # what the model cannot know: the workbook's other entries
            self._show_problems(refused)
            return None
        expected = self.editing.revision if self.editing is not None else None
        try:
            stored = self.context.workbook.save(
                record, expected_revision=expected, side=self.context.side
            )
        except HeronError as exc:
            self.status.value = _status_html("error", ["Not saved: " + str(exc)])
            return None
        what = self._describe(stored.record)
        when = stored.updated_at.astimezone().strftime("%H:%M")
        if self.editing is not None:
            message = (
                f"✓ Saved your changes to {what} at {when}. The earlier version is kept "
                f"(this is version {stored.revision})."
            )
        else:
            message = f"✓ Saved {what} at {when}."
        self.last_saved = stored
        self.new_entry()
        self.status.value = _status_html("ok", [message])
        if self._after_save is not None:
            self._after_save(stored)
        self.context.changed(self.record_type.kind)
        return stored

    def _missing_required(self, data: dict[str, Any]) -> list[FieldProblem]:
        """Fields the form requires that the model would quietly default (e.g. a date)."""
        return [
            FieldProblem((f.name,), f.label, "please fill this in")
            for f in self.fields
            if f.required and data.get(f.name) in (None, "", [])
        ]

    def _show_problems(self, problems: Sequence[FieldProblem]) -> None:
        self.last_problems = list(problems)
        lines = ["Not saved yet. Please check:"]
        for problem in problems:
            target = self._locate(problem.field)
            target.show_problem(problem.message)
            if any(problem.field[:1] == (f.name,) for f in self._details):
                self.details.selected_index = 0  # open the section so the problem shows
            lines.append(f"• {problem.label}: {problem.message}")
        self.status.value = _status_html("error", lines)

    def _locate(self, path: tuple[str | int, ...]) -> Field:
        for f in self.fields:
            if path and f.name == path[0]:
                return f.locate(path[1:])
        if self._nowhere is None:
            self._nowhere = _NowhereField.instance(self)
        return self._nowhere

    def sweep(self, before: set[W.Widget] | None = None) -> None:
        """Close the widgets the form no longer shows: those it showed at the last sweep, or
        ``before`` (what it showed before a change), and shows no more. Saving again and
        again then builds up nothing."""
        shown = reachable(self.widget)
        close_dropped((self._shown | (before or set())) - shown)
        self._shown = shown

    # -- new entry and editing ----------------------------------------------------------

    def new_entry(self) -> None:
        """Clear the form for a new entry (after a save, or to stop editing)."""
        before = reachable(self.widget)  # rows the client added since the last sweep too
        self.editing = None
        for f in self.fields:
            f.clear_problems()
            f.refresh()
            f.reset()
        self.edit_banner.value = ""
        self.cancel_button.layout.display = "none"
        self.save_button.description = "Save"
        self.status.value = ""
        self.sweep(before)

    def edit(self, stored: StoredRecord) -> None:
        """Load a saved entry into the form; saving then keeps the earlier version."""
        if stored.kind != self.record_type.kind:
            raise ValueError(f"this form edits {self.record_type.kind}, not {stored.kind}")
        self.new_entry()
        self.editing = stored
        data = stored.record.to_data()
        for f in self.fields:
            if f.name in data:
                f.set(data[f.name])
        self.edit_banner.value = _status_html(
            "info",
            [
                f"Editing {self._describe(stored.record)} (version {stored.revision}). "
                "Saving keeps the earlier version."
            ],
        )
        self.cancel_button.layout.display = "inline-flex"
        self.save_button.description = "Save changes"
        self.sweep()

    def _on_change(self, kind: str) -> None:
        if kind != self.record_type.kind:
            self._stale = True
            if self._visible:
                self.catch_up()

    def show(self) -> None:
        """The form's tab is shown: bring its choices up to date, and keep them so."""
        self._visible = True
        self.catch_up()

    def hide(self) -> None:
        """The form's tab is hidden: a change elsewhere only marks its choices out of date
        (an app with many tabs then does not reload every list at every save)."""
        self._visible = False

    def catch_up(self) -> None:
        """Reload the choices drawn from the workbook if something changed since (what was
        typed or picked is kept)."""
        if self._stale:
            self._stale = False
            for f in self.fields:
                f.refresh()
            self.sweep()


class _NowhereField(Field):
    """Problems that belong to no shown field go into the form's status list only."""

    @classmethod
    def instance(cls, form: RecordForm) -> Field:
        return cls("record", "Entry", W.HTML(""))

    def show_problem(self, message: str) -> None:
        return None


#: How a Recent line in the client's app marks an entry the practitioner wrote.
FROM_PRACTITIONER = "from your practitioner"


def _written_by_practitioner(stored: StoredRecord) -> bool:
    """Whether the practitioner wrote this stored record (received from them).

    Reads the side the store keeps with each record; a store that keeps none (before
    authorship was stored) means the workbook's owner wrote it.
    """
    return getattr(stored, "side", None) == Side.PRACTITIONER


def _recent_label() -> W.Layout:
    return W.Layout(width="36em")


class _RecentRow:
    """One line of Recent, kept and filled with another entry as the list changes."""

    def __init__(self, recent: RecentEntries) -> None:
        self.stored: StoredRecord | None = None
        self.label = W.HTML("", layout=shared_part("recent-label", _recent_label))
        self.edit = W.Button(description="Edit", icon="pencil")
        self.edit.add_class("heron-edit")
        self.edit.on_click(lambda _b: recent._edit(self._current()))
        self.delete = W.Button(description="Delete", icon="trash")
        self.delete.add_class("heron-delete")
        self.delete.on_click(lambda _b: recent._delete(self._current()))
        self.restore = W.Button(description="Restore", icon="undo")
        self.restore.on_click(lambda _b: recent._restore(self._current()))
        self.box = W.HBox([self.label])
        self.box.add_class("heron-recent-row")

    def _current(self) -> StoredRecord:
        assert self.stored is not None
        return self.stored

    def show(self, stored: StoredRecord, text: str, *, theirs: bool, editable: bool) -> None:
        self.stored = stored
        self.label.value = text
        if theirs or not editable:
            children: tuple[W.Widget, ...] = (self.label,)
        elif stored.deleted_at is not None:
            children = (self.label, self.restore)
        else:
            children = (self.label, self.edit, self.delete)
        self.box.children = children
        if theirs:
            self.box.add_class("heron-recent-theirs")
        else:
            self.box.remove_class("heron-recent-theirs")


#: Recent's controls, made when first needed (see :meth:`RecentEntries.__getattr__`)
_RECENT_CONTROLS = frozenset(
    {"kind", "show_deleted", "message", "newer", "older", "where", "_list", "_empty"}
)


class RecentEntries:
    """The latest entries of some kinds, a page at a time (``limit`` a page, newest first,
    with Newer and Older), each with Edit and Delete; deleted ones can be restored.
    ``forms`` maps a kind to the form that edits it (looked up only on Edit); ``read_only``
    kinds are listed without Edit or Delete (no form here writes them).

    In the client's app, an entry the practitioner wrote is marked as theirs
    (:data:`FROM_PRACTITIONER`) and offers neither Edit nor Delete, whatever its kind.

    The lines are updated in place: a page's rows are kept and filled with other entries,
    never rebuilt. While hidden (``shown=False``, or after :meth:`hide`) a change only marks
    the list out of date; :meth:`show`, or reading :attr:`list`, brings it up to date.
    """

    def __init__(
        self,
        context: FormContext,
        forms: Mapping[str, RecordForm],
        *,
        describe: Callable[[StoredRecord], str],
        limit: int = 20,
        on_edit: Callable[[RecordForm], None] | None = None,
        read_only: Sequence[str] = (),
        shown: bool = True,
    ) -> None:
        self.context = context
        self.forms = forms
        self.read_only = [k for k in read_only if k not in forms]
        self.describe = describe
        self.limit = limit
        self.on_edit = on_edit
        #: the page shown: 0 is the newest ``limit`` entries, 1 the ones before them...
        self.page = 0
        self._visible = shown
        self._stale = True
        self._built = False
        self._rows: list[_RecentRow] = []
        self.widget = W.VBox([])
        self.widget.add_class("heron-recent-tab")
        context.on_change(self._on_change)
        if shown:
            self.refresh()

    #: the controls, made when Recent is first shown or one of them is first asked for
    kind: W.Dropdown
    show_deleted: W.Checkbox
    message: W.HTML
    newer: W.Button
    older: W.Button
    where: W.HTML
    _list: W.VBox
    _empty: W.HTML

    def __getattr__(self, name: str) -> Any:
        if name in _RECENT_CONTROLS and not self.__dict__.get("_built", True):
            self._build()
            return getattr(self, name)
        raise AttributeError(name)

    def _build(self) -> None:
        self._built = True
        self.kind = W.Dropdown(
            options=[
                (record_type(k).facts.plural.capitalize(), k)
                for k in [*self.forms, *self.read_only]
            ],
            layout=W.Layout(width="20em"),
        )
        label_widget(self.kind, "Show")
        self.kind.observe(self._first_page, names="value")
        self.show_deleted = W.Checkbox(description="Show deleted entries", indent=False)
        if self.context.audience is not Audience.CLIENT:
            self.show_deleted.layout.display = "none"
        self.show_deleted.observe(self._first_page, names="value")
        self.message = W.HTML("")
        self.message.add_class("heron-recent-message")
        self._list = W.VBox([])
        self._list.add_class("heron-recent")
        self._empty = W.HTML("<i>Nothing here yet.</i>")
        refresh = W.Button(description="Refresh", icon="refresh")
        refresh.on_click(lambda _b: self.refresh())
        self.newer = W.Button(description="Newer", icon="arrow-left", disabled=True)
        self.newer.add_class("heron-recent-newer")
        self.newer.on_click(lambda _b: self.turn(-1))
        self.older = W.Button(description="Older", icon="arrow-right", disabled=True)
        self.older.add_class("heron-recent-older")
        self.older.on_click(lambda _b: self.turn(1))
        self.where = W.HTML("")
        self.where.add_class("heron-recent-page")
        self.widget.children = (
            W.HBox([self.kind, self.show_deleted, refresh]),
            self.message,
            self._list,
            W.HBox([self.newer, self.older, self.where]),
        )

    @property
    def list(self) -> W.VBox:
        """The box of the page's lines (brought up to date first if it is out of date)."""
        if self._stale:
            self._render()
        return self._list

    def _all(self) -> list[StoredRecord]:
        rows = self.context.records(self.kind.value, include_deleted=self.show_deleted.value)
        rows.sort(key=lambda s: (s.updated_at, s.id), reverse=True)
        return rows

    def entries(self) -> list[StoredRecord]:
        """The entries on the page shown, newest first."""
        start = self.page * self.limit
        return self._all()[start : start + self.limit]

    def theirs(self, stored: StoredRecord) -> bool:
        """Whether ``stored`` is the other side's: in the client's app, the practitioner's."""
        return self.context.audience is Audience.CLIENT and _written_by_practitioner(stored)

    def show(self) -> None:
        """Recent's tab is shown: keep the list up to date from now on."""
        self._visible = True
        if self._stale:
            self._render()

    def hide(self) -> None:
        """Recent's tab is hidden: changes only mark the list out of date."""
        self._visible = False

    def refresh(self) -> None:
        """Bring the list up to date now if it is shown, or when it is next shown."""
        self._stale = True
        if self._visible:
            self._render()

    def turn(self, pages: int) -> None:
        """Show the page ``pages`` further back (1, Older) or forward (-1, Newer)."""
        self.page = max(0, self.page + pages)
        self._stale = True
        self._render()

    def _first_page(self, _change: object = None) -> None:
        self.page = 0
        self.refresh()

    def _on_change(self, _kind: str) -> None:
        if self._built:
            self.message.value = ""  # a message about an earlier action is out of date now
        self.refresh()

    def _render(self) -> None:
        self._stale = False
        every = self._all()
        last_page = max(0, (len(every) - 1) // self.limit)
        self.page = min(self.page, last_page)
        start = self.page * self.limit
        page = every[start : start + self.limit]
        while len(self._rows) < len(page):
            self._rows.append(_RecentRow(self))
        for row, stored in zip(self._rows, page, strict=False):
            theirs = self.theirs(stored)
            text = html.escape(self.describe(stored))
            if theirs:
                text += f" · <b>{html.escape(FROM_PRACTITIONER)}</b>"
            if stored.deleted_at is not None:
                text = f"<s>{text}</s> <i>(deleted)</i>"
            row.show(stored, text, theirs=theirs, editable=stored.kind in self.forms)
        self._list.children = tuple(r.box for r in self._rows[: len(page)]) or (self._empty,)
        self.newer.disabled = self.page == 0
        self.older.disabled = self.page >= last_page
        self.where.value = (
            f"{start + 1}-{start + len(page)} of {len(every)}" if len(every) > self.limit else ""
        )

    def _edit(self, stored: StoredRecord) -> None:
        form = self.forms[stored.kind]
        form.edit(self.context.workbook.get_stored(stored.id))
        self.message.value = _status_html(
            "info", [f"Opened {self.describe(stored)} for editing in its form."]
        )
        if self.on_edit is not None:
            self.on_edit(form)

    def _delete(self, stored: StoredRecord) -> None:
        try:
            self.context.workbook.delete(stored.id, side=self.context.side)
        except HeronError as exc:
            self.message.value = _status_html("error", [f"Not deleted: {exc}"])
            return
        self.context.changed(stored.kind)
        self.message.value = _status_html(
            "ok",
            [f"Deleted {self.describe(stored)}. Tick 'Show deleted entries' to restore it."],
        )

    def _restore(self, stored: StoredRecord) -> None:
        try:
            self.context.workbook.restore(stored.id, side=self.context.side)
        except HeronError as exc:
            self.message.value = _status_html("error", [f"Not restored: {exc}"])
            return
        self.context.changed(stored.kind)
        self.message.value = _status_html("ok", [f"Restored {self.describe(stored)}."])
