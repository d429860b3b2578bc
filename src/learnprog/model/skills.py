"""SkillScorer's model: Elo-style proficiency per learner and skill, and assessment difficulty.

Sources: Pelánek, "Applications of the Elo rating system in adaptive educational systems",
Computers & Education 98 (2016) — the learner-item Elo update with an uncertainty function
``K(n) = a / (1 + b n)`` and the guessing-adjusted prediction; Reddick, "Using a Glicko-based
Algorithm to Measure In-Course Learning", EDM 2019 — Coursera's per-learner, per-skill rating
from in-course assessments with item difficulty calibrated jointly.

The model, per attempt in time order (every function here is pure):

* prediction ``P = g + (1 - g) * sigmoid(theta - d)``, with ``g = 0`` or ``1/k`` for a
  ``k``-option question;
* outcome ``s`` in ``[0, 1]``: the grade as a fraction (partial credit), or 1/0 at the pass mark;
* ``e = s - P``; ``theta += K_learner(n_learner) * e`` for each skill the assessment measures;
  ``d -= K_item(n_item) * e`` (by default from a learner's first attempt at the item only).

Scores map ``theta`` to 0-500 by ``500 * sigmoid(theta)`` (monotone; ``theta = 0`` is 250);
levels cut that scale at 150 and 350 by default; a learner with fewer than 3 rated attempts in a
skill is unrated, not a beginner.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from math import exp
from typing import NamedTuple

from attrs import Attribute, define, field, frozen

from learnprog.errors import ValidationError
from learnprog.model._rules import finite_number, required_text, whole_number
from learnprog.model.activity import LearningEvent
from learnprog.model.catalog import Course
from learnprog.model.progress import learning_seconds


def sigmoid(x: float) -> float:
    """The logistic function ``1 / (1 + exp(-x))``, computed without overflow."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def predict(theta: float, difficulty: float, guess: float = 0.0) -> float:
    """The probability of success ``g + (1 - g) * sigmoid(theta - d)``, in ``[g, 1]``."""
    return guess + (1.0 - guess) * sigmoid(theta - difficulty)


def k_factor(n: int, a: float, b: float) -> float:
    """Pelánek's uncertainty function ``K(n) = a / (1 + b n)``: ``a`` at first, then smaller."""
    return a / (1.0 + b * n)


class Level(enum.StrEnum):
    """A skill level on the 0-500 score (guide, "Learner Proficiency by Top Skill")."""

    BEGINNER = "beginner"
    INTERMEDIATE = "intermediate"
    ADVANCED = "advanced"


def _rate(instance: object, attribute: Attribute[float], value: object) -> None:
    """Check a K(n) parameter: a finite number from 0 to 1,000,000 (the field named)."""
    finite_number(value, field=attribute.name, minimum=0.0, maximum=1e6)


@frozen
class EloSettings:
    """The scorer's parameters (defaults from the issue; tune them with the benchmark script).

    Attributes:
        learner_a: ``a`` of the learners' K(n).
        learner_b: ``b`` of the learners' K(n).
        item_a: ``a`` of the assessments' K(n).
        item_b: ``b`` of the assessments' K(n).
        partial_credit: the outcome is the grade as a fraction (True) or 1/0 at the pass mark.
        first_attempts_only: an assessment's difficulty learns from first attempts only.
        cut_points: the scores where INTERMEDIATE and ADVANCED start (0-500, increasing).
        min_attempts: rated attempts a learner needs in a skill to have a level.
    """

    learner_a: float = field(default=1.0, validator=_rate)
    learner_b: float = field(default=0.05, validator=_rate)
    item_a: float = field(default=1.0, validator=_rate)
    item_b: float = field(default=0.05, validator=_rate)
    partial_credit: bool = True
    first_attempts_only: bool = True
    cut_points: tuple[float, float] = (150.0, 350.0)
    min_attempts: int = 3

    def __attrs_post_init__(self) -> None:
        points: object = self.cut_points
        if not isinstance(points, tuple) or len(points) != 2:
            raise ValidationError(
                "cut points are two increasing scores in 0-500", field="cut_points"
            )
        low, high = (finite_number(p, field="cut_points") for p in points)
        if not 0 <= low < high <= 500:
            raise ValidationError(
                "cut points are two increasing scores in 0-500", field="cut_points"
            )
        whole_number(self.min_attempts, field="min_attempts", minimum=0, maximum=1000)


