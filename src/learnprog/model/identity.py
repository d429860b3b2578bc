"""Identity values: record IDs, email addresses, external IDs and program slugs."""

from __future__ import annotations

import re
import secrets
import uuid

import email_validator
from attrs import field, frozen

from learnprog.errors import ValidationError

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def new_id() -> str:
    """Return a new random record ID: 32 lowercase hex characters (a UUID4 without dashes)."""
    return uuid.uuid4().hex


def email_key(address: str) -> str:
    """Return the identity key of an email address: spaces trimmed, then case-folded.

    Two addresses with the same key are the same person within an organization
    (``" Ana.Lima@Example.COM"`` and ``"ana.lima@example.com"``), while accents are kept
    (``stéphane@`` and ``stephane@`` stay two people) because case folding does not strip them.
    """
    return address.strip().casefold()


def reject_control_characters(value: str, *, field: str) -> str:
    """Return ``value`` unchanged, or raise when it holds a CR, LF or other control character.

    Header fields (names, subjects, addresses) must not carry line breaks: a CR or LF would let
    an input inject headers (RFC 5322 section 2.2).

    Raises:
        ValidationError: ``value`` contains a control character.
    """
    if _CONTROL.search(value):
        raise ValidationError("control characters (CR, LF, ...) are not allowed", field=field)
    return value


@frozen
class EmailAddress:
    """An email address as written, with its identity key.

    Attributes:
        address: the address as the person wrote it, outer spaces trimmed (case kept).
        key: ``email_key(address)``: unique per organization.
    """

    address: str
    key: str = field(eq=False)

    @classmethod
    def parse(cls, raw: str, *, field: str = "email", line: int | None = None) -> EmailAddress:
        """Validate ``raw`` (syntax only, no DNS) and return it as an EmailAddress.

        Validation is email-validator's (RFC 5321/5322/6531 syntax); internationalized domains
        and local parts are accepted. The address is kept as written; only outer spaces go.

        Raises:
            ValidationError: the address is empty, contains control characters or is not valid;
                the error names ``field`` and ``line``.
        """
        text = raw.strip() if isinstance(raw, str) else ""
        if not text:
            raise ValidationError("an email address is required", field=field, line=line)
        if _CONTROL.search(text):
            raise ValidationError(
                "control characters (CR, LF, ...) are not allowed", field=field, line=line
            )
        try:
            email_validator.validate_email(
                text, check_deliverability=False, allow_smtputf8=True, allow_quoted_local=False
            )
        except email_validator.EmailNotValidError as exc:
            raise ValidationError(
                f"{text!r} is not a valid email address: {exc}", field=field, line=line, value=raw
            ) from exc
        return cls(text, email_key(text))

    @classmethod
    def trusted(cls, address: str) -> EmailAddress:
        """Rebuild an address read back from storage, where it was validated on the way in."""
        return cls(address, email_key(address))

    @property
    def domain(self) -> str:
        """The part after the last ``@``, case-folded."""
        return self.key.rsplit("@", 1)[-1]

    def __str__(self) -> str:
        return self.address


_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_SLUG_MAX = 80


def slugify(text: str) -> str:
    """Return a slug made of ``text``'s ASCII letters and digits joined by single dashes."""
    words = re.findall(r"[a-z0-9]+", text.casefold())
    return "-".join(words)[:_SLUG_MAX].strip("-")


@frozen
class ProgramSlug:
    """The text identifier in a program's URL (guide, "Settings": it cannot be changed).

    Attributes:
        value: lowercase ASCII letters and digits in dash-separated words, at most 80 characters.
    """

    value: str

    @classmethod
    def parse(cls, raw: str, *, field: str = "slug") -> ProgramSlug:
        """Validate a slug given by the caller.

        Raises:
            ValidationError: the slug is empty, too long or not of the form ``words-and-1234``.
        """
        if not raw or len(raw) > _SLUG_MAX or not _SLUG.match(raw):
            raise ValidationError(
                "a slug is 1-80 lowercase ASCII letters and digits in dash-separated words",
                field=field,
                value=raw,
            )
        return cls(raw)

    @classmethod
    def for_name(cls, name: str) -> ProgramSlug:
        """Make a new slug from a program name plus a random suffix (``program-1j8c4r``)."""
        base = slugify(name)[: _SLUG_MAX - 7].strip("-") or "program"
        suffix = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(6))
        return cls(f"{base}-{suffix}")

    def __str__(self) -> str:
        return self.value


def normalize_external_id(
    raw: str | None, *, field: str = "external_id", line: int | None = None
) -> str | None:
    """Return an external ID as a string kept as written (``"00123"`` stays ``"00123"``).

    Outer spaces are trimmed; an empty value means "no external ID" and gives ``None``.

    Raises:
        ValidationError: the ID contains control characters or is longer than 255 characters.
    """
    if raw is None:
        return None
    text = str(raw).strip()
    if not text:
        return None
    if _CONTROL.search(text) or len(text) > 255:
        raise ValidationError(
            "an external ID is at most 255 printable characters", field=field, line=line, value=raw
        )
    return text
