"""Imports of admin exports: the membership, usage and specialization report CSVs.

The fixtures under ``tests/data/exports`` are small hand-made exports: a UTF-8 byte-order mark
(usage), semicolons and a header written " external  id " (membership), the header variants
``Course Grade`` and ``Latest Program Activity Date``, the extra columns exports carry, a
protected ``'-00123`` external ID, Cyrillic and Japanese names, an unknown column (``Cost
Center``), missing profile columns, and a file of bad lines.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from attrs import define

import learnprog
from learnprog.errors import PermissionDeniedError, ValidationError
from learnprog.mail.memory import InMemoryMailer
from learnprog.model import EventKind, LearnerActor, LearningEvent, MemberState, OrgAdminActor
from learnprog.model.catalog import CourseItem, ItemKind
from learnprog.model.organization import Contract, Program
from learnprog.services.history import ImportOutcome
from tests.services.world import SYSTEM

DATA = Path(__file__).parent.parent / "data" / "exports"
USAGE = DATA / "usage-report.csv"
MEMBERS = DATA / "member-report.csv"

# The header variants of the fixtures, read as the guide's columns they stand for.
VARIANTS = {"Course Grade": "Course Grades", "Latest Program Activity Date": "Last Activity Time"}


@define
class Org:
    lp: learnprog.Learnprog
    org_id: str
    admin: OrgAdminActor
    program: Program
    contract: Contract


def _org(lp: learnprog.Learnprog) -> Org:
    """An empty program named as the fixtures' rows name theirs, with their contract."""
    org = lp.organizations.create_organization(
        SYSTEM,
        "Acme",
        email_domains=["example.com"],
        admin_name="Ana Admin",
        admin_email="ana@example.com",
    )
    admin = lp.organizations.resolve_actor(SYSTEM, org.id, "ana@example.com")
    assert isinstance(admin, OrgAdminActor)
    program = lp.programs.create_program(admin, org.id, "Learning Program", slug="program-1j8c4r")
    now = lp.context.clock.now()
    contract = lp.programs.create_contract(
        admin,
        org.id,
        "Year 1 Contract 2020",
        kind="licenses",
        quantity=10,
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=365),
    )
    return Org(lp, org.id, admin, program, contract)


def _table(text: str) -> list[dict[str, str]]:
    """Rows of a CSV text by the guide's column names, with the cells as a reader sees them.

    Normalized only as the guide allows: the header variants name the guide's columns, and a
    cell's leading ``'`` (spreadsheet protection, written by learnprog's reports and by
    exports alike) is not part of the value.
    """
    text = text.lstrip("\ufeff")
    dialect = csv.Sniffer().sniff(text.splitlines()[0], delimiters=",;")
    rows = list(csv.DictReader(io.StringIO(text), dialect=dialect))
    out = []
    for row in rows:
        clean = {}
        for header, cell in row.items():
            name = " ".join(header.split())
            name = next((g for g in VARIANTS if g.casefold() == name.casefold()), name)
            name = VARIANTS.get(name, name)
            clean[name.casefold()] = cell[1:] if cell.startswith("'-") else cell
        out.append(clean)
    return out


def _import_both(o: Org) -> None:
    members = o.lp.history.import_membership_export(o.admin, o.program.id, MEMBERS)
    assert [r.outcome for r in members.lines] == [ImportOutcome.CREATED] * 5, members.rejected
    usage = o.lp.history.import_usage_export(o.admin, o.program.id, USAGE)
    assert [r.outcome for r in usage.lines] == [ImportOutcome.CREATED] * 4, usage.rejected


def _compare(exported: Path, written: str, key: tuple[str, ...]) -> int:
    """Compare every column the export and learnprog's report share, cell by cell."""
    theirs = _table(exported.read_text(encoding="utf-8-sig"))
    ours = _table(written)
    shared = sorted(set(theirs[0]) & set(ours[0]))
    assert len(theirs) == len(ours)
    by_key = {tuple(r[k] for k in key): r for r in ours}
    cells = 0
    for row in theirs:
        mine = by_key[tuple(row[k] for k in key)]
        for column in shared:
            assert mine[column] == row[column], (column, row)
            cells += 1
    return cells


