"""The counting rules: progress, learning hours, completion, grades and member status.

Every figure learnprog reports about learning is defined here, once, with its unit and its
source; messaging audiences, reports and skills reuse these definitions. The functions are pure:
they take the records of one enrollment (or one member) and "now", and return values.

Counting rules (guide, "Your Admin Home Page", the usage report columns and the glossary):

* **Total enrollments** count every enrollment ever made, current or not (the guide's summary:
  "Total number of times learners have enrolled in a course"). Per-course figures, member status
  and report rows use the *current* enrollment only; a re-enrollment starts fresh.
* An event or attempt belongs to the enrollment whose window holds its time:
  ``enrolled_at <= t`` and, once unenrolled, ``t < unenrolled_at``. Records outside every window
  are kept but count toward nothing.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import TypeVar

from attrs import evolve, field, frozen

from learnprog.errors import ValidationError
from learnprog.model._rules import MAX_INT, flag, single_line, to_optional_utc, whole_number
from learnprog.model._typecheck import checked
from learnprog.model.activity import AssessmentAttempt, Enrollment, EventKind, LearningEvent
from learnprog.model.catalog import Assessment, Course, Specialization
from learnprog.model.learner import Learner, Membership, MemberState, search_term

SESSION_IDLE_LIMIT = timedelta(minutes=60)
"""A learning session ends when the learner is idle for *longer* than this.

