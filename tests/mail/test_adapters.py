"""SMTP and Maildir adapters against a real SMTP server and a real folder."""

from __future__ import annotations

import email
import ssl
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path

import idna
import pytest

from learnprog.clock import FixedClock
from learnprog.errors import MailError, ValidationError
from learnprog.mail.maildir import MaildirMailer
from learnprog.mail.smtp import SmtpMailer
from learnprog.model import MessageCategory, OutgoingMessage
from learnprog.model.identity import email_key
from tests import factories as f
from tests.mail.conftest import SmtpServer

CLOCK = FixedClock(f.NOW)


def message(to: str = "ana.lima@example.org", **extra: object) -> OutgoingMessage:
    values: dict[str, object] = {
        "organization_id": "org",
        "category": MessageCategory.ANNOUNCEMENT,
        "to": to,
        "to_name": "Ana Lima",
        "subject": "Équipe Formação — bem-vinda ao programa",
        "text_body": "Olá Ana,\nBem-vinda!",
        "html_body": "<p>Olá <b>Ana</b>, bem-vinda!</p>",
        "sender_address": "learning@example.com",
        "sender_name": "Équipe Formação",
        "message_domain": "example.com",
        "headers": {"List-Unsubscribe": "<https://learn.example/u?t=abc>"},
    }
    values.update(extra)
    return OutgoingMessage.compose(**values)  # type: ignore[arg-type]


