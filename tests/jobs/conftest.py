"""Helpers for the job tests: a real SMTP server, queued mail, and worker processes.

The worker processes are real ``learnprog worker`` commands (the installed console script)
delivering over SMTP into an aiosmtpd server on 127.0.0.1 that this process runs.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SmtpProtocol  # noqa: N811
from aiosmtpd.smtp import Envelope, Session
from attrs import evolve
from sqlalchemy.engine import Engine

import learnprog
from learnprog.model import MessageCategory, OutboxEntry, OutgoingMessage
from learnprog.model.identity import EmailAddress
from tests import factories as f
from tests.conftest import MARIADB_URL, POSTGRES_URL, START, empty_tables

SECRET = "test-secret-test-secret"
LEARNPROG = Path(sys.executable).with_name("learnprog")
MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>\r\n]+>)", re.MULTILINE | re.IGNORECASE)
SENT = re.compile(
    r"mail: done in [0-9.]+ s: sent (\d+), .*lost (\d+), cancelled \d+, released (\d+)"
)


class Inbox:
    """What the SMTP server received: each Message-ID, counted; can hold a message back.

    ``hold_at``: the n-th message (1-based) is held after its DATA arrives until
    :attr:`go` is set, and :attr:`holding` is set meanwhile (the sender waits for the answer).
    ``delay``: seconds each message takes to be accepted (a slower server).
    """

    def __init__(self, *, hold_at: int | None = None, delay: float = 0.0) -> None:
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.hold_at = hold_at
        self.delay = delay
        self.holding = threading.Event()
        self.go = threading.Event()

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SmtpProtocol, session: Session, envelope: Envelope
    ) -> str:
        content = envelope.original_content or b""
        found = MESSAGE_ID.search(content)
        with self.lock:
            self.counts[found.group(1).decode() if found else "?"] += 1
            arrived = sum(self.counts.values())
        if arrived == self.hold_at:
            self.holding.set()
            await asyncio.get_running_loop().run_in_executor(None, self.go.wait, 60)
        if self.delay:
            await asyncio.sleep(self.delay)
        return "250 Message accepted"

    def received(self) -> Counter[str]:
        with self.lock:
            return Counter(self.counts)

    def total(self) -> int:
        with self.lock:
            return sum(self.counts.values())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_smtp(inbox: Inbox) -> Controller:
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    return controller


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    """A plain SMTP server on 127.0.0.1; (what it received, its port)."""
    received = Inbox()
    controller = start_smtp(received)
    yield received, int(controller.port)
    received.go.set()
    controller.stop()


def url_of(backend: str, tmp_path: Path) -> str:
    return {
        "sqlite": f"sqlite:///{tmp_path / 'learnprog-test.db'}",
        "postgresql": POSTGRES_URL,
        "mariadb": MARIADB_URL,
    }[backend]


def migrated(backend: str, engine_pool: Callable[[str], Engine], tmp_path: Path) -> str:
    """The URL of ``backend``, migrated and emptied (SQLite: a new file of this test)."""
    url = url_of(backend, tmp_path)
    if backend == "sqlite":
        learnprog.connect(url, settings=learnprog.Settings(secret_key=SECRET)).close()
    else:
        empty_tables(engine_pool(backend))
    return url


def queue_messages(url: str, count: int) -> list[str]:
    """Queue ``count`` new messages in the outbox at ``url``; their Message-IDs in order."""
    batch = uuid.uuid4().hex[:12]
    lp = learnprog.connect(
        url,
        settings=learnprog.Settings(secret_key=SECRET),
        mailer=learnprog.InMemoryMailer(),
        migrate=False,
    )
    org = f.organization()
    base = OutgoingMessage.compose(
        organization_id=org.id,
        category=MessageCategory.TRANSACTIONAL,
        to="learner@example.org",
        subject="Your program",
        text_body="Hello\nWelcome to the program.",
        sender_address="noreply@example.com",
        sender_name="Acme",
        message_domain="example.com",
        template="program_welcome",
    )
    entries = [
        OutboxEntry.queue(
            evolve(
                base,
                message_id=f"<job-{batch}-{i:06d}@example.com>",
                to=EmailAddress.parse(f"learner{i}@example.org"),
            ),
            now=START,
        )
        for i in range(count)
    ]
    try:
        with lp.context.uow_factory() as uow:
            uow.organizations.add(org)
            uow.outbox.add_many(entries)
            uow.commit()
    finally:
        lp.close()
    return [e.message.message_id for e in entries]


def worker_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEARNPROG_")}
    return {**env, "LEARNPROG_SECRET_KEY": SECRET, "PYTHONUNBUFFERED": "1"}


class Worker:
    """A ``learnprog worker`` process whose log (stderr) goes to a file."""

    def __init__(self, url: str, port: int, cwd: Path, *args: str) -> None:
        self.log_path = cwd / f"worker-{next(_numbers)}.log"
        command = [
            str(LEARNPROG), "--db", url, "--smtp-host", "127.0.0.1", "--smtp-port", str(port),
            "--smtp-security", "none", "worker", "--log-level", "info", *args,
        ]  # fmt: skip
        with self.log_path.open("w", encoding="utf-8") as log:
            self.process = subprocess.Popen(
                command, cwd=cwd, env=worker_env(), stdout=log, stderr=subprocess.STDOUT
            )

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8")

    def started(self) -> bool:
        """True once it logged that it started; an AssertionError if it exited."""
        if self.process.poll() is not None:
            raise AssertionError(f"the worker exited with {self.process.returncode}:\n{self.log()}")
        return "worker started" in self.log()

    def stop(self, signum: int = signal.SIGTERM) -> tuple[int, str]:
        """Send ``signum`` and wait for it to exit; (its exit status, its log)."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            status = self.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"the worker did not stop in 120 s:\n{self.log()}") from None
        return status, self.log()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


_numbers = itertools.count(1)


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def mail_counts(log: str) -> tuple[int, int, int]:
    """(sent, lost, released) over every run a worker's log reports."""
    sent = lost = released = 0
    for match in SENT.finditer(log):
        sent += int(match.group(1))
        lost += int(match.group(2))
        released += int(match.group(3))
    return sent, lost, released
