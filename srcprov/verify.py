"""Statuses for records and commits under a policy, for many commits in one gpg pass."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from srcprov.dsse import COMMIT_PROVENANCE, REVIEW, Malformed, parse_envelope, parse_statement
from srcprov.errors import SrcprovError
from srcprov.notes import note_lines, read_all_notes
from srcprov.records import commit_facts, raw_parents
from srcprov.timefmt import parse_rfc3339

if TYPE_CHECKING:
    import pygit2

    from srcprov.git import Repo
    from srcprov.gpg import HermeticGpg, SigCheck
    from srcprov.policy import Policy, Signer

RECORD_STATUSES = ("verified", "untrusted-signer", "content-mismatch", "subject-mismatch", "bad-signature", "malformed")
# Commit statuses beyond the record ones: missing, unreviewed, and two the SPEC leaves unnamed —
# unchecked (a required [[checks]] entry absent or failed) and backfill-denied (require.backfilled = deny).
RANK = {s: i for i, s in enumerate(RECORD_STATUSES)}
PREDICATES = (COMMIT_PROVENANCE, REVIEW)


@dataclass
class RecordResult:
    line: bytes
    status: str
    predicate_type: str | None = None
    signer: str | None = None
    reason: str = ""
    statement: dict[str, Any] | None = None

    def to_json(self, with_statement: bool = False) -> dict[str, Any]:
        """The record's entry in `verify --json` (and `show --json` with its statement)."""
        out: dict[str, Any] = {
            "predicateType": self.predicate_type,
            "status": self.status,
            "signer": self.signer,
            "reason": self.reason,
        }
        if with_statement:
            out["statement"] = self.statement
        return out


@dataclass
class CommitResult:
    commit: str
    status: str
    records: list[RecordResult] = field(default_factory=list)
    required: bool = True
    reason: str = ""
    note_blob: str | None = None

    @property
    def best(self) -> RecordResult | None:
        """The commit-provenance record that decides the commit's status."""
        cps = [r for r in self.records if r.predicate_type == COMMIT_PROVENANCE]
        if not cps:
            # A record too broken to say what it is may have been the commit's provenance: a note
            # of garbage is `malformed`, never quietly `missing`.
            cps = [r for r in self.records if r.predicate_type is None]
        return min(cps, key=lambda r: RANK.get(r.status, 99), default=None)

    def to_json(self, with_statement: bool = False) -> dict[str, Any]:
        """The commit's entry in `verify --json`."""
        return {
            "commit": self.commit,
            "status": self.status,
            "required": self.required,
            "reason": self.reason,
            "records": [r.to_json(with_statement) for r in self.records],
        }


def _same_person(recorded: Any, actual: dict[str, str]) -> bool:
    if not isinstance(recorded, dict):
        return False
    if recorded.get("name") != actual["name"] or recorded.get("email") != actual["email"]:
        return False
    a, b = parse_rfc3339(recorded.get("time")), parse_rfc3339(actual["time"])
    return a is not None and b is not None and a == b and a.utcoffset() == b.utcoffset()


def content_difference(pred: dict[str, Any], commit: pygit2.Commit) -> str | None:
    """What of the commit a record's `commit` object gets wrong, or None."""
    rec = pred.get("commit")
    if not isinstance(rec, dict):
        return "record has no commit object"
    facts = commit_facts(commit)
    for key in ("tree", "parents"):
        if rec.get(key) != facts[key]:
            return f"{key} differs from the commit"
    for key in ("author", "committer"):
        if not _same_person(rec.get(key), facts[key]):
            return f"{key} differs from the commit"
    return None


def _required_fields(pt: str, pred: dict[str, Any]) -> str | None:
    if pt == COMMIT_PROVENANCE:
        c = pred.get("commit")
        if not isinstance(c, dict) or not isinstance(c.get("id"), str):
            return "predicate has no commit.id"
        rec = pred.get("recorder")
        if not isinstance(rec, dict) or not isinstance(rec.get("trigger"), str):
            return "predicate has no recorder.trigger"
        if not isinstance(pred.get("claims", {}), dict):
            return "claims is not an object"
    else:
        c = pred.get("commit")
        if not isinstance(c, dict) or not isinstance(c.get("id"), str):
            return "predicate has no commit.id"
        if pred.get("verdict") not in ("approved", "rejected"):
            return "verdict is not approved or rejected"
        if not isinstance(pred.get("reviewer"), dict):
            return "predicate has no reviewer"
    return None


