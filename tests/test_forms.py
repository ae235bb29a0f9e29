"""The forms, driven through their real widgets (no browser): fill, save, read the workbook.

Each test sets widget values the way a browser would (the widget's ``value`` trait) and
clicks buttons with ``Button.click()``, which runs the same handlers a real click does.
"""

from __future__ import annotations

import html
import sqlite3
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import ipywidgets as W
import pytest

from heron_research.forms import FormContext, kinds, practitioner_app, workbook_app
from heron_research.forms.core import RecordForm
from heron_research.forms.fields import (
    NOT_GIVEN,
    ChipsField,
    ChoiceField,
    DateField,
    DateTimeField,
    FlagField,
    GroupField,
    ListField,
    NumberField,
    ScaleField,
    TextField,
    choice_words,
    field_for,
)
from heron_research.forms.record_fields import AnswersField
from heron_research.forms.registry import FORMS, FormRegistry
from heron_research.principles import current_principles, edition_words
from heron_research.records import (
    AGENDA_ITEM,
    AGENDA_RESPONSE,
    CONSENT,
    EMOTION_EPISODE,
    PEER_REVIEW,
    PERSON,
    RECORD_TYPES,
    REVIEW_RATING,
    CoCounsellingSession,
    ConsentEntry,
    EmotionEpisode,
    EmotionRating,
    PeerReview,
    Person,
    ProjectionHypothesis,
    Side,
    allowed_values,
    record_type,
)
from heron_research.records.scoring import SAFETY_NOTE
from heron_research.workbook import Workbook

pytestmark = pytest.mark.unit


@pytest.fixture
def wb(tmp_path: Path) -> Iterator[Workbook]:
    """A workbook on the real clock (forms default to 'now' and 'today')."""
    workbook = Workbook.create(tmp_path / "client.heron")
    try:
        yield workbook
    finally:
        workbook.close()


@pytest.fixture
def app(wb: Workbook):
    return workbook_app(wb)


def fill(form: RecordForm, **values: Any) -> None:
    for name, value in values.items():
        form.field(name).set(value)


def fill_rows(field: Any, rows: list[dict[str, Any]]) -> None:
    assert isinstance(field, ListField)
    while len(field.rows) < len(rows):
        field.add_button.click()
    for row, values in zip(field.rows, rows, strict=False):
        for f in row.fields:
            if f.name in values:
                f.widget.value = values[f.name]


def click_save(form: RecordForm) -> None:
    form.save_button.click()


def stored_data(wb: Workbook, kind: str) -> list[dict[str, Any]]:
    return [s.record.to_data() for s in wb.records(kind)]


def add_person(wb: Workbook, alias: str, relationship: str = "manager") -> str:
    return wb.save(Person(alias=alias, relationship=relationship)).id


# --- the episode form ---------------------------------------------------------------------


def test_episode_saved_from_its_widgets(app, wb: Workbook) -> None:
    manager = add_person(wb, "Robin")
    form = app.forms["emotion_episode"]
    form.field("people").refresh()
    form.field("occurred_at").widget.value = datetime(2025, 3, 14, 18, 30)
    form.field("situation").widget.value = "Team meeting: deadline moved forward"
    fill_rows(
        form.field("emotions"),
        [{"emotion": "anger", "intensity": 7}, {"emotion": "wobbly", "intensity": 4}],
    )
    chip = next(c for c in form.field("people").widget.children if c.description == "Robin")
    chip.value = True
    fill_rows(
        form.field("self_management"),
        [{"technique": "pausing before acting", "intensity_after": 3}],
    )
    form.field("proportionality").widget.value = 6
    form.field("sharing").widget.value = "practitioner"
    click_save(form)

    assert "✓ Saved" in form.status.value, form.status.value
    [data] = stored_data(wb, "emotion_episode")
    assert data["situation"] == "Team meeting: deadline moved forward"
    assert [(e["emotion"], e["intensity"], e["custom"]) for e in data["emotions"]] == [
        ("anger", 7, False),
        ("wobbly", 4, True),  # the client's own word, kept and flagged
    ]
    assert data["people"] == [manager]
    assert data["self_management"][0]["technique"] == "pausing before acting"
    assert data["self_management"][0]["skill"] == "control"
    assert data["self_management"][0]["intensity_before"] == 7  # the peak, by default
    assert data["self_management"][0]["intensity_after"] == 3
    assert data["proportionality"] == 6
    assert data["sharing"] == "practitioner"
    assert datetime.fromisoformat(data["occurred_at"]).replace(tzinfo=None) == datetime(
        2025, 3, 14, 18, 30
    )
    # ready for the next one: cleared after a successful save
    assert form.field("situation").widget.value == ""
    assert form.editing is None


