"""An attacker's kit, written apart from srcprov's code: statements, PAE, gpg signatures, OpenPGP packets."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

PAYLOAD_TYPE = "application/vnd.in-toto+json"


def pae(body: bytes, ptype: str = PAYLOAD_TYPE) -> bytes:
    t = ptype.encode()
    return b" ".join([b"DSSEv1", str(len(t)).encode(), t, str(len(body)).encode(), body])


def gpg(home: str, *args: str, input: bytes | None = None, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["gpg", "--homedir", home, "--batch", "--yes", *args], input=input, capture_output=True,
                          check=check)


def detached(home: str, key: str, data: bytes, *extra: str) -> bytes:
    """A binary detached signature by KEY over DATA (EXTRA: e.g. --faked-system-time=T!)."""
    return gpg(home, *extra, "--local-user", key, "--detach-sign", input=data).stdout


def packet(tag: int, body: bytes) -> bytes:
    """One new-format OpenPGP packet (five-octet length)."""
    return bytes([0xC0 | tag, 255]) + len(body).to_bytes(4, "big") + body


def literal(data: bytes) -> bytes:
    """A literal data packet (tag 11) holding DATA: what turns a signature into a signed message."""
    return packet(11, b"b" + b"\x00" + b"\x00\x00\x00\x00" + data)


def envelope(statement_bytes: bytes, sigs: list[tuple[str, bytes]]) -> bytes:
    return json.dumps({"payloadType": PAYLOAD_TYPE, "payload": base64.b64encode(statement_bytes).decode(),
                       "signatures": [{"keyid": k, "sig": base64.b64encode(s).decode()} for k, s in sigs]},
                      separators=(",", ":"), sort_keys=True).encode()


def decode(line: bytes | str) -> tuple[dict, bytes, dict]:
    env = json.loads(line)
    body = base64.b64decode(env["payload"])
    return env, body, json.loads(body)


def wrapped(line: bytes | str) -> bytes:
    """The no-key forgery: a record's genuine signature packet followed by the data it signed."""
    env, body, _ = decode(line)
    return base64.b64decode(env["signatures"][0]["sig"]) + literal(pae(body))


def gpg_framing(home: str, sig: bytes) -> bool:
    """gpg's own packet parser: SIG is exactly one binary Signature packet of class 0x00, nothing after it."""
    proc = gpg(home, "--no-armor", "--list-packets", input=sig, check=False)
    out = proc.stdout.decode("utf-8", "replace")
    heads = [ln for ln in out.splitlines() if ln.startswith("# off=")]
    packets = [ln for ln in out.splitlines() if ln.startswith(":")]
    if proc.returncode != 0 or len(heads) != 1 or len(packets) != 1 or not packets[0].startswith(":signature packet:"):
        return False
    fields = dict(w.split("=", 1) for w in heads[0][2:].split() if "=" in w)
    sized = int(fields.get("hlen", -1)) + int(fields.get("plen", -1)) == len(sig)
    # SPEC: nothing unsigned but the issuer, agreeing with the signed issuer fingerprint.
    lines = [ln.strip() for ln in out.splitlines()]
    unsigned = [ln for ln in lines if ln.startswith(("subpkt", "critical subpkt"))]
    signed_fpr = next((ln.rsplit(" ", 1)[-1].rstrip(")") for ln in lines if "(issuer fpr v4 " in ln and
                       ln.startswith("hashed subpkt 33")), None)
    for ln in unsigned:
        if not ln.startswith("subpkt 16 len 8 (issuer key ID "):
            return False
        if signed_fpr and ln.rstrip(")").rsplit(" ", 1)[-1] != signed_fpr[-16:]:
            return False
    return sized and "sigclass 0x00" in out


def gpg_verdict(home: str, data: bytes, sig: bytes, tmp: Path) -> bool:
    """gpg's answer for SIG as a record's signature over DATA: its packet parser says the framing is exactly one
    detached Signature packet of binary data (SPEC Signatures), and `gpg --verify SIG DATA` says VALIDSIG."""
    if not gpg_framing(home, sig):
        return False
    (tmp / "d").write_bytes(data)
    (tmp / "s").write_bytes(sig)
    out = gpg(home, "--status-fd", "1", "--verify", str(tmp / "s"), str(tmp / "d"), check=False).stdout.decode()
    words = [ln.split()[1] for ln in out.splitlines() if ln.startswith("[GNUPG:] ") and len(ln.split()) > 1]
    return "VALIDSIG" in words and "PLAINTEXT" not in words


def sshsig(keyfile: str, data: bytes, namespace: str = "srcprov", *extra: str) -> bytes:
    """ssh-keygen's signature over DATA with KEYFILE in NAMESPACE, dearmored here (not by srcprov's code)."""
    out = subprocess.run(["ssh-keygen", "-Y", "sign", "-n", namespace, "-f", keyfile, *extra], input=data,
                         capture_output=True, check=True).stdout
    body = b"".join(ln.strip() for ln in out.strip().splitlines()[1:-1])
    return base64.b64decode(body)


def ssh_keyid(public_line: str) -> str:
    """`SHA256:...` of a public key line, from ssh-keygen -l."""
    out = subprocess.run(["ssh-keygen", "-l", "-f", "-"], input=public_line.encode(), capture_output=True, check=True)
    return out.stdout.decode().split()[1]


def ssh_keygen_verifies(tmp: Path, public_line: str, data: bytes, blob: bytes, namespace: str = "srcprov") -> bool:
    """`ssh-keygen -Y verify` (OpenSSH's own code) on the SSHSIG BLOB over DATA by the key PUBLIC_LINE."""
    allowed = tmp / "allowed_signers"
    allowed.write_text(f'signer@example.com namespaces="{namespace}" {public_line}\n')
    armored = (b"-----BEGIN SSH SIGNATURE-----\n"
               + b"\n".join(base64.b64encode(blob)[i:i + 70] for i in range(0, len(base64.b64encode(blob)), 70))
               + b"\n-----END SSH SIGNATURE-----\n")
    (tmp / "sig").write_bytes(armored)
    proc = subprocess.run(["ssh-keygen", "-Y", "verify", "-f", str(allowed), "-I", "signer@example.com", "-n", namespace,
                           "-s", str(tmp / "sig")], input=data, capture_output=True)
    return proc.returncode == 0


def pem_sign(private_key_file: str, data: bytes) -> tuple[str, bytes]:
    """(key id, signature) over DATA with a PEM private key, made with `cryptography` directly: DER ECDSA P-256
    with SHA-256 (as cosign), or raw Ed25519."""
    import hashlib

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = serialization.load_pem_private_key(Path(private_key_file).read_bytes(), None)
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    sig = key.sign(data, ec.ECDSA(hashes.SHA256())) if isinstance(key, ec.EllipticCurvePrivateKey) else key.sign(data)
    return hashlib.sha256(der).hexdigest(), sig