class Verifier:
    """Checks records against a policy; signatures go to one hermetic gpg per batch."""

    def __init__(self, repo: Repo, policy: Policy) -> None:
        from srcprov.gpg import HermeticGpg, gpg_binary

        self.repo = repo
        self.policy = policy
        self.gpg: HermeticGpg = HermeticGpg(gpg_binary(repo.config("gpg.program")))
        self.gpg.import_keys(policy.keys[s.fingerprint] for s in policy.signers)

    def close(self) -> None:
        """Remove the temporary GnuPG home."""
        self.gpg.close()

    def __enter__(self) -> Verifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def check_lines(
        self, items: list[tuple[str, bytes]], progress: Callable[[int, int], None] | None = None
    ) -> list[RecordResult]:
        """A RecordResult for each (commit id it is attached to, record line)."""
        results: list[RecordResult] = []
        to_check: list[tuple[int, bytes, bytes]] = []  # (result index, pae, sig)
        parsed: list[tuple[dict[str, Any], int] | None] = []
        for _, line in items:
            r = RecordResult(line, "malformed")
            results.append(r)
            try:
                env = parse_envelope(line)
                st = parse_statement(env)
            except Malformed as e:
                r.reason = str(e)
                parsed.append(None)
                continue
            pt = st["predicateType"]
            r.predicate_type = pt
            r.statement = st
            if pt not in PREDICATES:
                r.reason = f"unknown predicateType {pt!r}"
                parsed.append(None)
                continue
            missing = _required_fields(pt, st["predicate"])
            if missing:
                r.reason = missing
                parsed.append(None)
                continue
            if not env.signatures:
                r.status, r.reason = "bad-signature", "record is not signed"
                parsed.append(None)
                continue
            parsed.append((st, len(to_check)))
            for s in env.signatures:
                to_check.append((len(results) - 1, env.pae(), s.sig))
        checks = self.gpg.verify_many([(p, s) for _, p, s in to_check], progress)
        by_record: dict[int, list[SigCheck]] = {}
        for (idx, _, _), chk in zip(to_check, checks, strict=True):
            by_record.setdefault(idx, []).append(chk)
        for i, ((cid, _), r) in enumerate(zip(items, results, strict=True)):
            if parsed[i] is None:
                continue
            self._judge(r, cid, by_record.get(i, []))
        return results

    def _judge(self, r: RecordResult, attached_to: str, checks: list[SigCheck]) -> None:
        import pygit2

        from srcprov.gpg import key_problem

        st = r.statement or {}
        pred = st["predicate"]
        role = "author" if r.predicate_type == COMMIT_PROVENANCE else "reviewer"
        good = [c for c in checks if c.status == "good"]
        if not good:
            nokey = [c for c in checks if c.status == "no-key"]
            if nokey:
                r.status, r.signer = "untrusted-signer", nokey[0].fingerprint
                r.reason = f"signed by {nokey[0].fingerprint}, a key the policy does not list"
            else:
                r.status = "bad-signature"
                r.reason = checks[0].detail if checks else "no signature"
            return
        # Among good signatures prefer one by a trusted, valid signer.
        verdicts: list[tuple[int, SigCheck, str, Signer | None]] = []
        for c in good:
            signer = self.policy.signer(c.primary, role)
            problem = key_problem(self.gpg.keys, c)
            if signer is None:
                listed = self.policy.listed(c.primary)
                why = (f"{c.primary} is not listed with role {role}" if listed
                       else f"{c.primary} is not a signer in the policy")
                verdicts.append((2, c, why, None))
            elif problem:
                verdicts.append((1, c, problem, signer))
            else:
                verdicts.append((0, c, "", signer))
        verdicts.sort(key=lambda v: v[0])
        level, chk, why, signer = verdicts[0]
        r.signer = chk.primary
        if level:
            r.status, r.reason = "untrusted-signer", why
            return
        subj = [s.get("digest", {}).get("gitCommit") for s in st["subject"]]
        if attached_to not in subj or pred["commit"].get("id") != attached_to:
            r.status = "subject-mismatch"
            r.reason = f"record names {(subj[0] or '?')[:12]}, not this commit"
            return
        try:
            commit = self.repo.pg[attached_to]
            assert isinstance(commit, pygit2.Commit)
        except (KeyError, ValueError, AssertionError):
            r.status, r.reason = "content-mismatch", "commit not in this repository"
            return
        if r.predicate_type == COMMIT_PROVENANCE:
            diff = content_difference(pred, commit)
            email = commit.committer.raw_email.decode("utf-8", "backslashreplace")
            if diff is None and not signer.allows_email(email):
                r.status = "untrusted-signer"
                r.reason = f"committer {email} is not among the emails the policy allows {signer.fingerprint}"
                return
        else:
            diff = None if pred["commit"].get("tree") == str(commit.tree_id) else "tree differs from the commit"
            email = str(pred["reviewer"].get("email", ""))
            if diff is None and not signer.allows_email(email):
                r.status = "untrusted-signer"
                r.reason = f"reviewer {email} is not among the emails the policy allows {signer.fingerprint}"
                return
        if diff:
            r.status, r.reason = "content-mismatch", diff
            return
        r.status = "verified"


