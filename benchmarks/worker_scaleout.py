"""Messages per second of 1, 2 and 4 ``learnprog worker`` processes draining one outbox.

For each worker count, ``--messages`` prebuilt messages are queued in the outbox of one
database (PostgreSQL by default), an aiosmtpd server is started on 127.0.0.1 in this process,
and that many ``learnprog worker --once`` processes are started at once; the time runs from
their start (imports and connecting included) until every message is recorded SENT. Printed:
seconds, messages per second, and the ratio to 1 worker (the baseline).

The floor: ``smtplib`` sending the same prebuilt messages (their bytes as the worker sends
them) to the same server in one loop, without any database: one connection per message, as
``SmtpMailer`` does, and one connection for all of them. Each run also checks that the server
received every message exactly once. Figures only; nothing is asserted.

    python benchmarks/worker_scaleout.py [--messages 10000] [--workers 1,2,4]
        [--backend postgresql|mariadb|sqlite]

The database is the benchmark's own (``LEARNPROG_BENCH_POSTGRES_URL``, ...; see
``_databases.py``): its tables are emptied.
"""

from __future__ import annotations

import argparse
import os
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import sqlalchemy as sa
from _databases import bench_url
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from attrs import evolve

import learnprog
from learnprog.mail.message import message_bytes, wire_address
from learnprog.model import MessageCategory, OutboxEntry, OutboxStatus, OutgoingMessage
from learnprog.model.identity import EmailAddress, new_id
from learnprog.model.organization import Organization
from learnprog.storage.sql import create_sql_engine, upgrade
from learnprog.storage.sql.tables import metadata

SECRET = "benchmark-secret-benchmark-secret"
LEARNPROG = Path(sys.executable).with_name("learnprog")
BODY = "\n".join(f"Line {i} of the program's welcome message." for i in range(30))


class Counting:
    """An SMTP handler that counts messages by their first header line's Message-ID."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        content = envelope.original_content or b""
        start = content.find(b"Message-ID: ")
        key = content[start + 12 : content.find(b"\r\n", start)] if start >= 0 else b"?"
        with self.lock:
            self.counts[key.decode()] += 1
        return "250 OK"

    def reset(self) -> None:
        with self.lock:
            self.counts.clear()


def prebuilt(count: int) -> list[OutgoingMessage]:
    organization = Organization.create("Bench", now=learnprog.SystemClock().now())
    base = OutgoingMessage.compose(
        organization_id=organization.id,
        category=MessageCategory.TRANSACTIONAL,
        to="learner@example.org",
        to_name="A Learner",
        subject="Welcome to the program",
        text_body=BODY,
        html_body="<p>" + BODY.replace("\n", "</p><p>") + "</p>",
        sender_address="noreply@example.com",
        sender_name="Bench",
        message_domain="example.com",
        template="program_welcome",
    )
    return [
        evolve(
            base,
            message_id=f"<{new_id()}@example.com>",
            to=EmailAddress.parse(f"learner{i}@example.org"),
        )
        for i in range(count)
    ]


def queue(url: str, messages: list[OutgoingMessage]) -> None:
    engine = create_sql_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
    engine.dispose()
    lp = learnprog.connect(
        url, settings=learnprog.Settings(secret_key=SECRET), mailer=learnprog.InMemoryMailer()
    )
    now = lp.context.clock.now()
    organization = Organization.create("Bench", now=now)
    entries = [
        OutboxEntry.queue(evolve(m, organization_id=organization.id), now=now) for m in messages
    ]
    with lp.context.uow_factory() as uow:
        uow.organizations.add(organization)
        for start in range(0, len(entries), 1000):
            uow.outbox.add_many(entries[start : start + 1000])
        uow.commit()
    lp.close()


def sent(url: str) -> int:
    engine = create_sql_engine(url)
    outbox = metadata.tables["outbox"]
    with engine.connect() as conn:
        count = conn.execute(
            sa.select(sa.func.count()).where(outbox.c.status == OutboxStatus.SENT.value)
        ).scalar_one()
    engine.dispose()
    return int(count)


def drain(url: str, port: int, workers: int, total: int, folder: Path) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEARNPROG_")}
    env["LEARNPROG_SECRET_KEY"] = SECRET
    command = [
        str(LEARNPROG), "--db", url, "--smtp-host", "127.0.0.1", "--smtp-port", str(port),
        "--smtp-security", "none", "worker", "--once", "--log-level", "warning",
    ]  # fmt: skip
    start = time.perf_counter()
    processes = [
        subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.DEVNULL)
        for _ in range(workers)
    ]
    codes = [p.wait() for p in processes]
    elapsed = time.perf_counter() - start
    if codes != [0] * workers:
        raise SystemExit(f"a worker failed: exit statuses {codes}")
    done = sent(url)
    if done != total:
        raise SystemExit(f"{done} of {total} messages recorded sent")
    return elapsed


def floor(messages: list[OutgoingMessage], port: int, *, one_connection: bool) -> float:
    now = learnprog.SystemClock().now()
    raws = [
        (wire_address(m.sender_address), [wire_address(m.to)], message_bytes(m, date=now))
        for m in messages
    ]
    start = time.perf_counter()
    if one_connection:
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            for sender, to, raw in raws:
                smtp.sendmail(sender, to, raw)
    else:
        for sender, to, raw in raws:
            with smtplib.SMTP("127.0.0.1", port) as smtp:
                smtp.sendmail(sender, to, raw)
    return time.perf_counter() - start


def check(handler: Counting, messages: list[OutgoingMessage], label: str) -> None:
    with handler.lock:
        counts = Counter(handler.counts)
    wanted = {m.message_id for m in messages}
    if set(counts) != wanted or set(counts.values()) != {1}:
        twice = sum(1 for n in counts.values() if n > 1)
        missing = len(wanted - set(counts))
        raise SystemExit(f"{label}: {missing} messages missing, {twice} received twice")
    handler.reset()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--backend", default="postgresql")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    folder = Path(tempfile.mkdtemp(prefix="worker-scaleout-"))
    url = bench_url(args.backend, folder)
    messages = prebuilt(args.messages)
    handler = Counting()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    print(f"{args.messages:,} messages, {args.backend}, {os.cpu_count()} CPUs", flush=True)
    try:
        results: dict[int, float] = {}
        for workers in counts:
            queue(url, messages)
            results[workers] = drain(url, port, workers, len(messages), folder)
            check(handler, messages, f"{workers} workers")
        floors = {}
        for one in (False, True):
            floors[one] = floor(messages, port, one_connection=one)
            check(handler, messages, "floor")
    finally:
        controller.stop()
    base = results.get(1, next(iter(results.values())))
    print("workers\tseconds\tmessages/s\tx 1 worker")
    for workers, seconds in results.items():
        rate = args.messages / seconds
        print(f"{workers}\t{seconds:.1f}\t{rate:,.0f}\t{base / seconds:.2f}x")
    for one, seconds in floors.items():
        label = "one connection" if one else "a connection per message"
        print(
            f"floor: smtplib in one loop, {label}\t{seconds:.1f}\t"
            f"{args.messages / seconds:,.0f}\t{base / seconds:.2f}x"
        )


if __name__ == "__main__":
    main()