def score(theta: float) -> float:
    """Map a rating to the 0-500 scale: ``500 * sigmoid(theta)`` (monotone; 0 is 250)."""
    return 500.0 * sigmoid(theta)


def level_thresholds(settings: EloSettings) -> tuple[float, float]:
    """The ratings at or above which :func:`level` may say INTERMEDIATE and ADVANCED.

    A rating below the first is BEGINNER, whatever its attempts: a quick test before the exact
    :func:`level`. Slightly under the exact logits (by 1e-9), so rounding never hides a level.
    """

    def logit(cut: float) -> float:
        p = cut / 500.0
        if p >= 1.0:
            return math.inf
        odds = p / (1.0 - p)
        if odds <= 0.0:
            return -math.inf
        return math.log(odds) - 1e-9

    low, high = settings.cut_points
    return logit(low), logit(high)


def level(theta: float, attempts: int, settings: EloSettings) -> Level | None:
    """Return the level of a rating, or ``None`` (unrated) below ``min_attempts`` attempts."""
    if attempts < settings.min_attempts:
        return None
    value = score(theta)
    low, high = settings.cut_points
    if value >= high:
        return Level.ADVANCED
    if value >= low:
        return Level.INTERMEDIATE
    return Level.BEGINNER


class ScoredAttempt(NamedTuple):
    """One attempt as the scorer sees it.

    A named tuple, not an attrs class: the scorer makes one per stored attempt (millions), and
    the values come from validated storage or from the caller's own replay.

    Attributes:
        learner_id: the learner.
        item: the assessment's key (course and assessment IDs).
        skills: the skill IDs the assessment measures.
        grade: 0-100 (percent).
        pass_mark: the assessment's pass mark, 0-100.
        at: when it was submitted. Attempts are scored in the order given; only
            :func:`rescore` sorts by it.
        guess: the guessing probability ``g`` (``1/k`` for a ``k``-option question, else 0).
        id: the stored attempt's record ID, or ``None``.
    """

    learner_id: str
    item: str
    skills: tuple[str, ...]
    grade: float
    pass_mark: float
    at: datetime
    guess: float = 0.0
    id: str | None = None

    def outcome(self, settings: EloSettings) -> float:
        """``s``: the grade as a fraction, or 1/0 at the pass mark."""
        if settings.partial_credit:
            return min(max(self.grade / 100.0, 0.0), 1.0)
        return 1.0 if self.grade >= self.pass_mark else 0.0


ScoringRow = tuple[str, str, float, str | None]
"""One stored attempt as the scorer reads it: ``(learner_id, item, grade, attempt ID)``."""

Facts = tuple[tuple[str, ...], float, float]
"""An assessment's ``(skills, pass mark, guessing probability)``, as :class:`ItemFacts`."""


class ItemFacts(NamedTuple):
    """What the scorer needs of an assessment (see :meth:`EloState.learn`).

    Attributes:
        skills: the skill IDs it measures (at least one).
        pass_mark: its pass mark, 0-100.
        guess: the guessing probability ``g`` (``1/k`` for ``k`` options, else 0).
    """

    skills: tuple[str, ...]
    pass_mark: float
    guess: float


class Learned(NamedTuple):
    """What :meth:`EloState.learn` went through: rows learned from, skipped, last ID."""

    learned: int
    skipped: int
    last_id: str | None


