"""Typed statements: each predicate parsed once, strictly, into a dataclass that keeps the bytes it came from.

Digests and signatures always cover `Statement.raw` (the payload as signed), never a re-serialisation;
the dataclasses are for reading. Fields srcprov does not know are kept in `unknown` (a newer srcprov may
write some), never dropped silently. Pure: bytes in, values out, `Malformed` for anything unexpected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from srcprov.model.dsse import COMMIT_PROVENANCE, REVIEW, SOURCE_PROVENANCE, Envelope, Malformed, parse_statement
from srcprov.model.predicates import COMMIT_PROVENANCE_SHAPE, REVIEW_SHAPE, SOURCE_PROVENANCE_SHAPE, check_predicate


class PredicateMalformed(Malformed):
    """A well-formed statement whose predicate is not acceptable: an unknown type, or a bad shape."""

    def __init__(self, predicate_type: str, message: str) -> None:
        super().__init__(message)
        self.predicate_type = predicate_type


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    time: str = ""


@dataclass(frozen=True)
class CommitFacts:
    """The `commit` object of a record: what verification compares with the commit itself."""

    id: str
    tree: str
    parents: tuple[str, ...]
    author: Person
    committer: Person


@dataclass(frozen=True)
class Check:
    name: str
    exit_code: int | None
    command: str = ""
    duration_ms: int | None = None


@dataclass(frozen=True)
class Link:
    """An entry of `rewrittenFrom` / `derivedFrom`: another commit and the digest of its record."""

    commit: str
    record_sha256: str | None


@dataclass(frozen=True)
class CommitProvenance:
    """`urn:srcprov:commit-provenance:v1`."""

    commit: CommitFacts
    trigger: str
    recorder_version: str
    recorded_at: str
    claims: dict[str, Any]
    checks: tuple[Check, ...]
    staged_tree: str | None
    changes: dict[str, int] | None
    rewritten_from: tuple[Link, ...]
    derived_from: tuple[Link, ...]
    how: str | None
    attribution: dict[str, Any] | None
    unknown: dict[str, Any] = field(default_factory=dict)

    @property
    def origin(self) -> str | None:
        value = self.claims.get("origin")
        return value if isinstance(value, str) else None


@dataclass(frozen=True)
class Review:
    """`urn:srcprov:review:v1`."""

    commit_id: str
    tree: str
    reviewer: Person
    verdict: str
    comment: str
    reviewed_at: str
    unknown: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Control:
    """A control that held for a branch update, and since when (time and the branch tip it started at)."""

    name: str
    since: str
    since_commit: str


@dataclass(frozen=True)
class SourceProvenance:
    """`urn:srcprov:source-provenance:v1`: one update of a protected branch, as CI saw it."""

    ref: str
    before: str
    after: str
    actor: str | None
    controls: tuple[Control, ...]
    updated_at: str
    unknown: dict[str, Any] = field(default_factory=dict)

    def control(self, name: str) -> Control | None:
        """The control NAME, when it held."""
        return next((c for c in self.controls if c.name == name), None)


Typed = CommitProvenance | Review | SourceProvenance


@dataclass(frozen=True)
class Statement:
    """An in-toto Statement v1: its exact payload bytes beside what they say."""

    raw: bytes
    document: dict[str, Any]  # the whole statement as parsed (for --json output)
    subject: tuple[dict[str, Any], ...]
    predicate_type: str
    predicate: dict[str, Any]
    typed: Typed | None = None  # for srcprov's own predicates

    def subject_commits(self) -> list[str]:
        """The `gitCommit` digests the subject names."""
        return [d for s in self.subject if isinstance(d := s["digest"].get("gitCommit"), str)]


def _person(d: dict[str, Any]) -> Person:
    return Person(d["name"], d["email"], d.get("time", ""))


def _links(items: list[dict[str, Any]] | None) -> tuple[Link, ...]:
    return tuple(Link(x["commit"], (x.get("record") or {}).get("sha256")) for x in items or ())


def _unknown(pred: dict[str, Any], shape: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in pred.items() if k not in shape}


def commit_provenance(pred: dict[str, Any]) -> CommitProvenance:
    """A shape-checked commit-provenance predicate, typed."""
    c = pred["commit"]
    pre = pred.get("precommit") or {}
    return CommitProvenance(
        commit=CommitFacts(c["id"], c["tree"], tuple(c["parents"]), _person(c["author"]), _person(c["committer"])),
        trigger=pred["recorder"]["trigger"],
        recorder_version=pred["recorder"]["version"],
        recorded_at=pred["recordedAt"],
        claims=dict(pred.get("claims") or {}),
        checks=tuple(Check(x["name"], x["exitCode"], x.get("command", ""), x.get("durationMs")) for x in pre.get("checks", ())),
        staged_tree=pre.get("stagedTree"),
        changes=pred.get("changes"),
        rewritten_from=_links(pred.get("rewrittenFrom")),
        derived_from=_links(pred.get("derivedFrom")),
        how=pred.get("how"),
        attribution=pred.get("attribution"),
        unknown=_unknown(pred, COMMIT_PROVENANCE_SHAPE),
    )


def review(pred: dict[str, Any]) -> Review:
    """A shape-checked review predicate, typed."""
    return Review(pred["commit"]["id"], pred["commit"]["tree"], _person(pred["reviewer"]), pred["verdict"],
                  pred.get("comment", ""), pred["reviewedAt"], _unknown(pred, REVIEW_SHAPE))


def source_provenance(pred: dict[str, Any]) -> SourceProvenance:
    """A shape-checked source-provenance (branch update) predicate, typed."""
    return SourceProvenance(pred["ref"], pred["before"], pred["after"], pred.get("actor"),
                            tuple(Control(c["name"], c["since"], c["sinceCommit"]) for c in pred["controls"]),
                            pred["updatedAt"], _unknown(pred, SOURCE_PROVENANCE_SHAPE))


def typed_predicate(predicate_type: str, pred: dict[str, Any]) -> Typed:
    """The typed form of one of srcprov's own (already shape-checked) predicates."""
    if predicate_type == COMMIT_PROVENANCE:
        return commit_provenance(pred)
    if predicate_type == REVIEW:
        return review(pred)
    return source_provenance(pred)


