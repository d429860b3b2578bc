"""InvitationService: the lifecycle table, one test a row, and license accounting."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import timedelta

import pytest

import learnprog
from learnprog.clock import FixedClock
from learnprog.errors import (
    ConflictError,
    InvalidTokenError,
    LicenseLimitError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from learnprog.mail.memory import InMemoryMailer
from learnprog.mail.ports import Mailer
from learnprog.model import (
    DeliveryOutcome,
    MemberState,
    OutboxStatus,
    OutgoingMessage,
)
from learnprog.services.invitations import InvitationOutcome
from learnprog.services.mail import DispatchReport
from tests.conftest import START, UowFactory
from tests.races import at_once
from tests.services.world import SYSTEM, World


def test_invite_creates_an_invitation_and_takes_no_license(
    lp: learnprog.Learnprog, mailer: InMemoryMailer
) -> None:
    world = World(lp)
    result = world.invite("Lia@Example.org")
    assert result.outcome is InvitationOutcome.CREATED
    assert result.membership.state is MemberState.INVITED
    assert result.email_queued
    assert world.used() == 0
    assert world.templates(mailer) == ["invitation"]
    assert mailer.sent[0].to.address == "Lia@Example.org"


def test_an_invitation_can_be_created_without_an_email(
    lp: learnprog.Learnprog, mailer: InMemoryMailer
) -> None:
    world = World(lp)
    result = world.invite("lia@example.org", send_email=False)
    assert not result.email_queued
    assert result.membership.invitation_sent_at is None
    assert world.templates(mailer) == []


def test_preview_changes_nothing(lp: learnprog.Learnprog, mailer: InMemoryMailer) -> None:
    world = World(lp)
    preview = lp.invitations.preview_invitation(
        world.admin, world.program.id, world.contract.id, full_name="Lia", email="lia@example.org"
    )
    assert (preview.outcome, preview.email_queued) == (InvitationOutcome.CREATED, True)
    assert (preview.program.name, preview.contract.name, preview.learner.full_name) == (
        "Academy",
        "Year 1",
        "Lia",
    )
    assert lp.invitations.members(world.admin, world.program.id) == []
    assert world.templates(mailer) == []


def test_accept_makes_a_member_takes_a_license_and_welcomes(
    lp: learnprog.Learnprog, mailer: InMemoryMailer, clock: FixedClock
) -> None:
    world = World(lp)
    world.invite("lia@example.org")
    clock.advance(timedelta(hours=1))
    member = world.accept("LIA@example.org")  # signing in with the invited email, any case
    assert member.state is MemberState.MEMBER
    assert member.joined_at == clock.now()
    assert world.used() == 1
    # she joined before her invitation went out: it is cancelled, not sent
    assert world.templates(mailer) == ["program_welcome"]
    (cancelled,) = [
        d for d in lp.mail.deliveries(world.admin, world.org.id) if d.template == "invitation"
    ]
    assert cancelled.outcome is DeliveryOutcome.CANCELLED
    assert cancelled.detail == "the invitation was withdrawn: the membership is MEMBER"


def _lia_and_bo_invited(lp: learnprog.Learnprog, mailer: InMemoryMailer) -> tuple[World, str]:
    """Lia and Bo invited and their invitations delivered; the token of Lia's link."""
    world = World(lp)
    world.invite("lia@example.org")
    world.invite("bo@example.org", "Bo")
    lp.mail.dispatch(SYSTEM)
    link = next(m for m in mailer.sent if m.to.address == "lia@example.org").text_body
    return world, link.split("accept?token=", 1)[1].split()[0]


def test_accept_with_the_link_token(lp: learnprog.Learnprog, mailer: InMemoryMailer) -> None:
    world, token = _lia_and_bo_invited(lp, mailer)
    with pytest.raises(PermissionDeniedError):
        lp.invitations.accept(world.learner("bo@example.org"), token)
    assert lp.invitations.accept(world.learner("lia@example.org"), token).state is (
        MemberState.MEMBER
    )
    assert lp.invitations.accept(world.learner("lia@example.org"), token).state is (
        MemberState.MEMBER
    )  # twice changes nothing
    assert world.used() == 1
    with pytest.raises(InvalidTokenError):
        lp.invitations.accept(world.learner("lia@example.org"), token + "x")


