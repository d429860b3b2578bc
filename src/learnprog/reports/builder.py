"""ReportBuilder: the email report's figures, the membership, usage and specialization CSVs.

Sources: the guide's "Reporting" section. Figures come from SQL aggregation and rows are
streamed on SQL storage, so memory does not grow with the number of members.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator, Sequence
from typing import IO, TypeVar

from attrs import frozen

from learnprog.errors import NotFoundError, PermissionDeniedError, ValidationError
from learnprog.model._rules import record_id
from learnprog.model.access import Actor, require_any_admin, visible_program_ids
from learnprog.model.learner import MemberState
from learnprog.model.organization import Program
from learnprog.model.progress import MAX_PAGE, MemberQuery, MemberRow
from learnprog.model.reporting import (
    EmailReportFigures,
    MemberEmailCategory,
    MembershipRecord,
    SpecializationRecord,
    Summary,
    UsageFunnel,
    UsageRecord,
)
from learnprog.reports.tables import (
    MEMBERSHIP_COLUMNS,
    SPECIALIZATION_COLUMNS,
    USAGE_COLUMNS,
    Report,
    email_cells,
    membership_cells,
    specialization_cells,
    usage_cells,
)
from learnprog.services._base import Service
from learnprog.storage.ports import UnitOfWork

R = TypeVar("R")

ZIP_MEMBERS = ("member-report.csv", "usage-report.csv", "specialization-report.csv")
"""The files of the report zip, in the guide's order ("member-report", "usage-report",
"specialization-report")."""


@frozen
class EmailReport:
    """The usage report email's content: the programs it covers and the eighteen figures."""

    programs: tuple[Program, ...]
    figures: EmailReportFigures


