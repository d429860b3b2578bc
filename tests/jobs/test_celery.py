"""run_due from an existing task queue: Celery with Redis, as examples/celery_tasks.py sets up.

Two real ``celery worker`` processes (and then ``celery beat``) with the Redis at
127.0.0.1:6379 as broker, PostgreSQL as storage, aiosmtpd as the mail server. Without Redis
the test is skipped, except with ``CI=true``, where that is a failure.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from tests.conftest import IN_CI
from tests.examples.conftest import EXAMPLES, example_env, require
from tests.jobs.conftest import SECRET, Inbox, migrated, queue_messages, start_smtp, wait_until

REDIS = "redis://127.0.0.1:6379/0"
CELERY = Path(sys.executable).with_name("celery")


@pytest.fixture
def redis_url() -> str:
    """The broker's URL, once Redis answers a PING (skip, or fail with CI=true)."""
    redis = require("redis")
    require("celery")
    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        message = f"Redis is not reachable at {REDIS}: {exc}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return REDIS


class Celery:
    """Celery processes of the example app, on a queue of their own, and a client."""

    def __init__(self, broker: str, db_url: str, smtp_port: int, tmp_path: Path) -> None:
        self.queue = f"learnprog-test-{uuid.uuid4().hex}"
        self.tmp_path = tmp_path
        self.env = example_env(
            CELERY_BROKER_URL=broker,
            CELERY_RESULT_BACKEND=broker,
            LEARNPROG_JOBS_QUEUE=self.queue,
            LEARNPROG_JOBS_EVERY="1",
            LEARNPROG_DB=db_url,
            LEARNPROG_SECRET_KEY=SECRET,
            LEARNPROG_SMTP_HOST="127.0.0.1",
            LEARNPROG_SMTP_PORT=str(smtp_port),
            LEARNPROG_SMTP_SECURITY="none",
        )
        self.env["PYTHONPATH"] = f"{EXAMPLES}:{self.env['PYTHONPATH']}"
        self.processes: list[subprocess.Popen[bytes]] = []
        from celery import Celery as CeleryApp

        self.client = CeleryApp("client", broker=broker, backend=broker)

    def start(self, name: str, *args: str) -> None:
        command = [str(CELERY), "-A", "celery_tasks", *args]
        with (self.tmp_path / f"{name}.log").open("wb") as log:
            self.processes.append(
                subprocess.Popen(
                    command, cwd=self.tmp_path, env=self.env, stdout=log, stderr=subprocess.STDOUT
                )
            )

    def worker(self, name: str) -> None:
        self.start(
            name, "worker", "--pool=solo", "-n", f"{name}@%h", "-Q", self.queue,
            "--without-gossip", "--without-mingle", "--loglevel=INFO",
        )  # fmt: skip

    def ready(self, count: int) -> bool:
        for process in self.processes:
            assert process.poll() is None, self.logs()
        replies = self.client.control.ping(timeout=1.0)
        return len(replies) >= count

    def run_due(self) -> Any:
        return self.client.send_task("learnprog.run_due", queue=self.queue)

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.tmp_path.glob("*.log"))

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()  # warm shutdown
        for process in self.processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def celery_world(
    redis_url: str, engine_pool: Callable[[str], Engine], tmp_path: Path
) -> Iterator[tuple[Celery, Inbox, str]]:
    url = migrated("postgresql", engine_pool, tmp_path)
    inbox = Inbox(delay=0.01)  # 10 ms a message: a run lasts long enough for the other to join
    controller = start_smtp(inbox)
    celery = Celery(redis_url, url, int(controller.port), tmp_path)
    try:
        yield celery, inbox, url
    finally:
        celery.stop()
        controller.stop()


@pytest.mark.postgresql
def test_two_celery_workers_running_run_due_at_once_deliver_every_message_once(
    celery_world: tuple[Celery, Inbox, str],
) -> None:
    celery, inbox, url = celery_world
    ids = queue_messages(url, 300)
    celery.worker("one")
    celery.worker("two")
    wait_until(lambda: celery.ready(2), 90, "both Celery workers")

    first, second = celery.run_due(), celery.run_due()  # one for each worker, at once
    results = [first.get(timeout=180), second.get(timeout=180)]

    assert all(r["failed"] == [] for r in results), results
    assert {r["worker"].split("@")[0] for r in results} == {"one", "two"}
    assert max(r["started"] for r in results) < min(r["finished"] for r in results), (
        f"the runs did not overlap: {results}"
    )
    assert all(r["sent"] > 0 for r in results), results  # both delivered a share
    assert sum(r["sent"] for r in results) == 300
    assert inbox.received() == dict.fromkeys(ids, 1)  # every message, once

    # the beat schedule of the example queues run_due every LEARNPROG_JOBS_EVERY (1 s here)
    more = queue_messages(url, 50)
    celery.start("beat", "beat", "-s", str(celery.tmp_path / "beat-schedule"), "--loglevel=INFO")
    wait_until(lambda: set(inbox.received()) >= set(more), 120, "beat-driven delivery")
    received = inbox.received()
    assert all(received[i] == 1 for i in [*ids, *more]), "a message was delivered twice"
