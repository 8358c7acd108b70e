"""A fleet of real repositories for the tests, and real Dask processes (scheduler, workers) on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from report_histories import make_history
from report_repos import Builder

from testing.env import isolate
from testing.repos import Keys, make_repo
from testing.run import run_srcprov

ROOT = Path(__file__).resolve().parents[2]
AS_OF = "2026-01-01T00:00:00Z"
DAY = 86400


@dataclass
class Fleet:
    root: Path
    good: dict[str, Path]  # name in the fleet report -> repository path
    list_file: Path
    broken: dict[str, str]  # name -> a word its error must contain
    clone_of: str  # the repository the file:// URL entry names
    url: str
    secret_url: str
    env: dict[str, str] = field(default_factory=dict)


def build_fleet(root: Path, keys: Keys) -> Fleet:
    """Repositories of every kind a fleet meets, and a list naming them with broken entries among them."""
    repos = root / "repos"
    repos.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        isolate(mp, root, keys.home, "[init]\n\tdefaultBranch = main\n")
        # A work tree with hooks and a policy: every commit carries a verified record.
        signed = make_repo(repos / "signed", keys)
        for i in range(3):
            signed.commit(path=f"src/mod{i}.py")
        signed.wait_records()
        # Generated histories (bare): renames, merges, binaries, symlinks, a submodule, a non-UTF-8 path.
        make_history(repos / "gen-a.git", 11, 40)
        make_history(repos / "gen-b.git", 12, 25)
        # A plain work tree with lines of every age and two authors, and no policy.
        b = Builder(repos / "plain", start=1_600_000_000)
        b.write("old.txt", b"".join(b"old %d\n" % i for i in range(30)))
        b.commit("old")
        b.write("mid.txt", b"mid\n" * 5)
        b.commit("mid", days=400, author="Bob Builder <bob@example.com>")
        b.write("old.txt", b"new first line\n" + (repos / "plain" / "old.txt").read_bytes())
        b.commit("recent", days=(1_767_225_600 - b.time) / DAY - 3)
    (repos / "not-a-repo").mkdir()
    (repos / "not-a-repo" / "file.txt").write_text("just a file\n")
    (repos / "dangling").mkdir()
    (repos / "dangling" / ".git").write_text("gitdir: /nonexistent/srcprov-fleet-test\n")
    url = (repos / "gen-b.git").as_uri()
    secret_url = "https://fleet-user:s3cr3t-t0ken@127.0.0.1:9/org/private.git"
    list_file = root / "fleet.txt"
    list_file.write_text(
        "# the fleet of the tests\n"
        "repos/signed\n\n"
        f"{repos / 'gen-a.git'}\n"
        "repos/plain   \n"
        "repos/not-a-repo\n"
        "repos/dangling\n"
        "repos/missing\n"
        f"{url}\n"
        "file:///nonexistent/srcprov-fleet/none.git\n"
        f"{secret_url}\n"
        "repos/signed\n"  # listed twice: reported once
    )
    good = {"repos/signed": repos / "signed", str(repos / "gen-a.git"): repos / "gen-a.git",
            "repos/plain": repos / "plain", url: repos / "gen-b.git"}
    broken = {"repos/not-a-repo": "not a git repository", "repos/dangling": "repos/dangling",
              "repos/missing": "no such directory", "file:///nonexistent/srcprov-fleet/none.git": "cannot clone",
              "https://127.0.0.1:9/org/private.git": "cannot clone"}
    return Fleet(root, good, list_file, broken, str(repos / "gen-b.git"), url, secret_url)


def fleet_json(cwd: Path, *args: str, env: dict[str, str] | None = None,
               timeout: float = 300) -> tuple[dict, subprocess.CompletedProcess[str]]:
    """`srcprov fleet report ... --json` (exit 0 wanted): its document, and the process (for stderr)."""
    proc = run_srcprov(cwd, "fleet", "report", "--as-of", AS_OF, "--json", *args, env=env, check=0, timeout=timeout)
    return json.loads(proc.stdout), proc


def report_json(repo: Path) -> dict:
    """`srcprov report --json` of one repository, with the fleet's reference time."""
    return json.loads(run_srcprov(repo, "report", "--json", "--as-of", AS_OF, check=0).stdout)


# --- real Dask processes ---------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def worker_env(cache: Path) -> dict[str, str]:
    """Workers import the srcprov under test and keep their clones in CACHE."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env["SRCPROV_FLEET_CACHE"] = str(cache)
    return env


class DaskProcesses:
    """A `dask scheduler` and N `dask worker` processes on 127.0.0.1; stop() ends each by its PID (and its
    process group: a worker's nanny runs the worker as its child)."""

    def __init__(self, root: Path, workers: int = 2) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.cache = root / "worker-cache"
        self.logs = root / "dask-logs"
        self.logs.mkdir(exist_ok=True)
        env = worker_env(self.cache)
        self._start(["scheduler", "--host", "127.0.0.1", "--port", str(self.port), "--no-dashboard"], env, "scheduler")
        for i in range(workers):
            self._start(["worker", self.address, "--host", "127.0.0.1", "--nworkers", "1", "--nthreads", "1",
                         "--no-dashboard", "--name", f"w{i}"], env, f"worker{i}")
        self.wait(workers)

    def _start(self, args: list[str], env: dict[str, str], name: str) -> None:
        log = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115  (closed with the process)
        self.procs.append(subprocess.Popen([sys.executable, "-m", "dask", *args], env=env, stdout=log, stderr=log,
                                           stdin=subprocess.DEVNULL, start_new_session=True))

    def client(self):  # type: ignore[no-untyped-def]
        import distributed

        return distributed.Client(self.address, timeout="30s", set_as_default=False)

    def wait(self, workers: int) -> None:
        deadline = time.time() + 60
        while True:
            try:
                with self.client() as c:
                    c.wait_for_workers(workers, timeout=60)
                    return
            except OSError:
                if time.time() > deadline:
                    raise AssertionError("the Dask scheduler did not start: " + self.log_text()) from None
                time.sleep(0.3)

    def worker_pids(self) -> dict[str, int]:
        """Worker address -> PID of the worker process (the nanny's child)."""
        with self.client() as c:
            return {addr: int(pid) for addr, pid in c.run(os.getpid).items()}

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-2000:] for p in sorted(self.logs.glob("*.log")))

    def stop(self) -> None:
        for p in reversed(self.procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        deadline = time.time() + 15
        for p in self.procs:
            try:
                p.wait(max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(5)
        for p in self.procs:  # a worker its nanny left behind
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
