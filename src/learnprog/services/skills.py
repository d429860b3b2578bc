"""SkillScorer: Elo-style proficiency per learner and skill.

The foundation wires this service in; the skills issue fills it (ratings, levels, analytics,
benchmark). It has no public methods yet.
"""

from __future__ import annotations

from learnprog.services._base import Service


class SkillScorer(Service):
    """Skill proficiency (guide, "Skills Development", "Industry Benchmark")."""
