"""`learnprog invite`, `invite-roster`, `members list`, and the learner's `accept` and `enroll`."""

from __future__ import annotations

import email
import email.message
import email.policy
import json
import re
from pathlib import Path

import pytest

from tests.cli.conftest import ACADEMY, AS, ok, outbox, run

LIA = ("--name", "Lia Souza", "--email", "lia@acme.example", "--external-id", "E1")
ROSTER = (
    "Full Name,Email,External ID\n"
    "Lia Souza,lia@acme.example,E1\n"
    "Bo,not-an-email,E2\n"
    "Cy,cy@acme.example,\n"
    "Lia again,LIA@acme.example,E3\n"
)


def members(db: str) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = json.loads(
        ok(db, "members", "list", *AS, "--program", "academy", "--json")
    )
    return rows


def test_invite_queues_the_invitation_that_mail_deliver_sends(acme: str, tmp_path: Path) -> None:
    out = ok(acme, "invite", *AS, *ACADEMY, *LIA)
    assert out == "created: Lia Souza <lia@acme.example> in academy on 'Y1' (email queued)\n"
    assert [(m["email"], m["state"], m["external_id"]) for m in members(acme)] == [
        ("lia@acme.example", "INVITED", "E1")
    ]
    assert ok(acme, "mail", "deliver").startswith("sent 1,")
    assert len(outbox(tmp_path)) == 1
    assert ok(acme, "invite", *AS, *ACADEMY, *LIA).startswith("already_invited: ")


def test_invite_dry_run_changes_nothing(acme: str, tmp_path: Path) -> None:
    out = ok(acme, "invite", *AS, *ACADEMY, *LIA, "--dry-run")
    assert out == (
        "dry run, nothing changed: created: Lia Souza <lia@acme.example> in academy on 'Y1' "
        "(email would be queued)\n"
    )
    assert members(acme) == []
    assert ok(acme, "mail", "deliver").startswith("sent 0,")
    newest = json.loads(ok(acme, "audit", *AS, "--json"))[0]
    assert newest["action"] == "contract.create"


def test_invite_no_email_queues_nothing(acme: str, tmp_path: Path) -> None:
    assert ok(acme, "invite", *AS, *ACADEMY, *LIA, "--no-email").endswith("(no email)\n")
    assert len(members(acme)) == 1
    assert ok(acme, "mail", "deliver").startswith("sent 0,")
    assert outbox(tmp_path) == []


def test_invite_errors_exit_1_naming_the_option(acme: str) -> None:
    code, _, err = run(acme, "invite", *AS, *ACADEMY, "--name", "X", "--email", "nope")
    assert code == 1
    assert err.startswith("error: --email: ")
    assert err.count("\n") == 1
    code, _, err = run(acme, "invite", *AS, "--program", "academy", "--contract", "Y9", *LIA)
    assert (code, err) == (1, "error: contract 'Y9' not found\n")
    assert run(acme, "invite", *AS, *ACADEMY, "--name", "X")[0] == 2


def test_invite_roster_reports_lines_writes_rejections_and_totals(
    acme: str, tmp_path: Path
) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    out = ok(acme, "invite-roster", str(roster), *AS, *ACADEMY, "--rejections", "rejected.csv")
    lines = out.splitlines()
    assert lines[0].startswith("line 3\trejected\tnot-an-email\temail: ")
    assert lines[1] == "line 5\tduplicate\tLIA@acme.example\tline 2"
    assert lines[2] == (
        "4 lines: 2 invited, 0 re-invited, 0 already invited, 0 already members, "
        "1 duplicate, 1 rejected; 2 emails queued"
    )
    rejected = (tmp_path / "rejected.csv").read_text(encoding="utf-8-sig").splitlines()
    assert rejected[0] == "Line,Full Name,Email,External ID,Reason"
    assert rejected[1].startswith("3,Bo,not-an-email,E2,")
    assert sorted(str(m["email"]) for m in members(acme)) == ["cy@acme.example", "lia@acme.example"]
    assert ok(acme, "mail", "deliver").startswith("sent 2,")
    again = ok(acme, "invite-roster", str(roster), *AS, *ACADEMY).splitlines()[-1]
    assert "0 invited" in again
    # line 5 repeats line 2, which made nothing this time: already invited too, at any chunk size
    assert "3 already invited" in again
    assert "0 duplicate" in again


