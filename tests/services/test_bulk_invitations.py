"""Bulk invitation from CSV files as people make them."""

from __future__ import annotations

import csv
import io
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from attrs import evolve

import learnprog
from learnprog.clock import FixedClock
from learnprog.csvfiles import read_csv
from learnprog.errors import PermissionDeniedError, StorageError, ValidationError
from learnprog.mail.memory import InMemoryMailer
from learnprog.model import LearnerActor, MemberState, OrgAdminActor, SystemActor
from learnprog.services.invitations import InvitationOutcome
from learnprog.services.roster import RowResult
from tests.conftest import UowFactory

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

    def invite_one(self, email: str) -> InvitationOutcome:
        return self.lp.invitations.invite(
            self.admin, self.program.id, self.contract.id, full_name="One", email=email
        ).outcome

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


@pytest.mark.parametrize("encoding", ["no-such-codec", "utf\x008"])
def test_an_encoding_name_that_names_no_codec_is_refused(world: World, encoding: str) -> None:
    with pytest.raises(ValidationError, match="unknown encoding") as caught:
        world.bulk(b"Full Name,Email,External ID\nAna,ana@example.org,\n", encoding=encoding)
    assert caught.value.field == "encoding"
    assert world.members() == {}


def test_whole_run_checks_happen_before_reading(world: World) -> None:
    lia = learnprog.LearnerActor(world.org.id, "nobody")
    with pytest.raises(PermissionDeniedError):
        world.lp.invitations.bulk_invite(lia, world.program.id, world.contract.id, b"x")
    with pytest.raises(ValidationError, match="cannot open"):
        world.bulk(Path("/nonexistent/roster.csv"))


# --- on every backend ---------------------------------------------------------------------------


@pytest.fixture
def any_lp(
    uow_factory: UowFactory, clock: FixedClock, mailer: InMemoryMailer
) -> learnprog.Learnprog:
    """learnprog on memory, SQLite, PostgreSQL and MariaDB."""
    return learnprog.connect(
        uow_factory=uow_factory,
        clock=clock,
        mailer=mailer,
        settings=learnprog.Settings(secret_key="test-secret-test-secret"),
    )


def roster(*emails: str) -> bytes:
    """A bulk invitation file with one line per address (line 2 is the first)."""
    lines = "".join(f"Learner {i},{email},\n" for i, email in enumerate(emails))
    return f"Full Name,Email,External ID\n{lines}".encode()


def test_a_contract_that_ends_during_a_run_takes_no_invitation_after_its_end(
    any_lp: learnprog.Learnprog, clock: FixedClock, mailer: InMemoryMailer
) -> None:
    world = World(any_lp)
    ending = any_lp.programs.create_contract(
        world.admin,
        world.org.id,
        "Ending",
        kind="licenses",
        quantity=10,
        starts_at=clock.now() - timedelta(days=1),
        ends_at=clock.now() + timedelta(hours=1),
    )

    def two_hours_per_chunk(done: int) -> None:
        clock.advance(timedelta(hours=2))  # the contract ends after the first chunk

    emails = [f"u{i}@example.org" for i in range(5)]
    with any_lp.invitations.bulk_invite(
        world.admin,
        world.program.id,
        ending.id,
        roster(*emails),
        chunk_size=2,
        progress=two_hours_per_chunk,
    ) as run:
        results = list(run)
    assert outcomes(results) == [
        (2, "created"),
        (3, "created"),
        (4, "rejected"),
        (5, "rejected"),
        (6, "rejected"),
    ]
    for late in results[2:]:
        assert not late.email_queued
        assert "the contract is not running at 2026-03-02T" in (late.reason or "")
        assert "runs from" in (late.reason or "")
    assert (run.totals.rejected, run.totals.emails_queued) == (3, 2)
    assert world.members() == {
        "u0@example.org": MemberState.INVITED,
        "u1@example.org": MemberState.INVITED,
    }
    with pytest.raises(ValidationError, match="runs from"):  # as a single invitation now
        any_lp.invitations.invite(
            world.admin, world.program.id, ending.id, full_name="Z", email="z@example.org"
        )
    # the two queued invitations are cancelled: their contract ended before the dispatch
    assert (any_lp.mail.dispatch(SYSTEM).cancelled, mailer.sent) == (2, [])
    log = any_lp.mail.deliveries(world.admin, world.org.id)
    assert sorted(d.recipient for d in log) == emails[:2]


