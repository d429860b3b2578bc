"""How report cells are written: timestamps, flags, numbers, and spreadsheet-safe text.

Sources: the guide's report column samples (``2019-12-23T06:18:32.782Z``, ``Yes``, ``12.82``,
``0.29``) and OWASP's "CSV Injection" advice: a text cell that a spreadsheet would read as a
formula (beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return), or that
begins with ``'`` itself, is written with a leading ``'`` so it shows as text, and learnprog's
importers remove that one ``'`` again (:func:`unprotect`), so an external ID ``-00123`` or
``'-5`` survives the round trip. Numbers are never changed. The rule is implemented once, in
:mod:`learnprog.csvfiles`, and re-exported here.

Each function is one column kind's rule, applied to a report's values (see
:data:`learnprog.model.reporting.ReportValues`) whether they come from typed records or straight
from a SQL store's rows: times may then be as stored (:func:`stored_timestamp`) and counts
may come as decimals (:func:`count`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from learnprog.csvfiles import FORMULA_STARTS, protect, unprotect
from learnprog.model.progress import hours

__all__ = [
    "FORMULA_STARTS",
    "count",
    "learning_hours",
    "protect",
    "stored_timestamp",
    "timestamp",
    "two_decimals",
    "unprotect",
    "yes_no",
]

_SQLITE_TIME = len("2019-12-23 06:18:32.782999")


def timestamp(value: datetime | None) -> str:
    """Return an aware time as ISO 8601 UTC with milliseconds and ``Z``; ``""`` for none.

    ``2019-12-23T06:18:32.782Z`` (the guide's sample). Microseconds are truncated to
    milliseconds, never rounded up into the next second.

    Raises:
        ValueError: a naive datetime (never written: a report without a zone is wrong).
    """
    if value is None:
        return ""
    if value.tzinfo is not UTC:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("a report time must be aware")
        value = value.astimezone(UTC)
    # isoformat truncates to milliseconds (never rounds); drop its "+00:00" for the "Z"
    return value.isoformat(timespec="milliseconds")[:-6] + "Z"


def stored_timestamp(value: datetime | str | None) -> str:
    """:func:`timestamp` of a time as a report reads it: aware, or as a SQL store keeps it.

    A naive datetime is a stored UTC time (PostgreSQL, MariaDB); text is SQLite's
    (``2019-12-23 06:18:32.782999``: SQLAlchemy always writes the microseconds), cut to the
    millisecond without parsing it. A report reads millions of times: this is the hot path.

    Raises:
        ValueError: text that is not an ISO 8601 time.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        if len(value) == _SQLITE_TIME:
            return f"{value[:10]}T{value[11:23]}Z"
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.isoformat(timespec="milliseconds") + "Z"
    return timestamp(value)


def yes_no(value: bool) -> str:
    """``Yes`` or ``No`` (the guide's Yes/No fields)."""
    return "Yes" if value else "No"


def two_decimals(value: float | None) -> str:
    """A number with two decimals (``12.82``: percent progress, hours, grades); ``""`` for none."""
    return "" if value is None else f"{value:.2f}"


def learning_hours(seconds: float) -> str:
    """Learning time given in seconds, written as hours with two decimals (``0.50``)."""
    return two_decimals(hours(seconds))


def count(value: int | Decimal) -> str:
    """A whole number (``2``); a SQL sum may come as a ``Decimal`` (MariaDB)."""
    return str(int(value))
