"""Skills: ratings per learner and skill, assessment difficulties, the scoring mark

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from learnprog.storage.sql.types import Key, UtcDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "skill_ratings",
        sa.Column("learner_id", Key(length=64), nullable=False),
        sa.Column("skill_id", Key(length=64), nullable=False),
        sa.Column("organization_id", Key(length=64), nullable=False),
        sa.Column("theta", sa.Double(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("intermediate_at", UtcDateTime(), nullable=True),
        sa.Column("advanced_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["learner_id"], ["learners.id"], name=op.f("fk_skill_ratings_learner_id_learners")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_skill_ratings_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["skill_id"], ["skills.id"], name=op.f("fk_skill_ratings_skill_id_skills")
        ),
        sa.PrimaryKeyConstraint("learner_id", "skill_id", name=op.f("pk_skill_ratings")),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_index(
        op.f("ix_skill_ratings_organization_id_skill_id"),
        "skill_ratings",
        ["organization_id", "skill_id"],
    )
    op.create_table(
        "item_difficulties",
        sa.Column("course_id", Key(length=64), nullable=False),
        sa.Column("assessment_id", Key(length=64), nullable=False),
        sa.Column("organization_id", Key(length=64), nullable=False),
        sa.Column("difficulty", sa.Double(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"], ["courses.id"], name=op.f("fk_item_difficulties_course_id_courses")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_item_difficulties_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("course_id", "assessment_id", name=op.f("pk_item_difficulties")),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_table(
        "skill_scoring",
        sa.Column("organization_id", Key(length=64), nullable=False),
        sa.Column("scored", sa.Integer(), nullable=False),
        sa.Column("last_at", UtcDateTime(), nullable=True),
        sa.Column("last_id", Key(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_skill_scoring_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("organization_id", name=op.f("pk_skill_scoring")),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )


def downgrade() -> None:
    op.drop_table("skill_scoring")
    op.drop_table("item_difficulties")
    op.drop_table("skill_ratings")
