"""Curriculum: a program's collections of courses and specializations, in order

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from learnprog.storage.sql.types import Key

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "collections",
        sa.Column("id", Key(64), nullable=False),
        sa.Column("program_id", Key(64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_collections_program_id_programs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collections")),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_index(
        op.f("ix_collections_program_id_position"),
        "collections",
        ["program_id", "position"],
        unique=False,
    )
    op.create_table(
        "collection_entries",
        sa.Column("collection_id", Key(64), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("course_id", Key(64), nullable=True),
        sa.Column("specialization_id", Key(64), nullable=True),
        sa.CheckConstraint(
            "(kind = 'course' AND course_id IS NOT NULL AND specialization_id IS NULL) OR "
            "(kind = 'specialization' AND specialization_id IS NOT NULL AND course_id IS NULL)",
            name=op.f("ck_collection_entries_one_target"),
        ),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["collections.id"],
            name=op.f("fk_collection_entries_collection_id_collections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["course_id"], ["courses.id"], name=op.f("fk_collection_entries_course_id_courses")
        ),
        sa.ForeignKeyConstraint(
            ["specialization_id"],
            ["specializations.id"],
            name=op.f("fk_collection_entries_specialization_id_specializations"),
        ),
        sa.PrimaryKeyConstraint("collection_id", "position", name=op.f("pk_collection_entries")),
        sa.UniqueConstraint(
            "collection_id", "course_id", name=op.f("uq_collection_entries_collection_id_course_id")
        ),
        sa.UniqueConstraint(
            "collection_id",
            "specialization_id",
            name=op.f("uq_collection_entries_collection_id_specialization_id"),
        ),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_index(
        op.f("ix_collection_entries_course_id"), "collection_entries", ["course_id"], unique=False
    )
    op.create_index(
        op.f("ix_collection_entries_specialization_id"),
        "collection_entries",
        ["specialization_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("collection_entries")  # its indexes go with it (MariaDB refuses to drop
    op.drop_table("collections")  # an index a foreign key needs before the table)
