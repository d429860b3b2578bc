"""Importing history: memberships and enrollments that happened elsewhere, with their own times.

Organizations bring their past (admin exports, the OULAD dataset) through these records. An
import sends no email, is chunked (each chunk one unit of work, all or nothing), reports one
result per record with its position, and is idempotent: importing the same records again finds
them stored and changes nothing.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from itertools import islice
from typing import Generic, Protocol, TypeVar

from attrs import field, frozen

from learnprog.errors import ConcurrencyError, ConflictError, ValidationError
from learnprog.model._rules import to_optional_utc, to_utc
from learnprog.model.progress import ImportedFigures

T = TypeVar("T")

IMPORT_CHUNK = 1000
"""Records decided and stored per unit of work by a history import."""


class ImportOutcome(enum.StrEnum):
    """What happened to one imported record."""

    CREATED = "created"
    EXISTING = "existing"
    REJECTED = "rejected"


@frozen
class ImportedRecord:
    """The result of one record of a history import.

    Attributes:
        index: the record's position in the input, from 0.
        outcome: created, existing (stored before: nothing changed) or rejected.
        record_id: the stored record's ID (the learner for a membership, the enrollment for an
            enrollment), or ``None`` when rejected.
        reason: why it was rejected (naming the field), or ``None``.
    """

    index: int
    outcome: ImportOutcome
    record_id: str | None = None
    reason: str | None = None


class _Outcome(Protocol):
    @property
    def outcome(self) -> ImportOutcome: ...


ResultT = TypeVar("ResultT", bound=_Outcome)


class OutcomeCounts(Generic[ResultT]):
    """The counts of a result made of one outcome per record or line (``_results``)."""

    __slots__ = ()

    def _results(self) -> Sequence[ResultT]:
        raise NotImplementedError

    def count(self, outcome: ImportOutcome) -> int:
        """Return how many records or lines had ``outcome``."""
        return sum(1 for r in self._results() if r.outcome is outcome)

    @property
    def created(self) -> int:
        """Records or lines stored by this import."""
        return self.count(ImportOutcome.CREATED)

    @property
    def existing(self) -> int:
        """Records or lines found stored already."""
        return self.count(ImportOutcome.EXISTING)

    @property
    def rejected(self) -> tuple[ResultT, ...]:
        """The records or lines refused, each with its reason."""
        return tuple(r for r in self._results() if r.outcome is ImportOutcome.REJECTED)


@frozen
class ImportResult(OutcomeCounts[ImportedRecord]):
    """Every record's result, in input order, and the counts."""

    records: tuple[ImportedRecord, ...]

    def _results(self) -> Sequence[ImportedRecord]:
        return self.records


@frozen
class MemberRecord:
    """A membership from history: a learner and when they were invited, joined and removed.

    The state follows from the times: removed (DELETED_MEMBER) when ``removed_at`` is set,
    else MEMBER when ``joined_at`` is set, else INVITED.

    Attributes:
        full_name: the learner's name.
        email: the learner's email address (the learner is found or made by it).
        invited_at: aware UTC invitation time.
        external_id: the learner's external ID, or ``None``.
        joined_at: aware UTC join time, or ``None``.
        removed_at: aware UTC removal time, or ``None``.
        profile: profile fields by name (``job_title``, ``location_region``...).
        attributes: free-form learner attributes.
        contract_id: the contract the membership draws on, when not the import's.
    """

    full_name: str
    email: str
    invited_at: datetime = field(converter=to_utc)
    external_id: str | None = None
    joined_at: datetime | None = field(default=None, converter=to_optional_utc)
    removed_at: datetime | None = field(default=None, converter=to_optional_utc)
    profile: Mapping[str, str | None] = field(factory=dict)
    attributes: Mapping[str, str] = field(factory=dict)
    contract_id: str | None = None


