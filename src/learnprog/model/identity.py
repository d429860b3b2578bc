"""Identity values: record IDs, email addresses, external IDs and program slugs."""

from __future__ import annotations

import functools
import os
import re
import secrets
import unicodedata

import email_validator
import idna
from attrs import field, frozen

from learnprog.errors import ValidationError
from learnprog.model._rules import BIDI_CONTROLS, FORBIDDEN_IN_LINE
from learnprog.model._typecheck import checked

_CONTROL = FORBIDDEN_IN_LINE
_LOCAL_PART_MAX_OCTETS = 64  # RFC 5321 section 4.5.3.1.1
_ADDRESS_MAX_OCTETS = 254  # RFC 3696 errata 1690
_DOMAIN_MAX_OCTETS = 253  # RFC 1035 section 2.3.4, without the root's dot


def new_id() -> str:
    """Return a new random record ID: 32 lowercase hex characters (a UUID4 without dashes).

    RFC 9562 section 5.4: 122 random bits from ``os.urandom`` (as ``uuid.uuid4``), the version
    nibble 4 and the variant bits ``10``, set on the bytes: the same IDs as
    ``uuid.uuid4().hex`` without building a ``UUID`` object (a third of the time; every record
    and audit entry takes one).
    """
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # variant 10 (RFC 9562)
    return raw.hex()


def email_key(address: str) -> str:
    """Return the identity key of an email address: one key per mailbox.

    Two addresses with the same key are the same person within an organization; addresses
    that differ other than in letter case (or a domain's form) never share a key. Outer spaces
    are trimmed and the address NFC-normalized; then

    - the local part (before the last ``@``) takes each code point's simple lowercase mapping
      (Unicode ``UnicodeData.txt``, field 13): ``Ana.Lima@`` and ``ana.lima@`` are one key,
      while ``ß``, final ``ς`` and ligatures such as ``ﬁ`` stay as they are, since
      ``jan.straße@`` and ``jan.strasse@``, a Greek name ending in final or small sigma,
      ``ﬁnance@`` and ``finance@`` can be different mailboxes (full case folding would make
      them one);
    - the domain is keyed by :func:`domain_key` (UTS 46 non-transitional processing, IDNA 2008),
      so its ASCII and Unicode forms (``xn--bcher-kva.example``, ``BÜCHER.example``) are one.

    Accents are kept (``stéphane@`` and ``stephane@`` stay two people). A local part is matched
    in any case although RFC 5321 section 2.4 lets a server tell cases apart: one person typing
    ``Ana@`` or ``ana@`` is far likelier than two people at those addresses (learnprog decision).

    Args:
        address: the address as written (need not be valid: the key of any text is defined).

    Returns:
        ``local@domain`` keyed as above; text without an ``@`` is keyed as a local part.
    """
    text = unicodedata.normalize("NFC", address.strip())
    if text.isascii() and "xn--" not in text.lower():
        return text.lower()  # the common case, the same key as the steps below give
    local, at, domain = text.rpartition("@")
    if not at:
        return simple_lowercase(text)
    return f"{simple_lowercase(local)}@{domain_key(domain)}"


def simple_lowercase(text: str) -> str:
    """Return ``text`` with each code point replaced by its simple lowercase mapping.

    The simple mapping (Unicode ``UnicodeData.txt``, field 13) maps one code point to one
    and looks at no context: ``A`` -> ``a``, capital sigma -> small sigma wherever it
    stands, ``ß``, ``ς`` and ``ﬁ`` unchanged, ``İ`` -> ``i``. Python's ``str.lower`` applies
    the full mapping of ``SpecialCasing.txt``, which differs only for ``İ`` (U+0130, two code
    points) and the final sigma (by context); lowering one code point at a time and keeping
    the first code point of ``İ``'s result gives the simple mapping.
    """
    if text.isascii():
        return text.lower()
    return "".join(_simple_lower_char(c) for c in text)


@functools.lru_cache(maxsize=4096)
def _simple_lower_char(char: str) -> str:
    return char.lower()[0]


