"""Building engines for the supported backends: SQLite (a file), PostgreSQL and MariaDB."""

from __future__ import annotations

import math
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url

from learnprog.errors import StorageError, ValidationError
from learnprog.storage.sql.errors import translate_errors
from learnprog.storage.sql.types import MYSQL_DIALECTS

SQLITE_BUSY_TIMEOUT_MS = 30_000

_SQLITE_ARGUMENTS = frozenset(
    {"timeout", "isolation_level", "detect_types", "check_same_thread", "cached_statements", "uri"}
)
"""The query arguments pysqlite takes without ``uri=true`` (SQLAlchemy ignores any other)."""

_TIMEOUTS = {
    # argument: (the least value allowed, whether a fraction is allowed)
    "sqlite": {"timeout": (0.0, True)},
    "postgresql": {"connect_timeout": (0.0, False)},
    "mysql": {"connect_timeout": (1.0, False), "read_timeout": (1.0, False),
              "write_timeout": (1.0, False)},
}  # fmt: skip
"""Timeouts in seconds a URL may set, per backend: libpq and SQLAlchemy's MySQL dialect take
whole seconds, and PyMySQL refuses 0."""


def checked_url(url: str | URL) -> URL:
    """Parse a database URL and refuse what its driver would misread or fail on untyped.

    The checks, each naming the part of the URL at fault (``field="url"``):

    - a NUL character anywhere (the C drivers cut a name at it, so ``test``, NUL, ``x`` opens
      ``test``, and Python's file functions refuse it);
    - a timeout (``timeout``, ``connect_timeout``, ``read_timeout``, ``write_timeout``) that is
      not a number of seconds, or negative (zero too for MariaDB; a whole number for
      PostgreSQL and MariaDB);
    - for MariaDB, a ``charset`` other than ``utf8mb4``: learnprog stores any Unicode text,
      and ``utf8`` (utf8mb3), ``latin1`` and the rest cannot hold it all; an unknown name
      would fail inside PyMySQL;
    - for SQLite, an in-memory database (``:memory:``, ``mode=memory``, ``file::memory:``:
      learnprog's SQLite is a file; ``memory://`` is in-memory storage), a ``file:`` name
      without ``uri=true`` (pysqlite would make a file named ``file:...``) and a query
      argument pysqlite does not take (SQLAlchemy would ignore it).

    Args:
        url: a SQLAlchemy URL.

    Returns:
        The parsed URL.

    Raises:
        ValidationError: not a URL, or one of the checks above.
    """
    try:
        parsed = make_url(url)
    except (sa.exc.ArgumentError, ValueError, TypeError) as exc:
        raise ValidationError(f"not a database URL: {url!r}", field="url") from exc
    parts = {
        "driver name": parsed.drivername,
        "user name": parsed.username,
        "password": parsed.password,
        "host": parsed.host,
        "database": parsed.database,
    }
    for key, values in parsed.query.items():
        parts[f"query argument name {key!r}"] = key
        for value in (values,) if isinstance(values, str) else values:
            parts[f"query argument {key!r}"] = value
    for part, text in parts.items():
        if text is not None and "\x00" in str(text):
            raise ValidationError(f"the URL's {part} holds a NUL character", field="url")
    backend = parsed.get_backend_name()
    family = "mysql" if backend in MYSQL_DIALECTS else backend
    for key, (least, fraction) in _TIMEOUTS.get(family, {}).items():
        if key in parsed.query:
            _check_timeout(key, parsed.query[key], least, fraction)
    if family == "mysql" and "charset" in parsed.query:
        charset = parsed.query["charset"]
        if not isinstance(charset, str) or charset.lower() != "utf8mb4":
            raise ValidationError(
                f"the URL's charset is {charset!r}: learnprog needs utf8mb4 on MariaDB, the only "
                "charset that holds all of Unicode (leave charset out to get it)",
                field="url",
            )
    if backend == "sqlite":
        _check_sqlite(parsed)
    return parsed


def _check_timeout(key: str, value: str | tuple[str, ...], least: float, fraction: bool) -> None:
    try:
        if not isinstance(value, str):
            raise ValueError("given more than once")
        seconds = float(value) if fraction else int(value)
        if not math.isfinite(seconds) or seconds < least:
            raise ValueError(f"at least {least:g}")
    except ValueError as exc:
        kind = "a number of seconds" if fraction else "a whole number of seconds"
        raise ValidationError(
            f"the URL's {key} is {value!r}: it takes {kind}, {least:g} or more",
            field="url",
        ) from exc


