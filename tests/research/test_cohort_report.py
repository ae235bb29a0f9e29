"""The cohort report: analysis functions with known answers, and the notebook run for real.

A dataset of six half-year demo workbooks is made once for the module by ``run_batch`` on
the module's Dask cluster (the ``scheduler`` fixture), and an empty one (the only workbook's
research consent is not given). The report runs once on each: through
:func:`run_cohort_report` for the demo dataset, through the CLI for the empty one.

The sections expected, their order and headings come from the registry's ``cohort`` entry;
each section must read the tables it declares and say its empty-state sentence (or, with no
participants, that there are none).
"""

from __future__ import annotations

import dataclasses
import html
import json
import math
import os
import re
import stat
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from research_helpers import AS_OF, build_workbook, participant_records
from support import run_nbval

from heron_research.analysis import cohort as analysis
from heron_research.cli import main
from heron_research.demo import generate_demo
from heron_research.reports import ReportResult, run_cohort_report
from heron_research.reports import cohort as sections
from heron_research.reports.html import Section, check_offline, note
from heron_research.reports.registry import COHORT, REPORT_KINDS, SectionSpec
from heron_research.reports.registry import sections as declared
from heron_research.research import StudyKey, run_batch

ROOT = Path(__file__).resolve().parents[2]
KIND = REPORT_KINDS[COHORT]
NOTEBOOK = ROOT / "notebooks" / KIND.notebook
SECTIONS = declared(COHORT)
#: (id, heading) of each section, in the registry's order; the cover has the report's title
HEADINGS = [(s.slug, KIND.title if s.cover else s.title) for s in SECTIONS]
N_DEMO = 6

_SECTION = re.compile(r'<section id="([^"]*)" class="report-section"><h([12])>(.*?)</h\2>', re.S)


def headings(page: str) -> list[tuple[str, str]]:
    """(id, heading) of each report section of ``page``, in the order of the page."""
    return [(slug, html.unescape(title)) for slug, _, title in _SECTION.findall(page)]


# --- analysis: known answers -----------------------------------------------------------------


def test_mean_interval_is_students_t_over_values() -> None:
    est = analysis.mean_interval([1, 2, 3, 4, 5])
    half = 2.7764451051977987 * math.sqrt(2.5) / math.sqrt(5)  # t(0.975, 4) = 2.776445

    assert est.n == 5 and est.mean == 3
    assert est.low == pytest.approx(3 - half) and est.high == pytest.approx(3 + half)
    assert analysis.mean_interval([4.0, float("nan"), None]) == analysis.MeanInterval(  # type: ignore[list-item]
        1, 4.0, None, None
    )
    assert analysis.mean_interval([1, 2, 3], minimum=5).low is None
    assert analysis.mean_interval([]).mean is None


def test_wilson_interval_matches_published_values() -> None:
    low, high = analysis.wilson_interval(5, 10)
    assert (round(low, 4), round(high, 4)) == (0.2366, 0.7634)  # type: ignore[arg-type]
    low, high = analysis.wilson_interval(0, 3)
    assert low == 0.0 and high == pytest.approx(0.5615, abs=1e-4)
    assert analysis.wilson_interval(0, 0) == (None, None)


def test_programme_week_starts_at_one() -> None:
    assert [analysis.programme_week(d) for d in (0, 6, 7, 13, 14)] == [1, 1, 2, 2, 3]


def _participants(**days: int) -> pd.DataFrame:
    return pd.DataFrame(
        {"participant_id": list(days), "days_observed": pd.array(list(days.values()), "Int32")}
    )


def test_compliance_counts_every_observed_week() -> None:
    people = _participants(a=14, b=10, c=1)
    episodes = pd.DataFrame(
        {"participant_id": ["a", "a", "a", "b"], "day": pd.array([0, 1, 8, 3], "Int32")}
    )

    result = analysis.compliance(people, episodes, cap=2)

    # a: week 1 -> 2, week 2 -> 1; b: week 1 -> 1, week 2 -> 0; c: week 1 -> 0
    assert result.weeks["entries"].tolist() == [2, 1, 1, 0, 0]
    assert (result.q1, result.median, result.q3) == (0.0, 1.0, 1.0)
    assert result.share_active == pytest.approx(3 / 5)
    assert result.distribution["weeks"].tolist() == [2, 2, 1]
    per = result.per_participant.set_index("participant_id")
    assert per.loc["a", "per_week"] == 1.5 and per.loc["b", "share_active"] == 0.5
    assert per.loc["c", "weeks"] == 1

    empty = analysis.compliance(people.iloc[:0], episodes.iloc[:0])
    assert empty.participant_weeks == 0 and empty.median is None and empty.share_active is None