def parse(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def plain(server: SmtpServer) -> SmtpMailer:
    return SmtpMailer(server.host, server.port, security="none", clock=CLOCK)


def test_a_message_reaches_a_real_smtp_server_whole(smtp_server: SmtpServer) -> None:
    sent = message()
    plain(smtp_server).send(sent)
    (envelope,) = smtp_server.recorder.envelopes
    assert envelope.mail_from == "learning@example.com"
    assert envelope.rcpt_tos == ["ana.lima@example.org"]
    raw = envelope.original_content
    assert isinstance(raw, bytes)
    assert raw.isascii()  # strict servers accept it: every non-ASCII header is encoded
    received = parse(raw)
    assert received["Subject"] == "Équipe Formação — bem-vinda ao programa"
    (sender,) = received["From"].addresses
    assert sender.display_name == "Équipe Formação"
    assert sender.addr_spec == "learning@example.com"
    assert "<learning@example.com>" in raw.decode().split("From: ", 1)[1].split("\r\n", 1)[0]
    assert received["Message-ID"] == sent.message_id
    assert received["Reply-To"] is None  # only when set
    assert received["List-Unsubscribe"] == "<https://learn.example/u?t=abc>"
    assert received.get_content_type() == "multipart/alternative"
    text = received.get_body(preferencelist=("plain",))
    html = received.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    assert text.get_content().replace("\r\n", "\n") == "Olá Ana,\nBem-vinda!\n"
    assert "<b>Ana</b>" in html.get_content()


def test_reply_to_appears_when_set(smtp_server: SmtpServer) -> None:
    plain(smtp_server).send(message(reply_to="coach@example.org"))
    received = parse(smtp_server.recorder.envelopes[0].original_content)  # type: ignore[arg-type]
    assert received["Reply-To"] == "coach@example.org"


def test_a_retry_sends_the_same_message_id(smtp_server: SmtpServer) -> None:
    sent = message()
    mailer = plain(smtp_server)
    mailer.send(sent)
    mailer.send(sent)
    ids = [
        parse(e.original_content)["Message-ID"]  # type: ignore[arg-type]
        for e in smtp_server.recorder.envelopes
    ]
    assert ids == [sent.message_id, sent.message_id]


def test_an_injected_bcc_never_becomes_a_header() -> None:
    for field, value in (
        ("sender_name", "L&D Team\r\nBcc: someone@example.org"),
        ("subject", "Hello\r\nBcc: someone@example.org"),
        ("to_name", "Ana\nBcc: someone@example.org"),
        ("sender_name", "L&D Team\u2028Bcc: someone@example.org"),
    ):
        with pytest.raises(ValidationError) as caught:
            message(**{field: value})
        assert caught.value.field == field
    with pytest.raises(ValidationError) as caught:
        message(to="ana@example.org\r\nBcc: someone@example.org")
    assert caught.value.field == "to"
    for name in ("Bcc", "bcc", "Resent-To", "Content-Disposition", "X: y", ""):
        with pytest.raises(ValidationError, match="header"):
            message(headers={name: "someone@example.org"})
    with pytest.raises(ValidationError, match="twice"):
        message(headers={"X-Tag": "a", "x-tag": "b"})


def test_an_internationalized_domain_goes_on_the_wire_in_ascii(smtp_server: SmtpServer) -> None:
    plain(smtp_server).send(message(to="zoe@bücher.example"))
    (envelope,) = smtp_server.recorder.envelopes
    assert envelope.rcpt_tos == ["zoe@xn--bcher-kva.example"]
    received = parse(envelope.original_content)  # type: ignore[arg-type]
    assert received["To"].addresses[0].addr_spec == "zoe@xn--bcher-kva.example"


def test_a_domain_goes_on_the_wire_by_idna_2008_as_its_key_is_made(
    smtp_server: SmtpServer,
) -> None:
    plain(smtp_server).send(message(to="jan@straße.example"))  # IDNA 2003 would send strasse
    (envelope,) = smtp_server.recorder.envelopes
    assert envelope.rcpt_tos == ["jan@xn--strae-oqa.example"]
    assert idna.decode("xn--strae-oqa.example") == email_key("jan@straße.example").split("@")[1]


def test_a_non_ascii_local_part_uses_smtputf8_when_offered(smtp_server: SmtpServer) -> None:
    plain(smtp_server).send(message(to="zoë@example.org"))
    (envelope,) = smtp_server.recorder.envelopes
    assert "SMTPUTF8" in [o.upper() for o in envelope.mail_options]
    assert envelope.rcpt_tos == ["zoë@example.org"]


def test_a_non_ascii_local_part_fails_alone_without_smtputf8(
    ascii_smtp_server: SmtpServer,
) -> None:
    mailer = plain(ascii_smtp_server)
    with pytest.raises(MailError, match="SMTPUTF8") as caught:
        mailer.send(message(to="zoë@example.org"))
    assert caught.value.permanent
    mailer.send(message(to="zoe@example.org"))  # the next recipient is not affected
    assert [e.rcpt_tos for e in ascii_smtp_server.recorder.envelopes] == [["zoe@example.org"]]


def test_a_refused_recipient_is_a_permanent_failure_with_the_answer(
    smtp_server: SmtpServer,
) -> None:
    smtp_server.recorder.refuse["gone@example.org"] = "550 5.1.1 mailbox unavailable"
    with pytest.raises(MailError, match=r"550 5\.1\.1 mailbox unavailable") as caught:
        plain(smtp_server).send(message(to="gone@example.org"))
    assert caught.value.permanent


def test_a_4xx_answer_is_transient(smtp_server: SmtpServer) -> None:
    smtp_server.recorder.data_answers.append("451 4.3.0 try again later")
    with pytest.raises(MailError, match="451") as caught:
        plain(smtp_server).send(message())
    assert not caught.value.permanent


def test_a_server_that_is_down_is_transient() -> None:
    mailer = SmtpMailer("127.0.0.1", 1, security="none", timeout=2)
    with pytest.raises(MailError) as caught:
        mailer.send(message())
    assert not caught.value.permanent


def test_starttls_and_login(starttls_server: SmtpServer, client_tls: ssl.SSLContext) -> None:
    mailer = SmtpMailer(
        starttls_server.host,
        starttls_server.port,
        security="starttls",
        username="mailer",
        password="s3cret",
        ssl_context=client_tls,
    )
    mailer.send(message())
    assert len(starttls_server.recorder.envelopes) == 1
    plain_login = SmtpMailer(
        starttls_server.host,
        starttls_server.port,
        security="none",
        username="mailer",
        password="s3cret",
        timeout=5,
    )
    with pytest.raises(MailError):  # the server insists on STARTTLS before anything else
        plain_login.send(message())
    assert len(starttls_server.recorder.envelopes) == 1


def test_implicit_tls(implicit_tls_server: SmtpServer, client_tls: ssl.SSLContext) -> None:
    mailer = SmtpMailer(
        implicit_tls_server.host, implicit_tls_server.port, security="tls", ssl_context=client_tls
    )
    mailer.send(message())
    assert len(implicit_tls_server.recorder.envelopes) == 1


def test_smtp_settings_are_checked() -> None:
    with pytest.raises(ValidationError, match="port"):
        SmtpMailer("localhost", 70000)
    with pytest.raises(ValidationError, match="security"):
        SmtpMailer("localhost", 25, security="ssl3")


def test_maildir_keeps_one_file_per_message(tmp_path: Path) -> None:
    mailer = MaildirMailer(tmp_path / "outbox", clock=CLOCK)
    mailer.send(message())
    mailer.send(message(to="zoë@bücher.example"))
    files = sorted((tmp_path / "outbox" / "new").iterdir())
    assert len(files) == 2
    subjects = {parse(raw)["Subject"] for raw in mailer.messages()}
    assert subjects == {"Équipe Formação — bem-vinda ao programa"}
    recipients = {
        parse(raw)["To"].addresses[0].addr_spec.encode("utf-8", "surrogateescape").decode()
        for raw in mailer.messages()
    }
    assert recipients == {"ana.lima@example.org", "zoë@xn--bcher-kva.example"}


def test_the_envelope_sender_can_differ_from_the_from_header(smtp_server: SmtpServer) -> None:
    mailer = SmtpMailer(
        smtp_server.host,
        smtp_server.port,
        security="none",
        envelope_from="bounces@example.com",
        clock=CLOCK,
    )
    mailer.send(message())
    (envelope,) = smtp_server.recorder.envelopes
    assert envelope.mail_from == "bounces@example.com"
    received = parse(envelope.original_content)  # type: ignore[arg-type]
    assert received["From"].addresses[0].addr_spec == "learning@example.com"


@pytest.mark.parametrize(
    "name",
    [
        "Acme Learning and Development Team, security-alerts@evil.example, plus the rest of "
        "the staff at HQ",
        "=?utf-8?b?QmNjOiBldmlsQHguY29t?=",
        "管理チーム" * 40,
        "é" * 200,
        'O"Neil <x@example.org>, "Bcc" <y@example.org>',
        "L&D Team; Bcc: someone@example.org",
        "Ana Lima",
    ],
)
def test_a_display_name_never_becomes_an_address(tmp_path: Path, name: str) -> None:
    mailer = MaildirMailer(tmp_path / "outbox", clock=CLOCK)
    mailer.send(message(sender_name=name[:200], to_name=name[:200]))
    (raw,) = mailer.messages()
    compat = email.message_from_bytes(raw)  # raw header text, decoded by RFC 2047 rules
    for field, address in (("From", "learning@example.com"), ("To", "ana.lima@example.org")):
        ((display, addr),) = getaddresses([compat[field]])
        assert addr == address
        assert str(make_header(decode_header(display))) == name[:200]
    assert all(len(line) <= 78 for line in raw.split(b"\r\n\r\n")[0].split(b"\r\n"))
    assert compat["Bcc"] is None


@pytest.mark.parametrize("body", ["a\x00b", "\ud800", "esc\x1b[31m"])
def test_bodies_with_control_characters_are_refused(body: str) -> None:
    with pytest.raises(ValidationError, match="text_body"):
        message(text_body=body)


def test_an_empty_folder_becomes_a_maildir(tmp_path: Path) -> None:
    mailer = MaildirMailer(tmp_path, clock=CLOCK)
    mailer.send(message())
    assert len(list((tmp_path / "new").iterdir())) == 1
    assert len(mailer.messages()) == 1


def test_a_maildir_path_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(MailError, match="is a file"):
        MaildirMailer(tmp_path / "file")


def test_list_unsubscribe_goes_on_the_wire_as_written(tmp_path: Path) -> None:
    link = "<https://learn.example/email/unsubscribe?token=" + "A1b2C3d4" * 20 + ">"
    mailer = MaildirMailer(tmp_path / "outbox", clock=CLOCK)
    mailer.send(
        message(
            headers={
                "List-Unsubscribe": link,
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            }
        )
    )
    (raw,) = mailer.messages()
    head = raw.split(b"\r\n\r\n")[0].decode("ascii").split("\r\n")
    assert f"List-Unsubscribe: {link}" in head  # one line, no encoded words (RFC 2369, 8058)
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in head
    assert raw.count(b"MIME-Version:") == 1
    with pytest.raises(ValidationError, match="ASCII"):
        message(headers={"X-Team": "Équipe"})