def test_refused_episode_keeps_everything_typed_and_names_the_field(app, wb: Workbook) -> None:
    form = app.forms["emotion_episode"]
    form.field("situation").widget.value = "Argument about the dishes"
    form.field("thoughts").widget.value = "nobody listens"
    # no emotion given: the one row is left empty
    click_save(form)

    assert wb.counts()["emotion_episode"] == 0
    assert "Not saved" in form.status.value
    assert "add at least one emotion" in form.field("emotions").error.value
    assert form.field("emotions").error.layout.display == "block"
    assert form.field("situation").widget.value == "Argument about the dishes"
    assert form.field("thoughts").widget.value == "nobody listens"
    assert [p.name for p in form.last_problems] == ["emotions"]

    # fix it: the problem goes away and the entry is saved
    fill_rows(form.field("emotions"), [{"emotion": "irritation", "intensity": 5}])
    click_save(form)
    assert "✓ Saved" in form.status.value
    assert form.field("emotions").error.layout.display == "none"
    assert wb.counts()["emotion_episode"] == 1


def test_problem_in_a_row_is_shown_in_that_row(app, wb: Workbook) -> None:
    form = app.forms["emotion_episode"]
    form.field("situation").widget.value = "Phone call"
    fill_rows(
        form.field("emotions"),
        [{"emotion": "fear", "intensity": 3}, {"emotion": "Fear", "intensity": 5}],
    )
    click_save(form)
    second = form.field("emotions").rows[1].fields[0]
    assert "listed twice" in second.error.value
    assert form.field("emotions").rows[0].fields[0].error.value == ""
    assert second.widget.value == "Fear"  # kept as typed


def test_custom_technique_needs_a_skill_and_says_so(app, wb: Workbook) -> None:
    form = app.forms["emotion_episode"]
    form.field("situation").widget.value = "Bus was late"
    fill_rows(form.field("emotions"), [{"emotion": "frustration", "intensity": 6}])
    fill_rows(form.field("self_management"), [{"technique": "humming", "intensity_after": 2}])
    click_save(form)
    skill = form.field("self_management").rows[0].fields[1]
    assert "choose which skill" in skill.error.value
    skill.widget.value = "transmutation"
    click_save(form)
    [data] = stored_data(wb, "emotion_episode")
    assert data["self_management"][0] == {
        "technique": "humming",
        "skill": "transmutation",
        "intensity_before": 6,
        "intensity_after": 2,
        "custom": True,
    }


def test_empty_required_date_is_refused_not_defaulted(app, wb: Workbook) -> None:
    form = app.forms["emotion_episode"]
    form.field("occurred_at").widget.value = None
    form.field("situation").widget.value = "x"
    fill_rows(form.field("emotions"), [{"emotion": "joy", "intensity": 2}])
    click_save(form)
    assert wb.counts()["emotion_episode"] == 0
    assert "please fill this in" in form.field("occurred_at").error.value


def test_quick_add_person_saves_and_picks_them(app, wb: Workbook) -> None:
    people = app.forms["emotion_episode"].field("people")
    people.new_alias.value = "Aunt J"
    people.new_relationship.value = "other"
    stored = people.add_person()
    assert stored is not None
    assert [c.description for c in people.widget.children if c.value] == ["Aunt J"]
    assert people.get() == [stored.id]
    assert [p["alias"] for p in stored_data(wb, "person")] == ["Aunt J"]
    # an empty name is refused with a message, nothing saved
    people.new_alias.value = "  "
    assert people.add_person() is None
    assert "fill this in" in people.new_message.value
    assert wb.counts()["person"] == 1
    # the other forms see the new person too
    assert ("Aunt J", stored.id) in app.forms["projection_hypothesis"].field(
        "person_id"
    ).widget.options


# --- editing, recent entries, deletion ------------------------------------------------------


def test_edit_from_recent_keeps_the_earlier_version(app, wb: Workbook) -> None:
    form = app.forms["emotion_episode"]
    form.field("situation").widget.value = "First version"
    fill_rows(form.field("emotions"), [{"emotion": "sadness", "intensity": 4}])
    click_save(form)
    [stored] = wb.records("emotion_episode")

    app.recent.kind.value = "emotion_episode"
    row = app.recent.list.children[0]
    edit = next(b for b in row.children if isinstance(b, W.Button) and b.description == "Edit")
    edit.click()
    assert form.editing is not None and form.editing.id == stored.id
    assert form.field("situation").widget.value == "First version"
    assert app.tabs.selected_index == 0  # the Today tab, where the form is
    form.field("situation").widget.value = "Second version"
    click_save(form)
    assert "earlier version is kept" in form.status.value

    history = wb.history(stored.id)
    assert [h.data["situation"] for h in history] == ["First version", "Second version"]
    assert wb.counts()["emotion_episode"] == 1


