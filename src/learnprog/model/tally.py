"""Incremental figures: what an enrollment keeps so new activity adds to its figures.

:func:`learnprog.model.progress.course_progress` and
:func:`~learnprog.model.progress.daily_activity` define every figure from *all* of an
enrollment's records; recomputing them on each ingest chunk reads the enrollment's whole
history again, so ingest slowed down as the feed grew (issue 17, section 3). An
:class:`ActivityTally` holds just enough of that history to add new records to the figures
without reading the old ones:

* the latest counted item event and the start of the session holding it (a session ends
  after more than 60 idle minutes: :data:`~learnprog.model.progress.SESSION_IDLE_LIMIT`),
  the seconds of the sessions before it and of those of them that start on its day;
* each completed item's first completion time (progress, lessons taken, completion
  without graded assessments, lessons by day);
* per assessment, the best grade and the first passing attempt's time, and the latest
  attempt and how many were counted (grade, completion, at risk, last activity).

The rule for records that arrive late (learnprog's, documented in ``docs/learning.md``,
"Ingest speed"): attempts add in any order (a best grade, an earliest pass and a count do
not depend on it). Item events add when none of them is older than the tally's latest event;
an enrollment that gets an older one is recomputed from all its records (a session may have
to be split or joined in the middle). Either way the figures equal those of
:func:`~learnprog.model.progress.course_progress` over every record, to the last bit:
learning seconds are summed session by session in time order, as the definition sums them.

The tally assumes the course's items and assessments (their IDs and pass marks) as they
were when it was made; learnprog never changes a course once added.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta

from attrs import field, frozen

from learnprog.errors import ValidationError
from learnprog.model.activity import AssessmentAttempt, Enrollment, EventKind, LearningEvent
from learnprog.model.catalog import Course
from learnprog.model.progress import (
    SESSION_IDLE_LIMIT,
    DailyActivity,
    EnrollmentProgress,
    _layout,
    _percent,
    _required,
    course_grade,
    in_window,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


@frozen
class ActivityTally:
    """One course enrollment's running figures (see the module docstring).

    Attributes:
        enrollment_id: the course enrollment.
        last_event_at: the latest counted item event (in the window, of a course item), or
            ``None`` before any.
        session_start_at: the start of the session holding ``last_event_at``.
        closed_seconds: the seconds of the sessions before that one, summed in time order.
        day_seconds: the seconds of those earlier sessions that start on
            ``session_start_at``'s UTC day, summed in time order (that day's bucket, without
            the open session).
        completed: item ID -> its first completion in the window.
        last_attempt_at: the latest counted attempt, or ``None``.
        attempts: counted attempts (in the window, of a course assessment).
        best: assessment ID -> best grade, percent 0-100 (an assessment is tried when here).
        first_pass: assessment ID -> its first attempt at or above the pass mark.
    """

    enrollment_id: str
    last_event_at: datetime | None = None
    session_start_at: datetime | None = None
    closed_seconds: float = 0.0
    day_seconds: float = 0.0
    completed: Mapping[str, datetime] = field(factory=dict)
    last_attempt_at: datetime | None = None
    attempts: int = 0
    best: Mapping[str, float] = field(factory=dict)
    first_pass: Mapping[str, datetime] = field(factory=dict)

    @classmethod
    def of_records(
        cls,
        enrollment: Enrollment,
        course: Course,
        events: Iterable[LearningEvent],
        attempts: Iterable[AssessmentAttempt],
    ) -> TallyUpdate:
        """Tally every record of an enrollment (the full recomputation).

        Args:
            enrollment: a course enrollment.
            course: its course.
            events: the learner's item events in the course (any order, any enrollment).
            attempts: the learner's attempts in the course (any order, any enrollment).

        Returns:
            The tally and every day of the enrollment (``since`` is ``None``).
        """
        update = cls(enrollment.id).add(enrollment, course, events, attempts)
        assert update is not None  # an empty tally takes records in any order
        return TallyUpdate(update.tally, None, update.days)

    def add(
        self,
        enrollment: Enrollment,
        course: Course,
        events: Iterable[LearningEvent],
        attempts: Iterable[AssessmentAttempt],
    ) -> TallyUpdate | None:
        """Add new records to the tally.

        Records outside the enrollment's window or naming no item or assessment of the
        course are ignored, as :func:`~learnprog.model.progress.course_progress` ignores them.

        Args:
            enrollment: the tally's course enrollment.
            course: its course.
            events: item events not tallied yet, in any order.
            attempts: attempts not tallied yet, in any order.

        Returns:
            The new tally with the days that changed, or ``None`` when an event is older than
            :attr:`last_event_at` (the enrollment must then be tallied from all its records:
            :meth:`of_records`).
        """
        item_lesson, lessons = _layout(course)
        mine = sorted(
            (e for e in events if e.item_id in item_lesson and in_window(enrollment, e.at)),
            key=_event_time,
        )
        last = self.last_event_at
        if mine and last is not None and mine[0].at < last:
            return None
        start = self.session_start_at
        closed = self.closed_seconds
        base = self.day_seconds
        completed = dict(self.completed) if mine else {}
        since = None if start is None else start.date()
        day_seconds: dict[date, float] = {}
        for e in mine:
            t = e.at
            if e.kind is EventKind.COMPLETED and e.item_id not in completed:
                completed[e.item_id] = t
            if last is None or start is None:
                start = last = t
            elif t - last > SESSION_IDLE_LIMIT:
                length = (last - start).total_seconds()
                closed += length
                day = start.date()
                day_seconds[day] = base + length
                base = day_seconds[day] if t.date() == day else 0.0
                start = last = t
            else:
                last = t
        days: tuple[DailyActivity, ...] = ()
        if mine and start is not None and last is not None:
            day_seconds[start.date()] = base + (last - start).total_seconds()
            lessons_on: dict[date, int] = {}
            for ids in lessons:
                if all(i in completed for i in ids):
                    day = max(completed[i] for i in ids).date()
                    if since is None or day >= since:
                        lessons_on[day] = lessons_on.get(day, 0) + 1
            days = tuple(
                DailyActivity(enrollment.id, d, day_seconds.get(d, 0.0), lessons_on.get(d, 0))
                for d in sorted(day_seconds.keys() | lessons_on.keys())
            )
        else:
            since = None

        assessments = {a.id: a.pass_mark for a in course.assessments}
        best = self.best
        first_pass = self.first_pass
        last_attempt = self.last_attempt_at
        count = self.attempts
        mine_attempts = [
            a
            for a in attempts
            if a.assessment_id in assessments and in_window(enrollment, a.submitted_at)
        ]
        if mine_attempts:
            best, first_pass = dict(best), dict(first_pass)
            for a in mine_attempts:
                aid, at = a.assessment_id, a.submitted_at
                best[aid] = max(best.get(aid, 0.0), a.grade)
                if a.grade >= assessments[aid]:
                    seen = first_pass.get(aid)
                    if seen is None or at < seen:
                        first_pass[aid] = at
                if last_attempt is None or at > last_attempt:
                    last_attempt = at
            count += len(mine_attempts)
        tally = ActivityTally(
            self.enrollment_id,
            last,
            start,
            closed,
            base,
            completed if mine else self.completed,
            last_attempt,
            count,
            best,
            first_pass,
        )
        return TallyUpdate(
            tally, since if mine else None, days, changed=bool(mine or mine_attempts)
        )

    def figures(self, course: Course) -> EnrollmentProgress:
        """The enrollment's recorded figures: those of ``course_progress`` over every record.

        Args:
            course: the enrollment's course.

        Returns:
            The figures, before imported history is combined with them
            (:func:`~learnprog.model.progress.with_imported`).
        """
        _, lessons = _layout(course)
        completed = self.completed
        required = _required(course)
        completed_at: datetime | None = None
        if required:
            if all(a.id in self.first_pass for a in required):
                completed_at = max(self.first_pass[a.id] for a in required)
        elif course.items and len(completed) == len(course.items):
            completed_at = max(completed.values())
        unpassed = [a for a in required if a.id not in self.first_pass]
        due_dates = [a.due_at for a in unpassed if a.due_at is not None]
        seconds = 0.0
        if self.last_event_at is not None and self.session_start_at is not None:
            seconds = (
                self.closed_seconds + (self.last_event_at - self.session_start_at).total_seconds()
            )
        activity = [t for t in (self.last_event_at, self.last_attempt_at) if t is not None]
        return EnrollmentProgress(
            enrollment_id=self.enrollment_id,
            items_completed=len(completed),
            items_total=len(course.items),
            progress=_percent(len(completed), len(course.items)),
            lessons_taken=sum(1 for ids in lessons if all(i in completed for i in ids)),
            learning_seconds=seconds,
            last_activity_at=max(activity, default=None),
            completed_at=completed_at,
            grade=course_grade(required, self.best),
            failing=any(a.id in self.best for a in unpassed),
            open_due_at=min(due_dates, default=None),
            attempts=self.attempts,
        )

    def to_document(self) -> str:
        """The tally as a JSON text (times in microseconds since 1970, floats exact)."""
        return json.dumps(
            {
                "e": _micros(self.last_event_at),
                "s": _micros(self.session_start_at),
                "c": self.closed_seconds,
                "d": self.day_seconds,
                "i": {k: _micros(v) for k, v in self.completed.items()},
                "a": _micros(self.last_attempt_at),
                "n": self.attempts,
                "b": dict(self.best),
                "p": {k: _micros(v) for k, v in self.first_pass.items()},
            },
            separators=(",", ":"),
            ensure_ascii=False,
        )

    @classmethod
    def from_document(cls, enrollment_id: str, document: str) -> ActivityTally:
        """Read a tally written by :meth:`to_document`.

        Raises:
            ValidationError: the text is not such a document (naming the enrollment).
        """
        try:
            d = json.loads(document)
            return cls(
                enrollment_id,
                _time(d["e"]),
                _time(d["s"]),
                float(d["c"]),
                float(d["d"]),
                {str(k): _at(v) for k, v in d["i"].items()},
                _time(d["a"]),
                int(d["n"]),
                {str(k): float(v) for k, v in d["b"].items()},
                {str(k): _at(v) for k, v in d["p"].items()},
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValidationError(
                f"the stored tally of enrollment {enrollment_id!r} is not a tally document",
                field="tally",
            ) from exc


@frozen
class TallyUpdate:
    """A tally after new records, with the daily buckets they changed.

    Attributes:
        tally: the new tally.
        since: the first UTC day whose bucket may have changed: every bucket of the
            enrollment from that day on is in ``days``; ``None`` when ``days`` are all of the
            enrollment's buckets (a full tally), or when no bucket changed (``days`` empty).
        days: the buckets from ``since`` on, in day order.
        changed: the records changed the tally (any counted record).
    """

    tally: ActivityTally
    since: date | None
    days: tuple[DailyActivity, ...]
    changed: bool = True


def _event_time(event: LearningEvent) -> datetime:
    return event.at


def _micros(at: datetime | None) -> int | None:
    return None if at is None else (at - _EPOCH) // _MICRO


def _time(micros: int | None) -> datetime | None:
    return None if micros is None else _at(micros)


def _at(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=int(micros))
