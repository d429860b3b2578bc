"""Every command, fed wrong values, exits 1 or 2 with one error line and never a traceback.

The commands are found by walking the click tree (``learnprog.cli.main``), so a new command is
covered without being listed here. Each one is run with valid values for what it requires
(against a SQLite file holding Acme, its admin Ana, the program ``academy``, the contract
``Y1``, the course ``SQL1``, the collection ``Start`` and the invited learner Lia), then once for
each wrong value of each of its parameters, one parameter at a time:

- values that are wrong by construction (a missing or unreadable file, a folder where a file
  belongs, a name nothing has, a bad address, date, number, choice, URL, encoding or
  placeholder): the command must fail, with exit status 1 (an error line ``error: ...`` on
  stderr, and nothing else there) or 2 (a usage error: click's usage text and one
  ``Error: ...`` line);
- hostile text where any text is allowed (a NUL, 100,000 characters, a right-to-left
  override, template and SQL syntax, a header injection): the command may succeed, and when
  it fails it fails the same way;
- wrong global options (``--db``, ``--smtp-port``, ``--base-url``, ``--secret-file``, ...),
  each on some of the commands, every one of them on several.

"A traceback" means any exception other than ``SystemExit`` escaping the command (click's
runner catches it where a shell would print it), or the word in the output.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from learnprog.cli import main
from tests.cli.conftest import ACADEMY, AS, CONTRACT, INIT

Case = tuple[str, list[str], bool]  # (what is wrong, argv, whether it must fail)


def _leaves(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    ctx = click.Context(group)
    for name in sorted(group.list_commands(ctx)):  # main loads its modules lazily
        command = group.get_command(ctx, name)
        assert command is not None, name
        if isinstance(command, click.Group):
            yield from _leaves(command, (*path, name))
        else:
            yield (*path, name)


COMMANDS = list(_leaves(main))


def _command(path: tuple[str, ...]) -> click.Command:
    command: click.Command = main
    for name in path:
        assert isinstance(command, click.Group)
        found = command.get_command(click.Context(command), name)
        assert found is not None, name
        command = found
    return command


def _key(param: click.Parameter) -> str:
    if isinstance(param, click.Option):
        return param.opts[0]
    assert param.name is not None
    return param.name.upper()


HOSTILE = [
    "\x00",
    "x" * 100_000,
    "\u202egnp.exe",
    "{{ 7*7 }}{% raw %}",
    "'; DROP TABLE learners; --",
    "Ana\r\nBcc: evil@evil.example",
    "",
]
"""Text a free-text parameter may take or refuse: either way, no traceback."""

LOOKUPS = {"--org", "--program", "--contract", "--course", "--specialization", "--skill",
           "COLLECTION", "COURSE"}  # fmt: skip
EMAILS = {"--as", "--email", "EMAIL", "--admin-email", "--reply-to"}
DATES = {"--starts-at", "--ends-at", "--class-start", "--class-end", "--start", "--end"}

WRONG: dict[str, list[str]] = {
    "lookup": ["No such thing", "", "\x00", "x" * 100_000],
    "email": ["not-an-email", "ana@acme.example\r\nBcc: evil@evil.example", "a@b@c", ""],
    "date": ["yesterday", "2026-02-30", "", "9" * 40],
    "int": ["abc", "-1", "1" + "0" * 30, "1.5"],
    "choice": ["bogus", ""],
    "input": ["no-such.csv", "a-folder", "garbage.bin", "big-header.csv"],
    "folder": ["no-such-folder", "roster.csv"],
    "output": ["roster.csv/out.csv", "a-folder"],
    "--domain": ["not a domain", "", "acme..example"],
    "--timezone": ["Mars/Olympus", ""],
    "--slug": ["Not A Slug!", "-", ""],
    "--encoding": ["rot13", "no-such-codec", "\x00"],
    "--item": ["v1", "x" * 200_000, '"'],
    "--assessment": ["q1,Quiz,No/Such skill", "x" * 200_000, ",,,,,,"],
    "--idempotency-key": ["", "a\nb", "x" * 100],
    "--cta-url": ["javascript:alert(1)", "not a url", "https://[::1/x", "https://a.example:99999/"],
    "LINK": [
        "not-a-link",
        "https://evil.example/programs/academy/accept?token=forged.token",
        "http://[::1/programs/academy/accept?token=x",  # urlsplit raised ValueError: a traceback
    ],
    "--subject": ["Hi {learner_name}", "{% raw %}x{% endraw %}", "{{ lerner_name }}"],
    "--body": ["Hi {learner_name}", "{% for x in y %}{% endfor %}", "{{ 7*7 }}"],
    "--max": ["0", "abc"],
    "--every": ["abc", "-1", "0", "0.01", "nan", "1" + "0" * 30, ""],  # worker: else it loops
    "TEMPLATE": ["marketing"],
    "AUDIENCE": ["everyone"],
}
"""Values wrong by construction, by the family or the name of the parameter."""

REQUIRED_TEXT = {"NAME", "COURSE_ID", "--name", "--admin-name"}
"""Free text a command needs: blank is wrong, anything else may be taken."""

GLOBAL_WRONG = [
    ["--db", "sqlite:///file::memory:?cache=shared"],
    ["--db", "sqlite:///no/such/folder/x.db"],
    ["--db", "nosuch://host/db"],
    ["--db", "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1"],
    ["--db", "mysql+pymysql://root@127.0.0.1:1/none?charset=latin1"],
    ["--db", "sqlite:///x\x00.db"],
    ["--smtp-port", "abc"],
    ["--smtp-security", "bogus"],
    ["--base-url", "ftp://learning.example"],
    ["--secret-file", "a-folder"],
    ["--no-reply-address", "not-an-email"],
    ["--sender-address", "x\r\nBcc: evil@evil.example"],
]
"""Wrong global options; the ones that must fail before a command runs (``demo`` runs only
these: anything later would run the whole demo first)."""


def _base(path: tuple[str, ...], key: str) -> str:
    """A valid value for a parameter the command requires."""
    special = {
        ("init", "NAME"): "Acme Two",
        ("admin", "add", "EMAIL"): "lia@acme.example",
        ("contract", "create", "NAME"): "Y2",
        ("collection", "create", "NAME"): "More",
        ("invite", "--email"): "bo@acme.example",
        ("course", "add", "--slug"): "sql-2",
        ("report", "gradebook", "COURSE"): "SQL1",
    }
    common = {
        "--org": "Acme", "--as": "ana@acme.example", "--program": "academy", "--contract": "Y1",
        "--course": "SQL1", "--domain": "acme.example", "--admin-name": "Ana",
        "--admin-email": "ana@acme.example", "--kind": "licenses", "--starts-at": "2026-01-01",
        "--ends-at": "2030-01-01", "--name": "Name", "--email": "bo@acme.example",
        "--slug": "sql-2", "NAME": "Name", "EMAIL": "lia@acme.example", "COURSE_ID": "C9",
        "COLLECTION": "Start", "FILE": "roster.csv", "REFERENCE": "roster.csv",
        "TEMPLATE": "invitation", "AUDIENCE": "all_members", "LINK": "not-a-link",
        "COURSE": "SQL1",
    }  # fmt: skip
    return special.get((*path, key), common.get(key, "x"))


def _family(key: str, param: click.Parameter) -> tuple[list[str], bool]:
    """The values to try for a parameter, and whether each must make the command fail."""
    if key in WRONG:
        return WRONG[key], True
    kind = param.type
    if isinstance(kind, click.types.IntParamType | click.types.FloatParamType):
        return WRONG["int"], True
    if isinstance(kind, click.Choice):
        return WRONG["choice"], True
    if type(kind).__name__ == "InputPath":
        return WRONG["folder" if getattr(kind, "folder", False) else "input"], True
    if isinstance(kind, click.Path):  # OutputFile, demo's --output
        return WRONG["output"], True
    if key in LOOKUPS:
        return WRONG["lookup"], True
    if key in EMAILS:
        return WRONG["email"], True
    if key in DATES:
        return WRONG["date"], True
    if key in REQUIRED_TEXT and param.required:
        return ["", " \t "], True
    return HOSTILE, False


def _cases(path: tuple[str, ...]) -> list[Case]:
    command = _command(path)
    params = [p for p in command.params if not getattr(p, "is_flag", False) and p.name != "help"]
    arguments = [p for p in params if isinstance(p, click.Argument)]
    options = [p for p in params if isinstance(p, click.Option)]

    def argv(changed: click.Parameter | None = None, value: str = "") -> list[str]:
        out = [*path]
        for a in arguments:
            if a is changed:
                out.append(value)
            elif a.required:
                out.append(_base(path, _key(a)))
        for o in options:
            if o is changed:
                out += [_key(o), value]
            elif o.required:
                out += [_key(o), _base(path, _key(o))]
        return out

    cases: list[Case] = []
    if path != ("demo",):  # the demo with good values runs the whole job
        for p in params:
            values, must_fail = _family(_key(p), p)
            cases += [(f"{_key(p)}={v[:40]!r}", argv(p, v), must_fail) for v in values]
    start = COMMANDS.index(path) * 3  # each command takes three global options, in turn
    picked = [GLOBAL_WRONG[(start + i) % len(GLOBAL_WRONG)] for i in range(3)]
    if path == ("demo",):
        picked = GLOBAL_WRONG
    cases += [(" ".join(g)[:60], [*g, *argv()], True) for g in picked]
    return cases


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working directory with a database, a roster and some wrong files."""
    folder = tmp_path_factory.mktemp("wrong-values")
    db = f"sqlite:///{folder / 'cli.db'}"
    setup = [
        INIT,
        ("program", "create", "Academy", *AS, "--slug", "academy"),
        CONTRACT,
        ("course", "add", "SQL1", *AS, "--slug", "sql-1", "--name", "SQL"),
        ("collection", "create", "Start", *AS, "--program", "academy"),
        ("invite", *AS, *ACADEMY, "--name", "Lia", "--email", "lia@acme.example", "--no-email"),
    ]
    for args in setup:
        result = CliRunner().invoke(main, ["--db", db, *args], env=_env(folder))
        assert result.exit_code == 0, result.output
    (folder / "roster.csv").write_text(
        "Full Name,Email,External ID\nBo,bo@acme.example,\n", encoding="utf-8"
    )
    (folder / "garbage.bin").write_bytes(b"\xff\xfe\x00\x00" + bytes(range(256)) * 8)
    (folder / "big-header.csv").write_text("Full Name,Email," + "H" * 200_000 + "\n")
    (folder / "a-folder").mkdir()
    return folder


