"""The app's write paths with several requests at once, on every backend (tests/races.py).

Starlette runs each request's learnprog calls in its thread pool, so a double click or two
people at once are threads calling the handlers together: the handlers are called here as the
app calls them, each race repeated ``ROUNDS`` times.
"""

from __future__ import annotations

from http import HTTPStatus

from learnprog import Learnprog, Settings, connect
from learnprog.clock import FixedClock
from learnprog.mail.memory import InMemoryMailer
from learnprog.web import Site, WebRequest, handlers
from tests.conftest import START, UowFactory
from tests.races import ROUNDS, at_once
from tests.web.conftest import BASE_URL, SYSTEM, Web, build


def world(uow_factory: UowFactory) -> Web:
    mailer, clock = InMemoryMailer(), FixedClock(START)
    lp: Learnprog = connect(
        uow_factory=uow_factory,
        settings=Settings(base_url=BASE_URL, secret_key="test-secret-test-secret"),
        clock=clock,
        mailer=mailer,
    )
    return build(lp, mailer, clock, quantity=ROUNDS + 1)


def accept(site: Site, link: str, email: str) -> HTTPStatus:
    token = link.split("token=", 1)[1]
    request = WebRequest("GET", "/programs/data-academy/accept", {"token": token}, email=email)
    return HTTPStatus(handlers.accept_invitation(site, request, "data-academy").status)


def one_click(site: Site, url: str) -> HTTPStatus:
    token = url.split("token=", 1)[1]
    request = WebRequest(
        "POST", "/email/unsubscribe", {"token": token}, {"List-Unsubscribe": "One-Click"}
    )
    return HTTPStatus(handlers.unsubscribe(site, request).status)


def test_a_double_click_on_the_acceptance_link_joins_once(uow_factory: UowFactory) -> None:
    web = world(uow_factory)
    site = Site(web.lp)
    for n in range(ROUNDS):
        email = f"learner{n}@acme.example"
        link = web.invite(f"Learner {n}", email)
        web.mailer.clear()
        outcomes = at_once([lambda: accept(site, link, email)] * 2)  # noqa: B023 - run here
        assert outcomes == ["HTTPStatus.SEE_OTHER"] * 2
        web.lp.mail.dispatch(SYSTEM)
        welcomes = [m for m in web.mailer.sent if m.template == "program_welcome"]
        assert [m.to.address for m in welcomes] == [email]  # one welcome: joined once
    contracts = web.lp.programs.list_contracts(web.ana, web.org.id)
    assert [c.used for c in contracts] == [ROUNDS]


def test_two_learners_at_once_for_the_last_license(uow_factory: UowFactory) -> None:
    web = world(uow_factory)
    site = Site(web.lp)
    for n in range(ROUNDS):
        deal = web.lp.programs.create_contract(
            web.ana,
            web.org.id,
            f"one license {n}",
            kind="licenses",
            quantity=1,
            starts_at=START,
            ends_at=web.contract.ends_at,
        )
        first, second = f"a{n}@acme.example", f"b{n}@acme.example"
        links = {email: web.invite(email, email, deal) for email in (first, second)}
        calls = [lambda e=e, link=link: accept(site, link, e) for e, link in links.items()]
        assert at_once(calls) == ["HTTPStatus.CONFLICT", "HTTPStatus.SEE_OTHER"]


def test_two_one_click_posts_at_once_store_one_opt_out(uow_factory: UowFactory) -> None:
    web = world(uow_factory)
    site = Site(web.lp)
    for n in range(ROUNDS):
        email = f"learner{n}@acme.example"
        assert accept(site, web.invite(f"Learner {n}", email), email) is HTTPStatus.SEE_OTHER
        web.lp.mail.dispatch(SYSTEM)
        welcome = next(m for m in web.mailer.sent if m.to.address == email and m.headers)
        url = welcome.headers["List-Unsubscribe"].strip("<>")
        assert at_once([lambda: one_click(site, url)] * 2) == ["HTTPStatus.OK"] * 2  # noqa: B023
        learner = web.lp.organizations.resolve_actor(SYSTEM, web.org.id, email, as_learner=True)
        assert dict(web.lp.mail.email_preferences(learner))[welcome.category] is False


def form_post(
    site: Site, path: str, query: dict[str, str], email: str, **fields: str
) -> HTTPStatus:
    """A form POST as the browser sends it: its cookie and the token the page gave for it."""
    cookies = {"learnprog_csrf": f"cookie-of-{email}"}
    token = site.csrf.token(WebRequest("GET", path, query, cookies=cookies, email=email))[0]
    request = WebRequest(
        "POST", path, query, {"csrf_token": token, **fields}, cookies=cookies, email=email
    )
    if path == "/email/preferences":
        answer = handlers.email_preferences(site, request)
    else:
        answer = handlers.program_page(site, request, "data-academy")
    return HTTPStatus(answer.status)


def test_a_double_post_of_the_join_form_joins_once(uow_factory: UowFactory) -> None:
    web = world(uow_factory)
    site = Site(web.lp)
    for n in range(ROUNDS):
        email = f"learner{n}@acme.example"
        web.invite(f"Learner {n}", email)
        web.mailer.clear()

        def join(email: str = email) -> HTTPStatus:
            return form_post(site, "/programs/data-academy", {}, email)

        assert at_once([join] * 2) == ["HTTPStatus.SEE_OTHER"] * 2
        web.lp.mail.dispatch(SYSTEM)
        assert [m.template for m in web.mailer.sent] == ["program_welcome"]  # joined once
    contracts = web.lp.programs.list_contracts(web.ana, web.org.id)
    assert [c.used for c in contracts] == [ROUNDS]


def test_two_preference_saves_at_once_store_one_choice(uow_factory: UowFactory) -> None:
    web = world(uow_factory)
    site = Site(web.lp)
    email = "noa@acme.example"
    web.invite("Noa", email)
    query = {"organization": web.org.id}
    learner = web.lp.organizations.resolve_actor(SYSTEM, web.org.id, email, as_learner=True)
    for n in range(ROUNDS):
        fields = {"admin": "on"} if n % 2 else {"announcement": "on"}
        calls = [lambda: form_post(site, "/email/preferences", query, email, **fields)] * 2  # noqa: B023
        assert at_once(calls) == ["HTTPStatus.SEE_OTHER"] * 2
        stored = {c.value: on for c, on in web.lp.mail.email_preferences(learner).items()}
        assert (stored["admin"], stored["announcement"]) == (n % 2 == 1, n % 2 == 0)
