"""Two different mailboxes are never one learner, on every backend (issue 17, section 2).

Full Unicode case folding made ``jan.straße@`` and ``jan.strasse@``, ``ﬁnance@`` and
``finance@``, a Greek name with final sigma and with small sigma one key, and IDNA 2003 made
``straße.example`` the domain ``strasse.example``: the second person was never invited, and
signing in as one resolved to the other's account. Each pair goes through every way in:
invitation, bulk invitation, acceptance by sign-in, resolve_actor and the history imports.
"""

from __future__ import annotations

import functools
from datetime import timedelta

import pytest

import learnprog
from learnprog.clock import FixedClock
from learnprog.errors import NotFoundError, ValidationError
from learnprog.mail.memory import InMemoryMailer
from learnprog.model import LearnerActor, MemberState
from learnprog.model.identity import email_key
from learnprog.services.history import ImportOutcome, MemberRecord
from learnprog.services.invitations import InvitationOutcome
from tests.conftest import START, UowFactory
from tests.races import at_once
from tests.services.world import SYSTEM, World

# (one mailbox, another mailbox) that the old key made one learner
PAIRS = [
    ("jan.straße@acme.example", "jan.strasse@acme.example"),
    ("ﬁnance@acme.example", "finance@acme.example"),
    ("σος@acme.example", "σοσ@acme.example"),  # noqa: RUF001 - Greek letters on purpose
    ("jan@straße.example", "jan@strasse.example"),
]
PAIR_IDS = ["sharp-s", "ligature", "final-sigma", "idna2008-domain"]


def _learner_ids(lp: learnprog.Learnprog, w: World) -> dict[str, str]:
    """Each member's stored address -> learner ID."""
    return {
        learner.email.address: learner.id
        for learner, _ in lp.invitations.members(w.admin, w.program.id)
    }


@pytest.mark.parametrize(("one", "other"), PAIRS, ids=PAIR_IDS)
def test_inviting_both_mailboxes_makes_two_learners_each_mailed(
    lp_any: learnprog.Learnprog, mailer: InMemoryMailer, one: str, other: str
) -> None:
    w = World(lp_any, licenses=5)
    first = w.invite(one, "First Person")
    second = w.invite(other, "Second Person")
    assert (first.outcome, second.outcome) == (InvitationOutcome.CREATED,) * 2
    assert first.learner.id != second.learner.id
    assert _learner_ids(lp_any, w) == {one: first.learner.id, other: second.learner.id}
    lp_any.mail.dispatch(SYSTEM)
    assert sorted(str(m.to) for m in mailer.sent) == sorted([one, other])
    # the same mailbox in another case is still the same learner (``other`` has no ß, whose
    # str.upper() is SS: another mailbox)
    again = w.invite(other.upper(), "Second Person")
    assert again.outcome is InvitationOutcome.ALREADY_INVITED
    assert again.learner.id == second.learner.id


@pytest.mark.parametrize(("one", "other"), PAIRS, ids=PAIR_IDS)
def test_a_roster_with_both_mailboxes_invites_both(
    lp_any: learnprog.Learnprog, one: str, other: str
) -> None:
    w = World(lp_any, licenses=5)
    data = f"Full Name,Email,External ID\nFirst,{one},\nSecond,{other},\nAgain,{other.upper()},\n"
    with lp_any.invitations.bulk_invite(w.admin, w.program.id, w.contract.id, data.encode()) as run:
        results = list(run)
    assert [r.outcome for r in results] == ["created", "created", "duplicate"]
    assert results[2].duplicate_of == 3
    assert set(_learner_ids(lp_any, w)) == {one, other}


@pytest.mark.parametrize(("one", "other"), PAIRS, ids=PAIR_IDS)
def test_signing_in_as_one_mailbox_never_reaches_the_other(
    lp_any: learnprog.Learnprog, one: str, other: str
) -> None:
    w = World(lp_any, licenses=5)
    w.invite(one)
    with pytest.raises(NotFoundError):  # not invited yet: no account, and not the other's
        lp_any.organizations.resolve_actor(SYSTEM, w.org.id, other)
    second = w.invite(other)
    actor = lp_any.organizations.resolve_actor(SYSTEM, w.org.id, other)
    assert actor == LearnerActor(w.org.id, second.learner.id)
    joined = lp_any.invitations.accept_by_sign_in(actor, "academy")
    assert joined.learner_id == second.learner.id
    states = {
        learner.email.address: m.state
        for learner, m in lp_any.invitations.members(w.admin, w.program.id)
    }
    assert states == {one: MemberState.INVITED, other: MemberState.MEMBER}


