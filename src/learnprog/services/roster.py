"""Bulk invitation from a CSV file: the guide's "Send bulk invitations" with its template.

The file's headers are ``Full Name``, ``Email`` and ``External ID`` (all three present; External
ID values may be empty). Reading is :mod:`learnprog.csvfiles` (encodings, delimiters, quoted
line breaks, loose header matching). Each non-blank line gets one :class:`RowResult`, streamed
as its chunk is decided and stored:

- ``created``: a new invitation (and a new account unless the address has one);
- ``already_invited`` / ``already_member``: nothing changes, no second email;
- ``reinvited``: a removed learner's membership returns to INVITED;
- ``duplicate``: the same address (any case, outer spaces) appeared on an earlier line of this
  file, which made (or re-made) its invitation; the result names that line. Found through the
  database key and the invitation's source (``csv:<run>:<line>``), not a set of every address
  in memory, so also across chunks. An address whose earlier line was ``already_invited`` or
  ``already_member`` gets that outcome again (nothing stored names that line): every outcome
  is the same whatever the chunk size;
- ``rejected``: with the reason (no email, an invalid one, no name, outside the organization's
  domains when invitations are restricted to them, the program removed or the contract not
  running at the chunk's time).

Lines are processed in chunks (500 by default), each in one unit of work: all of a chunk's
learners, memberships, audit entries and invitation emails are written together or not at
all; a bad row is rejected alone and never blocks the good ones. Memory does not grow with the
file: only one chunk is held at a time. Each chunk reads the program, contract and organization
again and applies a single invitation's checks at its own time (guide, "Invitations"; "Settings",
Remove Program), so a program removed, or a contract ended, during the run takes no later line.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, TextIO

from attrs import define, evolve, frozen

from learnprog.csvfiles import CsvRow, protect, read_csv
from learnprog.errors import ValidationError
from learnprog.model.access import Actor
from learnprog.model.audit import AuditEntry, field_changes
from learnprog.model.identity import EmailAddress, new_id
from learnprog.model.learner import Learner, Membership, MemberState
from learnprog.model.mail import OutboxEntry, OutgoingMessage
from learnprog.model.organization import Contract, Organization, Program
from learnprog.outputs import DataFiles, refuse_data_file
from learnprog.serialization import to_json_value
from learnprog.services._batch import ChunkedRun, creation_changes
from learnprog.storage.ports import UnitOfWork

COLUMNS = ("Full Name", "Email", "External ID")
"""The bulk invitation template's headers (guide, "Send bulk invitations")."""

CREATED = "created"
ALREADY_INVITED = "already_invited"
ALREADY_MEMBER = "already_member"
REINVITED = "reinvited"
DUPLICATE = "duplicate"
REJECTED = "rejected"
OUTCOMES = (CREATED, ALREADY_INVITED, ALREADY_MEMBER, REINVITED, DUPLICATE, REJECTED)


def csv_template() -> str:
    """Return the bulk invitation template: the header line and one example line."""
    return "Full Name,Email,External ID\r\nJo Doe,jd@example.com,12345\r\n"


@frozen
class RowResult:
    """What happened to one line of the file.

    Attributes:
        line: the line the record starts on (the header is line 1).
        outcome: created, already_invited, already_member, reinvited, duplicate or rejected.
        full_name: the Full Name field as read.
        email: the Email field as read.
        external_id: the External ID field as read.
        reason: why a line was rejected, or None.
        duplicate_of: for a duplicate, the earlier line with the same address.
        email_queued: whether an invitation email went to the outbox (or would, in a dry run).
    """

    line: int
    outcome: str
    full_name: str
    email: str
    external_id: str
    reason: str | None = None
    duplicate_of: int | None = None
    email_queued: bool = False


@define
class BulkTotals:
    """Counts per outcome, and the lines read."""

    lines: int = 0
    created: int = 0
    already_invited: int = 0
    already_member: int = 0
    reinvited: int = 0
    duplicate: int = 0
    rejected: int = 0
    emails_queued: int = 0

    def add(self, result: RowResult) -> None:
        """Count one result."""
        self.lines += 1
        setattr(self, result.outcome, getattr(self, result.outcome) + 1)
        self.emails_queued += result.email_queued


