"""Erasing a learner: a pseudonym everywhere, the outbox included; counts stay right."""

from __future__ import annotations

from datetime import timedelta

import pytest

import learnprog
from learnprog.errors import ConflictError, PermissionDeniedError, ValidationError
from learnprog.mail.memory import InMemoryMailer
from learnprog.model import MemberState, OrgAdminActor, OutboxStatus, SystemActor

SYSTEM = SystemActor()


def test_erasure_replaces_personal_data_everywhere(
    lp: learnprog.Learnprog, mailer: InMemoryMailer
) -> None:
    org = lp.organizations.create_organization(
        SYSTEM,
        "Acme",
        email_domains=["acme.example"],
        admin_name="Ana",
        admin_email="ana@acme.example",
    )
    admin = lp.organizations.resolve_actor(SYSTEM, org.id, "ana@acme.example")
    assert isinstance(admin, OrgAdminActor)
    now = lp.context.clock.now()
    program = lp.programs.create_program(admin, org.id, "Academy", slug="academy")
    contract = lp.programs.create_contract(
        admin,
        org.id,
        "Y1",
        kind="unlimited",
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=30),
    )
    first = lp.invitations.invite(
        admin,
        program.id,
        contract.id,
        full_name="Zoë Secret",
        email="zoe.secret@example.org",
        external_id="E-99",
    )
    lp.invitations.update_learner(
        admin, first.learner.id, profile={"job_title": "Spy"}, attributes={"badge": "Quasar-Zulu"}
    )
    lp.mail.dispatch(SYSTEM)  # the invitation went out
    lp.invitations.resend_invitations(admin, program.id)  # skipped: within 24 hours
    lp.context.clock.advance(timedelta(days=2))  # type: ignore[attr-defined]
    lp.invitations.resend_invitations(admin, program.id)  # pending in the outbox
    with pytest.raises(ValidationError, match="confirm"):
        lp.invitations.erase_learner(admin, first.learner.id, confirm="someone@example.org")
    report = lp.invitations.erase_learner(admin, first.learner.id, confirm="ZOE.SECRET@example.org")
    assert report.outbox_entries == 2
    assert report.delivery_records == 1
    assert report.audit_entries >= 2
    learner = lp.invitations.get_learner(admin, first.learner.id)
    assert learner.full_name.startswith("Erased learner ")
    assert learner.email.address.endswith("@erased.invalid")
    assert learner.external_id is None
    assert learner.profile.job_title is None
    assert learner.attributes == {}
    # membership and counts stay
    ((_, membership),) = lp.invitations.members(admin, program.id)
    assert membership.state is MemberState.INVITED
    # nothing personal is left anywhere the library stores it
    with lp.context.uow_factory() as uow:
        entries = uow.outbox.list_for_organization(org.id)
        stored = [e for e in entries if e.message.learner_id == first.learner.id]
        assert {e.status for e in stored} == {OutboxStatus.SENT, OutboxStatus.SKIPPED}
        texts = [repr(e) for e in stored]
        texts += [repr(d) for d in uow.deliveries.list_for_organization(org.id)]
        texts += [repr(a) for a in uow.audit.list(org.id, limit=1000)]
    blob = "\n".join(texts)
    for secret in ("Zoë Secret", "zoe.secret", "E-99", "Spy", "Quasar-Zulu"):
        assert secret not in blob
    assert lp.audit.entries(admin, org.id)[0].action == "learner.erase"
    assert lp.mail.dispatch(SYSTEM).sent == 0  # the pending resend is never sent
    assert len(mailer.sent) == 1


def test_only_organization_admins_erase_and_never_an_admin(lp: learnprog.Learnprog) -> None:
    org = lp.organizations.create_organization(
        SYSTEM,
        "Acme",
        email_domains=["acme.example"],
        admin_name="Ana",
        admin_email="ana@acme.example",
    )
    admin = lp.organizations.resolve_actor(SYSTEM, org.id, "ana@acme.example")
    assert isinstance(admin, OrgAdminActor)
    with pytest.raises(ConflictError, match="admin"):
        lp.invitations.erase_learner(admin, admin.learner_id, confirm="ana@acme.example")
    lia = lp.organizations.register_learner(admin, org.id, "Lia", "lia@example.org")
    with pytest.raises(PermissionDeniedError):
        lp.invitations.erase_learner(
            learnprog.LearnerActor(org.id, lia.id), lia.id, confirm="lia@example.org"
        )
