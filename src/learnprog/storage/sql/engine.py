"""Building engines for the supported backends: SQLite (a file), PostgreSQL and MariaDB."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url

from learnprog.errors import StorageError, ValidationError
from learnprog.storage.sql.errors import translate_errors
from learnprog.storage.sql.types import MYSQL_DIALECTS

SQLITE_BUSY_TIMEOUT_MS = 30_000


def create_sql_engine(url: str | URL, **kwargs: Any) -> Engine:
    """Return an engine configured for learnprog.

    - SQLite: a file only; foreign keys on, WAL journal, a busy timeout of 30 s, and every
      transaction opened with ``BEGIN IMMEDIATE`` so that concurrent writers wait their turn
      instead of failing (and savepoints work).
    - PostgreSQL (``postgresql+psycopg``) and MariaDB (``mysql+pymysql``): connections are
      checked before use; MariaDB connections use ``utf8mb4``; PostgreSQL connections plan
      each run of a prepared statement afresh (``plan_cache_mode = force_custom_plan``), so a
      plan made while a table was small is not kept as it grows.

    Args:
        url: a SQLAlchemy URL.
        **kwargs: passed on to :func:`sqlalchemy.create_engine`.

    Raises:
        ValidationError: not a URL, an in-memory SQLite URL (use ``memory://``), an unknown
            backend or a driver that is not installed.
    """
    try:
        parsed = make_url(url)
    except (sa.exc.ArgumentError, ValueError, TypeError) as exc:
        raise ValidationError(f"not a database URL: {url!r}", field="url") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            raise ValidationError(
                "SQLite storage needs a file: sqlite:///path.db "
                "(use memory:// for in-memory storage)",
                field="url",
            )
        engine = _create(parsed, **kwargs)
        sa.event.listen(engine, "connect", _sqlite_on_connect)
        sa.event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    if backend in MYSQL_DIALECTS:
        if "charset" not in parsed.query:
            parsed = parsed.update_query_dict({"charset": "utf8mb4"})
        return _create(parsed, pool_pre_ping=True, **kwargs)
    if backend == "postgresql":
        engine = _create(parsed, pool_pre_ping=True, **kwargs)
        sa.event.listen(engine, "connect", _postgresql_on_connect)
        return engine
    raise ValidationError(
        f"unsupported database backend {backend!r}: use sqlite, postgresql or mysql/mariadb",
        field="url",
    )


def _create(url: URL, **kwargs: Any) -> Engine:
    try:
        return sa.create_engine(url, **kwargs)
    except (sa.exc.NoSuchModuleError, sa.exc.ArgumentError, ImportError) as exc:
        raise ValidationError(
            f"cannot use {url.drivername!r}: {exc} (install learnprog[postgres] or "
            "learnprog[mysql] for those drivers)",
            field="url",
        ) from exc


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin (savepoints).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _postgresql_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # psycopg prepares a statement on the server after its fifth run, and PostgreSQL may then
    # keep one generic plan for it. A plan made while a table was nearly empty (a new
    # organization's first bulk invitation) stays until the next ANALYZE, which may be
    # minutes away (or never, with autovacuum off): the learner lookup read the whole
    # organization for every chunk, and 100,000 rows went 20 times slower. Custom plans are
    # made for each run with the tables' current sizes; the statement is still parsed once.
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET plan_cache_mode = force_custom_plan")
    dbapi_connection.commit()


def _sqlite_on_begin(conn: sa.Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def check_connection(engine: Engine) -> None:
    """Open and close one connection.

    Raises:
        StorageUnavailableError: the database cannot be reached.
        StorageError: any other failure.
    """
    with translate_errors("connection"), engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            if conn.exec_driver_sql("PRAGMA foreign_keys").scalar() != 1:
                raise StorageError("SQLite foreign keys could not be enabled")
