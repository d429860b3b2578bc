"""Importing admin exports: the membership, usage and specialization report CSVs of a program.

An organization brings its history by importing the reports its earlier platform exported
(guide, "Reporting": "Membership Report", "Usage Report", "Specialization Report"). The guide's
columns are read, and the variants exports carry in practice (see :data:`ALIASES` and the
``*_IGNORED`` tuples); headers are matched ignoring case and spaces, the encoding and delimiter
are detected and a protected cell's leading ``'`` is removed (:mod:`learnprog.csvfiles`).

* **Membership export** (:meth:`ExportImportService.import_membership_export`): one learner
  and membership per line, with the line's invitation, join and (for ``DELETED_MEMBER``)
  removal times (:meth:`~learnprog.services.invitations.InvitationService.import_members`).
* **Usage export** (:meth:`ExportImportService.import_usage_export`): one course enrollment
  per line, for a learner the membership export brought (import it first), with the line's
  figures kept as the enrollment's imported figures
  (:func:`learnprog.model.progress.with_imported`): writing learnprog's usage report then gives
  the export's values back, and later activity adds to them.
* **Specialization export** (:meth:`ExportImportService.import_specialization_export`): one
  specialization enrollment per line, with its last activity and completion time.

Columns that are neither read nor known become **learner attributes** named by their header
(never dropped silently); the result lists them (``attribute_columns``). Known columns that are
not stored (derived figures learnprog computes itself, or facts it has no place for) are listed
in ``ignored_columns``. See ``docs/history-imports.md`` for every column.

Every line gets a result naming its file line: created, existing (imported before: nothing
changed) or rejected with the reason naming the column. Importing the same file twice changes
nothing the second time. The file's rows are read into memory (a few hundred bytes a line)
before anything is stored; enrollments are then stored a chunk at a time, each chunk all or
nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TypeVar

from attrs import frozen

from learnprog.csvfiles import CsvRow, CsvSource, csv_time, normalize_header, read_csv
from learnprog.errors import NotFoundError, ValidationError
from learnprog.model._rules import record_id
from learnprog.model.access import Actor, require_org_admin
from learnprog.model.catalog import Collection, CollectionEntry, Course
from learnprog.model.identity import EmailAddress
from learnprog.model.learner import Learner, Membership, MemberState
from learnprog.model.organization import Program
from learnprog.reports.tables import (
    PROFILE_COLUMNS,
    SPECIALIZATION_COLUMNS,
    USAGE_COLUMNS,
)
from learnprog.services._base import Service, ServiceContext
from learnprog.services.history import (
    EnrollmentRecord,
    HistoryFigures,
    ImportOutcome,
    ImportResult,
    MemberRecord,
    OutcomeCounts,
    check_progress,
)
from learnprog.services.invitations import InvitationService
from learnprog.services.learning import LearningService
from learnprog.storage.ports import UnitOfWork

T = TypeVar("T")

ALIASES: Mapping[str, tuple[str, ...]] = {
    "Course Grades": ("Course Grade",),
    "Last Activity Time": ("Latest Program Activity Date",),
    "Contract(s)": ("Contract",),
}
"""Header variants exports carry for a guide column, read as that column (the guide's name
wins when a file has both and its cell is not empty)."""

MEMBERSHIP_REQUIRED = ("Name", "Email", "Member State", "Invitation Date")
"""The membership export's columns an import needs."""

USAGE_REQUIRED = ("Email", "Enrollment Time")
"""The usage export's columns an import needs, with ``Course Slug`` or ``Course ID``."""

SPECIALIZATION_REQUIRED = ("Email", "Specialization Slug", "Enrollment Time")
"""The specialization export's columns an import needs."""

MEMBERSHIP_IGNORED = (
    "Program Name",
    "Program Slug",
    "# Enrolled Courses",
    "# Completed Courses",
    "Last Activity Time",
)
"""Membership columns read but not stored: the program is the one imported into, and the
counts and last activity are derived from the usage export's enrollments."""

_EXPORT_EXTRAS = ("Class End Time", "Course Certificate URL", "For Credit", "Course Type")
_SPECIALIZATION_EXTRAS = ("# Courses in Specialization", "Specialization Certificate URL")

