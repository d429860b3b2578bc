"""History imports: memberships and enrollments with their own times, idempotent, no email."""

from __future__ import annotations

from datetime import timedelta

import pytest

import learnprog
from learnprog.mail.memory import InMemoryMailer
from learnprog.model import CourseItem, MemberState
from learnprog.services.history import EnrollmentRecord, ImportOutcome, MemberRecord
from tests.conftest import START
from tests.services.world import SYSTEM, World

DAY = timedelta(days=1)
PAST = START - 400 * DAY


def _records() -> list[MemberRecord]:
    return [
        MemberRecord(
            "Ana Lima",
            "ana.lima@acme.example",
            PAST,
            external_id="-00123",
            joined_at=PAST + DAY,
            profile={"location_region": "Ontario"},
            attributes={"cohort": "2025"},
        ),
        MemberRecord("Ivo Invited", "ivo@acme.example", PAST),
        MemberRecord(
            "Rui Removed", "rui@acme.example", PAST, joined_at=PAST + DAY, removed_at=PAST + 9 * DAY
        ),
        MemberRecord("Bad Times", "bad@acme.example", PAST, joined_at=PAST - DAY),
        MemberRecord("No Email", "not-an-address", PAST),
        MemberRecord("Ana Again", "ANA.LIMA@acme.example", PAST),
    ]


def test_members_import_with_their_own_times_and_states(
    lp: learnprog.Learnprog, mailer: InMemoryMailer
) -> None:
    w = World(lp, licenses=5)
    result = w.lp.invitations.import_members(SYSTEM, w.program.id, w.contract.id, _records())
    outcomes = [r.outcome for r in result.records]
    assert outcomes == [
        ImportOutcome.CREATED,
        ImportOutcome.CREATED,
        ImportOutcome.CREATED,
        ImportOutcome.REJECTED,
        ImportOutcome.REJECTED,
        ImportOutcome.EXISTING,
    ]
    assert "joined_at" in str(result.records[3].reason)
    assert result.records[5].record_id == result.records[0].record_id
    states = {
        learner.full_name: (m.state, m.invited_at, m.joined_at)
        for learner, m in lp.invitations.members(w.admin, w.program.id)
    }
    assert states["Ana Lima"] == (MemberState.MEMBER, PAST, PAST + DAY)
    assert states["Ivo Invited"][0] is MemberState.INVITED
    assert states["Rui Removed"][0] is MemberState.DELETED_MEMBER
    assert w.used() == 1  # only the current MEMBER holds a license
    ana = lp.invitations.get_learner(w.admin, str(result.records[0].record_id))
    assert (ana.external_id, ana.profile.location_region) == ("-00123", "Ontario")
    lp.mail.dispatch(SYSTEM)
    assert mailer.sent == []  # history sends no email


def test_importing_members_twice_changes_nothing(lp: learnprog.Learnprog) -> None:
    w = World(lp, licenses=5)
    lp.invitations.import_members(SYSTEM, w.program.id, w.contract.id, _records())
    audit_before = len(lp.audit.entries(w.admin, w.org.id))
    again = lp.invitations.import_members(SYSTEM, w.program.id, w.contract.id, _records())
    assert (again.created, again.existing, len(again.rejected)) == (0, 4, 2)
    assert len(lp.audit.entries(w.admin, w.org.id)) == audit_before
    assert w.used() == 1


def test_members_past_the_license_count_are_rejected_one_by_one(lp: learnprog.Learnprog) -> None:
    w = World(lp, licenses=1)
    records = [
        MemberRecord(f"P {i}", f"p{i}@acme.example", PAST, joined_at=PAST + DAY) for i in range(3)
    ]
    result = lp.invitations.import_members(SYSTEM, w.program.id, w.contract.id, records)
    assert [r.outcome.value for r in result.records] == ["created", "rejected", "rejected"]
    assert "no license left" in str(result.rejected[0].reason)


