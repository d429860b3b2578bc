"""The acceptance link and the program page, through the app in process."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from learnprog.model.learner import MemberState
from learnprog.web import Site, WebRequest
from tests.web.conftest import SYSTEM, Web, contract, shown

NOA = "noa.reis@acme.example"
BO = "bo.park@acme.example"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def state(web: Web, email: str) -> MemberState:
    learner = web.lp.organizations.resolve_actor(SYSTEM, web.org.id, email, as_learner=True)
    membership = web.lp.invitations.own_membership(learner, "data-academy")
    assert membership is not None
    return membership.state


def test_a_signed_out_visit_goes_to_sign_in_with_a_relative_return_path(web: Web) -> None:
    link = web.invite("Noa Reis", NOA)
    answer = web.get(link)
    assert answer.status_code == 303
    location = urlsplit(answer.headers["location"])
    assert location.path == "/sign-in"
    back = parse_qs(location.query)["next"][0]
    assert back == link.removeprefix("http://testserver")
    assert back.startswith("/programs/data-academy/accept?token=")
    assert state(web, NOA) is MemberState.INVITED


def test_the_invited_learner_signed_in_joins_at_once_and_lands_on_the_program(web: Web) -> None:
    link = web.invite("Noa Reis", NOA)
    answer = web.get(link, user=NOA)
    assert (answer.status_code, answer.headers["location"]) == (303, "/programs/data-academy")
    assert state(web, NOA) is MemberState.MEMBER
    page = web.get("/programs/data-academy", user=NOA)
    assert page.status_code == 200
    assert "You are a member of Data Academy since 2026-03-02" in shown(page)
    again = web.get(link, user="Noa.Reis@ACME.example")  # any case of the address
    assert again.status_code == 303


def test_someone_elses_link_is_403_and_changes_nothing(web: Web) -> None:
    link = web.invite("Noa Reis", NOA)
    web.invite("Bo Park", BO)
    answer = web.get(link, user=BO)
    assert answer.status_code == 403
    assert "may not accept another learner's invitation" in shown(answer)
    stranger = web.get(link, user="eve@elsewhere.example")
    assert stranger.status_code == 403
    assert "eve@elsewhere.example may not accept this invitation" in shown(stranger)
    assert state(web, NOA) is MemberState.INVITED


def test_a_forged_or_altered_token_is_400_and_an_expired_one_410(web: Web) -> None:
    link = web.invite("Noa Reis", NOA)
    altered = web.get(link[:-3] + "xyz", user=NOA)
    assert altered.status_code == 400
    assert "field 'token': the link is not valid" in shown(altered)
    assert "Traceback" not in shown(altered)
    assert web.get(link + "%20", user=NOA).status_code == 400
    assert web.get("/programs/data-academy/accept", user=NOA).status_code == 400
    web.clock.advance(timedelta(days=91))
    expired = web.get(link, user=NOA)
    assert expired.status_code == 410
    assert "the link has expired" in shown(expired)
    assert state(web, NOA) is MemberState.INVITED


def test_a_link_under_another_programs_slug_is_not_valid(web: Web) -> None:
    other = web.lp.programs.create_program(web.ana, web.org.id, "Other", slug="other")
    link = web.invite("Noa Reis", NOA)
    moved = link.replace("/programs/data-academy/", f"/programs/{other.slug.value}/")
    assert web.get(moved, user=NOA).status_code == 400
    assert web.get(link.replace("data-academy", "nowhere"), user=NOA).status_code == 400
    assert state(web, NOA) is MemberState.INVITED


def test_a_revoked_invitation_is_410(web: Web) -> None:
    link = web.invite("Noa Reis", NOA)
    learner = web.lp.organizations.resolve_actor(SYSTEM, web.org.id, NOA, as_learner=True)
    membership = web.lp.invitations.own_membership(learner, "data-academy")
    assert membership is not None
    web.lp.invitations.revoke(web.ana, membership.id)
    answer = web.get(link, user=NOA)
    assert answer.status_code == 410
    assert "the invitation was revoked" in shown(answer)
    page = web.get("/programs/data-academy", user=NOA)
    assert "was revoked, or you were removed" in shown(page)
    assert 'method="post"' not in shown(page)


def test_no_license_left_is_409_and_nothing_changes(web: Web) -> None:
    one = contract(web, 1, 365)
    first = web.invite("Noa Reis", NOA, one)
    second = web.invite("Bo Park", BO, one)
    assert web.get(first, user=NOA).status_code == 303
    answer = web.get(second, user=BO)
    assert answer.status_code == 409
    assert "has no license left" in shown(answer)
    assert state(web, BO) is MemberState.INVITED


def test_a_contract_that_ended_is_409(web: Web) -> None:
    link = web.invite("Noa Reis", NOA, contract(web, 5, 10))
    web.clock.advance(timedelta(days=11))
    answer = web.get(link, user=NOA)
    assert answer.status_code == 409
    assert "contract '5 for 10 days' runs from" in shown(answer)


def test_the_program_page_signed_out_offers_sign_in(web: Web) -> None:
    page = web.get("/programs/data-academy")
    assert page.status_code == 200
    assert "<h1>Data Academy</h1>" in shown(page)
    assert "Learn by doing" in shown(page)
    assert 'href="/sign-in?next=%2Fprograms%2Fdata-academy"' in shown(page)
    assert "background:#0B6E4F" in shown(page)  # the organization's brand colour
    assert web.get("/programs/nowhere").status_code == 404


def test_an_invited_learner_joins_from_the_program_page_with_its_csrf_token(web: Web) -> None:
    web.invite("Noa Reis", NOA)
    page = web.get("/programs/data-academy", user=NOA)
    assert "You are invited to join Data Academy" in shown(page)
    assert "learnprog_csrf=" in page.headers["set-cookie"]
    assert "HttpOnly" in page.headers["set-cookie"]
    token = CSRF.search(page.text)
    assert token is not None
    joined = web.post("/programs/data-academy", user=NOA, data={"csrf_token": token.group(1)})
    assert (joined.status_code, joined.headers["location"]) == (303, "/programs/data-academy")
    assert state(web, NOA) is MemberState.MEMBER


def test_joining_without_the_pages_csrf_token_is_refused(web: Web) -> None:
    web.invite("Noa Reis", NOA)
    no_token = web.post("/programs/data-academy", user=NOA, data={})
    assert no_token.status_code == 403
    assert "CSRF token is missing" in shown(no_token)
    forged = web.post("/programs/data-academy", user=NOA, data={"csrf_token": "abc.def.ghi"})
    assert forged.status_code == 403
    # a token signed for another browser's cookie (an attacker's own page visit)
    attacker = web.get("/programs/data-academy", user=NOA)
    token = CSRF.search(attacker.text)
    assert token is not None
    web.client.cookies.clear()
    web.client.cookies.set("learnprog_csrf", "the-victims-own-cookie-value")
    crossed = web.post("/programs/data-academy", user=NOA, data={"csrf_token": token.group(1)})
    assert crossed.status_code == 403
    assert "CSRF token and cookie differ" in shown(crossed)
    assert state(web, NOA) is MemberState.INVITED


def test_joining_without_an_invitation_is_404(web: Web) -> None:
    web.invite("Noa Reis", NOA)
    page = web.get("/programs/data-academy", user=BO)
    assert f"{BO} has no invitation to Data Academy" in shown(page)
    assert CSRF.search(web.get("/programs/data-academy", user=NOA).text) is not None
    cookies = {"learnprog_csrf": str(web.client.cookies["learnprog_csrf"])}
    csrf = Site(web.lp).csrf
    bo_token = csrf.token(WebRequest("GET", "/", cookies=cookies, email=BO))[0]
    answer = web.post("/programs/data-academy", user=BO, data={"csrf_token": bo_token})
    assert answer.status_code == 404
    nobodys = csrf.token(WebRequest("GET", "/", cookies=cookies))[0]
    signed_out = web.post("/programs/data-academy", data={"csrf_token": nobodys})
    assert signed_out.status_code == 303
    assert signed_out.headers["location"] == "/sign-in?next=%2Fprograms%2Fdata-academy"
