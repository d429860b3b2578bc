"""A host application that embeds learnprog: "Acme People", an HR portal with its own mail.

What the host brings, and how it plugs in:

* **Its own mail system.** Acme's portal sends every notification through its own queue (here a
  JSON-lines file a worker would drain). ``NotificationQueueMailer`` implements learnprog's
  ``Mailer`` port over it and maps the queue's refusals onto ``MailError``: an address on the
  portal's suppression list is a permanent failure, a queue that cannot be written a transient
  one, so learnprog's outbox retries only what a retry can fix.
* **Its own web app and sign-in.** ``AcmePortal`` is a WSGI app (stdlib only) that routes the two
  links learnprog puts in its emails: the invitation's ``/programs/<slug>/accept?token=...``,
  for the signed-in person, and the one-click ``/email/unsubscribe?token=...`` (RFC 8058). The
  portal authenticates people itself; learnprog only learns who they are through
  ``resolve_actor``.
* **Its own secret and URL**, passed as ``learnprog.Settings``, so the links learnprog signs are
  the portal's and verify in the portal.

Run it: ``python examples/host_app.py`` (in memory; ``--db sqlite:///acme.db`` for a file). It
invites three people and delivers the invitations into ``acme-notifications.jsonl`` in a new
temporary folder (or ``--queue PATH``); two of them accept through the portal; a message goes
to the members; one of them unsubscribes with the one-click link; a second message goes out.
``tests/examples/test_host_app.py`` runs it and reads the queue.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import secrets
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from wsgiref.util import setup_testing_defaults

import learnprog
from learnprog.mail.ports import Mailer, OutgoingMessage
from learnprog.model.messaging import SentMessage
from learnprog.services.mail import DispatchReport

BASE_URL = "https://people.acme.example"
ACCEPT_PATH = re.compile(r"^/programs/(?P<slug>[a-z0-9-]+)/accept$")
LINK = re.compile(r"https://\S+")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class NotificationQueueMailer(Mailer):
    """learnprog's Mailer port over the portal's notification queue (one JSON line each).

    Args:
        path: the queue file; a line is appended per message.
        suppressed: addresses the portal never mails (hard bounces, complaints).
    """

    def __init__(self, path: Path, *, suppressed: Iterable[str] = ()) -> None:
        self.path = path
        self.suppressed = {address.lower() for address in suppressed}

    def send(self, message: OutgoingMessage) -> None:
        if message.to.address.lower() in self.suppressed:
            raise learnprog.MailError(
                f"{message.to.address} is on the portal's suppression list", permanent=True
            )
        notification = {
            "id": message.message_id,
            "channel": "email",
            "to": message.to.address,
            "to_name": message.to_name,
            "from": message.sender_address.address,
            "subject": message.subject,
            "category": message.category.value,
            "template": message.template,
            "text": message.text_body,
            "html": message.html_body,
            "headers": dict(message.headers),
        }
        try:
            with self.path.open("a", encoding="utf-8") as queue:
                queue.write(json.dumps(notification, ensure_ascii=False) + "\n")
        except OSError as exc:  # a full disk or a lost share: the next dispatch tries again
            raise learnprog.MailError(f"cannot write to {self.path}: {exc}") from exc

    def notifications(self) -> list[dict[str, Any]]:
        """Every notification queued so far, oldest first."""
        if not self.path.exists():
            return []
        with self.path.open(encoding="utf-8") as queue:
            return [json.loads(line) for line in queue]


class AcmePortal:
    """The portal's web app: the two routes that learnprog's links point to.

    The portal signs people in itself; here the signed-in address arrives in the
    ``HTTP_X_ACME_USER`` header that its (not shown) authentication layer sets.
    """

    def __init__(self, lp: learnprog.Learnprog, organization_id: str) -> None:
        self.lp = lp
        self.organization_id = organization_id

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        path, method = environ["PATH_INFO"], environ["REQUEST_METHOD"]
        query = {key: values[0] for key, values in parse_qs(environ["QUERY_STRING"]).items()}
        try:
            if ACCEPT_PATH.match(path) and method == "GET":
                status, body = self.accept(environ.get("HTTP_X_ACME_USER"), query.get("token"))
            elif path == "/email/unsubscribe" and method in ("GET", "POST"):
                status, body = self.unsubscribe(query.get("token"))
            else:
                status, body = "404 Not Found", "no such page"
        except learnprog.InvalidTokenError as exc:
            status, body = "400 Bad Request", str(exc)
        except learnprog.PermissionDeniedError as exc:
            status, body = "403 Forbidden", str(exc)
        except learnprog.NotFoundError as exc:
            status, body = "404 Not Found", str(exc)
        start_response(status, [("Content-Type", "text/plain; charset=utf-8")])
        return [body.encode()]

    def accept(self, user: str | None, token: str | None) -> tuple[str, str]:
        if user is None:
            return "401 Unauthorized", "sign in to accept your invitation"
        learner = self.lp.organizations.resolve_actor(
            learnprog.SystemActor(), self.organization_id, user
        )
        membership = self.lp.invitations.accept(learner, token or "")
        return "200 OK", f"welcome: you joined on {membership.joined_at:%Y-%m-%d}"

    def unsubscribe(self, token: str | None) -> tuple[str, str]:
        opt_out = self.lp.mail.unsubscribe(learnprog.SystemActor(), token or "")
        return "200 OK", f"unsubscribed from {opt_out.category.value} emails"


def request(app: AcmePortal, method: str, url: str, *, user: str | None = None) -> tuple[int, str]:
    """Call the portal as a browser (or a mail client, for one-click) would."""
    parts = urlsplit(url)
    body = b"List-Unsubscribe=One-Click" if method == "POST" else b""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": parts.path,
        "QUERY_STRING": parts.query,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    if user is not None:
        environ["HTTP_X_ACME_USER"] = user
    setup_testing_defaults(environ)
    answer: list[str] = []
    chunks = app(environ, lambda status, headers: answer.append(status))
    return int(answer[0].split()[0]), b"".join(chunks).decode()


def link_in(notification: dict[str, Any], path_part: str) -> str:
    """The first link of a notification's text whose URL contains ``path_part``."""
    return next(url for url in LINK.findall(notification["text"]) if path_part in url)


