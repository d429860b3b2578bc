"""The usage report email: on demand, with its figures and an expiring download link."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

import learnprog
from learnprog.clock import FixedClock
from learnprog.errors import InvalidTokenError, PermissionDeniedError
from learnprog.mail.memory import InMemoryMailer
from learnprog.model import LearnerActor, MessageCategory, OutgoingMessage
from tests.factories import forged
from tests.services.test_reports import Reported
from tests.services.world import SYSTEM

# Lia joined Academy, enrolled in one course and completed it with 0.5 hours of learning:
# hours are rounded to whole hours in the email (round(0.5) == 0)
LIA_FIGURES = [
    ("Total enrollments", 1),
    ("Total unique learners", 1),
    ("Learners who have enrolled in at least one course", 1),
    ("Total removed learners", 0),
    ("Total unique courses", 1),
    ("Total course completions", 1),
    ("Total verified course completions", 0),
    ("Total unique course completers", 1),
    ("Total estimated hours spent", 0),
    ("Learners who have completed 50% of a course", 1),
    ("Learners who have joined the program but have not enrolled in a course", 0),
    ("Learners who have enrolled in a course but have not completed any course", 0),
    ("Learners who have enrolled in 1 course", 1),
    ("Learners who have completed 1 course", 1),
    ("Learners who have enrolled in 2 courses", 0),
    ("Learners who have completed 2 courses", 0),
    ("Learners who have enrolled in more than 2 courses", 0),
    ("Learners who have completed more than 2 courses", 0),
]


def _reports(mailer: InMemoryMailer) -> list[OutgoingMessage]:
    return [m for m in mailer.sent if m.template == "usage_report"]


def _download_token(text: str) -> str:
    (line,) = [ln for ln in text.splitlines() if "/reports/download?token=" in ln]
    url = line.rsplit(" ", 1)[1]
    assert url.startswith("http://localhost:8000/reports/download?token=")
    return parse_qs(urlsplit(url).query)["token"][0]


def test_the_email_report_goes_to_the_admin_who_asked(
    lp: learnprog.Learnprog, mailer: InMemoryMailer
) -> None:
    w = Reported(lp)
    result = lp.reports.send_email_report(w.admin, w.org.id)
    assert result.queued
    lp.mail.dispatch(SYSTEM)
    (sent,) = _reports(mailer)
    assert (sent.to.address, sent.subject, sent.template) == (
        "ana@acme.example",
        "Acme Program Usage Report",
        "usage_report",
    )
    assert sent.category is MessageCategory.ADMIN
    assert sent.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = sent.text_body
    assert (
        "The usage report for the Acme learning program was last updated on March 2 at 9:00 AM "
        "UTC. This report is generated for members in the following program(s): Academy. Here "
        "is a summary:"
    ) in text
    lines = text.splitlines()
    start = lines.index("Total enrollments: 1")
    assert lines[start : start + 18] == [f"{label}: {value}" for label, value in LIA_FIGURES]
    assert "The link expires on March 3 at 9:00 AM UTC." in text
    assert "ana@acme.example asked for this report as an administrator at Acme" in text
    html = sent.html_body or ""
    assert '<a href="http://localhost:8000/programs/academy">Academy</a>' in html
    for label, value in LIA_FIGURES:
        assert f'<tr><td>{label}</td><td style="text-align:right;">{value}</td></tr>' in html
    assert "part of" not in text  # the learners' footer is not used


def test_the_download_link_opens_the_three_csvs(
    lp: learnprog.Learnprog, mailer: InMemoryMailer
) -> None:
    w = Reported(lp)
    lp.reports.send_email_report(w.admin, w.org.id, program_ids=[w.program.id])
    lp.mail.dispatch(SYSTEM)
    data = lp.reports.open_report_zip(w.admin, _download_token(_reports(mailer)[0].text_body))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == [
            "member-report.csv",
            "usage-report.csv",
            "specialization-report.csv",
        ]
        usage = archive.read("usage-report.csv").decode("utf-8")
    assert usage == lp.reports.usage_report(w.admin, w.org.id).csv_text()


def test_a_report_link_expires_after_24_hours(
    lp: learnprog.Learnprog, mailer: InMemoryMailer, clock: FixedClock
) -> None:
    w = Reported(lp)
    lp.reports.send_email_report(w.admin, w.org.id)
    lp.mail.dispatch(SYSTEM)
    token = _download_token(_reports(mailer)[0].text_body)
    clock.advance(timedelta(hours=24))
    assert lp.reports.open_report_zip(w.admin, token).startswith(b"PK")
    clock.advance(timedelta(seconds=1))
    with pytest.raises(InvalidTokenError, match="expired"):
        lp.reports.open_report_zip(w.admin, token)


def test_an_altered_borrowed_or_gradebook_link_is_refused(
    lp: learnprog.Learnprog, mailer: InMemoryMailer
) -> None:
    w = Reported(lp)
    lp.reports.send_email_report(w.admin, w.org.id)
    lp.mail.dispatch(SYSTEM)
    token = _download_token(_reports(mailer)[0].text_body)
    with pytest.raises(InvalidTokenError, match="not valid"):
        lp.reports.open_report_zip(w.admin, forged(token))
    gradebook = lp.reports.gradebook_link(w.admin, w.course.id).split("token=")[1]
    with pytest.raises(InvalidTokenError, match="not valid"):
        lp.reports.open_report_zip(w.admin, gradebook)
    with pytest.raises(InvalidTokenError, match="not valid"):
        lp.reports.open_gradebook(w.admin, token)
    with pytest.raises(PermissionDeniedError):
        lp.reports.open_report_zip(w.lia, token)


def test_a_program_admins_report_covers_their_programs(
    lp: learnprog.Learnprog, mailer: InMemoryMailer
) -> None:
    w = Reported(lp)
    other = lp.programs.create_program(w.admin, w.org.id, "Other", slug="other")
    lp.organizations.add_admin(
        w.admin, w.org.id, "lia@acme.example", role="program", program_ids=[other.id]
    )
    paulo = lp.organizations.resolve_actor(SYSTEM, w.org.id, "lia@acme.example")
    lp.reports.send_email_report(paulo, w.org.id)
    with pytest.raises(PermissionDeniedError):
        lp.reports.send_email_report(paulo, w.org.id, program_ids=[w.program.id])
    with pytest.raises(PermissionDeniedError):
        lp.reports.send_email_report(w.lia, w.org.id)
    lp.mail.dispatch(SYSTEM)
    (sent,) = _reports(mailer)
    assert sent.to.address == "lia@acme.example"
    assert "in the following program(s): Other. Here is a summary:" in sent.text_body
    assert "Total enrollments: 0" in sent.text_body


def test_an_admin_who_opted_out_of_admin_mail_is_not_sent_the_report(
    lp: learnprog.Learnprog,
) -> None:
    w = Reported(lp)
    ana = LearnerActor(w.org.id, w.admin.learner_id)  # Ana as a learner, in her preferences
    lp.mail.set_email_preference(ana, "admin", receive=False)
    result = lp.reports.send_email_report(w.admin, w.org.id)
    assert (result.queued, result.skipped_reason) == (False, "opted out of admin mail")
