"""Settings of one learnprog instance: addresses, URLs and the signing secret."""

from __future__ import annotations

import os
import secrets

from attrs import field, frozen

from learnprog.errors import ValidationError
from learnprog.model._rules import optional_url, required_text
from learnprog.model.identity import EmailAddress


def _base_url(value: str) -> str:
    return optional_url(value, field="base_url") or ""


def _sender_name(value: str) -> str:
    return required_text(value, field="sender_name")


def _sender(value: str | EmailAddress) -> EmailAddress:
    return (
        value
        if isinstance(value, EmailAddress)
        else EmailAddress.parse(value, field="sender_address")
    )


def _no_reply(value: str | EmailAddress) -> EmailAddress:
    return (
        value
        if isinstance(value, EmailAddress)
        else EmailAddress.parse(value, field="no_reply_address")
    )


def _default_secret() -> str:
    return os.environ.get("LEARNPROG_SECRET_KEY") or secrets.token_urlsafe(32)


def _secret(value: str) -> str:
    if not isinstance(value, str) or len(value) < 16:
        where = (
            " (it came from the environment variable LEARNPROG_SECRET_KEY)"
            if isinstance(value, str) and value == os.environ.get("LEARNPROG_SECRET_KEY")
            else ""
        )
        raise ValidationError(
            f"a signing secret has at least 16 characters{where}", field="secret_key"
        )
    return value


@frozen
class Settings:
    """What a learnprog instance needs to know about where it runs.

    Attributes:
        base_url: the public base URL of the host app, used in invitation, unsubscribe and
            program links (``https://learning.example.org``).
        secret_key: the secret that signs link tokens (acceptance, unsubscribe), 16
            characters or more. Default: the environment variable ``LEARNPROG_SECRET_KEY``, or
            else a new random secret for each ``Settings()`` — then links stop working on
            restart and another process cannot verify them: set a stable one wherever links
            must outlive the instance (the command line keeps one beside its SQLite
            database, in ``learnprog.db.secret``).
        sender_address: the envelope sender (SMTP ``MAIL FROM``, where bounces go) when a
            mailer is given it (``SmtpMailer(envelope_from=...)``; the command line does).
        sender_name: the display name in From of system emails.
        no_reply_address: the address in From of system emails and of messages without a
            reply-to, so replies go there (guide: "all replies will be sent to noreply@...").
    """

    base_url: str = field(default="http://localhost:8000", converter=_base_url)
    secret_key: str = field(factory=lambda: _default_secret(), converter=_secret, repr=False)
    sender_address: EmailAddress = field(
        default="learning@example.com",  # type: ignore[assignment]
        converter=_sender,
    )
    sender_name: str = field(default="learnprog", converter=_sender_name)
    no_reply_address: EmailAddress = field(
        default="noreply@example.com",  # type: ignore[assignment]
        converter=_no_reply,
    )

    @property
    def message_domain(self) -> str:
        """The domain used in Message-IDs: the sender address's domain."""
        return self.sender_address.domain
