"""attest --sbom: the SBOM as a byproduct (digest, media type) and as the bundle's second signed statement with the
provenance's subjects; verify-attestation checks every statement's signature and that the subjects agree."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from srcprov.attest.sbom import cyclonedx_available
from tests.attest.conftest import Env, attest, check, srcprov

CDX = json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
                  "components": [{"type": "library", "name": "six", "version": "1.16.0", "purl": "pkg:pypi/six@1.16.0"}]})
SPDX = json.dumps({"spdxVersion": "SPDX-2.3", "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT", "name": "app",
                   "documentNamespace": "https://example.com/app", "creationInfo": {"created": "2024-01-01T00:00:00Z",
                                                                                   "creators": ["Tool: test"]}})


def lines(att: Path) -> list[tuple[dict, dict]]:
    out = []
    for ln in att.read_text().splitlines():
        env = json.loads(ln)
        out.append((env, json.loads(base64.b64decode(env["payload"]))))
    return out


@pytest.mark.parametrize(("name", "text", "ptype", "media"), [
    ("sbom.cdx.json", CDX, "https://cyclonedx.org/bom", "application/vnd.cyclonedx+json"),
    ("app.spdx.json", SPDX, "https://spdx.dev/Document", "application/spdx+json"),
])
def test_sbom_is_a_byproduct_and_the_second_signed_statement(repo: Path, gpg_env: Env, name: str, text: str, ptype: str,
                                                             media: str) -> None:
    (repo / name).write_text(text)
    att = attest(repo, gpg_env, "builder", "--sbom", name)
    (penv, prov), (senv, sbom) = lines(att)
    assert prov["predicateType"] == "https://slsa.dev/provenance/v1"
    assert prov["predicate"]["runDetails"]["byproducts"] == [
        {"name": name, "digest": {"sha256": hashlib.sha256(text.encode()).hexdigest()}, "mediaType": media}]
    assert sbom["predicateType"] == ptype
    assert sbom["predicate"] == json.loads(text)
    assert sbom["subject"] == prov["subject"]
    assert [s["keyid"] for s in senv["signatures"]] == [gpg_env.fpr["builder"]]
    code, out = check(repo, att)
    assert code == 0, out
    assert "1 more statement(s) signed by a builder" in out["links"][0]["detail"]


def test_unsigned_sbom_line_breaks_the_signature_link(repo: Path, gpg_env: Env) -> None:
    (repo / "sbom.cdx.json").write_text(CDX)
    att = attest(repo, gpg_env, "builder", "--sbom", "sbom.cdx.json")
    first, second = att.read_text().splitlines()
    env = json.loads(second)
    env["signatures"] = []
    att.write_text(first + "\n" + json.dumps(env) + "\n")
    code, out = check(repo, att)
    assert code == 1 and out["brokenLink"] == "signature"
    assert "statement 2 (https://cyclonedx.org/bom) is not signed" in out["links"][0]["detail"]


def test_sbom_about_other_subjects_breaks_the_subject_link(repo: Path, gpg_env: Env, tmp_path: Path) -> None:
    from srcprov.attest.provenance import envelope_line
    from srcprov.attest.sbom import parse_sbom, sbom_statement
    from srcprov.git import Repo
    from srcprov.recording.signer import make_signer

    (repo / "sbom.cdx.json").write_text(CDX)
    att = attest(repo, gpg_env, "builder", "--sbom", "sbom.cdx.json")
    first = att.read_text().splitlines()[0]
    # A genuine builder signature over an SBOM statement about another artifact.
    other = sbom_statement([{"name": "other.tar.gz", "digest": {"sha256": "0" * 64}}], parse_sbom("s", CDX.encode()))
    line = envelope_line(other, make_signer(Repo(repo)))
    att.write_text(first + "\n" + line.decode() + "\n")
    code, out = check(repo, att)
    assert code == 1 and out["brokenLink"] == "subject"
    assert "names other subjects than the provenance" in out["links"][1]["detail"]


def test_not_an_sbom_is_bad_input(repo: Path) -> None:
    (repo / "a").write_bytes(b"a")
    (repo / "x.json").write_text('{"hello": 1}')
    r = srcprov(repo, "attest", "--subject", "a", "--no-sign", "--sbom", "x.json")
    assert r.returncode == 2 and r.stderr.startswith("srcprov: error: x.json is neither a CycloneDX")
    r = srcprov(repo, "attest", "--subject", "a", "--no-sign", "--sbom", "missing.json")
    assert r.returncode == 2 and r.stderr.startswith("srcprov: error: cannot read missing.json")


@pytest.mark.skipif(not cyclonedx_available(), reason="the sbom extra (cyclonedx-bom) is not installed")
def test_sbom_auto_is_a_cyclonedx_sbom_of_the_environment(repo: Path, gpg_env: Env) -> None:
    att = attest(repo, gpg_env, "builder", "--sbom", "auto")
    (_, prov), (_, sbom) = lines(att)
    assert sbom["predicateType"] == "https://cyclonedx.org/bom"
    assert sbom["predicate"]["bomFormat"] == "CycloneDX"
    # The environment's packages as pip itself lists them (the python3 on PATH that cyclonedx-py described).
    pip = subprocess.run(["python3", "-m", "pip", "list", "--format=json"], capture_output=True, text=True, check=True)
    def norm(name: str) -> str:
        return name.lower().replace("_", "-").replace(".", "-")

    names = {norm(p["name"]) for p in json.loads(pip.stdout)}
    listed = {norm(c["name"]) for c in sbom["predicate"].get("components", [])}
    assert "packaging" in listed and listed <= names
    by = prov["predicate"]["runDetails"]["byproducts"]
    assert by[0]["name"] == "sbom.cdx.json" and by[0]["mediaType"] == "application/vnd.cyclonedx+json"
    code, out = check(repo, att)
    assert code == 0, out
