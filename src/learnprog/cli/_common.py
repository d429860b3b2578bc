"""What the commands share: the session, lookups by the names people type, output, progress."""

from __future__ import annotations

import json
import os
import re
import secrets
import stat
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

import learnprog
from learnprog.errors import LearnprogError
from learnprog.mail.maildir import MaildirMailer
from learnprog.mail.ports import Mailer
from learnprog.mail.smtp import SmtpMailer
from learnprog.model.access import Actor, LearnerActor, ProgramAdminActor, SystemActor
from learnprog.model.catalog import Course
from learnprog.model.organization import Contract, Organization, Program
from learnprog.outputs import DataFiles, data_files, refuse_data_file, sqlite_file
from learnprog.storage.sql.engine import check_connection, checked_url, create_sql_engine

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_SECRET_FILE = "learnprog.secret"
"""The secret file in the working directory, for storage that is not a SQLite file."""
C = TypeVar("C", bound=click.Command)
_SECRET_FILE_LIMIT = 4096
"""The most bytes read from a secret file (a secret is 43 characters; a longer one is kept)."""


def _secret(path: Path) -> str:
    key = os.environ.get("LEARNPROG_SECRET_KEY")
    if key:
        return key
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never world-readable
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(32))
    return read_small_text(path, option="secret_file", limit=_SECRET_FILE_LIMIT).strip()


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


class UserError(click.ClickException):
    """A user error found while click reads the command line: one ``error:`` line, exit 1."""

    exit_code = 1

    def show(self, file: Any = None) -> None:
        """Print ``error: MESSAGE`` on stderr (no usage text)."""
        click.echo("error: " + " ".join(self.format_message().split()), err=True, file=file)


class InputPath(click.Path):
    """A file (or folder) the command reads: one that is missing or unreadable is a user error.

    ``error: file 'roster.csv' does not exist`` (prefixed ``--body-file:`` for an option) with
    exit status 1, where :class:`click.Path` would print the usage text and exit 2.
    """

    def __init__(self, *, folder: bool = False) -> None:
        super().__init__(file_okay=not folder, dir_okay=folder, path_type=Path)
        self.folder = folder

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """Return the path, or raise :class:`UserError` if it cannot be read."""
        path = Path(os.fsdecode(value))
        kind = "folder" if self.folder else "file"
        where = f"{param.opts[0]}: " if isinstance(param, click.Option) else ""
        if not path.exists():
            raise UserError(f"{where}{kind} {str(path)!r} does not exist")
        if path.is_dir() != self.folder:
            raise UserError(
                f"{where}{str(path)!r} is a {'file' if self.folder else 'folder'}, not a {kind}"
            )
        if not os.access(path, os.R_OK):
            raise UserError(f"{where}{kind} {str(path)!r} cannot be read (permission denied)")
        return super().convert(value, param, ctx)


def _own_files(ctx: click.Context | None) -> DataFiles:
    """The files the running command's global options keep learnprog's data in, named."""
    options = ctx.find_root().obj if ctx is not None else None
    if not isinstance(options, dict) or "db" not in options:
        return ()
    database = sqlite_file(options["db"])
    secret = secret_file(options.get("secret_file"), database)
    return data_files(options["db"], secret_file=secret)


class OutputFile(click.Path):
    """A file the command writes: its folder is made when missing (as ``mkdir -p`` does).

    A folder that cannot be made (a file in the way, no permission) is a user error naming
    the option, ``error: --output: cannot make the folder 'r': Permission denied``, with exit
    status 1, as :class:`InputPath`. So is a file that learnprog itself keeps its data in
    (the SQLite database of ``--db``, its journals, the secret file), by any path: writing a
    report over it would destroy every record or every link.
    """

    def __init__(self) -> None:
        super().__init__(dir_okay=False, writable=True, path_type=Path)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """Return the path once its folder exists, or raise :class:`UserError`."""
        path = Path(os.fsdecode(value))
        where = f"{param.opts[0]}: " if isinstance(param, click.Option) else ""
        try:  # the one guard, shared with the Python writers (learnprog.outputs)
            refuse_data_file(path, _own_files(ctx), field="output")
        except learnprog.ValidationError as exc:
            raise UserError(f"{where}{exc.reason}") from exc
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(
                f"{where}cannot make the folder {str(path.parent)!r}: {exc.strerror}"
            ) from exc
        return super().convert(value, param, ctx)


