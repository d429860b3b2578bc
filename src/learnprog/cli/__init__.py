"""The ``learnprog`` command: a thin shell over the services.

Global options (each also an environment variable):

- ``--db`` (``LEARNPROG_DB``): storage URL, default ``sqlite:///learnprog.db`` in the working
  directory; only ``init``, ``demo`` and ``db upgrade`` make a SQLite file that does not exist
  (other commands need existing data and stop with ``error: no database at PATH``);
- ``--mail-dir`` (``LEARNPROG_MAIL_DIR``): the Maildir mail is delivered into, default
  ``./outbox``; or ``--smtp-host`` (``LEARNPROG_SMTP_HOST``) with ``--smtp-port``,
  ``--smtp-security`` and ``--smtp-user`` (password in ``LEARNPROG_SMTP_PASSWORD`` only);
- ``--base-url`` (``LEARNPROG_BASE_URL``): the host app's public URL, used in links;
- ``--secret-file`` (``LEARNPROG_SECRET_FILE``): where the link-signing secret is kept, made on
  first use; by default next to a SQLite database file (``learnprog.db.secret`` beside
  ``learnprog.db``), so every working directory using that database signs with one secret, and
  ``./learnprog.secret`` for other databases; ``LEARNPROG_SECRET_KEY`` gives it directly.

Exit status: 0 on success, 1 on a user error (a learnprog error, an input file that does not
exist or cannot be read: one line on stderr, no traceback), 2 on a usage error (an unknown
command or option, a bad value).
Commands that act as an admin take ``--org NAME-OR-ID`` and ``--as EMAIL``: the account is
resolved to its stored admin rights. Listings print a header line and tab-separated rows, or
JSON with ``--json``. Progress bars go to stderr, and only when it is a terminal.

The commands live in the modules of this package, grouped by job (:mod:`.setup`,
:mod:`.people`, :mod:`.activity`, :mod:`.mailing`, :mod:`.reports`, :mod:`.worker`);
``docs/cli.md`` is the
reference. A module is imported when one of its commands runs (:class:`LazyGroup`), so
``learnprog --version`` imports none and ``learnprog program list`` only :mod:`.setup`.
"""

from __future__ import annotations

import importlib
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

import click

import learnprog

DEFAULT_DB = "sqlite:///learnprog.db"

COMMAND_MODULES = {
    **dict.fromkeys(
        ("init", "admin", "program", "contract", "course", "specialization", "collection"),
        "setup",
    ),
    **dict.fromkeys(("invite", "invite-roster", "members", "accept", "enroll"), "people"),
    **dict.fromkeys(("import", "skills"), "activity"),
    **dict.fromkeys(("mail", "message"), "mailing"),
    **dict.fromkeys(("report", "audit"), "reports"),
    "worker": "worker",
}
"""Each top-level command of a module of this package, with the module (its ``COMMANDS``)."""


class LazyGroup(click.Group):
    """The ``learnprog`` group: a command's module is imported when the command is looked up.

    After click's documented pattern for lazily loading subcommands; ``--help`` lists (and
    so imports) them all.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command's name, the lazily loaded ones included."""
        return sorted({*super().list_commands(ctx), *COMMAND_MODULES})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Return the command, importing its module first if it is not loaded yet."""
        if cmd_name not in self.commands and cmd_name in COMMAND_MODULES:
            module = importlib.import_module(f"learnprog.cli.{COMMAND_MODULES[cmd_name]}")
            for command in module.COMMANDS:
                self.add_command(command)
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup)
@click.option(
    "--db",
    envvar="LEARNPROG_DB",
    default=DEFAULT_DB,
    show_default=True,
    show_envvar=True,
    help="Storage URL: sqlite:///file.db, postgresql+psycopg://..., mysql+pymysql://..., or "
    "memory:// (kept only while the command runs).",
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
    show_envvar=True,
    help="File keeping the link-signing secret (made on first use). Default: next to a SQLite "
    "database file (FILE.db.secret), else ./learnprog.secret. LEARNPROG_SECRET_KEY overrides it.",
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


@main.group("db")
def db() -> None:
    """Schema management."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Create or upgrade the schema to the newest migration."""
    from learnprog.cli._common import session

    with session(ctx, create=True) as lp:
        from learnprog.storage.sql import current_revision

        if lp.engine is not None:
            click.echo(f"schema at revision {current_revision(lp.engine)}")


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
    from learnprog.cli._common import percent, session
    from learnprog.demo import ADMIN_EMAIL, ORGANIZATION, PROGRAM_SLUG, run_demo

    with session(ctx, create=True) as lp:
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
    click.echo(f"joined\t{f.joined:,}\t{percent(f.join_rate)}")
    click.echo(f"enrolled\t{f.enrolled:,}\t{percent(f.enroll_rate)}")
    click.echo("--- skill leaderboard (top 10)")
    for row in result.leaderboard:
        click.echo(f"{row.skill}\t{row.name}\t{row.level.value}\t{row.score:.1f}")  # as leaderboard
    click.echo("--- files")
    for path in result.files:
        click.echo(str(path))
    click.echo("--- explore")
    click.echo(f"organization\t{ORGANIZATION}")
    click.echo(f"admin\t{ADMIN_EMAIL}")
    db = ctx.find_root().params["db"]
    if db.startswith("memory:"):
        click.echo("note\tmemory storage keeps nothing: run with --db sqlite:///demo.db to explore")
    where = "" if db == DEFAULT_DB else f"--db {shlex.quote(db)} "
    click.echo(
        f"try\t{_this_command()} {where}members list --org {shlex.quote(ORGANIZATION)} "
        f"--as {ADMIN_EMAIL} --program {PROGRAM_SLUG} --limit 5"
    )


def _this_command() -> str:
    """How to run this ``learnprog`` again: its name when the shell finds this one, else its path.

    ``scripts/run`` starts the repository's ``.venv/bin/learnprog``, which is not on the PATH
    until the venv is activated; a hint naming plain ``learnprog`` would fail there.
    """
    running = Path(sys.argv[0])
    found = shutil.which("learnprog")
    if running.name != "learnprog" or (found and Path(found).resolve() == running.resolve()):
        return "learnprog"
    return shlex.quote(str(running.absolute()))
