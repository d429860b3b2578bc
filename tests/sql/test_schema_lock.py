"""Safe start-up: processes that connect to one database at once make one schema, without error.

Each SQL backend's schema changes run under learnprog's schema lock (``migrate.schema_lock``):
PostgreSQL's advisory lock, MariaDB's ``GET_LOCK``, SQLite's ``BEGIN IMMEDIATE``. The races
start 8 spawned processes that each call ``learnprog.connect(url)`` (which migrates) at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine

from learnprog.errors import ConcurrencyError, ValidationError
from learnprog.storage.sql import current_revision, head_revision, upgrade
from learnprog.storage.sql.migrate import (
    schema_lock,
    shipped_head,
    stored_revision,
    upgrade_locked,
)
from learnprog.storage.sql.tables import metadata
from tests.conftest import empty_tables, reset_schema
from tests.races import process_race
from tests.sql import startup_workers

WORKERS = 8
CHAIN = int(head_revision())  # migrations in the chain: 0001 to the newest


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _versions(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars()
        return [str(v) for v in rows]


def _schema(engine: Engine) -> dict[str, Any]:
    """Learnprog's tables as the database describes them: columns, keys, indexes."""
    inspector = sa.inspect(engine)
    described: dict[str, Any] = {}
    for name in sorted(set(inspector.get_table_names()) & {*metadata.tables, "alembic_version"}):
        described[name] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                for c in inspector.get_columns(name)
            ],
            "primary key": inspector.get_pk_constraint(name)["constrained_columns"],
            "foreign keys": sorted(
                (tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]))
                for f in inspector.get_foreign_keys(name)
            ),
            "indexes": sorted(
                (i["name"] or "", tuple(c or "" for c in i["column_names"]), bool(i["unique"]))
                for i in inspector.get_indexes(name)
            ),
            "unique": sorted(
                (u["name"] or "", tuple(u["column_names"]))
                for u in inspector.get_unique_constraints(name)
            ),
        }
    return described


@pytest.fixture
def empty_engine(sql_engine: Engine) -> Iterator[Engine]:
    """The backend's test database without learnprog's tables; migrated again afterwards."""
    reset_schema(sql_engine)
    yield sql_engine
    reset_schema(sql_engine)
    upgrade(sql_engine)


def _assert_one_schema_at_head(engine: Engine) -> None:
    assert _versions(engine) == [head_revision()]
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
    raced = _schema(engine)
    assert set(raced) == {*metadata.tables, "alembic_version"}
    reset_schema(engine)
    upgrade(engine)  # one process, the normal way
    assert _schema(engine) == raced


def test_the_newest_revision_is_read_from_the_file_names_as_alembic_reads_it() -> None:
    assert shipped_head() == head_revision()


def test_processes_connecting_at_once_to_an_empty_database_make_one_schema(
    empty_engine: Engine,
) -> None:
    assert stored_revision(empty_engine) is None
    with process_race(WORKERS) as race:
        args = [(_url(empty_engine),)] * WORKERS
        results = race.results(startup_workers.connect_and_report, args)
    failures = [r for r in results if isinstance(r, BaseException)]
    assert failures == []
    ran = sorted((len(r[0]) for r in results), reverse=True)  # type: ignore[index]
    assert ran == [CHAIN] + [0] * (WORKERS - 1)  # one process upgraded, the others found head
    assert all(r[1] == 0 for r in results)  # type: ignore[index]
    _assert_one_schema_at_head(empty_engine)


def test_processes_connecting_at_once_to_a_database_at_head_change_nothing(
    sql_engine: Engine,
) -> None:
    before = _schema(sql_engine)
    with process_race(WORKERS) as race:
        results = race.results(startup_workers.connect_and_report, [(_url(sql_engine),)] * WORKERS)
    assert results == [([], 0)] * WORKERS
    assert _versions(sql_engine) == [head_revision()]
    assert _schema(sql_engine) == before


