"""What CSV imports share: lines decided chunk by chunk, each chunk in one unit of work.

Used by bulk invitation (:mod:`learnprog.services.roster`) and the catalog import
(:mod:`learnprog.services.course_import`). A run is an iterator of per-line results: the file
is read as a stream, one chunk (500 lines by default) is held at a time, and each chunk's writes
(records, audit entries, mail) are stored together or not at all. A
:class:`~learnprog.errors.ConflictError` while storing a chunk means another writer stored one
of its records meanwhile, and a :class:`~learnprog.errors.ConcurrencyError` that the database
rolled the chunk back (a deadlock); either way the chunk is decided again (at most three
times), reading what the other writer stored, so its results say what is stored. A dry run
decides every chunk in one unit of work that is never committed.

That unit of work is open from the first result until the iterator is exhausted or closed
(:meth:`ChunkedRun.close`, leaving the ``with`` block, or dropping the last reference to the
iterator), so a dry run's iterator must be consumed or closed. While it is open, memory and
SQLite storage let no other unit of work start: another learnprog call from inside the loop (or
the progress callback) raises :class:`~learnprog.errors.StorageError`, and other threads wait
for it. PostgreSQL and MariaDB allow both. A real run holds no unit of work between chunks.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Generator, Iterator
from contextlib import ExitStack
from typing import Any, Generic, Self, TypeVar

from learnprog.csvfiles import CsvRow
from learnprog.errors import ConcurrencyError, ConflictError, ValidationError
from learnprog.serialization import to_json_value
from learnprog.storage.ports import UnitOfWork

R = TypeVar("R")
TotalsT = TypeVar("TotalsT")

ATTEMPTS = 3
"""How many times a chunk is decided when concurrent writers collide with it."""


class ChunkedRun(Generic[R, TotalsT]):
    """A CSV import run: iterate it to process the file and get each line's result.

    Subclasses decide one chunk (:meth:`_decide`) and count one result (:meth:`_count`). Use a
    run as a context manager (or call :meth:`run`) so the file is closed.

    Attributes:
        totals: the counts of the results handed out so far.
    """

    def __init__(
        self,
        *,
        stack: ExitStack,
        rows: Iterator[CsvRow],
        uow_factory: Callable[[], UnitOfWork],
        dry_run: bool,
        chunk_size: int,
        progress: Callable[[int], None] | None,
        totals: TotalsT,
    ) -> None:
        if progress is not None and not callable(progress):
            stack.close()
            raise ValidationError(
                "a progress callback is a function of the lines handled so far", field="progress"
            )
        self._stack = stack
        self._rows = rows
        self._uow_factory = uow_factory
        self._dry_run = dry_run
        self._chunk_size = chunk_size
        self._progress = progress
        self._lines = 0
        self._active: weakref.WeakSet[Generator[R, None, None]] = weakref.WeakSet()
        self.totals = totals

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the run: release the dry run's unit of work (discarding it) and close the file.

        Safe to call more than once, and at any point of the iteration; lines not yet taken
        are not processed. Leaving a ``with`` block calls it.
        """
        for results in list(self._active):
            try:
                results.close()
            except ValueError:  # closed from inside its own loop (the progress callback)
                continue
        self._stack.close()

    def run(self) -> TotalsT:
        """Process every line and return the totals."""
        with self:
            for _ in self:
                pass
        return self.totals

    def __iter__(self) -> Iterator[R]:
        """Process the file as the results are taken; see the module's note on the dry run.

        Raises:
            StorageError: on memory or SQLite storage, a dry run iterated while another of its
                iterators (or any other unit of work of this thread) is open.
        """
        results = self._results()
        # weakly held: an iterator dropped without being exhausted or closed is finalized (its
        # dry run's unit of work released) as soon as nothing else refers to it
        self._active.add(results)
        return results

    def _results(self) -> Generator[R, None, None]:
        with ExitStack() as own:
            dry_uow = None
            if self._dry_run:  # one unit of work, never committed: exact and changes nothing
                dry_uow = own.enter_context(self._uow_factory())
            chunk: list[CsvRow] = []
            for row in self._rows:
                chunk.append(row)
                if len(chunk) >= self._chunk_size:
                    yield from self._chunk(chunk, dry_uow)
                    chunk = []
            if chunk:
                yield from self._chunk(chunk, dry_uow)

    def _chunk(self, rows: list[CsvRow], dry_uow: UnitOfWork | None) -> Iterator[R]:
        for attempt in range(ATTEMPTS):
            try:
                if dry_uow is not None:
                    results = self._decide(dry_uow, rows)
                else:
                    with self._uow_factory() as uow:
                        results = self._decide(uow, rows)
                        uow.commit()
                break
            except (ConcurrencyError, ConflictError):
                # rolled back as a deadlock, or refused by a unique key because another writer
                # stored one of these records meanwhile: decided again, the chunk finds it
                if attempt == ATTEMPTS - 1:
                    raise
        for result in results:  # stored: count them, report progress, then hand them out
            self._count(result)
        self._lines += len(results)
        if self._progress is not None:
            self._progress(self._lines)
        yield from results

    def _decide(self, uow: UnitOfWork, rows: list[CsvRow]) -> list[R]:
        """Decide and write one chunk in ``uow`` (not committed here); one result per row."""
        raise NotImplementedError

    def _count(self, result: R) -> None:
        """Count one stored result in :attr:`totals`."""
        raise NotImplementedError


def creation_changes(record: Any) -> dict[str, list[Any]]:
    """Return an audit entry's changes for a new record: every field that has a value."""
    new = to_json_value(record)
    return {k: [None, v] for k, v in new.items() if v is not None}
