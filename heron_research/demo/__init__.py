"""Synthetic demo workbooks: a fictional client's programme, made from a seed.

:func:`write_demo` (what ``heron-research demo`` runs) writes ``demo.heron`` into a folder;
:func:`generate_demo` makes a workbook at any new path; :class:`DemoStory` is the pure
generation step, the writes in time order, for benchmarks that want the records alone.

The story, by default a year from Monday 6 January 2025 (times in Europe/London):

* a register of people (aliases only: "Sam", "Mum", "J." ...);
* 3-6 emotion episodes a week at times that fit them (work on weekdays, family at the
  weekend), emotions from the vocabulary with the odd word of the client's own,
  intensities that fall slowly, self-management that is used more and works better, and
  a spike of anger at work in the third calendar month (March for the default start);
* projection hypotheses whose evidence and confidence accumulate, saved again and again
  as their status moves on; inquiry cycles linked to them, with reflections in the four
  ways of knowing;
* weekly sessions with interventions (intended and perceived categories) and focus
  decisions that move from hierarchy towards autonomy; practitioner reactions;
* monthly peer reviews with the client's agenda items, ratings and views on continuing,
  one with dissent, the last one ending the programme; then co-counselling sessions;
* fortnightly PHQ-9, GAD-7 and wellbeing check-ins that improve (PHQ-9 item 9 above 0
  exactly once, early on);
* a consent ledger: everything at the start, research withdrawn mid-way and given again;
* a few private entries, a few edits, a deleted duplicate, a deletion undone.

What happens, and every word of it, is in ``data/demo/`` (read by :mod:`.load` into the
types of :mod:`.story`); no real person is described. The simulation decides when and
how strongly, from ``random.Random(seed)`` and a simulated clock: the same arguments give
the same workbook, byte for byte in its export, on any machine and in any local time zone.

The package, along the flow: :mod:`.story` and :mod:`.load` (the story as data),
:mod:`.clock` (calendar and replay clock), :mod:`.timeline` (beats and writes in time
order), :mod:`.stage` (the context each beat gets), :mod:`.beats` (:data:`BEATS`: which
beat writes each record kind), the beats themselves in :mod:`.episodes`,
:mod:`.sessions`, :mod:`.inquiry` and :mod:`.reviews`, :mod:`.simulate`
(:class:`DemoStory`), :mod:`.summary` and :mod:`.write` (the workbook on disk).
"""

from __future__ import annotations

from heron_research.demo.beats import BEATS
from heron_research.demo.clock import DEFAULT_START, TIME_ZONE
from heron_research.demo.simulate import DemoStory
from heron_research.demo.summary import DemoSummary
from heron_research.demo.timeline import DemoWrite
from heron_research.demo.write import DEMO_FILE, generate_demo, write_demo

__all__ = [
    "BEATS",
    "CUSTOM_WORDS",
    "DEFAULT_START",
    "DEMO_FILE",
    "TIME_ZONE",
    "DemoStory",
    "DemoSummary",
    "DemoWrite",
    "generate_demo",
    "write_demo",
]


def __getattr__(name: str) -> object:
    # CUSTOM_WORDS comes from the story's files, read when first asked for, not at import
    if name == "CUSTOM_WORDS":
        from heron_research.demo.load import demo_story

        return demo_story().episodes.custom_words
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
