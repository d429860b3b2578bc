"""Small validation helpers shared by the model classes.

Every helper checks the type first, so a wrong type is a :class:`ValidationError` naming the
field, never a ``TypeError`` or ``AttributeError`` from deeper down.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from learnprog.clock import ensure_utc
from learnprog.errors import ValidationError

#: Characters never allowed in one-line fields: C0 controls (CR and LF included), DEL, the C1
#: controls (NEL included), the Unicode line and paragraph separators, and lone surrogates (not
#: encodable, so not storable). One-line fields reach mail headers (names, subjects), where a
#: control is never text (RFC 5322 section 2.2; Unicode section 23.1).
FORBIDDEN_IN_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
#: The explicit directional formatting characters: embeddings and overrides (U+202A-U+202E) and
#: isolates (U+2066-U+2069), never allowed in one-line fields. One left open reorders the text
#: shown after it on the same line (the address after a display name in From, the next cell of a
#: report or listing): "Trojan Source", CVE-2021-42574; Unicode UAX #9 section 2.1-2.4 and
#: UTS #39 / UTR #36 section 2. The implicit marks (LRM, RLM, ALM), which names in right-to-left
#: scripts need and which reorder nothing beyond themselves, stay allowed.
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
#: The Default_Ignorable_Code_Point characters (Unicode DerivedCoreProperties.txt, Unicode
#: 15.1; the property is stable: its unassigned ranges are reserved for such characters):
#: soft hyphen, zero-width space, (non-)joiners, word joiner, byte-order mark, the Hangul
#: fillers, variation selectors, tags and the rest, which a text renderer shows as nothing
#: (Unicode section 5.21). A name made only of them (and spaces) looks blank wherever it is
#: shown, so :func:`required_text` refuses it; inside a visible name they stay allowed (ZWJ and
#: ZWNJ are part of how Persian and Indic names are written).
DEFAULT_IGNORABLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)

#: Printable ASCII (space to ``~``): text made only of these holds no control character, line
#: break, directional formatting character or lone surrogate, so the checks of
#: :func:`single_line` and :func:`record_id` pass without searching it for each kind (a fast
#: path for the IDs, names and codes most records carry; the result is the same).
_PRINTABLE_ASCII = re.compile("[ -~]*")
_FORBIDDEN_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
MAX_INT = 2_147_483_647  # the largest value of a 32-bit SQL INTEGER column
#: The most characters of an ID stored in a key column (``Key()``, VARCHAR(64), on SQL storage).
KEY_LENGTH = 64


def text_value(value: object, *, field: str) -> str:
    """Return ``value`` if it is a ``str``.

    Raises:
        ValidationError: any other type.
    """
    if not isinstance(value, str):
        raise ValidationError(
            f"text is required, not {type(value).__name__}", field=field, value=value
        )
    return value


def required_text(value: object, *, field: str, max_length: int = 200) -> str:
    """Return ``value`` trimmed; it must be visible, single-line and at most ``max_length``.

    The one check of every required name (learner, organization, program, collection, course,
    specialization, skill, ...): besides one visible character, it needs one that is neither
    white space nor a default-ignorable code point (:data:`DEFAULT_IGNORABLE`: zero-width
    space U+200B, ZWNJ U+200C, ZWJ U+200D, word joiner U+2060, U+FEFF, ...), so a name that
    would show as blank is refused (issue 17; Unicode section 5.21, "Default Ignorable Code
    Points": such characters are rendered invisibly).

    Raises:
        ValidationError: not text, empty, blank or made only of invisible characters, too
            long or holding control characters or line breaks (CR, LF, NEL, U+2028, U+2029).
    """
    text = text_value("" if value is None else value, field=field).strip()
    if not text:
        raise ValidationError("a value is required", field=field)
    if not DEFAULT_IGNORABLE.sub("", text).strip():
        raise ValidationError(
            "a value is required: this one holds only invisible characters (zero-width or "
            "other default-ignorable code points, and spaces), which show as nothing",
            field=field,
            value=value,
        )
    return single_line(text, field=field, max_length=max_length)


def single_line(value: object, *, field: str, max_length: int = 200) -> str:
    """Return ``value`` if it is text of at most ``max_length`` characters on one line.

    Raises:
        ValidationError: not text, too long, or holding control characters, line breaks or
            directional embeddings, overrides or isolates (:data:`BIDI_CONTROLS`).
    """
    if value.__class__ is str and len(value) <= max_length and _PRINTABLE_ASCII.fullmatch(value):
        return value  # nothing below can refuse it
    return _checked_line(value, field=field, max_length=max_length)


def _checked_line(value: object, *, field: str, max_length: int) -> str:
    """:func:`single_line` without its printable-ASCII fast path (every check, one by one)."""
    text = text_value(value, field=field)
    if len(text) > max_length:
        raise ValidationError(f"at most {max_length} characters", field=field)
    if FORBIDDEN_IN_LINE.search(text):
        raise ValidationError("control characters and line breaks are not allowed", field=field)
    bidi = BIDI_CONTROLS.search(text)
    if bidi:
        raise ValidationError(
            f"the directional formatting character U+{ord(bidi.group()):04X} is not allowed: "
            "it would reorder the text shown after it",
            field=field,
        )
    return text


def optional_line(value: object, *, field: str, max_length: int = 200) -> str | None:
    """Like :func:`single_line`, but ``None`` or blank gives ``None``."""
    if value is None:
        return None
    text = text_value(value, field=field).strip()
    return single_line(text, field=field, max_length=max_length) if text else None


def optional_text(value: object, *, field: str, max_length: int = 20_000) -> str | None:
    """Return multi-line text (line breaks and tabs allowed), or ``None`` when blank.

    Raises:
        ValidationError: not text, too long, or holding other control characters.
    """
    if value is None:
        return None
    text = text_value(value, field=field)
    if not text.strip():
        return None
    if len(text) > max_length:
        raise ValidationError(f"at most {max_length} characters", field=field)
    if _FORBIDDEN_IN_TEXT.search(text):
        raise ValidationError("control characters are not allowed", field=field)
    return text


def optional_url(value: object, *, field: str) -> str | None:
    """Return an ``http``/``https`` URL (at most 2,000 characters) or ``None`` when blank.

    Raises:
        ValidationError: not text, another scheme, spaces or control characters.
    """
    text = optional_line(value, field=field, max_length=2000)
    if text is None:
        return None
    if not re.match(r"^https?://[^\s/]+\S*$", text):
        raise ValidationError("an http:// or https:// URL is required", field=field, value=value)
    return text


def record_id(value: object, *, field: str, max_length: int = 255) -> str:
    """Return a record ID: text of 1-``max_length`` characters on one line, as given.

    Check an ID with this before it reaches a storage query: a lone surrogate cannot be
    encoded for the database driver, and PostgreSQL refuses NUL in text, so an ID the model
    would refuse must never get that far (the same rule on every backend).

    Args:
        value: the ID.
        field: the field named in errors.
        max_length: the most characters: 255, or :data:`KEY_LENGTH` for an ID stored in a
            key column.

    Raises:
        ValidationError: not text, empty or blank, too long, or holding control characters,
            line breaks or lone surrogates (see :data:`FORBIDDEN_IN_LINE`).
    """
    if (
        value.__class__ is str
        and 0 < len(value) <= max_length
        and _PRINTABLE_ASCII.fullmatch(value)
        and not value.isspace()  # in printable ASCII, only the space is blank
    ):
        return value  # the checks below would all pass
    return _checked_id(value, field=field, max_length=max_length)


def _checked_id(value: object, *, field: str, max_length: int) -> str:
    """:func:`record_id` without its printable-ASCII fast path (every check, one by one)."""
    text = text_value(value, field=field)
    if not text.strip():
        raise ValidationError("an ID is required", field=field, value=value)
    return _checked_line(text, field=field, max_length=max_length)


def str_items(values: object, *, field: str, max_length: int = 200) -> tuple[str, ...]:
    """Return the strings of a list, tuple or set as a tuple, each one line.

    A bare string is refused (it would otherwise be read character by character).

    Raises:
        ValidationError: a string or a non-collection instead of a collection, or an item that
            is not one line of text.
    """
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise ValidationError(
            f"a list of text values is required, not {type(values).__name__}",
            field=field,
            value=values,
        )
    return tuple(single_line(v, field=field, max_length=max_length) for v in values)


def whole_number(
    value: object, *, field: str, minimum: int = 0, maximum: int = MAX_INT, allow_none: bool = True
) -> int | None:
    """Check an optional whole number lies in ``[minimum, maximum]``.

    Raises:
        ValidationError: not an ``int`` (a ``bool`` is not a number here), out of range, or
            ``None`` when ``allow_none`` is false.
    """
    if value is None:
        if allow_none:
            return None
        raise ValidationError("a value is required", field=field)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(
            f"a whole number is required, not {type(value).__name__}", field=field, value=value
        )
    if not minimum <= value <= maximum:
        raise ValidationError(
            f"a whole number from {minimum} to {maximum} is required", field=field, value=value
        )
    return value


def non_negative_int(value: object, *, field: str, allow_none: bool = True) -> int | None:
    """A whole number from 0 to :data:`MAX_INT` (see :func:`whole_number`)."""
    return whole_number(value, field=field, allow_none=allow_none)


def finite_number(
    value: object, *, field: str, minimum: float = -math.inf, maximum: float = math.inf
) -> float:
    """Return a finite real number in ``[minimum, maximum]`` as a float.

    Raises:
        ValidationError: not an int or float (a ``bool`` is refused), NaN, infinite or out of
            range.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(
            f"a number is required, not {type(value).__name__}", field=field, value=value
        )
    number = float(value)
    if not math.isfinite(number) or not minimum <= number <= maximum:
        raise ValidationError(
            f"a finite number from {minimum} to {maximum} is required", field=field, value=value
        )
    return number


def flag(value: object, *, field: str) -> bool:
    """Return ``value`` if it is a ``bool``.

    Raises:
        ValidationError: any other type (``"no"`` or ``0`` are not flags).
    """
    if not isinstance(value, bool):
        raise ValidationError("true or false is required", field=field, value=value)
    return value


def utc(value: object, *, field: str) -> datetime:
    """Return an aware datetime in UTC; a naive one or a non-datetime is a ValidationError."""
    return ensure_utc(value, field=field)  # type: ignore[arg-type]


def optional_utc(value: object, *, field: str) -> datetime | None:
    """Like :func:`utc`, passing ``None`` through."""
    return None if value is None else ensure_utc(value, field=field)  # type: ignore[arg-type]


def to_utc(value: datetime) -> datetime:
    """Attrs converter: an aware datetime in UTC; a naive one raises ValidationError."""
    return ensure_utc(value)


def to_optional_utc(value: datetime | None) -> datetime | None:
    """Attrs converter: like :func:`to_utc`, passing ``None`` through."""
    return None if value is None else ensure_utc(value)


def str_tuple(values: Iterable[str]) -> tuple[str, ...]:
    """Attrs converter: a collection of strings as a tuple (a bare string is refused)."""
    return str_items(values, field="values", max_length=10_000)


class FrozenDict(dict[str, Any]):
    """A dict that refuses changes: the mappings held by frozen model objects.

    A plain dict inside a frozen attrs object could still be changed in place (and, with the
    in-memory adapter, change the stored record behind the unit of work's back).
    """

    def _refuse(self, *args: object, **kwargs: object) -> None:
        raise TypeError("a model object's mapping cannot be changed; use attrs.evolve")

    __setitem__ = __delitem__ = update = setdefault = _refuse
    pop = popitem = clear = __ior__ = _refuse  # type: ignore[assignment]

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted(self.items(), key=lambda kv: kv[0])))


def frozen_dict(values: Mapping[str, Any]) -> FrozenDict:
    """Attrs converter: any mapping as a :class:`FrozenDict` (a copy)."""
    if not isinstance(values, Mapping):
        raise ValidationError(
            f"a mapping is required, not {type(values).__name__}", field="mapping", value=values
        )
    return values if isinstance(values, FrozenDict) else FrozenDict(values)
