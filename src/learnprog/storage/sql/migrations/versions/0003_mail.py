"""Mail: delivery attempts, email opt-outs, outbox claims

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from learnprog.storage.sql.types import Key, UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "email_opt_outs",
        sa.Column("learner_id", Key(64), nullable=False),
        sa.Column("category", Key(16), nullable=False),
        sa.Column("organization_id", Key(64), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["learner_id"], ["learners.id"], name=op.f("fk_email_opt_outs_learner_id_learners")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_email_opt_outs_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("learner_id", "category", name=op.f("pk_email_opt_outs")),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_table(
        "mail_deliveries",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", Key(64), nullable=False),
        sa.Column("outbox_id", Key(64), nullable=False),
        sa.Column("organization_id", Key(64), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("template", sa.String(length=64), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_mail_deliveries_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["outbox_id"], ["outbox.id"], name=op.f("fk_mail_deliveries_outbox_id_outbox")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_mail_deliveries")),
        sa.UniqueConstraint("id", name=op.f("uq_mail_deliveries_id")),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_index(
        op.f("ix_mail_deliveries_organization_id_at"),
        "mail_deliveries",
        ["organization_id", "at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_mail_deliveries_outbox_id"), "mail_deliveries", ["outbox_id"], unique=False
    )
    op.add_column("outbox", sa.Column("claim_id", Key(64), nullable=True))


def downgrade() -> None:
    op.drop_column("outbox", "claim_id")
    op.drop_table("mail_deliveries")
    op.drop_table("email_opt_outs")
