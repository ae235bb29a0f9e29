"""Each anonymiser step alone, and the study key."""

from __future__ import annotations

import os
import pickle
import re
from pathlib import Path

import pytest
from research_helpers import AS_OF, KEY_TEXT, build_workbook, participant_records

from heron_research.research import anonymise
from heron_research.research.anonymise import (
    ParticipantData,
    Scrubber,
    custom_terms,
    drop_free_text,
    generalise,
    name_variants,
    pseudonymise,
    rare_terms,
    shift_time,
)
from heron_research.research.errors import StudyKeyError, StudyKeyExposedError
from heron_research.research.keys import StudyKey, load_study_key
from heron_research.research.tables import TABLES
from heron_research.research.task import extract
from heron_research.workbook import Workbook

HEX16 = re.compile(r"^[0-9a-f]{16}$")


def _data(tmp_path: Path, **options: object) -> ParticipantData:
    records, _, _ = participant_records(**options)  # type: ignore[arg-type]
    path = build_workbook(tmp_path / "w.heron", records)
    with Workbook.open(path, readonly=True, clock=lambda: AS_OF) as wb:
        data, code = extract(wb, with_names=True)
    assert code == "included"
    assert data is not None
    return data


# --- the study key ---------------------------------------------------------------------------


def test_key_file_must_be_private(tmp_path: Path) -> None:
    path = tmp_path / "k"
    path.write_bytes(KEY_TEXT)
    os.chmod(path, 0o640)
    with pytest.raises(StudyKeyExposedError) as refused:
        load_study_key(path)
    assert "chmod 600" in str(refused.value)
    assert KEY_TEXT.decode() not in str(refused.value)
    os.chmod(path, 0o600)
    assert load_study_key(path).fingerprint == StudyKey(KEY_TEXT).fingerprint


