"""Creating and upgrading the schema: only through the Alembic migrations shipped here.

The migrations form one linear chain in ``migrations/versions``. :func:`upgrade` brings a
database to the newest revision (or a named one); it is what :func:`learnprog.connect` runs
unless told not to, and what ``learnprog db upgrade`` runs.

Every change of the schema runs under learnprog's schema lock (:func:`schema_lock`), held on
one connection from before Alembic reads the database's revision until the change is
committed, so that several processes starting at once on one database (web workers, a
worker and the command line) make one schema: the first upgrades, the others wait, then find
the newest revision and change nothing.

Alembic is imported only when a change is needed: a database already at the newest revision
is recognized with one query, without it (``import alembic`` takes longer than a command).
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from learnprog.errors import ConcurrencyError, ValidationError
from learnprog.storage.sql.engine import READ_ONLY, SQLITE_BUSY_TIMEOUT_MS
from learnprog.storage.sql.errors import translate_errors
from learnprog.storage.sql.types import MYSQL_DIALECTS

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")

SCHEMA_LOCK_TIMEOUT_S = 600.0
"""Seconds a process waits for the schema lock before giving up (another one is upgrading)."""

SCHEMA_LOCK_KEY = -3845087879707625001
"""PostgreSQL advisory lock key of the schema lock: the first 8 bytes of SHA-256 of
``learnprog.schema``, signed. Advisory locks are scoped to one database."""

_MYSQL_LOCK_NAME = "learnprog.schema."
"""Prefix of MariaDB's named lock (``GET_LOCK``); names are server-wide, so the database's
name follows (hashed when the whole would pass MySQL's limit of 64 characters)."""

_REVISION_FILE = re.compile(r"^(\d{4})_\w+\.py$")

_log = logging.getLogger("learnprog.migrations")


def alembic_config() -> Config:
    """Return an Alembic configuration pointing at the shipped migrations (no .ini file)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    """Return the newest revision of the shipped chain, as Alembic reads it."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def shipped_head() -> str:
    """Return the newest shipped revision from the file names alone, without Alembic.

    Each migration file is named after its revision, ``NNNN_what.py`` with revision
    ``"NNNN"`` (the test suite holds this equal to :func:`head_revision`).
    """
    names = (_REVISION_FILE.match(p.name) for p in (MIGRATIONS / "versions").iterdir())
    return max(m.group(1) for m in names if m is not None)


def stored_revision(engine: Engine) -> str | None:
    """Return the database's revision read with plain SQL, or ``None`` without a version table.

    Reads ``alembic_version`` without taking the schema lock and without Alembic (on SQLite
    in a deferred transaction, which a writer holding the lock does not block); several rows
    (never written by learnprog's linear chain) read as ``None``.

    Raises:
        StorageUnavailableError: the database cannot be reached.
        StorageError: any other failure.
    """
    with translate_errors("migration"), engine.connect() as conn:
        conn = conn.execution_options(**{READ_ONLY: True})  # SQLite: not behind a writer
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        rows = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
    return str(rows[0]) if len(rows) == 1 else None


def _mysql_lock_name(conn: Connection) -> str:
    database = str(conn.execute(sa.text("SELECT DATABASE()")).scalar() or "")
    name = _MYSQL_LOCK_NAME + database
    if len(name) > 64:
        name = _MYSQL_LOCK_NAME + hashlib.sha256(database.encode()).hexdigest()[:40]
    return name


def _lock_timed_out(engine: Engine, timeout: float) -> ConcurrencyError:
    return ConcurrencyError(
        f"the schema lock of {engine.url.render_as_string(hide_password=True)} was not "
        f"free after {timeout:g} s: another process is upgrading the schema (or holds the "
        "lock); run again once it is done, or upgrade once at deployment (learnprog db "
        "upgrade) and connect with migrate=False"
    )


def _acquire(conn: Connection, timeout: float) -> str | None:
    """Take the schema lock on ``conn``'s session (server databases); return its MariaDB name.

    On SQLite the lock is the ``BEGIN IMMEDIATE`` of the transaction that follows; here its
    busy timeout (how long that waits) is set to ``timeout``.
    """
    dialect = conn.dialect.name
    if dialect == "sqlite":
        driver = conn.connection.driver_connection
        assert driver is not None
        driver.execute(f"PRAGMA busy_timeout={max(1, round(timeout * 1000))}")
        return None
    if dialect == "postgresql":
        try:
            conn.execute(
                sa.text("SELECT set_config('lock_timeout', :wait, true)"),
                {"wait": f"{max(1, round(timeout * 1000))}ms"},
            )
            conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
        except sa.exc.OperationalError as exc:
            conn.rollback()
            if getattr(exc.orig, "sqlstate", None) == "55P03":  # lock_not_available
                raise _lock_timed_out(conn.engine, timeout) from exc
            raise
        conn.commit()  # a session lock: it outlives the transaction, whose snapshot ends here
        return None
    if dialect in MYSQL_DIALECTS:
        name = _mysql_lock_name(conn)
        got = conn.execute(
            sa.text("SELECT GET_LOCK(:name, :wait)"), {"name": name, "wait": timeout}
        ).scalar()
        conn.commit()  # the migration's transaction (and its snapshot) starts after the lock
        if got != 1:
            raise _lock_timed_out(conn.engine, timeout)
        return name
    raise ConcurrencyError(f"no schema lock for the {dialect} dialect")


def _release(conn: Connection, name: str | None) -> None:
    """Release the schema lock; when that fails, close the connection, which releases it."""
    dialect = conn.dialect.name
    try:
        if dialect == "sqlite":
            driver = conn.connection.driver_connection
            assert driver is not None
            driver.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        elif dialect == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": SCHEMA_LOCK_KEY})
            conn.commit()
        else:
            conn.execute(sa.text("SELECT RELEASE_LOCK(:name)"), {"name": name})
            conn.commit()
    except (sa.exc.SQLAlchemyError, OSError) as exc:
        _log.warning("the schema lock was not released (%s); closing its connection", exc)
        conn.invalidate()


def _check_timeout(timeout: float) -> None:
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not math.isfinite(timeout)
        or timeout <= 0
    ):
        raise ValidationError(
            f"the schema lock's timeout is a positive number of seconds, not {timeout!r}",
            field="lock_timeout",
            value=timeout,
        )


