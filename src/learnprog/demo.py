"""``learnprog demo``: the whole job on real data, from an empty database.

Imports the OULAD subset shipped in the package (:mod:`learnprog.datasets.oulad`, with its
attribution) as one organization with one program and a licenses contract; invites a small
roster shipped in the package (with the cases real files carry: accents, a formula-like external
ID, a repeated address in another case, a bad address) and delivers the invitations; scores
skills; writes the email report zip, the gradebook of one course, the report figures and the
analytics to an output folder; and returns what to print: the summary, the usage funnel and the
top of the skill leaderboard. Running it again reuses what the first run stored (every step is
idempotent).
"""

from __future__ import annotations

import importlib.resources
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from attrs import frozen

from learnprog.bootstrap import Learnprog
from learnprog.datasets.oulad import import_oulad
from learnprog.model.access import OrgAdminActor, SystemActor
from learnprog.model.reporting import Summary, UsageFunnel
from learnprog.reports.builder import EmailReport
from learnprog.serialization import to_json_value
from learnprog.services.skills import LeaderboardRow

ORGANIZATION = "Open University (learnprog demo)"
ADMIN_NAME = "Demo Admin"
ADMIN_EMAIL = "admin@ou-demo.example"
PROGRAM_SLUG = "ou-demo"
CONTRACT = "OU licenses"
GRADEBOOK_COURSE = "AAA-2013J"


@frozen
class DemoResult:
    """What the demo made: the figures to print and the files written."""

    summary: Summary
    funnel: UsageFunnel
    email_report: EmailReport
    leaderboard: tuple[LeaderboardRow, ...]
    files: tuple[Path, ...]
    invited: int
    rejected_lines: tuple[int, ...]


def roster_path() -> Path:
    """The demo roster shipped in the package."""
    return Path(str(importlib.resources.files("learnprog.datasets") / "demo" / "roster.csv"))


def run_demo(lp: Learnprog, output: Path, *, echo: Callable[[str], None]) -> DemoResult:
    """Run the demo into ``lp`` and write its files to ``output`` (made if missing).

    Args:
        lp: a learnprog instance (the command line's: SQLite and a mail folder by default).
        output: the folder for the report zip, the gradebook and the figures.
        echo: called with a line of progress at each step.
    """
    system = SystemActor()
    orgs = [o for o in lp.organizations.list_organizations(system) if o.name == ORGANIZATION]
    if orgs:
        org = orgs[0]
    else:
        org = lp.organizations.create_organization(
            system,
            ORGANIZATION,
            email_domains=["ou-demo.example"],
            admin_name=ADMIN_NAME,
            admin_email=ADMIN_EMAIL,
        )
    admin = lp.organizations.resolve_actor(system, org.id, ADMIN_EMAIL)
    assert isinstance(admin, OrgAdminActor)
    programs = [p for p in lp.programs.list_programs(admin, org.id) if p.slug.value == PROGRAM_SLUG]
    program = programs[0] if programs else lp.programs.create_program(
        admin, org.id, "Open University modules", slug=PROGRAM_SLUG,
        tagline="Real learners of the OULAD dataset (CC BY 4.0)",
    )  # fmt: skip
    contracts = [c for c in lp.programs.list_contracts(admin, org.id) if c.name == CONTRACT]
    contract = contracts[0] if contracts else lp.programs.create_contract(
        admin, org.id, CONTRACT, kind="licenses", quantity=20_000,
        starts_at=datetime(2013, 1, 1, tzinfo=UTC), ends_at=datetime(2031, 1, 1, tzinfo=UTC),
    )  # fmt: skip

    echo("importing the OULAD subset (Kuzilek et al. 2017, CC BY 4.0) ...")
    report = import_oulad(
        lp,
        admin,
        org.id,
        program.id,
        contract.id,
        on_progress=lambda step, done: echo(f"  {step}: {done:,}") if done % 5000 == 0 else None,
    )
    echo(
        f"  {report.members.created:,} members, {report.enrollments.created:,} enrollments, "
        f"{report.attempts.attempts_added:,} attempts added"
    )
    for note in report.notes:
        echo(f"  note: {note}")

    echo("inviting the demo roster ...")
    with lp.invitations.bulk_invite(admin, program.id, contract.id, roster_path()) as run:
        results = list(run)
    invited = sum(1 for r in results if r.outcome == "created")
    rejected = tuple(r for r in results if r.outcome == "rejected")
    delivered = lp.mail.dispatch(system)
    echo(f"  {invited} invited; {delivered.sent} emails delivered")
    for r in rejected:
        echo(f"  roster line {r.line} rejected: {r.reason}")

    echo("scoring skills ...")
    scored = lp.skills.score(admin, org.id)
    echo(f"  {scored.scored:,} attempts scored, {scored.ratings:,} ratings")

    output.mkdir(parents=True, exist_ok=True)
    files = [output / "email-report.zip"]
    lp.reports.write_zip(admin, org.id, str(files[0]))
    course = next(
        c for c in lp.programs.list_courses(admin, org.id) if c.course_id == GRADEBOOK_COURSE
    )
    link = lp.reports.gradebook_link(admin, course.id, program_id=program.id)
    gradebook = output / f"gradebook-{GRADEBOOK_COURSE}.zip"
    gradebook.write_bytes(lp.reports.open_gradebook(admin, link.split("token=", 1)[1]))
    files.append(gradebook)
    email = lp.reports.email_report(admin, org.id)
    figures = output / "email-report-figures.txt"
    figures.write_text(
        "\n".join(f"{label}\t{value}" for label, value in email.figures.labelled()) + "\n",
        encoding="utf-8",
    )
    files.append(figures)
    analytics = output / "analytics.json"
    analytics.write_text(
        json.dumps(
            {
                "learner_activity": to_json_value(lp.reports.learner_activity(admin, org.id)),
                "learner_feedback": to_json_value(lp.reports.learner_feedback(admin, org.id)),
                "utilization": to_json_value(lp.reports.utilization(admin, org.id)),
                "skills_proficiency": to_json_value(lp.skills.proficiency_by_skill(admin, org.id)),
            },
            indent=2,
            ensure_ascii=False,
            default=str,  # dates (weeks, months) as ISO 8601
        )
        + "\n",
        encoding="utf-8",
    )
    files.append(analytics)
    return DemoResult(
        summary=lp.reports.summary(admin, org.id),
        funnel=lp.reports.funnel(admin, org.id),
        email_report=email,
        leaderboard=tuple(lp.skills.leaderboard(admin, org.id, limit=10)),
        files=tuple(files),
        invited=invited,
        rejected_lines=tuple(r.line for r in rejected),
    )
