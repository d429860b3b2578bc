"""JobService: learnprog's time-driven work, done once by :meth:`JobService.run_due`.

What a host runs every minute or so (``learnprog worker``, cron, systemd, or a task queue:
``docs/howto-worker.md``). The work is a small registry of named steps, run in order:

1. ``reports``: queue the scheduled report emails due now
   (:meth:`~learnprog.reports.ReportBuilder.send_due_reports`; guide, "Scheduling Email
   Reports"). Once per organization, admin and local day.
2. ``skills``: score the assessment attempts stored since the last run, in every organization
   that has any (:meth:`~learnprog.services.SkillScorer.score`; ``docs/skills.md``).
3. ``mail``: deliver the outbox (:meth:`~learnprog.services.mail.MailService.dispatch`), the
   reports just queued included.

Later work (reminder policies, invitation expiry, precomputed console figures) joins with
:meth:`JobRegistry.register` (``lp.jobs.registry``). Every step is safe to run from any
number of processes at once, on one database: the outbox is claimed with leases
(``FOR UPDATE SKIP LOCKED``), a scheduled report is recorded under a unique key in the unit of
work that queues it, and an organization's scoring runs take turns on its scoring lock. So
``run_due`` is idempotent: run twice, the second run finds nothing due.
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from attrs import field, frozen

from learnprog.errors import ConflictError, LearnprogError, NotFoundError, ValidationError
from learnprog.model.access import Actor, SystemActor, require_system
from learnprog.services._base import Service, ServiceContext
from learnprog.services.skills import ScoringReport, SkillScorer
from learnprog.storage.ports import UnitOfWork

if TYPE_CHECKING:
    from learnprog.reports.builder import ReportBuilder, ScheduledReportResult
    from learnprog.services.mail import DispatchReport, MailService

logger = logging.getLogger("learnprog.jobs")

R = TypeVar("R")

STEP_NAME = re.compile(r"[a-z][a-z0-9_-]{0,39}")
"""A step's name: a lowercase letter, then up to 39 lowercase letters, digits, ``_`` or ``-``."""

REPORTS_STEP = "reports"
"""The step that queues the scheduled report emails due now."""
SKILLS_STEP = "skills"
"""The step that scores new assessment attempts."""
MAIL_STEP = "mail"
"""The step that delivers the outbox."""

_END_OF_TIME = (datetime(9999, 12, 31, tzinfo=UTC), "")


def _never() -> bool:
    return False


class StepStatus(enum.StrEnum):
    """How a step of a run ended."""

    DONE = "done"
    """It ran to the end (a mail step told to stop mid-way is DONE with ``stopped=True``)."""
    FAILED = "failed"
    """It raised a learnprog error (recorded in :attr:`StepReport.error`); later steps ran."""
    NOT_RUN = "not_run"
    """The run was told to stop before it began."""


@frozen
class JobRun:
    """What a step is given.

    Attributes:
        actor: the system actor the run acts as.
        started_at: when the run began (the clock's now, aware UTC).
        stop: answers True once the run should end (a worker told to shut down); a long step
            asks it between units of work and returns early.
    """

    actor: SystemActor
    started_at: datetime
    stop: Callable[[], bool] = _never

    def stopping(self) -> bool:
        """True once the run should end."""
        return bool(self.stop())


@frozen
class JobStep(Generic[R]):
    """One named piece of time-driven work.

    Attributes:
        name: unique in the registry (:data:`STEP_NAME`: ``reports``, ``invitation-expiry``).
        run: does the work once and returns what it did. It must be safe to call from several
            processes at once (claims, unique records or a lock) and should return early when
            :meth:`JobRun.stopping`. A :class:`~learnprog.errors.LearnprogError` it raises is
            recorded as the step's failure; any other exception is a defect and ends the run.
        summarize: one line about a result, for logs (default ``str``).
    """

    name: str
    run: Callable[[JobRun], R]
    summarize: Callable[[R], str] = field(default=str)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.name, str) or not STEP_NAME.fullmatch(self.name):
            raise ValidationError(
                "a step name is a lowercase letter then up to 39 of a-z, 0-9, _ and -",
                field="name",
                value=self.name,
            )
        if not callable(self.run):
            raise ValidationError("a step's run is a callable", field="run", value=self.run)


