"""MessagingService: audiences, message details, preview, consent and sending.

Source: the guide's "Messaging Learners": define the audience (a preset purpose or a custom
message, with optional filters), edit the message details (subject, content, call to action,
sender's name, reply-to), preview, agree to the terms of use and send. The audiences are
:class:`~learnprog.model.messaging.Audience`; messages go through the outbox in the "admin"
category, so opted-out learners are skipped and counted.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

from attrs import evolve, frozen

from learnprog.errors import ConflictError, PermissionDeniedError, ValidationError
from learnprog.mail.rendering import (
    ADMIN_MESSAGE,
    PREVIEW_VALUES,
    check_admin_text,
    render_admin_text,
)
from learnprog.model._rules import record_id, whole_number
from learnprog.model.access import (
    Actor,
    LearnerActor,
    OrgAdminActor,
    ProgramAdminActor,
    require_any_admin,
    visible_program_ids,
)
from learnprog.model.learner import Learner, MemberState
from learnprog.model.mail import OutgoingMessage
from learnprog.model.messaging import (
    PRESETS,
    Audience,
    AudienceFilter,
    AudienceMember,
    CallToAction,
    MessageDetails,
    MessagePreset,
    MessageRecipient,
    RecipientSkip,
    SentMessage,
    audience_of,
    checked_idempotency_key,
    signed,
)
from learnprog.model.organization import Organization, Program
from learnprog.services._base import Service, ServiceContext, retry_if_stale
from learnprog.services.invitations import InvitationService, ResendReport
from learnprog.services.mail import MailComposer, admin_message_context
from learnprog.storage.ports import UnitOfWork

TERMS_OF_USE = (
    "I agree to use this messaging tool to send updates, announcements, and reminders to "
    "learners in my enterprise learning program regarding their use of the learning program. "
    "I understand that this tool is not to be used for any other types of communication."
)
"""What an admin agrees to before sending (guide, "Preview and send message")."""


@frozen
class Resolution:
    """Who an audience reaches, after the exclusion rules.

    Attributes:
        recipients: ``(learner ID, program ID)`` of each learner the message goes to, with
            the program whose name it uses for them (the first, by name, they qualify in).
        opted_out: ``(learner ID, program ID)`` of the learners in the audience who opted out
            of admin messages, with the program they would have been sent it for.
        removed: ``(learner ID, program ID)`` of the learners who pass the filters but whose
            every membership in scope is DELETED_MEMBER, with the first program by name.
    """

    recipients: tuple[tuple[str, str], ...]
    opted_out: tuple[tuple[str, str], ...]
    removed: tuple[tuple[str, str], ...]


@frozen
class MessagePreview:
    """What :meth:`MessagingService.preview` shows (guide, "Preview message").

    Attributes:
        message: the message rendered for the first recipient, or with the guide's placeholder
            text ("[User name will go here]") when nobody is in the audience.
        recipients: learners it would go to.
        opted_out: learners left out because they opted out of admin messages.
        removed: learners left out because they were removed from the program.
        terms_of_use: the text the admin must agree to before sending.
    """

    message: OutgoingMessage
    recipients: int
    opted_out: int
    removed: int
    terms_of_use: str = TERMS_OF_USE


class MessagingService(Service):
    """Messages to learner audiences (guide, "Messaging Learners")."""

    def __init__(self, context: ServiceContext) -> None:
        super().__init__(context)
        self._mail = MailComposer(context)
        self._invitations = InvitationService(context)

    # --- presets and details ----------------------------------------------------------------

    def presets(self, actor: Actor, organization_id: str) -> dict[Audience, MessagePreset]:
        """Return each audience's purpose and preset subject and content.

        Raises:
            PermissionDeniedError: not an admin of the organization.
        """
        with self._as_any_admin(actor, organization_id, "read message presets"):
            return dict(PRESETS)

    def compose(
        self,
        actor: Actor,
        organization_id: str,
        audience: Audience | str,
        *,
        subject: str | None = None,
        content: str | None = None,
        call_to_action: CallToAction | tuple[str, str] | None = None,
        sender_name: str | None = None,
        reply_to: str | None = None,
    ) -> MessageDetails:
        """Validate message details, starting from the audience's preset.

        Everything is checked here, before anything is queued: an empty subject or content,
        CR or LF in the subject or sender's name, a placeholder other than
        ``{{ learner_name }}``, ``{{ program_name }}`` and ``{{ organization_name }}``, an
        invalid reply-to address, a call to action without an http(s) URL.

        Args:
            actor: an admin of the organization.
            organization_id: the organization.
            audience: the audience whose preset fills what is not given.
            subject: the subject, or ``None`` for the preset's.
            content: the content, or ``None`` for the preset's.
            call_to_action: ``(label, url)`` or a :class:`CallToAction`, or ``None``.
            sender_name: the sender's name, or ``None`` for the acting admin's.
            reply_to: a reply-to address, or ``None`` for the no-reply address.

        Raises:
            PermissionDeniedError: not an admin.
            ValidationError: a rule above is broken (the field is named).
        """
        with self._admin(actor, organization_id, "write messages"):
            pass
        preset = audience_of(audience).preset
        details = MessageDetails.create(
            preset.subject if subject is None else subject,
            preset.content if content is None else content,
            call_to_action=call_to_action,
            sender_name=sender_name,
            reply_to=reply_to,
        )
        check_admin_text(details.subject, field="subject")
        check_admin_text(details.content, field="content")
        return details

    # --- preview and send -------------------------------------------------------------------

    def preview(
        self,
        actor: Actor,
        organization_id: str,
        audience: Audience | str,
        details: MessageDetails | None = None,
        *,
        filters: AudienceFilter | None = None,
    ) -> MessagePreview:
        """Render the message for a sample recipient and count who it would reach.

        Nothing is queued or stored.

        Args:
            actor: an organization admin, or a program admin (who reaches only learners of
                their programs).
            organization_id: the organization.
            audience: the audience.
            details: the message, or ``None`` for the audience's preset.
            filters: optional filters, at most
                :data:`~learnprog.model.messaging.MAX_FILTER_IDS` IDs in all.

        Raises:
            PermissionDeniedError: not an admin of the organization.
            ValidationError: bad details, or bad or too many filters (checked before any
                storage query).
        """
        kind = audience_of(audience)
        details = self._checked(actor, organization_id, kind, details)
        clean_filters = _checked_filters(filters)
        with self._admin(actor, organization_id, "preview messages") as (uow, org, scope):
            resolution = self._resolve(uow, org, kind, clean_filters, scope)
            sender = self._sender(uow, actor, details)
            if resolution.recipients:
                learner_id, program_id = resolution.recipients[0]
                sample = self._render(
                    org,
                    uow.programs.get(program_id),
                    uow.learners.get(learner_id),
                    details,
                    sender,
                )
            else:
                sample = self._render_placeholder(org, details, sender)
        return MessagePreview(
            sample,
            len(resolution.recipients),
            len(resolution.opted_out),
            len(resolution.removed),
        )

    @retry_if_stale  # a deadlock rolled it back: run again (a send under the key is found)
    def send(
        self,
        actor: Actor,
        organization_id: str,
        audience: Audience | str,
        details: MessageDetails | None = None,
        *,
        filters: AudienceFilter | None = None,
        agree_to_terms: bool,
        idempotency_key: str | None = None,
    ) -> SentMessage:
        """Queue the message to every learner of the audience, in one unit of work.

        Each recipient gets the message rendered with their own name and program; learners who
        opted out of admin messages are skipped and counted, and removed learners are in no
        audience. With an ``idempotency_key``, sending again (a retry after a failure, a double
        click) returns the message already sent and queues nothing more, so each recipient gets
        it once; delivery is then the outbox's (at least once across a crash).

        Args:
            actor: an organization admin, or a program admin (learners of their programs only).
            organization_id: the organization.
            audience: the audience.
            details: the message, or ``None`` for the audience's preset.
            filters: optional filters, at most
                :data:`~learnprog.model.messaging.MAX_FILTER_IDS` IDs in all.
            agree_to_terms: must be ``True``: the admin agrees to :data:`TERMS_OF_USE`.
            idempotency_key: the caller's key for this message (1-64 characters on one line,
                not blank: :func:`~learnprog.model.messaging.checked_idempotency_key`), or
                ``None`` for a fresh one.

        Returns:
            The record of the message, with its counts.

        Raises:
            PermissionDeniedError: not an admin of the organization.
            ValidationError: the terms were not agreed to, a bad idempotency key or bad or
                too many filters (both checked before any storage query), or bad details.
            ConflictError: the idempotency key was used for another message.
            ConcurrencyError: concurrent writes got in the way twice in a row (the database
                rolled it back; nothing stored: call again).
        """
        if agree_to_terms is not True:
            raise ValidationError(
                "agree to the terms of use to send a message", field="agree_to_terms"
            )
        if idempotency_key is not None:
            idempotency_key = checked_idempotency_key(idempotency_key)
        kind = audience_of(audience)
        details = self._checked(actor, organization_id, kind, details)
        clean_filters = _checked_filters(filters)
        try:
            with self._admin(actor, organization_id, "send messages") as (uow, org, scope):
                if idempotency_key is not None:
                    earlier = uow.messages.find_by_key(org.id, idempotency_key)
                    if earlier is not None:
                        return _same_message(earlier, kind, details, clean_filters)
                message = self._send(uow, actor, org, kind, details, clean_filters, scope,
                                     idempotency_key)  # fmt: skip
                uow.commit()
                return message
        except ConflictError:  # the key's unique index: a send with the same key committed first
            if idempotency_key is None:
                raise
            with self._uow() as uow:  # a concurrent send with the same key won
                earlier = uow.messages.find_by_key(organization_id, idempotency_key)
                if earlier is None:
                    raise
                return _same_message(earlier, kind, details, clean_filters)

    def _send(
        self,
        uow: UnitOfWork,
        actor: Actor,
        org: Organization,
        audience: Audience,
        details: MessageDetails,
        filters: AudienceFilter,
        scope: frozenset[str] | None,
        idempotency_key: str | None,
    ) -> SentMessage:
        resolution = self._resolve(uow, org, audience, filters, scope)
        sender = self._sender(uow, actor, details)
        message = SentMessage.create(
            org.id,
            idempotency_key=idempotency_key,
            audience=audience,
            filters=filters,
            details=details,
            sender_name=sender,
            actor=actor.describe(),
            now=self._now(),
        )
        uow.messages.add(message)
        programs: dict[str, Program] = {}
        learners = uow.learners.get_many([lr for lr, _ in resolution.recipients])
        recipients = []
        skipped = [
            *(MessageRecipient(message.id, lr, p, None, RecipientSkip.OPTED_OUT)
              for lr, p in resolution.opted_out),
            *(MessageRecipient(message.id, lr, p, None, RecipientSkip.REMOVED)
              for lr, p in resolution.removed),
        ]  # fmt: skip
        for learner_id, program_id in resolution.recipients:
            program = programs.get(program_id) or uow.programs.get(program_id)
            programs[program_id] = program
            rendered = self._render(org, program, learners[learner_id], details, sender)
            queued = self._mail.queue(uow, rendered)
            if queued.entry is None:  # opted out since the audience was read
                skipped.append(MessageRecipient(message.id, learner_id, program_id, None,
                                                RecipientSkip.OPTED_OUT))  # fmt: skip
                continue
            recipients.append(MessageRecipient(message.id, learner_id, program_id, queued.entry.id))
        uow.messages.add_recipients([*recipients, *skipped])
        counted = evolve(
            message,
            recipients=len(recipients),
            opted_out=sum(r.skipped is RecipientSkip.OPTED_OUT for r in skipped),
            removed=len(resolution.removed),
            program_ids=tuple(sorted(programs)),
        )
        uow.messages.update(counted)
        self._audit_created(uow, actor, "message.send", counted, organization_id=org.id)
        return counted

    # --- history ------------------------------------------------------------------------------

    def history(
        self,
        actor: Actor,
        organization_id: str,
        *,
        program_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> Sequence[SentMessage]:
        """Return the messages sent, newest first (guide: the Messages homepage).

        A program admin sees only the messages to learners of their programs, with the counts
        for those programs alone (``recipients``, ``opted_out``, ``removed``) and only those
        programs in ``program_ids``: what an organization admin's message did elsewhere is
        not theirs to see (guide, "Organization Admin vs. Program Admin": program admins
        manage their programs only). Learners skipped by a message sent before revision
        0014 count in no program.

        Args:
            actor: an admin of the organization.
            organization_id: the organization.
            program_id: only messages with a recipient in this program.
            limit: at most this many (1-1000).
            offset: skip this many.

        Raises:
            PermissionDeniedError: not an admin of the organization, or a program admin asking
                for another program.
        """
        with self._admin(actor, organization_id, "read message history") as (uow, org, scope):
            wanted: list[str] | None = None
            if program_id is not None:
                wanted = [record_id(program_id, field="program_id")]
                if scope is not None and wanted[0] not in scope:
                    raise PermissionDeniedError(
                        f"{actor.describe()} may not read another program's messages"
                    )
            elif scope is not None:
                wanted = sorted(scope)
            found = uow.messages.list_for_organization(
                org.id, program_ids=wanted, limit=_bounded(limit), offset=_offset(offset)
            )
            if scope is None:
                return found
            counts = uow.messages.recipient_counts([m.id for m in found], sorted(scope))
        return [_scoped(m, counts.get(m.id, {}), scope) for m in found]

    def recipients(self, actor: Actor, message_id: str) -> Sequence[MessageRecipient]:
        """Return who a message was queued to (a program admin: only their programs' learners).

        Raises:
            PermissionDeniedError: not an admin of the message's organization.
            NotFoundError: no such message.
        """
        with self._uow() as uow:
            message = uow.messages.get(record_id(message_id, field="message_id"))
            grants = self._grants(uow, actor, message.organization_id)
            require_any_admin(actor, message.organization_id, grants, "read message recipients")
            scope = visible_program_ids(actor, grants)
            return [
                r
                for r in uow.messages.recipients(message.id)
                if r.skipped is None and (scope is None or r.program_id in scope)
            ]

    # --- quick actions of the usage funnel ----------------------------------------------------

    def resend_invitations(self, actor: Actor, program_id: str) -> ResendReport:
        """The funnel's "resend invites": :meth:`InvitationService.resend_invitations`.

        Invited people who have not joined get the invitation again with its acceptance link;
        a resend within 24 hours of the last one is skipped and reported.

        Returns:
            Whom the invitation went to again, and whom the 24-hour rule skipped.

        Raises:
            PermissionDeniedError: not an admin of the program.
            ValidationError: the program was removed.
        """
        return self._invitations.resend_invitations(actor, program_id)

    def remind_to_enroll(
        self,
        actor: Actor,
        program_id: str,
        *,
        agree_to_terms: bool,
        idempotency_key: str | None = None,
    ) -> SentMessage:
        """The funnel's "remind those joined to enroll" quick action.

        Sends the preset message of :attr:`Audience.JOINED_NOT_ENROLLED`, filtered to the
        program.

        Raises:
            PermissionDeniedError: not an admin of the program.
            ValidationError: the terms were not agreed to.
        """
        with self._uow() as uow:
            program = self._program(uow, actor, program_id, "message the program's learners")
        return self.send(
            actor,
            program.organization_id,
            Audience.JOINED_NOT_ENROLLED,
            filters=AudienceFilter.create(program_ids=[program.id]),
            agree_to_terms=agree_to_terms,
            idempotency_key=idempotency_key,
        )

    # --- shared steps ---------------------------------------------------------------------------

    def _checked(
        self,
        actor: Actor,
        organization_id: str,
        audience: Audience,
        details: MessageDetails | None,
    ) -> MessageDetails:
        if details is None:
            return self.compose(actor, organization_id, audience)
        if not isinstance(details, MessageDetails):
            raise ValidationError("MessageDetails are required", field="details", value=details)
        return self.compose(
            actor,
            organization_id,
            audience,
            subject=details.subject,
            content=details.content,
            call_to_action=details.call_to_action,
            sender_name=details.sender_name,
            reply_to=details.reply_to,
        )

    @contextmanager
    def _admin(
        self, actor: Actor, organization_id: str, what: str
    ) -> Iterator[tuple[UnitOfWork, Organization, frozenset[str] | None]]:
        """Open a unit of work as an admin of the organization, with the programs they reach.

        Raises:
            NotFoundError: no such organization.
            PermissionDeniedError: not an admin of the organization.
        """
        with self._uow() as uow:
            org = uow.organizations.get(record_id(organization_id, field="organization_id"))
            grants = self._grants(uow, actor, org.id)
            require_any_admin(actor, org.id, grants, what)
            yield uow, org, visible_program_ids(actor, grants)

    def _resolve(
        self,
        uow: UnitOfWork,
        org: Organization,
        audience: Audience,
        filters: AudienceFilter | None,
        scope: frozenset[str] | None,
    ) -> Resolution:
        if filters is not None and not isinstance(filters, AudienceFilter):
            raise ValidationError("AudienceFilter is required", field="filters", value=filters)
        rows = uow.messages.resolve(
            org.id,
            audience,
            filters or AudienceFilter(),
            None if scope is None else sorted(scope),
            self._now(),  # "the past N days" are measured back from the clock's now
        )
        return _summarize(uow, rows)

    def _sender(self, uow: UnitOfWork, actor: Actor, details: MessageDetails) -> str:
        if details.sender_name:
            return details.sender_name
        if isinstance(actor, LearnerActor | OrgAdminActor | ProgramAdminActor):
            return uow.learners.get(actor.learner_id).full_name
        return ""

    def _render(
        self,
        org: Organization,
        program: Program,
        learner: Learner,
        details: MessageDetails,
        sender: str,
    ) -> OutgoingMessage:
        values = {
            "learner_name": learner.full_name,
            "program_name": program.name,
            "organization_name": org.name,
        }
        return self._compose(org, program, learner, details, sender, values)

    def _render_placeholder(
        self, org: Organization, details: MessageDetails, sender: str
    ) -> OutgoingMessage:
        program = Program.create(
            org.id, PREVIEW_VALUES["program_name"], now=self._now(), slug="preview"
        )
        learner = Learner.create(
            org.id, PREVIEW_VALUES["learner_name"], "learner@example.org", now=self._now()
        )
        return self._compose(org, program, learner, details, sender, dict(PREVIEW_VALUES))

    def _compose(
        self,
        org: Organization,
        program: Program,
        learner: Learner,
        details: MessageDetails,
        sender: str,
        values: dict[str, str],
    ) -> OutgoingMessage:
        subject = render_admin_text(details.subject, values, field="subject")
        content = signed(render_admin_text(details.content, values, field="content"), sender)
        cta = details.call_to_action
        extra = {
            "admin_message": admin_message_context(
                subject, content, None if cta is None else (cta.label, cta.url)
            )
        }
        return self._mail.system_message(
            ADMIN_MESSAGE,
            organization=org,
            program=program,
            learner=learner,
            extra=extra,
            sender_name=sender or None,
            reply_to=details.reply_to,
        )


def _checked_filters(filters: object) -> AudienceFilter:
    """The filters of a preview or send, checked before any storage query.

    Raises:
        ValidationError: not an :class:`AudienceFilter`, or more than
            :data:`~learnprog.model.messaging.MAX_FILTER_IDS` IDs in all.
    """
    if filters is None:
        return AudienceFilter()
    if not isinstance(filters, AudienceFilter):
        raise ValidationError("AudienceFilter is required", field="filters", value=filters)
    return filters.checked_size()


def _bounded(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
        raise ValidationError("a limit is 1-1000", field="limit", value=limit)
    return limit


def _offset(offset: int) -> int:
    checked = whole_number(offset, field="offset", allow_none=False)
    assert checked is not None
    return checked


def _summarize(uow: UnitOfWork, rows: Sequence[AudienceMember]) -> Resolution:
    """Apply the exclusion rules to resolved memberships (see :class:`Resolution`)."""
    by_learner: dict[str, list[AudienceMember]] = {}
    for row in rows:
        by_learner.setdefault(row.learner_id, []).append(row)
    names: dict[str, str] = {}

    def first(rows: Sequence[AudienceMember]) -> str:
        for r in rows:
            if r.program_id not in names:
                names[r.program_id] = uow.programs.get(r.program_id).name
        return min(rows, key=lambda r: (names[r.program_id], r.program_id)).program_id

    recipients: list[tuple[str, str]] = []
    opted_out: list[tuple[str, str]] = []
    removed: list[tuple[str, str]] = []
    for learner_id, memberships in by_learner.items():
        qualifying = [r for r in memberships if r.in_audience]
        if qualifying:
            program_id = first(qualifying)
            if next(r for r in qualifying if r.program_id == program_id).opted_out:
                opted_out.append((learner_id, program_id))
            else:
                recipients.append((learner_id, program_id))
        elif all(r.state is MemberState.DELETED_MEMBER for r in memberships):
            removed.append((learner_id, first(memberships)))
    return Resolution(tuple(recipients), tuple(opted_out), tuple(removed))


def _scoped(
    message: SentMessage, counts: Mapping[RecipientSkip | None, int], scope: frozenset[str]
) -> SentMessage:
    """A message as a program admin sees it: its counts and programs within their scope."""
    return evolve(
        message,
        recipients=counts.get(None, 0),
        opted_out=counts.get(RecipientSkip.OPTED_OUT, 0),
        removed=counts.get(RecipientSkip.REMOVED, 0),
        program_ids=tuple(p for p in message.program_ids if p in scope),
    )


def _same_message(
    earlier: SentMessage, audience: Audience, details: MessageDetails, filters: AudienceFilter
) -> SentMessage:
    """Return the message sent before with an idempotency key, if this send asks for the same.

    A key names one message: a retry repeats it exactly. Another message under the same key
    would otherwise be dropped silently (the earlier one returned as if this one was sent).

    Raises:
        ConflictError: the audience, filters or details differ from the earlier message's.
    """
    asked = {
        "audience": audience,
        "filters": filters,
        "subject": details.subject,
        "content": details.content,
        "call_to_action": details.call_to_action,
        "reply_to": details.reply_to,
    }
    if details.sender_name is not None:
        asked["sender_name"] = details.sender_name
    differ = [name for name, value in asked.items() if getattr(earlier, name) != value]
    if differ:
        raise ConflictError(
            f"idempotency key {earlier.idempotency_key!r} was used on {earlier.sent_at:%Y-%m-%d} "
            f"for another message (its {', '.join(differ)} differ): nothing was sent; use a "
            "new key for a new message",
            kind="message",
            key=earlier.idempotency_key,
        )
    return earlier
