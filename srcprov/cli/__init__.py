"""The command line: typer declarations (`main`, `build`) over `srcprov.commands`; every error becomes one
line `srcprov: error: ...` and an exit code, here and nowhere else."""

from __future__ import annotations

import os
import sys
from typing import Any

import typer

from srcprov.cli import build, fleet, main  # noqa: F401  (they register their commands on `app`)
from srcprov.cli.app import app
from srcprov.errors import SrcprovError


# --- entry ------------------------------------------------------------------------------------
def _click_exceptions() -> list[Any]:
    """click's exception modules: typer >= 0.20 vendors its own copy of click, older ones use click."""
    mods = []
    for name in ("typer._click.exceptions", "click.exceptions"):
        try:
            mods.append(__import__(name, fromlist=["Exit"]))
        except ImportError:
            pass
    return mods


def run(argv: list[str]) -> int:
    """Run the CLI; every error becomes one line `srcprov: error: ...` and an exit code."""
    mods = _click_exceptions()
    exits = (typer.Exit, *(m.Exit for m in mods if hasattr(m, "Exit")))
    aborts = (typer.Abort, *(m.Abort for m in mods if hasattr(m, "Abort")))
    usage = tuple(m.ClickException for m in mods)
    cmd = typer.main.get_command(app)
    try:
        result = cmd.main(args=argv, prog_name="srcprov", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except SrcprovError as e:
        print(f"srcprov: error: {e}", file=sys.stderr)
        return e.exit_code
    except exits as e:
        return int(e.exit_code or 0)
    except aborts:
        print("srcprov: error: aborted", file=sys.stderr)
        return 2
    except usage as e:
        ctx = getattr(e, "ctx", None)
        if type(e).__name__ == "NoArgsIsHelpError" and ctx is not None:
            print(ctx.get_help())
            return 2
        print(f"srcprov: error: {e.format_message()}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("srcprov: error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as e:
        if os.environ.get("SRCPROV_DEBUG"):
            raise
        print(f"srcprov: error: internal error: {e.__class__.__name__}: {e} (SRCPROV_DEBUG=1 shows a traceback)",
              file=sys.stderr)
        return 2
