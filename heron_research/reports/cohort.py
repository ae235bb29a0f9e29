"""The cohort report: what a research dataset shows about the programme, across participants.

``notebooks/cohort_report.ipynb`` calls :func:`load` and then one section per cell, in the
order of the ``cohort`` entry of :data:`~heron_research.reports.registry.REPORT_KINDS`. Each
section is declared here with :func:`~heron_research.reports.registry.section` and returns a
:class:`~heron_research.reports.html.Section`; a section with nothing to show says so
plainly (with no participants at all, each data section says that). The numbers come from
:mod:`heron_research.analysis.cohort`; time is programme weeks (the dataset has no dates).
"""

from __future__ import annotations

import atexit
import hashlib
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from heron_research import charts
from heron_research._version import __version__
from heron_research.analysis import cohort as analysis
from heron_research.reports.common import chart, plural
from heron_research.reports.html import definition_list, note, para, table, tag
from heron_research.reports.registry import COHORT, REPORT_KINDS, Body, SectionSpec, section

if TYPE_CHECKING:
    import pandas as pd

    from heron_research.research.dataset import Dataset

__all__ = [
    "BLOCK_WEEKS",
    "SAMPLE_NOTE",
    "CohortContext",
    "autonomy",
    "check_ins",
    "compliance",
    "cover",
    "emotions",
    "fingerprint",
    "hypotheses",
    "load",
    "methods",
    "participants",
    "sample_dataset",
    "self_management",
]

#: programme weeks per block in the trajectories
BLOCK_WEEKS = 4
SAMPLE_NOTE = (
    "No dataset was given, so this report was made from a small synthetic sample (a few "
    "fictional demo clients; no real person). Run heron-research cohort-report DATASET for "
    "yours."
)
NO_PARTICIPANTS = "No participants were included in this dataset, so there is nothing to report."
SAMPLE_SIZE = 5


@dataclass
class CohortContext:
    """Everything the sections of a cohort report need."""

    dataset: Dataset
    title: str
    generated_at: datetime
    fingerprint: str
    sample: bool = False
    version: str = __version__
    _tables: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    @property
    def manifest(self) -> dict[str, Any]:
        return self.dataset.manifest

    def frame(self, name: str) -> pd.DataFrame:
        """A dataset table, read once."""
        if name not in self._tables:
            self._tables[name] = self.dataset.table(name)
        return self._tables[name]

    @property
    def n_participants(self) -> int:
        return int(self.manifest["tables"]["participants"]["rows"])

    @property
    def short_fingerprint(self) -> str:
        return self.fingerprint[:12]

    def summary(self) -> dict[str, Any]:
        """The facts the runner reads back from the executed notebook."""
        return {
            "kind": "cohort",
            "title": self.title,
            "dataset": self.dataset.folder.name,
            "fingerprint": self.fingerprint,
            "counts": dict(self.manifest.get("counts", {})),
            "participants": self.n_participants,
            "version": self.version,
            "generated_at": self.generated_at.isoformat(timespec="seconds"),
            "sample": self.sample,
        }


