"""Bulk invitation from CSV files as people make them."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest

import learnprog
from learnprog.csvfiles import read_csv
from learnprog.errors import PermissionDeniedError, ValidationError
from learnprog.mail.memory import InMemoryMailer
from learnprog.model import LearnerActor, MemberState, OrgAdminActor, SystemActor
from learnprog.services.roster import RowResult

SYSTEM = SystemActor()


class World:
    def __init__(self, lp: learnprog.Learnprog) -> None:
        self.lp = lp
        org = lp.organizations.create_organization(
            SYSTEM,
            "Acme",
            email_domains=["acme.example"],
            admin_name="Ana",
            admin_email="ana@acme.example",
        )
        self.org = org
        admin = lp.organizations.resolve_actor(SYSTEM, org.id, "ana@acme.example")
        assert isinstance(admin, OrgAdminActor)
        self.admin = admin
        self.program = lp.programs.create_program(admin, org.id, "Academy", slug="academy")
        now = lp.context.clock.now()
        self.contract = lp.programs.create_contract(
            admin,
            org.id,
            "Year 1",
            kind="licenses",
            quantity=100,
            starts_at=now - timedelta(days=1),
            ends_at=now + timedelta(days=365),
        )

    def bulk(self, data: bytes | Path | io.BytesIO, **kwargs: object) -> list[RowResult]:
        with self.lp.invitations.bulk_invite(
            self.admin,
            self.program.id,
            self.contract.id,
            data,
            **kwargs,  # type: ignore[arg-type]
        ) as run:
            return list(run)

    def members(self) -> dict[str, MemberState]:
        return {
            learner.email.address: m.state
            for learner, m in self.lp.invitations.members(self.admin, self.program.id)
        }


@pytest.fixture
def world(lp: learnprog.Learnprog) -> World:
    return World(lp)


def outcomes(results: list[RowResult]) -> list[tuple[int, str]]:
    return [(r.line, r.outcome) for r in results]


def test_the_template_is_the_guides(world: World) -> None:
    template = world.lp.invitations.csv_template(world.admin)
    assert next(csv.reader(io.StringIO(template))) == ["Full Name", "Email", "External ID"]
    results = world.bulk(template.encode())
    assert outcomes(results) == [(2, "created")]


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (
            "Full Name,Email,External ID\nStéphane Dupont,s@example.org,00123\n".encode(),
            "Stéphane Dupont",
        ),
        (
            "\ufeffFull Name,Email,External ID\r\nStéphane Dupont,s@example.org,00123\r\n".encode(),
            "Stéphane Dupont",
        ),
        (
            "Full Name\tEmail\tExternal ID\r\nStéphane Dupont\ts@example.org\t00123\r\n".encode(
                "utf-16"
            ),
            "Stéphane Dupont",
        ),
        (
            "Full Name;Email;External ID\r\nStéphane Dupont;s@example.org;00123\r\n".encode(
                "cp1252"
            ),
            "Stéphane Dupont",
        ),
        (
            "Full Name,Email,External ID\r\nNguyễn Thị Minh Khai,s@example.org,00123\r\n".encode(),
            "Nguyễn Thị Minh Khai",
        ),
    ],
    ids=["utf8", "utf8-bom", "utf16-tab", "cp1252-semicolon", "vietnamese"],
)
def test_encodings_and_delimiters_people_use(world: World, data: bytes, name: str) -> None:
    assert outcomes(world.bulk(data)) == [(2, "created")]
    ((learner, membership),) = world.lp.invitations.members(world.admin, world.program.id)
    assert learner.full_name == name  # never cut short
    assert learner.external_id == "00123"
    assert membership.invitation_source is not None


def test_quoted_fields_blank_lines_and_loose_headers(world: World) -> None:
    data = (
        b" full name ,EMAIL, External ID \r\n"
        b'"Ana\nLima",ana@example.org,"A,1"\r\n'
        b",,\r\n"
        b"   \r\n"
        b"\r\n"
        b"Bo Park,,\r\n"
        b"\"O'Neil, Bruno\",o'neil.bruno@example.org,\r\n"
        b"Ana Plus,ana.lima+onboarding@example.org,\r\n"
    )
    results = world.bulk(data)
    assert outcomes(results) == [(2, "created"), (7, "rejected"), (8, "created"), (9, "created")]
    assert results[1].reason == "the Email is empty"
    learners = {
        learner.email.address: learner
        for learner, _ in world.lp.invitations.members(world.admin, world.program.id)
    }
    assert learners["ana@example.org"].full_name == "Ana Lima"
    assert learners["ana@example.org"].external_id == "A,1"
    assert learners["o'neil.bruno@example.org"].full_name == "O'Neil, Bruno"
    assert "ana.lima+onboarding@example.org" in learners  # kept as written, its own learner


def test_missing_headers_are_one_error_naming_every_column(world: World) -> None:
    with pytest.raises(ValidationError, match="missing columns: Full Name, External ID") as e:
        world.bulk(b"Name,Email\nAna,ana@example.org\n")
    assert (e.value.field, e.value.line) == ("header", 1)
    with pytest.raises(ValidationError, match="empty"):
        world.bulk(b"")


@pytest.mark.parametrize(
    "tail",
    [b'Bo,bo@example.org,"E-2\nCy,cy@example.org,E-3\nDi,di@example.org,E-4\n', b'Bo,"bo@ex'],
)
def test_a_quote_never_closed_is_an_error_naming_its_line(world: World, tail: bytes) -> None:
    data = b"Full Name,Email,External ID\nAna,ana@example.org,E-1\n" + tail
    with pytest.raises(ValidationError, match="quoted field is not closed") as caught:
        world.bulk(data)
    assert caught.value.line == 3
    assert world.members() == {}
    # closed, a quoted field may hold line breaks up to the last byte of the file
    closed = b'Full Name,Email,External ID\nAna,ana@example.org,E-1\n"Bo\nLi",bo@example.org,"E-2"'
    assert outcomes(world.bulk(closed)) == [(2, "created"), (3, "created")]


def test_a_header_written_twice_is_refused_naming_its_columns(world: World) -> None:
    data = b"Full Name,Email, email ,External ID\nAna,ana@example.org,bo@example.org,\n"
    with pytest.raises(ValidationError) as caught:
        world.bulk(data)
    assert (caught.value.line, caught.value.field) == (1, "header")
    assert "'Email' (columns 2, 3)" in str(caught.value)
    assert world.members() == {}
    # unnamed columns (trailing delimiters) are no repeated header
    assert outcomes(world.bulk(b"Full Name,Email,External ID,,\nAna,ana@example.org,,,\n")) == [
        (2, "created")
    ]


def test_the_same_address_twice_is_one_learner_and_both_lines_are_named(world: World) -> None:
    data = (
        b"Full Name,Email,External ID\n"
        b"Ana Lima,Ana.Lima@Example.COM ,1\n"
        b"Bo,bo@example.org,\n"
        b"Ana Again, ana.lima@example.com,2\n"
        b"Cy,cy@example.org,\n"
        b"Ana Third,ANA.LIMA@EXAMPLE.COM,3\n"
    )
    for chunk_size in (500, 2):  # within one chunk and across chunks
        lp = learnprog.connect("memory://")
        fresh = World(lp)
        results = fresh.bulk(data, chunk_size=chunk_size)
        assert outcomes(results) == [
            (2, "created"),
            (3, "created"),
            (4, "duplicate"),
            (5, "created"),
            (6, "duplicate"),
        ]
        assert [r.duplicate_of for r in results] == [None, None, 2, None, 2]
        assert len(fresh.members()) == 3


def test_one_bad_row_never_blocks_the_good_ones(world: World) -> None:
    data = (
        b"Full Name,Email,External ID\n"
        b"Ana,ana@example.org,\n"
        b",nameless@example.org,\n"
        b"Bad,not-an-address,\n"
        b"Ctl,ctl@example.org,\x07\n"
        b"Bo,bo@example.org,\n"
    )
    results = world.bulk(data)
    assert outcomes(results) == [
        (2, "created"),
        (3, "rejected"),
        (4, "rejected"),
        (5, "rejected"),
        (6, "created"),
    ]
    assert "email" in (results[2].reason or "")
    assert "external_id" in (results[3].reason or "")
    assert set(world.members()) == {"ana@example.org", "bo@example.org"}


def test_a_field_past_the_csv_readers_limit_is_an_error_naming_its_line(world: World) -> None:
    data = (
        b"Full Name,Email,External ID\n"
        b"Ana,ana@example.org,\n"
        b"Bo,bo@example.org," + b"x" * (1 << 20) + b"\n"
        b"Cy,cy@example.org,\n"
    )
    with pytest.raises(ValidationError) as caught:
        world.bulk(data)
    assert caught.value.line == 3
    assert "field larger than field limit" in str(caught.value)
    assert set(world.members()) == set()  # the chunk holding line 2 was not stored either


def test_rejected_lines_become_an_error_report(world: World, tmp_path: Path) -> None:
    report = tmp_path / "rejected.csv"
    world.bulk(
        b"Full Name,Email,External ID\nAna,,\nBo,bo@example.org,\nCy,nope,\n", rejections_to=report
    )
    with report.open(encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["Line", "Full Name", "Email", "External ID", "Reason"]
    assert [(r[0], r[1]) for r in rows[1:]] == [("2", "Ana"), ("4", "Cy")]


def test_the_error_report_is_protected_and_reads_back_as_written(
    world: World, tmp_path: Path
) -> None:
    """Finding: the rejections CSV wrote raw cells, and ``'=1+2`` came out as ``=1+2``."""
    world.lp.organizations.update_settings(
        world.admin, world.org.id, restrict_invitations_to_domains=True
    )
    report = tmp_path / "rejected.csv"
    data = (
        b"Full Name,Email,External ID\n"
        b'=HYPERLINK("http://evil.example","Click"),,1\n'
        b"'=1+2,bad,'-00123\n"
        b"@SUM(A1),x@other.example,+1\n"
        b"''x,-bad,'abc\n"
    )
    results = world.bulk(data, rejections_to=report)
    assert [r.outcome for r in results] == ["rejected"] * 4
    with report.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    cells = [row[1:4] for row in rows[1:]]
    assert cells == [
        ['\'=HYPERLINK("http://evil.example"', "Click)", ""],  # split at its unquoted comma
        ["'=1+2", "bad", "'-00123"],
        ["'@SUM(A1)", "x@other.example", "'+1"],
        ["''x", "'-bad", "''abc"],  # the roster's ''x is learnprog's way of writing 'x
    ]
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    # read by learnprog again, every cell is what the roster said
    with read_csv(report, ["Full Name", "Email", "External ID", "Reason"]) as again:
        read = [[r.values[c] for c in ("Full Name", "Email", "External ID")] for r in again]
    assert read == [[r.full_name, r.email, r.external_id] for r in results]
    assert read[1] == ["=1+2", "bad", "-00123"]
    assert read[3] == ["'x", "-bad", "'abc"]


