"""What the shims run: one function per hook. Kept lean: no typer, no tabulate on this path."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, cast

from srcprov import state
from srcprov.errors import SrcprovError
from srcprov.git import Repo, no_git_env

if TYPE_CHECKING:
    import pygit2


def _warn(msg: str) -> None:
    print(f"srcprov: warning: {msg}", file=sys.stderr)


ABORT = 3  # pre-commit's exit code for "srcprov.require=block aborts this commit" (the shim exits 1 on it)
KEYCHECK_VALID = 900.0  # seconds the shim trusts a key check before asking Python again


def run_check(command: str, cwd: Path, timeout: float) -> int:
    """Run a policy check (a shell command) in its own process group; past TIMEOUT the whole group is
    killed (no orphan keeps running) and the exit code is 124, as timeout(1) says."""
    proc = subprocess.Popen(command, shell=True, cwd=cwd, env=no_git_env(), stdin=subprocess.DEVNULL, process_group=0)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        return 124
    except BaseException:  # Ctrl-C at the terminal: the check goes with the commit
        _kill_group(proc)
        raise


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    for sig, grace in ((signal.SIGTERM, 1.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            continue
    # The shell may be gone while its children live on in the group: the KILL above reached them too.


def _keycheck_identity(repo: Repo) -> str:
    """What the shim compares to trust a cached key check: format, GnuPG home, gpg.program, key."""
    from srcprov.recording.signer import signing_config

    fmt, key = signing_config(repo)
    home = os.environ.get("GNUPGHOME") or f"{os.environ.get('HOME', '')}/.gnupg"
    return f"{fmt} {home} {repo.config('gpg.program') or ''} {key or ''}"


def _remember_key_check(repo: Repo, usable: bool) -> None:
    """Let the pre-commit shim skip Python while the key stays usable and the keyring unchanged."""
    path, until = state.keycheck(repo.common_dir)
    d = path.parent
    try:
        if not usable:
            path.unlink(missing_ok=True)
            return
        d.mkdir(exist_ok=True)
        path.write_text(_keycheck_identity(repo) + "\n")
        until.touch()
        t = time.time() + KEYCHECK_VALID
        os.utime(until, (t, t))
    except OSError:
        pass  # no cache: the next commit asks Python again


def pre_commit(repo: Repo) -> int:
    """Note the staged tree, run the policy's checks, and warn or block per `srcprov.require`."""
    from srcprov.recording.signer import make_signer
    from srcprov.trust.policy import POLICY_DIR, load_policy_dir

    mode = repo.config("srcprov.require") or "warn"
    started = int(time.time())
    # git write-tree must see the index git is committing (GIT_INDEX_FILE), so keep git's env here.
    proc = subprocess.run(["git", "write-tree"], capture_output=True)
    if proc.returncode != 0:
        return 0  # unmerged index: git itself will refuse the commit
    tree = proc.stdout.decode().strip()
    problems: list[str] = []
    results = []
    if repo.workdir is not None and (repo.workdir / POLICY_DIR / "policy.toml").is_file():
        try:
            policy = load_policy_dir(repo.workdir / POLICY_DIR)
        except SrcprovError as e:
            policy = None
            problems.append(str(e))
        for check in policy.checks if policy else ():
            t0 = time.monotonic()
            code = run_check(check.command, repo.workdir, check.timeout)
            results.append({"name": check.name, "command": check.command, "exitCode": code,
                            "durationMs": int((time.monotonic() - t0) * 1000)})
            if code != 0 and check.required:
                why = f"timed out after {check.timeout:g}s" if code == 124 else f"exit code {code}"
                problems.append(f"required check {check.name!r} failed ({why})")
    if mode != "off":
        try:
            why_not = make_signer(repo).usable()
        except SrcprovError as e:
            why_not = str(e)
        _remember_key_check(repo, why_not is None)
        if why_not:
            problems.append(f"no usable signing key: {why_not}")
    d = state.precommit(repo.common_dir)
    try:
        d.mkdir(parents=True, exist_ok=True)
        (d / tree).write_text(json.dumps({"stagedTree": tree, "startedAtEpoch": started, "checks": results}))
    except OSError as e:
        _warn(f"cannot write {d} (srcprov's state: {e.strerror}): the record will not say what pre-commit saw")
    if problems:
        if mode == "block":
            for p in problems:
                print(f"srcprov: error: {p}", file=sys.stderr)
            print("srcprov: commit aborted (srcprov.require=block); SRCPROV_SKIP=1 commits without a record",
                  file=sys.stderr)
            return ABORT
        if mode == "warn":
            for p in problems:
                _warn(p + " (the commit goes on; `srcprov doctor` says more)")
    return 0


