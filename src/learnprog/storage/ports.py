"""Storage ports: one repository Protocol per aggregate, and the UnitOfWork that holds them.

Adapters subclass these Protocols explicitly so ``mypy --strict`` checks their signatures
(:mod:`learnprog.storage.memory`, :mod:`learnprog.storage.sql`). Repositories never commit; the
service that opened the unit of work does::

    with uow_factory() as uow:
        uow.programs.add(program)
        uow.commit()            # leaving the block without commit rolls back

Every method raises only learnprog errors: :class:`~learnprog.errors.NotFoundError` for a missing
record, :class:`~learnprog.errors.ConflictError` for a duplicate key, and
:class:`~learnprog.errors.StorageError` for a backend failure. A write that fails leaves the unit
of work as it was before that write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime
from types import TracebackType
from typing import Protocol, Self

from learnprog.model._rules import whole_number
from learnprog.model.access import AdminGrant
from learnprog.model.activity import AssessmentAttempt, Enrollment, Feedback, LearningEvent
from learnprog.model.analytics import AnalyticsScope, LearnerActivity, LearnerFeedback, Utilization
from learnprog.model.audit import AuditEntry
from learnprog.model.catalog import Collection, Course, Skill, Specialization
from learnprog.model.learner import Learner, Membership
from learnprog.model.mail import DeliveryAttempt, EmailOptOut, MessageCategory, OutboxEntry
from learnprog.model.messaging import (
    Audience,
    AudienceFilter,
    AudienceMember,
    MessageRecipient,
    RecipientSkip,
    SentMessage,
)
from learnprog.model.organization import Contract, Organization, Program
from learnprog.model.progress import (
    DailyActivity,
    EnrollmentProgress,
    ImportedFigures,
    MemberPage,
    MemberQuery,
)
from learnprog.model.reporting import (
    ActivityTotals,
    EmailReportFigures,
    MembershipRecord,
    ReportValues,
    SpecializationRecord,
    UsageFunnel,
    UsageRecord,
)
from learnprog.model.schedules import ScheduledReportRecord
from learnprog.model.skills import AttemptRow, ItemDifficulty, ScoringMark, SkillRating
from learnprog.model.tally import ActivityTally


class OrganizationRepository(Protocol):
    """Organizations."""

    def add(self, organization: Organization) -> None:
        """Store a new organization."""
        ...

    def get(self, organization_id: str) -> Organization:
        """Return the organization. Raises NotFoundError."""
        ...

    def update(self, organization: Organization) -> None:
        """Replace a stored organization. Raises NotFoundError."""
        ...

    def list(self) -> Sequence[Organization]:
        """Return every organization, by name."""
        ...

    def lock(self, organization_id: str) -> None:
        """Hold the organization until the unit of work ends: changes of its admins take turns.

        As :meth:`ProgramRepository.lock` does for a program's curriculum.

        Adding the first organization admin and removing one but the last read the admins and
        then write; two at once would both pass the check (two first admins, or none left).
        SQL: ``SELECT ... FOR UPDATE`` of the organization's row; call it first in the unit of
        work. Memory and SQLite run one writing unit of work at a time: nothing to do.
        """
        ...


class ProgramRepository(Protocol):
    """Programs; the slug is unique across the store."""

    def add(self, program: Program) -> None:
        """Store a new program. Raises ConflictError when the slug is taken."""
        ...

    def get(self, program_id: str) -> Program:
        """Return the program. Raises NotFoundError."""
        ...

    def find_by_slug(self, slug: str) -> Program | None:
        """Return the program with this URL slug, or None."""
        ...

    def update(self, program: Program) -> None:
        """Replace a stored program. Raises NotFoundError."""
        ...

    def list_for_organization(self, organization_id: str) -> Sequence[Program]:
        """Return the organization's programs (removed ones too), by creation time."""
        ...

    def lock(self, program_id: str) -> None:
        """Hold the program until the unit of work ends, so that changes of it take turns.

        Changes of a program's curriculum read its collections and write them back; two at
        once would each write over the other's change. A unit of work that holds the program
        waits for another that holds it to end, then reads what that one committed. Call it
        first in the unit of work (on MariaDB, whose reads see the data as of the unit of
        work's first read). SQL: ``SELECT ... FOR UPDATE`` of the program's row (SQLite, and
        the in-memory store, run one writing unit of work at a time anyway: nothing to do).
        A missing program holds nothing; the next read of it finds it missing.
        """
        ...


