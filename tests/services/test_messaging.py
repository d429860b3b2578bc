"""MessagingService: details, validation, preview, consent, sending, history, quick actions."""

from __future__ import annotations

from datetime import timedelta

import pytest

import learnprog
from learnprog.clock import FixedClock
from learnprog.errors import ConflictError, PermissionDeniedError, ValidationError
from learnprog.mail.memory import InMemoryMailer
from learnprog.model import LearnerActor, MessageCategory, OutboxStatus, ProgramAdminActor
from learnprog.model.messaging import (
    MAX_FILTER_IDS,
    SIGNATURE_PLACEHOLDER,
    Audience,
    AudienceFilter,
    CallToAction,
    MessageDetails,
    signed,
)
from tests.services.world import SYSTEM, World

DAY = timedelta(days=1)


class Cohort(World):
    """Ana the admin; Lia and Bo joined, Ivy only invited, Rui removed, Oz opted out."""

    def __init__(self, lp: learnprog.Learnprog) -> None:
        super().__init__(lp, licenses=10)
        for email, name in [
            ("lia@acme.example", "Lia Learner"),
            ("bo@acme.example", "Bo Builder"),
            ("rui@acme.example", "Rui Removed"),
            ("oz@acme.example", "Oz Optout"),
        ]:
            self.invite(email, name, send_email=False)
            self.accept(email)
        self.invite("ivy@acme.example", "Ivy Invited", send_email=False)
        rui = self.learner("rui@acme.example")
        (membership,) = [
            m for learner, m in lp.invitations.members(self.admin, self.program.id)
            if learner.id == rui.learner_id
        ]  # fmt: skip
        lp.invitations.remove_member(self.admin, membership.id)
        lp.mail.set_email_preference(self.learner("oz@acme.example"), "admin", receive=False)
        lp.mail.dispatch(SYSTEM)  # welcome and exit emails out of the way

    def admin_messages(self, mailer: InMemoryMailer) -> list[tuple[str, str]]:
        """(recipient, subject) of every admin message delivered so far, sorted."""
        self.lp.mail.dispatch(SYSTEM)
        return sorted(
            (str(m.to), m.subject) for m in mailer.sent if m.category is MessageCategory.ADMIN
        )


def test_the_preset_goes_to_its_audience_rendered_for_each_recipient(
    lp: learnprog.Learnprog, mailer: InMemoryMailer
) -> None:
    w = Cohort(lp)
    sent = lp.messaging.send(w.admin, w.org.id, "all_members", agree_to_terms=True)
    assert (sent.recipients, sent.opted_out, sent.removed) == (2, 1, 1)  # Lia and Bo
    lp.mail.dispatch(SYSTEM)
    admin_mail = [m for m in mailer.sent if m.category is MessageCategory.ADMIN]
    assert sorted(str(m.to) for m in admin_mail) == ["bo@acme.example", "lia@acme.example"]
    lia = next(m for m in admin_mail if str(m.to) == "lia@acme.example")
    assert lia.subject == "A message about Academy"
    assert "Hi Lia Learner," in lia.text_body
    assert lia.sender_name == "Ana"  # the acting admin's name
    assert SIGNATURE_PLACEHOLDER not in lia.text_body  # the preset is signed for the admin
    assert "\n\nAna\n" in lia.text_body
    assert lia.reply_to is None  # replies go to the no-reply address
    assert str(lia.sender_address) == str(lp.context.settings.no_reply_address)
    assert "List-Unsubscribe" in lia.headers


