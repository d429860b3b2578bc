"""The pure domain model of learnprog: attrs classes and rules, no I/O.

Nothing here imports SQLAlchemy, jinja2, smtplib, csv or os; "now" is always passed in.
"""

from learnprog.model.access import (
    Actor,
    AdminGrant,
    AdminRole,
    LearnerActor,
    OrgAdminActor,
    ProgramAdminActor,
    SystemActor,
)
from learnprog.model.activity import (
    AssessmentAttempt,
    Enrollment,
    EventKind,
    Feedback,
    LearningEvent,
)
from learnprog.model.audit import AuditEntry
from learnprog.model.catalog import (
    Assessment,
    Collection,
    CollectionEntry,
    Course,
    CourseItem,
    EntryKind,
    ItemKind,
    Skill,
    Specialization,
)
from learnprog.model.identity import EmailAddress, ProgramSlug, email_key, new_id
from learnprog.model.learner import Learner, LearnerProfile, Membership, MemberState
from learnprog.model.mail import (
    DeliveryAttempt,
    DeliveryOutcome,
    EmailOptOut,
    MessageCategory,
    OutboxEntry,
    OutboxStatus,
    OutgoingMessage,
    RetryPolicy,
)
from learnprog.model.organization import (
    Contract,
    ContractKind,
    Organization,
    Program,
    ReportSchedule,
    Weekday,
)
from learnprog.model.skills import Level, SkillRating

__all__ = [
    "Actor",
    "AdminGrant",
    "AdminRole",
    "Assessment",
    "AssessmentAttempt",
    "AuditEntry",
    "Collection",
    "CollectionEntry",
    "Contract",
    "ContractKind",
    "Course",
    "CourseItem",
    "DeliveryAttempt",
    "DeliveryOutcome",
    "EmailAddress",
    "EmailOptOut",
    "Enrollment",
    "EntryKind",
    "EventKind",
    "Feedback",
    "ItemKind",
    "Learner",
    "LearnerActor",
    "LearnerProfile",
    "LearningEvent",
    "Level",
    "MemberState",
    "Membership",
    "MessageCategory",
    "OrgAdminActor",
    "Organization",
    "OutboxEntry",
    "OutboxStatus",
    "OutgoingMessage",
    "Program",
    "ProgramAdminActor",
    "ProgramSlug",
    "ReportSchedule",
    "RetryPolicy",
    "Skill",
    "SkillRating",
    "Specialization",
    "SystemActor",
    "Weekday",
    "email_key",
    "new_id",
]
