"""The one way tests and benches run srcprov: the installed package, in a subprocess, as a user would."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


def srcprov_argv(*args: str) -> list[str]:
    """The command line that runs srcprov with ARGS under this interpreter."""
    return [sys.executable, "-m", "srcprov", *args]


def run_srcprov(cwd: str | Path, *args: str, env: Mapping[str, str] | None = None, input: str | None = None,
                check: bool | int = False, timeout: float | None = 600) -> subprocess.CompletedProcess[str]:
    """Run `srcprov ARGS` in CWD; CHECK=True wants exit 0, an int wants that exit code."""
    stdin = {"input": input} if input is not None else {"stdin": subprocess.DEVNULL}  # never a terminal
    proc = subprocess.run(srcprov_argv(*args), cwd=cwd, capture_output=True, text=True,
                          env=dict(env) if env is not None else None, timeout=timeout, **stdin)
    want = 0 if check is True else check if isinstance(check, int) and not isinstance(check, bool) else None
    if want is not None and proc.returncode != want:
        raise AssertionError(f"srcprov {' '.join(args)} exited {proc.returncode}, wanted {want}:\n{proc.stdout}\n{proc.stderr}")
    return proc
