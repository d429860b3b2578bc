"""Every public service method, run by four actors: who may and who may not.

The method list is found by introspection over every service of :class:`learnprog.Learnprog`;
a method with no row in TABLE fails :func:`test_every_public_service_method_has_a_row`, so a
later method cannot slip past the permission rules. Source of the rules: guide, "Organization
Admin vs. Program Admin" and "Adding Administrators".
"""

from __future__ import annotations

import inspect
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from attrs import define

import learnprog
from learnprog.bootstrap import SERVICE_NAMES
from learnprog.errors import PermissionDeniedError
from learnprog.model import (
    Actor,
    AdminRole,
    CollectionEntry,
    EventKind,
    LearnerActor,
    LearningEvent,
    OrgAdminActor,
    Program,
    ProgramAdminActor,
    SystemActor,
)
from learnprog.model.catalog import Skill
from learnprog.model.skills import ReferenceGroup
from learnprog.services.history import EnrollmentRecord, MemberRecord
from learnprog.storage.memory import InMemoryStore
from learnprog.tokens import TokenPurpose
from tests.factories import png

ORG_ADMIN = "org_admin"
OTHER_PROGRAM_ADMIN = "program_admin_of_another_program"
LEARNER = "learner"
FOREIGN_ADMIN = "admin_of_another_organization"
ACTORS = (ORG_ADMIN, OTHER_PROGRAM_ADMIN, LEARNER, FOREIGN_ADMIN)
START = datetime(2026, 1, 1, tzinfo=UTC)
BANNER_PNG = png(960, 300)
END = datetime(2027, 1, 1, tzinfo=UTC)


@define
class World:
    """Organization A with two programs, its admins and a learner; organization B apart."""

    lp: learnprog.Learnprog
    store: InMemoryStore
    org_id: str
    target: Program  # the program the program admin does NOT administer
    own: Program  # the program the program admin administers
    course_id: str
    program_admin_id: str
    actors: dict[str, Actor]
    unsubscribe_token: str
    contract_id: str
    invited_id: str
    member_id: str
    accept_token: str
    invited_learner_id: str
    enrollment_id: str
    spec_id: str
    lia_id: str
    message_id: str
    collection_id: str  # in the target program, holding the course
    empty_collection_id: str  # in the target program

    def entry(self) -> CollectionEntry:
        return CollectionEntry.course(self.course_id)

    def audit_count(self) -> int:
        return sum(len(t) for name, t in self.store.tables.items() if name == "audit")


