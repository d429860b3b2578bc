"""Actors, administrator grants and the permission rules.

Source: guide, "Adding Administrators" and "Organization Admin vs. Program Admin":

- organization admins act on every program of their organization, see Analytics and change the
  global settings;
- program admins act only on their programs (settings, members, invitations, curriculum,
  removal) and never see Analytics;
- "Adding an administrator doesn't use up a license";
- a learner acts only on their own records (accept, enroll, feedback, unsubscribe); being a
  learner in a program grants no admin right;
- nobody reaches another organization.

The system actor is learnprog itself or the host acting without a person: it creates
organizations and their first admin, runs the outbox dispatcher and report schedules.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime
from typing import TypeAlias

from attrs import field, frozen

from learnprog.errors import PermissionDeniedError, ValidationError
from learnprog.model._rules import to_utc
from learnprog.model._typecheck import checked


@checked
@frozen
class SystemActor:
    """learnprog or the host acting on its own (bootstrap, dispatcher, schedules)."""

    def describe(self) -> str:
        """Return ``"system"``, the actor as written in the audit log."""
        return "system"


@checked
@frozen
class OrgAdminActor:
    """A person acting as an organization admin.

    Attributes:
        organization_id: the organization they administer.
        learner_id: their learner account.
    """

    organization_id: str
    learner_id: str

    def describe(self) -> str:
        """Return the actor as written in the audit log."""
        return f"org_admin:{self.learner_id}"


@checked
@frozen
class ProgramAdminActor:
    """A person acting as admin of some programs.

    Attributes:
        organization_id: the programs' organization.
        learner_id: their learner account.
        program_ids: the programs they claim to administer; each is checked against the stored
            grants on every call.
    """

    organization_id: str
    learner_id: str
    program_ids: frozenset[str]

    def describe(self) -> str:
        """Return the actor as written in the audit log."""
        return f"program_admin:{self.learner_id}"


@checked
@frozen
class LearnerActor:
    """A learner acting for themself.

    Attributes:
        organization_id: the learner's organization.
        learner_id: their learner account.
    """

    organization_id: str
    learner_id: str

    def describe(self) -> str:
        """Return the actor as written in the audit log."""
        return f"learner:{self.learner_id}"


Actor: TypeAlias = SystemActor | OrgAdminActor | ProgramAdminActor | LearnerActor
"""Whoever calls a service method: every method takes one, explicitly."""


class AdminRole(enum.StrEnum):
    """The two kinds of administrator (guide, "Organization Admin vs. Program Admin")."""

    ORGANIZATION = "organization"
    PROGRAM = "program"


@checked
@frozen
class AdminGrant:
    """A stored administrator right.

    Attributes:
        organization_id: the organization.
        learner_id: the admin's learner account.
        role: organization or program admin.
        program_id: the program, for a program admin; ``None`` for an organization admin.
        granted_at: aware UTC time the right was given.
    """

    organization_id: str
    learner_id: str
    role: AdminRole
    granted_at: datetime = field(converter=to_utc)
    program_id: str | None = None

    @property
    def scope(self) -> str:
        """``"*"`` for an organization admin, else the program ID: the grant's storage key."""
        return "*" if self.role is AdminRole.ORGANIZATION else str(self.program_id)


_ACTOR_TYPES = (SystemActor, OrgAdminActor, ProgramAdminActor, LearnerActor)


def check_actor(actor: object) -> Actor:
    """Return ``actor`` if it is one of the four actor classes.

    Raises:
        ValidationError: anything else (``None``, a string, a learner record).
    """
    if not isinstance(actor, _ACTOR_TYPES):
        raise ValidationError(
            "an actor is a SystemActor, OrgAdminActor, ProgramAdminActor or LearnerActor, "
            f"not {type(actor).__name__}",
            field="actor",
        )
    return actor


def _deny(actor: Actor, what: str) -> PermissionDeniedError:
    return PermissionDeniedError(f"{actor.describe()} may not {what}")


