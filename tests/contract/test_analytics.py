"""Analytics (learner activity, learner feedback, utilization) worked out by hand, every backend.

The fixture (2026; 03-02 is a Monday, so ISO weeks start 03-02, 03-09, 03-16, 03-23, 03-30):

| learner | program | contract | state | course enrollments (made -> completed) |
|---|---|---|---|---|
| ana | P1 | K1 | MEMBER | C1 03-02 09:00 -> 03-10 10:00; C2 03-08 23:30 (ended 03-09) |
| ana | P2 | K2 | MEMBER | none in P2 |
| bo | P1 | K1 | MEMBER | C1 03-31 23:59 -> 04-01 00:10 |
| cy | P1 | K1 | MEMBER | none |
| di | P1 | K1 | MEMBER | C1 03-09 08:00 |
| eve | P2 | K2 | MEMBER | only the specialization S (03-05) |
| fay | P2 | K2 | DELETED_MEMBER | C1 03-03 10:00 |
| gus | P2 | K3 | MEMBER | C1 03-04 12:00 |
| hal | P1 | K4 | MEMBER | none |

Contracts: K1 3 licenses, K2 1 license, K3 100 enrollments (sells no licenses), K4 5 licenses
that ended 2026-01-26. Ratings: ana P1 C1 5 stars (recommend 9) 03-10; ana P1 C2 4 stars 03-12;
bo P1 C1 2 stars (recommend 3) 04-02 00:00; fay P2 C1 5 stars (recommend 10) 03-05; gus P2 C1
1 star 03-06 00:00.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from attrs import define

from learnprog.model import (
    Contract,
    Course,
    Enrollment,
    EntryKind,
    Membership,
    Program,
    Specialization,
)
from learnprog.model.activity import Feedback
from learnprog.model.analytics import (
    ActivityPeriod,
    AnalyticsScope,
    LearnerFeedback,
)
from learnprog.model.progress import EnrollmentProgress
from tests import factories as f
from tests.conftest import UowFactory


def at(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@define
class Fixture:
    org_id: str
    p1: str
    p2: str
    contracts: dict[str, str]  # "K1" -> contract ID

    def scope(
        self,
        programs: tuple[str, ...] | None = None,
        contracts: tuple[str, ...] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> AnalyticsScope:
        return AnalyticsScope(
            self.org_id,
            tuple(sorted(programs or (self.p1, self.p2))),
            None if contracts is None else tuple(self.contracts[k] for k in contracts),
            start,
            end,
        )


def _fixture(uow_factory: UowFactory) -> Fixture:
    org = f.organization()
    p1 = Program.create(org.id, "Academy", now=f.NOW, slug="academy")
    p2 = Program.create(org.id, "Second", now=f.NOW, slug="second")
    year = {"starts_at": f.NOW - timedelta(days=30), "ends_at": f.NOW + timedelta(days=335)}
    k = {
        "K1": Contract.create(org.id, "K1 Licenses", kind="licenses", quantity=3, **year),
        "K2": Contract.create(org.id, "K2 Licenses", kind="licenses", quantity=1, **year),
        "K3": Contract.create(org.id, "K3 Enrollments", kind="enrollments", quantity=100, **year),
        "K4": Contract.create(
            org.id,
            "K4 Expired",
            kind="licenses",
            quantity=5,
            starts_at=at(1, 26) - timedelta(days=365),
            ends_at=at(1, 26),
        ),
    }
    c1, c2 = (
        Course.create(org.id, course_id=f"C{i}", slug=f"c-{i}", name=f"Course {i}", now=f.NOW)
        for i in (1, 2)
    )
    spec = Specialization.create(org.id, slug="s", name="S", courses=[c1, c2], now=f.NOW)
    names = ("ana", "bo", "cy", "di", "eve", "fay", "gus", "hal")
    people = {n: f.learner(org, f"{n}@acme.example", n.title()) for n in names}
    joined = f.NOW - timedelta(days=1)

    def member(n: str, program: Program, contract: str) -> Membership:
        m = Membership.invite(org.id, program.id, people[n].id, k[contract].id, now=joined)
        return m.accept(joined)

    members = [
        member("ana", p1, "K1"),
        member("ana", p2, "K2"),
        member("bo", p1, "K1"),
        member("cy", p1, "K1"),
        member("di", p1, "K1"),
        member("eve", p2, "K2"),
        member("fay", p2, "K2").remove(at(3, 20)),
        member("gus", p2, "K3"),
        member("hal", p1, "K4"),
    ]

    def enroll(n: str, program: Program, contract: str, target: str, when: datetime,
               kind: EntryKind = EntryKind.COURSE) -> Enrollment:  # fmt: skip
        return Enrollment.create(org.id, program.id, people[n].id, kind=kind, target_id=target,
                                 contract_id=k[contract].id, now=when)  # fmt: skip

    ana1 = enroll("ana", p1, "K1", c1.id, at(3, 2, 9))
    bo1 = enroll("bo", p1, "K1", c1.id, at(3, 31, 23, 59))
    enrollments = [
        ana1,
        enroll("ana", p1, "K1", c2.id, at(3, 8, 23, 30)).unenroll(at(3, 9)),
        bo1,
        enroll("di", p1, "K1", c1.id, at(3, 9, 8)),
        enroll("eve", p2, "K2", spec.id, at(3, 5), EntryKind.SPECIALIZATION),
        enroll("fay", p2, "K2", c1.id, at(3, 3, 10)),
        enroll("gus", p2, "K3", c1.id, at(3, 4, 12)),
    ]
    figures = [
        EnrollmentProgress(ana1.id, progress=100.0, completed_at=at(3, 10, 10)),
        EnrollmentProgress(bo1.id, progress=100.0, completed_at=at(4, 1, 0, 10)),
    ]

    def rate(n: str, program: Program, course: Course, stars: int, when: datetime,
             recommend: int | None = None) -> Feedback:  # fmt: skip
        return Feedback.create(people[n].id, course.id, program.id, rating=stars, now=when,
                               recommend=recommend)  # fmt: skip

    ratings = [
        rate("ana", p1, c1, 5, at(3, 10), 9),
        rate("ana", p1, c2, 4, at(3, 12)),
        rate("bo", p1, c1, 2, at(4, 2), 3),
        rate("fay", p2, c1, 5, at(3, 5), 10),
        rate("gus", p2, c1, 1, at(3, 6)),
    ]
    with uow_factory() as uow:
        uow.organizations.add(org)
        uow.programs.add(p1)
        uow.programs.add(p2)
        for contract in k.values():
            uow.contracts.add(contract)
        uow.courses.add(c1)
        uow.courses.add(c2)
        uow.specializations.add(spec)
        uow.learners.add_many(list(people.values()))
        uow.memberships.add_many(members)
        for enrollment in enrollments:
            uow.enrollments.add(enrollment)
        uow.progress.put_many(figures)
        for rating in ratings:
            uow.feedback.put(rating)
        uow.commit()
    return Fixture(org.id, p1.id, p2.id, {name: c.id for name, c in k.items()})


def _rows(periods: tuple[ActivityPeriod, ...]) -> list[tuple[str, int, int]]:
    return [(p.start.isoformat(), p.enrollments, p.completions) for p in periods]


def test_learner_activity_per_iso_week_and_month(uow_factory: UowFactory) -> None:
    # course enrollments: ana C1 03-02, fay 03-03, gus 03-04, ana C2 03-08 (a Sunday, ended:
    # still counted) | di 03-09 | bo 03-31; completions: ana 03-10, bo 04-01. Eve's
    # specialization is no course enrollment. Two empty weeks in between are rows of zeros.
    fx = _fixture(uow_factory)
    with uow_factory() as uow:
        activity = uow.reports.learner_activity(fx.scope())
    assert _rows(activity.weeks) == [
        ("2026-03-02", 4, 0),
        ("2026-03-09", 1, 1),
        ("2026-03-16", 0, 0),
        ("2026-03-23", 0, 0),
        ("2026-03-30", 1, 1),
    ]
    assert [p.iso_week for p in activity.weeks] == [f"2026-W{w}" for w in (10, 11, 12, 13, 14)]
    assert _rows(activity.months) == [("2026-03-01", 6, 1), ("2026-04-01", 0, 1)]
    assert (activity.enrollments, activity.completions) == (6, 2)


def test_learner_activity_filtered_by_program_and_contract(uow_factory: UowFactory) -> None:
    fx = _fixture(uow_factory)
    with uow_factory() as uow:
        second = uow.reports.learner_activity(fx.scope(programs=(fx.p2,)))  # fay, gus
        k1 = uow.reports.learner_activity(fx.scope(contracts=("K1",)))  # ana x2, di, bo
        k4 = uow.reports.learner_activity(fx.scope(contracts=("K4",)))  # hal: nothing
    assert _rows(second.weeks) == [("2026-03-02", 2, 0)]
    assert _rows(second.months) == [("2026-03-01", 2, 0)]
    assert _rows(k1.weeks) == [
        ("2026-03-02", 2, 0),
        ("2026-03-09", 1, 1),
        ("2026-03-16", 0, 0),
        ("2026-03-23", 0, 0),
        ("2026-03-30", 1, 1),
    ]
    assert (k4.weeks, k4.months, k4.enrollments, k4.completions) == ((), (), 0, 0)


def test_learner_activity_date_range_includes_its_start_and_excludes_its_end(
    uow_factory: UowFactory,
) -> None:
    # [03-08 23:30, 03-31 23:59): ana's C2 made at the start is in, bo's C1 made at the end is
    # out, and so is his completion after it; ana's completion on 03-10 is in
    fx = _fixture(uow_factory)
    with uow_factory() as uow:
        ranged = uow.reports.learner_activity(
            fx.scope(start=at(3, 8, 23, 30), end=at(3, 31, 23, 59))
        )
    assert _rows(ranged.weeks) == [("2026-03-02", 1, 0), ("2026-03-09", 1, 1)]
    assert _rows(ranged.months) == [("2026-03-01", 2, 1)]


def test_learner_feedback_worked_out_by_hand(uow_factory: UowFactory) -> None:
    fx = _fixture(uow_factory)
    with uow_factory() as uow:
        every = uow.reports.learner_feedback(fx.scope())
        first = uow.reports.learner_feedback(fx.scope(programs=(fx.p1,)))
        k3 = uow.reports.learner_feedback(fx.scope(contracts=("K3",)))
        # [03-06 00:00, 04-02 00:00): gus (at the start) in; fay (03-05) and bo (at the end) out
        ranged = uow.reports.learner_feedback(fx.scope(start=at(3, 6), end=at(4, 2)))
    # 5, 4, 2, 5, 1 stars: mean 17 / 5; recommendations 9, 3, 10: mean 22 / 3
    assert (every.ratings, every.distribution) == (5, (1, 1, 0, 1, 2))
    assert every.average_rating == pytest.approx(3.4)
    assert every.recommendations == 3
    assert every.average_recommend == pytest.approx(22 / 3)
    # ana 5 and 4, bo 2: mean 11 / 3; recommendations 9 and 3
    assert (first.ratings, first.distribution, first.recommendations) == (3, (0, 1, 0, 1, 1), 2)
    assert first.average_rating == pytest.approx(11 / 3)
    assert first.average_recommend == pytest.approx(6.0)
    # gus alone, who gave no likelihood to recommend
    assert k3 == LearnerFeedback(1, (1, 0, 0, 0, 0), 1.0, 0, None)
    # ana 5 (recommend 9), ana 4, gus 1
    assert (ranged.ratings, ranged.distribution, ranged.recommendations) == (3, (1, 0, 0, 1, 1), 1)
    assert ranged.average_rating == pytest.approx(10 / 3)
    assert ranged.average_recommend == pytest.approx(9.0)


def test_no_ratings_give_no_averages(uow_factory: UowFactory) -> None:
    fx = _fixture(uow_factory)
    with uow_factory() as uow:
        none = uow.reports.learner_feedback(fx.scope(start=at(5, 1)))
        no_programs = uow.reports.learner_feedback(AnalyticsScope(fx.org_id, ()))
    assert none == LearnerFeedback(0, (0, 0, 0, 0, 0), None, 0, None)
    assert no_programs == none


def test_utilization_worked_out_by_hand(uow_factory: UowFactory) -> None:
    # K1 (3 licenses): ana, bo, cy, di are members -> occupied 3 (the cap); ana, bo, di
    # enrolled in a course -> utilized 3. K2 (1 license): ana (in P2, where she has no course)
    # and eve (only a specialization) -> occupied 1, utilized 0; fay was removed. K3 sells
    # enrollments, not licenses. K4 (5 licenses, ended): hal -> occupied 1, utilized 0.
    fx = _fixture(uow_factory)
    with uow_factory() as uow:
        every = uow.reports.utilization(fx.scope())
        first = uow.reports.utilization(fx.scope(programs=(fx.p1,)))
        k2 = uow.reports.utilization(fx.scope(contracts=("K2", "K3")))
        running = uow.reports.utilization(fx.scope(start=at(3, 1)))  # K4 ended on 01-26
    assert (every.licenses_purchased, every.occupied, every.utilized) == (9, 5, 3)
    assert [(c.name, c.purchased, c.occupied, c.utilized) for c in every.contracts] == [
        ("K1 Licenses", 3, 3, 3),
        ("K2 Licenses", 1, 1, 0),
        ("K4 Expired", 5, 1, 0),
    ]
    assert every.occupied_rate == pytest.approx(500 / 9)
    assert every.utilized_rate == pytest.approx(100 / 3)
    # only P1's members: K2's license is bought but nobody of P1 holds it
    assert (first.licenses_purchased, first.occupied, first.utilized) == (9, 4, 3)
    assert (k2.licenses_purchased, k2.occupied, k2.utilized) == (1, 1, 0)
    assert [c.name for c in running.contracts] == ["K1 Licenses", "K2 Licenses"]
    assert (running.licenses_purchased, running.occupied, running.utilized) == (4, 4, 3)


def test_utilization_without_licenses_contracts_has_no_rates(uow_factory: UowFactory) -> None:
    fx = _fixture(uow_factory)
    with uow_factory() as uow:
        none = uow.reports.utilization(fx.scope(contracts=("K3",)))
    assert (none.licenses_purchased, none.occupied, none.utilized, none.contracts) == (0, 0, 0, ())
    assert (none.occupied_rate, none.utilized_rate) == (None, None)


def test_weeks_run_monday_to_sunday_in_utc() -> None:
    from learnprog.model.analytics import ActivityDay, learner_activity, week_start

    assert week_start(date(2026, 3, 8)) == date(2026, 3, 2)  # a Sunday
    assert week_start(date(2026, 3, 9)) == date(2026, 3, 9)  # a Monday
    activity = learner_activity(
        [ActivityDay(date(2025, 12, 31), 1, 0), ActivityDay(date(2026, 1, 1), 0, 1)]
    )
    # 2025-12-29 (Monday) starts ISO week 2026-W01, across the new year
    assert [(p.start, p.iso_week) for p in activity.weeks] == [(date(2025, 12, 29), "2026-W01")]
    assert [p.start for p in activity.months] == [date(2025, 12, 1), date(2026, 1, 1)]
