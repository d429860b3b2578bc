"""Invitations: when the invitation email was last sent, and where the invitation came from

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from learnprog.storage.sql.types import UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("memberships", sa.Column("invitation_sent_at", UtcDateTime(), nullable=True))
    op.add_column(
        "memberships", sa.Column("invitation_source", sa.String(length=100), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("memberships", "invitation_source")
    op.drop_column("memberships", "invitation_sent_at")
