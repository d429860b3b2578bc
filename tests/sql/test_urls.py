"""Bad database URLs: a typed error naming the part at fault, or the URL works as it means.

Never a raw driver exception (a ``ValueError`` of PyMySQL, an ``AttributeError`` for an
unknown charset), never a stray file (``file::memory:`` made in the working directory), and
never a name cut at a NUL (``test\\0x`` opening ``test``). ``learnprog.connect`` and the
command line's ``--db`` both go through :func:`learnprog.storage.sql.checked_url`.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner

import learnprog
from learnprog.cli import main
from learnprog.errors import ValidationError
from tests.conftest import MARIADB_URL, POSTGRES_URL


def _with(url: str, query: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{query}"


def _connect(url: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no mailer, no secret: not what these tests are about
        with learnprog.connect(url) as lp:
            lp.organizations.list_organizations(learnprog.SystemActor())


BAD = [
    # (URL, words the error must hold)
    (_with(MARIADB_URL, "charset=nosuch"), "charset is 'nosuch'"),
    (_with(MARIADB_URL, "charset=latin1"), "charset is 'latin1': learnprog needs utf8mb4"),
    (_with(MARIADB_URL, "charset=utf8"), "charset is 'utf8'"),  # utf8mb3: no emoji
    (_with(MARIADB_URL, "connect_timeout=-1"), "connect_timeout is '-1'"),
    (_with(MARIADB_URL, "read_timeout=-5"), "read_timeout is '-5'"),
    (_with(MARIADB_URL, "connect_timeout=2.5"), "connect_timeout is '2.5'"),
    (_with(MARIADB_URL, "write_timeout=0"), "write_timeout is '0'"),
    (_with(MARIADB_URL, "unknown_arg=1"), "unexpected keyword argument 'unknown_arg'"),
    (_with(MARIADB_URL, "ssl_ca=/no/such/ca.pem"), "No such file or directory"),
    (MARIADB_URL.replace("/test", "/te\x00st", 1), "database holds a NUL character"),
    (_with(POSTGRES_URL, "connect_timeout=-1"), "connect_timeout is '-1'"),
    (_with(POSTGRES_URL, "connect_timeout=nan"), "connect_timeout is 'nan'"),
    (POSTGRES_URL + "\x00x", "database holds a NUL character"),
    (_with(POSTGRES_URL, "application_name=a%00b"), "query argument 'application_name' holds"),
    ("sqlite:///a\x00b.db", "database holds a NUL character"),
    ("sqlite:///file::memory:?cache=shared", "SQLite storage needs a file"),
    ("sqlite:///file::memory:?cache=shared&uri=true", "SQLite storage needs a file"),
    ("sqlite:///file:x.db?mode=memory&uri=true", "SQLite storage needs a file"),
    ("sqlite:///file:x.db", "add uri=true"),
    ("sqlite:///x.db?cache=shared", "'cache' is not taken by SQLite"),
    ("sqlite:///x.db?timeout=-1", "timeout is '-1'"),
    ("sqlite:///x.db?timeout=soon", "timeout is 'soon'"),
]


@pytest.mark.parametrize(("url", "words"), BAD, ids=[repr(u) for u, _ in BAD])
def test_a_bad_url_is_a_validation_error_naming_the_part_and_makes_no_file(
    url: str, words: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValidationError) as caught:
        _connect(url)
    assert caught.value.field == "url"
    assert words in str(caught.value)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(("url", "words"), BAD, ids=[repr(u) for u, _ in BAD])
def test_a_bad_db_option_is_one_error_line_and_makes_no_file(
    url: str, words: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LEARNPROG_SECRET_KEY", raising=False)
    for command in (["init", "Acme", "--domain", "acme.example", "--admin-name", "Ana",
                     "--admin-email", "ana@acme.example"], ["db", "upgrade"]):  # fmt: skip
        result = CliRunner().invoke(main, ["--db", url, *command])
        assert result.exit_code == 1, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
        (line,) = result.output.splitlines()
        assert line.startswith("error: --db: ")
        assert " ".join(words.split()) in line
        assert os.listdir(tmp_path) == []  # no database, no secret file, no Maildir


@pytest.mark.parametrize(
    "url",
    [
        _with(MARIADB_URL, "charset=UTF8MB4"),
        _with(MARIADB_URL, "connect_timeout=10&read_timeout=30"),
        _with(POSTGRES_URL, "connect_timeout=0"),  # libpq: wait indefinitely
        "sqlite:///file:held.db?uri=true",
        "sqlite:///held.db?timeout=2.5",
    ],
)
def test_a_good_url_works_as_it_means(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _connect(url)
    if url.startswith("sqlite"):
        assert os.listdir(tmp_path) == ["held.db"]  # the file the URL names, nothing else
