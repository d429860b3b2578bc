"""The storage contract: the same behaviour from every adapter (memory, SQLite, PostgreSQL,
MariaDB)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from attrs import evolve

from learnprog.errors import (
    ConflictError,
    NotFoundError,
    StaleDataError,
    StorageError,
    ValidationError,
)
from learnprog.model import Contract, ContractKind, Learner, Organization, Program, email_key
from tests import factories as f
from tests.conftest import UowFactory


def test_committed_work_is_visible_to_the_next_unit_of_work(uow_factory: UowFactory) -> None:
    org = f.organization()
    with uow_factory() as uow:
        uow.organizations.add(org)
        uow.commit()
    with uow_factory() as uow:
        assert uow.organizations.get(org.id) == org


def test_leaving_without_commit_rolls_back(uow_factory: UowFactory) -> None:
    org = f.organization()
    with uow_factory() as uow:
        uow.organizations.add(org)
        assert uow.organizations.get(org.id) == org  # visible inside its own unit of work
    with uow_factory() as uow, pytest.raises(NotFoundError):
        uow.organizations.get(org.id)


def test_an_exception_in_the_block_rolls_back(uow_factory: UowFactory) -> None:
    org = f.organization()

    def fail_after_write() -> None:
        with uow_factory() as uow:
            uow.organizations.add(org)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail_after_write()
    with uow_factory() as uow:
        assert uow.organizations.list() == []


def test_explicit_rollback_discards_work_since_last_commit(uow_factory: UowFactory) -> None:
    first, second = f.organization("First"), f.organization("Second")
    with uow_factory() as uow:
        uow.organizations.add(first)
        uow.commit()
        uow.organizations.add(second)
        uow.rollback()
        uow.commit()
    with uow_factory() as uow:
        assert [o.name for o in uow.organizations.list()] == ["First"]


def test_using_a_unit_of_work_outside_with_is_an_error(uow_factory: UowFactory) -> None:
    uow = uow_factory()
    with pytest.raises(StorageError):
        uow.organizations.list()


def test_update_of_missing_record_is_not_found(uow_factory: UowFactory) -> None:
    with uow_factory() as uow, pytest.raises(NotFoundError):
        uow.organizations.update(f.organization())


def _seed(uow_factory: UowFactory) -> tuple[Organization, Program, Contract]:
    org = f.organization()
    prog = f.program(org)
    deal = f.contract(org)
    with uow_factory() as uow:
        uow.organizations.add(org)
        uow.programs.add(prog)
        uow.contracts.add(deal)
        uow.commit()
    return org, prog, deal


def test_same_email_twice_in_an_organization_is_a_conflict(uow_factory: UowFactory) -> None:
    org = f.organization()
    with uow_factory() as uow:
        uow.organizations.add(org)
        uow.learners.add(f.learner(org, "Ana.Lima@Example.COM"))
        uow.commit()
    for variant in (" ana.lima@example.com", "ANA.LIMA@EXAMPLE.COM  ", "ana.lima@example.com"):
        with uow_factory() as uow, pytest.raises(ConflictError):
            uow.learners.add(f.learner(org, variant, "Someone Else"))
    with uow_factory() as uow:
        assert len(uow.learners.list_for_organization(org.id)) == 1


def test_same_email_in_two_organizations_is_two_learners(uow_factory: UowFactory) -> None:
    one, two = f.organization("One"), f.organization("Two")
    with uow_factory() as uow:
        uow.organizations.add(one)
        uow.organizations.add(two)
        uow.learners.add(f.learner(one, "ana@example.org"))
        uow.learners.add(f.learner(two, "ana@example.org"))
        uow.commit()
    with uow_factory() as uow:
        assert uow.learners.find_by_email(one.id, "ana@example.org") is not None
        assert uow.learners.find_by_email(two.id, "ana@example.org") is not None


def test_lookup_by_email_ignores_case_but_keeps_accents(uow_factory: UowFactory) -> None:
    org = f.organization()
    accented = f.learner(org, "Stéphane@example.org", "Stéphane Dupont")
    plain = f.learner(org, "stephane@example.org", "Stephane Martin")
    with uow_factory() as uow:
        uow.organizations.add(org)
        uow.learners.add(accented)
        uow.learners.add(plain)  # not a conflict: two people
        uow.commit()
    with uow_factory() as uow:
        found = uow.learners.find_by_email(org.id, "stéphane@example.org")
        assert found is not None
        assert found.id == accented.id
        assert found.email.address == "Stéphane@example.org"  # stored as written
        other = uow.learners.find_by_email(org.id, "STEPHANE@EXAMPLE.ORG".casefold())
        assert other is not None
        assert other.id == plain.id


@pytest.mark.parametrize(
    "name",
    [
        "Nguyễn Thị Minh Khai",
        "محمد بن عبد الله",
        "王小明",
        "山田 太郎",
        "김민준",
        "Zoë 🚀 Ñúñez",
        "Ана-Мария Ο'Νιλ",  # noqa: RUF001 - Greek letters on purpose
    ],
)
def test_names_in_any_script_round_trip_exactly(uow_factory: UowFactory, name: str) -> None:
    org = f.organization(name)
    person = f.learner(org, "person@example.org", name)
    with uow_factory() as uow:
        uow.organizations.add(org)
        uow.learners.add(person)
        uow.commit()
    with uow_factory() as uow:
        assert uow.organizations.get(org.id).name == name
        assert uow.learners.get(person.id).full_name == name


def test_timestamps_round_trip_as_the_same_instant_to_the_microsecond(
    uow_factory: UowFactory,
) -> None:
    org = f.organization()
    lisbon_summer = timezone(timedelta(hours=1))
    instant = datetime(2019, 12, 23, 6, 18, 32, 782123, tzinfo=lisbon_summer)
    prog = evolve(f.program(org), created_at=instant)
    with uow_factory() as uow:
        uow.organizations.add(org)
        uow.programs.add(prog)
        uow.commit()
    with uow_factory() as uow:
        stored = uow.programs.get(prog.id).created_at
    assert stored == instant
    assert stored.tzinfo is not None
    assert stored.utcoffset() == timedelta(0)
    assert stored.microsecond == 782123


def test_a_failing_statement_leaves_the_store_as_it_was(uow_factory: UowFactory) -> None:
    org = f.organization()
    ana = f.learner(org, "ana@example.org")
    with uow_factory() as uow:
        uow.organizations.add(org)
        uow.learners.add(ana)
        uow.commit()
    with uow_factory() as uow:
        bruno = f.learner(org, "bruno@example.org", "Bruno")
        uow.learners.add(bruno)
        with pytest.raises(ConflictError):
            uow.learners.add(f.learner(org, "ANA@example.org", "Impostor"))
        # the unit of work is still usable, and the earlier write in it survives
        assert uow.learners.get(bruno.id) == bruno
        uow.commit()
    with uow_factory() as uow:
        names = sorted(p.full_name for p in uow.learners.list_for_organization(org.id))
        assert names == ["Ana Lima", "Bruno"]
        assert uow.learners.get(ana.id) == ana


def test_an_update_that_collides_changes_nothing(uow_factory: UowFactory) -> None:
    org = f.organization()
    ana, bruno = f.learner(org, "ana@example.org"), f.learner(org, "bruno@example.org", "Bruno")
    with uow_factory() as uow:
        uow.organizations.add(org)
        uow.learners.add(ana)
        uow.learners.add(bruno)
        uow.commit()
    taken = Learner.create(org.id, "Bruno", "ANA@example.org", now=f.NOW)
    with uow_factory() as uow:
        with pytest.raises(ConflictError):
            uow.learners.update(evolve(bruno, email=taken.email))
        uow.commit()
    with uow_factory() as uow:
        assert uow.learners.get(bruno.id).email.address == "bruno@example.org"


def test_program_slug_is_unique(uow_factory: UowFactory) -> None:
    org = f.organization()
    with uow_factory() as uow:
        uow.organizations.add(org)
        uow.programs.add(f.program(org, slug="data-academy"))
        uow.commit()
    with uow_factory() as uow, pytest.raises(ConflictError):
        uow.programs.add(f.program(org, "Other", slug="data-academy"))
    with uow_factory() as uow:
        found = uow.programs.find_by_slug("data-academy")
        assert found is not None
        assert found.name == "Data Academy"
        assert uow.programs.find_by_slug("nope") is None


def test_external_ids_stay_strings_as_written(uow_factory: UowFactory) -> None:
    org = f.organization()
    person = f.learner(org, external_id="00123")
    with uow_factory() as uow:
        uow.organizations.add(org)
        uow.learners.add(person)
        uow.commit()
    with uow_factory() as uow:
        assert [p.id for p in uow.learners.find_by_external_id(org.id, "00123")] == [person.id]
        assert uow.learners.find_by_external_id(org.id, "123") == []
        assert uow.learners.get(person.id).external_id == "00123"


def test_learner_profile_and_attributes_round_trip(uow_factory: UowFactory) -> None:
    from learnprog.model import LearnerProfile

    org = f.organization()
    person = evolve(
        f.learner(org),
        profile=LearnerProfile(
            manager_name="Bobby McManager",
            job_title="Software Engineer II",
            business_unit_2="Enterprise",
            location_region="Ontario",
        ),
        attributes={"cost_center": "CC-42", "shift": "night"},
        identity_verified=True,
    )
    with uow_factory() as uow:
        uow.organizations.add(org)
        uow.learners.add(person)
        uow.commit()
    with uow_factory() as uow:
        assert uow.learners.get(person.id) == person


def test_a_membership_update_with_expected_is_a_compare_and_set(uow_factory: UowFactory) -> None:
    org = f.organization()
    prog, deal, person = f.program(org), f.contract(org), f.learner(org)
    invited = f.membership(org, prog, person, deal)
    with uow_factory() as uow:
        uow.organizations.add(org)
        uow.programs.add(prog)
        uow.contracts.add(deal)
        uow.learners.add(person)
        uow.memberships.add(invited)
        uow.commit()
    accepted = invited.accept(f.NOW + timedelta(hours=1))
    removed = accepted.remove(f.NOW + timedelta(hours=2))
    with uow_factory() as uow:
        uow.memberships.update(accepted, expected=invited)  # None joined_at matches NULL
        uow.commit()
    with uow_factory() as uow:
        with pytest.raises(StaleDataError) as stale:  # read as INVITED, stored MEMBER
            uow.memberships.update(invited.accept(f.NOW + timedelta(hours=3)), expected=invited)
        assert (stale.value.kind, stale.value.key) == ("membership", invited.id)
        assert uow.memberships.get(invited.id) == accepted  # nothing was written
        uow.memberships.update(removed, expected=accepted)
        uow.commit()
    with uow_factory() as uow:
        assert uow.memberships.get(invited.id) == removed
        with pytest.raises(NotFoundError):
            uow.memberships.update(evolve(removed, id="m-missing"), expected=removed)


def test_membership_is_unique_per_program_and_learner(uow_factory: UowFactory) -> None:
    org = f.organization()
    prog = f.program(org)
    deal = f.contract(org)
    person = f.learner(org)
    with uow_factory() as uow:
        uow.organizations.add(org)
        uow.programs.add(prog)
        uow.contracts.add(deal)
        uow.learners.add(person)
        first = f.membership(org, prog, person, deal)
        uow.memberships.add(first)
        uow.commit()
    with uow_factory() as uow:
        with pytest.raises(ConflictError):
            uow.memberships.add(f.membership(org, prog, person, deal))
        accepted = first.accept(f.NOW + timedelta(hours=1))
        uow.memberships.update(accepted)
        uow.commit()
    with uow_factory() as uow:
        assert uow.memberships.find(prog.id, person.id) == accepted
        assert uow.memberships.list_for_learner(person.id) == [accepted]
        assert uow.memberships.list_for_program(prog.id) == [accepted]


def test_contract_take_never_passes_the_quantity(uow_factory: UowFactory) -> None:
    org = f.organization()
    deal = f.contract(org, quantity=2)
    unlimited = f.contract(org, quantity=None, kind=ContractKind.UNLIMITED)
    with uow_factory() as uow:
        uow.organizations.add(org)
        uow.contracts.add(deal)
        uow.contracts.add(unlimited)
        uow.commit()
    with uow_factory() as uow:
        assert uow.contracts.take(deal.id)
        assert uow.contracts.take(deal.id)
        assert not uow.contracts.take(deal.id)
        assert all(uow.contracts.take(unlimited.id) for _ in range(5))
        uow.commit()
    with uow_factory() as uow:
        assert uow.contracts.get(deal.id).remaining == 0
        uow.contracts.release(deal.id)
        uow.contracts.release(deal.id)
        uow.contracts.release(deal.id)  # never below zero
        # updating the terms does not touch the counter
        uow.contracts.update(evolve(deal, name="Renamed", used=99))
        uow.commit()
    with uow_factory() as uow:
        stored = uow.contracts.get(deal.id)
        assert (stored.name, stored.used, stored.remaining) == ("Renamed", 0, 2)
        assert uow.contracts.get(unlimited.id).remaining is None
        with pytest.raises(NotFoundError):
            uow.contracts.take("missing")


def test_admin_grants_add_list_remove(uow_factory: UowFactory) -> None:
    from learnprog.model import AdminGrant, AdminRole

    org = f.organization()
    prog = f.program(org)
    person = f.learner(org)
    org_grant = AdminGrant(org.id, person.id, AdminRole.ORGANIZATION, f.NOW)
    prog_grant = AdminGrant(
        org.id, person.id, AdminRole.PROGRAM, f.NOW + timedelta(seconds=1), prog.id
    )
    with uow_factory() as uow:
        uow.organizations.add(org)
        uow.programs.add(prog)
        uow.learners.add(person)
        uow.admins.add(org_grant)
        uow.admins.add(prog_grant)
        uow.commit()
    with uow_factory() as uow:
        with pytest.raises(ConflictError):
            uow.admins.add(org_grant)
        assert uow.admins.list_for_learner(org.id, person.id) == [org_grant, prog_grant]
        uow.admins.remove(org_grant)
        uow.commit()
    with uow_factory() as uow:
        assert uow.admins.list_for_organization(org.id) == [prog_grant]
        with pytest.raises(NotFoundError):
            uow.admins.remove(org_grant)


def test_courses_round_trip_with_items_and_assessments(uow_factory: UowFactory) -> None:
    from learnprog.model import Assessment, Course, CourseItem, Skill, Specialization

    org = f.organization()
    skill = Skill.create(
        org.id,
        domain="Business",
        name="Accounting",
        definition="Record-keeping.",
        example_subskills=["ledgers", "IFRS"],
    )
    items = [
        CourseItem.create("Welcome", kind="video", lesson="Week 1", id="v1", position=0),
        CourseItem.create("Quiz 1", kind="quiz", lesson="Week 1", id="q1", position=1),
        CourseItem.create("Reading", kind="reading", lesson="Week 2", id="r1", position=2),
    ]
    quiz = Assessment.create(
        "Quiz 1",
        id="a1",
        weight=0.25,
        pass_mark=80,
        due_at=datetime(2026, 4, 1, 23, 59, tzinfo=UTC),
        options=4,
        skill_ids=[skill.id],
        item_id="q1",
    )
    course = Course.create(
        org.id,
        course_id="daG-a-01EeijKBISCWxf6g",
        slug="ai-for-everyone",
        name="AI For Everyone",
        now=f.NOW,
        partner="deeplearning.ai",
        class_start=datetime(2020, 1, 6, 8, tzinfo=UTC),
        items=items,
        assessments=[quiz],
    )
    other = Course.create(
        org.id, course_id="X2", slug="ai-two", name="AI Two", now=f.NOW, partner="deeplearning.ai"
    )
    spec = Specialization.create(
        org.id, slug="ai-spec", name="AI", courses=[course, other], now=f.NOW
    )
    with uow_factory() as uow:
        uow.organizations.add(org)
        uow.skills.add(skill)
        uow.courses.add(course)
        uow.courses.add(other)
        uow.specializations.add(spec)
        uow.commit()
    with uow_factory() as uow:
        assert uow.courses.get(course.id) == course
        assert uow.courses.get(course.id).lessons == ("Week 1", "Week 2")
        assert uow.courses.find_by_course_id(org.id, "daG-a-01EeijKBISCWxf6g") == course
        assert [c.name for c in uow.courses.list_for_organization(org.id)] == [
            "AI For Everyone",
            "AI Two",
        ]
        assert uow.specializations.get(spec.id) == spec
        assert uow.skills.get(skill.id) == skill
        with pytest.raises(ConflictError):
            uow.courses.add(
                Course.create(
                    org.id, course_id="daG-a-01EeijKBISCWxf6g", slug="fresh", name="Dup", now=f.NOW
                )
            )
        with pytest.raises(ConflictError):
            uow.skills.add(Skill.create(org.id, domain="Business", name="Accounting"))
        uow.courses.update(evolve(course, items=items[:1], assessments=()))
        uow.skills.update(skill.with_details(definition="Ledgers.", example_subskills=["Tax"]))
        with pytest.raises(NotFoundError):
            uow.skills.update(Skill.create(org.id, domain="Business", name="Unknown"))
        uow.commit()
    with uow_factory() as uow:
        assert uow.courses.get(course.id).items == (items[0],)
        assert uow.courses.get(course.id).assessments == ()
        stored = uow.skills.get(skill.id)
        assert (stored.definition, stored.example_subskills) == ("Ledgers.", ("Tax",))


def test_audit_log_lists_newest_first_with_filters(uow_factory: UowFactory) -> None:
    from learnprog.model import AuditEntry

    org, prog, _ = _seed(uow_factory)
    entries = [
        AuditEntry.record(
            organization_id=org.id,
            actor="system",
            action=f"step.{i}",
            object_type="program",
            object_id=prog.id,
            now=f.NOW + timedelta(minutes=i),
            program_id=prog.id if i % 2 else None,
            changes={"name": ["Ol\u00e1", "Hello"], "n": [i, None]},
        )
        for i in range(5)
    ]
    with uow_factory() as uow:
        for e in entries:
            uow.audit.add(e)
        uow.commit()
    with uow_factory() as uow:
        listed = uow.audit.list(org.id)
        assert [e.action for e in listed] == [f"step.{i}" for i in (4, 3, 2, 1, 0)]
        assert listed[-1] == entries[0]
        assert [e.action for e in uow.audit.list(org.id, program_id=prog.id)] == [
            "step.3",
            "step.1",
        ]
        assert [e.action for e in uow.audit.list(org.id, limit=2, offset=1)] == ["step.3", "step.2"]


def test_times_are_stored_in_utc_whatever_zone_they_came_in(uow_factory: UowFactory) -> None:
    org = f.organization()
    tokyo = timezone(timedelta(hours=9))
    deal = evolve(f.contract(org), starts_at=datetime(2026, 1, 1, 9, tzinfo=tokyo))
    with uow_factory() as uow:
        uow.organizations.add(org)
        uow.contracts.add(deal)
        uow.commit()
    with uow_factory() as uow:
        assert uow.contracts.get(deal.id).starts_at == datetime(2026, 1, 1, 0, tzinfo=UTC)


def test_concurrent_takes_never_over_allocate(uow_factory: UowFactory) -> None:
    org = f.organization()
    deal = f.contract(org, quantity=5)
    with uow_factory() as uow:
        uow.organizations.add(org)
        uow.contracts.add(deal)
        uow.commit()
    outcomes: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(12)

    def take() -> None:
        start.wait()
        with uow_factory() as uow:
            taken = uow.contracts.take(deal.id)
            uow.commit()
        with lock:
            outcomes.append(taken)

    threads = [threading.Thread(target=take) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == [False] * 7 + [True] * 5
    with uow_factory() as uow:
        assert uow.contracts.get(deal.id).used == 5


def test_a_second_unit_of_work_on_one_thread(uow_factory: UowFactory, backend: str) -> None:
    org = f.organization()
    with uow_factory() as outer:
        outer.organizations.add(org)
        if backend in ("memory", "sqlite"):
            # one writer at a time: the second would wait for the first forever, so it is refused
            with pytest.raises(StorageError, match="do not nest"):
                uow_factory().__enter__()
        else:
            # server databases: its own connection, which does not see uncommitted work
            with uow_factory() as inner, pytest.raises(NotFoundError):
                inner.organizations.get(org.id)
        outer.commit()
    with uow_factory() as uow:
        assert uow.organizations.get(org.id) == org


@pytest.mark.parametrize("count", [0, -5, 1.5, float("nan"), True, "1", 2**70])
def test_take_and_release_refuse_counts_that_are_not_whole_positive_numbers(
    uow_factory: UowFactory, count: object
) -> None:
    org = f.organization()
    deal = f.contract(org, quantity=2)
    with uow_factory() as uow:
        uow.organizations.add(org)
        uow.contracts.add(deal)
        uow.commit()
    with uow_factory() as uow:
        with pytest.raises(ValidationError, match="count"):
            uow.contracts.take(deal.id, count)  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="count"):
            uow.contracts.release(deal.id, count)  # type: ignore[arg-type]
        assert uow.contracts.get(deal.id).used == 0


def test_a_contract_quantity_cannot_drop_below_what_is_in_use(uow_factory: UowFactory) -> None:
    org = f.organization()
    deal = f.contract(org, quantity=3)
    with uow_factory() as uow:
        uow.organizations.add(org)
        uow.contracts.add(deal)
        uow.contracts.take(deal.id, 3)
        uow.commit()
    with uow_factory() as uow, pytest.raises(ConflictError):
        uow.contracts.update(evolve(deal, quantity=1))
    with uow_factory() as uow:
        assert uow.contracts.get(deal.id).quantity == 3


def test_records_read_back_cannot_be_changed_in_place(uow_factory: UowFactory) -> None:
    org = f.organization()
    person = evolve(f.learner(org), attributes={"team": "blue"})
    with uow_factory() as uow:
        uow.organizations.add(org)
        uow.learners.add(person)
        uow.commit()
    with uow_factory() as uow:
        stored = uow.learners.get(person.id)
    with pytest.raises(TypeError):
        stored.attributes["team"] = "red"  # type: ignore[index]
    with uow_factory() as uow:
        assert uow.learners.get(person.id).attributes == {"team": "blue"}


def test_nfc_and_nfd_spellings_of_one_address_are_one_learner(uow_factory: UowFactory) -> None:
    org = f.organization()
    composed = "st\u00e9phane@example.org"
    decomposed = "ste\u0301phane@example.org"
    with uow_factory() as uow:
        uow.organizations.add(org)
        uow.learners.add(f.learner(org, composed))
        uow.commit()
    with uow_factory() as uow, pytest.raises(ConflictError):
        uow.learners.add(f.learner(org, decomposed, "Other"))


def test_batch_reads_and_writes(uow_factory: UowFactory) -> None:
    org = f.organization()
    prog = f.program(org)
    deal = f.contract(org)
    people = [f.learner(org, f"p{i}@example.org", f"P{i}") for i in range(5)]
    elsewhere = f.organization("Elsewhere")
    with uow_factory() as uow:
        uow.organizations.add(org)
        uow.organizations.add(elsewhere)
        uow.programs.add(prog)
        uow.contracts.add(deal)
        uow.learners.add_many(people)
        uow.learners.add(f.learner(elsewhere, "p1@example.org", "Another P1"))
        uow.memberships.add_many([f.membership(org, prog, p, deal) for p in people[:3]])
        uow.commit()
    with uow_factory() as uow:
        found = uow.learners.find_by_emails(
            org.id,
            ["p0@example.org", "P4@EXAMPLE.ORG".casefold(), "nobody@example.org", "p0@example.org"],
        )
        assert found == {"p0@example.org": people[0], "p4@example.org": people[4]}
        other = uow.learners.find_by_emails(elsewhere.id, ["p1@example.org", "p2@example.org"])
        assert [person.full_name for person in other.values()] == ["Another P1"]
        members = uow.memberships.find_for_learners(prog.id, [p.id for p in people])
        assert sorted(members) == sorted(p.id for p in people[:3])
        with pytest.raises(ConflictError):  # all or nothing
            uow.learners.add_many(
                [f.learner(org, "new@example.org", "New"), f.learner(org, "P1@example.org", "Dup")]
            )
        assert uow.learners.find_by_email(org.id, "new@example.org") is None
        assert uow.learners.find_by_emails(org.id, []) == {}
        by_id = uow.learners.get_many([people[1].id, "missing", people[1].id, people[3].id])
        assert by_id == {people[1].id: people[1], people[3].id: people[3]}


def test_scrub_and_recipient_replacement_for_erasure(uow_factory: UowFactory) -> None:
    from learnprog.model import (
        AuditEntry,
        DeliveryAttempt,
        DeliveryOutcome,
        MessageCategory,
        OutboxEntry,
        OutgoingMessage,
    )

    org = f.organization()
    person = f.learner(org)
    message = OutgoingMessage.compose(
        organization_id=org.id,
        category=MessageCategory.TRANSACTIONAL,
        to=person.email,
        subject="Hi",
        text_body="Hi",
        sender_address="noreply@example.com",
        message_domain="example.com",
        learner_id=person.id,
    )
    entry = OutboxEntry.queue(message, now=f.NOW)
    with uow_factory() as uow:
        uow.organizations.add(org)
        uow.learners.add(person)
        uow.outbox.add(entry)
        uow.deliveries.add(
            DeliveryAttempt.of(entry, attempt=1, at=f.NOW, outcome=DeliveryOutcome.SENT)
        )
        uow.audit.add(
            AuditEntry.record(
                organization_id=org.id,
                actor="system",
                action="learner.register",
                object_type="learner",
                object_id=person.id,
                now=f.NOW,
                changes={"full_name": [None, "Ana Lima"]},
            )
        )
        uow.commit()
    with uow_factory() as uow:
        assert [e.id for e in uow.outbox.list_for_learner(person.id)] == [entry.id]
        assert uow.deliveries.replace_recipient([entry.id], "erased@erased.invalid") == 1
        assert uow.audit.scrub(org.id, person.id) == 1
        uow.commit()
    with uow_factory() as uow:
        (attempt,) = uow.deliveries.list_for_outbox(entry.id)
        assert attempt.recipient == "erased@erased.invalid"
        (audit,) = uow.audit.list(org.id)
        assert (audit.action, audit.changes) == ("learner.register", {})


def test_an_international_domain_in_ascii_finds_the_same_learner(uow_factory: UowFactory) -> None:
    org = f.organization()
    person = f.learner(org, "ana@bücher.example")
    with uow_factory() as uow:
        uow.organizations.add(org)
        uow.learners.add(person)
        uow.commit()
    with uow_factory() as uow:
        found = uow.learners.find_by_email(org.id, email_key("Ana@XN--BCHER-KVA.example"))
        assert found is not None
        assert found.id == person.id
        with pytest.raises(ConflictError):
            uow.learners.add(f.learner(org, "ana@xn--bcher-kva.example", "Twin"))