@frozen
class StepReport(Generic[R]):
    """What one step did in one run.

    Attributes:
        name: the step.
        status: done, failed or not run.
        result: what the step returned (DONE), else ``None``.
        error: ``"ErrorClass: message"`` of a FAILED step, else ``None``.
        started_at: when it began (aware UTC; the run's start for a step not run).
        finished_at: when it ended.
    """

    name: str
    status: StepStatus
    result: R | None
    error: str | None
    started_at: datetime
    finished_at: datetime
    summarize: Callable[[R], str] = field(default=str, repr=False, eq=False)

    @property
    def seconds(self) -> float:
        """How long it took, in seconds."""
        return (self.finished_at - self.started_at).total_seconds()

    def summary(self) -> str:
        """One line for logs: ``mail: done in 0.4 s: sent 3, ...``."""
        if self.status is StepStatus.FAILED:
            return f"{self.name}: failed after {self.seconds:.1f} s: {self.error}"
        if self.status is StepStatus.NOT_RUN or self.result is None:
            return f"{self.name}: not run (stopping)"
        return f"{self.name}: done in {self.seconds:.1f} s: {self.summarize(self.result)}"


@frozen
class SkillScoring:
    """What the ``skills`` step did.

    Attributes:
        organizations: how many organizations were looked at.
        scored: each organization that had new attempts, with its scoring report, by ID.
    """

    organizations: int
    scored: tuple[tuple[str, ScoringReport], ...] = ()

    @property
    def attempts(self) -> int:
        """Attempts scored, over every organization."""
        return sum(r.scored for _, r in self.scored)

    def summary(self) -> str:
        """One line: ``scored 12 attempts in 1 of 3 organizations``."""
        return (
            f"scored {self.attempts} attempts in {len(self.scored)} of "
            f"{self.organizations} organizations"
        )


@frozen
class ReportsQueued:
    """What the ``reports`` step did.

    Attributes:
        results: each scheduled report handled by this run (queued, or skipped for an
            opt-out), as :meth:`~learnprog.reports.ReportBuilder.send_due_reports` returns.
    """

    results: tuple[ScheduledReportResult, ...] = ()

    @property
    def queued(self) -> int:
        """Report emails queued."""
        return sum(1 for r in self.results if r.result.queued)

    def summary(self) -> str:
        """One line: ``queued 2 report emails, 1 skipped (opted out)``."""
        skipped = len(self.results) - self.queued
        return f"queued {self.queued} report emails, {skipped} skipped (opted out)"


@frozen
class RunReport:
    """What one :meth:`JobService.run_due` did, step by step.

    Attributes:
        started_at: when the run began (aware UTC).
        finished_at: when it ended.
        steps: one report per registered step, in order (steps not run included).
        stopped: the run was told to stop before its end.
    """

    started_at: datetime
    finished_at: datetime
    steps: tuple[StepReport[Any], ...]
    stopped: bool = False

    @property
    def failed(self) -> tuple[StepReport[Any], ...]:
        """The steps that raised a learnprog error."""
        return tuple(s for s in self.steps if s.status is StepStatus.FAILED)

    def step(self, name: str) -> StepReport[Any]:
        """The report of the step called ``name``.

        Raises:
            NotFoundError: no step of that name ran in this run.
        """
        for report in self.steps:
            if report.name == name:
                return report
        raise NotFoundError("job step", name)

    def result(self, step: JobStep[R]) -> R | None:
        """What ``step`` returned in this run, typed as the step's result; None if it did not."""
        return cast("R | None", self.step(step.name).result)

    @property
    def mail(self) -> DispatchReport | None:
        """The ``mail`` step's result, or None (failed, not run, or unregistered)."""
        from learnprog.services.mail import DispatchReport

        return self._named(MAIL_STEP, DispatchReport)

    @property
    def reports(self) -> ReportsQueued | None:
        """The ``reports`` step's result, or None."""
        return self._named(REPORTS_STEP, ReportsQueued)

    @property
    def skills(self) -> SkillScoring | None:
        """The ``skills`` step's result, or None."""
        return self._named(SKILLS_STEP, SkillScoring)

    def _named(self, name: str, kind: type[R]) -> R | None:
        found = next((s.result for s in self.steps if s.name == name), None)
        return found if isinstance(found, kind) else None

    def summary(self) -> str:
        """Several lines for logs: one per step."""
        return "\n".join(s.summary() for s in self.steps)


