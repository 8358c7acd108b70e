"""`install` and `uninstall`: the hook shims and srcprov's git config."""

from __future__ import annotations

from typing import TYPE_CHECKING

from srcprov.commands import Message

if TYPE_CHECKING:
    from srcprov.git import Repo


def install(repo: Repo, hooks: str | None, force: bool) -> Message:
    """Install the shims (HOOKS: comma-separated names, default all)."""
    from srcprov.hooks.install import install as do_install

    names = [h.strip() for h in hooks.split(",") if h.strip()] if hooks else None
    return Message(do_install(repo, names, force))


def uninstall(repo: Repo) -> Message:
    """Remove the shims and config; warn about records still queued."""
    from srcprov.hooks.install import uninstall as do_uninstall
    from srcprov.recording.queue import pending

    out = Message(do_uninstall(repo))
    left = pending(repo)
    if left:
        out.warnings.append(f"{len(left)} record(s) still queued: `srcprov record --pending` writes them")
    return out
