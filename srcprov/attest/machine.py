"""Facts about the machine a build runs on: OS, architecture, tool versions (the I/O beside context.py)."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from srcprov.attest.context import COMMON_TOOLS, command_tools, environment, tool_version

_TIMEOUT = 10.0
_VERSION_ARGS = {"go": ("version",), "java": ("-version",)}


def _probe(path: str) -> str | None:
    """The version TOOL at PATH reports, or None (it failed, hung or printed none)."""
    name = os.path.basename(path)
    args = _VERSION_ARGS.get(name, ("--version",))
    try:
        proc = subprocess.run([path, *args], capture_output=True, stdin=subprocess.DEVNULL, timeout=_TIMEOUT)
    except (OSError, subprocess.SubprocessError):
        return None
    return tool_version(proc.stdout) or tool_version(proc.stderr)


def tool_versions(names: Iterable[str], project: Path | None = None) -> dict[str, str]:
    """NAME -> version for each tool found on PATH, probed in parallel (`TOOL --version`).

    A tool that resolves inside PROJECT (a `.` on PATH) is the project's own script, never run here.
    """
    found: dict[str, str] = {}
    for name in dict.fromkeys(names):
        path = shutil.which(name)
        if path is None:
            continue
        if project is not None and Path(path).resolve().is_relative_to(project.resolve()):
            continue
        found[name] = path
    with ThreadPoolExecutor(max_workers=4) as pool:
        versions = dict(zip(found, pool.map(_probe, found.values()), strict=True))
    return {k: v for k, v in versions.items() if v}


def build_environment(env: Mapping[str, str], command: str | None, project: Path | None = None) -> dict[str, Any]:
    """`internalParameters.environment` for a build run here with COMMAND (see context.environment)."""
    names = [*command_tools(command or ""), *COMMON_TOOLS]
    release = None
    try:
        release = platform.freedesktop_os_release().get("PRETTY_NAME")
    except OSError:
        pass
    return environment(env, platform.system().lower(), platform.machine(), tool_versions(names, project), release)
