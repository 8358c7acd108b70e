"""The signing key configured for this repository, as git resolves its own (`gpg.format`, `user.signingkey`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from srcprov.errors import SrcprovError
from srcprov.model.timefmt import parse_duration

if TYPE_CHECKING:
    from srcprov.git import Repo
    from srcprov.signing.gnupg import KeySigner


def signing_config(repo: Repo) -> tuple[str, str | None]:
    """The configured signing format and key, resolved as the hook shims resolve them.

    Format: `srcprov.signingFormat`, else `gpg.format`, else openpgp. Key: `srcprov.signingKey`, else
    `user.signingkey`, else the committer's email (None when there is none).
    """
    fmt = repo.config("srcprov.signingFormat") or repo.config("gpg.format") or "openpgp"
    key = repo.config("srcprov.signingKey") or repo.config("user.signingkey") or repo.config("user.email")
    return fmt, key or None


def make_signer(repo: Repo, key: str | None = None, fmt: str | None = None, timeout: float | None = None) -> KeySigner:
    """A signer for KEY in FMT (default: as configured now); TIMEOUT caps `srcprov.signTimeout`."""
    from srcprov.signing.gnupg import KeySigner, gpg_binary

    cfg_fmt, cfg_key = signing_config(repo)
    fmt = fmt or cfg_fmt
    key = key or cfg_key
    if not key:
        raise SrcprovError("no signing key: set `git config srcprov.signingKey <fingerprint>`")
    if fmt not in ("openpgp", "gpg"):
        raise SrcprovError(f"signing format {fmt!r} is not supported by this build of srcprov (openpgp is)")
    limit = parse_duration(repo.config("srcprov.signTimeout") or "15s", "srcprov.signTimeout")
    if timeout is not None:
        limit = min(limit, timeout)
    return KeySigner(key, gpg_binary(repo.config("gpg.program")), limit)