def domain_key(domain: str) -> str:
    """Return the identity key of an email domain: what :func:`email_key` makes of it.

    Spaces trimmed, NFC-normalized, then UTS 46 processing, non-transitional (Unicode
    Technical Standard 46 section 4, as IDNA 2008, RFC 5891, is applied by browsers and
    email-validator): ``idna.encode(domain, uts46=True, transitional=False)`` gives the
    name's ASCII form, and the key is that form's Unicode form. So ``BÜCHER.example``,
    ``xn--bcher-kva.example`` and ``bu\u0308cher.example`` all give ``bücher.example``, and
    ``straße.example`` keys as itself, one name with ``xn--strae-oqa.example`` and another
    than ``strasse.example`` (IDNA 2003 mapped ``ß`` to ``ss``). A domain that IDNA 2008
    refuses (new input never is one: email-validator refuses it first) is keyed as written,
    NFC and simple lowercase. An address is on a domain exactly when
    ``EmailAddress.domain == domain_key(domain)``.

    Args:
        domain: a domain name, in any case, in its ASCII or Unicode form.

    Returns:
        The domain's key: lowercase, internationalized labels in their Unicode form.
    """
    text = unicodedata.normalize("NFC", domain.strip())
    if text.isascii() and "xn--" not in text.lower():
        return text.lower()  # UTS 46 maps an ASCII name (no A-label) to its lowercase
    if len(text) > _DOMAIN_MAX_OCTETS:  # not a domain: not kept in the cache either
        return _uts46_key.__wrapped__(text)
    return _uts46_key(text)


@functools.lru_cache(maxsize=4096)
def _uts46_key(text: str) -> str:
    try:
        a_label = idna.encode(text, uts46=True, transitional=False).decode("ascii")
        return str(idna.decode(a_label))
    except (idna.IDNAError, UnicodeError):  # not a name IDNA 2008 allows: kept as written
        return simple_lowercase(text)


def idna2008_refuses(domain: str) -> bool:
    """Return whether UTS 46 non-transitional processing (IDNA 2008) refuses ``domain``.

    Such a domain is keyed as written by :func:`domain_key`; the migration that brought in
    this key lists the stored ones.
    """
    text = unicodedata.normalize("NFC", domain.strip())
    try:
        idna.decode(idna.encode(text, uts46=True, transitional=False))
    except (idna.IDNAError, UnicodeError):
        return True
    return False


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


def _email_validator(text: str) -> email_validator.ValidatedEmail:
    """Run email-validator with the options of :meth:`EmailAddress.parse` (syntax, no DNS).

    Raises:
        email_validator.EmailNotValidError: it refuses ``text``.
    """
    return email_validator.validate_email(
        text, check_deliverability=False, allow_smtputf8=True, allow_quoted_local=False
    )


_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_DOT_ATOM = re.compile(f"{_ATEXT}+(?:\\.{_ATEXT}+)*")
"""RFC 5322 section 3.2.3 ``dot-atom-text`` in ASCII: the local part email-validator takes
as it is (its first test), whatever its length (the 64 octets are checked before)."""


def _plainly_valid(text: str) -> bool:
    """Whether email-validator accepts ``text`` for certain, told without running it whole.

    ``text`` is an ASCII address, trimmed, without controls or ``=?``, at most 64 octets
    before the ``@`` and 254 in all (the checks :meth:`EmailAddress.parse` makes first).
    True when its local part is a plain ``dot-atom-text`` (so exactly one ``@``, no quotes,
    no display name: email-validator's split gives that local part and that domain, and its
    local-part check passes), its domain is one email-validator accepts
    (:func:`_domain_forms`, asked once per domain) and the address stays within 254 octets in
    the domain's normalized and ASCII forms (email-validator's length check). Those are all
    of email-validator's syntax checks for such an address, so the outcome is the same as
    running it (``tests/unit/test_identity.py`` checks it on generated addresses);
    False means "run it", not "invalid". Every address of a large import on one domain
    (``student.<id>@example.org``) is then checked by a regular expression and a dict.
    """
    local, at, domain = text.rpartition("@")
    if not (at and text.isascii() and _DOT_ATOM.fullmatch(local)):
        return False
    forms = _domain_forms(domain) if len(domain) <= _DOMAIN_MAX_OCTETS else None
    return forms is not None and all(
        len(local) + 1 + len(form.encode("utf-8")) <= _ADDRESS_MAX_OCTETS for form in forms
    )


@functools.lru_cache(maxsize=1024)
def _domain_forms(domain: str) -> tuple[str, str] | None:
    """email-validator's normalized and ASCII forms of ``domain``, or ``None`` if it refuses it.

    Asked with the shortest valid local part (``a@domain``): email-validator checks a domain
    by itself (its syntax, IDNA 2008, special-use names), apart from the whole address's
    length, which :func:`_plainly_valid` checks with the forms returned here.
    """
    try:
        found = _email_validator(f"a@{domain}")
    except email_validator.EmailNotValidError:
        return None
    return str(found.domain), str(found.ascii_domain)


