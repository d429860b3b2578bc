"""The error tree: what a retry catches and what it does not."""

from __future__ import annotations

import pytest

import learnprog
from learnprog.errors import (
    ConcurrencyError,
    ConcurrentWriteError,
    ConflictError,
    EnrollmentLimitError,
    LicenseLimitError,
    StaleDataError,
)
from learnprog.services._base import retry_on


def test_errors_that_a_retry_may_get_past_are_concurrency_errors() -> None:
    for error in (StaleDataError, ConcurrentWriteError):
        assert issubclass(error, ConcurrencyError)
        # deprecated for one release: the old catch still works
        assert issubclass(error, ConflictError)


def test_duplicates_and_limits_are_not_concurrency_errors() -> None:
    for error in (ConflictError, LicenseLimitError, EnrollmentLimitError):
        assert not issubclass(error, ConcurrencyError)


def test_the_new_errors_are_public() -> None:
    assert learnprog.ConcurrencyError is ConcurrencyError
    assert learnprog.ConcurrentWriteError is ConcurrentWriteError


def test_a_translated_deadlock_keeps_its_kind() -> None:
    message = "membership: a concurrent write got in the way"
    error = ConcurrentWriteError(message, kind="membership")
    assert (error.kind, str(error)) == ("membership", message)


def test_a_retry_on_concurrency_runs_again_and_lets_a_duplicate_through() -> None:
    calls: list[str] = []

    @retry_on(ConcurrencyError, attempts=3)
    def step(error: Exception) -> str:
        calls.append(type(error).__name__)
        if len(calls) < 3:
            raise error
        return "done"

    assert step(ConcurrentWriteError("deadlock")) == "done"
    assert calls == ["ConcurrentWriteError"] * 3
    calls.clear()
    with pytest.raises(LicenseLimitError):
        step(LicenseLimitError("no license left"))
    assert calls == ["LicenseLimitError"]  # a limit is met again: never run twice