USAGE_IGNORED = (
    "Name",
    "External Id",
    "Removed From Program",
    "Program Slug",
    "Program Name",
    "Contract",
    "Course Certificate URL",
    "For Credit",
    "Course Type",
    *PROFILE_COLUMNS,
)
"""Usage columns read but not stored: the learner, removal and contract come from the
membership; certificates, credit and course type have no place in learnprog."""

SPECIALIZATION_IGNORED = (
    "Name",
    "External Id",
    "Specialization",
    "University",
    "Removed From Program",
    "Program Slug",
    "Program Name",
    "Contract",
    *_SPECIALIZATION_EXTRAS,
    *PROFILE_COLUMNS,
)
"""Specialization columns read but not stored: the specialization comes from the catalog by
slug, the learner and contract from the membership."""

_PROFILE_FIELDS = {c: "_".join(c.lower().split()) for c in PROFILE_COLUMNS}
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


@frozen
class ExportLine:
    """The result of one line of an admin export.

    Attributes:
        line: the file line the record starts on (the header is line 1).
        outcome: created, existing (imported before: nothing changed) or rejected.
        record_id: the learner (membership export) or the enrollment (usage and
            specialization exports), or ``None`` when rejected.
        reason: why the line was rejected, naming the line and column, or ``None``.
    """

    line: int
    outcome: ImportOutcome
    record_id: str | None = None
    reason: str | None = None


@frozen
class ExportImportResult(OutcomeCounts[ExportLine]):
    """What an export import did, line by line.

    Attributes:
        lines: one result per non-blank line, in file order.
        attribute_columns: the file's unknown columns, stored as learner attributes.
        ignored_columns: known columns with values that are not stored (see the module).
        courses_created: courses added to the catalog (usage export).
        collections_created: collections added to the program (usage export, for the
            "Enrollment Source" of its lines).
    """

    lines: tuple[ExportLine, ...]
    attribute_columns: tuple[str, ...] = ()
    ignored_columns: tuple[str, ...] = ()
    courses_created: int = 0
    collections_created: int = 0

    def _results(self) -> Sequence[ExportLine]:
        return self.lines


# --- reading cells ------------------------------------------------------------------------------


def _optional(*columns: tuple[str, ...]) -> tuple[str, ...]:
    names = [c for group in columns for c in group]
    names += [a for c in names for a in ALIASES.get(c, ())]
    return tuple(dict.fromkeys(names))


def _cell(row: CsvRow, column: str) -> str:
    """The column's cell, or its first variant's when empty."""
    value = row.values.get(column, "")
    for alias in ALIASES.get(column, ()):
        if value:
            break
        value = row.values.get(alias, "")
    return value


def _time(row: CsvRow, column: str, *, required: bool = False) -> datetime | None:
    """An ISO 8601 time with an offset (``2019-12-23T06:18:32.782Z``); a bare date is 00:00 UTC.

    Raises:
        ValidationError: an empty required cell, a text that is no ISO time, or a time without
            an offset (naming the line and column).
    """
    text = _cell(row, column)
    if not text:
        if required:
            raise ValidationError("the cell is empty", field=column, line=row.line)
        return None
    return csv_time(text, column=column, line=row.line, dates=True)


def _number(row: CsvRow, column: str, *, maximum: float | None = None) -> float | None:
    """A decimal number 0 or more (``12.82``; a decimal comma is read as a point).

    Raises:
        ValidationError: not a number, below 0 or above ``maximum`` (naming line and column).
    """
    text = _cell(row, column).replace(",", ".")
    if not text:
        return None
    if not _NUMBER.fullmatch(text):
        raise ValidationError(f"{text!r} is not a number", field=column, line=row.line)
    value = float(text)
    if value < 0 or (maximum is not None and value > maximum):
        limit = f"0 to {maximum:g}" if maximum is not None else "0 or more"
        raise ValidationError(f"{text!r} is not {limit}", field=column, line=row.line)
    return value


def _yes_no(row: CsvRow, column: str) -> bool | None:
    """A Yes/No cell (any case); ``None`` when empty.

    Raises:
        ValidationError: anything else (naming line and column).
    """
    text = _cell(row, column).casefold()
    if not text:
        return None
    if text in ("yes", "no"):
        return text == "yes"
    raise ValidationError(f"{_cell(row, column)!r} is not Yes or No", field=column, line=row.line)


def _attributes(row: CsvRow) -> dict[str, str]:
    return {name: value for name, value in row.extra.items() if name and value}


