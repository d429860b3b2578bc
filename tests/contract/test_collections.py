"""The collection repository and the catalog's batch reads: the same on every adapter.

Source: guide, "Managing Curriculum" (collections of courses and specializations, in order; a
course may be in several collections of a program).
"""

from __future__ import annotations

import pytest
from attrs import evolve

from learnprog.errors import ConflictError, NotFoundError
from learnprog.model import (
    Collection,
    CollectionEntry,
    Course,
    EntryKind,
    Organization,
    Program,
    Specialization,
)
from tests import factories as f
from tests.conftest import UowFactory


def _course(org: Organization, n: int, partner: str = "Uni") -> Course:
    return Course.create(
        org.id,
        course_id=f"C{n}",
        slug=f"course-{n}",
        name=f"Course {n}",
        now=f.NOW,
        partner=partner,
    )


def _seed(
    uow_factory: UowFactory,
) -> tuple[Organization, Program, Program, list[Course], Specialization]:
    org = f.organization()
    prog = f.program(org, "Data Academy", slug="data-academy")
    other = f.program(org, "Leaders", slug="leaders")
    courses = [_course(org, n) for n in range(3)]
    spec = Specialization.create(org.id, slug="spec", name="Spec", courses=courses[:2], now=f.NOW)
    with uow_factory() as uow:
        uow.organizations.add(org)
        uow.programs.add(prog)
        uow.programs.add(other)
        for course in courses:
            uow.courses.add(course)
        uow.specializations.add(spec)
        uow.commit()
    return org, prog, other, courses, spec


def test_a_collection_round_trips_with_its_entries_in_order(uow_factory: UowFactory) -> None:
    _, prog, _, courses, spec = _seed(uow_factory)
    entries = (
        CollectionEntry.course(courses[2].id),
        CollectionEntry.specialization(spec.id),
        CollectionEntry.course(courses[0].id),
    )
    coll = evolve(
        Collection.create(prog.id, "Sustainability", description="Green things", position=0),
        entries=entries,
    )
    with uow_factory() as uow:
        uow.collections.add(coll)
        uow.commit()
    with uow_factory() as uow:
        stored = uow.collections.get(coll.id)
    assert stored == coll
    assert [e.kind for e in stored.entries] == [
        EntryKind.COURSE,
        EntryKind.SPECIALIZATION,
        EntryKind.COURSE,
    ]


def test_an_uncommitted_collection_is_gone(uow_factory: UowFactory) -> None:
    _, prog, _, _, _ = _seed(uow_factory)
    coll = Collection.create(prog.id, "Draft")
    with uow_factory() as uow:
        uow.collections.add(coll)
        assert uow.collections.get(coll.id) == coll
    with uow_factory() as uow, pytest.raises(NotFoundError):
        uow.collections.get(coll.id)


def test_update_replaces_details_position_and_entries(uow_factory: UowFactory) -> None:
    _, prog, _, courses, spec = _seed(uow_factory)
    coll = evolve(
        Collection.create(prog.id, "Start"),
        entries=(CollectionEntry.course(courses[0].id), CollectionEntry.course(courses[1].id)),
    )
    with uow_factory() as uow:
        uow.collections.add(coll)
        uow.commit()
    changed = evolve(
        coll,
        name="Begin here",
        description=None,
        position=3,
        entries=(CollectionEntry.specialization(spec.id), CollectionEntry.course(courses[1].id)),
    )
    with uow_factory() as uow:
        uow.collections.update(changed)
        uow.commit()
    with uow_factory() as uow:
        assert uow.collections.get(coll.id) == changed


def test_update_and_remove_of_a_missing_collection_are_not_found(uow_factory: UowFactory) -> None:
    _, prog, _, _, _ = _seed(uow_factory)
    ghost = Collection.create(prog.id, "Ghost")
    with uow_factory() as uow:
        with pytest.raises(NotFoundError):
            uow.collections.update(ghost)
        with pytest.raises(NotFoundError):
            uow.collections.remove(ghost.id)
        with pytest.raises(NotFoundError):
            uow.collections.get(ghost.id)


