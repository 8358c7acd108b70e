"""The signing key configured for this repository, as git resolves its own (`gpg.format`, `user.signingkey`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from srcprov.errors import SrcprovError
from srcprov.model.timefmt import parse_duration

if TYPE_CHECKING:
    from srcprov.git import Repo
    from srcprov.signing import Signer


def signing_config(repo: Repo) -> tuple[str, str | None]:
    """The configured signing format and key, resolved as the hook shims resolve them.

    Format: `srcprov.signingFormat`, else `gpg.format`, else openpgp. Key: `srcprov.signingKey`, else
    `user.signingkey`, else (OpenPGP only: gpg finds a key by email) the committer's email; None when there is none.
    """
    fmt = repo.config("srcprov.signingFormat") or repo.config("gpg.format") or "openpgp"
    key = repo.config("srcprov.signingKey") or repo.config("user.signingkey")
    if not key and fmt in ("openpgp", "gpg"):
        key = repo.config("user.email")
    return fmt, key or None


SIGNING_FORMATS = ("openpgp", "ssh", "pem")


def make_signer(repo: Repo, key: str | None = None, fmt: str | None = None, timeout: float | None = None) -> Signer:
    """A signer for KEY in FMT (default: as configured now); TIMEOUT caps `srcprov.signTimeout`."""
    cfg_fmt, cfg_key = signing_config(repo)
    fmt = fmt or cfg_fmt
    if fmt == "gpg":
        fmt = "openpgp"
    if fmt == "x509":
        raise SrcprovError("gpg.format=x509 (S/MIME certificates through gpgsm) is not supported: set "
                           "`git config srcprov.signingFormat` to openpgp, ssh or pem for srcprov's records")
    if fmt not in SIGNING_FORMATS:
        raise SrcprovError(f"unknown signing format {fmt!r} (srcprov.signingFormat, or gpg.format): "
                           f"{', '.join(SIGNING_FORMATS)}")
    key = key or cfg_key
    if not key:
        what = {"openpgp": "<fingerprint>", "ssh": "<SSH key file, or key::<public key line>>",
                "pem": "<PEM private key file>"}[fmt]
        raise SrcprovError(f"no signing key: set `git config srcprov.signingKey {what}`")
    limit = parse_duration(repo.config("srcprov.signTimeout") or "15s", "srcprov.signTimeout")
    if timeout is not None:
        limit = min(limit, timeout)
    if fmt == "ssh":
        from srcprov.signing.ssh import SshSigner

        return SshSigner(key, limit)
    if fmt == "pem":
        from srcprov.signing.pem import PemSigner

        return PemSigner(key, repo.config("srcprov.pemPassphraseEnv") or None)
    from srcprov.signing.gnupg import KeySigner, gpg_binary

    return KeySigner(key, gpg_binary(repo.config("gpg.program")), limit)
