"""The `learnprog` command: exit codes, one-line errors, JSON listings, atomic init, the demo."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import learnprog
from learnprog.cli import _this_command
from learnprog.mail.rendering import PROGRAM_WELCOME
from tests.cli.conftest import AS, INIT, run


def test_a_first_run_creates_an_organization_program_and_contract(db: str) -> None:
    assert run(db, *INIT)[0] == 0
    assert run(db, "program", "create", "Data Academy", *AS, "--slug", "data-academy")[0] == 0
    code, out, _ = run(
        db,
        "contract",
        "create",
        "Y1",
        *AS,
        "--kind",
        "licenses",
        "--quantity",
        "10",
        "--starts",
        "2026-01-01",
        "--ends",
        "2027-01-01",
    )
    assert code == 0
    code, out, _ = run(db, "program", "list", *AS, "--json")
    assert code == 0
    assert [p["slug"] for p in json.loads(out)] == ["data-academy"]
    code, out, _ = run(db, "contract", "list", *AS, "--json")
    assert [(c["name"], c["remaining"]) for c in json.loads(out)] == [("Y1", 10)]
    code, out, _ = run(db, "audit", *AS, "--json")
    assert [e["action"] for e in json.loads(out)][:2] == ["contract.create", "program.create"]


def test_a_failed_init_leaves_nothing_behind(db: str) -> None:
    code, out, err = run(
        db,
        "init",
        "Acme",
        "--domain",
        "acme.example",
        "--admin-name",
        "Ana",
        "--admin-email",
        "ana@elsewhere.example",
    )
    assert code == 1
    assert err.startswith("error: ")
    assert err.count("\n") == 1
    assert "Traceback" not in out + err
    assert run(db, *INIT)[0] == 0  # the name is still free: nothing half-made stands in its way
    assert run(db, "program", "list", *AS)[0] == 0


@pytest.mark.parametrize(
    "args",
    [
        ("program", "create", "P", *AS, "--course-enrollment-limit", "99999999999999999999"),
        (
            "contract",
            "create",
            "C",
            *AS,
            "--kind",
            "licenses",
            "--quantity",
            "99999999999999999999",
            "--starts",
            "2026-01-01",
            "--ends",
            "2027-01-01",
        ),
        (
            "contract",
            "create",
            "C",
            *AS,
            "--kind",
            "unlimited",
            "--starts",
            "9999-12-31T23:00:00-05:00",
            "--ends",
            "9999-12-31T23:30:00-05:00",
        ),
        ("program", "list", "--org", "Nope", "--as", "ana@acme.example"),
        ("program", "list", "--org", "Acme", "--as", "ghost@acme.example"),
    ],
)
def test_learnprog_errors_exit_1_with_one_line(db: str, args: tuple[str, ...]) -> None:
    assert run(db, *INIT)[0] == 0
    code, out, err = run(db, *args)
    assert code == 1, out + err
    assert err.startswith("error: ")
    assert err.count("\n") == 1
    assert "Traceback" not in out + err


@pytest.mark.parametrize(
    "args",
    [
        ("program", "list", *AS),
        ("mail", "deliver"),
        ("report", "funnel", *AS),
    ],
)
def test_a_command_needing_data_makes_no_database_file(
    db: str, tmp_path: Path, args: tuple[str, ...]
) -> None:
    code, out, err = run(db, *args)
    assert out == ""
    assert code == 1
    assert err == (
        f"error: no database at {tmp_path / 'cli.db'} (pass --db or set LEARNPROG_DB; "
        "learnprog init or learnprog demo makes one)\n"
    )
    assert list(tmp_path.iterdir()) == []  # no database, no secret file


def test_init_makes_the_database_file(db: str, tmp_path: Path) -> None:
    assert run(db, *INIT)[0] == 0
    assert (tmp_path / "cli.db").exists()
    assert run(db, "program", "list", *AS)[0] == 0


def test_one_database_has_one_secret_wherever_it_is_used_from(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    monkeypatch.chdir(first)
    assert run(db, *INIT)[0] == 0
    secret = (tmp_path / "cli.db.secret").read_text(encoding="utf-8")
    assert len(secret) >= 16
    monkeypatch.chdir(second)
    assert run(db, "program", "list", *AS)[0] == 0
    assert (tmp_path / "cli.db.secret").read_text(encoding="utf-8") == secret
    assert list(first.iterdir()) == list(second.iterdir()) == []


def test_the_secret_file_option_and_key_variable_still_decide(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(db, "--secret-file", str(tmp_path / "mine.secret"), *INIT)[0] == 0
    assert (tmp_path / "mine.secret").exists()
    assert not (tmp_path / "cli.db.secret").exists()
    monkeypatch.setenv("LEARNPROG_SECRET_KEY", "a-secret-of-sixteen-or-more")
    assert run(db, "program", "list", *AS)[0] == 0
    assert not (tmp_path / "cli.db.secret").exists()


def test_other_storage_keeps_its_secret_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert run("memory://", *INIT)[0] == 0
    assert [p.name for p in tmp_path.iterdir()] == ["learnprog.secret"]


def test_the_acting_admin_is_named_by_address_in_errors(acme: str) -> None:
    with learnprog.connect(acme) as lp:
        org = lp.organizations.list_organizations(learnprog.SystemActor())[0]
        ana = lp.organizations.resolve_actor(learnprog.SystemActor(), org.id, "ana@acme.example")
        academy = lp.programs.list_programs(ana, org.id)[0]
        lp.programs.create_program(ana, org.id, "Other", slug="other")
        lp.organizations.register_learner(ana, org.id, "Lia Souza", "lia@acme.example")
        lp.organizations.register_learner(ana, org.id, "Bo Park", "bo@acme.example")
        lp.organizations.add_admin(
            ana, org.id, "bo@acme.example", role="program", program_ids=[academy.id]
        )
    nobody = ("--org", "Acme", "--as", "nobody@acme.example")
    lia = ("--org", "Acme", "--as", "lia@acme.example")
    bo = ("--org", "Acme", "--as", "bo@acme.example")
    assert run(acme, "program", "list", *nobody)[::2] == (
        1,
        "error: --as: no admin with email nobody@acme.example in 'Acme'\n",
    )
    assert run(acme, "program", "list", *lia)[::2] == (
        1,
        "error: --as: lia@acme.example is not an admin of 'Acme'\n",
    )
    assert run(acme, "audit", *bo)[::2] == (
        1,
        "error: bo@acme.example is not an organization admin of 'Acme', only an admin of some "
        "of its programs, and may not read the audit log\n",
    )
    assert run(acme, "members", "list", *bo, "--program", "other")[::2] == (
        1,
        "error: --program: bo@acme.example is not an admin of a program 'other' in 'Acme'\n",
    )
    assert run(acme, "members", "list", *bo, "--program", "academy")[0] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("invite-roster", "nosuch.csv", *AS, "--program", "p", "--contract", "c"),
         "file 'nosuch.csv' does not exist"),
        (("course", "import", "nosuch.csv", *AS), "file 'nosuch.csv' does not exist"),
        (("import", "activity", "nosuch.csv", *AS), "file 'nosuch.csv' does not exist"),
        (("import", "oulad", "nosuch", *AS, "--program", "p", "--contract", "c"),
         "folder 'nosuch' does not exist"),
        (("skills", "benchmark", "nosuch.csv", *AS), "file 'nosuch.csv' does not exist"),
        (("message", "preview", "all_members", *AS, "--body-file", "nosuch.txt"),
         "--body-file: file 'nosuch.txt' does not exist"),
        (("specialization", "import", ".", *AS), "'.' is a folder, not a file"),
    ],
)  # fmt: skip
def test_a_missing_input_file_is_a_one_line_user_error(
    acme: str, args: tuple[str, ...], message: str
) -> None:
    assert run(acme, *args) == (1, "", f"error: {message}\n")


def test_usage_errors_exit_2(db: str) -> None:
    assert run(db, "program", "create")[0] == 2
    assert (
        run(
            db, "contract", "create", "C", *AS, "--kind", "forever", "--starts", "x", "--ends", "y"
        )[0]
        == 2
    )
    assert run(db, "nonsense")[0] == 2


def test_an_unusable_database_url_exits_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run("postgresql+nodriver://x/y", "db", "upgrade")
    assert code == 1
    assert "nodriver" in err


def test_init_refuses_a_name_that_is_taken(db: str) -> None:
    assert run(db, *INIT)[0] == 0
    code, _, err = run(db, *INIT)
    assert code == 1
    assert "exists already" in err


def test_two_organizations_with_one_name_must_be_told_apart(db: str) -> None:
    assert run(db, *INIT)[0] == 0
    with learnprog.connect(db) as lp:  # another host app may allow a second "Acme"
        other = lp.organizations.create_organization(
            learnprog.SystemActor(),
            "Acme",
            email_domains=["acme2.example"],
            admin_name="Bo",
            admin_email="bo@acme2.example",
        )
    code, _, err = run(db, "program", "list", *AS)
    assert code == 1
    assert "2 organizations are named 'Acme'" in err
    code, out, _ = run(db, "program", "list", "--org", other.id, "--as", "bo@acme2.example")
    assert code == 0
    assert out == "slug\tname\ttagline\n"


def test_a_program_admin_reads_their_programs_audit_log(db: str) -> None:
    assert run(db, *INIT)[0] == 0
    assert run(db, "program", "create", "Academy", *AS, "--slug", "academy")[0] == 0
    with learnprog.connect(db) as lp:
        org = lp.organizations.list_organizations(learnprog.SystemActor())[0]
        ana = lp.organizations.resolve_actor(learnprog.SystemActor(), org.id, "ana@acme.example")
        academy = lp.programs.list_programs(ana, org.id)[0]
        lp.organizations.register_learner(ana, org.id, "Bo Park", "bo@acme.example")
        lp.organizations.add_admin(
            ana, org.id, "bo@acme.example", role="program", program_ids=[academy.id]
        )
    bo = ("--org", "Acme", "--as", "bo@acme.example")
    assert run(db, "audit", *bo)[0] == 1
    code, out, _ = run(db, "audit", *bo, "--program", "academy", "--json")
    assert code == 0
    assert [e["action"] for e in json.loads(out)] == ["admin.add", "program.create"]


def test_mail_is_delivered_into_the_mail_directory(db: str, tmp_path: Path) -> None:
    assert run(db, *INIT)[0] == 0
    assert run(db, "program", "create", "Academy", *AS, "--slug", "academy")[0] == 0
    with learnprog.connect(db) as lp:  # queue one welcome email, as the invitation issue will
        org = lp.organizations.list_organizations(learnprog.SystemActor())[0]
        ana = lp.organizations.resolve_actor(learnprog.SystemActor(), org.id, "ana@acme.example")
        program = lp.programs.list_programs(ana, org.id)[0]
        learner = lp.organizations.register_learner(ana, org.id, "Lia", "lia@example.org")
        message = lp.mail.composer.system_message(
            PROGRAM_WELCOME, organization=org, program=program, learner=learner
        )
        with lp.context.uow_factory() as uow:
            lp.mail.composer.queue(uow, message)
            uow.commit()
    code, out, _ = run(db, "mail", "deliver")
    assert code == 0
    assert out.startswith("sent 1,")
    files = list((tmp_path / "outbox" / "new").iterdir())
    assert len(files) == 1
    assert b"Welcome to Academy" in files[0].read_bytes()
    assert (tmp_path / "cli.db.secret").stat().st_mode & 0o077 == 0
    code, out, _ = run(db, "mail", "log", *AS, "--json")
    assert [d["outcome"] for d in json.loads(out)] == ["sent"]


def test_mail_preview_prints_the_text_and_writes_the_html(db: str, tmp_path: Path) -> None:
    assert run(db, *INIT)[0] == 0
    assert run(db, "program", "create", "Academy", *AS, "--slug", "academy")[0] == 0
    code, out, _ = run(
        db,
        "mail",
        "preview",
        "invitation",
        *AS,
        "--program",
        "academy",
        "--html",
        str(tmp_path / "invitation.html"),
    )
    assert code == 0
    assert out.startswith("Subject: You're invited to Academy")
    assert "<html" in (tmp_path / "invitation.html").read_text(encoding="utf-8")


def test_the_demo_runs_the_whole_job_on_the_shipped_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run("memory://", "demo")
    assert code == 0, err
    assert "12,400 members, 12,489 enrollments, 36,166 attempts added" in out
    assert "4 invited" not in out
    assert "5 invited; 5 emails delivered\n  roster line 8 rejected: email: " in out
    assert "--- usage funnel" in out
    assert "invitations sent\t12,405" in out
    leaderboard = out.split("--- skill leaderboard (top 10)\n", 1)[1].split("--- files")[0]
    assert len(leaderboard.strip().splitlines()) == 10
    scores = [line.rsplit("\t", 1)[1] for line in leaderboard.strip().splitlines()]
    assert all(re.fullmatch(r"\d+\.\d", score) for score in scores), scores  # as the leaderboard
    names = sorted(p.name for p in (tmp_path / "demo-output").iterdir())
    assert names == [
        "analytics.json",
        "email-report-figures.txt",
        "email-report.zip",
        "gradebook-AAA-2013J.zip",
    ]
    analytics = json.loads((tmp_path / "demo-output" / "analytics.json").read_text("utf-8"))
    utilization = analytics["utilization"]
    assert (utilization["licenses_purchased"], utilization["occupied"]) == (20_000, 12_400)
    assert analytics["learner_activity"]["weeks"][0]["start"] == "2013-03-04"
    assert len(list((tmp_path / "outbox" / "new").iterdir())) == 5
    explore = out.split("--- explore\n", 1)[1].splitlines()
    assert explore[:2] == [
        "organization\tOpen University (learnprog demo)",
        "admin\tadmin@ou-demo.example",
    ]
    assert explore[2].startswith("note\tmemory storage keeps nothing")
    assert explore[3] == (
        "try\tlearnprog --db memory:// members list --org 'Open University (learnprog demo)' "
        "--as admin@ou-demo.example --program ou-demo --limit 5"
    )


def test_the_demo_hint_names_a_learnprog_the_shell_would_not_find_by_its_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    venv_command = tmp_path / ".venv" / "bin" / "learnprog"  # as scripts/run starts it
    venv_command.parent.mkdir(parents=True)
    venv_command.write_text("#!/bin/sh\n")
    venv_command.chmod(0o755)
    monkeypatch.setattr("sys.argv", [str(venv_command), "demo"])
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert _this_command() == str(venv_command)
    monkeypatch.setenv("PATH", f"{venv_command.parent}:/usr/bin")  # an activated venv
    assert _this_command() == "learnprog"
    monkeypatch.setattr("sys.argv", ["/somewhere/pytest"])  # not the learnprog command
    assert _this_command() == "learnprog"
