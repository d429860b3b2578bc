"""Bulk invitation of a generated roster CSV: learnprog beside a hand-written floor.

For each backend, prints rows per second and peak Python memory (tracemalloc) of

- learnprog: ``InvitationService.bulk_invite`` with invitation emails queued;
- the floor: the same file parsed with the csv module, each address validated with
  email-validator, and the same rows (learner, membership, outbox entry) written with
  hand-written SQL in batches of 500. Its outbox entry is the same invitation email as
  learnprog's (the package's templates rendered once, each row's name, address and a random
  link token of a signed one's length filled in by string replacement), so both write
  the same amount.

Then the peak memory of learnprog at ``--rows`` and at three times as many, side by side.
Figures only; nothing is asserted.

    python benchmarks/bulk_invite.py [--rows 100000] [--scale 1] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import csv
import functools
import html
import secrets
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import email_validator
import sqlalchemy as sa
from _databases import bench_url

import learnprog
from learnprog.clock import SystemClock
from learnprog.mail.rendering import INVITATION, MailTemplates
from learnprog.storage.sql import create_sql_engine, upgrade
from learnprog.storage.sql.tables import learners, memberships, metadata, outbox

# mail is queued, not delivered, and no link is followed: nothing to warn about
QUIET: dict[str, Any] = {
    "mailer": learnprog.InMemoryMailer(),
    "settings": learnprog.Settings(secret_key="benchmark-secret-not-for-links"),
}

NOW = SystemClock().now()  # the clock is real: the contract runs from a day before to a year on


def roster(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Full Name", "Email", "External ID"])
        for i in range(rows):
            writer.writerow([f"Learner Número {i}", f"learner.{i}@example.org", f"{i:07d}"])


def empty(url: str) -> None:
    engine = create_sql_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
    engine.dispose()


def measure(
    work: Callable[[], int], reset: Callable[[], None] | None = None
) -> tuple[float, float]:
    """Return (rows per second, peak MiB) of ``work``, which returns its row count.

    Speed is timed without tracing (tracemalloc slows Python several times over); the peak
    of Python allocations comes from a second, traced run.
    """
    started = time.perf_counter()
    count = work()
    rate = count / (time.perf_counter() - started)
    if reset is not None:
        reset()
    tracemalloc.start()
    work()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return rate, peak


def traced_peak(work: Callable[[], int]) -> float:
    """Return the peak MiB of Python allocations while ``work`` runs."""
    tracemalloc.start()
    work()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return peak


def learnprog_run(url: str, path: Path) -> int:
    system = learnprog.SystemActor()
    with learnprog.connect(url, **QUIET) as lp:
        org = lp.organizations.create_organization(
            system,
            "Bench",
            email_domains=["example.org"],
            admin_name="Admin",
            admin_email="admin@example.org",
        )
        admin = lp.organizations.resolve_actor(system, org.id, "admin@example.org")
        program = lp.programs.create_program(admin, org.id, "Academy")
        contract = lp.programs.create_contract(
            admin,
            org.id,
            "Unlimited",
            kind="unlimited",
            starts_at=NOW - timedelta(days=1),
            ends_at=NOW + timedelta(days=365),
        )
        totals = lp.invitations.bulk_invite(admin, program.id, contract.id, path).run()
        return totals.created


NAME, MAIL, LINK = "@@name@@", "@@mail@@", "@@link@@"
ACCEPT = "http://localhost:8000/programs/academy/accept?token="


def invitation_mail() -> tuple[str, str, str]:
    """The floor's email (subject, text, HTML): the package's invitation templates rendered
    once, with markers.

    The floor then fills each row's name, address and link by string replacement, so its
    outbox rows are the same size as learnprog's (a link token as long as a signed one,
    random instead of signed).
    """
    stand_in = {"full_name": NAME, "email": MAIL}
    context: dict[str, Any] = {
        "organization": {"name": "Floor", "logo_url": None},
        "program": {"name": "Academy", "tagline": None, "url": ACCEPT.split("/accept")[0]},
        "learner": stand_in,
        "unsubscribe_url": None,
        "accept_url": LINK,
        "message": None,
        "membership_ended": False,
    }
    rendered = MailTemplates().render(INVITATION, context)
    return rendered.subject, rendered.text, rendered.html


def floor_run(url: str, path: Path) -> int:
    engine = create_sql_engine(url)
    org_id = uuid.uuid4().hex
    program_id, contract_id = uuid.uuid4().hex, uuid.uuid4().hex
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO organizations (id, name, email_domains, timezone, report_program_ids, "
                "report_weekdays, restrict_invitations_to_domains, created_at) VALUES "
                "(:id, 'Floor', '[]', 'UTC', '[]', '[]', false, :now)"
            ),
            {"id": org_id, "now": NOW.replace(tzinfo=None)},
        )
        conn.execute(
            sa.text(
                "INSERT INTO programs (id, organization_id, name, slug, created_at) VALUES "
                "(:id, :org, 'Floor', :slug, :now)"
            ),
            {
                "id": program_id,
                "org": org_id,
                "slug": f"floor-{program_id[:8]}",
                "now": NOW.replace(tzinfo=None),
            },
        )
        conn.execute(
            sa.text(
                "INSERT INTO contracts (id, organization_id, name, kind, used, starts_at, ends_at) "
                "VALUES (:id, :org, 'C', 'unlimited', 0, :now, :now)"
            ),
            {"id": contract_id, "org": org_id, "now": NOW.replace(tzinfo=None)},
        )
    count = 0
    batch: list[tuple[str, str, str]] = []
    subject, text_body, html_body = invitation_mail()

    def flush() -> None:
        naive = NOW.replace(tzinfo=None)
        with engine.begin() as conn:
            people: list[dict[str, Any]] = [
                {
                    "id": uuid.uuid4().hex,
                    "organization_id": org_id,
                    "full_name": n,
                    "email": e,
                    "email_key": e.casefold(),
                    "external_id": x,
                    "attributes": {},
                    "identity_verified": False,
                    "created_at": NOW,
                }
                for n, e, x in batch
            ]
            conn.execute(learners.insert(), people)
            members = [
                {
                    "id": uuid.uuid4().hex,
                    "organization_id": org_id,
                    "program_id": program_id,
                    "learner_id": p["id"],
                    "contract_id": contract_id,
                    "state": "INVITED",
                    "invited_at": NOW,
                }
                for p in people
            ]
            conn.execute(memberships.insert(), members)
            conn.execute(
                outbox.insert(),
                [
                    {
                        "id": uuid.uuid4().hex,
                        "organization_id": org_id,
                        "message_id": f"<{uuid.uuid4().hex}@example.org>",
                        "category": "transactional",
                        "to_address": p["email"],
                        "to_name": p["full_name"],
                        "subject": subject,
                        "text_body": text_body.replace(NAME, p["full_name"])
                        .replace(MAIL, p["email"])
                        .replace(LINK, link),
                        "html_body": html_body.replace(NAME, html.escape(p["full_name"]))
                        .replace(MAIL, html.escape(p["email"]))
                        .replace(LINK, link),
                        "sender_name": "Floor",
                        "sender_address": "noreply@example.org",
                        "template": "invitation",
                        "learner_id": p["id"],
                        "membership_id": m["id"],
                        "headers": {},
                        "status": "pending",
                        "attempts": 0,
                        "created_at": NOW,
                        "next_attempt_at": NOW,
                    }
                    for p, m in zip(people, members, strict=True)
                    # as long as a signed token, but random
                    for link in (f"{ACCEPT}{secrets.token_urlsafe(110)}",)
                ],
            )
        del naive
        batch.clear()

    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        for name, email, external in reader:
            email_validator.validate_email(email, check_deliverability=False)
            batch.append((name, email, external))
            count += 1
            if len(batch) == 500:
                flush()
    if batch:
        flush()
    engine.dispose()
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    rows = int(args.rows * args.scale)
    folder = Path(tempfile.mkdtemp())
    path, triple = folder / "roster.csv", folder / "roster3.csv"
    roster(path, rows)
    print(f"roster: {rows} rows, {path.stat().st_size / 2**20:.1f} MiB")
    print(
        f"{'backend':<11} {'learnprog rows/s':>17} {'floor rows/s':>13} {'ratio':>6} "
        f"{'learnprog MiB':>14} {'floor MiB':>10}"
    )
    for backend in args.backends.split(","):
        url = bench_url(backend, folder)
        try:
            empty(url)
        except learnprog.LearnprogError as exc:
            print(f"{backend:<11} unavailable: {exc}")
            continue
        reset = functools.partial(empty, url)
        ours, ours_mem = measure(functools.partial(learnprog_run, url, path), reset)
        empty(url)
        floor, floor_mem = measure(functools.partial(floor_run, url, path), reset)
        empty(url)
        print(
            f"{backend:<11} {ours:>17,.0f} {floor:>13,.0f} {floor / ours:>5.1f}x "
            f"{ours_mem:>14.1f} {floor_mem:>10.1f}"
        )
    roster(triple, rows * 3)
    url = bench_url("sqlite", folder)
    empty(url)
    small = traced_peak(functools.partial(learnprog_run, url, path))
    empty(url)
    large = traced_peak(functools.partial(learnprog_run, url, triple))
    print(
        f"peak memory, sqlite: {small:.1f} MiB at {rows} rows, {large:.1f} MiB at {rows * 3} "
        f"rows: {large / small:.2f}x"
    )


if __name__ == "__main__":
    main()
