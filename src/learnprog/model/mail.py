"""Outgoing mail as data: categories, messages and outbox entries.

Sources: guide, "Coursera Email Settings" (learners opt out of announcements; general marketing
is never sent to program learners) and "Emailing your learners" (sender name, reply-to,
no-reply default).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from datetime import datetime, timedelta

from attrs import evolve, field, frozen

from learnprog.errors import ValidationError
from learnprog.model._rules import (
    FrozenDict,
    frozen_dict,
    optional_line,
    required_text,
    single_line,
    to_optional_utc,
    to_utc,
    utc,
)
from learnprog.model._typecheck import checked
from learnprog.model.identity import EmailAddress, domain_name, new_id
from learnprog.model.learner import Membership, MemberState
from learnprog.model.organization import Contract


class MessageCategory(enum.StrEnum):
    """Why a message is sent; decides whether an opt-out applies."""

    TRANSACTIONAL = "transactional"
    """Invitations and program exit: always sent."""
    ANNOUNCEMENT = "announcement"
    """Program and course announcements (welcome emails, deadlines): a learner may opt out."""
    ADMIN = "admin"
    """Admin messages (reminders, custom messages): a learner may opt out."""

    @property
    def honours_opt_out(self) -> bool:
        """True when a learner's opt-out stops this category (all but transactional)."""
        return self is not MessageCategory.TRANSACTIONAL


@checked
@frozen
class OutgoingMessage:
    """A rendered email, ready for a Mailer.

    Attributes:
        message_id: the RFC 5322 Message-ID (``<id@domain>``), fixed when queued so a retry
            sends the same one.
        organization_id: the organization on whose behalf it goes out.
        category: transactional, announcement or admin.
        to: the recipient.
        to_name: the recipient's display name, or ``None``.
        subject: the subject line (single line, 1-300 characters).
        text_body: the plain-text body.
        html_body: the HTML body, or ``None`` for text only.
        sender_name: the display name in From, or ``None``.
        sender_address: the address in From.
        reply_to: the Reply-To address, or ``None`` (replies then go to the no-reply address).
        template: the system template name (``invitation``) or ``None`` for admin messages.
        learner_id: the recipient's learner record, when there is one.
        membership_id: for an invitation, the membership it invites to: it is sent only while
            that invitation still stands (see :meth:`OutboxEntry.withdrawn_reason`).
        headers: extra headers (``List-Unsubscribe``), name -> value, single lines.
    """

    message_id: str
    organization_id: str
    category: MessageCategory
    to: EmailAddress
    subject: str
    text_body: str
    sender_address: EmailAddress
    to_name: str | None = None
    html_body: str | None = None
    sender_name: str | None = None
    reply_to: EmailAddress | None = None
    template: str | None = None
    learner_id: str | None = None
    headers: Mapping[str, str] = field(factory=FrozenDict, converter=frozen_dict)
    membership_id: str | None = None

    @classmethod
    def compose(
        cls,
        *,
        organization_id: str,
        category: MessageCategory,
        to: str | EmailAddress,
        subject: str,
        text_body: str,
        sender_address: str | EmailAddress,
        message_domain: str,
        to_name: str | None = None,
        html_body: str | None = None,
        sender_name: str | None = None,
        reply_to: str | EmailAddress | None = None,
        template: str | None = None,
        learner_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        membership_id: str | None = None,
    ) -> OutgoingMessage:
        """Validate the header fields and make a message with a new Message-ID.

        Header fields (names, subject, addresses, extra headers) may not hold CR or LF, so no
        input can inject a header (RFC 5322 section 2.2).

        Raises:
            ValidationError: a blank subject, an invalid address, or a control character in a
                header field; the error names the field.
        """

        def addr(value: str | EmailAddress, name: str) -> EmailAddress:
            return (
                value if isinstance(value, EmailAddress) else EmailAddress.parse(value, field=name)
            )

        clean_headers = {_header_name(k): _header_value(k, v) for k, v in (headers or {}).items()}
        if len({k.casefold() for k in clean_headers}) != len(clean_headers):
            raise ValidationError("an extra header is given twice", field="headers")
        domain = domain_name(message_domain, field="message_domain")
        return cls(
            message_id=f"<{new_id()}@{domain}>",
            organization_id=organization_id,
            category=_category(category),
            to=addr(to, "to"),
            subject=required_text(subject, field="subject", max_length=300),
            text_body=_body(text_body, "text_body"),
            sender_address=addr(sender_address, "sender_address"),
            to_name=optional_line(to_name, field="to_name"),
            html_body=None if html_body is None else _body(html_body, "html_body"),
            sender_name=optional_line(sender_name, field="sender_name"),
            reply_to=None if reply_to is None else addr(reply_to, "reply_to"),
            template=template,
            learner_id=learner_id,
            headers=clean_headers,
            membership_id=membership_id,
        )


