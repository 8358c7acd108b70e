"""The one trust decision: may this signature stand for ROLE under the policy, at the time it was made?

Written once, over any kind of key (OpenPGP, SSH and PEM): a verifier says what a signature is
(`srcprov.signing.SigCheck`), the policy says who may sign what, and this module combines the two.
Records, reviews, build attestations, forge records and VSAs are all judged here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from srcprov.signing import KeyState, SigCheck, SigStatus
from srcprov.trust.policy import Policy, Signer

# A signature dated this much before the commit it describes was made before the commit existed.
CLOCK_SKEW = 600


@dataclass(frozen=True)
class Judgement:
    """The verdict on one signature (or the best of an envelope's signatures)."""

    trusted: bool
    bad: bool  # not a valid signature of its kind at all (else: valid, or by a key nobody here can check)
    keyid: str | None = None  # the policy key id it was made with, when known
    signer: Signer | None = None
    role: str | None = None  # the role it was accepted for
    reason: str = ""
    stable_until: int | None = None  # when a key's or signer's end comes, this verdict may change


def _ends(signer: Signer, check: SigCheck, states: Mapping[str, KeyState]) -> list[tuple[int, str]]:
    """Every time after which the key or signer no longer signs: (time, what ends then)."""
    out = []
    for st in (states.get(check.keyid or ""), states.get(check.primary or "")):
        if st is None:
            continue
        out += [(rev.at, f"key {st.keyid} was revoked ({rev.reason})") for rev in st.revocations if not rev.hard]
        if st.expires is not None:
            out.append((st.expires, f"key {st.keyid} expired"))
    if signer.until is not None:
        out.append((signer.until, f"signer {signer.name or signer.fingerprint} was retired (until)"))
    return out


def _lifecycle_problem(signer: Signer, check: SigCheck, states: Mapping[str, KeyState], when: int | None) -> str | None:
    keyid = check.primary or check.keyid or "?"
    relevant = [s for s in (states.get(check.keyid or ""), states.get(check.primary or "")) if s is not None]
    for st in relevant:
        for rev in st.revocations:
            if rev.hard:
                return f"key {st.keyid} is revoked ({rev.reason}): none of its signatures count"
    if when is None:
        # SSH and PEM signatures state no time, and no notes commit dates this one: nothing can show
        # it was made while the key was valid.
        return f"no signing time is known for this signature by {keyid}"
    for at, what in _ends(signer, check, states):
        if when > at if what.endswith("(until)") else when >= at:
            return f"{what} when it signed"
    return None


def judge_signature(
    policy: Policy,
    check: SigCheck,
    roles: Sequence[str],
    states: Mapping[str, KeyState],
    *,
    email: str | None = None,
    signed_at: int | None = None,
    not_before: int | None = None,
    now: int | None = None,
    protected: Callable[[], bool] | None = None,
) -> Judgement:
    """Judge one signature for any of ROLES.

    EMAIL is the identity the signed statement speaks for (the committer, the reviewer): a signer whose
    `emails` do not allow it may not sign as `author` or `reviewer`. SIGNED_AT is the signature's time
    when the signature states none (SSH, PEM: the notes commit that first held it). NOT_BEFORE is the
    commit time of the commit it describes: a signature dated well before it is untrusted.

    A signature states its own time, and whoever still holds a retired, expired or soft-revoked key can date a
    new one back into the key's life (and the commit with it). So once a key or signer has ended (at NOW), its
    signatures count only for commits in protected history: PROTECTED() says whether the described commit is
    in the history of the policy's revision. Without PROTECTED (a work-tree policy) only the time is judged.
    """
    if check.status == SigStatus.BAD:
        return Judgement(False, True, check.keyid, reason=check.detail or "not a valid signature")
    keyid = check.primary or check.keyid
    if check.status == SigStatus.NO_KEY:
        return Judgement(False, False, keyid, reason=check.detail or f"signed by {keyid}, a key the policy does not hold")
    if check.status == SigStatus.REFUSED:
        return Judgement(False, False, keyid, policy.listed(keyid), reason=check.detail)
    listed = policy.listed(keyid)
    if listed is None:
        return Judgement(False, False, keyid, reason=f"{keyid} is not a signer in the policy")
    role = next((r for r in roles if r in listed.roles), None)
    if role is None:
        return Judgement(False, False, keyid, listed, reason=f"{keyid} is listed without role {' or '.join(roles)}")
    if email is not None and role in ("author", "reviewer") and not listed.allows_email(email):
        return Judgement(False, False, keyid, listed, role,
                         f"{email} is not among the emails the policy allows {keyid}")
    when = check.created if check.created is not None else signed_at
    if check.created is None and when is not None and not_before is not None:
        # A time taken from a notes commit (SSH, PEM) is whatever that commit's committer wrote: it can
        # never make a record older than the commit the record describes.
        if when < not_before - CLOCK_SKEW:
            return Judgement(False, False, keyid, listed, role,
                             "the notes commit that first holds it is dated before the commit it describes was made")
        when = max(when, not_before)
    problem = _lifecycle_problem(listed, check, states, when)
    if problem:
        return Judgement(False, False, keyid, listed, role, problem)
    if not_before is not None and when is not None and when < not_before - CLOCK_SKEW:
        return Judgement(False, False, keyid, listed, role,
                         "the signature is dated before the commit it describes was made")
    now = int(time.time()) if now is None else now
    ends = _ends(listed, check, states)
    ended = [what for at, what in ends if at <= now]
    if ended and protected is not None and not protected():
        return Judgement(False, False, keyid, listed, role,
                         f"{ended[0]}, and this commit is not in the policy revision's history: "
                         "a signature it states as older cannot be told from a backdated one")
    future = [at for at, _ in ends if at > now]
    return Judgement(True, False, keyid, listed, role, stable_until=min(future) if future else None)


def best_judgement(judgements: Iterable[Judgement]) -> Judgement:
    """An envelope's verdict: its first trusted signature, else the most telling refusal.

    Garbage beside a trusted signature does not spoil it; an authentic untrusted one does not help it.
    """
    js = list(judgements)
    for j in js:
        if j.trusted:
            return j
    if not js:
        return Judgement(False, True, reason="not signed")
    # A refusal of a valid signature says more than a broken one's.
    return min(js, key=lambda j: (j.bad, j.keyid is None))


def would_accept(policy: Policy, keyid: str, roles: Sequence[str], *, email: str | None, when: int) -> Judgement:
    """Whether a valid signature made now by KEYID would be trusted for ROLES (asked before signing many records)."""
    check = SigCheck(SigStatus.GOOD, keyid, keyid, when)
    return judge_signature(policy, check, roles, {}, email=email)
