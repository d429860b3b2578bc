"""The audit log: every change an admin makes, with the fields before and after."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from attrs import field, frozen

from learnprog.model._rules import FrozenDict, frozen_dict, to_utc, utc
from learnprog.model._typecheck import checked
from learnprog.model.identity import new_id


@checked
@frozen
class AuditEntry:
    """One change on record.

    Attributes:
        id: record ID.
        organization_id: the organization the change belongs to.
        program_id: the program it touched, or ``None`` for organization-wide changes.
        actor: who made it, as ``kind:learner_id`` (``org_admin:3f2a...``) or ``system``.
        action: what was done (``program.update``).
        object_type: the kind of record changed (``program``).
        object_id: the changed record's ID.
        changes: field name -> ``[before, after]`` in JSON form (``None`` where absent).
        at: aware UTC time of the change.
    """

    id: str
    organization_id: str
    actor: str
    action: str
    object_type: str
    object_id: str
    at: datetime = field(converter=to_utc)
    program_id: str | None = None
    changes: Mapping[str, list[Any]] = field(factory=FrozenDict, converter=frozen_dict)

    @classmethod
    def record(
        cls,
        *,
        organization_id: str,
        actor: str,
        action: str,
        object_type: str,
        object_id: str,
        now: datetime,
        program_id: str | None = None,
        changes: Mapping[str, list[Any]] | None = None,
    ) -> AuditEntry:
        """Make a new entry stamped ``now``."""
        return cls(
            new_id(),
            organization_id,
            actor,
            action,
            object_type,
            object_id,
            utc(now, field="now"),
            program_id,
            changes or {},  # the converter copies it into a FrozenDict
        )


def field_changes(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> dict[str, list[Any]]:
    """Return the fields that differ between two versions of a record.

    Args:
        before: the record before the change as plain data (field -> value), or ``None`` for a
            creation.
        after: the record after the change as plain data, or ``None`` for a deletion.

    Returns:
        Field name -> ``[before_value, after_value]`` for the fields whose values differ, in
        field-name order; a field missing on one side shows ``None`` there.
    """
    if before is None and after is not None:  # a creation: every field that has a value
        return {k: [None, after[k]] for k in sorted(after) if after[k] is not None}
    old = dict(before or {})
    new = dict(after or {})
    return {
        k: [old.get(k), new.get(k)]
        for k in sorted(old.keys() | new.keys())
        if old.get(k) != new.get(k)
    }
