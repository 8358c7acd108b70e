"""`claims`: what a commit's author says about its origin, from trailers and `--claim` (pure)."""

from __future__ import annotations

import re
from typing import Any

from srcprov.errors import SrcprovError

ORIGINS = ("human", "ai-assisted", "ai-generated", "generated", "vendored", "third-party")

# Names (lower case) by which trailers name AI coding tools. A trailer naming one of these in
# Assisted-by, Generated-by or Co-authored-by makes the commit ai-assisted.
AI_TOOLS = (
    "claude", "anthropic", "copilot", "chatgpt", "openai", "codex", "gpt-", "gpt4", "cursor", "aider",
    "gemini", "bard", "codeium", "windsurf", "tabnine", "amazon q", "codewhisperer", "devin", "cody",
    "sourcegraph", "continue.dev", "replit", "jetbrains ai", "junie", "qodo", "codegpt", "deepseek",
    "mistral", "llama", "cline", "roo code", "opencode", "amp code", "sweep", "ai assistant",
)
_AI_EMAIL = re.compile(r"@(anthropic\.com|openai\.com|cursor\.(sh|com)|aider\.chat)\b|copilot", re.I)
_TRAILER = re.compile(r"^([A-Za-z0-9][A-Za-z0-9-]*)\s*:\s*(.*)$")


def trailers(message: str) -> list[tuple[str, str]]:
    """The trailers of a commit message (its last paragraph, when every line of it is one)."""
    paragraphs = [p for p in re.split(r"\n[ \t]*\n", message.strip()) if p.strip()]
    if len(paragraphs) < 2:
        return []
    out: list[tuple[str, str]] = []
    for line in paragraphs[-1].splitlines():
        m = _TRAILER.match(line)
        if m:
            out.append((m.group(1), m.group(2).strip()))
        elif line[:1] in (" ", "\t") and out:
            out[-1] = (out[-1][0], out[-1][1] + " " + line.strip())
        else:
            return []
    return out


def ai_tool_named(value: str) -> str | None:
    """The AI coding tool a trailer value names (`Claude <noreply@anthropic.com>`), or None."""
    name = value.split("<", 1)[0].strip()
    low = value.lower()
    if any(tool in low for tool in AI_TOOLS) or _AI_EMAIL.search(value):
        return name or value.strip()
    return None


def claims_from(message: str, extra: list[str] | tuple[str, ...] = (), ai_lines: bool = False) -> dict[str, Any]:
    """`claims` from the message's trailers, then `--claim KEY=VALUE` (which wins). AI_LINES: the commit's
    origin evidence says an AI wrote some of its lines (ai-assisted unless a trailer says otherwise)."""
    claims: dict[str, Any] = {}
    origin: str | None = None
    ai: str | None = None
    reviewed: list[str] = []
    for key, value in trailers(message):
        k = key.lower()
        if k == "provenance-origin":
            origin = value.strip().lower()
        elif k == "provenance-tool":
            claims["tool"] = value
        elif k == "reviewed-by":
            reviewed.append(value)
        elif k in ("assisted-by", "generated-by", "co-authored-by") and ai is None:
            ai = ai_tool_named(value)
    if origin is None:
        origin = "ai-assisted" if ai or ai_lines else "human"
    if ai and "tool" not in claims:
        claims["tool"] = ai
    if reviewed:
        claims["reviewedBy"] = reviewed
    claims["origin"] = origin
    for item in extra:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SrcprovError(f"bad --claim {item!r}: expected KEY=VALUE")
        claims[key.strip()] = value
    if claims["origin"] not in ORIGINS:
        raise SrcprovError(f"unknown origin {claims['origin']!r} (one of: {', '.join(ORIGINS)})")
    return claims
