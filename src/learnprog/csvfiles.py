r"""Reading CSV files that people make: Excel, Google Sheets, LibreOffice, scripts.

The encoding is decided from the bytes before parsing, and the whole file is checked to decode
before a single row is given (so an import stores nothing from a file that does not decode):

1. the encoding the caller names, if any (``utf-16`` and ``utf-32`` need a byte-order mark;
   ``utf-16-le`` and the like do not); a byte it cannot read is an error naming the line;
2. a byte-order mark: UTF-8 (Excel "CSV UTF-8"), UTF-16 LE/BE (Excel "Unicode text"), UTF-32
   LE/BE; bytes after the mark that its encoding cannot read are an error naming the line;
3. NUL bytes (in the first 64 KiB) without a mark are an error: the file looks like UTF-16 or
   UTF-32 without its mark; the message says which of the four from where the NULs fall, but
   that is never taken as the encoding: the caller names it;
4. strict UTF-8, when the whole file decodes as UTF-8;
5. a file that is not UTF-8 but has a line whose non-ASCII bytes are well-formed multi-byte
   UTF-8 sequences (the line decodes as UTF-8) is **mixed**: an error naming that line and
   the first line that is not UTF-8;
6. Windows code page 1252, the Western default of Excel's plain "CSV" (``Stéphane`` stays
   ``Stéphane``), when every byte is a cp1252 character and the text reads as Western: the file
   is refused, naming a line, when it holds a byte cp1252 leaves undefined (0x81, as in
   ``A\x81b``), or when half or more of its first 64 KiB of non-ASCII lines, read as cp1252, look
   like another encoding's bytes: Shift-JIS (the line decodes as cp932 into a word of two or more
   Japanese characters not joined to Latin letters, and its cp1252 reading holds a mark whose
   byte begins Shift-JIS characters: ``山田太郎`` reads as Latin letters broken by curly quotes, a
   fraction and a tilde, while ``Ventas—Málaga`` gives two characters inside a Latin word,
   accented letters being Shift-JIS lead bytes too), or GBK, EUC-KR or the code page of another
   alphabet (four non-ASCII characters in a row, not counting spaces, dashes, quotes and dots:
   GBK ``王小明`` reads ``ÍõÐ¡Ã÷``, where Western words hold three at most, ``Ñúñez``); and, on any
   line of the whole file, when a symbol that is a letter in a Central European or Latin-9 code
   page (cp1250, ISO-8859-2, ISO-8859-15) stands where a letter belongs: between letters
   (``Ma³gorzata``), as a capital starting a lowercase word (``£ukasz``, ``¦imon``) or as ``ł``
   ending one after a vowel (``Pawe³``); units, currencies and footnotes after a word stay
   Western (``m³``, ``JP¥``, ``Salary (£k)``, ``Pérez¹``). Where another code page's letters read
   as Western letters the bytes cannot tell them apart, and the Western default stands: Czech ``č
   ř`` as ``è ø``, Hungarian ``ő`` as ``õ``, Croatian ``ć`` as ``æ``, Romanian ``ș`` as ``º``,
   Turkish ``ş ğ`` and the dotless i as ``þ ð ý``, Baltic ``ž`` as ``þ``, Mac Roman and DOS code
   pages, and Polish names without ``ł ą ż``; so does a file whose lines of another alphabet are
   fewer than half of its non-ASCII lines. Such files must be named. charset-normalizer's guess
   is named in the message, never used to read the file: on the few bytes of a roster's names its
   judgement is no guide (it rates Shift-JIS ``山田太郎`` read as cp1252 at chaos 0.0, less messy
   than ``JOSÉ ÑÚÑEZ`` at 0.27 to 0.5). The caller who knows better names the encoding
   (``cp1252`` too).

Every encoding error is a :class:`~learnprog.errors.ValidationError` with ``field="encoding"``.
Checking reads the file up to twice before its rows are read, a chunk of 1 MiB at a time, so
memory stays flat: a regular file or bytes are simply read again, and a source that is not a
regular file (a pipe or ``/dev/stdin``, a device such as ``/dev/zero``, a binary file object that
cannot seek, an upload stream) is first copied to a temporary file, in memory up to 8 MB and on
disk past that, at most :data:`MAX_STREAM_BYTES` (1 GiB; more is a ``ValidationError`` with
``field="file"`` naming the source and the line reached), stopping at once at a NUL byte in its
first 64 KiB when no encoding is named, so a source that never ends cannot hold an import.

The delimiter (comma, semicolon or tab) is the one that splits the header line into the
expected columns; quoted fields may hold delimiters and line breaks; CRLF and LF both work.
Headers are matched after trimming spaces and ignoring case; missing headers are one error
naming every missing column. The header is read at most :func:`csv.field_size_limit` (131,072)
characters: a longer one (a quote in it never closed, or no line break) is an error naming
line 1. Rows with nothing but delimiters and spaces are skipped. A cell that
learnprog protected against spreadsheet formulas (``'-00123``, ``''abc``) is read back as written
before (``-00123``, ``'abc``): see :func:`protect` and :func:`unprotect`, the one implementation
of that rule.

Before the first record is given, every record is parsed once (records are not kept): a field
longer than the csv module's limit (:func:`csv.field_size_limit`, 131,072 characters; learnprog
never changes that process-wide setting) or a quoted field never closed is an error naming the
line it starts on, raised before an import stores anything.

The file is read as a stream: memory does not grow with the number of rows.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import stat
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import BinaryIO

from attrs import Factory, define, frozen

from learnprog.errors import ValidationError

CsvSource = str | os.PathLike[str] | bytes | BinaryIO
"""A CSV file: a path, its bytes, or a binary file object."""

_BOMS = (  # UTF-32 LE first: its mark starts with UTF-16 LE's
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
)
_DELIMITERS = (",", ";", "\t")
_CHUNK = 1 << 20
_HEAD = 1 << 16  # where NUL bytes are looked for


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


@define
class _LineCount:
    """The line a text (or its bytes) has reached, counted as the CSV reader counts lines.

    A line ends at LF, CRLF or a lone CR (the reader's text stream reads with universal
    newlines); a CRLF cut between two pieces is one line break.
    """

    line: int = 1
    after_cr: bool = False

    def add(self, text: str | bytes) -> None:
        """Count the line breaks of the next piece of the text."""
        if not text:
            return
        if isinstance(text, bytes):
            breaks = text.count(b"\n") + text.count(b"\r") - text.count(b"\r\n")
            starts_lf, ends_cr = text[:1] == b"\n", text[-1:] == b"\r"
        else:
            breaks = text.count("\n") + text.count("\r") - text.count("\r\n")
            starts_lf, ends_cr = text[:1] == "\n", text[-1:] == "\r"
        self.line += breaks - (self.after_cr and starts_lf)
        self.after_cr = ends_cr

    def at(self, piece: bytes, offset: int) -> int:
        """The line of byte ``offset`` of the next piece (the count itself does not move)."""
        probe = _LineCount(self.line, self.after_cr)
        probe.add(piece[:offset])
        return probe.line


def _problem(exc: UnicodeError) -> str:
    """What a decoder said, with the bytes it could not read (``invalid start byte (0xff)``)."""
    if isinstance(exc, UnicodeDecodeError):
        bad = " ".join(f"0x{b:02x}" for b in exc.object[exc.start : exc.end])
        return f"{exc.reason} ({bad})" if bad else exc.reason
    return str(exc)


def _locate(
    decoder: codecs.IncrementalDecoder, data: bytes, lines: _LineCount, step: int = 4096
) -> tuple[int, str] | None:
    """Decode ``data`` in small pieces from the decoder's state, to the line of the bad byte."""
    for start in range(0, len(data), step):
        piece = data[start : start + step]
        state = decoder.getstate()
        try:
            lines.add(decoder.decode(piece))
        except UnicodeError as exc:
            if step == 1:
                return lines.line, _problem(exc)
            decoder.setstate(state)
            return _locate(decoder, piece, lines, 1)
    return None


