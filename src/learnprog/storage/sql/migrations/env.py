"""Alembic environment for learnprog: runs on the connection handed in by ``migrate.py``."""

from __future__ import annotations

from alembic import context

from learnprog.storage.sql.tables import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("learnprog migrations run through learnprog.storage.sql.migrate")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
