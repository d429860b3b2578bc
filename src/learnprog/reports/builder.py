"""ReportBuilder: summary, usage funnel, email report, CSV reports, gradebooks, analytics.

The foundation wires this service in; the reports issue fills it. It has no public methods yet.
"""

from __future__ import annotations

from learnprog.services._base import Service


class ReportBuilder(Service):
    """Reports (guide, "Reporting", "Analytics Reports")."""
