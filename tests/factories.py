"""Small builders of valid model objects for tests."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from PIL import Image

from learnprog.model import (
    Contract,
    ContractKind,
    Learner,
    Membership,
    Organization,
    Program,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def organization(
    name: str = "Acme Learning",
    *,
    domains: tuple[str, ...] = ("acme.example",),
) -> Organization:
    return Organization.create(name, now=NOW, email_domains=domains)


def program(org: Organization, name: str = "Data Academy", *, slug: str | None = None) -> Program:
    return Program.create(org.id, name, now=NOW, slug=slug)


def contract(
    org: Organization, *, quantity: int | None = 10, kind: ContractKind = ContractKind.LICENSES
) -> Contract:
    return Contract.create(
        org.id,
        "Year 1 Contract 2026",
        kind=kind,
        quantity=quantity,
        starts_at=NOW - timedelta(days=30),
        ends_at=NOW + timedelta(days=335),
    )


def learner(
    org: Organization,
    email: str = "ana.lima@acme.example",
    name: str = "Ana Lima",
    *,
    external_id: str | None = None,
) -> Learner:
    return Learner.create(org.id, name, email, now=NOW, external_id=external_id)


def membership(org: Organization, prog: Program, person: Learner, deal: Contract) -> Membership:
    return Membership.invite(org.id, prog.id, person.id, deal.id, now=NOW)


def png(width: int, height: int) -> bytes:
    """Return a small PNG image of this size."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), (12, 80, 160)).save(out, format="PNG")
    return out.getvalue()


def forged(token: str) -> str:
    """``token`` with the first character of its signature changed.

    The first character carries six bits of the signature; the last one carries only some
    (base64 of a 20-byte digest), so changing the last character can leave the decoded
    signature the same and the token still valid.
    """
    payload, _, signature = token.rpartition(".")
    return f"{payload}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
