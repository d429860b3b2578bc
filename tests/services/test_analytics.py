"""ReportBuilder's analytics: organization admins only, filters checked, figures end to end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import learnprog
from learnprog.errors import NotFoundError, PermissionDeniedError, ValidationError
from tests.services.test_reports import Reported
from tests.services.world import SYSTEM


def test_analytics_end_to_end(lp: learnprog.Learnprog) -> None:
    # Lia enrolled on Monday 2026-03-02 09:00 and completed the course at 10:30 the same day
    w = Reported(lp)
    lp.learning.rate_course(w.lia, w.program.id, w.course.id, rating=4, recommend=8)
    w.invite("cy@acme.example", "Cy", send_email=False)
    w.accept("cy@acme.example")  # occupies a license, enrolled in nothing
    activity = lp.reports.learner_activity(w.admin, w.org.id)
    assert [(p.start.isoformat(), p.enrollments, p.completions) for p in activity.weeks] == [
        ("2026-03-02", 1, 1)
    ]
    feedback = lp.reports.learner_feedback(w.admin, w.org.id, program_ids=[w.program.id])
    assert (feedback.ratings, feedback.distribution) == (1, (0, 0, 0, 1, 0))
    assert (feedback.average_rating, feedback.average_recommend) == (4.0, 8.0)
    used = lp.reports.utilization(w.admin, w.org.id, contract_ids=[w.contract.id])
    assert (used.licenses_purchased, used.occupied, used.utilized) == (5, 2, 1)
    later = lp.reports.learner_activity(
        w.admin, w.org.id, start=datetime(2026, 3, 3, tzinfo=UTC), end=None
    )
    assert later.weeks == ()


def test_program_admins_have_no_analytics(lp: learnprog.Learnprog) -> None:
    w = Reported(lp)
    lp.organizations.add_admin(
        w.admin, w.org.id, "lia@acme.example", role="program", program_ids=[w.program.id]
    )
    paulo = lp.organizations.resolve_actor(SYSTEM, w.org.id, "lia@acme.example")
    for report in (lp.reports.learner_activity, lp.reports.learner_feedback,
                   lp.reports.utilization):  # fmt: skip
        with pytest.raises(PermissionDeniedError):
            report(paulo, w.org.id, program_ids=[w.program.id])
        with pytest.raises(PermissionDeniedError):
            report(w.lia, w.org.id)


def test_analytics_filters_are_checked(lp: learnprog.Learnprog) -> None:
    w = Reported(lp)
    with pytest.raises(NotFoundError):
        lp.reports.utilization(w.admin, w.org.id, program_ids=["nope"])
    with pytest.raises(NotFoundError):
        lp.reports.learner_feedback(w.admin, w.org.id, contract_ids=["nope"])
    with pytest.raises(ValidationError):
        lp.reports.learner_activity(w.admin, w.org.id, start=datetime(2026, 3, 1))  # naive
    start = datetime(2026, 3, 1, tzinfo=UTC)
    with pytest.raises(ValidationError):
        lp.reports.learner_activity(w.admin, w.org.id, start=start, end=start)
    with pytest.raises(ValidationError):
        lp.reports.learner_activity(w.admin, w.org.id, program_ids=w.program.id)  # a bare string
    day = lp.reports.learner_activity(w.admin, w.org.id, start=start, end=start + timedelta(days=1))
    assert day.enrollments == 0  # Lia enrolled on 03-02
