"""Fixtures for the fleet tests: a fleet of real repositories (signed, generated, plain) with broken entries,
and real Dask schedulers and workers started as processes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# Helpers live in modules named fleet_* (as tests/report's are report_*); the report's history generator too.
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "report"))

from fleet_kit import Fleet, build_fleet  # noqa: E402

from testing.repos import Keys  # noqa: E402


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory, keys: Keys) -> Fleet:
    """One fleet per test module (building signed repositories costs seconds): see fleet_kit.build_fleet."""
    return build_fleet(tmp_path_factory.mktemp("fleet"), keys)
