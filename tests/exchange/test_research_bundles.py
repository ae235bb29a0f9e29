"""What a research bundle carries so that a dataset made from it equals one made from the
workbook, and no name leaves: that a free-text field was filled (never its words), own words
scrubbed with the client's register, and the relationship of each person its entries name
whom the study may see (a person kept private, shared with the practitioner only or since
deleted goes as no id and no relationship). An older bundle's people and own words are read
as not shared.

The dataset side (the batch of bundles against the batch of workbooks, file by file) is in
``tests/research/test_bundles.py``.
"""

from __future__ import annotations

import json
from datetime import date

import pytest
from support import episode_data

from heron_research.exchange.bundle import (
    LEFT_OUT,
    build_bundle,
    own_word_fields,
    parse_document,
)
from heron_research.records import (
    EMOTION_EPISODE,
    PERSON,
    RECORD_TYPES,
    EmotionEpisode,
    PeerReview,
    Person,
    ProjectionHypothesis,
    validate_record,
)
from heron_research.visibility import Audience
from heron_research.workbook import Workbook


def _review(dissent: str) -> PeerReview:
    return PeerReview(
        sharing="research",
        held_on=date(2025, 3, 20),
        period_start=date(2025, 3, 1),
        period_end=date(2025, 3, 19),
        ratings={"focus": 7},
        agreed_outcome="continue",
        dissent=dissent,
    )


def test_a_filled_free_text_field_goes_as_left_out_and_an_empty_one_as_it_was(
    client_workbook: tuple[Workbook, dict[str, str]],
) -> None:
    wb, _ = client_workbook
    with_dissent, without = _review("I would rather pause"), _review("")
    wb.save_many([with_dissent, without])
    plaintext = build_bundle(wb, Audience.RESEARCH, sequence=1).to_bytes()
    doc = parse_document(plaintext)
    by_id = {r.id: r.data for r in doc.records}
    assert by_id[with_dissent.id]["dissent"] == LEFT_OUT
    assert by_id[without.id]["dissent"] == ""
    assert b"rather pause" not in plaintext
    scrubbed = parse_document(
        build_bundle(wb, Audience.RESEARCH, sequence=2, free_text="scrubbed").to_bytes()
    )
    assert {r.id: r.data for r in scrubbed.records}[with_dissent.id]["dissent"] == (
        "I would rather pause"
    )


def test_only_people_shared_for_research_go_and_not_once_deleted(
    client_workbook: tuple[Workbook, dict[str, str]],
) -> None:
    wb, _ = client_workbook
    shared = Person(alias="Perpetua", relationship="sibling", sharing="research")
    gone = Person(alias="Cuthbert", relationship="friend", sharing="research")
    kept = Person(alias="Hortensia", relationship="partner")  # private
    episode = validate_record(
        EmotionEpisode,
        episode_data(people=[shared.id, gone.id, kept.id], sharing="research", situation="a row"),
    )
    about = ProjectionHypothesis(
        sharing="research",
        opened_on=date(2025, 3, 6),
        person_id=kept.id,
        reaction="a flare",
        echoes="an old story",
        unprocessed_emotion="grief",
    )
    wb.save_many([shared, gone, kept, episode, about])
    wb.delete(gone.id)
    plaintext = build_bundle(wb, Audience.RESEARCH, sequence=1).to_bytes()
    doc = parse_document(plaintext)
    assert doc.relationships == {shared.id: "sibling"}
    by_id = {r.id: r.data for r in doc.records}
    assert by_id[episode.id]["people"] == [shared.id, LEFT_OUT, LEFT_OUT]
    assert by_id[about.id]["person_id"] == LEFT_OUT
    for word in ("Perpetua", "Cuthbert", "Hortensia", gone.id, kept.id):
        assert word.encode() not in plaintext, word
    # the workbook keeps what the client wrote
    assert wb.get_stored(episode.id).record.people == [shared.id, gone.id, kept.id]


