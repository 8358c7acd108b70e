"""Throwaway keys for tests and benches: one generator per kind srcprov signs with (ed25519, for speed)."""

from __future__ import annotations

import os
import subprocess
import tempfile


def gnupg_home(prefix: str = "spk-") -> str:
    """A new, private GnuPG home with a short path (gpg-agent's socket path has a length limit)."""
    home = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    os.chmod(home, 0o700)
    return home


def openpgp_key(home: str | None, name: str, email: str | None = None, *, created: int | None = None,
                expire: str = "0", passphrase: str | None = None, subkey: bool = False) -> str:
    """Make an ed25519 OpenPGP key in HOME (None: $GNUPGHOME) and return its primary fingerprint.

    CREATED (epoch seconds) backdates it with gpg's faked system time; PASSPHRASE protects it; SUBKEY makes a
    certify-only primary with a signing subkey."""
    email = email or f"{name.lower().split()[0]}@example.com"
    params = ("%no-protection\n" if passphrase is None else "") + "Key-Type: eddsa\nKey-Curve: ed25519\n"
    params += ("Key-Usage: cert\nSubkey-Type: eddsa\nSubkey-Curve: ed25519\nSubkey-Usage: sign\n" if subkey
               else "Key-Usage: sign\n")
    params += f"Name-Real: {name}\nName-Email: {email}\nExpire-Date: {expire}\n"
    params += (f"Passphrase: {passphrase}\n" if passphrase is not None else "") + "%commit\n"
    argv = ["gpg", "--batch", "--status-fd", "1"]
    if home is not None:
        argv[1:1] = ["--homedir", home]
    if created is not None:
        argv.append(f"--faked-system-time={created}!")
    if passphrase is not None:
        argv += ["--pinentry-mode", "loopback"]
    out = subprocess.run([*argv, "--gen-key"], input=params.encode(), capture_output=True, check=True).stdout
    return next(ln.split()[3] for ln in out.decode().splitlines() if "KEY_CREATED" in ln).upper()


def armored_public_key(home: str | None, fpr: str) -> bytes:
    """FPR's public key, armored and minimal, as `policy add-signer` stores it."""
    argv = ["gpg", "--batch", "--armor", "--export-options", "export-minimal", "--export", fpr]
    if home is not None:
        argv[1:1] = ["--homedir", home]
    return subprocess.run(argv, capture_output=True, check=True).stdout


def kill_agent(home: str) -> None:
    """Stop the gpg-agent HOME started."""
    subprocess.run(["gpgconf", "--homedir", home, "--kill", "all"], capture_output=True)
