"""SQL repositories over SQLAlchemy Core: rows in, model objects out.

Each write runs in a savepoint, so a refused write (a duplicate key) leaves the unit of work as
it was and usable; every driver error is translated by :func:`translate_errors`.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

import cattrs
import sqlalchemy as sa
from attrs import fields

from learnprog.errors import (
    ConcurrencyError,
    ConflictError,
    NotFoundError,
    StaleDataError,
    StorageError,
)
from learnprog.model._typecheck import from_storage
from learnprog.model.access import AdminGrant, AdminRole
from learnprog.model.activity import (
    AssessmentAttempt,
    Enrollment,
    EventKind,
    Feedback,
    LearningEvent,
)
from learnprog.model.analytics import (
    ActivityDay,
    AnalyticsScope,
    ContractUtilization,
    LearnerActivity,
    LearnerFeedback,
    Utilization,
    learner_activity,
)
from learnprog.model.audit import AuditEntry
from learnprog.model.catalog import (
    Collection,
    CollectionEntry,
    Course,
    EntryKind,
    Skill,
    Specialization,
)
from learnprog.model.identity import EmailAddress
from learnprog.model.learner import (
    MEMBERSHIP_LIFECYCLE,
    Learner,
    LearnerProfile,
    Membership,
    MemberState,
)
from learnprog.model.mail import (
    DeliveryAttempt,
    EmailOptOut,
    MessageCategory,
    OutboxEntry,
    OutboxStatus,
    OutgoingMessage,
)
from learnprog.model.messaging import (
    Audience,
    AudienceFilter,
    AudienceMember,
    MessageRecipient,
    RecipientSkip,
    SentMessage,
)
from learnprog.model.organization import (
    Contract,
    Organization,
    Program,
    name_taken,
)
from learnprog.model.progress import (
    DailyActivity,
    EnrollmentProgress,
    ImportedFigures,
    MemberPage,
    MemberQuery,
    MemberRow,
    MemberStatus,
    hours,
    is_inactive,
)
from learnprog.model.reporting import (
    ActivityTotals,
    EmailReportFigures,
    MembershipRecord,
    ReportValues,
    SpecializationRecord,
    UsageFunnel,
    UsageRecord,
    email_figures,
    summary_since,
)
from learnprog.model.schedules import ScheduledReportRecord
from learnprog.model.skills import AttemptRow, ItemDifficulty, ScoringMark, SkillRating
from learnprog.model.tally import ActivityTally
from learnprog.serialization import make_converter
from learnprog.storage import ports
from learnprog.storage.sql import tables as t
from learnprog.storage.sql.driver import driver_rows, insert_new_rows, insert_rows
from learnprog.storage.sql.errors import translate_errors
from learnprog.storage.sql.queries import (
    activity_totals_query,
    audience_query,
    course_learners_query,
    email_figures_query,
    enrollment_report_query,
    funnel_query,
    learner_activity_query,
    learner_feedback_query,
    member_page_count,
    member_page_query,
    membership_report_query,
    utilization_query,
)
from learnprog.storage.sql.types import stored_utc

if TYPE_CHECKING:
    from learnprog.storage.sql.uow import SqlUnitOfWork

T = TypeVar("T")
_conv = make_converter()
_PROFILE_FIELDS = tuple(a.name for a in fields(LearnerProfile))


class _SqlRepository(Generic[T]):
    table: ClassVar[sa.Table]
    kind: ClassVar[str] = "record"
    model: ClassVar[type[Any]]

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow

    # row conversion: plain attrs classes map field for field; others override
    def _to_row(self, record: T) -> dict[str, Any]:
        return _conv.unstructure(record)  # type: ignore[no-any-return]

    def _from_row(self, row: Mapping[str, Any]) -> T:
        return _conv.structure(dict(row), self.model)  # type: ignore[no-any-return]

    def _write(
        self, statement: sa.Executable, params: dict[str, Any] | list[dict[str, Any]] | None = None
    ) -> sa.CursorResult[Any]:
        conn = self._uow.connection
        with translate_errors(self.kind), conn.begin_nested():
            return conn.execute(statement, params)

    def _write_rows(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert ``rows`` into this repository's table in one savepoint: all or nothing.

        One executemany straight through the driver (:func:`insert_rows`).
        """
        if rows:
            conn = self._uow.connection
            with translate_errors(self.kind), conn.begin_nested():
                insert_rows(conn, self.table, rows)

    @contextmanager
    def _atomic(self) -> Iterator[None]:
        """Run several writes in one savepoint: all of them or none."""
        conn = self._uow.connection
        with translate_errors(self.kind), conn.begin_nested():
            yield

    def _read(self, statement: sa.Select[Any]) -> list[sa.RowMapping]:
        with translate_errors(self.kind):
            return list(self._uow.connection.execute(statement).mappings())

    def _insert(self, record: T) -> None:
        # statement without literal values: compiled once, cached, parameters bound per call
        self._write(self.table.insert(), self._to_row(record))

    def _insert_many(self, records: Sequence[T]) -> None:
        self._write_rows([self._to_row(r) for r in records])

    def _update(self, record: T, key: str = "id") -> None:
        self._update_row(self._to_row(record), key)

    def _update_row(self, row: dict[str, Any], key: str = "id") -> None:
        statement = self.table.update().where(self.table.c[key] == sa.bindparam("match_key"))
        result = self._write(statement, {**row, "match_key": row[key]})
        if result.rowcount == 0:
            raise NotFoundError(self.kind, row[key])

    def _select(
        self,
        *where: sa.ColumnElement[bool],
        order: Sequence[sa.ColumnElement[Any]] = (),
        limit: int | None = None,
        offset: int = 0,
    ) -> list[T]:
        stmt = sa.select(self.table).where(*where).order_by(*order)
        if limit is not None:
            stmt = stmt.limit(limit).offset(offset)
        return self._convert(self._read(stmt))

    def _select_in(
        self,
        column: sa.ColumnElement[Any],
        values: Sequence[Any],
        *where: sa.ColumnElement[bool],
        order: Sequence[sa.ColumnElement[Any]] = (),
    ) -> list[T]:
        """Select rows whose ``column`` is one of ``values``, 500 values per statement.

        The result is in ``order`` when ``column`` comes first in it (chunks are in value
        order).
        """
        unique = sorted(set(values))
        found: list[T] = []
        for start in range(0, len(unique), 500):  # bounded IN lists
            found += self._select(column.in_(unique[start : start + 500]), *where, order=order)
        return found

    def _convert(self, rows: Iterable[Mapping[Any, Any]]) -> list[T]:
        try:
            return [self._from_row(r) for r in rows]
        except (cattrs.BaseValidationError, ValueError, TypeError, KeyError) as exc:
            raise StorageError(f"a stored {self.kind} row cannot be read: {exc}") from exc

    def _first(self, *where: sa.ColumnElement[bool]) -> T | None:
        found = self._select(*where, limit=1)
        return found[0] if found else None

    def _get(self, key: str) -> T:
        found = self._first(self.table.c.id == key)
        if found is None:
            raise NotFoundError(self.kind, key)
        return found


@contextmanager
def _name_taken(organization: Organization) -> Iterator[None]:
    """Say plainly that a name held alone is taken, when the unique key refuses the write."""
    try:
        yield
    except ConflictError as exc:
        if isinstance(exc, ConcurrencyError) or not organization.unique_name:
            raise
        raise name_taken(organization.name) from exc


class SqlOrganizationRepository(_SqlRepository[Organization], ports.OrganizationRepository):
    """Organizations in SQL."""

    table, kind, model = t.organizations, "organization", Organization

    def _to_row(self, record: Organization) -> dict[str, Any]:
        row: dict[str, Any] = _conv.unstructure(record)
        schedule = row.pop("report_schedule")
        row["report_program_ids"] = sorted(schedule["program_ids"])
        row["report_weekdays"] = sorted(schedule["weekdays"])
        row.pop("unique_name")
        row["name_key"] = record.name_key
        return row

    def _from_row(self, row: Mapping[str, Any]) -> Organization:
        data = dict(row)
        data["report_schedule"] = {
            "program_ids": data.pop("report_program_ids"),
            "weekdays": data.pop("report_weekdays"),
        }
        data["unique_name"] = data.pop("name_key") is not None
        return _conv.structure(data, Organization)

    def add(self, organization: Organization) -> None:
        with _name_taken(organization):
            self._insert(organization)

    def get(self, organization_id: str) -> Organization:
        return self._get(organization_id)

    def update(self, organization: Organization) -> None:
        with _name_taken(organization):
            self._update(organization)

    def lock(self, organization_id: str) -> None:
        # PostgreSQL: FOR NO KEY UPDATE, which holds off another lock of the row but not the
        # foreign key checks of rows that refer to it (memberships, enrollments, ... stored
        # meanwhile). MariaDB: FOR UPDATE. SQLite renders none: BEGIN IMMEDIATE lets one writer in
        c = self.table.c
        self._read(sa.select(c.id).where(c.id == organization_id).with_for_update(key_share=True))

    def list(self) -> Sequence[Organization]:
        return self._select(order=(self.table.c.name, self.table.c.id))


class SqlProgramRepository(_SqlRepository[Program], ports.ProgramRepository):
    """Programs in SQL."""

    table, kind, model = t.programs, "program", Program

    def add(self, program: Program) -> None:
        self._insert(program)

    def get(self, program_id: str) -> Program:
        return self._get(program_id)

    def find_by_slug(self, slug: str) -> Program | None:
        return self._first(self.table.c.slug == slug)

    def lock(self, program_id: str) -> None:
        # PostgreSQL: FOR NO KEY UPDATE, which holds off another lock of the row but not the
        # foreign key checks of rows that refer to it (memberships, enrollments, ... stored
        # meanwhile). MariaDB: FOR UPDATE. SQLite renders none: BEGIN IMMEDIATE lets one writer in
        c = self.table.c
        self._read(sa.select(c.id).where(c.id == program_id).with_for_update(key_share=True))

    def update(self, program: Program) -> None:
        self._update(program)

    def list_for_organization(self, organization_id: str) -> Sequence[Program]:
        return self._select(
            self.table.c.organization_id == organization_id,
            order=(self.table.c.created_at, self.table.c.id),
        )


