"""SkillScorer's model checked against truth and data: recovery, OULAD AUC, tuning, speed.

Sources: Pelánek, "Applications of the Elo rating system in adaptive educational systems",
Computers & Education 98 (2016) (the model, the AUC as the measure); Reddick, "Using a
Glicko-based Algorithm to Measure In-Course Learning", EDM 2019; issue 8 (the figures asked
for). The OULAD subset: Kuzilek, Hlosta, Zdrahal, Scientific Data 4, 170171 (2017), CC BY 4.0.

It prints, and asserts nothing:

(a) **Recovery** on simulated data: 2,000 learners and 200 items with abilities and
    difficulties from N(0, 1), 50 items at random per learner, outcomes drawn from the model,
    in a shuffled order (fixed seeds); Spearman correlation of the estimated ratings with the
    true abilities and of the estimated difficulties with the true ones.
(b) **OULAD**: the shipped subset imported with :func:`learnprog.datasets.oulad.import_oulad`
    into memory storage (one skill per module). Attempts in absolute time order (presentation
    start plus day; ties by attempt ID, as ``SkillScorer.score``); each is predicted before
    the model learns from it, the model with the default ``EloSettings()`` (it learns from the
    grade as a fraction, partial credit); the outcome the AUC measures is "pass at 40" (the
    assessment's pass mark). The AUC is over every attempt that is not the
    learner's first in its skill, beside two baselines in the same pass: the learner's mean
    earlier score in the skill (as a fraction), and the assessment's pass rate so far (the
    pass rate of every attempt so far when the assessment has none yet).
(c) **Tuning**: a grid of ``a`` and ``b`` (the same for learners and items) fitted on the
    earlier half of the timeline (by attempt count), then the AUC on the later half with the
    model trained on everything before each attempt — beside the defaults on the same half.
(d) **Speed**: ``--attempts`` (1,000,000 by default, times ``--scale``) simulated attempts
    through ``EloState.learn`` (plain rows, the scorer's loop) and ``EloState.replay``
    (``ScoredAttempt`` objects) beside a plain Python loop of the same equations (floats in
    dicts, no objects), in the same run; then the same number of attempts stored in memory
    and in SQLite and scored by ``SkillScorer.score`` (reading them in time order, scoring,
    noting where levels were reached, storing the ratings) beside the plain loop over them.

    python benchmarks/skills_validation.py [--scale 1] [--attempts 1000000] [--seed 2016]
        [--skip-oulad]
"""

from __future__ import annotations

import argparse
import math
import random
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import learnprog
from learnprog.clock import FixedClock
from learnprog.datasets.oulad import import_oulad
from learnprog.model import OrgAdminActor, SystemActor
from learnprog.model.skills import (
    EloSettings,
    EloState,
    ItemFacts,
    ScoredAttempt,
    auc,
    sigmoid,
)

# mail is queued, not delivered, and no link is followed: nothing to warn about
QUIET: dict[str, Any] = {
    "mailer": learnprog.InMemoryMailer(),
    "settings": learnprog.Settings(secret_key="benchmark-secret-not-for-links"),
}

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def ranks(values: Sequence[float]) -> list[float]:
    """Ranks from 0, ties sharing their mean rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for i in order[start : end + 1]:
            out[i] = (start + end) / 2
        start = end + 1
    return out


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman's rank correlation (Pearson on the ranks)."""
    ra, rb = ranks(a), ranks(b)
    ma, mb = sum(ra) / len(ra), sum(rb) / len(rb)
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb, strict=True))
    va = sum((x - ma) ** 2 for x in ra)
    vb = sum((y - mb) ** 2 for y in rb)
    return cov / math.sqrt(va * vb)


def recovery(seed: int) -> None:
    """(a) Recovery of true abilities and difficulties."""
    rng = random.Random(seed)
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
    for second, (learner, item, grade) in enumerate(attempts):
        state.update(
            ScoredAttempt(f"l{learner}", f"q{item}", ("skill",), grade, 50.0,
                          T0 + timedelta(seconds=second)),
            settings,
        )  # fmt: skip
    estimated = [state.rating(f"l{i}", "skill")[0] for i in range(2000)]
    hardness = [state.difficulty(f"q{i}")[0] for i in range(200)]
    print("(a) recovery on simulated data: 2,000 learners, 200 items, 50 each, seed", seed)
    print(f"    Spearman, ratings vs true abilities:         {spearman(estimated, abilities):.4f}")
    print(
        f"    Spearman, difficulties vs true difficulties: {spearman(hardness, difficulties):.4f}"
    )