def test_importing_twice_changes_nothing_and_sends_no_second_email(
    world: World, mailer: InMemoryMailer
) -> None:
    data = b"Full Name,Email,External ID\nAna,ana@example.org,\nBo,bo@example.org,\n"
    assert [r.outcome for r in world.bulk(data)] == ["created", "created"]
    second = world.bulk(data)
    assert [r.outcome for r in second] == ["already_invited", "already_invited"]
    world.lp.mail.dispatch(SYSTEM)
    assert sorted(m.to.address for m in mailer.sent) == ["ana@example.org", "bo@example.org"]
    assert all(m.template == "invitation" for m in mailer.sent)
    assert "accept?token=" in mailer.sent[0].text_body


def test_members_and_removed_learners(world: World) -> None:
    world.bulk(b"Full Name,Email,External ID\nAna,ana@example.org,\nBo,bo@example.org,\n")
    lp = world.lp
    ana = lp.organizations.resolve_actor(SYSTEM, world.org.id, "ana@example.org")
    assert isinstance(ana, LearnerActor)
    lp.invitations.accept_by_sign_in(ana, "academy")
    bo_membership = next(
        m
        for learner, m in lp.invitations.members(world.admin, world.program.id)
        if learner.email.address == "bo@example.org"
    )
    lp.invitations.revoke(world.admin, bo_membership.id)
    results = world.bulk(b"Full Name,Email,External ID\nAna,ana@example.org,\nBo,bo@example.org,\n")
    assert [r.outcome for r in results] == ["already_member", "reinvited"]
    assert world.members() == {
        "ana@example.org": MemberState.MEMBER,
        "bo@example.org": MemberState.INVITED,
    }


