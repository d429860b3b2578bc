"""An in-memory mailer whose outbox tests and notebooks read."""

from __future__ import annotations

import threading

from learnprog.errors import MailError
from learnprog.mail.ports import Mailer
from learnprog.model.mail import OutgoingMessage


class InMemoryMailer(Mailer):
    """Keeps every message it is given, in order, in :attr:`sent`.

    Thread-safe. :meth:`fail_next` makes the next sends fail, for exercising retries.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sent: list[OutgoingMessage] = []
        self._failures: list[MailError] = []

    @property
    def sent(self) -> list[OutgoingMessage]:
        """A copy of the messages delivered so far, oldest first."""
        with self._lock:
            return list(self._sent)

    def send(self, message: OutgoingMessage) -> None:
        """Record ``message`` (or raise the next planned failure).

        Raises:
            MailError: a failure planned with :meth:`fail_next`.
        """
        with self._lock:
            if self._failures:
                raise self._failures.pop(0)
            self._sent.append(message)

    def fail_next(
        self, count: int = 1, *, permanent: bool = False, reason: str = "planned failure"
    ) -> None:
        """Make the next ``count`` sends raise :class:`MailError` with ``reason``."""
        with self._lock:
            self._failures.extend(MailError(reason, permanent=permanent) for _ in range(count))

    def clear(self) -> None:
        """Forget the delivered messages."""
        with self._lock:
            self._sent.clear()