def test_custom_details_with_a_call_to_action_and_reply_to(
    lp: learnprog.Learnprog, mailer: InMemoryMailer
) -> None:
    w = Cohort(lp)
    details = lp.messaging.compose(
        w.admin,
        w.org.id,
        "joined_not_enrolled",
        subject="{{ learner_name }}, pick a course",
        content="Hello {{ learner_name }}!\nLine two.\n\nSee {{ program_name }}.",
        call_to_action=("Browse courses", "https://learn.example/academy"),
        sender_name="The Academy Team",
        reply_to="team@acme.example",
    )
    lp.messaging.send(w.admin, w.org.id, "joined_not_enrolled", details, agree_to_terms=True)
    lp.mail.dispatch(SYSTEM)
    bo = next(
        m
        for m in mailer.sent
        if str(m.to) == "bo@acme.example" and m.category is MessageCategory.ADMIN
    )
    assert bo.subject == "Bo Builder, pick a course"
    assert bo.sender_name == "The Academy Team"
    assert str(bo.reply_to) == "team@acme.example"
    assert "Hello Bo Builder!\nLine two.\n\nSee Academy." in bo.text_body
    assert "Browse courses: https://learn.example/academy" in bo.text_body
    assert bo.html_body is not None
    assert 'href="https://learn.example/academy"' in bo.html_body
    assert "Hello Bo Builder!<br>Line two.</p>" in bo.html_body


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"subject": "   "}, "subject"),
        ({"subject": "Hi\r\nBcc: x@evil.example"}, "subject"),
        ({"content": "Hi {{ learner_email }}"}, "content"),
        ({"content": ""}, "content"),
        ({"reply_to": "not-an-address"}, "reply_to"),
        ({"sender_name": "Ana\nBcc: x@evil.example"}, "sender_name"),
        ({"call_to_action": ("Go", "javascript:alert(1)")}, "call_to_action.url"),
        ({"call_to_action": ("", "https://learn.example")}, "call_to_action.label"),
    ],
)
def test_bad_details_are_refused_when_composed(
    lp: learnprog.Learnprog, options: dict[str, object], field: str
) -> None:
    w = Cohort(lp)
    with pytest.raises(ValidationError) as caught:
        lp.messaging.compose(w.admin, w.org.id, "all_members", **options)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_details_made_directly_are_checked_before_anything_is_queued(
    lp: learnprog.Learnprog, mailer: InMemoryMailer
) -> None:
    w = Cohort(lp)
    bad = MessageDetails.create("Hi", "Dear {{ learner.email }}")
    with pytest.raises(ValidationError, match="content"):
        lp.messaging.send(w.admin, w.org.id, "all_members", bad, agree_to_terms=True)
    assert w.admin_messages(mailer) == []
    assert lp.messaging.history(w.admin, w.org.id) == []


def test_sending_needs_the_terms_agreed(lp: learnprog.Learnprog, mailer: InMemoryMailer) -> None:
    w = Cohort(lp)
    with pytest.raises(ValidationError, match="terms"):
        lp.messaging.send(w.admin, w.org.id, "all_members", agree_to_terms=False)
    with pytest.raises(ValidationError, match="terms"):
        lp.messaging.send(w.admin, w.org.id, "all_members", agree_to_terms="yes")  # type: ignore[arg-type]
    assert w.admin_messages(mailer) == []


def test_preview_counts_and_renders_for_a_sample(lp: learnprog.Learnprog) -> None:
    w = Cohort(lp)
    preview = lp.messaging.preview(w.admin, w.org.id, Audience.ALL_MEMBERS)
    assert (preview.recipients, preview.opted_out, preview.removed) == (2, 1, 1)
    assert str(preview.message.to) in ("lia@acme.example", "bo@acme.example")
    assert f"Hi {preview.message.to_name}," in preview.message.text_body
    assert "I agree" in preview.terms_of_use
    empty = lp.messaging.preview(w.admin, w.org.id, "recent_completion")
    assert empty.recipients == 0
    assert "[User name will go here]" in empty.message.text_body
    assert SIGNATURE_PLACEHOLDER not in empty.message.text_body
    details = lp.messaging.compose(w.admin, w.org.id, "recent_completion")
    assert SIGNATURE_PLACEHOLDER in details.content  # shown to the admin, who may replace it
    assert (
        signed(details.content, "") == details.content.replace(SIGNATURE_PLACEHOLDER, "").rstrip()
    )
    assert signed("No placeholder here.", "Ana") == "No placeholder here."
    assert empty.message.subject == "Congratulations on your achievement"
    assert lp.messaging.history(w.admin, w.org.id) == []  # nothing stored