def _env(folder: Path) -> dict[str, str | None]:
    return {
        "LEARNPROG_DB": f"sqlite:///{folder / 'cli.db'}",
        "LEARNPROG_SECRET_KEY": None,
        "LEARNPROG_SECRET_FILE": str(folder / "cli.secret"),
        "LEARNPROG_MAIL_DIR": str(folder / "outbox"),
    }


def _problem(result: click.testing.Result, must_fail: bool) -> str | None:
    """What is wrong with how the command ended, or ``None``."""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        return f"raised {type(result.exception).__name__}: {result.exception}"[:300]
    if "Traceback" in result.output:
        return "printed a traceback"
    code = result.exit_code
    if code == 0:
        return "exited 0 on a wrong value" if must_fail else None
    errors = result.stderr.splitlines()
    if code == 1:
        if len(errors) != 1 or not errors[0].startswith("error: "):
            return f"exit 1 with stderr {result.stderr[:300]!r}"
        return None
    if code == 2:
        said = [line for line in errors if line.startswith("Error: ")]
        if len(said) != 1:
            return f"exit 2 with stderr {result.stderr[:300]!r}"
        return None
    return f"exit status {code}"


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) for p in COMMANDS])
def test_every_command_refuses_wrong_values_with_one_error_line(
    path: tuple[str, ...], world: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(world)
    problems = []
    for label, argv, must_fail in _cases(path):
        result = CliRunner().invoke(main, argv, env=_env(world))
        problem = _problem(result, must_fail)
        if problem is not None:
            problems.append(f"{' '.join(path)} [{label}]: {problem}")
    assert problems == []


def test_the_walk_finds_every_command() -> None:
    assert len(COMMANDS) >= 40  # the tree as it stands; a lost group would show here
    assert ("report", "gradebook") in COMMANDS
    assert ("db", "upgrade") in COMMANDS