class JobRegistry:
    """The named steps a run takes, in order: one registry per learnprog instance.

    ``lp.jobs.registry`` starts with ``reports``, ``skills`` and ``mail``; a host or a later
    feature adds its own (``register``), or drops one it runs some other way (``unregister``).
    """

    def __init__(self, steps: Collection[JobStep[Any]] = ()) -> None:
        self._steps: list[JobStep[Any]] = []
        for step in steps:
            self.register(step)

    @property
    def steps(self) -> tuple[JobStep[Any], ...]:
        """The registered steps, in the order a run takes them."""
        return tuple(self._steps)

    def register(self, step: JobStep[Any], *, before: str | None = None) -> None:
        """Add a step to the registry: last, or right before the step ``before``.

        Args:
            step: the step.
            before: the name of a registered step to run it before (``"mail"``, so the mail
                it queues goes out in the same run); default: after every step.

        Raises:
            ValidationError: ``step`` is not a :class:`JobStep`.
            ConflictError: a step of that name is registered.
            NotFoundError: no registered step is called ``before``.
        """
        if not isinstance(step, JobStep):
            raise ValidationError("a JobStep is required", field="step", value=step)
        names = [s.name for s in self._steps]
        if step.name in names:
            raise ConflictError(f"a job step called {step.name!r} is registered already")
        if before is None:
            self._steps.append(step)
            return
        if before not in names:
            raise NotFoundError("job step", before)
        self._steps.insert(names.index(before), step)

    def unregister(self, name: str) -> JobStep[Any]:
        """Remove the step called ``name`` from the registry, and return it.

        Raises:
            NotFoundError: no registered step is called ``name``.
        """
        for index, step in enumerate(self._steps):
            if step.name == name:
                return self._steps.pop(index)
        raise NotFoundError("job step", name)