class ContractRepository(Protocol):
    """Contracts and their license or enrollment counters."""

    def add(self, contract: Contract) -> None:
        """Store a new contract."""
        ...

    def get(self, contract_id: str) -> Contract:
        """Return the contract. Raises NotFoundError."""
        ...

    def update(self, contract: Contract) -> None:
        """Replace a stored contract's terms (not its ``used`` counter). Raises NotFoundError."""
        ...

    def list_for_organization(self, organization_id: str) -> Sequence[Contract]:
        """Return the organization's contracts, by start date."""
        ...

    def take(self, contract_id: str, count: int = 1) -> bool:
        """Use ``count`` licenses or enrollments if that many are left.

        Atomic in the database (a conditional update): of concurrent callers only as many
        succeed as there are units left. An unlimited contract always succeeds.

        Returns:
            True when taken, False when too few are left (nothing changes then).
        """
        ...

    def release(self, contract_id: str, count: int = 1) -> None:
        """Give back ``count`` licenses or enrollments (never below 0)."""
        ...


class LearnerRepository(Protocol):
    """Learner accounts; the email key is unique per organization."""

    def add(self, learner: Learner) -> None:
        """Store a new learner. Raises ConflictError when the email key is taken."""
        ...

    def get(self, learner_id: str) -> Learner:
        """Return the learner. Raises NotFoundError."""
        ...

    def get_many(self, learner_ids: Sequence[str]) -> Mapping[str, Learner]:
        """Return the learners of those IDs that exist, by ID."""
        ...

    def update(self, learner: Learner) -> None:
        """Replace a stored learner. Raises NotFoundError or ConflictError (email taken)."""
        ...

    def find_by_email(self, organization_id: str, email_key: str) -> Learner | None:
        """Return the learner whose key (:func:`learnprog.model.identity.email_key`) is this."""
        ...

    def find_by_emails(
        self, organization_id: str, email_keys: Sequence[str]
    ) -> Mapping[str, Learner]:
        """Return the learners with these email keys (at most 1,000), by key; one query."""
        ...

    def add_many(self, learners: Sequence[Learner]) -> None:
        """Store new learners in one batch; a taken email key: ConflictError, nothing stored."""
        ...

    def find_by_external_id(self, organization_id: str, external_id: str) -> Sequence[Learner]:
        """Return the learners with this external ID (exact match), by name."""
        ...

    def list_for_organization(self, organization_id: str) -> Sequence[Learner]:
        """Return the organization's learners, by name then email."""
        ...


class MembershipRepository(Protocol):
    """Memberships: one per program and learner."""

    def add(self, membership: Membership) -> None:
        """Store a new membership. Raises ConflictError when (program, learner) exists."""
        ...

    def get(self, membership_id: str) -> Membership:
        """Return the membership. Raises NotFoundError."""
        ...

    def update(self, membership: Membership, *, expected: Membership | None = None) -> None:
        """Replace a stored membership.

        With ``expected`` (the membership as it was read before the change), the write is a
        compare-and-set: it happens only while the stored lifecycle fields
        (:data:`~learnprog.model.learner.MEMBERSHIP_LIFECYCLE`) are still ``expected``'s,
        checked by the storage in the write itself, so two units of work that read the same
        INVITED membership cannot both accept it (and take two licenses).

        Raises:
            NotFoundError: no such membership.
            StaleDataError: with ``expected``: another unit of work changed it in between.
        """
        ...

    def find(self, program_id: str, learner_id: str) -> Membership | None:
        """Return the learner's membership in the program, or None."""
        ...

    def find_for_learners(
        self, program_id: str, learner_ids: Sequence[str]
    ) -> Mapping[str, Membership]:
        """Return these learners' memberships in the program (at most 1,000), by learner ID."""
        ...

    def add_many(self, memberships: Sequence[Membership]) -> None:
        """Store new memberships in one batch. Raises ConflictError (nothing stored)."""
        ...

    def list_for_program(self, program_id: str) -> Sequence[Membership]:
        """Return the program's memberships, by invitation time."""
        ...

    def list_for_learner(self, learner_id: str) -> Sequence[Membership]:
        """Return the learner's memberships, by invitation time."""
        ...


class AdminRepository(Protocol):
    """Administrator grants; one per (organization, learner, scope)."""

    def add(self, grant: AdminGrant) -> None:
        """Store a grant. Raises ConflictError when the same grant exists."""
        ...

    def remove(self, grant: AdminGrant) -> None:
        """Delete a grant. Raises NotFoundError."""
        ...

    def list_for_organization(self, organization_id: str) -> Sequence[AdminGrant]:
        """Return the organization's grants, by grant time."""
        ...

    def list_for_learner(self, organization_id: str, learner_id: str) -> Sequence[AdminGrant]:
        """Return one person's grants in the organization."""
        ...


