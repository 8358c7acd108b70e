"""Installing and removing the hook shims, chaining hooks that are not ours."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from srcprov.errors import SrcprovError
from srcprov.git import Repo
from srcprov.resources import data_dir

HOOKS = ("pre-commit", "post-commit", "post-merge", "post-rewrite", "pre-push")
SHIM_ID = b"srcprov-hook-id: 3f6c9d1e-srcprov-shim"
LEGACY = ".srcprov-legacy"


SHIM = "srcprov-hook"  # one script for every hook: the installed file's name says which hook it runs


def shim_dir() -> Path:
    """Where the shim template is."""
    return data_dir("hooks", SHIM)


def shim_text(name: str) -> bytes:
    """The shim for hook NAME, running this interpreter: the script with only NAME's parts."""
    quoted = sys.executable.replace("'", "'\\''").encode()  # it stands between single quotes
    return only_parts_for((shim_dir() / SHIM).read_bytes(), name).replace(b"@PYTHON@", quoted)


def only_parts_for(script: bytes, name: str) -> bytes:
    """SCRIPT without the parts marked (`# @hooks A B` ... `# @end`) for hooks other than NAME."""
    out: list[bytes] = []
    keep = True
    for line in script.splitlines(keepends=True):
        if line.startswith(b"# @hooks "):
            keep = name.encode() in line.split()[2:]
            continue
        if line.rstrip() == b"# @end":
            keep = True
            continue
        if keep:
            out.append(line)
    return b"".join(out)


def hooks_dir(repo: Repo) -> Path:
    """The effective hooks directory (core.hooksPath honoured, as git resolves it)."""
    path = repo.git_text("rev-parse", "--git-path", "hooks")
    p = Path(path)
    return p if p.is_absolute() else (repo.cwd / p).resolve()


def is_ours(path: Path) -> bool:
    """True when PATH is one of srcprov's shims."""
    try:
        return SHIM_ID in path.read_bytes()[:512]
    except OSError:
        return False


def _manager(d: Path) -> str | None:
    if d.name == "_" and d.parent.name == ".husky":
        return "husky (regenerates .husky/_; add `srcprov hook NAME` lines to .husky/NAME instead)"
    return None


def _tracked_hooks(repo: Repo, d: Path, names: list[str]) -> list[str]:
    """The files of the hooks directory D that the repository tracks, when D lies inside the work tree."""
    if repo.workdir is None:
        return []
    try:
        rel = d.resolve().relative_to(repo.workdir)
    except ValueError:
        return []  # outside the work tree (.git/hooks, a shared directory)
    if not rel.parts:
        return []
    proc = repo.git("ls-files", "-z", "--", rel.as_posix(), check=False)
    files = [f for f in proc.stdout.decode("utf-8", "surrogateescape").split("\0") if f]
    ours = {(rel / n).as_posix() for n in names} | {(rel / (n + LEGACY)).as_posix() for n in names}
    # Any tracked file there is a reason to stop: a shim or a chained hook would change under version control.
    return sorted(files, key=lambda f: (f not in ours, f))


def install(repo: Repo, hooks: list[str] | None = None, force: bool = False) -> list[str]:
    """Install shims into the hooks directory; returns what was done, one line per hook."""
    names = hooks or list(HOOKS)
    for n in names:
        if n not in HOOKS:
            raise SrcprovError(f"unknown hook {n!r} (hooks: {', '.join(HOOKS)})")
    d = hooks_dir(repo)
    manager = _manager(d)
    if manager and not force:
        raise SrcprovError(f"the hooks directory {d} belongs to {manager}; --force installs anyway")
    tracked = _tracked_hooks(repo, d, names)
    if tracked and not force:
        raise SrcprovError(
            f"the hooks directory {d} (core.hooksPath) holds files tracked in this repository ({', '.join(tracked[:3])}): "
            f"installing would rewrite them with shims naming this machine's Python ({sys.executable}); "
            "add `srcprov hook NAME` to those hooks yourself, or --force installs anyway")
    d.mkdir(parents=True, exist_ok=True)
    done = []
    for n in names:
        path = d / n
        text = shim_text(n)
        legacy = d / (n + LEGACY)
        if path.exists() and not is_ours(path):
            if legacy.exists() and not force:
                raise SrcprovError(f"{legacy} exists already; move it away or use --force")
            os.replace(path, legacy)  # keeps bytes and mode: uninstall puts it back as it was
            done.append(f"{n}: installed, chaining the existing hook")
        elif path.exists() and path.read_bytes() == text and not force:
            done.append(f"{n}: already installed")
            continue
        else:
            done.append(f"{n}: installed")
        tmp = path.with_name(path.name + ".srcprov-tmp")
        tmp.write_bytes(text)
        tmp.chmod(0o755)
        os.replace(tmp, path)
    repo.git("config", "srcprov.installedHooks", ",".join(names))
    _compile_package()
    return done


def _compile_package() -> None:
    """Byte-compile srcprov so hooks never compile it at commit time (PYTHONDONTWRITEBYTECODE, editable installs)."""
    import compileall

    try:
        compileall.compile_dir(str(Path(__file__).resolve().parent), quiet=2, workers=1)
    except OSError:
        pass  # a read-only installation: slower hooks, nothing worse


def uninstall(repo: Repo) -> list[str]:
    """Remove srcprov's shims and config; put chained hooks back byte for byte."""
    d = hooks_dir(repo)
    done = []
    for n in HOOKS:
        path = d / n
        legacy = d / (n + LEGACY)
        if path.exists() and is_ours(path):
            path.unlink()
            if legacy.exists():
                os.replace(legacy, path)
                done.append(f"{n}: removed, restored the chained hook")
            else:
                done.append(f"{n}: removed")
    repo.git("config", "--unset-all", "srcprov.installedHooks", check=False)
    (repo.git_dir / "srcprov.hookmode").unlink(missing_ok=True)  # pre-commit's note to post-commit
    return done
