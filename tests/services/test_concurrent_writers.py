"""Concurrent writers: every check-then-write path gives what a sequential run gives.

A host runs several web workers over one database; two of them may make the same call at the
same moment (a double click, a retried request). Each race below is repeated ``ROUNDS`` times
(:mod:`tests.races`): threads on every backend, worker processes on SQLite, PostgreSQL and
MariaDB for the calls a host scales out. Every round checks the answers (one created, the others
the idempotent answer a sequential run gives: never an error a sequential run does not give) and
what is stored.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.engine import Engine

import learnprog
from learnprog.clock import FixedClock
from learnprog.mail.memory import InMemoryMailer
from learnprog.model import email_key
from learnprog.storage.sql import SqlUnitOfWork
from tests.conftest import START, UowFactory, _backend_params, empty_tables
from tests.races import ROUNDS, at_once, process_race
from tests.services import race_workers
from tests.services.world import World

CREATED = "InvitationOutcome.CREATED"
ALREADY_INVITED = "InvitationOutcome.ALREADY_INVITED"


def _lp(uow_factory: UowFactory) -> learnprog.Learnprog:
    return learnprog.connect(
        uow_factory=uow_factory,
        settings=learnprog.Settings(secret_key=race_workers.SECRET),
        clock=FixedClock(START),
        mailer=InMemoryMailer(),
    )


@pytest.fixture(params=_backend_params(("sqlite", "postgresql", "mariadb")))
def shared_db(
    request: pytest.FixtureRequest, engine_pool: Callable[[str], Engine]
) -> tuple[learnprog.Learnprog, str]:
    """A learnprog on an empty SQL database, and the database's URL for worker processes."""
    engine = engine_pool(str(request.param))
    empty_tables(engine)
    return _lp(lambda: SqlUnitOfWork(engine)), engine.url.render_as_string(hide_password=False)


def _stored_invitations(world: World, uow_factory: UowFactory, email: str) -> None:
    """Exactly one INVITED membership of the program for ``email``, with one email queued."""
    rows = [
        (learner, membership)
        for learner, membership in world.lp.invitations.members(world.admin, world.program.id)
        if learner.email.key == email_key(email)
    ]
    assert len(rows) == 1, rows
    learner, membership = rows[0]
    assert membership.state.value == "INVITED"
    with uow_factory() as uow:
        assert len(uow.outbox.list_for_learner(learner.id)) == 1


# --- invitations ------------------------------------------------------------------------------


@pytest.mark.parametrize("account", ["new", "existing"])
def test_invitations_of_one_address_at_once_create_one_and_find_it_already_invited(
    uow_factory: UowFactory, account: str
) -> None:
    lp = _lp(uow_factory)
    world = World(lp)
    for n in range(ROUNDS):
        email = f"lia{n}@acme.example"
        if account == "existing":
            lp.organizations.register_learner(world.admin, world.org.id, "Lia Learner", email)
        outcomes = at_once([lambda: world.invite(email).outcome] * 3)  # noqa: B023 - run here
        assert outcomes == [ALREADY_INVITED, ALREADY_INVITED, CREATED]
        _stored_invitations(world, uow_factory, email)


@pytest.mark.parametrize("account", ["new", "existing"])
def test_invitations_of_one_address_from_worker_processes(
    shared_db: tuple[learnprog.Learnprog, str], account: str
) -> None:
    lp, url = shared_db
    world = World(lp)
    with process_race(2) as race:
        for n in range(ROUNDS):
            email = f"lia{n}@acme.example"
            if account == "existing":
                lp.organizations.register_learner(world.admin, world.org.id, "Lia Learner", email)
            args = (url, world.admin, world.program.id, world.contract.id, email)
            assert race.round(race_workers.invite, [args] * 2) == [ALREADY_INVITED, CREATED]
            _stored_invitations(world, lp.context.uow_factory, email)
