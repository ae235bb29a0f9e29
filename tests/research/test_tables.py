"""The dataset's description: drawn from the record models and the kind registry."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, ClassVar, Literal

import pytest
from pydantic import Field
from research_helpers import AS_OF, build_workbook, consent

from heron_research.records import (
    EMOTION_EPISODE,
    PEER_REVIEW,
    PERSON,
    AgendaItem,
    AgendaResponse,
    FocusDecision,
    KindFacts,
    PeerReview,
    Record,
    Reflection,
    ReportScope,
    ReviewRating,
    Sharing,
    Side,
    SubRecord,
    allowed_values,
    record_type,
    record_types,
)
from heron_research.records.base import forget_kind
from heron_research.research.columns import fields, group, kind_table, list_table
from heron_research.research.tables import COUNTED, TABLES, kinds_read, not_exported, table
from heron_research.research.task import extract
from heron_research.workbook import Workbook
from heron_research.workbook.frames import build_frame

#: Value columns the dataset computes (no frame has them): every other value or text column
#: is a model field and must be named as the frames name it.
COMPUTED = {
    "n_people",
    "n_self_management",
    "n_supporting",
    "n_contradicting",
    "first_confidence",
    "last_confidence",
    "relationship",
    "family",
    "valence",
    "n_episodes",
    "has_dissent",
}


def test_every_kind_has_a_table_or_a_reason_both_ways() -> None:
    read = {t.kind for t in TABLES if t.kind is not None}
    own = {t.name: t.kind for t in TABLES if t.kind is not None and t.items is None}
    for kind, cls in record_types().items():
        facts = cls.facts
        if facts.research_table is not None:
            assert own.get(facts.research_table) == kind, kind
            assert kind in kinds_read()
            assert kind not in not_exported()
        else:
            assert kind not in read, f"{kind} is not exported but a table reads it"
            assert not_exported()[kind] == facts.not_exported
    for t in TABLES:
        if t.kind is not None:  # every table reads a kind that says it is exported
            assert record_type(t.kind).facts.research_table is not None, t.name
    assert set(kinds_read()) == read
    assert set(kinds_read()) | set(not_exported()) == set(record_types())
    assert list(kinds_read()) == [k for k in record_types() if k in read]  # declared order


def test_participants_count_each_kinds_table() -> None:
    kinds_tables = [record_type(k).facts.research_table for k in kinds_read()]
    assert sorted(COUNTED) == sorted(kinds_tables)
    assert list(COUNTED) == [t.name for t in TABLES if t.kind and t.items is None]
    assert [c.name for c in table("participants").columns][2:] == list(COUNTED.values())


@pytest.fixture
def throwaway() -> Iterator[None]:
    yield
    forget_kind("test_gadget")
    forget_kind("test_secret")


class _Dial(SubRecord):
    warmth: Annotated[int, Field(ge=0, le=5)] | None = Field(default=None, title="Warmth (0-5)")
    note: str = Field(default="", title="A note")


def test_a_new_kind_enters_the_registry_driven_lists(throwaway: None) -> None:
    class Secret(Record):
        kind: ClassVar[str] = "test_secret"
        facts: ClassVar[KindFacts] = KindFacts(
            label="secret",
            plural="secrets",
            writers=frozenset({Side.CLIENT}),
            report=ReportScope.UNDATED,
            not_exported="never leaves",
        )

    assert not_exported()["test_secret"] == "never leaves"
    assert "test_secret" not in kinds_read()

    class Gadget(Record):
        kind: ClassVar[str] = "test_gadget"
        facts: ClassVar[KindFacts] = KindFacts(
            label="gadget",
            plural="gadgets",
            writers=frozenset({Side.CLIENT}),
            report=ReportScope.PERIOD,
            research_table="gadgets",
        )
        when_field: ClassVar[str | None] = "seen_at"

        seen_at: datetime = Field(title="Seen at")
        colour: Literal["red", "green"] = Field(title="Colour", description="as it looked")
        size: int | None = Field(default=None, title="Size", ge=1, le=9)
        story: str = Field(default="", title="What I saw")
        dial: _Dial = Field(default_factory=_Dial, title="Dial")
        parts: list[_Dial] = Field(default_factory=list, title="Parts")

    assert "test_gadget" in kinds_read()
    gadgets = kind_table(Gadget, "gadget_id", "Gadgets", "Test.", "colour", "size", "story")
    assert gadgets.name == "gadgets" and gadgets.kind == "test_gadget"
    names = [c.name for c in gadgets.columns]
    assert names[:5] == ["participant_id", "gadget_id", "day", "weekday", "part_of_day"]
    colour, size, story = (gadgets.column(n) for n in ("colour", "size", "story"))
    assert (colour.kind, colour.required, colour.allowed()) == ("string", True, ("red", "green"))
    assert colour.description == "Colour (as it looked)."
    assert (size.kind, size.required, size.minimum, size.maximum) == ("integer", False, 1, 9)
    assert size.unit == "points"
    assert (story.role, story.required) == ("text", False)
    assert story.description.startswith("What was written for “What I saw”. Free text:")
    with_group = kind_table(Gadget, "gadget_id", "G", "T.", group("dial", lambda t: f"“{t}”."))
    dial = [c for c in with_group.columns if c.name.startswith("dial_")]
    assert [(c.name, c.role, c.maximum) for c in dial] == [
        ("dial_warmth", "value", 5),
        ("dial_note", "text", None),
    ]
    assert dial[0].get({"dial": {"warmth": 4}}, None, None) == 4  # type: ignore[arg-type]
    parts = list_table(gadgets, "parts", "gadget_parts", "part", "Parts", "T.", "warmth")
    assert parts.primary_key == ("gadget_id", "position")
    assert parts.foreign_keys[1] == ("gadget_id", "gadgets", "gadget_id")
    assert parts.column("warmth").get({}, (0, {"warmth": 2}), None) == 2  # type: ignore[arg-type]
    sized = kind_table(Gadget, "gadget_id", "G", "T.", fields("size", unit="cm", required=True))
    assert (sized.column("size").unit, sized.column("size").required) == ("cm", True)
    with pytest.raises(TypeError, match="not a plain field"):
        kind_table(Gadget, "gadget_id", "G", "T.", "dial")
    with pytest.raises(TypeError, match="not exported: never leaves"):
        kind_table(Secret, "secret_id", "S", "T.")


def test_columns_take_their_facts_from_the_model_fields() -> None:
    decided_by = table("decisions").column("decided_by")
    assert decided_by.allowed() == allowed_values(FocusDecision, "decided_by")
    assert decided_by.required
    assert decided_by.description.startswith("How it was decided (autonomy: by the client;")
    views = [table("reviews").column(n) for n in ("client_view", "agreed_outcome")]
    assert all(v.allowed() == allowed_values(PeerReview, "agreed_outcome") for v in views)
    assert not any(v.required for v in views)
    focus = table("reviews").column("ratings_focus")
    assert (focus.minimum, focus.maximum, focus.required, focus.unit) == (0, 10, False, "points")
    reflection = [c.name for c in table("cycles").columns if c.name.startswith("reflection_")]
    assert reflection == [f"reflection_{f}" for f in Reflection.model_fields]
    minutes = table("co_counselling").column("minutes_as_client")
    assert (minutes.maximum, minutes.unit, minutes.required) == (600, "minutes", True)
    relationship = table("episode_people").column("relationship")
    assert relationship.allowed() == (
        *allowed_values(record_type(PERSON), "relationship"),
        "unknown",
    )
    assert table("check_in_answers").column("answer").maximum == 10
    assert table("check_ins").column("score").maximum == 27
    assert "1 several days" in table("check_in_answers").column("answer").description


def test_dataset_columns_are_named_as_the_frames_name_them() -> None:
    for t in TABLES:
        if t.kind is None:
            continue
        frame = build_frame(f"{t.kind}.{t.items}" if t.items else t.kind, [])
        for c in t.columns:
            if c.role in ("value", "text", "term") and c.name not in COMPUTED:
                assert c.name in frame.columns, (t.name, c.name)
    for name in COMPUTED:  # the list stays true: none of these is a frame column
        assert all(name not in build_frame(k, []).columns for k in (EMOTION_EPISODE, PEER_REVIEW))
    assert "ratings_focus" in build_frame(PEER_REVIEW, []).columns
    assert "ratings_focus" in [c.name for c in table("reviews").columns]


def test_agenda_items_take_their_state_from_the_latest_response_shared(tmp_path: Path) -> None:
    """agenda_items.resolved, review_id and response keep their meaning now that the
    practitioner answers in responses of their own: the latest response shared for research,
    else what older versions wrote on the item; every shared response has its own row."""
    R, P = Sharing.RESEARCH, Sharing.PRACTITIONER
    review = PeerReview(
        sharing=R,
        held_on=date(2025, 3, 20),
        period_start=date(2025, 3, 1),
        period_end=date(2025, 3, 19),
    )
    answered = AgendaItem(sharing=R, raised_on=date(2025, 3, 2), item_type="request", text="a")
    hidden = AgendaItem(sharing=R, raised_on=date(2025, 3, 3), item_type="request", text="b")
    legacy = AgendaItem(
        sharing=R,
        raised_on=date(2025, 3, 4),
        item_type="question",
        text="c",
        review_id=review.id,
        response="older words",
        resolved=True,
    )

    def respond(item: AgendaItem, day: int, sharing: Sharing, **fields: object) -> AgendaResponse:
        return AgendaResponse(
            sharing=sharing, agenda_item_id=item.id, responded_on=date(2025, 3, day), **fields
        )

    records = [
        consent(datetime(2025, 1, 2, 9, 0, tzinfo=UTC)),
        review,
        answered,
        hidden,
        legacy,
        respond(answered, 25, R, response="done", resolved=True),  # latest, not at a review
        respond(answered, 20, R, response="first go", review_id=review.id),
        respond(hidden, 20, P, response="practitioner only", resolved=True),
    ]
    path = build_workbook(tmp_path / "w.heron", records)
    with Workbook.open(path, readonly=True, clock=lambda: AS_OF) as wb:
        data, code = extract(wb)
    assert code == "included" and data is not None
    items = data.tables["agenda_items"]
    state = {
        text: (resolved, review_id, response)
        for text, resolved, review_id, response in zip(
            items["text"], items["resolved"], items["review_id"], items["response"], strict=True
        )
    }
    assert state == {
        "a": (True, review.id, "done"),
        "b": (False, None, ""),  # its only response is not shared for research
        "c": (True, review.id, "older words"),
    }
    responses = data.tables["agenda_responses"]
    assert responses["response"] == ["first go", "done"]  # by date
    assert responses["item_id"] == [answered.id, answered.id]
    assert responses["review_id"] == [review.id, None]


def test_reviews_take_the_clients_ratings_from_their_own_linked_rating(tmp_path: Path) -> None:
    """reviews.ratings_* and client_view keep their meaning now that the client rates in a
    record of their own: the latest linked rating shared for research, else what older
    versions wrote on the review; every shared rating has its own row."""
    R, P = Sharing.RESEARCH, Sharing.PRACTITIONER

    def review(day: int, **fields: object) -> PeerReview:
        return PeerReview(
            sharing=R,
            held_on=date(2025, 3, day),
            period_start=date(2025, 3, 1),
            period_end=date(2025, 3, day),
            **fields,
        )

    rated, hidden = review(10), review(20)
    legacy = review(27, ratings={"focus": 3}, client_view="pause")
    records = [
        consent(datetime(2025, 1, 2, 9, 0, tzinfo=UTC)),
        rated,
        hidden,
        legacy,
        ReviewRating(
            sharing=R, review_id=rated.id, rated_on=date(2025, 3, 10), ratings={"focus": 8}
        ),
        ReviewRating(
            sharing=P, review_id=hidden.id, rated_on=date(2025, 3, 20), ratings={"focus": 1}
        ),
        ReviewRating(
            sharing=R, rated_on=date(2025, 3, 28), ratings={"overall": 6}, client_view="end"
        ),
    ]
    path = build_workbook(tmp_path / "w.heron", records)
    with Workbook.open(path, readonly=True, clock=lambda: AS_OF) as wb:
        data, code = extract(wb)
    assert code == "included" and data is not None
    reviews = data.tables["reviews"]
    assert reviews["review_id"] == [rated.id, hidden.id, legacy.id]
    assert reviews["ratings_focus"] == [8, None, 3]
    assert reviews["client_view"] == [None, None, "pause"]
    mine = data.tables["review_ratings"]
    assert mine["review_id"] == [rated.id, None]
    assert (mine["ratings_overall"], mine["client_view"]) == ([None, 6], [None, "end"])
