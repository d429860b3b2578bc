"""The learning storage contract: enrollments, activity, derived figures, the members list, ratings.

Every test runs on memory, SQLite, PostgreSQL and MariaDB; the members list on SQL storage is
one query, so these tests are what keeps it equal to the model rules the memory adapter calls.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from attrs import define, evolve
from sqlalchemy.engine import Engine

from learnprog.errors import ConflictError, NotFoundError, StorageError
from learnprog.model import (
    AssessmentAttempt,
    Course,
    Enrollment,
    EntryKind,
    EventKind,
    Feedback,
    Learner,
    LearningEvent,
    Membership,
    MemberState,
)
from learnprog.model.progress import (
    ActivityStatus,
    DailyActivity,
    EnrollmentProgress,
    ImportedFigures,
    MemberOrder,
    MemberQuery,
)
from learnprog.model.skills import ScoringMark
from learnprog.model.tally import ActivityTally
from learnprog.storage.sql import SqlUnitOfWork
from tests import factories as f
from tests.conftest import UowFactory, empty_tables

DAY = timedelta(days=1)


@define
class World:
    org_id: str
    program_id: str
    contract_id: str
    course: Course
    learners: list[Learner]
    memberships: list[Membership]


def _world(uow_factory: UowFactory, names: tuple[str, ...] = ("Ana Lima",)) -> World:
    org = f.organization()
    prog = f.program(org)
    deal = f.contract(org)
    course = Course.create(org.id, course_id="C1", slug="c-one", name="C1", now=f.NOW)
    people = [f.learner(org, f"{n.split()[0].lower()}@acme.example", n) for n in names]
    members = [f.membership(org, prog, p, deal) for p in people]
    with uow_factory() as uow:
        uow.organizations.add(org)
        uow.programs.add(prog)
        uow.contracts.add(deal)
        uow.courses.add(course)
        uow.learners.add_many(people)
        uow.memberships.add_many(members)
        uow.commit()
    return World(org.id, prog.id, deal.id, course, people, members)


def _enrollment(w: World, learner: Learner, at: datetime = f.NOW) -> Enrollment:
    return Enrollment.create(
        w.org_id,
        w.program_id,
        learner.id,
        kind=EntryKind.COURSE,
        target_id=w.course.id,
        contract_id=w.contract_id,
        now=at,
    )


# --- enrollments ---------------------------------------------------------------------------


def test_one_current_enrollment_per_learner_and_target(uow_factory: UowFactory) -> None:
    w = _world(uow_factory)
    first = _enrollment(w, w.learners[0])
    with uow_factory() as uow:
        uow.enrollments.add(first)
        uow.commit()
    with uow_factory() as uow, pytest.raises(ConflictError):
        uow.enrollments.add(_enrollment(w, w.learners[0]))
    with uow_factory() as uow:
        uow.enrollments.update(first.unenroll(f.NOW + DAY))
        again = _enrollment(w, w.learners[0], f.NOW + 2 * DAY)
        uow.enrollments.add(again)
        uow.commit()
    with uow_factory() as uow:
        assert uow.enrollments.find_current(w.learners[0].id, w.course.id) == again
        history = uow.enrollments.list_for_learner(w.learners[0].id, [w.course.id])
        assert [e.id for e in history] == [first.id, again.id]
        assert uow.enrollments.count_current_courses(w.program_id, w.learners[0].id) == 1
        assert len(uow.enrollments.list_for_program(w.program_id)) == 2


def test_add_many_enrollments_is_all_or_nothing(uow_factory: UowFactory) -> None:
    w = _world(uow_factory, ("Ana Lima", "Bo Chen", "Ivy Park"))
    ana, bo, ivy = w.learners
    stored = _enrollment(w, ana)
    with uow_factory() as uow:
        uow.enrollments.add(stored)
        uow.commit()
    ended = _enrollment(w, bo).unenroll(f.NOW + DAY)
    fresh = [ended, _enrollment(w, bo, f.NOW + 2 * DAY), _enrollment(w, ivy)]
    with uow_factory() as uow:
        with pytest.raises(ConflictError):  # a second current enrollment of Ana: none is kept
            uow.enrollments.add_many([*fresh, _enrollment(w, ana, f.NOW + DAY)])
        uow.enrollments.add_many(fresh)  # the unit of work is still usable
        uow.commit()
    with uow_factory() as uow:
        found = uow.enrollments.list_for_learners([ana.id, bo.id, ivy.id], [w.course.id])
        assert sorted(e.id for e in found) == sorted([stored.id, *(e.id for e in fresh)])
        assert uow.enrollments.find_current(bo.id, w.course.id) == fresh[1]


def test_bulk_reads_by_learners_and_targets(uow_factory: UowFactory) -> None:
    w = _world(uow_factory, ("Ana Lima", "Bruno Souza", "Chen Wei"))
    ana, bruno, chen = w.learners
    made = [_enrollment(w, p, f.NOW + i * DAY) for i, p in enumerate((chen, ana, bruno))]
    events = [_event(w, f"e{i}", f.NOW + (3 - i) * DAY, learner=i) for i in range(3)]
    with uow_factory() as uow:
        for e in made:
            uow.enrollments.add(e)
        uow.activity.add_events(w.org_id, events)
        uow.commit()
    with uow_factory() as uow:
        found = uow.enrollments.list_for_learners([chen.id, ana.id, chen.id], [w.course.id])
        assert sorted(e.id for e in found) == sorted(e.id for e in made if e.learner_id != bruno.id)
        assert [e.learner_id for e in found] == sorted(e.learner_id for e in found)
        assert uow.enrollments.list_for_learners([ana.id], ["other"]) == []
        locked = uow.enrollments.lock_for_learners([chen.id, ana.id, chen.id], [w.course.id])
        assert list(locked) == list(found)
        assert uow.enrollments.lock_for_learners([ana.id], []) == []
        picked = uow.activity.events_for([bruno.id, chen.id], [w.course.id, "other"])
        assert sorted(e.id for e in picked) == ["e1", "e2"]
        assert [e.learner_id for e in picked] == sorted(e.learner_id for e in picked)


def test_concurrent_enrollments_in_one_course_make_one(uow_factory: UowFactory) -> None:
    w = _world(uow_factory)
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def enroll() -> None:
        barrier.wait()
        try:
            with uow_factory() as uow:
                uow.enrollments.add(_enrollment(w, w.learners[0]))
                uow.commit()
            outcomes.append("ok")
        except ConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=enroll) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict"] * 3 + ["ok"]


# --- activity ------------------------------------------------------------------------------


def _event(w: World, event_id: str, at: datetime, learner: int = 0) -> LearningEvent:
    return LearningEvent(
        event_id, w.learners[learner].id, w.course.id, "v1", EventKind.COMPLETED, at
    )


def test_events_and_attempts_are_kept_once_by_source_id(uow_factory: UowFactory) -> None:
    w = _world(uow_factory)
    events = [_event(w, "e1", f.NOW + DAY), _event(w, "e2", f.NOW)]
    attempt = AssessmentAttempt("t1", w.learners[0].id, w.course.id, "a1", 85.5, f.NOW, True)
    with uow_factory() as uow:
        assert uow.activity.add_events(w.org_id, events) == {"e1", "e2"}
        assert uow.activity.add_attempts(w.org_id, [attempt]) == {"t1"}
        uow.commit()
    with uow_factory() as uow:
        changed = evolve(events[0], at=f.NOW + 5 * DAY)
        assert uow.activity.add_events(w.org_id, [changed, _event(w, "e3", f.NOW)]) == {"e3"}
        assert uow.activity.add_attempts(w.org_id, [attempt]) == frozenset()
        assert uow.activity.add_events(w.org_id, []) == frozenset()
        uow.commit()
    with uow_factory() as uow:
        stored = uow.activity.events_for([w.learners[0].id], [w.course.id])
        assert [e.id for e in stored] == ["e2", "e3", "e1"]
        assert stored[2].at == f.NOW + DAY  # the first copy of an ID stays
        assert uow.activity.attempts_for([w.learners[0].id], [w.course.id]) == [attempt]
        assert uow.activity.events_for([w.learners[0].id], ["other"]) == []
        assert uow.activity.attempts_for_course(w.course.id) == [attempt]


@pytest.mark.parametrize("missing", ["learner", "course", "organization"])
def test_a_record_whose_parent_is_missing_is_an_error_not_a_duplicate(
    uow_factory: UowFactory, missing: str
) -> None:
    """Issue 17: MariaDB's INSERT IGNORE skipped a foreign key miss as if a duplicate."""
    w = _world(uow_factory)
    with uow_factory() as uow:
        uow.activity.add_events(w.org_id, [_event(w, "e1", f.NOW)])
        uow.commit()
    learner, course, org_id = w.learners[0].id, w.course.id, w.org_id
    if missing == "learner":
        learner = "ghost-learner"
    elif missing == "course":
        course = "ghost-course"
    else:
        org_id = "ghost-org"
    orphan = LearningEvent("e2", learner, course, "v1", EventKind.STARTED, f.NOW)
    attempt = AssessmentAttempt("t1", learner, course, "a1", 80.0, f.NOW, False)
    key = {"learner": learner, "course": course, "organization": org_id}[missing]
    with uow_factory() as uow:
        with pytest.raises(NotFoundError) as caught:  # beside a true duplicate, e1
            uow.activity.add_events(org_id, [_event(w, "e1", f.NOW), orphan])
        assert (caught.value.kind, caught.value.key) == (missing, key)
        with pytest.raises(NotFoundError) as caught:
            uow.activity.add_attempts(org_id, [attempt])
        assert (caught.value.kind, caught.value.key) == (missing, key)
        # the unit of work is still usable: a good record after the refused ones is stored
        assert uow.activity.add_events(w.org_id, [_event(w, "e3", f.NOW)]) == {"e3"}
        uow.commit()
    with uow_factory() as uow:
        stored = uow.activity.events_for([w.learners[0].id, "ghost-learner"], [w.course.id])
        assert sorted(e.id for e in stored) == ["e1", "e3"]
        assert uow.activity.attempts_for([learner], [course]) == []


