"""Everything that touches key material or a crypto tool: the Signer and SignatureVerifier seams, the
backend-neutral results they return, and the choice of a backend. Trust decisions are not made here
(see `srcprov.trust`): a verifier says what a signature *is*, never whether the policy accepts it.

Backends: `gnupg` signs with the user's gpg; `sequoia` verifies OpenPGP in process (pysequoia) against
the policy's keys only; `ssh` signs through ssh-keygen and verifies SSHSIG in process; `pem` signs and
verifies raw ECDSA P-256 / Ed25519 keys in process (both on `cryptography`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class SigStatus(StrEnum):
    GOOD = "good"  # a valid signature of its kind over the data, by a key the verifier holds
    BAD = "bad"  # not a valid signature (wrong framing, wrong data, unreadable)
    NO_KEY = "no-key"  # made by a key the verifier does not hold
    REFUSED = "refused"  # the backend refuses the key at the signature's time (e.g. expired); crypto unconfirmed


@dataclass(frozen=True)
class SigCheck:
    """A verifier's finding about one signature."""

    status: SigStatus
    keyid: str | None = None  # the signing key (a subkey's id when a subkey signed)
    primary: str | None = None  # the policy's key id it belongs to
    created: int | None = None  # the time the signature states; None for kinds that carry none (ssh, pem)
    detail: str = ""


@dataclass(frozen=True)
class Revocation:
    at: int
    hard: bool  # no reason or compromised: every signature of the key is void, whatever its time
    reason: str


@dataclass(frozen=True)
class KeyState:
    """What a policy key's own packets say about one (sub)key's lifecycle."""

    keyid: str
    primary: str
    created: int | None = None
    expires: int | None = None
    revocations: tuple[Revocation, ...] = ()


@dataclass(frozen=True)
class Signed:
    sig: bytes
    keyid: str  # the key id a record names for this signature (see SPEC Signatures)


class Signer(Protocol):
    """Makes one signature over bytes with the key the user configured."""

    kind: str

    @property
    def version(self) -> str:
        """The signing tool's version, for the record's environment."""
        ...

    def sign(self, data: bytes) -> Signed:
        """A signature over DATA; SrcprovError when the key cannot sign now."""
        ...

    def usable(self) -> str | None:
        """Why this key cannot sign, or None when it can."""
        ...


class SignatureVerifier(ABC):
    """Checks signatures of one kind against a fixed set of public keys (a policy's), in process.

    `verify` never raises: whatever the backend does with hostile bytes becomes a BAD SigCheck.
    """

    kind: str = ""

    def verify(self, data: bytes, sig: bytes, keyid: str | None = None) -> SigCheck:
        """What SIG is over DATA; KEYID is the envelope's (unauthenticated) hint of the key that made it."""
        try:
            return self._verify(data, sig, keyid)
        except Exception as e:  # a backend's failure on hostile input is a bad signature, never a crash
            first = str(e).splitlines()[0] if str(e) else type(e).__name__
            return SigCheck(SigStatus.BAD, detail=f"unreadable signature: {first}")

    @abstractmethod
    def _verify(self, data: bytes, sig: bytes, keyid: str | None = None) -> SigCheck:
        """The backend's check; may raise on hostile input."""

    @property
    @abstractmethod
    def key_states(self) -> Mapping[str, KeyState]:
        """Lifecycle facts per (sub)key id, as the policy's key files state them."""


KINDS = ("openpgp", "ssh", "pem")


def kind_of_keyid(keyid: str | None) -> str:
    """The kind of signature an envelope's keyid names (SPEC Signatures): `SHA256:...` is ssh, 64 lower-case
    hex digits pem, anything else openpgp. The keyid is unauthenticated: it only picks the verifier, and a
    signature of another kind than its keyid says fails that verifier."""
    if keyid is None:
        return "openpgp"
    if keyid.startswith("SHA256:"):
        return "ssh"
    if len(keyid) == 64 and keyid == keyid.lower() and all(c in "0123456789abcdef" for c in keyid):
        return "pem"
    return "openpgp"


def verifier_for(kind: str, keys: Mapping[str, bytes]) -> SignatureVerifier:
    """A verifier of KIND holding KEYS (policy key id -> key file bytes); SrcprovError for an unknown kind."""
    from srcprov.errors import SrcprovError

    if kind == "openpgp":
        from srcprov.signing.sequoia import SequoiaVerifier

        return SequoiaVerifier(keys)
    if kind == "ssh":
        from srcprov.signing.ssh import SshVerifier

        return SshVerifier(keys)
    if kind == "pem":
        from srcprov.signing.pem import PemVerifier

        return PemVerifier(keys)
    raise SrcprovError(f"no verifier for signatures of kind {kind!r}")
