"""attest names the build's configuration, command and environment: the CI's workflow file with its blob id (as
`git rev-parse` gives it) and sha256, `--command` in externalParameters, OS/arch/image/tool versions from an
allow-list (no secret of the environment), and the whole still parses with in-toto's SLSA v1 bindings."""

from __future__ import annotations

import hashlib
import platform
import re
import subprocess
from pathlib import Path

from google.protobuf import json_format

from tests.attest.conftest import ARTIFACT, Env, attest, decoded, git, srcprov

WORKFLOW = "name: build\non: push\njobs:\n  build:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: make dist\n"
SECRET = "ghs_SECRET-TOKEN-IN-ENV-4b9e"


def _commit_workflow(repo: Path, path: str) -> str:
    p = repo / path
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(WORKFLOW)
    git(repo, "add", path)
    git(repo, "commit", "-q", "-m", "ci")
    r = srcprov(repo, "record")
    assert r.returncode == 0, r.stderr
    return git(repo, "rev-parse", f"HEAD:{path}")


def _github(repo: Path, gpg_env: Env, **extra: str) -> dict[str, str]:
    return {"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "octo/app", "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_WORKFLOW_REF": "octo/app/.github/workflows/build.yml@refs/heads/main", "GITHUB_REF": "refs/heads/main",
            "GITHUB_SHA": git(repo, "rev-parse", "HEAD"), "GITHUB_RUN_ID": "42", "GITHUB_TOKEN": SECRET,
            "ACTIONS_RUNTIME_TOKEN": SECRET, "ImageOS": "ubuntu24", "ImageVersion": "20241117.1.0",
            "RUNNER_ENVIRONMENT": "github-hosted", **extra}


def _attest_env(repo: Path, gpg_env: Env, env: dict[str, str], *extra: str) -> tuple[dict, str]:
    (repo / "dist").mkdir(exist_ok=True)
    (repo / ARTIFACT).write_bytes(b"artifact bytes\n")
    git(repo, "config", "srcprov.signingKey", gpg_env.fpr["builder"])
    r = srcprov(repo, "attest", "--subject", ARTIFACT, "--output", "out.jsonl", *extra, env=env)
    assert r.returncode == 0, r.stderr
    return decoded(repo / "out.jsonl")[1], (repo / "out.jsonl").read_text()


def test_github_workflow_file_is_a_dependency_with_its_blob_id(repo: Path, gpg_env: Env) -> None:
    blob = _commit_workflow(repo, ".github/workflows/build.yml")
    st, raw = _attest_env(repo, gpg_env, _github(repo, gpg_env))
    config = [d for d in st["predicate"]["buildDefinition"]["resolvedDependencies"]
              if d.get("annotations", {}).get("role") == "build-config"]
    assert config == [{"uri": "git+https://github.com/octo/app@refs/heads/main#.github/workflows/build.yml",
                       "digest": {"gitBlob": blob, "sha256": hashlib.sha256(WORKFLOW.encode()).hexdigest()},
                       "annotations": {"role": "build-config"}}]
    env = st["predicate"]["buildDefinition"]["internalParameters"]["environment"]
    assert env["image"] == "ubuntu24/20241117.1.0" and env["runner"] == "github-hosted"
    assert SECRET not in raw and SECRET not in json_text(st)


def json_text(st: dict) -> str:
    import json

    return json.dumps(st)


def test_gitlab_pipeline_file_and_image(repo: Path, gpg_env: Env) -> None:
    blob = _commit_workflow(repo, "ci/pipeline.yml")
    env = {"GITLAB_CI": "true", "CI_PROJECT_PATH": "grp/app", "CI_SERVER_URL": "https://gitlab.example.com",
           "CI_COMMIT_BRANCH": "main", "CI_JOB_ID": "7", "CI_CONFIG_PATH": "ci/pipeline.yml",
           "CI_JOB_IMAGE": "registry.example.com/grp/builder:1.4", "CI_JOB_TOKEN": SECRET, "CI_REGISTRY_PASSWORD": SECRET}
    st, raw = _attest_env(repo, gpg_env, env)
    config = [d for d in st["predicate"]["buildDefinition"]["resolvedDependencies"]
              if d.get("annotations", {}).get("role") == "build-config"]
    assert [d["digest"]["gitBlob"] for d in config] == [blob]
    assert config[0]["uri"].endswith("@refs/heads/main#ci/pipeline.yml")
    assert st["predicate"]["buildDefinition"]["internalParameters"]["environment"]["image"] == "registry.example.com/grp/builder:1.4"
    assert SECRET not in raw and SECRET not in json_text(st)


