"""PEM keys, for builders and CI: ECDSA P-256 (a DER signature over PAE with SHA-256, as cosign writes it) and
Ed25519 (the 64-byte signature), signed and verified in process with `cryptography`.

A key's id is the lower-case hex sha256 of its DER SubjectPublicKeyInfo, the id cosign-style tools and
securesystemslib compute. Other curves and key types are refused, both for signing and in the policy.

The private key file's passphrase, when it has one, comes from the environment variable that
`srcprov.pemPassphraseEnv` names (never from the command line, never into a record).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from srcprov.errors import SrcprovError
from srcprov.signing import KeyState, SigCheck, SignatureVerifier, Signed, SigStatus

_KEYID = re.compile(r"^[0-9a-f]{64}$")
_PUBLIC = re.compile(rb"^-----BEGIN PUBLIC KEY-----\r?\n([A-Za-z0-9+/=\r\n]+?)\r?\n-----END PUBLIC KEY-----\r?\n?$")


class BadPem(ValueError):
    """Not a PEM key srcprov accepts."""


def is_keyid(text: str) -> bool:
    """Whether TEXT has the shape of a PEM key id (64 lower-case hex digits)."""
    return bool(_KEYID.match(text))


def keyid_of_spki(der: bytes) -> str:
    """Lower-case hex sha256 of a DER SubjectPublicKeyInfo."""
    return hashlib.sha256(der).hexdigest()


def keyid_of_key_file(data: bytes) -> str:
    """The key id of a policy `.pem` file (one `PUBLIC KEY` block), computed without parsing the key."""
    m = _PUBLIC.match(data.strip() + b"\n")
    if not m:
        raise BadPem("not one PEM `PUBLIC KEY` block")
    try:
        der = base64.b64decode(b"".join(m.group(1).split()), validate=True)
    except (binascii.Error, ValueError):
        raise BadPem("the PEM block is not valid base64") from None
    return keyid_of_spki(der)


def _kind_of(key: Any) -> str:
    """`ecdsa-p256` or `ed25519` for a supported public or private key; BadPem otherwise."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519

    if isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise BadPem(f"ECDSA key on curve {key.curve.name} (only P-256 is supported)")
        return "ecdsa-p256"
    if isinstance(key, ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey):
        return "ed25519"
    raise BadPem(f"{type(key).__name__.lstrip('_')} keys are not supported (ECDSA P-256 and Ed25519 are)")


def public_key_pem(data: bytes) -> tuple[str, bytes]:
    """(key id, canonical PEM) of a supported public key file's bytes; BadPem when it is anything else."""
    from cryptography.hazmat.primitives import serialization

    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as e:
        raise BadPem(f"not a PEM public key: {e}") from None
    _kind_of(key)
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return keyid_of_spki(der), pem


def sign_with(key: Any, data: bytes) -> bytes:
    """A signature over DATA by a supported private key (DER ECDSA with SHA-256, or raw Ed25519)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    if _kind_of(key) == "ecdsa-p256":
        return bytes(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return bytes(key.sign(data))


def verify_with(key: Any, data: bytes, sig: bytes) -> str | None:
    """Why SIG is not a valid signature over DATA by the public KEY, or None when it is."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

    try:
        if _kind_of(key) == "ecdsa-p256":
            try:
                r, s = decode_dss_signature(sig)
            except ValueError:
                return "not a DER ECDSA signature"
            if encode_dss_signature(r, s) != sig:
                return "not a DER ECDSA signature (non-canonical encoding or trailing bytes)"
            key.verify(sig, data, ec.ECDSA(hashes.SHA256()))
        else:
            if len(sig) != 64:
                return "an Ed25519 signature is 64 bytes"
            key.verify(sig, data)
    except InvalidSignature:
        return "signature does not verify over this payload"
    return None


