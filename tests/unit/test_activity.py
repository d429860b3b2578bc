"""Unit tests of learnprog.model.activity: enrollments, events, attempts, feedback."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import attrs
import pytest

from learnprog.errors import ValidationError
from learnprog.model.activity import (
    AssessmentAttempt,
    Enrollment,
    EventKind,
    Feedback,
    LearningEvent,
)
from learnprog.model.catalog import EntryKind

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _attempt(grade: float) -> AssessmentAttempt:
    return AssessmentAttempt("att-1", "learner-1", "course-1", "quiz-1", grade, NOW)


def test_enrollment_create_is_current() -> None:
    enrollment = Enrollment.create(
        "org-1",
        "prog-1",
        "learner-1",
        kind=EntryKind.COURSE,
        target_id="course-1",
        contract_id="contract-1",
        now=NOW,
        source_collection_id="coll-1",
    )
    assert enrollment.is_current
    assert enrollment.enrolled_at == NOW
    assert enrollment.source_collection_id == "coll-1"
    assert (enrollment.kind, enrollment.target_id) == (EntryKind.COURSE, "course-1")
    left = attrs.evolve(enrollment, unenrolled_at=NOW + timedelta(days=1))
    assert not left.is_current


def test_enrollment_naive_now_rejected() -> None:
    with pytest.raises(ValidationError, match="naive") as info:
        Enrollment.create(
            "o",
            "p",
            "l",
            kind=EntryKind.SPECIALIZATION,
            target_id="s",
            contract_id="c",
            now=datetime(2026, 3, 2),
        )
    assert info.value.field == "now"


def test_learning_event_converts_time_to_utc() -> None:
    tokyo = timezone(timedelta(hours=9))
    event = LearningEvent(
        "e1", "l", "c", "i", EventKind.STARTED, datetime(2026, 3, 2, 18, 0, tzinfo=tokyo)
    )
    assert event.at == NOW
    assert event.at.tzinfo is UTC


def test_learning_event_naive_time_rejected() -> None:
    with pytest.raises(ValidationError, match="naive") as info:
        LearningEvent("e1", "l", "c", "i", EventKind.COMPLETED, datetime(2026, 3, 2, 9, 0))
    assert info.value.field == "at"  # the attribute the caller set, not a generic name
    with pytest.raises(ValidationError, match="naive") as info:
        AssessmentAttempt("t1", "l", "c", "a", 50, datetime(2026, 3, 2, 9, 0))
    assert info.value.field == "submitted_at"


@pytest.mark.parametrize("grade", [0, 0.0, 50.5, 100])
def test_attempt_grade_inside_0_100(grade: float) -> None:
    assert _attempt(grade).grade == grade


@pytest.mark.parametrize("grade", [-0.01, 100.01, 150, -1, math.nan])
def test_attempt_grade_outside_0_100(grade: float) -> None:
    with pytest.raises(ValidationError, match="a grade is 0-100") as info:
        _attempt(grade)
    assert info.value.field == "grade"


def test_attempt_grade_checked_through_evolve() -> None:
    with pytest.raises(ValidationError, match="a grade is 0-100"):
        attrs.evolve(_attempt(90), grade=101)


def test_feedback_create() -> None:
    fb = Feedback.create(
        "learner-1", "course-1", "prog-1", rating=4, now=NOW, recommend=9, comment="Great\ncourse"
    )
    assert (fb.rating, fb.recommend, fb.comment) == (4, 9, "Great\ncourse")
    assert fb.at == NOW
    assert (fb.learner_id, fb.course_id, fb.program_id) == ("learner-1", "course-1", "prog-1")


@pytest.mark.parametrize("rating", [1, 5])
def test_feedback_rating_bounds(rating: int) -> None:
    assert Feedback.create("l", "c", "p", rating=rating, now=NOW).rating == rating


@pytest.mark.parametrize("rating", [0, 6, -1, 3.5, "4"])
def test_feedback_rating_outside_1_5(rating: object) -> None:
    with pytest.raises(ValidationError, match="a rating is a whole number 1-5") as info:
        Feedback.create("l", "c", "p", rating=rating, now=NOW)  # type: ignore[arg-type]
    assert info.value.field == "rating"


@pytest.mark.parametrize("recommend", [0, 10, None])
def test_feedback_recommend_bounds(recommend: int | None) -> None:
    assert Feedback.create("l", "c", "p", rating=3, now=NOW, recommend=recommend).recommend == (
        recommend
    )


@pytest.mark.parametrize("recommend", [-1, 11, 7.5])
def test_feedback_recommend_outside_0_10(recommend: object) -> None:
    with pytest.raises(ValidationError, match="a recommendation is a whole number 0-10") as info:
        Feedback.create("l", "c", "p", rating=3, now=NOW, recommend=recommend)  # type: ignore[arg-type]
    assert info.value.field == "recommend"


def test_feedback_comment_rules() -> None:
    assert Feedback.create("l", "c", "p", rating=3, now=NOW, comment="   ").comment is None
    with pytest.raises(ValidationError, match="at most 5000"):
        Feedback.create("l", "c", "p", rating=3, now=NOW, comment="x" * 5001)
