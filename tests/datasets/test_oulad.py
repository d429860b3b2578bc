"""The OULAD importer: the shipped subset's counts, figures checked by hand, edge cases."""

from __future__ import annotations

import csv
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

import learnprog
from learnprog.clock import FixedClock
from learnprog.datasets.oulad import (
    OuladReport,
    SkipReason,
    import_oulad,
    presentation_start,
    shipped_data,
)
from learnprog.errors import ValidationError
from learnprog.mail.memory import InMemoryMailer
from learnprog.model import OrgAdminActor
from learnprog.model.activity import Enrollment
from learnprog.storage.sql import SqlUnitOfWork
from tests.services.world import SYSTEM

START = datetime(2013, 10, 1, tzinfo=UTC)


def _setup(lp: learnprog.Learnprog, licenses: int = 20_000) -> tuple[OrgAdminActor, str, str, str]:
    org = lp.organizations.create_organization(
        SYSTEM, "OU", email_domains=["ou.example"], admin_name="Ana", admin_email="ana@ou.example"
    )
    admin = lp.organizations.resolve_actor(SYSTEM, org.id, "ana@ou.example")
    assert isinstance(admin, OrgAdminActor)
    program = lp.programs.create_program(admin, org.id, "OU Program", slug="ou")
    contract = lp.programs.create_contract(
        admin,
        org.id,
        "Licenses",
        kind="licenses",
        quantity=licenses,
        starts_at=datetime(2013, 1, 1, tzinfo=UTC),
        ends_at=datetime(2030, 1, 1, tzinfo=UTC),
    )
    return admin, org.id, program.id, contract.id


