"""Unit tests of learnprog.clock: ensure_utc, SystemClock and FixedClock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from learnprog.clock import Clock, FixedClock, SystemClock, ensure_utc
from learnprog.errors import ValidationError

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

aware_datetimes = st.datetimes(
    min_value=datetime(1970, 1, 2),
    max_value=datetime(2200, 1, 1),
    allow_imaginary=False,  # a wall time skipped by a DST change names no instant
    timezones=st.one_of(
        st.just(UTC),
        st.builds(
            timezone,
            st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23)),
        ),
        st.sampled_from(
            [ZoneInfo("Europe/Lisbon"), ZoneInfo("America/Sao_Paulo"), ZoneInfo("Asia/Kolkata")]
        ),
    ),
)


# --- ensure_utc -------------------------------------------------------------------------------


def test_ensure_utc_converts_other_zones() -> None:
    lisbon = datetime(2026, 7, 1, 10, 0, tzinfo=ZoneInfo("Europe/Lisbon"))
    converted = ensure_utc(lisbon)
    assert converted == datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
    assert converted.tzinfo is UTC
    assert (converted.hour, converted.minute) == (9, 0)


def test_ensure_utc_keeps_utc_values() -> None:
    assert ensure_utc(START) == START
    assert ensure_utc(START).tzinfo is UTC


def test_ensure_utc_rejects_naive_with_field() -> None:
    with pytest.raises(ValidationError, match="naive datetime has no time zone") as info:
        ensure_utc(datetime(2026, 3, 2, 9, 0), field="starts_at")
    assert info.value.field == "starts_at"


def test_ensure_utc_default_field_name() -> None:
    with pytest.raises(ValidationError, match="field 'time'"):
        ensure_utc(datetime(2026, 3, 2, 9, 0))


@given(aware_datetimes)
def test_ensure_utc_preserves_the_instant(value: datetime) -> None:
    converted = ensure_utc(value)
    assert converted.timestamp() == value.timestamp()
    assert converted.utcoffset() == timedelta(0)
    assert ensure_utc(converted) == converted


# --- SystemClock ------------------------------------------------------------------------------


def test_system_clock_is_aware_utc_and_moves_forward() -> None:
    clock = SystemClock()
    first = clock.now()
    second = clock.now()
    assert first.tzinfo is UTC
    assert second >= first
    assert isinstance(clock, Clock)


# --- FixedClock -------------------------------------------------------------------------------


def test_fixed_clock_stands_still() -> None:
    clock = FixedClock(START)
    assert clock.now() == START
    assert clock.now() == START
    assert isinstance(clock, Clock)


def test_fixed_clock_converts_start_to_utc() -> None:
    clock = FixedClock(
        datetime(2026, 3, 2, 14, 30, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    )
    assert clock.now() == START
    assert clock.now().tzinfo is UTC


def test_fixed_clock_advance_returns_new_instant() -> None:
    clock = FixedClock(START)
    assert clock.advance(timedelta(hours=2)) == START + timedelta(hours=2)
    assert clock.now() == START + timedelta(hours=2)
    assert clock.advance(timedelta(minutes=-30)) == START + timedelta(hours=1, minutes=30)


def test_fixed_clock_set() -> None:
    clock = FixedClock(START)
    clock.set(datetime(2030, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=1))))
    assert clock.now() == datetime(2030, 1, 1, tzinfo=UTC)
    assert clock.now().tzinfo is UTC


def test_fixed_clock_rejects_naive_start() -> None:
    with pytest.raises(ValidationError, match="naive") as info:
        FixedClock(datetime(2026, 3, 2))
    assert info.value.field == "start"


def test_fixed_clock_set_rejects_naive_and_keeps_time() -> None:
    clock = FixedClock(START)
    with pytest.raises(ValidationError, match="naive") as info:
        clock.set(datetime(2026, 3, 2))
    assert info.value.field == "instant"
    assert clock.now() == START


@given(
    aware_datetimes, st.timedeltas(min_value=timedelta(days=-3650), max_value=timedelta(days=3650))
)
def test_fixed_clock_preserves_the_instant(start: datetime, delta: timedelta) -> None:
    # compare instants: PEP 495 makes an ambiguous wall time unequal to every other zone's
    clock = FixedClock(start)
    assert clock.now().timestamp() == start.timestamp()
    assert clock.now().tzinfo is UTC
    assert clock.advance(delta) == start.astimezone(UTC) + delta
    assert clock.now() - start.astimezone(UTC) == delta
    clock.set(start)
    assert clock.now() == start.astimezone(UTC)
