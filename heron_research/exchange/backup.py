"""A person's own encrypted backup: the portable export, encrypted with a passphrase (age).

Passphrase encryption is for one's own backup only, never for bundles between people: age
allows a passphrase (scrypt) recipient only alone, and its work factor is tuned to the
computer that encrypts, so a bundle for someone else is encrypted to their X25519 key
(:mod:`heron_research.exchange.bundle`). The stock ``age -d`` opens a backup with the
same passphrase.
"""

from __future__ import annotations

import os
from pathlib import Path

from heron_research.errors import BackupPassphraseError, ExportFormatError
from heron_research.workbook.files import write_private
from heron_research.workbook.portable import export_json, import_text
from heron_research.workbook.store import Workbook

__all__ = ["AGE_MAGIC", "import_backup", "is_encrypted", "read_backup", "write_backup"]

#: the first bytes of every age file
AGE_MAGIC = b"age-encryption.org/v1"
#: the shortest passphrase accepted for a backup (age's own keygen suggests long ones)
MIN_PASSPHRASE = 8


def is_encrypted(data: bytes) -> bool:
    """Whether ``data`` is an age-encrypted file."""
    return data.startswith(AGE_MAGIC)


def _checked(passphrase: str) -> str:
    if len(passphrase) < MIN_PASSPHRASE:
        raise BackupPassphraseError(
            f"the passphrase is too short ({len(passphrase)} characters); use at least "
            f"{MIN_PASSPHRASE}, and keep it somewhere safe: without it the backup cannot be "
            "opened"
        )
    return passphrase


def write_backup(wb: Workbook, path: str | os.PathLike[str], passphrase: str) -> Path:
    """Write the whole workbook's export to ``path``, encrypted with ``passphrase``
    (owner-only, in one step: a failure leaves any earlier file whole)."""
    from pyrage import passphrase as age_passphrase

    sealed = age_passphrase.encrypt(export_json(wb).encode("utf-8"), _checked(passphrase))
    return write_private(path, sealed)


def read_backup(data: bytes, passphrase: str, *, source: str = "the backup") -> str:
    """The export text inside an encrypted backup; a wrong passphrase or a damaged file is
    one clear error."""
    from pyrage import DecryptError
    from pyrage import passphrase as age_passphrase

    try:
        plain = age_passphrase.decrypt(data, passphrase)
    except DecryptError as exc:
        # age checks the header (the passphrase) first, then the body's chunks
        if str(exc).strip().lower() == "decryption failed":
            raise BackupPassphraseError(
                f"{source}: that passphrase does not open this backup (or its header was "
                "damaged); nothing was changed"
            ) from None
        raise ExportFormatError(
            f"{source}: the encrypted backup is damaged or cut short; nothing was changed"
        ) from None
    try:
        return plain.decode("utf-8")
    except UnicodeDecodeError:
        raise ExportFormatError(f"{source}: the backup holds no heron-research export") from None


def import_backup(
    source: str | os.PathLike[str], dest: str | os.PathLike[str], passphrase: str
) -> Workbook:
    """Make a new workbook at ``dest`` from an encrypted backup (as ``import_json``)."""
    source = Path(source)
    text = read_backup(source.read_bytes(), passphrase, source=str(source))
    return import_text(text, dest, source=str(source))
