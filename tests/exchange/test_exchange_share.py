"""``heron-research keys new`` and ``share``: previews, remembered keys, numbering, refusals."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from exchange_helpers import CANARY_PRIVATE, Keys, fill_with_canaries
from support import StepClock

from heron_research.cli import cli, main
from heron_research.errors import ShareError
from heron_research.exchange.bundle import decrypt_bundle
from heron_research.exchange.keys import load_identity
from heron_research.exchange.share import (
    IDENTITY_SETTING,
    preview_share,
    recipient_setting,
    sequence_setting,
    share,
)
from heron_research.records import RECORD_TYPES
from heron_research.visibility import Audience
from heron_research.workbook import Workbook
from heron_research.workbook.portable import export_json

pytestmark = pytest.mark.unit


@pytest.fixture
def workbook_file(tmp_path: Path) -> Path:
    path = tmp_path / "client.heron"
    with Workbook.create(path, clock=StepClock()) as wb:
        fill_with_canaries(wb)
    return path


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(list(args))
    out, err = capsys.readouterr()
    return int(done.value.code or 0), out, err


# --- settings --------------------------------------------------------------------------------


def test_settings_are_remembered_and_stay_out_of_the_export(workbook_file: Path) -> None:
    with Workbook.open(workbook_file) as wb:
        before = export_json(wb)
        assert wb.get_setting("x.y") is None and wb.get_setting("x.y", "d") == "d"
        wb.set_setting("x.y", "1")
        wb.set_setting("x.y", "2")
        assert wb.get_setting("x.y") == "2"
        assert export_json(wb) == before
        wb.set_setting("x.y", None)
        assert wb.get_setting("x.y") is None
        assert wb.id  # the workbook's own facts are untouched


# --- the library -----------------------------------------------------------------------------


def test_preview_writes_nothing(workbook_file: Path, tmp_path: Path) -> None:
    with Workbook.open(workbook_file) as wb:
        changes = wb.change_count()
        preview = preview_share(wb, Audience.PRACTITIONER)
        assert wb.get_setting(sequence_setting("practitioner")) is None
        assert wb.change_count() == changes
    text = "\n".join(preview.lines())
    assert preview.sequence == 1
    for kind, n in preview.counts.items():
        assert RECORD_TYPES[kind].facts.words(n) in text
    for found in preview.contents.entries.values():
        for record in found:
            assert record.describe() in text
    assert "Stays only with you:" in text and CANARY_PRIVATE not in text


def test_share_numbers_bundles_and_remembers_keys(
    workbook_file: Path, keys: Keys, tmp_path: Path
) -> None:
    to = keys.recipient(keys.practitioner)
    with Workbook.open(workbook_file) as wb:
        first = share(wb, "practitioner", tmp_path / "1.age", recipient=to, identity=keys.client)
        second = share(wb, "practitioner", tmp_path / "2.age")  # remembered
        assert wb.get_setting(recipient_setting("practitioner")) == to
        assert wb.get_setting(IDENTITY_SETTING) == str(keys.client.resolve())
    assert (first.sequence, second.sequence) == (1, 2)
    for result in (first, second):
        assert stat.S_IMODE(result.path.stat().st_mode) == 0o600
        doc = decrypt_bundle(result.path.read_bytes(), [load_identity(keys.client)])
        assert doc.provenance.sequence == result.sequence
        assert decrypt_bundle(result.path.read_bytes(), [load_identity(keys.practitioner)])
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".age") == ["1.age", "2.age"]


def test_share_refuses_before_anything_changes(
    workbook_file: Path, keys: Keys, tmp_path: Path
) -> None:
    out = tmp_path / "b.age"
    out.write_bytes(b"keep me")
    with Workbook.open(workbook_file) as wb:
        with pytest.raises(ShareError, match="no recipient is known"):
            share(wb, "practitioner", tmp_path / "x.age", identity=keys.client)
        with pytest.raises(ShareError, match="your own key is not known"):
            share(wb, "practitioner", tmp_path / "x.age", recipient=keys.recipient(keys.stranger))
        with pytest.raises(ShareError, match="already exists"):
            share(
                wb,
                "practitioner",
                out,
                recipient=keys.recipient(keys.practitioner),
                identity=keys.client,
            )
        assert wb.get_setting(sequence_setting("practitioner")) is None
        assert wb.get_setting(recipient_setting("practitioner")) is None
    assert out.read_bytes() == b"keep me"
    assert not (tmp_path / "x.age").exists()


# --- the commands ----------------------------------------------------------------------------


def test_keys_new_prints_the_recipient(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "keys", "new", "--out", str(tmp_path / "me.key"))
    assert code == 0
    assert out.strip() == str(load_identity(tmp_path / "me.key").to_public())
    assert "only you can read it" in err
    code, out, err = _run(capsys, "keys", "new", "--out", str(tmp_path / "me.key"))
    assert code == 1 and "never overwritten" in err and "Traceback" not in err


def test_share_dry_run_then_share(
    workbook_file: Path, keys: Keys, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bundle.age"
    wb_arg = str(workbook_file)
    code, text, _ = _run(capsys, "share", wb_arg, "--to", "practitioner", "--dry-run")
    assert code == 0 and "Bundle 1 for your practitioner would hold:" in text
    assert "Nothing was written" in text and not out.exists()
    args = ["share", wb_arg, "--to", "practitioner", "--out", str(out)]
    code, _, err = _run(capsys, *args)
    assert code == 1 and "no recipient is known" in err and "Traceback" not in err
    to = keys.recipient(keys.practitioner)
    code, text, _ = _run(capsys, *args, "--recipient", to, "--identity", str(keys.client))
    assert code == 0 and f"Wrote bundle 1 for your practitioner to {out}" in text
    code, _, err = _run(capsys, *args)  # the file exists now
    assert code == 1 and "already exists" in err
    code, text, _ = _run(capsys, *args, "--force")  # remembered keys, next number
    assert code == 0 and "Wrote bundle 2" in text
    code, text, _ = _run(capsys, "share", wb_arg, "--to", "practitioner", "--dry-run")
    assert "Bundle 3 for your practitioner" in text


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--to", "practitioner", "--free-text", "scrubbed", "--out", "x"], "--to research only"),
        (["--to", "practitioner"], "give --out FILE"),
        (["--to", "research", "--recipient", "age1nope", "--out", "x"], "not a valid age"),
        (["--to", "research", "--recipient", "hello", "--out", "x"], "starts with 'age1'"),
    ],
)
def test_share_errors_are_one_line(
    workbook_file: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    words: str,
) -> None:
    code, _, err = _run(capsys, "share", str(workbook_file), *extra)
    assert code == 1
    assert words in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_an_exposed_identity_is_refused_with_the_chmod(
    workbook_file: Path, keys: Keys, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys.client.chmod(0o644)
    code, _, err = _run(
        capsys,
        "share",
        str(workbook_file),
        "--to",
        "practitioner",
        "--recipient",
        keys.recipient(keys.practitioner),
        "--identity",
        str(keys.client),
        "--out",
        str(tmp_path / "b.age"),
    )
    assert code == 1 and f"chmod 600 {keys.client}" in err
    assert not (tmp_path / "b.age").exists()


def test_the_commands_are_on_the_main_group() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert "keys" in result.output and "share" in result.output