def build_world() -> World:
    store = InMemoryStore()
    lp = learnprog.connect(uow_factory=store.unit_of_work)
    system = SystemActor()
    orgs = lp.organizations
    org = orgs.create_organization(system, "Acme", email_domains=["acme.example"])
    other = orgs.create_organization(system, "Globex", email_domains=["globex.example"])
    ana = orgs.register_learner(system, org.id, "Ana Admin", "ana@acme.example")
    paulo = orgs.register_learner(system, org.id, "Paulo Program", "paulo@acme.example")
    lia = orgs.register_learner(system, org.id, "Lia Learner", "lia@acme.example")
    bia = orgs.register_learner(system, other.id, "Bia Foreign", "bia@globex.example")
    orgs.add_admin(system, org.id, "ana@acme.example", role="organization")
    orgs.add_admin(system, other.id, "bia@globex.example", role="organization")
    admin = OrgAdminActor(org.id, ana.id)
    target = lp.programs.create_program(admin, org.id, "Target Program", slug="target")
    own = lp.programs.create_program(admin, org.id, "Own Program", slug="own")
    orgs.add_admin(admin, org.id, "paulo@acme.example", role="program", program_ids=[own.id])
    course = lp.programs.add_course(
        admin, org.id, course_id="C1", slug="c-one", name="One", partner="Uni"
    )
    actors: dict[str, Actor] = {
        ORG_ADMIN: admin,
        OTHER_PROGRAM_ADMIN: ProgramAdminActor(org.id, paulo.id, frozenset({own.id})),
        LEARNER: LearnerActor(org.id, lia.id),
        FOREIGN_ADMIN: OrgAdminActor(other.id, bia.id),
    }
    token = lp.context.signer.sign(
        TokenPurpose.UNSUBSCRIBE, {"o": org.id, "l": lia.id, "c": "announcement"}
    )
    contract = lp.programs.create_contract(
        admin, org.id, "Licenses", kind="licenses", quantity=10, starts_at=START, ends_at=END
    )
    invitations = lp.invitations
    lia_invitation = invitations.invite(
        admin, target.id, contract.id, full_name="Lia", email="lia@acme.example", send_email=False
    ).membership
    invited = invitations.invite(
        admin, target.id, contract.id, full_name="Ivo", email="ivo@acme.example", send_email=False
    ).membership
    member = invitations.invite(
        admin, target.id, contract.id, full_name="Mo", email="mo@acme.example", send_email=False
    ).membership
    mo = lp.organizations.resolve_actor(SystemActor(), org.id, "mo@acme.example")
    invitations.accept_by_sign_in(mo, "target")
    accept_token = lp.context.signer.sign(
        TokenPurpose.ACCEPT_INVITATION, {"p": target.id, "m": lia_invitation.id}
    )
    lia_actor = LearnerActor(org.id, lia.id)
    invitations.accept(lia_actor, accept_token)  # Lia is a member who enrolled in course C1
    enrollment = lp.learning.enroll(lia_actor, target.id, course.id)
    message = lp.messaging.send(admin, org.id, "all_members", agree_to_terms=True)
    spec = lp.programs.add_specialization(
        admin, org.id, slug="spec-c1", name="Spec", course_ids=[course.id]
    )
    collection = lp.curriculum.create_collection(admin, target.id, "Starters")
    lp.curriculum.add_entries(
        admin, target.id, [collection.id], [CollectionEntry.course(course.id)]
    )
    empty = lp.curriculum.create_collection(admin, target.id, "Later")
    return World(
        lp,
        store,
        org.id,
        target,
        own,
        course.id,
        paulo.id,
        actors,
        token,
        contract.id,
        invited.id,
        member.id,
        accept_token,
        invited.learner_id,
        enrollment.id,
        spec.id,
        lia.id,
        message.id,
        collection.id,
        empty.id,
    )


def quiet_skill(w: World) -> str:
    """Store a skill straight through the store (no audit entry), for calls that need one."""
    skill = Skill.create(w.org_id, domain="Data", name="SQL")
    with w.store.unit_of_work() as uow:
        uow.skills.add(skill)
        uow.commit()
    return skill.id


Call = Callable[[World, Actor], Any]


@define
class Row:
    call: Call
    allowed: frozenset[str]


def row(call: Call, *allowed: str) -> Row:
    return Row(call, frozenset(allowed))


