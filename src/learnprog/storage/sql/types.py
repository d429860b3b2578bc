"""Column types that behave the same on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Dialect

from learnprog.errors import ValidationError

MYSQL_DIALECTS = ("mysql", "mariadb")


def Key(length: int = 64) -> sa.types.TypeEngine[str]:  # noqa: N802 - reads as a type
    """A string compared byte for byte: a binary collation on MariaDB.

    MariaDB's default collations treat ``stéphane`` and ``stephane`` (and different cases) as
    equal; keys must not, so key columns use ``utf8mb4_bin`` there. Other backends compare
    strings exactly already.
    """
    return sa.String(length).with_variant(
        mysql.VARCHAR(length, charset="utf8mb4", collation="utf8mb4_bin"), *MYSQL_DIALECTS
    )


def stored_utc(value: datetime | str) -> datetime:
    """A stored naive UTC timestamp (or SQLite's text of one) as an aware UTC datetime."""
    if isinstance(value, str):  # SQLite, where a query reads the column without its type
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC)


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """An aware UTC datetime, stored as a naive UTC timestamp with microseconds.

    Stored naive on every backend (``DATETIME(6)`` on MariaDB) so that no server time zone
    setting shifts it; read back with ``tzinfo=UTC``. Binding a naive datetime is an error.
    """

    impl = sa.DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        """Use ``DATETIME(6)`` on MariaDB/MySQL for microseconds."""
        if dialect.name in MYSQL_DIALECTS:
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(sa.DateTime(timezone=False))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert an aware datetime to naive UTC.

        Raises:
            ValidationError: the datetime is naive.
        """
        if value is None:
            return None
        if value.tzinfo is UTC:  # the model's times: already UTC, only the zone to drop
            return value.replace(tzinfo=None)
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValidationError("a naive datetime has no time zone; pass an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def result_processor(
        self, dialect: Dialect, coltype: object
    ) -> Callable[[Any], datetime | None]:
        """Read stored naive UTC timestamps back as aware UTC, with one small function per value.

        The dialect's own processor (SQLite's text parsing), if any, then ``tzinfo=UTC``, the
        same as :meth:`process_result_value` without the generic decorator layer around it:
        reports read millions of timestamps.
        """
        parse = self.load_dialect_impl(dialect).result_processor(dialect, coltype)

        def aware(value: Any) -> datetime | None:
            if parse is not None:
                value = parse(value)
            return None if value is None else stored_utc(value)

        return aware

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Read a stored naive UTC timestamp back as aware UTC."""
        return None if value is None else stored_utc(value)


def Json() -> sa.types.TypeEngine[Any]:  # noqa: N802 - reads as a type
    """A JSON document column (lists and objects)."""
    return sa.JSON()


def Document() -> sa.types.TypeEngine[str]:  # noqa: N802 - reads as a type
    """A text document written and read by learnprog itself (JSON it encodes exactly).

    ``MEDIUMTEXT`` on MariaDB, whose ``TEXT`` stops at 64 KiB; plain text elsewhere.
    """
    return sa.Text().with_variant(mysql.MEDIUMTEXT(), *MYSQL_DIALECTS)
