"""What reports are made of: the records behind each CSV row, and the email report's figures.

Sources: the guide's "Reporting" section (the Usage, Membership and Specialization report
columns, the usage report email). Populations follow the counting rules of
:mod:`learnprog.model.progress`: report rows use current enrollments; totals count every
enrollment ever made.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Set
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from attrs import astuple, frozen

from learnprog.frames import Tabular, axes
from learnprog.model.activity import Enrollment
from learnprog.model.catalog import EntryKind
from learnprog.model.learner import Learner, Membership, MemberState
from learnprog.model.progress import ActivityStatus, DailyActivity, EnrollmentProgress, hours

if TYPE_CHECKING:
    from matplotlib.axes import Axes

ReportValues = tuple[Any, ...]
"""One report row's values, unformatted, one per column in the guide's order.

Text as written (``None`` for none), times as aware datetimes, numbers as numbers and flags as
booleans. A SQL store gives the same values as it stores them (see
:meth:`learnprog.storage.ports.ReportRepository.usage_values`); the report's cell rules
(:mod:`learnprog.reports.tables`) write both the same way.
"""


def _learner_values(learner: Learner) -> tuple[ReportValues, ReportValues]:
    """A learner's leading values (name, email, external ID) and trailing ones (the profile)."""
    head = (learner.full_name, learner.email.address, learner.external_id)
    return head, astuple(learner.profile)


@frozen
class UsageRecord:
    """One row of the usage report: one current course enrollment (guide, "Usage Report").

    Removed members' enrollments are included, flagged by ``removed``: Yes for anyone who is
    not a MEMBER of the program now (guide, "Usage Report": "whether the user is an active
    member"), a removed member invited again and not yet rejoined included.
    """

    learner: Learner
    course_name: str
    course_code: str
    course_slug: str
    university: str | None
    enrolled_at: datetime
    class_start: datetime | None
    figures: EnrollmentProgress
    removed: bool
    program_slug: str
    program_name: str
    source: str | None
    contract: str

    def values(self) -> ReportValues:
        """The row's values in the Usage Report's column order (``USAGE_COLUMNS``).

        Learning time is in seconds (the cell shows hours); "Completed" is a boolean.
        """
        f = self.figures
        head, profile = _learner_values(self.learner)
        return (
            *head, self.course_name, self.course_code, self.course_slug, self.university,
            self.enrolled_at, self.class_start, f.last_activity_at, f.progress,
            f.learning_seconds, f.completed, self.removed, self.program_slug, self.program_name,
            self.source, f.completed_at, f.grade, self.contract, *profile,
        )  # fmt: skip


@frozen
class MembershipRecord:
    """One row of the membership report: one membership, in any state.

    Source: guide, "Membership Report".

    ``enrolled`` and ``completed`` count the learner's current course enrollments in the
    program and those completed; ``last_activity_at`` is the latest activity in any of the
    program's courses, past enrollments included.
    """

    learner: Learner
    program_name: str
    program_slug: str
    enrolled: int
    completed: int
    state: MemberState
    joined_at: datetime | None
    invited_at: datetime
    last_activity_at: datetime | None
    contract: str

    def values(self) -> ReportValues:
        """The row's values in the Membership Report's column order (``MEMBERSHIP_COLUMNS``)."""
        head, profile = _learner_values(self.learner)
        return (
            *head, self.program_name, self.program_slug, self.enrolled, self.completed,
            self.state.value, self.joined_at, self.invited_at, self.last_activity_at,
            self.contract, *profile,
        )  # fmt: skip


@frozen
class SpecializationRecord:
    """One row of the specialization report: one current specialization enrollment.

    ``removed`` is as in :class:`UsageRecord`: not a MEMBER of the program now.
    """

    learner: Learner
    specialization_name: str
    specialization_slug: str
    university: str | None
    enrolled_at: datetime
    figures: EnrollmentProgress
    removed: bool
    program_slug: str
    program_name: str
    source: str | None
    contract: str

    def values(self) -> ReportValues:
        """The row's values in the Specialization Report's order (``SPECIALIZATION_COLUMNS``).

        "Completed" is a boolean.
        """
        f = self.figures
        head, profile = _learner_values(self.learner)
        return (
            *head, self.specialization_name, self.specialization_slug, self.university,
            self.enrolled_at, f.last_activity_at, f.completed, self.removed, self.program_slug,
            self.program_name, self.source, f.completed_at, self.contract, *profile,
        )  # fmt: skip


