"""Unit tests of learnprog.model.catalog: items, assessments, courses, specializations, ..."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from attrs import evolve

from learnprog.errors import ConflictError, NotFoundError, ValidationError
from learnprog.model.catalog import (
    Assessment,
    Collection,
    CollectionEntry,
    Course,
    CourseItem,
    ItemKind,
    Skill,
    Specialization,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _course(
    org: str = "org-1",
    *,
    partner: str | None = "DeepLearning.AI",
    slug: str = "ai-for-everyone",
    course_id: str = "daG-a-01EeijKBISCWxf6g",
) -> Course:
    return Course.create(
        org, course_id=course_id, slug=slug, name="AI For Everyone", now=NOW, partner=partner
    )


# --- CourseItem -------------------------------------------------------------------------------


def test_course_item_create() -> None:
    item = CourseItem.create(" Intro ", kind="video", lesson=" Week 1 ", id="v1", position=2)
    assert (item.id, item.name, item.kind, item.lesson, item.position) == (
        "v1",
        "Intro",
        ItemKind.VIDEO,
        "Week 1",
        2,
    )


def test_course_item_without_id_gets_new_id() -> None:
    item = CourseItem.create("Intro", kind=ItemKind.READING, lesson="W1")
    assert re.fullmatch(r"[0-9a-f]{32}", item.id)


def test_course_item_unknown_kind() -> None:
    with pytest.raises(ValidationError, match="one of video, reading, quiz") as info:
        CourseItem.create("Intro", kind="podcast", lesson="W1")
    assert info.value.field == "item.kind"
    assert info.value.value == "podcast"


@pytest.mark.parametrize(
    ("name", "lesson", "item_id", "field"),
    [
        ("", "W1", None, "item.name"),
        ("Intro", " ", None, "item.lesson"),
        ("Intro", "W1", "x" * 65, "item.id"),
        ("Intro", "W1", "a\nb", "item.id"),
    ],
)
def test_course_item_blank_fields(name: str, lesson: str, item_id: str | None, field: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(f"field '{field}'")):
        CourseItem.create(name, kind="quiz", lesson=lesson, id=item_id)


# --- Assessment -------------------------------------------------------------------------------


def test_assessment_defaults() -> None:
    a = Assessment.create("Quiz 1", id="q1", skill_ids=["s1", "s2"])
    assert a.id == "q1"
    assert a.graded
    assert a.required
    assert a.weight == 1.0
    assert a.pass_mark == 80.0
    assert a.options is None
    assert a.skill_ids == ("s1", "s2")
    assert a.due_at is None


@pytest.mark.parametrize("mark", [0, 100, 55.5])
def test_assessment_pass_mark_bounds_inclusive(mark: float) -> None:
    assert Assessment.create("Q", pass_mark=mark).pass_mark == mark


@pytest.mark.parametrize("mark", [-0.1, 100.1, 101, -5, math.nan])
def test_assessment_pass_mark_outside_0_100(mark: float) -> None:
    with pytest.raises(ValidationError, match="pass_mark") as info:
        Assessment.create("Q", pass_mark=mark)
    assert info.value.field == "assessment.pass_mark"


@pytest.mark.parametrize("weight", [0, 0.5, 3])
def test_assessment_weight_non_negative_ok(weight: float) -> None:
    created = Assessment.create("Q", weight=weight)
    assert created.weight == weight
    assert isinstance(created.weight, float)


def test_assessment_negative_weight() -> None:
    with pytest.raises(ValidationError, match="weight") as info:
        Assessment.create("Q", weight=-0.01)
    assert info.value.field == "assessment.weight"


def test_assessment_nan_weight_rejected() -> None:
    with pytest.raises(ValidationError, match="weight"):
        Assessment.create("Q", weight=math.nan)


@pytest.mark.parametrize("options", [2, 5])
def test_assessment_options_ok(options: int) -> None:
    assert Assessment.create("Q", options=options).options == options


@pytest.mark.parametrize("options", [1, 0, -3])
def test_assessment_options_at_least_two(options: int) -> None:
    with pytest.raises(ValidationError, match="options") as info:
        Assessment.create("Q", options=options)
    assert info.value.field == "assessment.options"


def test_assessment_due_at_converted_and_naive_rejected() -> None:
    plus1 = timezone(timedelta(hours=1))
    a = Assessment.create("Q", due_at=datetime(2026, 4, 1, 10, 0, tzinfo=plus1))
    assert a.due_at == datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
    assert a.due_at is not None
    assert a.due_at.tzinfo is UTC
    with pytest.raises(ValidationError, match="naive") as info:
        Assessment.create("Q", due_at=datetime(2026, 4, 1))
    assert info.value.field == "assessment.due_at"


def test_assessment_blank_name() -> None:
    with pytest.raises(ValidationError, match=re.escape("field 'assessment.name'")):
        Assessment.create("  ")


# --- Course -----------------------------------------------------------------------------------


def test_course_create() -> None:
    items = [
        CourseItem.create("Intro", kind="video", lesson="W1", id="v1", position=0),
        CourseItem.create("Quiz", kind="quiz", lesson="W1", id="q1", position=1),
    ]
    assessments = [Assessment.create("Quiz", id="a1", item_id="q1")]
    course = Course.create(
        "org-1",
        course_id=" daG-a-01EeijKBISCWxf6g ",
        slug="ai-for-everyone",
        name="AI For Everyone",
        now=NOW,
        partner=" DeepLearning.AI ",
        class_start=NOW,
        class_end=NOW + timedelta(days=30),
        items=items,
        assessments=assessments,
    )
    assert course.course_id == "daG-a-01EeijKBISCWxf6g"
    assert course.slug == "ai-for-everyone"
    assert course.partner == "DeepLearning.AI"
    assert course.items == tuple(items)
    assert course.assessments == tuple(assessments)
    assert course.class_end == NOW + timedelta(days=30)


def test_course_class_may_end_when_it_starts() -> None:
    course = Course.create(
        "o", course_id="c", slug="c", name="C", now=NOW, class_start=NOW, class_end=NOW
    )
    assert course.class_start == course.class_end == NOW


def test_course_class_end_before_start() -> None:
    with pytest.raises(ValidationError, match="ends before it starts") as info:
        Course.create(
            "o",
            course_id="c",
            slug="c",
            name="C",
            now=NOW,
            class_start=NOW,
            class_end=NOW - timedelta(seconds=1),
        )
    assert info.value.field == "class_end"


def test_course_duplicate_item_ids() -> None:
    items = [
        CourseItem.create("A", kind="video", lesson="W1", id="x"),
        CourseItem.create("B", kind="reading", lesson="W1", id="x"),
    ]
    with pytest.raises(ValidationError, match="item IDs repeat") as info:
        Course.create("o", course_id="c", slug="c", name="C", now=NOW, items=items)
    assert info.value.field == "items"


def test_course_duplicate_assessment_ids() -> None:
    assessments = [Assessment.create("A", id="a"), Assessment.create("B", id="a")]
    with pytest.raises(ValidationError, match="assessment IDs repeat") as info:
        Course.create("o", course_id="c", slug="c", name="C", now=NOW, assessments=assessments)
    assert info.value.field == "assessments"


def test_course_assessment_naming_unknown_item() -> None:
    items = [CourseItem.create("A", kind="quiz", lesson="W1", id="q1")]
    assessments = [Assessment.create("A", id="a1", item_id="q2")]
    with pytest.raises(ValidationError, match="assessment 'a1' names unknown item 'q2'") as info:
        Course.create(
            "o", course_id="c", slug="c", name="C", now=NOW, items=items, assessments=assessments
        )
    assert info.value.field == "assessments"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"course_id": " "}, "course_id"),
        ({"course_id": "x" * 65}, "course_id"),
        ({"slug": "AI For Everyone"}, "slug"),
        ({"name": ""}, "name"),
        ({"name": "x" * 301}, "name"),
        ({"partner": "a\nb"}, "partner"),
    ],
)
def test_course_field_rules(kwargs: dict[str, str], field: str) -> None:
    base: dict[str, Any] = {"course_id": "c", "slug": "c", "name": "C"} | kwargs
    with pytest.raises(ValidationError, match=re.escape(f"field '{field}'")):
        Course.create("o", now=NOW, **base)


def test_course_naive_class_start() -> None:
    with pytest.raises(ValidationError, match="naive") as info:
        Course.create(
            "o", course_id="c", slug="c", name="C", now=NOW, class_start=datetime(2026, 1, 1)
        )
    assert info.value.field == "class_start"


def test_course_lessons_in_order_of_first_item_by_position() -> None:
    items = [
        CourseItem.create("c", kind="video", lesson="Week 2", id="c", position=2),
        CourseItem.create("a", kind="video", lesson="Week 1", id="a", position=0),
        CourseItem.create("d", kind="quiz", lesson="Week 1", id="d", position=3),
        CourseItem.create("b", kind="reading", lesson="Week 3", id="b", position=1),
        CourseItem.create("e", kind="reading", lesson="Week 2", id="e", position=4),
    ]
    course = Course.create("o", course_id="c", slug="c", name="C", now=NOW, items=items)
    assert course.lessons == ("Week 1", "Week 3", "Week 2")


def test_course_without_items_has_no_lessons() -> None:
    assert _course().lessons == ()


# --- Specialization ---------------------------------------------------------------------------


def test_specialization_create_keeps_order() -> None:
    a = _course(slug="a")
    b = _course(slug="b")
    spec = Specialization.create(
        "org-1", slug="deep-learning", name="Deep Learning", courses=[b, a], now=NOW
    )
    assert spec.course_ids == (b.id, a.id)
    assert spec.partner == "DeepLearning.AI"
    assert spec.slug == "deep-learning"
    assert spec.created_at == NOW


def test_specialization_courses_without_partner() -> None:
    spec = Specialization.create(
        "org-1", slug="s", name="S", courses=[_course(partner=None), _course(partner=None)], now=NOW
    )
    assert spec.partner is None


def test_specialization_empty() -> None:
    with pytest.raises(ValidationError, match="at least one course") as info:
        Specialization.create("org-1", slug="s", name="S", courses=[], now=NOW)
    assert info.value.field == "courses"


def test_specialization_duplicate_course() -> None:
    a = _course()
    with pytest.raises(ValidationError, match="a course appears twice") as info:
        Specialization.create("org-1", slug="s", name="S", courses=[a, _course(), a], now=NOW)
    assert info.value.field == "courses"


@pytest.mark.parametrize("other_partner", ["Stanford", None])
def test_specialization_courses_from_different_partners(other_partner: str | None) -> None:
    courses = [_course(), _course(partner=other_partner)]
    with pytest.raises(ValidationError, match="from the same partner") as info:
        Specialization.create("org-1", slug="s", name="S", courses=courses, now=NOW)
    assert info.value.field == "courses"
    assert info.value.value == sorted(["DeepLearning.AI", str(other_partner)])


def test_specialization_course_of_another_organization() -> None:
    with pytest.raises(ValidationError, match="organization's catalog") as info:
        Specialization.create(
            "org-1", slug="s", name="S", courses=[_course(), _course("org-2")], now=NOW
        )
    assert info.value.field == "courses"


def test_specialization_bad_slug() -> None:
    with pytest.raises(ValidationError, match="a slug is"):
        Specialization.create("org-1", slug="S S", name="S", courses=[_course()], now=NOW)


# --- Collection / Skill -----------------------------------------------------------------------


def test_collection_create() -> None:
    coll = Collection.create("prog-1", " Starters ", description="For\nnew people", position=2)
    assert coll.program_id == "prog-1"
    assert coll.name == "Starters"
    assert coll.description == "For\nnew people"
    assert coll.position == 2
    assert coll.entries == ()


@pytest.mark.parametrize("name", ["", "  ", "a\rb"])
def test_collection_bad_name(name: str) -> None:
    with pytest.raises(ValidationError, match="field 'name'"):
        Collection.create("prog-1", name)


def test_collection_blank_description_is_none() -> None:
    assert Collection.create("p", "C", description=" \n ").description is None


def test_skill_create() -> None:
    skill = Skill.create(
        "org-1",
        domain=" Data Science ",
        name=" SQL ",
        definition="Querying data.",
        example_subskills=[" Joins ", "Windows"],
    )
    assert (skill.domain, skill.name) == ("Data Science", "SQL")
    assert skill.definition == "Querying data."
    assert skill.example_subskills == ("Joins", "Windows")


@pytest.mark.parametrize(
    ("domain", "name", "subskills", "field"),
    [
        ("", "SQL", [], "domain"),
        ("Data", " ", [], "name"),
        ("Data", "SQL", ["Joins", "  "], "example_subskills"),
    ],
)
def test_skill_rules(domain: str, name: str, subskills: list[str], field: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(f"field '{field}'")):
        Skill.create("org-1", domain=domain, name=name, example_subskills=subskills)


# --- Collection entries (guide, "Managing Curriculum") ----------------------------------------


def _entries(*ids: str) -> tuple[CollectionEntry, ...]:
    return tuple(CollectionEntry.course(i) for i in ids)


def test_a_collection_refuses_the_same_entry_twice() -> None:
    with pytest.raises(ValidationError, match="field 'entries'"):
        evolve(Collection.create("p", "C"), entries=_entries("a", "a"))


def test_a_course_and_a_specialization_with_one_id_are_two_entries() -> None:
    both = (CollectionEntry.course("x"), CollectionEntry.specialization("x"))
    assert evolve(Collection.create("p", "C"), entries=both).entries == both


def test_adding_appends_or_inserts_and_refuses_a_repeat() -> None:
    coll = evolve(Collection.create("p", "C"), entries=_entries("a", "b"))
    assert coll.adding(CollectionEntry.course("c")).entries == _entries("a", "b", "c")
    assert coll.adding(CollectionEntry.course("c"), 0).entries == _entries("c", "a", "b")
    with pytest.raises(ConflictError, match="already"):
        coll.adding(CollectionEntry.course("a"))
    with pytest.raises(ValidationError, match="field 'position'"):
        coll.adding(CollectionEntry.course("c"), 3)


def test_without_closes_the_gap_and_names_a_missing_entry() -> None:
    coll = evolve(Collection.create("p", "C"), entries=_entries("a", "b", "c"))
    assert coll.without(CollectionEntry.course("b")).entries == _entries("a", "c")
    with pytest.raises(NotFoundError):
        coll.without(CollectionEntry.specialization("a"))


def test_reordered_takes_a_permutation_only() -> None:
    coll = evolve(Collection.create("p", "C"), entries=_entries("a", "b", "c"))
    assert coll.reordered(_entries("c", "a", "b")).entries == _entries("c", "a", "b")
    for bad in (_entries("a", "b"), _entries("a", "b", "c", "d"), _entries("a", "b", "d")):
        with pytest.raises(ValidationError, match="exactly once"):
            coll.reordered(bad)


def test_with_details_changes_name_and_description_only() -> None:
    coll = Collection.create("p", "C", description="old")
    assert coll.with_details(name=" New ", description=None).name == "New"
    assert coll.with_details(description=None).description is None
    with pytest.raises(ValidationError, match="field 'position'"):
        coll.with_details(position=2)
    with pytest.raises(ValidationError, match="field 'name'"):
        coll.with_details(name=" ")
