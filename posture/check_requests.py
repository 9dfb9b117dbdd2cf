"""What a user asks a check job to do: a kind from the catalogue and its input.

Below both the job queue, which runs requests, and monitoring, which files them on a schedule,
so neither needs the other to name a check.
"""

from __future__ import annotations

import hashlib

from pydantic import BaseModel, ConfigDict, Field, model_validator

from checks.catalogue import InputKind, KindName, spec_for
from kernel.errors import ValidationFailed
from posture.blobs import BlobStore

MAX_FILE_BYTES = 10 * 1024 * 1024


class CheckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    kind: KindName
    target: str = Field(default="", max_length=300)
    file_name: str = Field(default="", max_length=255)
    # The checked file, kept once in the blob store; the job carries only its digest.
    file_sha256: str = Field(default="", pattern=r"^(|[0-9a-f]{64})$")
    base_url: str = Field(default="", max_length=300)

    @model_validator(mode="after")
    def _inputs(self) -> CheckRequest:
        """What the kind's input needs: an endpoint, a file, or a file or the URL it is at."""
        reads = spec_for(self.kind).input
        if reads is InputKind.ENDPOINT and not self.target:
            raise ValueError("target: give host:port")
        remote = reads is InputKind.FILE_OR_URL and self.target.startswith(("https://", "http://"))
        if reads is InputKind.FILE_OR_URL and self.target and not remote:
            raise ValueError("target: give the http:// or https:// URL the file is published at")
        if reads is not InputKind.ENDPOINT and not self.file_sha256 and not remote:
            raise ValueError("file: choose a file to check")
        return self


def file_fields(name: str, data: bytes) -> dict[str, str]:
    """The CheckRequest fields naming a submitted file; the bytes go to `submit_check`."""
    return {"file_name": name, "file_sha256": hashlib.sha256(data).hexdigest()}


def stage_file(store: BlobStore, data: bytes) -> str:
    """Keep a file a check will read; its digest goes in the CheckRequest."""
    if not data:
        raise ValidationFailed("file: the file is empty")
    if len(data) > MAX_FILE_BYTES:
        raise ValidationFailed(f"file: larger than the {MAX_FILE_BYTES // 2**20} MiB limit")
    return store.put(data)
