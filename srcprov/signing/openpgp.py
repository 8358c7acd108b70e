"""Strict OpenPGP packet framing (RFC 9580 section 4): what a record's `sig` may be, and what a policy key says
about its own lifecycle. Pure: no I/O, no crypto (Sequoia checks signatures, see `sequoia`).

A record's `sig` must be exactly one binary Signature packet (tag 2) of type 0x00 over the PAE. gpg, given
a whole signed message where a detached signature belongs, verifies the data embedded in it; so framing is
checked here first, byte by byte, before anything cryptographic sees the bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

TAG_SIGNATURE = 2
SIG_BINARY = 0x00
SIG_KEY_REVOCATION = 0x20
SIG_SUBKEY_REVOCATION = 0x28
# Revocation reasons (RFC 9580 5.2.3.31): only these three are "soft" (the key was fine before).
SOFT_REASONS = {1: "superseded", 3: "retired", 32: "user id no longer valid"}
REASONS = {0: "no reason", 1: "superseded", 2: "compromised", 3: "retired", 32: "user id no longer valid"}

SUB_CREATED = 2
SUB_KEY_EXPIRES = 9
SUB_ISSUER_KEYID = 16
SUB_REASON = 29
SUB_ISSUER_FPR = 33


class BadPacket(ValueError):
    """Bytes that are not what a strict reader accepts."""


@dataclass(frozen=True)
class Packet:
    tag: int
    body: bytes


def split_packets(data: bytes) -> list[Packet]:
    """Binary OpenPGP packets, in order; BadPacket on armor, partial lengths, truncation or trailing bytes."""
    out: list[Packet] = []
    i, n = 0, len(data)
    while i < n:
        head = data[i]
        if not head & 0x80:
            raise BadPacket("not a binary OpenPGP packet (armor or text?)")
        i += 1
        if head & 0x40:  # new format
            tag = head & 0x3F
            if i >= n:
                raise BadPacket("truncated packet header")
            o = data[i]
            if o < 192:
                length, i = o, i + 1
            elif o < 224:
                if i + 1 >= n:
                    raise BadPacket("truncated packet header")
                length, i = ((o - 192) << 8) + data[i + 1] + 192, i + 2
            elif o == 255:
                if i + 4 >= n:
                    raise BadPacket("truncated packet header")
                length, i = int.from_bytes(data[i + 1:i + 5], "big"), i + 5
            else:
                raise BadPacket("partial body length (a streamed message, not a signature)")
        else:  # legacy format
            tag, ltype = (head >> 2) & 0x0F, head & 0x03
            if ltype == 3:
                raise BadPacket("indeterminate packet length")
            size = 1 << ltype
            if i + size > n:
                raise BadPacket("truncated packet header")
            length, i = int.from_bytes(data[i:i + size], "big"), i + size
        if i + length > n:
            raise BadPacket("truncated packet")
        out.append(Packet(tag, data[i:i + length]))
        i += length
    return out


@dataclass(frozen=True)
class SignatureInfo:
    """What a Signature packet states about itself (unverified until Sequoia says so)."""

    version: int
    sig_type: int
    created: int | None
    issuer_fpr: str | None  # upper-case hex
    issuer_keyid: str | None  # upper-case hex, 16 digits
    reason: int | None  # reason for revocation, for revocation signatures
    key_expires_after: int | None  # key expiration time subpacket (seconds after key creation)
    unhashed: tuple[tuple[int, str], ...] = ()  # (subpacket type, issuer value or "") outside the signed part


def _subpackets(data: bytes) -> list[tuple[int, bytes]]:
    out = []
    i, n = 0, len(data)
    while i < n:
        o = data[i]
        if o < 192:
            length, i = o, i + 1
        elif o < 255:
            if i + 1 >= n:
                raise BadPacket("truncated subpacket")
            length, i = ((o - 192) << 8) + data[i + 1] + 192, i + 2
        else:
            length, i = int.from_bytes(data[i + 1:i + 5], "big"), i + 5
        if length < 1 or i + length > n:
            raise BadPacket("bad subpacket length")
        out.append((data[i], data[i + 1:i + length]))  # the type octet, critical bit included
        i += length
    return out


def parse_signature(body: bytes) -> SignatureInfo:
    """The stated facts of a Signature packet body (v4, v5 or v6); BadPacket when it is not one."""
    if len(body) < 6:
        raise BadPacket("signature packet too short")
    version = body[0]
    if version == 4:
        width = 2
    elif version in (5, 6):
        width = 4
    else:
        raise BadPacket(f"unsupported signature version {version}")
    sig_type = body[1]
    i = 4
    hashed_len = int.from_bytes(body[i:i + width], "big")
    hashed = body[i + width:i + width + hashed_len]
    i += width + hashed_len
    unhashed_len = int.from_bytes(body[i:i + width], "big")
    unhashed = body[i + width:i + width + unhashed_len]
    if len(hashed) != hashed_len or len(unhashed) != unhashed_len or i + width + unhashed_len + 2 > len(body):
        raise BadPacket("truncated signature packet")
    created = fpr = keyid = reason = expires = None
    for kind, value in ((k & 0x7F, v) for k, v in _subpackets(hashed)):
        if kind == SUB_CREATED and len(value) == 4:
            created = int.from_bytes(value, "big")
        elif kind == SUB_ISSUER_FPR and len(value) in (21, 33):
            fpr = value[1:].hex().upper()
        elif kind == SUB_ISSUER_KEYID and len(value) == 8:
            keyid = value.hex().upper()
        elif kind == SUB_REASON and value:
            reason = value[0]
        elif kind == SUB_KEY_EXPIRES and len(value) == 4:
            expires = int.from_bytes(value, "big")
    hinted: list[tuple[int, str]] = []
    for kind, value in _subpackets(unhashed):  # unauthenticated: only hints where to look for the key
        if kind == SUB_ISSUER_KEYID and len(value) == 8:
            hinted.append((kind, value.hex().upper()))
        elif kind == SUB_ISSUER_FPR and len(value) in (21, 33):
            hinted.append((kind, value[1:].hex().upper()))
        else:
            hinted.append((kind, ""))
    for kind, value in hinted:
        if kind == SUB_ISSUER_KEYID and keyid is None:
            keyid = value
        elif kind == SUB_ISSUER_FPR and fpr is None:
            fpr = value
    if keyid is None and fpr is not None:
        keyid = _keyid_of(fpr)
    return SignatureInfo(version, sig_type, created, fpr, keyid, reason, expires, tuple(hinted))


def _keyid_of(fpr: str) -> str:
    return fpr[-16:] if len(fpr) == 40 else fpr[:16]


def strict_detached_signature(sig: bytes) -> SignatureInfo:
    """Check that SIG is exactly one binary Signature packet of type 0x00; BadPacket says why not.

    A literal, compressed, one-pass, marker or second packet, armor, a cleartext signature or trailing
    bytes are all refused here: only a detached signature of binary data is a record's signature.
    """
    packets = split_packets(sig)
    if not packets:
        raise BadPacket("empty signature")
    if len(packets) != 1:
        tags = ", ".join(str(p.tag) for p in packets)
        raise BadPacket(f"{len(packets)} packets (tags {tags}) where one Signature packet belongs")
    if packets[0].tag != TAG_SIGNATURE:
        raise BadPacket(f"packet tag {packets[0].tag}, not a Signature packet (2)")
    info = parse_signature(packets[0].body)
    if info.sig_type != SIG_BINARY:
        raise BadPacket(f"signature type 0x{info.sig_type:02x}, not a signature of binary data (0x00)")
    if info.created is None:
        raise BadPacket("signature has no hashed creation time")
    # The unhashed area is not signed: anyone can rewrite it. It may hold nothing but who signed (a key id
    # or fingerprint, not marked critical), agreeing with the signed issuer; anything else is a tampered packet.
    for kind, value in info.unhashed:
        if kind not in (SUB_ISSUER_KEYID, SUB_ISSUER_FPR) or not value:
            raise BadPacket(f"unexpected unsigned subpacket (type octet {kind})")
        named = _keyid_of(value) if kind == SUB_ISSUER_FPR else value
        if (info.issuer_fpr and named != _keyid_of(info.issuer_fpr)) or named != info.issuer_keyid:
            raise BadPacket("the unsigned issuer does not match the signed one")
    return info
