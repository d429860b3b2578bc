"""A report's values read straight from the store write the same CSV bytes as its typed rows.

Writing a CSV reads ``usage_values`` (and the others): on SQL storage the driver's rows as
stored, with no record built. These tests hold them to the typed records' ``values()``, cell
for cell, on every backend, with awkward values: formula-like text, none, non-ASCII text,
midnight and sub-millisecond times, an enrollment with no figures stored yet.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from attrs import define

from learnprog.model import (
    Collection,
    Course,
    Enrollment,
    EntryKind,
    LearnerProfile,
    Membership,
    Specialization,
)
from learnprog.model.progress import EnrollmentProgress
from learnprog.model.reporting import ReportValues
from learnprog.reports.tables import (
    MEMBERSHIP,
    SPECIALIZATION,
    USAGE,
    Columns,
    Report,
    record_values,
)
from tests import factories as f
from tests.conftest import UowFactory

MIDNIGHT = datetime(2026, 3, 1, tzinfo=UTC)
MILLIS = datetime(2026, 3, 2, 10, 30, 0, 782_999, tzinfo=UTC)
LATE = datetime(2026, 3, 3, 23, 59, 59, 999_999, tzinfo=UTC)  # truncated, never rounded up


@define
class Awkward:
    program_id: str


def _awkward(uow_factory: UowFactory) -> Awkward:
    org = f.organization()
    prog = f.program(org, "=Académie", slug="academy")
    deal = f.contract(org)
    formula = Course.create(
        org.id, course_id="=C1", slug="c-1", name="-Minus course", partner="@Université",
        class_start=MIDNIGHT, now=f.NOW,
    )  # fmt: skip
    plain = Course.create(org.id, course_id="C2", slug="c-2", name="Cours d'été", now=f.NOW)
    spec = Specialization.create(org.id, slug="s", name="+Spé", courses=[formula], now=f.NOW)
    source = Collection.create(prog.id, "=Collection")
    zoe = f.learner(org, "zoe@acme.example", '=HYPERLINK("x")', external_id="-00123")
    zoe = zoe.with_profile(
        LearnerProfile(manager_name="@boss", job_type="+44 20", location_city="Île-de-France")
    )
    bo = f.learner(org, "bo@acme.example", "Bø Ñúñez")
    ivy = f.learner(org, "ivy@acme.example", "Ivy")
    members = [
        Membership.invite(org.id, prog.id, zoe.id, deal.id, now=MIDNIGHT).accept(MILLIS),
        Membership.invite(org.id, prog.id, bo.id, deal.id, now=MILLIS).accept(LATE).remove(LATE),
        Membership.invite(org.id, prog.id, ivy.id, deal.id, now=LATE),
    ]

    def enroll(who: str, target: str, kind: EntryKind = EntryKind.COURSE) -> Enrollment:
        return Enrollment.create(
            org.id, prog.id, who, kind=kind, target_id=target, contract_id=deal.id, now=MIDNIGHT,
            source_collection_id=source.id if who == zoe.id else None,
        )  # fmt: skip

    enrollments = [
        zoe1 := enroll(zoe.id, formula.id),
        enroll(zoe.id, plain.id),  # no figures stored yet
        bo1 := enroll(bo.id, formula.id),
        zoes := enroll(zoe.id, spec.id, EntryKind.SPECIALIZATION),
        enroll(bo.id, plain.id).unenroll(LATE),  # ended: in no row, but in the counts' scope
    ]
    figures = [
        EnrollmentProgress(zoe1.id, items_completed=1, items_total=3, progress=100 / 3,
                           learning_seconds=1234.5, last_activity_at=LATE, completed_at=MILLIS,
                           grade=88.255),
        EnrollmentProgress(bo1.id, progress=12.5, learning_seconds=0.1, last_activity_at=MILLIS),
        EnrollmentProgress(zoes.id, progress=50.0, completed_at=LATE, last_activity_at=LATE),
    ]  # fmt: skip
    with uow_factory() as uow:
        uow.organizations.add(org)
        uow.programs.add(prog)
        uow.contracts.add(deal)
        uow.courses.add(formula)
        uow.courses.add(plain)
        uow.specializations.add(spec)
        uow.collections.add(source)
        uow.learners.add_many([zoe, bo, ivy])
        uow.memberships.add_many(members)
        for enrollment in enrollments:
            uow.enrollments.add(enrollment)
        uow.progress.put_many(figures)
        uow.commit()
    return Awkward(prog.id)


def _same_bytes(uow_factory: UowFactory, fx: Awkward, columns: Columns, read: str) -> bytes:
    """Check that the store's values (``<read>_values``) write the typed rows' bytes.

    Returns:
        The CSV written from the store's values.
    """
    typed_read = {"usage": "usage", "membership": "memberships"}.get(read, "specializations")

    def typed() -> Iterator[Any]:
        with uow_factory() as uow:
            yield from getattr(uow.reports, typed_read)([fx.program_id])

    def stored() -> Iterator[ReportValues]:
        with uow_factory() as uow:
            yield from getattr(uow.reports, f"{read}_values")([fx.program_id])

    from_rows = Report("r.csv", columns, typed, record_values).csv_text().encode()
    from_values = Report("r.csv", columns, typed, record_values, stored).csv_text().encode()
    assert from_values == from_rows
    return from_values


def _cells(data: bytes, columns: Columns) -> list[dict[str, str]]:
    header, *rows = csv.reader(io.StringIO(data.decode()))
    assert tuple(header) == columns.headers
    return [dict(zip(header, row, strict=True)) for row in rows]


def test_usage_values_write_the_typed_rows_bytes(uow_factory: UowFactory) -> None:
    fx = _awkward(uow_factory)
    stored = _same_bytes(uow_factory, fx, USAGE, "usage")
    bo1, *zoes = _cells(stored, USAGE)  # by email, then course record ID (random here)
    assert [bo1["Name"]] + [z["Name"] for z in zoes] == ["Bø Ñúñez"] + ['\'=HYPERLINK("x")'] * 2
    assert (bo1["Removed From Program"], bo1["Enrollment Source"]) == ("Yes", "")
    assert (bo1["Estimated Learning Hours"], bo1["Overall Progress"]) == ("0.00", "12.50")
    assert (bo1["Completed"], bo1["Completion Time"], bo1["Course Grades"]) == ("No", "", "")
    assert bo1["Last Course Activity Time"] == "2026-03-02T10:30:00.782Z"
    formula, plain = sorted(zoes, key=lambda c: c["Course Slug"])
    assert formula["External Id"] == "'-00123"
    assert (formula["Course"], formula["Course ID"], formula["University"]) == (
        "'-Minus course",
        "'=C1",
        "'@Université",
    )
    assert formula["Enrollment Time"] == formula["Class Start Time"] == "2026-03-01T00:00:00.000Z"
    assert formula["Last Course Activity Time"] == "2026-03-03T23:59:59.999Z"
    assert (formula["Completion Time"], formula["Completed"]) == ("2026-03-02T10:30:00.782Z", "Yes")
    assert (formula["Overall Progress"], formula["Estimated Learning Hours"]) == ("33.33", "0.34")
    assert (formula["Course Grades"], formula["Program Name"]) == ("88.25", "'=Académie")
    assert formula["Enrollment Source"] == "'=Collection"
    assert (formula["Manager Name"], formula["Job Type"]) == ("'@boss", "'+44 20")
    assert (formula["Location City"], formula["Manager Email"]) == ("Île-de-France", "")
    assert (plain["Course"], plain["University"], plain["Class Start Time"]) == (
        "Cours d'été",
        "",
        "",
    )
    assert (plain["Overall Progress"], plain["Estimated Learning Hours"]) == ("0.00", "0.00")
    assert (plain["Last Course Activity Time"], plain["Completed"]) == ("", "No")


def test_membership_values_write_the_typed_rows_bytes(uow_factory: UowFactory) -> None:
    fx = _awkward(uow_factory)
    stored = _same_bytes(uow_factory, fx, MEMBERSHIP, "membership")
    bo, ivy, zoe = _cells(stored, MEMBERSHIP)
    assert (bo["Member State"], bo["# Enrolled Courses"], bo["# Completed Courses"]) == (
        "DELETED_MEMBER",
        "1",
        "0",
    )
    assert (bo["Join Date"], bo["Invitation Date"]) == (
        "2026-03-03T23:59:59.999Z",
        "2026-03-02T10:30:00.782Z",
    )
    assert (ivy["Member State"], ivy["Join Date"], ivy["Last Activity Time"]) == ("INVITED", "", "")
    assert (zoe["# Enrolled Courses"], zoe["# Completed Courses"]) == ("2", "1")
    assert (zoe["Invitation Date"], zoe["Last Activity Time"]) == (
        "2026-03-01T00:00:00.000Z",
        "2026-03-03T23:59:59.999Z",
    )
    assert (zoe["Program Name"], zoe["Contract(s)"]) == ("'=Académie", "Year 1 Contract 2026")


def test_specialization_values_write_the_typed_rows_bytes(uow_factory: UowFactory) -> None:
    fx = _awkward(uow_factory)
    stored = _same_bytes(uow_factory, fx, SPECIALIZATION, "specialization")
    (zoe,) = _cells(stored, SPECIALIZATION)
    assert (zoe["Specialization"], zoe["Completed"], zoe["Removed From Program"]) == (
        "'+Spé",
        "Yes",
        "No",
    )
    assert zoe["Specialization Completion Time"] == "2026-03-03T23:59:59.999Z"
    assert zoe["Enrollment Time"] == "2026-03-01T00:00:00.000Z"


@pytest.mark.parametrize("read", ["usage_values", "membership_values", "specialization_values"])
def test_no_programs_give_no_values(uow_factory: UowFactory, read: str) -> None:
    _awkward(uow_factory)
    with uow_factory() as uow:
        assert list(getattr(uow.reports, read)([])) == []
