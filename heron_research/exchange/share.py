"""Sharing: what ``heron-research share`` does, between the workbook and a bundle file.

:func:`preview_share` says what a bundle would hold (counts per kind, each entry's one-line
description) and what stays behind (counts only), writing nothing. :func:`share` makes the
bundle: it takes the audience's next sequence number and reads the entries in one
transaction, then encrypts them to the recipient and to the client's own key and writes
the file owner-only and atomically.

The workbook remembers, as settings, the recipient of each audience and the path of its
owner's identity file, so a client types them once; and the last sequence number per
audience, so each bundle is numbered after the one before (a gap, if writing fails after
the number was taken, is harmless: receivers only compare numbers).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from heron_research.errors import ShareError
from heron_research.exchange.bundle import (
    AUDIENCES,
    PRACTICE_AUDIENCES,
    BundleContents,
    FreeText,
    build_bundle,
    encrypt_bundle,
)
from heron_research.exchange.keys import load_identity, parse_recipient, recipient_of
from heron_research.records import RECORD_TYPES
from heron_research.visibility import Audience
from heron_research.workbook.files import write_private
from heron_research.workbook.store import Workbook

__all__ = [
    "IDENTITY_SETTING",
    "SharePreview",
    "ShareResult",
    "preview_share",
    "recipient_setting",
    "sequence_setting",
    "share",
]

#: Settings key: the absolute path of the workbook owner's identity file.
IDENTITY_SETTING = "exchange.identity"

_WHO = {
    Audience.PRACTITIONER: "your practitioner",
    Audience.RESEARCH: "the study",
    Audience.CLIENT: "your client",
}
_FREE_TEXT = {
    "kept": "as you wrote it",
    "none": "left out (names never leave)",
    "scrubbed": "scrubbed here first: names, contact details, numbers and dates become tokens",
}


def sequence_setting(audience: Audience | str) -> str:
    """Settings key: the number of the last bundle made for ``audience``."""
    return f"exchange.sequence.{Audience(audience).value}"


def recipient_setting(audience: Audience | str) -> str:
    """Settings key: the age recipient bundles for ``audience`` are encrypted to."""
    return f"exchange.recipient.{Audience(audience).value}"


def _audience(wb: Workbook, audience: Audience | str) -> Audience:
    found = Audience(audience)
    if wb.is_practice:
        if found not in PRACTICE_AUDIENCES:
            raise ShareError(
                f"{wb.path} is a practice workbook: it shares your own entries with your "
                f"client (--to client), not with {found}"
            )
    elif found not in AUDIENCES:
        raise ShareError(
            f"a client's workbook shares with its practitioner or a study, not {found} "
            "(--to client is for a practitioner's practice workbook)"
        )
    return found


@dataclass(frozen=True)
class SharePreview:
    """What a bundle would hold now, and what would stay behind."""

    contents: BundleContents
    sequence: int

    @property
    def counts(self) -> dict[str, int]:
        """How many entries of each kind would go (kinds with none left out)."""
        return {kind: len(found) for kind, found in self.contents.entries.items()}

    def lines(self) -> list[str]:
        """The preview in words, for the CLI and the lab."""
        c = self.contents
        who = _WHO[c.audience]
        out = [f"Bundle {self.sequence} for {who} would hold:"]
        if not c.entries:
            out.append("  nothing (no entry is shared with them under the consent in force)")
        for kind, found in c.entries.items():
            facts = RECORD_TYPES[kind].facts
            out.append(f"  {facts.words(len(found))}")
            out.extend(f"    - {record.describe()}" for record in found)
        out.append(f"Free text: {_FREE_TEXT[c.free_text]}.")
        out.append(f"Consent in force: {c.consent.describe()}")
        if c.withheld:
            kept = ", ".join(RECORD_TYPES[k].facts.words(n) for k, n in c.withheld.items())
            out.append(f"Stays only with you: {kept}.")
        else:
            out.append("Stays only with you: nothing.")
        return out


@dataclass(frozen=True)
class ShareResult:
    """A bundle written."""

    path: Path
    audience: Audience
    sequence: int
    recipient: str
    own_recipient: str
    counts: dict[str, int]
    size: int

    def lines(self) -> list[str]:
        total = sum(self.counts.values())
        who = _WHO[self.audience]
        return [
            f"Wrote bundle {self.sequence} for {who} to {self.path} ({total:,} entries, "
            f"{self.size:,} bytes; only you can read the file).",
            f"It opens with their key ({self.recipient}) and with yours ({self.own_recipient}).",
        ]


def preview_share(
    wb: Workbook, audience: Audience | str, *, free_text: FreeText | None = None
) -> SharePreview:
    """What :func:`share` would put in a bundle now; nothing is written."""
    audience = _audience(wb, audience)
    sequence = int(wb.get_setting(sequence_setting(audience)) or 0) + 1
    return SharePreview(
        build_bundle(wb, audience, sequence=sequence, free_text=free_text), sequence
    )


def _recipient(wb: Workbook, audience: Audience, given: str | None) -> str:
    if given:
        return str(parse_recipient(given))
    known = wb.get_setting(recipient_setting(audience))
    if known:
        return str(parse_recipient(known))
    raise ShareError(
        f"no recipient is known for {_WHO[audience]} yet: give --recipient age1... (the public "
        "key they gave you); it is remembered for next time"
    )


def _identity_path(wb: Workbook, given: str | os.PathLike[str] | None) -> Path:
    if given is not None:
        return Path(given).expanduser().resolve()
    known = wb.get_setting(IDENTITY_SETTING)
    if known:
        return Path(known)
    raise ShareError(
        "your own key is not known yet: give --identity FILE (make one with: heron-research keys "
        "new --out FILE), so you can always open what you sent; it is remembered for next time"
    )


def share(
    wb: Workbook,
    audience: Audience | str,
    out: str | os.PathLike[str],
    *,
    recipient: str | None = None,
    identity: str | os.PathLike[str] | None = None,
    free_text: FreeText | None = None,
    replace: bool = False,
) -> ShareResult:
    """Write a bundle for ``audience`` to ``out`` (owner-only, atomically).

    ``recipient`` and ``identity`` default to the ones this workbook remembers; given, they
    are remembered. Everything that can be refused (a bad recipient, a missing or exposed
    key file, an existing ``out``) is refused before the workbook or the disk is changed.
    """
    audience = _audience(wb, audience)
    out = Path(out)
    to = _recipient(wb, audience, recipient)
    key_path = _identity_path(wb, identity)
    own = load_identity(key_path)
    mine = recipient_of(own)
    if out.exists() and not replace:
        raise ShareError(f"{out} already exists; choose another name (nothing was written)", out)
    if not out.parent.is_dir():
        raise ShareError(f"cannot write {out}: the folder {out.parent} does not exist", out)
    key = sequence_setting(audience)
    with wb.atomic():  # the number, the snapshot and what to remember: together
        sequence = int(wb.get_setting(key) or 0) + 1
        contents = build_bundle(wb, audience, sequence=sequence, free_text=free_text)
        wb.set_setting(key, str(sequence))
        wb.set_setting(recipient_setting(audience), to)
        wb.set_setting(IDENTITY_SETTING, str(key_path))
    sealed = encrypt_bundle(contents.to_bytes(), [parse_recipient(to), own.to_public()])
    try:
        write_private(out, sealed, replace=replace)
    except FileExistsError:
        raise ShareError(
            f"{out} already exists; choose another name (nothing was written)", out
        ) from None
    except OSError as exc:
        raise ShareError(f"cannot write {out}: {exc.strerror or exc}", out) from None
    wb.log_event("shared", f"{audience.value} bundle {sequence}")
    return ShareResult(
        path=out,
        audience=audience,
        sequence=sequence,
        recipient=to,
        own_recipient=mine,
        counts={kind: len(found) for kind, found in contents.entries.items()},
        size=len(sealed),
    )
