"""What a caller asks the sandbox to run, and how the answer comes back."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from checks.catalogue import KindName

if TYPE_CHECKING:
    from checks.egress import EgressPolicy


class SandboxedCheck(BaseModel):
    """One check run. `target` is host:port for an endpoint check, and the URL to read for a
    check of a file published at a URL when no file is given; an uploaded file travels beside
    this model, not inside it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: KindName
    target: str = Field(default="", max_length=2000)
    file_name: str = Field(default="", max_length=255)
    base_url: str | None = Field(default=None, max_length=2000)
    tokens: tuple[str, ...] = Field(default=(), max_length=2)
    timeout: float = Field(default=3.0, gt=0, le=60)
    # LiveSettings of the API check, by field name.
    live: dict[str, Any] | None = None


class ChildOrder(BaseModel):
    """The file the parent writes for the child: the check, the policy, the limits."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    check: SandboxedCheck
    egress_allow: tuple[str, ...]
    dns_servers: tuple[str, ...] = ()
    limits: dict[str, int | float]
    input_file: str | None = None
    # The process the child must die with (see lifeline.py).
    parent_pid: int
    # A registered (not shipped) check's module file, which the child loads before the order.
    check_module: str | None = None
    # The CA bundle the TLS check trusts: the operator's setting, resolved by the parent, whose
    # environment and configuration file the child (started with `-I` and a bare environment)
    # does not see.
    tls_trust_store: str | None = None

    def read_input(self, policy: EgressPolicy) -> tuple[bytes, str]:
        """The bytes a file check reads, and the name to report them by: the uploaded file,
        or else what the target URL answers (fetched through the egress policy)."""
        check = self.check
        name = check.file_name or check.target or check.kind
        if self.input_file is not None:
            return Path(self.input_file).read_bytes(), name
        from checks.fetch import fetch

        return fetch(check.target, policy, timeout=check.timeout), name


class ChildFailure(BaseModel):
    """Written by the child instead of a report when the check refused its input or hit a
    limit the child could still see (MemoryError, RecursionError)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["refused", "invalid", "limit"]
    message: str
    limit: str | None = None
    error_type: str | None = None


def safe_file_name(name: str, default: str) -> str:
    """The uploaded file's own name, reduced to characters that cannot leave the folder."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1])
    cleaned = cleaned.lstrip(".")[:100]
    return cleaned or default
