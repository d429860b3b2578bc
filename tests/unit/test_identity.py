"""Unit tests of learnprog.model.identity: email addresses, slugs, external IDs."""

from __future__ import annotations

import re
import uuid

import idna
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from learnprog.errors import ValidationError
from learnprog.model import identity
from learnprog.model.identity import (
    EmailAddress,
    ProgramSlug,
    domain_key,
    email_key,
    idna2008_refuses,
    new_id,
    normalize_external_id,
    reject_control_characters,
    simple_lowercase,
    slugify,
)

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


# --- new_id ---------------------------------------------------------------------------------


def test_new_id_is_32_lowercase_hex_and_unique() -> None:
    ids = {new_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    for i in ids:  # a UUID4 as RFC 9562 section 5.4 makes one: version 4, variant 10
        parsed = uuid.UUID(hex=i)
        assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)


# --- EmailAddress.parse ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "ana.lima+onboarding@example.com",
        "o'neil.bruno@example.org",
        "user@bücher.example",
        "josé@exemplo.pt",
        "Ana.Lima@Example.COM",
    ],
)
def test_parse_accepts_valid_addresses_as_written(raw: str) -> None:
    parsed = EmailAddress.parse(raw)
    assert parsed.address == raw
    assert parsed.key == raw.casefold()
    assert str(parsed) == raw


def test_parse_trims_outer_spaces_but_keeps_case() -> None:
    parsed = EmailAddress.parse("  Ana.Lima@Example.COM \t")
    assert parsed.address == "Ana.Lima@Example.COM"
    assert parsed.key == "ana.lima@example.com"
    assert parsed.domain == "example.com"


def test_domain_is_case_folded_part_after_last_at() -> None:
    assert EmailAddress.parse("Ana@Bücher.Example").domain == "bücher.example"


def test_same_key_for_case_variants() -> None:
    a = EmailAddress.parse(" Ana.Lima@Example.COM")
    b = EmailAddress.parse("ana.lima@example.com")
    assert a.key == b.key
    # Equality compares the address as written, not the key.
    assert a != b


def test_accents_are_not_stripped_from_the_key() -> None:
    assert (
        EmailAddress.parse("stéphane@example.org").key
        != EmailAddress.parse("stephane@example.org").key
    )


@pytest.mark.parametrize(
    "raw",
    [
        "ana\r\n@example.org",
        "ana@exa\nmple.org",
        "ana@example.org\rBcc: x@example.org",
        "a\x00@b.org",
    ],
)
def test_parse_rejects_control_characters_naming_field_and_line(raw: str) -> None:
    with pytest.raises(ValidationError, match=r"^line 7, field 'work_email': control") as info:
        EmailAddress.parse(raw, field="work_email", line=7)
    assert info.value.field == "work_email"
    assert info.value.line == 7


@pytest.mark.parametrize("raw", ["", "   ", "\t"])
def test_parse_rejects_empty(raw: str) -> None:
    with pytest.raises(ValidationError, match="an email address is required") as info:
        EmailAddress.parse(raw, line=2)
    assert info.value.field == "email"
    assert info.value.line == 2


@pytest.mark.parametrize(
    "raw",
    [
        "ana",
        "ana@",
        "@example.org",
        "ana@@example.org",
        "ana lima@example.org",
        "ana@example",
        "ana..lima@example.org",
        '"ana"@example.org',
        "Ana <ana@example.org>",
    ],
)
def test_parse_rejects_invalid_syntax(raw: str) -> None:
    with pytest.raises(ValidationError, match="is not a valid email address") as info:
        EmailAddress.parse(raw, line=4)
    assert info.value.field == "email"
    assert info.value.line == 4
    assert info.value.value == raw


_LOCAL = st.one_of(
    st.text(alphabet="aZ09.-_+!#'`{|}~\"@< (),:;[]\\", min_size=0, max_size=10),
    st.text(alphabet="a.", max_size=5),  # dots first, last and doubled
)
_DOMAIN = st.one_of(
    st.text(alphabet="aZ09-._@[]:", min_size=0, max_size=20),
    st.sampled_from(
        [
            "example.org",
            "Example.COM",
            "example.org.",
            "localhost",
            "example.test",
            "host.local",
            "a.invalid",
            "xn--bcher-kva.example",
            "xn--bcher.example",
            "XN--BCHER-KVA.example",
            "123.456",
            "example.123",
            "-a.example",
            "a-.example",
            "a..example",
            "[127.0.0.1]",
            "x" * 63 + ".example",
            "x" * 64 + ".example",
            ".".join(["abcdefghi"] * 24) + ".example",  # 247 characters
            ".".join(["abcdefghi"] * 25) + ".example",  # over 253
        ]
    ),
)