@checked
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
        ``=?`` is refused although RFC 5322 allows it in a local part: readers decode it as
        the start of an RFC 2047 encoded word even inside an address (Python's ``email``
        package in headers, aiosmtpd in ``RCPT TO``), so the message would name, or reach,
        another mailbox (learnprog decision; RFC 2047 section 5 forbids encoded words there).

        Raises:
            ValidationError: the address is empty, contains control characters or ``=?``, or
                is not valid; the error names ``field`` and ``line``.
        """
        if not isinstance(raw, str):
            raise ValidationError(
                f"an email address is text, not {type(raw).__name__}",
                field=field,
                line=line,
                value=raw,
            )
        text = raw.strip()
        if not text:
            raise ValidationError("an email address is required", field=field, line=line)
        if _CONTROL.search(text):
            raise ValidationError(
                "control characters (CR, LF, ...) are not allowed", field=field, line=line
            )
        if "=?" in text:  # how every RFC 2047 encoded word begins
            raise ValidationError(
                "an email address may not hold '=?': mail readers and servers (Python's email "
                "package, aiosmtpd) decode it as an RFC 2047 encoded word, which RFC 2047 "
                "section 5 forbids in an address, and would read another mailbox",
                field=field,
                line=line,
                value=raw,
            )
        local = text.rsplit("@", 1)[0]
        if (
            len(local.encode("utf-8")) > _LOCAL_PART_MAX_OCTETS
            or len(text.encode("utf-8")) > _ADDRESS_MAX_OCTETS
        ):
            raise ValidationError(
                "too long: at most 64 octets before the @ and 254 in all (RFC 5321)",
                field=field,
                line=line,
                value=raw,
            )
        if not _plainly_valid(text):  # else email-validator would accept it: see there
            try:
                _email_validator(text)
            except email_validator.EmailNotValidError as exc:
                raise ValidationError(
                    f"{text!r} is not a valid email address: {exc}",
                    field=field,
                    line=line,
                    value=raw,
                ) from exc
        return cls(text, email_key(text))

    @classmethod
    def trusted(cls, address: str) -> EmailAddress:
        """Rebuild an address read back from storage, where it was validated on the way in."""
        return cls(address, email_key(address))

    @property
    def domain(self) -> str:
        """The part after the last ``@``, keyed by :func:`domain_key`."""
        return self.key.rsplit("@", 1)[-1]

    def __str__(self) -> str:
        return self.address


_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_SLUG_MAX = 80


def slugify(text: str) -> str:
    """Return a slug made of ``text``'s ASCII letters and digits joined by single dashes."""
    if not isinstance(text, str):
        return ""
    words = re.findall(r"[a-z0-9]+", text.casefold())
    return "-".join(words)[:_SLUG_MAX].strip("-")


@checked
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
        if not isinstance(raw, str) or not raw or len(raw) > _SLUG_MAX or not _SLUG.match(raw):
            raise ValidationError(
                "a slug is 1-80 lowercase ASCII letters and digits in dash-separated words",
                field=field,
                value=raw,
            )
        return cls(raw)

    @staticmethod
    def could_be(text: object) -> bool:
        """Whether ``text`` has a slug's shape (what :meth:`parse` accepts).

        A lookup by slug answers "not found" for any other text without asking storage:
        PostgreSQL refuses a NUL byte in a text parameter outright.
        """
        return isinstance(text, str) and 0 < len(text) <= _SLUG_MAX and bool(_SLUG.match(text))

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
        ValidationError: the ID contains control characters or directional embeddings,
            overrides or isolates (:data:`~learnprog.model._rules.BIDI_CONTROLS`), or is longer
            than 255 characters.
    """
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise ValidationError(
            f"an external ID is text, not {type(raw).__name__}", field=field, line=line, value=raw
        )
    text = raw.strip()
    if not text:
        return None
    if _CONTROL.search(text) or BIDI_CONTROLS.search(text) or len(text) > 255:
        raise ValidationError(
            "an external ID is at most 255 printable characters", field=field, line=line, value=raw
        )
    return text


def domain_name(raw: object, *, field: str) -> str:
    """Return an email domain (``example.org``, ``bücher.example``) lowercase.

    Checked by email-validator as the domain of an address (syntax only, no DNS): labels of
    1-63 characters, a dot, internationalized names allowed.

    Raises:
        ValidationError: not text, or not a valid domain name.
    """
    if not isinstance(raw, str):
        raise ValidationError(
            f"a domain name is text, not {type(raw).__name__}", field=field, value=raw
        )
    return _domain_name(raw, field)


@functools.lru_cache(maxsize=1024)
def _domain_name(raw: str, field: str) -> str:
    domain = simple_lowercase(unicodedata.normalize("NFC", raw.strip())).lstrip("@")
    if not domain or _CONTROL.search(domain) or len(domain.rsplit(".", 1)[-1]) < 2:
        raise ValidationError(f"{raw!r} is not a domain name", field=field, value=raw)
    try:
        email_validator.validate_email(f"x@{domain}", check_deliverability=False)
    except email_validator.EmailNotValidError as exc:
        raise ValidationError(
            f"{raw!r} is not a domain name: {exc}", field=field, value=raw
        ) from exc
    return domain
