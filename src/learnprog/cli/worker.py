"""``learnprog worker``: run the time-driven work (:meth:`JobService.run_due`) in a loop.

Safe on several machines against one PostgreSQL or MariaDB database (``docs/howto-worker.md``):
the steps claim their work (outbox leases, unique scheduled-report records, scoring locks).
"""

from __future__ import annotations

import logging
import math
import signal
import sys
import time
from types import FrameType

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from learnprog.cli._common import session
from learnprog.model.access import SystemActor

log = logging.getLogger("learnprog.worker")

_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s"
_TICK = 0.2  # seconds: how often the wait between runs looks for a stop signal


class StopSignal:
    """Set by SIGTERM or SIGINT; called, answers whether the worker should stop.

    The handler only sets a flag: whatever the worker is doing (an SMTP exchange, a query)
    goes on to its end, and the run looks at the flag between messages and between steps.
    """

    def __init__(self) -> None:
        self.received: str | None = None

    def __call__(self) -> bool:
        """True once a stop signal came."""
        return self.received is not None

    def handle(self, signum: int, frame: FrameType | None) -> None:
        """The signal handler: note the signal (the first one names the stop in the log)."""
        if self.received is None:
            self.received = signal.Signals(signum).name
            log.info("%s received: finishing the message in hand, then stopping", self.received)


def _shown_url(url: str) -> str:
    """The storage URL with its password hidden, for the log."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "memory://" if url.startswith("memory:") else "(a URL)"


def _seconds(ctx: click.Context, param: click.Parameter, value: float) -> float:
    """Refuse NaN, which FloatRange lets through (no comparison with it is true)."""
    if math.isnan(value):
        raise click.BadParameter("nan is not a number of seconds")
    return value


@click.command("worker")
@click.option(
    "--every",
    type=click.FloatRange(min=0.1, max=86_400),
    callback=_seconds,
    default=60.0,
    show_default=True,
    help="Seconds from the start of one run to the start of the next.",
)
@click.option("--once", is_flag=True, help="Run once and exit (for cron or a task queue).")
@click.option(
    "--log-level",
    envvar="LEARNPROG_LOG_LEVEL",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
    show_envvar=True,
)
@click.pass_context
def worker(ctx: click.Context, every: float, once: bool, log_level: str) -> None:
    """Do the due time-driven work (mail, scheduled reports, skill scoring), every --every s.

    Logs to stderr. SIGTERM or SIGINT: the message in hand is finished, the rest of the claim
    released for another worker, and the worker exits 0. With --once it exits 1 when a step
    failed. Several workers may run at once against one PostgreSQL or MariaDB database.
    """
    handler = logging.StreamHandler(sys.stderr)  # learnprog's loggers only, for this command
    handler.setFormatter(logging.Formatter(_LOG_FORMAT))
    package = logging.getLogger("learnprog")
    level = package.level
    package.addHandler(handler)
    package.setLevel(log_level.upper())
    try:
        _work(ctx, every, once)
    finally:
        package.removeHandler(handler)
        package.setLevel(level)


def _work(ctx: click.Context, every: float, once: bool) -> None:
    """The worker's loop, between its signal handlers."""
    stop = StopSignal()
    handled = (signal.SIGTERM, signal.SIGINT)
    previous = {signum: signal.signal(signum, stop.handle) for signum in handled}
    failed = False
    try:
        with session(ctx) as lp:
            db = _shown_url(ctx.find_root().params["db"])
            steps = ", ".join(s.name for s in lp.jobs.registry.steps)
            pace = "once" if once else f"every {every} s"  # --once ignores --every
            log.info("worker started on %s: steps %s, %s", db, steps, pace)
            while not stop():
                began = time.monotonic()
                report = lp.jobs.run_due(SystemActor(), stop=stop)
                failed = bool(report.failed)
                if once:
                    break
                deadline = began + every
                while not stop() and time.monotonic() < deadline:
                    time.sleep(min(_TICK, max(0.0, deadline - time.monotonic())))
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    log.info("worker stopped" + (f" ({stop.received})" if stop() else ""))
    if once and failed:
        sys.exit(1)


COMMANDS = (worker,)
"""The commands this module adds to ``learnprog``."""
