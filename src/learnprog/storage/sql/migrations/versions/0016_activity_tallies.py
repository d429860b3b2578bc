"""Activity tallies: each course enrollment's running figures, which ingest adds new records to

Ingest used to recompute each touched enrollment from all its stored events and attempts, so
it slowed down as the history grew (issue 17, section 3). Each course enrollment now keeps an
``ActivityTally`` (``learnprog.model.tally``: the latest event and its session, the completed
items, the best and first passing attempts) as a JSON document. This revision back-fills the
tally of every course enrollment from its stored records, course by course and 500 learners
at a time, with the tally rule of this revision; an enrollment without a tally (none should be
left) is recomputed from its records when next touched.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from learnprog.model.activity import AssessmentAttempt, Enrollment, EventKind, LearningEvent
from learnprog.model.catalog import Assessment, Course, CourseItem, EntryKind, ItemKind
from learnprog.model.tally import ActivityTally
from learnprog.storage.sql.types import Document, Key, UtcDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_BATCH = 500
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def upgrade() -> None:
    tallies = op.create_table(
        "activity_tallies",
        sa.Column("enrollment_id", Key(length=64), nullable=False),
        sa.Column("tally", Document(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_activity_tallies_enrollment_id_enrollments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("enrollment_id", name=op.f("pk_activity_tallies")),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    assert tallies is not None
    _backfill(op.get_bind(), tallies)


def downgrade() -> None:
    op.drop_table("activity_tallies")


def _table(name: str, *columns: sa.Column[Any]) -> sa.Table:
    return sa.Table(name, sa.MetaData(), *columns)


_enrollments = _table(
    "enrollments",
    sa.Column("id", Key()),
    sa.Column("learner_id", Key()),
    sa.Column("kind", sa.String(16)),
    sa.Column("target_id", Key()),
    sa.Column("enrolled_at", UtcDateTime()),
    sa.Column("unenrolled_at", UtcDateTime()),
)
_items = _table(
    "course_items",
    sa.Column("course_id", Key()),
    sa.Column("id", Key()),
    sa.Column("lesson", sa.String(200)),
    sa.Column("position", sa.Integer()),
)
_assessments = _table(
    "assessments",
    sa.Column("course_id", Key()),
    sa.Column("id", Key()),
    sa.Column("pass_mark", sa.Double()),
)
_events = _table(
    "learning_events",
    sa.Column("id", Key()),
    sa.Column("learner_id", Key()),
    sa.Column("course_id", Key()),
    sa.Column("item_id", Key()),
    sa.Column("kind", sa.String(16)),
    sa.Column("at", UtcDateTime()),
)
_attempts = _table(
    "assessment_attempts",
    sa.Column("id", Key()),
    sa.Column("learner_id", Key()),
    sa.Column("course_id", Key()),
    sa.Column("assessment_id", Key()),
    sa.Column("grade", sa.Double()),
    sa.Column("submitted_at", UtcDateTime()),
)


def _course(conn: sa.Connection, course_id: str) -> Course:
    """The course as far as a tally needs it: item IDs and lessons, assessment pass marks."""
    i, a = _items.c, _assessments.c
    items = [
        CourseItem(r.id, r.id, ItemKind.READING, r.lesson, r.position)
        for r in conn.execute(
            sa.select(_items).where(i.course_id == course_id).order_by(i.position, i.id)
        )
    ]
    assessments = [
        Assessment(r.id, r.id, pass_mark=float(r.pass_mark))
        for r in conn.execute(sa.select(_assessments).where(a.course_id == course_id))
    ]
    return Course(course_id, "", course_id, course_id, course_id, _EPOCH,
                  items=tuple(items), assessments=tuple(assessments))  # fmt: skip


def _backfill(conn: sa.Connection, tallies: sa.Table) -> None:
    e = _enrollments.c
    rows = conn.execute(
        sa.select(_enrollments)
        .where(e.kind == EntryKind.COURSE.value)
        .order_by(e.target_id, e.learner_id, e.id)
    ).all()
    by_course: dict[str, list[Any]] = {}
    for row in rows:
        by_course.setdefault(row.target_id, []).append(row)
    for course_id, enrollments in by_course.items():
        course = _course(conn, course_id)
        for start in range(0, len(enrollments), _BATCH):
            _backfill_batch(conn, tallies, course, enrollments[start : start + _BATCH])


def _backfill_batch(
    conn: sa.Connection, tallies: sa.Table, course: Course, rows: Sequence[Any]
) -> None:
    learners = sorted({r.learner_id for r in rows})
    ev, at = _events.c, _attempts.c
    events: dict[str, list[LearningEvent]] = {}
    for r in conn.execute(
        sa.select(_events).where(ev.course_id == course.id, ev.learner_id.in_(learners))
    ):
        events.setdefault(r.learner_id, []).append(
            LearningEvent(r.id, r.learner_id, r.course_id, r.item_id, EventKind(r.kind), r.at)
        )
    attempts: dict[str, list[AssessmentAttempt]] = {}
    for r in conn.execute(
        sa.select(_attempts).where(at.course_id == course.id, at.learner_id.in_(learners))
    ):
        attempts.setdefault(r.learner_id, []).append(
            AssessmentAttempt(
                r.id, r.learner_id, r.course_id, r.assessment_id, float(r.grade), r.submitted_at
            )
        )
    documents = []
    for r in rows:
        enrollment = Enrollment(
            r.id, "", "", r.learner_id, EntryKind.COURSE, course.id, "", r.enrolled_at,
            unenrolled_at=r.unenrolled_at,
        )  # fmt: skip
        update = ActivityTally.of_records(
            enrollment, course, events.get(r.learner_id, ()), attempts.get(r.learner_id, ())
        )
        documents.append({"enrollment_id": r.id, "tally": update.tally.to_document()})
    if documents:
        conn.execute(tallies.insert(), documents)
