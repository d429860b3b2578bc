"""Reading CSV files that people make: Excel, Google Sheets, LibreOffice, scripts.

The encoding is decided from the bytes before parsing, in this order (short samples fool
statistical detectors, so they come last):

1. the encoding the caller names, if any;
2. a byte-order mark: UTF-8 (Excel "CSV UTF-8"), UTF-16 LE/BE (Excel "Unicode text");
3. strict UTF-8, when the whole file decodes as UTF-8;
4. Windows code page 1252, the Western default of Excel's plain "CSV" (``Stéphane`` stays
   ``Stéphane``), when the whole file decodes as cp1252;
5. charset-normalizer's best guess for what is left; where even that fails, an error naming
   the problem and asking for the encoding.

The delimiter (comma, semicolon or tab) is the one that splits the header line into the
expected columns; quoted fields may hold delimiters and line breaks; CRLF and LF both work.
Headers are matched after trimming spaces and ignoring case; missing headers are one error
naming every missing column. Rows with nothing but delimiters and spaces are skipped. A cell that
learnprog protected against spreadsheet formulas (``'-00123``, ``''abc``) is read back as written
before (``-00123``, ``'abc``): see :func:`protect` and :func:`unprotect`, the one implementation
of that rule.

The file is read as a stream: memory does not grow with the number of rows.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import BinaryIO

import charset_normalizer
from attrs import frozen

from learnprog.errors import ValidationError

CsvSource = str | os.PathLike[str] | bytes | BinaryIO
"""A CSV file: a path, its bytes, or a binary file object."""

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_DELIMITERS = (",", ";", "\t")
_CHUNK = 1 << 20


@frozen
class CsvRow:
    """One record of a CSV file.

    Attributes:
        line: the file line the record starts on (1 is the header line).
        values: column name (as the caller asked for it) -> the field, stripped of outer
            spaces; a missing field is "".
        extra: other columns of the file, by their header with its spaces and line breaks
            collapsed to single spaces.
    """

    line: int
    values: dict[str, str]
    extra: dict[str, str]


def normalize_header(header: str) -> str:
    """Return a header as compared: trimmed, inner spaces collapsed, case-folded.

    ``" full  Name "`` and ``"Full Name"`` match.
    """
    return " ".join(header.split()).casefold()


def _decodes(stream: BinaryIO, encoding: str) -> bool:
    stream.seek(0)
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        while chunk := stream.read(_CHUNK):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(stream: BinaryIO) -> str:
    """Decide a seekable binary stream's encoding (see the module docstring for the order).

    Raises:
        ValidationError: the encoding cannot be told (name it with ``encoding=``).
    """
    stream.seek(0)
    head = stream.read(4)
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    if _decodes(stream, "utf-8"):
        return "utf-8"
    if _decodes(stream, "cp1252"):
        return "cp1252"
    stream.seek(0)
    best = charset_normalizer.from_bytes(stream.read(_CHUNK)).best()
    if best is not None and _decodes(stream, best.encoding):
        return str(best.encoding)
    raise ValidationError(
        "the file's text encoding cannot be told: it is neither UTF-8 nor Windows-1252; "
        "save it as 'CSV UTF-8' or name its encoding",
        field="encoding",
    )


@contextmanager
def _seekable(source: CsvSource) -> Iterator[BinaryIO]:
    if isinstance(source, bytes):
        yield io.BytesIO(source)
    elif isinstance(source, str | os.PathLike):
        try:
            handle = Path(source).open("rb")  # noqa: SIM115 - closed by the with below
        except OSError as exc:
            raise ValidationError(f"cannot open {source}: {exc.strerror}", field="file") from exc
        with handle:
            yield handle
    elif hasattr(source, "read"):
        if getattr(source, "seekable", lambda: False)():
            start = source.tell()
            yield source
            source.seek(start)
        else:  # a pipe or upload stream: spool it (to disk past 8 MB)
            with tempfile.SpooledTemporaryFile(max_size=8 << 20) as spool:
                shutil.copyfileobj(source, spool)
                yield spool  # type: ignore[misc]
    else:
        raise ValidationError("a CSV file is a path, bytes or a binary file object", field="file")


@contextmanager
def read_csv(
    source: CsvSource,
    columns: Sequence[str],
    *,
    encoding: str | None = None,
    optional: Sequence[str] = (),
    require_any: Sequence[str] = (),
) -> Iterator[Iterator[CsvRow]]:
    """Open a CSV file and yield its records, one :class:`CsvRow` at a time.

    Args:
        source: a path, the file's bytes, or a binary file object.
        columns: the required headers, as the template writes them (``"Full Name"``).
        encoding: the file's encoding, when the caller knows it.
        optional: headers read into ``values`` when present ("" when absent); any other
            column goes to ``extra``.
        require_any: at least one of these headers must be present.

    Raises:
        ValidationError: the file cannot be opened or decoded, is empty, or lacks required
            headers (one error naming every missing column, ``field="header"``, ``line=1``).
    """
    with _seekable(source) as stream:
        if encoding is not None:
            try:
                codec = codecs.lookup(encoding)
            except LookupError as exc:
                raise ValidationError(f"unknown encoding {encoding!r}", field="encoding") from exc
            if not codec._is_text_encoding:  # rot13, base64, zlib: not a text file's encoding
                raise ValidationError(
                    f"{encoding!r} is not a text encoding", field="encoding", value=encoding
                )
            if not _decodes(stream, encoding):
                raise ValidationError(f"the file is not valid {encoding}", field="encoding")
        chosen = encoding or detect_encoding(stream)
        stream.seek(0)
        text = io.TextIOWrapper(stream, encoding=chosen, newline="")
        try:
            first = text.readline()
            header_lines = 1
            while first.count('"') % 2:  # a quoted header cell holding a line break
                more = text.readline()
                if not more:
                    break
                first += more
                header_lines += 1
            if not first.strip():
                raise ValidationError(
                    "the file is empty: it needs a header line", field="header", line=1
                )
            required = {normalize_header(c): c for c in columns}
            wanted = {**{normalize_header(c): c for c in optional}, **required}
            delimiter, headers = _pick_delimiter(first, wanted)
            missing = [
                c
                for key, c in required.items()
                if key not in {normalize_header(h) for h in headers}
            ]
            found_keys = {normalize_header(h) for h in headers}
            if require_any and not any(normalize_header(c) in found_keys for c in require_any):
                missing.append(" or ".join(require_any))
            if missing:
                raise ValidationError(
                    f"missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)} "
                    f"(found: {', '.join(h.strip() for h in headers) or 'none'})",
                    field="header",
                    line=1,
                )
            _refuse_repeated(headers)
            yield _records(text, headers, wanted, delimiter, header_lines)
        finally:
            text.detach()


def _pick_delimiter(first: str, wanted: dict[str, str]) -> tuple[str, list[str]]:
    best: tuple[int, str, list[str]] = (-1, ",", [])
    for delimiter in _DELIMITERS:
        headers = next(csv.reader(io.StringIO(first, newline=""), delimiter=delimiter), [])
        score = sum(normalize_header(h) in wanted for h in headers)
        if score > best[0]:
            best = (score, delimiter, headers)
    return best[1], best[2]


def _refuse_repeated(headers: Sequence[str]) -> None:
    """Raise when a column header is written twice: which of its cells is meant cannot be told.

    Raises:
        ValidationError: naming the header and its columns (1-based), ``field="header"``.
    """
    seen: dict[str, list[int]] = {}
    for number, header in enumerate(headers, start=1):
        if key := normalize_header(header):  # unnamed columns (trailing delimiters) are fine
            seen.setdefault(key, []).append(number)
    repeated = [(headers[n[0] - 1].strip(), n) for n in seen.values() if len(n) > 1]
    if repeated:
        named = "; ".join(
            f"{name!r} (columns {', '.join(map(str, numbers))})" for name, numbers in repeated
        )
        raise ValidationError(
            f"a column header appears more than once: {named}", field="header", line=1
        )


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""The first characters that make a spreadsheet read a cell as a formula (OWASP, "CSV
Injection")."""

