"""The small examples run as scripts and print what the README says they do."""

from __future__ import annotations

from pathlib import Path

from tests.examples.conftest import EXAMPLES, run_script


def test_quickstart_creates_a_program_and_audits_every_step(tmp_path: Path) -> None:
    slug, actions = run_script(EXAMPLES / "quickstart.py", tmp_path).strip().split(" ", 1)
    assert slug.startswith("data-academy-")
    for action in ("organization.create", "admin.add", "program.create", "contract.create"):
        assert repr(action) in actions
    assert list(tmp_path.iterdir()) == [], "an in-memory example writes nothing"


def test_bulk_invite_reports_each_line_and_delivers_the_invitations(tmp_path: Path) -> None:
    lines = run_script(EXAMPLES / "bulk_invite.py", tmp_path).splitlines()
    assert lines[:3] == ["2 created ", "3 rejected the Email is empty", "4 created "]
    assert "created=2" in lines[3]
    assert "rejected=1" in lines[3]
    assert lines[4].startswith("DispatchReport(sent=2, retried=0, failed=0")
