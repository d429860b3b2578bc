"""SkillScorer: Elo proficiency per learner and skill, levels, the leaderboard.

The model is :mod:`learnprog.model.skills` (Pelánek 2016; Reddick, EDM 2019). Scoring is
incremental: each call scores the attempts stored since the last call, in ``(submitted_at,
id)`` order, from the stored ratings and difficulties; an attempt that arrives dated before
the last one scored makes the next call score everything again, so the ratings are always those
of scoring every attempt in time order from scratch.
"""

from __future__ import annotations

import enum
import math
import re
import statistics
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Literal

from attrs import frozen

from learnprog.csvfiles import CsvSource, read_csv
from learnprog.errors import (
    ConcurrencyError,
    ConflictError,
    LearnprogError,
    NotFoundError,
    ValidationError,
)
from learnprog.frames import Column, ColumnKind, Rows, Table, axes, day_values, label
from learnprog.model._rules import record_id
from learnprog.model.access import Actor
from learnprog.model.activity import LearningEvent
from learnprog.model.catalog import Course, EntryKind, Skill
from learnprog.model.progress import hours
from learnprog.model.skills import (
    SCORE_SCALE,
    Band,
    EloSettings,
    EloState,
    ItemDifficulty,
    ItemFacts,
    Level,
    ReferenceGroup,
    ReferenceScore,
    ScoredAttempt,
    ScoringMark,
    SkillRating,
    band,
    course_relevance,
    guess_of,
    level,
    percentile_rank,
    score,
    seconds_until,
    tagged,
    teaching_level,
)
from learnprog.services._base import Service, retry_on
from learnprog.storage.ports import UnitOfWork

if TYPE_CHECKING:
    from matplotlib.axes import Axes


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


_MASTERY = (Level.INTERMEDIATE, Level.ADVANCED)
"""The levels on the leaderboard (guide, "Skill Mastery Leaderboard")."""


