"""What the command line prints from files and storage cannot fake its own lines or columns."""

from __future__ import annotations

from pathlib import Path

import pytest

from learnprog.cli._common import escape
from tests.cli.conftest import ACADEMY, AS, run


@pytest.mark.parametrize(
    ("value", "printed"),
    [
        ("Ana Lima", "Ana Lima"),
        ("x@acme.example\nline 3\tcreated", "x@acme.example\\nline 3\\tcreated"),
        ("a\rb", "a\\rb"),
        ("\x1b[2Kclear", "\\x1b[2Kclear"),
        ("a\x85b\u2028c\u2029d", "a\\x85b\\u2028c\\u2029d"),
        ("C:\\temp\\n", "C:\\\\temp\\\\n"),  # a real backslash stays told apart from \n
        ("José Ñúñez 山田", "José Ñúñez 山田"),
        (None, ""),
    ],
)
def test_values_are_escaped_as_python_writes_them(value: str | None, printed: str) -> None:
    assert escape(value) == printed
    assert len(escape(value).splitlines()) <= 1


def test_a_cell_holding_a_line_break_and_tabs_cannot_fake_a_result_line(
    acme: str, tmp_path: Path
) -> None:
    """The finding: a quoted Email cell printed a line of its own, ``line 3<TAB>created``."""
    (tmp_path / "roster.csv").write_bytes(
        b'Full Name,Email,External ID\nA,"x@acme.example\nline 3\tcreated\tforged@acme.example",\n'
    )
    code, out, _ = run(acme, "invite-roster", "roster.csv", *AS, *ACADEMY)
    assert code == 0
    result, totals = out.splitlines()
    fields = result.split("\t")
    assert fields[:3] == [
        "line 2",
        "rejected",
        "x@acme.example\\nline 3\\tcreated\\tforged@acme.example",
    ]
    assert fields[3] == "email: control characters (CR, LF, ...) are not allowed"
    assert totals.startswith("1 line: 0 invited")
    assert not any(line.startswith("line 3") for line in out.splitlines())
