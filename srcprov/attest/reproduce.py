"""`srcprov reproduce`: rebuild from an attestation and compare digests.

The source commit is checked out into a temporary worktree (the user's work tree is never touched), the
attested command runs there in its own process group (killed whole on timeout), and each attested subject
the rebuild made is compared with the attestation: `reproduced`, `differs` (with the sizes and the first
differing byte when the user gives the original file) or `missing`.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from srcprov.errors import SrcprovError

if TYPE_CHECKING:
    from srcprov.git import Repo
    from srcprov.trust.policy import Policy

DEFAULT_TIMEOUT = 3600.0


class Outcome(StrEnum):
    """What became of one subject."""

    REPRODUCED = "reproduced"
    DIFFERS = "differs"
    MISSING = "missing"


@dataclass
class SubjectResult:
    """One attested subject after the rebuild."""

    name: str
    outcome: Outcome
    attested: str
    rebuilt: str | None = None
    rebuilt_size: int | None = None
    original_size: int | None = None
    first_difference: int | None = None

    def to_json(self) -> dict[str, Any]:
        """This subject in `reproduce --json`."""
        out: dict[str, Any] = {"name": self.name, "status": str(self.outcome), "attested": {"sha256": self.attested}}
        if self.rebuilt is not None:
            out["rebuilt"] = {"sha256": self.rebuilt, "size": self.rebuilt_size}
        if self.original_size is not None:
            out["originalSize"] = self.original_size
        if self.first_difference is not None:
            out["firstDifference"] = self.first_difference
        return out

    def line(self) -> str:
        """This subject as a line of text output."""
        if self.outcome is Outcome.REPRODUCED:
            return f"reproduced  {self.name}  sha256 {self.attested[:16]}..."
        if self.outcome is Outcome.MISSING:
            return f"missing     {self.name}  (the rebuild made no such file)"
        if self.original_size is not None:
            where = ("sizes differ only" if self.first_difference is None
                     else f"first difference at byte {self.first_difference}")
            return (f"differs     {self.name}  {self.original_size} bytes attested, {self.rebuilt_size} rebuilt, {where}")
        return (f"differs     {self.name}  sha256 {(self.rebuilt or '')[:16]}... rebuilt ({self.rebuilt_size} bytes), "
                f"{self.attested[:16]}... attested")


@dataclass
class ReproduceResult:
    """The rebuild: the commit and command, each subject's outcome, the kept worktree (with --keep)."""

    commit: str
    command: str
    subjects: list[SubjectResult] = field(default_factory=list)
    kept: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every subject was reproduced."""
        return all(s.outcome is Outcome.REPRODUCED for s in self.subjects)

    def to_json(self) -> dict[str, Any]:
        """`reproduce --json`."""
        return {"ok": self.ok, "commit": self.commit, "command": self.command, "worktree": self.kept,
                "subjects": [s.to_json() for s in self.subjects]}

    def lines(self) -> list[str]:
        """Text output: one line per subject, a summary, where the worktree was kept."""
        out = [s.line() for s in self.subjects]
        n = sum(1 for s in self.subjects if s.outcome is Outcome.REPRODUCED)
        out.append(f"{n} of {len(self.subjects)} subject(s) reproduced from {self.commit[:12]}")
        if self.kept:
            out.append(f"the rebuild's worktree is kept at {self.kept} (remove it with `git worktree remove --force {self.kept}`)")
        return out


def first_difference(a: Path, b: Path) -> int | None:
    """The offset of the first byte where files A and B differ (None when one is a prefix of the other)."""
    offset = 0
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            ca, cb = fa.read(1 << 16), fb.read(1 << 16)
            if ca != cb:
                return next((offset + i for i, (x, y) in enumerate(zip(ca, cb, strict=False)) if x != y), None)
            if not ca:
                return None
            offset += len(ca)


def _digest(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def _inside(root: Path, name: str) -> Path | None:
    """ROOT/NAME when NAME is a relative path that stays inside ROOT (symlinks resolved), else None."""
    if not name or os.path.isabs(name) or "\0" in name:
        return None
    full = (root / name).resolve()
    return full if full.is_relative_to(root.resolve()) else None


def _attested_command(st: dict[str, Any]) -> str | None:
    ext = st["predicate"].get("buildDefinition", {}).get("externalParameters", {})
    cmd = ext.get("command") if isinstance(ext, dict) else None
    return cmd if isinstance(cmd, str) and cmd.strip() else None


def _source_date_epoch(st: dict[str, Any]) -> str | None:
    internal = st["predicate"].get("buildDefinition", {}).get("internalParameters", {})
    envd = internal.get("environment", {}) if isinstance(internal, dict) else {}
    sde = envd.get("sourceDateEpoch") if isinstance(envd, dict) else None
    return sde if isinstance(sde, str) and re.fullmatch(r"\d{1,12}", sde) else None


def _trusted(repo: Repo, policy: Policy | None, env: Any, stated: int | None = None) -> str | None:
    """None when the envelope is signed by a builder of POLICY (default: the work tree's), else why not."""
    from srcprov.errors import PolicyNotFound
    from srcprov.trust.policy import load_policy
    from srcprov.trust.verify import Verifier

    if not env.signatures:
        return "it is not signed"
    if policy is None:
        try:
            policy = load_policy(repo)
        except PolicyNotFound as e:
            return str(e)
    with Verifier(repo, policy) as verifier:
        j = verifier.judge_envelope(env, ("builder",), signed_at=stated)  # STATED: an SSH/PEM signature's time
    return None if j.trusted else (j.reason or "no valid builder signature")


def run_build(command: str, cwd: Path, env: dict[str, str], timeout: float, log: Path) -> None:
    """Run COMMAND with the shell in CWD, its output to LOG; SrcprovError when it fails or outlives TIMEOUT
    (then its whole process group is killed)."""
    with open(log, "wb") as out:
        try:
            proc = subprocess.Popen(["/bin/sh", "-c", command], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        except OSError as e:
            raise SrcprovError(f"cannot run the build command: {e.strerror}") from None
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise SrcprovError(f"the build command did not finish in {timeout:g} s: stopped it (and every process it started)") from None
        except BaseException:
            _kill_group(proc)
            raise
    try:  # what the build left running in the background is not part of it
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    if code != 0:
        tail = [ln for ln in log.read_bytes().decode("utf-8", "replace").splitlines() if ln.strip()]
        last = f": {tail[-1].strip()[:200]}" if tail else ""
        raise SrcprovError(f"the build command failed (exit code {code}){last}")


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """TERM the process group, KILL what is left 5 s later (a build's children as well as its shell)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=5.0)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def reproduce(
    repo: Repo,
    path: str,
    originals: Sequence[str] = (),
    command: str | None = None,
    keep: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    policy: Policy | None = None,
) -> ReproduceResult:
    """Rebuild the attestation PATH's source commit and compare each subject's sha256 with the attested one.

    ORIGINALS are the user's copies of attested artifacts: only those subjects are compared, byte by byte.
    The attested command runs only when a builder of POLICY (default: the work tree's) signed the
    attestation, for it is a shell command read from a file; COMMAND replaces it. SrcprovError (exit 2) when the commit is absent or the build fails.
    """
    import pygit2

    from srcprov.attest.chain import load_attestation, stated_time
    from srcprov.git import no_git_env, run_git

    if timeout <= 0:
        raise SrcprovError("--timeout must be more than 0 seconds")
    env, st = load_attestation(path)
    deps = st["predicate"]["buildDefinition"]["resolvedDependencies"]
    commit = deps[0].get("digest", {}).get("gitCommit") if isinstance(deps[0].get("digest"), dict) else None
    if not isinstance(commit, str) or not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", commit):
        raise SrcprovError(f"{path} names no source commit (resolvedDependencies[0].digest.gitCommit)")
    try:
        obj = repo.pg[commit]
    except (KeyError, ValueError):
        obj = None
    if not isinstance(obj, pygit2.Commit):
        raise SrcprovError(f"the attested source commit {commit} is not in this repository (fetch it?)")
    attested: dict[str, str] = {}
    for s in st["subject"]:
        d = s.get("digest", {}).get("sha256")
        if isinstance(d, str) and isinstance(s.get("name"), str):
            attested.setdefault(s["name"], d.lower())
    if not attested:
        raise SrcprovError(f"{path} attests no subject with a name and a sha256")
    chosen: dict[str, Path | None] = {}
    for o in originals:
        from srcprov.attest.provenance import file_digest

        digest = file_digest(o)
        name = next((n for n, d in attested.items() if d == digest), None)
        if name is None:
            raise SrcprovError(f"--subject {o}: its sha256 {digest[:16]}... is not attested in {path}")
        chosen[name] = Path(o)
    if not chosen:
        chosen = dict.fromkeys(attested)
    warnings: list[str] = []
    cmd = command
    if cmd is None:
        cmd = _attested_command(st)
        if cmd is None:
            raise SrcprovError(f"{path} records no build command: pass --command CMD")
        why = _trusted(repo, policy, env, stated_time(st))
        if why is not None:
            raise SrcprovError(f"{path} is not signed by a builder of the policy ({why}): its command is not run; "
                               "pass --command CMD to run your own")
    build_env = no_git_env()
    sde = _source_date_epoch(st)
    if sde and "SOURCE_DATE_EPOCH" not in build_env:
        build_env["SOURCE_DATE_EPOCH"] = sde
    tmp = Path(tempfile.mkdtemp(prefix="srcprov-reproduce-"))
    worktree = tmp / "src"
    result = ReproduceResult(commit, cmd, warnings=warnings)
    added = False
    try:
        # No hooks: a post-checkout hook of the user's is not part of the build.
        run_git(["-c", "core.hooksPath=/dev/null", "--git-dir", str(repo.git_dir), "worktree", "add", "--detach",
                 "--quiet", str(worktree), commit], repo.cwd)
        added = True
        if keep:
            result.kept = str(worktree)
        try:
            run_build(cmd, worktree, build_env, timeout, tmp / "build.log")
        except SrcprovError as e:
            raise SrcprovError(f"{e} (kept: {tmp})" if keep else str(e)) from None
        for name, original in chosen.items():
            result.subjects.append(_compare(worktree, name, attested[name], original))
    finally:
        if not keep:
            if added:
                run_git(["--git-dir", str(repo.git_dir), "worktree", "remove", "--force", str(worktree)], repo.cwd, check=False)
            shutil.rmtree(tmp, ignore_errors=True)
            if added:
                run_git(["--git-dir", str(repo.git_dir), "worktree", "prune"], repo.cwd, check=False)
    return result


def _compare(worktree: Path, name: str, attested: str, original: Path | None) -> SubjectResult:
    rebuilt_path = _inside(worktree, name)
    if rebuilt_path is None or not rebuilt_path.is_file():
        return SubjectResult(name, Outcome.MISSING, attested)
    digest, size = _digest(rebuilt_path)
    if digest == attested:
        return SubjectResult(name, Outcome.REPRODUCED, attested, digest, size)
    res = SubjectResult(name, Outcome.DIFFERS, attested, digest, size)
    if original is not None:
        res.original_size = original.stat().st_size
        res.first_difference = first_difference(original, rebuilt_path)
    return res
