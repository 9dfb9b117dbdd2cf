"""What a backup archive holds, as the manifest inside it states: every member with its size
and SHA-256, the database's schema revision and row counts, the uploads, and how the keys are
sealed. A restore trusts nothing in the archive that this manifest does not describe."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from kernel.errors import AssureError

FORMAT = "policetech-assure/backup/v1"

MANIFEST_MEMBER = "manifest.json"
SQLITE_MEMBER = "database/assure.db"
POSTGRES_MEMBER = "database/assure.pgdump"
CHECKPOINT_MEMBER = "audit-checkpoints.jsonl"
ERASURES_MEMBER = "audit-erasures.jsonl"
SEALED_MEMBER = "secrets.sealed"
UPLOADS_PREFIX = "uploads/"
# The only names an archive may hold: no folders, links, absolute paths or "..", by construction.
MEMBER_NAME = re.compile(
    r"^(?:manifest\.json|database/assure\.(?:db|pgdump)|audit-(?:checkpoints|erasures)\.jsonl"
    r"|secrets\.sealed|uploads/[0-9a-f]{64})$"
)
# A manifest takes about 260 bytes an upload. Its cap grows with the members the archive's
# headers actually hold, so a hostile manifest cannot claim room it did not pay for, up to a
# ceiling (about 250,000 uploads) that keeps parsing it within a few hundred MiB of memory.
# A backup that would need more is refused when it is taken, never when it is restored.
MANIFEST_BASE_BYTES = 1024 * 1024
MANIFEST_BYTES_PER_MEMBER = 1024
MAX_MANIFEST_BYTES = 64 * 1024 * 1024
# The keys folder, the secret box and the config: a few KiB, sealed.
MAX_SEALED_BYTES = 4 * 1024 * 1024

Digest = Field(pattern=r"^[0-9a-f]{64}$")
DigestText = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class BackupError(AssureError):
    """A backup cannot be taken, or an archive cannot be restored; nothing was changed."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ArchiveMember(_Strict):
    name: str = Field(pattern=MEMBER_NAME.pattern)
    size: int = Field(ge=0)
    sha256: str = Digest


class KdfParameters(_Strict):
    """argon2id, bounded so a hostile manifest cannot make a restore use gigabytes or hours."""

    algorithm: Literal["argon2id"] = "argon2id"
    time_cost: int = Field(ge=1, le=8)
    memory_cost_kib: int = Field(ge=8 * 1024, le=256 * 1024)
    parallelism: int = Field(ge=1, le=8)
    salt: str = Field(pattern=r"^[0-9a-f]{32,128}$")


class SealedSecrets(_Strict):
    """The keys folder, the second-factor secret box and the config file, encrypted with a key
    derived from the passphrase. The manifest (all of it but this member's own entry) is the
    associated data, so an archive whose manifest or any member was changed does not open."""

    cipher: Literal["AES-256-GCM"] = "AES-256-GCM"
    nonce: str = Field(pattern=r"^[0-9a-f]{24}$")
    kdf: KdfParameters
    files: list[str]


class DatabaseSnapshot(_Strict):
    backend: Literal["sqlite", "postgresql"]
    member: str = Field(pattern=r"^database/assure\.(?:db|pgdump)$")
    schema_revision: str | None
    table_rows: dict[str, int]
    # PostgreSQL: the schema dumped, and the pg_dump that dumped it.
    postgres_schema: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$")
    dump_tool: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _member_of_backend(self) -> DatabaseSnapshot:
        expected = SQLITE_MEMBER if self.backend == "sqlite" else POSTGRES_MEMBER
        if self.member != expected:
            raise ValueError(f"a {self.backend} backup's database member is {expected}")
        if (self.backend == "postgresql") != (self.postgres_schema is not None):
            raise ValueError("a PostgreSQL backup names its schema, and only it does")
        return self


class CheckpointCopy(_Strict):
    """The audit checkpoint file, read (complete lines only) before the database snapshot."""

    included: bool
    lines: int = Field(ge=0)
    # The fingerprint of the keys that sign checkpoints, so a restore without the keys can
    # still verify the trail against it (`assure audit verify --fingerprint`).
    key_fingerprint: str | None = None


