"""Where a build runs, read from the CI's environment through an allow-list (pure: a mapping in, facts out).

Nothing of the environment is copied wholesale: each fact below names the variable it comes from, and URLs
lose their credentials (`clean_url`). A CI's secrets live in the same environment, so a variable that is not
named here never reaches an attestation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from srcprov.model.urls import clean_url


@dataclass(frozen=True)
class BuildContext:
    """What the CI's environment says about this build; nothing else is copied from it."""

    ci: str  # github | gitlab | generic | local
    builder_id: str
    invocation_id: str = ""
    repository_url: str | None = None
    ref: str | None = None
    started_on: str | None = None
    workflow: dict[str, str] = field(default_factory=dict)
    ref_commit: str | None = None  # the commit the CI's ref points at (GITHUB_SHA)
    config_path: str | None = None  # the CI's workflow or pipeline file, a path in the repository


# Generic CI systems: variables naming a build (never a token; URLs are cleaned).
_GENERIC_INVOCATION = ("BUILD_URL", "BUILDKITE_BUILD_URL", "CIRCLE_BUILD_URL", "CI_BUILD_URL", "BUILD_ID",
                       "CI_BUILD_ID", "BUILD_NUMBER")


def build_context(env: Mapping[str, str], builder_id: str | None = None) -> BuildContext:
    """The builder, invocation and source location from GitHub Actions, GitLab CI or a generic CI."""
    g = env.get
    if g("GITHUB_ACTIONS") == "true" and g("GITHUB_REPOSITORY"):
        server = clean_url(g("GITHUB_SERVER_URL") or "https://github.com")
        repo_url = f"{server}/{g('GITHUB_REPOSITORY')}"
        wf_ref = g("GITHUB_WORKFLOW_REF", "")  # owner/repo/.github/workflows/x.yml@refs/heads/main
        run = f"{repo_url}/actions/runs/{g('GITHUB_RUN_ID', '')}"
        if g("GITHUB_RUN_ATTEMPT"):
            run += f"/attempts/{g('GITHUB_RUN_ATTEMPT')}"
        workflow = {}
        config_path = None
        if wf_ref:
            path, _, wf_at = wf_ref.partition("@")
            config_path = path.split("/", 2)[-1]
            workflow = {"ref": wf_at, "repository": repo_url, "path": config_path}
        return BuildContext(
            "github",
            builder_id or (f"{server}/{wf_ref}" if wf_ref else f"{repo_url}/actions"),
            run,
            repo_url,
            g("GITHUB_REF") or None,
            None,
            workflow,
            g("GITHUB_SHA") or None,
            config_path,
        )
    if g("GITLAB_CI") == "true" and g("CI_PROJECT_PATH"):
        server = clean_url(g("CI_SERVER_URL") or "https://gitlab.com")
        repo_url = clean_url(g("CI_PROJECT_URL") or f"{server}/{g('CI_PROJECT_PATH')}")
        if g("CI_MERGE_REQUEST_REF_PATH"):
            ref = g("CI_MERGE_REQUEST_REF_PATH")
        elif g("CI_COMMIT_TAG"):
            ref = f"refs/tags/{g('CI_COMMIT_TAG')}"
        elif g("CI_COMMIT_BRANCH") or g("CI_COMMIT_REF_NAME"):
            ref = f"refs/heads/{g('CI_COMMIT_BRANCH') or g('CI_COMMIT_REF_NAME')}"
        else:
            ref = None
        job = clean_url(g("CI_JOB_URL") or f"{repo_url}/-/jobs/{g('CI_JOB_ID', '')}")
        runner = f"{server}/{g('CI_PROJECT_PATH')}/-/runners/{g('CI_RUNNER_ID')}" if g("CI_RUNNER_ID") else f"{server}/-/runners"
        workflow = {k: v for k, v in {"pipeline": clean_url(g("CI_PIPELINE_URL", "")) if g("CI_PIPELINE_URL") else "",
                                      "pipelineId": g("CI_PIPELINE_ID", ""), "configPath": g("CI_CONFIG_PATH", ""),
                                      "job": g("CI_JOB_NAME", "")}.items() if v}
        # GitLab's default pipeline file; a CI_CONFIG_PATH in another project (`x.yml@group/project`) or at a
        # URL is not a file of this repository, so it is not named as one.
        config = g("CI_CONFIG_PATH") or ".gitlab-ci.yml"
        config_path = None if ("@" in config or "://" in config) else config
        return BuildContext("gitlab", builder_id or runner, job, repo_url, ref, g("CI_JOB_STARTED_AT") or None, workflow,
                            None, config_path)
    invocation = next((g(k, "") for k in _GENERIC_INVOCATION if g(k)), "")
    if "://" in invocation:
        invocation = clean_url(invocation)
    ci = "generic" if g("CI") or invocation else "local"
    return BuildContext(ci, builder_id or g("SRCPROV_BUILDER_ID") or f"urn:srcprov:builder:{ci}", invocation)


