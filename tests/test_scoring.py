"""Check-in scoring: PHQ-9 and GAD-7 totals and bands, wellbeing means, reliable change."""

from __future__ import annotations

import math

import pytest

from heron_research.records import CheckIn
from heron_research.records.scoring import (
    INSTRUMENTS,
    SAFETY_NOTE,
    rc_index,
    reliable_change,
    score,
)

pytestmark = pytest.mark.unit


def answers_totalling(total: int, n_items: int, *, item_max: int = 3) -> list[int]:
    """Answers that add up to ``total``, filling the items in order (item 9 last)."""
    answers = []
    left = total
    for _ in range(n_items):
        answers.append(min(item_max, left))
        left -= answers[-1]
    assert left == 0 and sum(answers) == total
    return answers


PHQ9_BANDS = [
    (0, "minimal"),
    (4, "minimal"),
    (5, "mild"),
    (9, "mild"),
    (10, "moderate"),
    (14, "moderate"),
    (15, "moderately severe"),
    (19, "moderately severe"),
    (20, "severe"),
    (27, "severe"),
]

GAD7_BANDS = [
    (0, "minimal"),
    (4, "minimal"),
    (5, "mild"),
    (9, "mild"),
    (10, "moderate"),
    (14, "moderate"),
    (15, "severe"),
    (21, "severe"),
]


@pytest.mark.parametrize(("total", "band"), PHQ9_BANDS)
def test_phq9_band_at_every_boundary(total: int, band: str) -> None:
    result = score("phq9", answers_totalling(total, 9))

    assert result.total == total
    assert result.band == band
    assert result.instrument == "phq9"


@pytest.mark.parametrize(("total", "band"), GAD7_BANDS)
def test_gad7_band_at_every_boundary(total: int, band: str) -> None:
    result = score("gad7", answers_totalling(total, 7))

    assert result.total == total
    assert result.band == band
    assert result.item9_flag is False


def test_phq9_worked_example_with_item_9() -> None:
    result = score("phq9", [1, 2, 3, 0, 1, 2, 1, 1, 1])

    assert result.total == 12
    assert result.band == "moderate"
    assert result.item9_flag is True


def test_phq9_all_zero_is_minimal_and_not_flagged() -> None:
    result = score("phq9", [0] * 9)

    assert (result.total, result.band, result.item9_flag) == (0, "minimal", False)


def test_phq9_highest_answers() -> None:
    result = score("phq9", [3] * 9)

    assert (result.total, result.band, result.item9_flag) == (27, "severe", True)


@pytest.mark.parametrize(("item9", "flagged"), [(0, False), (1, True), (2, True), (3, True)])
def test_phq9_item_9_above_zero_is_always_flagged(item9: int, flagged: bool) -> None:
    result = score("phq9", [0] * 8 + [item9])

    assert result.item9_flag is flagged
    assert result.band == "minimal"  # even a low total is flagged


def test_only_item_9_raises_the_flag() -> None:
    result = score("phq9", [3] * 8 + [0])

    assert (result.total, result.band, result.item9_flag) == (24, "severe", False)


def test_gad7_worked_example() -> None:
    result = score("gad7", [2, 2, 2, 1, 1, 1, 1])

    assert (result.total, result.band) == (10, "moderate")


@pytest.mark.parametrize(
    ("answers", "mean", "band"),
    [
        ([7, 8, 6, 9], 7.5, "good"),
        ([4, 4, 4, 4], 4.0, "middling"),
        ([3, 4, 4, 4], 3.75, "low"),
        ([0, 0, 0, 1], 0.25, "low"),
        ([10, 10, 10, 10], 10.0, "good"),
        ([7, 7, 7, 6], 6.75, "middling"),
    ],
)
def test_wellbeing_score_is_the_mean_of_its_items(
    answers: list[int], mean: float, band: str
) -> None:
    result = score("wellbeing", answers)

    assert result.total == pytest.approx(mean)
    assert result.band == band
    assert result.item9_flag is False


@pytest.mark.parametrize(
    ("instrument", "count"), [("phq9", 8), ("phq9", 10), ("gad7", 6), ("wellbeing", 5)]
)
def test_wrong_number_of_answers_is_refused(instrument: str, count: int) -> None:
    with pytest.raises(ValueError) as caught:
        score(instrument, [0] * count)

    spec = INSTRUMENTS[instrument]
    assert f"has {spec.n_items} questions; {count} answers given" in str(caught.value)