def test_edit_refused_when_changed_elsewhere_keeps_the_typing(app, wb: Workbook) -> None:
    form = app.forms["person"]
    form.field("alias").widget.value = "Kim"
    click_save(form)
    [stored] = wb.records("person")
    form.edit(stored)
    # another notebook saves the same person meanwhile
    other = Workbook.open(wb.path)
    other.save(stored.record.model_copy(update={"notes": "from elsewhere"}))
    other.close()
    form.field("notes").widget.value = "my note"
    click_save(form)
    assert "changed elsewhere" in form.status.value
    assert form.field("notes").widget.value == "my note"
    assert wb.get("person" and stored.id).notes == "from elsewhere"


def test_delete_and_restore_from_recent(app, wb: Workbook) -> None:
    form = app.forms["co_counselling_session"]
    form.field("peer_alias").widget.value = "M."
    click_save(form)
    app.recent.kind.value = "co_counselling_session"
    row = app.recent.list.children[0]
    next(b for b in row.children if getattr(b, "description", "") == "Delete").click()
    assert wb.counts()["co_counselling_session"] == 0
    assert "Deleted" in app.recent.message.value
    app.recent.show_deleted.value = True
    row = app.recent.list.children[0]
    next(b for b in row.children if getattr(b, "description", "") == "Restore").click()
    assert wb.counts()["co_counselling_session"] == 1


def test_consent_is_not_editable_from_recent(app) -> None:
    assert "consent" not in app.recent.forms
    assert "consent" not in [v for _, v in app.recent.kind.options]


# --- the other client forms ------------------------------------------------------------------


def test_hypothesis_with_evidence_and_confidence_over_time(app, wb: Workbook) -> None:
    robin = add_person(wb, "Robin")
    episode = wb.save(
        EmotionEpisode(situation="meeting", emotions=[{"emotion": "anger", "intensity": 8}])
    )
    form = app.forms["projection_hypothesis"]
    form.new_entry()  # reload options
    fill(form, person_id=robin)
    form.field("reaction").widget.value = "Furious when Robin checks my work"
    form.field("echoes").widget.value = "My father marking my homework"
    form.field("unprocessed_emotion").widget.value = "resentment"
    form.field("prediction").widget.value = "I will feel it with any checking, not only Robin's"
    fill_rows(form.field("evidence"), [{"episode_id": episode.id, "direction": "supports"}])
    form.field("confidence").widget.value = 40
    form.field("status").widget.value = "testing"
    click_save(form)
    assert "✓ Saved" in form.status.value, form.status.value
    [data] = stored_data(wb, "projection_hypothesis")
    assert data["evidence"][0]["episode_id"] == episode.id
    assert data["confidence"] == [
        {"on": date.today().isoformat(), "confidence": 40, "status": "testing"}
    ]

    # a later edit with another confidence: today's point is updated, not duplicated
    form.edit(wb.get_stored(data["id"]))
    assert form.field("confidence").widget.value == 40
    form.field("confidence").widget.value = 70
    click_save(form)
    [data] = stored_data(wb, "projection_hypothesis")
    assert [p["confidence"] for p in data["confidence"]] == [70]
    assert len(wb.history(data["id"])) == 2


def test_hypothesis_needs_a_person_or_situation(app, wb: Workbook) -> None:
    form = app.forms["projection_hypothesis"]
    form.field("reaction").widget.value = "r"
    form.field("echoes").widget.value = "e"
    form.field("unprocessed_emotion").widget.value = "fear"
    click_save(form)
    assert "say who or what" in form.field("situation").error.value
    assert form.field("reaction").widget.value == "r"


def test_inquiry_cycle_with_reflection_and_links(app, wb: Workbook) -> None:
    episode = wb.save(
        EmotionEpisode(situation="walk", emotions=[{"emotion": "calm", "intensity": 3}])
    )
    form = app.forms["inquiry_cycle"]
    form.new_entry()
    form.field("question").widget.value = "What happens if I say no once a day?"
    form.field("plan").widget.value = "Say no to one request a day for two weeks"
    fill_rows(form.field("episode_ids"), [{"episode_id": episode.id}])
    reflection = form.field("reflection")
    reflection.fields[0].widget.value = "shaky, then light"
    reflection.fields[3].widget.value = "I can pause before answering"
    form.field("ends_on").widget.value = date.today() - timedelta(days=30)
    click_save(form)
    assert "must be on or after the start date" in form.field("ends_on").error.value
    form.field("ends_on").widget.value = date.today() + timedelta(days=14)
    form.field("status").widget.value = "acting"
    click_save(form)
    [data] = stored_data(wb, "inquiry_cycle")
    assert data["episode_ids"] == [episode.id]
    assert data["reflection"]["experiential"] == "shaky, then light"
    assert data["reflection"]["practical"] == "I can pause before answering"
    assert data["status"] == "acting"


def test_agenda_item_for_review(app, wb: Workbook) -> None:
    form = app.forms["agenda_item"]
    form.field("text").widget.value = "I want more say in the homework"
    click_save(form)
    assert "Type" in form.status.value  # no type chosen yet
    form.field("item_type").widget.value = "request"
    click_save(form)
    [data] = stored_data(wb, "agenda_item")
    assert (data["item_type"], data["raised_by"], data["sharing"]) == (
        "request",
        "client",
        "practitioner",
    )


