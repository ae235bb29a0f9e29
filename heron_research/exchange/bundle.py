"""The share bundle: one audience's view of a workbook as a JSON document, age-encrypted.

Inner document (``format: "heron-research-bundle"``, ``format_version: 3``), described by
the JSON Schema published as ``schema/bundle.schema.json``::

    {
      "format": "heron-research-bundle",
      "format_version": 3,
      "provenance": {"workbook_id": "...", "client_workbook_id": "...",
                     "audience": "practitioner", "sequence": 3,
                     "created_at": "2025-06-01T12:00:00.000000Z", "principles_version": "...",
                     "package_version": "0.1.0", "free_text": "kept",
                     "fingerprint": "<sha-256 of the sorted kind:id:revision lines>"},
      "consent": {...the consent in force when the bundle was made...},
      "records": [{"kind": "emotion_episode", "id": "...", "side": "client",
                   "sharing": "practitioner", "created_at": "...", "updated_at": "...",
                   "revision": 2, "data": {...the record's current fields...}}, ...],
      "people": [...people-register entries the records refer to, same shape...],
      "relationships": {"<person id>": "partner", ...},
      "withheld": [{"kind": "emotion_episode", "occurred_on": "2025-03-01", "count": 2}, ...]
    }

Three audiences: a client's workbook shares with its ``practitioner`` and with a study
(``research``); a practitioner's practice workbook shares back with the ``client`` only the
records the practitioner wrote (``side: "practitioner"``). ``client_workbook_id`` is the
client's workbook the entries belong to (the sender's own id in a client's bundle; the
client workbook a practice workbook is bound to in a practitioner's): ``receive`` refuses a
bundle for another workbook.

``withheld`` (practitioner bundles only) counts, per kind and day, the client's current
entries the bundle leaves out (private, or not shared under the consent in force): counts
only, no content and no ids, so the practitioner's report can say how many were withheld,
as the same report made from the client's workbook does. An undated kind's day is null.
Format 1 (no ``client_workbook_id``, ``withheld`` or ``client`` audience) is still read.
Format 3 changed research bundles only: a bundle for a practitioner or a client is still
written as format 2 (the same bytes as before), so an older heron-research still receives it.

What goes in is decided by :func:`heron_research.visibility.visible_levels` through
:meth:`Workbook.records`: the records the audience may see under the consent in force,
current versions only (no history, so no earlier version that was private then), no
deleted record. ``people`` holds only the register entries those records refer to that
the audience may also see.

A research bundle holds only kinds that enter the research dataset, and no names:

* free text is left out (``free_text: "none"``: a field that holds text holds
  :data:`LEFT_OUT` instead, so that whether something was written, which the dataset
  counts, still goes) or scrubbed here, on the client's machine (``"scrubbed"``);
* own words (a custom emotion, a technique of the client's own: the text of a part with a
  ``custom`` flag, :func:`own_word_fields`) are scrubbed here in both modes, with the same
  scrubber and the client's people register, and go as the dataset compares them (lower
  case), so a name in one ("texting Zebedee") never leaves;
* ``people`` is empty, and ``relationships`` (format 3) gives the relationship of each
  person its records refer to whom the research audience may see under the consent in
  force (shared for research, not deleted): never a name. A reference to anyone else (a
  person kept private or shared with the practitioner only, one since deleted, an id not
  in the register) holds :data:`LEFT_OUT` instead of the person's id, so the dataset still
  counts that someone was involved. :func:`build_bundle` checks this before the bytes
  leave, and opening a bundle refuses relationships of a person no record refers to.

In formats 1 and 2 a research bundle's ``relationships`` named every person referred to,
whatever their sharing, and own words went unscrubbed: the batch reads such a bundle's
people as not shared for research (blank) and its own words as "other"
(:class:`heron_research.research.bundles.BundleReader`).

The document is compact JSON with sorted keys, encrypted with age (X25519) to the
recipient and to the client's own key; the stock ``age -d -i IDENTITY`` opens it.
"""

from __future__ import annotations

