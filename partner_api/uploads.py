"""Read one uploaded file part, bounded: the body limit caps the request, this caps the file."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

from fastapi import Depends, HTTPException, Request, UploadFile
from starlette.datastructures import UploadFile as FormFile

from kernel.errors import ValidationFailed
from supplier_portal.uploads import MAX_UPLOAD_BYTES, safe_filename


def read_upload(upload: UploadFile) -> tuple[str, bytes]:
    data = upload.file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValidationFailed(f"file: larger than the {MAX_UPLOAD_BYTES // 2**20} MiB limit")
    return safe_filename(upload.filename or "upload"), data


async def one_part_per_field(request: Request) -> None:
    """400 for a multipart body that names a field twice. The form models take one value per
    field, and the parser would otherwise keep the last part silently: an uploader could have
    one file checked and believe another was."""
    # The route has already parsed the body; Starlette returns the same form again.
    form = await request.form()
    for name, count in Counter(key for key, _ in form.multi_items()).items():
        if count > 1:
            if any(isinstance(value, FormFile) for value in form.getlist(name)):
                detail = f"send one file in part `{name}`, not {count}"
            else:
                detail = f"send one `{name}` field, not {count}"
            raise HTTPException(status_code=400, detail=detail)


OnePartPerField = Annotated[None, Depends(one_part_per_field)]