_PROTECTED_STARTS = (*FORMULA_STARTS, "'")
"""The first characters of a cell that :func:`protect` prefixes with ``'``: a formula start, or
a ``'`` itself (else ``'-5`` written as is would read back as ``-5``)."""


def protect(text: str | None) -> str:
    """Return a cell that a spreadsheet shows as text, and that :func:`unprotect` reads back.

    A cell beginning with a formula start (``=``, ``+``, ``-``, ``@``, a tab or a carriage
    return: OWASP, "CSV Injection") or with ``'`` gets one more ``'`` in front: ``"=SUM(A1)"``
    is written ``"'=SUM(A1)"``, ``"-00123"`` ``"'-00123"``, ``"'-5"`` ``"''-5"`` and ``"'abc"``
    ``"''abc"``; anything else is written as it is, and ``None`` is ``""``. Every CSV cell
    learnprog writes from stored or imported text (reports, gradebooks, the rejected lines of a
    bulk invitation) goes through here, so ``unprotect(protect(text)) == text`` for any text.
    """
    if not text:
        return ""
    return f"'{text}" if text.startswith(_PROTECTED_STARTS) else text


def unprotect(text: str) -> str:
    """Undo :func:`protect`: drop one leading ``'`` before a formula start or another ``'``.

    ``"'-00123"`` reads as ``"-00123"`` and ``"''-5"`` as ``"'-5"``; a ``'`` before anything
    else is kept (``"'abc"`` stays ``"'abc"``), so a file a person wrote keeps its apostrophes.
    Every file learnprog reads passes through here.
    """
    if text[:1] == "'" and text[1:].startswith(_PROTECTED_STARTS):
        return text[1:]
    return text


