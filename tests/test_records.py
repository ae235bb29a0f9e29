"""Every validation rule of the records, with the words a client reads."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from support import episode_data

from heron_research.errors import FieldProblem, HeronError, RecordValidationError
from heron_research.records import (
    CheckIn,
    CoCounsellingSession,
    EmotionEpisode,
    FocusDecision,
    InquiryCycle,
    Intervention,
    PeerReview,
    Person,
    ProjectionHypothesis,
    Record,
    validate_record,
)
from heron_research.records.scoring import INSTRUMENTS
from heron_research.vocab import SKILLS, emotions, techniques

pytestmark = pytest.mark.unit


def refused(cls: type[Record], data: Any) -> RecordValidationError:
    """The error validating ``data`` as ``cls`` raises (the test fails if it is accepted)."""
    with pytest.raises(RecordValidationError) as caught:
        validate_record(cls, data)
    return caught.value


def only(err: RecordValidationError, *path: str | int) -> FieldProblem:
    """The single problem reported for exactly ``path``."""
    found = [p for p in err.problems if p.field == path]
    assert len(found) == 1, f"expected one problem at {path}, got {err.problems}"
    return found[0]


def hypothesis_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "opened_on": "2025-03-16",
        "situation": "team meetings",
        "reaction": "fury when plans change",
        "echoes": "my father cancelling",
        "unprocessed_emotion": "grief",
    }
    data.update(overrides)
    return data


def review_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "held_on": "2025-03-01",
        "period_start": "2025-02-01",
        "period_end": "2025-02-28",
    }
    data.update(overrides)
    return data


# --- a valid episode ---------------------------------------------------------------------


def test_the_example_episode_is_valid() -> None:
    episode = validate_record(EmotionEpisode, episode_data())

    assert episode.situation.startswith("My manager")
    assert [e.emotion for e in episode.emotions] == ["anger", "fear"]
    assert episode.peak_intensity == 7
    assert episode.sharing == "private"


def test_from_data_refuses_like_validate_record() -> None:
    with pytest.raises(RecordValidationError) as caught:
        EmotionEpisode.from_data(episode_data(situation=""))

    assert [p.field for p in caught.value.problems] == [("situation",)]


# --- situation and emotions ----------------------------------------------------------------


@pytest.mark.parametrize("situation", ["", "   ", "\n\t "])
def test_empty_situation_is_refused(situation: str) -> None:
    err = refused(EmotionEpisode, episode_data(situation=situation))

    problem = only(err, "situation")
    assert problem.label == "Situation"
    assert problem.message == "please fill this in; it can't be empty"
    assert str(err) == (
        "This emotion episode was not saved. Situation: please fill this in; it can't be empty"
    )


def test_missing_situation_asks_for_it() -> None:
    data = episode_data()
    del data["situation"]

    err = refused(EmotionEpisode, data)

    assert only(err, "situation").message == "please fill this in"


def test_no_emotions_is_refused() -> None:
    err = refused(EmotionEpisode, episode_data(emotions=[]))

    problem = only(err, "emotions")
    assert problem.label == "Emotions"
    assert "add at least one emotion" in problem.message
    assert "how strong" in problem.message


@pytest.mark.parametrize("intensity", [-1, 11, 100])
def test_intensity_outside_0_to_10_is_refused(intensity: int) -> None:
    emotions = [{"emotion": "anger", "intensity": 5}, {"emotion": "fear", "intensity": intensity}]

    err = refused(EmotionEpisode, episode_data(emotions=emotions))

    problem = only(err, "emotions", 1, "intensity")
    assert problem.label == "Emotions 2 › Intensity (0-10)"
    assert problem.message == f"must be a whole number from 0 to 10 (you gave {intensity})"
    assert problem.name == "emotions.1.intensity"


@pytest.mark.parametrize(("given", "shown"), [("very", "'very'"), (5.5, "5.5"), ("", "''")])
def test_intensity_that_is_not_a_whole_number_is_refused(given: Any, shown: str) -> None:
    err = refused(EmotionEpisode, episode_data(emotions=[{"emotion": "anger", "intensity": given}]))

    problem = only(err, "emotions", 0, "intensity")
    assert problem.message == f"must be a whole number from 0 to 10 (you gave {shown})"


def test_intensity_left_empty_asks_for_it() -> None:
    err = refused(EmotionEpisode, episode_data(emotions=[{"emotion": "anger", "intensity": None}]))

    assert only(err, "emotions", 0, "intensity").message == "please fill this in"


@pytest.mark.parametrize("intensity", [0, 10, "7", 3.0])
def test_intensity_edges_and_numeric_text_are_accepted(intensity: Any) -> None:
    episode = validate_record(
        EmotionEpisode, episode_data(emotions=[{"emotion": "anger", "intensity": intensity}])
    )

    assert episode.emotions[0].intensity == int(float(intensity))


@pytest.mark.parametrize(
    ("first", "second"),
    [("anger", "anger"), ("Anger", " anger "), ("Weltschmerz", "weltschmerz"), ("a  b", "A B")],
)
def test_an_emotion_listed_twice_is_refused(first: str, second: str) -> None:
    emotions = [{"emotion": first, "intensity": 5}, {"emotion": second, "intensity": 3}]

    err = refused(EmotionEpisode, episode_data(emotions=emotions))

    problem = only(err, "emotions", 1, "emotion")
    assert problem.label == "Emotions 2 › Emotion"
    assert "is listed twice; give each emotion once" in problem.message


def test_custom_emotion_is_kept_as_typed_and_flagged() -> None:
    emotions = [
        {"emotion": "  Weltschmerz  ", "intensity": 6},
        {"emotion": "anger", "intensity": 2},
    ]

    episode = validate_record(EmotionEpisode, episode_data(emotions=emotions))

    custom, known = episode.emotions
    assert (custom.emotion, custom.custom) == ("Weltschmerz", True)
    assert (known.emotion, known.custom) == ("anger", False)


@pytest.mark.parametrize("typed", [" Anger ", "ANGER", "anger", "aNgEr\t"])
def test_vocabulary_emotion_is_normalised(typed: str) -> None:
    episode = validate_record(
        EmotionEpisode, episode_data(emotions=[{"emotion": typed, "intensity": 5}])
    )

    assert episode.emotions[0].emotion == "anger"
    assert episode.emotions[0].custom is False


def test_the_custom_flag_is_decided_by_the_vocabulary_not_the_caller() -> None:
    emotions = [
        {"emotion": "anger", "intensity": 5, "custom": True},
        {"emotion": "Weltschmerz", "intensity": 5, "custom": False},
    ]

    episode = validate_record(EmotionEpisode, episode_data(emotions=emotions))

    assert [e.custom for e in episode.emotions] == [False, True]


# --- self-management ---------------------------------------------------------------------


def test_custom_technique_needs_a_skill() -> None:
    steps = [{"technique": "dancing in the rain", "intensity_after": 2}]

    err = refused(EmotionEpisode, episode_data(self_management=steps))

    problem = only(err, "self_management", 0, "skill")
    assert problem.label == "Self-management 1 › Skill"
    assert problem.message == (
        "choose which skill this technique is: expression, control, catharsis or transmutation"
    )


def test_custom_technique_with_a_skill_is_kept_and_flagged() -> None:
    steps = [{"technique": "Dancing in the rain", "skill": "catharsis", "intensity_after": 2}]

    episode = validate_record(EmotionEpisode, episode_data(self_management=steps))

    step = episode.self_management[0]
    assert (step.technique, step.skill, step.custom) == ("Dancing in the rain", "catharsis", True)


def test_unknown_skill_is_refused_with_the_four_skills() -> None:
    steps = [{"technique": "dancing", "skill": "dancing", "intensity_after": 2}]

    err = refused(EmotionEpisode, episode_data(self_management=steps))

    message = only(err, "self_management", 0, "skill").message
    assert message.startswith("must be one of")
    assert all(repr(skill) in message for skill in SKILLS)
    assert message.endswith("(you gave 'dancing')")


@pytest.mark.parametrize("key", sorted(techniques()))
@pytest.mark.parametrize("typing", [str, str.upper], ids=["as-listed", "upper-case"])
def test_every_known_technique_fills_in_its_skill(key: str, typing: Any) -> None:
    known = techniques()[key]
    steps = [{"technique": f"  {typing(known.technique)} ", "intensity_after": 1}]

    episode = validate_record(EmotionEpisode, episode_data(self_management=steps))

    step = episode.self_management[0]
    assert step.technique == known.technique
    assert step.skill == known.skill
    assert step.custom is False


@pytest.mark.parametrize("key", sorted(emotions()))
def test_every_vocabulary_emotion_is_recognised_as_listed(key: str) -> None:
    term = emotions()[key].term
    episode = validate_record(
        EmotionEpisode, episode_data(emotions=[{"emotion": term, "intensity": 5}])
    )

    assert (episode.emotions[0].emotion, episode.emotions[0].custom) == (term, False)


def test_intensity_before_defaults_to_the_peak_emotion() -> None:
    emotions = [{"emotion": "anger", "intensity": 3}, {"emotion": "shame", "intensity": 8}]
    steps = [
        {"technique": "pausing before acting", "intensity_after": 4},
        {"technique": "writing it out", "intensity_before": 6, "intensity_after": 2},
    ]

    episode = validate_record(
        EmotionEpisode, episode_data(emotions=emotions, self_management=steps)
    )

    assert [s.intensity_before for s in episode.self_management] == [8, 6]


def test_intensity_afterwards_is_required_and_ranged() -> None:
    steps = [
        {"technique": "pausing before acting"},
        {"technique": "writing it out", "intensity_after": 12},
    ]

    err = refused(EmotionEpisode, episode_data(self_management=steps))

    assert only(err, "self_management", 0, "intensity_after").message == "please fill this in"
    problem = only(err, "self_management", 1, "intensity_after")
    assert problem.label == "Self-management 2 › Intensity afterwards (0-10)"
    assert problem.message == "must be a whole number from 0 to 10 (you gave 12)"


# --- proportionality ---------------------------------------------------------------------


@pytest.mark.parametrize("value", [-1, 11])
def test_proportionality_outside_0_to_10_is_refused(value: int) -> None:
    err = refused(EmotionEpisode, episode_data(proportionality=value))

    problem = only(err, "proportionality")
    assert problem.label.startswith("How proportionate the reaction felt")
    assert problem.message == f"must be a whole number from 0 to 10 (you gave {value})"


@pytest.mark.parametrize("value", [None, 0, 10])
def test_proportionality_may_be_left_out_or_at_the_edges(value: int | None) -> None:
    assert validate_record(EmotionEpisode, episode_data(proportionality=value)).proportionality == (
        value
    )


# --- projection hypotheses ---------------------------------------------------------------


def test_hypothesis_needs_a_person_or_a_situation() -> None:
    err = refused(ProjectionHypothesis, hypothesis_data(situation="", person_id=None))

    problem = only(err, "situation")
    assert problem.label == "Situation reacted to"
    assert problem.message == "say who or what the reaction was to (a person or a situation)"


@pytest.mark.parametrize(
    "target", [{"person_id": "p1", "situation": ""}, {"person_id": None, "situation": "meetings"}]
)
def test_hypothesis_with_a_person_or_a_situation_is_accepted(target: dict[str, Any]) -> None:
    hypothesis = validate_record(ProjectionHypothesis, hypothesis_data(**target))

    assert hypothesis.status == "open"


def test_confidence_points_must_be_in_date_order() -> None:
    points = [
        {"on": "2025-04-02", "confidence": 60},
        {"on": "2025-03-16", "confidence": 40},
    ]

    err = refused(ProjectionHypothesis, hypothesis_data(confidence=points))

    problem = only(err, "confidence")
    assert problem.label == "Confidence over time"
    assert problem.message == "confidence ratings must be in date order"


def test_confidence_points_in_order_and_on_the_same_day_are_accepted() -> None:
    points = [
        {"on": "2025-03-16", "confidence": 40},
        {"on": "2025-03-16", "confidence": 45},
        {"on": "2025-04-02", "confidence": 60, "status": "supported"},
    ]

    hypothesis = validate_record(ProjectionHypothesis, hypothesis_data(confidence=points))

    assert [p.confidence for p in hypothesis.confidence] == [40, 45, 60]


def test_confidence_is_0_to_100() -> None:
    points = [{"on": "2025-03-16", "confidence": 101}]

    err = refused(ProjectionHypothesis, hypothesis_data(confidence=points))

    problem = only(err, "confidence", 0, "confidence")
    assert problem.label == "Confidence over time 1 › Confidence (0-100)"
    assert problem.message == "must be a whole number from 0 to 100 (you gave 101)"


def test_evidence_direction_is_supports_or_contradicts() -> None:
    evidence = [{"episode_id": "e1", "direction": "maybe"}]

    err = refused(ProjectionHypothesis, hypothesis_data(evidence=evidence))

    problem = only(err, "evidence", 0, "direction")
    assert problem.label == "Evidence 1 › Supports or contradicts"
    assert problem.message == "must be one of 'supports' or 'contradicts' (you gave 'maybe')"


# --- inquiry cycles, reviews, interventions ----------------------------------------------


def test_inquiry_cycle_cannot_end_before_it_starts() -> None:
    data = {"question": "q", "started_on": "2025-03-10", "ends_on": "2025-03-09"}

    err = refused(InquiryCycle, data)

    problem = only(err, "ends_on")
    assert problem.label == "End date"
    assert problem.message == "must be on or after the start date"


def test_inquiry_cycle_may_end_on_its_start_day() -> None:
    cycle = validate_record(
        InquiryCycle, {"question": "q", "started_on": "2025-03-10", "ends_on": "2025-03-10"}
    )

    assert cycle.ends_on == cycle.started_on


def test_peer_review_period_cannot_end_before_it_starts() -> None:
    err = refused(PeerReview, review_data(period_start="2025-02-10", period_end="2025-02-09"))

    problem = only(err, "period_end")
    assert problem.label == "Period covered: to"
    assert problem.message == "must be on or after the start of the period"


@pytest.mark.parametrize("next_review", ["2025-02-28", "2025-03-01"])
def test_next_review_must_be_after_this_review(next_review: str) -> None:
    err = refused(PeerReview, review_data(next_review_on=next_review))

    problem = only(err, "next_review_on")
    assert problem.label == "Next review date"
    assert problem.message == "must be after the date of this review"


def test_peer_review_ratings_are_0_to_10() -> None:
    err = refused(PeerReview, review_data(ratings={"my_say": 11}))

    problem = only(err, "ratings", "my_say")
    assert problem.label == "My ratings › My say in decisions (0-10)"
    assert problem.message == "must be a whole number from 0 to 10 (you gave 11)"


def test_intervention_needs_a_category() -> None:
    err = refused(Intervention, {"session_on": "2025-02-05", "description": "asked a question"})

    problem = only(err, "intended")
    assert problem.label == "Intended (practitioner)"
    assert problem.message == "choose the intended or the perceived category"


def test_intervention_with_only_the_perceived_category_is_accepted() -> None:
    intervention = validate_record(Intervention, {"perceived": "confronting"})

    assert (intervention.intended, intervention.perceived) == (None, "confronting")


def test_intervention_category_must_be_one_of_the_six() -> None:
    err = refused(Intervention, {"intended": "hypnotic"})

    message = only(err, "intended").message
    for category in (
        "prescriptive",
        "informative",
        "confronting",
        "cathartic",
        "catalytic",
        "supportive",
    ):
        assert repr(category) in message


# --- check-ins ---------------------------------------------------------------------------


@pytest.mark.parametrize("instrument", ["phq9", "gad7", "wellbeing"])
@pytest.mark.parametrize("delta", [-1, 1])
def test_check_in_needs_every_answer(instrument: str, delta: int) -> None:
    spec = INSTRUMENTS[instrument]
    answers = [0] * (spec.n_items + delta)

    err = refused(CheckIn, {"instrument": instrument, "answers": answers})

    problem = only(err, "answers")
    assert problem.label == "Answers"
    assert problem.message == (
        f"{spec.name} has {spec.n_items} questions; please answer all of them "
        f"({len(answers)} answered)"
    )


@pytest.mark.parametrize(
    ("instrument", "bad", "allowed"),
    [
        ("phq9", 4, "0 to 3"),
        ("phq9", -1, "0 to 3"),
        ("gad7", 4, "0 to 3"),
        ("wellbeing", 11, "0 to 10"),
    ],
)
def test_check_in_answers_must_be_in_range(instrument: str, bad: int, allowed: str) -> None:
    answers = [0] * INSTRUMENTS[instrument].n_items
    answers[2] = bad

    err = refused(CheckIn, {"instrument": instrument, "answers": answers})

    problem = only(err, "answers", 2)
    assert problem.label == "Answers 3"
    assert problem.message == f"must be a whole number from {allowed} (you gave {bad})"


@pytest.mark.parametrize("instrument", ["phq9", "gad7", "wellbeing"])
def test_check_in_with_every_answer_in_range_is_accepted(instrument: str) -> None:
    spec = INSTRUMENTS[instrument]
    answers = [spec.answer_max] * spec.n_items

    check_in = validate_record(CheckIn, {"instrument": instrument, "answers": answers})

    assert check_in.answers == answers


def test_unknown_questionnaire_is_refused() -> None:
    err = refused(CheckIn, {"instrument": "bdi", "answers": [0] * 21})

    problem = only(err, "instrument")
    assert problem.label == "Questionnaire"
    assert problem.message == "must be one of 'phq9', 'gad7' or 'wellbeing' (you gave 'bdi')"


# --- fields, years, lengths, times -------------------------------------------------------


def test_unknown_field_is_refused() -> None:
    err = refused(EmotionEpisode, episode_data(mood_colour="blue"))

    problem = only(err, "mood_colour")
    assert problem.label == "Mood colour"
    assert problem.message == "is not something this kind of entry has"


def test_unknown_field_inside_a_part_is_refused() -> None:
    emotions = [{"emotion": "anger", "intensity": 5, "colour": "red"}]

    err = refused(EmotionEpisode, episode_data(emotions=emotions))

    problem = only(err, "emotions", 0, "colour")
    assert problem.label == "Emotions 1 › Colour"
    assert problem.message == "is not something this kind of entry has"


@pytest.mark.parametrize(
    ("cls", "data", "path"),
    [
        (EmotionEpisode, episode_data(occurred_at="1899-12-31T23:59:00+00:00"), ("occurred_at",)),
        (EmotionEpisode, episode_data(occurred_at="2201-01-01T00:00:00"), ("occurred_at",)),
        (InquiryCycle, {"question": "q", "started_on": "1850-05-01"}, ("started_on",)),
        (
            ProjectionHypothesis,
            hypothesis_data(confidence=[{"on": "2300-01-01", "confidence": 5}]),
            ("confidence", 0, "on"),
        ),
        (CoCounsellingSession, {"held_on": "0999-01-01"}, ("held_on",)),
    ],
)
def test_years_outside_1900_to_2200_are_refused(
    cls: type[Record], data: dict[str, Any], path: tuple[Any, ...]
) -> None:
    err = refused(cls, data)

    assert only(err, *path).message == "must be between the years 1900 and 2200"


@pytest.mark.parametrize("when", ["1900-01-01T00:00:00+00:00", "2200-12-31T23:59:59+00:00"])
def test_the_first_and_last_allowed_years_are_accepted(when: str) -> None:
    episode = validate_record(EmotionEpisode, episode_data(occurred_at=when))

    assert episode.occurred_at.year in (1900, 2200)


def test_text_longer_than_20000_characters_is_refused() -> None:
    err = refused(EmotionEpisode, episode_data(notes="x" * 20_001))

    problem = only(err, "notes")
    assert problem.label == "Notes"
    assert problem.message == (
        "is too long (20,001 characters); the most allowed is 20,000 characters"
    )


def test_text_of_exactly_20000_characters_is_accepted() -> None:
    episode = validate_record(EmotionEpisode, episode_data(notes="x" * 20_000))

    assert len(episode.notes) == 20_000


def test_short_fields_have_their_own_limit() -> None:
    err = refused(Person, {"alias": "a" * 81})

    problem = only(err, "alias")
    assert problem.label == "Name or alias"
    assert problem.message == "is too long (81 characters); the most allowed is 80 characters"


@pytest.mark.parametrize(
    ("cls", "data", "path"),
    [
        (
            InquiryCycle,
            {"question": "q", "reflection": {"practical": "x" * 20_001}},
            ("reflection", "practical"),
        ),
        (
            ProjectionHypothesis,
            hypothesis_data(
                evidence=[{"episode_id": "e1", "direction": "supports", "note": "x" * 20_001}]
            ),
            ("evidence", 0, "note"),
        ),
        (EmotionEpisode, episode_data(people=["x" * 20_001]), ("people", 0)),
    ],
    ids=["reflection", "evidence-note", "people-item"],
)
def test_long_text_inside_parts_of_a_record_is_limited_too(
    cls: type[Record], data: dict[str, Any], path: tuple[Any, ...]
) -> None:
    # The 20,000-character limit is checked on a record's own fields only; text inside
    # its parts (a reflection, an evidence note, a list of names) is not limited.
    err = refused(cls, data)

    assert "is too long (20,001 characters)" in only(err, *path).message


def test_naive_time_is_taken_as_local_time(local_timezone: Any) -> None:
    local_timezone("Europe/Amsterdam")
    naive = datetime(2025, 3, 14, 18, 30)

    episode = validate_record(EmotionEpisode, episode_data(occurred_at=naive))
    check_in = validate_record(
        CheckIn, {"taken_at": "2025-07-01T09:15:00", "instrument": "gad7", "answers": [0] * 7}
    )

    assert episode.occurred_at.utcoffset() == timedelta(hours=1)  # CET in March
    assert episode.occurred_at.replace(tzinfo=None) == naive
    assert check_in.taken_at.utcoffset() == timedelta(hours=2)  # CEST in July
    assert check_in.taken_at.hour == 9


def test_aware_time_keeps_its_own_offset(local_timezone: Any) -> None:
    local_timezone("America/New_York")

    episode = validate_record(EmotionEpisode, episode_data(occurred_at="2025-03-14T18:30:00+05:30"))

    assert episode.occurred_at.utcoffset() == timedelta(hours=5, minutes=30)
    assert episode.occurred_at.hour == 18


@pytest.mark.parametrize("given", ["yesterday", "2025-13-01T10:00:00", 10**30])
def test_unreadable_time_says_what_is_allowed(given: Any) -> None:
    err = refused(EmotionEpisode, episode_data(occurred_at=given))

    message = only(err, "occurred_at").message
    assert message.startswith("must be a date and time, like 2025-03-14 18:30 (you gave ")


def test_unreadable_date_says_what_is_allowed() -> None:
    err = refused(InquiryCycle, {"question": "q", "started_on": "14/03/2025"})

    assert only(err, "started_on").message == (
        "must be a date, like 2025-03-14 (you gave '14/03/2025')"
    )


# --- other kinds' rules, briefly ---------------------------------------------------------


def test_person_relationship_must_be_one_of_the_list() -> None:
    err = refused(Person, {"alias": "Sam", "relationship": "cousin"})

    problem = only(err, "relationship")
    assert problem.label == "Relationship"
    assert problem.message.startswith("must be one of 'partner', 'parent'")
    assert problem.message.endswith("or 'other' (you gave 'cousin')")


def test_sharing_must_be_one_of_the_three_levels() -> None:
    err = refused(Person, {"alias": "Sam", "sharing": "public"})

    assert only(err, "sharing").message == (
        "must be one of 'private', 'practitioner' or 'research' (you gave 'public')"
    )


def test_id_may_only_hold_safe_characters() -> None:
    err = refused(Person, {"alias": "Sam", "id": "a b/c"})

    assert only(err, "id").message == "may only contain letters, digits, '-' and '_'"


def test_focus_decision_needs_its_choices() -> None:
    err = refused(FocusDecision, {"decision": "weekly sessions"})

    assert {p.field for p in err.problems} == {("topic",), ("proposed_by",), ("decided_by",)}
    assert all(p.message == "please fill this in" for p in err.problems)


def test_co_counselling_minutes_are_0_to_600() -> None:
    err = refused(
        CoCounsellingSession,
        {
            "held_on": "2025-05-01",
            "peer_alias": "Jo",
            "minutes_as_client": 601,
            "minutes_as_counsellor": -5,
        },
    )

    assert only(err, "minutes_as_client").message == (
        "must be a whole number from 0 to 600 (you gave 601)"
    )
    assert only(err, "minutes_as_counsellor").message == (
        "must be a whole number from 0 to 600 (you gave -5)"
    )


def test_record_data_must_be_a_group_of_fields() -> None:
    err = refused(Person, ["Sam"])

    assert len(err.problems) == 1
    assert err.problems[0].message == "must be a group of fields"
    assert err.problems[0].label


def test_an_enormous_number_is_refused_like_any_other() -> None:
    # Python refuses to turn ints of more than 4,300 digits into text; showing the value
    # back to the client must not crash validation with a bare ValueError.
    err = refused(EmotionEpisode, episode_data(proportionality=10**5000))

    problem = only(err, "proportionality")
    assert problem.message.startswith("must be a whole number from 0 to 10")


# --- all problems at once, and the error itself ------------------------------------------


def test_every_problem_is_reported_at_once() -> None:
    data = episode_data(
        situation="",
        emotions=[{"emotion": "anger", "intensity": 11}, {"emotion": "", "intensity": 2}],
        proportionality="quite",
        occurred_at="not a time",
        mood_colour="blue",
    )

    err = refused(EmotionEpisode, data)

    assert {p.field for p in err.problems} == {
        ("situation",),
        ("emotions", 0, "intensity"),
        ("emotions", 1, "emotion"),
        ("proportionality",),
        ("occurred_at",),
        ("mood_colour",),
    }
    text = str(err)
    assert text.startswith("This emotion episode was not saved. ")
    for problem in err.problems:
        assert f"{problem.label}: {problem.message}" in text


def test_validation_error_is_a_value_error_and_a_heron_error() -> None:
    err = refused(EmotionEpisode, episode_data(situation="", emotions=[{"emotion": "x"}]))

    assert isinstance(err, ValueError)
    assert isinstance(err, HeronError)
    assert err.kind == "emotion_episode"


def test_for_field_selects_problems_by_path_prefix() -> None:
    emotions = [{"emotion": "anger", "intensity": 11}, {"emotion": "fear", "intensity": -1}]

    err = refused(EmotionEpisode, episode_data(situation="", emotions=emotions))

    assert [p.field for p in err.for_field("emotions")] == [
        ("emotions", 0, "intensity"),
        ("emotions", 1, "intensity"),
    ]
    assert [p.field for p in err.for_field("emotions", 1)] == [("emotions", 1, "intensity")]
    assert [p.field for p in err.for_field("situation")] == [("situation",)]
    assert err.for_field("notes") == []


def test_field_problem_reads_as_label_then_message() -> None:
    problem = FieldProblem(field=("emotions", 0, "intensity"), label="Emotions 1", message="m")

    assert str(problem) == "Emotions 1: m"
    assert problem.name == "emotions.0.intensity"
    assert FieldProblem(field=(), label="x", message="m").name == "(record)"


def test_valid_examples_of_every_kind(every_kind: Any) -> None:
    for record in every_kind():
        again = validate_record(type(record), record.to_data())
        assert again == record, record.kind


def test_dates_are_real_dates() -> None:
    cycle = validate_record(InquiryCycle, {"question": "q", "started_on": "2025-03-10"})

    assert cycle.started_on == date(2025, 3, 10)