@frozen
class _Row:
    csv: CsvRow
    learner: Learner  # validated, ready to store if the address has no account yet

    @property
    def address(self) -> EmailAddress:
        return self.learner.email


class BulkInvitation(ChunkedRun[RowResult, BulkTotals]):
    """A bulk invitation run: iterate it to process the file and get each line's result.

    Made by :meth:`learnprog.services.invitations.InvitationService.bulk_invite`, which has
    already checked the actor, program, contract and the file's headers. Chunks, retries, the
    dry run and progress are :class:`~learnprog.services._batch.ChunkedRun`'s. Use it as a
    context manager (or call :meth:`run`) so the file is closed::

        with lp.invitations.bulk_invite(admin, program_id, contract_id, "roster.csv") as run:
            for result in run:
                ...
        run.totals
    """

    def __init__(
        self,
        *,
        stack: ExitStack,
        rows: Iterator[CsvRow],
        run_id: str,
        actor: Actor,
        organization: Organization,
        program: Program,
        contract: Contract,
        uow_factory: Callable[[], UnitOfWork],
        now: Callable[[], datetime],
        merge: Callable[[Learner, str], OutgoingMessage] | None,
        dry_run: bool,
        chunk_size: int,
        progress: Callable[[int], None] | None,
        rejections: TextIO | None,
    ) -> None:
        super().__init__(
            stack=stack,
            rows=rows,
            uow_factory=uow_factory,
            dry_run=dry_run,
            chunk_size=chunk_size,
            progress=progress,
            totals=BulkTotals(),
        )
        self._run_id = run_id
        self._actor = actor
        self._org = organization
        self._program = program
        self._contract = contract
        self._now = now
        self._merge = merge
        self._rejections = None if rejections is None else csv.writer(rejections)
        if self._rejections is not None:
            self._rejections.writerow(["Line", *COLUMNS, "Reason"])

    def _count(self, result: RowResult) -> None:
        self.totals.add(result)
        if result.outcome == REJECTED and self._rejections is not None:
            self._rejections.writerow(
                [
                    result.line,
                    *map(protect, (result.full_name, result.email, result.external_id)),
                    protect(result.reason),
                ]
            )

    def _decide(self, uow: UnitOfWork, rows: list[CsvRow]) -> list[RowResult]:
        now = self._now()
        self._org = uow.organizations.get(self._org.id)  # its current domain restriction holds
        closed = self._closed(uow, now)
        results: dict[int, RowResult] = {}
        valid: list[_Row] = []
        first_line: dict[str, int] = {}
        repeats: list[tuple[CsvRow, int]] = []  # a line and the chunk's earlier line of its key
        for row in rows:
            checked = self._check(row)
            if isinstance(checked, RowResult):
                results[row.line] = checked
                continue
            if closed is not None:
                results[row.line] = self._result(row, REJECTED, reason=closed)
                continue
            key = checked.address.key
            if key in first_line:
                repeats.append((row, first_line[key]))
                continue
            first_line[key] = row.line
            valid.append(checked)
        learners = uow.learners.find_by_emails(self._org.id, [r.address.key for r in valid])
        memberships = uow.memberships.find_for_learners(
            self._program.id, [learner.id for learner in learners.values()]
        )
        new_learners: list[Learner] = []
        new_memberships: list[Membership] = []
        audit: list[AuditEntry] = []
        mail: list[OutboxEntry] = []
        for item in valid:
            learner = learners.get(item.address.key)
            membership = None if learner is None else memberships.get(learner.id)
            outcome, before = CREATED, None
            if membership is not None and membership.state is MemberState.MEMBER:
                results[item.csv.line] = self._result(item.csv, ALREADY_MEMBER)
                continue
            if membership is not None and membership.state is MemberState.INVITED:
                earlier = _line_of(membership.invitation_source, self._run_id)
                results[item.csv.line] = (
                    self._result(item.csv, DUPLICATE, duplicate_of=earlier)
                    if earlier
                    else self._result(item.csv, ALREADY_INVITED)
                )
                continue
            if learner is None:
                learner = item.learner
                new_learners.append(learner)
                audit.append(self._entry("learner.register", learner, None, learner, now))
            merge = self._merge
            queued = merge is not None
            sent_at = now if queued else None
            source = f"csv:{self._run_id}:{item.csv.line}"
            if membership is None:
                after = Membership(
                    new_id(),
                    self._org.id,
                    self._program.id,
                    learner.id,
                    self._contract.id,
                    MemberState.INVITED,
                    now,
                    invitation_sent_at=sent_at,
                    invitation_source=source,
                )
            else:
                outcome, before = REINVITED, membership
                after = evolve(
                    membership.reinvite(now, self._contract.id),
                    invitation_sent_at=sent_at,
                    invitation_source=source,
                )
            if merge is not None and not self._dry_run:
                mail.append(OutboxEntry.queue(merge(learner, after.id), now=now))
            if before is None:
                new_memberships.append(after)
            else:
                uow.memberships.update(after, expected=before)
            audit.append(self._entry(f"invitation.{outcome}", after, before, after, now))
            results[item.csv.line] = self._result(item.csv, outcome, email_queued=queued)
        for row, earlier in repeats:
            results[row.line] = self._repeat(row, results[earlier])
        uow.learners.add_many(new_learners)
        uow.memberships.add_many(new_memberships)
        uow.audit.add_many(audit)
        uow.outbox.add_many(mail)
        return [results[row.line] for row in rows]

    def _closed(self, uow: UnitOfWork, now: datetime) -> str | None:
        """Why no line of this chunk may be invited at ``now``, or None.

        The program and contract are read again in the chunk's unit of work, so a chunk
        follows the rules a single ``invite`` applies at the chunk's time (guide,
        "Invitations"; "Settings", Remove Program): a removed program or a contract that is not
        running takes no invitation.
        """
        program = uow.programs.get(self._program.id)
        contract = uow.contracts.get(self._contract.id)
        if program.is_removed:
            return "the program has been removed"
        try:
            contract.check_active(now)
        except ValidationError as exc:
            return f"the contract is not running at {now.isoformat()}: {exc.reason}"
        return None

    def _repeat(self, row: CsvRow, earlier: RowResult) -> RowResult:
        """The result of a line whose address is on an earlier line of the same chunk.

        It is what the line would get in a later chunk, once the earlier line is stored: a
        duplicate naming the line that made (or re-made) the invitation, whose source records
        that line, else the earlier line's own outcome (``already_invited``,
        ``already_member``: nothing stored names a line of this file). So the outcome does not
        depend on the chunk size.
        """
        if earlier.outcome in (CREATED, REINVITED):
            return self._result(row, DUPLICATE, duplicate_of=earlier.line)
        if earlier.outcome == DUPLICATE:
            return self._result(row, DUPLICATE, duplicate_of=earlier.duplicate_of)
        return self._result(row, earlier.outcome, reason=earlier.reason)

    def _check(self, row: CsvRow) -> _Row | RowResult:
        name = " ".join(row.values["Full Name"].split())  # "Ana\\nLima" is one learner
        raw_email = row.values["Email"]
        if not raw_email:
            return self._result(row, REJECTED, reason="the Email is empty")
        if not name:
            return self._result(row, REJECTED, reason="the Full Name is empty")
        try:
            address = EmailAddress.parse(raw_email, line=row.line)
            check = Learner.create(
                self._org.id,
                name,
                address,
                now=self._now(),
                external_id=row.values["External ID"],
                line=row.line,
            )
        except ValidationError as exc:
            return self._result(row, REJECTED, reason=f"{exc.field}: {exc.reason}")
        if self._org.restrict_invitations_to_domains and not self._org.owns_domain(address.domain):
            return self._result(
                row, REJECTED, reason="the address is outside the organization's domains"
            )
        return _Row(row, check)

    @staticmethod
    def _result(
        row: CsvRow,
        outcome: str,
        *,
        reason: str | None = None,
        duplicate_of: int | None = None,
        email_queued: bool = False,
    ) -> RowResult:
        return RowResult(
            row.line,
            outcome,
            row.values["Full Name"],
            row.values["Email"],
            row.values["External ID"],
            reason,
            duplicate_of,
            email_queued,
        )

    def _entry(
        self,
        action: str,
        record: Learner | Membership,
        before: object | None,
        after: object | None,
        now: datetime,
    ) -> AuditEntry:
        if before is None and after is not None:
            changes = creation_changes(after)
        else:
            changes = field_changes(
                None if before is None else to_json_value(before),
                None if after is None else to_json_value(after),
            )
        learner = isinstance(record, Learner)
        return AuditEntry.record(
            organization_id=self._org.id,
            actor=self._actor.describe(),
            action=action,
            object_type="learner" if learner else "membership",
            object_id=record.id,
            now=now,
            program_id=None if learner else self._program.id,
            changes=changes,
        )


