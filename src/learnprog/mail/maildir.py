"""The mail directory adapter: each message a file in a Maildir (the embedded default)."""

from __future__ import annotations

import mailbox
from pathlib import Path

from learnprog.clock import Clock, SystemClock
from learnprog.errors import MailError
from learnprog.mail.message import message_bytes
from learnprog.mail.ports import Mailer
from learnprog.model.mail import OutgoingMessage


class MaildirMailer(Mailer):
    """Writes each message as one file in a Maildir (``new/``), readable by any mail client.

    Args:
        path: the Maildir's folder; created, or given the ``cur``, ``new`` and ``tmp`` it
            lacks (an empty folder of ``tempfile.mkdtemp()``), on first use.
        clock: the source of the Date header.

    Raises:
        MailError: the path is a file (a folder that cannot be created fails the first send,
            permanently).
    """

    def __init__(self, path: str | Path, *, clock: Clock | None = None) -> None:
        self.path = Path(path)
        self.clock = clock or SystemClock()
        if self.path.exists() and not self.path.is_dir():
            raise MailError(
                f"the mail directory {self.path} is a file, not a folder", permanent=True
            )
        self._box: mailbox.Maildir | None = None  # made on first use: previews need none

    @property
    def _maildir(self) -> mailbox.Maildir:
        if self._box is None:
            try:
                for folder in ("tmp", "new", "cur"):  # Maildir(create=True) skips a folder
                    (self.path / folder).mkdir(parents=True, exist_ok=True)  # that exists
                self._box = mailbox.Maildir(self.path, create=True)
            except OSError as exc:
                raise MailError(
                    f"cannot create the mail directory {self.path}: {exc}", permanent=True
                ) from exc
        return self._box

    def send(self, message: OutgoingMessage) -> None:
        """Store ``message`` as a new file in the Maildir.

        Raises:
            MailError: the file cannot be written (a full disk is transient).
        """
        raw = message_bytes(message, date=self.clock.now())
        try:
            self._maildir.add(raw)
        except OSError as exc:
            raise MailError(f"cannot write to {self.path}: {exc}", permanent=False) from exc

    def messages(self) -> list[bytes]:
        """Return every stored message's bytes, in no set order."""
        return [self._maildir.get_bytes(key) for key in self._maildir.iterkeys()]
