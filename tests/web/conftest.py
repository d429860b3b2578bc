"""A learnprog instance with an organization, a program and an invitation, and its web app."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2 as httpx
import pytest
from sqlalchemy.engine import Engine
from starlette.requests import Request
from starlette.testclient import TestClient

import learnprog
from learnprog.clock import FixedClock
from learnprog.mail.memory import InMemoryMailer
from learnprog.model.access import Actor, SystemActor
from learnprog.model.organization import Contract, Organization, Program
from learnprog.storage.sql import SqlUnitOfWork
from learnprog.web import create_app
from tests.conftest import START, empty_tables

SYSTEM = SystemActor()
BASE_URL = "http://testserver"
USER_HEADER = "X-Test-User"
LINK = re.compile(r"https?://\S+")


def shown(answer: httpx.Response) -> str:
    """A page's text as a browser shows it: its HTML entities decoded."""
    return html.unescape(answer.text)


def identify(request: Request) -> str | None:
    """The tests' sign-in: the address in a header (a host's would read its session)."""
    return request.headers.get(USER_HEADER)


@dataclass
class Web:
    """The instance, its records, the app and a client."""

    lp: learnprog.Learnprog
    mailer: InMemoryMailer
    clock: FixedClock
    org: Organization
    ana: Actor
    program: Program
    contract: Contract
    client: TestClient

    def invite(self, name: str, email: str, contract: Contract | None = None) -> str:
        """Invite ``email`` and return the acceptance link from the delivered invitation."""
        deal = contract or self.contract
        self.lp.invitations.invite(self.ana, self.program.id, deal.id, full_name=name, email=email)
        self.lp.mail.dispatch(SYSTEM)
        return self.link(email, "/accept?token=")

    def link(self, email: str, part: str) -> str:
        """The newest link containing ``part`` in the text of mail delivered to ``email``."""
        found: list[str] = [
            url
            for message in self.mailer.sent
            if message.to.address == email
            for url in LINK.findall(message.text_body)
            if part in url
        ]
        assert found, f"no link with {part!r} was mailed to {email}"
        return str(found[-1])

    def get(self, url: str, *, user: str | None = None) -> httpx.Response:
        """GET ``url`` as ``user`` (signed out without one), not following redirects."""
        headers = {USER_HEADER: user} if user else {}
        return self.client.get(url, headers=headers, follow_redirects=False)

    def post(
        self,
        url: str,
        *,
        user: str | None = None,
        data: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """POST a form to ``url`` as ``user``, not following redirects."""
        headers = {USER_HEADER: user} if user else {}
        return self.client.post(url, headers=headers, data=data, follow_redirects=False, **kwargs)


def make_lp(
    backend: str, engine_pool: Callable[[str], Engine], mailer: InMemoryMailer, clock: FixedClock
) -> learnprog.Learnprog:
    settings = learnprog.Settings(base_url=BASE_URL, secret_key="test-secret-test-secret")
    if backend == "memory":
        return learnprog.connect("memory://", settings=settings, mailer=mailer, clock=clock)
    engine = engine_pool(backend)
    empty_tables(engine)
    return learnprog.connect(
        uow_factory=lambda: SqlUnitOfWork(engine), settings=settings, mailer=mailer, clock=clock
    )


def contract(web: Web, quantity: int, days: int) -> Contract:
    """A licenses contract of ``quantity`` running from the clock's now for ``days``."""
    now = web.clock.now()
    return web.lp.programs.create_contract(
        web.ana,
        web.org.id,
        f"{quantity} for {days} days",
        kind="licenses",
        quantity=quantity,
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=days),
    )


def build(
    lp: learnprog.Learnprog,
    mailer: InMemoryMailer,
    clock: FixedClock,
    *,
    name: str = "Acme Learning",
    program_name: str = "Data Academy",
    tagline: str = "Learn by doing",
    quantity: int = 5,
    prefix: str = "",
) -> Web:
    org = lp.organizations.create_organization(
        SYSTEM,
        name,
        email_domains=["acme.example"],
        admin_name="Ana Lima",
        admin_email="ana.lima@acme.example",
        brand_color="#0B6E4F",
    )
    ana = lp.organizations.resolve_actor(SYSTEM, org.id, "ana.lima@acme.example")
    program = lp.programs.create_program(
        ana, org.id, program_name, slug="data-academy", tagline=tagline
    )
    contract = lp.programs.create_contract(
        ana,
        org.id,
        "Year 1",
        kind="licenses",
        quantity=quantity,
        starts_at=datetime(2026, 1, 1, tzinfo=UTC),
        ends_at=datetime(2036, 1, 1, tzinfo=UTC),
    )
    app = create_app(lp, identify=identify, sign_in_url="/sign-in", prefix=prefix)
    client = TestClient(app, base_url=BASE_URL)
    return Web(lp, mailer, clock, org, ana, program, contract, client)


@pytest.fixture(
    params=[
        pytest.param("memory", marks=pytest.mark.memory),
        pytest.param("sqlite", marks=pytest.mark.sqlite),
    ]
)
def web(request: pytest.FixtureRequest, engine_pool: Callable[[str], Engine]) -> Iterator[Web]:
    mailer, clock = InMemoryMailer(), FixedClock(START)
    lp = make_lp(request.param, engine_pool, mailer, clock)
    built = build(lp, mailer, clock)
    with built.client:
        yield built
