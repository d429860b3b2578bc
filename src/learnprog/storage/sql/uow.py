"""The SQL unit of work: one connection and one transaction per ``with`` block."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Self

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from learnprog.errors import StorageError
from learnprog.storage import ports
from learnprog.storage.sql import repositories as r
from learnprog.storage.sql.errors import translate_errors

_sqlite_open = threading.local()


def _open_sqlite_engines() -> set[int]:
    """This thread's SQLite engines (by id) that have a unit of work open."""
    engines: set[int] | None = getattr(_sqlite_open, "engines", None)
    if engines is None:
        engines = set()
        _sqlite_open.engines = engines
    return engines


class SqlUnitOfWork(ports.UnitOfWork):
    """A unit of work on a SQLAlchemy engine.

    ``__enter__`` opens a connection and begins a transaction; :meth:`commit` commits it and
    begins the next; ``__exit__`` rolls back what was not committed and returns the connection
    to the pool.

    Args:
        engine: an engine from :func:`learnprog.storage.sql.create_sql_engine`.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._connection: sa.Connection | None = None
        self._transaction: sa.RootTransaction | None = None
        self._marked = False
        self.organizations = r.SqlOrganizationRepository(self)
        self.programs = r.SqlProgramRepository(self)
        self.contracts = r.SqlContractRepository(self)
        self.learners = r.SqlLearnerRepository(self)
        self.memberships = r.SqlMembershipRepository(self)
        self.admins = r.SqlAdminRepository(self)
        self.courses = r.SqlCourseRepository(self)
        self.specializations = r.SqlSpecializationRepository(self)
        self.collections = r.SqlCollectionRepository(self)
        self.skills = r.SqlSkillRepository(self)
        self.audit = r.SqlAuditRepository(self)
        self.outbox = r.SqlOutboxRepository(self)
        self.deliveries = r.SqlDeliveryRepository(self)
        self.email_preferences = r.SqlEmailPreferenceRepository(self)
        self.enrollments = r.SqlEnrollmentRepository(self)
        self.activity = r.SqlActivityRepository(self)
        self.progress = r.SqlProgressRepository(self)
        self.feedback = r.SqlFeedbackRepository(self)
        self.messages = r.SqlMessageRepository(self)
        self.reports = r.SqlReportRepository(self)
        self.skill_ratings = r.SqlSkillRatingRepository(self)

    @property
    def connection(self) -> sa.Connection:
        """The open connection, in a transaction (begun on first use after a commit).

        Raises:
            StorageError: used outside ``with uow:``.
        """
        if self._connection is None:
            raise StorageError("use the unit of work inside 'with uow:'")
        if self._transaction is None or not self._transaction.is_active:
            with translate_errors("begin"):
                self._transaction = self._connection.begin()
        return self._connection

    def __enter__(self) -> Self:
        if self._connection is not None:
            raise StorageError("this unit of work is already open")
        if self.engine.dialect.name == "sqlite":
            # SQLite has one writer at a time: a second unit of work on this thread would wait
            # for the first (its own) until the busy timeout. Refuse at once instead.
            if id(self.engine) in _open_sqlite_engines():
                raise StorageError(
                    "this thread already has a unit of work open on this SQLite database; "
                    "finish it first (units of work do not nest; a dry run holds one until its "
                    "results are all taken or it is closed)"
                )
            _open_sqlite_engines().add(id(self.engine))
            self._marked = True
        try:
            with translate_errors("connection"):
                self._connection = self.engine.connect()
        except BaseException:
            self._unmark()
            raise
        return self

    def _unmark(self) -> None:
        if self._marked:
            _open_sqlite_engines().discard(id(self.engine))
            self._marked = False

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.rollback()
        finally:
            if self._connection is not None:
                self._connection.close()
            self._connection = None
            self._unmark()

    def commit(self) -> None:
        """Commit the work so far; later work in the block runs in a new transaction."""
        if self._connection is None:
            raise StorageError("use the unit of work inside 'with uow:'")
        self.audit.flush()  # the audit log is written in batches (SqlAuditRepository)
        if self._transaction is not None and self._transaction.is_active:
            with translate_errors("commit"):
                self._transaction.commit()
        self._transaction = None

    def rollback(self) -> None:
        """Roll back the work since the last commit."""
        self.audit.discard()
        if self._transaction is not None and self._transaction.is_active:
            with translate_errors("rollback"):
                self._transaction.rollback()
        self._transaction = None
