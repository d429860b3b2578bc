"""The guide's report columns, in the guide's order, and how each record becomes a CSV row.

Sources: the guide's "Usage Report", "Membership Report" and "Specialization Report" tables.
Cells are written by :mod:`learnprog.reports.cells`: ISO 8601 UTC times with milliseconds and
``Z``, Yes/No flags, two-decimal numbers, and text protected against spreadsheet formulas.
"""

from __future__ import annotations

import csv
import html
import importlib
import io
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, Generic, TypeVar

from learnprog.model.learner import Learner
from learnprog.model.progress import MemberRow
from learnprog.model.reporting import MembershipRecord, SpecializationRecord, UsageRecord
from learnprog.reports.cells import protect, timestamp, two_decimals, yes_no

R = TypeVar("R")

PROFILE_COLUMNS = (
    "Manager Name",
    "Manager Email",
    "Job Title",
    "Job Type",
    "Business Unit",
    "Business Unit 2",
    "Location City",
    "Location Country",
    "Location Region",
)
"""The optional profile columns every report ends with (guide: "Manager Name" ...)."""

USAGE_COLUMNS = (
    "Name",
    "Email",
    "External Id",
    "Course",
    "Course ID",
    "Course Slug",
    "University",
    "Enrollment Time",
    "Class Start Time",
    "Last Course Activity Time",
    "Overall Progress",
    "Estimated Learning Hours",
    "Completed",
    "Removed From Program",
    "Program Slug",
    "Program Name",
    "Enrollment Source",
    "Completion Time",
    "Course Grades",
    "Contract",
    *PROFILE_COLUMNS,
)
"""The Usage Report's columns, in the guide's order."""

MEMBERSHIP_COLUMNS = (
    "Name",
    "Email",
    "External Id",
    "Program Name",
    "Program Slug",
    "# Enrolled Courses",
    "# Completed Courses",
    "Member State",
    "Join Date",
    "Invitation Date",
    "Last Activity Time",
    "Contract(s)",
    *PROFILE_COLUMNS,
)
"""The Membership Report's columns, in the guide's order."""

SPECIALIZATION_COLUMNS = (
    "Name",
    "Email",
    "External Id",
    "Specialization",
    "Specialization Slug",
    "University",
    "Enrollment Time",
    "Last Specialization Activity Time",
    "Completed",
    "Removed From Program",
    "Program Slug",
    "Program Name",
    "Enrollment Source",
    "Specialization Completion Time",
    "Contract",
    *PROFILE_COLUMNS,
)
"""The Specialization Report's columns, in the guide's order."""


class _LearnerCells:
    """A learner's leading and trailing (profile) cells, kept for the last learner asked.

    Report rows come grouped by learner (a usage report has a row per enrollment), so the
    same learner's cells are asked for many times in a row.
    """

    def __init__(self) -> None:
        self._last: tuple[Learner | None, list[str], list[str]] = (None, [], [])

    def __call__(self, learner: Learner) -> tuple[list[str], list[str]]:
        last = self._last  # one read: safe when reports are written from several threads
        if last[0] is learner:
            return last[1], last[2]
        head = [
            protect(learner.full_name),
            protect(learner.email.address),
            protect(learner.external_id),
        ]
        tail = _profile(learner)
        self._last = (learner, head, tail)
        return head, tail


def _profile(learner: Learner) -> list[str]:
    p = learner.profile
    values = (
        p.manager_name,
        p.manager_email,
        p.job_title,
        p.job_type,
        p.business_unit,
        p.business_unit_2,
        p.location_city,
        p.location_country,
        p.location_region,
    )
    return [protect(v) for v in values]


_learner_cells = _LearnerCells()


def usage_cells(r: UsageRecord) -> list[str]:
    """One Usage Report row (:data:`USAGE_COLUMNS`)."""
    f = r.figures
    head, tail = _learner_cells(r.learner)
    return [
        *head,
        protect(r.course_name),
        protect(r.course_code),
        protect(r.course_slug),
        protect(r.university),
        timestamp(r.enrolled_at),
        timestamp(r.class_start),
        timestamp(f.last_activity_at),
        two_decimals(f.progress),
        two_decimals(f.learning_hours),
        yes_no(f.completed),
        yes_no(r.removed),
        protect(r.program_slug),
        protect(r.program_name),
        protect(r.source),
        timestamp(f.completed_at),
        two_decimals(f.grade),
        protect(r.contract),
        *tail,
    ]


