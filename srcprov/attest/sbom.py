"""The SBOM of a build: read from a file or made with `cyclonedx-bom`, named as a byproduct of the provenance and
carried as the bundle's second statement (the SBOM as its predicate, the provenance's subjects as its own)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from srcprov.errors import SrcprovError
from srcprov.model.dsse import statement

CYCLONEDX = "https://cyclonedx.org/bom"
SPDX = "https://spdx.dev/Document"
MEDIA_TYPES = {CYCLONEDX: "application/vnd.cyclonedx+json", SPDX: "application/spdx+json"}
AUTO_NAME = "sbom.cdx.json"
_AUTO_TIMEOUT = 300


@dataclass(frozen=True)
class Sbom:
    """An SBOM document: its name, its bytes (what the byproduct's digest covers) and what kind it is."""

    name: str
    data: bytes
    predicate_type: str
    document: dict[str, Any]

    @property
    def media_type(self) -> str:
        """application/vnd.cyclonedx+json or application/spdx+json."""
        return MEDIA_TYPES[self.predicate_type]

    def byproduct(self) -> dict[str, Any]:
        """The provenance's `runDetails.byproducts` entry for this SBOM."""
        return {"name": self.name, "digest": {"sha256": hashlib.sha256(self.data).hexdigest()}, "mediaType": self.media_type}


def parse_sbom(name: str, data: bytes) -> Sbom:
    """DATA as a CycloneDX or SPDX JSON SBOM; SrcprovError (exit 2) when it is neither."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as e:
        raise SrcprovError(f"{name} is not a JSON SBOM: {e}") from None
    if not isinstance(doc, dict):
        raise SrcprovError(f"{name} is not a JSON SBOM: not an object")
    if doc.get("bomFormat") == "CycloneDX" and isinstance(doc.get("specVersion"), str):
        return Sbom(name, data, CYCLONEDX, doc)
    if isinstance(doc.get("spdxVersion"), str) and doc["spdxVersion"].startswith("SPDX-"):
        return Sbom(name, data, SPDX, doc)
    raise SrcprovError(f"{name} is neither a CycloneDX JSON SBOM (bomFormat) nor an SPDX JSON one (spdxVersion)")


def read_sbom(path: str) -> Sbom:
    """The SBOM in the file PATH (named by its file name)."""
    try:
        data = Path(path).read_bytes()
    except IsADirectoryError:
        raise SrcprovError(f"{path} is a directory, not an SBOM") from None
    except OSError as e:
        raise SrcprovError(f"cannot read {path}: {e.strerror}") from None
    return parse_sbom(os.path.basename(path), data)


def cyclonedx_available() -> bool:
    """True when the optional `cyclonedx-bom` package (`srcprov[sbom]`) is installed."""
    import importlib.util

    return importlib.util.find_spec("cyclonedx_py") is not None


def auto_sbom(python: str | None = None) -> Sbom:
    """A CycloneDX SBOM of the build's Python environment (PYTHON, default the `python3` on PATH), made with
    `cyclonedx-py environment`; SrcprovError when the package is missing or the tool fails."""
    if not cyclonedx_available():
        raise SrcprovError("--sbom auto needs the cyclonedx-bom package: pip install 'srcprov[sbom]' (or pass --sbom FILE)")
    target = python or shutil.which("python3") or sys.executable
    # --no-validate: the JSON schema check takes ~20 s and checks cyclonedx-bom's own output;
    # --output-reproducible: no serial number or timestamp, so one environment gives one SBOM.
    cmd = [sys.executable, "-m", "cyclonedx_py", "environment", "--of", "JSON", "--no-validate",
           "--output-reproducible", "-o", "-", target]
    try:
        proc = subprocess.run(cmd, capture_output=True, stdin=subprocess.DEVNULL, timeout=_AUTO_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise SrcprovError(f"cyclonedx-py took over {_AUTO_TIMEOUT} s: pass --sbom FILE") from None
    if proc.returncode != 0:
        last = (proc.stderr.decode("utf-8", "replace").strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
        raise SrcprovError(f"cyclonedx-py failed: {last}")
    return parse_sbom(AUTO_NAME, proc.stdout)


def sbom_statement(subjects: Sequence[dict[str, Any]], sbom: Sbom) -> dict[str, Any]:
    """The bundle's SBOM statement: the provenance's SUBJECTS, the SBOM document as predicate."""
    return statement([dict(s) for s in subjects], sbom.predicate_type, sbom.document)
