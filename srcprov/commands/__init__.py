"""One function per command: arguments in, a result out (`to_json()` for --json, `lines()` for people).

Commands own what every reader of records needs — write what is queued first (`flush`), and the
"policy is optional here" fallback — so the CLI only parses, renders and maps errors to exit codes.
Nothing here prints: warnings travel in each result's `warnings`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from srcprov.errors import PolicyNotFound, SrcprovError

if TYPE_CHECKING:
    from srcprov.git import Repo
    from srcprov.trust.policy import Policy


class Result(Protocol):
    """What a command returns: `ok` False makes the CLI exit 1 after rendering."""

    ok: bool
    warnings: list[str]

    def to_json(self) -> Any: ...

    def lines(self) -> Iterator[str]: ...


@dataclass
class Message:
    """A result that is a few lines of text (install, policy init, ...)."""

    text: list[str]
    data: dict[str, Any] = field(default_factory=dict)
    ok: bool = True
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> Any:
        return self.data or {"messages": self.text}

    def lines(self) -> Iterator[str]:
        yield from self.text


def is_range(revs: list[str]) -> bool:
    """Whether REVS name a range (A..B, ^A B, --all) rather than single commits."""
    return any(".." in r or r.startswith("^") or r.startswith("--") for r in revs)


def commits_for(repo: Repo, revs: list[str]) -> list[str]:
    """A plain REV names that commit; ranges (A..B, ^A B, --all) list commits as git log does."""
    revs = revs or ["HEAD"]
    if is_range(revs):
        return repo.rev_list(revs)
    return list(dict.fromkeys(str(repo.resolve_commit(r).id) for r in revs))


def flush(repo: Repo, warnings: list[str]) -> None:
    """Write what is queued before reading records (never waiting on a passphrase); say what stayed queued."""
    from srcprov.recording.worker import flush_queued

    warning = flush_queued(repo)
    if warning:
        warnings.append(warning)


def policy_for(repo: Repo, policy_dir: str | None, policy_rev: str | None, warnings: list[str] | None = None,
               consequence: str = "no signer can be trusted") -> Policy:
    """The policy a command uses. With WARNINGS given and neither --policy nor --policy-rev, a missing work-tree
    policy is not an error: an empty policy stands in and a warning says what that means (CONSEQUENCE)."""
    from srcprov.trust.policy import Policy, load_policy

    try:
        return load_policy(repo, policy_dir, policy_rev)
    except PolicyNotFound as e:
        if warnings is None or policy_dir or policy_rev:
            raise
        warnings.append(f"{e}; {consequence}")
        return Policy(source="none")


def source_signer(repo: Repo, policy: Policy) -> Any:
    """The configured signer, when the policy lets it sign as role `source` (forge records, branch updates, Source
    VSAs); else SrcprovError, before anything is signed."""
    import time

    from srcprov.recording.signer import make_signer
    from srcprov.trust.judge import would_accept

    signer = make_signer(repo)
    keyid = signer.primary_fingerprint()
    if keyid is None:
        raise SrcprovError(f"gpg knows no key {signer.key}: import the source key first")
    verdict = would_accept(policy, keyid, ("source",), email=None, when=int(time.time()))
    if not verdict.trusted:
        raise SrcprovError(f"the signing key {keyid} may not sign as role source (forge records, branch updates, "
                           f"Source VSAs) under the policy ({policy.source}): {verdict.reason}; nothing written")
    return signer
