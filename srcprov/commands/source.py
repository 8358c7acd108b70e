"""`source-update`: run by CI on a push to a protected branch, with a key of role `source`."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from srcprov.commands import flush, policy_for, source_signer
from srcprov.errors import SrcprovError

if TYPE_CHECKING:
    from srcprov.git import Repo
    from srcprov.recording.source_update import SourceUpdateResult


def push_from_env(env: Mapping[str, str]) -> dict[str, str]:
    """What the CI's environment says about the push: `before`, `ref`, `actor` (each only when it says so).

    GitHub Actions names the old tip only in the event payload ($GITHUB_EVENT_PATH); GitLab CI in
    CI_COMMIT_BEFORE_SHA (all zeros in merge request pipelines and for a new branch).
    """
    out: dict[str, str] = {}
    if env.get("GITHUB_ACTIONS") == "true":
        if env.get("GITHUB_REF", "").startswith("refs/heads/"):
            out["ref"] = env["GITHUB_REF"]
        if env.get("GITHUB_ACTOR"):
            out["actor"] = env["GITHUB_ACTOR"]
        path = env.get("GITHUB_EVENT_PATH")
        if path:
            try:
                with open(path, "rb") as f:
                    event = json.load(f)
            except (OSError, ValueError):
                event = None
            if isinstance(event, dict) and isinstance(event.get("before"), str):
                out["before"] = event["before"]
    elif env.get("GITLAB_CI") == "true":
        if env.get("CI_COMMIT_BRANCH"):
            out["ref"] = f"refs/heads/{env['CI_COMMIT_BRANCH']}"
        if env.get("GITLAB_USER_LOGIN"):
            out["actor"] = env["GITLAB_USER_LOGIN"]
        if env.get("CI_COMMIT_BEFORE_SHA"):
            out["before"] = env["CI_COMMIT_BEFORE_SHA"]
    return out


def _full_ref(ref: str) -> str:
    return ref if ref.startswith("refs/") else f"refs/heads/{ref}"


def _head_branch(repo: Repo) -> str | None:
    pg = repo.pg
    if pg.head_is_detached or pg.head_is_unborn:
        return None
    return str(pg.head.name)


def source_update(repo: Repo, before: str | None, after: str, ref: str | None, push: str | None,
                  policy_dir: str | None = None, policy_rev: str | None = None,
                  env: Mapping[str, str] | None = None) -> SourceUpdateResult:
    """Record the forge's commits of BEFORE..AFTER that derive from verified commits and the branch update of REF,
    signed with the configured key, which must hold role `source` (else SrcprovError: nothing is written).
    The policy is the one committed at BEFORE unless --policy/--policy-rev say otherwise: an update cannot
    approve itself."""
    from srcprov.recording.source_update import source_update as run

    ci = push_from_env(os.environ if env is None else env)
    before = before or ci.get("before")
    if not before:
        raise SrcprovError("--before is needed: the branch's tip before the push (GitHub: github.event.before; "
                           "GitLab: CI_COMMIT_BEFORE_SHA)")
    ref = ref or ci.get("ref") or _head_branch(repo)
    if not ref:
        raise SrcprovError("--ref is needed: the branch that was pushed (e.g. refs/heads/main)")
    warnings: list[str] = []
    flush(repo, warnings)
    if not (policy_dir or policy_rev) and before.strip("0"):
        policy_rev = before
    policy = policy_for(repo, policy_dir, policy_rev)
    signer = source_signer(repo, policy)
    res = run(repo, policy, signer, before, after, _full_ref(ref), ci.get("actor"))
    res.warnings += warnings
    if push and not res.forced:
        from srcprov.recording.sync import sync

        res.pushed = sync(repo, push)
        res.warnings += res.pushed.warnings
    return res
