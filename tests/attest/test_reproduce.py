"""srcprov reproduce: rebuild the attested commit in a temporary worktree, run the attested command and compare
sha256s. A deterministic build is `reproduced`, one that stamps the time `differs`; the user's work tree and
worktree list are left as they were; failing and hanging builds, absent commits and untrusted attestations
are one clear line and exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from tests.attest.conftest import Env, git, srcprov

DETERMINISTIC = "mkdir -p dist && git archive --format=tar --prefix=app/ HEAD | gzip -n > dist/app.tar.gz"
STAMPING = "mkdir -p dist && python3 -c \"import time; open('dist/app.tar.gz', 'w').write('built at %.9f' % time.time())\""


def build_and_attest(repo: Path, gpg_env: Env, command: str, *extra: str, env: dict[str, str] | None = None,
                     key: str = "builder") -> Path:
    subprocess.run(["/bin/sh", "-c", command], cwd=repo, check=True, env={**os.environ, **(env or {})})
    git(repo, "config", "srcprov.signingKey", gpg_env.fpr[key])
    r = srcprov(repo, "attest", "--subject", "dist/app.tar.gz", "--command", command, "--output", "app.intoto.jsonl", *extra,
                env=env)
    assert r.returncode == 0, r.stderr
    return repo / "app.intoto.jsonl"


def state(repo: Path) -> tuple[str, str, str]:
    """What reproduce must leave alone: the work tree's status, the worktree list, HEAD."""
    return (git(repo, "status", "--porcelain", "--untracked-files=all"), git(repo, "worktree", "list", "--porcelain"),
            git(repo, "rev-parse", "HEAD"))


def test_deterministic_build_is_reproduced_and_nothing_of_the_user_is_touched(repo: Path, gpg_env: Env) -> None:
    att = build_and_attest(repo, gpg_env, DETERMINISTIC)
    (repo / "src/app.py").write_text("print('uncommitted change')\n")  # the rebuild is of the commit, not this
    before = state(repo)
    r = srcprov(repo, "reproduce", str(att), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["ok"] is True and out["commit"] == git(repo, "rev-parse", "HEAD") and out["command"] == DETERMINISTIC
    assert [(s["name"], s["status"]) for s in out["subjects"]] == [("dist/app.tar.gz", "reproduced")]
    assert out["subjects"][0]["rebuilt"]["sha256"] == out["subjects"][0]["attested"]["sha256"]
    assert state(repo) == before
    assert not list(Path(os.environ.get("TMPDIR", "/tmp")).glob("srcprov-reproduce-*/src/dist/app.tar.gz"))
    text = srcprov(repo, "reproduce", str(att), "--subject", "dist/app.tar.gz")
    assert text.returncode == 0 and text.stdout.startswith("reproduced  dist/app.tar.gz  sha256 ")


def test_time_stamping_build_differs_with_sizes_and_first_offset(repo: Path, gpg_env: Env) -> None:
    att = build_and_attest(repo, gpg_env, STAMPING)
    original = (repo / "dist/app.tar.gz").read_bytes()
    r = srcprov(repo, "reproduce", str(att), "--subject", "dist/app.tar.gz", "--json")
    assert r.returncode == 1, r.stderr
    (s,) = json.loads(r.stdout)["subjects"]
    assert s["status"] == "differs" and s["originalSize"] == len(original)
    assert s["rebuilt"]["size"] == len(original)  # same format, other time
    assert len("built at ") <= s["firstDifference"] < len(original)
    r = srcprov(repo, "reproduce", str(att))
    assert r.returncode == 1 and r.stdout.startswith("differs     dist/app.tar.gz  sha256 ")


def test_a_build_that_makes_no_such_file_is_missing(repo: Path, gpg_env: Env) -> None:
    att = build_and_attest(repo, gpg_env, DETERMINISTIC)
    r = srcprov(repo, "reproduce", str(att), "--command", "true")
    assert r.returncode == 1 and r.stdout.startswith("missing     dist/app.tar.gz")


def test_source_date_epoch_of_the_build_is_set_again(repo: Path, gpg_env: Env) -> None:
    cmd = "mkdir -p dist && echo \"$SOURCE_DATE_EPOCH\" > dist/app.tar.gz"
    att = build_and_attest(repo, gpg_env, cmd, env={"SOURCE_DATE_EPOCH": "1700000000"})
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    r = srcprov(repo, "reproduce", str(att), env=env)
    assert r.returncode == 0, r.stdout + r.stderr


def one_line_error(r: object, code: int = 2) -> str:
    assert r.returncode == code, (r.stdout, r.stderr)  # type: ignore[attr-defined]
    err = r.stderr.strip()  # type: ignore[attr-defined]
    assert "\n" not in err and err.startswith("srcprov: error: ") and "Traceback" not in err
    return err


def test_failing_build_command_is_one_line(repo: Path, gpg_env: Env) -> None:
    att = build_and_attest(repo, gpg_env, DETERMINISTIC)
    before = state(repo)
    err = one_line_error(srcprov(repo, "reproduce", str(att), "--command", "echo 'cc: no such header' >&2; exit 3"))
    assert err == "srcprov: error: the build command failed (exit code 3): cc: no such header"
    assert state(repo) == before


def test_hanging_build_is_stopped_with_its_process_group(repo: Path, gpg_env: Env, tmp_path: Path) -> None:
    att = build_and_attest(repo, gpg_env, DETERMINISTIC)
    pidfile = tmp_path / "child.pid"
    before = state(repo)
    t = time.monotonic()
    r = srcprov(repo, "reproduce", str(att), "--timeout", "2", "--command", f"sleep 300 & echo $! > {pidfile}; sleep 300")
    assert time.monotonic() - t < 60
    assert one_line_error(r) == "srcprov: error: the build command did not finish in 2 s: stopped it (and every process it started)"
    pid = int(pidfile.read_text())
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"the build's background process {pid} outlived reproduce")
    assert state(repo) == before


