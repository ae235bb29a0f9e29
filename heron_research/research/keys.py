"""The study key: the secret that makes pseudonyms stable within a study and unlinkable across.

The researcher keeps a key file (any 16 or more bytes; for example
``head -c 32 /dev/urandom | base64 > study.key && chmod 600 study.key``). It is refused if
other users could read it. The key is never printed, logged or written into a dataset:

* :attr:`StudyKey.fingerprint` names it in the manifest (a short SHA-256 of an HMAC of a
  fixed message, from which the key cannot be recovered);
* :meth:`StudyKey.pseudonymiser` derives a separate key for pseudonyms. Only that derived
  key travels to Dask workers; the study key stays in the process that read the file.

Pseudonyms are HMAC-SHA256 under the derived key, each in its own domain (participant,
record, input), shortened to 16 hex digits (64 bits).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from heron_research.research.errors import StudyKeyError, StudyKeyExposedError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["MIN_KEY_BYTES", "Pseudonymiser", "StudyKey", "load_study_key"]

#: The shortest key accepted, in bytes (after trimming white space at both ends).
MIN_KEY_BYTES = 16
_LABEL = b"heron-research research-dataset v1 "
_PSEUDONYM_LENGTH = 16


def _mac(key: bytes, message: bytes) -> bytes:
    return hmac.digest(key, message, "sha256")


class StudyKey:
    """A study key held in memory. It has no readable form: ``repr`` shows the fingerprint."""

    __slots__ = ("_secret",)

    def __init__(self, secret: bytes) -> None:
        secret = bytes(secret).strip()
        if len(secret) < MIN_KEY_BYTES:
            raise StudyKeyError(
                f"the study key is too short ({len(secret)} bytes; at least {MIN_KEY_BYTES} "
                "are needed). Make one with: head -c 32 /dev/urandom | base64 > study.key"
            )
        self._secret = secret

    @property
    def fingerprint(self) -> str:
        """A short public name for the key: the same key always gives the same fingerprint."""
        inner = _mac(self._secret, _LABEL + b"fingerprint")
        return hashlib.sha256(inner).hexdigest()[:16]

    def pseudonymiser(self) -> Pseudonymiser:
        """The pseudonym maker, holding a key derived from this one: workers get that, never
        the study key."""
        return Pseudonymiser(_mac(self._secret, _LABEL + b"pseudonyms"))

    def redact(self, values: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
        """Text ``values`` with the key (as UTF-8 text) replaced by ``[code]``."""
        import pyarrow.compute as pc

        try:
            text = self._secret.decode("utf-8")
        except UnicodeDecodeError:
            return values  # a binary key cannot be typed into a text field
        return pc.replace_substring(values, pattern=text, replacement="[code]")

    def appears_in(self, data: bytes) -> bool:
        """Whether the key's bytes occur in ``data`` (for checks that it never leaks)."""
        return self._secret in data

    def __repr__(self) -> str:
        return f"<StudyKey fingerprint={self.fingerprint}>"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a StudyKey is not sent anywhere; send StudyKey.pseudonymiser() instead")


@dataclass(frozen=True)
class Pseudonymiser:
    """Keyed pseudonyms: participant ids, record ids and input references."""

    _key: bytes = field(repr=False)

    @cached_property
    def _hmac(self) -> hmac.HMAC:
        # the keyed state, prepared once and copied for each pseudonym (twice as fast)
        return hmac.new(self._key, digestmod=hashlib.sha256)

    def __reduce__(self) -> tuple[object, ...]:
        return (Pseudonymiser, (self._key,))  # without the prepared state

    def _pseudonym(self, domain: bytes, *parts: str) -> str:
        mac = self._hmac.copy()
        mac.update(domain + b"\x00" + b"\x00".join(p.encode("utf-8") for p in parts))
        return mac.hexdigest()[:_PSEUDONYM_LENGTH]

    def participant(self, workbook_id: str) -> str:
        """The participant id for a workbook: stable within a study, unlinkable across."""
        return self._pseudonym(b"participant", workbook_id)

    def record(self, workbook_id: str, record_id: str) -> str:
        """A record (or person) id re-keyed; unique across workbooks."""
        return self._pseudonym(b"record", workbook_id, record_id)

    def input_ref(self, content_digest: str) -> str:
        """A reference to an input file for the manifest, from a digest of its bytes."""
        return self._pseudonym(b"input", content_digest)


def load_study_key(path: str | os.PathLike[str]) -> StudyKey:
    """Read the study key from ``path``, refusing a file other users could read or change."""
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise StudyKeyError(f"{path}: no such key file") from None
    except OSError as exc:
        raise StudyKeyError(f"cannot read the key file {path}: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise StudyKeyError(f"{path} is not a file; --key-file names the study key file")
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise StudyKeyExposedError(
            f"{path} can be read or changed by other users (mode {mode:03o}); the study key "
            f"must be private. Make it so with: chmod 600 {path}"
        )
    try:
        secret = path.read_bytes()
    except OSError as exc:
        raise StudyKeyError(f"cannot read the key file {path}: {exc.strerror}") from None
    return StudyKey(secret)