def _line_of(source: str | None, run_id: str) -> int | None:
    prefix = f"csv:{run_id}:"
    if source is None or not source.startswith(prefix):
        return None
    return int(source[len(prefix) :])


def _file_identity(obj: object) -> tuple[int, int] | None:
    """The (device, inode) of a path or an open file, or ``None`` when it names no file."""
    try:
        if isinstance(obj, str | os.PathLike):
            status = os.stat(obj)
        elif hasattr(obj, "fileno"):
            status = os.fstat(obj.fileno())
        else:
            return None
    except (OSError, ValueError):  # no such file; bytes or BytesIO (io.UnsupportedOperation)
        return None
    return (status.st_dev, status.st_ino)


def rejection_target(
    target: str | os.PathLike[str] | BinaryIO | None,
    stack: ExitStack,
    *,
    source: object = None,
    data_files: DataFiles = (),
) -> TextIO | None:
    """Open where rejected lines are written as CSV (UTF-8 with a BOM, for Excel).

    Its cells are protected against spreadsheet formulas as the reports' are
    (:func:`learnprog.csvfiles.protect`), and read back as written when the file is imported
    again.

    Args:
        target: a path, a binary file, or ``None`` for no rejections file.
        stack: closes the file when the run ends.
        source: the roster being read (a path, bytes or a binary file).
        data_files: the files the storage keeps its data in, never written over
            (:func:`learnprog.outputs.refuse_data_file`).

    Raises:
        ValidationError: (field ``rejections_to``) ``target`` is the roster itself, by any
            path (a link, another spelling): opening it for writing would empty the roster
            while it is read, losing its lines; or the SQLite database, one of its journals
            or the secret file in use (:func:`learnprog.outputs.refuse_data_file`); or a path
            that cannot be written.
    """
    if target is None:
        return None
    refuse_data_file(target, data_files, field="rejections_to")
    where = _file_identity(target)
    if where is not None and where == _file_identity(source):
        raise ValidationError(
            "the rejections file is the roster being read: writing it would overwrite the "
            "roster; name another file",
            field="rejections_to",
            value=os.fsdecode(target) if isinstance(target, str | os.PathLike) else None,
        )
    if isinstance(target, str | os.PathLike):
        try:
            return stack.enter_context(Path(target).open("w", encoding="utf-8-sig", newline=""))
        except OSError as exc:
            raise ValidationError(
                f"cannot write {os.fsdecode(target)!r}: {exc.strerror}", field="rejections_to"
            ) from exc
    text = io.TextIOWrapper(target, encoding="utf-8-sig", newline="")
    stack.callback(text.detach)
    stack.callback(text.flush)
    return text


__all__ = [
    "COLUMNS",
    "BulkInvitation",
    "BulkTotals",
    "RowResult",
    "csv_template",
    "read_csv",
    "rejection_target",
]
