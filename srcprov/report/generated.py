"""Files that are generated or vendored rather than written: lock files, minified assets, vendored trees.

The report still counts them; hotspots flag them, so a maintainer's eye lands on code people write.
"""

from __future__ import annotations

import fnmatch

# Lock files the package managers write (a change to one is rarely a change anybody reviews line by line).
LOCK_FILES = frozenset({
    "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "bun.lockb", "poetry.lock",
    "Pipfile.lock", "uv.lock", "pdm.lock", "Cargo.lock", "Gemfile.lock", "composer.lock", "go.sum",
    "mix.lock", "pubspec.lock", "packages.lock.json", "flake.lock", "gradle.lockfile", "Podfile.lock",
})
GENERATED_GLOBS = ("*.min.js", "*.min.css", "*.min.mjs", "*.map", "*_pb2.py", "*_pb2_grpc.py", "*.pb.go",
                   "*.generated.*", "*.lock")
VENDORED_DIRS = frozenset({"vendor", "vendored", "_vendor", "third_party", "third-party", "thirdparty",
                           "node_modules", "bower_components", "external", "deps"})


def generated_kind(path: str) -> str | None:
    """Why PATH looks generated or vendored (`lock file`, `minified`, `vendored`, `generated`), or None."""
    *dirs, name = path.split("/")
    if name in LOCK_FILES or name.endswith(".lock"):
        return "lock file"
    if any(d in VENDORED_DIRS for d in dirs):
        return "vendored"
    if fnmatch.fnmatchcase(name, "*.min.*"):
        return "minified"
    if any(fnmatch.fnmatchcase(name, g) for g in GENERATED_GLOBS):
        return "generated"
    return None
