"""The README's notebook example: an organization, its first admin, a program and a contract,
all on in-memory storage."""

from datetime import UTC, datetime

import learnprog

lp = learnprog.connect("memory://")
system = learnprog.SystemActor()
org = lp.organizations.create_organization(
    system,
    "Acme",
    email_domains=["acme.example"],
    admin_name="Ana Lima",
    admin_email="ana.lima@acme.example",
)
ana = lp.organizations.resolve_actor(system, org.id, "ana.lima@acme.example")
academy = lp.programs.create_program(ana, org.id, "Data Academy", tagline="Learn by doing")
lp.programs.create_contract(
    ana,
    org.id,
    "Year 1",
    kind="licenses",
    quantity=100,
    starts_at=datetime(2026, 1, 1, tzinfo=UTC),
    ends_at=datetime(2030, 1, 1, tzinfo=UTC),
)
print(academy.slug, [e.action for e in lp.audit.entries(ana, org.id)])