def test_invited_learners_only_in_their_audience(
    lp: learnprog.Learnprog, mailer: InMemoryMailer
) -> None:
    w = Cohort(lp)
    sent = lp.messaging.send(w.admin, w.org.id, "invited_not_joined", agree_to_terms=True)
    assert sent.recipients == 1
    assert w.admin_messages(mailer) == [
        ("ivy@acme.example", "Your invitation to Academy is waiting")
    ]


def test_an_idempotency_key_sends_once(lp: learnprog.Learnprog, mailer: InMemoryMailer) -> None:
    w = Cohort(lp)
    first = lp.messaging.send(
        w.admin, w.org.id, "all_members", agree_to_terms=True, idempotency_key="spring-1"
    )
    again = lp.messaging.send(
        w.admin, w.org.id, "all_members", agree_to_terms=True, idempotency_key="spring-1"
    )
    assert again == first
    assert len(w.admin_messages(mailer)) == 2
    assert [m.id for m in lp.messaging.history(w.admin, w.org.id)] == [first.id]


def test_an_idempotency_key_used_for_another_message_is_a_conflict(
    lp: learnprog.Learnprog, mailer: InMemoryMailer
) -> None:
    w = Cohort(lp)
    first = lp.messaging.send(
        w.admin, w.org.id, "all_members", agree_to_terms=True, idempotency_key="spring-1"
    )
    other = lp.messaging.compose(w.admin, w.org.id, "all_members", subject="Spring courses")
    with pytest.raises(ConflictError, match=r"'spring-1'.*subject") as caught:
        lp.messaging.send(
            w.admin, w.org.id, "all_members", other, agree_to_terms=True, idempotency_key="spring-1"
        )
    assert caught.value.key == "spring-1"
    with pytest.raises(ConflictError, match="audience"):
        lp.messaging.send(
            w.admin, w.org.id, "inactive", agree_to_terms=True, idempotency_key="spring-1"
        )
    assert len(w.admin_messages(mailer)) == 2  # the first message's only
    assert [m.id for m in lp.messaging.history(w.admin, w.org.id)] == [first.id]
    # the same message under the same key is a retry: the earlier one, nothing more
    again = lp.messaging.send(
        w.admin, w.org.id, "all_members", agree_to_terms=True, idempotency_key="spring-1"
    )
    assert again == first


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "an ID is required"),
        ("   ", "an ID is required"),
        ("k\ud800", "control characters"),  # a lone surrogate: not encodable for a driver
        ("k\x00", "control characters"),  # NUL: PostgreSQL refuses it in text
        ("k\x1b[31m", "control characters"),
        ("k\n2", "control characters"),
        ("k" * 65, "at most 64 characters"),
        (5, "text is required, not int"),
    ],
)
def test_a_bad_idempotency_key_is_refused_before_anything_on_every_backend(
    lp_any: learnprog.Learnprog, mailer: InMemoryMailer, key: object, message: str
) -> None:
    w = Cohort(lp_any)
    with pytest.raises(ValidationError, match=message) as caught:
        lp_any.messaging.send(
            w.admin,
            w.org.id,
            "all_members",
            agree_to_terms=True,
            idempotency_key=key,  # type: ignore[arg-type]
        )
    assert caught.value.field == "idempotency_key"
    assert lp_any.messaging.history(w.admin, w.org.id) == []
    assert w.admin_messages(mailer) == []
    with pytest.raises(ValidationError, match=message):
        lp_any.messaging.remind_to_enroll(
            w.admin,
            w.program.id,
            agree_to_terms=True,
            idempotency_key=key,  # type: ignore[arg-type]
        )
    sent = lp_any.messaging.send(  # the longest key allowed is kept as given
        w.admin, w.org.id, "all_members", agree_to_terms=True, idempotency_key=" k" * 32
    )
    assert sent.idempotency_key == " k" * 32


