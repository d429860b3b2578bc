"""LearningService: enrollments, learning activity and feedback.

The foundation wires this service in; the learning issue fills it (curriculum, enrollment,
activity ingestion, progress, learning hours, completion, member status). It has no public
methods yet.
"""

from __future__ import annotations

from learnprog.services._base import Service


class LearningService(Service):
    """Enrollments, activity and feedback (guide, "Managing Curriculum", "Members")."""