@given(local=_LOCAL, domain=_DOMAIN, padding=st.integers(min_value=0, max_value=60))
@example(local="student.42", domain="example.org", padding=0)
@example(local="a", domain=".".join(["abcdefghi"] * 24) + ".example", padding=4)
@example(local="postmaster", domain="example.org", padding=0)
@example(local="a..b", domain="example.org", padding=0)
@example(local=".a", domain="example.org", padding=0)
def test_an_address_taken_without_running_email_validator_is_one_it_accepts(
    local: str, domain: str, padding: int
) -> None:
    # the fast path of EmailAddress.parse (a plain local part on a domain already checked)
    # accepts only what email-validator accepts, at every length near the limits
    local = local + "x" * padding if local else local
    text = f"{local}@{domain}"
    if len(local) > 64 or len(text) > 254:  # refused before either is asked
        return
    if identity._plainly_valid(text):
        identity._email_validator(text)  # raises if it refuses
        assert EmailAddress.parse(text).address == text


def test_addresses_on_one_domain_take_the_fast_path_and_a_refused_domain_never_does() -> None:
    assert identity._plainly_valid("student.1@example.org")
    assert identity._plainly_valid("Student.2+oulad@Example.ORG")
    assert not identity._plainly_valid("student.3@example.test")  # special use: refused
    assert not identity._plainly_valid("student.3@example.test")  # asked again: still refused
    assert not identity._plainly_valid("stéphane@example.org")  # not ASCII: run in full
    with pytest.raises(ValidationError, match="special-use or reserved name"):
        EmailAddress.parse("student.3@example.test")


@pytest.mark.parametrize("raw", [None, 5, b"ana@example.org", ["ana@example.org"]])
def test_parse_of_non_string_is_a_validation_error(raw: object) -> None:
    with pytest.raises(ValidationError, match="an email address is text") as info:
        EmailAddress.parse(raw)  # type: ignore[arg-type]
    assert info.value.field == "email"


def test_trusted_rebuilds_without_validation() -> None:
    addr = EmailAddress.trusted("Ana@Example.org")
    assert addr.address == "Ana@Example.org"
    assert addr.key == "ana@example.org"


# --- email_key ------------------------------------------------------------------------------


def test_email_key_trims_and_lowercases() -> None:
    assert email_key("  Ana.Lima@Example.COM ") == "ana.lima@example.com"
    assert email_key("STÉPHANE@Example.org") == "stéphane@example.org"
    assert email_key("ste\u0301phane@example.org") == "stéphane@example.org"  # NFC


# Pairs of different mailboxes that full case folding or IDNA 2003 made one key.
DIFFERENT_MAILBOXES = [
    ("jan.straße@example.de", "jan.strasse@example.de"),
    ("ﬁnance@example.org", "finance@example.org"),
    ("σος@example.gr", "σοσ@example.gr"),  # noqa: RUF001 - Greek letters on purpose
    ("ǆemal@example.org", "džemal@example.org"),  # one ligature code point, two letters
    ("ſam@example.org", "sam@example.org"),  # noqa: RUF001 - long s on purpose
    ("jan@straße.example", "jan@strasse.example"),  # IDNA 2008 keeps ß; IDNA 2003 made ss
    ("jan@xn--strae-oqa.example", "jan@strasse.example"),
]


@pytest.mark.parametrize(("one", "other"), DIFFERENT_MAILBOXES)
def test_different_mailboxes_have_different_keys(one: str, other: str) -> None:
    assert EmailAddress.parse(one).key != EmailAddress.parse(other).key


# Pairs of spellings of one mailbox: case (simple mapping), NFC, a domain's two forms.
SAME_MAILBOX = [
    ("Ana@Example.org", "ana@example.org"),
    ("JAN.STRAẞE@example.de", "jan.straße@example.de"),  # capital sharp s, simple mapping
    ("ΣΟΣ@example.gr", "σοσ@example.gr"),  # noqa: RUF001 - each capital is small sigma
    ("İpek@example.org", "ipek@example.org"),  # simple mapping of U+0130 is i
    ("jan@straße.example", "jan@xn--strae-oqa.example"),
    ("jan@STRAẞE.example", "jan@straße.example"),
    ("x@BÜCHER.example", "x@xn--bcher-kva.example"),
    ("x@bu\u0308cher.example", "x@bücher.example"),
    ("x@\uff25\uff38\uff21\uff2d\uff30\uff2c\uff25.org", "x@example.org"),  # full-width
]


@pytest.mark.parametrize(("one", "other"), SAME_MAILBOX)
def test_spellings_of_one_mailbox_have_one_key(one: str, other: str) -> None:
    assert EmailAddress.parse(one).key == EmailAddress.parse(other).key


def test_the_domain_key_is_the_unicode_form_of_the_uts46_ascii_form() -> None:
    for domain in ("straße.example", "xn--strae-oqa.example", "STRAẞE.example"):
        assert domain_key(domain) == "straße.example"
        assert idna.encode(domain_key(domain), uts46=True, transitional=False) == (
            idna.encode(domain, uts46=True, transitional=False)
        )
    assert domain_key(" Example.ORG ") == "example.org"


def test_a_domain_idna_2008_refuses_is_keyed_as_written_in_lowercase() -> None:
    assert idna2008_refuses("xn--zz.example")
    assert domain_key("XN--ZZ.Example") == "xn--zz.example"
    assert email_key("Ana@XN--ZZ.example") == "ana@xn--zz.example"
    assert not idna2008_refuses("straße.example")