def test_a_chunk_takes_the_licenses_left_in_input_order(lp_any: learnprog.Learnprog) -> None:
    # a chunk takes its licenses at once: the records get them in input order, as one take
    # per record would, and a learner rejected for want of a license may come back INVITED
    w = World(lp_any, licenses=2)
    joined = PAST + DAY
    records = [
        MemberRecord("P 0", "p0@acme.example", PAST, joined_at=joined),
        MemberRecord("P 1", "p1@acme.example", PAST),  # INVITED: holds no license
        MemberRecord("P 2", "p2@acme.example", PAST, joined_at=joined),
        MemberRecord("P 3", "p3@acme.example", PAST, joined_at=joined),  # none left
        MemberRecord("P 3 invited", "P3@acme.example", PAST),  # the same learner, INVITED
        MemberRecord("P 0 again", "p0@acme.example", PAST, joined_at=joined),
    ]
    result = lp_any.invitations.import_members(SYSTEM, w.program.id, w.contract.id, records)
    assert [r.outcome.value for r in result.records] == [
        "created", "created", "created", "rejected", "created", "existing",
    ]  # fmt: skip
    assert "no license left" in str(result.records[3].reason)
    assert result.records[5].record_id == result.records[0].record_id
    assert w.used() == 2
    states = {
        learner.full_name: m.state
        for learner, m in lp_any.invitations.members(w.admin, w.program.id)
    }
    assert states == {
        "P 0": MemberState.MEMBER,
        "P 1": MemberState.INVITED,
        "P 2": MemberState.MEMBER,
        "P 3 invited": MemberState.INVITED,
    }
    audit = lp_any.audit.entries(w.admin, w.org.id)
    assert sum(e.action == "learner.import" for e in audit) == 4
    assert sum(e.action == "membership.import" for e in audit) == 4


def test_enrollments_import_and_report_each_record(lp: learnprog.Learnprog) -> None:
    w = World(lp, licenses=5)
    members = lp.invitations.import_members(SYSTEM, w.program.id, w.contract.id, _records())
    ana, ivo = (str(members.records[i].record_id) for i in (0, 1))
    course = lp.programs.add_course(
        w.admin,
        w.org.id,
        course_id="C1",
        slug="c-one",
        name="C1",
        items=[CourseItem.create("V", kind="video", lesson="L", id="v1")],
    )
    records = [
        EnrollmentRecord(ana, course.id, PAST + 2 * DAY, PAST + 5 * DAY),
        EnrollmentRecord(ana, course.id, PAST + 6 * DAY),
        EnrollmentRecord(ivo, course.id, PAST + 2 * DAY),  # never joined
        EnrollmentRecord(ana, "nope", PAST + 2 * DAY),
        EnrollmentRecord(ana, course.id, PAST + 9 * DAY, PAST + 8 * DAY),  # ends first
    ]
    result = lp.learning.record_enrollments(SYSTEM, w.program.id, records)
    assert [r.outcome.value for r in result.records] == [
        "created",
        "created",
        "rejected",
        "rejected",
        "rejected",
    ]
    assert "never joined" in str(result.records[2].reason)
    again = lp.learning.record_enrollments(SYSTEM, w.program.id, records[:2])
    assert [r.outcome.value for r in again.records] == ["existing", "existing"]
    assert [r.record_id for r in again.records] == [r.record_id for r in result.records[:2]]
    enrollments = lp.learning.enrollments(w.admin, w.program.id)
    assert [(e.enrolled_at, e.is_current) for e in enrollments] == [
        (PAST + 2 * DAY, False),
        (PAST + 6 * DAY, True),
    ]
    with pytest.raises(learnprog.PermissionDeniedError):
        lp.learning.record_enrollments(w.learner("ana.lima@acme.example"), w.program.id, records)


def test_a_rejected_history_enrollment_takes_nothing_from_the_contract(
    lp: learnprog.Learnprog,
) -> None:
    w = World(lp, kind="enrollments", licenses=3)
    members = lp.invitations.import_members(
        SYSTEM, w.program.id, w.contract.id, [MemberRecord("Ana", "ana.l@acme.example", PAST,
                                                            joined_at=PAST + DAY)]
    )  # fmt: skip
    ana = str(members.records[0].record_id)
    course = lp.programs.add_course(w.admin, w.org.id, course_id="C1", slug="c-one", name="C1")
    bad = [
        EnrollmentRecord(ana, course.id, PAST + 9 * DAY, PAST + 8 * DAY),  # ends first
        EnrollmentRecord(ana, course.id, PAST + 2 * DAY, START + 30 * DAY),  # ends in the future
        EnrollmentRecord(7, course.id, PAST + 2 * DAY),  # type: ignore[arg-type]
    ]
    result = lp.learning.record_enrollments(SYSTEM, w.program.id, bad)
    assert [r.outcome.value for r in result.records] == ["rejected"] * 3
    assert "unenrolled_at" in str(result.records[0].reason)
    assert "learner_id" in str(result.records[2].reason)
    assert w.used() == 0
    assert lp.learning.enrollments(w.admin, w.program.id) == []