@pytest.mark.parametrize(
    ("instrument", "answers", "score", "band", "note"),
    [
        ("phq9", [1, 2, 1, 2, 1, 1, 0, 0, 1], "score 9", "mild", True),
        ("phq9", [1, 2, 1, 2, 1, 1, 0, 0, 0], "score 8", "mild", False),
        ("gad7", [3, 3, 2, 2, 1, 1, 0], "score 12", "moderate", False),
        ("wellbeing", [6, 7, 5, 6], "score 6", "middling", False),
    ],
)
def test_check_in_shows_score_band_and_safety_note(
    app, wb: Workbook, instrument: str, answers: list[int], score: str, band: str, note: bool
) -> None:
    form = app.forms["check_in"]
    form.field("instrument").widget.value = instrument
    items = form.field("answers").item_errors
    assert len(items) == len(answers)
    for field, answer in zip(items, answers, strict=True):
        field.widget.value = answer
    click_save(form)
    assert "✓ Saved" in form.status.value, form.status.value
    assert score in form.result.value and band in form.result.value
    assert ("heron-safety-note" in form.result.value) is note
    if note:
        assert SAFETY_NOTE.split(".")[0].replace("'", "&#x27;") in form.result.value
    [data] = stored_data(wb, "check_in")
    assert data["answers"] == answers


def test_check_in_unanswered_question_is_named_and_answers_kept(app, wb: Workbook) -> None:
    form = app.forms["check_in"]
    items = form.field("answers").item_errors
    for field in items[:8]:
        field.widget.value = 1
    click_save(form)
    assert wb.counts()["check_in"] == 0
    assert "please fill this in" in items[8].error.value
    assert [f.widget.value for f in items[:8]] == [1] * 8


def test_consent_form_records_withdraws_and_asks_again(app, wb: Workbook) -> None:
    form = app.forms["consent"]
    state = form.widget.children[3]
    assert "Please read the principles" in state.value
    assert "heron-principles" in form.widget.children[2]._dom_classes
    fill(form, training=True, practitioner_sharing=True, research=True)
    click_save(form)
    consent = wb.consent()
    assert consent.research and consent.practitioner_sharing and consent.principles_current
    # the form now shows what is in force, ready to change
    assert form.field("research").widget.value is True
    form.field("research").widget.value = False  # withdraw research consent
    click_save(form)
    assert not wb.consent().research
    assert [e["research"] for e in stored_data(wb, "consent")] == [True, False]  # a ledger
    # the principles text changed since: the form asks again
    wb.save(
        ConsentEntry(
            principles_version="sha256:0000000000000000",
            training=True,
            practitioner_sharing=True,
            research=True,
        )
    )
    form.context.changed("consent")
    assert "principles have changed" in state.value
    assert "an earlier edition" in state.value  # not its id


def test_consent_tab_names_the_principles_by_edition_not_by_hash(app) -> None:
    form = app.forms["consent"]
    version = current_principles().version
    words = edition_words(version)
    assert words == "first edition of 25 November 2026"  # every shipped text is listed
    assert f"({words})" in form.intro.value
    shown = " ".join(w.value for w in form.widget.children if isinstance(w, W.HTML))
    assert version not in shown and "sha256" not in shown
    box = form.widget.children[2].value
    assert 'role="region"' in box and 'tabindex="0"' in box  # scrolls by keyboard
    assert "<h1>" not in box and "<h4>The principles of this training</h4>" in box


def test_co_counselling_session(app, wb: Workbook) -> None:
    form = app.forms["co_counselling_session"]
    form.field("peer_alias").widget.value = "Alex"
    form.field("minutes_as_client").widget.value = 45
    form.field("minutes_as_counsellor").widget.value = 45
    form.field("contract").widget.value = "intensive"
    form.field("worked_on").widget.value = "old anger at school"
    click_save(form)
    [data] = stored_data(wb, "co_counselling_session")
    assert (data["minutes_as_client"], data["contract"]) == (45, "intensive")


# --- the practitioner's forms ----------------------------------------------------------------


def consented(wb: Workbook) -> None:
    wb.save(
        ConsentEntry(
            principles_version=current_principles().version,
            training=True,
            practitioner_sharing=True,
            research=False,
            recorded_at=datetime.now().astimezone() - timedelta(minutes=5),
        )
    )