class JobService(Service):
    """Runs the registered steps of time-driven work; see the module for the steps.

    Attributes:
        registry: the steps a run takes (:class:`JobRegistry`).

    Args:
        context: the shared ports.
        mail: the mail service (the ``mail`` step).
        reports: the report builder (the ``reports`` step).
        skills: the skill scorer (the ``skills`` step).
    """

    def __init__(
        self,
        context: ServiceContext,
        *,
        mail: MailService,
        reports: ReportBuilder,
        skills: SkillScorer,
    ) -> None:
        super().__init__(context)
        self._mail = mail
        self._reports = reports
        self._skills = skills
        self.registry = JobRegistry(
            [
                JobStep(REPORTS_STEP, self._send_due_reports, ReportsQueued.summary),
                JobStep(SKILLS_STEP, self._score_new_attempts, SkillScoring.summary),
                JobStep(MAIL_STEP, self._deliver_mail, _dispatch_summary),
            ]
        )

    def run_due(
        self,
        actor: Actor,
        *,
        stop: Callable[[], bool] | None = None,
        only: Collection[str] | None = None,
    ) -> RunReport:
        """Do all time-driven work that is due, once: every registered step, in order.

        Idempotent and safe from any number of processes at once (see the module). A step
        that raises a :class:`~learnprog.errors.LearnprogError` (the database unreachable, a
        deadlock retried to the end) is recorded as FAILED with its error, logged on the
        ``learnprog.jobs`` logger, and the next steps still run; the next run tries it again.

        Args:
            actor: the system (the host's scheduler or worker).
            stop: asked between steps and inside long steps (between messages, between
                organizations); once it answers True the step in hand finishes what it holds
                (the mail step its message in hand, then it releases the rest of its claim)
                and the steps after it are NOT_RUN.
            only: run just the steps of these names (default every step).

        Returns:
            One :class:`StepReport` per step (per step of ``only``), in order.

        Raises:
            PermissionDeniedError: any actor but the system.
            ValidationError: ``stop`` not callable.
            NotFoundError: a name in ``only`` that is not a registered step.
        """
        require_system(actor, "run due jobs")
        assert isinstance(actor, SystemActor)  # require_system checked it
        if stop is not None and not callable(stop):
            raise ValidationError("stop is a callable returning a bool", field="stop", value=stop)
        steps = self.registry.steps
        if only is not None:
            chosen = {str(name) for name in only}
            unknown = sorted(chosen - {s.name for s in steps})
            if unknown:
                raise NotFoundError("job step", unknown[0])
            steps = tuple(s for s in steps if s.name in chosen)
        run = JobRun(actor, self._now(), stop or _never)
        reports: list[StepReport[Any]] = []
        stopped = False
        for step in steps:
            if stopped or run.stopping():
                stopped = True
                reports.append(
                    StepReport(step.name, StepStatus.NOT_RUN, None, None, self._now(), self._now())
                )
                continue
            reports.append(self._run_step(step, run))
            stopped = run.stopping()
        return RunReport(run.started_at, self._now(), tuple(reports), stopped)

    def _run_step(self, step: JobStep[R], run: JobRun) -> StepReport[R]:
        started = self._now()
        try:
            result = step.run(run)
        except LearnprogError as exc:
            logger.exception("job step %s failed", step.name)
            error = f"{type(exc).__name__}: {exc}"
            return StepReport(step.name, StepStatus.FAILED, None, error, started, self._now())
        report = StepReport(
            step.name, StepStatus.DONE, result, None, started, self._now(), step.summarize
        )
        logger.info("%s", report.summary())
        return report

    # --- the steps -------------------------------------------------------------------------

    def _send_due_reports(self, run: JobRun) -> ReportsQueued:
        """The ``reports`` step."""
        return ReportsQueued(tuple(self._reports.send_due_reports(run.actor)))

    def _score_new_attempts(self, run: JobRun) -> SkillScoring:
        """The ``skills`` step: score each organization whose attempts changed since scored."""
        with self._uow() as uow:
            organizations = [o.id for o in uow.organizations.list()]
            due = [o for o in organizations if _has_new_attempts(uow, o)]
        scored: list[tuple[str, ScoringReport]] = []
        for organization_id in due:
            if run.stopping():
                break
            scored.append((organization_id, self._skills.score(run.actor, organization_id)))
        return SkillScoring(len(organizations), tuple(scored))

    def _deliver_mail(self, run: JobRun) -> DispatchReport:
        """The ``mail`` step."""
        return self._mail.dispatch(run.actor, stop=run.stop)


def _has_new_attempts(uow: UnitOfWork, organization_id: str) -> bool:
    """True when the organization's attempts differ from those its scoring mark counts.

    New attempts after the mark, a late arrival before it, or an erased one: the stored count
    (all of them, and those up to the mark) no longer matches the mark's. Two counts, no scan.
    """
    store = uow.skill_ratings
    mark = store.mark(organization_id)
    if store.count_attempts_until(organization_id, _END_OF_TIME) != mark.scored:
        return True
    if mark.last_at is None or mark.last_id is None:
        return False
    return store.count_attempts_until(organization_id, (mark.last_at, mark.last_id)) != mark.scored


def _dispatch_summary(report: DispatchReport) -> str:
    return report.summary()
