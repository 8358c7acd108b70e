"""The policy kept in the repository: `.srcprov/policy.toml` and the keys in `.srcprov/keys/`."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from srcprov.errors import PolicyNotFound, SrcprovError
from srcprov.model.timefmt import parse_duration, parse_rfc3339

ROLES = ("author", "maintainer", "reviewer", "builder", "source")
KINDS = ("openpgp", "ssh", "pem")
POLICY_DIR = ".srcprov"
_FPR = re.compile(r"^[0-9A-F]{40}([0-9A-F]{24})?$")
_KEY_SUFFIX = {".asc": "openpgp", ".pub": "ssh", ".pem": "pem"}


def normal_keyid(kind: str, keyid: str) -> str:
    """A key id as the policy keeps it: OpenPGP upper-case without spaces, PEM lower-case, SSH as it is (base64)."""
    if kind == "ssh":
        return keyid.strip()
    if kind == "pem":
        return keyid.strip().lower()
    return keyid.replace(" ", "").upper()


def valid_keyid(kind: str, keyid: str) -> bool:
    """Whether KEYID (normalised) has the shape SPEC Signatures gives keys of KIND."""
    from srcprov.signing import pem, ssh

    if kind == "ssh":
        return ssh.is_keyid(keyid)
    if kind == "pem":
        return pem.is_keyid(keyid)
    return bool(_FPR.match(keyid))


def key_file_name(kind: str, keyid: str) -> str:
    """The name of KEYID's file under .srcprov/keys/."""
    if kind == "ssh":
        from srcprov.signing.ssh import keyid_file_name

        return keyid_file_name(keyid)
    return f"{keyid}.{'pem' if kind == 'pem' else 'asc'}"


def read_key_file(name: str, data: bytes, source: str) -> tuple[str, str] | None:
    """(kind, key id) of a file in .srcprov/keys/ named NAME; None for a file that is not a key. The key id
    of an SSH or PEM key is computed from its bytes, and the name must be the one that key id gives."""
    from srcprov.signing import pem, ssh

    suffix = name[name.rfind("."):] if "." in name else ""
    kind = _KEY_SUFFIX.get(suffix)
    if kind is None:
        return None
    stem = name[: -len(suffix)]
    if kind == "openpgp":
        return kind, stem.upper()
    try:
        keyid = ssh.keyid_of_key_file(data) if kind == "ssh" else pem.keyid_of_key_file(data)
    except ValueError as e:
        raise _err(source, f"keys/{name}: {e}") from None
    if key_file_name(kind, keyid) != name:
        raise _err(source, f"keys/{name} holds the key {keyid}, whose file is keys/{key_file_name(kind, keyid)}")
    return kind, keyid
_TOP_KEYS = {"version", "signers", "checks", "require"}
_SIGNER_KEYS = {"name", "kind", "fingerprint", "emails", "roles", "until"}
_CHECK_KEYS = {"name", "command", "timeout", "required"}
_REQUIRE_KEYS = {"since", "backfilled", "reviews", "ai_reviews"}


@dataclass(frozen=True)
class Signer:
    name: str
    fingerprint: str  # the key id, as SPEC Signatures defines it for the kind
    emails: tuple[str, ...] = ()
    roles: tuple[str, ...] = ("author",)
    kind: str = "openpgp"
    until: int | None = None  # signatures made after this (epoch seconds) are untrusted: a retired signer

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
    ai_reviews: int = 0


@dataclass(frozen=True)
class Policy:
    signers: tuple[Signer, ...] = ()
    checks: tuple[Check, ...] = ()
    require: Requirements = Requirements()
    keys: dict[str, bytes] = field(default_factory=dict)  # key id -> public key file bytes
    source: str = ""
    digest: str = ""
    # The commit the policy was read from (--policy-rev): its history is protected, so what a key that is past
    # its end (retired, expired, soft-revoked) signed counts only for commits in it (see trust.judge).
    anchor: str | None = None  # sha256 over policy.toml and every key file: what a cached verdict was reached under

    def signer(self, keyid: str | None, role: str) -> Signer | None:
        """The signer entry for a key id holding ROLE, or None."""
        for s in self.signers:
            if s.fingerprint == normal_keyid(s.kind, keyid or "") and role in s.roles:
                return s
        return None

    def listed(self, keyid: str | None) -> Signer | None:
        """The signer entry for a key id, whatever its roles."""
        for s in self.signers:
            if s.fingerprint == normal_keyid(s.kind, keyid or ""):
                return s
        return None

    def keys_of_kind(self, kind: str) -> dict[str, bytes]:
        """The public keys of the signers of KIND."""
        return {s.fingerprint: self.keys[s.fingerprint] for s in self.signers if s.kind == kind}


