"""Reports to files and screens, and the audit log."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

import learnprog
from learnprog.cli._common import (
    OutputFile,
    admin,
    admin_options,
    contract_by_name,
    counted,
    course_by_code,
    emit,
    emit_object,
    json_default,
    json_option,
    parse_date,
    percent,
    program_by_slug,
    rate,
    session,
)
from learnprog.model.access import Actor
from learnprog.model.organization import Organization
from learnprog.serialization import to_json_value

F = TypeVar("F", bound=Callable[..., Any])
OUTPUT = OutputFile()


@click.group("report")
def report_group() -> None:
    """Reports: the home page's figures, the CSV reports, the gradebook, analytics."""


def _programs(command: F) -> F:
    command = click.option(
        "--program",
        "program_slugs",
        multiple=True,
        help="Only this program (URL slug; repeatable). Default: every program the admin sees.",
    )(command)
    return admin_options(command)


def _scope(
    lp: learnprog.Learnprog, actor: Actor, org: Organization, slugs: tuple[str, ...]
) -> list[str] | None:
    return [program_by_slug(lp, actor, org, s).id for s in slugs] or None


def _write_json(path: Path, value: Any) -> None:
    text = json.dumps(value, indent=2, ensure_ascii=False, default=json_default)
    path.write_text(text + "\n", encoding="utf-8")


@report_group.command("summary")
@_programs
@click.option("--output", type=OUTPUT, help="Also write the figures to this JSON file.")
@json_option
@click.pass_context
def report_summary(
    ctx: click.Context,
    org_name: str,
    as_email: str,
    program_slugs: tuple[str, ...],
    output: Path | None,
    as_json: bool,
) -> None:
    """Print the summary: enrollments, learning hours, lessons taken (changes over 28 days)."""
    with session(ctx) as lp:
        org, actor = admin(lp, org_name, as_email)
        summary = to_json_value(
            lp.reports.summary(actor, org.id, program_ids=_scope(lp, actor, org, program_slugs))
        )
        if output is not None:
            _write_json(output, summary)
        emit_object(summary, as_json)


@report_group.command("funnel")
@_programs
@click.option("--output", type=OUTPUT, help="Also write the figures to this JSON file.")
@json_option
@click.pass_context
def report_funnel(
    ctx: click.Context,
    org_name: str,
    as_email: str,
    program_slugs: tuple[str, ...],
    output: Path | None,
    as_json: bool,
) -> None:
    """Print the usage funnel: invitations sent, joined, enrolled, with rates in percent."""
    with session(ctx) as lp:
        org, actor = admin(lp, org_name, as_email)
        funnel = lp.reports.funnel(actor, org.id, program_ids=_scope(lp, actor, org, program_slugs))
        figures = to_json_value(funnel)
        for key in ("join_rate", "enroll_rate"):
            figures[key] = rate(figures[key])
        if output is not None:
            _write_json(output, figures)
        if as_json:
            emit_object(figures, True)
            return
        click.echo(f"invitations sent\t{funnel.invitations_sent}")
        click.echo(f"joined\t{funnel.joined}\t{percent(funnel.join_rate)}")
        click.echo(f"enrolled\t{funnel.enrolled}\t{percent(funnel.enroll_rate)}")


@report_group.command("email-zip")
@_programs
@click.option(
    "--output", type=OUTPUT, default=Path("email-report.zip"), show_default=True, help="The zip."
)
@click.option("--figures", type=OUTPUT, help="Also write the email report's figures (text).")
@click.option("--excel", is_flag=True, help="Write the CSVs with a byte-order mark, for Excel.")
@click.pass_context
def report_email_zip(
    ctx: click.Context,
    org_name: str,
    as_email: str,
    program_slugs: tuple[str, ...],
    output: Path,
    figures: Path | None,
    excel: bool,
) -> None:
    """Write the email report's zip of the three CSV reports (and its figures with --figures)."""
    with session(ctx) as lp:
        org, actor = admin(lp, org_name, as_email)
        scope = _scope(lp, actor, org, program_slugs)
        names = lp.reports.write_zip(actor, org.id, str(output), program_ids=scope, excel=excel)
        click.echo(f"{output}: {', '.join(names)}")
        if figures is not None:
            email = lp.reports.email_report(actor, org.id, program_ids=scope)
            lines = [f"{label}\t{value}" for label, value in email.figures.labelled()]
            figures.write_text("\n".join(lines) + "\n", encoding="utf-8")
            click.echo(f"{figures}: {counted(len(lines), 'figure')}")


