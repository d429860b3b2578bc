"""Unit tests of learnprog.serialization: the private cattrs converter."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

from learnprog.model.audit import AuditEntry
from learnprog.model.catalog import Assessment, Course, CourseItem
from learnprog.model.identity import EmailAddress, ProgramSlug
from learnprog.model.learner import Learner, LearnerProfile, Membership, MemberState
from learnprog.model.organization import Organization, Program, ReportSchedule, Weekday
from learnprog.serialization import make_converter, to_json_value
from learnprog.services.skills import MasteryOverTime, MasteryPoint

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _org() -> Organization:
    return Organization.create(
        "Acme", now=NOW, email_domains=["acme.example"], brand_color="#aabbcc"
    ).with_settings(
        report_schedule=ReportSchedule(
            program_ids=frozenset({"p1"}), weekdays=frozenset({Weekday.FRIDAY})
        )
    )


def _learner() -> Learner:
    return Learner.create(
        "org-1",
        "Ana Lima",
        "Ana.Lima@Example.org",
        now=NOW,
        external_id="00123",
        profile=LearnerProfile(job_title="Analyst"),
        attributes={"team": "Data"},
    )


def test_email_and_slug_become_text() -> None:
    conv = make_converter()
    assert conv.unstructure(EmailAddress.parse("Ana@Example.org")) == "Ana@Example.org"
    assert conv.unstructure(ProgramSlug.parse("data-academy")) == "data-academy"


def test_email_structured_with_key() -> None:
    addr = make_converter().structure("Ana@Example.org", EmailAddress)
    assert addr.address == "Ana@Example.org"
    assert addr.key == "ana@example.org"


def test_collections_become_lists() -> None:
    plain = make_converter().unstructure(_org())
    assert plain["email_domains"] == ["acme.example"]
    assert plain["report_schedule"] == {"program_ids": ["p1"], "weekdays": ["friday"]}


def test_result_lists_become_lists_of_plain_rows() -> None:
    points = MasteryOverTime([MasteryPoint("s1", NOW.date(), 2, 1)], {"s1": "SQL"})
    plain = to_json_value(points)
    assert type(plain) is list
    assert plain == [{"skill_id": "s1", "day": NOW.date(), "intermediate": 2, "advanced": 1}]


def test_datetimes_stay_datetimes_by_default() -> None:
    plain = make_converter().unstructure(_org())
    assert plain["created_at"] == NOW
    assert isinstance(plain["created_at"], datetime)


def test_json_datetimes_are_iso_text() -> None:
    plain = make_converter(json_datetimes=True).unstructure(_org())
    assert plain["created_at"] == "2026-03-02T09:00:00+00:00"


def test_organization_round_trip() -> None:
    org = _org()
    for conv in (make_converter(), make_converter(json_datetimes=True)):
        assert conv.structure(conv.unstructure(org), Organization) == org


def test_learner_round_trip_keeps_email_key() -> None:
    person = _learner()
    conv = make_converter(json_datetimes=True)
    plain = conv.unstructure(person)
    assert plain["email"] == "Ana.Lima@Example.org"
    back = conv.structure(plain, Learner)
    assert back == person
    assert back.email.key == "ana.lima@example.org"


def test_program_round_trip() -> None:
    prog = Program.create("org-1", "Data", now=NOW, slug="data", course_enrollment_limit=2)
    conv = make_converter()
    plain = conv.unstructure(prog)
    assert plain["slug"] == "data"
    assert conv.structure(plain, Program) == prog


def test_membership_round_trip_with_enum_and_optional_times() -> None:
    membership = Membership.invite("o", "p", "l", "c", now=NOW).accept(NOW + timedelta(hours=1))
    conv = make_converter(json_datetimes=True)
    plain = conv.unstructure(membership)
    assert plain["state"] == "MEMBER"
    assert plain["removed_at"] is None
    back = conv.structure(plain, Membership)
    assert back == membership
    assert back.state is MemberState.MEMBER


def test_course_round_trip_with_nested_items() -> None:
    course = Course.create(
        "o",
        course_id="c1",
        slug="c1",
        name="C",
        now=NOW,
        items=[CourseItem.create("Quiz", kind="quiz", lesson="W1", id="q1")],
        assessments=[
            Assessment.create("Quiz", id="a1", item_id="q1", skill_ids=["s1"], due_at=NOW)
        ],
    )
    conv = make_converter(json_datetimes=True)
    plain = conv.unstructure(course)
    assert plain["items"][0]["kind"] == "quiz"
    assert plain["assessments"][0]["skill_ids"] == ["s1"]
    assert conv.structure(plain, Course) == course


def test_structured_json_datetime_in_other_zone_becomes_utc() -> None:
    conv = make_converter(json_datetimes=True)
    plain = conv.unstructure(_org())
    plain["created_at"] = "2026-03-02T10:00:00+01:00"
    back = conv.structure(plain, Organization)
    assert back.created_at == NOW
    assert back.created_at.tzinfo is UTC


def test_to_json_value_is_json_ready() -> None:
    entry = AuditEntry.record(
        organization_id="o",
        actor="system",
        action="learner.create",
        object_type="learner",
        object_id="l",
        now=datetime(2026, 3, 2, 10, 0, tzinfo=timezone(timedelta(hours=1))),
        changes={"email": [None, "ana@example.org"]},
    )
    value = to_json_value(entry)
    assert value["at"] == "2026-03-02T09:00:00+00:00"
    assert value["changes"] == {"email": [None, "ana@example.org"]}
    json.dumps(value)  # must not raise
    assert to_json_value(_learner())["email"] == "Ana.Lima@Example.org"
    assert to_json_value(frozenset({"a"})) == ["a"]
    assert to_json_value(("a", 1)) == ["a", 1]
    assert to_json_value(NOW) == "2026-03-02T09:00:00+00:00"