def test_an_explicit_selection_keeps_the_exclusion_rules(
    lp: learnprog.Learnprog, mailer: InMemoryMailer
) -> None:
    w = Cohort(lp)
    chosen = [w.learner(e).learner_id for e in ("lia@acme.example", "rui@acme.example")]
    chosen.append(w.learner("oz@acme.example").learner_id)
    selection = AudienceFilter.create(learner_ids=chosen)
    sent = lp.messaging.send(
        w.admin, w.org.id, "all_members", filters=selection, agree_to_terms=True
    )
    assert (sent.recipients, sent.opted_out, sent.removed) == (1, 1, 1)
    assert [to for to, _ in w.admin_messages(mailer)] == ["lia@acme.example"]


def test_a_selection_of_up_to_the_maximum_ids_works_on_every_backend(
    lp_any: learnprog.Learnprog, mailer: InMemoryMailer
) -> None:
    w = Cohort(lp_any)
    chosen = [w.learner(e).learner_id for e in ("lia@acme.example", "oz@acme.example")]
    others = [f"{i:032x}" for i in range(MAX_FILTER_IDS - len(chosen) - 1)]  # nobody
    selection = AudienceFilter.create(
        program_ids=[w.program.id], learner_ids=[*chosen, *others]
    )  # exactly MAX_FILTER_IDS IDs: each one a bound parameter on SQL storage
    preview = lp_any.messaging.preview(w.admin, w.org.id, "all_members", filters=selection)
    assert (preview.recipients, preview.opted_out, preview.removed) == (1, 1, 0)
    sent = lp_any.messaging.send(
        w.admin, w.org.id, "all_members", filters=selection, agree_to_terms=True
    )
    assert (sent.recipients, sent.opted_out) == (1, 1)
    assert [to for to, _ in w.admin_messages(mailer)] == ["lia@acme.example"]
    (stored,) = lp_any.messaging.history(w.admin, w.org.id)
    assert stored.filters == selection


def test_a_selection_over_the_maximum_is_refused_before_any_query_on_every_backend(
    lp_any: learnprog.Learnprog, mailer: InMemoryMailer
) -> None:
    w = Cohort(lp_any)
    many = [f"{i:032x}" for i in range(70_000)]
    with pytest.raises(ValidationError, match="at most 10,000 IDs in all, not 70,000") as bad:
        AudienceFilter.create(learner_ids=many)
    assert bad.value.field == "learner_ids"
    with pytest.raises(ValidationError, match="not 10,001") as bad:
        AudienceFilter.create(program_ids=many[:5_000], learner_ids=many[:5_001])
    assert bad.value.field == "learner_ids"
    made_directly = AudienceFilter(learner_ids=many)  # not through create: checked by the service
    for attempt in (
        lambda: lp_any.messaging.preview(w.admin, w.org.id, "all_members", filters=made_directly),
        lambda: lp_any.messaging.send(
            w.admin, w.org.id, "all_members", filters=made_directly, agree_to_terms=True
        ),
    ):
        with pytest.raises(ValidationError, match="at most 10,000 IDs") as bad:
            attempt()
        assert bad.value.field == "learner_ids"
    assert lp_any.messaging.history(w.admin, w.org.id) == []
    assert w.admin_messages(mailer) == []


@pytest.mark.parametrize("bad", ["a\x00", "a\ud800", " ", "x" * 65, 5])
def test_a_filter_id_is_a_record_id(bad: object) -> None:
    with pytest.raises(ValidationError) as caught:
        AudienceFilter.create(contract_ids=["ok", bad])  # type: ignore[list-item]
    assert caught.value.field == "contract_ids"