def test_practitioner_forms_save(wb: Workbook) -> None:
    consented(wb)
    app = practitioner_app(wb)
    decision = app.forms["focus_decision"]
    decision.field("decision").widget.value = "Client chose to work on anger at work"
    decision.field("proposed_by").widget.value = "client"
    decision.field("decided_by").widget.value = "autonomy"
    click_save(decision)
    review = app.forms["peer_review"]
    review.field("period_start").widget.value = date.today() - timedelta(days=30)
    review.field("period_end").widget.value = date.today()
    names = {f.name for f in review.fields}
    assert not names & {"ratings", "client_view"}  # the client's part is the client's to write
    review.field("practitioner_view").widget.value = "change"
    review.field("agreed_outcome").widget.value = "continue"
    review.field("dissent").widget.value = "Practitioner would have changed the method"
    click_save(review)
    reaction = app.forms["practitioner_reaction"]
    reaction.field("reaction").widget.value = "Impatience when the client is late"
    click_save(reaction)
    intervention = app.forms["intervention"]
    click_save(intervention)
    assert "choose the intended or the perceived" in intervention.field("intended").error.value
    intervention.field("intended").widget.value = "catalytic"
    intervention.field("perceived").widget.value = "confronting"
    click_save(intervention)

    counts = wb.counts()
    assert counts["focus_decision"] == counts["peer_review"] == 1
    assert counts["practitioner_reaction"] == counts["intervention"] == 1
    [rv] = stored_data(wb, "peer_review")
    assert rv["practitioner_view"] == "change" and rv["client_view"] is None
    [rx] = stored_data(wb, "practitioner_reaction")
    assert rx["sharing"] == "practitioner"  # always visible to the client
    # the practitioner's app writes as the practitioner, even on the client's own workbook
    # (a focus decision may be either side's: here it is the practitioner's)
    written = [s for kind in counts for s in wb.records(kind) if kind != CONSENT]
    assert len(written) == 4 and {s.side for s in written} == {Side.PRACTITIONER}


def test_client_rates_a_review_in_their_own_record(app, wb: Workbook) -> None:
    review = wb.save(
        PeerReview(
            sharing="practitioner",
            held_on=date(2025, 3, 27),
            period_start=date(2025, 3, 1),
            period_end=date(2025, 3, 27),
            practitioner_view="continue",
        )
    )
    tabs = dict(FORMS.tabs(Side.CLIENT))
    assert [r.kind for r in tabs["Review prep"]] == [AGENDA_ITEM, REVIEW_RATING]
    form = app.forms[REVIEW_RATING]
    assert form.field("review_id").get() is None  # "(not recorded yet)" comes first
    app.context.changed(PEER_REVIEW)  # the review arrives: it can be picked
    form.field("review_id").set(review.id)
    form.field("ratings").fields[3].widget.value = 8  # my say
    form.field("client_view").widget.value = "change"
    click_save(form)
    [mine] = stored_data(wb, REVIEW_RATING)
    assert mine["review_id"] == review.id and mine["client_view"] == "change"
    assert mine["ratings"]["my_say"] == 8 and mine["ratings"]["focus"] is None
    assert mine["sharing"] == "practitioner"  # shared with the practitioner by default
    assert wb.get_stored(review.id).revision == 1  # the practitioner's review is untouched


def test_practitioner_answers_an_agenda_item(wb: Workbook) -> None:
    """The response is the practitioner's own record: the client's item is never edited."""
    consented(wb)
    client = workbook_app(wb)
    item = client.forms["agenda_item"]
    item.field("item_type").widget.value = "dissatisfaction"
    item.field("text").widget.value = "Sessions feel rushed"
    click_save(item)
    practitioner = practitioner_app(wb)
    form = practitioner.forms[AGENDA_RESPONSE]
    picker = form.field("agenda_item_id").widget
    [(label, item_id)] = [o for o in picker.options if o[1]]
    assert not label.startswith("✓")
    before = wb.get_stored(item_id)
    click_save(form)  # no item picked yet: nothing saved, and the form says why
    assert wb.counts()[AGENDA_RESPONSE] == 0
    assert "please fill this in" in form.field("agenda_item_id").error.value
    picker.value = item_id
    [shown] = [w for w in form.widget.children if "heron-agenda-raised" in w._dom_classes]
    assert "Sessions feel rushed" in shown.value
    form.field("response").widget.value = "We will book 60 minutes instead of 50"
    click_save(form)
    form.field("response").widget.value = "Booked: 60 minutes from now on"
    picker.value = item_id
    assert "Responses so far" in shown.value and "We will book" in shown.value
    form.field("resolved").widget.value = True
    click_save(form)

    first, second = sorted(stored_data(wb, AGENDA_RESPONSE), key=lambda d: d["resolved"])
    assert first["agenda_item_id"] == second["agenda_item_id"] == item_id
    assert (first["resolved"], second["resolved"]) == (False, True)
    assert second["sharing"] == before.sharing.value == "practitioner"  # as the item is shared
    after = wb.get_stored(item_id)
    assert after.revision == before.revision  # the client's item is untouched
    assert (after.record.response, after.record.resolved) == ("", False)
    assert form.field("agenda_item_id").get() is None  # back to "(choose an item)"
    assert picker.label == "(choose an item)"
    assert next(o[0] for o in picker.options if o[1]).startswith("✓")  # resolved now
    # the practitioner's own responses are in Recent and open in this form for editing
    practitioner.recent.kind.value = AGENDA_RESPONSE
    assert len(practitioner.recent.entries()) == 2
    form.edit(wb.get_stored(second["id"]))
    assert picker.value == item_id and form.field("resolved").get() is True


