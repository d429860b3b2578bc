"""ProgramService: programs and their settings, contracts, and the organization's catalog.

Sources: guide, "Settings" (program name, tagline, banner, course enrollment limit, program URL
that cannot be changed), "Inviting Learners" > "Choose contract", "Managing Curriculum", glossary.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from attrs import frozen

from learnprog.csvfiles import CsvRow, CsvSource, read_csv
from learnprog.errors import ConflictError, NotFoundError, ValidationError
from learnprog.images import BANNER_SIZE, ImageSource, image_size
from learnprog.mail.rendering import check_admin_text
from learnprog.model._rules import record_id, str_items
from learnprog.model.access import (
    Actor,
    SystemActor,
    require_any_admin,
    require_program_admin,
    visible_program_ids,
)
from learnprog.model.catalog import Assessment, Course, CourseItem, Skill, Specialization
from learnprog.model.identity import ProgramSlug
from learnprog.model.organization import Contract, ContractKind, Program
from learnprog.services._base import UNSET, Service, _Unset, retry_if_stale


@frozen
class BannerUpdate:
    """What :meth:`ProgramService.update_banner` stored.

    Attributes:
        program: the program as stored now.
        warnings: advice that did not stop the change (an image size other than 960x300 px).
    """

    program: Program
    warnings: tuple[str, ...] = ()


@frozen
class SpecializationRowResult:
    """What happened to one line of a specializations file.

    Attributes:
        line: the file line (the header is line 1).
        outcome: ``created``, ``already_in_catalog`` or ``rejected``.
        slug: the Specialization Slug cell as read.
        record_id: the specialization's record ID (created or already there), else None.
        reason: why the line was rejected, naming the column, or None.
    """

    line: int
    outcome: str
    slug: str
    record_id: str | None
    reason: str | None


class ProgramService(Service):
    """Programs, contracts and the catalog."""

    # --- programs -------------------------------------------------------------------------

    def create_program(
        self,
        actor: Actor,
        organization_id: str,
        name: str,
        *,
        slug: str | None = None,
        tagline: str | None = None,
        banner_url: str | None = None,
        course_enrollment_limit: int | None = None,
        invitation_message: str | None = None,
    ) -> Program:
        """Create a program in an organization (organization admins only).

        Args:
            actor: an organization admin.
            organization_id: the organization.
            name: program name, 1-200 characters.
            slug: the URL slug; default: made from the name plus a random suffix. It never
                changes afterwards (guide, "PROGRAM URL ... cannot be changed").
            tagline: one line, or None.
            banner_url: http(s) URL of the banner (960x300 px looks best), or None.
            course_enrollment_limit: current course enrollments allowed per learner (1 or
                more), or None for no limit.
            invitation_message: overrides the organization's default invitation message.

        Raises:
            PermissionDeniedError: not an organization admin of the organization.
            ValidationError: a field breaks its rule.
            ConflictError: the slug is taken.
        """
        with self._as_org_admin(actor, organization_id, "create programs") as (uow, org):
            if isinstance(invitation_message, str):
                check_admin_text(invitation_message, field="invitation_message")
            program = Program.create(
                org.id,
                name,
                now=self._now(),
                slug=slug,
                tagline=tagline,
                banner_url=banner_url,
                course_enrollment_limit=course_enrollment_limit,
                invitation_message=invitation_message,
            )
            if uow.programs.find_by_slug(program.slug.value) is not None:
                raise ConflictError(
                    f"the program URL slug {program.slug.value!r} is taken",
                    kind="program",
                    key=program.slug.value,
                )
            uow.programs.add(program)
            self._audit_created(
                uow, actor, "program.create", program, organization_id=org.id, program_id=program.id
            )
            uow.commit()
        return program

    def get_program(self, actor: Actor, program_id: str) -> Program:
        """Return a program.

        Raises:
            NotFoundError: no such program.
            PermissionDeniedError: not an admin of the program (or an organization admin).
        """
        with self._uow() as uow:
            program = uow.programs.get(record_id(program_id, field="program_id"))
            require_program_admin(
                actor,
                program.organization_id,
                program.id,
                self._grants(uow, actor, program.organization_id),
                "read the program",
            )
            return program

    def find_program(self, actor: Actor, slug: str | ProgramSlug) -> Program:
        """Return the program at a URL slug (slugs are unique across the store).

        A host app serving several organizations routes ``/programs/<slug>/...`` with it: the
        program names its organization, where the signed-in person is then resolved
        (:meth:`OrganizationService.resolve_actor`) before ``accept_by_sign_in``.

        Args:
            actor: the system actor (the host's routing), or an admin of the program.
            slug: the program's URL slug (guide, "URL": fixed when the program is made), as
                text or as the program's ``slug``.

        Raises:
            NotFoundError: no program has that slug.
            PermissionDeniedError: neither the system nor an admin of the program.
            ValidationError: the slug is not text.
        """
        if isinstance(slug, ProgramSlug):
            slug = slug.value
        if not isinstance(slug, str):
            raise ValidationError("a program URL slug is text", field="slug", value=slug)
        slug = slug.strip()
        if not ProgramSlug.could_be(slug):
            raise NotFoundError("program", slug)
        with self._uow() as uow:
            program = uow.programs.find_by_slug(slug)
            if program is None:
                raise NotFoundError("program", slug)
            if not isinstance(actor, SystemActor):
                require_program_admin(
                    actor,
                    program.organization_id,
                    program.id,
                    self._grants(uow, actor, program.organization_id),
                    "read the program",
                )
            return program

    def list_programs(self, actor: Actor, organization_id: str) -> Sequence[Program]:
        """Return the programs the actor administers (all of them for an organization admin).

        Raises:
            PermissionDeniedError: not an admin of the organization.
        """
        with self._uow() as uow:
            grants = self._grants(uow, actor, organization_id)
            require_any_admin(actor, organization_id, grants, "list programs")
            visible = visible_program_ids(actor, grants)
            return [
                p
                for p in uow.programs.list_for_organization(organization_id)
                if visible is None or p.id in visible
            ]

    def update_program(
        self,
        actor: Actor,
        program_id: str,
        *,
        name: str | _Unset = UNSET,
        tagline: str | _Unset | None = UNSET,
        banner_url: str | _Unset | None = UNSET,
        course_enrollment_limit: int | _Unset | None = UNSET,
        invitation_message: str | _Unset | None = UNSET,
    ) -> Program:
        """Change program settings (guide, "Access to Program settings"). The slug never changes.

        Raises:
            NotFoundError: no such program.
            PermissionDeniedError: not an admin of the program.
            ValidationError: a value breaks its rule, or the program was removed.
        """
        given = {
            k: v
            for k, v in {
                "name": name,
                "tagline": tagline,
                "banner_url": banner_url,
                "course_enrollment_limit": course_enrollment_limit,
                "invitation_message": invitation_message,
            }.items()
            if not isinstance(v, _Unset)
        }
        with self._uow() as uow:
            before = uow.programs.get(record_id(program_id, field="program_id"))
            require_program_admin(
                actor,
                before.organization_id,
                before.id,
                self._grants(uow, actor, before.organization_id),
                "change program settings",
            )
            if before.is_removed:
                raise ValidationError("the program has been removed", field="program_id")
            if isinstance(invitation_message, str):
                check_admin_text(invitation_message, field="invitation_message")
            after = before.with_settings(**given)
            uow.programs.update(after)
            self._audit_change(
                uow,
                actor,
                "program.update",
                before,
                after,
                object_type="program",
                program_id=before.id,
            )
            uow.commit()
        return after

    def update_banner(
        self,
        actor: Actor,
        program_id: str,
        banner_url: str | None,
        *,
        image: ImageSource | None = None,
    ) -> BannerUpdate:
        """Set or clear a program's banner (guide, "Settings": BANNER IMAGE, 960px by 300px).

        The program stores the banner's URL. Give the image file too and its size is read:
        a size other than 960x300 px is never refused, but the result carries a warning. The
        change itself is :meth:`update_program`'s (same rights, same audit entry).

        Args:
            actor: an admin of the program.
            program_id: the program.
            banner_url: the http(s) URL the banner is served from, or None to clear it.
            image: the banner image (a path, its bytes or a binary file), or None.

        Returns:
            The program as stored now, and the warnings (empty when the size is 960x300).

        Raises:
            ValidationError: an image that cannot be read, an image without a URL, a bad URL,
                or a removed program. The rights are checked before the image is read.
            NotFoundError: no such program.
            PermissionDeniedError: not an admin of the program.
        """
        warnings: list[str] = []
        with self._uow() as uow:  # the rights first: a refused caller learns nothing of files
            self._program(uow, actor, program_id, "change program settings")
        if image is not None:
            if banner_url is None:
                raise ValidationError(
                    "an image needs the banner URL it is served from", field="image"
                )
            width, height = image_size(image)
            if (width, height) != BANNER_SIZE:
                warnings.append(
                    f"the banner image is {width}x{height} px; {BANNER_SIZE[0]}x{BANNER_SIZE[1]} "
                    "px will look best"
                )
        program = self.update_program(actor, program_id, banner_url=banner_url)
        return BannerUpdate(program, tuple(warnings))

    # --- contracts ------------------------------------------------------------------------

    def create_contract(
        self,
        actor: Actor,
        organization_id: str,
        name: str,
        *,
        kind: ContractKind | str,
        starts_at: datetime,
        ends_at: datetime,
        quantity: int | None = None,
    ) -> Contract:
        """Create a contract of licenses, enrollments or unlimited (organization admins only).

        Args:
            actor: an organization admin.
            organization_id: the organization; any of its programs may draw on the contract.
            name: contract name.
            kind: ``licenses``, ``enrollments`` or ``unlimited``.
            starts_at: aware start.
            ends_at: aware end, after the start.
            quantity: licenses or enrollments bought; None for unlimited.

        Raises:
            PermissionDeniedError: not an organization admin.
            ValidationError: a bad kind, quantity or dates.
        """
        with self._as_org_admin(actor, organization_id, "create contracts") as (uow, org):
            contract = Contract.create(
                org.id, name, kind=kind, starts_at=starts_at, ends_at=ends_at, quantity=quantity
            )
            uow.contracts.add(contract)
            self._audit_created(uow, actor, "contract.create", contract, organization_id=org.id)
            uow.commit()
        return contract

    def list_contracts(self, actor: Actor, organization_id: str) -> Sequence[Contract]:
        """Return the organization's contracts with their use (the contract picker's data).

        Each contract carries its kind, ``remaining`` count (None when unlimited), start and
        end (guide, "Choose contract": Name, Contract Type, Remaining, Started, Ends).

        Raises:
            PermissionDeniedError: not an admin of the organization.
        """
        with self._as_any_admin(actor, organization_id, "list contracts") as uow:
            return uow.contracts.list_for_organization(organization_id)

    # --- catalog --------------------------------------------------------------------------

    def add_course(
        self,
        actor: Actor,
        organization_id: str,
        *,
        course_id: str,
        slug: str,
        name: str,
        partner: str | None = None,
        class_start: datetime | None = None,
        class_end: datetime | None = None,
        items: Sequence[CourseItem] = (),
        assessments: Sequence[Assessment] = (),
    ) -> Course:
        """Add a course to the organization's catalog (organization admins only).

        Args:
            actor: an organization admin.
            organization_id: the catalog's organization.
            course_id: the guide's Course ID, unique in the catalog.
            slug: the course slug, unique in the catalog.
            name: course name.
            partner: the authoring partner (the report's "University").
            class_start: aware class start, or None.
            class_end: aware class end, or None.
            items: course items (videos, readings, ...), each in a lesson.
            assessments: the course's assessments; their skills must be in the glossary.

        Raises:
            PermissionDeniedError: not an organization admin.
            ValidationError: a field breaks its rule, or an assessment names an unknown skill.
            ConflictError: the course ID or slug is taken.
        """
        with self._as_org_admin(actor, organization_id, "add courses to the catalog") as (uow, org):
            course = Course.create(
                org.id,
                course_id=course_id,
                slug=slug,
                name=name,
                now=self._now(),
                partner=partner,
                class_start=class_start,
                class_end=class_end,
                items=items,
                assessments=assessments,
            )
            known = {s.id for s in uow.skills.list_for_organization(org.id)}
            for a in course.assessments:
                unknown = [s for s in a.skill_ids if s not in known]
                if unknown:
                    raise ValidationError(
                        f"assessment {a.id!r} names unknown skills {unknown}", field="assessments"
                    )
            uow.courses.add(course)
            self._audit_created(uow, actor, "course.add", course, organization_id=org.id)
            uow.commit()
        return course

    def list_courses(self, actor: Actor, organization_id: str) -> Sequence[Course]:
        """Return the organization's catalog courses, by name.

        Raises:
            PermissionDeniedError: not an admin of the organization.
        """
        with self._as_any_admin(actor, organization_id, "read the catalog") as uow:
            return uow.courses.list_for_organization(organization_id)

    def add_specialization(
        self, actor: Actor, organization_id: str, *, slug: str, name: str, course_ids: Sequence[str]
    ) -> Specialization:
        """Add a specialization of catalog courses (record IDs, in order) to the catalog.

        Raises:
            PermissionDeniedError: not an organization admin.
            NotFoundError: an unknown course.
            ValidationError: no courses, a repeated course, or courses of several partners
                (glossary: "Courses in a specialization are from the same partner").
            ConflictError: the slug is taken.
        """
        with self._as_org_admin(actor, organization_id, "add specializations to the catalog") as (
            uow,
            org,
        ):
            courses = [uow.courses.get(c) for c in str_items(course_ids, field="course_ids")]
            spec = Specialization.create(
                org.id, slug=slug, name=name, courses=courses, now=self._now()
            )
            uow.specializations.add(spec)
            self._audit_created(uow, actor, "specialization.add", spec, organization_id=org.id)
            uow.commit()
        return spec

    def import_specializations(
        self, actor: Actor, organization_id: str, source: CsvSource, *, encoding: str | None = None
    ) -> Sequence[SpecializationRowResult]:
        """Add specializations to the catalog from a CSV file, one per line.

        Columns (headers matched ignoring case and spaces; the specialization report's names):
        ``Specialization Slug``, ``Specialization`` and ``Course IDs`` — the guide's Course IDs
        of catalog courses, in order, separated by ``;``. A slug already in the catalog is
        reported ``already_in_catalog`` and changes nothing (importing twice changes nothing);
        a bad line is ``rejected`` with the reason naming the column, and the others go on.
        Each created specialization is stored in its own unit of work.

        Args:
            actor: an organization admin.
            organization_id: the organization.
            source: a path, bytes or a binary file (encodings and delimiters as bulk
                invitation reads them).
            encoding: the file's encoding, when known.

        Returns:
            One result per non-blank line, in order.

        Raises:
            PermissionDeniedError: not an organization admin.
            ValidationError: the file cannot be read or lacks a column (all missing ones named).
        """
        with self._as_org_admin(actor, organization_id, "add specializations to the catalog") as (
            uow,
            org,
        ):
            by_code = {c.course_id: c for c in uow.courses.list_for_organization(org.id)}
        results: list[SpecializationRowResult] = []
        columns = ("Specialization Slug", "Specialization", "Course IDs")
        with read_csv(source, columns, encoding=encoding) as rows:
            for row in rows:
                results.append(self._specialization_row(actor, org.id, by_code, row))
        return results

    def _specialization_row(
        self, actor: Actor, organization_id: str, by_code: dict[str, Course], row: CsvRow
    ) -> SpecializationRowResult:
        slug = row.values["Specialization Slug"]
        codes = [c.strip() for c in row.values["Course IDs"].split(";") if c.strip()]
        missing = [c for c in codes if c not in by_code]
        if missing:
            return SpecializationRowResult(
                row.line, "rejected", slug, None, f"Course IDs: not in the catalog: {missing}"
            )
        try:
            with self._uow() as uow:
                existing = next(
                    (
                        x
                        for x in uow.specializations.list_for_organization(organization_id)
                        if x.slug == slug
                    ),
                    None,
                )
                if existing is not None:
                    return SpecializationRowResult(
                        row.line, "already_in_catalog", slug, existing.id, None
                    )
                spec = Specialization.create(
                    organization_id,
                    slug=slug,
                    name=row.values["Specialization"],
                    courses=[by_code[c] for c in codes],
                    now=self._now(),
                )
                uow.specializations.add(spec)
                self._audit_created(
                    uow, actor, "specialization.add", spec, organization_id=organization_id
                )
                uow.commit()
        except ValidationError as exc:
            column = {"slug": "Specialization Slug", "name": "Specialization"}.get(
                str(exc.field), "Course IDs"
            )
            return SpecializationRowResult(row.line, "rejected", slug, None, f"{column}: {exc}")
        return SpecializationRowResult(row.line, "created", slug, spec.id, None)

    def list_specializations(self, actor: Actor, organization_id: str) -> Sequence[Specialization]:
        """Return the organization's catalog specializations, by name.

        Raises:
            PermissionDeniedError: not an admin of the organization.
        """
        with self._as_any_admin(actor, organization_id, "read the catalog") as uow:
            return uow.specializations.list_for_organization(organization_id)

    @retry_if_stale  # a deadlock rolled it back: run again (a duplicate is not retried)
    def add_skill(
        self,
        actor: Actor,
        organization_id: str,
        *,
        domain: str,
        name: str,
        definition: str | None = None,
        example_subskills: Sequence[str] = (),
    ) -> Skill:
        """Add a skill to the organization's skill glossary.

        Raises:
            PermissionDeniedError: not an organization admin.
            ValidationError: a blank domain or name.
            ConflictError: the domain and name exist (also when added at the same moment).
            ConcurrencyError: concurrent writes got in the way twice in a row (the database
                rolled it back; nothing stored: call again).
        """
        with self._as_org_admin(actor, organization_id, "add skills") as (uow, org):
            skill = Skill.create(
                org.id,
                domain=domain,
                name=name,
                definition=definition,
                example_subskills=example_subskills,
            )
            uow.skills.add(skill)
            self._audit_created(uow, actor, "skill.add", skill, organization_id=org.id)
            uow.commit()
        return skill

    def list_skills(self, actor: Actor, organization_id: str) -> Sequence[Skill]:
        """Return the organization's skill glossary, by domain then name.

        Raises:
            PermissionDeniedError: not an admin of the organization.
        """
        with self._as_any_admin(actor, organization_id, "read the skill glossary") as uow:
            return uow.skills.list_for_organization(organization_id)
