"""Turning an OutgoingMessage into an RFC 5322 message (``email.message.EmailMessage``).

- multipart/alternative with a text part and, when there is one, an HTML part;
- display names and subjects outside ASCII as RFC 2047 encoded words, the address itself
  outside the encoded word (``=?utf-8?q?=C3=89quipe?= <learning@example.com>``);
- internationalized domains in their ASCII form (IDNA, RFC 5891): ``bücher.example`` goes on the
  wire as ``xn--bcher-kva.example``;
- an address whose local part is not ASCII needs SMTPUTF8 (RFC 6531): the message is then built
  with a UTF-8 policy, and :func:`needs_smtputf8` tells the mailer to ask the server for it;
- Reply-To only when the message sets one;
- the Message-ID fixed when the message was queued, so a retry sends the same one;
- address headers written out by hand (see :func:`address_header`): no folding quirk of the
  standard library can turn a display name into extra addresses.
"""

from __future__ import annotations

import base64
import email.utils
import re
from datetime import datetime
from email import policy
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


_PLAIN_NAME = re.compile(r"^[A-Za-z0-9 '_-]{1,60}$")  # atext and spaces only: no quoting
_WORD_OCTETS = 45  # base64 of 45 octets + "=?utf-8?b??=" stays within RFC 2047's 75 characters
_LINE = 78  # RFC 5322 section 2.1.1: lines SHOULD be at most 78 characters


def encoded_words(text: str) -> list[str]:
    """Return ``text`` as RFC 2047 base64 encoded words, split on character boundaries."""
    chunks: list[bytes] = []
    chunk = b""
    for char in text:
        octets = char.encode("utf-8")
        if len(chunk) + len(octets) > _WORD_OCTETS:
            chunks.append(chunk)
            chunk = b""
        chunk += octets
    if chunk:
        chunks.append(chunk)
    return ["=?utf-8?b?" + base64.b64encode(c).decode("ascii") + "?=" for c in chunks]


def address_header(field: str, name: str | None, address: EmailAddress) -> str:
    """Return one address header line (folded with CRLF + space), written out by hand.

    The standard library's header folding can drop the quotes of a long quoted display name
    and turn parts of it into addresses (``Team, evil@example.org, ...``), and a name that
    itself looks like an encoded word is decoded by readers. So a display name is written as
    is only when it is plain ASCII letters, digits, spaces, ``'``, ``_`` and ``-``; any other
    name becomes RFC 2047 encoded words, which carry it through unchanged and fold safely.
    """
    tokens = [f"{field}:"]
    if name:
        tokens += [name] if _PLAIN_NAME.match(name) else encoded_words(name)
    tokens.append(f"<{wire_address(address)}>")
    lines = [tokens[0]]
    for token in tokens[1:]:
        if len(lines[-1]) + 1 + len(token) > _LINE:
            lines.append(token)
        else:
            lines[-1] += " " + token
    return "\r\n ".join(lines)


def message_bytes(message: OutgoingMessage, *, date: datetime) -> bytes:
    """Return ``message`` as the bytes of an RFC 5322 message, ready for SMTP or a Maildir.

    Args:
        message: the queued message (its header fields were validated when it was composed).
        date: the Date header (aware).

    Returns:
        CRLF-terminated bytes; 7-bit ASCII unless :func:`needs_smtputf8` (then UTF-8 in the
        address headers, for a server that offers SMTPUTF8).
    """
    utf8 = needs_smtputf8(message)
    body = EmailMessage(policy=policy.SMTPUTF8 if utf8 else policy.SMTP)
    body["Message-ID"] = message.message_id
    body["Date"] = email.utils.format_datetime(date)
    body["Subject"] = message.subject
    # quoted-printable keeps every line 7-bit: strict servers and old relays accept it
    body.set_content(message.text_body, cte="quoted-printable")
    if message.html_body is not None:
        body.add_alternative(message.html_body, subtype="html", cte="quoted-printable")
        for part in body.iter_parts():
            del part["MIME-Version"]  # only the top level carries it (RFC 2045 section 4)
    head = [
        address_header("From", message.sender_name, message.sender_address),
        address_header("To", message.to_name, message.to),
    ]
    if message.reply_to is not None:
        head.append(address_header("Reply-To", None, message.reply_to))
    # extra headers (List-Unsubscribe ...) are printable ASCII, written as they are: a folded
    # List-Unsubscribe would become encoded words that no mail client reads (RFC 2369, 8058)
    head += [f"{name}: {value}" for name, value in message.headers.items()]
    prefix = ("\r\n".join(head) + "\r\n").encode("utf-8" if utf8 else "ascii")
    return prefix + body.as_bytes()