def test_practitioner_never_sees_private_entries(wb: Workbook) -> None:
    consented(wb)
    wb.save(Person(alias="Secret friend", sharing="private"))
    boss = wb.save(Person(alias="Shared boss", sharing="practitioner")).record
    wb.save(  # the practitioner sees a person named in an entry they see
        EmotionEpisode(
            situation="the boss again",
            emotions=[{"emotion": "anger", "intensity": 4}],
            people=[boss.id],
            sharing="practitioner",
        )
    )
    wb.save(
        EmotionEpisode(situation="private diary", emotions=[{"emotion": "shame", "intensity": 9}])
    )
    app = practitioner_app(wb)
    app.recent.kind.value = "focus_decision"
    seen = FormContext(wb, audience="practitioner")
    assert [s.record.alias for s in seen.records("person")] == ["Shared boss"]
    assert [s.record.situation for s in seen.records("emotion_episode")] == ["the boss again"]
    assert app.recent.show_deleted.layout.display == "none"


# --- no transaction held, workbook trouble -----------------------------------------------------


def test_form_holds_no_transaction_between_actions(app, wb: Workbook) -> None:
    form = app.forms["person"]
    form.field("alias").widget.value = "Lee"
    click_save(form)
    app.recent.refresh()
    assert not wb._db.in_transaction
    # another process's writer gets the lock straight away
    other = sqlite3.connect(wb.path, timeout=0)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    finally:
        other.close()


def test_busy_workbook_is_reported_and_typing_kept(tmp_path: Path) -> None:
    path = tmp_path / "busy.heron"
    Workbook.create(path).close()
    wb = Workbook.open(path)
    wb._db.execute("PRAGMA busy_timeout = 200")
    app = workbook_app(wb)
    blocker = sqlite3.connect(path)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        form = app.forms["person"]
        form.field("alias").widget.value = "Jo"
        form.field("notes").widget.value = "kept"
        click_save(form)
        assert "Not saved" in form.status.value
        assert form.field("notes").widget.value == "kept"
    finally:
        blocker.rollback()
        blocker.close()
    click_save(form)
    assert "✓ Saved" in form.status.value
    wb.close()


def test_every_form_field_has_a_css_hook(app) -> None:
    for form in app.forms.values():
        for field in form.fields:
            assert any(c.startswith("heron-field-") for c in field.widget._dom_classes), (
                form.record_type.kind,
                field.name,
            )


def test_describe_lines_escape_nothing_and_name_entries(wb: Workbook) -> None:
    stored = wb.save(
        EmotionEpisode(
            situation="<b>bold</b> move", emotions=[{"emotion": "pride", "intensity": 3}]
        )
    )
    line = kinds.describe(stored)
    assert "<b>bold</b> move" in line  # plain text; the widgets escape it
    app = workbook_app(wb)
    app.recent.kind.value = "emotion_episode"
    label = app.recent.list.children[0].children[0]
    assert "&lt;b&gt;bold&lt;/b&gt;" in label.value


def test_each_control_is_named_by_its_visible_label(app) -> None:
    """A field's label is its input's own ``description`` (a ``<label for>`` in the page),
    not a separate block beside an unnamed input; groups of controls keep a heading."""
    checked = 0
    for form in app.forms.values():
        for field in form.fields:
            if isinstance(field, (ListField, GroupField, ChipsField)):
                heading = field.box.children[0]
                assert "heron-group-label" in heading._dom_classes
                assert html.escape(field.label) in heading.value
                continue
            if isinstance(field, AnswersField):
                continue
            assert field.widget.description == field.label, (form.record_type.kind, field.name)
            assert field.widget.tooltip == ""  # no "null" title
            assert not any(isinstance(c, W.HTML) and "<b>" in c.value for c in field.box.children)
            checked += 1
    assert checked > 40


def test_skill_and_before_always_show_their_defaults(wb: Workbook) -> None:
    """A "not given" first option is a real option: the box shows its words every time."""
    for _ in range(3):
        form = workbook_app(wb).forms["emotion_episode"]
        row = form.field("self_management").rows[0]
        skill, before = (
            next(f for f in row.fields if f.name == n) for n in ("skill", "intensity_before")
        )
        assert (skill.widget.index, skill.widget.label) == (0, "(from the technique)")
        assert (before.widget.index, before.widget.label) == (0, "not rated")
        assert skill.get() is None and before.get() is None
        skill.set("control")
        form.new_entry()
        row = form.field("self_management").rows[0]
        assert [f.widget.label for f in row.fields if f.name in ("skill", "intensity_before")] == [
            "(from the technique)",
            "not rated",
        ]