@pytest.mark.parametrize(
    "server",
    [
        pytest.param("postgresql", marks=pytest.mark.postgresql),
        pytest.param("mariadb", marks=pytest.mark.mariadb),
    ],
)
def test_the_scoring_lock_of_a_missing_organization_is_not_found(
    engine_pool: Callable[[str], Engine], server: str
) -> None:
    """Issue 17: MariaDB's INSERT IGNORE made no mark row for it, silently (memory and SQLite
    run one writer at a time and take no row)."""
    engine = engine_pool(server)
    empty_tables(engine)
    with SqlUnitOfWork(engine) as uow, pytest.raises(NotFoundError) as caught:
        uow.skill_ratings.lock_scoring("ghost-org")
    assert (caught.value.kind, caught.value.key) == ("organization", "ghost-org")


def test_the_scorer_streams_attempts_in_time_order_and_reads_times_by_id(
    uow_factory: UowFactory,
) -> None:
    w = _world(uow_factory, ("Ana Lima", "Bo Reis"))
    ana, bo = (x.id for x in w.learners)
    attempts = [
        AssessmentAttempt("t3", bo, w.course.id, "a2", 40.0, f.NOW + DAY),
        AssessmentAttempt("t1", ana, w.course.id, "a1", 85.5, f.NOW),
        AssessmentAttempt("t2", ana, w.course.id, "a2", 90.0, f.NOW + DAY),  # a tie: by ID
    ]
    with uow_factory() as uow:
        uow.activity.add_attempts(w.org_id, attempts[:2])
        uow.commit()
    with uow_factory() as uow:
        uow.activity.add_attempts(w.org_id, attempts[2:])  # t2, read with the committed ones
        assert [r[3] for r in uow.skill_ratings.scoring_rows(w.org_id, None)] == ["t1", "t2", "t3"]
        uow.commit()
    with uow_factory() as uow:
        store = uow.skill_ratings
        rows = list(store.scoring_rows(w.org_id, None))
        assert rows == [
            (ana, f"{w.course.id}:a1", 85.5, "t1"),
            (ana, f"{w.course.id}:a2", 90.0, "t2"),
            (bo, f"{w.course.id}:a2", 40.0, "t3"),
        ]
        assert [r[3] for r in store.scoring_rows(w.org_id, (f.NOW + DAY, "t2"))] == ["t3"]
        assert list(store.scoring_rows("another-org", None)) == []
        assert store.attempt_times(w.org_id, ["t3", "t1", "t1", "missing"]) == {
            "t1": f.NOW,
            "t3": f.NOW + DAY,
        }
        assert store.attempt_times(w.org_id, []) == {}
        assert store.count_attempts_until(w.org_id, (f.NOW + DAY, "t2")) == 2
    # rows read once (memory keeps them in time order), then more come, one earlier in time
    with uow_factory() as uow:
        uow.activity.add_attempts(
            w.org_id,
            [
                AssessmentAttempt("t4", ana, w.course.id, "a1", 10.0, f.NOW + 2 * DAY),
                AssessmentAttempt("t0", bo, w.course.id, "a1", 55.0, f.NOW - DAY),
            ],
        )
        uow.commit()
    with uow_factory() as uow:  # rolled back: never read
        uow.activity.add_attempts(
            w.org_id, [AssessmentAttempt("t9", bo, w.course.id, "a1", 1.0, f.NOW)]
        )
    with uow_factory() as uow:
        store = uow.skill_ratings
        assert [r[3] for r in store.scoring_rows(w.org_id, None)] == ["t0", "t1", "t2", "t3", "t4"]
        assert [r[3] for r in store.scoring_rows(w.org_id, (f.NOW, "t1"))] == ["t2", "t3", "t4"]
        assert store.count_attempts_until(w.org_id, (f.NOW + DAY, "t2")) == 3
        assert store.count_attempts_until(w.org_id, (f.NOW - 2 * DAY, "")) == 0


