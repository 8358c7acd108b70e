"""Totals per account."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from tinyledger.parse import Entry


def totals(entries: list[Entry]) -> dict[str, Decimal]:
    """The sum of amounts per account, accounts sorted by name."""
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for e in entries:
        sums[e.account] += e.amount
    return dict(sorted(sums.items()))


def render(sums: dict[str, Decimal]) -> str:
    """A two-column text table."""
    width = max((len(a) for a in sums), default=7)
    return "\n".join(f"{a:<{width}}  {v:>10.2f}" for a, v in sums.items())
