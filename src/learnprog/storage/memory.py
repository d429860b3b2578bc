"""The in-memory storage adapter: a shipped product, not a test double.

Every unit of work holds the store's lock from ``__enter__`` to ``__exit__``, so units of work
are serializable (one runs at a time). They do not nest: a thread that opens a second one while
its first is open gets a :class:`~learnprog.errors.StorageError` at once (it would otherwise wait
for itself forever). Writes are staged in the
unit of work and reach the shared store only on :meth:`InMemoryUnitOfWork.commit`; leaving without
commit discards them. Unique keys are checked at each write, exactly where SQL adapters check
them, and raise the same :class:`~learnprog.errors.ConflictError`.
"""

from __future__ import annotations

import bisect
import itertools
import threading
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from datetime import date, datetime
from operator import attrgetter
from types import TracebackType
from typing import Any, Generic, Self, TypeVar, cast

from attrs import evolve

from learnprog.errors import ConflictError, NotFoundError, StaleDataError, StorageError
from learnprog.model.access import AdminGrant
from learnprog.model.activity import AssessmentAttempt, Enrollment, Feedback, LearningEvent
from learnprog.model.analytics import (
    AnalyticsScope,
    LearnerActivity,
    LearnerFeedback,
    Utilization,
    activity_days,
    learner_activity,
    learner_feedback,
    utilization,
)
from learnprog.model.audit import AuditEntry
from learnprog.model.catalog import Collection, Course, EntryKind, Skill, Specialization
from learnprog.model.learner import MEMBERSHIP_LIFECYCLE, Learner, Membership, MemberState
from learnprog.model.mail import (
    DeliveryAttempt,
    EmailOptOut,
    MessageCategory,
    OutboxEntry,
    OutboxStatus,
)
from learnprog.model.messaging import (
    Audience,
    AudienceFilter,
    AudienceMember,
    MessageRecipient,
    RecipientSkip,
    SentMessage,
)
from learnprog.model.organization import Contract, Organization, Program, name_taken
from learnprog.model.progress import (
    DailyActivity,
    EnrollmentProgress,
    ImportedFigures,
    MemberOrder,
    MemberPage,
    MemberQuery,
    MemberRow,
    member_status,
)
from learnprog.model.reporting import (
    ActivityTotals,
    EmailReportFigures,
    MembershipRecord,
    ReportValues,
    SpecializationRecord,
    UsageFunnel,
    UsageRecord,
    activity_totals,
    email_figures,
    usage_funnel,
)
from learnprog.model.schedules import ScheduledReportRecord
from learnprog.model.skills import AttemptRow, ItemDifficulty, ScoringMark, SkillRating
from learnprog.model.tally import ActivityTally
from learnprog.storage import ports

T = TypeVar("T")
_DELETED: Any = object()


class InMemoryStore:
    """The shared state behind in-memory units of work: committed records per table."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.owner: int | None = None  # the thread whose unit of work holds the lock
        self.tables: dict[str, dict[Hashable, Any]] = {}
        # (table, unique label) -> unique value -> record key, for committed records
        self.indexes: dict[tuple[str, str], dict[Hashable, Hashable]] = {}
        # (table, lookup label) -> value -> keys of committed records with that value
        self.lookups: dict[tuple[str, str], dict[Hashable, set[Hashable]]] = {}
        # table -> a table's own structures over its committed records (kept up on commit)
        self.derived: dict[str, Any] = {}

    def unit_of_work(self) -> InMemoryUnitOfWork:
        """Return a new unit of work over this store (a :data:`UnitOfWorkFactory`)."""
        return InMemoryUnitOfWork(self)


class _Table(Generic[T]):
    """One table's view inside a unit of work: committed rows overlaid with staged writes."""

    kind = "record"
    name = ""
    uniques: tuple[tuple[str, Callable[[Any], Hashable | None]], ...] = ()
    # non-unique indexes, so listings by a foreign key do not scan the table
    lookups: tuple[tuple[str, Callable[[Any], Hashable]], ...] = ()

    def __init__(self, uow: InMemoryUnitOfWork) -> None:
        self._uow = uow

    def _key(self, record: T) -> Hashable:
        key: Hashable = getattr(record, "id")  # noqa: B009 - every record but grants has an id
        return key

    def _committed(self) -> dict[Hashable, Any]:
        return self._uow.store.tables.setdefault(self.name, {})

    def _staged(self) -> dict[Hashable, Any]:
        return self._uow.staged.setdefault(self.name, {})

    def _items(self) -> Iterator[tuple[Hashable, T]]:
        """Every (key, record), committed records overlaid with staged writes."""
        self._uow.check_open()
        staged = self._staged()
        for key, record in self._committed().items():
            if key not in staged:
                yield key, record
        for key, record in staged.items():
            if record is not _DELETED:
                yield key, record

    def _rows(self) -> Iterator[T]:
        staged = self._staged()
        for key, record in self._committed().items():
            if key not in staged:
                yield record
        for record in staged.values():
            if record is not _DELETED:
                yield record

    def _find(self, key: Hashable) -> T | None:
        self._uow.check_open()
        if not isinstance(key, Hashable):
            return None  # a list or dict names no record (SQL adapters find none either)
        staged = self._staged()
        if key in staged:
            record = staged[key]
            return None if record is _DELETED else record
        return self._committed().get(key)

    def _get(self, key: Hashable) -> T:
        record = self._find(key)
        if record is None:
            raise NotFoundError(self.kind, key)
        return record

    def _index(self, label: str, *, staged: bool) -> dict[Hashable, Hashable]:
        indexes = self._uow.staged_indexes if staged else self._uow.store.indexes
        return indexes.setdefault((self.name, label), {})

    def _lookup(self, label: str, value: Hashable) -> T | None:
        """Return the record whose unique ``label`` value is ``value``, staged writes first."""
        self._uow.check_open()
        unique = dict(self.uniques)[label]
        for staged in (True, False):
            key = self._index(label, staged=staged).get(value)
            if key is not None:
                record = self._find(key)
                if record is not None and unique(record) == value:
                    return record
        return None

    def _check_unique(self, record: T) -> None:
        key = self._key(record)
        for label, unique in self.uniques:
            value = unique(record)
            if value is None:
                continue
            other = self._lookup(label, value)
            if other is not None and self._key(other) != key:
                raise ConflictError(
                    f"a {self.kind} with this {label} exists", kind=self.kind, key=value
                )

    def _lookup_index(self, label: str, *, staged: bool) -> dict[Hashable, set[Hashable]]:
        lookups = self._uow.staged_lookups if staged else self._uow.store.lookups
        return lookups.setdefault((self.name, label), {})

    def _select_by(
        self,
        label: str,
        value: Hashable,
        where: Callable[[T], bool],
        order: Callable[[T], Any],
    ) -> list[T]:
        """Like :meth:`_select`, over the records whose ``label`` lookup value is ``value``."""
        self._uow.check_open()
        of = dict(self.lookups)[label]
        keys = set(self._lookup_index(label, staged=False).get(value, ()))
        keys |= self._lookup_index(label, staged=True).get(value, set())
        found = []
        for key in keys:
            record = self._find(key)
            if record is not None and of(record) == value and where(record):
                found.append(record)
        return sorted(found, key=order)

    def _stage(self, key: Hashable, record: Any) -> None:
        self._staged()[key] = record
        if record is not _DELETED:
            for label, unique in self.uniques:
                value = unique(record)
                if value is not None:
                    self._index(label, staged=True)[value] = key
            for label, of in self.lookups:
                self._lookup_index(label, staged=True).setdefault(of(record), set()).add(key)

    def commit_staged(self) -> None:
        """Apply this table's staged writes to the store and its unique indexes."""
        committed = self._committed()
        for key, record in self._staged().items():
            old = committed.get(key)
            for label, unique in self.uniques:
                index = self._index(label, staged=False)
                if old is not None and index.get(unique(old)) == key:
                    del index[unique(old)]
                if record is not _DELETED and unique(record) is not None:
                    index[unique(record)] = key
            for label, of in self.lookups:
                keys = self._lookup_index(label, staged=False)
                if old is not None:
                    keys.get(of(old), set()).discard(key)
                if record is not _DELETED:
                    keys.setdefault(of(record), set()).add(key)
            if record is _DELETED:
                committed.pop(key, None)
            else:
                committed[key] = record

    def _insert(self, record: T) -> None:
        self._uow.check_open()
        if self._find(self._key(record)) is not None:
            raise ConflictError(
                f"{self.kind} {self._key(record)!r} exists", kind=self.kind, key=self._key(record)
            )
        self._check_unique(record)
        self._stage(self._key(record), record)

    def _insert_many(self, records: Sequence[T]) -> None:
        staged_before = dict(self._staged())
        indexes_before = {k: dict(v) for k, v in self._uow.staged_indexes.items()}
        lookups_before = {
            k: {value: set(keys) for value, keys in v.items()}
            for k, v in self._uow.staged_lookups.items()
        }
        try:
            for record in records:
                self._insert(record)
        except ConflictError:  # all or nothing, like one SQL statement
            self._uow.staged[self.name] = staged_before
            self._uow.staged_indexes = indexes_before
            self._uow.staged_lookups = lookups_before
            raise

    def _replace(self, record: T) -> None:
        self._get(self._key(record))
        self._check_unique(record)
        self._stage(self._key(record), record)

    def _delete(self, key: Hashable) -> None:
        self._get(key)
        self._stage(key, _DELETED)

    def _select(self, where: Callable[[T], bool], order: Callable[[T], Any]) -> list[T]:
        self._uow.check_open()
        return sorted((r for r in self._rows() if where(r)), key=order)