TABLE: dict[str, Row] = {
    "organizations.create_organization": row(
        lambda w, a: w.lp.organizations.create_organization(a, "New Org")
    ),
    "organizations.list_organizations": row(lambda w, a: w.lp.organizations.list_organizations(a)),
    "organizations.get_organization": row(
        lambda w, a: w.lp.organizations.get_organization(a, w.org_id), ORG_ADMIN
    ),
    "organizations.update_settings": row(
        lambda w, a: w.lp.organizations.update_settings(a, w.org_id, brand_color="#112233"),
        ORG_ADMIN,
    ),
    "organizations.register_learner": row(
        lambda w, a: w.lp.organizations.register_learner(a, w.org_id, "New", "new@acme.example"),
        ORG_ADMIN,
    ),
    "organizations.add_admin": row(
        lambda w, a: w.lp.organizations.add_admin(
            a, w.org_id, "lia@acme.example", role=AdminRole.PROGRAM, program_ids=[w.target.id]
        ),
        ORG_ADMIN,
    ),
    "organizations.remove_admin": row(
        lambda w, a: w.lp.organizations.remove_admin(
            a, w.org_id, w.program_admin_id, program_id=w.own.id
        ),
        ORG_ADMIN,
    ),
    "organizations.list_admins": row(
        lambda w, a: w.lp.organizations.list_admins(a, w.org_id), ORG_ADMIN
    ),
    "organizations.resolve_actor": row(
        lambda w, a: w.lp.organizations.resolve_actor(a, w.org_id, "lia@acme.example")
    ),
    "programs.create_program": row(
        lambda w, a: w.lp.programs.create_program(a, w.org_id, "Another"), ORG_ADMIN
    ),
    "programs.get_program": row(lambda w, a: w.lp.programs.get_program(a, w.target.id), ORG_ADMIN),
    "programs.find_program": row(
        lambda w, a: w.lp.programs.find_program(a, w.target.slug.value), ORG_ADMIN
    ),
    "programs.list_programs": row(
        lambda w, a: w.lp.programs.list_programs(a, w.org_id), ORG_ADMIN, OTHER_PROGRAM_ADMIN
    ),
    "programs.update_program": row(
        lambda w, a: w.lp.programs.update_program(a, w.target.id, tagline="New"), ORG_ADMIN
    ),
    "programs.create_contract": row(
        lambda w, a: w.lp.programs.create_contract(
            a, w.org_id, "C", kind="unlimited", starts_at=START, ends_at=END
        ),
        ORG_ADMIN,
    ),
    "programs.list_contracts": row(
        lambda w, a: w.lp.programs.list_contracts(a, w.org_id), ORG_ADMIN, OTHER_PROGRAM_ADMIN
    ),
    "programs.add_course": row(
        lambda w, a: w.lp.programs.add_course(
            a, w.org_id, course_id="C2", slug="c-two", name="Two"
        ),
        ORG_ADMIN,
    ),
    "programs.list_courses": row(
        lambda w, a: w.lp.programs.list_courses(a, w.org_id), ORG_ADMIN, OTHER_PROGRAM_ADMIN
    ),
    "programs.add_specialization": row(
        lambda w, a: w.lp.programs.add_specialization(
            a, w.org_id, slug="spec", name="Spec", course_ids=[w.course_id]
        ),
        ORG_ADMIN,
    ),
    "programs.import_specializations": row(
        lambda w, a: w.lp.programs.import_specializations(
            a, w.org_id, b"Specialization Slug,Specialization,Course IDs\nnew-spec,New,C1\n"
        ),
        ORG_ADMIN,
    ),
    "programs.list_specializations": row(
        lambda w, a: w.lp.programs.list_specializations(a, w.org_id), ORG_ADMIN, OTHER_PROGRAM_ADMIN
    ),
    "programs.add_skill": row(
        lambda w, a: w.lp.programs.add_skill(a, w.org_id, domain="Business", name="Finance"),
        ORG_ADMIN,
    ),
    "programs.list_skills": row(
        lambda w, a: w.lp.programs.list_skills(a, w.org_id), ORG_ADMIN, OTHER_PROGRAM_ADMIN
    ),
    "programs.update_banner": row(
        lambda w, a: w.lp.programs.update_banner(
            a, w.target.id, "https://cdn.acme.example/banner.png", image=BANNER_PNG
        ),
        ORG_ADMIN,
    ),
    "curriculum.create_collection": row(
        lambda w, a: w.lp.curriculum.create_collection(a, w.target.id, "New"), ORG_ADMIN
    ),
    "curriculum.update_collection": row(
        lambda w, a: w.lp.curriculum.update_collection(a, w.collection_id, name="Renamed"),
        ORG_ADMIN,
    ),
    "curriculum.delete_collection": row(
        lambda w, a: w.lp.curriculum.delete_collection(a, w.collection_id), ORG_ADMIN
    ),
    "curriculum.list_collections": row(
        lambda w, a: w.lp.curriculum.list_collections(a, w.target.id), ORG_ADMIN
    ),
    "curriculum.reorder_collections": row(
        lambda w, a: w.lp.curriculum.reorder_collections(
            a, w.target.id, [w.empty_collection_id, w.collection_id]
        ),
        ORG_ADMIN,
    ),
    "curriculum.add_entries": row(
        lambda w, a: w.lp.curriculum.add_entries(
            a, w.target.id, [w.empty_collection_id], [w.entry()]
        ),
        ORG_ADMIN,
    ),
    "curriculum.move_entry": row(
        lambda w, a: w.lp.curriculum.move_entry(
            a, w.entry(), from_collection_id=w.collection_id, to_collection_id=w.empty_collection_id
        ),
        ORG_ADMIN,
    ),
    "curriculum.copy_entry": row(
        lambda w, a: w.lp.curriculum.copy_entry(
            a, w.entry(), from_collection_id=w.collection_id, to_collection_id=w.empty_collection_id
        ),
        ORG_ADMIN,
    ),
    "curriculum.remove_entry": row(
        lambda w, a: w.lp.curriculum.remove_entry(a, w.collection_id, w.entry()), ORG_ADMIN
    ),
    "curriculum.reorder_entries": row(
        lambda w, a: w.lp.curriculum.reorder_entries(a, w.collection_id, [w.entry()]), ORG_ADMIN
    ),
    "curriculum.import_courses": row(
        lambda w, a: w.lp.curriculum.import_courses(
            a, w.org_id, b"Course ID,Course Slug,Course\nC9,c-nine,Nine\n"
        ).run(),
        ORG_ADMIN,
    ),
    "curriculum.preview_program": row(
        lambda w, a: w.lp.curriculum.preview_program(a, w.target.id), ORG_ADMIN
    ),
    "audit.entries": row(lambda w, a: w.lp.audit.entries(a, w.org_id), ORG_ADMIN),
    "mail.dispatch": row(lambda w, a: w.lp.mail.dispatch(a)),
    "invitations.contract_options": row(
        lambda w, a: w.lp.invitations.contract_options(a, w.target.id), ORG_ADMIN
    ),
    "invitations.members": row(lambda w, a: w.lp.invitations.members(a, w.target.id), ORG_ADMIN),
    "invitations.preview_invitation": row(
        lambda w, a: w.lp.invitations.preview_invitation(
            a, w.target.id, w.contract_id, full_name="New", email="new@acme.example"
        ),
        ORG_ADMIN,
    ),
    "invitations.invite": row(
        lambda w, a: w.lp.invitations.invite(
            a, w.target.id, w.contract_id, full_name="New", email="new@acme.example"
        ),
        ORG_ADMIN,
    ),
    "invitations.csv_template": row(
        lambda w, a: w.lp.invitations.csv_template(a),
        ORG_ADMIN,
        OTHER_PROGRAM_ADMIN,
        LEARNER,
        FOREIGN_ADMIN,
    ),
    "invitations.bulk_invite": row(
        lambda w, a: w.lp.invitations.bulk_invite(
            a, w.target.id, w.contract_id, b"Full Name,Email,External ID\nNew,new@acme.example,\n"
        ).run(),
        ORG_ADMIN,
    ),
    "invitations.get_learner": row(
        lambda w, a: w.lp.invitations.get_learner(a, w.invited_learner_id), ORG_ADMIN
    ),
    "invitations.update_learner": row(
        lambda w, a: w.lp.invitations.update_learner(
            a, w.invited_learner_id, profile={"job_title": "Analyst"}
        ),
        ORG_ADMIN,
    ),
    "invitations.bulk_update_learners": row(
        lambda w, a: w.lp.invitations.bulk_update_learners(
            a, w.org_id, b"Email,Job Title\nivo@acme.example,Analyst\n"
        ),
        ORG_ADMIN,
    ),
    "invitations.erase_learner": row(
        lambda w, a: w.lp.invitations.erase_learner(
            a, w.invited_learner_id, confirm="ivo@acme.example"
        ),
        ORG_ADMIN,
    ),
    "invitations.resend_invitations": row(
        lambda w, a: w.lp.invitations.resend_invitations(a, w.target.id), ORG_ADMIN
    ),
    "invitations.accept": row(lambda w, a: w.lp.invitations.accept(a, w.accept_token), LEARNER),
    "invitations.link_holder": row(lambda w, a: w.lp.invitations.link_holder(a, w.accept_token)),
    "invitations.accept_by_sign_in": row(
        lambda w, a: w.lp.invitations.accept_by_sign_in(a, "target"), LEARNER
    ),
    "invitations.own_membership": row(
        lambda w, a: w.lp.invitations.own_membership(a, "target"), LEARNER
    ),
    "invitations.import_members": row(
        lambda w, a: w.lp.invitations.import_members(
            a, w.target.id, w.contract_id, [MemberRecord("New", "new@acme.example", START)]
        ),
        ORG_ADMIN,
    ),
    "history.import_membership_export": row(
        lambda w, a: w.lp.history.import_membership_export(
            a,
            w.target.id,
            b"Name,Email,Member State,Invitation Date\nNew,new@acme.example,INVITED,2026-01-01\n",
            contract_id=w.contract_id,
        ),
        ORG_ADMIN,
    ),
    "history.import_usage_export": row(
        lambda w, a: w.lp.history.import_usage_export(
            a, w.target.id, b"Email,Course Slug,Enrollment Time\nlia@acme.example,c9,2026-01-01\n"
        ),
        ORG_ADMIN,
    ),
    "history.import_specialization_export": row(
        lambda w, a: w.lp.history.import_specialization_export(
            a,
            w.target.id,
            b"Email,Specialization Slug,Enrollment Time\nlia@acme.example,s9,2026-01-01\n",
        ),
        ORG_ADMIN,
    ),
    "invitations.revoke": row(lambda w, a: w.lp.invitations.revoke(a, w.invited_id), ORG_ADMIN),
    "invitations.remove_member": row(
        lambda w, a: w.lp.invitations.remove_member(a, w.member_id), ORG_ADMIN
    ),
    "invitations.remove_program": row(
        lambda w, a: w.lp.invitations.remove_program(a, w.target.id, confirm="target"), ORG_ADMIN
    ),
    "mail.deliveries": row(lambda w, a: w.lp.mail.deliveries(a, w.org_id), ORG_ADMIN),
    "mail.email_preferences": row(lambda w, a: w.lp.mail.email_preferences(a), LEARNER),
    "mail.set_email_preference": row(
        lambda w, a: w.lp.mail.set_email_preference(a, "admin", receive=False), LEARNER
    ),
    "mail.unsubscribe": row(lambda w, a: w.lp.mail.unsubscribe(a, w.unsubscribe_token), LEARNER),
    "mail.unsubscribe_link": row(lambda w, a: w.lp.mail.unsubscribe_link(a, w.unsubscribe_token)),
    "learning.enroll": row(lambda w, a: w.lp.learning.enroll(a, w.target.id, w.spec_id), LEARNER),
    "learning.record_enrollment": row(
        lambda w, a: w.lp.learning.record_enrollment(
            a,
            w.target.id,
            w.lia_id,
            w.course_id,
            enrolled_at=START,
            unenrolled_at=START + timedelta(days=1),
        ),
        ORG_ADMIN,
    ),
    "learning.record_enrollments": row(
        lambda w, a: w.lp.learning.record_enrollments(
            a,
            w.target.id,
            [EnrollmentRecord(w.lia_id, w.course_id, START, START + timedelta(days=1))],
        ),
        ORG_ADMIN,
    ),
    "learning.unenroll": row(lambda w, a: w.lp.learning.unenroll(a, w.enrollment_id), LEARNER),
    "learning.enrollments": row(lambda w, a: w.lp.learning.enrollments(a, w.target.id), ORG_ADMIN),
    "learning.progress": row(
        lambda w, a: w.lp.learning.progress(a, w.enrollment_id), ORG_ADMIN, LEARNER
    ),
    "learning.ingest": row(
        lambda w, a: w.lp.learning.ingest(
            a,
            w.org_id,
            events=[
                LearningEvent(
                    "e1",
                    w.lia_id,
                    w.course_id,
                    "v1",
                    EventKind.STARTED,
                    START,
                )
            ],
        ),
        ORG_ADMIN,
    ),
    "learning.members_list": row(
        lambda w, a: w.lp.learning.members_list(a, w.target.id), ORG_ADMIN
    ),
    "learning.program_for_learner": row(
        lambda w, a: w.lp.learning.program_for_learner(
            a, w.target.id, learner_id=w.lia_id if not isinstance(a, LearnerActor) else None
        ),
        ORG_ADMIN,
        LEARNER,
    ),
    "learning.rate_course": row(
        lambda w, a: w.lp.learning.rate_course(a, w.target.id, w.course_id, rating=4), LEARNER
    ),
    "learning.course_rating": row(
        lambda w, a: w.lp.learning.course_rating(a, w.target.id), ORG_ADMIN
    ),
    "messaging.presets": row(
        lambda w, a: w.lp.messaging.presets(a, w.org_id), ORG_ADMIN, OTHER_PROGRAM_ADMIN
    ),
    "messaging.compose": row(
        lambda w, a: w.lp.messaging.compose(a, w.org_id, "all_members"),
        ORG_ADMIN,
        OTHER_PROGRAM_ADMIN,
    ),
    "messaging.preview": row(
        lambda w, a: w.lp.messaging.preview(a, w.org_id, "all_members"),
        ORG_ADMIN,
        OTHER_PROGRAM_ADMIN,
    ),
    "messaging.send": row(
        lambda w, a: w.lp.messaging.send(a, w.org_id, "all_members", agree_to_terms=True),
        ORG_ADMIN,
        OTHER_PROGRAM_ADMIN,
    ),
    "messaging.history": row(
        lambda w, a: w.lp.messaging.history(a, w.org_id), ORG_ADMIN, OTHER_PROGRAM_ADMIN
    ),
    "messaging.recipients": row(
        lambda w, a: w.lp.messaging.recipients(a, w.message_id), ORG_ADMIN, OTHER_PROGRAM_ADMIN
    ),
    "messaging.resend_invitations": row(
        lambda w, a: w.lp.messaging.resend_invitations(a, w.target.id), ORG_ADMIN
    ),
    "messaging.remind_to_enroll": row(
        lambda w, a: w.lp.messaging.remind_to_enroll(a, w.target.id, agree_to_terms=True),
        ORG_ADMIN,
    ),
    "reports.usage_report": row(
        lambda w, a: w.lp.reports.usage_report(a, w.org_id), ORG_ADMIN, OTHER_PROGRAM_ADMIN
    ),
    "reports.membership_report": row(
        lambda w, a: w.lp.reports.membership_report(a, w.org_id), ORG_ADMIN, OTHER_PROGRAM_ADMIN
    ),
    "reports.specialization_report": row(
        lambda w, a: w.lp.reports.specialization_report(a, w.org_id),
        ORG_ADMIN,
        OTHER_PROGRAM_ADMIN,
    ),
    "reports.write_zip": row(
        lambda w, a: w.lp.reports.write_zip(a, w.org_id, io.BytesIO()),
        ORG_ADMIN,
        OTHER_PROGRAM_ADMIN,
    ),
    "reports.email_report": row(
        lambda w, a: w.lp.reports.email_report(a, w.org_id), ORG_ADMIN, OTHER_PROGRAM_ADMIN
    ),
    "skills.score": row(lambda w, a: w.lp.skills.score(a, w.org_id), ORG_ADMIN),
    "skills.ratings": row(lambda w, a: w.lp.skills.ratings(a, w.org_id), ORG_ADMIN),
    "skills.leaderboard": row(lambda w, a: w.lp.skills.leaderboard(a, w.org_id), ORG_ADMIN),
    "skills.import_glossary": row(
        lambda w, a: w.lp.skills.import_glossary(a, w.org_id, b"Domain,Skill\nData,SQL\n"),
        ORG_ADMIN,
    ),
    "skills.hours_to_mastery": row(
        lambda w, a: w.lp.skills.hours_to_mastery(a, w.org_id), ORG_ADMIN
    ),
    "skills.mastery_over_time": row(
        lambda w, a: w.lp.skills.mastery_over_time(a, w.org_id), ORG_ADMIN
    ),
    "skills.effort_by_skill": row(lambda w, a: w.lp.skills.effort_by_skill(a, w.org_id), ORG_ADMIN),
    "skills.relevant_courses": row(
        lambda w, a: w.lp.skills.relevant_courses(a, w.org_id, w.target.id), ORG_ADMIN
    ),
    "skills.industry_benchmark": row(
        lambda w, a: w.lp.skills.industry_benchmark(a, w.org_id, ReferenceGroup(())), ORG_ADMIN
    ),
    "skills.benchmark_over_time": row(
        lambda w, a: w.lp.skills.benchmark_over_time(
            a,
            w.org_id,
            ReferenceGroup(()),
            quiet_skill(w),
        ),
        ORG_ADMIN,
    ),
    "skills.proficiency_by_skill": row(
        lambda w, a: w.lp.skills.proficiency_by_skill(a, w.org_id), ORG_ADMIN
    ),
    "reports.funnel": row(
        lambda w, a: w.lp.reports.funnel(a, w.org_id), ORG_ADMIN, OTHER_PROGRAM_ADMIN
    ),
    "reports.summary": row(
        lambda w, a: w.lp.reports.summary(a, w.org_id), ORG_ADMIN, OTHER_PROGRAM_ADMIN
    ),
    "reports.member_emails": row(
        lambda w, a: w.lp.reports.member_emails(a, w.target.id, "no_enrollments"), ORG_ADMIN
    ),
    "reports.gradebook_link": row(
        lambda w, a: w.lp.reports.gradebook_link(a, w.course_id, program_id=w.target.id),
        ORG_ADMIN,
    ),
    "reports.open_gradebook": row(
        lambda w, a: w.lp.reports.open_gradebook(
            a,
            w.lp.reports.gradebook_link(
                w.actors[ORG_ADMIN], w.course_id, program_id=w.target.id
            ).split("token=")[1],
        ),
        ORG_ADMIN,
    ),
    "reports.send_email_report": row(
        lambda w, a: w.lp.reports.send_email_report(a, w.org_id), ORG_ADMIN, OTHER_PROGRAM_ADMIN
    ),
    "reports.link_organization": row(
        lambda w, a: w.lp.reports.link_organization(
            a,
            w.lp.context.signer.sign(
                TokenPurpose.REPORT_DOWNLOAD,
                {"r": "usage", "o": w.org_id, "p": [w.target.id], "a": "someone"},
            ),
        )
    ),
    "reports.open_report_zip": row(
        lambda w, a: w.lp.reports.open_report_zip(
            a,
            w.lp.context.signer.sign(
                TokenPurpose.REPORT_DOWNLOAD,
                {
                    "r": "usage",
                    "o": w.org_id,
                    "p": [w.target.id],
                    "a": w.actors[ORG_ADMIN].learner_id,  # type: ignore[union-attr]
                },
            ),
        ),
        ORG_ADMIN,
    ),
    "reports.due_reports": row(lambda w, a: w.lp.reports.due_reports(a, w.org_id)),
    "reports.send_due_reports": row(lambda w, a: w.lp.reports.send_due_reports(a, w.org_id)),
    "jobs.run_due": row(lambda w, a: w.lp.jobs.run_due(a)),
    "reports.learner_activity": row(
        lambda w, a: w.lp.reports.learner_activity(a, w.org_id), ORG_ADMIN
    ),
    "reports.learner_feedback": row(
        lambda w, a: w.lp.reports.learner_feedback(a, w.org_id, program_ids=[w.own.id]),
        ORG_ADMIN,
    ),
    "reports.utilization": row(lambda w, a: w.lp.reports.utilization(a, w.org_id), ORG_ADMIN),
    "mail.preview_system_email": row(
        lambda w, a: w.lp.mail.preview_system_email(a, w.target.id, "invitation"), ORG_ADMIN
    ),
}


