"""ReportBuilder: the CSV reports cell by cell, spreadsheet safety, the zip, scope, figures."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

import learnprog
from learnprog.clock import FixedClock
from learnprog.errors import (
    InvalidTokenError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from learnprog.model import Assessment, AssessmentAttempt, CourseItem, EventKind, LearningEvent
from learnprog.reports.cells import (
    FORMULA_STARTS,
    count,
    learning_hours,
    protect,
    stored_timestamp,
    timestamp,
    unprotect,
)
from learnprog.reports.tables import (
    MEMBERSHIP_COLUMNS,
    SPECIALIZATION_COLUMNS,
    USAGE_COLUMNS,
    Report,
)
from learnprog.tokens import TokenPurpose
from tests.conftest import START, UowFactory
from tests.factories import forged
from tests.services.world import SYSTEM, World

MIN = timedelta(minutes=1)


class Reported(World):
    """One learner with a formula-like name and external ID, enrolled and done in one course."""

    def __init__(self, lp: learnprog.Learnprog) -> None:
        super().__init__(lp, licenses=5)
        self.course = lp.programs.add_course(
            self.admin,
            self.org.id,
            course_id="daG-a-01",
            slug="ai-for-everyone",
            name="AI For Everyone",
            partner="deeplearning.ai",
            class_start=datetime(2026, 3, 9, 8, 0, tzinfo=UTC),
            items=[
                CourseItem.create("Intro", kind="video", lesson="W1", id="v1"),
                CourseItem.create("Quiz", kind="quiz", lesson="W1", id="q1", position=1),
            ],
            assessments=[Assessment.create("Quiz", id="a1", pass_mark=80, item_id="q1")],
        )
        lp.invitations.invite(
            self.admin,
            self.program.id,
            self.contract.id,
            full_name='=HYPERLINK("x")',
            email="lia@acme.example",
            external_id="-00123",
            send_email=False,
        )
        self.accept("lia@acme.example")
        lia = self.learner("lia@acme.example")
        self.lia = lia
        enrollment = lp.learning.enroll(lia, self.program.id, self.course.id)
        self.enrollment = enrollment
        at = START + timedelta(hours=1, microseconds=782_999)
        lp.learning.ingest(
            SYSTEM,
            self.org.id,
            events=[
                LearningEvent("e1", lia.learner_id, self.course.id, "v1", EventKind.COMPLETED, at),
                LearningEvent(
                    "e2", lia.learner_id, self.course.id, "q1", EventKind.COMPLETED, at + 30 * MIN
                ),
            ],
            attempts=[
                AssessmentAttempt("t1", lia.learner_id, self.course.id, "a1", 88.25, at + 30 * MIN)
            ],
        )


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_cells_follow_the_guides_formats() -> None:
    assert timestamp(datetime(2019, 12, 23, 6, 18, 32, 782_999, tzinfo=UTC)) == (
        "2019-12-23T06:18:32.782Z"
    )
    eastern = datetime(2020, 1, 6, 3, 0, tzinfo=UTC).astimezone(
        __import__("zoneinfo").ZoneInfo("America/Toronto")
    )
    assert timestamp(eastern) == "2020-01-06T03:00:00.000Z"
    with pytest.raises(ValueError, match="aware"):
        timestamp(datetime(2020, 1, 1))
    for risky in ("=1+1", "+1", "-00123", "@SUM(A1)", "\tx", "\rx", "'-5", "'abc", "''x", "'"):
        assert protect(risky) == "'" + risky
        assert unprotect(protect(risky)) == risky
    assert protect("Ana") == "Ana"
    assert unprotect("'quoted") == "'quoted"  # a real apostrophe stays
    assert unprotect("''x") == "'x"  # one ' taken, before another '
    assert unprotect("'") == "'"


@given(st.text())
def test_every_text_reads_back_as_written(text: str) -> None:
    assert unprotect(protect(text)) == text
    assert not protect(text).startswith(FORMULA_STARTS)  # never a formula in a spreadsheet


def test_stored_times_and_counts_are_written_as_the_records_are() -> None:
    aware = datetime(2019, 12, 23, 6, 18, 32, 782_999, tzinfo=UTC)
    written = "2019-12-23T06:18:32.782Z"
    assert stored_timestamp(aware) == written
    assert stored_timestamp(aware.replace(tzinfo=None)) == written  # PostgreSQL, MariaDB
    assert stored_timestamp("2019-12-23 06:18:32.782999") == written  # SQLite's text
    assert stored_timestamp("2019-12-23 06:18:32") == "2019-12-23T06:18:32.000Z"
    assert stored_timestamp(None) == ""
    with pytest.raises(ValueError, match="isoformat"):
        stored_timestamp("23/12/2019 06:18")
    assert (count(2), count(Decimal("2"))) == ("2", "2")  # a MariaDB sum is a Decimal
    assert learning_hours(1800.0) == "0.50"


def test_the_usage_report_row_cell_by_cell(lp: learnprog.Learnprog) -> None:
    w = Reported(lp)
    report = lp.reports.usage_report(w.admin, w.org.id)
    header, row = _rows(report.csv_text())
    assert tuple(header) == USAGE_COLUMNS
    cells = dict(zip(header, row, strict=True))
    assert cells["Name"] == '\'=HYPERLINK("x")'
    assert cells["Email"] == "lia@acme.example"
    assert cells["External Id"] == "'-00123"
    assert (cells["Course"], cells["Course ID"], cells["Course Slug"]) == (
        "AI For Everyone",
        "daG-a-01",
        "ai-for-everyone",
    )
    assert cells["University"] == "deeplearning.ai"
    assert cells["Enrollment Time"] == "2026-03-02T09:00:00.000Z"
    assert cells["Class Start Time"] == "2026-03-09T08:00:00.000Z"
    assert cells["Last Course Activity Time"] == "2026-03-02T10:30:00.782Z"
    assert cells["Overall Progress"] == "100.00"
    assert cells["Estimated Learning Hours"] == "0.50"
    assert (cells["Completed"], cells["Removed From Program"]) == ("Yes", "No")
    assert (cells["Program Slug"], cells["Program Name"]) == ("academy", "Academy")
    assert cells["Enrollment Source"] == ""
    assert cells["Completion Time"] == "2026-03-02T10:30:00.782Z"
    assert cells["Course Grades"] == "88.25"
    assert cells["Contract"] == "Year 1"
    assert cells["Location Region"] == ""
    assert [r.course_code for r in report] == ["daG-a-01"]  # typed rows too


def test_the_membership_and_specialization_headers_and_states(lp: learnprog.Learnprog) -> None:
    w = Reported(lp)
    w.invite("ivy@acme.example", "Ivy", send_email=False)
    members = _rows(lp.reports.membership_report(w.admin, w.org.id).csv_text())
    assert tuple(members[0]) == MEMBERSHIP_COLUMNS
    by_email = {r[1]: dict(zip(members[0], r, strict=True)) for r in members[1:]}
    lia = by_email["lia@acme.example"]
    assert (lia["# Enrolled Courses"], lia["# Completed Courses"]) == ("1", "1")
    assert (lia["Member State"], lia["Join Date"]) == ("MEMBER", "2026-03-02T09:00:00.000Z")
    assert lia["Contract(s)"] == "Year 1"
    assert by_email["ivy@acme.example"]["Member State"] == "INVITED"
    assert by_email["ivy@acme.example"]["Join Date"] == ""
    specs = _rows(lp.reports.specialization_report(w.admin, w.org.id).csv_text())
    assert specs == [list(SPECIALIZATION_COLUMNS)]


def _typed_cells(report: Report[Any]) -> list[list[str]]:
    return [report.cells(row) for row in report]


def test_the_typed_rows_cells_are_the_csv_rows(lp: learnprog.Learnprog) -> None:
    w = Reported(lp)
    w.invite("ivy@acme.example", "Ivy", send_email=False)
    for report in (
        lp.reports.usage_report(w.admin, w.org.id),
        lp.reports.membership_report(w.admin, w.org.id),
        lp.reports.specialization_report(w.admin, w.org.id),
    ):
        written = _rows(report.csv_text())[1:]
        assert _typed_cells(report) == written
        assert report._repr_html_().count("<tr>") == len(written) + 1


def test_an_excel_option_writes_a_byte_order_mark(lp: learnprog.Learnprog) -> None:
    w = Reported(lp)
    assert lp.reports.usage_report(w.admin, w.org.id).csv_text(excel=True).startswith("\ufeffName,")
    assert lp.reports.usage_report(w.admin, w.org.id).csv_text().startswith("Name,")


def test_the_zip_holds_the_three_reports(lp: learnprog.Learnprog) -> None:
    w = Reported(lp)
    buffer = io.BytesIO()
    names = lp.reports.write_zip(w.admin, w.org.id, buffer)
    with zipfile.ZipFile(buffer) as archive:
        assert archive.namelist() == list(names)
        assert names == ("member-report.csv", "usage-report.csv", "specialization-report.csv")
        usage = archive.read("usage-report.csv").decode("utf-8")
    assert usage == lp.reports.usage_report(w.admin, w.org.id).csv_text()


def test_protected_cells_round_trip_through_the_csv(lp: learnprog.Learnprog) -> None:
    w = Reported(lp)
    (_, row) = _rows(lp.reports.usage_report(w.admin, w.org.id).csv_text())
    assert unprotect(row[2]) == "-00123"
    assert unprotect(row[0]) == '=HYPERLINK("x")'


def test_a_program_admin_reports_on_their_programs_only(lp: learnprog.Learnprog) -> None:
    w = Reported(lp)
    other = lp.programs.create_program(w.admin, w.org.id, "Other", slug="other")
    lp.organizations.add_admin(
        w.admin, w.org.id, "lia@acme.example", role="program", program_ids=[other.id]
    )
    paulo = lp.organizations.resolve_actor(SYSTEM, w.org.id, "lia@acme.example")
    assert list(lp.reports.usage_report(paulo, w.org.id)) == []
    with pytest.raises(PermissionDeniedError):
        lp.reports.usage_report(paulo, w.org.id, program_ids=[w.program.id])
    with pytest.raises(NotFoundError):
        lp.reports.usage_report(w.admin, w.org.id, program_ids=["nope"])
    with pytest.raises(PermissionDeniedError):
        lp.reports.email_report(w.lia, w.org.id)


def test_the_email_report_figures_and_programs(lp: learnprog.Learnprog, clock: FixedClock) -> None:
    w = Reported(lp)
    report = lp.reports.email_report(w.admin, w.org.id)
    assert [p.slug.value for p in report.programs] == ["academy"]
    f = report.figures
    assert (f.total_enrollments, f.unique_learners, f.course_completions) == (1, 1, 1)
    assert f.estimated_hours == pytest.approx(0.5)
    assert f.computed_at == clock.now()
    labels = [label for label, _ in f.labelled()]
    assert labels[0] == "Total enrollments"
    assert len(labels) == 18


def test_the_funnel_for_the_admin_home_page(lp: learnprog.Learnprog, clock: FixedClock) -> None:
    w = Reported(lp)  # Lia joined and enrolled
    w.invite("ivy@acme.example", "Ivy", send_email=False)  # invited only
    w.invite("cy@acme.example", "Cy", send_email=False)
    w.accept("cy@acme.example")  # joined, not enrolled
    funnel = lp.reports.funnel(w.admin, w.org.id)
    assert (funnel.invitations_sent, funnel.joined, funnel.enrolled) == (3, 2, 1)
    assert funnel.join_rate == pytest.approx(200 / 3)
    assert funnel.enroll_rate == 50.0
    assert funnel.computed_at == clock.now()
    with pytest.raises(PermissionDeniedError):
        lp.reports.funnel(w.lia, w.org.id)


def test_the_summary_and_its_28_day_change(lp: learnprog.Learnprog, clock: FixedClock) -> None:
    # Lia enrolled on 03-02 09:00 and learned 10:00-10:30 the same day, completing lesson W1
    w = Reported(lp)
    lp.learning.rate_course(w.lia, w.program.id, w.course.id, rating=4)
    summary = lp.reports.summary(w.admin, w.org.id)
    assert (summary.enrollments, summary.enrollments_change) == (1, 1)
    assert summary.learning_hours == pytest.approx(0.5)
    assert summary.learning_hours_change == pytest.approx(0.5)
    assert (summary.lessons_taken, summary.lessons_taken_change) == (1, 1)
    assert (summary.average_rating, summary.ratings) == (4.0, 1)
    assert summary.computed_at == clock.now()
    clock.set(datetime(2026, 3, 29, 23, 59, 59, 999_999, tzinfo=UTC))  # 03-02 is the 28th day
    last = lp.reports.summary(w.admin, w.org.id)
    assert last.since.isoformat() == "2026-03-02"
    assert (last.enrollments_change, last.lessons_taken_change) == (1, 1)
    assert last.learning_hours_change == pytest.approx(0.5)
    clock.set(datetime(2026, 3, 30, tzinfo=UTC))  # 03-02 has left the period
    gone = lp.reports.summary(w.admin, w.org.id)
    assert (gone.enrollments_change, gone.learning_hours_change, gone.lessons_taken_change) == (
        0,
        0.0,
        0,
    )
    assert (gone.enrollments, gone.lessons_taken) == (1, 1)
    assert gone.learning_hours == pytest.approx(0.5)


def test_a_summary_without_ratings_has_no_average(lp: learnprog.Learnprog) -> None:
    w = World(lp)
    summary = lp.reports.summary(w.admin, w.org.id)
    assert (summary.enrollments, summary.average_rating, summary.ratings) == (0, None, 0)
    with pytest.raises(NotFoundError):
        lp.reports.summary(w.admin, "nope")


def test_member_email_categories(lp: learnprog.Learnprog) -> None:
    w = Reported(lp)  # Lia completed the course
    for email in ("cy@acme.example", "dee@acme.example", "rex@acme.example"):
        w.invite(email, email.split("@")[0].title(), send_email=False)
        w.accept(email)
    w.invite("ivy@acme.example", "Ivy", send_email=False)  # invited only: in no list
    lp.learning.enroll(w.learner("dee@acme.example"), w.program.id, w.course.id)
    rex = lp.learning.enroll(w.learner("rex@acme.example"), w.program.id, w.course.id)
    lp.invitations.remove_member(w.admin, rex_membership(lp, w, rex.learner_id))  # removed

    def emails(category: str) -> str:
        return lp.reports.member_emails(w.admin, w.program.id, category).csv_text()

    assert emails("no_enrollments") == "Email\r\ncy@acme.example\r\n"
    assert emails("enrolled_no_completions") == "Email\r\ndee@acme.example\r\n"
    assert emails("completed_at_least_one") == "Email\r\nlia@acme.example\r\n"
    report = lp.reports.member_emails(w.admin, w.program.id, "no_enrollments")
    assert report.name == "no-enrollments.csv"
    assert [r.learner.full_name for r in report] == ["Cy"]
    with pytest.raises(ValidationError):
        lp.reports.member_emails(w.admin, w.program.id, "inactive")
    with pytest.raises(PermissionDeniedError):
        lp.reports.member_emails(w.lia, w.program.id, "no_enrollments")


def rex_membership(lp: learnprog.Learnprog, w: World, learner_id: str) -> str:
    page = lp.learning.members_list(w.admin, w.program.id, search="rex")
    (row,) = page.rows
    assert row.learner.id == learner_id
    return row.membership.id


def _gradebook_world(lp: learnprog.Learnprog) -> Reported:
    w = Reported(lp)  # Lia: one attempt, 88.25 at 10:30:00.782 (pass mark 80)
    w.invite("dee@acme.example", "Dee", send_email=False)
    w.accept("dee@acme.example")
    dee = w.learner("dee@acme.example")
    lp.learning.enroll(dee, w.program.id, w.course.id)
    lp.learning.ingest(
        SYSTEM,
        w.org.id,
        attempts=[
            AssessmentAttempt("d1", dee.learner_id, w.course.id, "a1", 50.0, START + 120 * MIN),
            AssessmentAttempt(
                "d2", dee.learner_id, w.course.id, "a1", 85.0, START + 180 * MIN, banked=True
            ),
        ],
    )
    return w


def _token(link: str) -> str:
    assert link.startswith("http://localhost:8000/reports/gradebook?token=")
    return parse_qs(urlsplit(link).query)["token"][0]


def test_the_gradebook_zip_cell_by_cell(lp: learnprog.Learnprog) -> None:
    w = _gradebook_world(lp)
    data = lp.reports.open_gradebook(
        w.admin, _token(lp.reports.gradebook_link(w.admin, w.course.id))
    )
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == ["assessment_attempts.csv", "gradebook.csv"]
        attempts = _rows(archive.read("assessment_attempts.csv").decode("utf-8"))
        book = _rows(archive.read("gradebook.csv").decode("utf-8"))
    lia = ['\'=HYPERLINK("x")', "lia@acme.example", "'-00123"]
    assert attempts == [
        ["Name", "Email", "External Id", "Assessment ID", "Assessment Name", "Attempt Time",
         "Grade", "Banked", "Passed"],
        ["Dee", "dee@acme.example", "", "a1", "Quiz", "2026-03-02T11:00:00.000Z", "50.00", "No",
         "No"],
        ["Dee", "dee@acme.example", "", "a1", "Quiz", "2026-03-02T12:00:00.000Z", "85.00", "Yes",
         "Yes"],
        [*lia, "a1", "Quiz", "2026-03-02T10:30:00.782Z", "88.25", "No", "Yes"],
    ]  # fmt: skip
    assert book == [
        ["Name", "Email", "External Id", "Quiz (a1)"],
        ["Dee", "dee@acme.example", "", "85.00"],
        [*lia, "88.25"],
    ]


def test_a_gradebook_link_expires_after_24_hours(
    lp: learnprog.Learnprog, clock: FixedClock
) -> None:
    w = _gradebook_world(lp)
    token = _token(lp.reports.gradebook_link(w.admin, w.course.id, program_id=w.program.id))
    clock.advance(timedelta(hours=24))
    assert lp.reports.open_gradebook(w.admin, token).startswith(b"PK")  # 24 h: still good
    clock.advance(timedelta(seconds=1))
    with pytest.raises(InvalidTokenError, match="expired"):
        lp.reports.open_gradebook(w.admin, token)


def test_an_altered_or_borrowed_gradebook_link_is_refused(lp: learnprog.Learnprog) -> None:
    w = _gradebook_world(lp)
    token = _token(lp.reports.gradebook_link(w.admin, w.course.id))
    with pytest.raises(InvalidTokenError, match="not valid"):
        lp.reports.open_gradebook(w.admin, forged(token))
    for padded_or_accented in (token + "==", token[:-3] + "\u00fc" + token[-3:]):
        with pytest.raises(InvalidTokenError, match="not valid"):  # base64 would skip them
            lp.reports.open_gradebook(w.admin, padded_or_accented)
    unsubscribe = lp.context.signer.sign(TokenPurpose.UNSUBSCRIBE, {"o": w.org.id})
    with pytest.raises(InvalidTokenError):
        lp.reports.open_gradebook(w.admin, unsubscribe)  # made for another purpose
    with pytest.raises(PermissionDeniedError):
        lp.reports.open_gradebook(w.lia, token)  # another person's link
    with pytest.raises(NotFoundError):
        lp.reports.gradebook_link(w.admin, "no-such-course")


def test_learnprogs_own_csv_reader_undoes_the_protection(lp: learnprog.Learnprog) -> None:
    """The round trip: a report written, then read by learnprog's CSV reader (every importer)."""
    from learnprog.csvfiles import read_csv

    w = Reported(lp)
    text = lp.reports.usage_report(w.admin, w.org.id).csv_text(excel=True)
    with read_csv(text.encode("utf-8"), ["Name", "External Id", "Overall Progress"]) as rows:
        (row,) = list(rows)
    assert row.values["External Id"] == "-00123"
    assert row.values["Name"] == '=HYPERLINK("x")'
    assert row.values["Overall Progress"] == "100.00"