def test_a_program_removed_during_a_run_takes_no_more_invitations(
    any_lp: learnprog.Learnprog, mailer: InMemoryMailer
) -> None:
    world = World(any_lp)
    removals: list[object] = []

    def remove_after_the_first_chunk(done: int) -> None:
        if not removals:
            removals.append(
                any_lp.invitations.remove_program(world.admin, world.program.id, confirm="academy")
            )

    results = world.bulk(
        roster(*(f"u{i}@example.org" for i in range(5))),
        chunk_size=2,
        progress=remove_after_the_first_chunk,
    )
    assert [r.outcome for r in results] == ["created"] * 2 + ["rejected"] * 3
    assert {r.reason for r in results[2:]} == {"the program has been removed"}
    assert not any(r.email_queued for r in results[2:])
    assert world.members() == {
        "u0@example.org": MemberState.DELETED_MEMBER,
        "u1@example.org": MemberState.DELETED_MEMBER,
    }
    # the two invitations queued before the removal are withdrawn with it: never sent
    report = any_lp.mail.dispatch(SYSTEM)
    assert (report.sent, report.cancelled) == (0, 2)
    assert mailer.sent == []


def test_duplicates_are_reported_the_same_whatever_the_chunk_size(
    any_lp: learnprog.Learnprog,
) -> None:
    world = World(any_lp)
    lp = any_lp
    data = roster(
        "a@example.org",  # 2 created
        "old@example.org",  # 3 invited before the file
        "A@Example.org ",  # 4 duplicate of 2
        "mem@example.org",  # 5 a member before the file
        "OLD@example.org",  # 6 still invited before the file: no line of it made that
        "b@example.org",  # 7 created
        "a@example.org",  # 8 duplicate of 2
        "MEM@example.org",  # 9 still a member
        "not-an-address",  # 10 rejected
        "b@example.org",  # 11 duplicate of 7
    )
    expected = [
        (2, "created", None),
        (3, "already_invited", None),
        (4, "duplicate", 2),
        (5, "already_member", None),
        (6, "already_invited", None),
        (7, "created", None),
        (8, "duplicate", 2),
        (9, "already_member", None),
        (10, "rejected", None),
        (11, "duplicate", 7),
    ]
    totals = []
    for chunk_size in (1, 2, 3, None):  # None: the default, 500
        slug = f"academy-{chunk_size or 'default'}"
        program = lp.programs.create_program(world.admin, world.org.id, slug, slug=slug)
        for email in ("old@example.org", "mem@example.org"):
            lp.invitations.invite(
                world.admin, program.id, world.contract.id, full_name="Before", email=email
            )
        lp.invitations.accept_by_sign_in(world_learner(world, "mem@example.org"), slug)
        kwargs = {} if chunk_size is None else {"chunk_size": chunk_size}
        with lp.invitations.bulk_invite(
            world.admin,
            program.id,
            world.contract.id,
            data,
            **kwargs,  # type: ignore[arg-type]
        ) as run:
            results = [(r.line, r.outcome, r.duplicate_of) for r in run]
        assert results == expected, chunk_size
        totals.append(run.totals)
    assert totals[0] == totals[1] == totals[2] == totals[3]
    assert (totals[0].created, totals[0].duplicate) == (2, 3)


def world_learner(world: World, email: str) -> LearnerActor:
    actor = world.lp.organizations.resolve_actor(SYSTEM, world.org.id, email)
    assert isinstance(actor, LearnerActor)
    return actor


def test_idn_domains_restrict_invitations_in_any_form(any_lp: learnprog.Learnprog) -> None:
    org = any_lp.organizations.create_organization(
        SYSTEM,
        "Bücher",
        email_domains=["XN--BCHER-KVA.example"],
        admin_name="Ana",
        admin_email="ana@bücher.example",  # the admin's address is on the domain
    )
    assert org.email_domains == ("bücher.example",)  # stored as email keys store domains
    admin = any_lp.organizations.resolve_actor(SYSTEM, org.id, "ana@xn--bcher-kva.example")
    any_lp.organizations.update_settings(admin, org.id, restrict_invitations_to_domains=True)
    program = any_lp.programs.create_program(admin, org.id, "Books", slug="books")
    now = any_lp.context.clock.now()
    contract = any_lp.programs.create_contract(
        admin,
        org.id,
        "C",
        kind="unlimited",
        quantity=None,
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=1),
    )
    for email in ("a@xn--bcher-kva.example", "b@BÜCHER.example", "c@bu\u0308cher.example"):
        result = any_lp.invitations.invite(
            admin, program.id, contract.id, full_name="A", email=email
        )
        assert result.outcome is InvitationOutcome.CREATED, email
    with pytest.raises(ValidationError, match="restricted"):
        any_lp.invitations.invite(
            admin, program.id, contract.id, full_name="X", email="x@buecher.example"
        )
    # an organization stored with its domains as typed (before they were normalized) matches too
    with any_lp.context.uow_factory() as uow:
        stored = uow.organizations.get(org.id)
        uow.organizations.update(
            evolve(stored, email_domains=("xn--bcher-kva.example", "BU\u0308CHER.example"))
        )
        uow.commit()
    data = roster(
        "d@bücher.example", "e@XN--BCHER-KVA.EXAMPLE", "f@bu\u0308cher.example", "g@x.org"
    )
    with any_lp.invitations.bulk_invite(admin, program.id, contract.id, data) as run:
        assert [r.outcome for r in run] == ["created", "created", "created", "rejected"]


