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

Every text is written for this module; no real person is described. Everything comes
from ``random.Random(seed)`` and a simulated clock: the same arguments give the same
workbook, byte for byte in its export, on any machine and in any local time zone.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import os
import random
import textwrap
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from heron_research.errors import WorkbookBusyError, WorkbookError
from heron_research.principles import current_principles
from heron_research.records import (
    AgendaItem,
    CheckIn,
    CoCounsellingSession,
    ConsentEntry,
    EmotionEpisode,
    Evidence,
    FocusDecision,
    InquiryCycle,
    Intervention,
    PeerReview,
    Person,
    PractitionerReaction,
    ProjectionHypothesis,
    Record,
    Sharing,
)
from heron_research.vocab import emotions as emotion_vocabulary
from heron_research.workbook.files import private_folder
from heron_research.workbook.locks import open_elsewhere
from heron_research.workbook.store import Workbook, remove_workbook_files, sync_folder

__all__ = [
    "DEFAULT_START",
    "DEMO_FILE",
    "TIME_ZONE",
    "DemoStory",
    "DemoSummary",
    "DemoWrite",
    "generate_demo",
    "write_demo",
]

#: The demo client lives in London; every local time in the demo is in this zone.
TIME_ZONE = ZoneInfo("Europe/London")
#: The programme starts on a Monday.
DEFAULT_START = date(2025, 1, 6)
#: The file :func:`write_demo` writes in its folder.
DEMO_FILE = "demo.heron"

PRIVATE, PRACTITIONER, RESEARCH = Sharing.PRIVATE, Sharing.PRACTITIONER, Sharing.RESEARCH
TUE, THU, SUN = 1, 3, 6


# --- the result ------------------------------------------------------------------------

_KIND_WORDS: dict[str, tuple[str, str]] = {
    "emotion_episode": ("emotion episode", "emotion episodes"),
    "projection_hypothesis": ("projection hypothesis", "projection hypotheses"),
    "inquiry_cycle": ("inquiry cycle", "inquiry cycles"),
    "focus_decision": ("focus decision", "focus decisions"),
    "peer_review": ("peer review", "peer reviews"),
    "agenda_item": ("agenda item", "agenda items"),
    "check_in": ("check-in", "check-ins"),
    "intervention": ("intervention", "interventions"),
    "practitioner_reaction": ("practitioner reaction", "practitioner reactions"),
    "co_counselling_session": ("co-counselling session", "co-counselling sessions"),
    "consent": ("consent entry", "consent entries"),
    "person": ("person", "people"),
}


def _n(count: int, kind: str) -> str:
    one, many = _KIND_WORDS.get(kind, (kind.replace("_", " "), kind.replace("_", " ") + "s"))
    return f"{count:,} {one if count == 1 else many}"


@dataclass(frozen=True)
class DemoSummary:
    """What a demo workbook holds, and a short summary for people (:meth:`lines`)."""

    path: Path
    seed: int
    years: float
    episodes_per_week: tuple[int, int]
    workbook_id: str
    period: tuple[date, date]  # first and last day, inclusive
    programme_end: date  # the day of the last peer review
    counts: dict[str, int]  # records of each kind (not counting deleted ones)
    deleted: int  # deleted records (restorable)
    revisions: int  # saved versions, deletions and restores included
    private: int  # records only the client can see
    consent: tuple[str, ...]  # scopes in force at the end of the period
    principles_current: bool

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def lines(self) -> list[str]:
        """A few lines for a person: where the file is, what it holds, what to try."""
        first, last = self.period
        weeks = ((last - first).days + 1) // 7
        entries = ", ".join(_n(self.counts[k], k) for k in _KIND_WORDS if self.counts.get(k, 0))
        consent = ", ".join(self.consent) if self.consent else "none"
        if self.consent and self.principles_current:
            consent += " (to the current principles)"
        deleted = f"{self.deleted:,} deleted (restorable)"
        return [
            f"Demo workbook: {self.path} (only you can read it)",
            f"Synthetic data for a fictional client (seed {self.seed}); no real people.",
            f"Period: {first.isoformat()} to {last.isoformat()} ({weeks} weeks; the "
            f"programme ended at the peer review on {self.programme_end.isoformat()})",
            *textwrap.wrap(
                f"Entries: {self.total:,} in all: {entries}",
                width=92,
                subsequent_indent="  ",
                break_on_hyphens=False,
            ),
            f"History: {self.revisions:,} saved versions, {deleted}; "
            f"{self.private:,} private entries only you can see",
            f"Consent in force: {consent}",
            f"Try: heron-research check {self.path}",
            f"     heron-research export {self.path}",
        ]


@dataclass(frozen=True)
class DemoWrite:
    """One write to the workbook, at a simulated moment (UTC)."""

    at: datetime
    action: Literal["save", "delete", "restore"]
    record: Record | None = None
    record_id: str = ""


# --- the synthetic content ---------------------------------------------------------------

# alias, relationship, notes, sharing
_PEOPLE: tuple[tuple[str, str, str, Sharing], ...] = (
    ("Sam", "manager", "My manager since last autumn", PRACTITIONER),
    ("Priya", "colleague", "Sits next to me; kind and very organised", PRACTITIONER),
    ("Tom", "colleague", "", PRACTITIONER),
    ("J.", "partner", "Together nine years", PRACTITIONER),
    ("Rosie", "child", "Seven; loves drawing", PRACTITIONER),
    ("Mum", "parent", "", PRACTITIONER),
    ("Dad", "parent", "", PRACTITIONER),
    ("Ellie", "sibling", "Younger sister", PRACTITIONER),
    ("Ana", "friend", "From the running club", PRACTITIONER),
    ("the neighbour", "other", "Flat upstairs", PRACTITIONER),
    ("Alex", "practitioner", "My practitioner in the programme", PRACTITIONER),
    ("M.", "other", "An ex; rarely comes up", PRIVATE),
)


@dataclass(frozen=True)
class _Context:
    name: str
    day_weights: tuple[float, float, float, float, float, float, float]  # Monday first
    weekday_hours: tuple[tuple[float, float], ...]
    weekend_hours: tuple[tuple[float, float], ...]
    thoughts: tuple[str, ...]
    work: bool = False


@dataclass(frozen=True)
class _Scene:
    context: str
    text: str
    people: tuple[str, ...]
    emotions: tuple[tuple[str, int], ...]  # (term, weight): the first pick is the strongest
    level: float = 0.0  # intensity offset
    theme: str = ""
    pleasant: bool = False
    private: float = 0.0  # extra chance that the client keeps it private
    days: tuple[int, ...] = ()  # the weekdays it can happen on (Monday is 0); () any
    hours: tuple[float, float] | None = None  # when in the day, if not the context's

    def fits(self, day: date) -> bool:
        return not self.days or day.weekday() in self.days


_ON_DAYS = {"sat": (5,), "sun": (6,), "weekend": (5, 6)}


_WORK_THOUGHTS = (
    "I can never get it right for them",
    "Why in front of everyone?",
    "They think I'm useless",
    "Here we go again",
    "I should have checked it twice",
    "It's not fair",
    "Say something!",
    "Everyone is looking at me",
)

_CONTEXTS: tuple[_Context, ...] = (
    _Context("work_sam", (3, 3, 3, 3, 2.5, 0, 0), ((9, 17.5),), (), _WORK_THOUGHTS, work=True),
    _Context("work_team", (2, 2, 2, 2, 2, 0, 0), ((9, 17.5),), (), _WORK_THOUGHTS, work=True),
    _Context(
        "monday_meeting",
        (2.5, 0, 0, 0, 0, 0, 0),
        ((9.5, 10.75),),
        (),
        ("Don't say anything stupid", "Everyone is looking at me", "Just get it over with"),
        work=True,
    ),
    _Context(
        "commute",
        (1, 1, 1, 1, 1, 0, 0),
        ((7.75, 8.9), (17.5, 18.9)),
        (),
        ("Of course, today of all days", "Why is everyone so rude?", "I'll be late again"),
    ),
    _Context(
        "partner",
        (1.5, 1.5, 1.5, 1.5, 2, 3, 2.5),
        ((18.5, 23),),
        ((9, 12), (12, 18), (18, 23)),
        (
            "Something's happened to them",
            "They don't care enough to text",
            "I'm always the one who waits",
            "Not this again",
            "Maybe I'm too much",
        ),
    ),
    _Context(
        "mum",
        (0.5, 0.5, 0.5, 0.5, 0.5, 2, 3),
        ((18, 21),),
        ((10, 19),),
        (
            "Nothing I do is enough for her",
            "Why does it still get to me?",
            "Just let it go",
            "Same old story",
        ),
    ),
    _Context(
        "family",
        (0.5, 0.5, 0.5, 0.5, 0.8, 3, 3),
        ((17.5, 20.5),),
        ((8.5, 19.5),),
        ("I'm getting this wrong", "Why is it always me?", "Breathe", "Same old story"),
    ),
    _Context(
        "friends",
        (0.3, 0.3, 0.5, 0.5, 1, 2.5, 1.5),
        ((18.5, 22.5),),
        ((10, 22),),
        ("They don't really want me there", "Maybe I said something wrong", "I'm boring"),
    ),
    _Context(
        "alone",
        (1.5, 1, 1, 1, 1, 1.5, 2.5),
        ((5.5, 7.5), (12, 14), (21, 23.75)),
        ((5.5, 7.5), (9, 18), (21, 23.75)),
        (
            "What if it all goes wrong?",
            "I'll never sort this out",
            "Stop going over it",
            "I should be further on by now",
        ),
    ),
)
_CONTEXT_BY_NAME = {c.name: c for c in _CONTEXTS}

