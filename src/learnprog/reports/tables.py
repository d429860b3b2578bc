"""The guide's report columns, in the guide's order, each with the rule that writes its cells.

Sources: the guide's "Usage Report", "Membership Report" and "Specialization Report" tables.
Cells are written by :mod:`learnprog.reports.cells`: ISO 8601 UTC times with milliseconds and
``Z``, Yes/No flags, two-decimal numbers, and text protected against spreadsheet formulas.
A row's values (:data:`~learnprog.model.reporting.ReportValues`) come from a typed record's
``values()`` or straight from a SQL store's rows; either way each column's one rule writes them.
"""

from __future__ import annotations

import csv
import html
import importlib
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from operator import call
from typing import IO, Any, Generic, Protocol, TypeVar

from attrs import frozen

from learnprog.model.reporting import ReportValues
from learnprog.reports.cells import (
    count,
    learning_hours,
    protect,
    stored_timestamp,
    two_decimals,
    yes_no,
)

R = TypeVar("R")

Cell = Callable[[Any], str]
"""A column's rule: one value in, its cell's text out."""


@frozen
class Columns:
    """A report's columns, in order: each header with the rule that writes its cells.

    Attributes:
        headers: the CSV header.
        cells: one rule per column (:mod:`learnprog.reports.cells`), chosen once per column.
    """

    headers: tuple[str, ...]
    cells: tuple[Cell, ...]

    @classmethod
    def of(cls, *columns: tuple[str, Cell]) -> Columns:
        """Columns from ``(header, rule)`` pairs."""
        return cls(tuple(h for h, _ in columns), tuple(c for _, c in columns))

    def write(self, values: Sequence[Any]) -> list[str]:
        """Return one row's cells: each value written by its column's rule."""
        return list(map(call, self.cells, values))


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

_LEARNER = (("Name", protect), ("Email", protect), ("External Id", protect))
_PROFILE = tuple((header, protect) for header in PROFILE_COLUMNS)

USAGE = Columns.of(
    *_LEARNER,
    ("Course", protect),
    ("Course ID", protect),
    ("Course Slug", protect),
    ("University", protect),
    ("Enrollment Time", stored_timestamp),
    ("Class Start Time", stored_timestamp),
    ("Last Course Activity Time", stored_timestamp),
    ("Overall Progress", two_decimals),
    ("Estimated Learning Hours", learning_hours),
    ("Completed", yes_no),
    ("Removed From Program", yes_no),
    ("Program Slug", protect),
    ("Program Name", protect),
    ("Enrollment Source", protect),
    ("Completion Time", stored_timestamp),
    ("Course Grades", two_decimals),
    ("Contract", protect),
    *_PROFILE,
)
"""The Usage Report's columns (values: :meth:`~learnprog.model.reporting.UsageRecord.values`)."""

USAGE_COLUMNS = USAGE.headers
"""The Usage Report's columns, in the guide's order."""

MEMBERSHIP = Columns.of(
    *_LEARNER,
    ("Program Name", protect),
    ("Program Slug", protect),
    ("# Enrolled Courses", count),
    ("# Completed Courses", count),
    ("Member State", str),
    ("Join Date", stored_timestamp),
    ("Invitation Date", stored_timestamp),
    ("Last Activity Time", stored_timestamp),
    ("Contract(s)", protect),
    *_PROFILE,
)
"""The Membership Report's columns (values:
:meth:`~learnprog.model.reporting.MembershipRecord.values`)."""

MEMBERSHIP_COLUMNS = MEMBERSHIP.headers
"""The Membership Report's columns, in the guide's order."""

SPECIALIZATION = Columns.of(
    *_LEARNER,
    ("Specialization", protect),
    ("Specialization Slug", protect),
    ("University", protect),
    ("Enrollment Time", stored_timestamp),
    ("Last Specialization Activity Time", stored_timestamp),
    ("Completed", yes_no),
    ("Removed From Program", yes_no),
    ("Program Slug", protect),
    ("Program Name", protect),
    ("Enrollment Source", protect),
    ("Specialization Completion Time", stored_timestamp),
    ("Contract", protect),
    *_PROFILE,
)
"""The Specialization Report's columns (values:
:meth:`~learnprog.model.reporting.SpecializationRecord.values`)."""

SPECIALIZATION_COLUMNS = SPECIALIZATION.headers
"""The Specialization Report's columns, in the guide's order."""

EMAIL = Columns.of(("Email", protect))
"""A member email list's one column."""


class Report(Generic[R]):
    """A report: typed rows read on demand, written as CSV, shown in Jupyter.

    Iterating reads the rows afresh from storage (streamed: memory does not grow with the
    number of rows). Each row is a typed record (:class:`~learnprog.model.reporting.UsageRecord`
    and the like); :meth:`cells` gives its CSV cells. Writing the CSV (and :meth:`to_pandas`)
    reads the rows' values without building records when the store can give them directly (a
    SQL store's rows); the same column rules write them.

    Attributes:
        name: the file name (``usage-report.csv``).
        columns: the CSV header, in the guide's order.
    """

    def __init__(
        self,
        name: str,
        columns: Columns,
        rows: Callable[[], Iterator[R]],
        values_of: Callable[[R], ReportValues],
        values: Callable[[], Iterator[ReportValues]] | None = None,
    ) -> None:
        """Make a report.

        Args:
            name: the file name.
            columns: the headers and their cell rules.
            rows: reads the typed rows afresh.
            values_of: a typed row's values, in column order.
            values: reads every row's values afresh, in the same order as ``rows`` (default:
                ``values_of`` each typed row).
        """
        self.name = name
        self.columns = columns.headers
        self._table = columns
        self._rows = rows
        self._values_of = values_of
        self._values = values or (lambda: map(values_of, rows()))

    def __iter__(self) -> Iterator[R]:
        return self._rows()

    def cells(self, row: R) -> list[str]:
        """Return a row's cells as written to the CSV."""
        return self._table.write(self._values_of(row))

    def _cell_rows(self) -> Iterator[list[str]]:
        return map(self._table.write, self._values())

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
        written = 0
        for cells in self._cell_rows():
            writer.writerow(cells)
            written += 1
        return written

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
        return pandas.DataFrame(list(self._cell_rows()), columns=list(self.columns))

    def _repr_html_(self) -> str:
        """The first 20 rows as an HTML table, for Jupyter."""
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = []
        for index, row in enumerate(self._cell_rows()):
            if index == 20:
                body.append(f'<tr><td colspan="{len(self.columns)}">…</td></tr>')
                break
            cells = "".join(f"<td>{html.escape(c)}</td>" for c in row)
            body.append(f"<tr>{cells}</tr>")
        caption = f"<caption>{html.escape(self.name)}</caption>"
        return f"<table>{caption}<tr>{head}</tr>{''.join(body)}</table>"


class ReportRecord(Protocol):
    """A typed report row: a record that gives its values in column order."""

    def values(self) -> ReportValues:
        """The row's values, one per column."""
        ...


def record_values(record: ReportRecord) -> ReportValues:
    """A report record's values (``UsageRecord.values()`` and the like), for :class:`Report`."""
    return record.values()


def rows_of(records: Iterable[R]) -> list[R]:
    """Materialize records (a helper for tests and small reports)."""
    return list(records)
