"""Reports and analytics results in notebooks: pandas frames, HTML tables and plots.

One conversion serves every result: a result describes itself as :class:`Column` s (a name and
a :class:`ColumnKind`) and rows of plain values, and :func:`to_frame` turns that into a
``pandas.DataFrame`` with one dtype per kind:

========================  =============================================================
kind                      dtype
========================  =============================================================
``TEXT``                  ``string`` (pandas' ``StringDtype``; a missing text is ``<NA>``)
``INTEGER``               ``int64`` (``Int64``, nullable, where a value may be missing)
``NUMBER``                ``float64`` (a missing number is ``NaN``)
``FLAG``                  ``bool`` (``boolean`` where a value may be missing)
``TIME``                  ``datetime64[us, UTC]``: aware UTC instants (``NaT`` for none)
``DAY``                   ``datetime64[us]``: a UTC calendar day at midnight, without zone
``CATEGORY``              ``category``, ordered as the enum is defined (levels and bands
                          run low to high: beginner < intermediate < advanced)
========================  =============================================================

:class:`Tabular` (single results such as the summary) and :class:`Rows` (lists of rows such
as the leaderboard) give every result ``to_pandas()`` and ``_repr_html_()`` (Jupyter's table:
every value HTML-escaped). pandas and matplotlib are optional (the ``notebook`` extra): they are
imported inside the calls, never when learnprog is imported, and a missing one raises
:class:`~learnprog.errors.MissingExtraError` naming the extra.
"""

from __future__ import annotations

import enum
import html
import importlib
import types
import typing
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

import attrs
from attrs import frozen

from learnprog.errors import MissingExtraError, ValidationError

if TYPE_CHECKING:
    import pandas
    from matplotlib.axes import Axes

T = TypeVar("T")

EXTRA = "notebook"
"""The extra that installs pandas and matplotlib: ``pip install 'learnprog[notebook]'``."""

HTML_ROWS = 20
"""Rows shown by ``_repr_html_`` before an ellipsis row."""


