"""Unit tests of learnprog.model._rules: the shared validation helpers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from learnprog.errors import ValidationError
from learnprog.model._rules import (
    KEY_LENGTH,
    _checked_id,
    _checked_line,
    non_negative_int,
    optional_line,
    optional_text,
    optional_url,
    optional_utc,
    record_id,
    required_text,
    single_line,
    str_tuple,
    to_optional_utc,
    to_utc,
    utc,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_required_text_trims() -> None:
    assert required_text("  Ana  ", field="name") == "Ana"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "required"),
        ("", "required"),
        (" \t ", "required"),
        ("a\nb", "control"),
        ("x" * 11, "at most 10"),
    ],
)
def test_required_text_rejects(value: str | None, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as info:
        required_text(value, field="name", max_length=10)
    assert info.value.field == "name"


def test_record_id_keeps_the_id_as_given() -> None:
    assert record_id(" a-1 ", field="id") == " a-1 "
    assert record_id("x" * KEY_LENGTH, field="id", max_length=KEY_LENGTH) == "x" * KEY_LENGTH


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "an ID is required"),
        ("  ", "an ID is required"),
        (5, "text is required, not int"),
        (None, "text is required, not NoneType"),
        ("a\x00b", "control characters"),
        ("a\tb", "control characters"),
        ("a\ud800", "control characters"),  # a lone surrogate cannot be stored
        ("a\u2028", "control characters"),
        ("x" * (KEY_LENGTH + 1), f"at most {KEY_LENGTH} characters"),
    ],
)
def test_record_id_rejects(value: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as info:
        record_id(value, field="learner_id", max_length=KEY_LENGTH)
    assert info.value.field == "learner_id"


def test_single_line_keeps_value_and_length_limit_is_inclusive() -> None:
    assert single_line(" x ", field="f", max_length=3) == " x "
    with pytest.raises(ValidationError, match="at most 2 characters"):
        single_line(" x ", field="f", max_length=2)


def _outcome(check: object, value: object, max_length: int) -> tuple[str, str | None]:
    """What a check gives: ("ok", the value) or ("error", the field and message)."""
    assert callable(check)
    try:
        return "ok", check(value, field="f", max_length=max_length)
    except ValidationError as exc:
        return "error", f"{exc.field}: {exc}"


_TEXT = st.one_of(
    st.text(max_size=12),
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x7F), max_size=12),
    st.text(alphabet=" \t\u00a0\u2028\u202e\ud800x", max_size=4),
)


@given(value=_TEXT, max_length=st.integers(min_value=0, max_value=8))
@example(value=" ", max_length=3)
@example(value="a b", max_length=3)
@example(value="abcd", max_length=3)
@example(value="a\x7f", max_length=3)
@example(value="a\u202eb", max_length=3)
def test_the_printable_ascii_fast_paths_decide_as_every_check_does(
    value: str, max_length: int
) -> None:
    # single_line and record_id accept printable ASCII without searching it: the same
    # outcome (value or error) as the full checks, for any text
    assert _outcome(single_line, value, max_length) == _outcome(_checked_line, value, max_length)
    assert _outcome(record_id, value, max_length) == _outcome(_checked_id, value, max_length)


def test_the_fast_paths_leave_other_types_to_the_checks() -> None:
    class Name(str):
        pass

    assert record_id(Name("a-1"), field="id") == "a-1"
    with pytest.raises(ValidationError, match="text is required, not bytes"):
        single_line(b"abc", field="f")


@pytest.mark.parametrize("value", [None, "", "   "])
def test_optional_line_blank_is_none(value: str | None) -> None:
    assert optional_line(value, field="f") is None


def test_optional_line_trims_and_rejects_breaks() -> None:
    assert optional_line(" a b ", field="f") == "a b"
    with pytest.raises(ValidationError, match="control characters") as info:
        optional_line("a\rb", field="tagline")
    assert info.value.field == "tagline"


def test_optional_text_allows_newlines_and_tabs_as_written() -> None:
    assert optional_text(" line 1\r\n\tline 2 ", field="f") == " line 1\r\n\tline 2 "
    assert optional_text(" \n ", field="f") is None
    assert optional_text(None, field="f") is None


@pytest.mark.parametrize(
    ("value", "message"),
    [("a\x00b", "control characters"), ("a\x1b", "control characters"), ("x" * 11, "at most 10")],
)
def test_optional_text_rejects(value: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        optional_text(value, field="f", max_length=10)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://cdn.example/a.png", "https://cdn.example/a.png"),
        (" http://localhost:8000 ", "http://localhost:8000"),
        ("", None),
        ("  ", None),
        (None, None),
    ],
)
def test_optional_url_accepts(value: str | None, expected: str | None) -> None:
    assert optional_url(value, field="u") == expected


@pytest.mark.parametrize(
    "value", ["HTTPS://x", "ftp://x", "https://", "https:///path", "x.example"]
)
def test_optional_url_rejects(value: str) -> None:
    with pytest.raises(ValidationError, match="http:// or https://") as info:
        optional_url(value, field="u")
    assert info.value.field == "u"


def test_optional_url_length_limit() -> None:
    ok = "https://x.example/" + "a" * (2000 - 18)
    assert optional_url(ok, field="u") == ok
    with pytest.raises(ValidationError, match="at most 2000"):
        optional_url(ok + "a", field="u")


@pytest.mark.parametrize("url", ["https://exa mple.org", "https://cdn.example/a b.png"])
def test_optional_url_rejects_spaces(url: str) -> None:
    with pytest.raises(ValidationError, match="http:// or https://"):
        optional_url(url, field="banner_url")


def test_utc_helpers() -> None:
    plus1 = timezone(timedelta(hours=1))
    local = datetime(2026, 3, 2, 10, 0, tzinfo=plus1)
    for converted in (utc(local, field="f"), optional_utc(local, field="f"), to_utc(local)):
        assert converted == NOW
        assert converted is not None
        assert converted.tzinfo is UTC
    assert optional_utc(None, field="f") is None
    assert to_optional_utc(None) is None
    assert to_optional_utc(local) == NOW


def test_utc_helper_names_field() -> None:
    with pytest.raises(ValidationError, match="naive") as info:
        utc(datetime(2026, 3, 2), field="due")
    assert info.value.field == "due"


@pytest.mark.parametrize("value", [0, 1, 10**9, None])
def test_non_negative_int_ok(value: int | None) -> None:
    assert non_negative_int(value, field="n") == value


@pytest.mark.parametrize("value", [-1, True, False, 1.0, "3"])
def test_non_negative_int_rejects(value: object) -> None:
    with pytest.raises(ValidationError, match="whole number") as info:
        non_negative_int(value, field="n")
    assert info.value.value == value


def test_non_negative_int_none_when_required() -> None:
    with pytest.raises(ValidationError, match="a value is required"):
        non_negative_int(None, field="n", allow_none=False)


def test_str_tuple() -> None:
    assert str_tuple(["a", "b"]) == ("a", "b")
    assert str_tuple(x for x in "ab") == ("a", "b")


@pytest.mark.parametrize("control", ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066",
                                     "\u2067", "\u2068", "\u2069"])  # fmt: skip
def test_one_line_text_refuses_directional_embeddings_overrides_and_isolates(
    control: str,
) -> None:
    for check in (required_text, single_line, record_id):
        with pytest.raises(ValidationError, match=f"U\\+{ord(control):04X}") as info:
            check(f"Lia {control}evil", field="full_name")
        assert info.value.field == "full_name"


def test_one_line_text_keeps_the_implicit_directional_marks() -> None:
    """LRM, RLM and ALM, which names in right-to-left scripts need, stay allowed."""
    for mark in ("\u200e", "\u200f", "\u061c"):
        assert single_line(f"\u05d0\u05d1{mark} 2", field="full_name") == f"\u05d0\u05d1{mark} 2"


_INVISIBLE_NAMES = [
    "\u200b",  # zero-width space
    "\u200c\u200d",  # zero-width non-joiner and joiner
    "\u2060",  # word joiner
    "\ufeff",  # zero-width no-break space (a byte-order mark)
    "\u00ad",  # soft hyphen
    "\u3164",  # Hangul filler
    "\ufe0f",  # variation selector 16
    "\U000e0041\U000e0020",  # tag characters
    " \u200b \u2060\u3000",  # invisible characters between spaces (U+3000 too)
]


@pytest.mark.parametrize("value", _INVISIBLE_NAMES)
def test_required_text_refuses_a_value_made_only_of_invisible_characters(value: str) -> None:
    with pytest.raises(ValidationError, match="only invisible characters") as info:
        required_text(value, field="name")
    assert info.value.field == "name"


def test_required_text_keeps_joiners_inside_a_visible_name() -> None:
    # ZWNJ is how Persian writes some names; ZWJ joins Indic letters
    assert required_text(" \u0645\u06cc\u200c\u0631 ", field="name") == "\u0645\u06cc\u200c\u0631"
    assert required_text("\u0915\u094d\u200d\u0937", field="name") == "\u0915\u094d\u200d\u0937"
    assert required_text("\u200bAna", field="name") == "\u200bAna"


@pytest.mark.parametrize("value", _INVISIBLE_NAMES)
def test_every_name_refuses_invisible_characters_only(value: str) -> None:
    from learnprog.model.catalog import Collection, Course
    from learnprog.model.learner import Learner
    from learnprog.model.organization import Organization, Program

    makers: dict[str, Callable[[], object]] = {
        "learner": lambda: Learner.create("o1", value, "ana@example.org", now=NOW, line=4),
        "organization": lambda: Organization.create(value, now=NOW),
        "program": lambda: Program.create("o1", value, now=NOW),
        "collection": lambda: Collection.create("p1", value),
        "course": lambda: Course.create("o1", course_id="c1", slug="c-1", name=value, now=NOW),
    }
    for kind, make in makers.items():
        with pytest.raises(ValidationError, match="only invisible characters") as info:
            make()
        assert info.value.field == ("full_name" if kind == "learner" else "name"), kind
    renamed = Organization.create("Acme", now=NOW)
    with pytest.raises(ValidationError, match="only invisible characters"):
        renamed.with_settings(name=value)
