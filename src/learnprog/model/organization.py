"""Organizations, programs and contracts.

Sources: guide, "Your Admin Home Page", "Settings", "Scheduling Email Reports", "Inviting
Learners" > "Choose contract".
"""

from __future__ import annotations

import enum
import hashlib
import re
import zoneinfo
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from attrs import evolve, field, frozen

from learnprog.errors import ConflictError, ValidationError
from learnprog.model._rules import (
    flag,
    non_negative_int,
    optional_line,
    optional_text,
    optional_url,
    required_text,
    str_items,
    str_tuple,
    to_optional_utc,
    to_utc,
    utc,
)
from learnprog.model._typecheck import checked
from learnprog.model.identity import ProgramSlug, domain_key, domain_name, new_id

_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")


class Weekday(enum.StrEnum):
    """A day of the week, for the weekly report schedule."""

    MONDAY = "monday"
    TUESDAY = "tuesday"
    WEDNESDAY = "wednesday"
    THURSDAY = "thursday"
    FRIDAY = "friday"
    SATURDAY = "saturday"
    SUNDAY = "sunday"


def _program_ids(values: object) -> frozenset[str]:
    return frozenset(str_items(values, field="report_schedule.program_ids", max_length=255))


def _weekdays(values: object) -> frozenset[Weekday]:
    days = str_items(values, field="report_schedule.weekdays", max_length=20)
    try:
        return frozenset(Weekday(d.casefold()) for d in days)
    except ValueError as exc:
        raise ValidationError(
            "weekdays are monday, tuesday, wednesday, thursday, friday, saturday, sunday",
            field="report_schedule.weekdays",
            value=values,
        ) from exc


@checked
@frozen
class ReportSchedule:
    """Which programs the weekly email report covers, and on which days it goes out.

    Source: guide, "Scheduling Email Reports". An empty ``weekdays`` means no scheduled report.

    Attributes:
        program_ids: the programs the report covers (any collection of IDs).
        weekdays: the days (in the organization's time zone) the report is sent; weekday
            names are accepted (``"monday"``).

    Raises:
        ValidationError: a bare string instead of a collection, or an unknown weekday.
    """

    program_ids: frozenset[str] = field(factory=frozenset, converter=_program_ids)
    weekdays: frozenset[Weekday] = field(factory=frozenset, converter=_weekdays)


def _domains(values: object) -> tuple[str, ...]:
    """Validate email domains and keep each once, in its key form (:func:`domain_key`)."""
    out: list[str] = []
    for raw in str_items(values, field="email_domains", max_length=253):
        domain = domain_key(domain_name(raw, field="email_domains"))
        if domain not in out:
            out.append(domain)
    return tuple(out)


def _timezone(name: object) -> str:
    """Return an IANA time zone name that :class:`zoneinfo.ZoneInfo` loads.

    ``ZoneInfo`` reads the name as a path under its time zone directories, so a bad name fails
    in several ways: ``ZoneInfoNotFoundError`` (no such zone), ``ValueError`` (an absolute
    path, ``..``, a file that is not a zone), ``IsADirectoryError`` or another ``OSError``
    (a region directory, ``America``). Every one is the same ValidationError here.

    Raises:
        ValidationError: blank, longer than 64 characters, not one line, or no IANA time zone
            (field ``timezone``).
    """
    name = required_text(name, field="timezone", max_length=64)
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValidationError(
            f"{name!r} is not an IANA time zone", field="timezone", value=name
        ) from exc
    return name


def _color(value: object) -> str | None:
    text = optional_line(value, field="brand_color", max_length=50)
    if text is None:
        return None
    if not _COLOR.match(text):
        raise ValidationError("a brand color is #RRGGBB", field="brand_color", value=value)
    return text.upper()


