"""Core: organizations, programs, contracts, learners, memberships, admins, audit log, outbox

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from learnprog.storage.sql.types import Json, Key, UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "organizations",
        sa.Column("id", Key(64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email_domains", Json(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("brand_color", sa.String(length=7), nullable=True),
        sa.Column("banner_url", sa.String(length=2000), nullable=True),
        sa.Column("logo_url", sa.String(length=2000), nullable=True),
        sa.Column("default_invitation_message", sa.Text(), nullable=True),
        sa.Column("report_program_ids", Json(), nullable=False),
        sa.Column("report_weekdays", Json(), nullable=False),
        sa.Column("restrict_invitations_to_domains", sa.Boolean(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations")),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_table(
        "audit_log",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", Key(64), nullable=False),
        sa.Column("organization_id", Key(64), nullable=False),
        sa.Column("program_id", Key(64), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("object_type", sa.String(length=50), nullable=False),
        sa.Column("object_id", Key(255), nullable=False),
        sa.Column("changes", Json(), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_audit_log_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
        sa.UniqueConstraint("id", name=op.f("uq_audit_log_id")),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_index(
        op.f("ix_audit_log_organization_id_at"),
        "audit_log",
        ["organization_id", "at"],
        unique=False,
    )
    op.create_table(
        "contracts",
        sa.Column("id", Key(64), nullable=False),
        sa.Column("organization_id", Key(64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=True),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.Column("starts_at", UtcDateTime(), nullable=False),
        sa.Column("ends_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint(
            "quantity IS NULL OR (used >= 0 AND used <= quantity)",
            name=op.f("ck_contracts_used_within_quantity"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_contracts_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contracts")),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_index(
        op.f("ix_contracts_organization_id"), "contracts", ["organization_id"], unique=False
    )
    op.create_table(
        "learners",
        sa.Column("id", Key(64), nullable=False),
        sa.Column("organization_id", Key(64), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("email_key", Key(320), nullable=False),
        sa.Column("external_id", Key(255), nullable=True),
        sa.Column("manager_name", sa.String(length=200), nullable=True),
        sa.Column("manager_email", sa.String(length=200), nullable=True),
        sa.Column("job_title", sa.String(length=200), nullable=True),
        sa.Column("job_type", sa.String(length=200), nullable=True),
        sa.Column("business_unit", sa.String(length=200), nullable=True),
        sa.Column("business_unit_2", sa.String(length=200), nullable=True),
        sa.Column("location_city", sa.String(length=200), nullable=True),
        sa.Column("location_country", sa.String(length=200), nullable=True),
        sa.Column("location_region", sa.String(length=200), nullable=True),
        sa.Column("attributes", Json(), nullable=False),
        sa.Column("identity_verified", sa.Boolean(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_learners_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learners")),
        sa.UniqueConstraint(
            "organization_id", "email_key", name=op.f("uq_learners_organization_id_email_key")
        ),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_index(
        op.f("ix_learners_organization_id_external_id"),
        "learners",
        ["organization_id", "external_id"],
        unique=False,
    )
    op.create_table(
        "outbox",
        sa.Column("id", Key(64), nullable=False),
        sa.Column("organization_id", Key(64), nullable=False),
        sa.Column("message_id", Key(255), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("to_address", sa.String(length=320), nullable=False),
        sa.Column("to_name", sa.String(length=200), nullable=True),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("text_body", sa.Text(), nullable=False),
        sa.Column("html_body", sa.Text(), nullable=True),
        sa.Column("sender_name", sa.String(length=200), nullable=True),
        sa.Column("sender_address", sa.String(length=320), nullable=False),
        sa.Column("reply_to", sa.String(length=320), nullable=True),
        sa.Column("template", sa.String(length=64), nullable=True),
        sa.Column("learner_id", Key(64), nullable=True),
        sa.Column("headers", Json(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
        sa.Column("sent_at", UtcDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_outbox_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("message_id", name=op.f("uq_outbox_message_id")),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_index(
        op.f("ix_outbox_status_next_attempt_at"),
        "outbox",
        ["status", "next_attempt_at"],
        unique=False,
    )
    op.create_table(
        "programs",
        sa.Column("id", Key(64), nullable=False),
        sa.Column("organization_id", Key(64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("slug", Key(80), nullable=False),
        sa.Column("tagline", sa.String(length=200), nullable=True),
        sa.Column("banner_url", sa.String(length=2000), nullable=True),
        sa.Column("course_enrollment_limit", sa.Integer(), nullable=True),
        sa.Column("invitation_message", sa.Text(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("removed_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_programs_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programs")),
        sa.UniqueConstraint("slug", name=op.f("uq_programs_slug")),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_index(
        op.f("ix_programs_organization_id"), "programs", ["organization_id"], unique=False
    )
    op.create_table(
        "admins",
        sa.Column("organization_id", Key(64), nullable=False),
        sa.Column("learner_id", Key(64), nullable=False),
        sa.Column("scope", Key(64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("program_id", Key(64), nullable=True),
        sa.Column("granted_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["learner_id"], ["learners.id"], name=op.f("fk_admins_learner_id_learners")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_admins_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_admins_program_id_programs")
        ),
        sa.PrimaryKeyConstraint("organization_id", "learner_id", "scope", name=op.f("pk_admins")),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_table(
        "memberships",
        sa.Column("id", Key(64), nullable=False),
        sa.Column("organization_id", Key(64), nullable=False),
        sa.Column("program_id", Key(64), nullable=False),
        sa.Column("learner_id", Key(64), nullable=False),
        sa.Column("contract_id", Key(64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("invited_at", UtcDateTime(), nullable=False),
        sa.Column("joined_at", UtcDateTime(), nullable=True),
        sa.Column("removed_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contracts.id"], name=op.f("fk_memberships_contract_id_contracts")
        ),
        sa.ForeignKeyConstraint(
            ["learner_id"], ["learners.id"], name=op.f("fk_memberships_learner_id_learners")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_memberships_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_memberships_program_id_programs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memberships")),
        sa.UniqueConstraint(
            "program_id", "learner_id", name=op.f("uq_memberships_program_id_learner_id")
        ),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_index(op.f("ix_memberships_learner_id"), "memberships", ["learner_id"], unique=False)


def downgrade() -> None:
    op.drop_table("memberships")
    op.drop_table("admins")
    op.drop_table("programs")
    op.drop_table("outbox")
    op.drop_table("learners")
    op.drop_table("contracts")
    op.drop_table("audit_log")
    op.drop_table("organizations")
