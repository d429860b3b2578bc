"""Ingest keeps figures incrementally: whatever the chunks and their order, they are exact.

Issue 17, section 3: each ingest chunk adds its records to the stored tallies of the
enrollments it touches instead of recomputing them from all their records
(``learnprog.model.tally``). The stored figures and daily buckets must still equal those the
definitions give over every stored record (``course_progress``, ``daily_activity``), after any
split of the activity into ingest calls, in any order, with records late or outside the
enrollment windows, and across an unenrollment and a re-enrollment.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
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
from learnprog.model.progress import course_progress, daily_activity
from learnprog.storage.sql import SqlUnitOfWork
from tests.conftest import START, empty_tables
from tests.services.world import SYSTEM, World

SECRET = "test-secret-test-secret"
NOW = START + timedelta(days=2)  # the second enrollment starts here; records up to a day after
LEARNERS = ("lia@acme.example", "rui@acme.example")
ITEMS = ("v1", "r1", "q1", "p1", "x1")


class Setting:
    """One organization: a course, two learners, Lia enrolled and (maybe) enrolled again."""

    def __init__(self, lp: learnprog.Learnprog, clock: FixedClock) -> None:
        self.lp, self.clock = lp, clock
        self.world = world = World(lp, licenses=None, kind="unlimited")
        items = [
            CourseItem.create(i, kind="video", lesson=f"Week {n // 2 + 1}", id=i, position=n)
            for n, i in enumerate(ITEMS)
        ]
        assessments = [
            Assessment.create("Quiz", id="a1", weight=1, pass_mark=80, item_id="q1"),
            Assessment.create("Lab", id="a2", weight=3, pass_mark=50, due_at=NOW),
            Assessment.create("Practice", id="a3", graded=False, required=False),
        ]
        self.course: Course = lp.programs.add_course(
            world.admin, world.org.id, course_id="PY1", slug="python", name="Python",
            items=items, assessments=assessments,
        )  # fmt: skip
        self.learners = []
        for email in LEARNERS:
            world.invite(email, send_email=False)
            world.accept(email)
            actor = world.learner(email)
            lp.learning.enroll(actor, world.program.id, self.course.id)
            self.learners.append(actor)
        clock.advance(NOW - clock.now())

    def reenroll(self) -> None:
        """Lia leaves the course and enrolls again: her later records start fresh."""
        lia = self.learners[0]
        (current,) = [e for e in self.enrollments() if e.learner_id == lia.learner_id]
        self.lp.learning.unenroll(lia, current.id)
        self.lp.learning.enroll(lia, self.world.program.id, self.course.id)

    def enrollments(self) -> list[Enrollment]:
        return [
            e
            for e in self.lp.learning.enrollments(self.world.admin, self.world.program.id)
            if e.is_current
        ]

    def check(self) -> None:
        """Every enrollment's stored figures and days are the definitions' over all records."""
        everyone = self.lp.learning.enrollments(self.world.admin, self.world.program.id)
        with self.lp.context.uow_factory() as uow:
            for e in everyone:
                events = uow.activity.events_for([e.learner_id], [self.course.id])
                attempts = uow.activity.attempts_for([e.learner_id], [self.course.id])
                expected = course_progress(e, self.course, events, attempts)
                assert uow.progress.get_many([e.id])[e.id] == expected
                days = tuple(uow.progress.get_days([e.id]))
                assert days == daily_activity(e, self.course, events)


# minutes from START: before the first window, at and across the re-enrollment, many exactly
# 60 minutes apart, some across midnight (START is 09:00)
_minute = st.sampled_from(
    [-30, 0, 1, 30, 60, 61, 120, 121, 181, 600, 890, 960, 1021, 2879, 2880, 2900, 2960, 3500]
)
_records = st.lists(
    st.tuples(
        st.booleans(),  # an event (else an attempt)
        st.integers(0, 1),  # the learner
        _minute,
        st.sampled_from([0, 0, 1, 250_000]),  # microseconds
        st.sampled_from((*ITEMS, "a1", "a2", "a3")),
        st.sampled_from([0.0, 49.9, 50.0, 80.0, 100.0]),
        st.booleans(),  # completed (else started)
    ),
    max_size=30,
)


def _make(
    setting: Setting, drawn: list[tuple[bool, int, int, int, str, float, bool]]
) -> list[LearningEvent | AssessmentAttempt]:
    made: list[LearningEvent | AssessmentAttempt] = []
    for n, (is_event, who, minute, micros, target, grade, done) in enumerate(drawn):
        learner = setting.learners[who].learner_id
        at = START + timedelta(minutes=minute, microseconds=micros)
        if is_event:
            item = target if target in ITEMS else "v1"
            kind = EventKind.COMPLETED if done else EventKind.STARTED
            made.append(LearningEvent(f"e{n}", learner, setting.course.id, item, kind, at))
        else:
            aid = target if target.startswith("a") else "a1"
            made.append(AssessmentAttempt(f"t{n}", learner, setting.course.id, aid, grade, at))
    return made


def connect_to(engine: Engine | None) -> tuple[learnprog.Learnprog, FixedClock]:
    """A learnprog on ``engine`` (its tables emptied), or in memory for ``None``."""
    clock = FixedClock(START)
    settings_ = learnprog.Settings(secret_key=SECRET)
    if engine is None:
        lp = learnprog.connect(
            "memory://", settings=settings_, clock=clock, mailer=InMemoryMailer()
        )
        return lp, clock
    empty_tables(engine)
    lp = learnprog.connect(
        uow_factory=lambda: SqlUnitOfWork(engine), settings=settings_, clock=clock,
        mailer=InMemoryMailer(),
    )  # fmt: skip
    return lp, clock


@pytest.mark.parametrize(
    "backend",
    [
        pytest.param("memory", marks=pytest.mark.memory),
        pytest.param("sqlite", marks=pytest.mark.sqlite),
    ],
)
@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    drawn=_records,
    cuts=st.lists(st.integers(0, 30), max_size=5),
    order=st.randoms(use_true_random=False),
    reenroll_at=st.one_of(st.none(), st.integers(0, 5)),
)
def test_ingested_figures_equal_the_definitions_after_any_chunking_and_order(
    backend: str,
    engine_pool: Callable[[str], Engine],
    drawn: list[tuple[bool, int, int, int, str, float, bool]],
    cuts: list[int],
    order: random.Random,
    reenroll_at: int | None,
) -> None:
    lp, clock = connect_to(None if backend == "memory" else engine_pool(backend))
    setting = Setting(lp, clock)
    records = _make(setting, drawn)
    order.shuffle(records)
    bounds = sorted({0, len(records), *(c for c in cuts if c < len(records))})
    calls = [records[a:b] for a, b in itertools.pairwise(bounds)]
    for n, call in enumerate(calls):
        if n == reenroll_at:
            setting.reenroll()
        lp.learning.ingest(
            SYSTEM,
            setting.world.org.id,
            events=[r for r in call if isinstance(r, LearningEvent)],
            attempts=[r for r in call if isinstance(r, AssessmentAttempt)],
        )
        setting.check()
    if reenroll_at is not None and reenroll_at >= len(calls):
        setting.reenroll()
        setting.check()
