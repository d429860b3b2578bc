"""Learning activity: ingestion and the members' figures, learnprog beside hand-written floors.

A seeded loader builds an organization, a program on an unlimited contract, a small catalog
(four courses of 12-24 items in lessons of four, each with one ungraded, optional practice
quiz) and ``--learners`` MEMBERs, each enrolled in 1-3 courses; then ``--events`` item events
(``--scale`` multiplies both counts) are generated lazily, as one feed in time order: per
enrollment, sessions of 3-15 events a few minutes apart (now and then exactly 60 or 61
minutes), sessions hours to days apart. No assessment attempts are generated, so completion
means every item completed and nobody is at risk.

For each backend it prints

- events per second of the feed alone (generating the ``LearningEvent`` objects), of
  learnprog's ``LearningService.ingest`` (storing them and keeping every enrollment's figures
  up to date), and of the floor: the same events written by a plain executemany INSERT into
  the ``learning_events`` table, 5,000 rows a transaction, after emptying it;
- the peak Python memory (tracemalloc) of the three over the first ``--memory-events``
  events (traced runs are several times slower, so they are separate runs over a prefix); the
  feed's own generators (a random generator per enrollment) are most of it;
- the seconds to get every member's learning hours and status: learnprog's way (the members
  list, paged 1,000 at a time, plus the stored figures of the program's enrollments) beside one
  hand-written SQL query over the raw events (LAG per learner and course, sessions split at
  gaps over 60 minutes), and how many members the two disagree on. Both run after ``ANALYZE``.

Setup notes: the MEMBERs, joined a week before the first activity, come from
``InvitationService.import_members`` and their enrollments from
``LearningService.record_enrollments`` (history imports: no email, 1,000 records a unit of
work).

learnprog has no public call returning every member's learning hours: the members list gives
the status (enrollments, completions, last activity, inactive, at risk) and the hours are
per enrollment (``progress``, one unit of work per enrollment). The learnprog column therefore
reads the stored figures of all the program's enrollments through one unit of work.

The PostgreSQL database is ``LEARNPROG_BENCH_POSTGRES_URL`` (by default ``learnprog_bench``,
made on first use, as the other benchmarks); the script **empties learnprog's tables** in it. The
inactive figures depend on the day the script runs (the clock is real; the data is fixed).
Figures only; nothing is asserted.

    python benchmarks/learning_activity.py [--learners 10000] [--events 1000000] [--scale 1]
        [--seed 1] [--backends sqlite,postgresql] [--memory-events 100000] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import heapq
import pstats
import random
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any, NamedTuple

import sqlalchemy as sa
from _databases import bench_url

import learnprog
from learnprog.model import CourseItem, EventKind, LearningEvent
from learnprog.model.catalog import Assessment, EntryKind
from learnprog.model.progress import INACTIVE_AFTER, SESSION_IDLE_LIMIT
from learnprog.services.history import EnrollmentRecord, MemberRecord
from learnprog.storage.sql import create_sql_engine, upgrade
from learnprog.storage.sql.tables import (
    activity_tallies,
    assessment_attempts,
    enrollment_days,
    enrollment_progress,
    learning_events,
    metadata,
)

# mail is queued, not delivered, and no link is followed: nothing to warn about
QUIET: dict[str, Any] = {
    "mailer": learnprog.InMemoryMailer(),
    "settings": learnprog.Settings(secret_key="benchmark-secret-not-for-links"),
}

START = datetime(2026, 6, 1, tzinfo=UTC)  # the first enrollment; activity runs ~6 months on
JOINED = START - timedelta(days=7)
ENROLL_SPREAD = timedelta(days=150)
COURSE_SIZES = (12, 16, 20, 24)
LESSON_SIZE = 4
FLOOR_BATCH = 5000
PAGE = 1000
MICRO = 1_000_000


class Bench(NamedTuple):
    """What the loader made: the ids the measurements need."""

    lp: learnprog.Learnprog
    admin: learnprog.Actor
    organization_id: str
    program_id: str
    learner_ids: list[str]
    course_ids: list[str]


class Figures(NamedTuple):
    """One member's learning hours and status."""

    hours: float
    enrollments: int
    completions: int
    last_activity_us: int | None
    inactive: bool