def test_the_link_holder_is_whom_the_invitation_was_sent_to(
    lp: learnprog.Learnprog, mailer: InMemoryMailer
) -> None:
    world, token = _lia_and_bo_invited(lp, mailer)
    holder = lp.invitations.link_holder(SYSTEM, token)
    assert holder.learner.email.address == "lia@example.org"
    assert (holder.program.id, holder.membership.state) == (world.program.id, MemberState.INVITED)
    with pytest.raises(PermissionDeniedError):
        lp.invitations.link_holder(world.admin, token)
    with pytest.raises(InvalidTokenError):
        lp.invitations.link_holder(SYSTEM, token + "x")
    assert world.used() == 0  # reading changes nothing


def test_when_no_license_is_left_acceptance_fails_and_nothing_changes(
    lp: learnprog.Learnprog, mailer: InMemoryMailer
) -> None:
    world = World(lp, licenses=1)
    world.invite("lia@example.org")
    world.invite("bo@example.org", "Bo")
    world.accept("lia@example.org")
    with pytest.raises(LicenseLimitError):
        world.accept("bo@example.org")
    states = {
        learner.email.address: m.state
        for learner, m in lp.invitations.members(world.admin, world.program.id)
    }
    assert states == {"lia@example.org": MemberState.MEMBER, "bo@example.org": MemberState.INVITED}
    assert world.used() == 1
    assert world.templates(mailer).count("program_welcome") == 1


def test_revoke_an_invitation(lp: learnprog.Learnprog, mailer: InMemoryMailer) -> None:
    world = World(lp)
    invited = world.invite("lia@example.org").membership
    revoked = lp.invitations.revoke(world.admin, invited.id)
    assert revoked.state is MemberState.DELETED_MEMBER
    assert revoked.joined_at is None
    with pytest.raises(ConflictError):
        world.accept("lia@example.org")
    assert world.templates(mailer) == []  # the invitation, not sent yet, is cancelled


def test_remove_a_member_frees_the_license_and_says_goodbye(
    lp: learnprog.Learnprog, mailer: InMemoryMailer
) -> None:
    world = World(lp)
    world.invite("lia@example.org")
    member = world.accept("lia@example.org")
    removed = lp.invitations.remove_member(world.admin, member.id)
    assert removed.state is MemberState.DELETED_MEMBER
    assert world.used() == 0
    # her invitation had not gone out when she joined: cancelled
    assert world.templates(mailer) == ["program_exit", "program_welcome"]
    with pytest.raises(ConflictError):
        lp.invitations.remove_member(world.admin, member.id)


def test_reinviting_a_removed_member_reuses_the_membership(
    lp: learnprog.Learnprog, mailer: InMemoryMailer, clock: FixedClock
) -> None:
    world = World(lp)
    first = world.invite("lia@example.org").membership
    world.accept("lia@example.org")
    lp.invitations.remove_member(world.admin, first.id)
    clock.advance(timedelta(days=3))
    again = world.invite("LIA@example.org", "Lia Other Name")
    assert again.outcome is InvitationOutcome.REINVITED
    assert again.membership.id == first.id
    assert again.membership.state is MemberState.INVITED
    assert again.membership.invited_at == clock.now()
    assert again.learner.full_name == "Lia Learner"  # the existing account is reused
    assert world.used() == 0
    world.accept("lia@example.org")
    assert world.used() == 1  # a license counted once
    history = lp.audit.entries(world.admin, world.org.id, object_id=first.id)
    assert [e.action for e in reversed(history)] == [
        "invitation.created",
        "invitation.accept",
        "member.remove",
        "invitation.reinvited",
        "invitation.accept",
    ]


def test_inviting_twice_changes_nothing_and_sends_no_second_email(
    lp: learnprog.Learnprog, mailer: InMemoryMailer
) -> None:
    world = World(lp)
    world.invite("lia@example.org")
    again = world.invite(" LIA@EXAMPLE.ORG ")
    assert again.outcome is InvitationOutcome.ALREADY_INVITED
    assert not again.email_queued
    world.accept("lia@example.org")
    assert world.invite("lia@example.org").outcome is InvitationOutcome.ALREADY_MEMBER
    assert world.templates(mailer) == ["program_welcome"]  # one invitation, cancelled: she joined
    assert lp.mail.dispatch(SYSTEM) == DispatchReport()