@frozen
class EmailReportFigures(Tabular):
    """The eighteen figures of the usage report email (guide, "Accessing Email Reports").

    ``to_pandas()`` gives one row: a column per attribute (counts ``int64``, hours
    ``float64``, ``computed_at`` an aware UTC ``datetime64``); in Jupyter it shows as a table.

    Population: the memberships of the programs the report covers. "Joined learners" are the
    distinct learners who joined one of them (MEMBER, or DELETED_MEMBER after joining); a
    learner's enrollments and completions are counted over every course enrollment ever made
    through those programs (current or ended) unless a figure says otherwise.

    Attributes:
        total_enrollments: course enrollments ever made (the guide's summary: "the number of
            times learners have enrolled"), removed members' included.
        unique_learners: joined learners.
        enrolled_learners: joined learners with at least one course enrollment.
        removed_learners: distinct learners with a DELETED_MEMBER membership (a revoked
            invitation included).
        unique_courses: distinct courses with at least one enrollment.
        course_completions: completed course enrollments.
        verified_completions: those completed by a learner who verified their identity (never
            more than ``course_completions``).
        unique_completers: distinct learners with at least one completion.
        estimated_hours: estimated learning hours over every course enrollment (a float).
        completed_half: joined learners with a course enrollment at 50% progress or more.
        joined_not_enrolled: current MEMBERs with no current course enrollment (the Members
            page's "No Enrollment").
        enrolled_not_completed: joined learners with a course enrollment and no completion.
        enrolled_one: joined learners enrolled in exactly 1 distinct course.
        completed_one: joined learners who completed exactly 1 distinct course.
        enrolled_two: ... exactly 2 distinct courses.
        completed_two: ... completed exactly 2.
        enrolled_more: ... more than 2 distinct courses.
        completed_more: ... completed more than 2.
        computed_at: when the figures were computed (the clock's now).
    """

    total_enrollments: int
    unique_learners: int
    enrolled_learners: int
    removed_learners: int
    unique_courses: int
    course_completions: int
    verified_completions: int
    unique_completers: int
    estimated_hours: float
    completed_half: int
    joined_not_enrolled: int
    enrolled_not_completed: int
    enrolled_one: int
    completed_one: int
    enrolled_two: int
    completed_two: int
    enrolled_more: int
    completed_more: int
    computed_at: datetime

    LABELS = (
        ("total_enrollments", "Total enrollments"),
        ("unique_learners", "Total unique learners"),
        ("enrolled_learners", "Learners who have enrolled in at least one course"),
        ("removed_learners", "Total removed learners"),
        ("unique_courses", "Total unique courses"),
        ("course_completions", "Total course completions"),
        ("verified_completions", "Total verified course completions"),
        ("unique_completers", "Total unique course completers"),
        ("estimated_hours", "Total estimated hours spent"),
        ("completed_half", "Learners who have completed 50% of a course"),
        (
            "joined_not_enrolled",
            "Learners who have joined the program but have not enrolled in a course",
        ),
        (
            "enrolled_not_completed",
            "Learners who have enrolled in a course but have not completed any course",
        ),
        ("enrolled_one", "Learners who have enrolled in 1 course"),
        ("completed_one", "Learners who have completed 1 course"),
        ("enrolled_two", "Learners who have enrolled in 2 courses"),
        ("completed_two", "Learners who have completed 2 courses"),
        ("enrolled_more", "Learners who have enrolled in more than 2 courses"),
        ("completed_more", "Learners who have completed more than 2 courses"),
    )
    """Each figure's attribute and the guide's label, in the email's order."""

    def labelled(self) -> list[tuple[str, int | float]]:
        """Return ``(label, value)`` in the email's order; hours rounded to whole hours."""
        out: list[tuple[str, int | float]] = []
        for name, label in self.LABELS:
            value = getattr(self, name)
            out.append((label, round(value) if name == "estimated_hours" else value))
        return out


