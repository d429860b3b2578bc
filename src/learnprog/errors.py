"""The one error tree of learnprog.

Every error the library raises on purpose derives from :class:`LearnprogError`, and each also
derives from the nearest builtin so that callers who only know the builtins still catch it
(``NotFoundError`` is a ``LookupError``, ``ValidationError`` a ``ValueError``). Storage adapters
translate driver errors into this tree at their edge; the in-memory adapter raises the same classes.
"""

from __future__ import annotations


class LearnprogError(Exception):
    """Root of every error raised by learnprog."""


class ValidationError(LearnprogError, ValueError):
    """Input that breaks a rule of the model.

    Attributes:
        field: the name of the field that was wrong (``"email"``), or ``None``.
        line: the 1-based line of the CSV file the value came from, or ``None``.
        value: the offending value as given, or ``None``.
        reason: the message without the field and line prefix.
    """

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        line: int | None = None,
        value: object = None,
    ) -> None:
        self.field = field
        self.line = line
        self.value = value
        self.reason = message
        parts = []
        if line is not None:
            parts.append(f"line {line}")
        if field is not None:
            parts.append(f"field {field!r}")
        prefix = ", ".join(parts)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class NotFoundError(LearnprogError, LookupError):
    """A record that was asked for does not exist (or is not visible to the actor's organization).

    Attributes:
        kind: what was looked for (``"program"``).
        key: the identifier that was looked up.
    """

    def __init__(self, kind: str, key: object) -> None:
        self.kind = kind
        self.key = key
        super().__init__(f"{kind} {key!r} not found")


class ConflictError(LearnprogError):
    """A change that collides with what is stored: a duplicate key or a stale state.

    Attributes:
        kind: the kind of record (``"learner"``), when known.
        key: the colliding key (``"ana@example.org"``), when known.
    """

    def __init__(self, message: str, *, kind: str | None = None, key: object = None) -> None:
        self.kind = kind
        self.key = key
        super().__init__(message)


class ConcurrencyError(LearnprogError):
    """A concurrent unit of work got in the way; nothing of this one was stored.

    Unlike a :class:`ConflictError` (a duplicate or a limit, which the same call meets again),
    running the same work again may succeed: it then reads what the other unit of work
    committed. Retries catch this class only. Its subclasses: :class:`StaleDataError` (a
    compare-and-set write found the record changed) and :class:`ConcurrentWriteError` (the
    database aborted the transaction: a deadlock or a serialization failure).
    """


class StaleDataError(ConcurrencyError, ConflictError):
    """A record changed between reading it and writing it: another unit of work wrote first.

    Raised by a compare-and-set write (``MembershipRepository.update(..., expected=...)``),
    checked by the database in the UPDATE itself. Nothing of the unit of work is stored;
    running it again reads the new state (the services do so once).

    It is also a :class:`ConflictError` for one release, so that code written before
    :class:`ConcurrencyError` existed still catches it; catching it as a ``ConflictError`` is
    deprecated.
    """


class ConcurrentWriteError(ConcurrencyError, ConflictError):
    """The database aborted a transaction because a concurrent one got in the way.

    A deadlock (PostgreSQL SQLSTATE 40P01, MariaDB 1213), a serialization failure (40001) or a
    lock wait timeout (MariaDB 1205), translated at the SQL adapter's edge
    (``learnprog.storage.sql.errors``). Nothing of the unit of work is stored and it may
    succeed if run again. Like :class:`StaleDataError` it is also a :class:`ConflictError` for
    one release (deprecated use).

    Attributes:
        kind: the kind of record being written (``"membership"``), when known.
    """


class PermissionDeniedError(LearnprogError, PermissionError):
    """The actor may not do this (guide, "Organization Admin vs. Program Admin")."""


class LicenseLimitError(ConflictError):
    """A contract has no license or enrollment left (guide glossary, "License")."""


class EnrollmentLimitError(ConflictError):
    """A learner is at the program's course enrollment limit (guide, "COURSE ENROLLMENT LIMIT")."""


class InvalidTokenError(ValidationError):
    """A signed token (acceptance, unsubscribe or download link) is forged, malformed or expired."""


class ExpiredTokenError(InvalidTokenError):
    """A signed token that was valid but is past its lifetime ("the link has expired").

    Lifetimes: acceptance 90 days, unsubscribe a year, report and gradebook downloads 24 hours
    (guide, "Accessing Gradebooks"). ``learnprog.web`` answers it with HTTP 410 Gone, a forged
    or altered token with 400.
    """


class InvitationRevokedError(ConflictError):
    """An invitation that was revoked, or whose member was removed (DELETED_MEMBER), was used.

    Raised when such an invitation is accepted (its link, or signing in at the program URL);
    ``learnprog.web`` answers it with HTTP 410 Gone. An admin may invite the person again.
    """


class StorageError(LearnprogError):
    """The storage backend failed for a reason that is not the caller's input."""


class StorageUnavailableError(StorageError, ConnectionError):
    """The storage backend cannot be reached."""


class MailError(LearnprogError):
    """A message could not be handed to the mail system.

    Attributes:
        permanent: ``True`` when retrying cannot help (a rejected recipient), ``False`` for a
            transient failure (a server that is down) that a later attempt may get past.
    """

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        self.permanent = permanent
        super().__init__(message)


class MissingExtraError(LearnprogError, ImportError):
    """An optional dependency that a call needs is not installed.

    Raised by ``to_pandas()`` (pandas) and ``.plot()`` (matplotlib) of learnprog's reports and
    analytics results; the message names the extra to install
    (``pip install 'learnprog[notebook]'``). It is an ``ImportError`` too, so code that caught
    the bare ``ImportError`` still catches it.

    Attributes:
        module: the module that could not be imported (``"pandas"``).
        extra: the learnprog extra that installs it (``"notebook"``).
    """

    def __init__(self, module: str, extra: str) -> None:
        self.module = module
        self.extra = extra
        super().__init__(
            f"{module} is not installed: pip install 'learnprog[{extra}]'", name=module
        )


class ConfigurationWarning(UserWarning):
    """A learnprog instance was set up in a way that loses work a user likely expects to keep.

    :func:`learnprog.connect` warns when persistent storage is paired with the default
    in-memory mailer (dispatched mail is lost when the process ends) or with a random
    per-process signing secret (links cannot be verified by another process or after a
    restart).
    """


__all__ = [
    "ConcurrencyError",
    "ConcurrentWriteError",
    "ConfigurationWarning",
    "ConflictError",
    "EnrollmentLimitError",
    "ExpiredTokenError",
    "InvalidTokenError",
    "InvitationRevokedError",
    "LearnprogError",
    "LicenseLimitError",
    "MailError",
    "MissingExtraError",
    "NotFoundError",
    "PermissionDeniedError",
    "StaleDataError",
    "StorageError",
    "StorageUnavailableError",
    "ValidationError",
]
