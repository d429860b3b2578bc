"""Input that is not a regular file is read only so far (issue 17).

``learnprog invite-roster /dev/zero`` ran forever: the progress bar counted the lines of a file
that never ends. A pipe (``<(...)``, ``/dev/stdin``) could not be read at all (it cannot seek).
Now such a source is copied to a temporary file up to
:data:`learnprog.csvfiles.MAX_STREAM_BYTES`, NUL bytes stop it at once, and the command line
counts only regular files.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import tracemalloc
from pathlib import Path

import pytest

import learnprog
from learnprog import csvfiles
from learnprog.clock import FixedClock
from learnprog.errors import ValidationError
from tests.conftest import START
from tests.services.test_csv_encodings import HEADER, Roster, rows


@pytest.fixture
def roster() -> Roster:
    lp = learnprog.connect(
        clock=FixedClock(START), settings=learnprog.Settings(secret_key="test-secret-test-secret")
    )
    return Roster(lp, licenses=1000)


def _feed(fifo: Path, data: bytes, *, forever: bool = False) -> threading.Thread:
    """Write ``data`` into a named pipe from a thread (over and over with ``forever``)."""

    def write() -> None:
        try:
            with fifo.open("wb") as pipe:
                pipe.write(data)
                while forever:
                    pipe.write(b"Ana,ana@acme.example,\n" * 4096)
        except BrokenPipeError:  # the reader stopped: what a bounded read does
            pass

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "roster.fifo"
    os.mkfifo(path)
    return path


def test_a_roster_from_a_pipe_is_read(roster: Roster, fifo: Path) -> None:
    feeder = _feed(fifo, (HEADER + rows(3)).encode())
    results = roster.bulk(fifo)
    feeder.join(10)
    assert [r.outcome for r in results] == ["created"] * 3
    assert len(roster.names()) == 3


def test_an_endless_pipe_stops_at_the_limit_naming_the_file_and_line(
    roster: Roster, fifo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csvfiles, "MAX_STREAM_BYTES", 1 << 20)
    feeder = _feed(fifo, HEADER.encode(), forever=True)
    with pytest.raises(ValidationError) as caught:
        roster.bulk(fifo)
    feeder.join(10)
    error = caught.value
    assert error.field == "file"
    assert repr(str(fifo)) in error.reason
    assert "more than 1,048,576 bytes" in error.reason
    per_line = len(b"Ana,ana@acme.example,\n")
    assert error.line == 2 + ((1 << 20) - len(HEADER)) // per_line
    assert roster.names() == []


def test_a_stream_that_cannot_seek_is_bounded_too(
    roster: Roster, fifo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csvfiles, "MAX_STREAM_BYTES", 1 << 20)
    feeder = _feed(fifo, HEADER.encode(), forever=True)
    with (
        open(fifo, "rb", buffering=0) as stream,
        pytest.raises(ValidationError, match="more than") as caught,
    ):
        roster.bulk(stream)
    feeder.join(10)
    assert caught.value.field == "file"
    assert repr(str(fifo)) in caught.value.reason


def test_dev_zero_is_refused_at_once_by_its_nul_bytes(roster: Roster) -> None:
    with pytest.raises(ValidationError, match="NUL bytes") as caught:
        roster.bulk(Path("/dev/zero"))
    assert (caught.value.field, caught.value.line) == ("encoding", 1)
    with (
        open("/dev/zero", "rb", buffering=0) as stream,
        pytest.raises(ValidationError, match="NUL bytes"),
    ):
        roster.bulk(stream)


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``learnprog ARGS`` in a process of its own, killed after 120 s (a hang fails)."""
    return subprocess.run(
        [sys.executable, "-c", "from learnprog.cli import main; main()", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "LEARNPROG_SECRET_KEY": "test-secret-test-secret"},
    )


def test_the_command_line_refuses_endless_files_instead_of_running_forever(
    tmp_path: Path,
) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    init = ("init", "Acme", "--domain", "acme.example", "--admin-name", "Ana",
            "--admin-email", "ana@acme.example")  # fmt: skip
    assert _cli("--db", db, *init, cwd=tmp_path).returncode == 0
    acting = ("--org", "Acme", "--as", "ana@acme.example")
    assert _cli("--db", db, "program", "create", "Academy", *acting, "--slug", "academy",
                cwd=tmp_path).returncode == 0  # fmt: skip
    assert _cli("--db", db, "contract", "create", "Y1", *acting, "--kind", "licenses",
                "--quantity", "10", "--starts-at", "2026-01-01", "--ends-at", "2030-01-01",
                cwd=tmp_path).returncode == 0  # fmt: skip
    done = _cli("--db", db, "invite-roster", "/dev/zero", *acting, "--program", "academy",
                "--contract", "Y1", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.startswith("error: line 1, --encoding: the file holds NUL bytes")
    done = _cli("--db", db, "message", "preview", "inactive", *acting, "--body-file",
                "/dev/zero", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 1
    assert "/dev/zero is longer than 80,000 bytes" in done.stderr


@pytest.mark.parametrize(
    "data",
    [
        b'"Full Name,Email,External Id\n' + b"x\n" * 200_000,  # a quote never closed
        b"Full Name,Email,External Id" + b",x" * 100_000,  # no line break at all
        '\ufeff"Full Name\n'.encode() + "é\n".encode() * 70_000,
    ],
)
def test_a_header_past_the_csv_field_limit_is_refused_naming_line_1(data: bytes) -> None:
    with pytest.raises(ValidationError) as refused, csvfiles.read_csv(data, ["Full Name", "Email"]):
        pass
    assert (refused.value.field, refused.value.line) == ("header", 1)
    assert "a header may hold at most 131,072 characters" in str(refused.value)
    assert len(str(refused.value)) < 300  # not the file echoed back


def test_a_header_with_quoted_line_breaks_up_to_the_limit_still_reads() -> None:
    header = '"Full\nName",Email\n'
    with csvfiles.read_csv(
        (header + "Noa Reis,noa@acme.example\n").encode(), ["Full Name", "Email"]
    ) as rows:
        assert [r.values["Email"] for r in rows] == ["noa@acme.example"]


def test_a_header_without_end_is_refused_without_holding_the_file_in_memory() -> None:
    data = b"Full Name,Email," + b"x" * 20_000_000  # 20 MB, no line break
    tracemalloc.start()
    try:
        with (
            pytest.raises(ValidationError, match="at most 131,072"),
            csvfiles.read_csv(data, ["Full Name", "Email"]),
        ):
            pass
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10_000_000  # the header read as one 20-million-character line: 120 MB