class Manifest(_Strict):
    format: Literal["policetech-assure/backup/v1"] = FORMAT
    created_at: datetime
    software_version: str
    database: DatabaseSnapshot
    checkpoint: CheckpointCopy
    # The signed records of erasures (audit-erasures.jsonl), read after the database snapshot:
    # each is written before its erasure commits, so every erasure in the copy has its record.
    erasures_included: bool = False
    uploads: list[DigestText] = Field(description="Digests of the uploads in the archive.")
    # Digests the database names that were not in the uploads folder when the backup was taken.
    uploads_missing: list[DigestText] = []
    keys_included: bool
    sealed: SealedSecrets | None = None
    members: list[ArchiveMember]
    # Members by name: an archive may list a million uploads.
    _by_name: dict[str, ArchiveMember] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Manifest:
        names = [m.name for m in self.members]
        if len(names) != len(set(names)) or MANIFEST_MEMBER in names:
            raise ValueError("members are listed twice, or the manifest lists itself")
        if len(self.uploads) != len(set(self.uploads)):
            raise ValueError("an upload is listed twice")
        uploads = {f"{UPLOADS_PREFIX}{d}" for d in self.uploads}
        if uploads != {n for n in names if n.startswith(UPLOADS_PREFIX)}:
            raise ValueError("the uploads listed are not the uploads among the members")
        for member in self.members:
            if member.name in uploads and member.name.removeprefix(UPLOADS_PREFIX) != (
                member.sha256
            ):
                raise ValueError(f"{member.name} is not named by its SHA-256")
        if self.database.member not in names:
            raise ValueError("the database member is not among the members")
        if self.keys_included != (self.sealed is not None):
            raise ValueError("keys_included disagrees with the sealed secrets")
        if (SEALED_MEMBER in names) != self.keys_included:
            raise ValueError("the sealed secrets member is missing, or there without keys")
        if (CHECKPOINT_MEMBER in names) != self.checkpoint.included:
            raise ValueError("the checkpoint member disagrees with checkpoint.included")
        if (ERASURES_MEMBER in names) != self.erasures_included:
            raise ValueError("the erasures member disagrees with erasures_included")
        return self

    def member(self, name: str) -> ArchiveMember:
        if not self._by_name:
            self._by_name.update((m.name, m) for m in self.members)
        return self._by_name[name]

    @property
    def total_bytes(self) -> int:
        return sum(m.size for m in self.members)

    def to_bytes(self) -> bytes:
        return (json.dumps(self.model_dump(mode="json"), indent=1, sort_keys=True) + "\n").encode()


def manifest_limit(members: int) -> int:
    """The largest manifest an archive of `members` members may carry."""
    return min(MAX_MANIFEST_BYTES, MANIFEST_BASE_BYTES + MANIFEST_BYTES_PER_MEMBER * members)


def parse_manifest(data: bytes) -> Manifest:
    try:
        document = json.loads(data)
    except RecursionError:
        raise BackupError("the archive's manifest is nested too deeply; not a backup") from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError among them
        raise BackupError(f"the archive's manifest is not JSON ({exc}); not a backup") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        found = document.get("format") if isinstance(document, dict) else None
        raise BackupError(f"the archive's manifest is not format {FORMAT} (it says {found!r})")
    try:
        return Manifest.model_validate(document)
    except RecursionError:
        raise BackupError("the archive's manifest is nested too deeply; not a backup") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "manifest"
        raise BackupError(f"the archive's manifest is not valid: {where}: {first['msg']}") from None


def sealing_context(manifest: Manifest) -> bytes:
    """The associated data of the sealed secrets: the manifest's canonical JSON without the
    sealed member's own entry (its size and hash exist only after sealing)."""
    document = manifest.model_dump(mode="json")
    document["members"] = [m for m in document["members"] if m["name"] != SEALED_MEMBER]
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(canonical).digest()
