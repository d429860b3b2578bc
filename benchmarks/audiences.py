"""Message audience resolution: learnprog's query per audience beside a hand-written one.

Seeds (with plain executemany, not timed) one organization with two programs and
``--members`` memberships (100,000 by default; ``--scale`` multiplies) in every state, about
1.5 course enrollments per member with derived figures spread over the past 200 days, and a few
admin opt-outs. Then, for each of the guide's seven audiences, prints the time of
``MessageRepository.resolve`` (one query, the rows turned into records) beside one hand-written
SQL query per audience returning the same rows, and both recipient counts (they must match).
Both run after ``ANALYZE`` (table statistics matter to the planners, and autovacuum may be
off). Figures only; nothing is asserted. Like the test suite, it **empties learnprog's tables**
in the database it uses: ``LEARNPROG_BENCH_POSTGRES_URL``, by default a ``learnprog_bench``
database of its own on the local server, made on first use (``_databases.py``).

    python benchmarks/audiences.py [--members 100000] [--scale 1] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from _databases import bench_url

import learnprog
from learnprog.model.messaging import Audience, AudienceFilter
from learnprog.storage.sql import SqlUnitOfWork, create_sql_engine, upgrade
from learnprog.storage.sql.tables import metadata
from learnprog.storage.sql.types import UtcDateTime

NOW = datetime(2026, 6, 1, tzinfo=UTC)
DAY = timedelta(days=1)

# One hand-written query per audience: the same rules as learnprog.model.messaging.Audience,
# written directly in SQL; times are bound as stored (UtcDateTime), so comparisons are exact.
FIGURES = """
SELECT e.program_id, e.learner_id,
  SUM(CASE WHEN e.current_target_id IS NOT NULL AND e.kind = 'course' THEN 1 ELSE 0 END) AS courses,
  SUM(CASE WHEN e.current_target_id IS NOT NULL AND e.kind <> 'course' THEN 1 ELSE 0 END) AS specs,
  SUM(CASE WHEN e.current_target_id IS NOT NULL AND e.kind = 'course'
           AND p.completed_at IS NOT NULL THEN 1 ELSE 0 END) AS completed,
  MAX(CASE WHEN e.current_target_id IS NOT NULL AND e.kind = 'course'
           AND p.completed_at > :recent AND p.completed_at <= :now THEN 1 ELSE 0 END) AS recent,
  MAX(CASE WHEN e.kind = 'course' THEN p.last_activity_at END) AS last_activity
