"""Activity ingest from several workers at once gives what the calls give one after the other.

Issue 17, section 3: two ingest workers writing activity of the same enrollment must never lose
an update of its derived figures, and one batch delivered twice at once is stored (and
counted as added) once. Each race runs ``ROUNDS`` times (:mod:`tests.races`): in threads on
every backend and in spawned processes (each with its own engine) on SQLite, PostgreSQL and
MariaDB; the stored result is checked after each round.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.engine import Engine

import learnprog
from learnprog.clock import FixedClock
from learnprog.mail.memory import InMemoryMailer
from learnprog.model import (
    Assessment,
    AssessmentAttempt,
    Course,
    CourseItem,
    Enrollment,
    EventKind,
    LearningEvent,
)
from learnprog.model.progress import course_progress
from learnprog.services.learning import IngestResult
from learnprog.storage.sql import SqlUnitOfWork
from tests.conftest import START, UowFactory
from tests.races import ROUNDS, at_once, process_race
from tests.services.world import SYSTEM, World

MIN = timedelta(minutes=1)
SECRET = "test-secret-test-secret"
LATER = START + timedelta(days=365)  # the workers' now: every round's records are in the past


Batch = tuple[list[LearningEvent], list[AssessmentAttempt]]


class Feed:
    """An organization with one course and one learner enrolled in it, and its activity."""

    def __init__(self, lp: learnprog.Learnprog, clock: FixedClock) -> None:
        self.world = World(lp)
        admin, org = self.world.admin, self.world.org
        items = [
            CourseItem.create(f"Item {k}", kind="video", lesson=f"Week {k // 2 + 1}", id=f"i{k}")
            for k in range(4)
        ]
        assessments = [
            Assessment.create("Quiz", id="a1", weight=1, pass_mark=60),
            Assessment.create("Project", id="a2", weight=3, pass_mark=60),
        ]
        self.course: Course = lp.programs.add_course(
            admin, org.id, course_id="PY1", slug="python", name="Python",
            items=items, assessments=assessments,
        )  # fmt: skip
        self.world.invite("lia@acme.example", "Lia Learner")
        self.world.accept("lia@acme.example")
        self.lia = self.world.learner("lia@acme.example")
        self.enrollment: Enrollment = lp.learning.enroll(
            self.lia, self.world.program.id, self.course.id
        )
        clock.advance(LATER - START)  # enrolled at START; the activity comes after

    def batch(self, round_: int, worker: int) -> Batch:
        """One worker's records of a round: interleaved in time with the other worker's.

        Worker 0 completes items 0 and 1 and attempts the quiz, worker 1 items 2 and 3 and the
        project, so completion, progress, hours, last activity and grade all need both.
        """
        base = START + round_ * 40 * MIN + worker * MIN
        learner = self.lia.learner_id
        events = [
            LearningEvent(
                f"r{round_}-w{worker}-e{k}", learner, self.course.id,
                f"i{2 * worker + k % 2}", EventKind.COMPLETED, base + 2 * k * MIN,
            )
            for k in range(8)
        ]  # fmt: skip
        attempts = [
            AssessmentAttempt(
                f"r{round_}-w{worker}-t", learner, self.course.id, f"a{worker + 1}",
                float(40 + (7 * round_ + 13 * worker) % 60), base + 17 * MIN,
            )
        ]  # fmt: skip
        return events, attempts

    def check(self, lp: learnprog.Learnprog, events: int, attempts: int) -> None:
        """The stored figures are those computed from every stored event and attempt."""
        with lp.context.uow_factory() as uow:
            stored_events = list(uow.activity.events_for([self.lia.learner_id], [self.course.id]))
            stored_attempts = list(
                uow.activity.attempts_for([self.lia.learner_id], [self.course.id])
            )
        assert (len(stored_events), len(stored_attempts)) == (events, attempts)
        expected = course_progress(self.enrollment, self.course, stored_events, stored_attempts)
        assert lp.learning.progress(self.world.admin, self.enrollment.id) == expected


def _ingest(
    lp: learnprog.Learnprog,
    organization_id: str,
    events: list[LearningEvent],
    attempts: list[AssessmentAttempt],
) -> IngestResult:
    return lp.learning.ingest(SYSTEM, organization_id, events=events, attempts=attempts)


def _connect(uow_factory: UowFactory, clock: FixedClock) -> learnprog.Learnprog:
    return learnprog.connect(
        uow_factory=uow_factory,
        settings=learnprog.Settings(secret_key=SECRET),
        clock=clock,
        mailer=InMemoryMailer(),
    )


def _check_counts(results: list[IngestResult], events: int, attempts: int) -> None:
    """Across the calls, each record is added once and every other delivery is a duplicate."""
    assert sum(r.events_added for r in results) == events
    assert sum(r.attempts_added for r in results) == attempts
    assert sum(r.duplicates for r in results) == (len(results) - 1) * (events + attempts)
    assert all(r.rejected == () for r in results)
    assert sum(r.outside_enrollments for r in results) == 0


# --- threads, every backend -----------------------------------------------------------------


def _in_threads(
    lp: learnprog.Learnprog, organization_id: str, batches: list[Batch]
) -> list[IngestResult]:
    """Ingest each batch in a thread of its own, all at once; return the results."""
    results: list[IngestResult] = []

    def call(batch: Batch) -> Callable[[], IngestResult]:
        def run() -> IngestResult:
            result = _ingest(lp, organization_id, *batch)
            results.append(result)
            return result

        return run

    assert at_once([call(b) for b in batches]) == ["IngestResult"] * len(batches)
    return results


def test_two_workers_ingesting_one_enrollment_at_once_lose_no_update(
    uow_factory: UowFactory,
) -> None:
    clock = FixedClock(START)
    lp = _connect(uow_factory, clock)
    feed = Feed(lp, clock)
    for round_ in range(ROUNDS):
        batches = [feed.batch(round_, worker) for worker in (0, 1)]
        results = _in_threads(lp, feed.world.org.id, batches)
        assert sum(r.events_added for r in results) == 16
        assert sum(r.attempts_added for r in results) == 2
        assert sum(r.outside_enrollments for r in results) == 0
        feed.check(lp, 16 * (round_ + 1), 2 * (round_ + 1))


def test_one_batch_delivered_twice_at_once_is_stored_and_counted_once(
    uow_factory: UowFactory,
) -> None:
    clock = FixedClock(START)
    lp = _connect(uow_factory, clock)
    feed = Feed(lp, clock)
    for round_ in range(ROUNDS):
        events, attempts = feed.batch(round_, round_ % 2)
        results = _in_threads(lp, feed.world.org.id, [(events, attempts)] * 2)
        _check_counts(results, len(events), len(attempts))
        feed.check(lp, 8 * (round_ + 1), round_ + 1)


# --- processes: SQLite, PostgreSQL, MariaDB -------------------------------------------------

_connected: dict[str, learnprog.Learnprog] = {}


def ingest_in_worker(
    url: str,
    organization_id: str,
    events: list[LearningEvent],
    attempts: list[AssessmentAttempt],
) -> IngestResult:
    """One worker process's ingest call, on its own learnprog and engine (one per process)."""
    if url not in _connected:
        _connected[url] = learnprog.connect(
            url,
            settings=learnprog.Settings(secret_key=SECRET),
            clock=FixedClock(LATER),
            mailer=InMemoryMailer(),
        )
    return _ingest(_connected[url], organization_id, events, attempts)


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_two_worker_processes_ingesting_one_enrollment_at_once_lose_no_update(
    sql_engine: Engine,
) -> None:
    clock = FixedClock(START)
    lp = _connect(lambda: SqlUnitOfWork(sql_engine), clock)
    feed = Feed(lp, clock)
    org_id, url = feed.world.org.id, _url(sql_engine)
    with process_race(2) as race:
        for round_ in range(ROUNDS):
            args = [(url, org_id, *feed.batch(round_, worker)) for worker in (0, 1)]
            results = race.results(ingest_in_worker, args)
            assert all(isinstance(r, IngestResult) for r in results), results
            assert sum(r.events_added for r in results if isinstance(r, IngestResult)) == 16
            feed.check(lp, 16 * (round_ + 1), 2 * (round_ + 1))


def test_one_batch_delivered_twice_to_two_worker_processes_is_stored_and_counted_once(
    sql_engine: Engine,
) -> None:
    clock = FixedClock(START)
    lp = _connect(lambda: SqlUnitOfWork(sql_engine), clock)
    feed = Feed(lp, clock)
    org_id, url = feed.world.org.id, _url(sql_engine)
    with process_race(2) as race:
        for round_ in range(ROUNDS):
            events, attempts = feed.batch(round_, round_ % 2)
            results = race.results(ingest_in_worker, [(url, org_id, events, attempts)] * 2)
            ingested = [r for r in results if isinstance(r, IngestResult)]
            assert len(ingested) == 2, results
            _check_counts(ingested, len(events), len(attempts))
            feed.check(lp, 8 * (round_ + 1), round_ + 1)
