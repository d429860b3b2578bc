"""The SQL storage adapter (SQLAlchemy 2.x Core) for SQLite, PostgreSQL and MariaDB."""

from learnprog.storage.sql.engine import check_connection, checked_url, create_sql_engine
from learnprog.storage.sql.migrate import current_revision, head_revision, upgrade
from learnprog.storage.sql.uow import SqlUnitOfWork

__all__ = [
    "SqlUnitOfWork",
    "check_connection",
    "checked_url",
    "create_sql_engine",
    "current_revision",
    "head_revision",
    "upgrade",
]
