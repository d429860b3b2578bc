"""Model timestamps are aware UTC, enforced by attrs converters, including through evolve."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest

from learnprog.errors import ValidationError
from learnprog.model.access import AdminGrant, AdminRole
from learnprog.model.activity import AssessmentAttempt, EventKind, LearningEvent
from learnprog.model.audit import AuditEntry
from learnprog.model.catalog import Assessment, Course, Specialization
from learnprog.model.learner import Learner, Membership, MemberState
from learnprog.model.mail import MessageCategory, OutboxEntry, OutgoingMessage
from learnprog.model.organization import Contract, Organization, Program

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PLUS2 = timezone(timedelta(hours=2))
LOCAL = datetime(2026, 3, 2, 11, 0, tzinfo=PLUS2)  # the same instant as NOW
NAIVE = datetime(2026, 3, 2, 9, 0)


def _objects() -> list[tuple[Any, str]]:
    org = Organization.create("Acme", now=NOW)
    prog = Program.create(org.id, "Data", now=NOW, slug="data")
    course = Course.create("o", course_id="c", slug="c", name="C", now=NOW)
    message = OutgoingMessage.compose(
        organization_id="o",
        category=MessageCategory.ADMIN,
        to="a@example.org",
        subject="S",
        text_body="B",
        sender_address="s@example.org",
        message_domain="example.org",
    )
    return [
        (org, "created_at"),
        (prog, "created_at"),
        (prog, "removed_at"),
        (
            Contract.create(
                "o", "C", kind="unlimited", starts_at=NOW, ends_at=NOW + timedelta(days=1)
            ),
            "ends_at",
        ),
        (Learner.create("o", "Ana", "a@example.org", now=NOW), "created_at"),
        (Membership.invite("o", "p", "l", "c", now=NOW), "invited_at"),
        (Membership.invite("o", "p", "l", "c", now=NOW), "joined_at"),
        (Assessment.create("Q"), "due_at"),
        (course, "class_start"),
        (
            Specialization.create("o", slug="s", name="S", courses=[course], now=NOW),
            "created_at",
        ),
        (LearningEvent("e", "l", "c", "i", EventKind.STARTED, NOW), "at"),
        (AssessmentAttempt("a", "l", "c", "q", 50.0, NOW), "submitted_at"),
        (
            AuditEntry.record(
                organization_id="o",
                actor="system",
                action="a",
                object_type="t",
                object_id="i",
                now=NOW,
            ),
            "at",
        ),
        (OutboxEntry.queue(message, now=NOW), "next_attempt_at"),
        (OutboxEntry.queue(message, now=NOW), "sent_at"),
    ]


OBJECTS = _objects()
IDS = [f"{type(obj).__name__}.{name}" for obj, name in OBJECTS]


@pytest.mark.parametrize(("obj", "name"), OBJECTS, ids=IDS)
def test_evolve_converts_to_utc(obj: Any, name: str) -> None:
    changed = attrs.evolve(obj, **{name: LOCAL})
    value = getattr(changed, name)
    assert value == NOW
    assert value.tzinfo is UTC
    assert value.hour == 9


@pytest.mark.parametrize(("obj", "name"), OBJECTS, ids=IDS)
def test_evolve_with_naive_datetime_raises(obj: Any, name: str) -> None:
    with pytest.raises(ValidationError, match="naive datetime"):
        attrs.evolve(obj, **{name: NAIVE})


def test_constructor_converts_to_utc() -> None:
    membership = Membership("m", "o", "p", "l", "c", MemberState.INVITED, LOCAL)
    assert membership.invited_at.tzinfo is UTC
    assert membership.invited_at.hour == 9


def test_constructor_rejects_naive() -> None:
    with pytest.raises(ValidationError, match="naive datetime"):
        Organization("id", "Acme", NAIVE)


def test_optional_timestamps_accept_none() -> None:
    prog = Program.create("o", "Data", now=NOW, slug="data")
    removed = attrs.evolve(prog, removed_at=LOCAL)
    assert removed.is_removed
    assert attrs.evolve(removed, removed_at=None).removed_at is None


def test_admin_grant_time_normalized_to_utc() -> None:
    grant = AdminGrant("o", "l", AdminRole.ORGANIZATION, LOCAL)
    assert grant.granted_at.tzinfo is UTC
    with pytest.raises(ValidationError, match="naive datetime"):
        AdminGrant("o", "l", AdminRole.ORGANIZATION, NAIVE)