import hashlib
import json
import sys
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import NoneType, UnionType
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from heron_research._version import __version__
from heron_research.errors import (
    BundleDamagedError,
    BundleError,
    BundleKeyError,
    NewerBundleError,
    NotABundleError,
    RecordValidationError,
    ShareError,
)
from heron_research.principles import current_principles
from heron_research.records import (
    PERSON,
    RECORD_TYPES,
    RELATIONSHIPS,
    Record,
    Sharing,
    Side,
    record_type,
    validate_record,
)
from heron_research.records.base import LimitsSchema
from heron_research.records.consent import ConsentState
from heron_research.visibility import Audience
from heron_research.workbook.store import StoredRecord, Workbook, stamp
from heron_research.workbook.stored import Stamp

if TYPE_CHECKING:
    from pyrage.x25519 import Identity, Recipient

__all__ = [
    "AUDIENCES",
    "FORMAT",
    "FORMAT_VERSION",
    "LEFT_OUT",
    "BundleContents",
    "BundleDocument",
    "BundleRecord",
    "FreeText",
    "build_bundle",
    "bundle_schema",
    "decrypt_bundle",
    "encrypt_bundle",
    "fingerprint",
    "free_text_fields",
    "own_word_fields",
]

FORMAT = "heron-research-bundle"
FORMAT_VERSION = 3
#: The bundle formats this version opens (1: before practice workbooks; 2: before a research
#: bundle's relationships were only of people shared for research, and its own words scrubbed).
READABLE_VERSIONS = (1, 2, 3)
#: The first format whose research bundles carry only people shared for research (and own
#: words scrubbed); bundles for other audiences are still written as format 2.
RESEARCH_PEOPLE_VERSION = 3
_SHARED_VERSION = 2
#: Who a client's workbook can send a bundle to.
AUDIENCES = (Audience.PRACTITIONER, Audience.RESEARCH)
#: Who a practitioner's practice workbook can send a bundle to.
PRACTICE_AUDIENCES = (Audience.CLIENT,)
#: ``kept``: all text (practitioner); ``none``/``scrubbed``: a research bundle's free text.
FreeText = Literal["kept", "none", "scrubbed"]
#: What a research bundle without free text holds in a field that held text (an empty
#: field stays as it was): the dataset's flags (a dissent recorded) still see it. Also what
#: a research bundle holds instead of the id of a person the study may not see.
LEFT_OUT = "[left out]"

_AGE_HEADERS = (b"age-encryption.org/v1\n", b"-----BEGIN AGE ENCRYPTED FILE-----")


# --- the document --------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Provenance(_Strict):
    """Where the bundle comes from and what it is."""

    workbook_id: str = Field(min_length=1, max_length=64, description="The sender's workbook id")
    client_workbook_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="The client's workbook the entries belong to: the sender's own in a "
        "client's bundle, the one a practice workbook is bound to in a practitioner's "
        "(format 2; absent in format 1: the sender's)",
    )
    audience: Literal["practitioner", "research", "client"] = Field(
        description="Who it was made for (client: a practitioner's bundle for their client)"
    )
    sequence: int = Field(
        ge=1, description="Bundle number for this audience: a later bundle has a larger number"
    )
    created_at: Stamp
    principles_version: str = Field(description="The principles text this heron-research ships")
    package_version: str = Field(description="The heron-research version that made the bundle")
    free_text: FreeText = Field(
        description="kept: every field as written; none: free text left out; scrubbed: free "
        "text with names, contact details, numbers and dates replaced by tokens"
    )
    fingerprint: str = Field(
        pattern=r"^[0-9a-f]{64}$",
        description="SHA-256 of the sorted 'kind:id:revision' lines of records and people",
    )


class ConsentInForce(_Strict):
    """The consent in force when the bundle was made."""

    given: bool = Field(description="Whether any consent is recorded")
    recorded_at: Stamp | None = Field(description="When the entry in force was recorded")
    principles_version: str | None = Field(description="The principles version agreed")
    principles_current: bool = Field(description="Given to the principles text shipped now")
    training: bool
    practitioner_sharing: bool
    research: bool = Field(description="Research use in force (given, current principles)")
    statement: str = Field(description="The sentence reports print about it")
    recorded_local: str | None = Field(
        default=None,
        description="When the entry in force was recorded, in the client's own time (ISO 8601 "
        "with its UTC offset; format 2)",
    )
    research_consented: bool | None = Field(
        default=None,
        description="Whether the entry in force consents to research, whatever its principles "
        "version (format 2)",
    )


