"""`learnprog` commands that set an organization up: admins, the catalog, the curriculum."""

from __future__ import annotations

import json
from pathlib import Path

import learnprog
from learnprog.model.access import ProgramAdminActor
from tests.cli.conftest import AS, as_ana, ok, run


def test_admin_add_registers_and_grants_and_admin_list_shows_them(acme: str) -> None:
    out = ok(
        acme, "admin", "add", "bo@acme.example", *AS, "--name", "Bo Park", "--program", "academy"
    )
    assert "admin of programs academy" in out
    ok(acme, "admin", "add", "cy@acme.example", *AS, "--name", "Cy")
    rows = json.loads(ok(acme, "admin", "list", *AS, "--json"))
    assert [(r["email"], r["role"], r["program"]) for r in rows] == [
        ("ana@acme.example", "organization", None),
        ("bo@acme.example", "program", "academy"),
        ("cy@acme.example", "organization", None),
    ]
    with learnprog.connect(acme) as lp:
        org, _ = as_ana(lp)
        bo = lp.organizations.resolve_actor(learnprog.SystemActor(), org.id, "bo@acme.example")
    assert isinstance(bo, ProgramAdminActor)


def test_admin_add_without_an_account_names_the_address(acme: str) -> None:
    code, _, err = run(acme, "admin", "add", "nobody@acme.example", *AS)
    assert code == 1
    assert err == "error: learner account 'nobody@acme.example' not found\n"


def test_admin_add_of_an_admin_says_so_plainly(acme: str) -> None:
    code, _, err = run(acme, "admin", "add", "ana@acme.example", *AS)
    assert (code, err) == (
        1,
        "error: ana@acme.example is already an organization admin of 'Acme'\n",
    )


def test_init_errors_name_its_options(db: str) -> None:
    init = ("init", "Foo", "--domain", "foo.example")
    code, _, err = run(db, *init, "--admin-name", " ", "--admin-email", "a@foo.example")
    assert (code, err) == (1, "error: --admin-name: a value is required\n")
    code, _, err = run(db, *init, "--admin-name", "A", "--admin-email", "bad")
    assert code == 1
    assert err.startswith("error: --admin-email: 'bad' is not a valid email address")
    code, _, err = run(db, "init", "Foo", "--domain", "bad domain", "--admin-name", "A",
                       "--admin-email", "a@foo.example")  # fmt: skip
    assert code == 1
    assert err.startswith("error: --domain: 'bad domain' is not a domain name")


def test_contract_create_takes_starts_at_and_names_options_in_errors(db: str) -> None:
    from tests.cli.conftest import INIT

    ok(db, *INIT)
    base = ("contract", "create", "Y1", *AS, "--kind", "licenses")
    code, _, err = run(db, *base, "--quantity", "5", "--starts-at", "2027-01-01",
                       "--ends-at", "2026-01-01")  # fmt: skip
    assert (code, err) == (1, "error: --ends-at: the end must come after the start\n")
    code, _, err = run(db, *base, "--quantity", "-1", "--starts", "2026-01-01",
                       "--ends", "2027-01-01")  # fmt: skip
    assert code == 1
    assert err.startswith("error: --quantity: ")
    code, _, err = run(db, *base, "--quantity", "5", "--starts-at", "soon", "--ends-at", "x")
    assert code == 2
    assert "'--starts-at'" in err
    ok(db, *base, "--quantity", "5", "--starts-at", "2026-01-01", "--ends-at", "2027-01-01")
    rows = json.loads(ok(db, "contract", "list", *AS, "--json"))
    assert [(r["name"], r["starts_at"]) for r in rows] == [("Y1", "2026-01-01T00:00:00+00:00")]


def test_course_add_import_and_list(acme: str, tmp_path: Path) -> None:
    ok(acme, "course", "add", "SQL1", *AS, "--slug", "sql-1", "--name", "SQL",
       "--partner", "Acme U", "--class-start", "2026-01-01")  # fmt: skip
    catalog = tmp_path / "courses.csv"
    catalog.write_text(
        "Course ID,Course Slug,Course,University\n"
        "ML1,ml-1,Machine Learning,Stanford\n"
        ",bad,No ID,X\n"
        "SQL1,sql-1,SQL,Acme U\n",
        encoding="utf-8",
    )
    out = ok(acme, "course", "import", str(catalog), *AS, "--dry-run")
    assert out.endswith("dry run: 3 lines: 1 created, 1 already in the catalog, 0 duplicate, "
                        "1 rejected\n")  # fmt: skip
    assert [r["course_id"] for r in json.loads(ok(acme, "course", "list", *AS, "--json"))] == [
        "SQL1"
    ]
    out = ok(acme, "course", "import", str(catalog), *AS)
    assert "line 3\trejected\tCourse ID: " in out
    courses = json.loads(ok(acme, "course", "list", *AS, "--json"))
    assert [(c["course_id"], c["partner"]) for c in courses] == [
        ("ML1", "Stanford"),
        ("SQL1", "Acme U"),
    ]