_FIELD_OPTIONS: dict[click.Command, dict[str, str]] = {}


def field_options(**fields: str) -> Callable[[C], C]:
    """Name the option behind a service field whose name differs from the option's parameter.

    Apply above ``@click.command``: ``@field_options(full_name="--admin-name")``.
    """

    def register(command: C) -> C:
        _FIELD_OPTIONS[command] = fields
        return command

    return register


def error_line(ctx: click.Context, exc: LearnprogError) -> str:
    """Return the one-line message for a learnprog error, naming options as the user typed them.

    A :class:`~learnprog.ValidationError` names the Python field at fault (``starts_at``); when
    a parameter of the running command carries that field (or :func:`field_options` maps it),
    its option (``--starts-at``) or argument (``NAME``) is named instead.
    """
    if isinstance(exc, learnprog.PermissionDeniedError):
        line = _permission_line(ctx, exc)
        if line is not None:
            return "error: " + " ".join(line.split())
    if isinstance(exc, learnprog.ValidationError) and exc.field is not None:
        where = _FIELD_OPTIONS.get(ctx.command, {}).get(exc.field)
        for param in ctx.command.params:
            if where is None and param.name == exc.field:
                where = (
                    param.opts[0] if isinstance(param, click.Option) else param.human_readable_name
                )
        if where is not None:
            line = f"line {exc.line}, " if exc.line is not None else ""
            return "error: " + " ".join(f"{line}{where}: {exc.reason}".split())
    return "error: " + " ".join(str(exc).split())  # one line, always


def fail(message: str) -> NoReturn:
    """Stop with exit status 1 and a one-line message on stderr (a user error)."""
    click.echo("error: " + " ".join(message.split()), err=True)
    sys.exit(1)


def secret_file(given: str | None, database: Path | None) -> Path:
    """Return where the link-signing secret is kept.

    Args:
        given: ``--secret-file`` (or ``LEARNPROG_SECRET_FILE``), if set: used as it is.
        database: the SQLite database file, if the storage is one.

    Returns:
        ``given``; else, beside a SQLite database file, its name plus ``.secret``
        (``data/learnprog.db.secret``), so the database has one secret wherever it is used
        from; else ``learnprog.secret`` in the working directory.
    """
    if given:
        return Path(given)
    if database is not None:
        return database.with_name(database.name + ".secret")
    return Path(DEFAULT_SECRET_FILE)


def _reach(url: str) -> None:
    """Open and close one connection to a database server, or raise what stops it.

    Run before the secret file and the Maildir are made, so a URL whose arguments the driver
    refuses, or a server that cannot be reached, leaves no file behind.

    Raises:
        ValidationError: an argument of the URL the driver refuses (``field="url"``).
        StorageUnavailableError: the server cannot be reached.
    """
    engine = create_sql_engine(url)
    try:
        check_connection(engine)
    finally:
        engine.dispose()


