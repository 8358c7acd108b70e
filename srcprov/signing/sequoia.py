"""OpenPGP verification in process on Sequoia (pysequoia), hermetic: only the keys it is given exist.

Framing is checked first (`openpgp.strict_detached_signature`); Sequoia then checks the cryptography and
the key's binding at the signature's time. Sequoia refuses a signature of a revoked key outright; so that
the trust judgement can say *why* (hard or soft revocation, and when), a refused signature is checked again
against the key with its revocation signatures left out: if it verifies then, it is authentic, and the
judge sees the revocation in the key's state.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from srcprov.errors import SrcprovError
from srcprov.signing import KeyState, Revocation, SigCheck, SignatureVerifier, SigStatus
from srcprov.signing.openpgp import (
    REASONS,
    SIG_KEY_REVOCATION,
    SIG_SUBKEY_REVOCATION,
    SOFT_REASONS,
    BadPacket,
    parse_signature,
    strict_detached_signature,
)

_SELF_SIGS = {0x10, 0x11, 0x12, 0x13, 0x1F}  # user id certifications and direct-key signatures
_SUBKEY_BINDING = 0x18


def _ts(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value is not None else None


class SequoiaVerifier(SignatureVerifier):
    """Verifies binary detached OpenPGP signatures against the policy's certificates."""

    kind = "openpgp"

    def __init__(self, keys: Mapping[str, bytes]) -> None:
        import pysequoia

        self._sq = pysequoia
        self._certs: dict[str, Any] = {}  # primary fingerprint -> Cert
        self._stripped: dict[str, Any] = {}  # primary -> Cert without revocation signatures
        self._owner: dict[str, str] = {}  # (sub)key fingerprint and 16-digit key id -> primary
        self._states: dict[str, KeyState] = {}
        self._bound_since: dict[str, int] = {}  # (sub)key -> time of its oldest binding self-signature
        for fpr, data in keys.items():
            try:
                cert = pysequoia.Cert.from_bytes(data)
            except Exception as e:
                raise SrcprovError(f"policy key {fpr} is not an OpenPGP certificate: {str(e).splitlines()[0]}") from None
            primary = cert.fingerprint.upper()
            if primary != fpr.upper():
                raise SrcprovError(f"policy key file for {fpr} holds the key {primary}")
            self._certs[primary] = cert
            self._read_lifecycle(cert, primary)

    @property
    def key_states(self) -> Mapping[str, KeyState]:
        """Lifecycle facts per (sub)key fingerprint."""
        return self._states

    def _read_lifecycle(self, cert: Any, primary: str) -> None:
        from pysequoia.packet import PacketPile, Tag

        keys: dict[str, dict[str, Any]] = {}
        current: str | None = None
        for p in PacketPile.from_bytes(bytes(cert)):
            if p.tag in (Tag.PublicKey, Tag.PublicSubkey):
                current = p.fingerprint.upper()
                keys[current] = {"created": _ts(p.key_created), "expires_after": None, "self_at": -1, "revs": []}
                self._owner[current] = primary
                self._owner[current[-16:] if len(current) == 40 else current[:16]] = primary
            elif p.tag == Tag.Signature and current is not None:
                try:
                    info = parse_signature(p.body)
                except BadPacket:
                    continue
                created = info.created or 0
                if info.sig_type in (SIG_KEY_REVOCATION, SIG_SUBKEY_REVOCATION):
                    target = primary if info.sig_type == SIG_KEY_REVOCATION else current
                    hard = info.reason not in SOFT_REASONS
                    why = REASONS.get(info.reason, f"reason {info.reason}") if info.reason is not None else "no reason"
                    keys[target]["revs"].append(Revocation(created, hard, why))
                    continue
                target = primary if info.sig_type in _SELF_SIGS else current if info.sig_type == _SUBKEY_BINDING else None
                if target is None:
                    continue
                if info.issuer_fpr not in (None, primary) and info.issuer_keyid not in (None, primary[-16:]):
                    continue  # a third party's certification says nothing about the key's life
                k = keys[target]
                k.setdefault("first_self", created)
                k["first_self"] = min(k["first_self"], created)
                if created >= k["self_at"]:
                    k["self_at"], k["expires_after"] = created, info.key_expires_after
        for fpr, k in keys.items():
            after = k["expires_after"]
            expires = k["created"] + after if after and k["created"] is not None else None
            self._states[fpr] = KeyState(fpr, primary, k["created"], expires, tuple(k["revs"]))
            self._bound_since[fpr] = k.get("first_self", 0)

    def _stripped_cert(self, primary: str) -> Any:
        if primary not in self._stripped:
            from pysequoia.packet import PacketPile, SignatureType, Tag

            revs = (SignatureType.KeyRevocation, SignatureType.SubkeyRevocation)
            packets = [p for p in PacketPile.from_bytes(bytes(self._certs[primary]))
                       if not (p.tag == Tag.Signature and p.signature_type in revs)]
            self._stripped[primary] = self._sq.Cert.from_packets(packets)
        return self._stripped[primary]

    def _sequoia_ok(self, data: bytes, sig: Any, cert: Any) -> str | None:
        try:
            res = self._sq.verify(bytes=data, store=lambda _ids: [cert], signature=sig)
        except Exception:
            return None
        valid = res.valid_sigs
        return str(valid[0].signing_key).upper() if valid else None

    def _verify(self, data: bytes, sig: bytes, keyid: str | None = None) -> SigCheck:
        try:
            info = strict_detached_signature(sig)
        except BadPacket as e:
            return SigCheck(SigStatus.BAD, detail=f"not a detached OpenPGP signature: {e}")
        issuer = info.issuer_fpr or info.issuer_keyid
        primary = self._owner.get(info.issuer_fpr or "") or self._owner.get(info.issuer_keyid or "")
        if primary is None:
            return SigCheck(SigStatus.NO_KEY, keyid=issuer, created=info.created,
                            detail=f"signed by {issuer}, a key the policy does not hold")
        parsed = self._sq.Sig.from_bytes(sig)
        signing = self._sequoia_ok(data, parsed, self._certs[primary])
        if signing is None and any(s.revocations for s in self._states.values() if s.primary == primary):
            signing = self._sequoia_ok(data, parsed, self._stripped_cert(primary))
        if signing is not None:
            return SigCheck(SigStatus.GOOD, signing, primary, info.created)
        # Sequoia also refuses a key it cannot bind at the signature's time: expired then, or created
        # later, or whose only self-signature is newer. The cryptography is then unconfirmed either way.
        for st in filter(None, (self._states.get(info.issuer_fpr or ""), self._states.get(primary))):
            created = info.created or 0
            if st.expires is not None and created >= st.expires:
                return SigCheck(SigStatus.REFUSED, st.keyid, primary, info.created,
                                f"key {st.keyid} had expired when it signed")
            if st.created is not None and created < st.created:
                return SigCheck(SigStatus.REFUSED, st.keyid, primary, info.created,
                                f"the signature is dated before key {st.keyid} existed")
            if created < self._bound_since.get(st.keyid, 0):
                return SigCheck(SigStatus.REFUSED, st.keyid, primary, info.created,
                                f"key {st.keyid} has no self-signature as old as this signature "
                                "(its key file was re-exported with only a newer one?)")
        return SigCheck(SigStatus.BAD, issuer, primary, info.created, "signature does not verify over this payload")
