"""Mail (the outbox, system email previews, the delivery log) and messages to audiences."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

import learnprog
from learnprog.cli._common import (
    InputPath,
    OutputFile,
    admin,
    admin_options,
    contract_by_name,
    counted,
    course_by_code,
    emit,
    fail,
    field_options,
    json_option,
    program_by_slug,
    read_small_text,
    session,
)
from learnprog.mail.rendering import SYSTEM_TEMPLATES
from learnprog.model.access import Actor, SystemActor
from learnprog.model.mail import OutgoingMessage
from learnprog.model.messaging import Audience, AudienceFilter, MessageDetails
from learnprog.model.organization import Organization
from learnprog.serialization import to_json_value

F = TypeVar("F", bound=Callable[..., Any])


@click.group("mail")
def mail_group() -> None:
    """Mail: deliver the outbox, preview system emails, read the delivery log."""


@mail_group.command("deliver")
@click.option("--max", "max_messages", type=click.IntRange(1), help="Stop after this many.")
@click.pass_context
def mail_deliver(ctx: click.Context, max_messages: int | None) -> None:
    """Deliver every due message of the outbox (to the Maildir or SMTP server)."""
    with session(ctx) as lp:
        report = lp.mail.dispatch(SystemActor(), max_messages=max_messages)
        click.echo(
            f"sent {report.sent}, retried {report.retried}, failed {report.failed}, "
            f"skipped {report.skipped}, lost {report.lost}, cancelled {report.cancelled}"
        )


@mail_group.command("preview")
@click.argument("template", type=click.Choice(sorted(SYSTEM_TEMPLATES)))
@admin_options
@click.option("--program", "program_slug", required=True, help="The program's URL slug.")
@click.option(
    "--html",
    "html_file",
    type=OutputFile(),
    help="Also write the HTML part to this file.",
)
@click.pass_context
def mail_preview(
    ctx: click.Context,
    template: str,
    org_name: str,
    as_email: str,
    program_slug: str,
    html_file: str | None,
) -> None:
    """Show a system email as the program's learners get it (sample learner)."""
    with session(ctx) as lp:
        org, actor = admin(lp, org_name, as_email)
        program = program_by_slug(lp, actor, org, program_slug)
        message = lp.mail.preview_system_email(actor, program.id, template)
        click.echo(f"Subject: {message.subject}\n\n{message.text_body}")
        if html_file is not None:
            Path(html_file).write_text(message.html_body or "", encoding="utf-8")


@mail_group.command("log")
@admin_options
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@json_option
@click.pass_context
def mail_log(ctx: click.Context, org_name: str, as_email: str, limit: int, as_json: bool) -> None:
    """Show the delivery log, newest first."""
    with session(ctx) as lp:
        org, actor = admin(lp, org_name, as_email)
        rows = [to_json_value(d) for d in lp.mail.deliveries(actor, org.id, limit=limit)]
        emit(rows, as_json, ["at", "recipient", "category", "template", "outcome", "detail"])


# --- messages -----------------------------------------------------------------------------------


@click.group("message")
def message_group() -> None:
    """Messages to an audience of learners: presets, preview, send."""


