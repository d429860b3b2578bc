"""Shared fixtures: one parametrized unit-of-work factory over every storage backend.

Backends: memory, SQLite (a file), PostgreSQL and MariaDB. The SQL schemas are migrated once per
test session; tables are emptied between tests. Where a database cannot be reached the tests
that need it are skipped, except with ``CI=true``, where that is a failure.

Environment: ``LEARNPROG_TEST_POSTGRES_URL`` and ``LEARNPROG_TEST_MARIADB_URL`` override the
local defaults.

Property tests (Hypothesis) have no deadline, since a busy machine makes any timing flaky; with
``CI=true`` they also draw the same examples on every run, so a CI result can be reproduced.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import settings
from sqlalchemy.engine import Engine

import learnprog
from learnprog.clock import FixedClock
from learnprog.errors import LearnprogError
from learnprog.mail.memory import InMemoryMailer
from learnprog.storage.memory import InMemoryStore
from learnprog.storage.ports import UnitOfWork
from learnprog.storage.sql import SqlUnitOfWork, check_connection, create_sql_engine, upgrade
from learnprog.storage.sql.tables import metadata

POSTGRES_URL = os.environ.get(
    "LEARNPROG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
MARIADB_URL = os.environ.get(
    "LEARNPROG_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test"
)
IN_CI = os.environ.get("CI", "").lower() == "true"
SQL_BACKENDS = ("sqlite", "postgresql", "mariadb")
ALL_BACKENDS = ("memory", *SQL_BACKENDS)
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

settings.register_profile("learnprog", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True)
settings.load_profile("ci" if IN_CI else "learnprog")

UowFactory = Callable[[], UnitOfWork]


def reset_schema(engine: Engine) -> None:
    """Drop learnprog's tables and Alembic's version table, whatever revision is there."""
    reflected = sa.MetaData()
    reflected.reflect(engine)
    with engine.begin() as conn:
        if engine.dialect.name in ("mysql", "mariadb"):
            conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS=0")
        for table in reversed(reflected.sorted_tables):
            if table.name in metadata.tables or table.name == "alembic_version":
                table.drop(conn)
        if engine.dialect.name in ("mysql", "mariadb"):
            conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS=1")


def make_engine(backend: str, tmp_dir: Path) -> Engine:
    """Return a reachable engine for ``backend``, or skip (fail in CI)."""
    url = {
        "sqlite": f"sqlite:///{tmp_dir / 'learnprog-test.db'}",
        "postgresql": POSTGRES_URL,
        "mariadb": MARIADB_URL,
    }[backend]
    engine = create_sql_engine(url)
    try:
        check_connection(engine)
    except LearnprogError as exc:
        engine.dispose()
        message = f"{backend} is not reachable at {url}: {exc}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return engine


_engines: dict[str, Engine] = {}


@pytest.fixture(scope="session")
def engine_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Engine]]:
    """Return a function giving each SQL backend's engine, migrated once per session."""
    tmp = tmp_path_factory.mktemp("db")

    def get(backend: str) -> Engine:
        if backend not in _engines:
            engine = make_engine(backend, tmp)
            reset_schema(engine)
            upgrade(engine)
            _engines[backend] = engine
        return _engines[backend]

    yield get
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


def empty_tables(engine: Engine) -> None:
    """Delete every row of learnprog's tables, children first."""
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())


def _backend_params(backends: tuple[str, ...]) -> list[object]:
    return [pytest.param(b, marks=getattr(pytest.mark, b), id=b) for b in backends]


@pytest.fixture(params=_backend_params(ALL_BACKENDS))
def backend(request: pytest.FixtureRequest) -> str:
    """The backend under test."""
    return str(request.param)


@pytest.fixture
def uow_factory(backend: str, engine_pool: Callable[[str], Engine]) -> UowFactory:
    """A fresh-unit-of-work factory over empty shared storage, on every backend."""
    if backend == "memory":
        return InMemoryStore().unit_of_work
    engine = engine_pool(backend)
    empty_tables(engine)
    return lambda: SqlUnitOfWork(engine)


@pytest.fixture(params=_backend_params(SQL_BACKENDS))
def sql_engine(request: pytest.FixtureRequest, engine_pool: Callable[[str], Engine]) -> Engine:
    """An engine on each SQL backend, migrated, with empty tables."""
    engine = engine_pool(str(request.param))
    empty_tables(engine)
    return engine


@pytest.fixture
def clock() -> FixedClock:
    """A clock standing at 2026-03-02 09:00 UTC."""
    return FixedClock(START)


@pytest.fixture
def mailer() -> InMemoryMailer:
    """An in-memory mailer."""
    return InMemoryMailer()


@pytest.fixture(params=_backend_params(("memory", "sqlite")))
def lp(
    request: pytest.FixtureRequest,
    engine_pool: Callable[[str], Engine],
    clock: FixedClock,
    mailer: InMemoryMailer,
) -> learnprog.Learnprog:
    """A learnprog instance for service-level suites: on memory and on SQLite."""
    settings = learnprog.Settings(secret_key="test-secret-test-secret")
    if request.param == "memory":
        return learnprog.connect("memory://", settings=settings, clock=clock, mailer=mailer)
    engine = engine_pool("sqlite")
    empty_tables(engine)
    return learnprog.connect(
        uow_factory=lambda: SqlUnitOfWork(engine), settings=settings, clock=clock, mailer=mailer
    )


@pytest.fixture
def lp_any(
    uow_factory: UowFactory, clock: FixedClock, mailer: InMemoryMailer
) -> learnprog.Learnprog:
    """A learnprog instance on every backend (memory, SQLite, PostgreSQL, MariaDB).

    For service-level tests whose outcome depends on the storage (what a driver or a database
    refuses), where :func:`lp` (memory and SQLite) is not enough.
    """
    return learnprog.connect(
        uow_factory=uow_factory,
        settings=learnprog.Settings(secret_key="test-secret-test-secret"),
        clock=clock,
        mailer=mailer,
    )