def test_round_trip_gives_the_exports_values_in_every_shared_column(
    lp: learnprog.Learnprog,
) -> None:
    o = _org(lp)
    _import_both(o)
    usage = lp.reports.usage_report(o.admin, o.org_id).csv_text()
    members = lp.reports.membership_report(o.admin, o.org_id).csv_text()
    # 20 guide columns and 4 profile columns on 4 lines; 12 guide columns and 4 profile
    # columns on 5 lines: the comparison covered every shared cell, not an empty set
    assert _compare(USAGE, usage, ("email", "course slug")) == 24 * 4
    assert _compare(MEMBERS, members, ("email",)) == 16 * 5


def test_membership_export_makes_learners_states_profiles_and_attributes(
    lp: learnprog.Learnprog, mailer: InMemoryMailer
) -> None:
    o = _org(lp)
    result = lp.history.import_membership_export(o.admin, o.program.id, MEMBERS)
    assert result.attribute_columns == ("Cost Center",)
    assert set(result.ignored_columns) == set(VARIANTS.values()) - {"Course Grades"} | {
        "Program Name",
        "Program Slug",
        "# Enrolled Courses",
        "# Completed Courses",
    }
    states = {
        learner.full_name: (learner, m)
        for learner, m in lp.invitations.members(o.admin, o.program.id)
    }
    jo, jo_member = states["Jo Doe"]
    assert (jo.external_id, jo.attributes["Cost Center"]) == ("-00123", "CC-42")
    assert jo.profile.manager_name == "Bobby McManager"
    assert jo.profile.business_unit_2 is None  # a profile column the file lacks
    assert jo_member.joined_at == datetime(2019, 9, 4, 19, 50, 10, 161000, tzinfo=UTC)
    _taro, taro_member = states["山田太郎"]
    assert taro_member.state is MemberState.DELETED_MEMBER
    # the export does not say when: the latest time of the line
    assert taro_member.removed_at == datetime(2019, 11, 5, 12, 0, 0, 500000, tzinfo=UTC)
    assert states["Ivo Invited"][1].state is MemberState.INVITED
    assert states["Мария Иванова"][0].profile.location_city == "Москва"
    assert "Cost Center" not in states["Ben Idle"][0].attributes  # empty cell: no attribute
    lp.mail.dispatch(SYSTEM)
    assert mailer.sent == []  # history sends no email
    (option,) = lp.invitations.contract_options(o.admin, o.program.id)
    assert option.contract.used == 3  # Jo, Maria and Ben are MEMBERs


def test_importing_the_same_exports_twice_changes_nothing(lp: learnprog.Learnprog) -> None:
    o = _org(lp)
    _import_both(o)
    usage_before = lp.reports.usage_report(o.admin, o.org_id).csv_text()
    audit_before = len(lp.audit.entries(o.admin, o.org_id))
    members = lp.history.import_membership_export(o.admin, o.program.id, MEMBERS)
    usage = lp.history.import_usage_export(o.admin, o.program.id, USAGE)
    assert [r.outcome for r in members.lines] == [ImportOutcome.EXISTING] * 5
    assert [r.outcome for r in usage.lines] == [ImportOutcome.EXISTING] * 4
    assert (usage.courses_created, usage.collections_created) == (0, 0)
    assert lp.reports.usage_report(o.admin, o.org_id).csv_text() == usage_before
    assert len(lp.audit.entries(o.admin, o.org_id)) == audit_before
    assert len(lp.programs.list_courses(o.admin, o.org_id)) == 3


