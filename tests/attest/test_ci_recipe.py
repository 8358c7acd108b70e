"""The GitHub Actions recipe of docs/ci.md, run here as Actions runs it: its own YAML, its `run:` scripts under
`bash -eo pipefail`, `${{ }}` expressions and GITHUB_* variables as Actions sets them, secrets only where
Actions gives them, against a local forge (a bare repository; GitHub's URLs rewritten to it). No network:
`pip install` steps are skipped (srcprov runs from this checkout) and the Build step makes a stand-in file."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

from testing.keys import gnupg_home, kill_agent
from tests.attest.conftest import Env, commit_file, git, srcprov
from tests.attest.forge import Forge, make_forge

DOCS = Path(__file__).resolve().parents[2] / "docs" / "ci.md"
UPSTREAM = "https://github.com/acme/widget"
FORK = "https://github.com/mallory/widget"


def workflow() -> dict:
    """The GitHub workflow of docs/ci.md."""
    text = DOCS.read_text()
    block = re.search(r"## GitHub Actions.*?```yaml\n(.*?)```", text, re.S)
    assert block, "docs/ci.md has no GitHub workflow"
    return yaml.safe_load(block.group(1))


def gitlab_pipeline() -> dict:
    block = re.search(r"## GitLab CI.*?```yaml\n(.*?)```", DOCS.read_text(), re.S)
    assert block
    return yaml.safe_load(block.group(1))


class Runner:
    """Runs one job of the workflow for one event, as GitHub Actions would."""

    def __init__(self, tmp: Path, forge: Forge, event: dict, secrets: dict[str, str], variables: dict[str, str]) -> None:
        self.tmp, self.forge, self.event, self.secrets, self.vars = tmp, forge, event, secrets, variables
        self.notices: list[str] = []

    def expr(self, text: str) -> str:
        """`${{ a || b }}` with the contexts this workflow uses."""
        def one(name: str) -> str:
            name = name.strip()
            if name.startswith("secrets."):
                return self.secrets.get(name.removeprefix("secrets."), "")
            if name.startswith("vars."):
                return self.vars.get(name.removeprefix("vars."), "")
            ctx = self.event["github"]
            if name not in ctx:
                raise AssertionError(f"the test's Actions does not know ${{{{ {name} }}}}")
            return ctx[name]

        def sub(m: re.Match[str]) -> str:
            return next((v for v in (one(a) for a in m.group(1).split("||")) if v), "")

        return re.sub(r"\$\{\{(.*?)\}\}", sub, text)

    def run_job(self, name: str) -> tuple[int, Path]:
        job = workflow()["jobs"][name]
        ws = Path(tempfile.mkdtemp(prefix=f"ws-{name}-", dir=self.tmp)) / "widget"  # a fresh runner's workspace
        home = gnupg_home("ci-")  # a fresh runner: no keys but what the job imports
        bindir = self.tmp / "bin"
        bindir.mkdir(exist_ok=True)
        shim = bindir / "srcprov"
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m srcprov "$@"\n')
        shim.chmod(0o755)
        github_env = self.tmp / f"github_env-{name}"
        github_env.write_text("")
        env = {**os.environ, **self.event["env"], "GNUPGHOME": home, "GITHUB_ENV": str(github_env),
               "PATH": f"{bindir}:{os.environ['PATH']}"}
        try:
            for step in job["steps"]:
                uses = step.get("uses")
                if uses:
                    action, _, version = uses.partition("@")
                    assert version == "v6", f"{uses}: the current major version is v6 (node24)"
                    if action == "actions/checkout":
                        with_ = {k: self.expr(str(v)) for k, v in (step.get("with") or {}).items()}
                        assert with_.get("fetch-depth") == "0"
                        git(self.tmp, "clone", "-q", UPSTREAM, str(ws))
                        # What actions/checkout fetches for a pull request: its refs/pull/N/*.
                        git(ws, "fetch", "-q", "origin", "+refs/pull/*:refs/remotes/pull/*")
                        git(ws, "checkout", "-q", "--detach", with_.get("ref") or self.event["github"]["github.sha"])
                    continue
                script = step["run"]
                if "pip install" in script and "srcprov" in script:
                    continue  # srcprov runs from this checkout (the shim)
                if step.get("name") == "Build":
                    (ws / "dist").mkdir()
                    (ws / "dist" / "widget-1.0.tar.gz").write_bytes(b"the build's output\n")
                    continue
                step_env = {k: self.expr(str(v)) for k, v in (step.get("env") or {}).items()}
                for line in github_env.read_text().splitlines():
                    k, _, v = line.partition("=")
                    env[k] = v
                proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", self.expr(script)],
                                      cwd=ws, env={**env, **step_env}, capture_output=True, text=True)
                self.notices += [ln for ln in proc.stdout.splitlines() if ln.startswith("::notice::")]
                if proc.returncode != 0:
                    print(proc.stdout, proc.stderr)
                    return proc.returncode, ws
            return 0, ws
        finally:
            kill_agent(home)
            shutil.rmtree(home, ignore_errors=True)


def github(event_name: str, sha: str, ref: str, tmp: Path, **more: str) -> dict:
    """The `github` context and the GITHUB_* variables Actions sets for an event."""
    payload: dict = {}
    if "before" in more:
        payload["before"] = more["before"]
    path = tmp / f"event-{event_name}-{sha[:8]}.json"
    path.write_text(json.dumps(payload))
    ctx = {"github.event_name": event_name, "github.sha": sha, "github.ref": ref,
           "github.base_ref": more.get("base_ref", ""), "github.event.before": more.get("before", ""),
           "github.event.pull_request.head.sha": more.get("head_sha", ""),
           "github.event.pull_request.head.repo.full_name": more.get("head_repo", "")}
    env = {"GITHUB_ACTIONS": "true", "CI": "true", "GITHUB_EVENT_NAME": event_name, "GITHUB_SHA": sha,
           "GITHUB_REF": ref, "GITHUB_REPOSITORY": "acme/widget", "GITHUB_SERVER_URL": "https://github.com",
           "GITHUB_RUN_ID": "42", "GITHUB_RUN_ATTEMPT": "1", "GITHUB_ACTOR": "alice",
           "GITHUB_WORKFLOW_REF": f"acme/widget/.github/workflows/srcprov.yml@{ref}", "GITHUB_EVENT_PATH": str(path),
           "GITHUB_BASE_REF": more.get("base_ref", ""), "GITHUB_HEAD_REF": more.get("head_ref", "")}
    return {"github": ctx, "env": env}


def secret_key(env: Env, who: str) -> str:
    return subprocess.run(["gpg", "--homedir", env.gnupghome, "--batch", "--armor", "--export-secret-keys",
                           env.fpr[who]], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def site(tmp_path: Path, gpg_env: Env) -> Forge:
    """A forge reachable at GitHub's URLs (git's url.insteadOf), with a fork."""
    f = make_forge(tmp_path, gpg_env)
    fork = tmp_path / "fork.git"
    git(tmp_path, "clone", "-q", "--mirror", str(f.bare), str(fork))  # a fork keeps the notes it was made with
    cfg = os.environ["GIT_CONFIG_GLOBAL"]
    for url, path in ((UPSTREAM, f.bare), (FORK, fork)):
        subprocess.run(["git", "config", "--file", cfg, f"url.{path}.insteadOf", url], check=True)
    return f


def test_pull_requests_then_the_merge_button_through_the_recipe(site: Forge, gpg_env: Env, tmp_path: Path) -> None:
    f = site
    secrets = {"SRCPROV_BUILDER_KEY": secret_key(gpg_env, "builder"), "SRCPROV_SOURCE_KEY": secret_key(gpg_env, "builder")}
    variables = {"SRCPROV_BUILDER_FPR": gpg_env.fpr["builder"], "SRCPROV_SOURCE_FPR": gpg_env.fpr["builder"]}
    assert set(workflow()["jobs"]) == {"source", "build"}
    assert {"source-update", "build"} <= set(gitlab_pipeline())
    assert "base64 -d | gpg --batch --import" in json.dumps(gitlab_pipeline())

    # 1. A pull request from a branch of the repository: verified against main's policy, built, attested.
    pr = f.pr("feature", 2)
    git(f.bare, "update-ref", "refs/pull/1/head", pr[-1])
    ev = github("pull_request", pr[-1], "refs/pull/1/merge", tmp_path, base_ref="main", head_ref="feature",
                head_sha=pr[-1], head_repo="acme/widget")
    runner = Runner(tmp_path, f, ev, secrets, variables)
    code, ws = runner.run_job("build")
    assert code == 0
    att = ws / "dist" / "provenance.intoto.jsonl"
    assert att.is_file()
    assert srcprov(ws, "verify-attestation", str(att), "--subject", "dist/widget-1.0.tar.gz",
                   "--policy-rev", "origin/main").returncode == 0

    # 2. A pull request from a fork: no secrets; its records are in the fork's notes. Verified, not attested.
    fork_clone = tmp_path / "fork-dev"
    git(tmp_path, "clone", "-q", FORK, str(fork_clone))
    git(fork_clone, "config", "srcprov.signingKey", gpg_env.fpr["alice"])
    git(fork_clone, "fetch", "-q", "origin", "+refs/notes/srcprov:refs/notes/srcprov")
    fork_commit = commit_file(fork_clone, "from-fork.txt", "fork\n", "from a fork")
    assert srcprov(fork_clone, "record").returncode == 0
    git(fork_clone, "push", "-q", "origin", "HEAD:refs/heads/topic", "refs/notes/srcprov")
    git(fork_clone, "push", "-q", str(f.bare), f"{fork_commit}:refs/pull/2/head")  # GitHub copies the head over
    ev = github("pull_request", fork_commit, "refs/pull/2/merge", tmp_path, base_ref="main", head_ref="topic",
                head_sha=fork_commit, head_repo="mallory/widget")
    runner = Runner(tmp_path, f, ev, {}, variables)
    code, ws = runner.run_job("build")
    assert code == 0
    assert not (ws / "dist" / "provenance.intoto.jsonl").exists()
    assert any("not attested" in n for n in runner.notices)
    # Without the fork's notes the same commit is missing: the recipe's fetch of them is what verified it.
    assert srcprov(ws, "verify", "origin/main..HEAD", "--policy-rev", "origin/main").returncode == 0
    git(ws, "fetch", "-q", "--no-tags", "origin", "+refs/notes/srcprov:refs/notes/srcprov")  # upstream's alone
    assert srcprov(ws, "verify", "origin/main..HEAD", "--policy-rev", "origin/main").returncode == 1

    # 3. The merge button squashes the first pull request after main moved on; the push runs both jobs.
    f.main_moves()
    before_push, after = f.squash("feature")
    moved_ev = github("push", before_push, "refs/heads/main", tmp_path,
                      before=git(f.bare, "rev-parse", f"{before_push}^"))
    code, _ = Runner(tmp_path, f, moved_ev, secrets, variables).run_job("source")  # the push that moved main
    assert code == 0
    ev = github("push", after, "refs/heads/main", tmp_path, before=before_push)
    code, ws = Runner(tmp_path, f, ev, secrets, variables).run_job("source")
    assert code == 0
    vsa = json.loads((ws / "source.vsa.intoto.jsonl").read_text())
    levels = json.loads(base64.b64decode(vsa["payload"]))["predicate"]["verifiedLevels"]
    assert levels[0] == "SLSA_SOURCE_LEVEL_3"
    # The forge has the squash's forge record now.
    f.ci_fetch()
    recs = [r for r in f.records(after) if r["predicateType"] == "urn:srcprov:commit-provenance:v1"]
    assert [(r["status"], r["statement"]["predicate"]["how"]) for r in recs] == [("verified", "squash")]
    code, ws = Runner(tmp_path, f, ev, secrets, variables).run_job("build")
    assert code == 0 and (ws / "dist" / "provenance.intoto.jsonl").is_file()

    # 4. A commit pushed past the forge (no record, nothing it derives from): the source job fails and says so.
    git(f.button, "fetch", "-q", "origin")
    git(f.button, "switch", "-q", "-C", "main", "origin/main")
    direct = commit_file(f.button, "direct.txt", "x\n", "pushed past the forge")
    git(f.button, "push", "-q", "origin", "main")
    ev = github("push", direct, "refs/heads/main", tmp_path, before=after)
    code, _ = Runner(tmp_path, f, ev, secrets, variables).run_job("source")
    assert code == 1


def test_the_gitlab_pipeline_is_well_formed() -> None:
    """The GitLab pipeline parses, its scripts are valid bash, and its keys travel as one-line base64."""
    pipeline = gitlab_pipeline()
    assert pipeline["source-update"]["rules"] and pipeline["build"]["rules"]
    for name in ("source-update", "build"):
        script = "\n".join([*pipeline["default"]["before_script"], *pipeline[name]["script"]])
        proc = subprocess.run(["bash", "-n", "-c", script], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    text = json.dumps(pipeline)
    assert "SRCPROV_SOURCE_KEY_B64" in text and "SRCPROV_BUILDER_KEY_B64" in text and "base64 -d" in text
    assert "source-update --before \"$CI_COMMIT_BEFORE_SHA\"" in "\n".join(pipeline["source-update"]["script"])
