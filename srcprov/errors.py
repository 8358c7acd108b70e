"""The few error types srcprov raises, and the exit code each one means."""

from __future__ import annotations


class SrcprovError(Exception):
    """Bad usage, bad input or a broken environment: one line on stderr, exit 2."""

    exit_code = 2


class CheckFailed(SrcprovError):
    """A verification or policy check failed: exit 1."""

    exit_code = 1


class PolicyNotFound(SrcprovError):
    """There is no policy where one was looked for (exit 2 where a policy is required)."""