def test_usage_export_adds_missing_courses_and_the_enrollment_source(
    lp: learnprog.Learnprog,
) -> None:
    o = _org(lp)
    _import_both(o)
    courses = {c.slug: c for c in lp.programs.list_courses(o.admin, o.org_id)}
    ai = courses["ai-for-everyone"]
    assert (ai.course_id, ai.partner) == ("daG-a-01EeijKBISCWxf6g", "deeplearning.ai")
    assert ai.class_end == datetime(2020, 2, 10, 8, tzinfo=UTC)  # the extra Class End Time
    assert courses["machine-learning"].name == "Machine Learning, Part 1"
    (collection,) = lp.curriculum.list_collections(o.admin, o.program.id)
    assert collection.name == "Data Literacy"
    assert [e.target_id for e in collection.entries] == [ai.id]


def test_later_activity_adds_to_the_imported_figures(lp: learnprog.Learnprog) -> None:
    o = _org(lp)
    course = lp.programs.add_course(  # in the catalog before the import, with an item
        o.admin,
        o.org_id,
        course_id="Gtv4Xb1-EeS-ViIACwYKVQ",
        slug="machine-learning",
        name="Machine Learning, Part 1",
        partner="Stanford University",
        items=[CourseItem.create("Intro", kind=ItemKind.READING, lesson="Week 1", id="i1")],
    )
    _import_both(o)
    jo = lp.organizations.resolve_actor(SYSTEM, o.org_id, "jo.doe@example.com")
    assert isinstance(jo, LearnerActor)
    start = datetime(2020, 3, 1, 10, tzinfo=UTC)
    done = start + timedelta(minutes=30)
    lp.learning.ingest(
        o.admin,
        o.org_id,
        events=[
            LearningEvent("ev1", jo.learner_id, course.id, "i1", EventKind.STARTED, start),
            LearningEvent("ev2", jo.learner_id, course.id, "i1", EventKind.COMPLETED, done),
        ],
    )
    (row,) = [
        r for r in lp.reports.usage_report(o.admin, o.org_id) if r.course_slug == "machine-learning"
    ]
    assert row.figures.progress == 100.0  # the one item completed: the larger progress
    assert f"{row.figures.learning_hours:.2f}" == "0.79"  # 0.29 imported + 0.5 recorded
    assert row.figures.last_activity_at == done  # the later
    # the export had no completion; every item done completes a course without assessments
    assert row.figures.completed_at == done
    members = {r.learner.email.address: r for r in lp.reports.membership_report(o.admin, o.org_id)}
    assert members["jo.doe@example.com"].last_activity_at == done


def test_bad_lines_are_rejected_by_line_and_column_and_the_others_stored(
    lp: learnprog.Learnprog,
) -> None:
    o = _org(lp)
    lp.history.import_membership_export(o.admin, o.program.id, MEMBERS)
    result = lp.history.import_usage_export(o.admin, o.program.id, DATA / "usage-bad-rows.csv")
    outcomes = {r.line: (r.outcome, r.reason) for r in result.lines}
    assert outcomes[2][0] is ImportOutcome.CREATED
    reasons = {line: str(reason) for line, (outcome, reason) in outcomes.items() if reason}
    assert set(reasons) == {3, 4, 5, 6, 7}
    assert reasons[3].startswith("line 3, field 'Enrollment Time'")
    assert "line 4, field 'Email'" in reasons[4]
    assert "membership export first" in reasons[4]
    assert reasons[5].startswith("line 5, field 'Overall Progress'")
    assert "line 6" in reasons[6]
    assert "never joined" in reasons[6]
    assert reasons[7].startswith("line 7, field 'Completion Time'")
    # nothing half-written: one enrollment, for the good line only
    enrollments = lp.learning.enrollments(o.admin, o.program.id)
    assert [e.id for e in enrollments] == [result.lines[0].record_id]


