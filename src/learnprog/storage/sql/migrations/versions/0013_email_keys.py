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
from collections import defaultdict
from datetime import datetime
from typing import Any

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
    rows = conn.execute(
        sa.select(
            _learners.c.id,
            _learners.c.organization_id,
            _learners.c.full_name,
            _learners.c.email,
            _learners.c.email_key,
        ).order_by(_learners.c.organization_id, _learners.c.id)
    ).all()
    groups: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for r in rows:
        groups[(r.organization_id, email_key(r.email))].append(r)
    clashes = [(key, members) for key, members in groups.items() if len(members) > 1]
    if clashes:
        named = "; ".join(
            f"organization {org_id}, key {key!r}: "
            + ", ".join(f"learner {m.id} <{m.email}>" for m in members)
            for (org_id, key), members in clashes
        )
        raise ConflictError(
            "revision 0013 stops, having changed nothing: these learners would share one email "
            f"key under the new rule ({named}). Erase or change one of each group, then upgrade "
            "again (docs/howto-databases.md, 'Email keys (revision 0013)')",
            kind="learner",
            key=[m.id for _, members in clashes for m in members],
        )

    changed = [(r, email_key(r.email)) for r in rows if email_key(r.email) != r.email_key]
    update = (
        _learners.update()
        .where(_learners.c.id == sa.bindparam("match"))
        .values(email_key=sa.bindparam("new_key"), search_key=sa.bindparam("new_search"))
    )
    if changed:
        # two steps, so that no key is ever held by two rows while the others move
        conn.execute(
            update,
            [
                {"match": r.id, "new_key": f"rekey {r.id}", "new_search": f"rekey {r.id}"}
                for r, _ in changed
            ],
        )
        conn.execute(
            update,
            [
                {"match": r.id, "new_key": key, "new_search": search_key(r.full_name, key)}
                for r, key in changed
            ],
        )
    review = [
        _entry(
            r.organization_id,
            "migration.email_key_review",
            "learner",
            r.id,
            {"email": [r.email, r.email], "email_key": [r.email_key, key]},
            now,
        )
        for r, key in changed
    ]
    for r, key in changed:
        log.warning(
            "learner %s <%s> of organization %s: email key %r is now %r; check that no other "
            "mailbox was matched to them",
            r.id,
            r.email,
            r.organization_id,
            r.email_key,
            key,
        )

    for org in conn.execute(sa.select(_organizations.c.id, _organizations.c.email_domains)):
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
    if review:
        conn.execute(_audit.insert(), review)


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