def post_commit(repo: Repo, trigger: str = "post-commit") -> int:
    """Queue HEAD; record it now (sync mode) or leave it to a detached worker."""
    from srcprov.recording.queue import enqueue

    if repo.pg.head_is_unborn:
        return 0
    commit = str(repo.pg.head.target)
    try:
        enqueue(repo, commit, trigger)
    except OSError as e:
        _warn(f"cannot write {repo.common_dir / 'srcprov' / 'queue'} (srcprov's state: {e.strerror}), so {commit[:12]} "
              f"has no record yet: fix it, then run `srcprov record {commit}`")
        return 0
    return _after_enqueue(repo)


def _after_enqueue(repo: Repo) -> int:
    from srcprov.recording.worker import READ_SIGN_TIMEOUT, drain

    if (repo.config("srcprov.hookMode") or "background") == "sync":
        try:
            # Behind a worker that waits on a passphrase, waiting gains nothing: leave it queued.
            res = drain(repo, wait=True, stall=READ_SIGN_TIMEOUT)
        except (SrcprovError, OSError) as e:
            _warn(f"record queued, not written: {e}")
            return 0
        if res is None:
            _warn("record queued, not written: a worker is waiting on gpg (a passphrase?); "
                  "`srcprov record --pending --wait` from a terminal writes it")
        elif res.failed:
            _warn(f"record queued, not written: {res.failed[0][1]}")
        return 0
    spawn_worker(repo)
    return 0


