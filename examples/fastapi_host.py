"""A FastAPI host app serving learnprog's pages beside its own routes ("Acme People").

What the host brings, and how it plugs in:

* **Its own routes**: ``/`` (its home page) and ``/sign-in``; learnprog's app
  (``learnprog.web.create_app``) is mounted at ``/learning``, so ``Settings.base_url`` ends
  in ``/learning`` and every link learnprog mails lands on it.
* **Its own sign-in**: a session cookie (Starlette's ``SessionMiddleware``, signed) holding the
  person's email; ``identify`` reads it. This demo signs anybody in by typing an address, with
  no password: a real host checks a password, a single sign-on or a magic link. learnprog
  never stores passwords. After signing in, the host sends the person back to the ``next``
  path learnprog gave, through ``learnprog.web.safe_return_path`` (no open redirect).
* **Its own mail**: a Maildir (``learnprog.MaildirMailer``) any mail client can read.

Run it (``pip install -e '.[web,dev]'``)::

    python examples/fastapi_host.py --demo            # http://127.0.0.1:8000
    python examples/fastapi_host.py --db sqlite:///acme.db --maildir outbox --port 8000

``--demo`` makes an organization, a program and a contract, invites
``noa.reis@acme.example`` and prints the invitation link from the Maildir: open it, sign in as
Noa, and she joins. ``tests/examples/test_web_hosts.py`` runs the app in process, and
``tests/web/test_browser.py`` serves it with uvicorn to headless Chromium.
"""

from __future__ import annotations

import argparse
import html
import mailbox
import os
import re
import secrets
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.middleware.sessions import SessionMiddleware

import learnprog
from learnprog.web import create_app, safe_return_path

LOGO = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="160" height="32" viewBox="0 0 160 32">'
    '<rect width="32" height="32" rx="6" fill="#ffffff"/>'
    '<path d="M8 24 L16 8 L24 24 Z" fill="#0B6E4F"/>'
    '<text x="40" y="23" font-family="Arial" font-size="20" font-weight="bold" '
    'fill="#ffffff">Acme</text></svg>'
)
"""The organization's logo, served by the host (pages show it; no outside site is asked)."""


def create_host(lp: learnprog.Learnprog, *, session_secret: str) -> FastAPI:
    """Return the host app: its own routes, and learnprog's pages mounted at /learning."""
    host = FastAPI(title="Acme People")
    host.add_middleware(SessionMiddleware, secret_key=session_secret, session_cookie="acme_session")

    def identify(request: Request) -> str | None:
        email = request.session.get("email")
        return email if isinstance(email, str) else None

    @host.get("/", response_class=HTMLResponse)
    def home(request: Request) -> str:
        who = identify(request)
        hello = f"Signed in as {html.escape(who)}." if who else '<a href="/sign-in">Sign in</a>'
        return f"<!DOCTYPE html><title>Acme People</title><h1>Acme People</h1><p>{hello}</p>"

    @host.get("/acme-logo.svg")
    def logo() -> Response:
        return Response(LOGO, media_type="image/svg+xml")

    @host.get("/sign-in", response_class=HTMLResponse)
    def sign_in_page(next: str = "/") -> str:
        back = html.escape(safe_return_path(next))
        return (
            '<!DOCTYPE html><meta name="viewport" content="width=device-width">'
            "<title>Sign in · Acme People</title><h1>Sign in to Acme People</h1>"
            '<form method="post" action="/sign-in">'
            f'<input type="hidden" name="next" value="{back}">'
            '<label>Email <input type="email" name="email" required></label> '
            "<button>Sign in</button></form>"
            "<p><small>Demo: no password. A real host checks one, or uses single "
            "sign-on.</small></p>"
        )

    @host.post("/sign-in")
    async def sign_in(request: Request) -> RedirectResponse:
        form = await request.form()
        email = str(form.get("email", "")).strip()
        if email:
            request.session["email"] = email
        # only ever a path on this site: never https://evil.example or //evil.example
        return RedirectResponse(safe_return_path(form.get("next")), status_code=303)

    host.mount("/learning", create_app(lp, identify=identify, sign_in_url="/sign-in"))
    return host


