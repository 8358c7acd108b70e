"""`srcprov demo`: the whole flow on the sample project, in a throwaway repository and GnuPG home."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from srcprov.errors import SrcprovError
from srcprov.resources import data_dir


def sample_dir() -> Path:
    """The sample project the demo commits from."""
    return data_dir("sample-repo", "README.md")


@dataclass
class Demo:
    """What the steps share: the repository, the environment that isolates it, the keys."""

    repo: Path
    env: dict[str, str]
    kind: str = "openpgp"  # openpgp | ssh: the keys the demo signs with
    fpr: str = ""  # the author's key: an OpenPGP fingerprint, or an SSH private key file
    reviewer: str = ""
    signers: dict[str, str] = field(default_factory=dict)  # key -> what `policy add-signer` takes for it
    keydir: str = ""  # where throwaway SSH keys are kept
    files: dict[str, str] = field(default_factory=dict)

    def say(self, text: str) -> None:
        print(f"\n== {text}", flush=True)

    def run(self, *args: str, ok: tuple[int, ...] = (0,), show: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a command in the demo repository, print it and its output; SrcprovError on surprise."""
        cmd = list(args)
        if cmd[0] == "srcprov":
            cmd = [sys.executable, "-m", "srcprov", *cmd[1:]]
        if show:
            print(f"$ {shlex.join(args)}", flush=True)
        proc = subprocess.run(cmd, cwd=self.repo, env=self.env, capture_output=True, text=True)
        if show:
            for stream in (proc.stdout, proc.stderr):
                if stream.strip():
                    print("  " + stream.rstrip().replace("\n", "\n  "), flush=True)
        if proc.returncode not in ok:
            raise SrcprovError(f"demo step failed: {shlex.join(args)} exited {proc.returncode}: {proc.stderr.strip()[-300:]}")
        return proc

    def commit(self, message: str, *paths: str) -> None:
        self.run("git", "add", *(paths or (".",)), show=False)
        self.run("git", "commit", "-q", "-m", message)


