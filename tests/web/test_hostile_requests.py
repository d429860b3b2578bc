"""Requests an outsider sends: odd slugs on every backend, other people's CSRF tokens, huge bodies.

Each test here failed before its fix: a NUL byte in a program URL was a 500 on PostgreSQL,
another signed-in person's CSRF token (or one planted by cookie tossing) was accepted, a saved
preferences page with a long query redirected to ``/&saved=1``, and a POST body of any size
was read (file parts spooled to disk) before any check.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy.engine import Engine

from learnprog.clock import FixedClock
from learnprog.mail.memory import InMemoryMailer
from learnprog.model.learner import MemberState
from tests.conftest import START, _backend_params
from tests.web.conftest import SYSTEM, Web, build, make_lp

NOA = "noa.reis@acme.example"
BO = "bo.chen@acme.example"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(params=_backend_params(("memory", "sqlite", "postgresql", "mariadb")))
def any_web(request: pytest.FixtureRequest, engine_pool: Callable[[str], Engine]) -> Iterator[Web]:
    mailer, clock = InMemoryMailer(), FixedClock(START)
    built = build(make_lp(request.param, engine_pool, mailer, clock), mailer, clock)
    with built.client:
        yield built


def unsubscribe_url(web: Web) -> str:
    """Noa's one-click link, from her welcome email (invited, then joined)."""
    assert web.get(web.invite("Noa Reis", NOA), user=NOA).status_code == 303
    web.lp.mail.dispatch(SYSTEM)
    message = next(m for m in web.mailer.sent if "List-Unsubscribe" in m.headers)
    return message.headers["List-Unsubscribe"].strip("<>")


def membership_state(web: Web, email: str) -> MemberState:
    learner = web.lp.organizations.resolve_actor(SYSTEM, web.org.id, email, as_learner=True)
    found = web.lp.invitations.own_membership(learner, "data-academy")
    assert found is not None
    return found.state


@pytest.mark.parametrize(
    "slug", ["%00", "data%00academy", "DATA-ACADEMY", "caf%C3%A9", "a" * 81, "-x-", "%20"]
)
def test_a_program_url_that_cannot_be_a_slug_is_404_on_every_backend(
    any_web: Web, slug: str
) -> None:
    any_web.client.raise_server_exceptions = False
    assert any_web.get(f"/programs/{slug}").status_code == 404
    assert any_web.get(f"/programs/{slug}", user=NOA).status_code == 404
    assert any_web.post(f"/programs/{slug}", user=NOA, data={}).status_code == 404
    assert any_web.get("/programs/data-academy").status_code == 200


def test_the_services_answer_not_found_for_a_slug_with_a_nul_byte(any_web: Web) -> None:
    any_web.invite("Noa Reis", NOA)
    noa = any_web.lp.organizations.resolve_actor(SYSTEM, any_web.org.id, NOA, as_learner=True)
    for call in (
        lambda: any_web.lp.programs.find_program(SYSTEM, "data\x00academy"),
        lambda: any_web.lp.invitations.own_membership(noa, "data\x00academy"),
        lambda: any_web.lp.invitations.accept_by_sign_in(noa, "data\x00academy"),
    ):
        with pytest.raises(LookupError, match="program"):
            call()