class InMemoryOrganizationRepository(_Table[Organization], ports.OrganizationRepository):
    """Organizations in memory."""

    kind, name = "organization", "organizations"
    uniques = (("name", lambda o: o.name_key),)  # a name held alone (Organization.unique_name)

    def add(self, organization: Organization) -> None:
        self._check_name(organization)
        self._insert(organization)

    def get(self, organization_id: str) -> Organization:
        return self._get(organization_id)

    def update(self, organization: Organization) -> None:
        self._check_name(organization)
        self._replace(organization)

    def _check_name(self, organization: Organization) -> None:
        key = organization.name_key
        other = None if key is None else self._lookup("name", key)
        if other is not None and other.id != organization.id:
            raise name_taken(organization.name)

    def lock(self, organization_id: str) -> None:
        self._uow.check_open()  # units of work take turns: nothing to hold

    def list(self) -> Sequence[Organization]:
        return self._select(lambda o: True, lambda o: (o.name, o.id))


class InMemoryProgramRepository(_Table[Program], ports.ProgramRepository):
    """Programs in memory."""

    kind, name = "program", "programs"
    uniques = (("slug", lambda p: p.slug.value),)

    def add(self, program: Program) -> None:
        self._insert(program)

    def get(self, program_id: str) -> Program:
        return self._get(program_id)

    def find_by_slug(self, slug: str) -> Program | None:
        return self._lookup("slug", slug)

    def update(self, program: Program) -> None:
        self._replace(program)

    def lock(self, program_id: str) -> None:
        self._uow.check_open()  # units of work take turns: nothing to hold

    def list_for_organization(self, organization_id: str) -> Sequence[Program]:
        return self._select(
            lambda p: p.organization_id == organization_id, lambda p: (p.created_at, p.id)
        )


class InMemoryContractRepository(_Table[Contract], ports.ContractRepository):
    """Contracts in memory; take/release are atomic because the unit of work holds the lock."""

    kind, name = "contract", "contracts"

    def add(self, contract: Contract) -> None:
        self._insert(contract)

    def get(self, contract_id: str) -> Contract:
        return self._get(contract_id)

    def update(self, contract: Contract) -> None:
        stored = self._get(contract.id)
        if contract.quantity is not None and stored.used > contract.quantity:
            raise ConflictError(
                f"contract: an integrity rule refused the write ({stored.used} in use, more "
                f"than the new quantity {contract.quantity})",
                kind=self.kind,
                key=contract.id,
            )
        self._replace(evolve(contract, used=stored.used))

    def list_for_organization(self, organization_id: str) -> Sequence[Contract]:
        return self._select(
            lambda c: c.organization_id == organization_id, lambda c: (c.starts_at, c.name, c.id)
        )

    def take(self, contract_id: str, count: int = 1) -> bool:
        count = ports.check_count(count)
        contract = self._get(contract_id)
        if contract.quantity is not None and contract.used + count > contract.quantity:
            return False
        self._stage(contract_id, evolve(contract, used=contract.used + count))
        return True

    def release(self, contract_id: str, count: int = 1) -> None:
        count = ports.check_count(count)
        contract = self._get(contract_id)
        self._stage(contract_id, evolve(contract, used=max(contract.used - count, 0)))


class InMemoryLearnerRepository(_Table[Learner], ports.LearnerRepository):
    """Learners in memory."""

    kind, name = "learner", "learners"
    uniques = (("email", lambda r: (r.organization_id, r.email.key)),)

    def add(self, learner: Learner) -> None:
        self._insert(learner)

    def get(self, learner_id: str) -> Learner:
        return self._get(learner_id)

    def update(self, learner: Learner) -> None:
        self._replace(learner)

    def get_many(self, learner_ids: Sequence[str]) -> Mapping[str, Learner]:
        found = {i: self._find(i) for i in learner_ids}
        return {k: v for k, v in found.items() if v is not None}

    def find_by_email(self, organization_id: str, email_key: str) -> Learner | None:
        return self._lookup("email", (organization_id, email_key))

    def find_by_emails(
        self, organization_id: str, email_keys: Sequence[str]
    ) -> Mapping[str, Learner]:
        found = {k: self._lookup("email", (organization_id, k)) for k in email_keys}
        return {k: v for k, v in found.items() if v is not None}

    def add_many(self, learners: Sequence[Learner]) -> None:
        self._insert_many(learners)

    def find_by_external_id(
        self,
        organization_id: str,
        external_id: str,
    ) -> Sequence[Learner]:
        return self._select(
            lambda r: r.organization_id == organization_id and r.external_id == external_id,
            lambda r: (r.full_name, r.email.key),
        )

    def list_for_organization(self, organization_id: str) -> Sequence[Learner]:
        return self._select(
            lambda r: r.organization_id == organization_id, lambda r: (r.full_name, r.email.key)
        )


class InMemoryMembershipRepository(_Table[Membership], ports.MembershipRepository):
    """Memberships in memory."""

    kind, name = "membership", "memberships"
    uniques = (("program and learner", lambda m: (m.program_id, m.learner_id)),)
    lookups = (("program", lambda m: m.program_id), ("learner", lambda m: m.learner_id))

    def add(self, membership: Membership) -> None:
        self._insert(membership)

    def get(self, membership_id: str) -> Membership:
        return self._get(membership_id)

    def update(self, membership: Membership, *, expected: Membership | None = None) -> None:
        if expected is not None:
            stored = self._get(membership.id)
            if any(
                getattr(stored, name) != getattr(expected, name) for name in MEMBERSHIP_LIFECYCLE
            ):
                raise StaleDataError(
                    "the membership was changed by another unit of work; nothing was stored",
                    kind=self.kind,
                    key=membership.id,
                )
        self._replace(membership)

    def find(self, program_id: str, learner_id: str) -> Membership | None:
        return self._lookup("program and learner", (program_id, learner_id))

    def find_for_learners(
        self, program_id: str, learner_ids: Sequence[str]
    ) -> Mapping[str, Membership]:
        found = {i: self._lookup("program and learner", (program_id, i)) for i in learner_ids}
        return {k: v for k, v in found.items() if v is not None}

    def add_many(self, memberships: Sequence[Membership]) -> None:
        self._insert_many(memberships)

    def list_for_program(self, program_id: str) -> Sequence[Membership]:
        return self._select_by(
            "program", program_id, lambda m: True, lambda m: (m.invited_at, m.id)
        )

    def list_for_learner(self, learner_id: str) -> Sequence[Membership]:
        return self._select_by(
            "learner", learner_id, lambda m: True, lambda m: (m.invited_at, m.id)
        )


