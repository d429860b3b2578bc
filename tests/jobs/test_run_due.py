"""lp.jobs.run_due: each step's work done once, the registry, stopping, and runs at once."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from attrs import evolve

import learnprog
from learnprog.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    StorageError,
    ValidationError,
)
from learnprog.mail.memory import InMemoryMailer
from learnprog.mail.ports import Mailer
from learnprog.model import (
    MessageCategory,
    OutboxEntry,
    OutboxStatus,
    OutgoingMessage,
    ReportSchedule,
)
from learnprog.model.identity import new_id
from learnprog.services.jobs import (
    MAIL_STEP,
    JobRun,
    JobStep,
    RunReport,
    StepStatus,
)
from tests import factories as f
from tests.races import at_once
from tests.services.test_skills import Skilled
from tests.services.world import SYSTEM


class Due(Skilled):
    """Skilled (a SQL skill, Lia and Bo enrolled), with Academy's report on Mondays.

    The clock stands on Monday 2026-03-09 09:00 UTC.
    """

    def __init__(self, lp: learnprog.Learnprog) -> None:
        super().__init__(lp)
        lp.organizations.update_settings(
            self.admin,
            self.org.id,
            report_schedule=ReportSchedule(program_ids=[self.program.id], weekdays=["monday"]),
        )


def _due(lp: learnprog.Learnprog) -> set[str]:
    """The Message-IDs of the messages due now."""
    with lp.context.uow_factory() as uow:
        due = uow.outbox.list_due(lp.context.clock.now(), limit=1000)
    return {e.message.message_id for e in due}


def _templates(mailer: InMemoryMailer) -> Counter[str | None]:
    return Counter(m.template for m in mailer.sent)


def test_a_run_queues_the_due_report_scores_new_attempts_and_delivers_the_outbox(
    lp_any: learnprog.Learnprog, mailer: InMemoryMailer
) -> None:
    w = Due(lp_any)
    lia, bo = w.people
    w.attempts(lia, [100, 95, 100])
    w.attempts(bo, [10, 20, 0, 30])
    queued = len(_due(lp_any))

    report = lp_any.jobs.run_due(SYSTEM)

    assert [s.name for s in report.steps] == ["reports", "skills", "mail"]
    assert [s.status for s in report.steps] == [StepStatus.DONE] * 3
    assert report.failed == ()
    assert not report.stopped
    assert report.reports is not None
    assert report.reports.queued == 1
    assert report.skills is not None
    assert report.skills.organizations == 1
    assert [org for org, _ in report.skills.scored] == [w.org.id]
    assert report.skills.attempts == 7
    assert report.mail is not None
    assert report.mail.sent == queued + 1
    assert _templates(mailer)["usage_report"] == 1
    assert lp_any.skills.score(w.admin, w.org.id).scored == 0  # nothing left to score
    board = lp_any.skills.leaderboard(w.admin, w.org.id)
    assert [row.name for row in board] == ["Lia"]
    assert "mail: done in" in report.summary()

    again = lp_any.jobs.run_due(SYSTEM)  # idempotent: nothing is due any more
    assert again.reports is not None
    assert again.reports.results == ()
    assert again.skills is not None
    assert again.skills.scored == ()
    assert again.mail is not None
    assert again.mail.sent == 0
    assert _templates(mailer)["usage_report"] == 1

    w.attempts(bo, [90], start=30)  # one new attempt: that organization is scored again
    third = lp_any.jobs.run_due(SYSTEM)
    assert third.skills is not None
    assert third.skills.attempts == 1


def test_a_late_attempt_makes_the_run_score_the_organization_again(
    lp: learnprog.Learnprog,
) -> None:
    w = Due(lp)
    lia, _ = w.people
    w.attempts(lia, [80, 90], start=5)
    lp.jobs.run_due(SYSTEM)
    w.attempts(lia, [10], start=1)  # dated before the last attempt scored
    report = lp.jobs.run_due(SYSTEM)
    assert report.skills is not None
    ((_, scoring),) = report.skills.scored
    assert scoring.from_scratch
    assert scoring.scored == 3


def test_runs_at_once_do_each_piece_of_work_once(
    lp_any: learnprog.Learnprog, mailer: InMemoryMailer, backend: str
) -> None:
    w = Due(lp_any)
    lia, bo = w.people
    w.attempts(lia, [100, 95, 100])
    w.attempts(bo, [10, 20, 0])
    due = _due(lp_any)
    reports: list[RunReport] = []

    def run() -> RunReport:
        report = lp_any.jobs.run_due(SYSTEM)
        reports.append(report)
        return report

    outcomes = at_once([run, run, run])

    assert outcomes == ["RunReport"] * 3
    assert all(r.failed == () for r in reports)
    sent = Counter(m.message_id for m in mailer.sent)
    assert set(sent) >= due
    assert set(sent.values()) == {1}
    assert _templates(mailer)["usage_report"] == 1  # one report email among the runs
    assert sum(r.reports.queued for r in reports if r.reports) == 1
    scored = sum(r.skills.attempts for r in reports if r.skills)
    if backend != "mariadb":
        assert scored == 6  # each attempt scored once: the runs took turns on the lock
    else:
        # MariaDB (REPEATABLE READ): a run that waited on the scoring lock reads the mark of
        # its snapshot, taken before the lock, and may score the same attempts again; what it
        # stores is the same (every attempt from scratch, in time order)
        assert scored in (6, 12, 18)
    stored = lp_any.skills.ratings(w.admin, w.org.id)
    lp_any.skills.score(w.admin, w.org.id, from_scratch=True)
    assert [(r.learner_id, r.attempts) for r in stored] == [
        (r.learner_id, r.attempts) for r in lp_any.skills.ratings(w.admin, w.org.id)
    ]
    assert [r.theta for r in stored] == pytest.approx(
        [r.theta for r in lp_any.skills.ratings(w.admin, w.org.id)]
    )
    assert sum(r.mail.sent for r in reports if r.mail) == len(sent)


def test_a_failing_step_is_recorded_and_the_next_steps_still_run(
    lp: learnprog.Learnprog, mailer: InMemoryMailer
) -> None:
    def broken(run: JobRun) -> None:
        raise StorageError("the reminders table is missing")

    lp.jobs.registry.register(JobStep("reminders", broken), before=MAIL_STEP)
    Due(lp)
    report = lp.jobs.run_due(SYSTEM)
    step = report.step("reminders")
    assert step.status is StepStatus.FAILED
    assert step.result is None
    assert step.error == "StorageError: the reminders table is missing"
    assert report.failed == (step,)
    assert report.mail is not None
    assert report.mail.sent >= 1
    assert _templates(mailer)["usage_report"] == 1
    assert "reminders: failed after" in step.summary()

    def defect(run: JobRun) -> None:
        raise RuntimeError("a bug")

    lp.jobs.registry.unregister("reminders")
    lp.jobs.registry.register(JobStep("buggy", defect))
    with pytest.raises(RuntimeError, match="a bug"):  # a defect is not swallowed
        lp.jobs.run_due(SYSTEM)


def test_a_registered_step_runs_in_its_place_and_its_mail_goes_out_in_the_same_run(
    lp: learnprog.Learnprog, mailer: InMemoryMailer
) -> None:
    Due(lp)
    order: list[str] = []

    def expire(run: JobRun) -> int:
        order.append("expiry")
        return len(queue_messages_in(lp, 2))

    expiry: JobStep[int] = JobStep("invitation-expiry", expire, summarize=lambda n: f"expired {n}")
    lp.jobs.registry.register(expiry, before=MAIL_STEP)
    assert [s.name for s in lp.jobs.registry.steps] == [
        "reports",
        "skills",
        "invitation-expiry",
        "mail",
    ]
    before = len(mailer.sent)
    report = lp.jobs.run_due(SYSTEM)
    assert report.result(expiry) == 2
    assert report.step("invitation-expiry").summary().endswith("expired 2")
    assert report.mail is not None
    assert len(mailer.sent) - before == report.mail.sent
    assert {"<extra-0@example.com>", "<extra-1@example.com>"} <= {m.message_id for m in mailer.sent}
    only = lp.jobs.run_due(SYSTEM, only=["invitation-expiry"])
    assert [s.name for s in only.steps] == ["invitation-expiry"]
    assert only.mail is None
    assert order == ["expiry", "expiry"]


def queue_messages_in(lp: learnprog.Learnprog, count: int) -> list[str]:
    """Queue ``count`` messages (``<extra-N@example.com>``) of a new organization."""
    org = f.organization(f"Extra {new_id()}", domains=())
    base = OutgoingMessage.compose(
        organization_id=org.id,
        category=MessageCategory.TRANSACTIONAL,
        to="learner@example.org",
        subject="Extra",
        text_body="Extra",
        sender_address="noreply@example.com",
        message_domain="example.com",
    )
    now = lp.context.clock.now()
    entries = [
        OutboxEntry.queue(evolve(base, message_id=f"<extra-{i}@example.com>"), now=now)
        for i in range(count)
    ]
    with lp.context.uow_factory() as uow:
        uow.organizations.add(org)
        uow.outbox.add_many(entries)
        uow.commit()
    return [e.id for e in entries]


def test_the_registry_refuses_bad_steps(lp: learnprog.Learnprog) -> None:
    registry = lp.jobs.registry
    with pytest.raises(ConflictError, match="'mail'"):
        registry.register(JobStep("mail", lambda run: None))
    with pytest.raises(NotFoundError):
        registry.register(JobStep("late", lambda run: None), before="no-such-step")
    with pytest.raises(ValidationError) as caught:
        registry.register("mail")  # type: ignore[arg-type]
    assert caught.value.field == "step"
    for name in ("", "Mail", "1st", "a b", "x" * 41, "mail\n", "mail;drop"):
        with pytest.raises(ValidationError) as bad:
            JobStep(name, lambda run: None)
        assert bad.value.field == "name"
    with pytest.raises(ValidationError) as not_callable:
        JobStep("fine", "run")  # type: ignore[arg-type]
    assert not_callable.value.field == "run"
    with pytest.raises(NotFoundError):
        registry.unregister("no-such-step")
    with pytest.raises(NotFoundError):
        lp.jobs.run_due(SYSTEM, only=["mail", "no-such-step"])
    with pytest.raises(ValidationError):
        lp.jobs.run_due(SYSTEM, stop=True)  # type: ignore[arg-type]
    assert [s.name for s in registry.steps] == ["reports", "skills", "mail"]


def test_only_the_system_runs_jobs(lp: learnprog.Learnprog) -> None:
    w = Due(lp)
    with pytest.raises(PermissionDeniedError):
        lp.jobs.run_due(w.admin)


def test_a_stop_finishes_the_message_in_hand_and_releases_the_rest(
    lp_any: learnprog.Learnprog,
) -> None:
    queue_messages_in(lp_any, 6)
    sent: list[str] = []
    stopping: list[bool] = []

    class StopAfterTwo(Mailer):
        def send(self, message: OutgoingMessage) -> None:
            sent.append(message.message_id)
            if len(sent) == 2:
                stopping.append(True)  # the signal arrives while the second one is sent

    worker = learnprog.Learnprog(evolve(lp_any.context, mailer=StopAfterTwo()))
    report = worker.jobs.run_due(SYSTEM, stop=lambda: bool(stopping))

    assert report.stopped
    assert report.mail is not None
    assert (report.mail.sent, report.mail.released, report.mail.stopped) == (2, 4, True)
    assert len(sent) == 2
    now = lp_any.context.clock.now()
    with lp_any.context.uow_factory() as uow:
        due = uow.outbox.list_due(now, limit=100)
    assert len(due) == 4  # due again at once: no lease to wait for
    assert all(e.status is OutboxStatus.PENDING and e.claim_id is None for e in due)
    other = lp_any.mail.dispatch(SYSTEM)
    assert other.sent == 4


def test_a_stop_before_a_step_leaves_it_and_the_rest_not_run(lp: learnprog.Learnprog) -> None:
    calls: list[str] = []
    answers = iter([False, False, True])

    def stop() -> bool:
        calls.append("asked")
        return next(answers, True)

    report = lp.jobs.run_due(SYSTEM, stop=stop)
    assert report.stopped
    assert [s.status for s in report.steps][-1] is StepStatus.NOT_RUN
    assert report.mail is None
    assert "not run" in report.steps[-1].summary()


def test_an_interrupted_dispatch_releases_its_claim(lp_any: learnprog.Learnprog) -> None:
    queue_messages_in(lp_any, 5)

    class Interrupted(Mailer):
        def send(self, message: OutgoingMessage) -> None:
            raise KeyboardInterrupt

    worker = learnprog.Learnprog(evolve(lp_any.context, mailer=Interrupted()))
    with pytest.raises(KeyboardInterrupt):
        worker.mail.dispatch(SYSTEM)
    later = lp_any.context.clock.now() + timedelta(seconds=1)
    with lp_any.context.uow_factory() as uow:
        assert len(uow.outbox.list_due(later, limit=100)) == 5  # all five pending, due now
    assert lp_any.mail.dispatch(SYSTEM).sent == 5
