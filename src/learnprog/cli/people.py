"""Inviting learners, one or a roster, the Members page, and the learner's own steps.

A learner's steps (accepting an invitation, enrolling) belong to the host app, where the
person signs in; ``accept`` and ``enroll`` let a command-line session take them too.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import click

import learnprog
from learnprog.cli._common import (
    InputPath,
    OutputFile,
    admin,
    admin_options,
    contract_by_name,
    count_lines,
    counted,
    echo_line_result,
    emit,
    fail,
    field_options,
    json_option,
    org_by_name,
    program_by_slug,
    progress_bar,
    session,
)
from learnprog.model.access import Actor, LearnerActor, SystemActor
from learnprog.model.catalog import EntryKind
from learnprog.model.learner import MemberState
from learnprog.serialization import to_json_value

_PROGRAM = click.option("--program", "program_slug", required=True, help="The program's URL slug.")
_CONTRACT = click.option(
    "--contract", "contract_name", required=True, help="The contract to draw on (name or ID)."
)
_NO_EMAIL = click.option(
    "--no-email", is_flag=True, help="Create the invitation without queueing the email."
)


@click.command("invite")
@admin_options
@_PROGRAM
@_CONTRACT
@click.option("--name", "full_name", required=True, help="The learner's full name.")
@click.option("--email", required=True, help="The learner's address.")
@click.option("--external-id", help="The organization's own ID for the person.")
@_NO_EMAIL
@click.option("--dry-run", is_flag=True, help="Show what would happen; change nothing.")
@click.pass_context
def invite(
    ctx: click.Context,
    org_name: str,
    as_email: str,
    program_slug: str,
    contract_name: str,
    full_name: str,
    email: str,
    external_id: str | None,
    no_email: bool,
    dry_run: bool,
) -> None:
    """Invite one learner to a program (the email goes out with `mail deliver`)."""
    with session(ctx) as lp:
        org, actor = admin(lp, org_name, as_email)
        program = program_by_slug(lp, actor, org, program_slug)
        contract = contract_by_name(lp, actor, org, contract_name)
        call = lp.invitations.preview_invitation if dry_run else lp.invitations.invite
        result = call(
            actor,
            program.id,
            contract.id,
            full_name=full_name,
            email=email,
            external_id=external_id,
            send_email=not no_email,
        )
        prefix = "dry run, nothing changed: " if dry_run else ""
        if result.email_queued:
            mail = "email would be queued" if dry_run else "email queued"
        else:
            mail = result.skipped_reason or "no email"
        click.echo(
            f"{prefix}{result.outcome.value}: {result.learner.full_name} "
            f"<{result.learner.email.address}> in {program.slug} on {contract.name!r} ({mail})"
        )


@field_options(rejections_to="--rejections")
@click.command("invite-roster")
@click.argument("file", type=InputPath())
@admin_options
@_PROGRAM
@_CONTRACT
@_NO_EMAIL
@click.option("--dry-run", is_flag=True, help="Report what would happen; change nothing.")
@click.option(
    "--rejections",
    type=OutputFile(),
    help="Write the rejected lines, with their line numbers and reasons, to this CSV file.",
)
@click.option("--encoding", help="The file's encoding (default: told from the bytes).")
@click.pass_context
def invite_roster(
    ctx: click.Context,
    file: Path,
    org_name: str,
    as_email: str,
    program_slug: str,
    contract_name: str,
    no_email: bool,
    dry_run: bool,
    rejections: Path | None,
    encoding: str | None,
) -> None:
    """Invite everyone in a roster CSV file (Full Name, Email, External ID).

    Prints each line that was not created (rejected, duplicate, already invited, ...) and then
    the totals.
    """
    with session(ctx) as lp, progress_bar("invitations", count_lines(file)) as advance:
        org, actor = admin(lp, org_name, as_email)
        program = program_by_slug(lp, actor, org, program_slug)
        contract = contract_by_name(lp, actor, org, contract_name)
        with lp.invitations.bulk_invite(
            actor,
            program.id,
            contract.id,
            file,
            encoding=encoding,
            send_email=not no_email,
            dry_run=dry_run,
            rejections_to=rejections,
            progress=advance,
        ) as run:
            for line in run:
                if line.outcome != "created":
                    echo_line_result(
                        line.line,
                        line.outcome,
                        line.email,
                        reason=line.reason,
                        duplicate_of=line.duplicate_of,
                    )
        t = run.totals
        click.echo(
            f"{'dry run, nothing changed: ' if dry_run else ''}{counted(t.lines, 'line')}: "
            f"{t.created} invited, {t.reinvited} re-invited, {t.already_invited} already "
            f"invited, {counted(t.already_member, 'already a member', 'already members')}, "
            f"{t.duplicate} duplicate, {t.rejected} rejected; "
            f"{counted(t.emails_queued, 'email queued')}"
        )


@click.group("members")
def members_group() -> None:
    """A program's members (the Members page)."""


