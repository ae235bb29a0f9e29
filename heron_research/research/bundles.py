"""Research bundles as batch inputs: the study's age keys, and a bundle read like a workbook.

A client shares with a study by ``heron-research share WORKBOOK --to research --recipient
STUDY_RECIPIENT``: an age-encrypted bundle (:mod:`heron_research.exchange.bundle`) holding
the entries shared for research, free text left out or scrubbed and own words scrubbed on
the client's machine, the relationship of each person they refer to whom the client shared
for research (never a name; anyone else is left out) and the consent in force.

:func:`load_identities` reads the study's age identities (``--identity-file``, repeatable,
each file holding one identity or several), refusing a file other users could read, as the
study key is refused. :func:`read_bundle` decrypts a bundle with them, checks it
(:func:`~heron_research.exchange.bundle.decrypt_bundle`: a wrong key, a damaged or
truncated file, a newer format, a document that is not a bundle are each their own error)
and refuses a bundle that is not for research. :class:`BundleReader` then answers the
batch's reads the way :class:`~heron_research.workbook.rows.RowsReader` answers them for
an export: its id and clock, the consent in force, an audience's raw rows, a record's
history. So extraction and the anonymiser run unchanged, and a dataset made from research
bundles equals the one made from the same workbooks.

A bundle made before format 3 named every person its records refer to, whatever their
sharing, and its own words were not scrubbed (the batch has no names to scrub them with):
its people are read as not shared for research (their ids and relationships blank in the
dataset) and each own word as "other", the word the dataset uses for a rare own word.

The identities travel to the Dask workers (they decrypt the bundles); the study key does
not. On a remote cluster, that is one more reason for its workers to be trusted machines.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from heron_research.errors import (
    BundleKeyError,
    BundleWorkbookError,
    KeyFileError,
    RecordNotFoundError,
)
from heron_research.exchange.bundle import (
    RESEARCH_PEOPLE_VERSION,
    BundleDocument,
    BundleRecord,
    decrypt_bundle,
    free_text_fields,
    own_word_fields,
)
from heron_research.exchange.keys import secret_key_lines
from heron_research.records import CONSENT, PERSON, ConsentEntry, Sharing, record_type
from heron_research.records.consent import ConsentState, consent_state
from heron_research.research.gate import GateDecision, bundle_gate
from heron_research.visibility import Audience
from heron_research.workbook.stored import (
    Revision,
    StoredRow,
    audience_levels,
    parse_stamp,
)

if TYPE_CHECKING:
    from pyrage.x25519 import Identity

__all__ = [
    "AGE_MAGIC",
    "BundleReader",
    "StudyIdentities",
    "load_identities",
    "read_bundle",
]

#: The first bytes of an age-encrypted file (binary format), by which an input is a bundle.
AGE_MAGIC = b"age-encryption.org/v1"


class StudyIdentities:
    """The study's age identities, held as text: ``repr`` shows how many and their public
    recipients, never a secret. Pickled (to Dask workers) as the text; parsed once where
    they are used."""

    __slots__ = ("_parsed", "_secrets")

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = tuple(dict.fromkeys(s.strip() for s in secrets))
        self._parsed: list[Identity] | None = None

    def __len__(self) -> int:
        return len(self._secrets)

    def identities(self) -> list[Identity]:
        """The identities, for :func:`~heron_research.exchange.bundle.decrypt_bundle`."""
        if self._parsed is None:
            from pyrage import x25519

            self._parsed = [x25519.Identity.from_str(s) for s in self._secrets]
        return self._parsed

    def recipients(self) -> list[str]:
        """Their public recipients (``age1...``), the keys clients share to."""
        return [str(identity.to_public()) for identity in self.identities()]

    def __repr__(self) -> str:
        shown = ", ".join(r[:16] + "..." for r in self.recipients()) or "none"
        return f"<StudyIdentities {len(self)}: {shown}>"

    def __reduce__(self) -> tuple[object, ...]:
        return (StudyIdentities, (self._secrets,))  # without the parsed keys


def _identity_lines(path: Path) -> list[str]:
    """The ``AGE-SECRET-KEY-1`` lines of a private key file (as :func:`load_study_key`
    refuses a study key file other users could read or change)."""
    found = secret_key_lines(
        path,
        not_a_file="--identity-file names the study's age key",
        must_be_private="the study's age key must be private",
    )
    if not found:
        raise KeyFileError(
            f"{path} is not an age key file: it holds no AGE-SECRET-KEY-1 line (make one with: "
            "heron-research keys new --out FILE)",
            path,
        )
    return found


def load_identities(paths: Iterable[str | os.PathLike[str]]) -> StudyIdentities:
    """The age identities in ``paths`` (each file one identity or several, as
    ``age-keygen`` writes them), every file checked to be private."""
    from pyrage import IdentityError, x25519

    secrets: list[str] = []
    for given in paths:
        path = Path(given)
        for line in _identity_lines(path):
            try:
                x25519.Identity.from_str(line)
            except IdentityError:
                raise KeyFileError(
                    f"{path} holds a damaged age key (it does not decode)", path
                ) from None
            secrets.append(line)
    return StudyIdentities(secrets)


# --- a bundle read like a workbook -----------------------------------------------------------


def _restore_text(data: dict[str, Any], tree: dict[str, Any]) -> None:
    """Put back, empty, the free-text fields a bundle left out, so every record has the
    shape its kind's columns read (a bundle may leave a field out rather than hold
    :data:`~heron_research.exchange.bundle.LEFT_OUT`)."""
    for name, sub in tree.items():
        if sub is True:
            data.setdefault(name, None)
            continue
        value = data.get(name)
        for part in value if isinstance(value, list) else [value]:
            if isinstance(part, dict):
                _restore_text(part, sub)


#: What an own word of a bundle made before format 3 is read as (not scrubbed by the client).
UNSCRUBBED_OWN_WORD = "other"


def _generalise_own_words(data: dict[str, Any], tree: dict[str, Any]) -> None:
    """Read each own word (its part's ``custom`` is true) as :data:`UNSCRUBBED_OWN_WORD`."""
    for name, sub in tree.items():
        value = data.get(name)
        if sub is True:
            if data.get("custom") and isinstance(value, str):
                data[name] = UNSCRUBBED_OWN_WORD
            continue
        parts = list(value) if isinstance(value, list) else [value]
        for i, part in enumerate(parts):
            if isinstance(part, dict):
                parts[i] = part = dict(part)  # the document's own data stays as it was
                _generalise_own_words(part, sub)
        if isinstance(value, list):
            data[name] = parts


def _row(entry: BundleRecord, *, scrubbed: bool = True) -> StoredRow:
    data = dict(entry.data)
    cls = record_type(entry.kind)
    _restore_text(data, free_text_fields(cls))
    if not scrubbed:
        _generalise_own_words(data, own_word_fields(cls))
    return StoredRow(entry.kind, entry.id, entry.revision, entry.updated_at, data)


class BundleReader:
    """A research bundle with the read methods of a Workbook the research batch uses.

    Its records are the current versions the client shared for research; its people
    register is what a research bundle carries of it, the relationship of each person
    shared for research its records refer to (rows of ``{"id", "relationship"}`` shared for
    research, never a name; in a bundle before format 3, private rows: see the module);
    its consent ledger is the one entry in force when the bundle was made. Rows of a kind
    come in the bundle's order, which is the store's (the client's workbook wrote them in
    that order). ``clock`` is the reader's now.
    """

    def __init__(
        self,
        document: BundleDocument,
        *,
        clock: Callable[[], datetime] | None = None,
        source: str = "the bundle",
    ) -> None:
        if document.provenance.audience != Audience.RESEARCH.value:
            raise BundleWorkbookError(
                f"{source} is a bundle for a {document.provenance.audience}, not for research: "
                "only bundles shared with the study (share --to research) enter a dataset",
                source,
            )
        self.document = document
        self._read_clock = clock or (lambda: datetime.now(UTC))
        self._records: dict[str, BundleRecord] = {}
        self._by_kind: dict[str, list[tuple[str, StoredRow]]] = {}
        #: format 3 on: own words scrubbed and people shared for research only
        self._current = document.format_version >= RESEARCH_PEOPLE_VERSION
        for entry in document.records:
            self._records[entry.id] = entry
            row = _row(entry, scrubbed=self._current)
            self._by_kind.setdefault(entry.kind, []).append((entry.sharing.value, row))
        made = document.provenance.created_at
        people = (Sharing.RESEARCH if self._current else Sharing.PRIVATE).value
        self._by_kind[PERSON] = [
            (people, StoredRow(PERSON, pid, 1, made, {"id": pid, "relationship": r}))
            for pid, r in sorted(document.relationships.items())
        ]
        consent = document.consent
        self.consent_entry: ConsentEntry | None = (
            ConsentEntry(
                recorded_at=parse_stamp(consent.recorded_at),
                principles_version=consent.principles_version or "unknown",
                training=consent.training,
                practitioner_sharing=consent.practitioner_sharing,
                research=consent.research,
            )
            if consent.given and consent.recorded_at is not None
            else None
        )

    @property
    def older_format(self) -> bool:
        """Whether the bundle is of a format before 3: made before own words were scrubbed
        and people left out on the client's machine, so its people are read as private
        (blank) and its own words as :data:`UNSCRUBBED_OWN_WORD`."""
        return not self._current

    @property
    def id(self) -> str:
        """The id of the workbook the bundle was made from."""
        return self.document.provenance.workbook_id

    @property
    def created_at(self) -> str:
        """When the client made the bundle (UTC stamp): of two copies, the newer is used."""
        return self.document.provenance.created_at

    def now(self) -> datetime:
        return self._read_clock()

    def gate(self) -> GateDecision:
        """The consent gate on the consent in force when the bundle was made."""
        return bundle_gate(self.consent_entry)

    def consent(self, as_of: datetime | None = None) -> ConsentState:
        """The consent in force when the bundle was made (``as_of`` is not used: the bundle
        holds that one entry, not the ledger)."""
        entries = [self.consent_entry] if self.consent_entry is not None else []
        return consent_state(entries)

    def raw_rows(
        self,
        kinds: Iterable[str],
        audience: Audience | str,
        *,
        consent: ConsentState | None = None,
        include_deleted: bool = False,
    ) -> list[StoredRow]:
        """:meth:`Workbook.raw_rows`: the rows of ``kinds`` ``audience`` may see, by kind
        and then in the bundle's order. A bundle holds no deleted record (and the people
        register's rows are its relationships); consent records are not rows here."""
        levels = {
            level.value
            for level in audience_levels(
                audience,
                consent if consent is not None else self.consent(),
                include_deleted=include_deleted,
            )
        }
        wanted = sorted({kind for kind in kinds if kind != CONSENT})
        for kind in wanted:
            record_type(kind)
        return [
            row
            for kind in wanted
            for sharing, row in self._by_kind.get(kind, ())
            if sharing in levels
        ]

    def history(self, record_id: str) -> list[Revision]:
        """A bundle holds current versions only: a record's one version."""
        entry = self._records.get(record_id)
        if entry is None:
            raise RecordNotFoundError(f"no record with id {record_id} in the bundle")
        row = _row(entry, scrubbed=self._current)
        return [
            Revision(
                entry.id,
                entry.revision,
                entry.kind,
                entry.sharing.value,
                parse_stamp(entry.updated_at),
                False,
                row.data,
            )
        ]


def read_bundle(
    path: Path,
    identities: StudyIdentities,
    *,
    clock: Callable[[], datetime] | None = None,
) -> BundleReader:
    """Decrypt and check the research bundle at ``path``: a :class:`BundleReader`, or the
    exchange's one clear error (see :func:`~heron_research.exchange.bundle.decrypt_bundle`),
    or :class:`~heron_research.errors.BundleWorkbookError` for a bundle not for research."""
    data = path.read_bytes()
    if not len(identities):
        raise BundleKeyError(
            f"{path} is a bundle, but no study key was given: run the batch with "
            "--identity-file STUDY_KEY",
            path,
        )
    document = decrypt_bundle(data, identities.identities(), source=str(path))
    return BundleReader(document, clock=clock, source=str(path))
