"""Where the benchmarks keep their data: SQLite in a folder, server databases of their own.

Each benchmark empties learnprog's tables in the database it uses, so by default it uses a
database named ``learnprog_bench`` on the local PostgreSQL and MariaDB servers, made on first
use, never the ``test`` databases the test suite works in. ``LEARNPROG_BENCH_POSTGRES_URL``
and ``LEARNPROG_BENCH_MARIADB_URL`` name other databases; those must already exist.
"""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

BENCH_DATABASE = "learnprog_bench"
DEFAULTS = {
    "postgresql": f"postgresql+psycopg://postgres@127.0.0.1:5432/{BENCH_DATABASE}",
    "mariadb": f"mysql+pymysql://root@127.0.0.1:3306/{BENCH_DATABASE}",
}
ENVIRONMENT = {
    "postgresql": "LEARNPROG_BENCH_POSTGRES_URL",
    "mariadb": "LEARNPROG_BENCH_MARIADB_URL",
}


def bench_url(backend: str, folder: Path, sqlite_name: str = "bench.db") -> str:
    """The URL a benchmark uses for ``backend``: ``sqlite``, ``postgresql`` or ``mariadb``.

    SQLite is a file ``sqlite_name`` in ``folder``. A server backend is the database its
    environment variable names, or else ``learnprog_bench``, created if it is missing.

    Raises:
        KeyError: an unknown backend.
        sqlalchemy.exc.OperationalError: the server cannot be reached.
    """
    if backend == "sqlite":
        return f"sqlite:///{folder / sqlite_name}"
    named = os.environ.get(ENVIRONMENT[backend])
    if named:
        return named
    url = make_url(DEFAULTS[backend])
    _create_if_missing(url)
    return url.render_as_string(hide_password=False)


def _create_if_missing(url: URL) -> None:
    """Create ``url``'s database from the server's maintenance database when it is missing."""
    name = url.database
    assert name is not None
    if url.get_backend_name() == "postgresql":
        server = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with server.connect() as conn:
            exists = conn.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).first()
            if exists is None:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    else:
        server = sa.create_engine(url._replace(database=None))  # URL.set() ignores None
        with server.begin() as conn:
            conn.exec_driver_sql(
                f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4 "
                "COLLATE utf8mb4_unicode_ci"
            )
    server.dispose()