class ReportBuilder(Service):
    """Reports (guide, "Reporting", "Analytics Reports")."""

    # --- scope ------------------------------------------------------------------------------

    def _scope(
        self,
        uow: UnitOfWork,
        actor: Actor,
        organization_id: str,
        program_ids: Sequence[str] | None,
        what: str,
    ) -> list[Program]:
        """The programs a report covers: those asked for (default all), within the actor's.

        Raises:
            PermissionDeniedError: not an admin of the organization, or a program admin asking
                for a program that is not theirs.
            NotFoundError: a program that is not the organization's.
        """
        org = uow.organizations.get(record_id(organization_id, field="organization_id"))
        grants = self._grants(uow, actor, org.id)
        require_any_admin(actor, org.id, grants, what)
        visible = visible_program_ids(actor, grants)
        every = {p.id: p for p in uow.programs.list_for_organization(org.id)}
        if program_ids is None:
            wanted = [p for p in every.values() if visible is None or p.id in visible]
        else:
            wanted = []
            for raw in dict.fromkeys(program_ids):
                pid = record_id(raw, field="program_ids")
                if pid not in every:
                    raise NotFoundError("program", pid)
                if visible is not None and pid not in visible:
                    raise PermissionDeniedError(
                        f"{actor.describe()} may not report on program {pid!r}"
                    )
                wanted.append(every[pid])
        return sorted(wanted, key=lambda p: (p.slug.value, p.id))

    def _report(
        self,
        actor: Actor,
        organization_id: str,
        program_ids: Sequence[str] | None,
        name: str,
        columns: tuple[str, ...],
        read: str,
    ) -> Report[R]:
        with self._uow() as uow:  # check the rights now, not at the first read
            scope = [
                p.id for p in self._scope(uow, actor, organization_id, program_ids, "read reports")
            ]

        def rows() -> Iterator[R]:
            with self._uow() as uow:
                yield from getattr(uow.reports, read)(scope)

        cells = {"usage": usage_cells, "memberships": membership_cells,
                 "specializations": specialization_cells}[read]  # fmt: skip
        return Report(name, columns, rows, cells)  # type: ignore[arg-type]

    # --- the CSV reports ------------------------------------------------------------------------

    def usage_report(
        self, actor: Actor, organization_id: str, *, program_ids: Sequence[str] | None = None
    ) -> Report[UsageRecord]:
        """The Usage Report: one row per current course enrollment (guide, "Usage Report").

        Removed members' enrollments are included with "Removed From Program" Yes.

        Args:
            actor: an admin; a program admin gets only their programs.
            organization_id: the organization.
            program_ids: the programs covered (default: every program the actor sees).

        Raises:
            PermissionDeniedError: not an admin, or a program that is not the actor's.
            NotFoundError: a program of another organization.
        """
        return self._report(actor, organization_id, program_ids, "usage-report.csv",
                            USAGE_COLUMNS, "usage")  # fmt: skip

    def membership_report(
        self, actor: Actor, organization_id: str, *, program_ids: Sequence[str] | None = None
    ) -> Report[MembershipRecord]:
        """The Membership Report: one row per membership, in any state (guide).

        Raises:
            PermissionDeniedError, NotFoundError: as :meth:`usage_report`.
        """
        return self._report(actor, organization_id, program_ids, "member-report.csv",
                            MEMBERSHIP_COLUMNS, "memberships")  # fmt: skip

    def specialization_report(
        self, actor: Actor, organization_id: str, *, program_ids: Sequence[str] | None = None
    ) -> Report[SpecializationRecord]:
        """The Specialization Report: one row per current specialization enrollment (guide).

        Raises:
            PermissionDeniedError, NotFoundError: as :meth:`usage_report`.
        """
        return self._report(actor, organization_id, program_ids, "specialization-report.csv",
                            SPECIALIZATION_COLUMNS, "specializations")  # fmt: skip

    def write_zip(
        self,
        actor: Actor,
        organization_id: str,
        target: str | IO[bytes],
        *,
        program_ids: Sequence[str] | None = None,
        excel: bool = False,
    ) -> tuple[str, ...]:
        """Write the report zip of the three CSV reports.

        ``member-report.csv``, ``usage-report.csv`` and ``specialization-report.csv`` (guide:
        "a zip file containing the 3 csv reports").

        Args:
            actor: an admin; a program admin gets only their programs.
            organization_id: the organization.
            target: a path or a binary stream.
            program_ids: the programs covered (default: every program the actor sees).
            excel: write each CSV with a UTF-8 byte-order mark, for Excel.

        Returns:
            The names written, in order.

        Raises:
            PermissionDeniedError, NotFoundError: as :meth:`usage_report`.
        """
        reports: list[Report[object]] = [
            self.membership_report(actor, organization_id, program_ids=program_ids),  # type: ignore[list-item]
            self.usage_report(actor, organization_id, program_ids=program_ids),  # type: ignore[list-item]
            self.specialization_report(actor, organization_id, program_ids=program_ids),  # type: ignore[list-item]
        ]
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for report in reports:
                with archive.open(report.name, "w") as raw:
                    text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
                    report.write_csv(text, excel=excel)
                    text.flush()
                    text.detach()
        return ZIP_MEMBERS

    # --- the email report's figures ----------------------------------------------------------

    def email_report(
        self, actor: Actor, organization_id: str, *, program_ids: Sequence[str] | None = None
    ) -> EmailReport:
        """The usage report email's eighteen figures for the programs.

        Guide, "Accessing Email Reports"; each figure's population is defined on
        :class:`~learnprog.model.reporting.EmailReportFigures`.

        Raises:
            PermissionDeniedError, NotFoundError: as :meth:`usage_report`.
        """
        with self._uow() as uow:
            programs = self._scope(uow, actor, organization_id, program_ids, "read reports")
            figures = uow.reports.email_figures([p.id for p in programs], self._now())
        return EmailReport(tuple(programs), figures)

    # --- the admin home page ------------------------------------------------------------------

    def funnel(
        self, actor: Actor, organization_id: str, *, program_ids: Sequence[str] | None = None
    ) -> UsageFunnel:
        """The usage funnel: invitations sent, learners who joined and who enrolled, with rates.

        Guide, "Your Admin Home Page" ("Usage Overview"); each count's population is defined on
        :class:`~learnprog.model.reporting.UsageFunnel`. One aggregate query on SQL storage.

        Args:
            actor: an admin; a program admin gets only their programs.
            organization_id: the organization.
            program_ids: the programs covered (default: every program the actor sees).

        Returns:
            The funnel, with conversion rates as percent 0-100 (``None`` when dividing by 0)
            and ``computed_at`` the clock's now.

        Raises:
            PermissionDeniedError, NotFoundError: as :meth:`usage_report`.
        """
        with self._uow() as uow:
            programs = self._scope(uow, actor, organization_id, program_ids, "read reports")
            return uow.reports.funnel([p.id for p in programs], self._now())

    def summary(
        self, actor: Actor, organization_id: str, *, program_ids: Sequence[str] | None = None
    ) -> Summary:
        """The summary tab: enrollments, learning hours, lessons taken and the average rating.

        Guide, "Your Admin Home Page" and the summary of "Accessing Email Reports": each of
        enrollments, learning hours and lessons taken is a total to date and the change "in
        the past 28 days"; the average course rating is over the programs' ratings.

        The 28-day changes come from per-day buckets kept at ingestion
        (:class:`~learnprog.model.progress.DailyActivity`), not from raw events: a session's
        time counts on the UTC day it starts, a lesson on the UTC day its last item was
        completed, an enrollment on the day it was made. The period is the day of the clock's
        now and the 27 UTC days before it (:func:`~learnprog.model.reporting.summary_since`).
        Course enrollments only, current and ended, removed members' included.

        Args:
            actor: an admin; a program admin gets only their programs.
            organization_id: the organization.
            program_ids: the programs covered (default: every program the actor sees).

        Returns:
            The summary; hours as floats, the rating 1-5 or ``None``, ``computed_at`` now.

        Raises:
            PermissionDeniedError, NotFoundError: as :meth:`usage_report`.
        """
        now = self._now()
        with self._uow() as uow:
            programs = self._scope(uow, actor, organization_id, program_ids, "read reports")
            totals = uow.reports.activity_totals([p.id for p in programs], now)
            count, weighted = 0, 0.0
            for program in programs:
                mean, n = uow.feedback.rating_summary(program_id=program.id)
                if mean is not None:
                    count += n
                    weighted += mean * n
        return Summary.build(totals, (weighted / count if count else None, count), now)

    # --- the Members page ---------------------------------------------------------------------

    def member_emails(
        self, actor: Actor, program_id: str, category: MemberEmailCategory | str
    ) -> Report[MemberRow]:
        """The emails of a program's members in one category, as a one-column CSV ("Email").

        Guide, "Members": the envelope icon's email report ("No Enrollments", "Enrolled with no
        completions", "Completed at least 1 course"); each category's rule is on
        :class:`~learnprog.model.reporting.MemberEmailCategory`. Rows are the members list's
        rows (typed), ordered by email; the file is ``<category>.csv`` with dashes.

        Args:
            actor: an admin of the program (or of its organization).
            program_id: the program.
            category: ``no_enrollments``, ``enrolled_no_completions`` or
                ``completed_at_least_one``.

        Returns:
            The report, read from storage when iterated (1,000 members per query).

        Raises:
            ValidationError: an unknown category.
            PermissionDeniedError: not an admin of the program.
            NotFoundError: no such program.
        """
        try:
            kind = MemberEmailCategory(str(category))
        except ValueError as exc:
            allowed = ", ".join(c.value for c in MemberEmailCategory)
            raise ValidationError(
                f"one of {allowed} is required", field="category", value=category
            ) from exc
        with self._uow() as uow:
            program = self._program(uow, actor, program_id, "read member emails")

        def rows() -> Iterator[MemberRow]:
            offset = 0
            with self._uow() as uow:
                while True:
                    query = MemberQuery.create(
                        program.id,
                        state=MemberState.MEMBER,
                        status=kind.status,
                        order="email",
                        offset=offset,
                        limit=MAX_PAGE,
                    )
                    page = uow.progress.member_page(query, self._now())
                    yield from page.rows
                    offset += len(page.rows)
                    if len(page.rows) < MAX_PAGE:
                        return

        return Report(f"{kind.value.replace('_', '-')}.csv", ("Email",), rows, email_cells)