def _message_options(command: F) -> F:
    """The audience, the message's details and the filters, shared by preview and send."""
    options = [
        click.argument("audience", type=click.Choice([a.value for a in Audience])),
        click.option("--subject", help="The subject (default: the audience's preset)."),
        click.option(
            "--body", "content", help="The content (default: the preset); see --body-file."
        ),
        click.option(
            "--body-file",
            type=InputPath(),
            help="Read the content from this UTF-8 file.",
        ),
        click.option("--cta-label", help="A call-to-action button's text (with --cta-url)."),
        click.option("--cta-url", help="The button's http(s) URL (with --cta-label)."),
        click.option("--sender-name", help="The sender's name (default: the acting admin's)."),
        click.option("--reply-to", help="A reply-to address (default: no reply)."),
        click.option(
            "--program",
            "program_slugs",
            multiple=True,
            help="Only members of this program (URL slug; repeatable).",
        ),
        click.option(
            "--contract",
            "contract_names",
            multiple=True,
            help="Only memberships on this contract (repeatable).",
        ),
        click.option(
            "--course",
            "course_codes",
            multiple=True,
            help="Only learners currently enrolled in this course (Course ID; repeatable).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return admin_options(command)


def _message(
    lp: learnprog.Learnprog, org: Organization, actor: Actor, given: dict[str, Any]
) -> tuple[MessageDetails, AudienceFilter]:
    content = given["content"]
    if given["body_file"] is not None:
        if content is not None:
            raise click.UsageError("give --body or --body-file, not both")
        # a body holds at most 20,000 characters, 80,000 bytes of UTF-8 (the model checks it)
        content = read_small_text(given["body_file"], option="body_file", limit=80_000)
    if (given["cta_label"] is None) != (given["cta_url"] is None):
        raise click.UsageError("--cta-label and --cta-url go together")
    details = lp.messaging.compose(
        actor,
        org.id,
        given["audience"],
        subject=given["subject"],
        content=content,
        call_to_action=(
            None if given["cta_label"] is None else (given["cta_label"], given["cta_url"])
        ),
        sender_name=given["sender_name"],
        reply_to=given["reply_to"],
    )
    filters = AudienceFilter.create(
        program_ids=[program_by_slug(lp, actor, org, s).id for s in given["program_slugs"]],
        contract_ids=[contract_by_name(lp, actor, org, c).id for c in given["contract_names"]],
        target_ids=[course_by_code(lp, actor, org, c).id for c in given["course_codes"]],
    )
    return details, filters


@message_group.command("audiences")
@admin_options
@json_option
@click.pass_context
def message_audiences(ctx: click.Context, org_name: str, as_email: str, as_json: bool) -> None:
    """List the audiences with their purpose and preset subject."""
    with session(ctx) as lp:
        org, actor = admin(lp, org_name, as_email)
        rows = [
            {"audience": audience.value, "purpose": p.purpose, "subject": p.subject}
            for audience, p in lp.messaging.presets(actor, org.id).items()
        ]
        emit(rows, as_json, ["audience", "purpose", "subject"])


_MESSAGE_FIELDS = {
    "call_to_action": "--cta-url",
    "call_to_action.url": "--cta-url",
    "call_to_action.label": "--cta-label",
    "content": "--body",
}
"""The options behind the message's fields whose names differ from the parameters'."""


@field_options(**_MESSAGE_FIELDS)
@message_group.command("preview")
@_message_options
@click.pass_context
def message_preview(ctx: click.Context, /, org_name: str, as_email: str, **given: Any) -> None:
    """Show the message as its first recipient gets it and count the audience; send nothing."""
    with session(ctx) as lp:
        org, actor = admin(lp, org_name, as_email)
        details, filters = _message(lp, org, actor, given)
        preview = lp.messaging.preview(actor, org.id, given["audience"], details, filters=filters)
        click.echo(
            f"recipients {preview.recipients}, opted out {preview.opted_out}, "
            f"removed {preview.removed}"
        )
        click.echo(f"Subject: {preview.message.subject}\n\n{preview.message.text_body}")


@field_options(**_MESSAGE_FIELDS)
@message_group.command("send")
@_message_options
@click.option(
    "--agree-to-terms",
    "agree_to_terms",
    is_flag=True,
    help="Agree to the messaging terms of use (required to send; `message preview` shows them).",
)
@click.option("--yes", is_flag=True, help="Send without asking to confirm the recipient count.")
@click.option(
    "--idempotency-key",
    help="A key of yours for this message: sending again with it sends nothing more.",
)
@click.pass_context
def message_send(
    ctx: click.Context,
    /,
    org_name: str,
    as_email: str,
    agree_to_terms: bool,
    yes: bool,
    idempotency_key: str | None,
    **given: Any,
) -> None:
    """Queue the message to every learner of the audience (deliver it with `mail deliver`)."""
    with session(ctx) as lp:
        org, actor = admin(lp, org_name, as_email)
        details, filters = _message(lp, org, actor, given)
        preview = lp.messaging.preview(actor, org.id, given["audience"], details, filters=filters)
        if preview.recipients == 0:
            fail(
                f"nobody to send to: the audience {given['audience']} has no learner "
                f"to reach{_left_out(preview.opted_out, preview.removed)}; nothing queued"
            )
        if not agree_to_terms:
            raise learnprog.ValidationError(
                f"agree to the terms of use to send: {preview.terms_of_use}",
                field="agree_to_terms",
            )
        if not yes:
            _confirm(details.subject, preview.message, preview.recipients)
        sent = lp.messaging.send(
            actor,
            org.id,
            given["audience"],
            details,
            filters=filters,
            agree_to_terms=True,
            idempotency_key=idempotency_key,
        )
        click.echo(
            f"queued to {counted(sent.recipients, 'learner')} ({sent.opted_out} opted out, "
            f"{sent.removed} removed); deliver with `learnprog mail deliver`"
        )


def _left_out(opted_out: int, removed: int) -> str:
    """`` (2 opted out, 1 removed)`` when anyone is left out, else nothing."""
    return f" ({opted_out} opted out, {removed} removed)" if opted_out or removed else ""


def _confirm(subject: str, sample: OutgoingMessage, recipients: int) -> None:
    """Ask on stderr whether to send; stop with a one-line error unless the answer is yes.

    The subject is shown as the first recipient gets it when it is filled in per learner.
    """
    shown = repr(sample.subject)
    if sample.subject != subject:
        shown += f" (filled in per learner; shown for {sample.to.address})"
    question = f"Send {shown} to {counted(recipients, 'learner')}?"
    typed = sys.stdin is not None and sys.stdin.isatty()  # else the answer is not echoed
    unanswered = "not sent: the question got no answer (pass --yes to send without asking)"
    try:
        agreed = click.confirm(question, err=True)
    except click.Abort:  # end of input, or Ctrl-C
        if not typed:
            click.echo(err=True)  # end the question's line
        fail(unanswered)
    except (RuntimeError, OSError):  # stdin closed: the question was not even asked
        fail(unanswered)
    if not agreed:
        if not typed:
            click.echo(err=True)
        fail("not sent: declined (pass --yes to send without asking)")


@message_group.command("history")
@admin_options
@json_option
@click.pass_context
def message_history(ctx: click.Context, org_name: str, as_email: str, as_json: bool) -> None:
    """List the messages sent, newest first."""
    with session(ctx) as lp:
        org, actor = admin(lp, org_name, as_email)
        rows = [to_json_value(m) for m in lp.messaging.history(actor, org.id)]
        emit(rows, as_json, ["sent_at", "audience", "subject", "recipients", "opted_out", "actor"])


COMMANDS = (mail_group, message_group)
"""The commands this module adds to ``learnprog``."""
