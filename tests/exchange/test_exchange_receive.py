"""``heron-research receive``: the practice workbook, sharing back, unsharing, refusals.

The round trip runs on the one-year demo: the client shares with the practitioner, who
receives into a new practice workbook (their report there equals the client-side one for
them), writes entries of their own and shares them back; the client receives them.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from exchange_helpers import Keys
from support import StepClock, consent_entry, episode_data

from heron_research.cli import main
from heron_research.errors import BundleWorkbookError, OtherSideError
from heron_research.exchange.bundle import (
    FORMAT,
    build_bundle,
    encrypt_bundle,
    fingerprint,
)
from heron_research.exchange.keys import load_identity
from heron_research.exchange.receive import ReceiveResult, receive
from heron_research.exchange.share import share
from heron_research.records import (
    AGENDA_ITEM,
    EMOTION_EPISODE,
    PRACTITIONER_REACTION,
    RECORD_TYPES,
    EmotionEpisode,
    PractitionerReaction,
    Sharing,
    Side,
    validate_record,
)
from heron_research.reports.context import load
from heron_research.visibility import Audience
from heron_research.workbook import Workbook
from heron_research.workbook.portable import export_json, import_text

pytestmark = pytest.mark.unit

UNTIL = "2026-01-04"
CANARY_UNSHARED = "Axolotlunshared"  # an episode shared, then made private
CANARY_WITHDRAWN = "Pangolinwithdrawn"  # an episode shared until consent was withdrawn


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from heron_research.demo import generate_demo

    path = tmp_path_factory.mktemp("demo") / "demo.heron"
    generate_demo(path, seed=7)
    return path


@pytest.fixture
def client(demo: Path, tmp_path: Path) -> Path:
    path = tmp_path / "client" / "client.heron"
    path.parent.mkdir(mode=0o700)
    shutil.copyfile(demo, path)
    path.chmod(0o600)
    return path


def _share(workbook: Path, audience: str, keys: Keys, out: Path, to: Path, me: Path) -> Path:
    with Workbook.open(workbook) as wb:
        share(wb, audience, out, recipient=keys.recipient(to), identity=me)
    return out


def to_practitioner(client: Path, keys: Keys, out: Path) -> Path:
    return _share(client, "practitioner", keys, out, keys.practitioner, keys.client)


def to_client(practice: Path, keys: Keys, out: Path) -> Path:
    return _share(practice, "client", keys, out, keys.client, keys.practitioner)


def exported(path: Path) -> str:
    with Workbook.open(path, readonly=True) as wb:
        return export_json(wb)


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(list(args))
    out, err = capsys.readouterr()
    return int(done.value.code or 0), out, err


def _normalised(html: str) -> str:
    """A report's HTML without what may differ: the generation time and the workbook name."""
    html = re.sub(r"<dt>Generated</dt><dd>[^<]*</dd>", "", html)
    html = re.sub(r"generated \d\d \w+ \d{4} \d\d:\d\d", "", html)
    return re.sub(r"<dt>Workbook</dt><dd>[^<]*</dd>", "", html)


# --- the round trip ---------------------------------------------------------------------------


