"""InvitationService: invitations, acceptance, the membership lifecycle and licenses.

The foundation wires this service in; the invitation issue fills it (single and bulk CSV
invitations, acceptance, removal, license accounting). It has no public methods yet.
"""

from __future__ import annotations

from learnprog.services._base import Service


class InvitationService(Service):
    """Invitations and memberships (guide, "Inviting Learners", "Invitations", "Members")."""
