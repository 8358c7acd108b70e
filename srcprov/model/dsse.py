"""DSSE envelopes and in-toto statements: pure functions, no I/O."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
COMMIT_PROVENANCE = "urn:srcprov:commit-provenance:v1"
REVIEW = "urn:srcprov:review:v1"
SOURCE_PROVENANCE = "urn:srcprov:source-provenance:v1"  # a protected branch's update, by CI as the source control system
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


_B64 = re.compile(r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$")


def _b64(value: object, what: str) -> bytes:
    """Canonical standard base64 only: padding, no line breaks, zero trailing bits."""
    if not isinstance(value, str):
        raise Malformed(f"{what} is not a string")
    if not _B64.match(value):
        raise Malformed(f"{what} is not canonical base64")
    data = base64.b64decode(value)
    if base64.b64encode(data).decode("ascii") != value:
        raise Malformed(f"{what} is not canonical base64 (non-zero trailing bits)")
    return data


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise Malformed(f"duplicate JSON key {k!r}")
        out[k] = v
    return out


def _no_constant(name: str) -> Any:
    raise Malformed(f"{name} is not JSON")


def _check_strings(value: Any) -> None:
    """Every string is valid Unicode (JSON escapes can spell lone surrogates, which UTF-8 cannot hold)."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")  # in C: one pass over every key and string
    except UnicodeEncodeError:
        raise Malformed("a string holds a lone surrogate") from None


def strict_json(data: bytes | str) -> Any:
    """Parse JSON strictly: no duplicate keys at any depth, no NaN/Infinity, valid Unicode; Malformed if not."""
    try:
        obj = json.loads(data, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        if isinstance(e, Malformed):
            raise
        raise Malformed("not JSON") from None
    _check_strings(obj)
    return obj


_ENVELOPE_KEYS = {"payloadType", "payload", "signatures"}
_SIGNATURE_KEYS = {"keyid", "sig"}
_STATEMENT_KEYS = {"_type", "subject", "predicateType", "predicate"}
_DESCRIPTOR_KEYS = {"name", "uri", "digest", "content", "downloadLocation", "mediaType", "annotations"}


def parse_envelope(data: bytes | str) -> Envelope:
    """Parse one DSSE envelope (JSON) strictly; Malformed if it is not exactly one."""
    obj = strict_json(data)
    if not isinstance(obj, dict):
        raise Malformed("not a JSON object")
    extra = set(obj) - _ENVELOPE_KEYS
    if extra:
        raise Malformed(f"unexpected envelope field {sorted(extra)[0]!r}")
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
        if set(s) - _SIGNATURE_KEYS:
            raise Malformed(f"unexpected signature field {sorted(set(s) - _SIGNATURE_KEYS)[0]!r}")
        keyid = s.get("keyid", "")
        if not isinstance(keyid, str):
            raise Malformed("keyid is not a string")
        out.append(Signature(keyid, _b64(s.get("sig"), "sig")))
    return Envelope(ptype, payload, tuple(out))


def parse_statement(env: Envelope) -> dict[str, Any]:
    """The in-toto statement an envelope carries, parsed strictly; Malformed if it is not one."""
    if env.payload_type != PAYLOAD_TYPE:
        raise Malformed(f"payloadType is {env.payload_type!r}, not {PAYLOAD_TYPE}")
    try:
        text = env.payload.decode("utf-8")
    except UnicodeDecodeError:
        raise Malformed("payload is not UTF-8") from None
    st = strict_json(text)
    if not isinstance(st, dict):
        raise Malformed("statement is not a JSON object")
    extra = set(st) - _STATEMENT_KEYS
    if extra:
        raise Malformed(f"unexpected statement field {sorted(extra)[0]!r}")
    if st.get("_type") != STATEMENT_TYPE:
        raise Malformed("statement _type is not in-toto Statement v1")
    subject = st.get("subject")
    if not isinstance(subject, list) or not subject:
        raise Malformed("statement has no subject")
    for s in subject:
        if not isinstance(s, dict) or set(s) - _DESCRIPTOR_KEYS:
            raise Malformed("a subject is not a resource descriptor")
        digest = s.get("digest")
        if not isinstance(digest, dict) or not digest or not all(isinstance(v, str) for v in digest.values()):
            raise Malformed("a subject has no digest of strings")
        if "name" in s and not isinstance(s["name"], str):
            raise Malformed("a subject's name is not a string")
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