def required_commits(repo: Repo, policy: Policy, commits: list[str]) -> set[str]:
    """The commits the policy requires records for: all, or the descendants of require.since."""
    since = policy.require.since
    if not since:
        return set(commits)
    try:
        base = str(repo.resolve_commit(since).id)
    except SrcprovError as e:
        raise SrcprovError(f"policy [require] since: {e}") from None
    if not commits:
        return set()
    proc = repo.git("rev-list", "--ancestry-path", "--stdin", input=(f"^{base}\n" + "\n".join(commits) + "\n").encode())
    desc = set(proc.stdout.decode().split())  # since itself, like its ancestors, needs no record
    return {c for c in commits if c in desc}


def _checks_problem(policy: Policy, pred: dict[str, Any]) -> str | None:
    required = [c for c in policy.checks if c.required]
    if not required:
        return None
    pre = pred.get("precommit")
    ran = {c.get("name"): c for c in (pre or {}).get("checks", []) if isinstance(c, dict)} if isinstance(pre, dict) else {}
    for c in required:
        got = ran.get(c.name)
        if got is None:
            return f"required check {c.name!r} did not run before the commit"
        if got.get("exitCode") != 0:
            return f"required check {c.name!r} failed (exit code {got.get('exitCode')})"
    return None


def commit_status(repo: Repo, policy: Policy, cr: CommitResult) -> None:
    """Set a commit's status from its records' statuses and the policy's requirements."""
    best = cr.best
    if best is None:
        cr.status, cr.reason = "missing", "no commit-provenance record"
        return
    if best.status != "verified":
        cr.status, cr.reason = best.status, best.reason
        return
    pred = (best.statement or {}).get("predicate", {})
    commit = repo.commit(cr.commit)
    if policy.require.backfilled == "deny" and pred.get("recorder", {}).get("trigger") == "backfill":
        cr.status, cr.reason = "backfill-denied", "the policy denies backfilled records"
        return
    if len(raw_parents(commit)) < 2:
        problem = _checks_problem(policy, pred)
        if problem:
            cr.status, cr.reason = "unchecked", problem
            return
    need = policy.require.reviews
    if need:
        author_email = commit.author.raw_email.decode("utf-8", "backslashreplace").lower()
        latest: dict[str, tuple[str, str]] = {}
        for r in cr.records:
            if r.predicate_type != REVIEW or r.status != "verified" or r.signer == best.signer:
                continue
            p = (r.statement or {}).get("predicate", {})
            if str(p.get("reviewer", {}).get("email", "")).lower() == author_email:
                continue
            when = str(p.get("reviewedAt", ""))
            if r.signer not in latest or latest[r.signer][0] < when:
                latest[str(r.signer)] = (when, p.get("verdict", ""))
        approvals = sum(1 for _, v in latest.values() if v == "approved")
        if approvals < need:
            cr.status = "unreviewed"
            cr.reason = f"{approvals} of {need} approving review(s) by reviewers other than the author"
            return
    cr.status, cr.reason = "verified", ""


def verify_commits(
    repo: Repo,
    policy: Policy,
    commits: list[str],
    verifier: Verifier | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[CommitResult]:
    """Verify every record of COMMITS (one gpg process for all) and give each commit its status."""
    notes = read_all_notes(repo)
    items: list[tuple[str, bytes]] = []
    owners: list[CommitResult] = []
    results = []
    for cid in commits:
        blob = notes.get(cid)
        cr = CommitResult(cid, "missing", note_blob=blob)
        results.append(cr)
        if blob is not None:
            for line in note_lines(repo.blob_data(blob)):
                items.append((cid, line))
                owners.append(cr)
    own = verifier is None
    v = verifier or Verifier(repo, policy)
    try:
        for cr, rr in zip(owners, v.check_lines(items, progress), strict=True):
            cr.records.append(rr)
    finally:
        if own:
            v.close()
    required = required_commits(repo, policy, commits)
    for cr in results:
        cr.required = cr.commit in required
        commit_status(repo, policy, cr)
    return results


def verdict_ok(results: list[CommitResult], strict: bool = False) -> bool:
    """Exit 0 only when every required commit is verified (and, strictly, no record is bad)."""
    if any(cr.required and cr.status != "verified" for cr in results):
        return False
    if strict and any(r.status != "verified" for cr in results for r in cr.records):
        return False
    return True


def report_facts(repo: Repo, policy: Policy) -> Any:
    """A `facts_for(commit_ids)` for the report: status, verified origin, approving review, in one pass."""
    from srcprov.report.facts import CommitFacts

    def facts_for(commits: list[str]) -> dict[str, CommitFacts]:
        out = {}
        for cr in verify_commits(repo, policy, commits):
            best = cr.best
            origin = None
            if best is not None and best.status == "verified":
                claims = (best.statement or {}).get("predicate", {}).get("claims", {})
                origin = claims.get("origin") if isinstance(claims, dict) else None
            reviewed = any(
                r.predicate_type == REVIEW and r.status == "verified"
                and (r.statement or {}).get("predicate", {}).get("verdict") == "approved"
                for r in cr.records
            )
            out[cr.commit] = CommitFacts(cr.status, origin, reviewed)
        return out

    return facts_for
