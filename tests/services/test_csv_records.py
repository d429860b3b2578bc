"""Records the csv module cannot read are refused before anything is stored, naming their line.

A field past :func:`csv.field_size_limit` (131,072 characters) or a quote never closed, on line
2 or 10,000 lines down, refuses the whole file before its first chunk is stored, on every
backend; the host process's limit is left as it was.
"""

from __future__ import annotations

import csv

import pytest

from learnprog.csvfiles import read_csv
from learnprog.errors import ValidationError
from tests.services.test_csv_encodings import HEADER, Roster, roster, rows

__all__ = ["roster"]  # the fixture, shared with the encoding tests


@pytest.mark.parametrize("quoted", [False, True])
def test_a_field_past_the_limit_deep_in_the_file_stores_nothing(
    roster: Roster, quoted: bool
) -> None:
    huge = "C" * 200_000
    if quoted:
        huge = f'"{huge[:100_000]}\n{huge[100_000:]}"'  # a quoted field over two lines
    data = (HEADER + rows(600) + f"{huge},c@acme.example,\n" + rows(3, 1000)).encode()
    limit = csv.field_size_limit()
    with pytest.raises(ValidationError) as caught:
        roster.bulk(data, chunk_size=100)
    assert caught.value.line == 602
    assert "field larger than field limit (131072)" in str(caught.value)
    assert "at most 131,072 characters" in str(caught.value)
    assert roster.names() == []  # the six chunks before it were not stored either
    assert csv.field_size_limit() == limit


def test_a_field_at_the_limit_is_read_and_rejected_alone(roster: Roster) -> None:
    data = (HEADER + f"{'N' * 131_072},n@acme.example,\nOk,ok@acme.example,\n").encode()
    results = roster.bulk(data)
    assert [(r.line, r.outcome, r.reason) for r in results] == [
        (2, "rejected", "full_name: at most 200 characters"),  # the model's own length rule
        (3, "created", None),
    ]
    assert roster.names() == ["Ok"]


def test_a_quote_never_closed_deep_in_the_file_stores_nothing(roster: Roster) -> None:
    data = (HEADER + rows(600) + 'Bo,"bo@acme.example,\n' + rows(3, 1000)).encode()
    with pytest.raises(ValidationError, match="quoted field is not closed") as caught:
        roster.bulk(data, chunk_size=100)
    assert caught.value.line == 602
    assert roster.names() == []


def test_records_are_parsed_once_before_they_are_given() -> None:
    data = (HEADER + rows(2) + "C" * 200_000 + ",c@acme.example,\n").encode()
    with pytest.raises(ValidationError) as caught, read_csv(data, ["Full Name"]):
        raise AssertionError("not reached: the file is refused on opening")  # pragma: no cover
    assert caught.value.line == 4
    with read_csv((HEADER + rows(2)).encode(), ["Full Name"]) as records:
        assert [(r.line, r.values["Full Name"]) for r in records] == [(2, "N0"), (3, "N1")]


@pytest.mark.parametrize(
    "header",
    [
        "Full Name,Email,External ID," + "H" * 200_000,  # a header cell past the limit
        '"' + "H" * 200_000 + '\nmore",Full Name,Email,External ID',  # quoted, over two lines
        "Full Name;Email;External ID;" + "H" * 200_000,  # whichever delimiter is tried
    ],
)
def test_a_header_past_the_limit_is_a_validation_error_naming_line_1(
    roster: Roster, header: str
) -> None:
    data = (header + "\n" + rows(2)).encode()
    with pytest.raises(ValidationError) as caught:
        roster.bulk(data)
    assert (caught.value.line, caught.value.field) == (1, "header")
    assert "a header may hold at most 131,072 characters" in str(caught.value)
    assert roster.names() == []
    with pytest.raises(ValidationError) as caught, read_csv(data, ["Full Name"]):
        raise AssertionError("not reached: the file is refused on opening")  # pragma: no cover
    assert caught.value.line == 1


def test_records_read_values_extras_and_protected_cells_and_skip_blank_lines() -> None:
    data = (
        b"Full Name, email ,External  ID,Cost   Center\n"
        b" Ana , ana@acme.example ,'-00123,''x\n"
        b"  ,\t, ,\n"  # every field blank: no record
        b"Bo,bo@acme.example,'abc\n"  # short: the missing cells are empty, no extra
        b"Cy,cy@acme.example,7,CC-1,surplus\n"  # a cell past the headers is not read
    )
    with read_csv(data, ["Full Name", "Email"], optional=["External ID"]) as records:
        found = [(r.line, dict(r.values), dict(r.extra)) for r in records]
    assert found == [
        (2, {"Full Name": "Ana", "Email": "ana@acme.example", "External ID": "-00123"},
         {"Cost Center": "'x"}),
        (4, {"Full Name": "Bo", "Email": "bo@acme.example", "External ID": "'abc"}, {}),
        (5, {"Full Name": "Cy", "Email": "cy@acme.example", "External ID": "7"},
         {"Cost Center": "CC-1"}),
    ]  # fmt: skip