@checked
@frozen
class Organization:
    """A company or institution that runs learning programs.

    Attributes:
        id: record ID.
        name: display name (1-200 characters).
        email_domains: the organization's email domains, each in its key form (lowercase,
            NFC, an internationalized name in Unicode: ``("example.org", "bücher.example")``,
            see :func:`~learnprog.model.identity.domain_key`); admins must have an address on
            one of them (guide, "Adding Organization Administrators").
        timezone: IANA zone name used for schedules (``"Europe/Lisbon"``).
        brand_color: ``#RRGGBB`` or ``None``.
        banner_url: brand banner image URL or ``None``.
        logo_url: brand logo image URL or ``None``.
        default_invitation_message: the invitation message programs use unless they set their own.
        report_schedule: the weekly email report cadence.
        restrict_invitations_to_domains: when true, invitees must have an address on
            ``email_domains``.
        created_at: aware UTC creation time.
        unique_name: whether the organization holds its name alone in the store: no other
            organization holding its name so may have the same name (compared exactly),
            checked by the storage (a unique key on SQL), so two made at once cannot share
            it. The command line's ``init`` makes organizations so, since it finds them by
            name; others may share a name (a learnprog decision: the guide names no rule).
    """

    id: str
    name: str
    created_at: datetime = field(converter=to_utc)
    email_domains: tuple[str, ...] = field(default=(), converter=str_tuple)
    timezone: str = "UTC"
    brand_color: str | None = None
    banner_url: str | None = None
    logo_url: str | None = None
    default_invitation_message: str | None = None
    report_schedule: ReportSchedule = field(factory=ReportSchedule)
    restrict_invitations_to_domains: bool = False
    unique_name: bool = False

    @classmethod
    def create(
        cls,
        name: str,
        *,
        now: datetime,
        email_domains: Iterable[str] = (),
        timezone: str = "UTC",
        brand_color: str | None = None,
        banner_url: str | None = None,
        logo_url: str | None = None,
        default_invitation_message: str | None = None,
        unique_name: bool = False,
    ) -> Organization:
        """Validate the settings and make a new organization.

        Raises:
            ValidationError: a field breaks its rule; the error names it.
        """
        return cls(
            id=new_id(),
            name=required_text(name, field="name"),
            created_at=utc(now, field="now"),
            email_domains=_domains(email_domains),
            timezone=_timezone(timezone),
            brand_color=_color(brand_color),
            banner_url=optional_url(banner_url, field="banner_url"),
            logo_url=optional_url(logo_url, field="logo_url"),
            default_invitation_message=optional_text(
                default_invitation_message, field="default_invitation_message"
            ),
            unique_name=flag(unique_name, field="unique_name"),
        )

    @property
    def name_key(self) -> str | None:
        """The key of a name held alone (:attr:`unique_name`), else ``None``.

        The SHA-256 of the name's UTF-8 bytes in hex (64 characters), so the unique key is
        exact (no collation folds case or accents) and short whatever the name's length.
        """
        if not self.unique_name:
            return None
        return hashlib.sha256(self.name.encode("utf-8")).hexdigest()

    def with_settings(self, **changes: object) -> Organization:
        """Return a copy with the global settings in ``changes`` validated and applied.

        Settings: ``name``, ``email_domains``, ``timezone``, ``brand_color``, ``banner_url``,
        ``logo_url``, ``default_invitation_message``, ``report_schedule``,
        ``restrict_invitations_to_domains`` (guide, "Access to Global settings").

        Raises:
            ValidationError: an unknown setting or a value that breaks its rule.
        """
        checks: dict[str, Callable[[Any], object]] = {
            "name": lambda v: required_text(v, field="name"),
            "email_domains": _domains,
            "timezone": _timezone,
            "brand_color": _color,
            "banner_url": lambda v: optional_url(v, field="banner_url"),
            "logo_url": lambda v: optional_url(v, field="logo_url"),
            "default_invitation_message": lambda v: optional_text(
                v, field="default_invitation_message"
            ),
            "report_schedule": _schedule,
            "restrict_invitations_to_domains": _flag,
        }
        clean: dict[str, object] = {}
        for key, value in changes.items():
            if key not in checks:
                raise ValidationError("not an organization setting", field=key)
            try:
                clean[key] = checks[key](value)
            except (TypeError, AttributeError) as exc:
                raise ValidationError(
                    f"a value of the wrong type ({type(value).__name__})", field=key, value=value
                ) from exc
        return evolve(self, **clean)  # type: ignore[arg-type]

    def owns_domain(self, domain: str) -> bool:
        """Tell whether ``domain`` is one of the organization's email domains.

        Both sides are compared as :func:`~learnprog.model.identity.domain_key` makes them,
        the way email keys normalize domains: case, NFC and the ASCII (``xn--``) or Unicode
        form of an internationalized name do not matter (RFC 5891). Domains stored before
        they were kept in that form are normalized here, so they match too.
        """
        if not isinstance(domain, str):
            return False
        return domain_key(domain) in {domain_key(d) for d in self.email_domains}


