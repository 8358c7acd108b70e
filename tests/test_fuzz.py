"""Hypothesis: random and mutated note bytes always give a status, never an exception."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from srcprov.git import Repo
from srcprov.model.dsse import Malformed, parse_envelope, parse_statement
from srcprov.trust.policy import load_policy
from srcprov.trust.verify import RECORD_STATUSES, Verifier


@given(st.binary(max_size=400))
def test_parse_envelope_raises_only_malformed(data):
    try:
        parse_statement(parse_envelope(data))
    except Malformed:
        pass


@pytest.fixture
def verifier_and_line(repo):
    repo.commit()
    r = Repo(repo.path)
    v = Verifier(r, load_policy(r))
    yield v, repo.head(), repo.note().splitlines()[0].encode()
    v.close()


def _mutate(line: bytes, data) -> bytes:
    kind = data.draw(st.sampled_from(["flip", "cut", "insert", "json"]))
    if kind == "flip" and line:
        i = data.draw(st.integers(0, len(line) - 1))
        return line[:i] + bytes([line[i] ^ data.draw(st.integers(1, 255))]) + line[i + 1:]
    if kind == "cut":
        return line[: data.draw(st.integers(0, len(line)))]
    if kind == "insert":
        i = data.draw(st.integers(0, len(line)))
        return line[:i] + data.draw(st.binary(min_size=1, max_size=8)) + line[i:]
    env = json.loads(line)
    st_ = json.loads(base64.b64decode(env["payload"]))
    key = data.draw(st.sampled_from(["_type", "subject", "predicateType", "predicate"]))
    st_[key] = data.draw(st.one_of(st.none(), st.integers(), st.text(max_size=5), st.lists(st.integers(), max_size=2)))
    env["payload"] = base64.b64encode(json.dumps(st_).encode()).decode()
    if data.draw(st.booleans()):
        env["signatures"] = data.draw(st.one_of(st.just([]), st.just([{"sig": "AAAA"}]), st.just("x")))
    return json.dumps(env).encode()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_records_get_a_status(verifier_and_line, data):
    v, commit, line = verifier_and_line
    lines = [_mutate(line, data) for _ in range(data.draw(st.integers(1, 3)))]
    lines.append(data.draw(st.binary(max_size=200)).replace(b"\n", b""))
    results = v.check_lines([(commit, ln) for ln in lines])
    assert len(results) == len(lines)
    for r in results:
        assert r.status in RECORD_STATUSES
    # A mutated line that still verifies must be byte-identical in meaning: same statement.
    for ln, r in zip(lines, results, strict=True):
        if r.status == "verified":
            assert json.loads(base64.b64decode(json.loads(ln)["payload"])) == json.loads(
                base64.b64decode(json.loads(line)["payload"]))


def test_random_note_through_cli(repo):
    """A note of random bytes (not UTF-8, NULs) is a status on the command line too."""
    repo.commit()
    blob = repo.git("hash-object", "-w", "--stdin", input="x").stdout.strip()
    import subprocess

    data = bytes(range(256)) * 3
    blob = subprocess.run(["git", "hash-object", "-w", "--stdin"], input=data, cwd=repo.path, capture_output=True,
                          check=True).stdout.decode().strip()
    repo.git("notes", "--ref", "refs/notes/srcprov", "add", "-f", "-C", blob, "HEAD")
    proc = repo.srcprov("verify", "--json", check=1)
    entry = json.loads(proc.stdout)["commits"][0]
    assert entry["status"] == "malformed"
    assert "Traceback" not in proc.stderr
    assert repo.srcprov("show", check=0).returncode == 0
