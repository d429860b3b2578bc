"""Long scans read straight from the database driver's cursor, as plain tuples.

SQLAlchemy makes a ``Row`` per row and runs each column's result processing; for a scan of
millions of rows whose columns need none (strings and floats), that is most of the time spent
reading. :func:`driver_rows` compiles the statement with SQLAlchemy (so the SQL is the
dialect's own, parameters bound as usual) and then runs it on a cursor of the same
connection, inside the unit of work's transaction, streaming: a named (server-side) cursor on
PostgreSQL (psycopg), an unbuffered one on MariaDB/MySQL (PyMySQL), SQLite's own cursor
otherwise. Another driver falls back to SQLAlchemy's streamed result.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

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
