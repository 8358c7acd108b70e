"""srcprov's fixture kit: real repositories, throwaway keys of every kind, one way to run srcprov, and
signature test vectors. Tests, benches and the demo import it (like pre-commit's `testing/`)."""
