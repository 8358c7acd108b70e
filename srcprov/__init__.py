"""srcprov: signed provenance for every commit, from the hook to the build attestation."""

__version__ = "0.1.0"