@contextmanager
def session(ctx: click.Context, *, create: bool = False) -> Iterator[learnprog.Learnprog]:
    """Connect with the global options; learnprog and OS errors exit 1 with one line.

    Args:
        ctx: the running command's context.
        create: whether the command may make a new SQLite database file (``init``, ``demo``,
            ``db upgrade``). Other commands need existing data: a SQLite file that does not
            exist is an error, and nothing (no database, no secret file) is made.

    Raises:
        SystemExit: 1 on a learnprog or OS error, 0 when the reader of stdout went away.
    """
    options = ctx.find_root().obj
    if options["db"] != "memory://":
        try:  # before any file is made or looked for: a bad URL makes nothing (no secret file)
            if checked_url(options["db"]).get_backend_name() != "sqlite":
                _reach(options["db"])
        except learnprog.ValidationError as exc:
            fail(f"--db: {exc}")
        except LearnprogError as exc:
            click.echo(error_line(ctx, exc), err=True)
            sys.exit(1)
    database = sqlite_file(options["db"])
    if not create and database is not None and not database.exists():
        fail(
            f"no database at {database.absolute()} (pass --db or set LEARNPROG_DB; "
            "learnprog init or learnprog demo makes one)"
        )
    try:
        settings = learnprog.Settings(
            base_url=options["base_url"],
            secret_key=_secret(secret_file(options["secret_file"], database)),
            sender_address=options["sender_address"],
            no_reply_address=options["no_reply_address"],
        )
        try:
            connected = learnprog.connect(
                options["db"], settings=settings, mailer=_mailer(options, settings)
            )
        except learnprog.ValidationError as exc:
            if exc.field == "url":  # an argument the driver refused on connecting
                fail(f"--db: {exc}")
            raise
        with connected as lp:
            yield lp
    except LearnprogError as exc:
        click.echo(error_line(ctx, exc), err=True)
        sys.exit(1)
    except BrokenPipeError:  # the reader went away (| head): stop quietly
        sys.stderr.close()
        sys.exit(0)
    except OSError as exc:
        fail(str(exc))


def admin_options(command: F) -> F:
    """Add ``--org NAME-OR-ID`` and ``--as EMAIL``, which every admin command takes."""
    command = click.option("--as", "as_email", required=True, help="The acting admin's email.")(
        command
    )
    return click.option("--org", "org_name", required=True, help="The organization's name or ID.")(
        command
    )


def json_option(command: F) -> F:
    """Add ``--json`` to a listing."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(command)


def org_by_name(lp: learnprog.Learnprog, name: str) -> Organization:
    """Find an organization by its ID or its exact name (which must then be unique).

    Raises:
        NotFoundError: no such organization.
        ConflictError: several organizations have that name.
    """
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


_ACTING = "learnprog.acting"
"""Key of ``click.Context.meta`` under which :func:`admin` keeps the acting admin's words."""


def admin(lp: learnprog.Learnprog, org_name: str, as_email: str) -> tuple[Organization, Actor]:
    """Return the organization and the admin actor its ``--as`` account resolves to.

    The account's stored rights decide what it may do; a permission error then names it by
    the address typed (``--as``) and the organization by its name, not by internal IDs.

    Raises:
        NotFoundError: no such organization.
        SystemExit: 1 when the organization has no account with that address, or the account
            is no admin there (a learner), with a one-line message.
    """
    org = org_by_name(lp, org_name)
    try:
        actor = lp.organizations.resolve_actor(SystemActor(), org.id, as_email)
    except learnprog.NotFoundError:
        fail(f"--as: no admin with email {as_email} in {org.name!r}")
    except learnprog.ValidationError as exc:  # not an email address
        fail(f"--as: {exc.reason}")
    if isinstance(actor, LearnerActor):
        fail(f"--as: {as_email} is not an admin of {org.name!r}")
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.meta[_ACTING] = (actor, as_email, org.name)
    return org, actor


def _acting() -> tuple[Actor, str, str] | None:
    """The running command's admin as :func:`admin` resolved it: actor, ``--as``, org name."""
    ctx = click.get_current_context(silent=True)
    found: tuple[Actor, str, str] | None = None if ctx is None else ctx.meta.get(_ACTING)
    return found


def _permission_line(ctx: click.Context, exc: learnprog.PermissionDeniedError) -> str | None:
    """Word a refusal of the ``--as`` admin by their address and organization name."""
    acting: tuple[Actor, str, str] | None = ctx.meta.get(_ACTING)
    if acting is None:
        return None
    actor, email, org_name = acting
    prefix = f"{actor.describe()} may not "
    if not str(exc).startswith(prefix):
        return None
    what = str(exc)[len(prefix) :]
    if isinstance(actor, ProgramAdminActor):
        return (
            f"{email} is not an organization admin of {org_name!r}, only an admin of some of "
            f"its programs, and may not {what}"
        )
    return f"{email} may not {what}"


