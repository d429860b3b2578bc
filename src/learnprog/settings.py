"""Settings of one learnprog instance: addresses, URLs and the signing secret."""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from urllib.parse import quote, urlsplit

import idna
from attrs import field, frozen

from learnprog.errors import ValidationError
from learnprog.model._rules import optional_url, required_text
from learnprog.model.identity import EmailAddress

#: The most characters of a base URL, so that the longest link built on it (the
#: ``List-Unsubscribe`` header: ``<``, the URL, ``/email/unsubscribe?token=``, a signed token of
#: at most about 300 characters, ``>``) stays within an extra header's 900 characters.
BASE_URL_LENGTH = 500
_ASCII_HOST = re.compile(r"^[A-Za-z0-9._-]+$")  # letters, digits, '-', '.', '_' (RFC 3986 reg-name)
# RFC 3986 section 3.3: a path of pchars (unreserved, percent-encoded, sub-delims, ':' '@') and '/'
_PATH = re.compile(r"^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*$")


def _base_url_host(host: str) -> str:
    """Return the host of a base URL in ASCII: an IDNA 2008 A-label for a domain outside ASCII."""
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError as exc:
            raise ValidationError(f"{host!r} is not an IPv6 address", field="base_url") from exc
        return host
    if _ASCII_HOST.match(host):
        return host
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise ValidationError(
            f"the host is not a domain name (IDNA 2008: {exc})", field="base_url"
        ) from exc


def _base_url(value: str) -> str:
    """Check and normalize :attr:`Settings.base_url` (see there for the rule)."""
    text = optional_url(value, field="base_url")
    if text is None:
        return ""
    if "?" in text or "#" in text:
        raise ValidationError(
            "a base URL has no query or fragment ('?' or '#'): links add their own path and "
            "query to it",
            field="base_url",
        )
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:  # a bad port or a broken IPv6 literal
        raise ValidationError(f"not a URL: {exc}", field="base_url") from exc
    if "@" in parts.netloc:
        raise ValidationError(
            "a base URL has no user name or password: it goes into every email",
            field="base_url",
        )
    host = (
        parts.netloc.rsplit(":", 1)[0]
        if port is not None or parts.netloc.endswith(":")
        else parts.netloc
    )
    if not host:
        raise ValidationError("a base URL needs a host", field="base_url")
    path = quote(parts.path, safe="".join(chr(c) for c in range(0x21, 0x7F)))  # RFC 3987 3.1
    if not _PATH.match(path):
        raise ValidationError(
            "a base URL's path holds only RFC 3986 path characters (letters, digits, "
            "-._~!$&'()*+,;=:@/ and %XX), not < > \" { } | \\ ^ ` [ ] or spaces",
            field="base_url",
        )
    url = f"{parts.scheme}://{_base_url_host(host)}{'' if port is None else f':{port}'}{path}"
    if len(url) > BASE_URL_LENGTH:
        raise ValidationError(f"at most {BASE_URL_LENGTH} characters", field="base_url")
    return url


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
            program links (``https://learning.example.org``): ``http://`` or ``https://``, a
            host, an optional port and a path of RFC 3986 path characters (section 3.3), at
            most 500 characters (:data:`BASE_URL_LENGTH`); no user name or password, query or
            fragment. Kept in ASCII: a host as its IDNA 2008 A-label (RFC 5891), a path outside
            ASCII percent-encoded as UTF-8 (RFC 3987 section 3.1), so every link fits the
            ``List-Unsubscribe`` header (printable ASCII without ``=?``: RFC 8058, RFC 2047).
            Anything else raises :class:`~learnprog.errors.ValidationError` naming ``base_url``.
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
