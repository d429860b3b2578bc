"""LearningService: enrollment rules, activity ingestion, derived figures, members list, ratings."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta

import pytest

import learnprog
from learnprog.clock import FixedClock
from learnprog.errors import (
    ConflictError,
    EnrollmentLimitError,
    LicenseLimitError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from learnprog.mail.memory import InMemoryMailer
from learnprog.model import (
    Assessment,
    AssessmentAttempt,
    CollectionEntry,
    Course,
    CourseItem,
    EventKind,
    LearnerActor,
    LearningEvent,
)
from tests.conftest import START
from tests.services.world import SYSTEM, World

MIN = timedelta(minutes=1)
DAY = timedelta(days=1)


class Learning(World):
    """The invitation world plus a two-course catalog, a specialization and a member."""

    def __init__(self, lp: learnprog.Learnprog, **options: object) -> None:
        super().__init__(lp, **options)  # type: ignore[arg-type]
        self.python = self.add_course("PY1", "python-basics", due=None)
        self.sql = self.add_course("SQL1", "sql-basics", due=START + 10 * DAY)
        self.spec = lp.programs.add_specialization(
            self.admin,
            self.org.id,
            slug="data-track",
            name="Data Track",
            course_ids=[self.python.id, self.sql.id],
        )
        self.invite("lia@acme.example", "Lia Learner")
        self.accept("lia@acme.example")
        self.lia = self.learner("lia@acme.example")

    def add_course(self, course_id: str, slug: str, *, due: datetime | None) -> Course:
        items = [
            CourseItem.create("Welcome", kind="video", lesson="Week 1", id="v1"),
            CourseItem.create("Notes", kind="reading", lesson="Week 1", id="r1", position=1),
            CourseItem.create("Quiz", kind="quiz", lesson="Week 2", id="q1", position=2),
        ]
        assessments = [
            Assessment.create("Quiz", id="a1", weight=1, pass_mark=80, item_id="q1", due_at=due),
            Assessment.create("Project", id="a2", weight=3, pass_mark=60),
        ]
        return self.lp.programs.add_course(
            self.admin,
            self.org.id,
            course_id=course_id,
            slug=slug,
            name=f"Course {course_id}",
            partner="Acme University",
            items=items,
            assessments=assessments,
        )

    def enroll(self, who: LearnerActor, target: str) -> learnprog.model.Enrollment:
        return self.lp.learning.enroll(who, self.program.id, target)

    def member(self, email: str, name: str = "Bo Learner") -> LearnerActor:
        self.invite(email, name)
        self.accept(email)
        return self.learner(email)


def _event(
    w: Learning, event_id: str, item: str, at: datetime, *, course: Course | None = None
) -> LearningEvent:
    course = course or w.python
    return LearningEvent(event_id, w.lia.learner_id, course.id, item, EventKind.COMPLETED, at)


def _attempt(
    w: Learning, attempt_id: str, assessment: str, grade: float, at: datetime, course: Course
) -> AssessmentAttempt:
    return AssessmentAttempt(attempt_id, w.lia.learner_id, course.id, assessment, grade, at)


def _ingest(
    w: Learning,
    events: list[LearningEvent] | None = None,
    attempts: list[AssessmentAttempt] | None = None,
) -> learnprog.services.learning.IngestResult:
    return w.lp.learning.ingest(SYSTEM, w.org.id, events=events or [], attempts=attempts or [])


# --- enrollment ----------------------------------------------------------------------------


def test_a_member_enrolls_and_is_welcomed(lp: learnprog.Learnprog, mailer: InMemoryMailer) -> None:
    w = Learning(lp)
    enrollment = lp.learning.enroll(w.lia, w.program.id, w.python.id)
    assert enrollment.is_current
    assert enrollment.source_collection_id is None
    assert enrollment.enrolled_at == START
    lp.mail.dispatch(SYSTEM)
    welcome = [m for m in mailer.sent if m.template == "course_welcome"]
    assert [m.subject for m in welcome] == ["Welcome to Course PY1"]
    spec = lp.learning.enroll(w.lia, w.program.id, w.spec.id)
    assert spec.kind.value == "specialization"
    lp.mail.dispatch(SYSTEM)
    assert any(m.template == "specialization_welcome" for m in mailer.sent)


def test_invited_and_removed_learners_cannot_enroll(lp: learnprog.Learnprog) -> None:
    w = Learning(lp)
    w.invite("ivy@acme.example", "Ivy")
    with pytest.raises(PermissionDeniedError, match="INVITED"):
        w.enroll(w.learner("ivy@acme.example"), w.python.id)
    bo = w.member("bo@acme.example")
    (membership,) = [
        m
        for learner, m in lp.invitations.members(w.admin, w.program.id)
        if learner.id == bo.learner_id
    ]
    lp.invitations.remove_member(w.admin, membership.id)
    with pytest.raises(PermissionDeniedError, match="DELETED_MEMBER"):
        w.enroll(bo, w.python.id)


def test_admins_do_not_enroll_for_learners(lp: learnprog.Learnprog) -> None:
    w = Learning(lp)
    with pytest.raises(PermissionDeniedError):
        lp.learning.enroll(w.admin, w.program.id, w.python.id)


def test_enrolling_twice_is_a_conflict_and_unknown_targets_are_not_found(
    lp: learnprog.Learnprog,
) -> None:
    w = Learning(lp)
    w.enroll(w.lia, w.python.id)
    with pytest.raises(ConflictError):
        w.enroll(w.lia, w.python.id)
    with pytest.raises(NotFoundError):
        w.enroll(w.lia, "no-such-course")


def test_the_course_enrollment_limit_counts_current_course_enrollments(
    lp: learnprog.Learnprog,
) -> None:
    w = Learning(lp)
    lp.programs.update_program(w.admin, w.program.id, course_enrollment_limit=1)
    first = w.enroll(w.lia, w.python.id)
    with pytest.raises(EnrollmentLimitError):
        w.enroll(w.lia, w.sql.id)
    w.enroll(w.lia, w.spec.id)  # a specialization is not a course enrollment
    lp.learning.unenroll(w.lia, first.id)
    assert w.enroll(w.lia, w.sql.id).is_current


def test_an_enrollments_contract_uses_one_per_course_enrollment(lp: learnprog.Learnprog) -> None:
    w = Learning(lp, kind="enrollments", licenses=2)
    w.enroll(w.lia, w.python.id)
    w.enroll(w.lia, w.spec.id)
    assert w.used() == 1
    first_sql = w.enroll(w.lia, w.sql.id)
    assert w.used() == 2
    lp.learning.unenroll(w.lia, first_sql.id)
    assert w.used() == 2  # an enrollment used stays used
    with pytest.raises(LicenseLimitError):
        w.enroll(w.lia, w.sql.id)
    assert w.used() == 2


def test_concurrent_enrollments_never_overdraw_an_enrollments_contract(
    lp: learnprog.Learnprog,
) -> None:
    w = Learning(lp, kind="enrollments", licenses=3)
    people = [w.member(f"p{i}@acme.example", f"P {i}") for i in range(5)]
    outcomes: list[str] = []
    barrier = threading.Barrier(len(people))

    def enroll(who: LearnerActor) -> None:
        barrier.wait()
        try:
            w.enroll(who, w.python.id)
            outcomes.append("ok")
        except LicenseLimitError:
            outcomes.append("limit")

    threads = [threading.Thread(target=enroll, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["limit"] * 2 + ["ok"] * 3
    assert w.used() == 3


def test_a_removed_program_takes_no_enrollment(lp: learnprog.Learnprog) -> None:
    w = Learning(lp)
    lp.invitations.remove_program(w.admin, w.program.id, confirm="academy")
    with pytest.raises(PermissionDeniedError):  # the membership is DELETED_MEMBER now
        w.enroll(w.lia, w.python.id)


# --- activity and derived figures ----------------------------------------------------------


def test_ingestion_turns_activity_into_figures(lp: learnprog.Learnprog, clock: FixedClock) -> None:
    w = Learning(lp)
    enrollment = w.enroll(w.lia, w.python.id)
    clock.advance(30 * DAY)  # the activity below is in the past
    at = START + DAY
    result = _ingest(
        w,
        events=[
            _event(w, "e1", "v1", at),
            _event(w, "e2", "r1", at + 20 * MIN),
            _event(w, "e3", "q1", at + 50 * MIN),
        ],
        attempts=[
            _attempt(w, "t1", "a1", 90, at + 50 * MIN, w.python),
            _attempt(w, "t2", "a2", 70, at + 2 * DAY, w.python),
        ],
    )
    assert (result.events_added, result.attempts_added, result.duplicates) == (3, 2, 0)
    assert result.rejected == ()
    figures = lp.learning.progress(w.admin, enrollment.id)
    assert figures.progress == 100.0
    assert figures.lessons_taken == 2
    assert figures.learning_hours == pytest.approx(50 / 60)
    assert figures.completed_at == at + 2 * DAY
    assert figures.grade == pytest.approx((90 + 3 * 70) / 4)
    assert figures.last_activity_at == at + 2 * DAY
    assert lp.learning.progress(w.lia, enrollment.id) == figures


def test_events_and_attempts_of_one_enrollment_update_it_once(lp: learnprog.Learnprog) -> None:
    w = Learning(lp)
    w.enroll(w.lia, w.python.id)
    result = _ingest(
        w,
        events=[_event(w, "e1", "v1", START + MIN)],
        attempts=[_attempt(w, "t1", "a1", 90, START + 2 * MIN, w.python)],
    )
    assert result.enrollments_updated == 1
    assert result.outside_enrollments == 0


def test_activity_outside_every_enrollment_window_is_counted(lp: learnprog.Learnprog) -> None:
    w = Learning(lp)
    enrollment = w.enroll(w.lia, w.python.id)  # enrolled at START
    result = _ingest(
        w,
        events=[
            _event(w, "before", "v1", START - DAY),
            _event(w, "inside", "v1", START + MIN),
            _event(w, "no-enrollment", "v1", START + MIN, course=w.sql),
        ],
    )
    assert result.events_added == 3
    assert result.outside_enrollments == 2
    assert result.enrollments_updated == 1
    assert lp.learning.progress(w.admin, enrollment.id).last_activity_at == START + MIN


def test_a_batch_sent_twice_counts_once(lp: learnprog.Learnprog) -> None:
    w = Learning(lp)
    enrollment = w.enroll(w.lia, w.python.id)
    events = [_event(w, f"e{i}", "v1", START + i * MIN) for i in range(3)]
    _ingest(w, events=events)
    again = _ingest(w, events=[*events, events[0]])
    assert (again.events_added, again.duplicates) == (0, 4)
    assert lp.learning.progress(w.admin, enrollment.id).learning_seconds == 120.0


def test_out_of_order_batches_give_the_same_figures(
    lp: learnprog.Learnprog, clock: FixedClock
) -> None:
    w = Learning(lp)
    enrollment = w.enroll(w.lia, w.python.id)
    clock.advance(30 * DAY)  # the activity below is in the past
    times = [START + DAY + m * MIN for m in (0, 20, 50, 150, 160)]
    events = [_event(w, f"e{i}", ("v1", "r1", "q1")[i % 3], t) for i, t in enumerate(times)]
    random.Random(7).shuffle(events)
    for event in events:
        _ingest(w, events=[event])
    figures = lp.learning.progress(w.admin, enrollment.id)
    assert figures.learning_hours == pytest.approx(1.0)  # 50 + 10 minutes
    assert figures.last_activity_at == times[-1]


def test_bad_records_are_reported_and_the_good_ones_kept(lp: learnprog.Learnprog) -> None:
    w = Learning(lp)
    w.enroll(w.lia, w.python.id)
    good = _event(w, "ok", "v1", START)
    stranger = LearningEvent("x1", "nobody", w.python.id, "v1", EventKind.STARTED, START)
    bad_item = _event(w, "x2", "zz", START)
    bad_course = LearningEvent("x3", w.lia.learner_id, "nope", "v1", EventKind.STARTED, START)
    bad_assessment = _attempt(w, "x4", "zz", 50, START, w.python)
    result = _ingest(
        w,
        events=[stranger, good, bad_item, bad_course],
        attempts=[bad_assessment],
    )
    assert result.events_added == 1
    reasons = {(r.source, r.index, r.record_id): r.reason for r in result.rejected}
    assert set(reasons) == {
        ("events", 0, "x1"),
        ("events", 2, "x2"),
        ("events", 3, "x3"),
        ("attempts", 0, "x4"),
    }
    assert "not in the organization" in reasons[("events", 0, "x1")]
    assert "item 'zz'" in reasons[("events", 2, "x2")]
    assert "course 'python-basics'" in reasons[("events", 2, "x2")]  # the slug, not only an ID


def test_records_with_bad_ids_are_refused_before_any_query_on_every_backend(
    lp_any: learnprog.Learnprog, clock: FixedClock
) -> None:
    w = Learning(lp_any)
    enrollment = w.enroll(w.lia, w.python.id)
    clock.advance(DAY)
    lia, py = w.lia.learner_id, w.python.id
    bad_events = [
        _event(w, "e-ok-1", "v1", START + MIN),
        _event(w, "e\ud800", "v1", START),  # a lone surrogate: not encodable for a driver
        _event(w, "e\x00nul", "v1", START),  # NUL: PostgreSQL refuses it in text
        _event(w, " ", "v1", START),
        _event(w, "e" * 65, "v1", START),
        LearningEvent("e-learner", "l\ud800", py, "v1", EventKind.STARTED, START),
        LearningEvent("e-course", lia, "c\x00", "v1", EventKind.STARTED, START),
        LearningEvent("e-item", lia, py, "v1\t", EventKind.STARTED, START),
        _event(w, "e-ok-2", "r1", START + 2 * MIN),
    ]
    bad_attempts = [
        AssessmentAttempt("t\x1f", lia, py, "a1", 90.0, START),
        AssessmentAttempt("t-assessment", lia, py, "a2\ud800", 90.0, START),
        _attempt(w, "t-ok", "a1", 90.0, START + MIN, w.python),
    ]
    result = _ingest(w, events=bad_events, attempts=bad_attempts)
    assert (result.events_added, result.attempts_added) == (2, 1)
    refused = {(r.source, r.index): (r.record_id, r.field) for r in result.rejected}
    assert refused == {
        ("events", 1): ("e\ud800", "id"),
        ("events", 2): ("e\x00nul", "id"),
        ("events", 3): (" ", "id"),
        ("events", 4): ("e" * 65, "id"),
        ("events", 5): ("e-learner", "learner_id"),
        ("events", 6): ("e-course", "course_id"),
        ("events", 7): ("e-item", "item_id"),
        ("attempts", 0): ("t\x1f", "id"),
        ("attempts", 1): ("t-assessment", "assessment_id"),
    }
    assert all(r.reason.startswith(f"field {r.field!r}: ") for r in result.rejected)
    figures = lp_any.learning.progress(w.admin, enrollment.id)
    assert figures.last_activity_at == START + 2 * MIN  # the good records of the batch counted
    again = _ingest(w, events=bad_events, attempts=bad_attempts)  # nothing bad was stored
    assert (again.events_added, again.attempts_added, again.duplicates) == (0, 0, 3)
    assert len(again.rejected) == len(result.rejected)


def test_a_re_enrollment_starts_fresh(lp: learnprog.Learnprog, clock: FixedClock) -> None:
    w = Learning(lp)
    first = w.enroll(w.lia, w.python.id)
    _ingest(w, attempts=[_attempt(w, "t1", "a1", 100, START + MIN, w.python)])
    clock.advance(DAY)
    lp.learning.unenroll(w.lia, first.id)
    clock.advance(DAY)
    second = w.enroll(w.lia, w.python.id)
    _ingest(w, events=[_event(w, "e1", "v1", START + 3 * DAY)])
    old = lp.learning.progress(w.admin, first.id)
    new = lp.learning.progress(w.admin, second.id)
    assert (old.attempts, old.items_completed) == (1, 0)
    assert (new.attempts, new.items_completed, new.grade) == (0, 1, 0.0)
    every = lp.learning.enrollments(w.admin, w.program.id)
    assert [e.id for e in every] == [first.id, second.id]  # total enrollments count both


def test_a_specialization_completes_with_its_last_course(
    lp: learnprog.Learnprog, clock: FixedClock
) -> None:
    w = Learning(lp)
    spec = w.enroll(w.lia, w.spec.id)
    w.enroll(w.lia, w.python.id)
    w.enroll(w.lia, w.sql.id)
    clock.advance(30 * DAY)  # the activity below is in the past
    passes = [
        _attempt(w, "p1", "a1", 95, START + DAY, w.python),
        _attempt(w, "p2", "a2", 95, START + 2 * DAY, w.python),
        _attempt(w, "s1", "a1", 95, START + 3 * DAY, w.sql),
    ]
    _ingest(w, attempts=passes)
    assert not lp.learning.progress(w.admin, spec.id).completed
    _ingest(w, attempts=[_attempt(w, "s2", "a2", 61, START + 4 * DAY, w.sql)])
    figures = lp.learning.progress(w.admin, spec.id)
    assert figures.completed_at == START + 4 * DAY
    assert figures.attempts == 4


def test_history_import_records_backdated_enrollments_once(lp: learnprog.Learnprog) -> None:
    w = Learning(lp)
    _ingest(w, attempts=[_attempt(w, "t1", "a1", 88, START - 5 * DAY, w.python)])
    enrolled = START - 10 * DAY
    recorded = lp.learning.record_enrollment(
        SYSTEM, w.program.id, w.lia.learner_id, w.python.id, enrolled_at=enrolled
    )
    assert lp.learning.progress(w.admin, recorded.id).attempts == 1  # earlier activity counts
    again = lp.learning.record_enrollment(
        w.admin, w.program.id, w.lia.learner_id, w.python.id, enrolled_at=enrolled
    )
    assert again == recorded
    assert len(lp.learning.enrollments(w.admin, w.program.id)) == 1
    with pytest.raises(PermissionDeniedError):
        lp.learning.record_enrollment(
            w.lia, w.program.id, w.lia.learner_id, w.sql.id, enrolled_at=enrolled
        )
    with pytest.raises(ValidationError):
        lp.learning.record_enrollment(
            SYSTEM,
            w.program.id,
            w.lia.learner_id,
            w.sql.id,
            enrolled_at=enrolled,
            unenrolled_at=enrolled - DAY,
        )


# --- members list --------------------------------------------------------------------------


def test_members_list_reports_status_at_the_clock_now(
    lp: learnprog.Learnprog, clock: FixedClock
) -> None:
    w = Learning(lp)
    w.enroll(w.lia, w.sql.id)  # the SQL quiz is due 10 days after START
    page = lp.learning.members_list(w.admin, w.program.id)
    (row,) = page.rows
    assert row.status.label == "1 Enrollment"
    assert (row.status.inactive, row.status.at_risk) == (False, False)
    clock.advance(10 * DAY + MIN)
    (row,) = lp.learning.members_list(w.admin, w.program.id, status="at_risk").rows
    assert row.learner.full_name == "Lia Learner"
    _ingest(w, attempts=[_attempt(w, "late", "a1", 85, START + 10 * DAY + MIN, w.sql)])
    assert lp.learning.members_list(w.admin, w.program.id, status="at_risk").rows == ()
    clock.advance(30 * DAY)
    assert lp.learning.members_list(w.admin, w.program.id, status="inactive").total == 1


def test_members_list_validates_its_arguments(lp: learnprog.Learnprog) -> None:
    w = Learning(lp)
    with pytest.raises(ValidationError, match="status"):
        lp.learning.members_list(w.admin, w.program.id, status="sleepy")
    with pytest.raises(ValidationError, match="limit"):
        lp.learning.members_list(w.admin, w.program.id, limit=0)
    with pytest.raises(PermissionDeniedError):
        lp.learning.members_list(w.lia, w.program.id)


# --- ratings -------------------------------------------------------------------------------


def test_ratings_average_per_course_and_program(lp: learnprog.Learnprog) -> None:
    w = Learning(lp)
    bo = w.member("bo@acme.example")
    with pytest.raises(NotFoundError, match="in course 'python-basics' not found"):
        lp.learning.rate_course(w.lia, w.program.id, w.python.id, rating=5)  # not enrolled
    for who in (w.lia, bo):
        w.enroll(who, w.python.id)
    w.enroll(w.lia, w.sql.id)
    lp.learning.rate_course(w.lia, w.program.id, w.python.id, rating=5, recommend=9)
    lp.learning.rate_course(bo, w.program.id, w.python.id, rating=2, comment="Too fast")
    lp.learning.rate_course(w.lia, w.program.id, w.sql.id, rating=4)
    summary = lp.learning.course_rating(w.admin, w.program.id, course_id=w.python.id)
    assert (summary.average, summary.count) == (3.5, 2)
    assert lp.learning.course_rating(w.admin, w.program.id).average == pytest.approx(11 / 3)
    with pytest.raises(ValidationError):
        lp.learning.rate_course(w.lia, w.program.id, w.sql.id, rating=6)


def test_the_source_collection_is_recorded_and_checked(lp: learnprog.Learnprog) -> None:
    w = Learning(lp)
    starters = lp.curriculum.create_collection(w.admin, w.program.id, "Starters")
    lp.curriculum.add_entries(
        w.admin, w.program.id, [starters.id], [CollectionEntry.course(w.python.id)]
    )
    with pytest.raises(ValidationError, match="source collection"):
        lp.learning.enroll(w.lia, w.program.id, w.sql.id, source_collection_id=starters.id)
    with pytest.raises(NotFoundError):
        lp.learning.enroll(w.lia, w.program.id, w.sql.id, source_collection_id="nope")
    found = lp.learning.enroll(w.lia, w.program.id, w.python.id, source_collection_id=starters.id)
    assert found.source_collection_id == starters.id


def test_the_program_as_a_learner_sees_it(lp: learnprog.Learnprog) -> None:
    w = Learning(lp)
    lp.programs.update_program(w.admin, w.program.id, course_enrollment_limit=1)
    starters = lp.curriculum.create_collection(w.admin, w.program.id, "Starters")
    entries = [CollectionEntry.course(w.python.id), CollectionEntry.course(w.sql.id)]
    lp.curriculum.add_entries(w.admin, w.program.id, [starters.id], entries)
    more = lp.curriculum.create_collection(w.admin, w.program.id, "More")
    lp.curriculum.add_entries(
        w.admin, w.program.id, [more.id], [CollectionEntry.specialization(w.spec.id)]
    )
    view = lp.learning.program_for_learner(w.lia, w.program.id)
    assert [c.name for c in view.preview.collections] == ["Starters", "More"]
    assert view.course_enrollments_left == 1
    assert all(o.may_enroll for o in view.options)
    w.enroll(w.lia, w.python.id)
    view = lp.learning.program_for_learner(w.admin, w.program.id, learner_id=w.lia.learner_id)
    reasons = {o.entry.name: o.reason for o in view.options}
    assert reasons == {
        "Course PY1": "enrolled",
        "Course SQL1": "course enrollment limit reached",
        "Data Track": None,
    }
    w.invite("ivy@acme.example", "Ivy")
    ivy = w.learner("ivy@acme.example")
    assert {o.reason for o in lp.learning.program_for_learner(ivy, w.program.id).options} == {
        "not a member"
    }
    with pytest.raises(PermissionDeniedError):
        lp.learning.program_for_learner(ivy, w.program.id, learner_id=w.lia.learner_id)


def test_only_courses_are_rated_and_record_ids_are_checked(lp: learnprog.Learnprog) -> None:
    w = Learning(lp)
    w.enroll(w.lia, w.spec.id)
    with pytest.raises(NotFoundError, match="course"):
        lp.learning.rate_course(w.lia, w.program.id, w.spec.id, rating=5)
    bad_ids = [
        LearningEvent(i, w.lia.learner_id, w.python.id, "v1", EventKind.STARTED, START)
        for i in ("", "a\x00b", "x" * 65)
    ]
    result = _ingest(w, events=bad_ids)
    assert (result.events_added, len(result.rejected)) == (0, 3)
    with pytest.raises(ValidationError, match="on_progress"):
        lp.learning.ingest(SYSTEM, w.org.id, events=[], on_progress="x")  # type: ignore[arg-type]


def test_the_learner_view_knows_the_contract(lp: learnprog.Learnprog, clock: FixedClock) -> None:
    w = Learning(lp, kind="enrollments", licenses=1)
    starters = lp.curriculum.create_collection(w.admin, w.program.id, "Starters")
    entries = [CollectionEntry.course(w.python.id), CollectionEntry.course(w.sql.id)]
    lp.curriculum.add_entries(w.admin, w.program.id, [starters.id], entries)
    w.enroll(w.lia, w.python.id)  # the contract's only enrollment
    reasons = {
        o.entry.name: o.reason for o in lp.learning.program_for_learner(w.lia, w.program.id).options
    }
    assert reasons == {"Course PY1": "enrolled", "Course SQL1": "no enrollment left"}
    clock.advance(DAY * 400)  # past the contract's end
    reasons = {
        o.entry.name: o.reason for o in lp.learning.program_for_learner(w.lia, w.program.id).options
    }
    assert reasons["Course SQL1"] == "contract not running"


def test_activity_dated_more_than_a_day_ahead_of_now_is_refused(
    lp: learnprog.Learnprog, clock: FixedClock
) -> None:
    w = Learning(lp)
    enrollment = w.enroll(w.lia, w.python.id)
    near = _event(w, "near", "v1", START + DAY)  # within the clock skew allowed
    far = _event(w, "far", "r1", START + DAY + MIN)
    year_9999 = _attempt(w, "t9", "a1", 90, datetime(9999, 1, 1, tzinfo=UTC), w.python)
    result = _ingest(w, events=[near, far], attempts=[year_9999])
    assert (result.events_added, result.attempts_added) == (1, 0)
    reasons = {r.record_id: r.reason for r in result.rejected}
    assert set(reasons) == {"far", "t9"}
    assert reasons["far"].startswith("field 'at': ")
    assert "in the future" in reasons["far"]
    assert reasons["t9"].startswith("field 'submitted_at': 9999-01-01")
    assert lp.learning.progress(w.admin, enrollment.id).last_activity_at == START + DAY
    clock.advance(2 * DAY)  # the same records, once their time has come, are taken
    later = _ingest(w, events=[far], attempts=[])
    assert (later.events_added, later.rejected) == (1, ())
