"""The report zip and gradebook links, through the app in process."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta

from learnprog.model.catalog import Assessment
from tests.web.conftest import SYSTEM, Web, shown

ANA = "ana.lima@acme.example"
NOA = "noa.reis@acme.example"


def report_link(web: Web) -> str:
    web.lp.reports.send_email_report(web.ana, web.org.id)
    web.lp.mail.dispatch(SYSTEM)
    return web.link(ANA, "/reports/download?token=")


def test_the_admin_downloads_the_report_zip(web: Web) -> None:
    answer = web.get(report_link(web), user=ANA)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/zip"
    assert answer.headers["content-disposition"] == 'attachment; filename="report.zip"'
    assert answer.headers["cache-control"] == "no-store"
    names = zipfile.ZipFile(io.BytesIO(answer.content)).namelist()
    assert sorted(names) == ["member-report.csv", "specialization-report.csv", "usage-report.csv"]


def test_a_report_link_signed_out_goes_to_sign_in(web: Web) -> None:
    link = report_link(web)
    answer = web.get(link)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/sign-in?next=%2Freports%2Fdownload%3Ftoken%3D")


def test_someone_else_opening_the_admins_link_is_403(web: Web) -> None:
    link = report_link(web)
    assert web.get(web.invite("Noa Reis", NOA), user=NOA).status_code == 303
    learner = web.get(link, user=NOA)
    assert learner.status_code == 403
    assert "may not open another admin's link" in shown(learner)
    stranger = web.get(link, user="eve@elsewhere.example")
    assert stranger.status_code == 403


def test_a_report_link_altered_is_400_and_after_24_hours_410(web: Web) -> None:
    link = report_link(web)
    assert web.get(link[:-2] + "zz", user=ANA).status_code == 400
    web.clock.advance(timedelta(hours=24, seconds=1))
    answer = web.get(link, user=ANA)
    assert answer.status_code == 410
    assert "the link has expired" in shown(answer)


def test_a_gradebook_link_opens_for_the_admin_who_asked(web: Web) -> None:
    course = web.lp.programs.add_course(
        web.ana,
        web.org.id,
        course_id="sql-1",
        slug="sql-1",
        name="SQL basics",
        assessments=[Assessment("quiz-1", "Quiz 1", graded=True, pass_mark=80.0)],
    )
    link = web.lp.reports.gradebook_link(web.ana, course.id, program_id=web.program.id)
    answer = web.get(link.removeprefix("http://testserver"), user=ANA)
    assert answer.status_code == 200
    assert answer.headers["content-disposition"] == 'attachment; filename="gradebook.zip"'
    names = zipfile.ZipFile(io.BytesIO(answer.content)).namelist()
    assert sorted(names) == ["assessment_attempts.csv", "gradebook.csv"]
    # a gradebook token is no report token, and the reverse
    as_report = link.replace("/reports/gradebook", "/reports/download")
    assert web.get(as_report, user=ANA).status_code == 400