def optional_import(module: str, extra: str = EXTRA) -> types.ModuleType:
    """Import an optional dependency.

    Args:
        module: the module's name (``"pandas"``, ``"matplotlib.pyplot"``).
        extra: the learnprog extra that installs it.

    Raises:
        MissingExtraError: the module cannot be imported (its top-level package named).
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(module.partition(".")[0], extra) from exc


def pandas_module() -> Any:
    """The ``pandas`` module (see :func:`optional_import`)."""
    return optional_import("pandas")


def pyplot() -> Any:
    """The ``matplotlib.pyplot`` module (see :func:`optional_import`)."""
    return optional_import("matplotlib.pyplot")


class ColumnKind(enum.Enum):
    """What a column holds, which chooses its dtype (see the module's table)."""

    TEXT = "text"
    INTEGER = "integer"
    NUMBER = "number"
    FLAG = "flag"
    TIME = "time"
    DAY = "day"
    CATEGORY = "category"


@frozen
class Column:
    """One column of a frame.

    Attributes:
        name: the column's name (a report's header, or a result's attribute).
        kind: what it holds.
        optional: a value may be ``None`` (chooses a nullable dtype for integers and flags).
        categories: a ``CATEGORY`` column's values, low to high.
        convert: applied to every value but ``None`` before the dtype is set (seconds to
            hours), or ``None``.
    """

    name: str
    kind: ColumnKind
    optional: bool = False
    categories: tuple[str, ...] = ()
    convert: Callable[[Any], Any] | None = None


def _column(name: str, hint: Any) -> Column | None:
    """The column of an attribute annotated ``hint``, or ``None`` for a nested value."""
    optional = False
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        members = [h for h in typing.get_args(hint) if h is not type(None)]
        optional = len(members) < len(typing.get_args(hint))
        if len(members) != 1:
            return None
        hint = members[0]
    if not isinstance(hint, type):
        return None
    if issubclass(hint, enum.Enum):
        values = tuple(str(member.value) for member in hint)
        return Column(name, ColumnKind.CATEGORY, optional, values)
    for kind_type, kind in (
        (bool, ColumnKind.FLAG),  # before int: a bool is an int
        (int, ColumnKind.INTEGER),
        (float, ColumnKind.NUMBER),
        (str, ColumnKind.TEXT),
        (datetime, ColumnKind.TIME),  # before date: a datetime is a date
        (date, ColumnKind.DAY),
    ):
        if issubclass(hint, kind_type):
            return Column(name, kind, optional)
    return None


_COLUMNS: dict[type, tuple[Column, ...]] = {}


def columns_of(cls: type) -> tuple[Column, ...]:
    """The columns of an attrs class: its attributes of a scalar type, in order.

    ``str``, ``int``, ``float``, ``bool``, ``datetime``, ``date``, an enum, or one of them or
    ``None``; attributes holding collections or records are left out (a result that has some
    lays them out itself).
    """
    known = _COLUMNS.get(cls)
    if known is None:
        hints = typing.get_type_hints(cls)
        found = (_column(f.name, hints[f.name]) for f in attrs.fields(cls))
        known = _COLUMNS[cls] = tuple(c for c in found if c is not None)
    return known


def record_row(record: object, columns: Sequence[Column]) -> tuple[Any, ...]:
    """A record's values for ``columns`` (attributes of the same names)."""
    return tuple(getattr(record, c.name) for c in columns)


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return float(value)
    return value


def _series(pd: Any, column: Column, values: list[Any]) -> Any:
    kind = column.kind
    if column.convert is not None:
        values = [None if v is None else column.convert(v) for v in values]
    if kind is ColumnKind.TEXT:
        return pd.Series(values, dtype="string", name=column.name)
    if kind is ColumnKind.INTEGER:
        whole = [None if v is None else int(v) for v in values]
        return pd.Series(whole, dtype="Int64" if column.optional else "int64", name=column.name)
    if kind is ColumnKind.NUMBER:
        numbers = [float("nan") if v is None else float(v) for v in values]
        return pd.Series(numbers, dtype="float64", name=column.name)
    if kind is ColumnKind.FLAG:
        return pd.Series(values, dtype="boolean" if column.optional else "bool", name=column.name)
    if kind is ColumnKind.TIME:
        # Aware times are converted to UTC; a naive time or SQLite's text is a stored UTC time.
        times = pd.to_datetime(values, utc=True, format="ISO8601")
        return pd.Series(times, name=column.name).astype("datetime64[us, UTC]")
    if kind is ColumnKind.DAY:
        return pd.Series(pd.to_datetime(values), name=column.name).astype("datetime64[us]")
    plain = [None if v is None else str(_plain(v)) for v in values]
    for index, value in enumerate(plain):
        if value is not None and value not in column.categories:
            raise ValidationError(
                f"row {index}: {value!r} is not one of {', '.join(column.categories)}",
                field=column.name,
                value=value,
            )
    dtype = pd.CategoricalDtype(list(column.categories), ordered=True)
    return pd.Series(plain, dtype=dtype, name=column.name)


def to_frame(columns: Sequence[Column], rows: Iterable[Sequence[Any]]) -> pandas.DataFrame:
    """Build a ``pandas.DataFrame``: one column per :class:`Column`, with its kind's dtype.

    Args:
        columns: the columns, in order.
        rows: one sequence of values per row, in column order.

    Returns:
        The frame (a ``RangeIndex``; an empty frame keeps its columns and dtypes).

    Raises:
        MissingExtraError: pandas is not installed (the ``notebook`` extra).
        ValidationError: a category column's value outside its categories (column named).
    """
    pd = pandas_module()
    cells: list[list[Any]] = [[] for _ in columns]
    for row in rows:
        for cell, value in zip(cells, row, strict=True):
            cell.append(value)
    series = [_series(pd, c, values) for c, values in zip(columns, cells, strict=True)]
    frame: pandas.DataFrame = pd.concat(series, axis=1) if series else pd.DataFrame()
    return frame


def cell_text(value: Any) -> str:
    """A value as a notebook table shows it.

    Times as ISO 8601 UTC with milliseconds and ``Z`` (a naive time is a stored UTC time),
    numbers with two decimals, flags Yes/No, enums by value, ``None`` as nothing.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, float | Decimal):
        return f"{value:.2f}"
    if isinstance(value, datetime):
        aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return aware.isoformat(timespec="milliseconds")[:-6] + "Z"
    return str(value)


def html_table(
    caption: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    limit: int = HTML_ROWS,
) -> str:
    """An HTML table for Jupyter: every caption, header and cell HTML-escaped.

    Args:
        caption: the table's caption.
        headers: the column headers.
        rows: each row's cell texts; read up to ``limit`` rows and one more.
        limit: the rows shown; an ellipsis row says there are more.
    """
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = []
    for index, row in enumerate(rows):
        if index == limit:
            body.append(f'<tr><td colspan="{len(headers)}">…</td></tr>')
            break
        cells = "".join(f"<td>{html.escape(c)}</td>" for c in row)
        body.append(f"<tr>{cells}</tr>")
    return f"<table><caption>{html.escape(caption)}</caption><tr>{head}</tr>{''.join(body)}</table>"


Table = tuple[Sequence[Column], Iterable[Sequence[Any]]]
"""A result laid out as columns and rows of values."""


def _html(caption: str, table: Table) -> str:
    columns, rows = table
    texts = ([cell_text(v) for v in row] for row in rows)
    return html_table(caption, [c.name for c in columns], texts)


class Tabular:
    """A single result (an attrs record) that becomes a frame and a Jupyter table.

    By default the frame has one row: the record's scalar attributes (:func:`columns_of`). A
    result made of rows (the utilization's contracts) overrides :meth:`_table`.
    """

    __slots__ = ()

    def _table(self) -> Table:
        columns = columns_of(type(self))
        return columns, [record_row(self, columns)]

    def to_pandas(self) -> pandas.DataFrame:
        """Return the result as a ``pandas.DataFrame`` (dtypes: :mod:`learnprog.frames`).

        Raises:
            MissingExtraError: pandas is not installed (``pip install 'learnprog[notebook]'``).
        """
        return to_frame(*self._table())

    def _repr_html_(self) -> str:
        """The result as an HTML table, for Jupyter (every value escaped)."""
        return _html(type(self).__name__, self._table())


class Rows(list[T], Generic[T]):
    """A list of result rows that becomes a frame and a Jupyter table.

    A plain ``list`` in every other way (``rows == []``, indexing, ``len``). Subclasses name
    their row class (an attrs class); the frame's columns are its scalar attributes.
    """

    row_type: ClassVar[type]
    """The attrs class of the rows."""

    def _table(self) -> Table:
        columns = columns_of(self.row_type)
        return columns, [record_row(row, columns) for row in self]

    def to_pandas(self) -> pandas.DataFrame:
        """Return the rows as a ``pandas.DataFrame``: one row each, in order.

        Raises:
            MissingExtraError: pandas is not installed (``pip install 'learnprog[notebook]'``).
        """
        return to_frame(*self._table())

    def _repr_html_(self) -> str:
        """The first rows as an HTML table, for Jupyter (every value escaped)."""
        return _html(f"{type(self).__name__} ({len(self)} rows)", self._table())


def label(text: str) -> str:
    """Admin or file text as a matplotlib label: shown as written, never parsed.

    A ``$`` is escaped, since matplotlib reads the text between two as math (mathtext) and a
    skill named ``$frac{$`` (with a backslash before ``frac``) would make drawing fail.
    """
    return text.replace("$", "\\$")


def day_values(days: Sequence[date]) -> Any:
    """UTC days as a ``numpy`` ``datetime64[D]`` array, which matplotlib draws as dates.

    Raises:
        MissingExtraError: numpy (installed with matplotlib) is not installed.
    """
    return optional_import("numpy").array(days, dtype="datetime64[D]")


def axes(ax: Axes | None, *, size: tuple[float, float] = (7.0, 3.5)) -> Axes:
    """The Axes to draw on: ``ax``, or a new pyplot figure's of ``size`` inches.

    A new figure uses matplotlib's constrained layout, so its tick labels, axis labels and
    title stay inside its edges when a script saves it with a plain ``savefig`` (a funnel's
    "Invitations sent" was cut off without it). A given ``ax`` keeps its figure's layout.

    Raises:
        MissingExtraError: matplotlib is not installed (``pip install 'learnprog[notebook]'``).
    """
    plt = pyplot()
    if ax is not None:
        return ax
    new: Axes = plt.subplots(figsize=size, layout="constrained")[1]
    return new