def test_a_program_admin_reaches_only_their_programs(
    lp: learnprog.Learnprog, mailer: InMemoryMailer
) -> None:
    w = Cohort(lp)
    other = lp.programs.create_program(w.admin, w.org.id, "Other", slug="other")
    lp.organizations.add_admin(
        w.admin, w.org.id, "bo@acme.example", role="program", program_ids=[other.id]
    )
    paulo = lp.organizations.resolve_actor(SYSTEM, w.org.id, "bo@acme.example")
    assert isinstance(paulo, ProgramAdminActor)
    sent = lp.messaging.send(paulo, w.org.id, "all_members", agree_to_terms=True)
    assert sent.recipients == 0  # nobody joined Other
    with pytest.raises(PermissionDeniedError):
        lp.messaging.history(paulo, w.org.id, program_id=w.program.id)
    with pytest.raises(PermissionDeniedError):
        lp.messaging.send(w.learner("lia@acme.example"), w.org.id, "all_members",
                          agree_to_terms=True)  # fmt: skip


def test_history_per_program_and_recipients(
    lp: learnprog.Learnprog, mailer: InMemoryMailer, clock: FixedClock
) -> None:
    w = Cohort(lp)
    first = lp.messaging.send(w.admin, w.org.id, "all_members", agree_to_terms=True)
    clock.advance(DAY)
    second = lp.messaging.send(w.admin, w.org.id, "invited_not_joined", agree_to_terms=True)
    other = lp.programs.create_program(w.admin, w.org.id, "Other", slug="other")
    history = lp.messaging.history(w.admin, w.org.id)
    assert [m.id for m in history] == [second.id, first.id]
    assert history[1].actor == w.admin.describe()
    assert history[1].audience is Audience.ALL_MEMBERS
    assert lp.messaging.history(w.admin, w.org.id, program_id=other.id) == []
    assert len(lp.messaging.history(w.admin, w.org.id, program_id=w.program.id)) == 2
    recipients = lp.messaging.recipients(w.admin, first.id)
    assert len(recipients) == 2
    assert all(r.program_id == w.program.id and r.outbox_id for r in recipients)
    lp.mail.dispatch(SYSTEM)
    with lp.context.uow_factory() as uow:
        statuses = {uow.outbox.get(str(r.outbox_id)).status for r in recipients}
    assert statuses == {OutboxStatus.SENT}


def test_a_program_admin_sees_only_their_programs_messages_and_their_counts(
    lp_any: learnprog.Learnprog,
) -> None:
    # Academy: Lia and Bo joined, Rui removed, Oz opted out (Cohort). Other: Cy and Dee joined,
    # Eli opted out, Fay removed; Paulo is Other's program admin.
    lp = lp_any
    w = Cohort(lp)
    other = lp.programs.create_program(w.admin, w.org.id, "Other", slug="other")
    for email, name in [("cy@acme.example", "Cy"), ("dee@acme.example", "Dee"),
                        ("eli@acme.example", "Eli"), ("fay@acme.example", "Fay")]:  # fmt: skip
        lp.invitations.invite(w.admin, other.id, w.contract.id, full_name=name, email=email,
                              send_email=False)  # fmt: skip
        lp.invitations.accept_by_sign_in(w.learner(email), "other")
    lp.mail.set_email_preference(w.learner("eli@acme.example"), "admin", receive=False)
    fay = w.learner("fay@acme.example").learner_id
    (fay_membership,) = [
        m for learner, m in lp.invitations.members(w.admin, other.id) if learner.id == fay
    ]
    lp.invitations.remove_member(w.admin, fay_membership.id)
    lp.organizations.register_learner(SYSTEM, w.org.id, "Paulo", "paulo@acme.example")
    lp.organizations.add_admin(
        w.admin, w.org.id, "paulo@acme.example", role="program", program_ids=[other.id]
    )
    paulo = lp.organizations.resolve_actor(SYSTEM, w.org.id, "paulo@acme.example")
    assert isinstance(paulo, ProgramAdminActor)

    everyone = lp.messaging.send(w.admin, w.org.id, "all_members", agree_to_terms=True)
    academy_only = lp.messaging.send(
        w.admin, w.org.id, "all_members", agree_to_terms=True,
        filters=AudienceFilter(program_ids=(w.program.id,)),
    )  # fmt: skip
    # the organization admin sees both whole
    assert (everyone.recipients, everyone.opted_out, everyone.removed) == (4, 2, 2)
    whole = {m.id: m for m in lp.messaging.history(w.admin, w.org.id)}
    assert whole.keys() == {everyone.id, academy_only.id}
    assert (whole[everyone.id].recipients, whole[everyone.id].opted_out) == (4, 2)
    assert set(whole[everyone.id].program_ids) == {w.program.id, other.id}

    # Paulo sees only the message that reached Other, with Other's counts alone
    (seen,) = lp.messaging.history(paulo, w.org.id)
    assert seen.id == everyone.id
    assert (seen.recipients, seen.opted_out, seen.removed) == (2, 1, 1)  # Cy, Dee; Eli; Fay
    assert seen.program_ids == (other.id,)
    assert lp.messaging.history(paulo, w.org.id, program_id=other.id) == [seen]
    assert {r.learner_id for r in lp.messaging.recipients(paulo, everyone.id)} == {
        w.learner("cy@acme.example").learner_id,
        w.learner("dee@acme.example").learner_id,
    }
    # an organization admin narrowing to Academy still sees each message whole
    narrowed = lp.messaging.history(w.admin, w.org.id, program_id=w.program.id)
    assert {(m.id, m.recipients) for m in narrowed} == {(academy_only.id, 2), (everyone.id, 4)}