def test_round_trip_on_the_demo(client: Path, keys: Keys, tmp_path: Path) -> None:
    from heron_research.reports.runner import run_report

    practice = tmp_path / "practice" / "client-a.heron"
    practice.parent.mkdir()
    first = receive(
        to_practitioner(client, keys, tmp_path / "b1.age"), practice, identity=keys.practitioner
    )
    assert first.created and first.applied and first.practice

    with Workbook.open(practice, readonly=True) as wb, Workbook.open(client) as mine:
        assert wb.is_practice and wb.side is Side.PRACTITIONER
        assert wb.client_workbook_id == mine.id != wb.id
        assert wb.consent().describe() == mine.consent().describe()

    # the practitioner's report there equals the one made for them from the client's file
    for kind in ("review", "handover"):
        there = load(practice, kind=kind, until=UNTIL, audience="practitioner")
        here = load(client, kind=kind, until=UNTIL, audience="practitioner")
        assert there.fingerprint == here.fingerprint, kind
        assert there.included == here.included and there.withheld == here.withheld, kind
        assert sum(here.withheld.values()) > 0  # the demo keeps some entries private
    pages = [
        run_report(
            path,
            kind="review",
            until=UNTIL,
            audience="practitioner",
            out=tmp_path / f"{path.stem}.html",
        )
        for path in (client, practice)
    ]
    assert pages[0].fingerprint == pages[1].fingerprint
    html = [_normalised(p.path.read_text(encoding="utf-8")) for p in pages]
    assert html[0] == html[1]

    # the practitioner writes entries of their own and shares them back
    with Workbook.open(practice) as wb:
        wb.save(PractitionerReaction(reaction="Protective when the client spoke of work"))
        ids = {s.id for k in RECORD_TYPES for s in wb.records(k) if s.side is Side.PRACTITIONER}
        theirs = {i: wb.get_stored(i) for i in ids}
    back = to_client(practice, keys, tmp_path / "back1.age")
    result = receive(back, client, identity=keys.client)
    assert result.applied and not result.refused and result.added == 1
    with Workbook.open(client) as wb:
        for rid, stored in theirs.items():
            held = wb.get_stored(rid)
            assert held.side is Side.PRACTITIONER
            assert (held.revision, held.record) == (stored.revision, stored.record)
        before = export_json(wb)
    again = receive(back, client)  # the identity is remembered
    assert not again.applied
    assert "nothing was changed" in again.lines()[0]
    assert exported(client) == before


def test_a_later_bundle_from_the_practitioner_replaces_and_removes(
    client: Path, keys: Keys, tmp_path: Path
) -> None:
    practice = tmp_path / "practice.heron"
    receive(
        to_practitioner(client, keys, tmp_path / "b1.age"), practice, identity=keys.practitioner
    )
    with Workbook.open(practice) as wb:
        note = wb.save(PractitionerReaction(reaction="Bored in the second half"))
    older = to_client(practice, keys, tmp_path / "back1.age")
    receive(older, client, identity=keys.client)
    with Workbook.open(practice) as wb:
        wb.save(note.record.model_copy(update={"how_addressed": "Supervision on Friday"}))
        [gone] = [s for s in wb.records(PRACTITIONER_REACTION) if s.id != note.id][:1]
        wb.delete(gone.id)
    newer = to_client(practice, keys, tmp_path / "back2.age")
    result = receive(newer, client)
    assert result.applied and result.replaced == 1 and result.removed >= 1
    with Workbook.open(client) as wb:
        assert wb.get(note.id).how_addressed == "Supervision on Friday"
        assert gone.id not in {s.id for s in wb.records(PRACTITIONER_REACTION)}
        with pytest.raises(Exception, match="no record"):
            wb.history(gone.id)
        after = export_json(wb)
    stale = receive(older, client)  # older after newer: nothing changes
    assert not stale.applied and exported(client) == after


