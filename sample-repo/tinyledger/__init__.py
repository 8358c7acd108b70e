"""tinyledger: totals per account from a plain-text ledger."""

from tinyledger.parse import Entry, parse_lines
from tinyledger.report import totals

__all__ = ["Entry", "parse_lines", "totals"]
