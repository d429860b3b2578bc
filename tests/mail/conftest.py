"""A real SMTP server (aiosmtpd) on 127.0.0.1, started by the tests."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SmtpProtocol  # noqa: N811
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session


class Recorder:
    """Keeps every envelope; can refuse recipients or answer with a planned error."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.refuse: dict[str, str] = {}  # recipient -> SMTP answer
        self.data_answers: list[str] = []  # answers for the next DATA commands

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self,
        server: SmtpProtocol,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SmtpProtocol, session: Session, envelope: Envelope
    ) -> str:
        if self.data_answers:
            return self.data_answers.pop(0)
        self.envelopes.append(envelope)
        return "250 Message accepted"


class SmtpServer:
    def __init__(self, controller: Controller, recorder: Recorder) -> None:
        self.controller = controller
        self.recorder = recorder
        self.host = "127.0.0.1"
        self.port = int(controller.port)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(recorder: Recorder, **kwargs: Any) -> Controller:
    controller = Controller(recorder, hostname="127.0.0.1", port=_free_port(), **kwargs)
    controller.start()
    return controller


@pytest.fixture(scope="session")
def tls_authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def client_tls(tls_authority: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    tls_authority.configure_trust(context)
    return context


def _server_tls(tls_authority: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls_authority.issue_cert("127.0.0.1").configure_cert(context)
    return context


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A plain SMTP server that offers SMTPUTF8."""
    recorder = Recorder()
    controller = _start(recorder, enable_SMTPUTF8=True)
    yield SmtpServer(controller, recorder)
    controller.stop()


@pytest.fixture
def ascii_smtp_server() -> Iterator[SmtpServer]:
    """A plain SMTP server that does not offer SMTPUTF8."""
    recorder = Recorder()
    controller = _start(recorder, enable_SMTPUTF8=False)
    yield SmtpServer(controller, recorder)
    controller.stop()


def _authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"mailer",
        b"s3cret",
    )
    return AuthResult(success=ok)


@pytest.fixture
def starttls_server(tls_authority: trustme.CA) -> Iterator[SmtpServer]:
    """A server that requires STARTTLS and a login (mailer / s3cret)."""
    recorder = Recorder()
    controller = _start(
        recorder,
        tls_context=_server_tls(tls_authority),
        require_starttls=True,
        authenticator=_authenticator,
        auth_require_tls=True,
    )
    yield SmtpServer(controller, recorder)
    controller.stop()


@pytest.fixture
def implicit_tls_server(tls_authority: trustme.CA) -> Iterator[SmtpServer]:
    """A server speaking TLS from the first byte."""
    recorder = Recorder()
    controller = _start(recorder, ssl_context=_server_tls(tls_authority))
    yield SmtpServer(controller, recorder)
    controller.stop()
