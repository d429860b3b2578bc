"""The one guard of every file learnprog writes: never over the files it keeps its data in.

A report zip, a rejections CSV or any other output written over the SQLite database (or one of
its journals) destroys every record; written over the link-signing secret file, every link
sent stops working. :func:`refuse_data_file` is the check, shared by the command line's output
options (:class:`learnprog.cli._common.OutputFile`) and the Python writers
(:meth:`learnprog.reports.ReportBuilder.write_zip`, the ``rejections_to`` of
:meth:`learnprog.services.InvitationService.bulk_invite`); :func:`data_files` says which files
those are for a storage URL. Files are compared as the operating system sees them (device
and inode, so a link or another spelling of the path is the same file), by their resolved paths
when one does not exist yet. A learnprog decision (issue 17): the command line refused such
outputs before; Python callers could overwrite the database.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from learnprog.errors import ValidationError

DataFiles = tuple[tuple[Path, str], ...]
"""Files learnprog keeps its data in, each with what it is (``"SQLite database"``)."""

JOURNALS = ("-journal", "-wal", "-shm")
"""The suffixes of the files SQLite keeps beside a database (rollback journal, WAL, shared
memory index: SQLite documentation, "Temporary Files Used By SQLite")."""


def sqlite_file(url: str) -> Path | None:
    """Return the file of a SQLite file URL (relative to the working directory), else None.

    None for other databases, ``memory://`` and URLs that do not parse (``connect`` says why).
    """
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError, TypeError):
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def data_files(url: str | None, *, secret_file: Path | None = None) -> DataFiles:
    """Return the files learnprog keeps its data in for a storage URL.

    Args:
        url: the storage URL given to :func:`learnprog.connect` (``None`` for a caller's own
            unit of work factory, whose files are not known).
        secret_file: the link-signing secret file, when one is used (the command line's
            ``--secret-file``).

    Returns:
        For a SQLite file: the database, its journals (:data:`JOURNALS`) and the secret file
        the command line keeps beside it (``NAME.secret``); then ``secret_file`` if given.
        Other storage keeps no file learnprog knows of.
    """
    found: list[tuple[Path, str]] = []
    if secret_file is not None:
        found.append((secret_file, "link-signing secret file"))
    database = sqlite_file(url) if isinstance(url, str) else None
    if database is not None:
        found.append((database, "SQLite database"))
        found += [
            (database.with_name(database.name + suffix), "SQLite database's journal")
            for suffix in JOURNALS
        ]
        beside = database.with_name(database.name + ".secret")
        if secret_file is None or not same_file(beside, secret_file):
            found.append((beside, "link-signing secret file"))
    return tuple(found)


def same_file(a: Path, b: Path) -> bool:
    """True when ``a`` and ``b`` name one file.

    By (device, inode) when both exist (so links count), else by their resolved paths.
    """
    try:
        try:
            return os.path.samefile(a, b)
        except OSError:  # one does not exist (yet)
            return a.resolve() == b.resolve()
    except ValueError:  # a NUL in a path: no file (opening it is refused elsewhere)
        return False


def _identity(target: object) -> tuple[int, int] | None:
    """The (device, inode) of an open file object, or ``None`` when it is no file."""
    fileno = getattr(target, "fileno", None)
    if fileno is None:
        return None
    try:
        status = os.fstat(fileno())
    except (OSError, ValueError):  # BytesIO (io.UnsupportedOperation), a closed file
        return None
    return (status.st_dev, status.st_ino)


def refuse_data_file(target: object, own: Sequence[tuple[Path, str]], *, field: str) -> None:
    """Raise when ``target`` is one of the files learnprog keeps its data in.

    Args:
        target: where an output goes: a path (``str`` or ``os.PathLike``) or an open binary
            or text file; anything else (a ``BytesIO``) names no file and passes.
        own: the files to keep (:func:`data_files`).
        field: the argument named in the error (``"target"``, ``"rejections_to"``).

    Raises:
        ValidationError: ``target`` is one of ``own``, by any path or as an open file; the
            message names the path and what the file is.
    """
    if not own:
        return
    if isinstance(target, str | os.PathLike):
        path = Path(os.fsdecode(target))
        for kept, what in own:
            if same_file(path, kept):
                raise ValidationError(
                    f"{str(path)!r} is the {what} in use: writing to it would destroy it; "
                    "name another file",
                    field=field,
                    value=str(path),
                )
        return
    identity = _identity(target)
    if identity is None:
        return
    for kept, what in own:
        try:
            status = os.stat(kept)
        except (OSError, ValueError):
            continue
        if (status.st_dev, status.st_ino) == identity:
            raise ValidationError(
                f"the open file is the {what} in use ({str(kept)!r}): writing to it would "
                "destroy it; name another file",
                field=field,
            )
