"""Translation of driver errors into learnprog's error tree, in one place."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc as sa_exc

from learnprog.errors import ConflictError, LearnprogError, StorageError, StorageUnavailableError

_UNIQUE_MARKERS = ("unique", "duplicate", "1062")
_MYSQL_CHECK_FAILED = {4025, 3819}  # MariaDB and MySQL: a CHECK constraint failed
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
