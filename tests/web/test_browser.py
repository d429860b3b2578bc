"""End to end in headless Chromium: the FastAPI example host served by uvicorn on 127.0.0.1.

An invitation is delivered into a real Maildir; its link is followed in the browser (Debian's
/usr/bin/chromium driven by Playwright, never a downloaded browser), the learner signs in at
the host and joins, and is then a MEMBER; the preferences page is used from the email's
footer link; the one-click unsubscribe is POSTed exactly as a mail client sends it (RFC 8058
body, no cookie). ``LEARNPROG_SCREENSHOTS=DIR`` keeps the page screenshots (docs/ has them).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from PIL import Image

import learnprog
from learnprog.model.access import SystemActor
from learnprog.model.learner import MemberState
from tests.conftest import IN_CI

CHROMIUM = "/usr/bin/chromium"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOA = "noa.reis@acme.example"
SYSTEM = SystemActor()


def _missing(what: str) -> None:
    if IN_CI:
        pytest.fail(what)
    pytest.skip(what)


@pytest.fixture(scope="module")
def chromium() -> str:
    if not (os.path.exists(CHROMIUM) and shutil.which(CHROMIUM)):
        _missing("Chromium is not installed at /usr/bin/chromium (Debian package: chromium)")
    for module in ("playwright", "uvicorn", "fastapi"):
        if importlib.util.find_spec(module) is None:
            _missing(f"{module} is missing; pip install -e '.[web,dev]'")
    return CHROMIUM


def load_host() -> ModuleType:
    sys.path.insert(0, str(EXAMPLES))
    try:
        spec = importlib.util.spec_from_file_location("fastapi_host", EXAMPLES / "fastapi_host.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["fastapi_host"] = module
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(EXAMPLES))
    return module


class Served:
    """The example host, served by uvicorn in a thread on a socket bound to 127.0.0.1:0."""

    def __init__(self, tmp_path: Path) -> None:
        import uvicorn

        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no Nagle delay
        self.socket.bind(("127.0.0.1", 0))
        self.origin = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.module = load_host()
        self.maildir = tmp_path / "outbox"
        self.lp: learnprog.Learnprog = self.module.connect(
            f"sqlite:///{tmp_path / 'acme.db'}", self.maildir, self.origin
        )
        host = self.module.create_host(self.lp, session_secret="browser-session-secret-0123")
        self.server = uvicorn.Server(uvicorn.Config(host, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start in 30 s"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.socket.close()
        self.lp.close()


@pytest.fixture
def served(chromium: str, tmp_path: Path) -> Iterator[Served]:
    with Served(tmp_path) as running:
        yield running


def keep(shot: Path, name: str) -> None:
    target = os.environ.get("LEARNPROG_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, Path(target) / name)


def brand_shown(shot: Path) -> bool:
    with Image.open(shot) as image:
        colors = image.convert("RGB").getcolors(maxcolors=1_000_000) or []
    return any(rgb == (0x0B, 0x6E, 0x4F) for _, rgb in colors)


@pytest.mark.browser
def test_a_learner_joins_from_the_mailed_link_and_manages_their_email(
    served: Served, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    link = served.module.seed(served.lp, served.origin)
    assert link.startswith(f"{served.origin}/learning/programs/data-academy/accept?token=")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(
                viewport={"width": 800, "height": 600}, java_script_enabled=False
            )
            page.goto(link)
            assert page.url.startswith(f"{served.origin}/sign-in?next=")
            page.fill("input[name=email]", NOA)
            page.click("button")
            page.wait_for_url(f"{served.origin}/learning/programs/data-academy")
            assert "You are a member of Data Academy" in page.inner_text("main")
            assert page.locator("header img").get_attribute("alt") == "Acme"
            program_shot = tmp_path / "web-program-page.png"
            page.screenshot(path=str(program_shot))
            assert brand_shown(program_shot), "the brand colour is not shown"
            keep(program_shot, "web-program-page.png")

            served.lp.mail.dispatch(SYSTEM)
            footer = served.module.links_in(served.maildir, NOA, "/email/preferences?")[-1]
            page.goto(footer)
            assert page.is_checked("input[name=announcement]")
            page.uncheck("input[name=admin]")
            preferences_shot = tmp_path / "web-preferences-page.png"
            page.screenshot(path=str(preferences_shot))
            keep(preferences_shot, "web-preferences-page.png")
            page.click("button[type=submit]")
            page.wait_for_url("**saved=1")
            assert "Your email preferences are saved." in page.inner_text("main")
            assert not page.is_checked("input[name=admin]")
        finally:
            browser.close()

    org_id = served.lp.programs.find_program(SYSTEM, "data-academy").organization_id
    noa = served.lp.organizations.resolve_actor(SYSTEM, org_id, NOA, as_learner=True)
    membership = served.lp.invitations.own_membership(noa, "data-academy")
    assert membership is not None
    assert membership.state is MemberState.MEMBER

    # A mail client's one-click unsubscribe: POST, the RFC 8058 body, no cookie, no sign-in.
    url = served.module.links_in(served.maildir, NOA, "/email/unsubscribe?")[-1]
    request = urllib.request.Request(
        url,
        data=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 200
        assert "will no longer receive program announcements" in answer.read().decode()
    receives: dict[Any, bool] = dict(served.lp.mail.email_preferences(noa))
    assert {c.value: v for c, v in receives.items()} == {
        "transactional": True,
        "announcement": False,
        "admin": False,
    }
