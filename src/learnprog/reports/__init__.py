"""Reports: the ReportBuilder and report definitions."""

from learnprog.reports.builder import ReportBuilder

__all__ = ["ReportBuilder"]