def test_the_client_refuses_an_entry_the_practitioner_does_not_write(
    client: Path, keys: Keys, tmp_path: Path
) -> None:
    practice = tmp_path / "practice.heron"
    receive(
        to_practitioner(client, keys, tmp_path / "b1.age"), practice, identity=keys.practitioner
    )
    with Workbook.open(client) as wb:
        own_item = next(s for s in wb.records(AGENDA_ITEM) if s.side is Side.CLIENT)
    with Workbook.open(practice) as wb:
        doc = build_bundle(wb, Audience.CLIENT, sequence=5).document
    episode = validate_record(EmotionEpisode, episode_data(people=[]))
    forged = {**doc["records"][0]}
    doc["records"] += [
        {
            **forged,
            "kind": EMOTION_EPISODE,
            "id": episode.id,
            "sharing": episode.sharing.value,
            "data": episode.to_data(),
        },
        {
            **forged,
            "kind": AGENDA_ITEM,
            "id": own_item.id,
            "sharing": own_item.sharing.value,
            "revision": own_item.revision + 1,
            "data": {**own_item.record.to_data(), "text": "the practitioner's words"},
        },
    ]
    doc["provenance"]["fingerprint"] = fingerprint([*doc["records"], *doc["people"]])
    plaintext = (json.dumps(doc, sort_keys=True) + "\n").encode()
    sealed = encrypt_bundle(plaintext, [load_identity(keys.client).to_public()])
    (tmp_path / "forged.age").write_bytes(sealed)

    result = receive(tmp_path / "forged.age", client, identity=keys.client)
    refused = {r.id: r.reason for r in result.refused}
    assert refused == {
        episode.id: "only the client writes emotion episodes",
        own_item.id: "it is your own entry; only you change it",
    }
    text = "\n".join(result.lines())
    assert f"Refused the emotion episode {episode.id}: only the client writes" in text
    assert f"Refused the agenda item {own_item.id}: it is your own entry" in text
    with Workbook.open(client) as wb:
        assert wb.get(own_item.id) == own_item.record
        with pytest.raises(Exception, match="no record"):
            wb.get(episode.id)


# --- only the writing side changes a record ---------------------------------------------------


def test_save_refuses_the_other_sides_records(client: Path, keys: Keys, tmp_path: Path) -> None:
    practice = tmp_path / "practice.heron"
    receive(
        to_practitioner(client, keys, tmp_path / "b1.age"), practice, identity=keys.practitioner
    )
    with Workbook.open(practice) as wb:
        episode = wb.records(EMOTION_EPISODE)[0]
        before = export_json(wb)
        with pytest.raises(OtherSideError, match="written by the client"):
            wb.save(episode.record.model_copy(update={"notes": "my edit"}))
        with pytest.raises(OtherSideError, match="written by the client"):
            wb.delete(episode.id)
        new = validate_record(EmotionEpisode, episode_data(people=[]))
        with pytest.raises(OtherSideError, match="only the client writes emotion episodes"):
            wb.save(new)
        with pytest.raises(OtherSideError, match="practice workbook: the client's entries come"):
            wb.save(new, side="client")
        assert export_json(wb) == before
    with Workbook.open(client) as wb:
        reaction = wb.records(PRACTITIONER_REACTION)[0]
        assert reaction.side is Side.PRACTITIONER
        with pytest.raises(OtherSideError, match="written by the practitioner"):
            wb.save(reaction.record.model_copy(update={"reaction": "the client's words"}))
        with pytest.raises(OtherSideError):
            wb.delete(reaction.id)
        wb.save(reaction.record.model_copy(update={"how_addressed": "x"}), side="practitioner")


def test_a_practice_workbook_exports_and_imports_as_itself(
    client: Path, keys: Keys, tmp_path: Path
) -> None:
    practice = tmp_path / "practice.heron"
    receive(
        to_practitioner(client, keys, tmp_path / "b1.age"), practice, identity=keys.practitioner
    )
    text = exported(practice)
    doc = json.loads(text)
    assert doc["format_version"] == 2 and doc["workbook"]["side"] == "practitioner"
    assert doc["workbook"]["received"]["sequence"] == 1 and doc["withheld"]
    with import_text(text, tmp_path / "copy.heron") as copy:
        assert copy.is_practice and export_json(copy) == text
        assert copy.withheld_count(EMOTION_EPISODE, "practitioner") > 0


def test_an_export_of_format_1_still_imports(client: Path, tmp_path: Path) -> None:
    doc = json.loads(exported(client))
    for entry in (*doc["records"], *doc["revisions"]):
        del entry["side"]
    for key in ("side", "client_workbook_id", "received"):
        del doc["workbook"][key]
    del doc["withheld"]
    doc["format_version"], doc["workbook"]["schema_version"] = 1, 2
    with import_text(json.dumps(doc), tmp_path / "old.heron") as wb:
        sides = {(s.kind, s.side) for k in RECORD_TYPES for s in wb.records(k)}
    assert (PRACTITIONER_REACTION, Side.PRACTITIONER) in sides
    assert (AGENDA_ITEM, Side.CLIENT) in sides and (AGENDA_ITEM, Side.PRACTITIONER) not in sides


