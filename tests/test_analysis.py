"""Analysis functions on hand-made frames, with answers worked out by hand.

Frames are built the way the workbook builds them (records -> ``build_frame``), so the
columns and types are the real ones.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
import pytest

from heron_research.analysis import daily, practice, progress, questions, stats
from heron_research.records import (
    AgendaItem,
    AgendaResponse,
    CheckIn,
    CoCounsellingSession,
    EmotionEpisode,
    FocusDecision,
    Intervention,
    PeerReview,
    Person,
    ProjectionHypothesis,
    Record,
    ReviewRating,
)
from heron_research.records.scoring import rc_index, reliable_change
from heron_research.workbook.frames import build_frame
from heron_research.workbook.store import StoredRecord

pytestmark = pytest.mark.unit

NOW = datetime(2025, 6, 1, tzinfo=UTC)


def frame(table: str, records: list[Record]) -> pd.DataFrame:
    stored = [StoredRecord(record=r, created_at=NOW, updated_at=NOW, revision=1) for r in records]
    return build_frame(table, stored)


def episode(when: str, *emotions: tuple[str, int], **fields: Any) -> EmotionEpisode:
    return EmotionEpisode(
        occurred_at=datetime.fromisoformat(when),
        situation=fields.pop("situation", "something happened"),
        emotions=[{"emotion": e, "intensity": i} for e, i in emotions],
        **fields,
    )


# --- stats ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("df", "expected"),
    [
        # two-sided 95% critical values of Student's t (any statistics table)
        (1, 12.7062047),
        (2, 4.3026527),
        (4, 2.7764451),
        (9, 2.2621572),
        (29, 2.0452296),
        (120, 1.9799304),
    ],
)
def test_t_quantile_matches_the_tables(df: int, expected: float) -> None:
    assert stats.t_quantile(0.975, df) == pytest.approx(expected, abs=1e-6)


def test_t_quantile_is_symmetric_and_centred() -> None:
    assert stats.t_quantile(0.025, 7) == pytest.approx(-stats.t_quantile(0.975, 7))
    assert stats.t_quantile(0.5, 3) == 0.0
    assert stats.t_cdf(stats.t_quantile(0.9, 12), 12) == pytest.approx(0.9, abs=1e-12)


@pytest.mark.parametrize("p", [0.0, 1.0, -0.1, 1.5])
def test_t_quantile_refuses_impossible_probabilities(p: float) -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        stats.t_quantile(p, 5)


def test_paired_change_worked_example() -> None:
    # drops 3, 3, 1, 3, 4: mean 2.8; SD sqrt(4.8 / 4) = 1.0954451; d_z = 2.8 / 1.0954451;
    # half-width t(0.975, 4) * SD / sqrt(5) = 2.7764451 * 0.4898979 = 1.3601748
    change = stats.paired_change([7, 8, 6, 9, 7], [4, 5, 5, 6, 3])

    assert change.n == 5
    assert change.mean_before == pytest.approx(7.4)
    assert change.mean_after == pytest.approx(4.6)
    assert change.mean_drop == pytest.approx(2.8)
    assert change.sd_drop == pytest.approx(math.sqrt(1.2))
    assert change.d_z == pytest.approx(2.8 / math.sqrt(1.2))
    assert change.ci_low == pytest.approx(2.8 - 1.3601748, abs=1e-6)
    assert change.ci_high == pytest.approx(2.8 + 1.3601748, abs=1e-6)
    assert change.size == "large"
    assert change.sentence() == (
        "Rated 5 times: intensity fell by 2.8 points on average (95% interval: a fall of "
        "1.4 to 4.2 points); a large effect."
    )


def test_paired_change_says_when_data_are_too_few() -> None:
    change = stats.paired_change([7, 8, 6], [4, 5, 5])

    assert (change.n, change.enough, change.ci_low, change.d_z) == (3, False, None, None)
    assert change.size == "too few data"
    assert "too few to say" in change.sentence()
    assert change.brief() == "too few ratings to say (5 needed)"


def test_paired_change_with_no_spread_has_no_effect_size() -> None:
    change = stats.paired_change([5, 6, 7, 8, 9], [3, 4, 5, 6, 7])

    assert change.d_z is None
    assert change.size == "the same change every time"
    assert change.sentence().endswith("the same every time.")


def test_paired_change_with_a_rise_and_an_interval_across_zero() -> None:
    change = stats.paired_change([5, 5, 5, 5, 5], [6, 4, 7, 5, 6])

    assert change.mean_drop == pytest.approx(-0.6)
    assert change.ci_low is not None and change.ci_low < 0 < change.ci_high  # type: ignore[operator]
    assert "so no clear change" in change.sentence()
    assert "rose by 0.6" in change.sentence()


def test_paired_change_ignores_missing_pairs() -> None:
    change = stats.paired_change([5, float("nan"), 7], [3, 2, float("nan")])

    assert change.n == 1
    assert change.sentence() == (
        "Rated once: too few to say how well it works (5 or more ratings needed)."
    )


@pytest.mark.parametrize(
    ("d", "words"),
    [(0.0, "negligible"), (0.19, "negligible"), (0.2, "small"), (-0.5, "medium"), (0.8, "large")],
)
def test_effect_words_follow_cohen(d: float, words: str) -> None:
    assert stats.effect_words(d) == words


# --- daily life ------------------------------------------------------------------------------


def test_episodes_per_week_counts_empty_weeks_too() -> None:
    episodes = frame(
        "emotion_episode",
        [
            episode("2025-03-03T09:00:00+00:00", ("anger", 6)),  # Monday
            episode("2025-03-05T21:00:00+00:00", ("fear", 8)),  # Wednesday, same week
            episode("2025-03-17T10:00:00+00:00", ("joy", 3)),  # two weeks later
        ],
    )

    weekly = daily.episodes_per_week(episodes)

    assert list(weekly["week"].dt.strftime("%Y-%m-%d")) == [
        "2025-03-03",
        "2025-03-10",
        "2025-03-17",
    ]
    assert list(weekly["episodes"]) == [2, 0, 1]
    assert weekly["mean_peak"].iloc[0] == pytest.approx(7.0)
    assert daily.episodes_per_week(episodes.iloc[0:0]).empty


def test_weeks_and_hours_use_the_local_wall_clock() -> None:
    # Sunday 23:30 in Berlin is Sunday evening there, even though it is 21:30 UTC
    episodes = frame("emotion_episode", [episode("2025-03-09T23:30:00+01:00", ("anger", 5))])

    when = daily.when_episodes_happen(episodes)

    assert len(when) == 7 * 4
    hit = when[when["episodes"] > 0]
    assert list(zip(hit["weekday"], hit["part"], hit["episodes"], strict=True)) == [
        ("Sun", "evening", 1)
    ]
    assert daily.episodes_per_week(episodes)["week"].iloc[0] == pd.Timestamp("2025-03-03")


def test_emotions_by_family_and_intensity_band() -> None:
    emotions = frame(
        "emotion_episode.emotions",
        [
            episode("2025-03-03T09:00:00+00:00", ("anger", 8), ("fear", 4)),
            episode("2025-03-04T09:00:00+00:00", ("irritation", 2), ("grumpish", 1)),
        ],
    )

    table = daily.emotions_by_family(emotions)

    assert list(table.itertuples(index=False, name=None)) == [
        ("anger", "mild (0-3)", 1),
        ("anger", "strong (7-10)", 1),
        ("fear", "moderate (4-6)", 1),
        ("own words", "mild (0-3)", 1),
    ]
    totals = daily.family_totals(emotions)
    assert list(totals["family"]) == ["anger", "fear", "own words"]
    assert totals["mean_intensity"].iloc[0] == pytest.approx(5.0)


def test_strongest_episodes_latest_first_at_a_tie() -> None:
    records = [
        episode("2025-03-03T09:00:00+00:00", ("anger", 6), situation="early"),
        episode("2025-03-04T09:00:00+00:00", ("fear", 4), ("anger", 9), situation="big"),
        episode("2025-03-05T09:00:00+00:00", ("joy", 9), situation="later big", what_i_did="sang"),
        episode("2025-03-06T09:00:00+00:00", ("calm", 2), situation="quiet"),
    ]

    table = daily.strongest_episodes(
        frame("emotion_episode", records), frame("emotion_episode.emotions", records), top=3
    )

    assert list(table["situation"]) == ["later big", "big", "early"]
    assert list(table["emotions"]) == ["joy 9", "anger 9, fear 4", "anger 6"]
    assert list(table["what_i_did"]) == ["sang", "", ""]


def test_tokens_drop_stop_words_and_short_words() -> None:
    assert daily.tokens("The team MEETING ran late, and I'm tired; it's 9 am") == [
        "team",
        "meeting",
        "ran",
        "late",
        "tired",
    ]


def test_situation_words_count_situations_not_repeats() -> None:
    episodes = frame(
        "emotion_episode",
        [
            episode(
                "2025-03-03T09:00:00+00:00", ("anger", 5), situation="Meeting, meeting, meeting"
            ),
            episode(
                "2025-03-04T09:00:00+00:00", ("anger", 5), situation="The team meeting ran late"
            ),
            episode("2025-03-05T09:00:00+00:00", ("anger", 5), situation="Late train"),
        ],
    )

    words = daily.situation_words(episodes)

    assert list(words.itertuples(index=False, name=None)) == [("late", 2), ("meeting", 2)]


def test_proportionality_by_month() -> None:
    episodes = frame(
        "emotion_episode",
        [
            episode("2025-03-03T09:00:00+00:00", ("anger", 5), proportionality=2),
            episode("2025-03-20T09:00:00+00:00", ("anger", 5), proportionality=6),
            episode("2025-03-21T09:00:00+00:00", ("anger", 5)),
            episode("2025-04-02T09:00:00+00:00", ("anger", 5), proportionality=9),
        ],
    )

    table = daily.proportionality(episodes)

    assert list(table["month"]) == ["March 2025", "April 2025"]
    assert list(table["rated"]) == [2, 1]
    assert list(table["mean"]) == [4.0, 9.0]
    assert list(table["far_too_strong"]) == [1, 0]
    assert list(table["start"]) == [pd.Timestamp("2025-03-01"), pd.Timestamp("2025-04-01")]


def _people_and_episodes() -> tuple[list[Person], list[EmotionEpisode]]:
    sam = Person(alias="Sam", relationship="manager", sharing="practitioner")
    jo = Person(alias="Jo", relationship="partner", sharing="practitioner")
    episodes = [
        episode("2025-02-10T09:00:00+00:00", ("anger", 6), people=[sam.id]),
        episode("2025-03-03T09:00:00+00:00", ("anger", 8), ("fear", 3), people=[sam.id, jo.id]),
        episode("2025-03-04T09:00:00+00:00", ("anger", 7), people=[sam.id]),
        episode("2025-03-05T09:00:00+00:00", ("rage", 9), people=[sam.id]),
        episode("2025-03-06T09:00:00+00:00", ("joy", 4), people=[jo.id, "kept-private"]),
    ]
    return [sam, jo], episodes


def test_by_person_counts_episodes_and_hides_unseen_people() -> None:
    people, episodes = _people_and_episodes()

    table = daily.by_person(
        frame("emotion_episode", episodes),
        frame("emotion_episode.emotions", episodes),
        frame("emotion_episode.people", episodes),
        frame("person", people),
    )

    rows = list(
        table[["person", "relationship", "episodes", "main_family"]].itertuples(
            index=False, name=None
        )
    )
    assert rows == [
        ("Sam", "manager", 4, "anger"),
        ("Jo", "partner", 2, "anger"),  # anger once, fear once, joy once: ties go alphabetically
        ("someone kept private", "", 1, "joy"),
    ]
    assert table["mean_peak"].iloc[0] == pytest.approx((6 + 8 + 7 + 9) / 4)


def test_family_by_context_month() -> None:
    people, episodes = _people_and_episodes()

    table = daily.family_by_context_month(
        frame("emotion_episode", episodes),
        frame("emotion_episode.emotions", episodes),
        frame("emotion_episode.people", episodes),
        frame("person", people),
    )

    at_work = table[(table["family"] == "anger") & (table["context"] == "at work")]
    assert [(str(p), n) for p, n in zip(at_work["period"], at_work["episodes"], strict=True)] == [
        ("2025-02", 1),
        ("2025-03", 3),
    ]
    everywhere = table[(table["family"] == "anger") & (table["context"] == "")]
    assert list(everywhere["episodes"]) == [1, 3]


# --- self-management and co-counselling -----------------------------------------------------


def _managed(
    technique: str, pairs: list[tuple[int, int]], skill: str | None = None
) -> list[EmotionEpisode]:
    return [
        episode(
            f"2025-03-{i + 1:02d}T09:00:00+00:00",
            ("anger", before),
            self_management=[
                {
                    "technique": technique,
                    "skill": skill,
                    "intensity_before": before,
                    "intensity_after": after,
                }
            ],
        )
        for i, (before, after) in enumerate(pairs)
    ]


def test_technique_effects_and_what_works() -> None:
    records = (
        _managed("slow breathing", [(7, 4), (8, 5), (6, 5), (9, 6), (7, 3)])
        + _managed("humming", [(5, 6), (5, 4), (5, 7), (5, 5), (5, 6)], skill="control")
        + _managed("storming", [(8, 2), (7, 3)])
    )
    sm = frame("emotion_episode.self_management", records)

    effects = practice.technique_effects(sm)

    assert list(effects["technique"]) == ["slow breathing", "humming", "storming"]
    breathing = effects.iloc[0]
    assert breathing["skill"] == "control"
    assert breathing["n"] == 5
    assert breathing["mean_drop"] == pytest.approx(2.8)
    assert breathing["ci_low"] == pytest.approx(1.4398252, abs=1e-6)
    assert breathing["size"] == "large"
    assert not effects.iloc[2]["enough"]
    assert effects.iloc[2]["brief"] == "too few ratings to say (5 needed)"
    assert list(practice.what_works(sm)["technique"]) == ["slow breathing"]


def test_skills_used_in_herons_order() -> None:
    records = (
        _managed("storming", [(8, 2)])
        + _managed("saying how I feel", [(5, 3), (6, 3)])
        + _managed("slow breathing", [(5, 3)])
    )

    skills = practice.skills_used(frame("emotion_episode.self_management", records))

    assert list(skills.itertuples(index=False, name=None)) == [
        ("expression", "saying how I feel", 2),
        ("control", "slow breathing", 1),
        ("catharsis", "storming", 1),
    ]


def test_co_counselling_totals() -> None:
    sessions = frame(
        "co_counselling_session",
        [
            CoCounsellingSession(
                held_on=date(2025, 5, 1),
                peer_alias="Jo",
                minutes_as_client=30,
                minutes_as_counsellor=30,
            ),
            CoCounsellingSession(
                held_on=date(2025, 5, 8),
                peer_alias="jo",
                minutes_as_client=45,
                minutes_as_counsellor=20,
                contract="intensive",
            ),
            CoCounsellingSession(
                held_on=date(2025, 5, 15),
                peer_alias="Ana",
                minutes_as_client=30,
                minutes_as_counsellor=30,
            ),
        ],
    )

    summary = practice.co_counselling(sessions)

    assert (summary.sessions, summary.peers) == (3, 2)
    assert (summary.minutes_as_client, summary.minutes_as_counsellor) == (105, 80)
    assert summary.balance == "25 more minutes as client"
    assert summary.by_contract == {"normal": 2, "intensive": 1}
    assert practice.co_counselling(sessions.iloc[0:0]).balance == "no sessions yet"


# --- hypotheses, decisions, check-ins, interventions, reviews, agenda -----------------------


def test_hypotheses_evidence_and_confidence() -> None:
    sam = Person(alias="Sam", relationship="manager")
    old = ProjectionHypothesis(
        opened_on=date(2025, 1, 5),
        situation="team meetings",
        reaction="dread",
        echoes="school",
        unprocessed_emotion="shame",
        status="supported",
        evidence=[{"episode_id": "e1", "direction": "supports"}],
    )
    active = ProjectionHypothesis(
        opened_on=date(2025, 2, 1),
        person_id=sam.id,
        reaction="fury when Sam corrects me",
        echoes="Dad's red pen",
        unprocessed_emotion="humiliation",
        status="testing",
        evidence=[
            {"episode_id": "e2", "direction": "supports"},
            {"episode_id": "e3", "direction": "supports"},
            {"episode_id": "e4", "direction": "contradicts"},
        ],
        confidence=[
            {"on": date(2025, 2, 1), "confidence": 40},
            {"on": date(2025, 3, 1), "confidence": 70},
        ],
    )
    hyps = [old, active]

    table = progress.hypotheses(
        frame("projection_hypothesis", hyps),
        frame("projection_hypothesis.evidence", hyps),
        frame("projection_hypothesis.confidence", hyps),
        frame("person", [sam]),
    )

    assert list(table["label"]) == ["H2", "H1"]  # labels by opening date; active first
    first = table.iloc[0]
    assert (first["target"], first["supports"], first["contradicts"]) == ("Sam", 2, 1)
    assert (first["first_confidence"], first["latest_confidence"]) == (40, 70)
    assert table.iloc[1]["target"] == "team meetings"
    conf = progress.confidence_over_time(table, frame("projection_hypothesis.confidence", hyps))
    assert list(conf["confidence"]) == [40, 70]
    assert conf["hypothesis"].iloc[0] == "H2: fury when Sam corrects me"


def test_decision_share_by_month() -> None:
    def decided(day: date, how: str) -> FocusDecision:
        return FocusDecision(
            decided_on=day, topic="focus", decision="x", proposed_by="both", decided_by=how
        )

    decisions = frame(
        "focus_decision",
        [
            decided(date(2025, 1, 5), "hierarchy"),
            decided(date(2025, 1, 20), "co-operation"),
            decided(date(2025, 2, 3), "autonomy"),
            decided(date(2025, 2, 10), "autonomy"),
            decided(date(2025, 2, 17), "co-operation"),
            decided(date(2025, 2, 24), "autonomy"),
        ],
    )

    share = progress.decision_share(decisions)

    january = share[share["month"] == "January 2025"].set_index("decided_by")["share"]
    february = share[share["month"] == "February 2025"].set_index("decided_by")
    assert dict(january) == {"autonomy": 0.0, "co-operation": 0.5, "hierarchy": 0.5}
    assert dict(february["decisions"]) == {"autonomy": 3, "co-operation": 1, "hierarchy": 0}
    assert february.loc["autonomy", "share"] == pytest.approx(0.75)
    assert questions.decision_question(questions.Evidence(decisions=share)) == (
        "You decided more on your own lately (75% of decisions in February 2025): what "
        "would you like to decide next?"
    )


def test_reliable_change_jacobson_truax_worked_example() -> None:
    # Jacobson & Truax (1991), J Consult Clin Psychol 59(1):12-19, p. 14: a pretest of 64
    # and a posttest of 33 on the Global Distress Scale of the Marital Satisfaction
    # Inventory, with a pretreatment SD of 7.5 and test-retest reliability .80:
    # S_E = 7.5 * sqrt(.20) = 3.35, S_diff = sqrt(2 * 3.35^2) = 4.74, RC = -31 / 4.74 = -6.54.
    assert rc_index(64, 33, sd=7.5, reliability=0.80) == pytest.approx(-6.54, abs=0.005)


def test_checkins_reliable_change_from_the_first_score() -> None:
    def check(day: int, instrument: str, answers: list[int]) -> CheckIn:
        return CheckIn(
            taken_at=datetime(2025, 3, day, 9, 0, tzinfo=UTC),
            instrument=instrument,
            answers=answers,
        )

    records = [
        check(1, "phq9", [3, 3, 3, 3, 3, 3, 0, 0, 0]),  # 18
        check(8, "phq9", [3, 3, 2, 2, 2, 1, 1, 0, 0]),  # 14: -4, not reliable
        check(15, "phq9", [3, 2, 2, 2, 1, 1, 0, 0, 0]),  # 11: -7, reliable improvement
        check(1, "gad7", [2, 2, 2, 1, 1, 0, 0]),  # 8
        check(15, "gad7", [2, 2, 2, 2, 2, 1, 1]),  # 12: +4, reliable deterioration
        check(1, "wellbeing", [5, 5, 5, 5]),
        check(15, "wellbeing", [8, 8, 8, 8]),
    ]

    table = progress.checkins(frame("check_in", records))

    phq = table[table["instrument"] == "phq9"]
    assert list(phq["score"]) == [18, 14, 11]
    assert list(phq["change"]) == [0, -4, -7]
    assert list(phq["verdict"]) == [
        "no reliable change",
        "no reliable change",
        "reliable improvement",
    ]
    assert list(phq["band"]) == ["moderately severe", "moderate", "moderate"]
    gad = table[table["instrument"] == "gad7"]
    assert list(gad["verdict"]) == ["no reliable change", "reliable deterioration"]
    assert table[table["instrument"] == "wellbeing"]["verdict"].isna().all()
    # the same arithmetic as scoring.reliable_change, which the report must not redo
    assert reliable_change("phq9", 18, 11).verdict == "reliable improvement"

    summary = progress.checkin_summary(table)
    assert dict(zip(summary["instrument"], summary["latest"], strict=True)) == {
        "gad7": 12.0,
        "phq9": 11.0,
        "wellbeing": 8.0,
    }
    question = questions.measure_question(questions.Evidence(measures=summary))
    assert question == (
        "Your GAD-7 (anxiety) score rose reliably since the first check-in (8 to 12): what "
        "has changed, and what support would help?"
    )


def test_item9_flag_comes_through() -> None:
    records = [
        CheckIn(taken_at=datetime(2025, 3, 1, tzinfo=UTC), instrument="phq9", answers=[1] * 9)
    ]

    assert bool(progress.checkins(frame("check_in", records))["item9_flag"].iloc[0]) is True


def test_intervention_agreement() -> None:
    records = [
        Intervention(session_on=date(2025, 3, 1), intended="catalytic", perceived="catalytic"),
        Intervention(session_on=date(2025, 3, 1), intended="supportive", perceived="supportive"),
        Intervention(session_on=date(2025, 3, 8), intended="confronting", perceived="prescriptive"),
        Intervention(session_on=date(2025, 3, 8), intended="informative", perceived="informative"),
        Intervention(session_on=date(2025, 3, 15), intended="cathartic"),
    ]

    pairs, agreement, n = progress.intervention_agreement(frame("intervention", records))

    assert (agreement, n) == (0.75, 4)
    assert int(pairs["interventions"].sum()) == 4
    assert questions.intervention_question(questions.Evidence(agreement=(0.25, 4))) == (
        "Only 1 of 4 interventions were perceived as intended: talk through the ones that "
        "landed differently?"
    )
    assert questions.intervention_question(questions.Evidence(agreement=(agreement, n))) is None


def test_review_ratings_long_form() -> None:
    reviews = [
        PeerReview(
            held_on=date(2025, 3, 1),
            period_start=date(2025, 2, 1),
            period_end=date(2025, 2, 28),
            ratings={"focus": 6, "overall": 7},
            agreed_outcome="continue",
        ),
        PeerReview(
            held_on=date(2025, 4, 1),
            period_start=date(2025, 3, 1),
            period_end=date(2025, 3, 31),
            ratings={"focus": 8, "my_say": 9},
            agreed_outcome="change",
        ),
    ]

    ratings = progress.review_ratings(frame("peer_review", reviews))

    assert list(ratings.itertuples(index=False, name=None)) == [
        (pd.Timestamp("2025-03-01"), "focus", 6),
        (pd.Timestamp("2025-03-01"), "overall", 7),
        (pd.Timestamp("2025-04-01"), "focus", 8),
        (pd.Timestamp("2025-04-01"), "my say in decisions", 9),
    ]
    assert list(progress.review_decisions(frame("peer_review", reviews))["agreed_outcome"]) == [
        "continue",
        "change",
    ]


def test_review_ratings_are_the_clients_own_where_they_gave_them() -> None:
    """The client's review rating linked to a review wins; a review without one keeps the
    ratings older versions wrote on it; a rating not linked yet is placed on its own day."""
    legacy = PeerReview(
        held_on=date(2025, 3, 1),
        period_start=date(2025, 2, 1),
        period_end=date(2025, 2, 28),
        ratings={"focus": 6},
        client_view="continue",
        practitioner_view="continue",
    )
    rated_review = PeerReview(
        held_on=date(2025, 4, 1),
        period_start=date(2025, 3, 1),
        period_end=date(2025, 3, 31),
        practitioner_view="continue",
    )
    mine = [
        ReviewRating(review_id=rated_review.id, rated_on=date(2025, 4, 2), ratings={"focus": 9}),
        ReviewRating(
            review_id=rated_review.id,
            rated_on=date(2025, 3, 30),  # saved later, dated earlier: not the latest
            ratings={"focus": 2},
            client_view="end",
        ),
        ReviewRating(rated_on=date(2025, 4, 20), ratings={"overall": 7}, client_view="pause"),
    ]
    reviews = frame("peer_review", [legacy, rated_review])
    ratings = frame("review_rating", mine)

    long = progress.review_ratings(reviews, ratings)
    assert list(long.itertuples(index=False, name=None)) == [
        (pd.Timestamp("2025-03-01"), "focus", 6),
        (pd.Timestamp("2025-04-01"), "focus", 9),
        (pd.Timestamp("2025-04-20"), "overall", 7),
    ]
    decisions = progress.review_decisions(reviews, ratings)
    assert decisions["client_view"].iloc[0] == "continue"  # legacy, from the review
    assert pd.isna(decisions["client_view"].iloc[1])  # the latest rating gave no view
    assert decisions["client_view"].dtype == "category"
    assert list(decisions["practitioner_view"]) == ["continue", "continue"]
    assert progress.rated(reviews, frame("review_rating", [])) is reviews
    only_loose = progress.review_ratings(frame("peer_review", []), frame("review_rating", mine[2:]))
    assert list(only_loose["value"]) == [7]


def test_agenda_puts_the_clients_items_first() -> None:
    items = [
        AgendaItem(
            raised_on=date(2025, 3, 2), raised_by="practitioner", item_type="question", text="p"
        ),
        AgendaItem(raised_on=date(2025, 3, 3), item_type="request", text="more time"),
        AgendaItem(raised_on=date(2025, 3, 4), item_type="satisfaction", text="logging helps"),
        AgendaItem(
            raised_on=date(2025, 1, 4), item_type="dissatisfaction", text="old", review_id="r1"
        ),
        AgendaItem(
            raised_on=date(2025, 1, 5),
            item_type="request",
            text="done",
            review_id="r1",
            resolved=True,
        ),
    ]

    new, earlier = progress.agenda(frame("agenda_item", items))

    assert list(new["text"]) == ["logging helps", "more time", "p"]
    assert list(earlier["text"]) == ["old"]
    assert questions.agenda_question(questions.Evidence(open_items=earlier)) == (
        "1 item from an earlier review is still open: settle or drop?"
    )


def test_agenda_takes_each_items_state_from_its_latest_response() -> None:
    """Responses are the practitioner's own records; an item without one keeps the state
    that older versions wrote on the item itself."""
    answered_once = AgendaItem(raised_on=date(2025, 3, 2), item_type="request", text="once")
    followed_up = AgendaItem(raised_on=date(2025, 3, 3), item_type="question", text="twice")
    between = AgendaItem(raised_on=date(2025, 3, 4), item_type="request", text="between")
    untouched = AgendaItem(raised_on=date(2025, 3, 5), item_type="satisfaction", text="new")
    legacy = AgendaItem(
        raised_on=date(2025, 1, 5), item_type="request", text="old", review_id="r0", response="x"
    )

    def respond(item: AgendaItem, on: int, resolved: bool, review: str | None) -> AgendaResponse:
        return AgendaResponse(
            agenda_item_id=item.id,
            responded_on=date(2025, 4, on),
            response=f"{item.text} on {on}",
            resolved=resolved,
            review_id=review,
        )

    responses = [
        respond(followed_up, 24, True, "r2"),  # saved first, dated later: it is the latest
        respond(answered_once, 1, False, "r1"),
        respond(followed_up, 1, False, "r1"),
        respond(between, 1, False, "r1"),
        respond(between, 10, False, None),  # not at a review: still discussed at r1
    ]
    items = frame("agenda_item", [answered_once, followed_up, between, untouched, legacy])
    answers = frame("agenda_response", responses)

    state = progress.answered(items, answers).set_index("text")
    assert state.loc["twice", ["review_id", "response", "resolved"]].tolist() == [
        "r2",
        "twice on 24",
        True,
    ]
    assert state.loc["between", ["review_id", "response"]].tolist() == ["r1", "between on 10"]
    assert state.loc["old", ["review_id", "response"]].tolist() == ["r0", "x"]  # legacy
    assert pd.isna(state.loc["new", "review_id"]) and state.loc["new", "response"] == ""
    assert state["resolved"].dtype == "boolean" and state["review_id"].dtype == "string"

    new, earlier = progress.agenda(items, answers)
    assert list(new["text"]) == ["new"]
    assert list(earlier["text"]) == ["old", "once", "between"]  # requests, by date
    assert list(earlier["response"]) == ["x", "once on 1", "between on 10"]
    assert progress.answered(items, frame("agenda_response", [])) is items


# --- closing questions --------------------------------------------------------------------


def test_closing_questions_find_the_month_anger_at_work_rose() -> None:
    sam = Person(alias="Sam", relationship="manager")
    records = [episode("2025-02-03T09:00:00+00:00", ("anger", 6), people=[sam.id])]
    records += [
        episode(f"2025-03-{d:02d}T09:00:00+00:00", ("anger", 7), people=[sam.id])
        for d in (3, 5, 10, 12, 20)
    ]
    table = daily.family_by_context_month(
        frame("emotion_episode", records),
        frame("emotion_episode.emotions", records),
        frame("emotion_episode.people", records),
        frame("person", [sam]),
    )

    asked = questions.closing_questions(questions.Evidence(family_context=table))

    assert asked == [
        "Anger at work rose in March 2025 (from 1 to 5 episodes): discuss?",
        questions.CONTINUATION_QUESTION,
    ]


def test_closing_questions_always_end_with_continuation() -> None:
    assert questions.closing_questions(questions.Evidence()) == [questions.CONTINUATION_QUESTION]
    assert "Continue, change, pause or end?" in questions.CONTINUATION_QUESTION


def test_technique_question_names_the_clearest_help() -> None:
    records = _managed("slow breathing", [(7, 4), (8, 5), (6, 5), (9, 6), (7, 3)])
    effects = practice.technique_effects(frame("emotion_episode.self_management", records))

    assert questions.technique_question(questions.Evidence(effects=effects)) == (
        "“slow breathing” eased feelings the most (by 2.8 points on average): use it more, "
        "or try it in new situations?"
    )


# --- vocabularies: one ordered tuple each, from the models --------------------------------


def test_vocabularies_follow_the_models_literal_order() -> None:
    from heron_research.analysis import cohort, vocabulary
    from heron_research.records import InquiryCycle, allowed_values

    assert allowed_values(ProjectionHypothesis, "status") == vocabulary.HYPOTHESIS_STATUSES
    assert allowed_values(InquiryCycle, "status") == vocabulary.INQUIRY_STATUSES
    assert allowed_values(FocusDecision, "decided_by") == vocabulary.DECIDED_BY
    assert allowed_values(AgendaItem, "item_type") == vocabulary.AGENDA_TYPES
    assert allowed_values(PeerReview, "client_view") == vocabulary.OUTCOMES
    for field in ("intended", "perceived"):
        assert allowed_values(Intervention, field) == vocabulary.INTERVENTION_CATEGORIES
    # two modules cannot order a vocabulary differently: they hold the same tuple
    assert progress.DECIDED_BY is cohort.DECIDED_BY is vocabulary.DECIDED_BY
    assert cohort.HYPOTHESIS_STATUSES is vocabulary.HYPOTHESIS_STATUSES
    assert progress.ACTIVE_STATUSES is questions.ACTIVE_STATUSES


def test_grouped_orders_put_the_group_first_then_the_model_order() -> None:
    from heron_research.analysis import vocabulary as v

    # the orders the reports list hypotheses and inquiries in
    assert v.HYPOTHESIS_ORDER == ("open", "testing", "revised", "supported", "refuted", "resolved")
    assert v.INQUIRY_ORDER == (
        "acting",
        "observing",
        "reflecting",
        "planning",
        "completed",
        "abandoned",
    )
    assert sorted(v.HYPOTHESIS_ORDER) == sorted(v.HYPOTHESIS_STATUSES)
    assert v.first(("c", "a"), ("a", "b", "c")) == ("a", "c", "b")
    with pytest.raises(ValueError, match="archived not among"):
        v.subset(v.HYPOTHESIS_STATUSES, "open", "archived")


def test_intervention_categories_agree_with_the_vocabulary_file() -> None:
    from heron_research.vocab import interventions

    assert tuple(interventions()) == progress.INTERVENTION_CATEGORIES


def test_labels_come_from_the_field_titles() -> None:
    from heron_research.analysis import vocabulary
    from heron_research.records import Ratings, Reflection

    assert vocabulary.RATINGS == {
        "ratings_focus": "focus",
        "ratings_method": "method",
        "ratings_relationship": "relationship",
        "ratings_my_say": "my say in decisions",
        "ratings_overall": "overall",
    }
    assert len(vocabulary.RATINGS) == len(Ratings.model_fields)
    assert vocabulary.REFLECTION["reflection_practical"] == "Practical: what I can now do"
    assert list(vocabulary.REFLECTION.values()) == [
        f.title for f in Reflection.model_fields.values()
    ]
    # the keys are the frames' column names
    assert set(vocabulary.RATINGS) <= set(frame("peer_review", []).columns)
    assert set(vocabulary.REFLECTION) <= set(frame("inquiry_cycle", []).columns)


def test_answer_words_are_declared_once_per_instrument() -> None:
    from heron_research.records.scoring import ANSWER_WORDS, INSTRUMENTS

    phq9, gad7, wellbeing = (INSTRUMENTS[k] for k in ("phq9", "gad7", "wellbeing"))
    assert phq9.answer_choices() == (
        ("0: not at all", 0),
        ("1: several days", 1),
        ("2: more than half the days", 2),
        ("3: nearly every day", 3),
    )
    assert gad7.answer_words == phq9.answer_words
    assert wellbeing.answer_choices() == tuple((str(i), i) for i in range(11))
    assert ANSWER_WORDS["phq9"] == (
        "0 not at all, 1 several days, 2 more than half the days, 3 nearly every day"
    )
    assert ANSWER_WORDS["wellbeing"] == "0 (worst) to 10 (best)"
    assert [i.max_score for i in INSTRUMENTS.values()] == [27, 21, 10]


def test_parts_of_day_cover_every_hour_once() -> None:
    from heron_research.research.anonymise import part_of_day as minute_part
    from heron_research.vocab import PARTS_OF_DAY, part_of_day

    hours = [h for _, first, stop in PARTS_OF_DAY for h in range(first, stop)]
    assert hours == list(range(24))
    assert [part_of_day(h) for h in (0, 5, 6, 11, 12, 17, 18, 23)] == [
        "night",
        "night",
        "morning",
        "morning",
        "afternoon",
        "afternoon",
        "evening",
        "evening",
    ]
    assert all(minute_part(h * 60 + 59) == part_of_day(h) for h in range(24))
    assert daily.PARTS_OF_DAY is PARTS_OF_DAY
    with pytest.raises(ValueError, match="0-23"):
        part_of_day(24)


def test_every_relationship_has_a_context() -> None:
    from heron_research.records import allowed_values

    assert sorted(daily.CONTEXTS) == sorted(allowed_values(Person, "relationship"))
