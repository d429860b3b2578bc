"""Creating and upgrading the schema: only through the Alembic migrations shipped here.

The migrations form one linear chain in ``migrations/versions``. :func:`upgrade` brings a
database to the newest revision (or a named one); it is what :func:`learnprog.connect` runs
unless told not to, and what ``learnprog db upgrade`` runs.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from learnprog.storage.sql.errors import translate_errors

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config() -> Config:
    """Return an Alembic configuration pointing at the shipped migrations (no .ini file)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    """Return the newest revision of the shipped chain."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Upgrade the database behind ``engine`` to ``revision`` (default: the newest).

    Raises:
        StorageUnavailableError: the database cannot be reached.
        StorageError: a migration failed.
    """
    config = alembic_config()
    with translate_errors("migration"), engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Downgrade the database behind ``engine`` to ``revision`` (``"base"`` empties it)."""
    config = alembic_config()
    with translate_errors("migration"), engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    """Return the database's revision, or ``None`` for a database without learnprog's schema."""
    with translate_errors("migration"), engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
