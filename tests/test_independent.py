"""Records checked without srcprov's code: gpg over a PAE the test builds, securesystemslib's DSSE and OpenPGP parser."""

from __future__ import annotations

import base64
import json
import subprocess


def _pae(ptype: bytes, body: bytes) -> bytes:
    # DSSE v1: "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, written out here independently.
    return b" ".join([b"DSSEv1", str(len(ptype)).encode(), ptype, str(len(body)).encode(), body])


def _record(repo):
    repo.commit()
    line = repo.note().splitlines()[0]
    return json.loads(line)


def test_gpg_verifies_envelope_over_own_pae(repo, tmp_path):
    env = _record(repo)
    body = base64.b64decode(env["payload"])
    (tmp_path / "pae").write_bytes(_pae(env["payloadType"].encode(), body))
    (tmp_path / "sig").write_bytes(base64.b64decode(env["signatures"][0]["sig"]))
    proc = subprocess.run(["gpg", "--batch", "--status-fd", "1", "--verify", str(tmp_path / "sig"), str(tmp_path / "pae")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    validsig = [ln for ln in proc.stdout.splitlines() if "VALIDSIG" in ln][0].split()
    assert validsig[-1] == repo.keys.alice  # primary key fingerprint
    assert env["signatures"][0]["keyid"] == validsig[2]
    # And it does not verify over anything else.
    (tmp_path / "pae").write_bytes(_pae(b"text/plain", body))
    bad = subprocess.run(["gpg", "--batch", "--verify", str(tmp_path / "sig"), str(tmp_path / "pae")], capture_output=True)
    assert bad.returncode != 0


def test_statement_shape(repo):
    env = _record(repo)
    st = json.loads(base64.b64decode(env["payload"]))
    assert env["payloadType"] == "application/vnd.in-toto+json"
    assert st["_type"] == "https://in-toto.io/Statement/v1"
    assert st["subject"][0]["digest"]["gitCommit"] == repo.head()
    assert st["subject"][0]["name"] == "repo"
    assert len(env["signatures"]) == 1 and len(env["signatures"][0]["keyid"]) == 40


def test_securesystemslib_reads_and_verifies(repo):
    """securesystemslib's DSSE Envelope gives the same PAE, and its own OpenPGP packet parser
    (securesystemslib._gpg) reads our full binary signature packet and verifies it against the
    public key exported from gpg: an implementation that shares no code with srcprov or gpg's verify."""
    from securesystemslib._gpg.common import get_pubkey_bundle, parse_signature_packet
    from securesystemslib._gpg.functions import verify_signature
    from securesystemslib.dsse import Envelope

    env = _record(repo)
    # securesystemslib's Envelope wants its own signature encoding; the PAE is what matters here.
    e = Envelope.from_dict({"payload": env["payload"], "payloadType": env["payloadType"], "signatures": []})
    body = base64.b64decode(env["payload"])
    assert e.pae() == _pae(env["payloadType"].encode(), body)
    sig_packet = base64.b64decode(env["signatures"][0]["sig"])
    signature = parse_signature_packet(sig_packet)
    exported = subprocess.run(["gpg", "--batch", "--export", repo.keys.alice], capture_output=True, check=True).stdout
    bundle = get_pubkey_bundle(exported, signature["keyid"])
    key = bundle["subkeys"].get(signature["keyid"]) if signature["keyid"] != bundle["keyid"] else bundle
    key = key or bundle
    assert verify_signature(signature, key, e.pae()) is True
    assert verify_signature(signature, key, e.pae() + b"x") is False