class PemVerifier(SignatureVerifier):
    """Verifies ECDSA P-256 and Ed25519 signatures against the policy's PEM public keys."""

    kind = "pem"

    def __init__(self, keys: Mapping[str, bytes]) -> None:
        from cryptography.hazmat.primitives import serialization

        self._keys: dict[str, Any] = {}
        for keyid, data in keys.items():
            try:
                found, _ = public_key_pem(data)
            except BadPem as e:
                raise SrcprovError(f"policy key {keyid}: {e}") from None
            if found != keyid:
                raise SrcprovError(f"policy key file for {keyid} holds the key {found}")
            self._keys[keyid] = serialization.load_pem_public_key(data)

    @property
    def key_states(self) -> Mapping[str, KeyState]:
        """PEM keys state no lifecycle: the policy's `until` is all there is."""
        return {}

    def _verify(self, data: bytes, sig: bytes, keyid: str | None = None) -> SigCheck:
        # The signature names no key: the envelope's keyid (unauthenticated) says which to try first, and
        # every other key of the policy is tried after it (a valid signature is valid whatever the hint).
        order = sorted(self._keys, key=lambda k: k != keyid)
        first = None
        for k in order:
            why = verify_with(self._keys[k], data, sig)
            if why is None:
                return SigCheck(SigStatus.GOOD, k, k)
            if k == keyid:
                first = why
        if keyid is not None and keyid not in self._keys:
            return SigCheck(SigStatus.NO_KEY, keyid, detail=f"signed by {keyid}, a key the policy does not hold")
        return SigCheck(SigStatus.BAD, keyid, keyid if keyid in self._keys else None,
                        detail=first or "signature does not verify over this payload")


@dataclass
class PemSigner:
    """Signs with a PEM private key file (ECDSA P-256 or Ed25519), in process."""

    path: str
    passphrase_env: str | None = None  # the environment variable holding the key's passphrase
    kind = "pem"

    @property
    def key(self) -> str:
        """The key file, as configured."""
        return self.path

    @property
    def version(self) -> str:
        """The signing library's version."""
        import cryptography

        return f"cryptography {cryptography.__version__}"

    def _load(self) -> Any:
        from cryptography.hazmat.primitives import serialization

        if not hasattr(self, "_private"):
            path = Path(os.path.expanduser(self.path))
            try:
                data = path.read_bytes()
            except OSError as e:
                raise SrcprovError(f"cannot read PEM key file {path}: {e.strerror}") from None
            password = None
            if self.passphrase_env:
                value = os.environ.get(self.passphrase_env)
                if value is None:
                    raise SrcprovError(f"{self.passphrase_env} (srcprov.pemPassphraseEnv) is not set: "
                                       f"the passphrase of {path} is read from it")
                password = value.encode()
            try:
                key = serialization.load_pem_private_key(data, password)
            except TypeError:
                raise SrcprovError(f"{path} is passphrase-protected: name the environment variable holding its "
                                   "passphrase with `git config srcprov.pemPassphraseEnv VAR`") from None
            except ValueError as e:
                raise SrcprovError(f"{path} is not a PEM private key srcprov can use "
                                   f"(or the passphrase is wrong): {str(e).splitlines()[0]}") from None
            try:
                _kind_of(key)
            except BadPem as e:
                raise SrcprovError(f"{path}: {e}") from None
            self._private = key
        return self._private

    def primary_fingerprint(self) -> str | None:
        """The key id a policy lists for this key, or None when the key cannot be read."""
        from cryptography.hazmat.primitives import serialization

        try:
            pub = self._load().public_key()
        except SrcprovError:
            return None
        return keyid_of_spki(pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))

    def public_pem(self) -> bytes:
        """The public key, PEM (what `policy add-signer pem:FILE` wants)."""
        from cryptography.hazmat.primitives import serialization

        return bytes(self._load().public_key().public_bytes(serialization.Encoding.PEM,
                                                            serialization.PublicFormat.SubjectPublicKeyInfo))

    def sign(self, data: bytes) -> Signed:
        """A signature over DATA."""
        key = self._load()
        keyid = self.primary_fingerprint()
        assert keyid is not None  # the key loaded
        return Signed(sign_with(key, data), keyid)

    def usable(self) -> str | None:
        """Why this key cannot sign (unreadable, wrong type, passphrase missing), or None when it can."""
        try:
            self._load()
        except SrcprovError as e:
            return str(e)
        return None
