"""CLI commands for the build side: attest, verify-attestation, sync, repair (registered on cli.app)."""

from __future__ import annotations
