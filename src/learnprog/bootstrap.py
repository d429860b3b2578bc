"""The composition root: :func:`connect` wires adapters into services.

Nothing is built at import: engines, stores and mailers are made when :func:`connect` runs.
"""

from __future__ import annotations

import os
import warnings
from types import TracebackType
from typing import TYPE_CHECKING, Self

from learnprog.clock import Clock, SystemClock
from learnprog.errors import ConfigurationWarning, ValidationError
from learnprog.mail.memory import InMemoryMailer
from learnprog.mail.ports import Mailer
from learnprog.outputs import data_files
from learnprog.reports.builder import ReportBuilder
from learnprog.services import (
    AuditLog,
    CurriculumService,
    InvitationService,
    LearningService,
    MessagingService,
    OrganizationService,
    ProgramService,
    ServiceContext,
    SkillScorer,
)
from learnprog.services.exports import ExportImportService
from learnprog.services.jobs import JobService
from learnprog.services.mail import MailService
from learnprog.settings import Settings
from learnprog.storage.ports import UnitOfWorkFactory
from learnprog.tokens import TokenSigner

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

SERVICE_NAMES = (
    "organizations",
    "programs",
    "curriculum",
    "invitations",
    "learning",
    "messaging",
    "reports",
    "skills",
    "audit",
    "mail",
    "history",
    "jobs",
)
"""The attributes of :class:`Learnprog` that are services, in documentation order."""


class Learnprog:
    """One learnprog instance: every service by name, over one storage and one mailer.

    Attributes:
        organizations: organizations, global settings, learner accounts, admins.
        programs: programs, contracts, catalog.
        curriculum: a program's collections, the catalog from a file, the program preview.
        invitations: invitations, acceptance, memberships, licenses.
        learning: enrollments, activity, feedback.
        messaging: audiences and messages.
        reports: the ReportBuilder.
        skills: the SkillScorer.
        audit: the audit log.
        mail: delivering the outbox, email preferences, unsubscribe links, previews.
        history: imports of admin exports (membership, usage and specialization reports).
        jobs: the time-driven work (outbox, scheduled reports, skill scoring), run by
            ``jobs.run_due`` from a worker, cron or a task queue.
        context: the ports the services share (unit of work factory, mailer, clock, settings,
            token signer).
    """

    def __init__(self, context: ServiceContext, *, engine: Engine | None = None) -> None:
        self.context = context
        self._engine = engine
        self.organizations = OrganizationService(context)
        self.programs = ProgramService(context)
        self.curriculum = CurriculumService(context)
        self.invitations = InvitationService(context)
        self.learning = LearningService(context)
        self.messaging = MessagingService(context)
        self.reports = ReportBuilder(context)
        self.skills = SkillScorer(context)
        self.audit = AuditLog(context)
        self.mail = MailService(context)
        self.history = ExportImportService(context)
        self.jobs = JobService(context, mail=self.mail, reports=self.reports, skills=self.skills)

    @property
    def engine(self) -> Engine | None:
        """The SQLAlchemy engine, for SQL storage made from a URL; otherwise None."""
        return self._engine

    def close(self) -> None:
        """Release the storage's connections (SQL storage made from a URL)."""
        if self._engine is not None:
            self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _warn_about_lost_work(settings: Settings | None, mailer: Mailer | None) -> None:
    if mailer is None:
        warnings.warn(
            "persistent storage with no mailer: mail that dispatch() delivers goes to an "
            "in-memory mailer and is lost when the process ends; pass "
            "mailer=learnprog.MaildirMailer('outbox') or an SmtpMailer",
            ConfigurationWarning,
            stacklevel=3,
        )
    if settings is None and not os.environ.get("LEARNPROG_SECRET_KEY"):
        warnings.warn(
            "persistent storage with a random signing secret: invitation and unsubscribe links "
            "cannot be verified by another process or after a restart; pass "
            "settings=learnprog.Settings(secret_key=...) or set LEARNPROG_SECRET_KEY",
            ConfigurationWarning,
            stacklevel=3,
        )


def connect(
    url: str | None = "memory://",
    *,
    settings: Settings | None = None,
    mailer: Mailer | None = None,
    clock: Clock | None = None,
    uow_factory: UnitOfWorkFactory | None = None,
    migrate: bool = True,
) -> Learnprog:
    """Return a learnprog instance over the storage at ``url`` (or the given adapters).

    Args:
        url: ``memory://`` (the default: a new in-memory store), ``sqlite:///path.db``,
            ``postgresql+psycopg://user@host/db`` or ``mysql+pymysql://user@host/db``.
            Ignored when ``uow_factory`` is given.
        settings: addresses, URLs and signing secret; default :class:`Settings()`.
        mailer: the mail adapter; default a new :class:`~learnprog.mail.InMemoryMailer`.
        clock: the source of "now"; default the system clock.
        uow_factory: a host's own storage adapter: a callable returning a fresh
            :class:`~learnprog.storage.ports.UnitOfWork` over shared storage.
        migrate: for SQL URLs, upgrade the schema to the newest migration first (a database
            already there is checked with one query; an upgrade holds the schema lock, so
            processes starting at once make one schema: docs/howto-databases.md,
            "Migrations"). Pass False where migrations are run separately (``learnprog db
            upgrade``), as web workers should.

    Returns:
        A :class:`Learnprog` with every service wired.

    Warns:
        ConfigurationWarning: persistent storage (a SQL URL or a ``uow_factory``) without a
            ``mailer`` (mail dispatched goes to an in-memory mailer and is gone when the process
            ends), or without ``settings`` and ``LEARNPROG_SECRET_KEY`` (links are signed with a
            random secret no other process can verify).

    Raises:
        ValidationError: neither a URL nor a ``uow_factory``, or an unsupported URL.
        StorageUnavailableError: the database cannot be reached.
        ConcurrencyError: another process held the schema lock for 600 s (upgrading).
        StorageError: a migration failed.
    """
    if uow_factory is not None or url != "memory://":
        _warn_about_lost_work(settings, mailer)
    settings = settings or Settings()
    clock = clock or SystemClock()
    engine: Engine | None = None
    if uow_factory is None:
        if not url or not isinstance(url, str):
            raise ValidationError(
                "give a storage URL (text) or a uow_factory", field="url", value=url
            )
        if url == "memory://":
            from learnprog.storage.memory import InMemoryStore

            uow_factory = InMemoryStore().unit_of_work
        else:
            from learnprog.storage.sql import (
                SqlUnitOfWork,
                check_connection,
                create_sql_engine,
                upgrade,
            )

            engine = create_sql_engine(url)
            check_connection(engine)
            if migrate:
                upgrade(engine)
            sql_engine = engine

            def uow_factory() -> SqlUnitOfWork:
                return SqlUnitOfWork(sql_engine)

    context = ServiceContext(
        uow_factory=uow_factory,
        mailer=mailer if mailer is not None else InMemoryMailer(),
        clock=clock,
        settings=settings,
        signer=TokenSigner(settings.secret_key, clock),
        data_files=data_files(url) if engine is not None else (),
    )
    return Learnprog(context, engine=engine)
