"""The guide's report columns, in the guide's order, each with the rule that writes its cells.

Sources: the guide's "Usage Report", "Membership Report" and "Specialization Report" tables.
Cells are written by :mod:`learnprog.reports.cells`: ISO 8601 UTC times with milliseconds and
``Z``, Yes/No flags, two-decimal numbers, and text protected against spreadsheet formulas.
A row's values (:data:`~learnprog.model.reporting.ReportValues`) come from a typed record's
``values()`` or straight from a SQL store's rows; either way each column's one rule writes them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from operator import call
from typing import IO, TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from attrs import frozen

from learnprog.frames import Column, ColumnKind, html_table, to_frame
from learnprog.model.learner import MemberState
from learnprog.model.progress import hours
from learnprog.model.reporting import ReportValues
from learnprog.reports.cells import (
    count,
    learning_hours,
    protect,
    stored_timestamp,
    two_decimals,
    yes_no,
)

if TYPE_CHECKING:
    import pandas

R = TypeVar("R")

Cell = Callable[[Any], str]
"""A column's rule: one value in, its cell's text out."""


@frozen
class Kind:
    """A kind of report column: the rule that writes its CSV cells, and its frame column's.

    Attributes:
        cell: writes one value's CSV cell (:mod:`learnprog.reports.cells`).
        frame: the kind of its ``to_pandas()`` column (:class:`~learnprog.frames.ColumnKind`).
        categories: a category column's values.
        convert: turns a value into the frame's unit (seconds to hours), or ``None``.
    """

    cell: Cell
    frame: ColumnKind
    categories: tuple[str, ...] = ()
    convert: Callable[[Any], Any] | None = None


TEXT = Kind(protect, ColumnKind.TEXT)
"""Text: formula-protected in the CSV, as written in the frame (``string``)."""
TIME = Kind(stored_timestamp, ColumnKind.TIME)
"""A time: ISO 8601 UTC in the CSV, an aware UTC ``datetime64`` in the frame."""
NUMBER = Kind(two_decimals, ColumnKind.NUMBER)
"""A number (percent progress, grade 0-100): two decimals in the CSV, ``float64`` in the frame."""
HOURS = Kind(learning_hours, ColumnKind.NUMBER, convert=hours)
"""Learning time, given in seconds: hours in the CSV (two decimals) and in the frame."""
FLAG = Kind(yes_no, ColumnKind.FLAG)
"""A flag: Yes/No in the CSV, ``bool`` in the frame."""
COUNT = Kind(count, ColumnKind.INTEGER)
"""A whole number: ``int64`` in the frame."""
STATE = Kind(str, ColumnKind.CATEGORY, tuple(s.value for s in MemberState))
"""A member state (``MEMBER``): a category in the frame."""


@frozen
class Columns:
    """A report's columns, in order: each header with the rule that writes its cells.

    Attributes:
        headers: the CSV header.
        cells: one rule per column (:mod:`learnprog.reports.cells`), chosen once per column.
        frame: one frame column per column (the header and its kind's dtype).
    """

    headers: tuple[str, ...]
    cells: tuple[Cell, ...]
    frame: tuple[Column, ...]

    @classmethod
    def of(cls, *columns: tuple[str, Kind]) -> Columns:
        """Columns from ``(header, kind)`` pairs."""
        return cls(
            tuple(h for h, _ in columns),
            tuple(k.cell for _, k in columns),
            tuple(
                Column(h, k.frame, categories=k.categories, convert=k.convert) for h, k in columns
            ),
        )

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

_LEARNER = (("Name", TEXT), ("Email", TEXT), ("External Id", TEXT))
_PROFILE = tuple((header, TEXT) for header in PROFILE_COLUMNS)

USAGE = Columns.of(
    *_LEARNER,
    ("Course", TEXT),
    ("Course ID", TEXT),
    ("Course Slug", TEXT),
    ("University", TEXT),
    ("Enrollment Time", TIME),
    ("Class Start Time", TIME),
    ("Last Course Activity Time", TIME),
    ("Overall Progress", NUMBER),
    ("Estimated Learning Hours", HOURS),
    ("Completed", FLAG),
    ("Removed From Program", FLAG),
    ("Program Slug", TEXT),
    ("Program Name", TEXT),
    ("Enrollment Source", TEXT),
    ("Completion Time", TIME),
    ("Course Grades", NUMBER),
    ("Contract", TEXT),
    *_PROFILE,
)
"""The Usage Report's columns (values: :meth:`~learnprog.model.reporting.UsageRecord.values`)."""

USAGE_COLUMNS = USAGE.headers
"""The Usage Report's columns, in the guide's order."""

MEMBERSHIP = Columns.of(
    *_LEARNER,
    ("Program Name", TEXT),
    ("Program Slug", TEXT),
    ("# Enrolled Courses", COUNT),
    ("# Completed Courses", COUNT),
    ("Member State", STATE),
    ("Join Date", TIME),
    ("Invitation Date", TIME),
    ("Last Activity Time", TIME),
    ("Contract(s)", TEXT),
    *_PROFILE,
)
"""The Membership Report's columns (values:
:meth:`~learnprog.model.reporting.MembershipRecord.values`)."""

MEMBERSHIP_COLUMNS = MEMBERSHIP.headers
"""The Membership Report's columns, in the guide's order."""

SPECIALIZATION = Columns.of(
    *_LEARNER,
    ("Specialization", TEXT),
    ("Specialization Slug", TEXT),
    ("University", TEXT),
    ("Enrollment Time", TIME),
    ("Last Specialization Activity Time", TIME),
    ("Completed", FLAG),
    ("Removed From Program", FLAG),
    ("Program Slug", TEXT),
    ("Program Name", TEXT),
    ("Enrollment Source", TEXT),
    ("Specialization Completion Time", TIME),
    ("Contract", TEXT),
    *_PROFILE,
)
"""The Specialization Report's columns (values:
:meth:`~learnprog.model.reporting.SpecializationRecord.values`)."""

SPECIALIZATION_COLUMNS = SPECIALIZATION.headers
"""The Specialization Report's columns, in the guide's order."""

EMAIL = Columns.of(("Email", TEXT))
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

    def to_pandas(self) -> pandas.DataFrame:
        """Return the report as a ``pandas.DataFrame``: one column per header, with real dtypes.

        Text as written (``string``; a text cell's formula protection is a CSV matter and not
        applied here), times as aware UTC ``datetime64``, progress and grades as ``float64``
        (percent 0-100, ``NaN`` for none), learning hours as ``float64`` hours, counts as
        ``int64``, Yes/No flags as ``bool``, the member state as a ``category`` (see
        :mod:`learnprog.frames`). Rows are read as :meth:`write_csv` reads them (streamed
        from a SQL store, without typed records).

        Raises:
            MissingExtraError: pandas is not installed (``pip install 'learnprog[notebook]'``).
        """
        return to_frame(self._table.frame, self._values())

    def _repr_html_(self) -> str:
        """The first 20 rows' CSV cells as an HTML table, for Jupyter (every cell escaped)."""
        return html_table(self.name, self.columns, self._cell_rows())


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