def test_workflow_file_missing_at_the_commit_is_a_warning(repo: Path, gpg_env: Env) -> None:
    (repo / "dist").mkdir(exist_ok=True)
    (repo / ARTIFACT).write_bytes(b"x")
    r = srcprov(repo, "attest", "--subject", ARTIFACT, "--no-sign", env=_github(repo, gpg_env))
    assert r.returncode == 0
    assert "srcprov: warning: the CI's configuration .github/workflows/build.yml is not a file of" in r.stderr
    import base64
    import json

    st = json.loads(base64.b64decode(json.loads(r.stdout)["payload"]))
    assert "build-config" not in json.dumps(st) and st["predicate"]["buildDefinition"]["externalParameters"]["workflow"]


def _version(tool: str, *args: str) -> str:
    out = subprocess.run([tool, *args], capture_output=True, text=True).stdout
    m = re.search(r"\d+(?:\.\d+)+", out)
    assert m
    return m.group()


def test_command_and_environment(repo: Path, gpg_env: Env) -> None:
    cmd = "SOURCE_DATE_EPOCH=1 git archive --format=tar -o dist/x.tar HEAD && gzip -n -f dist/x.tar"
    st, _ = _attest_env(repo, gpg_env, {"SOURCE_DATE_EPOCH": "1700000000", "AWS_SECRET_ACCESS_KEY": SECRET}, "--command", cmd)
    bd = st["predicate"]["buildDefinition"]
    assert bd["externalParameters"]["command"] == cmd
    env = bd["internalParameters"]["environment"]
    assert env["os"] == platform.system().lower() and env["arch"] == platform.machine()
    assert env["sourceDateEpoch"] == "1700000000"
    # The tools the command line names, as the tools themselves report their versions.
    assert env["tools"]["git"].startswith(_version("git", "--version"))
    assert env["tools"]["gzip"].startswith(_version("gzip", "--version"))
    assert set(env) <= {"os", "arch", "osRelease", "image", "runner", "sourceDateEpoch", "tools"}
    assert SECRET not in json_text(st)


def test_empty_command_is_bad_input(repo: Path) -> None:
    (repo / "a").write_bytes(b"a")
    r = srcprov(repo, "attest", "--subject", "a", "--no-sign", "--command", " ")
    assert r.returncode == 2 and r.stderr.strip() == "srcprov: error: --command is empty"


def test_every_input_parses_with_in_toto_bindings_unknown_fields_rejected(repo: Path, gpg_env: Env) -> None:
    from in_toto_attestation.predicates.provenance.v1 import provenance_pb2
    from in_toto_attestation.v1 import statement_pb2
    from in_toto_attestation.v1.resource_descriptor import ResourceDescriptor
    from in_toto_attestation.v1.statement import Statement

    _commit_workflow(repo, ".github/workflows/build.yml")
    (repo / "requirements.txt").write_text("six==1.16.0 --hash=sha256:" + hashlib.sha256(b"six").hexdigest() + "\n")
    (repo / "sbom.cdx.json").write_text('{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1}')
    git(repo, "add", "requirements.txt")
    git(repo, "commit", "-q", "-m", "deps")
    assert srcprov(repo, "record").returncode == 0
    st, _ = _attest_env(repo, gpg_env, _github(repo, gpg_env), "--command", "make dist", "--sbom", "sbom.cdx.json")
    pb = json_format.ParseDict(st, statement_pb2.Statement(), ignore_unknown_fields=False)
    Statement.copy_from_pb(pb).validate()
    prov = json_format.ParseDict(st["predicate"], provenance_pb2.Provenance(), ignore_unknown_fields=False)
    for rd in [*prov.build_definition.resolved_dependencies, *prov.run_details.byproducts]:
        ResourceDescriptor.copy_from_pb(rd).validate()
    uris = [rd.uri for rd in prov.build_definition.resolved_dependencies]
    assert "pkg:pypi/six@1.16.0" in uris and any(u.endswith("#.github/workflows/build.yml") for u in uris)
    assert prov.build_definition.external_parameters["command"] == "make dist"
    assert prov.run_details.byproducts[0].media_type == "application/vnd.cyclonedx+json"
    # No entry but the source names a commit (verify-attestation would call it a decoy).
    assert [rd.digest.get("gitCommit") for rd in prov.build_definition.resolved_dependencies if "gitCommit" in rd.digest] \
        == [git(repo, "rev-parse", "HEAD")]


def test_attest_helper_still_makes_a_verifiable_attestation(repo: Path, gpg_env: Env) -> None:
    att = attest(repo, gpg_env, "builder", "--command", "make")
    r = srcprov(repo, "verify-attestation", str(att), "--subject", ARTIFACT)
    assert r.returncode == 0, r.stdout + r.stderr