@members_group.command("list")
@admin_options
@_PROGRAM
@click.option("--search", help="A piece of the name or email (any case).")
@click.option(
    "--state", type=click.Choice(["INVITED", "MEMBER", "DELETED_MEMBER"], case_sensitive=False)
)
@click.option(
    "--status",
    type=click.Choice(["no_enrollment", "enrolled", "completed", "inactive", "at_risk"]),
)
@click.option("--contract", "contract_name", help="Only memberships on this contract.")
@click.option(
    "--order",
    type=click.Choice(["name", "email", "invited_at", "joined_at", "last_activity", "enrollments"]),
    default="name",
    show_default=True,
)
@click.option("--descending", is_flag=True, help="Reverse the order.")
@click.option("--offset", type=click.IntRange(0), default=0, show_default=True)
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@json_option
@click.pass_context
def members_list(
    ctx: click.Context,
    org_name: str,
    as_email: str,
    program_slug: str,
    search: str | None,
    state: str | None,
    status: str | None,
    contract_name: str | None,
    order: str,
    descending: bool,
    offset: int,
    limit: int,
    as_json: bool,
) -> None:
    """List one page of a program's members with their status."""
    with session(ctx) as lp:
        org, actor = admin(lp, org_name, as_email)
        program = program_by_slug(lp, actor, org, program_slug)
        contract_id = (
            None if contract_name is None else contract_by_name(lp, actor, org, contract_name).id
        )
        page = lp.learning.members_list(
            actor,
            program.id,
            search=search,
            state=None if state is None else state.upper(),
            status=status,
            contract_id=contract_id,
            order=order,
            descending=descending,
            offset=offset,
            limit=limit,
        )
        rows = []
        for row in page.rows:
            membership = to_json_value(row.membership)
            rows.append(
                {
                    "name": row.learner.full_name,
                    "email": row.learner.email.address,
                    "external_id": row.learner.external_id,
                    "state": row.membership.state.value,
                    "status": row.status.label,
                    "flags": row.status.flags,
                    "enrollments": row.status.enrollments,
                    "completions": row.status.completions,
                    "last_activity_at": to_json_value(row.status)["last_activity_at"],
                    "inactive": row.status.inactive,
                    "at_risk": row.status.at_risk,
                    "invited_at": membership.get("invited_at"),
                    "joined_at": membership.get("joined_at"),
                }
            )
        emit(
            rows,
            as_json,
            ["name", "email", "external_id", "state", "status", "flags", "last_activity_at"],
        )
        if not as_json:
            click.echo(f"-- {len(rows)} of {page.total} (offset {offset})", err=True)


# --- the learner's own steps --------------------------------------------------------------------


def _token(link: str) -> str:
    """The token of an acceptance link (``.../accept?token=...``), or ``link`` itself."""
    if "token=" not in link:
        return link.strip()
    try:
        query = urlsplit(link.strip()).query
    except ValueError:  # not a URL (a broken IPv6 host): urlsplit raises, parse_qs never sees it
        return ""  # verified as a token, so refused as "the link is not valid"
    tokens = parse_qs(query).get("token", [])
    return tokens[0] if tokens else ""


