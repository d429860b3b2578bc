"""Scheduled email reports: which admin gets which programs' report, on which local day.

Source: guide, "Scheduling Email Reports": "Organization admins can set up the Report Schedule
on the Global Settings page to have the email reports sent automatically to all administrators
on a set schedule" (programs and weekdays, :class:`~learnprog.model.organization.ReportSchedule`).
The weekday is the organization's (its ``timezone``); a program admin's report holds only their
programs' data (guide, "Organization Admin vs. Program Admin").
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable, Mapping, Set
from datetime import date, datetime

from attrs import field, frozen

from learnprog.model._rules import str_tuple, to_utc
from learnprog.model.access import AdminGrant, AdminRole
from learnprog.model.organization import Organization, Program, Weekday

_WEEKDAYS = tuple(Weekday)  # Monday first, as date.weekday() counts


def local_day(organization: Organization, now: datetime) -> date:
    """The organization's calendar day at ``now`` (aware), in its time zone."""
    return now.astimezone(zoneinfo.ZoneInfo(organization.timezone)).date()


def weekday_of(day: date) -> Weekday:
    """The :class:`Weekday` of a calendar day."""
    return _WEEKDAYS[day.weekday()]


@frozen
class DueReport:
    """One scheduled report to send now: one admin, the scheduled programs in their scope.

    Attributes:
        organization_id: the organization.
        learner_id: the admin's learner account (the recipient).
        program_ids: the programs the report covers, by program slug.
        local_day: the organization's calendar day it is sent for.
        weekday: that day's weekday, one of the schedule's.
    """

    organization_id: str
    learner_id: str
    program_ids: tuple[str, ...]
    local_day: date
    weekday: Weekday


@frozen
class ScheduledReportRecord:
    """The record that an organization's scheduled report went to an admin on a local day.

    At most one exists per organization, admin and local day (a unique key on SQL storage), so
    a second run the same day sends nothing more.

    Attributes:
        organization_id: the organization.
        learner_id: the admin.
        local_day: the organization's calendar day.
        program_ids: the programs the report covered.
        sent_at: when it was queued (aware UTC).
        outbox_id: the outbox entry, or ``None`` when the admin had opted out of admin mail.
    """

    organization_id: str
    learner_id: str
    local_day: date
    sent_at: datetime = field(converter=to_utc)
    program_ids: tuple[str, ...] = field(default=(), converter=str_tuple)
    outbox_id: str | None = None


def scheduled_scopes(
    scheduled: Iterable[Program], grants: Iterable[AdminGrant]
) -> Mapping[str, tuple[str, ...]]:
    """Each admin's share of the scheduled programs.

    Organization admins get every scheduled program; a program admin gets the scheduled
    programs they administer; an admin left with none is absent.

    Args:
        scheduled: the scheduled programs (not removed), in the report's order.
        grants: the organization's admin grants.

    Returns:
        Program IDs by admin learner ID, in the order of ``scheduled``.
    """
    programs = list(scheduled)
    everything: set[str] = set()
    own: dict[str, set[str]] = {}
    for g in grants:
        if g.role is AdminRole.ORGANIZATION:
            everything.add(g.learner_id)
        elif g.program_id is not None:
            own.setdefault(g.learner_id, set()).add(g.program_id)
    out: dict[str, tuple[str, ...]] = {}
    for learner_id in sorted(everything | own.keys()):
        mine = tuple(
            p.id for p in programs if learner_id in everything or p.id in own.get(learner_id, ())
        )
        if mine:
            out[learner_id] = mine
    return out


def due_reports(
    organization: Organization,
    programs: Iterable[Program],
    grants: Iterable[AdminGrant],
    now: datetime,
    already_sent: Set[str] = frozenset(),
) -> list[DueReport]:
    """The organization's scheduled reports due at ``now`` and not yet sent that local day.

    ``now`` in the organization's time zone gives the day; when its weekday is one of the
    schedule's, each admin whose scope covers a scheduled program gets a report
    (:func:`scheduled_scopes`), except those in ``already_sent``.

    Args:
        organization: the organization, with its schedule and time zone.
        programs: the organization's programs (removed ones are skipped).
        grants: the organization's admin grants.
        now: the clock's now (aware).
        already_sent: the admins whose report for that local day is recorded.

    Returns:
        One report per admin, by learner ID.
    """
    schedule = organization.report_schedule
    day = local_day(organization, now)
    weekday = weekday_of(day)
    if weekday not in schedule.weekdays:
        return []
    scheduled = sorted(
        (p for p in programs if p.id in schedule.program_ids and not p.is_removed),
        key=lambda p: (p.slug.value, p.id),
    )
    return [
        DueReport(organization.id, learner_id, program_ids, day, weekday)
        for learner_id, program_ids in scheduled_scopes(scheduled, grants).items()
        if learner_id not in already_sent
    ]