@given(st.text(max_size=40))
def test_any_text_has_a_domain_key_and_keys_are_stable(text: str) -> None:
    key = domain_key(text)
    assert domain_key(key) == key
    assert email_key(email_key(text)) == email_key(text)


def test_a_hostile_domain_is_keyed_without_filling_the_key_cache() -> None:
    cached = identity._uts46_key.cache_info().currsize
    for n in range(50):  # a roster cell may hold a long "domain": it is keyed, not kept
        assert domain_key(f"{n}" + "ß" * 100_000) == f"{n}" + "ß" * 100_000
    assert identity._uts46_key.cache_info().currsize == cached


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=30))
@example("Σ")
@example("İ")
@example("ς")
def test_simple_lowercase_maps_one_code_point_to_one(text: str) -> None:
    lowered = simple_lowercase(text)
    assert len(lowered) == len(text)
    assert simple_lowercase(lowered) == lowered
    assert all(simple_lowercase(c) == c for c in "ßςﬁŉ")


@given(st.text())
def test_email_key_is_idempotent(address: str) -> None:
    key = email_key(address)
    assert email_key(key) == key


@given(st.emails())
def test_parse_key_equals_email_key_of_address(address: str) -> None:
    parsed = EmailAddress.parse(address)
    assert parsed.key == email_key(parsed.address)
    assert email_key(parsed.key) == parsed.key


# --- reject_control_characters --------------------------------------------------------------


def test_reject_control_characters_returns_value_unchanged() -> None:
    assert reject_control_characters(" L&D Team ", field="name") == " L&D Team "


@pytest.mark.parametrize("bad", ["a\rb", "a\nb", "a\tb", "\x7f", "x\x1b[31m"])
def test_reject_control_characters_raises_with_field(bad: str) -> None:
    with pytest.raises(ValidationError, match="control characters") as info:
        reject_control_characters(bad, field="subject")
    assert info.value.field == "subject"


# --- slugify / ProgramSlug ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Data Academy", "data-academy"),
        ("  AI -- for   Everyone! 2026 ", "ai-for-everyone-2026"),
        ("Café Básico", "caf-b-sico"),
        ("日本語", ""),
        ("", ""),
    ],
)
def test_slugify(text: str, expected: str) -> None:
    assert slugify(text) == expected


def test_slugify_caps_length_at_80_without_edge_dashes() -> None:
    slug = slugify("a" * 79 + " b")
    assert len(slug) <= 80
    assert slug == "a" * 79
    assert SLUG_RE.match(slug)


@pytest.mark.parametrize("raw", ["data-academy", "a", "ai-101", "x" * 80, "2026"])
def test_program_slug_parse_accepts(raw: str) -> None:
    assert ProgramSlug.parse(raw).value == raw
    assert str(ProgramSlug.parse(raw)) == raw


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "Data-Academy",
        "data_academy",
        "-data",
        "data-",
        "data--academy",
        "x" * 81,
        "dátá",
        "a b",
    ],
)
def test_program_slug_parse_rejects(raw: str) -> None:
    with pytest.raises(ValidationError, match="a slug is 1-80") as info:
        ProgramSlug.parse(raw, field="course_slug")
    assert info.value.field == "course_slug"
    assert info.value.value == raw


def test_for_name_uses_name_and_six_char_suffix() -> None:
    slug = ProgramSlug.for_name("Data Academy").value
    assert re.fullmatch(r"data-academy-[a-z0-9]{6}", slug)


def test_for_name_falls_back_to_program_for_names_without_ascii_words() -> None:
    assert re.fullmatch(r"program-[a-z0-9]{6}", ProgramSlug.for_name("日本語 !!").value)


def test_for_name_suffix_is_random() -> None:
    assert len({ProgramSlug.for_name("x").value for _ in range(20)}) > 1


@given(st.text(max_size=20))
def test_for_name_of_short_names_parses_back_with_slugified_prefix(name: str) -> None:
    # At most 20 characters case-fold to at most 60: no truncation happens.
    slug = ProgramSlug.for_name(name)
    assert ProgramSlug.parse(slug.value) == slug
    assert slug.value[:-7] == (slugify(name) or "program")


@given(st.text())
@example("a" * 72 + " b")
def test_for_name_always_parses_back(name: str) -> None:
    slug = ProgramSlug.for_name(name)
    assert ProgramSlug.parse(slug.value) == slug


# --- normalize_external_id ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("00123", "00123"),
        ("  00123 ", "00123"),
        ("EMP-7", "EMP-7"),
        ("", None),
        ("   ", None),
        (None, None),
        ("x" * 255, "x" * 255),
    ],
)
def test_normalize_external_id(raw: str | None, expected: str | None) -> None:
    assert normalize_external_id(raw) == expected


@pytest.mark.parametrize("raw", ["12\n3", "a\x00", "x" * 256])
def test_normalize_external_id_rejects(raw: str) -> None:
    with pytest.raises(ValidationError, match="at most 255 printable") as info:
        normalize_external_id(raw, line=9)
    assert info.value.field == "external_id"
    assert info.value.line == 9