def test_episode_intro_names_the_fields_by_their_labels(app) -> None:
    form = app.forms["emotion_episode"]
    assert form.field("situation").label == "Situation"
    assert "situation" in form.intro.value and "What happened" not in form.intro.value


def test_problem_in_the_details_section_opens_it(app, wb: Workbook) -> None:
    form = app.forms["emotion_episode"]
    assert form.details.selected_index is None  # collapsed: the daily form stays short
    form.field("situation").widget.value = "Long day"
    fill_rows(form.field("emotions"), [{"emotion": "tiredness", "intensity": 6}])
    form.field("notes").widget.value = "x" * 20_001
    click_save(form)
    assert wb.counts()["emotion_episode"] == 0
    assert "too long" in form.field("notes").error.value
    assert form.details.selected_index == 0
    assert len(form.field("notes").widget.value) == 20_001


# --- forms registered for their kind, apps built from the registry ----------------------------

APPS = {Side.CLIENT: workbook_app, Side.PRACTITIONER: practitioner_app}


@pytest.mark.parametrize("side", list(Side))
def test_each_app_is_built_from_the_registered_forms(wb: Workbook, side: Side) -> None:
    app = APPS[side](wb)
    layout = FORMS.layout(side)
    assert list(app.tabs.titles) == [title for title, _ in layout] + ["Recent"]
    for index, (tab, (title, content)) in enumerate(zip(app.tabs.children, layout, strict=False)):
        if isinstance(content, list):
            # a tab's forms are built when it is first shown (the first tab: at once)
            assert bool(tab.children) == (index == 0), title
            app.tabs.selected_index = index
            assert list(tab.children) == [app.forms[r.kind].widget for r in content]
        else:
            assert tab is app.pages[title].widget
    assert list(app.pages) == [p.tab for p in FORMS.pages(side)]
    registered = FORMS.forms(side)
    assert list(app.forms) == [r.kind for r in registered]
    in_recent = [r.kind for r in registered if r.not_in_recent is None]
    assert list(app.recent.forms) == in_recent
    assert [app.recent.forms[k] for k in in_recent] == [app.forms[k] for k in in_recent]
    # the client's Recent also lists, read-only, what only the practitioner writes there
    other = {Side.CLIENT: Side.PRACTITIONER, Side.PRACTITIONER: None}[side]
    shown = {r.kind for r in registered}
    read_only = [
        kind
        for kind, cls in RECORD_TYPES.items()
        if other is not None and kind not in shown and cls.facts.written_by(other)
    ]
    assert app.recent.read_only == read_only
    words = [label for label, _ in app.recent.kind.options]
    assert words == [record_type(k).facts.plural.capitalize() for k in [*in_recent, *read_only]]


def test_the_tabs_keep_their_titles_and_order() -> None:
    assert [title for title, _ in FORMS.tabs(Side.CLIENT)] == [
        "Today",
        "Hypotheses",
        "Inquiry",
        "Review prep",
        "Check-in",
        "People",
        "Consent",
        "Co-counselling",
    ]
    assert [title for title, _ in FORMS.layout(Side.CLIENT)][-1] == "Share"
    assert FORMS.pages(Side.PRACTITIONER) == []
    practitioner = FORMS.tabs(Side.PRACTITIONER)
    assert [title for title, _ in practitioner] == [
        "Decisions",
        "Peer review",
        "My reactions",
        "Interventions",
    ]
    assert [r.kind for r in practitioner[1][1]] == [AGENDA_RESPONSE, PEER_REVIEW]


@pytest.mark.parametrize("side", list(Side))
def test_every_kind_a_side_has_a_form_for_is_one_that_side_writes(side: Side) -> None:
    registered = FORMS.forms(side)
    assert registered, f"no {side} forms registered"
    for registration in registered:
        facts = registration.record_type.facts
        assert side in facts.writers, (registration.kind, facts.writers)


def _row_model(annotation: Any) -> Any:
    """The model of a list's rows (``list[EmotionRating]``), or None for a list of ids."""
    [item] = getattr(annotation, "__args__", (None,))
    return item if hasattr(item, "model_fields") else None


@pytest.mark.parametrize("side", list(Side))
def test_every_registered_form_field_exists_on_its_model(wb: Workbook, side: Side) -> None:
    app = APPS[side](wb)
    for registration in FORMS.forms(side):
        form = app.forms[registration.kind]
        model = registration.record_type
        assert form.record_type is model
        for field in form.fields:
            assert field.name in model.model_fields, (model.kind, field.name)
            annotation = model.model_fields[field.name].annotation
            if isinstance(field, GroupField):
                names = {f.name for f in field.fields}
                assert names <= set(annotation.model_fields), (model.kind, field.name, names)
            if isinstance(field, ListField) and (row := _row_model(annotation)) is not None:
                names = {f.name for f in field.rows[0].fields}
                assert names <= set(row.model_fields), (model.kind, field.name, names)