@frozen
class LeaderboardRow:
    """One row of the skill mastery leaderboard (guide, "Skill Mastery Leaderboard").

    Attributes:
        domain: the skill's domain.
        skill: the skill's name.
        name: the learner's name, or ``None`` when contact details are hidden.
        email: the learner's email, or ``None`` when hidden.
        level: the learner's level: INTERMEDIATE or ADVANCED.
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


@frozen
class MasteryHours:
    """Median hours to mastery in one skill (guide, "Median Hours to Mastery").

    Attributes:
        skill_id: the skill.
        domain: its domain.
        skill: its name.
        intermediate_hours: the median, over learners who reached INTERMEDIATE (or higher),
            of their learning hours up to that moment; ``None`` when nobody has.
        intermediate_learners: how many learners that median is over.
        advanced_hours: the same for ADVANCED, or ``None``.
        advanced_learners: how many learners reached ADVANCED.
    """

    skill_id: str
    domain: str
    skill: str
    intermediate_hours: float | None
    intermediate_learners: int
    advanced_hours: float | None
    advanced_learners: int


@frozen
class MasteryPoint:
    """Learners who had reached a level in a skill by the end of a UTC day.

    Source: guide, "Skill Mastery Over Time" ("Total number of people who have reached, for a
    given skill, either an intermediate or advanced level, over time").

    Attributes:
        skill_id: the skill.
        day: the UTC date.
        intermediate: learners who had reached INTERMEDIATE or higher by the end of ``day``.
        advanced: learners who had reached ADVANCED by the end of ``day``.
    """

    skill_id: str
    day: date
    intermediate: int
    advanced: int


@frozen
class SkillEffort:
    """Classic effort metrics of one skill: assessments completed and hours spent learning.

    Source: guide, "Total/Avg Assessments Completed by Skill", "Avg Hours Spent Learning Skill".

    Attributes:
        skill_id: the skill.
        domain: its domain.
        skill: its name.
        assessments_completed: distinct (learner, assessment) pairs with at least one attempt,
            over the assessments measuring the skill.
        assessment_learners: learners with at least one such assessment completed.
        average_assessments: ``assessments_completed / assessment_learners`` (0 when none).
        hours: learning hours in the courses tagged with the skill, every learner, all time.
        hour_learners: learners with at least one item event in a tagged course.
        average_hours: ``hours / hour_learners`` (0 when none).
    """

    skill_id: str
    domain: str
    skill: str
    assessments_completed: int
    assessment_learners: int
    average_assessments: float
    hours: float
    hour_learners: int
    average_hours: float


@frozen
class RelevantCourse:
    """A course the program offers, as it teaches one skill.

    Attributes:
        course_id: the course's record ID.
        name: the course name.
        relevance: :func:`~learnprog.model.skills.course_relevance`, 0-1.
        level: :func:`~learnprog.model.skills.teaching_level`.
    """

    course_id: str
    name: str
    relevance: float
    level: Level


@frozen
class SkillCourses:
    """The most relevant courses per level in one skill.

    Source: guide, "Most Relevant Courses per Skill Level".

    Attributes:
        skill_id: the skill.
        domain: its domain.
        skill: its name.
        courses: per level, the courses teaching the skill at that level, most relevant first
            (an empty tuple is the guide's "∅").
    """

    skill_id: str
    domain: str
    skill: str
    courses: dict[Level, tuple[RelevantCourse, ...]]

    def top(self, at: Level) -> RelevantCourse | None:
        """The most relevant course at a level, or ``None``."""
        found = self.courses.get(at, ())
        return found[0] if found else None


@frozen
class BenchmarkRow:
    """The organization against its reference group in one skill.

    Attributes:
        skill_id: the skill.
        domain: its domain.
        skill: its name.
        score: the organization's average score (0-500) over its rated learners.
        learners: its rated learners in the skill.
        companies: the reference group's companies with a score in the skill.
        industry_average: their mean score (0-500).
        percentile: :func:`~learnprog.model.skills.percentile_rank`, 0-100.
        band: :func:`~learnprog.model.skills.band`.
    """

    skill_id: str
    domain: str
    skill: str
    score: float
    learners: int
    companies: int
    industry_average: float
    percentile: float
    band: Band


@frozen
class BenchmarkPoint:
    """The benchmark of one skill as of the end of one UTC date.

    Attributes:
        day: the date.
        score: the organization's average score then (0-500), over the learners rated then.
        learners: how many learners were rated then.
        industry_average: the reference group's mean score (the file is one snapshot).
        percentile: the percentile rank then, 0-100.
        band: its band.
    """

    day: date
    score: float
    learners: int
    industry_average: float
    percentile: float
    band: Band


# --- result lists: frames, Jupyter tables and plots (learnprog.frames) -------------------------

_LEVEL_COLORS = {
    Level.BEGINNER: "#dd8452",
    Level.INTERMEDIATE: "#4c72b0",
    Level.ADVANCED: "#55a868",
}
_SKILL = (
    Column("skill_id", ColumnKind.TEXT),
    Column("domain", ColumnKind.TEXT),
    Column("skill", ColumnKind.TEXT),
)
_LEVEL_COUNTS = tuple(Column(lv.value, ColumnKind.INTEGER) for lv in Level)
_LEVEL = Column("level", ColumnKind.CATEGORY, categories=tuple(lv.value for lv in Level))
_COURSE = (
    Column("rank", ColumnKind.INTEGER),
    Column("course_id", ColumnKind.TEXT),
    Column("name", ColumnKind.TEXT),
    Column("relevance", ColumnKind.NUMBER),
)


def _bar_positions(count: int, group: int, index: int, width: float) -> list[float]:
    """Where bar ``index`` of ``group`` side-by-side bars goes, for ``count`` categories."""
    return [i + (index - (group - 1) / 2) * width for i in range(count)]


class Leaderboard(Rows[LeaderboardRow]):
    """The skill mastery leaderboard's rows (:meth:`SkillScorer.leaderboard`).

    ``to_pandas()`` columns: ``domain``, ``skill``, ``name`` and ``email`` (``string``,
    ``<NA>`` when hidden), ``level`` (a ``category``, beginner < intermediate < advanced) and
    ``score`` (``float64``, 0-500).
    """

    row_type = LeaderboardRow


class ProficiencyBySkill(Rows[SkillLevels]):
    """Learners per level in the most popular skills (:meth:`SkillScorer.proficiency_by_skill`).

    ``to_pandas()`` columns: ``skill_id``, ``domain``, ``skill`` (``string``), then one
    ``int64`` column per level: ``beginner``, ``intermediate``, ``advanced`` (rated learners).
    """

    row_type = SkillLevels

    def _table(self) -> Table:
        return (*_SKILL, *_LEVEL_COUNTS), [
            (r.skill_id, r.domain, r.skill, *(r.counts.get(lv, 0) for lv in Level)) for r in self
        ]

    def plot(self, ax: Axes | None = None) -> Axes:
        """Draw learners per level as stacked bars, one bar per skill.

        Source: guide, "Learner Proficiency by Top Skill" ("how many learners are at what level
        of skill mastery (Beginner, Intermediate, and Advanced), for the most popular skills").

        Args:
            ax: the matplotlib Axes to draw on; ``None`` makes a new figure.

        Returns:
            The Axes: three bar containers (``ax.containers``), beginner, intermediate and
            advanced, one bar per skill in row order.

        Raises:
            MissingExtraError: matplotlib is not installed (``pip install
                'learnprog[notebook]'``).
        """
        ax = axes(ax, size=(8.0, 3.5))
        places = range(len(self))
        bottom = [0] * len(self)
        for lv in Level:
            heights = [r.counts.get(lv, 0) for r in self]
            ax.bar(places, heights, bottom=bottom, label=lv.value, color=_LEVEL_COLORS[lv])
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
        ax.set_xticks(places, [label(r.skill) for r in self], rotation=20)
        ax.set_ylabel("rated learners")
        ax.set_title("Learner proficiency by top skill")
        ax.legend()
        return ax


class HoursToMastery(Rows[MasteryHours]):
    """Median hours to each level, per skill (:meth:`SkillScorer.hours_to_mastery`).

    ``to_pandas()`` columns: ``skill_id``, ``domain``, ``skill`` (``string``),
    ``intermediate_hours`` and ``advanced_hours`` (``float64`` hours, ``NaN`` when nobody
    reached the level), ``intermediate_learners`` and ``advanced_learners`` (``int64``).
    """

    row_type = MasteryHours

    def plot(self, ax: Axes | None = None) -> Axes:
        """Draw the median hours to INTERMEDIATE and to ADVANCED side by side, per skill.

        Source: guide, "Median Hours to Mastery". A level nobody reached has no bar.

        Args:
            ax: the matplotlib Axes to draw on; ``None`` makes a new figure.

        Returns:
            The Axes: two bar containers (``ax.containers``: intermediate, advanced), one bar
            per skill in row order (height ``NaN`` where nobody reached the level).

        Raises:
            MissingExtraError: matplotlib is not installed (``pip install
                'learnprog[notebook]'``).
        """
        ax = axes(ax, size=(8.0, 3.5))
        width = 0.38
        for index, (lv, values) in enumerate(
            (
                (Level.INTERMEDIATE, [r.intermediate_hours for r in self]),
                (Level.ADVANCED, [r.advanced_hours for r in self]),
            )
        ):
            heights = [math.nan if v is None else v for v in values]
            ax.bar(
                _bar_positions(len(self), 2, index, width),
                heights,
                width=width,
                label=lv.value,
                color=_LEVEL_COLORS[lv],
            )
        ax.set_xticks(range(len(self)), [label(r.skill) for r in self], rotation=20)
        ax.set_ylabel("median learning hours")
        ax.set_title("Median hours to mastery")
        ax.legend()
        return ax


class MasteryOverTime(Rows[MasteryPoint]):
    """Learners who had reached each level, per skill and day.

    Returned by :meth:`SkillScorer.mastery_over_time`.

    ``to_pandas()`` columns: ``skill_id`` (``string``), ``day`` (``datetime64``, a UTC day),
    ``intermediate`` and ``advanced`` (``int64``, cumulative learners).

    Attributes:
        skill_names: each skill's name, by skill ID (for the plot's legend).
    """

    row_type = MasteryPoint

    def __init__(
        self, points: Iterable[MasteryPoint] = (), skill_names: dict[str, str] | None = None
    ) -> None:
        super().__init__(points)
        self.skill_names = dict(skill_names or {})

    def plot(self, ax: Axes | None = None) -> Axes:
        """Draw, per skill, the learners who had reached INTERMEDIATE and ADVANCED over time.

        Source: guide, "Skill Mastery Over Time" ("Total number of people who have reached,
        for a given skill, either an intermediate or advanced level, over time"). Steps: a
        count holds until the next day a learner reached the level.

        Args:
            ax: the matplotlib Axes to draw on; ``None`` makes a new figure.

        Returns:
            The Axes: per skill (by skill ID), a solid line for INTERMEDIATE then a dashed
            line of the same color for ADVANCED (``ax.lines``), labelled ``"intermediate:
            <skill name>"`` and ``"advanced: <skill name>"``.

        Raises:
            MissingExtraError: matplotlib is not installed (``pip install
                'learnprog[notebook]'``).
        """
        ax = axes(ax)
        by_skill: dict[str, list[MasteryPoint]] = {}
        for point in self:
            by_skill.setdefault(point.skill_id, []).append(point)
        for index, (skill_id, points) in enumerate(sorted(by_skill.items())):
            name = label(self.skill_names.get(skill_id, skill_id))
            days = day_values([p.day for p in points])
            color = f"C{index % 10}"
            # the level first: a label starting with "_" would be left out of the legend
            ax.step(days, [p.intermediate for p in points], where="post", color=color,
                    label=f"intermediate: {name}")  # fmt: skip
            ax.step(days, [p.advanced for p in points], where="post", color=color,
                    linestyle="--", label=f"advanced: {name}")  # fmt: skip
        ax.set_ylabel("learners")
        ax.set_ylim(bottom=0)
        ax.set_title("Skill mastery over time")
        if by_skill:
            ax.legend()
        ax.figure.autofmt_xdate()
        return ax


EffortMetric = Literal["assessments_completed", "average_assessments", "hours", "average_hours"]
"""A :class:`SkillEffort` figure that :meth:`EffortBySkill.plot` draws."""

_EFFORT_TITLES: dict[str, tuple[str, str]] = {
    "assessments_completed": ("Total Assessments Completed by Skill", "assessments"),
    "average_assessments": ("Avg Assessments Completed by Skill", "assessments per learner"),
    "hours": ("Total Hours Spent Learning by Skill", "hours"),
    "average_hours": ("Avg Hours Spent Learning Skill", "hours per learner"),
}


class EffortBySkill(Rows[SkillEffort]):
    """Assessments completed and hours spent, per skill (:meth:`SkillScorer.effort_by_skill`).

    ``to_pandas()`` columns: ``skill_id``, ``domain``, ``skill`` (``string``),
    ``assessments_completed``, ``assessment_learners`` and ``hour_learners`` (``int64``),
    ``average_assessments``, ``hours`` and ``average_hours`` (``float64``; hours as hours).
    """

    row_type = SkillEffort

    def plot(self, metric: EffortMetric = "assessments_completed", ax: Axes | None = None) -> Axes:
        """Draw one effort figure per skill as bars: one of the guide's classic metrics.

        Sources: guide, "Total Assessments Completed by Skill" (``assessments_completed``),
        "Avg Assessments Completed by Skill" (``average_assessments``) and "Avg Hours Spent
        Learning Skill" (``average_hours``); ``hours`` is the total behind the last.

        Args:
            metric: the :class:`SkillEffort` attribute drawn.
            ax: the matplotlib Axes to draw on; ``None`` makes a new figure.

        Returns:
            The Axes: one bar per skill in row order (``ax.patches``).

        Raises:
            ValidationError: another metric (field ``metric``).
            MissingExtraError: matplotlib is not installed (``pip install
                'learnprog[notebook]'``).
        """
        if metric not in _EFFORT_TITLES:
            raise ValidationError(
                f"a metric is one of {', '.join(_EFFORT_TITLES)}", field="metric", value=metric
            )
        title, unit = _EFFORT_TITLES[metric]
        ax = axes(ax, size=(8.0, 3.5))
        values = [float(getattr(r, metric)) for r in self]
        ax.bar(range(len(self)), values, color="#4c72b0")
        ax.set_xticks(range(len(self)), [label(r.skill) for r in self], rotation=20)
        ax.set_ylabel(unit)
        ax.set_title(title)
        return ax


class RelevantCourses(Rows[SkillCourses]):
    """The most relevant courses per skill, level (:meth:`SkillScorer.relevant_courses`).

    ``to_pandas()`` has one row per skill, level and course (long format): ``skill_id``,
    ``domain``, ``skill`` (``string``), ``level`` (a ``category``), ``rank`` (``int64``, 1
    for the most relevant course at that level), ``course_id``, ``name`` (``string``) and
    ``relevance`` (``float64``, 0-1). A level without a course (the guide's "∅") has no row.
    """

    row_type = SkillCourses

    def _table(self) -> Table:
        return (*_SKILL, _LEVEL, *_COURSE), [
            (r.skill_id, r.domain, r.skill, lv, rank, c.course_id, c.name, c.relevance)
            for r in self
            for lv in Level
            for rank, c in enumerate(r.courses.get(lv, ()), start=1)
        ]


class IndustryBenchmark(Rows[BenchmarkRow]):
    """The organization against its reference group, per skill.

    Returned by :meth:`SkillScorer.industry_benchmark`. ``to_pandas()`` columns:
    ``skill_id``, ``domain``, ``skill`` (``string``), ``score``, ``industry_average`` (0-500)
    and ``percentile`` (0-100) (``float64``), ``learners`` and ``companies`` (``int64``),
    ``band`` (a ``category``, lagging < emerging < competitive < cutting-edge).
    """

    row_type = BenchmarkRow

    def plot(self, ax: Axes | None = None) -> Axes:
        """Draw each skill's percentile rank as a bar, with the quartile bands marked.

        Source: guide, "Current Industry Benchmark" ("the fraction of companies you
        outperform among the selected reference group, by skill"; quartiles 0-25% lagging,
        26-50% emerging, 51-75% competitive, 76-100% cutting-edge).

        Args:
            ax: the matplotlib Axes to draw on; ``None`` makes a new figure.

        Returns:
            The Axes: one horizontal bar per skill in row order (``ax.patches``), each
            labelled with its band, and dotted lines at 25, 50 and 75.

        Raises:
            MissingExtraError: matplotlib is not installed (``pip install
                'learnprog[notebook]'``).
        """
        ax = axes(ax, size=(7.0, 1.5 + 0.5 * max(len(self), 1)))
        places = range(len(self))
        bars = ax.barh(places, [r.percentile for r in self], color="#4c72b0")
        ax.set_yticks(places, [label(r.skill) for r in self])
        ax.bar_label(bars, labels=[r.band.value for r in self], padding=3)
        for quartile in (25, 50, 75):
            ax.axvline(quartile, color="#8c8c8c", linestyle=":", linewidth=1)
        ax.set_xlim(0, 115)
        ax.set_xticks([0, 25, 50, 75, 100])
        ax.invert_yaxis()
        ax.set_xlabel("percentile rank in the reference group")
        ax.set_title("Current industry benchmark")
        return ax


class BenchmarkOverTime(Rows[BenchmarkPoint]):
    """One skill's benchmark at the end of each date (:meth:`SkillScorer.benchmark_over_time`).

    ``to_pandas()`` columns: ``day`` (``datetime64``, a UTC day), ``score`` and
    ``industry_average`` (``float64``, 0-500), ``learners`` (``int64``), ``percentile``
    (``float64``, 0-100) and ``band`` (a ``category``).
    """

    row_type = BenchmarkPoint

    def plot(self, ax: Axes | None = None) -> Axes:
        """Draw the organization's average score against the industry average over time.

        Source: guide, "Industry Benchmark Over Time" ("your company's skill score changes in
        relation to the industry's average skill score").

        Args:
            ax: the matplotlib Axes to draw on; ``None`` makes a new figure.

        Returns:
            The Axes: ``ax.lines`` are the organization's score, then the industry average
            (dashed), both on the 0-500 scale.

        Raises:
            MissingExtraError: matplotlib is not installed (``pip install
                'learnprog[notebook]'``).
        """
        ax = axes(ax)
        days = day_values([p.day for p in self])
        ax.plot(days, [p.score for p in self], marker=".", label="Your organization")
        ax.plot(days, [p.industry_average for p in self], linestyle="--",
                label="Industry average")  # fmt: skip
        low, high = SCORE_SCALE
        ax.set_ylim(low, high)
        ax.set_ylabel("average skill score (0-500)")
        ax.set_title("Industry benchmark over time")
        ax.legend()
        ax.figure.autofmt_xdate()
        return ax


REFERENCE_COLUMNS = ("Company", "Geography", "Size", "Industry", "Domain", "Skill", "Score")
"""The reference group file's columns; Score is the company's average, 0-500."""

_PLAIN_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?")
"""A plain decimal number: ASCII digits, then optionally ``.`` and more ASCII digits.

``float()`` alone would also take ``2_5_0``, full-width digits (U+FF10-U+FF19), ``1e2``,
``nan``, ``inf`` and surrounding spaces."""


def _reference_score(text: str, *, line: int) -> float:
    """Read a reference file's Score cell strictly: a plain decimal number in 0-500.

    Raises:
        ValidationError: anything but ASCII digits with an optional ``.`` fraction
            (``2_5_0``, full-width digits, ``2.5e2``, ``-0``, ``0x10``), or a number above 500; the
            line and the column (``Score``) are named.
    """
    if not _PLAIN_DECIMAL.fullmatch(text):
        raise ValidationError(
            f"{text!r} is not a plain decimal number (digits 0-9 and an optional '.')",
            field="Score",
            line=line,
            value=text,
        )
    value = float(text)
    low, high = SCORE_SCALE
    if not low <= value <= high:
        raise ValidationError(
            f"a score is a number in {low:g}-{high:g}, not {text}",
            field="Score",
            line=line,
            value=text,
        )
    return value


def read_reference_group(source: CsvSource, *, encoding: str | None = None) -> ReferenceGroup:
    """Read an industry benchmark's reference group from a CSV file.

    One line per company and skill: ``Company``, ``Geography``, ``Size``, ``Industry``,
    ``Domain``, ``Skill``, ``Score`` (the company's learners' average score on the 0-500
    scale). Headers match ignoring case and spaces; delimiter and encoding are told from the
    file. The file is reference data, so it is read whole or not at all.

    Args:
        source: a path, the file's bytes, or a binary file object.
        encoding: the file's encoding, when known.

    Returns:
        The group; narrow it with :meth:`ReferenceGroup.select`.

    Raises:
        ValidationError: a missing column, a blank field, a score that is not a plain decimal
            number (ASCII digits and an optional ``.``: no ``2_5_0``, full-width digits,
            exponent or sign) in 0-500, a text field on several lines or over 200 characters,
            or a company listed twice for one skill (the line and column named).
    """
    scores: list[ReferenceScore] = []
    seen: dict[tuple[str, str, str], int] = {}
    with read_csv(source, REFERENCE_COLUMNS, encoding=encoding) as rows:
        for row in rows:
            v = row.values
            for column in REFERENCE_COLUMNS:
                if not v[column]:
                    raise ValidationError(f"{column} is blank", field=column, line=row.line)
            value = _reference_score(v["Score"], line=row.line)
            key = (v["Company"], v["Domain"], v["Skill"])
            if key in seen:
                raise ValidationError(
                    f"{key[0]} is listed for {key[1]} / {key[2]} on line {seen[key]} already",
                    field="Company",
                    line=row.line,
                )
            seen[key] = row.line
            try:
                entry = ReferenceScore(v["Company"], v["Geography"], v["Size"], v["Industry"],
                                       v["Domain"], v["Skill"], value)  # fmt: skip
            except ValidationError as exc:  # the model's field names its column: line too
                column = str(exc.field).capitalize()
                raise ValidationError(exc.reason, field=column, line=row.line) from exc
            scores.append(entry)
    return ReferenceGroup(tuple(scores))


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


def _settings(settings: EloSettings | None) -> EloSettings:
    chosen = settings or EloSettings()
    if not isinstance(chosen, EloSettings):
        raise ValidationError("EloSettings are required", field="settings", value=settings)
    return chosen


def _dates(values: Sequence[date]) -> list[date]:
    for value in values:
        if not isinstance(value, date) or isinstance(value, datetime):
            raise ValidationError("a date is required", field="dates", value=value)
    return list(values)


def _relevant(
    course: Course, skill_id: str, stored: dict[tuple[str, str], float], settings: EloSettings
) -> RelevantCourse:
    ds = [stored.get((course.id, a.id), 0.0) for a in course.assessments if skill_id in a.skill_ids]
    return RelevantCourse(
        course.id, course.name, course_relevance(course, skill_id), teaching_level(ds, settings)
    )


def _subskills(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(";") if part.strip())


"""The ``at`` of the attempts the scorer streams: it orders them in storage and reads the time
only of the few attempts it keeps (level marks, its cursor), by their IDs."""


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

        Calls for one organization take turns: each holds its scoring lock
        (:meth:`~learnprog.storage.ports.SkillRatingRepository.lock_scoring`) until it
        commits. A call that collides with concurrent writes anyway (two first runs
        deadlocking on MariaDB) is rolled back and run once more, reading what the other
        committed; a second collision is raised.

        Raises:
            PermissionDeniedError: not an organization admin or the system.
            ValidationError: ``settings`` is not an :class:`EloSettings`.
            ConcurrencyError: the database rolled it back as a deadlock twice in a row
                (nothing of it was stored: call again).
            ConflictError: a concurrent run stored a rating first, twice in a row (nothing of
                it was stored: call again).
        """
        chosen = settings or EloSettings()
        if not isinstance(chosen, EloSettings):
            raise ValidationError("EloSettings are required", field="settings", value=settings)
        return self._score_once(actor, organization_id, chosen, from_scratch)

    # a deadlock rolled it back, or a concurrent first run stored a rating's key first (a
    # duplicate): the next run reads what the other committed and scores from there
    @retry_on((ConcurrencyError, ConflictError))
    def _score_once(
        self, actor: Actor, organization_id: str, settings: EloSettings, from_scratch: bool
    ) -> ScoringReport:
        """One scoring run in one unit of work (see :meth:`score`)."""
        with self._as_org_admin(actor, organization_id, "score skills", allow_system=True) as (
            uow,
            org,
        ):
            report = self._score(uow, org.id, settings, from_scratch)
            uow.commit()
        return report

    @staticmethod
    def _items(uow: UnitOfWork, organization_id: str) -> dict[str, ItemFacts]:
        """Each assessment measuring a skill: its key (course and assessment IDs) -> facts."""
        return {
            f"{course.id}:{a.id}": ItemFacts(a.skill_ids, a.pass_mark, guess_of(a.options))
            for course in uow.courses.list_for_organization(organization_id)
            for a in course.assessments
            if a.skill_ids
        }

    def _score(
        self, uow: UnitOfWork, organization_id: str, settings: EloSettings, from_scratch: bool
    ) -> ScoringReport:
        store = uow.skill_ratings
        store.lock_scoring(organization_id)  # a concurrent run waits until this one ends
        items = self._items(uow, organization_id)
        mark = store.mark(organization_id)
        cursor = (
            None if mark.last_at is None or mark.last_id is None else (mark.last_at, mark.last_id)
        )
        if cursor is not None and not from_scratch:
            from_scratch = store.count_attempts_until(organization_id, cursor) != mark.scored
        state = EloState()
        # A level's first moment: a stored time, or (found in this call) the attempt's ID,
        # whose time is read afterwards with the few others (the stream reads no times).
        reached: dict[tuple[str, str], list[datetime | str | None]] = {}
        scored = mark.scored
        if from_scratch or cursor is None:
            cursor, scored = None, 0
        else:
            for r in store.ratings(organization_id):
                state.set_rating(r.learner_id, r.skill_id, r.theta, r.attempts)
                reached[(r.learner_id, r.skill_id)] = [r.intermediate_at, r.advanced_at]
            for d in store.difficulties(organization_id):
                state.set_difficulty(f"{d.course_id}:{d.assessment_id}", d.difficulty, d.attempts)
        rows: Iterable[tuple[str, str, float, str]] = store.scoring_rows(organization_id, cursor)
        if cursor is not None:
            rows = list(rows)  # only what came since the last call: few
            self._mark_seen(uow, state, cursor, rows)
        went = state.learn(rows, items, settings, reached=reached)
        wanted = [m for marks in reached.values() for m in marks if isinstance(m, str)]
        last_id = [] if went.last_id is None else [went.last_id]
        times = store.attempt_times(organization_id, [*wanted, *last_id])

        def when(value: datetime | str | None) -> datetime | None:
            return times[value] if isinstance(value, str) else value

        ratings = []
        for learner, skill, theta, n in state.rated():
            first, second = reached.get((learner, skill), (None, None))
            ratings.append(
                SkillRating(organization_id, learner, skill, theta, n, when(first), when(second))
            )
        difficulties = []
        for item in sorted(state.difficulties):
            course_id, assessment_id = item.split(":", 1)
            value, n_item = state.difficulty(item)
            difficulties.append(
                ItemDifficulty(organization_id, course_id, assessment_id, value, n_item)
            )
        store.replace(organization_id, ratings, difficulties)
        read = went.learned + went.skipped
        if last_id:
            store.set_mark(
                ScoringMark(organization_id, scored + read, times[last_id[0]], last_id[0])
            )
        return ScoringReport(went.learned, went.skipped, from_scratch, len(ratings))

    @staticmethod
    def _mark_seen(
        uow: UnitOfWork,
        state: EloState,
        cursor: tuple[datetime, str],
        rows: Sequence[tuple[str, str, float, str]],
    ) -> None:
        """Note the (learner, item) pairs of these rows scored before ``cursor``."""
        if not rows:
            return
        learners = sorted({learner for learner, _, _, _ in rows})
        courses = sorted({item.split(":", 1)[0] for _, item, _, _ in rows})
        for old in uow.activity.attempts_for(learners, courses):
            if (old.submitted_at, old.id) <= cursor:
                state.seen.add((old.learner_id, f"{old.course_id}:{old.assessment_id}"))

    # --- skills analytics ----------------------------------------------------------------------

    def hours_to_mastery(
        self, actor: Actor, organization_id: str, *, skill_id: str | None = None
    ) -> HoursToMastery:
        """Median learning hours to reach INTERMEDIATE and ADVANCED, per skill.

        A learner's hours to a level are their learning hours in the courses tagged with the
        skill (a course is tagged when one of its assessments measures the skill) up to the
        attempt that first reached the level (``SkillRating.intermediate_at`` /
        ``advanced_at``, kept by :meth:`score`): each course's item events at or before that
        moment, made into sessions as the usage report's "Estimated Learning Hours" (idle over
        60 minutes ends one), summed over the courses
        (:func:`~learnprog.model.skills.seconds_until`). The median is over the learners who
        reached the level (guide, "Median Hours to Mastery"). Skills nobody reached a level in
        are listed with ``None``.

        Args:
            actor: an organization admin.
            organization_id: the organization.
            skill_id: one skill, or every rated skill.

        Returns:
            One row per rated skill, by domain and name; hours as floats.

        Raises:
            PermissionDeniedError: not an organization admin.
        """
        with self._as_org_admin(actor, organization_id, "read skills analytics") as (uow, org):
            skills = {s.id: s for s in uow.skills.list_for_organization(org.id)}
            courses = uow.courses.list_for_organization(org.id)
            wanted = None if skill_id is None else [record_id(skill_id, field="skill_id")]
            by_skill: dict[str, list[SkillRating]] = {}
            for r in uow.skill_ratings.ratings(org.id, wanted):
                by_skill.setdefault(r.skill_id, []).append(r)
            rows = []
            for sid, ratings in by_skill.items():
                reached = [r for r in ratings if r.intermediate_at is not None]
                course_ids = [c.id for c in courses if tagged(c, sid)]
                events: dict[str, list[LearningEvent]] = {}
                if reached and course_ids:
                    learners = sorted({r.learner_id for r in reached})
                    for e in uow.activity.events_for(learners, course_ids):
                        events.setdefault(e.learner_id, []).append(e)
                to_mid = [hours(seconds_until(events.get(r.learner_id, ()), r.intermediate_at))
                          for r in reached]  # fmt: skip
                to_top = [hours(seconds_until(events.get(r.learner_id, ()), r.advanced_at))
                          for r in reached if r.advanced_at is not None]  # fmt: skip
                skill = skills[sid]
                rows.append(MasteryHours(
                    sid, skill.domain, skill.name,
                    statistics.median(to_mid) if to_mid else None, len(to_mid),
                    statistics.median(to_top) if to_top else None, len(to_top),
                ))  # fmt: skip
        return HoursToMastery(sorted(rows, key=lambda r: (r.domain, r.skill, r.skill_id)))

    def mastery_over_time(
        self, actor: Actor, organization_id: str, *, skill_id: str | None = None
    ) -> MasteryOverTime:
        """Learners who have reached INTERMEDIATE and ADVANCED, by skill and UTC date.

        Counts are cumulative: a point for each UTC date on which a learner first reached a
        level in the skill, counting every learner who had reached it by the end of that date
        (from ``SkillRating.intermediate_at`` / ``advanced_at``, kept by :meth:`score`; a
        learner who went straight to ADVANCED counts in both). Source: guide, "Skill Mastery
        Over Time".

        Args:
            actor: an organization admin.
            organization_id: the organization.
            skill_id: one skill, or every skill.

        Returns:
            Points by skill ID, then date.

        Raises:
            PermissionDeniedError: not an organization admin.
        """
        with self._as_org_admin(actor, organization_id, "read skills analytics") as (uow, org):
            wanted = None if skill_id is None else [record_id(skill_id, field="skill_id")]
            ratings = uow.skill_ratings.ratings(org.id, wanted)
            names = {s.id: s.name for s in uow.skills.list_for_organization(org.id)}
        days: dict[str, dict[date, list[int]]] = {}
        for r in ratings:
            for index, at in enumerate((r.intermediate_at, r.advanced_at)):
                if at is not None:
                    per = days.setdefault(r.skill_id, {}).setdefault(at.date(), [0, 0])
                    per[index] += 1
        points = []
        for sid in sorted(days):
            mid = top = 0
            for day in sorted(days[sid]):
                mid += days[sid][day][0]
                top += days[sid][day][1]
                points.append(MasteryPoint(sid, day, mid, top))
        return MasteryOverTime(points, names)

    def effort_by_skill(self, actor: Actor, organization_id: str) -> EffortBySkill:
        """Assessments completed and hours spent learning, total and per learner, by skill.

        An assessment is completed by a learner once they have an attempt at it (any grade);
        it counts once per learner however many attempts, and once in each skill it measures.
        The average divides by the learners with at least one completed assessment in the
        skill (guide: "Total number of assessments completed across different skills divided
        by number of people"). Hours are every learner's learning hours in the courses tagged
        with the skill, all time (:func:`~learnprog.model.skills.seconds_until`), divided by
        the learners with an item event in one of them (guide, "Avg Hours Spent Learning
        Skill"). Every glossary skill is listed, zeros included.

        Args:
            actor: an organization admin.
            organization_id: the organization.

        Returns:
            One row per glossary skill, by domain and name.

        Raises:
            PermissionDeniedError: not an organization admin.
        """
        with self._as_org_admin(actor, organization_id, "read skills analytics") as (uow, org):
            skills = uow.skills.list_for_organization(org.id)
            courses = uow.courses.list_for_organization(org.id)
            measures = {(c.id, a.id): a.skill_ids for c in courses for a in c.assessments}
            done: dict[str, list[str]] = {}
            for learner, course_id, assessment_id in uow.skill_ratings.completed_assessments(
                org.id
            ):
                for sid in measures.get((course_id, assessment_id), ()):
                    done.setdefault(sid, []).append(learner)
            tagged_ids = sorted({c.id for c in courses if c.assessments})
            events: dict[tuple[str, str], list[LearningEvent]] = {}
            if tagged_ids:
                learners = [lr.id for lr in uow.learners.list_for_organization(org.id)]
                for e in uow.activity.events_for(learners, tagged_ids):
                    events.setdefault((e.learner_id, e.course_id), []).append(e)
        rows = []
        for skill in skills:
            completions = done.get(skill.id, [])
            people = len(set(completions))
            course_ids = {c.id for c in courses if tagged(c, skill.id)}
            per_learner: dict[str, float] = {}
            for (learner, course_id), found in events.items():
                if course_id in course_ids:
                    per_learner[learner] = per_learner.get(learner, 0.0) + seconds_until(found)
            total = hours(math.fsum(per_learner.values()))
            rows.append(SkillEffort(
                skill.id, skill.domain, skill.name,
                len(completions), people, len(completions) / people if people else 0.0,
                total, len(per_learner), total / len(per_learner) if per_learner else 0.0,
            ))  # fmt: skip
        return EffortBySkill(rows)

    def relevant_courses(
        self,
        actor: Actor,
        organization_id: str,
        program_id: str,
        *,
        skill_id: str | None = None,
        settings: EloSettings | None = None,
    ) -> RelevantCourses:
        """The courses the program offers that teach each skill, per level, most relevant first.

        Offered courses are those in the program's curriculum collections, directly or through
        a specialization (guide: "Courses displayed are restricted to the ones that your
        learners have access to"). A course teaches a skill when one of its assessments
        measures it; its relevance is :func:`~learnprog.model.skills.course_relevance` (the
        share of its assessment weight measuring the skill) and its level is
        :func:`~learnprog.model.skills.teaching_level` (the score of its assessments' mean
        stored difficulty in the skill, cut at ``settings.cut_points``). The level decides
        which column a course is ranked in; within a level, courses rank by relevance, then
        name. Skills no offered course teaches are left out.

        Args:
            actor: an organization admin.
            organization_id: the organization.
            program_id: the program whose curriculum limits the courses.
            skill_id: one skill, or every skill.
            settings: the level cut points (default :class:`EloSettings`).

        Returns:
            One row per skill, by domain and name.

        Raises:
            PermissionDeniedError: not an organization admin.
            NotFoundError: no such program in the organization.
        """
        chosen = settings or EloSettings()
        with self._as_org_admin(actor, organization_id, "read skills analytics") as (uow, org):
            program = uow.programs.get(record_id(program_id, field="program_id"))
            if program.organization_id != org.id:
                raise NotFoundError("program", program_id)
            offered: dict[str, None] = {}
            for collection in uow.collections.list_for_program(program.id):
                for entry in collection.entries:
                    if entry.kind is EntryKind.COURSE:
                        offered[entry.target_id] = None
                    else:
                        spec = uow.specializations.get(entry.target_id)
                        offered.update(dict.fromkeys(spec.course_ids))
            courses = [c for c in uow.courses.list_for_organization(org.id) if c.id in offered]
            skills = uow.skills.list_for_organization(org.id)
            if skill_id is not None:
                skills = [s for s in skills if s.id == record_id(skill_id, field="skill_id")]
            stored = {(d.course_id, d.assessment_id): d.difficulty
                      for d in uow.skill_ratings.difficulties(org.id)}  # fmt: skip
        rows = []
        for skill in skills:
            per: dict[Level, list[RelevantCourse]] = {lv: [] for lv in Level}
            for course in courses:
                if not tagged(course, skill.id):
                    continue
                found = _relevant(course, skill.id, stored, chosen)
                per[found.level].append(found)
            if any(per.values()):
                ranked = {lv: tuple(sorted(cs, key=lambda c: (-c.relevance, c.name, c.course_id)))
                          for lv, cs in per.items()}  # fmt: skip
                rows.append(SkillCourses(skill.id, skill.domain, skill.name, ranked))
        return RelevantCourses(rows)

    # --- the industry benchmark -----------------------------------------------------------------

    def industry_benchmark(
        self,
        actor: Actor,
        organization_id: str,
        reference: ReferenceGroup,
        *,
        settings: EloSettings | None = None,
    ) -> IndustryBenchmark:
        """The organization's percentile rank per skill among a reference group's companies.

        The organization's score in a skill is the mean 0-500 score of its rated learners in
        it (stored ratings; a learner with fewer than ``settings.min_attempts`` attempts is
        unrated and left out). It is ranked against the companies' scores in the skill of the
        same domain and name: ``100 * (below + 0.5 * equal) / N``
        (:func:`~learnprog.model.skills.percentile_rank`), and banded at 25, 50 and 75
        (:func:`~learnprog.model.skills.band`). Source: guide, "Current Industry Benchmark".
        Skills without a rated learner or without a company in the group are left out.

        Args:
            actor: an organization admin.
            organization_id: the organization.
            reference: the group (:func:`read_reference_group`, narrowed with ``select``).
            settings: the minimum attempts (default :class:`EloSettings`).

        Returns:
            One row per skill, by domain and name.

        Raises:
            PermissionDeniedError: not an organization admin.
            ValidationError: ``reference`` is not a :class:`ReferenceGroup`.
        """
        chosen = _settings(settings)
        if not isinstance(reference, ReferenceGroup):
            raise ValidationError("a ReferenceGroup is required", field="reference")
        with self._as_org_admin(actor, organization_id, "read skills analytics") as (uow, org):
            skills = uow.skills.list_for_organization(org.id)
            by_skill: dict[str, list[float]] = {}
            for r in uow.skill_ratings.ratings(org.id):
                if r.level(chosen) is not None:
                    by_skill.setdefault(r.skill_id, []).append(score(r.theta))
        rows = []
        for skill in skills:
            group = reference.skill_scores(skill.domain, skill.name)
            mine = by_skill.get(skill.id)
            if not group or not mine:
                continue
            average = math.fsum(mine) / len(mine)
            rank = percentile_rank(average, group)
            rows.append(BenchmarkRow(
                skill.id, skill.domain, skill.name, average, len(mine), len(group),
                math.fsum(group) / len(group), rank, band(rank),
            ))  # fmt: skip
        return IndustryBenchmark(rows)

    def benchmark_over_time(
        self,
        actor: Actor,
        organization_id: str,
        reference: ReferenceGroup,
        skill_id: str,
        *,
        dates: Sequence[date] | None = None,
        settings: EloSettings | None = None,
    ) -> BenchmarkOverTime:
        """The benchmark of one skill at each date (guide, "Industry Benchmark Over Time").

        Scores as of a date are found by replaying: every stored attempt of the organization
        submitted before the next UTC midnight is scored from scratch in ``(submitted_at,
        id)`` order with ``settings`` (as :meth:`score` does), and the learners rated at that
        moment are averaged and ranked as in :meth:`industry_benchmark`. The stored ratings are
        neither read nor changed, so the last point equals :meth:`industry_benchmark` when the
        ratings were scored with the same settings. The reference group is one snapshot: its
        scores are the same at every date.

        Args:
            actor: an organization admin.
            organization_id: the organization.
            reference: the reference group.
            skill_id: the skill.
            dates: the UTC dates wanted; default every date with an attempt measuring the
                skill. Dates with no rated learner, or a skill no company has, give no point.
            settings: the model's parameters (default :class:`EloSettings`).

        Returns:
            Points by date.

        Raises:
            PermissionDeniedError: not an organization admin.
            NotFoundError: no such skill in the organization.
            ValidationError: ``reference`` is not a :class:`ReferenceGroup`, or a date is not
                a date.
        """
        chosen = _settings(settings)
        if not isinstance(reference, ReferenceGroup):
            raise ValidationError("a ReferenceGroup is required", field="reference")
        wanted_dates = None if dates is None else sorted(set(_dates(dates)))
        with self._as_org_admin(actor, organization_id, "read skills analytics") as (uow, org):
            skill = uow.skills.get(record_id(skill_id, field="skill_id"))
            if skill.organization_id != org.id:
                raise NotFoundError("skill", skill_id)
            items = self._items(uow, org.id)
            attempts = [
                ScoredAttempt(a.learner_id, f"{a.course_id}:{a.assessment_id}", found[0],
                              a.grade, found[1], a.submitted_at, found[2])
                for a in uow.skill_ratings.attempts_after(org.id, None)
                if (found := items.get(f"{a.course_id}:{a.assessment_id}")) and found[0]
            ]  # fmt: skip
        group = reference.skill_scores(skill.domain, skill.name)
        if not group:
            return BenchmarkOverTime()
        if wanted_dates is None:
            wanted_dates = sorted({a.at.date() for a in attempts if skill.id in a.skills})
        state = EloState()
        learners: set[str] = set()
        points = []
        index = 0
        for day in wanted_dates:
            end = datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)
            start = index
            while index < len(attempts) and attempts[index].at < end:
                if skill.id in attempts[index].skills:
                    learners.add(attempts[index].learner_id)
                index += 1
            state.replay(attempts[start:index], chosen)  # the day's attempts, in one pass
            rated = [score(theta) for learner in learners
                     for theta, n in [state.rating(learner, skill.id)]
                     if level(theta, n, chosen) is not None]  # fmt: skip
            if rated:
                average = math.fsum(rated) / len(rated)
                rank = percentile_rank(average, group)
                industry = math.fsum(group) / len(group)
                points.append(BenchmarkPoint(day, average, len(rated), industry, rank, band(rank)))
        return BenchmarkOverTime(points)

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
            ConcurrencyError: the database rolled the import back (a deadlock with a
                concurrent writer); nothing of it is stored: call again.
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
                except ConcurrencyError:
                    raise  # the import was rolled back (a deadlock), not this line refused
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
    ) -> Leaderboard:
        """The skill mastery leaderboard: learners at INTERMEDIATE or ADVANCED, by score.

        Rule (guide, "Skill Mastery Leaderboard": "which learners have currently attained
        intermediate or advanced skill proficiency"): a learner's current level in a skill
        puts them on it; BEGINNER and unrated learners are left off. Highest score first.

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
                r for r in uow.skill_ratings.ratings(org.id, wanted) if r.level(chosen) in _MASTERY
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
        return Leaderboard(rows)

    def proficiency_by_skill(
        self,
        actor: Actor,
        organization_id: str,
        *,
        top: int = 10,
        settings: EloSettings | None = None,
    ) -> ProficiencyBySkill:
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
        return ProficiencyBySkill(
            SkillLevels(sid, skills[sid].domain, skills[sid].name, per) for sid, per in ranked
        )
