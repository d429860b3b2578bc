"""Learning activity in (an activity CSV, the OULAD data) and the skills computed from it.

The activity CSV has one line per record (headers matched ignoring case and spaces; encoding
and delimiter told from the file):

- ``ID``: the record's ID from its source; importing a record twice stores it once;
- ``Email``: the learner's address (a learner of one of the organization's programs);
- ``Course ID``: the guide's Course ID of a catalog course;
- ``Activity``: ``started`` or ``completed`` (a course item), or ``attempt`` (an assessment);
- ``Item ID``: the course item's ID, or for an attempt the assessment's ID;
- ``Time``: when it happened, ISO 8601 (UTC when no zone is given);
- ``Grade`` (attempts only): the grade, 0-100;
- ``Banked`` (optional, attempts only): ``yes`` when carried over from an earlier attempt.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

import learnprog
from learnprog.cli._common import (
    InputPath,
    admin,
    admin_options,
    contract_by_name,
    counted,
    emit,
    escape,
    json_option,
    program_by_slug,
    progress_bar,
    session,
    stepped_progress,
)
from learnprog.csvfiles import CsvRow, read_csv
from learnprog.datasets.oulad import import_oulad
from learnprog.model.access import Actor
from learnprog.model.activity import AssessmentAttempt, EventKind, LearningEvent
from learnprog.model.identity import EmailAddress
from learnprog.model.organization import Organization
from learnprog.serialization import to_json_value
from learnprog.services.learning import IngestResult
from learnprog.services.skills import GlossaryOutcome, read_reference_group

ACTIVITY_COLUMNS = ("ID", "Email", "Course ID", "Activity", "Item ID", "Time")
ACTIVITY_OPTIONAL = ("Grade", "Banked")
ACTIVITIES = ("started", "completed", "attempt")
_NO_EVENTS = IngestResult(0, 0, 0, (), 0)
_COLUMN_OF = {"id": "ID", "grade": "Grade", "at": "Time", "submitted_at": "Time"}


@click.group("import")
def import_group() -> None:
    """Import learning activity: an activity CSV file or the OULAD learner data."""


class _RowError(Exception):
    """A line of the activity file that cannot become a record (column and reason)."""


def _record(
    row: CsvRow, learners: dict[str, str], courses: dict[str, str]
) -> LearningEvent | AssessmentAttempt:
    v = row.values
    for column in ACTIVITY_COLUMNS:
        if not v[column]:
            raise _RowError(f"{column} is blank")
    try:
        key = EmailAddress.parse(v["Email"]).key
    except learnprog.ValidationError as exc:
        raise _RowError(f"Email: {exc.reason}") from exc
    if key not in learners:
        raise _RowError(f"Email: no learner {v['Email']!r} in the organization's programs")
    if v["Course ID"] not in courses:
        raise _RowError(f"Course ID: {v['Course ID']!r} is not in the catalog")
    try:
        at = datetime.fromisoformat(v["Time"])
    except ValueError as exc:
        raise _RowError(f"Time: {v['Time']!r} is not ISO 8601") from exc
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    activity = v["Activity"].lower()
    if activity not in ACTIVITIES:
        raise _RowError(f"Activity: one of {', '.join(ACTIVITIES)} is required")
    learner_id, course_id = learners[key], courses[v["Course ID"]]
    try:
        if activity != "attempt":
            return LearningEvent(
                v["ID"], learner_id, course_id, v["Item ID"], EventKind(activity), at
            )
        try:
            grade = float(v["Grade"])
        except ValueError as exc:
            raise _RowError(f"Grade: {v['Grade']!r} is not a number 0-100") from exc
        banked = v["Banked"].lower() in ("yes", "y", "true", "1")
        return AssessmentAttempt(v["ID"], learner_id, course_id, v["Item ID"], grade, at, banked)
    except learnprog.ValidationError as exc:
        column = _COLUMN_OF.get(str(exc.field), "Item ID")
        raise _RowError(f"{column}: {exc.reason}") from exc


def _learners_by_email(lp: learnprog.Learnprog, actor: Actor, org: Organization) -> dict[str, str]:
    found: dict[str, str] = {}
    for program in lp.programs.list_programs(actor, org.id):
        for learner, _ in lp.invitations.members(actor, program.id):
            found[learner.email.key] = learner.id
    return found


@import_group.command("activity")
@click.argument("file", type=InputPath())
@admin_options
@click.option("--encoding", help="The file's encoding (default: told from the bytes).")
@click.pass_context
def import_activity(
    ctx: click.Context, file: Path, org_name: str, as_email: str, encoding: str | None
) -> None:
    """Import an activity CSV file (item events and assessment attempts; see docs/cli.md).

    Prints each line that was not stored with its reason, then the totals.
    """
    with session(ctx) as lp:
        org, actor = admin(lp, org_name, as_email)
        learners = _learners_by_email(lp, actor, org)
        courses = {c.course_id: c.id for c in lp.programs.list_courses(actor, org.id)}
        events: list[LearningEvent] = []
        attempts: list[AssessmentAttempt] = []
        lines: dict[str, list[int]] = {"events": [], "attempts": []}
        rejected: list[tuple[int, str]] = []
        with read_csv(
            file, ACTIVITY_COLUMNS, encoding=encoding, optional=ACTIVITY_OPTIONAL
        ) as rows:
            for row in rows:
                try:
                    record = _record(row, learners, courses)
                except _RowError as exc:
                    rejected.append((row.line, str(exc)))
                    continue
                if isinstance(record, LearningEvent):
                    events.append(record)
                    lines["events"].append(row.line)
                else:
                    attempts.append(record)
                    lines["attempts"].append(row.line)
        with progress_bar("activity records", len(events) + len(attempts)) as advance:
            result = lp.learning.ingest(
                actor, org.id, events=events, attempts=attempts, on_progress=advance
            )
        codes = {record_id: code for code, record_id in courses.items()}
        inputs: dict[str, list[LearningEvent] | list[AssessmentAttempt]] = {
            "events": events,
            "attempts": attempts,
        }
        for r in result.rejected:
            course = inputs[r.source][r.index].course_id  # say the Course ID, not the record ID
            reason = r.reason.replace(course, codes.get(course, course))
            rejected.append((lines[r.source][r.index], reason))
        for line, reason in sorted(rejected):
            click.echo(f"line {line}\trejected\t{escape(reason)}")
        click.echo(
            f"{counted(result.events_added, 'event')} and "
            f"{counted(result.attempts_added, 'attempt')} added, "
            f"{counted(result.duplicates, 'duplicate')}, {len(rejected)} rejected; "
            f"{counted(result.enrollments_updated, 'enrollment updated')}"
        )
        if result.outside_enrollments:
            click.echo(
                f"note: stored {counted(result.outside_enrollments, 'record')} outside every "
                "enrollment of their learner in their course; such records count toward "
                "nothing until an enrollment covering them is recorded",
                err=True,
            )


@import_group.command("oulad")
@click.argument(
    "folder",
    required=False,
    type=InputPath(folder=True),
)
@admin_options
@click.option("--program", "program_slug", required=True, help="The program students join.")
@click.option(
    "--contract",
    "contract_name",
    required=True,
    help="The contract they draw on (name or ID); 12,400 licenses for the shipped subset.",
)
@click.pass_context
def import_oulad_command(
    ctx: click.Context,
    folder: Path | None,
    org_name: str,
    as_email: str,
    program_slug: str,
    contract_name: str,
) -> None:
    """Import the OULAD learner data from FOLDER (default: the subset shipped in the package).

    The Open University Learning Analytics Dataset (Kuzilek et al. 2017, CC BY 4.0). Importing
    again changes nothing.
    """
    with session(ctx) as lp:
        org, actor = admin(lp, org_name, as_email)
        program = program_by_slug(lp, actor, org, program_slug)
        contract = contract_by_name(lp, actor, org, contract_name)
        with stepped_progress() as advance:
            report = import_oulad(
                lp, actor, org.id, program.id, contract.id, source=folder, on_progress=advance
            )
        added = (
            f"{counted(report.members.created, 'member')}, "
            f"{counted(report.enrollments.created, 'enrollment')}, "
            f"{counted(report.attempts.attempts_added, 'attempt')}"
        )
        if report.events is not None:
            added += f", {counted(report.events.events_added, 'item event', 'item events')}"
        click.echo(
            f"{counted(report.courses_created, 'course')} and "
            f"{counted(report.skills_created, 'skill')} added; {added} added"
        )
        for reason, count in sorted(report.skipped.items()):
            click.echo(f"skipped\t{count:,}\t{reason}")
        rejected: list[tuple[str, str | None]] = [
            *(("students", r.reason) for r in report.members.rejected),
            *(("registrations", r.reason) for r in report.enrollments.rejected),
            *(("scores", r.reason) for r in report.attempts.rejected),
            *(("studentVle rows", r.reason) for r in (report.events or _NO_EVENTS).rejected),
        ]
        for (what, why), count in sorted(Counter(rejected).items(), key=str):
            click.echo(f"rejected\t{count:,}\t{what}: {escape(why or '')}")
        for note in report.notes:
            click.echo(f"note: {note}")


# --- skills -------------------------------------------------------------------------------------


@click.group("skills")
def skills_group() -> None:
    """Skill scores from assessment attempts: scoring, the leaderboard, the benchmark."""


@skills_group.command("glossary")
@click.argument("file", type=InputPath())
@admin_options
@click.option("--encoding", help="The file's encoding (default: told from the bytes).")
@click.option(
    "--keep-existing",
    is_flag=True,
    help="Leave skills that exist with other details as they are (reported: differs).",
)
@click.pass_context
def skills_glossary(
    ctx: click.Context,
    file: Path,
    org_name: str,
    as_email: str,
    encoding: str | None,
    keep_existing: bool,
) -> None:
    """Load skills into the glossary from a CSV file (Domain, Skill, Definition, ...)."""
    with session(ctx) as lp:
        org, actor = admin(lp, org_name, as_email)
        result = lp.skills.import_glossary(
            actor, org.id, file, encoding=encoding, update_existing=not keep_existing
        )
        for line in result.lines:
            if line.outcome is not GlossaryOutcome.CREATED:
                click.echo(f"line {line.line}\t{line.outcome.value}\t{escape(line.message)}")
        counts = ", ".join(f"{result.count(o)} {o.value}" for o in GlossaryOutcome)
        click.echo(f"{counted(len(result.lines), 'line')}: {counts}")


@skills_group.command("list")
@admin_options
@json_option
@click.pass_context
def skills_list(ctx: click.Context, org_name: str, as_email: str, as_json: bool) -> None:
    """List the skill glossary by domain and name."""
    with session(ctx) as lp:
        org, actor = admin(lp, org_name, as_email)
        rows = [
            {"domain": s.domain, "skill": s.name, "definition": s.definition}
            for s in lp.programs.list_skills(actor, org.id)
        ]
        emit(rows, as_json, ["domain", "skill", "definition"])


@skills_group.command("score")
@admin_options
@click.option("--from-scratch", is_flag=True, help="Forget the ratings; score every attempt.")
@click.pass_context
def skills_score(ctx: click.Context, org_name: str, as_email: str, from_scratch: bool) -> None:
    """Score the assessment attempts stored since the last scoring."""
    with session(ctx) as lp:
        org, actor = admin(lp, org_name, as_email)
        with progress_bar("scoring skills"):
            report = lp.skills.score(actor, org.id, from_scratch=from_scratch)
        click.echo(
            f"{counted(report.scored, 'attempt scored')}, {report.skipped:,} skipped (no "
            f"skill); {counted(report.ratings, 'rating stored')}"
        )


def _skill_id(lp: learnprog.Learnprog, actor: Actor, org: Organization, name: str) -> str:
    for skill in lp.programs.list_skills(actor, org.id):
        if name in (skill.id, skill.name, f"{skill.domain}/{skill.name}"):
            return skill.id
    raise learnprog.NotFoundError("skill", name)


@skills_group.command("leaderboard")
@admin_options
@click.option("--skill", help="One skill: its name, or DOMAIN/NAME.")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--hide-contact", is_flag=True, help="Leave names and emails out.")
@json_option
@click.pass_context
def skills_leaderboard(
    ctx: click.Context,
    org_name: str,
    as_email: str,
    skill: str | None,
    limit: int,
    hide_contact: bool,
    as_json: bool,
) -> None:
    """Show the skill mastery leaderboard: intermediate and advanced learners, highest first."""
    with session(ctx) as lp:
        org, actor = admin(lp, org_name, as_email)
        skill_id = None if skill is None else _skill_id(lp, actor, org, skill)
        rows = [
            to_json_value(r)
            for r in lp.skills.leaderboard(
                actor, org.id, skill_id=skill_id, limit=limit, hide_contact=hide_contact
            )
        ]
        for row in rows:
            row["score"] = round(row["score"], 1)
        emit(rows, as_json, ["domain", "skill", "name", "email", "level", "score"])


@skills_group.command("benchmark")
@click.argument("reference", type=InputPath())
@admin_options
@click.option("--geography", help="Only reference companies of this geography.")
@click.option("--size", help="Only reference companies of this size.")
@click.option("--industry", help="Only reference companies of this industry.")
@json_option
@click.pass_context
def skills_benchmark(
    ctx: click.Context,
    reference: Path,
    org_name: str,
    as_email: str,
    geography: str | None,
    size: str | None,
    industry: str | None,
    as_json: bool,
) -> None:
    """Rank the organization per skill among the companies of a REFERENCE CSV file.

    The file has one line per company and skill: Company, Geography, Size, Industry, Domain,
    Skill, Score (0-500).
    """
    with session(ctx) as lp:
        org, actor = admin(lp, org_name, as_email)
        group = read_reference_group(reference).select(
            geography=geography, size=size, industry=industry
        )
        rows: list[dict[str, Any]] = []
        for r in lp.skills.industry_benchmark(actor, org.id, group):
            row = to_json_value(r)
            for key in ("score", "industry_average", "percentile"):
                row[key] = round(row[key], 1)
            rows.append(row)
        emit(
            rows,
            as_json,
            ["domain", "skill", "score", "learners", "companies", "industry_average",
             "percentile", "band"],
        )  # fmt: skip


COMMANDS = (import_group, skills_group)
"""The commands this module adds to ``learnprog``."""

__all__ = ["ACTIVITY_COLUMNS", "COMMANDS"]