def test_consent_is_kept_out_of_recent_by_its_registration() -> None:
    left_out = {r.kind: r.not_in_recent for r in FORMS.forms(Side.CLIENT) if r.not_in_recent}
    assert list(left_out) == [CONSENT]
    assert "ledger" in left_out[CONSENT]


def test_a_form_for_a_kind_its_side_does_not_write_is_refused() -> None:
    registry = FormRegistry()
    with pytest.raises(ValueError, match="only the practitioner side writes them") as refused:
        registry.form_for(PEER_REVIEW, side=Side.CLIENT, tab="Review", order=1)(
            kinds.peer_review_form
        )
    assert "peer reviews" in str(refused.value)
    with pytest.raises(ValueError, match="only the client side writes them"):
        registry.form_for(EMOTION_EPISODE, side=Side.PRACTITIONER, tab="Today", order=1)(
            kinds.episode_form
        )
    assert registry.forms(Side.CLIENT) == registry.forms(Side.PRACTITIONER) == []

    # either side writes agenda items; each side has at most one form per kind, one per order
    registry.form_for(AGENDA_ITEM, side=Side.CLIENT, tab="Prep", order=1)(kinds.agenda_item_form)
    registry.form_for(AGENDA_ITEM, side=Side.PRACTITIONER, tab="Review", order=1)(
        kinds.agenda_item_form
    )
    with pytest.raises(ValueError, match="only the practitioner side writes them"):
        registry.form_for(AGENDA_RESPONSE, side=Side.CLIENT, tab="Prep", order=9)(
            kinds.agenda_response_form
        )
    with pytest.raises(ValueError, match="already has a form for agenda items"):
        registry.form_for(AGENDA_ITEM, side=Side.CLIENT, tab="Prep", order=2)(
            kinds.agenda_item_form
        )
    with pytest.raises(ValueError, match="both have order 1"):
        registry.form_for(PERSON, side=Side.CLIENT, tab="People", order=1)(kinds.person_form)
    with pytest.raises(ValueError, match="unknown record kind"):
        registry.form_for("diary_entry", side=Side.CLIENT, tab="Diary", order=3)(kinds.person_form)
    assert [(r.kind, r.build) for r in registry.forms(Side.CLIENT)] == [
        (AGENDA_ITEM, kinds.agenda_item_form)
    ]
    assert [r.kind for r in registry.forms(Side.PRACTITIONER)] == [AGENDA_ITEM]


# --- fields drawn from the models ---------------------------------------------------------------


def test_fields_follow_the_model_annotations() -> None:
    status = field_for(ProjectionHypothesis, "status")
    assert isinstance(status, ChoiceField)
    assert status.label == "Status"
    assert list(status.widget.options) == choice_words(
        allowed_values(ProjectionHypothesis, "status")
    )
    assert status.widget.value == "open"  # the model's default
    relationship = field_for(Person, "relationship")
    assert relationship.widget.value == "other"
    assert ("Free attention", "free attention") in field_for(
        CoCounsellingSession, "contract"
    ).widget.options

    alias, notes = field_for(Person, "alias"), field_for(Person, "notes")
    assert isinstance(alias, TextField) and isinstance(alias.widget, W.Text)  # bounded: one line
    assert isinstance(notes.widget, W.Textarea)
    assert alias.label == Person.model_fields["alias"].title

    scale = field_for(EmotionRating, "intensity")
    assert isinstance(scale, ScaleField) and isinstance(scale.widget, W.IntSlider)
    assert (scale.widget.min, scale.widget.max) == (0, 10)
    optional = field_for(EmotionEpisode, "proportionality")
    assert isinstance(optional, ScaleField) and optional.optional
    assert optional.widget.options[0] == ("not rated", NOT_GIVEN)
    assert (optional.widget.label, optional.get()) == ("not rated", None)

    minutes = field_for(CoCounsellingSession, "minutes_as_client")
    assert isinstance(minutes, NumberField)
    assert (minutes.widget.min, minutes.widget.max) == (0, 600)

    flag = field_for(ConsentEntry, "training")
    assert isinstance(flag, FlagField) and flag.widget.value is False
    assert flag.widget.description == ConsentEntry.model_fields["training"].title

    held, next_review = field_for(PeerReview, "held_on"), field_for(PeerReview, "next_review_on")
    assert isinstance(held, DateField) and held.required and not held.optional
    assert isinstance(next_review, DateField) and next_review.optional and not next_review.required
    when = field_for(EmotionEpisode, "occurred_at")
    assert isinstance(when, DateTimeField) and when.required

    custom = field_for(Person, "alias", label="Name", placeholder="a nickname", multiline=True)
    assert (custom.label, custom.widget.placeholder) == ("Name", "a nickname")
    assert isinstance(custom.widget, W.Textarea)
    with pytest.raises(TypeError, match=r"EmotionEpisode\.emotions"):
        field_for(EmotionEpisode, "emotions")
