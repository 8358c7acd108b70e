"""Durations and RFC 3339 times, as the SPEC and the policy write them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from srcprov.errors import SrcprovError

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")


def parse_duration(text: str | int | float, what: str = "duration") -> float:
    """Seconds in a duration such as `15s`, `2m`, `14d` (a bare number is seconds)."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = float(text)
    else:
        m = _DURATION.match(str(text))
        if not m:
            raise SrcprovError(f"bad {what}: {text!r} (expected e.g. 15s, 2m, 14d)")
        value = float(m.group(1)) * _UNITS[m.group(2) or "s"]
    if value <= 0:
        raise SrcprovError(f"bad {what}: {text!r} (must be positive)")
    return value


def rfc3339(seconds: int, offset_minutes: int = 0) -> str:
    """A git timestamp with its offset as RFC 3339 (`Z` for UTC only when the offset is 0 and utc)."""
    tz = timezone(timedelta(minutes=offset_minutes))
    return datetime.fromtimestamp(seconds, tz).isoformat()


def utc_now() -> str:
    """Now, in UTC, RFC 3339 with seconds."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_rfc3339(text: object) -> datetime | None:
    """An aware datetime from RFC 3339 text, or None when it is not one."""
    if not isinstance(text, str):
        return None
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo is not None else None