def oulad_attempts() -> list[ScoredAttempt]:
    """The OULAD subset's scored attempts, imported into memory storage, in time order."""
    lp = learnprog.connect("memory://", clock=FixedClock(datetime(2026, 3, 2, tzinfo=UTC)))
    system = SystemActor()
    org = lp.organizations.create_organization(
        system, "OU", email_domains=["ou.example"], admin_name="Ana", admin_email="ana@ou.example"
    )
    admin = lp.organizations.resolve_actor(system, org.id, "ana@ou.example")
    assert isinstance(admin, OrgAdminActor)
    program = lp.programs.create_program(admin, org.id, "OU Program", slug="ou")
    contract = lp.programs.create_contract(
        admin, org.id, "Licenses", kind="licenses", quantity=20_000,
        starts_at=datetime(2013, 1, 1, tzinfo=UTC), ends_at=datetime(2030, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    started = time.perf_counter()
    import_oulad(lp, admin, org.id, program.id, contract.id)
    print(f"    imported in {time.perf_counter() - started:.1f} s")
    items = {}
    for course in lp.programs.list_courses(admin, org.id):
        for a in course.assessments:
            items[(course.id, a.id)] = (a.skill_ids, a.pass_mark)
    uow = lp.context.uow_factory()
    with uow:
        stored = list(uow.skill_ratings.attempts_after(org.id, None))  # (submitted_at, id)
    return [
        ScoredAttempt(a.learner_id, f"{a.course_id}:{a.assessment_id}", skills, a.grade,
                      pass_mark, a.submitted_at)
        for a in stored
        for skills, pass_mark in [items[(a.course_id, a.assessment_id)]]
        if skills
    ]  # fmt: skip


def elo_predictions(attempts: Sequence[ScoredAttempt], settings: EloSettings) -> list[float]:
    """Each attempt's prediction before the model learns from it."""
    return EloState().replay(attempts, settings)


def baselines(attempts: Sequence[ScoredAttempt]) -> tuple[list[float], list[float], list[bool]]:
    """The two baselines' predictions and whether each attempt is not the learner's first."""
    learner_mean: list[float] = []
    pass_rate: list[float] = []
    later: list[bool] = []
    sums: dict[tuple[str, str], list[float]] = {}
    rates: dict[str, list[int]] = {}
    overall = [0, 0]
    for a in attempts:
        key = (a.learner_id, a.skills[0])
        seen = sums.get(key)
        later.append(seen is not None)
        learner_mean.append(seen[0] / seen[1] if seen else 0.5)
        r = rates.get(a.item)
        if r:
            pass_rate.append(r[0] / r[1])
        else:
            pass_rate.append(overall[0] / overall[1] if overall[1] else 0.5)
        passed = int(a.grade >= a.pass_mark)
        entry = sums.setdefault(key, [0.0, 0])
        entry[0] += a.grade / 100.0
        entry[1] += 1
        rr = rates.setdefault(a.item, [0, 0])
        rr[0] += passed
        rr[1] += 1
        overall[0] += passed
        overall[1] += 1
    return learner_mean, pass_rate, later


def masked_auc(
    predictions: Sequence[float], outcomes: Sequence[bool], mask: Sequence[bool]
) -> float:
    """The AUC over the attempts where ``mask`` is true."""
    return auc(
        [p for p, m in zip(predictions, mask, strict=True) if m],
        [o for o, m in zip(outcomes, mask, strict=True) if m],
    )


def oulad() -> None:
    """(b) and (c): AUC on the OULAD subset, baselines, grid search."""
    print("(b) OULAD subset, pass at 40, every attempt after the learner's first in its skill")
    attempts = oulad_attempts()
    outcomes = [a.grade >= a.pass_mark for a in attempts]
    learner_mean, pass_rate, later = baselines(attempts)
    defaults = EloSettings()  # the model learns from the grade (partial credit)
    elo = elo_predictions(attempts, defaults)
    passed = sum(o for o, m in zip(outcomes, later, strict=True) if m) / sum(later)
    print(f"    attempts with a skill: {len(attempts):,}; counted (not a first): {sum(later):,};"
          f" passed: {passed:.1%}")  # fmt: skip
    print(f"    AUC Elo, defaults (a=1, b=0.05):            "
          f"{masked_auc(elo, outcomes, later):.4f}")  # fmt: skip
    print(f"    AUC learner's mean earlier score in skill:  "
          f"{masked_auc(learner_mean, outcomes, later):.4f}")  # fmt: skip
    print(f"    AUC assessment's pass rate so far:          "
          f"{masked_auc(pass_rate, outcomes, later):.4f}")  # fmt: skip

    half = len(attempts) // 2
    early = [m and i < half for i, m in enumerate(later)]
    late = [m and i >= half for i, m in enumerate(later)]
    print(f"(c) grid search of a and b on the earlier half ({half:,} attempts, up to "
          f"{attempts[half - 1].at.date()}), AUC on the later half")  # fmt: skip
    best: tuple[float, float, float] | None = None
    for a in (0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0):
        for b in (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0):
            settings = EloSettings(learner_a=a, learner_b=b, item_a=a, item_b=b)
            fit = masked_auc(elo_predictions(attempts[:half], settings), outcomes[:half],
                             early[:half])  # fmt: skip
            if best is None or fit > best[0]:
                best = (fit, a, b)
    assert best is not None
    fit, a, b = best
    tuned = EloSettings(learner_a=a, learner_b=b, item_a=a, item_b=b)
    print(f"    best on the earlier half: a={a}, b={b} (AUC there {fit:.4f})")
    tuned_late = masked_auc(elo_predictions(attempts, tuned), outcomes, late)
    print(f"    AUC later half, tuned:    {tuned_late:.4f}")
    print(f"    AUC later half, defaults: {masked_auc(elo, outcomes, late):.4f}")
    print(f"    AUC later half, baselines: learner mean "
          f"{masked_auc(learner_mean, outcomes, late):.4f}, "
          f"pass rate {masked_auc(pass_rate, outcomes, late):.4f}")  # fmt: skip


def plain_loop(data: Sequence[tuple[str, str, float]], a: float, b: float) -> dict[str, float]:
    """The same equations as ``EloState.update`` for one skill, g = 0, first attempts only."""
    theta: dict[str, float] = {}
    n_l: dict[str, int] = {}
    diff: dict[str, float] = {}
    n_i: dict[str, int] = {}
    seen: set[tuple[str, str]] = set()
    exp = math.exp
    for learner, item, s in data:
        t = theta.get(learner, 0.0)
        d = diff.get(item, 0.0)
        x = t - d
        p = 1.0 / (1.0 + exp(-x)) if x >= 0 else exp(x) / (1.0 + exp(x))
        e = s - p
        n = n_l.get(learner, 0)
        theta[learner] = t + a / (1.0 + b * n) * e
        n_l[learner] = n + 1
        if (learner, item) not in seen:
            seen.add((learner, item))
            m = n_i.get(item, 0)
            diff[item] = d - a / (1.0 + b * m) * e
            n_i[item] = m + 1
    return theta


def speed(count: int, seed: int) -> None:
    """(d) Attempts per second of the model's loop: ``EloState.learn`` (rows, as the scorer
    reads them) and ``EloState.replay`` (``ScoredAttempt`` objects), beside the plain loop."""
    rng = random.Random(seed)
    learners, items = 20_000, 2_000
    abilities = [rng.gauss(0, 1) for _ in range(learners)]
    hardness = [rng.gauss(0, 1) for _ in range(items)]
    raw = []
    for _ in range(count):
        lr, it = rng.randrange(learners), rng.randrange(items)
        passed = rng.random() < sigmoid(abilities[lr] - hardness[it])
        raw.append((f"l{lr}", f"q{it}", 1.0 if passed else 0.0))
    rows = [(lr, it, 100.0 * s, None) for lr, it, s in raw]
    facts = {f"q{it}": ItemFacts(("skill",), 50.0, 0.0) for it in range(items)}
    attempts = [ScoredAttempt(lr, it, ("skill",), 100.0 * s, 50.0, T0) for lr, it, s in raw]
    settings = EloSettings(partial_credit=False)
    print(f"(d) speed: {count:,} simulated attempts, {learners:,} learners, {items:,} items")
    started = time.perf_counter()
    theta = plain_loop(raw, 1.0, 0.05)
    loop_seconds = time.perf_counter() - started
    print(f"    plain loop:      {count / loop_seconds:,.0f} attempts/s ({loop_seconds:.1f} s)")
    learned, replayed = EloState(), EloState()
    for name, run in (
        ("EloState.learn", lambda: learned.learn(rows, facts, settings, reached={})),
        ("EloState.replay", lambda: replayed.replay(attempts, settings)),
    ):
        started = time.perf_counter()
        run()
        seconds = time.perf_counter() - started
        print(f"    {name + ':':16} {count / seconds:,.0f} attempts/s ({seconds:.1f} s), "
              f"ratio {seconds / loop_seconds:.2f}x")  # fmt: skip
    agree = max(
        abs(theta[k] - state.rating(k, "skill")[0])
        for state in (learned, replayed)
        for k in list(theta)[:1000]
    )
    print(f"    largest rating difference from the loop: {agree:.1e}")


def scorer_speed(backend: str, count: int, seed: int) -> None:
    """(d, continued) ``SkillScorer.score`` over ``count`` stored attempts, memory or SQLite.

    The attempts are stored without timing (memory: the repository's ``add_attempts``;
    SQLite: a plain executemany) for 2,000 learners in one course of 200 assessments
    measuring one skill; then the scorer reads them in time order, scores them, notes where
    levels were reached and stores the ratings. Beside it, a floor: the plain loop over the
    same attempts already in a list (memory), or read with the sqlite3 module (SQLite).
    """
    import sqlite3
    import tempfile

    import sqlalchemy as sa

    from learnprog.model import Assessment, AssessmentAttempt
    from learnprog.services.history import MemberRecord
    from learnprog.storage.memory import InMemoryStore
    from learnprog.storage.sql.tables import assessment_attempts

    folder = tempfile.mkdtemp()
    url = f"sqlite:///{folder}/skills.db"
    memory = InMemoryStore()
    rng = random.Random(seed)
    connected = (
        learnprog.connect(uow_factory=memory.unit_of_work, **QUIET)
        if backend == "memory"
        else learnprog.connect(url, **QUIET)
    )
    with connected as lp:
        system = SystemActor()
        org = lp.organizations.create_organization(
            system, "Bench", email_domains=["b.example"], admin_name="A", admin_email="a@b.example"
        )
        admin = lp.organizations.resolve_actor(system, org.id, "a@b.example")
        program = lp.programs.create_program(admin, org.id, "P", slug="p")
        contract = lp.programs.create_contract(
            admin, org.id, "C", kind="unlimited", starts_at=T0 - timedelta(days=1),
            ends_at=T0 + timedelta(days=3650),
        )  # fmt: skip
        skill = lp.programs.add_skill(admin, org.id, domain="D", name="S")
        course = lp.programs.add_course(
            admin, org.id, course_id="C1", slug="c-1", name="C1",
            assessments=[Assessment.create(f"Q{i}", id=f"q{i}", pass_mark=50,
                                           skill_ids=[skill.id]) for i in range(200)],
        )  # fmt: skip
        members = lp.invitations.import_members(
            system, program.id, contract.id,
            (MemberRecord(f"L{i}", f"l{i}@b.example", T0, joined_at=T0) for i in range(2000)),
        )  # fmt: skip
        learners = [str(r.record_id) for r in members.records]
        abilities = [rng.gauss(0, 1) for _ in learners]
        hardness = [rng.gauss(0, 1) for _ in range(200)]
        rows: list[dict[str, Any]] = []
        raw = []
        for n in range(count):
            who, item = rng.randrange(2000), rng.randrange(200)
            grade = 100.0 if rng.random() < sigmoid(abilities[who] - hardness[item]) else 0.0
            rows.append(
                {"organization_id": org.id, "id": f"a{n:08d}", "learner_id": learners[who],
                 "course_id": course.id, "assessment_id": f"q{item}", "grade": grade,
                 "submitted_at": T0 + timedelta(seconds=n), "banked": False}
            )  # fmt: skip
            raw.append((learners[who], f"q{item}", grade / 100.0))
        if backend == "memory":
            with memory.unit_of_work() as uow:
                uow.activity.add_attempts(
                    org.id,
                    [AssessmentAttempt(r["id"], r["learner_id"], r["course_id"],
                                       r["assessment_id"], r["grade"], r["submitted_at"])
                     for r in rows],
                )  # fmt: skip
                uow.commit()
        else:
            engine = sa.create_engine(url)
            with engine.begin() as conn:
                for start in range(0, len(rows), 20_000):
                    conn.execute(assessment_attempts.insert(), rows[start : start + 20_000])
            engine.dispose()
        del rows
        started = time.perf_counter()
        report = lp.skills.score(admin, org.id)
        scored = time.perf_counter() - started
    started = time.perf_counter()
    if backend == "sqlite":
        del raw
        with sqlite3.connect(f"{folder}/skills.db") as conn:
            raw = [
                (learner, item, grade / 100.0)
                for learner, item, grade in conn.execute(
                    "SELECT learner_id, assessment_id, grade FROM assessment_attempts "
                    "ORDER BY submitted_at, id"
                )
            ]
    plain_loop(raw, 1.0, 0.05)
    loop = time.perf_counter() - started
    floor = "plain loop over a list" if backend == "memory" else "sqlite3 SELECT + plain loop"
    print(f"    {backend}, SkillScorer.score: {report.scored / scored:,.0f} attempts/s "
          f"({scored:.1f} s: read, score, store {report.ratings:,} ratings)")  # fmt: skip
    print(f"    floor, {floor}: {count / loop:,.0f} attempts/s; ratio {scored / loop:.2f}x")


def main() -> None:
    """Run the four parts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--attempts", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2016)
    parser.add_argument("--skip-oulad", action="store_true")
    args = parser.parse_args()
    recovery(args.seed)
    if not args.skip_oulad:
        oulad()
    count = int(args.attempts * args.scale)
    speed(count, args.seed)
    for backend in ("memory", "sqlite"):
        scorer_speed(backend, count, args.seed)


if __name__ == "__main__":
    main()
