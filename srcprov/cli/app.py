"""The typer application, the options many commands share, and the one way a result is rendered."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from srcprov import __version__
from srcprov.errors import SrcprovError


def docs_location() -> str:
    """Where the user's reference (docs/index.md) is in this installation."""
    from srcprov.resources import data_dir

    try:
        return str(data_dir("docs", "index.md") / "index.md")
    except SrcprovError:
        return "docs/index.md in srcprov's source"


app = typer.Typer(add_completion=False, no_args_is_help=True, help="Signed provenance for every commit.",
                  epilog=f"Reference (record format, policy, statuses, exit codes, attestations, CI recipes): {docs_location()}",
                  context_settings={"help_option_names": ["-h", "--help"]})
policy_app = typer.Typer(help="Create and inspect .srcprov/policy.toml.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")

_state: dict[str, Any] = {"repo": None}

# Options shared by many commands: declared once.
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine output.")]
PolicyDirOpt = Annotated[str | None, typer.Option("--policy", help="A .srcprov directory.")]
PolicyRevOpt = Annotated[str | None, typer.Option("--policy-rev", help="Use the .srcprov/ committed at REV (CI: the base branch).")]


def _version(value: bool) -> None:
    if value:
        print(f"srcprov {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(
    repo: str | None = typer.Option(None, "--repo", help="Repository path (default: the one containing the working directory)."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    _state["repo"] = repo


def open_repo():  # type: ignore[no-untyped-def]
    """The repository named by --repo, or the one containing the working directory."""
    from srcprov.git import Repo

    return Repo(_state["repo"])


def emit_json(obj: Any) -> None:
    """Machine output: JSON on stdout and nothing else."""
    # Indented for a person at a terminal; compact for a program (json's C encoder runs only without indent).
    indent = 2 if sys.stdout.isatty() else None
    sys.stdout.write(json.dumps(obj, indent=indent, ensure_ascii=False) + "\n")


def warn(warnings: list[str]) -> None:
    """Each warning as one line on stderr."""
    for w in warnings:
        print(f"srcprov: warning: {w}", file=sys.stderr)


def render(result: Any, as_json: bool) -> None:
    """Print a command's result (JSON or lines) and its warnings; exit 1 when its check failed."""
    warn(getattr(result, "warnings", []))
    if as_json:
        emit_json(result.to_json())
    else:
        for line in result.lines():
            print(line)
    if not result.ok:
        raise typer.Exit(1)


def progress_bar(name: str, enabled: bool, unit: str = "files") -> Any:
    """A progress bar on stderr (only on a terminal, see srcprov.progress)."""
    from srcprov.progress import ProgressBar

    return ProgressBar(name, enabled=enabled, unit=unit)
