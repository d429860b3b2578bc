"""Long scans and bulk inserts straight through the database driver's cursor.

SQLAlchemy makes a ``Row`` per row and runs each column's result processing; for a scan of
millions of rows whose columns need none (strings and floats), that is most of the time spent
reading. :func:`driver_rows` compiles the statement with SQLAlchemy (so the SQL is the
dialect's own, parameters bound as usual) and then runs it on a cursor of the same
connection, inside the unit of work's transaction, streaming: a named (server-side) cursor on
PostgreSQL (psycopg), an unbuffered one on MariaDB/MySQL (PyMySQL), SQLite's own cursor
otherwise. Another driver falls back to SQLAlchemy's streamed result.

:func:`insert_rows` is the write side: SQLAlchemy's executemany of an ``INSERT`` builds a
parameter dictionary per row and runs each value through the generic bind machinery, which for
bulk writes (a bulk invitation's learners, memberships, audit entries and emails) costs more
than the database does. It compiles the ``INSERT`` once, converts each value with the column
type's own bind processor (the same conversion SQLAlchemy applies) and hands the rows to the
driver's ``executemany`` through :meth:`sqlalchemy.engine.Connection.exec_driver_sql`; on
PostgreSQL (psycopg) to a ``COPY ... FROM STDIN`` instead.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any
from uuid import uuid4

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Dialect

from learnprog.storage.sql.errors import translate

#: (dialect name, driver name) pairs read through their own cursor.
_DIRECT = {("sqlite", "pysqlite"), ("postgresql", "psycopg"), ("mysql", "pymysql"),
           ("mariadb", "pymysql")}  # fmt: skip


def driver_rows(
    connection: sa.Connection, statement: sa.Select[Any], *, kind: str, batch: int = 5000
) -> Iterator[tuple[Any, ...]]:
    """Yield the rows of ``statement`` as the driver returns them, ``batch`` at a time.

    Only for statements whose selected columns need no result processing (strings, floats,
    integers): no type conversion is done here, and no value bound in ``statement`` may need
    a bind processor either. The cursor is closed when the generator finishes or is closed.

    Raises:
        StorageUnavailableError: the database could not be reached.
        StorageError: any other database failure (``kind`` names the records read).
    """
    dialect = connection.dialect
    if (dialect.name, dialect.driver) not in _DIRECT:
        try:
            result = connection.execute(statement.execution_options(yield_per=batch))
            for partition in result.partitions():
                yield from (tuple(row) for row in partition)
        except sa_exc.SQLAlchemyError as exc:
            raise translate(exc, kind) from exc
        return
    compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    values = compiled.construct_params()
    parameters: Any = (
        tuple(values[name] for name in compiled.positiontup or ()) if dialect.positional else values
    )
    raw: Any = connection.connection.dbapi_connection
    if dialect.name == "postgresql":
        cursor = raw.cursor(name=f"learnprog_{uuid4().hex}")
    elif dialect.driver == "pymysql":
        import pymysql.cursors

        cursor = raw.cursor(pymysql.cursors.SSCursor)
    else:
        cursor = raw.cursor()
    error = dialect.loaded_dbapi.Error
    sql = str(compiled)
    try:
        cursor.execute(sql, parameters)
        while rows := cursor.fetchmany(batch):
            yield from rows
    except error as exc:
        raise translate(sa_exc.DBAPIError.instance(sql, parameters, exc, error), kind) from exc
    finally:
        cursor.close()


def insert_rows(
    connection: sa.Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Insert ``rows`` (column key -> value, the same keys in every row) in one statement.

    The values are what a Core ``table.insert()`` takes (aware datetimes, JSON documents as
    Python data) and are converted as Core converts them; columns left out get their server
    default. Run it inside the caller's transaction (and savepoint): nothing is committed here.
    One executemany of the ``INSERT``; on PostgreSQL (psycopg), one ``COPY ... FROM STDIN``,
    which the server takes in one go instead of one statement execution per row.

    Raises:
        KeyError: a row lacks a key the first row has.
        ValidationError: a column type refused a value (a naive datetime).
        sqlalchemy.exc.DBAPIError: the driver refused the statement (the caller translates it).
    """
    if not rows:
        return
    sql, keys, processors = _insert_plan(table, tuple(rows[0]), connection.dialect)
    columns = [
        _bound([row[k] for row in rows], process)
        for k, process in zip(keys, processors, strict=True)
    ]
    dialect = connection.dialect
    if (dialect.name, dialect.driver) == ("postgresql", "psycopg"):
        _copy(connection, table, keys, zip(*columns, strict=True))
        return
    parameters: list[Any] = (
        list(zip(*columns, strict=True))
        if dialect.positional
        else [dict(zip(keys, values, strict=True)) for values in zip(*columns, strict=True)]
    )
    connection.exec_driver_sql(sql, parameters)


#: Rows per statement of :func:`insert_new_rows`: 1,000 rows of 8 columns stay far below
#: SQLite's 32,766 and PostgreSQL's 65,535 parameters a statement.
NEW_ROWS_BATCH = 1000