# --- unshare and withdraw ---------------------------------------------------------------------


def _file_bytes(path: Path) -> bytes:
    found = b""
    for suffix in ("", "-wal", "-shm", "-journal"):
        extra = Path(f"{path}{suffix}")
        if extra.exists():
            found += extra.read_bytes()
    return found


def _episode(situation: str) -> EmotionEpisode:
    data = episode_data(people=[], situation=situation, sharing="practitioner")
    return validate_record(EmotionEpisode, data)


def test_unshared_and_withdrawn_entries_leave_no_trace(keys: Keys, tmp_path: Path) -> None:
    clock = StepClock()
    client, practice = tmp_path / "client.heron", tmp_path / "practice.heron"
    with Workbook.create(client, clock=clock) as wb:
        wb.save(consent_entry(wb.now()))
        unshared = _episode(f"{CANARY_UNSHARED} on the bus")
        withdrawn = _episode(f"{CANARY_WITHDRAWN} at lunch")
        wb.save_many([unshared, withdrawn])
    receive(
        to_practitioner(client, keys, tmp_path / "b1.age"), practice, identity=keys.practitioner
    )
    with Workbook.open(practice) as wb:
        assert {s.id for s in wb.records(EMOTION_EPISODE)} == {unshared.id, withdrawn.id}
        wb.save(PractitionerReaction(reaction="Curious about the bus"))
    blob = _file_bytes(practice)
    assert CANARY_UNSHARED.encode() in blob and CANARY_WITHDRAWN.encode() in blob

    with Workbook.open(client, clock=clock) as wb:  # made private: "only me"
        wb.save(unshared.model_copy(update={"sharing": Sharing.PRIVATE}))
    result = receive(to_practitioner(client, keys, tmp_path / "b2.age"), practice)
    assert result.removed == 1 and result.kept == 1
    with Workbook.open(practice) as wb:
        assert {s.id for s in wb.records(EMOTION_EPISODE)} == {withdrawn.id}
        with pytest.raises(Exception, match="no record"):
            wb.history(unshared.id)
        assert wb.withheld_count(EMOTION_EPISODE, "practitioner") == 1
    assert CANARY_UNSHARED.encode() not in _file_bytes(practice)
    assert CANARY_WITHDRAWN.encode() in _file_bytes(practice)

    with Workbook.open(client, clock=clock) as wb:  # consent to sharing withdrawn
        wb.save(consent_entry(wb.now(), practitioner_sharing=False))
    receive(to_practitioner(client, keys, tmp_path / "b3.age"), practice)
    with Workbook.open(practice) as wb:
        client_side = [
            s
            for k in RECORD_TYPES
            for s in wb.records(k, include_deleted=True)
            if s.side is Side.CLIENT
        ]
        assert client_side == []
        assert not wb.consent().practitioner_sharing
        assert [s.side for s in wb.records(PRACTITIONER_REACTION)] == [Side.PRACTITIONER]
        for rid in (unshared.id, withdrawn.id):
            with pytest.raises(Exception, match="no record"):
                wb.history(rid)
    blob = _file_bytes(practice)
    assert CANARY_UNSHARED.encode() not in blob and CANARY_WITHDRAWN.encode() not in blob


# --- refusals: one line, exit 1, nothing changed ----------------------------------------------


