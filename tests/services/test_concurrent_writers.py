"""Concurrent writers: every check-then-write path gives what a sequential run gives.

A host runs several web workers over one database; two of them may make the same call at the
same moment (a double click, a retried request). Each race below is repeated ``ROUNDS`` times
(:mod:`tests.races`): threads on every backend, worker processes on SQLite, PostgreSQL and
MariaDB for the calls a host scales out. Every round checks the answers (one created, the others
the idempotent answer a sequential run gives: never an error a sequential run does not give) and
what is stored.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

import learnprog
from learnprog.clock import FixedClock
from learnprog.mail.memory import InMemoryMailer
from learnprog.model import (
    CollectionEntry,
    LearnerActor,
    MessageCategory,
    OrgAdminActor,
    ProgramAdminActor,
    email_key,
)
from learnprog.services.history import MemberRecord
from learnprog.storage.sql import SqlUnitOfWork
from tests.conftest import START, UowFactory, _backend_params, empty_tables
from tests.races import ROUNDS, at_once, process_race
from tests.services import race_workers
from tests.services.test_learning import Learning
from tests.services.test_scheduled_reports import Scheduled
from tests.services.world import SYSTEM, World

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


# --- accounts and admins ----------------------------------------------------------------------


def test_registrations_of_one_address_at_once_make_one_account(uow_factory: UowFactory) -> None:
    lp = _lp(uow_factory)
    world = World(lp)
    for n in range(ROUNDS):
        email = f"reg{n}@acme.example"
        calls = [lambda: race_workers.register_with(lp, world, email)] * 3  # noqa: B023
        assert at_once(calls) == ["ConflictError", "ConflictError", "Learner"]
        with uow_factory() as uow:
            assert uow.learners.find_by_email(world.org.id, email_key(email)) is not None


def test_registrations_of_one_address_from_worker_processes(
    shared_db: tuple[learnprog.Learnprog, str],
) -> None:
    lp, url = shared_db
    world = World(lp)
    with process_race(2) as race:
        for n in range(ROUNDS):
            email = f"reg{n}@acme.example"
            args = (url, world.admin, world.org.id, email)
            assert race.round(race_workers.register, [args] * 2) == ["ConflictError", "Learner"]
            assert lp.organizations.resolve_actor(SYSTEM, world.org.id, email) is not None


def test_one_admin_added_twice_at_once_is_granted_once(uow_factory: UowFactory) -> None:
    lp = _lp(uow_factory)
    world = World(lp)
    for n in range(ROUNDS):
        email = f"adm{n}@acme.example"
        lp.organizations.register_learner(world.admin, world.org.id, "Ad Min", email)

        def add(email: str = email) -> object:
            return lp.organizations.add_admin(
                world.admin, world.org.id, email, role="program", program_ids=[world.program.id]
            )

        assert at_once([add, add]) == ["ConflictError", "list"]
        actor = lp.organizations.resolve_actor(SYSTEM, world.org.id, email)
        assert isinstance(actor, ProgramAdminActor)
        assert actor.program_ids == frozenset({world.program.id})


def test_one_skill_added_twice_at_once_is_stored_once(uow_factory: UowFactory) -> None:
    lp = _lp(uow_factory)
    world = World(lp)
    for n in range(ROUNDS):

        def add(name: str = f"Skill {n}") -> object:
            return lp.programs.add_skill(world.admin, world.org.id, domain="Data", name=name)

        assert at_once([add, add, add]) == ["ConflictError", "ConflictError", "Skill"]
        names = [s.name for s in lp.programs.list_skills(world.admin, world.org.id)]
        assert names.count(f"Skill {n}") == 1


# --- enrollment -------------------------------------------------------------------------------


def test_one_enrollment_made_twice_at_once_is_stored_once(uow_factory: UowFactory) -> None:
    lp = _lp(uow_factory)
    world = Learning(lp, licenses=ROUNDS + 5)
    for n in range(ROUNDS):
        learner = world.member(f"enr{n}@acme.example")

        def enroll(learner: LearnerActor = learner) -> object:
            return world.enroll(learner, world.python.id)

        assert at_once([enroll, enroll]) == ["ConflictError", "Enrollment"]
        assert len(_enrollments_of(lp, world, learner)) == 1


def test_one_enrollment_made_twice_from_worker_processes(
    shared_db: tuple[learnprog.Learnprog, str],
) -> None:
    lp, url = shared_db
    world = Learning(lp, licenses=ROUNDS + 5)
    with process_race(2) as race:
        for n in range(ROUNDS):
            learner = world.member(f"enr{n}@acme.example")
            args = (url, learner, world.program.id, world.python.id)
            assert race.round(race_workers.enroll, [args] * 2) == ["ConflictError", "Enrollment"]
            assert len(_enrollments_of(lp, world, learner)) == 1


# --- messages and email preferences -----------------------------------------------------------


def _queued_admin_messages(uow_factory: UowFactory, world: World) -> int:
    with uow_factory() as uow:
        entries = uow.outbox.list_for_organization(world.org.id, limit=1000)
    return sum(1 for e in entries if e.message.category is MessageCategory.ADMIN)


def test_one_message_sent_twice_at_once_under_a_key_is_sent_once(uow_factory: UowFactory) -> None:
    lp = _lp(uow_factory)
    world = World(lp)
    world.invite("lia@acme.example", send_email=False)
    world.accept("lia@acme.example")
    for n in range(ROUNDS):
        calls = [lambda: race_workers.send_with(lp, world, f"key-{n}")] * 3  # noqa: B023
        assert at_once(calls) == ["SentMessage"] * 3
        assert _queued_admin_messages(uow_factory, world) == n + 1


def test_one_message_sent_twice_under_a_key_from_worker_processes(
    shared_db: tuple[learnprog.Learnprog, str],
) -> None:
    lp, url = shared_db
    world = World(lp)
    world.invite("lia@acme.example", send_email=False)
    world.accept("lia@acme.example")
    with process_race(2) as race:
        for n in range(ROUNDS):
            args = (url, world.admin, world.org.id, f"key-{n}")
            assert race.round(race_workers.send, [args] * 2) == ["SentMessage"] * 2
            assert _queued_admin_messages(lp.context.uow_factory, world) == n + 1


def test_one_opt_out_made_twice_at_once_is_stored_once(uow_factory: UowFactory) -> None:
    lp = _lp(uow_factory)
    world = World(lp, licenses=ROUNDS + 5)
    for n in range(ROUNDS):
        email = f"opt{n}@acme.example"
        world.invite(email, send_email=False)
        world.accept(email)
        learner = world.learner(email)

        def opt_out(learner: LearnerActor = learner) -> object:
            return lp.mail.set_email_preference(learner, MessageCategory.ADMIN, receive=False)

        assert at_once([opt_out, opt_out]) == ["dict", "dict"]
        assert lp.mail.email_preferences(learner)[MessageCategory.ADMIN] is False


def test_one_opt_out_made_twice_from_worker_processes(
    shared_db: tuple[learnprog.Learnprog, str],
) -> None:
    lp, url = shared_db
    world = World(lp, licenses=ROUNDS + 5)
    with process_race(2) as race:
        for n in range(ROUNDS):
            email = f"opt{n}@acme.example"
            world.invite(email, send_email=False)
            world.accept(email)
            learner = world.learner(email)
            args = (url, learner, MessageCategory.ADMIN)
            assert race.round(race_workers.opt_out, [args] * 2) == ["dict", "dict"]
            assert lp.mail.email_preferences(learner)[MessageCategory.ADMIN] is False


# --- curriculum -------------------------------------------------------------------------------


def test_courses_added_to_one_collection_at_once_are_all_kept(uow_factory: UowFactory) -> None:
    lp = _lp(uow_factory)
    world = Learning(lp)
    courses = [world.python.id, world.sql.id]
    for n in range(ROUNDS):
        collection = lp.curriculum.create_collection(world.admin, world.program.id, f"C{n}")

        def add(course_id: str, collection_id: str = collection.id) -> object:
            entry = CollectionEntry.course(course_id)
            return lp.curriculum.add_entries(
                world.admin, world.program.id, [collection_id], [entry]
            )

        calls = [functools.partial(add, c) for c in courses]
        assert at_once(calls) == ["list", "list"]
        stored = lp.curriculum.list_collections(world.admin, world.program.id)[n]
        assert sorted(e.target_id for e in stored.entries) == sorted(courses)


def test_one_course_added_to_a_collection_twice_at_once_is_kept_once(
    uow_factory: UowFactory,
) -> None:
    lp = _lp(uow_factory)
    world = Learning(lp)
    for n in range(ROUNDS):
        collection = lp.curriculum.create_collection(world.admin, world.program.id, f"C{n}")

        def add(collection_id: str = collection.id) -> object:
            entry = CollectionEntry.course(world.python.id)
            return lp.curriculum.add_entries(
                world.admin, world.program.id, [collection_id], [entry]
            )

        assert at_once([add, add]) == ["ConflictError", "list"]
        stored = lp.curriculum.list_collections(world.admin, world.program.id)[n]
        assert [e.target_id for e in stored.entries] == [world.python.id]


def test_collections_created_at_once_get_positions_one_after_the_other(
    uow_factory: UowFactory,
) -> None:
    lp = _lp(uow_factory)
    world = World(lp)
    for n in range(ROUNDS):
        names = [f"R{n}a", f"R{n}b"]
        calls = [
            functools.partial(lp.curriculum.create_collection, world.admin, world.program.id, name)
            for name in names
        ]
        assert at_once(calls) == ["Collection", "Collection"]
        stored = lp.curriculum.list_collections(world.admin, world.program.id)
        assert [c.position for c in stored] == list(range(2 * (n + 1)))


def _enrollments_of(lp: learnprog.Learnprog, world: World, learner: LearnerActor) -> list[object]:
    return list(
        lp.learning.enrollments(world.admin, world.program.id, learner_id=learner.learner_id)
    )


# --- scheduled reports ------------------------------------------------------------------------


def test_schedulers_running_at_once_send_each_report_once(uow_factory: UowFactory) -> None:
    clock = FixedClock(START)  # a Monday
    lp = learnprog.connect(
        uow_factory=uow_factory,
        settings=learnprog.Settings(secret_key=race_workers.SECRET),
        clock=clock,
        mailer=InMemoryMailer(),
    )
    world = Scheduled(lp, "UTC")
    for n in range(ROUNDS):
        clock.set(START + timedelta(weeks=n))
        sent: list[str] = []

        def run(sent: list[str] = sent) -> object:
            results = lp.reports.send_due_reports(SYSTEM, world.org.id)
            sent.extend(world.names[r.report.learner_id] for r in results)
            return results

        assert at_once([run, run, run]) == ["list"] * 3
        assert sorted(sent) == ["ana", "paulo"]  # each admin's report once, by one scheduler
        with uow_factory() as uow:
            entries = uow.outbox.list_for_organization(world.org.id, limit=1000)
        assert sum(1 for e in entries if e.message.template == "usage_report") == 2 * (n + 1)


# --- organization admins ----------------------------------------------------------------------


def test_two_first_admins_added_at_once_make_one(uow_factory: UowFactory) -> None:
    lp = _lp(uow_factory)
    for n in range(ROUNDS):
        org = lp.organizations.create_organization(SYSTEM, f"Org {n}", email_domains=["o.example"])
        emails = [f"first{n}@o.example", f"second{n}@o.example"]
        for email in emails:
            lp.organizations.register_learner(SYSTEM, org.id, "Ad Min", email)
        calls = [
            functools.partial(
                lp.organizations.add_admin, SYSTEM, org.id, email, role="organization"
            )
            for email in emails
        ]
        assert at_once(calls) == ["PermissionDeniedError", "list"]
        with uow_factory() as uow:
            assert len(uow.admins.list_for_organization(org.id)) == 1


def test_two_organization_admins_removing_themselves_at_once_leave_one(
    uow_factory: UowFactory,
) -> None:
    lp = _lp(uow_factory)
    for n in range(ROUNDS):
        org = lp.organizations.create_organization(
            SYSTEM,
            f"Org {n}",
            email_domains=["o.example"],
            admin_name="Ana",
            admin_email="ana@o.example",
        )
        lp.organizations.register_learner(SYSTEM, org.id, "Bo", "bo@o.example")
        ana = lp.organizations.resolve_actor(SYSTEM, org.id, "ana@o.example")
        lp.organizations.add_admin(ana, org.id, "bo@o.example", role="organization")
        bo = lp.organizations.resolve_actor(SYSTEM, org.id, "bo@o.example")
        assert isinstance(ana, OrgAdminActor)
        assert isinstance(bo, OrgAdminActor)
        calls = [
            functools.partial(lp.organizations.remove_admin, who, org.id, who.learner_id)
            for who in (ana, bo)
        ]
        assert at_once(calls) == ["ConflictError", "NoneType"]
        with uow_factory() as uow:  # the last organization admin is never removed
            assert len(uow.admins.list_for_organization(org.id)) == 1


# --- history imports --------------------------------------------------------------------------


def test_one_members_file_imported_twice_at_once_is_stored_once(uow_factory: UowFactory) -> None:
    lp = _lp(uow_factory)
    world = World(lp, licenses=3 * ROUNDS + 5)
    past = START - timedelta(days=400)
    for n in range(ROUNDS):
        records = [
            MemberRecord(f"Member {i}", f"m{n}-{i}@acme.example", past, joined_at=past)
            for i in range(3)
        ]
        outcomes: list[str] = []

        def load(outcomes: list[str] = outcomes, records: list[MemberRecord] = records) -> object:
            result = lp.invitations.import_members(
                SYSTEM, world.program.id, world.contract.id, records
            )
            outcomes.extend(r.outcome.value for r in result.records)
            return result

        assert at_once([load, load]) == ["ImportResult", "ImportResult"]
        assert sorted(outcomes) == ["created"] * 3 + ["existing"] * 3
        assert world.used() == 3 * (n + 1)  # each member takes one license, once


def test_one_roster_invited_twice_at_once_invites_each_learner_once(
    uow_factory: UowFactory,
) -> None:
    lp = _lp(uow_factory)
    world = World(lp)
    for n in range(ROUNDS):
        emails = [f"r{n}-{i}@acme.example" for i in range(3)]
        roster = "Full Name,Email,External ID\n" + "".join(f"R {e},{e},\n" for e in emails)
        outcomes: list[str] = []

        def bulk(outcomes: list[str] = outcomes, roster: str = roster) -> object:
            with lp.invitations.bulk_invite(
                world.admin, world.program.id, world.contract.id, roster.encode()
            ) as run:
                outcomes.extend(str(r.outcome) for r in run)
            return None

        assert at_once([bulk, bulk]) == ["NoneType", "NoneType"]  # no error either
        assert sorted(outcomes) == ["already_invited"] * 3 + ["created"] * 3
        for email in emails:
            _stored_invitations(world, uow_factory, email)