def test_history_windows_of_one_target_never_overlap(lp: learnprog.Learnprog) -> None:
    w = World(lp, licenses=3)
    members = lp.invitations.import_members(
        SYSTEM, w.program.id, w.contract.id, [MemberRecord("Ana", "ana.l@acme.example", PAST,
                                                            joined_at=PAST + DAY)]
    )  # fmt: skip
    ana = str(members.records[0].record_id)
    course = lp.programs.add_course(w.admin, w.org.id, course_id="C1", slug="c-one", name="C1")
    lp.learning.record_enrollment(SYSTEM, w.program.id, ana, course.id, enrolled_at=PAST + 5 * DAY)
    with pytest.raises(learnprog.ValidationError, match="overlaps"):
        lp.learning.record_enrollment(
            SYSTEM, w.program.id, ana, course.id, enrolled_at=PAST + 2 * DAY,
            unenrolled_at=PAST + 6 * DAY,
        )  # fmt: skip
    earlier = lp.learning.record_enrollment(
        SYSTEM, w.program.id, ana, course.id, enrolled_at=PAST + 2 * DAY,
        unenrolled_at=PAST + 5 * DAY,
    )  # fmt: skip
    assert not earlier.is_current


def test_imports_refuse_removed_programs_bad_profiles_and_bad_callbacks(
    lp: learnprog.Learnprog,
) -> None:
    w = World(lp, licenses=3)
    bad_profile = MemberRecord("Bo", "bo@acme.example", PAST, profile=None)  # type: ignore[arg-type]
    result = lp.invitations.import_members(SYSTEM, w.program.id, w.contract.id, [bad_profile])
    assert "profile" in str(result.rejected[0].reason)
    with pytest.raises(learnprog.ValidationError, match="on_progress"):
        lp.invitations.import_members(
            SYSTEM,
            w.program.id,
            w.contract.id,
            _records(),
            on_progress=5,  # type: ignore[arg-type]
        )
    assert lp.invitations.members(w.admin, w.program.id) == []
    lp.invitations.remove_program(w.admin, w.program.id, confirm="academy")
    with pytest.raises(learnprog.ValidationError, match="removed"):
        lp.invitations.import_members(SYSTEM, w.program.id, w.contract.id, _records())


def test_a_member_record_may_draw_on_its_own_contract(lp: learnprog.Learnprog) -> None:
    w = World(lp, licenses=5)
    now = lp.context.clock.now()
    other = lp.programs.create_contract(
        w.admin, w.org.id, "Year 2", kind="licenses", quantity=3,
        starts_at=now - DAY, ends_at=now + 300 * DAY,
    )  # fmt: skip
    records = [
        MemberRecord("Own", "own@acme.example", PAST, joined_at=PAST + DAY, contract_id=other.id),
        MemberRecord("Default", "def@acme.example", PAST, joined_at=PAST + DAY),
        MemberRecord("Stray", "stray@acme.example", PAST, contract_id="no-such-contract"),
    ]
    result = lp.invitations.import_members(SYSTEM, w.program.id, w.contract.id, records)
    outcomes = [r.outcome for r in result.records]
    assert outcomes == [ImportOutcome.CREATED, ImportOutcome.CREATED, ImportOutcome.REJECTED]
    assert "no-such-contract" in str(result.records[2].reason)
    drawn = {
        learner.full_name: m.contract_id
        for learner, m in lp.invitations.members(w.admin, w.program.id)
    }
    assert drawn == {"Own": other.id, "Default": w.contract.id}
    options = lp.invitations.contract_options(w.admin, w.program.id)
    used = {o.contract.id: o.contract.used for o in options}
    assert used == {w.contract.id: 1, other.id: 1}