def email_figures(
    memberships: Iterable[Membership],
    enrollments: Iterable[Enrollment],
    figures: Mapping[str, EnrollmentProgress],
    verified: Set[str],
    now: datetime,
) -> EmailReportFigures:
    """Compute the email report's figures (see :class:`EmailReportFigures` for each rule).

    Args:
        memberships: every membership of the covered programs.
        enrollments: every enrollment made through them (course and specialization, current
            and ended).
        figures: the enrollments' derived figures, by enrollment ID.
        verified: the IDs of learners who verified their identity.
        now: the clock's now (``computed_at``).
    """
    members = list(memberships)
    courses = [e for e in enrollments if e.kind is EntryKind.COURSE]
    joined = {m.learner_id for m in members if m.joined_at is not None}
    current_members = {m.learner_id for m in members if m.state is MemberState.MEMBER}
    enrolled: dict[str, set[str]] = {}
    completed: dict[str, set[str]] = {}
    half: set[str] = set()
    current_course_learners: set[str] = set()
    completions = verified_completions = 0
    seconds = 0.0
    for e in courses:
        f = figures.get(e.id, EnrollmentProgress(e.id))
        enrolled.setdefault(e.learner_id, set()).add(e.target_id)
        seconds += f.learning_seconds
        if e.is_current:
            current_course_learners.add(e.learner_id)
        if f.progress >= 50:
            half.add(e.learner_id)
        if f.completed:
            completions += 1
            verified_completions += e.learner_id in verified
            completed.setdefault(e.learner_id, set()).add(e.target_id)

    def learners_with(counts: Mapping[str, set[str]], test: Callable[[int], bool]) -> int:
        return sum(1 for lr in joined if test(len(counts.get(lr, ()))))

    return EmailReportFigures(
        total_enrollments=len(courses),
        unique_learners=len(joined),
        enrolled_learners=learners_with(enrolled, lambda n: n > 0),
        removed_learners=len(
            {m.learner_id for m in members if m.state is MemberState.DELETED_MEMBER}
        ),
        unique_courses=len({e.target_id for e in courses}),
        course_completions=completions,
        verified_completions=verified_completions,
        unique_completers=len(completed),
        estimated_hours=hours(seconds),
        completed_half=len(half & joined),
        joined_not_enrolled=len(current_members - current_course_learners),
        enrolled_not_completed=sum(
            1 for lr in joined if enrolled.get(lr) and not completed.get(lr)
        ),
        enrolled_one=learners_with(enrolled, lambda n: n == 1),
        completed_one=learners_with(completed, lambda n: n == 1),
        enrolled_two=learners_with(enrolled, lambda n: n == 2),
        completed_two=learners_with(completed, lambda n: n == 2),
        enrolled_more=learners_with(enrolled, lambda n: n > 2),
        completed_more=learners_with(completed, lambda n: n > 2),
        computed_at=now,
    )


def _rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else 100.0 * part / whole


@frozen
class UsageFunnel(Tabular):
    """The learner funnel of the admin home page's "Usage Overview".

    ``to_pandas()`` gives one row: a column per attribute (counts ``int64``, rates
    ``float64`` percent, ``NaN`` for none, ``computed_at`` an aware UTC ``datetime64``);
    :meth:`plot` draws the funnel.

    Source: guide, "Your Admin Home Page" ("invitations sent, learners who have joined, or
    learners who have enrolled"). Counted per membership of the covered programs, so a
    learner invited to two programs is two invitations; each stage is a subset of the one
    before and a rate is never above 100.

    Attributes:
        invitations_sent: memberships ever invited, in any state now (MEMBER, INVITED,
            DELETED_MEMBER, a revoked invitation included): every membership starts as an
            invitation.
        joined: those memberships whose learner joined (``joined_at`` set: MEMBER, or removed
            after joining).
        enrolled: joined memberships whose learner has at least one course enrollment made
            through that program, current or ended.
        join_rate: ``joined / invitations_sent`` as percent 0-100; ``None`` without invitations.
        enroll_rate: ``enrolled / joined`` as percent 0-100; ``None`` when nobody joined.
        computed_at: when the figures were computed (the clock's now).
    """

    invitations_sent: int
    joined: int
    enrolled: int
    join_rate: float | None
    enroll_rate: float | None
    computed_at: datetime

    @classmethod
    def from_counts(
        cls, invitations_sent: int, joined: int, enrolled: int, now: datetime
    ) -> UsageFunnel:
        """Make the funnel from its three counts, computing the conversion rates."""
        return cls(
            invitations_sent,
            joined,
            enrolled,
            _rate(joined, invitations_sent),
            _rate(enrolled, joined),
            now,
        )

    @property
    def stages(self) -> tuple[tuple[str, int], ...]:
        """The funnel's stages and their memberships, widest first (the guide's names)."""
        return (
            ("Invitations sent", self.invitations_sent),
            ("Joined", self.joined),
            ("Enrolled", self.enrolled),
        )

    def plot(self, ax: Axes | None = None) -> Axes:
        """Draw the funnel as the admin home page shows it (guide, "Usage Overview").

        One horizontal bar per stage, widest on top, each labelled with its count, so the
        "leaky bucket" shows where the bars shrink.

        Args:
            ax: the matplotlib Axes to draw on; ``None`` makes a new figure.

        Returns:
            The Axes drawn on: one bar per stage (``ax.patches``), in :attr:`stages` order.

        Raises:
            MissingExtraError: matplotlib is not installed (``pip install
                'learnprog[notebook]'``).
        """
        ax = axes(ax, size=(6.0, 3.0))
        names = [name for name, _ in self.stages]
        counts = [count for _, count in self.stages]
        bars = ax.barh(names, counts, color=["#4c72b0", "#55a868", "#c44e52"])
        ax.bar_label(bars, labels=[f"{c:,}" for c in counts], padding=3)
        ax.invert_yaxis()
        ax.set_xlabel("memberships")
        ax.set_title("Usage funnel")
        ax.margins(x=0.15)
        return ax


