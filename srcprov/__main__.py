"""Entry point. `srcprov hook NAME` (what the shims call) takes a lean path that never imports typer."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Run srcprov with ARGV; return the exit code."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) >= 2 and args[0] == "hook":
        from srcprov.hooks.dispatch import run_hook

        return run_hook(args[1], args[2:])
    from srcprov.cli import run

    return run(args)


if __name__ == "__main__":
    sys.exit(main())
