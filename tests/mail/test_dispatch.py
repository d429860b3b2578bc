"""The outbox dispatcher: delivery, retries, failures, opt-outs, unsubscribe, concurrency."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from attrs import evolve

import learnprog
from learnprog.clock import FixedClock
from learnprog.errors import InvalidTokenError, PermissionDeniedError, ValidationError
from learnprog.mail.memory import InMemoryMailer
from learnprog.mail.ports import Mailer
from learnprog.mail.rendering import (
    COURSE_WELCOME,
    INVITATION,
    PROGRAM_WELCOME,
    SystemTemplate,
)
from learnprog.mail.smtp import SmtpMailer
from learnprog.model import (
    DeliveryOutcome,
    Learner,
    LearnerActor,
    MessageCategory,
    OutboxStatus,
    OutgoingMessage,
    RetryPolicy,
    SystemActor,
)
from learnprog.services.mail import QueueResult
from learnprog.tokens import TokenPurpose
from tests.conftest import START, UowFactory
from tests.factories import forged
from tests.mail.conftest import SmtpServer

SYSTEM = SystemActor()
EXTRA = {
    "accept_url": "https://learn.example/accept?token=t",
    "course": {"name": "Course", "partner": "Uni"},
}


class World:
    """An organization with a program and learners, over any storage and mailer."""

    def __init__(self, lp: learnprog.Learnprog, learners: int = 2) -> None:
        self.lp = lp
        org = lp.organizations.create_organization(
            SYSTEM,
            "Acme",
            email_domains=["acme.example"],
            admin_name="Ana",
            admin_email="ana@acme.example",
        )
        ana = lp.organizations.resolve_actor(SYSTEM, org.id, "ana@acme.example")
        self.org = org
        self.program = lp.programs.create_program(ana, org.id, "Academy", slug="academy")
        self.learners: list[Learner] = [
            lp.organizations.register_learner(
                SYSTEM, org.id, f"Learner {i}", f"learner{i}@example.org"
            )
            for i in range(learners)
        ]

    def message(
        self, learner: Learner, template: SystemTemplate = PROGRAM_WELCOME
    ) -> OutgoingMessage:
        return self.lp.mail.composer.system_message(
            template,
            organization=self.org,
            program=self.program,
            learner=learner,
            extra=EXTRA,
        )

    def queue(self, *messages: OutgoingMessage) -> list[QueueResult]:
        with self.lp.context.uow_factory() as uow:
            results = [self.lp.mail.composer.queue(uow, m) for m in messages]
            uow.commit()
        return results


def test_queued_mail_is_delivered_once_and_on_record(
    lp: learnprog.Learnprog, mailer: InMemoryMailer
) -> None:
    world = World(lp)
    (result,) = world.queue(world.message(world.learners[0]))
    assert result.queued
    report = lp.mail.dispatch(SYSTEM)
    assert (report.sent, report.retried, report.failed) == (1, 0, 0)
    assert [m.message_id for m in mailer.sent] == [result.message.message_id]
    assert lp.mail.dispatch(SYSTEM).sent == 0  # nothing is sent twice
    ana = lp.organizations.resolve_actor(SYSTEM, world.org.id, "ana@acme.example")
    (record,) = lp.mail.deliveries(ana, world.org.id)
    assert (record.recipient, record.category, record.template, record.outcome) == (
        "learner0@example.org",
        MessageCategory.ANNOUNCEMENT,
        "program_welcome",
        DeliveryOutcome.SENT,
    )
    with lp.context.uow_factory() as uow:
        assert result.entry is not None
        assert uow.outbox.get(result.entry.id).status is OutboxStatus.SENT


def test_a_transient_failure_is_retried_with_backoff_and_sent_once(
    lp: learnprog.Learnprog, mailer: InMemoryMailer, clock: FixedClock
) -> None:
    world = World(lp)
    world.queue(world.message(world.learners[0]))
    mailer.fail_next(2, reason="421 4.3.2 try later")
    assert lp.mail.dispatch(SYSTEM).retried == 1
    assert lp.mail.dispatch(SYSTEM).sent == 0  # not due before its backoff
    clock.advance(timedelta(minutes=1))
    assert lp.mail.dispatch(SYSTEM).retried == 1
    clock.advance(timedelta(minutes=1))
    assert lp.mail.dispatch(SYSTEM).sent == 0  # the second wait is 2 minutes
    clock.advance(timedelta(minutes=1))
    assert lp.mail.dispatch(SYSTEM).sent == 1
    assert len(mailer.sent) == 1
    ana = lp.organizations.resolve_actor(SYSTEM, world.org.id, "ana@acme.example")
    outcomes = [(d.attempt, d.outcome) for d in reversed(lp.mail.deliveries(ana, world.org.id))]
    assert outcomes == [
        (1, DeliveryOutcome.RETRY),
        (2, DeliveryOutcome.RETRY),
        (3, DeliveryOutcome.SENT),
    ]


def test_a_permanent_failure_is_marked_with_the_servers_answer(
    lp: learnprog.Learnprog, mailer: InMemoryMailer, clock: FixedClock
) -> None:
    world = World(lp)
    (result,) = world.queue(world.message(world.learners[0]))
    mailer.fail_next(1, permanent=True, reason="550 5.1.1 no such user")
    assert lp.mail.dispatch(SYSTEM).failed == 1
    clock.advance(timedelta(days=1))
    assert lp.mail.dispatch(SYSTEM).sent == 0
    with lp.context.uow_factory() as uow:
        assert result.entry is not None
        stored = uow.outbox.get(result.entry.id)
    assert stored.status is OutboxStatus.FAILED
    assert stored.last_error == "550 5.1.1 no such user"


def test_retries_stop_after_the_last_attempt(
    lp: learnprog.Learnprog, mailer: InMemoryMailer, clock: FixedClock
) -> None:
    world = World(lp)
    world.queue(world.message(world.learners[0]))
    mailer.fail_next(5)
    policy = RetryPolicy(max_attempts=3)
    reports = []
    for _ in range(4):
        reports.append(lp.mail.dispatch(SYSTEM, retry=policy))
        clock.advance(timedelta(hours=2))
    assert [(r.retried, r.failed) for r in reports] == [(1, 0), (1, 0), (0, 1), (0, 0)]
    assert mailer.sent == []


def test_opt_outs_are_honoured_per_category(
    lp: learnprog.Learnprog, mailer: InMemoryMailer
) -> None:
    world = World(lp)
    lia = world.learners[0]
    actor = LearnerActor(world.org.id, lia.id)
    prefs = lp.mail.set_email_preference(actor, "announcement", receive=False)
    assert prefs == {
        MessageCategory.TRANSACTIONAL: True,
        MessageCategory.ANNOUNCEMENT: False,
        MessageCategory.ADMIN: True,
    }
    welcome, invitation = world.queue(world.message(lia), world.message(lia, INVITATION))
    assert not welcome.queued
    assert welcome.skipped_reason == "opted out of announcement mail"
    assert invitation.queued  # transactional mail is always sent
    assert lp.mail.dispatch(SYSTEM).sent == 1
    assert [m.template for m in mailer.sent] == ["invitation"]
    lp.mail.set_email_preference(actor, "announcement", receive=True)
    assert world.queue(world.message(lia))[0].queued


def test_an_opt_out_after_queueing_skips_the_message(
    lp: learnprog.Learnprog, mailer: InMemoryMailer
) -> None:
    world = World(lp)
    lia = world.learners[0]
    world.queue(world.message(lia, COURSE_WELCOME))
    lp.mail.set_email_preference(LearnerActor(world.org.id, lia.id), "announcement", receive=False)
    report = lp.mail.dispatch(SYSTEM)
    assert (report.sent, report.skipped) == (0, 1)
    assert mailer.sent == []


def test_the_one_click_unsubscribe_link_opts_out_of_its_category(
    lp: learnprog.Learnprog, clock: FixedClock
) -> None:
    world = World(lp)
    lia, bo = world.learners
    header = world.message(lia).headers["List-Unsubscribe"]
    token = header.split("token=", 1)[1].rstrip(">")
    opt_out = lp.mail.unsubscribe(SYSTEM, token)
    assert (opt_out.learner_id, opt_out.category) == (lia.id, MessageCategory.ANNOUNCEMENT)
    assert not lp.mail.email_preferences(LearnerActor(world.org.id, lia.id))[
        MessageCategory.ANNOUNCEMENT
    ]
    with pytest.raises(PermissionDeniedError):
        lp.mail.unsubscribe(LearnerActor(world.org.id, bo.id), token)
    with pytest.raises(InvalidTokenError):
        lp.mail.unsubscribe(SYSTEM, forged(token))
    clock.advance(timedelta(days=366))
    with pytest.raises(InvalidTokenError, match="expired"):
        lp.mail.unsubscribe(SYSTEM, token)


def test_delivery_through_a_real_smtp_server(smtp_server: SmtpServer, clock: FixedClock) -> None:
    mailer = SmtpMailer(smtp_server.host, smtp_server.port, security="none", clock=clock)
    lp = learnprog.connect(
        "memory://",
        mailer=mailer,
        clock=clock,
        settings=learnprog.Settings(secret_key="test-secret-test-secret"),
    )
    world = World(lp)
    world.queue(world.message(world.learners[0], INVITATION), world.message(world.learners[1]))
    assert lp.mail.dispatch(SYSTEM).sent == 2
    assert sorted(e.rcpt_tos[0] for e in smtp_server.recorder.envelopes) == [
        "learner0@example.org",
        "learner1@example.org",
    ]


def test_after_a_crash_between_sending_and_recording_the_message_goes_again_with_its_id(
    lp: learnprog.Learnprog, mailer: InMemoryMailer, clock: FixedClock
) -> None:
    world = World(lp)
    (result,) = world.queue(world.message(world.learners[0]))
    now = clock.now()
    with lp.context.uow_factory() as uow:  # a dispatcher claims, sends, then dies
        (claimed,) = uow.outbox.claim_due(
            now, limit=1, claim_id="dead", lease_until=now + timedelta(minutes=5)
        )
        uow.commit()
    mailer.send(claimed.message)
    assert lp.mail.dispatch(SYSTEM).sent == 0  # still leased
    clock.advance(timedelta(minutes=6))
    assert lp.mail.dispatch(SYSTEM).sent == 1
    assert [m.message_id for m in mailer.sent] == [result.message.message_id] * 2


class CountingMailer(Mailer):
    """Counts sends per Message-ID, slowly enough for dispatchers to overlap."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()

    def send(self, message: OutgoingMessage) -> None:
        threading.Event().wait(0.002)
        with self.lock:
            self.counts[message.message_id] += 1