def test_a_file_without_a_required_column_is_refused_naming_it(
    lp: learnprog.Learnprog,
) -> None:
    o = _org(lp)
    with pytest.raises(ValidationError) as caught:
        lp.history.import_usage_export(o.admin, o.program.id, b"Email,Course\nx@example.com,AI\n")
    assert caught.value.line == 1
    assert "Enrollment Time" in str(caught.value)
    assert "Course Slug or Course ID" in str(caught.value)


def test_a_field_past_the_csv_readers_limit_refuses_the_file_naming_its_line(
    lp: learnprog.Learnprog,
) -> None:
    o = _org(lp)
    text = MEMBERS.read_text(encoding="utf-8")
    header, first, *rest = text.splitlines(keepends=True)
    huge = first.replace("CC-42", "C" * 200_000)
    with pytest.raises(ValidationError) as caught:
        lp.history.import_membership_export(
            o.admin, o.program.id, (header + huge + "".join(rest)).encode()
        )
    assert caught.value.line == 2
    assert "field larger than field limit" in str(caught.value)
    assert lp.invitations.members(o.admin, o.program.id) == []


@pytest.mark.parametrize(
    ("column", "cell"),
    [("Invitation Date", "0001-01-01T00:00:00+05:00"), ("Join Date", "9999-12-31T23:00:00-05:00")],
)
def test_a_time_past_the_last_utc_time_rejects_its_line(
    lp: learnprog.Learnprog, column: str, cell: str
) -> None:
    o = _org(lp)
    invited, joined = "2020-01-01T00:00:00Z", "2020-01-02T00:00:00Z"
    cells = {"Invitation Date": invited, "Join Date": joined, column: cell}
    text = (
        "Name,Email,Member State,Invitation Date,Join Date,Contract(s)\n"
        f"Al,al@example.com,MEMBER,{cells['Invitation Date']},{cells['Join Date']},"
        "Year 1 Contract 2020\n"
        f"Bo,bo@example.com,MEMBER,{invited},{joined},Year 1 Contract 2020\n"
    )
    result = lp.history.import_membership_export(o.admin, o.program.id, text.encode())
    assert [r.outcome for r in result.lines] == [ImportOutcome.REJECTED, ImportOutcome.CREATED]
    assert f"line 2, field '{column}'" in str(result.lines[0].reason)
    assert "outside the times" in str(result.lines[0].reason)


def test_history_in_the_future_is_rejected_and_blocks_nothing(lp: learnprog.Learnprog) -> None:
    o = _org(lp)
    members = (
        "Name,Email,Member State,Invitation Date,Join Date,Contract(s)\n"
        "Al,al@example.com,MEMBER,2020-01-01T00:00:00Z,2020-01-02T00:00:00Z,Year 1 Contract 2020\n"
        "Bo,bo@example.com,MEMBER,2020-01-01T00:00:00Z,2999-01-02T00:00:00Z,Year 1 Contract 2020\n"
    )
    result = lp.history.import_membership_export(o.admin, o.program.id, members.encode())
    assert [r.outcome for r in result.lines] == [ImportOutcome.CREATED, ImportOutcome.REJECTED]
    assert "line 3" in str(result.lines[1].reason)
    assert "line 3, field 'Join Date'" in str(result.lines[1].reason)  # the column, not joined_at
    assert "in the future" in str(result.lines[1].reason)
    usage = (
        "Email,Course Slug,Enrollment Time\n"
        "al@example.com,ai-for-everyone,9999-12-31T23:59:59Z\n"
        "al@example.com,ai-for-everyone,2020-02-01T00:00:00Z\n"
    )
    result = lp.history.import_usage_export(o.admin, o.program.id, usage.encode())
    assert [r.outcome for r in result.lines] == [ImportOutcome.REJECTED, ImportOutcome.CREATED]
    assert "line 2" in str(result.lines[0].reason)
    assert "cannot start in the future" in str(result.lines[0].reason)
    assert "field 'Enrollment Time'" in str(result.lines[0].reason)
    (enrollment,) = lp.learning.enrollments(o.admin, o.program.id)
    assert enrollment.enrolled_at == datetime(2020, 2, 1, tzinfo=UTC)


