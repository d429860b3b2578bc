"""The Elo model's properties (Pelánek 2016) and recovery of true parameters on simulated data."""

from __future__ import annotations

import itertools
import math
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from learnprog.errors import ValidationError
from learnprog.model.activity import EventKind, LearningEvent
from learnprog.model.catalog import Assessment, Course
from learnprog.model.skills import (
    Band,
    EloSettings,
    EloState,
    ItemFacts,
    Level,
    ScoredAttempt,
    auc,
    band,
    course_relevance,
    k_factor,
    level,
    level_thresholds,
    percentile_rank,
    predict,
    rescore,
    score,
    seconds_until,
    sigmoid,
    tagged,
    teaching_level,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
reals = st.floats(min_value=-8, max_value=8, allow_nan=False)
grades = st.floats(min_value=0, max_value=100, allow_nan=False)


def attempt(grade: float, *, learner: str = "ana", item: str = "q1", minute: int = 0,
            skills: tuple[str, ...] = ("sql",), guess: float = 0.0) -> ScoredAttempt:  # fmt: skip
    return ScoredAttempt(learner, item, skills, grade, 80.0, T0 + timedelta(minutes=minute), guess)


@given(reals)
def test_sigmoid_is_symmetric(x: float) -> None:
    assert sigmoid(-x) == pytest.approx(1 - sigmoid(x))


@given(reals, reals, st.sampled_from([0.0, 0.25, 0.5]))
def test_predictions_lie_between_the_guess_and_one(theta: float, d: float, g: float) -> None:
    assert g <= predict(theta, d, g) <= 1.0


def test_k_starts_at_a_and_decreases() -> None:
    values = [k_factor(n, 1.0, 0.05) for n in range(50)]
    assert values[0] == 1.0
    assert all(b < a for a, b in itertools.pairwise(values))


@given(grades)
def test_with_equal_k_the_learners_gain_is_the_items_loss(grade: float) -> None:
    state = EloState()
    state.update(attempt(grade), EloSettings())
    theta, _ = state.rating("ana", "sql")
    d, _ = state.difficulty("q1")
    assert theta == pytest.approx(-d)


@given(grades, reals, reals)
def test_the_update_follows_the_sign_of_the_error_and_is_bounded_by_k(
    grade: float, theta0: float, d0: float
) -> None:
    settings = EloSettings()
    state = EloState()
    state.set_rating("ana", "sql", theta0, 0)
    state.set_difficulty("q1", d0, 0)
    p = predict(theta0, d0)
    state.update(attempt(grade), settings)
    theta, _ = state.rating("ana", "sql")
    d, _ = state.difficulty("q1")
    s = grade / 100
    if s > p:
        assert (theta > theta0, d < d0) == (True, True)
    elif s < p:
        assert (theta < theta0, d > d0) == (True, True)
    assert abs(theta - theta0) <= k_factor(0, 1.0, 0.05) + 1e-12


def test_an_outcome_equal_to_the_prediction_changes_nothing() -> None:
    state = EloState()
    state.update(attempt(50.0), EloSettings())  # P = 0.5 at theta = d = 0
    assert state.rating("ana", "sql") == (0.0, 1)
    assert state.difficulty("q1") == (0.0, 1)


def test_only_first_attempts_move_the_difficulty_by_default() -> None:
    state = EloState()
    settings = EloSettings()
    state.update(attempt(100.0, minute=0), settings)
    after_first = state.difficulty("q1")
    state.update(attempt(0.0, minute=5), settings)
    assert state.difficulty("q1") == after_first
    every = EloState()
    for m, g in ((0, 100.0), (5, 0.0)):
        every.update(attempt(g, minute=m), EloSettings(first_attempts_only=False))
    assert every.difficulty("q1")[1] == 2


def test_an_assessment_of_two_skills_updates_both() -> None:
    state = EloState()
    state.update(attempt(100.0, skills=("sql", "python")), EloSettings())
    assert state.rating("ana", "sql")[0] > 0
    assert state.rating("ana", "sql") == state.rating("ana", "python")


def test_pass_mark_outcomes_and_guessing() -> None:
    binary = EloSettings(partial_credit=False)
    assert attempt(80.0).outcome(binary) == 1.0
    assert attempt(79.99).outcome(binary) == 0.0
    assert attempt(80.0).outcome(EloSettings()) == 0.8
    state = EloState()
    p = state.update(attempt(100.0, guess=0.25), binary)
    assert p == pytest.approx(0.25 + 0.75 * 0.5)


def test_replaying_gives_identical_ratings_and_incremental_equals_rescoring() -> None:
    rng = random.Random(3)
    attempts = [
        attempt(rng.uniform(0, 100), learner=f"l{rng.randrange(20)}", item=f"q{rng.randrange(10)}",
                minute=i, skills=(f"s{rng.randrange(3)}",))
        for i in range(500)
    ]  # fmt: skip
    settings = EloSettings()
    once, twice = rescore(attempts, settings), rescore(attempts, settings)
    assert once == twice
    incremental = EloState()
    incremental.replay(attempts[:200], settings)
    incremental.replay(attempts[200:], settings)
    assert incremental == once


def test_scores_levels_and_the_unrated() -> None:
    settings = EloSettings()
    assert score(0.0) == 250.0
    assert 0 <= score(-50) < score(50) <= 500
    assert level(0.0, 2, settings) is None  # fewer than 3 attempts: unrated
    assert level(0.0, 3, settings) is Level.INTERMEDIATE
    assert level(math.log(350 / 150), 3, settings) is Level.ADVANCED  # score exactly 350
    assert level(-math.log(350 / 150) - 1e-9, 3, settings) is Level.BEGINNER
    with pytest.raises(ValidationError, match="cut points"):
        EloSettings(cut_points=(300.0, 200.0))
    with pytest.raises(ValidationError, match="learner_a"):
        EloSettings(learner_a=float("nan"))


def _ranks(values: list[float]) -> list[float]:
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    for rank, index in enumerate(order):
        ranks[index] = float(rank)
    return ranks


def _spearman(a: list[float], b: list[float]) -> float:
    ra, rb = _ranks(a), _ranks(b)
    mean = (len(a) - 1) / 2
    cov = sum((x - mean) * (y - mean) for x, y in zip(ra, rb, strict=True))
    var = sum((x - mean) ** 2 for x in ra)
    return cov / var


def test_recovery_of_true_abilities_and_difficulties_on_simulated_data() -> None:
    """2,000 learners, 200 items, 50 items each, outcomes drawn from the model (fixed seeds)."""
    rng = random.Random(2016)
    abilities = [rng.gauss(0, 1) for _ in range(2000)]
    difficulties = [rng.gauss(0, 1) for _ in range(200)]
    attempts = []
    for learner, theta in enumerate(abilities):
        for item in rng.sample(range(200), 50):
            passed = rng.random() < sigmoid(theta - difficulties[item])
            attempts.append((learner, item, 100.0 if passed else 0.0))
    rng.shuffle(attempts)
    settings = EloSettings(partial_credit=False)
    state = EloState()
    for minute, (learner, item, grade) in enumerate(attempts):
        state.update(
            ScoredAttempt(f"l{learner}", f"q{item}", ("skill",), grade, 50.0,
                          T0 + timedelta(seconds=minute)),
            settings,
        )  # fmt: skip
    estimated = [state.rating(f"l{i}", "skill")[0] for i in range(2000)]
    hardness = [state.difficulty(f"q{i}")[0] for i in range(200)]
    assert _spearman(estimated, abilities) >= 0.90
    assert _spearman(hardness, difficulties) >= 0.97


def _course(*assessments: tuple[float, tuple[str, ...]]) -> Course:
    return Course.create(
        "org", course_id="C", slug="c", name="C", now=T0,
        assessments=[Assessment.create(f"A{i}", id=f"a{i}", weight=w, skill_ids=skills)
                     for i, (w, skills) in enumerate(assessments)],
    )  # fmt: skip


def test_course_relevance_is_the_share_of_assessment_weight_measuring_the_skill() -> None:
    course = _course((2, ("sql",)), (1, ("sql", "python")), (1, ()))
    assert course_relevance(course, "sql") == 0.75  # (2 + 1) / 4
    assert course_relevance(course, "python") == 0.25
    assert course_relevance(course, "excel") == 0.0
    assert tagged(course, "python")
    assert not tagged(course, "excel")
    assert course_relevance(_course((0, ("sql",)), (0, ())), "sql") == 0.5  # all weigh 0
    assert course_relevance(_course(), "sql") == 0.0


def test_the_teaching_level_is_the_level_of_the_mean_difficultys_score() -> None:
    settings = EloSettings()  # cut at 150 and 350: theta -0.8473 and +0.8473
    assert teaching_level([], settings) is Level.INTERMEDIATE  # d = 0: score 250
    assert teaching_level([-1.0, 0.0], settings) is Level.INTERMEDIATE  # mean -0.5: 188.8
    assert teaching_level([-2.0, -0.2], settings) is Level.BEGINNER  # mean -1.1: score 124.9
    assert teaching_level([1.0, 0.8], settings) is Level.ADVANCED  # mean 0.9: score 355.5
    assert teaching_level([math.log(350 / 150)], settings) is Level.ADVANCED  # exactly 350


def test_seconds_until_counts_each_courses_sessions_up_to_a_time() -> None:
    def event(course: str, minute: int) -> LearningEvent:
        return LearningEvent(f"{course}{minute}", "ana", course, "v", EventKind.STARTED,
                             T0 + timedelta(minutes=minute))  # fmt: skip

    events = [event("a", m) for m in (0, 30, 60, 200, 230)] + [event("b", m) for m in (40, 50)]
    assert seconds_until(events) == (60 + 30 + 10) * 60.0
    assert seconds_until(events, T0 + timedelta(minutes=45)) == 30 * 60.0  # b's 40 alone: 0
    assert seconds_until(events, T0 + timedelta(minutes=60)) == (60 + 10) * 60.0
    assert seconds_until([], T0) == 0.0


@pytest.mark.parametrize(
    ("value", "group", "percentile", "expected"),
    [
        (10.0, [10.0, 30.0], 25.0, Band.LAGGING),  # (0 + 0.5) / 2: exactly 25
        (20.0, [10.0, 30.0], 50.0, Band.EMERGING),  # (1 + 0) / 2: exactly 50
        (30.0, [10.0, 30.0], 75.0, Band.COMPETITIVE),  # (1 + 0.5) / 2: exactly 75
        (31.0, [10.0, 30.0], 100.0, Band.CUTTING_EDGE),
        (10.0, [10.0, 10.0, 10.0, 30.0], 37.5, Band.EMERGING),  # ties count half: 1.5 / 4
        (20.0, [10.0, 10.0, 20.0, 20.0, 30.0], 60.0, Band.COMPETITIVE),  # (2 + 1) / 5
        (5.0, [10.0], 0.0, Band.LAGGING),  # one company
        (10.0, [10.0], 50.0, Band.EMERGING),
        (15.0, [10.0], 100.0, Band.CUTTING_EDGE),
    ],
)
def test_percentile_rank_and_band(
    value: float, group: list[float], percentile: float, expected: Band
) -> None:
    assert percentile_rank(value, group) == percentile
    assert band(percentile) is expected


def test_bands_just_past_each_boundary_move_up_and_an_empty_group_is_refused() -> None:
    assert [band(p) for p in (0, 25.0001, 50.0001, 75.0001)] == list(Band)
    with pytest.raises(ValidationError, match="at least one company"):
        percentile_rank(1.0, [])


def test_auc_by_ranks_with_ties_counting_half() -> None:
    assert auc([0.1, 0.4, 0.35, 0.8], [False, False, True, True]) == 0.75  # 3 of 4 pairs
    assert auc([0.9, 0.8, 0.1], [True, True, False]) == 1.0
    assert auc([0.1, 0.2], [True, False]) == 0.0
    assert auc([0.5, 0.5, 0.5], [True, False, True]) == 0.5  # a constant predictor
    # pairs (pos, neg): (0.6, 0.6) tie 0.5, (0.6, 0.2) 1, (0.9, 0.6) 1, (0.9, 0.2) 1: 3.5 / 4
    assert auc([0.6, 0.9, 0.6, 0.2], [True, True, False, False]) == 0.875
    with pytest.raises(ValidationError, match="successes and failures"):
        auc([0.1, 0.2], [True, True])
    with pytest.raises(ValidationError, match="one outcome per prediction"):
        auc([0.1], [True, False])


@given(
    theta=st.floats(-20, 20),
    cuts=st.tuples(st.floats(0, 499), st.floats(1, 500)).filter(lambda c: c[0] < c[1]),
)
def test_level_thresholds_never_hide_a_level(theta: float, cuts: tuple[float, float]) -> None:
    settings = EloSettings(cut_points=cuts, min_attempts=0)
    low, high = level_thresholds(settings)
    found = level(theta, 5, settings)
    if theta < low:
        assert found is Level.BEGINNER
    if theta < high:
        assert found is not Level.ADVANCED
    assert low <= high


@given(
    seed=st.integers(0, 10_000),
    cuts=st.sampled_from([(150.0, 350.0), (0.0, 250.0), (250.0, 500.0), (100.0, 101.0)]),
    min_attempts=st.integers(0, 4),
    split=st.integers(0, 120),
)
def test_learn_notes_where_each_level_is_first_reached(
    seed: int, cuts: tuple[float, float], min_attempts: int, split: int
) -> None:
    """EloState.learn's crossing test agrees with level() worked out after every attempt,
    also when the rows come in two calls."""
    rng = random.Random(seed)
    settings = EloSettings(cut_points=cuts, min_attempts=min_attempts, partial_credit=False)
    items = {f"q{i}": ItemFacts((f"s{i % 2}",), 50.0, 0.0) for i in range(6)}
    rows = [
        (f"l{rng.randrange(3)}", f"q{rng.randrange(6)}", 100.0 * (rng.random() < 0.7), f"a{n:03d}")
        for n in range(120)
    ]
    expected: dict[tuple[str, str], list[str | None]] = {}
    brute = EloState()
    for row in rows:
        brute.learn([row], items, settings)
        for (learner, skill), theta in brute.thetas.items():
            found = level(theta, brute.counts[(learner, skill)], settings)
            marks = expected.setdefault((learner, skill), [None, None])
            if found in (Level.INTERMEDIATE, Level.ADVANCED) and marks[0] is None:
                marks[0] = row[3]
            if found is Level.ADVANCED and marks[1] is None:
                marks[1] = row[3]
    expected = {key: marks for key, marks in expected.items() if marks != [None, None]}
    state = EloState()
    reached: dict[tuple[str, str], list[datetime | str | None]] = {}
    first = state.learn(rows[:split], items, settings, reached=reached)
    second = state.learn(rows[split:], items, settings, reached=reached)
    assert reached == expected
    assert state == brute
    assert first.learned + second.learned == len(rows)
    assert (second if split < len(rows) else first).last_id == rows[-1][3]
    assert second.last_id is None or split < len(rows)


def test_learn_skips_rows_of_assessments_measuring_no_skill() -> None:
    items = {"q1": ItemFacts(("s",), 50.0, 0.0)}
    went = EloState().learn(
        [("l", "q1", 80.0, "a1"), ("l", "q9", 80.0, "a2"), ("l", "q1", 20.0, None)],
        items,
        EloSettings(),
    )
    assert (went.learned, went.skipped, went.last_id) == (2, 1, None)


def test_a_cut_point_at_500_is_a_threshold_no_finite_rating_reaches() -> None:
    settings = EloSettings(cut_points=(0.0, 500.0), min_attempts=0)
    assert level_thresholds(settings) == (-math.inf, math.inf)
    assert level(20.0, 5, settings) is Level.INTERMEDIATE
