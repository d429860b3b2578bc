"""The read-only link readers a web layer uses: they name what a link is for, change nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import learnprog
from learnprog.clock import FixedClock
from learnprog.errors import (
    ExpiredTokenError,
    InvalidTokenError,
    NotFoundError,
    PermissionDeniedError,
)
from learnprog.mail.memory import InMemoryMailer
from learnprog.model.access import SystemActor
from learnprog.model.learner import MemberState
from learnprog.model.mail import MessageCategory

SYSTEM = SystemActor()


def setup(lp: learnprog.Learnprog, mailer: InMemoryMailer) -> tuple[str, learnprog.Actor, str]:
    org = lp.organizations.create_organization(
        SYSTEM,
        "Acme",
        email_domains=["acme.example"],
        admin_name="Ana",
        admin_email="ana@acme.example",
    )
    ana = lp.organizations.resolve_actor(SYSTEM, org.id, "ana@acme.example")
    program = lp.programs.create_program(ana, org.id, "Data Academy", slug="data-academy")
    contract = lp.programs.create_contract(
        ana,
        org.id,
        "Year 1",
        kind="licenses",
        quantity=5,
        starts_at=datetime(2026, 1, 1, tzinfo=UTC),
        ends_at=datetime(2036, 1, 1, tzinfo=UTC),
    )
    lp.invitations.invite(ana, program.id, contract.id, full_name="Noa", email="noa@acme.example")
    lp.mail.dispatch(SYSTEM)
    return org.id, ana, program.slug.value


def test_own_membership_is_the_learners_state_or_none(
    lp: learnprog.Learnprog, mailer: InMemoryMailer
) -> None:
    org_id, ana, slug = setup(lp, mailer)
    noa = lp.organizations.resolve_actor(SYSTEM, org_id, "noa@acme.example")
    membership = lp.invitations.own_membership(noa, slug)
    assert membership is not None
    assert membership.state is MemberState.INVITED
    ana_as_learner = lp.organizations.resolve_actor(
        SYSTEM, org_id, "ana@acme.example", as_learner=True
    )
    assert lp.invitations.own_membership(ana_as_learner, slug) is None
    with pytest.raises(PermissionDeniedError):
        lp.invitations.own_membership(ana, slug)
    with pytest.raises(NotFoundError):
        lp.invitations.own_membership(noa, "nowhere")


def test_unsubscribe_link_names_the_learner_and_category_and_stores_nothing(
    lp: learnprog.Learnprog, mailer: InMemoryMailer, clock: FixedClock
) -> None:
    org_id, _ana, _slug = setup(lp, mailer)
    noa = lp.organizations.resolve_actor(SYSTEM, org_id, "noa@acme.example")
    accept = next(m for m in mailer.sent if m.template == "invitation")
    accept_token = accept.text_body.split("token=", 1)[1].split()[0]
    with pytest.raises(InvalidTokenError):  # an acceptance token is no unsubscribe token
        lp.mail.unsubscribe_link(SYSTEM, accept_token)
    lp.invitations.accept(noa, accept_token)
    lp.mail.dispatch(SYSTEM)
    welcome = next(m for m in mailer.sent if m.headers)
    url_token = welcome.headers["List-Unsubscribe"].strip("<>").split("token=", 1)[1]
    link = lp.mail.unsubscribe_link(SYSTEM, url_token)
    assert (link.organization.id, link.learner.email.address, link.category) == (
        org_id,
        "noa@acme.example",
        MessageCategory.ANNOUNCEMENT,
    )
    assert lp.mail.email_preferences(noa)[MessageCategory.ANNOUNCEMENT] is True
    with pytest.raises(PermissionDeniedError):
        lp.mail.unsubscribe_link(noa, url_token)
    clock.advance(timedelta(days=366))
    with pytest.raises(ExpiredTokenError):
        lp.mail.unsubscribe_link(SYSTEM, url_token)


def test_link_organization_names_where_a_download_link_was_issued(
    lp: learnprog.Learnprog, mailer: InMemoryMailer, clock: FixedClock
) -> None:
    org_id, ana, _slug = setup(lp, mailer)
    lp.reports.send_email_report(ana, org_id)
    lp.mail.dispatch(SYSTEM)
    report = next(m for m in mailer.sent if m.template == "usage_report")
    token = report.text_body.split("/reports/download?token=", 1)[1].split()[0]
    assert lp.reports.link_organization(SYSTEM, token) == org_id
    with pytest.raises(PermissionDeniedError):
        lp.reports.link_organization(ana, token)
    with pytest.raises(InvalidTokenError):
        lp.reports.link_organization(SYSTEM, token[:-2] + "zz")
    clock.advance(timedelta(hours=24, seconds=1))
    with pytest.raises(ExpiredTokenError):
        lp.reports.link_organization(SYSTEM, token)
