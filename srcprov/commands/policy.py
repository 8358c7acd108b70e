"""`policy init|add-signer|retire-signer|show` (tomlkit keeps the user's comments when writing)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from srcprov.errors import SrcprovError
from srcprov.git import Repo
from srcprov.trust.policy import POLICY_DIR, ROLES, Policy, load_policy_dir, normal_keyid

TEMPLATE = """\
# srcprov policy: who may sign records for this repository, and what each commit needs.
# Reference: `srcprov policy --help`. Keys live in .srcprov/keys/ (<FINGERPRINT>.asc, SHA256_<id>.pub, <id>.pem).
version = 1

# [[signers]] entries are added by `srcprov policy add-signer KEY --email E --role author`.

# [[checks]]
# name = "tests"
# command = "python -m pytest -q -x"
# timeout = "120s"
# required = true

[require]
{since}backfilled = "allow"
reviews = 0
"""


def _policy_dir(repo: Repo) -> Path:
    if repo.workdir is None:
        raise SrcprovError("a bare repository has no work tree for .srcprov/")
    return repo.workdir / POLICY_DIR


def init_policy(repo: Repo, force: bool = False) -> str:
    """Create .srcprov/policy.toml and .srcprov/keys/; returns what it did."""
    d = _policy_dir(repo)
    path = d / "policy.toml"
    if path.exists() and not force:
        raise SrcprovError(f"{path} exists already (--force overwrites it)")
    head = None if repo.pg.head_is_unborn else str(repo.pg.head.target)
    if head:
        since = (f'# {head[:12]} was HEAD when the policy was made: it and its ancestors need no record,\n'
                 f'# every new commit does (`srcprov record --backfill --all` records the history instead).\n'
                 f'since = "{head}"\n')
    else:
        since = '# since = "<commit id>"   # it and its ancestors need no record; every other commit does\n'
    (d / "keys").mkdir(parents=True, exist_ok=True)
    path.write_text(TEMPLATE.replace("{since}", since))
    rel = path.relative_to(repo.workdir or d)
    said = f"created {rel}"
    if head:
        said += (f"\n[require] since = {head[:12]} (HEAD): the existing history needs no record, every new commit does;"
                 f" remove `since` from {rel} to require records for all of it (`srcprov record --backfill --all`)")
    return said + "\nadd signers with `srcprov policy add-signer KEY`"


def public_key_of(repo: Repo, key: str) -> tuple[str, str, str, bytes]:
    """(kind, key id, name, key file bytes) of what `policy add-signer KEY` names: `ssh:` + a public key file or
    key line, `pem:` + a PEM public key file, else an OpenPGP fingerprint or email the user's gpg knows."""
    if key.startswith("ssh:"):
        from srcprov.signing.ssh import BadSsh, parse_public_key_line

        arg = key[len("ssh:"):].strip()
        text = arg
        path = Path(arg).expanduser()
        looks_like_line = arg.startswith(("ssh-", "ecdsa-", "sk-")) and " " in arg
        if not looks_like_line:
            try:
                text = path.read_text("ascii")
            except (OSError, UnicodeDecodeError) as e:
                raise SrcprovError(f"cannot read SSH public key file {arg}: {getattr(e, 'strerror', None) or e}") from None
        try:
            pk = parse_public_key_line(text)
        except BadSsh as e:
            where = "the key line" if looks_like_line else arg
            hint = " (give the .pub file, not the private key)" if "PRIVATE KEY" in text else ""
            raise SrcprovError(f"{where} is not an OpenSSH public key srcprov verifies: {e}{hint}") from None
        name = pk.comment or (path.stem if not looks_like_line else pk.keyid)
        return "ssh", pk.keyid, name, (pk.line() + "\n").encode()
    if key.startswith("pem:"):
        from srcprov.signing.pem import BadPem, public_key_pem

        path = Path(key[len("pem:"):].strip()).expanduser()
        try:
            data = path.read_bytes()
        except OSError as e:
            raise SrcprovError(f"cannot read PEM public key file {path}: {e.strerror}") from None
        try:
            keyid, pem = public_key_pem(data)
        except BadPem as e:
            hint = " (give the public key, not the private key)" if b"PRIVATE KEY" in data else ""
            raise SrcprovError(f"{path}: {e}{hint}") from None
        return "pem", keyid, path.name.split(".")[0] or keyid[:16], pem
    from srcprov.signing.gnupg import export_public_key, gpg_binary

    fpr, name, armored = export_public_key(key, gpg_binary(repo.config("gpg.program")))
    if not armored.strip():
        raise SrcprovError(f"gpg could not export {fpr}")
    return "openpgp", fpr, name, armored.encode()


