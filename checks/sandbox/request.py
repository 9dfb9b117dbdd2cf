"""What a caller asks the sandbox to run, and how the answer comes back."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from checks.api.objects_limits import MAX_BYTES as OBJECTS_MAX_BYTES
from checks.catalogue import KindName
from kernel.errors import ValidationFailed

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
    # A token the API signed that has expired (the JWT probe's expiry test); a secret like tokens.
    expired_token: str | None = Field(default=None, max_length=16384)
    # One the API's issuer signed for another API (the probe's audience test); a secret too.
    other_audience_token: str | None = Field(default=None, max_length=16384)
    timeout: float = Field(default=3.0, gt=0, le=60)
    # LiveSettings of the API check, by field name.
    live: dict[str, Any] | None = None
    # The API check's objects file (checks/api/authz_objects.py): its text crosses to the child,
    # which parses it, and whether the authorisation matrix may replay writes.
    objects: str | None = Field(default=None, max_length=OBJECTS_MAX_BYTES)
    matrix_writes: bool = False

    def __init__(self, **fields: Any) -> None:
        """As pydantic's, but what the user asked for that cannot be run is refused with a
        sentence (ValidationFailed), which the CLI and the job runner show as it is, rather than
        pydantic's report, which also echoes the value (a token is a secret)."""
        try:
            super().__init__(**fields)
        except ValidationError as exc:
            raise ValidationFailed(_refusal(exc)) from None


# What the user calls a field, where it is not the field's own name.
USER_NAMES = {
    "tokens": "identities (--auth, --auth2)",
    "base_url": "base URL",
    "target": "target",
    "file_name": "file name",
}


def _refusal(error: ValidationError) -> str:
    reasons = []
    for item in error.errors(include_input=False, include_url=False):
        field = str(item["loc"][0]) if item["loc"] else "check"
        if field == "tokens" and item["type"] == "too_long":
            reasons.append("at most two identities may be given (--auth and --auth2)")
            continue
        reasons.append(f"{USER_NAMES.get(field, field)}: {item['msg']}")
    return "the check cannot be run: " + "; ".join(reasons)


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