def public_service_methods() -> set[str]:
    lp = learnprog.connect("memory://")
    found = set()
    for service_name in SERVICE_NAMES:
        service = getattr(lp, service_name)
        for name, _ in inspect.getmembers(type(service), inspect.isfunction):
            if not name.startswith("_"):
                found.add(f"{service_name}.{name}")
    return found


def test_every_public_service_method_has_a_row() -> None:
    methods = public_service_methods()
    missing = sorted(methods - TABLE.keys())
    stale = sorted(TABLE.keys() - methods)
    assert not missing, f"public service methods with no permission row: {missing}"
    assert not stale, f"permission rows for methods that do not exist: {stale}"


def test_every_public_service_method_takes_an_actor_first() -> None:
    lp = learnprog.connect("memory://")
    for qualified in public_service_methods():
        service_name, method_name = qualified.split(".")
        params = list(inspect.signature(getattr(getattr(lp, service_name), method_name)).parameters)
        assert params[:1] == ["actor"], f"{qualified} does not take the actor first"


@pytest.mark.parametrize("actor_name", ACTORS)
@pytest.mark.parametrize("method", sorted(TABLE))
def test_permission(method: str, actor_name: str) -> None:
    world = build_world()
    actor = world.actors[actor_name]
    case = TABLE[method]
    before = world.audit_count()
    if actor_name in case.allowed:
        case.call(world, actor)
    else:
        with pytest.raises(PermissionDeniedError):
            case.call(world, actor)
        assert world.audit_count() == before, "a refused call must change nothing"


