"""ReportBuilder: the email report's figures, the membership, usage and specialization CSVs.

Sources: the guide's "Reporting" section. Figures come from SQL aggregation and rows are
streamed on SQL storage, so memory does not grow with the number of members.
"""

from __future__ import annotations

import csv
import io
import os
import stat
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import IO, Any, TypeVar

from attrs import frozen

from learnprog.errors import (
    ConcurrencyError,
    ConflictError,
    InvalidTokenError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from learnprog.mail.rendering import USAGE_REPORT
from learnprog.model._rules import record_id
from learnprog.model.access import (
    Actor,
    require_any_admin,
    require_system,
    visible_program_ids,
)
from learnprog.model.activity import AssessmentAttempt, Enrollment
from learnprog.model.analytics import (
    AnalyticsFilter,
    AnalyticsScope,
    LearnerActivity,
    LearnerFeedback,
    Utilization,
)
from learnprog.model.catalog import Assessment, Course
from learnprog.model.learner import Learner, MemberState
from learnprog.model.organization import Organization, Program
from learnprog.model.progress import MAX_PAGE, MemberQuery, MemberRow, in_window
from learnprog.model.reporting import (
    EmailReportFigures,
    MemberEmailCategory,
    MembershipRecord,
    ReportValues,
    SpecializationRecord,
    Summary,
    UsageFunnel,
    UsageRecord,
)
from learnprog.model.schedules import (
    DueReport,
    ScheduledReportRecord,
    due_reports,
    local_day,
)
from learnprog.outputs import refuse_data_file
from learnprog.reports.cells import protect, timestamp, two_decimals, yes_no
from learnprog.reports.tables import (
    EMAIL,
    MEMBERSHIP,
    SPECIALIZATION,
    USAGE,
    Columns,
    Report,
    ReportRecord,
    record_values,
)
from learnprog.services._base import Service, ServiceContext, retry_on
from learnprog.services.mail import MailComposer, QueueResult
from learnprog.storage.ports import UnitOfWork
from learnprog.tokens import TokenPurpose

R = TypeVar("R", bound=ReportRecord)

ZIP_MEMBERS = ("member-report.csv", "usage-report.csv", "specialization-report.csv")
"""The files of the report zip, in the guide's order ("member-report", "usage-report",
"specialization-report")."""


GRADEBOOK_FILES = ("assessment_attempts.csv", "gradebook.csv")
"""The gradebook zip's files (guide, "Accessing Gradebooks": "assessment_attempts",
"gradebook")."""

ATTEMPT_COLUMNS = (
    "Name",
    "Email",
    "External Id",
    "Assessment ID",
    "Assessment Name",
    "Attempt Time",
    "Grade",
    "Banked",
    "Passed",
)
"""The columns of ``assessment_attempts.csv``."""

REPORT_LINK_LIFETIME = timedelta(hours=24)
"""A usage report email's download link works for 24 hours after it is issued, like a
gradebook link."""

GRADEBOOK_LINK_LIFETIME = timedelta(hours=24)
"""A gradebook link works for 24 hours after it is issued (guide: "This link will expire in 24
hours")."""


@frozen
class ScheduledReportResult:
    """One scheduled report email handled by :meth:`ReportBuilder.send_due_reports`.

    Attributes:
        report: the due report (admin, programs, local day).
        result: the queue result: the outbox entry, or why it was skipped (an opt-out).
    """

    report: DueReport
    result: QueueResult


@frozen
class EmailReport:
    """The usage report email's content: the programs it covers and the eighteen figures."""

    programs: tuple[Program, ...]
    figures: EmailReportFigures


def _spoken_time(at: datetime) -> str:
    """``March 2 at 9:00 AM UTC``, as the guide's email writes times ("May 16 at 3:00 AM UTC")."""
    at = at.astimezone(UTC)
    return f"{at:%B} {at.day} at {at.hour % 12 or 12}:{at:%M} {'AM' if at.hour < 12 else 'PM'} UTC"


class ReportBuilder(Service):
    """Reports (guide, "Reporting", "Analytics Reports")."""

    def __init__(self, context: ServiceContext) -> None:
        super().__init__(context)
        self._mail = MailComposer(context)

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
            if isinstance(program_ids, str | bytes) or not isinstance(program_ids, Iterable):
                raise ValidationError(
                    "a list of program IDs is required", field="program_ids", value=program_ids
                )
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
        columns: Columns,
        read: str,
        read_values: str,
    ) -> Report[R]:
        """A CSV report: the store's ``read`` records (``usage`` ...), ``read_values`` values."""
        with self._uow() as uow:  # check the rights now, not at the first read
            scope = [
                p.id for p in self._scope(uow, actor, organization_id, program_ids, "read reports")
            ]

        def rows() -> Iterator[R]:
            with self._uow() as uow:
                yield from getattr(uow.reports, read)(scope)

        def values() -> Iterator[ReportValues]:
            with self._uow() as uow:
                yield from getattr(uow.reports, read_values)(scope)

        return Report(name, columns, rows, record_values, values)

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
        return self._report(actor, organization_id, program_ids, "usage-report.csv", USAGE,
                            "usage", "usage_values")  # fmt: skip

    def membership_report(
        self, actor: Actor, organization_id: str, *, program_ids: Sequence[str] | None = None
    ) -> Report[MembershipRecord]:
        """The Membership Report: one row per membership, in any state (guide).

        Raises:
            PermissionDeniedError, NotFoundError: as :meth:`usage_report`.
        """
        return self._report(actor, organization_id, program_ids, "member-report.csv", MEMBERSHIP,
                            "memberships", "membership_values")  # fmt: skip

    def specialization_report(
        self, actor: Actor, organization_id: str, *, program_ids: Sequence[str] | None = None
    ) -> Report[SpecializationRecord]:
        """The Specialization Report: one row per current specialization enrollment (guide).

        Raises:
            PermissionDeniedError, NotFoundError: as :meth:`usage_report`.
        """
        return self._report(actor, organization_id, program_ids, "specialization-report.csv",
                            SPECIALIZATION, "specializations", "specialization_values")  # fmt: skip

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
            ValidationError: (field ``target``) neither a path nor a writable file; or the
                SQLite database in use, one of its journals or the secret file beside it, by
                any path (:func:`learnprog.outputs.refuse_data_file`): the zip would destroy
                it.
        """
        if not isinstance(target, str | os.PathLike) and not hasattr(target, "write"):
            raise ValidationError(
                "a path or a binary file open for writing is required", field="target"
            )
        refuse_data_file(target, self._context.data_files, field="target")
        reports: list[Report[object]] = [
            self.membership_report(actor, organization_id, program_ids=program_ids),  # type: ignore[list-item]
            self.usage_report(actor, organization_id, program_ids=program_ids),  # type: ignore[list-item]
            self.specialization_report(actor, organization_id, program_ids=program_ids),  # type: ignore[list-item]
        ]
        stamp = self._now().timetuple()[:6]
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for report in reports:
                with archive.open(_zip_entry(report.name, stamp), "w") as raw:
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

    # --- analytics ----------------------------------------------------------------------------

    def _analytics_scope(
        self,
        uow: UnitOfWork,
        organization_id: str,
        program_ids: Iterable[str] | None,
        contract_ids: Iterable[str] | None,
        start: datetime | None,
        end: datetime | None,
    ) -> AnalyticsScope:
        """Resolve the filters against the organization's programs and contracts.

        Raises:
            ValidationError: a bad filter (see :meth:`AnalyticsFilter.create`).
            NotFoundError: a program or contract that is not the organization's.
        """
        wanted = AnalyticsFilter.create(
            program_ids=program_ids, contract_ids=contract_ids, start=start, end=end
        )
        programs = [p.id for p in uow.programs.list_for_organization(organization_id)]
        if wanted.program_ids is not None:
            for pid in wanted.program_ids:
                if pid not in programs:
                    raise NotFoundError("program", pid)
        contracts = {c.id for c in uow.contracts.list_for_organization(organization_id)}
        for cid in wanted.contract_ids or ():
            if cid not in contracts:
                raise NotFoundError("contract", cid)
        return AnalyticsScope(
            organization_id,
            tuple(sorted(programs if wanted.program_ids is None else wanted.program_ids)),
            wanted.contract_ids,
            wanted.start,
            wanted.end,
        )

    def learner_activity(
        self,
        actor: Actor,
        organization_id: str,
        *,
        program_ids: Iterable[str] | None = None,
        contract_ids: Iterable[str] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> LearnerActivity:
        """The Learner Activity report: course enrollments and completions per week and month.

        Guide, "Analytics Reports" ("Learner Activity shows your organization's the enrollment
        and completion trends"; "Program admins do not have access to Analytics"). The
        population and the periods (ISO weeks from Monday and calendar months, in UTC) are
        defined on :class:`~learnprog.model.analytics.LearnerActivity`. One aggregate query on
        SQL storage.

        Args:
            actor: an organization admin.
            organization_id: the organization.
            program_ids: only these programs (default: every program of the organization).
            contract_ids: only enrollments drawn from these contracts (default: all).
            start: count what happened at or after this aware instant (default: no bound).
            end: count what happened before this aware instant (default: no bound).

        Returns:
            Weekly and monthly rows, oldest first, with the totals.

        Raises:
            PermissionDeniedError: not an organization admin of the organization.
            NotFoundError: no such organization, or a program or contract of another one.
            ValidationError: a naive datetime, an end not after the start, or a bare string
                instead of a list of IDs.
        """
        with self._as_org_admin(actor, organization_id, "read analytics") as (uow, org):
            scope = self._analytics_scope(uow, org.id, program_ids, contract_ids, start, end)
            return uow.reports.learner_activity(scope)

    def learner_feedback(
        self,
        actor: Actor,
        organization_id: str,
        *,
        program_ids: Iterable[str] | None = None,
        contract_ids: Iterable[str] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> LearnerFeedback:
        """The Learner Feedback report: the rating distribution, averages and count.

        Guide, "Analytics Reports" ("how satisfied your learners are with the learning content
        and how likely they are to recommend the program to others"). The population is defined
        on :class:`~learnprog.model.analytics.LearnerFeedback`: the ratings given in the
        programs within the date range, by members on the contracts. One aggregate query on SQL
        storage.

        Args:
            actor: an organization admin.
            organization_id: the organization.
            program_ids: only these programs (default: every program of the organization).
            contract_ids: only ratings by learners whose membership draws on these contracts.
            start: only ratings given at or after this aware instant.
            end: only ratings given before this aware instant.

        Returns:
            The star counts (1-5), the mean rating (1-5), the mean likelihood to recommend
            (0-10, over the ratings that give one) and the number of ratings; means are
            ``None`` without ratings.

        Raises:
            PermissionDeniedError, NotFoundError, ValidationError: as :meth:`learner_activity`.
        """
        with self._as_org_admin(actor, organization_id, "read analytics") as (uow, org):
            scope = self._analytics_scope(uow, org.id, program_ids, contract_ids, start, end)
            return uow.reports.learner_feedback(scope)

    def utilization(
        self,
        actor: Actor,
        organization_id: str,
        *,
        program_ids: Iterable[str] | None = None,
        contract_ids: Iterable[str] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> Utilization:
        """The Utilization report: licenses purchased, occupied and utilized.

        Guide, "Analytics Reports": "A member occupies a license, which becomes 'utilized' once
        they enroll in their first course. Note: the number of members is capped at the number
        of purchased licenses." The rules (licenses contracts only, caps per contract, a date
        range keeps the contracts whose term overlaps it) are on
        :class:`~learnprog.model.analytics.Utilization`. One aggregate query on SQL storage.

        Args:
            actor: an organization admin.
            organization_id: the organization.
            program_ids: count only the members of these programs (default: every program).
            contract_ids: only these contracts (default: every licenses contract).
            start: only contracts still running at or after this aware instant.
            end: only contracts that started before this aware instant.

        Returns:
            The totals (whole licenses) and one line per contract.

        Raises:
            PermissionDeniedError, NotFoundError, ValidationError: as :meth:`learner_activity`.
        """
        with self._as_org_admin(actor, organization_id, "read analytics") as (uow, org):
            scope = self._analytics_scope(uow, org.id, program_ids, contract_ids, start, end)
            return uow.reports.utilization(scope)

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

        return Report(f"{kind.value.replace('_', '-')}.csv", EMAIL, rows, _email_values)

    # --- the email report's email ------------------------------------------------------------

    def _queue_email_report(
        self,
        uow: UnitOfWork,
        organization: Organization,
        admin: Learner,
        programs: Sequence[Program],
        footer_note: str,
    ) -> QueueResult:
        """Render the usage report email for ``admin`` over ``programs`` and queue it in ``uow``."""
        now = self._now()
        figures = uow.reports.email_figures([p.id for p in programs], now)
        token = self._context.signer.sign(
            TokenPurpose.REPORT_DOWNLOAD,
            {"r": "usage", "o": organization.id, "p": [p.id for p in programs], "a": admin.id},
        )
        base = self._context.settings.base_url.rstrip("/")
        report = {
            "programs": [{"name": p.name, "url": self._mail.program_url(p)} for p in programs],
            "updated": _spoken_time(figures.computed_at),
            "figures": figures.labelled(),
            "download_url": f"{base}/reports/download?token={token}",
            "expires": f"on {_spoken_time(now + REPORT_LINK_LIFETIME)}",
        }
        message = self._mail.admin_message(
            USAGE_REPORT,
            organization=organization,
            admin=admin,
            extra={"report": report},
            footer_note=footer_note,
        )
        return self._mail.queue(uow, message)

    def send_email_report(
        self, actor: Actor, organization_id: str, *, program_ids: Sequence[str] | None = None
    ) -> QueueResult:
        """Queue the usage report email to the acting admin (guide, "Accessing Email Reports").

        The email (template ``usage_report``, HTML and text) says which programs it covers
        ("This report is generated for members in the following program(s): ..."), lists the
        eighteen figures with the guide's labels (:meth:`EmailReportFigures.labelled`; hours
        rounded to whole hours) and links to the report zip
        (``<base_url>/reports/download?token=...``; see :meth:`open_report_zip`). The link's
        token (purpose ``report-download``) is signed at the clock's now and expires 24 hours
        later; it names the programs and the admin.

        Category: ADMIN (see :data:`~learnprog.mail.rendering.USAGE_REPORT`): administration
        mail that recipients can stop, so an admin who opted out of admin mail is not sent
        the report (the result says so) and every report carries a one-click unsubscribe
        link. Not TRANSACTIONAL, which ignores opt-outs and is kept for invitations and
        program exits.

        Args:
            actor: an admin; a program admin's report covers only their programs.
            organization_id: the organization.
            program_ids: the programs covered (default: every program the actor sees).

        Returns:
            The queue result: the outbox entry, or why it was skipped (an opt-out).

        Raises:
            PermissionDeniedError: not an admin, or a program that is not the actor's.
            NotFoundError: a program of another organization.
        """
        with self._uow() as uow:
            programs = self._scope(uow, actor, organization_id, program_ids, "read reports")
            org = uow.organizations.get(organization_id)
            admin = uow.learners.get(str(getattr(actor, "learner_id", "")))
            result = self._queue_email_report(
                uow,
                org,
                admin,
                programs,
                f"You are receiving this email because {admin.email.address} asked for this "
                f"report as an administrator at {org.name}.",
            )
            uow.commit()
        return result

    def open_report_zip(self, actor: Actor, token: str) -> bytes:
        """Return the zip a usage report email links to: the three CSV reports.

        ``member-report.csv``, ``usage-report.csv`` and ``specialization-report.csv`` for the
        programs the email covered (guide, "Accessing Email Reports": "Click on 'Download' to
        download a zip file containing the 3 csv reports"), as :meth:`write_zip` writes them.

        Args:
            actor: the admin the email went to (guide: "make sure you are logged in").
            token: the link's ``token`` parameter.

        Returns:
            The zip's bytes.

        Raises:
            InvalidTokenError: the token is altered, made for something else (a gradebook link
                included), or more than 24 hours old.
            PermissionDeniedError: another person's link, or rights that no longer cover the
                programs.
        """
        payload = self._open_link(actor, token, "usage", REPORT_LINK_LIFETIME)
        try:
            org_id, program_ids = str(payload["o"]), [str(p) for p in payload["p"]]
        except (KeyError, TypeError) as exc:
            raise InvalidTokenError("the link is not valid", field="token") from exc
        buffer = io.BytesIO()
        self.write_zip(actor, org_id, buffer, program_ids=program_ids)
        return buffer.getvalue()

    # --- scheduled report emails --------------------------------------------------------------

    def due_reports(self, actor: Actor, organization_id: str | None = None) -> list[DueReport]:
        """List the scheduled report emails to send now (guide, "Scheduling Email Reports").

        For each organization (or the one given), the clock's now converted to the
        organization's time zone gives the local day; when its weekday is one of the report
        schedule's (set by organization admins through
        :meth:`OrganizationService.update_settings`, ``report_schedule=``), every admin whose
        scope covers a scheduled program gets one report: organization admins all the
        scheduled programs, a program admin only theirs among them (none: no report). Removed
        programs are left out, and so are admins whose report for that local day is already
        recorded (:meth:`send_due_reports`).

        Args:
            actor: the system (the host's scheduler).
            organization_id: one organization (default: every organization).

        Returns:
            One :class:`~learnprog.model.schedules.DueReport` per admin, by organization and
            learner ID; programs by slug.

        Raises:
            PermissionDeniedError: any actor but the system.
            NotFoundError: no such organization.
        """
        require_system(actor, "list scheduled reports")
        now = self._now()
        with self._uow() as uow:
            if organization_id is None:
                organizations = sorted(uow.organizations.list(), key=lambda o: o.id)
            else:
                organizations = [
                    uow.organizations.get(record_id(organization_id, field="organization_id"))
                ]
            due: list[DueReport] = []
            for org in organizations:
                if not org.report_schedule.weekdays or not org.report_schedule.program_ids:
                    continue
                sent = uow.reports.scheduled_sent(org.id, local_day(org, now))
                due += due_reports(
                    org,
                    uow.programs.list_for_organization(org.id),
                    uow.admins.list_for_organization(org.id),
                    now,
                    sent,
                )
        return due

    def send_due_reports(
        self, actor: Actor, organization_id: str | None = None
    ) -> list[ScheduledReportResult]:
        """Queue the scheduled report emails due now (:meth:`due_reports`); idempotent per day.

        Each admin's email is :meth:`send_email_report`'s over their share of the scheduled
        programs, queued in its own unit of work together with a
        :class:`~learnprog.model.schedules.ScheduledReportRecord` for the organization, the
        admin and the organization's local day. The record is unique (migration 0010), so a
        second call the same local day queues nothing more, and of two schedulers running at
        once only one sends each email (the other's unit of work is refused and rolled back;
        the report is left out of its result). An admin who opted out of admin mail is
        recorded without an email. Run it as often as you like (every few minutes): a report
        goes out on the first run of each scheduled local day.

        Args:
            actor: the system.
            organization_id: one organization (default: every organization).

        Returns:
            What was done for each report sent by this call.

        Raises:
            PermissionDeniedError: any actor but the system.
            NotFoundError: no such organization.
        """
        results: list[ScheduledReportResult] = []
        for report in self.due_reports(actor, organization_id):
            try:
                result = self._send_scheduled(report)
            except ConcurrencyError:
                continue  # rolled back three times over: the next run sends it
            except ConflictError:
                continue  # recorded by a scheduler running at the same moment: it sent it
            if result is not None:
                results.append(ScheduledReportResult(report, result))
        return results

    # a deadlock or serialization failure rolled it back: decide again (a duplicate record is
    # not retried: the scheduler that stored it sent the email)
    @retry_on(ConcurrencyError, attempts=3)
    def _send_scheduled(self, report: DueReport) -> QueueResult | None:
        """Queue one scheduled report and record it, in one unit of work; None if recorded.

        Raises:
            ConflictError: a scheduler running at the same moment recorded it first.
            ConcurrencyError: the database rolled the unit of work back.
        """
        with self._uow() as uow:
            org = uow.organizations.get(report.organization_id)
            if report.learner_id in uow.reports.scheduled_sent(org.id, report.local_day):
                return None  # another run sent it since due_reports looked
            admin = uow.learners.get(report.learner_id)
            programs = [uow.programs.get(p) for p in report.program_ids]
            days = f"{report.weekday.value.title()}s"
            result = self._queue_email_report(
                uow,
                org,
                admin,
                programs,
                f"You are receiving this email because {admin.email.address} is an "
                f"administrator at {org.name}, whose report schedule sends it on {days}.",
            )
            uow.reports.add_scheduled(
                ScheduledReportRecord(
                    org.id,
                    admin.id,
                    report.local_day,
                    self._now(),
                    report.program_ids,
                    None if result.entry is None else result.entry.id,
                )
            )
            uow.commit()
        return result

    def link_organization(self, actor: Actor, token: str) -> str:
        """Return the organization ID a report or gradebook download link was issued in.

        A host serving several organizations resolves the signed-in admin there
        (:meth:`~learnprog.services.OrganizationService.resolve_actor`) before
        :meth:`open_report_zip` or :meth:`open_gradebook`, which check the link again and that
        it is that admin's.

        Raises:
            PermissionDeniedError: the caller is not the system actor.
            InvalidTokenError: a forged or altered link; an
                :class:`~learnprog.errors.ExpiredTokenError` past 24 hours.
        """
        require_system(actor, "read where a download link was issued")
        payload = self._context.signer.verify(
            TokenPurpose.REPORT_DOWNLOAD,
            token,
            max_age=max(REPORT_LINK_LIFETIME, GRADEBOOK_LINK_LIFETIME),
        )
        organization_id = payload.get("o")
        if not isinstance(organization_id, str):
            raise InvalidTokenError("the link is not valid", field="token")
        return organization_id

    def _open_link(
        self, actor: Actor, token: str, kind: str, lifetime: timedelta
    ) -> dict[str, Any]:
        """Verify a download link's token for ``kind`` and its owner; return the payload.

        Raises:
            InvalidTokenError: altered, expired, another purpose or another kind of report.
            PermissionDeniedError: the token was issued to someone else.
        """
        payload = self._context.signer.verify(TokenPurpose.REPORT_DOWNLOAD, token, max_age=lifetime)
        if payload.get("r") != kind:
            raise InvalidTokenError("the link is not valid", field="token")
        owner = payload.get("a")
        if owner is None or owner != getattr(actor, "learner_id", None):
            raise PermissionDeniedError(f"{actor.describe()} may not open another admin's link")
        return payload

    # --- gradebooks ---------------------------------------------------------------------------

    def gradebook_link(self, actor: Actor, course_id: str, *, program_id: str | None = None) -> str:
        """Return a signed download link for a course's gradebook, valid for 24 hours.

        Guide, "Accessing Gradebooks": the link "will download 2 reports" and "will expire in 24
        hours". The token (purpose ``report-download``, signed at the clock's now) names the
        course, the programs covered and the admin who asked; only that admin can open it
        (:meth:`open_gradebook`), and only while their rights still cover those programs.

        Args:
            actor: an admin; a program admin covers only their programs.
            course_id: the course's record ID.
            program_id: only this program's learners (default: every program the actor sees).

        Returns:
            ``<base_url>/reports/gradebook?token=<token>``.

        Raises:
            PermissionDeniedError: not an admin, or a program that is not the actor's.
            NotFoundError: no such course, or a program of another organization.
        """
        with self._uow() as uow:
            course = uow.courses.get(record_id(course_id, field="course_id"))
            wanted = None if program_id is None else [program_id]
            programs = self._scope(uow, actor, course.organization_id, wanted, "read gradebooks")
        token = self._context.signer.sign(
            TokenPurpose.REPORT_DOWNLOAD,
            {
                "r": "gradebook",
                "o": course.organization_id,
                "c": course.id,
                "p": [p.id for p in programs],
                "a": getattr(actor, "learner_id", None),
            },
        )
        return f"{self._context.settings.base_url.rstrip('/')}/reports/gradebook?token={token}"

    def open_gradebook(self, actor: Actor, token: str) -> bytes:
        """Return the zip a gradebook link points to: the two gradebook CSVs.

        ``assessment_attempts.csv`` (:data:`ATTEMPT_COLUMNS`): every attempt at a graded
        assessment of the course by the gradebook's learners, by email then time; the time is
        ISO 8601 UTC with milliseconds, the grade percent 0-100 with two decimals, Banked and
        Passed (grade at or above the pass mark) Yes/No.

        ``gradebook.csv``: one row per learner with a current enrollment in the course through
        the covered programs (removed members' included), by email: Name, Email, External Id,
        then one column per graded assessment of the course, in course order, headed
        ``<name> (<id>)``, holding the learner's best grade (two decimals) among the attempts
        counted in their current enrollment (the learning issue's window rule), empty when none.

        Args:
            actor: the admin the link was issued to (guide: "make sure you are logged in").
            token: the link's ``token`` parameter.

        Returns:
            The zip's bytes.

        Raises:
            InvalidTokenError: the token is altered, made for something else, or more than 24
                hours old.
            PermissionDeniedError: another person's link, or rights that no longer cover the
                programs.
        """
        payload = self._open_link(actor, token, "gradebook", GRADEBOOK_LINK_LIFETIME)
        try:
            org_id, course_id, program_ids = payload["o"], payload["c"], list(payload["p"])
        except (KeyError, TypeError) as exc:
            raise InvalidTokenError("the link is not valid", field="token") from exc
        with self._uow() as uow:
            scope = self._scope(uow, actor, org_id, program_ids, "read gradebooks")
            course = uow.courses.get(course_id)
            learners = list(uow.reports.course_learners(course.id, [p.id for p in scope]))
            attempts = uow.activity.attempts_for([lr.id for lr, _ in learners], [course.id])
        buffer = io.BytesIO()
        stamp = self._now().timetuple()[:6]
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, rows in zip(
                GRADEBOOK_FILES,
                (
                    _attempt_rows(course, learners, attempts),
                    _gradebook_rows(course, learners, attempts),
                ),
                strict=True,
            ):
                text = io.StringIO(newline="")
                csv.writer(text, lineterminator="\r\n").writerows(rows)
                archive.writestr(_zip_entry(name, stamp), text.getvalue().encode("utf-8"))
        return buffer.getvalue()


def _email_values(row: MemberRow) -> ReportValues:
    """A member email list's row: the learner's email."""
    return (row.learner.email.address,)


def _graded(course: Course) -> list[Assessment]:
    return [a for a in course.assessments if a.graded]


def _attempt_rows(
    course: Course,
    learners: Sequence[tuple[Learner, Enrollment]],
    attempts: Sequence[AssessmentAttempt],
) -> list[list[Any]]:
    graded = {a.id: a for a in _graded(course)}
    people = {lr.id: lr for lr, _ in learners}
    order = {lr.id: i for i, (lr, _) in enumerate(learners)}
    rows: list[list[Any]] = [list(ATTEMPT_COLUMNS)]
    for t in sorted(
        (t for t in attempts if t.assessment_id in graded and t.learner_id in people),
        key=lambda t: (order[t.learner_id], t.submitted_at, t.id),
    ):
        person, assessment = people[t.learner_id], graded[t.assessment_id]
        rows.append(
            [
                protect(person.full_name),
                protect(person.email.address),
                protect(person.external_id),
                protect(assessment.id),
                protect(assessment.name),
                timestamp(t.submitted_at),
                two_decimals(t.grade),
                yes_no(t.banked),
                yes_no(t.grade >= assessment.pass_mark),
            ]
        )
    return rows


def _gradebook_rows(
    course: Course,
    learners: Sequence[tuple[Learner, Enrollment]],
    attempts: Sequence[AssessmentAttempt],
) -> list[list[Any]]:
    graded = _graded(course)
    header = ["Name", "Email", "External Id"] + [protect(f"{a.name} ({a.id})") for a in graded]
    best: dict[tuple[str, str], float] = {}
    enrollment = {lr.id: e for lr, e in learners}
    for t in attempts:
        mine = enrollment.get(t.learner_id)
        if mine is not None and in_window(mine, t.submitted_at):
            key = (t.learner_id, t.assessment_id)
            best[key] = max(best.get(key, 0.0), t.grade)
    rows: list[list[Any]] = [header]
    for person, _ in learners:
        rows.append(
            [protect(person.full_name), protect(person.email.address), protect(person.external_id)]
            + [two_decimals(best.get((person.id, a.id))) for a in graded]
        )
    return rows


def _zip_entry(name: str, stamp: tuple[int, ...]) -> zipfile.ZipInfo:
    """A deflated zip member that unzips as a regular file readable by all (mode 0644).

    Without Unix attributes (``ZipInfo``) or with Python's default for ``writestr`` (0600),
    ``unzip`` makes files only their owner may read.
    """
    entry = zipfile.ZipInfo(name, date_time=stamp)  # type: ignore[arg-type]
    entry.compress_type = zipfile.ZIP_DEFLATED
    entry.external_attr = (stat.S_IFREG | 0o644) << 16
    return entry
