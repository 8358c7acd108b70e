"""The SSHSIG parser and the PEM verifier on hostile bytes, checked against OpenSSH's own `ssh-keygen -Y verify`
and against the rules of SPEC Signatures (namespace srcprov, hash sha512, no trailing bytes, nothing reserved)."""

from __future__ import annotations

import base64
import hashlib
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from srcprov.signing import SigStatus
from srcprov.signing.pem import PemVerifier, keyid_of_key_file
from srcprov.signing.ssh import SshVerifier, keyid_of_blob, parse_public_key_line
from testing import forge
from testing.keys import pem_key, ssh_key

DATA = forge.pae(b'{"_type":"https://in-toto.io/Statement/v1"}')


def _s(b: bytes) -> bytes:
    return len(b).to_bytes(4, "big") + b


def _blob(pub: bytes, ns: bytes, reserved: bytes, hash_alg: bytes, sigblob: bytes, version: int = 1) -> bytes:
    return b"SSHSIG" + version.to_bytes(4, "big") + _s(pub) + _s(ns) + _s(reserved) + _s(hash_alg) + _s(sigblob)


def _fields(blob: bytes) -> list[bytes]:
    """The five string fields of an SSHSIG blob, read here (not by srcprov's parser)."""
    out, pos = [], 10
    for _ in range(5):
        n = int.from_bytes(blob[pos:pos + 4], "big")
        out.append(blob[pos + 4:pos + 4 + n])
        pos += 4 + n
    assert pos == len(blob)
    return out


@pytest.fixture(scope="module")
def ssh_keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, str]]:
    d = str(tmp_path_factory.mktemp("sshsig"))
    return {k: ssh_key(d, k.replace("-", "_"), k) for k in ("ed25519", "ecdsa", "ecdsa-384", "ecdsa-521", "rsa")}


def _verifier(*lines: str) -> SshVerifier:
    keys = {}
    for line in lines:
        pk = parse_public_key_line(line)
        keys[pk.keyid] = (line + "\n").encode()
    return SshVerifier(keys)


@pytest.mark.parametrize("kind", ["ed25519", "ecdsa", "ecdsa-384", "ecdsa-521", "rsa"])
def test_every_supported_key_type_verifies(ssh_keys: dict, kind: str, tmp_path: Path) -> None:
    priv, line = ssh_keys[kind]
    blob = forge.sshsig(priv, DATA)
    assert forge.ssh_keygen_verifies(tmp_path, line, DATA, blob)
    check = _verifier(line).verify(DATA, blob)
    assert check.status == SigStatus.GOOD and check.keyid == forge.ssh_keyid(line)
    assert _verifier(line).verify(DATA + b"x", blob).status == SigStatus.BAD
    assert keyid_of_blob(base64.b64decode(line.split()[1])) == forge.ssh_keyid(line)  # as ssh-keygen -l


def test_rsa_sha256_signature_type_verifies_and_sha1_does_not(ssh_keys: dict, tmp_path: Path) -> None:
    priv, line = ssh_keys["rsa"]
    blob = forge.sshsig(priv, DATA)
    pub, ns, res, halg, sigblob = _fields(blob)
    assert sigblob[4:4 + 12] == b"rsa-sha2-512"
    # Relabel the signature as ssh-rsa (SHA-1): refused whatever its bytes.
    inner = sigblob[4 + 12:]
    relabeled = _blob(pub, ns, res, halg, _s(b"ssh-rsa") + inner)
    check = _verifier(line).verify(DATA, relabeled)
    assert check.status == SigStatus.BAD and "rsa-sha2" in check.detail


@pytest.mark.parametrize("field,value,why,openssh", [
    ("ns", b"git", "namespace", False),
    # OpenSSH 9.2 compares the namespace as a C string and ignores the reserved field of the blob: it takes
    # these two. srcprov refuses them (SPEC: strict parsing, one encoding per signature).
    ("ns", b"srcprov\x00", "namespace", None),
    ("reserved", b"x", "reserved", None),
    ("hash", b"sha256", "sha512", False),
    ("version", 2, "version", False),
])
def test_structural_rules(ssh_keys: dict, tmp_path: Path, field: str, value: object, why: str,
                          openssh: bool | None) -> None:
    priv, line = ssh_keys["ed25519"]
    pub, ns, res, halg, sigblob = _fields(forge.sshsig(priv, DATA))
    parts = {"ns": ns, "reserved": res, "hash": halg, "version": 1}
    parts[field] = value  # type: ignore[assignment]
    blob = _blob(pub, parts["ns"], parts["reserved"], parts["hash"], sigblob, parts["version"])  # type: ignore[arg-type]
    check = _verifier(line).verify(DATA, blob)
    assert check.status == SigStatus.BAD and why in check.detail
    if openssh is not None:
        assert forge.ssh_keygen_verifies(tmp_path, line, DATA, blob) is openssh  # OpenSSH agrees


def test_trailing_bytes_anywhere_are_refused(ssh_keys: dict) -> None:
    priv, line = ssh_keys["ed25519"]
    good = forge.sshsig(priv, DATA)
    pub, ns, res, halg, sigblob = _fields(good)
    v = _verifier(line)
    assert v.verify(DATA, good).status == SigStatus.GOOD
    for bad in (good + b"\x00", _blob(pub, ns, res, halg, sigblob + b"\x00"), _blob(pub + b"\x00", ns, res, halg, sigblob)):
        assert v.verify(DATA, bad).status != SigStatus.GOOD