def seed(lp: learnprog.Learnprog, origin: str) -> str:
    """Make Acme, its Data Academy and a contract; invite Noa; return the invitation link.

    Args:
        lp: the instance (its mailer a Maildir).
        origin: where the host is served (``http://127.0.0.1:8000``), for the logo's URL.
    """
    system = learnprog.SystemActor()
    org = lp.organizations.create_organization(
        system,
        "Acme",
        email_domains=["acme.example"],
        admin_name="Ana Lima",
        admin_email="ana.lima@acme.example",
        brand_color="#0B6E4F",
        logo_url=f"{origin}/acme-logo.svg",
    )
    ana = lp.organizations.resolve_actor(system, org.id, "ana.lima@acme.example")
    academy = lp.programs.create_program(
        ana, org.id, "Data Academy", slug="data-academy", tagline="SQL, statistics and Python"
    )
    contract = lp.programs.create_contract(
        ana,
        org.id,
        "Year 1",
        kind="licenses",
        quantity=10,
        starts_at=datetime(2026, 1, 1, tzinfo=UTC),
        ends_at=datetime(2036, 1, 1, tzinfo=UTC),
    )
    lp.invitations.invite(
        ana, academy.id, contract.id, full_name="Noa Reis", email="noa.reis@acme.example"
    )
    lp.mail.dispatch(system)
    return links_in(lp_maildir(lp), "noa.reis@acme.example", "/accept?token=")[-1]


def lp_maildir(lp: learnprog.Learnprog) -> Path:
    """The folder of the instance's MaildirMailer."""
    mailer = lp.context.mailer
    assert isinstance(mailer, learnprog.MaildirMailer)
    return Path(mailer.path)


def links_in(maildir: Path, to: str, part: str) -> list[str]:
    """The links holding ``part`` in the text of the letters delivered to ``to``, in order."""
    found: list[str] = []
    letters = sorted(mailbox.Maildir(maildir).items(), key=lambda item: item[1].get_date())
    for _key, letter in letters:
        if to not in str(letter["To"]):
            continue
        for part_ in letter.walk():
            if part_.get_content_type() == "text/plain":
                text = part_.get_payload(decode=True).decode("utf-8")
                found += [url for url in re.findall(r"https?://\S+", text) if part in url]
    return found


def connect(db: str, maildir: Path, origin: str) -> learnprog.Learnprog:
    """The instance behind the host: links on ``<origin>/learning``, mail into ``maildir``."""
    settings = learnprog.Settings(
        base_url=f"{origin}/learning",
        # a real host reads a stable secret from its configuration, so links outlive restarts
        secret_key=os.environ.get("ACME_LEARNPROG_SECRET_KEY") or secrets.token_urlsafe(32),
        sender_name="Acme Academy",
        no_reply_address="noreply@people.acme.example",
    )
    return learnprog.connect(db, settings=settings, mailer=learnprog.MaildirMailer(maildir))


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="memory://", help="learnprog storage URL")
    parser.add_argument("--maildir", type=Path, help="where mail goes (default: a new folder)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--demo", action="store_true", help="make Acme and invite Noa")
    args = parser.parse_args(argv)
    origin = f"http://{args.host}:{args.port}"
    maildir = args.maildir or Path(tempfile.mkdtemp()) / "outbox"
    lp = connect(args.db, maildir, origin)
    if args.demo:
        print(f"Noa's invitation: {seed(lp, origin)}")
        print(f"sign in as noa.reis@acme.example; mail in {maildir}")
    host = create_host(lp, session_secret=secrets.token_urlsafe(32))
    print(f"Acme People on {origin}/ (learnprog at {origin}/learning/) ")
    uvicorn.run(host, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
