"""The record of scheduled report emails sent: one per organization, admin and local day."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from learnprog.errors import ConflictError
from learnprog.model.schedules import ScheduledReportRecord
from tests import factories as f
from tests.conftest import UowFactory

MONDAY = date(2026, 3, 2)


def test_a_scheduled_report_is_recorded_once_per_admin_and_local_day(
    uow_factory: UowFactory,
) -> None:
    org = f.organization()
    ana, bo = f.learner(org, "ana@acme.example"), f.learner(org, "bo@acme.example")
    with uow_factory() as uow:
        uow.organizations.add(org)
        uow.learners.add_many([ana, bo])
        uow.reports.add_scheduled(ScheduledReportRecord(org.id, ana.id, MONDAY, f.NOW, ("p1",)))
        assert uow.reports.scheduled_sent(org.id, MONDAY) == {ana.id}  # staged: seen
        uow.commit()
    with uow_factory() as uow:
        assert uow.reports.scheduled_sent(org.id, MONDAY) == {ana.id}
        assert uow.reports.scheduled_sent(org.id, MONDAY + timedelta(days=7)) == frozenset()
        uow.reports.add_scheduled(ScheduledReportRecord(org.id, bo.id, MONDAY, f.NOW, (), "o1"))
        uow.reports.add_scheduled(
            ScheduledReportRecord(org.id, ana.id, MONDAY + timedelta(days=7), f.NOW)
        )
        uow.commit()
    with uow_factory() as uow:
        assert uow.reports.scheduled_sent(org.id, MONDAY) == {ana.id, bo.id}
        with pytest.raises(ConflictError):
            uow.reports.add_scheduled(
                ScheduledReportRecord(org.id, ana.id, MONDAY, f.NOW + timedelta(hours=1))
            )


def test_admin_scopes_among_the_scheduled_programs() -> None:
    from learnprog.model.access import AdminGrant, AdminRole
    from learnprog.model.schedules import scheduled_scopes

    org = f.organization()
    academy, other, third = (
        f.program(org, n, slug=n.lower()) for n in ("Academy", "Other", "Third")
    )
    grants = [
        AdminGrant(org.id, "ana", AdminRole.ORGANIZATION, f.NOW),
        AdminGrant(org.id, "ana", AdminRole.PROGRAM, f.NOW, third.id),  # both: all
        AdminGrant(org.id, "paulo", AdminRole.PROGRAM, f.NOW, other.id),
        AdminGrant(org.id, "paulo", AdminRole.PROGRAM, f.NOW, third.id),
        AdminGrant(org.id, "pia", AdminRole.PROGRAM, f.NOW, third.id),
    ]
    assert scheduled_scopes([academy, other], grants) == {
        "ana": (academy.id, other.id),
        "paulo": (other.id,),
    }
