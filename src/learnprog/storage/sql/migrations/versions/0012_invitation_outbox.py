"""Outbox: the membership an invitation email invites to

The dispatcher sends an invitation only while that membership is INVITED (a revoked invitation,
or one whose program was removed, is cancelled instead). Messages queued before this revision
name no membership and are sent as before.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from learnprog.storage.sql.types import Key

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("outbox", sa.Column("membership_id", Key(64), nullable=True))


def downgrade() -> None:
    op.drop_column("outbox", "membership_id")