def _sm(rows: list[tuple[str, str, str, int, int]]) -> pd.DataFrame:
    pid, technique, skill, before, after = zip(*rows, strict=True)
    return pd.DataFrame(
        {
            "participant_id": pid,
            "technique": technique,
            "skill": skill,
            "intensity_before": pd.array(before, "Int32"),
            "intensity_after": pd.array(after, "Int32"),
        }
    )


def test_technique_effects_are_over_participants_and_say_too_few() -> None:
    rows = [(f"p{i}", "slow breathing", "control", 6, 6 - i) for i in range(1, 6)]
    rows.append(("p1", "slow breathing", "control", 8, 7))  # p1's mean drop: (1 + 1) / 2 = 1
    rows += [("p1", "crying", "catharsis", 7, 2), ("p2", "crying", "catharsis", 5, 5)]

    effects = analysis.technique_effects(_sm(rows)).set_index("technique")
    by_skill = analysis.technique_effects(_sm(rows), by="skill").set_index("technique")

    breathing = effects.loc["slow breathing"]
    assert (breathing["n"], breathing["uses"], breathing["enough"]) == (5, 6, True)
    assert breathing["mean_drop"] == 3.0  # participants' drops 1, 2, 3, 4, 5
    half = 2.7764451051977987 * math.sqrt(2.5) / math.sqrt(5)
    assert breathing["ci_low"] == pytest.approx(3 - half)
    crying = effects.loc["crying"]
    assert (crying["n"], crying["enough"], crying["mean_drop"]) == (2, False, 2.5)
    assert crying["ci_low"] is None or math.isnan(crying["ci_low"])
    assert list(effects.index) == ["slow breathing", "crying"]
    assert set(by_skill.index) == {"control", "catharsis"}
    assert analysis.technique_effects(_sm(rows).iloc[:0]).empty


def test_hypothesis_outcomes_count_every_status() -> None:
    frame = pd.DataFrame(
        {
            "participant_id": ["a", "a", "b", "c"],
            "status": ["supported", "refuted", "supported", "open"],
        }
    )

    out = analysis.hypothesis_outcomes(frame).set_index("status")

    assert list(out.index) == list(analysis.HYPOTHESIS_STATUSES)
    assert out.loc["supported"].tolist() == [2, 0.5, 2]
    assert out.loc["revised", "hypotheses"] == 0
    assert analysis.hypothesis_outcomes(frame.iloc[:0])["hypotheses"].sum() == 0


def test_autonomy_share_per_block_is_a_mean_over_participants() -> None:
    frame = pd.DataFrame(
        {
            "participant_id": ["a", "a", "b", "a"],
            "day": pd.array([0, 3, 5, 30], "Int32"),
            "decided_by": ["autonomy", "hierarchy", "autonomy", "co-operation"],
        }
    )

    out = analysis.autonomy_share(frame, block_weeks=4)

    assert out["week"].tolist() == [1, 5] and out["last_week"].tolist() == [4, 8]
    first = out.iloc[0]
    assert (first["decisions"], first["autonomy"], first["hierarchy"]) == (3, 2, 1)
    assert (first["participants"], first["mean"]) == (2, 0.75)  # a: 1/2, b: 1/1
    assert out.iloc[1]["mean"] == 0.0
    many = pd.DataFrame(
        {
            "participant_id": list("abcde"),
            "day": pd.array([0] * 5, "Int32"),
            "decided_by": ["autonomy"] + ["hierarchy"] * 4,
        }
    )
    shares = analysis.autonomy_share(many).iloc[0]
    assert shares["mean"] == 0.2 and shares["ci_low"] == 0.0  # t gives below 0: clipped
    assert 0.2 < shares["ci_high"] < 1
    assert analysis.autonomy_share(frame.iloc[:0]).empty


def test_reliable_change_rates_use_the_scoring_rule() -> None:
    frame = pd.DataFrame(
        {
            "participant_id": ["a", "a", "b", "b", "c", "c", "d"],
            "check_in_id": list("1234567"),
            "day": pd.array([0, 40, 0, 40, 0, 40, 0], "Int32"),
            "instrument": ["phq9"] * 7,
            "score": pd.array([15, 8, 10, 16, 10, 12, 20], "Float64"),
        }
    )

    out = analysis.reliable_change_rates(frame).set_index("instrument")

    phq = out.loc["phq9"]
    assert (phq["participants"], phq["improved"], phq["deteriorated"], phq["unchanged"]) == (
        3,
        1,
        1,
        1,
    )
    assert phq["improved_rate"] == pytest.approx(1 / 3)
    assert out.loc["gad7", "participants"] == 0 and pd.isna(out.loc["gad7", "improved_rate"])
    assert "wellbeing" not in out.index  # no published reliable-change figures


