"""Unit tests of learnprog.model.mail: composing messages and outbox entries."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from learnprog.errors import ValidationError
from learnprog.model.identity import EmailAddress
from learnprog.model.mail import MessageCategory, OutboxEntry, OutboxStatus, OutgoingMessage

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
INJECTION = "L&D Team\r\nBcc: someone@example.org"


def _compose(**overrides: Any) -> OutgoingMessage:
    values: dict[str, Any] = {
        "organization_id": "org-1",
        "category": MessageCategory.ANNOUNCEMENT,
        "to": "ana@example.org",
        "subject": "Welcome",
        "text_body": "Hello,\r\nwelcome.",
        "sender_address": "learning@example.com",
        "message_domain": "example.com",
    }
    values.update(overrides)
    return OutgoingMessage.compose(**values)


@pytest.fixture
def message() -> OutgoingMessage:
    return _compose()


def test_categories_honour_opt_out() -> None:
    assert not MessageCategory.TRANSACTIONAL.honours_opt_out
    assert MessageCategory.ANNOUNCEMENT.honours_opt_out
    assert MessageCategory.ADMIN.honours_opt_out


def test_compose_builds_message() -> None:
    msg = _compose(
        to=" Ana@Example.org ",
        to_name=" Ana Lima ",
        sender_name=" L&D Team ",
        reply_to="ld@example.org",
        subject=" Welcome ",
        html_body="<p>Hello</p>",
        template="invitation",
        learner_id="learner-1",
        headers={"List-Unsubscribe": "<https://example.org/u/x>"},
        category="transactional",
    )
    assert re.fullmatch(r"<[0-9a-f]{32}@example\.com>", msg.message_id)
    assert msg.category is MessageCategory.TRANSACTIONAL
    assert msg.to == EmailAddress.parse("Ana@Example.org")
    assert msg.to_name == "Ana Lima"
    assert msg.sender_name == "L&D Team"
    assert msg.sender_address.address == "learning@example.com"
    assert msg.reply_to is not None
    assert msg.reply_to.address == "ld@example.org"
    assert msg.subject == "Welcome"
    assert msg.text_body == "Hello,\r\nwelcome."
    assert msg.html_body == "<p>Hello</p>"
    assert dict(msg.headers) == {"List-Unsubscribe": "<https://example.org/u/x>"}


def test_compose_gives_each_message_its_own_id() -> None:
    assert _compose().message_id != _compose().message_id


def test_compose_accepts_parsed_addresses() -> None:
    to = EmailAddress.parse("ana@example.org")
    assert _compose(to=to).to is to


def test_compose_defaults() -> None:
    msg = _compose(to_name="  ", sender_name=None)
    assert msg.to_name is None
    assert msg.sender_name is None
    assert msg.reply_to is None
    assert dict(msg.headers) == {}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("subject", "Hi\r\nBcc: someone@example.org"),
        ("subject", "Hi\nthere"),
        ("sender_name", INJECTION),
        ("sender_name", "L&D\rTeam"),
        ("to_name", "Ana\nBcc: someone@example.org"),
    ],
)
def test_compose_rejects_line_breaks_in_header_fields(field: str, value: str) -> None:
    with pytest.raises(ValidationError, match="control characters") as info:
        _compose(**{field: value})
    assert info.value.field == field


def test_header_injection_through_sender_name_raises() -> None:
    with pytest.raises(ValidationError, match=re.escape("field 'sender_name'")):
        _compose(sender_name="L&D Team\r\nBcc: someone@example.org")


@pytest.mark.parametrize("field", ["to", "sender_address", "reply_to"])
def test_compose_rejects_injection_in_addresses(field: str) -> None:
    with pytest.raises(ValidationError, match="control characters") as info:
        _compose(**{field: "ana@example.org\r\nBcc: someone@example.org"})
    assert info.value.field == field


@pytest.mark.parametrize("field", ["to", "sender_address", "reply_to"])
def test_compose_rejects_invalid_addresses(field: str) -> None:
    with pytest.raises(ValidationError, match="not a valid email address") as info:
        _compose(**{field: "not-an-address"})
    assert info.value.field == field


def test_compose_rejects_injection_in_header_value() -> None:
    with pytest.raises(ValidationError, match="control characters") as info:
        _compose(headers={"X-Tag": "a\r\nBcc: someone@example.org"})
    assert info.value.field == "headers.X-Tag"


def test_compose_rejects_injection_in_header_name() -> None:
    with pytest.raises(ValidationError, match="control characters") as info:
        _compose(headers={"X-Tag\r\nBcc": "someone@example.org"})
    assert info.value.field == "headers"


@pytest.mark.parametrize("subject", ["", "   ", "x" * 301])
def test_compose_subject_rules(subject: str) -> None:
    with pytest.raises(ValidationError, match=re.escape("field 'subject'")):
        _compose(subject=subject)


def test_compose_unknown_category() -> None:
    with pytest.raises(ValidationError, match="category"):
        _compose(category="marketing")


# --- OutboxEntry ------------------------------------------------------------------------------


def test_queue_makes_pending_entry_due_now(message: OutgoingMessage) -> None:
    entry = OutboxEntry.queue(message, now=NOW)
    assert entry.status is OutboxStatus.PENDING
    assert entry.message is message
    assert entry.created_at == entry.next_attempt_at == NOW
    assert entry.attempts == 0
    assert entry.sent_at is None
    assert entry.last_error is None


def test_queue_naive_now(message: OutgoingMessage) -> None:
    with pytest.raises(ValidationError, match="naive"):
        OutboxEntry.queue(message, now=datetime(2026, 3, 2))


def test_sent_after_failure(message: OutgoingMessage) -> None:
    entry = OutboxEntry.queue(message, now=NOW)
    retry = NOW + timedelta(minutes=5)
    failed = entry.failed(NOW, "421 try later", retry_at=retry)
    assert failed.status is OutboxStatus.PENDING
    assert failed.attempts == 1
    assert failed.last_error == "421 try later"
    assert failed.next_attempt_at == retry

    sent = failed.sent(retry)
    assert sent.status is OutboxStatus.SENT
    assert sent.sent_at == retry
    assert sent.attempts == 2
    assert sent.last_error is None
    assert sent.id == entry.id
    assert sent.message == message


def test_permanent_failure(message: OutgoingMessage) -> None:
    entry = OutboxEntry.queue(message, now=NOW)
    failed = entry.failed(NOW, "550 no such user", retry_at=None)
    assert failed.status is OutboxStatus.FAILED
    assert failed.attempts == 1
    assert failed.last_error == "550 no such user"
    assert failed.next_attempt_at == NOW
    assert failed.sent_at is None


def test_failed_rejects_naive_retry(message: OutgoingMessage) -> None:
    entry = OutboxEntry.queue(message, now=NOW)
    with pytest.raises(ValidationError, match="naive") as info:
        entry.failed(NOW, "421", retry_at=datetime(2026, 3, 2, 10))
    assert info.value.field == "retry_at"


def test_sent_rejects_naive(message: OutgoingMessage) -> None:
    entry = OutboxEntry.queue(message, now=NOW)
    with pytest.raises(ValidationError, match="naive") as info:
        entry.sent(datetime(2026, 3, 2, 10))
    assert info.value.field == "now"
