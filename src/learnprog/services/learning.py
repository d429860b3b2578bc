"""LearningService: enrollments, learning activity, derived progress, the members list, ratings.

The counting rules live in :mod:`learnprog.model.progress`; this service applies them. Derived
figures are kept per enrollment and brought up to date, inside the unit of work that stores new
activity, for exactly the (learner, course) pairs that activity touches, so a report or a
members list never rescans raw events. Ingest adds new records to each enrollment's
:class:`~learnprog.model.tally.ActivityTally` instead of reading its earlier records again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import TypeVar

from attrs import field, frozen

from learnprog.errors import (
    ConcurrencyError,
    ConflictError,
    EnrollmentLimitError,
    LicenseLimitError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from learnprog.mail.rendering import COURSE_WELCOME, SPECIALIZATION_WELCOME
from learnprog.model._rules import KEY_LENGTH, optional_utc, record_id, utc
from learnprog.model.access import (
    Actor,
    LearnerActor,
    check_actor,
    require_org_admin,
    require_self,
)
from learnprog.model.activity import AssessmentAttempt, Enrollment, Feedback, LearningEvent
from learnprog.model.catalog import Collection, Course, EntryKind, Specialization
from learnprog.model.learner import Membership, MemberState
from learnprog.model.organization import Contract, ContractKind, Program
from learnprog.model.progress import (
    DailyActivity,
    EnrollmentProgress,
    ImportedFigures,
    MemberPage,
    MemberQuery,
    in_window,
    specialization_progress,
    with_imported,
)
from learnprog.model.tally import ActivityTally, TallyUpdate
from learnprog.services._base import Service, ServiceContext, retry_on
from learnprog.services.curriculum import PreviewEntry, ProgramPreview, program_preview
from learnprog.services.history import (
    EnrollmentRecord,
    ImportedRecord,
    ImportOutcome,
    ImportResult,
    check_progress,
    chunks,
    run_chunks,
)
from learnprog.services.mail import MailComposer, course_context, specialization_context
from learnprog.storage.ports import UnitOfWork

T = TypeVar("T")
_Record = LearningEvent | AssessmentAttempt

CREATED, EXISTING, REJECTED = (
    ImportOutcome.CREATED,
    ImportOutcome.EXISTING,
    ImportOutcome.REJECTED,
)

INGEST_CHUNK = 20_000
"""Records stored (and added to their enrollments' figures) per unit of work when ingesting.

Each chunk reads and writes the tally, figures and latest days of every enrollment it touches
once, so fewer, larger chunks touch each enrollment fewer times (benchmarks/learning_activity.py,
docs/learning.md). A chunk holds the locks on its enrollments until it commits (a few seconds)."""

INGEST_ATTEMPTS = 5
"""Runs of one chunk's unit of work when a concurrent one gets in the way (a deadlock the
database broke by rolling this one back: :class:`~learnprog.errors.ConcurrencyError`)."""

#: How far after the Clock's now an ingested record may be dated: the clocks of the platform
#: sending activity and of learnprog may disagree a little, never by more. A record dated
#: later is refused (a year-9999 event would be the enrollment's last activity for ever, so
#: its learner could never show as inactive).
INGEST_CLOCK_SKEW = timedelta(days=1)


@frozen
class RejectedRecord:
    """An activity record that was not stored.

    Attributes:
        source: ``"events"`` or ``"attempts"``.
        index: its position (from 0) in that input.
        record_id: the record's ID (as given, even when it is the ID that was refused).
        reason: why it was refused.
        field: the record's field that broke a rule (``"id"``, ``"learner_id"``), or
            ``None`` when the record as a whole was refused (not in the organization, not in
            the catalog, not an event or attempt).
    """

    source: str
    index: int
    record_id: str
    reason: str
    field: str | None = None


@frozen
class IngestResult:
    """What :meth:`LearningService.ingest` did.

    Attributes:
        events_added: item events stored.
        attempts_added: assessment attempts stored.
        duplicates: records skipped because their ID was stored already (or came earlier in
            the same input): sending a batch twice counts it once.
        rejected: records refused, each with its position and reason.
        enrollments_updated: distinct enrollments whose figures were recomputed.
        outside_enrollments: stored records whose time falls in no enrollment window of their
            learner and course (none yet, or before it began, or after it ended): they count
            toward nothing until an enrollment that covers them is recorded. A feed that sends
            activity before the enrollment is recorded sees it here.
    """

    events_added: int
    attempts_added: int
    duplicates: int
    rejected: tuple[RejectedRecord, ...]
    enrollments_updated: int
    outside_enrollments: int = 0


@frozen
class EnrollmentOption:
    """One course or specialization of the curriculum, for one learner.

    Attributes:
        entry: the course or specialization as the preview shows it.
        may_enroll: the learner may enroll in it now.
        reason: why not (``"enrolled"``, ``"course enrollment limit reached"``,
            ``"not a member"``), or ``None`` when they may.
    """

    entry: PreviewEntry
    may_enroll: bool
    reason: str | None


@frozen
class LearnerProgramView:
    """The program as one learner sees it (guide, "PREVIEW PROGRAM").

    Attributes:
        preview: name, tagline, banner and the collections in order.
        course_enrollments_left: course enrollments the learner may still make under the
            program's limit, or ``None`` without a limit.
        options: each distinct curriculum entry, in curriculum order, with whether the learner
            may enroll in it.
    """

    preview: ProgramPreview
    course_enrollments_left: int | None
    options: tuple[EnrollmentOption, ...]


@frozen
class RatingSummary:
    """The mean course rating (1-5 stars, ``None`` without ratings) and how many there are."""

    average: float | None
    count: int


@frozen
class _Catalog:
    """An organization's courses and specializations, read once per call.

    Collections and contracts are read once each, when first needed.
    """

    courses: dict[str, Course]
    specializations: dict[str, Specialization]
    collections: dict[str, Collection] = field(factory=dict)
    contracts: dict[str, Contract] = field(factory=dict)

    @classmethod
    def load(cls, uow: UnitOfWork, organization_id: str) -> _Catalog:
        return cls(
            {c.id: c for c in uow.courses.list_for_organization(organization_id)},
            {s.id: s for s in uow.specializations.list_for_organization(organization_id)},
        )

    @classmethod
    def load_for(cls, uow: UnitOfWork, organization_id: str, target_ids: Iterable[str]) -> _Catalog:
        """The part of the catalog a chunk of history records needs.

        Its target courses, every specialization and their courses: enough to decide the
        chunk's enrollments and recompute their figures, without reading a large catalog
        (courses with all their items) again for each chunk. A target that is not one of the
        organization's courses or specializations is absent, as in :meth:`load`.
        """
        specializations = {
            s.id: s for s in uow.specializations.list_for_organization(organization_id)
        }
        wanted = {t for t in target_ids if t not in specializations}
        wanted.update(cid for s in specializations.values() for cid in s.course_ids)
        courses: dict[str, Course] = {}
        for course_id in sorted(wanted):
            try:
                course = uow.courses.get(course_id)
            except NotFoundError:
                continue
            if course.organization_id == organization_id:
                courses[course_id] = course
        return cls(courses, specializations)

    def collection(self, uow: UnitOfWork, collection_id: str) -> Collection:
        if collection_id not in self.collections:
            self.collections[collection_id] = uow.collections.get(collection_id)
        return self.collections[collection_id]

    def contract(self, uow: UnitOfWork, contract_id: str) -> Contract:
        """The contract's terms (its ``used`` count may be stale: take() decides)."""
        if contract_id not in self.contracts:
            self.contracts[contract_id] = uow.contracts.get(contract_id)
        return self.contracts[contract_id]

    def specializations_with(self, course_id: str) -> list[Specialization]:
        return [s for s in self.specializations.values() if course_id in s.course_ids]


