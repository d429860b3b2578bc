"""Message audiences: exact recipient sets from a fixture of learners in every state.

Runs on memory, SQLite, PostgreSQL and MariaDB: the SQL adapter resolves each audience with one
query, the memory adapter with the model's rules; both must give the sets written here.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from attrs import define

from learnprog.model import (
    Course,
    EmailOptOut,
    Enrollment,
    EntryKind,
    Membership,
    MessageCategory,
    Specialization,
)
from learnprog.model.messaging import Audience, AudienceFilter
from learnprog.model.progress import EnrollmentProgress
from tests import factories as f
from tests.conftest import UowFactory

DAY = timedelta(days=1)
NOW = f.NOW + 100 * DAY


@define
class Cast:
    org_id: str
    program: str
    other_program: str
    contract: str
    other_contract: str
    course: str
    other_course: str
    ids: dict[str, str]  # name -> learner ID

    def names(self, learner_ids: set[str]) -> set[str]:
        by_id = {v: k for k, v in self.ids.items()}
        return {by_id[i] for i in learner_ids}


def _cast(uow_factory: UowFactory) -> Cast:
    org = f.organization()
    prog, prog2 = f.program(org), f.program(org, "Second", slug="second")
    deal, deal2 = f.contract(org), f.contract(org)
    c1 = Course.create(org.id, course_id="C1", slug="c-one", name="C1", now=f.NOW)
    c2 = Course.create(org.id, course_id="C2", slug="c-two", name="C2", now=f.NOW)
    spec = Specialization.create(org.id, slug="s", name="S", courses=[c1], now=f.NOW)
    names = ["ivy", "mo", "old", "eve", "ina", "spec", "ace", "vet", "rex", "opt"]
    people = {n: f.learner(org, f"{n}@acme.example", n.title()) for n in names}
    joined = dict.fromkeys(names, NOW - 10 * DAY) | {"old": NOW - 100 * DAY}
    joined |= {"ina": NOW - 60 * DAY, "vet": NOW - 60 * DAY, "ace": NOW - 20 * DAY}
    joined |= {"rex": NOW - 90 * DAY}
    memberships: list[Membership] = []
    for n, person in people.items():
        m = Membership.invite(
            org.id, prog.id, person.id, (deal2 if n == "eve" else deal).id, now=NOW - 200 * DAY
        )
        if n != "ivy":
            m = m.accept(joined[n])
        if n == "rex":
            m = m.remove(NOW - 5 * DAY)
        memberships.append(m)
    memberships.append(
        Membership.invite(org.id, prog2.id, people["mo"].id, deal.id, now=NOW - 3 * DAY)
    )

    def enroll(n: str, target: str, kind: EntryKind = EntryKind.COURSE) -> Enrollment:
        return Enrollment.create(
            org.id, prog.id, people[n].id, kind=kind, target_id=target, contract_id=deal.id,
            now=joined[n] + DAY,
        )  # fmt: skip

    e = {
        "eve": enroll("eve", c1.id),
        "ina": enroll("ina", c1.id),
        "spec": enroll("spec", spec.id, EntryKind.SPECIALIZATION),
        "ace": enroll("ace", c2.id),
        "vet": enroll("vet", c2.id),
        "rex": enroll("rex", c1.id),
    }
    figures = [
        EnrollmentProgress(e["eve"].id, last_activity_at=NOW - 5 * DAY),
        EnrollmentProgress(e["ina"].id, last_activity_at=NOW - 40 * DAY),
        EnrollmentProgress(
            e["ace"].id, completed_at=NOW - 10 * DAY, last_activity_at=NOW - 10 * DAY
        ),
        EnrollmentProgress(
            e["vet"].id, completed_at=NOW - 40 * DAY, last_activity_at=NOW - 40 * DAY
        ),
        EnrollmentProgress(e["rex"].id, last_activity_at=NOW - 60 * DAY),
    ]
    with uow_factory() as uow:
        uow.organizations.add(org)
        for p in (prog, prog2):
            uow.programs.add(p)
        for d in (deal, deal2):
            uow.contracts.add(d)
        for c in (c1, c2):
            uow.courses.add(c)
        uow.specializations.add(spec)
        uow.learners.add_many(list(people.values()))
        uow.memberships.add_many(memberships)
        for enrollment in e.values():
            uow.enrollments.add(enrollment)
        uow.progress.put_many(figures)
        uow.email_preferences.add(
            EmailOptOut(org.id, people["opt"].id, MessageCategory.ADMIN, NOW - DAY)
        )
        uow.commit()
    return Cast(
        org.id,
        prog.id,
        prog2.id,
        deal.id,
        deal2.id,
        c1.id,
        c2.id,
        {n: p.id for n, p in people.items()},
    )


def _audience(
    uow_factory: UowFactory,
    cast: Cast,
    audience: Audience,
    filters: AudienceFilter | None = None,
    scope: list[str] | None = None,
    now: datetime = NOW,
) -> set[str]:
    with uow_factory() as uow:
        rows = uow.messages.resolve(cast.org_id, audience, filters or AudienceFilter(), scope, now)
    return cast.names({r.learner_id for r in rows if r.in_audience})


EXPECTED = {
    Audience.INVITED_NOT_JOINED: {"ivy", "mo"},
    Audience.JOINED_NOT_ENROLLED: {"mo", "old", "opt"},
    Audience.ENROLLED_NOT_COMPLETED: {"eve", "ina"},
    Audience.INACTIVE: {"ina", "vet"},
    Audience.LONG_TERM_INACTIVE: {"old"},
    Audience.RECENT_COMPLETION: {"ace"},
    Audience.ALL_MEMBERS: {"mo", "old", "eve", "ina", "spec", "ace", "vet", "opt"},
}


@pytest.mark.parametrize("audience", list(Audience))
def test_each_audience_has_exactly_its_members(uow_factory: UowFactory, audience: Audience) -> None:
    cast = _cast(uow_factory)
    assert _audience(uow_factory, cast, audience) == EXPECTED[audience]


def test_removed_and_opted_out_learners_are_flagged(uow_factory: UowFactory) -> None:
    cast = _cast(uow_factory)
    with uow_factory() as uow:
        rows = uow.messages.resolve(cast.org_id, Audience.ALL_MEMBERS, AudienceFilter(), None, NOW)
    by_name = {cast.names({r.learner_id}).pop(): r for r in rows if r.program_id == cast.program}
    assert by_name["rex"].state.value == "DELETED_MEMBER"
    assert not by_name["rex"].in_audience
    assert by_name["opt"].opted_out
    assert not by_name["mo"].opted_out
    assert [(r.learner_id, r.program_id) for r in rows] == sorted(
        (r.learner_id, r.program_id) for r in rows
    )


def test_filters_combine(uow_factory: UowFactory) -> None:
    cast = _cast(uow_factory)
    members = Audience.ALL_MEMBERS
    assert _audience(
        uow_factory, cast, members, AudienceFilter.create(target_ids=[cast.course])
    ) == {"eve", "ina"}
    assert _audience(
        uow_factory, cast, members, AudienceFilter.create(contract_ids=[cast.other_contract])
    ) == {"eve"}
    assert _audience(
        uow_factory,
        cast,
        Audience.INVITED_NOT_JOINED,
        AudienceFilter.create(program_ids=[cast.other_program]),
    ) == {"mo"}
    assert _audience(
        uow_factory,
        cast,
        members,
        AudienceFilter.create(
            target_ids=[cast.course, cast.other_course], learner_ids=[cast.ids["ace"]]
        ),
    ) == {"ace"}
    selection = AudienceFilter.create(learner_ids=[cast.ids["rex"], cast.ids["eve"]])
    assert _audience(uow_factory, cast, members, selection) == {"eve"}  # removed stays out
    assert _audience(uow_factory, cast, Audience.INVITED_NOT_JOINED, None, [cast.program]) == {
        "ivy"
    }


def test_time_windows_are_measured_from_now(uow_factory: UowFactory) -> None:
    cast = _cast(uow_factory)
    # ace completed at NOW - 10 days: in the 30-day window until exactly 30 days later
    edge = NOW + 20 * DAY
    assert _audience(uow_factory, cast, Audience.RECENT_COMPLETION, now=edge) == set()
    assert _audience(
        uow_factory, cast, Audience.RECENT_COMPLETION, now=edge - timedelta(microseconds=1)
    ) == {"ace"}
    # eve was last active at NOW - 5 days: inactive 30 days after that, not before
    assert "eve" in _audience(uow_factory, cast, Audience.INACTIVE, now=NOW + 25 * DAY)
    assert "eve" not in _audience(
        uow_factory, cast, Audience.INACTIVE, now=NOW + 25 * DAY - timedelta(microseconds=1)
    )
    # eleven days earlier, ace's completion lies ahead and vet's is 29 days old
    assert _audience(uow_factory, cast, Audience.RECENT_COMPLETION, now=NOW - 11 * DAY) == {"vet"}
