"""examples/fastapi_host.py and examples/flask_host.py: learnprog's pages mounted in a host.

Each host is run in process (FastAPI through Starlette's TestClient, Flask through its own
test client and a2wsgi): an invitation delivered into a real Maildir, its link opened signed
out, the host's sign-in, the way back to the link, the program page, the preferences page and
the one-click unsubscribe POST without a cookie.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

import learnprog
from learnprog.model.access import SystemActor
from tests.examples.conftest import EXAMPLES, require

ORIGIN = "http://localhost"
NOA = "noa.reis@acme.example"


def load(name: str) -> ModuleType:
    require("fastapi")
    require("flask")
    require("a2wsgi")
    sys.path.insert(0, str(EXAMPLES))
    try:
        spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(EXAMPLES))
    return module


class Client:
    """One browser's session with a host, over either test client: status, headers, text."""

    def __init__(self, host_module: str, lp: learnprog.Learnprog) -> None:
        module = load(host_module)
        self.host = module.create_host(lp, session_secret="host-session-secret-0123456789")
        if host_module == "flask_host":
            self.client: Any = self.host.test_client()
            self.flask = True
        else:
            from starlette.testclient import TestClient

            self.client = TestClient(self.host, base_url=ORIGIN)
            self.flask = False

    def request(self, method: str, url: str, **form: str) -> tuple[int, dict[str, str], str]:
        path = url.removeprefix(ORIGIN)
        if self.flask:
            answer = self.client.open(path, method=method, data=form or None)
            return answer.status_code, dict(answer.headers), answer.get_data(as_text=True)
        answer = self.client.request(method, path, data=form or None, follow_redirects=False)
        return answer.status_code, dict(answer.headers), answer.text


def header(headers: dict[str, str], name: str) -> str:
    return next(v for k, v in headers.items() if k.lower() == name)


@pytest.fixture(params=["fastapi_host", "flask_host"])
def host(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[ModuleType, Client, Any]:
    module = load(str(request.param))
    lp = module.connect(f"sqlite:///{tmp_path / 'acme.db'}", tmp_path / "outbox", ORIGIN)
    return module, Client(str(request.param), lp), lp


def test_a_learner_follows_the_mailed_link_signs_in_at_the_host_and_joins(
    host: tuple[ModuleType, Client, learnprog.Learnprog],
) -> None:
    module, browser, lp = host
    link = module.seed(lp, ORIGIN)
    assert link.startswith(f"{ORIGIN}/learning/programs/data-academy/accept?token=")
    status, _, home = browser.request("GET", "/")
    assert (status, "Acme People" in home) == (200, True)  # the host's own route

    status, headers, _ = browser.request("GET", link)
    assert status == 303
    sign_in = urlsplit(header(headers, "location"))
    assert sign_in.path == "/sign-in"
    back = parse_qs(sign_in.query)["next"][0]
    assert back == link.removeprefix(ORIGIN)
    status, _, form = browser.request("GET", header(headers, "location"))
    assert status == 200
    assert 'name="next"' in form

    status, headers, _ = browser.request("POST", "/sign-in", email=NOA, next=back)
    assert (status, header(headers, "location")) == (303, back)
    status, headers, _ = browser.request("GET", back)
    assert (status, header(headers, "location")) == (303, "/learning/programs/data-academy")
    status, _, page = browser.request("GET", "/learning/programs/data-academy")
    assert status == 200
    assert "You are a member of Data Academy" in page
    assert 'href="/learning/static/learnprog.css"' in page
    assert browser.request("GET", "/learning/static/learnprog.css")[0] == 200

    org_id = lp.programs.find_program(SystemActor(), "data-academy").organization_id
    noa = lp.organizations.resolve_actor(SystemActor(), org_id, NOA, as_learner=True)
    membership = lp.invitations.own_membership(noa, "data-academy")
    assert membership is not None
    assert membership.state.value == "MEMBER"


def test_the_host_refuses_to_send_anyone_elsewhere_after_sign_in(
    host: tuple[ModuleType, Client, learnprog.Learnprog],
) -> None:
    _module, browser, _lp = host
    for evil in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        status, headers, _ = browser.request("POST", "/sign-in", email=NOA, next=evil)
        assert (status, header(headers, "location").removeprefix(ORIGIN)) == (303, "/")
        _, _, page = browser.request("GET", f"/sign-in?next={evil}")
        assert "evil.example" not in page


def test_preferences_and_one_click_unsubscribe_through_the_host(
    host: tuple[ModuleType, Client, learnprog.Learnprog],
) -> None:
    module, browser, lp = host
    link = module.seed(lp, ORIGIN)
    back = link.removeprefix(ORIGIN)
    browser.request("POST", "/sign-in", email=NOA, next=back)
    assert browser.request("GET", back)[0] == 303
    lp.mail.dispatch(SystemActor())
    maildir = module.lp_maildir(lp)
    preferences = module.links_in(maildir, NOA, "/email/preferences?")[-1]
    status, _, page = browser.request("GET", preferences)
    assert status == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    status, _, _ = browser.request("POST", preferences, csrf_token=token.group(1))
    assert status == 303  # both categories unticked
    no_token = browser.request("POST", preferences, announcement="on")
    assert no_token[0] == 403

    unsubscribe = module.links_in(maildir, NOA, "/email/unsubscribe?")[-1]
    stranger = Client(module.__name__, lp)  # a mail client: no cookie, no sign-in
    status, _, done = stranger.request("POST", unsubscribe, **{"List-Unsubscribe": "One-Click"})
    assert status == 200
    assert "will no longer receive" in done
    org_id = lp.programs.find_program(SystemActor(), "data-academy").organization_id
    noa = lp.organizations.resolve_actor(SystemActor(), org_id, NOA, as_learner=True)
    assert {c.value: v for c, v in lp.mail.email_preferences(noa).items()} == {
        "transactional": True,
        "announcement": False,
        "admin": False,
    }


def test_the_scripts_show_their_help(tmp_path: Path) -> None:
    from tests.examples.conftest import run_script

    require("fastapi")
    for name in ("fastapi_host.py", "flask_host.py"):
        out = run_script(EXAMPLES / name, tmp_path, "--help", timeout=120)
        assert "--demo" in out
