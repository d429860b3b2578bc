"""The ``learnprog`` command: a thin shell over the services.

Global options (each also an environment variable):

- ``--db`` (``LEARNPROG_DB``): storage URL, default ``sqlite:///learnprog.db`` in the working
  directory;
- ``--mail-dir`` (``LEARNPROG_MAIL_DIR``): the Maildir mail is delivered into, default
  ``./outbox``; or ``--smtp-host`` (``LEARNPROG_SMTP_HOST``) with ``--smtp-port``,
  ``--smtp-security`` and ``--smtp-user`` (password in ``LEARNPROG_SMTP_PASSWORD`` only);
- ``--base-url`` (``LEARNPROG_BASE_URL``): the host app's public URL, used in links;
- ``--secret-file`` (``LEARNPROG_SECRET_FILE``): where the link-signing secret is kept, made on
  first use (default ``./learnprog.secret``); ``LEARNPROG_SECRET_KEY`` gives it directly.

Exit status: 0 on success, 1 on a learnprog error (one line, no traceback), 2 on a usage error.
Commands that act as an admin take ``--as EMAIL``: the account is resolved to its stored admin
rights.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

import learnprog
from learnprog.errors import LearnprogError
from learnprog.mail.maildir import MaildirMailer
from learnprog.mail.ports import Mailer
from learnprog.mail.rendering import SYSTEM_TEMPLATES
from learnprog.mail.smtp import SmtpMailer
from learnprog.model.access import Actor, SystemActor
from learnprog.model.organization import Organization, Program
from learnprog.serialization import to_json_value

DEFAULT_DB = "sqlite:///learnprog.db"
F = TypeVar("F", bound=Callable[..., Any])


def _secret(path: Path) -> str:
    key = os.environ.get("LEARNPROG_SECRET_KEY")
    if key:
        return key
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never world-readable
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(32))
    try:
        return path.read_text(encoding="utf-8").strip()
    except UnicodeDecodeError as exc:
        raise learnprog.ValidationError(
            f"the secret file {path} is not UTF-8 text", field="secret_file"
        ) from exc


def _mailer(options: dict[str, Any], settings: learnprog.Settings) -> Mailer:
    if options["smtp_host"]:
        return SmtpMailer(
            options["smtp_host"],
            options["smtp_port"],
            security=options["smtp_security"],
            username=options["smtp_user"],
            password=os.environ.get("LEARNPROG_SMTP_PASSWORD"),
            envelope_from=settings.sender_address.address,
        )
    return MaildirMailer(options["mail_dir"])


@contextmanager
def _session(ctx: click.Context) -> Iterator[learnprog.Learnprog]:
    options = ctx.obj
    try:
        settings = learnprog.Settings(
            base_url=options["base_url"],
            secret_key=_secret(Path(options["secret_file"])),
            sender_address=options["sender_address"],
            no_reply_address=options["no_reply_address"],
        )
        with learnprog.connect(
            options["db"], settings=settings, mailer=_mailer(options, settings)
        ) as lp:
            yield lp
    except LearnprogError as exc:
        click.echo("error: " + " ".join(str(exc).split()), err=True)  # one line, always
        sys.exit(1)
    except BrokenPipeError:  # the reader went away (| head): stop quietly
        sys.stderr.close()
        sys.exit(0)
    except OSError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


def _org_by_name(lp: learnprog.Learnprog, name: str) -> Organization:
    """Find an organization by its ID or its exact name (which must then be unique)."""
    orgs = lp.organizations.list_organizations(SystemActor())
    found = [o for o in orgs if o.id == name] or [o for o in orgs if o.name == name]
    if not found:
        raise learnprog.NotFoundError("organization", name)
    if len(found) > 1:
        ids = ", ".join(o.id for o in found)
        raise learnprog.ConflictError(
            f"{len(found)} organizations are named {name!r}; pass "
            f"--org with one of their IDs: {ids}"
        )
    return found[0]


def _program_by_slug(
    lp: learnprog.Learnprog, actor: Actor, org: Organization, slug: str
) -> Program:
    """Find one of the programs the actor administers by its URL slug."""
    for program in lp.programs.list_programs(actor, org.id):
        if program.slug.value == slug:
            return program
    raise learnprog.NotFoundError("program", slug)


def _actor(lp: learnprog.Learnprog, org: Organization, email: str) -> Actor:
    return lp.organizations.resolve_actor(SystemActor(), org.id, email)


def _emit(rows: list[dict[str, Any]], as_json: bool, columns: list[str]) -> None:
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    click.echo("\t".join(columns))
    for row in rows:
        click.echo("\t".join(str(row.get(c, "")) for c in columns))


def _date(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 date") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@click.group()
@click.option(
    "--db",
    envvar="LEARNPROG_DB",
    default=DEFAULT_DB,
    show_default=True,
    show_envvar=True,
    help="Storage URL: sqlite:///file.db, postgresql+psycopg://..., mysql+pymysql://..",
)
@click.option(
    "--mail-dir",
    envvar="LEARNPROG_MAIL_DIR",
    default="outbox",
    show_default=True,
    show_envvar=True,
    help="Maildir that mail is delivered into (without SMTP).",
)
@click.option(
    "--smtp-host",
    envvar="LEARNPROG_SMTP_HOST",
    show_envvar=True,
    help="Deliver through this SMTP server instead of the Maildir.",
)
@click.option(
    "--smtp-port",
    envvar="LEARNPROG_SMTP_PORT",
    type=int,
    default=587,
    show_default=True,
    show_envvar=True,
)
@click.option(
    "--smtp-security",
    envvar="LEARNPROG_SMTP_SECURITY",
    type=click.Choice(["none", "starttls", "tls"]),
    default="starttls",
    show_default=True,
    show_envvar=True,
)
@click.option(
    "--smtp-user",
    envvar="LEARNPROG_SMTP_USER",
    show_envvar=True,
    help="SMTP login; the password comes from LEARNPROG_SMTP_PASSWORD.",
)
@click.option(
    "--base-url",
    envvar="LEARNPROG_BASE_URL",
    default="http://localhost:8000",
    show_default=True,
    show_envvar=True,
    help="The host app's URL, used in links.",
)
@click.option(
    "--secret-file",
    envvar="LEARNPROG_SECRET_FILE",
    default="learnprog.secret",
    show_default=True,
    show_envvar=True,
    help="File keeping the link-signing secret (made on first use); "
    "LEARNPROG_SECRET_KEY overrides it.",
)
@click.option(
    "--no-reply-address",
    envvar="LEARNPROG_NO_REPLY_ADDRESS",
    default="noreply@example.com",
    show_default=True,
    show_envvar=True,
    help="From address of system mail (replies go nowhere).",
)
@click.option(
    "--sender-address",
    envvar="LEARNPROG_SENDER_ADDRESS",
    default="learning@example.com",
    show_default=True,
    show_envvar=True,
    help="Envelope sender (bounces) for SMTP; also the Message-ID domain.",
)
@click.version_option(learnprog.__version__, prog_name="learnprog")
@click.pass_context
def main(ctx: click.Context, /, **options: Any) -> None:
    """Run enterprise learning programs from the command line."""
    ctx.obj = options


@main.group()
def db() -> None:
    """Schema management."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Create or upgrade the schema to the newest migration."""
    with _session(ctx) as lp:
        from learnprog.storage.sql import current_revision

        if lp.engine is not None:
            click.echo(f"schema at revision {current_revision(lp.engine)}")


