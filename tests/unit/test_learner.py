"""Unit tests of learnprog.model.learner: learners, profiles and the membership state machine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from learnprog.errors import (
    ConflictError,
    InvitationRevokedError,
    PermissionDeniedError,
    ValidationError,
)
from learnprog.model.identity import EmailAddress
from learnprog.model.learner import Learner, LearnerProfile, Membership, MemberState

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=1)
LATEST = NOW + timedelta(days=2)


@pytest.fixture
def invited() -> Membership:
    return Membership.invite("org-1", "prog-1", "learner-1", "contract-1", now=NOW)


# --- Learner.create ---------------------------------------------------------------------------


def test_learner_create() -> None:
    person = Learner.create(
        "org-1",
        "  José Ñúñez 山田 ",
        " Jose.Nunez@Example.ORG ",
        now=NOW,
        external_id=" 00123 ",
        attributes={" team ": " Data ", "level": "3"},
    )
    assert person.organization_id == "org-1"
    assert person.full_name == "José Ñúñez 山田"
    assert person.email.address == "Jose.Nunez@Example.ORG"
    assert person.email.key == "jose.nunez@example.org"
    assert person.external_id == "00123"
    assert person.profile == LearnerProfile()
    assert dict(person.attributes) == {"team": "Data", "level": "3"}
    assert person.identity_verified is False
    assert person.created_at == NOW


def test_learner_create_accepts_parsed_address() -> None:
    address = EmailAddress.parse("ana@example.org")
    assert Learner.create("o", "Ana", address, now=NOW).email is address


def test_learner_create_blank_external_id_is_none() -> None:
    assert (
        Learner.create("o", "Ana", "ana@example.org", now=NOW, external_id="  ").external_id is None
    )


@pytest.mark.parametrize("name", ["", "   ", "Ana\nLima", "x" * 201])
def test_learner_bad_name_carries_field_and_line(name: str) -> None:
    with pytest.raises(ValidationError, match=r"^line 12, field 'full_name': "):
        Learner.create("o", name, "ana@example.org", now=NOW, line=12)


def test_learner_bad_name_error_attributes() -> None:
    with pytest.raises(ValidationError, match="a value is required") as info:
        Learner.create("o", "", "ana@example.org", now=NOW, line=3)
    assert (info.value.field, info.value.line) == ("full_name", 3)


@pytest.mark.parametrize("email", ["", "not-an-email", "ana@example.org\nBcc: x@example.org"])
def test_learner_bad_email_carries_field_and_line(email: str) -> None:
    with pytest.raises(ValidationError, match=r"^line 5, field 'email'") as info:
        Learner.create("o", "Ana", email, now=NOW, line=5)
    assert (info.value.field, info.value.line) == ("email", 5)


def test_learner_bad_external_id_carries_field_and_line() -> None:
    with pytest.raises(ValidationError, match="external ID") as info:
        Learner.create("o", "Ana", "ana@example.org", now=NOW, external_id="1\n2", line=8)
    assert (info.value.field, info.value.line) == ("external_id", 8)


def test_learner_naive_now_rejected() -> None:
    with pytest.raises(ValidationError, match="naive") as info:
        Learner.create("o", "Ana", "ana@example.org", now=datetime(2026, 3, 2))
    assert info.value.field == "now"


@pytest.mark.parametrize(
    ("attributes", "field"),
    [
        ({"": "x"}, "attributes"),
        ({"team": "a\nb"}, "attributes.team"),
        ({"k" * 101: "v"}, "attributes"),
    ],
)
def test_learner_bad_attribute_named(attributes: dict[str, str], field: str) -> None:
    with pytest.raises(ValidationError, match="field 'attributes") as info:
        Learner.create("o", "Ana", "ana@example.org", now=NOW, attributes=attributes)
    assert info.value.field == field


def test_learner_bad_attribute_carries_line() -> None:
    with pytest.raises(ValidationError, match="attributes") as info:
        Learner.create("o", "Ana", "ana@example.org", now=NOW, attributes={"team": "a\nb"}, line=4)
    assert info.value.line == 4


# --- LearnerProfile ---------------------------------------------------------------------------


def test_profile_from_fields() -> None:
    profile = LearnerProfile.from_fields(
        {"job_title": " Analyst ", "manager_email": "boss@example.org", "location_city": ""}
    )
    assert profile.job_title == "Analyst"
    assert profile.manager_email == "boss@example.org"
    assert profile.location_city is None
    assert profile.business_unit is None


def test_profile_unknown_field_rejected() -> None:
    with pytest.raises(ValidationError, match="not a profile field") as info:
        LearnerProfile.from_fields({"job_title": "x", "shoe_size": "42"})
    assert info.value.field == "shoe_size"


@pytest.mark.parametrize("value", ["a\r\nb", "x" * 201])
def test_profile_value_single_line(value: str) -> None:
    with pytest.raises(ValidationError, match="field 'business_unit'") as info:
        LearnerProfile.from_fields({"business_unit": value})
    assert info.value.field == "business_unit"


def test_with_profile_replaces_profile() -> None:
    person = Learner.create("o", "Ana", "ana@example.org", now=NOW)
    profile = LearnerProfile(job_title="Analyst")
    changed = person.with_profile(profile)
    assert changed.profile == profile
    assert changed.id == person.id
    assert person.profile == LearnerProfile()


# --- with_attributes --------------------------------------------------------------------------


def test_with_attributes_merges_over_current() -> None:
    person = Learner.create(
        "o", "Ana", "ana@example.org", now=NOW, attributes={"team": "Data", "level": "2"}
    )
    changed = person.with_attributes({"level": " 3 ", "site": "Porto"})
    assert dict(changed.attributes) == {"team": "Data", "level": "3", "site": "Porto"}
    assert dict(person.attributes) == {"team": "Data", "level": "2"}


def test_with_attributes_blank_value_becomes_empty_text() -> None:
    person = Learner.create("o", "Ana", "ana@example.org", now=NOW, attributes={"team": "Data"})
    assert dict(person.with_attributes({"team": "  "}).attributes) == {"team": ""}


def test_with_attributes_validates() -> None:
    person = Learner.create("o", "Ana", "ana@example.org", now=NOW)
    with pytest.raises(ValidationError, match="control characters") as info:
        person.with_attributes({"team": "a\x00"})
    assert info.value.field == "attributes.team"


# --- Membership state machine -----------------------------------------------------------------


def test_invite_makes_invited_without_license(invited: Membership) -> None:
    assert invited.state is MemberState.INVITED
    assert invited.invited_at == NOW
    assert invited.joined_at is None
    assert invited.removed_at is None
    assert not invited.holds_license
    assert (invited.organization_id, invited.program_id) == ("org-1", "prog-1")
    assert (invited.learner_id, invited.contract_id) == ("learner-1", "contract-1")


def test_full_cycle_invite_accept_remove_reinvite(invited: Membership) -> None:
    member = invited.accept(LATER)
    assert member.state is MemberState.MEMBER
    assert member.joined_at == LATER
    assert member.holds_license
    assert member.id == invited.id

    removed = member.remove(LATEST)
    assert removed.state is MemberState.DELETED_MEMBER
    assert removed.removed_at == LATEST
    assert removed.joined_at == LATER
    assert not removed.holds_license

    again = removed.reinvite(LATEST + timedelta(hours=1), "contract-2")
    assert again.state is MemberState.INVITED
    assert again.invited_at == LATEST + timedelta(hours=1)
    assert again.joined_at is None
    assert again.removed_at is None
    assert again.contract_id == "contract-2"
    assert again.id == invited.id
    assert again.accept(LATEST + timedelta(hours=2)).state is MemberState.MEMBER


def test_remove_revokes_an_invitation(invited: Membership) -> None:
    revoked = invited.remove(LATER)
    assert revoked.state is MemberState.DELETED_MEMBER
    assert revoked.removed_at == LATER
    assert revoked.joined_at is None


def test_accept_twice_conflicts(invited: Membership) -> None:
    member = invited.accept(LATER)
    with pytest.raises(ConflictError, match="the invitation is MEMBER, not INVITED") as info:
        member.accept(LATEST)
    assert info.value.kind == "membership"
    assert info.value.key == invited.id


def test_accept_removed_conflicts(invited: Membership) -> None:
    removed = invited.remove(LATER)
    with pytest.raises(InvitationRevokedError, match="revoked") as info:
        removed.accept(LATEST)
    assert isinstance(info.value, ConflictError)
    assert info.value.key == invited.id


def test_remove_twice_conflicts(invited: Membership) -> None:
    removed = invited.accept(LATER).remove(LATEST)
    with pytest.raises(ConflictError, match="already removed") as info:
        removed.remove(LATEST)
    assert info.value.key == invited.id


@pytest.mark.parametrize("accepted", [False, True])
def test_reinvite_needs_removed(invited: Membership, accepted: bool) -> None:
    current = invited.accept(LATER) if accepted else invited
    with pytest.raises(ConflictError, match="only a removed one is invited again"):
        current.reinvite(LATEST, "contract-2")


def test_transitions_reject_naive_time(invited: Membership) -> None:
    with pytest.raises(ValidationError, match="naive") as info:
        invited.accept(datetime(2026, 3, 3))
    assert info.value.field == "now"


def test_holds_license_only_for_member() -> None:
    for state in MemberState:
        membership = Membership("m", "o", "p", "l", "c", state, NOW)
        assert membership.holds_license is (state is MemberState.MEMBER)


def test_member_can_enroll(invited: Membership) -> None:
    invited.accept(LATER).check_can_enroll()


def test_invited_cannot_enroll(invited: Membership) -> None:
    with pytest.raises(PermissionDeniedError, match="state INVITED cannot enroll"):
        invited.check_can_enroll()


def test_deleted_member_cannot_enroll(invited: Membership) -> None:
    removed = invited.accept(LATER).remove(LATEST)
    with pytest.raises(PermissionDeniedError, match="state DELETED_MEMBER cannot enroll"):
        removed.check_can_enroll()
