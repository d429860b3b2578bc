"""Setting up: the organization, its admins, programs, contracts, the catalog, the curriculum."""

from __future__ import annotations

import csv
from pathlib import Path

import click

import learnprog
from learnprog.cli._common import (
    InputPath,
    admin,
    admin_options,
    count_lines,
    counted,
    course_by_code,
    echo_line_result,
    emit,
    escape,
    field_options,
    json_option,
    parse_date,
    program_by_slug,
    progress_bar,
    session,
)
from learnprog.model.access import AdminRole, SystemActor
from learnprog.model.catalog import Assessment, CollectionEntry, CourseItem, ItemKind
from learnprog.serialization import to_json_value

CSV_FILE = InputPath()


@field_options(full_name="--admin-name", email="--admin-email")
@click.command("init")
@click.argument("name")
@click.option(
    "--domain",
    "email_domains",
    multiple=True,
    required=True,
    help="An email domain of the organization (repeatable).",
)
@click.option("--admin-name", required=True, help="The first organization admin's full name.")
@click.option("--admin-email", required=True, help="The first admin's address, on a domain.")
@click.option("--timezone", default="UTC", show_default=True)
@click.pass_context
def init(
    ctx: click.Context,
    name: str,
    email_domains: tuple[str, ...],
    admin_name: str,
    admin_email: str,
    timezone: str,
) -> None:
    """Create an organization and its first organization admin (all or nothing)."""
    system = SystemActor()
    with session(ctx, create=True) as lp:
        org = lp.organizations.create_organization(
            system,
            name,
            email_domains=email_domains,
            timezone=timezone,
            admin_name=admin_name,
            admin_email=admin_email,
            unique_name=True,  # --org finds it by name: two inits at once make one
        )
        click.echo(f"organization {org.name!r} created ({org.id}); admin {admin_email}")


# --- admins -------------------------------------------------------------------------------------


@click.group("admin")
def admin_group() -> None:
    """Organization and program admins."""


@admin_group.command("add")
@click.argument("email")
@admin_options
@click.option(
    "--program",
    "program_slugs",
    multiple=True,
    help="Make a program admin of this program (URL slug; repeatable). "
    "Without it: an organization admin.",
)
@click.option(
    "--name",
    "full_name",
    help="Register the account with this name first, if the address has none yet.",
)
@click.pass_context
def admin_add(
    ctx: click.Context,
    email: str,
    org_name: str,
    as_email: str,
    program_slugs: tuple[str, ...],
    full_name: str | None,
) -> None:
    """Make the account EMAIL an organization admin, or a program admin with --program."""
    with session(ctx) as lp:
        org, actor = admin(lp, org_name, as_email)
        program_ids = [program_by_slug(lp, actor, org, s).id for s in program_slugs]
        if full_name is not None and not _has_account(lp, org.id, email):
            lp.organizations.register_learner(actor, org.id, full_name, email)
        grants = lp.organizations.add_admin(
            actor,
            org.id,
            email,
            role=AdminRole.PROGRAM if program_ids else AdminRole.ORGANIZATION,
            program_ids=program_ids,
        )
        if program_ids:
            click.echo(f"{email} is now an admin of programs {', '.join(program_slugs)}")
        else:
            click.echo(f"{email} is now an organization admin ({counted(len(grants), 'grant')})")


def _has_account(lp: learnprog.Learnprog, organization_id: str, email: str) -> bool:
    try:
        lp.organizations.resolve_actor(SystemActor(), organization_id, email)
    except learnprog.NotFoundError:
        return False
    return True


@admin_group.command("list")
@admin_options
@json_option
@click.pass_context
def admin_list(ctx: click.Context, org_name: str, as_email: str, as_json: bool) -> None:
    """List the admins: email, name, role and program."""
    with session(ctx) as lp:
        org, actor = admin(lp, org_name, as_email)
        slugs = {p.id: p.slug.value for p in lp.programs.list_programs(actor, org.id)}
        rows = []
        for grant in lp.organizations.list_admins(actor, org.id):
            person = lp.invitations.get_learner(actor, grant.learner_id)
            rows.append(
                {
                    "email": person.email.address,
                    "name": person.full_name,
                    "role": grant.role.value,
                    "program": None if grant.program_id is None else slugs.get(grant.program_id),
                    "granted_at": to_json_value(grant)["granted_at"],
                }
            )
        emit(rows, as_json, ["email", "name", "role", "program", "granted_at"])