def membership_cells(r: MembershipRecord) -> list[str]:
    """One Membership Report row (:data:`MEMBERSHIP_COLUMNS`)."""
    head, tail = _learner_cells(r.learner)
    return [
        *head,
        protect(r.program_name),
        protect(r.program_slug),
        str(r.enrolled),
        str(r.completed),
        r.state.value,
        timestamp(r.joined_at),
        timestamp(r.invited_at),
        timestamp(r.last_activity_at),
        protect(r.contract),
        *tail,
    ]


def specialization_cells(r: SpecializationRecord) -> list[str]:
    """One Specialization Report row (:data:`SPECIALIZATION_COLUMNS`)."""
    f = r.figures
    head, tail = _learner_cells(r.learner)
    return [
        *head,
        protect(r.specialization_name),
        protect(r.specialization_slug),
        protect(r.university),
        timestamp(r.enrolled_at),
        timestamp(f.last_activity_at),
        yes_no(f.completed),
        yes_no(r.removed),
        protect(r.program_slug),
        protect(r.program_name),
        protect(r.source),
        timestamp(f.completed_at),
        protect(r.contract),
        *tail,
    ]


def email_cells(r: MemberRow) -> list[str]:
    """One row of a member email list: the learner's email."""
    return [protect(r.learner.email.address)]


class Report(Generic[R]):
    """A report: typed rows read on demand, written as CSV, shown in Jupyter.

    Iterating reads the rows afresh from storage (streamed: memory does not grow with the
    number of rows). Each row is a typed record (:class:`~learnprog.model.reporting.UsageRecord`
    and the like); :meth:`cells` gives its CSV cells.

    Attributes:
        name: the file name (``usage-report.csv``).
        columns: the CSV header, in the guide's order.
    """

    def __init__(
        self,
        name: str,
        columns: tuple[str, ...],
        rows: Callable[[], Iterator[R]],
        cells: Callable[[R], list[str]],
    ) -> None:
        self.name = name
        self.columns = columns
        self._rows = rows
        self._cells = cells

    def __iter__(self) -> Iterator[R]:
        return self._rows()

    def cells(self, row: R) -> list[str]:
        """Return a row's cells as written to the CSV."""
        return self._cells(row)

    def write_csv(self, target: IO[str], *, excel: bool = False) -> int:
        """Write the header and every row to a text stream; return the number of rows.

        Args:
            target: a text stream opened with ``newline=""``.
            excel: start with a UTF-8 byte-order mark so Excel reads the file as UTF-8.
        """
        if excel:
            target.write("\ufeff")
        writer = csv.writer(target, lineterminator="\r\n")
        writer.writerow(self.columns)
        count = 0
        for row in self:
            writer.writerow(self._cells(row))
            count += 1
        return count

    def csv_text(self, *, excel: bool = False) -> str:
        """Return the whole CSV as text (for small reports and tests)."""
        buffer = io.StringIO(newline="")
        self.write_csv(buffer, excel=excel)
        return buffer.getvalue()

    def to_pandas(self) -> Any:
        """Return the report as a ``pandas.DataFrame`` of its CSV cells (strings).

        Raises:
            ImportError: pandas is not installed (``pip install 'learnprog[pandas]'``).
        """
        pandas = importlib.import_module("pandas")  # an optional dependency
        return pandas.DataFrame([self._cells(r) for r in self], columns=list(self.columns))

    def _repr_html_(self) -> str:
        """The first 20 rows as an HTML table, for Jupyter."""
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = []
        for index, row in enumerate(self):
            if index == 20:
                body.append(f'<tr><td colspan="{len(self.columns)}">…</td></tr>')
                break
            cells = "".join(f"<td>{html.escape(c)}</td>" for c in self._cells(row))
            body.append(f"<tr>{cells}</tr>")
        caption = f"<caption>{html.escape(self.name)}</caption>"
        return f"<table>{caption}<tr>{head}</tr>{''.join(body)}</table>"


def rows_of(records: Iterable[R]) -> list[R]:
    """Materialize records (a helper for tests and small reports)."""
    return list(records)