def test_a_dry_run_reports_everything_and_changes_nothing(
    world: World, mailer: InMemoryMailer
) -> None:
    data = (
        b"Full Name,Email,External ID\nAna,ana@example.org,\nBad,x,\n"
        b"Ana2,ANA@example.org,\nBo,bo@example.org,\n"
    )
    results = world.bulk(data, dry_run=True, chunk_size=2)
    assert [r.outcome for r in results] == ["created", "rejected", "duplicate", "created"]
    assert all(r.email_queued for r in results if r.outcome == "created")
    assert world.members() == {}
    world.lp.mail.dispatch(SYSTEM)
    assert mailer.sent == []
    assert [r.outcome for r in world.bulk(data)] == [r.outcome for r in results]


def test_domain_restriction_rejects_and_counts(world: World) -> None:
    world.lp.organizations.update_settings(
        world.admin, world.org.id, restrict_invitations_to_domains=True
    )
    with world.lp.invitations.bulk_invite(
        world.admin,
        world.program.id,
        world.contract.id,
        b"Full Name,Email,External ID\nIn,in@acme.example,\nOut,out@example.org,\n",
    ) as run:
        results = list(run)
    assert [r.outcome for r in results] == ["created", "rejected"]
    assert run.totals.rejected == 1
    assert run.totals.created == 1
    assert "outside the organization's domains" in (results[1].reason or "")


