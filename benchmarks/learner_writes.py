"""Learner writes through the repositories, beside a plain executemany baseline, per backend.

Prints rows per second for: the learnprog repository path (validation, conversion, a savepoint
per write) in one unit of work, and a baseline that inserts the same rows with one executemany.
Figures only; nothing is asserted. It empties learnprog's tables in the server databases it
uses (``_databases.py``: ``learnprog_bench`` unless the environment names others).

    python benchmarks/learner_writes.py [--rows 5000] [--backends memory,sqlite,postgresql,mariadb]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from _databases import bench_url

from learnprog.model import Learner, Organization
from learnprog.storage.memory import InMemoryStore
from learnprog.storage.sql import SqlUnitOfWork, create_sql_engine, upgrade
from learnprog.storage.sql.tables import learners, metadata, organizations

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def people(org: Organization, rows: int) -> list[Learner]:
    return [
        Learner.create(
            org.id, f"Learner {i}", f"learner{i}@example.org", now=NOW, external_id=f"{i:06d}"
        )
        for i in range(rows)
    ]


def empty(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())


def run_sql(backend: str, rows: int) -> tuple[float, float]:
    url = bench_url(backend, Path(tempfile.mkdtemp()))
    engine = create_sql_engine(url)
    upgrade(engine)
    empty(engine)
    org = Organization.create("Bench", now=NOW)
    batch = people(org, rows)
    started = time.perf_counter()
    with SqlUnitOfWork(engine) as uow:
        uow.organizations.add(org)
        for person in batch:
            uow.learners.add(person)
        uow.commit()
    repository = rows / (time.perf_counter() - started)
    empty(engine)
    plain: list[dict[str, Any]] = [
        {
            "id": p.id,
            "organization_id": org.id,
            "full_name": p.full_name,
            "email": p.email.address,
            "email_key": p.email.key,
            "external_id": p.external_id,
            "attributes": {},
            "identity_verified": False,
            "created_at": NOW,
        }
        for p in batch
    ]
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(
            organizations.insert().values(
                id=org.id,
                name=org.name,
                email_domains=[],
                timezone="UTC",
                report_program_ids=[],
                report_weekdays=[],
                restrict_invitations_to_domains=False,
                created_at=NOW,
            )
        )
        conn.execute(learners.insert(), plain)
    baseline = rows / (time.perf_counter() - started)
    empty(engine)
    engine.dispose()
    return repository, baseline


def run_memory(rows: int) -> tuple[float, float]:
    store = InMemoryStore()
    org = Organization.create("Bench", now=NOW)
    batch = people(org, rows)
    started = time.perf_counter()
    with store.unit_of_work() as uow:
        uow.organizations.add(org)
        for person in batch:
            uow.learners.add(person)
        uow.commit()
    repository = rows / (time.perf_counter() - started)
    started = time.perf_counter()
    plain = {p.id: p for p in batch}
    baseline = len(plain) / max(time.perf_counter() - started, 1e-9)
    return repository, baseline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--backends", default="memory,sqlite,postgresql,mariadb")
    args = parser.parse_args()
    print(
        f"{'backend':<11} {'rows':>7} {'repository rows/s':>18} {'baseline rows/s':>16} "
        f"{'ratio':>6}"
    )
    for backend in args.backends.split(","):
        try:
            repo, base = (
                run_memory(args.rows) if backend == "memory" else run_sql(backend, args.rows)
            )
        except Exception as exc:  # noqa: BLE001 - a backend that is down is reported, not fatal
            print(f"{backend:<11} unavailable: {exc}")
            continue
        print(f"{backend:<11} {args.rows:>7} {repo:>18,.0f} {base:>16,.0f} {base / repo:>6.1f}x")


if __name__ == "__main__":
    main()
