"""Line-level origin evidence written by AI coding tools, parsed strictly (pure: bytes in, values out).

Two formats:
- a git-ai authorship log (the Git AI Standard v3.0.0, `authorship/3.0.0`, on `refs/notes/ai`): an
  attestation section of file paths and `  <key> <ranges>` lines, a `---` line, then JSON metadata. `s_`
  keys (sessions) and legacy bare-hex keys (prompts) are AI, `h_` keys are known humans; lines no key
  covers are untracked.
- an Agent Trace record (v0.1): JSON with `files[].conversations[].ranges[]`, each range's contributor
  (its own, else its conversation's) `ai`, `human`, `mixed` or `unknown`.

Line numbers are those of the file as the commit has it. Anything unexpected raises `EvidenceError`: the
evidence is then left out of the record (one warning), never half-read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from srcprov.model.dsse import Malformed, strict_json

GIT_AI = "git-ai/authorship/3.0.0"
AGENT_TRACE = "agent-trace/0.1"
FORMATS = (GIT_AI, AGENT_TRACE)
MAX_EVIDENCE_BYTES = 4 * 1024 * 1024  # as a note: larger evidence is refused unread
MAX_LINE = 10_000_000  # a line number past this is no file's
MAX_MARKED = 1_000_000  # lines all ranges together may mark (overlaps counted again): more is no commit's
KINDS = ("ai", "human", "mixed", "unknown")

_SESSION = re.compile(r"s_[0-9a-f]{14}::t_[0-9a-f]{14}")
_HUMAN = re.compile(r"h_[0-9a-f]{14}")
_LEGACY = re.compile(r"[0-9a-f]{16}|[0-9a-f]{7}")
_RANGE = re.compile(r"([1-9][0-9]{0,7})(?:-([1-9][0-9]{0,7}))?")  # MAX_LINE's 8 digits at most


class EvidenceError(ValueError):
    """The evidence is not what its format says."""


@dataclass
class Evidence:
    """Which lines of which files (as of one commit) an AI or a human wrote."""

    format: str
    lines: dict[str, dict[int, str]] = field(default_factory=dict)  # path -> line number -> kind
    tools: set[str] = field(default_factory=set)  # the tools (and models) it names, e.g. "claude (opus)"
    marked: int = 0  # lines marked so far, overlaps counted again (bounded by MAX_MARKED)

    def name_tool(self, tool: Any, model: Any = None) -> None:
        """Note a tool the evidence names (a display detail: a name that is not a printable string is passed over,
        so no terminal control sequence reaches `show`)."""
        if isinstance(tool, str) and tool.strip() and tool.strip().isprintable():
            self.tools.add(tool.strip()[:100] + (f" ({model.strip()[:100]})" if isinstance(model, str) and model.strip()
                                                  and model.strip().isprintable() else ""))

    def add(self, path: str, start: int, end: int, kind: str) -> None:
        """Mark lines START..END of PATH as KIND; a line two kinds claim is `mixed`."""
        if not (1 <= start <= end <= MAX_LINE):
            raise EvidenceError(f"bad line range {start}-{end} for {path}")
        if end - start > 1_000_000:
            raise EvidenceError(f"line range {start}-{end} for {path} is implausibly long")
        if not path or "\0" in path:
            raise EvidenceError(f"path {path!r} is no file's (empty, or with a NUL)")
        self.marked += end - start + 1
        if self.marked > MAX_MARKED:
            raise EvidenceError(f"ranges mark over {MAX_MARKED:,} lines")
        per = self.lines.setdefault(path, {})
        for n in range(start, end + 1):
            old = per.get(n)
            per[n] = kind if old is None or old == kind else "mixed"

    def counts(self, line_count: dict[str, int] | None = None) -> dict[str, int]:
        """Lines per kind; with LINE_COUNT (path -> lines the file has), lines past a file's end are not counted."""
        out = dict.fromkeys(KINDS, 0)
        for path, per in self.lines.items():
            limit = line_count.get(path) if line_count is not None else None
            for n, kind in per.items():
                if limit is None or n <= limit:
                    out[kind] += 1
        return out

    def kind_of(self, path: str, line: int) -> str | None:
        """The kind the evidence gives line LINE (1-based) of PATH, or None when it says nothing."""
        return self.lines.get(path, {}).get(line)