Source: the usage report's "Estimated Learning Hours": "As long as a user has not been idle for
longer than 60 minutes, the session is a continuous session". A gap of exactly 60 minutes keeps
the session going; 60 minutes and a microsecond ends it.
"""

INACTIVE_AFTER = timedelta(days=30)
"""A member is inactive after this long without activity (guide, "Members": "Inactive = Member
hasn't been active in a course in this program for at least 30 days"). Exactly 30 days is
inactive."""


def learning_seconds(
    times: Iterable[datetime], *, idle_limit: timedelta = SESSION_IDLE_LIMIT
) -> float:
    """Return the estimated learning time, in seconds, of a set of activity times.

    Definition (usage report, "Estimated Learning Hours"): the sum of continuous sessions. The
    times are sorted; consecutive times at most ``idle_limit`` apart belong to one session, whose
    length is its last time minus its first. A lone event is a session of zero length. Example:
    09:00, 09:20, 09:50, 11:30, 11:40 are two sessions, 50 + 10 minutes = 3600 seconds.

    Args:
        times: aware datetimes, in any order; duplicates count once.
        idle_limit: the longest idle gap inside a session (default 60 minutes, inclusive).

    Returns:
        Seconds, a float of 0 or more.
    """
    ordered = sorted(set(times))
    total = 0.0
    if not ordered:
        return total
    session_start = previous = ordered[0]
    for t in ordered[1:]:
        if t - previous > idle_limit:
            total += (previous - session_start).total_seconds()
            session_start = t
        previous = t
    total += (previous - session_start).total_seconds()
    return total


def learning_sessions(
    times: Iterable[datetime], *, idle_limit: timedelta = SESSION_IDLE_LIMIT
) -> list[tuple[datetime, float]]:
    """Return the continuous sessions of a set of activity times as ``(start, seconds)``.

    The sessions of :func:`learning_seconds`, in time order: their seconds add up to its total.
    A lone event is a session of zero seconds.

    Args:
        times: aware datetimes, in any order; duplicates count once.
        idle_limit: the longest idle gap inside a session (default 60 minutes, inclusive).
    """
    ordered = sorted(set(times))
    sessions: list[tuple[datetime, float]] = []
    if not ordered:
        return sessions
    session_start = previous = ordered[0]
    for t in ordered[1:]:
        if t - previous > idle_limit:
            sessions.append((session_start, (previous - session_start).total_seconds()))
            session_start = t
        previous = t
    sessions.append((session_start, (previous - session_start).total_seconds()))
    return sessions


def hours(seconds: float) -> float:
    """Return ``seconds`` as hours (a float; reports round to two decimals)."""
    return seconds / 3600.0


def in_window(enrollment: Enrollment, at: datetime) -> bool:
    """True when a record at ``at`` belongs to ``enrollment`` (see the module's counting rules)."""
    if at < enrollment.enrolled_at:
        return False
    return enrollment.unenrolled_at is None or at < enrollment.unenrolled_at


def _percent(part: int, whole: int) -> float:
    return 0.0 if whole == 0 else 100.0 * part / whole


@checked
@frozen
class EnrollmentProgress:
    """The derived figures of one enrollment, kept up to date as activity arrives.

    Attributes:
        enrollment_id: the enrollment.
        items_completed: distinct course items completed in the enrollment.
        items_total: the course's items (for a specialization: of all its courses).
        progress: overall progress, percent 0-100: ``items_completed / items_total``
            (usage report, "Overall Progress"; 0 for a course without items).
        lessons_taken: lessons whose every item is completed (guide, "Lessons taken": a lesson
            is a cohesive unit of content of several items).
        learning_seconds: estimated learning time in seconds (:func:`learning_seconds`).
        last_activity_at: the latest item event or assessment attempt, or ``None`` (usage
            report, "Last Course Activity Time").
        completed_at: when the enrollment was completed (:func:`course_progress`), or ``None``.
        grade: the course grade, percent 0-100, or ``None`` when the course has no required
            graded assessment (usage report, "Course Grades").
        failing: a required graded assessment has attempts, none passing (guide, "At Risk":
            "failed an assessment").
        open_due_at: the earliest due date of a required graded assessment not yet passed, or
            ``None`` (guide, "At Risk": "missed a deadline").
        attempts: assessment attempts counted in the enrollment.
    """

    enrollment_id: str
    items_completed: int = 0
    items_total: int = 0
    progress: float = 0.0
    lessons_taken: int = 0
    learning_seconds: float = 0.0
    last_activity_at: datetime | None = field(default=None, converter=to_optional_utc)
    completed_at: datetime | None = field(default=None, converter=to_optional_utc)
    grade: float | None = None
    failing: bool = False
    open_due_at: datetime | None = field(default=None, converter=to_optional_utc)
    attempts: int = 0

    @property
    def completed(self) -> bool:
        """True once the enrollment is completed (usage report, "Completed": Yes)."""
        return self.completed_at is not None

    @property
    def learning_hours(self) -> float:
        """Estimated learning hours (a float; reports round to two decimals)."""
        return hours(self.learning_seconds)

    def at_risk(self, now: datetime) -> bool:
        """True when the enrollment puts its member at risk at ``now``.

        Guide, "Members": "At Risk = This member has missed a deadline or failed an assessment
        in at least one of the program courses". Here: a required graded assessment whose due
        date is strictly before ``now`` without a passing attempt, or one whose attempts all
        failed. A pass, even late, clears both; a failure later passed is not a risk.
        """
        if self.failing:
            return True
        return self.open_due_at is not None and self.open_due_at < now


def _required(course: Course) -> list[Assessment]:
    return [a for a in course.assessments if a.required and a.graded]


def verified_completion(figures: EnrollmentProgress, learner: Learner) -> bool:
    """True for a completion by a learner who verified their identity.

    The usage report email's "total verified course completions": a subset of completions, so
    never more verified completions than completions, nor completions than enrollments.
    """
    return figures.completed and learner.identity_verified


def course_grade(assessments: Sequence[Assessment], best: Mapping[str, float]) -> float | None:
    """Return the course grade, percent 0-100, or ``None`` without required assessments.

    Definition (usage report, "Course Grades": "Grade calculation of all required assessments and
    assignments"): the weighted mean of the best grade of each required graded assessment, an
    assessment not yet attempted counting 0. Weights are the assessments' weights; where they
    are all 0, every assessment weighs the same.

    Args:
        assessments: the course's required graded assessments.
        best: the best grade (0-100) per assessment ID; missing means not attempted.
    """
    if not assessments:
        return None
    weights = [a.weight for a in assessments]
    if not any(weights):
        weights = [1.0] * len(assessments)
    total = math.fsum(weights)
    score = math.fsum(w * best.get(a.id, 0.0) for w, a in zip(weights, assessments, strict=True))
    return min(100.0, max(0.0, score / total))


_LAYOUTS: dict[int, tuple[Course, dict[str, str], tuple[tuple[str, ...], ...]]] = {}
"""Each course's layout by ``id()``, with the course itself (kept alive, so the ID stays its)."""
_LAYOUTS_KEPT = 256


def _layout(course: Course) -> tuple[dict[str, str], tuple[tuple[str, ...], ...]]:
    """A course's lesson per item ID and its lessons' item IDs, worked out once per course.

    Courses are frozen, so the layout of one course object never changes; an import refreshes
    thousands of enrollments of a few courses of hundreds of items each.
    """
    found = _LAYOUTS.get(id(course))
    if found is not None and found[0] is course:
        return found[1], found[2]
    item_lesson = {i.id: i.lesson for i in course.items}
    lessons: dict[str, list[str]] = {}
    for item in course.items:
        lessons.setdefault(item.lesson, []).append(item.id)
    layout = tuple(tuple(ids) for ids in lessons.values())
    if len(_LAYOUTS) >= _LAYOUTS_KEPT:
        _LAYOUTS.clear()
    _LAYOUTS[id(course)] = (course, item_lesson, layout)
    return item_lesson, layout


def course_progress(
    enrollment: Enrollment,
    course: Course,
    events: Iterable[LearningEvent],
    attempts: Iterable[AssessmentAttempt],
) -> EnrollmentProgress:
    """Compute an enrollment's figures from the learner's records for its course.

    Records outside the enrollment's window (module docstring) and records naming items or
    assessments the course does not have are ignored, so the result does not depend on the order
    records arrived in.

    Completion (glossary, "Completion"; usage report, "Completed": "finished all required
    assessments and assignments"): every required graded assessment has a passing attempt (grade
    at or above its pass mark), whatever the progress; the completion time is the latest of
    those assessments' first passing attempts. A course without required graded assessments is
    completed when every item is completed, at the last of those completions; a course with
    neither items nor such assessments is never completed.

    Args:
        enrollment: a course enrollment.
        course: its course.
        events: the learner's item events in the course (any order, any enrollment).
        attempts: the learner's attempts in the course (any order, any enrollment).

    Returns:
        The figures; see :class:`EnrollmentProgress` for each definition and unit.
    """
    item_lesson, lessons = _layout(course)
    in_events = [e for e in events if e.item_id in item_lesson and in_window(enrollment, e.at)]
    completed_first: dict[str, datetime] = {}
    for e in in_events:
        if e.kind is EventKind.COMPLETED:
            seen = completed_first.get(e.item_id)
            if seen is None or e.at < seen:
                completed_first[e.item_id] = e.at
    lessons_taken = sum(1 for ids in lessons if all(i in completed_first for i in ids))

    assessment_ids = {a.id for a in course.assessments}
    in_attempts = sorted(
        (
            a
            for a in attempts
            if a.assessment_id in assessment_ids and in_window(enrollment, a.submitted_at)
        ),
        key=lambda a: (a.submitted_at, a.id),
    )
    best: dict[str, float] = {}
    first_pass: dict[str, datetime] = {}
    tried: set[str] = set()
    required = _required(course)
    pass_mark = {a.id: a.pass_mark for a in course.assessments}
    for attempt in in_attempts:
        aid = attempt.assessment_id
        tried.add(aid)
        best[aid] = max(best.get(aid, 0.0), attempt.grade)
        if attempt.grade >= pass_mark[aid] and aid not in first_pass:
            first_pass[aid] = attempt.submitted_at

    completed_at: datetime | None = None
    if required:
        if all(a.id in first_pass for a in required):
            completed_at = max(first_pass[a.id] for a in required)
    elif course.items and len(completed_first) == len(course.items):
        completed_at = max(completed_first.values())

    unpassed = [a for a in required if a.id not in first_pass]
    due_dates = [a.due_at for a in unpassed if a.due_at is not None]
    activity = [e.at for e in in_events] + [a.submitted_at for a in in_attempts]
    return EnrollmentProgress(
        enrollment_id=enrollment.id,
        items_completed=len(completed_first),
        items_total=len(course.items),
        progress=_percent(len(completed_first), len(course.items)),
        lessons_taken=lessons_taken,
        learning_seconds=learning_seconds(e.at for e in in_events),
        last_activity_at=max(activity, default=None),
        completed_at=completed_at,
        grade=course_grade(required, best),
        failing=any(a.id in tried for a in unpassed),
        open_due_at=min(due_dates, default=None),
        attempts=len(in_attempts),
    )


@checked
@frozen
class ImportedFigures:
    """An enrollment's figures as an admin export gave them: the history learnprog did not see.

    An enrollment imported from a usage or specialization report carries the export's figures;
    there are no events or attempts behind them, and none are invented. They are kept apart
    from the activity learnprog records, and :func:`with_imported` combines the two each time
    the enrollment's figures are recomputed, so later activity adds to the imported history
    instead of replacing it.

    Attributes:
        enrollment_id: the enrollment.
        progress: the export's "Overall Progress", percent 0-100.
        learning_seconds: the export's "Estimated Learning Hours", in seconds.
        last_activity_at: the export's last activity time, or ``None``.
        completed_at: the export's completion time, or ``None`` when not completed.
        grade: the export's "Course Grades", percent 0-100, or ``None`` when blank.
    """

    enrollment_id: str
    progress: float = 0.0
    learning_seconds: float = 0.0
    last_activity_at: datetime | None = field(default=None, converter=to_optional_utc)
    completed_at: datetime | None = field(default=None, converter=to_optional_utc)
    grade: float | None = None

    @classmethod
    def create(
        cls,
        enrollment_id: str,
        *,
        progress: float = 0.0,
        learning_seconds: float = 0.0,
        last_activity_at: datetime | None = None,
        completed_at: datetime | None = None,
        grade: float | None = None,
    ) -> ImportedFigures:
        """Validate and make imported figures.

        Raises:
            ValidationError: a progress or grade outside 0-100, negative seconds, or a naive
                time (each naming the field).
        """
        made = cls(
            enrollment_id,
            progress,
            learning_seconds,
            last_activity_at,
            completed_at,
            grade,
        )
        if not 0.0 <= made.progress <= 100.0:
            raise ValidationError("a percentage 0-100 is required", field="progress")
        if made.grade is not None and not 0.0 <= made.grade <= 100.0:
            raise ValidationError("a percentage 0-100 is required", field="grade")
        if made.learning_seconds < 0:
            raise ValidationError("seconds are 0 or more", field="learning_seconds")
        return made


def _latest(*times: datetime | None) -> datetime | None:
    return max((t for t in times if t is not None), default=None)


def with_imported(
    figures: EnrollmentProgress, imported: ImportedFigures | None
) -> EnrollmentProgress:
    """Combine an enrollment's recorded figures with its imported history.

    The rule (learnprog's, for history brought from an admin export; the guide defines each
    figure, not how two sources of it meet):

    * progress: the larger of the two, at most 100 (progress never goes back);
    * learning time: the sum (sessions before the import plus sessions after it);
    * last activity: the later of the two;
    * completion: the export's completion time when it has one (what was completed stays
      completed, at the time the export gives, even where the catalog's version of a
      specialization holds other courses), else the recorded one; a completed import also
      clears "failing" and the open due date, as a completion does;
    * grade: the larger of the two, ``None`` only when both are;
    * items, lessons and attempts: the recorded ones (the export does not give them).

    Without imported figures the recorded figures are returned unchanged.
    """
    if imported is None:
        return figures
    grades = [g for g in (figures.grade, imported.grade) if g is not None]
    completed = imported.completed_at is not None
    return evolve(
        figures,
        progress=min(100.0, max(figures.progress, imported.progress)),
        learning_seconds=figures.learning_seconds + imported.learning_seconds,
        last_activity_at=_latest(figures.last_activity_at, imported.last_activity_at),
        completed_at=imported.completed_at or figures.completed_at,
        grade=max(grades, default=None),
        failing=False if completed else figures.failing,
        open_due_at=None if completed else figures.open_due_at,
    )


@checked
@frozen
class DailyActivity:
    """One course enrollment's learning on one UTC day: the buckets behind the 28-day change.

    The admin home page's summary shows learning hours and lessons taken "in the past 28 days"
    (guide, "Your Admin Home Page", "Accessing Email Reports"); the per-enrollment totals of
    :class:`EnrollmentProgress` cannot answer that, so ingestion also keeps these buckets
    (:func:`daily_activity`). Their sums over an enrollment equal its totals.

    Attributes:
        enrollment_id: the course enrollment.
        day: the UTC calendar day.
        learning_seconds: the seconds of the sessions that *start* on ``day`` (a session that
            runs past midnight counts wholly on the day it starts).
        lessons_taken: the lessons whose *last* item was completed on ``day`` (each item's
            first completion in the enrollment counts; the lesson is taken when the last of
            them is).
    """

    enrollment_id: str
    day: date
    learning_seconds: float = 0.0
    lessons_taken: int = 0


def daily_activity(
    enrollment: Enrollment, course: Course, events: Iterable[LearningEvent]
) -> tuple[DailyActivity, ...]:
    """Split a course enrollment's learning hours and lessons taken by UTC day.

    Uses exactly the records :func:`course_progress` counts (the enrollment's window, the
    course's items), so the days' seconds add up to ``learning_seconds`` and their lessons to
    ``lessons_taken``. Days with neither a session nor a lesson are left out; a day whose only
    session is a lone event (zero seconds) is kept.

    Args:
        enrollment: a course enrollment.
        course: its course.
        events: the learner's item events in the course (any order, any enrollment).

    Returns:
        The enrollment's days, in day order.
    """
    item_lesson, lessons = _layout(course)
    in_events = [e for e in events if e.item_id in item_lesson and in_window(enrollment, e.at)]
    seconds: dict[date, float] = {}
    for start, length in learning_sessions(e.at for e in in_events):
        day = start.date()
        seconds[day] = seconds.get(day, 0.0) + length
    completed_first: dict[str, datetime] = {}
    for e in in_events:
        if e.kind is EventKind.COMPLETED:
            seen = completed_first.get(e.item_id)
            if seen is None or e.at < seen:
                completed_first[e.item_id] = e.at
    taken: dict[date, int] = {}
    for ids in lessons:
        if all(i in completed_first for i in ids):
            day = max(completed_first[i] for i in ids).date()
            taken[day] = taken.get(day, 0) + 1
    return tuple(
        DailyActivity(enrollment.id, day, seconds.get(day, 0.0), taken.get(day, 0))
        for day in sorted(seconds.keys() | taken.keys())
    )


def specialization_progress(
    enrollment: Enrollment,
    specialization: Specialization,
    courses: Mapping[str, tuple[int, EnrollmentProgress | None]],
) -> EnrollmentProgress:
    """Compute a specialization enrollment's figures from its courses' current enrollments.

    Definitions (specialization report): completed when every course of the specialization is
    completed in a current enrollment, at the latest of those completion times ("the date and
    time when the user finished all courses in the specialization"); last activity, learning
    time, items, lessons and attempts are those of its courses added up; progress is items
    completed over all its courses' items; no grade.

    Args:
        enrollment: the specialization enrollment.
        specialization: its specialization.
        courses: per course record ID of the specialization, the course's item count and the
            learner's current enrollment figures in it (``None`` when not enrolled).
    """
    figures = [courses.get(cid, (0, None)) for cid in specialization.course_ids]
    items_total = sum(n for n, _ in figures)
    done = [p for _, p in figures if p is not None]
    items_completed = sum(p.items_completed for p in done)
    completions = [p.completed_at for p in done if p.completed_at is not None]
    completed_at = max(completions) if len(completions) == len(specialization.course_ids) else None
    return EnrollmentProgress(
        enrollment_id=enrollment.id,
        items_completed=items_completed,
        items_total=items_total,
        progress=_percent(items_completed, items_total),
        lessons_taken=sum(p.lessons_taken for p in done),
        learning_seconds=math.fsum(p.learning_seconds for p in done),
        last_activity_at=max(
            (p.last_activity_at for p in done if p.last_activity_at), default=None
        ),
        completed_at=completed_at,
        grade=None,
        failing=any(p.failing for p in done),
        open_due_at=min((p.open_due_at for p in done if p.open_due_at), default=None),
        attempts=sum(p.attempts for p in done),
    )


def is_inactive(
    joined_at: datetime | None,
    last_activity_at: datetime | None,
    now: datetime,
    *,
    after: timedelta = INACTIVE_AFTER,
) -> bool:
    """True when a member counts as inactive at ``now`` (see :data:`INACTIVE_AFTER`).

    The clock starts at the later of the join date and the last activity in the program, so a
    member who never had any activity is inactive 30 days after joining. Someone who never
    joined (INVITED) is not inactive. ``after`` sets another period (the 90 days of the
    "long-term inactive" message audience); exactly ``after`` is inactive.
    """
    marks = [t for t in (joined_at, last_activity_at) if t is not None]
    if joined_at is None or not marks:
        return False
    return now - max(marks) >= after


@checked
@frozen
class MemberStatus:
    """A member's status on a program's Members page (guide, "Members").

    Attributes:
        enrollments: current course enrollments in the program ("# Enrollment(s)").
        completions: those completed ("# Completions").
        last_activity_at: the latest activity in any course of the program (current or past
            enrollments), or ``None``.
        inactive: see :func:`is_inactive`.
        at_risk: a current course enrollment is at risk (:meth:`EnrollmentProgress.at_risk`).
    """

    enrollments: int
    completions: int
    last_activity_at: datetime | None = field(converter=to_optional_utc)
    inactive: bool
    at_risk: bool

    @property
    def label(self) -> str:
        """The guide's wording: "No Enrollment", "2 Enrollments", "1 Completion"...

        Completions are named once there are any, else enrollments.
        """
        if self.enrollments == 0:
            return "No Enrollment"
        if self.completions:
            return f"{self.completions} Completion{'s' if self.completions != 1 else ''}"
        return f"{self.enrollments} Enrollment{'s' if self.enrollments != 1 else ''}"

    @property
    def flags(self) -> str:
        """The guide's markers beside the status (guide, "Members": Inactive, At Risk).

        ``"Inactive"``, ``"At Risk"``, both (``"Inactive, At Risk"``) or ``""``.
        """
        return ", ".join(
            name for name, on in (("Inactive", self.inactive), ("At Risk", self.at_risk)) if on
        )


def member_status(
    membership: Membership,
    current: Sequence[EnrollmentProgress],
    last_activity_at: datetime | None,
    now: datetime,
) -> MemberStatus:
    """Return a member's status in one program.

    Only a MEMBER can be inactive (an INVITED learner has not joined; a DELETED_MEMBER has
    left).

    Args:
        membership: the learner's membership in the program.
        current: the figures of the learner's current course enrollments in the program.
        last_activity_at: the latest activity over every enrollment in the program, past ones
            included.
        now: the clock's now.
    """
    joined = membership.joined_at if membership.state is MemberState.MEMBER else None
    return MemberStatus(
        enrollments=len(current),
        completions=sum(1 for p in current if p.completed),
        last_activity_at=last_activity_at,
        inactive=is_inactive(joined, last_activity_at, now),
        at_risk=any(p.at_risk(now) for p in current),
    )


# --- the members list --------------------------------------------------------------------------


class ActivityStatus(enum.StrEnum):
    """A members list filter (guide, "Members": the status column and the email categories).

    * ``NO_ENROLLMENT``: a MEMBER with no current course enrollment in the program;
    * ``ENROLLED``: one or more current course enrollments, none completed;
    * ``COMPLETED``: at least one current course enrollment completed;
    * ``INACTIVE``: see :func:`is_inactive` (MEMBERs only);
    * ``AT_RISK``: see :meth:`EnrollmentProgress.at_risk`.
    """

    NO_ENROLLMENT = "no_enrollment"
    ENROLLED = "enrolled"
    COMPLETED = "completed"
    INACTIVE = "inactive"
    AT_RISK = "at_risk"

    def matches(self, membership: Membership, status: MemberStatus) -> bool:
        """True when a member with ``status`` passes this filter."""
        if self is ActivityStatus.NO_ENROLLMENT:
            return membership.state is MemberState.MEMBER and status.enrollments == 0
        if self is ActivityStatus.ENROLLED:
            return status.enrollments > 0 and status.completions == 0
        if self is ActivityStatus.COMPLETED:
            return status.completions > 0
        if self is ActivityStatus.INACTIVE:
            return status.inactive
        return status.at_risk


class MemberOrder(enum.StrEnum):
    """The members list's sort keys; ties are broken by name, then learner ID."""

    NAME = "name"
    EMAIL = "email"
    INVITED_AT = "invited_at"
    JOINED_AT = "joined_at"
    LAST_ACTIVITY = "last_activity"
    ENROLLMENTS = "enrollments"


MAX_PAGE = 1000
"""The largest page of the members list."""


@checked
@frozen
class MemberQuery:
    """One page of a program's members list (guide, "Members"): search, filters, order.

    Attributes:
        program_id: the program.
        search: a case-insensitive substring of the name or email (:func:`search_term`), or
            ``None``.
        state: only memberships in this state, or ``None`` for all.
        status: only members passing this :class:`ActivityStatus`, or ``None``.
        contract_id: only memberships drawing on this contract, or ``None``.
        order: the sort key; missing values (never joined, no activity) sort last either way.
        descending: reverse the order.
        offset: rows to skip, 0 or more.
        limit: the page size, 1 to :data:`MAX_PAGE`.
    """

    program_id: str
    search: str | None = None
    state: MemberState | None = None
    status: ActivityStatus | None = None
    contract_id: str | None = None
    order: MemberOrder = MemberOrder.NAME
    descending: bool = False
    offset: int = 0
    limit: int = 50

    @classmethod
    def create(
        cls,
        program_id: str,
        *,
        search: str | None = None,
        state: MemberState | str | None = None,
        status: ActivityStatus | str | None = None,
        contract_id: str | None = None,
        order: MemberOrder | str = MemberOrder.NAME,
        descending: bool = False,
        offset: int = 0,
        limit: int = 50,
    ) -> MemberQuery:
        """Validate and make a query.

        Raises:
            ValidationError: an unknown state, status or order; a search over 200 characters
                or with a line break; an offset below 0; a limit outside 1-1000.
        """
        term = None
        if search is not None:
            term = search_term(single_line(search, field="search")) or None
        return cls(
            program_id=program_id,
            search=term,
            state=None if state is None else _choice(MemberState, state, "state"),
            status=None if status is None else _choice(ActivityStatus, status, "status"),
            contract_id=contract_id,
            order=_choice(MemberOrder, order, "order"),
            descending=flag(descending, field="descending"),
            offset=_whole(offset, "offset", 0, MAX_INT),
            limit=_whole(limit, "limit", 1, MAX_PAGE),
        )


@checked
@frozen
class MemberRow:
    """One row of the members list: the learner, the membership and the status."""

    learner: Learner
    membership: Membership
    status: MemberStatus


@checked
@frozen
class MemberPage:
    """A page of the members list.

    Attributes:
        rows: the page's rows, in the query's order.
        total: rows matching the query over all pages.
        query: the query that made the page.
    """

    rows: tuple[MemberRow, ...]
    total: int
    query: MemberQuery


_C = TypeVar("_C", bound=enum.StrEnum)


def _choice(kind: type[_C], value: object, field: str) -> _C:
    try:
        return kind(str(value))
    except ValueError as exc:
        allowed = ", ".join(m.value for m in kind)
        raise ValidationError(f"one of {allowed} is required", field=field, value=value) from exc


def _whole(value: object, field: str, minimum: int, maximum: int) -> int:
    number = whole_number(value, field=field, minimum=minimum, maximum=maximum, allow_none=False)
    assert number is not None
    return number