def _err(source: str, msg: str) -> SrcprovError:
    return SrcprovError(f"policy {source}: {msg}")


def _unknown(source: str, where: str, table: dict[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(table) - allowed)
    if extra:
        raise _err(source, f"unknown key{'s' if len(extra) > 1 else ''} {', '.join(map(repr, extra))} in {where} "
                           f"(known: {', '.join(sorted(allowed))})")


def _time(value: object, what: str, source: str) -> int:
    from datetime import datetime

    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise _err(source, f"{what} needs a time zone (e.g. 2027-01-01T00:00:00Z)")
        return int(value.timestamp())
    dt = parse_rfc3339(value)
    if dt is None:
        raise _err(source, f"{what} must be an RFC 3339 time, not {value!r}")
    return int(dt.timestamp())


def policy_digest(text: bytes, keys: dict[str, bytes]) -> str:
    """sha256 over policy.toml's bytes and every key file (name and bytes)."""
    h = hashlib.sha256(b"srcprov-policy-v1\0" + hashlib.sha256(text).digest())
    for name in sorted(keys):
        h.update(name.encode() + b"\0" + hashlib.sha256(keys[name]).digest())
    return h.hexdigest()


def parse_policy(text: bytes, keys: dict[str, bytes], source: str, kinds: dict[str, str] | None = None) -> Policy:
    """A Policy from policy.toml's bytes and the key files found beside it (key id -> bytes; KINDS: key id ->
    the kind its file holds); unknown keys are an error."""
    try:
        doc: dict[str, Any] = tomllib.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise _err(source, f"cannot parse policy.toml: {e}") from None
    _unknown(source, "policy.toml", doc, _TOP_KEYS)
    if doc.get("version", 1) != 1:
        raise _err(source, f"unsupported policy version {doc.get('version')!r}")
    signers = []
    raw_signers = doc.get("signers", [])
    if not isinstance(raw_signers, list):
        raise _err(source, "signers must be an array of tables ([[signers]])")
    for i, s in enumerate(raw_signers):
        if not isinstance(s, dict):
            raise _err(source, f"signers[{i}] is not a table")
        _unknown(source, f"signers[{i}]", s, _SIGNER_KEYS)
        kind = s.get("kind", "openpgp")
        if kind not in KINDS:
            raise _err(source, f"signers[{i}] has kind {kind!r}: this version verifies {', '.join(KINDS)} keys only")
        fpr = normal_keyid(kind, str(s.get("fingerprint", "")))
        if not valid_keyid(kind, fpr):
            raise _err(source, f"signers[{i}] has no valid fingerprint (a {kind} key id): {s.get('fingerprint')!r}")
        roles = s.get("roles", ["author"])
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise _err(source, f"signers[{i}].roles must be a list of strings")
        bad = [r for r in roles if r not in ROLES]
        if bad:
            raise _err(source, f"signers[{i}] has unknown role {bad[0]!r} (roles: {', '.join(ROLES)})")
        emails = s.get("emails", [])
        if not isinstance(emails, list) or not all(isinstance(e, str) for e in emails):
            raise _err(source, f"signers[{i}].emails must be a list of strings")
        name = s.get("name", "")
        if not isinstance(name, str):
            raise _err(source, f"signers[{i}].name must be a string")
        until = _time(s["until"], f"signers[{i}].until", source) if "until" in s else None
        if fpr not in keys:
            raise _err(source, f"no public key for signer {fpr} (expected keys/{key_file_name(kind, fpr)})")
        if kinds is not None and kinds.get(fpr, kind) != kind:
            raise _err(source, f"signers[{i}] is of kind {kind} but its key file holds an {kinds[fpr]} key")
        signers.append(Signer(name, fpr, tuple(emails), tuple(roles), kind, until))
    checks = []
    raw_checks = doc.get("checks", [])
    if not isinstance(raw_checks, list):
        raise _err(source, "checks must be an array of tables ([[checks]] or checks = [{...}])")
    for i, c in enumerate(raw_checks):
        if not isinstance(c, dict) or not isinstance(c.get("command"), str) or not c.get("name"):
            raise _err(source, f"checks[{i}] needs a name and a command")
        _unknown(source, f"checks[{i}]", c, _CHECK_KEYS)
        required = c.get("required", False)
        if not isinstance(required, bool):
            raise _err(source, f"checks[{i}].required must be true or false")
        checks.append(Check(str(c["name"]), c["command"], parse_duration(c.get("timeout", "120s"), "check timeout"),
                            required))
    req = doc.get("require", {})
    if not isinstance(req, dict):
        raise _err(source, "[require] is not a table")
    _unknown(source, "[require]", req, _REQUIRE_KEYS)
    backfilled = req.get("backfilled", "allow")
    if backfilled not in ("allow", "deny"):
        raise _err(source, f"require.backfilled must be allow or deny, not {backfilled!r}")
    counts = {}
    for key in ("reviews", "ai_reviews"):
        n = req.get(key, 0)
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise _err(source, f"require.{key} must be a non-negative integer, not {n!r}")
        counts[key] = n
    since = req.get("since")
    if since is not None and not isinstance(since, str):
        raise _err(source, "require.since must be a commit id")
    return Policy(tuple(signers), tuple(checks),
                  Requirements(since or None, backfilled, counts["reviews"], counts["ai_reviews"]),
                  keys, source, policy_digest(text, keys))


def load_policy_dir(directory: Path, source: str | None = None) -> Policy:
    """The policy in a `.srcprov` directory on disk."""
    source = source or str(directory)
    path = directory / "policy.toml"
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        raise PolicyNotFound(f"no policy at {path}: run `srcprov policy init`") from None
    except OSError as e:
        raise SrcprovError(f"cannot read policy {path}: {e.strerror}") from None
    files = {}
    keydir = directory / "keys"
    if keydir.is_dir():
        for f in keydir.iterdir():
            if f.suffix in _KEY_SUFFIX:
                try:
                    files[f.name] = f.read_bytes()
                except OSError as e:
                    raise SrcprovError(f"cannot read policy key {f}: {e.strerror}") from None
    keys, kinds = _keys(files, source)
    return parse_policy(text, keys, source, kinds)


def _keys(files: dict[str, bytes], source: str) -> tuple[dict[str, bytes], dict[str, str]]:
    """(key id -> bytes, key id -> kind) of the files in .srcprov/keys/ (name -> bytes)."""
    keys: dict[str, bytes] = {}
    kinds: dict[str, str] = {}
    for name in sorted(files):
        found = read_key_file(name, files[name], source)
        if found is None:
            continue
        kind, keyid = found
        keys[keyid] = files[name]
        kinds[keyid] = kind
    return keys, kinds


def load_policy_rev(repo: Any, rev: str) -> Policy:
    """The policy committed at REV (what CI should use: the protected base branch)."""
    import pygit2

    commit = repo.resolve_commit(rev)
    source = f"{rev} ({commit.id})"
    try:
        entry = commit.tree[POLICY_DIR]
    except KeyError:
        raise PolicyNotFound(f"no {POLICY_DIR}/ committed at {rev}") from None
    tree = repo.pg[entry.id]
    if not isinstance(tree, pygit2.Tree) or "policy.toml" not in tree:
        raise PolicyNotFound(f"no {POLICY_DIR}/policy.toml committed at {rev}")
    text = repo.pg[tree["policy.toml"].id].data
    files = {}
    if "keys" in tree:
        for e in repo.pg[tree["keys"].id]:
            if e.name is not None and e.name.endswith(tuple(_KEY_SUFFIX)) and e.type_str == "blob":
                files[e.name] = repo.pg[e.id].data
    keys, kinds = _keys(files, source)
    return dataclasses.replace(parse_policy(text, keys, source, kinds), anchor=str(commit.id))


def load_policy(repo: Any, policy_dir: str | None = None, policy_rev: str | None = None) -> Policy:
    """`--policy DIR`, else `--policy-rev REV`, else the work tree's `.srcprov/`."""
    if policy_dir:
        return load_policy_dir(Path(policy_dir))
    if policy_rev:
        return load_policy_rev(repo, policy_rev)
    if repo.workdir is None:
        raise SrcprovError("a bare repository has no work tree policy: use --policy-rev or --policy")
    return load_policy_dir(repo.workdir / POLICY_DIR, f"work tree {POLICY_DIR}/")