@main.command("init")
@click.argument("name")
@click.option(
    "--domain",
    "domains",
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
    domains: tuple[str, ...],
    admin_name: str,
    admin_email: str,
    timezone: str,
) -> None:
    """Create an organization and its first organization admin."""
    system = SystemActor()
    with _session(ctx) as lp:
        if any(o.name == name for o in lp.organizations.list_organizations(system)):
            raise learnprog.ConflictError(f"an organization named {name!r} exists already")
        org = lp.organizations.create_organization(
            system,
            name,
            email_domains=domains,
            timezone=timezone,
            admin_name=admin_name,
            admin_email=admin_email,
        )
        click.echo(f"organization {org.name!r} created ({org.id}); admin {admin_email}")


@main.group()
def program() -> None:
    """Programs."""


@program.command("create")
@click.argument("name")
@click.option("--org", "org_name", required=True, help="The organization's name or ID.")
@click.option("--as", "as_email", required=True, help="The acting admin's email.")
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
    with _session(ctx) as lp:
        org = _org_by_name(lp, org_name)
        created = lp.programs.create_program(
            _actor(lp, org, as_email),
            org.id,
            name,
            tagline=tagline,
            slug=slug,
            course_enrollment_limit=course_enrollment_limit,
        )
        click.echo(f"program {created.name!r} created; URL slug {created.slug}")