class BundleRecord(_Strict):
    """One record as it goes: its current version and what the workbook keeps about it."""

    kind: Literal[tuple(RECORD_TYPES)]  # type: ignore[valid-type]
    id: str = Field(min_length=1, max_length=64)
    side: Side = Field(description="The side that wrote it (only that side edits it)")
    sharing: Sharing
    created_at: Stamp
    updated_at: Stamp
    revision: int = Field(ge=1, description="How many times it was saved (current version)")
    data: dict[str, Any] = Field(
        description="The record's fields, as in the workbook export's schema for the kind; "
        "in a research bundle free text is left out or scrubbed"
    )


class WithheldCount(_Strict):
    """How many of the client's current entries of a kind and day a practitioner bundle
    leaves out: a count only (no content, no ids)."""

    kind: Literal[tuple(RECORD_TYPES)]  # type: ignore[valid-type]
    occurred_on: str | None = Field(
        pattern=r"^\d{4}-\d{2}-\d{2}$", description="Their day (null: an undated kind)"
    )
    count: int = Field(ge=1)


class BundleDocument(_Strict):
    """One audience's view of a heron-research workbook."""

    model_config = ConfigDict(
        extra="forbid",
        title="heron-research share bundle",
        json_schema_extra={"$id": "https://heron-research.example/bundle.schema.json"},
    )
    format: Literal["heron-research-bundle"]
    format_version: Literal[1, 2, 3]
    provenance: Provenance
    consent: ConsentInForce
    records: list[BundleRecord]
    people: list[BundleRecord] = Field(
        description="The people-register entries the records refer to (practitioner bundles)"
    )
    relationships: dict[str, Literal[RELATIONSHIPS]] = Field(  # type: ignore[valid-type]
        description="Research bundles: person id -> relationship, for each person the records "
        "refer to whom the research audience may see (format 3; in formats 1 and 2: every "
        "person referred to, read as not shared for research). A reference to anyone else "
        "holds '[left out]'"
    )
    withheld: list[WithheldCount] = Field(
        default_factory=list,
        description="Practitioner bundles: how many of the client's current entries of each "
        "kind and day stay with the client (counts only, no content, no ids)",
    )

    @property
    def client_workbook_id(self) -> str:
        """The client's workbook the entries belong to."""
        return self.provenance.client_workbook_id or self.provenance.workbook_id


def bundle_schema() -> dict[str, Any]:
    """The JSON Schema of the bundle's inner document (published as bundle.schema.json)."""
    schema = BundleDocument.model_json_schema(mode="validation", schema_generator=LimitsSchema)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


# --- what goes in --------------------------------------------------------------------------


def person_refs(record: Record) -> set[str]:
    """The people-register ids a record refers to (episodes' ``people``, hypotheses'
    ``person_id``; any kind with those fields)."""
    found = set(getattr(record, "people", None) or ())
    person = getattr(record, "person_id", None)
    if person:
        found.add(person)
    return found


TextTree = dict[str, Any]  # field -> True (free text) or the tree of a part (dict or list items)


def _sub_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _sub_model(arg)
        if found is not None:
            return found
    return None


def _is_words(name: str, annotation: Any) -> bool:
    """A plain ``str`` (or ``str | None``) field that is not an id."""
    if typing.get_origin(annotation) in (typing.Union, UnionType):
        args = [a for a in typing.get_args(annotation) if a is not NoneType]
        annotation = args[0] if len(args) == 1 else None
    if annotation is not str:
        return False
    return not (name == "id" or name.endswith("_id"))


def _is_text(name: str, annotation: Any, model: type[BaseModel]) -> bool:
    """Plain ``str`` (or ``str | None``) fields are free text, except ids and vocabulary
    terms (the parts that carry a ``custom`` own-word flag)."""
    return _is_words(name, annotation) and "custom" not in model.model_fields


