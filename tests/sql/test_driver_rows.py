"""driver_rows: long scans read from the driver's own cursor, on each SQL backend."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from learnprog.errors import StorageError
from learnprog.storage.sql import SqlUnitOfWork, driver
from learnprog.storage.sql.driver import driver_rows
from learnprog.storage.sql.tables import organizations
from tests import factories as f
from tests.conftest import empty_tables


def _stored_organizations(engine: Engine, count: int) -> list[str]:
    empty_tables(engine)
    names = [f"Org {n:02d}" for n in range(count)]
    with SqlUnitOfWork(engine) as uow:
        for name in names:
            uow.organizations.add(f.organization(name=name))
        uow.commit()
    return names


def _scan(engine: Engine, batch: int) -> list[tuple[object, ...]]:
    c = organizations.c
    statement = (
        sa.select(c.name, (c.name + ":" + c.timezone).label("joined"))
        .where(c.name != "Org 03")
        .order_by(c.name)
    )
    with engine.begin() as conn:
        return list(driver_rows(conn, statement, kind="organization", batch=batch))


def test_rows_come_in_order_across_batches_with_parameters_bound(sql_engine: Engine) -> None:
    names = _stored_organizations(sql_engine, 7)
    expected = [(n, f"{n}:UTC") for n in names if n != "Org 03"]
    assert _scan(sql_engine, batch=2) == expected
    assert all(type(row) is tuple for row in _scan(sql_engine, batch=2))


def test_another_driver_falls_back_to_sqlalchemys_stream(
    sql_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = _stored_organizations(sql_engine, 3)
    monkeypatch.setattr(driver, "_DIRECT", set())
    assert _scan(sql_engine, batch=2) == [(n, f"{n}:UTC") for n in names if n != "Org 03"]


def test_a_failing_scan_is_a_storage_error_naming_the_records(sql_engine: Engine) -> None:
    broken: sa.Select[Any] = sa.select(sa.column("no_such_column")).select_from(organizations)
    with sql_engine.begin() as conn, pytest.raises(StorageError, match=r"^organization: "):
        list(driver_rows(conn, broken, kind="organization"))