@program.command("list")
@click.option("--org", "org_name", required=True, help="The organization's name or ID.")
@click.option("--as", "as_email", required=True, help="The acting admin's email.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def program_list(ctx: click.Context, org_name: str, as_email: str, as_json: bool) -> None:
    """List the programs the admin sees."""
    with _session(ctx) as lp:
        org = _org_by_name(lp, org_name)
        rows = [
            to_json_value(p) for p in lp.programs.list_programs(_actor(lp, org, as_email), org.id)
        ]
        _emit(rows, as_json, ["slug", "name", "tagline"])


@main.group()
def contract() -> None:
    """Contracts."""


@contract.command("create")
@click.argument("name")
@click.option("--org", "org_name", required=True, help="The organization's name or ID.")
@click.option("--as", "as_email", required=True, help="The acting admin's email.")
@click.option("--kind", type=click.Choice(["licenses", "enrollments", "unlimited"]), required=True)
@click.option("--quantity", type=int, help="Licenses or enrollments (not for unlimited).")
@click.option("--starts", required=True, help="Start, ISO 8601 (UTC if no zone).")
@click.option("--ends", required=True, help="End, ISO 8601 (UTC if no zone).")
@click.pass_context
def contract_create(
    ctx: click.Context,
    name: str,
    org_name: str,
    as_email: str,
    kind: str,
    quantity: int | None,
    starts: str,
    ends: str,
) -> None:
    """Create a contract."""
    with _session(ctx) as lp:
        org = _org_by_name(lp, org_name)
        created = lp.programs.create_contract(
            _actor(lp, org, as_email),
            org.id,
            name,
            kind=kind,
            quantity=quantity,
            starts_at=_date(starts),
            ends_at=_date(ends),
        )
        click.echo(f"contract {created.name!r} created ({created.kind.value})")


@contract.command("list")
@click.option("--org", "org_name", required=True, help="The organization's name or ID.")
@click.option("--as", "as_email", required=True, help="The acting admin's email.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def contract_list(ctx: click.Context, org_name: str, as_email: str, as_json: bool) -> None:
    """List contracts with their type, remaining count, start and end."""
    with _session(ctx) as lp:
        org = _org_by_name(lp, org_name)
        rows = []
        for c in lp.programs.list_contracts(_actor(lp, org, as_email), org.id):
            row = to_json_value(c)
            row["remaining"] = c.remaining
            rows.append(row)
        _emit(rows, as_json, ["name", "kind", "remaining", "starts_at", "ends_at"])


@main.command("audit")
@click.option("--org", "org_name", required=True, help="The organization's name or ID.")
@click.option("--as", "as_email", required=True, help="The acting admin's email.")
@click.option("--program", "program_slug", help="Only this program's entries (its URL slug).")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
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
    with _session(ctx) as lp:
        org = _org_by_name(lp, org_name)
        actor = _actor(lp, org, as_email)
        program_id = None
        if program_slug is not None:
            program_id = _program_by_slug(lp, actor, org, program_slug).id
        rows = [
            to_json_value(e)
            for e in lp.audit.entries(actor, org.id, program_id=program_id, limit=limit)
        ]
        _emit(rows, as_json, ["at", "actor", "action", "object_type", "object_id"])


@main.group()
def mail() -> None:
    """Mail: deliver the outbox, preview system emails, read the delivery log."""


@mail.command("deliver")
@click.option("--max", "max_messages", type=click.IntRange(1), help="Stop after this many.")
@click.pass_context
def mail_deliver(ctx: click.Context, max_messages: int | None) -> None:
    """Deliver every due message of the outbox (to the Maildir or SMTP server)."""
    with _session(ctx) as lp:
        report = lp.mail.dispatch(SystemActor(), max_messages=max_messages)
        click.echo(
            f"sent {report.sent}, retried {report.retried}, failed {report.failed}, "
            f"skipped {report.skipped}, lost {report.lost}"
        )


@mail.command("preview")
@click.argument("template", type=click.Choice(sorted(SYSTEM_TEMPLATES)))
@click.option("--org", "org_name", required=True, help="The organization's name or ID.")
@click.option("--as", "as_email", required=True, help="The acting admin's email.")
@click.option("--program", "program_slug", required=True, help="The program's URL slug.")
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False, writable=True),
    help="Also write the HTML part to this file.",
)
@click.pass_context
def mail_preview(
    ctx: click.Context,
    template: str,
    org_name: str,
    as_email: str,
    program_slug: str,
    html_file: str | None,
) -> None:
    """Show a system email as the program's learners get it (sample learner)."""
    with _session(ctx) as lp:
        org = _org_by_name(lp, org_name)
        actor = _actor(lp, org, as_email)
        program = _program_by_slug(lp, actor, org, program_slug)
        message = lp.mail.preview_system_email(actor, program.id, template)
        click.echo(f"Subject: {message.subject}\n\n{message.text_body}")
        if html_file is not None:
            Path(html_file).write_text(message.html_body or "", encoding="utf-8")