def require_system(actor: Actor, what: str) -> None:
    """Allow only the system actor.

    Raises:
        PermissionDeniedError: any other actor.
    """
    check_actor(actor)
    if not isinstance(actor, SystemActor):
        raise _deny(actor, what)


def require_org_admin(
    actor: Actor,
    organization_id: str,
    grants: Iterable[AdminGrant],
    what: str,
    *,
    allow_system: bool = False,
) -> None:
    """Allow an organization admin of ``organization_id`` (and the system, if allowed).

    Args:
        actor: who is acting.
        organization_id: the organization the action touches.
        grants: the stored grants of ``actor``'s learner in that organization.
        what: the action, for the error message.
        allow_system: let the system actor through too.

    Raises:
        PermissionDeniedError: anyone else, or an actor of another organization.
    """
    check_actor(actor)
    if isinstance(actor, SystemActor):
        if allow_system:
            return
        raise _deny(actor, what)
    if (
        isinstance(actor, OrgAdminActor)
        and actor.organization_id == organization_id
        and any(
            g.role is AdminRole.ORGANIZATION
            and g.organization_id == organization_id
            and g.learner_id == actor.learner_id
            for g in grants
        )
    ):
        return
    raise _deny(actor, what)


def require_program_admin(
    actor: Actor,
    organization_id: str,
    program_id: str,
    grants: Iterable[AdminGrant],
    what: str,
    *,
    allow_system: bool = False,
) -> None:
    """Allow an organization admin of the program's organization or an admin of the program.

    Raises:
        PermissionDeniedError: a learner, an admin of other programs only, an actor of
            another organization, or a program admin whose stored grant is gone.
    """
    check_actor(actor)
    if isinstance(actor, SystemActor):
        if allow_system:
            return
        raise _deny(actor, what)
    grants = list(grants)
    if isinstance(actor, OrgAdminActor):
        require_org_admin(actor, organization_id, grants, what)
        return
    if (
        isinstance(actor, ProgramAdminActor)
        and actor.organization_id == organization_id
        and program_id in actor.program_ids
        and any(
            g.role is AdminRole.PROGRAM
            and g.program_id == program_id
            and g.learner_id == actor.learner_id
            for g in grants
        )
    ):
        return
    raise _deny(actor, what)


def require_any_admin(
    actor: Actor, organization_id: str, grants: Iterable[AdminGrant], what: str
) -> None:
    """Allow any admin of ``organization_id``: an organization admin or a program admin.

    Raises:
        PermissionDeniedError: a learner, the system, or an actor of another organization.
    """
    check_actor(actor)
    grants = list(grants)
    if isinstance(actor, OrgAdminActor):
        require_org_admin(actor, organization_id, grants, what)
        return
    if (
        isinstance(actor, ProgramAdminActor)
        and actor.organization_id == organization_id
        and any(
            g.role is AdminRole.PROGRAM
            and g.program_id in actor.program_ids
            and g.learner_id == actor.learner_id
            for g in grants
        )
    ):
        return
    raise _deny(actor, what)


def require_self(actor: Actor, organization_id: str, learner_id: str, what: str) -> None:
    """Allow only the learner acting for themself.

    Raises:
        PermissionDeniedError: anyone else (admins included: they do not act for a learner).
    """
    check_actor(actor)
    if (
        isinstance(actor, LearnerActor)
        and actor.organization_id == organization_id
        and actor.learner_id == learner_id
    ):
        return
    raise _deny(actor, what)


def visible_program_ids(actor: Actor, grants: Iterable[AdminGrant]) -> frozenset[str] | None:
    """Return the programs a program admin may see, or ``None`` when the actor sees all.

    An organization admin (with its grant checked by the caller) sees every program.
    """
    check_actor(actor)
    if isinstance(actor, ProgramAdminActor):
        stored = {
            g.program_id
            for g in grants
            if g.role is AdminRole.PROGRAM and g.learner_id == actor.learner_id
        }
        return frozenset(p for p in actor.program_ids if p in stored)
    return None
