"""The Clock port: the only source of "now" in learnprog.

Rules never call ``datetime.now()``; services ask the clock and pass the instant down, and SQL
adapters send it as a parameter instead of calling the database's own ``now()``.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

from learnprog.errors import ValidationError


def ensure_utc(value: datetime, *, field: str = "time") -> datetime:
    """Return ``value`` as an aware datetime in UTC.

    Args:
        value: an aware datetime in any zone.
        field: the field name used in the error message.

    Returns:
        The same instant with ``tzinfo=UTC``.

    Raises:
        ValidationError: ``value`` is not a datetime, is naive (learnprog never guesses a zone),
            or lies out of range once converted to UTC.
    """
    if value.__class__ is datetime and value.tzinfo is UTC:
        return value  # already aware UTC: the common case, answered at once
    if not isinstance(value, datetime):
        raise ValidationError(
            f"an aware datetime is required, not {type(value).__name__}", field=field, value=value
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError("a naive datetime has no time zone; pass an aware one", field=field)
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise ValidationError("the time is out of range", field=field, value=value) from exc


@runtime_checkable
class Clock(Protocol):
    """Tells the current instant."""

    def now(self) -> datetime:
        """Return the current instant as an aware UTC datetime."""
        ...


class SystemClock(Clock):
    """The machine's clock."""

    def now(self) -> datetime:
        """Return the machine's current time, aware, in UTC."""
        return datetime.now(UTC)  # noqa: TID251 - the one place that reads the real clock


class FixedClock(Clock):
    """A clock that stands still until moved: for tests, notebooks and replays.

    Args:
        start: the instant the clock shows; must be aware.
    """

    def __init__(self, start: datetime) -> None:
        self._now = ensure_utc(start, field="start")
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """Return the instant the clock was set to."""
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward by ``delta`` and return the new instant."""
        with self._lock:
            self._now += delta
            return self._now

    def set(self, instant: datetime) -> None:
        """Set the clock to ``instant`` (aware)."""
        with self._lock:
            self._now = ensure_utc(instant, field="instant")