def test_concurrent_dispatchers_never_send_a_message_twice(uow_factory: UowFactory) -> None:
    mailer = CountingMailer()
    lp = learnprog.connect(
        uow_factory=uow_factory,
        mailer=mailer,
        clock=FixedClock(START),
        settings=learnprog.Settings(secret_key="test-secret-test-secret"),
    )
    world = World(lp, learners=3)
    messages = [world.message(world.learners[i % 3]) for i in range(60)]
    world.queue(*messages)
    start = threading.Barrier(3)
    errors: list[Exception] = []

    def run() -> None:
        start.wait()
        try:
            lp.mail.dispatch(SYSTEM, batch_size=5)
        except Exception as exc:  # noqa: BLE001 - a dispatcher must not die of another's claim
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert mailer.counts == Counter({m.message_id: 1 for m in messages})


def test_a_slow_batch_never_sends_the_rest_of_it_twice(
    lp: learnprog.Learnprog, clock: FixedClock
) -> None:
    world = World(lp, learners=3)
    messages = [world.message(learner) for learner in world.learners]
    world.queue(*messages)
    sends: list[str] = []

    class SlowMailer(Mailer):
        def send(self, message: OutgoingMessage) -> None:
            sends.append(message.message_id)
            if len(sends) == 1:  # the first send outlasts the lease; another dispatcher runs
                clock.advance(timedelta(minutes=6))
                slow.mail.dispatch(SYSTEM)

    slow = learnprog.Learnprog(evolve(lp.context, mailer=SlowMailer()))
    slow.mail.dispatch(SYSTEM)
    counts = Counter(sends)
    # the message in flight when its lease ran out goes again (at least once, same ID);
    # the rest of the first batch is left to the dispatcher that took it over
    assert sorted(counts.values()) == [1, 1, 2]
    assert counts[sends[0]] == 2
    assert set(counts) == {m.message_id for m in messages}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"batch_size": 0}, "batch_size"),
        ({"max_messages": 0}, "max_messages"),
        ({"max_messages": True}, "max_messages"),
        ({"max_messages": "5"}, "max_messages"),
        ({"lease": timedelta(0)}, "lease"),
        ({"lease": 300}, "lease"),
        ({"retry": "x"}, "retry"),
        ({"stop": True}, "stop"),
    ],
)
def test_dispatch_arguments_are_checked_before_anything_is_claimed(
    lp: learnprog.Learnprog, mailer: InMemoryMailer, kwargs: dict[str, object], field: str
) -> None:
    world = World(lp)
    world.queue(world.message(world.learners[0]))
    with pytest.raises(ValidationError) as caught:
        lp.mail.dispatch(SYSTEM, **kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert lp.mail.dispatch(SYSTEM).sent == 1  # nothing was left claimed


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"first_delay": timedelta(seconds=-1)}, "first_delay"),
        ({"first_delay": "x"}, "first_delay"),
        ({"max_delay": timedelta(seconds=1)}, "max_delay"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"max_attempts": 10**9}, "max_attempts"),
    ],
)
def test_retry_policies_are_checked(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        RetryPolicy(**kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_long_backoffs_do_not_overflow() -> None:
    policy = RetryPolicy(max_attempts=50)
    assert policy.retry_at(49, START) == START + policy.max_delay


def test_email_preferences_need_a_real_learner_of_the_organization(
    lp: learnprog.Learnprog,
) -> None:
    world = World(lp)
    for actor in (
        LearnerActor(world.org.id, "nobody"),
        LearnerActor("another-org", world.learners[0].id),
    ):
        with pytest.raises(PermissionDeniedError):
            lp.mail.set_email_preference(actor, "admin", receive=False)
        with pytest.raises(PermissionDeniedError):
            lp.mail.email_preferences(actor)


@pytest.mark.parametrize("token", ["\ud800", "", "x" * 10_000, "a.b.c"])
def test_broken_unsubscribe_links_are_invalid_tokens(lp: learnprog.Learnprog, token: str) -> None:
    with pytest.raises(InvalidTokenError):
        lp.mail.unsubscribe(SYSTEM, token)


def test_an_unsubscribe_link_for_transactional_mail_is_invalid(lp: learnprog.Learnprog) -> None:
    world = World(lp)
    token = lp.context.signer.sign(
        TokenPurpose.UNSUBSCRIBE,
        {"o": world.org.id, "l": world.learners[0].id, "c": "transactional"},
    )
    with pytest.raises(InvalidTokenError):
        lp.mail.unsubscribe(SYSTEM, token)


@pytest.mark.parametrize(
    ("base_url", "link"),
    [
        ("https://b\u00fccher.example/\u00e9cole", "https://xn--bcher-kva.example/%C3%A9cole"),
        ("https://learning.example/" + "a" * 475, "https://learning.example/" + "a" * 475),
    ],
)
def test_any_base_url_settings_accept_makes_a_message_with_an_unsubscribe_link_that_is_sent(
    clock: FixedClock, mailer: InMemoryMailer, base_url: str, link: str
) -> None:
    """List-Unsubscribe holds printable ASCII without '=?' (RFC 2047, RFC 8058) of any base URL."""
    lp = learnprog.connect(
        "memory://",
        mailer=mailer,
        clock=clock,
        settings=learnprog.Settings(secret_key="test-secret-test-secret", base_url=base_url),
    )
    world = World(lp)
    (result,) = world.queue(world.message(world.learners[0]))
    assert result.queued
    assert lp.mail.dispatch(SYSTEM).sent == 1
    (sent,) = mailer.sent
    assert sent.headers["List-Unsubscribe"].startswith(f"<{link}/email/unsubscribe?token=")
    token = sent.headers["List-Unsubscribe"].split("token=", 1)[1].rstrip(">")
    assert lp.mail.unsubscribe(SYSTEM, token).learner_id == world.learners[0].id