# Not SQLite: there the schema lock is the write lock, which connect waits for.
SERVERS = [pytest.param(b, marks=getattr(pytest.mark, b), id=b) for b in ("postgresql", "mariadb")]


@pytest.mark.parametrize("server", SERVERS)
def test_at_head_connect_does_not_wait_for_the_schema_lock(
    server: str, engine_pool: Callable[[str], Engine]
) -> None:
    engine = engine_pool(server)
    empty_tables(engine)
    with schema_lock(engine, timeout=5), process_race(2) as race:
        results = race.results(startup_workers.connect_and_report, [(_url(engine),)] * 2)
    assert results == [([], 0)] * 2


def _waiting_for_the_lock(engine: Engine) -> int | None:
    """How many sessions wait for the schema lock, where the server shows it."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            return int(
                conn.execute(
                    sa.text(
                        "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                        "WHERE l.locktype = 'advisory' AND NOT l.granted "
                        "AND d.datname = current_database()"
                    )
                ).scalar_one()
            )
        if engine.dialect.name in ("mysql", "mariadb"):
            return int(
                conn.execute(
                    sa.text(
                        "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE "
                        "STATE = 'User lock' AND DB = DATABASE() AND ID <> CONNECTION_ID()"
                    )
                ).scalar_one()
            )
    return None  # SQLite: the waiting connections are not listed anywhere


def _wait_until(check: Callable[[], bool], what: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"{what} did not happen in {seconds:g} s"
        time.sleep(0.1)


def test_processes_wait_while_the_lock_is_held_then_find_head_and_do_nothing(
    empty_engine: Engine, tmp_path: Path
) -> None:
    markers = tmp_path / "started"
    markers.mkdir()
    args = [(_url(empty_engine), str(markers))] * WORKERS
    with process_race(WORKERS) as race, ThreadPoolExecutor(1) as thread:
        with schema_lock(empty_engine) as conn:
            running: Future[list[object]] = thread.submit(
                race.results, startup_workers.connect_and_report, args
            )
            _wait_until(lambda: len(list(markers.iterdir())) == WORKERS, "every worker started")
            if _waiting_for_the_lock(empty_engine) is None:
                time.sleep(2)  # SQLite: give them time to run into the lock
            else:
                _wait_until(
                    lambda: _waiting_for_the_lock(empty_engine) == WORKERS,
                    "every worker waiting for the schema lock",
                )
            assert not running.done()  # nobody got past the lock
            assert stored_revision(empty_engine) is None
            upgrade_locked(conn)  # the holder upgrades
        results = running.result(timeout=180)
    assert results == [([], 0)] * WORKERS  # every worker waited, found head, ran nothing
    _assert_one_schema_at_head(empty_engine)


def test_an_upgrade_gives_up_with_a_concurrency_error_when_the_lock_stays_held(
    empty_engine: Engine,
) -> None:
    refused = pytest.raises(ConcurrencyError, match=r"schema lock .* was not free after 1 s")
    with schema_lock(empty_engine), refused:
        upgrade(empty_engine, lock_timeout=1)
    assert current_revision(empty_engine) is None  # nothing was changed meanwhile
    upgrade(empty_engine, lock_timeout=1)  # the lock was released
    assert current_revision(empty_engine) == head_revision()


def test_the_lock_is_released_when_the_upgrade_fails(empty_engine: Engine) -> None:
    with pytest.raises(RuntimeError, match="in the middle"), schema_lock(empty_engine):
        raise RuntimeError("in the middle")
    with schema_lock(empty_engine, timeout=1) as conn:  # free again at once
        upgrade_locked(conn, "0001")
    assert current_revision(empty_engine) == "0001"


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), float("inf"), True, "5"])
def test_a_lock_timeout_that_is_no_positive_number_of_seconds_is_refused(
    sql_engine: Engine, timeout: object
) -> None:
    with pytest.raises(ValidationError, match="positive number of seconds") as info:
        upgrade(sql_engine, lock_timeout=timeout)  # type: ignore[arg-type]
    assert info.value.field == "lock_timeout"
    assert current_revision(sql_engine) == head_revision()