def test_quick_actions_resend_and_remind(
    lp: learnprog.Learnprog, mailer: InMemoryMailer, clock: FixedClock
) -> None:
    w = Cohort(lp)
    resent = lp.messaging.resend_invitations(w.admin, w.program.id)
    assert len(resent.sent) == 1  # Ivy's invitation was created without an email
    again = lp.messaging.resend_invitations(w.admin, w.program.id)
    assert (len(again.sent), len(again.skipped_recent)) == (0, 1)  # the 24-hour rule
    reminded = lp.messaging.remind_to_enroll(w.admin, w.program.id, agree_to_terms=True)
    assert reminded.audience is Audience.JOINED_NOT_ENROLLED
    assert reminded.filters.program_ids == (w.program.id,)
    assert [to for to, _ in w.admin_messages(mailer)] == ["bo@acme.example", "lia@acme.example"]
    with pytest.raises(PermissionDeniedError):
        lp.messaging.remind_to_enroll(
            w.learner("lia@acme.example"), w.program.id, agree_to_terms=True
        )


def test_presets_cover_every_audience(lp: learnprog.Learnprog) -> None:
    w = Cohort(lp)
    presets = lp.messaging.presets(w.admin, w.org.id)
    assert set(presets) == set(Audience)
    for audience, preset in presets.items():
        details = lp.messaging.compose(w.admin, w.org.id, audience)
        assert (details.subject, details.content) == (preset.subject, preset.content)
    with pytest.raises(ValidationError, match="audience"):
        lp.messaging.compose(w.admin, w.org.id, "everyone")
    assert isinstance(CallToAction.create("Go", "http://x.example/a"), CallToAction)
    assert isinstance(w.learner("lia@acme.example"), LearnerActor)


@pytest.mark.parametrize(("options", "field"), [({"limit": 0}, "limit"), ({"offset": -1}, "offset"),
                                                ({"offset": "x"}, "offset")])  # fmt: skip
def test_history_paging_is_checked(
    lp: learnprog.Learnprog, options: dict[str, object], field: str
) -> None:
    w = Cohort(lp)
    with pytest.raises(ValidationError) as caught:
        lp.messaging.history(w.admin, w.org.id, **options)  # type: ignore[arg-type]
    assert caught.value.field == field


@pytest.mark.parametrize("url", ["https://[::1/x", "https://[::g]/x", "https://a.example:99999/"])
def test_a_call_to_action_url_that_is_not_a_url_is_a_validation_error(url: str) -> None:
    """Finding: urlsplit's own ValueError (a broken IPv6 host) escaped unnamed."""
    with pytest.raises(ValidationError) as caught:
        CallToAction.create("Go", url)
    assert caught.value.field == "call_to_action.url"
