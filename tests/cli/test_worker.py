"""``learnprog worker`` in this process: one run, its log, and its options."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import ACADEMY, AS, ok, outbox, run

LIA = ("--name", "Lia Souza", "--email", "lia@acme.example")


def test_once_delivers_what_is_due_logs_each_step_and_exits_0(acme: str, tmp_path: Path) -> None:
    ok(acme, "invite", *AS, *ACADEMY, *LIA)
    code, out, err = run(acme, "worker", "--once")
    assert code == 0, err
    assert out == ""
    assert len(outbox(tmp_path)) == 1  # Lia's invitation
    assert "worker started on sqlite:///" in err
    assert "steps reports, skills, mail, once\n" in err  # not "every 60.0 s": it runs once
    assert "mail: done in" in err
    assert "sent 1, retried 0" in err
    assert "skills: done in" in err
    assert "scored 0 attempts in 0 of 1 organizations" in err
    assert "worker stopped" in err

    code, _, err = run(acme, "worker", "--once", "--log-level", "warning")
    assert code == 0
    assert err == ""  # nothing due, nothing worth a warning
    assert len(outbox(tmp_path)) == 1


def test_a_password_in_the_url_is_not_logged() -> None:
    from learnprog.cli.worker import _shown_url

    shown = _shown_url("postgresql+psycopg://learnprog:s3cret@db.internal/learnprog")
    assert "s3cret" not in shown
    assert shown.startswith("postgresql+psycopg://learnprog:***@db.internal")


def test_bad_options_are_usage_errors(acme: str) -> None:
    wrong = (
        ("--every", "0"),
        ("--every", "-5"),
        ("--every", "soon"),
        ("--every", "nan"),
        ("--every", "inf"),
        ("--log-level", "x"),
    )
    for args in wrong:
        code, _, err = run(acme, "worker", *args)
        assert code == 2, args
        assert "Invalid value" in err


def test_a_missing_database_stops_the_worker_with_one_line(db: str) -> None:
    code, _, err = run(db, "worker", "--once")
    assert code == 1
    assert err.startswith("error: no database at ")