# [context], then per scene: the situation, and indented beneath it
#   people (aliases) | emotions (term and weight) | intensity offset | theme | flags
# The theme is what projection hypotheses look for. Flags: "pleasant", "private <chance>",
# "on <sat|sun|weekend>" (only then), "at <from>-<to>" (hours, instead of the context's).
_SCENE_TABLE = """
[work_sam]
Sam pointed out a mistake in my report in front of the whole team
    Sam, Priya, Tom | anger 3, humiliation 2, shame 2 | 1 | sam_public |
Sam corrected my slides during the client call, with everyone watching
    Sam, Priya | anger 3, embarrassment 2, frustration 1 | 1 | sam_public |
One-to-one with Sam: feedback on the project plan
    Sam | anxiety 2, irritation 2, relief 1 | -1 | sam_private |
Sam asked for the figures again, a day earlier than we agreed
    Sam | frustration 3, anger 1, worry 1 | 0 |  |
Sam changed the priorities for the week without asking me
    Sam | anger 2, resentment 2, frustration 2 | 0 |  |
Sam praised Priya's work in the meeting and didn't mention mine
    Sam, Priya | hurt 2, jealousy 1, resentment 1 | 0 |  |
Sam's email said only 'Can we talk about the report?'
    Sam | dread 2, anxiety 2, fear 1 | 0 |  |
Sam thanked me for sorting out the supplier problem
    Sam | pride 2, surprise 1, relief 1 | 0 |  | pleasant
[work_team]
Priya said my draft still needs a lot of work
    Priya | irritation 2, shame 1, hurt 1 | 0 | peer_feedback |
Tom presented my idea as his own in the planning meeting
    Tom | anger 2, resentment 2, hurt 1 | 0 |  |
Tom talked over me twice in the stand-up
    Tom | irritation 3, anger 1 | 0 |  | at 9-10
The deadline moved forward and the whole team was on edge
    Priya, Tom | anxiety 2, overwhelm 2, frustration 1 | 0 |  |
The team went for drinks and nobody asked me
     | loneliness 2, hurt 2 | 0 |  | private 0.3 at 17-19
Priya helped me untangle the spreadsheet
    Priya | gratitude 3, relief 2 | 0 |  | pleasant
Lunch with Priya; we laughed about the printer saga
    Priya | joy 2, contentment 2 | 0 |  | pleasant at 12-14
[monday_meeting]
Waiting for my turn to speak in the Monday team meeting
    Sam, Priya, Tom | dread 3, anxiety 2, self-consciousness 1 | 0.5 | monday |
Presented the weekly numbers at the Monday meeting
    Sam, Priya | anxiety 2, self-consciousness 2, relief 1 | 0 | monday |
Spoke first in the Monday meeting
    Sam | fear 2, pride 1, relief 1 | -0.5 | monday |
[commute]
Train cancelled; I was going to be late for the meeting
     | frustration 3, anxiety 2 | 0 |  | at 7.75-8.9
Someone pushed past me on the crowded platform
     | irritation 3, anger 1 | 0 |  |
Stuck in the tunnel for twenty minutes
     | anxiety 2, panic 1, irritation 1 | 0 |  |
A stranger helped me carry my bike up the stairs
     | gratitude 2, surprise 2 | 0 |  | pleasant
[partner]
J. was late home and hadn't texted
    J. | panic 2, fear 2, anger 1 | 1 | j_late | at 18.5-23
J. was an hour late but had texted from the train
    J. | worry 2, irritation 1, relief 1 | -1 | j_texted | at 18.5-23
J. and I argued about the washing up
    J. | irritation 2, anger 2, resentment 1 | 0 |  |
J. said they want a weekend away with their friends
    J. | insecurity 2, hurt 1, loneliness 1 | 0 |  |
J. was on their phone all evening
    J. | loneliness 2, irritation 2 | 0 |  |
Cooked dinner with J. and laughed a lot
    J. | joy 2, love 2, contentment 1 | 0 |  | pleasant at 18-21.5
J. gave me a long hug when I came in tired
    J. | tenderness 2, gratitude 2, relief 1 | 0 |  | pleasant at 18-22
[mum]
Mum rang and asked again when I'll get a 'proper job'
    Mum | irritation 3, resentment 2, guilt 1 | 0.5 | mum_critical |
Sunday lunch at Mum's; she commented on what I was eating
    Mum, Dad | anger 2, shame 2, irritation 1 | 0 | mum_critical | on sun at 12-15.5
Mum phoned just to say she'd seen a heron by the canal
    Mum | irritation 2, tenderness 2, guilt 1 | -2.5 | mum_kind |
Mum asked how I was and actually listened
    Mum | irritation 1, tenderness 2, surprise 1 | -2.5 | mum_kind |
Mum in hospital for tests; waiting for her call
    Mum, Ellie | fear 3, worry 2, dread 1 | 1 |  |
[family]
Family dinner: Dad went on about my brother's promotion
    Dad, Mum | hurt 2, resentment 2, sadness 1 | 0 |  |
Dad phoned to tell me how to fix my car
    Dad | irritation 2, anger 1, guilt 1 | 0 |  |
Ellie cancelled our plans at the last minute
    Ellie | disappointment 3, irritation 1 | 0 |  |
Rosie had a meltdown in the supermarket
    Rosie | embarrassment 2, frustration 2, overwhelm 1 | 0 |  |
Helped Rosie with her maths homework and she got it
    Rosie | pride 2, joy 2, tenderness 1 | 0 |  | pleasant
Rosie drew a picture of us at the seaside
    Rosie, J. | love 3, joy 2 | 0 |  | pleasant
[friends]
Ana didn't reply to my message for three days
    Ana | insecurity 2, hurt 2, worry 1 | 0 |  |
Dinner with old friends; I felt like the odd one out
    Ana | loneliness 2, self-consciousness 2, sadness 1 | 0 |  | at 18.5-22.5
Coffee with Ana; told her about the workbook
    Ana | gratitude 2, relief 1, hope 1 | 0 |  | pleasant
Park run with Ana; knocked a minute off my time
    Ana | pride 2, joy 2, excitement 1 | 0 |  | pleasant on sat at 9-10
[alone]
Lying awake going over what Sam said
    Sam | anger 2, shame 2, anxiety 2 | 0 |  | private 0.1 at 22-23.75
Sunday evening, thinking about the week ahead
     | dread 2, anxiety 2 | 0 |  | on sun at 18-22
Woke at five and couldn't get back to sleep
     | anxiety 2, worry 2, loneliness 1 | 0 |  | at 5-6.5
Forgot to pay a bill and got a late fee
     | shame 2, frustration 2, anger 1 | 0 |  |
The neighbour's music at midnight, again
    the neighbour | irritation 3, anger 2 | 0 |  | at 23-23.75
Looked through old photos of Grandad
     | grief 2, longing 2, tenderness 1 | 0 |  | private 0.6
Saw M. across the street
    M. | surprise 2, longing 1, sadness 1 | 0 |  | private 0.9
Walked by the river on my own
     | calm 3, contentment 2 | 0 |  | pleasant
Read back through a month of my workbook
     | curiosity 2, hope 2, pride 1 | 0 |  | pleasant
"""


def _parse_scenes(table: str) -> tuple[_Scene, ...]:
    scenes: list[_Scene] = []
    context, text = "", ""
    for line in table.strip().splitlines():
        if line.startswith("["):
            context = line.strip("[]")
        elif not line.startswith(" "):
            text = line.strip()
        else:
            people, emotions, level, theme, flags = (p.strip() for p in line.split("|"))
            pairs = (e.strip().rsplit(" ", 1) for e in emotions.split(","))
            words = flags.split()
            options: dict[str, Any] = {"pleasant": "pleasant" in words}
            for key, value in itertools.pairwise([*words, ""]):
                if key == "private":
                    options["private"] = float(value)
                elif key == "on":
                    options["days"] = _ON_DAYS[value]
                elif key == "at":
                    lo, hi = value.split("-")
                    options["hours"] = (float(lo), float(hi))
            scenes.append(
                _Scene(
                    context=context,
                    text=text,
                    people=tuple(a.strip() for a in people.split(",") if a.strip()),
                    emotions=tuple((term, int(weight)) for term, weight in pairs),
                    level=float(level),
                    theme=theme,
                    **options,
                )
            )
    return tuple(scenes)


_SCENES = _parse_scenes(_SCENE_TABLE)
_SPIKE_SCENES = tuple(
    s for s in _SCENES if s.context in ("work_sam", "work_team") and not s.pleasant
)
_SPIKE_CONTEXTS = {"work_sam": 3.0, "work_team": 1.5}
_SCENES_BY_CONTEXT: dict[str, tuple[_Scene, ...]] = {
    c.name: tuple(s for s in _SCENES if s.context == c.name) for c in _CONTEXTS
}

#: The client's own words, not in the vocabulary (kept as typed, flagged custom).
CUSTOM_WORDS = ("wobbly", "flat", "gutted", "wound up", "rattled", "small")

_BODY = (
    "tight jaw",
    "hot face",
    "stomach dropped",
    "shoulders up by my ears",
    "heart racing",
    "lump in my throat",
    "clenched fists",
    "heavy chest",
    "shaky hands",
    "knot in my stomach",
    "headache behind my eyes",
    "couldn't get a full breath",
)
_BODY_PLEASANT = (
    "warm chest",
    "loose shoulders",
    "light, easy breathing",
    "smiling without meaning to",
    "settled stomach",
)
_THOUGHTS_PLEASANT = (
    "This is nice",
    "I did that",
    "I'm lucky",
    "Maybe things are changing",
    "I want more of this",
)
_DID_EARLY = (
    "said nothing and fumed",
    "snapped, then apologised",
    "went quiet for the rest of the day",
    "ate a whole packet of biscuits",
    "scrolled my phone for an hour",
    "wrote an angry reply and didn't send it",
    "left the room",
)
_DID_LATER = (
    "noticed it, breathed, then answered calmly",
    "said how I felt, without blaming",
    "asked for what I needed",
    "took five minutes outside, then went back in",
    "wrote it out in the workbook",
    "told J. about it in the evening",
    "named the echo to myself and let it pass",
)
_DID_PLEASANT = ("stayed with it", "told someone about it", "wrote it down to remember it")
_NOTES = (
    "Logged this later from memory",
    "Came back to this the next morning",
    "Not sure the intensity is right",
    "Worth bringing to the next session",
)
_EDIT_NOTES = (
    "Looking back, it was more hurt than anger.",
    "Added later: it faded quickly once I'd eaten.",
    "On reflection the reaction fitted the situation better than I thought.",
    "Talked it over with J. the next day; it felt smaller.",
)

# technique: (progress at which the client has learned it, mean drop in intensity,
#             emotion families it suits best)
_TECHNIQUES: dict[str, tuple[float, float, tuple[str, ...]]] = {
    "pausing before acting": (0.0, 1.5, ()),
    "slow breathing": (0.0, 2.0, ("fear", "anger", "distress")),
    "leaving the situation": (0.0, 1.0, ()),
    "redirecting attention": (0.0, 0.7, ()),
    "talking it through with a friend": (0.0, 2.5, ()),
    "writing it out": (0.1, 2.2, ()),
    "saying how I feel": (0.2, 2.8, ("anger", "sadness", "shame")),
    "setting it aside for later": (0.2, 1.2, ()),
    "crying": (0.15, 3.5, ("sadness",)),
    "asking for what I need": (0.3, 2.4, ()),
    "laughing": (0.3, 2.6, ("shame", "fear")),
    "body awareness": (0.25, 2.4, ()),
    "storming": (0.35, 3.8, ("anger",)),
    "trembling or shaking": (0.4, 3.0, ("fear",)),
    "reframing": (0.4, 3.0, ()),
    "meditation": (0.5, 2.2, ()),
    "creative expression": (0.5, 2.0, ("sadness",)),
    "loving-kindness": (0.55, 2.0, ("anger", "disgust")),
    "imagery": (0.6, 1.8, ()),
    "co-counselling session": (1.0, 4.2, ()),
}
#: techniques the client named in their own words: (technique, skill, mean drop)
_OWN_TECHNIQUES = (
    ("cold water on my face", "control", 1.4),
    ("singing in the car", "catharsis", 2.6),
)

