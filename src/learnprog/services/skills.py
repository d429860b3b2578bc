"""SkillScorer: Elo proficiency per learner and skill, levels, the leaderboard.

The model is :mod:`learnprog.model.skills` (Pelánek 2016; Reddick, EDM 2019). Scoring is
incremental: each call scores the attempts stored since the last call, in ``(submitted_at,
id)`` order, from the stored ratings and difficulties; an attempt that arrives dated before
the last one scored makes the next call score everything again, so the ratings are always those
of scoring every attempt in time order from scratch.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime

from attrs import frozen

from learnprog.csvfiles import CsvSource, read_csv
from learnprog.errors import LearnprogError, ValidationError
from learnprog.model._rules import record_id
from learnprog.model.access import Actor
from learnprog.model.catalog import Skill
from learnprog.model.skills import (
    EloSettings,
    EloState,
    ItemDifficulty,
    Level,
    ScoredAttempt,
    ScoringMark,
    SkillRating,
    guess_of,
    level,
    score,
)
from learnprog.services._base import Service
from learnprog.storage.ports import UnitOfWork


@frozen
class ScoringReport:
    """What :meth:`SkillScorer.score` did.

    Attributes:
        scored: attempts scored by this call.
        skipped: attempts of assessments that measure no skill (not scored).
        from_scratch: every attempt was scored again (asked for, or an attempt arrived late).
        ratings: (learner, skill) ratings stored after the call.
    """

    scored: int
    skipped: int
    from_scratch: bool
    ratings: int


@frozen
class LeaderboardRow:
    """One row of the skill mastery leaderboard (guide, "Skill Mastery Leaderboard").

    Attributes:
        domain: the skill's domain.
        skill: the skill's name.
        name: the learner's name, or ``None`` when contact details are hidden.
        email: the learner's email, or ``None`` when hidden.
        level: the learner's level.
        score: the 0-500 score.
    """

    domain: str
    skill: str
    name: str | None
    email: str | None
    level: Level
    score: float


@frozen
class SkillLevels:
    """Learners per level in one skill (guide, "Learner Proficiency by Top Skill").

    Attributes:
        skill_id: the skill.
        domain: its domain.
        skill: its name.
        counts: rated learners per level.
    """

    skill_id: str
    domain: str
    skill: str
    counts: dict[Level, int]


GLOSSARY_COLUMNS = ("Domain", "Skill")
"""The glossary file's required columns."""
GLOSSARY_OPTIONAL = ("Definition", "Example Sub Skills")
"""Its optional columns; example sub-skills are separated by ``;`` (``SQL; Hadoop``)."""


