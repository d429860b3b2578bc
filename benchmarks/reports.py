"""Reports at scale: the email report's figures and the three CSVs, beside hand-written SQL.

Seeds (with plain executemany, not timed) one organization and program with ``--members``
members (100,000 by default) and ``--enrollments`` course enrollments (1,000,000 by default;
``--scale`` multiplies both) with their derived figures. Then, per backend:

- the seconds to compute the email report's eighteen figures (``ReportBuilder.email_report``)
  beside two hand-written aggregate queries;
- the seconds to write each of the membership, usage and specialization CSVs with
  ``ReportBuilder`` beside one hand-written query for that report (the report's columns, from
  the same joins) streamed into the csv module as the driver returns them (no cell formatting);
- the seconds to make the usage report a pandas ``DataFrame`` (``to_pandas()``: a dtype per
  column) beside the hand-written query's rows fetched whole into
  ``pandas.DataFrame.from_records`` with no dtype set (the notebook extra must be installed);
- each side's best of two runs, taken in turns;
- the peak Python memory (tracemalloc) to write the three CSVs either way, at the seeded size
  and at a fifth of it (memory must stay flat).

Figures only; nothing is asserted. Like the test suite, it **empties learnprog's tables** in the
database it uses: ``LEARNPROG_BENCH_POSTGRES_URL``, by default a ``learnprog_bench`` database
of its own on the local server, made on first use (``_databases.py``). Both sides run after
``ANALYZE``.

    python benchmarks/reports.py [--members 100000] [--enrollments 1000000] [--scale 1]
        [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import csv
import random
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from _databases import bench_url

import learnprog
from learnprog.model import OrgAdminActor
from learnprog.storage.sql import SqlUnitOfWork, create_sql_engine, upgrade
from learnprog.storage.sql.tables import metadata

# mail is queued, not delivered, and no link is followed: nothing to warn about
QUIET: dict[str, Any] = {
    "mailer": learnprog.InMemoryMailer(),
    "settings": learnprog.Settings(secret_key="benchmark-secret-not-for-links"),
}

NOW = datetime(2026, 6, 1, tzinfo=UTC)
DAY = timedelta(days=1)
PROFILE = (
    "l.manager_name, l.manager_email, l.job_title, l.job_type, l.business_unit, "
    "l.business_unit_2, l.location_city, l.location_country, l.location_region"
)
"""The learner profile columns every CSV ends with."""
USAGE_SQL = f"""
SELECT l.full_name, l.email, l.external_id, c.name, c.course_id, c.slug, c.partner,
       e.enrolled_at, c.class_start, p.last_activity_at, p.progress, p.learning_seconds,
       p.completed_at IS NOT NULL, m.state, pr.slug, pr.name, co.name, p.completed_at, p.grade,
       k.name, {PROFILE}
FROM enrollments e JOIN learners l ON l.id = e.learner_id
JOIN memberships m ON m.program_id = e.program_id AND m.learner_id = e.learner_id
JOIN programs pr ON pr.id = e.program_id JOIN contracts k ON k.id = e.contract_id
JOIN courses c ON c.id = e.target_id LEFT JOIN enrollment_progress p ON p.enrollment_id = e.id
LEFT JOIN collections co ON co.id = e.source_collection_id
WHERE e.program_id = :program AND e.kind = 'course' AND e.current_target_id IS NOT NULL
ORDER BY pr.slug, l.email_key, e.target_id, e.id
"""
MEMBERS_SQL = f"""
SELECT l.full_name, l.email, l.external_id, pr.name, pr.slug, f.enrolled, f.completed, m.state,
       m.joined_at, m.invited_at, f.last_activity, k.name, {PROFILE}
FROM memberships m JOIN learners l ON l.id = m.learner_id JOIN programs pr ON pr.id = m.program_id
JOIN contracts k ON k.id = m.contract_id
LEFT JOIN (SELECT e.learner_id,
                  SUM(CASE WHEN e.current_target_id IS NOT NULL THEN 1 ELSE 0 END) AS enrolled,
                  SUM(CASE WHEN e.current_target_id IS NOT NULL AND p.completed_at IS NOT NULL
                      THEN 1 ELSE 0 END) AS completed,
                  MAX(p.last_activity_at) AS last_activity
           FROM enrollments e LEFT JOIN enrollment_progress p ON p.enrollment_id = e.id
           WHERE e.program_id = :program AND e.kind = 'course' GROUP BY e.learner_id) f
  ON f.learner_id = m.learner_id
