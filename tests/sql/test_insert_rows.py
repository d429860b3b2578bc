"""insert_rows: bulk inserts straight through the driver store what Core inserts store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from learnprog.errors import ConflictError, ValidationError
from learnprog.storage.sql import SqlUnitOfWork
from learnprog.storage.sql.driver import (
    NEW_ROWS_BATCH,
    insert_new_rows,
    insert_rows,
    takes_new_rows,
)
from learnprog.storage.sql.tables import organizations
from tests import factories as f

AT = datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=UTC)


def _organization_row(name: str, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": name.lower().replace(" ", "-"),
        "name": name,
        "email_domains": ["acme.example", "bücher.example"],
        "timezone": "Europe/Lisbon",
        "brand_color": None,
        "report_program_ids": [],
        "report_weekdays": [0, 4],
        "restrict_invitations_to_domains": True,
        "created_at": AT,
    }
    return {**row, **values}


def _stored(conn: sa.Connection, names: list[str]) -> list[tuple[Any, ...]]:
    c = organizations.c
    query = sa.select(organizations).where(c.name.in_(names)).order_by(c.name)
    return [tuple(row)[1:] for row in conn.execute(query)]  # all but the id


def test_stores_what_a_core_insert_stores(sql_engine: Engine) -> None:
    two_hours_east = AT.astimezone(timezone(timedelta(hours=2)))  # the same instant
    core = [_organization_row("Core A"), _organization_row("Core B", created_at=two_hours_east)]
    direct = [
        _organization_row("Direct A"),
        _organization_row("Direct B", created_at=two_hours_east),
    ]
    with sql_engine.begin() as conn:
        conn.execute(organizations.insert(), core)
        insert_rows(conn, organizations, direct)
        assert _stored(conn, ["Direct A", "Direct B"]) == [
            (row[0].replace("Core", "Direct"), *row[1:])
            for row in _stored(conn, ["Core A", "Core B"])
        ]


def test_a_duplicate_in_a_batch_stores_none_of_it(sql_engine: Engine) -> None:
    org = f.organization()
    with SqlUnitOfWork(sql_engine) as uow:
        uow.organizations.add(org)
        uow.learners.add(f.learner(org, "ana@acme.example"))
        with pytest.raises(ConflictError, match=r"^learner: a duplicate key"):
            uow.learners.add_many(
                [f.learner(org, "bo@acme.example"), f.learner(org, "ANA@acme.example")]
            )
        uow.commit()
    with SqlUnitOfWork(sql_engine) as uow:
        found = uow.learners.find_by_emails(org.id, ["ana@acme.example", "bo@acme.example"])
        assert set(found) == {"ana@acme.example"}


def test_a_naive_datetime_is_refused(sql_engine: Engine) -> None:
    naive = _organization_row("Naive", created_at=AT.replace(tzinfo=None))
    with sql_engine.begin() as conn, pytest.raises(ValidationError, match="naive"):
        insert_rows(conn, organizations, [naive])


def test_new_rows_are_stored_once_and_only_their_keys_returned(sql_engine: Engine) -> None:
    many = NEW_ROWS_BATCH + 7  # two statements
    first = [_organization_row(f"Org {n:05d}") for n in range(0, many, 2)]
    second = [{**_organization_row(f"Org {n:05d}"), "name": f"Again {n}"} for n in range(many)]
    with sql_engine.begin() as conn:
        stored = insert_new_rows(conn, organizations, first, "id")
        if stored is None:  # MariaDB: the caller writes the rows its own way
            assert not takes_new_rows(conn.dialect)
            return
        assert sorted(stored) == sorted(r["id"] for r in first)
        again = insert_new_rows(conn, organizations, second, "id")
        assert again is not None
        assert sorted(again) == [f"org-{n:05d}" for n in range(1, many, 2)]
        names = dict(conn.execute(sa.select(organizations.c.id, organizations.c.name)).all())
        created = conn.execute(sa.select(organizations.c.created_at)).scalars().all()
    assert len(names) == many
    assert names["org-00000"] == "Org 00000"  # the stored row kept, the new one skipped
    assert names["org-00001"] == "Again 1"
    assert set(created) == {AT}  # aware UTC in, the same instant out