@pytest.mark.parametrize("free_text", ["none", "scrubbed"])
def test_own_words_are_scrubbed_here_with_the_register_in_both_modes(
    client_workbook: tuple[Workbook, dict[str, str]], free_text: str
) -> None:
    wb, _ = client_workbook
    zebedee = Person(alias="Zebedee", relationship="friend")  # private: the name never goes
    episode = validate_record(
        EmotionEpisode,
        episode_data(
            sharing="research",
            people=[],
            emotions=[
                {"emotion": "Zebedee blues", "intensity": 4},
                {"emotion": "joy", "intensity": 2},
            ],
            self_management=[
                {"technique": "texting Zebedee", "skill": "expression", "intensity_after": 2},
                {"technique": "slow breathing", "intensity_after": 3},
            ],
        ),
    )
    wb.save_many([zebedee, episode])
    plaintext = build_bundle(wb, Audience.RESEARCH, sequence=1, free_text=free_text).to_bytes()
    assert b"zebedee" not in plaintext.lower()
    data = {r.id: r.data for r in parse_document(plaintext).records}[episode.id]
    assert [(e["emotion"], e["custom"]) for e in data["emotions"]] == [
        ("[friend] blues", True),
        ("joy", False),
    ]
    assert [(t["technique"], t["custom"]) for t in data["self_management"]] == [
        ("texting [friend]", True),
        ("slow breathing", False),
    ]
    # the record in the workbook stays as written
    stored = wb.get_stored(episode.id).record
    assert stored.self_management[0].technique == "texting Zebedee"
    assert stored.emotions[0].emotion == "Zebedee blues"


def test_own_word_fields_are_the_term_columns_of_the_dataset() -> None:
    from heron_research.research.tables import TABLES

    found = set()
    for spec in TABLES:
        for col in spec.by_role("term"):
            tree = own_word_fields(RECORD_TYPES[spec.kind])
            assert spec.items is not None and tree[spec.items][col.name] is True, spec.name
            found.add((spec.kind, spec.items, col.name))
    every = {
        (kind, part, name)
        for kind, cls in RECORD_TYPES.items()
        for part, sub in own_word_fields(cls).items()
        for name in sub
    }
    assert found == every and len(every) == 2


def test_an_older_bundle_s_people_and_own_words_are_read_as_not_shared(
    client_workbook: tuple[Workbook, dict[str, str]],
) -> None:
    """Formats 1 and 2 named every person referred to and carried own words unscrubbed:
    their people are not visible to research, and each own word is read as "other"."""
    from heron_research.research.bundles import BundleReader
    from heron_research.workbook.stored import audience_levels

    wb, _ = client_workbook
    shared = Person(alias="Perpetua", relationship="sibling", sharing="research")
    episode = validate_record(
        EmotionEpisode,
        episode_data(
            sharing="research",
            people=[shared.id],
            self_management=[
                {"technique": "texting Perpetua", "skill": "expression", "intensity_after": 2},
                {"technique": "slow breathing", "intensity_after": 3},
            ],
        ),
    )
    wb.save_many([shared, episode])
    document = build_bundle(wb, Audience.RESEARCH, sequence=1).document
    current = BundleReader(parse_document(json.dumps(document).encode()))
    old = json.loads(json.dumps(document))
    old["format_version"] = 2
    raw = next(r for r in old["records"] if r["id"] == episode.id)["data"]
    raw["self_management"][0]["technique"] = "texting Perpetua"  # as format 2 carried it
    older = BundleReader(parse_document(json.dumps(old).encode()))
    consent = current.consent()
    assert audience_levels(Audience.RESEARCH, consent)  # research consent is in force

    def read(reader: BundleReader) -> tuple[list[str], list[str]]:
        people = [r.id for r in reader.raw_rows([PERSON], Audience.RESEARCH, consent=consent)]
        row = next(
            r for r in reader.raw_rows([EMOTION_EPISODE], Audience.RESEARCH) if r.id == episode.id
        )
        return people, [t["technique"] for t in row.data["self_management"]]

    assert read(current) == ([shared.id], ["texting [sibling]", "slow breathing"])
    assert read(older) == ([], ["other", "slow breathing"])
    assert older.history(episode.id)[0].data["self_management"][0]["technique"] == "other"
    # the document itself is not changed by reading it
    assert "texting Perpetua" in json.dumps([r.data for r in older.document.records])