@contextmanager
def schema_lock(engine: Engine, *, timeout: float = SCHEMA_LOCK_TIMEOUT_S) -> Iterator[Connection]:
    """Hold learnprog's schema lock while the block runs; yield its connection, in a transaction.

    The lock is the database's own, taken on one connection and released when the block ends,
    whatever happens in it (a failed release closes the connection, which ends the lock on
    the server as well):

    - PostgreSQL: the session advisory lock ``pg_advisory_lock(SCHEMA_LOCK_KEY)``, waited for
      under ``lock_timeout``;
    - MariaDB: the named lock ``GET_LOCK('learnprog.schema.DATABASE', timeout)``;
    - SQLite: the write lock of the transaction, ``BEGIN IMMEDIATE``, with the busy timeout
      raised to ``timeout`` while it is waited for.

    The yielded connection is in a transaction begun once the lock is held (so it reads what
    the previous holder committed), committed when the block ends normally and rolled back if
    it raises; the lock is released after that.

    Args:
        engine: an engine made by :func:`~learnprog.storage.sql.create_sql_engine`.
        timeout: seconds to wait for the lock (default :data:`SCHEMA_LOCK_TIMEOUT_S`).

    Raises:
        ValidationError: ``timeout`` is not a positive, finite number of seconds.
        ConcurrencyError: the lock was not free after ``timeout`` seconds.
        StorageUnavailableError: the database cannot be reached.
        StorageError: any other database failure.
    """
    _check_timeout(timeout)
    with engine.connect() as conn:
        with translate_errors("schema lock"):
            name = _acquire(conn, timeout)
        try:
            try:
                transaction = conn.begin()
            except sa.exc.OperationalError as exc:
                if conn.dialect.name == "sqlite" and "locked" in str(exc.orig).lower():
                    raise _lock_timed_out(engine, timeout) from exc
                raise
            with transaction:
                yield conn
        finally:
            _release(conn, name)


def upgrade_locked(conn: Connection, revision: str = "head") -> None:
    """Upgrade on a connection holding the schema lock (yielded by :func:`schema_lock`).

    For code of a host's own that holds the lock for more than the upgrade; otherwise call
    :func:`upgrade`, which takes the lock.

    Args:
        conn: the connection :func:`schema_lock` yielded, inside its block.
        revision: the revision to reach, default the newest.

    Raises:
        ConflictError: a migration refused the stored data (revision 0013's shared keys).
        StorageError: a migration failed.
    """
    from alembic import command

    config = alembic_config()
    config.attributes["connection"] = conn
    with translate_errors("migration"):
        command.upgrade(config, revision)


def upgrade(
    engine: Engine, revision: str = "head", *, lock_timeout: float = SCHEMA_LOCK_TIMEOUT_S
) -> None:
    """Upgrade the database behind ``engine`` to ``revision`` (default: the newest).

    A database already at the newest revision is left as it is after one query. Otherwise
    the upgrade runs under the schema lock (:func:`schema_lock`): Alembic reads the revision
    and upgrades with the lock held, so processes upgrading one database at once wait for
    each other, and those that come after the first find the newest revision and do nothing.

    Args:
        engine: an engine made by :func:`~learnprog.storage.sql.create_sql_engine`.
        revision: the revision to reach (``"0012"``), default the newest.
        lock_timeout: seconds to wait for another process's upgrade.

    Raises:
        ValidationError: ``lock_timeout`` is not a positive, finite number of seconds.
        ConcurrencyError: another process held the schema lock for ``lock_timeout`` seconds.
        ConflictError: a migration refused the stored data (revision 0013's shared keys).
        StorageUnavailableError: the database cannot be reached.
        StorageError: a migration failed.
    """
    _check_timeout(lock_timeout)
    if revision == "head" and stored_revision(engine) == shipped_head():
        return
    with translate_errors("migration"), schema_lock(engine, timeout=lock_timeout) as conn:
        upgrade_locked(conn, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Downgrade the database behind ``engine`` to ``revision`` (``"base"`` empties it).

    Runs under the schema lock, as :func:`upgrade`.
    """
    from alembic import command

    config = alembic_config()
    with translate_errors("migration"), schema_lock(engine) as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    """Return the database's revision, or ``None`` for a database without learnprog's schema."""
    from alembic.runtime.migration import MigrationContext

    with translate_errors("migration"), engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
