"""A local forge for the Source track tests: a bare repository, a developer's clone that records, a clone with
no hooks acting as the merge button (merge, squash, rebase), and CI's clone holding the `source` key."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tests.attest.conftest import Env, commit_file, git, init_repo, srcprov, write_policy

ROLES = {"alice": ["author", "reviewer"], "builder": ["builder", "source"], "bob": ["reviewer"]}


@dataclass
class Forge:
    root: Path
    env: Env
    bare: Path
    dev: Path
    button: Path
    ci: Path

    def tip(self, branch: str = "main") -> str:
        """The forge's branch tip."""
        return git(self.bare, "rev-parse", f"refs/heads/{branch}")

    def pr(self, name: str, n: int, *, record: bool = True, base: str = "main") -> list[str]:
        """A pull request: N commits by alice on branch NAME off the forge's BASE, recorded, pushed with the notes."""
        git(self.dev, "fetch", "-q", "origin")
        git(self.dev, "switch", "-q", "-C", name, f"origin/{base}")
        made = [commit_file(self.dev, f"{name}/f{i}.txt", f"{name} {i}\n", f"{name} {i}") for i in range(n)]
        if record:
            r = srcprov(self.dev, "record", f"origin/{base}..{name}")
            assert r.returncode == 0, r.stderr
        git(self.dev, "push", "-q", "origin", name)
        self.push_notes(self.dev)
        return made

    def push_notes(self, repo: Path) -> None:
        r = srcprov(repo, "sync", "--remote", "origin")
        assert r.returncode == 0, r.stderr

    def button_do(self, *steps: tuple[str, ...]) -> tuple[str, str]:
        """Run git STEPS in the merge button's clone on an up-to-date main, push main; (before, after)."""
        git(self.button, "fetch", "-q", "origin")
        git(self.button, "switch", "-q", "-C", "main", "origin/main")
        before = git(self.button, "rev-parse", "HEAD")
        for step in steps:
            git(self.button, *step)
        git(self.button, "push", "-q", "origin", "main")
        return before, git(self.button, "rev-parse", "HEAD")

    def merge(self, name: str) -> tuple[str, str]:
        """The merge button's merge commit."""
        return self.button_do(("merge", "-q", "--no-ff", "-m", f"Merge pull request from {name}", f"origin/{name}"))

    def squash(self, name: str) -> tuple[str, str]:
        """The merge button's squash merge."""
        return self.button_do(("merge", "-q", "--squash", f"origin/{name}"), ("commit", "-q", "-m", f"{name} (#1)"))

    def rebase(self, name: str) -> tuple[str, str]:
        """The merge button's rebase merge: the pull request's commits copied onto main (committer: the forge)."""
        git(self.button, "fetch", "-q", "origin")
        git(self.button, "switch", "-q", "-C", f"rb-{name}", f"origin/{name}")
        git(self.button, "rebase", "-q", "--force-rebase", "origin/main")
        head = git(self.button, "rev-parse", "HEAD")
        return self.button_do(("merge", "-q", "--ff-only", head))

    def main_moves(self, name: str = "moved") -> str:
        """Someone's recorded pull request fast-forwards main (the target moves on)."""
        (c,) = self.pr(name, 1)
        git(self.bare, "update-ref", "refs/heads/main", c)
        return c

    def ci_fetch(self) -> None:
        """CI's checkout: the forge's branches and pull requests' heads, and its notes."""
        git(self.ci, "fetch", "-q", "origin", "+refs/heads/*:refs/remotes/origin/*",
            "+refs/notes/srcprov:refs/notes/srcprov")

    def source_update(self, before: str, after: str, *extra: str, env: dict[str, str] | None = None) -> tuple[int, dict]:
        """CI's `source-update --json` of the push BEFORE..AFTER of main; (exit code, output)."""
        self.ci_fetch()
        git(self.ci, "checkout", "-q", "--detach", after)
        r = srcprov(self.ci, "source-update", "--before", before, "--after", after, "--ref", "refs/heads/main",
                    "--json", *extra, env=env)
        assert r.returncode in (0, 1), r.stderr
        return r.returncode, json.loads(r.stdout)

    def records(self, commit: str, repo: Path | None = None) -> list[dict]:
        """`show --json` records of COMMIT in CI's clone (or REPO), each with its decoded statement."""
        out = json.loads(srcprov(repo or self.ci, "show", commit, "--json").stdout)
        return out["records"]


def make_forge(root: Path, env: Env, reviews: int = 0) -> Forge:
    """A forge whose main holds an initial commit (the policy's `since`) and the recorded policy commit."""
    dev = init_repo(root / "dev", env)
    base = commit_file(dev, "README", "hello\n", "initial")
    write_policy(dev, env, ROLES, reviews=reviews)
    policy = dev / ".srcprov" / "policy.toml"
    policy.write_text(policy.read_text().replace("[require]\n", f'[require]\nsince = "{base}"\n'))
    git(dev, "add", ".srcprov")
    git(dev, "commit", "-q", "-m", "policy")
    assert srcprov(dev, "record").returncode == 0
    if reviews:
        review(dev, env, "HEAD")
    bare = root / "forge.git"
    git(root, "init", "-q", "--bare", str(bare))
    git(dev, "remote", "add", "origin", str(bare))
    git(dev, "push", "-q", "origin", "main")
    f = Forge(root, env, bare, dev, root / "button", root / "ci")
    f.push_notes(dev)
    git(root, "clone", "-q", str(bare), str(f.button))
    git(f.button, "config", "user.name", "Forge")
    git(f.button, "config", "user.email", "noreply@forge.example")
    git(root, "clone", "-q", str(bare), str(f.ci))
    git(f.ci, "config", "srcprov.signingKey", env.fpr["builder"])
    # CI's first run, on the push that brought the policy: the policy it verifies with is the pushed one.
    code, out = f.source_update(base, f.tip(), "--policy-rev", f.tip(), "--push", "origin")
    held = ["SRCPROV_PROVENANCE", "SRCPROV_VERIFIED_COMMITS"] + (["SRCPROV_REVIEWED"] if reviews else [])
    assert code == 0 and [c["name"] for c in out["controls"]] == held, out
    return f


def review(repo: Path, env: Env, rev: str) -> None:
    """Bob approves REV in REPO (then REPO signs with alice's key again)."""
    git(repo, "config", "srcprov.signingKey", env.fpr["bob"])
    git(repo, "config", "user.email", "bob@example.com")
    assert srcprov(repo, "review", rev).returncode == 0
    git(repo, "config", "srcprov.signingKey", env.fpr["alice"])
    git(repo, "config", "--unset", "user.email")
