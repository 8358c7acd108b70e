"""Where the build runs: GitHub Actions, GitLab CI, a generic CI; no secret is ever copied."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from srcprov.attest.provenance import build_context, clean_url
from tests.attest.conftest import Env, git, srcprov


@pytest.mark.parametrize("url, clean", [
    ("https://user:token@github.com/o/r.git", "https://github.com/o/r.git"),
    ("https://oauth2:glpat-SECRET@gitlab.example.com:8443/g/p.git", "https://gitlab.example.com:8443/g/p.git"),
    ("https://host/x?private_token=SECRET#frag", "https://host/x"),
    ("git@github.com:o/r.git", "ssh://github.com/o/r.git"),
    ("ssh://git@host:2222/o/r", "ssh://host:2222/o/r"),
    ("file:///srv/git/r.git", "file:///srv/git/r.git"),
    ("/srv/git/r.git", "file:///srv/git/r.git"),
])
def test_clean_url_strips_credentials(url: str, clean: str) -> None:
    assert clean_url(url) == clean


GITHUB = {
    "GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "o/r",
    "GITHUB_RUN_ID": "42", "GITHUB_RUN_ATTEMPT": "2", "GITHUB_REF": "refs/pull/7/merge",
    "GITHUB_WORKFLOW_REF": "o/r/.github/workflows/build.yml@refs/heads/main",
    "GITHUB_TOKEN": "ghs_SECRET", "ACTIONS_RUNTIME_TOKEN": "SECRET",
}
GITLAB = {
    "GITLAB_CI": "true", "CI_SERVER_URL": "https://gitlab.example.com", "CI_PROJECT_PATH": "g/p",
    "CI_PROJECT_URL": "https://gitlab.example.com/g/p", "CI_JOB_ID": "9", "CI_PIPELINE_ID": "8",
    "CI_JOB_URL": "https://gitlab.example.com/g/p/-/jobs/9", "CI_RUNNER_ID": "3", "CI_COMMIT_BRANCH": "main",
    "CI_JOB_STARTED_AT": "2024-01-01T00:00:00Z", "CI_JOB_TOKEN": "SECRET",
    "CI_REPOSITORY_URL": "https://gitlab-ci-token:SECRET@gitlab.example.com/g/p.git",
}


def test_github_actions() -> None:
    ctx = build_context(GITHUB)
    assert ctx.ci == "github"
    assert ctx.builder_id == "https://github.com/o/r/.github/workflows/build.yml@refs/heads/main"
    assert ctx.invocation_id == "https://github.com/o/r/actions/runs/42/attempts/2"
    assert ctx.repository_url == "https://github.com/o/r" and ctx.ref == "refs/pull/7/merge"
    assert ctx.workflow == {"ref": "refs/heads/main", "repository": "https://github.com/o/r",
                            "path": ".github/workflows/build.yml"}
    assert "SECRET" not in repr(ctx)


def test_gitlab_ci() -> None:
    ctx = build_context(GITLAB)
    assert ctx.ci == "gitlab"
    assert ctx.builder_id == "https://gitlab.example.com/g/p/-/runners/3"
    assert ctx.invocation_id == "https://gitlab.example.com/g/p/-/jobs/9"
    assert ctx.ref == "refs/heads/main" and ctx.started_on == "2024-01-01T00:00:00Z"
    assert "SECRET" not in repr(ctx)


def test_generic_ci_and_builder_id_option() -> None:
    ctx = build_context({"CI": "true", "BUILD_URL": "https://u:p@jenkins.example.com/job/1/"})
    assert ctx.ci == "generic" and ctx.invocation_id == "https://jenkins.example.com/job/1/"
    assert build_context({}, "https://b.example.com").builder_id == "https://b.example.com"
    assert build_context(GITHUB, "https://mine").builder_id == "https://mine"


def test_attest_under_github_actions_copies_no_secret(repo: Path, gpg_env: Env) -> None:
    git(repo, "remote", "add", "origin", "https://x-access-token:ghs_SECRET@github.com/o/r.git")
    (repo / "a.bin").write_bytes(b"a")
    r = srcprov(repo, "attest", "--subject", "a.bin", "--no-sign", env=GITHUB)
    assert r.returncode == 0, r.stderr
    assert "SECRET" not in r.stdout
    st = json.loads(base64.b64decode(json.loads(r.stdout)["payload"]))
    assert "SECRET" not in json.dumps(st)
    src, note = st["predicate"]["buildDefinition"]["resolvedDependencies"]
    assert src["uri"] == "git+https://github.com/o/r@refs/pull/7/merge"
    assert note["uri"] == "git+https://github.com/o/r@refs/notes/srcprov"
    assert st["predicate"]["runDetails"]["metadata"]["invocationId"] == "https://github.com/o/r/actions/runs/42/attempts/2"


def test_attest_outside_ci_strips_origin_credentials(repo: Path, gpg_env: Env) -> None:
    git(repo, "remote", "add", "origin", "https://user:SECRET@git.example.com/team/app.git")
    (repo / "a.bin").write_bytes(b"a")
    r = srcprov(repo, "attest", "--subject", "a.bin", "--no-sign")
    st = json.loads(base64.b64decode(json.loads(r.stdout)["payload"]))
    assert st["predicate"]["buildDefinition"]["resolvedDependencies"][0]["uri"] == \
        "git+https://git.example.com/team/app.git@refs/heads/main"
    assert "SECRET" not in r.stdout


def test_pull_request_head_checkout_names_the_head_ref(repo: Path, gpg_env: Env) -> None:
    (repo / "a.bin").write_bytes(b"a")
    env = dict(GITHUB, GITHUB_SHA="0" * 40)  # GitHub's merge commit, not the checked-out head
    r = srcprov(repo, "attest", "--subject", "a.bin", "--no-sign", env=env)
    st = json.loads(base64.b64decode(json.loads(r.stdout)["payload"]))
    assert st["predicate"]["buildDefinition"]["resolvedDependencies"][0]["uri"] == "git+https://github.com/o/r@refs/pull/7/head"
