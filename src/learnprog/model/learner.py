"""Learner accounts and program memberships (guide: "Members", "Membership Report", glossary)."""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Mapping
from datetime import datetime, timedelta

from attrs import evolve, field, fields, frozen

from learnprog.errors import (
    ConflictError,
    InvitationRevokedError,
    PermissionDeniedError,
    ValidationError,
)
from learnprog.model._rules import (
    FrozenDict,
    frozen_dict,
    optional_line,
    required_text,
    to_optional_utc,
    to_utc,
    utc,
)
from learnprog.model._typecheck import checked
from learnprog.model.identity import EmailAddress, new_id, normalize_external_id


@checked
@frozen
class LearnerProfile:
    """The optional profile fields of the guide's usage and membership reports.

    Every field is a single line of at most 200 characters, or ``None``. ``manager_email`` is
    kept as text: it is a report column, not an identity.
    """

    manager_name: str | None = None
    manager_email: str | None = None
    job_title: str | None = None
    job_type: str | None = None
    business_unit: str | None = None
    business_unit_2: str | None = None
    location_city: str | None = None
    location_country: str | None = None
    location_region: str | None = None

    @classmethod
    def from_fields(cls, values: Mapping[str, str | None]) -> LearnerProfile:
        """Validate profile fields given by name.

        Raises:
            ValidationError: an unknown field name or a value that is not a single line.
        """
        names = {a.name for a in fields(cls)}
        clean: dict[str, str | None] = {}
        for key, value in values.items():
            if key not in names:
                raise ValidationError("not a profile field", field=key)
            clean[key] = optional_line(value, field=key)
        return cls(**clean)


def _attributes(values: Mapping[str, str], *, line: int | None = None) -> dict[str, str]:
    clean: dict[str, str] = {}
    for key, value in values.items():
        try:
            name = required_text(key, field="attributes", max_length=100)
            text = optional_line(str(value), field=f"attributes.{name}", max_length=1000)
        except ValidationError as exc:
            raise ValidationError(
                str(exc).split(": ", 1)[-1], field=exc.field, line=line, value=value
            ) from exc
        clean[name] = text or ""
    return clean


@checked
@frozen
class Learner:
    """A person's account in an organization. A learner may be a member of several programs.

    Attributes:
        id: record ID.
        organization_id: the organization the account belongs to.
        full_name: the name as written, in any script (1-200 characters).
        email: the address as written plus its key (unique per organization; see
            :func:`~learnprog.model.identity.email_key`).
        external_id: the organization's own ID for the person, kept as written, or ``None``.
        profile: the report profile fields.
        attributes: free-form learner attributes (name -> text).
        identity_verified: the learner verified their identity (for verified completions).
        created_at: aware UTC creation time.
    """

    id: str
    organization_id: str
    full_name: str
    email: EmailAddress
    created_at: datetime = field(converter=to_utc)
    external_id: str | None = None
    profile: LearnerProfile = field(factory=LearnerProfile)
    attributes: Mapping[str, str] = field(factory=FrozenDict, converter=frozen_dict)
    identity_verified: bool = False

    @classmethod
    def create(
        cls,
        organization_id: str,
        full_name: str,
        email: str | EmailAddress,
        *,
        now: datetime,
        external_id: str | None = None,
        profile: LearnerProfile | None = None,
        attributes: Mapping[str, str] | None = None,
        line: int | None = None,
    ) -> Learner:
        """Validate and make a new learner account.

        Args:
            organization_id: the owning organization.
            full_name: the person's name.
            email: the address (validated, syntax only).
            now: the creation instant (aware).
            external_id: the organization's ID for the person; blank means none.
            profile: optional profile fields.
            attributes: optional free-form attributes.
            line: the CSV line the values came from, named in errors.

        Raises:
            ValidationError: a field breaks its rule; the error names the field and ``line``.
        """
        try:
            name = required_text(full_name, field="full_name")
        except ValidationError as exc:
            raise ValidationError(
                exc.reason, field="full_name", line=line, value=full_name
            ) from exc
        address = email if isinstance(email, EmailAddress) else EmailAddress.parse(email, line=line)
        return cls(
            id=new_id(),
            organization_id=organization_id,
            full_name=name,
            email=address,
            created_at=utc(now, field="now"),
            external_id=normalize_external_id(external_id, line=line),
            profile=profile or LearnerProfile(),
            attributes=_attributes(attributes or {}, line=line),
        )

    def with_profile(self, profile: LearnerProfile) -> Learner:
        """Return a copy with ``profile``."""
        return evolve(self, profile=profile)

    def with_attributes(self, attributes: Mapping[str, str]) -> Learner:
        """Return a copy with ``attributes`` merged over the current ones (validated)."""
        merged = dict(self.attributes)
        merged.update(_attributes(attributes))
        return evolve(self, attributes=merged)

    @property
    def search_key(self) -> str:
        """The text the members list searches: see :func:`search_key`."""
        return search_key(self.full_name, self.email.key)


def search_key(full_name: str, email_key: str) -> str:
    """Return the members list's search text: the name, a line break, the email; case-folded.

    A search term (also folded, with :func:`search_term`) matches a learner when it is a
    substring of this text (guide, "Members": "Search bar to look for members based on name or
    email"); accents are kept, so ``stéphane`` does not find ``Stephane``.
    """
    return f"{search_term(full_name)}\n{email_key}"


def search_term(text: str) -> str:
    """Return ``text`` as the members search compares it: trimmed, NFC, case-folded."""
    return unicodedata.normalize("NFC", text.strip()).casefold()