def test_the_scoring_lock_makes_a_second_unit_of_work_wait_and_the_mark_is_kept(
    uow_factory: UowFactory,
) -> None:
    w = _world(uow_factory)
    with uow_factory() as uow:
        uow.skill_ratings.lock_scoring(w.org_id)  # the first run: nothing stored yet
        assert uow.skill_ratings.mark(w.org_id) == ScoringMark(w.org_id)
        uow.skill_ratings.set_mark(ScoringMark(w.org_id, 3, f.NOW, "t3"))
        uow.skill_ratings.set_mark(ScoringMark(w.org_id, 4, f.NOW + DAY, "t4"))
        uow.commit()
    with uow_factory() as uow:
        assert uow.skill_ratings.mark(w.org_id) == ScoringMark(w.org_id, 4, f.NOW + DAY, "t4")
    order: list[str] = []
    first_holds = threading.Event()

    def first() -> None:
        with uow_factory() as uow:
            uow.skill_ratings.lock_scoring(w.org_id)
            first_holds.set()
            time.sleep(0.5)  # the second asks for the lock meanwhile
            uow.skill_ratings.set_mark(ScoringMark(w.org_id, 5, f.NOW + 2 * DAY, "t5"))
            order.append("first committed")
            uow.commit()

    def second() -> None:
        assert first_holds.wait(timeout=30)
        with uow_factory() as uow:
            uow.skill_ratings.lock_scoring(w.org_id)
            order.append("second holds the lock")
            order.append(f"second reads {uow.skill_ratings.mark(w.org_id).scored}")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert order == ["first committed", "second holds the lock", "second reads 5"]


