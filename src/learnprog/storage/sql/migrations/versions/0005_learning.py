"""Learning: enrollments, activity, derived progress, feedback, and the members search key

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from learnprog.model.learner import search_key
from learnprog.storage.sql.types import Key, UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "learners",
        sa.Column("search_key", Key(length=600), server_default="", nullable=False),
    )
    learners = sa.table(
        "learners",
        sa.column("id", Key()),
        sa.column("full_name", sa.String()),
        sa.column("email_key", Key()),
        sa.column("search_key", Key()),
    )
    conn = op.get_bind()
    rows = conn.execute(sa.select(learners.c.id, learners.c.full_name, learners.c.email_key))
    keys = [{"match": r.id, "key": search_key(r.full_name, r.email_key)} for r in rows]
    if keys:
        conn.execute(
            learners.update()
            .where(learners.c.id == sa.bindparam("match"))
            .values(search_key=sa.bindparam("key")),
            keys,
        )

    op.create_table(
        "enrollments",
        sa.Column("id", Key(length=64), nullable=False),
        sa.Column("organization_id", Key(length=64), nullable=False),
        sa.Column("program_id", Key(length=64), nullable=False),
        sa.Column("learner_id", Key(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("target_id", Key(length=64), nullable=False),
        sa.Column("contract_id", Key(length=64), nullable=False),
        sa.Column("enrolled_at", UtcDateTime(), nullable=False),
        sa.Column("source_collection_id", Key(length=64), nullable=True),
        sa.Column("unenrolled_at", UtcDateTime(), nullable=True),
        sa.Column("current_target_id", Key(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contracts.id"], name=op.f("fk_enrollments_contract_id_contracts")
        ),
        sa.ForeignKeyConstraint(
            ["learner_id"], ["learners.id"], name=op.f("fk_enrollments_learner_id_learners")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_enrollments_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_enrollments_program_id_programs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollments")),
        sa.UniqueConstraint(
            "learner_id",
            "current_target_id",
            name=op.f("uq_enrollments_learner_id_current_target_id"),
        ),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_index(
        op.f("ix_enrollments_program_id_learner_id"), "enrollments", ["program_id", "learner_id"]
    )
    op.create_index(
        op.f("ix_enrollments_learner_id_target_id"), "enrollments", ["learner_id", "target_id"]
    )
    op.create_table(
        "learning_events",
        sa.Column("organization_id", Key(length=64), nullable=False),
        sa.Column("id", Key(length=64), nullable=False),
        sa.Column("learner_id", Key(length=64), nullable=False),
        sa.Column("course_id", Key(length=64), nullable=False),
        sa.Column("item_id", Key(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"], ["courses.id"], name=op.f("fk_learning_events_course_id_courses")
        ),
        sa.ForeignKeyConstraint(
            ["learner_id"], ["learners.id"], name=op.f("fk_learning_events_learner_id_learners")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_learning_events_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name=op.f("pk_learning_events")),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_index(
        op.f("ix_learning_events_learner_id_course_id"),
        "learning_events",
        ["learner_id", "course_id"],
    )
    op.create_table(
        "assessment_attempts",
        sa.Column("organization_id", Key(length=64), nullable=False),
        sa.Column("id", Key(length=64), nullable=False),
        sa.Column("learner_id", Key(length=64), nullable=False),
        sa.Column("course_id", Key(length=64), nullable=False),
        sa.Column("assessment_id", Key(length=64), nullable=False),
        sa.Column("grade", sa.Double(), nullable=False),
        sa.Column("submitted_at", UtcDateTime(), nullable=False),
        sa.Column("banked", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"], ["courses.id"], name=op.f("fk_assessment_attempts_course_id_courses")
        ),
        sa.ForeignKeyConstraint(
            ["learner_id"],
            ["learners.id"],
            name=op.f("fk_assessment_attempts_learner_id_learners"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_assessment_attempts_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name=op.f("pk_assessment_attempts")),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_index(
        op.f("ix_assessment_attempts_learner_id_course_id"),
        "assessment_attempts",
        ["learner_id", "course_id"],
    )
    op.create_index(
        op.f("ix_assessment_attempts_course_id_assessment_id"),
        "assessment_attempts",
        ["course_id", "assessment_id"],
    )
    op.create_table(
        "enrollment_progress",
        sa.Column("enrollment_id", Key(length=64), nullable=False),
        sa.Column("items_completed", sa.Integer(), nullable=False),
        sa.Column("items_total", sa.Integer(), nullable=False),
        sa.Column("progress", sa.Double(), nullable=False),
        sa.Column("lessons_taken", sa.Integer(), nullable=False),
        sa.Column("learning_seconds", sa.Double(), nullable=False),
        sa.Column("last_activity_at", UtcDateTime(), nullable=True),
        sa.Column("completed_at", UtcDateTime(), nullable=True),
        sa.Column("grade", sa.Double(), nullable=True),
        sa.Column("failing", sa.Boolean(), nullable=False),
        sa.Column("open_due_at", UtcDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_enrollment_progress_enrollment_id_enrollments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("enrollment_id", name=op.f("pk_enrollment_progress")),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_table(
        "feedback",
        sa.Column("id", Key(length=64), nullable=False),
        sa.Column("learner_id", Key(length=64), nullable=False),
        sa.Column("course_id", Key(length=64), nullable=False),
        sa.Column("program_id", Key(length=64), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("recommend", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["course_id"], ["courses.id"], name=op.f("fk_feedback_course_id_courses")
        ),
        sa.ForeignKeyConstraint(
            ["learner_id"], ["learners.id"], name=op.f("fk_feedback_learner_id_learners")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_feedback_program_id_programs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
        sa.UniqueConstraint(
            "learner_id",
            "course_id",
            "program_id",
            name=op.f("uq_feedback_learner_id_course_id_program_id"),
        ),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_index(op.f("ix_feedback_program_id"), "feedback", ["program_id"])
    op.create_index(op.f("ix_feedback_course_id"), "feedback", ["course_id"])


def downgrade() -> None:
    op.drop_table("feedback")
    op.drop_table("enrollment_progress")
    op.drop_table("assessment_attempts")
    op.drop_table("learning_events")
    op.drop_table("enrollments")
    op.drop_column("learners", "search_key")
