"""Analysis: pure functions from the workbook's typed frames to small tables and sentences.

Nothing here reads a workbook or draws a chart: frames in, small DataFrames (or plain
values) out, each tested on hand-made frames with known answers.

* :mod:`~heron_research.analysis.stats`: paired change, Student's t interval, effect sizes.
* :mod:`~heron_research.analysis.daily`: emotion episodes (over time, families, people,
  situation words, time of day, proportionality).
* :mod:`~heron_research.analysis.practice`: self-management techniques and co-counselling.
* :mod:`~heron_research.analysis.progress`: hypotheses, inquiries, decisions, check-ins,
  interventions, peer reviews and the agenda.
* :mod:`~heron_research.analysis.questions`: questions for the session, from the data.
* :mod:`~heron_research.analysis.rounding`: numbers as reports print them (halves up).
* :mod:`~heron_research.analysis.vocabulary`: the statuses, ways of deciding, outcomes and
  labels analysis and reports group and order by, drawn from the record models.
"""

from heron_research.analysis import (
    daily,
    practice,
    progress,
    questions,
    rounding,
    stats,
    vocabulary,
)

__all__ = ["daily", "practice", "progress", "questions", "rounding", "stats", "vocabulary"]