def git_uri(url: str, ref: str) -> str:
    """An SPDX-style VCS locator: `git+<url>@<ref>`."""
    return f"git+{url}@{ref}"


# --- the build environment ---------------------------------------------------------------------
# Tools whose versions are named when they are on PATH, whether or not the command names them.
COMMON_TOOLS = ("python", "pip", "node", "gcc", "go", "cargo")
# Words of a command line that run the next word rather than being the tool (`env X=1 make`, `sudo make`).
_WRAPPERS = frozenset({"env", "sudo", "time", "nice", "nohup", "exec", "command", "xargs", "then", "do", "else", "if", "!"})
_SEPARATORS = frozenset({"&&", "||", ";", "|", "&", "(", ")", "{", "}"})
_VERSION = re.compile(rb"\d+(?:\.\d+)+(?:[-+.~]?[0-9A-Za-z]+)*")
_IMAGE_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/:@+-]{0,254}")


def command_tools(command: str) -> list[str]:
    """The tools a shell command line runs, in order, without repeats: the first word of each simple command.

    Only bare names (found on PATH) are tools; `./build.sh` or `bin/x` are the project's own files, and a
    variable assignment (`SOURCE_DATE_EPOCH=1 make`) is skipped. A line the shell could not split gives none.
    """
    import shlex

    try:
        lex = shlex.shlex(command, posix=True, punctuation_chars=True)
        lex.whitespace_split = True
        words = list(lex)
    except ValueError:  # an unclosed quote: not a command line a shell would run
        return []
    out: list[str] = []
    expect = True
    for w in words:
        if w in _SEPARATORS or set(w) <= set("&|;()"):
            expect = True
            continue
        if not expect:
            continue
        if w in _WRAPPERS or re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", w, re.S) or w.startswith("-"):
            continue  # still expecting the tool
        expect = False
        if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}", w) and w not in out:
            out.append(w)
    return out


def tool_version(output: bytes) -> str | None:
    """The version a `TOOL --version` printed: the first dotted number of its first line that has one."""
    for line in output.splitlines()[:5]:
        m = _VERSION.search(line)
        if m:
            return m.group().decode("ascii")[:64]
    return None


def image(env: Mapping[str, str]) -> str | None:
    """The runner or container image the CI names: GitHub's ImageOS/ImageVersion, GitLab's CI_JOB_IMAGE."""
    if env.get("ImageOS") and env.get("ImageVersion"):
        value = f"{env['ImageOS']}/{env['ImageVersion']}"
    elif env.get("CI_JOB_IMAGE"):
        # An image reference never needs credentials; drop anything that looks like `user:pass@`.
        value = re.sub(r"^[^/@]*:[^/@]*@", "", env["CI_JOB_IMAGE"].strip())
    else:
        return None
    return value if _IMAGE_REF.fullmatch(value) else None


def environment(
    env: Mapping[str, str],
    os_name: str,
    arch: str,
    tools: Mapping[str, str],
    os_release: str | None = None,
) -> dict[str, Any]:
    """`internalParameters.environment`: OS, architecture, the CI's image, tool versions, SOURCE_DATE_EPOCH.

    Each value comes from a named source (the allow-list is this function): nothing else of ENV is read.
    """
    out: dict[str, Any] = {"os": os_name, "arch": arch}
    if os_release:
        out["osRelease"] = os_release
    img = image(env)
    if img:
        out["image"] = img
    if env.get("RUNNER_ENVIRONMENT") in ("github-hosted", "self-hosted"):
        out["runner"] = env["RUNNER_ENVIRONMENT"]
    sde = env.get("SOURCE_DATE_EPOCH", "")
    if re.fullmatch(r"\d{1,12}", sde):
        out["sourceDateEpoch"] = sde  # the time a reproducible build stamps: reproduce sets it again
    if tools:
        out["tools"] = dict(sorted(tools.items()))
    return out
