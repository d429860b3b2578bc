"""Imported figures: the progress, hours, completion and grade an admin export gave an enrollment

An enrollment imported from a usage or specialization report keeps the export's figures here,
apart from the activity learnprog records; the enrollment's derived figures combine the two
(``learnprog.model.progress.with_imported``). Existing enrollments have none.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from learnprog.storage.sql.types import Key, UtcDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "imported_figures",
        sa.Column("enrollment_id", Key(length=64), nullable=False),
        sa.Column("progress", sa.Double(), nullable=False),
        sa.Column("learning_seconds", sa.Double(), nullable=False),
        sa.Column("last_activity_at", UtcDateTime(), nullable=True),
        sa.Column("completed_at", UtcDateTime(), nullable=True),
        sa.Column("grade", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_imported_figures_enrollment_id_enrollments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("enrollment_id", name=op.f("pk_imported_figures")),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )


def downgrade() -> None:
    op.drop_table("imported_figures")