# --- programs -----------------------------------------------------------------------------------


@click.group("program")
def program_group() -> None:
    """Programs."""


@program_group.command("create")
@click.argument("name")
@admin_options
@click.option("--tagline")
@click.option("--slug", help="The URL slug (default: made from the name).")
@click.option("--course-enrollment-limit", type=int)
@click.pass_context
def program_create(
    ctx: click.Context,
    name: str,
    org_name: str,
    as_email: str,
    tagline: str | None,
    slug: str | None,
    course_enrollment_limit: int | None,
) -> None:
    """Create a program."""
    with session(ctx) as lp:
        org, actor = admin(lp, org_name, as_email)
        created = lp.programs.create_program(
            actor,
            org.id,
            name,
            tagline=tagline,
            slug=slug,
            course_enrollment_limit=course_enrollment_limit,
        )
        click.echo(f"program {created.name!r} created; URL slug {created.slug}")


@program_group.command("list")
@admin_options
@json_option
@click.pass_context
def program_list(ctx: click.Context, org_name: str, as_email: str, as_json: bool) -> None:
    """List the programs the admin sees."""
    with session(ctx) as lp:
        org, actor = admin(lp, org_name, as_email)
        rows = [to_json_value(p) for p in lp.programs.list_programs(actor, org.id)]
        emit(rows, as_json, ["slug", "name", "tagline"])


# --- contracts ----------------------------------------------------------------------------------


@click.group("contract")
def contract_group() -> None:
    """Contracts."""


@contract_group.command("create")
@click.argument("name")
@admin_options
@click.option("--kind", type=click.Choice(["licenses", "enrollments", "unlimited"]), required=True)
@click.option("--quantity", type=int, help="Licenses or enrollments (not for unlimited).")
@click.option(
    "--starts-at", "--starts", "starts_at", required=True, help="Start, ISO 8601 (UTC if no zone)."
)
@click.option(
    "--ends-at", "--ends", "ends_at", required=True, help="End, ISO 8601 (UTC if no zone)."
)
@click.pass_context
def contract_create(
    ctx: click.Context,
    name: str,
    org_name: str,
    as_email: str,
    kind: str,
    quantity: int | None,
    starts_at: str,
    ends_at: str,
) -> None:
    """Create a contract (--starts and --ends are the older names of --starts-at, --ends-at)."""
    starts = parse_date(starts_at, "--starts-at")
    ends = parse_date(ends_at, "--ends-at")
    with session(ctx) as lp:
        org, actor = admin(lp, org_name, as_email)
        created = lp.programs.create_contract(
            actor, org.id, name, kind=kind, quantity=quantity, starts_at=starts, ends_at=ends
        )
        click.echo(f"contract {created.name!r} created ({created.kind.value})")


@contract_group.command("list")
@admin_options
@json_option
@click.pass_context
def contract_list(ctx: click.Context, org_name: str, as_email: str, as_json: bool) -> None:
    """List contracts with their type, remaining count, start and end."""
    with session(ctx) as lp:
        org, actor = admin(lp, org_name, as_email)
        rows = []
        for c in lp.programs.list_contracts(actor, org.id):
            row = to_json_value(c)
            row["remaining"] = c.remaining
            rows.append(row)
        emit(rows, as_json, ["name", "kind", "remaining", "starts_at", "ends_at"])


# --- the catalog --------------------------------------------------------------------------------


@click.group("course")
def course_group() -> None:
    """The organization's course catalog."""


