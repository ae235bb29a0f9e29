"""What a research bundle carries so that a dataset made from it equals one made from the
workbook: that a free-text field was filled (never its words), and the relationship of every
person its entries name, also of one since deleted from the register.

The dataset side (the batch of bundles against the batch of workbooks, file by file) is in
``tests/research/test_bundles.py``.
"""

from __future__ import annotations

from datetime import date

from support import episode_data

from heron_research.exchange.bundle import LEFT_OUT, build_bundle, parse_document
from heron_research.records import EmotionEpisode, PeerReview, Person, validate_record
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


def test_the_relationship_of_a_person_since_deleted_still_goes(
    client_workbook: tuple[Workbook, dict[str, str]],
) -> None:
    wb, _ = client_workbook
    gone = Person(alias="Perpetua", relationship="sibling")
    episode = validate_record(
        EmotionEpisode, episode_data(people=[gone.id], sharing="research", situation="a row")
    )
    wb.save_many([gone, episode])
    wb.delete(gone.id)
    plaintext = build_bundle(wb, Audience.RESEARCH, sequence=1).to_bytes()
    doc = parse_document(plaintext)
    assert doc.relationships[gone.id] == "sibling"
    assert b"Perpetua" not in plaintext
