"""Organization names held alone: a unique key on the name of an organization made so

``organizations.name_key`` is the SHA-256 (hex) of the name of an organization that holds its
name alone (``Organization.unique_name``: what ``learnprog init`` makes), ``NULL`` for the
others, under a unique key, so two ``init`` runs at once cannot both make an organization of
one name (issue 17). Organizations made before this revision hold no name alone (the command
line still refuses a name in use, by looking first).

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from learnprog.storage.sql.types import Key

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a column and a unique index, with no table rebuilt (SQLite's batch mode would drop and
    # copy the organizations table, which every other table refers to)
    op.add_column("organizations", sa.Column("name_key", Key(length=64), nullable=True))
    op.create_index(op.f("ix_organizations_name_key"), "organizations", ["name_key"], unique=True)


def downgrade() -> None:
    op.drop_index(op.f("ix_organizations_name_key"), table_name="organizations")
    op.drop_column("organizations", "name_key")
