"""OrganizationService: organizations, their global settings, learner accounts and admins.

Sources: guide, "Adding Administrators", "Organization Admin vs. Program Admin" ("Access to
Global settings"), "Scheduling Email Reports".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from learnprog.errors import ConflictError, NotFoundError, ValidationError
from learnprog.mail.rendering import check_admin_text
from learnprog.model._rules import str_items
from learnprog.model.access import (
    Actor,
    AdminGrant,
    AdminRole,
    LearnerActor,
    OrgAdminActor,
    ProgramAdminActor,
    require_org_admin,
    require_system,
)
from learnprog.model.identity import EmailAddress
from learnprog.model.learner import Learner
from learnprog.model.organization import Organization, ReportSchedule, name_taken
from learnprog.services._base import UNSET, Service, _Unset, retry_if_stale
from learnprog.storage.ports import UnitOfWork


class OrganizationService(Service):
    """Organizations, global settings, learner accounts and administrators."""

    @retry_if_stale  # a deadlock on the name's unique key: the next run finds the name taken
    def create_organization(
        self,
        actor: Actor,
        name: str,
        *,
        email_domains: Iterable[str] = (),
        timezone: str = "UTC",
        brand_color: str | None = None,
        banner_url: str | None = None,
        logo_url: str | None = None,
        default_invitation_message: str | None = None,
        admin_name: str | None = None,
        admin_email: str | None = None,
        unique_name: bool = False,
    ) -> Organization:
        """Create an organization, and optionally its first admin, at once. Only the system may.

        Args:
            actor: must be :class:`~learnprog.model.SystemActor`.
            name: display name, 1-200 characters. Names need not be unique: organizations are
                found by ID (a host keeps it), unless ``unique_name`` is given.
            unique_name: refuse a name any organization has (compared exactly), and hold it
                alone (:attr:`~learnprog.model.Organization.unique_name`: a unique key on SQL
                storage), so that two calls at once, in any processes, make one organization
                and the other gets a ``ConflictError``. The command line's ``init`` passes it,
                since it finds organizations by name; so may a host script that may run twice.
            email_domains: the organization's email domains (``["example.org"]``).
            timezone: IANA zone for schedules.
            brand_color: ``#RRGGBB`` or None.
            banner_url: http(s) URL or None.
            logo_url: http(s) URL or None.
            default_invitation_message: the invitation text programs use by default.
            admin_name: with ``admin_email``, the first organization admin's full name: a learner
                account is made and granted organization admin in the same transaction, so a
                failure leaves no organization without its admin.
            admin_email: the first admin's address; it must be on ``email_domains``.

        Returns:
            The stored organization.

        Raises:
            PermissionDeniedError: any actor but the system.
            ValidationError: a setting breaks its rule (the field is named), only one of
                ``admin_name`` and ``admin_email`` is given, or the admin's address is not on
                the organization's domains.
            ConflictError: with ``unique_name``, an organization has the name already
                (``an organization named 'Acme' exists already``), also when made at the
                same moment.
        """
        require_system(actor, "create an organization")
        if isinstance(default_invitation_message, str):
            check_admin_text(default_invitation_message, field="default_invitation_message")
        if (admin_name is None) != (admin_email is None):
            raise ValidationError(
                "give both admin_name and admin_email, or neither",
                field="admin_email" if admin_email is None else "admin_name",
            )
        org = Organization.create(
            name,
            now=self._now(),
            email_domains=email_domains,
            timezone=timezone,
            brand_color=brand_color,
            banner_url=banner_url,
            logo_url=logo_url,
            default_invitation_message=default_invitation_message,
            unique_name=unique_name,
        )
        admin = None
        if admin_name is not None and admin_email is not None:
            admin = Learner.create(org.id, admin_name, admin_email, now=self._now())
            if not org.owns_domain(admin.email.domain):
                raise ValidationError(
                    "an admin's address must be on the organization's domains",
                    field="admin_email",
                    value=admin_email,
                )
        with self._uow() as uow:
            if org.unique_name and any(o.name == org.name for o in uow.organizations.list()):
                raise name_taken(org.name)  # one made without holding its name alone
            uow.organizations.add(org)  # the unique key refuses one made meanwhile
            self._audit_created(uow, actor, "organization.create", org, organization_id=org.id)
            if admin is not None:
                uow.learners.add(admin)
                self._audit_created(uow, actor, "learner.register", admin, organization_id=org.id)
                grant = AdminGrant(org.id, admin.id, AdminRole.ORGANIZATION, self._now())
                uow.admins.add(grant)
                self._audit(
                    uow,
                    actor,
                    action="admin.add",
                    organization_id=org.id,
                    object_type="admin",
                    object_id=admin.id,
                    before=None,
                    after=grant,
                )
            uow.commit()
        return org

    def list_organizations(self, actor: Actor) -> Sequence[Organization]:
        """Return every organization in the store, by name. Only the system actor may.

        Raises:
            PermissionDeniedError: any actor but the system (nobody reaches another
                organization).
        """
        require_system(actor, "list organizations")
        with self._uow() as uow:
            return uow.organizations.list()

    def get_organization(self, actor: Actor, organization_id: str) -> Organization:
        """Return an organization's record and settings.

        Raises:
            NotFoundError: no such organization.
            PermissionDeniedError: not an organization admin of it.
        """
        with self._as_org_admin(
            actor, organization_id, "read the organization's settings", allow_system=True
        ) as (_uow, org):
            return org

    def update_settings(
        self,
        actor: Actor,
        organization_id: str,
        *,
        name: str | _Unset = UNSET,
        email_domains: Iterable[str] | _Unset = UNSET,
        timezone: str | _Unset = UNSET,
        brand_color: str | _Unset | None = UNSET,
        banner_url: str | _Unset | None = UNSET,
        logo_url: str | _Unset | None = UNSET,
        default_invitation_message: str | _Unset | None = UNSET,
        report_schedule: ReportSchedule | _Unset = UNSET,
        restrict_invitations_to_domains: bool | _Unset = UNSET,
    ) -> Organization:
        """Change global settings (guide, "Access to Global settings": organization admins only).

        Only the keywords given change; ``None`` clears an optional setting. The change is on
        the audit log with each field before and after.

        Raises:
            NotFoundError: no such organization.
            PermissionDeniedError: not an organization admin of it.
            ValidationError: a value breaks its rule, or a report schedule names a program of
                another organization.
            ConflictError: a new ``name`` that another organization holds alone
                (``create_organization(unique_name=True)``), or, for one that holds its own
                name alone, a name any other organization has.
        """
        given = {
            k: v
            for k, v in {
                "name": name,
                "email_domains": email_domains,
                "timezone": timezone,
                "brand_color": brand_color,
                "banner_url": banner_url,
                "logo_url": logo_url,
                "default_invitation_message": default_invitation_message,
                "report_schedule": report_schedule,
                "restrict_invitations_to_domains": restrict_invitations_to_domains,
            }.items()
            if not isinstance(v, _Unset)
        }
        if isinstance(default_invitation_message, str):
            check_admin_text(default_invitation_message, field="default_invitation_message")
        with self._as_org_admin(actor, organization_id, "change global settings") as (uow, before):
            after = before.with_settings(**given)
            if after.name != before.name and any(
                other.id != after.id
                and other.name == after.name
                and (other.unique_name or after.unique_name)
                for other in uow.organizations.list()
            ):
                raise name_taken(after.name)
            if isinstance(report_schedule, ReportSchedule):
                for program_id in report_schedule.program_ids:
                    program = uow.programs.get(program_id)
                    if program.organization_id != before.id:
                        raise ValidationError(
                            "the program is in another organization",
                            field="report_schedule",
                            value=program_id,
                        )
            uow.organizations.update(after)
            self._audit_change(
                uow, actor, "organization.update", before, after, object_type="organization"
            )
            uow.commit()
        return after

    @retry_if_stale  # a deadlock rolled it back: run again (a duplicate is not retried)
    def register_learner(
        self,
        actor: Actor,
        organization_id: str,
        full_name: str,
        email: str,
        *,
        external_id: str | None = None,
    ) -> Learner:
        """Create a learner account with no membership (for example a future admin).

        Invitations create accounts too; this is for people who must exist before they are
        invited anywhere. An existing account with the same email key is a conflict.

        Raises:
            PermissionDeniedError: not an organization admin (or the system).
            ValidationError: a bad name, email or external ID.
            ConflictError: an account with this email exists in the organization (also when
                one was registered at the same moment).
            ConcurrencyError: concurrent writes got in the way twice in a row (the database
                rolled it back; nothing stored: call again).
        """
        with self._as_org_admin(
            actor, organization_id, "register a learner account", allow_system=True
        ) as (uow, org):
            learner = Learner.create(
                org.id, full_name, email, now=self._now(), external_id=external_id
            )
            uow.learners.add(learner)
            self._audit_created(uow, actor, "learner.register", learner, organization_id=org.id)
            uow.commit()
        return learner

    @retry_if_stale  # a deadlock rolled it back: run again (a duplicate is not retried)
    def add_admin(
        self,
        actor: Actor,
        organization_id: str,
        email: str,
        *,
        role: AdminRole | str,
        program_ids: Iterable[str] = (),
    ) -> list[AdminGrant]:
        """Make an existing learner account an organization admin or an admin of programs.

        Rules (guide, "Adding Organization Administrators"): the person "must already have a
        Coursera account registered to their organization email", so the account must exist and
        its address be on one of the organization's email domains; "adding an administrator
        doesn't use up a license". Organization admins add admins; the system actor may add the
        first organization admin of an organization that has none.

        Args:
            actor: an organization admin, or the system for the first admin.
            organization_id: the organization.
            email: the account's address (any case).
            role: ``organization`` or ``program``.
            program_ids: for a program admin, the programs (at least one).

        Returns:
            The new grants (one for an organization admin, one per program otherwise).

        Raises:
            PermissionDeniedError: not allowed (see above).
            NotFoundError: no account with that email, or an unknown program.
            ValidationError: the address is not on the organization's domains, an unknown role,
                no program for a program admin, or a program of another organization.
            ConflictError: the account holds the grant already: the message names the address
                and the grant (``ana@acme.example is already an organization admin of
                'Acme'``), checked while the organization is held, so also when two are made
                at the same moment.
            ConcurrencyError: concurrent writes got in the way twice in a row (the database
                rolled it back; nothing stored: call again).
        """
        try:
            clean_role = AdminRole(role)
        except ValueError as exc:
            raise ValidationError(
                "role is organization or program", field="role", value=role
            ) from exc
        address = EmailAddress.parse(email)
        with self._uow() as uow:
            # held first: two first admins added at once take turns, the second is refused
            if isinstance(organization_id, str):  # a bad ID is refused by the read below
                uow.organizations.lock(organization_id)
            org = uow.organizations.get(organization_id)
            existing = uow.admins.list_for_organization(org.id)
            first = clean_role is AdminRole.ORGANIZATION and not any(
                g.role is AdminRole.ORGANIZATION for g in existing
            )
            require_org_admin(
                actor,
                org.id,
                self._grants(uow, actor, org.id),
                "add administrators",
                allow_system=first,
            )
            learner = uow.learners.find_by_email(org.id, address.key)
            if learner is None:
                raise NotFoundError("learner account", address.address)
            if not org.owns_domain(learner.email.domain):
                raise ValidationError(
                    f"an admin's address must be on the organization's domains "
                    f"({', '.join(org.email_domains) or 'none set'})",
                    field="email",
                    value=address.address,
                )
            if clean_role is AdminRole.ORGANIZATION:
                if str_items(program_ids, field="program_ids"):
                    raise ValidationError(
                        "an organization admin administers every program: give no program_ids",
                        field="program_ids",
                    )
                targets: list[str | None] = [None]
            else:
                targets = list(dict.fromkeys(str_items(program_ids, field="program_ids")))
                if not targets:
                    raise ValidationError(
                        "a program admin needs at least one program", field="program_ids"
                    )
                for program_id in targets:
                    program = uow.programs.get(str(program_id))
                    if program.organization_id != org.id:
                        raise ValidationError(
                            "the program is in another organization",
                            field="program_ids",
                            value=program_id,
                        )
            held = {(g.role, g.program_id) for g in existing if g.learner_id == learner.id}
            if any((clean_role, p) in held for p in targets):
                raise ConflictError(
                    f"{learner.email.address} is already "
                    + _role_phrase(held, clean_role, targets, uow, org.name),
                    kind="admin",
                    key=learner.email.address,
                )
            grants = [AdminGrant(org.id, learner.id, clean_role, self._now(), p) for p in targets]
            for grant in grants:
                uow.admins.add(grant)
                self._audit(
                    uow,
                    actor,
                    action="admin.add",
                    organization_id=org.id,
                    object_type="admin",
                    object_id=learner.id,
                    before=None,
                    after=grant,
                    program_id=grant.program_id,
                )
            uow.commit()
        return grants

    def remove_admin(
        self, actor: Actor, organization_id: str, learner_id: str, *, program_id: str | None = None
    ) -> None:
        """Take an admin right away: the organization admin right, or one program's.

        The last organization admin cannot be removed (the organization would be left with
        nobody to manage it).

        Raises:
            PermissionDeniedError: not an organization admin.
            NotFoundError: the right does not exist.
            ConflictError: it is the last organization admin (also when another removal at the
                same moment took the others).
        """
        # held first: two removals at once take turns, so the last organization admin stays
        with self._as_org_admin(actor, organization_id, "remove administrators", hold=True) as (
            uow,
            org,
        ):
            grants = uow.admins.list_for_learner(org.id, learner_id)
            role = AdminRole.ORGANIZATION if program_id is None else AdminRole.PROGRAM
            grant = next((g for g in grants if g.role is role and g.program_id == program_id), None)
            if grant is None:
                raise NotFoundError("admin grant", (learner_id, program_id or "*"))
            if (
                role is AdminRole.ORGANIZATION
                and sum(
                    g.role is AdminRole.ORGANIZATION
                    for g in uow.admins.list_for_organization(org.id)
                )
                == 1
            ):
                raise ConflictError(
                    "the last organization admin cannot be removed", kind="admin", key=learner_id
                )
            uow.admins.remove(grant)
            self._audit(
                uow,
                actor,
                action="admin.remove",
                organization_id=org.id,
                object_type="admin",
                object_id=learner_id,
                before=grant,
                after=None,
                program_id=program_id,
            )
            uow.commit()

    def list_admins(self, actor: Actor, organization_id: str) -> Sequence[AdminGrant]:
        """Return the organization's admin grants, oldest first.

        Raises:
            PermissionDeniedError: not an organization admin.
        """
        with self._as_org_admin(actor, organization_id, "list administrators") as (uow, org):
            return uow.admins.list_for_organization(org.id)

    def resolve_actor(
        self, actor: Actor, organization_id: str, email: str, *, as_learner: bool = False
    ) -> Actor:
        """Return the actor a signed-in person acts as, from their stored grants.

        The host app authenticates the person, then asks here (as the system) who they are:
        an :class:`OrgAdminActor`, a :class:`ProgramAdminActor` for their programs, or a
        :class:`LearnerActor`. The widest right wins; an admin who is also a learner of a
        program (who joined it, enrolls, takes courses) acts in the learner's part of the host
        app with ``as_learner=True``, which gives their :class:`LearnerActor` whatever they
        administer.

        Raises:
            PermissionDeniedError: the caller is not the system actor.
            NotFoundError: no account with that email in the organization.
        """
        require_system(actor, "resolve actors")
        address = EmailAddress.parse(email)
        with self._uow() as uow:
            learner = uow.learners.find_by_email(organization_id, address.key)
            if learner is None:
                raise NotFoundError("learner account", address.address)
            grants = uow.admins.list_for_learner(organization_id, learner.id)
        if as_learner is True:
            return LearnerActor(organization_id, learner.id)
        if any(g.role is AdminRole.ORGANIZATION for g in grants):
            return OrgAdminActor(organization_id, learner.id)
        programs = frozenset(str(g.program_id) for g in grants if g.role is AdminRole.PROGRAM)
        if programs:
            return ProgramAdminActor(organization_id, learner.id, programs)
        return LearnerActor(organization_id, learner.id)


def _role_phrase(
    held: set[tuple[AdminRole, str | None]],
    role: AdminRole,
    targets: Sequence[str | None],
    uow: UnitOfWork,
    org_name: str,
) -> str:
    """Say which asked grant an account holds already: ``a program admin of academy``."""
    if role is AdminRole.ORGANIZATION:
        return f"an organization admin of {org_name!r}"
    slugs = [uow.programs.get(str(p)).slug.value for p in targets if (role, p) in held]
    return f"a program admin of {', '.join(slugs)}"