_FORBIDDEN_IN_BODY = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
MAX_BODY = 1_000_000  # characters


def _body(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"a body is text, not {type(value).__name__}", field=field)
    if len(value) > MAX_BODY:
        raise ValidationError(f"a body is at most {MAX_BODY} characters", field=field)
    if _FORBIDDEN_IN_BODY.search(value):
        raise ValidationError("control characters and lone surrogates are not allowed", field=field)
    return value


def _category(value: object) -> MessageCategory:
    try:
        return MessageCategory(str(value))
    except ValueError as exc:
        raise ValidationError(
            "a category is transactional, announcement or admin", field="category", value=value
        ) from exc


_FIELD_NAME = re.compile(r"^[!-9;-~]{1,76}$")  # RFC 5322 section 3.6.8: printable, no colon
_MANAGED_HEADERS = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "subject",
        "reply-to",
        "sender",
        "message-id",
        "date",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
        "return-path",
    }
)


def _header_value(name: str, value: object) -> str:
    """Check an extra header's value: printable ASCII, written as it is, read back as given.

    ``=?`` is refused: readers decode it as the start of an RFC 2047 encoded word (section 2),
    so the value would read back as other text, line breaks included.
    """
    text = single_line(value, field=f"headers.{name}", max_length=900)
    if not text.isascii() or not text.isprintable():
        raise ValidationError("an extra header's value is printable ASCII", field=f"headers.{name}")
    if "=?" in text:
        raise ValidationError(
            "an extra header's value may not hold '=?': readers decode it as an RFC 2047 "
            "encoded word",
            field=f"headers.{name}",
        )
    return text


_EXTRA_HEADERS = frozenset({"auto-submitted", "precedence", "feedback-id"})


def _header_name(name: object) -> str:
    """Check an extra header's name: one that changes no recipient and no structure.

    Allowed: ``List-*``, ``X-*``, ``Auto-Submitted``, ``Precedence`` and ``Feedback-ID``.
    """
    text = single_line(name, field="headers", max_length=76)
    if not _FIELD_NAME.match(text):
        raise ValidationError(f"{text!r} is not a header field name", field="headers")
    folded = text.casefold()
    if folded in _MANAGED_HEADERS or not (
        folded.startswith(("list-", "x-")) or folded in _EXTRA_HEADERS
    ):
        raise ValidationError(
            f"{text} is not allowed as an extra header (only List-*, X-*, Auto-Submitted, "
            "Precedence, Feedback-ID)",
            field="headers",
        )
    return text


class OutboxStatus(enum.StrEnum):
    """Where a queued message stands."""

    PENDING = "pending"
    """Waiting for a dispatcher (first try, or a retry after a transient failure)."""
    SENDING = "sending"
    """Claimed by a dispatcher until ``next_attempt_at`` (its lease); then claimable again."""
    SENT = "sent"
    """Handed to the mail server."""
    FAILED = "failed"
    """Failed for good: a permanent refusal, or transient failures until the last retry."""
    SKIPPED = "skipped"
    """Not sent: the learner opted out of the message's category before it went out."""
    CANCELLED = "cancelled"
    """Not sent: an invitation that no longer stood when it was due (revoked, the program
    removed, accepted already, made again since, or its contract ended; see
    :meth:`OutboxEntry.withdrawn_reason`)."""


@frozen
class RetryPolicy:
    """When a transiently failed message is tried again: exponential backoff.

    The n-th failure waits ``first_delay * 2**(n-1)``, at most ``max_delay``; after
    ``max_attempts`` attempts the message fails for good.

    Attributes:
        first_delay: the wait after the first failure (default 1 minute).
        max_delay: the longest wait (default 1 hour).
        max_attempts: attempts before giving up (default 8).
    """

    first_delay: timedelta = timedelta(minutes=1)
    max_delay: timedelta = timedelta(hours=1)
    max_attempts: int = 8

    def __attrs_post_init__(self) -> None:
        for name in ("first_delay", "max_delay"):
            value = getattr(self, name)
            if not isinstance(value, timedelta) or not (
                timedelta(seconds=1) <= value <= timedelta(days=7)
            ):
                raise ValidationError(
                    "a delay from 1 second to 7 days is required", field=name, value=value
                )
        if self.max_delay < self.first_delay:
            raise ValidationError("max_delay is at least first_delay", field="max_delay")
        if (
            isinstance(self.max_attempts, bool)
            or not isinstance(self.max_attempts, int)
            or not (1 <= self.max_attempts <= 50)
        ):
            raise ValidationError(
                "max_attempts is a whole number from 1 to 50",
                field="max_attempts",
                value=self.max_attempts,
            )

    def retry_at(self, attempts: int, now: datetime) -> datetime | None:
        """Return when to try again after ``attempts`` attempts, or None when it is over."""
        if attempts >= self.max_attempts:
            return None
        exponent = min(max(attempts - 1, 0), 30)  # 2**30 minutes is far past any max_delay
        delay: timedelta = min(self.first_delay * (2**exponent), self.max_delay)
        return now + delay