def _fields(model: type[BaseModel], leaf: Callable[[type[BaseModel], str, Any], bool]) -> TextTree:
    """The fields of ``model`` and its parts for which ``leaf(model, name, annotation)``
    holds, as a tree (a part's name maps to its own tree)."""
    tree: TextTree = {}
    for name, info in model.model_fields.items():
        if leaf(model, name, info.annotation):
            tree[name] = True
            continue
        part = _sub_model(info.annotation)
        if part is not None:
            inner = _fields(part, leaf)
            if inner:
                tree[name] = inner
    return tree


@cache
def free_text_fields(model: type[BaseModel]) -> TextTree:
    """The free-text fields of a record model and its parts, as a tree."""
    return _fields(model, lambda owner, name, annotation: _is_text(name, annotation, owner))


@cache
def own_word_fields(model: type[BaseModel]) -> TextTree:
    """The fields of a record model's parts that may hold the client's own words, as a tree:
    the text of a part that carries a ``custom`` own-word flag (an emotion rating's emotion,
    a self-management entry's technique). They hold an own word when ``custom`` is true."""
    return _fields(
        model,
        lambda owner, name, annotation: (
            "custom" in owner.model_fields and _is_words(name, annotation)
        ),
    )


def _apply_own_words(data: dict[str, Any], tree: TextTree, scrub: Callable[[str], str]) -> None:
    """Scrub each own word (its part's ``custom`` is true) as the dataset compares it."""
    from heron_research.vocab import normalise_term

    for name, sub in tree.items():
        value = data.get(name)
        if sub is True:
            if data.get("custom") and isinstance(value, str):
                data[name] = scrub(normalise_term(value))
            continue
        for part in value if isinstance(value, list) else [value]:
            if isinstance(part, dict):
                _apply_own_words(part, sub, scrub)


def _data_refs(data: Mapping[str, Any]) -> list[str]:
    """The person references in a record's data (as :func:`person_refs` finds them)."""
    found = [p for p in data.get("people") or () if isinstance(p, str)]
    person = data.get("person_id")
    if isinstance(person, str) and person:
        found.append(person)
    return found


def _hide_people(data: dict[str, Any], visible: Mapping[str, str]) -> None:
    """Replace each reference to a person not in ``visible`` by :data:`LEFT_OUT`."""
    if isinstance(data.get("people"), list):
        data["people"] = [p if p in visible else LEFT_OUT for p in data["people"]]
    person = data.get("person_id")
    if person and person not in visible:
        data["person_id"] = LEFT_OUT


def _research_people_problem(
    records: Iterable[Mapping[str, Any]], relationships: Mapping[str, str], *, every: bool = True
) -> str | None:
    """What is wrong with a research bundle's people, or None: a relationship of a person no
    record refers to, or (``every``: format 3) a record referring to a person without one
    (instead of :data:`LEFT_OUT`)."""
    referred: set[str] = set()
    for data in records:
        for person in _data_refs(data):
            if every and person != LEFT_OUT and person not in relationships:
                return f"a record refers to person {person}, who has no relationship in it"
            referred.add(person)
    extra = sorted(set(relationships) - referred)
    if extra:
        return f"its relationships name person {extra[0]}, whom no record refers to"
    return None


def _apply_text(data: dict[str, Any], tree: TextTree, scrub: Callable[[str], str] | None) -> None:
    for name, sub in tree.items():
        if name not in data:
            continue
        if sub is True:
            if scrub is None:
                if data[name]:
                    data[name] = LEFT_OUT
            elif isinstance(data[name], str):
                data[name] = scrub(data[name])
            continue
        value = data[name]
        for part in value if isinstance(value, list) else [value]:
            if isinstance(part, dict):
                _apply_text(part, sub, scrub)


def _names(wb: Workbook) -> list[tuple[str, str]]:
    """Every name the client has used for someone (earlier aliases too) and each
    co-counselling peer, with what to write instead: the research scrubber's register."""
    from heron_research.records import CO_COUNSELLING_SESSION

    names: list[tuple[str, str]] = []
    for stored in wb.records(PERSON, include_deleted=True):
        aliases = {str(getattr(stored.record, "alias", ""))}
        if stored.revision > 1:
            aliases |= {str(v.data.get("alias", "")) for v in wb.history(stored.id)}
        relationship = str(getattr(stored.record, "relationship", "person"))
        names.extend((alias, relationship) for alias in sorted(aliases) if alias)
    for stored in wb.records(CO_COUNSELLING_SESSION, include_deleted=True):
        names.append((str(getattr(stored.record, "peer_alias", "")), "peer"))
    return names


