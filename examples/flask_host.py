"""A Flask (WSGI) host app serving learnprog's pages beside its own routes, through a2wsgi.

learnprog's app (``learnprog.web.create_app``) is ASGI; a WSGI host mounts it with
``a2wsgi.ASGIMiddleware`` under werkzeug's ``DispatcherMiddleware`` at ``/learning``, so
``Settings.base_url`` ends in ``/learning``. The host keeps its own routes (``/``, ``/sign-in``)
and its own sign-in: Flask's signed session cookie, which ``identify`` reads back with the
Flask app's own serializer. This demo signs anybody in by typing an address, with no password:
a real host checks one, or uses single sign-on; learnprog never stores passwords.

Run it (``pip install -e '.[web,dev]'``)::

    python examples/flask_host.py --demo        # http://127.0.0.1:8001, with Werkzeug's server

``tests/examples/test_web_hosts.py`` runs it in process with Flask's test client.
"""

from __future__ import annotations

import argparse
import html
import secrets
import sys
import tempfile
from pathlib import Path
from typing import Any

from a2wsgi import ASGIMiddleware
from flask import Flask, redirect, request, session
from itsdangerous import BadSignature
from starlette.requests import Request
from werkzeug.middleware.dispatcher import DispatcherMiddleware

import learnprog
from learnprog.web import create_app, safe_return_path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fastapi_host import LOGO, connect, links_in, lp_maildir, seed


def create_host(lp: learnprog.Learnprog, *, session_secret: str) -> Flask:
    """Return the Flask host: its own routes, and learnprog's pages at /learning."""
    host = Flask("acme_people")
    host.secret_key = session_secret
    host.config["SESSION_COOKIE_SAMESITE"] = "Lax"

    def identify(asgi_request: Request) -> str | None:
        """Flask's session cookie, read with Flask's own serializer (the host's sign-in)."""
        cookie = asgi_request.cookies.get(host.config["SESSION_COOKIE_NAME"])
        serializer = host.session_interface.get_signing_serializer(host)  # type: ignore[attr-defined]
        if cookie is None or serializer is None:
            return None
        try:
            data: dict[str, Any] = serializer.loads(cookie, max_age=31 * 24 * 3600)
        except BadSignature:
            return None
        email = data.get("email")
        return email if isinstance(email, str) else None

    @host.get("/")
    def home() -> str:
        who = session.get("email")
        hello = f"Signed in as {html.escape(who)}." if who else '<a href="/sign-in">Sign in</a>'
        return f"<!DOCTYPE html><title>Acme People</title><h1>Acme People</h1><p>{hello}</p>"

    @host.get("/acme-logo.svg")
    def logo() -> tuple[str, int, dict[str, str]]:
        return LOGO, 200, {"Content-Type": "image/svg+xml"}

    @host.get("/sign-in")
    def sign_in_page() -> str:
        back = html.escape(safe_return_path(request.args.get("next")))
        return (
            "<!DOCTYPE html><title>Sign in · Acme People</title><h1>Sign in</h1>"
            f'<form method="post" action="/sign-in"><input type="hidden" name="next" '
            f'value="{back}"><label>Email <input type="email" name="email" required>'
            "</label> <button>Sign in</button></form>"
        )

    @host.post("/sign-in")
    def sign_in() -> Any:
        email = request.form.get("email", "").strip()
        if email:
            session["email"] = email
        return redirect(safe_return_path(request.form.get("next")), code=303)

    learning = ASGIMiddleware(create_app(lp, identify=identify, sign_in_url="/sign-in"))
    host.wsgi_app = DispatcherMiddleware(  # type: ignore[method-assign]
        host.wsgi_app, {"/learning": learning}
    )
    return host


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="memory://", help="learnprog storage URL")
    parser.add_argument("--maildir", type=Path, help="where mail goes (default: a new folder)")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--demo", action="store_true", help="make Acme and invite Noa")
    args = parser.parse_args(argv)
    origin = f"http://127.0.0.1:{args.port}"
    maildir = args.maildir or Path(tempfile.mkdtemp()) / "outbox"
    lp = connect(args.db, maildir, origin)
    if args.demo:
        print(f"Noa's invitation: {seed(lp, origin)}")
    host = create_host(lp, session_secret=secrets.token_urlsafe(32))
    host.run(host="127.0.0.1", port=args.port)


__all__ = ["connect", "create_host", "links_in", "lp_maildir", "seed"]

if __name__ == "__main__":
    main()
