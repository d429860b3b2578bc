"""Email keys per second: learnprog's key beside the rule it replaced, on one roster's addresses.

Prints keys per second of

- learnprog: :func:`learnprog.model.identity.email_key` (NFC, each code point's simple
  lowercase for the local part, UTS 46 non-transitional for the domain);
- the baseline: the rule before revision 0013 (NFC and full case folding of the whole address,
  an ``xn--`` domain read by Python's IDNA 2003 codec), written out here;

over ``--addresses`` addresses: most ASCII, some with accented or other non-ASCII local
parts, some on internationalized domains (a few domains, as in a company roster). Then how
many addresses the two rules key differently, which must be only those with a letter that
full folding changed or a domain IDNA 2003 read otherwise (a cross-check, not a figure).
Figures only; nothing is asserted.

    python benchmarks/email_keys.py [--addresses 200000]
"""

from __future__ import annotations

import argparse
import contextlib
import time
import unicodedata

from learnprog.model.identity import email_key

LOCALS = ["ana.lima", "Stéphane", "JAN.STRAẞE", "zoë", "Мария", "ﬁnance", "İpek", "sam"]
DOMAINS = ["Example.org", "acme.example", "bücher.example", "xn--strae-oqa.example", "例え.jp"]


# what full case folding or IDNA 2003 changed, and the simple mapping and IDNA 2008 keep
FOLDED = ["ẞ", "ﬁ", "İ", "xn--strae-oqa"]


def old_email_key(address: str) -> str:
    """The key before revision 0013 (the baseline)."""
    key = unicodedata.normalize("NFC", address.strip()).casefold()
    local, at, domain = key.rpartition("@")
    if at and "xn--" in domain:
        with contextlib.suppress(UnicodeError):
            domain = unicodedata.normalize("NFC", domain.encode("ascii").decode("idna"))
        key = f"{local}@{domain.casefold()}"
    return key


def addresses(n: int) -> list[str]:
    out = []
    for i in range(n):
        if i % 10:  # nine in ten: plain ASCII on the company domain
            out.append(f"Learner.{i}@Example.org")
        else:
            out.append(f"{LOCALS[i % len(LOCALS)]}.{i}@{DOMAINS[i % len(DOMAINS)]}")
    return out


def rate(key: object, items: list[str]) -> float:
    assert callable(key)
    start = time.perf_counter()
    for item in items:
        key(item)
    return len(items) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addresses", type=int, default=200_000)
    args = parser.parse_args()
    items = addresses(args.addresses)
    rate(email_key, items[:1000])  # warm the caches of both, as a long run has them
    rate(old_email_key, items[:1000])
    print(f"email keys per second over {len(items)} addresses")
    print(f"  learnprog (simple lowercase, UTS 46): {rate(email_key, items):,.0f}")
    print(f"  baseline (full case folding, IDNA 2003): {rate(old_email_key, items):,.0f}")
    differ = [a for a in items if email_key(a) != old_email_key(a)]
    folded = [a for a in differ if any(m in a for m in FOLDED)]
    print(f"addresses keyed differently: {len(differ)}, of which with {' '.join(FOLDED)}: "
          f"{len(folded)}")  # fmt: skip


if __name__ == "__main__":
    main()
