"""Translation of driver errors into learnprog's error tree, in one place."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc as sa_exc

from learnprog.errors import ConflictError, LearnprogError, StorageError, StorageUnavailableError

_UNIQUE_MARKERS = ("unique", "duplicate", "1062")


@contextmanager
def translate_errors(kind: str = "record") -> Iterator[None]:
    """Run the block, raising learnprog errors for SQLAlchemy and driver errors.

    Args:
        kind: the kind of record being written, for the error message.

    Raises:
        ConflictError: a unique key or other integrity rule refused the write.
        StorageUnavailableError: the database could not be reached.
        StorageError: any other database failure.
    """
    try:
        yield
    except LearnprogError:
        raise
    except sa_exc.IntegrityError as exc:
        text = str(exc.orig).lower()
        what = "a duplicate key" if any(m in text for m in _UNIQUE_MARKERS) else "an integrity rule"
        raise ConflictError(f"{kind}: {what} refused the write ({exc.orig})", kind=kind) from exc
    except sa_exc.OperationalError as exc:
        if exc.connection_invalidated or _is_connect_failure(exc):
            raise StorageUnavailableError(f"the database cannot be reached: {exc.orig}") from exc
        raise StorageError(f"{kind}: the database failed: {exc.orig}") from exc
    except sa_exc.DBAPIError as exc:
        raise StorageError(f"{kind}: the database failed: {exc.orig}") from exc
    except sa_exc.SQLAlchemyError as exc:
        raise StorageError(f"{kind}: {exc}") from exc


def _is_connect_failure(exc: sa_exc.OperationalError) -> bool:
    text = str(exc.orig).lower()
    return any(
        m in text
        for m in (
            "connection refused",
            "could not connect",
            "can't connect",
            "unable to open database",
            "connection failed",
            "server has gone away",
            "lost connection",
        )
    )