WHERE m.program_id = :program ORDER BY pr.slug, l.email_key, l.id
"""
SPECS_SQL = f"""
SELECT l.full_name, l.email, l.external_id, s.name, s.slug, s.partner, e.enrolled_at,
       p.last_activity_at, p.completed_at IS NOT NULL, m.state, pr.slug, pr.name, co.name,
       p.completed_at, k.name, {PROFILE}
FROM enrollments e JOIN learners l ON l.id = e.learner_id
JOIN memberships m ON m.program_id = e.program_id AND m.learner_id = e.learner_id
JOIN programs pr ON pr.id = e.program_id JOIN contracts k ON k.id = e.contract_id
JOIN specializations s ON s.id = e.target_id
LEFT JOIN enrollment_progress p ON p.enrollment_id = e.id
LEFT JOIN collections co ON co.id = e.source_collection_id
WHERE e.program_id = :program AND e.kind = 'specialization' AND e.current_target_id IS NOT NULL
ORDER BY pr.slug, l.email_key, e.target_id, e.id
"""
TOTALS_SQL = """
SELECT COUNT(*), COUNT(DISTINCT e.target_id),
       SUM(CASE WHEN p.completed_at IS NOT NULL THEN 1 ELSE 0 END), SUM(p.learning_seconds)
FROM enrollments e LEFT JOIN enrollment_progress p ON p.enrollment_id = e.id
WHERE e.program_id = :program AND e.kind = 'course'
"""
LEARNERS_SQL = """
SELECT SUM(CASE WHEN x.n = 1 THEN 1 ELSE 0 END), SUM(CASE WHEN x.n = 2 THEN 1 ELSE 0 END),
       SUM(CASE WHEN x.n > 2 THEN 1 ELSE 0 END), COUNT(*)
FROM (SELECT m.learner_id, COUNT(DISTINCT e.target_id) AS n FROM memberships m
      LEFT JOIN enrollments e ON e.learner_id = m.learner_id AND e.program_id = m.program_id
      WHERE m.program_id = :program GROUP BY m.learner_id) x