@checked
@frozen
class OutboxEntry:
    """A message queued in the same unit of work as the change that caused it.

    Delivery is at least once: a dispatcher claims an entry (status SENDING, with a lease until
    ``next_attempt_at``), sends it, then records the outcome. If it dies between sending and
    recording, the lease runs out and the message goes out once more, with the same Message-ID.

    Attributes:
        id: record ID.
        message: the message.
        status: pending, sending (claimed), sent, failed (for good), skipped (opted out) or
            cancelled (an invitation withdrawn before it went out).
        created_at: aware UTC time it was queued.
        next_attempt_at: the earliest time a dispatcher may try it; while SENDING, the end of
            the claim's lease (aware UTC).
        attempts: delivery attempts so far.
        sent_at: when it was handed to the mail server, or ``None``.
        last_error: the last failure's text (the server's answer) or the skip reason.
        claim_id: the claim of the dispatcher holding it, while SENDING.
    """

    id: str
    message: OutgoingMessage
    status: OutboxStatus
    created_at: datetime = field(converter=to_utc)
    next_attempt_at: datetime = field(converter=to_utc)
    attempts: int = 0
    sent_at: datetime | None = field(default=None, converter=to_optional_utc)
    last_error: str | None = None
    claim_id: str | None = None

    @classmethod
    def queue(cls, message: OutgoingMessage, *, now: datetime) -> OutboxEntry:
        """Make a pending entry for ``message``, due at ``now``."""
        at = utc(now, field="now")
        return cls(new_id(), message, OutboxStatus.PENDING, at, at)

    def is_due(self, now: datetime) -> bool:
        """True when a dispatcher may claim it: pending and due, or its claim's lease ran out."""
        return (
            self.status in (OutboxStatus.PENDING, OutboxStatus.SENDING)
            and self.next_attempt_at <= now
        )

    def claimed(self, claim_id: str, lease_until: datetime) -> OutboxEntry:
        """Return the entry claimed by ``claim_id`` until ``lease_until``."""
        return evolve(
            self,
            status=OutboxStatus.SENDING,
            claim_id=claim_id,
            next_attempt_at=utc(lease_until, field="lease_until"),
        )

    def released(self, now: datetime) -> OutboxEntry:
        """Return the entry handed back unsent by its claim: PENDING again, due at ``now``.

        A dispatcher that stops (a worker told to shut down) releases what it claimed and has
        not sent, so another dispatcher takes it at once instead of after the lease. Its
        attempts and last error stay as they were: no attempt was made.
        """
        return evolve(
            self,
            status=OutboxStatus.PENDING,
            claim_id=None,
            next_attempt_at=utc(now, field="now"),
        )

    def sent(self, now: datetime) -> OutboxEntry:
        """Return the entry marked sent at ``now``."""
        return evolve(
            self,
            status=OutboxStatus.SENT,
            sent_at=utc(now, field="now"),
            attempts=self.attempts + 1,
            last_error=None,
            claim_id=None,
        )

    def failed(self, now: datetime, error: str, *, retry_at: datetime | None) -> OutboxEntry:
        """Return the entry after a failed attempt.

        Args:
            now: when the attempt failed.
            error: the failure's text.
            retry_at: when to try again (the entry is PENDING again), or ``None`` for a failure
                for good (FAILED).
        """
        if retry_at is None:
            return evolve(
                self,
                status=OutboxStatus.FAILED,
                attempts=self.attempts + 1,
                last_error=error,
                claim_id=None,
                next_attempt_at=utc(now, field="now"),
            )
        return evolve(
            self,
            status=OutboxStatus.PENDING,
            attempts=self.attempts + 1,
            last_error=error,
            claim_id=None,
            next_attempt_at=utc(retry_at, field="retry_at"),
        )

    def skipped(self, now: datetime, reason: str) -> OutboxEntry:
        """Return the entry skipped at ``now`` for ``reason`` (an opt-out)."""
        return self._closed(OutboxStatus.SKIPPED, now, reason)

    def cancelled(self, now: datetime, reason: str) -> OutboxEntry:
        """Return the entry cancelled at ``now`` for ``reason`` (a withdrawn invitation)."""
        return self._closed(OutboxStatus.CANCELLED, now, reason)

    def _closed(self, status: OutboxStatus, now: datetime, reason: str) -> OutboxEntry:
        """The entry closed unsent at ``now`` with ``status``, ``reason`` as its last error."""
        return evolve(
            self,
            status=status,
            last_error=reason,
            claim_id=None,
            next_attempt_at=utc(now, field="now"),
        )

    def withdrawn_reason(
        self, membership: Membership | None, contract: Contract | None, now: datetime
    ) -> str | None:
        """Why this invitation must not go out any more, or None (also for other messages).

        An invitation (a message with a ``membership_id``) is sent only while it is the
        membership's current invitation and could still be accepted (guide, "Invitations": a
        revoked invitation's link no longer works, so its email would only mislead; a member
        has no use for one): the membership is INVITED, it was not invited again after this
        message was queued (revoked and invited again: only the new invitation's email goes
        out), and its contract has not ended (acceptance would be refused).

        Args:
            membership: the membership the message names, as stored now; ``None`` when it no
                longer exists.
            contract: that membership's contract, as stored now, or ``None``.
            now: the time of the send (aware UTC).

        Returns:
            The reason, as the delivery log records it, or ``None`` to send.

        Raises:
            ValidationError: ``now`` is naive.
        """
        if self.message.membership_id is None:
            return None
        if membership is None:
            return "the invitation no longer exists"
        if membership.state is not MemberState.INVITED:
            return f"the invitation was withdrawn: the membership is {membership.state.value}"
        if membership.invited_at > self.created_at:
            return (
                "the invitation was withdrawn and made again at "
                f"{membership.invited_at.isoformat()}: only that one's email goes out"
            )
        if contract is not None and utc(now, field="now") >= contract.ends_at:
            ended = contract.ends_at.isoformat()
            return f"the invitation's contract {contract.name!r} ended at {ended}"
        return None