def test_invite_roster_counts_agree_with_their_words(acme: str, tmp_path: Path) -> None:
    (tmp_path / "one.csv").write_text(ROSTER.split("Bo,")[0], encoding="utf-8")  # Lia alone
    assert ok(acme, "invite-roster", "one.csv", *AS, *ACADEMY).splitlines()[-1] == (
        "1 line: 1 invited, 0 re-invited, 0 already invited, 0 already members, 0 duplicate, "
        "0 rejected; 1 email queued"
    )


def test_invite_roster_dry_run_and_no_email(acme: str, tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    out = ok(acme, "invite-roster", str(roster), *AS, *ACADEMY, "--dry-run")
    assert out.splitlines()[-1].startswith("dry run, nothing changed: 4 lines: 2 invited")
    assert members(acme) == []
    out = ok(acme, "invite-roster", str(roster), *AS, *ACADEMY, "--no-email")
    assert out.endswith("; 0 emails queued\n")
    assert len(members(acme)) == 2
    assert ok(acme, "mail", "deliver").startswith("sent 0,")


def test_invite_roster_without_the_columns_exits_1(acme: str, tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("Name,Mail\nLia,lia@acme.example\n", encoding="utf-8")
    code, _, err = run(acme, "invite-roster", str(roster), *AS, *ACADEMY)
    assert code == 1
    assert "Full Name" in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (
            b"\xef\xbb\xbfFull Name,Email,External ID\n"
            + b"".join(b"N%d,n%d@acme.example,\n" % (i, i) for i in range(600))
            + b"Bad\xff,bad@acme.example,\n",
            "error: line 602, --encoding: the file starts with a UTF-8 byte-order mark",
        ),
        (
            "Full Name,Email,External ID\n山田太郎,y@acme.example,\n".encode("shift_jis"),
            "error: line 2, --encoding: the file's text encoding cannot be told",
        ),
    ],
    ids=["bad-byte-after-600-rows", "shift-jis"],
)
def test_invite_roster_refuses_a_file_that_does_not_decode_in_one_line(
    acme: str, tmp_path: Path, data: bytes, said: str
) -> None:
    (tmp_path / "roster.csv").write_bytes(data)
    code, out, err = run(acme, "invite-roster", "roster.csv", *AS, *ACADEMY)
    assert (code, out) == (1, "")
    assert err.startswith(said)
    assert err.count("\n") == 1  # one line, no traceback
    assert members(acme) == []
    code, _, err = run(acme, "invite-roster", "roster.csv", *AS, *ACADEMY, "--encoding", "utf-16")
    assert (code, err.count("\n")) == (1, 1)
    assert "name 'utf-16-le' or 'utf-16-be'" in err


def test_members_list_filters_and_prints_empty_cells_empty(acme: str) -> None:
    ok(acme, "invite", *AS, *ACADEMY, *LIA, "--no-email")
    ok(acme, "invite", *AS, *ACADEMY, "--name", "Cy", "--email", "cy@acme.example", "--no-email")
    code, out, err = run(acme, "members", "list", *AS, "--program", "academy", "--search", "CY")
    assert code == 0
    assert out.splitlines() == [
        "name\temail\texternal_id\tstate\tstatus\tflags\tlast_activity_at",
        "Cy\tcy@acme.example\t\tINVITED\tNo Enrollment\t\t",
    ]
    assert err == "-- 1 of 1 (offset 0)\n"
    rows = json.loads(ok(acme, "members", "list", *AS, "--program", "academy", "--json",
                         "--order", "email", "--descending", "--state", "invited"))  # fmt: skip
    assert [r["email"] for r in rows] == ["lia@acme.example", "cy@acme.example"]
    assert rows[0]["status"] == "No Enrollment"
    assert run(acme, "members", "list", *AS, "--program", "academy", "--status", "x")[0] == 2