def _csv_rows(name: str) -> list[dict[str, str]]:
    with (shipped_data() / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_shipped_subset_keeps_its_attribution() -> None:
    readme = (shipped_data() / "README.md").read_text(encoding="utf-8")
    assert "doi:10.1038/sdata.2017.171" in readme
    assert "CC BY 4.0" in readme


def test_the_shipped_subset_imports_with_the_readme_counts_and_twice_changes_nothing() -> None:
    lp = learnprog.connect("memory://", clock=FixedClock(datetime(2026, 3, 2, tzinfo=UTC)))
    admin, org_id, program_id, contract_id = _setup(lp)
    steps: set[str] = set()
    report = import_oulad(
        lp, admin, org_id, program_id, contract_id, on_progress=lambda step, n: steps.add(step)
    )
    scores = _csv_rows("studentAssessment.csv")
    blank = sum(1 for r in scores if not r["score"])
    assert (report.courses, report.courses_created, report.items, report.assessments) == (
        12,
        12,
        3219,
        37,
    )
    assert report.skills_created == 6
    assert report.members.created == len({r["id_student"] for r in _csv_rows("studentInfo.csv")})
    assert report.enrollments.created == 12_489
    assert report.blank_scores == blank == 18
    assert report.attempts.attempts_added == 36_184 - blank
    assert report.banked_attempts == sum(1 for r in scores if r["is_banked"] == "1" and r["score"])
    assert not report.members.rejected
    assert not report.enrollments.rejected
    assert not report.attempts.rejected
    assert any("GGG" in note for note in report.notes)
    assert any("learning hours" in note for note in report.notes)
    assert steps == {"reading", "members", "enrollments", "attempts"}
    assert report.events is None
    assert report.skipped == {SkipReason.NO_SCORE: blank}
    again = import_oulad(lp, admin, org_id, program_id, contract_id)
    assert (again.courses_created, again.skills_created, again.members.created) == (0, 0, 0)
    assert (again.enrollments.created, again.attempts.attempts_added) == (0, 0)
    assert again.attempts.duplicates == 36_184 - blank
    _check_one_student_by_hand(lp, admin, program_id)


def _check_one_student_by_hand(
    lp: learnprog.Learnprog, admin: OrgAdminActor, program_id: str
) -> None:
    """Student 11391 in AAA-2013J: the grade and completion recomputed from the raw CSV."""
    assessments = {
        r["id_assessment"]: r
        for r in _csv_rows("assessments.csv")
        if (r["code_module"], r["code_presentation"]) == ("AAA", "2013J")
    }
    scores = {
        r["id_assessment"]: r
        for r in _csv_rows("studentAssessment.csv")
        if r["id_student"] == "11391" and r["id_assessment"] in assessments
    }
    weighted = [a for a in assessments.values() if float(a["weight"]) > 0]
    total = sum(float(a["weight"]) for a in weighted)
    grade = (
        sum(float(a["weight"]) * float(scores[a["id_assessment"]]["score"]) for a in weighted)
        / total
    )
    passed = all(float(scores[a["id_assessment"]]["score"]) >= 40 for a in weighted)
    last = max(int(scores[a["id_assessment"]]["date_submitted"]) for a in weighted)
    page = lp.learning.members_list(admin, program_id, search="student.11391@")
    (row,) = page.rows
    assert row.learner.external_id == "11391"
    (enrollment,) = [
        e
        for e in lp.learning.enrollments(admin, program_id, learner_id=row.learner.id)
        if e.enrolled_at.year == 2013
    ]
    figures = lp.learning.progress(admin, enrollment.id)
    assert figures.grade == pytest.approx(grade)
    assert figures.completed is passed
    assert figures.completed_at == START + timedelta(days=last)
    assert figures.learning_seconds == 0.0


def _write(folder: Path, name: str, header: str, *rows: str) -> None:
    (folder / name).write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")


def _tiny(folder: Path) -> Path:
    _write(folder, "courses.csv", "code_module,code_presentation,module_presentation_length",
           "GGG,2013J,261")  # fmt: skip
    _write(
        folder,
        "assessments.csv",
        "code_module,code_presentation,id_assessment,assessment_type,date,weight",
        "GGG,2013J,37418,TMA,61,0",
        "GGG,2013J,37415,CMA,20,0",
    )
    _write(
        folder,
        "studentInfo.csv",
        "code_module,code_presentation,id_student,gender,region,highest_education,imd_band,"
        "age_band,num_of_prev_attempts,studied_credits,disability,final_result",
        "GGG,2013J,7,F,Wales,A Level,10-20,0-35,0,60,N,Pass",
        "GGG,2013J,8,M,Scotland,A Level,10-20,0-35,0,60,N,Fail",
    )
    _write(
        folder,
        "studentRegistration.csv",
        "code_module,code_presentation,id_student,date_registration,date_unregistration",
        "GGG,2013J,7,-10,",
        "GGG,2013J,8,-5,30",
    )
    _write(
        folder,
        "studentAssessment.csv",
        "id_assessment,id_student,date_submitted,is_banked,score",
        "37415,7,19,0,55",
        "37418,7,60,0,41",
        "37415,8,18,1,",
        "37418,8,-20,1,90",
    )
    vle = "id_site,code_module,code_presentation,activity_type,week_from,week_to"
    _write(folder, "vle.csv", vle, "1,GGG,2013J,quiz,2,2", "2,GGG,2013J,resource,,")
    return folder


def test_a_small_folder_imports_every_rule(lp: learnprog.Learnprog, tmp_path: Path) -> None:
    admin, org_id, program_id, contract_id = _setup(lp, licenses=5)
    report = import_oulad(lp, admin, org_id, program_id, contract_id, source=_tiny(tmp_path))
    assert (report.blank_scores, report.banked_attempts) == (1, 1)
    assert report.attempts.attempts_added == 3
    assert any("GGG" in n and "weigh the same" in n for n in report.notes)
    (course,) = lp.programs.list_courses(admin, org_id)
    assert (course.course_id, course.slug, course.partner) == (
        "GGG-2013J",
        "ggg-2013j",
        "The Open University",
    )
    assert course.class_start == START
    assert course.class_end == START + timedelta(days=261)
    assert [a.name for a in course.assessments] == ["CMA 1", "TMA 1"]
    assert all(a.required and a.pass_mark == 40 for a in course.assessments)
    assert [(i.kind.value, i.lesson) for i in course.items] == [
        ("quiz", "Week 2"),
        ("reading", "Module resources"),
    ]
    (skill,) = lp.programs.list_skills(admin, org_id)
    assert (skill.domain, skill.name) == ("Social Sciences", "Module GGG")
    rows = {r.learner.external_id: r for r in lp.learning.members_list(admin, program_id).rows}
    assert rows["7"].learner.profile.location_region == "Wales"
    assert rows["7"].membership.joined_at == START - timedelta(days=10)
    seven = lp.learning.enrollments(admin, program_id, learner_id=rows["7"].learner.id)
    figures = lp.learning.progress(admin, seven[0].id)
    assert figures.grade == pytest.approx((55 + 41) / 2)  # all weights 0: equal weights
    assert figures.completed_at == START + timedelta(days=60)
    (eight,) = lp.learning.enrollments(admin, program_id, learner_id=rows["8"].learner.id)
    assert eight.unenrolled_at == START + timedelta(days=30)
    banked = lp.learning.progress(admin, eight.id)
    assert banked.attempts == 0  # dated before the registration: counts toward nothing


def test_presentation_codes_are_checked() -> None:
    assert presentation_start("2014B") == datetime(2014, 2, 1, tzinfo=UTC)
    with pytest.raises(ValidationError, match="code_presentation"):
        presentation_start("2014X")


def test_a_missing_column_names_the_file(lp: learnprog.Learnprog, tmp_path: Path) -> None:
    admin, org_id, program_id, contract_id = _setup(lp, licenses=5)
    folder = _tiny(tmp_path)
    _write(folder, "courses.csv", "code_module,code_presentation", "GGG,2013J")
    with pytest.raises(ValidationError, match="module_presentation_length"):
        import_oulad(lp, admin, org_id, program_id, contract_id, source=folder)


@pytest.mark.parametrize(
    ("name", "header", "rows", "expected"),
    [
        ("courses.csv", "code_module,code_presentation,module_presentation_length",
         ["GGG,2013J,many"], "courses.csv"),
        ("studentRegistration.csv",
         "code_module,code_presentation,id_student,date_registration,date_unregistration",
         ["ZZZ,2013J,7,-10,"], "studentRegistration.csv"),
        ("studentAssessment.csv", "id_assessment,id_student,date_submitted,is_banked,score",
         ["37415,7,19,0,150"], "studentAssessment.csv"),
        ("studentAssessment.csv", "id_assessment,id_student,date_submitted,is_banked,score",
         ["99999,7,19,0,50"], "studentAssessment.csv"),
        ("assessments.csv",
         "code_module,code_presentation,id_assessment,assessment_type,date,weight",
         ["GGG,2013J,37418,TMA,61,heavy"], "assessments.csv"),
    ],
)  # fmt: skip
def test_a_malformed_folder_names_the_file_and_line(
    lp: learnprog.Learnprog,
    tmp_path: Path,
    name: str,
    header: str,
    rows: list[str],
    expected: str,
) -> None:
    admin, org_id, program_id, contract_id = _setup(lp, licenses=5)
    folder = _tiny(tmp_path)
    _write(folder, name, header, *rows)
    with pytest.raises(ValidationError) as caught:
        import_oulad(lp, admin, org_id, program_id, contract_id, source=folder)
    assert expected in str(caught.value)
    assert caught.value.line == 2


def test_a_byte_order_mark_is_fine(lp: learnprog.Learnprog, tmp_path: Path) -> None:
    admin, org_id, program_id, contract_id = _setup(lp, licenses=5)
    folder = _tiny(tmp_path)
    path = folder / "courses.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    report = import_oulad(lp, admin, org_id, program_id, contract_id, source=folder)
    assert report.courses == 1


# --- the dataset as the Open University publishes it ----------------------------------------

CCC = datetime(2014, 2, 1, tzinfo=UTC)  # CCC-2014B starts on 1 February 2014
PUBLISHED_VLE = (
    '"code_module","code_presentation","id_student","id_site","date","sum_click"',
    '"CCC","2014B","10","1001","-10","4"',
    '"CCC","2014B","10","1001","-10.0","2"',  # the same student, site and day: one event
    '"CCC","2014B","10","1002","3.0","1"',
    '"CCC","2014B","30","1002","11","7"',
    '"CCC","2014B","20","1001","?","1"',
    '"CCC","2014B","20","5555","1","1"',
    '"ZZZ","2014B","20","9999","1","1"',
    '"CCC","2014B","40","1001","1","1"',
)


def published_oulad(folder: Path) -> Path:
    """A small folder written as the published files are: quoted cells, ``?``, float days."""
    _write(folder, "courses.csv",
           '"code_module","code_presentation","module_presentation_length"',
           '"CCC","2014B","241"')  # fmt: skip
    _write(
        folder,
        "assessments.csv",
        '"code_module","code_presentation","id_assessment","assessment_type","date","weight"',
        '"CCC","2014B","3","Exam","?","100"',
        '"CCC","2014B","2","CMA","32","50"',
        '"CCC","2014B","1","TMA","18.0","50.0"',
    )
    _write(
        folder,
        "studentInfo.csv",
        '"code_module","code_presentation","id_student","gender","region","highest_education",'
        '"imd_band","age_band","num_of_prev_attempts","studied_credits","disability",'
        '"final_result"',
        '"CCC","2014B","10","F","Wales","A Level","?","0-35","0","60","N","Pass"',
        '"CCC","2014B","20","M","?","A Level","10-20%","0-35","0","60","N","Fail"',
        '"CCC","2014B","30","M","Scotland","A Level","?","35-55","1","120","Y","Withdrawn"',
    )
    _write(
        folder,
        "studentRegistration.csv",
        '"code_module","code_presentation","id_student","date_registration","date_unregistration"',
        '"CCC","2014B","10","-20.0","?"',
        '"CCC","2014B","20","?",""',
        '"CCC","2014B","30","-5","12.0"',
    )
    _write(
        folder,
        "studentAssessment.csv",
        '"id_assessment","id_student","date_submitted","is_banked","score"',
        '"1","10","17.0","0","78.0"',
        '"2","10","30","0","65"',
        '"3","10","230","0","55"',
        '"1","20","19","0","?"',
        '"2","20","?","0","40"',
        '"1","30","10","0","35"',
        '"1","40","18","0","90"',
        '"2","30","-40","1.0","70"',
    )
    _write(
        folder,
        "vle.csv",
        '"id_site","code_module","code_presentation","activity_type","week_from","week_to"',
        '"1001","CCC","2014B","resource","?","?"',
        '"1002","CCC","2014B","quiz","2.0","2.0"',
        '"9999","ZZZ","2014B","resource","?","?"',
    )
    return folder


def _enrollment_of(
    lp: learnprog.Learnprog, admin: OrgAdminActor, program_id: str, student: str
) -> Enrollment:
    (row,) = lp.learning.members_list(admin, program_id, search=f"student.{student}@").rows
    (enrollment,) = lp.learning.enrollments(admin, program_id, learner_id=row.learner.id)
    return enrollment


def test_the_published_format_imports_with_every_skip_counted(
    lp_any: learnprog.Learnprog, tmp_path: Path
) -> None:
    lp = lp_any
    admin, org_id, program_id, contract_id = _setup(lp, licenses=5)
    report = import_oulad(
        lp, admin, org_id, program_id, contract_id, source=published_oulad(tmp_path)
    )
    assert report.skipped == {
        SkipReason.NO_SCORE: 1,
        SkipReason.NO_SUBMISSION_DATE: 1,
        SkipReason.SCORE_WITHOUT_REGISTRATION: 1,
        SkipReason.SITE_OF_OTHER_PRESENTATION: 1,
    }
    assert (report.blank_scores, report.banked_attempts, report.items) == (1, 1, 2)
    assert (report.members.created, report.enrollments.created) == (3, 3)
    assert report.attempts.attempts_added == 5
    assert report.attempts.outside_enrollments == 1  # the banked attempt, before registering
    assert report.events is None
    assert any("1 registrations have no date_registration" in n for n in report.notes)
    (course,) = lp.programs.list_courses(admin, org_id)
    assert [(a.name, a.weight, a.required, a.due_at) for a in course.assessments] == [
        ("TMA 1", 50.0, True, CCC + timedelta(days=18)),
        ("CMA 1", 50.0, True, CCC + timedelta(days=32)),
        ("Exam 1", 100.0, True, None),  # no date: last
    ]
    assert [i.lesson for i in course.items] == ["Module resources", "Week 2"]
    passed = lp.learning.progress(admin, _enrollment_of(lp, admin, program_id, "10").id)
    assert passed.grade == pytest.approx((50 * 78 + 50 * 65 + 100 * 55) / 200)
    assert passed.completed_at == CCC + timedelta(days=230)
    undated = _enrollment_of(lp, admin, program_id, "20")
    assert (undated.enrolled_at, undated.unenrolled_at) == (CCC, None)
    withdrawn = _enrollment_of(lp, admin, program_id, "30")
    assert withdrawn.enrolled_at == CCC - timedelta(days=5)
    assert withdrawn.unenrolled_at == CCC + timedelta(days=12)
    rows = {r.learner.external_id: r for r in lp.learning.members_list(admin, program_id).rows}
    assert rows["20"].learner.profile.location_region is None  # "?" is no region
    again = import_oulad(lp, admin, org_id, program_id, contract_id, source=tmp_path)
    assert (again.courses_created, again.members.created, again.enrollments.created) == (0, 0, 0)
    assert (again.attempts.attempts_added, again.attempts.duplicates) == (0, 5)
    assert again.skipped == report.skipped


def test_optional_files_and_columns_may_be_absent(lp: learnprog.Learnprog, tmp_path: Path) -> None:
    admin, org_id, program_id, contract_id = _setup(lp, licenses=5)
    folder = published_oulad(tmp_path)
    (folder / "vle.csv").unlink()
    (folder / "studentInfo.csv").unlink()
    _write(folder, "studentRegistration.csv",
           "code_module,code_presentation,id_student,date_registration",
           "CCC,2014B,10,-20", "CCC,2014B,30,-5")  # fmt: skip
    report = import_oulad(lp, admin, org_id, program_id, contract_id, source=folder)
    assert (report.items, report.members.created, report.enrollments.created) == (0, 2, 2)
    assert report.skipped[SkipReason.SCORE_WITHOUT_REGISTRATION] == 1  # student 40
    assert _enrollment_of(lp, admin, program_id, "30").unenrolled_at is None


def test_student_vle_rows_become_one_noon_event_per_student_site_and_day(
    lp_any: learnprog.Learnprog, tmp_path: Path
) -> None:
    lp = lp_any
    admin, org_id, program_id, contract_id = _setup(lp, licenses=5)
    folder = published_oulad(tmp_path)
    _write(folder, "studentVle.csv", *PUBLISHED_VLE)
    steps: set[str] = set()
    report = import_oulad(lp, admin, org_id, program_id, contract_id, source=folder,
                          on_progress=lambda step, n: steps.add(step))  # fmt: skip
    assert "events" in steps
    assert report.events is not None
    assert (report.events.events_added, report.events.duplicates) == (3, 1)
    assert not report.events.rejected
    assert {r: n for r, n in report.skipped.items() if r.name.startswith("CLICKS")} == {
        SkipReason.CLICKS_WITHOUT_DATE: 1,
        SkipReason.CLICKS_ON_UNKNOWN_SITE: 1,
        SkipReason.CLICKS_OF_OTHER_PRESENTATION: 1,
        SkipReason.CLICKS_WITHOUT_REGISTRATION: 1,
    }
    ten = lp.learning.progress(admin, _enrollment_of(lp, admin, program_id, "10").id)
    assert (ten.items_completed, ten.progress, ten.lessons_taken) == (2, 100.0, 2)
    assert ten.learning_seconds == 0.0  # every event of a day falls at one instant
    thirty = lp.learning.progress(admin, _enrollment_of(lp, admin, program_id, "30").id)
    assert thirty.items_completed == 1
    assert thirty.last_activity_at == CCC + timedelta(days=11, hours=12)
    assert any("12:00 UTC" in n for n in report.notes)
    again = import_oulad(lp, admin, org_id, program_id, contract_id, source=folder)
    assert again.events is not None
    assert (again.events.events_added, again.events.duplicates) == (0, 4)


@pytest.mark.parametrize(
    ("name", "line", "cell", "field"),
    [
        ("courses.csv", 2, ("241", "-3"), "module_presentation_length"),
        ("courses.csv", 2, ('"2014B"', '"0000B"'), "code_presentation"),
        ("courses.csv", 2, ('"CCC"', '"C C!"'), "code_module"),
        ("assessments.csv", 3, ("32", "tomorrow"), "date"),
        ("studentRegistration.csv", 4, ("-5", "-1.5"), "date_registration"),
        ("studentAssessment.csv", 9, ('"1.0","70"', '"1.0","nan"'), "score"),
        ("studentAssessment.csv", 9, ('"1.0","70"', '"1.0","150"'), "score"),
        ("studentAssessment.csv", 9, ('"1.0"', '"2"'), "is_banked"),
        ("studentAssessment.csv", 9, ('"-40"', '"1e400"'), "date_submitted"),
        ("studentAssessment.csv", 9, ('"2","30"', '"99","30"'), "id_assessment"),
        ("vle.csv", 3, ('"2.0","2.0"', '"two","2.0"'), "week_from"),
        ("studentVle.csv", 9, ('"1","1"\n', '"1e9","1"\n'), "date"),
    ],
)  # fmt: skip
def test_a_bad_cell_anywhere_refuses_the_import_naming_file_line_and_column_and_stores_nothing(
    lp_any: learnprog.Learnprog,
    tmp_path: Path,
    name: str,
    line: int,
    cell: tuple[str, str],
    field: str,
) -> None:
    lp = lp_any
    admin, org_id, program_id, contract_id = _setup(lp, licenses=5)
    folder = published_oulad(tmp_path)
    _write(folder, "studentVle.csv", *PUBLISHED_VLE)
    path = folder / name
    lines = path.read_text(encoding="utf-8").split("\n")
    old, new = cell
    head, _, tail = lines[line - 1].rpartition(old.rstrip("\n"))
    assert head or tail, f"{old!r} is not on line {line} of {name}"
    lines[line - 1] = head + new.rstrip("\n") + tail
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        import_oulad(lp, admin, org_id, program_id, contract_id, source=folder)
    assert str(caught.value).startswith(f"line {line}, field {field!r}: {name}: ")
    assert (caught.value.line, caught.value.field) == (line, field)
    assert lp.programs.list_courses(admin, org_id) == []
    assert lp.programs.list_skills(admin, org_id) == []
    assert lp.learning.members_list(admin, program_id).rows == ()


def test_imports_running_at_once_store_each_record_once_and_all_succeed(
    sql_engine: Engine, clock: FixedClock, tmp_path: Path
) -> None:
    from tests.cli.test_activity import tiny_oulad

    folder = tiny_oulad(tmp_path / "oulad", students=30)

    def connect() -> learnprog.Learnprog:
        return learnprog.connect(
            uow_factory=lambda: SqlUnitOfWork(sql_engine),
            settings=learnprog.Settings(secret_key="test-secret-test-secret"),
            clock=clock,
            mailer=InMemoryMailer(),
        )

    admin, org_id, program_id, contract_id = _setup(connect(), licenses=100)
    workers = 3
    start = threading.Barrier(workers)
    reports: list[OuladReport] = []
    failures: list[BaseException] = []

    def work() -> None:
        lp = connect()
        start.wait()
        try:
            reports.append(import_oulad(lp, admin, org_id, program_id, contract_id, source=folder))
        except BaseException as exc:  # noqa: BLE001 - reported below, with the others
            failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sum(r.courses_created for r in reports) == 12
    assert sum(r.skills_created for r in reports) == 6
    assert sum(r.members.created for r in reports) == 30
    registrations = sum(1 for line in (folder / "studentRegistration.csv").open()) - 1
    assert sum(r.enrollments.created for r in reports) == registrations
    assert all(not r.members.rejected and not r.enrollments.rejected for r in reports)
    assert all(not r.attempts.rejected for r in reports)
    added = sum(r.attempts.attempts_added for r in reports)
    assert all(r.attempts.attempts_added + r.attempts.duplicates == added for r in reports)
    lp = connect()
    assert len(lp.programs.list_courses(admin, org_id)) == 12
    assert lp.learning.members_list(admin, program_id, limit=100).total == 30
    assert len(lp.learning.enrollments(admin, program_id)) == registrations