def _check_sqlite(parsed: URL) -> None:
    database = parsed.database or ""
    uri = str(parsed.query.get("uri", "")).lower() in ("true", "1")
    memory = database in ("", ":memory:") or (
        uri
        and (
            "mode=memory" in database
            or database.split("?", 1)[0] in ("file::memory:", "file:")
            or str(parsed.query.get("mode", "")).lower() == "memory"
        )
    )
    if memory or (not uri and database.startswith("file::memory:")):
        raise ValidationError(
            "SQLite storage needs a file: sqlite:///path.db (use memory:// for in-memory storage)",
            field="url",
        )
    if not uri and database.startswith("file:"):
        raise ValidationError(
            f"the URL's SQLite database {database!r} is a URI filename: add uri=true to the "
            "query to use it as one, or give a plain path",
            field="url",
        )
    if not uri:
        unknown = sorted(set(parsed.query) - _SQLITE_ARGUMENTS)
        if unknown:
            raise ValidationError(
                f"the URL's query argument{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(map(repr, unknown))} {'are' if len(unknown) > 1 else 'is'} not "
                f"taken by SQLite (it takes {', '.join(sorted(_SQLITE_ARGUMENTS))}; with "
                "uri=true, a URI filename's own)",
                field="url",
            )


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

    Connections are opened through :func:`_connect`, so a URL argument the driver refuses
    with a plain Python error (an unknown PyMySQL argument, an ``ssl_ca`` file that is not
    there) is a :class:`~learnprog.errors.ValidationError` naming the URL too.

    Raises:
        ValidationError: not a URL, one that :func:`checked_url` refuses (a NUL, a bad
            timeout, a MariaDB charset other than utf8mb4, an in-memory SQLite URL: use
            ``memory://``), an unknown backend or a driver that is not installed.
    """
    parsed = checked_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
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
        engine = sa.create_engine(url, **kwargs)
    except (sa.exc.NoSuchModuleError, sa.exc.ArgumentError, ImportError) as exc:
        raise ValidationError(
            f"cannot use {url.drivername!r}: {exc} (install learnprog[postgres] or "
            "learnprog[mysql] for those drivers)",
            field="url",
        ) from exc
    except (TypeError, ValueError) as exc:  # the dialect read the query arguments and failed
        raise ValidationError(
            f"the database URL's query arguments ({', '.join(sorted(url.query)) or 'none'}) "
            f"cannot be used: {exc}",
            field="url",
        ) from exc
    sa.event.listen(engine, "do_connect", _connect)
    return engine


def _connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
    """Open a DBAPI connection; a plain Python error of the driver is the URL's fault.

    Drivers refuse a connection argument they cannot use with a ``TypeError`` (an unknown
    keyword), a ``ValueError`` (a value out of range) or an ``OSError`` (a certificate file
    that is not there) rather than their DBAPI error, which :func:`translate_errors` handles.

    Raises:
        ValidationError: such an error, naming the URL (``field="url"``).
    """
    try:
        return dialect.connect(*cargs, **cparams)
    except dialect.loaded_dbapi.Error:
        raise
    except (TypeError, ValueError, LookupError, OSError) as exc:
        named = ", ".join(sorted(k for k in cparams if k not in _PLAIN_PARAMS)) or "none"
        raise ValidationError(
            f"the database URL's arguments cannot be used by the driver: {exc} "
            f"(arguments: {named})",
            field="url",
        ) from exc


_PLAIN_PARAMS = frozenset({"host", "port", "user", "password", "database", "db", "dbname"})
"""Connection parameters every URL has; the others are its query's, named in errors."""


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


READ_ONLY = "learnprog_read_only"
"""Execution option of a SQLite connection that only reads: its transactions begin with a
plain (deferred) ``BEGIN``, which a writer does not block (WAL), instead of ``BEGIN IMMEDIATE``."""


def _sqlite_on_begin(conn: sa.Connection) -> None:
    read_only = conn.get_execution_options().get(READ_ONLY, False)
    conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


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
