"""`record` and `review`: sign records and add them to the commits' notes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from srcprov.commands import commits_for, is_range
from srcprov.errors import SrcprovError

if TYPE_CHECKING:
    from srcprov.git import Repo

LIST_AT_MOST = 20  # commits listed one a line; more are summed up
BATCH = 200  # records per notes commit when backfilling a long history


@dataclass
class RecordResult:
    """What `record` wrote, skipped (already recorded) and could not write."""

    written: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    busy: bool = False  # --pending: a worker was writing the queue
    queued: int = 0
    warnings: list[str] = field(default_factory=list)
    ok: bool = True

    def to_json(self) -> Any:
        doc: dict[str, Any] = {"written": self.written, "skipped": self.skipped,
                               "failed": [{"commit": c, "reason": r} for c, r in self.failed]}
        if self.busy:
            doc["busy"] = True
        return doc

    def lines(self) -> Iterator[str]:
        if self.busy:
            yield f"a worker is writing {self.queued} queued record(s) now (--wait waits for it)"
            return
        if len(self.written) <= LIST_AT_MOST:
            yield from (f"recorded {c[:12]}" for c in self.written)
        else:  # a backfill of a long history: the progress bar showed the way, one line says where it ended
            yield f"recorded {len(self.written)} commits ({self.written[0][:12]} .. {self.written[-1][:12]})"
        if self.skipped:
            yield f"{len(self.skipped)} commit(s) already had a record"
        if not self.written and not self.skipped and not self.failed:
            yield "nothing to record"


def record_pending(repo: Repo, wait: bool) -> RecordResult:
    """`record --pending [--wait]`: write what the hooks queued."""
    from srcprov.recording.queue import pending
    from srcprov.recording.worker import drain

    n = len(pending(repo))
    res = drain(repo, wait=wait)
    if res is None:
        return RecordResult(busy=True, queued=n)
    return RecordResult(res.written, res.skipped, res.failed, warnings=res.warnings)


def record(repo: Repo, revs: list[str], *, backfill: bool = False, claims: tuple[str, ...] = (),
           force: bool = False, trace: str | None = None, progress: Any = None) -> RecordResult:
    """Sign and write a commit-provenance record for each commit of REVS (oldest first, like the hooks).

    In a range, commits that already have a record are skipped and counted; a plain REV that has one is
    an error without FORCE. PROGRESS is called with (done, total)."""
    from srcprov.recording.claims import claims_from
    from srcprov.recording.queue import Entry
    from srcprov.recording.signer import make_signer
    from srcprov.recording.writer import record_commits

    claims_from("", list(claims))  # bad --claim values fail before anything is signed
    commits = commits_for(repo, revs)
    if not commits:
        raise SrcprovError(f"no commits in {' '.join(revs)}")
    evidence = None
    if trace is not None:
        if len(commits) != 1:
            raise SrcprovError("--trace FILE describes one commit: give exactly one REV")
        from srcprov.model.evidence import MAX_EVIDENCE_BYTES

        try:
            with open(trace, "rb") as f:  # one byte past the limit is enough to refuse it (/dev/zero ends here)
                evidence = (f.read(MAX_EVIDENCE_BYTES + 1), trace)
        except OSError as e:
            raise SrcprovError(f"cannot read --trace {trace}: {e.strerror}") from None
    trigger = "backfill" if backfill else "record"
    signer = make_signer(repo)
    out = RecordResult()
    warning = acceptance_warning(repo, signer, commits, trigger)
    if warning:
        out.warnings.append(warning)
    commits.reverse()
    for i in range(0, len(commits), BATCH):
        part = [Entry(c, trigger) for c in commits[i:i + BATCH]]
        res = record_commits(repo, part, signer, force=force, claims=claims, strict_existing=not is_range(revs),
                             trace=evidence)
        out.warnings += res.warnings
        out.written += res.written
        out.skipped += res.skipped
        out.failed += res.failed
        if progress is not None:
            progress(min(i + BATCH, len(commits)), len(commits))
        if res.failed:
            break
    if evidence is not None and out.written:
        from srcprov.recording.evidence import keep_trace

        kept = keep_trace(repo, commits[0], evidence[0])
        if kept:
            out.warnings.append(kept)
    return out


def acceptance_warning(repo: Repo, signer: Any, commits: list[str], trigger: str) -> str | None:
    """Say, before signing, how many of these records the work tree's policy would not accept, and why."""
    from srcprov.trust.judge import would_accept
    from srcprov.trust.policy import load_policy

    try:
        policy = load_policy(repo)
    except SrcprovError:
        return None  # no policy here (yet): nothing to compare with; verify says the rest
    fpr = signer.primary_fingerprint() if hasattr(signer, "primary_fingerprint") else None
    if not policy.signers or fpr is None:
        return None
    roles = ("maintainer", "author") if trigger in ("backfill", "repair") else ("author",)
    now = int(time.time())
    refused: dict[str, int] = {}
    for cid in commits:
        email = repo.commit(cid).committer.raw_email.decode("utf-8", "backslashreplace")
        j = would_accept(policy, fpr, roles, email=email, when=now)
        if not j.trusted:
            refused[j.reason] = refused.get(j.reason, 0) + 1
    if not refused:
        return None
    n = sum(refused.values())
    reason, _ = max(refused.items(), key=lambda kv: kv[1])
    hint = " (a maintainer role lets a key backfill anyone's commits)" if "emails" in reason else ""
    return (f"the policy ({policy.source}) would not accept {n} of the {len(commits)} record(s) about to be "
            f"signed by {fpr}: {reason}{hint}")


@dataclass
class ReviewResult:
    reviewed: list[str]
    verdict: str
    ok: bool = True
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> Any:
        return {"reviewed": self.reviewed, "verdict": self.verdict}

    def lines(self) -> Iterator[str]:
        yield from (f"{self.verdict} {c[:12]}" for c in self.reviewed)


def review(repo: Repo, revs: list[str], verdict: str, comment: str) -> ReviewResult:
    """Sign a review record for each commit of REVS and add it to the commit's note (append-only)."""
    from srcprov.notes import notes_lock, write_notes
    from srcprov.recording.signer import make_signer
    from srcprov.recording.statements import review_statement, sign_statement

    if verdict not in ("approved", "rejected"):
        raise SrcprovError(f"bad --verdict {verdict!r}: approved or rejected")
    name, email = repo.config("user.name"), repo.config("user.email")
    if not name or not email:
        raise SrcprovError("set user.name and user.email: a review names its reviewer")
    signer = make_signer(repo)
    commits = commits_for(repo, revs)
    lines = {c: sign_statement(review_statement(repo, repo.pg[c], {"name": name, "email": email}, verdict, comment), signer)
             for c in commits}
    with notes_lock(repo):
        write_notes(repo, {c: ln + b"\n" for c, ln in lines.items()}, f"srcprov: review {len(lines)} commit(s)")
    return ReviewResult(commits, verdict)