def _text(data: bytes) -> str:
    if len(data) > MAX_EVIDENCE_BYTES:
        raise EvidenceError("evidence over 4 MiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise EvidenceError("evidence is not UTF-8") from None


def _json(text: str) -> Any:
    try:
        return strict_json(text)
    except Malformed as e:
        raise EvidenceError(f"bad JSON: {e}") from None


def _ranges(spec: str) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    last = 0
    for part in spec.split(","):
        m = _RANGE.fullmatch(part)
        if not m:
            raise EvidenceError(f"bad line range {part!r}")
        start = int(m.group(1))
        end = int(m.group(2) or start)
        if end < start or start <= last:
            raise EvidenceError(f"line ranges not ascending at {part!r}")
        out.append((start, end))
        last = end
    return out


def _path(line: str) -> str:
    if line.startswith('"'):
        if len(line) < 2 or not line.endswith('"') or '"' in line[1:-1]:
            raise EvidenceError(f"bad quoted path {line!r}")
        return line[1:-1]
    if any(c in line for c in ' \t"'):
        raise EvidenceError(f"path {line!r} has a space, tab or quote but is not quoted")
    return line


def parse_git_ai(data: bytes) -> Evidence:
    """A git-ai authorship log (Git AI Standard v3.0.0)."""
    text = _text(data)
    lines = text.split("\n")
    try:
        divider = lines.index("---")
    except ValueError:
        raise EvidenceError("no --- line between attestations and metadata") from None
    meta = _json("\n".join(lines[divider + 1:]))
    if not isinstance(meta, dict) or meta.get("schema_version") != "authorship/3.0.0":
        raise EvidenceError("metadata is not an authorship/3.0.0 object")
    maps = {}
    for name in ("prompts", "sessions", "humans"):
        value = meta.get(name, {})
        if not isinstance(value, dict):
            raise EvidenceError(f"metadata {name} is not an object")
        maps[name] = value
    if "prompts" not in meta:
        raise EvidenceError("metadata has no prompts")
    if not isinstance(meta.get("base_commit_sha"), str):
        raise EvidenceError("metadata has no base_commit_sha")
    ev = Evidence(GIT_AI)
    for table in ("prompts", "sessions"):
        for entry in maps[table].values():
            agent = entry.get("agent_id") if isinstance(entry, dict) else None
            if isinstance(agent, dict):
                ev.name_tool(agent.get("tool"), agent.get("model"))
    path: str | None = None
    for line in lines[:divider]:
        if not line:
            continue
        if not line.startswith(" "):
            path = _path(line)
            if path in ev.lines:
                raise EvidenceError(f"{path} listed twice")
            ev.lines[path] = {}
            continue
        if path is None or not line.startswith("  ") or line.startswith("   "):
            raise EvidenceError(f"attestation line {line!r} is not under a path or not indented by two spaces")
        key, sep, spec = line[2:].partition(" ")
        if not sep:
            raise EvidenceError(f"attestation line {line!r} has no line ranges")
        if _SESSION.fullmatch(key):
            table, kind, ref = "sessions", "ai", key.split("::", 1)[0]
        elif _HUMAN.fullmatch(key):
            table, kind, ref = "humans", "human", key
        elif _LEGACY.fullmatch(key):
            table, kind, ref = "prompts", "ai", key
        else:
            raise EvidenceError(f"unknown attestation key {key!r}")
        if ref not in maps[table]:
            raise EvidenceError(f"attestation key {key!r} has no entry in metadata {table}")
        for start, end in _ranges(spec):
            ev.add(path, start, end, kind)
    return ev


def parse_agent_trace(data: bytes, commit: str | None = None, require_revision: bool = False) -> Evidence:
    """An Agent Trace record (v0.1). With COMMIT, a record whose `vcs` names another revision is refused;
    with REQUIRE_REVISION too, one that names none (it could be any commit's)."""
    doc = _json(_text(data))
    if not isinstance(doc, dict):
        raise EvidenceError("trace record is not a JSON object")
    version = doc.get("version")
    if not isinstance(version, str) or not re.fullmatch(r"0\.1(\.[0-9]+)?", version):
        raise EvidenceError(f"trace record version {version!r} is not 0.1")
    vcs = doc.get("vcs")
    if vcs is None and require_revision:
        raise EvidenceError("trace record names no vcs.revision")
    if vcs is not None:
        if not isinstance(vcs, dict) or vcs.get("type") != "git" or not isinstance(vcs.get("revision"), str):
            raise EvidenceError("trace record vcs is not a git revision")
        if commit is not None and vcs["revision"] != commit:
            raise EvidenceError(f"trace record is about {vcs['revision'][:12]}, not {commit[:12]}")
    files = doc.get("files")
    if not isinstance(files, list):
        raise EvidenceError("trace record has no files")
    ev = Evidence(AGENT_TRACE)
    tool = doc.get("tool")
    if isinstance(tool, dict):
        ev.name_tool(tool.get("name"))

    def kind_of(contributor: Any, default: str | None) -> str:
        if contributor is None:
            if default is None:
                raise EvidenceError("a range has no contributor")
            return default
        if not isinstance(contributor, dict) or contributor.get("type") not in KINDS:
            raise EvidenceError("a contributor type is not ai, human, mixed or unknown")
        if isinstance(contributor.get("model_id"), str) and contributor["model_id"].strip().isprintable():
            models.add(contributor["model_id"].strip()[:100])
        return str(contributor["type"])

    models: set[str] = set()
    for f in files:
        if not isinstance(f, dict) or not isinstance(f.get("path"), str) or not isinstance(f.get("conversations"), list):
            raise EvidenceError("a file entry has no path or conversations")
        for conv in f["conversations"]:
            if not isinstance(conv, dict) or not isinstance(conv.get("ranges"), list):
                raise EvidenceError(f"a conversation of {f['path']} has no ranges")
            default = kind_of(conv["contributor"], None) if "contributor" in conv else None
            for r in conv["ranges"]:
                if not isinstance(r, dict):
                    raise EvidenceError("a range is not an object")
                start, end = r.get("start_line"), r.get("end_line")
                if not all(isinstance(x, int) and not isinstance(x, bool) for x in (start, end)):
                    raise EvidenceError("a range has no integer start_line/end_line")
                ev.add(f["path"], start, end, kind_of(r.get("contributor"), default))
    ev.tools |= {m for m in models if m}
    return ev
