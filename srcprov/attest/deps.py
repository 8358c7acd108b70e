"""Lock files -> the packages a build resolved, named by purl with the digest the lock file pins (pure).

Bytes in, dependencies and warnings out. Whoever opens a pull request writes its lock files, so each parser is
strict and linear: a file that is not what its name says gives one warning and no packages (nothing is
guessed from half a file), and a package pinned twice with different digests is left out with a warning
(neither pin can be told to be the one that was used). Parsing uses the formats' own well-kept readers:
`packaging` for requirements (the grammar pip implements), `tomllib` for uv.lock, poetry.lock and Cargo.lock,
`json` for Pipfile.lock and package-lock.json. Purls are written by `_purl` (packageurl-python, the purl spec's
library, is the tests' oracle for them: it is too slow for a 100k-line lock file).
"""

from __future__ import annotations

import binascii
import fnmatch
import posixpath
import re
import shlex
import tomllib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from srcprov.model.dsse import Malformed, strict_json

# Basename patterns of the lock files `--deps auto` reads, and the kind each one is.
LOCKFILES: tuple[tuple[str, str], ...] = (
    ("requirements*.txt", "requirements"),
    ("uv.lock", "uv"),
    ("poetry.lock", "poetry"),
    ("Pipfile.lock", "pipfile"),
    ("package-lock.json", "npm"),
    ("Cargo.lock", "cargo"),
    ("go.sum", "go"),
)
# Directories whose lock files belong to vendored code, not to this build.
SKIPPED_DIRS = frozenset({"node_modules", "vendor", "third_party", ".git"})
MAX_LOCKFILE_BYTES = 64 << 20

_HEX_LENGTHS = {"sha1": 40, "sha256": 64, "sha384": 96, "sha512": 128}


@dataclass(frozen=True)
class Dependency:
    """One resolved package: its purl, the digests its lock file pins (none: {}), the lock file's path."""

    purl: str
    digest: dict[str, str]
    lockfile: str

    def descriptor(self) -> dict[str, Any]:
        """The SLSA resource descriptor (a resolvedDependencies entry; no `name`, see SPEC)."""
        out: dict[str, Any] = {"uri": self.purl}
        if self.digest:
            out["digest"] = dict(self.digest)
        out["annotations"] = {"lockfile": self.lockfile}
        return out


@dataclass
class LockResult:
    """What one lock file gave: its packages, and what is wrong with it."""

    path: str
    kind: str
    deps: list[Dependency] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # one line each: malformed, pinned twice
    unpinned: int = 0  # requirements not pinned to one version: not resolved dependencies, not listed

    @property
    def without_digest(self) -> int:
        """How many listed packages have no digest."""
        return sum(1 for d in self.deps if not d.digest)


class _Malformed(ValueError):
    """The lock file is not what its name says."""


def lockfile_kind(path: str, explicit: bool = False) -> str | None:
    """The kind of lock file PATH is by its name; with EXPLICIT (named with --deps) any `*.txt` is requirements."""
    base = posixpath.basename(path)
    for pattern, kind in LOCKFILES:
        if fnmatch.fnmatchcase(base, pattern):
            return kind
    if explicit and base.endswith(".txt"):
        return "requirements"
    return None


def find_lockfiles(paths: Iterable[str]) -> list[str]:
    """The lock files among PATHS (a commit's tree listing), outside vendored directories, sorted."""
    out = []
    for p in paths:
        if lockfile_kind(p) and not SKIPPED_DIRS.intersection(p.split("/")[:-1]):
            out.append(p)
    return sorted(out)


