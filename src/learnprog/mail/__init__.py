"""Mail: the Mailer port and its adapters."""

from learnprog.mail.maildir import MaildirMailer
from learnprog.mail.memory import InMemoryMailer
from learnprog.mail.ports import Mailer
from learnprog.mail.smtp import SmtpMailer, SmtpSecurity

__all__ = ["InMemoryMailer", "MaildirMailer", "Mailer", "SmtpMailer", "SmtpSecurity"]