def test_results_stream_and_progress_is_reported(world: World, tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    lines = ["Full Name,Email,External ID"] + [f"L{i},l{i}@example.org,{i}" for i in range(25)]
    path.write_text("\n".join(lines), encoding="utf-8")
    seen: list[int] = []
    run = world.lp.invitations.bulk_invite(
        world.admin, world.program.id, world.contract.id, path, chunk_size=10, progress=seen.append
    )
    iterator = iter(run)
    first = next(iterator)
    assert first.outcome == "created"
    assert seen == [10]  # the first chunk is stored before its results are given
    rest = list(iterator)
    run.close()
    assert len(rest) == 24
    assert seen == [10, 20, 25]
    assert run.totals.created == 25


def test_a_file_object_and_a_named_encoding(world: World) -> None:
    data = "Full Name,Email,External ID\nŽofia,z@example.org,\n".encode("iso-8859-2")
    with pytest.raises(ValidationError, match="not valid utf-8"):
        world.bulk(data, encoding="utf-8")
    assert [r.outcome for r in world.bulk(io.BytesIO(data), encoding="iso-8859-2")] == ["created"]
    ((learner, _),) = world.lp.invitations.members(world.admin, world.program.id)
    assert learner.full_name == "Žofia"


@pytest.mark.parametrize("encoding", ["rot13", "base64", "zlib_codec"])
def test_a_codec_that_is_no_text_encoding_is_refused_by_name(world: World, encoding: str) -> None:
    with pytest.raises(ValidationError, match="not a text encoding") as caught:
        world.bulk(b"Full Name,Email,External ID\nAna,ana@example.org,\n", encoding=encoding)
    assert caught.value.field == "encoding"
    assert world.members() == {}


def test_whole_run_checks_happen_before_reading(world: World) -> None:
    lia = learnprog.LearnerActor(world.org.id, "nobody")
    with pytest.raises(PermissionDeniedError):
        world.lp.invitations.bulk_invite(lia, world.program.id, world.contract.id, b"x")
    with pytest.raises(ValidationError, match="cannot open"):
        world.bulk(Path("/nonexistent/roster.csv"))
