"""How report cells are written: timestamps, flags, numbers, and spreadsheet-safe text.

Sources: the guide's report column samples (``2019-12-23T06:18:32.782Z``, ``Yes``, ``12.82``,
``0.29``) and OWASP's "CSV Injection" advice: a text cell that a spreadsheet would read as a
formula (beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is written with a
leading ``'`` so it shows as text, and learnprog's importers remove that ``'`` again
(:func:`unprotect`), so an external ID ``-00123`` survives the round trip. Numbers are never
changed.
"""

from __future__ import annotations

from datetime import UTC, datetime

from learnprog.csvfiles import FORMULA_STARTS, unprotect

__all__ = ["FORMULA_STARTS", "protect", "timestamp", "two_decimals", "unprotect", "yes_no"]


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


def yes_no(value: bool) -> str:
    """``Yes`` or ``No`` (the guide's Yes/No fields)."""
    return "Yes" if value else "No"


def two_decimals(value: float | None) -> str:
    """A number with two decimals (``12.82``: percent progress, hours, grades); ``""`` for none."""
    return "" if value is None else f"{value:.2f}"


def protect(text: str | None) -> str:
    """Return text that a spreadsheet shows as text: a leading ``'`` before a formula start.

    ``"=SUM(A1)"`` becomes ``"'=SUM(A1)"``; ``"-00123"`` becomes ``"'-00123"``; ``None`` is ``""``.
    """
    if not text:
        return ""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text