def _check_record(record: EnrollmentRecord) -> None:
    """Check a history record's IDs (its times are checked by the attrs converters).

    Raises:
        ValidationError: a learner, target or source collection that is not a record ID.
    """
    record_id(record.learner_id, field="learner_id")
    record_id(record.target_id, field="target_id")
    if record.source_collection_id is not None:
        record_id(record.source_collection_id, field="source_collection_id")
    if record.figures is not None:
        record.figures.for_enrollment(record.target_id)  # checks the ranges before any write


def _check_ids(record: _Record, known: set[str] | None = None) -> None:
    """Check an activity record's IDs, before any of them is used in a storage query.

    Each is a record ID of 1-:data:`~learnprog.model._rules.KEY_LENGTH` characters on one line
    (:func:`~learnprog.model._rules.record_id`): the same rule on every backend. ``known``
    holds learner, course, item and assessment IDs (plain ``str``) that passed already: an
    ingest call checks each such ID once, not once per record; the IDs that pass are added.

    Raises:
        ValidationError: an ID that breaks the rule (the field named: ``id``, ``learner_id``,
            ``course_id``, ``item_id`` or ``assessment_id``).
    """
    record_id(record.id, field="id", max_length=KEY_LENGTH)
    if isinstance(record, LearningEvent):
        target, target_field = record.item_id, "item_id"
    else:
        target, target_field = record.assessment_id, "assessment_id"
    for value, name in (
        (record.learner_id, "learner_id"),
        (record.course_id, "course_id"),
        (target, target_field),
    ):
        if known is not None and type(value) is str and value in known:
            continue
        record_id(value, field=name, max_length=KEY_LENGTH)
        if known is not None and type(value) is str:
            known.add(value)


def _well_formed(record: object) -> bool:
    if not isinstance(record, EnrollmentRecord):
        return False
    try:
        _check_record(record)
    except ValidationError:
        return False
    return True


@frozen
class _History:
    """The memberships and enrollments a chunk of history records needs, read in bulk.

    ``made`` gathers the enrollments the chunk makes and ``figures`` their imported figures,
    stored together by :meth:`store`.
    """

    memberships: dict[str, Membership]
    enrollments: dict[tuple[str, str], list[Enrollment]]
    made: list[Enrollment] = field(factory=list)
    figures: list[ImportedFigures] = field(factory=list)

    def store(self, uow: UnitOfWork) -> None:
        """Stage the enrollments made (one multi-row insert), then their imported figures.

        Raises:
            ConflictError: one of them is a second current enrollment (another import stored
                it meanwhile): nothing of the chunk is kept, and it is decided again.
        """
        uow.enrollments.add_many(self.made)
        uow.progress.put_imported(self.figures)

    @classmethod
    def load(
        cls, uow: UnitOfWork, program: Program, records: Sequence[EnrollmentRecord]
    ) -> _History:
        learners = sorted({r.learner_id for r in records})
        targets = sorted({r.target_id for r in records})
        found: dict[tuple[str, str], list[Enrollment]] = {}
        for e in uow.enrollments.list_for_learners(learners, targets):
            found.setdefault((e.learner_id, e.target_id), []).append(e)
        return cls(dict(uow.memberships.find_for_learners(program.id, learners)), found)


