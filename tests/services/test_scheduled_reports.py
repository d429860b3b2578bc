"""Scheduled report emails: the organization's weekday, each admin's scope, once per local day."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

import learnprog
from learnprog.clock import FixedClock
from learnprog.errors import PermissionDeniedError
from learnprog.mail.memory import InMemoryMailer
from learnprog.model import OutgoingMessage, ReportSchedule, Weekday
from learnprog.model.schedules import DueReport
from tests.services.test_reports import Reported
from tests.services.world import SYSTEM


class Scheduled(Reported):
    """Ana (organization admin), Paulo (admin of Other), Pia (admin of Unscheduled only).

    The report schedule: Academy and Other, on Mondays.
    """

    def __init__(self, lp: learnprog.Learnprog, timezone: str) -> None:
        super().__init__(lp)
        self.other = lp.programs.create_program(self.admin, self.org.id, "Other", slug="other")
        self.unscheduled = lp.programs.create_program(
            self.admin, self.org.id, "Unscheduled", slug="unscheduled"
        )
        self.ids = {"ana": self.admin.learner_id}
        for name, program in (("paulo", self.other), ("pia", self.unscheduled)):
            person = lp.organizations.register_learner(
                SYSTEM, self.org.id, name.title(), f"{name}@acme.example"
            )
            lp.organizations.add_admin(
                self.admin, self.org.id, f"{name}@acme.example", role="program",
                program_ids=[program.id],
            )  # fmt: skip
            self.ids[name] = person.id
        self.names = {v: k for k, v in self.ids.items()}
        lp.organizations.update_settings(
            self.admin,
            self.org.id,
            timezone=timezone,
            report_schedule=ReportSchedule(
                program_ids=[self.program.id, self.other.id],
                weekdays=["monday"],
            ),
        )

    def due(self) -> dict[str, tuple[str, ...]]:
        slugs = {self.program.id: "academy", self.other.id: "other"}
        return {
            self.names[r.learner_id]: tuple(slugs[p] for p in r.program_ids)
            for r in self.lp.reports.due_reports(SYSTEM, self.org.id)
        }


def _utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def _reports(mailer: InMemoryMailer) -> list[OutgoingMessage]:
    return [m for m in mailer.sent if m.template == "usage_report"]


def test_auckland_mondays_start_on_sunday_in_utc(
    lp: learnprog.Learnprog, clock: FixedClock
) -> None:
    w = Scheduled(lp, "Pacific/Auckland")  # UTC+13 in March (daylight saving time)
    clock.set(_utc(1, 10, 59))  # Sunday 23:59 in Auckland
    assert w.due() == {}
    clock.set(_utc(1, 11))  # Monday 00:00 in Auckland, still Sunday in UTC
    assert w.due() == {"ana": ("academy", "other"), "paulo": ("other",)}  # Pia: none of hers
    (report, *_) = lp.reports.due_reports(SYSTEM, w.org.id)
    assert (report.local_day, report.weekday) == (date(2026, 3, 2), Weekday.MONDAY)
    clock.set(_utc(2, 11))  # Tuesday 00:00 in Auckland, still Monday in UTC
    assert w.due() == {}


def test_los_angeles_mondays_start_at_eight_utc(lp: learnprog.Learnprog, clock: FixedClock) -> None:
    w = Scheduled(lp, "America/Los_Angeles")  # UTC-8 until 2026-03-08
    clock.set(_utc(2, 7, 59))  # Monday in UTC, Sunday 23:59 in Los Angeles
    assert w.due() == {}
    clock.set(_utc(2, 8))
    assert w.due() == {"ana": ("academy", "other"), "paulo": ("other",)}


def test_sending_is_idempotent_per_admin_and_local_day(
    lp: learnprog.Learnprog, clock: FixedClock, mailer: InMemoryMailer
) -> None:
    w = Scheduled(lp, "Pacific/Auckland")
    clock.set(_utc(1, 11))  # Monday 00:00 in Auckland
    sent = lp.reports.send_due_reports(SYSTEM)
    assert sorted(w.names[s.report.learner_id] for s in sent) == ["ana", "paulo"]
    assert all(s.result.queued for s in sent)
    clock.set(_utc(2, 10, 59))  # Monday 23:59 in Auckland: the same local day
    assert lp.reports.send_due_reports(SYSTEM) == []
    assert w.due() == {}
    lp.mail.dispatch(SYSTEM)
    emails = {m.to.address: m.text_body for m in _reports(mailer)}
    assert sorted(emails) == ["ana@acme.example", "paulo@acme.example"]
    assert "in the following program(s): Academy, Other. Here" in emails["ana@acme.example"]
    assert "Total enrollments: 1" in emails["ana@acme.example"]  # Lia's, in Academy
    assert "in the following program(s): Other. Here" in emails["paulo@acme.example"]
    assert "Total enrollments: 0" in emails["paulo@acme.example"]
    assert "whose report schedule sends it on Mondays" in emails["paulo@acme.example"]
    clock.set(_utc(8, 11))  # the next Monday in Auckland
    assert len(lp.reports.send_due_reports(SYSTEM, w.org.id)) == 2


def test_a_scheduled_report_link_opens_the_admins_programs(
    lp: learnprog.Learnprog, clock: FixedClock, mailer: InMemoryMailer
) -> None:
    w = Scheduled(lp, "UTC")
    lp.reports.send_due_reports(SYSTEM)  # START is a Monday
    lp.mail.dispatch(SYSTEM)
    (paulo_mail,) = [m for m in _reports(mailer) if m.to.address == "paulo@acme.example"]
    token = paulo_mail.text_body.split("/reports/download?token=")[1].split()[0]
    paulo = lp.organizations.resolve_actor(SYSTEM, w.org.id, "paulo@acme.example")
    data = lp.reports.open_report_zip(paulo, token)
    assert data.startswith(b"PK")


def test_an_opted_out_admin_is_recorded_without_an_email(
    lp: learnprog.Learnprog, mailer: InMemoryMailer
) -> None:
    w = Scheduled(lp, "UTC")
    paulo_as_learner = learnprog.model.LearnerActor(w.org.id, w.ids["paulo"])
    lp.mail.set_email_preference(paulo_as_learner, "admin", receive=False)
    sent = {w.names[s.report.learner_id]: s.result for s in lp.reports.send_due_reports(SYSTEM)}
    assert (sent["ana"].queued, sent["paulo"].queued) == (True, False)
    assert lp.reports.send_due_reports(SYSTEM) == []  # Paulo is not tried again today


def test_a_removed_program_and_an_empty_schedule_send_nothing(
    lp: learnprog.Learnprog,
) -> None:
    w = Scheduled(lp, "UTC")
    lp.invitations.remove_program(w.admin, w.other.id, confirm="other")
    assert w.due() == {"ana": ("academy",)}  # Paulo's only scheduled program is gone
    lp.organizations.update_settings(w.admin, w.org.id, report_schedule=ReportSchedule())
    assert w.due() == {}


def test_only_the_system_runs_schedules(lp: learnprog.Learnprog) -> None:
    w = Scheduled(lp, "UTC")
    with pytest.raises(PermissionDeniedError):
        lp.reports.due_reports(w.admin, w.org.id)
    with pytest.raises(PermissionDeniedError):
        lp.reports.send_due_reports(w.admin)
    assert isinstance(lp.reports.due_reports(SYSTEM)[0], DueReport)
