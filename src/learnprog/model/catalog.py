"""The catalog: courses with their items and assessments, specializations, collections, skills.

Sources: guide, "Managing Curriculum" (collections of courses and specializations), the usage
report columns (Course ID, Course Slug, University, Class Start Time), the glossary
("Specialization": a sequence of courses from the same partner; "Course") and "Skills Development".
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TypeVar

from attrs import evolve, field, frozen

from learnprog.errors import ConflictError, NotFoundError, ValidationError
from learnprog.model._rules import (
    finite_number,
    flag,
    optional_line,
    optional_text,
    optional_utc,
    record_id,
    required_text,
    str_items,
    str_tuple,
    to_optional_utc,
    to_utc,
    utc,
    whole_number,
)
from learnprog.model._typecheck import checked
from learnprog.model.identity import ProgramSlug, new_id

_E = TypeVar("_E", bound=enum.StrEnum)
_T = TypeVar("_T")


def _slug(value: str, *, field: str = "slug") -> str:
    return ProgramSlug.parse(value, field=field).value


class ItemKind(enum.StrEnum):
    """The kind of a course item."""

    VIDEO = "video"
    READING = "reading"
    QUIZ = "quiz"
    PROGRAMMING_ASSIGNMENT = "programming_assignment"
    PEER_REVIEW = "peer_review"


@checked
@frozen
class CourseItem:
    """One item of a course (a video, a reading, ...), in a lesson.

    Attributes:
        id: the item's ID, unique within its course.
        name: display name.
        kind: video, reading, quiz, programming assignment or peer review.
        lesson: the lesson the item belongs to (guide: "a cohesive unit of content within a
            course including several items").
        position: the item's order in the course, from 0.
    """

    id: str
    name: str
    kind: ItemKind
    lesson: str
    position: int = 0

    @classmethod
    def create(
        cls,
        name: str,
        *,
        kind: ItemKind | str,
        lesson: str,
        id: str | None = None,
        position: int = 0,
    ) -> CourseItem:
        """Validate and make a course item.

        Raises:
            ValidationError: a blank name or lesson, or an unknown kind.
        """
        return cls(
            id=required_text(id, field="item.id", max_length=64) if id else new_id(),
            name=required_text(name, field="item.name"),
            kind=_enum(ItemKind, kind, "item.kind"),
            lesson=required_text(lesson, field="item.lesson"),
            position=_position(position, "item.position"),
        )


@checked
@frozen
class Assessment:
    """A course assessment (quiz, assignment, exam).

    Attributes:
        id: the assessment's ID, unique within its course.
        name: display name.
        graded: counts toward the course grade.
        required: must be passed to complete the course (guide glossary, "Completion").
        weight: relative weight in the course grade, 0 or more (a share, not a percent).
        due_at: aware UTC due date, or ``None``.
        pass_mark: the grade needed to pass, 0-100 (percent). Default 80.
        options: number of answer options of a multiple-choice question (for guessing in the
            skill model), or ``None``.
        skill_ids: the skills the assessment measures.
        item_id: the course item that holds the assessment, or ``None``.
    """

    id: str
    name: str
    graded: bool = True
    required: bool = True
    weight: float = 1.0
    due_at: datetime | None = field(default=None, converter=to_optional_utc)
    pass_mark: float = 80.0
    options: int | None = None
    skill_ids: tuple[str, ...] = field(default=(), converter=str_tuple)
    item_id: str | None = None

    @classmethod
    def create(
        cls,
        name: str,
        *,
        id: str | None = None,
        graded: bool = True,
        required: bool = True,
        weight: float = 1.0,
        due_at: datetime | None = None,
        pass_mark: float = 80.0,
        options: int | None = None,
        skill_ids: Sequence[str] = (),
        item_id: str | None = None,
    ) -> Assessment:
        """Validate and make an assessment.

        Raises:
            ValidationError: a blank name, a negative weight, a pass mark outside 0-100, fewer
                than 2 options, or a naive due date.
        """
        return cls(
            id=required_text(id, field="assessment.id", max_length=64) if id else new_id(),
            name=required_text(name, field="assessment.name"),
            graded=flag(graded, field="assessment.graded"),
            required=flag(required, field="assessment.required"),
            weight=finite_number(weight, field="assessment.weight", minimum=0, maximum=1e6),
            due_at=optional_utc(due_at, field="assessment.due_at"),
            pass_mark=finite_number(
                pass_mark, field="assessment.pass_mark", minimum=0, maximum=100
            ),
            options=whole_number(options, field="assessment.options", minimum=2, maximum=1000),
            skill_ids=str_items(skill_ids, field="assessment.skill_ids", max_length=255),
            item_id=None if item_id is None else record_id(item_id, field="assessment.item_id"),
        )


def _position(value: object, field: str) -> int:
    checked_value = whole_number(value, field=field, allow_none=False)
    assert checked_value is not None
    return checked_value


def _of(kind: type[_T], values: object, field: str) -> tuple[_T, ...]:
    if isinstance(values, str | bytes | Mapping) or not isinstance(values, Iterable):
        raise ValidationError(f"a list of {kind.__name__} is required", field=field, value=values)
    items = tuple(values)
    for item in items:
        if not isinstance(item, kind):
            raise ValidationError(
                f"a list of {kind.__name__} is required, not {type(item).__name__}",
                field=field,
                value=item,
            )
    return items


def _items(values: Iterable[CourseItem]) -> tuple[CourseItem, ...]:
    return _of(CourseItem, values, "items")


def _assessments(values: Iterable[Assessment]) -> tuple[Assessment, ...]:
    return _of(Assessment, values, "assessments")


@checked
@frozen
class Course:
    """A course in an organization's catalog.

    Attributes:
        id: record ID.
        organization_id: the catalog's organization.
        course_id: the guide's "Course ID": the alphanumeric identifier of the course
            (``daG-a-01EeijKBISCWxf6g``), unique per organization.
        slug: the guide's "Course Slug" (``ai-for-everyone``), unique per organization.
        name: the course name.
        partner: the partner that authored it (the report's "University").
        class_start: aware UTC start of the class, or ``None``.
        class_end: aware UTC end of the class, or ``None``.
        items: the course's items, in order.
        assessments: the course's assessments.
        created_at: aware UTC time it entered the catalog.
    """

    id: str
    organization_id: str
    course_id: str
    slug: str
    name: str
    created_at: datetime = field(converter=to_utc)
    partner: str | None = None
    class_start: datetime | None = field(default=None, converter=to_optional_utc)
    class_end: datetime | None = field(default=None, converter=to_optional_utc)
    items: tuple[CourseItem, ...] = field(default=(), converter=_items)
    assessments: tuple[Assessment, ...] = field(default=(), converter=_assessments)

    @classmethod
    def create(
        cls,
        organization_id: str,
        *,
        course_id: str,
        slug: str,
        name: str,
        now: datetime,
        partner: str | None = None,
        class_start: datetime | None = None,
        class_end: datetime | None = None,
        items: Sequence[CourseItem] = (),
        assessments: Sequence[Assessment] = (),
    ) -> Course:
        """Validate and make a catalog course.

        Raises:
            ValidationError: a blank ID or name, a bad slug, a class end before its start,
                duplicate item or assessment IDs, or an assessment naming an unknown item.
        """
        start = optional_utc(class_start, field="class_start")
        end = optional_utc(class_end, field="class_end")
        if start and end and end < start:
            raise ValidationError("the class ends before it starts", field="class_end")
        items = _items(items)
        assessments = _assessments(assessments)
        item_ids = [i.id for i in items]
        if len(set(item_ids)) != len(item_ids):
            raise ValidationError("item IDs repeat", field="items")
        assessment_ids = [a.id for a in assessments]
        if len(set(assessment_ids)) != len(assessment_ids):
            raise ValidationError("assessment IDs repeat", field="assessments")
        for a in assessments:
            if a.item_id is not None and a.item_id not in item_ids:
                raise ValidationError(
                    f"assessment {a.id!r} names unknown item {a.item_id!r}", field="assessments"
                )
        return cls(
            id=new_id(),
            organization_id=organization_id,
            course_id=required_text(course_id, field="course_id", max_length=64),
            slug=_slug(slug),
            name=required_text(name, field="name", max_length=300),
            created_at=utc(now, field="now"),
            partner=optional_line(partner, field="partner"),
            class_start=start,
            class_end=end,
            items=tuple(items),
            assessments=tuple(assessments),
        )

    @property
    def lessons(self) -> tuple[str, ...]:
        """The course's lessons, in the order of their first item."""
        seen: dict[str, None] = {}
        for item in sorted(self.items, key=lambda i: i.position):
            seen.setdefault(item.lesson, None)
        return tuple(seen)


@checked
@frozen
class Specialization:
    """An ordered sequence of courses from one partner (guide glossary, "Specialization").

    Attributes:
        id: record ID.
        organization_id: the catalog's organization.
        slug: the guide's "Specialization Slug", unique per organization.
        name: the specialization name.
        partner: the partner that authored every course of it.
        course_ids: the record IDs of its courses, in order (at least one).
        created_at: aware UTC time it entered the catalog.
    """

    id: str
    organization_id: str
    slug: str
    name: str
    course_ids: tuple[str, ...] = field(converter=str_tuple)
    created_at: datetime = field(converter=to_utc)
    partner: str | None = None

    @classmethod
    def create(
        cls, organization_id: str, *, slug: str, name: str, courses: Sequence[Course], now: datetime
    ) -> Specialization:
        """Validate and make a specialization of ``courses`` (in order).

        Raises:
            ValidationError: no courses, a course twice, a course of another organization, or
                courses from more than one partner (glossary: "Courses in a specialization are
                from the same partner").
        """
        if not courses:
            raise ValidationError("a specialization has at least one course", field="courses")
        ids = [c.id for c in courses]
        if len(set(ids)) != len(ids):
            raise ValidationError("a course appears twice", field="courses")
        if any(c.organization_id != organization_id for c in courses):
            raise ValidationError(
                "every course must be in the organization's catalog", field="courses"
            )
        partners = {c.partner for c in courses}
        if len(partners) != 1:
            raise ValidationError(
                "the courses of a specialization are from the same partner",
                field="courses",
                value=sorted(str(p) for p in partners),
            )
        return cls(
            id=new_id(),
            organization_id=organization_id,
            slug=_slug(slug),
            name=required_text(name, field="name", max_length=300),
            course_ids=tuple(ids),
            created_at=utc(now, field="now"),
            partner=partners.pop(),
        )


class EntryKind(enum.StrEnum):
    """What a collection entry points to."""

    COURSE = "course"
    SPECIALIZATION = "specialization"


@checked
@frozen
class CollectionEntry:
    """A course or specialization in a collection, by catalog record ID.

    Attributes:
        kind: course or specialization.
        target_id: the record ID of the course or specialization (not the guide's Course ID).
    """

    kind: EntryKind
    target_id: str

    @classmethod
    def course(cls, course_id: str) -> CollectionEntry:
        """Return the entry for a catalog course (its record ID).

        Raises:
            ValidationError: a blank or malformed ID.
        """
        return cls(EntryKind.COURSE, record_id(course_id, field="course_id"))

    @classmethod
    def specialization(cls, specialization_id: str) -> CollectionEntry:
        """Return the entry for a catalog specialization (its record ID).

        Raises:
            ValidationError: a blank or malformed ID.
        """
        return cls(
            EntryKind.SPECIALIZATION, record_id(specialization_id, field="specialization_id")
        )


def _entries(values: Iterable[CollectionEntry]) -> tuple[CollectionEntry, ...]:
    entries = _of(CollectionEntry, values, "entries")
    if len(set(entries)) != len(entries):
        raise ValidationError(
            "a course or specialization is at most once in a collection", field="entries"
        )
    return entries


@checked
@frozen
class Collection:
    """A named grouping of courses and specializations in a program's curriculum.

    Source: guide, "Managing Curriculum" ("A collection is defined as a grouping of courses and
    specializations").

    Attributes:
        id: record ID.
        program_id: the program whose curriculum holds it.
        name: collection name.
        description: free text, or ``None``.
        position: order among the program's collections, from 0.
        entries: the courses and specializations, in order.
    """

    id: str
    program_id: str
    name: str
    description: str | None = None
    position: int = 0
    entries: tuple[CollectionEntry, ...] = field(default=(), converter=_entries)

    @classmethod
    def create(
        cls, program_id: str, name: str, *, description: str | None = None, position: int = 0
    ) -> Collection:
        """Validate and make an empty collection.

        Raises:
            ValidationError: a blank name.
        """
        return cls(
            id=new_id(),
            program_id=program_id,
            name=required_text(name, field="name"),
            description=optional_text(description, field="description"),
            position=_position(position, "position"),
        )

    def with_details(self, **changes: object) -> Collection:
        """Return a copy with ``name`` and/or ``description`` changed (None clears a description).

        Raises:
            ValidationError: a blank name, or another field named.
        """
        clean: dict[str, object] = {}
        for key, value in changes.items():
            if key == "name":
                clean[key] = required_text(value, field="name")
            elif key == "description":
                clean[key] = optional_text(value, field="description")
            else:
                raise ValidationError("not a collection detail", field=key)
        return evolve(self, **clean)  # type: ignore[arg-type]

    def at(self, position: int) -> Collection:
        """Return a copy at ``position`` among the program's collections (from 0)."""
        return evolve(self, position=_position(position, "position"))

    def adding(self, entry: CollectionEntry, position: int | None = None) -> Collection:
        """Return a copy with ``entry`` inserted at ``position`` (default: at the end).

        Raises:
            ConflictError: the entry is in the collection already (guide, "Managing
                Curriculum": a course is added to a collection once).
            ValidationError: a position outside 0..len(entries).
        """
        if entry in self.entries:
            raise ConflictError(
                f"{entry.kind.value} {entry.target_id!r} is in collection {self.name!r} already",
                kind="collection entry",
                key=(self.id, entry.kind.value, entry.target_id),
            )
        at = len(self.entries) if position is None else _position(position, "position")
        if at > len(self.entries):
            raise ValidationError(
                f"a position is 0 to {len(self.entries)}", field="position", value=position
            )
        return evolve(self, entries=(*self.entries[:at], entry, *self.entries[at:]))

    def without(self, entry: CollectionEntry) -> Collection:
        """Return a copy without ``entry``; the later entries move up (positions stay dense).

        Raises:
            NotFoundError: the entry is not in the collection.
        """
        if entry not in self.entries:
            raise NotFoundError("collection entry", (self.id, entry.kind.value, entry.target_id))
        return evolve(self, entries=tuple(e for e in self.entries if e != entry))

    def reordered(self, entries: Sequence[CollectionEntry]) -> Collection:
        """Return a copy with the same entries in the order given.

        Raises:
            ValidationError: ``entries`` is not exactly the collection's entries, each once.
        """
        wanted = _entries(entries)
        if sorted(wanted, key=_entry_key) != sorted(self.entries, key=_entry_key):
            raise ValidationError(
                "give every entry of the collection exactly once, in the new order",
                field="entries",
            )
        return evolve(self, entries=wanted)


def _entry_key(entry: CollectionEntry) -> tuple[str, str]:
    return entry.kind.value, entry.target_id


@checked
@frozen
class Skill:
    """A skill in an organization's skill glossary (guide, "Glossary" of Skills Development).

    Attributes:
        id: record ID.
        organization_id: the owning organization.
        domain: the higher-level domain (``"Business"``).
        name: the skill name (``"Accounting"``), unique per organization and domain.
        definition: the skill's definition, or ``None``.
        example_subskills: example sub-skills (``("SQL", "Hadoop")``).
    """

    id: str
    organization_id: str
    domain: str
    name: str
    definition: str | None = None
    example_subskills: tuple[str, ...] = field(default=(), converter=str_tuple)

    @classmethod
    def create(
        cls,
        organization_id: str,
        *,
        domain: str,
        name: str,
        definition: str | None = None,
        example_subskills: Sequence[str] = (),
    ) -> Skill:
        """Validate and make a skill.

        Raises:
            ValidationError: a blank domain or name.
        """
        return cls(
            id=new_id(),
            organization_id=organization_id,
            domain=required_text(domain, field="domain"),
            name=required_text(name, field="name"),
            definition=optional_text(definition, field="definition"),
            example_subskills=tuple(
                required_text(s, field="example_subskills") for s in example_subskills
            ),
        )

    def with_details(self, *, definition: str | None, example_subskills: Sequence[str]) -> Skill:
        """Return a copy with a new definition and example sub-skills (domain and name stay).

        Raises:
            ValidationError: a blank example sub-skill.
        """
        return evolve(
            self,
            definition=optional_text(definition, field="definition"),
            example_subskills=tuple(
                required_text(s, field="example_subskills") for s in example_subskills
            ),
        )


def _enum(kind: type[_E], value: object, field: str) -> _E:
    try:
        return kind(str(value))
    except ValueError as exc:
        allowed = ", ".join(m.value for m in kind)
        raise ValidationError(f"one of {allowed} is required", field=field, value=value) from exc