def test_intensity_trajectory_and_families() -> None:
    episodes = pd.DataFrame(
        {"participant_id": ["a", "b", "a"], "episode_id": ["e1", "e2", "e3"], "day": [0, 2, 35]}
    )
    emotions = pd.DataFrame(
        {
            "participant_id": ["a", "a", "b", "a"],
            "episode_id": ["e1", "e1", "e2", "e3"],
            "family": ["anger", "fear", "anger", None],
            "intensity": pd.array([8, 4, 2, 5], "Int32"),
        }
    )

    out = analysis.intensity_trajectory(emotions, episodes, block_weeks=4)
    overall = out[out["series"] == "all emotions"]
    families = analysis.family_summary(emotions).set_index("family")

    assert overall["week"].tolist() == [1, 5]
    assert overall["mean"].tolist() == [4.0, 5.0]  # a: (8 + 4) / 2 = 6, b: 2 -> 4
    assert overall["participants"].tolist() == [2, 1]
    assert set(out["series"]) == {"all emotions", "anger", "fear", "own words"}
    assert families.loc["anger"][["mentions", "participants", "mean"]].tolist() == [2, 2, 5.0]
    assert families.loc["own words", "mentions"] == 1


def test_fingerprint_is_over_the_manifest_checksums() -> None:
    manifest = {"tables": {"b": {"sha256": "2"}, "a": {"sha256": "1"}}}
    same = {"tables": {"a": {"sha256": "1"}, "b": {"sha256": "2"}}}
    changed = {"tables": {"a": {"sha256": "1"}, "b": {"sha256": "3"}}}

    assert sections.fingerprint(manifest) == sections.fingerprint(same)
    assert sections.fingerprint(manifest) != sections.fingerprint(changed)
    assert len(sections.fingerprint(manifest)) == 64


# --- the report, run for real ----------------------------------------------------------------


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory, scheduler: str) -> dict[str, Path]:
    from research_helpers import KEY_TEXT

    root = tmp_path_factory.mktemp("cohort")
    key = StudyKey(KEY_TEXT)
    books = root / "books"
    books.mkdir()
    for i in range(N_DEMO):
        generate_demo(books / f"client-{i}.heron", seed=11 + i, years=0.5)
    run_batch([books], root / "demo-ds", key=key, scheduler=scheduler)
    refused = root / "refused"
    refused.mkdir()
    build_workbook(refused / "no-research.heron", participant_records(research=False)[0])
    run_batch([refused], root / "empty-ds", key=key, scheduler=scheduler, as_of=AS_OF)
    return {"demo": root / "demo-ds", "empty": root / "empty-ds", "root": root}


@pytest.fixture(scope="module")
def demo_report(datasets: dict[str, Path]) -> ReportResult:
    out = datasets["root"] / "reports" / "cohort.html"  # folder made by the runner
    return run_cohort_report(datasets["demo"], out=out, keep_notebook=True)


