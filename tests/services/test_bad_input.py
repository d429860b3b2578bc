"""Bad input through the services: a typed error naming the field, and nothing stored."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

import learnprog
from learnprog.errors import PermissionDeniedError, ValidationError
from learnprog.model import CourseItem, LearnerActor, OrgAdminActor, ReportSchedule, SystemActor

SYSTEM = SystemActor()


def _org(lp: learnprog.Learnprog) -> tuple[str, OrgAdminActor]:
    org = lp.organizations.create_organization(
        SYSTEM,
        "Acme",
        email_domains=["acme.example"],
        admin_name="Ana Lima",
        admin_email="ana@acme.example",
    )
    actor = lp.organizations.resolve_actor(SYSTEM, org.id, "ana@acme.example")
    assert isinstance(actor, OrgAdminActor)
    return org.id, actor


def test_create_organization_with_its_first_admin_is_all_or_nothing(
    lp: learnprog.Learnprog,
) -> None:
    with pytest.raises(ValidationError) as caught:
        lp.organizations.create_organization(
            SYSTEM,
            "Acme",
            email_domains=["acme.example"],
            admin_name="Ana",
            admin_email="ana@elsewhere.example",
        )
    assert caught.value.field == "admin_email"
    with pytest.raises(ValidationError, match="email"):
        lp.organizations.create_organization(
            SYSTEM,
            "Acme",
            email_domains=["acme.example"],
            admin_name="Ana",
            admin_email="not-an-address",
        )
    assert lp.organizations.list_organizations(SYSTEM) == []
    org_id, ana = _org(lp)
    assert [g.learner_id for g in lp.organizations.list_admins(ana, org_id)] == [ana.learner_id]
    assert [e.action for e in lp.audit.entries(ana, org_id)] == [
        "admin.add",
        "learner.register",
        "organization.create",
    ]


@pytest.mark.parametrize("weekdays", [["funday"], "monday", [5]])
def test_a_bad_report_schedule_is_refused_and_the_organization_stays_readable(
    lp: learnprog.Learnprog, weekdays: object
) -> None:
    org_id, ana = _org(lp)
    with pytest.raises(ValidationError, match="weekdays"):
        lp.organizations.update_settings(
            ana, org_id, report_schedule=ReportSchedule(frozenset(), weekdays)
        )
    assert lp.organizations.get_organization(ana, org_id).report_schedule == ReportSchedule()


def test_weekday_names_are_accepted_in_any_case(lp: learnprog.Learnprog) -> None:
    org_id, ana = _org(lp)
    schedule = ReportSchedule(frozenset(), ["Monday", "FRIDAY"])
    updated = lp.organizations.update_settings(ana, org_id, report_schedule=schedule)
    assert {d.value for d in updated.report_schedule.weekdays} == {"monday", "friday"}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": 123}, "name"),
        ({"email_domains": None}, "email_domains"),
        ({"email_domains": "acme.example"}, "email_domains"),
        ({"timezone": None}, "timezone"),
        ({"brand_color": 1}, "brand_color"),
        ({"banner_url": "https://exa mple.org/b.png"}, "banner_url"),
        ({"default_invitation_message": 5}, "default_invitation_message"),
        ({"name": "Bob\u2028Bcc: x@example.org"}, "name"),
        ({"name": "\ud800"}, "name"),
    ],
)
def test_wrong_settings_name_their_field_and_change_nothing(
    lp: learnprog.Learnprog, changes: dict[str, object], field: str
) -> None:
    org_id, ana = _org(lp)
    before = lp.organizations.get_organization(ana, org_id)
    with pytest.raises(ValidationError) as caught:
        lp.organizations.update_settings(ana, org_id, **changes)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert lp.organizations.get_organization(ana, org_id) == before


def test_an_update_that_changes_nothing_leaves_no_audit_entry(lp: learnprog.Learnprog) -> None:
    org_id, ana = _org(lp)
    count = len(lp.audit.entries(ana, org_id))
    lp.organizations.update_settings(ana, org_id)
    lp.organizations.update_settings(ana, org_id, name="Acme")
    assert len(lp.audit.entries(ana, org_id)) == count


@pytest.mark.parametrize("actor", [None, "system", 5])
def test_something_that_is_not_an_actor_is_a_validation_error(
    lp: learnprog.Learnprog, actor: object
) -> None:
    org_id, _ = _org(lp)
    with pytest.raises(ValidationError) as caught:
        lp.programs.create_program(actor, org_id, "Academy")  # type: ignore[arg-type]
    assert caught.value.field == "actor"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"starts_at": date(2026, 1, 1)}, "starts_at"),
        ({"starts_at": "2026-01-01"}, "starts_at"),
        ({"starts_at": datetime(2026, 1, 1)}, "starts_at"),
        ({"quantity": 2**63}, "quantity"),
        ({"quantity": 1.5}, "quantity"),
        ({"name": "\ud800"}, "name"),
    ],
)
def test_bad_contracts_name_their_field(
    lp: learnprog.Learnprog, kwargs: dict[str, object], field: str
) -> None:
    org_id, ana = _org(lp)
    values: dict[str, object] = {
        "name": "Y1",
        "kind": "licenses",
        "quantity": 5,
        "starts_at": datetime(2026, 1, 1, tzinfo=UTC),
        "ends_at": datetime(2027, 1, 1, tzinfo=UTC),
    }
    values.update(kwargs)
    name = values.pop("name")
    with pytest.raises(ValidationError) as caught:
        lp.programs.create_contract(ana, org_id, name, **values)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert lp.programs.list_contracts(ana, org_id) == []


def test_course_items_of_the_wrong_type_never_reach_storage(lp: learnprog.Learnprog) -> None:
    org_id, ana = _org(lp)
    with pytest.raises(ValidationError) as caught:
        CourseItem.create("I", kind="video", lesson="L", position="x")  # type: ignore[arg-type]
    assert caught.value.field == "item.position"
    with pytest.raises(ValidationError) as caught:
        CourseItem("i", "I", "bogus", "L")  # type: ignore[arg-type]
    assert caught.value.field == "kind"
    with pytest.raises(ValidationError) as caught:
        lp.programs.add_course(
            ana,
            org_id,
            course_id="C",
            slug="c",
            name="C",
            items=[{"name": "I"}],  # type: ignore[list-item]
        )
    assert caught.value.field == "items"
    assert lp.programs.list_courses(ana, org_id) == []


def test_ids_that_are_not_text_are_validation_errors(lp: learnprog.Learnprog) -> None:
    org_id, ana = _org(lp)
    with pytest.raises(ValidationError) as caught:
        lp.programs.list_courses(ana, ["x"])  # type: ignore[arg-type]
    assert caught.value.field == "organization_id"
    with pytest.raises(ValidationError, match="program_ids"):
        lp.organizations.add_admin(
            ana, org_id, "ana@acme.example", role="program", program_ids="abc"
        )


def test_the_audit_log_reveals_no_program_of_another_organization(
    lp: learnprog.Learnprog,
) -> None:
    org_id, ana = _org(lp)
    academy = lp.programs.create_program(ana, org_id, "Academy")
    globex = lp.organizations.create_organization(SYSTEM, "Globex")
    stranger = LearnerActor(globex.id, "nobody")
    with pytest.raises(PermissionDeniedError):
        lp.audit.entries(stranger, globex.id, program_id=academy.id)


@pytest.mark.parametrize("limit", [None, "5", 1.5, 0, 1001])
def test_audit_paging_arguments_are_checked(lp: learnprog.Learnprog, limit: object) -> None:
    org_id, ana = _org(lp)
    with pytest.raises(ValidationError, match="limit"):
        lp.audit.entries(ana, org_id, limit=limit)  # type: ignore[arg-type]


def test_connect_refuses_what_is_not_a_url() -> None:
    with pytest.raises(ValidationError, match="url"):
        learnprog.connect(123)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="nodriver"):
        learnprog.connect("postgresql+nodriver://x/y")


def _program(lp: learnprog.Learnprog) -> tuple[str, OrgAdminActor, str, str]:
    org_id, ana = _org(lp)
    program = lp.programs.create_program(ana, org_id, "Academy", slug="academy")
    contract = lp.programs.create_contract(
        ana,
        org_id,
        "Year 1",
        kind="licenses",
        quantity=5,
        starts_at=datetime(2026, 1, 1, tzinfo=UTC),
        ends_at=datetime(2027, 1, 1, tzinfo=UTC),
    )
    return org_id, ana, program.id, contract.id


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda lp, o, a, p, c: lp.learning.ingest(SYSTEM, o, events=None), "events"),
        (lambda lp, o, a, p, c: lp.learning.ingest(SYSTEM, o, attempts=7), "attempts"),
        (lambda lp, o, a, p, c: lp.learning.ingest(SYSTEM, o, events="e1"), "events"),
        (lambda lp, o, a, p, c: lp.learning.record_enrollments(SYSTEM, p, None), "records"),
        (lambda lp, o, a, p, c: lp.invitations.import_members(SYSTEM, p, c, {"a": 1}), "records"),
        (lambda lp, o, a, p, c: lp.learning.members_list(a, p, search=123), "search"),
        (
            lambda lp, o, a, p, c: lp.messaging.compose(
                a, o, "all_members", call_to_action=("a", "https://x.example", "z")
            ),
            "call_to_action",
        ),
        (lambda lp, o, a, p, c: lp.reports.usage_report(a, o, program_ids=p), "program_ids"),
        (lambda lp, o, a, p, c: lp.reports.write_zip(a, o, 5), "target"),
    ],
)
def test_learning_messaging_and_reports_name_the_bad_argument(
    lp: learnprog.Learnprog, call: object, field: str
) -> None:
    org_id, ana, program_id, contract_id = _program(lp)
    with pytest.raises(ValidationError) as caught:
        call(lp, org_id, ana, program_id, contract_id)  # type: ignore[operator]
    assert caught.value.field == field