def _email_key(row: CsvRow) -> str:
    return EmailAddress.parse(row.values["Email"], field="Email", line=row.line).key


def _completion(row: CsvRow, completed_column: str, time_column: str) -> datetime | None:
    """The completion time, checked against the Completed flag when the file has one.

    Raises:
        ValidationError: Completed is Yes without a completion time, or No with one.
    """
    completed = _yes_no(row, completed_column)
    at = _time(row, time_column)
    if completed is True and at is None:
        raise ValidationError(
            f"Completed is Yes but {time_column} is empty", field=time_column, line=row.line
        )
    if completed is False and at is not None:
        raise ValidationError(
            f"Completed is No but {time_column} is set", field=completed_column, line=row.line
        )
    return at


def _used(rows: Sequence[CsvRow], columns: Iterable[str]) -> tuple[str, ...]:
    """The columns among ``columns`` with a value on some line."""
    return tuple(c for c in columns if any(_cell(r, c) for r in rows))


def _extra_columns(rows: Sequence[CsvRow]) -> tuple[str, ...]:
    names: dict[str, None] = {}
    for r in rows:
        names.update(dict.fromkeys(n for n, v in r.extra.items() if n and v))
    return tuple(names)


# The export's column behind each field of the records an import builds, so a reason given by
# the record's own rules (``field 'joined_at'``) names the column the admin can fix.
_MEMBER_FIELDS = {
    "full_name": "Name", "email": "Email", "external_id": "External Id",
    "invited_at": "Invitation Date", "joined_at": "Join Date", "removed_at": "Member State",
    "contract_id": "Contract(s)",
}  # fmt: skip
_USAGE_FIELDS = {
    "enrolled_at": "Enrollment Time", "progress": "Overall Progress",
    "learning_seconds": "Estimated Learning Hours", "last_activity_at": "Last Course Activity Time",
    "completed_at": "Completion Time", "grade": "Course Grades",
}  # fmt: skip
_SPECIALIZATION_FIELDS = {
    "enrolled_at": "Enrollment Time", "last_activity_at": "Last Specialization Activity Time",
    "completed_at": "Specialization Completion Time",
}  # fmt: skip
_FIELD_NAMED = re.compile(r"\bfield '([a-z_]+)'")


def _in_columns(reason: str, columns: Mapping[str, str]) -> str:
    """``reason`` with each record field it names replaced by the export column behind it."""

    def column(found: re.Match[str]) -> str:
        name = columns.get(found.group(1))
        return found.group(0) if name is None else f"field {name!r}"

    return _FIELD_NAMED.sub(column, reason)


def _rejected(exc: Exception, line: int, columns: Mapping[str, str]) -> ExportLine:
    return ExportLine(line, ImportOutcome.REJECTED, reason=_in_columns(str(exc), columns))


def _line_reason(line: int, reason: str | None) -> str:
    text = reason or "rejected"
    if text.startswith("line "):
        return text
    return f"line {line}, {text}" if text.startswith("field ") else f"line {line}: {text}"


def _merge(
    lines: dict[int, ExportLine],
    order: Sequence[int],
    result: ImportResult,
    columns: Mapping[str, str],
) -> dict[int, ExportLine]:
    """Give each record's result to the file line it came from (``order[i]`` for record i)."""
    for record in result.records:
        line = order[record.index]
        reason = (
            None
            if record.reason is None
            else _line_reason(line, _in_columns(record.reason, columns))
        )  # the line is named even where the record's reason names only a field
        lines[line] = ExportLine(line, record.outcome, record.record_id, reason)
    return lines


def _batches(values: Sequence[T], size: int = 1000) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


@frozen
class _UsageLine:
    line: int
    email_key: str
    slug: str
    course_code: str
    course_name: str
    university: str | None
    class_start: datetime | None
    class_end: datetime | None
    enrolled_at: datetime
    source: str
    figures: HistoryFigures
    attributes: Mapping[str, str]


