"""Report records and the email report's figures, worked out by hand, on every backend.

The fixture: Ana (verified) completed C1, is 60% through C2 and left C3; Bo completed C1 and is
enrolled in the specialization S; Cy joined and enrolled in nothing; Di joined, enrolled in C2
and was removed; Ivy is only invited; Rev's invitation was revoked.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from attrs import define, evolve

from learnprog.errors import StorageError
from learnprog.model import (
    Course,
    Enrollment,
    EntryKind,
    Learner,
    Membership,
    MemberState,
    Program,
    Specialization,
)
from learnprog.model.progress import DailyActivity, EnrollmentProgress
from learnprog.model.reporting import ActivityTotals, EmailReportFigures, UsageFunnel
from tests import factories as f
from tests.conftest import UowFactory

DAY = timedelta(days=1)
NOW = f.NOW + 30 * DAY


@define
class Fixture:
    program_id: str
    names: dict[str, str]  # learner ID -> name
    courses: dict[str, str]  # course record ID -> course code
    enrollments: dict[str, str]  # "ana1" -> enrollment ID


def _fixture(uow_factory: UowFactory) -> Fixture:
    org = f.organization()
    prog = f.program(org, "Academy", slug="academy")
    deal = f.contract(org)
    courses = [
        Course.create(org.id, course_id=f"C{i}", slug=f"c-{i}", name=f"Course {i}", now=f.NOW)
        for i in (1, 2, 3)
    ]
    spec = Specialization.create(org.id, slug="s", name="S", courses=courses[:2], now=f.NOW)
    people = {n: f.learner(org, f"{n}@acme.example", n.title()) for n in
              ("ana", "bo", "cy", "di", "ivy", "rev")}  # fmt: skip
    people["ana"] = evolve(people["ana"], identity_verified=True).with_attributes(
        {"Cost Center": "CC-42", "Région": "Île-de-France"}
    )
    members = []
    for n, person in people.items():
        m = Membership.invite(org.id, prog.id, person.id, deal.id, now=f.NOW)
        if n in ("ana", "bo", "cy", "di"):
            m = m.accept(f.NOW + DAY)
        if n in ("di", "rev"):
            m = m.remove(f.NOW + 5 * DAY)
        members.append(m)

    def enroll(n: str, target: str, kind: EntryKind = EntryKind.COURSE) -> Enrollment:
        return Enrollment.create(org.id, prog.id, people[n].id, kind=kind, target_id=target,
                                 contract_id=deal.id, now=f.NOW + 2 * DAY)  # fmt: skip

    c1, c2, c3 = (c.id for c in courses)
    e = {
        "ana1": enroll("ana", c1),
        "ana2": enroll("ana", c2),
        "ana3": enroll("ana", c3).unenroll(f.NOW + 3 * DAY),
        "bo1": enroll("bo", c1),
        "di2": enroll("di", c2),
        "bos": enroll("bo", spec.id, EntryKind.SPECIALIZATION),
    }
    done = f.NOW + 4 * DAY
    figures = [
        EnrollmentProgress(e["ana1"].id, progress=100.0, learning_seconds=3600.0,
                           completed_at=done, grade=90.0, last_activity_at=done),
        EnrollmentProgress(e["ana2"].id, progress=60.0, learning_seconds=1800.0),
        EnrollmentProgress(e["ana3"].id, progress=10.0),
        EnrollmentProgress(e["bo1"].id, progress=80.0, learning_seconds=7200.0,
                           completed_at=done),
        EnrollmentProgress(e["di2"].id, progress=20.0),
    ]  # fmt: skip
    with uow_factory() as uow:
        uow.organizations.add(org)
        uow.programs.add(prog)
        uow.contracts.add(deal)
        for c in courses:
            uow.courses.add(c)
        uow.specializations.add(spec)
        uow.learners.add_many(list(people.values()))
        uow.memberships.add_many(members)
        for enrollment in e.values():
            uow.enrollments.add(enrollment)
        uow.progress.put_many(figures)
        uow.commit()
    return Fixture(
        prog.id,
        {p.id: n for n, p in people.items()},
        {c.id: c.course_id for c in courses},
        {k: v.id for k, v in e.items()},
    )


def test_the_email_figures_worked_out_by_hand(uow_factory: UowFactory) -> None:
    fx = _fixture(uow_factory)
    with uow_factory() as uow:
        figures = uow.reports.email_figures([fx.program_id], NOW)
    assert figures == EmailReportFigures(
        total_enrollments=5,
        unique_learners=4,
        enrolled_learners=3,
        removed_learners=2,
        unique_courses=3,
        course_completions=2,
        verified_completions=1,
        unique_completers=2,
        estimated_hours=3.5,
        completed_half=2,
        joined_not_enrolled=1,
        enrolled_not_completed=1,
        enrolled_one=2,
        completed_one=2,
        enrolled_two=0,
        completed_two=0,
        enrolled_more=1,
        completed_more=0,
        computed_at=NOW,
    )


def test_no_programs_give_zero_figures(uow_factory: UowFactory) -> None:
    _fixture(uow_factory)
    with uow_factory() as uow:
        figures = uow.reports.email_figures([], NOW)
    assert (figures.total_enrollments, figures.unique_learners) == (0, 0)


def test_usage_records_are_the_current_course_enrollments(uow_factory: UowFactory) -> None:
    fx = _fixture(uow_factory)
    with uow_factory() as uow:
        rows = list(uow.reports.usage([fx.program_id]))
    seen = [(fx.names[r.learner.id], r.course_code, r.removed) for r in rows]
    assert sorted(seen) == [  # ordered by email, then course record ID (random here)
        ("ana", "C1", False),
        ("ana", "C2", False),
        ("bo", "C1", False),
        ("di", "C2", True),
    ]
    assert [fx.names[r.learner.id] for r in rows] == ["ana", "ana", "bo", "di"]
    ana1 = next(r for r in rows if fx.names[r.learner.id] == "ana" and r.course_code == "C1")
    assert (ana1.figures.progress, ana1.figures.grade, ana1.figures.completed) == (
        100.0,
        90.0,
        True,
    )
    assert (ana1.program_slug, ana1.program_name, ana1.contract) == (
        "academy",
        "Academy",
        "Year 1 Contract 2026",
    )
    assert ana1.course_slug == "c-1"
    assert ana1.learner.attributes == {"Cost Center": "CC-42", "Région": "Île-de-France"}
    assert rows[2].learner.attributes == {}  # bo, after ana's rows: nothing carried over


def test_removed_from_program_is_yes_for_anyone_not_an_active_member(
    uow_factory: UowFactory,
) -> None:
    # guide, "Usage Report" / "Specialization Report": Removed From Program "Indicates whether
    # the user is an active member of the learning program". Eve joined, enrolled in C1 and the
    # specialization, was removed and has been invited again without rejoining: INVITED, so not
    # an active member, and both her rows say Yes.
    fx = _fixture(uow_factory)
    with uow_factory() as uow:
        prog = uow.programs.get(fx.program_id)
        (spec,) = uow.specializations.list_for_organization(prog.organization_id)
        deal_id = uow.contracts.list_for_organization(prog.organization_id)[0].id
        eve = Learner.create(prog.organization_id, "Eve", "eve@acme.example", now=f.NOW)
        m = Membership.invite(prog.organization_id, prog.id, eve.id, deal_id, now=f.NOW)
        m = m.accept(f.NOW + DAY).remove(f.NOW + 3 * DAY).reinvite(f.NOW + 4 * DAY, deal_id)
        assert m.state is MemberState.INVITED
        c1 = next(i for i, code in fx.courses.items() if code == "C1")
        uow.learners.add_many([eve])
        uow.memberships.add_many([m])
        for kind, target in ((EntryKind.COURSE, c1), (EntryKind.SPECIALIZATION, spec.id)):
            uow.enrollments.add(
                Enrollment.create(prog.organization_id, prog.id, eve.id, kind=kind,
                                  target_id=target, contract_id=deal_id, now=f.NOW + 2 * DAY)
            )  # fmt: skip
        uow.commit()
    names = {**fx.names, eve.id: "eve"}
    with uow_factory() as uow:
        rows = list(uow.reports.usage([prog.id]))
        specs = {names[r.learner.id]: r.removed for r in uow.reports.specializations([prog.id])}
    usage = {(names[r.learner.id], r.course_code): r.removed for r in rows}
    assert usage == {
        ("ana", "C1"): False,
        ("ana", "C2"): False,
        ("bo", "C1"): False,
        ("di", "C2"): True,
        ("eve", "C1"): True,
    }
    assert specs == {"bo": False, "eve": True}


def test_membership_records_cover_every_state(uow_factory: UowFactory) -> None:
    fx = _fixture(uow_factory)
    with uow_factory() as uow:
        rows = list(uow.reports.memberships([fx.program_id]))
    seen = [(fx.names[r.learner.id], r.state, r.enrolled, r.completed) for r in rows]
    assert seen == [
        ("ana", MemberState.MEMBER, 2, 1),
        ("bo", MemberState.MEMBER, 1, 1),
        ("cy", MemberState.MEMBER, 0, 0),
        ("di", MemberState.DELETED_MEMBER, 1, 0),
        ("ivy", MemberState.INVITED, 0, 0),
        ("rev", MemberState.DELETED_MEMBER, 0, 0),
    ]
    ana = rows[0]
    assert ana.last_activity_at == f.NOW + 4 * DAY
    assert (ana.joined_at, ana.invited_at) == (f.NOW + DAY, f.NOW)


def test_specialization_records(uow_factory: UowFactory) -> None:
    fx = _fixture(uow_factory)
    with uow_factory() as uow:
        (row,) = list(uow.reports.specializations([fx.program_id]))
    assert (fx.names[row.learner.id], row.specialization_name, row.specialization_slug) == (
        "bo",
        "S",
        "s",
    )
    assert not row.figures.completed


def test_the_funnel_worked_out_by_hand(uow_factory: UowFactory) -> None:
    # invited: all six memberships (Rev's revoked invitation too); joined: Ana, Bo, Cy, Di
    # (removed after joining); enrolled: Ana, Bo, Di (Bo's specialization does not count, his
    # C1 does; Ana's ended C3 would count alone). Cy enrolled in nothing.
    fx = _fixture(uow_factory)
    with uow_factory() as uow:
        funnel = uow.reports.funnel([fx.program_id], NOW)
    assert (funnel.invitations_sent, funnel.joined, funnel.enrolled) == (6, 4, 3)
    assert funnel.join_rate == pytest.approx(400 / 6)
    assert (funnel.enroll_rate, funnel.computed_at) == (75.0, NOW)


def test_the_funnel_counts_memberships_per_program(uow_factory: UowFactory) -> None:
    fx = _fixture(uow_factory)
    with uow_factory() as uow:
        first = uow.programs.get(fx.program_id)
        org_id, ana = first.organization_id, next(i for i, n in fx.names.items() if n == "ana")
        deal = uow.contracts.list_for_organization(org_id)[0]
        second = Program.create(org_id, "Second", now=f.NOW, slug="second")
        uow.programs.add(second)
        uow.memberships.add(
            Membership.invite(org_id, second.id, ana, deal.id, now=f.NOW).accept(f.NOW + DAY)
        )
        uow.commit()
    with uow_factory() as uow:
        both = uow.reports.funnel([fx.program_id, second.id], NOW)
        alone = uow.reports.funnel([second.id], NOW)
        none = uow.reports.funnel([], NOW)
    assert (both.invitations_sent, both.joined, both.enrolled) == (7, 5, 3)
    assert (alone.invitations_sent, alone.joined, alone.enrolled) == (1, 1, 0)
    assert (alone.join_rate, alone.enroll_rate) == (100.0, 0.0)
    assert none == UsageFunnel(0, 0, 0, None, None, NOW)


def _days(fx: Fixture, uow_factory: UowFactory) -> None:
    """Ana's C1: two lessons, on 03-04 and 03-05; Bo's C1: hours on 03-31 and 04-02."""
    ana1, bo1 = fx.enrollments["ana1"], fx.enrollments["bo1"]
    with uow_factory() as uow:
        (figures,) = uow.progress.get_many([ana1]).values()
        uow.progress.put_many([evolve(figures, lessons_taken=2)])
        uow.progress.put_days(
            [ana1, bo1],
            [
                DailyActivity(ana1, date(2026, 3, 4), 1800.0, 1),
                DailyActivity(ana1, date(2026, 3, 5), 1800.0, 1),
                DailyActivity(bo1, date(2026, 3, 31), 7140.0, 0),
                DailyActivity(bo1, date(2026, 4, 2), 60.0, 0),
            ],
        )
        uow.commit()


def test_the_days_are_stored_and_replaced(uow_factory: UowFactory) -> None:
    fx = _fixture(uow_factory)
    _days(fx, uow_factory)
    ana1, bo1 = fx.enrollments["ana1"], fx.enrollments["bo1"]
    with uow_factory() as uow:
        assert [(d.day.day, d.learning_seconds) for d in uow.progress.get_days([ana1])] == [
            (4, 1800.0),
            (5, 1800.0),
        ]
        uow.progress.put_days([ana1], [DailyActivity(ana1, date(2026, 3, 6), 10.0, 0)])
        uow.progress.put_days([bo1], [])
        uow.commit()
    with uow_factory() as uow:
        assert uow.progress.get_days([ana1, bo1]) == [
            DailyActivity(ana1, date(2026, 3, 6), 10.0, 0)
        ]
        with pytest.raises(StorageError):
            uow.progress.put_days([bo1], [DailyActivity(ana1, date(2026, 3, 7), 1.0, 0)])


def test_the_summary_totals_and_the_28_day_boundary(uow_factory: UowFactory) -> None:
    # Totals: five course enrollments (Bo's specialization is not one), 3600 + 1800 + 7200
    # seconds, Ana's two lessons. The five were made on 03-04 at 09:00.
    fx = _fixture(uow_factory)
    _days(fx, uow_factory)
    last_moment = datetime(2026, 3, 31, 23, 59, 59, 999999, tzinfo=UTC)  # 03-04 .. 03-31
    next_day = datetime(2026, 4, 1, tzinfo=UTC)  # 03-05 .. 04-01
    with uow_factory() as uow:
        wide = uow.reports.activity_totals([fx.program_id], last_moment)
        narrow = uow.reports.activity_totals([fx.program_id], next_day)
        empty = uow.reports.activity_totals([], next_day)
    assert wide == ActivityTotals(5, 5, 12600.0, 1800 + 1800 + 7140.0, 2, 2)
    # 03-04 has left the period; 04-02 is in the future
    assert narrow == ActivityTotals(5, 0, 12600.0, 1800 + 7140.0, 2, 1)
    assert empty == ActivityTotals(0, 0, 0.0, 0.0, 0, 0)


def test_course_learners_are_the_current_enrollments(uow_factory: UowFactory) -> None:
    fx = _fixture(uow_factory)
    code = {v: k for k, v in fx.courses.items()}
    with uow_factory() as uow:
        c2 = uow.reports.course_learners(code["C2"], [fx.program_id])
        c3 = uow.reports.course_learners(code["C3"], [fx.program_id])  # Ana's ended
        none = uow.reports.course_learners(code["C2"], [])
    assert [(fx.names[lr.id], e.id) for lr, e in c2] == [
        ("ana", fx.enrollments["ana2"]),
        ("di", fx.enrollments["di2"]),  # a removed member's enrollment stays
    ]
    assert (list(c3), list(none)) == ([], [])
