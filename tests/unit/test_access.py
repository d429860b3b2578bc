"""Unit tests of learnprog.model.access: the permission rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from learnprog.errors import PermissionDeniedError
from learnprog.model.access import (
    Actor,
    AdminGrant,
    AdminRole,
    LearnerActor,
    OrgAdminActor,
    ProgramAdminActor,
    SystemActor,
    require_any_admin,
    require_org_admin,
    require_program_admin,
    require_self,
    require_system,
    visible_program_ids,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ORG = "org-1"
OTHER_ORG = "org-2"

SYSTEM = SystemActor()
ORG_ADMIN = OrgAdminActor(ORG, "alice")
PROG_ADMIN = ProgramAdminActor(ORG, "bob", frozenset({"p1", "p2"}))
LEARNER = LearnerActor(ORG, "carol")

ORG_GRANT = AdminGrant(ORG, "alice", AdminRole.ORGANIZATION, NOW)
P1_GRANT = AdminGrant(ORG, "bob", AdminRole.PROGRAM, NOW, program_id="p1")
P3_GRANT = AdminGrant(ORG, "bob", AdminRole.PROGRAM, NOW, program_id="p3")


# --- describe / scope -------------------------------------------------------------------------


def test_describe() -> None:
    assert SYSTEM.describe() == "system"
    assert ORG_ADMIN.describe() == "org_admin:alice"
    assert PROG_ADMIN.describe() == "program_admin:bob"
    assert LEARNER.describe() == "learner:carol"


def test_grant_scope() -> None:
    assert ORG_GRANT.scope == "*"
    assert P1_GRANT.scope == "p1"


# --- require_system ---------------------------------------------------------------------------


def test_require_system_allows_system() -> None:
    require_system(SYSTEM, "dispatch the outbox")


@pytest.mark.parametrize("actor", [ORG_ADMIN, PROG_ADMIN, LEARNER])
def test_require_system_denies_people(actor: Actor) -> None:
    with pytest.raises(PermissionDeniedError, match=r"may not dispatch the outbox$"):
        require_system(actor, "dispatch the outbox")


# --- require_org_admin ------------------------------------------------------------------------


def test_org_admin_with_grant_allowed() -> None:
    require_org_admin(ORG_ADMIN, ORG, [ORG_GRANT], "change settings")


def test_org_admin_grants_may_be_any_iterable() -> None:
    require_org_admin(ORG_ADMIN, ORG, iter([P1_GRANT, ORG_GRANT]), "change settings")


def test_org_admin_without_stored_grant_denied() -> None:
    with pytest.raises(PermissionDeniedError, match="org_admin:alice may not change settings"):
        require_org_admin(ORG_ADMIN, ORG, [], "change settings")


@pytest.mark.parametrize(
    "grant",
    [
        AdminGrant(ORG, "someone-else", AdminRole.ORGANIZATION, NOW),
        AdminGrant(OTHER_ORG, "alice", AdminRole.ORGANIZATION, NOW),
        AdminGrant(ORG, "alice", AdminRole.PROGRAM, NOW, program_id="p1"),
    ],
)
def test_org_admin_with_non_matching_grant_denied(grant: AdminGrant) -> None:
    with pytest.raises(PermissionDeniedError, match="may not change settings"):
        require_org_admin(ORG_ADMIN, ORG, [grant], "change settings")


def test_org_admin_of_another_organization_denied() -> None:
    intruder = OrgAdminActor(OTHER_ORG, "alice")
    with pytest.raises(PermissionDeniedError, match="may not change settings"):
        require_org_admin(intruder, ORG, [ORG_GRANT], "change settings")


def test_org_admin_acting_on_another_organization_denied() -> None:
    grant = AdminGrant(OTHER_ORG, "alice", AdminRole.ORGANIZATION, NOW)
    with pytest.raises(PermissionDeniedError, match="may not view analytics"):
        require_org_admin(ORG_ADMIN, OTHER_ORG, [grant], "view analytics")


@pytest.mark.parametrize("actor", [PROG_ADMIN, LEARNER])
def test_org_admin_rule_denies_program_admins_and_learners(actor: Actor) -> None:
    with pytest.raises(PermissionDeniedError, match="may not view analytics"):
        require_org_admin(actor, ORG, [ORG_GRANT, P1_GRANT], "view analytics")


def test_org_admin_rule_system_only_when_allowed() -> None:
    require_org_admin(SYSTEM, ORG, [], "add admin", allow_system=True)
    with pytest.raises(PermissionDeniedError, match="system may not add admin"):
        require_org_admin(SYSTEM, ORG, [], "add admin")


# --- require_program_admin --------------------------------------------------------------------


def test_program_admin_with_grant_allowed() -> None:
    require_program_admin(PROG_ADMIN, ORG, "p1", [P1_GRANT], "invite")


def test_org_admin_allowed_on_any_program() -> None:
    require_program_admin(ORG_ADMIN, ORG, "p-any", [ORG_GRANT], "invite")


def test_org_admin_without_grant_denied_on_program() -> None:
    with pytest.raises(PermissionDeniedError, match="org_admin:alice may not invite"):
        require_program_admin(ORG_ADMIN, ORG, "p1", [], "invite")


def test_program_admin_claiming_program_without_stored_grant_denied() -> None:
    # bob claims p2 but only p1 is stored.
    with pytest.raises(PermissionDeniedError, match="program_admin:bob may not invite"):
        require_program_admin(PROG_ADMIN, ORG, "p2", [P1_GRANT], "invite")


def test_program_admin_with_grant_but_no_claim_denied() -> None:
    with pytest.raises(PermissionDeniedError, match="may not invite"):
        require_program_admin(PROG_ADMIN, ORG, "p3", [P3_GRANT], "invite")


def test_program_admin_grant_of_other_learner_denied() -> None:
    grant = AdminGrant(ORG, "dave", AdminRole.PROGRAM, NOW, program_id="p1")
    with pytest.raises(PermissionDeniedError, match="may not invite"):
        require_program_admin(PROG_ADMIN, ORG, "p1", [grant], "invite")


def test_program_admin_of_another_organization_denied() -> None:
    intruder = ProgramAdminActor(OTHER_ORG, "bob", frozenset({"p1"}))
    with pytest.raises(PermissionDeniedError, match="may not invite"):
        require_program_admin(intruder, ORG, "p1", [P1_GRANT], "invite")


def test_program_admin_organization_grant_is_not_enough() -> None:
    # An org-role grant for bob does not make a ProgramAdminActor pass the program check.
    grant = AdminGrant(ORG, "bob", AdminRole.ORGANIZATION, NOW)
    with pytest.raises(PermissionDeniedError, match="may not invite"):
        require_program_admin(PROG_ADMIN, ORG, "p1", [grant], "invite")


def test_learner_is_never_program_admin() -> None:
    grant = AdminGrant(ORG, "carol", AdminRole.PROGRAM, NOW, program_id="p1")
    with pytest.raises(PermissionDeniedError, match="learner:carol may not invite"):
        require_program_admin(LEARNER, ORG, "p1", [grant], "invite")


def test_program_admin_rule_system_only_when_allowed() -> None:
    require_program_admin(SYSTEM, ORG, "p1", [], "send report", allow_system=True)
    with pytest.raises(PermissionDeniedError, match="system may not send report"):
        require_program_admin(SYSTEM, ORG, "p1", [], "send report")


def test_program_admin_accepts_generator_of_grants() -> None:
    require_program_admin(PROG_ADMIN, ORG, "p1", (g for g in [P3_GRANT, P1_GRANT]), "invite")


# --- require_any_admin ------------------------------------------------------------------------


def test_any_admin_allows_org_admin_and_program_admin() -> None:
    require_any_admin(ORG_ADMIN, ORG, [ORG_GRANT], "list programs")
    require_any_admin(PROG_ADMIN, ORG, [P1_GRANT], "list programs")


@pytest.mark.parametrize(
    ("actor", "grants"),
    [
        (ORG_ADMIN, []),
        (PROG_ADMIN, []),
        (PROG_ADMIN, [P3_GRANT]),
        (ProgramAdminActor(OTHER_ORG, "bob", frozenset({"p1"})), [P1_GRANT]),
        (OrgAdminActor(OTHER_ORG, "alice"), [ORG_GRANT]),
        (LEARNER, [AdminGrant(ORG, "carol", AdminRole.ORGANIZATION, NOW)]),
        (SYSTEM, [ORG_GRANT]),
    ],
)
def test_any_admin_denies(actor: Actor, grants: list[AdminGrant]) -> None:
    with pytest.raises(PermissionDeniedError, match="may not list programs"):
        require_any_admin(actor, ORG, grants, "list programs")


# --- require_self -----------------------------------------------------------------------------


def test_require_self_allows_the_learner() -> None:
    require_self(LEARNER, ORG, "carol", "accept")


@pytest.mark.parametrize(
    "actor",
    [
        LearnerActor(ORG, "dave"),
        LearnerActor(OTHER_ORG, "carol"),
        OrgAdminActor(ORG, "carol"),
        ProgramAdminActor(ORG, "carol", frozenset({"p1"})),
        SYSTEM,
    ],
)
def test_require_self_denies_everyone_else(actor: Actor) -> None:
    with pytest.raises(PermissionDeniedError, match="may not accept"):
        require_self(actor, ORG, "carol", "accept")


# --- visible_program_ids ----------------------------------------------------------------------


def test_visible_programs_of_program_admin_are_claimed_and_stored() -> None:
    grants = [P1_GRANT, P3_GRANT, AdminGrant(ORG, "dave", AdminRole.PROGRAM, NOW, program_id="p2")]
    assert visible_program_ids(PROG_ADMIN, grants) == frozenset({"p1"})


def test_visible_programs_of_program_admin_without_grants_is_empty() -> None:
    assert visible_program_ids(PROG_ADMIN, []) == frozenset()


def test_visible_programs_of_org_admin_is_all() -> None:
    assert visible_program_ids(ORG_ADMIN, [ORG_GRANT]) is None
