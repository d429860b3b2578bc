"""An admin message through a real SMTP server: a failure on one recipient is retried alone."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import learnprog
from learnprog.clock import FixedClock
from learnprog.mail.smtp import SmtpMailer
from tests.conftest import START
from tests.mail.conftest import SmtpServer
from tests.services.world import SYSTEM, World


def test_a_retry_after_an_smtp_failure_on_the_second_recipient_reaches_everyone_once(
    smtp_server: SmtpServer,
) -> None:
    clock = FixedClock(START)
    mailer = SmtpMailer(smtp_server.host, smtp_server.port, security="none", clock=clock)
    settings = learnprog.Settings(secret_key="test-secret-test-secret")
    lp = learnprog.connect("memory://", settings=settings, clock=clock, mailer=mailer)
    w = World(lp, licenses=10)
    people = [f"p{i}@acme.example" for i in range(3)]
    for email in people:
        w.invite(email, email.split("@")[0].upper(), send_email=False)
        w.accept(email)
    lp.mail.dispatch(SYSTEM)  # the welcome emails
    smtp_server.recorder.envelopes.clear()

    smtp_server.recorder.refuse[people[1]] = "451 4.3.0 mailbox busy, try later"
    sent = lp.messaging.send(
        w.admin, w.org.id, "all_members", agree_to_terms=True, idempotency_key="news-1"
    )
    assert sent.recipients == 3
    first = lp.mail.dispatch(SYSTEM)
    assert (first.sent, first.retried) == (2, 1)
    again = lp.messaging.send(  # the admin clicks send again: nothing more is queued
        w.admin, w.org.id, "all_members", agree_to_terms=True, idempotency_key="news-1"
    )
    assert again.id == sent.id
    del smtp_server.recorder.refuse[people[1]]
    clock.advance(timedelta(minutes=5))
    second = lp.mail.dispatch(SYSTEM)
    assert (second.sent, second.retried) == (1, 0)
    received = Counter(to for e in smtp_server.recorder.envelopes for to in e.rcpt_tos)
    assert received == dict.fromkeys(people, 1)