def test_attested_commit_not_in_the_repository(repo: Path, gpg_env: Env, tmp_path: Path) -> None:
    att = build_and_attest(repo, gpg_env, DETERMINISTIC)
    other = tmp_path / "other"
    other.mkdir()
    git(other, "init", "-q")
    (other / "f").write_text("f")
    git(other, "add", "f")
    git(other, "commit", "-q", "-m", "f")
    err = one_line_error(srcprov(other, "reproduce", str(att)))
    assert err == f"srcprov: error: the attested source commit {git(repo, 'rev-parse', 'HEAD')} is not in this repository (fetch it?)"


def test_untrusted_attestation_command_is_not_run(repo: Path, gpg_env: Env, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    cmd = f"touch {marker}; {DETERMINISTIC}"
    att = build_and_attest(repo, gpg_env, cmd, key="mallory")  # mallory is no builder of the policy
    marker.unlink()  # the build itself ran it
    err = one_line_error(srcprov(repo, "reproduce", str(att)))
    assert "is not signed by a builder of the policy" in err and "pass --command" in err
    assert not marker.exists()
    r = srcprov(repo, "reproduce", str(att), "--command", DETERMINISTIC)  # the user's own command runs
    assert r.returncode == 0, r.stderr


def test_keep_leaves_the_worktree(repo: Path, gpg_env: Env) -> None:
    att = build_and_attest(repo, gpg_env, DETERMINISTIC)
    r = srcprov(repo, "reproduce", str(att), "--keep", "--json")
    assert r.returncode == 0, r.stderr
    kept = Path(json.loads(r.stdout)["worktree"])
    try:
        assert (kept / "dist/app.tar.gz").read_bytes() == (repo / "dist/app.tar.gz").read_bytes()
        assert str(kept) in git(repo, "worktree", "list")
    finally:
        git(repo, "worktree", "remove", "--force", str(kept))


def test_subject_that_is_not_attested_is_bad_input(repo: Path, gpg_env: Env) -> None:
    att = build_and_attest(repo, gpg_env, DETERMINISTIC)
    (repo / "other.bin").write_bytes(b"other")
    err = one_line_error(srcprov(repo, "reproduce", str(att), "--subject", "other.bin"))
    assert err.startswith("srcprov: error: --subject other.bin: its sha256 ") and "is not attested in" in err