# --- hypotheses and inquiry cycles ------------------------------------------------------


@dataclass(frozen=True)
class _HypothesisPlan:
    key: str
    person: str | None
    situation: str
    reaction: str
    echoes: str
    unprocessed: str
    prediction: str
    themes: tuple[str, ...]
    targets: tuple[str, ...]  # emotions whose strength counts as evidence
    prior: int
    schedule: tuple[tuple[float, str], ...]  # (programme progress, status from then)
    end: float  # progress of the last update
    private_until: float = 0.0
    # a revision: progress, new echoes, new unprocessed emotion, new prediction
    revision: tuple[float, str, str, str] | None = None


_HYPOTHESES: tuple[_HypothesisPlan, ...] = (
    _HypothesisPlan(
        key="sam",
        person="Sam",
        situation="",
        reaction="Hot anger and a sinking, ashamed feeling when Sam corrects my work, "
        "worst when others are watching",
        echoes="Dad going through my school homework at the kitchen table with a red pen, "
        "pointing only at the mistakes",
        unprocessed="humiliation, and anger I never showed him",
        prediction="My anger will be much stronger when Sam corrects me in front of others "
        "than in a one-to-one, and will drop when I name the echo to myself.",
        themes=("sam_public", "sam_private", "peer_feedback"),
        targets=("anger", "humiliation", "shame", "embarrassment", "frustration", "irritation"),
        prior=40,
        schedule=((0.08, "open"), (0.16, "testing"), (0.6, "supported")),
        end=0.75,
    ),
    _HypothesisPlan(
        key="j",
        person="J.",
        situation="",
        reaction="Panic, then anger, when J. is late home and I haven't heard from them",
        echoes="Waiting at the window for Mum to come home when I was small",
        unprocessed="fear of being left",
        prediction="The panic will come whenever J. is late, even when they have texted.",
        themes=("j_late", "j_texted"),
        targets=("panic", "fear", "anxiety", "worry"),
        prior=50,
        schedule=(
            (0.2, "open"),
            (0.25, "testing"),
            (0.5, "revised"),
            (0.56, "testing"),
            (0.85, "supported"),
        ),
        end=0.9,
        revision=(
            0.5,
            "Not being told what was happening the year Mum was in hospital",
            "fear and grief at being kept in the dark",
            "When J. texts, the panic will not come: it is the not knowing, not the lateness.",
        ),
    ),
    _HypothesisPlan(
        key="mum",
        person="Mum",
        situation="",
        reaction="Irritation that flares at almost anything Mum says on the phone",
        echoes="Being the child who had to keep the peace at home",
        unprocessed="resentment at looking after everyone's feelings",
        prediction="The irritation will flare even when Mum is being kind.",
        themes=("mum_kind", "mum_critical"),
        targets=("irritation", "resentment", "anger"),
        prior=45,
        schedule=((0.3, "open"), (0.35, "testing"), (0.72, "refuted")),
        end=0.8,
        private_until=0.42,
    ),
    _HypothesisPlan(
        key="monday",
        person=None,
        situation="Speaking in the Monday team meeting",
        reaction="Dread from Sunday evening on, and a dry mouth when it is my turn",
        echoes="School assemblies where names were read out for bad marks",
        unprocessed="fear of being shamed in public",
        prediction="The dread will ease once I have spoken, and will be worse when Sam chairs.",
        themes=("monday",),
        targets=("dread", "anxiety", "fear", "self-consciousness"),
        prior=35,
        schedule=((0.55, "open"), (0.6, "testing")),
        end=1.0,
    ),
)


def _direction(theme: str, strength: int, revised: bool) -> str | None:
    """Does an episode with this theme and strength support or contradict its hypothesis?"""
    if theme == "sam_public":
        return "supports" if strength >= 5 else "contradicts"
    if theme == "sam_private":
        return "supports" if strength <= 5 else "contradicts"
    if theme == "peer_feedback":
        return "contradicts" if strength >= 6 else None
    if theme == "j_late":
        return "supports" if strength >= 5 else "contradicts"
    if theme == "j_texted":
        if revised:
            return "supports" if strength <= 4 else "contradicts"
        return "supports" if strength >= 5 else "contradicts"
    if theme == "mum_kind":
        return "supports" if strength >= 5 else "contradicts"
    if theme == "mum_critical":  # a fitting irritation is no echo; a flare may be
        return "supports" if strength >= 8 else "contradicts" if strength <= 6 else None
    if theme == "monday":
        return "supports" if strength >= 5 else "contradicts"
    return None


_EVIDENCE_NOTES = {
    ("sam_public", "supports"): "Corrected in front of the team: the old heat, far more than "
    "the mistake deserved",
    ("sam_public", "contradicts"): "Corrected in public and it hardly touched me",
    ("sam_private", "supports"): "The same kind of comment one-to-one, and much less heat",
    ("sam_private", "contradicts"): "Even in private it hit hard, so the audience is not all of it",
    ("peer_feedback", "contradicts"): "Priya's comments stung just as much: maybe it is not "
    "only about Sam",
    ("j_late", "supports"): "Late with no message: the panic came straight away",
    ("j_late", "contradicts"): "Late with no message and I was fine",
    ("j_texted", "supports"): "They texted and I still felt it",
    ("j_texted", "contradicts"): "They texted, and I barely noticed the time",
    ("mum_kind", "supports"): "Mum was kind and I was still irritated",
    ("mum_kind", "contradicts"): "A kind call and no irritation at all",
    ("mum_critical", "supports"): "Far more irritation than the remark deserved",
    ("mum_critical", "contradicts"): "Irritated, but no more than the remark deserved",
    ("monday", "supports"): "Dread all weekend, gone once I had spoken",
    ("monday", "contradicts"): "Hardly any dread this week, even with Sam chairing",
}
_EVIDENCE_NOTES_REVISED = {
    ("j_texted", "supports"): "They texted, and there was no panic: it is the not knowing",
    ("j_texted", "contradicts"): "They texted and I still panicked",
}


@dataclass(frozen=True)
class _CyclePlan:
    start: float
    hypothesis: str | None
    themes: tuple[str, ...]
    question: str
    plan: str
    observations: str
    experiential: str
    presentational: str
    propositional: str
    practical: str
    outcome: str
    next_step: str
    sharing: Sharing = PRACTITIONER
    abandoned: bool = False


_CYCLES: tuple[_CyclePlan, ...] = (
    _CyclePlan(
        start=0.14,
        hypothesis="sam",
        themes=("sam_public", "sam_private"),
        question="What happens to my anger at Sam if I name the echo before I answer?",
        plan="When Sam corrects me, pause, say 'red pen' to myself, take one breath, then "
        "reply. Log every time.",
        observations="Most times I managed the pause. The anger was still there but lower, "
        "and once I laughed inside.",
        experiential="A hot wave, then a small gap where I could choose.",
        presentational="Like a kettle taken off the heat just before it whistles.",
        propositional="Much of the heat belongs to Dad's red pen, not to Sam.",
        practical="I can pause and name it, even in a meeting.",
        outcome="Pausing and naming the echo lowers the peak by two or three points.",
        next_step="Ask Sam for feedback one-to-one rather than in the meeting.",
    ),
    _CyclePlan(
        start=0.3,
        hypothesis="j",
        themes=("j_late", "j_texted"),
        question="Does a text from J. when they are running late change my panic?",
        plan="Ask J. to text when they will be more than half an hour late; compare evenings "
        "with and without a text.",
        observations="With a text I hardly noticed the time; without one, the old panic, "
        "though it passed faster.",
        experiential="A cold drop in my stomach that a single message could lift.",
        presentational="A child at the window, and then a note pushed under the door.",
        propositional="It is not the lateness but the not knowing that sets me off.",
        practical="I can ask for a text without apologising for asking.",
        outcome="The panic follows not knowing, not lateness.",
        next_step="Revise the hypothesis about J. and Mum's hospital year.",
    ),
    _CyclePlan(
        start=0.42,
        hypothesis=None,
        themes=("anger_sm",),
        question="Which self-management technique brings my anger down the most?",
        plan="For a month, when I'm angry, try a different technique each week and log the "
        "intensity before and after.",
        observations="Storming in the car and saying how I feel brought it down most; "
        "redirecting attention hardly helped.",
        experiential="Some techniques cooled me; some only put a lid on it.",
        presentational="Letting steam out of a valve rather than sitting on the lid.",
        propositional="Discharge and honest expression work better for me than distraction.",
        practical="Keep storming and saying how I feel; drop redirecting attention.",
        outcome="A ranked list of what works for my anger, from my own log.",
        next_step="Do the same for fear.",
    ),
    _CyclePlan(
        start=0.48,
        hypothesis="mum",
        themes=("mum_kind", "mum_critical"),
        question="What do I actually feel when Mum rings?",
        plan="Before answering a call from Mum, rate my irritation; after the call, rate it "
        "again and note what she said.",
        observations="Kind calls left me warm or flat; the irritation came with the job "
        "questions, and then it fitted what she said.",
        experiential="Braced before picking up; often nothing to brace against.",
        presentational="Carrying an umbrella on a sunny day.",
        propositional="The irritation is about what Mum says now, not an old echo.",
        practical="I can answer without bracing, and say when a question hurts.",
        outcome="The hypothesis does not hold: the irritation fits the remarks themselves.",
        next_step="Tell Mum that the job questions hurt.",
    ),
    _CyclePlan(
        start=0.55,
        hypothesis="j",
        themes=("j_late", "j_texted"),
        question="Can I go a whole weekend without checking my phone for J.'s messages?",
        plan="Phone in the drawer from Friday evening to Sunday evening; note what happens.",
        observations="Two days in I was checking more, not less.",
        experiential="Restless, and then ashamed of being restless.",
        presentational="",
        propositional="Too big a step all at once.",
        practical="",
        outcome="Stopped after two days: it made me more anxious, not less.",
        next_step="Try one evening first.",
        sharing=PRIVATE,
        abandoned=True,
    ),
    _CyclePlan(
        start=0.68,
        hypothesis="monday",
        themes=("monday",),
        question="What happens if I speak first in the Monday meeting?",
        plan="Speak in the first five minutes of each Monday meeting for a month; rate the "
        "dread before and after.",
        observations="The dread before was worse than the speaking. By the third week it was "
        "mostly excitement.",
        experiential="Dry mouth, a racing heart, then a kind of lift.",
        presentational="Jumping into cold water: the worst part is the edge.",
        propositional="The dread is mostly anticipation; the room is not the assembly hall.",
        practical="I can go first, and I can say I'm nervous while I do it.",
        outcome="Speaking early roughly halves the dread.",
        next_step="Volunteer to present the quarterly numbers.",
    ),
)

