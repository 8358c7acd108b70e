"""Signing and verification through GnuPG.

Keys are managed with python-gnupg. Signing and batch verification call the gpg binary directly:
python-gnupg has no timeout (a pinentry nobody can answer would hang a hook) and no way to check many
detached signatures in one process, which `gpg --verify-files` can.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

from srcprov.errors import SrcprovError


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


@dataclass(frozen=True)
class Signed:
    sig: bytes
    fingerprint: str  # the key that made the signature (a subkey's, when a subkey signed)


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
class KeyState:
    """What a policy key's own packets say about one (sub)key: when it expires, when it was revoked."""

    fingerprint: str
    primary: str
    created: int = 0
    expires: int | None = None
    revoked_at: int | None = None
    can_sign: bool = True


@dataclass(frozen=True)
class SigCheck:
    """gpg's verdict on one detached signature."""

    status: str  # good | bad | no-key | error
    fingerprint: str | None = None  # signing (sub)key
    primary: str | None = None  # its primary key
    created: int | None = None  # signature time, seconds since the epoch
    detail: str = ""


@dataclass
class HermeticGpg:
    """A throwaway GnuPG home holding only the given public keys: the user's keyring changes nothing."""

    binary: str
    home: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="srcprov-gpg-"))
    keys: dict[str, KeyState] = field(default_factory=dict)

    def close(self) -> None:
        """Remove the temporary home."""
        shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self) -> HermeticGpg:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, args: Sequence[str], input: bytes | None = None, cwd: str | None = None) -> subprocess.CompletedProcess[bytes]:
        cmd = [self.binary, "--homedir", self.home, "--no-options", "--no-autostart", "--no-tty",
               "--status-fd", "1", *args]
        try:
            return subprocess.run(cmd, input=input, capture_output=True, cwd=cwd, timeout=600,
                                  stdin=None if input is not None else subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise SrcprovError(f"cannot run gpg: {e}") from None

    def import_keys(self, armored: Iterable[bytes]) -> None:
        """Import public keys and learn each (sub)key's expiry and revocation time."""
        data = b"\n".join(armored)
        if data.strip():
            self._run(["--batch", "--import", "--import-options", "import-minimal"], input=data)
        out = self._run(["--batch", "--with-colons", "--fixed-list-mode", "--list-sigs"]).stdout
        self.keys = parse_key_listing(out.decode("utf-8", "replace"))

    def verify_many(
        self, items: Sequence[tuple[bytes, bytes]], progress: Callable[[int, int], None] | None = None
    ) -> list[SigCheck]:
        """Check detached signatures (data, sig), BATCH per gpg process; one SigCheck per item, in order.

        PROGRESS(done, total) is called after each batch.
        """
        out: list[SigCheck] = []
        for start in range(0, len(items), self.BATCH):
            out += self._verify_batch(items[start:start + self.BATCH])
            if progress is not None:
                progress(len(out), len(items))
        return out

    # gpg --verify-files keeps every data file it checked open until it exits: a batch must stay well
    # under the usual open-files limit (1024 on Linux, 256 on macOS) or checks fail for want of a
    # descriptor. 200 per process costs one gpg start (~5 ms) per 200 records.
    BATCH = 200

    def _verify_batch(self, items: Sequence[tuple[bytes, bytes]]) -> list[SigCheck]:
        if not items:
            return []
        with tempfile.TemporaryDirectory(prefix="srcprov-v-", dir=self.home) as work:
            names = []
            for i, (data, sig) in enumerate(items):
                Path(work, str(i)).write_bytes(data)
                Path(work, f"{i}.sig").write_bytes(sig)
                names.append(f"{i}.sig")
            # Without --batch gpg finds the data beside each detached signature (name minus .sig);
            # --no-tty and stdin from /dev/null keep it from ever asking anything.
            out = self._run(["--verify-files", *names], cwd=work).stdout
        results = parse_verify_files(out.decode("utf-8", "replace"), len(items))
        if any(r.status == "error" and "said nothing" in r.detail for r in results):
            raise SrcprovError("gpg stopped before checking every signature (out of file descriptors?)")
        return results


class _FileState(TypedDict, total=False):
    """What the status lines said so far about one file's signature (a plain dict at run time)."""

    valid: tuple[str, int, str]  # VALIDSIG: signing key fingerprint, signature time, primary fingerprint
    bad: bool
    nokey: str
    created: int | None
    error: str


def parse_verify_files(out: str, count: int) -> list[SigCheck]:
    """Turn `gpg --status-fd 1 --verify-files` output into one SigCheck per file, in order."""
    results: list[SigCheck | None] = [None] * count
    current: int | None = None
    state: _FileState = {}

    def finish() -> None:
        if current is None or results[current] is not None:
            return
        if "valid" in state:
            fpr, created, primary = state["valid"]
            results[current] = SigCheck("good", fpr, primary, created)
        elif "bad" in state:
            results[current] = SigCheck("bad", detail="signature does not match the payload")
        elif "nokey" in state:
            results[current] = SigCheck("no-key", fingerprint=state["nokey"], created=state.get("created"),
                                        detail="signed by a key the policy does not hold")
        else:
            results[current] = SigCheck("error", detail=str(state.get("error", "not an OpenPGP signature")))

    for line in out.splitlines():
        if not line.startswith("[GNUPG:] "):
            continue
        w = line[9:].split(" ")
        if w[0] == "FILE_START" and len(w) >= 3:
            finish()
            current = int(w[2].split(".", 1)[0])
            state = {}
        elif current is None:
            continue
        elif w[0] == "NEWSIG" and state:
            # A second signature packet in one file: keep only the first verdict, flag it.
            state.setdefault("error", "more than one signature")
        elif w[0] == "VALIDSIG" and len(w) >= 11 and "valid" not in state:
            state["valid"] = (w[1].upper(), int(w[3]), w[10].upper())
        elif w[0] == "BADSIG":
            state["bad"] = True
        elif w[0] == "ERRSIG" and len(w) >= 7:
            # ERRSIG keyid pkalgo hashalgo class time rc [fpr]; rc 9 = no public key
            if w[6] == "9":
                state["nokey"] = (w[7] if len(w) > 7 and w[7] != "-" else w[1]).upper()
                state["created"] = int(w[5]) if w[5].isdigit() else None
            else:
                state["error"] = f"gpg cannot check this signature (code {w[6]})"
        elif w[0] in ("NODATA", "UNEXPECTED", "BADARMOR"):
            state.setdefault("error", "not an OpenPGP signature")
        elif w[0] == "FILE_DONE":
            finish()
    finish()
    return [r if r is not None else SigCheck("error", detail="gpg said nothing about it") for r in results]


def parse_key_listing(out: str) -> dict[str, KeyState]:
    """(Sub)key fingerprint -> KeyState from `gpg --with-colons --fixed-list-mode --list-sigs`."""
    keys: dict[str, KeyState] = {}
    primary: str | None = None
    pending: KeyState | None = None  # the pub/sub line waiting for its fpr line
    last: KeyState | None = None  # the key the following sig/rev lines belong to
    for line in out.splitlines():
        f = line.split(":")
        kind = f[0]
        if kind in ("pub", "sub"):
            pending = KeyState(
                fingerprint="",
                primary=primary or "",
                created=int(f[5]) if f[5].isdigit() else 0,
                expires=int(f[6]) if len(f) > 6 and f[6].isdigit() else None,
                can_sign="s" in (f[11] if len(f) > 11 else "s"),
            )
            if kind == "pub":
                primary = None
        elif kind == "fpr" and pending is not None:
            pending.fingerprint = f[9].upper()
            if primary is None:
                primary = pending.fingerprint
            pending.primary = primary
            keys[pending.fingerprint] = pending
            last, pending = pending, None
        elif kind == "rev" and last is not None and len(f) > 10:
            # A key revocation (class 20) on a primary, or a subkey revocation (class 28) on a subkey.
            cls = f[10][:2].lower()
            if cls in ("20", "28") and f[5].isdigit():
                t = int(f[5])
                last.revoked_at = t if last.revoked_at is None else min(last.revoked_at, t)
        elif kind == "uid":
            pass
    # A revoked primary revokes its subkeys too.
    for k in keys.values():
        p = keys.get(k.primary)
        if p is not None and p is not k and p.revoked_at is not None:
            k.revoked_at = p.revoked_at if k.revoked_at is None else min(k.revoked_at, p.revoked_at)
    return keys


def key_problem(keys: dict[str, KeyState], check: SigCheck) -> str | None:
    """Why a good signature's key was not valid when it signed (expired, revoked), or None."""
    if check.fingerprint is None or check.created is None:
        return None
    for fpr in {check.fingerprint, check.primary}:
        k = keys.get(fpr or "")
        if k is None:
            continue
        if k.revoked_at is not None and check.created >= k.revoked_at:
            return f"key {fpr} was revoked when it signed"
        if k.expires is not None and check.created >= k.expires:
            return f"key {fpr} had expired when it signed"
    return None


@dataclass
class KeySigner:
    """Signs with one key through gpg, within a time limit."""

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