def _schedule(value: object) -> ReportSchedule:
    if not isinstance(value, ReportSchedule):
        raise ValidationError("a ReportSchedule is required", field="report_schedule")
    return value


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValidationError("true or false is required", field="restrict_invitations_to_domains")
    return value


def name_taken(name: str) -> ConflictError:
    """The error for an organization name held alone by another organization.

    ``an organization named 'Acme' exists already``, with ``kind="organization"`` and the name
    as ``key``: what the storage raises for :attr:`Organization.unique_name`.
    """
    return ConflictError(
        f"an organization named {name!r} exists already", kind="organization", key=name
    )


@checked
@frozen
class Program:
    """A learning program: a curriculum that members of an organization join.

    Attributes:
        id: record ID.
        organization_id: the owning organization.
        name: program name (1-200 characters).
        slug: the URL slug; it never changes once made (guide, "Settings": "It cannot be changed").
        tagline: a short line under the name, or ``None``.
        banner_url: banner image URL (960x300 px looks best) or ``None``.
        course_enrollment_limit: at most this many current course enrollments per learner, or
            ``None`` for no limit (guide, "COURSE ENROLLMENT LIMIT").
        invitation_message: this program's invitation message, overriding the organization's.
        created_at: aware UTC creation time.
        removed_at: when the program was removed (it cannot be undone), or ``None``.
    """

    id: str
    organization_id: str
    name: str
    slug: ProgramSlug
    created_at: datetime = field(converter=to_utc)
    tagline: str | None = None
    banner_url: str | None = None
    course_enrollment_limit: int | None = None
    invitation_message: str | None = None
    removed_at: datetime | None = field(default=None, converter=to_optional_utc)

    @classmethod
    def create(
        cls,
        organization_id: str,
        name: str,
        *,
        now: datetime,
        slug: str | None = None,
        tagline: str | None = None,
        banner_url: str | None = None,
        course_enrollment_limit: int | None = None,
        invitation_message: str | None = None,
    ) -> Program:
        """Validate and make a new program; without ``slug`` one is made from the name.

        Raises:
            ValidationError: a field breaks its rule.
        """
        clean_name = required_text(name, field="name")
        return cls(
            id=new_id(),
            organization_id=organization_id,
            name=clean_name,
            slug=ProgramSlug.parse(slug) if slug is not None else ProgramSlug.for_name(clean_name),
            created_at=utc(now, field="now"),
            tagline=optional_line(tagline, field="tagline"),
            banner_url=optional_url(banner_url, field="banner_url"),
            course_enrollment_limit=_limit(course_enrollment_limit),
            invitation_message=optional_text(invitation_message, field="invitation_message"),
        )

    def with_settings(self, **changes: object) -> Program:
        """Return a copy with program settings changed (guide, "Access to Program settings").

        Settings: ``name``, ``tagline``, ``banner_url``, ``course_enrollment_limit``,
        ``invitation_message``. The slug is not a setting: it never changes.

        Raises:
            ValidationError: an unknown setting (``slug`` included) or a bad value.
        """
        checks: dict[str, Callable[[Any], object]] = {
            "name": lambda v: required_text(v, field="name"),
            "tagline": lambda v: optional_line(v, field="tagline"),
            "banner_url": lambda v: optional_url(v, field="banner_url"),
            "course_enrollment_limit": _limit,
            "invitation_message": lambda v: optional_text(v, field="invitation_message"),
        }
        clean: dict[str, object] = {}
        for key, value in changes.items():
            if key == "slug":
                raise ValidationError("a program URL cannot be changed", field="slug")
            if key not in checks:
                raise ValidationError("not a program setting", field=key)
            try:
                clean[key] = checks[key](value)
            except (TypeError, AttributeError) as exc:
                raise ValidationError(
                    f"a value of the wrong type ({type(value).__name__})", field=key, value=value
                ) from exc
        return evolve(self, **clean)  # type: ignore[arg-type]

    @property
    def is_removed(self) -> bool:
        """True once the program has been removed."""
        return self.removed_at is not None


