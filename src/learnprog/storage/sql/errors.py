"""Translation of driver errors into learnprog's error tree, in one place."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc as sa_exc

from learnprog.errors import (
    ConcurrentWriteError,
    ConflictError,
    LearnprogError,
    StorageError,
    StorageUnavailableError,
)

_UNIQUE_MARKERS = ("unique", "duplicate", "1062")
_MYSQL_CHECK_FAILED = {4025, 3819}  # MariaDB and MySQL: a CHECK constraint failed
# Another transaction's writes got in the way; the same work may succeed if run again.
_MYSQL_CONCURRENCY = {1213, 1205}  # deadlock found; lock wait timeout exceeded
_MYSQL_NO_SUCH_SAVEPOINT = 1305  # "SAVEPOINT x does not exist": the transaction was rolled back
_SQLSTATE_CONCURRENCY = {"40001", "40P01"}  # serialization failure; deadlock detected
_CONNECT_MARKERS = (
    "connection refused",
    "could not connect",
    "can't connect",
    "unable to open database",
    "connection failed",
    "server has gone away",
    "lost connection",
    "unknown database",
    "does not exist",  # PostgreSQL: database "x" does not exist
    "password authentication failed",
    "access denied",
)


@contextmanager
def translate_errors(kind: str = "record") -> Iterator[None]:
    """Run the block, raising learnprog errors for SQLAlchemy and driver errors.

    Args:
        kind: the kind of record being read or written, for the error message.

    Raises:
        ValidationError: a column type refused a value while binding it (a naive datetime).
        ConflictError: a unique key, foreign key or check constraint refused the write.
        ConcurrentWriteError: a concurrent transaction got in the way (a deadlock, a
            serialization failure or a lock wait timeout): the work may succeed if run again.
            It is a ``ConcurrencyError``, and for one release also a ``ConflictError``.
        StorageUnavailableError: the database could not be reached.
        StorageError: any other database failure.
    """
    try:
        yield
    except sa_exc.SQLAlchemyError as exc:
        raise translate(exc, kind) from exc


def translate(exc: sa_exc.SQLAlchemyError, kind: str) -> LearnprogError:
    """Return the learnprog error for a SQLAlchemy error (see :func:`translate_errors`)."""
    orig = getattr(exc, "orig", None)
    if isinstance(orig, LearnprogError):  # raised by one of our column types while binding
        return orig
    if isinstance(exc, sa_exc.IntegrityError) or (
        isinstance(exc, sa_exc.OperationalError) and _mysql_code(exc) in _MYSQL_CHECK_FAILED
    ):
        text = str(orig).lower()
        what = "a duplicate key" if any(m in text for m in _UNIQUE_MARKERS) else "an integrity rule"
        return ConflictError(f"{kind}: {what} refused the write ({orig})", kind=kind)
    concurrent = _concurrent_write(exc)
    if concurrent is not None:
        return ConcurrentWriteError(
            f"{kind}: a concurrent write got in the way and the work was rolled back; it may "
            f"succeed if run again ({concurrent})",
            kind=kind,
        )
    if isinstance(exc, sa_exc.OperationalError) and (
        exc.connection_invalidated or any(m in str(orig).lower() for m in _CONNECT_MARKERS)
    ):
        return StorageUnavailableError(f"the database cannot be reached: {orig}")
    if isinstance(exc, sa_exc.DBAPIError):
        return StorageError(f"{kind}: the database failed: {orig}")
    return StorageError(f"{kind}: {exc}")


def _mysql_code(exc: sa_exc.DBAPIError) -> int | None:
    args = getattr(exc.orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def _concurrent_write(exc: BaseException) -> BaseException | None:
    """The driver error showing that a concurrent transaction got in the way, if there is one.

    A deadlock on PostgreSQL (SQLSTATE 40P01) or a serialization failure (40001) aborts the
    statement; on MariaDB a deadlock (1213) rolls back the whole transaction, savepoints
    included, so what reaches here is often the ``ROLLBACK TO SAVEPOINT`` that failed after it
    (1305, "SAVEPOINT ... does not exist"), with the deadlock as its context: the chain of
    errors is searched. A missing savepoint always means the server rolled the transaction
    back under us, which learnprog itself never does. Lock wait timeouts (1205) count too.
    """
    seen: BaseException | None = exc
    rolled_back: BaseException | None = None  # a missing savepoint, if no deadlock is found
    for _ in range(10):  # the chain is short; never loop on a cycle
        if seen is None:
            break
        if isinstance(seen, sa_exc.DBAPIError):
            orig = seen.orig
            code = _mysql_code(seen)
            state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
            if code in _MYSQL_CONCURRENCY or state in _SQLSTATE_CONCURRENCY:
                return orig
            if code == _MYSQL_NO_SUCH_SAVEPOINT and "savepoint" in str(orig).lower():
                rolled_back = rolled_back or orig
        seen = seen.__cause__ or seen.__context__
    return rolled_back
