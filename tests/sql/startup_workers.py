"""What worker processes of the start-up races run (see :mod:`tests.races`).

Module-level functions, so that a spawned process finds them by name.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import learnprog
from learnprog.mail.memory import InMemoryMailer

SECRET = "test-secret-test-secret"


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def connect_and_report(url: str, marker_dir: str | None = None) -> tuple[list[str], int]:
    """Connect to ``url`` as a host process starts (migrating); report what it did.

    Args:
        url: the database.
        marker_dir: if given, a file named after this process is made there just before
            ``connect`` is called, so that the test knows the call has started.

    Returns:
        The migrations this process ran (Alembic's ``Running upgrade ...`` lines, in order)
        and the number of organizations it then reads (the schema is usable).
    """
    handler = _Collect()
    alembic_log = logging.getLogger("alembic.runtime.migration")
    alembic_log.setLevel(logging.INFO)
    alembic_log.addHandler(handler)
    try:
        if marker_dir is not None:
            (Path(marker_dir) / f"worker-{os.getpid()}").touch()
        with learnprog.connect(
            url, settings=learnprog.Settings(secret_key=SECRET), mailer=InMemoryMailer()
        ) as lp:
            organizations = lp.organizations.list_organizations(learnprog.SystemActor())
    finally:
        alembic_log.removeHandler(handler)
    return [m for m in handler.messages if m.startswith("Running upgrade")], len(organizations)
