"""Which files the hotspots flag as generated or vendored."""

from __future__ import annotations

import pytest

from srcprov.report.generated import generated_kind


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("package-lock.json", "lock file"), ("web/yarn.lock", "lock file"), ("uv.lock", "lock file"),
        ("go.sum", "lock file"), ("Cargo.lock", "lock file"), ("static/app.min.js", "minified"),
        ("css/site.min.css", "minified"), ("vendor/lib/x.go", "vendored"), ("a/third_party/b.c", "vendored"),
        ("node_modules/x/index.js", "vendored"), ("proto/api_pb2.py", "generated"),
        ("src/app.py", None), ("docs/lockfile.md", None), (".github/workflows/lock.yaml", None),
        ("src/vendor.py", None), ("minimal.js", None),
    ],
)
def test_generated_kind(path: str, kind: str | None) -> None:
    assert generated_kind(path) == kind