def _note_level(
    reached: dict[tuple[str, str], list[datetime | str | None]],
    key: tuple[str, str],
    now: Level | None,
    attempt_id: str | None,
) -> None:
    """Write ``attempt_id`` into the empty slots of the levels ``now`` has reached."""
    if now is None or now is Level.BEGINNER:
        return
    marks = reached.setdefault(key, [None, None])
    if marks[0] is None:
        marks[0] = attempt_id
    if marks[1] is None and now is Level.ADVANCED:
        marks[1] = attempt_id


@define
class EloState:
    """The ratings as they stand: mutable, updated in place one attempt at a time.

    Plain dicts of floats and ints (no objects per rating): scoring runs to millions of
    attempts.

    Attributes:
        thetas: ``(learner, skill) -> theta``.
        counts: ``(learner, skill) -> n``, the rated attempts.
        difficulties: ``item -> d``.
        item_counts: ``item -> n``, the attempts the difficulty learned from.
        seen: ``(learner, item)`` pairs with an attempt already scored.
    """

    thetas: dict[tuple[str, str], float] = field(factory=dict)
    counts: dict[tuple[str, str], int] = field(factory=dict)
    difficulties: dict[str, float] = field(factory=dict)
    item_counts: dict[str, int] = field(factory=dict)
    seen: set[tuple[str, str]] = field(factory=set)

    def set_rating(self, learner_id: str, skill_id: str, theta: float, attempts: int) -> None:
        """Load a stored rating."""
        self.thetas[(learner_id, skill_id)] = theta
        self.counts[(learner_id, skill_id)] = attempts

    def set_difficulty(self, item: str, difficulty: float, attempts: int) -> None:
        """Load a stored difficulty."""
        self.difficulties[item] = difficulty
        self.item_counts[item] = attempts

    def rated(self) -> Iterator[tuple[str, str, float, int]]:
        """Every ``(learner, skill, theta, n)``, sorted."""
        for key in sorted(self.thetas):
            yield key[0], key[1], self.thetas[key], self.counts[key]

    def update(self, attempt: ScoredAttempt, settings: EloSettings) -> float:
        """Score one attempt and return the prediction made before learning from it.

        The prediction is the mean over the attempt's skills of ``P(theta_skill, d)``.
        """
        return self.replay((attempt,), settings)[0]

    def replay(self, attempts: Iterable[ScoredAttempt], settings: EloSettings) -> list[float]:
        """Score attempts in the order given; return each prediction (before learning).

        Each attempt carries its own skills, pass mark and guessing probability; an attempt
        with no skills is rated under the skill ``""``. See :meth:`learn` for the loop.
        """
        items: dict[str, Facts] = {}
        predictions: list[float] = []

        def rows() -> Iterator[ScoringRow]:
            for a in attempts:
                items[a.item] = (a.skills or ("",), a.pass_mark, a.guess)
                yield a.learner_id, a.item, a.grade, a.id

        self.learn(rows(), items, settings, predictions=predictions)
        return predictions

    def learn(
        self,
        rows: Iterable[ScoringRow],
        items: Mapping[str, Facts],
        settings: EloSettings,
        *,
        reached: dict[tuple[str, str], list[datetime | str | None]] | None = None,
        predictions: list[float] | None = None,
    ) -> Learned:
        """Score attempt rows in the order given: the scorer's inner loop.

        The equations of the module docstring, inlined with the settings read once (rows are
        plain tuples, not objects, because stored attempts run to millions).

        Args:
            rows: ``(learner_id, item, grade 0-100, attempt ID or None)`` in time order.
            items: ``item -> ItemFacts`` (or the same plain tuple), read as each row is
                scored; a row whose item is not here (measuring no skill) is skipped.
            settings: the model's parameters.
            reached: if given, ``(learner, skill) -> [intermediate, advanced]``: where a rating
                first reaches a level (see :func:`level`) and the slot is still ``None``, the
                attempt's ID is written there (times kept from earlier calls stay).
            predictions: if given, each scored row's prediction (the mean over its skills of
                ``P``, before learning) is appended.

        Returns:
            The rows learned from, the rows skipped, and the last row's attempt ID.
        """
        a, b = settings.learner_a, settings.learner_b
        item_a, item_b = settings.item_a, settings.item_b
        partial, first_only = settings.partial_credit, settings.first_attempts_only
        # A level is first reached where a rating is first rated (n = min_attempts) at or
        # above it, or crosses it upward later: only then is the exact level() worked out.
        # The quick thresholds sit 1e-9 under the exact ones; a rating within 2e-9 above
        # them still counts as maybe below, so no rounding hides a crossing.
        low, high = level_thresholds(settings)
        low_up, high_up = low + 2e-9, high + 2e-9
        first_rated = max(settings.min_attempts, 1)
        thetas, counts, seen = self.thetas, self.counts, self.seen
        difficulties, item_counts = self.difficulties, self.item_counts
        learned = skipped = 0
        attempt_id: str | None = None
        for learner, item, grade, attempt_id in rows:
            facts = items.get(item)
            if facts is None:
                skipped += 1
                continue
            learned += 1
            skills, pass_mark, guess = facts
            d = difficulties.get(item, 0.0)
            if partial:  # s, as ScoredAttempt.outcome (inlined: the loop runs per attempt)
                s = 0.0 if grade <= 0.0 else 1.0 if grade >= 100.0 else grade / 100.0
            else:
                s = 1.0 if grade >= pass_mark else 0.0
            pair = (learner, item)
            first = pair not in seen
            if first:
                seen.add(pair)
            total_p = total_error = 0.0
            for skill in skills:
                key = (learner, skill)
                theta = was = thetas.get(key, 0.0)
                n = counts.get(key, 0) + 1
                x = theta - d
                if x >= 0:
                    p = 1.0 / (1.0 + exp(-x))
                else:
                    z = exp(x)
                    p = z / (1.0 + z)
                if guess:
                    p = guess + (1.0 - guess) * p
                error = s - p
                theta += a / (1.0 + b * (n - 1)) * error
                thetas[key] = theta
                counts[key] = n
                total_p += p
                total_error += error
                if (
                    reached is not None
                    and theta >= low
                    and (
                        n == first_rated
                        or (n > first_rated and (was < low_up or (theta >= high and was < high_up)))
                    )
                ):
                    _note_level(reached, key, level(theta, n, settings), attempt_id)
            count = len(skills)
            if first or not first_only:
                n_item = item_counts.get(item, 0)
                difficulties[item] = d - item_a / (1.0 + item_b * n_item) * total_error / count
                item_counts[item] = n_item + 1
            if predictions is not None:
                predictions.append(total_p / count)
        return Learned(learned, skipped, attempt_id)

    def rating(self, learner_id: str, skill_id: str) -> tuple[float, int]:
        """``(theta, rated attempts)`` of a learner in a skill; ``(0, 0)`` before any."""
        key = (learner_id, skill_id)
        return self.thetas.get(key, 0.0), self.counts.get(key, 0)

    def difficulty(self, item: str) -> tuple[float, int]:
        """``(d, attempts learned from)`` of an assessment; ``(0, 0)`` before any."""
        return self.difficulties.get(item, 0.0), self.item_counts.get(item, 0)