class SqlContractRepository(_SqlRepository[Contract], ports.ContractRepository):
    """Contracts in SQL; ``take`` is one conditional UPDATE, safe under concurrency."""

    table, kind, model = t.contracts, "contract", Contract

    def add(self, contract: Contract) -> None:
        self._insert(contract)

    def get(self, contract_id: str) -> Contract:
        return self._get(contract_id)

    def update(self, contract: Contract) -> None:
        row = self._to_row(contract)
        row.pop("used")  # the counter changes only through take() and release()
        self._update_row(row)

    def list_for_organization(self, organization_id: str) -> Sequence[Contract]:
        c = self.table.c
        return self._select(c.organization_id == organization_id, order=(c.starts_at, c.name, c.id))

    def take(self, contract_id: str, count: int = 1) -> bool:
        count = ports.check_count(count)
        c = self.table.c
        result = self._write(
            self.table.update()
            .where(c.id == contract_id, sa.or_(c.quantity.is_(None), c.used + count <= c.quantity))
            .values(used=c.used + count)
        )
        if result.rowcount == 0:
            self._get(contract_id)  # NotFoundError for an unknown contract
            return False
        return True

    def release(self, contract_id: str, count: int = 1) -> None:
        count = ports.check_count(count)
        c = self.table.c
        result = self._write(
            self.table.update()
            .where(c.id == contract_id)
            .values(used=sa.case((c.used > count, c.used - count), else_=0))
        )
        if result.rowcount == 0:
            raise NotFoundError(self.kind, contract_id)


class SqlLearnerRepository(_SqlRepository[Learner], ports.LearnerRepository):
    """Learners in SQL; the profile fields are columns so reports can select them."""

    table, kind, model = t.learners, "learner", Learner

    def _to_row(self, record: Learner) -> dict[str, Any]:
        row: dict[str, Any] = _conv.unstructure(record)
        row.update(row.pop("profile"))
        row["email_key"] = record.email.key
        row["search_key"] = record.search_key
        return row

    def _from_row(self, row: Mapping[str, Any]) -> Learner:
        # field for field with from_storage (checked when stored), not through cattrs and the
        # annotation checks: ingest reads every chunk's learners, an import them by email
        data = dict(row)
        data.pop("email_key")
        data.pop("search_key", None)
        profile = {name: data.pop(name) for name in _PROFILE_FIELDS}
        data["profile"] = from_storage(LearnerProfile, **profile)
        data["email"] = EmailAddress.trusted(data["email"])
        data["attributes"] = data["attributes"] or {}
        return from_storage(Learner, **data)

    def add(self, learner: Learner) -> None:
        self._insert(learner)

    def get(self, learner_id: str) -> Learner:
        return self._get(learner_id)

    def update(self, learner: Learner) -> None:
        self._update(learner)

    def get_many(self, learner_ids: Sequence[str]) -> Mapping[str, Learner]:
        c = self.table.c
        found: dict[str, Learner] = {}
        unique = list(dict.fromkeys(learner_ids))
        for start in range(0, len(unique), 500):  # bounded IN lists
            for learner in self._select(c.id.in_(unique[start : start + 500])):
                found[learner.id] = learner
        return found

    def find_by_email(self, organization_id: str, email_key: str) -> Learner | None:
        c = self.table.c
        return self._first(c.organization_id == organization_id, c.email_key == email_key)

    def find_by_emails(
        self, organization_id: str, email_keys: Sequence[str]
    ) -> Mapping[str, Learner]:
        if not email_keys:
            return {}
        c = self.table.c
        if self._uow.connection.dialect.name != "postgresql":
            found = self._select(
                c.organization_id == organization_id, c.email_key.in_(list(email_keys))
            )
            return {learner.email.key: learner for learner in found}
        # PostgreSQL: one probe of the (organization, email key) unique index per address.
        # Given "organization_id = x AND email_key IN (...)", its planner reads every learner
        # of the organization when its statistics say the organization is small, as they do
        # for one that a bulk invitation is filling (until the next ANALYZE): each chunk of a
        # bulk invitation then read the whole organization again.
        from sqlalchemy.dialects import postgresql  # each dialect's module once it is used

        wanted = (
            sa.func.unnest(
                sa.bindparam("keys", list(email_keys), type_=postgresql.ARRAY(sa.String))
            )
            .table_valued("key")
            .render_derived(name="wanted")
        )
        probe = (
            sa.select(self.table)
            .where(c.organization_id == organization_id, c.email_key == wanted.c.key)
            .limit(1)  # a unique key: the LIMIT keeps the probe a subquery, run per address
            .lateral("found")
        )
        rows = self._read(sa.select(probe).select_from(wanted).join(probe, sa.true()))
        return {learner.email.key: learner for learner in self._convert(rows)}

    def add_many(self, learners: Sequence[Learner]) -> None:
        self._insert_many(learners)

    def find_by_external_id(
        self,
        organization_id: str,
        external_id: str,
    ) -> Sequence[Learner]:
        c = self.table.c
        return self._select(
            c.organization_id == organization_id,
            c.external_id == external_id,
            order=(c.full_name, c.email_key),
        )

    def list_for_organization(self, organization_id: str) -> Sequence[Learner]:
        c = self.table.c
        return self._select(c.organization_id == organization_id, order=(c.full_name, c.email_key))


class SqlMembershipRepository(_SqlRepository[Membership], ports.MembershipRepository):
    """Memberships in SQL."""

    table, kind, model = t.memberships, "membership", Membership

    def _from_row(self, row: Mapping[str, Any]) -> Membership:
        # field for field, without the converter and the annotation checks (checked when
        # stored: from_storage): a history import reads the memberships of every chunk
        data = dict(row)
        data["state"] = MemberState(data["state"])
        return from_storage(Membership, **data)

    def add(self, membership: Membership) -> None:
        self._insert(membership)

    def get(self, membership_id: str) -> Membership:
        return self._get(membership_id)

    def update(self, membership: Membership, *, expected: Membership | None = None) -> None:
        if expected is None:
            self._update(membership)
            return
        c, before = self.table.c, self._to_row(expected)
        statement = self.table.update().where(
            c.id == sa.bindparam("match_key"),
            *(
                c[name].is_not_distinct_from(sa.bindparam(f"expected_{name}", type_=c[name].type))
                for name in MEMBERSHIP_LIFECYCLE
            ),
        )
        params = {**self._to_row(membership), "match_key": membership.id}
        params.update({f"expected_{name}": before[name] for name in MEMBERSHIP_LIFECYCLE})
        if self._write(statement, params).rowcount == 0:
            self._get(membership.id)  # NotFoundError when it is gone
            raise StaleDataError(
                "the membership was changed by another unit of work; nothing was stored",
                kind=self.kind,
                key=membership.id,
            )

    def find(self, program_id: str, learner_id: str) -> Membership | None:
        c = self.table.c
        return self._first(c.program_id == program_id, c.learner_id == learner_id)

    def find_for_learners(
        self, program_id: str, learner_ids: Sequence[str]
    ) -> Mapping[str, Membership]:
        if not learner_ids:
            return {}
        c = self.table.c
        found = self._select(c.program_id == program_id, c.learner_id.in_(list(learner_ids)))
        return {m.learner_id: m for m in found}

    def add_many(self, memberships: Sequence[Membership]) -> None:
        self._insert_many(memberships)

    def list_for_program(self, program_id: str) -> Sequence[Membership]:
        c = self.table.c
        return self._select(c.program_id == program_id, order=(c.invited_at, c.id))

    def list_for_learner(self, learner_id: str) -> Sequence[Membership]:
        c = self.table.c
        return self._select(c.learner_id == learner_id, order=(c.invited_at, c.id))


class SqlAdminRepository(_SqlRepository[AdminGrant], ports.AdminRepository):
    """Administrator grants in SQL."""

    table, kind, model = t.admins, "admin grant", AdminGrant

    def _to_row(self, record: AdminGrant) -> dict[str, Any]:
        row: dict[str, Any] = _conv.unstructure(record)
        row["scope"] = record.scope
        return row

    def _from_row(self, row: Mapping[str, Any]) -> AdminGrant:
        data = dict(row)
        data.pop("scope")
        data["role"] = AdminRole(data["role"])
        return _conv.structure(data, AdminGrant)

    def add(self, grant: AdminGrant) -> None:
        self._insert(grant)

    def remove(self, grant: AdminGrant) -> None:
        c = self.table.c
        result = self._write(
            self.table.delete().where(
                c.organization_id == grant.organization_id,
                c.learner_id == grant.learner_id,
                c.scope == grant.scope,
            )
        )
        if result.rowcount == 0:
            raise NotFoundError(self.kind, (grant.learner_id, grant.scope))

    def list_for_organization(self, organization_id: str) -> Sequence[AdminGrant]:
        c = self.table.c
        return self._select(
            c.organization_id == organization_id, order=(c.granted_at, c.learner_id, c.scope)
        )

    def list_for_learner(
        self,
        organization_id: str,
        learner_id: str,
    ) -> Sequence[AdminGrant]:
        c = self.table.c
        return self._select(
            c.organization_id == organization_id,
            c.learner_id == learner_id,
            order=(c.granted_at, c.scope),
        )