"""


def seed(engine: sa.Engine, members: int, enrollments: int, rng: random.Random) -> dict[str, str]:
    """Insert the data with executemany; return the organization, program and admin."""
    t = metadata.tables
    org, program, contract = uuid.uuid4().hex, uuid.uuid4().hex, uuid.uuid4().hex
    courses = [uuid.uuid4().hex for _ in range(200)]
    spec = uuid.uuid4().hex
    admin = uuid.uuid4().hex
    with engine.begin() as conn:
        conn.execute(
            t["organizations"].insert(),
            {"id": org, "name": "Bench", "email_domains": ["example.org"], "timezone": "UTC",
             "report_program_ids": [], "report_weekdays": [],
             "restrict_invitations_to_domains": False, "created_at": NOW},
        )  # fmt: skip
        conn.execute(
            t["programs"].insert(),
            {"id": program, "organization_id": org, "name": "Academy", "slug": "academy",
             "created_at": NOW},
        )  # fmt: skip
        conn.execute(
            t["contracts"].insert(),
            {"id": contract, "organization_id": org, "name": "Unlimited", "kind": "unlimited",
             "used": 0, "starts_at": NOW - 400 * DAY, "ends_at": NOW + 400 * DAY},
        )  # fmt: skip
        conn.execute(
            t["courses"].insert(),
            [{"id": c, "organization_id": org, "course_id": f"C{i}", "slug": f"c-{i}",
              "name": f"Course {i}", "partner": "Uni", "created_at": NOW}
             for i, c in enumerate(courses)],
        )  # fmt: skip
        conn.execute(
            t["specializations"].insert(),
            {"id": spec, "organization_id": org, "slug": "s", "name": "S", "partner": "Uni",
             "created_at": NOW},
        )  # fmt: skip
        conn.execute(
            t["learners"].insert(),
            {"id": admin, "organization_id": org, "full_name": "Admin",
             "email": "admin@example.org", "email_key": "admin@example.org", "attributes": {},
             "identity_verified": False, "created_at": NOW,
             "search_key": "admin\nadmin@example.org"},
        )  # fmt: skip
        conn.execute(
            t["admins"].insert(),
            {"organization_id": org, "learner_id": admin, "scope": "organization",
             "role": "organization", "program_id": None, "granted_at": NOW},
        )  # fmt: skip
    per_member = max(enrollments // max(members, 1), 1)
    for start in range(0, members, 2000):
        learners, memberships, rows, figures = [], [], [], []
        for i in range(start, min(start + 2000, members)):
            lid = uuid.uuid4().hex
            email = f"learner.{i}@example.org"
            learners.append(
                {"id": lid, "organization_id": org, "full_name": f"Learner {i}", "email": email,
                 "email_key": email, "external_id": f"{i:07d}", "attributes": {},
                 "identity_verified": i % 3 == 0, "created_at": NOW,
                 "search_key": f"learner {i}\n{email}"}
            )  # fmt: skip
            memberships.append(
                {"id": uuid.uuid4().hex, "organization_id": org, "program_id": program,
                 "learner_id": lid, "contract_id": contract, "state": "MEMBER",
                 "invited_at": NOW - 100 * DAY, "joined_at": NOW - 90 * DAY}
            )  # fmt: skip
            targets = rng.sample(courses, min(per_member, len(courses)))
            if i % 10 == 0:
                targets.append(spec)
            for target in targets:
                eid = uuid.uuid4().hex
                kind = "specialization" if target == spec else "course"
                rows.append(
                    {"id": eid, "organization_id": org, "program_id": program, "learner_id": lid,
                     "kind": kind, "target_id": target, "contract_id": contract,
                     "enrolled_at": NOW - 80 * DAY, "current_target_id": target}
                )  # fmt: skip
                done = rng.random() < 0.3
                figures.append(
                    {"enrollment_id": eid, "items_completed": 5, "items_total": 10,
                     "progress": 50.0, "lessons_taken": 1, "learning_seconds": 3600.0,
                     "last_activity_at": NOW - rng.randint(1, 60) * DAY,
                     "completed_at": NOW - 10 * DAY if done else None, "grade": 75.0,
                     "failing": False, "open_due_at": None, "attempts": 2}
                )  # fmt: skip
        with engine.begin() as conn:
            conn.execute(t["learners"].insert(), learners)
            conn.execute(t["memberships"].insert(), memberships)
            conn.execute(t["enrollments"].insert(), rows)
            conn.execute(t["enrollment_progress"].insert(), figures)
    with engine.begin() as conn:
        conn.execute(sa.text("ANALYZE"))
    return {"org": org, "program": program, "admin": admin}


def empty(engine: sa.Engine) -> None:
    upgrade(engine)
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())


def timed(work: Callable[[], Any]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def best_of_two(ours: Callable[[], Any], hand: Callable[[], Any]) -> tuple[float, float]:
    """Each side's best of two runs, taken in turns (ours, hand, ours, hand): neither side
    always runs on the other's warm cache."""
    first_ours, first_hand = timed(ours), timed(hand)
    return min(first_ours, timed(ours)), min(first_hand, timed(hand))


def peak(work: Callable[[], Any]) -> float:
    tracemalloc.start()
    work()
    value = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return value


CSVS = (
    ("membership", "m.csv", MEMBERS_SQL),
    ("usage", "u.csv", USAGE_SQL),
    ("specialization", "s.csv", SPECS_SQL),
)
"""Each report, the file the hand-written side writes and its one query."""