@pytest.fixture
def received(client: Path, keys: Keys, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A practice workbook after its first bundle, and its export then."""
    practice = tmp_path / "practice.heron"
    receive(
        to_practitioner(client, keys, tmp_path / "b1.age"), practice, identity=keys.practitioner
    )
    yield practice, exported(practice)


def _refused(capsys: pytest.CaptureFixture[str], bundle: Path, practice: Path, *extra: str) -> str:
    code, out, err = _run(capsys, "receive", str(bundle), "--into", str(practice), *extra)
    assert code == 1, (out, err)
    assert out == "" and err.count("\n") == 1 and "Traceback" not in err
    return err


def test_each_refusal_says_why_in_one_line_and_changes_nothing(
    capsys: pytest.CaptureFixture[str],
    received: tuple[Path, str],
    client: Path,
    keys: Keys,
    tmp_path: Path,
) -> None:
    practice, before = received
    good = to_practitioner(client, keys, tmp_path / "b2.age")
    data = good.read_bytes()

    cases: dict[str, tuple[bytes | Path, str, tuple[str, ...]]] = {}
    cases["wrong key"] = (good, "was not encrypted to your key", ("--identity", str(keys.stranger)))
    tampered = bytearray(data)
    tampered[len(data) // 2] ^= 0x01
    cases["tampered"] = (bytes(tampered), "is damaged", ())
    cases["truncated"] = (data[: len(data) - 100], "is damaged", ())
    cases["foreign"] = (b"PK\x03\x04 not a bundle at all", "is not a heron-research bundle", ())

    other = tmp_path / "other.heron"
    with Workbook.create(other, clock=StepClock()) as wb:
        wb.save(consent_entry(wb.now()))
    cases["another workbook"] = (
        to_practitioner(other, keys, tmp_path / "other.age"),
        "another client's workbook",
        (),
    )
    with Workbook.open(client) as wb:
        wb.save(consent_entry(wb.now(), research=True))
    research = _share(client, "research", keys, tmp_path / "r.age", keys.practitioner, keys.client)
    cases["research bundle"] = (research, "is a research bundle", ())
    newer = json.dumps({"format": FORMAT, "format_version": 99}).encode()
    sealed = encrypt_bundle(newer, [load_identity(keys.practitioner).to_public()])
    cases["newer format"] = (sealed, "bundle format 99", ())

    for name, (content, words, extra) in cases.items():
        path = content if isinstance(content, Path) else tmp_path / f"{name}.age"
        if not isinstance(content, Path):
            path.write_bytes(content)
        err = _refused(capsys, path, practice, *extra)
        assert words in err, (name, err)
        assert exported(practice) == before, name

    # a client's bundle into the client's own workbook, and the practitioner's into a
    # practice workbook: refused too
    with pytest.raises(BundleWorkbookError, match="client's own workbook"):
        receive(good, client, identity=keys.practitioner)
    back = to_client(practice, keys, tmp_path / "back.age")
    assert exported(practice) == before  # sharing back changes no entry
    with pytest.raises(BundleWorkbookError, match="is a practice workbook"):
        receive(back, practice, identity=keys.client)
    assert exported(practice) == before


def test_the_same_or_an_older_bundle_changes_nothing_and_says_so(
    capsys: pytest.CaptureFixture[str],
    received: tuple[Path, str],
    client: Path,
    keys: Keys,
    tmp_path: Path,
) -> None:
    practice, before = received
    code, out, _ = _run(capsys, "receive", str(tmp_path / "b1.age"), "--into", str(practice))
    assert code == 0 and "is not newer than bundle 1" in out and "nothing was changed" in out
    assert exported(practice) == before
    later = receive(to_practitioner(client, keys, tmp_path / "b2.age"), practice)
    assert isinstance(later, ReceiveResult) and later.applied and later.sequence == 2
    assert not receive(tmp_path / "b1.age", practice).applied


def test_lab_opens_the_practitioners_app_on_a_practice_workbook(
    client: Path, keys: Keys, tmp_path: Path
) -> None:
    from heron_research.lab import prepare_lab

    practice = tmp_path / "practice.heron"
    receive(
        to_practitioner(client, keys, tmp_path / "b1.age"), practice, identity=keys.practitioner
    )
    made = prepare_lab(practice)
    text = made.notebook.read_text(encoding="utf-8")
    assert made.created and "Practitioner's notes" in text and "practitioner_app" in text
    assert "practice.heron" in text  # its parameter: the practice workbook beside it
    assert "Practitioner's notes" not in prepare_lab(client).notebook.read_text(encoding="utf-8")
