"""What every service shares: its ports, the clock, the audit trail and the grant look-up."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Final, ParamSpec, TypeVar

from attrs import frozen

from learnprog.clock import Clock
from learnprog.errors import ConcurrencyError, ConflictError
from learnprog.mail.ports import Mailer
from learnprog.model._rules import record_id
from learnprog.model.access import (
    Actor,
    AdminGrant,
    LearnerActor,
    OrgAdminActor,
    ProgramAdminActor,
    require_any_admin,
    require_org_admin,
    require_program_admin,
)
from learnprog.model.audit import AuditEntry, field_changes
from learnprog.model.organization import Organization, Program
from learnprog.outputs import DataFiles
from learnprog.serialization import to_json_value
from learnprog.settings import Settings
from learnprog.storage.ports import UnitOfWork, UnitOfWorkFactory
from learnprog.tokens import TokenSigner


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset()
"""Marks a keyword argument that was not given (so ``None`` can mean "clear the value")."""


@frozen
class ServiceContext:
    """The ports a service works through; built once by :func:`learnprog.connect`.

    Attributes:
        uow_factory: makes a fresh unit of work.
        mailer: delivers mail (used by the dispatcher; services only queue).
        clock: the source of "now".
        settings: addresses, URLs, secret.
        signer: link token signer.
        data_files: the files the storage keeps its data in (a SQLite database, its journals,
            the secret file beside it: :func:`learnprog.outputs.data_files`), which no output
            may be written over (:func:`learnprog.outputs.refuse_data_file`); empty when not
            known (a caller's own unit of work factory).
    """

    uow_factory: UnitOfWorkFactory
    mailer: Mailer
    clock: Clock
    settings: Settings
    signer: TokenSigner
    data_files: DataFiles = ()


P = ParamSpec("P")
R = TypeVar("R")


def retry_on(
    error: type[Exception] | tuple[type[Exception], ...], *, attempts: int = 2
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a service step (one unit of work) to run again when it raises ``error``.

    Only for errors that a new run can get past: a concurrent unit of work got in the way and
    nothing of this one was stored (:class:`~learnprog.errors.ConcurrencyError`: a
    compare-and-set that found the record changed, a deadlock or serialization failure the
    database rolled back), or, where the step is an insert-or-get, a duplicate key that a
    concurrent unit of work committed first (see :data:`retry_if_stored_meanwhile`). The next
    run reads what the other stored. The error of the last of ``attempts`` runs is raised.
    """

    def decorate(method: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(method)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            for _ in range(attempts - 1):
                try:
                    return method(*args, **kwargs)
                except error:
                    continue
            return method(*args, **kwargs)

        return run

    return decorate


retry_if_stale = retry_on(ConcurrencyError)
"""Run a step once more when a concurrent unit of work got in the way
(:class:`~learnprog.errors.ConcurrencyError`): a compare-and-set write that found the record
changed (``StaleDataError``), or a deadlock or serialization failure the database rolled back
(``ConcurrentWriteError``). An invitation accepted meanwhile is then found accepted (accepting
twice changes nothing) and a member removed meanwhile is found removed (a ConflictError saying
so). A duplicate key is not retried: the same call meets it again."""

retry_if_stored_meanwhile = retry_on((ConcurrencyError, ConflictError), attempts=3)
"""Run an insert-or-get step again when a concurrent unit of work stored the same key first.

For steps that look a record up by a unique key and add it when it is missing (an invitation,
a message under an idempotency key): when two run at once, both find nothing, and the one
that commits second is refused by the unique key (a ``ConflictError``, the whole unit of work
rolled back) or deadlocks (a ``ConcurrencyError``). Run again, it finds the record the other
stored and answers as a sequential run does (``already_invited``, the earlier message). Only
for steps whose sole ``ConflictError`` is such a duplicate: a step that refuses a duplicate
as its rule would only meet it again (those retry on ``ConcurrencyError`` alone). Three runs,
so that a third concurrent call that waited on the first two also gets through."""


class Service:
    """Base of the services: holds the context and offers the shared steps."""

    def __init__(self, context: ServiceContext) -> None:
        self._context = context

    def _uow(self) -> UnitOfWork:
        return self._context.uow_factory()

    def _now(self) -> datetime:
        return self._context.clock.now()

    @staticmethod
    def _grants(uow: UnitOfWork, actor: Actor, organization_id: str) -> Sequence[AdminGrant]:
        if isinstance(actor, OrgAdminActor | ProgramAdminActor | LearnerActor):
            return uow.admins.list_for_learner(organization_id, actor.learner_id)
        return ()

    @contextmanager
    def _as_org_admin(
        self,
        actor: Actor,
        organization_id: str,
        what: str,
        *,
        allow_system: bool = False,
        hold: bool = False,
    ) -> Iterator[tuple[UnitOfWork, Organization]]:
        """Open a unit of work, load the organization and require an organization admin.

        With ``hold``, the organization is held first
        (:meth:`~learnprog.storage.ports.OrganizationRepository.lock`), so that changes of its
        admins take turns.

        Raises:
            NotFoundError: no such organization.
            PermissionDeniedError: the actor is not an organization admin of it.
        """
        record_id(organization_id, field="organization_id")
        with self._uow() as uow:
            if hold:
                uow.organizations.lock(organization_id)
            org = uow.organizations.get(organization_id)
            grants = self._grants(uow, actor, org.id)
            require_org_admin(actor, org.id, grants, what, allow_system=allow_system)
            yield uow, org

    @contextmanager
    def _as_any_admin(self, actor: Actor, organization_id: str, what: str) -> Iterator[UnitOfWork]:
        """Open a unit of work and require an organization or program admin of the organization.

        Raises:
            PermissionDeniedError: the actor is no admin of the organization.
        """
        record_id(organization_id, field="organization_id")
        with self._uow() as uow:
            require_any_admin(
                actor, organization_id, self._grants(uow, actor, organization_id), what
            )
            yield uow

    def _program(self, uow: UnitOfWork, actor: Actor, program_id: str, what: str) -> Program:
        """Load a program and require an admin of it (or an organization admin).

        Raises:
            NotFoundError: no such program.
            PermissionDeniedError: the actor administers neither the program nor its
                organization.
        """
        program = uow.programs.get(record_id(program_id, field="program_id"))
        require_program_admin(
            actor,
            program.organization_id,
            program.id,
            self._grants(uow, actor, program.organization_id),
            what,
        )
        return program

    def _audit_created(
        self,
        uow: UnitOfWork,
        actor: Actor,
        action: str,
        record: Any,
        *,
        organization_id: str,
        program_id: str | None = None,
    ) -> None:
        """Record the creation of ``record`` (object type: the action's first word)."""
        self._audit(
            uow,
            actor,
            action=action,
            organization_id=organization_id,
            object_type=action.split(".", 1)[0],
            object_id=record.id,
            before=None,
            after=record,
            program_id=program_id,
        )

    def _audit_change(
        self,
        uow: UnitOfWork,
        actor: Actor,
        action: str,
        before: Any,
        after: Any,
        *,
        object_type: str,
        program_id: str | None = None,
        organization_id: str | None = None,
    ) -> None:
        """Record the change of a stored record (its ID and organization taken from ``after``).

        A record without an ``organization_id`` (a program's collection) names it here.
        """
        organization_id = organization_id or getattr(after, "organization_id", None) or after.id
        self._audit(
            uow,
            actor,
            action=action,
            organization_id=organization_id,
            object_type=object_type,
            object_id=after.id,
            before=before,
            after=after,
            program_id=program_id,
        )

    def _audit(
        self,
        uow: UnitOfWork,
        actor: Actor,
        *,
        action: str,
        organization_id: str,
        object_type: str,
        object_id: str,
        before: object | None,
        after: object | None,
        program_id: str | None = None,
    ) -> None:
        changes = field_changes(
            None if before is None else to_json_value(before),
            None if after is None else to_json_value(after),
        )
        if before is not None and after is not None and not changes:
            return  # an update that changed nothing is not a change
        uow.audit.add(
            AuditEntry.record(
                organization_id=organization_id,
                actor=actor.describe(),
                action=action,
                object_type=object_type,
                object_id=object_id,
                now=self._now(),
                program_id=program_id,
                changes=changes,
            )
        )
