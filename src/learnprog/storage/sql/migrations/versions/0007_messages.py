"""Messages: admin messages sent to learners, and their recipients

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from learnprog.storage.sql.types import Json, Key, UtcDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "messages",
        sa.Column("id", Key(length=64), nullable=False),
        sa.Column("organization_id", Key(length=64), nullable=False),
        sa.Column("idempotency_key", Key(length=64), nullable=False),
        sa.Column("audience", sa.String(length=32), nullable=False),
        sa.Column("filters", Json(), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("cta_label", sa.String(length=80), nullable=True),
        sa.Column("cta_url", sa.String(length=2000), nullable=True),
        sa.Column("sender_name", sa.String(length=200), nullable=False),
        sa.Column("reply_to", sa.String(length=320), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("sent_at", UtcDateTime(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("opted_out", sa.Integer(), nullable=False),
        sa.Column("removed", sa.Integer(), nullable=False),
        sa.Column("program_ids", Json(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_messages_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint(
            "organization_id",
            "idempotency_key",
            name=op.f("uq_messages_organization_id_idempotency_key"),
        ),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_index(
        op.f("ix_messages_organization_id_sent_at"), "messages", ["organization_id", "sent_at"]
    )
    op.create_table(
        "message_recipients",
        sa.Column("message_id", Key(length=64), nullable=False),
        sa.Column("learner_id", Key(length=64), nullable=False),
        sa.Column("program_id", Key(length=64), nullable=False),
        sa.Column("outbox_id", Key(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["learner_id"], ["learners.id"], name=op.f("fk_message_recipients_learner_id_learners")
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_message_recipients_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["outbox_id"], ["outbox.id"], name=op.f("fk_message_recipients_outbox_id_outbox")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_message_recipients_program_id_programs")
        ),
        sa.PrimaryKeyConstraint("message_id", "learner_id", name=op.f("pk_message_recipients")),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_index(op.f("ix_message_recipients_program_id"), "message_recipients", ["program_id"])


def downgrade() -> None:
    op.drop_table("message_recipients")
    op.drop_table("messages")
