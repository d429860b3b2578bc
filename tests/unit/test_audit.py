"""Unit tests of learnprog.model.audit: field_changes and AuditEntry.record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from learnprog.errors import ValidationError
from learnprog.model.audit import AuditEntry, field_changes

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_field_changes_only_differences_in_name_order() -> None:
    before = {"name": "Old", "tagline": "t", "limit": 3, "banner": None}
    after = {"tagline": "t", "name": "New", "limit": 4, "banner": None}
    changes = field_changes(before, after)
    assert changes == {"limit": [3, 4], "name": ["Old", "New"]}
    assert list(changes) == ["limit", "name"]


def test_field_changes_creation() -> None:
    changes = field_changes(None, {"b": 2, "a": 1, "c": None, "d": 0, "e": ""})
    assert changes == {"a": [None, 1], "b": [None, 2], "d": [None, 0], "e": [None, ""]}
    assert list(changes) == ["a", "b", "d", "e"]  # name order; a field without a value: none


def test_field_changes_deletion() -> None:
    assert field_changes({"a": 1}, None) == {"a": [1, None]}


def test_field_changes_missing_key_shows_none() -> None:
    assert field_changes({"a": 1}, {"b": 2}) == {"a": [1, None], "b": [None, 2]}


def test_field_changes_missing_equals_none_value() -> None:
    # A key absent on one side and None on the other is no change.
    assert field_changes({"a": None}, {}) == {}


def test_field_changes_identical_and_empty() -> None:
    assert field_changes({"a": [1, 2]}, {"a": [1, 2]}) == {}
    assert field_changes(None, None) == {}


def test_field_changes_does_not_mutate_inputs() -> None:
    before = {"a": 1}
    after = {"a": 2}
    field_changes(before, after)
    assert before == {"a": 1}
    assert after == {"a": 2}


def test_audit_entry_record() -> None:
    changes = {"name": ["Old", "New"]}
    entry = AuditEntry.record(
        organization_id="org-1",
        actor="org_admin:alice",
        action="program.update",
        object_type="program",
        object_id="prog-1",
        now=datetime(2026, 3, 2, 10, 0, tzinfo=timezone(timedelta(hours=1))),
        program_id="prog-1",
        changes=changes,
    )
    assert entry.at == NOW
    assert entry.at.tzinfo is UTC
    assert entry.changes == changes
    assert entry.changes is not changes
    assert (entry.actor, entry.action, entry.program_id) == (
        "org_admin:alice",
        "program.update",
        "prog-1",
    )


def test_audit_entry_record_without_changes() -> None:
    entry = AuditEntry.record(
        organization_id="o", actor="system", action="a", object_type="t", object_id="i", now=NOW
    )
    assert entry.changes == {}
    assert entry.program_id is None


def test_audit_entry_naive_now() -> None:
    with pytest.raises(ValidationError, match="naive") as info:
        AuditEntry.record(
            organization_id="o",
            actor="system",
            action="a",
            object_type="t",
            object_id="i",
            now=datetime(2026, 3, 2),
        )
    assert info.value.field == "now"
