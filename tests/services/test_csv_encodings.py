"""Files whose encoding is wrong, mixed or cannot be told are refused before anything is stored.

The files are the adversarial findings' own (José Ñúñez in UTF-8 beside Windows-1252 lines,
Shift-JIS 山田太郎, ``A\\x81b``, a byte-order mark followed by bad bytes 600 rows down, UTF-16
and UTF-32 without their mark), each run through a bulk invitation on every backend: the run
is refused with a :class:`ValidationError` naming the line, and nothing is stored.
"""

from __future__ import annotations

import codecs
import io
import tracemalloc
from pathlib import Path

import pytest

import learnprog
from learnprog.clock import FixedClock
from learnprog.csvfiles import detect_encoding, read_csv
from learnprog.errors import ValidationError
from learnprog.services.roster import RowResult
from tests.conftest import START, UowFactory
from tests.services.world import World

HEADER = "Full Name,Email,External ID\n"


def rows(count: int, start: int = 0) -> str:
    return "".join(f"N{i},u{i}@acme.example,{i:05d}\n" for i in range(start, start + count))


class Roster(World):
    def bulk(self, data: bytes | Path | io.RawIOBase, **kwargs: object) -> list[RowResult]:
        with self.lp.invitations.bulk_invite(
            self.admin,
            self.program.id,
            self.contract.id,
            data,  # type: ignore[arg-type]
            **kwargs,  # type: ignore[arg-type]
        ) as run:
            return list(run)

    def names(self) -> list[str]:
        return sorted(
            learner.full_name
            for learner, _ in self.lp.invitations.members(self.admin, self.program.id)
        )

    def refused(self, data: bytes | Path | io.RawIOBase, **kwargs: object) -> ValidationError:
        """Run the file in chunks of 100; it must be refused with nothing stored."""
        with pytest.raises(ValidationError) as caught:
            self.bulk(data, chunk_size=100, **kwargs)
        assert caught.value.field == "encoding"
        assert self.names() == []
        return caught.value


@pytest.fixture
def roster(uow_factory: UowFactory) -> Roster:
    """A program with room for 1,000 learners, on every backend."""
    lp = learnprog.connect(
        uow_factory=uow_factory,
        clock=FixedClock(START),
        settings=learnprog.Settings(secret_key="test-secret-test-secret"),
    )
    return Roster(lp, licenses=1000)


def test_utf8_lines_beside_windows_1252_lines_are_refused_as_mixed(roster: Roster) -> None:
    data = (HEADER + "José Ñúñez,j@acme.example,\n").encode() + (
        "Renée Müller,r@acme.example,\n".encode("cp1252")
    )
    error = roster.refused(data)
    assert error.line == 3
    assert "mixes text encodings: line 2 is UTF-8 but line 3 is not" in str(error)


def test_a_mixed_file_is_refused_wherever_its_utf8_line_is(roster: Roster) -> None:
    data = (HEADER + rows(700)).encode("cp1252") + "Zoë,z@acme.example,\n".encode("cp1252")
    data += (rows(300, 1000) + "José Ñúñez,j@acme.example,\n").encode()
    error = roster.refused(data)
    assert (error.line, "line 1003 is UTF-8 but line 702 is not" in str(error)) == (702, True)


def test_shift_jis_is_not_stored_as_windows_1252_garbage(roster: Roster) -> None:
    data = (HEADER + "山田太郎,y@acme.example,\n").encode("shift_jis")
    error = roster.refused(data)
    assert error.line == 2
    garbled = "'\u017dR\u201cc\u2018\u00be\u02dcY,y@acme.example,'"  # as cp1252 reads it
    assert f"{garbled}, which looks like another encoding's bytes" in str(error)
    assert "name the file's encoding" in str(error)
    assert [r.outcome for r in roster.bulk(data, encoding="shift_jis")] == ["created"]
    assert roster.names() == ["山田太郎"]


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("王小明", "gb18030"),
        ("김민준", "euc-kr"),
        ("Иван Петров", "cp1251"),
        ("Γιάννης", "cp1253"),
        ("鈴木一郎", "shift_jis"),
        ("やまだ", "shift_jis"),
    ],
)
def test_other_legacy_encodings_are_refused_until_named(
    roster: Roster, text: str, encoding: str
) -> None:
    data = (HEADER + f"{text},a@acme.example,\n").encode(encoding)
    assert roster.refused(data).line == 2
    assert [r.outcome for r in roster.bulk(data, encoding=encoding)] == ["created"]
    assert roster.names() == [text]


def test_a_byte_windows_1252_leaves_undefined_is_refused(roster: Roster) -> None:
    error = roster.refused(b"Full Name,Email,External ID\nA\x81b,a@acme.example,\n")
    assert error.line == 2
    assert "byte 0x81 is no Windows-1252 character" in str(error)


