"""Hostile names on the pages, open redirects, security headers, mounting and prefixes."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from learnprog.clock import FixedClock
from learnprog.errors import ValidationError
from learnprog.mail.memory import InMemoryMailer
from learnprog.web import Site, WebRequest, create_app, handlers, safe_return_path
from tests.conftest import START
from tests.web.conftest import SYSTEM, USER_HEADER, Web, build, identify, make_lp, shown

NOA = "noa.reis@acme.example"
ORG = '<script>alert("org")</script> & Co'
PROGRAM = "<img src=x onerror=alert(1)> Academy"
TAGLINE = "</p><script>alert('tagline')</script>"
LEARNER = '"><svg onload=alert(3)> Noa'


@pytest.fixture
def hostile(engine_pool: Callable[[str], Engine]) -> Web:
    mailer, clock = InMemoryMailer(), FixedClock(START)
    lp = make_lp("sqlite", engine_pool, mailer, clock)
    return build(lp, mailer, clock, name=ORG, program_name=PROGRAM, tagline=TAGLINE)


def assert_escaped(body: str) -> None:
    assert "<script" not in body
    assert "<img src=x" not in body
    assert "<svg" not in body
    assert 'alert("org")' not in body  # quotes escaped too


@pytest.mark.sqlite
def test_hostile_names_are_escaped_on_every_page(hostile: Web) -> None:
    link = hostile.invite(LEARNER, NOA)
    pages = [hostile.get("/programs/data-academy"), hostile.get("/programs/data-academy", user=NOA)]
    assert hostile.get(link, user=NOA).status_code == 303
    pages.append(hostile.get("/programs/data-academy", user=NOA))
    hostile.lp.mail.dispatch(SYSTEM)
    unsubscribe = next(m for m in hostile.mailer.sent if m.headers)
    url = unsubscribe.headers["List-Unsubscribe"].strip("<>")
    pages += [hostile.get(url), hostile.post(url, data={"List-Unsubscribe": "One-Click"})]
    pages.append(hostile.get(f"/email/preferences?organization={hostile.org.id}", user=NOA))
    for page in pages:
        assert page.status_code == 200, page.text
        assert_escaped(page.text)
        assert ORG in shown(page)  # shown as text, not dropped
    assert PROGRAM in shown(pages[0])
    assert TAGLINE in shown(pages[0])
    assert LEARNER in shown(pages[3])


@pytest.mark.sqlite
def test_a_hostile_signed_in_value_is_escaped_too(hostile: Web) -> None:
    for value in ["<script>alert(1)</script>@acme.example", '"><b>x</b>']:
        page = hostile.get("/programs/data-academy", user=value)
        assert page.status_code in (200, 400)
        assert_escaped(page.text)
        assert "<b>x" not in page.text


@pytest.mark.parametrize(
    "value",
    [
        "https://evil.example/",
        "//evil.example/programs/x",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
        " /programs/x",
        "programs/x",
        "",
        "/" + "a" * 2001,
        "/caf\u00e9",
        None,
        42,
    ],
)
def test_safe_return_path_refuses_anything_but_a_path_on_this_site(value: object) -> None:
    assert safe_return_path(value) == "/"


@pytest.mark.parametrize(
    "value", ["/", "/programs/data-academy", "/email/preferences?organization=abc&saved=1"]
)
def test_safe_return_path_keeps_a_path_on_this_site(value: str) -> None:
    assert safe_return_path(value) == value


def test_a_return_path_built_from_a_hostile_request_path_stays_on_the_site() -> None:
    assert WebRequest("GET", "//evil.example/x").return_path == "/"
    # percent-encoded, a backslash is a path character: this site's page, not another host
    assert WebRequest("GET", "/\\evil.example").return_path == "/%5Cevil.example"
    assert WebRequest("GET", "/programs/a b", {"token": "x y"}).return_path == (
        "/programs/a%20b?token=x+y"
    )


def test_the_sign_in_redirect_carries_only_a_relative_path(web: Web) -> None:
    answer = web.client.get(
        "/programs/data-academy/accept?token=x&next=https://evil.example",
        headers={"Host": "evil.example"},
        follow_redirects=False,
    )
    assert answer.status_code == 400  # the token is checked first
    page = web.get("/programs/data-academy")
    link = re.search(r'href="/sign-in\?next=([^"]+)"', page.text)
    assert link is not None
    assert link.group(1) == "%2Fprograms%2Fdata-academy"


def test_pages_send_security_headers_and_the_stylesheet_ships_in_the_package(web: Web) -> None:
    page = web.get("/programs/data-academy")
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert "script-src" not in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-frame-options"] == "DENY"
    assert '<link rel="stylesheet" href="/static/learnprog.css">' in page.text
    css = web.get("/static/learnprog.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert "https://" not in css.text  # no CDN
    assert "<script" not in page.text  # readable without JavaScript


def test_a_prefix_puts_every_route_and_link_under_it(
    engine_pool: Callable[[str], Engine],
) -> None:
    mailer, clock = InMemoryMailer(), FixedClock(START)
    web = build(make_lp("memory", engine_pool, mailer, clock), mailer, clock, prefix="/learning")
    link = web.invite("Noa Reis", NOA)
    assert web.get(link, user=NOA).status_code == 404  # base_url has no /learning
    path = link.removeprefix("http://testserver")
    answer = web.get(f"/learning{path}", user=NOA)
    assert (answer.status_code, answer.headers["location"]) == (
        303,
        "/learning/programs/data-academy",
    )
    page = web.get("/learning/programs/data-academy")
    assert 'href="/learning/static/learnprog.css"' in page.text
    assert 'href="/sign-in?next=%2Flearning%2Fprograms%2Fdata-academy"' in page.text
    assert web.get("/learning/static/learnprog.css").status_code == 200


def test_mounted_in_a_host_app_links_carry_the_mount_path(
    engine_pool: Callable[[str], Engine],
) -> None:
    mailer, clock = InMemoryMailer(), FixedClock(START)
    web = build(make_lp("memory", engine_pool, mailer, clock), mailer, clock)
    link = web.invite("Noa Reis", NOA).removeprefix("http://testserver")
    host = Starlette(routes=[Mount("/learning", create_app(web.lp, identify=identify))])
    with TestClient(host, base_url="http://testserver") as client:
        answer = client.get(f"/learning{link}", headers={USER_HEADER: NOA}, follow_redirects=False)
        assert answer.headers["location"] == "/learning/programs/data-academy"
        page = client.get("/learning/programs/data-academy")
        assert 'href="/learning/static/learnprog.css"' in page.text
        assert client.get("/learning/static/learnprog.css").status_code == 200


@pytest.mark.parametrize("prefix", ["learning", "/learning/", "//x", 3])
def test_create_app_refuses_a_bad_prefix(prefix: object, web: Web) -> None:
    with pytest.raises(ValidationError) as refused:
        create_app(web.lp, identify=identify, prefix=prefix)  # type: ignore[arg-type]
    assert refused.value.field == "prefix"


def test_create_app_refuses_a_bad_sign_in_url_or_parameter(web: Web) -> None:
    with pytest.raises(ValidationError, match="sign_in_url"):
        create_app(web.lp, identify=identify, sign_in_url="/sign in")
    with pytest.raises(ValidationError, match="return_parameter"):
        create_app(web.lp, identify=identify, return_parameter="next&evil=1")


def test_an_async_identify_and_a_sign_in_url_with_a_query(web: Web) -> None:
    async def signed_in(request: object) -> str | None:
        return NOA

    app = create_app(web.lp, identify=signed_in, sign_in_url="https://sso.acme.example/?app=lp")
    link = web.invite("Noa Reis", NOA).removeprefix("http://testserver")
    with TestClient(app, base_url="http://testserver") as client:
        answer = client.get(link, follow_redirects=False)
        assert answer.headers["location"] == "/programs/data-academy"
    site = Site(web.lp, sign_in_url="https://sso.acme.example/?app=lp")
    out = handlers.program_page(site, WebRequest("POST", "/programs/data-academy"), "data-academy")
    assert out.status == 403  # CSRF first
    redirect = site.sign_in(WebRequest("GET", "/programs/data-academy"))
    assert redirect.headers["Location"] == (
        "https://sso.acme.example/?app=lp&next=%2Fprograms%2Fdata-academy"
    )


def test_the_handlers_serve_without_a_framework(web: Web) -> None:
    site = Site(web.lp)
    web.invite("Noa Reis", NOA)
    link = web.link(NOA, "/accept?token=")
    token = link.split("token=", 1)[1]
    request = WebRequest("GET", "/programs/data-academy/accept", {"token": token}, email=NOA)
    answer = handlers.accept_invitation(site, request, "data-academy")
    assert (answer.status, answer.headers["Location"]) == (303, "/programs/data-academy")
    page = handlers.program_page(
        site, WebRequest("GET", "/programs/data-academy", email=NOA), "data-academy"
    )
    assert page.status == 200
    assert "You are a member of Data Academy" in page.text