@course_group.command("add")
@click.argument("course_id")
@admin_options
@click.option("--slug", required=True, help="The Course Slug, unique in the catalog.")
@click.option("--name", required=True, help="The course name.")
@click.option("--partner", help="The authoring partner (the reports' University).")
@click.option("--class-start", help="Class start, ISO 8601 (UTC if no zone).")
@click.option("--class-end", help="Class end, ISO 8601 (UTC if no zone).")
@click.option(
    "--item",
    "item_specs",
    multiple=True,
    metavar="ID,KIND,LESSON[,NAME]",
    help=f"A course item, in order (repeatable); KIND is one of {', '.join(ItemKind)}.",
)
@click.option(
    "--assessment",
    "assessment_specs",
    multiple=True,
    metavar="ID,NAME[,SKILLS[,PASS_MARK]]",
    help="A graded, required assessment (repeatable); SKILLS are DOMAIN/NAME of the glossary, "
    "separated by ';'; PASS_MARK 0-100 (default 80).",
)
@click.pass_context
def course_add(
    ctx: click.Context,
    course_id: str,
    org_name: str,
    as_email: str,
    slug: str,
    name: str,
    partner: str | None,
    class_start: str | None,
    class_end: str | None,
    item_specs: tuple[str, ...],
    assessment_specs: tuple[str, ...],
) -> None:
    """Add the course COURSE_ID (the guide's Course ID) to the catalog."""
    start = None if class_start is None else parse_date(class_start, "--class-start")
    end = None if class_end is None else parse_date(class_end, "--class-end")
    items = [_item(spec, position) for position, spec in enumerate(item_specs)]
    with session(ctx) as lp:
        org, actor = admin(lp, org_name, as_email)
        skills = {f"{s.domain}/{s.name}": s.id for s in lp.programs.list_skills(actor, org.id)}
        course = lp.programs.add_course(
            actor,
            org.id,
            course_id=course_id,
            slug=slug,
            name=name,
            partner=partner,
            class_start=start,
            class_end=end,
            items=items,
            assessments=[_assessment(spec, skills) for spec in assessment_specs],
        )
        click.echo(
            f"course {course.course_id} {course.name!r} added to the catalog "
            f"({counted(len(course.items), 'item')}, "
            f"{counted(len(course.assessments), 'assessment')})"
        )


def _fields(spec: str, option: str, least: int, most: int) -> list[str]:
    """Split an option's comma-separated value (CSV quoting allowed); a usage error if malformed."""
    try:
        cells = [c.strip() for c in next(csv.reader([spec]), [])]
    except csv.Error as exc:  # a cell past the csv module's field limit
        raise click.BadParameter(f"cannot be read as CSV: {exc}", param_hint=f"'{option}'") from exc
    if not least <= len(cells) <= most or not all(cells[:least]):
        raise click.BadParameter(
            f"{spec!r} does not have {least} to {most} comma-separated values",
            param_hint=f"'{option}'",
        )
    return cells


def _item(spec: str, position: int) -> CourseItem:
    cells = _fields(spec, "--item", 3, 4)
    item_id, kind, lesson = cells[:3]
    if kind not in set(ItemKind):
        raise click.BadParameter(
            f"{kind!r} is not one of {', '.join(ItemKind)}", param_hint="'--item'"
        )
    name = cells[3] if len(cells) == 4 and cells[3] else item_id
    try:
        return CourseItem.create(name, id=item_id, kind=kind, lesson=lesson, position=position)
    except learnprog.ValidationError as exc:
        raise click.BadParameter(f"{spec!r}: {exc.reason}", param_hint="'--item'") from exc


