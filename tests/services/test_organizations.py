"""OrganizationService and ProgramService behaviour, on memory and SQLite."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

import learnprog
from learnprog.errors import ConflictError, NotFoundError, ValidationError
from learnprog.model import (
    Assessment,
    OrgAdminActor,
    ReportSchedule,
    SystemActor,
    Weekday,
)

SYSTEM = SystemActor()
START = datetime(2026, 1, 1, tzinfo=UTC)
END = datetime(2027, 1, 1, tzinfo=UTC)


def _org_with_admin(lp: learnprog.Learnprog) -> tuple[str, OrgAdminActor]:
    org = lp.organizations.create_organization(SYSTEM, "Acme", email_domains=["Acme.Example"])
    lp.organizations.register_learner(SYSTEM, org.id, "Ana Lima", "Ana.Lima@acme.example")
    lp.organizations.add_admin(SYSTEM, org.id, "ana.lima@ACME.example", role="organization")
    actor = lp.organizations.resolve_actor(SYSTEM, org.id, " ANA.LIMA@acme.example ")
    assert isinstance(actor, OrgAdminActor)
    return org.id, actor


def test_first_admin_by_system_then_admins_add_admins(lp: learnprog.Learnprog) -> None:
    org_id, ana = _org_with_admin(lp)
    lp.organizations.register_learner(ana, org_id, "Bruno Costa", "bruno@acme.example")
    grants = lp.organizations.add_admin(ana, org_id, "bruno@acme.example", role="organization")
    assert [g.role.value for g in grants] == ["organization"]
    assert len(lp.organizations.list_admins(ana, org_id)) == 2


def test_an_admin_must_be_an_existing_account(lp: learnprog.Learnprog) -> None:
    org_id, ana = _org_with_admin(lp)
    with pytest.raises(NotFoundError, match=r"ghost@acme\.example"):
        lp.organizations.add_admin(ana, org_id, "ghost@acme.example", role="organization")


def test_an_admin_must_have_an_address_on_the_organizations_domains(
    lp: learnprog.Learnprog,
) -> None:
    org_id, ana = _org_with_admin(lp)
    lp.organizations.register_learner(ana, org_id, "Outsider", "out@gmail.example")
    with pytest.raises(ValidationError, match="domains") as caught:
        lp.organizations.add_admin(ana, org_id, "out@gmail.example", role="organization")
    assert caught.value.field == "email"
    assert len(lp.organizations.list_admins(ana, org_id)) == 1


def test_a_program_admin_needs_programs_of_the_same_organization(
    lp: learnprog.Learnprog,
) -> None:
    org_id, ana = _org_with_admin(lp)
    lp.organizations.register_learner(ana, org_id, "Paulo", "paulo@acme.example")
    with pytest.raises(ValidationError, match="at least one program"):
        lp.organizations.add_admin(ana, org_id, "paulo@acme.example", role="program")
    globex = lp.organizations.create_organization(
        SYSTEM, "Globex", email_domains=["globex.example"]
    )
    elsewhere = lp.programs.create_program(ana, org_id, "Acme Only")
    lp.organizations.register_learner(SYSTEM, globex.id, "Gus", "gus@globex.example")
    lp.organizations.add_admin(SYSTEM, globex.id, "gus@globex.example", role="organization")
    gus = lp.organizations.resolve_actor(SYSTEM, globex.id, "gus@globex.example")
    with pytest.raises(ValidationError, match="another organization"):
        lp.organizations.add_admin(
            gus, globex.id, "gus@globex.example", role="program", program_ids=[elsewhere.id]
        )


def test_duplicate_grant_is_a_conflict_naming_the_admin(lp_any: learnprog.Learnprog) -> None:
    lp = lp_any  # the unique key's raw text differed by backend; the message must not
    org_id, ana = _org_with_admin(lp)
    with pytest.raises(ConflictError) as info:
        lp.organizations.add_admin(ana, org_id, "ANA.lima@acme.example", role="organization")
    assert str(info.value) == "Ana.Lima@acme.example is already an organization admin of 'Acme'"
    assert (info.value.kind, info.value.key) == ("admin", "Ana.Lima@acme.example")
    program = lp.programs.create_program(ana, org_id, "Academy", slug="academy")
    lp.organizations.register_learner(ana, org_id, "Bo Park", "bo@acme.example")
    lp.organizations.add_admin(ana, org_id, "bo@acme.example", role="program",
                               program_ids=[program.id])  # fmt: skip
    with pytest.raises(ConflictError) as info:
        lp.organizations.add_admin(ana, org_id, "bo@acme.example", role="program",
                                   program_ids=[program.id])  # fmt: skip
    assert str(info.value) == "bo@acme.example is already a program admin of academy"
    assert len(lp.organizations.list_admins(ana, org_id)) == 2


def test_the_last_organization_admin_cannot_be_removed(lp: learnprog.Learnprog) -> None:
    org_id, ana = _org_with_admin(lp)
    with pytest.raises(ConflictError, match="last organization admin"):
        lp.organizations.remove_admin(ana, org_id, ana.learner_id)
    assert len(lp.organizations.list_admins(ana, org_id)) == 1


def test_unknown_role_is_a_validation_error(lp: learnprog.Learnprog) -> None:
    org_id, ana = _org_with_admin(lp)
    with pytest.raises(ValidationError, match="role"):
        lp.organizations.add_admin(ana, org_id, "ana.lima@acme.example", role="superuser")


def test_settings_change_is_audited_field_by_field(lp: learnprog.Learnprog) -> None:
    org_id, ana = _org_with_admin(lp)
    academy = lp.programs.create_program(ana, org_id, "Data Academy")
    schedule = ReportSchedule(frozenset({academy.id}), frozenset({Weekday.MONDAY}))
    updated = lp.organizations.update_settings(
        ana,
        org_id,
        brand_color="#0056d2",
        report_schedule=schedule,
        default_invitation_message="Join us!",
    )
    assert updated.brand_color == "#0056D2"
    assert lp.organizations.get_organization(ana, org_id) == updated
    entry = lp.audit.entries(ana, org_id, object_id=org_id)[0]
    assert entry.action == "organization.update"
    assert entry.actor == f"org_admin:{ana.learner_id}"
    assert entry.changes["brand_color"] == [None, "#0056D2"]
    assert entry.changes["report_schedule"] == [
        {"program_ids": [], "weekdays": []},
        {"program_ids": [academy.id], "weekdays": ["monday"]},
    ]
    assert set(entry.changes) == {"brand_color", "report_schedule", "default_invitation_message"}


@pytest.mark.parametrize("timezone", ["Mars/Olympus", "America", "..", "/etc/localtime"])
def test_bad_settings_change_nothing(lp: learnprog.Learnprog, timezone: str) -> None:
    org_id, ana = _org_with_admin(lp)
    before = lp.organizations.get_organization(ana, org_id)
    with pytest.raises(ValidationError, match="is not an IANA time zone") as caught:
        lp.organizations.update_settings(ana, org_id, name="Renamed", timezone=timezone)
    assert caught.value.field == "timezone"
    assert lp.organizations.get_organization(ana, org_id) == before
    assert lp.audit.entries(ana, org_id)[0].action == "admin.add"


def test_program_slug_is_fixed_and_unique(lp: learnprog.Learnprog) -> None:
    org_id, ana = _org_with_admin(lp)
    academy = lp.programs.create_program(ana, org_id, "Data Academy", slug="data-academy")
    renamed = lp.programs.update_program(
        ana, academy.id, name="Data Academy 2", course_enrollment_limit=3
    )
    assert renamed.slug == academy.slug
    assert renamed.course_enrollment_limit == 3
    with pytest.raises(ConflictError, match="data-academy"):
        lp.programs.create_program(ana, org_id, "Other", slug="data-academy")
    with pytest.raises(ValidationError):
        lp.programs.create_program(ana, org_id, "Bad", slug="Data Academy!")
    assert len(lp.programs.list_programs(ana, org_id)) == 1


def test_a_host_finds_a_program_and_its_organization_by_slug(lp: learnprog.Learnprog) -> None:
    org_id, ana = _org_with_admin(lp)
    academy = lp.programs.create_program(ana, org_id, "Data Academy", slug="data-academy")
    found = lp.programs.find_program(SYSTEM, " data-academy ")
    assert (found.id, found.organization_id) == (academy.id, org_id)
    assert lp.programs.find_program(ana, "data-academy") == found
    assert lp.programs.find_program(SYSTEM, found.slug) == found  # the ProgramSlug itself
    with pytest.raises(NotFoundError, match="nowhere"):
        lp.programs.find_program(SYSTEM, "nowhere")
    with pytest.raises(ValidationError):
        lp.programs.find_program(SYSTEM, 42)  # type: ignore[arg-type]


def test_update_program_can_clear_an_optional_setting(lp: learnprog.Learnprog) -> None:
    org_id, ana = _org_with_admin(lp)
    academy = lp.programs.create_program(
        ana, org_id, "Academy", tagline="Old", course_enrollment_limit=2
    )
    cleared = lp.programs.update_program(
        ana, academy.id, tagline=None, course_enrollment_limit=None
    )
    assert (cleared.tagline, cleared.course_enrollment_limit) == (None, None)
    assert lp.programs.get_program(ana, academy.id) == cleared


def test_contracts_report_their_remaining_count(lp: learnprog.Learnprog) -> None:
    org_id, ana = _org_with_admin(lp)
    lp.programs.create_contract(
        ana, org_id, "Licenses", kind="licenses", quantity=25, starts_at=START, ends_at=END
    )
    lp.programs.create_contract(
        ana, org_id, "Unlimited", kind="unlimited", starts_at=START.replace(month=2), ends_at=END
    )
    listed = lp.programs.list_contracts(ana, org_id)
    assert [(c.name, c.kind.value, c.remaining) for c in listed] == [
        ("Licenses", "licenses", 25),
        ("Unlimited", "unlimited", None),
    ]
    with pytest.raises(ValidationError, match="quantity"):
        lp.programs.create_contract(
            ana, org_id, "Bad", kind="licenses", starts_at=START, ends_at=END
        )
    with pytest.raises(ValidationError, match="after the start"):
        lp.programs.create_contract(
            ana, org_id, "Bad", kind="unlimited", starts_at=END, ends_at=START
        )


def test_course_with_unknown_skill_is_refused_and_nothing_is_written(
    lp: learnprog.Learnprog,
) -> None:
    org_id, ana = _org_with_admin(lp)
    skill = lp.programs.add_skill(ana, org_id, domain="Business", name="Finance")
    good = Assessment.create("Quiz", id="q", skill_ids=[skill.id])
    bad = Assessment.create("Exam", id="e", skill_ids=["no-such-skill"])
    audit_before = len(lp.audit.entries(ana, org_id))
    with pytest.raises(ValidationError, match="unknown skills"):
        lp.programs.add_course(
            ana, org_id, course_id="C1", slug="c1", name="One", assessments=[good, bad]
        )
    assert lp.programs.list_courses(ana, org_id) == []
    assert len(lp.audit.entries(ana, org_id)) == audit_before
    course = lp.programs.add_course(
        ana, org_id, course_id="C1", slug="c1", name="One", partner="Uni", assessments=[good]
    )
    assert lp.programs.list_courses(ana, org_id) == [course]


def test_specialization_courses_come_from_one_partner(lp: learnprog.Learnprog) -> None:
    org_id, ana = _org_with_admin(lp)
    one = lp.programs.add_course(
        ana, org_id, course_id="C1", slug="c1", name="One", partner="INSEAD"
    )
    two = lp.programs.add_course(
        ana, org_id, course_id="C2", slug="c2", name="Two", partner="Wharton"
    )
    three = lp.programs.add_course(
        ana, org_id, course_id="C3", slug="c3", name="Three", partner="INSEAD"
    )
    with pytest.raises(ValidationError, match="same partner"):
        lp.programs.add_specialization(
            ana, org_id, slug="mixed", name="Mixed", course_ids=[one.id, two.id]
        )
    with pytest.raises(NotFoundError):
        lp.programs.add_specialization(ana, org_id, slug="ghost", name="Ghost", course_ids=["nope"])
    spec = lp.programs.add_specialization(
        ana, org_id, slug="blockchain", name="Blockchain", course_ids=[three.id, one.id]
    )
    assert spec.course_ids == (three.id, one.id)
    assert spec.partner == "INSEAD"
    assert lp.programs.list_specializations(ana, org_id) == [spec]
    with pytest.raises(ConflictError):
        lp.programs.add_specialization(
            ana, org_id, slug="blockchain", name="Again", course_ids=[one.id]
        )


def test_registering_the_same_email_twice_is_a_conflict(lp: learnprog.Learnprog) -> None:
    org_id, ana = _org_with_admin(lp)
    with pytest.raises(ConflictError):
        lp.organizations.register_learner(ana, org_id, "Other Ana", " ANA.lima@Acme.example")


def test_resolve_actor_gives_program_admin_and_learner(lp: learnprog.Learnprog) -> None:
    org_id, ana = _org_with_admin(lp)
    academy = lp.programs.create_program(ana, org_id, "Academy")
    lp.organizations.register_learner(ana, org_id, "Paulo", "paulo@acme.example")
    lp.organizations.register_learner(ana, org_id, "Lia", "lia@acme.example")
    lp.organizations.add_admin(
        ana, org_id, "paulo@acme.example", role="program", program_ids=[academy.id]
    )
    paulo = lp.organizations.resolve_actor(SYSTEM, org_id, "paulo@acme.example")
    lia = lp.organizations.resolve_actor(SYSTEM, org_id, "lia@acme.example")
    assert isinstance(paulo, learnprog.ProgramAdminActor)
    assert paulo.program_ids == frozenset({academy.id})
    assert isinstance(lia, learnprog.LearnerActor)
    as_learner = lp.organizations.resolve_actor(
        SYSTEM, org_id, "paulo@acme.example", as_learner=True
    )
    assert as_learner == learnprog.LearnerActor(org_id, paulo.learner_id)  # for the learner app
    with pytest.raises(NotFoundError):
        lp.organizations.resolve_actor(SYSTEM, org_id, "nobody@acme.example")