def test_remove_deletes_the_collection_and_its_entries(uow_factory: UowFactory) -> None:
    _, prog, _, courses, _ = _seed(uow_factory)
    keep = evolve(
        Collection.create(prog.id, "Keep", position=0),
        entries=(CollectionEntry.course(courses[0].id),),
    )
    drop = evolve(
        Collection.create(prog.id, "Drop", position=1),
        entries=(CollectionEntry.course(courses[0].id),),
    )
    with uow_factory() as uow:
        uow.collections.add(keep)
        uow.collections.add(drop)
        uow.commit()
    with uow_factory() as uow:
        uow.collections.remove(drop.id)
        uow.commit()
    with uow_factory() as uow:
        assert uow.collections.list_for_program(prog.id) == [keep]
        with pytest.raises(NotFoundError):
            uow.collections.get(drop.id)


def test_a_course_may_be_in_several_collections_of_a_program(uow_factory: UowFactory) -> None:
    _, prog, _, courses, _ = _seed(uow_factory)
    entry = CollectionEntry.course(courses[0].id)
    one = evolve(Collection.create(prog.id, "One", position=0), entries=(entry,))
    two = evolve(Collection.create(prog.id, "Two", position=1), entries=(entry,))
    with uow_factory() as uow:
        uow.collections.add(one)
        uow.collections.add(two)
        uow.commit()
    with uow_factory() as uow:
        assert [c.entries for c in uow.collections.list_for_program(prog.id)] == [
            (entry,),
            (entry,),
        ]


def test_a_program_lists_its_own_collections_by_position(uow_factory: UowFactory) -> None:
    _, prog, other, _, _ = _seed(uow_factory)
    second = Collection.create(prog.id, "Second", position=1)
    first = Collection.create(prog.id, "First", position=0)
    third = Collection.create(prog.id, "Third", position=2)
    elsewhere = Collection.create(other.id, "Elsewhere", position=0)
    with uow_factory() as uow:
        for coll in (third, elsewhere, second, first):
            uow.collections.add(coll)
        uow.commit()
    with uow_factory() as uow:
        assert [c.name for c in uow.collections.list_for_program(prog.id)] == [
            "First",
            "Second",
            "Third",
        ]
        assert uow.collections.list_for_program(other.id) == [elsewhere]
        assert uow.collections.list_for_program("no-such-program") == []


def test_the_same_collection_id_twice_is_a_conflict_and_the_uow_stays_usable(
    uow_factory: UowFactory,
) -> None:
    _, prog, _, courses, _ = _seed(uow_factory)
    coll = Collection.create(prog.id, "Once")
    with uow_factory() as uow:
        uow.collections.add(coll)
        with pytest.raises(ConflictError):
            uow.collections.add(
                evolve(coll, name="Twice", entries=(CollectionEntry.course(courses[0].id),))
            )
        uow.commit()
    with uow_factory() as uow:
        assert uow.collections.get(coll.id) == coll


def test_batch_course_reads_find_by_course_id_and_slug(uow_factory: UowFactory) -> None:
    org, _, _, courses, _ = _seed(uow_factory)
    other_org = f.organization("Globex")
    foreign = _course(other_org, 1)
    with uow_factory() as uow:
        uow.organizations.add(other_org)
        uow.courses.add(foreign)
        uow.commit()
    with uow_factory() as uow:
        by_id = uow.courses.find_by_course_ids(org.id, ["C0", "C2", "C9"])
        by_slug = uow.courses.find_by_slugs(org.id, ["course-1", "nope"])
        assert {k: v.id for k, v in by_id.items()} == {"C0": courses[0].id, "C2": courses[2].id}
        assert {k: v.id for k, v in by_slug.items()} == {"course-1": courses[1].id}
        assert uow.courses.find_by_course_ids(org.id, []) == {}
        assert uow.courses.find_by_slugs(other_org.id, ["course-1"])["course-1"].id == foreign.id


def test_add_many_courses_is_all_or_nothing(uow_factory: UowFactory) -> None:
    org, _, _, _, _ = _seed(uow_factory)
    fresh = [_course(org, 10), _course(org, 11)]
    taken = Course.create(org.id, course_id="C12", slug="course-0", name="Slug taken", now=f.NOW)
    with uow_factory() as uow:
        with pytest.raises(ConflictError):
            uow.courses.add_many([*fresh, taken])
        uow.commit()
    with uow_factory() as uow:
        assert uow.courses.find_by_course_ids(org.id, ["C10", "C11", "C12"]) == {}
        uow.courses.add_many(fresh)
        uow.commit()
    with uow_factory() as uow:
        assert sorted(uow.courses.find_by_course_ids(org.id, ["C10", "C11"])) == ["C10", "C11"]
