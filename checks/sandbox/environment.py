"""The environment a sandboxed process starts with: only what it needs. No proxy variables
that could route traffic around the guard, no credentials, no PYTHON* settings."""

from __future__ import annotations

import os

PASSED = ("PATH", "LANG", "LC_ALL", "TZ", "HOME", "TMPDIR", "SSL_CERT_FILE")
SET = {
    # glibc reserves 64 MiB of address space per thread arena; under an address-space limit
    # that would be spent on reservations rather than on data.
    "MALLOC_ARENA_MAX": "2",
    "SCHEMATHESIS_TELEMETRY": "false",
    # No pydantic plugin runs in a sandbox, and pydantic need not scan every installed
    # distribution's entry points for one (some 20 ms of every check's start-up).
    "PYDANTIC_DISABLE_PLUGINS": "__all__",
}


def child_environment() -> dict[str, str]:
    return {k: os.environ[k] for k in PASSED if k in os.environ} | SET
