"""Column types that behave the same on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

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
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValidationError("a naive datetime has no time zone; pass an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Read a stored naive UTC timestamp back as aware UTC."""
        if value is None:
            return None
        if isinstance(value, str):  # SQLite in raw SQL paths
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC)


def Json() -> sa.types.TypeEngine[Any]:  # noqa: N802 - reads as a type
    """A JSON document column (lists and objects)."""
    return sa.JSON()