@pytest.mark.parametrize(("instrument", "bad"), [("phq9", 4), ("gad7", -1), ("wellbeing", 11)])
def test_answers_out_of_range_are_refused(instrument: str, bad: int) -> None:
    answers = [0] * INSTRUMENTS[instrument].n_items
    answers[0] = bad

    with pytest.raises(ValueError) as caught:
        score(instrument, answers)

    spec = INSTRUMENTS[instrument]
    assert f"from {spec.answer_min} to {spec.answer_max} (got {bad})" in str(caught.value)


def test_check_in_record_scores_itself() -> None:
    check_in = CheckIn(instrument="phq9", answers=[1, 2, 3, 0, 1, 2, 1, 1, 1])

    assert check_in.result().total == 12
    assert check_in.derived() == {"score": 12.0, "band": "moderate", "item9_flag": True}


def test_safety_note_is_calm_and_says_where_to_turn() -> None:
    assert "Thank you for writing it down" in SAFETY_NOTE
    assert "emergency" in SAFETY_NOTE
    assert "crisis line" in SAFETY_NOTE


def test_every_instrument_cites_its_source() -> None:
    assert "Kroenke" in INSTRUMENTS["phq9"].citation
    assert "Spitzer" in INSTRUMENTS["gad7"].citation
    assert INSTRUMENTS["wellbeing"].citation


# --- reliable change (Jacobson & Truax 1991) ---------------------------------------------


def test_rc_index_matches_a_hand_computation() -> None:
    # SD = 7.5, r = 0.88: SE = 7.5 * sqrt(0.12) = 2.598076...;
    # S_diff = sqrt(2 * SE^2) = 3.674235...; RC = (16 - 30) / S_diff = -3.810317...
    assert rc_index(30, 16, sd=7.5, reliability=0.88) == pytest.approx(-3.8103173776627, abs=1e-9)


@pytest.mark.parametrize(
    ("first", "latest", "sd", "r"),
    [(30, 16, 7.5, 0.88), (10, 14, 5.0, 0.84), (3.5, 3.5, 2.0, 0.5), (12, 0, 1.0, 0.0)],
)
def test_rc_index_is_jacobson_and_truax(first: float, latest: float, sd: float, r: float) -> None:
    se = sd * math.sqrt(1 - r)
    s_diff = math.sqrt(2 * se**2)

    assert rc_index(first, latest, sd, r) == pytest.approx((latest - first) / s_diff)


@pytest.mark.parametrize(("sd", "r"), [(0, 0.8), (-1, 0.8), (5, 1.0), (5, -0.1)])
def test_rc_index_refuses_impossible_figures(sd: float, r: float) -> None:
    with pytest.raises(ValueError) as caught:
        rc_index(10, 5, sd, r)

    assert "sd must be positive" in str(caught.value)


@pytest.mark.parametrize(
    ("instrument", "first", "latest", "verdict"),
    [
        ("phq9", 18, 12, "reliable improvement"),  # -6
        ("phq9", 18, 13, "no reliable change"),  # -5
        ("phq9", 12, 18, "reliable deterioration"),  # +6
        ("phq9", 12, 17, "no reliable change"),  # +5
        ("phq9", 27, 0, "reliable improvement"),
        ("phq9", 9, 9, "no reliable change"),
        ("gad7", 14, 10, "reliable improvement"),  # -4
        ("gad7", 14, 11, "no reliable change"),  # -3
        ("gad7", 6, 10, "reliable deterioration"),  # +4
        ("gad7", 6, 9, "no reliable change"),  # +3
    ],
)
def test_reliable_change_thresholds(instrument: str, first: int, latest: int, verdict: str) -> None:
    result = reliable_change(instrument, first, latest)

    assert result.change == latest - first
    assert result.verdict == verdict
    assert result.index is not None
    # the index agrees with the verdict: |RC| >= 1.96 exactly at the published criterion
    reliable = verdict != "no reliable change"
    assert (abs(result.index) >= 1.96 - 1e-9) is reliable
    assert result.index * (latest - first) >= 0  # same direction as the change


@pytest.mark.parametrize(("instrument", "criterion"), [("phq9", 6), ("gad7", 4)])
def test_reliable_change_index_uses_the_cited_reliability(instrument: str, criterion: int) -> None:
    spec = INSTRUMENTS[instrument]
    assert spec.reliability is not None
    s_diff = criterion / 1.96
    sd = s_diff / math.sqrt(2 * (1 - spec.reliability))

    result = reliable_change(instrument, 20, 20 - criterion)

    assert result.index == pytest.approx(rc_index(20, 20 - criterion, sd, spec.reliability))
    assert result.index == pytest.approx(-1.96)


def test_wellbeing_gives_no_reliable_change_verdict() -> None:
    result = reliable_change("wellbeing", 2.5, 8.75)

    assert result.change == pytest.approx(6.25)
    assert result.index is None
    assert result.verdict is None
