"""`doctor`: what is wrong with this setup, and how to mend each thing."""

from __future__ import annotations

import shutil
from dataclasses import dataclass

from srcprov.errors import SrcprovError
from srcprov.git import Repo


@dataclass
class Finding:
    ok: bool
    what: str
    fix: str = ""
    advice: bool = False  # a recommendation, not something broken


def diagnose(repo: Repo) -> list[Finding]:
    """Every check doctor makes, in order."""
    from srcprov.install import HOOKS, hooks_dir, is_ours
    from srcprov.recorder import make_signer, pending
    from srcprov.trust.policy import load_policy

    out: list[Finding] = []
    gpg = shutil.which(repo.config("gpg.program") or "gpg")
    out.append(Finding(gpg is not None, f"gpg: {gpg or 'not found'}", "install GnuPG (Debian: apt-get install gnupg)"))
    if gpg:
        try:
            signer = make_signer(repo)
            why = signer.usable()
            out.append(Finding(why is None, f"signing key {signer.key}: {why or 'usable'}",
                               "git config srcprov.signingKey <fingerprint of a key with a secret part>"))
        except SrcprovError as e:
            out.append(Finding(False, str(e), "git config srcprov.signingKey <fingerprint>"))
    d = hooks_dir(repo)
    missing = [h for h in HOOKS if not is_ours(d / h)]
    out.append(Finding(not missing, f"hooks in {d}: " + (f"missing {', '.join(missing)}" if missing else "all installed"),
                       "srcprov install"))
    hp = repo.config("core.hooksPath")
    default = repo.common_dir / "hooks"
    if hp and any(is_ours(default / h) for h in HOOKS):
        out.append(Finding(False, f"core.hooksPath={hp} shadows the shims in {default}",
                           "srcprov install (installs into core.hooksPath), or git config --unset core.hooksPath"))
    n = len(pending(repo))
    out.append(Finding(n == 0, f"{n} record(s) queued", "srcprov record --pending --wait"))
    log = repo.common_dir / "srcprov" / "worker.log"
    if log.exists():
        last = log.read_text(errors="replace").strip().splitlines()[-1:] or [""]
        if "queued" in last[0] or "error" in last[0]:
            out.append(Finding(False, f"the worker's last word: {last[0]}", "srcprov record --pending (from a terminal)"))
    try:
        p = load_policy(repo)
        out.append(Finding(bool(p.signers), f"policy {p.source}: {len(p.signers)} signer(s)",
                           "srcprov policy add-signer <key> --role author"))
    except SrcprovError as e:
        out.append(Finding(False, f"policy: {e}", "srcprov policy init && srcprov policy add-signer <key>"))
    ref = repo.notes_ref
    for remote in repo.pg.remotes:
        r = remote.name
        fetch = [str(s) for s in remote.fetch_refspecs]
        bad = [s for s in fetch if s.lstrip("+").split(":", 1)[-1] in ("refs/notes/*", ref)]
        if bad:
            out.append(Finding(False, f"remote {r} fetches {bad[0]}: a fetch would overwrite local records",
                               f"git config --unset-all remote.{r}.fetch '^\\+?refs/notes/'; then `srcprov sync --remote {r}`"))
        push_notes = (repo.config("srcprov.pushNotes") or "").lower() in ("true", "1", "yes", "on")
        tracking = f"refs/notes/remotes/{r}/srcprov"
        if not push_notes and tracking not in repo.pg.references:
            out.append(Finding(False, f"{ref} may never have been pushed to {r}",
                               f"git config srcprov.pushNotes true, or `srcprov sync --remote {r}`"))
    rewrite = repo.pg.config.get_multivar("notes.rewriteRef") if hasattr(repo.pg.config, "get_multivar") else []
    for v in rewrite:
        if v in (ref, "refs/notes/*"):
            out.append(Finding(False, f"notes.rewriteRef={v} copies srcprov's records onto rewritten commits",
                               f"git config --unset-all notes.rewriteRef '{v}' (post-rewrite writes new records)"))
    cg = repo.common_dir / "objects" / "info"
    if not ((cg / "commit-graph").exists() or (cg / "commit-graphs").is_dir()):
        from srcprov.report import COMMIT_GRAPH_HINT

        out.append(Finding(False, "no commit-graph: `srcprov report` runs git blame without changed-path Bloom filters",
                           COMMIT_GRAPH_HINT, advice=True))
    return out