@pytest.mark.parametrize(("one", "other"), PAIRS, ids=PAIR_IDS)
def test_history_imports_keep_both_mailboxes_apart(
    lp_any: learnprog.Learnprog, one: str, other: str
) -> None:
    w = World(lp_any, licenses=5)
    at = lp_any.context.clock.now() - timedelta(days=30)
    result = lp_any.invitations.import_members(
        SYSTEM,
        w.program.id,
        w.contract.id,
        [MemberRecord("First", one, at), MemberRecord("Second", other, at)],
    )
    assert [r.outcome for r in result.records] == [ImportOutcome.CREATED] * 2
    assert result.records[0].record_id != result.records[1].record_id

    other_program = lp_any.programs.create_program(w.admin, w.org.id, "Other", slug="other")
    export = (
        "Name,Email,Member State,Invitation Date\n"
        f"First,{one},INVITED,2026-01-05T10:00:00Z\n"
        f"Second,{other.upper()},INVITED,2026-01-05T10:00:00Z\n"  # upper(): still the other
    )
    imported = lp_any.history.import_membership_export(
        w.admin, other_program.id, export.encode(), contract_id=w.contract.id
    )
    assert [line.outcome for line in imported.lines] == [ImportOutcome.CREATED] * 2
    assert [line.record_id for line in imported.lines] == [r.record_id for r in result.records]


def test_organization_domains_are_keyed_as_addresses_are(
    lp_any: learnprog.Learnprog,
) -> None:
    org = lp_any.organizations.create_organization(
        SYSTEM,
        "Straße",
        email_domains=["STRAẞE.example"],
        admin_name="Jan",
        admin_email="jan@xn--strae-oqa.example",  # the ASCII form of the same domain
    )
    assert org.email_domains == ("straße.example",)
    admin = lp_any.organizations.resolve_actor(SYSTEM, org.id, "JAN@straße.example")
    lp_any.organizations.update_settings(admin, org.id, restrict_invitations_to_domains=True)
    program = lp_any.programs.create_program(admin, org.id, "P", slug="p")
    now = lp_any.context.clock.now()
    contract = lp_any.programs.create_contract(
        admin,
        org.id,
        "C",
        kind="unlimited",
        quantity=None,
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=1),
    )
    with pytest.raises(ValidationError, match="restricted"):  # another domain under IDNA 2008
        lp_any.invitations.invite(
            admin, program.id, contract.id, full_name="X", email="x@strasse.example"
        )
    data = "Full Name,Email,External ID\nA,a@xn--strae-oqa.example,\nB,b@strasse.example,\n"
    with lp_any.invitations.bulk_invite(admin, program.id, contract.id, data.encode()) as run:
        results = list(run)
    assert [r.outcome for r in results] == ["created", "rejected"]
    assert "outside the organization's domains" in str(results[1].reason)


@pytest.mark.parametrize(("one", "other"), PAIRS[:2], ids=PAIR_IDS[:2])
def test_workers_inviting_both_mailboxes_at_once_make_one_learner_each(
    uow_factory: UowFactory, one: str, other: str
) -> None:
    lp = learnprog.connect(
        uow_factory=uow_factory,
        mailer=InMemoryMailer(),
        clock=FixedClock(START),
        settings=learnprog.Settings(secret_key="test-secret-test-secret"),
    )
    w = World(lp, licenses=5)
    spellings = [one, other, one.replace("acme", "ACME"), other.upper()] * 2

    def invite(email: str) -> InvitationOutcome:
        return w.invite(email, send_email=False).outcome

    outcomes = at_once([functools.partial(invite, e) for e in spellings])
    # as if one after the other: each mailbox created once, every other spelling already invited
    assert outcomes == sorted(
        ["InvitationOutcome.CREATED"] * 2 + ["InvitationOutcome.ALREADY_INVITED"] * 6
    )
    members = lp.invitations.members(w.admin, w.program.id)
    # whichever spelling won the race is stored: one learner per mailbox
    assert sorted(learner.email.key for learner, _ in members) == sorted(
        [email_key(one), email_key(other)]
    )
