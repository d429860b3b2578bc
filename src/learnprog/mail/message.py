"""Turning an OutgoingMessage into an RFC 5322 message (``email.message.EmailMessage``).

- multipart/alternative with a text part and, when there is one, an HTML part;
- display names and subjects outside ASCII as RFC 2047 encoded words, the address itself
  outside the encoded word (``=?utf-8?q?=C3=89quipe?= <learning@example.com>``);
- internationalized domains in their ASCII form (IDNA, RFC 5891): ``bücher.example`` goes on the
  wire as ``xn--bcher-kva.example``;
- an address whose local part is not ASCII needs SMTPUTF8 (RFC 6531): the message is then built
  with a UTF-8 policy, and :func:`needs_smtputf8` tells the mailer to ask the server for it;
- Reply-To only when the message sets one;
- the Message-ID fixed when the message was queued, so a retry sends the same one.
"""

from __future__ import annotations

import email.utils
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage

import email_validator

from learnprog.model.identity import EmailAddress
from learnprog.model.mail import OutgoingMessage


def wire_address(address: EmailAddress) -> str:
    """Return the address as sent: the local part as written, the domain in ASCII (IDNA)."""
    local, _, domain = address.address.rpartition("@")
    try:
        ascii_domain = email_validator.validate_email(
            address.address, check_deliverability=False, allow_smtputf8=True
        ).ascii_domain
    except email_validator.EmailNotValidError:  # stored addresses were validated on the way in
        ascii_domain = domain
    return f"{local}@{ascii_domain}"


def needs_smtputf8(message: OutgoingMessage) -> bool:
    """True when an envelope address has a local part outside ASCII (RFC 6531)."""
    addresses = [message.to, message.sender_address]
    if message.reply_to is not None:
        addresses.append(message.reply_to)
    return any(not a.address.rpartition("@")[0].isascii() for a in addresses)


def _address(name: str | None, address: EmailAddress) -> Address:
    local, _, domain = wire_address(address).rpartition("@")
    return Address(display_name=name or "", username=local, domain=domain)


def build_email(message: OutgoingMessage, *, date: datetime) -> EmailMessage:
    """Return ``message`` as an EmailMessage ready for SMTP or a mail directory.

    Args:
        message: the queued message (its header fields were validated when it was composed).
        date: the Date header (aware).

    Returns:
        An EmailMessage with policy ``SMTP`` (or ``SMTPUTF8`` when :func:`needs_smtputf8`).
    """
    utf8 = needs_smtputf8(message)
    msg = EmailMessage(policy=policy.SMTPUTF8 if utf8 else policy.SMTP)
    msg["Message-ID"] = message.message_id
    msg["Date"] = email.utils.format_datetime(date)
    msg["From"] = _address(message.sender_name, message.sender_address)
    msg["To"] = _address(message.to_name, message.to)
    if message.reply_to is not None:
        msg["Reply-To"] = _address(None, message.reply_to)
    msg["Subject"] = message.subject
    for name, value in message.headers.items():
        msg[name] = value
    # quoted-printable keeps every line 7-bit: strict servers and old relays accept it
    msg.set_content(message.text_body, cte="quoted-printable")
    if message.html_body is not None:
        msg.add_alternative(message.html_body, subtype="html", cte="quoted-printable")
    return msg
