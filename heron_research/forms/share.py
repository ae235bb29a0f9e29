"""The client's Share tab: see what a bundle would hold, then write it into a folder.

The tab shows, before anything is written, what a bundle for the practitioner would hold
(and one for the study, only while research consent is in force), from
:func:`~heron_research.exchange.share.preview_share`: how many entries of each kind, each
entry's one-line description, what stays behind (counts only) and the consent in force.
Below it, who the bundle is for, their public key, the client's own key file (made here
if they have none), the folder, and "Write the bundle", which calls
:func:`~heron_research.exchange.share.share` and says where the file is and what it holds.

It follows the forms' rules (:mod:`heron_research.forms.core`): a problem is shown in one
line next to the field it concerns and nothing typed is cleared. The tab is a registered
page (:func:`~heron_research.forms.registry.page_for`): its contents are built when it is
first shown, and the preview is rebuilt when the workbook changes. Each preview is one
escaped HTML widget, however many entries it lists.
"""

from __future__ import annotations

import html
from pathlib import Path

import ipywidgets as W

from heron_research.errors import (
    HeronError,
    KeyFileError,
    KeyFileExposedError,
    RecipientError,
    ShareError,
)
from heron_research.exchange.keys import load_identity, new_identity, parse_recipient, recipient_of
from heron_research.exchange.share import (
    IDENTITY_SETTING,
    SharePreview,
    ShareResult,
    preview_share,
    recipient_setting,
    sequence_setting,
    share,
)
from heron_research.forms.core import FormContext, _status_html
from heron_research.forms.fields import ChoiceField, Field, TextField
from heron_research.forms.registry import page_for
from heron_research.records import RECORD_TYPES, Side
from heron_research.visibility import Audience

__all__ = ["KEY_FILE", "SharePage", "bundle_name", "key_folder", "preview_html", "share_page"]

#: Who each audience is, in the tab's words.
_WHO = {Audience.PRACTITIONER: "your practitioner", Audience.RESEARCH: "the study"}
_FILE_WHO = {Audience.PRACTITIONER: "practitioner", Audience.RESEARCH: "study"}
_FREE_TEXT = {
    "kept": "what you wrote goes as you wrote it.",
    "none": "what you wrote in your own words is left out, so no names leave this computer.",
    "scrubbed": "what you wrote is scrubbed here first: names, contact details, numbers and "
    "dates become placeholders.",
}
#: The name of the key file made for a client who has none (in :func:`key_folder`).
KEY_FILE = "my-key.txt"


def key_folder(workbook_path: Path) -> Path:
    """The private folder beside the workbook where the tab makes the client's key.

    Its name starts with a dot, so the lab neither lists nor serves it (like the workbook
    file, the key is not a file to open in JupyterLab).
    """
    return workbook_path.parent / f".{workbook_path.stem}-keys"


def bundle_name(workbook_path: Path, audience: Audience, sequence: int) -> str:
    """The file name of bundle ``sequence`` for ``audience``: ``me-for-practitioner-3.age``."""
    return f"{workbook_path.stem}-for-{_FILE_WHO[audience]}-{sequence}.age"


def preview_html(preview: SharePreview) -> str:
    """A preview in words for a client, as one piece of HTML (every entry's text escaped)."""
    c = preview.contents
    who = _WHO[c.audience]
    total = sum(preview.counts.values())
    parts = [
        f'<div class="heron-share-preview heron-share-preview-{c.audience.value}">',
        f"<h4>What would go to {html.escape(who)}</h4>",
    ]
    if not c.entries:
        parts.append(
            f"<p>Nothing: no entry is shared with {html.escape(who)} under the consent you "
            "have given. A bundle now would be empty (it would also clear what they hold "
            "from you).</p>"
        )
    else:
        parts.append(
            f"<p>Bundle {preview.sequence} would hold {total:,} "
            f"{'entry' if total == 1 else 'entries'} (open a line to see them):</p><ul>"
        )
        for kind, found in c.entries.items():
            words = html.escape(RECORD_TYPES[kind].facts.words(len(found)))
            items = "".join(
                f'<li class="heron-share-entry">{html.escape(_sentence(r.describe()))}</li>'
                for r in found
            )
            parts.append(
                f'<li class="heron-share-kind heron-share-kind-{kind}"><details>'
                f"<summary>{words}</summary><ul>{items}</ul></details></li>"
            )
        parts.append("</ul>")
    parts.append(f"<p>In these entries, {html.escape(_FREE_TEXT[c.free_text])}</p>")
    if c.withheld:
        kept = ", ".join(RECORD_TYPES[k].facts.words(n) for k, n in c.withheld.items())
        parts.append(
            f'<p class="heron-share-withheld">Stays only with you: {html.escape(kept)}.</p>'
        )
    else:
        parts.append('<p class="heron-share-withheld">Stays only with you: nothing.</p>')
    parts.append(
        f'<p class="heron-share-consent">Consent in force: '
        f"{html.escape(c.consent.describe())}</p></div>"
    )
    return "".join(parts)


