"""The shared service-test world: an organization, its admin, a program and a contract."""

from __future__ import annotations

from datetime import timedelta

import learnprog
from learnprog.mail.memory import InMemoryMailer
from learnprog.model import LearnerActor, OrgAdminActor, SystemActor
from learnprog.services.invitations import InvitationResult

SYSTEM = SystemActor()


class World:
    def __init__(
        self,
        lp: learnprog.Learnprog,
        *,
        licenses: int | None = 2,
        kind: str = "licenses",
        slug: str = "academy",
    ) -> None:
        self.lp = lp
        org = lp.organizations.create_organization(
            SYSTEM,
            "Acme",
            email_domains=["acme.example"],
            admin_name="Ana",
            admin_email="ana@acme.example",
        )
        self.org = org
        admin = lp.organizations.resolve_actor(SYSTEM, org.id, "ana@acme.example")
        assert isinstance(admin, OrgAdminActor)
        self.admin = admin
        self.program = lp.programs.create_program(admin, org.id, "Academy", slug=slug)
        now = lp.context.clock.now()
        self.contract = lp.programs.create_contract(
            admin,
            org.id,
            "Year 1",
            kind=kind,
            quantity=licenses,
            starts_at=now - timedelta(days=1),
            ends_at=now + timedelta(days=365),
        )

    def invite(
        self, email: str, name: str = "Lia Learner", *, send_email: bool = True
    ) -> InvitationResult:
        return self.lp.invitations.invite(
            self.admin,
            self.program.id,
            self.contract.id,
            full_name=name,
            email=email,
            send_email=send_email,
        )

    def learner(self, email: str) -> LearnerActor:
        actor = self.lp.organizations.resolve_actor(SYSTEM, self.org.id, email)
        assert isinstance(actor, LearnerActor)
        return actor

    def accept(self, email: str) -> learnprog.model.Membership:
        return self.lp.invitations.accept_by_sign_in(self.learner(email), "academy")

    def used(self) -> int:
        (option,) = self.lp.invitations.contract_options(self.admin, self.program.id)
        return option.contract.used

    def templates(self, mailer: InMemoryMailer) -> list[str]:
        """The templates of every message delivered so far, sorted (one instant: no order)."""
        self.lp.mail.dispatch(SYSTEM)
        return sorted(str(m.template) for m in mailer.sent)
