"""Shared helpers for the srcprov benchmarks (bench/hooks, bench/verify). Not a test module.

A Sandbox is a throwaway world: a GnuPG home under /tmp (short path: gpg-agent sockets dislike long
paths) holding one ed25519 key without a passphrase, a temporary global git config, no system git
config. It exports these in os.environ so every child (git, its hooks, srcprov's detached workers,
gpg) sees them, and it undoes everything on close: kills the gpg-agent it started, removes its files.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the fixture kit
from testing.keys import openpgp_key, ssh_key  # noqa: E402

NAME, EMAIL = "Bench Mark", "bench@example.com"


def srcprov_cmd() -> list[str]:
    """How to run the installed srcprov: its console script beside this interpreter, else `python -m srcprov`.

    Not `shutil.which("srcprov")`: under pyenv that is a bash shim that costs ~200 ms per call by itself.
    """
    exe = Path(sys.executable).parent / "srcprov"
    return [str(exe)] if exe.is_file() and os.access(exe, os.X_OK) else [sys.executable, "-m", "srcprov"]


def run(args: Sequence[str], cwd: str | os.PathLike[str] | None = None, *, input: bytes | None = None,
        check: bool = True, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run a command, capture its output, and fail loudly (with its stderr) when CHECK and it fails."""
    proc = subprocess.run(list(args), cwd=cwd, input=input, capture_output=True, env=env,
                          stdin=None if input is not None else subprocess.DEVNULL)
    if check and proc.returncode != 0:
        raise SystemExit(f"bench: command failed ({proc.returncode}): {' '.join(map(str, args))}\n"
                         f"{proc.stderr.decode('utf-8', 'replace')[-2000:]}")
    return proc


def timed(args: Sequence[str], cwd: str | os.PathLike[str] | None = None, **kw: object) -> float:
    """Wall time of one command, in seconds."""
    t0 = time.perf_counter()
    run(args, cwd, **kw)  # type: ignore[arg-type]
    return time.perf_counter() - t0


def median(xs: Sequence[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def ms(x: float) -> str:
    return f"{x * 1000:8.1f} ms"


def verdict(ratio: float, target: float) -> str:
    return "ok" if ratio <= target else "OVER TARGET"


def wait_until(pred: Callable[[], bool], timeout: float, interval: float = 0.002) -> float | None:
    """Poll PRED until true; the elapsed time, or None on timeout."""
    t0 = time.perf_counter()
    while True:
        if pred():
            return time.perf_counter() - t0
        if time.perf_counter() - t0 > timeout:
            return None
        time.sleep(interval)


def workers_in(repo: Path) -> list[int]:
    """PIDs of `srcprov hook worker` processes running in REPO (other sessions' workers are ignored)."""
    return processes_in(repo, lambda cmd: b"srcprov" in cmd and b"worker" in cmd and b"hook" in cmd)


def processes_in(repo: Path, match: Callable[[list[bytes]], bool]) -> list[int]:
    """PIDs of the processes running in REPO (their working directory) whose argument list MATCH accepts."""
    pids = []
    target = str(repo.resolve())
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().split(b"\0")
            if not match(cmd):
                continue
            if os.readlink(d / "cwd") == target:
                pids.append(int(d.name))
        except OSError:
            continue
    return pids


class Sandbox:
    """Temporary GNUPGHOME + git config, exported into os.environ; close() undoes it all."""

    def __init__(self, label: str) -> None:
        self.saved = {k: os.environ.get(k) for k in ("GNUPGHOME", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_NOSYSTEM")}
        self.root = Path(tempfile.mkdtemp(prefix=f"srcprov-bench-{label}-"))
        self.gnupghome = tempfile.mkdtemp(prefix="spb", dir="/tmp")  # short: agent socket path limit
        os.chmod(self.gnupghome, 0o700)
        self.gitconfig = self.root / "gitconfig"
        self.gitconfig.write_text(
            f"[user]\n\tname = {NAME}\n\temail = {EMAIL}\n[init]\n\tdefaultBranch = main\n"
            "[commit]\n\tgpgsign = false\n[gc]\n\tauto = 0\n[maintenance]\n\tauto = false\n"
        )
        for k in list(os.environ):  # a hook environment leaking into the bench would point git elsewhere
            if k.startswith("GIT_") and k not in ("GIT_EXEC_PATH",):
                del os.environ[k]
        os.environ.update(GNUPGHOME=self.gnupghome, GIT_CONFIG_GLOBAL=str(self.gitconfig), GIT_CONFIG_NOSYSTEM="1")
        os.environ.pop("SRCPROV_SKIP", None)
        self.fpr = ""
        self.closed = False

    def make_key(self) -> str:
        """Generate an ed25519 signing key (no passphrase); returns its fingerprint."""
        self.fpr = openpgp_key(None, NAME, EMAIL)
        # Start the agent and warm it up so the first timed signature does not pay for it.
        run(["gpg", "--batch", "--local-user", self.fpr, "--detach-sign", "-o", "/dev/null"], input=b"warm")
        return self.fpr

    def make_ssh_key(self) -> str:
        """Generate an ed25519 SSH key (no passphrase), and let git verify what it signs (an allowed signers
        file in the global config); returns the private key file."""
        self.ssh_key, self.ssh_public = ssh_key(str(self.root), "bench_ed25519", comment=EMAIL)
        allowed = self.root / "allowed_signers"
        allowed.write_text(f"{EMAIL} {self.ssh_public}\n")
        run(["git", "config", "--global", "gpg.ssh.allowedSignersFile", str(allowed)])
        return self.ssh_key

    def armored_public_key(self) -> bytes:
        return run(["gpg", "--batch", "--armor", "--export", self.fpr]).stdout

    def armored_secret_key(self) -> bytes:
        return run(["gpg", "--batch", "--armor", "--export-secret-keys", self.fpr]).stdout

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], capture_output=True)
        shutil.rmtree(self.gnupghome, ignore_errors=True)
        shutil.rmtree(self.root, ignore_errors=True)
        for k, v in self.saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def init_repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    run(["git", "init", "-q", str(path)])
    return path


def environment_line() -> str:
    """One line naming what the numbers were measured with."""
    def first(cmd: list[str]) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines()[0]
        except (OSError, IndexError):
            return "?"
    try:
        from importlib.metadata import version
        sv = version("srcprov")
    except Exception:
        sv = "?"
    return (f"srcprov {sv}; {first(['git', '--version'])}; {first(['gpg', '--version'])}; "
            f"python {sys.version.split()[0]}; {os.cpu_count()} cpu(s)")