FROM enrollments e LEFT JOIN enrollment_progress p ON p.enrollment_id = e.id
WHERE e.organization_id = :org
GROUP BY e.program_id, e.learner_id
"""
REFERENCE = (
    "CASE WHEN f.last_activity IS NOT NULL AND f.last_activity > m.joined_at "
    "THEN f.last_activity ELSE m.joined_at END"
)
RULES = {
    Audience.INVITED_NOT_JOINED: "m.state = 'INVITED'",
    Audience.JOINED_NOT_ENROLLED: "m.state = 'MEMBER' AND COALESCE(f.courses, 0) = 0 "
    "AND COALESCE(f.specs, 0) = 0",
    Audience.ENROLLED_NOT_COMPLETED: "m.state = 'MEMBER' AND f.courses > 0 AND f.completed = 0",
    Audience.INACTIVE: "m.state = 'MEMBER' AND (f.courses > 0 OR f.specs > 0) "
    f"AND {REFERENCE} <= :inactive",
    Audience.LONG_TERM_INACTIVE: f"m.state = 'MEMBER' AND {REFERENCE} <= :long_inactive",
    Audience.RECENT_COMPLETION: "m.state = 'MEMBER' AND f.recent = 1",
    Audience.ALL_MEMBERS: "m.state = 'MEMBER'",
}


def hand_written(audience: Audience) -> sa.TextClause:
    sql = (
        f"SELECT m.learner_id, m.program_id, m.state, "
        f"CASE WHEN EXISTS (SELECT 1 FROM email_opt_outs o WHERE o.learner_id = m.learner_id "
        f"AND o.category = 'admin') THEN 1 ELSE 0 END AS opted_out, "
        f"CASE WHEN {RULES[audience]} THEN 1 ELSE 0 END AS in_audience "
        f"FROM memberships m LEFT JOIN ({FIGURES}) f "
        f"ON f.program_id = m.program_id AND f.learner_id = m.learner_id "
        f"WHERE m.organization_id = :org ORDER BY m.learner_id, m.program_id"
    )
    names = [n for n in ("now", "recent", "inactive", "long_inactive") if f":{n}" in sql]
    return sa.text(sql).bindparams(*(sa.bindparam(n, type_=UtcDateTime()) for n in names))


def seed(engine: sa.Engine, members: int, rng: random.Random) -> str:
    """Insert the data with executemany; return the organization ID."""
    t = metadata.tables
    org, naive = uuid.uuid4().hex, NOW.replace(tzinfo=None)
    programs = [uuid.uuid4().hex, uuid.uuid4().hex]
    contract = uuid.uuid4().hex
    courses = [uuid.uuid4().hex for _ in range(20)]
    with engine.begin() as conn:
        conn.execute(
            t["organizations"].insert(),
            {"id": org, "name": "Bench", "email_domains": [], "timezone": "UTC",
             "report_program_ids": [], "report_weekdays": [],
             "restrict_invitations_to_domains": False, "created_at": NOW},
        )  # fmt: skip
        conn.execute(
            t["programs"].insert(),
            [{"id": p, "organization_id": org, "name": f"P{i}", "slug": f"p{i}-{p[:6]}",
              "created_at": NOW} for i, p in enumerate(programs)],
        )  # fmt: skip
        conn.execute(
            t["contracts"].insert(),
            {"id": contract, "organization_id": org, "name": "C", "kind": "unlimited", "used": 0,
             "starts_at": NOW - 400 * DAY, "ends_at": NOW + 400 * DAY},
        )  # fmt: skip
        conn.execute(
            t["courses"].insert(),
            [{"id": c, "organization_id": org, "course_id": f"C{i}", "slug": f"c-{i}",
              "name": f"Course {i}", "created_at": NOW} for i, c in enumerate(courses)],
        )  # fmt: skip
    del naive
    for start in range(0, members, 5000):
        learners, memberships, enrollments, figures, opt_outs = [], [], [], [], []
        for i in range(start, min(start + 5000, members)):
            lid = uuid.uuid4().hex
            email = f"learner.{i}@example.org"
            learners.append(
                {"id": lid, "organization_id": org, "full_name": f"Learner {i}", "email": email,
                 "email_key": email, "attributes": {}, "identity_verified": False,
                 "created_at": NOW, "search_key": f"learner {i}\n{email}"}
            )  # fmt: skip
            state = rng.choices(("MEMBER", "INVITED", "DELETED_MEMBER"), (8, 1, 1))[0]
            joined = None if state == "INVITED" else NOW - rng.randint(1, 200) * DAY
            program = programs[i % 2]
            memberships.append(
                {"id": uuid.uuid4().hex, "organization_id": org, "program_id": program,
                 "learner_id": lid, "contract_id": contract, "state": state,
                 "invited_at": NOW - 250 * DAY, "joined_at": joined,
                 "removed_at": NOW - DAY if state == "DELETED_MEMBER" else None}
            )  # fmt: skip
            if rng.random() < 0.02:
                opt_outs.append(
                    {"learner_id": lid, "category": "admin", "organization_id": org, "at": NOW}
                )
            if joined is None:
                continue
            for course in rng.sample(courses, rng.choice((0, 1, 2, 3))):
                eid = uuid.uuid4().hex
                ended = rng.random() < 0.1
                enrollments.append(
                    {"id": eid, "organization_id": org, "program_id": program,
                     "learner_id": lid, "kind": "course", "target_id": course,
                     "contract_id": contract, "enrolled_at": joined + DAY,
                     "unenrolled_at": joined + 2 * DAY if ended else None,
                     "current_target_id": None if ended else course}
                )  # fmt: skip
                last = joined + rng.randint(1, 150) * DAY
                done = last if rng.random() < 0.3 else None
                figures.append(
                    {"enrollment_id": eid, "items_completed": 0, "items_total": 0,
                     "progress": 0.0, "lessons_taken": 0, "learning_seconds": 0.0,
                     "last_activity_at": min(last, NOW), "completed_at": done and min(done, NOW),
                     "grade": None, "failing": False, "open_due_at": None, "attempts": 0}
                )  # fmt: skip
        with engine.begin() as conn:
            conn.execute(t["learners"].insert(), learners)
            conn.execute(t["memberships"].insert(), memberships)
            if enrollments:
                conn.execute(t["enrollments"].insert(), enrollments)
                conn.execute(t["enrollment_progress"].insert(), figures)
            if opt_outs:
                conn.execute(t["email_opt_outs"].insert(), opt_outs)
    return org


def empty(engine: sa.Engine) -> None:
    upgrade(engine)
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())


def run(backend: str, url: str, members: int, seed_value: int) -> None:
    engine = create_sql_engine(url)
    try:
        empty(engine)
    except learnprog.LearnprogError as exc:
        print(f"{backend:<11} unavailable: {exc}")
        return
    started = time.perf_counter()
    org = seed(engine, members, random.Random(seed_value))
    with engine.begin() as conn:  # fresh statistics for both (this server may not autovacuum)
        conn.execute(sa.text("ANALYZE"))
    print(f"{backend}: seeded {members:,} memberships in {time.perf_counter() - started:.1f} s")
    print(
        f"{'audience':<24} {'learnprog s':>12} {'hand SQL s':>11} {'ratio':>6} {'in audience':>12}"
    )
    params: dict[str, Any] = {
        "org": org,
        "now": NOW,
        "recent": NOW - 30 * DAY,
        "inactive": NOW - 30 * DAY,
        "long_inactive": NOW - 90 * DAY,
    }
    for audience in Audience:
        started = time.perf_counter()
        with SqlUnitOfWork(engine) as uow:
            rows = uow.messages.resolve(org, audience, AudienceFilter(), None, NOW)
        ours = time.perf_counter() - started
        ours_count = sum(1 for r in rows if r.in_audience)
        started = time.perf_counter()
        with engine.connect() as conn:
            hand = conn.execute(hand_written(audience), params).all()
        floor = time.perf_counter() - started
        hand_count = sum(1 for r in hand if r.in_audience)
        check = "" if hand_count == ours_count else f" (hand-written: {hand_count:,})"
        print(
            f"{audience.value:<24} {ours:>12.3f} {floor:>11.3f} {ours / floor:>5.1f}x "
            f"{ours_count:>12,}{check}"
        )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    members = int(args.members * args.scale)
    folder = Path(tempfile.mkdtemp())
    for backend in args.backends.split(","):
        run(backend, bench_url(backend, folder, "audiences.db"), members, args.seed)


if __name__ == "__main__":
    main()