def test_a_key_not_in_the_policy_is_no_key(ssh_keys: dict) -> None:
    priv, line = ssh_keys["ecdsa"]
    check = _verifier(ssh_keys["ed25519"][1]).verify(DATA, forge.sshsig(priv, DATA))
    assert check.status == SigStatus.NO_KEY and check.keyid == forge.ssh_keyid(line)


def test_signature_by_another_key_under_a_listed_public_key_is_bad(ssh_keys: dict) -> None:
    """The SSHSIG names alice's public key but the signature bytes are another key's."""
    a_priv, a_line = ssh_keys["ed25519"]
    (d := Path(a_priv).parent)
    m_priv, _ = ssh_key(str(d), "mallory_ed")
    pub, ns, res, halg, _ = _fields(forge.sshsig(a_priv, DATA))
    *_, m_sig = _fields(forge.sshsig(m_priv, DATA))
    check = _verifier(a_line).verify(DATA, _blob(pub, ns, res, halg, m_sig))
    assert check.status == SigStatus.BAD


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutations_never_verify_unless_openssh_agrees(ssh_keys: dict, tmp_path: Path, data: st.DataObject) -> None:
    """Flip, cut or insert bytes in a genuine SSHSIG: srcprov never crashes, and whatever it accepts, OpenSSH's
    ssh-keygen accepts too (a mutation inside the signature proper must never verify)."""
    kind = data.draw(st.sampled_from(["ed25519", "ecdsa", "rsa"]))
    priv, line = ssh_keys[kind]
    good = _good_sigs.setdefault(kind, forge.sshsig(priv, DATA))
    op = data.draw(st.sampled_from(["flip", "cut", "insert"]))
    pos = data.draw(st.integers(0, len(good) - 1))
    if op == "flip":
        bad = good[:pos] + bytes([good[pos] ^ data.draw(st.integers(1, 255))]) + good[pos + 1:]
    elif op == "cut":
        bad = good[:pos] + good[pos + data.draw(st.integers(1, 8)):]
    else:
        bad = good[:pos] + data.draw(st.binary(min_size=1, max_size=8)) + good[pos:]
    check = _verifier(line).verify(DATA, bad)
    if check.status == SigStatus.GOOD:
        assert forge.ssh_keygen_verifies(tmp_path, line, DATA, bad)


_good_sigs: dict[str, bytes] = {}


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_never_crash_or_verify(blob: bytes) -> None:
    assert _RANDOM_V.verify(DATA, b"SSHSIG" + blob).status != SigStatus.GOOD
    assert _RANDOM_V.verify(DATA, blob).status != SigStatus.GOOD


_RANDOM_V = SshVerifier({})


# --- PEM --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pem_keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, str, str]]:
    d = str(tmp_path_factory.mktemp("pem"))
    return {k: pem_key(d, k, k) for k in ("ecdsa", "ed25519")}


def _pem_verifier(*pubs: str) -> PemVerifier:
    return PemVerifier({keyid_of_key_file(Path(p).read_bytes()): Path(p).read_bytes() for p in pubs})


def test_pem_keyid_is_sha256_of_the_spki(pem_keys: dict) -> None:
    for _priv, pub, keyid in pem_keys.values():
        der = subprocess.run(["openssl", "pkey", "-pubin", "-in", pub, "-outform", "DER"], capture_output=True).stdout
        if der:  # openssl's own DER, when openssl is installed
            assert hashlib.sha256(der).hexdigest() == keyid
        assert keyid_of_key_file(Path(pub).read_bytes()) == keyid


def test_pem_signatures(pem_keys: dict) -> None:
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    e_priv, e_pub, e_id = pem_keys["ecdsa"]
    d_priv, d_pub, d_id = pem_keys["ed25519"]
    v = _pem_verifier(e_pub, d_pub)
    keyid, sig = forge.pem_sign(e_priv, DATA)
    assert v.verify(DATA, sig, keyid).status == SigStatus.GOOD
    assert v.verify(DATA, sig, None).status == SigStatus.GOOD  # the key id is only a hint
    assert v.verify(DATA + b"x", sig, keyid).status == SigStatus.BAD
    assert v.verify(DATA, sig + b"\x00", keyid).status == SigStatus.BAD  # trailing bytes after the DER
    r, s = decode_dss_signature(sig)
    ber = b"\x30\x81" + bytes([len(sig) - 2]) + sig[2:]  # long-form length: BER, not DER
    assert v.verify(DATA, ber, keyid).status == SigStatus.BAD
    keyid, sig = forge.pem_sign(d_priv, DATA)
    assert v.verify(DATA, sig, keyid).status == SigStatus.GOOD
    assert v.verify(DATA, sig[:63], keyid).status == SigStatus.BAD
    assert _pem_verifier(e_pub).verify(DATA, sig, keyid).status == SigStatus.NO_KEY


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=128), st.sampled_from([None, "0" * 64]))
def test_pem_random_bytes_never_verify(sig: bytes, keyid: str | None) -> None:
    assert _PEM_V[0].verify(DATA, sig, keyid).status != SigStatus.GOOD


_PEM_V: list[PemVerifier] = []


@pytest.fixture(autouse=True, scope="module")
def _pem_v(pem_keys: dict) -> None:
    _PEM_V[:] = [_pem_verifier(pem_keys["ecdsa"][1], pem_keys["ed25519"][1])]