def test_system_actor_bootstraps_but_does_not_administer() -> None:
    world = build_world()
    system = SystemActor()
    assert world.lp.organizations.create_organization(system, "Bootstrapped").name == (
        "Bootstrapped"
    )
    # the first organization admin only: Acme already has one
    with pytest.raises(PermissionDeniedError):
        world.lp.organizations.add_admin(
            system, world.org_id, "lia@acme.example", role="organization"
        )
    with pytest.raises(PermissionDeniedError):
        world.lp.programs.create_program(system, world.org_id, "By system")


def test_program_admin_acts_on_their_own_program() -> None:
    world = build_world()
    paulo = world.actors[OTHER_PROGRAM_ADMIN]
    updated = world.lp.programs.update_program(paulo, world.own.id, tagline="Ours")
    assert updated.tagline == "Ours"
    assert [p.id for p in world.lp.programs.list_programs(paulo, world.org_id)] == [world.own.id]
    entries = world.lp.audit.entries(paulo, world.org_id, program_id=world.own.id)
    assert entries[0].action == "program.update"
    assert entries[0].changes["tagline"] == [None, "Ours"]
    with pytest.raises(PermissionDeniedError):
        world.lp.audit.entries(paulo, world.org_id, program_id=world.target.id)


def test_a_claimed_right_without_a_stored_grant_is_refused() -> None:
    world = build_world()
    lia = world.actors[LEARNER]
    forged_org_admin = OrgAdminActor(world.org_id, lia.learner_id)  # type: ignore[union-attr]
    forged_program_admin = ProgramAdminActor(
        world.org_id,
        lia.learner_id,  # type: ignore[union-attr]
        frozenset({world.target.id}),
    )
    with pytest.raises(PermissionDeniedError):
        world.lp.programs.create_program(forged_org_admin, world.org_id, "Nope")
    with pytest.raises(PermissionDeniedError):
        world.lp.programs.update_program(forged_program_admin, world.target.id, tagline="x")