def rescore(attempts: Iterable[ScoredAttempt], settings: EloSettings) -> EloState:
    """Score attempts from scratch, ordered by time (ties by learner and item)."""
    state = EloState()
    state.replay(sorted(attempts, key=lambda a: (a.at, a.learner_id, a.item)), settings)
    return state


def guess_of(options: int | None) -> float:
    """The guessing probability of an assessment: ``1/k`` for ``k`` options, else 0."""
    return 0.0 if not options else 1.0 / options


def levels(state: EloState, settings: EloSettings) -> Mapping[tuple[str, str], Level | None]:
    """Every rated (learner, skill) pair's level."""
    return {
        (learner, skill): level(theta, n, settings) for learner, skill, theta, n in state.rated()
    }


class AttemptRow(NamedTuple):
    """A stored assessment attempt as the scorer reads it (see ``AssessmentAttempt``)."""

    learner_id: str
    course_id: str
    assessment_id: str
    grade: float
    submitted_at: datetime
    id: str


@frozen
class SkillRating:
    """A learner's stored rating in one skill.

    Attributes:
        organization_id: the organization.
        learner_id: the learner.
        skill_id: the skill.
        theta: the rating (logit scale; the function :func:`learnprog.model.skills.score`
            maps it to the reported 0-500 scale).
        attempts: rated attempts so far.
        intermediate_at: when the rating first reached INTERMEDIATE or higher, or ``None``.
        advanced_at: when it first reached ADVANCED, or ``None``.
    """

    organization_id: str
    learner_id: str
    skill_id: str
    theta: float
    attempts: int
    intermediate_at: datetime | None = None
    advanced_at: datetime | None = None

    def level(self, settings: EloSettings) -> Level | None:
        """The rating's level, or ``None`` while unrated."""
        return level(self.theta, self.attempts, settings)


