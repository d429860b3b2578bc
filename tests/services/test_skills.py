"""SkillScorer: scoring stored attempts incrementally, levels, the leaderboard, proficiency."""

from __future__ import annotations

from datetime import timedelta

import pytest

import learnprog
from learnprog.errors import PermissionDeniedError, ValidationError
from learnprog.model import Assessment, AssessmentAttempt, LearnerActor
from learnprog.model.skills import EloSettings, Level, ScoredAttempt, rescore
from learnprog.services.skills import GlossaryOutcome
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

    def attempts(self, who: LearnerActor, grades: list[float], start: int = 1) -> None:
        records = []
        for i, grade in enumerate(grades):
            self.count += 1
            records.append(
                AssessmentAttempt(f"a{self.count}", who.learner_id, self.course.id,
                                  f"q{i % 3}", grade, START + (start + i) * HOUR)
            )  # fmt: skip
        self.lp.learning.ingest(SYSTEM, self.org.id, attempts=records)


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


def test_the_leaderboard_and_proficiency(lp: learnprog.Learnprog) -> None:
    w = Skilled(lp)
    lia, bo = w.people
    w.attempts(lia, [100, 100, 100, 100])
    w.attempts(bo, [0, 10, 0])
    lp.skills.score(w.admin, w.org.id)
    board = lp.skills.leaderboard(w.admin, w.org.id)
    assert [r.name for r in board] == ["Lia", "Bo"]
    assert board[1].level is Level.BEGINNER
    assert board[0].score > board[1].score
    assert (board[0].domain, board[0].skill) == ("Data", "SQL")
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
