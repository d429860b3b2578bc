"""InvitationService: invitations, acceptance, the membership lifecycle and license accounting.

Sources: guide, "Invitations", "Inviting Learners" (one at a time: learner details, program,
contract, send or only create; the contract picker), "Members", "Settings" (Remove Program) and
the glossary ("License": a membership, occupied once an invitee joins; "Invitee"; "Member").

Member states and license effects (the table in ``docs/invitations.md``; one test a row in
``tests/services/test_invitations.py``):

- invite: INVITED, no license; the Invitation email unless created without email;
- accept: INVITED -> MEMBER, a license taken (none left: LicenseLimitError, nothing changes);
  the Learning Program Welcome email;
- revoke an invitation: INVITED -> DELETED_MEMBER (never joined), no email;
- remove a member: MEMBER -> DELETED_MEMBER, license freed, the Program Exit email;
- re-invite a removed learner: the same membership DELETED_MEMBER -> INVITED with a new
  invitation date (earlier dates stay in the audit log), no license until accepted again;
- remove the program: every membership DELETED_MEMBER, members notified, licenses freed;
- resend invitations: INVITED stays INVITED; skipped within 24 hours of the last one.

Enrollments contracts draw one enrollment per course enrollment (the learning service); unlimited
contracts draw nothing. A contract past its end (or not yet started) takes no new invitations and
no acceptances.
"""

from __future__ import annotations

import enum
import os
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import ExitStack
from datetime import datetime, timedelta
from typing import BinaryIO

from attrs import evolve, frozen

