"""``learnprog worker`` processes: scale-out on one database, and a clean stop on a signal.

Real processes (the installed ``learnprog`` command), a real database and a real SMTP server
(aiosmtpd on 127.0.0.1).
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

import learnprog
from learnprog.mail.smtp import SmtpMailer
from learnprog.model import OutboxStatus, SystemActor
from tests.jobs.conftest import (
    SECRET,
    Inbox,
    Worker,
    mail_counts,
    migrated,
    queue_messages,
    start_smtp,
    wait_until,
)


def _statuses(url: str) -> dict[OutboxStatus, int]:
    lp = learnprog.connect(
        url, settings=learnprog.Settings(secret_key=SECRET), mailer=learnprog.InMemoryMailer()
    )
    try:
        with lp.context.uow_factory() as uow:
            org_ids = [o.id for o in uow.organizations.list()]
            entries = [
                e for o in org_ids for e in uow.outbox.list_for_organization(o, limit=100_000)
            ]
    finally:
        lp.close()
    counts: dict[OutboxStatus, int] = {}
    for entry in entries:
        counts[entry.status] = counts.get(entry.status, 0) + 1
    return counts


@pytest.mark.parametrize(
    "backend",
    [
        pytest.param("postgresql", marks=pytest.mark.postgresql),
        pytest.param("mariadb", marks=pytest.mark.mariadb),
    ],
)
def test_two_worker_processes_drain_a_thousand_messages_with_none_lost(
    backend: str, engine_pool: Callable[[str], Engine], tmp_path: Path
) -> None:
    url = migrated(backend, engine_pool, tmp_path)
    inbox = Inbox(delay=0.002)  # a server taking 2 ms a message: both workers get a share
    controller = start_smtp(inbox)
    port = int(controller.port)
    workers: list[Worker] = []
    try:
        workers = [Worker(url, port, tmp_path, "--every", "0.5") for _ in range(2)]
        wait_until(  # both are polling before the first message is queued
            lambda: all(w.started() for w in workers), 60, "both workers to start"
        )
        ids = queue_messages(url, 1000)
        wait_until(lambda: set(inbox.received()) >= set(ids), 300, "every message")
        wait_until(lambda: _statuses(url).get(OutboxStatus.SENT) == 1000, 60, "every outcome")
        logs = [w.stop() for w in workers]
    finally:
        for w in workers:
            w.kill()
        controller.stop()
    assert [status for status, _ in logs] == [0, 0], logs
    received = inbox.received()
    assert set(received) == set(ids)  # none lost, nothing else sent
    duplicates = sum(received.values()) - len(ids)
    counts = [mail_counts(log) for _, log in logs]
    lost = sum(c[1] for c in counts)
    # at least once: a message goes twice only when a claim ran out after its send (counted as
    # lost by the worker that sent it first); with a 5-minute lease, that never happens here
    assert duplicates <= lost
    assert duplicates == 0
    assert sum(c[0] for c in counts) == 1000  # every send recorded, by one worker or the other
    assert all(c[0] > 0 for c in counts), f"a worker sent nothing: {counts}"
    assert _statuses(url) == {OutboxStatus.SENT: 1000}


@pytest.mark.parametrize(
    ("backend", "signum"),
    [
        pytest.param("sqlite", signal.SIGTERM, marks=pytest.mark.sqlite, id="sqlite-SIGTERM"),
        pytest.param(
            "postgresql", signal.SIGTERM, marks=pytest.mark.postgresql, id="postgresql-SIGTERM"
        ),
        pytest.param("mariadb", signal.SIGTERM, marks=pytest.mark.mariadb, id="mariadb-SIGTERM"),
        pytest.param(
            "postgresql", signal.SIGINT, marks=pytest.mark.postgresql, id="postgresql-SIGINT"
        ),
    ],
)
def test_a_signal_mid_run_finishes_the_message_in_hand_releases_the_rest_and_exits_0(
    backend: str, signum: int, engine_pool: Callable[[str], Engine], tmp_path: Path
) -> None:
    url = migrated(backend, engine_pool, tmp_path)
    ids = queue_messages(url, 20)
    inbox = Inbox(hold_at=3)  # the third message is held at the server until the signal
    controller = start_smtp(inbox)
    port = int(controller.port)
    worker = Worker(url, port, tmp_path, "--every", "60")
    try:
        wait_until(inbox.holding.is_set, 60, "the third message to reach the server")
        worker.process.send_signal(signum)
        wait_until(lambda: "received" in worker.log(), 30, "the worker to log the signal")
        inbox.go.set()  # the server answers the message in hand after the signal came
        status, log = worker.stop()
    finally:
        inbox.go.set()
        worker.kill()
    try:
        assert status == 0, log
        assert f"{signal.Signals(signum).name} received" in log
        assert inbox.total() == 3  # the message in hand was finished, nothing after it
        assert mail_counts(log) == (3, 0, 17)  # sent 3, lost 0, released 17
        assert _statuses(url) == {OutboxStatus.SENT: 3, OutboxStatus.PENDING: 17}
        # another worker takes the rest at once: nothing waits for the 5-minute lease
        other = learnprog.connect(
            url,
            settings=learnprog.Settings(secret_key=SECRET),
            mailer=SmtpMailer("127.0.0.1", port, security="none"),
        )
        try:
            report = other.jobs.run_due(SystemActor(), only=["mail"])
        finally:
            other.close()
        assert report.mail is not None
        assert report.mail.sent == 17
        assert set(inbox.received()) == set(ids)
        assert sum(inbox.received().values()) == 20  # each message once
    finally:
        controller.stop()
