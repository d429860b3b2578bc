"""`learnprog import activity|oulad` and `learnprog skills score|leaderboard|benchmark`."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

from learnprog.datasets.oulad import shipped_data
from tests.cli.conftest import ACADEMY, ACTIVITY, AS, ok, run
from tests.datasets.test_oulad import PUBLISHED_VLE, published_oulad


def test_import_activity_stores_records_and_reports_each_rejected_line(
    enrolled: str, tmp_path: Path
) -> None:
    (tmp_path / "activity.csv").write_text(ACTIVITY, encoding="utf-8")
    out = ok(enrolled, "import", "activity", "activity.csv", *AS)
    assert out.splitlines() == [
        "line 7\trejected\tEmail: no learner 'ghost@acme.example' in the organization's programs",
        "line 8\trejected\tGrade: a grade is 0-100",
        "line 9\trejected\tCourse ID: 'DB9' is not in the catalog",
        "line 10\trejected\tActivity: one of started, completed, attempt is required",
        "line 11\trejected\tTime: 'yesterday' is not ISO 8601",
        "line 12\trejected\tassessment 'q9' is not in course 'db-1' (DB1)",
        "2 events and 3 attempts added, 0 duplicates, 6 rejected; 1 enrollment updated",
    ]
    again = ok(enrolled, "import", "activity", "activity.csv", *AS).splitlines()[-1]
    assert again.startswith("0 events and 0 attempts added, 5 duplicates, 6 rejected")
    rows = json.loads(ok(enrolled, "members", "list", *AS, "--program", "academy", "--json"))
    assert rows[0]["last_activity_at"] == "2026-02-03T11:20:00+00:00"


def test_import_activity_names_missing_columns(enrolled: str, tmp_path: Path) -> None:
    (tmp_path / "activity.csv").write_text("ID,Email\ne1,lia@acme.example\n", encoding="utf-8")
    code, _, err = run(enrolled, "import", "activity", "activity.csv", *AS)
    assert code == 1
    assert "Course ID" in err
    assert err.count("\n") == 1


def test_skills_score_leaderboard_and_benchmark(enrolled: str, tmp_path: Path) -> None:
    (tmp_path / "activity.csv").write_text(ACTIVITY, encoding="utf-8")
    ok(enrolled, "import", "activity", "activity.csv", *AS)
    assert json.loads(ok(enrolled, "skills", "leaderboard", *AS, "--json")) == []
    out = ok(enrolled, "skills", "score", *AS)
    assert out == "3 attempts scored, 0 skipped (no skill); 1 rating stored\n"
    (row,) = json.loads(ok(enrolled, "skills", "leaderboard", *AS, "--json", "--skill", "Data/SQL"))
    assert (row["skill"], row["email"]) == ("SQL", "lia@acme.example")
    assert 250 < row["score"] <= 500
    hidden = ok(enrolled, "skills", "leaderboard", *AS, "--hide-contact").splitlines()
    assert hidden[1].startswith("Data\tSQL\t\t\t")
    code, _, err = run(enrolled, "skills", "leaderboard", *AS, "--skill", "Cooking")
    assert (code, err) == (1, "error: skill 'Cooking' not found\n")
    reference = tmp_path / "reference.csv"
    reference.write_text(
        "Company,Geography,Size,Industry,Domain,Skill,Score\n"
        "A,EU,Large,Tech,Data,SQL,100\n"
        "B,EU,Large,Tech,Data,SQL,200\n"
        "C,US,Large,Tech,Data,SQL,499\n",
        encoding="utf-8",
    )
    (bench,) = json.loads(ok(enrolled, "skills", "benchmark", str(reference), *AS, "--json",
                             "--geography", "EU"))  # fmt: skip
    assert (bench["companies"], bench["industry_average"], bench["percentile"]) == (2, 150.0, 100.0)


def tiny_oulad(folder: Path, students: int = 5) -> Path:
    """Write the shipped OULAD subset cut to its first few students (the demo test loads it all)."""
    shipped = shipped_data()
    folder.mkdir()
    for name in ("courses.csv", "assessments.csv", "vle.csv"):
        shutil.copy(shipped / name, folder / name)
    with (shipped / "studentInfo.csv").open(encoding="utf-8", newline="") as handle:
        info = list(csv.reader(handle))
    kept = info[: students + 1]
    ids = {row[2] for row in kept[1:]}
    (folder / "studentInfo.csv").write_text(_csv(kept), encoding="utf-8")
    for name, column in (("studentRegistration.csv", 2), ("studentAssessment.csv", 1)):
        with (shipped / name).open(encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
        kept_rows = [rows[0], *(r for r in rows[1:] if r[column] in ids)]
        (folder / name).write_text(_csv(kept_rows), encoding="utf-8")
    return folder


def _csv(rows: list[list[str]]) -> str:
    return "".join(",".join(row) + "\n" for row in rows)


def test_import_oulad_loads_a_folder_and_again_changes_nothing(db: str, tmp_path: Path) -> None:
    from tests.cli.conftest import INIT

    folder = tiny_oulad(tmp_path / "oulad")
    ok(db, *INIT)
    ok(db, "program", "create", "OU", *AS, "--slug", "ou")
    ok(db, "contract", "create", "OU", *AS, "--kind", "licenses", "--quantity", "100",
       "--starts-at", "2013-01-01", "--ends-at", "2031-01-01")  # fmt: skip
    out = ok(db, "import", "oulad", str(folder), *AS, "--program", "ou", "--contract", "OU")
    assert "; 5 members, 5 enrollments, " in out
    assert "note: " in out
    assert len(json.loads(ok(db, "members", "list", *AS, "--program", "ou", "--json"))) == 5
    again = ok(db, "import", "oulad", str(folder), *AS, "--program", "ou", "--contract", "OU")
    assert "0 courses and 0 skills added; 0 members, 0 enrollments, 0 attempts added" in again


def test_import_oulad_prints_each_skip_reason_with_its_count(db: str, tmp_path: Path) -> None:
    from tests.cli.conftest import INIT

    (tmp_path / "published").mkdir()
    folder = published_oulad(tmp_path / "published")
    (folder / "studentVle.csv").write_text("\n".join(PUBLISHED_VLE) + "\n", encoding="utf-8")
    ok(db, *INIT)
    ok(db, "program", "create", "OU", *AS, "--slug", "ou")
    ok(db, "contract", "create", "OU", *AS, "--kind", "licenses", "--quantity", "2",
       "--starts-at", "2013-01-01", "--ends-at", "2031-01-01")  # fmt: skip
    out = ok(db, "import", "oulad", str(folder), *AS, "--program", "ou", "--contract", "OU")
    lines = out.splitlines()
    assert lines[0] == (
        "1 course and 1 skill added; 2 members, 2 enrollments, 3 attempts, 2 item events added"
    )  # student 30 found no license: their registration, scores and clicks are skipped
    assert "skipped\t1\tstudentAssessment.csv: no score (? or empty)" in lines
    assert "skipped\t1\tstudentVle.csv: no date (? or empty)" in lines
    assert "skipped\t1\tstudentRegistration.csv: the student's membership was rejected" in lines
    assert "skipped\t2\tstudentAssessment.csv: the student's membership was rejected" in lines
    assert "skipped\t1\tstudentVle.csv: the student's membership was rejected" in lines
    (rejected,) = [line for line in lines if line.startswith("rejected\t")]
    assert rejected.startswith("rejected\t1\tstudents: ")
    assert "license" in rejected


def test_import_oulad_from_a_folder_without_the_files_exits_1(acme: str, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    code, _, err = run(acme, "import", "oulad", "empty", *AS, *ACADEMY)
    assert code == 1
    assert "courses.csv" in err
    assert err.count("\n") == 1


def test_activity_before_the_enrollment_is_stored_and_flagged(
    enrolled: str, tmp_path: Path
) -> None:
    early = "ID,Email,Course ID,Activity,Item ID,Time,Grade\n" + (
        "old1,lia@acme.example,DB1,started,v1,2000-01-01T10:00:00Z,\n"
    )
    (tmp_path / "early.csv").write_text(early, encoding="utf-8")
    code, out, err = run(enrolled, "import", "activity", "early.csv", *AS)
    assert code == 0
    assert out.splitlines()[-1].startswith("1 event and 0 attempts added")
    assert "note: stored 1 record outside every enrollment" in err