# --- sessions, decisions, reviews --------------------------------------------------------

_DECISIONS: dict[str, tuple[str, ...]] = {
    "focus": (
        "Focus on anger at work for the next month",
        "Spend two sessions on the phone calls with Mum",
        "Put the panic when J. is late first",
        "Look at the Monday meeting dread next",
        "Come back to Dad and the homework memories",
        "Work on asking for what I need at work",
    ),
    "structure": (
        "Start each session with ten minutes on the workbook",
        "The client leads the first half of each session",
        "End each session with the client's own summary",
        "Keep the last ten minutes for planning the week's inquiry",
    ),
    "method": (
        "Role-play the conversations with Sam",
        "Use the episode log rather than talk alone",
        "Try cathartic work on the cushion, only when the client says they are ready",
        "Bring one inquiry cycle to each session",
        "Practise loving-kindness together for five minutes",
    ),
    "frequency": (
        "Keep weekly sessions until the next review",
        "Add a short phone check-in between sessions for a month",
        "Move the session half an hour earlier",
    ),
    "homework": (
        "Log at least three episodes a week",
        "Notice the body first, before the story",
        "Try slow breathing before replying to Sam's emails",
        "Rate proportionality for every episode this week",
        "Read the notes on the four skills of self-management",
    ),
}
_TOPICS = ("focus", "structure", "method", "frequency", "homework")

_AGENDA_CLIENT: dict[str, tuple[str, ...]] = {
    "satisfaction": (
        "The role-play of the meeting with Sam helped more than talking about it",
        "I like starting the session with my workbook",
        "I caught the echo with Sam twice this month",
        "The check-ins show I'm sleeping better",
        "I felt heard when I disagreed last time",
        "Logging has become a habit, not a chore",
    ),
    "dissatisfaction": (
        "Sessions sometimes feel like being told what to do",
        "We ran out of time before my item again",
        "I didn't like being pushed to cry when I wasn't ready",
        "Too much about Dad, not enough about now",
        "The homework felt like school",
    ),
    "request": (
        "Can I lead the first half of the session?",
        "Could we role-play the Monday meeting?",
        "Please send me the notes on the four skills",
        "I'd like to learn co-counselling before we finish",
        "Can we look at my check-in scores together?",
    ),
    "question": (
        "How will I know when I'm ready to finish?",
        "What happens to my research entries if I withdraw consent?",
        "Is it normal for the panic to get worse before it gets better?",
        "Do you have reactions to me, and what are they?",
        "What does 'supported' mean for a hypothesis?",
    ),
}
_AGENDA_PRACTITIONER: tuple[tuple[str, str], ...] = (
    ("question", "How are you finding the pace of the sessions?"),
    ("satisfaction", "I notice you are deciding more of the focus yourself"),
    ("request", "Could we agree what to do if thoughts of self-harm come up again?"),
    ("dissatisfaction", "Two sessions were cancelled at short notice"),
)
_RESPONSES: dict[str, tuple[str, ...]] = {
    "satisfaction": ("Noted; we keep doing this.", "Both glad; agreed to keep it."),
    "dissatisfaction": (
        "Agreed: the client leads the first half from now on.",
        "Agreed to check readiness before any cathartic work.",
        "The practitioner apologised; agenda items come first next time.",
        "Agreed to keep homework optional and the client's own.",
    ),
    "request": ("Yes, from the next session.", "Agreed, as a trial for a month.", "Done."),
    "question": (
        "Talked it through; the answer is in the session notes.",
        "Nothing new is used while consent is withdrawn; earlier anonymised data stays.",
        "Discussed; we agreed to look at it again at the next review.",
        "The practitioner answered openly and logged the reaction in the workbook.",
    ),
}

_INTERVENTIONS: dict[str, tuple[str, ...]] = {
    "prescriptive": (
        "Suggested logging the body sensations before the story",
        "Suggested slow breathing before replying to emails",
        "Proposed one inquiry cycle a month as homework",
    ),
    "informative": (
        "Explained Heron's four skills of emotional self-management",
        "Described how old distress can be projected onto people now",
        "Outlined what happens in a co-counselling session",
    ),
    "confronting": (
        "Pointed out that I apologised five times in ten minutes",
        "Named that the anger at Sam sounded older than the situation",
        "Noted that I change the subject whenever Dad comes up",
    ),
    "cathartic": (
        "Invited me to say the sentence to Dad out loud, louder",
        "Encouraged me to let the tears come instead of talking",
        "Had me push against a cushion while saying 'stop'",
    ),
    "catalytic": (
        "Asked what I already knew about where this feeling comes from",
        "Asked me to design the next inquiry cycle myself",
        "Asked what I wanted from the session today",
    ),
    "supportive": (
        "Said my persistence with the log was impressive",
        "Acknowledged how hard the hospital year must have been",
        "Thanked me for raising the dissatisfaction directly",
    ),
}
_CATEGORIES = tuple(_INTERVENTIONS)
_EARLY_MIX = (0.25, 0.25, 0.1, 0.1, 0.15, 0.15)
_LATE_MIX = (0.04, 0.08, 0.1, 0.16, 0.42, 0.2)
_MISREAD = {
    "prescriptive": "confronting",
    "informative": "prescriptive",
    "confronting": "prescriptive",
    "cathartic": "confronting",
    "catalytic": "supportive",
    "supportive": "catalytic",
}

_REACTIONS: tuple[tuple[str, str, str], ...] = (
    (
        "Impatience when the client apologised for the fourth time",
        "My own hurry to get to the 'real' work",
        "Named it in supervision; slowing down",
    ),
    (
        "Protective, almost parental, when the client described Sam",
        "Old anger at a critical boss of my own",
        "Told the client I noticed it and asked what they wanted from me",
    ),
    (
        "Drifting and bored during the long account of the weekend",
        "Tired; a heavy week",
        "Asked the client what mattered most in the story",
    ),
    (
        "Pleased, a little proud, after the client's role-play",
        "Wanting to be a good practitioner",
        "Careful not to take credit; asked the client what made it possible",
    ),
    (
        "Irritated when the client cancelled at short notice",
        "My own full diary",
        "Raised the cancellation at the review, without edge",
    ),
    (
        "Moved when the client cried about Dad",
        "My own father",
        "Took it to supervision",
    ),
    (
        "Defensive when the client said the sessions felt too directive",
        "Wanting to be seen as helpful",
        "Thanked the client; agreed they lead the first half",
    ),
    (
        "Sad that the programme is ending",
        "Attachment to clients who do well",
        "Said so at the review, and that I am glad for them",
    ),
)

_COCO_WORK = (
    "The Monday meeting dread",
    "Dad and the red pen",
    "Missing the sessions with Alex",
    "J.'s weekend away",
    "Rosie starting a new school",
    "The phone calls with Mum",
)
_COCO_DISCHARGE = (
    "Some shaking, then laughter",
    "Tears for a few minutes",
    "Yawning and stretching",
    "Loud sound into a cushion",
    "Not much; mostly talking",
)
_COCO_REEVALUATION = (
    "I am not the child at the kitchen table any more",
    "I can ask for what I need and survive the answer",
    "The fear is old; the situation is new",
    "Being kept in the dark was then; I can ask now",
    "I did my best, and it was enough",
)

# --- generation --------------------------------------------------------------------------


@dataclass(slots=True)
class _Logged:
    """What later story beats need to know about a logged episode."""

    id: str
    entered: datetime  # UTC
    emotions: dict[str, int]


@dataclass
class _HypothesisState:
    plan: _HypothesisPlan
    id: str
    opened_on: date
    evidence: list[Evidence] = field(default_factory=list)
    confidence: list[dict[str, Any]] = field(default_factory=list)
    supports: int = 0
    contradicts: int = 0
    last_update: datetime | None = None
    created_at: datetime | None = None
    revised: bool = False
    looked: bool = False
    used: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class _Attention:
    contexts: dict[date, list[float]]  # context weights for each day of the week
    scenes: dict[str, list[float]]  # scene weights within each context


def _local(day: date, minute_of_day: int) -> datetime:
    return datetime(
        day.year, day.month, day.day, minute_of_day // 60, minute_of_day % 60, tzinfo=TIME_ZONE
    )


def _clamp(value: float, lo: int, hi: int) -> int:
    return max(lo, min(hi, round(value)))