class LearningService(Service):
    """Enrollments, activity and feedback (guide, "Managing Curriculum", "Members")."""

    def __init__(self, context: ServiceContext) -> None:
        super().__init__(context)
        self._mail = MailComposer(context)

    # --- enrollment -----------------------------------------------------------------------

    @retry_on(ConcurrencyError, attempts=INGEST_ATTEMPTS)  # as ingest: a deadlock, run again
    def enroll(
        self,
        actor: Actor,
        program_id: str,
        target_id: str,
        *,
        source_collection_id: str | None = None,
    ) -> Enrollment:
        """Enroll the acting learner in a catalog course or specialization through a program.

        The enrollment records the collection the learner found it in (``None`` when found by
        search or browsing; guide, "Enrollment Source"). A course enrollment counts toward the
        program's course enrollment limit and, on an enrollments contract, uses one enrollment
        of the contract (a conditional update in storage, so concurrent enrollments never
        over-draw it). The Course Welcome or Specialization Welcome email is queued. A
        specialization enrollment does not enroll in its courses.

        Args:
            actor: the learner, acting for themself.
            program_id: a program the learner is a MEMBER of.
            target_id: the record ID of a course or specialization in the organization's
                catalog.
            source_collection_id: the collection it was found in, or ``None``.

        Returns:
            The new, current enrollment.

        Raises:
            PermissionDeniedError: not a learner acting for themself, or the learner is
                INVITED (not joined) or DELETED_MEMBER (removed) in the program.
            NotFoundError: no such program, membership, course, specialization or collection.
            ValidationError: the program was removed, its contract is not running, or the
                source collection is another program's or does not hold the target.
            ConflictError: the learner already has a current enrollment in it (also when
                made at the same moment).
            ConcurrencyError: concurrent writes got in the way :data:`INGEST_ATTEMPTS` times
                in a row (the database rolled it back; nothing stored: call again).
            EnrollmentLimitError: the program's course enrollment limit is reached.
            LicenseLimitError: an enrollments contract has no enrollment left.
        """
        check_actor(actor)
        if not isinstance(actor, LearnerActor):
            raise PermissionDeniedError(f"{actor.describe()} may not enroll; learners enroll")
        now = self._now()
        clean_target = record_id(target_id, field="target_id")
        with self._uow() as uow:
            # the first read, as ingest's: an ingest of this learner's activity running at
            # the same time ends first, and this one then reads what it stored (or waits)
            uow.enrollments.lock_for_learners([actor.learner_id], [clean_target])
            program = uow.programs.get(record_id(program_id, field="program_id"))
            require_self(actor, program.organization_id, actor.learner_id, "enroll")
            membership = uow.memberships.find(program.id, actor.learner_id)
            if membership is None:
                raise NotFoundError("membership", program.id)
            membership.check_can_enroll()
            enrollment = self._enroll(
                uow,
                actor,
                program,
                membership,
                clean_target,
                enrolled_at=now,
                source_collection_id=source_collection_id,
                send_email=True,
            )
            uow.commit()
        return enrollment

    def record_enrollment(
        self,
        actor: Actor,
        program_id: str,
        learner_id: str,
        target_id: str,
        *,
        enrolled_at: datetime,
        unenrolled_at: datetime | None = None,
        source_collection_id: str | None = None,
    ) -> Enrollment:
        """Record an enrollment from history (an import), with its own times; no email.

        The rules of :meth:`enroll` apply except that the member may since have been removed
        (a DELETED_MEMBER who had joined), the contract may have ended, and the program's
        course enrollment limit is not checked (history is what happened). Recording the same
        enrollment again (same learner, target and enrollment time) returns the stored one
        and changes nothing.

        Args:
            actor: an organization admin, or the system actor (importers).
            program_id: the program the enrollment was made through.
            learner_id: a learner who joined the program.
            target_id: a catalog course or specialization record ID.
            enrolled_at: aware enrollment time.
            unenrolled_at: aware time the learner left it, or ``None`` if current.
            source_collection_id: the collection it was found in, or ``None``.

        Raises:
            PermissionDeniedError: not an organization admin or the system.
            NotFoundError: no such program, membership, course or specialization.
            ValidationError: naive times, an end before the start, a removed program, or a
                learner who never joined.
            ConflictError: another current enrollment in the same target exists.
            LicenseLimitError: an enrollments contract has no enrollment left.
        """
        record = EnrollmentRecord(
            record_id(learner_id, field="learner_id"),
            record_id(target_id, field="target_id"),
            utc(enrolled_at, field="enrolled_at"),
            optional_utc(unenrolled_at, field="unenrolled_at"),
            source_collection_id,
        )
        with self._uow() as uow:
            program = self._history_program(uow, actor, program_id)
            catalog = _Catalog.load(uow, program.organization_id)
            touched: list[Enrollment] = []
            history = _History.load(uow, program, [record])
            enrollment = self._record(uow, actor, program, catalog, history, record, touched)
            history.store(uow)
            self._refresh_enrollments(uow, catalog, touched)
            uow.commit()
        return enrollment

    def record_enrollments(
        self,
        actor: Actor,
        program_id: str,
        records: Iterable[EnrollmentRecord],
        *,
        on_progress: Callable[[int], None] | None = None,
    ) -> ImportResult:
        """Record many enrollments from history: :meth:`record_enrollment` in bulk.

        Records are stored :data:`~learnprog.services.history.IMPORT_CHUNK` at a time, each
        chunk in one unit of work with the figures of the enrollments it made; a record that
        breaks a rule is rejected with the reason and the others go on. Recording the same
        enrollments again reports them EXISTING and changes nothing.

        Args:
            actor: an organization admin, or the system actor (importers).
            program_id: the program the enrollments were made through.
            records: the enrollments, read lazily.
            on_progress: called with the number of records handled after each chunk.

        Returns:
            One result per record, in order, with the enrollment's ID.

        Raises:
            PermissionDeniedError: not an organization admin or the system.
            NotFoundError: no such program.
            ConcurrencyError: the database rolled a chunk back three times in a row (the
                chunks before it are stored; importing again finds them).
        """
        check_progress(on_progress)
        with self._uow() as uow:
            program = self._history_program(uow, actor, program_id)

        def decide(chunk: list[EnrollmentRecord], start: int) -> list[ImportedRecord]:
            results: list[ImportedRecord] = []
            with self._uow() as uow:
                well_formed = [r for r in chunk if _well_formed(r)]
                catalog = _Catalog.load_for(
                    uow, program.organization_id, {r.target_id for r in well_formed}
                )
                touched: list[Enrollment] = []  # new ones, stored together after the loop
                history = _History.load(uow, program, well_formed)
                for offset, record in enumerate(chunk):
                    made = len(touched)
                    try:
                        if not isinstance(record, EnrollmentRecord):
                            raise ValidationError("an EnrollmentRecord is required", field="record")
                        _check_record(record)
                        enrollment = self._record(
                            uow, actor, program, catalog, history, record, touched
                        )
                    except ConcurrencyError:
                        raise  # the chunk was rolled back, not this record refused: run_chunks
                    except (ValidationError, NotFoundError, ConflictError) as exc:
                        reason = str(exc)
                        results.append(ImportedRecord(start + offset, REJECTED, reason=reason))
                        continue
                    outcome = CREATED if len(touched) > made else EXISTING
                    results.append(ImportedRecord(start + offset, outcome, enrollment.id))
                # one multi-row insert; a current enrollment another import stored meanwhile
                # refuses the chunk (ConflictError), which run_chunks decides again
                history.store(uow)
                self._refresh_enrollments(uow, catalog, touched)
                uow.commit()
            return results

        return run_chunks(records, decide, on_progress=on_progress)

    def _history_program(self, uow: UnitOfWork, actor: Actor, program_id: str) -> Program:
        program = uow.programs.get(record_id(program_id, field="program_id"))
        grants = self._grants(uow, actor, program.organization_id)
        require_org_admin(
            actor, program.organization_id, grants, "import enrollments", allow_system=True
        )
        return program

    def _record(
        self,
        uow: UnitOfWork,
        actor: Actor,
        program: Program,
        catalog: _Catalog,
        history: _History,
        record: EnrollmentRecord,
        touched: list[Enrollment],
    ) -> Enrollment:
        """Decide one history enrollment unless stored already; new ones go to ``touched``.

        The caller stores them (:meth:`_History.store`) and refreshes their figures.
        """
        membership = history.memberships.get(record.learner_id)
        if membership is None:
            raise NotFoundError("membership", record.learner_id)
        if membership.joined_at is None:
            raise ValidationError(
                "the learner never joined the program", field="learner_id", value=record.learner_id
            )
        earlier = history.enrollments.setdefault((record.learner_id, record.target_id), [])
        for e in earlier:
            if e.enrolled_at == record.enrolled_at and e.program_id == program.id:
                return e
        if record.enrolled_at > self._now():  # history is what happened
            raise ValidationError(
                "an enrollment cannot start in the future",
                field="enrolled_at",
                value=record.enrolled_at,
            )
        end = record.unenrolled_at
        if end is not None and end < record.enrolled_at:
            raise ValidationError(
                "an enrollment cannot end before it starts", field="unenrolled_at", value=end
            )
        if end is not None and end > self._now():
            raise ValidationError("an enrollment cannot end in the future", field="unenrolled_at")
        for e in earlier:  # an event belongs to one enrollment: windows never overlap
            other_end = e.unenrolled_at
            if (end is None or e.enrolled_at < end) and (
                other_end is None or record.enrolled_at < other_end
            ):
                raise ValidationError(
                    f"the enrollment overlaps enrollment {e.id} in the same target",
                    field="enrolled_at",
                    value=record.enrolled_at,
                )
        enrollment = self._enroll(
            uow,
            actor,
            program,
            membership,
            record.target_id,
            enrolled_at=record.enrolled_at,
            unenrolled_at=record.unenrolled_at,
            source_collection_id=record.source_collection_id,
            send_email=False,
            history=True,
            catalog=catalog,
            known=earlier,
        )
        if record.figures is not None:
            history.figures.append(record.figures.for_enrollment(enrollment.id))
        history.made.append(enrollment)
        touched.append(enrollment)
        earlier.append(enrollment)
        return enrollment

    def unenroll(self, actor: Actor, enrollment_id: str) -> Enrollment:
        """End the acting learner's current enrollment.

        The enrollment stays on record (it counts in total enrollments); its figures keep only
        the activity before it ended, and a later enrollment in the same course starts fresh.
        An enrollment an enrollments contract used is not given back.

        Raises:
            PermissionDeniedError: not the learner of the enrollment.
            NotFoundError: no such enrollment.
            ConflictError: it has ended already.
        """
        with self._uow() as uow:
            enrollment = uow.enrollments.get(record_id(enrollment_id, field="enrollment_id"))
            require_self(actor, enrollment.organization_id, enrollment.learner_id, "unenroll")
            after = self._end(uow, actor, enrollment, self._now())
            uow.commit()
        return after

    def enrollments(
        self, actor: Actor, program_id: str, *, learner_id: str | None = None
    ) -> Sequence[Enrollment]:
        """Return the enrollments made through a program, oldest first (current and ended).

        Args:
            actor: an admin of the program, or a learner asking for their own
                (``learner_id`` must then be theirs).
            program_id: the program.
            learner_id: only this learner's enrollments.

        Raises:
            PermissionDeniedError: neither an admin of the program nor the learner.
        """
        with self._uow() as uow:
            program = uow.programs.get(record_id(program_id, field="program_id"))
            if isinstance(actor, LearnerActor) and learner_id == actor.learner_id:
                require_self(actor, program.organization_id, learner_id, "see enrollments")
                found = uow.enrollments.list_for_learner(learner_id)
                return [e for e in found if e.program_id == program.id]
            self._program(uow, actor, program.id, "see enrollments")
            every = uow.enrollments.list_for_program(program.id)
            return [e for e in every if learner_id is None or e.learner_id == learner_id]

    def progress(self, actor: Actor, enrollment_id: str) -> EnrollmentProgress:
        """Return an enrollment's figures (progress, hours, completion, grade, risk).

        Raises:
            PermissionDeniedError: neither an admin of its program nor its learner.
            NotFoundError: no such enrollment.
        """
        with self._uow() as uow:
            enrollment = uow.enrollments.get(record_id(enrollment_id, field="enrollment_id"))
            if not (isinstance(actor, LearnerActor) and actor.learner_id == enrollment.learner_id):
                self._program(uow, actor, enrollment.program_id, "see learner progress")
            figures = uow.progress.get_many([enrollment.id])
            return figures.get(enrollment.id, EnrollmentProgress(enrollment.id))

    def program_for_learner(
        self, actor: Actor, program_id: str, *, learner_id: str | None = None
    ) -> LearnerProgramView:
        """Return the program as a learner sees it, with what they may still enroll in.

        A learner may enroll in an entry when they are a MEMBER, are not currently enrolled in
        it, and (for a course) are under the program's course enrollment limit and their
        contract is running with an enrollment left (an enrollments contract).

        Args:
            actor: the learner, for themself; or an admin of the program previewing it as
                ``learner_id`` sees it.
            program_id: the program.
            learner_id: the learner to preview as (admins only); default the acting learner.

        Raises:
            PermissionDeniedError: a learner asking for another learner, or an actor who is
                neither the learner nor an admin of the program.
            NotFoundError: no such program.
            ValidationError: an admin without ``learner_id``.
        """
        with self._uow() as uow:
            program = uow.programs.get(record_id(program_id, field="program_id"))
            if isinstance(actor, LearnerActor) and learner_id in (None, actor.learner_id):
                require_self(actor, program.organization_id, actor.learner_id, "see programs")
                who = actor.learner_id
            else:
                self._program(uow, actor, program.id, "preview the program as a learner")
                if learner_id is None:
                    raise ValidationError("name the learner to preview as", field="learner_id")
                who = record_id(learner_id, field="learner_id")
            preview = program_preview(uow, program)
            membership = uow.memberships.find(program.id, who)
            contract = None if membership is None else uow.contracts.get(membership.contract_id)
            now = self._now()
            current = {e.target_id for e in uow.enrollments.list_for_learner(who) if e.is_current}
            limit = program.course_enrollment_limit
            left = (
                None
                if limit is None
                else max(limit - uow.enrollments.count_current_courses(program.id, who), 0)
            )
        options: dict[str, EnrollmentOption] = {}
        for collection in preview.collections:
            for entry in collection.entries:
                reason = None
                if membership is None or membership.state is not MemberState.MEMBER:
                    reason = "not a member"
                elif entry.target_id in current:
                    reason = "enrolled"
                elif program.is_removed:
                    reason = "program removed"
                elif entry.kind is EntryKind.COURSE and left == 0:
                    reason = "course enrollment limit reached"
                elif contract is not None and entry.kind is EntryKind.COURSE:
                    if not contract.is_active(now):
                        reason = "contract not running"
                    elif contract.kind is ContractKind.ENROLLMENTS and contract.remaining == 0:
                        reason = "no enrollment left"
                options.setdefault(entry.target_id, EnrollmentOption(entry, reason is None, reason))
        return LearnerProgramView(preview, left, tuple(options.values()))

    # --- activity -------------------------------------------------------------------------

    def ingest(
        self,
        actor: Actor,
        organization_id: str,
        *,
        events: Iterable[LearningEvent] = (),
        attempts: Iterable[AssessmentAttempt] = (),
        on_progress: Callable[[int], None] | None = None,
    ) -> IngestResult:
        """Store learning activity and bring the derived figures up to date.

        Idempotent by record ID per organization: a record whose ID is stored already is
        skipped and counted as a duplicate, so sending a batch twice counts it once. Records
        of one learner may come in any order; figures do not depend on it. Records are
        processed :data:`INGEST_CHUNK` at a time, each chunk in one unit of work with the
        recomputation of the (learner, course) pairs it touches: a failure loses at most the
        chunk in progress and never leaves records without their figures.

        A record is refused (and reported with its position, the others going on) when one of
        its IDs (``id``, ``learner_id``, ``course_id``, ``item_id`` or ``assessment_id``) is
        not 1-64 characters on one line (no control characters or lone surrogates: checked
        before any query, the same on every backend; the field is named), its learner is not
        in the organization, its course is not in the catalog, its item or assessment is not
        in the course, or it is dated more than :data:`INGEST_CLOCK_SKEW` after the Clock's
        now.
        A record outside every enrollment window of its learner is stored and counts toward
        nothing until an enrollment that covers it is recorded.

        Workers may ingest at once, for the same enrollments too (issue 17, section 3): each
        chunk locks the enrollments it may change before reading, so the stored figures always
        equal those computed from every stored record, and the counts are of rows this call
        stored (a batch delivered twice at once is added once, the other delivery counted as
        duplicates). A chunk rolled back as a deadlock is run again, up to
        :data:`INGEST_ATTEMPTS` times.

        Args:
            actor: an organization admin, or the system actor (a host app's activity feed).
            organization_id: the organization.
            events: item events (started or completed).
            attempts: assessment attempts (grade 0-100).
            on_progress: called with the number of records handled so far after each chunk.

        Raises:
            PermissionDeniedError: not an organization admin or the system.
            NotFoundError: no such organization.
            ConcurrencyError: a chunk was rolled back as a deadlock :data:`INGEST_ATTEMPTS`
                times in a row (the chunks before it are stored; sending the batch again is
                safe).
        """
        check_progress(on_progress)
        with self._as_org_admin(actor, organization_id, "ingest activity", allow_system=True) as (
            uow,
            _org,
        ):
            catalog = _Catalog.load(uow, organization_id)
        state = _IngestState(organization_id, catalog, self._now() + INGEST_CLOCK_SKEW)
        for source, records in (("events", events), ("attempts", attempts)):
            index = 0
            for chunk in chunks(records, INGEST_CHUNK, field=source):
                self._ingest_chunk(state, source, chunk, index)
                index += len(chunk)
                state.handled += len(chunk)
                if on_progress is not None:
                    on_progress(state.handled)
        return IngestResult(
            events_added=state.added["events"],
            attempts_added=state.added["attempts"],
            duplicates=state.duplicates,
            rejected=tuple(state.rejected),
            enrollments_updated=len(state.updated),
            outside_enrollments=state.outside,
        )

    @retry_on(ConcurrencyError, attempts=INGEST_ATTEMPTS)
    def _ingest_chunk(
        self, state: _IngestState, source: str, chunk: Sequence[object], start: int
    ) -> None:
        """Store one chunk and recompute the figures it changes, in one unit of work.

        The enrollments (course and specialization) of the chunk's learners in its courses are
        locked first, before anything is read, so two workers ingesting activity of the same
        enrollment take turns: the second reads the events and attempts the first stored
        (issue 17, section 3). The chunk's counts reach ``state`` only once it is committed;
        a run the database rolled back as a deadlock is run again.
        """
        with self._uow() as uow:
            stored = state.store(uow, source, chunk, start)
            windows = self._add_ingested(uow, state.catalog, stored)
            uow.commit()
        state.account(stored, windows)

    # --- members list and ratings ---------------------------------------------------------

    def members_list(
        self,
        actor: Actor,
        program_id: str,
        *,
        search: str | None = None,
        state: MemberState | str | None = None,
        status: str | None = None,
        contract_id: str | None = None,
        order: str = "name",
        descending: bool = False,
        offset: int = 0,
        limit: int = 50,
    ) -> MemberPage:
        """Return one page of a program's members list (guide, "Members").

        Each row has the learner, the membership and the status of
        :func:`learnprog.model.progress.member_status` at the clock's now: current course
        enrollments, completions, last activity, inactive and at risk. On SQL storage the page
        and its total are one query.

        Args:
            actor: an admin of the program.
            program_id: the program.
            search: a case-insensitive piece of the name or email.
            state: INVITED, MEMBER or DELETED_MEMBER.
            status: an :class:`~learnprog.model.progress.ActivityStatus` value
                (``no_enrollment``, ``enrolled``, ``completed``, ``inactive``, ``at_risk``).
            contract_id: only memberships on this contract.
            order: ``name``, ``email``, ``invited_at``, ``joined_at``, ``last_activity`` or
                ``enrollments``.
            descending: reverse the order.
            offset: rows to skip.
            limit: the page size, 1-1000.

        Raises:
            PermissionDeniedError: not an admin of the program.
            ValidationError: a bad filter, order or paging value (the field is named).
        """
        with self._uow() as uow:
            program = self._program(uow, actor, program_id, "see the program's members")
            query = MemberQuery.create(
                program.id,
                search=search,
                state=state,
                status=status,
                contract_id=contract_id,
                order=order,
                descending=descending,
                offset=offset,
                limit=limit,
            )
            return uow.progress.member_page(query, self._now())

    def rate_course(
        self,
        actor: Actor,
        program_id: str,
        course_id: str,
        *,
        rating: int,
        recommend: int | None = None,
        comment: str | None = None,
    ) -> Feedback:
        """Rate a course the acting learner enrolled in through the program.

        Guide, "Learner Feedback". A new rating replaces the learner's earlier one.

        Args:
            actor: the learner, for themself.
            program_id: the program the course was taken in.
            course_id: the course's record ID.
            rating: 1-5 stars.
            recommend: likelihood to recommend, 0-10, or ``None``.
            comment: free text, or ``None``.

        Raises:
            PermissionDeniedError: not a learner acting for themself.
            NotFoundError: the learner never enrolled in the course through the program.
            ValidationError: a rating outside 1-5 or a recommendation outside 0-10.
        """
        check_actor(actor)
        if not isinstance(actor, LearnerActor):
            raise PermissionDeniedError(f"{actor.describe()} may not rate courses")
        with self._uow() as uow:
            program = uow.programs.get(record_id(program_id, field="program_id"))
            require_self(actor, program.organization_id, actor.learner_id, "rate courses")
            course = record_id(course_id, field="course_id")
            try:
                rated = uow.courses.get(course)
            except NotFoundError as exc:
                raise NotFoundError("course", course) from exc
            if rated.organization_id != program.organization_id:
                raise NotFoundError("course", course)
            taken = [
                e
                for e in uow.enrollments.list_for_learner(actor.learner_id, [course])
                if e.program_id == program.id
            ]
            if not taken:
                raise NotFoundError(
                    f"enrollment through program {program.slug.value!r} in course", rated.slug
                )
            feedback = Feedback.create(
                actor.learner_id,
                course,
                program.id,
                rating=rating,
                now=self._now(),
                recommend=recommend,
                comment=comment,
            )
            uow.feedback.put(feedback)
            uow.commit()
        return feedback

    def course_rating(
        self, actor: Actor, program_id: str, *, course_id: str | None = None
    ) -> RatingSummary:
        """Return the average rating in a program, of one course or of all its courses.

        Raises:
            PermissionDeniedError: not an admin of the program.
        """
        with self._uow() as uow:
            program = self._program(uow, actor, program_id, "see course ratings")
            average, count = uow.feedback.rating_summary(
                program_id=program.id,
                course_id=None if course_id is None else record_id(course_id, field="course_id"),
            )
        return RatingSummary(average, count)

    # --- shared steps ---------------------------------------------------------------------

    def _enroll(
        self,
        uow: UnitOfWork,
        actor: Actor,
        program: Program,
        membership: Membership,
        target_id: str,
        *,
        enrolled_at: datetime,
        source_collection_id: str | None,
        send_email: bool,
        unenrolled_at: datetime | None = None,
        history: bool = False,
        catalog: _Catalog | None = None,
        known: Sequence[Enrollment] | None = None,
    ) -> Enrollment:
        """Store a new enrollment, and its figures unless the caller passes ``catalog``.

        A caller that passes ``catalog`` refreshes the enrollments it made, together. A caller
        that passes ``known`` (every enrollment of the learner in the target, read in bulk and
        kept up to date) has the current one found there instead of by a query, and stores the
        enrollment itself (``EnrollmentRepository.add_many``, before refreshing): it is not
        staged here.
        """
        if program.is_removed:
            raise ValidationError("the program has been removed", field="program_id")
        refresh = catalog is None
        catalog = catalog or _Catalog.load(uow, program.organization_id)
        kind = EntryKind.COURSE
        if target_id in catalog.specializations:
            kind = EntryKind.SPECIALIZATION
        elif target_id not in catalog.courses:
            raise NotFoundError("course or specialization", target_id)
        if source_collection_id is not None:
            source = catalog.collection(
                uow, record_id(source_collection_id, field="source_collection_id")
            )
            if source.program_id != program.id or all(
                entry.target_id != target_id for entry in source.entries
            ):
                raise ValidationError(
                    "the source collection is not in the program or does not hold this target",
                    field="source_collection_id",
                    value=source_collection_id,
                )
        if unenrolled_at is None and (
            any(e.is_current for e in known)
            if known is not None
            else uow.enrollments.find_current(membership.learner_id, target_id) is not None
        ):
            raise ConflictError(
                "the learner is enrolled in it already", kind="enrollment", key=target_id
            )
        contract = catalog.contract(uow, membership.contract_id)
        if kind is EntryKind.COURSE:
            limit = program.course_enrollment_limit
            if (
                not history
                and limit is not None
                and uow.enrollments.count_current_courses(program.id, membership.learner_id)
                >= limit
            ):
                raise EnrollmentLimitError(
                    f"the program allows {limit} current course enrollments per learner",
                    kind="enrollment",
                    key=membership.learner_id,
                )
            if not history:
                contract.check_active(enrolled_at)
            if contract.kind is ContractKind.ENROLLMENTS and not uow.contracts.take(contract.id):
                raise LicenseLimitError(
                    f"contract {contract.name!r} has no enrollment left ({contract.quantity} used)",
                    kind="contract",
                    key=contract.id,
                )
        enrollment = Enrollment.create(
            program.organization_id,
            program.id,
            membership.learner_id,
            kind=kind,
            target_id=target_id,
            contract_id=contract.id,
            now=enrolled_at,
            source_collection_id=source_collection_id,
        )
        if unenrolled_at is not None:
            enrollment = enrollment.unenroll(unenrolled_at)
        if known is None:
            uow.enrollments.add(enrollment)
        self._audit_created(
            uow,
            actor,
            "enrollment.add",
            enrollment,
            organization_id=program.organization_id,
            program_id=program.id,
        )
        if refresh:
            self._refresh_enrollments(uow, catalog, [enrollment])
        if send_email:
            org = uow.organizations.get(program.organization_id)
            learner = uow.learners.get(membership.learner_id)
            if kind is EntryKind.COURSE:
                course = catalog.courses[target_id]
                template = COURSE_WELCOME
                extra = {"course": course_context(course.name, course.partner)}
            else:
                spec = catalog.specializations[target_id]
                template = SPECIALIZATION_WELCOME
                extra = {
                    "specialization": specialization_context(
                        spec.name, spec.partner, course_count=len(spec.course_ids)
                    )
                }
            self._mail.queue(
                uow,
                self._mail.system_message(
                    template, organization=org, program=program, learner=learner, extra=extra
                ),
            )
        return enrollment

    def _end(
        self, uow: UnitOfWork, actor: Actor, enrollment: Enrollment, at: datetime
    ) -> Enrollment:
        after = enrollment.unenroll(at)
        uow.enrollments.update(after)
        self._audit_change(
            uow,
            actor,
            "enrollment.end",
            enrollment,
            after,
            object_type="enrollment",
            program_id=enrollment.program_id,
        )
        catalog = _Catalog.load(uow, enrollment.organization_id)
        self._refresh_enrollments(uow, catalog, [after])
        return after

    def _refresh_enrollments(
        self, uow: UnitOfWork, catalog: _Catalog, enrollments: Sequence[Enrollment]
    ) -> None:
        """Recompute the figures of new or ended enrollments (and what depends on them)."""
        pairs = {(e.learner_id, e.target_id) for e in enrollments if e.kind is EntryKind.COURSE}
        self._refresh(uow, catalog, pairs)
        specs: dict[str, set[str]] = {}
        for e in enrollments:
            if e.kind is EntryKind.SPECIALIZATION:
                specs.setdefault(e.learner_id, set()).add(e.target_id)
        for learner_id, spec_ids in specs.items():
            self._refresh_specializations(uow, catalog, learner_id, sorted(spec_ids))

    def _refresh(
        self,
        uow: UnitOfWork,
        catalog: _Catalog,
        pairs: Iterable[tuple[str, str]],
        *,
        locked: Sequence[Enrollment] | None = None,
    ) -> dict[tuple[str, str], list[Enrollment]]:
        """Recompute the figures of the enrollments of (learner, course) pairs.

        The learners' specialization enrollments that include those courses are recomputed too.
        The enrollments are locked before the records are read
        (:meth:`~learnprog.storage.ports.EnrollmentRepository.lock_for_learners`), unless the
        caller locked them already and passes them as ``locked`` (every enrollment of the
        pairs' learners in the pairs' courses and in the specializations holding them).
        Returns the course enrollments found, by pair (a pair without any is absent).
        """
        wanted = {(lr, c) for lr, c in pairs if c in catalog.courses}
        if not wanted:
            return {}
        learners = sorted({lr for lr, _ in wanted})
        courses = sorted({c for _, c in wanted})
        if locked is None:
            locked = uow.enrollments.lock_for_learners(learners, courses)
        by_pair: dict[tuple[str, str], list[Enrollment]] = {}
        for e in locked:
            if e.kind is EntryKind.COURSE and (e.learner_id, e.target_id) in wanted:
                by_pair.setdefault((e.learner_id, e.target_id), []).append(e)
        figures: list[EnrollmentProgress] = []
        tallies: list[ActivityTally] = []
        days: list[DailyActivity] = []
        if by_pair:
            events, attempts = self._records_of(uow, by_pair)
            imported = uow.progress.get_imported([e.id for es in by_pair.values() for e in es])
            for pair, enrollments in by_pair.items():
                course = catalog.courses[pair[1]]
                for e in enrollments:
                    update = ActivityTally.of_records(
                        e, course, events.get(pair, ()), attempts.get(pair, ())
                    )
                    tallies.append(update.tally)
                    figures.append(with_imported(update.tally.figures(course), imported.get(e.id)))
                    days += update.days
        uow.progress.put_many(figures)
        uow.progress.put_tallies(tallies)
        uow.progress.put_days([f.enrollment_id for f in figures], days)
        self._refresh_specializations_of(uow, catalog, wanted)
        return by_pair

    def _add_ingested(
        self, uow: UnitOfWork, catalog: _Catalog, stored: _StoredChunk
    ) -> dict[tuple[str, str], list[Enrollment]]:
        """Add a chunk's stored records to the figures of the enrollments they touch.

        Each course enrollment's :class:`~learnprog.model.tally.ActivityTally` takes the
        records in its window; one without a tally, or given an item event older than its
        latest, is recomputed from all its stored records instead (``docs/learning.md``,
        "Ingest speed"). Either way its figures are those of every stored record. The
        enrollments were locked by :meth:`_IngestState.store` before anything was read.
        Returns the course enrollments of the touched pairs, by pair.
        """
        wanted = {pair for pair in stored.touched if pair[1] in catalog.courses}
        if not wanted:
            return {}
        by_pair: dict[tuple[str, str], list[Enrollment]] = {}
        for e in stored.locked:
            if e.kind is EntryKind.COURSE and (e.learner_id, e.target_id) in wanted:
                by_pair.setdefault((e.learner_id, e.target_id), []).append(e)
        new_events: dict[tuple[str, str], list[LearningEvent]] = {}
        new_attempts: dict[tuple[str, str], list[AssessmentAttempt]] = {}
        for r in stored.records:
            if isinstance(r, LearningEvent):
                new_events.setdefault((r.learner_id, r.course_id), []).append(r)
            else:
                new_attempts.setdefault((r.learner_id, r.course_id), []).append(r)
        tallies = uow.progress.get_tallies([e.id for es in by_pair.values() for e in es])
        updates: list[tuple[Enrollment, Course, TallyUpdate]] = []
        redo: dict[tuple[str, str], list[Enrollment]] = {}
        for pair, enrollments in by_pair.items():
            course = catalog.courses[pair[1]]
            for e in enrollments:
                tally = tallies.get(e.id)
                update = (
                    None
                    if tally is None
                    else tally.add(e, course, new_events.get(pair, ()), new_attempts.get(pair, ()))
                )
                if update is None:
                    redo.setdefault(pair, []).append(e)
                elif update.changed:
                    updates.append((e, course, update))
        full: list[tuple[Enrollment, Course, TallyUpdate]] = []
        if redo:
            events, attempts = self._records_of(uow, redo)
            for pair, enrollments in redo.items():
                course = catalog.courses[pair[1]]
                for e in enrollments:
                    full.append(
                        (
                            e,
                            course,
                            ActivityTally.of_records(
                                e, course, events.get(pair, ()), attempts.get(pair, ())
                            ),
                        )
                    )
        imported = uow.progress.get_imported([e.id for e, _, _ in updates + full])
        uow.progress.put_many(
            [
                with_imported(u.tally.figures(course), imported.get(e.id))
                for e, course, u in updates + full
            ]
        )
        uow.progress.put_tallies([u.tally for _, _, u in updates + full])
        if full:
            uow.progress.put_days(
                [e.id for e, _, _ in full], [d for _, _, u in full for d in u.days]
            )
        since = [(e, u) for e, _, u in updates if u.days]
        if since:
            uow.progress.put_days_since(
                {e.id: u.since or date.min for e, u in since}, [d for _, u in since for d in u.days]
            )
        self._refresh_specializations_of(uow, catalog, wanted)
        return by_pair

    @staticmethod
    def _records_of(
        uow: UnitOfWork, pairs: Iterable[tuple[str, str]]
    ) -> tuple[
        dict[tuple[str, str], list[LearningEvent]], dict[tuple[str, str], list[AssessmentAttempt]]
    ]:
        """Read every stored event and attempt of (learner, course) pairs, course by course.

        Course by course, so a learner's records in courses not asked for are not read.
        """
        by_course: dict[str, list[str]] = {}
        for lr, c in sorted(pairs):
            by_course.setdefault(c, []).append(lr)
        events: dict[tuple[str, str], list[LearningEvent]] = {}
        attempts: dict[tuple[str, str], list[AssessmentAttempt]] = {}
        for course_id, learners in by_course.items():
            for ev in uow.activity.events_for(learners, [course_id]):
                events.setdefault((ev.learner_id, ev.course_id), []).append(ev)
            for at in uow.activity.attempts_for(learners, [course_id]):
                attempts.setdefault((at.learner_id, at.course_id), []).append(at)
        return events, attempts

    def _refresh_specializations_of(
        self, uow: UnitOfWork, catalog: _Catalog, wanted: Iterable[tuple[str, str]]
    ) -> None:
        """Recompute the learners' specialization enrollments holding the pairs' courses."""
        specs_by_learner: dict[str, set[str]] = {}
        for learner_id, course_id in wanted:
            for spec in catalog.specializations_with(course_id):
                specs_by_learner.setdefault(learner_id, set()).add(spec.id)
        if specs_by_learner:
            spec_ids = sorted({sid for ids in specs_by_learner.values() for sid in ids})
            holders = {
                e.learner_id
                for e in uow.enrollments.lock_for_learners(sorted(specs_by_learner), spec_ids)
            }
            for learner_id in sorted(holders):
                self._refresh_specializations(
                    uow, catalog, learner_id, sorted(specs_by_learner[learner_id])
                )

    @staticmethod
    def _refresh_specializations(
        uow: UnitOfWork, catalog: _Catalog, learner_id: str, spec_ids: Sequence[str]
    ) -> None:
        spec_enrollments = uow.enrollments.lock_for_learners([learner_id], spec_ids)
        if not spec_enrollments:
            return
        course_ids = sorted({c for s in spec_ids for c in catalog.specializations[s].course_ids})
        current = {
            e.target_id: e
            for e in uow.enrollments.list_for_learner(learner_id, course_ids)
            if e.is_current and e.kind is EntryKind.COURSE
        }
        stored = uow.progress.get_many([e.id for e in current.values()])
        courses = {
            cid: (
                len(catalog.courses[cid].items),
                stored.get(current[cid].id) if cid in current else None,
            )
            for cid in course_ids
        }
        imported = uow.progress.get_imported([e.id for e in spec_enrollments])
        uow.progress.put_many(
            [
                with_imported(
                    specialization_progress(e, catalog.specializations[e.target_id], courses),
                    imported.get(e.id),
                )
                for e in spec_enrollments
            ]
        )


