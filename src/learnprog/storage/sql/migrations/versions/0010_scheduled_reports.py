"""Scheduled reports: one row per organization, admin and local day a scheduled report went out

Sending the scheduled usage report emails is idempotent per organization, admin and the
organization's local day: the primary key refuses a second row, so a second run (or a second
scheduler at the same moment) sends nothing more.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from learnprog.storage.sql.types import Json, Key, UtcDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scheduled_reports",
        sa.Column("organization_id", Key(length=64), nullable=False),
        sa.Column("learner_id", Key(length=64), nullable=False),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("sent_at", UtcDateTime(), nullable=False),
        sa.Column("program_ids", Json(), nullable=False),
        sa.Column("outbox_id", Key(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_scheduled_reports_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["learner_id"],
            ["learners.id"],
            name=op.f("fk_scheduled_reports_learner_id_learners"),
        ),
        sa.PrimaryKeyConstraint(
            "organization_id", "learner_id", "local_day", name=op.f("pk_scheduled_reports")
        ),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )


def downgrade() -> None:
    op.drop_table("scheduled_reports")
