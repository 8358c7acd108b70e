"""The report's parameters (age buckets, churn windows, reference time) and the report itself."""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from srcprov.errors import SrcprovError
from srcprov.git import Repo

_SPAN = re.compile(r"^([0-9]+)([smhdwy])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}
DATE_FIELDS = ("author", "committer")


@dataclass(frozen=True)
class Window:
    """A churn window: the NAME the user wrote (`14d`) and its length in seconds."""

    name: str
    seconds: int


@dataclass(frozen=True)
class Buckets:
    """Age buckets from ascending edges; each bucket includes its lower edge."""

    edges: tuple[Window, ...]

    @property
    def names(self) -> list[str]:
        """`<1d`, `1d-14d`, ..., `>=730d` for the default edges."""
        e = [w.name for w in self.edges]
        return [f"<{e[0]}"] + [f"{a}-{b}" for a, b in zip(e, e[1:], strict=False)] + [f">={e[-1]}"]

    def index(self, age_seconds: int) -> int:
        """The bucket of an age (a negative age, a date after AS-OF, counts as 0)."""
        return bisect_right(self._bounds, max(0, age_seconds))

    @property
    def _bounds(self) -> list[int]:
        return [w.seconds for w in self.edges]


def _parse_spans(text: str, what: str) -> tuple[Window, ...]:
    """Comma-separated positive spans (`1d,14d`), strictly ascending."""
    if not isinstance(text, str) or not text.strip():
        raise SrcprovError(f"bad {what}: empty (expected e.g. 1d,14d,90d)")
    spans = []
    for raw in text.split(","):
        token = raw.strip()
        m = _SPAN.match(token)
        if not m:
            raise SrcprovError(
                f"bad {what}: {token!r} is not a span (a whole number and one of s, m, h, d, w, y, e.g. 14d)"
            )
        seconds = int(m.group(1)) * _UNIT_SECONDS[m.group(2)]
        if seconds <= 0:
            raise SrcprovError(f"bad {what}: {token!r} must be longer than zero")
        spans.append(Window(token, seconds))
    for a, b in zip(spans, spans[1:], strict=False):
        if b.seconds <= a.seconds:
            raise SrcprovError(f"bad {what}: {text!r} must be strictly ascending ({b.name} is not after {a.name})")
    return tuple(spans)


def parse_buckets(text: str) -> Buckets:
    """Age bucket edges from `--buckets` (e.g. `1d,14d,90d,365d,730d`)."""
    return Buckets(_parse_spans(text, "--buckets"))


def parse_windows(text: str) -> list[Window]:
    """Churn windows from `--windows` (e.g. `14d,90d,365d`)."""
    return list(_parse_spans(text, "--windows"))


def parse_step(text: str) -> Window:
    """The history's sampling interval from `--step` (one span, e.g. `30d`)."""
    spans = _parse_spans(text, "--step")
    if len(spans) != 1:
        raise SrcprovError(f"bad --step: {text!r} (expected one span, e.g. 30d)")
    return spans[0]


def parse_as_of(repo: Repo, text: str | None, now: int | None = None) -> int:
    """The reference time in epoch seconds: now, an ISO 8601 date/time (UTC unless it says), or a revision's committer time."""
    if text is None:
        return int(datetime.now(UTC).timestamp()) if now is None else now
    try:
        dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        dt = None
    if dt is not None:
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return int(dt.timestamp())
    try:
        return repo.resolve_commit(text).commit_time
    except SrcprovError:
        raise SrcprovError(f"bad --as-of: {text!r} is neither an ISO date (e.g. 2024-05-01) nor a revision") from None


def iso_utc(seconds: int) -> str:
    """Epoch seconds as RFC 3339 in UTC."""
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Report:
    """A provenance report: `doc` is the JSON document the SPEC defines; the rest helps renderers."""

    doc: dict[str, Any]
    by: str = "dir"
    # Mean age in days of each file's lines (for the churn-against-age chart), by path string.
    mean_age_days: dict[str, float] = field(default_factory=dict)