def fingerprint(entries: Iterable[Mapping[str, Any]]) -> str:
    """SHA-256 over the sorted ``kind:id:revision`` lines of ``entries``."""
    lines = sorted(f"{e['kind']}:{e['id']}:{e['revision']}" for e in entries)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def _entry(stored: StoredRecord, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": stored.kind,
        "id": stored.id,
        "side": stored.side.value,
        "sharing": stored.sharing.value,
        "created_at": stamp(stored.created_at),
        "updated_at": stamp(stored.updated_at),
        "revision": stored.revision,
        "data": data,
    }


def _consent(state: ConsentState) -> dict[str, Any]:
    entry = state.entry
    return {
        "given": state.given,
        "recorded_at": stamp(entry.recorded_at) if entry is not None else None,
        "principles_version": entry.principles_version if entry is not None else None,
        "principles_current": state.principles_current,
        "training": state.training,
        "practitioner_sharing": state.practitioner_sharing,
        "research": state.research,
        "statement": state.describe(),
        "recorded_local": entry.recorded_at.isoformat() if entry is not None else None,
        "research_consented": entry.research if entry is not None else None,
    }


@dataclass(frozen=True)
class BundleContents:
    """A bundle before it is encrypted: the document, and what it holds and leaves out."""

    document: dict[str, Any]
    #: the records and people that go, by kind (for the preview's one-line descriptions)
    entries: dict[str, list[Record]]
    #: how many current entries of each kind stay behind (counts only)
    withheld: dict[str, int]
    consent: ConsentState
    audience: Audience
    free_text: FreeText

    def to_bytes(self) -> bytes:
        """The document as the compact, deterministic JSON that is encrypted."""
        text = json.dumps(self.document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return (text + "\n").encode("utf-8")


def build_bundle(
    wb: Workbook,
    audience: Audience | str,
    *,
    sequence: int,
    free_text: FreeText | None = None,
) -> BundleContents:
    """What a bundle for ``audience`` holds now (read in one snapshot of the workbook)."""
    audience = Audience(audience)
    allowed = PRACTICE_AUDIENCES if wb.is_practice else AUDIENCES
    if audience not in allowed:
        raise ValueError(f"bundles from here go to {' or '.join(allowed)}, not {audience}")
    research = audience is Audience.RESEARCH
    mode: FreeText = free_text or ("none" if research else "kept")
    if research and mode == "kept":
        raise ValueError("a research bundle's free text is 'none' or 'scrubbed'")
    if not research and mode != "kept":
        raise ValueError("free text is removed or scrubbed only in research bundles")
    with wb.atomic(write=False):
        return _build(wb, audience, sequence, mode)


def _build(wb: Workbook, audience: Audience, sequence: int, mode: FreeText) -> BundleContents:
    research = audience is Audience.RESEARCH
    state = wb.consent()
    back = audience is Audience.CLIENT  # a practitioner's bundle: their own records only
    scrubber: Callable[[str], str] | None = None

    def scrub(text: str) -> str:
        """The research scrubber with the client's register (made when first needed)."""
        nonlocal scrubber
        if scrubber is None:
            from heron_research.research.anonymise import Scrubber

            scrubber = Scrubber(_names(wb))  # type: ignore[assignment]
        return scrubber(text)  # type: ignore[misc]

    # the people the research audience may see, by the rule the batch reads a workbook with
    visible: dict[str, str] = {}
    if research:
        visible = {
            row.id: str(row.data.get("relationship", "other"))
            for row in wb.raw_rows([PERSON], Audience.RESEARCH, consent=state)
        }
    totals = wb.counts()
    entries: dict[str, list[Record]] = {}
    records: list[dict[str, Any]] = []
    refs: set[str] = set()
    for kind, cls in RECORD_TYPES.items():
        if kind == PERSON or (research and cls.facts.research_table is None):
            continue
        found = wb.records(kind, audience=audience)
        if back:
            found = [s for s in found if s.side is Side.PRACTITIONER]
        if not found:
            continue
        entries[kind] = [s.record for s in found]
        tree = free_text_fields(cls) if research else {}
        own = own_word_fields(cls) if research else {}
        for stored in found:
            data = stored.record.to_data()
            if research:
                _apply_text(data, tree, scrub if mode == "scrubbed" else None)
                _apply_own_words(data, own, scrub)
                _hide_people(data, visible)
            records.append(_entry(stored, data))
            refs |= person_refs(stored.record)
    people: list[dict[str, Any]] = []
    relationships: dict[str, str] = {}
    if research:
        # relationships only of the people the study may see; anyone else is left out
        relationships = {pid: visible[pid] for pid in sorted(refs) if pid in visible}
        _check_leaving(records, relationships, visible)
    elif not back:
        shared_people = [s for s in wb.records(PERSON, audience=audience) if s.id in refs]
        people = [_entry(s, s.record.to_data()) for s in shared_people]
        if shared_people:
            entries[PERSON] = [s.record for s in shared_people]
    withheld = {kind: totals[kind] - len(entries.get(kind, ())) for kind in RECORD_TYPES}
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION if research else _SHARED_VERSION,
        "provenance": {
            "workbook_id": wb.id,
            "client_workbook_id": wb.client_workbook_id,
            "audience": audience.value,
            "sequence": sequence,
            "created_at": stamp(wb.now()),
            "principles_version": current_principles().version,
            "package_version": __version__,
            "free_text": mode,
            "fingerprint": fingerprint([*records, *people]),
        },
        "consent": _consent(state),
        "records": records,
        "people": people,
        "relationships": relationships,
        "withheld": [
            {"kind": w.kind, "occurred_on": w.occurred_on, "count": w.count}
            for w in wb.withheld_rows(audience, consent=state)
        ]
        if audience is Audience.PRACTITIONER
        else [],
    }
    return BundleContents(
        document=document,
        entries=entries,
        withheld={k: n for k, n in withheld.items() if n},
        consent=state,
        audience=audience,
        free_text=mode,
    )