def test_a_figure_out_of_range_names_its_column_not_the_records_field(
    lp: learnprog.Learnprog,
) -> None:
    o = _org(lp)
    lp.history.import_membership_export(o.admin, o.program.id, MEMBERS)
    usage = (
        "Email,Course Slug,Enrollment Time,Estimated Learning Hours\n"
        "jo.doe@example.com,ai-for-everyone,2020-02-01T00:00:00Z,1e308\n"
    )
    result = lp.history.import_usage_export(o.admin, o.program.id, usage.encode())
    (line,) = result.lines
    assert line.outcome is ImportOutcome.REJECTED
    assert str(line.reason).startswith("line 2, field 'Estimated Learning Hours'")
    assert "learning_seconds" not in str(line.reason)


def test_a_quote_never_closed_refuses_the_file_naming_its_line(lp: learnprog.Learnprog) -> None:
    o = _org(lp)
    header, first, second, *rest = MEMBERS.read_text(encoding="utf-8").splitlines(keepends=True)
    cut = first + second.replace(";Москва;", ';"Москва;', 1) + "".join(rest)
    with pytest.raises(ValidationError, match="quoted field is not closed") as caught:
        lp.history.import_membership_export(o.admin, o.program.id, (header + cut).encode())
    assert caught.value.line == 3
    assert lp.invitations.members(o.admin, o.program.id) == []


def test_an_attribute_column_written_twice_refuses_the_file(lp: learnprog.Learnprog) -> None:
    o = _org(lp)
    text = MEMBERS.read_text(encoding="utf-8")
    header, *rows = text.splitlines(keepends=True)
    doubled = (
        header.rstrip("\n") + ";cost center\n" + "".join(r.rstrip("\n") + ";CC-9\n" for r in rows)
    )
    with pytest.raises(ValidationError, match="'Cost Center' \\(columns 17, 18\\)") as caught:
        lp.history.import_membership_export(o.admin, o.program.id, doubled.encode())
    assert caught.value.line == 1
    assert lp.invitations.members(o.admin, o.program.id) == []


def test_a_header_cell_holding_a_line_break_is_one_header(lp: learnprog.Learnprog) -> None:
    o = _org(lp)
    text = (
        'Name,Email,Member State,Invitation Date,Join Date,Contract(s),"Cost\nCenter"\n'
        "Al,al@example.com,MEMBER,2020-01-01T00:00:00Z,2020-01-02T00:00:00Z,"
        "Year 1 Contract 2020,CC-1\n"
        "Bo,,MEMBER,2020-01-01T00:00:00Z,2020-01-02T00:00:00Z,Year 1 Contract 2020,CC-2\n"
    )
    result = lp.history.import_membership_export(o.admin, o.program.id, text.encode())
    assert [r.outcome for r in result.lines] == [ImportOutcome.CREATED, ImportOutcome.REJECTED]
    assert [r.line for r in result.lines] == [3, 4]  # the header took the first two lines
    assert str(result.lines[1].reason).startswith("line 4, field 'Email'")
    ((learner, _membership),) = lp.invitations.members(o.admin, o.program.id)
    assert learner.attributes == {"Cost Center": "CC-1"}