@frozen
class _StoredChunk:
    """What one chunk's unit of work stored (counted into the call once it is committed)."""

    source: str  # "events" or "attempts"
    added: int
    duplicates: int
    rejected: tuple[RejectedRecord, ...]
    touched: frozenset[tuple[str, str]]  # (learner, course) pairs with a record stored
    stored_times: tuple[tuple[tuple[str, str], datetime], ...]
    locked: tuple[Enrollment, ...]  # the chunk's learners' enrollments, locked
    records: tuple[_Record, ...] = ()  # the records stored (not those another call stored)


class _IngestState:
    """Counters and caches of one :meth:`LearningService.ingest` call."""

    def __init__(self, organization_id: str, catalog: _Catalog, latest: datetime) -> None:
        self.organization_id = organization_id
        self.catalog = catalog
        self.latest = latest  # the latest time a record may carry
        self.items = {cid: {i.id for i in c.items} for cid, c in catalog.courses.items()}
        self.assessments = {
            cid: {a.id for a in c.assessments} for cid, c in catalog.courses.items()
        }
        self.specializations = {
            cid: sorted(s.id for s in catalog.specializations_with(cid)) for cid in catalog.courses
        }
        self.learners: set[str] = set()  # known to be in the organization
        self.good_ids: set[str] = set()  # learner, course, item, assessment IDs checked
        self.added = {"events": 0, "attempts": 0}
        self.duplicates = 0
        self.rejected: list[RejectedRecord] = []
        self.updated: set[str] = set()  # enrollment IDs, distinct over the whole call
        self.outside = 0
        self.handled = 0

    def account(
        self, stored: _StoredChunk, windows: Mapping[tuple[str, str], Sequence[Enrollment]]
    ) -> None:
        """Count a committed chunk: its records, recomputed enrollments and records outside."""
        self.added[stored.source] += stored.added
        self.duplicates += stored.duplicates
        self.rejected += stored.rejected
        for enrollments in windows.values():
            self.updated.update(e.id for e in enrollments)
        self.outside += sum(
            1
            for pair, at in stored.stored_times
            if not any(in_window(e, at) for e in windows.get(pair, ()))
        )

    def store(
        self, uow: UnitOfWork, source: str, chunk: Sequence[object], start: int
    ) -> _StoredChunk:
        """Lock the chunk's enrollments, then check and stage its records (nothing counted)."""
        wanted = LearningEvent if source == "events" else AssessmentAttempt
        rejected: list[RejectedRecord] = []
        records: list[tuple[int, _Record]] = []
        for offset, record in enumerate(chunk):
            if not isinstance(record, wanted):
                rid = str(getattr(record, "id", ""))
                why = f"not a {wanted.__name__}: {type(record).__name__}"
                rejected.append(RejectedRecord(source, start + offset, rid, why))
                continue
            try:  # before any query: a lone surrogate or NUL must not reach the driver
                _check_ids(record, self.good_ids)
            except ValidationError as exc:
                rejected.append(
                    RejectedRecord(source, start + offset, record.id, str(exc), exc.field)
                )
                continue
            records.append((start + offset, record))
        locked = self._lock(uow, records)
        unknown = {r.learner_id for _, r in records if r.learner_id not in self.learners}
        if unknown:
            found = uow.learners.get_many(sorted(unknown))
            self.learners.update(
                i for i, person in found.items() if person.organization_id == self.organization_id
            )
        fresh: list[_Record] = []
        duplicates = 0
        seen: set[str] = set()
        for index, record in records:
            reason = self._problem(record)
            if reason is not None:
                rejected.append(RejectedRecord(source, index, record.id, reason))
            elif record.id in seen:
                duplicates += 1
            else:
                seen.add(record.id)
                fresh.append(record)
        if source == "events":
            ids = uow.activity.add_events(
                self.organization_id, [r for r in fresh if isinstance(r, LearningEvent)]
            )
        else:
            ids = uow.activity.add_attempts(
                self.organization_id, [r for r in fresh if isinstance(r, AssessmentAttempt)]
            )
        kept = tuple(r for r in fresh if r.id in ids)
        stored_times = tuple(
            (
                (r.learner_id, r.course_id),
                r.at if isinstance(r, LearningEvent) else r.submitted_at,
            )
            for r in kept
        )
        return _StoredChunk(
            source=source,
            added=len(ids),
            duplicates=duplicates + len(fresh) - len(ids),
            rejected=tuple(rejected),
            touched=frozenset(pair for pair, _ in stored_times),
            stored_times=stored_times,
            locked=tuple(locked),
            records=kept,
        )

    def _lock(
        self, uow: UnitOfWork, records: Sequence[tuple[int, _Record]]
    ) -> Sequence[Enrollment]:
        """Lock the enrollments the records may change, before the unit of work reads anything.

        Those of the records' learners in the records' courses and in the specializations that
        hold them (:meth:`~learnprog.storage.ports.EnrollmentRepository.lock_for_learners`).
        """
        learners: set[str] = set()
        targets: set[str] = set()
        for _, record in records:
            if record.course_id in self.items:
                learners.add(record.learner_id)
                targets.add(record.course_id)
                targets.update(self.specializations[record.course_id])
        if not learners:
            return ()
        return uow.enrollments.lock_for_learners(sorted(learners), sorted(targets))

    def _course(self, course_id: str) -> str:
        course = self.catalog.courses[course_id]
        return f"course {course.slug!r} ({course_id})"

    def _problem(self, record: _Record) -> str | None:
        if record.learner_id not in self.learners:
            return f"learner {record.learner_id!r} is not in the organization"
        if record.course_id not in self.items:
            return f"course {record.course_id!r} is not in the catalog"
        if isinstance(record, LearningEvent):
            if record.item_id not in self.items[record.course_id]:
                return f"item {record.item_id!r} is not in {self._course(record.course_id)}"
            name, at = "at", record.at
        elif record.assessment_id not in self.assessments[record.course_id]:
            return f"assessment {record.assessment_id!r} is not in {self._course(record.course_id)}"
        else:
            name, at = "submitted_at", record.submitted_at
        if at > self.latest:
            return (
                f"field {name!r}: {at.isoformat()} is in the future (more than "
                f"{INGEST_CLOCK_SKEW} after now)"
            )
        return None