def _assessment(spec: str, skills: dict[str, str]) -> Assessment:
    cells = _fields(spec, "--assessment", 2, 4)
    wanted = [s.strip() for s in (cells[2] if len(cells) > 2 else "").split(";") if s.strip()]
    unknown = [s for s in wanted if s not in skills]
    if unknown:
        raise learnprog.ValidationError(
            f"{spec!r}: not in the skill glossary: {', '.join(unknown)}", field="assessment_specs"
        )
    try:
        pass_mark = float(cells[3]) if len(cells) > 3 and cells[3] else 80.0
        return Assessment.create(
            cells[1], id=cells[0], pass_mark=pass_mark, skill_ids=[skills[s] for s in wanted]
        )
    except ValueError as exc:  # a ValidationError, or a pass mark that is not a number
        reason = exc.reason if isinstance(exc, learnprog.ValidationError) else "bad pass mark"
        raise learnprog.ValidationError(f"{spec!r}: {reason}", field="assessment_specs") from exc


@course_group.command("import")
@click.argument("file", type=CSV_FILE)
@admin_options
@click.option("--encoding", help="The file's encoding (default: told from the bytes).")
@click.option("--dry-run", is_flag=True, help="Report what would happen; change nothing.")
@click.pass_context
def course_import(
    ctx: click.Context,
    file: Path,
    org_name: str,
    as_email: str,
    encoding: str | None,
    dry_run: bool,
) -> None:
    """Add the courses of a CSV file (Course ID, Course Slug, Course, ...) to the catalog.

    Prints each line that was not created with its outcome, then the totals.
    """
    with session(ctx) as lp, progress_bar("courses", count_lines(file)) as advance:
        org, actor = admin(lp, org_name, as_email)
        with lp.curriculum.import_courses(
            actor, org.id, file, encoding=encoding, dry_run=dry_run, progress=advance
        ) as run:
            for result in run:
                if result.outcome != "created":
                    echo_line_result(
                        result.line,
                        result.outcome,
                        reason=result.reason,
                        duplicate_of=result.duplicate_of,
                    )
        t = run.totals
        click.echo(
            f"{'dry run: ' if dry_run else ''}{counted(t.lines, 'line')}: {t.created} created, "
            f"{t.already_in_catalog} already in the catalog, {t.duplicate} duplicate, "
            f"{t.rejected} rejected"
        )


@course_group.command("list")
@admin_options
@json_option
@click.pass_context
def course_list(ctx: click.Context, org_name: str, as_email: str, as_json: bool) -> None:
    """List the catalog's courses, by name."""
    with session(ctx) as lp:
        org, actor = admin(lp, org_name, as_email)
        rows = [
            {
                "course_id": c.course_id,
                "slug": c.slug,
                "name": c.name,
                "partner": c.partner,
                "items": len(c.items),
                "assessments": len(c.assessments),
            }
            for c in lp.programs.list_courses(actor, org.id)
        ]
        emit(rows, as_json, ["course_id", "slug", "name", "partner", "items", "assessments"])


@click.group("specialization")
def specialization_group() -> None:
    """The catalog's specializations."""


@specialization_group.command("import")
@click.argument("file", type=CSV_FILE)
@admin_options
@click.option("--encoding", help="The file's encoding (default: told from the bytes).")
@click.pass_context
def specialization_import(
    ctx: click.Context, file: Path, org_name: str, as_email: str, encoding: str | None
) -> None:
    """Add specializations from a CSV file (Specialization Slug, Specialization, Course IDs)."""
    with session(ctx) as lp:
        org, actor = admin(lp, org_name, as_email)
        results = lp.programs.import_specializations(actor, org.id, file, encoding=encoding)
        counts = {"created": 0, "already_in_catalog": 0, "rejected": 0}
        for r in results:
            counts[r.outcome] += 1
            if r.outcome != "created":
                click.echo(f"line {r.line}\t{r.outcome}\t{escape(r.reason)}")
        click.echo(
            f"{counted(len(results), 'line')}: {counts['created']} created, "
            f"{counts['already_in_catalog']} already in the catalog, "
            f"{counts['rejected']} rejected"
        )


@specialization_group.command("list")
@admin_options
@json_option
@click.pass_context
def specialization_list(ctx: click.Context, org_name: str, as_email: str, as_json: bool) -> None:
    """List the catalog's specializations with their courses."""
    with session(ctx) as lp:
        org, actor = admin(lp, org_name, as_email)
        codes = {c.id: c.course_id for c in lp.programs.list_courses(actor, org.id)}
        rows = [
            {
                "slug": s.slug,
                "name": s.name,
                "courses": ";".join(codes.get(c, c) for c in s.course_ids),
            }
            for s in lp.programs.list_specializations(actor, org.id)
        ]
        emit(rows, as_json, ["slug", "name", "courses"])