def parse(env: Envelope, known: tuple[str, ...] | None = None) -> Statement:
    """The statement ENV carries, parsed strictly; srcprov's own predicates typed. With KNOWN, any other
    predicateType is Malformed."""
    st = parse_statement(env)
    pt = st["predicateType"]
    if known is not None and pt not in known:
        raise PredicateMalformed(pt, f"unknown predicateType {pt!r}")
    pred = st["predicate"]
    typed: Typed | None = None
    if pt in (COMMIT_PROVENANCE, REVIEW, SOURCE_PROVENANCE):
        try:
            check_predicate(pt, pred)
        except Malformed as e:
            raise PredicateMalformed(pt, str(e)) from None
        typed = typed_predicate(pt, pred)
    return Statement(env.payload, st, tuple(st["subject"]), pt, pred, typed)


# --- the build side: statements srcprov reads from files it is handed -------------------------------------
def _obj(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class Descriptor:
    """An in-toto ResourceDescriptor as an attestation gives it (attacker-chosen: fields of the wrong type
    read as absent, and the check that needs them says what is missing)."""

    uri: str | None
    digest: dict[str, str]
    media_type: str | None
    annotations: dict[str, Any]
    name: str | None
    raw: dict[str, Any]

    @property
    def git_commit(self) -> object:
        """`digest.gitCommit` as given (any JSON type), or None."""
        return self.raw.get("digest", {}).get("gitCommit") if isinstance(self.raw.get("digest"), dict) else None


def descriptor(value: object) -> Descriptor:
    """A resource descriptor read from VALUE (anything)."""
    d = _obj(value)
    digest = {k: v for k, v in _obj(d.get("digest")).items() if isinstance(v, str)}
    return Descriptor(d.get("uri") if isinstance(d.get("uri"), str) else None, digest,
                      d.get("mediaType") if isinstance(d.get("mediaType"), str) else None,
                      _obj(d.get("annotations")), d.get("name") if isinstance(d.get("name"), str) else None, d)


@dataclass(frozen=True)
class SlsaProvenance:
    """`https://slsa.dev/provenance/v1`, as verify-attestation reads it."""

    build_type: str | None
    external_parameters: dict[str, Any]
    resolved_dependencies: tuple[Descriptor, ...]
    builder_id: str | None
    byproducts: tuple[Descriptor, ...]
    unknown: dict[str, Any] = field(default_factory=dict)

    @property
    def source_parameter(self) -> Descriptor:
        """`externalParameters.source`."""
        return descriptor(self.external_parameters.get("source"))


def slsa_provenance(pred: dict[str, Any]) -> SlsaProvenance:
    """An SLSA Provenance v1 predicate; Malformed when it has no non-empty list of resolvedDependencies objects."""
    build = _obj(pred.get("buildDefinition"))
    deps = build.get("resolvedDependencies")
    if not isinstance(deps, list) or not deps or not all(isinstance(d, dict) for d in deps):
        raise Malformed("the provenance has no resolvedDependencies")
    run = _obj(pred.get("runDetails"))
    builder = _obj(run.get("builder")).get("id")
    byproducts = run.get("byproducts") if isinstance(run.get("byproducts"), list) else []
    return SlsaProvenance(
        build.get("buildType") if isinstance(build.get("buildType"), str) else None,
        _obj(build.get("externalParameters")), tuple(descriptor(d) for d in deps),
        builder if isinstance(builder, str) else None, tuple(descriptor(b) for b in byproducts),
        {k: v for k, v in pred.items() if k not in ("buildDefinition", "runDetails")})
