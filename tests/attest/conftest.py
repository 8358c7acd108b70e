"""Fixtures for the build side: throwaway ed25519 keys, isolated git config, real repositories."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from testing.env import isolate
from testing.keys import gnupg_home, kill_agent, openpgp_key
from testing.run import run_srcprov

KEYS = {
    "alice": "Alice Example <alice@example.com>",
    "bob": "Bob Reviewer <bob@example.com>",
    "builder": "CI Builder <ci@example.com>",
    "mallory": "Mallory <mallory@example.com>",
}


def _gen_key(home: str, uid: str) -> str:
    name, _, email = uid.partition(" <")
    return openpgp_key(home, name, email.rstrip(">"))


@dataclass
class Env:
    gnupghome: str
    fpr: dict[str, str]

    def armored(self, who: str) -> bytes:
        """A key's public part, armored."""
        return subprocess.run(["gpg", "--homedir", self.gnupghome, "--batch", "--export", "--armor", self.fpr[who]],
                              check=True, capture_output=True).stdout


@pytest.fixture(scope="session")
def gpg_env() -> Iterator[Env]:
    """A short GNUPGHOME (gpg-agent sockets dislike long paths) holding four throwaway keys."""
    home = gnupg_home("spb-")
    try:
        yield Env(home, {who: _gen_key(home, uid) for who, uid in KEYS.items()})
    finally:
        kill_agent(home)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(autouse=True)
def isolated_env(gpg_env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Overrides the suite-wide fixture of the same name: this directory's keys, a private git config
    (GIT_CONFIG_GLOBAL, GIT_CONFIG_NOSYSTEM), its own XDG_CONFIG_HOME, no inherited GIT_* variables;
    subprocesses inherit it."""
    isolate(monkeypatch, tmp_path, gpg_env.gnupghome, "[user]\n\tname = Alice Example\n\temail = alice@example.com\n"
            "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n")
    for k in ("SRCPROV_SKIP", "GITHUB_ACTIONS", "GITLAB_CI", "CI", "BUILD_ID", "BUILD_URL"):
        monkeypatch.delenv(k, raising=False)


def git(cwd: str | Path, *args: str, input: bytes | None = None) -> str:
    """Run git; return stdout stripped; fail the test on error."""
    proc = subprocess.run(["git", *args], cwd=cwd, input=input, capture_output=True)
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr.decode()}"
    return proc.stdout.decode().strip()


def srcprov(cwd: str | Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the CLI as a user would (a subprocess); returns the completed process (text)."""
    return run_srcprov(cwd, *args, env={**os.environ, **(env or {})})


def commit_file(repo: str | Path, name: str, text: str, message: str | None = None, *extra: str) -> str:
    """Write NAME, stage it and commit; return the new commit id."""
    p = Path(repo, name)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    git(repo, "add", name)
    git(repo, "commit", "-q", "-m", message or f"change {name}", *extra)
    return git(repo, "rev-parse", "HEAD")


def write_policy(repo: str | Path, env: Env, signers: dict[str, list[str]], reviews: int = 0) -> None:
    """Write .srcprov/policy.toml listing SIGNERS (who -> roles) with their exported keys."""
    d = Path(repo, ".srcprov")
    (d / "keys").mkdir(parents=True, exist_ok=True)
    lines = ["version = 1"]
    for who, roles in signers.items():
        fpr = env.fpr[who]
        (d / "keys" / f"{fpr}.asc").write_bytes(env.armored(who))
        lines += ["[[signers]]", f'name = "{KEYS[who].split(" <")[0]}"', f'fingerprint = "{fpr}"',
                  "roles = [" + ", ".join(f'"{r}"' for r in roles) + "]"]
    lines += ["[require]", 'backfilled = "allow"', f"reviews = {reviews}"]
    (d / "policy.toml").write_text("\n".join(lines) + "\n")


def init_repo(path: Path, env: Env, key: str = "alice") -> Path:
    """A new repository that signs with KEY (no hooks: records are made with `srcprov record`)."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q")
    git(path, "config", "srcprov.signingKey", env.fpr[key])
    return path


@pytest.fixture(scope="session")
def _templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Repositories built once per session and copied for each test (building one costs gpg and CLI runs)."""
    return {"root": tmp_path_factory.mktemp("templates")}


def from_template(templates: dict[str, Path], name: str, dest: Path, build: object) -> Path:
    """Copy template NAME to DEST, building it first with BUILD(path) when this session has not yet."""
    if name not in templates:
        path = templates["root"] / name
        build(path)  # type: ignore[operator]
        templates[name] = path
    shutil.copytree(templates[name], dest, symlinks=True)
    return dest


def _build_repo(path: Path, env: Env) -> None:
    init_repo(path, env)
    write_policy(path, env, {"alice": ["author", "reviewer"], "builder": ["builder"], "bob": ["reviewer"]})
    git(path, "add", ".srcprov")
    git(path, "commit", "-q", "-m", "policy")
    commit_file(path, "src/app.py", "print('hello')\n", "app")
    r = srcprov(path, "record", "HEAD~1", "HEAD")
    assert r.returncode == 0, r.stderr


@pytest.fixture
def repo(tmp_path: Path, gpg_env: Env, _templates: dict[str, Path]) -> Path:
    """A repository signing with alice, with a committed policy (alice: author+reviewer, builder: builder,
    bob: reviewer) and two recorded commits."""
    return from_template(_templates, "repo", tmp_path / "repo", lambda p: _build_repo(p, gpg_env))


# --- attestations (test_attest, test_links, test_secrets) ------------------------------------------
ARTIFACT = "dist/pkg-1.0.tar.gz"


def attest(repo: Path, gpg_env: Env, key: str = "builder", *extra: str, out: str = "pkg.intoto.jsonl") -> Path:
    """Build a fake artifact and attest it, signing with KEY."""
    (repo / "dist").mkdir(exist_ok=True)
    if not (repo / ARTIFACT).exists():
        (repo / ARTIFACT).write_bytes(b"artifact bytes\n")
    git(repo, "config", "srcprov.signingKey", gpg_env.fpr[key])
    r = srcprov(repo, "attest", "--subject", ARTIFACT, "--builder-id", "https://ci.example.com/builder",
                "--output", out, *extra)
    assert r.returncode == 0, r.stderr
    return repo / out


@pytest.fixture
def attested(tmp_path: Path, gpg_env: Env, _templates: dict[str, Path]) -> tuple[Path, Path]:
    """A copy of `repo` with an artifact and its attestation signed by the builder key."""
    def build(path: Path) -> None:
        _build_repo(path, gpg_env)
        attest(path, gpg_env)

    r = from_template(_templates, "attested", tmp_path / "repo", build)
    return r, r / "pkg.intoto.jsonl"


def check(repo: Path, att: Path, *extra: str) -> tuple[int, dict]:
    """`verify-attestation --json` of ATT against ARTIFACT: (exit code, output)."""
    r = srcprov(repo, "verify-attestation", str(att), "--subject", ARTIFACT, "--json", *extra)
    assert r.returncode in (0, 1), r.stderr
    return r.returncode, json.loads(r.stdout)


def decoded(att: Path) -> tuple[dict, dict]:
    """The (first) envelope of ATT and its statement."""
    env = json.loads(att.read_text().splitlines()[0])
    return env, json.loads(base64.b64decode(env["payload"]))
