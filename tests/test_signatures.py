"""Sequoia (srcprov's verifier) beside gpg (the independent oracle): every vector, good or bad, gets one verdict."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from srcprov.signing import SigStatus
from srcprov.signing.sequoia import SequoiaVerifier
from testing import forge

DATA = forge.pae(b'{"_type":"https://in-toto.io/Statement/v1"}')


@pytest.fixture(scope="module")
def material(keys):
    """The policy holds alice; mallory is unknown. Signatures over DATA of every kind the tests need."""
    home = keys.home
    good = forge.detached(home, keys.alice, DATA)
    return {
        "verifier": SequoiaVerifier({keys.alice: keys.armored(keys.alice)}),
        "good": good,
        "vectors": {
            "good": (DATA, good),
            "other data": (DATA + b"x", good),
            "unknown key": (DATA, forge.detached(home, keys.mallory, DATA)),
            "armored": (DATA, forge.gpg(home, "--local-user", keys.alice, "--armor", "--detach-sign", input=DATA).stdout),
            "opaque": (DATA, forge.gpg(home, "--local-user", keys.alice, "--sign", input=DATA).stdout),
            "clearsigned": (DATA, forge.gpg(home, "--local-user", keys.alice, "--clearsign", input=DATA).stdout),
            "wrapped": (b"forged", good + forge.literal(DATA)),
            "trailing byte": (DATA, good + b"\x00"),
            "two signatures": (DATA, good + good),
            "truncated": (DATA, good[:-3]),
            "text mode": (DATA, forge.gpg(home, "--local-user", keys.alice, "--textmode", "--detach-sign",
                                          input=DATA).stdout),
            "empty": (DATA, b""),
        },
    }


def _oracle_home(keys) -> str:
    """A gpg home holding alice's public key only (gpg trusts it; trust is not what is compared)."""
    home = tempfile.mkdtemp(prefix="spo-", dir="/tmp")
    os.chmod(home, 0o700)
    forge.gpg(home, "--import", input=keys.armored(keys.alice))
    return home


@pytest.fixture(scope="module")
def oracle(keys):
    return _oracle_home(keys)


def test_sequoia_and_gpg_agree_on_every_vector(material, oracle, tmp_path: Path) -> None:
    v = material["verifier"]
    verdicts = {}
    for name, (data, sig) in material["vectors"].items():
        ours = v.verify(data, sig).status == SigStatus.GOOD
        theirs = forge.gpg_verdict(oracle, data, sig, tmp_path)
        verdicts[name] = (ours, theirs)
    assert all(ours == theirs for ours, theirs in verdicts.values()), verdicts
    assert verdicts["good"] == (True, True)
    assert [name for name, (ours, _) in verdicts.items() if ours] == ["good"]


def test_signing_subkey_of_the_policy_key_is_reported_under_its_primary(keys) -> None:
    v = SequoiaVerifier({keys.alice: keys.armored(keys.alice)})
    chk = v.verify(DATA, forge.detached(keys.home, keys.alice, DATA))
    assert chk.status == SigStatus.GOOD and chk.primary == keys.alice and chk.created is not None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzzed_signature_bytes(material, oracle, data) -> None:
    """Mutated signatures never crash the verifier, and Sequoia says good exactly when gpg does."""
    good = bytearray(material["good"])
    op = data.draw(st.sampled_from(["flip", "insert", "delete", "truncate", "append"]))
    i = data.draw(st.integers(0, len(good) - 1))
    b = data.draw(st.integers(0, 255))
    if op == "flip":
        good[i] ^= b or 1
    elif op == "insert":
        good.insert(i, b)
    elif op == "delete":
        del good[i]
    elif op == "truncate":
        good = good[:i]
    else:
        good += bytes(data.draw(st.binary(min_size=1, max_size=40)))
    sig = bytes(good)
    ours = material["verifier"].verify(DATA, sig)
    assert ours.status in set(SigStatus)
    with tempfile.TemporaryDirectory() as tmp:
        theirs = forge.gpg_verdict(oracle, DATA, sig, Path(tmp))
    assert (ours.status == SigStatus.GOOD) == theirs, (op, i, b, ours)
