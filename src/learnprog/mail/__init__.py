"""Mail: the Mailer port and its adapters."""

from learnprog.mail.memory import InMemoryMailer
from learnprog.mail.ports import Mailer

__all__ = ["InMemoryMailer", "Mailer"]
