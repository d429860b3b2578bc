"""A learner's enrollment made while an ingest worker stores the learner's activity (issue 17).

On MariaDB ``enroll`` read the program, membership and catalog before it locked the learner's
enrollments, and an enrollment made while a worker ingested the same learner's activity could
deadlock and fail (one retry only). Now ``enroll`` locks first, as ``ingest`` does
(:meth:`~learnprog.storage.ports.EnrollmentRepository.lock_for_learners`), and runs again on a
:class:`~learnprog.errors.ConcurrencyError` as often as ``ingest``. Each round enrolls Lia in a
new course while her activity in it is ingested, in threads on every backend and in spawned
processes on SQLite, PostgreSQL and MariaDB; both calls must succeed.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from sqlalchemy.engine import Engine

import learnprog
from learnprog.clock import FixedClock
from learnprog.mail.memory import InMemoryMailer
from learnprog.model import Course, CourseItem, EventKind, LearningEvent
from learnprog.model.access import LearnerActor
from learnprog.storage.sql import SqlUnitOfWork
from tests.conftest import START, UowFactory
from tests.races import ROUNDS, at_once, process_race
from tests.services.world import SYSTEM, World

SECRET = "test-secret-test-secret"
MIN = timedelta(minutes=1)


class Catalog:
    """Acme with Lia a member of academy, and one course per round for her to enroll in."""

    def __init__(self, lp: learnprog.Learnprog) -> None:
        self.world = World(lp, licenses=None, kind="unlimited")
        self.world.invite("lia@acme.example", "Lia Learner", send_email=False)
        self.world.accept("lia@acme.example")
        self.lia: LearnerActor = self.world.learner("lia@acme.example")
        self.lp = lp

    def course(self, round_: int) -> Course:
        items = [CourseItem.create(f"Item {k}", kind="video", lesson="Week 1", id=f"i{k}")
                 for k in range(4)]  # fmt: skip
        return self.lp.programs.add_course(
            self.world.admin, self.world.org.id, course_id=f"C{round_}",
            slug=f"course-{round_}", name=f"Course {round_}", items=items,
        )  # fmt: skip

    def events(self, course: Course) -> list[LearningEvent]:
        """Lia's activity in the course, in the hour after she enrolls (the clock's now)."""
        at = self.lp.context.clock.now()
        return [
            LearningEvent(
                f"{course.id}-e{k}",
                self.lia.learner_id,
                course.id,
                f"i{k % 4}",
                EventKind.COMPLETED,
                at + (k + 1) * MIN,
            )
            for k in range(8)
        ]

    def check(self, course: Course) -> None:
        """One current enrollment, with every stored event counted in its figures."""
        admin = self.world.admin
        (enrollment,) = [
            e for e in self.lp.learning.enrollments(admin, self.world.program.id)
            if e.target_id == course.id
        ]  # fmt: skip
        progress = self.lp.learning.progress(admin, enrollment.id)
        assert progress.items_completed == 4, progress


def _connect(uow_factory: UowFactory, clock: FixedClock) -> learnprog.Learnprog:
    return learnprog.connect(
        uow_factory=uow_factory,
        settings=learnprog.Settings(secret_key=SECRET),
        clock=clock,
        mailer=InMemoryMailer(),
    )


def test_enrolling_while_the_learners_activity_is_ingested_in_threads(
    uow_factory: UowFactory,
) -> None:
    clock = FixedClock(START)
    lp = _connect(uow_factory, clock)
    # the ingest worker's clock is a day on: the records are in its past
    worker = _connect(uow_factory, FixedClock(START + timedelta(days=1)))
    catalog = Catalog(lp)
    for round_ in range(ROUNDS):
        course = catalog.course(round_)
        events = catalog.events(course)
        program_id, org_id = catalog.world.program.id, catalog.world.org.id
        outcomes = at_once(
            [
                partial(lp.learning.enroll, catalog.lia, program_id, course.id),
                partial(worker.learning.ingest, SYSTEM, org_id, events=events),
            ]
        )
        assert outcomes == ["Enrollment", "IngestResult"]
        catalog.check(course)


_connected: dict[tuple[str, int], learnprog.Learnprog] = {}


def race_in_worker(
    url: str, days: int, call: str, org_id: str, program_id: str, course_id: str,
    learner: LearnerActor, events: list[LearningEvent],
) -> object:  # fmt: skip
    """One worker process's call: ``enroll`` or ``ingest``, on its own engine and clock."""
    if (url, days) not in _connected:
        _connected[url, days] = learnprog.connect(
            url, settings=learnprog.Settings(secret_key=SECRET),
            clock=FixedClock(START + timedelta(days=days)), mailer=InMemoryMailer(),
        )  # fmt: skip
    lp = _connected[url, days]
    if call == "enroll":
        return lp.learning.enroll(learner, program_id, course_id)
    return lp.learning.ingest(SYSTEM, org_id, events=events)


def test_enrolling_while_the_learners_activity_is_ingested_in_processes(
    sql_engine: Engine,
) -> None:
    lp = _connect(lambda: SqlUnitOfWork(sql_engine), FixedClock(START))
    catalog = Catalog(lp)
    url = sql_engine.url.render_as_string(hide_password=False)
    with process_race(2) as race:
        for round_ in range(ROUNDS):
            course = catalog.course(round_)
            shared = (catalog.world.org.id, catalog.world.program.id, course.id, catalog.lia)
            events = catalog.events(course)
            # the enrolling call's clock is START, the ingesting one's a day later: the
            # events lie between them
            outcomes = race.round(
                race_in_worker,
                [(url, 0, "enroll", *shared, events), (url, 1, "ingest", *shared, events)],
            )
            assert outcomes == ["Enrollment", "IngestResult"]
            catalog.check(course)
