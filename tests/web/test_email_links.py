"""The RFC 8058 unsubscribe link and the email preferences page, through the app in process."""

from __future__ import annotations

import re
from datetime import timedelta

from learnprog.model.mail import MessageCategory
from tests.web.conftest import SYSTEM, Web, shown

NOA = "noa.reis@acme.example"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ONE_CLICK = {"List-Unsubscribe": "One-Click"}


def welcomed(web: Web) -> str:
    """Noa joins; return the one-click URL of her welcome email's List-Unsubscribe header."""
    link = web.invite("Noa Reis", NOA)
    assert web.get(link, user=NOA).status_code == 303
    web.lp.mail.dispatch(SYSTEM)
    welcome = next(m for m in web.mailer.sent if m.to.address == NOA and m.headers)
    assert welcome.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    return welcome.headers["List-Unsubscribe"].strip("<>")


def receives(web: Web, email: str = NOA) -> dict[str, bool]:
    learner = web.lp.organizations.resolve_actor(SYSTEM, web.org.id, email, as_learner=True)
    return {c.value: v for c, v in web.lp.mail.email_preferences(learner).items()}


def test_a_get_of_the_link_changes_nothing_and_shows_a_form_that_posts(web: Web) -> None:
    url = welcomed(web)
    for _ in range(3):  # a mail scanner may follow the link more than once
        page = web.get(url)
        assert page.status_code == 200
    expected = "Stop program announcements from Acme Learning to Noa Reis (noa.reis@acme.example)?"
    assert expected in shown(page)
    assert '<input type="hidden" name="List-Unsubscribe" value="One-Click">' in page.text
    assert receives(web)["announcement"] is True


def test_the_one_click_post_unsubscribes_without_cookie_or_sign_in(web: Web) -> None:
    url = welcomed(web)
    web.client.cookies.clear()
    answer = web.client.post(
        url,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200
    assert (
        "Noa Reis (noa.reis@acme.example) will no longer receive program announcements from "
        "Acme Learning"
    ) in shown(answer)
    assert "cookie" not in {k.lower() for k in answer.request.headers}
    assert receives(web) == {"transactional": True, "announcement": False, "admin": True}
    again = web.post(url, data=ONE_CLICK)  # twice is harmless
    assert again.status_code == 200


def test_the_one_click_post_as_multipart_form_data(web: Web) -> None:
    url = welcomed(web)
    # RFC 8058 section 3.2: the POST "SHOULD" be multipart/form-data
    answer = web.client.post(url, files={"List-Unsubscribe": (None, "One-Click")})
    assert answer.request.headers["content-type"].startswith("multipart/form-data")
    assert answer.status_code == 200
    assert receives(web)["announcement"] is False


def test_a_post_without_the_one_click_body_or_with_a_bad_token_changes_nothing(
    web: Web,
) -> None:
    url = welcomed(web)
    empty = web.post(url, data={})
    assert empty.status_code == 400
    assert "carries List-Unsubscribe=One-Click" in shown(empty)
    assert web.post(url, data={"List-Unsubscribe": "one-click!"}).status_code == 400
    assert web.post(url[:-4] + "AAAA", data=ONE_CLICK).status_code == 400
    assert web.get(url[:-4] + "AAAA").status_code == 400
    assert web.post("/email/unsubscribe", data=ONE_CLICK).status_code == 400
    assert receives(web)["announcement"] is True


def test_an_unsubscribe_link_older_than_a_year_is_410(web: Web) -> None:
    url = welcomed(web)
    web.clock.advance(timedelta(days=366))
    assert web.get(url).status_code == 410
    answer = web.post(url, data=ONE_CLICK)
    assert answer.status_code == 410
    assert "the link has expired" in shown(answer)
    assert receives(web)["announcement"] is True


def test_every_email_links_the_preferences_page(web: Web) -> None:
    welcomed(web)
    expected = f"http://testserver/email/preferences?organization={web.org.id}"
    for message in web.mailer.sent:  # the invitation (transactional) and the welcome
        assert f"Email preferences: {expected}" in message.text_body
        assert message.html_body is not None
        assert f'<a href="{expected}"' in message.html_body


def test_the_preferences_page_needs_a_sign_in(web: Web) -> None:
    answer = web.get(f"/email/preferences?organization={web.org.id}")
    assert answer.status_code == 303
    assert answer.headers["location"] == (
        f"/sign-in?next=%2Femail%2Fpreferences%3Forganization%3D{web.org.id}"
    )


def test_a_learner_stops_and_restarts_a_category_on_the_preferences_page(web: Web) -> None:
    welcomed(web)
    url = f"/email/preferences?organization={web.org.id}"
    page = web.get(url, user=NOA)
    assert page.status_code == 200
    assert re.search(r'name="announcement" value="on" checked', page.text)
    assert re.search(r'name="transactional" value="on" checked disabled', page.text)
    token = CSRF.search(page.text)
    assert token is not None
    saved = web.post(url, user=NOA, data={"csrf_token": token.group(1), "announcement": "on"})
    assert (saved.status_code, saved.headers["location"]) == (303, f"{url}&saved=1")
    assert receives(web) == {"transactional": True, "announcement": True, "admin": False}
    after = web.get(saved.headers["location"], user=NOA)
    assert "Your email preferences are saved." in shown(after)
    assert re.search(r'name="admin" value="on">', after.text)
    back = web.post(
        url, user=NOA, data={"csrf_token": token.group(1), "announcement": "on", "admin": "on"}
    )
    assert back.status_code == 303
    assert receives(web)["admin"] is True


def test_saving_preferences_without_the_csrf_token_is_refused(web: Web) -> None:
    welcomed(web)
    url = f"/email/preferences?organization={web.org.id}"
    answer = web.post(url, user=NOA, data={"announcement": "on"})
    assert answer.status_code == 403
    assert receives(web)["admin"] is True


def test_the_preferences_page_of_an_unknown_organization_or_person(web: Web) -> None:
    welcomed(web)
    assert web.get("/email/preferences", user=NOA).status_code == 400
    assert web.get("/email/preferences?organization=nope", user=NOA).status_code == 404
    stranger = web.get(
        f"/email/preferences?organization={web.org.id}", user="eve@elsewhere.example"
    )
    assert stranger.status_code == 404
    assert "learner account 'eve@elsewhere.example' not found" in shown(stranger)


def test_the_category_names_match_the_models(web: Web) -> None:
    page = web.get(f"/email/preferences?organization={web.org.id}", user="ana.lima@acme.example")
    for category in MessageCategory:
        assert f'name="{category.value}"' in page.text
