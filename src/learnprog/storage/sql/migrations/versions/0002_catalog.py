"""Catalog: courses with items and assessments, specializations, skills

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from learnprog.storage.sql.types import Json, Key, UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "courses",
        sa.Column("id", Key(64), nullable=False),
        sa.Column("organization_id", Key(64), nullable=False),
        sa.Column("course_id", Key(64), nullable=False),
        sa.Column("slug", Key(80), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("partner", sa.String(length=200), nullable=True),
        sa.Column("class_start", UtcDateTime(), nullable=True),
        sa.Column("class_end", UtcDateTime(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_courses_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_courses")),
        sa.UniqueConstraint(
            "organization_id", "course_id", name=op.f("uq_courses_organization_id_course_id")
        ),
        sa.UniqueConstraint(
            "organization_id", "slug", name=op.f("uq_courses_organization_id_slug")
        ),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_table(
        "skills",
        sa.Column("id", Key(64), nullable=False),
        sa.Column("organization_id", Key(64), nullable=False),
        sa.Column("domain", Key(200), nullable=False),
        sa.Column("name", Key(200), nullable=False),
        sa.Column("definition", sa.Text(), nullable=True),
        sa.Column("example_subskills", Json(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_skills_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skills")),
        sa.UniqueConstraint(
            "organization_id", "domain", "name", name=op.f("uq_skills_organization_id_domain_name")
        ),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_table(
        "specializations",
        sa.Column("id", Key(64), nullable=False),
        sa.Column("organization_id", Key(64), nullable=False),
        sa.Column("slug", Key(80), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("partner", sa.String(length=200), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_specializations_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_specializations")),
        sa.UniqueConstraint(
            "organization_id", "slug", name=op.f("uq_specializations_organization_id_slug")
        ),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_table(
        "assessments",
        sa.Column("course_id", Key(64), nullable=False),
        sa.Column("id", Key(64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("graded", sa.Boolean(), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("weight", sa.Double(), nullable=False),
        sa.Column("due_at", UtcDateTime(), nullable=True),
        sa.Column("pass_mark", sa.Double(), nullable=False),
        sa.Column("options", sa.Integer(), nullable=True),
        sa.Column("skill_ids", Json(), nullable=False),
        sa.Column("item_id", Key(64), nullable=True),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_assessments_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("course_id", "id", name=op.f("pk_assessments")),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_table(
        "course_items",
        sa.Column("course_id", Key(64), nullable=False),
        sa.Column("id", Key(64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("lesson", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_course_items_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("course_id", "id", name=op.f("pk_course_items")),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_table(
        "specialization_courses",
        sa.Column("specialization_id", Key(64), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("course_id", Key(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"], ["courses.id"], name=op.f("fk_specialization_courses_course_id_courses")
        ),
        sa.ForeignKeyConstraint(
            ["specialization_id"],
            ["specializations.id"],
            name=op.f("fk_specialization_courses_specialization_id_specializations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "specialization_id", "position", name=op.f("pk_specialization_courses")
        ),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )


def downgrade() -> None:
    op.drop_table("specialization_courses")
    op.drop_table("course_items")
    op.drop_table("assessments")
    op.drop_table("specializations")
    op.drop_table("skills")
    op.drop_table("courses")