def usage_funnel(
    memberships: Iterable[Membership], enrollments: Iterable[Enrollment], now: datetime
) -> UsageFunnel:
    """Compute the usage funnel (see :class:`UsageFunnel` for each rule).

    Args:
        memberships: every membership of the covered programs.
        enrollments: every enrollment made through them.
        now: the clock's now (``computed_at``).
    """
    enrolled_pairs = {
        (e.program_id, e.learner_id) for e in enrollments if e.kind is EntryKind.COURSE
    }
    invited = joined = enrolled = 0
    for m in memberships:
        invited += 1
        if m.joined_at is not None:
            joined += 1
            enrolled += (m.program_id, m.learner_id) in enrolled_pairs
    return UsageFunnel.from_counts(invited, joined, enrolled, now)


SUMMARY_DAYS = 28
"""The summary's recent period: "in the past 28 days" (guide, "Accessing Email Reports")."""


def summary_since(now: datetime) -> date:
    """Return the first UTC day of the summary's past 28 days.

    The period is 28 whole UTC calendar days: the day of ``now`` and the 27 before it (the
    guide's summary "will update daily"). With ``now`` on 2026-03-30 it runs from 2026-03-03 to
    2026-03-30, both included.
    """
    return now.astimezone(UTC).date() - timedelta(days=SUMMARY_DAYS - 1)


@frozen
class ActivityTotals:
    """The summary's learning totals over the course enrollments of some programs.

    "Recent" is the past 28 days (:func:`summary_since` to the day of ``now``, both included).

    Attributes:
        enrollments: course enrollments ever made, current or ended, removed members' included
            (the guide: "Total number of times learners have enrolled in a course").
        recent_enrollments: those made in the period (``enrolled_at`` from 00:00 UTC of its
            first day up to ``now``).
        learning_seconds: estimated learning seconds over every course enrollment.
        recent_learning_seconds: those of sessions that started on a day of the period
            (:class:`~learnprog.model.progress.DailyActivity`).
        lessons_taken: lessons taken over every course enrollment (a re-enrollment starts fresh,
            so a lesson taken again counts again).
        recent_lessons_taken: those whose last item was completed on a day of the period.
    """

    enrollments: int
    recent_enrollments: int
    learning_seconds: float
    recent_learning_seconds: float
    lessons_taken: int
    recent_lessons_taken: int