@frozen
class HistoryFigures:
    """An enrollment's figures as an admin export gave them (see :class:`ImportedFigures`).

    Attributes:
        progress: overall progress, percent 0-100.
        learning_seconds: estimated learning time in seconds (hours x 3600).
        last_activity_at: aware UTC last activity time, or ``None``.
        completed_at: aware UTC completion time, or ``None`` when not completed.
        grade: course grade, percent 0-100, or ``None``.
    """

    progress: float = 0.0
    learning_seconds: float = 0.0
    last_activity_at: datetime | None = field(default=None, converter=to_optional_utc)
    completed_at: datetime | None = field(default=None, converter=to_optional_utc)
    grade: float | None = None

    def for_enrollment(self, enrollment_id: str) -> ImportedFigures:
        """Return the figures as stored for an enrollment.

        Raises:
            ValidationError: a progress or grade outside 0-100, or negative seconds.
        """
        return ImportedFigures.create(
            enrollment_id,
            progress=self.progress,
            learning_seconds=self.learning_seconds,
            last_activity_at=self.last_activity_at,
            completed_at=self.completed_at,
            grade=self.grade,
        )


@frozen
class EnrollmentRecord:
    """An enrollment from history.

    Attributes:
        learner_id: the learner (a member, present or past, of the program).
        target_id: the catalog course's or specialization's record ID.
        enrolled_at: aware UTC enrollment time.
        unenrolled_at: aware UTC time it ended, or ``None`` while current.
        source_collection_id: the collection it was found in, or ``None``.
        figures: the figures an admin export gave it, kept as its imported history
            (:func:`learnprog.model.progress.with_imported`), or ``None``. Stored with a new
            enrollment only: an enrollment recorded before keeps its figures.
    """

    learner_id: str
    target_id: str
    enrolled_at: datetime = field(converter=to_utc)
    unenrolled_at: datetime | None = field(default=None, converter=to_optional_utc)
    source_collection_id: str | None = None
    figures: HistoryFigures | None = None


def chunks(records: Iterable[T], size: int, *, field: str = "records") -> Iterator[list[T]]:
    """Yield lists of at most ``size`` records, reading ``records`` lazily.

    Raises:
        ValidationError: ``records`` is not a collection or iterator of records (a string or
            a mapping is not either), naming ``field``.
    """
    if isinstance(records, str | bytes | Mapping) or not isinstance(records, Iterable):
        raise ValidationError(
            f"a list or iterator of records is required, not {type(records).__name__}",
            field=field,
        )
    iterator = iter(records)
    while chunk := list(islice(iterator, size)):
        yield chunk


def check_progress(on_progress: object) -> None:
    """Refuse a progress callback that cannot be called, before anything is written.

    Raises:
        ValidationError: ``on_progress`` is neither ``None`` nor callable.
    """
    if on_progress is not None and not callable(on_progress):
        raise ValidationError(
            "a progress callback is a function of the records handled so far",
            field="on_progress",
        )


CHUNK_ATTEMPTS = 3
"""How many times :func:`run_chunks` decides a chunk that the database rolls back."""


def run_chunks(
    records: Iterable[T],
    decide: Callable[[list[T], int], list[ImportedRecord]],
    *,
    size: int = IMPORT_CHUNK,
    on_progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Decide ``records`` a chunk at a time; ``decide(chunk, start)`` stores one chunk.

    Args:
        records: the input, read lazily.
        decide: stores a chunk in its own unit of work and returns each record's result; its
            second argument is the chunk's first input position.
        size: records per chunk.
        on_progress: called with the number of records handled after each chunk.

    A chunk that the database rolls back (a deadlock: ``ConcurrencyError``) or whose write a
    unique key refuses because a concurrent import stored one of its records first (a
    ``ConflictError``: each chunk looks its records up before writing) is decided again, up to
    :data:`CHUNK_ATTEMPTS` times: the next run finds what the other stored (EXISTING).

    Raises:
        ConcurrencyError, ConflictError: the chunk collided :data:`CHUNK_ATTEMPTS` times in a
            row (the chunks before it are stored).
    """
    check_progress(on_progress)
    results: list[ImportedRecord] = []
    start = 0
    for chunk in chunks(records, size):
        for attempt in range(CHUNK_ATTEMPTS):
            try:
                decided = decide(chunk, start)
                break
            except (ConcurrencyError, ConflictError):
                # rolled back (a deadlock), or a record stored meanwhile by a concurrent import
                # (a duplicate key): nothing of the chunk is stored, decide it again
                if attempt == CHUNK_ATTEMPTS - 1:
                    raise
        results += decided
        start += len(chunk)
        if on_progress is not None:
            on_progress(start)
    return ImportResult(tuple(results))
