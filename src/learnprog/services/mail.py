"""MailService: delivering the outbox, email preferences, unsubscribe links, previews.

Also :class:`MailComposer`, which the other services use to render a system email and queue it
in their unit of work, honouring the learner's opt-outs.

Sources: guide, "Coursera Email Settings" (learners opt out in their Email Preferences;
transactional mail is always sent; general marketing is never sent to program learners) and
RFC 8058 (one-click unsubscribe).
"""

from __future__ import annotations

import contextlib
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from attrs import evolve, frozen
from markupsafe import escape

from learnprog.errors import (
    ConcurrencyError,
    InvalidTokenError,
    LearnprogError,
    MailError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from learnprog.mail.rendering import (
    DEFAULT_BRAND_COLOR,
    INVITATION,
    PROGRAM_EXIT,
    SYSTEM_TEMPLATES,
    MailTemplates,
    SystemTemplate,
    render_admin_text,
)
from learnprog.model._rules import record_id, whole_number
from learnprog.model.access import (
    Actor,
    LearnerActor,
    SystemActor,
    check_actor,
    require_program_admin,
    require_self,
    require_system,
)
from learnprog.model.identity import new_id
from learnprog.model.learner import Learner, Membership
from learnprog.model.mail import (
    DeliveryAttempt,
    DeliveryOutcome,
    EmailOptOut,
    MessageCategory,
    OutboxEntry,
    OutgoingMessage,
    RetryPolicy,
)
from learnprog.model.organization import Organization, Program
from learnprog.services._base import Service, ServiceContext, retry_on
from learnprog.storage.ports import UnitOfWork
from learnprog.tokens import TokenPurpose

UNSUBSCRIBE_LINK_LIFETIME = timedelta(days=365)
INVITATION_LINK_LIFETIME = timedelta(days=90)


@frozen
class QueueResult:
    """What happened to one message handed to :meth:`MailComposer.queue`.

    Attributes:
        message: the message.
        entry: the outbox entry, or ``None`` when skipped.
        skipped_reason: why it was not queued (``opted out of announcement``), or ``None``.
    """

    message: OutgoingMessage
    entry: OutboxEntry | None
    skipped_reason: str | None = None

    @property
    def queued(self) -> bool:
        """True when the message is in the outbox."""
        return self.entry is not None


@frozen
class DispatchReport:
    """What one :meth:`MailService.dispatch` run did.

    Attributes:
        sent: messages handed to the mail server.
        retried: transient failures, queued again with backoff.
        failed: failures for good (a permanent refusal, or the last retry).
        skipped: messages not sent because the learner opted out meanwhile.
        lost: messages whose claim ran out while sending (another dispatcher took them over).
        cancelled: invitations not sent because they no longer stood when they were due
            (revoked, the program removed, accepted already, made again since, or their
            contract ended: :meth:`~learnprog.model.mail.OutboxEntry.withdrawn_reason`).
        released: messages claimed and handed back unsent because the run was told to stop
            (``stop``), or left by an exception: due again at once for any dispatcher.
        stopped: the run ended because ``stop`` said so, not because nothing was due.
    """

    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    lost: int = 0
    cancelled: int = 0
    released: int = 0
    stopped: bool = False

    @property
    def handled(self) -> int:
        """Messages that reached an outcome in this run (all but ``lost`` and ``released``)."""
        return self.sent + self.retried + self.failed + self.skipped + self.cancelled

    def summary(self) -> str:
        """One line: ``sent 3, retried 0, failed 0, skipped 0, lost 0, cancelled 0, ...``."""
        return (
            f"sent {self.sent}, retried {self.retried}, failed {self.failed}, "
            f"skipped {self.skipped}, lost {self.lost}, cancelled {self.cancelled}, "
            f"released {self.released}" + (" (stopped)" if self.stopped else "")
        )


def _dispatch_report(counts: Mapping[str, int], *, stopped: bool = False) -> DispatchReport:
    return DispatchReport(
        sent=counts["sent"],
        retried=counts["retried"],
        failed=counts["failed"],
        skipped=counts["skipped"],
        lost=counts["lost"],
        cancelled=counts["cancelled"],
        released=counts["released"],
        stopped=stopped,
    )


@frozen
class UnsubscribeLink:
    """What a one-click unsubscribe link stands for: :meth:`MailService.unsubscribe_link`.

    Attributes:
        organization: the organization whose mail it stops.
        learner: the learner it was sent to.
        category: the category it stops (announcement or admin).
    """

    organization: Organization
    learner: Learner
    category: MessageCategory


class MailComposer:
    """Renders system emails and queues messages, for the services."""

    def __init__(self, context: ServiceContext) -> None:
        self._context = context
        self._templates = MailTemplates()

    def program_url(self, program: Program) -> str:
        """The program's URL (guide, "PROGRAM URL": it appears in invitations)."""
        return f"{self._context.settings.base_url.rstrip('/')}/programs/{program.slug.value}"

    def preferences_url(self, organization: Organization) -> str:
        """The learner's email preferences page in ``organization``, for every email's footer.

        Guide, "Coursera Email Settings": learners choose which categories they receive.
        ``<base_url>/email/preferences?organization=<id>``; the page needs a sign-in.
        """
        base = self._context.settings.base_url.rstrip("/")
        return f"{base}/email/preferences?organization={organization.id}"

    def unsubscribe_url(self, learner: Learner, category: MessageCategory) -> str:
        """A signed one-click unsubscribe link for ``learner`` and ``category`` (RFC 8058)."""
        token = self._context.signer.sign(
            TokenPurpose.UNSUBSCRIBE,
            {"o": learner.organization_id, "l": learner.id, "c": category.value},
        )
        return f"{self._context.settings.base_url.rstrip('/')}/email/unsubscribe?token={token}"

    def accept_url(self, program: Program, membership_id: str) -> str:
        """A signed invitation acceptance link."""
        token = self._context.signer.sign(
            TokenPurpose.ACCEPT_INVITATION, {"p": program.id, "m": membership_id}
        )
        return f"{self.program_url(program)}/accept?token={token}"

    def system_message(
        self,
        template: SystemTemplate,
        *,
        organization: Organization,
        program: Program,
        learner: Learner,
        extra: Mapping[str, Any] | None = None,
        sender_name: str | None = None,
        reply_to: str | None = None,
        membership_id: str | None = None,
    ) -> OutgoingMessage:
        """Render a system email for one learner.

        ``membership_id`` names the membership an invitation invites to; the dispatcher sends
        the message only while that invitation still stands
        (:meth:`~learnprog.model.mail.OutboxEntry.withdrawn_reason`).

        ``sender_name`` replaces the organization's name in From, and ``reply_to`` sets a
        Reply-To (admin messages: guide, "Edit the sender's name", "Include a reply-to email
        address").

        From shows the organization's name with the no-reply address, and there is no
        Reply-To (guide, "Emailing your learners": replies go to the no-reply address). The
        invitation carries the program's invitation message, or else the organization's
        default, rendered for this learner. Messages that are not transactional carry a
        ``List-Unsubscribe`` link and ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``.

        Raises:
            ValidationError: the template needs a value ``extra`` does not give.
        """
        unsubscribe = (
            self.unsubscribe_url(learner, template.category)
            if template.category.honours_opt_out
            else None
        )
        context: dict[str, Any] = {
            "organization": {"name": organization.name, "logo_url": organization.logo_url},
            "brand_color": organization.brand_color or DEFAULT_BRAND_COLOR,
            "program": {
                "name": program.name,
                "tagline": program.tagline,
                "url": self.program_url(program),
            },
            "learner": {"full_name": learner.full_name, "email": learner.email.address},
            "unsubscribe_url": unsubscribe,
            "preferences_url": self.preferences_url(organization),
            "membership_ended": template is PROGRAM_EXIT,
        }
        if template is INVITATION:
            source = program.invitation_message or organization.default_invitation_message
            context["message"] = (
                None
                if source is None
                else render_admin_text(
                    source,
                    {
                        "learner_name": learner.full_name,
                        "program_name": program.name,
                        "organization_name": organization.name,
                    },
                    field="invitation_message",
                )
            )
        context.update(extra or {})
        return self._outgoing(
            template,
            context,
            organization,
            learner,
            unsubscribe,
            sender_name,
            reply_to,
            membership_id=membership_id,
        )

    def admin_message(
        self,
        template: SystemTemplate,
        *,
        organization: Organization,
        admin: Learner,
        extra: Mapping[str, Any],
        footer_note: str,
    ) -> OutgoingMessage:
        """Render a system email for an administrator, about no single program (a report).

        Like :meth:`system_message` without a ``program`` in the context: From shows the
        organization's name with the no-reply address; ``footer_note`` replaces the footer's
        "part of <program>" line; a category that honours opt-outs adds the unsubscribe link
        and ``List-Unsubscribe`` headers (RFC 8058).

        Raises:
            ValidationError: the template needs a value ``extra`` does not give.
        """
        unsubscribe = (
            self.unsubscribe_url(admin, template.category)
            if template.category.honours_opt_out
            else None
        )
        context: dict[str, Any] = {
            "organization": {"name": organization.name, "logo_url": organization.logo_url},
            "brand_color": organization.brand_color or DEFAULT_BRAND_COLOR,
            "learner": {"full_name": admin.full_name, "email": admin.email.address},
            "unsubscribe_url": unsubscribe,
            "preferences_url": self.preferences_url(organization),
            "membership_ended": False,
            "footer_note": footer_note,
            **extra,
        }
        return self._outgoing(template, context, organization, admin, unsubscribe, None, None)

    def _outgoing(
        self,
        template: SystemTemplate,
        context: Mapping[str, Any],
        organization: Organization,
        learner: Learner,
        unsubscribe: str | None,
        sender_name: str | None,
        reply_to: str | None,
        *,
        membership_id: str | None = None,
    ) -> OutgoingMessage:
        settings = self._context.settings
        rendered = self._templates.render(template, context)
        headers = {}
        if unsubscribe is not None:
            headers = {
                "List-Unsubscribe": f"<{unsubscribe}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            }
        return OutgoingMessage.compose(
            organization_id=organization.id,
            category=template.category,
            to=learner.email,
            to_name=learner.full_name,
            subject=rendered.subject,
            text_body=rendered.text,
            html_body=rendered.html,
            sender_address=settings.no_reply_address,  # replies go nowhere without a Reply-To
            sender_name=sender_name or organization.name,
            reply_to=reply_to,
            message_domain=settings.message_domain,
            template=template.name,
            learner_id=learner.id,
            headers=headers,
            membership_id=membership_id,
        )

    def invitation_merge(
        self, organization: Organization, program: Program
    ) -> Callable[[Learner, str], OutgoingMessage]:
        """Render the Invitation once for a program and return a per-learner merge.

        For bulk invitations: the template is rendered with unique marker values in place of
        the learner's name and email and the acceptance link, and each learner's message is
        the rendered text with the markers replaced (HTML-escaped in the HTML part, as jinja2
        escapes). This is exact because admin text may only hold placeholders (no filters
        that could transform a value), and the result equals :meth:`system_message`'s.

        Returns:
            ``merge(learner, membership_id) -> OutgoingMessage``.
        """
        tag = secrets.token_hex(8)
        name, mail, accept = f"lpname{tag}", f"lpmail{tag}", f"lpaccept{tag}"
        stand_in = Learner.create(
            organization.id, name, f"{mail}@example.org", now=self._context.clock.now()
        )
        rendered = self.system_message(
            INVITATION,
            organization=organization,
            program=program,
            learner=stand_in,
            extra={"accept_url": accept},
        )
        html_body = rendered.html_body or ""
        mail_text = f"{mail}@example.org"

        def merge(learner: Learner, membership_id: str) -> OutgoingMessage:
            url = self.accept_url(program, membership_id)
            values = ((name, learner.full_name), (mail_text, learner.email.address), (accept, url))
            text, html = rendered.text_body, html_body
            for marker, value in values:
                text = text.replace(marker, value)
                html = html.replace(marker, str(escape(value)))
            return evolve(
                rendered,
                message_id=f"<{new_id()}@{self._context.settings.message_domain}>",
                to=learner.email,
                to_name=learner.full_name,
                text_body=text,
                html_body=html,
                learner_id=learner.id,
                membership_id=membership_id,
            )

        return merge

    def queue(self, uow: UnitOfWork, message: OutgoingMessage) -> QueueResult:
        """Queue ``message`` in ``uow`` unless its learner opted out of its category.

        Returns:
            The entry, or the reason it was skipped (the learner's opt-out).
        """
        if (
            message.category.honours_opt_out
            and message.learner_id is not None
            and (message.category in uow.email_preferences.opt_outs(message.learner_id))
        ):
            return QueueResult(message, None, f"opted out of {message.category.value} mail")
        entry = OutboxEntry.queue(message, now=self._context.clock.now())
        uow.outbox.add(entry)
        return QueueResult(message, entry)


def _membership(uow: UnitOfWork, membership_id: str | None) -> Membership | None:
    """The membership an invitation names, as stored now; None when none is named or found."""
    if membership_id is None:
        return None
    try:
        return uow.memberships.get(membership_id)
    except NotFoundError:
        return None


def admin_message_context(
    subject: str, content: str, call_to_action: tuple[str, str] | None
) -> dict[str, Any]:
    """The ``admin_message`` value of the admin message's template context.

    Args:
        subject: the rendered subject.
        content: the rendered content; blank lines separate paragraphs, line breaks are kept.
        call_to_action: ``(label, url)`` of the button at the end, or ``None``.
    """
    paragraphs = [
        block.splitlines() for block in re.split(r"\n\s*\n", content.strip()) if block.strip()
    ]
    button = None if call_to_action is None else {
        "label": call_to_action[0], "url": call_to_action[1]
    }  # fmt: skip
    return {"subject": subject, "paragraphs": paragraphs, "call_to_action": button}


def course_context(name: str, partner: str | None) -> dict[str, Any]:
    """The ``course`` value of the Course Welcome email's template context."""
    return {"name": name, "partner": partner}


def specialization_context(name: str, partner: str | None, *, course_count: int) -> dict[str, Any]:
    """The ``specialization`` value of the Specialization Welcome email's template context."""
    return {"name": name, "partner": partner, "course_count": course_count}


class MailService(Service):
    """Delivering queued mail, email preferences and unsubscribe links."""

    def __init__(self, context: ServiceContext) -> None:
        super().__init__(context)
        self.composer = MailComposer(context)

    def dispatch(
        self,
        actor: Actor,
        *,
        batch_size: int = 100,
        max_messages: int | None = None,
        lease: timedelta = timedelta(minutes=5),
        retry: RetryPolicy | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> DispatchReport:
        """Deliver due outbox messages through the mailer until none is due.

        Each batch is claimed in one unit of work (two dispatchers never claim the same
        message), sent outside any transaction, and each outcome stored in its own unit of
        work with a :class:`DeliveryAttempt` record. Transient failures are retried with
        exponential backoff (``retry``); permanent ones are marked FAILED with the server's
        answer; a learner who opted out after the message was queued is skipped. An invitation
        is cancelled, not sent, when its membership is no longer INVITED (revoked, removed with
        its program, or accepted already), when it was revoked and invited again after the
        message was queued (only the new invitation's email goes), or when its contract has
        ended (:meth:`OutboxEntry.withdrawn_reason`): the dispatcher reads the membership and
        contract as stored right before the send, so a revocation committed by any process
        before then is honoured (``docs/mail.md``).

        Delivery is at least once: if the process dies after the server accepted a message and
        before its outcome is stored, the claim's ``lease`` runs out and the message is sent
        again, with the same Message-ID (so receiving systems can tell it is the same).

        Stopping: ``stop`` is asked before each claim and before each message. When it answers
        True, the message in hand has been finished (sent and recorded), the rest of the
        batch is released (:meth:`~learnprog.storage.ports.OutboxRepository.release`: due
        again at once, for any dispatcher, without waiting for the lease) and the run returns
        with ``stopped=True``. An exception escaping the run (a ``KeyboardInterrupt`` included)
        releases the unsent rest of the batch the same way before it propagates; a message
        whose send it interrupted goes again (at least once).

        Args:
            actor: the system.
            batch_size: messages claimed at a time (1-1000).
            max_messages: stop after this many claims (1 or more); None for no limit.
            lease: how long a claim holds before another dispatcher may take the message
                (10 seconds to 1 day); it is renewed right before each send.
            retry: the backoff policy; default :class:`RetryPolicy()`.
            stop: asked before each claim and each message; True ends the run early (a
                worker told to shut down: :mod:`learnprog.services.jobs`).

        Returns:
            The counts of what happened.

        Raises:
            PermissionDeniedError: any actor but the system.
            ValidationError: a batch size outside 1-1000, ``max_messages`` below 1, a lease
                outside 10 seconds to 1 day, or a ``retry`` that is not a RetryPolicy.
            ConcurrencyError: a claim collided with concurrent dispatchers five times in a row
                (MariaDB can deadlock concurrent claims; each collision is claimed again);
                that batch was not claimed: call again.
        """
        require_system(actor, "dispatch mail")
        whole_number(batch_size, field="batch_size", minimum=1, maximum=1000, allow_none=False)
        whole_number(max_messages, field="max_messages", minimum=1, maximum=10**9)
        if not isinstance(lease, timedelta) or not (
            timedelta(seconds=10) <= lease <= timedelta(days=1)
        ):
            raise ValidationError(
                "a lease from 10 seconds to 1 day is required", field="lease", value=lease
            )
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise ValidationError("retry is a RetryPolicy", field="retry", value=retry)
        if stop is not None and not callable(stop):
            raise ValidationError("stop is a callable returning a bool", field="stop", value=stop)
        policy = retry or RetryPolicy()
        counts = {
            "sent": 0,
            "retried": 0,
            "failed": 0,
            "skipped": 0,
            "lost": 0,
            "cancelled": 0,
            "released": 0,
        }
        claimed_total = 0
        while max_messages is None or claimed_total < max_messages:
            if stop is not None and stop():
                return _dispatch_report(counts, stopped=True)
            size = (
                batch_size
                if max_messages is None
                else min(batch_size, max_messages - claimed_total)
            )
            claim_id = new_id()
            batch = self._claim(size, claim_id, lease)
            if not batch:
                break
            claimed_total += len(batch)
            done = 0
            try:
                for entry in batch:
                    if stop is not None and stop():
                        counts["released"] += self._release(batch[done:], claim_id)
                        return _dispatch_report(counts, stopped=True)
                    counts[self._deliver(entry, claim_id, policy, lease)] += 1
                    done += 1
            except BaseException:
                # hand the unsent rest back before the error propagates (the message whose
                # send was interrupted is among them: at least once)
                # storage failing too: their lease runs out instead, and the first error goes on
                with contextlib.suppress(LearnprogError):
                    self._release(batch[done:], claim_id)
                raise
        return _dispatch_report(counts)

    @retry_on(ConcurrencyError, attempts=3)
    def _release(self, entries: Sequence[OutboxEntry], claim_id: str) -> int:
        """Release the entries ``claim_id`` still holds, in one unit of work; how many."""
        if not entries:
            return 0
        with self._uow() as uow:
            released = uow.outbox.release([e.id for e in entries], claim_id, self._now())
            uow.commit()
        return released

    @retry_on(ConcurrencyError, attempts=5)  # MariaDB may deadlock concurrent claims: claim again
    def _claim(self, size: int, claim_id: str, lease: timedelta) -> Sequence[OutboxEntry]:
        """Claim up to ``size`` due messages for ``claim_id`` in one unit of work."""
        now = self._now()
        with self._uow() as uow:
            batch = uow.outbox.claim_due(
                now, limit=size, claim_id=claim_id, lease_until=now + lease
            )
            uow.commit()
        return batch

    def _deliver(
        self, entry: OutboxEntry, claim_id: str, policy: RetryPolicy, lease: timedelta
    ) -> str:
        message = entry.message
        attempt = entry.attempts + 1
        with self._uow() as uow:
            # the batch's lease may have run out while earlier messages were sent: renew it
            # for this one, or leave it to the dispatcher that took it over
            if not uow.outbox.renew(entry.id, claim_id, self._now() + lease):
                return "lost"
            uow.commit()
            membership = _membership(uow, message.membership_id)
            contract = None if membership is None else uow.contracts.get(membership.contract_id)
            withdrawn = entry.withdrawn_reason(membership, contract, self._now())
            opted_out = (
                message.category.honours_opt_out
                and message.learner_id is not None
                and message.category in uow.email_preferences.opt_outs(message.learner_id)
            )
        now = self._now()
        if withdrawn is not None:
            outcome, finished, detail = "cancelled", entry.cancelled(now, withdrawn), withdrawn
            record = DeliveryOutcome.CANCELLED
        elif opted_out:
            reason = f"opted out of {message.category.value} mail"
            outcome, finished, detail = "skipped", entry.skipped(now, reason), reason
            record = DeliveryOutcome.SKIPPED
        else:
            try:
                self._context.mailer.send(message)
            except MailError as exc:
                now = self._now()
                retry_at = None if exc.permanent else policy.retry_at(attempt, now)
                finished = entry.failed(now, str(exc), retry_at=retry_at)
                outcome = "failed" if retry_at is None else "retried"
                record = DeliveryOutcome.FAILED if retry_at is None else DeliveryOutcome.RETRY
                detail = str(exc)
            else:
                now = self._now()
                outcome, finished, detail = "sent", entry.sent(now), None
                record = DeliveryOutcome.SENT
        with self._uow() as uow:
            if not uow.outbox.finish(finished, claim_id):
                return "lost"
            uow.deliveries.add(
                DeliveryAttempt.of(entry, attempt=attempt, at=now, outcome=record, detail=detail)
            )
            uow.commit()
        return outcome

    def deliveries(
        self, actor: Actor, organization_id: str, *, limit: int = 100, offset: int = 0
    ) -> Sequence[DeliveryAttempt]:
        """Return the record of every delivery attempt, newest first.

        Each record holds the recipient, category, template, time and outcome of one attempt.

        Raises:
            PermissionDeniedError: not an organization admin.
            ValidationError: ``limit`` outside 1-1000 or a negative ``offset``.
        """
        whole_number(limit, field="limit", minimum=1, maximum=1000, allow_none=False)
        whole_number(offset, field="offset", allow_none=False)
        with self._as_org_admin(actor, organization_id, "read the mail log") as (uow, org):
            return uow.deliveries.list_for_organization(org.id, limit=limit, offset=offset)

    def email_preferences(self, actor: Actor) -> Mapping[MessageCategory, bool]:
        """Return whether the learner receives each category (guide, "Email Preferences").

        Transactional mail is always received.

        Raises:
            PermissionDeniedError: not a learner acting for themself.
        """
        with self._uow() as uow:
            learner = self._self(uow, actor)
            opted_out = uow.email_preferences.opt_outs(learner.learner_id)
        return {c: c not in opted_out for c in MessageCategory}

    def set_email_preference(
        self, actor: Actor, category: MessageCategory | str, *, receive: bool
    ) -> Mapping[MessageCategory, bool]:
        """Opt the learner in or out of a category of mail.

        Raises:
            PermissionDeniedError: not a learner acting for themself.
            ValidationError: an unknown category, ``transactional`` (always sent), or
                ``receive`` not a bool.
        """
        clean = _category(category)
        if not isinstance(receive, bool):
            raise ValidationError("receive is true or false", field="receive", value=receive)
        with self._uow() as uow:
            learner = self._self(uow, actor)
            if receive:
                uow.email_preferences.remove(learner.learner_id, clean)
            else:
                uow.email_preferences.add(
                    EmailOptOut(learner.organization_id, learner.learner_id, clean, self._now())
                )
            uow.commit()
        return self.email_preferences(actor)

    def unsubscribe(self, actor: Actor, token: str) -> EmailOptOut:
        """Apply a one-click unsubscribe link (RFC 8058): what a host's web endpoint calls.

        Args:
            actor: the system (the endpoint acting on the link), or the learner the link is for.
            token: the ``token`` query parameter of the link.

        Returns:
            The stored opt-out.

        Raises:
            InvalidTokenError: a forged or altered link; an
                :class:`~learnprog.errors.ExpiredTokenError` past a year.
            PermissionDeniedError: a learner other than the one the link is for.
        """
        check_actor(actor)
        org_id, learner_id, category = self._unsubscribe_payload(token)
        if not isinstance(actor, SystemActor):
            require_self(actor, org_id, learner_id, "use another learner's unsubscribe link")
        opt_out = EmailOptOut(org_id, learner_id, category, self._now())
        with self._uow() as uow:
            _link_learner(uow, org_id, learner_id)  # still there, in the link's organization
            uow.email_preferences.add(opt_out)
            uow.commit()
        return opt_out

    def unsubscribe_link(self, actor: Actor, token: str) -> UnsubscribeLink:
        """Return whom and what a one-click unsubscribe link is for; change nothing.

        For the page a ``GET`` of the link shows (RFC 8058 section 3.2: mail scanners follow
        links, so only the ``POST`` unsubscribes): it names the learner, the category and the
        organization whose branding the page wears.

        Raises:
            PermissionDeniedError: the caller is not the system actor.
            InvalidTokenError: a forged or altered link, or a learner that no longer exists;
                an :class:`~learnprog.errors.ExpiredTokenError` past a year.
        """
        require_system(actor, "read whom an unsubscribe link is for")
        org_id, learner_id, category = self._unsubscribe_payload(token)
        with self._uow() as uow:
            learner = _link_learner(uow, org_id, learner_id)
            organization = uow.organizations.get(org_id)
        return UnsubscribeLink(organization, learner, category)

    def _unsubscribe_payload(self, token: object) -> tuple[str, str, MessageCategory]:
        """The organization, learner and category an unsubscribe token names, once verified.

        Raises:
            InvalidTokenError: not text, forged, altered, expired, or naming no category that
                a learner may stop.
        """
        if not isinstance(token, str):
            raise InvalidTokenError("the link is not valid", field="token")
        payload = self._context.signer.verify(
            TokenPurpose.UNSUBSCRIBE, token, max_age=UNSUBSCRIBE_LINK_LIFETIME
        )
        try:
            org_id, learner_id = str(payload["o"]), str(payload["l"])
            category = MessageCategory(payload["c"])
        except (KeyError, ValueError) as exc:
            raise InvalidTokenError("the link is not valid", field="token") from exc
        if not category.honours_opt_out:
            raise InvalidTokenError("the link is not valid", field="token")
        return org_id, learner_id, category

    def preview_system_email(self, actor: Actor, program_id: str, template: str) -> OutgoingMessage:
        """Render a system email as the program's learners would get it, for a sample learner.

        Args:
            actor: an admin of the program.
            program_id: the program (its branding and invitation message are used).
            template: one of ``invitation``, ``program_welcome``, ``course_welcome``,
                ``specialization_welcome``, ``program_exit``.

        Returns:
            The rendered message (nothing is queued).

        Raises:
            PermissionDeniedError: not an admin of the program.
            ValidationError: an unknown template name.
        """
        if template not in SYSTEM_TEMPLATES:
            raise ValidationError(
                f"a template is one of {', '.join(SYSTEM_TEMPLATES)}",
                field="template",
                value=template,
            )
        with self._uow() as uow:
            program = uow.programs.get(record_id(program_id, field="program_id"))
            require_program_admin(
                actor,
                program.organization_id,
                program.id,
                self._grants(uow, actor, program.organization_id),
                "preview the program's emails",
            )
            org = uow.organizations.get(program.organization_id)
        sample = Learner.create(
            org.id, "Sample Learner", "sample.learner@example.org", now=self._now()
        )
        extra = {
            "accept_url": f"{self.composer.program_url(program)}/accept?token=preview",
            "course": course_context("Sample Course", "Sample University"),
            "specialization": specialization_context(
                "Sample Specialization", "Sample University", course_count=3
            ),
            "admin_message": admin_message_context(
                "A message from your program",
                "Hi Sample Learner,\n\nThis is how a message from an admin looks.",
                ("Go to the program", self.composer.program_url(program)),
            ),
        }
        return self.composer.system_message(
            SYSTEM_TEMPLATES[template],
            organization=org,
            program=program,
            learner=sample,
            extra=extra,
        )

    @staticmethod
    def _self(uow: UnitOfWork, actor: Actor) -> LearnerActor:
        """The learner acting for themself, checked against their stored account."""
        check_actor(actor)
        if not isinstance(actor, LearnerActor):
            raise PermissionDeniedError(
                f"{actor.describe()} may not use a learner's email preferences"
            )
        try:
            learner = uow.learners.get(record_id(actor.learner_id, field="learner_id"))
        except NotFoundError as exc:
            raise PermissionDeniedError(f"{actor.describe()} is not a learner account") from exc
        if learner.organization_id != actor.organization_id:
            raise PermissionDeniedError(f"{actor.describe()} is not in that organization")
        return actor


def _category(value: object) -> MessageCategory:
    try:
        category = MessageCategory(str(value))
    except ValueError as exc:
        raise ValidationError(
            "a category is announcement or admin", field="category", value=value
        ) from exc
    if not category.honours_opt_out:
        raise ValidationError("transactional mail is always sent", field="category", value=value)
    return category


def _link_learner(uow: UnitOfWork, organization_id: str, learner_id: str) -> Learner:
    """The learner an unsubscribe link names, still in the link's organization.

    Raises:
        InvalidTokenError: the learner no longer exists, or is not in that organization.
    """
    try:
        learner = uow.learners.get(learner_id)
    except NotFoundError as exc:
        raise InvalidTokenError("the link's learner no longer exists", field="token") from exc
    if learner.organization_id != organization_id:
        raise InvalidTokenError("the link is not valid", field="token")
    return learner
