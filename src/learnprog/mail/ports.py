"""The mail port: a Mailer hands one rendered message to a mail system."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from learnprog.model.mail import MessageCategory, OutboxEntry, OutboxStatus, OutgoingMessage


@runtime_checkable
class Mailer(Protocol):
    """Delivers one message.

    Adapters: :class:`~learnprog.mail.memory.InMemoryMailer`,
    :class:`~learnprog.mail.maildir.MaildirMailer` and :class:`~learnprog.mail.smtp.SmtpMailer`.
    """

    def send(self, message: OutgoingMessage) -> None:
        """Hand ``message`` to the mail system.

        Raises:
            MailError: delivery failed; ``permanent`` tells whether a retry can help.
        """
        ...


__all__ = ["Mailer", "MessageCategory", "OutboxEntry", "OutboxStatus", "OutgoingMessage"]
