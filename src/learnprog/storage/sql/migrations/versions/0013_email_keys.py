"""Email keys: one key per mailbox (simple lowercase local parts, UTS 46 domains)

Learners' email keys and organizations' email domains are made again by the current rule
(:func:`learnprog.model.identity.email_key`): the local part by NFC and each code point's
simple lowercase mapping instead of full case folding, the domain by UTS 46 non-transitional
processing (IDNA 2008) instead of IDNA 2003. The members search key, which holds the email
key, is made again with it.

Nothing is merged. When two learners of one organization would get one key, the upgrade stops
before writing anything, with a ``ConflictError`` that names them (docs/howto-databases.md,
"Email keys (revision 0013)", says how to resolve it). What it cannot undo it lists, in the
warning log (logger ``learnprog.migrations``) and as audit entries of each organization:

- ``migration.email_key_review``: a learner whose key changes. Their address is one the old
  key folded (``ß``, ``ς``, a ligature, an IDNA 2003 domain), so another mailbox's invitation,
  sign-in or import may have been matched to them; an admin checks who they are.
- ``migration.email_domain_review``: an organization whose stored domains IDNA 2008 refuses;
  they are kept as written.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa
from alembic import op

from learnprog.clock import SystemClock
from learnprog.errors import ConflictError
from learnprog.model.identity import domain_key, email_key, idna2008_refuses, new_id
from learnprog.model.learner import search_key
from learnprog.storage.sql.types import Json, Key, UtcDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

log = logging.getLogger("learnprog.migrations")
_BATCH = 5000

_learners = sa.table(
    "learners",
    sa.column("id", Key()),
    sa.column("organization_id", Key()),
    sa.column("full_name", sa.String()),
    sa.column("email", sa.String()),
    sa.column("email_key", Key()),
    sa.column("search_key", Key()),
)
_organizations = sa.table(
    "organizations",
    sa.column("id", Key()),
    sa.column("email_domains", Json()),
)
_audit = sa.table(
    "audit_log",
    sa.column("id", Key()),
    sa.column("organization_id", Key()),
    sa.column("program_id", Key()),
    sa.column("actor", sa.String()),
    sa.column("action", sa.String()),
    sa.column("object_type", sa.String()),
    sa.column("object_id", Key()),
    sa.column("changes", Json()),
    sa.column("at", UtcDateTime()),
)


def upgrade() -> None:
    conn = op.get_bind()
    now = SystemClock().now()  # a migration is given no Clock: its entries are stamped now
    # One pass over the learners keeps only each new key's first holder and the rows whose key
    # changes (few: the old and new rules agree on almost every address).
    holders: dict[tuple[str, str], str] = {}
    clashes: dict[tuple[str, str], list[str]] = {}
    changed: list[_Change] = []
    rows = conn.execute(
        sa.select(
            _learners.c.id,
            _learners.c.organization_id,
            _learners.c.full_name,
            _learners.c.email,
            _learners.c.email_key,
        )
        .order_by(_learners.c.organization_id, _learners.c.id)
        .execution_options(yield_per=_BATCH)
    )
    for r in rows:
        key = email_key(r.email)
        first = holders.setdefault((r.organization_id, key), r.id)
        if first != r.id:
            clashes.setdefault((r.organization_id, key), [first]).append(r.id)
        if key != r.email_key:
            changed.append(_Change(r.id, r.organization_id, r.full_name, r.email, r.email_key, key))
    del holders
    if clashes:
        _stop(conn, clashes)

    update = (
        _learners.update()
        .where(_learners.c.id == sa.bindparam("match"))
        .values(email_key=sa.bindparam("new_key"), search_key=sa.bindparam("new_search"))
    )
    for start in range(0, len(changed), _BATCH):
        # two steps, so that no key is ever held by two rows while the others move
        batch = changed[start : start + _BATCH]
        conn.execute(
            update,
            [{"match": c.id, "new_key": f"rekey {c.id}", "new_search": ""} for c in batch],
        )
    for start in range(0, len(changed), _BATCH):
        batch = changed[start : start + _BATCH]
        conn.execute(
            update,
            [
                {"match": c.id, "new_key": c.new, "new_search": search_key(c.name, c.new)}
                for c in batch
            ],
        )
    review = [
        _entry(
            c.org_id,
            "migration.email_key_review",
            "learner",
            c.id,
            {"email": [c.email, c.email], "email_key": [c.old, c.new]},
            now,
        )
        for c in changed
    ]
    if changed:
        shown = "; ".join(f"{c.id} <{c.email}> {c.old!r} -> {c.new!r}" for c in changed[:20])
        more = f" and {len(changed) - 20} more" if len(changed) > 20 else ""
        log.warning(
            "revision 0013: %d learners' email keys changed; check that no other mailbox was "
            "matched to them (audit entries migration.email_key_review): %s%s",
            len(changed),
            shown,
            more,
        )

    organizations = conn.execute(sa.select(_organizations.c.id, _organizations.c.email_domains))
    for org in organizations.all():
        stored = [str(d) for d in org.email_domains or []]
        keyed = list(dict.fromkeys(domain_key(d) for d in stored))
        if keyed != stored:
            conn.execute(
                _organizations.update()
                .where(_organizations.c.id == org.id)
                .values(email_domains=keyed)
            )
        refused = [d for d in keyed if idna2008_refuses(d)]
        if refused:
            log.warning(
                "organization %s: IDNA 2008 refuses the email domains %s; kept as written",
                org.id,
                ", ".join(refused),
            )
            review.append(
                _entry(
                    org.id,
                    "migration.email_domain_review",
                    "organization",
                    org.id,
                    {"email_domains": [refused, refused]},
                    now,
                )
            )
    for start in range(0, len(review), _BATCH):
        conn.execute(_audit.insert(), review[start : start + _BATCH])


class _Change(NamedTuple):  # not a dataclass: Alembic loads this file outside sys.modules
    id: str
    org_id: str
    name: str
    email: str
    old: str
    new: str


def _stop(conn: sa.Connection, clashes: dict[tuple[str, str], list[str]]) -> None:
    """Raise the error that names the learners who would share a key; nothing is written."""
    ids = [i for members in clashes.values() for i in members]
    found = conn.execute(
        sa.select(_learners.c.id, _learners.c.email).where(_learners.c.id.in_(ids))
    )
    emails = {str(r.id): str(r.email) for r in found}
    named = "; ".join(
        f"organization {org_id}, key {key!r}: "
        + ", ".join(f"learner {i} <{emails[i]}>" for i in members)
        for (org_id, key), members in clashes.items()
    )
    raise ConflictError(
        "revision 0013 stops, having changed nothing: these learners would share one email "
        f"key under the new rule ({named}). Erase or change one of each group, then upgrade "
        "again (docs/howto-databases.md, 'Email keys (revision 0013)')",
        kind="learner",
        key=ids,
    )


def _entry(
    org_id: str, action: str, object_type: str, object_id: str, changes: object, at: datetime
) -> dict[str, object]:
    return {
        "id": new_id(),
        "organization_id": org_id,
        "program_id": None,
        "actor": "system",
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "changes": changes,
        "at": at,
    }


def downgrade() -> None:
    """Keep the new keys: the old rule merged mailboxes, and a downgrade must not do that."""
