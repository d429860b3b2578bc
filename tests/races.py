"""Run the same calls at once, many rounds over: in threads, or in processes of their own.

A race shows itself only now and then, so each race test repeats it: ``ROUNDS`` times (20 by
default, as in CI; ``LEARNPROG_RACE_ROUNDS=200`` for a longer local run). Each round releases
its calls together behind a barrier.

- :func:`at_once` runs zero-argument callables in threads of this process (every backend,
  memory included: the in-memory store is shared by the threads).
- :class:`ProcessRace` runs a module-level function in worker processes, each with its own
  learnprog instance over the same database URL (SQLite file, PostgreSQL, MariaDB): what
  several web or ingest workers of a host do. The workers are started (spawned, so that no
  inherited connection is shared) once per test and serve
  every round.

An outcome is the class name of what a call returned (``Class.NAME`` for a member of an enum,
such as an invitation's outcome), or of the ``LearnprogError`` it raised; any other exception
fails the test, since it is a defect, not an outcome.
"""

from __future__ import annotations

import enum
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing.synchronize import Barrier as ProcessBarrier
from typing import Any

from learnprog.errors import LearnprogError

ROUNDS = int(os.environ.get("LEARNPROG_RACE_ROUNDS", "20"))
"""Rounds of each race: 20 by default (as in CI), more through ``LEARNPROG_RACE_ROUNDS``."""

_TIMEOUT = 120  # seconds a round may take before the test fails


def outcome_of(call: Callable[[], object]) -> str:
    """The class name of what ``call`` returns, or of the learnprog error it raises.

    A member of an enum is named with its class: ``InvitationOutcome.CREATED``.
    """
    try:
        result = call()
    except LearnprogError as exc:
        return type(exc).__name__
    if isinstance(result, enum.Enum):
        return f"{type(result).__name__}.{result.name}"
    return type(result).__name__


def at_once(calls: Sequence[Callable[[], object]]) -> list[str]:
    """Run ``calls`` in threads released together; return their outcomes, sorted.

    Raises:
        AssertionError: a thread did not finish within two minutes, or a call raised an
            exception that is not a ``LearnprogError`` (it is re-raised as the cause).
    """
    outcomes: list[str] = []
    failures: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], object]) -> None:
        try:
            start.wait(timeout=_TIMEOUT)
            outcome = outcome_of(call)
        except BaseException as exc:  # noqa: BLE001 - handed to the test below
            with lock:
                failures.append(exc)
            return
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=_TIMEOUT)
    if failures:
        raise AssertionError(f"a concurrent call failed: {failures[0]!r}") from failures[0]
    assert len(outcomes) == len(calls), "a concurrent call did not finish in time"
    return sorted(outcomes)


_barrier: ProcessBarrier | None = None


def _start_worker(barrier: ProcessBarrier) -> None:
    global _barrier
    _barrier = barrier


def _run_in_worker(target: Callable[..., object], args: tuple[Any, ...]) -> str:
    assert _barrier is not None
    _barrier.wait(timeout=_TIMEOUT)
    return outcome_of(lambda: target(*args))


def _result_in_worker(target: Callable[..., object], args: tuple[Any, ...]) -> object:
    assert _barrier is not None
    _barrier.wait(timeout=_TIMEOUT)
    try:
        return target(*args)
    except LearnprogError as exc:
        return exc


class ProcessRace:
    """Worker processes that run one call each per round, released together.

    Use as a context manager (:func:`process_race`). ``target`` must be a module-level
    function (it is sent to the workers by name); it typically connects to a database URL
    given in its arguments, once per process, and makes one call.
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers
        context = multiprocessing.get_context("spawn")
        self._pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_start_worker,
            initargs=(context.Barrier(workers),),
        )

    def round(self, target: Callable[..., object], args: list[tuple[Any, ...]]) -> list[str]:
        """Run ``target(*a)`` for each ``a`` of ``args`` (one per worker) at once; outcomes sorted.

        Raises:
            AssertionError: ``args`` does not have one tuple per worker.
            Exception: what a call raised that is not a ``LearnprogError``.
        """
        assert len(args) == self.workers, "one call per worker and round"
        futures = [self._pool.submit(_run_in_worker, target, a) for a in args]
        return sorted(future.result(timeout=_TIMEOUT) for future in futures)

    def results(self, target: Callable[..., object], args: list[tuple[Any, ...]]) -> list[object]:
        """As :meth:`round`, but return what each call returned (or its ``LearnprogError``).

        In the order of ``args``; the values must pickle (they come back from the workers).

        Raises:
            AssertionError: ``args`` does not have one tuple per worker.
            Exception: what a call raised that is not a ``LearnprogError``.
        """
        assert len(args) == self.workers, "one call per worker and round"
        futures = [self._pool.submit(_result_in_worker, target, a) for a in args]
        return [future.result(timeout=_TIMEOUT) for future in futures]

    def close(self) -> None:
        """Stop the workers."""
        self._pool.shutdown(wait=True, cancel_futures=True)


@contextmanager
def process_race(workers: int = 2) -> Iterator[ProcessRace]:
    """Start ``workers`` processes for the rounds of one test; stop them afterwards."""
    race = ProcessRace(workers)
    try:
        yield race
    finally:
        race.close()