def _text(page: str) -> str:
    page = re.sub(r"<svg.*?</svg>|<style.*?</style>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)).replace("&#x27;", "'")


def _assert_offline(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>")
    assert check_offline(page) == []
    assert "<script" not in page.lower()
    assert not re.search(r"""<link\b[^>]*href=["']?(?:https?:)?//""", page, re.I)
    without_namespaces = re.sub(r'\sxmlns(?::\w+)?="[^"]*"', "", page)
    assert "http://" not in without_namespaces and "https://" not in without_namespaces


def test_demo_dataset_report_is_offline_private_and_complete(
    demo_report: ReportResult, datasets: dict[str, Path]
) -> None:
    import nbformat

    page = demo_report.path.read_text(encoding="utf-8")

    _assert_offline(page)
    assert headings(page) == HEADINGS
    assert page.count("<section") == len(SECTIONS)
    assert page.count("<svg") >= 5  # charts inline
    assert stat.S_IMODE(demo_report.path.stat().st_mode) == 0o600
    manifest = json.loads((datasets["demo"] / "manifest.json").read_text())
    assert demo_report.fingerprint == sections.fingerprint(manifest)
    assert demo_report.kind == "cohort" and demo_report.notebook is not None
    nb = nbformat.read(demo_report.notebook, as_version=4)
    streams = [
        o for c in nb.cells for o in c.get("outputs", []) if o["output_type"] in ("stream", "error")
    ]
    assert streams == []

    text = _text(page)
    assert f"{N_DEMO} participants in an anonymised research dataset" in text
    assert f"Data fingerprint {demo_report.fingerprint[:12]}" in text
    assert f"Inputs {N_DEMO} Included {N_DEMO} Excluded 0 Erred (could not be read) 0" in text
    assert "rare values: k = 5" in text and "Minimum group size k = 5" in text
    assert "heron-research 0." in text and "Generated" in text
    assert "synthetic sample" not in text
    assert "per participant per programme week was" in text
    assert "95% interval" in text and "Reliable improvement" in text
    assert "supported" in text and "Autonomy share" in text
    # six participants: intervals where all contribute, "too few data" where thin
    assert re.search(r"\d\.\d to \d\.\d", text)
    assert "too few data" in text


def test_cli_cohort_report_on_an_empty_dataset(
    datasets: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "empty.html"

    with pytest.raises(SystemExit) as ended:
        main(["cohort-report", str(datasets["empty"]), "--out", str(out)])

    assert ended.value.code == 0
    assert capsys.readouterr().out == f"{out}\n"
    page = out.read_text(encoding="utf-8")
    _assert_offline(page)
    assert headings(page) == HEADINGS
    text = _text(page)
    assert "0 participants in an anonymised research dataset" in text
    data_sections = [s for s in SECTIONS if s.unavailable is not None]
    assert len(data_sections) == 7
    assert text.count(sections.NO_PARTICIPANTS) == len(data_sections) + 1  # and the cover
    assert "Inputs 1 Included 0 Excluded 1" in text


def test_cli_cohort_report_user_errors_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for folder, words in (
        (tmp_path / "missing", "no such dataset folder"),
        (tmp_path, "is not a research dataset"),
    ):
        with pytest.raises(SystemExit) as ended:
            main(["cohort-report", str(folder), "--out", str(tmp_path / "x.html")])
        err = capsys.readouterr().err
        assert ended.value.code == 1
        assert err.startswith(f"heron-research: {folder}") and words in err
        assert err.count("\n") == 1


def test_without_a_dataset_the_cover_says_it_is_sample_data(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("HERON_DATASET", raising=False)

    ctx = sections.load("")
    cover = str(sections.cover(ctx))

    assert ctx.sample and ctx.n_participants == sections.SAMPLE_SIZE
    assert "synthetic sample" in cover
    assert not Path(ctx.dataset.folder).is_relative_to(Path.cwd())


def test_cohort_notebook_holds_calls_not_logic() -> None:
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))

    for cell in nb["cells"]:
        if cell["cell_type"] != "code" or "parameters" in cell["metadata"].get("tags", []):
            continue
        lines = [ln for ln in "".join(cell["source"]).splitlines() if ln.strip()]
        assert len(lines) <= 2, lines
        assert cell["metadata"]["heron"]["section"]
        assert cell.get("outputs") == [] and cell.get("execution_count") is None


def test_cohort_notebook_runs_under_nbval(tmp_path: Path) -> None:
    """As committed: ``dataset = ""`` and no $HERON_DATASET means the synthetic sample."""
    env = {k: v for k, v in os.environ.items() if k != "HERON_DATASET"}
    done = run_nbval([NOTEBOOK], tmp_path, env)

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert f"{2 + len(SECTIONS)} passed" in done.stdout  # parameters, setup, sections


class _Reading(sections.CohortContext):
    """A cohort context that notes every table a section reads."""

    read: set[str]

    def frame(self, name: str) -> pd.DataFrame:
        self.read.add(name)
        return super().frame(name)


def _reading(ctx: sections.CohortContext, empty: bool = False) -> _Reading:
    """A fresh copy of ``ctx`` that notes what is read; ``empty``: every table emptied."""
    fields = {f.name: getattr(ctx, f.name) for f in dataclasses.fields(ctx) if f.init}
    copy = _Reading(**{**fields, "_tables": {}})
    copy.read = set()
    if empty:
        for name in ctx.manifest["tables"]:
            copy._tables[name] = ctx.dataset.table(name).iloc[:0]
    return copy


@pytest.fixture(scope="module")
def demo_context(datasets: dict[str, Path]) -> sections.CohortContext:
    return sections.load(datasets["demo"])


@pytest.mark.parametrize("spec", SECTIONS, ids=lambda s: s.slug)
def test_each_cohort_section_reads_the_tables_it_declares(
    demo_context: sections.CohortContext, spec: SectionSpec[Any]
) -> None:
    ctx = _reading(demo_context)

    shown = spec(ctx)

    assert shown.slug == spec.slug
    assert ctx.read == set(spec.needs)


@pytest.mark.parametrize("spec", SECTIONS, ids=lambda s: s.slug)
def test_a_cohort_section_with_nothing_to_show_says_its_empty_state_sentence(
    demo_context: sections.CohortContext, spec: SectionSpec[Any]
) -> None:
    """Every table emptied (participants still counted by the manifest): a section with an
    empty-state sentence shows just that."""
    shown = spec(_reading(demo_context, empty=True))

    if spec.empty is not None:
        assert str(shown) == str(Section(spec.slug, spec.title, note(spec.empty)))
    else:
        assert shown.slug == spec.slug
