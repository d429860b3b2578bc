"""Learner profiles: one at a time and from a CSV keyed by email or external ID."""

from __future__ import annotations

from datetime import timedelta

import pytest

import learnprog
from learnprog.errors import PermissionDeniedError, ValidationError
from learnprog.model import OrgAdminActor, ProgramAdminActor, SystemActor

SYSTEM = SystemActor()


class World:
    def __init__(self, lp: learnprog.Learnprog) -> None:
        self.lp = lp
        org = lp.organizations.create_organization(
            SYSTEM,
            "Acme",
            email_domains=["acme.example"],
            admin_name="Ana",
            admin_email="ana@acme.example",
        )
        self.org = org
        admin = lp.organizations.resolve_actor(SYSTEM, org.id, "ana@acme.example")
        assert isinstance(admin, OrgAdminActor)
        self.admin = admin
        now = lp.context.clock.now()
        self.program = lp.programs.create_program(admin, org.id, "Academy", slug="academy")
        self.other = lp.programs.create_program(admin, org.id, "Other", slug="other")
        self.contract = lp.programs.create_contract(
            admin,
            org.id,
            "Y1",
            kind="unlimited",
            starts_at=now - timedelta(days=1),
            ends_at=now + timedelta(days=30),
        )
        self.lia = lp.invitations.invite(
            admin,
            self.program.id,
            self.contract.id,
            full_name="Lia",
            email="lia@example.org",
            send_email=False,
        ).learner
        self.bo = lp.invitations.invite(
            admin,
            self.other.id,
            self.contract.id,
            full_name="Bo",
            email="bo@example.org",
            send_email=False,
        ).learner
        lp.organizations.register_learner(admin, org.id, "Paulo", "paulo@acme.example")
        lp.organizations.add_admin(
            admin, org.id, "paulo@acme.example", role="program", program_ids=[self.program.id]
        )
        paulo = lp.organizations.resolve_actor(SYSTEM, org.id, "paulo@acme.example")
        assert isinstance(paulo, ProgramAdminActor)
        self.paulo = paulo


@pytest.fixture
def world(lp: learnprog.Learnprog) -> World:
    return World(lp)


def test_update_one_learner_and_the_audit_log_shows_it(world: World) -> None:
    lp = world.lp
    updated = lp.invitations.update_learner(
        world.admin,
        world.lia.id,
        profile={"job_title": "Data Analyst", "location_city": "Porto"},
        attributes={"cost_center": "CC-7"},
    )
    assert updated.profile.job_title == "Data Analyst"
    assert updated.attributes == {"cost_center": "CC-7"}
    cleared = lp.invitations.update_learner(
        world.admin, world.lia.id, profile={"location_city": None}, attributes={"cost_center": ""}
    )
    assert cleared.profile.location_city is None
    assert cleared.profile.job_title == "Data Analyst"
    assert cleared.attributes == {}
    entry = lp.audit.entries(world.admin, world.org.id, object_id=world.lia.id)[0]
    assert entry.action == "learner.update"
    assert entry.changes["attributes"] == [{"cost_center": "CC-7"}, {}]


def test_a_program_admin_edits_only_learners_of_their_programs(world: World) -> None:
    lp = world.lp
    lp.invitations.update_learner(world.paulo, world.lia.id, profile={"job_type": "Full Time"})
    with pytest.raises(PermissionDeniedError):
        lp.invitations.update_learner(world.paulo, world.bo.id, profile={"job_type": "Intern"})
    assert lp.invitations.get_learner(world.admin, world.bo.id).profile.job_type is None


def test_bad_profile_input_is_refused(world: World) -> None:
    with pytest.raises(ValidationError) as caught:
        world.lp.invitations.update_learner(world.admin, world.lia.id, profile={"salary": "1"})
    assert caught.value.field == "salary"
    with pytest.raises(ValidationError):
        world.lp.invitations.update_learner(
            world.admin, world.lia.id, profile={"job_title": "A\r\nB"}
        )


def test_bulk_profiles_by_email_or_external_id(world: World) -> None:
    lp = world.lp
    lp.invitations.update_learner(world.admin, world.bo.id, attributes={"Team": "blue"})
    lp.organizations.register_learner(
        world.admin, world.org.id, "Cy", "cy@example.org", external_id="00042"
    )
    lp.organizations.register_learner(
        world.admin, world.org.id, "Di", "di@example.org", external_id="dup"
    )
    lp.organizations.register_learner(
        world.admin, world.org.id, "Ed", "ed@example.org", external_id="dup"
    )
    data = (
        b"email,external id,Job Title,Manager Email,Location Country,Team\n"
        b"LIA@example.org,,Analyst,boss@example.org,Portugal,red\n"
        b",00042,Engineer,,,\n"
        b"bo@example.org,,,,,blue\n"
        b"ghost@example.org,,Ghost,,,\n"
        b",dup,Twin,,,\n"
        b",,Nobody,,,\n"
        b'lia@example.org,,"Multi\nLine",,,\n'
    )
    results = lp.invitations.bulk_update_learners(world.admin, world.org.id, data)
    assert [(r.line, r.outcome) for r in results] == [
        (2, "updated"),
        (3, "updated"),
        (4, "unchanged"),
        (5, "not_found"),
        (6, "ambiguous"),
        (7, "rejected"),
        (8, "rejected"),
    ]
    assert results[0].changed == (
        "manager_email",
        "job_title",
        "location_country",
        "attributes.Team",
    )
    lia = lp.invitations.get_learner(world.admin, world.lia.id)
    assert (lia.profile.job_title, lia.profile.location_country) == ("Analyst", "Portugal")
    assert lia.attributes == {"Team": "red"}
    assert "job_title" in (results[6].reason or "")


def test_bulk_profiles_dry_run_and_missing_key_columns(world: World) -> None:
    data = b"Email,Job Title\nlia@example.org,Analyst\n"
    results = world.lp.invitations.bulk_update_learners(
        world.admin, world.org.id, data, dry_run=True
    )
    assert [r.outcome for r in results] == ["updated"]
    assert world.lp.invitations.get_learner(world.admin, world.lia.id).profile.job_title is None
    with pytest.raises(ValidationError, match="Email or External ID"):
        world.lp.invitations.bulk_update_learners(
            world.admin, world.org.id, b"Name,Job Title\nLia,Analyst\n"
        )
    with pytest.raises(PermissionDeniedError):
        world.lp.invitations.bulk_update_learners(world.paulo, world.org.id, data)
