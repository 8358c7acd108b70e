"""Hooks that never get in the way: srcprov's own state, warnings, checks, passphrases, pushes, queue keys."""

from __future__ import annotations

import base64
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from testing.keys import openpgp_key
from testing.repos import GitRepo, make_repo


def stage(repo: GitRepo, name: str = "change.txt") -> None:
    with open(repo.path / name, "a") as f:
        f.write(f"{uuid.uuid4()}\n")
    repo.git("add", "-A")


def queued(repo: GitRepo) -> list[str]:
    q = repo.path / ".git" / "srcprov" / "queue"
    return sorted(p.name for p in q.iterdir()) if q.is_dir() else []


def signer_of(repo: GitRepo, rev: str = "HEAD") -> list[str]:
    return [s["keyid"] for ln in repo.note(rev).splitlines() for s in json.loads(ln)["signatures"]]


def wait_for(pred, timeout: float = 30.0) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return False


def no_worker_left(repo: GitRepo) -> None:
    """Wait until no srcprov worker of this repository holds its lock."""
    lock = repo.path / ".git" / "srcprov" / "worker.lock"
    if not lock.exists():
        return
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    finally:
        os.close(fd)


def _mount(target: Path, options: str) -> bool:
    return subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)], capture_output=True).returncode == 0


def _only_warnings(stderr: str) -> list[str]:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert all(ln.startswith("srcprov: warning: ") for ln in lines), stderr
    return lines


# --- 1. srcprov's own state never fails a commit --------------------------------------------------
@pytest.mark.parametrize("mode", ["background", "sync"])
@pytest.mark.parametrize("kind", ["read-only", "full"])
def test_broken_state_dir_never_fails_a_commit(tmp_path, keys, mode, kind):
    r = make_repo(tmp_path / "r", keys, mode=mode)
    r.wait_records()
    no_worker_left(r)
    state = r.path / ".git" / "srcprov"
    shutil.rmtree(state)
    state.mkdir()
    opts = "ro,size=1m" if kind == "read-only" else "size=1m,nr_inodes=8"
    if not _mount(state, opts):
        pytest.skip("cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN)")
    try:
        if kind == "full":
            for d in ("precommit", "queue"):
                (state / d).mkdir()
            n = 0
            while True:  # use up every inode
                try:
                    (state / f"filler{n}").touch()
                except OSError:
                    break
                n += 1
        before = r.head()
        stage(r)
        proc = r.git("commit", "-q", "-m", "state is broken", check=False)
        assert proc.returncode == 0, proc.stderr
        assert r.head() != before
        warnings = _only_warnings(proc.stderr)
        assert any("srcprov's state" in w for w in warnings), proc.stderr
        assert len(warnings) <= 3, proc.stderr  # one line per hook, at most
    finally:
        subprocess.run(["umount", "-l", str(state)], capture_output=True)
    # Mended, `record` writes what the hook could not.
    c = r.head()
    r.srcprov("record", c)
    assert r.note(c)


def test_state_owned_by_another_user_never_fails_a_commit(keys):
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to commit as another user")
    base = Path(tempfile.mkdtemp(prefix="spnobody-"))
    try:
        base.chmod(0o755)
        r = make_repo(base / "r", keys, mode="background", policy=False)
        state = r.path / ".git" / "srcprov"
        (state / "queue").mkdir(parents=True, exist_ok=True)
        (state / "precommit").mkdir(parents=True, exist_ok=True)
        cfg = base / "gitconfig"
        shutil.copy(os.environ["GIT_CONFIG_GLOBAL"], cfg)
        cfg.chmod(0o644)
        # Everything is the other user's except srcprov's state, which stays root's.
        subprocess.run(["chown", "-R", "65534:65534", str(r.path)], check=True)
        subprocess.run(["chown", "-R", "0:0", str(state)], check=True)
        env = dict(os.environ, HOME=str(base), GIT_CONFIG_GLOBAL=str(cfg), XDG_CONFIG_HOME=str(base / ".config"))

        def as_nobody(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *args],
                                  cwd=r.path, env=env, capture_output=True, text=True)

        before = as_nobody("git", "rev-parse", "HEAD").stdout
        as_nobody("sh", "-c", "echo change > change.txt && git add -A")
        proc = as_nobody("git", "commit", "-q", "-m", "as nobody")
        assert proc.returncode == 0, proc.stderr
        assert as_nobody("git", "rev-parse", "HEAD").stdout != before
        _only_warnings(proc.stderr)
        assert "srcprov's state" in proc.stderr
    finally:
        shutil.rmtree(base, ignore_errors=True)