def test_resend_skips_anyone_invited_in_the_past_24_hours(
    lp: learnprog.Learnprog, mailer: InMemoryMailer, clock: FixedClock
) -> None:
    world = World(lp)
    world.invite("lia@example.org")
    world.invite("bo@example.org", "Bo", send_email=False)
    world.invite("cy@example.org", "Cy")
    world.accept("cy@example.org")
    clock.advance(timedelta(hours=23))
    report = lp.invitations.resend_invitations(world.admin, world.program.id)
    assert [m.learner_id for m in report.sent] == [world.learner("bo@example.org").learner_id]
    assert [m.learner_id for m in report.skipped_recent] == [
        world.learner("lia@example.org").learner_id
    ]
    clock.advance(timedelta(hours=1))
    report = lp.invitations.resend_invitations(world.admin, world.program.id)
    assert [m.learner_id for m in report.sent] == [world.learner("lia@example.org").learner_id]
    # Lia's twice and Bo's; Cy's was cancelled, as she had joined before it went out
    assert world.templates(mailer).count("invitation") == 3


def test_remove_program_needs_confirmation_and_notifies_every_member(
    lp: learnprog.Learnprog, mailer: InMemoryMailer
) -> None:
    world = World(lp)
    world.invite("lia@example.org")
    world.invite("bo@example.org", "Bo")
    world.accept("lia@example.org")
    with pytest.raises(ValidationError, match="confirm"):
        lp.invitations.remove_program(world.admin, world.program.id, confirm="yes")
    removal = lp.invitations.remove_program(world.admin, world.program.id, confirm="academy")
    assert (removal.removed_members, removal.revoked_invitations) == (1, 1)
    assert removal.program.removed_at is not None
    assert {m.state for _, m in lp.invitations.members(world.admin, world.program.id)} == {
        MemberState.DELETED_MEMBER
    }
    assert world.used() == 0
    assert world.templates(mailer).count("program_exit") == 1
    with pytest.raises(ValidationError, match="removed"):
        world.invite("cy@example.org", "Cy")
    with pytest.raises(ConflictError):
        lp.invitations.remove_program(world.admin, world.program.id, confirm="academy")


def test_a_contract_that_is_not_running_takes_no_invitation_or_acceptance(
    lp: learnprog.Learnprog, clock: FixedClock
) -> None:
    world = World(lp)
    world.invite("lia@example.org")
    clock.advance(timedelta(days=400))
    with pytest.raises(ValidationError, match="contract"):
        world.invite("bo@example.org", "Bo")
    with pytest.raises(ValidationError, match="contract"):
        world.accept("lia@example.org")


def test_a_contract_of_another_organization_is_not_found(lp: learnprog.Learnprog) -> None:
    world = World(lp)
    other = World(lp, slug="other")
    with pytest.raises(NotFoundError):
        lp.invitations.invite(
            world.admin,
            world.program.id,
            other.contract.id,
            full_name="Lia",
            email="lia@example.org",
        )


def test_domain_restriction_refuses_outside_addresses(lp: learnprog.Learnprog) -> None:
    world = World(lp)
    lp.organizations.update_settings(
        world.admin, world.org.id, restrict_invitations_to_domains=True
    )
    with pytest.raises(ValidationError, match="restricted") as caught:
        world.invite("lia@example.org")
    assert caught.value.field == "email"
    assert world.invite("lia@acme.example").outcome is InvitationOutcome.CREATED


def test_unlimited_and_enrollment_contracts_take_no_license_on_acceptance(
    lp: learnprog.Learnprog,
) -> None:
    world = World(lp, licenses=None, kind="unlimited")
    world.invite("lia@example.org")
    assert world.accept("lia@example.org").state is MemberState.MEMBER
    assert world.used() == 0