def activity_totals(
    enrollments: Iterable[Enrollment],
    figures: Mapping[str, EnrollmentProgress],
    days: Iterable[DailyActivity],
    now: datetime,
) -> ActivityTotals:
    """Compute the summary's learning totals (see :class:`ActivityTotals` for each rule).

    Args:
        enrollments: every enrollment made through the covered programs.
        figures: the enrollments' derived figures, by enrollment ID.
        days: the enrollments' daily buckets.
        now: the clock's now.
    """
    since = summary_since(now)
    start = datetime.combine(since, time(), tzinfo=UTC)
    today = now.astimezone(UTC).date()
    courses = {e.id: e for e in enrollments if e.kind is EntryKind.COURSE}
    seconds = 0.0
    lessons = 0
    for e in courses.values():
        f = figures.get(e.id)
        if f is not None:
            seconds += f.learning_seconds
            lessons += f.lessons_taken
    recent = [d for d in days if d.enrollment_id in courses and since <= d.day <= today]
    return ActivityTotals(
        enrollments=len(courses),
        recent_enrollments=sum(1 for e in courses.values() if start <= e.enrolled_at <= now),
        learning_seconds=seconds,
        recent_learning_seconds=sum(d.learning_seconds for d in recent),
        lessons_taken=lessons,
        recent_lessons_taken=sum(d.lessons_taken for d in recent),
    )


@frozen
class Summary(Tabular):
    """The admin home page's summary tab (guide, "Your Admin Home Page").

    ``to_pandas()`` gives one row: a column per attribute (counts ``int64``, hours and the
    rating ``float64``, ``since`` a ``datetime64`` day, ``computed_at`` an aware UTC
    ``datetime64``); in Jupyter it shows as a table.

    Each figure is a total to date and its change in the past 28 days (see
    :class:`ActivityTotals` for the populations and :func:`summary_since` for the period).

    Attributes:
        enrollments: total course enrollments to date.
        enrollments_change: those made in the past 28 days.
        learning_hours: total estimated learning hours (a float).
        learning_hours_change: hours of sessions that started in the past 28 days.
        lessons_taken: total lessons taken.
        lessons_taken_change: lessons taken in the past 28 days.
        average_rating: the mean course rating, 1-5, of the programs' ratings (guide, "Average
            Course Rating"), or ``None`` without ratings.
        ratings: the number of ratings averaged.
        since: the first UTC day of the past 28 days.
        computed_at: when the figures were computed (the clock's now).
    """

    enrollments: int
    enrollments_change: int
    learning_hours: float
    learning_hours_change: float
    lessons_taken: int
    lessons_taken_change: int
    average_rating: float | None
    ratings: int
    since: date
    computed_at: datetime

    @classmethod
    def build(
        cls, totals: ActivityTotals, rating: tuple[float | None, int], now: datetime
    ) -> Summary:
        """Make the summary from the learning totals and ``(mean rating, count)``."""
        return cls(
            totals.enrollments,
            totals.recent_enrollments,
            hours(totals.learning_seconds),
            hours(totals.recent_learning_seconds),
            totals.lessons_taken,
            totals.recent_lessons_taken,
            rating[0],
            rating[1],
            summary_since(now),
            now,
        )


class MemberEmailCategory(enum.StrEnum):
    """The Members page's email report categories (guide, "Members": the envelope icon).

    Each is a current MEMBER of the program passing one members-list filter of
    :class:`~learnprog.model.progress.ActivityStatus`, so the lists match the Members page:

    * ``NO_ENROLLMENTS``: "accepted their invitation, but have not yet enrolled in a course"
      (``NO_ENROLLMENT``: no current course enrollment in the program);
    * ``ENROLLED_NO_COMPLETIONS``: "enrolled in at least 1 course, but have not yet completed a
      course" (``ENROLLED``: current course enrollments, none completed);
    * ``COMPLETED_AT_LEAST_ONE``: "completed at least 1 course" (``COMPLETED``: a current
      course enrollment completed).

    Removed members (DELETED_MEMBER) and invited learners are in none of them: the lists are for
    emailing the program's members.
    """

    NO_ENROLLMENTS = "no_enrollments"
    ENROLLED_NO_COMPLETIONS = "enrolled_no_completions"
    COMPLETED_AT_LEAST_ONE = "completed_at_least_one"

    @property
    def status(self) -> ActivityStatus:
        """The members list filter behind the category."""
        return {
            MemberEmailCategory.NO_ENROLLMENTS: ActivityStatus.NO_ENROLLMENT,
            MemberEmailCategory.ENROLLED_NO_COMPLETIONS: ActivityStatus.ENROLLED,
            MemberEmailCategory.COMPLETED_AT_LEAST_ONE: ActivityStatus.COMPLETED,
        }[self]