def parse_lockfile(path: str, data: bytes, kind: str | None = None) -> LockResult:
    """The packages lock file PATH (bytes DATA) pins. Never raises for bad content: problems go in the result."""
    kind = kind or lockfile_kind(path, explicit=True)
    if kind is None:
        raise ValueError(f"{path} is not a lock file srcprov reads")
    res = LockResult(path, kind)
    if len(data) > MAX_LOCKFILE_BYTES:
        res.problems.append(f"{path} is over {MAX_LOCKFILE_BYTES >> 20} MiB: its packages are not listed")
        return res
    try:
        text = data.decode("utf-8")
        text = text.removeprefix("\ufeff")
        pins = list(_PARSERS[kind](text, res))
    except _Malformed as e:
        res.problems.append(f"{path} is not a valid {kind} lock file ({e}): its packages are not listed")
        res.unpinned = 0
        return res
    except UnicodeDecodeError:
        res.problems.append(f"{path} is not UTF-8 text: its packages are not listed")
        return res
    except RecursionError:
        res.problems.append(f"{path} is nested too deeply to read: its packages are not listed")
        return res
    res.deps = _without_conflicts(path, pins, res.problems)
    return res


def dependency_warnings(results: Sequence[LockResult]) -> list[str]:
    """The warning lines for RESULTS: each file's problems, then one line counting packages without digests
    and one counting requirements that pin no version."""
    out = [p for r in results for p in r.problems]
    nodigest = [(r.path, r.without_digest) for r in results if r.without_digest]
    if nodigest:
        total = sum(n for _, n in nodigest)
        out.append(f"{total} package(s) pinned without a digest, listed with none ("
                   + ", ".join(f"{p}: {n}" for p, n in nodigest) + ")")
    unpinned = [(r.path, r.unpinned) for r in results if r.unpinned]
    if unpinned:
        total = sum(n for _, n in unpinned)
        out.append(f"{total} requirement(s) not pinned to one version (==), not listed ("
                   + ", ".join(f"{p}: {n}" for p, n in unpinned) + ")")
    return out


# --- one lock entry -> its artifacts --------------------------------------------------------------
@dataclass(frozen=True)
class _Pin:
    """One entry of a lock file: the package it names (IDENTITY: name@version) and its artifacts."""

    identity: str
    artifacts: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]  # (purl, digest items); () items: none


def _without_conflicts(path: str, pins: list[_Pin], problems: list[str]) -> list[Dependency]:
    """The dependencies of PINS; a package pinned twice with different artifacts is left out (one problem line)."""
    seen: dict[str, frozenset[Any]] = {}
    conflicting: dict[str, None] = {}
    for pin in pins:
        arts = frozenset(pin.artifacts)
        if pin.identity in seen and seen[pin.identity] != arts:
            conflicting[pin.identity] = None
        seen.setdefault(pin.identity, arts)
    if conflicting:
        first = next(iter(conflicting))
        more = f" and {len(conflicting) - 1} more" if len(conflicting) > 1 else ""
        problems.append(f"{path} pins {first}{more} twice with different digests: left out")
    out: list[Dependency] = []
    done: set[str] = set()
    for pin in pins:
        if pin.identity in conflicting or pin.identity in done:
            continue
        done.add(pin.identity)
        for purl, items in pin.artifacts:
            out.append(Dependency(purl, dict(items), path))
    return out


_PURL_NAME = {
    "pypi": re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?"),  # PEP 508
    "npm": re.compile(r"[A-Za-z0-9._~-]+"),
    "cargo": re.compile(r"[A-Za-z0-9_-]+"),
    "golang": re.compile(r"[A-Za-z0-9._~+!-]+"),
}


_UNRESERVED = re.compile(r"[A-Za-z0-9._~:-]*")


def _pct(text: str) -> str:
    """A purl component percent-encoded as the purl spec's reference library encodes it (`:` kept)."""
    if _UNRESERVED.fullmatch(text):  # the common case, 5x faster than quote()
        return text
    return quote(text, safe="").replace("%3A", ":")