@frozen
class ItemDifficulty:
    """An assessment's stored difficulty ``d`` and the attempts it learned from."""

    organization_id: str
    course_id: str
    assessment_id: str
    difficulty: float
    attempts: int


@frozen
class ScoringMark:
    """How far an organization's attempts have been scored.

    Attributes:
        organization_id: the organization.
        scored: attempts scored so far.
        last_at: the submission time of the last attempt scored, or ``None``.
        last_id: its ID, or ``None`` (attempts are scored in ``(submitted_at, id)`` order).
    """

    organization_id: str
    scored: int = 0
    last_at: datetime | None = None
    last_id: str | None = None


# --- skills analytics (guide, "Analytics Reports", Skills Development) -------------------------


def tagged(course: Course, skill_id: str) -> bool:
    """True when one of the course's assessments measures the skill (the course is tagged)."""
    return any(skill_id in a.skill_ids for a in course.assessments)


def course_relevance(course: Course, skill_id: str) -> float:
    """How much of a course teaches a skill: the share of its assessment weight measuring it.

    ``relevance = sum(w_a for a measuring the skill) / sum(w_a for every a)``, in ``[0, 1]``,
    with ``w_a`` the assessment's weight, or 1 for every assessment when all weigh 0; a course
    without assessments is 0. This stands in for the guide's tagging model ("Most Relevant
    Courses per Skill Level": relevance of each course to teaching that skill), with the
    assessments' skill tags as the instructor's report of what the course teaches.

    Example: quizzes of weight 1, 1 and 1 measuring SQL and an essay of weight 1 that does not
    give 3 / 4 = 0.75.
    """
    weights = [a.weight for a in course.assessments]
    if not any(weights):
        weights = [1.0] * len(course.assessments)
    total = math.fsum(weights)
    if total == 0:
        return 0.0
    part = math.fsum(w for a, w in zip(course.assessments, weights, strict=True)
                     if skill_id in a.skill_ids)  # fmt: skip
    return part / total


def teaching_level(difficulties: Sequence[float], settings: EloSettings) -> Level:
    """The level a course teaches a skill at, from its assessments' difficulties.

    The level of the score ``500 * sigmoid(mean d)``: the score of a learner with an even
    chance on the course's assessments measuring the skill (``P = 0.5`` where ``theta = d``,
    Pelánek 2016), cut at ``settings.cut_points``. No minimum number of attempts applies; an
    assessment not yet calibrated counts with the model's starting difficulty 0 (score 250,
    INTERMEDIATE by default).

    Args:
        difficulties: ``d`` of each assessment of the course that measures the skill.
        settings: the cut points.
    """
    mean = math.fsum(difficulties) / len(difficulties) if difficulties else 0.0
    value = score(mean)
    low, high = settings.cut_points
    if value >= high:
        return Level.ADVANCED
    if value >= low:
        return Level.INTERMEDIATE
    return Level.BEGINNER


