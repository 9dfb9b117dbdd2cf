"""Read one uploaded file part, bounded: the body limit caps the request, this caps the file."""

from __future__ import annotations

from fastapi import UploadFile

from posture.errors import ValidationFailed
from supplier_portal.uploads import MAX_UPLOAD_BYTES


def read_upload(upload: UploadFile) -> tuple[str, bytes]:
    data = upload.file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValidationFailed(f"file: larger than the {MAX_UPLOAD_BYTES // 2**20} MiB limit")
    name = (upload.filename or "upload").strip()[:255] or "upload"
    return name, data