class InMemoryAdminRepository(_Table[AdminGrant], ports.AdminRepository):
    """Administrator grants in memory."""

    kind, name = "admin grant", "admins"

    def _key(self, record: AdminGrant) -> Hashable:
        return (record.organization_id, record.learner_id, record.scope)

    def add(self, grant: AdminGrant) -> None:
        self._insert(grant)

    def remove(self, grant: AdminGrant) -> None:
        self._delete(self._key(grant))

    def list_for_organization(self, organization_id: str) -> Sequence[AdminGrant]:
        return self._select(
            lambda g: g.organization_id == organization_id,
            lambda g: (g.granted_at, g.learner_id, g.scope),
        )

    def list_for_learner(
        self,
        organization_id: str,
        learner_id: str,
    ) -> Sequence[AdminGrant]:
        return self._select(
            lambda g: g.organization_id == organization_id and g.learner_id == learner_id,
            lambda g: (g.granted_at, g.scope),
        )


class InMemoryCourseRepository(_Table[Course], ports.CourseRepository):
    """Courses in memory."""

    kind, name = "course", "courses"
    uniques = (
        ("course ID", lambda c: (c.organization_id, c.course_id)),
        ("slug", lambda c: (c.organization_id, c.slug)),
    )

    def add(self, course: Course) -> None:
        self._insert(course)

    def get(self, course_id: str) -> Course:
        return self._get(course_id)

    def update(self, course: Course) -> None:
        self._replace(course)

    def find_by_course_id(
        self,
        organization_id: str,
        course_id: str,
    ) -> Course | None:
        return self._lookup("course ID", (organization_id, course_id))

    def find_by_course_ids(
        self, organization_id: str, course_ids: Sequence[str]
    ) -> Mapping[str, Course]:
        found = {k: self._lookup("course ID", (organization_id, k)) for k in course_ids}
        return {k: v for k, v in found.items() if v is not None}

    def find_by_slugs(self, organization_id: str, slugs: Sequence[str]) -> Mapping[str, Course]:
        found = {k: self._lookup("slug", (organization_id, k)) for k in slugs}
        return {k: v for k, v in found.items() if v is not None}

    def add_many(self, courses: Sequence[Course]) -> None:
        self._insert_many(courses)

    def list_for_organization(self, organization_id: str) -> Sequence[Course]:
        return self._select(
            lambda c: c.organization_id == organization_id, lambda c: (c.name, c.id)
        )


class InMemorySpecializationRepository(_Table[Specialization], ports.SpecializationRepository):
    """Specializations in memory."""

    kind, name = "specialization", "specializations"
    uniques = (("slug", lambda s: (s.organization_id, s.slug)),)

    def add(self, specialization: Specialization) -> None:
        self._insert(specialization)

    def get(self, specialization_id: str) -> Specialization:
        return self._get(specialization_id)

    def list_for_organization(self, organization_id: str) -> Sequence[Specialization]:
        return self._select(
            lambda s: s.organization_id == organization_id, lambda s: (s.name, s.id)
        )


class InMemoryCollectionRepository(_Table[Collection], ports.CollectionRepository):
    """Collections in memory, each stored whole with its entries."""

    kind, name = "collection", "collections"

    def add(self, collection: Collection) -> None:
        self._insert(collection)

    def get(self, collection_id: str) -> Collection:
        return self._get(collection_id)

    def update(self, collection: Collection) -> None:
        self._replace(collection)

    def remove(self, collection_id: str) -> None:
        self._delete(collection_id)

    def list_for_program(self, program_id: str) -> Sequence[Collection]:
        return self._select(lambda c: c.program_id == program_id, lambda c: (c.position, c.id))


class InMemorySkillRepository(_Table[Skill], ports.SkillRepository):
    """Skills in memory."""

    kind, name = "skill", "skills"
    uniques = (("domain and name", lambda s: (s.organization_id, s.domain, s.name)),)

    def add(self, skill: Skill) -> None:
        self._insert(skill)

    def get(self, skill_id: str) -> Skill:
        return self._get(skill_id)

    def update(self, skill: Skill) -> None:
        self._replace(skill)

    def list_for_organization(self, organization_id: str) -> Sequence[Skill]:
        return self._select(
            lambda s: s.organization_id == organization_id, lambda s: (s.domain, s.name)
        )


