"""The one door to git: pygit2 for objects, `git` subprocesses where git does it better."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, cast

from srcprov.errors import SrcprovError

if TYPE_CHECKING:
    import pygit2

# Variables git sets for hooks that would point a child git at the wrong repository or index.
# Like pre-commit's no_git_env(): keep only what configures transport and config, drop the rest.
_KEEP_GIT_VARS = frozenset(
    {
        "GIT_EXEC_PATH", "GIT_SSH", "GIT_SSH_COMMAND", "GIT_SSL_CAINFO", "GIT_SSL_NO_VERIFY",
        "GIT_CONFIG_COUNT", "GIT_HTTP_PROXY_AUTHMETHOD", "GIT_ALLOW_PROTOCOL", "GIT_ASKPASS",
        "GIT_TERMINAL_PROMPT", "GIT_CONFIG_NOSYSTEM", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM",
        "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_AUTHOR_DATE",
        "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "GIT_COMMITTER_DATE",
    }
)


def no_git_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """Return a copy of the environment without the GIT_* variables a hook inherits."""
    env = dict(os.environ if env is None else env)
    return {
        k: v
        for k, v in env.items()
        if not k.startswith("GIT_")
        or k in _KEEP_GIT_VARS
        or k.startswith(("GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_", "GIT_TRACE"))
    }


def run_git(
    args: Sequence[str],
    cwd: str | os.PathLike[str] | None = None,
    *,
    input: bytes | None = None,
    check: bool = True,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run `git ARGS` in CWD with a clean git environment; raise SrcprovError when CHECK fails."""
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=cwd,
            input=input,
            capture_output=True,
            env=no_git_env() if env is None else env,
        )
    except FileNotFoundError:
        raise SrcprovError("git is not installed or not on PATH") from None
    if check and proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", "backslashreplace").strip().splitlines()
        first = msg[-1] if msg else f"exit code {proc.returncode}"
        raise SrcprovError(f"git {args[0]} failed: {first.removeprefix('fatal: ')}")
    return proc


def git_out(args: Sequence[str], cwd: str | os.PathLike[str] | None = None) -> str:
    """Run git and return its stdout decoded, without the final newline."""
    return run_git(args, cwd).stdout.decode("utf-8", "surrogateescape").rstrip("\n")


def path_str(raw: bytes) -> str:
    """A path as the SPEC writes it: UTF-8, invalid bytes as backslash escapes."""
    return raw.decode("utf-8", "backslashreplace")