# --- the curriculum -----------------------------------------------------------------------------


@click.group("collection")
def collection_group() -> None:
    """A program's curriculum: its collections of courses and specializations."""


@collection_group.command("create")
@click.argument("name")
@admin_options
@click.option("--program", "program_slug", required=True, help="The program's URL slug.")
@click.option("--description")
@click.pass_context
def collection_create(
    ctx: click.Context,
    name: str,
    org_name: str,
    as_email: str,
    program_slug: str,
    description: str | None,
) -> None:
    """Create the collection NAME at the end of the program's curriculum."""
    with session(ctx) as lp:
        org, actor = admin(lp, org_name, as_email)
        program = program_by_slug(lp, actor, org, program_slug)
        created = lp.curriculum.create_collection(actor, program.id, name, description=description)
        click.echo(f"collection {created.name!r} created in {program_slug}")


@collection_group.command("add")
@click.argument("collection")
@admin_options
@click.option("--program", "program_slug", required=True, help="The program's URL slug.")
@click.option("--course", "courses", multiple=True, help="A Course ID or slug (repeatable).")
@click.option(
    "--specialization", "specializations", multiple=True, help="A specialization slug (repeatable)."
)
@click.pass_context
def collection_add(
    ctx: click.Context,
    collection: str,
    org_name: str,
    as_email: str,
    program_slug: str,
    courses: tuple[str, ...],
    specializations: tuple[str, ...],
) -> None:
    """Add catalog courses and specializations to the program's collection COLLECTION (name)."""
    if not courses and not specializations:
        raise click.UsageError("give at least one --course or --specialization")
    with session(ctx) as lp:
        org, actor = admin(lp, org_name, as_email)
        program = program_by_slug(lp, actor, org, program_slug)
        target = next(
            (
                c
                for c in lp.curriculum.list_collections(actor, program.id)
                if collection in (c.id, c.name)
            ),
            None,
        )
        if target is None:
            raise learnprog.NotFoundError("collection", collection)
        entries = [CollectionEntry.course(course_by_code(lp, actor, org, c).id) for c in courses]
        specs = {s.slug: s for s in lp.programs.list_specializations(actor, org.id)}
        for slug in specializations:
            if slug not in specs:
                raise learnprog.NotFoundError("specialization", slug)
            entries.append(CollectionEntry.specialization(specs[slug].id))
        lp.curriculum.add_entries(actor, program.id, [target.id], entries)
        click.echo(f"{counted(len(entries), 'entry', 'entries')} added to {target.name!r}")


@collection_group.command("list")
@admin_options
@click.option("--program", "program_slug", required=True, help="The program's URL slug.")
@json_option
@click.pass_context
def collection_list(
    ctx: click.Context, org_name: str, as_email: str, program_slug: str, as_json: bool
) -> None:
    """List the program's collections in order, with their entries."""
    with session(ctx) as lp:
        org, actor = admin(lp, org_name, as_email)
        program = program_by_slug(lp, actor, org, program_slug)
        names = {c.id: c.course_id for c in lp.programs.list_courses(actor, org.id)}
        names.update({s.id: s.slug for s in lp.programs.list_specializations(actor, org.id)})
        rows = [
            {
                "name": c.name,
                "description": c.description,
                "entries": ";".join(names.get(e.target_id, e.target_id) for e in c.entries),
            }
            for c in lp.curriculum.list_collections(actor, program.id)
        ]
        emit(rows, as_json, ["name", "entries", "description"])


COMMANDS = (
    init,
    admin_group,
    program_group,
    contract_group,
    course_group,
    specialization_group,
    collection_group,
)
"""The commands this module adds to ``learnprog``."""
