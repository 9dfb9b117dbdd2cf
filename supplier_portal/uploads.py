"""The portal's upload rules: size cap, type by content (not name), storage by SHA-256."""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from pathlib import PurePath

from checks.safe_parse import InputRefused, Limits, load_json
from kernel.data_dir import BLOBS_FOLDER
from kernel.errors import ValidationFailed
from kernel.settings import Settings
from kernel.upload_limit import MAX_UPLOAD_BYTES
from posture.blobs import BlobStore

# Parsed only to tell JSON from text; the shared limits keep that parse from crashing the request.
UPLOAD_JSON_LIMITS = Limits(max_bytes=MAX_UPLOAD_BYTES)
# Magic numbers of the formats assessors can open safely.
SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"PK\x03\x04", "application/zip"),
)


@dataclass(frozen=True)
class StoredFile:
    filename: str
    media_type: str
    size_bytes: int
    sha256: str
    storage_key: str


def sniff_media_type(data: bytes) -> str | None:
    """The media type by content; None for a type assessors cannot open safely.

    Text that the bounded JSON parser refuses (nesting, number length) is typed as text, as any
    other text that is not JSON: the file is kept, not interpreted, and the limits are counted on
    brackets anywhere in it, so a refusal there is no proof that it was meant as JSON.
    """
    for signature, media_type in SIGNATURES:
        if data.startswith(signature):
            return media_type
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if "\x00" in text:
        return None
    try:
        load_json(text, UPLOAD_JSON_LIMITS)
        return "application/json"
    except (InputRefused, json.JSONDecodeError):
        return "text/plain"


# Unicode categories that never belong in a file name shown to an assessor: control characters
# (Cc), format characters (Cf: the bidi embeddings, overrides, isolates and marks that make
# "invoice\u202efdp.exe" read as "invoiceexe.pdf", zero-width characters, the BOM), surrogates
# (Cs) and the line and paragraph separators (Zl, Zp).
HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def safe_filename(name: str) -> str:
    """The name's last path segment without hidden or control characters, at most 255 long."""
    visible = "".join(c for c in name if unicodedata.category(c) not in HIDDEN_CATEGORIES)
    base = PurePath(visible.replace("\\", "/")).name.strip()
    if not base or base in {".", ".."}:
        raise ValidationFailed("filename: give the file a name")
    return base[:255]


def check_upload(filename: str, data: bytes) -> tuple[str, str]:
    """(safe name, media type), or ValidationFailed saying what to fix; nothing is written."""
    if not data:
        raise ValidationFailed("file: the file is empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValidationFailed(f"file: larger than the {MAX_UPLOAD_BYTES // 2**20} MiB limit")
    media_type = sniff_media_type(data)
    if media_type is None:
        raise ValidationFailed(
            "file: unsupported type; upload PDF, PNG, JPEG, ZIP (Office documents), JSON or text"
        )
    return safe_filename(filename), media_type


def store_upload(settings: Settings, filename: str, data: bytes) -> StoredFile:
    name, media_type = check_upload(filename, data)
    digest = BlobStore.for_settings(settings).put(data)
    return StoredFile(name, media_type, len(data), digest, f"{BLOBS_FOLDER}/{digest}")