def program_by_slug(lp: learnprog.Learnprog, actor: Actor, org: Organization, slug: str) -> Program:
    """Find one of the programs the actor administers by its URL slug.

    Raises:
        NotFoundError: no program of the actor's has that slug.
        SystemExit: 1 for a program admin (``--as``) who administers no program of that slug
            (whether it exists or not), with a one-line message.
    """
    for program in lp.programs.list_programs(actor, org.id):
        if program.slug.value == slug:
            return program
    acting = _acting()
    if isinstance(actor, ProgramAdminActor) and acting is not None:
        fail(f"--program: {acting[1]} is not an admin of a program {slug!r} in {org.name!r}")
    raise learnprog.NotFoundError("program", slug)


def contract_by_name(
    lp: learnprog.Learnprog, actor: Actor, org: Organization, name: str
) -> Contract:
    """Find a contract of the organization by its ID or exact name.

    Raises:
        NotFoundError: no such contract.
        ConflictError: several contracts have that name.
    """
    contracts = lp.programs.list_contracts(actor, org.id)
    found = [c for c in contracts if c.id == name] or [c for c in contracts if c.name == name]
    if not found:
        raise learnprog.NotFoundError("contract", name)
    if len(found) > 1:
        raise learnprog.ConflictError(
            f"{len(found)} contracts are named {name!r}; pass --contract with one of their "
            f"IDs: {', '.join(c.id for c in found)}"
        )
    return found[0]


def course_by_code(lp: learnprog.Learnprog, actor: Actor, org: Organization, code: str) -> Course:
    """Find a catalog course by the guide's Course ID (or its slug).

    Raises:
        NotFoundError: no such course.
    """
    courses = lp.programs.list_courses(actor, org.id)
    for course in courses:
        if code in (course.course_id, course.slug):
            return course
    raise learnprog.NotFoundError("course", code)


_UNPRINTABLE = re.compile(r"[\\\x00-\x1f\x7f-\x9f\u2028\u2029]")


def escape(value: object) -> str:
    r"""Return a value as text for one field of a line of output: nothing in it breaks the line.

    A backslash, a tab, a line break (LF, CR, U+2028, U+2029) or any other control character
    (C0, DEL, C1: ESC would drive the terminal) is written as Python writes it in a string
    literal: ``\\``, ``\t``, ``\n``, ``\r``, ``\x1b``, ``\u2028``. So a cell from a file
    (a name, an email, a reason quoting them) can never fake a line such as ``line 3<TAB>created``
    or a column; ``None`` is ``""``. Only the command line escapes: the data stays as it is.
    """
    if value is None:
        return ""
    return _UNPRINTABLE.sub(
        lambda m: m.group().encode("unicode_escape").decode("ascii"), str(value)
    )