class MemberState(enum.StrEnum):
    """A person's state in one program (guide, "Membership Report": Member State)."""

    INVITED = "INVITED"
    """Sent an invitation; has not joined. Takes no license."""
    MEMBER = "MEMBER"
    """Accepted the invitation. Occupies a license on a licenses contract."""
    DELETED_MEMBER = "DELETED_MEMBER"
    """Removed by an administrator (or an invitation revoked). Holds no license."""


@checked
@frozen
class Membership:
    """One learner's place in one program: one record per program and learner.

    Attributes:
        id: record ID.
        organization_id: the program's organization.
        program_id: the program.
        learner_id: the learner.
        contract_id: the contract the license or enrollments are drawn from.
        state: INVITED, MEMBER or DELETED_MEMBER.
        invited_at: the latest invitation time (aware UTC).
        joined_at: when the learner accepted, or ``None``.
        removed_at: when the membership was removed or revoked, or ``None``.
        invitation_sent_at: when the invitation email last went to the outbox, or ``None``
            when the invitation was created without an email.
        invitation_source: where the latest invitation came from: ``None`` for one made by
            hand, ``csv:<run id>:<line>`` for a line of a bulk invitation file.
    """

    id: str
    organization_id: str
    program_id: str
    learner_id: str
    contract_id: str
    state: MemberState
    invited_at: datetime = field(converter=to_utc)
    joined_at: datetime | None = field(default=None, converter=to_optional_utc)
    removed_at: datetime | None = field(default=None, converter=to_optional_utc)
    invitation_sent_at: datetime | None = field(default=None, converter=to_optional_utc)
    invitation_source: str | None = None

    def invitation_sent(self, now: datetime) -> Membership:
        """Return the membership with its invitation email sent at ``now``."""
        return evolve(self, invitation_sent_at=utc(now, field="now"))

    def may_resend_invitation(self, now: datetime, *, min_interval: timedelta) -> bool:
        """True when an INVITED learner may be sent the invitation again at ``now``.

        Source: the guide's "resend invites" quick action; a resend within ``min_interval``
        (24 hours by default in the service) of the last one is skipped, so nobody is flooded.
        """
        return self.state is MemberState.INVITED and (
            self.invitation_sent_at is None or now - self.invitation_sent_at >= min_interval
        )

    @classmethod
    def invite(
        cls,
        organization_id: str,
        program_id: str,
        learner_id: str,
        contract_id: str,
        *,
        now: datetime,
    ) -> Membership:
        """Make a new invitation: state INVITED, no license taken (guide, "Invitations")."""
        return cls(
            id=new_id(),
            organization_id=organization_id,
            program_id=program_id,
            learner_id=learner_id,
            contract_id=contract_id,
            state=MemberState.INVITED,
            invited_at=utc(now, field="now"),
        )

    def accept(self, now: datetime) -> Membership:
        """Return the membership after the learner joins: MEMBER with a join time.

        Raises:
            InvitationRevokedError: the invitation was revoked or the member removed
                (DELETED_MEMBER): the link is gone for good.
            ConflictError: the membership is not INVITED (already a member).
        """
        if self.state is MemberState.DELETED_MEMBER:
            raise InvitationRevokedError(
                "the invitation was revoked (DELETED_MEMBER): ask an admin to invite you again",
                kind="membership",
                key=self.id,
            )
        if self.state is not MemberState.INVITED:
            raise ConflictError(
                f"the invitation is {self.state.value}, not INVITED", kind="membership", key=self.id
            )
        return evolve(self, state=MemberState.MEMBER, joined_at=utc(now, field="now"))

    def remove(self, now: datetime) -> Membership:
        """Return the membership removed (DELETED_MEMBER): a revoked invitation or a removed member.

        Raises:
            ConflictError: it is already DELETED_MEMBER.
        """
        if self.state is MemberState.DELETED_MEMBER:
            raise ConflictError("the membership is already removed", kind="membership", key=self.id)
        return evolve(self, state=MemberState.DELETED_MEMBER, removed_at=utc(now, field="now"))

    def reinvite(self, now: datetime, contract_id: str) -> Membership:
        """Return a removed membership invited again: INVITED with a new invitation time.

        Raises:
            ConflictError: the membership is not DELETED_MEMBER.
        """
        if self.state is not MemberState.DELETED_MEMBER:
            raise ConflictError(
                f"the membership is {self.state.value}; only a removed one is invited again",
                kind="membership",
                key=self.id,
            )
        return evolve(
            self,
            state=MemberState.INVITED,
            invited_at=utc(now, field="now"),
            joined_at=None,
            removed_at=None,
            contract_id=contract_id,
            invitation_sent_at=None,
            invitation_source=None,
        )

    @property
    def holds_license(self) -> bool:
        """True while the membership occupies a license (guide glossary, "License": a MEMBER)."""
        return self.state is MemberState.MEMBER

    def check_can_enroll(self) -> None:
        """Raise unless the learner may enroll in the program's courses.

        Raises:
            PermissionDeniedError: INVITED (not yet joined) or DELETED_MEMBER (removed).
        """
        if self.state is not MemberState.MEMBER:
            raise PermissionDeniedError(
                f"a learner in state {self.state.value} cannot enroll; only a MEMBER can"
            )


MEMBERSHIP_LIFECYCLE = (
    "contract_id",
    "state",
    "invited_at",
    "joined_at",
    "removed_at",
    "invitation_sent_at",
    "invitation_source",
)
"""The fields of a :class:`Membership` its lifecycle changes (invite, accept, revoke, remove,
re-invite, resend): a compare-and-set write checks them all (``MembershipRepository.update``)."""
