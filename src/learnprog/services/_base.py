"""What every service shares: its ports, the clock, the audit trail and the grant look-up."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

from attrs import frozen

from learnprog.clock import Clock
from learnprog.mail.ports import Mailer
from learnprog.model.access import (
    Actor,
    AdminGrant,
    LearnerActor,
    OrgAdminActor,
    ProgramAdminActor,
)
from learnprog.model.audit import AuditEntry, field_changes
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
    """

    uow_factory: UnitOfWorkFactory
    mailer: Mailer
    clock: Clock
    settings: Settings
    signer: TokenSigner


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