# --- 2. require=warn warns at commit time -----------------------------------------------------------
def _python_log(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """An environment whose Python interpreters write their command lines to a log (sitecustomize)."""
    d = tmp_path / "site"
    d.mkdir()
    log = tmp_path / "python.log"
    (d / "sitecustomize.py").write_text(
        "import os, sys\nwith open(os.environ['SRCPROV_TEST_PYLOG'], 'a') as f:\n"
        "    f.write(' '.join(sys.orig_argv) + '\\n')\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(d), *filter(None, [os.environ.get("PYTHONPATH")])]),
               SRCPROV_TEST_PYLOG=str(log))
    return env, log


def started(log: Path) -> str:
    """The command lines of the Pythons that started (nothing when none did)."""
    return log.read_text() if log.exists() else ""


def test_warn_mode_warns_about_an_unusable_key_at_every_commit(tmp_path, keys):
    r = make_repo(tmp_path / "r", keys, mode="background")
    r.wait_records()
    r.git("config", "srcprov.signingKey", "0" * 40)
    for _ in range(2):
        stage(r)
        proc = r.git("commit", "-q", "-m", "no key", check=False)
        assert proc.returncode == 0
        lines = _only_warnings(proc.stderr)
        assert len(lines) == 1 and "no usable signing key" in lines[0], proc.stderr
    r.git("config", "srcprov.require", "off")
    stage(r)
    assert r.git("commit", "-q", "-m", "quiet").stderr == ""


def test_usable_key_starts_no_python_at_pre_commit(tmp_path, keys):
    r = make_repo(tmp_path / "r", keys, mode="background")
    env, log = _python_log(tmp_path)
    stage(r)
    first = r.git("commit", "-q", "-m", "first", env=env)
    assert first.stderr == ""
    r.wait_records()
    log.unlink(missing_ok=True)
    stage(r)
    second = r.git("commit", "-q", "-m", "second", env=env)
    assert second.stderr == ""
    assert wait_for(lambda: not queued(r))
    pys = started(log)
    assert "hook pre-commit" not in pys and "hook worker" in pys, pys
    # A changed keyring is looked at again.
    r.wait_records()
    Path(keys.home, "pubring.kbx").touch()
    log.unlink(missing_ok=True)
    stage(r)
    r.git("commit", "-q", "-m", "third", env=env)
    assert "hook pre-commit" in started(log)


# --- 3. a check past its timeout goes with its whole process group ---------------------------------
def _processes_with(token: str) -> list[int]:
    found = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            if token.encode() in (p / "environ").read_bytes():
                found.append(int(p.name))
        except OSError:
            continue
    return found


def test_check_timeout_kills_the_process_group(repo):
    token = f"SRCPROV_TEST_TOKEN_{uuid.uuid4().hex}"
    p = repo.path / ".srcprov" / "policy.toml"
    p.write_text(p.read_text() + f'\n[[checks]]\nname = "slow"\ncommand = "export {token}=1; sleep 300 & sleep 300"\n'
                                  'timeout = "1s"\n')
    repo.git("add", ".srcprov")
    t0 = time.monotonic()
    repo.git("commit", "-q", "-m", "slow check")
    assert time.monotonic() - t0 < 30
    time.sleep(0.3)
    left = _processes_with(token)
    for pid in left:
        os.kill(pid, 9)
    assert left == []
    st = json.loads(base64.b64decode(json.loads(repo.note().splitlines()[0])["payload"]))
    assert st["predicate"]["precommit"]["checks"][0]["exitCode"] == 124


# --- 4. checks as an inline array run too ------------------------------------------------------------
@pytest.mark.parametrize("mode", ["background", "sync"])
def test_inline_array_checks_run(tmp_path, keys, mode):
    r = make_repo(tmp_path / "r", keys, mode=mode)
    p = r.path / ".srcprov" / "policy.toml"
    text = p.read_text()
    assert "\n[require]" in text
    text = text.replace("\n[require]", '\nchecks = [{name = "ok", command = "true", required = true}]\n\n[require]', 1)
    p.write_text(text)
    r.git("add", ".srcprov")
    r.git("commit", "-q", "-m", "inline checks")
    c = r.commit()
    r.wait_records()
    data = json.loads(r.srcprov("verify", "--json", c).stdout)
    assert data["commits"][0]["status"] == "verified", data
    st = json.loads(base64.b64decode(json.loads(r.note(c).splitlines()[0])["payload"]))
    assert [x["name"] for x in st["predicate"]["precommit"]["checks"]] == ["ok"]


# --- 6. read commands never wait on a passphrase -----------------------------------------------------
PINENTRY = """#!/bin/sh
# A pinentry nobody answers: it greets, then waits forever for a passphrase.
echo "OK Pleased to meet you"
while read -r cmd rest; do
  case $cmd in
    GETPIN) exec sleep 120 ;;
    BYE) echo OK; exit 0 ;;
    *) echo OK ;;
  esac
done
"""


@pytest.fixture
def locked_home():
    """A GnuPG home holding alice's public key and a passphrase-protected key whose pinentry never answers."""
    home = tempfile.mkdtemp(prefix="spl-", dir="/tmp")
    os.chmod(home, 0o700)
    pin = Path(home, "pinentry")
    pin.write_text(PINENTRY)
    pin.chmod(0o755)
    Path(home, "gpg-agent.conf").write_text(f"pinentry-program {pin}\nallow-loopback-pinentry\n")
    fpr = openpgp_key(home, "Locked", passphrase="correct horse")
    yield home, fpr
    subprocess.run(["gpgconf", "--homedir", home, "--kill", "all"], capture_output=True)
    for pid in _processes_with(home):
        os.kill(pid, 9)
    shutil.rmtree(home, ignore_errors=True)


def _locked_repo(tmp_path, keys, locked_home, mode: str, timeout: str) -> GitRepo:
    home, fpr = locked_home
    os.environ["GNUPGHOME"] = home  # the isolated_env fixture restores it
    r = make_repo(tmp_path / "r", keys, mode="sync", policy=False)
    r.git("config", "srcprov.signingKey", fpr)
    r.git("config", "srcprov.signTimeout", timeout)
    r.git("config", "srcprov.require", "off")
    r.git("config", "srcprov.hookMode", mode)
    return r


def test_show_does_not_wait_on_a_passphrase_for_a_queued_record(tmp_path, keys, locked_home):
    r = _locked_repo(tmp_path, keys, locked_home, "background", "2s")
    c = r.commit()
    # The worker gives up after 2s and leaves the record queued.
    assert wait_for(lambda: (r.path / ".git/srcprov/worker.log").exists(), 30)
    no_worker_left(r)
    assert queued(r) == [f"{c}.post-commit"]
    r.git("config", "srcprov.signTimeout", "15s")
    t0 = time.monotonic()
    proc = r.srcprov("show", check=False)
    took = time.monotonic() - t0
    assert took < 8, took
    assert "still queued" in proc.stderr, proc.stderr
    assert queued(r) == [f"{c}.post-commit"]


def test_show_does_not_wait_behind_a_worker_waiting_on_a_passphrase(tmp_path, keys, locked_home):
    r = _locked_repo(tmp_path, keys, locked_home, "background", "15s")
    c = r.commit()
    lock = r.path / ".git" / "srcprov" / "worker.lock"
    assert wait_for(lambda: lock.exists(), 10)
    time.sleep(1)  # the worker holds the lock, waiting on the pinentry
    t0 = time.monotonic()
    proc = r.srcprov("show", check=False)
    took = time.monotonic() - t0
    assert took < 8, took
    assert "still queued" in proc.stderr, proc.stderr
    assert f"{c}.post-commit" in queued(r)


def test_sync_commit_waits_at_most_one_sign_timeout(tmp_path, keys, locked_home):
    r = _locked_repo(tmp_path, keys, locked_home, "background", "10s")
    r.commit()
    lock = r.path / ".git" / "srcprov" / "worker.lock"
    assert wait_for(lambda: lock.exists(), 10)
    time.sleep(0.5)
    r.git("config", "srcprov.hookMode", "sync")
    t0 = time.monotonic()
    stage(r)
    proc = r.git("commit", "-q", "-m", "sync behind a waiting worker", check=False)
    took = time.monotonic() - t0
    assert proc.returncode == 0
    assert took < 15, took  # not what is left of the worker's 10s and then its own 10s
    assert "queued" in proc.stderr


# --- 7. pre-push of the notes ref ---------------------------------------------------------------------
def test_pushing_the_notes_ref_warns_about_nothing(repo, tmp_path):
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    repo.commit()
    repo.git("remote", "add", "origin", str(remote))
    push = repo.git("push", "-q", "origin", "main")
    assert "warning" not in push.stderr
    proc = repo.git("push", "-q", "origin", "refs/notes/srcprov")
    assert "srcprov: warning" not in proc.stderr, proc.stderr
    # A pushed commit without a record is still named.
    repo.git("commit", "-q", "--allow-empty", "-m", "skipped", env=dict(os.environ, SRCPROV_SKIP="1"))
    proc = repo.git("push", "-q", "origin", "main")
    assert "have no srcprov record" in proc.stderr


# --- a queued record is signed with the key of its commit ---------------------------------------------
def test_queued_record_signed_with_the_key_configured_at_commit_time(tmp_path, keys):
    r = make_repo(tmp_path / "r", keys, mode="background")
    r.add_signer(keys.builder, roles=("builder",))
    r.wait_records()
    no_worker_left(r)
    # Hold the worker lock so that the commit's worker leaves its record queued.
    fd = os.open(r.path / ".git" / "srcprov" / "worker.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        c = r.commit()
        time.sleep(1.5)  # its worker found the lock taken and left
        assert queued(r) == [f"{c}.post-commit"]
        r.git("config", "srcprov.signingKey", keys.builder)
    finally:
        os.close(fd)
    r.srcprov("show", c)  # a read command drains the queue, with the builder key configured now
    assert signer_of(r, c) == [keys.alice]
    assert json.loads(r.srcprov("verify", "--json", c).stdout)["commits"][0]["status"] == "verified"


def test_sync_record_and_rewrite_entries_name_their_key(tmp_path, keys):
    r = make_repo(tmp_path / "r", keys, mode="background")
    r.wait_records()
    no_worker_left(r)
    fd = os.open(r.path / ".git" / "srcprov" / "worker.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        r.commit()
        r.git("commit", "-q", "--amend", "-m", "amended")  # post-rewrite queues through Python
        time.sleep(1.5)
        r.git("config", "srcprov.signingKey", keys.bob)
    finally:
        os.close(fd)
    r.wait_records()
    assert signer_of(r) == [keys.alice]


# --- post-merge starts no Python in the foreground ----------------------------------------------------
def test_background_merge_recorded_fast_forward_not(tmp_path, keys):
    r = make_repo(tmp_path / "r", keys, mode="background")
    base = r.commit()
    r.git("checkout", "-q", "-b", "topic")
    r.commit(path="topic.txt")
    r.git("checkout", "-q", "main")
    r.commit(path="main.txt")
    r.wait_records()
    env, log = _python_log(tmp_path)
    r.git("merge", "-q", "--no-edit", "topic", env=env)
    merge = r.head()
    r.wait_records()
    st = json.loads(base64.b64decode(json.loads(r.note(merge).splitlines()[0])["payload"]))
    assert st["predicate"]["recorder"]["trigger"] == "post-merge"
    assert "hook post-merge" not in started(log)
    # Fast-forwarding another branch onto the merge commit records nothing new.
    r.git("checkout", "-q", "-b", "ff", base)
    before = r.git("rev-parse", "refs/notes/srcprov").stdout
    r.git("merge", "-q", "--ff-only", "main")
    time.sleep(0.5)
    r.wait_records()
    assert r.git("rev-parse", "refs/notes/srcprov").stdout == before
    assert queued(r) == []


def test_shim_runs_from_a_bin_directory_as_the_framework_runs_it(tmp_path, keys):
    """`srcprov-hook NAME` next to a `python` (a virtualenv's bin/) takes the same shell path."""
    r = make_repo(tmp_path / "r", keys, mode="background", hooks=False)
    r.wait_records()
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    shutil.copy(Path(__file__).parent.parent / "hooks" / "srcprov-hook", bin_dir / "srcprov-hook")
    (bin_dir / "python").symlink_to(sys.executable)
    env, log = _python_log(tmp_path)
    stage(r)
    for name in ("pre-commit",):
        proc = subprocess.run(["sh", str(bin_dir / "srcprov-hook"), name], cwd=r.path, env=env, capture_output=True,
                              text=True)
        assert proc.returncode == 0, proc.stderr
    r.git("commit", "-q", "-m", "framework", env=env)
    proc = subprocess.run(["sh", str(bin_dir / "srcprov-hook"), "post-commit"], cwd=r.path, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    c = r.head()
    assert wait_for(lambda: bool(r.note(c)), 30)
    assert signer_of(r, c) == [keys.alice]
    assert "hook worker" in started(log)
    bad = subprocess.run(["sh", str(bin_dir / "srcprov-hook"), "bogus"], cwd=r.path, capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.startswith("srcprov: error: unknown hook bogus")


def test_a_broken_srcprov_installation_never_fails_a_commit_or_a_push(tmp_path, keys):
    """srcprov's Python failing to start (a broken installation) only warns; pre-commit and pre-push go on."""
    r = make_repo(tmp_path / "r", keys, mode="background")
    r.git("config", "srcprov.require", "block")  # pre-commit must start Python
    r.wait_records()
    broken = tmp_path / "broken" / "srcprov"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text("raise ImportError('a pygit2 built for another Python')\n")
    env = dict(os.environ, PYTHONPATH=str(broken.parent))
    before = r.head()
    stage(r)
    proc = r.git("commit", "-q", "-m", "srcprov is broken", env=env, check=False)
    assert proc.returncode == 0 and r.head() != before, proc.stderr
    assert "srcprov: warning: srcprov's pre-commit hook failed" in proc.stderr
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    r.git("remote", "add", "origin", str(remote))
    push = r.git("push", "-q", "origin", "main", env=env, check=False)
    assert push.returncode == 0, push.stderr
    assert "srcprov's pre-push hook failed" in push.stderr
