"""Enrollment days: per-day learning seconds and lessons taken of each course enrollment

The admin summary's "in the past 28 days" changes are sums over these buckets, kept at
ingestion with the enrollment's other figures. Existing enrollments get their days when their
figures are next recomputed (new activity, unenrolling).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from learnprog.storage.sql.types import Key

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "enrollment_days",
        sa.Column("enrollment_id", Key(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("learning_seconds", sa.Double(), nullable=False),
        sa.Column("lessons_taken", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_enrollment_days_enrollment_id_enrollments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("enrollment_id", "day", name=op.f("pk_enrollment_days")),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_index(op.f("ix_enrollment_days_day"), "enrollment_days", ["day"])


def downgrade() -> None:
    op.drop_table("enrollment_days")