def _ssh_key(d: Demo, name: str, email: str) -> str:
    """A throwaway ed25519 SSH key (no passphrase) in the demo's key directory; returns the private key file."""
    from srcprov.signing.ssh import ssh_keygen

    if not d.keydir:
        d.keydir = tempfile.mkdtemp(prefix="srcprov-demo-ssh-")
    path = Path(d.keydir) / name
    proc = subprocess.run([ssh_keygen(), "-q", "-t", "ed25519", "-N", "", "-C", email, "-f", str(path)],
                          capture_output=True, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise SrcprovError(f"ssh-keygen could not make a key: {proc.stderr.decode('utf-8', 'replace').strip()[-200:]}")
    return str(path)


def step_setup(d: Demo) -> None:
    d.say("a new repository with srcprov's hooks")
    d.run("git", "init", "-q", "-b", "main")
    if d.kind == "ssh":
        d.say("two throwaway ed25519 SSH keys, signing as git does with gpg.format=ssh (your ~/.ssh is not touched)")
        d.fpr = _ssh_key(d, "ada", "ada@example.com")
        d.reviewer = _ssh_key(d, "rui", "rui@example.com")
        d.signers = {d.fpr: f"ssh:{d.fpr}.pub", d.reviewer: f"ssh:{d.reviewer}.pub"}
        d.run("git", "config", "gpg.format", "ssh", show=False)
        print(f"  author key   {d.fpr}\n  reviewer key {d.reviewer}")
    else:
        from srcprov.signing.gnupg import generate_key, gpg_binary

        d.say("a throwaway GnuPG home and two ed25519 keys (your keyring is not touched)")
        gpg = gpg_binary()
        d.fpr = generate_key(gpg, d.env["GNUPGHOME"], "Ada Developer", "ada@example.com")
        d.reviewer = generate_key(gpg, d.env["GNUPGHOME"], "Rui Reviewer", "rui@example.com")
        d.signers = {d.fpr: d.fpr, d.reviewer: d.reviewer}
        print(f"  author key   {d.fpr}\n  reviewer key {d.reviewer}")
    for k, v in (("user.name", "Ada Developer"), ("user.email", "ada@example.com"), ("srcprov.signingKey", d.fpr)):
        d.run("git", "config", k, v, show=False)
    d.run("srcprov", "install")


def step_policy(d: Demo) -> None:
    d.say("a policy: which keys may sign, committed with the code")
    d.run("srcprov", "policy", "init")
    d.run("srcprov", "policy", "add-signer", d.signers[d.fpr], "--email", "ada@example.com", "--role", "author",
          "--role", "builder")
    d.run("srcprov", "policy", "add-signer", d.signers[d.reviewer], "--role", "reviewer")
    d.commit("Add srcprov policy", ".srcprov")


def step_commits(d: Demo) -> None:
    d.say("commits: each one gets a signed record from the hooks (written by a background worker)")
    src = sample_dir()
    for rel in ("README.md", "tinyledger/__init__.py", "tinyledger/parse.py"):
        (d.repo / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src / rel, d.repo / rel)
    d.commit("Parse ledger lines")
    for rel in ("tinyledger/report.py", "tinyledger/__main__.py"):
        shutil.copyfile(src / rel, d.repo / rel)
    d.commit("Report totals per account\n\nCo-authored-by: Claude <noreply@anthropic.com>")
    for rel in ("tests/test_ledger.py", "ledger.txt", "requirements-dev.txt", "build.py"):
        (d.repo / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src / rel, d.repo / rel)
    d.commit("Add a test, a sample ledger, the pinned test tools and a reproducible build\n\nProvenance-Origin: human")
    d.run("srcprov", "record", "--pending", "--wait")
    d.run("srcprov", "show", "HEAD~1")


def step_verify(d: Demo) -> None:
    d.say("verify every commit against the committed policy")
    d.run("srcprov", "verify", "--all")


def step_review(d: Demo) -> None:
    d.say("a reviewer signs a review record for the AI-assisted commit")
    d.run("git", "config", "srcprov.signingKey", d.reviewer, show=False)
    d.run("git", "config", "user.name", "Rui Reviewer", show=False)
    d.run("git", "config", "user.email", "rui@example.com", show=False)
    d.run("srcprov", "review", "HEAD~1", "--comment", "checked the totals by hand")
    for k, v in (("srcprov.signingKey", d.fpr), ("user.name", "Ada Developer"), ("user.email", "ada@example.com")):
        d.run("git", "config", k, v, show=False)
    d.run("srcprov", "show", "HEAD~1")


def step_tamper(d: Demo) -> None:
    import base64
    import json

    d.say("tamper with a record (claim the AI-assisted commit was human) and watch verify catch it")
    from srcprov.git import Repo
    from srcprov.notes import commit_note, note_bytes

    ref = "refs/notes/srcprov"
    target, tip = d.run("git", "rev-parse", "HEAD~1", ref, show=False).stdout.split()
    note = note_bytes(commit_note(Repo(d.repo), target, at=tip).lines).decode()
    lines = note.splitlines()
    forged = []
    for line in lines:
        env = json.loads(line)
        st = json.loads(base64.b64decode(env["payload"]))
        if st["predicateType"].endswith("commit-provenance:v1"):
            st["predicate"]["claims"]["origin"] = "human"
            env["payload"] = base64.b64encode(json.dumps(st).encode()).decode()
        forged.append(json.dumps(env))
    d.run("git", "notes", "--ref", ref, "add", "-f", "-m", "\n".join(forged), "HEAD~1", show=False)
    print("  (rewrote the note of HEAD~1 with origin=human, keeping the old signature)")
    d.run("srcprov", "verify", "HEAD~1", ok=(1,))
    d.run("git", "notes", "--ref", ref, "add", "-f", "-m", note.rstrip("\n"), "HEAD~1", show=False)
    print("  (restored the original note)")
    d.run("srcprov", "verify", "HEAD~1")


def step_report(d: Demo) -> None:
    d.say("the provenance report: age, churn, authors, coverage, origin")
    d.run("srcprov", "report")


BUILD = "python3 build.py"


def _demo_sbom(d: Demo) -> str:
    """`auto` when the sbom extra (cyclonedx-bom) is installed, else a small CycloneDX file of the pinned tools."""
    from srcprov.attest.sbom import cyclonedx_available

    if cyclonedx_available():
        return "auto"
    components = []
    for line in (d.repo / "requirements-dev.txt").read_text().splitlines():
        if "==" in line and not line.lstrip().startswith("#"):
            name, _, rest = line.partition("==")
            version = rest.split()[0]
            components.append({"type": "library", "name": name.strip(), "version": version,
                               "purl": f"pkg:pypi/{name.strip()}@{version}"})
    doc = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": components}
    (d.repo / "dist" / "sbom.cdx.json").write_text(json.dumps(doc, indent=2) + "\n")
    print("  (the sbom extra is not installed: a small CycloneDX SBOM of requirements-dev.txt stands in for --sbom auto)")
    return "dist/sbom.cdx.json"


def _show_inputs(bundle: Path) -> None:
    """Print what the attestation names: its resolved dependencies, environment and byproducts."""
    import base64

    lines = bundle.read_bytes().splitlines()
    st = json.loads(base64.b64decode(json.loads(lines[0])["payload"]))
    bd = st["predicate"]["buildDefinition"]
    types = [json.loads(base64.b64decode(json.loads(ln)["payload"]))["predicateType"] for ln in lines]
    print(f"  the bundle holds {len(lines)} signed statements: {', '.join(types)}")
    for dep in bd["resolvedDependencies"]:
        digest = ", ".join(f"{k} {v[:12]}" for k, v in dep.get("digest", {}).items()) or "no digest"
        print(f"    input {dep['uri']}  ({digest})")
    env = bd["internalParameters"].get("environment", {})
    tools = ", ".join(f"{k} {v}" for k, v in env.get("tools", {}).items())
    print(f"    environment {env.get('os')}/{env.get('arch')}; tools: {tools or 'none found'}")
    for b in st["predicate"]["runDetails"].get("byproducts", []):
        print(f"    byproduct {b['name']} ({b['mediaType']})")


def step_attest(d: Demo) -> None:
    d.say("a reproducible build (build.py: fixed file times from SOURCE_DATE_EPOCH, sorted entries, gzip without a time)")
    d.run(*shlex.split(BUILD))
    d.say("its attestation: the commit and its signed records, the lock file's packages, the command, the environment, "
          "an SBOM")
    d.run("srcprov", "attest", "--subject", "dist/tinyledger.tar.gz", "--builder-id", "urn:srcprov:demo-builder",
          "--command", BUILD, "--deps", "auto", "--sbom", _demo_sbom(d), "--output", "dist/tinyledger.intoto.jsonl")
    _show_inputs(d.repo / "dist" / "tinyledger.intoto.jsonl")
    d.say("verify the chain: artifact -> attestation -> commit -> note -> signer")
    d.run("srcprov", "verify-attestation", "dist/tinyledger.intoto.jsonl", "--subject", "dist/tinyledger.tar.gz")
    d.say("rebuild from the attestation in a temporary worktree and compare the bytes")
    d.run("srcprov", "reproduce", "dist/tinyledger.intoto.jsonl", "--subject", "dist/tinyledger.tar.gz")
    d.say("change the artifact after the build and watch verify-attestation name the broken link")
    artifact = d.repo / "dist" / "tinyledger.tar.gz"
    good = artifact.read_bytes()
    artifact.write_bytes(good + b"\0")
    d.run("srcprov", "verify-attestation", "dist/tinyledger.intoto.jsonl", "--subject", "dist/tinyledger.tar.gz", ok=(1,))
    artifact.write_bytes(good)
    print("  (restored the artifact)")


STEPS: list[Callable[[Demo], None]] = [step_setup, step_policy, step_commits, step_verify, step_review, step_tamper,
                                       step_report, step_attest]


def _need_tools(kind: str = "openpgp") -> None:
    """The demo needs git and GnuPG (gpg, and gpgconf to stop the agent it starts), or with SSH keys ssh-keygen."""
    tools = (("git", "git", "git"), ("ssh-keygen", "OpenSSH's ssh-keygen", "openssh-client")) if kind == "ssh" else (
        ("git", "git", "git"), ("gpg", "GnuPG", "gnupg"), ("gpgconf", "GnuPG's gpgconf", "gnupg"))
    for tool, what, package in tools:
        if shutil.which(tool) is None:
            raise SrcprovError(f"the demo needs {what}: {tool} is not on PATH (Debian: apt-get install {package})")


def _kill_agent(env: dict[str, str]) -> None:
    try:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        pass


def run_demo(directory: str | None = None, key_kind: str = "openpgp") -> None:
    """Run every step with throwaway keys of KEY_KIND (openpgp or ssh), printing each; leaves the repository behind."""
    if key_kind not in ("openpgp", "ssh"):
        raise SrcprovError(f"bad --key-kind {key_kind!r}: openpgp or ssh")
    _need_tools(key_kind)
    base = Path(directory).resolve() if directory else Path(tempfile.mkdtemp(prefix="srcprov-demo-"))
    repo = base / "tinyledger"
    if repo.exists() and any(repo.iterdir()):
        raise SrcprovError(f"{repo} exists and is not empty: choose another --dir")
    repo.mkdir(parents=True, exist_ok=True)
    # A short GnuPG home path: gpg-agent's socket path has a length limit.
    gnupghome = tempfile.mkdtemp(prefix="srcprov-demo-gpg-")
    gitconfig = base / "gitconfig"
    gitconfig.write_text("")
    env = dict(os.environ, GNUPGHOME=gnupghome, GIT_CONFIG_GLOBAL=str(gitconfig), GIT_CONFIG_NOSYSTEM="1")
    for k in [k for k in env if k.startswith("GIT_") and k not in ("GIT_CONFIG_GLOBAL", "GIT_CONFIG_NOSYSTEM")]:
        del env[k]
    env.pop("SRCPROV_SKIP", None)
    d = Demo(repo, env, key_kind)
    print(f"srcprov demo in {repo}")
    print("to run the commands below yourself, in a shell:\n"
          f"  cd {shlex.quote(str(repo))} && export {shlex.join([f'GNUPGHOME={gnupghome}', f'GIT_CONFIG_GLOBAL={gitconfig}'])}"
          " GIT_CONFIG_NOSYSTEM=1", flush=True)
    try:
        for step in STEPS:
            step(d)
    finally:
        _kill_agent(env)
    keys = f"SSH keys in {shlex.quote(d.keydir)}" if d.keydir else f"GNUPGHOME={shlex.quote(gnupghome)}"
    print(f"\ndone: the demo repository is {repo} ({keys})")
