"""Fixtures of the command-line tests: a SQLite file in a temporary working directory."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

import learnprog
from learnprog.cli import main
from learnprog.model.access import Actor, LearnerActor, SystemActor
from learnprog.model.organization import Organization

INIT = (
    "init",
    "Acme",
    "--domain",
    "acme.example",
    "--admin-name",
    "Ana Lima",
    "--admin-email",
    "ana@acme.example",
)
AS = ("--org", "Acme", "--as", "ana@acme.example")
CONTRACT = (
    "contract",
    "create",
    "Y1",
    *AS,
    "--kind",
    "licenses",
    "--quantity",
    "10",
    "--starts-at",
    "2026-01-01",
    "--ends-at",
    "2030-01-01",
)
ACADEMY = ("--program", "academy", "--contract", "Y1")


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)  # the default outbox/ and outputs land here
    return f"sqlite:///{tmp_path / 'cli.db'}"


def run(db: str, *args: str, input: str | None = None) -> tuple[int, str, str]:
    """Run ``learnprog --db DB ARGS``; return the exit code, stdout and stderr."""
    result = CliRunner().invoke(main, ["--db", db, *args], input=input)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a bug, not a user error: show its traceback
    return result.exit_code, result.stdout, result.stderr


def ok(db: str, *args: str) -> str:
    """Run a command that must succeed; return its stdout."""
    code, out, err = run(db, *args)
    assert code == 0, out + err
    return out


@pytest.fixture
def acme(db: str) -> str:
    """Acme with its admin Ana, the program ``academy`` and the licenses contract ``Y1``."""
    ok(db, *INIT)
    ok(db, "program", "create", "Academy", *AS, "--slug", "academy")
    ok(db, *CONTRACT)
    return db


def as_ana(lp: learnprog.Learnprog) -> tuple[Organization, Actor]:
    """Acme and Ana as the Python API sees them."""
    org = lp.organizations.list_organizations(SystemActor())[0]
    return org, lp.organizations.resolve_actor(SystemActor(), org.id, "ana@acme.example")


def outbox(tmp_path: Path) -> list[Path]:
    """The messages delivered into the default Maildir."""
    folder = tmp_path / "outbox" / "new"
    return sorted(folder.iterdir()) if folder.exists() else []


ACTIVITY = """\
ID,Email,Course ID,Activity,Item ID,Time,Grade
e1,lia@acme.example,DB1,started,v1,2026-02-03T10:00:00Z,
e2,LIA@acme.example,DB1,completed,v1,2026-02-03T10:20:00,
a1,lia@acme.example,DB1,attempt,q0,2026-02-03T11:00:00Z,90
a2,lia@acme.example,DB1,attempt,q1,2026-02-03T11:10:00Z,80
a3,lia@acme.example,DB1,attempt,q2,2026-02-03T11:20:00Z,70
x1,ghost@acme.example,DB1,started,v1,2026-02-03T10:00:00Z,
x2,lia@acme.example,DB1,attempt,q1,2026-02-03T11:30:00Z,170
x3,lia@acme.example,DB9,started,v1,2026-02-03T10:00:00Z,
x4,lia@acme.example,DB1,watched,v1,2026-02-03T10:00:00Z,
x5,lia@acme.example,DB1,started,v1,yesterday,
x6,lia@acme.example,DB1,attempt,q9,2026-02-03T11:40:00Z,50
"""


@pytest.fixture
def enrolled(acme: str, tmp_path: Path) -> str:
    """Lia, a member of academy, enrolled since 2 February 2026 in DB1.

    DB1 has one video and three quizzes measuring the skill Data/SQL, all made with the
    command line; joining and enrolling are the learner's doing in the host app (Python here).
    """
    (tmp_path / "skills.csv").write_text("Domain,Skill\nData,SQL\n", encoding="utf-8")
    ok(acme, "skills", "glossary", "skills.csv", *AS)
    quizzes = [arg for i in range(3) for arg in ("--assessment", f"q{i},Quiz {i},Data/SQL,60")]
    ok(acme, "course", "add", "DB1", *AS, "--slug", "db-1", "--name", "Databases",
       "--item", "v1,video,Week 1,Video", *quizzes)  # fmt: skip
    ok(acme, "invite", *AS, *ACADEMY, "--name", "Lia Souza", "--email", "lia@acme.example",
       "--no-email")  # fmt: skip
    with learnprog.connect(acme) as lp:
        org, ana = as_ana(lp)
        (course,) = lp.programs.list_courses(ana, org.id)
        lia = lp.organizations.resolve_actor(SystemActor(), org.id, "lia@acme.example")
        assert isinstance(lia, LearnerActor)
        program = lp.invitations.accept_by_sign_in(lia, "academy").program_id
        lp.learning.record_enrollment(
            ana, program, lia.learner_id, course.id, enrolled_at=datetime(2026, 2, 2, tzinfo=UTC)
        )
    return acme