@pytest.mark.parametrize(
    "names",
    [
        ["Stéphane Dupont"],
        ["Renée Müller", "Jürgen Groß"],
        ["Ørsted Æbeltoft", "Åsa Öberg", "Björk Guðmundsdóttir"],
        ["José Ñúñez", "María Peña"],
        ["“Bob” O’Neil – CEO", "Café €5"],  # noqa: RUF001 - typographic marks on purpose
        ["JOSÉ ÑÚÑEZ", "Ñúñez", "CONCEIÇÃO", "São Paulo", "Ångström", "Þóríður"],
        ["25 °C"],
        ["€100"],
        ["Jean\u2013Pierre", "Zoë", "Brontë", "Noël"],  # one odd line (an en dash) of four
        ["Anne\u2013Marie Dupont", "René"],  # an en dash joined to letters, one line of two
        ["José\u00a0Ñúñez", "Ana\u00a0Müller"],  # a no-break space before accented letters
        ["Col·lecció Puig", "«Lulu» Ébrard", "O´Neil Zoë"],  # noqa: RUF001 - on purpose
        ["Acme® Ltd", "¡Olé Peña!", "25 m² Öberg", "½ Gruyère"],
        # units, currencies and footnotes after a word (a symbol rule must not take them)
        ["Salary (£k) Dupont", "Office m³ Müller", "Pérez¹", "C³ Consulting", "JP¥ Zoë"],
        ["Acme®Pro Zoë", "Hola¡ Peña", "©Acme Ébrard", "CN¥200 Noël"],
        # dashes and bullets joined to words: accented letters are Shift-JIS lead bytes too
        [
            "Ventas\u2014Málaga",
            "Sales\u2014Köln",
            "Directeur général\u2014Europe",
            "\u2022Técnico",
            "\u2022généticien",
        ],
    ],
    ids=[
        "french",
        "german",
        "nordic",
        "spanish",
        "typography",
        "capitals",
        "degrees",
        "euro",
        "odd",
        "joined-dash",
        "no-break-space",
        "catalan-quotes",
        "symbols",
        "units",
        "brands",
        "joined-em-dashes",
    ],
)
def test_western_text_in_windows_1252_is_read(roster: Roster, names: list[str]) -> None:
    lines = "".join(f"{name},p{i}@acme.example,\n" for i, name in enumerate(names))
    results = roster.bulk((HEADER + lines).encode("cp1252"))
    assert [r.outcome for r in results] == ["created"] * len(names)
    assert roster.names() == sorted(" ".join(name.split()) for name in names)  # spaces collapse


@pytest.mark.parametrize(
    ("names", "encoding", "shown"),
    [
        (["Stéphane Dupont", "Jürgen Groß", "Łukasz Nowak"], "cp1250", "£ukasz Nowak"),
        (["Paweł Dąbrowski"], "cp1250", "Pawe³ D¹browski"),
        (["Renée Müller", "Małgorzata Żak"], "iso-8859-2", "Ma³gorzata ¯ak"),
        (["Zoë", "Šárka Dupont"], "iso-8859-15", "¦árka Dupont"),
        (["Zoë", "Brontë", "Ma Cœur"], "iso-8859-15", "Ma C½ur"),
    ],
    ids=["polish-cp1250", "polish-two", "iso-8859-2", "latin-9", "latin-9-oe"],
)
def test_central_european_and_latin9_files_are_refused_until_named(
    roster: Roster, names: list[str], encoding: str, shown: str
) -> None:
    data = (HEADER + "".join(f"{n},p{i}@acme.example,\n" for i, n in enumerate(names))).encode(
        encoding
    )
    error = roster.refused(data)
    assert error.line == len(names) + 1
    shown_line = f"{shown},p{len(names) - 1}@acme.example,"
    assert f"it gives '{shown_line}', a symbol where a letter belongs" in str(error)
    assert [r.outcome for r in roster.bulk(data, encoding=encoding)] == ["created"] * len(names)
    assert roster.names() == sorted(names)


def test_a_central_european_line_far_past_the_sample_is_refused(roster: Roster) -> None:
    data = (HEADER + "".join(f"Zoë {i},p{i}@acme.example,\n" for i in range(4000))).encode("cp1250")
    assert len(data) > 65536  # past the sample of the first 64 KiB
    error = roster.refused(data + "Paweł,pawel@acme.example,\n".encode("cp1250"))
    assert error.line == 4002


def test_a_byte_order_mark_then_bad_bytes_600_rows_down_stores_nothing(roster: Roster) -> None:
    data = codecs.BOM_UTF8 + (HEADER + rows(600)).encode()
    data += b"Bad\xff,bad@acme.example,\n" + rows(3, 1000).encode()
    error = roster.refused(data)
    assert error.line == 602
    assert "starts with a UTF-8 byte-order mark but is not valid UTF-8" in str(error)
    assert "invalid start byte (0xff)" in str(error)

    data = codecs.BOM_UTF16_LE + (HEADER + rows(600)).encode("utf-16-le")
    data += b"\x00\xd8" + rows(3, 1000).encode("utf-16-le")
    error = roster.refused(data)
    assert error.line == 602
    assert "not valid UTF-16" in str(error)


