"""Learning activity: enrollments, item events, assessment attempts and feedback.

These are the records the learning issue ingests and turns into progress, learning hours and
completion; the foundation defines their shapes. Sources: guide glossary ("Enrollment",
"Completion"), the usage report columns, and "Learner Feedback".
"""

from __future__ import annotations

import enum
from datetime import datetime

from attrs import evolve, field, frozen

from learnprog.clock import ensure_utc
from learnprog.errors import ConflictError, ValidationError
from learnprog.model._rules import optional_text, to_optional_utc, to_utc, utc
from learnprog.model._typecheck import checked
from learnprog.model.catalog import EntryKind
from learnprog.model.identity import new_id


@checked
@frozen
class Enrollment:
    """A learner's enrollment in a course or specialization through a program.

    Attributes:
        id: record ID.
        organization_id: the organization.
        program_id: the program the enrollment is used in.
        learner_id: the learner.
        kind: course or specialization.
        target_id: the course's or specialization's record ID.
        contract_id: the contract the membership draws on.
        enrolled_at: aware UTC enrollment time.
        source_collection_id: the collection the learner found it in, or ``None`` when found by
            search or browsing (guide, "Enrollment Source").
        unenrolled_at: when the learner left it, or ``None`` while current.
    """

    id: str
    organization_id: str
    program_id: str
    learner_id: str
    kind: EntryKind
    target_id: str
    contract_id: str
    enrolled_at: datetime = field(converter=to_utc)
    source_collection_id: str | None = None
    unenrolled_at: datetime | None = field(default=None, converter=to_optional_utc)

    @classmethod
    def create(
        cls,
        organization_id: str,
        program_id: str,
        learner_id: str,
        *,
        kind: EntryKind,
        target_id: str,
        contract_id: str,
        now: datetime,
        source_collection_id: str | None = None,
    ) -> Enrollment:
        """Make a new, current enrollment."""
        return cls(
            new_id(),
            organization_id,
            program_id,
            learner_id,
            kind,
            target_id,
            contract_id,
            utc(now, field="now"),
            source_collection_id,
        )

    @property
    def is_current(self) -> bool:
        """True until the learner unenrolls."""
        return self.unenrolled_at is None

    def unenroll(self, now: datetime) -> Enrollment:
        """Return the enrollment ended at ``now``.

        Raises:
            ConflictError: it has already ended.
            ValidationError: ``now`` is naive or before the enrollment.
        """
        if self.unenrolled_at is not None:
            raise ConflictError("the enrollment has already ended", kind="enrollment", key=self.id)
        at = utc(now, field="now")
        if at < self.enrolled_at:
            raise ValidationError("an enrollment cannot end before it starts", field="now")
        return evolve(self, unenrolled_at=at)


class EventKind(enum.StrEnum):
    """What happened to a course item."""

    STARTED = "started"
    COMPLETED = "completed"


def _event_time(value: datetime) -> datetime:
    return ensure_utc(value, field="at")


def _submission_time(value: datetime) -> datetime:
    return ensure_utc(value, field="submitted_at")


@checked
@frozen
class LearningEvent:
    """A learner started or completed a course item at a time.

    Attributes:
        id: the event ID given by the source; ingestion is idempotent on it.
        learner_id: the learner.
        course_id: the course's record ID.
        item_id: the item within the course.
        kind: started or completed.
        at: aware UTC time of the event.
    """

    id: str
    learner_id: str
    course_id: str
    item_id: str
    kind: EventKind
    at: datetime = field(converter=_event_time)


@checked
@frozen
class AssessmentAttempt:
    """A learner's submitted attempt at an assessment.

    Attributes:
        id: the attempt ID given by the source; ingestion is idempotent on it.
        learner_id: the learner.
        course_id: the course's record ID.
        assessment_id: the assessment within the course.
        grade: 0-100 (percent).
        submitted_at: aware UTC submission time.
        banked: carried over from an earlier attempt (OULAD ``is_banked``).
    """

    id: str
    learner_id: str
    course_id: str
    assessment_id: str
    grade: float
    submitted_at: datetime = field(converter=_submission_time)
    banked: bool = False

    def __attrs_post_init__(self) -> None:
        if not 0 <= self.grade <= 100:
            raise ValidationError("a grade is 0-100", field="grade", value=self.grade)


@checked
@frozen
class Feedback:
    """A learner's rating of a course (guide, "Learner Feedback").

    Attributes:
        id: record ID.
        learner_id: the learner.
        course_id: the course's record ID.
        program_id: the program the learner took it in.
        rating: 1-5 stars.
        recommend: likelihood to recommend, 0-10, or ``None``.
        comment: free text, or ``None``.
        at: aware UTC time.
    """

    id: str
    learner_id: str
    course_id: str
    program_id: str
    rating: int
    at: datetime = field(converter=to_utc)
    recommend: int | None = None
    comment: str | None = None

    @classmethod
    def create(
        cls,
        learner_id: str,
        course_id: str,
        program_id: str,
        *,
        rating: int,
        now: datetime,
        recommend: int | None = None,
        comment: str | None = None,
    ) -> Feedback:
        """Validate and make a feedback record.

        Raises:
            ValidationError: a rating outside 1-5 or a recommendation outside 0-10.
        """
        if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
            raise ValidationError("a rating is a whole number 1-5", field="rating", value=rating)
        if recommend is not None and (
            isinstance(recommend, bool)
            or not isinstance(recommend, int)
            or not 0 <= recommend <= 10
        ):
            raise ValidationError(
                "a recommendation is a whole number 0-10", field="recommend", value=recommend
            )
        return cls(
            new_id(),
            learner_id,
            course_id,
            program_id,
            rating,
            utc(now, field="now"),
            recommend,
            optional_text(comment, field="comment", max_length=5000),
        )
