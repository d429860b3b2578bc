"""The mail storage contract: outbox claims, delivery records and opt-outs, on every backend."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from learnprog.errors import ValidationError
from learnprog.model import (
    DeliveryAttempt,
    DeliveryOutcome,
    EmailOptOut,
    MessageCategory,
    OutboxEntry,
    OutboxStatus,
    OutgoingMessage,
)
from learnprog.model.identity import new_id
from tests import factories as f
from tests.conftest import UowFactory

LEASE = timedelta(minutes=5)


def _queue(uow_factory: UowFactory, count: int) -> tuple[str, list[OutboxEntry]]:
    org = f.organization()
    entries = [
        OutboxEntry.queue(
            OutgoingMessage.compose(
                organization_id=org.id,
                category=MessageCategory.ANNOUNCEMENT,
                to=f"learner{i}@example.org",
                subject=f"Hello {i}",
                text_body="Hi",
                sender_address="learning@example.com",
                message_domain="example.com",
            ),
            now=f.NOW + timedelta(seconds=i),
        )
        for i in range(count)
    ]
    with uow_factory() as uow:
        uow.organizations.add(org)
        for entry in entries:
            uow.outbox.add(entry)
        uow.commit()
    return org.id, entries


def test_a_claim_takes_due_entries_oldest_first_and_hides_them_until_the_lease_ends(
    uow_factory: UowFactory,
) -> None:
    _, entries = _queue(uow_factory, 3)
    now = f.NOW + timedelta(minutes=1)
    with uow_factory() as uow:
        first = uow.outbox.claim_due(now, limit=2, claim_id="a", lease_until=now + LEASE)
        uow.commit()
    assert [e.id for e in first] == [entries[0].id, entries[1].id]
    assert all(e.status is OutboxStatus.SENDING and e.claim_id == "a" for e in first)
    with uow_factory() as uow:
        second = uow.outbox.claim_due(now, limit=10, claim_id="b", lease_until=now + LEASE)
        uow.commit()
    assert [e.id for e in second] == [entries[2].id]
    later = now + LEASE + timedelta(seconds=1)
    with uow_factory() as uow:  # the leases ran out: a third dispatcher may take them over
        third = uow.outbox.claim_due(later, limit=10, claim_id="c", lease_until=later + LEASE)
        uow.commit()
    assert sorted(e.id for e in third) == sorted(e.id for e in entries)


def test_finishing_needs_the_claim_still_held(uow_factory: UowFactory) -> None:
    _, entries = _queue(uow_factory, 1)
    now = f.NOW + timedelta(minutes=1)
    with uow_factory() as uow:
        (claimed,) = uow.outbox.claim_due(now, limit=1, claim_id="a", lease_until=now + LEASE)
        uow.commit()
    later = now + LEASE * 2
    with uow_factory() as uow:
        (taken_over,) = uow.outbox.claim_due(
            later, limit=1, claim_id="b", lease_until=later + LEASE
        )
        uow.commit()
    with uow_factory() as uow:
        assert not uow.outbox.finish(claimed.sent(later), "a")  # "a" lost its claim
        assert uow.outbox.finish(taken_over.sent(later), "b")
        uow.commit()
    with uow_factory() as uow:
        stored = uow.outbox.get(entries[0].id)
        assert stored.status is OutboxStatus.SENT
        assert stored.claim_id is None
        assert not uow.outbox.finish(stored, "b")  # nothing to finish once sent
        far = later + LEASE * 9
        assert uow.outbox.claim_due(far, limit=5, claim_id="c", lease_until=far) == []


def test_concurrent_claims_never_share_an_entry(uow_factory: UowFactory) -> None:
    _, entries = _queue(uow_factory, 30)
    now = f.NOW + timedelta(minutes=1)
    claims: dict[str, list[str]] = {}
    lock = threading.Lock()
    start = threading.Barrier(4)

    def dispatcher(name: str) -> None:
        start.wait()
        got: list[str] = []
        while True:
            with uow_factory() as uow:
                batch = uow.outbox.claim_due(now, limit=4, claim_id=name, lease_until=now + LEASE)
                uow.commit()
            if not batch:
                break
            got.extend(e.id for e in batch)
        with lock:
            claims[name] = got

    threads = [threading.Thread(target=dispatcher, args=(f"d{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    everything = [i for got in claims.values() for i in got]
    assert sorted(everything) == sorted(e.id for e in entries)  # each exactly once


def test_delivery_attempts_are_kept_in_order(uow_factory: UowFactory) -> None:
    org_id, entries = _queue(uow_factory, 1)
    entry = entries[0]
    attempts = [
        DeliveryAttempt.of(
            entry, attempt=1, at=f.NOW, outcome=DeliveryOutcome.RETRY, detail="421 try later"
        ),
        DeliveryAttempt.of(entry, attempt=2, at=f.NOW, outcome=DeliveryOutcome.SENT),
    ]
    with uow_factory() as uow:
        for a in attempts:
            uow.deliveries.add(a)
        uow.commit()
    with uow_factory() as uow:
        assert uow.deliveries.list_for_outbox(entry.id) == attempts
        assert uow.deliveries.list_for_organization(org_id) == attempts[::-1]
        assert uow.deliveries.list_for_organization(org_id, limit=1, offset=1) == attempts[:1]


def test_opt_outs_are_per_learner_and_category(uow_factory: UowFactory) -> None:
    org = f.organization()
    ana, bruno = f.learner(org, "ana@example.org"), f.learner(org, "bruno@example.org", "Bruno")
    with uow_factory() as uow:
        uow.organizations.add(org)
        uow.learners.add(ana)
        uow.learners.add(bruno)
        uow.email_preferences.add(EmailOptOut(org.id, ana.id, MessageCategory.ANNOUNCEMENT, f.NOW))
        uow.email_preferences.add(
            EmailOptOut(org.id, ana.id, MessageCategory.ANNOUNCEMENT, f.NOW)
        )  # no-op
        uow.email_preferences.add(EmailOptOut(org.id, ana.id, MessageCategory.ADMIN, f.NOW))
        uow.commit()
    with uow_factory() as uow:
        assert uow.email_preferences.opt_outs(ana.id) == {
            MessageCategory.ANNOUNCEMENT,
            MessageCategory.ADMIN,
        }
        assert uow.email_preferences.opt_outs(bruno.id) == frozenset()
        uow.email_preferences.remove(ana.id, MessageCategory.ADMIN)
        uow.email_preferences.remove(bruno.id, MessageCategory.ADMIN)  # nothing to remove
        uow.commit()
    with uow_factory() as uow:
        assert uow.email_preferences.opt_outs(ana.id) == {MessageCategory.ANNOUNCEMENT}


def test_transactional_mail_cannot_be_opted_out_of() -> None:
    with pytest.raises(ValidationError, match="transactional"):
        EmailOptOut("o", new_id(), MessageCategory.TRANSACTIONAL, f.NOW)