def run(backend: str, url: str, members: int, enrollments: int, seed_value: int) -> None:
    engine = create_sql_engine(url)
    try:
        empty(engine)
    except learnprog.LearnprogError as exc:
        print(f"{backend:<11} unavailable: {exc}")
        return
    folder = Path(tempfile.mkdtemp())
    print(f"{backend}: {members:,} members, about {enrollments:,} enrollments")
    print(f"{'members':>9}  {'what':<20} {'learnprog s':>11} {'hand s':>8} {'ratio':>6}")
    memory = []
    for size_members, size_enrollments in (
        (members // 5, enrollments // 5),
        (members, enrollments),
    ):
        empty(engine)
        ids = seed(engine, size_members, size_enrollments, random.Random(seed_value))
        lp = learnprog.connect(uow_factory=lambda: SqlUnitOfWork(engine), **QUIET)
        admin = OrgAdminActor(ids["org"], ids["admin"])

        def ours_csv(kind: str, lp: learnprog.Learnprog = lp, admin: OrgAdminActor = admin,
                     org: str = ids["org"]) -> None:  # fmt: skip
            report = getattr(lp.reports, f"{kind}_report")(admin, org)
            with (folder / report.name).open("w", encoding="utf-8", newline="") as out:
                report.write_csv(out)

        def floor_csv(name: str, sql: str, program: str = ids["program"]) -> None:
            with engine.connect() as conn:
                result = conn.execute(
                    sa.text(sql).execution_options(yield_per=1000), {"program": program}
                )
                with (folder / name).open("w", encoding="utf-8", newline="") as out:
                    writer = csv.writer(out)
                    for row in result:
                        writer.writerow(row)

        def ours_csvs() -> None:
            for kind, _, _ in CSVS:
                ours_csv(kind)

        def floor_csvs() -> None:
            for _, name, sql in CSVS:
                floor_csv(name, sql)

        def ours_figures(lp: learnprog.Learnprog = lp, admin: OrgAdminActor = admin,
                         org: str = ids["org"]) -> None:  # fmt: skip
            lp.reports.email_report(admin, org)

        def floor_figures(program: str = ids["program"]) -> None:
            with engine.connect() as conn:
                conn.execute(sa.text(TOTALS_SQL), {"program": program}).all()
                conn.execute(sa.text(LEARNERS_SQL), {"program": program}).all()

        def ours_frame(lp: learnprog.Learnprog = lp, admin: OrgAdminActor = admin,
                       org: str = ids["org"]) -> None:  # fmt: skip
            lp.reports.usage_report(admin, org).to_pandas()

        def floor_frame(program: str = ids["program"]) -> None:
            import pandas  # the notebook extra, as to_pandas()

            with engine.connect() as conn:
                rows = conn.execute(sa.text(USAGE_SQL), {"program": program}).all()
            pandas.DataFrame.from_records(rows)  # no dtype set: object columns mostly

        timings = [("email figures", *best_of_two(ours_figures, floor_figures))]
        for kind, name, sql in CSVS:
            ours_s, hand_s = best_of_two(partial(ours_csv, kind), partial(floor_csv, name, sql))
            timings.append((f"{kind} CSV", ours_s, hand_s))
        timings.append(("usage to_pandas", *best_of_two(ours_frame, floor_frame)))
        for what, ours_s, hand_s in timings:
            print(f"{size_members:>9,}  {what:<20} {ours_s:>11.2f} {hand_s:>8.2f} "
                  f"{ours_s / hand_s:>5.1f}x")  # fmt: skip
        memory.append((size_members, peak(ours_csvs), peak(floor_csvs)))
    for size_members, ours_mib, hand_mib in memory:
        print(f"{size_members:>9,}  peak MiB, three CSVs: learnprog {ours_mib:.1f}, "
              f"hand {hand_mib:.1f}")  # fmt: skip
    (_, small, _), (_, large, _) = memory
    print(f"  CSV memory {large / small:.2f}x from a fifth of the size to all of it")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--enrollments", type=int, default=1_000_000)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    for backend in args.backends.split(","):
        url = bench_url(backend, folder, "reports.db")
        run(backend, url, int(args.members * args.scale), int(args.enrollments * args.scale),
            args.seed)  # fmt: skip


if __name__ == "__main__":
    main()
