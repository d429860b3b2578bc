"""docs/cli.md documents every command and global option of `learnprog`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click

from learnprog.cli import main

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def commands(group: click.Group, prefix: str = "") -> Iterator[str]:
    """Every runnable command's path under ``group`` (``report email-zip``)."""
    for name, command in group.commands.items():
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