# --- the seeded data -----------------------------------------------------------------------


def plan(seed: int, learner: int) -> list[tuple[int, datetime]]:
    """Return the (course index, enrollment time) pairs of learner number ``learner``."""
    rng = random.Random(f"{seed}:{learner}:plan")
    courses = rng.sample(range(len(COURSE_SIZES)), rng.choice((1, 1, 2, 2, 3)))
    spread = int(ENROLL_SPREAD.total_seconds())
    return [(c, START + timedelta(seconds=rng.randrange(spread))) for c in courses]


def enrollment_events(
    seed: int, learner: int, learner_id: str, course_id: str, course: int, at: datetime, count: int
) -> Iterator[LearningEvent]:
    """Yield ``count`` events of one enrollment, in time order."""
    rng = random.Random(f"{seed}:{learner}:{course}:events")
    size = COURSE_SIZES[course]
    t = at + timedelta(seconds=rng.randrange(1, 7200))
    started = False
    position = 0
    left_in_session = rng.randint(3, 15)
    for n in range(count):
        if position < size:
            item, kind = position, EventKind.COMPLETED if started else EventKind.STARTED
            if started:
                position += 1
            started = not started
        else:  # every item done: revisit some
            item, kind = rng.randrange(size), EventKind.STARTED
        yield LearningEvent(
            f"ev-{learner:07d}-{course}-{n:05d}", learner_id, course_id, f"i{item:02d}", kind, t
        )
        left_in_session -= 1
        if left_in_session == 0:  # idle between sessions: 6 hours to 10 days
            t += timedelta(seconds=rng.randrange(6 * 3600, 10 * 86400))
            left_in_session = rng.randint(3, 15)
        else:  # inside a session: 1-20 minutes, sometimes exactly 60 or 61 minutes
            roll = rng.random()
            minutes = 60 if roll < 0.03 else 61 if roll < 0.06 else rng.randint(1, 20)
            t += timedelta(minutes=minutes, seconds=rng.randrange(60) if minutes < 60 else 0)