def _threaded_lp(
    uow_factory: UowFactory, mailer: InMemoryMailer | None = None
) -> learnprog.Learnprog:
    """A learnprog whose units of work run on every backend, each thread its own."""
    return learnprog.connect(
        uow_factory=uow_factory,
        mailer=mailer or InMemoryMailer(),
        clock=FixedClock(START),
        settings=learnprog.Settings(secret_key="test-secret-test-secret"),
    )


def test_concurrent_acceptances_never_take_more_licenses_than_there_are(
    uow_factory: UowFactory,
) -> None:
    lp = _threaded_lp(uow_factory)
    world = World(lp, licenses=3)
    emails = [f"learner{i}@example.org" for i in range(8)]
    for email in emails:
        world.invite(email, send_email=False)
    actors = [world.learner(e) for e in emails]
    outcomes = at_once(
        [functools.partial(lp.invitations.accept_by_sign_in, a, "academy") for a in actors]
    )
    assert outcomes == ["LicenseLimitError"] * 5 + ["Membership"] * 3
    assert world.used() == 3
    states = [m.state for _, m in lp.invitations.members(world.admin, world.program.id)]
    assert states.count(MemberState.MEMBER) == 3


def test_one_invitation_accepted_at_once_by_several_sessions_takes_one_license(
    uow_factory: UowFactory, mailer: InMemoryMailer
) -> None:
    lp = _threaded_lp(uow_factory, mailer)
    world = World(lp, licenses=3)
    world.invite("lia@example.org")
    lia = world.learner("lia@example.org")
    outcomes = at_once([functools.partial(lp.invitations.accept_by_sign_in, lia, "academy")] * 6)
    assert outcomes == ["Membership"] * 6  # accepting twice changes nothing
    assert world.used() == 1
    joins = [
        e for e in lp.audit.entries(world.admin, world.org.id) if e.action == "invitation.accept"
    ]
    assert len(joins) == 1
    # one welcome; the invitation, accepted before it went out, is cancelled
    assert world.templates(mailer) == ["program_welcome"]


def test_one_member_removed_at_once_by_several_admins_frees_one_license(
    uow_factory: UowFactory,
) -> None:
    lp = _threaded_lp(uow_factory)
    world = World(lp, licenses=2)
    for email in ("lia@example.org", "bo@example.org"):
        world.invite(email, send_email=False)
        world.accept(email)
    lia = next(m for _, m in lp.invitations.members(world.admin, world.program.id)
               if m.learner_id == world.learner("lia@example.org").learner_id)  # fmt: skip
    outcomes = at_once([functools.partial(lp.invitations.remove_member, world.admin, lia.id)] * 6)
    assert outcomes == ["ConflictError"] * 5 + ["Membership"]  # the others find it removed
    assert world.used() == 1
    for email in ("cy@example.org", "di@example.org"):
        world.invite(email, send_email=False)
    world.accept("cy@example.org")
    with pytest.raises(LicenseLimitError):  # two licenses: bo and cy hold them
        world.accept("di@example.org")
    states = [m.state for _, m in lp.invitations.members(world.admin, world.program.id)]
    assert states.count(MemberState.MEMBER) == 2


# --- a withdrawn invitation's email is never sent (every backend) ------------------------------


def _lp_on(uow_factory: UowFactory, mailer: Mailer, clock: FixedClock) -> learnprog.Learnprog:
    return learnprog.connect(
        uow_factory=uow_factory,
        clock=clock,
        mailer=mailer,
        settings=learnprog.Settings(secret_key="test-secret-test-secret"),
    )


