"""Signing through the user's GnuPG (their keys, their agent), within a time limit.

The gpg binary is called directly: python-gnupg has no timeout, and a pinentry nobody can answer would
hang a hook. Verification never happens here: it is in process, on Sequoia (`srcprov.signing.sequoia`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass

from srcprov.errors import SrcprovError
from srcprov.signing import Signed


def gpg_binary(program: str | None = None) -> str:
    """The gpg executable (git's `gpg.program` when given); SrcprovError when there is none."""
    name = program or "gpg"
    found = shutil.which(name)
    if found is None:
        raise SrcprovError(f"gpg not found ({name}): install GnuPG (Debian: apt-get install gnupg)")
    return found


def gpg_version(binary: str) -> str:
    """gpg's version number, e.g. `2.2.40`."""
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    m = re.search(rb"\(GnuPG[^)]*\) (\S+)", out)
    return m.group(1).decode() if m else "unknown"


def _status_lines(raw: bytes) -> list[list[str]]:
    return [
        line[len("[GNUPG:] "):].split(" ")
        for line in raw.decode("utf-8", "replace").splitlines()
        if line.startswith("[GNUPG:] ")
    ]


def sign_detached(
    data: bytes, key: str, *, binary: str, gnupghome: str | None = None, timeout: float = 15.0
) -> Signed:
    """A binary detached OpenPGP signature over DATA by KEY; SrcprovError when gpg cannot sign."""
    env = dict(os.environ)
    if gnupghome:
        env["GNUPGHOME"] = gnupghome
    args = [binary, "--batch", "--yes", "--status-fd", "2", "--detach-sign", "--local-user", key]
    try:
        proc = subprocess.run(
            args, input=data, capture_output=True, env=env, timeout=timeout, start_new_session=True
        )
    except subprocess.TimeoutExpired:
        raise SrcprovError(
            f"gpg did not sign within {timeout:g}s (a passphrase nobody can type?); "
            "the record stays queued: run `srcprov record --pending` from a terminal"
        ) from None
    except OSError as e:
        raise SrcprovError(f"cannot run gpg: {e}") from None
    fpr = None
    for words in _status_lines(proc.stderr):
        if words[0] == "SIG_CREATED" and len(words) >= 7:
            fpr = words[6].upper()
    if proc.returncode != 0 or not proc.stdout or fpr is None:
        text = [
            line for line in proc.stderr.decode("utf-8", "replace").splitlines()
            if line and not line.startswith("[GNUPG:]")
        ]
        reason = text[-1].removeprefix("gpg: ") if text else f"exit code {proc.returncode}"
        raise SrcprovError(f"gpg could not sign with key {key}: {reason}")
    return Signed(proc.stdout, fpr)


@dataclass
class KeySigner:
    """Signs with one key through gpg, within a time limit."""

    kind = "openpgp"
    key: str
    binary: str
    timeout: float = 15.0
    gnupghome: str | None = None

    @property
    def version(self) -> str:
        """gpg's version (asked once)."""
        if not hasattr(self, "_version"):
            self._version = gpg_version(self.binary)
        return self._version

    def sign(self, data: bytes) -> Signed:
        """A detached signature over DATA."""
        return sign_detached(data, self.key, binary=self.binary, gnupghome=self.gnupghome, timeout=self.timeout)

    def primary_fingerprint(self) -> str | None:
        """The primary key fingerprint KEY names in the user's keyring (what a policy lists), or None."""
        env = dict(os.environ)
        if self.gnupghome:
            env["GNUPGHOME"] = self.gnupghome
        try:
            proc = subprocess.run([self.binary, "--batch", "--with-colons", "--list-keys", "--", self.key],
                                  capture_output=True, env=env, timeout=self.timeout)
        except (OSError, subprocess.TimeoutExpired):
            return None
        fprs = [ln.split(":")[9] for ln in proc.stdout.decode("utf-8", "replace").splitlines() if ln.startswith("fpr:")]
        return fprs[0].upper() if proc.returncode == 0 and fprs else None

    def usable(self) -> str | None:
        """Why this key cannot sign (no secret key, expired, revoked), or None when it can."""
        env = dict(os.environ)
        if self.gnupghome:
            env["GNUPGHOME"] = self.gnupghome
        try:
            proc = subprocess.run(
                [self.binary, "--batch", "--with-colons", "--list-secret-keys", "--", self.key],
                capture_output=True, env=env, timeout=self.timeout,
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            return f"cannot run gpg: {e}"
        if proc.returncode != 0 or b"\nsec:" not in b"\n" + proc.stdout:
            return f"no secret key for {self.key} in the GnuPG keyring"
        for line in proc.stdout.decode("utf-8", "replace").splitlines():
            f = line.split(":")
            if f[0] in ("sec", "ssb") and len(f) > 11 and "s" in f[11] and f[1] not in ("e", "r", "d", "i"):
                return None
        return f"key {self.key} has no usable signing key (expired or revoked?)"


def generate_key(binary: str, gnupghome: str, name: str, email: str) -> str:
    """Make a throwaway ed25519 signing key with no passphrase; returns its fingerprint."""
    params = (
        "%no-protection\nKey-Type: eddsa\nKey-Curve: ed25519\nKey-Usage: sign\n"
        f"Name-Real: {name}\nName-Email: {email}\nExpire-Date: 0\n%commit\n"
    )
    env = dict(os.environ, GNUPGHOME=gnupghome)
    proc = subprocess.run([binary, "--batch", "--status-fd", "1", "--gen-key"], input=params.encode(),
                          capture_output=True, env=env, timeout=120)
    for words in _status_lines(proc.stdout):
        if words[0] == "KEY_CREATED" and len(words) >= 3:
            return words[2].upper()
    raise SrcprovError(f"gpg could not make a key: {proc.stderr.decode('utf-8', 'replace').strip()[-200:]}")


def export_public_key(key: str, binary: str) -> tuple[str, str, str]:
    """(primary fingerprint, name, armored minimal public key) of the one key the user's gpg knows as KEY."""
    import gnupg

    gpg = gnupg.GPG(gpgbinary=binary)
    found = gpg.list_keys(keys=[key])
    if len(found) != 1:
        raise SrcprovError(f"gpg knows {'no' if not found else 'more than one'} public key for {key!r}")
    fpr = found[0]["fingerprint"].upper()
    uid = (found[0].get("uids") or [""])[0]
    name = uid.split("<", 1)[0].strip() or fpr
    return fpr, name, gpg.export_keys(fpr, minimal=True)
