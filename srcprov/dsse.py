"""DSSE envelopes and in-toto statements: pure functions, no I/O."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
COMMIT_PROVENANCE = "urn:srcprov:commit-provenance:v1"
REVIEW = "urn:srcprov:review:v1"
SLSA_PROVENANCE = "https://slsa.dev/provenance/v1"
SOURCE_VSA = "https://slsa.dev/verification_summary/v1"


class Malformed(ValueError):
    """A record that is not a well-formed DSSE envelope holding an in-toto statement."""


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE's pre-authentication encoding: what a signature is made over."""
    t = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


@dataclass(frozen=True)
class Signature:
    keyid: str
    sig: bytes


@dataclass(frozen=True)
class Envelope:
    payload_type: str
    payload: bytes
    signatures: tuple[Signature, ...]

    def to_json(self) -> dict[str, Any]:
        """The envelope as DSSE's JSON object."""
        return {
            "payloadType": self.payload_type,
            "payload": base64.b64encode(self.payload).decode("ascii"),
            "signatures": [
                {"keyid": s.keyid, "sig": base64.b64encode(s.sig).decode("ascii")} for s in self.signatures
            ],
        }

    def to_line(self) -> bytes:
        """The envelope as one compact JSON line (no newline), as a note holds it."""
        return json.dumps(self.to_json(), separators=(",", ":"), sort_keys=True).encode("utf-8")

    def pae(self) -> bytes:
        """The bytes its signatures are over."""
        return pae(self.payload_type, self.payload)


def _b64(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise Malformed(f"{what} is not a string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise Malformed(f"{what} is not valid base64") from None


def parse_envelope(data: bytes | str) -> Envelope:
    """Parse one DSSE envelope (JSON); Malformed if it is not one."""
    try:
        obj = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise Malformed("not JSON") from None
    if not isinstance(obj, dict):
        raise Malformed("not a JSON object")
    ptype = obj.get("payloadType")
    if not isinstance(ptype, str):
        raise Malformed("payloadType missing")
    payload = _b64(obj.get("payload"), "payload")
    sigs = obj.get("signatures")
    if not isinstance(sigs, list):
        raise Malformed("signatures is not a list")
    out = []
    for s in sigs:
        if not isinstance(s, dict):
            raise Malformed("a signature is not an object")
        keyid = s.get("keyid", "")
        if not isinstance(keyid, str):
            raise Malformed("keyid is not a string")
        out.append(Signature(keyid, _b64(s.get("sig"), "sig")))
    return Envelope(ptype, payload, tuple(out))


def parse_statement(env: Envelope) -> dict[str, Any]:
    """The in-toto statement an envelope carries; Malformed if it is not one."""
    if env.payload_type != PAYLOAD_TYPE:
        raise Malformed(f"payloadType is {env.payload_type!r}, not {PAYLOAD_TYPE}")
    try:
        st = json.loads(env.payload.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise Malformed("payload is not UTF-8 JSON") from None
    if not isinstance(st, dict):
        raise Malformed("statement is not a JSON object")
    if st.get("_type") != STATEMENT_TYPE:
        raise Malformed("statement _type is not in-toto Statement v1")
    subject = st.get("subject")
    if not isinstance(subject, list) or not subject or not all(
        isinstance(s, dict) and isinstance(s.get("digest"), dict) for s in subject
    ):
        raise Malformed("statement has no subject")
    if not isinstance(st.get("predicateType"), str):
        raise Malformed("statement has no predicateType")
    if not isinstance(st.get("predicate"), dict):
        raise Malformed("statement has no predicate")
    return st


def statement(subject: list[dict[str, Any]], predicate_type: str, predicate: dict[str, Any]) -> dict[str, Any]:
    """An in-toto Statement v1."""
    return {"_type": STATEMENT_TYPE, "subject": subject, "predicateType": predicate_type, "predicate": predicate}


def statement_bytes(st: dict[str, Any]) -> bytes:
    """Canonical-enough JSON bytes for a statement (sorted keys, compact, UTF-8)."""
    return json.dumps(st, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode("utf-8")