def _purl(kind: str, name: str, version: str, namespace: str | None = None, qualifiers: dict[str, str] | None = None) -> str:
    """`pkg:KIND/NAMESPACE/NAME@VERSION?QUALIFIERS`, normalised as the purl spec says for KIND (pypi: lowercase,
    `_` -> `-`; npm: lowercase name). Written here rather than with packageurl-python, which costs ~40 us a purl
    (4 s for a 100k-line lock file); the tests hold these purls equal to that library's."""
    if not _PURL_NAME[kind].fullmatch(name):
        raise _Malformed(f"{_cut(name)!r} is not a {kind} package name")
    if not version or not version.isprintable() or " " in version:
        raise _Malformed(f"{_cut(name)}: {_cut(version)!r} is not a version")
    if kind == "pypi":
        name = name.lower().replace("_", "-")
    elif kind == "npm":
        name = name.lower()
    out = f"pkg:{kind}/"
    if namespace:
        segments = namespace.split("/")
        if any(not seg or seg in (".", "..") for seg in segments):
            raise _Malformed(f"{_cut(namespace)!r} is not a {kind} namespace")
        out += "/".join(_pct(seg) for seg in segments) + "/"
    out += f"{_pct(name)}@{_pct(version)}"
    if qualifiers:
        out += "?" + "&".join(f"{k}={_pct(v)}" for k, v in sorted(qualifiers.items()))
    return out


def _hex(algo: str, value: str, what: str) -> tuple[str, str]:
    """(algo, lowercase hex) for a hex digest; _Malformed unless it is one of ALGO's length."""
    algo = algo.lower()
    value = value.lower()
    if algo not in _HEX_LENGTHS or len(value) != _HEX_LENGTHS[algo] or not re.fullmatch(r"[0-9a-f]+", value):
        raise _Malformed(f"{what}: {_cut(algo + ':' + value)} is not a {algo} digest")
    return algo, value


def _algo_hex(value: object, what: str) -> tuple[str, str]:
    """`sha256:<hex>` -> (sha256, hex)."""
    if not isinstance(value, str) or ":" not in value:
        raise _Malformed(f"{what}: hash {_cut(str(value))!r} is not ALGO:HEX")
    algo, _, hexval = value.partition(":")
    return _hex(algo, hexval, what)


def _b64(value: str, size: int, what: str) -> str:
    try:
        raw = binascii.a2b_base64(value.encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError):
        raise _Malformed(f"{what}: {_cut(value)!r} is not base64") from None
    if len(raw) != size:
        raise _Malformed(f"{what}: digest {_cut(value)!r} has {len(raw)} bytes, not {size}")
    return raw.hex()


