"""Age identities and recipients: made owner-only, never overwritten, refused when exposed."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from heron_research.errors import (
    ExchangeError,
    KeyFileError,
    KeyFileExistsError,
    KeyFileExposedError,
    RecipientError,
)
from heron_research.exchange.keys import (
    load_identity,
    new_identity,
    parse_recipient,
    recipient_of,
)

pytestmark = pytest.mark.unit


def test_new_identity_is_owner_only_and_loads_back(tmp_path: Path) -> None:
    path = tmp_path / "me.key"
    public = new_identity(path)
    assert public.startswith("age1") and len(public) == 62
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = path.read_text().splitlines()
    assert lines[1] == f"# public key: {public}"  # the layout of age-keygen
    assert lines[2].startswith("AGE-SECRET-KEY-1")
    assert recipient_of(load_identity(path)) == public
    assert sorted(p.name for p in tmp_path.iterdir()) == ["me.key"]  # no temporary left


def test_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        new_identity(tmp_path / "me.key")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "me.key").stat().st_mode) == 0o600


def test_an_existing_file_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "me.key"
    path.write_text("something precious\n")
    with pytest.raises(KeyFileExistsError) as caught:
        new_identity(path)
    assert "never overwritten" in str(caught.value)
    assert path.read_text() == "something precious\n"
    assert isinstance(caught.value, FileExistsError) and isinstance(caught.value, ExchangeError)


def test_two_identities_differ(tmp_path: Path) -> None:
    assert new_identity(tmp_path / "a.key") != new_identity(tmp_path / "b.key")


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644])
def test_an_identity_others_can_read_is_refused_with_the_chmod(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "me.key"
    new_identity(path)
    path.chmod(mode)
    with pytest.raises(KeyFileExposedError) as caught:
        load_identity(path)
    assert f"chmod 600 {path}" in str(caught.value)
    assert f"mode {mode:03o}" in str(caught.value)
    assert isinstance(caught.value, PermissionError)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("", "holds no AGE-SECRET-KEY-1 lines"),
        ("# just a comment\n", "holds no AGE-SECRET-KEY-1 lines"),
        ("AGE-SECRET-KEY-1ABC\n", "damaged age key"),
    ],
)
def test_a_file_that_is_no_identity_is_refused(tmp_path: Path, content: str, words: str) -> None:
    path = tmp_path / "me.key"
    path.write_text(content)
    path.chmod(0o600)
    with pytest.raises(KeyFileError) as caught:
        load_identity(path)
    assert words in str(caught.value)


def test_a_missing_identity_file(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError) as caught:
        load_identity(tmp_path / "nope.key")
    assert "no such key file" in str(caught.value)


def test_a_recipient_parses(tmp_path: Path) -> None:
    public = new_identity(tmp_path / "me.key")
    assert str(parse_recipient(f"  {public}\n")) == public


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("hello", "starts with 'age1'"),
        ("AGE-SECRET-KEY-1QQQQ", "starts with 'age1'"),
        ("age1abc", "does not decode"),
    ],
)
def test_a_malformed_recipient_is_one_clear_line(text: str, words: str) -> None:
    with pytest.raises(RecipientError) as caught:
        parse_recipient(text)
    assert words in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_secret_key_given_as_recipient_is_not_echoed_whole() -> None:
    from pyrage import x25519

    secret = str(x25519.Identity.generate())
    with pytest.raises(RecipientError) as caught:
        parse_recipient(secret)
    assert secret not in str(caught.value)


def test_a_mistyped_recipient_is_refused(tmp_path: Path) -> None:
    public = new_identity(tmp_path / "me.key")
    typo = public[:-1] + ("q" if public[-1] != "q" else "p")
    with pytest.raises(RecipientError):
        parse_recipient(typo)