class Repo:
    """A repository: pygit2 for objects and refs, git for what git does better."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        import pygit2

        start = os.fspath(path) if path is not None else os.getcwd()
        if not os.path.exists(start):
            raise SrcprovError(f"no such directory: {start}")
        found = pygit2.discover_repository(start)
        if found is None:
            raise SrcprovError(f"not a git repository: {start}")
        try:
            self.pg: pygit2.Repository = pygit2.Repository(found)
        except pygit2.GitError as e:
            if "object format" in str(e):
                raise SrcprovError(
                    f"{start} is a SHA-256 repository, which this build of pygit2 (libgit2 "
                    f"{pygit2.LIBGIT2_VERSION}) cannot read"
                ) from None
            raise SrcprovError(f"cannot open repository {start}: {e}") from None
        self.git_dir = Path(self.pg.path).resolve()
        self.workdir: Path | None = Path(self.pg.workdir).resolve() if self.pg.workdir else None

    # --- locations -------------------------------------------------------------------------
    @cached_property
    def common_dir(self) -> Path:
        """The git directory shared by all worktrees (where the queue and caches live)."""
        commondir = self.git_dir / "commondir"
        if commondir.is_file():
            return (self.git_dir / commondir.read_text().strip()).resolve()
        return self.git_dir

    @property
    def cwd(self) -> Path:
        """Where git subprocesses run: the work tree, or the git directory of a bare repository."""
        return self.workdir or self.git_dir

    def state_dir(self) -> Path:
        """srcprov's own directory inside the common git directory, created on demand."""
        from srcprov.state import root

        d = root(self.common_dir)
        d.mkdir(exist_ok=True)
        return d

    def git(self, *args: str, input: bytes | None = None, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        """Run git in this repository."""
        return run_git(["--git-dir", str(self.git_dir), *args], self.cwd, input=input, check=check)

    def git_text(self, *args: str) -> str:
        """Run git in this repository and return stdout without the final newline."""
        return self.git(*args).stdout.decode("utf-8", "surrogateescape").rstrip("\n")

    # --- config ----------------------------------------------------------------------------
    def config(self, key: str, default: str | None = None) -> str | None:
        """A git config value as git resolves it (includes, worktree config), or DEFAULT."""
        try:
            return self.pg.config[key]
        except (KeyError, ValueError):
            return default
        except Exception:  # pygit2 raises GitError for unreadable config
            return default

    @property
    def notes_ref(self) -> str:
        """The notes ref srcprov writes (`srcprov.notesRef`, default refs/notes/srcprov)."""
        ref = self.config("srcprov.notesRef") or "refs/notes/srcprov"
        return ref if ref.startswith("refs/") else f"refs/notes/{ref}"

    @property
    def object_format(self) -> str:
        """`sha1` or `sha256`."""
        return self.config("extensions.objectformat", "sha1") or "sha1"

    # --- objects ---------------------------------------------------------------------------
    # pygit2 types `repo.pg[oid]` as the bare Object; these name what the caller knows it holds.
    # cast() only informs the type checker: nothing is checked or converted at run time.
    def blob_data(self, oid: str | pygit2.Oid) -> bytes:
        """The bytes of the blob OID (KeyError when the repository has no such object)."""
        return cast("pygit2.Blob", self.pg[oid]).data

    def commit(self, oid: str | pygit2.Oid) -> pygit2.Commit:
        """The commit OID (KeyError when the repository has no such object)."""
        return cast("pygit2.Commit", self.pg[oid])

    # --- revisions -------------------------------------------------------------------------
    def is_empty(self) -> bool:
        """True when the repository has no commits on HEAD."""
        return self.pg.head_is_unborn

    def resolve_commit(self, rev: str) -> pygit2.Commit:
        """The commit REV names; SrcprovError when it names none."""
        import pygit2

        if self.pg.head_is_unborn and rev in ("HEAD", "@"):
            raise SrcprovError("the repository has no commits yet")
        try:
            obj = self.pg.revparse_single(rev)
            commit = obj.peel(pygit2.Commit)
        except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError):
            raise SrcprovError(f"unknown revision: {rev}{self.shallow_hint()}") from None
        return commit

    def shallow_hint(self) -> str:
        """What to add to an unknown-revision error in a shallow clone (it may lie outside the history)."""
        if not (self.common_dir / "shallow").is_file():
            return ""
        return (" (this clone is shallow: it may lie outside the history fetched; `git fetch --unshallow` "
                "fetches the rest, or verify a range inside it)")

    def rev_list(self, revs: Iterable[str], extra: Sequence[str] = ()) -> list[str]:
        """Commit ids as `git rev-list REVS` lists them (newest first); ranges and --all allowed."""
        revs = list(revs)
        for r in revs:
            if r.startswith("-") and r not in ("--all", "--branches", "--tags", "--remotes"):
                raise SrcprovError(f"unsupported revision option: {r}")
        if self.pg.head_is_unborn and not any(r == "--all" for r in revs):
            raise SrcprovError("the repository has no commits yet")
        # --all means the history, not srcprov's own notes commits nor the stash (`git log --all` minus
        # what --exclude leaves out: a stash's commits are no one's history).
        revs = [x for r in revs for x in (["--exclude=refs/notes/*", "--exclude=refs/stash", "--all"] if r == "--all" else [r])]
        proc = self.git("rev-list", *extra, *revs, "--", check=False)
        if proc.returncode != 0:
            err = proc.stderr.decode("utf-8", "backslashreplace").strip().splitlines()
            detail = err[0].removeprefix("fatal: ") if err else "bad revision"
            raise SrcprovError(f"unknown revision or range {' '.join(revs)}: {detail}{self.shallow_hint()}")
        return proc.stdout.decode().split()