def test_a_revoked_invitation_is_cancelled_not_sent(
    uow_factory: UowFactory, mailer: InMemoryMailer, clock: FixedClock
) -> None:
    lp = _lp_on(uow_factory, mailer, clock)
    world = World(lp)
    lia = world.invite("lia@example.org").membership
    with lp.invitations.bulk_invite(
        world.admin,
        world.program.id,
        world.contract.id,
        b"Full Name,Email,External ID\nBo,bo@example.org,\nCy,cy@example.org,\n",
    ) as run:
        assert [r.outcome for r in run] == ["created", "created"]
    cy = next(
        m
        for learner, m in lp.invitations.members(world.admin, world.program.id)
        if learner.email.address == "cy@example.org"
    )
    lp.invitations.revoke(world.admin, lia.id)
    lp.invitations.revoke(world.admin, cy.id)
    report = lp.mail.dispatch(SYSTEM)
    assert (report.sent, report.cancelled) == (1, 2)
    assert [m.to.address for m in mailer.sent] == ["bo@example.org"]
    log = {d.recipient: d for d in lp.mail.deliveries(world.admin, world.org.id)}
    for address in ("lia@example.org", "cy@example.org"):
        assert log[address].outcome is DeliveryOutcome.CANCELLED
        assert log[address].detail == (
            "the invitation was withdrawn: the membership is DELETED_MEMBER"
        )
    with lp.context.uow_factory() as uow:
        (entry,) = uow.outbox.list_for_learner(lia.learner_id)
    assert entry.status is OutboxStatus.CANCELLED
    assert entry.message.membership_id == lia.id
    assert lp.mail.dispatch(SYSTEM) == DispatchReport()  # cancelled for good


@pytest.mark.parametrize("send_again", [True, False], ids=["with-email", "without-email"])
def test_a_learner_revoked_and_invited_again_gets_only_the_new_invitation(
    uow_factory: UowFactory, mailer: InMemoryMailer, clock: FixedClock, send_again: bool
) -> None:
    lp = _lp_on(uow_factory, mailer, clock)
    world = World(lp)
    lia = world.invite("lia@example.org").membership
    lp.invitations.revoke(world.admin, lia.id)
    clock.advance(timedelta(minutes=5))
    again = world.invite("lia@example.org", send_email=send_again)
    assert again.outcome is InvitationOutcome.REINVITED
    assert again.membership.id == lia.id
    report = lp.mail.dispatch(SYSTEM)
    assert (report.sent, report.cancelled) == (int(send_again), 1)
    assert len(mailer.sent) == int(send_again)
    (first,) = [d for d in lp.mail.deliveries(world.admin, world.org.id) if d.detail]
    assert first.outcome is DeliveryOutcome.CANCELLED
    assert first.detail == (
        "the invitation was withdrawn and made again at "
        f"{(START + timedelta(minutes=5)).isoformat()}: only that one's email goes out"
    )
    assert world.accept("lia@example.org").state is MemberState.MEMBER  # the new one stands


def test_an_invitation_whose_contract_ended_before_dispatch_is_cancelled(
    uow_factory: UowFactory, mailer: InMemoryMailer, clock: FixedClock
) -> None:
    lp = _lp_on(uow_factory, mailer, clock)
    world = World(lp)
    world.invite("lia@example.org")
    clock.advance(timedelta(days=365))  # the contract ran [START - 1 day, START + 365 days)
    report = lp.mail.dispatch(SYSTEM)
    assert (report.sent, report.cancelled) == (0, 1)
    (entry,) = lp.mail.deliveries(world.admin, world.org.id)
    assert entry.detail == (
        f"the invitation's contract 'Year 1' ended at {world.contract.ends_at.isoformat()}"
    )
    assert mailer.sent == []


class RevokingMailer(InMemoryMailer):
    """Sends; while sending to ``trigger``, an admin revokes ``victim``'s invitation."""

    def __init__(self) -> None:
        super().__init__()
        self.lp: learnprog.Learnprog | None = None
        self.revoke: Callable[[], object] = lambda: None
        self.trigger = ""

    def send(self, message: OutgoingMessage) -> None:
        super().send(message)
        if message.to.address == self.trigger:
            self.revoke()


def test_an_invitation_revoked_after_its_batch_was_claimed_is_cancelled(
    uow_factory: UowFactory, clock: FixedClock
) -> None:
    mailer = RevokingMailer()
    lp = _lp_on(uow_factory, mailer, clock)
    world = World(lp)
    world.invite("bo@example.org", "Bo")
    clock.advance(timedelta(seconds=1))  # Bo's is first in the batch
    lia = world.invite("lia@example.org").membership
    mailer.trigger = "bo@example.org"
    mailer.revoke = lambda: lp.invitations.revoke(world.admin, lia.id)
    report = lp.mail.dispatch(SYSTEM, batch_size=10)  # one batch: both claimed, then sent
    assert (report.sent, report.cancelled) == (1, 1)
    assert [m.to.address for m in mailer.sent] == ["bo@example.org"]
