"""AuditLog: reading the record of every change an admin made."""

from __future__ import annotations

from collections.abc import Sequence

from learnprog.errors import NotFoundError
from learnprog.model._rules import record_id, whole_number
from learnprog.model.access import (
    Actor,
    require_any_admin,
    require_org_admin,
    require_program_admin,
)
from learnprog.model.audit import AuditEntry
from learnprog.services._base import Service


class AuditLog(Service):
    """The audit log, per organization and per program."""

    def entries(
        self,
        actor: Actor,
        organization_id: str,
        *,
        program_id: str | None = None,
        object_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> Sequence[AuditEntry]:
        """Return audit entries, newest first: who, what, which object, when, and the changes.

        Organization admins read the whole organization's log; a program admin must name one of
        their programs and reads that program's entries.

        Args:
            actor: an organization admin, or a program admin with ``program_id``.
            organization_id: the organization.
            program_id: only entries about this program.
            object_id: only entries about this record.
            limit: at most this many entries (1-1000).
            offset: skip this many (for paging).

        Raises:
            PermissionDeniedError: not allowed to read that log.
            ValidationError: ``limit`` outside 1-1000, a negative ``offset``, or an ID that is
                not text.
            NotFoundError: ``program_id`` is not a program of the organization.
        """
        whole_number(limit, field="limit", minimum=1, maximum=1000, allow_none=False)
        whole_number(offset, field="offset", allow_none=False)
        record_id(organization_id, field="organization_id")
        with self._uow() as uow:
            grants = self._grants(uow, actor, organization_id)
            if program_id is None:
                require_org_admin(actor, organization_id, grants, "read the audit log")
            else:
                # the actor must belong to the organization before any program is looked up
                require_any_admin(actor, organization_id, grants, "read the audit log")
                program = uow.programs.get(record_id(program_id, field="program_id"))
                if program.organization_id != organization_id:
                    raise NotFoundError("program", program_id)
                require_program_admin(
                    actor, organization_id, program_id, grants, "read the program's audit log"
                )
            return uow.audit.list(
                organization_id,
                program_id=program_id,
                object_id=object_id,
                limit=limit,
                offset=offset,
            )
