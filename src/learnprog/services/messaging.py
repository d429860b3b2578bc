"""MessagingService: audiences, message details, preview, consent and sending.

The foundation wires this service in; the messaging issue fills it. It has no public methods
yet.
"""

from __future__ import annotations

from learnprog.services._base import Service


class MessagingService(Service):
    """Messages to learner audiences (guide, "Messaging Learners")."""
