"""Unit tests of learnprog.tokens: signed, expiring link tokens."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

import learnprog
from learnprog.clock import FixedClock
from learnprog.errors import ExpiredTokenError, InvalidTokenError, ValidationError
from learnprog.tokens import TokenPurpose, TokenSigner
from tests.factories import forged

SECRET = "0123456789abcdef-test-secret"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def signer(clock: FixedClock) -> TokenSigner:
    return TokenSigner(SECRET, clock)


def test_round_trip(signer: TokenSigner) -> None:
    payload = {"membership_id": "m1", "n": 3, "tags": ["a", "b"], "name": "José"}
    token = signer.sign(TokenPurpose.ACCEPT_INVITATION, payload)
    assert signer.verify(TokenPurpose.ACCEPT_INVITATION, token, max_age=DAY) == payload


def test_token_is_url_safe(signer: TokenSigner) -> None:
    token = signer.sign(TokenPurpose.UNSUBSCRIBE, {"learner_id": "l1", "x": "?&=/+ "})
    assert all(c.isalnum() or c in "-_." for c in token)


def test_round_trip_with_another_signer_of_same_secret(clock: FixedClock) -> None:
    token = TokenSigner(SECRET, clock).sign(TokenPurpose.REPORT_DOWNLOAD, {"r": 1})
    other = TokenSigner(SECRET, clock)
    assert other.verify(TokenPurpose.REPORT_DOWNLOAD, token, max_age=DAY) == {"r": 1}


@pytest.mark.parametrize(
    ("signed_for", "verified_for"),
    [
        (TokenPurpose.ACCEPT_INVITATION, TokenPurpose.UNSUBSCRIBE),
        (TokenPurpose.UNSUBSCRIBE, TokenPurpose.REPORT_DOWNLOAD),
        (TokenPurpose.REPORT_DOWNLOAD, TokenPurpose.ACCEPT_INVITATION),
    ],
)
def test_token_for_one_purpose_does_not_verify_for_another(
    signer: TokenSigner, signed_for: TokenPurpose, verified_for: TokenPurpose
) -> None:
    token = signer.sign(signed_for, {"id": "x"})
    with pytest.raises(InvalidTokenError, match="the link is not valid"):
        signer.verify(verified_for, token, max_age=DAY)


def test_tampered_payload_rejected(signer: TokenSigner) -> None:
    token = signer.sign(TokenPurpose.UNSUBSCRIBE, {"learner_id": "l1"})
    other = signer.sign(TokenPurpose.UNSUBSCRIBE, {"learner_id": "l2"})
    # Graft the second token's payload onto the first token's signature.
    forged = other.split(".")[0] + "." + ".".join(token.split(".")[1:])
    assert forged != token
    with pytest.raises(InvalidTokenError, match="the link is not valid") as info:
        signer.verify(TokenPurpose.UNSUBSCRIBE, forged, max_age=DAY)
    assert info.value.field == "token"


@pytest.mark.parametrize(
    "alter",
    [
        lambda t: t[:-3] + "\u00fc" + t[-3:],  # a non-ASCII letter inside the signature
        lambda t: t[:-1] + "\u00e9" + t[-1:],
        lambda t: t[:5] + "\u00e9" + t[5:],  # inside the payload
        lambda t: t + "\u00e9",
        lambda t: t + "=",  # base64 padding: decoding ignores it
        lambda t: t + "==",
        lambda t: t[:-4] + "=" + t[-4:],
        lambda t: t + " ",
        lambda t: t[:-3] + " " + t[-3:],
        lambda t: t + "\n",
        lambda t: t[:-1] + chr(0xFF00 + ord(t[-1]) - 0x20),  # a full-width form of the last
        lambda t: t.replace(".", "\u2024"),  # ONE DOT LEADER for the dots
        lambda t: t + "\x00",
        lambda t: "",
    ],
)
def test_a_token_with_a_character_outside_its_alphabet_is_refused(
    signer: TokenSigner, alter: Callable[[str], str]
) -> None:
    token = signer.sign(TokenPurpose.ACCEPT_INVITATION, {"membership_id": "m1"})
    assert signer.verify(TokenPurpose.ACCEPT_INVITATION, token, max_age=DAY)
    with pytest.raises(InvalidTokenError, match="the link is not valid") as caught:
        signer.verify(TokenPurpose.ACCEPT_INVITATION, alter(token), max_age=DAY)
    assert caught.value.field == "token"


def test_tampered_signature_rejected(signer: TokenSigner) -> None:
    token = signer.sign(TokenPurpose.UNSUBSCRIBE, {"learner_id": "l1"})
    with pytest.raises(InvalidTokenError, match="the link is not valid"):
        signer.verify(TokenPurpose.UNSUBSCRIBE, forged(token), max_age=DAY)


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "not a token at all"])
def test_garbage_rejected(signer: TokenSigner, garbage: str) -> None:
    with pytest.raises(InvalidTokenError, match="the link is not valid"):
        signer.verify(TokenPurpose.ACCEPT_INVITATION, garbage, max_age=DAY)


def test_other_secret_rejected(clock: FixedClock, signer: TokenSigner) -> None:
    token = TokenSigner("another-secret-of-16+", clock).sign(TokenPurpose.UNSUBSCRIBE, {"a": 1})
    with pytest.raises(InvalidTokenError, match="the link is not valid"):
        signer.verify(TokenPurpose.UNSUBSCRIBE, token, max_age=DAY)


def test_valid_up_to_max_age(clock: FixedClock, signer: TokenSigner) -> None:
    token = signer.sign(TokenPurpose.ACCEPT_INVITATION, {"m": 1})
    clock.advance(DAY)
    assert signer.verify(TokenPurpose.ACCEPT_INVITATION, token, max_age=DAY) == {"m": 1}


def test_expired_after_max_age(clock: FixedClock, signer: TokenSigner) -> None:
    token = signer.sign(TokenPurpose.ACCEPT_INVITATION, {"m": 1})
    clock.advance(DAY + timedelta(seconds=1))
    with pytest.raises(ExpiredTokenError, match="the link has expired") as info:
        signer.verify(TokenPurpose.ACCEPT_INVITATION, token, max_age=DAY)
    assert info.value.field == "token"
    assert isinstance(info.value, InvalidTokenError)


def test_an_altered_token_is_not_an_expired_one(clock: FixedClock, signer: TokenSigner) -> None:
    token = signer.sign(TokenPurpose.ACCEPT_INVITATION, {"m": 1})
    clock.advance(DAY + timedelta(seconds=1))
    with pytest.raises(InvalidTokenError, match="the link is not valid") as info:
        signer.verify(TokenPurpose.ACCEPT_INVITATION, token[:-2] + "xy", max_age=DAY)
    assert not isinstance(info.value, ExpiredTokenError)


def test_expired_error_is_a_validation_error(clock: FixedClock, signer: TokenSigner) -> None:
    token = signer.sign(TokenPurpose.REPORT_DOWNLOAD, {"m": 1})
    clock.advance(timedelta(hours=2))
    with pytest.raises(ValidationError, match="expired"):
        signer.verify(TokenPurpose.REPORT_DOWNLOAD, token, max_age=timedelta(hours=1))


def test_signing_time_comes_from_the_clock(clock: FixedClock) -> None:
    # Signed "in the past" by one clock, verified at the real start by another: expired.
    past = FixedClock(START - timedelta(days=10))
    token = TokenSigner(SECRET, past).sign(TokenPurpose.UNSUBSCRIBE, {"a": 1})
    with pytest.raises(InvalidTokenError, match="expired"):
        TokenSigner(SECRET, clock).verify(TokenPurpose.UNSUBSCRIBE, token, max_age=DAY)
    assert TokenSigner(SECRET, clock).verify(
        TokenPurpose.UNSUBSCRIBE, token, max_age=timedelta(days=11)
    ) == {"a": 1}


def test_non_mapping_payload_rejected(signer: TokenSigner) -> None:
    token = signer.sign(TokenPurpose.UNSUBSCRIBE, cast(Any, ["a", "list"]))
    with pytest.raises(InvalidTokenError, match="the link is not valid"):
        signer.verify(TokenPurpose.UNSUBSCRIBE, token, max_age=DAY)


@pytest.mark.parametrize("secret", ["", "short", "x" * 15])
def test_short_secret_rejected(clock: FixedClock, secret: str) -> None:
    with pytest.raises(ValidationError, match="at least 16 characters") as info:
        TokenSigner(secret, clock)
    assert info.value.field == "secret_key"


def test_a_short_secret_from_the_environment_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LEARNPROG_SECRET_KEY", "short")
    with pytest.raises(ValidationError, match="LEARNPROG_SECRET_KEY"):
        learnprog.Settings()


def test_sixteen_character_secret_accepted(clock: FixedClock) -> None:
    signer = TokenSigner("x" * 16, clock)
    token = signer.sign(TokenPurpose.UNSUBSCRIBE, {"a": 1})
    assert signer.verify(TokenPurpose.UNSUBSCRIBE, token, max_age=DAY) == {"a": 1}
