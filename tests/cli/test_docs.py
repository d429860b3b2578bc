"""docs/cli.md documents every command and global option, and its first session runs."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import click

from learnprog.cli import main
from tests.cli.conftest import outbox, run

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def commands(group: click.Group, prefix: str = "") -> Iterator[str]:
    """Every runnable command's path under ``group`` (``report email-zip``)."""
    ctx = click.Context(group)
    for name in group.list_commands(ctx):  # not group.commands: main loads its modules lazily
        command = group.get_command(ctx, name)
        assert command is not None, name
        path = f"{prefix}{name}"
        if isinstance(command, click.Group):
            yield from commands(command, f"{path} ")
        else:
            yield path


def test_the_command_tree_is_walked() -> None:
    found = set(commands(main))
    assert {"init", "invite-roster", "report email-zip", "db upgrade"} <= found
    assert "report" not in found  # groups are walked into, not listed


def test_every_command_has_a_heading_in_docs_cli_md() -> None:
    text = DOCS.read_text(encoding="utf-8")
    missing = [path for path in commands(main) if f"### `learnprog {path}`" not in text]
    assert missing == []


def test_every_global_option_and_its_variable_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for param in main.params:
        if isinstance(param, click.Option) and param.name not in ("version", "help"):
            assert f"`{param.opts[0]}`" in text, param.opts[0]
            if param.envvar:
                assert f"`{param.envvar}`" in text, param.envvar


def test_the_first_session_runs_as_written(db: str, tmp_path: Path) -> None:
    """docs/cli.md's "A first session": its two CSV files, then its commands, in order."""
    text = DOCS.read_text(encoding="utf-8")
    section = text[text.index("## A first session") : text.index("## Setting up")]
    courses, roster, commands = re.findall(r"^```\n(.*?)^```", section, re.DOTALL | re.MULTILINE)
    (tmp_path / "courses.csv").write_text(courses, encoding="utf-8")
    (tmp_path / "roster.csv").write_text(roster, encoding="utf-8")
    variables: dict[str, str] = {}
    out = ""
    for line in commands.splitlines():
        name, _, value = line.partition("=")
        if not line.startswith("learnprog "):
            variables[name] = shlex.split(value)[0]
            continue
        for variable, words in variables.items():
            line = line.replace(f"${variable}", words)
        code, out, err = run(db, *shlex.split(line)[1:])
        assert code == 0, f"{line}: {out}{err}"
    assert [row.split("\t")[:4] for row in out.splitlines()] == [
        ["name", "email", "external_id", "state"],
        ["Caio Prado", "caio@acme.example", "", "INVITED"],
        ["Lia Souza", "lia@acme.example", "E-001", "INVITED"],
    ]
    assert len(outbox(tmp_path)) == 2


def test_every_module_command_is_listed_for_lazy_loading() -> None:
    import importlib
    import pkgutil

    import learnprog.cli

    found = {}
    for info in pkgutil.iter_modules(learnprog.cli.__path__):
        module = importlib.import_module(f"learnprog.cli.{info.name}")
        for command in getattr(module, "COMMANDS", ()):
            found[command.name] = info.name
    assert found == learnprog.cli.COMMAND_MODULES
