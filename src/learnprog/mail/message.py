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
- the address headers and Subject written out by hand (see :func:`address_header` and
  :func:`subject_header`): no text given to a header reaches it as structure. A display name
  or subject that looks like an encoded word is itself encoded, so a reader decodes it back
  to the text given, never into line breaks and headers (RFC 2047 sections 5 and 6.2).
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


_ATEXT = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+$")  # RFC 5322 section 3.2.3: atext
_PLAIN_SUBJECT = re.compile(r"^[!-~]+( [!-~]+)*$")  # printable ASCII words, single spaces
_ENCODED_WORD_START = "=?"  # RFC 2047 section 2: how every encoded word begins
_WORD_OCTETS = 42  # base64 of 42 octets + "=?utf-8?b??=": 68 characters, within RFC 2047's 75
# and, after "Reply-To: " or "Subject: ", within a line of 78
_LINE = 78  # RFC 5322 section 2.1.1: lines SHOULD be at most 78 characters


def encoded_words(text: str) -> list[str]:
    """Return ``text`` as RFC 2047 base64 encoded words, split on character boundaries.

    Written one after another with folding white space between them, the words decode to
    ``text`` exactly: RFC 2047 section 6.2 drops the white space between adjacent encoded
    words, and no word splits a character (section 5, rule 3).

    Args:
        text: any text (not empty).

    Returns:
        The encoded words, each at most 75 characters (RFC 2047 section 2).
    """
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


def _literal_word(word: str) -> bool:
    """True when ``word`` may go into a header as itself: atext that no reader decodes."""
    return bool(_ATEXT.match(word)) and _ENCODED_WORD_START not in word


def phrase_tokens(name: str) -> list[str]:
    """Return a display name as the tokens of an RFC 5322 phrase, to be joined by spaces.

    A word of plain atext (``Ana``, ``O'Brien``) is written as itself; every run of other
    words (outside ASCII, holding a special such as ``,`` ``@`` ``<`` ``"`` or ``.``, or
    looking like an encoded word, ``=?...?=``) becomes RFC 2047 encoded words with its
    spaces inside them. A reader joins the tokens with one space each and drops the space
    between adjacent encoded words (RFC 2047 section 6.2), which gives back ``name`` exactly:
    a name never becomes an address, a second header or a decoded encoded word.

    A long word of atext has a line of its own (RFC 5322 section 2.1.1 allows up to 998
    characters). Runs are kept whole, so adjacent encoded words appear only where one run
    does not fit in one encoded word (42 octets of UTF-8). Python's ``email`` package before
    the fix of CPython issue gh-128110 reads a space between such words in a display name;
    any reader that follows RFC 2047 section 6.2 does not.

    Args:
        name: a display name on one line (validated when the message was composed).

    Returns:
        Literal atext words and encoded words, in order.
    """
    words = name.split(" ")
    literal = [
        _literal_word(word)
        and (i == 0 or words[i - 1] != "")
        and (i == len(words) - 1 or words[i + 1] != "")
        for i, word in enumerate(words)
    ]  # a word beside a run of spaces goes into a run, which carries the spaces exactly
    tokens: list[str] = []
    run: list[str] = []
    for word, plain in zip(words, literal, strict=True):
        if plain:
            if run:
                tokens += encoded_words(" ".join(run))
                run = []
            tokens.append(word)
        else:
            run.append(word)
    if run:
        tokens += encoded_words(" ".join(run))
    return tokens


def subject_tokens(subject: str) -> list[str]:
    """Return a subject as the tokens of an unstructured header, to be joined by spaces.

    A subject of printable ASCII words with single spaces and no ``=?`` is written as itself
    (folded between words; a word too long for a line of 78 characters has a line of its
    own, as RFC 5322 section 2.1.1 allows up to 998); any other subject is written
    entirely as RFC 2047 encoded words, so every reader decodes exactly the text given: an
    encoded word typed by an admin stays literal text, and nothing a reader decodes can hold
    a line break.

    Args:
        subject: the subject on one line (validated when the message was composed).

    Returns:
        The words of the subject, or its encoded words.
    """
    if _PLAIN_SUBJECT.match(subject) and _ENCODED_WORD_START not in subject:
        return subject.split(" ")
    return encoded_words(subject)


def _fold(field: str, tokens: list[str]) -> str:
    """Join ``field:`` and ``tokens`` with spaces, folding with CRLF + space before 78."""
    lines = [f"{field}:"]
    for token in tokens:
        if len(lines[-1]) + 1 + len(token) > _LINE and lines[-1] != f"{field}:":
            lines.append(" " + token)  # a continuation line begins with its folding space
        else:
            lines[-1] += " " + token
    return "\r\n".join(lines)


def address_header(field: str, name: str | None, address: EmailAddress) -> str:
    """Return one address header line (folded with CRLF + space), written out by hand.

    The standard library's header folding can drop the quotes of a long quoted display name
    and turn parts of it into addresses (``Team, evil@example.org, ...``), and a name that
    itself looks like an encoded word is decoded by readers. So the display name is written
    by :func:`phrase_tokens`; the address cannot hold ``=?`` (see
    :meth:`~learnprog.model.identity.EmailAddress.parse`), so no reader decodes it.
    """
    tokens = phrase_tokens(name) if name else []
    tokens.append(f"<{wire_address(address)}>")
    return _fold(field, tokens)


def subject_header(subject: str) -> str:
    """Return the Subject header line (folded with CRLF + space), written out by hand.

    Written by :func:`subject_tokens`, never by the standard library: its header factory
    decodes encoded words in the value it is given (``=?utf-8?b?...?=`` holding CR LF and
    ``Bcc: ...``) and writes the decoded line breaks out as real headers.
    """
    return _fold("Subject", subject_tokens(subject))


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
    # quoted-printable keeps every line 7-bit: strict servers and old relays accept it
    body.set_content(message.text_body, cte="quoted-printable")
    if message.html_body is not None:
        body.add_alternative(message.html_body, subtype="html", cte="quoted-printable")
        for part in body.iter_parts():
            del part["MIME-Version"]  # only the top level carries it (RFC 2045 section 4)
    head = [
        address_header("From", message.sender_name, message.sender_address),
        address_header("To", message.to_name, message.to),
        subject_header(message.subject),
    ]
    if message.reply_to is not None:
        head.append(address_header("Reply-To", None, message.reply_to))
    # extra headers (List-Unsubscribe ...) are printable ASCII, written as they are: a folded
    # List-Unsubscribe would become encoded words that no mail client reads (RFC 2369, 8058)
    head += [f"{name}: {value}" for name, value in message.headers.items()]
    prefix = ("\r\n".join(head) + "\r\n").encode("utf-8" if utf8 else "ascii")
    return prefix + body.as_bytes()
