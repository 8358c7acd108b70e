"""An attestation for an artifact of the attacker's choosing, made from a genuine one without any private key."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

from testing.forge import envelope, literal, pae
from tests.attest.conftest import ARTIFACT, Env, check, decoded, srcprov


def test_wrapped_builder_signature_does_not_attest_another_artifact(attested: tuple[Path, Path], gpg_env: Env) -> None:
    repo, att = attested
    env, st = decoded(att)
    genuine_sig = base64.b64decode(env["signatures"][0]["sig"])
    body = base64.b64decode(env["payload"])
    evil = b"malware\n"
    (repo / ARTIFACT).write_bytes(evil)
    st["subject"] = [{"name": ARTIFACT, "digest": {"sha256": hashlib.sha256(evil).hexdigest()}}]
    forged_sig = genuine_sig + literal(pae(body))  # the genuine signature, then the data it really signed
    forged = repo / "evil.intoto.jsonl"
    forged.write_bytes(envelope(json.dumps(st).encode(), [(env["signatures"][0]["keyid"], forged_sig)]) + b"\n")
    code, out = check(repo, forged)
    assert code == 1 and out["brokenLink"] == "signature", out


def test_duplicate_keys_in_an_attestation_file_are_bad_input(attested: tuple[Path, Path]) -> None:
    repo, att = attested
    text = att.read_text().strip()
    dup = repo / "dup.intoto.jsonl"
    dup.write_text(text.replace('"payloadType":', '"payloadType":"text/plain","payloadType":', 1) + "\n")
    r = srcprov(repo, "verify-attestation", str(dup), "--subject", ARTIFACT)
    assert r.returncode == 2 and "duplicate" in r.stderr and "Traceback" not in r.stderr