def _csv_report(name: str, method: str, default: str, title: str) -> click.Command:
    @click.command(name)
    @_programs
    @click.option("--output", type=OUTPUT, default=Path(default), show_default=True)
    @click.option("--excel", is_flag=True, help="Write a byte-order mark, for Excel.")
    @click.pass_context
    def command(
        ctx: click.Context,
        org_name: str,
        as_email: str,
        program_slugs: tuple[str, ...],
        output: Path,
        excel: bool,
    ) -> None:
        with session(ctx) as lp:
            org, actor = admin(lp, org_name, as_email)
            scope = _scope(lp, actor, org, program_slugs)
            report = getattr(lp.reports, method)(actor, org.id, program_ids=scope)
            with output.open("w", encoding="utf-8", newline="") as handle:
                rows = report.write_csv(handle, excel=excel)
            click.echo(f"{output}: {counted(rows, 'row')}")

    command.help = f"Write the {title} as CSV (see docs/reports.md for its columns)."
    return command


report_group.add_command(_csv_report("usage", "usage_report", "usage-report.csv", "Usage Report"))
report_group.add_command(
    _csv_report("members", "membership_report", "member-report.csv", "Membership Report")
)
report_group.add_command(
    _csv_report(
        "specializations",
        "specialization_report",
        "specialization-report.csv",
        "Specialization Report",
    )
)


@report_group.command("gradebook")
@click.argument("course")
@admin_options
@click.option("--program", "program_slug", help="Only this program's learners (URL slug).")
@click.option("--output", type=OUTPUT, help="The zip (default: gradebook-COURSE.zip).")
@click.pass_context
def report_gradebook(
    ctx: click.Context,
    course: str,
    org_name: str,
    as_email: str,
    program_slug: str | None,
    output: Path | None,
) -> None:
    """Write the gradebook zip of COURSE (Course ID): attempts and best grades per learner."""
    target = output or Path(f"gradebook-{course}.zip")
    with session(ctx) as lp:
        org, actor = admin(lp, org_name, as_email)
        found = course_by_code(lp, actor, org, course)
        program_id = (
            None if program_slug is None else program_by_slug(lp, actor, org, program_slug).id
        )
        link = lp.reports.gradebook_link(actor, found.id, program_id=program_id)
        target.write_bytes(lp.reports.open_gradebook(actor, link.split("token=", 1)[1]))
        click.echo(str(target))


@report_group.command("analytics")
@_programs
@click.option(
    "--contract", "contract_names", multiple=True, help="Only this contract (repeatable)."
)
@click.option("--start", help="Count from this date, ISO 8601 (UTC if no zone).")
@click.option("--end", help="Count before this date, ISO 8601 (UTC if no zone).")
@click.option(
    "--output", type=OUTPUT, default=Path("analytics.json"), show_default=True, help="JSON file."
)
@click.pass_context
def report_analytics(
    ctx: click.Context,
    org_name: str,
    as_email: str,
    program_slugs: tuple[str, ...],
    contract_names: tuple[str, ...],
    start: str | None,
    end: str | None,
    output: Path,
) -> None:
    """Write the analytics (activity, feedback, utilization, skills proficiency) as JSON."""
    bounds = {
        "start": None if start is None else parse_date(start, "--start"),
        "end": None if end is None else parse_date(end, "--end"),
    }
    with session(ctx) as lp:
        org, actor = admin(lp, org_name, as_email)
        scope: dict[str, Any] = {
            "program_ids": _scope(lp, actor, org, program_slugs),
            "contract_ids": [contract_by_name(lp, actor, org, c).id for c in contract_names]
            or None,
            **bounds,
        }
        analytics = {
            "learner_activity": to_json_value(lp.reports.learner_activity(actor, org.id, **scope)),
            "learner_feedback": to_json_value(lp.reports.learner_feedback(actor, org.id, **scope)),
            "utilization": to_json_value(lp.reports.utilization(actor, org.id, **scope)),
            "skills_proficiency": to_json_value(lp.skills.proficiency_by_skill(actor, org.id)),
        }
        _write_json(output, analytics)
        click.echo(str(output))


@click.command("audit")
@admin_options
@click.option("--program", "program_slug", help="Only this program's entries (its URL slug).")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@json_option
@click.pass_context
def audit(
    ctx: click.Context,
    org_name: str,
    as_email: str,
    program_slug: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Show the audit log, newest first (a program admin names one of their programs)."""
    with session(ctx) as lp:
        org, actor = admin(lp, org_name, as_email)
        program_id = None
        if program_slug is not None:
            program_id = program_by_slug(lp, actor, org, program_slug).id
        rows = [
            to_json_value(e)
            for e in lp.audit.entries(actor, org.id, program_id=program_id, limit=limit)
        ]
        emit(rows, as_json, ["at", "actor", "action", "object_type", "object_id"])


COMMANDS = (report_group, audit)
"""The commands this module adds to ``learnprog``."""