class ExportImportService(Service):
    """Imports of a program's admin exports, so an organization can bring its history.

    Source: guide, "Reporting" (the three report tables and their columns); issue #9.
    """

    def __init__(self, context: ServiceContext) -> None:
        super().__init__(context)
        self._invitations = InvitationService(context)
        self._learning = LearningService(context)

    def _import_program(self, uow: UnitOfWork, actor: Actor, program_id: str) -> Program:
        """Load a program that is not removed and require an organization admin (or system).

        Raises:
            NotFoundError: no such program.
            PermissionDeniedError: not an organization admin of the program's organization.
            ValidationError: the program was removed.
        """
        program = uow.programs.get(record_id(program_id, field="program_id"))
        grants = self._grants(uow, actor, program.organization_id)
        require_org_admin(
            actor, program.organization_id, grants, "import admin exports", allow_system=True
        )
        if program.is_removed:
            raise ValidationError("the program has been removed", field="program_id")
        return program

    # --- membership export --------------------------------------------------------------------

    def import_membership_export(
        self,
        actor: Actor,
        program_id: str,
        source: CsvSource,
        *,
        contract_id: str | None = None,
        encoding: str | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> ExportImportResult:
        """Import a Membership Report CSV: a learner and a membership per line.

        Columns (guide, "Membership Report"): ``Name``, ``Email``, ``Member State`` and
        ``Invitation Date`` are required; ``External Id``, ``Join Date`` (required for a
        ``MEMBER``), ``Contract(s)`` (or ``Contract``) and the profile columns are read when
        present; the program, counts and ``Last Activity Time`` (or ``Latest Program Activity
        Date``) are derived by learnprog and not stored. Other columns become learner
        attributes. A ``DELETED_MEMBER`` is removed at the latest time its line gives (the
        export does not say when), so nothing on the line happens after the removal.

        Learners are found by email (any case) or made; a learner with a membership in the
        program already is reported existing and nothing changes (so a second import of the
        same file changes nothing). No email is sent; a MEMBER on a licenses contract takes a
        license.

        Args:
            actor: an organization admin, or the system actor.
            program_id: the program the memberships are imported into.
            source: a path, the file's bytes, or a binary file object.
            contract_id: the contract every membership draws on; by default each line's
                ``Contract(s)`` cell names one of the organization's contracts (the name
                compared ignoring case and spaces).
            encoding: the file's encoding, when known; default decided from the bytes.
            on_progress: called with the number of lines stored after each chunk.

        Returns:
            One result per line with the learner's ID, and the columns used as attributes or
            ignored.

        Raises:
            PermissionDeniedError: not an organization admin or the system.
            NotFoundError: no such program, or ``contract_id`` is not the organization's.
            ValidationError: the program was removed, or the file cannot be read or lacks a
                required column (line 1, naming every missing column).
        """
        check_progress(on_progress)
        with self._uow() as uow:
            program = self._import_program(uow, actor, program_id)
            contracts = list(uow.contracts.list_for_organization(program.organization_id))
        if contract_id is not None:
            chosen = record_id(contract_id, field="contract_id")
            if chosen not in {c.id for c in contracts}:
                raise NotFoundError("contract", chosen)
        by_name: dict[str, list[str]] = {}
        for c in contracts:
            by_name.setdefault(normalize_header(c.name), []).append(c.id)
        optional = _optional(
            ("External Id", "Join Date", "Contract(s)"), MEMBERSHIP_IGNORED, PROFILE_COLUMNS
        )
        with read_csv(source, MEMBERSHIP_REQUIRED, encoding=encoding, optional=optional) as rows:
            read = list(rows)
        lines: dict[int, ExportLine] = {}
        records: list[MemberRecord] = []
        order: list[int] = []
        for row in read:
            try:
                record = self._member_record(row, contract_id, by_name)
            except ValidationError as exc:
                lines[row.line] = _rejected(exc, row.line, _MEMBER_FIELDS)
                continue
            records.append(record)
            order.append(row.line)
        if records:
            first = contract_id or records[0].contract_id
            assert first is not None
            result = self._invitations.import_members(
                actor, program.id, first, records, on_progress=on_progress
            )
            _merge(lines, order, result, _MEMBER_FIELDS)
        return ExportImportResult(
            tuple(lines[r.line] for r in read),
            attribute_columns=_extra_columns(read),
            ignored_columns=_used(read, MEMBERSHIP_IGNORED),
        )

    @staticmethod
    def _member_record(
        row: CsvRow, contract_id: str | None, by_name: Mapping[str, list[str]]
    ) -> MemberRecord:
        """One membership line as a record (its email checked when stored).

        Raises:
            ValidationError: an empty name or email, an unknown state, a bad time, a MEMBER
                without a join date, an INVITED line with one, or a contract name that is not
                exactly one of the organization's.
        """
        for column in ("Name", "Email"):
            if not row.values[column]:
                raise ValidationError("the cell is empty", field=column, line=row.line)
        state_text = row.values["Member State"].upper()
        try:
            state = MemberState(state_text)
        except ValueError as exc:
            raise ValidationError(
                f"{row.values['Member State']!r} is not MEMBER, DELETED_MEMBER or INVITED",
                field="Member State",
                line=row.line,
            ) from exc
        invited = _time(row, "Invitation Date", required=True)
        assert invited is not None
        joined = _time(row, "Join Date")
        last = _time(row, "Last Activity Time")
        if state is MemberState.MEMBER and joined is None:
            raise ValidationError("a MEMBER has a join date", field="Join Date", line=row.line)
        if state is MemberState.INVITED and joined is not None:
            raise ValidationError(
                "an INVITED learner has not joined", field="Join Date", line=row.line
            )
        removed = None
        if state is MemberState.DELETED_MEMBER:
            removed = max(t for t in (invited, joined, last) if t is not None)
        own = None
        if contract_id is None:
            name = _cell(row, "Contract(s)")
            found = by_name.get(normalize_header(name), []) if name else []
            if len(found) != 1:
                why = (
                    "the cell is empty: give the import a contract"
                    if not name
                    else f"{name!r} is not one of the organization's contracts"
                    if not found
                    else f"{name!r} names {len(found)} of the organization's contracts"
                )
                raise ValidationError(why, field="Contract(s)", line=row.line)
            own = found[0]
        profile = {f: _cell(row, c) or None for c, f in _PROFILE_FIELDS.items()}
        return MemberRecord(
            " ".join(row.values["Name"].split()),
            row.values["Email"],
            invited,
            external_id=row.values["External Id"] or None,
            joined_at=joined,
            removed_at=removed,
            profile=profile,
            attributes=_attributes(row),
            contract_id=own,
        )

    # --- usage export -------------------------------------------------------------------------

    def import_usage_export(
        self,
        actor: Actor,
        program_id: str,
        source: CsvSource,
        *,
        encoding: str | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> ExportImportResult:
        """Import a Usage Report CSV: a course enrollment and its figures per line.

        Columns (guide, "Usage Report"): ``Email`` and ``Enrollment Time`` are required, with
        ``Course Slug`` or ``Course ID``. The course is found in the organization's catalog by
        slug, else by Course ID; a course not in the catalog is added to it from the line's
        ``Course ID`` (default the slug), ``Course Slug``, ``Course`` (default the slug),
        ``University``, ``Class Start Time`` and ``Class End Time``. ``Enrollment Source``
        names a collection of the program: one missing is created, and the course is added to
        it when it lacks it (the curriculum is made to hold what the history says learners
        found there). The line's ``Overall Progress`` (percent 0-100), ``Estimated Learning
        Hours``, ``Last Course Activity Time``, ``Completion Time`` (with ``Completed``) and
        ``Course Grades`` (or ``Course Grade``, percent 0-100) are kept as the enrollment's
        imported figures (:func:`learnprog.model.progress.with_imported`), so learnprog's usage
        report gives them back and later activity adds to them.

        The learner must have a membership in the program that was joined (import the
        membership export first); the name, external ID, profile, removal and contract come
        from it. Other columns become learner attributes (a value given again replaces the
        learner's earlier one). An enrollment imported before (same learner, course and
        enrollment time) is reported existing and keeps its figures. Catalog courses and
        collections are stored before the enrollments; a line rejected afterwards leaves them
        (a later import finds them).

        Args:
            actor: an organization admin, or the system actor.
            program_id: the program the enrollments were made through.
            source: a path, the file's bytes, or a binary file object.
            encoding: the file's encoding, when known; default decided from the bytes.
            on_progress: called with the number of enrollments stored after each chunk.

        Returns:
            One result per line with the enrollment's ID, the courses and collections added,
            and the columns used as attributes or ignored.

        Raises:
            PermissionDeniedError: not an organization admin or the system.
            NotFoundError: no such program.
            ValidationError: the program was removed, or the file cannot be read or lacks a
                required column (line 1, naming every missing column).
        """
        check_progress(on_progress)
        with self._uow() as uow:
            program = self._import_program(uow, actor, program_id)
        optional = _optional(USAGE_COLUMNS, _EXPORT_EXTRAS)
        with read_csv(
            source,
            USAGE_REQUIRED,
            encoding=encoding,
            optional=optional,
            require_any=("Course Slug", "Course ID"),
        ) as rows:
            read = list(rows)
        lines: dict[int, ExportLine] = {}
        parsed: list[_UsageLine] = []
        for row in read:
            try:
                parsed.append(self._usage_line(row))
            except ValidationError as exc:
                lines[row.line] = _rejected(exc, row.line, _USAGE_FIELDS)
        records, order, courses, collections = self._prepare_usage(actor, program, parsed, lines)
        if records:
            result = self._learning.record_enrollments(
                actor, program.id, records, on_progress=on_progress
            )
            _merge(lines, order, result, _USAGE_FIELDS)
        return ExportImportResult(
            tuple(lines[r.line] for r in read),
            attribute_columns=_extra_columns(read),
            ignored_columns=_used(read, USAGE_IGNORED),
            courses_created=courses,
            collections_created=collections,
        )

    @staticmethod
    def _usage_line(row: CsvRow) -> _UsageLine:
        """One usage line, its cells checked.

        Raises:
            ValidationError: a bad email, time, number or flag, naming the line and column.
        """
        slug = row.values["Course Slug"]
        code = row.values["Course ID"]
        if not slug and not code:
            raise ValidationError(
                "Course Slug and Course ID are both empty", field="Course Slug", line=row.line
            )
        enrolled = _time(row, "Enrollment Time", required=True)
        assert enrolled is not None
        hours = _number(row, "Estimated Learning Hours")
        figures = HistoryFigures(
            progress=_number(row, "Overall Progress", maximum=100.0) or 0.0,
            learning_seconds=(hours or 0.0) * 3600.0,
            last_activity_at=_time(row, "Last Course Activity Time"),
            completed_at=_completion(row, "Completed", "Completion Time"),
            grade=_number(row, "Course Grades", maximum=100.0),
        )
        return _UsageLine(
            line=row.line,
            email_key=_email_key(row),
            slug=slug,
            course_code=code,
            course_name=" ".join(row.values["Course"].split()),
            university=row.values["University"] or None,
            class_start=_time(row, "Class Start Time"),
            class_end=_time(row, "Class End Time"),
            enrolled_at=enrolled,
            source=" ".join(row.values["Enrollment Source"].split()),
            figures=figures,
            attributes=_attributes(row),
        )

    def _prepare_usage(
        self,
        actor: Actor,
        program: Program,
        parsed: Sequence[_UsageLine],
        lines: dict[int, ExportLine],
    ) -> tuple[list[EnrollmentRecord], list[int], int, int]:
        """Find the learners, courses and collections of the lines; add what the catalog lacks.

        One unit of work: the courses and collections added and the learners' attributes are
        stored together. Lines whose learner is not a joined member are rejected here.

        Returns:
            The enrollment records, the line of each, and the courses and collections added.
        """
        org_id = program.organization_id
        now = self._now()
        records: list[EnrollmentRecord] = []
        order: list[int] = []
        with self._uow() as uow:
            learners = self._learners(uow, org_id, [p.email_key for p in parsed])
            members: dict[str, Membership] = {}
            for batch in _batches(sorted({lr.id for lr in learners.values()})):
                members.update(uow.memberships.find_for_learners(program.id, batch))
            slugs = sorted({p.slug for p in parsed if p.slug})
            codes = sorted({p.course_code for p in parsed if p.course_code})
            by_slug: dict[str, Course] = {}
            for batch in _batches(slugs):
                by_slug.update(uow.courses.find_by_slugs(org_id, batch))
            by_code: dict[str, Course] = {}
            for batch in _batches(codes):
                by_code.update(uow.courses.find_by_course_ids(org_id, batch))
            collections = {
                normalize_header(c.name): c for c in uow.collections.list_for_program(program.id)
            }
            changed: dict[str, Collection] = {}
            new_collections: set[str] = set()
            new_courses: list[Course] = []
            updated: dict[str, Learner] = {}
            for p in parsed:
                learner = learners.get(p.email_key)
                membership = None if learner is None else members.get(learner.id)
                if learner is None or membership is None or membership.joined_at is None:
                    why = (
                        "the learner never joined the program"
                        if membership is not None
                        else "the learner has no membership in the program: import the "
                        "membership export first"
                    )
                    lines[p.line] = _rejected(
                        ValidationError(why, field="Email", line=p.line), p.line, _USAGE_FIELDS
                    )
                    continue
                try:
                    with_attributes = updated.get(learner.id, learner).with_attributes(p.attributes)
                except ValidationError as exc:
                    lines[p.line] = _rejected(
                        ValidationError(f"learner attributes: {exc}", line=p.line),
                        p.line,
                        _USAGE_FIELDS,
                    )
                    continue
                course = by_slug.get(p.slug) or by_code.get(p.course_code)
                if course is None:
                    try:
                        course = Course.create(
                            org_id,
                            course_id=p.course_code or p.slug,
                            slug=p.slug,
                            name=p.course_name or p.slug,
                            now=now,
                            partner=p.university,
                            class_start=p.class_start,
                            class_end=p.class_end,
                        )
                    except ValidationError as exc:
                        column = {"slug": "Course Slug", "course_id": "Course ID"}.get(
                            exc.field or "", exc.field or "Course"
                        )
                        reason = "the course is not in the catalog and cannot be added: "
                        reason += exc.reason
                        lines[p.line] = _rejected(
                            ValidationError(reason, field=column, line=p.line),
                            p.line,
                            _USAGE_FIELDS,
                        )
                        continue
                    new_courses.append(course)
                    by_slug[course.slug] = course
                    by_code[course.course_id] = course
                source_id = None
                if p.source:
                    key = normalize_header(p.source)
                    collection = changed.get(key) or collections.get(key)
                    if collection is None:
                        collection = Collection.create(
                            program.id, p.source, position=len(collections) + len(new_collections)
                        )
                        new_collections.add(key)
                    entry = CollectionEntry.course(course.id)
                    if entry not in collection.entries:
                        collection = collection.adding(entry)
                        changed[key] = collection
                    source_id = collection.id
                updated[learner.id] = with_attributes
                records.append(
                    EnrollmentRecord(
                        learner.id, course.id, p.enrolled_at, None, source_id, p.figures
                    )
                )
                order.append(p.line)
            self._store_catalog(uow, actor, program, new_courses, changed, new_collections)
            self._store_learners(uow, actor, learners, updated)
            uow.commit()
        return records, order, len(new_courses), len(new_collections)

    @staticmethod
    def _learners(uow: UnitOfWork, org_id: str, keys: Sequence[str]) -> dict[str, Learner]:
        found: dict[str, Learner] = {}
        for batch in _batches(sorted(set(keys))):
            found.update(uow.learners.find_by_emails(org_id, batch))
        return found

    def _store_catalog(
        self,
        uow: UnitOfWork,
        actor: Actor,
        program: Program,
        courses: Sequence[Course],
        collections: Mapping[str, Collection],
        new: set[str],
    ) -> None:
        org_id = program.organization_id
        uow.courses.add_many(courses)
        for course in courses:
            self._audit_created(uow, actor, "course.import", course, organization_id=org_id)
        for key, collection in collections.items():
            if key in new:
                uow.collections.add(collection)
                self._audit_created(
                    uow,
                    actor,
                    "collection.import",
                    collection,
                    organization_id=org_id,
                    program_id=program.id,
                )
            else:
                before = uow.collections.get(collection.id)
                uow.collections.update(collection)
                self._audit_change(
                    uow,
                    actor,
                    "collection.import",
                    before,
                    collection,
                    object_type="collection",
                    program_id=program.id,
                    organization_id=org_id,
                )

    def _store_learners(
        self,
        uow: UnitOfWork,
        actor: Actor,
        learners: Mapping[str, Learner],
        updated: Mapping[str, Learner],
    ) -> None:
        """Store the learners whose attributes the file changed."""
        by_id = {lr.id: lr for lr in learners.values()}
        for learner_id, after in updated.items():
            before = by_id[learner_id]
            if after.attributes != before.attributes:
                uow.learners.update(after)
                self._audit_change(uow, actor, "learner.import", before, after,
                                   object_type="learner")  # fmt: skip

    # --- specialization export ----------------------------------------------------------------

    def import_specialization_export(
        self,
        actor: Actor,
        program_id: str,
        source: CsvSource,
        *,
        encoding: str | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> ExportImportResult:
        """Import a Specialization Report CSV: a specialization enrollment per line.

        Columns (guide, "Specialization Report"): ``Email``, ``Specialization Slug`` and
        ``Enrollment Time`` are required. The specialization must be in the organization's
        catalog (found by slug): the export does not list its courses, so it cannot be added
        from the line, and the line is rejected. ``Last Specialization Activity Time`` and
        ``Specialization Completion Time`` (with ``Completed``) are kept as the enrollment's
        imported figures; ``Enrollment Source`` names a collection of the program holding the
        specialization (else the line is rejected). Other columns become learner attributes.

        Args:
            actor: an organization admin, or the system actor.
            program_id: the program the enrollments were made through.
            source: a path, the file's bytes, or a binary file object.
            encoding: the file's encoding, when known; default decided from the bytes.
            on_progress: called with the number of enrollments stored after each chunk.

        Returns:
            One result per line with the enrollment's ID.

        Raises:
            PermissionDeniedError: not an organization admin or the system.
            NotFoundError: no such program.
            ValidationError: the program was removed, or the file cannot be read or lacks a
                required column (line 1, naming every missing column).
        """
        check_progress(on_progress)
        with self._uow() as uow:
            program = self._import_program(uow, actor, program_id)
        optional = _optional(SPECIALIZATION_COLUMNS, _SPECIALIZATION_EXTRAS)
        with read_csv(
            source, SPECIALIZATION_REQUIRED, encoding=encoding, optional=optional
        ) as rows:
            read = list(rows)
        lines: dict[int, ExportLine] = {}
        records: list[EnrollmentRecord] = []
        order: list[int] = []
        with self._uow() as uow:
            org_id = program.organization_id
            specs = {s.slug: s for s in uow.specializations.list_for_organization(org_id)}
            collections = {
                normalize_header(c.name): c for c in uow.collections.list_for_program(program.id)
            }
            learners = self._learners(
                uow, org_id, [k for r in read if (k := _quiet_key(r)) is not None]
            )
            updated: dict[str, Learner] = {}
            for row in read:
                try:
                    key = _email_key(row)
                    learner = learners.get(key)
                    if learner is None:
                        raise ValidationError(
                            "no learner has this email: import the membership export first",
                            field="Email",
                            line=row.line,
                        )
                    spec = specs.get(row.values["Specialization Slug"])
                    if spec is None:
                        raise ValidationError(
                            f"{row.values['Specialization Slug']!r} is not in the catalog; add "
                            "the specialization with its courses first",
                            field="Specialization Slug",
                            line=row.line,
                        )
                    enrolled = _time(row, "Enrollment Time", required=True)
                    assert enrolled is not None
                    figures = HistoryFigures(
                        last_activity_at=_time(row, "Last Specialization Activity Time"),
                        completed_at=_completion(
                            row, "Completed", "Specialization Completion Time"
                        ),
                    )
                    source_id = None
                    if name := row.values["Enrollment Source"]:
                        collection = collections.get(normalize_header(name))
                        if collection is None:
                            raise ValidationError(
                                f"{name!r} is not a collection of the program",
                                field="Enrollment Source",
                                line=row.line,
                            )
                        source_id = collection.id
                    with_attributes = updated.get(learner.id, learner).with_attributes(
                        _attributes(row)
                    )
                except ValidationError as exc:
                    lines[row.line] = _rejected(exc, row.line, _SPECIALIZATION_FIELDS)
                    continue
                updated[learner.id] = with_attributes
                records.append(
                    EnrollmentRecord(learner.id, spec.id, enrolled, None, source_id, figures)
                )
                order.append(row.line)
            self._store_learners(uow, actor, learners, updated)
            uow.commit()
        if records:
            result = self._learning.record_enrollments(
                actor, program.id, records, on_progress=on_progress
            )
            _merge(lines, order, result, _SPECIALIZATION_FIELDS)
        return ExportImportResult(
            tuple(lines[r.line] for r in read),
            attribute_columns=_extra_columns(read),
            ignored_columns=_used(read, SPECIALIZATION_IGNORED),
        )


def _quiet_key(row: CsvRow) -> str | None:
    try:
        return _email_key(row)
    except ValidationError:
        return None