@mail.command("log")
@click.option("--org", "org_name", required=True, help="The organization's name or ID.")
@click.option("--as", "as_email", required=True, help="The acting admin's email.")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def mail_log(ctx: click.Context, org_name: str, as_email: str, limit: int, as_json: bool) -> None:
    """Show the delivery log, newest first."""
    with _session(ctx) as lp:
        org = _org_by_name(lp, org_name)
        rows = [
            to_json_value(d)
            for d in lp.mail.deliveries(_actor(lp, org, as_email), org.id, limit=limit)
        ]
        _emit(rows, as_json, ["at", "recipient", "category", "template", "outcome", "detail"])


@main.command("demo")
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo-output"),
    show_default=True,
    help="Folder for the report zip, the gradebook and the figures.",
)
@click.pass_context
def demo(ctx: click.Context, output: Path) -> None:
    """Run the whole job on the OULAD learner data shipped in the package.

    Imports it as one organization and program, invites a small roster and delivers the
    invitations, scores skills, writes reports to --output and prints the summary, the usage
    funnel and the top of the skill leaderboard. Can be run again.
    """
    from learnprog.demo import run_demo

    with _session(ctx) as lp:
        result = run_demo(lp, output, echo=click.echo)
    s, f = result.summary, result.funnel
    click.echo("--- summary")
    click.echo(f"enrollments\t{s.enrollments:,}\t+{s.enrollments_change:,} in the past 28 days")
    click.echo(f"learning hours\t{s.learning_hours:,.0f}\t+{s.learning_hours_change:,.0f}")
    click.echo(f"lessons taken\t{s.lessons_taken:,}\t+{s.lessons_taken_change:,}")
    rating = "none yet" if s.average_rating is None else f"{s.average_rating:.1f} / 5"
    click.echo(f"average course rating\t{rating}")
    click.echo("--- usage funnel")
    click.echo(f"invitations sent\t{f.invitations_sent:,}")
    click.echo(f"joined\t{f.joined:,}\t{_percent(f.join_rate)}")
    click.echo(f"enrolled\t{f.enrolled:,}\t{_percent(f.enroll_rate)}")
    click.echo("--- skill leaderboard (top 10)")
    for row in result.leaderboard:
        click.echo(f"{row.skill}\t{row.name}\t{row.level.value}\t{row.score:.0f}")
    click.echo("--- files")
    for path in result.files:
        click.echo(str(path))


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}%"