def add_signer(repo: Repo, key: str, emails: list[str], roles: list[str]) -> str:
    """Store KEY's public key in .srcprov/keys/ and list it in policy.toml with EMAILS and ROLES.

    KEY: an OpenPGP fingerprint or email, `ssh:` + a public key file or line, or `pem:` + a PEM public key file."""
    import tomlkit

    from srcprov.trust.policy import key_file_name

    bad = [r for r in roles if r not in ROLES]
    if bad:
        raise SrcprovError(f"unknown role {bad[0]!r} (roles: {', '.join(ROLES)})")
    d = _policy_dir(repo)
    path = d / "policy.toml"
    if not path.exists():
        raise SrcprovError(f"no {path}: run `srcprov policy init` first")
    kind, fpr, name, data = public_key_of(repo, key)
    (d / "keys").mkdir(exist_ok=True)
    (d / "keys" / key_file_name(kind, fpr)).write_bytes(data)
    doc = tomlkit.parse(path.read_text())
    signers = doc.get("signers")
    if signers is None:
        signers = tomlkit.aot()
        doc["signers"] = signers
    entry = next((s for s in signers if normal_keyid(str(s.get("kind", "openpgp")), str(s.get("fingerprint", ""))) == fpr
                  and str(s.get("kind", "openpgp")) == kind), None)
    if entry is None:
        entry = tomlkit.table()
        entry["name"] = name
        if kind != "openpgp":
            entry["kind"] = kind
        entry["fingerprint"] = fpr
        signers.append(entry)
        action = "added"
    else:
        action = "updated"
    if emails:
        entry["emails"] = sorted(set(list(entry.get("emails", [])) + emails))
    entry["roles"] = [r for r in ROLES if r in set(list(entry.get("roles", [])) + roles)]
    path.write_text(tomlkit.dumps(doc))
    load_policy_dir(d)  # what we wrote must load
    label = f"{kind} key {fpr}" if kind != "openpgp" else fpr
    return f"{action} signer {name} {label} ({', '.join(entry['roles'])}); commit .srcprov/ to apply it"


def retire_signer(repo: Repo, key: str, at: str | None = None) -> str:
    """Set the `until` of the signer whose key id is KEY (default: now); its earlier signatures stay trusted."""
    from datetime import UTC, datetime

    import tomlkit

    from srcprov.model.timefmt import parse_rfc3339

    when = datetime.now(UTC).replace(microsecond=0) if at is None else parse_rfc3339(at)
    if when is None:
        raise SrcprovError(f"bad --at {at!r}: expected an RFC 3339 time such as 2027-01-01T00:00:00Z")
    d = _policy_dir(repo)
    path = d / "policy.toml"
    if not path.exists():
        raise SrcprovError(f"no {path}: run `srcprov policy init` first")
    doc = tomlkit.parse(path.read_text())
    entry = next((s for s in doc.get("signers", [])
                  if str(s.get("fingerprint", "")) and normal_keyid(str(s.get("kind", "openpgp")), str(s.get("fingerprint", "")))
                  == normal_keyid(str(s.get("kind", "openpgp")), key)), None)
    want = normal_keyid(str(entry.get("kind", "openpgp")), key) if entry is not None else key
    if entry is None:
        raise SrcprovError(f"no signer {key} in {path}")
    stamp = when.astimezone(UTC).isoformat().replace("+00:00", "Z")
    entry["until"] = stamp
    path.write_text(tomlkit.dumps(doc))
    load_policy_dir(d)  # what we wrote must load
    return f"signer {entry.get('name', want)} {want} retired: signatures after {stamp} are untrusted; commit .srcprov/ to apply it"


@dataclass
class PolicyView:
    """`policy show`."""

    policy: Policy
    ok: bool = True
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> Any:
        p = self.policy
        return {
            "source": p.source,
            "signers": [{"name": s.name, "kind": s.kind, "fingerprint": s.fingerprint, "emails": list(s.emails),
                         "roles": list(s.roles)} for s in p.signers],
            "checks": [{"name": c.name, "command": c.command, "timeout": c.timeout, "required": c.required} for c in p.checks],
            "require": {"since": p.require.since, "backfilled": p.require.backfilled, "reviews": p.require.reviews},
        }

    def lines(self) -> Iterator[str]:
        from tabulate import tabulate

        p = self.policy
        yield f"policy: {p.source}"
        yield (tabulate([[s.name, s.kind, s.fingerprint, ", ".join(s.emails) or "any", ", ".join(s.roles)] for s in p.signers],
                        headers=["signer", "kind", "fingerprint", "emails", "roles"]) if p.signers else "no signers")
        if p.checks:
            yield tabulate([[c.name, c.command, f"{c.timeout:g}s", "yes" if c.required else "no"] for c in p.checks],
                           headers=["check", "command", "timeout", "required"])
        r = p.require
        yield f"require: since={r.since or 'the first commit'} backfilled={r.backfilled} reviews={r.reviews}"


def show_policy(repo: Repo, policy_dir: str | None, policy_rev: str | None) -> PolicyView:
    """The policy as it will be applied."""
    from srcprov.trust.policy import load_policy

    return PolicyView(load_policy(repo, policy_dir, policy_rev))
