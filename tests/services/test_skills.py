"""SkillScorer: scoring stored attempts incrementally, levels, the leaderboard, proficiency."""

from __future__ import annotations

import math
import random
import threading
from datetime import timedelta

import pytest

import learnprog
from learnprog.clock import FixedClock
from learnprog.errors import (
    ConflictError,
    LearnprogError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from learnprog.model import (
    Assessment,
    AssessmentAttempt,
    CollectionEntry,
    CourseItem,
    EventKind,
    LearnerActor,
    LearningEvent,
)
from learnprog.model.skills import (
    Band,
    EloSettings,
    Level,
    ReferenceGroup,
    ReferenceScore,
    ScoredAttempt,
    rescore,
    score,
)
from learnprog.services.skills import GlossaryOutcome, ScoringReport, read_reference_group
from learnprog.storage.ports import UnitOfWork
from tests.conftest import START
from tests.services.world import SYSTEM, World

HOUR = timedelta(hours=1)


class Skilled(World):
    """Two learners, a SQL skill measured by three quizzes of one course."""

    def __init__(self, lp: learnprog.Learnprog) -> None:
        super().__init__(lp, licenses=10)
        self.skill = lp.programs.add_skill(self.admin, self.org.id, domain="Data", name="SQL")
        self.course = lp.programs.add_course(
            self.admin,
            self.org.id,
            course_id="SQL1",
            slug="sql-1",
            name="SQL",
            items=[
                CourseItem.create(f"Video {i}", id=f"v{i}", kind="video", lesson="Week 1")
                for i in range(2)
            ],
            assessments=[
                Assessment.create(f"Quiz {i}", id=f"q{i}", pass_mark=60, skill_ids=[self.skill.id])
                for i in range(3)
            ]
            + [Assessment.create("Survey", id="survey", graded=False, required=False)],
        )
        self.people: list[LearnerActor] = []
        for email, name in [("lia@acme.example", "Lia"), ("bo@acme.example", "Bo")]:
            self.invite(email, name, send_email=False)
            self.accept(email)
            who = self.learner(email)
            lp.learning.enroll(who, self.program.id, self.course.id)
            self.people.append(who)
        self.count = 0
        clock = lp.context.clock
        assert isinstance(clock, FixedClock)
        clock.advance(timedelta(days=7))  # the attempts the tests record are in the past

    def attempts(self, who: LearnerActor, grades: list[float], start: int = 1) -> None:
        records = []
        for i, grade in enumerate(grades):
            self.count += 1
            records.append(
                AssessmentAttempt(f"a{self.count}", who.learner_id, self.course.id,
                                  f"q{i % 3}", grade, START + (start + i) * HOUR)
            )  # fmt: skip
        self.lp.learning.ingest(SYSTEM, self.org.id, attempts=records)

    def events(self, who: LearnerActor, minutes: list[int], course_id: str | None = None) -> None:
        records = []
        for minute in minutes:
            self.count += 1
            records.append(
                LearningEvent(f"e{self.count}", who.learner_id, course_id or self.course.id,
                              "v0", EventKind.STARTED, START + timedelta(minutes=minute))
            )  # fmt: skip
        self.lp.learning.ingest(SYSTEM, self.org.id, events=records)


def test_scoring_rates_learners_and_levels_need_three_attempts(lp: learnprog.Learnprog) -> None:
    w = Skilled(lp)
    lia, bo = w.people
    w.attempts(lia, [100, 95, 100])
    w.attempts(bo, [10, 20])
    report = lp.skills.score(w.admin, w.org.id)
    assert (report.scored, report.skipped, report.from_scratch) == (5, 0, False)
    ratings = {r.learner_id: r for r in lp.skills.ratings(w.admin, w.org.id)}
    assert ratings[lia.learner_id].theta > 0 > ratings[bo.learner_id].theta
    assert ratings[lia.learner_id].attempts == 3
    settings = EloSettings()
    assert ratings[bo.learner_id].level(settings) is None  # two attempts: unrated
    # by hand: theta 0.5, then 0.812, then 1.092: score 500 * sigmoid(1.092) = 374.7
    assert ratings[lia.learner_id].theta == pytest.approx(1.0916, abs=1e-3)
    assert ratings[lia.learner_id].level(settings) is Level.ADVANCED
    assert ratings[lia.learner_id].intermediate_at == START + 3 * HOUR
    assert ratings[lia.learner_id].advanced_at == START + 3 * HOUR


def test_incremental_scoring_equals_scoring_from_scratch(lp: learnprog.Learnprog) -> None:
    w = Skilled(lp)
    lia, bo = w.people
    w.attempts(lia, [80, 40], start=1)
    w.attempts(bo, [30], start=2)
    lp.skills.score(w.admin, w.org.id)
    w.attempts(lia, [90, 100], start=10)
    w.attempts(bo, [50, 70, 20], start=11)
    again = lp.skills.score(w.admin, w.org.id)
    assert (again.scored, again.from_scratch) == (5, False)
    incremental = {(r.learner_id, r.skill_id): r for r in lp.skills.ratings(w.admin, w.org.id)}
    lp.skills.score(w.admin, w.org.id, from_scratch=True)
    scratch = {(r.learner_id, r.skill_id): r for r in lp.skills.ratings(w.admin, w.org.id)}
    assert incremental.keys() == scratch.keys()
    for key in scratch:
        assert incremental[key].theta == pytest.approx(scratch[key].theta, abs=1e-12)
        assert incremental[key].attempts == scratch[key].attempts


def _colliding(
    lp: learnprog.Learnprog, monkeypatch: pytest.MonkeyPatch, collisions: int
) -> list[bool]:
    """Make the first ``collisions`` scoring runs stage their work, then collide; return the
    list each run appends its ``from_scratch`` to."""
    real = lp.skills._score
    runs: list[bool] = []

    def collide(
        uow: UnitOfWork, organization_id: str, settings: EloSettings, from_scratch: bool
    ) -> ScoringReport:
        runs.append(from_scratch)
        report = real(uow, organization_id, settings, from_scratch)  # staged, then lost
        if len(runs) <= collisions:
            raise ConflictError("skill rating: a concurrent write got in the way")
        return report

    monkeypatch.setattr(lp.skills, "_score", collide)
    return runs


def test_a_scoring_run_that_collides_is_rolled_back_and_run_once_more(
    lp: learnprog.Learnprog, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = Skilled(lp)
    lia, _ = w.people
    w.attempts(lia, [80, 40, 90])
    runs = _colliding(lp, monkeypatch, collisions=1)
    report = lp.skills.score(w.admin, w.org.id)
    assert (len(runs), report.scored) == (2, 3)
    (rating,) = lp.skills.ratings(w.admin, w.org.id)
    assert rating.attempts == 3  # the first run's work was rolled back: scored once


def test_a_second_collision_is_raised_and_nothing_is_stored(
    lp: learnprog.Learnprog, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = Skilled(lp)
    lia, _ = w.people
    w.attempts(lia, [80, 40, 90])
    runs = _colliding(lp, monkeypatch, collisions=2)
    with pytest.raises(ConflictError, match="concurrent write"):
        lp.skills.score(w.admin, w.org.id)
    assert len(runs) == 2
    monkeypatch.undo()
    assert lp.skills.ratings(w.admin, w.org.id) == []
    assert lp.skills.score(w.admin, w.org.id).scored == 3  # nothing was marked as scored


def test_concurrent_scoring_runs_succeed_and_match_scoring_from_scratch(
    lp_any: learnprog.Learnprog,
) -> None:
    """Three threads score while a fourth ingests, in rounds, on every backend.

    Without the scoring lock, PostgreSQL runs collided on the ratings' keys (a ConflictError)
    and MariaDB runs deadlocked (reported as the database being unreachable). The first round
    is every run's first, when the organization's scoring mark row does not exist yet.
    """
    w = Skilled(lp_any)
    lia, bo = w.people
    grades = random.Random(11)
    failures: list[LearnprogError] = []
    for round_ in range(4):
        w.attempts(lia, [grades.uniform(0, 100) for _ in range(6)], start=1 + 40 * round_)
        late = [grades.uniform(0, 100) for _ in range(6)]
        together = threading.Barrier(4)

        def score(together: threading.Barrier = together) -> None:
            together.wait(timeout=30)
            try:
                lp_any.skills.score(w.admin, w.org.id)
            except LearnprogError as exc:
                failures.append(exc)

        def ingest(
            together: threading.Barrier = together, late: list[float] = late, start: int = round_
        ) -> None:
            together.wait(timeout=30)
            try:
                w.attempts(bo, late, start=20 + 40 * start)
            except LearnprogError as exc:
                failures.append(exc)

        threads = [threading.Thread(target=score) for _ in range(3)]
        threads.append(threading.Thread(target=ingest))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in threads)
    assert failures == []
    lp_any.skills.score(w.admin, w.org.id)  # what the last ingest added after the scorers read
    assert lp_any.skills.score(w.admin, w.org.id).scored == 0  # every attempt marked scored
    incremental = {r.learner_id: r for r in lp_any.skills.ratings(w.admin, w.org.id)}
    lp_any.skills.score(w.admin, w.org.id, from_scratch=True)
    scratch = {r.learner_id: r for r in lp_any.skills.ratings(w.admin, w.org.id)}
    assert incremental.keys() == scratch.keys() == {lia.learner_id, bo.learner_id}
    for learner in scratch:
        assert incremental[learner].attempts == scratch[learner].attempts == 24
        assert incremental[learner].theta == pytest.approx(scratch[learner].theta, abs=1e-9)


def test_a_late_attempt_makes_the_next_call_score_everything(lp: learnprog.Learnprog) -> None:
    w = Skilled(lp)
    lia, _ = w.people
    w.attempts(lia, [80, 90], start=5)
    lp.skills.score(w.admin, w.org.id)
    w.attempts(lia, [10], start=1)  # dated before the last attempt scored
    report = lp.skills.score(w.admin, w.org.id)
    assert report.from_scratch
    assert report.scored == 3
    (rating,) = lp.skills.ratings(w.admin, w.org.id)
    expected = rescore(
        [
            ScoredAttempt(lia.learner_id, f"{w.course.id}:q0", (w.skill.id,), 10, 60,
                          START + HOUR),
            ScoredAttempt(lia.learner_id, f"{w.course.id}:q0", (w.skill.id,), 80, 60,
                          START + 5 * HOUR),
            ScoredAttempt(lia.learner_id, f"{w.course.id}:q1", (w.skill.id,), 90, 60,
                          START + 6 * HOUR),
        ],
        EloSettings(),
    )  # fmt: skip
    assert rating.theta == pytest.approx(expected.rating(lia.learner_id, w.skill.id)[0])


def test_the_leaderboard_and_proficiency(lp_any: learnprog.Learnprog) -> None:
    lp = lp_any
    w = Skilled(lp)
    lia, bo = w.people
    w.attempts(lia, [100, 100, 100, 100])
    w.attempts(bo, [0, 10, 0])
    lp.skills.score(w.admin, w.org.id)
    levels_now = {
        r.learner_id: r.level(EloSettings()) for r in lp.skills.ratings(w.admin, w.org.id)
    }
    assert levels_now == {lia.learner_id: Level.ADVANCED, bo.learner_id: Level.BEGINNER}
    # guide, "Skill Mastery Leaderboard": "which learners have currently attained intermediate
    # or advanced skill proficiency": Bo, a rated BEGINNER, is not on it
    for skill_id in (None, w.skill.id):
        board = lp.skills.leaderboard(w.admin, w.org.id, skill_id=skill_id)
        assert [(r.name, r.level) for r in board] == [("Lia", Level.ADVANCED)]
    assert (board[0].domain, board[0].skill) == ("Data", "SQL")
    # lower cut points make Bo intermediate too: then both, highest score first
    low = EloSettings(cut_points=(1.0, 400.0))
    board = lp.skills.leaderboard(w.admin, w.org.id, settings=low)
    assert [r.name for r in board] == ["Lia", "Bo"]
    assert board[0].score > board[1].score
    hidden = lp.skills.leaderboard(w.admin, w.org.id, hide_contact=True)
    assert (hidden[0].name, hidden[0].email) == (None, None)
    (levels,) = lp.skills.proficiency_by_skill(w.admin, w.org.id)
    assert sum(levels.counts.values()) == 2
    with pytest.raises(ValidationError, match="limit"):
        lp.skills.leaderboard(w.admin, w.org.id, limit=0)


def test_program_admins_and_learners_have_no_skills_analytics(lp: learnprog.Learnprog) -> None:
    w = Skilled(lp)
    lp.organizations.add_admin(
        w.admin, w.org.id, "lia@acme.example", role="program", program_ids=[w.program.id]
    )
    paulo = lp.organizations.resolve_actor(SYSTEM, w.org.id, "lia@acme.example")
    for who in (paulo, w.people[1]):
        with pytest.raises(PermissionDeniedError):
            lp.skills.leaderboard(who, w.org.id)
        with pytest.raises(PermissionDeniedError):
            lp.skills.score(who, w.org.id)
    assert lp.skills.score(SYSTEM, w.org.id).scored == 0


GLOSSARY = (
    b"Domain;Skill;Definition;Example Sub Skills\n"
    b"Business;Accounting;The record-keeping of financial information.;bookkeeping; audits\n"
    b'Data;SQL;Querying relational data.;"joins; window functions"\n'
    b";Nameless;No domain.;\n"
    b"Business;Accounting;Again.;\n"
)


def test_the_glossary_loads_from_a_file_line_by_line(lp: learnprog.Learnprog) -> None:
    w = Skilled(lp)  # holds Data / SQL already, without a definition
    result = lp.skills.import_glossary(w.admin, w.org.id, GLOSSARY)
    outcomes = [(r.line, r.domain, r.skill, r.outcome.value) for r in result.lines]
    assert outcomes == [
        (2, "Business", "Accounting", "created"),
        (3, "Data", "SQL", "updated"),
        (4, "", "Nameless", "rejected"),
        (5, "Business", "Accounting", "rejected"),
    ]
    assert result.lines[3].message == "Business / Accounting is on line 2 already"
    assert result.lines[1].skill_id == w.skill.id
    skills = {s.name: s for s in lp.programs.list_skills(w.admin, w.org.id)}
    # the unquoted "bookkeeping; audits" splits at the file's own ";" into an extra column
    assert skills["Accounting"].example_subskills == ("bookkeeping",)
    assert skills["SQL"].definition == "Querying relational data."
    assert skills["SQL"].example_subskills == ("joins", "window functions")
    again = lp.skills.import_glossary(w.admin, w.org.id, GLOSSARY)
    assert [r.outcome.value for r in again.lines] == [
        "unchanged", "unchanged", "rejected", "rejected"
    ]  # fmt: skip
    assert len(lp.programs.list_skills(w.admin, w.org.id)) == 2


def test_the_glossary_reports_differences_without_updating_when_asked(
    lp: learnprog.Learnprog,
) -> None:
    w = Skilled(lp)
    source = b"domain,skill,definition\nData,SQL,Structured queries.\nData,Python,\n"
    result = lp.skills.import_glossary(w.admin, w.org.id, source, update_existing=False)
    assert [r.outcome.value for r in result.lines] == ["differs", "created"]
    assert result.count(GlossaryOutcome.DIFFERS) == 1
    (sql,) = [s for s in lp.programs.list_skills(w.admin, w.org.id) if s.name == "SQL"]
    assert sql.definition is None
    blank = lp.skills.import_glossary(w.admin, w.org.id, b"Domain,Skill,Definition\nData,SQL,\n")
    assert blank.lines[0].outcome is GlossaryOutcome.UNCHANGED  # a blank cell erases nothing
    with pytest.raises(ValidationError, match="missing column: Skill"):
        lp.skills.import_glossary(w.admin, w.org.id, b"Domain,Name\nData,SQL\n")


def test_hours_to_mastery_count_learning_up_to_the_attempt_that_reached_the_level(
    lp: learnprog.Learnprog,
) -> None:
    w = Skilled(lp)
    lia, bo = w.people
    # Lia: 09:00-10:00 (1 h), then 11:30 and 12:00 (the attempt reaching ADVANCED): 0.5 h;
    # 12:10 comes after it and does not count
    w.events(lia, [0, 30, 60, 150, 180, 190])
    w.attempts(lia, [100, 100, 100], start=1)  # 10:00, 11:00, 12:00
    # Bo: 09:00 alone (0 h), 11:00-11:20 (1/3 h); reaches ADVANCED the next day at 17:00
    w.events(bo, [0, 120, 140])
    w.attempts(bo, [100, 100, 100], start=30)
    lp.skills.score(w.admin, w.org.id)
    ratings = {r.learner_id: r for r in lp.skills.ratings(w.admin, w.org.id)}
    assert ratings[lia.learner_id].advanced_at == START + 3 * HOUR
    assert ratings[bo.learner_id].advanced_at == START + 32 * HOUR
    (row,) = lp.skills.hours_to_mastery(w.admin, w.org.id)
    assert (row.domain, row.skill) == ("Data", "SQL")
    assert row.intermediate_learners == row.advanced_learners == 2
    assert row.intermediate_hours == pytest.approx((1.5 + 1 / 3) / 2)
    assert row.advanced_hours == pytest.approx((1.5 + 1 / 3) / 2)

    points = lp.skills.mastery_over_time(w.admin, w.org.id, skill_id=w.skill.id)
    assert [(p.day.isoformat(), p.intermediate, p.advanced) for p in points] == [
        ("2026-03-02", 1, 1),
        ("2026-03-03", 2, 2),
    ]

    w.attempts(lia, [50])  # a second attempt at q0: still three assessments completed
    (effort,) = lp.skills.effort_by_skill(w.admin, w.org.id)
    assert (effort.assessments_completed, effort.assessment_learners) == (6, 2)
    assert effort.average_assessments == 3.0
    # all time: Lia 1 h + 11:30-12:10 (2/3 h), Bo 1/3 h: 2 h over 2 learners
    assert effort.hours == pytest.approx(2.0)
    assert effort.hour_learners == 2
    assert effort.average_hours == pytest.approx(1.0)


def test_nobody_at_a_level_gives_no_median(lp: learnprog.Learnprog) -> None:
    w = Skilled(lp)
    lia, _ = w.people
    w.attempts(lia, [0, 0, 0])
    lp.skills.score(w.admin, w.org.id)
    (row,) = lp.skills.hours_to_mastery(w.admin, w.org.id)
    assert (row.intermediate_hours, row.intermediate_learners) == (None, 0)
    assert lp.skills.mastery_over_time(w.admin, w.org.id) == []
    (effort,) = lp.skills.effort_by_skill(w.admin, w.org.id)
    assert (effort.assessments_completed, effort.hours, effort.average_hours) == (3, 0.0, 0.0)


def test_relevant_courses_are_the_programs_ranked_by_weight_share(
    lp: learnprog.Learnprog,
) -> None:
    w = Skilled(lp)  # SQL1: three SQL quizzes of weight 1 and a survey of weight 1: 3/4

    def course(code: str, weights: list[tuple[float, bool]]) -> str:
        return lp.programs.add_course(
            w.admin, w.org.id, course_id=code, slug=code.lower(), name=code,
            assessments=[
                Assessment.create(f"A{i}", id=f"a{i}", weight=weight,
                                  skill_ids=[w.skill.id] if sql else [])
                for i, (weight, sql) in enumerate(weights)
            ],
        ).id  # fmt: skip

    sql2 = course("SQL2", [(1, True), (3, False)])  # 1/4
    sql3 = course("SQL3", [(1, True)])  # 1, but the program does not offer it
    spec_course = course("SQL4", [(0, True), (0, False)])  # all weigh 0: counted 1 each, 1/2
    spec = lp.programs.add_specialization(
        w.admin, w.org.id, slug="sql-spec", name="Spec", course_ids=[spec_course]
    )
    collection = lp.curriculum.create_collection(w.admin, w.program.id, "SQL")
    lp.curriculum.add_entries(
        w.admin, w.program.id, [collection.id],
        [CollectionEntry.course(w.course.id), CollectionEntry.course(sql2),
         CollectionEntry.specialization(spec.id)],
    )  # fmt: skip
    (row,) = lp.skills.relevant_courses(w.admin, w.org.id, w.program.id)
    # nothing scored: every difficulty is 0, score 250, INTERMEDIATE
    found = [(c.name, c.relevance) for c in row.courses[Level.INTERMEDIATE]]
    assert found == [("SQL", 0.75), ("SQL4", 0.5), ("SQL2", 0.25)]
    assert row.top(Level.BEGINNER) is None
    assert row.top(Level.ADVANCED) is None
    assert sql3 not in {c.course_id for c in row.courses[Level.INTERMEDIATE]}
    # cut points moved above 250: the same courses are all BEGINNER courses
    low = lp.skills.relevant_courses(
        w.admin, w.org.id, w.program.id, settings=EloSettings(cut_points=(300, 400))
    )
    assert [c.name for c in low[0].courses[Level.BEGINNER]] == ["SQL", "SQL4", "SQL2"]
    with pytest.raises(NotFoundError):
        lp.skills.relevant_courses(w.admin, w.org.id, w.org.id)


REFERENCE = (
    b"Company,Geography,Size,Industry,Domain,Skill,Score\n"
    b"Initech,Europe,1000+,Software,Data,SQL,300\n"
    b"Hooli,Europe,1000+,Software,Data,SQL,350\n"
    b"Globex,Asia,1000+,Software,Data,SQL,400\n"
    b"Umbrella,Europe,1000+,Pharma,Data,SQL,450\n"
    b"Umbrella,Europe,1000+,Pharma,Data,Python,100\n"
)


def test_the_industry_benchmark_ranks_the_rated_learners_average(
    lp: learnprog.Learnprog,
) -> None:
    w = Skilled(lp)
    lia, bo = w.people
    # day 1, by hand: theta 0.5, 0.5 + 0.3775 / 1.05 = 0.8595, 0.8595 + 0.2974 / 1.1 = 1.1299:
    # score 500 * sigmoid(1.1299) = 377.9
    w.attempts(lia, [100, 100, 100], start=1)
    w.attempts(bo, [0, 0], start=30)  # day 2: two attempts, unrated
    lp.skills.score(w.admin, w.org.id)
    group = read_reference_group(REFERENCE)
    (row,) = lp.skills.industry_benchmark(w.admin, w.org.id, group)
    assert (row.skill, row.learners, row.companies) == ("SQL", 1, 4)
    assert row.score == pytest.approx(377.9, abs=0.05)
    assert row.industry_average == 375.0
    assert (row.percentile, row.band) == (50.0, Band.EMERGING)  # above 300 and 350 of four
    (europe,) = lp.skills.industry_benchmark(
        w.admin, w.org.id, group.select(geography="Europe", industry="Software")
    )
    assert (europe.companies, europe.percentile, europe.band) == (2, 100.0, Band.CUTTING_EDGE)

    w.attempts(bo, [0], start=40)  # day 3, 01:00: Bo's third attempt rates him
    lp.skills.score(w.admin, w.org.id)
    (now,) = lp.skills.industry_benchmark(w.admin, w.org.id, group)
    points = lp.skills.benchmark_over_time(w.admin, w.org.id, group, w.skill.id)
    assert [(p.day.isoformat(), p.learners) for p in points] == [
        ("2026-03-02", 1),
        ("2026-03-03", 1),  # Bo's two attempts: still unrated
        ("2026-03-04", 2),
    ]
    assert points[0].score == pytest.approx(score(1.1299), abs=0.05)
    assert (points[0].percentile, points[0].band) == (50.0, Band.EMERGING)
    assert points[1].score == points[0].score
    assert points[2].score == pytest.approx(now.score, abs=1e-9)
    assert points[2].percentile == now.percentile
    before = START.date() - timedelta(days=1)
    assert (
        lp.skills.benchmark_over_time(w.admin, w.org.id, group, w.skill.id, dates=[before]) == []
    )  # nobody rated yet: no point


def test_a_bad_reference_file_names_the_line() -> None:
    head = b"Company,Geography,Size,Industry,Domain,Skill,Score\n"
    with pytest.raises(ValidationError, match="0-500") as bad:
        read_reference_group(head + b"A,Europe,10,Retail,Data,SQL,501\n")
    assert bad.value.line == 2
    with pytest.raises(ValidationError, match="on line 2 already"):
        read_reference_group(head + b"A,E,1,R,Data,SQL,1\nA,E,1,R,Data,SQL,2\n")
    with pytest.raises(ValidationError, match="Industry is blank"):
        read_reference_group(head + b"A,E,1,,Data,SQL,1\n")


@pytest.mark.parametrize(
    "score",
    ["2_5_0", "\uff12\uff15\uff10", "\u0661\u0662\u0663", "250e0", "2.5E2", "-0", "+250",
     "0x10", "nan", "inf", "250.", ".5", "1 000", '"250;5"'],
)  # fmt: skip
def test_a_reference_score_is_a_plain_decimal_number(score: str) -> None:
    head = "Company,Geography,Size,Industry,Domain,Skill,Score\n"
    body = f"A,E,1,R,Data,SQL,240\nB,E,1,R,Data,SQL,{score}\n"
    with pytest.raises(ValidationError, match="not a plain decimal number") as bad:
        read_reference_group((head + body).encode())
    assert (bad.value.line, bad.value.field) == (3, "Score")


def test_plain_decimal_reference_scores_are_read() -> None:
    head = b"Company,Geography,Size,Industry,Domain,Skill,Score\n"
    group = read_reference_group(head + b"A,E,1,R,Data,SQL,0\nB,E,1,R,Data,SQL, 499.75 \n")
    assert group.skill_scores("Data", "SQL") == [0.0, 499.75]
    with pytest.raises(ValidationError, match=r"0-500, not 500\.01") as bad:
        read_reference_group(head + b"A,E,1,R,Data,SQL,500.01\n")
    assert (bad.value.line, bad.value.field) == (2, "Score")
    with pytest.raises(ValidationError, match="control characters") as bad:
        read_reference_group(head + b'A,"Eu\nrope",1,R,Data,SQL,1\n')
    assert (bad.value.line, bad.value.field) == (2, "Geography")


@pytest.mark.parametrize(
    ("score", "message"),
    [
        ("300", "a number is required, not str"),
        (math.nan, "finite number from 0.0 to 500.0"),
        (math.inf, "finite number from 0.0 to 500.0"),
        (-1, "finite number from 0.0 to 500.0"),
        (500.5, "finite number from 0.0 to 500.0"),
        (True, "a number is required, not bool"),
    ],
)
def test_a_reference_score_made_directly_is_checked(score: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as bad:
        ReferenceScore("A", "Europe", "1000+", "Software", "Data", "SQL", score)
    assert bad.value.field == "score"
    assert ReferenceScore("A", "E", "1", "S", "Data", "SQL", 300).score == 300.0


def test_a_reference_group_holds_only_reference_scores() -> None:
    ok = ReferenceScore("A", "E", "1", "S", "Data", "SQL", 300)
    with pytest.raises(ValidationError, match="a ReferenceScore is required, not tuple") as bad:
        ReferenceGroup([ok, ("B", "E", "1", "S", "Data", "SQL", 300)])
    assert bad.value.field == "scores[1]"
    with pytest.raises(ValidationError, match="not str"):
        ReferenceGroup("scores")
    assert ReferenceGroup([ok]).scores == (ok,)
    with pytest.raises(ValidationError, match="a value is required") as bad:
        ReferenceScore("A", " ", "1", "S", "Data", "SQL", 300)
    assert bad.value.field == "geography"