def test_a_contract_name_the_organization_lacks_rejects_the_line(
    lp: learnprog.Learnprog,
) -> None:
    o = _org(lp)
    text = MEMBERS.read_text(encoding="utf-8").replace(
        "Ivo Invited;ivo@example.com;;Learning Program;program-1j8c4r;0;0;INVITED;;"
        "2020-02-01T12:00:00.000Z;;Year 1 Contract 2020",
        "Ivo Invited;ivo@example.com;;Learning Program;program-1j8c4r;0;0;INVITED;;"
        "2020-02-01T12:00:00.000Z;;Year 9",
    )
    text = text.replace(
        "2020-01-09T12:00:00.000Z;;Year 1 Contract 2020",
        "2020-01-09T12:00:00.000Z;;year 1  contract 2020",
    )
    result = lp.history.import_membership_export(o.admin, o.program.id, text.encode())
    (bad,) = result.rejected  # Ben's contract is found ignoring case and spaces
    assert bad.line == 5
    assert "field 'Contract(s)'" in str(bad.reason)
    assert result.created == 4
    # given a contract, every line draws on it whatever its cell says
    other = _org_contract(o, "Year 2")
    again = lp.history.import_membership_export(
        o.admin, o.program.id, text.encode(), contract_id=other.id
    )
    assert (again.created, again.existing) == (1, 4)


def _org_contract(o: Org, name: str) -> Contract:
    now = o.lp.context.clock.now()
    return o.lp.programs.create_contract(
        o.admin,
        o.org_id,
        name,
        kind="licenses",
        quantity=5,
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=365),
    )


def test_specialization_export_needs_the_specialization_in_the_catalog(
    lp: learnprog.Learnprog,
) -> None:
    o = _org(lp)
    _import_both(o)
    courses = {c.slug: c.id for c in lp.programs.list_courses(o.admin, o.org_id)}
    lp.programs.add_specialization(
        o.admin,
        o.org_id,
        slug="ai-foundations",
        name="AI Foundations",
        course_ids=[courses["ai-for-everyone"]],
    )
    result = lp.history.import_specialization_export(
        o.admin, o.program.id, DATA / "specialization-report.csv"
    )
    assert result.lines[0].outcome is ImportOutcome.CREATED
    assert result.lines[1].outcome is ImportOutcome.REJECTED
    assert "line 3, field 'Specialization Slug'" in str(result.lines[1].reason)
    assert set(result.ignored_columns) >= {
        "# Courses in Specialization",
        "Specialization Certificate URL",
    }
    (row,) = lp.reports.specialization_report(o.admin, o.org_id)
    # the export's completion (its course in the catalog was completed earlier) and last
    # activity come back
    assert row.figures.completed_at == datetime(2020, 2, 25, 6, 30, tzinfo=UTC)
    assert row.figures.last_activity_at == datetime(2020, 2, 25, 6, 33, 46, tzinfo=UTC)
    again = lp.history.import_specialization_export(
        o.admin, o.program.id, DATA / "specialization-report.csv"
    )
    assert again.lines[0].outcome is ImportOutcome.EXISTING


def test_only_an_organization_admin_imports_exports(lp: learnprog.Learnprog) -> None:
    o = _org(lp)
    lp.history.import_membership_export(o.admin, o.program.id, MEMBERS)
    jo = lp.organizations.resolve_actor(SYSTEM, o.org_id, "jo.doe@example.com")
    with pytest.raises(PermissionDeniedError):
        lp.history.import_usage_export(jo, o.program.id, USAGE)
    assert lp.learning.enrollments(o.admin, o.program.id) == []


def test_decimal_commas_bare_dates_and_any_case_flags_are_read(lp: learnprog.Learnprog) -> None:
    o = _org(lp)
    lp.history.import_membership_export(o.admin, o.program.id, MEMBERS)
    text = (
        "EMAIL;course slug;Enrollment Time;Overall Progress;completed;Completion Time\n"
        "jo.doe@example.com;ai-for-everyone;2019-12-23;12,5;YES;2020-01-01\n"
    )
    result = lp.history.import_usage_export(o.admin, o.program.id, text.encode("cp1252"))
    assert result.created == 1
    (row,) = lp.reports.usage_report(o.admin, o.org_id)
    assert row.enrolled_at == datetime(2019, 12, 23, tzinfo=UTC)
    assert (row.figures.progress, row.figures.completed_at) == (
        12.5,
        datetime(2020, 1, 1, tzinfo=UTC),
    )
    assert row.course_name == "ai-for-everyone"  # no Course column: the slug names it