def one_click_url(notification: dict[str, Any]) -> str:
    """The URL of a notification's ``List-Unsubscribe`` header (``<https://...>``)."""
    return str(notification["headers"]["List-Unsubscribe"]).strip("<>")


@dataclass
class HostRun:
    """What the run did: the portal's answers, learnprog's counts and the queue's contents."""

    responses: dict[str, tuple[int, str]] = field(default_factory=dict)
    dispatches: list[DispatchReport] = field(default_factory=list)
    messages: list[SentMessage] = field(default_factory=list)
    notifications: list[dict[str, Any]] = field(default_factory=list)


def run(url: str, queue: Path, *, echo: Callable[[str], None] = print) -> HostRun:
    """Run the portal's story on storage ``url``, queuing notifications into ``queue``."""
    mailer = NotificationQueueMailer(queue, suppressed=["carol.diaz@acme.example"])
    settings = learnprog.Settings(
        base_url=BASE_URL,
        # A real portal reads a stable secret from its configuration, so links outlive restarts.
        secret_key=os.environ.get("ACME_LEARNPROG_SECRET_KEY") or secrets.token_urlsafe(32),
        sender_name="Acme Academy",
        no_reply_address="noreply@people.acme.example",
    )
    system = learnprog.SystemActor()
    result = HostRun()
    with learnprog.connect(url, mailer=mailer, settings=settings) as lp:
        org = lp.organizations.create_organization(
            system,
            "Acme",
            email_domains=["acme.example"],
            admin_name="Ana Lima",
            admin_email="ana.lima@acme.example",
        )
        ana = lp.organizations.resolve_actor(system, org.id, "ana.lima@acme.example")
        academy = lp.programs.create_program(ana, org.id, "Data Academy", slug="data-academy")
        contract = lp.programs.create_contract(
            ana,
            org.id,
            "Year 1",
            kind="licenses",
            quantity=10,
            starts_at=datetime(2026, 1, 1, tzinfo=UTC),
            ends_at=datetime(2030, 1, 1, tzinfo=UTC),
        )
        people = {
            "Bo Park": "bo.park@acme.example",
            "Carol Diaz": "carol.diaz@acme.example",
            "Dev Rao": "dev.rao@acme.example",
        }
        for name, email in people.items():
            lp.invitations.invite(ana, academy.id, contract.id, full_name=name, email=email)
        result.dispatches.append(lp.mail.dispatch(system))
        echo(f"invitations: {result.dispatches[-1]}")

        # Each invitee opens the link from their email, signed in to the portal.
        portal = AcmePortal(lp, org.id)
        invitations = {n["to"]: n for n in mailer.notifications() if n["template"] == "invitation"}
        bo_link = link_in(invitations["bo.park@acme.example"], "/accept?token=")
        dev_link = link_in(invitations["dev.rao@acme.example"], "/accept?token=")
        result.responses["signed out"] = request(portal, "GET", bo_link)
        result.responses["someone else's link"] = request(
            portal, "GET", bo_link, user="dev.rao@acme.example"
        )
        result.responses["altered link"] = request(
            portal, "GET", bo_link[:-3] + "xyz", user="bo.park@acme.example"
        )
        result.responses["bo accepts"] = request(
            portal, "GET", bo_link, user="bo.park@acme.example"
        )
        result.responses["dev accepts"] = request(
            portal, "GET", dev_link, user="dev.rao@acme.example"
        )
        for what, (status, body) in result.responses.items():
            echo(f"portal, {what}: {status} {body}")
        result.dispatches.append(lp.mail.dispatch(system))
        echo(f"welcome emails: {result.dispatches[-1]}")

        def message_members(subject: str) -> None:
            details = lp.messaging.compose(ana, org.id, "all_members", subject=subject)
            sent = lp.messaging.send(ana, org.id, "all_members", details, agree_to_terms=True)
            result.messages.append(sent)
            result.dispatches.append(lp.mail.dispatch(system))
            echo(f"{subject!r}: {sent.recipients} sent, {sent.opted_out} opted out")

        message_members("Office hours on Friday")
        # Bo's mail client uses the one-click link of the message's List-Unsubscribe header.
        to_bo = [
            n
            for n in mailer.notifications()
            if n["to"] == "bo.park@acme.example" and n["category"] == "admin"
        ]
        result.responses["bo unsubscribes"] = request(portal, "POST", one_click_url(to_bo[-1]))
        echo("portal, bo unsubscribes: {} {}".format(*result.responses["bo unsubscribes"]))
        message_members("New course: SQL basics")
    result.notifications = mailer.notifications()
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="memory://", help="learnprog storage URL")
    parser.add_argument("--queue", type=Path, help="the notification queue (JSON lines)")
    args = parser.parse_args(argv)
    queue = args.queue or Path(tempfile.mkdtemp()) / "acme-notifications.jsonl"
    outcome = run(args.db, queue)
    print(f"{len(outcome.notifications)} notifications in {queue}:")
    for n in outcome.notifications:
        print(f"  {n['category']:<13} {n['to']:<22} {n['subject']}")


if __name__ == "__main__":
    main()