class CourseRepository(Protocol):
    """Catalog courses with their items and assessments (one aggregate)."""

    def add(self, course: Course) -> None:
        """Store a course. Raises ConflictError when its course ID or slug is taken."""
        ...

    def get(self, course_id: str) -> Course:
        """Return the course by record ID. Raises NotFoundError."""
        ...

    def update(self, course: Course) -> None:
        """Replace a course with its items and assessments. Raises NotFoundError."""
        ...

    def find_by_course_id(self, organization_id: str, course_id: str) -> Course | None:
        """Return the course with the guide's Course ID, or None."""
        ...

    def find_by_course_ids(
        self, organization_id: str, course_ids: Sequence[str]
    ) -> Mapping[str, Course]:
        """Return the courses with these Course IDs (at most 1,000), by Course ID; one query."""
        ...

    def find_by_slugs(self, organization_id: str, slugs: Sequence[str]) -> Mapping[str, Course]:
        """Return the courses with these slugs (at most 1,000), by slug; one query."""
        ...

    def add_many(self, courses: Sequence[Course]) -> None:
        """Store new courses in one batch; a taken Course ID or slug: ConflictError, none stored."""
        ...

    def list_for_organization(self, organization_id: str) -> Sequence[Course]:
        """Return the catalog's courses, by name."""
        ...


class SpecializationRepository(Protocol):
    """Catalog specializations."""

    def add(self, specialization: Specialization) -> None:
        """Store a specialization. Raises ConflictError when its slug is taken."""
        ...

    def get(self, specialization_id: str) -> Specialization:
        """Return the specialization. Raises NotFoundError."""
        ...

    def list_for_organization(self, organization_id: str) -> Sequence[Specialization]:
        """Return the catalog's specializations, by name."""
        ...


class CollectionRepository(Protocol):
    """A program's curriculum: collections with their entries, in order (one aggregate each).

    Source: guide, "Managing Curriculum". A course or specialization is at most once in a
    collection (the model refuses a repeat) but may be in several collections of a program.
    """

    def add(self, collection: Collection) -> None:
        """Store a new collection with its entries. Raises ConflictError when the ID exists."""
        ...

    def get(self, collection_id: str) -> Collection:
        """Return the collection with its entries in order. Raises NotFoundError."""
        ...

    def update(self, collection: Collection) -> None:
        """Replace a collection's details, position and entries. Raises NotFoundError."""
        ...

    def remove(self, collection_id: str) -> None:
        """Delete a collection and its entries. Raises NotFoundError."""
        ...

    def list_for_program(self, program_id: str) -> Sequence[Collection]:
        """Return the program's collections by position (then ID), each with its entries."""
        ...


class SkillRepository(Protocol):
    """The skill glossary; (organization, domain, name) is unique."""

    def add(self, skill: Skill) -> None:
        """Store a skill. Raises ConflictError when the domain and name exist."""
        ...

    def get(self, skill_id: str) -> Skill:
        """Return the skill. Raises NotFoundError."""
        ...

    def update(self, skill: Skill) -> None:
        """Stage a changed skill (same ID, domain and name). Raises NotFoundError."""
        ...

    def list_for_organization(self, organization_id: str) -> Sequence[Skill]:
        """Return the organization's skills, by domain then name."""
        ...


