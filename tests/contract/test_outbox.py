"""The outbox contract: mail queued with the change that causes it, on every backend."""

from __future__ import annotations

from datetime import timedelta

import pytest
from attrs import evolve

from learnprog.errors import NotFoundError
from learnprog.model import MessageCategory, OutboxEntry, OutboxStatus, OutgoingMessage
from tests import factories as f
from tests.conftest import UowFactory


def _message(org_id: str, to: str = "ana@example.org", **extra: object) -> OutgoingMessage:
    return OutgoingMessage.compose(
        organization_id=org_id,
        category=MessageCategory.TRANSACTIONAL,
        to=to,
        subject="Équipe Formação — convite",
        text_body="Olá Ana\nBem-vinda",
        html_body="<p>Olá <b>Ana</b></p>",
        sender_address="learning@example.com",
        sender_name="Équipe Formação",
        message_domain="example.com",
        to_name="Ana Lima",
        template="invitation",
        headers={"List-Unsubscribe": "<https://x.example/u?t=abc>"},
        **extra,  # type: ignore[arg-type]
    )


def test_mail_is_queued_atomically_with_the_change(uow_factory: UowFactory) -> None:
    org = f.organization()
    person = f.learner(org)
    with uow_factory() as uow:
        uow.organizations.add(org)
        uow.commit()
    # a change that is rolled back takes its mail with it
    with uow_factory() as uow:
        uow.learners.add(person)
        uow.outbox.add(OutboxEntry.queue(_message(org.id), now=f.NOW))
    with uow_factory() as uow:
        assert uow.outbox.list_due(f.NOW) == []
        assert uow.learners.list_for_organization(org.id) == []
    # a committed change has its mail queued
    entry = OutboxEntry.queue(_message(org.id), now=f.NOW)
    with uow_factory() as uow:
        uow.learners.add(person)
        uow.outbox.add(entry)
        uow.commit()
    with uow_factory() as uow:
        assert uow.outbox.list_due(f.NOW) == [entry]
        assert uow.outbox.get(entry.id) == entry


def test_outbox_lists_only_pending_entries_that_are_due_oldest_first(
    uow_factory: UowFactory,
) -> None:
    org = f.organization()
    first = OutboxEntry.queue(_message(org.id, "a@example.org"), now=f.NOW)
    second = OutboxEntry.queue(_message(org.id, "b@example.org"), now=f.NOW + timedelta(1))
    later = OutboxEntry.queue(_message(org.id, "c@example.org"), now=f.NOW + timedelta(minutes=2))
    with uow_factory() as uow:
        uow.organizations.add(org)
        for e in (later, second, first):
            uow.outbox.add(e)
        uow.commit()
    with uow_factory() as uow:
        assert uow.outbox.list_due(f.NOW + timedelta(minutes=1)) == [first]
        assert uow.outbox.list_due(f.NOW + timedelta(days=2)) == [first, later, second]
        assert uow.outbox.list_due(f.NOW + timedelta(days=2), limit=1) == [first]
        uow.outbox.update(first.sent(f.NOW + timedelta(minutes=3)))
        retry = later.failed(f.NOW, "421 try later", retry_at=f.NOW + timedelta(hours=1))
        uow.outbox.update(retry)
        uow.commit()
    with uow_factory() as uow:
        due = uow.outbox.list_due(f.NOW + timedelta(minutes=30))
        assert due == []
        stored = uow.outbox.get(first.id)
        assert stored.status is OutboxStatus.SENT
        assert stored.attempts == 1
        assert uow.outbox.get(later.id) == retry
        assert len(uow.outbox.list_for_organization(org.id)) == 3


def test_outbox_keeps_the_message_exactly(uow_factory: UowFactory) -> None:
    org = f.organization()
    message = _message(
        org.id, "Zoë@bücher.example", reply_to="replies@example.org", learner_id="L1"
    )
    entry = OutboxEntry.queue(message, now=f.NOW)
    with uow_factory() as uow:
        uow.organizations.add(org)
        uow.outbox.add(entry)
        uow.commit()
    with uow_factory() as uow:
        stored = uow.outbox.get(entry.id)
    assert stored.message == message
    assert stored.message.message_id == message.message_id
    assert stored.message.to.address == "Zoë@bücher.example"
    assert stored.message.headers == {"List-Unsubscribe": "<https://x.example/u?t=abc>"}


def test_outbox_update_of_missing_entry_is_not_found(uow_factory: UowFactory) -> None:
    org = f.organization()
    entry = OutboxEntry.queue(_message(org.id), now=f.NOW)
    with uow_factory() as uow:
        uow.organizations.add(org)
        with pytest.raises(NotFoundError):
            uow.outbox.update(evolve(entry, attempts=1))


def test_a_claim_releases_only_what_it_still_holds_and_it_is_due_at_once(
    uow_factory: UowFactory,
) -> None:
    org = f.organization()
    entries = sorted(  # claimed oldest first, then by ID
        (
            OutboxEntry.queue(_message(org.id, f"learner{i}@example.org"), now=f.NOW)
            for i in range(4)
        ),
        key=lambda e: e.id,
    )
    with uow_factory() as uow:
        uow.organizations.add(org)
        uow.outbox.add_many(entries)
        uow.commit()
    lease = f.NOW + timedelta(minutes=5)
    with uow_factory() as uow:
        claimed = uow.outbox.claim_due(f.NOW, limit=3, claim_id="a", lease_until=lease)
        uow.commit()
    assert [e.id for e in claimed] == [e.id for e in entries[:3]]
    later = f.NOW + timedelta(seconds=30)
    with uow_factory() as uow:  # the first one reached its outcome
        assert uow.outbox.finish(claimed[0].sent(later), "a")
        uow.commit()
    ids = [e.id for e in entries]  # the unclaimed fourth and an unknown ID are left alone
    with uow_factory() as uow:
        assert uow.outbox.release([*ids, "no-such-entry"], "b", later) == 0
        assert uow.outbox.release([*ids, ids[1], "no-such-entry"], "a", later) == 2
        uow.commit()
    with uow_factory() as uow:
        stored = {e.id: uow.outbox.get(e.id) for e in entries}
        assert uow.outbox.release(ids, "a", later) == 0  # nothing held any more
    assert stored[ids[0]].status is OutboxStatus.SENT
    for entry in claimed[1:]:
        assert stored[entry.id] == evolve(entry, status=OutboxStatus.PENDING, claim_id=None,
                                          next_attempt_at=later)  # fmt: skip
    assert stored[ids[3]] == entries[3]
    # another dispatcher takes them at once, long before the first claim's lease ends
    with uow_factory() as uow:
        again = uow.outbox.claim_due(later, limit=10, claim_id="c", lease_until=lease)
        uow.commit()
    assert [e.id for e in again] == ids[1:]
