"""The annotation checks of model classes, and the storage path around them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from learnprog.errors import ValidationError
from learnprog.model._typecheck import from_storage
from learnprog.model.activity import AssessmentAttempt
from learnprog.model.audit import AuditEntry
from learnprog.model.identity import EmailAddress
from learnprog.model.learner import Learner
from learnprog.model.progress import EnrollmentProgress
from learnprog.model.skills import EloSettings

PLUS_TWO = timezone(timedelta(hours=2))


def test_a_checked_class_refuses_a_value_of_the_wrong_type() -> None:
    with pytest.raises(ValidationError, match=r"EnrollmentProgress\.items_total") as info:
        EnrollmentProgress("e1", items_total="ten")  # type: ignore[arg-type]
    assert info.value.field == "items_total"


def test_wrong_types_are_refused_before_a_classs_own_rules_compare_them() -> None:
    at = datetime(2026, 3, 2, 12, 0, tzinfo=PLUS_TWO)
    with pytest.raises(ValidationError, match=r"AssessmentAttempt\.grade cannot be str") as info:
        AssessmentAttempt("a1", "l1", "c1", "q1", "50", at)  # type: ignore[arg-type]
    assert info.value.field == "grade"
    for cut_points in [("a", "b"), 5, (1.0,)]:
        with pytest.raises(ValidationError) as caught:
            EloSettings(cut_points=cut_points)  # type: ignore[arg-type]
        assert caught.value.field == "cut_points"
    with pytest.raises(ValidationError, match="a grade is 0-100"):  # the rule itself still runs
        AssessmentAttempt("a1", "l1", "c1", "q1", 101.0, at)


def test_values_from_storage_skip_the_checks_but_not_the_converters() -> None:
    local = datetime(2026, 3, 2, 12, 0, tzinfo=PLUS_TWO)
    made = from_storage(EnrollmentProgress, enrollment_id="e1", items_total=10, completed_at=local)
    assert made == EnrollmentProgress("e1", items_total=10, completed_at=local)
    assert made.completed_at is not None
    assert made.completed_at.utcoffset() == timedelta(0)  # converted to UTC all the same


def test_a_mappings_keys_and_values_are_checked() -> None:
    at = datetime(2026, 3, 2, 12, 0, tzinfo=PLUS_TWO)
    entry = AuditEntry("a1", "o1", "system", "x.y", "x", "x1", at, None, {"name": [None, "A"]})
    assert entry.changes == {"name": [None, "A"]}
    wrong: list[Any] = [{"name": (None, "A")}, {1: [None, "A"]}, {"name": [None, "A"], 2: []}]
    for changes in wrong:
        with pytest.raises(ValidationError, match=r"AuditEntry\.changes cannot be") as info:
            AuditEntry("a1", "o1", "system", "x.y", "x", "x1", at, None, changes)
        assert info.value.field == "changes"
    address = EmailAddress.parse("ana@acme.example")
    attributes: Any = {"team": 1}
    with pytest.raises(ValidationError, match=r"Learner\.attributes cannot be"):
        Learner("l1", "o1", "Ana", address, at, attributes=attributes)