def _check_leaving(
    records: list[dict[str, Any]], relationships: Mapping[str, str], visible: Mapping[str, str]
) -> None:
    """Before a research bundle's bytes leave: it names only people the study may see (each
    referred to by a record), and a reference to anyone else holds :data:`LEFT_OUT`."""
    problem = _research_people_problem((r["data"] for r in records), relationships)
    hidden = sorted(set(relationships) - set(visible))
    if hidden:
        problem = f"its relationships name person {hidden[0]}, who is not shared for research"
    if problem is not None:
        raise ShareError(f"the research bundle was not made: {problem}. Nothing was written.")


# --- encrypting and opening ----------------------------------------------------------------


def encrypt_bundle(plaintext: bytes, recipients: Iterable[Recipient]) -> bytes:
    """``plaintext`` age-encrypted to every recipient (binary age format)."""
    import pyrage

    found = list(recipients)
    if not found:
        raise ValueError("a bundle needs at least one recipient")
    return pyrage.encrypt(plaintext, found)


def decrypt_bundle(
    data: bytes, identities: Iterable[Identity], *, source: str = "the bundle"
) -> BundleDocument:
    """Decrypt and check a bundle: the validated document, or one clear :class:`BundleError`.

    Refused: a file that is not age-encrypted, or holds no bundle (:class:`NotABundleError`);
    one none of ``identities`` opens (:class:`BundleKeyError`); one cut short or changed
    (:class:`BundleDamagedError`); one from a newer format (:class:`NewerBundleError`); one
    whose document does not match the format (:class:`BundleError`).
    """
    import pyrage

    keys = list(identities)
    if not data.lstrip().startswith(_AGE_HEADERS):
        raise NotABundleError(
            f"{source} is not a heron-research bundle (it is not an age-encrypted file)"
        )
    try:
        plaintext = pyrage.decrypt(data, keys)
    except pyrage.DecryptError as exc:
        if "no matching keys" in str(exc).lower():
            mine = ", ".join(str(k.to_public())[:16] + "..." for k in keys) or "none"
            raise BundleKeyError(
                f"{source} was not encrypted to your key ({mine}), or its header was damaged: "
                "ask the sender to share it to your recipient. Nothing was changed."
            ) from None
        raise BundleDamagedError(
            f"{source} is damaged: it was cut short or changed after it was written "
            f"(age: {exc}). Ask for it again; nothing was changed."
        ) from None
    return parse_document(plaintext, source=source)