def learner_events(
    seed: int, learner: int, learner_id: str, course_ids: Sequence[str], count: int
) -> Iterator[LearningEvent]:
    """Yield one learner's ``count`` events over their enrollments, in time order."""
    enrollments = plan(seed, learner)
    shares = [count // len(enrollments)] * len(enrollments)
    for k in range(count % len(enrollments)):
        shares[k] += 1
    streams = [
        enrollment_events(seed, learner, learner_id, course_ids[c], c, at, share)
        for (c, at), share in zip(enrollments, shares, strict=True)
    ]
    yield from heapq.merge(*streams, key=lambda e: e.at)


def feed(bench: Bench, seed: int, events: int) -> Iterator[LearningEvent]:
    """Yield ``events`` events of every learner as one feed in time order, lazily."""
    learners = len(bench.learner_ids)
    streams = [
        learner_events(
            seed, i, lid, bench.course_ids, events // learners + (1 if i < events % learners else 0)
        )
        for i, lid in enumerate(bench.learner_ids)
    ]
    return heapq.merge(*streams, key=lambda e: e.at)


def first(bench: Bench, seed: int, events: int, count: int) -> Iterator[LearningEvent]:
    """Yield the first ``count`` events of the feed of ``events``."""
    return islice(feed(bench, seed, events), count)


def load(url: str, seed: int, learners: int, folder: Path) -> tuple[Bench, dict[str, float]]:
    """Build the organization, catalog and MEMBERs with their enrollments; time each step."""
    system = learnprog.SystemActor()
    timings: dict[str, float] = {}
    lp = learnprog.connect(url, **QUIET)
    started = time.perf_counter()
    org = lp.organizations.create_organization(
        system,
        "Bench",
        email_domains=["example.org"],
        admin_name="Admin",
        admin_email="admin@example.org",
    )
    admin = lp.organizations.resolve_actor(system, org.id, "admin@example.org")
    program = lp.programs.create_program(admin, org.id, "Academy")
    contract = lp.programs.create_contract(
        admin,
        org.id,
        "Unlimited",
        kind="unlimited",
        starts_at=datetime(2026, 1, 1, tzinfo=UTC),
        ends_at=datetime(2030, 1, 1, tzinfo=UTC),
    )
    course_ids = []
    for c, size in enumerate(COURSE_SIZES):
        items = [
            CourseItem.create(
                f"Item {k}",
                kind="video" if k % 3 else "reading",
                lesson=f"Lesson {k // LESSON_SIZE + 1}",
                id=f"i{k:02d}",
                position=k,
            )
            for k in range(size)
        ]
        quiz = Assessment.create("Practice quiz", id="practice", graded=False, required=False)
        course = lp.programs.add_course(
            admin,
            org.id,
            course_id=f"C{c}",
            slug=f"course-{c}",
            name=f"Course {c}",
            items=items,
            assessments=[quiz],
        )
        course_ids.append(course.id)
    del folder  # the members come from history records, not a roster file
    timings["catalog"] = time.perf_counter() - started
    started = time.perf_counter()
    result = lp.invitations.import_members(
        system,
        program.id,
        contract.id,
        (
            MemberRecord(f"Learner {i}", f"learner.{i}@example.org", JOINED,
                         external_id=f"{i:07d}", joined_at=JOINED)
            for i in range(learners)
        ),
    )  # fmt: skip
    learner_ids = [str(r.record_id) for r in result.records]
    timings["join"] = time.perf_counter() - started
    started = time.perf_counter()
    lp.learning.record_enrollments(
        system,
        program.id,
        (
            EnrollmentRecord(learner_id, course_ids[c], at)
            for i, learner_id in enumerate(learner_ids)
            for c, at in plan(seed, i)
        ),
    )
    timings["enroll"] = time.perf_counter() - started
    return Bench(lp, admin, org.id, program.id, learner_ids, course_ids), timings


# --- the measurements ----------------------------------------------------------------------


def empty(url: str) -> None:
    engine = create_sql_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
    engine.dispose()


def forget_activity(engine: sa.Engine) -> None:
    """Empty the activity tables and the derived figures; keep learners and enrollments.

    The enrollments' tallies and days go too: without their tallies, the next ingest tallies
    each enrollment from its records, as it would a new one.
    """
    with engine.begin() as conn:
        tables = (activity_tallies, enrollment_days, enrollment_progress, assessment_attempts,
                  learning_events)  # fmt: skip
        for table in tables:
            conn.execute(table.delete())


def ingest(bench: Bench, events: Iterator[LearningEvent], total: int) -> int:
    """Ingest ``events`` through learnprog; return how many were added."""
    marks = iter(range(total // 10, total + 1, max(total // 10, 1)))
    mark = next(marks, total)

    def progress(done: int) -> None:
        nonlocal mark
        if done >= mark:
            print(f"  ingest: {done:,} of {total:,} events", file=sys.stderr, flush=True)
            while mark <= done:
                mark = next(marks, total + 1)

    result = bench.lp.learning.ingest(
        learnprog.SystemActor(), bench.organization_id, events=events, on_progress=progress
    )
    return result.events_added


def floor_insert(engine: sa.Engine, organization_id: str, events: Iterator[LearningEvent]) -> int:
    """Insert ``events`` with one plain executemany INSERT per batch; return the count."""
    count = 0
    while batch := list(islice(events, FLOOR_BATCH)):
        rows = [
            {
                "organization_id": organization_id,
                "id": e.id,
                "learner_id": e.learner_id,
                "course_id": e.course_id,
                "item_id": e.item_id,
                "kind": e.kind.value,
                "at": e.at,
            }
            for e in batch
        ]
        with engine.begin() as conn:
            conn.execute(learning_events.insert(), rows)
        count += len(rows)
    return count


def analyze(engine: sa.Engine) -> None:
    """Refresh the planner's statistics, as autovacuum would after a big load.

    Without it PostgreSQL plans the fresh tables as nearly empty (nested loops that rerun an
    aggregate per row: minutes instead of a second).
    """
    with engine.begin() as conn:
        conn.execute(sa.text("ANALYZE"))


def timed(work: Callable[[], int]) -> tuple[int, float]:
    started = time.perf_counter()
    count = work()
    return count, time.perf_counter() - started


def traced_peak(work: Callable[[], object]) -> float:
    """Return the peak MiB of Python allocations while ``work`` runs."""
    tracemalloc.start()
    work()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return peak


def learnprog_figures(bench: Bench) -> dict[str, Figures]:
    """Every member's hours and status the learnprog way: the members list, stored figures."""
    lp, admin = bench.lp, bench.admin
    rows: list[Any] = []
    offset = 0
    while True:
        page = lp.learning.members_list(admin, bench.program_id, offset=offset, limit=PAGE)
        rows += page.rows
        offset += len(page.rows)
        if not page.rows or offset >= page.total:
            break
    current = [
        e
        for e in lp.learning.enrollments(admin, bench.program_id)
        if e.is_current and e.kind is EntryKind.COURSE
    ]
    with lp.context.uow_factory() as uow:  # no public bulk read of the enrollments' figures
        stored = uow.progress.get_many([e.id for e in current])
    seconds: dict[str, float] = {}
    for e in current:
        figures = stored.get(e.id)
        if figures is not None:
            seconds[e.learner_id] = seconds.get(e.learner_id, 0.0) + figures.learning_seconds
    result = {}
    for row in rows:
        status = row.status
        last = status.last_activity_at
        result[row.learner.id] = Figures(
            seconds.get(row.learner.id, 0.0) / 3600,
            status.enrollments,
            status.completions,
            None if last is None else epoch_us(last),
            status.inactive,
        )
    return result


def epoch_us(at: datetime) -> int:
    delta = at - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86400 + delta.seconds) * MICRO + delta.microseconds


def epoch_us_sql(column: str, dialect: str) -> str:
    """Return SQL for a stored (naive UTC) timestamp as whole microseconds since 1970.

    Integers keep a gap of exactly 60 minutes exact (julianday arithmetic would not). SQLite
    stores SQLAlchemy timestamps as ``YYYY-MM-DD HH:MM:SS.ffffff`` text.
    """
    if dialect == "sqlite":
        return (
            f"(CAST(strftime('%s', {column}) AS INTEGER) * {MICRO}"
            f" + CAST(substr({column}, 21, 6) AS INTEGER))"
        )
    return f"CAST(EXTRACT(EPOCH FROM {column}) * {MICRO} AS BIGINT)"


def hand_query(dialect: str) -> sa.TextClause:
    """One query: every MEMBER's learning hours, enrollments, completions, activity, inactive.

    Sessions per (learner, course) enrollment: LAG gives each event's gap to the previous one;
    a gap over 60 minutes starts a new session, so the sessions' total length is the sum of
    the gaps of at most 60 minutes (a lone event adds nothing). Completion: every item of the
    course completed (the courses here have no required graded assessment).
    """
    t = epoch_us_sql("e.at", dialect)
    joined = epoch_us_sql("m.joined_at", dialect)
    return sa.text(f"""
        WITH current_courses AS (
            SELECT n.learner_id, n.target_id AS course_id, n.enrolled_at
            FROM enrollments n
            WHERE n.program_id = :program AND n.kind = 'course' AND n.unenrolled_at IS NULL
        ),
        gaps AS (
            SELECT e.learner_id, e.course_id, e.item_id, e.kind, {t} AS t,
                   {t} - LAG({t}) OVER (
                       PARTITION BY e.learner_id, e.course_id ORDER BY e.at
                   ) AS gap
            FROM learning_events e
            JOIN current_courses c
              ON c.learner_id = e.learner_id AND c.course_id = e.course_id
             AND e.at >= c.enrolled_at
            WHERE e.organization_id = :org
        ),
        per_course AS (
            SELECT learner_id, course_id,
                   SUM(CASE WHEN gap <= :idle THEN gap ELSE 0 END) AS session_us,
                   MAX(t) AS last_us,
                   COUNT(DISTINCT CASE WHEN kind = 'completed' THEN item_id END) AS done
            FROM gaps
            GROUP BY learner_id, course_id
        ),
        items AS (
            SELECT course_id, COUNT(*) AS n FROM course_items GROUP BY course_id
        ),
        per_learner AS (
            SELECT c.learner_id,
                   COUNT(*) AS enrollments,
                   SUM(CASE WHEN i.n > 0 AND p.done = i.n THEN 1 ELSE 0 END) AS completions,
                   COALESCE(SUM(p.session_us), 0) AS session_us,
                   MAX(p.last_us) AS last_us
            FROM current_courses c
            LEFT JOIN per_course p
              ON p.learner_id = c.learner_id AND p.course_id = c.course_id
            LEFT JOIN items i ON i.course_id = c.course_id
            GROUP BY c.learner_id
        )
        SELECT m.learner_id,
               COALESCE(l.session_us, 0) / 3600000000.0 AS hours,
               COALESCE(l.enrollments, 0) AS enrollments,
               COALESCE(l.completions, 0) AS completions,
               l.last_us,
               CASE WHEN :now_us - CASE WHEN l.last_us > {joined} THEN l.last_us
                                        ELSE {joined} END >= :inactive_us
                    THEN 1 ELSE 0 END AS inactive
        FROM memberships m
        LEFT JOIN per_learner l ON l.learner_id = m.learner_id
        WHERE m.program_id = :program AND m.state = 'MEMBER'
    """)


def hand_figures(engine: sa.Engine, bench: Bench) -> dict[str, Figures]:
    params = {
        "program": bench.program_id,
        "org": bench.organization_id,
        "idle": int(SESSION_IDLE_LIMIT.total_seconds()) * MICRO,
        "now_us": epoch_us(learnprog.SystemClock().now()),
        "inactive_us": int(INACTIVE_AFTER.total_seconds()) * MICRO,
    }
    with engine.connect() as conn:
        rows = conn.execute(hand_query(engine.dialect.name), params).all()
    return {
        r.learner_id: Figures(
            float(r.hours),
            int(r.enrollments),
            int(r.completions),
            None if r.last_us is None else int(r.last_us),
            bool(r.inactive),
        )
        for r in rows
    }


def disagreements(ours: dict[str, Figures], theirs: dict[str, Figures]) -> int:
    """Count members whose figures differ (hours to a millisecond)."""
    count = 0
    for learner_id in ours.keys() | theirs.keys():
        a, b = ours.get(learner_id), theirs.get(learner_id)
        if a is None or b is None or abs(a.hours - b.hours) > 1e-3 / 3600 or a[1:] != b[1:]:
            count += 1
    return count


def profile_ingest(bench: Bench, engine: sa.Engine, seed: int, total: int, events: int) -> None:
    """Print where ``ingest`` spends its time over the first ``events`` events of the feed."""
    forget_activity(engine)
    profiler = cProfile.Profile()
    profiler.runcall(ingest, bench, first(bench, seed, total, events), events)
    stats = pstats.Stats(profiler, stream=sys.stdout)
    print(f"profile of ingest, first {events:,} events, by own time:")
    stats.sort_stats("tottime").print_stats(20)
    print("by cumulative time:")
    stats.sort_stats("cumulative").print_stats(30)


def run_backend(backend: str, args: argparse.Namespace, learners: int, events: int) -> None:
    folder = Path(tempfile.mkdtemp())
    url = bench_url(backend, folder)
    try:
        empty(url)
    except learnprog.LearnprogError as exc:
        print(f"{backend}: unavailable: {exc}")
        return
    bench, setup = load(url, args.seed, learners, folder)
    engine = create_sql_engine(url)
    try:
        enrollments = sum(len(plan(args.seed, i)) for i in range(learners))
        print(
            f"{backend}: {learners:,} members, {enrollments:,} enrollments, {events:,} events; "
            f"setup: catalog {setup['catalog']:.1f} s, members {setup['join']:.1f} s, "
            f"enrollments {setup['enroll']:.1f} s"
        )
        _, feed_s = timed(lambda: sum(1 for _ in feed(bench, args.seed, events)))
        added, ingest_s = timed(lambda: ingest(bench, feed(bench, args.seed, events), events))
        analyze(engine)
        ours_s = time.perf_counter()
        ours = learnprog_figures(bench)
        ours_s = time.perf_counter() - ours_s
        hand_s = time.perf_counter()
        theirs = hand_figures(engine, bench)
        hand_s = time.perf_counter() - hand_s
        differ = disagreements(ours, theirs)
        forget_activity(engine)
        floor_n, floor_s = timed(
            lambda: floor_insert(engine, bench.organization_id, feed(bench, args.seed, events))
        )
        prefix = min(args.memory_events, events)
        feed_mib = ours_mib = floor_mib = float("nan")
        if prefix:
            feed_mib = traced_peak(lambda: sum(1 for _ in first(bench, args.seed, events, prefix)))
            forget_activity(engine)
            ours_mib = traced_peak(
                lambda: ingest(bench, first(bench, args.seed, events, prefix), prefix)
            )
            forget_activity(engine)
            floor_mib = traced_peak(
                lambda: floor_insert(
                    engine, bench.organization_id, first(bench, args.seed, events, prefix)
                )
            )
        hours = sum(f.hours for f in theirs.values())
        print(f"  {'':<34} {'events/s':>10} {'seconds':>9} {f'peak MiB @{prefix:,}':>18}")
        print(
            f"  {'feed alone (generating events)':<34} {events / feed_s:>10,.0f} {feed_s:>9.1f} "
            f"{feed_mib:>18.1f}"
        )
        print(
            f"  {'learnprog ingest':<34} {added / ingest_s:>10,.0f} {ingest_s:>9.1f} "
            f"{ours_mib:>18.1f}"
        )
        print(
            f"  {'floor: executemany INSERT':<34} {floor_n / floor_s:>10,.0f} {floor_s:>9.1f} "
            f"{floor_mib:>18.1f}"
        )
        print(f"  {'ingest / floor':<34} {ingest_s / floor_s:>9.1f}x")
        print(f"  every member's hours and status ({len(theirs):,} members, {hours:,.0f} hours):")
        print(f"  {'learnprog: members list + figures':<34} {'':>10} {ours_s:>9.2f}")
        print(f"  {'floor: one SQL query on raw events':<34} {'':>10} {hand_s:>9.2f}")
        print(f"  members whose figures differ: {differ}")
        if args.profile:
            profile_ingest(bench, engine, args.seed, events, min(events, args.profile_events))
    finally:
        engine.dispose()
        bench.lp.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--memory-events", type=int, default=100_000, help="events in the traced runs; 0: none"
    )
    parser.add_argument("--profile", action="store_true", help="profile ingest (cProfile)")
    parser.add_argument("--profile-events", type=int, default=100_000)
    args = parser.parse_args()
    learners = max(int(args.learners * args.scale), 1)
    events = int(args.events * args.scale)
    for backend in args.backends.split(","):
        run_backend(backend, args, learners, events)


if __name__ == "__main__":
    main()