def insert_new_rows(
    connection: sa.Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]], returned: str
) -> list[Any] | None:
    """Insert ``rows`` whose primary key is free; return column ``returned`` of those stored.

    ``INSERT ... VALUES (...), (...) ON CONFLICT DO NOTHING RETURNING`` in statements of
    :data:`NEW_ROWS_BATCH` rows, compiled once per table, columns and size, the values
    converted as :func:`insert_rows` converts them: the same statement SQLAlchemy's
    "insertmanyvalues" runs, without its per-row parameter handling (ingest writes a million
    events). A row another transaction is inserting makes the statement wait for it to end,
    as ``ON CONFLICT`` does. Only for SQLite (pysqlite) and PostgreSQL (psycopg); another
    dialect or driver returns ``None`` and the caller writes the rows its own way.

    Raises:
        KeyError: a row lacks a key the first row has.
        ValidationError: a column type refused a value (a naive datetime).
        sqlalchemy.exc.DBAPIError: the driver refused the statement (the caller translates it).
    """
    dialect = connection.dialect
    if not takes_new_rows(dialect):
        return None
    if not rows:
        return []
    _, keys, processors = _insert_plan(table, tuple(rows[0]), dialect)
    columns = [
        _bound([row[k] for row in rows], process)
        for k, process in zip(keys, processors, strict=True)
    ]
    values = list(zip(*columns, strict=True))
    raw: Any = connection.connection.dbapi_connection
    error = dialect.loaded_dbapi.Error
    found: list[Any] = []
    cursor = raw.cursor()
    try:
        for start in range(0, len(values), NEW_ROWS_BATCH):
            batch = values[start : start + NEW_ROWS_BATCH]
            sql = _new_rows_sql(table, keys, returned, len(batch), dialect)
            try:
                cursor.execute(sql, [v for row in batch for v in row])
                found += [r[0] for r in cursor.fetchall()]
            except error as exc:
                raise sa_exc.DBAPIError.instance(sql, None, exc, error) from exc
    finally:
        cursor.close()
    return found


def takes_new_rows(dialect: Dialect) -> bool:
    """True when :func:`insert_new_rows` writes through this dialect's driver."""
    return (dialect.name, dialect.driver) in (("sqlite", "pysqlite"), ("postgresql", "psycopg"))


@functools.lru_cache(maxsize=64)
def _new_rows_sql(
    table: sa.Table, keys: tuple[str, ...], returned: str, count: int, dialect: Dialect
) -> str:
    """The SQL of :func:`insert_new_rows` for ``count`` rows (placeholders ``?`` or ``%s``)."""
    quote = dialect.identifier_preparer
    mark = "?" if dialect.name == "sqlite" else "%s"
    one = "(" + ", ".join([mark] * len(keys)) + ")"
    names = ", ".join(quote.quote(table.c[k].name) for k in keys)
    return (
        f"INSERT INTO {quote.format_table(table)} ({names}) VALUES "
        + ", ".join([one] * count)
        + f" ON CONFLICT DO NOTHING RETURNING {quote.quote(table.c[returned].name)}"
    )


def _copy(
    connection: sa.Connection,
    table: sa.Table,
    keys: Sequence[str],
    rows: Iterable[tuple[Any, ...]],
) -> None:
    """Write ``rows`` (values in ``keys`` order, bound) with psycopg's ``COPY ... FROM STDIN``."""
    quote = connection.dialect.identifier_preparer
    names = ", ".join(quote.quote(table.c[k].name) for k in keys)
    sql = f"COPY {quote.format_table(table)} ({names}) FROM STDIN"
    raw: Any = connection.connection.dbapi_connection
    error = connection.dialect.loaded_dbapi.Error
    try:
        with raw.cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
    except error as exc:
        raise sa_exc.DBAPIError.instance(sql, None, exc, error) from exc


_Processor = Callable[[Any], Any]


def _bound(values: list[Any], process: _Processor | None) -> list[Any]:
    """One column's values as the driver takes them: each distinct object converted once.

    A bulk write repeats objects (one ``now`` stamps every row of a chunk; ``None``): keyed by
    identity, never by equality, so equal values of different types stay apart.
    """
    if process is None:
        return values
    done: dict[int, Any] = {}
    for value in values:
        if id(value) not in done:
            done[id(value)] = process(value)
    return [done[id(value)] for value in values]


@functools.lru_cache(maxsize=256)
def _insert_plan(
    table: sa.Table, columns: tuple[str, ...], dialect: Dialect
) -> tuple[str, tuple[str, ...], tuple[_Processor | None, ...]]:
    """Compile the ``INSERT`` of ``columns`` once per table, columns and dialect.

    Returns:
        The dialect's SQL, its parameter names in order, and each parameter's bind processor
        (``None`` where the driver takes the value as it is).
    """
    compiled = table.insert().compile(dialect=dialect, column_keys=list(columns))
    keys = tuple(compiled.positiontup or ()) if dialect.positional else tuple(compiled.binds)
    processors = tuple(table.c[k].type.dialect_impl(dialect).bind_processor(dialect) for k in keys)
    return str(compiled), keys, processors