def seconds_until(events: Iterable[LearningEvent], until: datetime | None = None) -> float:
    """Learning seconds in a set of item events, counting the events at or before ``until``.

    Each course's events make their own sessions (:func:`learnprog.model.progress.
    learning_seconds`: consecutive events at most 60 minutes apart), and the courses' seconds
    add up. "Up to" a time keeps only the events at or before it, so a session running across
    ``until`` counts up to its last event at or before ``until``; nothing is interpolated.

    Args:
        events: item events of one learner (any courses, any order).
        until: an aware UTC time, or ``None`` for every event.

    Returns:
        Seconds, a float of 0 or more.
    """
    by_course: dict[str, list[datetime]] = {}
    for e in events:
        if until is None or e.at <= until:
            by_course.setdefault(e.course_id, []).append(e.at)
    return math.fsum(learning_seconds(times) for _, times in sorted(by_course.items()))


# --- the industry benchmark (guide, "Current Industry Benchmark") ------------------------------


class Band(enum.StrEnum):
    """A percentile rank's quartile band (guide, "Current Industry Benchmark")."""

    LAGGING = "lagging"
    EMERGING = "emerging"
    COMPETITIVE = "competitive"
    CUTTING_EDGE = "cutting-edge"


def percentile_rank(value: float, group: Sequence[float]) -> float:
    """The percentile rank of ``value`` among a reference group's scores, 0-100.

    ``100 * (below + 0.5 * equal) / N``: the companies scoring below count whole, those scoring
    exactly the same count half (the mid-rank convention for ties). One company scoring the
    same gives 50.

    Args:
        value: the organization's score (0-500).
        group: the companies' scores (0-500), at least one.

    Raises:
        ValidationError: an empty group.
    """
    if not group:
        raise ValidationError("a reference group needs at least one company", field="group")
    below = sum(1 for g in group if g < value)
    equal = sum(1 for g in group if g == value)
    return 100.0 * (below + 0.5 * equal) / len(group)


def band(percentile: float) -> Band:
    """The band of a percentile rank (0-100).

    At most 25 lagging, above 25 up to 50 emerging, above 50 up to 75 competitive, above 75
    cutting-edge (guide, "Current Industry Benchmark": "0-25% (lagging), 26-50% (emerging),
    51-75% (competitive), 76-100% (cutting-edge)"); exactly 25, 50 and 75 fall in the lower
    band.
    """
    if percentile <= 25:
        return Band.LAGGING
    if percentile <= 50:
        return Band.EMERGING
    if percentile <= 75:
        return Band.COMPETITIVE
    return Band.CUTTING_EDGE


#: The score scale of ratings and of a reference group: :func:`score` maps a rating to 0-500.
SCORE_SCALE = (0.0, 500.0)


def _one_line(instance: object, attribute: Attribute[str], value: object) -> None:
    required_text(value, field=attribute.name, max_length=200)


def _reference_score(value: object) -> float:
    low, high = SCORE_SCALE
    return finite_number(value, field="score", minimum=low, maximum=high)