class DeliveryOutcome(enum.StrEnum):
    """What one delivery attempt came to."""

    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


@checked
@frozen
class DeliveryAttempt:
    """One attempt to deliver a queued message: the record of every send.

    Attributes:
        id: record ID.
        outbox_id: the outbox entry.
        organization_id: the organization it was sent for.
        recipient: the recipient's address as written.
        category: the message's category.
        template: the system template, or ``None`` for an admin message.
        attempt: 1 for the first attempt, 2 for the first retry, ...
        at: aware UTC time of the attempt.
        outcome: sent, retry (transient failure), failed (for good), skipped (opted out) or
            cancelled (an invitation withdrawn before it went out).
        detail: the server's answer or the skip reason, or ``None``.
    """

    id: str
    outbox_id: str
    organization_id: str
    recipient: str
    category: MessageCategory
    attempt: int
    at: datetime = field(converter=to_utc)
    outcome: DeliveryOutcome = DeliveryOutcome.SENT
    template: str | None = None
    detail: str | None = None

    @classmethod
    def of(
        cls,
        entry: OutboxEntry,
        *,
        attempt: int,
        at: datetime,
        outcome: DeliveryOutcome,
        detail: str | None = None,
    ) -> DeliveryAttempt:
        """Make the record of an attempt at ``entry``."""
        m = entry.message
        return cls(
            new_id(),
            entry.id,
            m.organization_id,
            m.to.address,
            m.category,
            attempt,
            at,
            outcome,
            m.template,
            None if detail is None else detail[:2000],
        )


@checked
@frozen
class EmailOptOut:
    """A learner's opt-out of one category of mail (guide, "Coursera Email Settings").

    Transactional mail (invitations, program exit) cannot be opted out of.

    Attributes:
        organization_id: the learner's organization.
        learner_id: the learner.
        category: announcement or admin.
        at: aware UTC time of the opt-out.
    """

    organization_id: str
    learner_id: str
    category: MessageCategory
    at: datetime = field(converter=to_utc)

    def __attrs_post_init__(self) -> None:
        if not self.category.honours_opt_out:
            raise ValidationError(
                "transactional mail cannot be opted out of",
                field="category",
                value=self.category.value,
            )
