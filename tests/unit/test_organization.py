"""Unit tests of learnprog.model.organization: organizations, programs, contracts."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from learnprog.errors import ValidationError
from learnprog.model.organization import (
    Contract,
    ContractKind,
    Organization,
    Program,
    ReportSchedule,
    Weekday,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
START = datetime(2026, 1, 1, tzinfo=UTC)
END = datetime(2027, 1, 1, tzinfo=UTC)


@pytest.fixture
def org() -> Organization:
    return Organization.create("Acme Learning", now=NOW, email_domains=["acme.example"])


@pytest.fixture
def program(org: Organization) -> Program:
    return Program.create(org.id, "Data Academy", now=NOW, slug="data-academy")


# --- Organization.create ----------------------------------------------------------------------


def test_create_organization_defaults() -> None:
    org = Organization.create("  Acme  ", now=NOW)
    assert org.name == "Acme"
    assert re.fullmatch(r"[0-9a-f]{32}", org.id)
    assert org.created_at == NOW
    assert org.email_domains == ()
    assert org.timezone == "UTC"
    assert org.brand_color is None
    assert org.report_schedule == ReportSchedule()
    assert org.restrict_invitations_to_domains is False


def test_create_organization_normalizes_domains() -> None:
    org = Organization.create(
        "Acme",
        now=NOW,
        email_domains=[" @Example.ORG ", "example.org", "Bücher.Example", "sub.acme.co.uk"],
    )
    assert org.email_domains == ("example.org", "bücher.example", "sub.acme.co.uk")
    assert org.owns_domain("EXAMPLE.org")
    assert not org.owns_domain("example.com")


@pytest.mark.parametrize(
    "bad", ["localhost", "example", "ex ample.org", "a@b.org", "example.o", ".example.org", ""]
)
def test_create_organization_rejects_bad_domain(bad: str) -> None:
    with pytest.raises(ValidationError, match="is not a domain name") as info:
        Organization.create("Acme", now=NOW, email_domains=["ok.example", bad])
    assert info.value.field == "email_domains"


@pytest.mark.parametrize("tz", ["Europe/Lisbon", "America/Sao_Paulo", "UTC", "Asia/Kolkata"])
def test_create_organization_accepts_iana_timezones(tz: str) -> None:
    assert Organization.create("Acme", now=NOW, timezone=tz).timezone == tz


@pytest.mark.parametrize(
    "tz",
    [
        "Mars/Olympus",
        "",
        "  ",
        "../etc/passwd",
        "GMT+25",
        "America",  # a region directory: IsADirectoryError from zoneinfo
        "Europe",
        "America/",
        "..",
        ".",
        "/etc/localtime",  # an absolute path
        "/usr/share/zoneinfo/UTC",
        "./UTC",
        "America/../UTC",
        "zone.tab",  # a file of the database that is not a zone
        "UTC\x00",
    ],
)
def test_create_organization_rejects_bad_timezone(tz: str) -> None:
    with pytest.raises(
        ValidationError, match=r"is not an IANA time zone|value is required|control characters"
    ) as info:
        Organization.create("Acme", now=NOW, timezone=tz)
    assert info.value.field == "timezone"


@pytest.mark.parametrize(
    ("given", "stored"),
    [("#ff8800", "#FF8800"), (" #00aaFF ", "#00AAFF"), (None, None), ("  ", None)],
)
def test_brand_color_is_normalized(given: str | None, stored: str | None) -> None:
    assert Organization.create("Acme", now=NOW, brand_color=given).brand_color == stored


@pytest.mark.parametrize("bad", ["ff8800", "#ff880", "#ff88001", "#gg8800", "red"])
def test_brand_color_must_be_rrggbb(bad: str) -> None:
    with pytest.raises(ValidationError, match="#RRGGBB") as info:
        Organization.create("Acme", now=NOW, brand_color=bad)
    assert info.value.field == "brand_color"


@pytest.mark.parametrize("url", ["http://cdn.example/logo.png", "https://cdn.example/l.png"])
def test_urls_http_and_https_accepted(url: str) -> None:
    org = Organization.create("Acme", now=NOW, logo_url=url, banner_url=f" {url} ")
    assert org.logo_url == url
    assert org.banner_url == url


@pytest.mark.parametrize(
    "bad",
    [
        "ftp://cdn.example/logo.png",
        "javascript:alert(1)",
        "//cdn.example/logo.png",
        "cdn.example/logo.png",
        "https://cdn.example/a\nb",
        "https:// cdn.example",
    ],
)
@pytest.mark.parametrize("field", ["logo_url", "banner_url"])
def test_urls_other_schemes_rejected(field: str, bad: str) -> None:
    urls: dict[str, Any] = {field: bad}
    with pytest.raises(ValidationError, match=re.escape(f"field '{field}'")) as info:
        Organization.create("Acme", now=NOW, **urls)
    assert info.value.field == field


@pytest.mark.parametrize("bad", ["", "   ", "Ac\nme", "x" * 201])
def test_organization_name_rules(bad: str) -> None:
    with pytest.raises(ValidationError, match="field 'name'"):
        Organization.create(bad, now=NOW)


def test_organization_naive_now_rejected() -> None:
    with pytest.raises(ValidationError, match="naive") as info:
        Organization.create("Acme", now=datetime(2026, 3, 2, 9, 0))
    assert info.value.field == "now"


def test_organization_now_converted_to_utc() -> None:
    lisbon_summer = timezone(timedelta(hours=1))
    org = Organization.create("Acme", now=datetime(2026, 7, 1, 10, 0, tzinfo=lisbon_summer))
    assert org.created_at == datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
    assert org.created_at.tzinfo is UTC


def test_default_invitation_message_keeps_line_breaks() -> None:
    org = Organization.create("Acme", now=NOW, default_invitation_message="Hi,\n\tjoin us!")
    assert org.default_invitation_message == "Hi,\n\tjoin us!"
    with pytest.raises(ValidationError, match="control characters"):
        Organization.create("Acme", now=NOW, default_invitation_message="Hi\x07")


# --- Organization.with_settings ---------------------------------------------------------------


def test_with_settings_applies_validated_values(org: Organization) -> None:
    schedule = ReportSchedule(program_ids=frozenset({"p1"}), weekdays=frozenset({Weekday.MONDAY}))
    changed = org.with_settings(
        name=" Acme Corp ",
        email_domains=["ACME.example", "acme.example"],
        timezone="Europe/Lisbon",
        brand_color="#abcdef",
        banner_url="https://cdn.example/b.png",
        logo_url=None,
        default_invitation_message="Welcome",
        report_schedule=schedule,
        restrict_invitations_to_domains=True,
    )
    assert changed.name == "Acme Corp"
    assert changed.email_domains == ("acme.example",)
    assert changed.timezone == "Europe/Lisbon"
    assert changed.brand_color == "#ABCDEF"
    assert changed.banner_url == "https://cdn.example/b.png"
    assert changed.logo_url is None
    assert changed.default_invitation_message == "Welcome"
    assert changed.report_schedule == schedule
    assert changed.restrict_invitations_to_domains is True
    # Identity and creation time stay; the original is untouched.
    assert (changed.id, changed.created_at) == (org.id, org.created_at)
    assert org.name == "Acme Learning"


def test_with_settings_without_changes_is_equal(org: Organization) -> None:
    assert org.with_settings() == org


@pytest.mark.parametrize("key", ["id", "created_at", "colour", "slug"])
def test_with_settings_unknown_setting_named(org: Organization, key: str) -> None:
    with pytest.raises(ValidationError, match="not an organization setting") as info:
        org.with_settings(**{key: "x"})
    assert info.value.field == key


@pytest.mark.parametrize(
    ("key", "value", "field"),
    [
        ("name", "", "name"),
        ("email_domains", ["nodot"], "email_domains"),
        ("timezone", "Nowhere/City", "timezone"),
        ("brand_color", "blue", "brand_color"),
        ("banner_url", "file:///etc/passwd", "banner_url"),
        ("report_schedule", {"weekdays": ["monday"]}, "report_schedule"),
        ("restrict_invitations_to_domains", "yes", "restrict_invitations_to_domains"),
        ("restrict_invitations_to_domains", 1, "restrict_invitations_to_domains"),
    ],
)
def test_with_settings_bad_value_named(
    org: Organization, key: str, value: object, field: str
) -> None:
    with pytest.raises(ValidationError, match=re.escape(f"field '{field}'")) as info:
        org.with_settings(**{key: value})
    assert info.value.field == field


@pytest.mark.parametrize(
    ("key", "value"),
    [("timezone", None), ("brand_color", 5), ("email_domains", None), ("name", 5)],
)
def test_with_settings_wrong_type_is_validation_error(
    org: Organization, key: str, value: object
) -> None:
    with pytest.raises(ValidationError, match=re.escape(f"field '{key}'")):
        org.with_settings(**{key: value})


# --- Program ----------------------------------------------------------------------------------


def test_program_create_with_slug(org: Organization) -> None:
    prog = Program.create(
        org.id,
        " Data Academy ",
        now=NOW,
        slug="data-academy",
        tagline=" Learn data ",
        course_enrollment_limit=3,
    )
    assert prog.organization_id == org.id
    assert prog.name == "Data Academy"
    assert prog.slug.value == "data-academy"
    assert prog.tagline == "Learn data"
    assert prog.course_enrollment_limit == 3
    assert prog.removed_at is None
    assert not prog.is_removed


def test_program_create_makes_slug_from_name(org: Organization) -> None:
    prog = Program.create(org.id, "Data Academy 2026", now=NOW)
    assert re.fullmatch(r"data-academy-2026-[a-z0-9]{6}", prog.slug.value)


@pytest.mark.parametrize("slug", ["", "Data Academy", "data--academy"])
def test_program_create_rejects_bad_slug(org: Organization, slug: str) -> None:
    with pytest.raises(ValidationError, match="a slug is") as info:
        Program.create(org.id, "Data Academy", now=NOW, slug=slug)
    assert info.value.field == "slug"


@pytest.mark.parametrize("limit", [0, -1, 1.5, "3", True])
def test_program_create_rejects_bad_enrollment_limit(org: Organization, limit: object) -> None:
    with pytest.raises(ValidationError, match="field 'course_enrollment_limit'") as info:
        Program.create(org.id, "P", now=NOW, course_enrollment_limit=limit)  # type: ignore[arg-type]
    assert info.value.field == "course_enrollment_limit"


def test_program_with_settings(program: Program) -> None:
    changed = program.with_settings(
        name="Data Academy II",
        tagline="  ",
        banner_url="https://cdn.example/banner.png",
        course_enrollment_limit=None,
        invitation_message="Join!\nNow.",
    )
    assert changed.name == "Data Academy II"
    assert changed.tagline is None
    assert changed.banner_url == "https://cdn.example/banner.png"
    assert changed.course_enrollment_limit is None
    assert changed.invitation_message == "Join!\nNow."
    assert changed.slug == program.slug
    assert changed.id == program.id


@pytest.mark.parametrize("slug", ["other-slug", "data-academy", None])
def test_program_slug_can_never_change(program: Program, slug: object) -> None:
    with pytest.raises(ValidationError, match="cannot be changed") as info:
        program.with_settings(slug=slug)
    assert info.value.field == "slug"


def test_program_slug_refused_even_with_valid_changes(program: Program) -> None:
    with pytest.raises(ValidationError, match="cannot be changed"):
        program.with_settings(name="New", slug="new")


@pytest.mark.parametrize("key", ["organization_id", "removed_at", "email_domains"])
def test_program_with_settings_unknown(program: Program, key: str) -> None:
    with pytest.raises(ValidationError, match="not a program setting") as info:
        program.with_settings(**{key: None})
    assert info.value.field == key


@pytest.mark.parametrize("limit", [0, -5, 2.0, "10", False])
def test_program_with_settings_rejects_bad_limit(program: Program, limit: object) -> None:
    with pytest.raises(ValidationError, match="field 'course_enrollment_limit'"):
        program.with_settings(course_enrollment_limit=limit)


def test_program_with_settings_tagline_single_line(program: Program) -> None:
    with pytest.raises(ValidationError, match="control characters") as info:
        program.with_settings(tagline="a\r\nb")
    assert info.value.field == "tagline"


# --- Contract ---------------------------------------------------------------------------------


def _contract(
    kind: ContractKind | str = ContractKind.LICENSES,
    quantity: int | None = 10,
    starts_at: datetime = START,
    ends_at: datetime = END,
) -> Contract:
    return Contract.create(
        "org-1", "Year 1", kind=kind, quantity=quantity, starts_at=starts_at, ends_at=ends_at
    )


def test_contract_create_licenses() -> None:
    contract = _contract()
    assert contract.kind is ContractKind.LICENSES
    assert contract.quantity == 10
    assert contract.used == 0
    assert contract.remaining == 10
    assert contract.starts_at == START
    assert contract.ends_at == END


def test_contract_kind_from_text() -> None:
    assert _contract(kind="enrollments", quantity=5).kind is ContractKind.ENROLLMENTS


def test_contract_unknown_kind() -> None:
    with pytest.raises(ValidationError, match="kind is one of") as info:
        _contract(kind="seats")
    assert info.value.field == "kind"


def test_unlimited_contract_has_no_quantity() -> None:
    contract = _contract(kind=ContractKind.UNLIMITED, quantity=None)
    assert contract.quantity is None
    assert contract.remaining is None
    with pytest.raises(ValidationError, match="unlimited contract has no quantity") as info:
        _contract(kind=ContractKind.UNLIMITED, quantity=5)
    assert info.value.field == "quantity"


@pytest.mark.parametrize("kind", [ContractKind.LICENSES, ContractKind.ENROLLMENTS])
@pytest.mark.parametrize("quantity", [None, -1, True])
def test_limited_contract_needs_quantity(kind: ContractKind, quantity: int | None) -> None:
    with pytest.raises(ValidationError, match="field 'quantity'") as info:
        _contract(kind=kind, quantity=quantity)
    assert info.value.field == "quantity"


@pytest.mark.parametrize("end", [START, START - timedelta(seconds=1)])
def test_contract_end_must_be_after_start(end: datetime) -> None:
    with pytest.raises(ValidationError, match="end must come after the start") as info:
        _contract(ends_at=end)
    assert info.value.field == "ends_at"


@pytest.mark.parametrize("which", ["starts_at", "ends_at"])
def test_contract_naive_datetime_rejected(which: str) -> None:
    naive = datetime(2026, 6, 1)
    kwargs = {"starts_at": START, "ends_at": END, which: naive}
    with pytest.raises(ValidationError, match="naive") as info:
        Contract.create("org-1", "Y", kind="licenses", quantity=1, **kwargs)
    assert info.value.field == which


def test_contract_dates_converted_to_utc() -> None:
    plus2 = timezone(timedelta(hours=2))
    contract = _contract(starts_at=datetime(2026, 1, 1, 2, 0, tzinfo=plus2))
    assert contract.starts_at == datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
    assert contract.starts_at.tzinfo is UTC


def test_contract_blank_name_rejected() -> None:
    with pytest.raises(ValidationError, match="field 'name'"):
        Contract.create("o", " ", kind="unlimited", starts_at=START, ends_at=END)


@pytest.mark.parametrize(
    ("quantity", "used", "remaining"), [(10, 0, 10), (10, 4, 6), (10, 10, 0), (3, 5, 0), (0, 0, 0)]
)
def test_contract_remaining(quantity: int, used: int, remaining: int) -> None:
    contract = Contract("c", "o", "n", ContractKind.LICENSES, START, END, quantity, used)
    assert contract.remaining == remaining


@pytest.mark.parametrize(
    ("now", "active"),
    [
        (START - timedelta(microseconds=1), False),
        (START, True),
        (START + timedelta(days=100), True),
        (END - timedelta(microseconds=1), True),
        (END, False),
        (END + timedelta(days=1), False),
    ],
)
def test_contract_is_active_start_inclusive_end_exclusive(now: datetime, active: bool) -> None:
    assert _contract().is_active(now) is active


def test_contract_is_active_compares_instants_across_zones() -> None:
    minus5 = timezone(timedelta(hours=-5))
    contract = _contract()
    # 2025-12-31 19:00 at -05:00 is 2026-01-01 00:00 UTC: the start.
    assert contract.is_active(datetime(2025, 12, 31, 19, 0, tzinfo=minus5))
    assert not contract.is_active(datetime(2025, 12, 31, 18, 59, tzinfo=minus5))


def test_contract_check_active() -> None:
    contract = _contract()
    contract.check_active(START)
    with pytest.raises(ValidationError, match="contract 'Year 1' runs from") as info:
        contract.check_active(END)
    assert info.value.field == "contract_id"


def test_contract_check_active_before_start() -> None:
    with pytest.raises(ValidationError, match="runs from 2026-01-01T00:00:00\\+00:00"):
        _contract().check_active(START - timedelta(days=1))
