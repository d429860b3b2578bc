"""insert_rows and insert_new_rows: bulk inserts straight through the driver store what Core
inserts store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from learnprog.errors import ConflictError, ValidationError
from learnprog.storage.sql import SqlUnitOfWork
from learnprog.storage.sql.driver import NEW_ROWS_PAGE, insert_new_rows, insert_rows
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


def test_insert_new_rows_stores_the_free_keys_and_returns_them(sql_engine: Engine) -> None:
    # more rows than one statement takes, with keys stored before (one in the second page)
    # and a key twice in the input: the stored keys come back, each once
    two_hours_east = AT.astimezone(timezone(timedelta(hours=2)))  # the same instant
    names = [f"New {i:04d}" for i in range(NEW_ROWS_PAGE + 7)]
    rows = [_organization_row(n, created_at=two_hours_east if i % 2 else AT)
            for i, n in enumerate(names)]  # fmt: skip
    taken = [rows[3]["id"], rows[NEW_ROWS_PAGE + 2]["id"]]
    with sql_engine.begin() as conn:
        conn.execute(
            organizations.insert(),
            [_organization_row(f"Old {i}", id=key) for i, key in enumerate(taken)],
        )
        stored = insert_new_rows(conn, organizations, [*rows, rows[5]], "id")
        assert sorted(stored) == sorted(r["id"] for r in rows if r["id"] not in taken)
        conn.execute(organizations.insert(), [_organization_row("Core", created_at=AT)])
        by_core = _stored(conn, ["Core"])[0][1:]  # what a Core insert stores, but the name
        assert [row[1:] for row in _stored(conn, names)] == [by_core] * len(stored)
        kept = conn.execute(
            sa.select(organizations.c.name).where(organizations.c.id.in_(taken))
        ).scalars()
        assert sorted(kept) == ["Old 0", "Old 1"]  # a taken key keeps its row


def test_insert_new_rows_of_nothing_stores_nothing(sql_engine: Engine) -> None:
    with sql_engine.begin() as conn:
        assert insert_new_rows(conn, organizations, [], "id") == []


def test_new_rows_are_stored_once_and_only_their_keys_returned(sql_engine: Engine) -> None:
    many = NEW_ROWS_PAGE + 7  # two statements
    first = [_organization_row(f"Org {n:05d}") for n in range(0, many, 2)]
    second = [{**_organization_row(f"Org {n:05d}"), "name": f"Again {n}"} for n in range(many)]
    with sql_engine.begin() as conn:
        stored = insert_new_rows(conn, organizations, first, "id")
        assert sorted(stored) == sorted(r["id"] for r in first)
        again = insert_new_rows(conn, organizations, second, "id")
        assert sorted(again) == [f"org-{n:05d}" for n in range(1, many, 2)]
        names = dict(conn.execute(sa.select(organizations.c.id, organizations.c.name)).all())
        created = conn.execute(sa.select(organizations.c.created_at)).scalars().all()
    assert len(names) == many
    assert names["org-00000"] == "Org 00000"  # the stored row kept, the new one skipped
    assert names["org-00001"] == "Again 1"
    assert set(created) == {AT}  # aware UTC in, the same instant out