def fingerprint(manifest: dict[str, Any]) -> str:
    """SHA-256 over the manifest's per-table checksums (and the codebook's), sorted by name:
    the same dataset files give the same fingerprint."""
    lines = [f"{name}:{info['sha256']}" for name, info in sorted(manifest["tables"].items())]
    codebook = manifest.get("codebook", {})
    if "sha256" in codebook:
        lines.append(f"datapackage.json:{codebook['sha256']}")
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def sample_dataset(n: int = SAMPLE_SIZE) -> Path:
    """A small synthetic dataset in a private temporary folder (removed at exit): ``n``
    quarter-year demo workbooks through the consent gate and anonymiser, in this process,
    under a throwaway key. The cohort notebook defaults to it (``dataset = ""``)."""
    from heron_research.demo import generate_demo
    from heron_research.research.dataset import DatasetWriter
    from heron_research.research.keys import StudyKey
    from heron_research.research.task import TaskSettings, process_source

    folder = Path(tempfile.mkdtemp(prefix="heron-sample-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    books = folder / "workbooks"
    books.mkdir(mode=0o700)
    paths = []
    for i in range(n):
        path = books / f"client-{i + 1}.heron"
        generate_demo(path, seed=7 + i, years=0.25)
        paths.append(path)
    key = StudyKey(secrets.token_urlsafe(32).encode())
    settings = TaskSettings(key.pseudonymiser(), "none", datetime.now(UTC))
    out = folder / "dataset"
    with DatasetWriter(out, key) as writer:
        for i, path in enumerate(paths):
            writer.add(process_source(str(path), i, settings))
        writer.finish()
    return out


def load(
    dataset: str | os.PathLike[str] | None,
    *,
    title: str | None = None,
    now: datetime | None = None,
) -> CohortContext:
    """Start a cohort report in a notebook: warm up the chart renderer, open the dataset
    (checked against its manifest).

    ``dataset`` empty or None means ``$HERON_DATASET``, or when that is not set either, a
    small synthetic sample (see :func:`sample_dataset`); the cover then says so.
    """
    from heron_research.reports.warm import warm_up
    from heron_research.research.dataset import open_dataset

    warm_up()
    chosen = str(dataset or "").strip() or os.environ.get("HERON_DATASET", "").strip()
    sample = not chosen
    folder = sample_dataset() if sample else Path(chosen)
    opened = open_dataset(folder)
    generated = now or datetime.now().astimezone().replace(microsecond=0)
    return CohortContext(
        dataset=opened,
        title=title or REPORT_KINDS[COHORT].title,
        generated_at=generated,
        fingerprint=fingerprint(opened.manifest),
        sample=sample,
    )


def _no_participants(ctx: CohortContext) -> str | None:
    """Why a data section has nothing to show at all: no participant is in the dataset."""
    return NO_PARTICIPANTS if ctx.n_participants == 0 else None


def _data_section(
    slug: str, title: str, *, needs: tuple[str, ...], empty: str | None = None
) -> Callable[[Callable[[CohortContext], Body]], SectionSpec[CohortContext]]:
    """:func:`section` for a section that shows participants' data."""
    return section(COHORT, slug, title, needs=needs, empty=empty, unavailable=_no_participants)


def _num(value: Any, digits: int = 1) -> str:
    if value is None or value != value:
        return ""
    return f"{value:.{digits}f}"


def _pct(value: Any) -> str:
    if value is None or value != value:
        return ""
    return f"{value:.0%}"


def _interval(low: Any, high: Any, digits: int = 1, percent: bool = False) -> str:
    if low is None or low != low or high is None or high != high:
        return "too few data"
    if percent:
        return f"{low:.0%} to {high:.0%}"
    return f"{low:.{digits}f} to {high:.{digits}f}"


def _k_reached(manifest: dict[str, Any]) -> str:
    rare = manifest.get("rare_values", {})
    k = rare.get("k", manifest.get("parameters", {}).get("k"))
    smallest = rare.get("min_group_size")
    if smallest is None:
        return f"k = {k}; no participant's own words were kept, so no smaller group was formed"
    return f"k = {k}; the smallest group of participants sharing a kept own word is {smallest}"


# --- sections --------------------------------------------------------------------------------


@section(COHORT, "cover", "Cover", cover=True)
def cover(ctx: CohortContext) -> Body:
    """Title, dataset, parameters, version, generation time, fingerprint, and the manifest's
    counts (inputs, included, excluded, erred, with reasons) and the k reached."""
    manifest = ctx.manifest
    counts = manifest.get("counts", {})
    parts: list[Any] = [
        para(
            f"{plural(ctx.n_participants, 'participant')} in an anonymised research dataset; "
            "time is counted in programme weeks from each participant's first entry.",
            class_="subtitle",
        )
    ]
    if ctx.sample:
        parts.append(tag("p", SAMPLE_NOTE, class_="notice"))
    if ctx.n_participants == 0:
        parts.append(tag("p", NO_PARTICIPANTS, class_="notice"))
    params = manifest.get("parameters", {})
    created = manifest.get("created_by", {})
    parts.append(
        definition_list(
            [
                ("Dataset", ctx.dataset.folder.name),
                (
                    "Dataset parameters",
                    f"free text: {params.get('free_text', '?')}; rare values: k = "
                    f"{params.get('k', '?')}",
                ),
                ("Report parameters", f"programme weeks in blocks of {BLOCK_WEEKS}"),
                ("Dataset made by", f"heron-research {created.get('heron_research', '?')}"),
                ("Study key fingerprint", tag("code", manifest.get("key_fingerprint", ""))),
                ("Consent rule", manifest.get("consent", {}).get("rule", "")),
                ("Minimum group size", _k_reached(manifest)),
                ("Generated", f"{ctx.generated_at:%d %b %Y %H:%M %Z}".strip()),
                ("heron-research", ctx.version),
                ("Data fingerprint", tag("code", ctx.short_fingerprint, title=ctx.fingerprint)),
            ]
        )
    )
    rows = [
        ("Inputs", counts.get("inputs", 0)),
        ("Included", counts.get("included", 0)),
        ("Excluded", counts.get("excluded", 0)),
        ("Erred (could not be read)", counts.get("erred", 0)),
    ]
    parts.append(table(rows, ["Workbooks", "Count"], caption="From the manifest", numeric=(1,)))
    reasons = [
        (status, info.get("reason", code), info.get("count", 0))
        for status in ("excluded", "erred")
        for code, info in sorted(manifest.get(status, {}).items())
    ]
    if reasons:
        parts.append(table(reasons, ["Status", "Reason", "Workbooks"], caption="Why", numeric=(2,)))
    parts.append(
        note(
            "The fingerprint is a checksum of the dataset's table checksums as listed in its "
            "manifest: the same fingerprint means the same data."
        )
    )
    return parts


@_data_section("participants", "Participants and data", needs=("participants",))
def participants(ctx: CohortContext) -> Body:
    """Participants and data volume: entries of each kind, per participant."""
    frame = analysis.volume(ctx.frame("participants"))
    rows = [
        (
            r.what,
            f"{r.entries:,}" if r.what != "days observed" else "",
            r.participants,
            _num(r.median),
            f"{_num(r.q1)} to {_num(r.q3)}",
        )
        for r in frame.itertuples()
    ]
    days = frame.iloc[0]
    return [
        para(
            f"{plural(ctx.n_participants, 'participant')}, observed for a median of "
            f"{_num(days['median'], 0)} days (from the first to the last entry they shared "
            "for research)."
        ),
        table(
            rows,
            ["Entries", "Total", "Participants with any", "Median per participant", "IQR"],
            numeric=(1, 2, 3),
        ),
        note("Only entries participants shared at the research level are in the dataset."),
    ]


@_data_section("compliance", "Logging compliance", needs=("participants", "episodes"))
def compliance(ctx: CohortContext) -> Body:
    """CREMAS-style compliance: emotion episodes per participant per programme week."""
    result = analysis.compliance(ctx.frame("participants"), ctx.frame("episodes"))
    per = result.per_participant
    q1, med, q3 = (per["share_active"].quantile(q) for q in (0.25, 0.5, 0.75))
    dist = result.distribution.assign(
        label=[f"{i}+" if i == result.cap else str(i) for i in result.distribution["entries"]]
    )
    parts: list[Any] = [
        para(
            f"Over {plural(result.participant_weeks, 'participant-week')}, the median number "
            f"of emotion episodes per participant per programme week was {_num(result.median)} "
            f"(IQR {_num(result.q1)} to {_num(result.q3)}). "
            f"{_pct(result.share_active)} of participant-weeks had at least one entry; per "
            f"participant, the median share of weeks with an entry was {_pct(med)} "
            f"(IQR {_pct(q1)} to {_pct(q3)})."
        ),
        chart(charts.cohort_compliance, dist, "Participant-weeks by number of episodes logged"),
        table(
            [(r.label, r.weeks, _pct(r.share)) for r in dist.itertuples()],
            ["Episodes in the week", "Participant-weeks", "Share"],
            numeric=(1, 2),
        ),
        note(
            "Following the CREMAS checklist (Liao et al. 2016): every week of each "
            "participant's observed span counts, weeks without an entry as 0. Only episodes "
            "shared for research are counted, so compliance here is a lower bound."
        ),
    ]
    return parts


@_data_section(
    "emotions",
    "Emotions over the programme",
    needs=("episode_emotions", "episodes"),
    empty="No emotions were logged in the dataset.",
)
def emotions(ctx: CohortContext) -> Body:
    """Emotion families and intensity trajectories over programme weeks with 95% intervals."""
    felt = ctx.frame("episode_emotions")
    if felt.empty:
        return None
    families = analysis.family_summary(felt)
    rows = [
        (
            r.family,
            r.mentions,
            _pct(r.share),
            r.participants,
            _num(r.mean),
            _interval(r.ci_low, r.ci_high),
        )
        for r in families.itertuples()
    ]
    top = [f for f in families["family"] if f != "own words"][:4]
    trajectory = analysis.intensity_trajectory(
        felt, ctx.frame("episodes"), block_weeks=BLOCK_WEEKS, families=top
    )
    overall = trajectory[trajectory["series"] == "all emotions"]
    n_episodes = len(ctx.frame("episodes"))
    parts: list[Any] = [
        para(
            f"{plural(len(felt), 'emotion')} rated in {plural(n_episodes, 'episode')}. "
            f"Named most often: {', '.join(top)}."
        ),
        table(
            rows,
            [
                "Family",
                "Mentions",
                "Share",
                "Participants",
                "Mean intensity (0-10)",
                "95% interval",
            ],
            numeric=(1, 2, 3, 4),
        ),
        tag("h3", "Intensity over programme weeks"),
        chart(
            charts.cohort_trajectory,
            overall,
            f"Mean intensity of all emotions, per {BLOCK_WEEKS} programme weeks (95% intervals)",
        ),
        chart(
            charts.cohort_trajectory,
            trajectory[trajectory["series"] != "all emotions"],
            f"Mean intensity of the most named families, per {BLOCK_WEEKS} programme weeks",
        ),
        table(
            [
                (
                    f"{r.week}–{r.last_week}",
                    r.participants,
                    r.mentions,
                    _num(r.mean),
                    _interval(r.ci_low, r.ci_high),
                )
                for r in overall.itertuples()
            ],
            ["Programme weeks", "Participants", "Emotions", "Mean intensity", "95% interval"],
            numeric=(1, 2, 3),
            caption="All emotions",
        ),
        note(
            "Each participant's mean intensity in a block is one value; the interval is over "
            f"participants (Student's t), given when at least {analysis.MIN_PARTICIPANTS} "
            "participants contribute. Emotions in participants' own words have no family."
        ),
    ]
    return parts


def _effect_rows(effects: pd.DataFrame, with_skill: bool) -> list[tuple[Any, ...]]:
    rows = []
    for r in effects.itertuples():
        first = (r.technique, r.skill) if with_skill else (r.technique,)
        rows.append(
            (
                *first,
                r.n,
                r.uses,
                f"{_num(r.mean_before)} → {_num(r.mean_after)}",
                _num(r.mean_drop) if r.enough else "too few data",
                _interval(r.ci_low, r.ci_high) if r.enough else "too few data",
            )
        )
    return rows


@_data_section(
    "self-management",
    "Self-management effects",
    needs=("episode_self_management",),
    empty="No self-management with intensity before and after is in the dataset.",
)
def self_management(ctx: CohortContext) -> Body:
    """Before minus after intensity per skill and per technique, with 95% intervals."""
    used = ctx.frame("episode_self_management")
    if used.dropna(subset=["intensity_before", "intensity_after"]).empty:
        return None
    by_skill = analysis.technique_effects(used, by="skill")
    by_technique = analysis.technique_effects(used)
    heads = ["Participants", "Uses", "Before → after", "Mean drop", "95% interval"]
    parts: list[Any] = [
        table(_effect_rows(by_skill, False), ["Skill", *heads], numeric=(1, 2, 4)),
    ]
    if bool(by_skill["enough"].any()):
        parts.append(
            chart(
                charts.technique_effects,
                by_skill,
                "Mean drop in intensity per skill over participants, with 95% intervals",
            )
        )
    parts.append(tag("h3", "Per technique"))
    parts.append(
        table(_effect_rows(by_technique, True), ["Technique", "Skill", *heads], numeric=(2, 3, 5))
    )
    if bool(by_technique["enough"].any()):
        parts.append(
            chart(
                charts.technique_effects,
                by_technique,
                "Mean drop in intensity per technique over participants, with 95% intervals",
            )
        )
    parts.append(
        note(
            "Drop = intensity before minus after (positive: the feeling eased). Each "
            "participant's mean drop is one value; the interval is over participants. Fewer "
            f"than {analysis.MIN_PARTICIPANTS} participants: too few data. A fall may also be "
            "the feeling passing with time."
        )
    )
    return parts


@_data_section(
    "hypotheses",
    "Projection hypotheses",
    needs=("hypotheses",),
    empty="No projection hypotheses are in the dataset.",
)
def hypotheses(ctx: CohortContext) -> Body:
    """Projection hypotheses by current status."""
    frame = ctx.frame("hypotheses")
    if frame.empty:
        return None
    outcomes = analysis.hypothesis_outcomes(frame)
    with_any = frame["participant_id"].nunique()
    rows = [(r.status, r.hypotheses, _pct(r.share), r.participants) for r in outcomes.itertuples()]
    return [
        para(
            f"{plural(len(frame), 'hypothesis', 'hypotheses')} from "
            f"{plural(int(with_any), 'participant')}, by their current status."
        ),
        table(rows, ["Status", "Hypotheses", "Share", "Participants"], numeric=(1, 2, 3)),
    ]


@_data_section(
    "autonomy",
    "Autonomy in decisions",
    needs=("decisions",),
    empty="No focus decisions are in the dataset.",
)
def autonomy(ctx: CohortContext) -> Body:
    """The autonomy share of focus decisions over programme time."""
    frame = ctx.frame("decisions")
    if frame.empty:
        return None
    share = analysis.autonomy_share(frame, block_weeks=BLOCK_WEEKS)
    counts = frame["decided_by"].astype(str).value_counts()
    series = share.assign(series="autonomy share")
    parts: list[Any] = [
        para(
            f"Of {plural(len(frame), 'decision')}: {int(counts.get('autonomy', 0))} by the "
            f"client (autonomy), {int(counts.get('co-operation', 0))} together (co-operation), "
            f"{int(counts.get('hierarchy', 0))} by the practitioner (hierarchy)."
        ),
        chart(charts.cohort_decisions, share, "How decisions were made, by programme weeks"),
        chart(
            lambda d: charts.cohort_trajectory(d, "Autonomy share"),
            series,
            "Mean share of each participant's decisions made by autonomy (95% intervals)",
        ),
        table(
            [
                (
                    f"{r.week}–{r.last_week}",
                    r.participants,
                    r.decisions,
                    _pct(r.mean),
                    _interval(r.ci_low, r.ci_high, percent=True),
                )
                for r in share.itertuples()
            ],
            ["Programme weeks", "Participants", "Decisions", "Autonomy share", "95% interval"],
            numeric=(1, 2, 3),
        ),
    ]
    return parts


@_data_section(
    "check-ins",
    "Check-ins: reliable change",
    needs=("check_ins",),
    empty="No participant has two or more PHQ-9 or GAD-7 check-ins in the dataset.",
)
def check_ins(ctx: CohortContext) -> Body:
    """Reliable improvement and deterioration rates (PHQ-9, GAD-7)."""
    rates = analysis.reliable_change_rates(ctx.frame("check_ins"))
    if int(rates["participants"].sum()) == 0:
        return None
    rows = [
        (
            r.name,
            r.participants,
            f"{r.improved} ({_pct(r.improved_rate)})",
            _interval(r.improved_low, r.improved_high, percent=True),
            f"{r.deteriorated} ({_pct(r.deteriorated_rate)})",
            _interval(r.deteriorated_low, r.deteriorated_high, percent=True),
            r.unchanged,
        )
        for r in rates.itertuples()
    ]
    return [
        table(
            rows,
            [
                "Measure",
                "Participants",
                "Reliable improvement",
                "95% interval",
                "Reliable deterioration",
                "95% interval",
                "No reliable change",
            ],
            numeric=(1, 6),
        ),
        note(
            "From each participant's first to latest score (participants with two or more "
            "check-ins of the measure). Reliable change follows Jacobson & Truax (1991): 6 or "
            "more PHQ-9 points, 4 or more GAD-7 points. Intervals: Wilson score."
        ),
    ]


@section(COHORT, "methods", "About these numbers")
def methods(ctx: CohortContext) -> Body:
    """How to read the report, and what it is based on."""
    return [
        para(
            "Participants are the unit of every interval: entries from one person are "
            "summarised into one value per participant before the cohort is described. "
            "The dataset holds no calendar dates; programme week 1 is the first seven days "
            "from each participant's first entry in the dataset."
        ),
        note(
            f"heron-research {ctx.version} · generated {ctx.generated_at:%d %b %Y %H:%M} · "
            f"data fingerprint {ctx.short_fingerprint}"
        ),
    ]
