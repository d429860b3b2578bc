"""`learnprog report ...`, `learnprog message ...` and `mail log`."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest

import learnprog
from tests.cli.conftest import ACADEMY, ACTIVITY, AS, as_ana, ok, outbox, run


@pytest.fixture
def active(enrolled: str, tmp_path: Path) -> str:
    """Lia enrolled in DB1 with her activity imported; Cy invited and not joined."""
    (tmp_path / "activity.csv").write_text(ACTIVITY, encoding="utf-8")
    ok(enrolled, "import", "activity", "activity.csv", *AS)
    ok(enrolled, "invite", *AS, *ACADEMY, "--name", "Cy", "--email", "cy@acme.example")
    return enrolled


def test_summary_and_funnel_print_figures_and_write_json(active: str, tmp_path: Path) -> None:
    summary = json.loads(ok(active, "report", "summary", *AS, "--json"))
    assert (summary["enrollments"], summary["lessons_taken"]) == (1, 1)
    text = ok(active, "report", "summary", *AS, "--program", "academy").splitlines()
    assert text[0] == "enrollments\t1"
    assert "average_rating\t" in text
    out = ok(active, "report", "funnel", *AS)
    assert out.splitlines() == ["invitations sent\t2", "joined\t1\t50.00%", "enrolled\t1\t100.00%"]
    ok(active, "invite", *AS, *ACADEMY, "--name", "Di", "--email", "di@acme.example")
    out = ok(active, "report", "funnel", *AS)
    assert out.splitlines()[1] == "joined\t1\t33.33%"  # 1 of 3, two decimals
    shown = json.loads(ok(active, "report", "funnel", *AS, "--json", "--output", "funnel.json"))
    saved = json.loads((tmp_path / "funnel.json").read_text(encoding="utf-8"))
    assert saved == shown
    assert (saved["invitations_sent"], saved["joined"], saved["join_rate"]) == (3, 1, 33.33)
    assert saved["enroll_rate"] == 100.0


def test_the_email_zip_and_the_csv_reports_are_written(active: str, tmp_path: Path) -> None:
    out = ok(active, "report", "email-zip", *AS, "--figures", "figures.txt")
    assert out.splitlines()[0] == (
        "email-report.zip: member-report.csv, usage-report.csv, specialization-report.csv"
    )
    with zipfile.ZipFile(tmp_path / "email-report.zip") as archive:
        members = list(csv.DictReader(io.StringIO(archive.read("member-report.csv").decode())))
        assert {oct(i.external_attr >> 16) for i in archive.infolist()} == {"0o100644"}
    assert sorted(m["Email"] for m in members) == ["cy@acme.example", "lia@acme.example"]
    assert len((tmp_path / "figures.txt").read_text(encoding="utf-8").splitlines()) == 18
    assert ok(active, "report", "usage", *AS) == "usage-report.csv: 1 row\n"
    with (tmp_path / "usage-report.csv").open(encoding="utf-8", newline="") as handle:
        (usage,) = list(csv.DictReader(handle))
    assert usage["Email"] == "lia@acme.example"
    assert ok(active, "report", "members", *AS, "--output", "m.csv", "--excel") == "m.csv: 2 rows\n"
    assert (tmp_path / "m.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert ok(active, "report", "specializations", *AS) == "specialization-report.csv: 0 rows\n"


def test_an_output_file_in_a_missing_folder_gets_its_folder(active: str, tmp_path: Path) -> None:
    ok(active, "report", "email-zip", *AS, "--output", "reports/acme.zip",
       "--figures", "reports/figures/acme.txt")  # fmt: skip
    assert zipfile.is_zipfile(tmp_path / "reports" / "acme.zip")
    assert (tmp_path / "reports" / "figures" / "acme.txt").read_text(encoding="utf-8")
    (tmp_path / "taken").write_text("a file, not a folder", encoding="utf-8")
    code, _, err = run(active, "report", "funnel", *AS, "--output", "taken/funnel.json")
    assert code == 1
    assert err.startswith("error: --output: cannot make the folder 'taken': ")


def test_the_gradebook_and_analytics_are_written(active: str, tmp_path: Path) -> None:
    assert ok(active, "report", "gradebook", "DB1", *AS, "--program", "academy") == (
        "gradebook-DB1.zip\n"
    )
    with zipfile.ZipFile(tmp_path / "gradebook-DB1.zip") as archive:
        assert sorted(archive.namelist()) == ["assessment_attempts.csv", "gradebook.csv"]
        assert {oct(i.external_attr >> 16) for i in archive.infolist()} == {"0o100644"}
        attempts = archive.read("assessment_attempts.csv").decode().splitlines()
    assert len(attempts) == 1 + 3
    code, _, err = run(active, "report", "gradebook", "NOPE", *AS)
    assert (code, err) == (1, "error: course 'NOPE' not found\n")
    ok(active, "report", "analytics", *AS, "--start", "2026-01-01", "--output", "a.json")
    analytics = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))
    assert set(analytics) == {
        "learner_activity",
        "learner_feedback",
        "utilization",
        "skills_proficiency",
    }
    assert analytics["utilization"]["licenses_purchased"] == 10
    assert run(active, "report", "analytics", *AS, "--start", "then")[0] == 2


def test_a_program_admin_cannot_report_on_another_program(active: str) -> None:
    ok(active, "program", "create", "Other", *AS, "--slug", "other")
    ok(active, "admin", "add", "bo@acme.example", *AS, "--name", "Bo", "--program", "other")
    bo = ("--org", "Acme", "--as", "bo@acme.example")
    assert run(active, "report", "funnel", *bo, "--program", "academy")[0] == 1
    assert json.loads(ok(active, "report", "funnel", *bo, "--json"))["invitations_sent"] == 0


def test_message_audiences_preview_and_send(active: str, tmp_path: Path) -> None:
    audiences = json.loads(ok(active, "message", "audiences", *AS, "--json"))
    assert audiences[0]["audience"] == "invited_not_joined"
    message = ("all_members", *AS, "--subject", "Hello {{ learner_name }}", "--body", "Go on")
    preview = ok(active, "message", "preview", *message).splitlines()
    assert preview[:3] == ["recipients 1, opted out 0, removed 0", "Subject: Hello Lia Souza", ""]
    code, _, err = run(active, "message", "send", *message)
    assert code == 1
    assert err.startswith("error: --agree-to-terms: agree to the terms of use")
    code, _, err = run(active, "message", "send", *message, "--agree-to-terms", input="n\n")
    assert code == 1
    assert err.startswith(
        "Send 'Hello Lia Souza' (filled in per learner; shown for lia@acme.example) to 1 "
        "learner? [y/N]: "
    )
    assert err.endswith("\nerror: not sent: declined (pass --yes to send without asking)\n")
    code, _, err = run(active, "message", "send", *message, "--agree-to-terms", input="")
    assert code == 1
    assert err.endswith(
        "[y/N]: \nerror: not sent: the question got no answer (pass --yes to send without asking)\n"
    )
    assert json.loads(ok(active, "message", "history", *AS, "--json")) == []
    code, out, _ = run(active, "message", "send", *message, "--agree-to-terms", input="y\n")
    assert code == 0
    assert out.startswith("queued to 1 learner (")
    ok(active, "mail", "deliver")
    assert any(b"Subject: Hello Lia Souza" in p.read_bytes() for p in outbox(tmp_path))
    (sent,) = json.loads(ok(active, "message", "history", *AS, "--json"))
    assert sent["recipients"] == 1


def test_a_message_to_nobody_is_refused_before_asking(active: str) -> None:
    code, out, err = run(active, "message", "send", "recent_completion", *AS, "--program",
                         "academy", "--agree-to-terms", input="y\n")  # fmt: skip
    assert (code, out) == (1, "")
    assert err == (
        "error: nobody to send to: the audience recent_completion has no learner to reach; "
        "nothing queued\n"
    )
    assert json.loads(ok(active, "message", "history", *AS, "--json")) == []


def test_message_filters_and_bad_details(active: str, tmp_path: Path) -> None:
    by_course = ok(active, "message", "preview", "invited_not_joined", *AS, "--course", "DB1")
    assert by_course.startswith("recipients 0,")  # Cy is invited but enrolled in nothing
    everyone = ok(active, "message", "preview", "invited_not_joined", *AS, "--program", "academy")
    assert everyone.startswith("recipients 1,")
    (tmp_path / "body.txt").write_text("From a file", encoding="utf-8")
    out = ok(active, "message", "send", "all_members", *AS, "--body-file", "body.txt",
             "--agree-to-terms", "--yes", "--idempotency-key", "k1")  # fmt: skip
    assert out.startswith("queued to 1 learner (")
    ok(active, "message", "send", "all_members", *AS, "--body-file", "body.txt",
       "--agree-to-terms", "--yes", "--idempotency-key", "k1")  # fmt: skip
    assert len(json.loads(ok(active, "message", "history", *AS, "--json"))) == 1
    code, _, err = run(active, "message", "preview", "all_members", *AS, "--subject", "{{ x }}")
    assert code == 1
    assert err.startswith("error: --subject: unknown placeholder")
    (tmp_path / "latin.txt").write_bytes("Olá".encode("latin-1"))
    code, _, err = run(active, "message", "preview", "all_members", *AS, "--body-file", "latin.txt")
    assert (code, err) == (1, "error: --body-file: latin.txt is not UTF-8 text\n")
    assert run(active, "message", "preview", "everyone", *AS)[0] == 2
    assert run(active, "message", "preview", "all_members", *AS, "--cta-label", "Go")[0] == 2
    code, _, err = run(active, "message", "preview", "all_members", *AS, "--cta-label", "Go",
                       "--cta-url", "javascript:alert(1)")  # fmt: skip
    assert (code, err) == (1, "error: --cta-url: an absolute http or https URL is required\n")
    code, _, err = run(active, "message", "send", "all_members", *AS, "--body", " ",
                       "--agree-to-terms", "--yes")  # fmt: skip
    assert code == 1
    assert err.startswith("error: --body: ")


def test_mail_log_prints_empty_cells_empty(active: str) -> None:
    ok(active, "mail", "deliver")
    lines = ok(active, "mail", "log", *AS).splitlines()
    assert lines[0] == "at\trecipient\tcategory\ttemplate\toutcome\tdetail"
    assert lines[1].endswith("\tcy@acme.example\ttransactional\tinvitation\tsent\t")
    assert "None" not in "\n".join(lines)


@pytest.mark.parametrize(
    ("command", "output", "what"),
    [
        (("report", "members"), "cli.db", "SQLite database"),
        (("report", "usage"), "./cli.db", "SQLite database"),
        (("report", "email-zip"), "db-link", "SQLite database"),
        (("report", "funnel", "--json"), "cli.db-journal", "SQLite database's journal"),
        (("report", "members"), "cli.db.secret", "link-signing secret file"),
    ],
)
def test_a_report_is_never_written_over_learnprogs_own_files(
    acme: str, tmp_path: Path, command: tuple[str, ...], output: str, what: str
) -> None:
    """Finding: ``report members --output learnprog.db`` overwrote the database in use (every
    record lost: "file is not a database"), and the secret file could be overwritten too."""
    (tmp_path / "db-link").symlink_to(tmp_path / "cli.db")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("cli.db")}
    code, _, err = run(acme, *command, *AS, "--output", output)
    assert code == 1
    assert err.startswith(f"error: --output: {str(Path(output))!r} is the {what} in use")
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("cli.db")}
    assert after == before
    assert "academy" in ok(acme, "program", "list", *AS)


@pytest.mark.parametrize(
    ("output", "what"),
    [
        ("cli.db", "SQLite database"),
        ("./sub/../cli.db", "SQLite database"),
        ("db-link", "SQLite database"),
        ("cli.db-wal", "SQLite database's journal"),
        ("cli.db.secret", "link-signing secret file"),
    ],
)
def test_python_writers_never_write_over_the_database_or_its_secret(
    acme: str, tmp_path: Path, output: str, what: str
) -> None:
    """Issue 17: the command line refused ``--output learnprog.db``, but Python's
    ``write_zip(..., "learnprog.db")`` and ``bulk_invite(rejections_to=...)`` overwrote it."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "db-link").symlink_to(tmp_path / "cli.db")
    (tmp_path / "roster.csv").write_text(
        "Full Name,Email,External ID\nBad,nope,\n", encoding="utf-8"
    )
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("cli.db")}
    with learnprog.connect(acme) as lp:
        org, ana = as_ana(lp)
        (program,) = lp.programs.list_programs(ana, org.id)
        (contract,) = lp.programs.list_contracts(ana, org.id)
        with pytest.raises(learnprog.ValidationError) as info:
            lp.reports.write_zip(ana, org.id, output)
        assert info.value.field == "target"
        assert info.value.reason.startswith(f"{str(Path(output))!r} is the {what} in use")
        with pytest.raises(learnprog.ValidationError) as info:
            lp.invitations.bulk_invite(
                ana, program.id, contract.id, "roster.csv", rejections_to=Path(output)
            )
        assert info.value.field == "rejections_to"
        assert f"is the {what} in use" in str(info.value)
        if output == "cli.db":  # an open file on the database, appended to, is refused too
            with (
                (tmp_path / output).open("ab") as handle,
                pytest.raises(
                    learnprog.ValidationError, match="the open file is the SQLite database in use"
                ),
            ):
                lp.reports.write_zip(ana, org.id, handle)
        lp.reports.write_zip(ana, org.id, "reports.zip")  # any other file is written
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("cli.db")}
    assert after == before
    assert zipfile.ZipFile(tmp_path / "reports.zip").namelist()
    assert "academy" in ok(acme, "program", "list", *AS)
