"""Login challenges are single-use and short-lived; the gateway key is private to its owner."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from gateway.challenges import ChallengeBook
from gateway.errors import (
    ChallengeExpired,
    ChallengeReused,
    ChallengeUnknown,
    TooManyChallenges,
)
from gateway.keys import KeyFileError, load_or_create_key

ADDRESS = "0x" + "Ab" * 20


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def book(clock: Clock) -> ChallengeBook:
    return ChallengeBook(audience="qcity-test", ttl_s=60, clock=clock)


def test_challenge_is_consumed_once(book: ChallengeBook) -> None:
    challenge = book.issue(ADDRESS)
    assert ADDRESS in challenge.text and "qcity-test" in challenge.text
    assert book.consume(challenge.text) == challenge
    with pytest.raises(ChallengeReused) as info:
        book.consume(challenge.text)
    assert info.value.code == "challenge_reused"


def test_old_challenge_is_expired(book: ChallengeBook, clock: Clock) -> None:
    challenge = book.issue(ADDRESS)
    clock.now += 61
    with pytest.raises(ChallengeExpired) as info:
        book.consume(challenge.text)
    assert info.value.code == "challenge_expired"


def test_forgotten_old_challenge_is_still_named_expired(clock: Clock) -> None:
    book = ChallengeBook(audience="qcity-test", ttl_s=60, clock=clock)
    old = book.issue(ADDRESS)
    clock.now += 10_000
    for _ in range(1100):  # enough to trigger purging of the old one
        book.issue(ADDRESS)
    with pytest.raises(ChallengeExpired):
        book.consume(old.text)


def test_outstanding_challenges_are_capped(clock: Clock) -> None:
    book = ChallengeBook(audience="qcity-test", ttl_s=60, max_pending=1100, clock=clock)
    for _ in range(1100):
        book.issue(ADDRESS)
    with pytest.raises(TooManyChallenges) as info:
        book.issue(ADDRESS)
    assert info.value.http_status == 429
    clock.now += 61  # the old ones expire and make room
    assert book.issue(ADDRESS).address == ADDRESS


def test_altered_challenge_text_is_unknown(book: ChallengeBook) -> None:
    challenge = book.issue(ADDRESS)
    altered = challenge.text.replace(ADDRESS, "0x" + "cd" * 20)
    with pytest.raises(ChallengeUnknown):
        book.consume(altered)


@pytest.mark.parametrize("text", ["", "hello", "qcity-login-v1\n", "\x00" * 300])
def test_garbage_challenge_is_unknown(book: ChallengeBook, text: str) -> None:
    with pytest.raises(ChallengeUnknown):
        book.consume(text)


def test_key_created_with_mode_0600_and_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "gw.jwk.json"
    key = load_or_create_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = json.loads(path.read_text())
    assert data["kty"] == "AKP" and data["alg"] == "ML-DSA-65" and len(data["priv"]) == 43
    again = load_or_create_key(path)
    assert again.thumbprint() == key.thumbprint()


def test_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "gw.jwk.json"
    load_or_create_key(path)
    os.chmod(path, 0o644)
    with pytest.raises(KeyFileError, match="0600"):
        load_or_create_key(path)


def test_corrupt_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "gw.jwk.json"
    path.write_text("{not json")
    os.chmod(path, 0o600)
    with pytest.raises(KeyFileError):
        load_or_create_key(path)
