"""Messaging learners: audiences, filters, message details and the record of what was sent.

Source: the guide's "Messaging Learners" (define the audience, edit the message details,
preview and send). Every audience is defined here, once, on the counting rules of
:mod:`learnprog.model.progress`; the SQL adapter restates each as one query and the contract
tests hold the two to the same recipient sets.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from attrs import field, frozen

from learnprog.errors import ValidationError
from learnprog.model._rules import (
    KEY_LENGTH,
    optional_line,
    optional_text,
    record_id,
    required_text,
    single_line,
    str_tuple,
    to_utc,
    utc,
)
from learnprog.model._typecheck import checked
from learnprog.model.identity import EmailAddress, new_id
from learnprog.model.learner import Membership, MemberState
from learnprog.model.progress import EnrollmentProgress, is_inactive

LONG_INACTIVE_AFTER = timedelta(days=90)
""""Notify long-term inactive learners": inactive for the past 90 days (guide)."""
RECENT_COMPLETION = timedelta(days=30)
""""Congratulate high performers": a completion in the past 30 days (guide)."""


class Audience(enum.StrEnum):
    """The guide's message audiences ("What is the purpose of this message?").

    Each is a rule over one membership (a learner in a program) at the clock's now; "current"
    enrollments and "activity" are those of :mod:`learnprog.model.progress`. DELETED_MEMBER
    memberships are in no audience.

    * ``INVITED_NOT_JOINED`` — "Remind invited people to join a learning program": INVITED
      memberships. The only audience with INVITED learners in it.
    * ``JOINED_NOT_ENROLLED`` — "Remind learners to enroll in a course or Specialization":
      MEMBERs with no current enrollment (course or specialization) in the program. No INVITED.
    * ``ENROLLED_NOT_COMPLETED`` — "Encourage learners to continue making progress": MEMBERs
      with a current course enrollment in the program and no current one completed (the
      members list's ``enrolled`` status). No INVITED.
    * ``INACTIVE`` — "Remind inactive learners to use the learning program": MEMBERs with a
      current enrollment in the program who are inactive for 30 days
      (:func:`~learnprog.model.progress.is_inactive`: no activity in the program's courses for
      at least 30 days, counted from joining when there was none). No INVITED.
    * ``LONG_TERM_INACTIVE`` — "Notify long-term inactive learners": MEMBERs inactive for 90
      days by the same rule, enrolled or not. No INVITED.
    * ``RECENT_COMPLETION`` — "Congratulate high performers on their achievement": MEMBERs with
      a current course enrollment in the program completed in the past 30 days
      (``now - 30 days < completed_at <= now``). No INVITED.
    * ``ALL_MEMBERS`` — "Write and send a custom message": every MEMBER (every learner who
      joined a program and was not removed). No INVITED.
    """

    INVITED_NOT_JOINED = "invited_not_joined"
    JOINED_NOT_ENROLLED = "joined_not_enrolled"
    ENROLLED_NOT_COMPLETED = "enrolled_not_completed"
    INACTIVE = "inactive"
    LONG_TERM_INACTIVE = "long_term_inactive"
    RECENT_COMPLETION = "recent_completion"
    ALL_MEMBERS = "all_members"

    def includes(
        self,
        membership: Membership,
        courses: Sequence[EnrollmentProgress],
        specializations: int,
        last_activity_at: datetime | None,
        now: datetime,
    ) -> bool:
        """True when a membership belongs to this audience at ``now``.

        Args:
            membership: the learner's membership in one program.
            courses: the figures of the learner's current course enrollments in the program.
            specializations: the learner's current specialization enrollments in the program.
            last_activity_at: the latest activity in any course of the program, past
                enrollments included.
            now: the clock's now.
        """
        if membership.state is MemberState.INVITED:
            return self is Audience.INVITED_NOT_JOINED
        if membership.state is not MemberState.MEMBER or self is Audience.INVITED_NOT_JOINED:
            return False
        joined = membership.joined_at
        enrolled = bool(courses) or specializations > 0
        if self is Audience.JOINED_NOT_ENROLLED:
            return not enrolled
        if self is Audience.ENROLLED_NOT_COMPLETED:
            return bool(courses) and not any(p.completed for p in courses)
        if self is Audience.INACTIVE:
            return enrolled and is_inactive(joined, last_activity_at, now)
        if self is Audience.LONG_TERM_INACTIVE:
            return is_inactive(joined, last_activity_at, now, after=LONG_INACTIVE_AFTER)
        if self is Audience.RECENT_COMPLETION:
            return any(
                p.completed_at is not None and now - RECENT_COMPLETION < p.completed_at <= now
                for p in courses
            )
        return True

    @property
    def preset(self) -> MessagePreset:
        """The audience's preset subject and content (editable before sending)."""
        return PRESETS[self]


@frozen
class MessagePreset:
    """A preset message: its purpose (the guide's wording), subject and content."""

    purpose: str
    subject: str
    content: str


SIGNATURE_PLACEHOLDER = (
    "[Replace this sentence with your name - learners are more likely to read a signed message]"
)
"""The guide's preset messages end with this sentence, for the admin to replace."""
_SIGN = SIGNATURE_PLACEHOLDER


def signed(content: str, sender_name: str) -> str:
    """Return ``content`` with the preset's signature placeholder replaced by the sender's name.

    The presets (guide: "Messaging", preset messages) ask the admin to replace
    :data:`SIGNATURE_PLACEHOLDER` with their name; a message sent without doing so would carry
    the instruction to every learner. learnprog signs it with the sender's name instead, or
    drops the sentence when there is no name (a message from the system actor).
    """
    if SIGNATURE_PLACEHOLDER not in content:
        return content
    if sender_name.strip():
        return content.replace(SIGNATURE_PLACEHOLDER, sender_name.strip())
    return content.replace(SIGNATURE_PLACEHOLDER, "").rstrip()


PRESETS: Mapping[Audience, MessagePreset] = {
    Audience.INVITED_NOT_JOINED: MessagePreset(
        "Remind invited people to join a learning program",
        "Your invitation to {{ program_name }} is waiting",
        "Hi {{ learner_name }},\n\nIt's easy to start learning, but places are limited. You "
        "don't need to decide which course to take yet: claim your place in {{ program_name }} "
        f"today.\n\n{_SIGN}",
    ),
    Audience.JOINED_NOT_ENROLLED: MessagePreset(
        "Remind learners to enroll in a course or Specialization",
        "Pick your first course in {{ program_name }}",
        "Hi {{ learner_name }},\n\nYou joined {{ program_name }} but have not enrolled in a "
        "course or specialization yet. Browse the collections and start the one that fits your "
        f"goals.\n\n{_SIGN}",
    ),
    Audience.ENROLLED_NOT_COMPLETED: MessagePreset(
        "Encourage learners to continue making progress",
        "Keep going in {{ program_name }}",
        "Hi {{ learner_name }},\n\nYou are on your way. A little time each week is all it takes "
        f"to finish your course in {{{{ program_name }}}}.\n\n{_SIGN}",
    ),
    Audience.INACTIVE: MessagePreset(
        "Remind inactive learners to use the learning program",
        "We miss you in {{ program_name }}",
        "Hi {{ learner_name }},\n\nIt has been a while since your last visit. Your course in "
        f"{{{{ program_name }}}} is waiting where you left it.\n\n{_SIGN}",
    ),
    Audience.LONG_TERM_INACTIVE: MessagePreset(
        "Notify long-term inactive learners",
        "Your place in {{ program_name }}",
        "Hi {{ learner_name }},\n\nYou have not been active in {{ program_name }} for three "
        f"months. Come back and pick up where you left off.\n\n{_SIGN}",
    ),
    Audience.RECENT_COMPLETION: MessagePreset(
        "Congratulate high performers on their achievement",
        "Congratulations on your achievement",
        "Hi {{ learner_name }},\n\nCongratulations on completing a course in {{ program_name }}! "
        f"Why not choose your next one?\n\n{_SIGN}",
    ),
    Audience.ALL_MEMBERS: MessagePreset(
        "Write and send a custom message",
        "A message about {{ program_name }}",
        f"Hi {{{{ learner_name }}}},\n\n\n\n{_SIGN}",
    ),
}
"""The preset message of each audience."""


MAX_FILTER_IDS = 10_000
"""The most IDs an :class:`AudienceFilter` holds, its four kinds together (a learnprog decision).

On SQL storage each ID is one bound parameter of the audience query, and PostgreSQL takes at
most 65,535 in a statement (SQLite's default build 32,766); a selection larger than this is
better made with program, contract or course filters. The same limit holds on every backend."""


def _ids(values: Iterable[str], field: str) -> tuple[str, ...]:
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise ValidationError("a list of record IDs is required", field=field, value=values)
    found = [record_id(value, field=field, max_length=KEY_LENGTH) for value in values]
    return tuple(sorted(set(found)))


@checked
@frozen
class AudienceFilter:
    """Filters narrowing an audience (guide: "Select additional filters"); all optional.

    Kinds combine with AND; values of one kind with OR. Empty means no filter of that kind.

    Attributes:
        target_ids: a current enrollment in one of these courses or specializations, through
            the membership's program ("Current enrollments").
        program_ids: memberships in one of these programs ("Learning programs").
        contract_ids: memberships drawing on one of these contracts ("Contracts").
        learner_ids: only these learners (a selection from the members list).

    At most :data:`MAX_FILTER_IDS` IDs in all: :meth:`create` checks it, and so do
    :meth:`~learnprog.services.messaging.MessagingService.preview` and ``send`` (with
    :meth:`checked_size`) for filters made otherwise.
    """

    target_ids: tuple[str, ...] = field(default=(), converter=str_tuple)
    program_ids: tuple[str, ...] = field(default=(), converter=str_tuple)
    contract_ids: tuple[str, ...] = field(default=(), converter=str_tuple)
    learner_ids: tuple[str, ...] = field(default=(), converter=str_tuple)

    def checked_size(self) -> AudienceFilter:
        """Return the filters if they hold at most :data:`MAX_FILTER_IDS` IDs in all.

        Raises:
            ValidationError: more IDs than that; the field named is the kind holding most.
        """
        sizes = {
            "target_ids": len(self.target_ids),
            "program_ids": len(self.program_ids),
            "contract_ids": len(self.contract_ids),
            "learner_ids": len(self.learner_ids),
        }
        total = sum(sizes.values())
        if total > MAX_FILTER_IDS:
            largest = max(sizes, key=lambda kind: sizes[kind])
            raise ValidationError(
                f"filters hold at most {MAX_FILTER_IDS:,} IDs in all, not {total:,} "
                f"({largest}: {sizes[largest]:,}); narrow the audience with program, contract "
                "or course filters instead",
                field=largest,
            )
        return self

    @classmethod
    def create(
        cls,
        *,
        target_ids: Iterable[str] = (),
        program_ids: Iterable[str] = (),
        contract_ids: Iterable[str] = (),
        learner_ids: Iterable[str] = (),
    ) -> AudienceFilter:
        """Validate and make filters (IDs deduplicated and sorted).

        Raises:
            ValidationError: a value that is not a list of record IDs (each 1-64 characters
                on one line), or more than :data:`MAX_FILTER_IDS` IDs in all (the field
                named).
        """
        return cls(
            _ids(target_ids, "target_ids"),
            _ids(program_ids, "program_ids"),
            _ids(contract_ids, "contract_ids"),
            _ids(learner_ids, "learner_ids"),
        ).checked_size()


@checked
@frozen
class CallToAction:
    """A button at the end of a message (guide: "Message's call to action").

    Attributes:
        label: the button text (single line, 1-80 characters).
        url: an absolute http or https URL.
    """

    label: str
    url: str

    @classmethod
    def create(cls, label: str, url: str) -> CallToAction:
        """Validate and make a call to action.

        Raises:
            ValidationError: a blank label, or a URL that is not absolute http(s) (a broken
                IPv6 host or a port out of range included: RFC 3986 section 3.2).
        """
        clean_label = required_text(label, field="call_to_action.label", max_length=80)
        clean_url = single_line(url, field="call_to_action.url", max_length=2000)
        try:
            parts = urlsplit(clean_url)
            parts.port  # noqa: B018 - a port out of range raises here
        except ValueError as exc:  # a broken IPv6 literal or port (RFC 3986 section 3.2)
            raise ValidationError(
                f"not a URL: {exc}", field="call_to_action.url", value=url
            ) from exc
        if parts.scheme not in ("http", "https") or not parts.netloc or " " in clean_url:
            raise ValidationError(
                "an absolute http or https URL is required", field="call_to_action.url", value=url
            )
        return cls(clean_label, clean_url)


@checked
@frozen
class MessageDetails:
    """What the admin wrote (guide: "Edit message details").

    Attributes:
        subject: the subject, single line, with placeholders.
        content: the body, plain text with placeholders (``{{ learner_name }}``,
            ``{{ program_name }}``, ``{{ organization_name }}``).
        call_to_action: the button at the end, or ``None``.
        sender_name: the sender's display name, or ``None`` for the acting admin's name.
        reply_to: where replies go, or ``None`` for the no-reply address.
    """

    subject: str
    content: str
    call_to_action: CallToAction | None = None
    sender_name: str | None = None
    reply_to: str | None = None

    @classmethod
    def create(
        cls,
        subject: str,
        content: str,
        *,
        call_to_action: CallToAction | tuple[str, str] | None = None,
        sender_name: str | None = None,
        reply_to: str | None = None,
    ) -> MessageDetails:
        """Validate the details before anything is queued.

        Placeholders are checked by the service (the mail renderer owns the syntax); this checks
        the shapes.

        Raises:
            ValidationError: an empty subject or content, CR or LF in the subject or sender
                name, an invalid reply-to address, or a bad call to action (the field named).
        """
        cta = call_to_action
        if isinstance(cta, tuple):
            if len(cta) != 2:
                raise ValidationError(
                    "a call to action is (label, url)", field="call_to_action", value=cta
                )
            cta = CallToAction.create(*cta)
        elif cta is not None and not isinstance(cta, CallToAction):
            raise ValidationError(
                "a CallToAction or (label, url) is required", field="call_to_action", value=cta
            )
        text = optional_text(content, field="content", max_length=20_000)
        if text is None:
            raise ValidationError("the content is required", field="content")
        return cls(
            subject=required_text(subject, field="subject", max_length=300),
            content=text,
            call_to_action=cta,
            sender_name=optional_line(sender_name, field="sender_name"),
            reply_to=None
            if reply_to is None
            else EmailAddress.parse(reply_to, field="reply_to").address,
        )


@frozen
class AudienceMember:
    """One membership as audience resolution sees it.

    Storage adapters build it from stored, checked records, so its fields are not checked
    again: an audience can be hundreds of thousands of rows.

    Attributes:
        learner_id: the learner.
        program_id: the membership's program.
        state: the membership's state.
        opted_out: the learner opted out of admin messages.
        in_audience: the membership belongs to the audience (a removed one never does; it is
            returned so previews can count it).
    """

    learner_id: str
    program_id: str
    state: MemberState
    opted_out: bool
    in_audience: bool


class RecipientSkip(enum.StrEnum):
    """Why a learner of a message's audience was not sent it (the history's counts)."""

    OPTED_OUT = "opted_out"
    """They opted out of admin messages."""
    REMOVED = "removed"
    """Every membership of theirs the message could reach is DELETED_MEMBER."""


@checked
@frozen
class MessageRecipient:
    """One learner a sent message was queued to, or skipped for, in one program.

    Kept per program so that a program admin's history counts only their programs' learners
    (guide, "Messaging Learners": program admins message "learners in their programs").

    Attributes:
        message_id: the message.
        learner_id: the learner.
        program_id: the program whose name the message used for them (for a removed learner,
            the first by name of the programs they were removed from).
        outbox_id: the outbox entry queued, or ``None`` when the learner was skipped.
        skipped: why the learner was skipped, or ``None`` when the message was queued.
    """

    message_id: str
    learner_id: str
    program_id: str
    outbox_id: str | None = None
    skipped: RecipientSkip | None = None


@checked
@frozen
class SentMessage:
    """A sent message on record (guide: message history).

    Attributes:
        id: record ID.
        organization_id: the organization.
        idempotency_key: the caller's key: sending again with it sends nothing more.
        audience: the audience.
        filters: the filters.
        subject: the subject as written (with placeholders).
        content: the content as written.
        call_to_action: the button, or ``None``.
        sender_name: the sender's name shown.
        reply_to: the reply-to address, or ``None``.
        actor: who sent it (``describe()`` of the acting admin).
        sent_at: aware UTC time it was queued.
        recipients: learners it was queued to.
        opted_out: learners skipped because they opted out of admin messages.
        removed: learners skipped because they were removed (DELETED_MEMBER).
        program_ids: the programs of its recipients.
    """

    id: str
    organization_id: str
    idempotency_key: str
    audience: Audience
    filters: AudienceFilter
    subject: str
    content: str
    sender_name: str
    actor: str
    sent_at: datetime = field(converter=to_utc)
    call_to_action: CallToAction | None = None
    reply_to: str | None = None
    recipients: int = 0
    opted_out: int = 0
    removed: int = 0
    program_ids: tuple[str, ...] = field(default=(), converter=str_tuple)

    @classmethod
    def create(
        cls,
        organization_id: str,
        *,
        idempotency_key: str | None,
        audience: Audience,
        filters: AudienceFilter,
        details: MessageDetails,
        sender_name: str,
        actor: str,
        now: datetime,
    ) -> SentMessage:
        """Make the record of a message about to be queued (counts filled in by the service)."""
        key = new_id() if idempotency_key is None else checked_idempotency_key(idempotency_key)
        return cls(
            id=new_id(),
            organization_id=organization_id,
            idempotency_key=key,
            audience=audience,
            filters=filters,
            subject=details.subject,
            content=details.content,
            sender_name=sender_name,
            actor=actor,
            sent_at=utc(now, field="now"),
            call_to_action=details.call_to_action,
            reply_to=details.reply_to,
        )


def checked_idempotency_key(value: object) -> str:
    """Return a caller's idempotency key for a message, as given.

    The key is stored in a key column and looked up before anything is sent, so it follows the
    record ID rule (:func:`~learnprog.model._rules.record_id`), checked before any query: the
    same on every backend.

    Args:
        value: the key: text of 1-64 characters on one line.

    Raises:
        ValidationError: not text, empty or blank, longer than 64 characters, or holding
            control characters, line breaks or lone surrogates (field ``idempotency_key``).
    """
    return record_id(value, field="idempotency_key", max_length=KEY_LENGTH)


def audience_of(value: object) -> Audience:
    """Return the :class:`Audience` named by ``value``.

    Raises:
        ValidationError: an unknown audience (the allowed ones listed).
    """
    try:
        return Audience(str(value))
    except ValueError as exc:
        allowed = ", ".join(a.value for a in Audience)
        raise ValidationError(
            f"one of {allowed} is required", field="audience", value=value
        ) from exc
