"""The policy kept in the repository: `.srcprov/policy.toml` and the keys in `.srcprov/keys/`."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from srcprov.errors import SrcprovError
from srcprov.timefmt import parse_duration

ROLES = ("author", "reviewer", "builder")
POLICY_DIR = ".srcprov"
_FPR = re.compile(r"^[0-9A-F]{40}([0-9A-F]{24})?$")


@dataclass(frozen=True)
class Signer:
    name: str
    fingerprint: str
    emails: tuple[str, ...] = ()
    roles: tuple[str, ...] = ("author",)

    def allows_email(self, email: str) -> bool:
        """True when the signer lists no emails, or lists EMAIL (case-insensitively)."""
        return not self.emails or email.lower() in {e.lower() for e in self.emails}


@dataclass(frozen=True)
class Check:
    name: str
    command: str
    timeout: float = 120.0
    required: bool = False


@dataclass(frozen=True)
class Requirements:
    since: str | None = None
    backfilled: str = "allow"
    reviews: int = 0


@dataclass(frozen=True)
class Policy:
    signers: tuple[Signer, ...] = ()
    checks: tuple[Check, ...] = ()
    require: Requirements = Requirements()
    keys: dict[str, bytes] = field(default_factory=dict)  # fingerprint -> armored public key
    source: str = ""

    def signer(self, primary_fpr: str | None, role: str) -> Signer | None:
        """The signer entry for a primary key fingerprint holding ROLE, or None."""
        for s in self.signers:
            if s.fingerprint == (primary_fpr or "").upper() and role in s.roles:
                return s
        return None

    def listed(self, primary_fpr: str | None) -> Signer | None:
        """The signer entry for a primary key fingerprint, whatever its roles."""
        for s in self.signers:
            if s.fingerprint == (primary_fpr or "").upper():
                return s
        return None


def _err(source: str, msg: str) -> SrcprovError:
    return SrcprovError(f"policy {source}: {msg}")


def parse_policy(text: bytes, keys: dict[str, bytes], source: str) -> Policy:
    """A Policy from policy.toml's bytes and the key files found beside it."""
    try:
        doc: dict[str, Any] = tomllib.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise _err(source, f"cannot parse policy.toml: {e}") from None
    if doc.get("version", 1) != 1:
        raise _err(source, f"unsupported policy version {doc.get('version')!r}")
    signers = []
    for i, s in enumerate(doc.get("signers", [])):
        if not isinstance(s, dict):
            raise _err(source, f"signers[{i}] is not a table")
        fpr = str(s.get("fingerprint", "")).replace(" ", "").upper()
        if not _FPR.match(fpr):
            raise _err(source, f"signers[{i}] has no valid fingerprint: {s.get('fingerprint')!r}")
        roles = tuple(s.get("roles", ["author"]))
        bad = [r for r in roles if r not in ROLES]
        if bad:
            raise _err(source, f"signers[{i}] has unknown role {bad[0]!r} (roles: {', '.join(ROLES)})")
        emails = s.get("emails", [])
        if not isinstance(emails, list) or not all(isinstance(e, str) for e in emails):
            raise _err(source, f"signers[{i}].emails must be a list of strings")
        if fpr not in keys:
            raise _err(source, f"no public key for signer {fpr} (expected keys/{fpr}.asc)")
        signers.append(Signer(str(s.get("name", "")), fpr, tuple(emails), roles))
    checks = []
    for i, c in enumerate(doc.get("checks", [])):
        if not isinstance(c, dict) or not isinstance(c.get("command"), str) or not c.get("name"):
            raise _err(source, f"checks[{i}] needs a name and a command")
        checks.append(
            Check(str(c["name"]), c["command"], parse_duration(c.get("timeout", "120s"), "check timeout"),
                  bool(c.get("required", False)))
        )
    req = doc.get("require", {})
    if not isinstance(req, dict):
        raise _err(source, "[require] is not a table")
    backfilled = req.get("backfilled", "allow")
    if backfilled not in ("allow", "deny"):
        raise _err(source, f"require.backfilled must be allow or deny, not {backfilled!r}")
    reviews = req.get("reviews", 0)
    if not isinstance(reviews, int) or reviews < 0:
        raise _err(source, f"require.reviews must be a non-negative integer, not {reviews!r}")
    since = req.get("since")
    if since is not None and not isinstance(since, str):
        raise _err(source, "require.since must be a commit id")
    return Policy(tuple(signers), tuple(checks), Requirements(since or None, backfilled, reviews), keys, source)


def load_policy_dir(directory: Path, source: str | None = None) -> Policy:
    """The policy in a `.srcprov` directory on disk."""
    source = source or str(directory)
    path = directory / "policy.toml"
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        raise SrcprovError(f"no policy at {path}: run `srcprov policy init`") from None
    except OSError as e:
        raise SrcprovError(f"cannot read policy {path}: {e.strerror}") from None
    keys = {}
    keydir = directory / "keys"
    if keydir.is_dir():
        for f in keydir.glob("*.asc"):
            keys[f.stem.upper()] = f.read_bytes()
    return parse_policy(text, keys, source)


def load_policy_rev(repo: Any, rev: str) -> Policy:
    """The policy committed at REV (what CI should use: the protected base branch)."""
    import pygit2

    commit = repo.resolve_commit(rev)
    source = f"{rev} ({commit.id})"
    try:
        entry = commit.tree[POLICY_DIR]
    except KeyError:
        raise SrcprovError(f"no {POLICY_DIR}/ committed at {rev}") from None
    tree = repo.pg[entry.id]
    if not isinstance(tree, pygit2.Tree) or "policy.toml" not in tree:
        raise SrcprovError(f"no {POLICY_DIR}/policy.toml committed at {rev}")
    text = repo.pg[tree["policy.toml"].id].data
    keys = {}
    if "keys" in tree:
        for e in repo.pg[tree["keys"].id]:
            if e.name.endswith(".asc"):
                keys[e.name[: -len(".asc")].upper()] = repo.pg[e.id].data
    return parse_policy(text, keys, source)


def load_policy(repo: Any, policy_dir: str | None = None, policy_rev: str | None = None) -> Policy:
    """`--policy DIR`, else `--policy-rev REV`, else the work tree's `.srcprov/`."""
    if policy_dir:
        return load_policy_dir(Path(policy_dir))
    if policy_rev:
        return load_policy_rev(repo, policy_rev)
    if repo.workdir is None:
        raise SrcprovError("a bare repository has no work tree policy: use --policy-rev or --policy")
    return load_policy_dir(repo.workdir / POLICY_DIR, f"work tree {POLICY_DIR}/")