class InMemoryAuditRepository(_Table[AuditEntry], ports.AuditRepository):
    """The audit log in memory."""

    kind, name = "audit entry", "audit"

    def add(self, entry: AuditEntry) -> None:
        self._insert(entry)

    def add_many(self, entries: Sequence[AuditEntry]) -> None:
        self._insert_many(entries)

    def scrub(self, organization_id: str, object_id: str) -> int:
        about = [
            e
            for e in self._rows()
            if e.organization_id == organization_id and e.object_id == object_id
        ]
        for entry in about:
            self._replace(evolve(entry, changes={}))
        return len(about)

    def list(
        self,
        organization_id: str,
        *,
        program_id: str | None = None,
        object_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> Sequence[AuditEntry]:
        self._uow.check_open()
        rows = [
            e
            for e in self._rows()
            if e.organization_id == organization_id
            and (program_id is None or e.program_id == program_id)
            and (object_id is None or e.object_id == object_id)
        ]
        rows.reverse()  # newest first, by write order
        return rows[offset : offset + limit]


class InMemoryOutboxRepository(_Table[OutboxEntry], ports.OutboxRepository):
    """The outbox in memory; claims are exclusive because a unit of work holds the store lock."""

    kind, name = "outbox entry", "outbox"

    def list_for_learner(self, learner_id: str) -> Sequence[OutboxEntry]:
        return self._select(
            lambda e: e.message.learner_id == learner_id, lambda e: (e.created_at, e.id)
        )

    def claim_due(
        self, now: datetime, *, limit: int, claim_id: str, lease_until: datetime
    ) -> Sequence[OutboxEntry]:
        due = self._select(lambda e: e.is_due(now), lambda e: (e.created_at, e.id))[:limit]
        claimed = [e.claimed(claim_id, lease_until) for e in due]
        for entry in claimed:
            self._replace(entry)
        return claimed

    def renew(self, entry_id: str, claim_id: str, lease_until: datetime) -> bool:
        stored = self._get(entry_id)
        if stored.claim_id != claim_id or stored.status is not OutboxStatus.SENDING:
            return False
        self._replace(stored.claimed(claim_id, lease_until))
        return True

    def release(self, entry_ids: Sequence[str], claim_id: str, now: datetime) -> int:
        released = 0
        for entry_id in dict.fromkeys(entry_ids):
            stored = self._find(entry_id)
            if (
                stored is not None
                and stored.claim_id == claim_id
                and stored.status is OutboxStatus.SENDING
            ):
                self._replace(stored.released(now))
                released += 1
        return released

    def finish(self, entry: OutboxEntry, claim_id: str) -> bool:
        stored = self._get(entry.id)
        if stored.claim_id != claim_id or stored.status is not OutboxStatus.SENDING:
            return False
        self._replace(entry)
        return True

    def add(self, entry: OutboxEntry) -> None:
        self._insert(entry)

    def add_many(self, entries: Sequence[OutboxEntry]) -> None:
        self._insert_many(entries)

    def get(self, entry_id: str) -> OutboxEntry:
        return self._get(entry_id)

    def update(self, entry: OutboxEntry) -> None:
        self._replace(entry)

    def list_due(self, now: datetime, limit: int = 100) -> Sequence[OutboxEntry]:
        return self._select(
            lambda e: e.status is OutboxStatus.PENDING and e.next_attempt_at <= now,
            lambda e: (e.created_at, e.id),
        )[:limit]

    def list_for_organization(
        self,
        organization_id: str,
        *,
        limit: int = 100,
        offset: int = 0,
    ) -> Sequence[OutboxEntry]:
        return self._select(
            lambda e: e.message.organization_id == organization_id, lambda e: (e.created_at, e.id)
        )[offset : offset + limit]


class InMemoryDeliveryRepository(_Table[DeliveryAttempt], ports.DeliveryRepository):
    """Delivery attempts in memory, in write order."""

    kind, name = "delivery attempt", "deliveries"

    def add(self, attempt: DeliveryAttempt) -> None:
        self._insert(attempt)

    def list_for_outbox(self, outbox_id: str) -> Sequence[DeliveryAttempt]:
        self._uow.check_open()
        return [a for a in self._rows() if a.outbox_id == outbox_id]

    def replace_recipient(self, outbox_ids: Sequence[str], recipient: str) -> int:
        wanted = set(outbox_ids)
        changed = [a for a in self._rows() if a.outbox_id in wanted]
        for attempt in changed:
            self._replace(evolve(attempt, recipient=recipient))
        return len(changed)

    def list_for_organization(
        self, organization_id: str, *, limit: int = 100, offset: int = 0
    ) -> Sequence[DeliveryAttempt]:
        self._uow.check_open()
        rows = [a for a in self._rows() if a.organization_id == organization_id]
        rows.reverse()
        return rows[offset : offset + limit]


class InMemoryEmailPreferenceRepository(_Table[EmailOptOut], ports.EmailPreferenceRepository):
    """Email opt-outs in memory."""

    kind, name = "email opt-out", "email_opt_outs"

    def _key(self, record: EmailOptOut) -> Hashable:
        return (record.learner_id, record.category)

    def opt_outs(self, learner_id: str) -> frozenset[MessageCategory]:
        self._uow.check_open()
        return frozenset(o.category for o in self._rows() if o.learner_id == learner_id)

    def add(self, opt_out: EmailOptOut) -> None:
        if self._find(self._key(opt_out)) is None:
            self._insert(opt_out)

    def remove(self, learner_id: str, category: MessageCategory) -> None:
        if self._find((learner_id, category)) is not None:
            self._delete((learner_id, category))


class InMemoryEnrollmentRepository(_Table[Enrollment], ports.EnrollmentRepository):
    """Enrollments in memory; one current enrollment per learner and target."""

    kind, name = "enrollment", "enrollments"
    uniques = (
        ("current enrollment", lambda e: (e.learner_id, e.target_id) if e.is_current else None),
    )
    lookups = (
        ("learner", lambda e: e.learner_id),
        ("program", lambda e: e.program_id),
        ("program and learner", lambda e: (e.program_id, e.learner_id)),
    )

    def add(self, enrollment: Enrollment) -> None:
        self._insert(enrollment)

    def add_many(self, enrollments: Sequence[Enrollment]) -> None:
        self._insert_many(enrollments)

    def get(self, enrollment_id: str) -> Enrollment:
        return self._get(enrollment_id)

    def update(self, enrollment: Enrollment) -> None:
        self._replace(enrollment)

    def find_current(self, learner_id: str, target_id: str) -> Enrollment | None:
        return self._lookup("current enrollment", (learner_id, target_id))

    def list_for_learner(
        self, learner_id: str, target_ids: Sequence[str] | None = None
    ) -> Sequence[Enrollment]:
        wanted = None if target_ids is None else set(target_ids)
        return self._select_by(
            "learner",
            learner_id,
            lambda e: wanted is None or e.target_id in wanted,
            lambda e: (e.enrolled_at, e.id),
        )

    def list_for_learners(
        self, learner_ids: Sequence[str], target_ids: Sequence[str]
    ) -> Sequence[Enrollment]:
        return [e for lr in sorted(set(learner_ids)) for e in self.list_for_learner(lr, target_ids)]

    def lock_for_learners(
        self, learner_ids: Sequence[str], target_ids: Sequence[str]
    ) -> Sequence[Enrollment]:
        # the store's lock, held by this unit of work, already keeps every other one out
        return self.list_for_learners(learner_ids, target_ids)

    def list_for_program(self, program_id: str) -> Sequence[Enrollment]:
        return self._select_by(
            "program", program_id, lambda e: True, lambda e: (e.enrolled_at, e.id)
        )

    def count_current_courses(self, program_id: str, learner_id: str) -> int:
        return len(
            self._select_by(
                "program and learner",
                (program_id, learner_id),
                lambda e: e.kind is EntryKind.COURSE and e.is_current,
                lambda e: e.id,
            )
        )


class _ScopedTable(_Table[T]):
    """Records keyed by (organization ID, the source's record ID), written insert-or-skip."""

    def _add_new(self, organization_id: str, records: Sequence[Any]) -> frozenset[str]:
        self._uow.check_open()
        if records:  # like the SQL foreign keys, in the SQL adapter's order
            self._uow.organizations.get(organization_id)
            for learner_id in sorted({r.learner_id for r in records}):
                self._uow.learners.get(learner_id)
            for course_id in sorted({r.course_id for r in records}):
                self._uow.courses.get(course_id)
        stored: set[str] = set()
        for record in records:
            key = (organization_id, record.id)
            if self._find(key) is None:
                self._stage(key, record)
                stored.add(record.id)
        return frozenset(stored)


class InMemoryEventTable(_ScopedTable[LearningEvent]):
    """Item events in memory."""

    kind, name = "learning event", "learning_events"
    lookups = (("learner and course", lambda e: (e.learner_id, e.course_id)),)


class InMemoryAttemptTable(_ScopedTable[AssessmentAttempt]):
    """Assessment attempts in memory.

    Besides the lookups, each organization's committed attempts are kept in time order
    (``(submitted_at, id)``) with the row the scorer reads, kept up as attempts are committed,
    as a SQL database keeps an index: the scorer reads millions of them in that order.
    """

    kind, name = "assessment attempt", "assessment_attempts"
    lookups = (
        ("learner and course", lambda a: (a.learner_id, a.course_id)),
        ("course", lambda a: a.course_id),
    )

    def _timelines(self) -> _Timelines:
        found: _Timelines = self._uow.store.derived.setdefault(self.name, _Timelines())
        return found

    def commit_staged(self) -> None:
        """Apply the staged writes, adding new attempts to their organization's timeline.

        An attempt replaced or deleted makes its organization's timeline stale: the next read
        builds it again.
        """
        committed, timelines = self._committed(), self._timelines()
        for key, record in self._staged().items():
            organization_id = cast(tuple[str, str], key)[0]
            if organization_id in timelines.stale:
                continue
            if record is _DELETED or key in committed:
                timelines.by_organization.pop(organization_id, None)
                timelines.stale.add(organization_id)
            else:  # every organization's attempts were added since its first: append
                timelines.by_organization.setdefault(organization_id, _Timeline()).add(record)
        super().commit_staged()

    def timeline(self, organization_id: str) -> _Timeline | None:
        """The organization's committed attempts in time order.

        ``None`` while this unit of work has staged writes to attempts: the caller then reads
        the records themselves.
        """
        self._uow.check_open()
        if self._staged():
            return None
        timelines = self._timelines()
        if organization_id in timelines.stale:
            rebuilt = _Timeline()
            for key, record in self._committed().items():
                if cast(tuple[str, str], key)[0] == organization_id:
                    rebuilt.add(record)
            timelines.by_organization[organization_id] = rebuilt
            timelines.stale.discard(organization_id)
        timeline = timelines.by_organization.get(organization_id) or _Timeline()
        timeline.settle()
        return timeline


class _Timelines:
    """Every organization's :class:`_Timeline`, and those to build again before reading."""

    def __init__(self) -> None:
        self.by_organization: dict[str, _Timeline] = {}
        self.stale: set[str] = set()


def _scoring_row(a: AssessmentAttempt) -> tuple[str, str, float, str]:
    """An attempt as the scorer reads it (``SkillRatingRepository.scoring_rows``).

    Learner, item key (course and assessment IDs), grade, attempt ID.
    """
    return a.learner_id, f"{a.course_id}:{a.assessment_id}", a.grade, a.id


class _Timeline:
    """One organization's attempts in time order: sort keys and scoring rows, side by side.

    Attempts usually arrive in time order and are appended; one out of order marks the
    timeline for a sort at the next read.
    """

    def __init__(self) -> None:
        self.keys: list[tuple[datetime, str]] = []
        self.rows: list[tuple[str, str, float, str]] = []
        self._items: dict[str, str] = {}
        self._sorted = True

    def add(self, a: AssessmentAttempt) -> None:
        key = (a.submitted_at, a.id)
        if self.keys and key < self.keys[-1]:
            self._sorted = False
        self.keys.append(key)
        learner_id, item, grade, attempt_id = _scoring_row(a)
        item = self._items.setdefault(item, item)  # one string per assessment, not per row
        self.rows.append((learner_id, item, grade, attempt_id))

    def settle(self) -> None:
        """Sort, if an attempt came out of order."""
        if not self._sorted:
            order = sorted(range(len(self.keys)), key=self.keys.__getitem__)
            self.keys = [self.keys[i] for i in order]
            self.rows = [self.rows[i] for i in order]
            self._sorted = True

    def after(self, cursor: tuple[datetime, str] | None) -> int:
        """The position of the first attempt after ``cursor`` (0 for ``None``)."""
        return 0 if cursor is None else bisect.bisect_right(self.keys, cursor)


class InMemoryActivityRepository(ports.ActivityRepository):
    """Raw learning records in memory, over two tables of the unit of work."""

    def __init__(self, uow: InMemoryUnitOfWork) -> None:
        self._events = uow.learning_events
        self._attempts = uow.assessment_attempts

    def add_events(self, organization_id: str, events: Sequence[LearningEvent]) -> frozenset[str]:
        return self._events._add_new(organization_id, events)

    def add_attempts(
        self, organization_id: str, attempts: Sequence[AssessmentAttempt]
    ) -> frozenset[str]:
        return self._attempts._add_new(organization_id, attempts)

    def events_for(
        self, learner_ids: Sequence[str], course_ids: Sequence[str]
    ) -> Sequence[LearningEvent]:
        pairs = [(lr, c) for lr in dict.fromkeys(learner_ids) for c in dict.fromkeys(course_ids)]
        found = [
            e
            for pair in pairs
            for e in self._events._select_by("learner and course", pair, lambda e: True, _at)
        ]
        return sorted(found, key=lambda e: (e.learner_id, e.course_id, e.at, e.id))

    def attempts_for(
        self, learner_ids: Sequence[str], course_ids: Sequence[str]
    ) -> Sequence[AssessmentAttempt]:
        pairs = [(lr, c) for lr in dict.fromkeys(learner_ids) for c in dict.fromkeys(course_ids)]
        found = [
            a
            for pair in pairs
            for a in self._attempts._select_by("learner and course", pair, lambda a: True, _at)
        ]
        return sorted(found, key=lambda a: (a.learner_id, a.course_id, a.submitted_at, a.id))

    def attempts_for_course(self, course_id: str) -> Sequence[AssessmentAttempt]:
        return self._attempts._select_by(
            "course", course_id, lambda a: True, lambda a: (a.learner_id, a.submitted_at, a.id)
        )


def _at(record: LearningEvent | AssessmentAttempt) -> Any:
    return (record.at, record.id) if isinstance(record, LearningEvent) else record.submitted_at


class InMemoryDayTable(_Table[DailyActivity]):
    """Daily learning buckets in memory, keyed by enrollment and day."""

    kind, name = "enrollment day", "enrollment_days"
    lookups = (("enrollment", lambda d: d.enrollment_id),)

    def _key(self, record: DailyActivity) -> Hashable:
        return (record.enrollment_id, record.day)


class InMemoryImportedTable(_Table[ImportedFigures]):
    """Imported enrollment figures in memory, keyed by enrollment."""

    kind, name = "imported figures", "imported_figures"

    def _key(self, record: ImportedFigures) -> Hashable:
        return record.enrollment_id


class InMemoryTallyTable(_Table[ActivityTally]):
    """Course enrollments' running figures in memory, keyed by enrollment."""

    kind, name = "activity tally", "activity_tallies"

    def _key(self, record: ActivityTally) -> Hashable:
        return record.enrollment_id


class InMemoryProgressRepository(_Table[EnrollmentProgress], ports.ProgressRepository):
    """Derived enrollment figures in memory; the members list is computed by the model rules."""

    kind, name = "enrollment progress", "enrollment_progress"

    def _key(self, record: EnrollmentProgress) -> Hashable:
        return record.enrollment_id

    def put_many(self, figures: Sequence[EnrollmentProgress]) -> None:
        self._uow.check_open()
        for record in figures:
            self._uow.enrollments.get(record.enrollment_id)  # like the SQL foreign key
            self._stage(record.enrollment_id, record)

    def get_many(self, enrollment_ids: Sequence[str]) -> Mapping[str, EnrollmentProgress]:
        found = {i: self._find(i) for i in enrollment_ids}
        return {k: v for k, v in found.items() if v is not None}

    def put_days(self, enrollment_ids: Sequence[str], days: Sequence[DailyActivity]) -> None:
        self._uow.check_open()
        wanted = set(enrollment_ids)
        for day in days:
            if day.enrollment_id not in wanted:
                raise StorageError(f"day of enrollment {day.enrollment_id!r} not in the batch")
        table = self._uow.enrollment_days
        for enrollment_id in wanted:
            self._uow.enrollments.get(enrollment_id)  # like the SQL foreign key
            for old in table._select_by("enrollment", enrollment_id, lambda d: True, _day_key):
                table._stage(table._key(old), _DELETED)
        for day in days:
            table._stage(table._key(day), day)

    def put_days_since(self, since: Mapping[str, date], days: Sequence[DailyActivity]) -> None:
        self._uow.check_open()
        for day in days:
            first = since.get(day.enrollment_id)
            if first is None or day.day < first:
                raise StorageError(
                    f"day {day.day} of enrollment {day.enrollment_id!r} is not in the batch"
                )
        table = self._uow.enrollment_days
        for enrollment_id, first in since.items():
            self._uow.enrollments.get(enrollment_id)  # like the SQL foreign key
            for old in table._select_by("enrollment", enrollment_id, lambda d: True, _day_key):
                if old.day >= first:
                    table._stage(table._key(old), _DELETED)
        for day in days:
            table._stage(table._key(day), day)

    def put_tallies(self, tallies: Sequence[ActivityTally]) -> None:
        self._uow.check_open()
        for tally in tallies:
            self._uow.enrollments.get(tally.enrollment_id)  # like the SQL foreign key
            self._uow.activity_tallies._stage(tally.enrollment_id, tally)

    def get_tallies(self, enrollment_ids: Sequence[str]) -> Mapping[str, ActivityTally]:
        table = self._uow.activity_tallies
        found = {i: table._find(i) for i in enrollment_ids}
        return {k: v for k, v in found.items() if v is not None}

    def get_days(self, enrollment_ids: Sequence[str]) -> Sequence[DailyActivity]:
        table = self._uow.enrollment_days
        return [
            d
            for i in sorted(set(enrollment_ids))
            for d in table._select_by("enrollment", i, lambda d: True, _day_key)
        ]

    def put_imported(self, figures: Sequence[ImportedFigures]) -> None:
        self._uow.check_open()
        for record in figures:
            self._uow.enrollments.get(record.enrollment_id)  # like the SQL foreign key
            self._uow.imported_figures._stage(record.enrollment_id, record)

    def get_imported(self, enrollment_ids: Sequence[str]) -> Mapping[str, ImportedFigures]:
        table = self._uow.imported_figures
        found = {i: table._find(i) for i in enrollment_ids}
        return {k: v for k, v in found.items() if v is not None}

    def member_page(self, query: MemberQuery, now: datetime) -> MemberPage:
        uow = self._uow
        enrollments: dict[str, list[Enrollment]] = {}
        for e in uow.enrollments.list_for_program(query.program_id):
            if e.kind is EntryKind.COURSE:
                enrollments.setdefault(e.learner_id, []).append(e)
        rows = []
        for membership in uow.memberships.list_for_program(query.program_id):
            learner = uow.learners.get(membership.learner_id)
            if query.state is not None and membership.state is not query.state:
                continue
            if query.contract_id is not None and membership.contract_id != query.contract_id:
                continue
            if query.search is not None and query.search not in learner.search_key:
                continue
            mine = enrollments.get(learner.id, [])
            figures = self.get_many([e.id for e in mine])
            current = [figures.get(e.id, EnrollmentProgress(e.id)) for e in mine if e.is_current]
            last = max(
                (f.last_activity_at for f in figures.values() if f.last_activity_at), default=None
            )
            status = member_status(membership, current, last, now)
            if query.status is not None and not query.status.matches(membership, status):
                continue
            rows.append(MemberRow(learner, membership, status))
        rows.sort(key=lambda r: _member_sort_key(r, query.order), reverse=query.descending)
        rows.sort(key=lambda r: _member_missing(r, query.order))  # missing values last
        page = rows[query.offset : query.offset + query.limit]
        return MemberPage(tuple(page), len(rows), query)


def _day_key(day: DailyActivity) -> Any:
    return day.day


def _member_value(row: MemberRow, order: MemberOrder) -> Any:
    if order is MemberOrder.EMAIL:
        return row.learner.email.key
    if order is MemberOrder.INVITED_AT:
        return row.membership.invited_at
    if order is MemberOrder.JOINED_AT:
        return row.membership.joined_at
    if order is MemberOrder.LAST_ACTIVITY:
        return row.status.last_activity_at
    if order is MemberOrder.ENROLLMENTS:
        return row.status.enrollments
    return row.learner.search_key


def _member_sort_key(row: MemberRow, order: MemberOrder) -> tuple[Any, ...]:
    value = _member_value(row, order)
    name = row.learner.search_key
    return (0 if value is None else 1, value if value is not None else 0, name, row.learner.id)


def _member_missing(row: MemberRow, order: MemberOrder) -> bool:
    return _member_value(row, order) is None


class InMemoryFeedbackRepository(_Table[Feedback], ports.FeedbackRepository):
    """Course ratings in memory; one per learner, course and program."""

    kind, name = "feedback", "feedback"
    uniques = (("rating", lambda f: (f.learner_id, f.course_id, f.program_id)),)

    def put(self, feedback: Feedback) -> None:
        earlier = self._lookup(
            "rating", (feedback.learner_id, feedback.course_id, feedback.program_id)
        )
        if earlier is not None:
            self._stage(earlier.id, _DELETED)
        self._insert(feedback)

    def list_for_course(self, course_id: str) -> Sequence[Feedback]:
        return self._select(lambda f: f.course_id == course_id, lambda f: (f.at, f.id))[::-1]

    def rating_summary(
        self, *, course_id: str | None = None, program_id: str | None = None
    ) -> tuple[float | None, int]:
        ratings = [
            f.rating
            for f in self._select(
                lambda f: (
                    (course_id is None or f.course_id == course_id)
                    and (program_id is None or f.program_id == program_id)
                ),
                lambda f: f.id,
            )
        ]
        return (sum(ratings) / len(ratings) if ratings else None, len(ratings))


class InMemoryRecipientTable(_Table[MessageRecipient]):
    """Message recipients in memory."""

    kind, name = "message recipient", "message_recipients"
    lookups = (("message", lambda r: r.message_id), ("program", lambda r: r.program_id))

    def _key(self, record: MessageRecipient) -> Hashable:
        return (record.message_id, record.learner_id)


class InMemoryMessageRepository(_Table[SentMessage], ports.MessageRepository):
    """Sent messages in memory; audiences resolved by the model's rules."""

    kind, name = "message", "messages"
    uniques = (("idempotency key", lambda m: (m.organization_id, m.idempotency_key)),)

    def add(self, message: SentMessage) -> None:
        self._insert(message)

    def update(self, message: SentMessage) -> None:
        self._replace(message)

    def get(self, message_id: str) -> SentMessage:
        return self._get(message_id)

    def find_by_key(self, organization_id: str, idempotency_key: str) -> SentMessage | None:
        return self._lookup("idempotency key", (organization_id, idempotency_key))

    def list_for_organization(
        self,
        organization_id: str,
        *,
        program_ids: Sequence[str] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> Sequence[SentMessage]:
        wanted = None
        if program_ids is not None:
            table = self._uow.message_recipients
            wanted = {
                r.message_id
                for p in program_ids
                for r in table._select_by("program", p, lambda r: True, lambda r: r.learner_id)
            }
        found = self._select(
            lambda m: m.organization_id == organization_id and (wanted is None or m.id in wanted),
            lambda m: (m.sent_at, m.id),
        )[::-1]
        return found[offset : offset + limit]

    def add_recipients(self, recipients: Sequence[MessageRecipient]) -> None:
        for recipient in recipients:
            self.get(recipient.message_id)  # like the SQL foreign key
        self._uow.message_recipients._insert_many(recipients)

    def recipients(self, message_id: str) -> Sequence[MessageRecipient]:
        return self._uow.message_recipients._select_by(
            "message", message_id, lambda r: True, lambda r: r.learner_id
        )

    def recipient_counts(
        self, message_ids: Sequence[str], program_ids: Sequence[str]
    ) -> Mapping[str, Mapping[RecipientSkip | None, int]]:
        wanted = set(program_ids)
        counts: dict[str, dict[RecipientSkip | None, int]] = {}
        for message_id in dict.fromkeys(message_ids):
            for r in self.recipients(message_id):
                if r.program_id in wanted:
                    per = counts.setdefault(message_id, {})
                    per[r.skipped] = per.get(r.skipped, 0) + 1
        return counts

    def resolve(
        self,
        organization_id: str,
        audience: Audience,
        filters: AudienceFilter,
        program_scope: Sequence[str] | None,
        now: datetime,
    ) -> Sequence[AudienceMember]:
        uow = self._uow
        scope = None if program_scope is None else set(program_scope)
        programs = [
            p.id
            for p in uow.programs.list_for_organization(organization_id)
            if (scope is None or p.id in scope)
            and (not filters.program_ids or p.id in filters.program_ids)
        ]
        found = []
        for program_id in programs:
            enrollments: dict[str, list[Enrollment]] = {}
            for e in uow.enrollments.list_for_program(program_id):
                enrollments.setdefault(e.learner_id, []).append(e)
            for m in uow.memberships.list_for_program(program_id):
                if filters.contract_ids and m.contract_id not in filters.contract_ids:
                    continue
                if filters.learner_ids and m.learner_id not in filters.learner_ids:
                    continue
                mine = enrollments.get(m.learner_id, [])
                if filters.target_ids and not any(
                    e.is_current and e.target_id in filters.target_ids for e in mine
                ):
                    continue
                courses = [e for e in mine if e.kind is EntryKind.COURSE]
                figures = uow.progress.get_many([e.id for e in courses])
                current = [
                    figures.get(e.id, EnrollmentProgress(e.id)) for e in courses if e.is_current
                ]
                last = max(
                    (f.last_activity_at for f in figures.values() if f.last_activity_at),
                    default=None,
                )
                specs = sum(1 for e in mine if e.kind is not EntryKind.COURSE and e.is_current)
                opted = MessageCategory.ADMIN in uow.email_preferences.opt_outs(m.learner_id)
                inside = audience.includes(m, current, specs, last, now)
                found.append(AudienceMember(m.learner_id, m.program_id, m.state, opted, inside))
        return sorted(found, key=lambda a: (a.learner_id, a.program_id))


class _ScheduledReportTable(_Table[ScheduledReportRecord]):
    kind, name = "scheduled report", "scheduled_reports"
    lookups = (("day", lambda r: (r.organization_id, r.local_day)),)

    def _key(self, record: ScheduledReportRecord) -> Hashable:
        return (record.organization_id, record.learner_id, record.local_day)


class InMemoryReportRepository(ports.ReportRepository):
    """Report records in memory, built with the model's rules."""

    def __init__(self, uow: InMemoryUnitOfWork) -> None:
        self._uow = uow
        self._scheduled = _ScheduledReportTable(uow)

    def tables(self) -> list[_Table[Any]]:
        """The tables the unit of work commits."""
        return [self._scheduled]

    def _programs(self, program_ids: Sequence[str]) -> list[Program]:
        found = [self._uow.programs.get(p) for p in dict.fromkeys(program_ids)]
        return sorted(found, key=lambda p: (p.slug.value, p.id))

    def _enrollment_rows(
        self, program_ids: Sequence[str], kind: EntryKind
    ) -> Iterator[tuple[Program, Enrollment, Membership, Learner, EnrollmentProgress, str | None]]:
        uow = self._uow
        for program in self._programs(program_ids):
            rows = []
            for e in uow.enrollments.list_for_program(program.id):
                if e.kind is not kind or not e.is_current:
                    continue
                learner = uow.learners.get(e.learner_id)
                membership = uow.memberships.find(program.id, e.learner_id)
                assert membership is not None  # an enrollment needs a membership
                figures = uow.progress.get_many([e.id]).get(e.id, EnrollmentProgress(e.id))
                source = None
                if e.source_collection_id is not None:
                    found = uow.collections._find(e.source_collection_id)
                    source = None if found is None else found.name
                rows.append((program, e, membership, learner, figures, source))
            rows.sort(key=lambda r: (r[3].email.key, r[1].target_id, r[1].id))
            yield from rows

    def usage(self, program_ids: Sequence[str]) -> Iterator[UsageRecord]:
        uow = self._uow
        for program, e, m, learner, figures, source in self._enrollment_rows(
            program_ids, EntryKind.COURSE
        ):
            course = uow.courses.get(e.target_id)
            yield UsageRecord(
                learner, course.name, course.course_id, course.slug, course.partner,
                e.enrolled_at, course.class_start, figures,
                m.state is not MemberState.MEMBER, program.slug.value, program.name, source,
                uow.contracts.get(e.contract_id).name,
            )  # fmt: skip

    def specializations(self, program_ids: Sequence[str]) -> Iterator[SpecializationRecord]:
        uow = self._uow
        for program, e, m, learner, figures, source in self._enrollment_rows(
            program_ids, EntryKind.SPECIALIZATION
        ):
            spec = uow.specializations.get(e.target_id)
            yield SpecializationRecord(
                learner, spec.name, spec.slug, spec.partner, e.enrolled_at, figures,
                m.state is not MemberState.MEMBER, program.slug.value, program.name, source,
                uow.contracts.get(e.contract_id).name,
            )  # fmt: skip

    def memberships(self, program_ids: Sequence[str]) -> Iterator[MembershipRecord]:
        uow = self._uow
        for program in self._programs(program_ids):
            rows = []
            courses: dict[str, list[Enrollment]] = {}
            for e in uow.enrollments.list_for_program(program.id):
                if e.kind is EntryKind.COURSE:
                    courses.setdefault(e.learner_id, []).append(e)
            for m in uow.memberships.list_for_program(program.id):
                mine = courses.get(m.learner_id, [])
                figures = uow.progress.get_many([e.id for e in mine])
                current = [
                    figures.get(e.id, EnrollmentProgress(e.id)) for e in mine if e.is_current
                ]
                last = max(
                    (f.last_activity_at for f in figures.values() if f.last_activity_at),
                    default=None,
                )
                rows.append(
                    MembershipRecord(
                        uow.learners.get(m.learner_id),
                        program.name,
                        program.slug.value,
                        len(current),
                        sum(1 for f in current if f.completed),
                        m.state,
                        m.joined_at,
                        m.invited_at,
                        last,
                        uow.contracts.get(m.contract_id).name,
                    )
                )
            rows.sort(key=lambda r: (r.learner.email.key, r.learner.id))
            yield from rows

    def usage_values(self, program_ids: Sequence[str]) -> Iterator[ReportValues]:
        return (r.values() for r in self.usage(program_ids))

    def membership_values(self, program_ids: Sequence[str]) -> Iterator[ReportValues]:
        return (r.values() for r in self.memberships(program_ids))

    def specialization_values(self, program_ids: Sequence[str]) -> Iterator[ReportValues]:
        return (r.values() for r in self.specializations(program_ids))

    def email_figures(self, program_ids: Sequence[str], now: datetime) -> EmailReportFigures:
        uow = self._uow
        memberships = [m for p in program_ids for m in uow.memberships.list_for_program(p)]
        enrollments = [e for p in program_ids for e in uow.enrollments.list_for_program(p)]
        figures = uow.progress.get_many([e.id for e in enrollments])
        people = uow.learners.get_many(sorted({m.learner_id for m in memberships}))
        verified = {i for i, person in people.items() if person.identity_verified}
        return email_figures(memberships, enrollments, figures, verified, now)

    def course_learners(
        self, course_id: str, program_ids: Sequence[str]
    ) -> Sequence[tuple[Learner, Enrollment]]:
        uow = self._uow
        found = [
            (uow.learners.get(e.learner_id), e)
            for p in dict.fromkeys(program_ids)
            for e in uow.enrollments.list_for_program(p)
            if e.target_id == course_id and e.kind is EntryKind.COURSE and e.is_current
        ]
        return sorted(found, key=lambda r: (r[0].email.key, r[0].id))

    def activity_totals(self, program_ids: Sequence[str], now: datetime) -> ActivityTotals:
        uow = self._uow
        enrollments = [
            e for p in dict.fromkeys(program_ids) for e in uow.enrollments.list_for_program(p)
        ]
        ids = [e.id for e in enrollments]
        return activity_totals(
            enrollments, uow.progress.get_many(ids), uow.progress.get_days(ids), now
        )

    def funnel(self, program_ids: Sequence[str], now: datetime) -> UsageFunnel:
        uow = self._uow
        programs = list(dict.fromkeys(program_ids))
        memberships = [m for p in programs for m in uow.memberships.list_for_program(p)]
        enrollments = [e for p in programs for e in uow.enrollments.list_for_program(p)]
        return usage_funnel(memberships, enrollments, now)

    def _scoped_enrollments(self, scope: AnalyticsScope) -> list[Enrollment]:
        uow = self._uow
        return [e for p in scope.program_ids for e in uow.enrollments.list_for_program(p)]

    def learner_activity(self, scope: AnalyticsScope) -> LearnerActivity:
        enrollments = self._scoped_enrollments(scope)
        figures = self._uow.progress.get_many([e.id for e in enrollments])
        return learner_activity(activity_days(enrollments, figures, scope))

    def learner_feedback(self, scope: AnalyticsScope) -> LearnerFeedback:
        uow = self._uow
        programs = set(scope.program_ids)
        ratings = uow.feedback._select(lambda f: f.program_id in programs, lambda f: f.id)
        contract_of = {
            (m.program_id, m.learner_id): m.contract_id
            for p in scope.program_ids
            for m in uow.memberships.list_for_program(p)
        }
        return learner_feedback(ratings, contract_of, scope)

    def utilization(self, scope: AnalyticsScope) -> Utilization:
        uow = self._uow
        return utilization(
            uow.contracts.list_for_organization(scope.organization_id),
            [m for p in scope.program_ids for m in uow.memberships.list_for_program(p)],
            self._scoped_enrollments(scope),
            scope,
        )

    def scheduled_sent(self, organization_id: str, local_day: date) -> frozenset[str]:
        found = self._scheduled._select_by(
            "day", (organization_id, local_day), lambda r: True, lambda r: r.learner_id
        )
        return frozenset(r.learner_id for r in found)

    def add_scheduled(self, record: ScheduledReportRecord) -> None:
        self._scheduled._insert(record)


class _MarkTable(_Table[ScoringMark]):
    kind, name = "scoring mark", "skill_scoring"

    def _key(self, record: ScoringMark) -> Hashable:
        return record.organization_id


class _RatingTable(_Table[SkillRating]):
    kind, name = "skill rating", "skill_ratings"
    lookups = (("organization", lambda r: r.organization_id),)

    def _key(self, record: SkillRating) -> Hashable:
        return (record.learner_id, record.skill_id)


class _DifficultyTable(_Table[ItemDifficulty]):
    kind, name = "item difficulty", "item_difficulties"
    lookups = (("organization", lambda r: r.organization_id),)

    def _key(self, record: ItemDifficulty) -> Hashable:
        return (record.course_id, record.assessment_id)


class InMemorySkillRatingRepository(ports.SkillRatingRepository):
    """Skill ratings in memory."""

    def __init__(self, uow: InMemoryUnitOfWork) -> None:
        self._uow = uow
        self._marks = _MarkTable(uow)
        self._ratings = _RatingTable(uow)
        self._difficulties = _DifficultyTable(uow)

    def tables(self) -> list[_Table[Any]]:
        """The tables the unit of work commits."""
        return [self._marks, self._ratings, self._difficulties]

    def lock_scoring(self, organization_id: str) -> None:
        self._uow.check_open()  # units of work run one at a time: nothing else to hold

    def mark(self, organization_id: str) -> ScoringMark:
        return self._marks._find(organization_id) or ScoringMark(organization_id)

    def set_mark(self, mark: ScoringMark) -> None:
        self._uow.check_open()
        self._marks._stage(mark.organization_id, mark)

    def ratings(
        self, organization_id: str, skill_ids: Sequence[str] | None = None
    ) -> Sequence[SkillRating]:
        wanted = None if skill_ids is None else set(skill_ids)
        return self._ratings._select_by(
            "organization",
            organization_id,
            lambda r: wanted is None or r.skill_id in wanted,
            lambda r: (r.skill_id, r.learner_id),
        )

    def difficulties(self, organization_id: str) -> Sequence[ItemDifficulty]:
        return self._difficulties._select_by(
            "organization",
            organization_id,
            lambda d: True,
            lambda d: (d.course_id, d.assessment_id),
        )

    def replace(
        self,
        organization_id: str,
        ratings: Sequence[SkillRating],
        difficulties: Sequence[ItemDifficulty],
    ) -> None:
        for old in self.ratings(organization_id):
            self._ratings._stage((old.learner_id, old.skill_id), _DELETED)
        for old_d in self.difficulties(organization_id):
            self._difficulties._stage((old_d.course_id, old_d.assessment_id), _DELETED)
        for r in ratings:
            self._uow.learners.get(r.learner_id)  # like the SQL foreign keys
            self._ratings._stage((r.learner_id, r.skill_id), r)
        for d in difficulties:
            self._difficulties._stage((d.course_id, d.assessment_id), d)

    def _org_attempts(self, organization_id: str) -> list[AssessmentAttempt]:
        table = self._uow.assessment_attempts
        table._uow.check_open()
        if table._staged():  # writes of this unit of work overlay the committed records
            found = [
                record
                for key, record in table._items()
                if isinstance(key, tuple) and key[0] == organization_id
            ]
        else:  # nothing staged: one pass over the committed records, keyed (organization, ID)
            committed = cast(dict[tuple[str, str], AssessmentAttempt], table._committed())
            found = [r for k, r in committed.items() if k[0] == organization_id]
        found.sort(key=attrgetter("id"))  # then a stable sort by time: (submitted_at, id)
        found.sort(key=attrgetter("submitted_at"))
        return found

    def attempts_after(
        self, organization_id: str, after: tuple[datetime, str] | None
    ) -> Iterator[AttemptRow]:
        for a in self._org_attempts(organization_id):
            if after is None or (a.submitted_at, a.id) > after:
                yield AttemptRow(
                    a.learner_id, a.course_id, a.assessment_id, a.grade, a.submitted_at, a.id
                )

    def scoring_rows(
        self, organization_id: str, after: tuple[datetime, str] | None
    ) -> Iterator[tuple[str, str, float, str]]:
        timeline = self._uow.assessment_attempts.timeline(organization_id)
        if timeline is not None:  # nothing staged: the committed rows, already in time order
            return itertools.islice(timeline.rows, timeline.after(after), None)
        return self._staged_scoring_rows(organization_id, after)

    def _staged_scoring_rows(
        self, organization_id: str, after: tuple[datetime, str] | None
    ) -> Iterator[tuple[str, str, float, str]]:
        found = self._org_attempts(organization_id)
        if after is not None:  # incremental scoring: few rows, each compared with the cursor
            found = [a for a in found if (a.submitted_at, a.id) > after]
        for a in found:
            yield _scoring_row(a)

    def attempt_times(self, organization_id: str, ids: Sequence[str]) -> Mapping[str, datetime]:
        table = self._uow.assessment_attempts  # keyed (organization, ID): no scan
        found = (table._find((organization_id, attempt_id)) for attempt_id in set(ids))
        return {a.id: a.submitted_at for a in found if a is not None}

    def count_attempts_until(self, organization_id: str, until: tuple[datetime, str]) -> int:
        timeline = self._uow.assessment_attempts.timeline(organization_id)
        if timeline is not None:
            return timeline.after(until)
        return sum(
            1 for a in self._org_attempts(organization_id) if (a.submitted_at, a.id) <= until
        )

    def completed_assessments(self, organization_id: str) -> Sequence[tuple[str, str, str]]:
        return sorted(
            {
                (a.learner_id, a.course_id, a.assessment_id)
                for a in self._org_attempts(organization_id)
            }
        )


class InMemoryUnitOfWork(ports.UnitOfWork):
    """A unit of work over an :class:`InMemoryStore`.

    Args:
        store: the shared store.
    """

    def __init__(self, store: InMemoryStore) -> None:
        self.store = store
        self.staged: dict[str, dict[Hashable, Any]] = {}
        self.staged_indexes: dict[tuple[str, str], dict[Hashable, Hashable]] = {}
        self.staged_lookups: dict[tuple[str, str], dict[Hashable, set[Hashable]]] = {}
        self._open = False
        self.organizations = InMemoryOrganizationRepository(self)
        self.programs = InMemoryProgramRepository(self)
        self.contracts = InMemoryContractRepository(self)
        self.learners = InMemoryLearnerRepository(self)
        self.memberships = InMemoryMembershipRepository(self)
        self.admins = InMemoryAdminRepository(self)
        self.courses = InMemoryCourseRepository(self)
        self.specializations = InMemorySpecializationRepository(self)
        self.collections = InMemoryCollectionRepository(self)
        self.skills = InMemorySkillRepository(self)
        self.audit = InMemoryAuditRepository(self)
        self.outbox = InMemoryOutboxRepository(self)
        self.deliveries = InMemoryDeliveryRepository(self)
        self.email_preferences = InMemoryEmailPreferenceRepository(self)
        self.enrollments = InMemoryEnrollmentRepository(self)
        self.learning_events = InMemoryEventTable(self)
        self.assessment_attempts = InMemoryAttemptTable(self)
        self.activity = InMemoryActivityRepository(self)
        self.enrollment_days = InMemoryDayTable(self)
        self.imported_figures = InMemoryImportedTable(self)
        self.activity_tallies = InMemoryTallyTable(self)
        self.progress = InMemoryProgressRepository(self)
        self.feedback = InMemoryFeedbackRepository(self)
        self.message_recipients = InMemoryRecipientTable(self)
        self.messages = InMemoryMessageRepository(self)
        self.reports = InMemoryReportRepository(self)
        self.skill_ratings = InMemorySkillRatingRepository(self)

    def check_open(self) -> None:
        """Raise unless inside the ``with`` block.

        Raises:
            StorageError: the unit of work is used outside ``with``.
        """
        if not self._open:
            raise StorageError("use the unit of work inside 'with uow:'")

    def __enter__(self) -> Self:
        if self._open:
            raise StorageError("this unit of work is already open")
        if self.store.owner == threading.get_ident():
            raise StorageError(
                "this thread already has a unit of work open on this store; finish it first "
                "(units of work do not nest; a dry run holds one until its results are all "
                "taken or it is closed)"
            )
        self.store.lock.acquire()
        self.store.owner = threading.get_ident()
        self.rollback()
        self._open = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._open:
            return
        try:
            self.rollback()
        finally:
            self._open = False
            self.store.owner = None
            self.store.lock.release()

    def commit(self) -> None:
        """Apply the staged writes to the shared store."""
        self.check_open()
        for table in self._tables():
            table.commit_staged()
        self.rollback()

    def _tables(self) -> list[_Table[Any]]:
        found = [value for value in vars(self).values() if isinstance(value, _Table)]
        found += self.reports.tables()
        return found + self.skill_ratings.tables()

    def rollback(self) -> None:
        """Discard the staged writes."""
        self.staged = {}
        self.staged_indexes = {}
        self.staged_lookups = {}