from learnprog.csvfiles import CsvRow, CsvSource, read_csv
from learnprog.errors import (
    ConcurrencyError,
    ConflictError,
    InvalidTokenError,
    LicenseLimitError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from learnprog.mail.rendering import INVITATION, PROGRAM_EXIT, PROGRAM_WELCOME
from learnprog.model._rules import record_id, whole_number
from learnprog.model.access import (
    Actor,
    LearnerActor,
    ProgramAdminActor,
    check_actor,
    require_org_admin,
    require_program_admin,
    require_self,
    require_system,
)
from learnprog.model.audit import AuditEntry
from learnprog.model.identity import EmailAddress, ProgramSlug, email_key, new_id
from learnprog.model.learner import Learner, LearnerProfile, Membership, MemberState
from learnprog.model.mail import OutboxStatus, OutgoingMessage
from learnprog.model.organization import Contract, ContractKind, Organization, Program
from learnprog.services._base import (
    Service,
    ServiceContext,
    retry_if_stale,
    retry_if_stored_meanwhile,
)
from learnprog.services.history import (
    ImportedRecord,
    ImportOutcome,
    ImportResult,
    MemberRecord,
    check_progress,
    run_chunks,
)
from learnprog.services.mail import INVITATION_LINK_LIFETIME, MailComposer, QueueResult
from learnprog.services.profiles import (
    AMBIGUOUS,
    KEY_COLUMNS,
    NOT_FOUND,
    PROFILE_COLUMNS,
    UNCHANGED,
    UPDATED,
    ProfileRowResult,
    apply_changes,
    changed_names,
    row_changes,
    row_key,
)
from learnprog.services.profiles import REJECTED as REJECTED_PROFILE
from learnprog.services.roster import (
    COLUMNS,
    BulkInvitation,
    csv_template,
    rejection_target,
)
from learnprog.storage.ports import UnitOfWork
from learnprog.tokens import TokenPurpose

RESEND_INTERVAL = timedelta(hours=24)


class InvitationOutcome(enum.StrEnum):
    """What an invitation did."""

    CREATED = "created"
    """A new invitation (and, when needed, a new learner account)."""
    ALREADY_INVITED = "already_invited"
    """The learner was invited already: nothing changed, no second email."""
    ALREADY_MEMBER = "already_member"
    """The learner is a member already: nothing changed."""
    REINVITED = "reinvited"
    """A removed learner's membership returned to INVITED with a new invitation date."""


@frozen
class ContractOption:
    """One row of the contract picker (guide, "Choose contract").

    Attributes:
        contract: the contract (name, kind, start, end).
        remaining: licenses or enrollments left, or None for unlimited.
        active: whether it takes new invitations now (between its start and end).
    """

    contract: Contract
    remaining: int | None
    active: bool


@frozen
class InvitationResult:
    """What :meth:`InvitationService.invite` did, or would do.

    Attributes:
        outcome: created, already invited, already a member, or re-invited.
        learner: the learner account (new or existing).
        membership: the membership after the invitation.
        program: the program.
        contract: the contract the learner would draw on.
        email_queued: whether an invitation email went (or would go) to the outbox.
        skipped_reason: why no email went when one was asked for, or None.
    """

    outcome: InvitationOutcome
    learner: Learner
    membership: Membership
    program: Program
    contract: Contract
    email_queued: bool
    skipped_reason: str | None = None


@frozen
class InvitationLink:
    """Whom an invitation link was sent to: :meth:`InvitationService.link_holder`.

    Attributes:
        learner: the invited learner.
        membership: their membership of the program (INVITED until accepted).
        program: the program they are invited to.
    """

    learner: Learner
    membership: Membership
    program: Program


@frozen
class ResendReport:
    """What :meth:`InvitationService.resend_invitations` did.

    Attributes:
        sent: memberships whose invitation went to the outbox again.
        skipped_recent: memberships skipped because an invitation went out less than 24 hours
            ago.
    """

    sent: tuple[Membership, ...]
    skipped_recent: tuple[Membership, ...]


@frozen
class ErasureReport:
    """What :meth:`InvitationService.erase_learner` changed.

    Attributes:
        learner: the learner as stored now (pseudonymized).
        outbox_entries: outbox entries pseudonymized (pending ones never sent).
        delivery_records: delivery attempts whose recipient became the pseudonym.
        audit_entries: audit entries about the learner whose field values were removed.
    """

    learner: Learner
    outbox_entries: int
    delivery_records: int
    audit_entries: int


@frozen
class ProgramRemoval:
    """What :meth:`InvitationService.remove_program` did.

    Attributes:
        program: the removed program (``removed_at`` set).
        removed_members: memberships that were MEMBER (each notified, license freed).
        revoked_invitations: memberships that were INVITED.
    """

    program: Program
    removed_members: int
    revoked_invitations: int


class InvitationService(Service):
    """Invitations, acceptance, removal and licenses."""

    def __init__(self, context: ServiceContext) -> None:
        super().__init__(context)
        self._mail = MailComposer(context)

    # --- reading ----------------------------------------------------------------------------

    def contract_options(self, actor: Actor, program_id: str) -> Sequence[ContractOption]:
        """Return the contracts an admin may invite a program's learners from.

        Raises:
            NotFoundError: no such program.
            PermissionDeniedError: not an admin of the program.
        """
        with self._uow() as uow:
            program = self._program(uow, actor, program_id, "invite learners")
            now = self._now()
            return [
                ContractOption(c, c.remaining, c.is_active(now))
                for c in uow.contracts.list_for_organization(program.organization_id)
            ]

    def members(
        self, actor: Actor, program_id: str, *, state: MemberState | str | None = None
    ) -> Sequence[tuple[Learner, Membership]]:
        """Return the program's memberships with their learners, by invitation time.

        Args:
            actor: an admin of the program.
            program_id: the program.
            state: only memberships in this state (INVITED, MEMBER, DELETED_MEMBER).

        Raises:
            PermissionDeniedError: not an admin of the program.
            ValidationError: an unknown state.
        """
        wanted = None if state is None else _state(state)
        with self._uow() as uow:
            program = self._program(uow, actor, program_id, "see the program's members")
            return [
                (uow.learners.get(m.learner_id), m)
                for m in uow.memberships.list_for_program(program.id)
                if wanted is None or m.state is wanted
            ]

    # --- inviting ---------------------------------------------------------------------------

    def preview_invitation(
        self,
        actor: Actor,
        program_id: str,
        contract_id: str,
        *,
        full_name: str,
        email: str,
        external_id: str | None = None,
        send_email: bool = True,
    ) -> InvitationResult:
        """Return what :meth:`invite` would do, changing nothing.

        Guide: "Review the invitation preview for errors": learner details, program, contract,
        and whether an email goes out.

        Raises:
            PermissionDeniedError, NotFoundError, ValidationError: as :meth:`invite`, without
                storing anything.
        """
        return self._invite(
            actor,
            program_id,
            contract_id,
            full_name=full_name,
            email=email,
            external_id=external_id,
            send_email=send_email,
            commit=False,
        )

    @retry_if_stored_meanwhile  # a concurrent invitation of the address committed first
    def invite(
        self,
        actor: Actor,
        program_id: str,
        contract_id: str,
        *,
        full_name: str,
        email: str,
        external_id: str | None = None,
        send_email: bool = True,
    ) -> InvitationResult:
        """Invite one learner to a program, drawing on a contract.

        An existing account with the same email (any case, spaces trimmed) is reused, never
        duplicated. An invitation takes no license; acceptance does.

        Args:
            actor: an admin of the program.
            program_id: the program.
            contract_id: the contract of the program's organization to draw on.
            full_name: the learner's name (used for a new account).
            email: the learner's address.
            external_id: the organization's ID for the person (kept as written).
            send_email: queue the Invitation email ("Send invitation"), or only create the
                invitation ("Create invitation").

        Returns:
            The outcome: created, already invited or a member (nothing changes, no second
            email), or re-invited (a removed learner).

        Raises:
            PermissionDeniedError: not an admin of the program.
            NotFoundError: no such program or contract (a contract of another organization is
                not found either).
            ValidationError: a bad name, email or external ID; a contract that is not running;
                a removed program; an address outside the organization's domains when the
                organization restricts invitations to them.
            ConcurrencyError: concurrent writes got in the way three times in a row (nothing
                stored; call again). An invitation of the same address made at the same moment
                is no error: it is found, and the answer is ``already_invited``.
        """
        return self._invite(
            actor,
            program_id,
            contract_id,
            full_name=full_name,
            email=email,
            external_id=external_id,
            send_email=send_email,
            commit=True,
        )

    def _invite(
        self,
        actor: Actor,
        program_id: str,
        contract_id: str,
        *,
        full_name: str,
        email: str,
        external_id: str | None,
        send_email: bool,
        commit: bool,
    ) -> InvitationResult:
        if not isinstance(send_email, bool):
            raise ValidationError("send_email is true or false", field="send_email")
        address = EmailAddress.parse(email)
        now = self._now()
        with self._uow() as uow:
            program = self._program(uow, actor, program_id, "invite learners")
            org = uow.organizations.get(program.organization_id)
            contract = self._contract(uow, org, contract_id)
            if program.is_removed:
                raise ValidationError("the program has been removed", field="program_id")
            contract.check_active(now)
            if org.restrict_invitations_to_domains and not org.owns_domain(address.domain):
                raise ValidationError(
                    f"invitations are restricted to the organization's domains "
                    f"({', '.join(org.email_domains)})",
                    field="email",
                    value=email,
                )
            learner = uow.learners.find_by_email(org.id, address.key)
            new_learner = learner is None
            if learner is None:
                learner = Learner.create(
                    org.id, full_name, address, now=now, external_id=external_id
                )
            membership = uow.memberships.find(program.id, learner.id)
            if membership is not None and membership.state is MemberState.MEMBER:
                return InvitationResult(
                    InvitationOutcome.ALREADY_MEMBER, learner, membership, program, contract, False
                )
            if membership is not None and membership.state is MemberState.INVITED:
                return InvitationResult(
                    InvitationOutcome.ALREADY_INVITED, learner, membership, program, contract, False
                )
            if membership is None:
                outcome = InvitationOutcome.CREATED
                before = None
                membership = Membership.invite(org.id, program.id, learner.id, contract.id, now=now)
            else:
                outcome = InvitationOutcome.REINVITED
                before = membership
                membership = membership.reinvite(now, contract.id)
            queued: QueueResult | None = None
            if send_email:
                message = self._invitation_message(org, program, learner, membership)
                membership = membership.invitation_sent(now)
            if not commit:
                return InvitationResult(outcome, learner, membership, program, contract, send_email)
            if new_learner:
                uow.learners.add(learner)
                self._audit_created(uow, actor, "learner.register", learner, organization_id=org.id)
            if before is None:
                uow.memberships.add(membership)
                self._audit(
                    uow,
                    actor,
                    action=f"invitation.{outcome.value}",
                    organization_id=org.id,
                    object_type="membership",
                    object_id=membership.id,
                    before=None,
                    after=membership,
                    program_id=program.id,
                )
            else:
                self._save_membership(uow, actor, f"invitation.{outcome.value}", before, membership)
            if send_email:
                queued = self._mail.queue(uow, message)
            uow.commit()
        return InvitationResult(
            outcome,
            learner,
            membership,
            program,
            contract,
            queued is not None and queued.queued,
            None if queued is None else queued.skipped_reason,
        )

    def _invitation_message(
        self, org: Organization, program: Program, learner: Learner, membership: Membership
    ) -> OutgoingMessage:
        return self._mail.system_message(
            INVITATION,
            organization=org,
            program=program,
            learner=learner,
            extra={"accept_url": self._mail.accept_url(program, membership.id)},
            membership_id=membership.id,
        )

    def csv_template(self, actor: Actor) -> str:
        """Return the bulk invitation CSV template (guide: "download the .csv template").

        Headers ``Full Name``, ``Email``, ``External ID``, all three required (External ID
        values may be empty), and one example line. Anyone may ask for it.

        Returns:
            The CSV text, with CRLF line ends (RFC 4180).

        Raises:
            ValidationError: ``actor`` is not an actor.
        """
        check_actor(actor)
        return csv_template()

    def bulk_invite(
        self,
        actor: Actor,
        program_id: str,
        contract_id: str,
        source: CsvSource,
        *,
        encoding: str | None = None,
        send_email: bool = True,
        dry_run: bool = False,
        rejections_to: str | os.PathLike[str] | BinaryIO | None = None,
        progress: Callable[[int], None] | None = None,
        chunk_size: int = 500,
    ) -> BulkInvitation:
        """Invite everyone in a CSV file made from the template (guide, "Send bulk invitations").

        The checks that concern the whole run happen now: the actor, the program, the
        contract (running, of the organization), the file (openable, decodable) and its
        headers. The lines are processed as the returned run is iterated; see
        :mod:`learnprog.services.roster` for the outcomes. Each chunk checks again that the
        program is not removed and the contract is running at that chunk's time (as
        :meth:`invite` does); when not, its lines are rejected with the reason. Importing the
        same file twice changes nothing the second time and sends no second email.

        A dry run holds one unit of work from its first result until its iterator is
        exhausted or the run is closed (``close()``, or leaving its ``with`` block; a dropped
        iterator is released when garbage-collected): consume or close it. Meanwhile, on
        memory and SQLite storage, no other learnprog call can be made from this thread
        (inside the loop, or from ``progress``, it raises ``StorageError``) and other threads
        wait; see ``docs/invitations.md``.

        Args:
            actor: an admin of the program.
            program_id: the program.
            contract_id: the contract to draw on.
            source: a path, the file's bytes, or a binary file object.
            encoding: the file's encoding, when known; default decided from the bytes.
            send_email: queue the Invitation email for each new or re-invited learner.
            dry_run: report what would happen and change nothing (consume or close the
                run: see above).
            rejections_to: where to write the rejected lines as CSV (a path or a binary file),
                with their line numbers and reasons.
            progress: called with the number of lines done after each chunk (outside the
                chunk's unit of work in a real run).
            chunk_size: lines per unit of work (1-1000); the outcomes do not depend on it.

        Returns:
            A :class:`BulkInvitation`: iterate it (or call ``run()``) for each line's result;
            ``totals`` counts them.

        Raises:
            PermissionDeniedError: not an admin of the program.
            NotFoundError: no such program or contract.
            ValidationError: a removed program; a contract not running; a file that cannot be
                opened or decoded, or lacks headers (one error naming every missing column);
                ``rejections_to`` naming the roster itself (by any path), the SQLite database
                in use, one of its journals or the secret file beside it
                (:func:`learnprog.outputs.refuse_data_file`), or a file that cannot be written.
        """
        whole_number(chunk_size, field="chunk_size", minimum=1, maximum=1000, allow_none=False)
        for name, value in (("send_email", send_email), ("dry_run", dry_run)):
            if not isinstance(value, bool):
                raise ValidationError("true or false is required", field=name)
        now = self._now()
        with self._uow() as uow:
            program = self._program(uow, actor, program_id, "invite learners")
            org = uow.organizations.get(program.organization_id)
            contract = self._contract(uow, org, contract_id)
        if program.is_removed:
            raise ValidationError("the program has been removed", field="program_id")
        contract.check_active(now)
        stack = ExitStack()
        try:
            rows = stack.enter_context(read_csv(source, COLUMNS, encoding=encoding))
            rejections = rejection_target(
                rejections_to, stack, source=source, data_files=self._context.data_files
            )
        except BaseException:
            stack.close()
            raise
        return BulkInvitation(
            stack=stack,
            rows=rows,
            run_id=new_id()[:12],
            actor=actor,
            organization=org,
            program=program,
            contract=contract,
            uow_factory=self._context.uow_factory,
            now=self._now,
            merge=self._mail.invitation_merge(org, program) if send_email else None,
            dry_run=dry_run,
            chunk_size=chunk_size,
            progress=progress,
            rejections=rejections,
        )

    @retry_if_stale
    def resend_invitations(
        self, actor: Actor, program_id: str, *, learner_ids: Sequence[str] | None = None
    ) -> ResendReport:
        """Send the invitation again to invited people who have not joined.

        The guide's quick action "resend invites". Somebody whose invitation went out less
        than 24 hours ago is skipped and reported, so nobody gets two in a day.

        Args:
            actor: an admin of the program.
            program_id: the program.
            learner_ids: only these learners; default every INVITED membership.

        Raises:
            PermissionDeniedError: not an admin of the program.
            ValidationError: the program was removed.
        """
        now = self._now()
        sent: list[Membership] = []
        skipped: list[Membership] = []
        with self._uow() as uow:
            program = self._program(uow, actor, program_id, "resend invitations")
            if program.is_removed:
                raise ValidationError("the program has been removed", field="program_id")
            org = uow.organizations.get(program.organization_id)
            wanted = None if learner_ids is None else set(learner_ids)
            for membership in uow.memberships.list_for_program(program.id):
                if membership.state is not MemberState.INVITED:
                    continue
                if wanted is not None and membership.learner_id not in wanted:
                    continue
                if not membership.may_resend_invitation(now, min_interval=RESEND_INTERVAL):
                    skipped.append(membership)
                    continue
                learner = uow.learners.get(membership.learner_id)
                message = self._invitation_message(org, program, learner, membership)
                after = membership.invitation_sent(now)
                self._save_membership(uow, actor, "invitation.resend", membership, after)
                self._mail.queue(uow, message)
                sent.append(after)
            uow.commit()
        return ResendReport(tuple(sent), tuple(skipped))

    # --- acceptance -------------------------------------------------------------------------

    def accept(self, actor: Actor, token: str) -> Membership:
        """Accept an invitation with the signed token of its link (the learner, for themself).

        The learner becomes a MEMBER with a join date and, on a licenses contract, occupies a
        license; the Learning Program Welcome email is queued.

        Raises:
            InvalidTokenError: a forged, altered or expired link (links last 90 days).
            PermissionDeniedError: the link is another learner's.
            LicenseLimitError: the contract has no license left (nothing changes).
            ValidationError: the contract is not running, or the program was removed.
            InvitationRevokedError: the invitation was revoked (DELETED_MEMBER), a
                :class:`~learnprog.errors.ConflictError`.
        """
        check_actor(actor)
        return self._accept(actor, membership_id=self._linked_membership_id(token))

    def link_holder(self, actor: Actor, token: str) -> InvitationLink:
        """Return whom the invitation link with this token was sent to; change nothing.

        For a host where holding the link is the sign-in (the command line's ``learnprog
        accept``): it resolves that learner (``OrganizationService.resolve_actor``) and
        passes their :class:`LearnerActor` to :meth:`accept`, which checks the token again.

        Raises:
            PermissionDeniedError: the caller is not the system actor.
            InvalidTokenError: a forged, altered or expired link, or an invitation that no
                longer exists.
        """
        require_system(actor, "read whom an invitation link is for")
        membership_id = self._linked_membership_id(token)
        with self._uow() as uow:
            membership = _invited_membership(uow, membership_id)
            return InvitationLink(
                uow.learners.get(membership.learner_id),
                membership,
                uow.programs.get(membership.program_id),
            )

    def accept_by_sign_in(self, actor: Actor, program_slug: str) -> Membership:
        """Accept by signing in through the program URL with the invited email.

        The host app signs the person in (any case of their address finds the same account,
        see ``OrganizationService.resolve_actor``) and calls this with the program's slug.

        Raises:
            NotFoundError: no program with that slug, or no invitation for this learner in it.
            PermissionDeniedError: not a learner acting for themself.
            LicenseLimitError, ValidationError, ConflictError: as :meth:`accept`.
        """
        check_actor(actor)
        if not isinstance(actor, LearnerActor):
            raise PermissionDeniedError(f"{actor.describe()} may not accept an invitation")
        with self._uow() as uow:
            program = _learners_program(uow, actor, program_slug)
            membership = uow.memberships.find(program.id, actor.learner_id)
            if membership is None:
                raise NotFoundError("invitation", program_slug)
        return self._accept(actor, membership_id=membership.id)

    def own_membership(self, actor: Actor, program_slug: str) -> Membership | None:
        """Return the learner's own membership of the program at ``program_slug``, or None.

        What a program page shows the signed-in learner: INVITED (they may join with
        :meth:`accept_by_sign_in`), MEMBER, or DELETED_MEMBER (revoked or removed); ``None``
        when they were never invited.

        Raises:
            PermissionDeniedError: not a learner acting for themself.
            NotFoundError: no program with that slug in the learner's organization.
        """
        check_actor(actor)
        if not isinstance(actor, LearnerActor):
            raise PermissionDeniedError(f"{actor.describe()} has no membership of its own")
        with self._uow() as uow:
            program = _learners_program(uow, actor, program_slug)
            return uow.memberships.find(program.id, actor.learner_id)

    def _linked_membership_id(self, token: object) -> str:
        """The membership an acceptance link's token names, once its signature and age check.

        Raises:
            InvalidTokenError: not a string, or a forged, altered or expired link.
        """
        if not isinstance(token, str):
            raise InvalidTokenError("the link is not valid", field="token")
        payload = self._context.signer.verify(
            TokenPurpose.ACCEPT_INVITATION, token, max_age=INVITATION_LINK_LIFETIME
        )
        return str(payload.get("m"))

    @retry_if_stale
    def _accept(self, actor: Actor, *, membership_id: str) -> Membership:
        now = self._now()
        with self._uow() as uow:
            membership = _invited_membership(uow, membership_id)
            require_self(
                actor,
                membership.organization_id,
                membership.learner_id,
                "accept another learner's invitation",
            )
            if membership.state is MemberState.MEMBER:
                return membership  # accepting twice changes nothing
            program = uow.programs.get(membership.program_id)
            if program.is_removed:
                raise ValidationError("the program has been removed", field="program_id")
            contract = uow.contracts.get(membership.contract_id)
            contract.check_active(now)
            after = membership.accept(now)
            if contract.kind is ContractKind.LICENSES and not uow.contracts.take(contract.id):
                raise LicenseLimitError(
                    f"contract {contract.name!r} has no license left ({contract.quantity} in use)",
                    kind="contract",
                    key=contract.id,
                )
            self._save_membership(uow, actor, "invitation.accept", membership, after)
            org = uow.organizations.get(program.organization_id)
            learner = uow.learners.get(after.learner_id)
            self._mail.queue(
                uow,
                self._mail.system_message(
                    PROGRAM_WELCOME, organization=org, program=program, learner=learner
                ),
            )
            uow.commit()
        return after

    # --- history ----------------------------------------------------------------------------

    def import_members(
        self,
        actor: Actor,
        program_id: str,
        contract_id: str,
        records: Iterable[MemberRecord],
        *,
        on_progress: Callable[[int], None] | None = None,
    ) -> ImportResult:
        """Import memberships from history (an admin export, a dataset), with their own times.

        Each record's learner is found by email (any case) or made; a membership in the program
        is made with the record's invitation, join and removal times, and no email is sent. A
        record may name its own contract (``MemberRecord.contract_id``, one of the
        organization's), else it draws on ``contract_id``. A record whose learner already has a
        membership in the program is reported EXISTING and
        changes nothing, so importing twice changes nothing. A MEMBER on a licenses contract
        takes a license (a conditional update in storage, one per contract and chunk for all
        the licenses the chunk needs, granted in input order); when none is left the record is
        rejected. The contract's dates are not checked: history is what happened. Records are
        stored :data:`~learnprog.services.history.IMPORT_CHUNK` at a time, each chunk all or
        nothing.

        Args:
            actor: an organization admin, or the system actor (importers).
            program_id: the program.
            contract_id: the contract the memberships draw on.
            records: the memberships, read lazily.
            on_progress: called with the number of records handled after each chunk.

        Returns:
            One result per record, in order, with the learner's ID (``record_id``).

        Raises:
            PermissionDeniedError: not an organization admin or the system.
            NotFoundError: no such program or contract.
            ConcurrencyError: the database rolled a chunk back three times in a row (the
                chunks before it are stored; importing again finds them). The same records
                imported at the same moment by another call are no error: they are EXISTING.
        """
        with self._uow() as uow:
            program = uow.programs.get(record_id(program_id, field="program_id"))
            org = uow.organizations.get(program.organization_id)
            grants = self._grants(uow, actor, org.id)
            require_org_admin(actor, org.id, grants, "import memberships", allow_system=True)
            if program.is_removed:
                raise ValidationError("the program has been removed", field="program_id")
            contract = self._contract(uow, org, contract_id)
            check_progress(on_progress)

        def decide(chunk: list[MemberRecord], start: int) -> list[ImportedRecord]:
            with self._uow() as uow:
                results = self._import_members(uow, actor, program, contract, chunk, start)
                uow.commit()
            return results

        return run_chunks(records, decide, on_progress=on_progress)

    def _import_members(
        self,
        uow: UnitOfWork,
        actor: Actor,
        program: Program,
        contract: Contract,
        chunk: list[MemberRecord],
        start: int,
    ) -> list[ImportedRecord]:
        results: list[ImportedRecord] = []
        checked: list[tuple[int, MemberRecord, Learner]] = []
        for offset, record in enumerate(chunk):
            try:
                if not isinstance(record, MemberRecord):
                    raise ValidationError("a MemberRecord is required", field="record")
                if not isinstance(record.profile, Mapping) or not isinstance(
                    record.attributes, Mapping
                ):
                    raise ValidationError(
                        "profile and attributes are mappings of field names to text",
                        field="profile"
                        if not isinstance(record.profile, Mapping)
                        else "attributes",
                    )
                made = Learner.create(
                    program.organization_id,
                    record.full_name,
                    record.email,
                    now=record.invited_at,
                    external_id=record.external_id,
                    profile=LearnerProfile.from_fields(record.profile),
                    attributes=record.attributes,
                )
                _check_history(record, self._now())
            except ValidationError as exc:
                results.append(ImportedRecord(start + offset, REJECTED_IMPORT, reason=str(exc)))
                continue
            checked.append((start + offset, record, made))
        own = {r.contract_id for _, r, _ in checked if r.contract_id not in (None, contract.id)}
        contracts = {contract.id: contract}
        if own:  # records naming their own contract: the organization's contracts, read once
            contracts.update(
                (c.id, c) for c in uow.contracts.list_for_organization(program.organization_id)
            )
        kept: list[tuple[int, MemberRecord, Learner]] = []
        for index, record, made in checked:
            if record.contract_id is not None and record.contract_id not in contracts:
                reason = f"field 'contract_id': contract {record.contract_id!r} is not the "
                reason += "organization's"
                results.append(ImportedRecord(index, REJECTED_IMPORT, reason=reason))
            else:
                kept.append((index, record, made))
        checked = kept
        keys = [made.email.key for _, _, made in checked]
        stored = dict(uow.learners.find_by_emails(program.organization_id, keys))
        members = dict(
            uow.memberships.find_for_learners(program.id, [v.id for v in stored.values()])
        )

        def plan(
            index: int, record: MemberRecord, fresh: Learner
        ) -> tuple[int, Learner, Membership, Contract, bool] | None:
            learner = stored.get(fresh.email.key)
            if learner is not None and learner.id in members:
                results.append(ImportedRecord(index, ImportOutcome.EXISTING, learner.id))
                return None
            drawn = contracts[record.contract_id or contract.id]
            membership = Membership.invite(
                program.organization_id,
                program.id,
                (learner or fresh).id,
                drawn.id,
                now=record.invited_at,
            )
            if record.joined_at is not None:
                membership = membership.accept(record.joined_at)
            if record.removed_at is not None:
                membership = membership.remove(record.removed_at)
            return index, learner or fresh, membership, drawn, learner is None

        def licensed(membership: Membership, drawn: Contract) -> bool:
            return membership.holds_license and drawn.kind is ContractKind.LICENSES

        learners: list[Learner] = []
        memberships: list[Membership] = []
        audited: list[tuple[str, Learner | Membership]] = []

        def keep(learner: Learner, membership: Membership, new_learner: bool) -> None:
            stored[learner.email.key] = learner
            members[learner.id] = membership
            if new_learner:
                learners.append(learner)
                audited.append(("learner.import", learner))
            memberships.append(membership)
            audited.append(("membership.import", membership))

        def no_license(index: int, drawn: Contract) -> None:
            reason = f"contract {drawn.name!r} has no license left"
            results.append(ImportedRecord(index, REJECTED_IMPORT, reason=reason))

        # every record is planned first, then the licenses the chunk needs are taken at once
        # (per contract), granted in input order as one take per record would grant them
        planned: list[tuple[int, Learner, Membership, Contract, bool]] = []
        again: list[tuple[int, MemberRecord, Learner]] = []  # an email seen before in the chunk
        seen: set[str] = set()
        for index, record, fresh in checked:
            if fresh.email.key in seen:
                again.append((index, record, fresh))
            elif (found := plan(index, record, fresh)) is not None:
                seen.add(fresh.email.key)
                planned.append(found)
        wanted = Counter(d.id for _, _, m, d, _ in planned if licensed(m, d))
        granted = {cid: _take_up_to(uow, cid, n) for cid, n in wanted.items()}
        for index, learner, membership, drawn, new_learner in planned:
            if licensed(membership, drawn):
                if granted[drawn.id] == 0:
                    no_license(index, drawn)
                    continue
                granted[drawn.id] -= 1
            keep(learner, membership, new_learner)
            results.append(ImportedRecord(index, ImportOutcome.CREATED, learner.id))
        for index, record, fresh in again:  # decided after the first: EXISTING when it was kept
            if (found := plan(index, record, fresh)) is None:
                continue
            _, learner, membership, drawn, new_learner = found
            if licensed(membership, drawn) and not _take_up_to(uow, drawn.id, 1):
                no_license(index, drawn)
                continue
            keep(learner, membership, new_learner)
            results.append(ImportedRecord(index, ImportOutcome.CREATED, learner.id))
        # one multi-row insert each per chunk; a key taken meanwhile refuses the whole chunk
        # (ConflictError), which run_chunks decides again
        uow.learners.add_many(learners)
        uow.memberships.add_many(memberships)
        for action, created in audited:
            self._audit_created(
                uow,
                actor,
                action,
                created,
                organization_id=program.organization_id,
                program_id=program.id if isinstance(created, Membership) else None,
            )
        return sorted(results, key=lambda r: r.index)

    # --- removal ----------------------------------------------------------------------------

    @retry_if_stale
    def revoke(self, actor: Actor, membership_id: str) -> Membership:
        """Revoke an invitation that was not accepted: DELETED_MEMBER, never joined.

        Raises:
            PermissionDeniedError: not an admin of the program.
            ConflictError: the learner already joined (remove the member instead) or the
                invitation was revoked already.
        """
        now = self._now()
        with self._uow() as uow:
            before = self._membership(uow, actor, membership_id, "revoke invitations")
            if before.state is not MemberState.INVITED:
                raise ConflictError(
                    f"the membership is {before.state.value}, not INVITED",
                    kind="membership",
                    key=before.id,
                )
            after = before.remove(now)
            self._save_membership(uow, actor, "invitation.revoke", before, after)
            uow.commit()
        return after

    @retry_if_stale
    def remove_member(self, actor: Actor, membership_id: str) -> Membership:
        """Remove a member from the program: DELETED_MEMBER, license freed, Program Exit email.

        The learner's data is kept; re-inviting brings the same membership back.

        Raises:
            PermissionDeniedError: not an admin of the program.
            ConflictError: not a MEMBER (revoke an invitation instead).
        """
        now = self._now()
        with self._uow() as uow:
            before = self._membership(uow, actor, membership_id, "remove members")
            if before.state is not MemberState.MEMBER:
                raise ConflictError(
                    f"the membership is {before.state.value}, not MEMBER",
                    kind="membership",
                    key=before.id,
                )
            after = self._remove(uow, actor, before, now)
            uow.commit()
        return after

    def _remove(
        self, uow: UnitOfWork, actor: Actor, before: Membership, now: datetime
    ) -> Membership:
        after = before.remove(now)
        contract = uow.contracts.get(before.contract_id)
        if before.holds_license and contract.kind is ContractKind.LICENSES:
            uow.contracts.release(contract.id)
        self._save_membership(uow, actor, "member.remove", before, after)
        if before.state is MemberState.MEMBER:
            program = uow.programs.get(after.program_id)
            org = uow.organizations.get(after.organization_id)
            learner = uow.learners.get(after.learner_id)
            self._mail.queue(
                uow,
                self._mail.system_message(
                    PROGRAM_EXIT, organization=org, program=program, learner=learner
                ),
            )
        return after

    @retry_if_stale
    def remove_program(self, actor: Actor, program_id: str, *, confirm: str) -> ProgramRemoval:
        """Remove a program. It cannot be undone.

        Every membership becomes DELETED_MEMBER; members are notified with the Program Exit
        email (their access is downgraded to audit only) and their licenses freed; data is
        kept (guide, "Settings": "Once you remove your program this action can't be undone").

        Args:
            actor: an admin of the program.
            program_id: the program.
            confirm: the program's URL slug, typed again: the explicit confirmation.

        Raises:
            PermissionDeniedError: not an admin of the program.
            ValidationError: ``confirm`` is not the program's slug.
            ConflictError: the program was removed already.
        """
        now = self._now()
        with self._uow() as uow:
            program = self._program(uow, actor, program_id, "remove the program")
            if confirm != program.slug.value:
                raise ValidationError(
                    f"to remove the program, confirm with its URL slug {program.slug.value!r}",
                    field="confirm",
                )
            if program.is_removed:
                raise ConflictError(
                    "the program was removed already", kind="program", key=program.id
                )
            members = invited = 0
            for membership in uow.memberships.list_for_program(program.id):
                if membership.state is MemberState.DELETED_MEMBER:
                    continue
                if membership.state is MemberState.MEMBER:
                    members += 1
                else:
                    invited += 1
                self._remove(uow, actor, membership, now)
            removed = evolve(program, removed_at=now)
            uow.programs.update(removed)
            self._audit_change(
                uow,
                actor,
                "program.remove",
                program,
                removed,
                object_type="program",
                program_id=program.id,
            )
            uow.commit()
        return ProgramRemoval(removed, members, invited)

    # --- learner profiles -------------------------------------------------------------------

    def get_learner(self, actor: Actor, learner_id: str) -> Learner:
        """Return a learner account with its profile and attributes.

        Raises:
            NotFoundError: no such learner.
            PermissionDeniedError: not an organization admin, nor an admin of a program the
                learner is in (or was invited to).
        """
        with self._uow() as uow:
            return self._learner(uow, actor, learner_id, "read learner profiles")

    def update_learner(
        self,
        actor: Actor,
        learner_id: str,
        *,
        profile: Mapping[str, str | None] | None = None,
        attributes: Mapping[str, str | None] | None = None,
    ) -> Learner:
        """Edit one learner's profile fields and free-form attributes.

        Args:
            actor: an organization admin, or an admin of a program the learner is in.
            learner_id: the learner.
            profile: field name (``job_title``, ``manager_email``, ...) -> value; ``None``
                clears the field. Fields not named stay as they are.
            attributes: attribute name -> value; ``None`` or ``""`` removes the attribute.

        Returns:
            The learner as stored. The change is on the audit log, field by field.

        Raises:
            NotFoundError: no such learner.
            PermissionDeniedError: see :meth:`get_learner`.
            ValidationError: an unknown profile field, or a value that is not one line.
        """
        with self._uow() as uow:
            before = self._learner(uow, actor, learner_id, "edit learner profiles")
            after = apply_changes(before, profile=profile, attributes=attributes)
            if after != before:
                uow.learners.update(after)
                self._audit_change(
                    uow, actor, "learner.update", before, after, object_type="learner"
                )
                uow.commit()
        return after

    def bulk_update_learners(
        self,
        actor: Actor,
        organization_id: str,
        source: CsvSource,
        *,
        encoding: str | None = None,
        dry_run: bool = False,
    ) -> list[ProfileRowResult]:
        """Apply a CSV file of learner profile fields and attributes.

        Lines are matched by Email or External ID (see :mod:`learnprog.services.profiles`).

        Each line is applied in its own unit of work: a bad line is rejected alone.

        Args:
            actor: an organization admin.
            organization_id: the organization whose learners the file names.
            source: a path, the file's bytes, or a binary file object.
            encoding: the file's encoding, when known.
            dry_run: report what would change and change nothing.

        Returns:
            One result per non-blank line.

        Raises:
            PermissionDeniedError: not an organization admin.
            ValidationError: the file cannot be read, or has neither an Email nor an External
                ID column.
        """
        with self._as_org_admin(actor, organization_id, "edit learner profiles") as (_, org):
            pass
        results: list[ProfileRowResult] = []
        with read_csv(
            source,
            (),
            encoding=encoding,
            optional=(*KEY_COLUMNS, *PROFILE_COLUMNS),
            require_any=KEY_COLUMNS,
        ) as rows:
            for row in rows:
                results.append(self._profile_row(actor, org.id, row, dry_run))
        return results

    def _profile_row(
        self, actor: Actor, org_id: str, row: CsvRow, dry_run: bool
    ) -> ProfileRowResult:
        key = row_key(row)
        if key is None:
            return ProfileRowResult(
                row.line,
                REJECTED_PROFILE,
                "",
                reason="the line has neither an Email nor an External ID",
            )
        kind, value = key
        with self._uow() as uow:
            if kind == "email":
                found = uow.learners.find_by_email(org_id, value)
                matches = [] if found is None else [found]
            else:
                matches = list(uow.learners.find_by_external_id(org_id, value))
            if not matches:
                return ProfileRowResult(row.line, NOT_FOUND, value)
            if len(matches) > 1:
                return ProfileRowResult(
                    row.line,
                    AMBIGUOUS,
                    value,
                    reason=f"{len(matches)} learners have this External ID",
                )
            before = matches[0]
            profile, attributes = row_changes(row)
            try:
                after = apply_changes(before, profile=profile, attributes=attributes, line=row.line)
            except ValidationError as exc:
                return ProfileRowResult(
                    row.line,
                    REJECTED_PROFILE,
                    value,
                    before.id,
                    reason=f"{exc.field}: {exc.reason}",
                )
            changed = changed_names(before, after)
            if not changed:
                return ProfileRowResult(row.line, UNCHANGED, value, before.id)
            if not dry_run:
                uow.learners.update(after)
                self._audit_change(
                    uow, actor, "learner.update", before, after, object_type="learner"
                )
                uow.commit()
            return ProfileRowResult(row.line, UPDATED, value, before.id, changed=changed)

    def erase_learner(self, actor: Actor, learner_id: str, *, confirm: str) -> ErasureReport:
        """Erase a learner's personal data on request: a pseudonym everywhere, counts intact.

        The account keeps its record ID, memberships and learning records (so report counts
        stay right), but its name becomes ``Erased learner <id>``, its address
        ``erased-<id>@erased.invalid``, and its external ID, profile and attributes are cleared.
        Mail addressed to it in the outbox is pseudonymized the same way (subject and bodies
        too), and what had not gone out is never sent; the delivery log shows the pseudonym;
        the audit log keeps who did what to the record and when, but not the field values,
        and records that an erasure happened. It cannot be undone.

        Args:
            actor: an organization admin.
            learner_id: the learner.
            confirm: the learner's email address, typed again: the explicit confirmation.

        Returns:
            What was changed.

        Raises:
            PermissionDeniedError: not an organization admin.
            NotFoundError: no such learner.
            ValidationError: ``confirm`` is not the learner's address.
            ConflictError: the learner is an admin (remove the admin rights first).
        """
        now = self._now()
        with self._uow() as uow:
            learner = uow.learners.get(record_id(learner_id, field="learner_id"))
            require_org_admin(
                actor,
                learner.organization_id,
                self._grants(uow, actor, learner.organization_id),
                "erase learners",
            )
            if not isinstance(confirm, str) or email_key(confirm) != learner.email.key:
                raise ValidationError(
                    "to erase the learner, confirm with their email address", field="confirm"
                )
            if uow.admins.list_for_learner(learner.organization_id, learner.id):
                raise ConflictError(
                    "the learner is an admin: remove the admin rights first",
                    kind="learner",
                    key=learner.id,
                )
            pseudonym_name = f"Erased learner {learner.id[:8]}"
            pseudonym = EmailAddress.trusted(f"erased-{learner.id}@erased.invalid")
            erased = evolve(
                learner,
                full_name=pseudonym_name,
                email=pseudonym,
                external_id=None,
                profile=LearnerProfile(),
                attributes={},
            )
            uow.learners.update(erased)
            entries = uow.outbox.list_for_learner(learner.id)
            for entry in entries:
                message = evolve(
                    entry.message,
                    to=pseudonym,
                    to_name=pseudonym_name,
                    subject="[erased]",
                    text_body="[erased]",
                    html_body=None,
                    headers={},
                )
                scrubbed = evolve(entry, message=message)
                if entry.status in (OutboxStatus.PENDING, OutboxStatus.SENDING):
                    scrubbed = evolve(
                        scrubbed,
                        status=OutboxStatus.SKIPPED,
                        claim_id=None,
                        last_error="the learner was erased",
                    )
                uow.outbox.update(scrubbed)
            deliveries = uow.deliveries.replace_recipient(
                [e.id for e in entries], pseudonym.address
            )
            scrubbed_audit = uow.audit.scrub(learner.organization_id, learner.id)
            uow.audit.add(
                AuditEntry.record(
                    organization_id=learner.organization_id,
                    actor=actor.describe(),
                    action="learner.erase",
                    object_type="learner",
                    object_id=learner.id,
                    now=now,
                )
            )
            uow.commit()
        return ErasureReport(erased, len(entries), deliveries, scrubbed_audit)

    # --- helpers ----------------------------------------------------------------------------

    def _learner(self, uow: UnitOfWork, actor: Actor, learner_id: str, what: str) -> Learner:
        learner = uow.learners.get(record_id(learner_id, field="learner_id"))
        grants = self._grants(uow, actor, learner.organization_id)
        if not isinstance(actor, ProgramAdminActor):
            require_org_admin(actor, learner.organization_id, grants, what)
            return learner
        for membership in uow.memberships.list_for_learner(learner.id):
            if membership.program_id in actor.program_ids:
                require_program_admin(
                    actor, learner.organization_id, membership.program_id, grants, what
                )
                return learner
        raise PermissionDeniedError(f"{actor.describe()} may not {what} of this learner")

    def _save_membership(
        self, uow: UnitOfWork, actor: Actor, action: str, before: Membership, after: Membership
    ) -> None:
        """Store a changed membership (if it is still ``before``) and audit the change.

        Raises:
            StaleDataError: another unit of work changed the membership since it was read.
        """
        uow.memberships.update(after, expected=before)
        self._audit_change(
            uow, actor, action, before, after, object_type="membership", program_id=after.program_id
        )

    def _membership(
        self, uow: UnitOfWork, actor: Actor, membership_id: str, what: str
    ) -> Membership:
        membership = uow.memberships.get(record_id(membership_id, field="membership_id"))
        require_program_admin(
            actor,
            membership.organization_id,
            membership.program_id,
            self._grants(uow, actor, membership.organization_id),
            what,
        )
        return membership

    @staticmethod
    def _contract(uow: UnitOfWork, org: Organization, contract_id: str) -> Contract:
        contract = uow.contracts.get(record_id(contract_id, field="contract_id"))
        if contract.organization_id != org.id:
            raise NotFoundError("contract", contract_id)
        return contract


def _state(value: object) -> MemberState:
    try:
        return MemberState(str(value))
    except ValueError as exc:
        raise ValidationError(
            "a state is INVITED, MEMBER or DELETED_MEMBER", field="state", value=value
        ) from exc


REJECTED_IMPORT = ImportOutcome.REJECTED


TAKE_ATTEMPTS = 5
"""How often :func:`_take_up_to` reads a contract that other writers keep changing."""


def _take_up_to(uow: UnitOfWork, contract_id: str, count: int) -> int:
    """Take ``count`` licenses of a contract, or as many as are left; return how many.

    One conditional update (:meth:`~learnprog.storage.ports.ContractRepository.take`) when
    enough are left; otherwise the contract is read and what is left taken, again
    conditionally, so concurrent writers never over-draw it.

    Raises:
        ConcurrencyError: the counter changed under other writers :data:`TAKE_ATTEMPTS`
            times in a row (the unit of work is decided again by its caller).
    """
    for _ in range(TAKE_ATTEMPTS):
        if uow.contracts.take(contract_id, count):
            return count
        left = uow.contracts.get(contract_id).remaining
        if left == 0:
            return 0
        if left is not None and left < count:
            count = left  # else some were freed in between: the whole count again
    raise ConcurrencyError(
        f"contract {contract_id}: its licenses kept changing under other writers"
    )


def _invited_membership(uow: UnitOfWork, membership_id: str) -> Membership:
    """The membership an acceptance link names.

    Raises:
        InvalidTokenError: it no longer exists (the link outlived its invitation).
    """
    try:
        return uow.memberships.get(membership_id)
    except NotFoundError as exc:
        raise InvalidTokenError("the invitation no longer exists", field="token") from exc


def _check_history(record: MemberRecord, now: datetime) -> None:
    """Raise unless a history record's times are in order (invited <= joined <= removed <= now).

    Raises:
        ValidationError: naming the field that comes too early, or a time in the future.
    """
    for name in ("invited_at", "joined_at", "removed_at"):
        at = getattr(record, name)
        if at is not None and at > now:  # history is what happened
            raise ValidationError(f"{at.isoformat()} is in the future", field=name)
    if record.joined_at is not None and record.joined_at < record.invited_at:
        raise ValidationError("joined before the invitation", field="joined_at")
    if record.removed_at is not None:
        since = record.joined_at or record.invited_at
        if record.removed_at < since:
            raise ValidationError("removed before joining or being invited", field="removed_at")


def _learners_program(uow: UnitOfWork, actor: LearnerActor, program_slug: str) -> Program:
    """The program at ``program_slug`` in the learner's organization.

    Raises:
        NotFoundError: text that cannot be a slug (checked before any query), or no program
            with that slug in the learner's organization.
    """
    if not ProgramSlug.could_be(str(program_slug)):
        raise NotFoundError("program", program_slug)
    program = uow.programs.find_by_slug(str(program_slug))
    if program is None or program.organization_id != actor.organization_id:
        raise NotFoundError("program", program_slug)
    return program