# --- derived figures and the members list --------------------------------------------------


def test_progress_is_replaced_per_enrollment(uow_factory: UowFactory) -> None:
    w = _world(uow_factory)
    e = _enrollment(w, w.learners[0])
    first = EnrollmentProgress(e.id, items_completed=1, items_total=4, progress=25.0)
    second = evolve(first, items_completed=2, progress=50.0, completed_at=f.NOW, grade=91.25)
    with uow_factory() as uow:
        uow.enrollments.add(e)
        uow.progress.put_many([first])
        uow.commit()
    with uow_factory() as uow:
        uow.progress.put_many([second])
        uow.commit()
    with uow_factory() as uow:
        assert uow.progress.get_many([e.id, "other"]) == {e.id: second}


def test_imported_figures_are_kept_and_replaced_per_enrollment(uow_factory: UowFactory) -> None:
    w = _world(uow_factory)
    e = _enrollment(w, w.learners[0])
    other = _enrollment(w, w.learners[0], f.NOW + DAY).unenroll(f.NOW + 2 * DAY)
    first = ImportedFigures.create(
        e.id,
        progress=12.82,
        learning_seconds=1044.0,
        last_activity_at=f.NOW + timedelta(milliseconds=782),
        grade=None,
    )
    second = evolve(first, completed_at=f.NOW + DAY, grade=88.25)
    with uow_factory() as uow:
        uow.enrollments.add(other)
        uow.enrollments.add(e)
        uow.progress.put_imported([first])
        uow.commit()
    with uow_factory() as uow:
        assert uow.progress.get_imported([e.id, other.id, "none"]) == {e.id: first}
        uow.progress.put_imported([second])
        # not committed: the next unit of work still sees the first figures
    with uow_factory() as uow:
        assert uow.progress.get_imported([e.id]) == {e.id: first}
        uow.progress.put_imported([second])
        uow.commit()
    with uow_factory() as uow:
        assert uow.progress.get_imported([e.id]) == {e.id: second}
        assert uow.progress.get_many([e.id]) == {}  # the derived figures are apart


