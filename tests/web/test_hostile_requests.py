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
from learnprog.web import Site, WebRequest
from learnprog.web.app import MAX_FORM_BYTES
from tests.conftest import START, _backend_params
from tests.web.conftest import SYSTEM, Web, build, make_lp, shown

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


def test_another_signed_in_persons_csrf_token_is_refused(web: Web) -> None:
    web.invite("Noa Reis", NOA)
    web.invite("Bo Chen", BO)
    page = web.get("/programs/data-academy", user=BO)  # the attacker's own page view
    token = CSRF.search(page.text)
    assert token is not None
    # the same cookie is in the victim's browser: set by the attacker on a sibling subdomain
    crossed = web.post("/programs/data-academy", user=NOA, data={"csrf_token": token.group(1)})
    assert crossed.status_code == 403
    assert "made for another signed-in person" in shown(crossed)
    assert membership_state(web, NOA) is MemberState.INVITED
    own = web.post("/programs/data-academy", user=BO, data={"csrf_token": token.group(1)})
    assert (own.status_code, own.headers["location"]) == (303, "/programs/data-academy")
    assert membership_state(web, BO) is MemberState.MEMBER


def test_a_preferences_token_works_for_its_person_only_and_a_case_change_is_the_same(
    web: Web,
) -> None:
    web.invite("Noa Reis", NOA)
    web.invite("Bo Chen", BO)
    url = f"/email/preferences?organization={web.org.id}"
    token = CSRF.search(web.get(url, user=NOA).text)
    assert token is not None
    crossed = web.post(url, user=BO, data={"csrf_token": token.group(1), "admin": "on"})
    assert crossed.status_code == 403
    same = web.post(url, user=NOA.upper(), data={"csrf_token": token.group(1), "admin": "on"})
    assert same.status_code == 303


def test_a_csrf_token_of_the_old_shape_is_refused(web: Web) -> None:
    cookies = {"learnprog_csrf": "cookie-value"}
    site = Site(web.lp)
    old_shape = site.csrf._serializer.dumps("cookie-value")
    request = WebRequest("POST", "/", form={"csrf_token": old_shape}, cookies=cookies, email=NOA)
    with pytest.raises(PermissionError, match="CSRF token and cookie differ"):
        site.csrf.check(request)


def test_saving_preferences_from_a_url_with_a_long_query_returns_to_the_page(web: Web) -> None:
    web.invite("Noa Reis", NOA)
    url = f"/email/preferences?organization={web.org.id}&pad={'a' * 2100}&x=%0d%0a"
    token = CSRF.search(web.get(url, user=NOA).text)
    assert token is not None
    saved = web.post(url, user=NOA, data={"csrf_token": token.group(1)})
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/email/preferences?organization={web.org.id}&saved=1"


def test_a_body_over_the_limit_is_413_and_changes_nothing(web: Web) -> None:
    url = unsubscribe_url(web)
    padded = {"List-Unsubscribe": "One-Click", "pad": "a" * MAX_FORM_BYTES}
    answer = web.post(url, data=padded)
    assert answer.status_code == 413
    assert "nothing was read or changed" in shown(answer)
    assert "<script" not in answer.text
    streamed = web.client.post(
        url,
        content=iter([b"List-Unsubscribe=One-Click&pad="] + [b"a" * 8192] * 20),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert streamed.status_code == 413  # no Content-Length: counted while read
    noa = web.lp.organizations.resolve_actor(SYSTEM, web.org.id, NOA, as_learner=True)
    assert all(web.lp.mail.email_preferences(noa).values())  # not unsubscribed
    assert web.post(url, data={"List-Unsubscribe": "One-Click"}).status_code == 200


def test_a_file_part_in_a_form_is_refused_unread(web: Web) -> None:
    url = unsubscribe_url(web)
    answer = web.client.post(
        url,
        data={"List-Unsubscribe": "One-Click"},
        files={"upload": ("x.bin", b"x" * 1000, "application/octet-stream")},
    )
    assert answer.status_code == 400
    noa = web.lp.organizations.resolve_actor(SYSTEM, web.org.id, NOA, as_learner=True)
    assert all(web.lp.mail.email_preferences(noa).values())
    multipart = web.client.post(url, files={"List-Unsubscribe": (None, "One-Click")})
    assert multipart.status_code == 200  # RFC 8058: a mail client may send multipart


def test_head_and_options(web: Web) -> None:
    head = web.client.head("/programs/data-academy")
    assert (head.status_code, head.content) == (200, b"")
    assert web.client.options("/programs/data-academy").status_code == 405
    assert web.client.request("OPTIONS", "/email/unsubscribe?token=x").status_code == 405