def _decode_error(stream: BinaryIO, encoding: str) -> tuple[int, str] | None:
    """Decode the whole stream strictly, a chunk at a time (memory stays flat).

    Returns:
        ``None`` when every byte decodes; else the line of the first byte that does not, with
        what the decoder said.
    """
    stream.seek(0)
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    lines = _LineCount()
    while True:
        chunk = stream.read(_CHUNK)
        state = decoder.getstate()
        try:
            lines.add(decoder.decode(chunk, final=not chunk))
        except UnicodeError as exc:
            decoder.setstate(state)
            return _locate(decoder, chunk, lines) or (lines.line, _problem(exc))
        if not chunk:
            return None


def _check_decodes(stream: BinaryIO, encoding: str, lead: str) -> None:
    """Raise a :class:`ValidationError` naming the first line that ``encoding`` cannot read.

    ``lead`` begins the message (``the file is not valid utf-8``); what the decoder said follows.
    """
    if (error := _decode_error(stream, encoding)) is not None:
        line, problem = error
        raise ValidationError(f"{lead}: {problem}", field="encoding", line=line)


@define
class _Survey:
    """What a file that is not UTF-8 holds (:func:`_survey`)."""

    utf8_line: int | None = None
    """The first line holding non-ASCII bytes that all decode as UTF-8."""
    undefined: tuple[int, int] | None = None
    """The first byte Windows-1252 does not define (0x81, 0x8d, 0x8f, 0x90, 0x9d), and its line."""
    misread: tuple[int, bytes] | None = None
    """The first line where a :data:`_MISREAD` symbol touches a letter, and that line's bytes."""
    sample: list[tuple[int, bytes]] = Factory(list)
    """The first lines holding non-ASCII bytes, with their numbers, up to :data:`_SAMPLE` bytes."""
    sampled: int = 0
    """The bytes in the sample."""


