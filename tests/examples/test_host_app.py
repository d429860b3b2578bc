"""examples/host_app.py: a host app's own mailer receives what learnprog sends, and its web
routes accept invitations and one-click unsubscribes."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import learnprog
from learnprog.model.mail import MessageCategory, OutgoingMessage
from tests.examples.conftest import EXAMPLES, run_script

HOST_APP = EXAMPLES / "host_app.py"


def load_host_app() -> ModuleType:
    spec = importlib.util.spec_from_file_location("acme_host_app", HOST_APP)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


host_app = load_host_app()


@pytest.fixture(
    params=[
        pytest.param("memory", marks=pytest.mark.memory),
        pytest.param("sqlite", marks=pytest.mark.sqlite),
    ]
)
def outcome(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'acme.db'}"
    lines: list[str] = []
    result = host_app.run(url, tmp_path / "queue.jsonl", echo=lines.append)
    assert lines, "the run reports its steps"
    return result


def summary(notifications: list[dict[str, Any]]) -> list[tuple[str, str, str | None, str]]:
    return [(n["category"], n["to"], n["template"], n["subject"]) for n in notifications]


def test_the_hosts_queue_receives_every_message_but_the_suppressed_ones(outcome: Any) -> None:
    # Within one dispatch the order is the outbox's, not the order of queuing.
    assert sorted(summary(outcome.notifications)) == [
        ("admin", "bo.park@acme.example", "admin_message", "Office hours on Friday"),
        ("admin", "dev.rao@acme.example", "admin_message", "New course: SQL basics"),
        ("admin", "dev.rao@acme.example", "admin_message", "Office hours on Friday"),
        ("announcement", "bo.park@acme.example", "program_welcome", "Welcome to Data Academy"),
        ("announcement", "dev.rao@acme.example", "program_welcome", "Welcome to Data Academy"),
        ("transactional", "bo.park@acme.example", "invitation", "You're invited to Data Academy"),
        ("transactional", "dev.rao@acme.example", "invitation", "You're invited to Data Academy"),
    ]
    assert [d.sent for d in outcome.dispatches] == [2, 2, 2, 1]
    assert summary(outcome.notifications)[-1][1:] == (
        "dev.rao@acme.example",
        "admin_message",
        "New course: SQL basics",
    )
    # Carol is on the portal's suppression list: a permanent failure, not retried.
    first = outcome.dispatches[0]
    assert (first.sent, first.failed, first.retried) == (2, 1, 0)
    assert all(n["to"] != "carol.diaz@acme.example" for n in outcome.notifications)


def test_notifications_carry_both_bodies_the_settings_sender_and_unique_ids(
    outcome: Any,
) -> None:
    notifications = outcome.notifications
    assert all(n["text"] and n["html"] for n in notifications)
    assert {n["from"] for n in notifications} == {"noreply@people.acme.example"}
    assert len({n["id"] for n in notifications}) == len(notifications)
    invitation = next(
        n for n in notifications if n["template"] == "invitation" and n["to_name"] == "Bo Park"
    )
    assert invitation["to"] == "bo.park@acme.example"
    link = host_app.link_in(invitation, "/accept?token=")
    assert link.startswith("https://people.acme.example/programs/data-academy/accept?token=")


def test_only_mail_a_learner_may_refuse_has_a_one_click_unsubscribe(outcome: Any) -> None:
    for n in outcome.notifications:
        if n["category"] == "transactional":
            assert "List-Unsubscribe" not in n["headers"]
        else:
            assert n["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
            assert host_app.one_click_url(n).startswith(
                "https://people.acme.example/email/unsubscribe?token="
            )


def test_the_portal_accepts_only_the_invitees_own_valid_link(outcome: Any) -> None:
    statuses = {what: status for what, (status, _body) in outcome.responses.items()}
    assert statuses == {
        "signed out": 401,
        "someone else's link": 403,
        "altered link": 400,
        "bo accepts": 200,
        "dev accepts": 200,
        "bo unsubscribes": 200,
    }
    assert outcome.responses["altered link"][1] == "field 'token': the link is not valid"
    welcomes = outcome.dispatches[1]
    assert (welcomes.sent, welcomes.failed) == (2, 0)


def test_after_the_one_click_unsubscribe_the_learner_gets_no_more_messages(outcome: Any) -> None:
    assert outcome.responses["bo unsubscribes"] == (200, "unsubscribed from admin emails")
    first, second = outcome.messages
    assert (first.recipients, first.opted_out) == (2, 0)
    assert (second.recipients, second.opted_out) == (1, 1)


def message(to: str) -> OutgoingMessage:
    return OutgoingMessage.compose(
        organization_id="org-1",
        category=MessageCategory.ADMIN,
        to=to,
        subject="Hello",
        text_body="Hi",
        sender_address="noreply@people.acme.example",
        message_domain="people.acme.example",
    )


def test_the_adapter_refuses_a_suppressed_address_for_good(tmp_path: Path) -> None:
    mailer = host_app.NotificationQueueMailer(
        tmp_path / "queue.jsonl", suppressed=["Carol.Diaz@acme.example"]
    )
    with pytest.raises(learnprog.MailError, match="suppression list") as refused:
        mailer.send(message("carol.diaz@acme.example"))
    assert refused.value.permanent is True
    mailer.send(message("bo.park@acme.example"))
    assert [n["to"] for n in mailer.notifications()] == ["bo.park@acme.example"]


def test_a_queue_that_cannot_be_written_is_a_transient_failure(tmp_path: Path) -> None:
    mailer = host_app.NotificationQueueMailer(tmp_path)  # a folder, not a file
    with pytest.raises(learnprog.MailError, match="cannot write") as failed:
        mailer.send(message("bo.park@acme.example"))
    assert failed.value.permanent is False


def test_the_script_runs_on_sqlite_and_lists_the_queue(tmp_path: Path) -> None:
    queue = tmp_path / "queue.jsonl"
    database = f"sqlite:///{tmp_path / 'acme.db'}"
    out = run_script(HOST_APP, tmp_path, "--db", database, "--queue", str(queue), timeout=120)
    assert f"7 notifications in {queue}:" in out
    assert len(queue.read_text(encoding="utf-8").splitlines()) == 7