def test_a_report_edited_and_imported_again_updates_the_learner_it_names(
    uow_factory: UowFactory,
) -> None:
    """Finding: ``'-5`` and ``-5`` once shared a cell, so the re-import updated the wrong learner.

    On every backend: the membership report is written, one learner's row is edited and read
    back by ``bulk_update_learners``, by Email and by External ID.
    """
    lp = learnprog.connect(
        uow_factory=uow_factory,
        clock=FixedClock(START),
        settings=learnprog.Settings(secret_key="test-secret-test-secret"),
    )
    w = World(lp, licenses=10)
    people = [
        ("Quote", "'-apos@acme.example", "'-5"),
        ("Dash", "-apos@acme.example", "-5"),
        ("Apostrophe", "'abc@acme.example", "'abc"),
        ("Two", "''x@acme.example", "''x"),
    ]
    for name, email, external_id in people:
        lp.invitations.invite(
            w.admin,
            w.program.id,
            w.contract.id,
            full_name=name,
            email=email,
            external_id=external_id,
            send_email=False,
        )
    rows = {r[0]: r for r in _rows(lp.reports.membership_report(w.admin, w.org.id).csv_text())[1:]}
    assert (rows["Quote"][1], rows["Quote"][2]) == ("''-apos@acme.example", "''-5")
    assert (rows["Dash"][1], rows["Dash"][2]) == ("'-apos@acme.example", "'-5")
    assert rows["Apostrophe"][2] == "''abc"
    assert rows["Two"][2] == "'''x"

    def job_titles() -> dict[str, str | None]:
        return {
            learner.full_name: learner.profile.job_title
            for learner, _ in lp.invitations.members(w.admin, w.program.id)
        }

    by_email = f"Email,Job Title\n{rows['Quote'][1]},Analyst\n".encode()
    (result,) = lp.invitations.bulk_update_learners(w.admin, w.org.id, by_email)
    assert (result.outcome, result.key) == ("updated", "'-apos@acme.example")
    assert job_titles() == {"Quote": "Analyst", "Dash": None, "Apostrophe": None, "Two": None}
    for name, _, _ in people:
        by_external_id = f"External ID,Job Title\n{rows[name][2]},Lead {name}\n".encode()
        (result,) = lp.invitations.bulk_update_learners(w.admin, w.org.id, by_external_id)
        assert result.outcome == "updated", result
    assert job_titles() == {n: f"Lead {n}" for n, _, _ in people}
