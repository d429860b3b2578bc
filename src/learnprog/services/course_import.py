"""The catalog from a CSV file: courses by the usage report's column names.

Source: guide, "Reporting" (the usage report's columns ``Course ID``, ``Course Slug``,
``Course``, ``University``, ``Class Start Time``; times in ISO 8601 with ``Z``, such as
``2020-01-06T08:00:00.000Z``). ``Course ID``, ``Course Slug`` and ``Course`` are required
columns; ``University``, ``Class Start Time`` and ``Class End Time`` are optional (empty cells
leave the value unset). Items and assessments are not in the file: add them with
:meth:`~learnprog.services.programs.ProgramService.add_course`.

Reading is :mod:`learnprog.csvfiles` (encodings, delimiters, loose header matching); chunks,
retries, dry run and progress are :class:`~learnprog.services._batch.ChunkedRun`'s, as for bulk
invitation. Each non-blank line gets one :class:`CourseRowResult`:

- ``created``: a new catalog course;
- ``already_in_catalog``: a course with this Course ID is in the catalog; nothing changes (a
  second import of the same file changes nothing);
- ``duplicate``: the Course ID appeared on an earlier line of this file (``duplicate_of``);
- ``rejected``: with the reason, naming the column (an empty required cell, a bad slug, a time
  without a UTC offset, a class ending before it starts, a Course Slug that another Course ID
  has in the catalog or on an earlier line).

Course IDs and slugs created by the run are remembered (a few dozen bytes a course) to name the
first line of a repeat in a later chunk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import datetime

from attrs import define, frozen

from learnprog.csvfiles import CsvRow, csv_time
from learnprog.errors import ValidationError
from learnprog.model.access import Actor
from learnprog.model.audit import AuditEntry
from learnprog.model.catalog import Course
from learnprog.services._batch import ChunkedRun, creation_changes
from learnprog.storage.ports import UnitOfWork

COLUMNS = ("Course ID", "Course Slug", "Course")
"""The required headers (the usage report's names)."""

OPTIONAL_COLUMNS = ("University", "Class Start Time", "Class End Time")
"""Headers read when present."""

CREATED = "created"
ALREADY_IN_CATALOG = "already_in_catalog"
DUPLICATE = "duplicate"
REJECTED = "rejected"
OUTCOMES = (CREATED, ALREADY_IN_CATALOG, DUPLICATE, REJECTED)

_FIELD_COLUMNS = {
    "course_id": "Course ID",
    "slug": "Course Slug",
    "name": "Course",
    "partner": "University",
    "class_start": "Class Start Time",
    "class_end": "Class End Time",
}


@frozen
class CourseRowResult:
    """What happened to one line of a catalog file.

    Attributes:
        line: the line the record starts on (the header is line 1).
        outcome: created, already_in_catalog, duplicate or rejected.
        course_id: the Course ID cell as read.
        slug: the Course Slug cell as read.
        name: the Course cell as read.
        record_id: the catalog record ID of the course created or already there, else None.
        reason: why the line was rejected, naming the column, or None.
        duplicate_of: for a duplicate, the earlier line with the same Course ID.
    """

    line: int
    outcome: str
    course_id: str
    slug: str
    name: str
    record_id: str | None = None
    reason: str | None = None
    duplicate_of: int | None = None


@define
class CourseImportTotals:
    """Counts per outcome, and the lines read."""

    lines: int = 0
    created: int = 0
    already_in_catalog: int = 0
    duplicate: int = 0
    rejected: int = 0

    def add(self, result: CourseRowResult) -> None:
        """Count one result."""
        self.lines += 1
        setattr(self, result.outcome, getattr(self, result.outcome) + 1)


class CourseImport(ChunkedRun[CourseRowResult, CourseImportTotals]):
    """A catalog import run: iterate it for each line's result, or call :meth:`run`.

    Made by :meth:`learnprog.services.curriculum.CurriculumService.import_courses`, which has
    checked the actor, the organization and the file's headers::

        with lp.curriculum.import_courses(admin, org.id, "courses.csv") as run:
            for result in run:
                ...
        run.totals
    """

    def __init__(
        self,
        *,
        stack: ExitStack,
        rows: Iterator[CsvRow],
        actor: Actor,
        organization_id: str,
        uow_factory: Callable[[], UnitOfWork],
        now: Callable[[], datetime],
        dry_run: bool,
        chunk_size: int,
        progress: Callable[[int], None] | None,
    ) -> None:
        super().__init__(
            stack=stack,
            rows=rows,
            uow_factory=uow_factory,
            dry_run=dry_run,
            chunk_size=chunk_size,
            progress=progress,
            totals=CourseImportTotals(),
        )
        self._actor = actor
        self._org_id = organization_id
        self._now = now
        self._created_ids: dict[str, int] = {}  # Course ID -> line, of courses this run made
        self._created_slugs: dict[str, int] = {}

    def _count(self, result: CourseRowResult) -> None:
        self.totals.add(result)
        if result.outcome == CREATED:
            self._created_ids[result.course_id] = result.line
            self._created_slugs[result.slug] = result.line

    def _decide(self, uow: UnitOfWork, rows: list[CsvRow]) -> list[CourseRowResult]:
        now = self._now()
        results: dict[int, CourseRowResult] = {}
        checked: list[tuple[CsvRow, Course]] = []
        for row in rows:
            course = self._check(row, now)
            if isinstance(course, CourseRowResult):
                results[row.line] = course
            else:
                checked.append((row, course))
        existing = uow.courses.find_by_course_ids(
            self._org_id, list({c.course_id for _, c in checked})
        )
        slugs = uow.courses.find_by_slugs(self._org_id, list({c.slug for _, c in checked}))
        ids_here = dict(self._created_ids)
        slugs_here = dict(self._created_slugs)
        new: list[Course] = []
        for row, course in checked:
            if course.course_id in ids_here:
                results[row.line] = _result(row, DUPLICATE, duplicate_of=ids_here[course.course_id])
            elif course.course_id in existing:
                results[row.line] = _result(
                    row, ALREADY_IN_CATALOG, record_id=existing[course.course_id].id
                )
            elif course.slug in slugs_here:
                results[row.line] = _result(
                    row,
                    REJECTED,
                    reason=f"Course Slug: {course.slug!r} is on line {slugs_here[course.slug]} "
                    "with another Course ID",
                )
            elif course.slug in slugs:
                results[row.line] = _result(
                    row,
                    REJECTED,
                    reason=f"Course Slug: {course.slug!r} belongs to Course ID "
                    f"{slugs[course.slug].course_id!r} in the catalog",
                )
            else:
                ids_here[course.course_id] = row.line
                slugs_here[course.slug] = row.line
                new.append(course)
                results[row.line] = _result(row, CREATED, record_id=course.id)
        uow.courses.add_many(new)
        uow.audit.add_many(
            [
                AuditEntry.record(
                    organization_id=self._org_id,
                    actor=self._actor.describe(),
                    action="course.add",
                    object_type="course",
                    object_id=course.id,
                    now=now,
                    changes=creation_changes(course),
                )
                for course in new
            ]
        )
        return [results[row.line] for row in rows]

    def _check(self, row: CsvRow, now: datetime) -> Course | CourseRowResult:
        for column in COLUMNS:
            if not row.values[column]:
                return _result(row, REJECTED, reason=f"{column}: the cell is empty")
        try:
            return Course.create(
                self._org_id,
                course_id=row.values["Course ID"],
                slug=row.values["Course Slug"],
                name=" ".join(row.values["Course"].split()),
                now=now,
                partner=row.values["University"] or None,
                class_start=_timestamp(row, "Class Start Time"),
                class_end=_timestamp(row, "Class End Time"),
            )
        except ValidationError as exc:
            column = _FIELD_COLUMNS.get(exc.field or "", exc.field or "line")
            return _result(row, REJECTED, reason=f"{column}: {exc.reason}")


def _timestamp(row: CsvRow, column: str) -> datetime | None:
    text = row.values[column]
    return csv_time(text, column=column, line=row.line) if text else None


def _result(
    row: CsvRow,
    outcome: str,
    *,
    record_id: str | None = None,
    reason: str | None = None,
    duplicate_of: int | None = None,
) -> CourseRowResult:
    return CourseRowResult(
        row.line,
        outcome,
        row.values["Course ID"],
        row.values["Course Slug"],
        row.values["Course"],
        record_id,
        reason,
        duplicate_of,
    )


__all__ = [
    "ALREADY_IN_CATALOG",
    "COLUMNS",
    "CREATED",
    "DUPLICATE",
    "OPTIONAL_COLUMNS",
    "OUTCOMES",
    "REJECTED",
    "CourseImport",
    "CourseImportTotals",
    "CourseRowResult",
]