_NON_ASCII = re.compile(rb"[\x80-\xff]")
_CP1252_UNDEFINED = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")
_UTF8_SEQUENCE = re.compile(  # a well-formed multi-byte UTF-8 sequence (RFC 3629, section 4)
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
    rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
    rb"|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)
_SAMPLE = 1 << 16
_LETTER = rb"[A-Za-z\x83\x8a\x8c\x8e\x9a\x9c\x9e\x9f\xaa\xb5\xba\xc0-\xd6\xd8-\xf6\xf8-\xff]"
"""A byte that Windows-1252 reads as a letter."""
_LOWER = rb"[a-z\x83\x9a\x9c\x9e\xaa\xb5\xba\xdf-\xf6\xf8-\xff]"
"""A byte that Windows-1252 reads as a lowercase letter."""
_VOWEL = (
    rb"[aeiouyAEIOUY\xc0-\xc6\xc8-\xcf\xd2-\xd6\xd8-\xdd\xe0-\xe6\xe8-\xef\xf2-\xf6\xf8-\xfd\xff]"
)
"""A byte that Windows-1252 reads as a vowel."""
_MISREAD_SYMBOL = rb"[\xa1-\xa3\xa5\xa6\xa8\xac\xaf\xb1\xb3\xb6\xb8\xb9\xbc-\xbf]"
"""A byte that Windows-1252 reads as a symbol (``¡ £ ¥ ¦ ¨ ¯ ³ ¹ ¼ ½ ¾ ¿`` ...) but cp1250,
ISO-8859-2 or ISO-8859-15 (and some of cp1257) read as a letter (``Ą Ł Ś Š Ø Ż ł ą Œ œ Ÿ ż``
...). Left out: the bytes whose symbol sits between letters in Western text too (quotes
``« »``, the middle dot of Catalan ``l·l``, the acute accent some type for an apostrophe,
superscript two, the multiplication and division signs, ``© ®`` in ``Acme®Pro``)."""
_WORD_START_SYMBOL = rb"[\xa3\xa6\xa9\xac\xae\xaf\xbc]"
"""The symbols Windows-1252 gives the capitals that start Central European and Latin-9 words
(``Ł Ś Š Ź Ž Ż Ľ Œ``): ``£ ¦ © ¬ ® ¯ ¼``."""
_MISREAD_BYTES = re.compile(
    rb"[\xa1-\xa3\xa5\xa6\xa8\xa9\xac\xae\xaf\xb1\xb3\xb6\xb8\xb9\xbc-\xbf]"
)
"""Every byte of :data:`_MISREAD_SYMBOL` and :data:`_WORD_START_SYMBOL`: a cheap first look."""
_MISREAD = re.compile(
    b"|".join(
        (
            _LETTER + _MISREAD_SYMBOL + _LETTER,  # inside a word: Ma³gorzata, D¹browski, C½ur
            # a capital starting a word of two or more lowercase letters (£ukasz, ¯aneta,
            # ¦árka); a unit or a currency sign stands before one letter (£k, £m) or none
            rb"(?<!" + _LETTER + b")" + _WORD_START_SYMBOL + _LOWER + _LOWER,
            _VOWEL + rb"\xb3(?!" + _LETTER + b")",  # a word ending in ł after a vowel: Pawe³
        )
    )
)
"""Such a symbol where a letter belongs: a word of another code page read as Windows-1252.
Units, currencies and footnotes after a word are Western (``m³``, ``JP¥``, ``Pérez¹``,
``Salary (£k)``)."""


def _survey(stream: BinaryIO) -> _Survey:
    """Read a file that is not UTF-8 for what decides its encoding, a chunk at a time.

    A chunk is :data:`_CHUNK` bytes completed to the end of its line (by at most another
    chunk: a longer line is looked at in pieces), so memory stays flat. Lines are looked at one
    by one only while the sample fills, and in a chunk holding a well-formed multi-byte UTF-8
    sequence until a UTF-8 line is found; the rest is searched whole, at C speed.
    """
    stream.seek(0)
    survey = _Survey()
    lines = _LineCount()
    while chunk := stream.read(_CHUNK):
        if not chunk.endswith((b"\n", b"\r")):
            chunk += stream.readline(_CHUNK)
        if not chunk.isascii():
            if survey.undefined is None and (bad := _CP1252_UNDEFINED.search(chunk)):
                survey.undefined = (lines.at(chunk, bad.start()), chunk[bad.start()])
            if (
                survey.misread is None
                and _MISREAD_BYTES.search(chunk)  # a plain class first: most files hold none
                and (odd := _MISREAD.search(chunk))
            ):
                survey.misread = (lines.at(chunk, odd.start()), _line_around(chunk, odd.start()))
            seek_utf8 = survey.utf8_line is None and _UTF8_SEQUENCE.search(chunk) is not None
            if survey.sampled < _SAMPLE or seek_utf8:
                _survey_lines(chunk, _LineCount(lines.line, lines.after_cr), survey, seek_utf8)
        lines.add(chunk)
    return survey


def _line_around(chunk: bytes, offset: int) -> bytes:
    """The line of ``chunk`` that holds byte ``offset``, without its line break."""
    start = max(chunk.rfind(b"\n", 0, offset), chunk.rfind(b"\r", 0, offset)) + 1
    ends = [end for end in (chunk.find(b"\n", offset), chunk.find(b"\r", offset)) if end >= 0]
    return chunk[start : min(ends, default=len(chunk))]


def _survey_lines(chunk: bytes, lines: _LineCount, survey: _Survey, seek_utf8: bool) -> None:
    """Look at a chunk's lines one by one: the sample, and the first UTF-8 line."""
    for text in chunk.splitlines(keepends=True):
        if not text.isascii():
            if survey.sampled < _SAMPLE:
                survey.sample.append((lines.line, text[:_SAMPLE]))
                survey.sampled += len(text)
            if seek_utf8 and _UTF8_SEQUENCE.search(text):
                try:
                    text.decode("utf-8")
                except UnicodeDecodeError:
                    pass
                else:
                    survey.utf8_line = lines.line
                    seek_utf8 = False
            if not seek_utf8 and survey.sampled >= _SAMPLE:
                return
        lines.add(text)


_SHIFT_JIS_LEADS = re.compile(
    "[\u201a\u201e\u2026\u2020\u2021\u02c6\u2030\u2039\u2018\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u203a]"
)
"""The marks Windows-1252 gives bytes 0x82-0x9F: curly quotes (not the apostrophe U+2019),
dashes, the ellipsis, daggers, the circumflex and tilde modifiers, per mille, bullet, trade mark
and single guillemets. Shift-JIS uses those bytes to begin most kanji and kana."""

_NON_ASCII_RUN = re.compile(
    "[^\x00-\x7f\u00a0\u00ab\u00b7\u00bb\u2013\u2014\u2018\u2019\u201a\u201c\u201d\u201e"
    "\u2022\u2026\u2039\u203a]{4,}"
)
"""Four non-ASCII characters in a row, not counting the no-break space, dashes, quotes,
guillemets, the ellipsis, the bullet and the middle dot, which stand between Western words:
Western words hold three at most (``Ñúñez``), while GBK, EUC-KR and the code pages of other
alphabets (Cyrillic, Greek, Arabic, Thai) give a run for nearly every word."""

_JAPANESE_WORD = re.compile(
    r"(?<![A-Za-z\x80-\U0010ffff])[^\x00-\x7f]{2,}(?![A-Za-z\x80-\U0010ffff])"
)
"""A whole run of two or more non-ASCII characters in a line's Shift-JIS reading, not joined
to Latin letters: a Japanese word. Western accented letters are Shift-JIS lead bytes too, so
``Ventas—Málaga`` reads as two characters, but inside a Latin word."""


def _foreign(line: bytes) -> bool:
    """Whether a line read as Windows-1252 looks like another encoding's bytes.

    Either it decodes as Shift-JIS (cp932) into a word of two or more Japanese characters and
    its Windows-1252 reading holds one of the marks whose bytes begin Shift-JIS characters (as
    Shift-JIS ``山田太郎`` does; ``Anne-Marie`` joined by an en dash decodes too, but as one
    character between letters); or its reading holds four non-ASCII characters in a row
    (``ÍõÐ¡Ã÷`` is GBK ``王小明``).
    """
    text = line.decode("cp1252")
    if _SHIFT_JIS_LEADS.search(text):
        try:
            japanese = line.decode("cp932")
        except UnicodeDecodeError:
            pass
        else:
            if _JAPANESE_WORD.search(japanese):
                return True
    return _NON_ASCII_RUN.search(text) is not None


def _best_guess(sample: bytes) -> str:
    """Charset-normalizer's guess for the sample, for a message (never used to read a file)."""
    import charset_normalizer  # only for a file that is not UTF-8: slow to import

    best = charset_normalizer.from_bytes(sample).best()
    return (
        "" if best is None else f" (charset-normalizer's guess: {best.encoding}, {best.language})"
    )


def _read_as_western(line: bytes) -> str:
    """How a line reads as Windows-1252, for a message (its first 80 characters)."""
    return f"read as Windows-1252 (Western) it gives {line.decode('cp1252').strip()[:80]!r}"


def _untold(why: str, line: int, sample: bytes) -> ValidationError:
    """The error for a file whose encoding cannot be told, naming ``line`` and saying ``why``."""
    return ValidationError(
        f"the file's text encoding cannot be told: it is not UTF-8, and {why}"
        f"{_best_guess(sample)}; name the file's encoding ('cp1252' if that is how it should "
        "read), or save it as 'CSV UTF-8', and import it again",
        field="encoding",
        line=line,
    )


def _western(stream: BinaryIO, not_utf8: int) -> str:
    """Return ``cp1252`` for a file that is not UTF-8, when it reads as Western text.

    Args:
        stream: the file.
        not_utf8: the first line that is not UTF-8.

    Raises:
        ValidationError: the file mixes UTF-8 lines with others; or it holds a byte that
            Windows-1252 does not define; or half or more of its first 64 KiB of non-ASCII
            lines, read as Windows-1252, look like another encoding's bytes
            (:func:`_foreign`); or a line holds a symbol where a letter belongs
            (:data:`_MISREAD`, a Central European or Latin-9 file). Each names a line.
    """
    survey = _survey(stream)
    if survey.utf8_line is not None:
        raise ValidationError(
            f"the file mixes text encodings: line {survey.utf8_line} is UTF-8 but line "
            f"{not_utf8} is not; save the whole file as 'CSV UTF-8' and import it again",
            field="encoding",
            line=not_utf8,
        )
    sample = b"".join(text for _, text in survey.sample)
    if survey.undefined is not None:
        line, byte = survey.undefined
        raise _untold(f"byte 0x{byte:02x} is no Windows-1252 character", line, sample)
    foreign = [(line, text) for line, text in survey.sample if _foreign(text)]
    if foreign and 2 * len(foreign) >= len(survey.sample):
        line, text = foreign[0]
        raise _untold(
            f"{_read_as_western(text)}, which looks like another encoding's bytes", line, sample
        )
    if survey.misread is not None:
        line, text = survey.misread
        raise _untold(
            f"{_read_as_western(text)}, a symbol where a letter belongs, as Central European "
            "(cp1250, iso-8859-2) or Latin-9 (iso-8859-15) letters read as Western do",
            line,
            sample,
        )
    return "cp1252"


def _without_bom(head: bytes) -> str:
    """Say what a file holding NUL bytes and no byte-order mark looks like (never guessed)."""
    sample = head[: 4096 - 4096 % 4]
    quarter = len(sample) // 4 or 1
    nuls = [sample[k::4].count(0) / quarter for k in range(4)]  # share of NULs at offset k mod 4
    patterns = {
        "UTF-32-LE": (0, 1, 1, 1),
        "UTF-32-BE": (1, 1, 1, 0),
        "UTF-16-LE": (0, 1, 0, 1),
        "UTF-16-BE": (1, 0, 1, 0),
    }
    for name, pattern in patterns.items():
        if all((share > 0.5) == bool(nul) for share, nul in zip(nuls, pattern, strict=True)):
            return (
                f"it looks like {name}; name its encoding ({name.lower()!r}), or save it as "
                "'CSV UTF-8' (or Excel's 'Unicode text', which writes the mark), and import it "
                "again"
            )
    return (
        "no text CSV file holds NUL bytes: if it is UTF-16 or UTF-32 without a byte-order "
        "mark, name its encoding, or save it as 'CSV UTF-8', and import it again"
    )


def _refuse_nul(head: bytes) -> None:
    """Raise when the head of a file without a byte-order mark holds a NUL byte.

    Raises:
        ValidationError: ``field="encoding"``, naming the line of the first NUL.
    """
    if b"\x00" in head and not any(head.startswith(bom) for bom, _, _ in _BOMS):
        line = _LineCount()
        line.add(head[: head.index(b"\x00")])
        raise ValidationError(
            f"the file holds NUL bytes and no byte-order mark: {_without_bom(head)}",
            field="encoding",
            line=line.line,
        )


def detect_encoding(stream: BinaryIO) -> str:
    """Decide a seekable binary stream's encoding, and check that every byte decodes.

    The order is the module docstring's: a byte-order mark; else strict UTF-8; else Windows-1252
    when it reads as Western text. The whole stream is read (a chunk or a line at a time:
    memory stays flat), so a file that does not decode is refused before anything is stored.

    Returns:
        A Python codec name: ``utf-8-sig``, ``utf-16``, ``utf-32``, ``utf-8`` or ``cp1252``.

    Raises:
        ValidationError: ``field="encoding"``, naming the line where one can be named: bytes
            after a byte-order mark that its encoding cannot read; NUL bytes without a mark
            (UTF-16 or UTF-32 without one: name the encoding); UTF-8 lines mixed with others;
            or text that is neither UTF-8 nor Western Windows-1252 (name the encoding).
    """
    stream.seek(0)
    head = stream.read(_HEAD)
    for bom, name, described in _BOMS:
        if head.startswith(bom):
            lead = (
                f"the file starts with a {described} byte-order mark but is not valid {described}"
            )
            _check_decodes(stream, name, lead)
            return name
    _refuse_nul(head)
    if (not_utf8 := _decode_error(stream, "utf-8")) is None:
        return "utf-8"
    return _western(stream, not_utf8[0])


def _check_named(stream: BinaryIO, codec: str, encoding: str) -> None:
    """Check that the encoding the caller named reads every byte of the file.

    Raises:
        ValidationError: ``field="encoding"``: ``utf-16`` or ``utf-32`` (which need a
            byte-order mark) on a file without one; or the line of the first byte the
            encoding cannot read.
    """
    if codec in ("utf-16", "utf-32"):
        stream.seek(0)
        head = stream.read(4)
        marks = [bom for bom, name, _ in _BOMS if name == codec]
        if not any(head.startswith(bom) for bom in marks):
            raise ValidationError(
                f"{encoding!r} reads a file that starts with a byte-order mark, and this one "
                f"does not: name {codec + '-le'!r} or {codec + '-be'!r}",
                field="encoding",
                line=1,
                value=encoding,
            )
    _check_decodes(stream, encoding, f"the file is not valid {encoding}")


MAX_STREAM_BYTES = 1 << 30
"""The most bytes read from a source that is not a regular file (1 GiB): a pipe, a character
device such as ``/dev/zero``, a socket, an upload stream. Such a source is copied to a temporary
file before it is read, and may never end; a regular file's size is known, so it has no limit
here. A learnprog decision (issue 17): ``learnprog invite-roster /dev/zero`` ran forever."""


def _is_regular(handle: object) -> bool | None:
    """Whether an open file is a regular file (not a pipe, device or socket).

    ``None`` when it is no file of the operating system (a ``BytesIO``, an upload stream).
    """
    fileno = getattr(handle, "fileno", None)
    if fileno is None:
        return None
    try:
        return stat.S_ISREG(os.fstat(fileno()).st_mode)
    except (OSError, ValueError):  # io.UnsupportedOperation: a BytesIO, an upload stream
        return None


def _spool(source: BinaryIO, name: str, *, check_nul: bool) -> BinaryIO:
    """Copy a source that is not a regular file to a temporary file, at most a bounded size.

    Memory up to 8 MB, then disk. A NUL byte in the first 64 KiB without a byte-order mark is
    refused as soon as that much is read (``/dev/zero`` stops at once), unless the caller named
    the encoding.

    Raises:
        ValidationError: ``field="file"``: more than :data:`MAX_STREAM_BYTES`, naming the
            source and the line the limit was reached on; or ``field="encoding"``: NUL bytes
            without a byte-order mark (see :func:`detect_encoding`).
    """
    spool = tempfile.SpooledTemporaryFile(max_size=8 << 20)  # noqa: SIM115 - the caller closes
    try:
        lines = _LineCount()
        total = 0
        head = b""
        while chunk := source.read(min(_CHUNK, MAX_STREAM_BYTES + 1 - total)):
            if len(head) < _HEAD:
                head += chunk[: _HEAD - len(head)]
                if check_nul and len(head) >= _HEAD:
                    _refuse_nul(head)
            total += len(chunk)
            if total > MAX_STREAM_BYTES:
                lines.add(chunk[: len(chunk) - (total - MAX_STREAM_BYTES)])
                raise ValidationError(
                    f"{name} is not a regular file (a pipe, a device or a stream) and gives "
                    f"more than {MAX_STREAM_BYTES:,} bytes, the most learnprog reads from one; "
                    "save it to a file and import that",
                    field="file",
                    line=lines.line,
                    value=name,
                )
            lines.add(chunk)
            spool.write(chunk)
        if check_nul:
            _refuse_nul(head)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return spool  # type: ignore[return-value]


@contextmanager
def _seekable(source: CsvSource, *, check_nul: bool = True) -> Iterator[BinaryIO]:
    """Give a source as a seekable binary stream; one that is no regular file is spooled.

    Raises:
        ValidationError: the path cannot be opened (``field="file"``), or a source that is not
            a regular file gives more than :data:`MAX_STREAM_BYTES` (see :func:`_spool`).
    """
    if isinstance(source, bytes):
        yield io.BytesIO(source)
    elif isinstance(source, str | os.PathLike):
        try:
            handle = Path(source).open("rb")  # noqa: SIM115 - closed by the with below
        except OSError as exc:
            raise ValidationError(f"cannot open {source}: {exc.strerror}", field="file") from exc
        with handle:
            if _is_regular(handle):
                yield handle
            else:  # a FIFO, /dev/stdin, /dev/zero: it may not seek, and may never end
                with _spool(handle, repr(os.fsdecode(source)), check_nul=check_nul) as spool:
                    yield spool
    elif hasattr(source, "read"):
        if getattr(source, "seekable", lambda: False)() and _is_regular(source) is not False:
            # a regular file, or a seekable stream in memory (BytesIO): its end is known
            start = source.tell()
            yield source
            source.seek(start)
        else:  # a pipe or upload stream: spool it (to disk past 8 MB), bounded
            name = getattr(source, "name", None)
            shown = repr(os.fsdecode(name)) if isinstance(name, str | bytes) else "the stream"
            with _spool(source, shown, check_nul=check_nul) as spool:
                yield spool
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
        encoding: the file's encoding (a Python codec name), when the caller knows it;
            else it is decided from the bytes (see the module docstring).
        optional: headers read into ``values`` when present ("" when absent); any other
            column goes to ``extra``.
        require_any: at least one of these headers must be present.

    The file is read before the first record is given: its encoding is decided, every byte
    checked to decode and every record to parse, so a file that does not is refused before
    anything is stored. A source that is not a regular file (a pipe, a device, a binary file
    object that cannot seek) is copied to a temporary file first (in memory up to 8 MB, then
    on disk), at most :data:`MAX_STREAM_BYTES` bytes.

    Raises:
        ValidationError: the file cannot be opened, or is not a regular file and gives more
            than :data:`MAX_STREAM_BYTES` bytes (``field="file"``, naming it and the line
            reached); or its encoding is unknown, not a text
            encoding, cannot be told, or does not read every byte (``field="encoding"``,
            naming the line); or it is empty, or lacks required headers (one error naming every
            missing column, ``field="header"``, ``line=1``); or a header cell or a record
            cannot be parsed: a field longer than the csv module's limit (131,072 characters;
            learnprog never changes it), naming line 1 for the header, or a quoted field never
            closed, naming the line it starts on.
    """
    with _seekable(source, check_nul=encoding is None) as stream:
        if encoding is not None:
            try:
                codec = codecs.lookup(encoding)
            except (LookupError, ValueError) as exc:  # ValueError: a NUL in the name
                raise ValidationError(f"unknown encoding {encoding!r}", field="encoding") from exc
            if not codec._is_text_encoding:  # rot13, base64, zlib: not a text file's encoding
                raise ValidationError(
                    f"{encoding!r} is not a text encoding", field="encoding", value=encoding
                )
            _check_named(stream, codec.name, encoding)
        chosen = encoding or detect_encoding(stream)
        stream.seek(0)
        text = io.TextIOWrapper(stream, encoding=chosen, newline="")
        try:
            first, header_lines = _read_header(text)
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
            for _ in _parsed(text, delimiter, header_lines):  # every record reads, or raise
                pass
        finally:
            text.detach()
        stream.seek(0)
        text = io.TextIOWrapper(stream, encoding=chosen, newline="")
        try:
            _read_header(text)
            yield _records(text, headers, wanted, delimiter, header_lines)
        finally:
            text.detach()


def _read_header(text: io.TextIOWrapper) -> tuple[str, int]:
    """Read the header: its text and the number of lines it takes (a quoted cell may break).

    The header is read at most :func:`csv.field_size_limit` characters (131,072 unless the
    host changed it), its line breaks included: a header is a few dozen names. Unbounded, an
    unclosed quote made the whole file one header, held in memory and read in time growing
    with the square of its lines (each line added counted the quotes of all before it).

    Raises:
        ValidationError: ``field="header"``, line 1: a longer header (a quote in it never
            closed, or no line break at all).
    """
    limit = csv.field_size_limit()
    parts = [text.readline(limit + 1).removeprefix("\ufeff")]  # a mark the encoding kept
    size, quotes, header_lines = len(parts[0]), parts[0].count('"'), 1
    while quotes % 2 and size <= limit:  # a quoted header cell holding a line break
        more = text.readline(limit + 1 - size)
        if not more:
            break
        parts.append(more)
        size, quotes, header_lines = size + len(more), quotes + more.count('"'), header_lines + 1
    if size > limit:
        raise ValidationError(
            f"the header line cannot be read as CSV: it is longer than {limit:,} characters "
            "(a quote in it never closed, or no line break); a header may hold at most "
            f"{limit:,} characters",
            field="header",
            line=1,
        )
    return "".join(parts), header_lines


def _pick_delimiter(first: str, wanted: dict[str, str]) -> tuple[str, list[str]]:
    """Pick the delimiter that reads the most wanted headers from the header line.

    Raises:
        ValidationError: the csv module cannot read the header (a header cell longer than
            :func:`csv.field_size_limit`), naming line 1, ``field="header"``; never
            ``csv.Error``.
    """
    best: tuple[int, str, list[str]] = (-1, ",", [])
    for delimiter in _DELIMITERS:
        try:
            headers = next(csv.reader(io.StringIO(first, newline=""), delimiter=delimiter), [])
        except csv.Error as exc:  # "field larger than field limit (131072)"
            raise ValidationError(
                f"the header line cannot be read as CSV: {exc}; a header may hold at most "
                f"{csv.field_size_limit():,} characters",
                field="header",
                line=1,
            ) from exc
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


def _parsed(
    text: io.TextIOWrapper, delimiter: str, header_lines: int
) -> Iterator[tuple[int, list[str]]]:
    """Give each record after the header with the line it starts on.

    Raises:
        ValidationError: naming the line, for a record the csv module cannot read (a field
            longer than its limit, :func:`csv.field_size_limit`, 131,072 characters unless the
            host changed it), or a quoted field never closed.
    """
    lines = _Lines(text)
    reader = csv.reader(lines, delimiter=delimiter, strict=False)
    line = header_lines + 1  # the header came first (read before the reader started)
    while True:
        start = line
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # "field larger than field limit (131072)"
            raise ValidationError(
                f"the line cannot be read as CSV: {exc}; a field may hold at most "
                f"{csv.field_size_limit():,} characters",
                line=start,
            ) from exc
        if lines.ended:  # the reader ran out of file inside a quoted field
            raise ValidationError(
                "a quoted field is not closed: every line after it up to the end of the file "
                "was read into it; close the quote (a quote inside a quoted field is written "
                "twice) or save the file again",
                line=start,
            )
        line = reader.line_num + header_lines + 1  # the reader counts from after the header
        yield start, record


def _records(
    text: io.TextIOWrapper,
    headers: list[str],
    wanted: dict[str, str],
    delimiter: str,
    header_lines: int = 1,
) -> Iterator[CsvRow]:
    # per column: the wanted name it fills, or None and the extra column's name (spaces
    # collapsed); worked out once, not per record
    columns = [(wanted.get(normalize_header(h)), " ".join(h.split())) for h in headers]
    empty = dict.fromkeys(wanted.values(), "")
    for start, record in _parsed(text, delimiter, header_lines):
        if not "".join(record).strip():  # every field blank: not a record
            continue
        values = empty.copy()
        extra: dict[str, str] = {}
        for (target, name), field in zip(columns, record, strict=False):
            cell = field.strip()
            if cell[:1] == "'":
                cell = unprotect(cell)
            if target is not None:
                values[target] = cell
            else:
                extra[name] = cell
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