class SqlCourseRepository(_SqlRepository[Course], ports.CourseRepository):
    """Courses with their items and assessments (three tables, one aggregate)."""

    table, kind, model = t.courses, "course", Course

    def _to_row(self, record: Course) -> dict[str, Any]:
        row: dict[str, Any] = _conv.unstructure(record)
        del row["items"], row["assessments"]
        return row

    def _write_children(self, course: Course) -> None:
        if course.items:
            self._write(
                t.course_items.insert(),
                [{**_conv.unstructure(i), "course_id": course.id} for i in course.items],
            )
        if course.assessments:
            self._write(
                t.assessments.insert(),
                [{**_conv.unstructure(a), "course_id": course.id} for a in course.assessments],
            )

    def _load(self, rows: Iterable[Mapping[Any, Any]]) -> list[Course]:
        courses = [dict(r) for r in rows]
        if not courses:
            return []
        ids = [c["id"] for c in courses]
        items: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in self._read(
            sa.select(t.course_items)
            .where(t.course_items.c.course_id.in_(ids))
            .order_by(t.course_items.c.position, t.course_items.c.id)
        ):
            data = dict(r)
            items[data.pop("course_id")].append(data)
        assessments: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in self._read(
            sa.select(t.assessments)
            .where(t.assessments.c.course_id.in_(ids))
            .order_by(t.assessments.c.id)
        ):
            data = dict(r)
            assessments[data.pop("course_id")].append(data)
        return self._convert(
            {**c, "items": items[c["id"]], "assessments": assessments[c["id"]]} for c in courses
        )

    def _courses(self, *where: sa.ColumnElement[bool]) -> list[Course]:
        c = self.table.c
        return self._load(self._read(sa.select(self.table).where(*where).order_by(c.name, c.id)))

    def add(self, course: Course) -> None:
        self._insert(course)
        self._write_children(course)

    def get(self, course_id: str) -> Course:
        found = self._courses(self.table.c.id == course_id)
        if not found:
            raise NotFoundError(self.kind, course_id)
        return found[0]

    def update(self, course: Course) -> None:
        self._update(course)
        self._write(t.course_items.delete().where(t.course_items.c.course_id == course.id))
        self._write(t.assessments.delete().where(t.assessments.c.course_id == course.id))
        self._write_children(course)

    def find_by_course_id(
        self,
        organization_id: str,
        course_id: str,
    ) -> Course | None:
        c = self.table.c
        found = self._courses(c.organization_id == organization_id, c.course_id == course_id)
        return found[0] if found else None

    def find_by_course_ids(
        self, organization_id: str, course_ids: Sequence[str]
    ) -> Mapping[str, Course]:
        if not course_ids:
            return {}
        c = self.table.c
        found = self._courses(
            c.organization_id == organization_id, c.course_id.in_(list(course_ids))
        )
        return {course.course_id: course for course in found}

    def find_by_slugs(self, organization_id: str, slugs: Sequence[str]) -> Mapping[str, Course]:
        if not slugs:
            return {}
        c = self.table.c
        found = self._courses(c.organization_id == organization_id, c.slug.in_(list(slugs)))
        return {course.slug: course for course in found}

    def add_many(self, courses: Sequence[Course]) -> None:
        if not courses:
            return
        with self._atomic():  # courses and their children: all or none
            self._insert_many(courses)
            for course in courses:
                self._write_children(course)

    def list_for_organization(self, organization_id: str) -> Sequence[Course]:
        return self._courses(self.table.c.organization_id == organization_id)


class SqlSpecializationRepository(_SqlRepository[Specialization], ports.SpecializationRepository):
    """Specializations in SQL; their course order is a child table."""

    table, kind, model = t.specializations, "specialization", Specialization

    def _to_row(self, record: Specialization) -> dict[str, Any]:
        row: dict[str, Any] = _conv.unstructure(record)
        del row["course_ids"]
        return row

    def _specializations(self, *where: sa.ColumnElement[bool]) -> list[Specialization]:
        c = self.table.c
        rows = [
            dict(r) for r in self._read(sa.select(self.table).where(*where).order_by(c.name, c.id))
        ]
        if not rows:
            return []
        sc = t.specialization_courses.c
        courses: dict[str, list[str]] = defaultdict(list)
        for r in self._read(
            sa.select(t.specialization_courses)
            .where(sc.specialization_id.in_([r["id"] for r in rows]))
            .order_by(sc.specialization_id, sc.position)
        ):
            courses[r["specialization_id"]].append(r["course_id"])
        return self._convert({**r, "course_ids": courses[r["id"]]} for r in rows)

    def add(self, specialization: Specialization) -> None:
        self._insert(specialization)
        self._write(
            t.specialization_courses.insert(),
            [
                {"specialization_id": specialization.id, "position": i, "course_id": cid}
                for i, cid in enumerate(specialization.course_ids)
            ],
        )

    def get(self, specialization_id: str) -> Specialization:
        found = self._specializations(self.table.c.id == specialization_id)
        if not found:
            raise NotFoundError(self.kind, specialization_id)
        return found[0]

    def list_for_organization(self, organization_id: str) -> Sequence[Specialization]:
        return self._specializations(self.table.c.organization_id == organization_id)


class SqlCollectionRepository(_SqlRepository[Collection], ports.CollectionRepository):
    """Collections in SQL; their entries are a child table, one row per position."""

    table, kind, model = t.collections, "collection", Collection

    def _to_row(self, record: Collection) -> dict[str, Any]:
        return {
            "id": record.id,
            "program_id": record.program_id,
            "name": record.name,
            "description": record.description,
            "position": record.position,
        }

    @staticmethod
    def _entry_row(collection_id: str, position: int, entry: CollectionEntry) -> dict[str, Any]:
        course = entry.kind is EntryKind.COURSE
        return {
            "collection_id": collection_id,
            "position": position,
            "kind": entry.kind.value,
            "course_id": entry.target_id if course else None,
            "specialization_id": None if course else entry.target_id,
        }

    def _write_entries(self, collection: Collection) -> None:
        if collection.entries:
            self._write(
                t.collection_entries.insert(),
                [self._entry_row(collection.id, i, e) for i, e in enumerate(collection.entries)],
            )

    def _collections(self, *where: sa.ColumnElement[bool]) -> list[Collection]:
        c = self.table.c
        rows = [
            dict(r)
            for r in self._read(sa.select(self.table).where(*where).order_by(c.position, c.id))
        ]
        if not rows:
            return []
        e = t.collection_entries.c
        entries: dict[str, list[dict[str, str]]] = defaultdict(list)
        for r in self._read(
            sa.select(t.collection_entries)
            .where(e.collection_id.in_([r["id"] for r in rows]))
            .order_by(e.collection_id, e.position)
        ):
            target = (
                r["course_id"] if r["kind"] == EntryKind.COURSE.value else r["specialization_id"]
            )
            entries[r["collection_id"]].append({"kind": r["kind"], "target_id": target})
        return self._convert({**r, "entries": entries[r["id"]]} for r in rows)

    def add(self, collection: Collection) -> None:
        with self._atomic():  # the collection and its entries: all or none
            self._insert(collection)
            self._write_entries(collection)

    def get(self, collection_id: str) -> Collection:
        found = self._collections(self.table.c.id == collection_id)
        if not found:
            raise NotFoundError(self.kind, collection_id)
        return found[0]

    def update(self, collection: Collection) -> None:
        with self._atomic():
            self._update(collection)
            self._write(
                t.collection_entries.delete().where(
                    t.collection_entries.c.collection_id == collection.id
                )
            )
            self._write_entries(collection)

    def remove(self, collection_id: str) -> None:
        with self._atomic():
            self._write(
                t.collection_entries.delete().where(
                    t.collection_entries.c.collection_id == collection_id
                )
            )
            result = self._write(self.table.delete().where(self.table.c.id == collection_id))
            if result.rowcount == 0:
                raise NotFoundError(self.kind, collection_id)

    def list_for_program(self, program_id: str) -> Sequence[Collection]:
        return self._collections(self.table.c.program_id == program_id)


class SqlSkillRepository(_SqlRepository[Skill], ports.SkillRepository):
    """Skills in SQL."""

    table, kind, model = t.skills, "skill", Skill

    def add(self, skill: Skill) -> None:
        self._insert(skill)

    def get(self, skill_id: str) -> Skill:
        return self._get(skill_id)

    def update(self, skill: Skill) -> None:
        self._update(skill)

    def list_for_organization(self, organization_id: str) -> Sequence[Skill]:
        c = self.table.c
        return self._select(c.organization_id == organization_id, order=(c.domain, c.name))