@frozen
class ReferenceScore:
    """One company's average score in one skill, in an industry benchmark's reference group.

    Checked on construction, however it is made (:func:`~learnprog.services.skills.
    read_reference_group` or directly), so a percentile rank is never computed from a text or
    NaN score.

    Attributes:
        company: the company's name (one line, 1-200 characters, not blank; so are the other
            text fields).
        geography: its geography (``"Europe"``).
        size: its size band (``"1000-4999"``).
        industry: its industry.
        domain: the skill's domain.
        skill: the skill's name.
        score: the company's learners' average score on the 0-500 scale of :func:`score`
            (:data:`SCORE_SCALE`), as a float; an ``int`` is taken.

    Raises:
        ValidationError: a blank or multi-line text field, or a score that is not a finite
            int or float in 0-500 (``"300"``, NaN, infinity, a ``bool``), the field named.
    """

    company: str = field(validator=_one_line)
    geography: str = field(validator=_one_line)
    size: str = field(validator=_one_line)
    industry: str = field(validator=_one_line)
    domain: str = field(validator=_one_line)
    skill: str = field(validator=_one_line)
    score: float = field(converter=_reference_score)


def _reference_scores(values: object) -> tuple[ReferenceScore, ...]:
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise ValidationError(
            f"a collection of ReferenceScores is required, not {type(values).__name__}",
            field="scores",
            value=values,
        )
    scores = tuple(values)
    for index, item in enumerate(scores):
        if not isinstance(item, ReferenceScore):
            raise ValidationError(
                f"a ReferenceScore is required, not {type(item).__name__}",
                field=f"scores[{index}]",
                value=item,
            )
    return scores


@frozen
class ReferenceGroup:
    """The companies an organization is compared with.

    Source: guide, "Current Industry Benchmark" ("the reference group you select (a
    combination of geo, company size, and industry)").

    Attributes:
        scores: every company's score per skill (any collection of :class:`ReferenceScore`,
            kept as a tuple).

    Raises:
        ValidationError: ``scores`` is not a collection of :class:`ReferenceScore` (the
            position of the first other item named, ``scores[3]``).
    """

    scores: tuple[ReferenceScore, ...] = field(converter=_reference_scores)

    def select(
        self, *, geography: str | None = None, size: str | None = None, industry: str | None = None
    ) -> ReferenceGroup:
        """The companies matching every criterion given (``None`` matches any)."""
        return ReferenceGroup(tuple(
            r for r in self.scores
            if (geography is None or r.geography == geography)
            and (size is None or r.size == size)
            and (industry is None or r.industry == industry)
        ))  # fmt: skip

    def skill_scores(self, domain: str, skill: str) -> list[float]:
        """The companies' scores in one skill."""
        return [r.score for r in self.scores if (r.domain, r.skill) == (domain, skill)]


# --- validation ------------------------------------------------------------------------------


def auc(predictions: Sequence[float], outcomes: Sequence[bool]) -> float:
    """The area under the ROC curve of predictions against binary outcomes, 0-1.

    Rank-based (Mann-Whitney): ``(R_pos - n_pos (n_pos + 1) / 2) / (n_pos n_neg)`` with
    ``R_pos`` the sum of the positives' ranks among all predictions, tied predictions sharing
    their mean rank — so a tie between a positive and a negative counts half, and a constant
    predictor scores 0.5. The measure Pelánek (2016) uses to compare Elo variants.

    Args:
        predictions: predicted probabilities (any real scores: only their order matters).
        outcomes: True for a success, one per prediction.

    Returns:
        The AUC: 1 when every success is predicted above every failure, 0.5 for no skill.

    Raises:
        ValidationError: lengths differ, or the outcomes are all successes or all failures.
    """
    if len(predictions) != len(outcomes):
        raise ValidationError("one outcome per prediction is required", field="outcomes")
    positives = sum(1 for o in outcomes if o)
    negatives = len(outcomes) - positives
    if positives == 0 or negatives == 0:
        raise ValidationError("the AUC needs successes and failures", field="outcomes")
    order = sorted(range(len(predictions)), key=lambda i: predictions[i])
    rank_sum = 0.0
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and predictions[order[end + 1]] == predictions[order[start]]:
            end += 1
        mean_rank = (start + end) / 2 + 1  # ranks from 1
        rank_sum += mean_rank * sum(1 for i in order[start : end + 1] if outcomes[i])
        start = end + 1
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)
