"""Small validation helpers shared by the model classes."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from learnprog.clock import ensure_utc
from learnprog.errors import ValidationError

_CONTROL_EXCEPT_NEWLINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def required_text(value: str | None, *, field: str, max_length: int = 200) -> str:
    """Return ``value`` trimmed; it must be non-empty, single-line and at most ``max_length``.

    Raises:
        ValidationError: empty, too long or holding control characters (CR, LF included).
    """
    text = (value or "").strip()
    if not text:
        raise ValidationError("a value is required", field=field)
    return single_line(text, field=field, max_length=max_length)


def single_line(value: str, *, field: str, max_length: int = 200) -> str:
    """Return ``value`` if it is at most ``max_length`` characters with no control characters.

    Raises:
        ValidationError: too long or holding control characters (CR, LF included).
    """
    if len(value) > max_length:
        raise ValidationError(f"at most {max_length} characters", field=field)
    if _CONTROL.search(value):
        raise ValidationError("control characters (CR, LF, ...) are not allowed", field=field)
    return value


def optional_line(value: str | None, *, field: str, max_length: int = 200) -> str | None:
    """Like :func:`single_line`, but ``None`` or blank gives ``None``."""
    if value is None or not value.strip():
        return None
    return single_line(value.strip(), field=field, max_length=max_length)


def optional_text(value: str | None, *, field: str, max_length: int = 20_000) -> str | None:
    """Return multi-line text (line breaks and tabs allowed), or ``None`` when blank.

    Raises:
        ValidationError: too long or holding other control characters.
    """
    if value is None or not value.strip():
        return None
    if len(value) > max_length:
        raise ValidationError(f"at most {max_length} characters", field=field)
    if _CONTROL_EXCEPT_NEWLINES.search(value):
        raise ValidationError("control characters are not allowed", field=field)
    return value


def optional_url(value: str | None, *, field: str) -> str | None:
    """Return an ``http``/``https`` URL (at most 2,000 characters) or ``None`` when blank.

    Raises:
        ValidationError: another scheme, spaces or control characters.
    """
    if value is None or not value.strip():
        return None
    text = single_line(value.strip(), field=field, max_length=2000)
    if not re.match(r"^https?://[^\s/]+\S*$", text):
        raise ValidationError("an http:// or https:// URL is required", field=field, value=value)
    return text


def utc(value: datetime, *, field: str) -> datetime:
    """Return an aware datetime in UTC; a naive one is a :class:`ValidationError`."""
    return ensure_utc(value, field=field)


def optional_utc(value: datetime | None, *, field: str) -> datetime | None:
    """Like :func:`utc`, passing ``None`` through."""
    return None if value is None else ensure_utc(value, field=field)


def non_negative_int(value: int | None, *, field: str, allow_none: bool = True) -> int | None:
    """Check an optional whole number is at least 0.

    Raises:
        ValidationError: negative, not an int, or ``None`` when ``allow_none`` is false.
    """
    if value is None:
        if allow_none:
            return None
        raise ValidationError("a value is required", field=field)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError("a whole number of 0 or more is required", field=field, value=value)
    return value


def to_utc(value: datetime) -> datetime:
    """Attrs converter: an aware datetime in UTC; a naive one raises ValidationError."""
    return ensure_utc(value)


def to_optional_utc(value: datetime | None) -> datetime | None:
    """Attrs converter: like :func:`to_utc`, passing ``None`` through."""
    return None if value is None else ensure_utc(value)


def str_tuple(values: Iterable[str]) -> tuple[str, ...]:
    """Attrs converter: any iterable of strings as a tuple."""
    return tuple(values)
