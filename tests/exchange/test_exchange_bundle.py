"""The share bundle: what goes in, what never does, and every refusal when opening one."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from exchange_helpers import (
    CANARY_OLD,
    CANARY_PERSON,
    NAMED_IN_TEXT,
    PRACTITIONER_CANARIES,
    SHARED_PERSON,
    Keys,
)
from support import consent_entry, episode_data

from heron_research.errors import (
    BundleDamagedError,
    BundleError,
    BundleKeyError,
    NewerBundleError,
    NotABundleError,
)
from heron_research.exchange.bundle import (
    FORMAT_VERSION,
    LEFT_OUT,
    build_bundle,
    bundle_schema,
    decrypt_bundle,
    encrypt_bundle,
    free_text_fields,
    parse_document,
)
from heron_research.exchange.keys import load_identity
from heron_research.records import (
    AGENDA_ITEM,
    PEER_REVIEW,
    PERSON,
    RECORD_TYPES,
    AgendaItem,
    EmotionEpisode,
    Person,
    Sharing,
    Side,
    validate_record,
)
from heron_research.visibility import Audience
from heron_research.workbook import Workbook

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "schema" / "bundle.schema.json"
AGE = Path("/usr/bin/age")


def _seal(plaintext: bytes, keys: Keys) -> bytes:
    recipients = [
        load_identity(keys.practitioner).to_public(),
        load_identity(keys.client).to_public(),
    ]
    return encrypt_bundle(plaintext, recipients)


def _visible(wb: Workbook, audience: Audience) -> set[tuple[str, str]]:
    return {
        (s.kind, s.id)
        for kind in RECORD_TYPES
        if kind != PERSON
        for s in wb.records(kind, audience=audience)
    }


# --- the format ------------------------------------------------------------------------------


def test_the_committed_schema_is_the_generated_one() -> None:
    assert json.loads(SCHEMA.read_text(encoding="utf-8")) == bundle_schema()


def test_free_text_covers_every_text_column_of_the_research_dataset() -> None:
    from heron_research.research.tables import TABLES, RecordField

    for spec in TABLES:
        if spec.kind is None:
            continue
        tree = free_text_fields(RECORD_TYPES[spec.kind])
        if spec.items is not None:
            tree = tree.get(spec.items, {})
        for col in spec.by_role("text"):
            if isinstance(col.get, RecordField):
                assert tree.get(col.get.name) is True, (spec.name, col.name)
    assert free_text_fields(RECORD_TYPES[PERSON]) == {"alias": True, "notes": True}


# --- what goes to the practitioner -----------------------------------------------------------


def test_a_practitioner_bundle_holds_exactly_the_practitioner_visible_records(
    client_workbook: tuple[Workbook, dict[str, str]],
) -> None:
    wb, ids = client_workbook
    contents = build_bundle(wb, Audience.PRACTITIONER, sequence=1)
    doc = parse_document(contents.to_bytes())
    assert {(r.kind, r.id) for r in doc.records} == _visible(wb, Audience.PRACTITIONER)
    assert {r.id for r in doc.records}.isdisjoint({ids["private"], ids["deleted"]})
    # only the people the records name and the practitioner may see
    assert [p.id for p in doc.people] == [ids["shown_person"]]
    assert doc.relationships == {}
    assert doc.format_version == 2  # format 3 changed research bundles only
    # current versions only, with their revision
    later = next(r for r in doc.records if r.id == ids["later"])
    assert later.revision == 2 and later.data["situation"] == "calmer words"
    for entry in doc.records:
        stored = wb.get_stored(entry.id)
        assert entry.data == stored.record.to_data()
        assert entry.revision == stored.revision
    # what stays behind is counted, never described
    total = wb.counts()
    for kind, n in contents.withheld.items():
        assert n == total[kind] - len(contents.entries.get(kind, ()))
    assert doc.provenance.audience == "practitioner" and doc.provenance.free_text == "kept"
    assert doc.provenance.workbook_id == wb.id
    assert doc.consent.practitioner_sharing is True


def test_canaries_never_leave_in_a_practitioner_bundle(
    client_workbook: tuple[Workbook, dict[str, str]], keys: Keys
) -> None:
    wb, _ = client_workbook
    plaintext = build_bundle(wb, Audience.PRACTITIONER, sequence=1).to_bytes()
    sealed = _seal(plaintext, keys)
    opened = decrypt_bundle(sealed, [load_identity(keys.practitioner)])
    text = opened.model_dump_json().encode()
    for canary in PRACTITIONER_CANARIES:
        for blob in (sealed, plaintext, text):
            assert canary.encode() not in blob, canary
            assert canary.lower().encode() not in blob.lower(), canary
    assert SHARED_PERSON.encode() in plaintext  # the check can see what does go


def test_each_entry_goes_with_the_side_the_workbook_stored(
    client_workbook: tuple[Workbook, dict[str, str]],
) -> None:
    wb, _ = client_workbook
    raised = AgendaItem(item_type="question", text="why?", raised_by="practitioner")
    wb.save(raised, side=Side.PRACTITIONER)
    doc = parse_document(build_bundle(wb, Audience.PRACTITIONER, sequence=1).to_bytes())
    sides = {e.id: e.side for e in (*doc.records, *doc.people)}
    for entry_id, side in sides.items():
        assert wb.get_stored(entry_id).side is side
    assert sides[raised.id] is Side.PRACTITIONER
    assert {e.side for e in doc.records if e.kind == PEER_REVIEW} == {Side.PRACTITIONER}
    assert {e.side for e in doc.records if e.kind == AGENDA_ITEM} == {
        Side.CLIENT,
        Side.PRACTITIONER,
    }


def test_withdrawn_consent_sends_nothing(client_workbook: tuple[Workbook, dict[str, str]]) -> None:
    wb, _ = client_workbook
    wb.save(consent_entry(wb.now(), practitioner_sharing=False, research=False))
    doc = parse_document(build_bundle(wb, Audience.PRACTITIONER, sequence=2).to_bytes())
    assert doc.records == [] and doc.people == []
    assert doc.consent.practitioner_sharing is False


# --- what goes to a study --------------------------------------------------------------------


def test_a_research_bundle_holds_research_entries_without_free_text(
    client_workbook: tuple[Workbook, dict[str, str]],
) -> None:
    wb, ids = client_workbook
    studied = Person(alias="Quillon", relationship="colleague", sharing=Sharing.RESEARCH)
    talk = validate_record(
        EmotionEpisode,
        episode_data(people=[studied.id, ids["hidden_person"]], sharing="research"),
    )
    wb.save_many([studied, talk])
    plaintext = build_bundle(wb, Audience.RESEARCH, sequence=1).to_bytes()
    doc = parse_document(plaintext)
    expected = {
        (k, i) for k, i in _visible(wb, Audience.RESEARCH) if RECORD_TYPES[k].facts.research_table
    }
    assert {(r.kind, r.id) for r in doc.records} == expected
    assert doc.format_version == FORMAT_VERSION == 3
    assert doc.people == []
    # the relationship of each person named whom the study may see, never the name; a person
    # kept private or shared with the practitioner only goes as no id and no relationship
    assert doc.relationships == {studied.id: "colleague"}
    by_id = {r.id: r.data for r in doc.records}
    assert by_id[ids["naming"]]["people"] == [LEFT_OUT] * 3
    assert by_id[talk.id]["people"] == [studied.id, LEFT_OUT]
    for person in ("hidden_person", "shown_person", "named_person"):
        assert ids[person].encode() not in plaintext, person
    assert b"Quillon" not in plaintext
    for entry in doc.records:
        for name, sub in free_text_fields(RECORD_TYPES[entry.kind]).items():
            if sub is True:  # what was written is left out; that something was, is not
                assert entry.data.get(name) in (None, "", LEFT_OUT), (entry.kind, name)
    for word in (*PRACTITIONER_CANARIES, NAMED_IN_TEXT, SHARED_PERSON, "manager moved the"):
        assert word.encode() not in plaintext


def test_a_scrubbed_research_bundle_replaces_names_here(
    client_workbook: tuple[Workbook, dict[str, str]],
) -> None:
    wb, ids = client_workbook
    plaintext = build_bundle(wb, Audience.RESEARCH, sequence=1, free_text="scrubbed").to_bytes()
    doc = parse_document(plaintext)
    naming = next(r for r in doc.records if r.id == ids["naming"])
    assert naming.data["situation"] == "[partner] and [friend] argued at lunch"
    for word in (CANARY_PERSON, NAMED_IN_TEXT, SHARED_PERSON):
        assert word.encode() not in plaintext
    assert doc.provenance.free_text == "scrubbed"


def test_free_text_modes_belong_to_their_audience(
    client_workbook: tuple[Workbook, dict[str, str]],
) -> None:
    wb, _ = client_workbook
    with pytest.raises(ValueError, match="only in research bundles"):
        build_bundle(wb, Audience.PRACTITIONER, sequence=1, free_text="scrubbed")
    with pytest.raises(ValueError, match="'none' or 'scrubbed'"):
        build_bundle(wb, Audience.RESEARCH, sequence=1, free_text="kept")


# --- encrypting and opening ------------------------------------------------------------------


def test_round_trip_opens_with_the_recipient_and_the_client_key(
    client_workbook: tuple[Workbook, dict[str, str]], keys: Keys
) -> None:
    wb, _ = client_workbook
    contents = build_bundle(wb, Audience.PRACTITIONER, sequence=1)
    sealed = _seal(contents.to_bytes(), keys)
    for key in (keys.practitioner, keys.client):
        doc = decrypt_bundle(sealed, [load_identity(key)])
        assert doc.model_dump(mode="json") == json.loads(contents.to_bytes())


@pytest.mark.skipif(not AGE.exists(), reason="Debian's age is not installed (apt-get install age)")
def test_the_stock_age_tool_opens_it_and_the_document_matches_the_schema(
    client_workbook: tuple[Workbook, dict[str, str]], keys: Keys, tmp_path: Path
) -> None:
    import jsonschema

    wb, _ = client_workbook
    for audience in (Audience.PRACTITIONER, Audience.RESEARCH):
        path = tmp_path / f"{audience}.age"
        path.write_bytes(_seal(build_bundle(wb, audience, sequence=1).to_bytes(), keys))
        done = subprocess.run(
            [str(AGE), "-d", "-i", str(keys.practitioner), str(path)],
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        document = json.loads(done.stdout)
        jsonschema.validate(document, json.loads(SCHEMA.read_text(encoding="utf-8")))
        assert document["provenance"]["audience"] == audience.value


def _opened_error(data: bytes, key: Path) -> BundleError:
    with pytest.raises(BundleError) as caught:
        decrypt_bundle(data, [load_identity(key)], source="b.age")
    return caught.value


@pytest.fixture
def sealed(client_workbook: tuple[Workbook, dict[str, str]], keys: Keys) -> bytes:
    wb, _ = client_workbook
    return _seal(build_bundle(wb, Audience.PRACTITIONER, sequence=1).to_bytes(), keys)


def test_refused_with_the_wrong_key(sealed: bytes, keys: Keys) -> None:
    error = _opened_error(sealed, keys.stranger)
    assert isinstance(error, BundleKeyError)
    assert "was not encrypted to your key" in str(error) and "Nothing was changed" in str(error)


def test_refused_when_a_byte_is_changed(sealed: bytes, keys: Keys) -> None:
    damaged = bytearray(sealed)
    damaged[-20] ^= 0x01
    error = _opened_error(bytes(damaged), keys.practitioner)
    assert isinstance(error, BundleDamagedError)
    assert "cut short or changed" in str(error)


def test_refused_when_cut_short(sealed: bytes, keys: Keys) -> None:
    for cut in (len(sealed) - 1, len(sealed) - 17, len(sealed) // 2):
        error = _opened_error(sealed[:cut], keys.practitioner)
        assert isinstance(error, BundleDamagedError | BundleKeyError), cut
        assert "b.age" in str(error)
    assert isinstance(_opened_error(sealed[:-1], keys.practitioner), BundleDamagedError)


def test_refused_when_foreign(keys: Keys) -> None:
    error = _opened_error(b"SQLite format 3\x00 not a bundle", keys.practitioner)
    assert isinstance(error, NotABundleError)
    assert "not an age-encrypted file" in str(error)
    other = _seal(b'{"format": "something-else"}', keys)
    error = _opened_error(other, keys.practitioner)
    assert isinstance(error, NotABundleError)
    assert "an age-encrypted file, but not a heron-research bundle" in str(error)
    assert isinstance(_opened_error(_seal(b"\xff\xfe", keys), keys.practitioner), NotABundleError)


def test_refused_when_from_a_newer_format(
    client_workbook: tuple[Workbook, dict[str, str]], keys: Keys
) -> None:
    wb, _ = client_workbook
    document = build_bundle(wb, Audience.PRACTITIONER, sequence=1).document
    document["format_version"] = FORMAT_VERSION + 1
    error = _opened_error(_seal(json.dumps(document).encode(), keys), keys.practitioner)
    assert isinstance(error, NewerBundleError)
    assert error.found == FORMAT_VERSION + 1
    assert "Upgrade heron-research" in str(error)


def test_refused_when_an_entry_claims_the_wrong_side_or_bad_data(
    client_workbook: tuple[Workbook, dict[str, str]], keys: Keys
) -> None:
    wb, _ = client_workbook
    document = build_bundle(wb, Audience.PRACTITIONER, sequence=1).document
    review = next(r for r in document["records"] if r["kind"] == PEER_REVIEW)
    review["side"] = "client"
    error = _opened_error(_seal(json.dumps(document).encode(), keys), keys.practitioner)
    assert "only the practitioner writes peer reviews" in str(error)
    review["side"] = "practitioner"
    review["data"]["ratings"]["focus"] = 99
    error = _opened_error(_seal(json.dumps(document).encode(), keys), keys.practitioner)
    assert "peer review" in str(error) and "0 to 10" in str(error)


def test_refused_when_an_entry_has_a_time_without_its_offset(
    client_workbook: tuple[Workbook, dict[str, str]], keys: Keys
) -> None:
    """As import refuses it: the same file would mean another moment on another computer."""
    wb, _ = client_workbook
    document = build_bundle(wb, Audience.PRACTITIONER, sequence=1).document
    entry = next(r for r in document["records"] if "occurred_at" in r["data"])
    entry["data"]["occurred_at"] = "2025-03-01T09:00:00"
    error = _opened_error(_seal(json.dumps(document).encode(), keys), keys.practitioner)
    assert "a time needs its offset (Z or +hh:mm)" in str(error)


def test_refused_when_entries_do_not_match_the_fingerprint(
    client_workbook: tuple[Workbook, dict[str, str]], keys: Keys
) -> None:
    wb, _ = client_workbook
    document = build_bundle(wb, Audience.PRACTITIONER, sequence=1).document
    document["records"].pop()
    error = _opened_error(_seal(json.dumps(document).encode(), keys), keys.practitioner)
    assert isinstance(error, BundleDamagedError) and "fingerprint" in str(error)


def test_refused_when_a_research_bundle_names_people_it_should_not(
    client_workbook: tuple[Workbook, dict[str, str]], keys: Keys
) -> None:
    """Relationships of a person no record refers to, a record referring to a person without
    one, people-register entries in a research bundle, relationships in a practitioner's."""
    wb, ids = client_workbook
    studied = Person(alias="Quillon", relationship="colleague", sharing=Sharing.RESEARCH)
    talk = validate_record(
        EmotionEpisode, episode_data(people=[studied.id, ids["hidden_person"]], sharing="research")
    )
    wb.save_many([studied, talk])
    good = build_bundle(wb, Audience.RESEARCH, sequence=1).document
    assert parse_document(json.dumps(good).encode()).relationships == {studied.id: "colleague"}

    def refused(document: dict[str, object]) -> str:
        with pytest.raises(BundleError) as error:
            parse_document(json.dumps(document).encode(), source="r.age")
        return str(error.value)

    extra = {**good, "relationships": {**good["relationships"], ids["hidden_person"]: "partner"}}
    assert f"name person {ids['hidden_person']}, whom no record refers to" in refused(extra)
    records = json.loads(json.dumps(good["records"]))
    next(r for r in records if r["id"] == talk.id)["data"]["people"][1] = ids["hidden_person"]
    assert f"refers to person {ids['hidden_person']}, who has no relationship" in refused(
        {**good, "records": records}
    )
    people = build_bundle(wb, Audience.PRACTITIONER, sequence=1).document
    assert "carries people-register entries" in refused({**good, "people": people["people"]})
    assert "relationships are for research bundles only" in refused(
        {**people, "relationships": {ids["shown_person"]: "friend"}}
    )
    # a format 2 research bundle named every person referred to: still read
    older = {**good, "format_version": 2, "records": records}
    older["relationships"] = {**good["relationships"], ids["hidden_person"]: "partner"}
    assert parse_document(json.dumps(older).encode()).format_version == 2