def parse_document(plaintext: bytes, *, source: str = "the bundle") -> BundleDocument:
    """Validate a decrypted bundle document (see :func:`decrypt_bundle` for the refusals)."""
    try:
        raw = json.loads(plaintext.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise NotABundleError(
            f"{source} is an age-encrypted file, but not a heron-research bundle"
        ) from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise NotABundleError(f"{source} is an age-encrypted file, but not a heron-research bundle")
    version = raw.get("format_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        raise NewerBundleError(None if source == "the bundle" else source, version, FORMAT_VERSION)
    try:
        doc = BundleDocument.model_validate(raw)
    except ValidationError as exc:
        lines = [
            f"{'.'.join(str(p) for p in err['loc']) or 'document'}: {err['msg']}"
            for err in exc.errors(include_url=False)[:3]
        ]
        more = exc.error_count() - len(lines)
        raise BundleError(
            f"{source} does not match the bundle format: {'; '.join(lines)}"
            + (f" (and {more} more problems)" if more > 0 else "")
        ) from None
    _check_entries(doc, source)
    return doc


def _check_entries(doc: BundleDocument, source: str) -> None:
    """Each entry's own checks: its kind's writing side, its data (whole bundles), people."""
    whole = doc.provenance.free_text == "kept"
    # a practitioner's bundle: receive refuses a record of a kind they do not write by itself
    back = doc.provenance.audience == Audience.CLIENT.value
    if doc.format_version < 2 and (back or doc.withheld or doc.provenance.client_workbook_id):
        raise BundleError(f"{source} does not match the bundle format: format 1 has no such part")
    research = doc.provenance.audience == Audience.RESEARCH.value
    if research:
        problem = "it carries people-register entries" if doc.people else None
        problem = problem or _research_people_problem(
            (e.data for e in doc.records),
            doc.relationships,
            every=doc.format_version >= RESEARCH_PEOPLE_VERSION,
        )
    else:
        problem = "relationships are for research bundles only" if doc.relationships else None
    if problem is not None:
        raise BundleError(f"{source} does not match the bundle format: {problem}")
    seen: set[str] = set()
    for where, entries in (("records", doc.records), ("people", doc.people)):
        for entry in entries:
            known = RECORD_TYPES.get(entry.kind)
            name = f"{source}: {known.facts.label if known else entry.kind} {entry.id}"
            if entry.id in seen:
                raise BundleError(f"{name} is listed twice")
            seen.add(entry.id)
            if (where == "people") != (entry.kind == PERSON):
                raise BundleError(f"{name} is in the wrong list ({where})")
            cls = record_type(entry.kind)
            if not back and not cls.facts.written_by(entry.side):
                raise BundleError(
                    f"{name} says the {entry.side} wrote it; only the "
                    f"{' or '.join(sorted(cls.facts.writers))} writes {cls.facts.plural}"
                )
            if whole:
                try:
                    record = validate_record(cls, entry.data, document=True)
                except RecordValidationError as exc:
                    raise BundleError(f"{name}: {exc}") from None
                if record.id != entry.id or record.sharing is not entry.sharing:
                    raise BundleError(f"{name} has a different id or sharing in its data")
    if (
        fingerprint(e.model_dump() for e in (*doc.records, *doc.people))
        != doc.provenance.fingerprint
    ):
        raise BundleDamagedError(
            f"{source}: its fingerprint does not match its entries; it was changed after it was "
            "made. Ask for it again; nothing was changed."
        )


def _main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "--write-schema":
        Path(argv[1]).write_text(
            json.dumps(bundle_schema(), indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        return 0
    print("usage: python -m heron_research.exchange.bundle --write-schema PATH", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