class _Lines:
    """The lines of a text, noting when they run out.

    ``csv.reader`` asks for another line only to finish a record, or to start the next one; so
    a record it gives after the lines ran out was cut by the end of the file inside a quoted
    field (a quote never closed), which the non-strict reader would otherwise give as if whole.
    """

    def __init__(self, text: io.TextIOWrapper) -> None:
        self._text = text
        self.ended = False

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = self._text.readline()
        if not line:
            self.ended = True
            raise StopIteration
        return line


def _records(
    text: io.TextIOWrapper,
    headers: list[str],
    wanted: dict[str, str],
    delimiter: str,
    header_lines: int = 1,
) -> Iterator[CsvRow]:
    lines = _Lines(text)
    reader = csv.reader(lines, delimiter=delimiter, strict=False)
    keys = [normalize_header(h) for h in headers]
    names = [" ".join(h.split()) for h in headers]  # an extra column's name: spaces collapsed
    line = header_lines + 1  # the header came first (read before the reader started)
    while True:
        start = line
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # "field larger than field limit (131072)"
            raise ValidationError(f"the line cannot be read as CSV: {exc}", line=start) from exc
        if lines.ended:  # the reader ran out of file inside a quoted field
            raise ValidationError(
                "a quoted field is not closed: every line after it up to the end of the file "
                "was read into it; close the quote (a quote inside a quoted field is written "
                "twice) or save the file again",
                line=start,
            )
        line = reader.line_num + header_lines + 1  # the reader counts from after the header
        if not any(field.strip() for field in record):
            continue
        values = dict.fromkeys(wanted.values(), "")
        extra: dict[str, str] = {}
        for key, name, field in zip(keys, names, record, strict=False):
            if key in wanted:
                values[wanted[key]] = unprotect(field.strip())
            else:
                extra[name] = unprotect(field.strip())
        yield CsvRow(start, values, extra)


def csv_time(text: str, *, column: str, line: int, dates: bool = False) -> datetime:
    """Read a CSV cell holding an ISO 8601 time with a UTC offset, as aware UTC.

    ``2019-12-23T06:18:32.782Z`` (the guide's report samples) or any offset; with ``dates``, a
    bare date (``2019-12-23``) is its 00:00 UTC, as some exports write it.

    Raises:
        ValidationError: the text is no ISO 8601 time, or has no offset (a time without a zone
            is never guessed), naming the line and column.
    """
    try:
        if dates and len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValidationError(
            f"{text!r} is not an ISO 8601 time such as 2019-12-23T06:18:32.782Z",
            field=column,
            line=line,
        ) from exc
    if value.utcoffset() is None:
        raise ValidationError(
            f"{text!r} has no UTC offset; write it as 2019-12-23T06:18:32.782Z",
            field=column,
            line=line,
        )
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:  # 9999-12-31T23:00:00-05:00 is past the last UTC time
        raise ValidationError(
            f"{text!r} is outside the times that can be stored (years 1 to 9999 in UTC)",
            field=column,
            line=line,
        ) from exc
