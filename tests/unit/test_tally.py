"""Unit tests of learnprog.model.tally: incremental figures equal the full definition."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from learnprog.model.activity import AssessmentAttempt, Enrollment, EventKind, LearningEvent
from learnprog.model.catalog import Assessment, Course, CourseItem, EntryKind
from learnprog.model.progress import DailyActivity, course_progress, daily_activity
from learnprog.model.tally import ActivityTally

START = datetime(2026, 3, 2, 22, 0, tzinfo=UTC)  # near midnight: sessions cross days
ITEMS = ("v1", "r1", "q1", "p1", "x1")


def _course() -> Course:
    items = [
        CourseItem.create(i, kind="video", lesson=f"L{n // 2}", id=i, position=n)
        for n, i in enumerate(ITEMS)
    ]
    assessments = (
        Assessment.create("Quiz", id="a1", weight=1, pass_mark=80, item_id="q1"),
        Assessment.create("Lab", id="a2", weight=3, pass_mark=50, item_id="p1", due_at=START),
        Assessment.create("Practice", id="a3", graded=False, required=False),
    )
    return Course.create(
        "org", course_id="C1", slug="c-one", name="C1", now=START, items=items,
        assessments=assessments,
    )  # fmt: skip


COURSE = _course()
ENROLLMENT = Enrollment.create(
    "org", "prog", "ana", kind=EntryKind.COURSE, target_id="c", contract_id="k",
    now=START + timedelta(minutes=30),
).unenroll(START + timedelta(days=3))  # fmt: skip

# minutes from START: some before the window, some after its end, many exactly 60 apart
_minute = st.sampled_from([0, 30, 45, 60, 61, 90, 120, 121, 150, 181, 600, 1440, 4300, 4400])
_event = st.builds(
    lambda n, m, us, item, done: LearningEvent(
        f"e{n}",
        "ana",
        "c",
        item,
        EventKind.COMPLETED if done else EventKind.STARTED,
        START + timedelta(minutes=m, microseconds=us),
    ),
    st.integers(0, 10**6),
    _minute,
    st.sampled_from([0, 0, 1, 333_333]),
    st.sampled_from((*ITEMS, "gone")),
    st.booleans(),
)
_attempt = st.builds(
    lambda n, m, aid, grade: AssessmentAttempt(
        f"t{n}", "ana", "c", aid, grade, START + timedelta(minutes=m)
    ),
    st.integers(0, 10**6),
    _minute,
    st.sampled_from(("a1", "a2", "a3", "zz")),
    st.sampled_from([0.0, 49.9, 50.0, 79.99, 80.0, 100.0]),
)


def _replay(
    chunks: list[tuple[list[LearningEvent], list[AssessmentAttempt]]],
) -> tuple[ActivityTally, dict[date, DailyActivity]]:
    """Add chunk after chunk as ingest does: a late event recomputes from everything so far."""
    tally = ActivityTally(ENROLLMENT.id)
    days: dict[date, DailyActivity] = {}
    events: list[LearningEvent] = []
    attempts: list[AssessmentAttempt] = []
    for new_events, new_attempts in chunks:
        events += new_events
        attempts += new_attempts
        update = tally.add(ENROLLMENT, COURSE, new_events, new_attempts)
        if update is None:
            update = ActivityTally.of_records(ENROLLMENT, COURSE, events, attempts)
            days = {}
        elif update.since is not None:
            days = {d: v for d, v in days.items() if d < update.since}
        tally = update.tally
        days.update({d.day: d for d in update.days})
    return tally, days


@settings(max_examples=300)
@given(
    st.lists(st.tuples(st.lists(_event, max_size=8), st.lists(_attempt, max_size=3)), max_size=6)
)
def test_tallied_figures_equal_the_full_definition_whatever_the_chunks(
    chunks: list[tuple[list[LearningEvent], list[AssessmentAttempt]]],
) -> None:
    events = [e for es, _ in chunks for e in es]
    attempts = [a for _, ats in chunks for a in ats]
    tally, days = _replay(chunks)
    assert tally.figures(COURSE) == course_progress(ENROLLMENT, COURSE, events, attempts)
    assert tuple(days[d] for d in sorted(days)) == daily_activity(ENROLLMENT, COURSE, events)
    again = ActivityTally.from_document(ENROLLMENT.id, tally.to_document())
    assert again == tally


@given(st.lists(_event, max_size=20).map(lambda es: sorted(es, key=lambda e: e.at)))
def test_events_in_time_order_never_need_the_full_recomputation(
    events: list[LearningEvent],
) -> None:
    tally = ActivityTally(ENROLLMENT.id)
    for e in events:
        update = tally.add(ENROLLMENT, COURSE, [e], [])
        assert update is not None
        tally = update.tally
    assert tally.figures(COURSE) == course_progress(ENROLLMENT, COURSE, events, [])


def test_an_event_older_than_the_last_one_asks_for_the_full_recomputation() -> None:
    later = LearningEvent("e1", "ana", "c", "v1", EventKind.STARTED, START + timedelta(hours=2))
    earlier = LearningEvent("e2", "ana", "c", "r1", EventKind.STARTED, START + timedelta(hours=1))
    update = ActivityTally(ENROLLMENT.id).add(ENROLLMENT, COURSE, [later], [])
    assert update is not None
    assert update.tally.add(ENROLLMENT, COURSE, [earlier], []) is None
