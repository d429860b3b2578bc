"""Use cases: each service takes ports (never adapters) and an explicit actor per call."""

from learnprog.services._base import UNSET, ServiceContext
from learnprog.services.audit import AuditLog
from learnprog.services.curriculum import CurriculumService
from learnprog.services.invitations import InvitationService
from learnprog.services.learning import LearningService
from learnprog.services.messaging import MessagingService
from learnprog.services.organizations import OrganizationService
from learnprog.services.programs import ProgramService
from learnprog.services.skills import SkillScorer

__all__ = [
    "UNSET",
    "AuditLog",
    "CurriculumService",
    "InvitationService",
    "LearningService",
    "MessagingService",
    "OrganizationService",
    "ProgramService",
    "ServiceContext",
    "SkillScorer",
]