def _sentence(text: str) -> str:
    return f"{text[:1].upper()}{text[1:]}"


@page_for(side=Side.CLIENT, tab="Share", order=90)
def share_page(context: FormContext) -> SharePage:
    """The client's Share tab (its contents are built when it is first shown)."""
    return SharePage(context)


class SharePage:
    """The Share tab of the client's app (see the module's description).

    ``widget`` starts empty; :meth:`show` builds the contents the first time and brings
    the preview up to date after that. The fields are :class:`Field` s like a form's:
    ``audience``, ``recipient``, ``identity`` and ``folder``; ``write_button`` and
    ``make_key_button`` are the buttons, ``status`` the line under them, ``previews``
    the preview widgets by audience and ``last_result`` the bundle last written.
    """

    def __init__(self, context: FormContext) -> None:
        self.context = context
        self.widget = W.VBox([], layout=W.Layout(max_width="60em"))
        self.widget.add_class("heron-share")
        self.built = False
        self.last_result: ShareResult | None = None
        self._seen: int | None = None
        context.on_change(self._on_change)

    # -- building ------------------------------------------------------------------------

    def show(self) -> None:
        """Build the tab the first time it is shown; refresh a stale preview after that."""
        if not self.built:
            self._build()
        elif self._seen != self.context.workbook.change_count():
            self.refresh()  # changed by another program (say, `heron-research receive`)

    def _build(self) -> None:
        wb = self.context.workbook
        intro = W.HTML(
            "<h3>Share with your practitioner</h3>"
            "<p>Nothing leaves this computer by itself. Below you see exactly what a bundle "
            "would hold. <b>Write the bundle</b> puts it in one locked file in a folder you "
            "choose; only they (with their key) and you (with yours) can open it. Give them "
            "the file the way you agreed. Entries marked <i>Only me (private)</i> never go, "
            "and each new bundle replaces the one before: an entry you make private or "
            "delete leaves their copy with the next bundle.</p>"
        )
        self.previews = {
            audience: W.HTML("", layout=W.Layout(margin="0 0 8px 0")) for audience in _WHO
        }
        self.audience = ChoiceField(
            "audience", "Who the bundle is for", self._audience_choices, default="practitioner"
        )
        self.audience.widget.observe(lambda _c: self._audience_changed(), names="value")
        self.recipient = TextField(
            "recipient",
            "Their public key",
            placeholder="age1...",
            hint="The line starting with age1 that they gave you. It is remembered after the "
            "first bundle.",
        )
        self.identity = TextField(
            "identity",
            "Your key file",
            hint="Your own key, so that you can always open what you sent. Keep it private.",
        )
        self.make_key_button = W.Button(description="Make my key", icon="key")
        self.make_key_button.add_class("heron-make-key")
        self.make_key_button.on_click(lambda _b: self.make_key())
        self.key_info = W.HTML("")
        self.key_info.add_class("heron-key-info")
        self.folder = TextField(
            "folder",
            "Folder to write the bundle into",
            hint="The folder of your workbook unless you choose another one.",
        )
        self.write_button = W.Button(
            description="Write the bundle", button_style="primary", icon="lock"
        )
        self.write_button.add_class("heron-write-bundle")
        self.write_button.on_click(lambda _b: self.write())
        self.status = W.HTML("")
        self.status.add_class("heron-status")
        self.widget.children = (
            intro,
            *self.previews.values(),
            self.audience.box,
            self.recipient.box,
            self.identity.box,
            W.HBox([self.make_key_button]),
            self.key_info,
            self.folder.box,
            W.HBox([self.write_button]),
            self.status,
        )
        self.recipient.set(wb.get_setting(recipient_setting(Audience.PRACTITIONER)) or "")
        self.identity.set(wb.get_setting(IDENTITY_SETTING) or "")
        self.folder.set(str(wb.path.resolve().parent))
        self.built = True
        self.refresh()
        self._show_key()

    @property
    def fields(self) -> list[Field]:
        return [self.audience, self.recipient, self.identity, self.folder]

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    # -- the preview ---------------------------------------------------------------------

    def _audiences(self) -> list[Audience]:
        """Who a bundle can go to now: the practitioner, and the study with research consent."""
        research = self.context.workbook.consent().research
        return [a for a in _WHO if a is Audience.PRACTITIONER or research]

    def _audience_choices(self) -> list[tuple[str, str]]:
        return [(_WHO[a].capitalize(), a.value) for a in self._audiences()]

    def refresh(self) -> None:
        """Rebuild the previews from the workbook as it is now (nothing is written)."""
        if not self.built:
            return
        self._seen = self.context.workbook.change_count()
        shown = self._audiences()
        for audience, widget in self.previews.items():
            if audience in shown:
                widget.value = preview_html(preview_share(self.context.workbook, audience))
                widget.layout.display = None
            else:
                widget.value = ""
                widget.layout.display = "none"
        # the study is offered only while research consent is in force
        if Audience(self.audience.get()) not in shown:
            self.audience.set(Audience.PRACTITIONER.value)  # its recipient follows
        self.audience.refresh()
        self.audience.box.layout.display = None if len(shown) > 1 else "none"

    def preview(self, audience: Audience | str) -> SharePreview:
        """What a bundle for ``audience`` would hold now (what the tab shows)."""
        return preview_share(self.context.workbook, audience)

    def _on_change(self, _kind: str) -> None:
        self.refresh()

    def _audience_changed(self) -> None:
        audience = Audience(self.audience.get())
        self.recipient.clear_problems()
        self.recipient.set(self.context.workbook.get_setting(recipient_setting(audience)) or "")
        self.status.value = ""

    # -- the client's key ----------------------------------------------------------------

    def _show_key(self) -> None:
        """Say what the key file in the field is (its public key), or why it cannot be used."""
        remembered = self.context.workbook.get_setting(IDENTITY_SETTING)
        self.make_key_button.layout.display = "none" if remembered else None
        path = self.identity.get().strip()
        if not path:
            self.key_info.value = (
                "<p>You have no key yet. <b>Make my key</b> makes one in a private (hidden) "
                "folder beside your workbook.</p>"
            )
            return
        problem, public = self._check_identity(path)
        if problem:
            self.identity.clear_problems()
            self.identity.show_problem(problem)
            self.key_info.value = ""
            return
        self.key_info.value = (
            "<p>Your public key (give it to your practitioner, so what they send back opens "
            f"only for you): <code>{html.escape(public)}</code></p>"
        )

    def make_key(self) -> Path | None:
        """Make the client's key in :func:`key_folder` (or use the one already there)."""
        self.identity.clear_problems()
        wb = self.context.workbook
        folder = key_folder(wb.path.resolve())
        path = folder / KEY_FILE
        try:
            folder.mkdir(mode=0o700, exist_ok=True)
            folder.chmod(0o700)
            found = path.exists()
            if not found:
                new_identity(path)
        except (OSError, HeronError) as exc:
            message = str(exc) if isinstance(exc, HeronError) else exc.strerror or str(exc)
            self.identity.show_problem(f"Could not make your key in {folder}: {message}")
            return None
        self.identity.set(str(path))
        problem, _public = self._check_identity(str(path))
        if problem:
            self.identity.show_problem(problem)
            return None
        try:
            wb.set_setting(IDENTITY_SETTING, str(path))
        except HeronError as exc:
            self.identity.show_problem(f"Your key is in {path}, but it was not remembered: {exc}")
            return None
        self._show_key()
        made = "Found the key you made earlier" if found else "Made your key"
        self.status.value = _status_html(
            "ok", [f"✓ {made}: {path}. Only you can read it; keep a copy somewhere safe."]
        )
        return path

    def _check_identity(self, text: str) -> tuple[str, str]:
        """(a problem in words, or "") and the key's public recipient."""
        path = Path(text).expanduser()
        if not path.exists():
            return (
                f"There is no file at {path}. Check the name, or make a new key with the "
                "button below.",
                "",
            )
        try:
            identity = load_identity(path)
        except KeyFileExposedError as exc:
            return str(exc), ""
        except KeyFileError:
            return (
                f"{path} is not a key file (a key file holds one line starting with "
                "AGE-SECRET-KEY-1). Check the name, or make a new key with the button below.",
                "",
            )
        return "", recipient_of(identity)

    # -- writing the bundle --------------------------------------------------------------

    def _check(self, audience: Audience) -> dict[str, str]:
        """The problems with what is typed, by field (empty: ready to write)."""
        who = _WHO[audience]
        problems: dict[str, str] = {}
        recipient = self.recipient.get().strip()
        if not recipient:
            problems["recipient"] = (
                f"please paste the public key {who} gave you (it starts with age1)"
            )
        else:
            try:
                parse_recipient(recipient)
            except RecipientError:
                problems["recipient"] = (
                    f"this is not a public key: a public key starts with age1. Copy the whole "
                    f"line {who} gave you."
                    if not recipient.startswith("age1")
                    else "this public key is incomplete or has a typo (it is 62 letters and "
                    f"digits, starting with age1). Copy it again from what {who} gave you."
                )
        identity = self.identity.get().strip()
        if not identity:
            problems["identity"] = "please give your key file, or make one with the button below"
        else:
            problem, _public = self._check_identity(identity)
            if problem:
                problems["identity"] = problem
        folder = self.folder.get().strip()
        if not folder:
            problems["folder"] = "please give the folder to write the bundle into"
        elif not Path(folder).expanduser().is_dir():
            problems["folder"] = f"there is no folder {Path(folder).expanduser()}"
        return problems

    def _show_problems(self, problems: dict[str, str], heading: str) -> None:
        lines = [heading]
        for name, message in problems.items():
            field = self.field(name)
            field.show_problem(message)
            lines.append(f"• {field.label}: {message}")
        self.status.value = _status_html("error", lines)

    def write(self) -> ShareResult | None:
        """Write the bundle for the chosen audience; on a problem, say so by its field."""
        for f in self.fields:
            f.clear_problems()
        self.status.value = ""
        audience = Audience(self.audience.get())
        problems = self._check(audience)
        wb = self.context.workbook
        folder = Path(self.folder.get().strip()).expanduser()
        sequence = int(wb.get_setting(sequence_setting(audience)) or 0) + 1
        out = folder / bundle_name(wb.path, audience, sequence)
        if not problems and out.exists():
            problems["folder"] = (
                f"a file named {out.name} is already in this folder; choose another folder, "
                "or move that file away"
            )
        if problems:
            self._show_problems(problems, "Not written yet. Please check:")
            return None
        try:
            result = share(
                wb,
                audience,
                out,
                recipient=self.recipient.get().strip(),
                identity=Path(self.identity.get().strip()).expanduser(),
            )
        except RecipientError as exc:
            self._show_problems({"recipient": str(exc)}, "Not written:")
            return None
        except KeyFileError as exc:
            self._show_problems({"identity": str(exc)}, "Not written:")
            return None
        except ShareError as exc:
            self._show_problems({"folder": str(exc)}, "Not written:")
            return None
        except HeronError as exc:
            self.status.value = _status_html("error", [f"Not written: {exc}"])
            return None
        self.last_result = result
        self.refresh()  # the next bundle's number
        self._show_key()
        self.status.value = _status_html("ok", _written(result))
        return result


def _written(result: ShareResult) -> list[str]:
    """What was written, in words."""
    who = _WHO[result.audience]
    total = sum(result.counts.values())
    held = ", ".join(RECORD_TYPES[k].facts.words(n) for k, n in result.counts.items())
    what = f"{total:,} {'entry' if total == 1 else 'entries'}" + (f": {held}" if held else "")
    return [
        f"✓ Wrote bundle {result.sequence} for {who} to {result.path}",
        f"It holds {what}.",
        f"Only {who} and you can open it. Give them the file the way you agreed; their key "
        "and yours are remembered for next time.",
    ]
