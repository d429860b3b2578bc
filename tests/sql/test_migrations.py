"""The schema is made only by the shipped Alembic chain: no drift, and data survives upgrades."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from learnprog.model import MemberState
from learnprog.storage.sql import SqlUnitOfWork, current_revision, head_revision, upgrade
from learnprog.storage.sql.migrate import alembic_config, downgrade
from learnprog.storage.sql.tables import metadata
from tests.conftest import reset_schema


def test_models_and_migrations_do_not_drift(sql_engine: Engine) -> None:
    with sql_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    assert diff == []


def test_the_chain_is_linear_with_one_head() -> None:
    scripts = ScriptDirectory.from_config(alembic_config())
    heads = scripts.get_heads()
    assert heads == [head_revision()]
    revisions = list(scripts.walk_revisions())
    assert [r.revision for r in reversed(revisions)] == [f"{n:04d}" for n in range(1, 14)]
    assert all(not r.is_merge_point and not r.is_branch_point for r in revisions)


def test_an_upgrade_carries_data_from_the_first_revision_to_the_newest(
    sql_engine: Engine,
) -> None:
    reset_schema(sql_engine)
    try:
        upgrade(sql_engine, "0001")
        assert current_revision(sql_engine) == "0001"
        _write_first_revision_rows(sql_engine)
        upgrade(sql_engine)
        assert current_revision(sql_engine) == head_revision()
        with SqlUnitOfWork(sql_engine) as uow:
            org = uow.organizations.get("org1")
            assert org.name == "Ação Learning"
            learner = uow.learners.find_by_email("org1", "stéphane@example.org")
            assert learner is not None
            assert learner.full_name == "Stéphane Dupont"
            assert learner.email.address == "Stéphane@Example.org"
            assert learner.external_id == "00123"
            membership = uow.memberships.get("m1")
            assert membership.state is MemberState.MEMBER
            assert membership.joined_at == datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
            assert uow.contracts.get("c1").remaining == 9
            assert uow.courses.list_for_organization("org1") == []  # revision 0002 is usable
    finally:
        reset_schema(sql_engine)
        upgrade(sql_engine)


def test_downgrade_to_base_and_back(sql_engine: Engine) -> None:
    try:
        downgrade(sql_engine, "base")
        assert current_revision(sql_engine) is None
        names = set(sa.inspect(sql_engine).get_table_names())
        assert not names & set(metadata.tables)
    finally:
        upgrade(sql_engine)
    assert current_revision(sql_engine) == head_revision()


def _write_first_revision_rows(engine: Engine) -> None:
    """Insert rows with plain SQL, as revision 0001 shaped them."""
    at = datetime(2026, 1, 2, 3, 4, 5, 678901)
    reflected = sa.MetaData()
    reflected.reflect(engine)
    t = reflected.tables

    def doc(value: object) -> object:  # MariaDB reflects JSON columns as LONGTEXT
        return json.dumps(value) if engine.dialect.name in ("mysql", "mariadb") else value

    with engine.begin() as conn:
        conn.execute(
            t["organizations"]
            .insert()
            .values(
                id="org1",
                name="Ação Learning",
                email_domains=doc(["example.org"]),
                timezone="UTC",
                report_program_ids=doc([]),
                report_weekdays=doc([]),
                restrict_invitations_to_domains=False,
                created_at=at,
            )
        )
        conn.execute(
            t["programs"]
            .insert()
            .values(id="p1", organization_id="org1", name="Academy", slug="academy", created_at=at)
        )
        conn.execute(
            t["contracts"]
            .insert()
            .values(
                id="c1",
                organization_id="org1",
                name="Y1",
                kind="licenses",
                quantity=10,
                used=1,
                starts_at=at,
                ends_at=at.replace(year=2027),
            )
        )
        conn.execute(
            t["learners"]
            .insert()
            .values(
                id="l1",
                organization_id="org1",
                full_name="Stéphane Dupont",
                email="Stéphane@Example.org",
                email_key="stéphane@example.org",
                external_id="00123",
                attributes=doc({}),
                identity_verified=False,
                created_at=at,
            )
        )
        conn.execute(
            t["memberships"]
            .insert()
            .values(
                id="m1",
                organization_id="org1",
                program_id="p1",
                learner_id="l1",
                contract_id="c1",
                state="MEMBER",
                invited_at=at,
                joined_at=at,
            )
        )