def json_default(value: object) -> str:
    """Dates and times as ISO 8601 in JSON output (the rest is JSON already)."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def emit(rows: Sequence[dict[str, Any]], as_json: bool, columns: list[str]) -> None:
    """Print rows as JSON, or as a header line and one tab-separated line per row.

    In the text form each cell is escaped (:func:`escape`): a tab or line break in a value
    cannot shift a column or add a line.
    """
    if as_json:
        click.echo(json.dumps(list(rows), ensure_ascii=False, indent=2, default=json_default))
        return
    click.echo("\t".join(columns))
    for row in rows:
        click.echo("\t".join(escape(row.get(c)) for c in columns))


def emit_object(value: dict[str, Any], as_json: bool) -> None:
    """Print one record as JSON, or as ``label<TAB>value`` lines."""
    if as_json:
        click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=json_default))
        return
    for key, item in value.items():
        click.echo(f"{key}\t{escape(item)}")


def parse_date(value: str, option: str) -> datetime:
    """Parse an ISO 8601 date or time (UTC when no zone is given).

    Raises:
        click.BadParameter: not ISO 8601 (a usage error naming the option).
    """
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 date", param_hint=f"'{option}'"
        ) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def count_lines(path: Path) -> int | None:
    """Return the number of data lines of a CSV file (line breaks minus the header), roughly.

    Used only as a progress bar's total; quoted line breaks make it an upper bound. ``None``
    (no total) for a file that is not a regular file: a pipe would be used up by counting, and
    a device such as ``/dev/zero`` never ends (the reader bounds those:
    :data:`learnprog.csvfiles.MAX_STREAM_BYTES`).
    """
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            return None
        with path.open("rb") as handle:
            breaks = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    except (OSError, ValueError):
        return None
    return max(breaks, 1)


def read_small_text(path: Path, *, option: str, limit: int) -> str:
    """Read a UTF-8 text file given to an option, at most ``limit`` bytes.

    Any file (a pipe, ``/dev/zero``) is read only so far, so a file that never ends cannot
    hold the command.

    Raises:
        ValidationError: (field ``option``, naming the file) longer than ``limit`` bytes, or
            not UTF-8 text.
    """
    with path.open("rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise learnprog.ValidationError(
            f"{path} is longer than {limit:,} bytes, the most this option reads",
            field=option,
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise learnprog.ValidationError(f"{path} is not UTF-8 text", field=option) from exc


@contextmanager
def progress_bar(label: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
    """Show a rich progress bar on stderr while the block runs, if stderr is a terminal.

    Yields:
        A function taking the count done so far. Off a terminal (a pipe, a log file, a test
        runner) it does nothing, so output stays clean.
    """
    from rich.console import Console  # rich only in commands that show progress: slow to import
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    console = Console(stderr=True)
    if not console.is_terminal:
        yield lambda done: None
        return
    columns: list[ProgressColumn] = [SpinnerColumn(), TextColumn("{task.description}")]
    if total is not None:
        columns += [BarColumn(), MofNCompleteColumn()]
    else:
        columns += [TextColumn("{task.completed:,}")]
    with Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done: bar.update(task, completed=done)


@contextmanager
def stepped_progress() -> Iterator[Callable[[str, int], None]]:
    """Like :func:`progress_bar`, with one line per named step (OULAD: members, attempts)."""
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    if not console.is_terminal:
        yield lambda step, done: None
        return
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed:,}"),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        tasks: dict[str, Any] = {}

        def update(step: str, done: int) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(step, total=None)
            bar.update(tasks[step], completed=done)

        yield update


def counted(count: int, singular: str, plural: str | None = None) -> str:
    """``1 line``, ``2 lines``, ``12,400 members``: a count and its word, in agreement.

    Args:
        count: how many.
        singular: the word for one (``line``; ``email queued``: the first word agrees).
        plural: the word for any other number; default the first word of ``singular`` plus
            ``s`` (``lines``, ``emails queued``).
    """
    if plural is None:
        first, _, rest = singular.partition(" ")
        plural = f"{first}s {rest}".rstrip()
    return f"{count:,} {singular if count == 1 else plural}"


RATE_DECIMALS = 2
"""Rates in percent are printed, in text and JSON, with this many decimals."""


def rate(value: float | None) -> float | None:
    """A rate in percent rounded for output (``33.33``); the model keeps the exact value."""
    return None if value is None else round(value, RATE_DECIMALS)


def percent(value: float | None) -> str:
    """A rate as ``33.33%``, empty when there is none."""
    return "" if value is None else f"{value:.{RATE_DECIMALS}f}%"


def echo_line_result(line: int, outcome: str, *cells: str | None, reason: str | None = None,
                     duplicate_of: int | None = None) -> None:  # fmt: skip
    """Print one tab-separated line of a CSV import that was not simply created.

    ``line N<TAB>outcome<TAB>cells...<TAB>detail``, the detail being the reason, or the line a
    duplicate repeats. Cells and reason are escaped (:func:`escape`): a tab or line break in
    them cannot fake a field or a line.
    """
    detail = escape(reason) or (f"line {duplicate_of}" if duplicate_of else "")
    click.echo("\t".join([f"line {line}", outcome, *map(escape, cells), detail]))
