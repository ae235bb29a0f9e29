"""Issue 14, items 2-5: the display rounding rule and the numbers a review states."""

from __future__ import annotations

import pandas as pd

from heron_research.analysis import daily
from heron_research.analysis.rounding import fixed, percent, score, signed


def test_halves_round_up_in_display() -> None:
    assert f"{4.25:.1f}" == "4.2"  # what Python does, and what the reports no longer print
    assert fixed(4.25) == "4.3"
    assert fixed(2.675, 2) == "2.68"
    assert fixed(-4.25) == "-4.3"
    assert fixed(float("nan")) == ""
    assert percent(0.125) == "13%"
    assert (score(12.0), score(3.25), signed(-6.0), signed(3.0), signed(0.0)) == (
        "12",
        "3.25",
        "-6",
        "+3",
        "0",
    )


def test_episodes_per_family_and_word_match_plain_pandas() -> None:
    emotions = pd.DataFrame(
        {
            "emotion_episode_id": ["a", "a", "b", "c", "c"],
            "emotion": ["anger", "irritation", "anger", "fear", "anger"],
            "intensity": [5, 3, 7, 2, 4],
        }
    )
    words = daily.episodes_per_word(emotions).set_index("emotion")["episodes"].to_dict()
    assert words == emotions.groupby("emotion")["emotion_episode_id"].nunique().to_dict()
    families = daily.episodes_per_family(emotions).set_index("family")["episodes"].to_dict()
    family = emotions["emotion"].map(daily.emotion_family)
    assert families == emotions.groupby(family)["emotion_episode_id"].nunique().to_dict()
    assert families[daily.emotion_family("anger")] == 3  # a, b, c: a counts once