class GlossaryOutcome(enum.StrEnum):
    """What happened to one line of a glossary file."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    DIFFERS = "differs"
    """The skill exists with other details and ``update_existing=False``: left as it is."""
    REJECTED = "rejected"


@frozen
class GlossaryLine:
    """The result of one line of a glossary file.

    Attributes:
        line: the file line the record starts on (1 is the header).
        domain: the line's domain, as written.
        skill: the line's skill name, as written.
        outcome: created, updated, unchanged, differs or rejected.
        skill_id: the skill's record ID (``None`` when rejected).
        message: why a line was rejected or left as it is, else ``None``.
    """

    line: int
    domain: str
    skill: str
    outcome: GlossaryOutcome
    skill_id: str | None = None
    message: str | None = None


@frozen
class GlossaryImport:
    """What :meth:`SkillScorer.import_glossary` did.

    Attributes:
        lines: one result per data line, in file order.
    """

    lines: tuple[GlossaryLine, ...]

    def count(self, outcome: GlossaryOutcome) -> int:
        """How many lines had ``outcome``."""
        return sum(1 for r in self.lines if r.outcome is outcome)


def _subskills(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(";") if part.strip())


class SkillScorer(Service):
    """Skill proficiency (guide, "Skills Development")."""

    def score(
        self,
        actor: Actor,
        organization_id: str,
        *,
        settings: EloSettings | None = None,
        from_scratch: bool = False,
    ) -> ScoringReport:
        """Score the attempts stored since the last call (see the module for the rules).

        Scoring assumes the same ``settings`` as the calls before; after changing them, pass
        ``from_scratch=True``.

        Args:
            actor: an organization admin, or the system actor (a scheduled job).
            organization_id: the organization.
            settings: the model's parameters (default :class:`EloSettings`).
            from_scratch: forget the stored ratings and score every attempt again.

        Raises:
            PermissionDeniedError: not an organization admin or the system.
            ValidationError: ``settings`` is not an :class:`EloSettings`.
        """
        chosen = settings or EloSettings()
        if not isinstance(chosen, EloSettings):
            raise ValidationError("EloSettings are required", field="settings", value=settings)
        with self._as_org_admin(actor, organization_id, "score skills", allow_system=True) as (
            uow,
            org,
        ):
            report = self._score(uow, org.id, chosen, from_scratch)
            uow.commit()
        return report

    def _score(
        self, uow: UnitOfWork, organization_id: str, settings: EloSettings, from_scratch: bool
    ) -> ScoringReport:
        items: dict[str, tuple[tuple[str, ...], float, float]] = {}
        for course in uow.courses.list_for_organization(organization_id):
            for a in course.assessments:
                items[f"{course.id}:{a.id}"] = (a.skill_ids, a.pass_mark, guess_of(a.options))
        store = uow.skill_ratings
        mark = store.mark(organization_id)
        cursor = (
            None if mark.last_at is None or mark.last_id is None else (mark.last_at, mark.last_id)
        )
        if cursor is not None and not from_scratch:
            from_scratch = store.count_attempts_until(organization_id, cursor) != mark.scored
        state = EloState()
        reached: dict[tuple[str, str], list[datetime | None]] = {}
        scored = mark.scored
        if from_scratch or cursor is None:
            cursor, scored = None, 0
        else:
            for r in store.ratings(organization_id):
                state.ratings[(r.learner_id, r.skill_id)] = [r.theta, r.attempts]
                reached[(r.learner_id, r.skill_id)] = [r.intermediate_at, r.advanced_at]
            for d in store.difficulties(organization_id):
                state.items[f"{d.course_id}:{d.assessment_id}"] = [d.difficulty, d.attempts]
        new = list(store.attempts_after(organization_id, cursor))
        if cursor is not None and new:
            learners = sorted({a.learner_id for a in new})
            courses = sorted({a.course_id for a in new})
            for old in uow.activity.attempts_for(learners, courses):
                if (old.submitted_at, old.id) <= cursor:
                    state.seen.add((old.learner_id, f"{old.course_id}:{old.assessment_id}"))
        skipped = 0
        for attempt in new:
            item = f"{attempt.course_id}:{attempt.assessment_id}"
            skills, pass_mark, guess = items.get(item, ((), 0.0, 0.0))
            if not skills:
                skipped += 1
                continue
            state.update(
                ScoredAttempt(attempt.learner_id, item, skills, attempt.grade, pass_mark,
                              attempt.submitted_at, guess),
                settings,
            )  # fmt: skip
            for skill in skills:
                theta, n = state.rating(attempt.learner_id, skill)
                now_level = level(theta, n, settings)
                marks = reached.setdefault((attempt.learner_id, skill), [None, None])
                if now_level in (Level.INTERMEDIATE, Level.ADVANCED) and marks[0] is None:
                    marks[0] = attempt.submitted_at
                if now_level is Level.ADVANCED and marks[1] is None:
                    marks[1] = attempt.submitted_at
        ratings = [
            SkillRating(organization_id, learner, skill, v[0], int(v[1]),
                        *reached.get((learner, skill), [None, None]))
            for (learner, skill), v in sorted(state.ratings.items())
        ]  # fmt: skip
        difficulties = []
        for item, v in sorted(state.items.items()):
            course_id, assessment_id = item.split(":", 1)
            difficulties.append(
                ItemDifficulty(organization_id, course_id, assessment_id, v[0], int(v[1]))
            )
        store.replace(organization_id, ratings, difficulties)
        if new:
            last = new[-1]
            store.set_mark(
                ScoringMark(organization_id, scored + len(new), last.submitted_at, last.id)
            )
        return ScoringReport(len(new) - skipped, skipped, from_scratch, len(ratings))

    # --- the glossary --------------------------------------------------------------------------

    def import_glossary(
        self,
        actor: Actor,
        organization_id: str,
        source: CsvSource,
        *,
        encoding: str | None = None,
        update_existing: bool = True,
    ) -> GlossaryImport:
        """Load skills into the organization's glossary from a CSV file (guide, "Glossary").

        Columns: ``Domain``, ``Skill`` (required), ``Definition`` and ``Example Sub Skills``
        (optional; sub-skills separated by ``;``). Headers match ignoring case and spaces; the
        delimiter and encoding are told from the file (:func:`learnprog.csvfiles.read_csv`).

        Idempotent: a line whose domain and skill name (exact, after trimming) are in the
        glossary already is ``unchanged`` when its details match, else ``updated`` (or
        ``differs``, with nothing changed, when ``update_existing`` is false). A blank
        definition or sub-skills cell leaves the stored value as it is; it never erases it.
        A line naming a domain and skill seen on an earlier line of the file is rejected, as
        is a line with a blank domain or skill. Rejected lines do not stop the others; the
        accepted lines are stored in one unit of work, with an audit entry each.

        Args:
            actor: an organization admin.
            organization_id: the organization.
            source: a path, the file's bytes, or a binary file object.
            encoding: the file's encoding, when known.
            update_existing: change existing skills whose details differ (default), or only
                report them.

        Returns:
            One :class:`GlossaryLine` per data line, with its file line number.

        Raises:
            PermissionDeniedError: not an organization admin.
            ValidationError: the file cannot be read or lacks the Domain or Skill column.
        """
        if not isinstance(update_existing, bool):
            raise ValidationError("true or false is required", field="update_existing")
        results: list[GlossaryLine] = []
        with (
            self._as_org_admin(actor, organization_id, "change the skill glossary") as (uow, org),
            read_csv(
                source, GLOSSARY_COLUMNS, encoding=encoding, optional=GLOSSARY_OPTIONAL
            ) as rows,
        ):
            known = {(s.domain, s.name): s for s in uow.skills.list_for_organization(org.id)}
            first_line: dict[tuple[str, str], int] = {}
            for row in rows:
                v = row.values
                domain, name = v["Domain"], v["Skill"]
                key = (domain, name)
                if key in first_line:
                    results.append(GlossaryLine(
                        row.line, domain, name, GlossaryOutcome.REJECTED,
                        message=f"{domain} / {name} is on line {first_line[key]} already",
                    ))  # fmt: skip
                    continue
                try:
                    results.append(self._glossary_line(uow, actor, org.id, known, row.line, v,
                                                       update_existing))  # fmt: skip
                except LearnprogError as exc:
                    results.append(
                        GlossaryLine(row.line, domain, name, GlossaryOutcome.REJECTED,
                                     message=str(exc))
                    )  # fmt: skip
                    continue
                first_line[key] = row.line
            uow.commit()
        return GlossaryImport(tuple(results))

    def _glossary_line(
        self,
        uow: UnitOfWork,
        actor: Actor,
        organization_id: str,
        known: dict[tuple[str, str], Skill],
        line: int,
        values: dict[str, str],
        update_existing: bool,
    ) -> GlossaryLine:
        domain, name = values["Domain"], values["Skill"]
        definition = values["Definition"] or None
        subskills = _subskills(values["Example Sub Skills"])
        existing = known.get((domain, name))
        if existing is None:
            skill = Skill.create(organization_id, domain=domain, name=name,
                                 definition=definition, example_subskills=subskills)  # fmt: skip
            uow.skills.add(skill)
            self._audit_created(uow, actor, "skill.add", skill, organization_id=organization_id)
            known[(domain, name)] = skill
            return GlossaryLine(line, domain, name, GlossaryOutcome.CREATED, skill.id)
        changed = existing.with_details(
            definition=definition if definition is not None else existing.definition,
            example_subskills=subskills or existing.example_subskills,
        )
        if changed == existing:
            return GlossaryLine(line, domain, name, GlossaryOutcome.UNCHANGED, existing.id)
        if not update_existing:
            return GlossaryLine(line, domain, name, GlossaryOutcome.DIFFERS, existing.id,
                                "the glossary holds other details; not updated")  # fmt: skip
        uow.skills.update(changed)
        self._audit_change(uow, actor, "skill.update", existing, changed, object_type="skill")
        known[(domain, name)] = changed
        return GlossaryLine(line, domain, name, GlossaryOutcome.UPDATED, existing.id)

    # --- reading the ratings -------------------------------------------------------------------

    def ratings(
        self, actor: Actor, organization_id: str, *, skill_id: str | None = None
    ) -> Sequence[SkillRating]:
        """Return the stored ratings, by skill and learner (organization admins only).

        Raises:
            PermissionDeniedError: not an organization admin (program admins have no skills
                analytics: guide, "Analytics Reports").
        """
        with self._as_org_admin(actor, organization_id, "read skill ratings") as (uow, org):
            skills = None if skill_id is None else [record_id(skill_id, field="skill_id")]
            return uow.skill_ratings.ratings(org.id, skills)

    def leaderboard(
        self,
        actor: Actor,
        organization_id: str,
        *,
        skill_id: str | None = None,
        limit: int = 20,
        hide_contact: bool = False,
        settings: EloSettings | None = None,
    ) -> Sequence[LeaderboardRow]:
        """The skill mastery leaderboard: rated learners by score, highest first.

        Args:
            actor: an organization admin.
            organization_id: the organization.
            skill_id: one skill, or every skill.
            limit: at most this many rows (1-1000).
            hide_contact: leave names and emails out (guide: an option to hide them).
            settings: the level cut points and minimum attempts (default :class:`EloSettings`).

        Raises:
            PermissionDeniedError: not an organization admin.
            ValidationError: a limit outside 1-1000.
        """
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise ValidationError("a limit is 1-1000", field="limit", value=limit)
        chosen = settings or EloSettings()
        with self._as_org_admin(actor, organization_id, "read the leaderboard") as (uow, org):
            skills = {s.id: s for s in uow.skills.list_for_organization(org.id)}
            wanted = None if skill_id is None else [record_id(skill_id, field="skill_id")]
            rated = [
                r for r in uow.skill_ratings.ratings(org.id, wanted) if r.level(chosen) is not None
            ]
            rated.sort(key=lambda r: (-r.theta, r.skill_id, r.learner_id))
            top = rated[:limit]
            people = uow.learners.get_many(sorted({r.learner_id for r in top}))
        rows = []
        for r in top:
            found_level = r.level(chosen)
            assert found_level is not None
            person = people[r.learner_id]
            rows.append(
                LeaderboardRow(
                    skills[r.skill_id].domain,
                    skills[r.skill_id].name,
                    None if hide_contact else person.full_name,
                    None if hide_contact else person.email.address,
                    found_level,
                    score(r.theta),
                )
            )
        return rows

    def proficiency_by_skill(
        self,
        actor: Actor,
        organization_id: str,
        *,
        top: int = 10,
        settings: EloSettings | None = None,
    ) -> Sequence[SkillLevels]:
        """Learners per level for the most popular skills (most rated learners first).

        Raises:
            PermissionDeniedError: not an organization admin.
        """
        chosen = settings or EloSettings()
        with self._as_org_admin(actor, organization_id, "read skills analytics") as (uow, org):
            skills = {s.id: s for s in uow.skills.list_for_organization(org.id)}
            counts: dict[str, dict[Level, int]] = {}
            for r in uow.skill_ratings.ratings(org.id):
                found = r.level(chosen)
                if found is not None:
                    per = counts.setdefault(r.skill_id, dict.fromkeys(Level, 0))
                    per[found] += 1
        ranked = sorted(counts.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))[:top]
        return [SkillLevels(sid, skills[sid].domain, skills[sid].name, per) for sid, per in ranked]