class SqlAuditRepository(_SqlRepository[AuditEntry], ports.AuditRepository):
    """The audit log in SQL, newest first by write order.

    Entries are written in batches: ``add`` keeps an entry until 1,000 are waiting, a read or
    scrub needs them, or the unit of work commits (:meth:`flush`); a rollback drops them. The
    log is write-mostly, and one executemany per batch is far cheaper than a statement each.
    """

    table, kind, model = t.audit_log, "audit entry", AuditEntry
    BATCH = 1000

    def __init__(self, uow: SqlUnitOfWork) -> None:
        super().__init__(uow)
        self._pending: list[dict[str, Any]] = []

    def flush(self) -> None:
        """Write the waiting entries, in the order they were added."""
        if self._pending:
            rows, self._pending = self._pending, []
            self._write_rows(rows)

    def discard(self) -> None:
        """Drop the waiting entries (the unit of work rolled back)."""
        self._pending = []

    def _to_row(self, record: AuditEntry) -> dict[str, Any]:
        # changes are JSON data already: no need to walk them with the converter
        return {
            "id": record.id,
            "organization_id": record.organization_id,
            "program_id": record.program_id,
            "actor": record.actor,
            "action": record.action,
            "object_type": record.object_type,
            "object_id": record.object_id,
            "changes": record.changes,  # a FrozenDict: a dict to the JSON encoder
            "at": record.at,
        }

    def _from_row(self, row: Mapping[str, Any]) -> AuditEntry:
        data = dict(row)
        data.pop("seq")
        return _conv.structure(data, AuditEntry)

    def add(self, entry: AuditEntry) -> None:
        self._uow.connection  # noqa: B018 - raises outside 'with uow:', like every write
        self._pending.append(self._to_row(entry))
        if len(self._pending) >= self.BATCH:
            self.flush()

    def add_many(self, entries: Sequence[AuditEntry]) -> None:
        for entry in entries:
            self.add(entry)

    def scrub(self, organization_id: str, object_id: str) -> int:
        self.flush()
        c = self.table.c
        result = self._write(
            self.table.update()
            .where(c.organization_id == organization_id, c.object_id == object_id)
            .values(changes={})
        )
        return int(result.rowcount)

    def list(
        self,
        organization_id: str,
        *,
        program_id: str | None = None,
        object_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> Sequence[AuditEntry]:
        self.flush()
        c = self.table.c
        where = [c.organization_id == organization_id]
        if program_id is not None:
            where.append(c.program_id == program_id)
        if object_id is not None:
            where.append(c.object_id == object_id)
        return self._select(*where, order=(c.seq.desc(),), limit=limit, offset=offset)


_MESSAGE_COLUMNS = {"to": "to_address"}


class SqlOutboxRepository(_SqlRepository[OutboxEntry], ports.OutboxRepository):
    """The outbox in SQL: message fields are columns."""

    table, kind, model = t.outbox, "outbox entry", OutboxEntry

    def _to_row(self, record: OutboxEntry) -> dict[str, Any]:
        row: dict[str, Any] = _conv.unstructure(record)
        message = row.pop("message")
        for key, value in message.items():
            row[_MESSAGE_COLUMNS.get(key, key)] = value
        return row

    def _from_row(self, row: Mapping[str, Any]) -> OutboxEntry:
        data = dict(row)
        message = OutgoingMessage(
            message_id=data.pop("message_id"),
            organization_id=data.pop("organization_id"),
            category=MessageCategory(data.pop("category")),
            to=EmailAddress.trusted(data.pop("to_address")),
            subject=data.pop("subject"),
            text_body=data.pop("text_body"),
            sender_address=EmailAddress.trusted(data.pop("sender_address")),
            to_name=data.pop("to_name"),
            html_body=data.pop("html_body"),
            sender_name=data.pop("sender_name"),
            reply_to=(EmailAddress.trusted(r) if (r := data.pop("reply_to")) else None),
            template=data.pop("template"),
            learner_id=data.pop("learner_id"),
            headers=dict(data.pop("headers")),
            membership_id=data.pop("membership_id"),
        )
        data["status"] = OutboxStatus(data["status"])
        return OutboxEntry(message=message, **data)

    def add(self, entry: OutboxEntry) -> None:
        self._insert(entry)

    def add_many(self, entries: Sequence[OutboxEntry]) -> None:
        self._insert_many(entries)

    def get(self, entry_id: str) -> OutboxEntry:
        return self._get(entry_id)

    def update(self, entry: OutboxEntry) -> None:
        self._update(entry)

    def list_for_learner(self, learner_id: str) -> Sequence[OutboxEntry]:
        c = self.table.c
        return self._select(c.learner_id == learner_id, order=(c.created_at, c.id))

    def claim_due(
        self, now: datetime, *, limit: int, claim_id: str, lease_until: datetime
    ) -> Sequence[OutboxEntry]:
        c = self.table.c
        due = (
            sa.select(c.id)
            .where(
                c.status.in_([OutboxStatus.PENDING.value, OutboxStatus.SENDING.value]),
                c.next_attempt_at <= now,
            )
            .order_by(c.created_at, c.id)
            .limit(limit)
        )
        if self._uow.connection.dialect.name != "sqlite":  # SQLite: BEGIN IMMEDIATE locks
            due = due.with_for_update(skip_locked=True)
        ids = [r["id"] for r in self._read(due)]
        if not ids:
            return []
        self._write(
            self.table.update()
            .where(c.id.in_(ids))
            .values(
                status=OutboxStatus.SENDING.value, claim_id=claim_id, next_attempt_at=lease_until
            )
        )
        return self._select(c.id.in_(ids), order=(c.created_at, c.id))

    def renew(self, entry_id: str, claim_id: str, lease_until: datetime) -> bool:
        c = self.table.c
        result = self._write(
            self.table.update()
            .where(
                c.id == entry_id,
                c.claim_id == claim_id,
                c.status == OutboxStatus.SENDING.value,
            )
            .values(next_attempt_at=lease_until)
        )
        return result.rowcount == 1

    def release(self, entry_ids: Sequence[str], claim_id: str, now: datetime) -> int:
        ids = list(dict.fromkeys(entry_ids))
        if not ids:
            return 0
        c = self.table.c
        result = self._write(
            self.table.update()
            .where(
                c.id.in_(ids),
                c.claim_id == claim_id,
                c.status == OutboxStatus.SENDING.value,
            )
            .values(status=OutboxStatus.PENDING.value, claim_id=None, next_attempt_at=now)
        )
        return int(result.rowcount)

    def finish(self, entry: OutboxEntry, claim_id: str) -> bool:
        c = self.table.c
        row = self._to_row(entry)
        statement = self.table.update().where(
            c.id == sa.bindparam("match_key"),
            c.claim_id == sa.bindparam("match_claim"),
            c.status == OutboxStatus.SENDING.value,
        )
        result = self._write(statement, {**row, "match_key": entry.id, "match_claim": claim_id})
        return result.rowcount == 1

    def list_due(self, now: datetime, limit: int = 100) -> Sequence[OutboxEntry]:
        c = self.table.c
        return self._select(
            c.status == OutboxStatus.PENDING.value,
            c.next_attempt_at <= now,
            order=(c.created_at, c.id),
            limit=limit,
        )

    def list_for_organization(
        self,
        organization_id: str,
        *,
        limit: int = 100,
        offset: int = 0,
    ) -> Sequence[OutboxEntry]:
        c = self.table.c
        return self._select(
            c.organization_id == organization_id,
            order=(c.created_at, c.id),
            limit=limit,
            offset=offset,
        )


class SqlDeliveryRepository(_SqlRepository[DeliveryAttempt], ports.DeliveryRepository):
    """Delivery attempts in SQL, in write order."""

    table, kind, model = t.mail_deliveries, "delivery attempt", DeliveryAttempt

    def _from_row(self, row: Mapping[str, Any]) -> DeliveryAttempt:
        data = dict(row)
        data.pop("seq")
        return _conv.structure(data, DeliveryAttempt)

    def add(self, attempt: DeliveryAttempt) -> None:
        self._insert(attempt)

    def list_for_outbox(self, outbox_id: str) -> Sequence[DeliveryAttempt]:
        c = self.table.c
        return self._select(c.outbox_id == outbox_id, order=(c.seq,))

    def replace_recipient(self, outbox_ids: Sequence[str], recipient: str) -> int:
        if not outbox_ids:
            return 0
        c = self.table.c
        result = self._write(
            self.table.update().where(c.outbox_id.in_(list(outbox_ids))).values(recipient=recipient)
        )
        return int(result.rowcount)

    def list_for_organization(
        self, organization_id: str, *, limit: int = 100, offset: int = 0
    ) -> Sequence[DeliveryAttempt]:
        c = self.table.c
        return self._select(
            c.organization_id == organization_id,
            order=(c.seq.desc(),),
            limit=limit,
            offset=offset,
        )


class SqlEmailPreferenceRepository(_SqlRepository[EmailOptOut], ports.EmailPreferenceRepository):
    """Email opt-outs in SQL."""

    table, kind, model = t.email_opt_outs, "email opt-out", EmailOptOut

    def opt_outs(self, learner_id: str) -> frozenset[MessageCategory]:
        c = self.table.c
        rows = self._read(sa.select(c.category).where(c.learner_id == learner_id))
        return frozenset(MessageCategory(r["category"]) for r in rows)

    def add(self, opt_out: EmailOptOut) -> None:
        # One statement that skips a stored opt-out: a look-up and then an INSERT let two
        # opt-outs at once both find none, and the later one was refused as a duplicate.
        # Only the duplicate key is skipped (not MariaDB's INSERT IGNORE, which would also
        # skip a learner that does not exist).
        row = self._to_row(opt_out)
        dialect = self._uow.connection.dialect.name
        statement: sa.Executable
        if dialect == "postgresql":
            from sqlalchemy.dialects import postgresql

            statement = postgresql.insert(self.table).values(row).on_conflict_do_nothing()
        elif dialect == "sqlite":
            from sqlalchemy.dialects import sqlite

            statement = sqlite.insert(self.table).values(row).on_conflict_do_nothing()
        else:
            from sqlalchemy.dialects import mysql

            insert = mysql.insert(self.table).values(row)
            statement = insert.on_duplicate_key_update(at=self.table.c.at)  # keeps the first
        self._write(statement)

    def remove(self, learner_id: str, category: MessageCategory) -> None:
        c = self.table.c
        self._write(
            self.table.delete().where(c.learner_id == learner_id, c.category == category.value)
        )


class SqlEnrollmentRepository(_SqlRepository[Enrollment], ports.EnrollmentRepository):
    """Enrollments in SQL; ``current_target_id`` makes one current enrollment per target."""

    table, kind, model = t.enrollments, "enrollment", Enrollment

    def _to_row(self, record: Enrollment) -> dict[str, Any]:
        row: dict[str, Any] = _conv.unstructure(record)
        row["current_target_id"] = record.target_id if record.is_current else None
        return row

    def _from_row(self, row: Mapping[str, Any]) -> Enrollment:
        # field for field, without the converter and the annotation checks (the values were
        # checked when stored: from_storage): a history import reads every enrollment of the
        # learners of each chunk, ingest those of each chunk's learners
        data = dict(row)
        data.pop("current_target_id")
        data["kind"] = EntryKind(data["kind"])
        return from_storage(Enrollment, **data)

    def add(self, enrollment: Enrollment) -> None:
        self._insert(enrollment)

    def add_many(self, enrollments: Sequence[Enrollment]) -> None:
        self._insert_many(enrollments)

    def get(self, enrollment_id: str) -> Enrollment:
        return self._get(enrollment_id)

    def update(self, enrollment: Enrollment) -> None:
        self._update(enrollment)

    def find_current(self, learner_id: str, target_id: str) -> Enrollment | None:
        c = self.table.c
        return self._first(c.learner_id == learner_id, c.current_target_id == target_id)

    def list_for_learner(
        self, learner_id: str, target_ids: Sequence[str] | None = None
    ) -> Sequence[Enrollment]:
        c = self.table.c
        where = [c.learner_id == learner_id]
        if target_ids is not None:
            where.append(c.target_id.in_(list(target_ids)))
        return self._select(*where, order=(c.enrolled_at, c.id))

    def list_for_learners(
        self, learner_ids: Sequence[str], target_ids: Sequence[str]
    ) -> Sequence[Enrollment]:
        c = self.table.c
        return self._select_in(
            c.learner_id, learner_ids, c.target_id.in_(list(set(target_ids))),
            order=(c.learner_id, c.enrolled_at, c.id),
        )  # fmt: skip

    def lock_for_learners(
        self, learner_ids: Sequence[str], target_ids: Sequence[str]
    ) -> Sequence[Enrollment]:
        c = self.table.c
        targets = sorted(set(target_ids))
        learners = sorted(set(learner_ids))
        found: list[Enrollment] = []
        if not targets:
            return found
        # The learners' rows first, in ID order: an enrollment not yet stored has no row to
        # lock, so without them an ingest and an enroll of one learner at once each missed
        # what the other stored (issue 17). PostgreSQL: FOR NO KEY UPDATE, which the foreign
        # key checks of rows referring to a learner do not wait for. SQLite renders none.
        lc = t.learners.c
        for start in range(0, len(learners), 500):
            self._read(
                sa.select(lc.id)
                .where(lc.id.in_(learners[start : start + 500]))
                .order_by(lc.id)
                .with_for_update(key_share=True)
            )
        for start in range(0, len(learners), 500):  # bounded IN lists, in learner order
            statement = (
                sa.select(self.table)
                .where(c.learner_id.in_(learners[start : start + 500]), c.target_id.in_(targets))
                .order_by(c.learner_id, c.target_id, c.id)
                .with_for_update()  # rendered as nothing on SQLite, whose writers take turns
            )
            found += self._convert(self._read(statement))
        return sorted(found, key=lambda e: (e.learner_id, e.enrolled_at, e.id))

    def list_for_program(self, program_id: str) -> Sequence[Enrollment]:
        c = self.table.c
        return self._select(c.program_id == program_id, order=(c.enrolled_at, c.id))

    def count_current_courses(self, program_id: str, learner_id: str) -> int:
        c = self.table.c
        rows = self._read(
            sa.select(sa.func.count().label("n")).where(
                c.program_id == program_id,
                c.learner_id == learner_id,
                c.kind == EntryKind.COURSE.value,
                c.current_target_id.is_not(None),
            )
        )
        return int(rows[0]["n"])


class _SqlScoped(_SqlRepository[T]):
    """Records keyed by (organization ID, source ID), written insert-or-skip."""

    def _add_new(self, organization_id: str, records: Sequence[T]) -> frozenset[str]:
        """Insert the records whose key is free; return the IDs of those this call stored.

        The database decides which (``ON CONFLICT DO NOTHING`` / ``INSERT IGNORE``, with
        ``RETURNING``): a row another unit of work is inserting makes this one wait for it to
        end, then counts as stored only if that one rolled back. Only a duplicate key is
        skipped: MariaDB's ``INSERT IGNORE`` skips a foreign key miss too, so there a row it
        skipped that is not stored is looked for (before issue 17 it counted as a duplicate).

        Raises:
            NotFoundError: the organization, a learner or a course a record refers to is not
                stored (the first, in that order and by ID); nothing of the call is stored.
        """
        if not records:
            return frozenset()
        rows = [{**self._to_row(r), "organization_id": organization_id} for r in records]
        dialect = self._uow.connection.dialect.name
        conn = self._uow.connection
        try:
            with translate_errors(self.kind), conn.begin_nested():  # rows read before it ends
                stored = frozenset(insert_new_rows(conn, self.table, rows, "id"))
                if dialect not in ("postgresql", "sqlite") and len(stored) < len(rows):
                    # INSERT IGNORE skips a row whose learner, course or organization is
                    # missing as it skips a duplicate: each skipped row must be stored already
                    self._check_skipped(organization_id, {r["id"] for r in rows} - stored, records)
                return stored
        except ConflictError as exc:  # PostgreSQL and SQLite refuse a foreign key miss
            if isinstance(exc, ConcurrencyError):  # a deadlock: the transaction may be gone
                raise
            raise self._missing_parent(organization_id, records) or exc from exc

    def _check_skipped(
        self, organization_id: str, skipped: set[str], records: Sequence[Any]
    ) -> None:
        """Raise when a row INSERT IGNORE skipped is not stored: not a duplicate, a missing parent.

        Read with a shared lock, so a row another unit of work committed meanwhile (the
        insert waited for it) is seen whatever the snapshot.

        Raises:
            NotFoundError: the organization, a learner or a course the skipped rows refer to.
        """
        c = self.table.c
        ids = sorted(skipped)
        found: set[str] = set()
        for start in range(0, len(ids), 500):
            statement = (
                sa.select(c.id)
                .where(c.organization_id == organization_id, c.id.in_(ids[start : start + 500]))
                .with_for_update(read=True)
            )
            found.update(self._uow.connection.execute(statement).scalars())
        if found != skipped:
            missing = {r.id for r in records} & (skipped - found)
            raise self._missing_parent(
                organization_id, [r for r in records if r.id in missing]
            ) or StorageError(
                f"{self.kind}: rows {sorted(missing)[:5]} were neither stored nor found"
            )

    def _missing_parent(self, organization_id: str, records: Sequence[Any]) -> NotFoundError | None:
        """The first parent row the records refer to that is not stored, as a NotFoundError.

        The organization first, then the learners and the courses in ID order (the same on
        every backend; the in-memory adapter checks in this order too). Locking reads, so a
        parent removed and committed meanwhile is seen as missing.
        """
        conn = self._uow.connection
        parents = (
            (t.organizations, "organization", [organization_id]),
            (t.learners, "learner", sorted({r.learner_id for r in records})),
            (t.courses, "course", sorted({r.course_id for r in records})),
        )
        for table, kind, keys in parents:
            found: set[str] = set()
            for start in range(0, len(keys), 500):
                statement = (
                    sa.select(table.c.id)
                    .where(table.c.id.in_(keys[start : start + 500]))
                    .with_for_update(read=True)
                )
                with translate_errors(kind):
                    found.update(conn.execute(statement).scalars())
            for key in keys:
                if key not in found:
                    return NotFoundError(kind, key)
        return None

    def _from_row(self, row: Mapping[str, Any]) -> T:
        data = dict(row)
        data.pop("organization_id")
        return _conv.structure(data, self.model)  # type: ignore[no-any-return]


class _SqlEvents(_SqlScoped[LearningEvent]):
    table, kind, model = t.learning_events, "learning event", LearningEvent

    def _to_row(self, record: LearningEvent) -> dict[str, Any]:
        # field for field, as the converter would, without its per-record cost (ingest)
        return {"id": record.id, "learner_id": record.learner_id, "course_id": record.course_id,
                "item_id": record.item_id, "kind": record.kind.value, "at": record.at}  # fmt: skip


class _SqlAttempts(_SqlScoped[AssessmentAttempt]):
    table, kind, model = t.assessment_attempts, "assessment attempt", AssessmentAttempt

    def _to_row(self, record: AssessmentAttempt) -> dict[str, Any]:
        return {"id": record.id, "learner_id": record.learner_id, "course_id": record.course_id,
                "assessment_id": record.assessment_id, "grade": record.grade,
                "submitted_at": record.submitted_at, "banked": record.banked}  # fmt: skip


class SqlActivityRepository(ports.ActivityRepository):
    """Raw learning records in SQL; duplicates by ID are skipped by the database itself."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._events = _SqlEvents(uow)
        self._attempts = _SqlAttempts(uow)

    def add_events(self, organization_id: str, events: Sequence[LearningEvent]) -> frozenset[str]:
        return self._events._add_new(organization_id, events)

    def add_attempts(
        self, organization_id: str, attempts: Sequence[AssessmentAttempt]
    ) -> frozenset[str]:
        return self._attempts._add_new(organization_id, attempts)

    def events_for(
        self, learner_ids: Sequence[str], course_ids: Sequence[str]
    ) -> Sequence[LearningEvent]:
        c = t.learning_events.c
        kinds = {k.value: k for k in EventKind}
        return [
            from_storage(LearningEvent, id=i, learner_id=lr, course_id=co, item_id=item,
                         kind=kinds[kind], at=stored_utc(at))
            for i, lr, co, item, kind, at in self._scan(
                self._events, (c.id, c.learner_id, c.course_id, c.item_id, c.kind, c.at),
                learner_ids, course_ids, c.at,
            )
        ]  # fmt: skip

    def attempts_for(
        self, learner_ids: Sequence[str], course_ids: Sequence[str]
    ) -> Sequence[AssessmentAttempt]:
        c = t.assessment_attempts.c
        columns = (c.id, c.learner_id, c.course_id, c.assessment_id, c.grade, c.submitted_at,
                   c.banked)  # fmt: skip
        return [
            from_storage(
                AssessmentAttempt,
                id=i,
                learner_id=lr,
                course_id=co,
                assessment_id=a,
                grade=float(grade),
                submitted_at=stored_utc(at),
                banked=bool(banked),
            )
            for i, lr, co, a, grade, at, banked in self._scan(
                self._attempts, columns, learner_ids, course_ids, c.submitted_at
            )
        ]

    @staticmethod
    def _scan(
        repository: _SqlScoped[Any],
        columns: Sequence[sa.ColumnElement[Any]],
        learner_ids: Sequence[str],
        course_ids: Sequence[str],
        at: sa.ColumnElement[Any],
    ) -> Iterator[tuple[Any, ...]]:
        """The rows of these learners in these courses, by learner, course, time and ID.

        Read through the driver's cursor (:func:`driver_rows`): the figures of every touched
        enrollment are recomputed from all its records, so ingest reads many more rows than it
        writes, and SQLAlchemy's row objects and cattrs' conversion were most of its time.
        Strings and numbers come as stored; times are converted by the caller.
        """
        c = repository.table.c
        courses = sorted(set(course_ids))
        learners = sorted(set(learner_ids))
        if not courses:
            return
        for start in range(0, len(learners), 500):  # bounded IN lists, in learner order
            statement = (
                sa.select(*columns)
                .where(c.learner_id.in_(learners[start : start + 500]), c.course_id.in_(courses))
                .order_by(c.learner_id, c.course_id, at, c.id)
            )
            yield from driver_rows(repository._uow.connection, statement, kind=repository.kind)

    def attempts_for_course(self, course_id: str) -> Sequence[AssessmentAttempt]:
        c = t.assessment_attempts.c
        return self._attempts._select(
            c.course_id == course_id, order=(c.learner_id, c.submitted_at, c.id)
        )


class SqlProgressRepository(_SqlRepository[EnrollmentProgress], ports.ProgressRepository):
    """Derived enrollment figures in SQL, and the members list as one query."""

    table, kind, model = t.enrollment_progress, "enrollment progress", EnrollmentProgress

    def put_many(self, figures: Sequence[EnrollmentProgress]) -> None:
        if not figures:
            return
        c = self.table.c
        ids = [f.enrollment_id for f in figures]
        self._write(self.table.delete().where(c.enrollment_id.in_(ids)))
        self._insert_many(figures)

    def get_many(self, enrollment_ids: Sequence[str]) -> Mapping[str, EnrollmentProgress]:
        c = self.table.c
        found: dict[str, EnrollmentProgress] = {}
        for start in range(0, len(enrollment_ids), 500):
            chunk = list(enrollment_ids[start : start + 500])
            for f in self._select(c.enrollment_id.in_(chunk)):
                found[f.enrollment_id] = f
        return found

    def put_days(self, enrollment_ids: Sequence[str], days: Sequence[DailyActivity]) -> None:
        wanted = set(enrollment_ids)
        for day in days:
            if day.enrollment_id not in wanted:
                raise StorageError(f"day of enrollment {day.enrollment_id!r} not in the batch")
        if not wanted:
            return
        c = t.enrollment_days.c
        with self._atomic():
            for start in range(0, len(enrollment_ids), 500):
                chunk = list(enrollment_ids[start : start + 500])
                self._uow.connection.execute(
                    t.enrollment_days.delete().where(c.enrollment_id.in_(chunk))
                )
            if days:  # straight through the driver: ingest rewrites the days of each enrollment
                insert_rows(self._uow.connection, t.enrollment_days, _day_rows(days))

    def put_days_since(self, since: Mapping[str, date], days: Sequence[DailyActivity]) -> None:
        for day in days:
            first = since.get(day.enrollment_id)
            if first is None or day.day < first:
                raise StorageError(
                    f"day {day.day} of enrollment {day.enrollment_id!r} is not in the batch"
                )
        if not since:
            return
        c = t.enrollment_days.c
        delete = t.enrollment_days.delete().where(
            c.enrollment_id == sa.bindparam("e"), c.day >= sa.bindparam("d")
        )
        with self._atomic():
            self._uow.connection.execute(delete, [{"e": e, "d": d} for e, d in since.items()])
            if days:
                insert_rows(self._uow.connection, t.enrollment_days, _day_rows(days))

    def put_tallies(self, tallies: Sequence[ActivityTally]) -> None:
        if not tallies:
            return
        c = t.activity_tallies.c
        latest = {x.enrollment_id: x for x in tallies}
        ids = sorted(latest)
        with self._atomic():
            for start in range(0, len(ids), 500):
                self._uow.connection.execute(
                    t.activity_tallies.delete().where(c.enrollment_id.in_(ids[start : start + 500]))
                )
            insert_rows(
                self._uow.connection,
                t.activity_tallies,
                [{"enrollment_id": i, "tally": latest[i].to_document()} for i in ids],
            )

    def get_tallies(self, enrollment_ids: Sequence[str]) -> Mapping[str, ActivityTally]:
        c = t.activity_tallies.c
        found: dict[str, ActivityTally] = {}
        ids = sorted(set(enrollment_ids))
        conn = self._uow.connection
        for start in range(0, len(ids), 500):
            statement = sa.select(c.enrollment_id, c.tally).where(
                c.enrollment_id.in_(ids[start : start + 500])
            )
            with translate_errors("activity tally"):
                rows = conn.execute(statement).all()
            for enrollment_id, document in rows:
                found[enrollment_id] = ActivityTally.from_document(enrollment_id, document)
        return found

    def get_days(self, enrollment_ids: Sequence[str]) -> Sequence[DailyActivity]:
        c = t.enrollment_days.c
        found: list[DailyActivity] = []
        ids = sorted(set(enrollment_ids))
        for start in range(0, len(ids), 500):
            rows = self._read(
                sa.select(t.enrollment_days)
                .where(c.enrollment_id.in_(ids[start : start + 500]))
                .order_by(c.enrollment_id, c.day)
            )
            found += [
                DailyActivity(
                    r["enrollment_id"],
                    r["day"],
                    float(r["learning_seconds"]),
                    int(r["lessons_taken"]),
                )
                for r in rows
            ]
        return found

    def put_imported(self, figures: Sequence[ImportedFigures]) -> None:
        if not figures:
            return
        c = t.imported_figures.c
        ids = sorted({f.enrollment_id for f in figures})
        with self._atomic():
            for start in range(0, len(ids), 500):
                self._uow.connection.execute(
                    t.imported_figures.delete().where(c.enrollment_id.in_(ids[start : start + 500]))
                )
            self._uow.connection.execute(
                t.imported_figures.insert(),
                [
                    {
                        "enrollment_id": f.enrollment_id,
                        "progress": f.progress,
                        "learning_seconds": f.learning_seconds,
                        "last_activity_at": f.last_activity_at,
                        "completed_at": f.completed_at,
                        "grade": f.grade,
                    }
                    for f in {f.enrollment_id: f for f in figures}.values()
                ],
            )

    def get_imported(self, enrollment_ids: Sequence[str]) -> Mapping[str, ImportedFigures]:
        c = t.imported_figures.c
        found: dict[str, ImportedFigures] = {}
        ids = sorted(set(enrollment_ids))
        for start in range(0, len(ids), 500):
            rows = self._read(
                sa.select(t.imported_figures).where(c.enrollment_id.in_(ids[start : start + 500]))
            )
            for r in rows:
                found[r["enrollment_id"]] = ImportedFigures(
                    r["enrollment_id"],
                    float(r["progress"]),
                    float(r["learning_seconds"]),
                    r["last_activity_at"],
                    r["completed_at"],
                    None if r["grade"] is None else float(r["grade"]),
                )
        return found

    def member_page(self, query: MemberQuery, now: datetime) -> MemberPage:
        statement = member_page_query(query, now, self._uow.connection.dialect.name)
        rows = self._read(statement)
        learners = SqlLearnerRepository(self._uow)
        memberships = SqlMembershipRepository(self._uow)
        total = int(rows[0]["total_rows"]) if rows else 0
        if not rows and query.offset:  # a page past the end still reports the total
            total = int(self._read(member_page_count(query, now))[0]["total_rows"])
        page = []
        for row in rows:
            learner = learners._convert([_prefixed(row, "l_")])[0]
            membership = memberships._convert([_prefixed(row, "m_")])[0]
            last = row["last_activity_at"]
            joined = membership.joined_at if membership.state is MemberState.MEMBER else None
            status = MemberStatus(
                enrollments=int(row["enrollments"]),
                completions=int(row["completions"]),
                last_activity_at=last,
                inactive=is_inactive(joined, last, now),
                at_risk=bool(row["at_risk"]),
            )
            page.append(MemberRow(learner, membership, status))
        return MemberPage(tuple(page), total, query)


def _prefixed(row: Mapping[Any, Any], prefix: str) -> dict[str, Any]:
    return {k[len(prefix) :]: v for k, v in row.items() if k.startswith(prefix)}


class SqlFeedbackRepository(_SqlRepository[Feedback], ports.FeedbackRepository):
    """Course ratings in SQL; one per learner, course and program."""

    table, kind, model = t.feedback, "feedback", Feedback

    def put(self, feedback: Feedback) -> None:
        c = self.table.c
        self._write(
            self.table.delete().where(
                c.learner_id == feedback.learner_id,
                c.course_id == feedback.course_id,
                c.program_id == feedback.program_id,
            )
        )
        self._insert(feedback)

    def list_for_course(self, course_id: str) -> Sequence[Feedback]:
        c = self.table.c
        return self._select(c.course_id == course_id, order=(c.at.desc(), c.id.desc()))

    def rating_summary(
        self, *, course_id: str | None = None, program_id: str | None = None
    ) -> tuple[float | None, int]:
        c = self.table.c
        where = []
        if course_id is not None:
            where.append(c.course_id == course_id)
        if program_id is not None:
            where.append(c.program_id == program_id)
        rows = self._read(
            sa.select(
                sa.func.avg(sa.cast(c.rating, sa.Double())).label("mean"),
                sa.func.count().label("n"),
            ).where(*where)
        )
        mean = rows[0]["mean"]
        return (None if mean is None else float(mean), int(rows[0]["n"]))


class SqlMessageRepository(_SqlRepository[SentMessage], ports.MessageRepository):
    """Sent messages in SQL; each audience is resolved by one query."""

    table, kind, model = t.messages, "message", SentMessage

    def _to_row(self, record: SentMessage) -> dict[str, Any]:
        row: dict[str, Any] = _conv.unstructure(record)
        cta = row.pop("call_to_action")
        row["cta_label"] = None if cta is None else cta["label"]
        row["cta_url"] = None if cta is None else cta["url"]
        return row

    def _from_row(self, row: Mapping[str, Any]) -> SentMessage:
        data = dict(row)
        label, url = data.pop("cta_label"), data.pop("cta_url")
        data["call_to_action"] = None if label is None else {"label": label, "url": url}
        return _conv.structure(data, SentMessage)

    def add(self, message: SentMessage) -> None:
        self._insert(message)

    def update(self, message: SentMessage) -> None:
        self._update(message)

    def get(self, message_id: str) -> SentMessage:
        return self._get(message_id)

    def find_by_key(self, organization_id: str, idempotency_key: str) -> SentMessage | None:
        c = self.table.c
        return self._first(
            c.organization_id == organization_id, c.idempotency_key == idempotency_key
        )

    def list_for_organization(
        self,
        organization_id: str,
        *,
        program_ids: Sequence[str] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> Sequence[SentMessage]:
        c = self.table.c
        where = [c.organization_id == organization_id]
        if program_ids is not None:
            r = t.message_recipients.c
            where.append(
                sa.select(r.message_id)
                .where(r.message_id == c.id, r.program_id.in_(list(program_ids)))
                .exists()
            )
        return self._select(
            *where, order=(c.sent_at.desc(), c.id.desc()), limit=limit, offset=offset
        )

    def add_recipients(self, recipients: Sequence[MessageRecipient]) -> None:
        if recipients:
            rows = [_conv.unstructure(r) for r in recipients]
            self._write(t.message_recipients.insert(), rows)

    def recipients(self, message_id: str) -> Sequence[MessageRecipient]:
        r = t.message_recipients.c
        rows = self._read(
            sa.select(t.message_recipients).where(r.message_id == message_id).order_by(r.learner_id)
        )
        return [_conv.structure(dict(row), MessageRecipient) for row in rows]

    def recipient_counts(
        self, message_ids: Sequence[str], program_ids: Sequence[str]
    ) -> Mapping[str, Mapping[RecipientSkip | None, int]]:
        r = t.message_recipients.c
        counts: dict[str, dict[RecipientSkip | None, int]] = {}
        if not message_ids or not program_ids:
            return counts
        rows = self._read(
            sa.select(r.message_id, r.skipped, sa.func.count().label("n"))
            .where(r.message_id.in_(list(message_ids)), r.program_id.in_(list(program_ids)))
            .group_by(r.message_id, r.skipped)
        )
        for row in rows:
            skipped = None if row.skipped is None else RecipientSkip(row.skipped)
            counts.setdefault(row.message_id, {})[skipped] = int(row.n)
        return counts

    def resolve(
        self,
        organization_id: str,
        audience: Audience,
        filters: AudienceFilter,
        program_scope: Sequence[str] | None,
        now: datetime,
    ) -> Sequence[AudienceMember]:
        statement = audience_query(organization_id, audience, filters, program_scope, now)
        states = {state.value: state for state in MemberState}
        with translate_errors("membership"):
            rows = self._uow.connection.execute(statement)
            return [  # plain tuples (the query's column order): a row per membership
                AudienceMember(learner, program, states[state], bool(opted), bool(inside))
                for learner, program, state, opted, inside in rows
            ]


def _attributes(stored: object) -> Mapping[str, str]:
    """Stored learner attributes: JSON text (SQLite, MariaDB), or decoded by the driver."""
    if isinstance(stored, str | bytes):
        decoded: Mapping[str, str] = json.loads(stored)
        return decoded or {}
    return stored or {}  # type: ignore[return-value]


def _stored_learner(values: Mapping[str, Any]) -> Learner:
    """A learner from its stored columns (validated when written), without generic conversion."""
    profile = LearnerProfile(**{name: values[name] for name in _PROFILE_FIELDS})
    return Learner(
        id=values["id"],
        organization_id=values["organization_id"],
        full_name=values["full_name"],
        email=EmailAddress(values["email"], values["email_key"]),
        created_at=stored_utc(values["created_at"]),
        external_id=values["external_id"],
        profile=profile,
        attributes=_attributes(values["attributes"]),
        identity_verified=bool(values["identity_verified"]),
    )


def _stored_figures(enrollment_id: str, values: Mapping[str, Any]) -> EnrollmentProgress:
    """An enrollment's stored figures, or empty ones when none are stored yet."""
    if values.get("items_total") is None:
        return EnrollmentProgress(enrollment_id)
    names = ("items_completed", "items_total", "progress", "lessons_taken", "learning_seconds",
             "last_activity_at", "completed_at", "grade", "open_due_at", "attempts")  # fmt: skip
    return from_storage(
        EnrollmentProgress,
        enrollment_id=enrollment_id,
        failing=bool(values["failing"]),
        **{name: values[name] for name in names},
    )


_EMAIL_COUNTS = tuple(
    a.name for a in fields(EmailReportFigures) if a.name not in ("estimated_hours", "computed_at")
)
"""The email figures that are counts: ``email_figures_query``'s columns of the same names."""


class SqlReportRepository(ports.ReportRepository):
    """Report records in SQL: one streamed query per report, figures aggregated in SQL."""

    STREAM = 1000

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow
        self._learners = SqlLearnerRepository(uow)

    def _stream(self, statement: sa.Select[Any]) -> Iterator[dict[str, Any]]:
        """Yield each row as a dict, with ``learner`` and ``figures`` built once per row.

        The ``l_`` and ``p_`` column positions are found once per query, and the learner is
        rebuilt directly from its stored (already checked) columns: reports run to millions of
        rows, and a generic conversion per row cost more than the query.
        """
        connection = self._uow.connection
        with translate_errors("report"):
            result = connection.execute(statement.execution_options(yield_per=self.STREAM))
            keys = list(result.keys())
            people = [(i, k[2:]) for i, k in enumerate(keys) if k.startswith("l_")]
            progress = [(i, k[2:]) for i, k in enumerate(keys) if k.startswith("p_")]
            id_at = keys.index("l_id")
            learner: Learner | None = None
            for values in result:
                row = dict(zip(keys, values, strict=True))
                if learner is None or learner.id != values[id_at]:  # rows come by learner
                    learner = _stored_learner({name: values[i] for i, name in people})
                row["learner"] = learner
                if progress:
                    row["figures"] = _stored_figures(
                        row["enrollment_id"], {name: values[i] for i, name in progress}
                    )
                yield row

    def _learner(self, row: Mapping[Any, Any]) -> Learner:
        learner: Learner = row["learner"]
        return learner

    @staticmethod
    def _figures(row: Mapping[Any, Any]) -> EnrollmentProgress:
        figures: EnrollmentProgress = row["figures"]
        return figures

    def usage(self, program_ids: Sequence[str]) -> Iterator[UsageRecord]:
        if not program_ids:
            return
        dialect = self._uow.connection.dialect.name
        for row in self._stream(enrollment_report_query(program_ids, EntryKind.COURSE, dialect)):
            yield UsageRecord(
                self._learner(row),
                row["target_name"],
                row["target_code"],
                row["target_slug"],
                row["target_partner"],
                row["enrolled_at"],
                row["class_start"],
                self._figures(row),
                bool(row["removed"]),
                row["program_slug"],
                row["program_name"],
                row["source"],
                row["contract"],
            )

    def specializations(self, program_ids: Sequence[str]) -> Iterator[SpecializationRecord]:
        if not program_ids:
            return
        dialect = self._uow.connection.dialect.name
        statement = enrollment_report_query(program_ids, EntryKind.SPECIALIZATION, dialect)
        for row in self._stream(statement):
            yield SpecializationRecord(
                self._learner(row),
                row["target_name"],
                row["target_slug"],
                row["target_partner"],
                row["enrolled_at"],
                self._figures(row),
                bool(row["removed"]),
                row["program_slug"],
                row["program_name"],
                row["source"],
                row["contract"],
            )

    def memberships(self, program_ids: Sequence[str]) -> Iterator[MembershipRecord]:
        if not program_ids:
            return
        dialect = self._uow.connection.dialect.name
        for row in self._stream(membership_report_query(program_ids, dialect)):
            yield MembershipRecord(
                self._learner(row),
                row["program_name"],
                row["program_slug"],
                int(row["enrolled"]),
                int(row["completed"]),
                MemberState(row["state"]),
                row["joined_at"],
                row["invited_at"],
                row["last_activity_at"],
                row["contract"],
            )

    def _values(
        self, program_ids: Sequence[str], query: Callable[..., sa.Select[Any]]
    ) -> Iterator[ReportValues]:
        """A report's values straight from the driver's cursor: no record, no result processing.

        ``query(program_ids, dialect=..., values=True)`` selects the values in the report's
        column order, as stored (see :meth:`ports.ReportRepository.usage_values`); the
        report's cell rules write them.
        """
        if not program_ids:
            return iter(())
        dialect = self._uow.connection.dialect.name
        statement = query(program_ids, dialect=dialect, values=True)
        return driver_rows(self._uow.connection, statement, kind="report", batch=self.STREAM)

    def usage_values(self, program_ids: Sequence[str]) -> Iterator[ReportValues]:
        return self._values(program_ids, partial(enrollment_report_query, kind=EntryKind.COURSE))

    def specialization_values(self, program_ids: Sequence[str]) -> Iterator[ReportValues]:
        kind = EntryKind.SPECIALIZATION
        return self._values(program_ids, partial(enrollment_report_query, kind=kind))

    def membership_values(self, program_ids: Sequence[str]) -> Iterator[ReportValues]:
        return self._values(program_ids, membership_report_query)

    def email_figures(self, program_ids: Sequence[str], now: datetime) -> EmailReportFigures:
        if not program_ids:
            return email_figures([], [], {}, set(), now)
        with translate_errors("report"):
            row = self._uow.connection.execute(email_figures_query(program_ids)).mappings().one()
        counts = {name: int(row[name]) for name in _EMAIL_COUNTS}
        seconds = float(row["seconds"])
        return EmailReportFigures(**counts, estimated_hours=hours(seconds), computed_at=now)

    def course_learners(
        self, course_id: str, program_ids: Sequence[str]
    ) -> Sequence[tuple[Learner, Enrollment]]:
        if not program_ids:
            return []
        dialect = self._uow.connection.dialect.name
        statement = course_learners_query(course_id, program_ids, dialect)
        enrollments = SqlEnrollmentRepository(self._uow)
        with translate_errors("report"):
            rows = list(self._uow.connection.execute(statement).mappings())
        columns = [c.name for c in t.enrollments.c]
        return [
            (_stored_learner(_prefixed(r, "l_")), enrollments._from_row({c: r[c] for c in columns}))
            for r in rows
        ]

    def activity_totals(self, program_ids: Sequence[str], now: datetime) -> ActivityTotals:
        if not program_ids:
            return ActivityTotals(0, 0, 0.0, 0.0, 0, 0)
        statement = activity_totals_query(program_ids, summary_since(now), now)
        with translate_errors("report"):
            row = self._uow.connection.execute(statement).mappings().one()
        return ActivityTotals(
            enrollments=int(row["enrollments"]),
            recent_enrollments=int(row["recent_enrollments"]),
            learning_seconds=float(row["seconds"]),
            recent_learning_seconds=float(row["recent_seconds"]),
            lessons_taken=int(row["lessons"]),
            recent_lessons_taken=int(row["recent_lessons"]),
        )

    def funnel(self, program_ids: Sequence[str], now: datetime) -> UsageFunnel:
        if not program_ids:
            return UsageFunnel.from_counts(0, 0, 0, now)
        with translate_errors("report"):
            row = self._uow.connection.execute(funnel_query(program_ids)).mappings().one()
        return UsageFunnel.from_counts(
            int(row["invited"]), int(row["joined"]), int(row["enrolled"]), now
        )

    def learner_activity(self, scope: AnalyticsScope) -> LearnerActivity:
        if not scope.program_ids:
            return learner_activity([])
        with translate_errors("report"):
            rows = list(self._uow.connection.execute(learner_activity_query(scope)).mappings())
        return learner_activity(
            ActivityDay(
                date.fromisoformat(r["day"]) if isinstance(r["day"], str) else r["day"],
                int(r["enrollments"]),
                int(r["completions"]),
            )
            for r in rows
        )

    def learner_feedback(self, scope: AnalyticsScope) -> LearnerFeedback:
        if not scope.program_ids:
            return LearnerFeedback.from_sums((0, 0, 0, 0, 0), 0, 0)
        with translate_errors("report"):
            row = self._uow.connection.execute(learner_feedback_query(scope)).mappings().one()
        stars = tuple(int(row[f"stars_{n}"]) for n in range(1, 6))
        return LearnerFeedback.from_sums(
            (stars[0], stars[1], stars[2], stars[3], stars[4]),
            int(row["recommendations"]),
            int(row["recommend_sum"]),
        )

    def utilization(self, scope: AnalyticsScope) -> Utilization:
        with translate_errors("report"):
            rows = list(self._uow.connection.execute(utilization_query(scope)).mappings())
        return Utilization.of(
            ContractUtilization.capped(
                r["id"], r["name"], int(r["quantity"] or 0), int(r["members"]), int(r["enrolled"])
            )
            for r in rows
        )

    def scheduled_sent(self, organization_id: str, local_day: date) -> frozenset[str]:
        c = t.scheduled_reports.c
        statement = sa.select(c.learner_id).where(
            c.organization_id == organization_id, c.local_day == local_day
        )
        with translate_errors("scheduled report"):
            return frozenset(self._uow.connection.execute(statement).scalars())

    def add_scheduled(self, record: ScheduledReportRecord) -> None:
        with translate_errors("scheduled report"):
            self._uow.connection.execute(
                t.scheduled_reports.insert().values(
                    organization_id=record.organization_id,
                    learner_id=record.learner_id,
                    local_day=record.local_day,
                    sent_at=record.sent_at,
                    program_ids=list(record.program_ids),
                    outbox_id=record.outbox_id,
                )
            )


class _SqlRatings(_SqlRepository[SkillRating]):
    table, kind, model = t.skill_ratings, "skill rating", SkillRating


class _SqlDifficulties(_SqlRepository[ItemDifficulty]):
    table, kind, model = t.item_difficulties, "item difficulty", ItemDifficulty


class _SqlMarks(_SqlRepository[ScoringMark]):
    table, kind, model = t.skill_scoring, "scoring mark", ScoringMark


class SqlSkillRatingRepository(ports.SkillRatingRepository):
    """Skill ratings in SQL; an organization's ratings are replaced in bulk after scoring."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow
        self._ratings = _SqlRatings(uow)
        self._difficulties = _SqlDifficulties(uow)
        self._marks = _SqlMarks(uow)
        self._attempts = _SqlAttempts(uow)

    def lock_scoring(self, organization_id: str) -> None:
        """Lock the organization's scoring mark row (made first if missing) ``FOR UPDATE``.

        The row always exists once locked and is only ever updated in place
        (:meth:`set_mark`), so a waiter is granted the lock on it when the holder ends. On
        SQLite every transaction holds the write lock from its start: nothing to do. An
        organization that is not stored is a NotFoundError on PostgreSQL and MariaDB (whose
        INSERT IGNORE skipped it silently before issue 17).
        """
        conn = self._uow.connection
        dialect = conn.dialect.name
        if dialect == "sqlite":
            return
        table, c = t.skill_scoring, t.skill_scoring.c
        lock = sa.select(c.organization_id).where(c.organization_id == organization_id)
        if self._marks._read(lock.with_for_update()):
            return  # the usual case: the row exists, and is now held
        # The organization's first run: make the row, then hold it. (Not an INSERT first every
        # time: on MariaDB an INSERT meeting an existing key takes a shared lock on it, and two
        # shared holders that both ask for the exclusive one deadlock.) Two first runs at once
        # may still deadlock here on MariaDB; the scorer runs the loser once more.
        blank = {"organization_id": organization_id, "scored": 0, "last_at": None, "last_id": None}
        if dialect == "postgresql":
            from sqlalchemy.dialects import postgresql

            make: sa.Executable = postgresql.insert(table).values(blank).on_conflict_do_nothing()
        else:  # MariaDB: a concurrent first run's row makes this a no-op
            make = table.insert().values(blank).prefix_with("IGNORE")
        try:
            self._marks._write(make)
        except ConflictError as exc:  # PostgreSQL: the foreign key refused a missing one
            if isinstance(exc, ConcurrencyError):
                raise
            raise NotFoundError("organization", organization_id) from exc
        if not self._marks._read(lock.with_for_update()):  # INSERT IGNORE skipped a key miss
            raise NotFoundError("organization", organization_id)

    def mark(self, organization_id: str) -> ScoringMark:
        found = self._marks._first(t.skill_scoring.c.organization_id == organization_id)
        return found or ScoringMark(organization_id)

    def set_mark(self, mark: ScoringMark) -> None:
        # updated in place, never deleted and made again: a scorer waiting in lock_scoring
        # for this row must find it when the lock is released
        c = t.skill_scoring.c
        row = self._marks._to_row(mark)
        updated = self._marks._write(
            t.skill_scoring.update().where(c.organization_id == mark.organization_id).values(row)
        )
        if updated.rowcount == 0:
            self._marks._insert(mark)

    def ratings(
        self, organization_id: str, skill_ids: Sequence[str] | None = None
    ) -> Sequence[SkillRating]:
        c = t.skill_ratings.c
        where = [c.organization_id == organization_id]
        if skill_ids is not None:
            where.append(c.skill_id.in_(list(skill_ids)))
        return self._ratings._select(*where, order=(c.skill_id, c.learner_id))

    def difficulties(self, organization_id: str) -> Sequence[ItemDifficulty]:
        c = t.item_difficulties.c
        return self._difficulties._select(
            c.organization_id == organization_id, order=(c.course_id, c.assessment_id)
        )

    def replace(
        self,
        organization_id: str,
        ratings: Sequence[SkillRating],
        difficulties: Sequence[ItemDifficulty],
    ) -> None:
        r, d = t.skill_ratings.c, t.item_difficulties.c
        self._ratings._write(t.skill_ratings.delete().where(r.organization_id == organization_id))
        self._difficulties._write(
            t.item_difficulties.delete().where(d.organization_id == organization_id)
        )
        for start in range(0, len(ratings), 5000):
            self._ratings._insert_many(ratings[start : start + 5000])
        self._difficulties._insert_many(difficulties)

    def attempts_after(
        self, organization_id: str, after: tuple[datetime, str] | None
    ) -> Iterator[AttemptRow]:
        c = t.assessment_attempts.c
        statement = sa.select(
            c.learner_id, c.course_id, c.assessment_id, c.grade, c.submitted_at, c.id
        ).where(c.organization_id == organization_id)
        if after is not None:
            at, last = after
            statement = statement.where(
                sa.or_(c.submitted_at > at, sa.and_(c.submitted_at == at, c.id > last))
            )
        statement = statement.order_by(c.submitted_at, c.id).execution_options(yield_per=5000)
        with translate_errors("assessment attempt"):
            for row in self._uow.connection.execute(statement):
                yield AttemptRow(*row)

    def scoring_rows(
        self, organization_id: str, after: tuple[datetime, str] | None
    ) -> Iterator[tuple[str, str, float, str]]:
        c = t.assessment_attempts.c
        item = (c.course_id + ":" + c.assessment_id).label("item")  # || or CONCAT()
        statement = sa.select(c.learner_id, item, c.grade, c.id).where(
            c.organization_id == organization_id
        )
        if after is not None:
            at, last = after
            statement = statement.where(
                sa.or_(c.submitted_at > at, sa.and_(c.submitted_at == at, c.id > last))
            )
        statement = statement.order_by(c.submitted_at, c.id)
        if after is not None:  # the cursor's time is bound through its column type: few rows
            with translate_errors("assessment attempt"):
                for row in self._uow.connection.execute(statement):
                    yield row[0], row[1], row[2], row[3]
            return
        # the full scan, millions of rows of strings and a float: the driver's own tuples
        yield from driver_rows(self._uow.connection, statement, kind="assessment attempt")

    def attempt_times(self, organization_id: str, ids: Sequence[str]) -> Mapping[str, datetime]:
        c = t.assessment_attempts.c
        found: dict[str, datetime] = {}
        unique = sorted(set(ids))
        for start in range(0, len(unique), 1000):
            rows = self._attempts._read(
                sa.select(c.id, c.submitted_at).where(
                    c.organization_id == organization_id, c.id.in_(unique[start : start + 1000])
                )
            )
            found.update((r["id"], r["submitted_at"]) for r in rows)
        return found

    def count_attempts_until(self, organization_id: str, until: tuple[datetime, str]) -> int:
        c = t.assessment_attempts.c
        at, last = until
        rows = self._attempts._read(
            sa.select(sa.func.count().label("n")).where(
                c.organization_id == organization_id,
                sa.or_(c.submitted_at < at, sa.and_(c.submitted_at == at, c.id <= last)),
            )
        )
        return int(rows[0]["n"])

    def completed_assessments(self, organization_id: str) -> Sequence[tuple[str, str, str]]:
        c = t.assessment_attempts.c
        rows = self._attempts._read(
            sa.select(c.learner_id, c.course_id, c.assessment_id)
            .where(c.organization_id == organization_id)
            .distinct()
            .order_by(c.learner_id, c.course_id, c.assessment_id)
        )
        return [(r["learner_id"], r["course_id"], r["assessment_id"]) for r in rows]


def _day_rows(days: Sequence[DailyActivity]) -> list[dict[str, Any]]:
    """The ``enrollment_days`` rows of ``days``, for :func:`insert_rows`."""
    return [
        {
            "enrollment_id": d.enrollment_id,
            "day": d.day,
            "learning_seconds": d.learning_seconds,
            "lessons_taken": d.lessons_taken,
        }
        for d in days
    ]