def _cut(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."


def _str(table: dict[str, Any], key: str, what: str, required: bool = True) -> str | None:
    value = table.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise _Malformed(f"{what}: `{key}` is not a string")
    return value


def _toml(text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise _Malformed(str(e)) from None


def _json(text: str) -> Any:
    try:
        return strict_json(text)  # one strict JSON reader: no duplicate keys, NaN or lone surrogates
    except Malformed as e:
        raise _Malformed(str(e)) from None


def _packages(doc: dict[str, Any], key: str = "package") -> list[dict[str, Any]]:
    pkgs = doc.get(key, [])
    if not isinstance(pkgs, list) or not all(isinstance(p, dict) for p in pkgs):
        raise _Malformed(f"`{key}` is not a list of tables")
    return pkgs


# --- requirements*.txt (pip's format, with --hash) ------------------------------------------------
_COMMENT = re.compile(r"(^|\s+)#.*$")
_REQ_OPTION = re.compile(r"\s--?[A-Za-z]")
# Options of a line of their own; every other line is a requirement.
_FILE_OPTIONS = frozenset({"-r", "--requirement", "-c", "--constraint", "-i", "--index-url", "--extra-index-url",
                           "--no-index", "-f", "--find-links", "--trusted-host", "--no-binary", "--only-binary",
                           "--prefer-binary", "--require-hashes", "--pre", "--use-feature", "-e", "--editable"})
_REQ_OPTIONS = frozenset({"--hash", "--config-settings", "--global-option", "--install-option"})


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(first line number, line) with comments removed and backslash continuations joined."""
    buf: list[str] = []
    start = 0
    for n, raw in enumerate(text.splitlines(), 1):
        if not buf:
            start = n
        line = raw
        if line.endswith("\\"):
            buf.append(line[:-1])
            continue
        buf.append(line)
        joined = _COMMENT.sub("", "".join(buf)).strip()
        buf = []
        if joined:
            yield start, joined
    if buf:
        joined = _COMMENT.sub("", "".join(buf)).strip()
        if joined:
            yield start, joined


def _requirements(text: str, res: LockResult) -> Iterator[_Pin]:
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    for n, line in _logical_lines(text):
        where = f"line {n}"
        if line.startswith("-"):
            opt = re.split(r"[\s=]", line, maxsplit=1)[0]
            if opt not in _FILE_OPTIONS:
                raise _Malformed(f"{where}: unknown option {_cut(opt)}")
            continue
        m = _REQ_OPTION.search(line)
        spec, opts = (line[: m.start()], line[m.start():]) if m else (line, "")
        try:
            req = Requirement(spec.strip())
        except InvalidRequirement as e:
            raise _Malformed(f"{where}: {_cut(str(e).splitlines()[0])}") from None
        hashes: list[tuple[str, str]] = []
        try:  # shlex only where quoting needs it: it costs 50x str.split
            words = shlex.split(opts) if any(c in opts for c in "'\"\\") else opts.split()
        except ValueError as e:
            raise _Malformed(f"{where}: {e}") from None
        i = 0
        while i < len(words):
            word = words[i]
            name, eq, value = word.partition("=")
            if name not in _REQ_OPTIONS:
                raise _Malformed(f"{where}: unknown option {_cut(name)}")
            if not eq:
                i += 1
                if i == len(words):
                    raise _Malformed(f"{where}: {name} needs a value")
                value = words[i]
            if name == "--hash":
                algo, hexval = _algo_hex(value, where)
                if algo == "sha1":
                    raise _Malformed(f"{where}: pip does not accept sha1 hashes")
                hashes.append((algo, hexval))
            i += 1
        specs = list(req.specifier)
        if req.url or len(specs) != 1 or specs[0].operator not in ("==", "===") or "*" in specs[0].version:
            res.unpinned += 1
            continue
        version = specs[0].version
        purl = _purl("pypi", req.name, version)
        artifacts = tuple((purl, ((a, h),)) for a, h in dict.fromkeys(hashes)) or ((purl, ()),)
        yield _Pin(f"{canonicalize_name(req.name)}@{version}", artifacts)


# --- uv.lock and poetry.lock ---------------------------------------------------------------------
def _file_name(url: str) -> str:
    return unquote(posixpath.basename(urlsplit(url).path))


def _pypi_artifacts(name: str, version: str, files: Iterable[tuple[str | None, object]], what: str) -> tuple[Any, ...]:
    arts = []
    for fname, h in files:
        algo, hexval = _algo_hex(h, what)
        quals = {"file_name": fname} if fname else None
        arts.append((_purl("pypi", name, version, qualifiers=quals), ((algo, hexval),)))
    return tuple(dict.fromkeys(arts)) or ((_purl("pypi", name, version), ()),)


def _uv(text: str, res: LockResult) -> Iterator[_Pin]:
    from packaging.utils import canonicalize_name

    doc = _toml(text)
    for i, pkg in enumerate(_packages(doc)):
        what = f"package {i + 1}"
        name = _str(pkg, "name", what)
        assert name is not None
        source = pkg.get("source", {})
        if not isinstance(source, dict):
            raise _Malformed(f"{what}: `source` is not a table")
        if {"editable", "virtual", "directory", "path"} & set(source):
            continue  # the project itself or a local path: part of the source, not a resolved package
        version = _str(pkg, "version", what, required=False)
        if version is None:
            res.unpinned += 1
            continue
        files: list[tuple[str | None, object]] = []
        sdist = pkg.get("sdist")
        wheels = pkg.get("wheels", [])
        if sdist is not None and not isinstance(sdist, dict):
            raise _Malformed(f"{what}: `sdist` is not a table")
        if not isinstance(wheels, list) or not all(isinstance(w, dict) for w in wheels):
            raise _Malformed(f"{what}: `wheels` is not a list of tables")
        for art in ([sdist] if sdist else []) + wheels:
            if "hash" not in art:
                continue
            loc = art.get("url") or art.get("path") or art.get("filename")
            files.append((_file_name(loc) if isinstance(loc, str) else None, art["hash"]))
        yield _Pin(f"{canonicalize_name(name)}@{version}", _pypi_artifacts(name, version, files, what))


def _poetry(text: str, res: LockResult) -> Iterator[_Pin]:
    from packaging.utils import canonicalize_name

    doc = _toml(text)
    legacy = doc.get("metadata", {}).get("files", {}) if isinstance(doc.get("metadata"), dict) else {}
    if not isinstance(legacy, dict):
        raise _Malformed("`metadata.files` is not a table")
    for i, pkg in enumerate(_packages(doc)):
        what = f"package {i + 1}"
        name = _str(pkg, "name", what)
        version = _str(pkg, "version", what)
        assert name is not None and version is not None
        source = pkg.get("source", {})
        if not isinstance(source, dict):
            raise _Malformed(f"{what}: `source` is not a table")
        if source.get("type") in ("directory", "file"):
            continue  # a local path: part of the source
        entries = pkg.get("files", legacy.get(name, []))
        if not isinstance(entries, list) or not all(isinstance(f, dict) for f in entries):
            raise _Malformed(f"{what}: `files` is not a list of tables")
        files = [(f.get("file") if isinstance(f.get("file"), str) else None, f.get("hash")) for f in entries]
        yield _Pin(f"{canonicalize_name(name)}@{version}", _pypi_artifacts(name, version, files, what))


# --- Pipfile.lock ----------------------------------------------------------------------------------
def _pipfile(text: str, res: LockResult) -> Iterator[_Pin]:
    from packaging.utils import canonicalize_name

    doc = _json(text)
    if not isinstance(doc, dict):
        raise _Malformed("not a JSON object")
    for section, pkgs in doc.items():
        if section == "_meta":
            continue
        if not isinstance(pkgs, dict):
            raise _Malformed(f"`{_cut(section)}` is not an object")
        for name, pkg in pkgs.items():
            what = f"{_cut(section)}.{_cut(name)}"
            if not isinstance(pkg, dict):
                raise _Malformed(f"{what} is not an object")
            version = pkg.get("version")
            if version is None:
                if not ({"path", "editable", "file"} & set(pkg)):
                    res.unpinned += 1  # a VCS checkout: not pinned to a version
                continue
            if not isinstance(version, str) or not version.startswith("==") or len(version) < 3:
                raise _Malformed(f"{what}: version {_cut(str(version))!r} is not ==VERSION")
            hashes = pkg.get("hashes", [])
            if not isinstance(hashes, list):
                raise _Malformed(f"{what}: `hashes` is not a list")
            v = version[2:]
            yield _Pin(f"{canonicalize_name(name)}@{v}", _pypi_artifacts(name, v, [(None, h) for h in hashes], what))


# --- package-lock.json ---------------------------------------------------------------------------
def _sri(value: object, what: str) -> tuple[tuple[str, str], ...]:
    """An npm `integrity` (Subresource Integrity: `sha512-<base64>`, several space-separated) as digests."""
    if not isinstance(value, str):
        raise _Malformed(f"{what}: `integrity` is not a string")
    sizes = {"sha1": 20, "sha256": 32, "sha384": 48, "sha512": 64}
    out: dict[str, str] = {}
    for token in value.split():
        algo, dash, b64 = token.partition("-")
        b64 = b64.split("?", 1)[0]  # SRI options
        if not dash or algo not in sizes:
            raise _Malformed(f"{what}: integrity {_cut(token)!r} is not sha512-<base64>")
        out.setdefault(algo, _b64(b64, sizes[algo], what))
    if not out:
        raise _Malformed(f"{what}: empty integrity")
    return tuple(sorted(out.items()))


def _npm_pin(name: str, entry: dict[str, Any], what: str, res: LockResult) -> _Pin | None:
    version = entry.get("version")
    if not isinstance(version, str) or not version:
        raise _Malformed(f"{what}: no version")
    if ":" in version or "/" in version:  # file:, git+..., a tarball URL: pinned to no registry version
        res.unpinned += 1
        return None
    if not re.fullmatch(r"(@[A-Za-z0-9._~-]+/)?[A-Za-z0-9._~-][A-Za-z0-9._~-]*", name):
        raise _Malformed(f"{what}: {_cut(name)!r} is not an npm package name")
    ns, _, base = name.rpartition("/")
    purl = _purl("npm", base, version, namespace=ns or None)
    digest = _sri(entry["integrity"], what) if "integrity" in entry else ()
    return _Pin(f"{name}@{version}", ((purl, digest),))


def _npm(text: str, res: LockResult) -> Iterator[_Pin]:
    doc = _json(text)
    if not isinstance(doc, dict):
        raise _Malformed("not a JSON object")
    version = doc.get("lockfileVersion")
    if version not in (1, 2, 3):
        raise _Malformed(f"lockfileVersion {_cut(str(version))!r} is not 1, 2 or 3")
    if version in (2, 3) and "packages" in doc:
        pkgs = doc["packages"]
        if not isinstance(pkgs, dict):
            raise _Malformed("`packages` is not an object")
        for path, entry in pkgs.items():
            what = f"packages[{_cut(path)!r}]"
            if not isinstance(entry, dict):
                raise _Malformed(f"{what} is not an object")
            if path == "" or entry.get("link") is True or "node_modules/" not in f"/{path}":
                continue  # the project, a workspace link, a workspace package: part of the source
            name = entry.get("name") or path.rsplit("node_modules/", 1)[-1]
            pin = _npm_pin(str(name), entry, what, res)
            if pin:
                yield pin
        return
    # lockfileVersion 1: nested `dependencies`, walked with a stack (no recursion to exhaust).
    stack: list[tuple[str, Any]] = [("", doc.get("dependencies", {}))]
    while stack:
        where, deps = stack.pop()
        if not isinstance(deps, dict):
            raise _Malformed(f"{where or 'dependencies'} is not an object")
        for name, entry in deps.items():
            what = f"{where}/{_cut(name)}" if where else _cut(name)
            if not isinstance(entry, dict):
                raise _Malformed(f"{what} is not an object")
            pin = _npm_pin(name, entry, what, res)
            if pin:
                yield pin
            if "dependencies" in entry:
                stack.append((what, entry["dependencies"]))


# --- Cargo.lock --------------------------------------------------------------------------------------
def _cargo(text: str, res: LockResult) -> Iterator[_Pin]:
    doc = _toml(text)
    meta = doc.get("metadata", {})
    if not isinstance(meta, dict):
        raise _Malformed("`metadata` is not a table")
    for i, pkg in enumerate(_packages(doc)):
        what = f"package {i + 1}"
        name = _str(pkg, "name", what)
        version = _str(pkg, "version", what)
        source = _str(pkg, "source", what, required=False)
        assert name is not None and version is not None
        if source is None:
            continue  # a member of this workspace: part of the source
        checksum = pkg.get("checksum")
        if checksum is None:  # Cargo.lock v1 kept checksums in [metadata]
            checksum = meta.get(f"checksum {name} {version} ({source})")
        if checksum is not None and not isinstance(checksum, str):
            raise _Malformed(f"{what}: `checksum` is not a string")
        purl = _purl("cargo", name, version)
        digest = (_hex("sha256", checksum, what),) if checksum is not None else ()
        yield _Pin(f"{name}@{version}@{source}", ((purl, digest),))


# --- go.sum ----------------------------------------------------------------------------------------
def _go(text: str, res: LockResult) -> Iterator[_Pin]:
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 3 or not parts[2].startswith("h1:"):
            raise _Malformed(f"line {n}: not `MODULE VERSION h1:HASH`")
        module, version, h = parts
        digest = _b64(h[3:], 32, f"line {n}")
        if version.endswith("/go.mod"):
            continue  # the hash of the module's go.mod only: read for the module graph, not built
        if not re.fullmatch(r"v[0-9][0-9A-Za-z.+-]*", version):
            raise _Malformed(f"line {n}: {_cut(version)!r} is not a module version")
        ns, _, base = module.rpartition("/")
        purl = _purl("golang", base, version, namespace=ns or None)
        yield _Pin(f"{module}@{version}", ((purl, (("dirHash", digest),)),))


_PARSERS: dict[str, Callable[[str, LockResult], Iterator[_Pin]]] = {
    "requirements": _requirements,
    "uv": _uv,
    "poetry": _poetry,
    "pipfile": _pipfile,
    "npm": _npm,
    "cargo": _cargo,
    "go": _go,
}
