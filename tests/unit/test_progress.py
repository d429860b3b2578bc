"""Unit tests of learnprog.model.progress: the counting rules every report reuses."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta

import pytest
from attrs import evolve

from learnprog.errors import ConflictError, ValidationError
from learnprog.model.activity import AssessmentAttempt, Enrollment, EventKind, LearningEvent
from learnprog.model.catalog import Assessment, Course, CourseItem, EntryKind, Specialization
from learnprog.model.learner import Learner, Membership
from learnprog.model.progress import (
    DailyActivity,
    EnrollmentProgress,
    ImportedFigures,
    course_grade,
    course_progress,
    daily_activity,
    is_inactive,
    learning_seconds,
    learning_sessions,
    member_status,
    specialization_progress,
    verified_completion,
    with_imported,
)

DAY = datetime(2026, 3, 2, tzinfo=UTC)
MIN = timedelta(minutes=1)
_ids = itertools.count()


def at(hh: int, mm: int = 0) -> datetime:
    return DAY + timedelta(hours=hh, minutes=mm)


def _course(*, assessments: tuple[Assessment, ...] | None = None) -> Course:
    items = [
        CourseItem.create("Intro", kind="video", lesson="L1", id="v1", position=0),
        CourseItem.create("Read", kind="reading", lesson="L1", id="r1", position=1),
        CourseItem.create("Quiz", kind="quiz", lesson="L2", id="q1", position=2),
        CourseItem.create("Lab", kind="programming_assignment", lesson="L2", id="p1", position=3),
    ]
    if assessments is None:
        assessments = (
            Assessment.create("Quiz", id="a1", weight=1, pass_mark=80, item_id="q1"),
            Assessment.create("Lab", id="a2", weight=3, pass_mark=50, item_id="p1"),
            Assessment.create("Practice", id="a3", graded=False, required=False),
        )
    return Course.create(
        "org", course_id="C1", slug="c-one", name="C1", now=DAY, items=items,
        assessments=assessments,
    )  # fmt: skip


def _enrollment(start: datetime = DAY, end: datetime | None = None) -> Enrollment:
    e = Enrollment.create(
        "org", "prog", "ana", kind=EntryKind.COURSE, target_id="c", contract_id="k", now=start
    )
    return e if end is None else e.unenroll(end)


def ev(item: str, when: datetime, kind: EventKind = EventKind.COMPLETED) -> LearningEvent:
    return LearningEvent(f"e{next(_ids)}", "ana", "c", item, kind, when)


def att(assessment: str, grade: float, when: datetime) -> AssessmentAttempt:
    return AssessmentAttempt(f"t{next(_ids)}", "ana", "c", assessment, grade, when)


# --- learning hours ------------------------------------------------------------------------


def test_the_guide_example_is_fifty_plus_ten_minutes() -> None:
    times = [at(9), at(9, 20), at(9, 50), at(11, 30), at(11, 40)]
    assert learning_seconds(times) == 3600.0


def test_a_lone_event_counts_zero() -> None:
    assert learning_seconds([at(9)]) == 0.0
    assert learning_seconds([]) == 0.0


def test_a_gap_of_exactly_sixty_minutes_keeps_the_session() -> None:
    assert learning_seconds([at(9), at(10)]) == 3600.0


def test_a_gap_just_over_sixty_minutes_ends_the_session() -> None:
    late = at(10) + timedelta(microseconds=1)
    assert learning_seconds([at(9), late]) == 0.0


def test_learning_time_does_not_depend_on_order_or_duplicates() -> None:
    times = [at(9), at(9, 20), at(9, 50), at(11, 30), at(11, 40), at(9, 20)]
    for _ in range(5):
        random.shuffle(times)
        assert learning_seconds(times) == 3600.0


# --- progress, lessons, completion, grade ---------------------------------------------------


def test_progress_counts_distinct_completed_items_as_percent() -> None:
    events = [ev("v1", at(9)), ev("v1", at(9, 5)), ev("r1", at(9, 10), EventKind.STARTED)]
    p = course_progress(_enrollment(), _course(), events, [])
    assert (p.items_completed, p.items_total, p.progress) == (1, 4, 25.0)
    assert p.lessons_taken == 0
    assert p.learning_seconds == 600.0
    assert p.last_activity_at == at(9, 10)


def test_a_lesson_is_taken_when_every_item_of_it_is_completed() -> None:
    events = [ev("v1", at(9)), ev("r1", at(9, 10)), ev("q1", at(9, 20))]
    p = course_progress(_enrollment(), _course(), events, [])
    assert p.lessons_taken == 1


def test_completion_needs_every_required_graded_assessment_passed_not_full_progress() -> None:
    attempts = [att("a1", 79.9, at(9)), att("a2", 50, at(10))]
    p = course_progress(_enrollment(), _course(), [], attempts)
    assert not p.completed
    assert p.failing
    p = course_progress(_enrollment(), _course(), [], [*attempts, att("a1", 80, at(11))])
    assert p.completed_at == at(11)
    assert p.progress == 0.0
    assert not p.failing


def test_completion_time_is_the_latest_first_pass_whatever_the_arrival_order() -> None:
    attempts = [att("a2", 90, at(12)), att("a1", 95, at(10)), att("a1", 100, at(13))]
    for order in itertools.permutations(attempts):
        p = course_progress(_enrollment(), _course(), [], order)
        assert p.completed_at == at(12)


def test_ungraded_and_optional_assessments_do_not_block_completion() -> None:
    attempts = [att("a1", 80, at(9)), att("a2", 60, at(10))]
    assert course_progress(_enrollment(), _course(), [], attempts).completed


def test_grade_is_weighted_over_required_assessments_best_attempt_missing_zero() -> None:
    attempts = [att("a1", 60, at(9)), att("a1", 100, at(10)), att("a3", 10, at(11))]
    p = course_progress(_enrollment(), _course(), [], attempts)
    assert p.grade == pytest.approx((1 * 100 + 3 * 0) / 4)
    p = course_progress(_enrollment(), _course(), [], [*attempts, att("a2", 40, at(12))])
    assert p.grade == pytest.approx((1 * 100 + 3 * 40) / 4)


def test_all_zero_weights_weigh_equally() -> None:
    zero = (
        Assessment.create("A", id="a1", weight=0, pass_mark=50),
        Assessment.create("B", id="a2", weight=0, pass_mark=50),
    )
    assert course_grade(zero, {"a1": 100.0, "a2": 50.0}) == 75.0
    assert course_grade((), {}) is None


def test_a_course_without_required_assessments_completes_on_its_last_item() -> None:
    course = _course(assessments=())
    events = [ev(i, at(9, n)) for n, i in enumerate(("v1", "r1", "q1"))]
    assert not course_progress(_enrollment(), course, events, []).completed
    p = course_progress(_enrollment(), course, [*events, ev("p1", at(8))], [])
    assert p.completed_at == at(9, 2)
    assert p.grade is None


def test_records_of_unknown_items_or_assessments_count_for_nothing() -> None:
    p = course_progress(_enrollment(), _course(), [ev("zz", at(9))], [att("zz", 100, at(9))])
    assert (p.items_completed, p.attempts, p.last_activity_at) == (0, 0, None)


# --- re-enrollment windows -----------------------------------------------------------------


def test_a_re_enrollment_starts_fresh() -> None:
    first = _enrollment(at(8), at(12))
    second = _enrollment(at(14))
    events = [ev("v1", at(9)), ev("r1", at(15))]
    attempts = [att("a1", 100, at(10)), att("a2", 100, at(11))]
    old = course_progress(first, _course(), events, attempts)
    new = course_progress(second, _course(), events, attempts)
    assert (old.completed, old.items_completed) == (True, 1)
    assert (new.completed, new.items_completed, new.grade) == (False, 1, 0.0)


def test_the_window_includes_its_start_and_excludes_its_end() -> None:
    e = _enrollment(at(9), at(10))
    p = course_progress(e, _course(), [ev("v1", at(9)), ev("r1", at(10))], [])
    assert p.items_completed == 1


def test_unenrolling_twice_is_a_conflict() -> None:
    with pytest.raises(ConflictError):
        _enrollment(at(9), at(10)).unenroll(at(11))


# --- at risk -------------------------------------------------------------------------------


def _due_course(due: datetime) -> Course:
    return _course(assessments=(Assessment.create("Quiz", id="a1", pass_mark=80, due_at=due),))


def test_at_risk_once_a_due_date_passes_without_a_pass() -> None:
    p = course_progress(_enrollment(), _due_course(at(12)), [], [])
    assert not p.at_risk(at(12))
    assert p.at_risk(at(12) + timedelta(microseconds=1))


def test_a_late_pass_clears_the_missed_deadline() -> None:
    p = course_progress(_enrollment(), _due_course(at(12)), [], [att("a1", 90, at(13))])
    assert p.open_due_at is None
    assert not p.at_risk(at(14))


def test_a_failure_is_at_risk_until_passed() -> None:
    course = _due_course(at(20))
    failed = course_progress(_enrollment(), course, [], [att("a1", 10, at(9))])
    assert failed.at_risk(at(10))
    passed = course_progress(
        _enrollment(), course, [], [att("a1", 10, at(9)), att("a1", 85, at(11))]
    )
    assert not passed.at_risk(at(10))


# --- specializations -----------------------------------------------------------------------


def test_a_specialization_completes_when_every_course_does() -> None:
    c1 = _course()
    c2 = Course.create("org", course_id="C2", slug="c-two", name="C2", now=DAY)
    spec = Specialization.create("org", slug="s", name="S", courses=[c1, c2], now=DAY)
    enrollment = Enrollment.create(
        "org", "prog", "ana", kind=EntryKind.SPECIALIZATION, target_id=spec.id, contract_id="k",
        now=DAY,
    )  # fmt: skip
    done1 = EnrollmentProgress("e1", items_completed=4, items_total=4, completed_at=at(10))
    done2 = EnrollmentProgress("e2", completed_at=at(12), last_activity_at=at(12))
    half = specialization_progress(enrollment, spec, {c1.id: (4, done1), c2.id: (0, None)})
    assert not half.completed
    full = specialization_progress(enrollment, spec, {c1.id: (4, done1), c2.id: (0, done2)})
    assert full.completed_at == at(12)
    assert full.progress == 100.0
    assert full.last_activity_at == at(12)


# --- member status -------------------------------------------------------------------------


def test_inactive_at_exactly_thirty_days_after_the_last_activity() -> None:
    joined = at(9)
    last = joined + timedelta(days=2)
    assert not is_inactive(joined, last, last + timedelta(days=30) - MIN)
    assert is_inactive(joined, last, last + timedelta(days=30))


def test_a_member_without_activity_is_inactive_thirty_days_after_joining() -> None:
    joined = at(9)
    assert not is_inactive(joined, None, joined + timedelta(days=30) - MIN)
    assert is_inactive(joined, None, joined + timedelta(days=30))


def test_someone_who_never_joined_is_not_inactive() -> None:
    assert not is_inactive(None, None, at(9) + timedelta(days=400))


def _member(joined: datetime) -> Membership:
    invited = Membership.invite("org", "prog", "ana", "k", now=joined - timedelta(days=1))
    return invited.accept(joined)


def test_member_status_counts_current_enrollments_and_completions() -> None:
    done = EnrollmentProgress("e1", completed_at=at(9))
    risky = EnrollmentProgress("e2", failing=True)
    status = member_status(_member(at(8)), [done, risky], at(9), at(10))
    assert (status.enrollments, status.completions, status.at_risk) == (2, 1, True)
    assert (status.label, status.flags) == ("1 Completion", "At Risk")
    assert member_status(_member(at(8)), [], None, at(10)).label == "No Enrollment"
    assert member_status(_member(at(8)), [risky], None, at(10)).label == "1 Enrollment"
    idle = member_status(_member(at(8)), [risky], None, at(8) + timedelta(days=30))
    assert idle.flags == "Inactive, At Risk"
    assert member_status(_member(at(8)), [done], at(9), at(10)).flags == ""


def test_only_a_member_can_be_inactive() -> None:
    later = at(8) + timedelta(days=90)
    member = _member(at(8))
    assert member_status(member, [], None, later).inactive
    assert not member_status(member.remove(at(9)), [], None, later).inactive


def test_a_verified_completion_needs_a_completion_and_a_verified_learner() -> None:
    learner = Learner.create("org", "Ana", "ana@example.org", now=DAY)
    verified = evolve(learner, identity_verified=True)
    done = EnrollmentProgress("e1", completed_at=at(9))
    assert verified_completion(done, verified)
    assert not verified_completion(done, learner)
    assert not verified_completion(EnrollmentProgress("e2"), verified)


# --- daily buckets (the summary's 28-day change) ----------------------------------------------


def test_sessions_add_up_to_the_learning_seconds() -> None:
    times = [at(9), at(9, 20), at(9, 50), at(11, 30), at(11, 40)]
    assert learning_sessions(times) == [(at(9), 3000.0), (at(11, 30), 600.0)]
    assert learning_sessions([]) == []


def test_a_session_counts_on_the_day_it_starts_and_a_lesson_on_its_last_item() -> None:
    e = _enrollment()
    events = [
        ev("v1", DAY - timedelta(hours=1)),  # before the enrollment: counts nowhere
        ev("v1", at(23, 30)),  # 03-02 23:30 \ one 40-minute session starting on 03-02
        ev("r1", at(24, 10)),  # 03-03 00:10 / L1's last item: L1 is taken on 03-03
        ev("q1", at(34)),  # 03-03 10:00 \ a 30-minute session on 03-03
        ev("p1", at(34, 30), EventKind.STARTED),  # 03-03 10:30 /
        ev("p1", at(81)),  # 03-05 09:00: L2's last item, so L2 is taken on 03-05 \ 60 minutes
        ev("q1", at(82)),  # 03-05 10:00 (exactly 60 idle minutes): the same session  /
    ]
    days = daily_activity(e, _course(), events)
    d = DAY.date()
    assert days == (
        DailyActivity(e.id, d, 2400.0, 0),
        DailyActivity(e.id, d + timedelta(days=1), 1800.0, 1),
        DailyActivity(e.id, d + timedelta(days=3), 3600.0, 1),
    )
    figures = course_progress(e, _course(), events, [])
    assert sum(x.learning_seconds for x in days) == figures.learning_seconds == 7800.0
    assert sum(x.lessons_taken for x in days) == figures.lessons_taken == 2


# --- imported figures (history from an admin export) -------------------------------------------


def test_without_imported_figures_the_recorded_ones_stand() -> None:
    recorded = EnrollmentProgress("e1", items_completed=2, items_total=4, progress=50.0)
    assert with_imported(recorded, None) is recorded


def test_imported_figures_combine_with_later_activity() -> None:
    day = datetime(2020, 1, 1, tzinfo=UTC)
    imported = ImportedFigures.create(
        "e1",
        progress=60.0,
        learning_seconds=3600.0,
        last_activity_at=day,
        completed_at=day - timedelta(days=1),
        grade=70.0,
    )
    recorded = EnrollmentProgress(
        "e1",
        items_completed=1,
        items_total=4,
        progress=25.0,
        learning_seconds=1800.0,
        last_activity_at=day + timedelta(days=3),
        completed_at=day + timedelta(days=2),
        grade=90.0,
        failing=True,
        open_due_at=day,
        attempts=1,
    )
    combined = with_imported(recorded, imported)
    assert combined.progress == 60.0  # the larger
    assert combined.learning_hours == 1.5  # the sum
    assert combined.last_activity_at == day + timedelta(days=3)  # the later
    assert combined.completed_at == day - timedelta(days=1)  # the export's completion
    assert combined.grade == 90.0  # the larger
    assert (combined.failing, combined.open_due_at) == (False, None)  # completed: no risk
    assert (combined.items_completed, combined.attempts) == (1, 1)  # recorded only
    not_done = with_imported(recorded, evolve(imported, completed_at=None))
    assert not_done.completed_at == day + timedelta(days=2)  # the recorded completion
    assert not_done.failing  # not completed: the recorded risk stands


def test_an_imported_enrollment_without_activity_shows_the_export() -> None:
    imported = ImportedFigures.create("e1", progress=12.82, learning_seconds=0.29 * 3600)
    combined = with_imported(EnrollmentProgress("e1"), imported)
    assert (combined.progress, combined.completed, combined.grade) == (12.82, False, None)
    assert f"{combined.learning_hours:.2f}" == "0.29"


@pytest.mark.parametrize(
    ("field", "value"),
    [("progress", 100.5), ("progress", -1.0), ("grade", 101.0), ("learning_seconds", -1.0)],
)
def test_imported_figures_out_of_range_are_refused(field: str, value: float) -> None:
    with pytest.raises(ValidationError) as caught:
        ImportedFigures.create("e1", **{field: value})  # type: ignore[arg-type]
    assert caught.value.field == field