def test_a_utf16_mark_before_a_windows_1252_body_names_the_line(roster: Roster) -> None:
    data = codecs.BOM_UTF16_LE + (HEADER + "A,a@acme.example,\n").encode("utf-16-le")
    data += "René,r@acme.example,\n".encode("cp1252")
    assert roster.refused(data).line == 3


def test_a_named_encoding_that_fails_late_stores_nothing(roster: Roster) -> None:
    data = (HEADER + rows(250)).encode() + "Renée,r@acme.example,\n".encode("cp1252")
    error = roster.refused(data, encoding="utf-8")
    assert error.line == 252
    assert "the file is not valid utf-8" in str(error)


def test_utf16_named_for_a_file_without_its_mark_says_which_to_name(roster: Roster) -> None:
    data = (HEADER + "Ana,al@acme.example,\n").encode("utf-16-le")
    error = roster.refused(data, encoding="utf-16")
    assert "name 'utf-16-le' or 'utf-16-be'" in str(error)
    assert [r.outcome for r in roster.bulk(data, encoding="utf-16-le")] == ["created"]


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_utf16_and_utf32_without_a_mark_are_refused_saying_so(roster: Roster, codec: str) -> None:
    data = (HEADER + "Ana,al@acme.example,\n").encode(codec)
    error = roster.refused(data)
    assert f"NUL bytes and no byte-order mark: it looks like {codec.upper()}" in str(error)
    assert f"name its encoding ({codec!r})" in str(error)
    assert "\x00" not in str(error)
    assert [r.outcome for r in roster.bulk(data, encoding=codec)] == ["created"]


@pytest.mark.parametrize("codec", ["utf-32", "utf-32-be", "utf-16", "utf-8-sig"])
def test_files_with_a_byte_order_mark_are_read(roster: Roster, codec: str) -> None:
    data = (HEADER + "Ana Lima,al@acme.example,00123\n").encode(codec)
    if codec == "utf-32-be":
        data = codecs.BOM_UTF32_BE + data
    assert [r.outcome for r in roster.bulk(data)] == ["created"]
    assert roster.names() == ["Ana Lima"]


def test_a_nul_byte_in_a_utf8_file_is_refused_naming_its_line(roster: Roster) -> None:
    error = roster.refused((HEADER + "Ana,al@acme.example,\nB\x00o,bo@acme.example,\n").encode())
    assert error.line == 3
    assert "no text CSV file holds NUL bytes" in str(error)


class _Pipe(io.RawIOBase):
    """A binary stream that cannot seek, as a pipe or an upload."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_a_stream_that_cannot_seek_is_checked_whole_before_anything_is_stored(
    roster: Roster,
) -> None:
    bad = codecs.BOM_UTF8 + (HEADER + rows(250)).encode() + b"Bad\xff,bad@acme.example,\n"
    assert roster.refused(_Pipe(bad)).line == 252
    good = (HEADER + "Stéphane,s@acme.example,\n").encode("cp1252")
    assert [r.outcome for r in roster.bulk(_Pipe(good))] == ["created"]
    assert roster.names() == ["Stéphane"]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_the_line_named_is_the_readers_line_whatever_the_line_breaks(newline: str) -> None:
    text = HEADER + rows(5) + 'Quoted,"two\nlines",\n' + rows(2, 10)
    data = text.replace("\n", newline).encode() + b"Bad\xff,b@acme.example,\n"
    with pytest.raises(ValidationError) as caught:
        detect_encoding(io.BytesIO(codecs.BOM_UTF8 + data))
    assert caught.value.line == 11
    # the reader itself counts lines the same way (a quoted line break is a line)
    with read_csv(data.replace(b"\xff", b"y"), ["Full Name"]) as records:
        assert [r.line for r in records][-3:] == [9, 10, 11]


@pytest.mark.parametrize(
    ("mark", "tail", "line"),
    [
        (b"", "Zoë,z@acme.example,\n".encode("cp1252"), None),  # UTF-8 fails at the end
        (codecs.BOM_UTF8, b"Bad\xff,bad@acme.example,\n", 100_002),
    ],
    ids=["cp1252-at-the-end", "bad-byte-after-a-mark"],
)
def test_checking_a_100000_row_file_keeps_memory_flat(
    tmp_path: Path, mark: bytes, tail: bytes, line: int | None
) -> None:
    """A path is read twice, a chunk at a time: peak memory is a few chunks, not the file."""
    path = tmp_path / "big.csv"
    with path.open("wb") as handle:
        handle.write(mark + HEADER.encode())
        for start in range(0, 100_000, 10_000):
            handle.write(rows(10_000, start).replace(",u", " Lima-Andrade-Oliveira,u").encode())
        handle.write(tail)
    assert path.stat().st_size > 5_000_000
    tracemalloc.start()
    try:
        with path.open("rb") as stream:
            if line is None:
                assert detect_encoding(stream) == "cp1252"
            else:
                with pytest.raises(ValidationError) as caught:
                    detect_encoding(stream)
                assert caught.value.line == line
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000
