"""Age X25519 keys: make an identity, read one, read a recipient.

An *identity* (``AGE-SECRET-KEY-1...``) opens bundles sent to it; its *recipient*
(``age1...``) is the public half a person gives to those who send them bundles. The
identity file has the layout of ``age-keygen`` (two comment lines, then the key), so the
stock ``age -d -i FILE`` reads it too. It is written owner-only and never overwritten, and
is refused when other users could read it.

pyrage is imported where it is used, so importing this module stays light.
"""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from heron_research.errors import (
    KeyFileError,
    KeyFileExistsError,
    KeyFileExposedError,
    RecipientError,
)
from heron_research.workbook.files import write_private

if TYPE_CHECKING:
    from pyrage.x25519 import Identity, Recipient

__all__ = [
    "load_identity",
    "new_identity",
    "parse_recipient",
    "recipient_of",
    "secret_key_lines",
]

_SECRET_PREFIX = "AGE-SECRET-KEY-1"
_RECIPIENT_PREFIX = "age1"


def new_identity(path: str | os.PathLike[str]) -> str:
    """Make a new identity at ``path`` (owner-only, never over an existing file); its
    public recipient (``age1...``)."""
    from pyrage import x25519

    path = Path(path)
    identity = x25519.Identity.generate()
    public = str(identity.to_public())
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = f"# created: {created}\n# public key: {public}\n{identity}\n"
    if not path.parent.is_dir():
        raise KeyFileError(f"cannot write {path}: the folder {path.parent} does not exist", path)
    try:
        write_private(path, text.encode("ascii"), replace=False)
    except FileExistsError:
        raise KeyFileExistsError(
            f"{path} already exists; a key file is never overwritten (choose another name)",
            path,
        ) from None
    except OSError as exc:
        raise KeyFileError(f"cannot write {path}: {exc.strerror or exc}", path) from None
    return public


def secret_key_lines(path: Path, *, not_a_file: str, must_be_private: str) -> list[str]:
    """The ``AGE-SECRET-KEY-1`` lines of the key file ``path`` (perhaps none), refusing a
    file that is missing, not a regular file, not plain text, or that other users could read
    or change. ``not_a_file`` and ``must_be_private`` finish the refusals' sentences (what
    the key is for, the option that names it)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise KeyFileError(f"{path}: no such key file", path) from None
    except OSError as exc:
        raise KeyFileError(f"cannot read the key file {path}: {exc.strerror}", path) from None
    if not stat.S_ISREG(info.st_mode):
        raise KeyFileError(f"{path} is not a file; {not_a_file}", path)
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise KeyFileExposedError(
            f"{path} can be read or changed by other users (mode {mode:03o}); "
            f"{must_be_private}. Make it so with: chmod 600 {path}",
            path,
        )
    try:
        text = path.read_text(encoding="ascii")
    except UnicodeDecodeError:
        raise KeyFileError(f"{path} is not an age key file (it is not plain text)", path) from None
    except OSError as exc:
        raise KeyFileError(f"cannot read the key file {path}: {exc.strerror}", path) from None
    return [line.strip() for line in text.splitlines() if line.strip().startswith(_SECRET_PREFIX)]


def load_identity(path: str | os.PathLike[str]) -> Identity:
    """Read the identity in ``path``, refusing a file that other users could read or change."""
    from pyrage import IdentityError, x25519

    path = Path(path)
    keys = secret_key_lines(
        path,
        not_a_file="--identity names your key file",
        must_be_private="a key file must be private",
    )
    if len(keys) != 1:
        found = "no" if not keys else f"{len(keys)}"
        raise KeyFileError(
            f"{path} is not an age key file: it holds {found} AGE-SECRET-KEY-1 lines "
            "(make one with: heron-research keys new --out FILE)",
            path,
        )
    try:
        return x25519.Identity.from_str(keys[0])
    except IdentityError:
        raise KeyFileError(f"{path} holds a damaged age key (it does not decode)", path) from None


def parse_recipient(text: str) -> Recipient:
    """The age recipient written as ``text`` (``age1`` and 58 more letters and digits)."""
    from pyrage import RecipientError as AgeRecipientError
    from pyrage import x25519

    value = text.strip()
    shown = value if len(value) <= 20 else value[:17] + "..."
    if not value.startswith(_RECIPIENT_PREFIX):
        raise RecipientError(
            f"{shown!r} is not an age recipient: a recipient starts with 'age1' (the public "
            "key printed by heron-research keys new)"
        )
    try:
        return x25519.Recipient.from_str(value)
    except AgeRecipientError:
        raise RecipientError(
            f"{shown!r} is not a valid age recipient (it does not decode; check it was "
            "copied whole, 62 characters)"
        ) from None


def recipient_of(identity: Identity) -> str:
    """The public recipient (``age1...``) of an identity."""
    return str(identity.to_public())