def test_a_removed_program_admin_loses_the_right_at_once() -> None:
    world = build_world()
    paulo = world.actors[OTHER_PROGRAM_ADMIN]
    world.lp.organizations.remove_admin(
        world.actors[ORG_ADMIN], world.org_id, world.program_admin_id, program_id=world.own.id
    )
    with pytest.raises(PermissionDeniedError):
        world.lp.programs.update_program(paulo, world.own.id, tagline="too late")


def test_a_program_admin_changes_the_curriculum_of_their_own_program_only() -> None:
    world = build_world()
    paulo = world.actors[OTHER_PROGRAM_ADMIN]
    collection = world.lp.curriculum.create_collection(paulo, world.own.id, "Ours")
    world.lp.curriculum.add_entries(paulo, world.own.id, [collection.id], [world.entry()])
    assert [c.entries for c in world.lp.curriculum.list_collections(paulo, world.own.id)] == [
        (world.entry(),)
    ]
    actions = [
        e.action for e in world.lp.audit.entries(paulo, world.org_id, program_id=world.own.id)
    ]
    assert actions[:2] == ["collection.add", "collection.create"]
    with pytest.raises(PermissionDeniedError):  # a target collection of another program
        world.lp.curriculum.move_entry(
            paulo,
            world.entry(),
            from_collection_id=world.collection_id,
            to_collection_id=collection.id,
        )
