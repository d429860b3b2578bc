"""Calls that worker processes of a race make (see :mod:`tests.races`).

Each worker builds its own learnprog over the database URL it is given, once per process (the
instances are kept here by URL), as a host's web workers do; the calls are module-level
functions so that a spawned process finds them by name.
"""

from __future__ import annotations

from collections.abc import Mapping

import learnprog
from learnprog.clock import FixedClock
from learnprog.mail.memory import InMemoryMailer
from learnprog.model import Actor, Enrollment, Learner, MessageCategory
from learnprog.model.messaging import SentMessage
from learnprog.services.invitations import InvitationOutcome
from tests.conftest import START
from tests.services.world import World

SECRET = "test-secret-test-secret"

_instances: dict[str, learnprog.Learnprog] = {}


def instance(url: str) -> learnprog.Learnprog:
    """This process's learnprog over ``url`` (made on first use; the schema is migrated)."""
    if url not in _instances:
        _instances[url] = learnprog.connect(
            url,
            settings=learnprog.Settings(secret_key=SECRET),
            clock=FixedClock(START),
            mailer=InMemoryMailer(),
            migrate=False,
        )
    return _instances[url]


def invite(
    url: str, admin: Actor, program_id: str, contract_id: str, email: str
) -> InvitationOutcome:
    """Invite ``email`` to the program; the outcome."""
    return (
        instance(url)
        .invitations.invite(admin, program_id, contract_id, full_name="Lia Learner", email=email)
        .outcome
    )


def register(url: str, admin: Actor, organization_id: str, email: str) -> Learner:
    """Register a learner account for ``email``."""
    return instance(url).organizations.register_learner(
        admin, organization_id, "Lia Learner", email
    )


def enroll(url: str, learner: Actor, program_id: str, target_id: str) -> Enrollment:
    """Enroll the learner in a course of the program."""
    return instance(url).learning.enroll(learner, program_id, target_id)


def send(url: str, admin: Actor, organization_id: str, key: str) -> SentMessage:
    """Send the all-members preset under an idempotency key."""
    return instance(url).messaging.send(
        admin, organization_id, "all_members", agree_to_terms=True, idempotency_key=key
    )


def opt_out(url: str, learner: Actor, category: MessageCategory) -> Mapping[MessageCategory, bool]:
    """Opt the learner out of a category of mail."""
    return instance(url).mail.set_email_preference(learner, category, receive=False)


def register_with(lp: learnprog.Learnprog, world: World, email: str) -> Learner:
    """Register a learner account for ``email`` in the world's organization (threads)."""
    return lp.organizations.register_learner(world.admin, world.org.id, "Lia Learner", email)


def send_with(lp: learnprog.Learnprog, world: World, key: str) -> SentMessage:
    """Send the all-members preset of the world's organization under a key (threads)."""
    return lp.messaging.send(
        world.admin, world.org.id, "all_members", agree_to_terms=True, idempotency_key=key
    )