@field_options(token="LINK")
@click.command("accept")
@click.argument("link")
@click.pass_context
def accept(ctx: click.Context, link: str) -> None:
    """Accept an invitation as the learner it was sent to.

    LINK is the acceptance link of the Invitation email (https://.../accept?token=...) or its
    token; holding it stands for the learner's sign-in. The learner becomes a MEMBER (on a
    licenses contract, taking a license) and the welcome email is queued.
    """
    token = _token(link)
    system = SystemActor()
    with session(ctx) as lp:
        holder = lp.invitations.link_holder(system, token)
        email = holder.learner.email.address
        learner = lp.organizations.resolve_actor(
            system, holder.membership.organization_id, email, as_learner=True
        )
        before = holder.membership.state
        membership = lp.invitations.accept(learner, token)
        slug = holder.program.slug.value
        if before is MemberState.MEMBER:
            click.echo(f"{email} is already a member of {slug}; nothing changed")
        else:
            click.echo(
                f"{email} joined {slug} ({membership.state.value}); the welcome email is "
                "queued: deliver it with `learnprog mail deliver`"
            )


@click.command("enroll")
@click.option("--org", "org_name", required=True, help="The organization's name or ID.")
@click.option("--as", "as_email", required=True, help="The learner's email: they enroll.")
@_PROGRAM
@click.option(
    "--course",
    "course_slug",
    required=True,
    help="The course's Course ID or Course Slug, in the program's curriculum.",
)
@click.pass_context
def enroll(
    ctx: click.Context, org_name: str, as_email: str, program_slug: str, course_slug: str
) -> None:
    """Enroll the learner --as in a course of the program's curriculum (the learner's act).

    The enrollment's source is the first collection holding the course; the course welcome
    email is queued.
    """
    system = SystemActor()
    with session(ctx) as lp:
        org = org_by_name(lp, org_name)
        learner = _learner(lp, org.id, org.name, as_email)
        program = lp.programs.find_program(system, program_slug)
        if program.organization_id != org.id:
            raise learnprog.NotFoundError("program", program_slug)
        view = lp.learning.program_for_learner(learner, program.id)
        found = [
            (collection, entry)
            for collection in view.preview.collections
            for entry in collection.entries
            if entry.kind is EntryKind.COURSE and course_slug in (entry.slug, entry.course_id)
        ]
        if not found:
            fail(f"--course: no course {course_slug!r} in the curriculum of {program_slug}")
        collection, entry = found[0]
        option = next(o for o in view.options if o.entry.target_id == entry.target_id)
        if not option.may_enroll:
            reason = {
                "enrolled": "already enrolled in it",
                "not a member": "not a member of the program (an invitee accepts first: "
                "learnprog accept LINK)",
            }.get(str(option.reason), str(option.reason))
            fail(f"{as_email} may not enroll in {course_slug} through {program_slug}: {reason}")
        lp.learning.enroll(learner, program.id, entry.target_id, source_collection_id=collection.id)
        click.echo(
            f"{as_email} enrolled in {entry.name!r} ({course_slug}) through {program_slug}, "
            f"found in {collection.name!r}; the course welcome email is queued"
        )


def _learner(lp: learnprog.Learnprog, organization_id: str, org_name: str, email: str) -> Actor:
    """The learner ``--as`` names, acting for themself (admins too act as learners here)."""
    try:
        actor = lp.organizations.resolve_actor(
            SystemActor(), organization_id, email, as_learner=True
        )
    except learnprog.NotFoundError:
        fail(f"--as: no learner with email {email} in {org_name!r}")
    except learnprog.ValidationError as exc:
        fail(f"--as: {exc.reason}")
    if not isinstance(actor, LearnerActor):  # as_learner=True always gives one
        raise TypeError(f"resolve_actor gave {actor!r} for a learner")
    return actor


COMMANDS = (invite, invite_roster, members_group, accept, enroll)
"""The commands this module adds to ``learnprog``."""