def test_the_check_before_a_research_bundle_leaves(
    client_workbook: tuple[Workbook, dict[str, str]],
) -> None:
    from heron_research.errors import ShareError
    from heron_research.exchange.bundle import _check_leaving

    _, ids = client_workbook
    records = [{"data": {"people": [ids["hidden_person"], LEFT_OUT]}}]
    visible = {"someone-shared": "friend"}
    _check_leaving([{"data": {"people": [LEFT_OUT]}}], {}, visible)  # passes
    with pytest.raises(ShareError) as hidden:
        _check_leaving(records, {ids["hidden_person"]: "partner"}, visible)
    assert "not shared for research" in str(hidden.value)
    assert "Nothing was written" in str(hidden.value)
    with pytest.raises(ShareError) as unnamed:
        _check_leaving(records, {}, visible)
    assert "has no relationship" in str(unnamed.value)


def test_an_earlier_private_version_is_not_in_the_history_either(
    client_workbook: tuple[Workbook, dict[str, str]],
) -> None:
    wb, ids = client_workbook
    assert CANARY_OLD in json.dumps(wb.history(ids["later"])[0].data)  # it is in the workbook
    plaintext = build_bundle(wb, Audience.PRACTITIONER, sequence=1).to_bytes()
    assert b"revisions" not in plaintext and CANARY_OLD.encode() not in plaintext


def test_age_is_where_ci_installs_it() -> None:
    if shutil.which("age") is None:
        pytest.skip("age is not installed here; .ci/run installs it")
    assert Path(shutil.which("age") or "").exists()
