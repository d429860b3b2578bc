"""learnprog.web's pages over HTTP beside two floors measured in the same run.

Serves ``create_app`` with uvicorn on 127.0.0.1 (a free port; loopback only) over a SQLite file
with one organization, one program and ``--members`` members, and times ``--requests``
sequential requests (one keep-alive connection, httpx2) of:

* ``GET /ping``: a bare Starlette route in the same server: the HTTP floor;
* the services the program page calls, without HTTP (``find_program``, ``get_organization``,
  ``resolve_actor``, ``own_membership``): the storage floor;
* ``GET /programs/{slug}`` signed in as a member: the page (floors plus templates, CSRF);
* ``POST /email/unsubscribe?token=...`` with the RFC 8058 body: a write.

Prints the median and 95th percentile per request in milliseconds. Figures only.

    python benchmarks/web_pages.py [--requests 500] [--members 1000]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx2 as httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

import learnprog
from learnprog.mail.memory import InMemoryMailer
from learnprog.web import create_app

SYSTEM = learnprog.SystemActor()


def timed(call: Callable[[], object], count: int) -> list[float]:
    """Milliseconds of each of ``count`` calls."""
    times = []
    for _ in range(count):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return times


def line(name: str, times: list[float]) -> str:
    p95 = statistics.quantiles(times, n=20)[-1] if len(times) >= 20 else max(times)
    return f"{name:<44} median {statistics.median(times):7.2f} ms   p95 {p95:7.2f} ms"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--members", type=int, default=1000)
    args = parser.parse_args(argv)

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # accepted sockets inherit it: without it, a keep-alive response's second write waits for
    # the client's delayed ACK (Nagle), about 40 ms a request on Linux
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    origin = f"http://127.0.0.1:{sock.getsockname()[1]}"
    mailer = InMemoryMailer()
    folder = Path(tempfile.mkdtemp())
    lp = learnprog.connect(
        f"sqlite:///{folder / 'web.db'}",
        settings=learnprog.Settings(base_url=origin, secret_key="benchmark-secret-0123456789"),
        mailer=mailer,
    )
    org = lp.organizations.create_organization(
        SYSTEM,
        "Acme",
        email_domains=["acme.example"],
        admin_name="Ana",
        admin_email="ana@acme.example",
        brand_color="#0B6E4F",
    )
    ana = lp.organizations.resolve_actor(SYSTEM, org.id, "ana@acme.example")
    program = lp.programs.create_program(ana, org.id, "Data Academy", slug="data-academy")
    contract = lp.programs.create_contract(
        ana,
        org.id,
        "Year 1",
        kind="licenses",
        quantity=args.members + 1,
        starts_at=datetime(2026, 1, 1, tzinfo=UTC),
        ends_at=datetime(2036, 1, 1, tzinfo=UTC),
    )
    csv = "Full Name,Email,External Id\n" + "".join(
        f"Learner {n},learner{n}@acme.example,\n" for n in range(args.members)
    )
    roster = folder / "roster.csv"
    roster.write_text(csv, encoding="utf-8")
    lp.invitations.bulk_invite(ana, program.id, contract.id, roster, send_email=False).run()
    noa_email = "learner0@acme.example"
    noa = lp.organizations.resolve_actor(SYSTEM, org.id, noa_email)
    lp.invitations.accept_by_sign_in(noa, "data-academy")
    lp.mail.dispatch(SYSTEM)
    welcome = next(m for m in mailer.sent if m.to.address == noa_email and m.headers)
    unsubscribe = welcome.headers["List-Unsubscribe"].strip("<>")

    async def ping(request: Request) -> PlainTextResponse:
        return PlainTextResponse("pong")

    app = create_app(lp, identify=lambda request: request.headers.get("X-User"))
    host = Starlette(routes=[Route("/ping", ping), Mount("/", app)])
    server = uvicorn.Server(uvicorn.Config(host, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        with httpx.Client(base_url=origin, headers={"X-User": noa_email}) as client:
            page = client.get("/programs/data-academy")
            assert page.status_code == 200, page.text
            assert "You are a member" in page.text

            def services() -> None:
                found = lp.programs.find_program(SYSTEM, "data-academy")
                lp.organizations.get_organization(SYSTEM, found.organization_id)
                learner = lp.organizations.resolve_actor(
                    SYSTEM, found.organization_id, noa_email, as_learner=True
                )
                lp.invitations.own_membership(learner, "data-academy")

            def one_click() -> None:
                answer = client.post(
                    unsubscribe,
                    content=b"List-Unsubscribe=One-Click",
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                )
                assert answer.status_code == 200

            n = args.requests
            print(f"{n} requests each, SQLite, {args.members} members, one connection")
            print(line("GET /ping (HTTP floor)", timed(lambda: client.get("/ping"), n)))
            print(line("program page's service calls (storage floor)", timed(services, n)))
            page_times = timed(lambda: client.get("/programs/data-academy"), n)
            print(line("GET /programs/{slug}, signed in", page_times))
            print(line("POST one-click unsubscribe", timed(one_click, n)))
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        lp.close()


if __name__ == "__main__":
    main()