@pytest.mark.parametrize("content", [b"", b"short\n", b"   \n"])
def test_key_must_be_long_enough(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "k"
    path.write_bytes(content)
    os.chmod(path, 0o600)
    with pytest.raises(StudyKeyError, match="too short"):
        load_study_key(path)


def test_missing_key_file(tmp_path: Path) -> None:
    with pytest.raises(StudyKeyError, match="no such key file"):
        load_study_key(tmp_path / "nothing")


def test_key_never_shows_itself() -> None:
    key = StudyKey(KEY_TEXT)
    assert KEY_TEXT.decode() not in repr(key)
    assert HEX16.match(key.fingerprint)
    assert key.fingerprint != StudyKey(KEY_TEXT + b"x").fingerprint
    with pytest.raises(TypeError):
        pickle.dumps(key)
    keys = key.pseudonymiser()
    assert KEY_TEXT.decode() not in repr(keys)
    assert KEY_TEXT not in pickle.dumps(keys)  # workers get a derived key, not the key


# --- 1. pseudonyms ---------------------------------------------------------------------------


def test_pseudonyms_stable_within_a_study_and_different_across(tmp_path: Path) -> None:
    one = StudyKey(KEY_TEXT).pseudonymiser()
    other = StudyKey(b"another-study-key-0123456789").pseudonymiser()
    assert one.participant("wb1") == StudyKey(KEY_TEXT).pseudonymiser().participant("wb1")
    assert one.participant("wb1") != other.participant("wb1")
    assert one.participant("wb1") != one.participant("wb2")
    assert one.record("wb1", "r") != one.record("wb2", "r")
    assert HEX16.match(one.participant("wb1"))


def test_every_id_is_rekeyed_and_dangling_references_emptied(tmp_path: Path) -> None:
    data = _data(tmp_path)
    raw_episode_ids = list(data.tables["episodes"]["episode_id"])
    raw_person_ids = set(data.tables["episode_people"]["person_id"])
    keys = StudyKey(KEY_TEXT).pseudonymiser()
    pseudonymise(data, keys)
    assert data.participant_id == keys.participant(data.workbook_id)
    episodes = data.tables["episodes"]
    assert set(episodes["participant_id"]) == {data.participant_id}
    assert episodes["episode_id"] == [keys.record(data.workbook_id, i) for i in raw_episode_ids]
    assert all(HEX16.match(i) for i in episodes["episode_id"])
    assert not raw_person_ids & set(data.tables["episode_people"]["person_id"])
    # child rows join their parent under the new ids
    assert set(data.tables["episode_emotions"]["episode_id"]) <= set(episodes["episode_id"])
    # a cycle's link to an episode that is not shared for research is emptied
    linked = data.tables["cycle_episodes"]["episode_id"]
    assert linked[0] in episodes["episode_id"]
    assert linked[1] is None
    assert data.tables["cycles"]["hypothesis_id"] == data.tables["hypotheses"]["hypothesis_id"]


# --- 2. time ---------------------------------------------------------------------------------


def test_dates_become_day_index_weekday_and_part_of_day(tmp_path: Path) -> None:
    data = shift_time(_data(tmp_path))
    episodes = data.tables["episodes"]
    # the first record is the decision on Tuesday 4 March... no: the episode on Monday 3 March
    assert episodes["day"] == [0, 2]
    assert episodes["weekday"] == [0, 2]  # Monday, Wednesday
    # 08:15 UTC on the client's clock; 19:15 at UTC+1 on theirs (wall clock kept)
    assert episodes["part_of_day"] == ["morning", "evening"]
    assert data.tables["decisions"]["day"] == [1]
    assert data.tables["reviews"]["period_start_day"] == [-2]  # before the first record
    assert data.tables["check_ins"]["part_of_day"] == ["evening"]
    assert data.days_observed == 20  # 3 March to 22 March (co-counselling), both included


def test_part_of_day_boundaries() -> None:
    assert [anonymise.part_of_day(h * 60) for h in (0, 5, 6, 11, 12, 17, 18, 23)] == [
        "night",
        "night",
        "morning",
        "morning",
        "afternoon",
        "afternoon",
        "evening",
        "evening",
    ]


# --- 3. free text ----------------------------------------------------------------------------


def test_free_text_is_left_out_by_default(tmp_path: Path) -> None:
    data = drop_free_text(_data(tmp_path))
    assert "situation" not in data.tables["episodes"]
    assert "reaction" not in data.tables["hypotheses"]
    assert "peak_intensity" in data.tables["episodes"]


def test_name_variants() -> None:
    assert name_variants("Priya Sharma") == {"Priya Sharma", "Priya", "Sharma"}
    assert name_variants("J.") == {"J.", "J"}
    assert "Zoe" in name_variants("Zoë")
    assert name_variants("the neighbour") == {"the neighbour"}


def test_scrubbing_names_from_the_register() -> None:
    scrub = Scrubber([("Priya Sharma", "partner"), ("Sam", "manager"), ("J.", "child")])
    assert (
        scrub("Priya Sharma said SAM's plan was fine") == "[partner] said [manager] plan was fine"
    )
    assert scrub("priya and sharma") == "[partner] and [partner]"
    assert scrub("J. was late, J too") == "[child] was late, [child] too"
    assert scrub("I'm sure Samantha is not Sam") == "I'm sure Samantha is not [manager]"
    assert scrub("Zoë") == "Zoë"


def test_scrubbing_accented_variants() -> None:
    assert Scrubber([("Zoe", "friend")])("Zoë came") == "[friend] came"
    assert Scrubber([("Zoë", "friend")])("Zoe came") == "[friend] came"


@pytest.mark.parametrize(
    ("text", "token"),
    [
        ("write to zeb.q@example.org today", "[email]"),
        ("see https://example.org/me?id=3", "[url]"),
        ("see www.example.com", "[url]"),
        ("my blog at quartermaine.co.uk/diary", "[url]"),
        ("from 192.168.10.20 again", "[ip]"),
        ("call 07700 900123", "[phone]"),
        ("call +44 (0)20 7946 0958", "[phone]"),
        ("born 14/02/1981", "[date]"),
        ("born 1981-02-14", "[date]"),
        ("born on 14th February 1981", "[date]"),
        ("on March 3rd, 2024 it began", "[date]"),
        ("since June 2019", "[date]"),
        ("back in 1998", "[year]"),
        ("postcode SW1A 1AA", "[postcode]"),
        ("reference 123456", "[number]"),
        ("file /home/zeb/notes/diary.txt", "[path]"),
        ("file C:\\Users\\zeb\\diary.docx", "[path]"),
        ("file ~/diary.txt", "[path]"),
        ("token A1b2C3d4E5f6G7h8I9", "[code]"),
    ],
)
def test_scrubbing_identifiers(text: str, token: str) -> None:
    scrubbed = Scrubber([])(text)
    assert scrubbed is not None
    assert token in scrubbed
    assert not re.search(r"\d{3}", scrubbed), scrubbed


def test_scrubbing_keeps_ordinary_text() -> None:
    text = "I felt 7/10 angry for 20 minutes, and/or sad; then calm at 3 pm."
    assert Scrubber([("Sam", "manager")])(text) == text
    assert Scrubber([])(None) is None


def test_scrubbed_step_uses_the_register_and_earlier_aliases(tmp_path: Path) -> None:
    records, people, _ = participant_records(names=("Zebedee", "Quentin Blake"))
    path = build_workbook(tmp_path / "w.heron", records)
    boss = people["boss"]
    with Workbook.open(path) as wb:  # the client renames someone later
        wb.save(boss.model_copy(update={"alias": "Z."}))
    with Workbook.open(path, readonly=True, clock=lambda: AS_OF) as wb:
        data, _ = extract(wb, with_names=True)
    assert data is not None
    anonymise.scrub_free_text(data)
    text = repr(data.tables)
    assert "Zebedee" not in text and "Quentin" not in text and "Blake" not in text
    assert "[manager] moved the deadline" in text
    assert "Dinner with [partner]" in text


# --- 4. rare values --------------------------------------------------------------------------


def test_rare_own_words_become_other() -> None:
    per_participant = [
        {"episode_emotions.emotion": frozenset({"zoomy", "blorp"})},
        *({"episode_emotions.emotion": frozenset({"zoomy"})} for _ in range(4)),
        {},
    ]
    kept, replaced = rare_terms(per_participant, k=5)
    assert kept == {"episode_emotions.emotion": {"zoomy": 5}}
    assert replaced == {"episode_emotions.emotion": {"blorp": 1}}
    import pyarrow as pa

    values = pa.array(["anger", "zoomy", "blorp", "other"])
    custom = pa.array([False, True, True, True])
    assert generalise(values, custom, {"zoomy"}).to_pylist() == ["anger", "zoomy", "other", "other"]
    assert generalise(values, custom, set()).to_pylist() == ["anger", "other", "other", "other"]


def test_custom_terms_are_collected_once_per_participant(tmp_path: Path) -> None:
    data = _data(tmp_path, custom_emotion="Wobbly  Inside")
    assert custom_terms(data) == {"episode_emotions.emotion": frozenset({"wobbly inside"})}


def test_hyphenated_names_are_scrubbed_in_every_spelling() -> None:
    scrub = Scrubber([("Marguerite-Anne", "friend")])
    for text in ("Marguerite-Anne", "Marguerite Anne", "MargueriteAnne", "Marguerite", "Anne"):
        assert scrub(f"met {text} today") == "met [friend] today", text
    assert scrub("MARGUERITE's idea") == "[friend] idea"


@pytest.mark.parametrize(
    "text",
    ["12 Acacia Avenue", "221B Baker Street", "Flat 4, 7 Primrose Hill Road", "Apt 12B", "flat 2a"],
)
def test_street_addresses_become_tokens(text: str) -> None:
    scrubbed = Scrubber([])(f"I live at {text} now")
    assert scrubbed is not None and "[address]" in scrubbed
    assert not re.search(r"\d|Acacia|Baker|Primrose", scrubbed), scrubbed


def test_people_not_shared_for_research_are_left_out_of_every_reference(tmp_path: Path) -> None:
    """A research record that refers to a person the research audience may not see (private
    or practitioner-only) carries no id and no relationship for them: the visibility rule
    that empties evidence pointing at a private episode. A person shared for research stays."""
    from datetime import UTC, date, datetime

    from research_helpers import P, R, X, consent, episode

    from heron_research.records import Person, ProjectionHypothesis

    shared = Person(alias="Rae", relationship="friend", sharing=R)
    practitioner = Person(alias="Sam", relationship="manager", sharing=P)
    private = Person(alias="Priya", relationship="partner", sharing=X)
    t0 = datetime(2025, 3, 3, 8, 15, tzinfo=UTC)
    records = [
        consent(datetime(2025, 1, 2, 9, 0, tzinfo=UTC)),
        shared,
        practitioner,
        private,
        episode(t0, people=[shared.id, practitioner.id, private.id]),
        *(
            ProjectionHypothesis(
                sharing=R,
                opened_on=date(2025, 3, 6),
                person_id=person.id,
                reaction="fury",
                echoes="my father",
                unprocessed_emotion="grief",
            )
            for person in (shared, practitioner, private)
        ),
    ]
    path = build_workbook(tmp_path / "w.heron", records)
    with Workbook.open(path, readonly=True, clock=lambda: AS_OF) as wb:
        data, _ = extract(wb)
    assert data is not None
    keys = StudyKey(KEY_TEXT).pseudonymiser()
    pseudonymise(data, keys)
    kept = keys.record(data.workbook_id, shared.id)
    for table in ("episode_people", "hypotheses"):
        columns = data.tables[table]
        assert columns["person_id"] == [kept, None, None], table
        assert columns["relationship"] == ["friend", None, None], table
    # every table with a person reference is covered by the rule
    assert {t.name for t in TABLES if t.by_role("person")} == {"episode_people", "hypotheses"}
    assert all(t.by_role("relationship") for t in TABLES if t.by_role("person"))


@pytest.mark.parametrize("free_text", ["none", "scrubbed"])
def test_own_words_lose_register_names_before_the_k_rule(
    tmp_path: Path, free_text: str, study_key: StudyKey
) -> None:
    """Six participants (k = 5), all with Zebedee in their register, use the own technique
    "texting Zebedee": the name reaches neither the column, its Parquet statistics nor the
    codebook, in either free-text mode; the scrubbed own word is kept by the k-rule."""
    import json
    from datetime import UTC, datetime

    import pyarrow.parquet as pq
    from research_helpers import R, consent, episode

    from heron_research.records import Person
    from heron_research.research.dataset import DatasetWriter
    from heron_research.research.task import TaskSettings, process_source

    paths = []
    for n in range(6):
        friend = Person(alias="Zebedee", relationship="friend", sharing=R)
        records = [
            consent(datetime(2025, 1, 2, 9, 0, tzinfo=UTC)),
            friend,
            episode(
                datetime(2025, 3, 3, 8, 15, tzinfo=UTC),
                people=[friend.id],
                self_management=[
                    {"technique": "texting Zebedee", "skill": "expression", "intensity_after": 3}
                ],
                emotions=[{"emotion": "Zebedee's sulk", "intensity": 4}],
            ),
        ]
        paths.append(build_workbook(tmp_path / f"z{n}.heron", records))
    settings = TaskSettings(study_key.pseudonymiser(), free_text, AS_OF)  # type: ignore[arg-type]
    out = tmp_path / "ds"
    with DatasetWriter(out, study_key, free_text=free_text, k=5) as writer:  # type: ignore[arg-type]
        for i, path in enumerate(paths):
            writer.add(process_source(str(path), i, settings))
        writer.finish()
    techniques = pq.read_table(out / "episode_self_management.parquet")["technique"]
    assert techniques.to_pylist() == ["texting [friend]"] * 6
    emotions = pq.read_table(out / "episode_emotions.parquet")["emotion"]
    assert emotions.to_pylist() == ["[friend] sulk"] * 6
    for name in ("episode_self_management", "episode_emotions"):
        meta = pq.ParquetFile(out / f"{name}.parquet").metadata
        for g in range(meta.num_row_groups):
            for c in range(meta.num_columns):
                stats = meta.row_group(g).column(c).statistics
                if stats is not None and stats.has_min_max:
                    assert "zebedee" not in f"{stats.min!r}{stats.max!r}".casefold(), name
    codebook = (out / "datapackage.json").read_text(encoding="utf-8")
    assert "zebedee" not in codebook.casefold()
    assert "texting [friend]" in json.loads(codebook)["resources"].__repr__()
    assert b"zebedee" not in b"".join(p.read_bytes() for p in out.iterdir()).lower()


def test_a_hyphenated_first_name_of_a_full_name_is_scrubbed_in_every_spelling() -> None:
    scrub = Scrubber([("Marguerite-Anne Featherstonehaugh", "friend")])
    for text in ("MargueriteAnne", "Marguerite Anne", "Marguerite-Anne", "Featherstonehaugh's"):
        assert scrub(f"met {text} today") == "met [friend] today", text