def test_tallies_round_trip_exactly_and_are_replaced_per_enrollment(
    uow_factory: UowFactory,
) -> None:
    w = _world(uow_factory)
    e = _enrollment(w, w.learners[0])
    other = _enrollment(w, w.learners[0], f.NOW + DAY).unenroll(f.NOW + 2 * DAY)
    odd = f.NOW + timedelta(microseconds=999_999)
    first = ActivityTally(
        e.id,
        last_event_at=odd + DAY,
        session_start_at=odd,
        closed_seconds=0.1 + 0.2,  # not a short decimal: kept to the last bit
        day_seconds=1e-6,
        completed={"vidéo-1 ✓": odd, "'; DROP TABLE x; --": f.NOW},
        last_attempt_at=f.NOW,
        attempts=3,
        best={"quiz": 79.99999999999999},
        first_pass={},
    )
    second = evolve(first, attempts=4, first_pass={"quiz": odd})
    with uow_factory() as uow:
        uow.enrollments.add(e)
        uow.enrollments.add(other)
        uow.progress.put_tallies([first])
        uow.commit()
    with uow_factory() as uow:
        assert uow.progress.get_tallies([e.id, other.id, "none"]) == {e.id: first}
        uow.progress.put_tallies([second])
        # not committed: the next unit of work still sees the first tally
    with uow_factory() as uow:
        assert uow.progress.get_tallies([e.id]) == {e.id: first}
        uow.progress.put_tallies([second, ActivityTally(other.id)])
        uow.commit()
    with uow_factory() as uow:
        assert uow.progress.get_tallies([e.id, other.id]) == {
            e.id: second,
            other.id: ActivityTally(other.id),
        }


def test_days_since_replace_only_the_days_from_each_enrollments_day_on(
    uow_factory: UowFactory,
) -> None:
    w = _world(uow_factory)
    e = _enrollment(w, w.learners[0])
    other = _enrollment(w, w.learners[0], f.NOW + DAY).unenroll(f.NOW + 2 * DAY)
    d0 = f.NOW.date()
    days = [DailyActivity(x.id, d0 + n * DAY, 60.0 * n, n) for x in (e, other) for n in range(4)]
    with uow_factory() as uow:
        uow.enrollments.add(e)
        uow.enrollments.add(other)
        uow.progress.put_days([e.id, other.id], days)
        uow.commit()
    later = [DailyActivity(e.id, d0 + 2 * DAY, 0.5, 7), DailyActivity(e.id, d0 + 9 * DAY, 1.5, 0)]
    # a day before its enrollment's day is refused
    with uow_factory() as uow, pytest.raises(StorageError):
        uow.progress.put_days_since({e.id: d0 + 3 * DAY}, later)
    with uow_factory() as uow:
        uow.progress.put_days_since({e.id: d0 + 2 * DAY, other.id: d0 + 3 * DAY}, later)
        uow.commit()
    with uow_factory() as uow:
        assert list(uow.progress.get_days([e.id, other.id])) == sorted(
            [*days[:2], *later, *days[4:7]], key=lambda d: (d.enrollment_id, d.day)
        )


