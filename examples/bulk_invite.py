"""The README's bulk invitation example, on in-memory storage with a generated roster."""

import tempfile
from datetime import UTC, datetime
from pathlib import Path

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
academy = lp.programs.create_program(ana, org.id, "Data Academy")
lp.programs.create_contract(
    ana,
    org.id,
    "Year 1",
    kind="licenses",
    quantity=100,
    starts_at=datetime(2026, 1, 1, tzinfo=UTC),
    ends_at=datetime(2030, 1, 1, tzinfo=UTC),
)
folder = Path(tempfile.mkdtemp())
(folder / "roster.csv").write_text(
    "Full Name,Email,External ID\nStéphane Dupont,stephane@acme.example,00123\n"
    "Bo Park,,\nAna Again,ANA.LIMA@acme.example,\n",
    encoding="utf-8",
)

contract = lp.programs.list_contracts(ana, org.id)[0]
with lp.invitations.bulk_invite(
    ana, academy.id, contract.id, folder / "roster.csv", rejections_to=folder / "rejected.csv"
) as run:
    for line in run:
        print(line.line, line.outcome, line.reason or line.duplicate_of or "")
print(run.totals)
print(lp.mail.dispatch(system))
