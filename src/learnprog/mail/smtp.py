"""The SMTP mail adapter, on the standard library's smtplib."""

from __future__ import annotations

import enum
import smtplib
import ssl

from learnprog.clock import Clock, SystemClock
from learnprog.errors import MailError, ValidationError
from learnprog.mail.message import message_bytes, needs_smtputf8, wire_address
from learnprog.mail.ports import Mailer
from learnprog.model.identity import EmailAddress
from learnprog.model.mail import OutgoingMessage


class SmtpSecurity(enum.StrEnum):
    """How the connection to the SMTP server is protected."""

    NONE = "none"
    """Plain text (a local relay only)."""
    STARTTLS = "starttls"
    """Plain connection upgraded with STARTTLS (RFC 3207), usually port 587."""
    TLS = "tls"
    """Implicit TLS from the first byte (RFC 8314), usually port 465."""


class SmtpMailer(Mailer):
    """Delivers each message over one SMTP connection.

    Failures are :class:`MailError`: ``permanent=True`` for a 5xx answer, a refused recipient,
    or an address needing SMTPUTF8 that the server does not offer (RFC 6531); ``permanent=False``
    for a 4xx answer, a refused or dropped connection, or a timeout. The error text keeps the
    server's answer.

    Args:
        host: the server's host name.
        port: its port (587 for STARTTLS, 465 for TLS, 25 for a relay).
        security: none, starttls or tls.
        username: the login, or None for no authentication.
        password: the password, with ``username``.
        timeout: seconds to wait for the server.
        ssl_context: the TLS context (default: certificates verified against the system's CAs).
        clock: the source of the Date header.
        envelope_from: the envelope sender (``MAIL FROM``, where bounces go); default the
            message's From address.

    Raises:
        ValidationError: a port outside 1-65535, an unknown security mode, or a password
            without a username.
    """

    def __init__(
        self,
        host: str,
        port: int = 587,
        *,
        security: SmtpSecurity | str = SmtpSecurity.STARTTLS,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
        clock: Clock | None = None,
        envelope_from: str | None = None,
    ) -> None:
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise ValidationError("a port is 1-65535", field="port", value=port)
        try:
            self.security = SmtpSecurity(security)
        except ValueError as exc:
            raise ValidationError(
                "security is none, starttls or tls", field="security", value=security
            ) from exc
        if password is not None and username is None:
            raise ValidationError("a password needs a username", field="username")
        self.host = host
        self.port = port
        self.username = username
        self._password = password
        self.timeout = timeout
        self.ssl_context = ssl_context or ssl.create_default_context()
        self.clock = clock or SystemClock()
        self.envelope_from = (
            None
            if envelope_from is None
            else wire_address(EmailAddress.parse(envelope_from, field="envelope_from"))
        )

    def _connect(self) -> smtplib.SMTP:
        if self.security is SmtpSecurity.TLS:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self.ssl_context
            )
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            smtp.ehlo()
            if self.security is SmtpSecurity.STARTTLS:
                smtp.starttls(context=self.ssl_context)
                smtp.ehlo()
            if self.username is not None:
                smtp.login(self.username, self._password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, message: OutgoingMessage) -> None:
        """Deliver ``message`` to its recipient.

        Raises:
            MailError: the delivery failed (``permanent`` tells whether a retry can help).
        """
        raw = message_bytes(message, date=self.clock.now())
        utf8 = needs_smtputf8(message)
        sender = self.envelope_from or wire_address(message.sender_address)
        recipient = wire_address(message.to)
        try:
            smtp = self._connect()
            try:
                if utf8 and not smtp.has_extn("smtputf8"):
                    raise MailError(
                        f"{message.to.address}: the address needs SMTPUTF8 (RFC 6531), which "
                        f"{self.host} does not offer",
                        permanent=True,
                    )
                options = ["SMTPUTF8", "BODY=8BITMIME"] if utf8 else []
                smtp.sendmail(sender, [recipient], raw, mail_options=options)
            finally:
                try:
                    smtp.quit()
                except (smtplib.SMTPException, OSError):
                    smtp.close()
        except smtplib.SMTPRecipientsRefused as exc:
            code, answer = next(iter(exc.recipients.values()))
            raise MailError(
                f"{message.to.address}: refused: {code} {_text(answer)}", permanent=code >= 500
            ) from exc
        except smtplib.SMTPResponseException as exc:
            raise MailError(
                f"{self.host} answered {exc.smtp_code} {_text(exc.smtp_error)}",
                permanent=exc.smtp_code >= 500,
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise MailError(f"{self.host}: {exc}", permanent=True) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise MailError(f"{self.host}:{self.port}: {exc}", permanent=False) from exc


def _text(answer: bytes | str) -> str:
    return answer.decode("utf-8", "replace") if isinstance(answer, bytes) else answer