def spawn_worker(repo: Repo) -> None:
    """Start one detached worker that writes the queued records."""
    subprocess.Popen(
        [sys.executable, "-m", "srcprov", "hook", "worker"],
        cwd=repo.cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def post_merge(repo: Repo, args: Sequence[str]) -> int:
    """Queue the merge commit a merge made (git runs no post-commit then); not a fast-forward."""
    if (args and args[0] == "1") or repo.pg.head_is_unborn:
        return 0  # a squash merge makes no commit
    head = repo.pg.head
    commit = cast("pygit2.Commit", head.peel())  # HEAD always peels to a commit
    if len(commit.parent_ids) < 2:
        return 0
    try:
        entry = next(iter(repo.pg.references["HEAD"].log()))
        message = entry.message or ""
    except (KeyError, StopIteration, Exception):
        message = ""
    if "fast-forward" in message.lower():
        return 0
    return post_commit(repo, "post-merge")


def post_rewrite(repo: Repo, args: Sequence[str], stdin: str) -> int:
    """Queue each rewritten commit with the old commits it replaces (several for a squash)."""
    from srcprov.recording.queue import enqueue

    if args and args[0] == "amend" and any((repo.git_dir / d).is_dir() for d in ("rebase-merge", "rebase-apply")):
        # The sequencer amends its own intermediate commits (squash, fixup); the rebase's own
        # post-rewrite, at the end, maps the original commits to the final ones.
        return 0
    olds: dict[str, list[str]] = {}
    for line in stdin.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            olds.setdefault(parts[1], [])
            if parts[0] not in olds[parts[1]]:
                olds[parts[1]].append(parts[0])
    try:
        for new, old in olds.items():
            enqueue(repo, new, "post-rewrite", old)
    except OSError as e:
        _warn(f"cannot write {repo.common_dir / 'srcprov' / 'queue'} (srcprov's state: {e.strerror}): "
              "the rewritten commits have no record yet: `srcprov record --backfill` writes them")
        return 0
    if olds:
        return _after_enqueue(repo)
    return 0


def pre_push(repo: Repo, args: Sequence[str], stdin: str) -> int:
    """Write queued records first; push the notes ref with srcprov.pushNotes; warn about gaps."""
    from srcprov.notes import read_all_notes
    from srcprov.recording.queue import pending
    from srcprov.recording.worker import READ_SIGN_TIMEOUT, drain

    if pending(repo):
        try:
            res = drain(repo, wait=True, stall=READ_SIGN_TIMEOUT)
            if res is None:
                _warn("queued records not written: a worker is waiting on gpg (a passphrase?)")
            elif res.failed:
                _warn(f"{len(res.failed)} queued record(s) not written: {res.failed[0][1]}")
        except (SrcprovError, OSError) as e:
            _warn(f"queued records not written: {e}")
    remote = args[0] if args else "origin"
    pushed: list[str] = []
    zero = {"0" * 40, "0" * 64}
    for line in stdin.splitlines():
        parts = line.split()
        if len(parts) != 4 or parts[1] in zero:
            continue
        if parts[0].startswith("refs/notes/") or parts[2].startswith("refs/notes/"):
            continue  # notes commits (srcprov's own records among them) are not commits to check
        excl = [f"^{parts[3]}"] if parts[3] not in zero else ["--not", f"--remotes={remote}"]
        proc = repo.git("rev-list", parts[1], *excl, check=False)
        pushed += proc.stdout.decode().split()
    if pushed:
        have = read_all_notes(repo)
        lacking = [c for c in dict.fromkeys(pushed) if c not in have]
        if lacking:
            _warn(f"{len(lacking)} pushed commit(s) have no srcprov record (e.g. {lacking[0][:12]}): "
                  "`srcprov record --backfill` or `srcprov repair` can add them")
    if (repo.config("srcprov.pushNotes") or "false").lower() in ("true", "yes", "on", "1"):
        ref = repo.notes_ref
        proc = repo.git("push", "--no-verify", remote, f"{ref}:{ref}", check=False)
        if proc.returncode != 0:
            _warn(f"could not push {ref} to {remote} (run `srcprov sync --remote {remote}`)")
    return 0


def run_hook(name: str, args: Sequence[str]) -> int:
    """Dispatch a hook by name; a hook never raises into git."""
    if os.environ.get("SRCPROV_SKIP") == "1":
        return 0
    try:
        repo = Repo()
        if name == "worker":
            from srcprov.recording.worker import run_worker

            try:
                os.setsid()  # detach from git's session: a Ctrl-C at the terminal must not stop it
                if os.nice(0) < 10:  # the shim may have started it niced already
                    os.nice(10)  # the user's next command comes first; the record can wait a moment
            except OSError:
                pass

            return run_worker(repo)
        if name == "pre-commit":
            return pre_commit(repo)
        if name == "post-commit":
            return post_commit(repo)
        if name == "post-merge":
            return post_merge(repo, args)
        if name in ("post-rewrite", "pre-push"):
            data = sys.stdin.read() if not sys.stdin.isatty() else ""
            return post_rewrite(repo, args, data) if name == "post-rewrite" else pre_push(repo, args, data)
    except SrcprovError as e:
        _warn(str(e))
        return 0
    except Exception as e:  # never break a commit over our own bug
        if os.environ.get("SRCPROV_DEBUG"):
            raise
        _warn(f"hook {name} failed: {e.__class__.__name__}: {e}")
        return 0
    print(f"srcprov: error: unknown hook {name!r}", file=sys.stderr)
    return 2
