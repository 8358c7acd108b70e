"""The shapes of srcprov's predicates: every known field has one type, checked before anything reads it.

Pure. Unknown fields are kept (a newer srcprov may add some); a known field of the wrong type makes the
record `malformed`, never an internal error further on.
"""

from __future__ import annotations

import re
from typing import Any

from srcprov.model.dsse import COMMIT_PROVENANCE, REVIEW, SOURCE_PROVENANCE, Malformed

TRIGGERS = ("post-commit", "post-merge", "post-rewrite", "record", "backfill", "repair", "forge")
_HEX = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")

# A shape is a type name, a [shape] list, or a {key: (shape, required)} object.
Shape = Any
_PERSON = {"name": ("str", True), "email": ("str", True), "time": ("str", True)}
_COMMIT = {"id": ("oid", True), "tree": ("oid", True), "parents": (["oid"], True), "author": (_PERSON, True),
           "committer": (_PERSON, True)}
_CHECK = {"name": ("str", True), "command": ("str", False), "exitCode": ("int?", True), "durationMs": ("int", False)}
_LINK = {"commit": ("oid", True), "record": ({"sha256": ("str", True)}, False)}
_ATTRIBUTION_LINES = {k: ("int", False) for k in ("ai", "human", "mixed", "unknown")}
COMMIT_PROVENANCE_SHAPE = {
    "commit": (_COMMIT, True),
    "recorder": ({"tool": ("str", True), "version": ("str", True), "trigger": ("str", True)}, True),
    "recordedAt": ("str", True),
    "environment": ("strmap", False),
    "precommit": ({"stagedTree": ("oid", True), "startedAt": ("str", False), "checks": ([_CHECK], False)}, False),
    "claims": ("object", False),
    "changes": ({"files": ("int", True), "insertions": ("int", True), "deletions": ("int", True)}, False),
    "rewrittenFrom": ([_LINK], False),
    "derivedFrom": ([_LINK], False),
    "how": ("str", False),
    "attribution": ({"format": ("str", True), "source": ("str", True), "sha256": ("str", True),
                     "lines": (_ATTRIBUTION_LINES, True)}, False),
}
REVIEW_SHAPE = {
    "commit": ({"id": ("oid", True), "tree": ("oid", True)}, True),
    "reviewer": ({"name": ("str", True), "email": ("str", True)}, True),
    "verdict": ("str", True),
    "comment": ("str", False),
    "reviewedAt": ("str", True),
}
HOWS = ("merge", "squash", "rebase")
# The controls of a branch update: `since` is the time (RFC 3339) it has held continuously, `sinceCommit`
# the branch tip of the update from which it has held.
_CONTROL = {"name": ("str", True), "since": ("str", True), "sinceCommit": ("oid", True)}
SOURCE_PROVENANCE_SHAPE = {
    "ref": ("str", True),
    "before": ("oid", True),
    "after": ("oid", True),
    "actor": ("str", False),
    "controls": ([_CONTROL], True),
    "updatedAt": ("str", True),
}


def _check(value: Any, shape: Shape, path: str) -> None:
    if isinstance(shape, list):
        if not isinstance(value, list):
            raise Malformed(f"{path} is not a list")
        for i, v in enumerate(value):
            _check(v, shape[0], f"{path}[{i}]")
    elif isinstance(shape, dict):
        if not isinstance(value, dict):
            raise Malformed(f"{path} is not an object")
        for key, (sub, required) in shape.items():
            if key in value:
                _check(value[key], sub, f"{path}.{key}")
            elif required:
                raise Malformed(f"{path} has no {key}")
    elif shape == "str":
        if not isinstance(value, str):
            raise Malformed(f"{path} is not a string")
    elif shape == "oid":
        if not isinstance(value, str) or not _HEX.match(value):
            raise Malformed(f"{path} is not an object id")
    elif shape in ("int", "int?"):
        if (value is None and shape == "int?") or (isinstance(value, int) and not isinstance(value, bool)):
            return
        raise Malformed(f"{path} is not an integer")
    elif shape == "object":
        if not isinstance(value, dict):
            raise Malformed(f"{path} is not an object")
    elif shape == "strmap":
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise Malformed(f"{path} is not an object of strings")


def check_predicate(predicate_type: str, predicate: dict[str, Any]) -> None:
    """Malformed when a commit-provenance, review or source-provenance predicate has a missing or mistyped known field."""
    if predicate_type == COMMIT_PROVENANCE:
        _check(predicate, COMMIT_PROVENANCE_SHAPE, "predicate")
        if predicate["recorder"]["trigger"] not in TRIGGERS:
            raise Malformed(f"unknown recorder.trigger {predicate['recorder']['trigger']!r}")
        origin = predicate.get("claims", {}).get("origin")
        if origin is not None and not isinstance(origin, str):
            raise Malformed("predicate.claims.origin is not a string")
        how = predicate.get("how")
        if how is not None and how not in HOWS:
            raise Malformed(f"unknown how {how!r}")
        if predicate["recorder"]["trigger"] == "forge" and (how is None or "derivedFrom" not in predicate):
            raise Malformed("a forge record needs derivedFrom and how")
    elif predicate_type == REVIEW:
        _check(predicate, REVIEW_SHAPE, "predicate")
        if predicate["verdict"] not in ("approved", "rejected"):
            raise Malformed("verdict is not approved or rejected")
    elif predicate_type == SOURCE_PROVENANCE:
        _check(predicate, SOURCE_PROVENANCE_SHAPE, "predicate")
        if not predicate["ref"].startswith("refs/"):
            raise Malformed("predicate.ref is not a full ref name")
