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
    # gpg wants a parameter block to start with Key-Type: the passphrase comes after it.
    params = "%no-protection\n" if passphrase is None else ""
    params += "Key-Type: eddsa\nKey-Curve: ed25519\n"
    params += f"Passphrase: {passphrase}\n" if passphrase is not None else ""
    params += ("Key-Usage: cert\nSubkey-Type: eddsa\nSubkey-Curve: ed25519\nSubkey-Usage: sign\n" if subkey
               else "Key-Usage: sign\n")
    params += f"Name-Real: {name}\nName-Email: {email}\nExpire-Date: {expire}\n%commit\n"
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


def ssh_key(directory: str, name: str, kind: str = "ed25519", *, comment: str | None = None,
            passphrase: str = "") -> tuple[str, str]:
    """Make an SSH key (ed25519, ecdsa, ecdsa-384, ecdsa-521 or rsa) with ssh-keygen in DIRECTORY; returns
    (private key file, public key line)."""
    path = os.path.join(directory, name)
    argv = ["ssh-keygen", "-q", "-N", passphrase, "-C", comment or f"{name}@example.com", "-f", path]
    argv += {"ed25519": ["-t", "ed25519"], "ecdsa": ["-t", "ecdsa", "-b", "256"], "ecdsa-384": ["-t", "ecdsa", "-b", "384"],
             "ecdsa-521": ["-t", "ecdsa", "-b", "521"], "rsa": ["-t", "rsa", "-b", "2048"]}[kind]
    subprocess.run(argv, check=True, capture_output=True, stdin=subprocess.DEVNULL)
    with open(path + ".pub") as f:
        return path, f.read().strip()


def pem_key(directory: str, name: str, kind: str = "ecdsa", passphrase: bytes | None = None) -> tuple[str, str, str]:
    """Make a PEM key pair (ecdsa: P-256, or ed25519) with `cryptography`; returns (private key file, public key
    file, key id: lower-case hex sha256 of the DER SubjectPublicKeyInfo)."""
    import hashlib

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519

    key = ec.generate_private_key(ec.SECP256R1()) if kind == "ecdsa" else ed25519.Ed25519PrivateKey.generate()
    enc = (serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption())
    private = os.path.join(directory, f"{name}.key")
    public = os.path.join(directory, f"{name}.pub.pem")
    with open(private, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc))
    os.chmod(private, 0o600)
    pub = key.public_key()
    with open(public, "wb") as f:
        f.write(pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    der = pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public, hashlib.sha256(der).hexdigest()
