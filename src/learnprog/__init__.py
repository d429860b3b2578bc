"""learnprog: run enterprise learning programs as an SDK with pluggable storage.

Start with :func:`connect`::

    import learnprog
    lp = learnprog.connect("memory://")
    org = lp.organizations.create_organization(learnprog.SystemActor(), "Acme",
                                               email_domains=["acme.example"])
"""

from learnprog.bootstrap import Learnprog, connect
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
