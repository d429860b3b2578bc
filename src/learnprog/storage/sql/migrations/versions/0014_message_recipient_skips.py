"""Message recipients: the learners a message skipped, per program

A message's learners who opted out or were removed are kept beside those it was queued to, each
with the program they count in (``skipped``: ``opted_out`` or ``removed``), so a program admin's
history counts only their programs' learners. Messages sent before this revision have no such
rows: their skipped learners count in no program.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("message_recipients", sa.Column("skipped", sa.String(16), nullable=True))


def downgrade() -> None:
    op.execute("DELETE FROM message_recipients WHERE skipped IS NOT NULL")
    op.drop_column("message_recipients", "skipped")
