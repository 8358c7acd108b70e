"""Parse ledger lines: `2024-01-31  -12.50  food  lunch with Ana`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation


@dataclass(frozen=True)
class Entry:
    day: date
    amount: Decimal
    account: str
    memo: str


def parse_line(line: str, lineno: int = 0) -> Entry | None:
    """One entry, or None for a blank line or a comment."""
    text = line.split("#", 1)[0].strip()
    if not text:
        return None
    parts = text.split(None, 3)
    if len(parts) < 3:
        raise ValueError(f"line {lineno}: expected date, amount and account")
    try:
        amount = Decimal(parts[1])
    except InvalidOperation:
        raise ValueError(f"line {lineno}: bad amount {parts[1]!r}") from None
    return Entry(date.fromisoformat(parts[0]), amount, parts[2], parts[3] if len(parts) > 3 else "")


def parse_lines(lines: list[str]) -> list[Entry]:
    """All entries of a ledger, in order."""
    return [e for i, line in enumerate(lines, 1) if (e := parse_line(line, i)) is not None]