# --- a dry run's unit of work (memory and SQLite: one unit of work at a time) -------------------


def invite_from_another_thread(world: World, email: str) -> list[InvitationOutcome]:
    """Invite ``email`` from a new thread; its outcome, or nothing if it is still waiting."""
    done: list[InvitationOutcome] = []

    def invite() -> None:
        done.append(world.invite_one(email))

    thread = threading.Thread(target=invite, daemon=True)
    thread.start()
    thread.join(timeout=30)
    return done


def test_closing_a_dry_run_early_releases_its_storage(world: World) -> None:
    data = roster("a@example.org", "b@example.org", "c@example.org")
    run = world.lp.invitations.bulk_invite(
        world.admin, world.program.id, world.contract.id, data, dry_run=True, chunk_size=1
    )
    results = iter(run)
    assert next(results).outcome == "created"
    with pytest.raises(StorageError, match="a dry run holds one"):  # inside its loop
        world.lp.invitations.members(world.admin, world.program.id)
    run.close()
    assert invite_from_another_thread(world, "other@example.org") == [InvitationOutcome.CREATED]
    assert world.members() == {"other@example.org": MemberState.INVITED}  # nothing else stored
    assert list(results) == []  # a closed run gives no more results
    run.close()  # closing twice is harmless


def test_leaving_the_with_block_of_a_dry_run_releases_its_storage(world: World) -> None:
    data = roster("a@example.org", "b@example.org")
    with world.lp.invitations.bulk_invite(
        world.admin, world.program.id, world.contract.id, data, dry_run=True, chunk_size=1
    ) as run:
        for result in run:
            assert result.outcome == "created"
            break
    assert world.invite_one("other@example.org") is InvitationOutcome.CREATED  # same thread


def test_an_abandoned_dry_run_iterator_releases_its_storage(world: World) -> None:
    data = roster("a@example.org", "b@example.org", "c@example.org")
    run = world.lp.invitations.bulk_invite(
        world.admin, world.program.id, world.contract.id, data, dry_run=True, chunk_size=1
    )
    for result in run:  # neither exhausted nor closed: the iterator is dropped after the loop
        assert result.outcome == "created"
        break
    assert invite_from_another_thread(world, "other@example.org") == [InvitationOutcome.CREATED]
    assert world.members() == {"other@example.org": MemberState.INVITED}
    run.close()


@pytest.mark.parametrize("control", ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066",
                                     "\u2067", "\u2068", "\u2069"])  # fmt: skip
def test_a_directional_override_in_a_roster_line_is_rejected_naming_the_line(
    world: World, control: str
) -> None:
    """Finding: ``Lia \\u202eevil`` was stored, and its From line showed reordered."""
    data = (
        "Full Name,Email,External ID\n"
        f"Lia {control}evil,lia@acme.example,\n"
        f"Bo,bo@acme.example,E{control}1\n"
        "Cy \u200fRLM,cy@acme.example,\n"  # an implicit mark (RLM) reorders nothing beyond it
    ).encode()
    results = world.bulk(data)
    assert [(r.line, r.outcome) for r in results] == [
        (2, "rejected"),
        (3, "rejected"),
        (4, "created"),
    ]
    assert "U+" + f"{ord(control):04X}" in (results[0].reason or "")
    assert "full_name" in (results[0].reason or "")
    assert "external_id" in (results[1].reason or "")
    assert set(world.members()) == {"cy@acme.example"}


def test_rejections_written_over_the_roster_are_refused_before_anything_is_stored(
    world: World, tmp_path: Path
) -> None:
    """By its path, a link to it, or an open file of it: the roster would be emptied."""
    roster = tmp_path / "roster.csv"
    text = "Full Name,Email,External ID\nAna,,\nBo,bo@acme.example,\n"
    roster.write_text(text, encoding="utf-8")
    (tmp_path / "link.csv").symlink_to(roster)
    with roster.open("r+b") as same_file:
        cases: list[tuple[Any, object]] = [
            (roster, roster),
            (str(roster), tmp_path / "link.csv"),
            (roster, same_file),
            (same_file, roster),
        ]
        for source, target in cases:
            with pytest.raises(ValidationError, match="roster being read") as caught:
                world.bulk(source, rejections_to=target)
            assert caught.value.field == "rejections_to"
    assert roster.read_text(encoding="utf-8") == text
    assert world.members() == {}


def test_rejections_to_a_folder_is_a_validation_error(world: World, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="cannot write") as caught:
        world.bulk(b"Full Name,Email,External ID\nAna,,\n", rejections_to=tmp_path)
    assert caught.value.field == "rejections_to"
