"""Scoring of the standard check-in measures: PHQ-9, GAD-7 and our own wellbeing items.

PHQ-9 and GAD-7 are in the public domain ("no permission is required to reproduce,
translate, display or distribute", Pfizer / the PHQ screeners site). Figures used here:

* PHQ-9: nine items scored 0-3, total 0-27. Severity bands 0-4 minimal, 5-9 mild,
  10-14 moderate, 15-19 moderately severe, 20-27 severe.
  Kroenke K, Spitzer RL, Williams JBW (2001). The PHQ-9: validity of a brief depression
  severity measure. J Gen Intern Med 16(9):606-613. Test-retest reliability r = 0.84
  (same paper: PHQ-9 in clinic and by telephone within 48 hours).
* GAD-7: seven items scored 0-3, total 0-21. Bands 0-4 minimal, 5-9 mild, 10-14
  moderate, 15-21 severe.
  Spitzer RL, Kroenke K, Williams JBW, Löwe B (2006). A brief measure for assessing
  generalized anxiety disorder: the GAD-7. Arch Intern Med 166(10):1092-1097.
  Test-retest reliability (intraclass correlation) 0.83.
* Reliable change follows Jacobson NS, Truax P (1991). Clinical significance: a
  statistical approach to defining meaningful change in psychotherapy research.
  J Consult Clin Psychol 59(1):12-19:

      SE = SD * sqrt(1 - r);  S_diff = sqrt(2 * SE**2);  RC = (x2 - x1) / S_diff,

  a change is reliable when |RC| > 1.96. The SD used is the one that, with the
  reliability above, reproduces the reliable-change criteria used across England's NHS
  Talking Therapies services (IAPT Data Handbook v2.0, 2011, and later editions of the
  NHS Talking Therapies Manual): a change of 6 or more PHQ-9 points and 4 or more GAD-7
  points. We store that criterion and derive S_diff = criterion / 1.96 from it, so the
  arithmetic is Jacobson and Truax's and the threshold is the published one. For our own
  0-10 wellbeing items no published figures exist, so no reliable-change verdict is given.

PHQ-9 item 9 asks about thoughts of being better off dead or of self-harm; any answer
above 0 is flagged so that it is always surfaced, calmly, wherever scores are shown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "ANSWER_WORDS",
    "INSTRUMENTS",
    "SAFETY_NOTE",
    "Instrument",
    "ReliableChange",
    "Score",
    "rc_index",
    "reliable_change",
    "score",
]


@dataclass(frozen=True)
class Instrument:
    key: str
    name: str
    items: tuple[str, ...]
    answer_min: int
    answer_max: int
    #: (lowest total, band name) in ascending order
    bands: tuple[tuple[int, str], ...]
    #: change in total points that counts as reliable (None: no published figure)
    reliable_change_points: float | None
    reliability: float | None
    mean_of_items: bool = False  # wellbeing: the score is the mean, not the sum
    citation: str = ""
    #: the words of each answer from ``answer_min`` up (empty: the answers are a 0-10 scale)
    answer_words: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.answer_words and len(self.answer_words) != self.answer_max - self.answer_min + 1:
            raise ValueError(f"{self.name}: give one answer word per answer value")

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def max_score(self) -> int:
        """The highest score: the sum of the highest answers, or for a mean the highest answer."""
        return self.answer_max if self.mean_of_items else self.answer_max * self.n_items

    def answer_choices(self) -> tuple[tuple[str, int], ...]:
        """Each answer as (label, value): "0: not at all" ... for worded answers, "0" ... "10"
        for a scale. The forms show these."""
        values = range(self.answer_min, self.answer_max + 1)
        if not self.answer_words:
            return tuple((str(v), v) for v in values)
        return tuple((f"{v}: {w}", v) for v, w in zip(values, self.answer_words, strict=True))


#: PHQ-9 and GAD-7 share their answers: how often over the last two weeks.
_HOW_OFTEN = ("not at all", "several days", "more than half the days", "nearly every day")

PHQ9 = Instrument(
    key="phq9",
    name="PHQ-9 (depression)",
    items=(
        "Little interest or pleasure in doing things",
        "Feeling down, depressed, or hopeless",
        "Trouble falling or staying asleep, or sleeping too much",
        "Feeling tired or having little energy",
        "Poor appetite or overeating",
        "Feeling bad about yourself, or that you are a failure or have let yourself or "
        "your family down",
        "Trouble concentrating on things, such as reading the newspaper or watching television",
        "Moving or speaking so slowly that other people could have noticed, or the opposite: "
        "being so fidgety or restless that you have been moving around a lot more than usual",
        "Thoughts that you would be better off dead, or of hurting yourself in some way",
    ),
    answer_min=0,
    answer_max=3,
    bands=(
        (0, "minimal"),
        (5, "mild"),
        (10, "moderate"),
        (15, "moderately severe"),
        (20, "severe"),
    ),
    reliable_change_points=6,
    reliability=0.84,
    citation="Kroenke, Spitzer & Williams (2001), J Gen Intern Med 16:606-613",
    answer_words=_HOW_OFTEN,
)

GAD7 = Instrument(
    key="gad7",
    name="GAD-7 (anxiety)",
    items=(
        "Feeling nervous, anxious, or on edge",
        "Not being able to stop or control worrying",
        "Worrying too much about different things",
        "Trouble relaxing",
        "Being so restless that it is hard to sit still",
        "Becoming easily annoyed or irritable",
        "Feeling afraid, as if something awful might happen",
    ),
    answer_min=0,
    answer_max=3,
    bands=((0, "minimal"), (5, "mild"), (10, "moderate"), (15, "severe")),
    reliable_change_points=4,
    reliability=0.83,
    citation="Spitzer, Kroenke, Williams & Löwe (2006), Arch Intern Med 166:1092-1097",
    answer_words=_HOW_OFTEN,
)

WELLBEING = Instrument(
    key="wellbeing",
    name="Wellbeing (our own 0-10 items)",
    items=(
        "Overall, how well have I been this week?",
        "How connected have I felt to the people who matter to me?",
        "How well have I been able to handle my feelings?",
        "How much energy and interest have I had for my daily life?",
    ),
    answer_min=0,
    answer_max=10,
    bands=((0, "low"), (4, "middling"), (7, "good")),
    reliable_change_points=None,
    reliability=None,
    mean_of_items=True,
    citation="heron-research's own items; no norms",
)

INSTRUMENTS: dict[str, Instrument] = {i.key: i for i in (PHQ9, GAD7, WELLBEING)}

#: Each instrument's answers in words, for one line of text (a codebook, a caption).
ANSWER_WORDS: dict[str, str] = {
    key: (
        ", ".join(f"{v} {w}" for v, w in enumerate(spec.answer_words, start=spec.answer_min))
        if spec.answer_words
        else f"{spec.answer_min} (worst) to {spec.answer_max} (best)"
    )
    for key, spec in INSTRUMENTS.items()
}

SAFETY_NOTE = (
    "You said that thoughts of being better off dead or of hurting yourself came up. "
    "Thank you for writing it down. Please talk to someone about it soon: your "
    "practitioner, your doctor, or someone you trust. If you feel you might act on these "
    "thoughts, or you are not safe right now, contact your local emergency number or a "
    "crisis line straight away."
)


@dataclass(frozen=True)
class Score:
    instrument: str
    total: float
    band: str
    item9_flag: bool


def score(instrument: str, answers: list[int] | tuple[int, ...]) -> Score:
    """Score a complete set of answers. Raises ValueError for a wrong count or range."""
    spec = INSTRUMENTS[instrument]
    if len(answers) != spec.n_items:
        raise ValueError(f"{spec.name} has {spec.n_items} questions; {len(answers)} answers given")
    for a in answers:
        if not spec.answer_min <= a <= spec.answer_max:
            raise ValueError(
                f"each answer must be from {spec.answer_min} to {spec.answer_max} (got {a})"
            )
    total: float = sum(answers)
    if spec.mean_of_items:
        total = round(total / spec.n_items, 2)
    band = spec.bands[0][1]
    for lowest, name in spec.bands:
        if total >= lowest:
            band = name
    flag = instrument == "phq9" and answers[8] > 0
    return Score(instrument=instrument, total=total, band=band, item9_flag=flag)


def rc_index(first: float, latest: float, sd: float, reliability: float) -> float:
    """Jacobson and Truax's reliable change index for a change from ``first`` to ``latest``.

    ``sd`` is the standard deviation of the reference (pre-treatment) group and
    ``reliability`` the measure's test-retest reliability.
    """
    if sd <= 0 or not 0 <= reliability < 1:
        raise ValueError("sd must be positive and reliability in [0, 1)")
    se = sd * math.sqrt(1 - reliability)
    s_diff = math.sqrt(2 * se**2)
    return (latest - first) / s_diff


@dataclass(frozen=True)
class ReliableChange:
    change: float  # latest - first, in points (negative = fewer symptoms for PHQ-9/GAD-7)
    index: float | None  # Jacobson-Truax RC; None where the instrument has no figures
    verdict: Literal["reliable improvement", "reliable deterioration", "no reliable change"] | None


def reliable_change(instrument: str, first: float, latest: float) -> ReliableChange:
    """Reliable change of ``latest`` against the client's ``first`` score.

    For PHQ-9 and GAD-7 lower is better. S_diff is derived from the published criterion
    (see the module docstring), so ``|index| >= 1.96`` exactly at the criterion.
    """
    spec = INSTRUMENTS[instrument]
    change = latest - first
    if spec.reliable_change_points is None or spec.reliability is None:
        return ReliableChange(change=change, index=None, verdict=None)
    s_diff = spec.reliable_change_points / 1.96
    sd = s_diff / math.sqrt(2 * (1 - spec.reliability))
    index = rc_index(first, latest, sd, spec.reliability)
    if abs(change) >= spec.reliable_change_points:
        verdict = "reliable improvement" if change < 0 else "reliable deterioration"
    else:
        verdict = "no reliable change"
    return ReliableChange(change=change, index=index, verdict=verdict)