def test_the_progress_bar_goes_to_stderr_only_on_a_terminal(
    acme: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    code, out, err = run(acme, "invite-roster", str(roster), *AS, *ACADEMY, "--dry-run")
    assert (code, err) == (0, "")  # not a terminal: no bar
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich treats stderr as a terminal
    code, on_terminal, err = run(acme, "invite-roster", str(roster), *AS, *ACADEMY, "--dry-run")
    assert code == 0
    assert "invitations" in err
    assert on_terminal == out


def acceptance_link(tmp_path: Path, to: str) -> str:
    """The acceptance link of the Invitation email delivered to ``to``."""
    for path in outbox(tmp_path):
        letter = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if to in str(letter["To"]):
            body = letter.get_body(preferencelist=("plain",))
            assert isinstance(body, email.message.EmailMessage)
            links: list[str] = re.findall(r"https?://\S+/accept\?token=\S+", body.get_content())
            return links[0]
    raise AssertionError(f"no letter to {to}")


def test_a_learner_accepts_the_invitation_and_enrolls(acme: str, tmp_path: Path) -> None:
    ok(acme, "course", "add", "DB1", *AS, "--slug", "db-1", "--name", "Databases")
    ok(acme, "collection", "create", "Start here", *AS, "--program", "academy")
    ok(acme, "collection", "add", "Start here", *AS, "--program", "academy", "--course", "DB1")
    ok(acme, "invite", *AS, *ACADEMY, *LIA)
    ok(acme, "mail", "deliver")
    lia = ("--org", "Acme", "--as", "lia@acme.example", "--program", "academy")
    code, _, err = run(acme, "enroll", *lia, "--course", "db-1")
    assert (code, err) == (
        1,
        "error: lia@acme.example may not enroll in db-1 through academy: not a member of the "
        "program (an invitee accepts first: learnprog accept LINK)\n",
    )
    link = acceptance_link(tmp_path, "lia@acme.example")
    assert ok(acme, "accept", link) == (
        "lia@acme.example joined academy (MEMBER); the welcome email is queued: deliver it "
        "with `learnprog mail deliver`\n"
    )
    token = link.split("token=", 1)[1]
    assert ok(acme, "accept", token) == (
        "lia@acme.example is already a member of academy; nothing changed\n"
    )
    assert ok(acme, "enroll", *lia, "--course", "db-1") == (
        "lia@acme.example enrolled in 'Databases' (db-1) through academy, found in "
        "'Start here'; the course welcome email is queued\n"
    )
    code, _, err = run(acme, "enroll", *lia, "--course", "DB1")  # the Course ID finds it too
    assert (code, err) == (
        1,
        "error: lia@acme.example may not enroll in DB1 through academy: already enrolled in it\n",
    )
    (member,) = json.loads(ok(acme, "members", "list", *AS, "--program", "academy", "--json"))
    assert (member["state"], member["enrollments"]) == ("MEMBER", 1)
    contracts = json.loads(ok(acme, "contract", "list", *AS, "--json"))
    assert contracts[0]["remaining"] == 9  # Lia's license


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("accept", "forged"), "LINK: the link is not valid"),
        (("accept", "http://localhost:8000/programs/academy/accept?token=x.y.z"),
         "LINK: the link is not valid"),
        (("enroll", "--org", "Acme", "--as", "nobody@acme.example", "--program", "academy",
          "--course", "db-1"), "--as: no learner with email nobody@acme.example in 'Acme'"),
        (("enroll", "--org", "Acme", "--as", "ana@acme.example", "--program", "academy",
          "--course", "db-9"), "--course: no course 'db-9' in the curriculum of academy"),
    ],
)  # fmt: skip
def test_accept_and_enroll_errors_are_one_line(
    acme: str, args: tuple[str, ...], message: str
) -> None:
    assert run(acme, *args) == (1, "", f"error: {message}\n")


@pytest.mark.parametrize("target", ["roster.csv", "./roster.csv", "link.csv", "hard.csv"])
def test_invite_roster_refuses_rejections_written_over_the_roster(
    acme: str, tmp_path: Path, target: str
) -> None:
    """Finding: ``--rejections`` naming the roster emptied it while it was read (3,000 lines:
    538 were read, the rest lost) and left the roster overwritten by the rejections."""
    roster = tmp_path / "roster.csv"
    text = "Full Name,Email,External ID\n" + "".join(
        f"P{i},{f'p{i}@acme.example' if i % 2 else ''},\n" for i in range(3000)
    )
    roster.write_text(text, encoding="utf-8")
    (tmp_path / "link.csv").symlink_to(roster)
    (tmp_path / "hard.csv").hardlink_to(roster)
    code, out, err = run(acme, "invite-roster", "roster.csv", *AS, *ACADEMY, "--rejections", target)
    assert code == 1
    assert err.startswith("error: --rejections: the rejections file is the roster being read")
    assert roster.read_text(encoding="utf-8") == text
    assert "invited" not in out