NAMES = ("Ana Lima", "bruno Souza", "Stéphane Dupont", "Chen Wei", "Zoë Brown")


def _members_world(uow_factory: UowFactory) -> tuple[World, datetime]:
    """Five learners in every situation; returns the world and "now"."""
    w = _world(uow_factory, NAMES)
    now = f.NOW + 40 * DAY
    ana, bruno, _stephane, chen, _zoe = w.learners
    with uow_factory() as uow:
        joined = [m.accept(f.NOW + DAY) for m in w.memberships[:4]]
        joined[3] = joined[3].remove(f.NOW + 2 * DAY)  # Chen left
        for m in joined:
            uow.memberships.update(m)
        # Ana: completed, active 5 days ago
        e_ana = _enrollment(w, ana, f.NOW + DAY)
        # Bruno: enrolled, failing, active 35 days ago (inactive, at risk)
        e_bruno = _enrollment(w, bruno, f.NOW + DAY)
        # Stéphane: no enrollment, joined 39 days ago (inactive)
        # Chen: removed, an ended enrollment
        e_chen = _enrollment(w, chen, f.NOW + DAY).unenroll(f.NOW + 2 * DAY)
        # Zoë: invited only
        for e in (e_ana, e_bruno, e_chen):
            uow.enrollments.add(e)
        uow.progress.put_many(
            [
                EnrollmentProgress(
                    e_ana.id, completed_at=now - 6 * DAY, last_activity_at=now - 5 * DAY
                ),
                EnrollmentProgress(e_bruno.id, failing=True, last_activity_at=now - 35 * DAY),
                EnrollmentProgress(e_chen.id, last_activity_at=f.NOW + 2 * DAY),
            ]
        )
        uow.commit()
    return w, now


def _names(uow_factory: UowFactory, w: World, now: datetime, **options: object) -> list[str]:
    query = MemberQuery.create(w.program_id, **options)  # type: ignore[arg-type]
    with uow_factory() as uow:
        page = uow.progress.member_page(query, now)
    return [r.learner.full_name for r in page.rows]


def test_members_list_status_of_each_member(uow_factory: UowFactory) -> None:
    w, now = _members_world(uow_factory)
    with uow_factory() as uow:
        page = uow.progress.member_page(MemberQuery.create(w.program_id), now)
    assert page.total == 5
    status = {r.learner.full_name: r.status for r in page.rows}
    assert status["Ana Lima"].label == "1 Completion"
    assert not status["Ana Lima"].inactive
    assert status["Ana Lima"].last_activity_at == now - 5 * DAY
    assert (status["bruno Souza"].inactive, status["bruno Souza"].at_risk) == (True, True)
    assert status["Stéphane Dupont"].label == "No Enrollment"
    assert status["Stéphane Dupont"].inactive
    assert status["Chen Wei"].enrollments == 0
    assert not status["Chen Wei"].inactive  # removed members are not inactive
    assert status["Chen Wei"].last_activity_at == f.NOW + 2 * DAY
    assert status["Zoë Brown"].label == "No Enrollment"
    assert not status["Zoë Brown"].inactive


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (ActivityStatus.NO_ENROLLMENT, ["Stéphane Dupont"]),
        (ActivityStatus.ENROLLED, ["bruno Souza"]),
        (ActivityStatus.COMPLETED, ["Ana Lima"]),
        (ActivityStatus.INACTIVE, ["bruno Souza", "Stéphane Dupont"]),
        (ActivityStatus.AT_RISK, ["bruno Souza"]),
    ],
)
def test_members_list_filters_by_activity_status(
    uow_factory: UowFactory, status: ActivityStatus, expected: list[str]
) -> None:
    w, now = _members_world(uow_factory)
    assert _names(uow_factory, w, now, status=status) == expected


