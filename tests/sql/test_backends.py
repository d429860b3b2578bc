"""What each SQL backend must be configured to do, checked on the real servers."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from attrs import evolve
from sqlalchemy.engine import Engine

import learnprog
from learnprog.errors import (
    ConcurrencyError,
    ConcurrentWriteError,
    ConflictError,
    LearnprogError,
    StorageUnavailableError,
    ValidationError,
)
from learnprog.model import AuditEntry, Membership, Organization
from learnprog.storage.sql import SqlUnitOfWork, create_sql_engine
from learnprog.storage.sql.engine import check_connection
from learnprog.storage.sql.errors import translate_errors
from learnprog.storage.sql.tables import organizations
from tests import factories as f
from tests.conftest import empty_tables


def test_mariadb_keys_use_a_binary_collation(engine_pool: Callable[[str], Engine]) -> None:
    engine = engine_pool("mariadb")
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT column_name, collation_name FROM information_schema.columns "
                "WHERE table_schema = DATABASE() AND table_name = 'learners' "
                "AND column_name IN ('email_key', 'id', 'full_name')"
            )
        ).all()
        charset = conn.execute(sa.text("SELECT @@character_set_connection")).scalar()
    collations = {name.lower(): collation for name, collation in rows}
    assert collations["email_key"] == "utf8mb4_bin"
    assert collations["id"] == "utf8mb4_bin"
    assert collations["full_name"].startswith("utf8mb4")
    assert charset == "utf8mb4"


def test_sqlite_runs_with_foreign_keys_wal_and_a_busy_timeout(
    engine_pool: Callable[[str], Engine],
) -> None:
    engine = engine_pool("sqlite")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000


def test_postgresql_plans_each_run_of_a_prepared_statement_afresh(
    engine_pool: Callable[[str], Engine],
) -> None:
    """A generic plan made while a table was empty must not outlive its growth (engine.py)."""
    engine = engine_pool("postgresql")
    for _ in range(2):  # a connection the pool made, and one made afresh
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW plan_cache_mode").scalar() == "force_custom_plan"
            conn.invalidate()


def test_timestamps_are_stored_as_utc_wall_time(sql_engine: Engine) -> None:
    org = f.organization()
    plus_two = timezone(timedelta(hours=2))
    program = evolve(
        f.program(org), created_at=datetime(2026, 6, 1, 12, 30, 15, 123456, tzinfo=plus_two)
    )
    with SqlUnitOfWork(sql_engine) as uow:
        uow.organizations.add(org)
        uow.programs.add(program)
        uow.commit()
    with sql_engine.connect() as conn:
        raw = conn.execute(sa.text("SELECT created_at FROM programs")).scalar()
    if isinstance(raw, str):  # SQLite keeps text
        raw = datetime.fromisoformat(raw)
    assert raw == datetime(2026, 6, 1, 10, 30, 15, 123456)


def test_foreign_keys_are_enforced(sql_engine: Engine) -> None:
    org = f.organization()
    prog = f.program(org)
    deal = f.contract(org)
    person = f.learner(org)
    with SqlUnitOfWork(sql_engine) as uow:
        uow.organizations.add(org)
        uow.commit()
    dangling = Membership.invite(org.id, prog.id, person.id, deal.id, now=f.NOW)
    with SqlUnitOfWork(sql_engine) as uow, pytest.raises(ConflictError, match="integrity"):
        uow.memberships.add(dangling)


def test_a_naive_datetime_never_reaches_the_database(sql_engine: Engine) -> None:
    statement = organizations.insert().values(
        id="x",
        name="x",
        email_domains=[],
        timezone="UTC",
        report_program_ids=[],
        report_weekdays=[],
        restrict_invitations_to_domains=False,
        created_at=datetime(2026, 1, 1),
    )
    with sql_engine.begin() as conn, pytest.raises(sa.exc.StatementError) as caught:
        conn.execute(statement)
    assert isinstance(caught.value.orig, ValidationError)
    with SqlUnitOfWork(sql_engine) as uow:
        uow.organizations.add(evolve(f.organization(), name="y"))  # a valid object binds fine
        with pytest.raises(ValidationError, match="naive"), translate_errors("organization"):
            uow.connection.execute(statement)  # but a raw naive value is refused


def test_the_database_refuses_a_counter_past_the_quantity(sql_engine: Engine) -> None:
    org = f.organization()
    deal = f.contract(org, quantity=1)
    with SqlUnitOfWork(sql_engine) as uow:
        uow.organizations.add(org)
        uow.contracts.add(deal)
        uow.commit()
    with (
        SqlUnitOfWork(sql_engine) as uow,
        pytest.raises(ConflictError, match="integrity"),
        translate_errors("contract"),
    ):
        uow.connection.execute(sa.text("UPDATE contracts SET used = 2"))


def test_an_unreachable_database_is_a_storage_unavailable_error() -> None:
    engine = create_sql_engine(
        "postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 2}
    )
    with pytest.raises(StorageUnavailableError):
        check_connection(engine)
    with pytest.raises(StorageUnavailableError):
        learnprog.connect("mysql+pymysql://root@127.0.0.1:1/none")


def test_in_memory_sqlite_urls_and_unknown_backends_are_refused() -> None:
    with pytest.raises(ValidationError, match="memory://"):
        learnprog.connect("sqlite://")
    with pytest.raises(ValidationError, match="unsupported"):
        learnprog.connect("oracle://scott@localhost/db")


def test_connect_on_a_sqlite_file_migrates_and_keeps_data(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/fresh.db"
    system = learnprog.SystemActor()
    with learnprog.connect(url) as lp:
        created = lp.organizations.create_organization(system, "Persisted")
    with learnprog.connect(url) as lp:
        assert [o.id for o in lp.organizations.list_organizations(system)] == [created.id]


def test_persistent_storage_warns_about_mail_and_links_it_would_lose(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LEARNPROG_SECRET_KEY", raising=False)
    url = f"sqlite:///{tmp_path}/warned.db"
    with pytest.warns(learnprog.ConfigurationWarning) as caught, learnprog.connect(url):
        pass
    messages = sorted(str(w.message) for w in caught)
    assert len(messages) == 2
    assert "no mailer" in messages[1]
    assert "signing secret" in messages[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # fully configured: nothing to warn about
        settings = learnprog.Settings(secret_key="s" * 32)
        with learnprog.connect(url, settings=settings, mailer=learnprog.InMemoryMailer()):
            pass
        with learnprog.connect("memory://"):
            pass


def test_audit_entries_keep_write_order_within_one_instant(sql_engine: Engine) -> None:
    org = f.organization()
    with SqlUnitOfWork(sql_engine) as uow:
        uow.organizations.add(org)
        for i in range(5):
            uow.audit.add(
                AuditEntry.record(
                    organization_id=org.id,
                    actor="system",
                    action=f"a{i}",
                    object_type="x",
                    object_id="y",
                    now=datetime(2026, 1, 1, tzinfo=UTC),
                )
            )
        uow.commit()
    with SqlUnitOfWork(sql_engine) as uow:
        assert [e.action for e in uow.audit.list(org.id)] == ["a4", "a3", "a2", "a1", "a0"]


@pytest.mark.parametrize(
    "server",
    [
        pytest.param("postgresql", marks=pytest.mark.postgresql),
        pytest.param("mariadb", marks=pytest.mark.mariadb),
    ],
)
def test_a_deadlock_is_a_concurrency_error_not_an_outage(
    engine_pool: Callable[[str], Engine], server: str
) -> None:
    """Two units of work updating two rows in opposite orders: the database kills one.

    On MariaDB a deadlock rolls back the whole transaction, so the savepoint each write runs in
    is gone and its ``ROLLBACK TO SAVEPOINT`` fails ("SAVEPOINT ... does not exist"): that
    used to be reported as StorageUnavailableError ("cannot be reached").
    """
    engine = engine_pool(server)
    empty_tables(engine)
    first, second = f.organization(), f.organization()
    with SqlUnitOfWork(engine) as uow:
        uow.organizations.add(first)
        uow.organizations.add(second)
        uow.commit()
    both_hold_one = threading.Barrier(2)
    outcomes: list[BaseException | None] = []

    def update(one: Organization, other: Organization) -> None:
        try:
            with SqlUnitOfWork(engine) as uow:
                uow.organizations.update(evolve(one, name=f"{one.name} 1"))
                both_hold_one.wait(timeout=30)
                uow.organizations.update(evolve(other, name=f"{other.name} 2"))
                uow.commit()
            outcomes.append(None)
        except LearnprogError as exc:
            outcomes.append(exc)

    threads = [
        threading.Thread(target=update, args=(first, second)),
        threading.Thread(target=update, args=(second, first)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(outcomes) == 2
    assert outcomes.count(None) == 1  # the survivor committed
    (lost,) = [o for o in outcomes if o is not None]
    assert type(lost) is ConcurrentWriteError, repr(lost)
    assert isinstance(lost, ConcurrencyError)  # what a retry catches
    assert isinstance(lost, ConflictError)  # for one release, the old (deprecated) catch works
    assert lost.kind == "organization"
    assert "concurrent write" in str(lost)
    assert "deadlock" in str(lost).lower()
