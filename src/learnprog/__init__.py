"""learnprog: run enterprise learning programs as an SDK with pluggable storage.

Start with :func:`connect`::

    import learnprog
    lp = learnprog.connect("memory://")
    org = lp.organizations.create_organization(learnprog.SystemActor(), "Acme",
                                               email_domains=["acme.example"])
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from learnprog.clock import Clock, FixedClock, SystemClock
from learnprog.errors import (
    ConcurrencyError,
    ConcurrentWriteError,
    ConfigurationWarning,
    ConflictError,
    EnrollmentLimitError,
    ExpiredTokenError,
    InvalidTokenError,
    InvitationRevokedError,
    LearnprogError,
    LicenseLimitError,
    MailError,
    MissingExtraError,
    NotFoundError,
    PermissionDeniedError,
    StaleDataError,
    StorageError,
    StorageUnavailableError,
    ValidationError,
)

if TYPE_CHECKING:
    from learnprog.bootstrap import Learnprog, connect
    from learnprog.mail import InMemoryMailer, MaildirMailer, Mailer, SmtpMailer
    from learnprog.model.access import (
        Actor,
        AdminRole,
        LearnerActor,
        OrgAdminActor,
        ProgramAdminActor,
        SystemActor,
    )
    from learnprog.reports import ReportBuilder
    from learnprog.services import (
        UNSET,
        AuditLog,
        CurriculumService,
        InvitationService,
        LearningService,
        MessagingService,
        OrganizationService,
        ProgramService,
        SkillScorer,
    )
    from learnprog.services.exports import ExportImportService
    from learnprog.services.mail import MailService
    from learnprog.settings import Settings

_LAZY = {
    "Learnprog": "learnprog.bootstrap",
    "connect": "learnprog.bootstrap",
    **dict.fromkeys(("InMemoryMailer", "MaildirMailer", "Mailer", "SmtpMailer"), "learnprog.mail"),
    **dict.fromkeys(
        ("Actor", "AdminRole", "LearnerActor", "OrgAdminActor", "ProgramAdminActor", "SystemActor"),
        "learnprog.model.access",
    ),
    "ReportBuilder": "learnprog.reports",
    **dict.fromkeys(
        ("UNSET", "AuditLog", "CurriculumService", "InvitationService", "LearningService",
         "MessagingService", "OrganizationService", "ProgramService", "SkillScorer"),
        "learnprog.services",
    ),
    "ExportImportService": "learnprog.services.exports",
    "MailService": "learnprog.services.mail",
    "Settings": "learnprog.settings",
}  # fmt: skip
"""The public names imported on first use, each with its module: ``import learnprog`` loads
only the errors and the clock, so a command or a host process starts fast (docs/cli.md,
"Start-up time")."""


def __getattr__(name: str) -> object:
    """Import a public name's module on first use (PEP 562), then keep the name here."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'learnprog' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__version__ = "0.1.0"

__all__ = [
    "UNSET",
    "Actor",
    "AdminRole",
    "AuditLog",
    "Clock",
    "ConcurrencyError",
    "ConcurrentWriteError",
    "ConfigurationWarning",
    "ConflictError",
    "CurriculumService",
    "EnrollmentLimitError",
    "ExpiredTokenError",
    "ExportImportService",
    "FixedClock",
    "InMemoryMailer",
    "InvalidTokenError",
    "InvitationRevokedError",
    "InvitationService",
    "LearnerActor",
    "LearningService",
    "Learnprog",
    "LearnprogError",
    "LicenseLimitError",
    "MailError",
    "MailService",
    "MaildirMailer",
    "Mailer",
    "MessagingService",
    "MissingExtraError",
    "NotFoundError",
    "OrgAdminActor",
    "OrganizationService",
    "PermissionDeniedError",
    "ProgramAdminActor",
    "ProgramService",
    "ReportBuilder",
    "Settings",
    "SkillScorer",
    "SmtpMailer",
    "StaleDataError",
    "StorageError",
    "StorageUnavailableError",
    "SystemActor",
    "SystemClock",
    "ValidationError",
    "connect",
]