def test_inactivity_starts_at_exactly_thirty_days(uow_factory: UowFactory) -> None:
    w, now = _members_world(uow_factory)
    ana_last = now - 5 * DAY
    edge = ana_last + timedelta(days=30)
    assert "Ana Lima" in _names(uow_factory, w, edge, status="inactive")
    assert "Ana Lima" not in _names(
        uow_factory, w, edge - timedelta(microseconds=1), status="inactive"
    )


def test_members_list_search_state_contract_and_paging(uow_factory: UowFactory) -> None:
    w, now = _members_world(uow_factory)
    assert _names(uow_factory, w, now, search="STÉPH") == ["Stéphane Dupont"]
    assert _names(uow_factory, w, now, search="steph") == []  # accents are kept
    assert _names(uow_factory, w, now, search="zoë@acme") == ["Zoë Brown"]
    assert _names(uow_factory, w, now, search="%") == []  # no wildcards
    assert _names(uow_factory, w, now, state=MemberState.DELETED_MEMBER) == ["Chen Wei"]
    assert len(_names(uow_factory, w, now, contract_id=w.contract_id)) == 5
    assert _names(uow_factory, w, now, contract_id="other") == []
    everyone = _names(uow_factory, w, now)
    assert everyone == ["Ana Lima", "bruno Souza", "Chen Wei", "Stéphane Dupont", "Zoë Brown"]
    assert _names(uow_factory, w, now, descending=True) == everyone[::-1]
    assert _names(uow_factory, w, now, offset=1, limit=2) == everyone[1:3]
    query = MemberQuery.create(w.program_id, offset=10)
    with uow_factory() as uow:
        page = uow.progress.member_page(query, now)
    assert (page.rows, page.total) == ((), 5)


def test_members_list_orders_missing_values_last(uow_factory: UowFactory) -> None:
    w, now = _members_world(uow_factory)
    by_activity = _names(uow_factory, w, now, order=MemberOrder.LAST_ACTIVITY)
    assert by_activity[:3] == ["Chen Wei", "bruno Souza", "Ana Lima"]
    assert by_activity[3:] == ["Stéphane Dupont", "Zoë Brown"]
    latest_first = _names(uow_factory, w, now, order="last_activity", descending=True)
    assert latest_first[:3] == ["Ana Lima", "bruno Souza", "Chen Wei"]
    assert set(latest_first[3:]) == {"Stéphane Dupont", "Zoë Brown"}
    by_joined = _names(uow_factory, w, now, order="joined_at")
    assert by_joined[-1] == "Zoë Brown"
    by_enrollments = _names(uow_factory, w, now, order="enrollments", descending=True)
    assert by_enrollments[:2] == ["bruno Souza", "Ana Lima"]


# --- feedback ------------------------------------------------------------------------------


def test_a_rating_replaces_the_learners_earlier_one(uow_factory: UowFactory) -> None:
    w = _world(uow_factory, ("Ana Lima", "Bruno Souza"))
    ana, bruno = w.learners
    with uow_factory() as uow:
        uow.feedback.put(Feedback.create(ana.id, w.course.id, w.program_id, rating=2, now=f.NOW))
        uow.feedback.put(Feedback.create(bruno.id, w.course.id, w.program_id, rating=5, now=f.NOW))
        uow.commit()
    with uow_factory() as uow:
        assert uow.feedback.rating_summary(course_id=w.course.id) == (3.5, 2)
        uow.feedback.put(
            Feedback.create(
                ana.id, w.course.id, w.program_id, rating=4, now=f.NOW + DAY, comment="Better"
            )
        )
        uow.commit()
    with uow_factory() as uow:
        assert uow.feedback.rating_summary(program_id=w.program_id) == (4.5, 2)
        assert uow.feedback.rating_summary(course_id="none") == (None, 0)
        newest = uow.feedback.list_for_course(w.course.id)
        assert [x.comment for x in newest] == ["Better", None]
