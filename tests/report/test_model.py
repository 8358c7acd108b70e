"""Bucket edges, windows and the reference time."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from srcprov.errors import SrcprovError
from srcprov.report.model import parse_buckets, parse_windows

DAY = 86400


def test_default_bucket_names() -> None:
    assert parse_buckets("1d,14d,90d,365d,730d").names == ["<1d", "1d-14d", "14d-90d", "90d-365d", "365d-730d", ">=730d"]


def test_buckets_include_their_lower_edge() -> None:
    b = parse_buckets("1d,14d,90d,365d,730d")
    assert b.index(0) == 0
    assert b.index(DAY - 1) == 0
    assert b.index(DAY) == 1
    assert b.index(14 * DAY - 1) == 1
    assert b.index(14 * DAY) == 2
    assert b.index(730 * DAY) == 5
    assert b.index(-5 * DAY) == 0  # a date after AS-OF counts as age 0


@given(st.lists(st.integers(1, 5000), min_size=1, max_size=8, unique=True), st.integers(-10**9, 10**9))
def test_bucket_index_is_the_count_of_edges_at_or_below_the_age(edges: list[int], age: int) -> None:
    edges.sort()
    b = parse_buckets(",".join(f"{e}h" for e in edges))
    assert b.index(age) == sum(1 for e in edges if max(age, 0) >= e * 3600)
    assert len(b.names) == len(edges) + 1


@pytest.mark.parametrize("text", ["", "14d,1d", "1d,1d", "0d", "-1d", "1d,0d", "1x", "abc", "1.5d", "1d,,2d", "d", " "])
def test_bad_edges_and_windows_are_refused(text: str) -> None:
    with pytest.raises(SrcprovError, match="--buckets"):
        parse_buckets(text)
    with pytest.raises(SrcprovError, match="--windows"):
        parse_windows(text)


def test_units() -> None:
    assert [w.seconds for w in parse_windows("12h,2w,1y")] == [12 * 3600, 14 * DAY, 365 * DAY]