class AuditRepository(Protocol):
    """The append-only audit log."""

    def add(self, entry: AuditEntry) -> None:
        """Append an entry."""
        ...

    def add_many(self, entries: Sequence[AuditEntry]) -> None:
        """Append entries in one batch, in order."""
        ...

    def scrub(self, organization_id: str, object_id: str) -> int:
        """Empty the recorded changes of every entry about one record (for erasure).

        Who did what to which record, and when, stays; the field values go.

        Returns:
            The number of entries scrubbed.
        """
        ...

    def list(
        self,
        organization_id: str,
        *,
        program_id: str | None = None,
        object_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> Sequence[AuditEntry]:
        """Return entries newest first (in write order), filtered by program and object."""
        ...


class OutboxRepository(Protocol):
    """Queued mail, written in the same unit of work as the change that causes it."""

    def add(self, entry: OutboxEntry) -> None:
        """Queue an entry."""
        ...

    def add_many(self, entries: Sequence[OutboxEntry]) -> None:
        """Queue entries in one batch."""
        ...

    def get(self, entry_id: str) -> OutboxEntry:
        """Return the entry. Raises NotFoundError."""
        ...

    def update(self, entry: OutboxEntry) -> None:
        """Replace an entry (its status, attempts, error). Raises NotFoundError."""
        ...

    def list_due(self, now: datetime, limit: int = 100) -> Sequence[OutboxEntry]:
        """Return pending entries due at ``now``, oldest first, at most ``limit``."""
        ...

    def list_for_organization(
        self, organization_id: str, *, limit: int = 100, offset: int = 0
    ) -> Sequence[OutboxEntry]:
        """Return the organization's entries, oldest first."""
        ...

    def list_for_learner(self, learner_id: str) -> Sequence[OutboxEntry]:
        """Return every entry addressed to a learner, oldest first (for erasure)."""
        ...

    def claim_due(
        self, now: datetime, *, limit: int, claim_id: str, lease_until: datetime
    ) -> Sequence[OutboxEntry]:
        """Claim at most ``limit`` due entries (oldest first) for one dispatcher.

        Due: PENDING with ``next_attempt_at <= now``, or SENDING whose lease ran out. Claimed
        entries become SENDING with ``claim_id`` and ``next_attempt_at = lease_until``. Two
        dispatchers claiming at once never get the same entry: SQL adapters lock the rows with
        ``FOR UPDATE SKIP LOCKED`` (PostgreSQL, MariaDB) or hold the database's write lock
        (SQLite); the in-memory adapter holds its store's lock.

        Returns:
            The claimed entries, as stored after the claim.
        """
        ...

    def renew(self, entry_id: str, claim_id: str, lease_until: datetime) -> bool:
        """Extend a claim's lease to ``lease_until``, if ``claim_id`` still holds the entry.

        A dispatcher calls this right before sending each message, so a message whose claim
        ran out while earlier ones were being sent (and may have been taken over) is not sent
        twice.

        Returns:
            False, changing nothing, when the claim was lost.
        """
        ...

    def release(self, entry_ids: Sequence[str], claim_id: str, now: datetime) -> int:
        """Hand back the entries among ``entry_ids`` that ``claim_id`` still holds, unsent.

        Each becomes PENDING again, due at ``now``, without a claim
        (:meth:`OutboxEntry.released`), so another dispatcher may claim it at once rather than
        after the lease. Entries the claim no longer holds (finished, or taken over after the
        lease ran out) are left alone.

        Returns:
            How many entries were released.
        """
        ...

    def finish(self, entry: OutboxEntry, claim_id: str) -> bool:
        """Store ``entry`` (its outcome) if it is still claimed by ``claim_id``.

        Returns:
            False, changing nothing, when the claim was lost (its lease ran out and another
            dispatcher claimed the entry).
        """
        ...


class DeliveryRepository(Protocol):
    """The record of every delivery attempt."""

    def add(self, attempt: DeliveryAttempt) -> None:
        """Append an attempt."""
        ...

    def list_for_outbox(self, outbox_id: str) -> Sequence[DeliveryAttempt]:
        """Return the attempts at one outbox entry, oldest first."""
        ...

    def replace_recipient(self, outbox_ids: Sequence[str], recipient: str) -> int:
        """Write ``recipient`` over the recipient of these entries' attempts (for erasure).

        Returns:
            The number of attempts changed.
        """
        ...

    def list_for_organization(
        self, organization_id: str, *, limit: int = 100, offset: int = 0
    ) -> Sequence[DeliveryAttempt]:
        """Return the organization's attempts, newest first."""
        ...


class EmailPreferenceRepository(Protocol):
    """Learners' opt-outs, one per learner and category."""

    def opt_outs(self, learner_id: str) -> frozenset[MessageCategory]:
        """Return the categories the learner opted out of."""
        ...

    def add(self, opt_out: EmailOptOut) -> None:
        """Store an opt-out; storing one that exists changes nothing, at once too (no error)."""
        ...

    def remove(self, learner_id: str, category: MessageCategory) -> None:
        """Delete an opt-out if there is one."""
        ...


class EnrollmentRepository(Protocol):
    """Course and specialization enrollments, current and ended."""

    def add(self, enrollment: Enrollment) -> None:
        """Stage a new enrollment.

        Raises:
            ConflictError: the ID is taken, or the learner already has a current enrollment in
                the same course or specialization (enforced by the storage's unique key, so two
                concurrent enrollments cannot both succeed).
        """
        ...

    def get(self, enrollment_id: str) -> Enrollment:
        """Return an enrollment by ID, or raise NotFoundError."""
        ...

    def update(self, enrollment: Enrollment) -> None:
        """Replace a stored enrollment (to end it); NotFoundError if absent."""
        ...

    def find_current(self, learner_id: str, target_id: str) -> Enrollment | None:
        """Return the learner's current enrollment in a course or specialization, if any."""
        ...

    def list_for_learner(
        self, learner_id: str, target_ids: Sequence[str] | None = None
    ) -> Sequence[Enrollment]:
        """Return the learner's enrollments (optionally only in ``target_ids``), oldest first."""
        ...

    def list_for_learners(
        self, learner_ids: Sequence[str], target_ids: Sequence[str]
    ) -> Sequence[Enrollment]:
        """Return the enrollments of these learners in these targets, by learner then age."""
        ...

    def lock_for_learners(
        self, learner_ids: Sequence[str], target_ids: Sequence[str]
    ) -> Sequence[Enrollment]:
        """Return what :meth:`list_for_learners` returns, holding the rows until the unit ends.

        For a recomputation of derived figures that must not interleave with another's
        (issue 17, section 3): a concurrent unit of work that asks for any of the same rows
        waits until this one commits or rolls back, and then reads what it stored. The
        learners' own rows are held first, so one that asks for the same learner waits too
        even when the enrollment is not stored yet (an enroll and an ingest of one learner at
        once: before, each could miss what the other stored). Rows are locked in one order
        (learners by ID, then enrollments by learner and target), so two callers never
        deadlock on them. PostgreSQL and MariaDB: ``SELECT ... FOR UPDATE`` (the learners
        ``FOR NO KEY UPDATE`` on PostgreSQL); to see what the other stored on MariaDB
        (REPEATABLE READ), call this before any other read of the unit of work. SQLite
        and memory serialize writing units of work already (``BEGIN IMMEDIATE``; the store's
        lock), so there it is :meth:`list_for_learners`.
        """
        ...

    def add_many(self, enrollments: Sequence[Enrollment]) -> None:
        """Stage new enrollments in one batch: all of them or none.

        Raises:
            ConflictError: an ID is taken, or one is a second current enrollment of a learner
                in a course or specialization (nothing of the batch is staged).
        """
        ...

    def list_for_program(self, program_id: str) -> Sequence[Enrollment]:
        """Return every enrollment made through the program, oldest first."""
        ...

    def count_current_courses(self, program_id: str, learner_id: str) -> int:
        """Return the learner's current course enrollments through the program."""
        ...


class ActivityRepository(Protocol):
    """Raw learning records: item events and assessment attempts, keyed by the source's IDs."""

    def add_events(self, organization_id: str, events: Sequence[LearningEvent]) -> frozenset[str]:
        """Stage events; one whose ID is already stored for the organization is skipped.

        Returns:
            The IDs of the events this call stored: not those stored already, nor those a
            concurrent unit of work stored first (it waits for that one to end), so two calls
            with the same records store and report each once.

        Raises:
            NotFoundError: the organization, a learner or a course an event refers to is not
                stored (checked in that order, by ID, as the SQL foreign keys refuse it): never
                skipped as if a duplicate; nothing of the call is stored.
        """
        ...

    def add_attempts(
        self, organization_id: str, attempts: Sequence[AssessmentAttempt]
    ) -> frozenset[str]:
        """Stage attempts as :meth:`add_events` stages events; return the IDs it stored."""
        ...

    def events_for(
        self, learner_ids: Sequence[str], course_ids: Sequence[str]
    ) -> Sequence[LearningEvent]:
        """Return the item events of these learners in these courses (record IDs).

        Every event whose learner is one of ``learner_ids`` and whose course is one of
        ``course_ids``, ordered by learner, course, time and ID.
        """
        ...

    def attempts_for(
        self, learner_ids: Sequence[str], course_ids: Sequence[str]
    ) -> Sequence[AssessmentAttempt]:
        """Return the attempts of these learners in these courses, as :meth:`events_for`."""
        ...

    def attempts_for_course(self, course_id: str) -> Sequence[AssessmentAttempt]:
        """Return every attempt in a course, by learner and submission time."""
        ...


class ProgressRepository(Protocol):
    """The derived figures of each enrollment, and the members list read from them."""

    def put_many(self, figures: Sequence[EnrollmentProgress]) -> None:
        """Stage the figures of enrollments, replacing their earlier figures."""
        ...

    def get_many(self, enrollment_ids: Sequence[str]) -> Mapping[str, EnrollmentProgress]:
        """Return the stored figures of those enrollments that have them."""
        ...

    def put_days(self, enrollment_ids: Sequence[str], days: Sequence[DailyActivity]) -> None:
        """Stage the daily buckets of these enrollments, replacing all their earlier days.

        Every day in ``days`` must belong to one of ``enrollment_ids``; an enrollment given
        without days is left with none.
        """
        ...

    def put_days_since(self, since: Mapping[str, date], days: Sequence[DailyActivity]) -> None:
        """Stage the daily buckets of enrollments from a day on, keeping their earlier days.

        For each enrollment ID in ``since``, its buckets on or after that day are replaced by
        those of ``days`` (an ingest chunk changes only the days of its records and of the
        session they continue: :class:`~learnprog.model.tally.TallyUpdate`). Every day in
        ``days`` must belong to one of those enrollments and fall on or after its day.
        """
        ...

    def get_days(self, enrollment_ids: Sequence[str]) -> Sequence[DailyActivity]:
        """Return the daily buckets of those enrollments, by enrollment ID then day."""
        ...

    def put_tallies(self, tallies: Sequence[ActivityTally]) -> None:
        """Stage the running figures of course enrollments, replacing their earlier ones.

        Written with the enrollments' figures, in the same unit of work, so a tally always
        holds exactly the records its enrollment's figures count (``learnprog.model.tally``).
        """
        ...

    def get_tallies(self, enrollment_ids: Sequence[str]) -> Mapping[str, ActivityTally]:
        """Return the running figures of those enrollments that have them.

        Raises:
            ValidationError: (SQL) a stored tally is not a tally document.
        """
        ...

    def put_imported(self, figures: Sequence[ImportedFigures]) -> None:
        """Stage the imported figures of enrollments, replacing their earlier imported ones.

        Raises:
            NotFoundError: (memory) or StorageError (SQL foreign key) for an enrollment that is
                not stored.
        """
        ...

    def get_imported(self, enrollment_ids: Sequence[str]) -> Mapping[str, ImportedFigures]:
        """Return the imported figures of those enrollments that have them."""
        ...

    def member_page(self, query: MemberQuery, now: datetime) -> MemberPage:
        """Return one page of a program's members list (one query on SQL storage).

        Each row's status follows :func:`learnprog.model.progress.member_status` at ``now``.
        """
        ...


class FeedbackRepository(Protocol):
    """Learners' course ratings (guide, "Learner Feedback")."""

    def put(self, feedback: Feedback) -> None:
        """Stage a rating, replacing the learner's earlier one of the course in the program."""
        ...

    def list_for_course(self, course_id: str) -> Sequence[Feedback]:
        """Return a course's ratings, newest first."""
        ...

    def rating_summary(
        self, *, course_id: str | None = None, program_id: str | None = None
    ) -> tuple[float | None, int]:
        """Return the mean rating (1-5, ``None`` without ratings) and the number of ratings.

        ``course_id`` and ``program_id`` narrow the ratings counted (both may be given).
        """
        ...


class MessageRepository(Protocol):
    """Messages sent to learners, their recipients, and audience resolution."""

    def add(self, message: SentMessage) -> None:
        """Stage a sent message.

        Raises:
            ConflictError: the organization has a message with the same idempotency key.
        """
        ...

    def update(self, message: SentMessage) -> None:
        """Replace a stored message (its counts); NotFoundError if absent."""
        ...

    def get(self, message_id: str) -> SentMessage:
        """Return a message by ID, or raise NotFoundError."""
        ...

    def find_by_key(self, organization_id: str, idempotency_key: str) -> SentMessage | None:
        """Return the organization's message with this idempotency key, if any."""
        ...

    def list_for_organization(
        self,
        organization_id: str,
        *,
        program_ids: Sequence[str] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> Sequence[SentMessage]:
        """Return messages, newest first; with ``program_ids``, those with a recipient there."""
        ...

    def add_recipients(self, recipients: Sequence[MessageRecipient]) -> None:
        """Stage the recipients of a message (the learners skipped too)."""
        ...

    def recipients(self, message_id: str) -> Sequence[MessageRecipient]:
        """Return a message's recipients, the learners skipped too, by learner ID."""
        ...

    def recipient_counts(
        self, message_ids: Sequence[str], program_ids: Sequence[str]
    ) -> Mapping[str, Mapping[RecipientSkip | None, int]]:
        """Count each message's recipient rows in these programs, by why they were skipped.

        ``None`` counts the learners the message was queued to. A message with no row in the
        programs is left out. One grouped query on SQL storage.
        """
        ...

    def resolve(
        self,
        organization_id: str,
        audience: Audience,
        filters: AudienceFilter,
        program_scope: Sequence[str] | None,
        now: datetime,
    ) -> Sequence[AudienceMember]:
        """Return the memberships an audience is drawn from (one query on SQL storage).

        Every membership of the organization that passes ``filters`` and lies in
        ``program_scope`` (``None``: every program), each flagged with whether it belongs to
        ``audience`` at ``now`` (:meth:`Audience.includes`) and whether its learner opted out
        of admin messages; ordered by learner and program ID.
        """
        ...


class ReportRepository(Protocol):
    """The records behind the reports, read in bulk (streamed on SQL storage)."""

    def usage(self, program_ids: Sequence[str]) -> Iterator[UsageRecord]:
        """Yield one record per current course enrollment in the programs.

        Ordered by program slug, learner email key, course ID and enrollment ID.
        """
        ...

    def memberships(self, program_ids: Sequence[str]) -> Iterator[MembershipRecord]:
        """Yield one record per membership in the programs, by program slug and email key."""
        ...

    def specializations(self, program_ids: Sequence[str]) -> Iterator[SpecializationRecord]:
        """Yield one record per current specialization enrollment, ordered as :meth:`usage`."""
        ...

    def usage_values(self, program_ids: Sequence[str]) -> Iterator[ReportValues]:
        """Yield :meth:`usage`'s rows as their values (``UsageRecord.values()``), in its order.

        A SQL store gives the values as it stores them, without building records: times as
        naive UTC datetimes (or SQLite's text of them), sums as the driver reads them
        (``Decimal`` on MariaDB); the report's cell rules write them as the records' values.
        """
        ...

    def membership_values(self, program_ids: Sequence[str]) -> Iterator[ReportValues]:
        """Yield :meth:`memberships`' rows as their values, as :meth:`usage_values` does."""
        ...

    def specialization_values(self, program_ids: Sequence[str]) -> Iterator[ReportValues]:
        """Yield :meth:`specializations`' rows as their values, as :meth:`usage_values` does."""
        ...

    def email_figures(self, program_ids: Sequence[str], now: datetime) -> EmailReportFigures:
        """Return the email report's figures for the programs (aggregated in SQL on SQL storage).

        The rules are :func:`learnprog.model.reporting.email_figures`.
        """
        ...

    def course_learners(
        self, course_id: str, program_ids: Sequence[str]
    ) -> Sequence[tuple[Learner, Enrollment]]:
        """Return the current enrollments in one course made through the programs.

        Each with its learner (removed members' included), ordered by email key and learner ID.
        """
        ...

    def activity_totals(self, program_ids: Sequence[str], now: datetime) -> ActivityTotals:
        """Return the summary's learning totals of the programs (aggregated in SQL on SQL storage).

        The rules are :func:`learnprog.model.reporting.activity_totals`.
        """
        ...

    def funnel(self, program_ids: Sequence[str], now: datetime) -> UsageFunnel:
        """Return the usage funnel of the programs (one aggregate query on SQL storage).

        The rules are :func:`learnprog.model.reporting.usage_funnel`.
        """
        ...

    def learner_activity(self, scope: AnalyticsScope) -> LearnerActivity:
        """Return the Learner Activity report (one aggregate query on SQL storage).

        The rules are :func:`learnprog.model.analytics.activity_days` and
        :func:`~learnprog.model.analytics.learner_activity`.
        """
        ...

    def learner_feedback(self, scope: AnalyticsScope) -> LearnerFeedback:
        """Return the Learner Feedback report (one aggregate query on SQL storage).

        The rules are :func:`learnprog.model.analytics.learner_feedback`.
        """
        ...

    def utilization(self, scope: AnalyticsScope) -> Utilization:
        """Return the Utilization report (one aggregate query on SQL storage).

        The rules are :func:`learnprog.model.analytics.utilization`.
        """
        ...

    def scheduled_sent(self, organization_id: str, local_day: date) -> frozenset[str]:
        """Return the admins (learner IDs) whose scheduled report for that local day is recorded."""
        ...

    def add_scheduled(self, record: ScheduledReportRecord) -> None:
        """Stage the record that a scheduled report went out.

        Raises:
            ConflictError: one is recorded for the same organization, admin and local day.
        """
        ...


class SkillRatingRepository(Protocol):
    """Skill ratings, assessment difficulties and how far scoring has gone, per organization."""

    def lock_scoring(self, organization_id: str) -> None:
        """Hold the organization's scoring lock until this unit of work ends.

        A concurrent unit of work asking for it waits here until this one commits or rolls
        back, so two scoring runs of an organization never replace its ratings at the same
        time (they would collide on their keys, or deadlock). Take it before reading the
        mark and ratings. Where units of work never overlap (memory, and SQLite, whose
        transactions begin with ``BEGIN IMMEDIATE``) it does nothing.
        """
        ...

    def mark(self, organization_id: str) -> ScoringMark:
        """Return the organization's scoring mark (nothing scored yet: ``ScoringMark(org)``)."""
        ...

    def set_mark(self, mark: ScoringMark) -> None:
        """Stage the organization's scoring mark."""
        ...

    def ratings(
        self, organization_id: str, skill_ids: Sequence[str] | None = None
    ) -> Sequence[SkillRating]:
        """Return the organization's ratings (of these skills), by skill then learner ID."""
        ...

    def difficulties(self, organization_id: str) -> Sequence[ItemDifficulty]:
        """Return the organization's assessment difficulties, by course and assessment ID."""
        ...

    def replace(
        self,
        organization_id: str,
        ratings: Sequence[SkillRating],
        difficulties: Sequence[ItemDifficulty],
    ) -> None:
        """Stage the organization's ratings and difficulties in place of the stored ones."""
        ...

    def attempts_after(
        self, organization_id: str, after: tuple[datetime, str] | None
    ) -> Iterator[AttemptRow]:
        """Yield the organization's attempts after ``(submitted_at, id)``, in that order.

        Plain rows of stored (checked) attempts, not model objects: scoring reads millions.
        """
        ...

    def scoring_rows(
        self, organization_id: str, after: tuple[datetime, str] | None
    ) -> Iterator[tuple[str, str, float, str]]:
        """Yield ``(learner_id, item, grade, attempt_id)`` of the attempts after ``after``.

        The scorer's read: ``item`` is ``"<course_id>:<assessment_id>"``, the order is
        ``(submitted_at, id)`` like :meth:`attempts_after`, and no time is read (the scorer
        asks :meth:`attempt_times` for the few it keeps), so a million rows stream cheaply.
        """
        ...

    def attempt_times(self, organization_id: str, ids: Sequence[str]) -> Mapping[str, datetime]:
        """Return the submission time (aware UTC) of each of these attempts that is stored."""
        ...

    def count_attempts_until(self, organization_id: str, until: tuple[datetime, str]) -> int:
        """Return how many of the organization's attempts come at or before ``until``."""
        ...

    def completed_assessments(self, organization_id: str) -> Sequence[tuple[str, str, str]]:
        """Return each ``(learner_id, course_id, assessment_id)`` with an attempt, once each."""
        ...


class UnitOfWork(Protocol):
    """One transaction over every repository.

    Use it as a context manager; :meth:`commit` makes the work visible to later units of work,
    and leaving the block without it (or by an exception) rolls back.
    """

    organizations: OrganizationRepository
    programs: ProgramRepository
    contracts: ContractRepository
    learners: LearnerRepository
    memberships: MembershipRepository
    admins: AdminRepository
    courses: CourseRepository
    specializations: SpecializationRepository
    collections: CollectionRepository
    skills: SkillRepository
    audit: AuditRepository
    outbox: OutboxRepository
    deliveries: DeliveryRepository
    email_preferences: EmailPreferenceRepository
    enrollments: EnrollmentRepository
    activity: ActivityRepository
    progress: ProgressRepository
    feedback: FeedbackRepository
    messages: MessageRepository
    reports: ReportRepository
    skill_ratings: SkillRatingRepository

    def __enter__(self) -> Self:
        """Begin the transaction."""
        ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back whatever was not committed, and end the transaction."""
        ...

    def commit(self) -> None:
        """Make the work so far durable and visible to other units of work."""
        ...

    def rollback(self) -> None:
        """Discard the work since the last commit."""
        ...


UnitOfWorkFactory = Callable[[], UnitOfWork]


def check_count(count: object) -> int:
    """Return a license or enrollment count for ``take``/``release``: a whole number 1-1,000,000.

    Adapters call this first, so every backend refuses the same counts.

    Raises:
        ValidationError: not an ``int`` (``bool``, float and NaN included) or out of range.
    """
    checked = whole_number(count, field="count", minimum=1, maximum=1_000_000, allow_none=False)
    assert checked is not None
    return checked


"""Makes a fresh unit of work over shared storage: what services are given."""