def _limit(value: object) -> int | None:
    if value is not None and not isinstance(value, int):
        raise ValidationError("a whole number is required", field="course_enrollment_limit")
    checked = non_negative_int(value, field="course_enrollment_limit")
    if checked == 0:
        raise ValidationError(
            "a limit is 1 or more, or None for no limit", field="course_enrollment_limit"
        )
    return checked


class ContractKind(enum.StrEnum):
    """What a contract sells (guide, "Choose contract": Contract Type)."""

    LICENSES = "licenses"
    """N members at once over all programs that draw on the contract."""
    ENROLLMENTS = "enrollments"
    """N course enrollments in all."""
    UNLIMITED = "unlimited"
    """No cap."""


@checked
@frozen
class Contract:
    """A contract from which members take licenses or enrollments.

    One organization's contract may serve several of its programs: an invitation names the program
    and the contract separately.

    Attributes:
        id: record ID.
        organization_id: the owning organization.
        name: contract name (``"Year 1 Contract 2020"``).
        kind: licenses, enrollments or unlimited.
        quantity: licenses or enrollments bought; ``None`` exactly when unlimited.
        used: licenses occupied or enrollments used so far (kept by storage with conditional
            updates so it never passes ``quantity``).
        starts_at: aware UTC start.
        ends_at: aware UTC end, after ``starts_at``.
    """

    id: str
    organization_id: str
    name: str
    kind: ContractKind
    starts_at: datetime = field(converter=to_utc)
    ends_at: datetime = field(converter=to_utc)
    quantity: int | None = None
    used: int = 0

    @classmethod
    def create(
        cls,
        organization_id: str,
        name: str,
        *,
        kind: ContractKind | str,
        starts_at: datetime,
        ends_at: datetime,
        quantity: int | None = None,
    ) -> Contract:
        """Validate and make a new contract.

        Raises:
            ValidationError: an unknown kind, a quantity missing (or given for unlimited),
                a naive date, or an end not after the start.
        """
        try:
            clean_kind = ContractKind(kind)
        except ValueError as exc:
            raise ValidationError(
                "kind is one of licenses, enrollments, unlimited", field="kind", value=kind
            ) from exc
        start = utc(starts_at, field="starts_at")
        end = utc(ends_at, field="ends_at")
        if end <= start:
            raise ValidationError("the end must come after the start", field="ends_at")
        if clean_kind is ContractKind.UNLIMITED:
            if quantity is not None:
                raise ValidationError("an unlimited contract has no quantity", field="quantity")
        else:
            non_negative_int(quantity, field="quantity", allow_none=False)
        return cls(
            id=new_id(),
            organization_id=organization_id,
            name=required_text(name, field="name"),
            kind=clean_kind,
            starts_at=start,
            ends_at=end,
            quantity=quantity,
        )

    @property
    def remaining(self) -> int | None:
        """Licenses or enrollments left, or ``None`` for an unlimited contract."""
        if self.quantity is None:
            return None
        return max(self.quantity - self.used, 0)

    def is_active(self, now: datetime) -> bool:
        """True when ``now`` lies in ``[starts_at, ends_at)``: only then may it take new members.

        Raises:
            ValidationError: ``now`` is naive.
        """
        return self.starts_at <= utc(now, field="now") < self.ends_at

    def check_active(self, now: datetime) -> None:
        """Raise unless the contract is running at ``now``.

        Raises:
            ValidationError: the contract has not started or has ended (field ``contract``).
        """
        if not self.is_active(now):
            raise ValidationError(
                f"contract {self.name!r} runs from {self.starts_at.isoformat()} to "
                f"{self.ends_at.isoformat()}",
                field="contract_id",
            )