class DemoStory:
    """The pure generation step: the demo's writes, in time order, from a seed.

    ``DemoStory(seed=7).writes()`` yields :class:`DemoWrite` items; :func:`generate_demo`
    applies them to a new workbook whose clock replays their times. Iterate once.
    """

    def __init__(
        self,
        *,
        seed: int = 7,
        years: float = 1.0,
        episodes_per_week: tuple[int, int] = (3, 6),
        start: date = DEFAULT_START,
    ) -> None:
        lo, hi = (int(n) for n in episodes_per_week)
        if not 0 < years <= 100:
            raise ValueError(f"years must be more than 0 and at most 100 (got {years})")
        if not 0 <= lo <= hi:
            raise ValueError(
                f"episodes_per_week must be (fewest, most) with 0 <= fewest <= most "
                f"(got {episodes_per_week})"
            )
        if isinstance(start, datetime) or not isinstance(start, date):
            raise TypeError("start must be a date")
        self.seed = int(seed)
        self.years = float(years)
        self.episodes_per_week = (lo, hi)
        self.start = start
        self.weeks = max(1, round(self.years * 365.25 / 7))
        self.first_day = start
        self.last_day = start + timedelta(days=7 * self.weeks - 1)
        post = min(max(2, round(self.weeks * 0.1)), self.weeks // 2)
        self.programme_weeks = self.weeks - post
        last_week = start + timedelta(days=7 * (self.programme_weeks - 1))
        self.programme_end = next(
            d for d in (last_week + timedelta(days=i) for i in range(7)) if d.weekday() == THU
        )
        self._programme_days = max(1, (self.programme_end - start).days)
        self._cycle_weeks = min(6, max(2, round(0.13 * self.programme_weeks)))
        spike = start + timedelta(days=56)
        self.spike_month = (spike.year, spike.month)

        self._rng = random.Random(self.seed)
        self._seq = itertools.count()
        self._heap: list[tuple[datetime, int, DemoWrite]] = []
        self._beats: dict[int, list[tuple[datetime, int, Callable[[datetime], None]]]] = {}
        self._used = False

        self.workbook_id = self._id()
        self.created_at = _local(start, 9 * 60 + 50).astimezone(UTC)
        self._people: dict[str, str] = {}
        self._themes: dict[str, list[_Logged]] = {}
        self._hypotheses: dict[str, _HypothesisState] = {}
        self._pending_agenda: list[AgendaItem] = []
        self._flags: set[str] = set()
        self._reactions = 0
        consent_days = [self._day_at(f) for f in (0.45, 0.7)]
        self.research_withdrawn_at = _local(consent_days[0], 20 * 60 + 15).astimezone(UTC)
        self.research_given_again_at = _local(consent_days[1], 19 * 60 + 40).astimezone(UTC)

    # --- small helpers ---------------------------------------------------------------

    def _id(self) -> str:
        """A record id shaped like :func:`heron_research.records.new_id`, from the seed."""
        return f"{self._rng.getrandbits(128):032x}"

    def progress(self, day: date) -> float:
        """How far through the programme ``day`` is: 0 at the start, 1 at its end."""
        return (day - self.start).days / self._programme_days

    def _day_at(self, fraction: float) -> date:
        return self.start + timedelta(days=round(fraction * self._programme_days))

    def _week_of(self, day: date) -> int:
        return (day - self.start).days // 7

    def _on_weekday(self, week: int, weekday: int) -> date:
        monday = self.start + timedelta(days=7 * week)
        return next(
            d for d in (monday + timedelta(days=i) for i in range(7)) if d.weekday() == weekday
        )

    def _time(self, day: date, lo: float, hi: float) -> datetime:
        return _local(day, self._rng.randint(round(lo * 60), round(hi * 60)))

    def _research_on(self, at: datetime) -> bool:
        return not self.research_withdrawn_at <= at < self.research_given_again_at

    def _shared(self, at: datetime, research_share: float) -> Sharing:
        """The sharing a client would choose: research sometimes, while consented."""
        if self._research_on(at) and self._rng.random() < research_share:
            return RESEARCH
        return PRACTITIONER

    def _for_research(self, at: datetime, created: datetime | None = None) -> Sharing:
        """The sharing of a record the client always shares for research while consented
        (hypotheses, cycles, decisions, reviews): no random draw, so the story is unchanged."""
        if self._research_on(at) and self._research_on(created or at):
            return RESEARCH
        return PRACTITIONER

    def _emit(self, at: datetime, record: Record) -> None:
        at = at.astimezone(UTC)
        heapq.heappush(self._heap, (at, next(self._seq), DemoWrite(at, "save", record)))

    def _emit_mark(self, at: datetime, action: Literal["delete", "restore"], rid: str) -> None:
        at = at.astimezone(UTC)
        heapq.heappush(self._heap, (at, next(self._seq), DemoWrite(at, action, None, rid)))

    def _beat(self, at: datetime, fn: Callable[[datetime], None]) -> None:
        """Run ``fn(at)`` when the story reaches ``at`` (dropped if after the period)."""
        day = at.astimezone(TIME_ZONE).date()
        if not self.first_day <= day <= self.last_day:
            return
        week = self._week_of(day)
        self._beats.setdefault(week, []).append((at.astimezone(UTC), next(self._seq), fn))

    # --- the whole story -------------------------------------------------------------

    def writes(self) -> Iterator[DemoWrite]:
        """Every write of the demo, in time order (the story is generated as it goes).

        The workbook is a snapshot at the end of the last day: what the client would
        have written later (a late entry, an edit a few days on) is left out.
        """
        if self._used:
            raise RuntimeError("a DemoStory can be iterated only once; make a new one")
        self._used = True
        self._plan_story()
        for week in range(self.weeks):
            self._week_episodes(week)
            for at, _, fn in sorted(self._beats.pop(week, []), key=lambda b: (b[0], b[1])):
                fn(at)
            boundary = _local(self.start + timedelta(days=7 * (week + 1)), 0).astimezone(UTC)
            while self._heap and self._heap[0][0] < boundary:
                yield heapq.heappop(self._heap)[2]
        self._heap.clear()

    def _plan_story(self) -> None:
        self._beat(_local(self.start, 10 * 60), self._intake)
        # consent changes
        self._beat(self.research_withdrawn_at, self._withdraw_research)
        self._beat(self.research_given_again_at, self._give_research_again)
        # weekly sessions (the intake is the first), practitioner reactions every sixth
        for week in range(1, self.programme_weeks):
            day = self._on_weekday(week, TUE)
            if day < self.programme_end:
                self._beat(_local(day, 19 * 60 + 5), self._session)
                if week % 6 == 3:
                    self._beat(_local(day, 21 * 60 + 10), self._practitioner_reaction)
        self._beat(
            _local(self.programme_end, 21 * 60 + 40),
            lambda at: self._practitioner_reaction(at, last=True),
        )
        # fortnightly check-ins (the intake has the first)
        for week in range(1, self.weeks, 2):
            self._beat(self._time(self._on_weekday(week, SUN), 19.5, 20.75), self._check_ins)
        self._plan_reviews()
        self._plan_hypotheses()
        self._plan_cycles()
        self._plan_edits()
        # after the programme: co-counselling every fortnight, and the client's own decisions
        after = self.programme_end + timedelta(days=3)
        self._beat(_local(after, 20 * 60 + 30), self._decision_after_programme)
        month = date(after.year, after.month, 1)
        while month <= self.last_day:
            first_sunday = month + timedelta(days=(SUN - month.weekday()) % 7)
            if after < first_sunday <= self.last_day:
                self._beat(self._time(first_sunday, 19, 21), self._own_review)
            month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        day = self.programme_end + timedelta(days=8)
        while day <= self.last_day:
            self._beat(self._time(day, 18.5, 19.5), self._co_counselling)
            day += timedelta(days=14)

    # --- the intake and consent --------------------------------------------------------

    def _intake(self, at: datetime) -> None:
        version = current_principles().version
        self._emit(
            at + timedelta(minutes=6),
            ConsentEntry(
                id=self._id(),
                sharing=PRACTITIONER,
                recorded_at=(at + timedelta(minutes=5)).astimezone(TIME_ZONE),
                principles_version=version,
                training=True,
                practitioner_sharing=True,
                research=True,
                note="Read the principles with Alex at the first session and agreed to all three.",
            ),
        )
        for i, (alias, relationship, notes, sharing) in enumerate(_PEOPLE):
            person = Person(
                id=self._id(), sharing=sharing, alias=alias, relationship=relationship, notes=notes
            )
            self._people[alias] = person.id
            self._emit(at + timedelta(minutes=10 + i), person)
        self._emit(
            at + timedelta(minutes=40),
            FocusDecision(
                id=self._id(),
                decided_on=at.astimezone(TIME_ZONE).date(),
                topic="structure",
                decision="Weekly sessions on Tuesday evenings; the client keeps the workbook",
                proposed_by="practitioner",
                decided_by="hierarchy",
            ),
        )
        self._check_ins(at + timedelta(minutes=30), first=True)

    def _consent(self, at: datetime, research: bool, note: str) -> None:
        self._emit(
            at + timedelta(minutes=1),
            ConsentEntry(
                id=self._id(),
                sharing=PRACTITIONER,
                recorded_at=at.astimezone(TIME_ZONE),
                principles_version=current_principles().version,
                training=True,
                practitioner_sharing=True,
                research=research,
                note=note,
            ),
        )

    def _withdraw_research(self, at: datetime) -> None:
        self._consent(
            at, False, "Taking research out for now; I want to read more about how data is used."
        )

    def _give_research_again(self, at: datetime) -> None:
        self._consent(at, True, "Read the research notes; happy to take part again.")

    # --- emotion episodes --------------------------------------------------------------

    def _week_episodes(self, week: int) -> None:
        rng = self._rng
        monday = self.start + timedelta(days=7 * week)
        days = [monday + timedelta(days=i) for i in range(7)]
        days = [d for d in days if d > self.first_day]  # the first day is the intake
        if not days:
            return
        attention = self._attention(monday, days)
        n = rng.randint(*self.episodes_per_week)
        for _ in range(n):
            self._episode(rng.choice(days), attention)
        # the hard month at work: more clashes, and the client logs them
        clashes = [d for d in days if (d.year, d.month) == self.spike_month and d.weekday() < 5]
        if clashes:
            for _ in range(round(n * 0.5 * len(clashes) / 5)):
                scene = rng.choice(_SPIKE_SCENES)
                self._episode(rng.choice(clashes), attention, scene)
        # an inquiry cycle under way: most weeks the client watches for, and logs, its moment
        for cycle in _CYCLES:
            begins = self._day_at(cycle.start)
            ends = begins + timedelta(days=7 * self._cycle_weeks)
            if self.episodes_per_week[1] == 0 or not (begins <= days[-1] and monday <= ends):
                continue
            if rng.random() > 0.85:
                continue
            scenes = [sc for sc in _SCENES if sc.theme in cycle.themes]
            if not scenes:
                continue
            scene = rng.choice(scenes)
            context = _CONTEXT_BY_NAME[scene.context]
            fitting = [
                d
                for d in days
                if context.day_weights[d.weekday()] > 0 and scene.fits(d) and begins <= d <= ends
            ]
            if fitting:
                self._episode(rng.choice(fitting), attention, scene)

    def _attention(self, monday: date, days: list[date]) -> _Attention:
        """What the client notices (and logs) this week, as weights for contexts and scenes.

        A theme under inquiry in a cycle is noticed four times as often; one a hypothesis
        is testing, twice as often; work looms larger in the hard month.
        """
        sunday = monday + timedelta(days=6)
        boost: dict[str, float] = {}
        for h in _HYPOTHESES:
            if self._day_at(h.schedule[0][0]) <= sunday and monday <= self._day_at(h.end):
                for theme in h.themes:
                    boost[theme] = max(boost.get(theme, 1.0), 2.0)
        for c in _CYCLES:
            begins = self._day_at(c.start)
            if begins <= sunday and monday <= begins + timedelta(days=7 * self._cycle_weeks):
                for theme in c.themes:
                    boost[theme] = 4.0
        scenes = {
            c.name: [boost.get(sc.theme, 1.0) for sc in _SCENES_BY_CONTEXT[c.name]]
            for c in _CONTEXTS
        }
        contexts = {}
        for day in days:
            spike = (day.year, day.month) == self.spike_month
            weights = []
            for c in _CONTEXTS:
                w = c.day_weights[day.weekday()] * max(scenes[c.name]) ** 0.5
                if spike and c.name in _SPIKE_CONTEXTS:
                    w *= _SPIKE_CONTEXTS[c.name]
                weights.append(w)
            contexts[day] = weights
        return _Attention(contexts, scenes)

    def _episode(self, day: date, attention: _Attention, scene: _Scene | None = None) -> None:
        rng = self._rng
        p = self.progress(day)
        q = min(p, 1.0) + 0.1 * min(max(p - 1.0, 0.0), 1.0)  # learning, slowing after the end
        spike = (day.year, day.month) == self.spike_month
        weekday = day.weekday()
        if scene is None:
            context = rng.choices(_CONTEXTS, attention.contexts[day])[0]
            scenes = _SCENES_BY_CONTEXT[context.name]
            weights = attention.scenes[context.name]
            weights = [w if sc.fits(day) else 0.0 for sc, w in zip(scenes, weights, strict=True)]
            scene = rng.choices(scenes, weights)[0]
        else:
            context = _CONTEXT_BY_NAME[scene.context]
        if scene.hours is not None:
            lo, hi = scene.hours
        else:
            hours = context.weekend_hours if weekday >= 5 and context.weekend_hours else None
            lo, hi = rng.choice(hours or context.weekday_hours)
        occurred = self._time(day, lo, hi)

        # emotions: the first is the strongest; intensities fall as the programme goes on
        terms = [t for t, _ in scene.emotions]
        weights = [w for _, w in scene.emotions]
        first = rng.choices(terms, weights)[0]
        if spike and context.work and not scene.pleasant and rng.random() < 0.7:
            first = "anger"
        others = [t for t in terms if t != first]
        chosen = [first, *rng.sample(others, k=rng.randint(0, len(others)))]
        if scene.pleasant:
            peak = 5.5 + 1.0 * q + scene.level + rng.gauss(0, 1.2)
        else:
            peak = 6.8 - 3.0 * q + scene.level + rng.gauss(0, 1.2)
            if spike and context.work:
                peak += 2.0
        ratings = [{"emotion": first, "intensity": _clamp(peak, 1, 10)}]
        for term in chosen[1:]:
            ratings.append({"emotion": term, "intensity": _clamp(peak - rng.uniform(1, 3), 1, 10)})
        if rng.random() < 0.04:
            word = rng.choice(CUSTOM_WORDS)
            ratings.append({"emotion": word, "intensity": _clamp(peak - rng.uniform(0, 2), 1, 10)})
        top = max(r["intensity"] for r in ratings)

        self_management: list[dict[str, Any]] = []
        if not scene.pleasant and rng.random() < 0.2 + 0.75 * min(q, 1.0):
            family = emotion_vocabulary()[first].family if first in emotion_vocabulary() else ""
            for _ in range(2 if rng.random() < 0.2 else 1):
                item = self._self_management(family, top, q, p)
                if all(item["technique"] != s["technique"] for s in self_management):
                    self_management.append(item)

        if scene.pleasant:
            proportionality = _clamp(rng.uniform(8, 10), 0, 10)
            thoughts = rng.choice(_THOUGHTS_PLEASANT)
            body = rng.choice(_BODY_PLEASANT)
            did = rng.choice(_DID_PLEASANT)
        else:
            theme_penalty = 1.5 if scene.theme and q < 0.6 else 0.0
            proportionality = _clamp(
                3.5 + 4.5 * min(q, 1.0) - theme_penalty + rng.gauss(0, 1.2), 0, 10
            )
            thoughts = rng.choice(context.thoughts)
            body = rng.choice(_BODY)
            did = rng.choice(_DID_LATER if rng.random() < 0.15 + 0.65 * q else _DID_EARLY)
        notes = ""
        if rng.random() < 0.08:
            notes = rng.choice(_NOTES)
        elif scene.theme == "sam_public" and p > 0.1 and rng.random() < 0.3:
            notes = "Same feeling as Dad's red pen?"

        delay = rng.random()
        if delay < 0.7:
            entered = occurred + timedelta(minutes=rng.randint(5, 90))
        elif delay < 0.95:
            entered = occurred + timedelta(minutes=rng.randint(120, 300))
        else:
            entered = _local(day + timedelta(days=1), rng.randint(7 * 60 + 30, 9 * 60))
        entered = entered.astimezone(UTC)

        private = rng.random() < 0.03 + scene.private
        # the story needs a private entry to share later, and one to delete and restore
        if (p >= 0.3 and "shared_later" not in self._flags) or (
            p >= 0.5 and "restored" not in self._flags
        ):
            private = True
        sharing = PRIVATE if private else self._shared(entered, 0.22)
        episode = EmotionEpisode(
            id=self._id(),
            sharing=sharing,
            occurred_at=occurred,
            situation=scene.text,
            emotions=ratings,
            body_sensations=body if rng.random() < 0.85 else "",
            thoughts=thoughts if rng.random() < 0.9 else "",
            people=[self._people[a] for a in scene.people if a in self._people],
            what_i_did=did,
            proportionality=proportionality if rng.random() < 0.92 else None,
            self_management=self_management,
            notes=notes,
        )
        self._emit(entered, episode)
        if self._special(episode, entered, p):
            return  # duplicated or deleted: not used as evidence
        strengths = {r["emotion"]: r["intensity"] for r in ratings}
        logged = _Logged(episode.id, entered, strengths)
        if scene.theme:
            self._themes.setdefault(scene.theme, []).append(logged)
        if self_management and any(
            emotion_vocabulary()[t].family == "anger"
            for t in strengths
            if t in emotion_vocabulary()
        ):
            self._themes.setdefault("anger_sm", []).append(logged)

    def _self_management(self, family: str, before: int, q: float, p: float) -> dict[str, Any]:
        rng = self._rng
        if rng.random() < 0.02:
            technique, skill, drop = rng.choice(_OWN_TECHNIQUES)
            item: dict[str, Any] = {"technique": technique, "skill": skill}
        else:
            names, weights = [], []
            for name, (learned, _, suits) in _TECHNIQUES.items():
                if (name == "co-counselling session" and p <= 1.0) or q < learned:
                    continue
                familiarity = min(1.0, (q - learned) / 0.3)
                names.append(name)
                weights.append((1 + 2 * familiarity) * (3 if family in suits else 1))
            technique = rng.choices(names, weights)[0]
            drop = _TECHNIQUES[technique][1]
            item = {"technique": technique}
        effect = drop * (0.6 + 0.4 * min(1.0, q * 1.5)) + rng.gauss(0, 0.9)
        after = _clamp(before - effect, 0, before)
        if after >= before and before > 0 and rng.random() < 0.8:
            after = before - 1
        item.update(intensity_before=before, intensity_after=after)
        return item

    def _special(self, episode: EmotionEpisode, entered: datetime, p: float) -> bool:
        """Edits, a shared-later entry, a duplicate deleted, a deletion undone."""
        rng, flags = self._rng, self._flags
        if episode.sharing is PRIVATE:
            if p >= 0.3 and "shared_later" not in flags:
                flags.add("shared_later")
                later = episode.model_copy(
                    update={
                        "sharing": PRACTITIONER,
                        "notes": (
                            episode.notes + " I decided to share this one with Alex."
                        ).strip(),
                    }
                )
                self._emit(entered + timedelta(days=rng.randint(5, 12)), later)
                return False
            if p >= 0.5 and "restored" not in flags:
                flags.add("restored")
                gone = entered + timedelta(days=2, minutes=rng.randint(0, 120))
                self._emit_mark(gone, "delete", episode.id)
                self._emit_mark(gone + timedelta(minutes=rng.randint(3, 30)), "restore", episode.id)
                return True
            return False
        if p >= 0.33 and "duplicate" not in flags:
            flags.add("duplicate")
            twin = episode.model_copy(update={"id": self._id()})
            self._emit(entered + timedelta(minutes=2), twin)
            self._emit_mark(
                entered + timedelta(days=1, minutes=rng.randint(0, 600)), "delete", twin.id
            )
            return False
        if rng.random() < 0.02:
            changes: dict[str, Any] = {"notes": rng.choice(_EDIT_NOTES)}
            if episode.proportionality is not None and episode.proportionality < 10:
                changes["proportionality"] = episode.proportionality + 1
            self._emit(
                entered + timedelta(days=rng.randint(1, 3)), episode.model_copy(update=changes)
            )
        return False

    def _plan_edits(self) -> None:
        self._beat(_local(self._day_at(0.3), 21 * 60 + 5), self._edit_person)
        self._beat(_local(self._day_at(0.8), 21 * 60 + 15), self._register_peer)

    def _register_peer(self, at: datetime) -> None:
        person = Person(
            id=self._id(),
            sharing=PRACTITIONER,
            alias="Jo",
            relationship="other",
            notes="Co-counselling partner from the fundamentals course",
        )
        self._people[person.alias] = person.id
        self._emit(at, person)

    def _edit_person(self, at: datetime) -> None:
        alias, relationship, _, sharing = _PEOPLE[0]
        self._emit(
            at,
            Person(
                id=self._people[alias],
                sharing=sharing,
                alias=alias,
                relationship=relationship,
                notes="My manager since last autumn; stricter than the last one, fair underneath",
            ),
        )

    # --- check-ins ---------------------------------------------------------------------

    def _spread(self, total: int, n: int, top: int) -> list[int]:
        answers = [0] * n
        for _ in range(min(total, n * top)):
            i = self._rng.choice([k for k in range(n) if answers[k] < top])
            answers[i] += 1
        return answers

    def _check_ins(self, at: datetime, first: bool = False) -> None:
        rng = self._rng
        day = at.astimezone(TIME_ZONE).date()
        q = min(self.progress(day), 1.1)
        sharing = self._shared(at, 1.0)
        phq = _clamp(16 - 11 * q + rng.gauss(0, 1.3), 0, 24)
        item9 = 0
        if not first and "item9" not in self._flags:
            self._flags.add("item9")
            item9 = 1
        phq9 = [*self._spread(phq - item9, 8, 3), item9]
        gad7 = self._spread(_clamp(13 - 9.5 * q + rng.gauss(0, 1.2), 0, 21), 7, 3)
        wellbeing = [_clamp(3.5 + 3.5 * q + rng.gauss(0, 0.9), 0, 10) for _ in range(4)]
        for i, (instrument, answers) in enumerate(
            (("phq9", phq9), ("gad7", gad7), ("wellbeing", wellbeing))
        ):
            taken = at + timedelta(minutes=3 * i)
            self._emit(
                taken + timedelta(minutes=2),
                CheckIn(
                    id=self._id(),
                    sharing=sharing,
                    taken_at=taken.astimezone(TIME_ZONE),
                    instrument=instrument,
                    answers=answers,
                ),
            )

    # --- sessions, decisions, reactions -------------------------------------------------

    def _decided_by(self, q: float) -> tuple[str, str]:
        """How a decision is made at progress ``q``: hierarchy early, autonomy late."""
        rng = self._rng
        autonomy = 0.02 + q**1.5
        hierarchy = 0.02 + (1 - q) ** 2
        roll = rng.random() * (autonomy + hierarchy + 0.25)
        if roll < hierarchy:
            return "hierarchy", "practitioner" if rng.random() < 0.85 else "both"
        if roll < hierarchy + autonomy:
            return "autonomy", "client"
        proposer = rng.choices(("practitioner", "both", "client"), (1 - q, 1, q))[0]
        return "co-operation", proposer

    def _session(self, at: datetime) -> None:
        rng = self._rng
        day = at.astimezone(TIME_ZONE).date()
        q = min(self.progress(day), 1.0)
        mix = [e + (late - e) * q for e, late in zip(_EARLY_MIX, _LATE_MIX, strict=True)]
        for i in range(rng.randint(1, 3)):
            intended = rng.choices(_CATEGORIES, mix)[0]
            if rng.random() < 0.6 + 0.3 * q:
                perceived: str | None = intended
            else:
                perceived = _MISREAD[intended] if rng.random() < 0.85 else None
            record = Intervention(
                id=self._id(),
                sharing=self._shared(at, 0.3),
                session_on=day,
                description=rng.choice(_INTERVENTIONS[intended]),
                intended=intended,
                perceived=perceived,
            )
            saved = at + timedelta(minutes=2 * i)
            if perceived is not None and rng.random() < 0.3:
                # the practitioner logs the intention; the client adds how it landed later
                self._emit(saved, record.model_copy(update={"perceived": None}))
                self._emit(saved + timedelta(hours=rng.randint(14, 40)), record)
            else:
                self._emit(saved, record)
        if rng.random() < 0.35 + 0.4 * q:  # the client brings more decisions as they go
            decided_by, proposed_by = self._decided_by(q)
            topic = rng.choice(_TOPICS)
            decision = FocusDecision(
                id=self._id(),
                sharing=self._for_research(at),
                decided_on=day,
                topic=topic,
                decision=rng.choice(_DECISIONS[topic]),
                proposed_by=proposed_by,
                decided_by=decided_by,
            )
            self._emit(at + timedelta(minutes=8), decision)
            if decided_by == "autonomy" and "first_autonomy" not in self._flags:
                self._flags.add("first_autonomy")
                note = "The first decision I made on my own here; it felt strange and good."
                self._emit(
                    at + timedelta(days=2, minutes=rng.randint(0, 200)),
                    decision.model_copy(update={"notes": note}),
                )

    def _practitioner_reaction(self, at: datetime, *, last: bool = False) -> None:
        if last:
            reaction, source, addressed = _REACTIONS[-1]
        else:
            reaction, source, addressed = _REACTIONS[self._reactions % (len(_REACTIONS) - 1)]
            self._reactions += 1
        self._emit(
            at,
            PractitionerReaction(
                id=self._id(),
                noted_on=at.astimezone(TIME_ZONE).date(),
                reaction=reaction,
                possible_source=source,
                how_addressed=addressed,
            ),
        )

    def _decision_after_programme(self, at: datetime) -> None:
        self._emit(
            at,
            FocusDecision(
                id=self._id(),
                decided_on=at.astimezone(TIME_ZONE).date(),
                topic="frequency",
                decision="Co-counselling with Jo every fortnight; a workbook review on the "
                "first Sunday of each month",
                proposed_by="client",
                decided_by="autonomy",
            ),
        )

    def _own_review(self, at: datetime) -> None:
        """The client's monthly workbook review after the programme: their own call."""
        topic = self._rng.choice(("focus", "homework"))
        self._emit(
            at,
            FocusDecision(
                id=self._id(),
                decided_on=at.astimezone(TIME_ZONE).date(),
                topic=topic,
                decision=self._rng.choice(_DECISIONS[topic]),
                proposed_by="client",
                decided_by="autonomy",
                notes="Monthly workbook review, on my own",
            ),
        )

    def _co_counselling(self, at: datetime) -> None:
        rng = self._rng
        minutes = rng.choice((20, 30, 30, 45))
        self._emit(
            at + timedelta(minutes=2 * minutes + 20),
            CoCounsellingSession(
                id=self._id(),
                sharing=self._shared(at, 0.5),
                held_on=at.astimezone(TIME_ZONE).date(),
                peer_alias="Jo",
                minutes_as_client=minutes,
                minutes_as_counsellor=minutes,
                contract=rng.choices(("normal", "free attention", "intensive"), (5, 3, 2))[0],
                worked_on=rng.choice(_COCO_WORK),
                discharge=rng.choice(_COCO_DISCHARGE),
                re_evaluation=rng.choice(_COCO_REEVALUATION),
            ),
        )

    # --- peer reviews -------------------------------------------------------------------

    def _plan_reviews(self) -> None:
        days: list[date] = []
        month = date(self.start.year, self.start.month, 1)
        while month <= self.programme_end:
            following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
            last_thursday = following - timedelta(days=(following.weekday() - THU) % 7 or 7)
            if last_thursday >= self.start + timedelta(
                days=14
            ) and last_thursday <= self.programme_end - timedelta(days=14):
                days.append(last_thursday)
            month = following
        days.append(self.programme_end)
        dissent = None
        if len(days) >= 3:
            dissent = min(days[1:-1], key=lambda d: abs(self.progress(d) - 0.45))
        previous = self.start
        # the client's agenda items, raised in the weeks before each review
        for i, day in enumerate(days):
            window = (day - previous).days
            for _ in range(self._rng.randint(2, 3)):
                raised = previous + timedelta(days=self._rng.randint(1, max(1, window - 1)))
                self._beat(self._time(raised, 19, 22), self._raise_item)
            if self._rng.random() < 0.4:
                raised = previous + timedelta(days=self._rng.randint(1, max(1, window - 1)))
                self._beat(self._time(raised, 17, 18), self._raise_practitioner_item)
            review = _ReviewPlan(
                id=self._id(),
                held_on=day,
                period_start=previous,
                next_review_on=days[i + 1] if i + 1 < len(days) else None,
                final=i == len(days) - 1,
                dissent=day == dissent,
            )
            self._beat(_local(day, 19 * 60 + 30), review.run(self))
            previous = day + timedelta(days=1)

    def _raise_item(self, at: datetime) -> None:
        rng = self._rng
        item_type = rng.choices(tuple(_AGENDA_CLIENT), (3, 2, 2, 2))[0]
        item = AgendaItem(
            id=self._id(),
            raised_on=at.astimezone(TIME_ZONE).date(),
            raised_by="client",
            item_type=item_type,
            text=rng.choice(_AGENDA_CLIENT[item_type]),
        )
        self._pending_agenda.append(item)
        self._emit(at, item)

    def _raise_practitioner_item(self, at: datetime) -> None:
        item_type, text = self._rng.choice(_AGENDA_PRACTITIONER)
        item = AgendaItem(
            id=self._id(),
            raised_on=at.astimezone(TIME_ZONE).date(),
            raised_by="practitioner",
            item_type=item_type,
            text=text,
        )
        self._pending_agenda.append(item)
        self._emit(at, item)

    # --- hypotheses ---------------------------------------------------------------------

    def _plan_hypotheses(self) -> None:
        for plan in _HYPOTHESES:
            opened = self._day_at(plan.schedule[0][0])
            last = self._day_at(plan.end)
            first_week, last_week = self._week_of(opened), self._week_of(last)
            interval = max(2, round((last_week - first_week) / 12))
            weeks = set(range(first_week, last_week + 1, interval))
            weeks |= {self._week_of(self._day_at(f)) for f, _ in plan.schedule}
            weeks.add(last_week)
            state = _HypothesisState(plan=plan, id=self._id(), opened_on=opened)
            self._hypotheses[plan.key] = state
            self._beat(self._time(opened, 20.5, 21.5), self._hypothesis_update(state))
            for week in sorted(weeks):
                sunday = self._on_weekday(week, SUN)
                if sunday > opened:
                    self._beat(self._time(sunday, 21, 22), self._hypothesis_update(state))

    def _hypothesis_update(self, state: _HypothesisState) -> Callable[[datetime], None]:
        def update(at: datetime) -> None:
            self._update_hypothesis(state, at)

        return update

    def _update_hypothesis(self, state: _HypothesisState, at: datetime) -> None:
        rng, plan = self._rng, state.plan
        state.created_at = state.created_at or at
        day = at.astimezone(TIME_ZONE).date()
        p = self.progress(day)
        status = plan.schedule[0][1]
        for fraction, name in plan.schedule:
            if day >= self._day_at(fraction):
                status = name
        echoes, unprocessed, prediction = plan.echoes, plan.unprocessed, plan.prediction
        if plan.revision is not None and day >= self._day_at(plan.revision[0]):
            _, echoes, unprocessed, prediction = plan.revision
            if not state.revised:
                state.revised = True
                state.supports = state.contradicts = 0
        if state.last_update is not None:
            # the first look also takes in the weeks before: the episodes that prompted it
            since = state.last_update - timedelta(days=0 if state.looked else 21)
            state.looked = True
            found: list[tuple[_Logged, str, str]] = []
            for theme in plan.themes:
                for logged in self._themes.get(theme, ()):
                    if not since <= logged.entered < at or logged.id in state.used:
                        continue
                    strength = max((logged.emotions.get(t, 0) for t in plan.targets), default=0)
                    direction = _direction(theme, strength, state.revised)
                    if direction is not None:
                        found.append((logged, theme, direction))
            found.sort(key=lambda f: (f[0].entered, f[0].id))
            picked = sorted(
                rng.sample(found, k=min(3, len(found))), key=lambda f: (f[0].entered, f[0].id)
            )
            for logged, theme, direction in picked:
                notes = _EVIDENCE_NOTES_REVISED if state.revised else {}
                note = notes.get((theme, direction)) or _EVIDENCE_NOTES[(theme, direction)]
                state.used.add(logged.id)
                state.evidence.append(
                    Evidence(episode_id=logged.id, direction=direction, note=note, added_on=day)
                )
                if direction == "supports":
                    state.supports += 1
                else:
                    state.contradicts += 1
        prior = 55 if state.revised else plan.prior
        confidence = _clamp(
            (4 * prior + 100 * state.supports) / (4 + state.supports + state.contradicts), 5, 95
        )
        state.confidence.append({"on": day, "confidence": confidence, "status": status})
        state.last_update = at
        self._emit(
            at,
            ProjectionHypothesis(
                id=state.id,
                sharing=PRIVATE
                if p < plan.private_until
                else self._for_research(at, state.created_at),
                opened_on=state.opened_on,
                person_id=self._people.get(plan.person) if plan.person else None,
                situation=plan.situation,
                reaction=plan.reaction,
                echoes=echoes,
                unprocessed_emotion=unprocessed,
                prediction=prediction,
                evidence=list(state.evidence),
                confidence=list(state.confidence),
                status=status,
            ),
        )

    # --- inquiry cycles -----------------------------------------------------------------

    def _plan_cycles(self) -> None:
        for plan in _CYCLES:
            start = self._day_at(plan.start)
            cycle = _CycleRun(plan=plan, id=self._id(), start=start, days=7 * self._cycle_weeks)
            phases = ["planning", "acting", "observing", "reflecting", "completed"]
            offsets = [0, 2, cycle.days // 2, cycle.days, cycle.days + 3]
            if plan.abandoned:
                phases, offsets = [*phases[:2], "abandoned"], [*offsets[:2], cycle.days // 2]
            for phase, offset in zip(phases, offsets, strict=True):
                day = start + timedelta(days=offset)
                self._beat(self._time(day, 20, 22), cycle.step(self, phase))


@dataclass
class _CycleRun:
    plan: _CyclePlan
    id: str
    start: date
    days: int
    created_at: datetime | None = None

    def step(self, story: DemoStory, phase: str) -> Callable[[datetime], None]:
        def run(at: datetime) -> None:
            plan = self.plan
            begun = _local(self.start, 0).astimezone(UTC)
            seen = sorted(
                (
                    logged
                    for theme in plan.themes
                    for logged in story._themes.get(theme, ())
                    if begun <= logged.entered < at
                ),
                key=lambda logged: (logged.entered, logged.id),
            )
            limit = {"observing": 6, "abandoned": 4}.get(phase, 10)
            fields: dict[str, Any] = {
                "id": self.id,
                "sharing": plan.sharing
                if plan.sharing is PRIVATE
                else story._for_research(at, self.created_at),
                "question": plan.question,
                "plan": plan.plan,
                "started_on": self.start,
                "status": phase,
            }
            hypothesis = story._hypotheses.get(plan.hypothesis or "")
            if hypothesis is not None and hypothesis.last_update is not None:
                fields["hypothesis_id"] = hypothesis.id
            if phase in ("observing", "reflecting", "completed", "abandoned"):
                fields["episode_ids"] = [logged.id for logged in seen[:limit]]
                fields["observations"] = (
                    plan.observations if phase != "observing" else "So far: " + plan.observations
                )
            if phase in ("reflecting", "completed", "abandoned"):
                fields["reflection"] = {
                    "experiential": plan.experiential,
                    "presentational": plan.presentational,
                    "propositional": plan.propositional,
                    "practical": plan.practical,
                }
            if phase in ("completed", "abandoned"):
                fields["outcome"] = plan.outcome
                fields["next_step"] = plan.next_step
                fields["ends_on"] = at.astimezone(TIME_ZONE).date()
            else:
                fields["ends_on"] = self.start + timedelta(days=self.days)
            self.created_at = self.created_at or at
            story._emit(at, InquiryCycle(**fields))

        return run


@dataclass
class _ReviewPlan:
    id: str
    held_on: date
    period_start: date
    next_review_on: date | None
    final: bool
    dissent: bool

    def run(self, story: DemoStory) -> Callable[[datetime], None]:
        def hold(at: datetime) -> None:
            rng = story._rng
            q = min(story.progress(self.held_on), 1.0)

            def rate(base: float, gain: float) -> int:
                return _clamp(base + gain * q + rng.gauss(0, 0.7), 0, 10)

            ratings = {
                "focus": rate(6.0, 2.5),
                "method": rate(5.5, 3.0),
                "relationship": rate(6.5, 2.0),
                "my_say": rate(3.0, 6.0),
                "overall": rate(5.5, 3.0),
            }
            reason, dissent = "Both want to continue; the work is going well.", ""
            views = ("continue", "continue", "continue")
            if self.dissent:
                views = ("change", "continue", "change")
                reason = "More session time for the client's own inquiry cycles, less role-play."
                dissent = (
                    "Practitioner: I would have kept role-play for another month; I agreed "
                    "because it is the client's training."
                )
            elif self.final:
                views = ("end", "end", "end")
                reason = (
                    "The client feels able to carry on with co-counselling and the workbook; "
                    "scores have improved reliably."
                )
            client_view, practitioner_view, agreed = views
            review = PeerReview(
                id=self.id,
                sharing=story._for_research(at),
                held_on=self.held_on,
                period_start=self.period_start,
                period_end=self.held_on,
                ratings=ratings,
                client_view=client_view,
                practitioner_view=practitioner_view,
                agreed_outcome=agreed,
                reason=reason,
                dissent=dissent,
                next_review_on=self.next_review_on,
            )
            story._emit(at, review)
            # the agenda raised since the last review: responses, most resolved
            carried: list[AgendaItem] = []
            for i, item in enumerate(story._pending_agenda):
                resolved = self.final or rng.random() < 0.8
                response = rng.choice(_RESPONSES[item.item_type])
                review_id = self.id
                if item.review_id is not None:  # carried over: it stays with its first review
                    response = f"{item.response} Followed up at the next review: {response}"
                    resolved, review_id = True, item.review_id
                updated = item.model_copy(
                    update={"review_id": review_id, "response": response, "resolved": resolved}
                )
                story._emit(at + timedelta(minutes=1 + i), updated)
                if not resolved:
                    carried.append(updated)
            story._pending_agenda = carried
            decided_by, proposed_by = "co-operation", "both"
            decision = "Continue the programme to the next review"
            if self.dissent:
                decision = "Change the method: more inquiry cycles, less role-play"
                proposed_by = "client"
            elif self.final:
                decision = "End the programme; carry on with co-counselling and the workbook"
                proposed_by = "client"
            story._emit(
                at + timedelta(minutes=30),
                FocusDecision(
                    id=story._id(),
                    sharing=story._for_research(at),
                    decided_on=self.held_on,
                    topic="method" if self.dissent else "continuation",
                    decision=decision,
                    proposed_by=proposed_by,
                    decided_by=decided_by,
                ),
            )

        return hold


# --- writing a workbook ------------------------------------------------------------------


class _ReplayClock:
    """The workbook's clock while the demo is written: each read gives the next write's time."""

    def __init__(self, start: datetime) -> None:
        self._times: deque[datetime] = deque()
        self._last = start

    def __call__(self) -> datetime:
        if self._times:
            self._last = self._times.popleft()
        return self._last

    def schedule(self, times: Sequence[datetime]) -> None:
        self._times.clear()
        self._times.extend(times)


@dataclass
class _Tally:
    revisions: int = 0
    sharing: dict[str, Sharing] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)


def _apply(wb: Workbook, clock: _ReplayClock, writes: Iterator[DemoWrite], batch: int) -> _Tally:
    tally = _Tally()
    records: list[Record] = []
    times: list[datetime] = []

    def flush() -> None:
        if records:
            clock.schedule(times)
            wb.save_many(records)
            records.clear()
            times.clear()

    for write in writes:
        tally.revisions += 1
        if write.action == "save":
            assert write.record is not None
            records.append(write.record)
            times.append(write.at)
            tally.sharing[write.record.id] = write.record.sharing
            if len(records) >= batch:
                flush()
            continue
        flush()
        clock.schedule([write.at])
        if write.action == "delete":
            wb.delete(write.record_id)
            tally.deleted.add(write.record_id)
        else:
            wb.restore(write.record_id)
            tally.deleted.discard(write.record_id)
    flush()
    return tally


def generate_demo(
    path: str | os.PathLike[str],
    *,
    seed: int = 7,
    years: float = 1.0,
    episodes_per_week: tuple[int, int] = (3, 6),
    start: date = DEFAULT_START,
    batch_size: int = 1000,
) -> DemoSummary:
    """Make a new demo workbook at ``path`` (refused if it exists) and summarise it.

    Deterministic: the same arguments give the same workbook, byte for byte in its export.
    ``years`` and ``episodes_per_week`` set the size (a benchmark can ask for ten years,
    or for a thousand episodes a week). The workbook is closed when this returns.
    """
    story = DemoStory(seed=seed, years=years, episodes_per_week=episodes_per_week, start=start)
    path = Path(path)
    clock = _ReplayClock(story.created_at)
    wb = Workbook.create(path, workbook_id=story.workbook_id, clock=clock)
    try:
        tally = _apply(wb, clock, story.writes(), max(1, batch_size))
        counts = wb.counts()
        end = _local(story.last_day, 23 * 60 + 59)
        state = wb.consent(as_of=end)
    except BaseException:
        wb.close()
        remove_workbook_files(path)
        raise
    wb.close()
    scopes = tuple(
        name
        for name, on in (
            ("training", state.training),
            ("practitioner sharing", state.practitioner_sharing),
            ("research", state.research),
        )
        if on
    )
    private = sum(
        1 for rid, s in tally.sharing.items() if s is PRIVATE and rid not in tally.deleted
    )
    return DemoSummary(
        path=path,
        seed=story.seed,
        years=story.years,
        episodes_per_week=story.episodes_per_week,
        workbook_id=story.workbook_id,
        period=(story.first_day, story.last_day),
        programme_end=story.programme_end,
        counts=counts,
        deleted=len(tally.deleted),
        revisions=tally.revisions,
        private=private,
        consent=scopes,
        principles_current=state.principles_current,
    )


def _private_folder(folder: Path) -> None:
    """Make ``folder`` (and parents) if needed; make it owner-only if it is ours."""
    try:
        private_folder(folder, tighten=True)
    except FileExistsError:  # a file is in the way
        raise WorkbookError(
            f"{folder} is a file, not a folder; choose another --out", folder
        ) from None


def _refuse_if_open(workbook: Path) -> None:
    """Refuse to replace a demo workbook another process (a JupyterLab kernel) has open.

    Its later saves would go to the replaced file and be lost, so the old demo is kept.
    """
    if open_elsewhere(workbook):
        raise WorkbookBusyError(
            f"{workbook} is open in another program (a JupyterLab kernel?); shut that "
            "kernel down or close the program, then make the demo again",
            workbook,
        )


def write_demo(
    out_dir: str | os.PathLike[str],
    *,
    seed: int = 7,
    years: float = 1.0,
    episodes_per_week: tuple[int, int] = (3, 6),
) -> DemoSummary:
    """Write ``out_dir/demo.heron`` (replacing an earlier demo atomically) and summarise it.

    An earlier demo that another process still has open (a JupyterLab kernel) is not
    replaced: :class:`WorkbookBusyError` says so, and nothing is written.

    The folder is made owner-only (0700) and the workbook is owner-only (0600). The new
    workbook is written under a temporary name in the same folder, closed (so its WAL is
    checkpointed into the file) and then moved over the old one in one step.
    """
    folder = Path(out_dir)
    _private_folder(folder)
    final = folder / DEMO_FILE
    if final.is_dir():
        raise WorkbookError(f"{final} is a folder; remove it or choose another --out", final)
    _refuse_if_open(final)
    temporary = folder / f".{DEMO_FILE}.{os.getpid()}.tmp"
    remove_workbook_files(temporary)
    try:
        summary = generate_demo(
            temporary, seed=seed, years=years, episodes_per_week=episodes_per_week
        )
        if Path(f"{temporary}-wal").exists():
            raise WorkbookError(f"{temporary} was not closed cleanly; try again", temporary)
        # an old demo's -wal must not be replayed into the new file
        _refuse_if_open(final)  # again: a kernel may have opened it while the demo was made
        for suffix in ("-wal", "-shm", "-journal"):
            Path(f"{final}{suffix}").unlink(missing_ok=True)
        os.replace(temporary, final)
    except BaseException:
        remove_workbook_files(temporary)
        raise
    sync_folder(folder)
    return dataclasses.replace(summary, path=final)