def test_a_missing_csv_file_is_a_user_error(acme: str) -> None:
    code, _, err = run(acme, "course", "import", "nope.csv", *AS)
    assert (code, err) == (1, "error: file 'nope.csv' does not exist\n")


def test_specializations_and_collections_make_a_curriculum(acme: str, tmp_path: Path) -> None:
    for course in ("ML1", "ML2"):
        ok(acme, "course", "add", course, *AS, "--slug", course.lower(), "--name", course,
           "--partner", "Stanford")  # fmt: skip
    specs = tmp_path / "specs.csv"
    specs.write_text(
        "Specialization Slug,Specialization,Course IDs\nml,ML,ML1;ML2\nbad,Bad,NOPE\n",
        encoding="utf-8",
    )
    out = ok(acme, "specialization", "import", str(specs), *AS)
    assert out.splitlines() == [
        "line 3\trejected\tCourse IDs: not in the catalog: ['NOPE']",
        "2 lines: 1 created, 0 already in the catalog, 1 rejected",
    ]
    assert json.loads(ok(acme, "specialization", "list", *AS, "--json")) == [
        {"slug": "ml", "name": "ML", "courses": "ML1;ML2"}
    ]
    ok(acme, "collection", "create", "Start here", *AS, "--program", "academy")
    ok(acme, "collection", "add", "Start here", *AS, "--program", "academy",
       "--course", "ML2", "--specialization", "ml")  # fmt: skip
    assert json.loads(ok(acme, "collection", "list", *AS, "--program", "academy", "--json")) == [
        {"name": "Start here", "description": None, "entries": "ML2;ml"}
    ]
    code, _, err = run(acme, "collection", "add", "Start here", *AS, "--program", "academy",
                       "--course", "ML2")  # fmt: skip
    assert code == 1
    assert err.count("\n") == 1
    assert run(acme, "collection", "add", "Start here", *AS, "--program", "academy")[0] == 2
    code, _, err = run(acme, "collection", "add", "Later", *AS, "--program", "academy",
                       "--course", "ML1")  # fmt: skip
    assert (code, err) == (1, "error: collection 'Later' not found\n")


def test_course_add_takes_items_and_assessments_measuring_glossary_skills(
    acme: str, tmp_path: Path
) -> None:
    (tmp_path / "skills.csv").write_text(
        "Domain,Skill,Definition\nData,SQL,Querying\nData,Python,\n,Bad,x\n", encoding="utf-8"
    )
    out = ok(acme, "skills", "glossary", "skills.csv", *AS)
    assert out.splitlines() == [
        "line 4\trejected\tfield 'domain': a value is required",
        "3 lines: 2 created, 0 updated, 0 unchanged, 0 differs, 1 rejected",
    ]
    assert json.loads(ok(acme, "skills", "list", *AS, "--json")) == [
        {"domain": "Data", "skill": "Python", "definition": None},
        {"domain": "Data", "skill": "SQL", "definition": "Querying"},
    ]
    out = ok(acme, "course", "add", "DB1", *AS, "--slug", "db-1", "--name", "Databases",
             "--item", 'v1,video,Week 1,"Joins, in depth"', "--item", "r1,reading,Week 2",
             "--assessment", "q1,Quiz 1,Data/SQL;Data/Python,60")  # fmt: skip
    assert out == "course DB1 'Databases' added to the catalog (2 items, 1 assessment)\n"
    with learnprog.connect(acme) as lp:
        org, ana = as_ana(lp)
        (course,) = lp.programs.list_courses(ana, org.id)
        skills = {s.id: s.name for s in lp.programs.list_skills(ana, org.id)}
    assert [(i.id, i.name, i.kind.value, i.lesson, i.position) for i in course.items] == [
        ("v1", "Joins, in depth", "video", "Week 1", 0),
        ("r1", "r1", "reading", "Week 2", 1),
    ]
    (quiz,) = course.assessments
    assert (quiz.id, quiz.pass_mark, sorted(skills[s] for s in quiz.skill_ids)) == (
        "q1",
        60.0,
        ["Python", "SQL"],
    )


def test_course_add_refuses_bad_items_and_unknown_skills(acme: str) -> None:
    course = ("course", "add", "X1", *AS, "--slug", "x-1", "--name", "X")
    code, _, err = run(acme, *course, "--item", "v1,film,Week 1")
    assert code == 2
    assert "'film' is not one of video" in err
    assert run(acme, *course, "--assessment", "q1")[0] == 2
    code, _, err = run(acme, *course, "--assessment", "q1,Quiz,Data/Cooking")
    assert (code, err) == (
        1,
        "error: --assessment: 'q1,Quiz,Data/Cooking': not in the skill glossary: Data/Cooking\n",
    )
    code, _, err = run(acme, *course, "--assessment", "q1,Quiz,,120")
    assert code == 1
    assert err.startswith("error: --assessment: 'q1,Quiz,,120': ")
    assert json.loads(ok(acme, "course", "list", *AS, "--json")) == []
